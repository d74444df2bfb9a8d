"""The inbox: customers on the left, the selected customer's history and the composer
on the right, the status line above the footer.

The screen coordinates its widgets and asks the app for writes; reads run in the
widgets' thread workers over the app's Reader. It also shows the other agents (who is
online, who has which customer open, who types to the open one), saves and restores the
composer's drafts through the app, and checks a send for collisions with other agents
before it goes (``on_composer_submitted``). Over the list, the view bar: the views
(omnitui/views.py) with their counts and the hotlist of unread customers are read in a
worker after the first paint and again after commits, at most every ``COUNTS_EVERY``
seconds and only when messages, events or unread counts moved (``refresh_views``).
Must not import the store or the network (the app owns both).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.reads import (
    VISITOR_TYPING_SECONDS,
    CustomerDetail,
    Hotlist,
    StoreStatus,
    TimelineItem,
)
from omnitui.text import one_line
from omnitui.views import ALL, BUILT_IN, CHANNEL_PREFIX, CHANNEL_TITLES, OPEN, View, arrange
from omnitui.widgets.attachments import AttachedFile
from omnitui.widgets.channels import channel_mark, channel_name
from omnitui.widgets.composer import Composer
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.presence import PresenceLine, listed
from omnitui.widgets.rtl import VisualText, redraw_rtl, show_title
from omnitui.widgets.status_line import StatusLine
from omnitui.widgets.strips import cell
from omnitui.widgets.template import fill
from omnitui.widgets.timeline import Timeline, thread_reason
from omnitui.widgets.times import local_time
from omnitui.widgets.typing import TypingLine
from omnitui.widgets.view_bar import ViewBar
from omnitui.widgets.workflow import state_text, status_word

if TYPE_CHECKING:
    from omnitui.app import OmniApp

    # Rows of omnitui/readrows.py: loaded on first use, not by the first paint.
    from omnitui.reads import (
        AgentPresence,
        Collision,
        ConversationState,
        DraftRow,
        SearchHit,
        TypingRow,
    )

log = logging.getLogger(__name__)

AFTER_PAINT_AT_LATEST = 1.0
"""Seconds after which what waits for the first paint starts even if the list never drew."""
SEND_ANYWAY_SECONDS = 20.0
"""After "someone else is writing to this customer", a send within this many seconds goes."""
COUNTS_EVERY = 2.0
"""Seconds between reads of the views' counts and the hotlist at most (a few ms at 50k
messages, ~0.1 s at 1M): a burst of commits is read once."""

STATUS_STYLES = {
    "open": "bold green",
    "pending": "bold yellow",
    "snoozed": "bold blue",
    "resolved": "dim",
}


class InboxScreen(Screen[None]):
    """One inbox grouped by customer, each customer's whole history in one pane."""

    # Its CSS (inbox.tcss) is the app's CSS_PATH: read once with Textual's default CSS.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reply", _("Reply"), id="reply"),
        Binding("n", "note", _("Note"), id="note"),
        Binding("x", "resolve", _("Resolve"), id="resolve"),
        Binding("o", "reopen", _("Reopen"), id="reopen"),
        Binding("slash", "search", _("Search"), id="search"),
        Binding("v", "view", _("View"), id="view-message"),
        Binding("R,ctrl+r", "retry", _("Retry"), id="retry-reply"),
        Binding("c", "cycle_channel", _("Channel"), id="cycle-channel", show=False),
        Binding("u", "toggle_open_only", _("Open view"), id="toggle-open-only"),
        # Views of the customer list (omnitui/views.py): ] and [ cycle, 1-9 pick one.
        Binding("right_square_bracket", "next_view", _("Next view"), id="view-next", show=False),
        Binding(
            "left_square_bracket",
            "previous_view",
            _("Previous view"),
            id="view-previous",
            show=False,
        ),
        *(
            Binding(
                str(n),
                f"pick_view({n})",
                _("View {number}").format(number=n),
                id=f"view-{n}",
                show=False,
            )
            for n in range(1, 10)
        ),
        # Team workflow: on the conversation the selected customer's actions apply to.
        Binding("a", "assign_me", _("Assign to me / unassign"), id="assign-me", show=False),
        Binding("A", "assign", _("Assign to…"), id="assign", show=False),
        Binding("p", "pending", _("Pending"), id="pending", show=False),
        Binding("s", "snooze", _("Snooze"), id="snooze", show=False),
        Binding("t", "tags", _("Tags"), id="tags", show=False),
        Binding("exclamation_mark", "spam", _("Mark spam and block"), id="spam", show=False),
        Binding("N", "next_unread", _("Next unread"), id="next-unread", show=False),
        Binding(
            "B",
            "bulk",
            _("Bulk action on the selected customers"),
            id="bulk-action",
            show=False,
        ),
        Binding(
            "i",
            "customer",
            _("Customer: name, notes, addresses, merges"),
            id="customer-info",
            show=False,
        ),
        Binding("C", "log_call", _("Log a phone call"), id="log-call", show=False),
        Binding("I", "report", _("Report: insights of a period"), id="report", show=False),
        Binding(
            "K",
            "app.knowledge_base",
            _("Knowledge base (the FAQ bot's)"),
            id="knowledge-base",
            show=False,
        ),
        Binding(
            "D",
            "toggle_rtl",
            _("Right-to-left text: reorder here / leave to the terminal"),
            id="toggle-rtl",
            show=False,
        ),
        Binding("question_mark", "help", _("Help"), id="help"),
    ]

    class _Status(Message, bubble=False):
        def __init__(self, status: StoreStatus) -> None:
            super().__init__()
            self.status = status

    class _Typing(Message, bubble=False):
        def __init__(self, customer_id: int, row: TypingRow | None) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.row = row

    class _Presence(Message, bubble=False):
        def __init__(self, agents: list[AgentPresence]) -> None:
            super().__init__()
            self.agents = agents

    class _DraftRead(Message, bubble=False):
        def __init__(self, draft: DraftRow) -> None:
            super().__init__()
            self.draft = draft

    class _Checked(Message, bubble=False):
        def __init__(self, submitted: Composer.Submitted, collision: Collision) -> None:
            super().__init__()
            self.submitted = submitted
            self.collision = collision

    class _ViewsRead(Message, bubble=False):
        def __init__(
            self,
            saved: list[View] | None,
            hotlist: Hotlist,
            mark: object,
            counts: dict[str, int] | None,
        ) -> None:
            super().__init__()
            self.saved = saved
            self.hotlist = hotlist
            self.mark = mark
            self.counts = counts

    def __init__(self) -> None:
        super().__init__()
        self.opened_id: int | None = None
        """The customer the agent opened (enter, search): its new messages count as read."""
        self.detail: CustomerDetail | None = None
        self._shown = False
        self._resumed = False
        self._footer_mounted = False
        self._others: list[AgentPresence] = []
        """The other agents online, as last read."""
        self._presence_on = False
        """Presence is read from the first paint on (it is not part of it)."""
        self._draft_read_for: int | None = None
        """The customer whose stored draft was last looked for."""
        self._writing_warned: dict[int, float] = {}
        """When the agent was told someone else writes to a customer (monotonic seconds)."""
        self._composer: Composer | None = None
        self.views: list[View] = list(BUILT_IN)
        """The views in the bar's order; saved and channel ones join after the first paint."""
        self._saved_views: list[View] | None = None
        """The config's saved views, once read (after the first paint: pydantic)."""
        self._before_open: View = ALL
        """The view ``u`` goes back to from Open."""
        self._views_on = False
        self._counts_at = -COUNTS_EVERY
        self._counts_timer: Timer | None = None
        self._counts_mark: object = None
        """What the store looked like at the last count (newest message and event, hotlist)."""

    @property
    def omni(self) -> OmniApp:
        return cast("OmniApp", self.app)

    def compose(self) -> ComposeResult:
        app = self.omni
        with Horizontal(id="panes"):
            first_page, app.first_page = app.first_page, None
            with Vertical(id="customer-pane"):
                yield ViewBar(id="views")
                yield CustomerList(
                    app.list_reads,
                    clock=app.clock,
                    tz=app.tz,
                    first_page=first_page,
                    rtl=app.rtl,
                    id="customers",
                )
            with Vertical(id="conversation"):
                yield Static(id="customer-header")
                yield Timeline(app.reader, clock=app.clock, tz=app.tz, rtl=app.rtl, id="timeline")
                yield TypingLine(id="visitor-typing")
                yield PresenceLine(id="agents-here")
                yield Composer(id="composer")
        yield StatusLine(is_own_holder=app.is_own_holder, id="status")
        # The Footer (a widget a key, recomposed on every focus change) costs more than
        # the rest of the screen: it takes this line's place after the first paint.
        yield Static(id="footer-placeholder")

    def _compositor_refresh(self) -> None:
        # Until the inbox is first shown, a frame rendered during a batch update is one
        # Textual does not show (App._display drops it): at start that is a whole frame
        # (20-30 ms here) rendered for nothing, and it delays the frame that is shown.
        if not self._shown and self.app._batch_count:
            self.refresh()
            return
        self._shown = True
        super()._compositor_refresh()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen's own handler. The first resume comes right after the mount,
        # which has just styled every widget: styling them all again is wasted.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    @property
    def customers(self) -> CustomerList:
        return self.query_one(CustomerList)

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def status_line(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def typing_line(self) -> TypingLine:
        return self.query_one(TypingLine)

    def on_mount(self) -> None:
        show_title(self.customers, _("Customers"))
        show_title(self.timeline, _("History"))
        show_title(self.composer, _("Composer"))
        self._composer = self.composer
        self.customers.set_agent(self.omni.settings.agent)
        self._show_header()
        self.customers.focus()
        self.load_status()
        self.set_timer(AFTER_PAINT_AT_LATEST, self._after_first_paint)

    def on_customer_list_painted(self, message: CustomerList.Painted) -> None:
        self.call_after_refresh(self._after_first_paint)

    async def _after_first_paint(self) -> None:
        """What the first paint does not wait for: the ORM and the runner (the app's), the
        composer's text area and the Footer. Idempotent."""
        self.omni.after_first_paint()
        if not self._presence_on:
            self._presence_on = True
            self.load_presence()
        if not self._views_on:
            self._views_on = True
            self.refresh_views()
        self.composer.mount_area()
        await self._mount_footer()

    async def _mount_footer(self) -> None:
        """Put the Footer in its placeholder's place."""
        if self._footer_mounted:
            return
        self._footer_mounted = True
        from omnitui.widgets.footer import Footer

        placeholder = self.query_one("#footer-placeholder")
        await self.mount(Footer(), after=placeholder)
        await placeholder.remove()
        self.refresh_bindings()  # the Footer shows keys once told the bindings are ready

    # -- store changes (called by the app's poll) -----------------------------------

    def store_changed(self) -> None:
        """Another commit happened: reload the list, the open history and the status line."""
        if not self.is_mounted:
            return
        self.customers.reload()
        self.timeline.refresh_from_store()
        self.load_status()
        self._check_typing()
        self.refresh_views()

    def load_status(self) -> None:
        if self.is_mounted:
            self._read_status()
            self.load_presence()

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def _read_status(self) -> None:
        try:
            status = self.omni.reader.status()
        except Exception:
            log.exception("reading the status line failed")
            return
        self.post_message(self._Status(status))

    @on(_Status)
    def _status_read(self, message: _Status) -> None:
        self.status_line.show_status(message.status, self.omni.clock())

    def notice(self, text: str) -> None:
        self.status_line.notice(text)

    def _check_typing(self) -> None:
        """Whether the open customer's web chat visitor is typing. Their pings are commits
        that move no customer's version, so no other read sees them: this one runs on every
        commit, for a customer with a web chat identity only."""
        detail = self.detail
        if detail is None or not any(i.channel == "webchat" for i in detail.identities):
            self.typing_line.show_typing(None)
            return
        self._read_typing(detail.row.id)

    @work(thread=True, exclusive=True, group="typing", exit_on_error=False)
    def _read_typing(self, customer_id: int) -> None:
        try:
            row = self.omni.reader.visitor_typing(customer_id)
        except Exception:
            log.exception("reading whether the visitor types failed")
            return
        self.post_message(self._Typing(customer_id, row))

    @on(_Typing)
    def _typing_read(self, message: _Typing) -> None:
        if self.detail is None or self.detail.row.id != message.customer_id:
            return
        row = message.row
        if row is None:
            self.typing_line.show_typing(None)
            return
        # The real time, not the app's clock: the runner stamped the ping with it.
        left = VISITOR_TYPING_SECONDS - (datetime.now(UTC) - row.at).total_seconds()
        self.typing_line.show_typing(row.display_name, left)

    # -- the list and the history ------------------------------------------------------

    def on_customer_list_highlighted(self, message: CustomerList.Highlighted) -> None:
        row = message.row
        self.timeline.show_customer(row.id if row is not None else None)
        if row is None:
            self.detail = None
            self.composer.set_detail(None)
            self._show_header()
            self._check_typing()
            self._customer_shown(None)

    def on_customer_list_opened(self, message: CustomerList.Opened) -> None:
        self.opened_id = message.row.id
        self.timeline.show_customer(message.row.id)
        if self.focused is self.customers:  # unless a key typed since moved the focus on
            self.set_focus(self.timeline)
        if message.row.unread:
            self.omni.mark_read(message.row.id)

    def on_customer_list_counted(self, message: CustomerList.Counted) -> None:
        self._title_customers()

    def on_customer_list_marked(self, message: CustomerList.Marked) -> None:
        self._title_customers()

    def _title_customers(self) -> None:
        customers = self.customers
        view = customers.view
        total, selected = customers.total, len(customers.marked)
        if view.lists_everyone and selected:
            title = ngettext(
                "Customers · {total} · {selected} selected",
                "Customers · {total} · {selected} selected",
                selected,
            )
        elif view.lists_everyone:
            title = _("Customers · {total}")
        elif selected:
            title = ngettext(
                "{view} · {total} · {selected} selected",
                "{view} · {total} · {selected} selected",
                selected,
            )
        else:
            title = "{view} · {total}"
        show_title(
            customers,
            title.format(
                view=one_line(view.shown_title, 30), total=number(total), selected=number(selected)
            ),
        )

    def on_timeline_loaded(self, message: Timeline.Loaded) -> None:
        detail = message.detail
        self.detail = detail
        self.composer.set_detail(detail)
        self._show_header()
        self._check_typing()
        self._customer_shown(detail)
        if detail is None:
            return
        reading = self.opened_id == detail.row.id and (
            self.timeline.has_focus or self.composer.has_focus_within
        )
        if detail.row.unread and reading:
            self.omni.mark_read(detail.row.id)

    def on_timeline_back(self, message: Timeline.Back) -> None:
        self.set_focus(self.customers)

    def on_descendant_focus(self) -> None:
        focused = self.focused
        if focused is self.customers:
            self.opened_id = None

    def _show_header(self) -> None:
        header = self.query_one("#customer-header", Static)
        detail = self.detail
        if detail is None:
            header.update(Text.assemble(" ", _("No customer selected"), style="dim italic"))
            return
        row = detail.row
        # Columns, as in the list: each piece is a cell, in visual order alone (omnitui.bidi).
        line = Text(" ", end="")
        line.append_text(cell(one_line(row.name, 80) or _("(no name)"), "bold"))
        for handle in dict.fromkeys(i.handle for i in detail.identities if i.handle):
            line.append(" ")
            line.append_text(cell(f"@{one_line(handle, 40)}"))
        status = detail.conversation_status or "new"
        line.append("  ")
        badge = STATUS_STYLES.get(status, "bold") + " reverse"
        line.append_text(cell(f" {status_word(status)} ", badge))
        if detail.state is not None:  # assignee, snooze, tags, blocked addresses
            app = self.omni
            line.append_text(
                cell(state_text(detail.state, app.settings.agent, app.clock(), app.tz))
            )
        if row.unread:
            unread = ngettext("{count} unread", "{count} unread", row.unread)
            line.append_text(cell(f"  {unread.format(count=number(row.unread))}", "bold"))
        if detail.language:  # detected from their messages, in the worker that read them
            line.append(f"  {detail.language}", style="bold")
        for identity in detail.identities:
            line.append("  ")
            line.append_text(channel_mark(identity.channel))
            line.append(" ")
            line.append_text(cell(one_line(identity.address, 60), "dim"))
        header.update(VisualText(line, self.app))

    # -- the composer ---------------------------------------------------------------

    def _queue_submitted(self, message: Composer.Submitted) -> None:
        """Queue the reply or add the note the composer submitted (checked already)."""
        composer = self.composer
        customer_id, body, files = message.customer_id, message.body, message.attachments
        said = _("Note added")
        if message.mode == "reply":
            count = len(files)
            identity = composer.identity
            if identity is not None and identity.unreachable_reason:
                said = (
                    ngettext(
                        "Reply queued with {count} file · the address could not be reached "
                        "last time: R resends if it fails",
                        "Reply queued with {count} files · the address could not be reached "
                        "last time: R resends if it fails",
                        count,
                    )
                    if count
                    else _(
                        "Reply queued · the address could not be reached last time: "
                        "R resends if it fails"
                    )
                )
            else:
                said = (
                    ngettext(
                        "Reply queued with {count} file", "Reply queued with {count} files", count
                    )
                    if count
                    else _("Reply queued")
                )
            said = said.format(count=number(count))

        def done() -> None:
            composer.sent(customer_id, body, files)
            self.notice(said)

        if message.mode == "note":
            self.omni.add_note(customer_id, body, done=done, failed=composer.failed)
        else:
            self.omni.queue_reply(
                customer_id,
                body,
                message.identity_id,
                attachments=files,
                done=done,
                failed=composer.failed,
            )

    def on_composer_attach_wanted(self, message: Composer.AttachWanted) -> None:
        self.action_attach_file()

    def on_composer_canned_wanted(self, message: Composer.CannedWanted) -> None:
        """``::`` in the composer: the canned reply picker (screens/canned.py)."""
        from omnitui.screens.canned import open_picker

        open_picker(self.omni, self.composer, message)

    def on_composer_left(self, message: Composer.Left) -> None:
        self.set_focus(self.timeline)

    def on_composer_typing(self, message: Composer.Typing) -> None:
        self.omni.set_presence(message.customer_id, message.typing)

    # -- actions -------------------------------------------------------------------------

    def _selected_customer(self) -> int | None:
        if self.detail is None:
            self.app.notify(_("Select a customer first."), severity="warning", markup=False)
            return None
        return self.detail.row.id

    def action_reply(self) -> None:
        if self._selected_customer() is not None:
            self.opened_id = self.detail.row.id if self.detail else None
            self.composer.focus_input("reply")

    def action_note(self) -> None:
        if self._selected_customer() is not None:
            self.opened_id = self.detail.row.id if self.detail else None
            self.composer.focus_input("note")

    def action_attach_file(self) -> None:
        """The attach window for the reply to the selected customer."""
        if self._selected_customer() is None or self.detail is None:
            return
        from omnitui.screens.attach import AttachScreen

        composer = self.composer
        customer_id = self.detail.row.id

        def attached(files: list[AttachedFile] | None) -> None:
            if files is None:
                return
            composer.set_files(customer_id, files)
            if files and not composer.has_focus_within:
                self.set_focus(composer.area)

        screen = AttachScreen(
            composer.files, self.omni.check_attachment, customer=self.detail.row.name
        )
        self.app.push_screen(screen, attached)

    def action_detach_file(self) -> None:
        if self._selected_customer() is None:
            return
        removed = self.composer.remove_last_file()
        if removed is None:
            self.app.notify(
                _("No file is attached to the reply."), severity="warning", markup=False
            )
        else:
            said = _("Removed {name} from the reply")
            self.notice(said.format(name=one_line(removed.name, 80)))

    def action_resolve(self) -> None:
        self._set_status("resolved")

    def action_reopen(self) -> None:
        self._set_status("open")

    def _set_status(self, status: str) -> None:
        customer_id = self._selected_customer()
        if customer_id is None:
            return
        name = one_line(self.detail.row.name, 40) if self.detail else ""
        said = _("Resolved {name}") if status == "resolved" else _("Reopened {name}")
        said = said.format(name=name)
        self.omni.set_status(customer_id, status, done=lambda: self.notice(said))

    def action_search(self) -> None:
        from omnitui.screens.search import SearchScreen

        self.app.push_screen(
            SearchScreen(self.omni.reader, clock=self.omni.clock, tz=self.omni.tz), self.open_hit
        )

    def open_hit(self, hit: SearchHit | None) -> None:
        """Open the customer of a search result, at the message when there is one."""
        if hit is None:
            return
        self.timeline.show_customer(hit.customer_id, message_id=hit.message_id)
        self.customers.select_customer(hit.customer_id)
        self.set_focus(self.timeline)
        self.opened_id = hit.customer_id

    def action_view(self) -> None:
        item = self.timeline.selected_item
        if item is None or item.kind == "event":
            self.app.notify(
                _("Select a message in the history first (j/k)."),
                severity="warning",
                markup=False,
            )
            return
        from omnitui.screens.message import MessageScreen

        app = self.omni
        self.app.push_screen(
            MessageScreen(
                item, app.reader, clock=app.clock, tz=app.tz, data_dir=app.settings.data_dir
            )
        )

    def action_retry(self) -> None:
        item = self.timeline.selected_item
        if item is None or item.kind != "out" or item.delivery not in ("failed", "unconfirmed"):
            self.app.notify(
                _("Select a failed or unconfirmed reply in the history (j/k) to send it again."),
                severity="warning",
                markup=False,
            )
            return
        self.omni.retry_reply(item.id, done=lambda: self.notice(_("Reply queued again")))

    def action_cycle_channel(self) -> None:
        if self._selected_customer() is None:
            return
        self.composer.cycle_channel()
        identity = self.composer.identity
        if identity is not None:
            said = _("Replies go to {channel} {address}")
            self.notice(
                said.format(
                    channel=one_line(channel_name(identity.channel), 20),
                    address=one_line(identity.address, 60),
                )
            )

    def action_toggle_open_only(self) -> None:
        """The Open view, and from it back to the view before (``u``: once a filter of its
        own, now a shortcut between views)."""
        current = self.customers.view
        if current.id == OPEN.id:
            self.show_view(self._before_open if self._before_open.id != OPEN.id else ALL)
        else:
            self._before_open = current
            self.show_view(OPEN)

    # -- views of the customer list: the bar, its counts, the hotlist --------------------

    def show_view(self, view: View) -> None:
        """List the customers of ``view`` (the bar marks it, the list's title names it)."""
        self.customers.set_view(view)
        self.query_one(ViewBar).set_active(view.id)
        self._title_customers()

    def action_show_view(self, view_id: str) -> None:
        """Show the view with this id (the palette, a saved view's key)."""
        view = next((v for v in self.views if v.id == view_id), None)
        if view is not None:
            self.show_view(view)

    def action_pick_view(self, number: int) -> None:
        """Show the ``number``th view of the bar (1-9)."""
        if 1 <= number <= len(self.views):
            self.show_view(self.views[number - 1])

    def action_next_view(self) -> None:
        self._step_view(1)

    def action_previous_view(self) -> None:
        self._step_view(-1)

    def _step_view(self, step: int) -> None:
        ids = [v.id for v in self.views]
        current = self.customers.view.id
        at = ids.index(current) if current in ids else 0
        self.show_view(self.views[(at + step) % len(self.views)])

    def on_view_bar_picked(self, message: ViewBar.Picked) -> None:
        self.show_view(message.view)

    def refresh_views(self) -> None:
        """Read the views' counts and the hotlist again: now when the last read is
        ``COUNTS_EVERY`` old, else when it will be (a burst of commits reads once)."""
        if not self._views_on or not self.is_mounted or self._counts_timer is not None:
            return
        wait = self._counts_at + COUNTS_EVERY - time.monotonic()
        if wait > 0:
            self._counts_timer = self.set_timer(wait, self._count_views)
        else:
            self._count_views()

    def _count_views(self) -> None:
        self._counts_timer = None
        self._counts_at = time.monotonic()
        self._read_views(self._saved_views, self._counts_mark)

    @work(thread=True, exclusive=True, group="view-counts", exit_on_error=False)
    def _read_views(self, saved: list[View] | None, last_mark: object) -> None:
        """The hotlist always (one short walk of the list's index); the counts only when a
        message or an event was stored or the unread customers changed since the last read
        (presence heartbeats and drafts are commits that move no count)."""
        app = self.omni
        reader = app.reader
        first = saved is None
        try:
            if saved is None:
                from omnitui.views import saved_views, with_sla

                config = app.settings.config
                saved = with_sla(saved_views(config.views), config.sla)
            hotlist = reader.hotlist()
            mark = (reader.change_mark(), hotlist)
            counts = None
            if first or mark != last_mark:
                views = [*BUILT_IN, *saved]
                counts = reader.view_counts(views, app.list_reads.context())
        except Exception:
            log.exception("reading the views' counts failed")
            return
        self.post_message(self._ViewsRead(saved if first else None, hotlist, mark, counts))

    @on(_ViewsRead)
    def _views_read(self, message: _ViewsRead) -> None:
        if message.saved is not None:
            self._saved_views = message.saved
            self._bind_view_keys(message.saved)
        self._counts_mark = message.mark
        self.status_line.show_hotlist(message.hotlist)
        counts = message.counts
        if counts is None:
            return
        present = [c for c in CHANNEL_TITLES if counts.get(f"{CHANNEL_PREFIX}{c}", 0) > 0]
        self.views = arrange(self._saved_views or [], present)
        self.query_one(ViewBar).set_views(self.views, counts)

    def _bind_view_keys(self, saved: list[View]) -> None:
        """Bind the saved views' keys on this screen, unless a binding has the key already
        (then the status line says so). Through the screen's binding map, as Textual's own
        ``App.bind`` does: Textual has no public call for a screen's dynamic keys."""
        taken: dict[str, str] = {}
        for node in (self.app, self, self.customers, self.timeline):
            for key, bindings in node._bindings.key_to_bindings.items():
                taken.setdefault(key, bindings[0].description or bindings[0].action)
        for view in saved:
            key = view.key
            if not key:
                continue
            if key in taken:
                log.warning("view %s: key %s is %s already; not bound", view.title, key, taken[key])
                said = _("view {view}: key {key} is {action} already; not bound")
                self.notice(said.format(view=one_line(view.title, 30), key=key, action=taken[key]))
                continue
            self._bindings.bind(key, f"show_view({view.id!r})", view.title, show=False)
            taken[key] = view.title

    # -- team workflow: assign, pending, snooze, tags, spam, next unread ----------------

    def _workflow_state(self) -> ConversationState | None:
        """The conversation the selected customer's team actions apply to."""
        if self._selected_customer() is None or self.detail is None:
            return None
        state = self.detail.state
        if state is None:
            self.app.notify(
                _("This customer has no conversation yet."), severity="warning", markup=False
            )
        return state

    def action_assign_me(self) -> None:
        """Take the conversation; give it back when it is yours already."""
        state = self._workflow_state()
        if state is not None:
            me = self.omni.settings.agent
            self._assign(state, None if state.assignee == me else me)

    def action_unassign(self) -> None:
        state = self._workflow_state()
        if state is None:
            return
        if state.assignee is None:
            self.notice(_("Nobody has this conversation"))
            return
        self._assign(state, None)

    def action_assign(self) -> None:
        """Pick whom the conversation goes to (an agent, yourself, nobody, a name)."""
        state = self._workflow_state()
        if state is None:
            return
        from omnitui.screens.workflow import AssignScreen

        def picked(name: str | None) -> None:
            if name is not None:
                self._assign(state, name or None)

        me = self.omni.settings.agent
        self.app.push_screen(AssignScreen(self.omni.reader.agents, me, state.assignee), picked)

    def _assign(self, state: ConversationState, assignee: str | None) -> None:
        me = self.omni.settings.agent
        if assignee is None:
            said = _("Unassigned · conversation #{id}")
        elif assignee == me:
            said = _("Assigned to you · conversation #{id}")
        else:
            said = _("Assigned to {agent} · conversation #{id}")
        said = said.format(agent=one_line(assignee or "", 40), id=state.id)
        self.omni.assign(
            state.id,
            assignee,
            done=lambda: self.notice(said),
            refused=self._refused(_("Assign refused: {error}")),
        )

    def action_pending(self) -> None:
        state = self._workflow_state()
        if state is not None:
            self.omni.set_conversation_status(
                state.id,
                "pending",
                done=lambda: self.notice(_("Conversation #{id} is pending").format(id=state.id)),
                refused=self._refused(_("Pending refused: {error}")),
            )

    def action_snooze(self) -> None:
        """Ask until when (plain words, shown as a time before enter), then snooze."""
        state = self._workflow_state()
        if state is None:
            return
        from omnitui.screens.workflow import SnoozeScreen
        from omnitui.when import describe

        app = self.omni

        def picked(until: datetime | None) -> None:
            if until is None:
                return
            said = _("Snoozed #{id} until {when}").format(
                id=state.id, when=describe(until, app.clock(), app.tz)
            )
            app.snooze(
                state.id,
                until,
                done=lambda: self.notice(said),
                refused=self._refused(_("Snooze refused: {error}")),
            )

        current = state.snoozed_until if state.status == "snoozed" else None
        self.app.push_screen(SnoozeScreen(app.clock, app.tz, current), picked)

    def action_tags(self) -> None:
        """Add and remove tags on one line, completed from the tags in use."""
        state = self._workflow_state()
        if state is None:
            return
        from omnitui.screens.workflow import TagScreen

        def picked(change: tuple[list[str], list[str]] | None) -> None:
            if change is None:
                return
            add, remove = change
            said = " ".join([*(f"+{t}" for t in add), *(f"-{t}" for t in remove)])
            self.omni.change_tags(
                state.id,
                add,
                remove,
                done=lambda: self.notice(
                    _("Tags of #{id}: {tags}").format(id=state.id, tags=one_line(said, 120))
                ),
                refused=self._refused(_("Tags refused: {error}")),
            )

        self.app.push_screen(TagScreen(state.tags, self.omni.reader.tags), picked)

    def action_spam(self) -> None:
        """Mark spam: block the sender, resolve, tag spam (asked first). On a customer
        with a blocked address it offers to unblock instead."""
        state = self._workflow_state()
        if state is None or self.detail is None:
            return
        from omnitui.screens.workflow import ConfirmScreen

        if state.blocked:
            where = ", ".join(
                f"{channel_name(b.channel)} {one_line(b.address, 60)}" for b in state.blocked
            )
            ids = [b.id for b in state.blocked]

            def unblock(yes: bool | None) -> None:
                if yes:
                    self.omni.unblock(
                        ids,
                        done=lambda: self.notice(
                            _("Unblocked {addresses}").format(addresses=where)
                        ),
                        refused=self._refused(_("Unblock refused: {error}")),
                    )

            question = Text(
                _("Unblock {addresses}? Its messages count again.").format(addresses=where)
            )
            self.app.push_screen(ConfirmScreen(_("Unblock"), question), unblock)
            return
        sender = next(
            (i for i in self.detail.identities if i.id == self.detail.last_inbound_identity_id),
            None,
        )
        if sender is not None:
            marked = _("Marked spam: blocked {sender}, resolved #{id}")
            asked = _(
                "Mark conversation #{id} as spam? This blocks {sender} (their messages are "
                "kept but reopen nothing), resolves it and tags it spam."
            )
        else:
            marked = _("Marked spam: blocked the sender, resolved #{id}")
            asked = _(
                "Mark conversation #{id} as spam? This blocks the sender (their messages are "
                "kept but reopen nothing), resolves it and tags it spam."
            )
        who = f"{channel_name(sender.channel)} {one_line(sender.address, 60)}" if sender else ""
        marked = marked.format(sender=who, id=state.id)

        def spam(yes: bool | None) -> None:
            if yes:
                self.omni.mark_spam(
                    state.id,
                    done=lambda: self.notice(marked),
                    refused=self._refused(_("Spam refused: {error}")),
                )

        question = Text(asked.format(sender=who, id=state.id))
        self.app.push_screen(ConfirmScreen(_("Mark spam"), question), spam)

    def action_bulk(self) -> None:
        """An action on the current conversation of every selected customer (space, *),
        asked and confirmed with the count first."""
        from omnitui.screens.bulk import BulkChoice, ask_bulk, bulk_done

        customers = self.customers
        chosen = sorted(customers.marked)
        if not chosen:
            self.notice(
                _(
                    "Select customers first (space; * selects the whole view), "
                    "or act on a search's results (/ then ctrl+b)"
                )
            )
            return
        count = len(chosen)

        def apply(choice: BulkChoice) -> None:
            def done(conversations: int, changed: int) -> None:
                customers.clear_marks()
                self.notice(bulk_done(changed, conversations))

            self.omni.bulk_apply(
                choice.action,
                customers=chosen,
                add=choice.add,
                remove=choice.remove,
                done=done,
                refused=self._refused(_("Bulk action refused: {error}")),
            )

        what = ngettext(
            "{count} customer selected: their current conversations.",
            "{count} customers selected: their current conversations.",
            count,
        )
        ask_bulk(
            self.app,
            what.format(count=number(count)),
            count,
            self.omni.reader.tags,
            apply,
            of_customers=True,
        )

    def action_next_unread(self) -> None:
        """Open the next customer (in list order, wrapping) with unread messages."""
        current = self.detail.row.id if self.detail is not None else None
        self._find_next_unread(current)

    @work(thread=True, exclusive=True, group="next-unread", exit_on_error=False)
    def _find_next_unread(self, current: int | None) -> None:
        try:
            found = self.omni.reader.next_unread(current)
        except Exception:
            log.exception("finding the next unread customer failed")
            return
        self.app.call_from_thread(self._open_next_unread, found)

    def _open_next_unread(self, customer_id: int | None) -> None:
        if customer_id is None:
            self.notice(_("No other customer has unread messages"))
            return
        self.timeline.show_customer(customer_id)
        self.customers.select_customer(customer_id)
        self.set_focus(self.timeline)
        self.opened_id = customer_id

    # -- the selected message: quotes, threading (bound on the timeline) -----------------

    def action_toggle_rtl(self) -> None:
        """Reorder RTL text here, or leave it to the terminal (omnitui.bidi)."""
        app = self.omni
        app.rtl = replace(app.rtl, on=not app.rtl.on)
        redraw_rtl(app)
        self.notice(
            _("Right-to-left text is put in visual order here (D leaves it to the terminal)")
            if app.rtl.on
            else _("Right-to-left text is left to the terminal (D reorders it here)")
        )

    def action_toggle_quotes(self) -> None:
        shown = self.timeline.toggle_quotes()
        self.notice(
            _("Quoted text and signatures shown (z folds them)")
            if shown
            else _("Quoted text and signatures folded (z shows them)")
        )

    def _selected_message(self, asked: str) -> TimelineItem | None:
        """The message selected in the history; else ``asked`` (why one must be) is said."""
        item = self.timeline.selected_item
        if item is None or item.kind == "event" or self.detail is None:
            self.app.notify(asked, severity="warning", markup=False)
            return None
        return item

    def action_why_threaded(self) -> None:
        item = self._selected_message(
            _("Select a message in the history first (j/k) to see why it is in its conversation.")
        )
        if item is None:
            return
        reason = item.thread_reason or thread_reason(item.kind)
        line = fill(
            _("Threaded: {reason} (message {message}, conversation #{conversation})"),
            end="",
            reason=(one_line(reason, 200), "bold"),
            message=str(item.id),
            conversation=str(item.conversation_id),
        )
        self.status_line.notice(line, timeout=12)

    def _refused(self, said: str) -> Callable[[str], None]:
        """Say a refusal on the status line: ``said`` has an ``{error}`` placeholder."""

        def show(error: str) -> None:
            self.status_line.notice(Text(said.format(error=one_line(error, 200)), "bold red"))

        return show

    def action_split_message(self) -> None:
        item = self._selected_message(
            _("Select a message in the history first (j/k) to split it into a new conversation.")
        )
        if item is None:
            return
        self.omni.move_message(
            item.id,
            None,
            done=lambda: self.notice(
                _("Message {id} split into a new conversation · U undoes").format(id=item.id)
            ),
            refused=self._refused(_("Split refused: {error}")),
        )

    def action_move_message(self) -> None:
        item = self._selected_message(
            _("Select a message in the history first (j/k) to move it to another conversation.")
        )
        if item is None or self.detail is None:
            return
        from omnitui.screens.move import MoveScreen

        def picked(conversation_id: int | None) -> None:
            if conversation_id is None:
                return
            self.omni.move_message(
                item.id,
                conversation_id,
                done=lambda: self.notice(
                    _("Message {id} moved to conversation #{conversation} · U undoes").format(
                        id=item.id, conversation=conversation_id
                    )
                ),
                refused=self._refused(_("Move refused: {error}")),
            )

        app = self.omni
        screen = MoveScreen(app.reader, self.detail.row.id, item, clock=app.clock, tz=app.tz)
        self.app.push_screen(screen, picked)

    def action_undo_move(self) -> None:
        customer_id = self._selected_customer()
        if customer_id is None:
            return
        self.omni.undo_move(
            customer_id,
            done=lambda: self.notice(_("Undid the last move or split")),
            refused=self._refused(_("Undo refused: {error}")),
        )

    def action_customer(self) -> None:
        """The customer screen (omnitui/screens/customer.py); back from it, the inbox shows
        the customer it ended on (the one a merge went into)."""
        customer_id = self._selected_customer()
        if customer_id is None:
            return
        from omnitui.screens.customer import CustomerScreen

        def closed(shown: int | None) -> None:
            if shown is not None and shown != customer_id:
                self.timeline.show_customer(shown)
                self.customers.select_customer(shown)
                self.opened_id = shown

        self.app.push_screen(CustomerScreen(customer_id), closed)

    def action_report(self) -> None:
        """The report screen (omnitui/screens/report.py): the period's insights."""
        from omnitui.screens.report import ReportScreen

        self.app.push_screen(ReportScreen())

    def action_log_call(self) -> None:
        """The call window (omnitui/screens/call.py) on the selected customer; the call
        shows in the history once stored."""
        customer_id = self._selected_customer()
        if customer_id is None or self.detail is None:
            return
        from omnitui.screens.call import CallScreen, LoggedCall

        app = self.omni

        def save(
            call: LoggedCall, done: Callable[[int], None], refused: Callable[[str], None]
        ) -> None:
            app.log_call(customer_id, call, done=done, refused=refused)

        def closed(message_id: int | None) -> None:
            if message_id is not None:
                self.notice(_("Call logged"))

        self.app.push_screen(CallScreen(self.detail.row.name, save), closed)

    def action_help(self) -> None:
        from omnitui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self.omni.binding_rows()))

    # -- other agents: presence, drafts, collisions ------------------------------------

    def load_presence(self) -> None:
        """Read who is online (on every commit, and every couple of seconds: a TUI that
        died commits nothing, it only stops its heartbeat)."""
        if self._presence_on and self.is_mounted:
            self._read_presence()

    @work(thread=True, exclusive=True, group="presence-read", exit_on_error=False)
    def _read_presence(self) -> None:
        try:
            agents = self.omni.reader.agents_online()
        except Exception:
            log.exception("reading who is online failed")
            return
        self.post_message(self._Presence(agents))

    @on(_Presence)
    def _presence_read(self, message: _Presence) -> None:
        me = self.omni.settings.agent
        self._others = [a for a in message.agents if a.agent != me]
        viewers: dict[int, list[str]] = {}
        for other in self._others:
            if other.customer_id is not None:
                viewers.setdefault(other.customer_id, []).append(other.agent)
        self.customers.show_viewers(viewers)
        self.status_line.show_online([a.agent for a in self._others])
        self._show_agents_here()

    def _show_agents_here(self) -> None:
        """Who else has the open customer open, and who types to them."""
        customer = self.detail.row.id if self.detail is not None else None
        here = [a for a in self._others if customer is not None and a.customer_id == customer]
        self.query_one(PresenceLine).show_agents(
            [a.agent for a in here if not a.typing], [a.agent for a in here if a.typing]
        )

    def _customer_shown(self, detail: CustomerDetail | None) -> None:
        """The history shows another customer (or the same again): say so in the presence
        row, show who else is here, and look for a draft kept in the store for them."""
        customer = detail.row.id if detail is not None else None
        self.omni.set_viewing(customer)
        self._show_agents_here()
        if customer is not None and customer != self._draft_read_for:
            self._draft_read_for = customer
            self._read_draft(customer)
        elif customer is None:
            self._draft_read_for = None

    @work(thread=True, exclusive=True, group="draft-read", exit_on_error=False)
    def _read_draft(self, customer_id: int) -> None:
        try:
            draft = self.omni.reader.draft(self.omni.settings.agent, customer_id)
        except Exception:
            log.exception("reading the draft for customer %d failed", customer_id)
            return
        if draft is not None:
            self.post_message(self._DraftRead(draft))

    @on(_DraftRead)
    def _draft_read(self, message: _DraftRead) -> None:
        self.composer.restore_draft(message.draft)

    def on_composer_draft_changed(self, message: Composer.DraftChanged) -> None:
        self.omni.save_draft(
            message.customer_id,
            message.body,
            mode=message.mode,
            identity_id=message.identity_id,
            started_at=message.started_at,
        )

    def on_unmount(self) -> None:
        # A message posted now would never be handled: the app writes this one as it quits.
        composer = self._composer
        draft = composer.pending_draft() if composer is not None else None
        if draft is not None:
            self.on_composer_draft_changed(draft)

    def on_composer_submitted(self, message: Composer.Submitted) -> None:
        """Before a send goes: is anyone else writing to this customer, or did someone reply
        while this agent wrote? (A read in a worker; the draft stays whatever it finds.)"""
        started = self.composer.draft_started(message.customer_id)
        self._check_collision(message, started)

    @work(thread=True, group="collision", exit_on_error=False)
    def _check_collision(self, submitted: Composer.Submitted, started: datetime | None) -> None:
        try:
            collision = self.omni.reader.collision(
                submitted.customer_id, self.omni.settings.agent, started or datetime.now(UTC)
            )
        except Exception:  # a check that failed must not stop the reply
            log.exception("checking for other agents' replies failed")
            from omnitui.readrows import Collision

            collision = Collision()
        self.post_message(self._Checked(submitted, collision))

    @on(_Checked)
    def _collision_checked(self, message: _Checked) -> None:
        submitted, collision = message.submitted, message.collision
        customer = submitted.customer_id
        composer = self.composer
        if self.detail is None or self.detail.row.id != customer:
            composer.failed()  # the agent moved on meanwhile: nothing sent, draft kept
            return
        raced = collision.replied
        if raced is not None:
            author = one_line(raced.author, 40)
            if raced.direction == "out":
                held = (
                    _(
                        "{author} replied at {time} while you were writing — read it, "
                        "then send again"
                    )
                    if author
                    else _(
                        "someone replied at {time} while you were writing — read it, "
                        "then send again"
                    )
                )
            else:
                held = (
                    _(
                        "{author} added a note at {time} while you were writing — read it, "
                        "then send again"
                    )
                    if author
                    else _(
                        "someone added a note at {time} while you were writing — read it, "
                        "then send again"
                    )
                )
            at = local_time(raced.at, self.omni.clock(), self.omni.tz)
            composer.hold(held.format(author=author, time=at))
            composer.read_up_to(customer, raced.at)
            self._writing_warned[customer] = time.monotonic()
            self.timeline.refresh_from_store()
            return
        warned = self._writing_warned.pop(customer, None)
        recently = warned is not None and time.monotonic() - warned < SEND_ANYWAY_SECONDS
        if collision.writing and not recently:
            names = [one_line(name, 40) for name in collision.writing]
            held = ngettext(
                "{names} is writing to this customer too — send again to send anyway",
                "{names} are writing to this customer too — send again to send anyway",
                len(names),
            )
            composer.hold(held.format(names=listed(names)))
            self._writing_warned[customer] = time.monotonic()
            return
        self._queue_submitted(submitted)
