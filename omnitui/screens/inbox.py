"""The inbox: customers on the left, the selected customer's history and the composer
on the right, the status line above the footer.

The screen coordinates its widgets and asks the app for writes; reads run in the
widgets' thread workers over the app's Reader. Must not import the store or the
network (the app owns both).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from omnitui.reads import (
    VISITOR_TYPING_SECONDS,
    CustomerDetail,
    SearchHit,
    StoreStatus,
    TimelineItem,
    TypingRow,
)
from omnitui.text import one_line
from omnitui.widgets.attachments import AttachedFile
from omnitui.widgets.channels import channel_mark
from omnitui.widgets.composer import Composer
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.status_line import StatusLine
from omnitui.widgets.timeline import Timeline
from omnitui.widgets.typing import TypingLine

if TYPE_CHECKING:
    from omnitui.app import OmniApp

log = logging.getLogger(__name__)

AFTER_PAINT_AT_LATEST = 1.0
"""Seconds after which what waits for the first paint starts even if the list never drew."""

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
        Binding("r", "reply", "Reply", id="reply"),
        Binding("n", "note", "Note", id="note"),
        Binding("x", "resolve", "Resolve", id="resolve"),
        Binding("o", "reopen", "Reopen", id="reopen"),
        Binding("slash", "search", "Search", id="search"),
        Binding("v", "view", "View", id="view-message"),
        Binding("R,ctrl+r", "retry", "Retry", id="retry-reply"),
        Binding("c", "cycle_channel", "Channel", id="cycle-channel", show=False),
        Binding("u", "toggle_open_only", "Open only", id="toggle-open-only"),
        Binding("question_mark", "help", "Help", id="help"),
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

    def __init__(self) -> None:
        super().__init__()
        self.opened_id: int | None = None
        """The customer the agent opened (enter, search): its new messages count as read."""
        self.detail: CustomerDetail | None = None
        self._shown = False
        self._resumed = False
        self._footer_mounted = False

    @property
    def omni(self) -> OmniApp:
        return cast("OmniApp", self.app)

    def compose(self) -> ComposeResult:
        app = self.omni
        with Horizontal(id="panes"):
            first_page, app.first_page = app.first_page, None
            yield CustomerList(
                app.reader, clock=app.clock, tz=app.tz, first_page=first_page, id="customers"
            )
            with Vertical(id="conversation"):
                yield Static(id="customer-header")
                yield Timeline(app.reader, clock=app.clock, tz=app.tz, id="timeline")
                yield TypingLine(id="visitor-typing")
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
        self.customers.border_title = "Customers"
        self.timeline.border_title = "History"
        self.composer.border_title = "Composer"
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
        self.composer.mount_area()
        await self._mount_footer()

    async def _mount_footer(self) -> None:
        """Put the Footer in its placeholder's place."""
        if self._footer_mounted:
            return
        self._footer_mounted = True
        from textual.widgets import Footer

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

    def load_status(self) -> None:
        if self.is_mounted:
            self._read_status()

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

    def on_customer_list_opened(self, message: CustomerList.Opened) -> None:
        self.opened_id = message.row.id
        self.timeline.show_customer(message.row.id)
        if self.focused is self.customers:  # unless a key typed since moved the focus on
            self.set_focus(self.timeline)
        if message.row.unread:
            self.omni.mark_read(message.row.id)

    def on_customer_list_counted(self, message: CustomerList.Counted) -> None:
        self._title_customers()

    def _title_customers(self) -> None:
        customers = self.customers
        what = "Open customers" if customers.open_only else "Customers"
        customers.border_title = f"{what} · {customers.total:,}"

    def on_timeline_loaded(self, message: Timeline.Loaded) -> None:
        detail = message.detail
        self.detail = detail
        self.composer.set_detail(detail)
        self._show_header()
        self._check_typing()
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
            header.update(Text(" No customer selected", style="dim italic"))
            return
        row = detail.row
        line = Text(" ", end="")
        line.append(one_line(row.name, 80) or "(no name)", style="bold")
        for handle in dict.fromkeys(i.handle for i in detail.identities if i.handle):
            line.append(f" @{one_line(handle, 40)}")
        status = detail.conversation_status or "new"
        line.append("  ")
        line.append(f" {status} ", style=STATUS_STYLES.get(status, "bold") + " reverse")
        if row.unread:
            line.append(f"  {row.unread} unread", style="bold")
        for identity in detail.identities:
            line.append("  ")
            line.append_text(channel_mark(identity.channel))
            line.append(" ")
            line.append(one_line(identity.address, 60), style="dim")
        header.update(line)

    # -- the composer ---------------------------------------------------------------

    def on_composer_submitted(self, message: Composer.Submitted) -> None:
        composer = self.composer
        customer_id, body, files = message.customer_id, message.body, message.attachments
        said = "Note added"
        if message.mode == "reply":
            count = len(files)
            said = "Reply queued" + (
                f" with {count} file{'' if count == 1 else 's'}" if count else ""
            )
            identity = composer.identity
            if identity is not None and identity.unreachable_reason:
                said += " · the address could not be reached last time: R resends if it fails"

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

    def on_composer_left(self, message: Composer.Left) -> None:
        self.set_focus(self.timeline)

    def on_composer_typing(self, message: Composer.Typing) -> None:
        self.omni.set_presence(message.customer_id, message.typing)

    # -- actions -------------------------------------------------------------------------

    def _selected_customer(self) -> int | None:
        if self.detail is None:
            self.app.notify("Select a customer first.", severity="warning")
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
            self.app.notify("No file is attached to the reply.", severity="warning")
        else:
            self.notice(f"Removed {one_line(removed.name, 80)} from the reply")

    def action_resolve(self) -> None:
        self._set_status("resolved")

    def action_reopen(self) -> None:
        self._set_status("open")

    def _set_status(self, status: str) -> None:
        customer_id = self._selected_customer()
        if customer_id is None:
            return
        name = one_line(self.detail.row.name, 40) if self.detail else ""
        word = "Resolved" if status == "resolved" else "Reopened"
        self.omni.set_status(customer_id, status, done=lambda: self.notice(f"{word} {name}"))

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
            self.app.notify("Select a message in the history first (j/k).", severity="warning")
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
                "Select a failed or unconfirmed reply in the history (j/k) to send it again.",
                severity="warning",
            )
            return
        self.omni.retry_reply(item.id, done=lambda: self.notice("Reply queued again"))

    def action_cycle_channel(self) -> None:
        if self._selected_customer() is None:
            return
        self.composer.cycle_channel()
        identity = self.composer.identity
        if identity is not None:
            self.notice(
                f"Replies go to {one_line(identity.channel, 20)} {one_line(identity.address, 60)}"
            )

    def action_toggle_open_only(self) -> None:
        customers = self.customers
        customers.set_open_only(not customers.open_only)
        self._title_customers()
        self.notice("Showing open customers only" if customers.open_only else "Showing everyone")

    # -- the selected message: quotes, threading (bound on the timeline) -----------------

    def action_toggle_quotes(self) -> None:
        shown = self.timeline.toggle_quotes()
        self.notice(
            "Quoted text and signatures shown (z folds them)"
            if shown
            else "Quoted text and signatures folded (z shows them)"
        )

    def _selected_message(self, what: str) -> TimelineItem | None:
        item = self.timeline.selected_item
        if item is None or item.kind == "event" or self.detail is None:
            self.app.notify(
                f"Select a message in the history first (j/k) to {what}.", severity="warning"
            )
            return None
        return item

    def action_why_threaded(self) -> None:
        item = self._selected_message("see why it is in its conversation")
        if item is None:
            return
        reason = item.thread_reason or {
            "out": "a reply written in this conversation",
            "note": "a note added to this conversation",
        }.get(item.kind, "no reason was recorded")
        line = Text("Threaded: ", end="")
        line.append(one_line(reason, 200), style="bold")
        line.append(f" (message {item.id}, conversation #{item.conversation_id})")
        self.status_line.notice(line, timeout=12)

    def _refused(self, what: str) -> Callable[[str], None]:
        def show(error: str) -> None:
            self.status_line.notice(Text(f"{what} refused: {one_line(error, 200)}", "bold red"))

        return show

    def action_split_message(self) -> None:
        item = self._selected_message("split it into a new conversation")
        if item is None:
            return
        self.omni.move_message(
            item.id,
            None,
            done=lambda: self.notice(f"Message {item.id} split into a new conversation · U undoes"),
            refused=self._refused("Split"),
        )

    def action_move_message(self) -> None:
        item = self._selected_message("move it to another conversation")
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
                    f"Message {item.id} moved to conversation #{conversation_id} · U undoes"
                ),
                refused=self._refused("Move"),
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
            done=lambda: self.notice("Undid the last move or split"),
            refused=self._refused("Undo"),
        )

    def action_help(self) -> None:
        from omnitui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self.omni.binding_rows()))
