"""The customer list: every customer, newest activity first (a view may sort otherwise:
``View.order``), as a Line-API view.

Never a widget per row (a ListView of 5,000 rows takes 16.7 s): rows are read in
blocks of ``BLOCK`` from a ``CustomerSource`` in thread workers, keyed by offset;
only visible lines are rendered, and rendered lines are kept in an LRU cache.
Names and previews are customer text and go through omnitui.text. A row another agent
has open carries their name (``show_viewers``): the app reads presence apart from the
rows, a handful of rows, so the list's own query stays what it was. With the right-to-left
display on (``rtl``, omnitui.bidi), a name or preview is put in visual order within its
own cell.

The list shows one view at a time (omnitui/views.py: All, Open, Mine, a saved search,
...): ``set_view`` reads the count and the visible blocks of the new view; All, the
first paint's view, keeps the page read ahead at start. Customers can be selected for a
bulk action (space one, * all in the view: ``marked``); a new view starts unselected.

Must not import the store (sqlite3, SQLAlchemy, omnitui.db) or the network.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from datetime import tzinfo
from typing import ClassVar, Protocol

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omnitui.bidi import RtlDisplay
from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.reads import CustomerPage, CustomerRow
from omnitui.text import one_line
from omnitui.views import ALL, View
from omnitui.widgets.channels import channel_marks
from omnitui.widgets.strips import text_strip, visual_cell
from omnitui.widgets.times import Clock, relative_time
from omnitui.widgets.workflow import row_marks, sla_state, status_word

log = logging.getLogger(__name__)

BLOCK = 200
"""Rows read at a time, keyed by their offset."""
ROW_HEIGHT = 2
"""Screen lines a customer takes: name line, preview line."""
MARKS_WIDTH = 4
MARK_ALL_LIMIT = 10_000
"""Customers * selects at most (inbox.BULK_LIMIT: what one bulk action may change)."""
SELECTED = "✓"
VIEWER_WIDTH = 10
"""Characters of the other agents' mark on a row at most ("◉ aysel", "◉ aysel+2")."""


TICK_SECONDS = 20.0
"""How often the list draws its ages again (and reads a view that follows the clock)."""


class CustomerSource(Protocol):
    """Where the list reads customers from (omnitui.reads.Reader, in the agent's terms:
    omnitui.app.ListReads). ``view`` None is everyone; ``total`` is the view's count when
    known (it picks the read's plan)."""

    def customer_count(self, *, view: View | None = None) -> int: ...

    def customers(
        self, offset: int, limit: int, *, view: View | None = None, total: int | None = None
    ) -> list[CustomerRow]: ...

    def customer_position(self, customer_id: int, *, view: View | None = None) -> int | None: ...

    def customer_ids(self, *, view: View | None = None, limit: int) -> list[int]: ...


class CustomerList(ScrollView, can_focus=True):
    """Customers in the view's order, as the source reads them (no row is moved here); the
    cursor stays on the same customer when the order changes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "customer-list--cursor",
        "customer-list--cursor-blur",
        "customer-list--bar",
        "customer-list--name",
        "customer-list--unread",
        "customer-list--time",
        "customer-list--preview",
        "customer-list--open",
        "customer-list--resolved",
        "customer-list--empty",
        "customer-list--viewer",
        "customer-list--sla-ahead",
        "customer-list--sla-soon",
        "customer-list--sla-overdue",
    }
    DEFAULT_CSS = """
    CustomerList {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .customer-list--cursor { background: $accent 35%; }
        & > .customer-list--cursor-blur { background: $accent 15%; }
        & > .customer-list--bar { color: $accent; text-style: bold; }
        & > .customer-list--name { color: $foreground; }
        & > .customer-list--unread { color: $text-accent; text-style: bold reverse; }
        & > .customer-list--time { color: $text-muted; }
        & > .customer-list--preview { color: $text-muted; }
        & > .customer-list--open { color: $text-success; }
        & > .customer-list--resolved { color: $text-disabled; }
        & > .customer-list--empty { color: $text-muted; text-style: italic; }
        & > .customer-list--viewer { color: $text-secondary; text-style: bold; }
        & > .customer-list--sla-ahead { color: $text-muted; }
        & > .customer-list--sla-soon { color: $text-warning; }
        & > .customer-list--sla-overdue { color: $text-error; text-style: bold; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", _("Next"), id="list-down", show=False),
        Binding("k,up", "cursor_up", _("Previous"), id="list-up", show=False),
        Binding("g,home", "first", _("First customer"), id="list-top", show=False),
        Binding("G,end", "last", _("Last customer"), id="list-bottom", show=False),
        Binding("pagedown", "page_down", _("Page down"), id="list-page-down", show=False),
        Binding("pageup", "page_up", _("Page up"), id="list-page-up", show=False),
        Binding("enter,l", "open", _("Open"), id="open-customer"),
        Binding("space", "mark", _("Select (for a bulk action)"), id="list-mark", show=False),
        Binding(
            "asterisk",
            "mark_all",
            _("Select all in the view (again: none)"),
            id="list-mark-all",
            show=False,
        ),
    ]

    class Highlighted(Message):
        """The cursor is on another customer (None: the list is empty)."""

        def __init__(self, row: CustomerRow | None) -> None:
            super().__init__()
            self.row = row

    class Opened(Message):
        """The agent opened the customer under the cursor."""

        def __init__(self, row: CustomerRow) -> None:
            super().__init__()
            self.row = row

    class Counted(Message):
        """The number of customers listed changed (or was first read)."""

        def __init__(self, total: int) -> None:
            super().__init__()
            self.total = total

    class Marked(Message):
        """The selection changed: ``count`` customers are selected now."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    class _AllMarked(Message, bubble=False):
        def __init__(self, view: View, ids: list[int]) -> None:
            super().__init__()
            self.view = view
            self.ids = ids

    class Painted(Message):
        """The list was drawn for the first time with what it lists (rows, or "no customers").

        Handled after the frame that drew it went to the terminal: the inbox starts
        then what its first paint must not wait for.
        """

    class _Reloaded(Message, bubble=False):
        def __init__(
            self,
            generation: int,
            total: int,
            blocks: dict[int, list[CustomerRow]],
            selected_id: int | None,
            position: int | None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.total = total
            self.blocks = blocks
            self.selected_id = selected_id
            self.position = position

    class _BlockLoaded(Message, bubble=False):
        def __init__(self, generation: int, start: int, rows: list[CustomerRow]) -> None:
            super().__init__()
            self.generation = generation
            self.start = start
            self.rows = rows

    class _Located(Message, bubble=False):
        def __init__(self, generation: int, customer_id: int, position: int | None) -> None:
            super().__init__()
            self.generation = generation
            self.customer_id = customer_id
            self.position = position

    def __init__(
        self,
        source: CustomerSource,
        *,
        clock: Clock,
        tz: tzinfo,
        first_page: Future[CustomerPage] | None = None,
        rtl: RtlDisplay | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._source = source
        self._clock = clock
        self._tz = tz
        self.total = 0
        self.loaded = False
        """True once the first read has arrived."""
        self.cursor = 0
        self.selected_id: int | None = None
        self.view: View = ALL
        """The view shown (``set_view``)."""
        self._blocks: dict[int, list[CustomerRow]] = {}
        self._requested: set[int] = set()
        self._generation = 0
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(2048)
        self._pending_select: int | None = None
        self._base: Style | None = None
        self._first_page = first_page
        """The top of the list read ahead at start: the first reload uses it when ready."""
        self._painted = False
        self.marked: set[int] = set()
        """The customers selected for a bulk action."""
        self._view_changed = False
        """The view changed and the next reload is its first: the cursor goes to the top
        unless its customer is in the new view too."""
        self._viewers: dict[int, str] = {}
        """The mark of each customer other agents have open ("◉ aysel")."""
        self.rtl = rtl or RtlDisplay()
        """Whether names and previews in RTL scripts are put in visual order here."""

    # -- reading ---------------------------------------------------------------

    def on_mount(self) -> None:
        self.reload()
        # Ages ("3m") move on without any store change, and so do SLA targets.
        self.set_interval(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        """Draw the ages again; read a view that follows the clock again (a customer whose
        target comes within the hour joins the SLA view with no store change)."""
        if self.view.follows_the_clock:
            self.reload()
        else:
            self.refresh()

    def reload(self) -> None:
        """Read the count and the visible rows again (after a store change)."""
        self._generation += 1
        starts = self._visible_starts()
        page = self._take_first_page()
        if (
            page is not None
            and (page.offset, page.limit) == (0, BLOCK)
            and starts == {0}
            and self.view.lists_everyone
            and self.selected_id is None
        ):
            self.post_message(
                self._Reloaded(self._generation, page.total, {0: page.rows}, None, None)
            )
            return
        self._reload(self._generation, self.view, self.selected_id, starts)

    def _take_first_page(self) -> CustomerPage | None:
        """The read-ahead page, once, if it has arrived (else the worker reads)."""
        future, self._first_page = self._first_page, None
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result()

    def set_view(self, view: View) -> None:
        """Show another view: its count and rows are read again, the cursor stays on the
        customer it was on when they are in the new view too."""
        if view == self.view:
            return
        self.view = view
        self._blocks = {}
        self._requested = set()
        self._view_changed = True
        self.clear_marks()
        self.reload()

    def select_customer(self, customer_id: int) -> None:
        """Move the cursor to a customer, wherever it is in the list."""
        self._pending_select = customer_id
        self._locate(self._generation, customer_id, self.view)

    @work(thread=True, exclusive=True, group="customer-reload", exit_on_error=False)
    def _reload(
        self, generation: int, view: View, selected_id: int | None, starts: set[int]
    ) -> None:
        shown = None if view.lists_everyone else view
        try:
            total = self._source.customer_count(view=shown)
            position = None
            if selected_id is not None:
                position = self._source.customer_position(selected_id, view=shown)
                if position is not None:
                    starts = starts | {position // BLOCK * BLOCK}
            blocks = {
                start: self._source.customers(start, BLOCK, view=shown, total=total)
                for start in sorted(starts)
                if start < max(total, 1)
            }
        except Exception:
            log.exception("reading the customer list failed")
            return
        self.post_message(self._Reloaded(generation, total, blocks, selected_id, position))

    @work(thread=True, group="customer-blocks", exit_on_error=False)
    def _fetch_block(self, generation: int, start: int, view: View, total: int) -> None:
        shown = None if view.lists_everyone else view
        try:
            rows = self._source.customers(start, BLOCK, view=shown, total=total)
        except Exception:
            log.exception("reading customers %d.. failed", start)
            return
        self.post_message(self._BlockLoaded(generation, start, rows))

    @work(thread=True, exclusive=True, group="customer-locate", exit_on_error=False)
    def _locate(self, generation: int, customer_id: int, view: View) -> None:
        shown = None if view.lists_everyone else view
        try:
            position = self._source.customer_position(customer_id, view=shown)
        except Exception:
            log.exception("locating customer %d failed", customer_id)
            return
        self.post_message(self._Located(generation, customer_id, position))

    @on(_Reloaded)
    def _reloaded(self, message: _Reloaded) -> None:
        if message.generation != self._generation:
            return
        total_changed = message.total != self.total or not self.loaded
        self.total = message.total
        self._blocks = message.blocks
        self._requested = set(message.blocks)
        self.loaded = True
        if message.position is not None and message.selected_id == self.selected_id:
            self.cursor = message.position
        elif self._view_changed:
            self.cursor = 0
        self._view_changed = False
        self.cursor = max(0, min(self.cursor, self.total - 1))
        self._update_virtual_size()
        self._scroll_to_cursor()
        self.refresh()
        self._sync_selection()
        if total_changed:
            self.post_message(self.Counted(self.total))

    @on(_BlockLoaded)
    def _block_loaded(self, message: _BlockLoaded) -> None:
        if message.generation != self._generation:
            return
        self._blocks[message.start] = message.rows
        self.refresh()
        self._sync_selection()

    @on(_Located)
    def _located(self, message: _Located) -> None:
        if message.customer_id != self._pending_select:
            return
        self._pending_select = None
        if message.position is None:
            return
        self.selected_id = None  # posts Highlighted once the row is at hand
        self.move_cursor(message.position)

    def _visible_starts(self) -> set[int]:
        first = int(self.scroll_y) // ROW_HEIGHT
        last = (int(self.scroll_y) + max(self.size.height, 1)) // ROW_HEIGHT + 1
        starts = {index // BLOCK * BLOCK for index in (first, last, self.cursor)}
        return starts or {0}

    def row_at(self, index: int) -> CustomerRow | None:
        block = self._blocks.get(index // BLOCK * BLOCK)
        if block is None or index < 0:
            return None
        offset = index % BLOCK
        return block[offset] if offset < len(block) else None

    @property
    def selected_row(self) -> CustomerRow | None:
        return self.row_at(self.cursor) if self.total else None

    def _want(self, index: int) -> None:
        start = index // BLOCK * BLOCK
        if start not in self._requested:
            self._requested.add(start)
            self.call_later(self._fetch_block, self._generation, start, self.view, self.total)

    def _sync_selection(self) -> None:
        if not self.total:
            if self.selected_id is not None or self.loaded:
                self.selected_id = None
                self.post_message(self.Highlighted(None))
            return
        row = self.selected_row
        if row is None:
            self._want(self.cursor)
        elif row.id != self.selected_id:
            self.selected_id = row.id
            self.post_message(self.Highlighted(row))

    # -- moving ------------------------------------------------------------------

    def move_cursor(self, index: int) -> None:
        if not self.total:
            return
        self.cursor = max(0, min(index, self.total - 1))
        self._scroll_to_cursor()
        self.refresh()
        self._sync_selection()

    def _scroll_to_cursor(self) -> None:
        height = max(self.scrollable_content_region.height, ROW_HEIGHT)
        top = self.cursor * ROW_HEIGHT
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False, immediate=True)
        elif top + ROW_HEIGHT > self.scroll_y + height:
            self.scroll_to(y=top + ROW_HEIGHT - height, animate=False, immediate=True)

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.total * ROW_HEIGHT)

    def on_resize(self) -> None:
        self._update_virtual_size()

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height // ROW_HEIGHT - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.total - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self._page())

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self._page())

    # -- selecting for a bulk action -----------------------------------------------------

    def action_mark(self) -> None:
        """Select the customer under the cursor (or unselect them) and move on."""
        row = self.selected_row
        if row is None:
            return
        self.marked ^= {row.id}
        self._strips.clear()
        self.post_message(self.Marked(len(self.marked)))
        self.move_cursor(self.cursor + 1)
        self.refresh()

    def action_mark_all(self) -> None:
        """Select every customer of the view (read in a worker); with some selected,
        select none."""
        if self.marked:
            self.clear_marks()
            return
        self._read_all(self.view)

    def clear_marks(self) -> None:
        if self.marked:
            self.marked = set()
            self._strips.clear()
            self.refresh()
            self.post_message(self.Marked(0))

    @work(thread=True, exclusive=True, group="customer-mark-all", exit_on_error=False)
    def _read_all(self, view: View) -> None:
        shown = None if view.lists_everyone else view
        try:
            ids = self._source.customer_ids(view=shown, limit=MARK_ALL_LIMIT)
        except Exception:
            log.exception("reading the customers of the view failed")
            return
        self.post_message(self._AllMarked(view, ids))

    @on(_AllMarked)
    def _all_marked(self, message: _AllMarked) -> None:
        if message.view != self.view:
            return  # the view changed meanwhile
        self.marked = set(message.ids)
        self._strips.clear()
        self.refresh()
        self.post_message(self.Marked(len(self.marked)))

    def action_open(self) -> None:
        row = self.selected_row
        if row is not None:
            self.post_message(self.Opened(row))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- rendering ----------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        self._base = self.rich_style  # one look-up a frame, not one a line
        lines = super().render_lines(crop)
        if self.loaded and not self._painted:
            self._painted = True
            self.post_message(self.Painted())
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_y) + y
        index, part = divmod(line, ROW_HEIGHT)
        base = self._base or self.rich_style
        if not self.total:
            if y == 1 and self.loaded:
                empty = (
                    _("No customers yet")
                    if self.view.lists_everyone
                    else _("No customers in {view}").format(
                        view=one_line(self.view.shown_title, 40)
                    )
                )
                text = Text.assemble(
                    "  ", empty, style=self.get_component_rich_style("customer-list--empty")
                )
                return text_strip(text, width, self.app.console, base)
            return Strip.blank(width, base)
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.row_at(index)
        if row is None:
            self._want(index)
            dots = Text("  …" if part == 0 else "", style="dim")
            return text_strip(dots, width, self.app.console, base)
        now = self._clock()
        age = relative_time(row.last_activity_at, now, self._tz)
        # The SLA mark moves with the clock: its whole text is part of the key.
        sla = sla_state(row.sla_due_at, now) if row.sla_due_at is not None else None
        is_cursor = index == self.cursor
        viewer = self._viewers.get(row.id, "")
        marked = row.id in self.marked
        key = (
            row,
            part,
            width,
            is_cursor,
            is_cursor and self.has_focus,
            age,
            base,
            viewer,
            marked,
            self.rtl,
            sla,
        )
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row_line(row, part, width, is_cursor, age, base, sla)
            self._strips[key] = strip
        return strip

    def _render_row_line(
        self,
        row: CustomerRow,
        part: int,
        width: int,
        is_cursor: bool,
        age: str,
        base: Style,
        sla: tuple[str, str] | None = None,
    ) -> Strip:
        style = self.get_component_rich_style
        if part == 0:
            mark = SELECTED if row.id in self.marked else "▌" if is_cursor else " "
            bar = Text(mark, style=style("customer-list--bar"))
            left = Text.assemble(bar, channel_marks(row.channels, MARKS_WIDTH), " ")
            name_style = style("customer-list--name") + Style(bold=row.unread > 0)
            main = Text(one_line(row.name, 200) or _("(no name)"), style=name_style)
            right = Text(end="")
            if row.unread:
                right.append(f" {number(row.unread)} ", style=style("customer-list--unread"))
                right.append(" ")
            right.append(visual_cell(age, self.rtl).rjust(6), style=style("customer-list--time"))
        else:
            left = Text(" " * (1 + MARKS_WIDTH + 1))
            main = Text(one_line(row.preview, 300), style=style("customer-list--preview"))
            if row.open:
                said = ngettext("{count} open", "{count} open", row.open)
                right = Text(
                    visual_cell(said.format(count=number(row.open)), self.rtl),
                    style=style("customer-list--open"),
                )
            else:
                resolved = visual_cell(status_word("resolved"), self.rtl)
                right = Text(resolved, style=style("customer-list--resolved"))
            right = self._with_workflow(row, right)
            if sla is not None:
                label, level = sla
                sla_style = style(f"customer-list--sla-{level}")
                right = Text.assemble((visual_cell(label, self.rtl), sla_style), " ", right)
            right = self._with_viewer(row.id, right)
        room = max(width - left.cell_len - right.cell_len - 2, 0)
        # Cut in reading order first, then reorder the cell alone: the ellipsis ends up
        # where the reader's eye does, and nothing crosses into the columns beside it.
        main.truncate(room, overflow="ellipsis")
        main.plain = visual_cell(main.plain, self.rtl)
        main.pad_right(max(room - main.cell_len, 0))
        line = Text.assemble(left, main, "  ", right)
        if is_cursor:
            cursor = "customer-list--cursor" if self.has_focus else "customer-list--cursor-blur"
            base = base + style(cursor)
        return text_strip(line, width, self.app.console, base)

    def set_rtl(self, rtl: RtlDisplay) -> None:
        """Show names and previews with another right-to-left display (the key re-renders)."""
        if rtl != self.rtl:
            self.rtl = rtl
            self.refresh()

    # -- team workflow: who has the conversation, until when it sleeps -------------------

    agent = ""
    """The agent looking (whose assignments read "@me"); ``set_agent`` sets it."""

    def set_agent(self, agent: str) -> None:
        if agent != self.agent:
            self.agent = agent
            self._strips.clear()
            self.refresh()

    def _with_workflow(self, row: CustomerRow, right: Text) -> Text:
        """The row's open count led by its snooze time and assignee ("◷ 16:00 @me 1 open")."""
        if row.snoozed_until is None and not row.assignee:
            return right
        style = self.get_component_rich_style
        marks = row_marks(
            row,
            self.agent,
            self._clock(),
            self._tz,
            snoozed=style("customer-list--time"),
            assigned=style("customer-list--bar"),
        )
        return Text.assemble(marks, right)

    # -- other agents -----------------------------------------------------------------

    def show_viewers(self, viewers: dict[int, list[str]]) -> None:
        """Mark the rows of the customers other agents have open: {customer id: names}."""
        marks = {}
        for customer_id, names in viewers.items():
            first = one_line(names[0], VIEWER_WIDTH)
            more = f"+{len(names) - 1}" if len(names) > 1 else ""
            marks[customer_id] = f"◉ {first[: VIEWER_WIDTH - len(more)]}{more}"
        if marks != self._viewers:
            self._viewers = marks
            self.refresh()

    def _with_viewer(self, customer_id: int, right: Text) -> Text:
        mark = self._viewers.get(customer_id)
        if not mark:
            return right
        style = self.get_component_rich_style("customer-list--viewer")
        return Text.assemble((mark, style), " ", right)
