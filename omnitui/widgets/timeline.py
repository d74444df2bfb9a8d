"""One customer's whole history, every channel interleaved in time, as a Line-API view.

Messages wrap to the width; each item's rendered lines are cached (keyed by the
item, the width and whether it is selected), so a reload re-renders only what
changed and a resize re-wraps. Older history is paged in when the agent reaches
the top. Bodies, subjects, names and errors are customer text and go through
omnitui.text; a huge message is cut with a marker ("press v"). An email's quoted
history and signature are folded to one line (omnitui.quoting; z shows them), its
attachments listed one a line, a message its sender edited says "(edited)" after its
time (v shows the earlier texts), and a thin line marks where the history passes
from one conversation to another (so a split shows). With the right-to-left display on
(``rtl``, omnitui.bidi), each wrapped line of customer text is put in visual order and an
RTL paragraph's lines are right-aligned; the console's own lines (a Persian console's "start
of history", an event) are put in visual order whole, and the words of a message's head
each alone (cells), so the columns stay where they are.

Must not import the store (sqlite3, SQLAlchemy, omnitui.db) or the network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import ClassVar, Literal, Protocol

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omnitui.bidi import RtlDisplay
from omnitui.calls import duration_said, outcome_said
from omnitui.formatting import number, warm_up
from omnitui.i18n import _, ngettext, pgettext
from omnitui.reads import CustomerDetail, TimelineItem
from omnitui.text import one_line, show
from omnitui.widgets.attachments import attachment_text
from omnitui.widgets.channels import channel_mark, channel_name
from omnitui.widgets.strips import text_strip, visual_cell, visual_text, wrap_rtl
from omnitui.widgets.times import Clock, local_time
from omnitui.widgets.workflow import WORKFLOW_EVENTS, event_said, split_change, status_word

log = logging.getLogger(__name__)

PAGE = 100
"""Messages read at a time."""
FIND_PAGES = 50
"""Pages read back at most to find a message opened from search."""
GUTTER = 4
QUOTE_SCAN = 50_000
"""Characters of an email searched for where its quote begins (the rest folds with it)."""


def fold_quoted(body: str) -> tuple[str, str]:
    """An email's new text and its folded quote and signature ('' when nothing folds).

    Runs on the event loop at render time, so a huge body is searched only in its head.
    """
    head, tail = body, ""
    if len(body) > QUOTE_SCAN:
        cut = body.rfind("\n", 0, QUOTE_SCAN) + 1 or QUOTE_SCAN
        head, tail = body[:cut], body[cut:]
    from omnitui.quoting import split_quoted  # its patterns compile after the first paint

    try:
        new, folded = split_quoted(head)
    except Exception:  # customer text must never break the history
        log.exception("finding the quote of a message failed")
        return body, ""
    if not folded:
        return body, ""
    return new, folded + ("\n" + tail if tail else "")


class TimelineSource(Protocol):
    """Where the history is read from (omnitui.reads.Reader)."""

    def customer(self, customer_id: int) -> CustomerDetail | None: ...

    def timeline(
        self, customer_id: int, *, before: tuple[datetime, int] | None = None, limit: int = 100
    ) -> list[TimelineItem]: ...


@dataclass(frozen=True, slots=True)
class _Page:
    detail: CustomerDetail | None
    items: list[TimelineItem]
    has_older: bool


def _messages(items: list[TimelineItem]) -> list[TimelineItem]:
    return [item for item in items if item.kind != "event"]


def _read(source: TimelineSource, customer_id: int, limit: int, find: int | None) -> _Page:
    """The newest ``limit`` messages, and older pages until ``find`` is among them."""
    detail = source.customer(customer_id)
    if detail is None:
        return _Page(None, [], False)
    items = source.timeline(customer_id, limit=limit)
    has_older = len(_messages(items)) >= limit
    pages = 0
    while find is not None and has_older and pages < FIND_PAGES:
        if any(item.id == find for item in items):
            break
        first = _messages(items)[0]
        older = source.timeline(customer_id, before=(first.at, first.id), limit=PAGE)
        has_older = len(_messages(older)) >= PAGE
        items = older + items
        pages += 1
    return _Page(detail, items, has_older)


class Timeline(ScrollView, can_focus=True):
    """The selected customer's history; the cursor selects one item (to view or retry)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--in",
        "timeline--out",
        "timeline--bot",
        "timeline--note",
        "timeline--note-label",
        "timeline--event",
        "timeline--author",
        "timeline--muted",
        "timeline--subject",
        "timeline--cursor",
        "timeline--cursor-blur",
        "timeline--queued",
        "timeline--sending",
        "timeline--sent",
        "timeline--failed",
        "timeline--unconfirmed",
        "timeline--error",
        "timeline--boundary",
    }
    DEFAULT_CSS = """
    Timeline {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .timeline--in { color: $text-primary; text-style: bold; }
        & > .timeline--out { color: $text-success; text-style: bold; }
        & > .timeline--bot { color: $text-accent; text-style: bold italic; }
        & > .timeline--note { color: $text-warning; }
        & > .timeline--note-label { color: $background; background: $warning; text-style: bold; }
        & > .timeline--event { color: $text-muted; text-style: italic; }
        & > .timeline--author { text-style: bold; }
        & > .timeline--muted { color: $text-muted; }
        & > .timeline--subject { text-style: bold underline; }
        & > .timeline--cursor { background: $accent 25%; }
        & > .timeline--cursor-blur { background: $accent 10%; }
        & > .timeline--queued { color: $text-warning; }
        & > .timeline--sending { color: $text-accent; }
        & > .timeline--sent { color: $text-success; }
        & > .timeline--failed { color: $text-error; text-style: bold; }
        & > .timeline--unconfirmed { color: $text-warning; text-style: bold; }
        & > .timeline--error { color: $text-error; }
        & > .timeline--boundary { color: $text-accent; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "next_item", _("Next message"), id="timeline-down", show=False),
        Binding("k,up", "previous_item", _("Previous message"), id="timeline-up", show=False),
        Binding("g,home", "first", _("Oldest"), id="timeline-top", show=False),
        Binding("G,end", "last", _("Newest"), id="timeline-bottom", show=False),
        Binding("pagedown", "page_down", _("Page down"), id="timeline-page-down", show=False),
        Binding("pageup", "page_up", _("Page up"), id="timeline-page-up", show=False),
        Binding("h,escape", "back", _("Customers"), id="timeline-back"),
        # The inbox screen acts on the selected item (it owns the writes and the notices).
        Binding("z", "screen.toggle_quotes", _("Quotes"), id="toggle-quotes"),
        Binding(
            "w", "screen.why_threaded", _("Why in this conversation"), id="why-threaded", show=False
        ),
        Binding(
            "S",
            "screen.split_message",
            _("Split into a new conversation"),
            id="split-message",
            show=False,
        ),
        Binding(
            "M",
            "screen.move_message",
            _("Move to another conversation"),
            id="move-message",
            show=False,
        ),
        Binding(
            "U", "screen.undo_move", _("Undo the last move or split"), id="undo-move", show=False
        ),
    ]

    class Loaded(Message):
        """A customer's history was (re)read; ``detail`` is its customer (None: gone)."""

        def __init__(self, customer_id: int, detail: CustomerDetail | None) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.detail = detail

    class Back(Message):
        """The agent wants to go back to the customer list."""

    class _Read(Message, bubble=False):
        def __init__(self, token: int, page: _Page, find: int | None) -> None:
            super().__init__()
            self.token = token
            self.page = page
            self.find = find

    class _Older(Message, bubble=False):
        def __init__(self, token: int, items: list[TimelineItem], has_older: bool) -> None:
            super().__init__()
            self.token = token
            self.items = items
            self.has_older = has_older

    def __init__(
        self,
        source: TimelineSource,
        *,
        clock: Clock,
        tz: tzinfo,
        rtl: RtlDisplay | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._source = source
        self._clock = clock
        self._tz = tz
        self.customer_id: int | None = None
        self.detail: CustomerDetail | None = None
        self.items: list[TimelineItem] = []
        self.has_older = False
        self.cursor: int | None = None
        self.show_quotes = False
        """Whether emails show their quoted history and signature (z), else one fold line."""
        self.rtl = rtl or RtlDisplay()
        """Whether RTL text is put in visual order here (``set_rtl``; part of the cache key)."""
        self.reading = False
        self._token = 0
        self._loading_older = False
        self._lines: list[Strip] = []
        self._starts: list[int] = []
        self._width = 0
        self._rebuild_pending = False
        self._intent: int | Literal["bottom"] | None = None
        """Where to scroll once the lines are laid out: the newest line, or an item."""
        self._cache: LRUCache[tuple[object, ...], list[Strip]] = LRUCache(4096)
        self._folds: LRUCache[TimelineItem, tuple[str, str]] = LRUCache(1024)

    # -- what is shown -------------------------------------------------------------

    @property
    def selected_item(self) -> TimelineItem | None:
        if self.cursor is None or not 0 <= self.cursor < len(self.items):
            return None
        return self.items[self.cursor]

    @property
    def ready(self) -> bool:
        """The customer's history is read and laid out at the current width."""
        return (
            self.customer_id is not None
            and not self.reading
            and self._width == self.scrollable_content_region.width > 0
        )

    @property
    def lines(self) -> list[Strip]:
        """Every rendered line of the history (the visible ones are a window on it)."""
        return self._lines

    def show_customer(self, customer_id: int | None, *, message_id: int | None = None) -> None:
        """Show a customer's history (and select ``message_id`` when given)."""
        if customer_id == self.customer_id and message_id is None:
            return
        if customer_id != self.customer_id:
            self.customer_id = customer_id
            self.detail = None
            self.items = []
            self.cursor = None
            self.has_older = False
            self.scroll_to(y=0, animate=False, immediate=True)
        self._token += 1
        self._loading_older = False
        self.reading = customer_id is not None
        self._rebuild()
        if customer_id is not None:
            self._load(self._token, customer_id, PAGE, message_id, None)

    def refresh_from_store(self) -> None:
        """Read the history again if the customer's version moved (another commit)."""
        if self.customer_id is None or self.reading:
            return
        limit = max(PAGE, len(_messages(self.items)) + 20)
        version = self.detail.row.version if self.detail is not None else None
        self._load(self._token, self.customer_id, limit, None, version)

    @work(thread=True, exclusive=True, group="timeline", exit_on_error=False)
    def _load(
        self, token: int, customer_id: int, limit: int, find: int | None, known: int | None
    ) -> None:
        try:
            if known is not None:
                detail = self._source.customer(customer_id)
                if detail is not None and detail.row.version == known:
                    return
            page = _read(self._source, customer_id, limit, find)
        except Exception:
            log.exception("reading the history of customer %d failed", customer_id)
            return
        warm_up()  # Babel, for the times drawn next: here rather than in the UI thread
        self.post_message(self._Read(token, page, find))

    @work(thread=True, exclusive=True, group="timeline-older", exit_on_error=False)
    def _load_older(self, token: int, customer_id: int, before: tuple[datetime, int]) -> None:
        try:
            older = self._source.timeline(customer_id, before=before, limit=PAGE)
        except Exception:
            log.exception("reading older history of customer %d failed", customer_id)
            return
        self.post_message(self._Older(token, older, len(_messages(older)) >= PAGE))

    @on(_Read)
    def _read_done(self, message: _Read) -> None:
        if message.token != self._token or self.customer_id is None:
            return
        first_read = self.reading
        at_bottom = self.scroll_y >= self.max_scroll_y - 1
        selected = self.selected_item
        # An agent on the newest item follows what arrives; one on an older item stays on it
        # (a search result opened in place must not jump away when opening marks it read).
        following = selected is None or not self.items or selected is self.items[-1]
        page = message.page
        self.reading = False
        self.detail = page.detail
        newest = _messages(page.items)
        if not first_read and page.has_older and newest:
            # A re-read brings the newest messages; keep the older pages already read.
            edge = (newest[0].at, newest[0].id)
            kept = [
                i for i in self.items if i.at < edge[0] or (i.at == edge[0] and 0 < i.id < edge[1])
            ]
            self.items = kept + page.items
            self.has_older = self.has_older if kept else page.has_older
        else:
            self.items = page.items
            self.has_older = page.has_older
        self.cursor = self._index_of(message.find) if message.find is not None else None
        stayed = None
        if (
            self.cursor is None
            and selected is not None
            and not first_read
            and not (following and at_bottom)
        ):
            stayed = self.cursor = self._index_of(selected.id)
        if self.cursor is None and self.items:
            self.cursor = len(self.items) - 1
        if (message.find is not None or stayed is not None) and self.cursor is not None:
            self._intent = self.cursor
        elif first_read or at_bottom:
            self._intent = "bottom"
        self._rebuild()
        self.post_message(self.Loaded(self.customer_id, page.detail))

    @on(_Older)
    def _older_done(self, message: _Older) -> None:
        if message.token != self._token:
            return
        self._loading_older = False
        self.has_older = message.has_older
        if not message.items:
            self._rebuild()
            return
        before = len(self._lines)
        self.items = message.items + self.items
        if self.cursor is not None:
            self.cursor += len(message.items)
        self._rebuild()
        self.scroll_to(y=self.scroll_y + len(self._lines) - before, animate=False, immediate=True)

    def _index_of(self, item_id: int | None) -> int | None:
        for index, item in enumerate(self.items):
            if item.id == item_id:
                return index
        return None

    def load_older(self) -> None:
        """Page older history in, when there is some and no read is under way."""
        if not self.has_older or self._loading_older or self.customer_id is None:
            return
        messages = _messages(self.items)
        if not messages:
            return
        self._loading_older = True
        self._load_older(self._token, self.customer_id, (messages[0].at, messages[0].id))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 and self.has_older:
            self.load_older()

    def toggle_quotes(self) -> bool:
        """Show or fold every email's quoted history and signature; returns whether shown."""
        self.show_quotes = not self.show_quotes
        self._rebuild()
        if self.cursor is not None:
            self._scroll_to_item(self.cursor)
        return self.show_quotes

    def set_rtl(self, rtl: RtlDisplay) -> None:
        """Show the history with another right-to-left display (its lines render again)."""
        if rtl != self.rtl:
            self.rtl = rtl
            self._rebuild()

    # -- moving ----------------------------------------------------------------------

    def select(self, index: int) -> None:
        if not self.items:
            return
        self.cursor = max(0, min(index, len(self.items) - 1))
        self._rebuild()
        self._scroll_to_item(self.cursor)

    def _scroll_to_item(self, index: int, *, top: bool = False) -> None:
        if not self._starts:
            return
        start = self._starts[index]
        end = self._starts[index + 1] if index + 1 < len(self._starts) else len(self._lines)
        height = max(self.scrollable_content_region.height, 1)
        if top or start < self.scroll_y or end - start > height:
            self.scroll_to(y=start - (1 if index == 0 else 0), animate=False, immediate=True)
        elif end > self.scroll_y + height:
            self.scroll_to(y=end - height, animate=False, immediate=True)

    def action_next_item(self) -> None:
        if self.cursor is not None:
            self.select(self.cursor + 1)

    def action_previous_item(self) -> None:
        if self.cursor is None:
            return
        if self.cursor == 0:
            self.load_older()
            self.scroll_to(y=0, animate=False, immediate=True)
            return
        self.select(self.cursor - 1)

    def action_first(self) -> None:
        self.select(0)
        self.scroll_to(y=0, animate=False, immediate=True)
        self.load_older()

    def action_last(self) -> None:
        self.select(len(self.items) - 1)
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_back(self) -> None:
        self.post_message(self.Back())

    def on_focus(self) -> None:
        self._rebuild()

    def on_blur(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild()

    def _apply_intent(self) -> None:
        intent, self._intent = self._intent, None
        if intent == "bottom":
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        elif isinstance(intent, int) and intent < len(self._starts):
            self._scroll_to_item(intent, top=True)

    # -- rendering ---------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if width != self._width and not self._rebuild_pending:
            # Laid out again since the lines were built (a scrollbar came or went).
            self._rebuild_pending = True
            self.call_later(self._rebuild)
        index = int(self.scroll_y) + y
        if 0 <= index < len(self._lines):
            return self._lines[index]
        return Strip.blank(width, self.rich_style)

    def _rebuild(self) -> None:
        """Lay the cached item lines end to end (re-rendering items whose key changed)."""
        self._rebuild_pending = False
        width = self.scrollable_content_region.width
        if not self.is_mounted or width <= 0:
            self._width = -1  # not laid out yet: build on the next render
            return
        was_at_bottom = bool(self._lines) and self.scroll_y >= self.max_scroll_y - 1
        old_shape = (len(self._lines), self._width)
        base = self.rich_style
        muted = self.get_component_rich_style("timeline--muted") + Style(italic=True)
        console = self.app.console
        lines: list[Strip] = []
        starts: list[int] = []
        if self.customer_id is None:
            hint = Text.assemble("  ", _("Select a customer to see their history."), style=muted)
            lines = [
                Strip.blank(width, base),
                text_strip(self._line(hint, width), width, console, base),
            ]
        elif self.reading:
            loading = Text.assemble("  ", _("Loading…"), style=muted)
            lines = [text_strip(self._line(loading, width), width, console, base)]
        elif not self.items:
            empty = Text.assemble("  ", _("No messages yet."), style=muted)
            lines = [text_strip(self._line(empty, width), width, console, base)]
        else:
            if self.has_older:
                older = _("older history: scroll up or press g to read it")
                top = Text(f"  ↑ {older}", muted)
            else:
                start = _("start of history")
                top = Text(f"  ── {start} ──", muted)
            lines.append(text_strip(self._line(top, width), width, console, base))
            now = self._clock()
            quotes = self.show_quotes
            conversations = {i.conversation_id for i in self.items if i.kind != "event"}
            shown_conversation = None if len(conversations) > 1 else next(iter(conversations), None)
            for index, item in enumerate(self.items):
                starts.append(len(lines))
                if item.kind != "event" and item.conversation_id != shown_conversation:
                    shown_conversation = item.conversation_id
                    lines.append(self._boundary(item, width, base))
                selected = index == self.cursor
                key = (
                    item,
                    width,
                    selected,
                    selected and self.has_focus,
                    base,
                    now.date(),
                    quotes,
                    self.rtl,
                )
                rendered = self._cache.get(key)
                if rendered is None:
                    rendered = self._render_item(item, width, selected, base, now)
                    self._cache[key] = rendered
                lines.extend(rendered)
        self._lines = lines
        self._starts = starts
        self._width = width
        self.virtual_size = Size(width, len(lines))
        self.refresh()
        if self._intent is None and was_at_bottom and old_shape != (len(lines), width):
            self._intent = "bottom"  # stay with the newest message when the lines change
        if self._intent is not None:
            self.call_after_refresh(self._apply_intent)

    def _boundary(self, item: TimelineItem, width: int, base: Style) -> Strip:
        """The thin line where the history passes into another conversation."""
        key = ("boundary", item.conversation_id, item.conversation_status, width, base, self.rtl)
        cached = self._cache.get(key)
        if cached is not None:
            return cached[0]
        status = item.conversation_status
        said = (
            _("conversation #{id} · {status}").format(
                id=item.conversation_id, status=status_word(status)
            )
            if status
            else _("conversation #{id}").format(id=item.conversation_id)
        )
        label = f"  ╌╌ {self._cell(said)} "
        fill = "╌" * max(width - len(label), 0)
        style = self.get_component_rich_style("timeline--boundary")
        strip = text_strip(Text(label + fill, style=style), width, self.app.console, base)
        self._cache[key] = [strip]
        return strip

    def _render_item(
        self, item: TimelineItem, width: int, selected: bool, base: Style, now: datetime
    ) -> list[Strip]:
        style = self.get_component_rich_style
        console = self.app.console
        if selected:
            base = base + style("timeline--cursor" if self.has_focus else "timeline--cursor-blur")
        when = local_time(item.at, now, self._tz)
        marker = Text("▶ " if selected else "  ", style=style("timeline--author"))
        if item.kind == "event":
            by = one_line(item.author, 60)
            if item.subject in ("move", "split"):
                source, _sep, target = item.body.partition(" -> ")
                moved = moved_said(item.subject, item.message_id).format(
                    agent=by or _("an agent"),
                    id=item.message_id,
                    source=one_line(source, 20),
                    target=one_line(target, 20),
                )
                said = f"── {moved} · {when}"
            elif item.subject in WORKFLOW_EVENTS:  # assign, snooze, wake, tag, block
                before, after = split_change(item.body)
                change = event_said(item.subject, before, after, now, self._tz)
                said = f"── {change} · {by} · {when}"
            elif item.subject == "handoff":  # the FAQ bot gave the conversation to the team
                said = f"── {handoff_said(item.body)} · {by} · {when}"
            else:
                kind = event_kind(item.subject)
                if item.subject == "status":
                    change = status_change(item.body)
                else:
                    change = one_line(item.body, 200).replace(" -> ", " → ")
                said = f"── {kind}: {change} · {by} · {when}"
            event = self._line(Text(said, style=style("timeline--event")), width - 2)
            line = Text.assemble(marker, event)
            return [text_strip(line, width, console, base), Strip.blank(width, base)]
        if item.message_kind == "survey":  # the system's question, no agent's reply
            return self._survey(item, width, marker, base, when)

        if item.kind == "note":
            note, internal = _("NOTE"), _("internal, not sent")
            head = Text.assemble(
                marker,
                (f" {self._cell(note)} ", style("timeline--note-label")),
                " ",
                (self._cell(one_line(item.author, 60)), style("timeline--author")),
                (f"  {self._cell(internal)}", style("timeline--muted")),
            )
            gutter = Text("  ┃ ", style=style("timeline--note"))
            body_style = style("timeline--note")
        else:
            inbound = item.kind == "in"
            if inbound:
                # TRANSLATORS: one column with "→ out": keep both as wide (5 cells).
                arrow = (self._cell(_("← in ")), style("timeline--in"))
            elif item.message_kind == "bot":  # the FAQ bot's answer, not an agent's
                # TRANSLATORS: one column with "← in ": keep it as wide (5 cells).
                arrow = (self._cell(_("→ bot")), style("timeline--bot"))
            else:
                # TRANSLATORS: one column with "← in ": keep both as wide (5 cells).
                arrow = (self._cell(_("→ out")), style("timeline--out"))
            head = Text.assemble(
                marker,
                arrow,
                " ",
                channel_mark(item.channel),
                " ",
                (self._cell(one_line(channel_name(item.channel), 20)), style("timeline--muted")),
                (" · ", style("timeline--muted")),
                (self._cell(one_line(item.author, 80)) or "?", style("timeline--author")),
            )
            side = "timeline--bot" if item.message_kind == "bot" else "timeline--out"
            gutter = Text("  │ ", style=style("timeline--in" if inbound else side))
            body_style = Style()
        # The earlier texts of an edited message: v.
        stamp = _("{time} (edited)").format(time=when) if item.edited else when
        right = Text.assemble(self._delivery(item), (stamp, style("timeline--muted")), " ")
        room = width - right.cell_len - 2
        head.truncate(max(room, 0), overflow="ellipsis", pad=True)
        strips = [text_strip(Text.assemble(head, "  ", right), width, console, base)]

        inner = max(width - GUTTER, 1)
        if item.call_seconds is not None:
            call = Text(call_said(item), style=style("timeline--subject"))
            for piece in wrap_rtl(call, inner, console, self.rtl):
                strips.append(text_strip(Text.assemble(gutter, piece), width, console, base))
        if item.subject:
            subject = Text(one_line(item.subject, 300), style=style("timeline--subject"))
            for piece in wrap_rtl(subject, inner, console, self.rtl):
                strips.append(text_strip(Text.assemble(gutter, piece), width, console, base))
        muted = style("timeline--muted") + Style(italic=True)
        new_text, folded = self._fold(item)
        if item.message_kind == "rating":
            new_text, folded = rating_said(item.body), ""
        shown = show(new_text)
        body = shown.text
        body.stylize(body_style)
        hidden = shown.hidden_chars
        pieces = wrap_rtl(body, inner, console, self.rtl)
        if item.call_seconds is not None and not new_text.strip():
            pieces = []  # a call logged without notes: its line says it all
        if folded and not self.show_quotes:
            count = folded.count("\n") + 1
            said = ngettext(
                "··· quoted text and signature ({count} line) — z shows",
                "··· quoted text and signature ({count} lines) — z shows",
                count,
            )
            pieces.append(self._line(Text(said.format(count=number(count)), muted), inner))
        elif folded and hidden:
            hidden += len(folded) + 1  # the new text alone was cut: the rest is in v
        elif folded:
            rest = show(folded)
            hidden += rest.hidden_chars
            rest.text.stylize(style("timeline--muted"))
            pieces += [Text(""), *wrap_rtl(rest.text, inner, console, self.rtl)]
            folds = Text(_("··· z folds the quoted text and signature"), muted)
            pieces.append(self._line(folds, inner))
        for piece in pieces:
            strips.append(text_strip(Text.assemble(gutter, piece), width, console, base))
        if hidden:
            said = ngettext(
                "… {count} more character: press v to read the whole message",
                "… {count} more characters: press v to read the whole message",
                hidden,
            )
            more = self._line(Text(said.format(count=number(hidden)), style=muted), inner)
            strips.append(text_strip(Text.assemble(gutter, more), width, console, base))
        for attachment in item.attachments:
            line = attachment_text(attachment, style("timeline--muted"))
            strips.append(text_strip(Text.assemble(gutter, line), width, console, base))
        if item.kind == "out" and item.last_error:
            error = Text(f"! {one_line(item.last_error, 300)}", style=style("timeline--error"))
            for piece in wrap_rtl(error, inner, console, self.rtl):
                strips.append(text_strip(Text.assemble(gutter, piece), width, console, base))
        strips.append(Strip.blank(width, base))
        return strips

    def _survey(
        self, item: TimelineItem, width: int, marker: Text, base: Style, when: str
    ) -> list[Strip]:
        """A satisfaction survey: one system line with its delivery state (and its error)."""
        style = self.get_component_rich_style
        console = self.app.console
        channel = one_line(channel_name(item.channel), 20)
        said = _("satisfaction survey · {channel}").format(channel=channel)
        right = Text.assemble(self._delivery(item), (when, style("timeline--muted")), " ")
        head = Text.assemble(marker, self._line(Text(f"── {said}", style("timeline--event"))))
        head.truncate(max(width - right.cell_len - 2, 0), overflow="ellipsis", pad=True)
        strips = [text_strip(Text.assemble(head, "  ", right), width, console, base)]
        if item.last_error:
            error = Text(f"    ! {one_line(item.last_error, 300)}", style=style("timeline--error"))
            strips.append(text_strip(error, width, console, base))
        return [*strips, Strip.blank(width, base)]

    def _cell(self, text: str) -> str:
        return visual_cell(text, self.rtl)

    def _line(self, line: Text, width: int = 0) -> Text:
        """One line of the console's own words in visual order (right-aligned in ``width``
        when it reads right to left)."""
        return visual_text(line, self.rtl, width=width)

    def _fold(self, item: TimelineItem) -> tuple[str, str]:
        if item.channel != "email":
            return item.body, ""
        found = self._folds.get(item)
        if found is None:
            found = fold_quoted(item.body)
            self._folds[item] = found
        return found

    def _delivery(self, item: TimelineItem) -> Text:
        """The state of a reply, with room after it; empty for anything else."""
        state = item.delivery
        if item.kind != "out" or not state:
            return Text("")
        style = self.get_component_rich_style
        if state == "queued" and item.attempts:
            label = _("↻ retrying (attempt {number})").format(number=number(item.attempts + 1))
        elif state == "queued":
            label = _("◷ queued")
        elif state == "sending":
            label = _("… sending")
        elif state == "sent":
            label = _("✓ sent")
        elif state == "failed":
            label = _("✗ failed · R to retry")
        elif state == "unconfirmed":
            label = _("? unconfirmed · R to resend")
        else:
            label = one_line(state, 20)
        key = f"timeline--{state}" if state in DELIVERY_STYLES else "timeline--muted"
        return Text(f"{label}  ", style=style(key))


DELIVERY_STYLES = ("queued", "sending", "sent", "failed", "unconfirmed")


def thread_reason(kind: str) -> str:
    """Why a message without a recorded reason is where it is (replies, notes)."""
    if kind == "out":
        return _("a reply written in this conversation")
    if kind == "note":
        return _("a note added to this conversation")
    return _("no reason was recorded")


def call_said(item: TimelineItem) -> str:
    """A logged call's line: "Call in · 5m 30s · answered"."""
    if item.kind == "in":
        said = _("Call in · {duration} · {outcome}")
    else:
        said = _("Call out · {duration} · {outcome}")
    return said.format(
        duration=duration_said(item.call_seconds or 0),
        outcome=one_line(outcome_said(item.call_outcome), 20),
    )


def rating_said(body: str) -> str:
    """A rating message as the timeline shows it: "Rated ★★★★☆ 4/5" and the comment below
    (customer text: it goes through text.show with the rest)."""
    from omnitui.csat import rating_of, stars  # with quoting's patterns: after the first paint

    found = rating_of(body)
    if found is None:
        return body
    said = _("Rated {stars} {score}/5").format(stars=stars(found.score), score=found.score)
    return f"{said}\n{found.comment}" if found.comment else said


def moved_said(kind: str, message_id: int | None) -> str:
    """The sentence of a move or split event, with {agent}, {id}, {source}, {target}."""
    if kind == "split":
        if message_id:
            return _("{agent} split message {id} from conversation {source} into {target}")
        return _("{agent} split a message from conversation {source} into {target}")
    if message_id:
        return _("{agent} moved message {id} from conversation {source} to {target}")
    return _("{agent} moved a message from conversation {source} to {target}")


def status_change(body: str) -> str:
    """A status event's "BEFORE -> AFTER (WHY)" as the console says it: the statuses and
    the reasons the store writes (inbox.py) in the console's language."""
    before, after = split_change(body)
    why = ""
    if after and after.endswith(")") and " (" in after:
        after, _sep, why = after[:-1].partition(" (")
    change = _("{before} → {after}").format(
        before=status_word(before or "-"), after=status_word(after or "-")
    )
    if not why:
        return change
    reasons = {
        "customer wrote": pgettext("status reason", "customer wrote"),
        "customer replied": pgettext("status reason", "customer replied"),
        "customer called": pgettext("status reason", "customer called"),
        "spam": pgettext("status reason", "spam"),
    }
    said = _("{change} ({reason})")
    return said.format(change=change, reason=reasons.get(why) or one_line(why, 40))


def handoff_said(body: str) -> str:
    """A "handoff" event ("- -> asked", "- -> score 0.33") as the timeline says it."""
    reason, _sep, score = body.partition(" -> ")[2].partition(" ")
    if reason == "asked":
        return _("handed to the agents: the customer asked for a person")
    if reason == "second":
        return _("handed to the agents: a second question")
    if reason == "score":
        said = _("handed to the agents: no good answer in the knowledge base (score {score})")
        return said.format(score=one_line(score, 10))
    return _("handed to the agents")


def event_kind(kind: str) -> str:
    """The name of an event kind the history shows as "kind: before → after"."""
    names = {
        "status": pgettext("event", "status"),
        "merge": pgettext("event", "merge"),
        "unmerge": pgettext("event", "unmerge"),
        "retry": pgettext("event", "retry"),
        "unreachable": pgettext("event", "unreachable"),
        "link-suggested": pgettext("event", "link-suggested"),
        "identity-linked": pgettext("event", "identity-linked"),
        "identity-verified": pgettext("event", "identity-verified"),
        "link": pgettext("event", "link"),
        "unlink": pgettext("event", "unlink"),
        "rename": pgettext("event", "rename"),
    }
    return names.get(kind) or one_line(kind, 40)
