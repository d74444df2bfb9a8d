"""The Textual app: bindings and keymap, screens, change polling, and the store actions.

The first paint must not wait on the ORM, so this module imports neither
SQLAlchemy nor omnitui.db/inbox: the screens read with ``omnitui.reads.Reader``
(stdlib sqlite3) in thread workers, and the engine, the services and the runner
are loaded in a worker after the first paint. Other processes' commits are
found by polling ``PRAGMA data_version`` every quarter second. Logs go to
``settings.log_file``, never to the screen.

Nor does the first paint wait on what it does not show: the inbox calls
``after_first_paint`` once its list is on the screen, which starts the ORM and the
runner and turns the garbage collector back on (the CLI pauses it for the start);
the inbox then mounts the composer's text area and the Footer in place of look-alikes.

Keys read in one go (a slow link, a paste, a busy app) reach the widget that is focused
when their turn comes, as a terminal program reads them: Textual routes each key to the
widget focused when it takes it off the queue, but runs its binding only once it is back
up at the app, so the text typed right after r or n would go to the customer list and be
dropped. A key that comes back from a widget that has lost the focus since is routed
again; the keys read while such keys are still on their way wait for them
(``on_event``, ``on_key``, ``KeysPassed``).

Notifications of customers' new messages (config ``[notify]``, off by default) are
written here, through Textual's driver as Textual writes its own bell and OSC 52: the
app polls the store, so it reads what came after each commit (``_check_inbound``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

from textual import events, work
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widget import AwaitMount, Widget

from omnitui import formatting
from omnitui.bidi import RtlDisplay, rtl_wanted
from omnitui.i18n import _
from omnitui.reads import Reader
from omnitui.screens.inbox import InboxScreen
from omnitui.text import one_line
from omnitui.widgets.attachments import AttachedFile
from omnitui.widgets.commands import ActionCommands, Command
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.timeline import Timeline
from omnitui.widgets.times import Clock, utc_clock

if TYPE_CHECKING:
    from concurrent.futures import Future

    from sqlalchemy import Engine

    from omnitui.canned import CannedReply
    from omnitui.config import Settings
    from omnitui.kb import Entry as KbEntry
    from omnitui.notify import Notifier
    from omnitui.query import Context as QueryContext
    from omnitui.reads import CustomerPage, CustomerRow, MergePreview, NewInbound
    from omnitui.reports import Report, ReportFilter
    from omnitui.screens.call import LoggedCall
    from omnitui.screens.help import BindingRow
    from omnitui.screens.report import ReportChoices
    from omnitui.views import View

log = logging.getLogger(__name__)

_T = TypeVar("_T")

POLL_SECONDS = 0.25
"""Seconds between data_version polls: another process's commit shows within a second."""
STATUS_EVERY = 8
"""Polls between status line reads when nothing changed (a lease can expire silently)."""
PRESENCE_EVERY = 15.0
"""Seconds between the TUI's presence heartbeats (others count it online for 45 s)."""
NOTIFY_RECENT_SECONDS = 3600.0
"""A new message rings only when sent within this long: an import or a first sync of a
mailbox stores old mail, which is no news."""
KEYS_WAIT_AT_MOST = 2.0
"""Seconds the keys read after a focus change wait at most for the ones read before it (a
lost ``KeysPassed``: the widget that had the focus was removed). Long enough for a busy
widget under load (a garbage collection of a large heap took CI past 0.5 s, and the keys
came out of order), short enough that a lost marker only delays typing."""


class KeysPassed(Message):
    """Sent up the way of the keys routed to a widget before a key's binding moved the focus
    away from it: when it reaches the app, they all have."""


class Closeable(Protocol):
    def close(self) -> None: ...


@runtime_checkable
class FollowsStore(Protocol):
    """A screen the poll tells of another connection's commit (the inbox, the report)."""

    def store_changed(self) -> None: ...


Write = Callable[["Engine"], object]


class InboxCommands(ActionCommands):
    """Every inbox action in the command palette (ctrl+p)."""

    def commands(self) -> Sequence[Command]:
        return [
            (_("Reply"), _("Write a reply to the selected customer"), "reply"),
            (_("Note"), _("Write an internal note (never sent)"), "note"),
            (_("Resolve"), _("Resolve the customer's conversation"), "resolve"),
            (_("Reopen"), _("Reopen the customer's conversation"), "reopen"),
            (_("Search"), _("Search customers and messages"), "search"),
            (_("Retry reply"), _("Send the selected failed or unconfirmed reply again"), "retry"),
            (_("View message"), _("Read the whole selected message"), "view"),
            (_("Reply channel"), _("Reply on the customer's next address"), "cycle_channel"),
            (
                _("Attach file"),
                _("Attach a file to the reply (ctrl+t in the composer)"),
                "attach_file",
            ),
            (
                _("Remove attached file"),
                _("Take the last attached file off the reply"),
                "detach_file",
            ),
            (
                _("View: Open and back"),
                _("Show the Open view, or the view before it"),
                "toggle_open_only",
            ),
            (_("Next view"), _("Show the next view of the customer list"), "next_view"),
            (_("Previous view"), _("Show the previous view of the customer list"), "previous_view"),
            (
                _("Quoted text"),
                _("Show or fold the quoted history and signatures"),
                "toggle_quotes",
            ),
            (
                _("Why threaded"),
                _("Why the selected message is in its conversation"),
                "why_threaded",
            ),
            (
                _("Split message"),
                _("Split the selected message into a new conversation"),
                "split_message",
            ),
            (
                _("Move message"),
                _("Move the selected message to another conversation"),
                "move_message",
            ),
            (_("Undo move"), _("Undo the customer's last move or split of a message"), "undo_move"),
            (
                _("Assign to me"),
                _("Take the conversation, or give it back if it is yours"),
                "assign_me",
            ),
            (_("Assign to…"), _("Give the conversation to another agent (or nobody)"), "assign"),
            (_("Unassign"), _("Give the conversation to nobody"), "unassign"),
            (_("Pending"), _("Set the conversation pending (waiting on the customer)"), "pending"),
            (
                _("Snooze"),
                _("Put the conversation away until a time (2h, tomorrow 9:00, mon)"),
                "snooze",
            ),
            (_("Tags"), _("Add or remove the conversation's tags"), "tags"),
            (
                _("Mark spam and block"),
                _("Block the sender, resolve and tag spam (or unblock)"),
                "spam",
            ),
            (_("Next unread"), _("Open the next customer with unread messages"), "next_unread"),
            (_("Customer"), _("Name, notes, addresses and merges of the customer (i)"), "customer"),
            (_("Log a call"), _("Log a phone call with the customer (C)"), "log_call"),
            (
                _("Canned replies"),
                _("Add, edit and delete canned replies (:: in the composer inserts one)"),
                "app.canned_replies",
            ),
            (
                _("Knowledge base"),
                _("The questions and answers the FAQ bot answers customers with (K)"),
                "app.knowledge_base",
            ),
            (
                _("Report"),
                _("Insights of a period: volume, response times, backlog, agents (I)"),
                "report",
            ),
            (_("Help"), _("Every key and what it does"), "help"),
            (_("Quit"), _("Leave omnitui"), "app.quit"),
        ]

    def run(self, action: str) -> None:
        app = self.app
        target = app.inbox if isinstance(app, OmniApp) else app.screen
        app.call_next(app.run_action, action, target)


class ViewCommands(InboxCommands):
    """Every view of the customer list in the command palette ("View: Mine"), with the
    query it stands for."""

    def commands(self) -> Sequence[Command]:
        from rich.markup import escape

        app = self.app
        if not isinstance(app, OmniApp):
            return ()
        found: list[Command] = []
        for view in app.inbox.views:
            # Saved views' titles come from the config: the palette reads markup.
            title = escape(one_line(view.shown_title, 40))
            what = view.shown_description or view.query
            if view.query and view.query not in what:
                what = f"{what} ({view.query})"
            found.append(
                (
                    _("View: {title}").format(title=title),
                    escape(one_line(what, 120)),
                    f"show_view({view.id!r})",
                )
            )
        return found


class ListReads:
    """The customer list's reads (widgets/customer_list.CustomerSource) through the app's
    Reader, in this agent's terms: a view's ``assignee:me`` is the agent, its days are
    in the agent's zone, its ages count from the app's clock."""

    def __init__(self, reader: Reader, agent: str, tz: tzinfo, clock: Clock) -> None:
        self.reader = reader
        self.agent = agent
        self.tz = tz
        self.clock = clock

    def context(self) -> QueryContext:
        from omnitui.query import Context

        return Context(self.agent, self.tz, self.clock())

    def _context(self, view: View | None) -> QueryContext | None:
        return None if view is None or view.lists_everyone else self.context()

    def customer_count(self, *, view: View | None = None) -> int:
        return self.reader.customer_count(view=view, context=self._context(view))

    def customers(
        self, offset: int, limit: int, *, view: View | None = None, total: int | None = None
    ) -> list[CustomerRow]:
        return self.reader.customers(
            offset, limit, view=view, context=self._context(view), total=total
        )

    def customer_position(self, customer_id: int, *, view: View | None = None) -> int | None:
        return self.reader.customer_position(customer_id, view=view, context=self._context(view))

    def customer_ids(self, *, view: View | None = None, limit: int) -> list[int]:
        return self.reader.customer_ids(view=view, context=self._context(view), limit=limit)


class OmniApp(App[int]):
    """The inbox console. ``clock`` is injectable so tests and snapshots are deterministic."""

    TITLE = "omnitui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {InboxCommands, ViewCommands}
    # The inbox is the default screen and its CSS the app's: read with Textual's default
    # CSS, parsed once. (As the screen's CSS_PATH, or with the inbox as a MODES screen,
    # Textual would parse all the CSS again, twice, before the first paint.)
    CSS_PATH = "screens/inbox.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", _("Quit"), id="quit"),
        Binding("ctrl+q", "quit", _("Quit now"), id="quit-now", show=False, priority=True),
        Binding(
            "ctrl+p",
            "command_palette",
            _("Commands"),
            id="command-palette",
            show=False,
            priority=True,
        ),
    ]

    def __init__(
        self,
        settings: Settings,
        start_runner: Callable[[], Closeable] | None = None,
        *,
        clock: Clock | None = None,
        tz: tzinfo | None = None,
        first_page: Future[CustomerPage] | None = None,
    ) -> None:
        super().__init__()
        self.first_page = first_page
        """The top of the customer list when it was read ahead (taken by the list once)."""
        self.settings = settings
        self.reader = Reader(settings.store_url)
        self.clock: Clock = clock or utc_clock
        self.tz: tzinfo = tz or settings.timezone
        self.keymap: dict[str, str] = settings.keys
        setting, shape = settings.display
        self.rtl = RtlDisplay(on=rtl_wanted(setting), shape=shape)
        """How RTL text is drawn ([display] rtl and shape; D toggles ``on``)."""
        self._start_runner = start_runner
        self._runner: Closeable | None = None
        self._runner_lock = threading.Lock()
        self._closing = False
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._data_version: int | None = None
        self._outage: str | None = None
        """Why the store is unreachable, while it is (shown on the status line)."""
        self._polls = 0
        self._log_handler: logging.Handler | None = None
        self._warmed_up = False
        self._presence_lock = threading.Lock()
        self._presence_wanted: dict[object, Write] = {}
        """Presence and draft writes still to be made, oldest first, one a key ("typing",
        "presence", ("draft", customer id)): a newer one replaces the one it supersedes."""
        self._presence_writing = False
        self._presence_write_lock = threading.Lock()
        """Held while one of those writes runs (the last ones, at quit, wait for it)."""
        self._presence_started = False
        """Whether the heartbeat runs (from the first paint on): the TUI is online."""
        self._viewing: int | None = None
        """The customer the agent has open, as the presence row says it."""
        self.list_reads = ListReads(self.reader, settings.agent, self.tz, self.clock)
        """What the customer list reads through: views in this agent's terms."""
        self._notifier: Notifier | None = None
        """Set after the first paint when [notify] rings for anything."""
        self._notify_after = 0
        """The newest message id already looked at for notifications."""
        self._routed: weakref.WeakKeyDictionary[events.Event, Widget] = weakref.WeakKeyDictionary()
        """Where each key and paste was routed (the widget focused, else the screen)."""
        self._held: list[events.Event] | None = None
        """Keys and pastes read since a key moved the focus, waiting for the ones routed
        before it (None: nothing waits)."""
        self._passed: KeysPassed | None = None
        """The marker they wait for."""

    # -- lifecycle ----------------------------------------------------------------

    @property
    def inbox(self) -> InboxScreen:
        """The inbox, the screen under every other one."""
        for screen in self.screen_stack:
            if isinstance(screen, InboxScreen):
                return screen
        raise LookupError("the inbox is not open")

    def on_load(self) -> None:
        self._log_handler = _log_to_file(self.settings)

    def get_default_screen(self) -> Screen[Any]:
        return InboxScreen()

    async def on_mount(self) -> None:
        # Ready (run_test, auto-pilots) once the inbox has mounted, as a MODES screen is.
        await AwaitMount(self.screen, [self.screen])
        self.set_keymap(self.keymap)
        self.set_interval(POLL_SECONDS, self.poll_store)
        log.info("omnitui started for agent %s on %s", self.settings.agent, self.reader.path)

    def after_first_paint(self) -> None:
        """Start what the first paint must not wait for (the inbox calls this once its list
        is on the screen, or a second after it mounted)."""
        if self._warmed_up:
            return
        self._warmed_up = True
        self._start_presence()
        if not gc.isenabled():  # paused by the CLI until now (omnitui.cli._pause_gc)
            # What the start built lives as long as the app: never scan it again. (This
            # keeps the little garbage the start made, about 0.6 MB, for good.)
            gc.freeze()
            gc.enable()
        self._warm_up()
        self._load_formats()
        self._start_notify()

    @work(thread=True, group="formats", exit_on_error=False)
    def _load_formats(self) -> None:
        """Babel and the language's CLDR data (az, tr, fa), for the dates shown next."""
        formatting.warm_up()

    @work(thread=True, group="warm-up", exit_on_error=False)
    def _warm_up(self) -> None:
        """Load the ORM and start the runner, both off the path to the first paint."""
        try:
            self.engine()
        except Exception:
            log.exception("opening the store for writing failed")
            self._from_thread(
                self.notify,
                _("Cannot open the store for writing; see the log."),
                severity="error",
                markup=False,
            )
        if self._start_runner is None:
            return
        try:
            runner = self._start_runner()
        except Exception as exc:
            log.exception("starting the runner failed")
            self._from_thread(
                self.notify,
                _("The runner did not start: {error}").format(error=exc),
                severity="error",
                markup=False,
            )
            return
        with self._runner_lock:
            keep = not self._closing
            if keep:
                self._runner = runner
        if not keep:  # the app quit while the runner was starting
            runner.close()
        self._from_thread(self.poll_store)

    # -- keys read ahead of a focus change (see the module's docstring) -------------

    def _focus_target(self) -> Widget:
        """Where a key read now goes: the focused widget, else the screen."""
        return self.focused or self.screen

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if self._held is not None:
                self._held.append(event)
                return
            self._routed[event] = self._focus_target()
        await super().on_event(event)

    async def on_key(self, event: events.Key) -> None:
        # Back up at the app, before App._on_key runs the key's binding.
        if await self._route_again(event, events.Key(event.key, event.character)):
            return
        self.call_next(self._hold_after_focus_change, self._focus_target())

    async def on_paste(self, event: events.Paste) -> None:
        await self._route_again(event, events.Paste(event.text))

    async def _route_again(self, event: events.Event, again: events.Event) -> bool:
        """Route ``again`` (a copy of ``event``) as if just read, when ``event`` went to a
        widget that has lost the focus since: none of its bindings or handlers took it."""
        routed = self._routed.pop(event, None)
        if routed is None or routed is self._focus_target():
            return False
        event.prevent_default()
        await super().on_event(again)
        return True

    def _hold_after_focus_change(self, before: Widget) -> None:
        """After a key's binding: if it moved the focus on the screen, the keys read with it
        may still be on their way up from ``before``; the ones read from now on wait until
        a marker sent up the same way behind them arrives."""
        try:
            now = self._focus_target()
        except ScreenStackError:  # the app is closing
            return
        if now is before or not before.is_attached or before.screen is not now.screen:
            return
        passed = KeysPassed()
        if not before.post_message(passed):
            return
        self._passed = passed
        if self._held is None:
            self._held = []
        self.set_timer(KEYS_WAIT_AT_MOST, lambda: self._release_keys(passed))

    async def on_keys_passed(self, message: KeysPassed) -> None:
        await self._release_keys(message)

    async def _release_keys(self, passed: KeysPassed) -> None:
        """Route the keys held for ``passed``, in the order read."""
        if passed is not self._passed:
            return
        held, self._held, self._passed = self._held or [], None, None
        for event in held:
            await self.on_event(event)

    # -- notifications of new messages ([notify]) -----------------------------------

    @work(thread=True, group="notify", exit_on_error=False)
    def _start_notify(self) -> None:
        """Read ``[notify]`` (the config's models load after the first paint) and, when it
        rings for anything, note the newest message: only what comes after it rings."""
        from omnitui.notify import Notifier, NotifySettings

        try:
            chosen = self.settings.config.notify
            settings = NotifySettings(
                chosen.bell, chosen.desktop, chosen.mine_only, chosen.quiet_seconds
            )
            if not settings.on:
                return
            newest = self.reader.newest_message_id()
        except Exception:
            log.exception("starting notifications failed")
            return
        self._from_thread(self._notify_from, Notifier(settings, self.settings.agent), newest)

    def _notify_from(self, notifier: Notifier, newest: int) -> None:
        self._notify_after = max(self._notify_after, newest)
        self._notifier = notifier

    def _check_inbound(self) -> None:
        if self._notifier is not None:
            self._read_inbound(self._notify_after)

    @work(thread=True, exclusive=True, group="notify-read", exit_on_error=False)
    def _read_inbound(self, after: int) -> None:
        try:
            recent = self.clock() - timedelta(seconds=NOTIFY_RECENT_SECONDS)
            newest, found = self.reader.inbound_after(after, sent_after=recent)
        except Exception:
            log.exception("reading new messages for notifications failed")
            return
        self._from_thread(self._notify_inbound, after, newest, found)

    def _notify_inbound(self, after: int, newest: int, found: list[NewInbound]) -> None:
        notifier = self._notifier
        if notifier is None or after < self._notify_after:
            return  # a read that started before a newer one finished
        self._notify_after = max(self._notify_after, newest)
        reading = None
        if self.app_focus:  # the agent sees the history of the customer it shows
            try:
                detail = self.inbox.detail
            except LookupError:
                detail = None
            reading = detail.row.id if detail is not None else None
        sequence = notifier.sequences(found, now=time.monotonic(), reading=reading)
        if sequence:
            self.write_to_terminal(sequence)

    def write_to_terminal(self, data: str) -> None:
        """Write escape sequences to the agent's terminal as Textual writes its own (the bell,
        OSC 52): through the driver, whose writer keeps them whole between frames. Textual has
        no public call for this; ``App.bell`` and ``App.copy_to_clipboard`` do the same."""
        driver = self._driver
        if driver is not None:
            driver.write(data)
            driver.flush()

    def on_unmount(self) -> None:
        self.leave_presence()
        self.close_runner()
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    def close_runner(self) -> None:
        """Stop the runner this process started (idempotent)."""
        with self._runner_lock:
            self._closing = True
            runner, self._runner = self._runner, None
        if runner is not None:
            try:
                runner.close()
            except Exception:
                log.exception("stopping the runner failed")
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def _from_thread(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """call_from_thread, quietly doing nothing once the app has stopped."""
        try:
            self.call_from_thread(callback, *args, **kwargs)
        except RuntimeError:
            log.debug("app stopped before %r could run", callback)

    # -- reading ------------------------------------------------------------------

    def poll_store(self) -> None:
        """Reload what is shown when another connection has committed (3 µs when nothing did)."""
        if not self.is_running:  # closing: the screens are being taken down
            return
        try:
            version = self.reader.data_version()
        except Exception as exc:
            if self._outage is None:
                log.warning("the store is unreachable: %s", exc)
            self.show_outage(str(exc).strip() or type(exc).__name__)
            return
        if self._outage is not None:
            log.warning("the store is reachable again")
            self.show_outage(None)
        self._polls += 1
        try:
            inbox = self.inbox
        except LookupError:
            return
        if version != self._data_version:
            self._data_version = version
            inbox.store_changed()
            for screen in self.screen_stack:
                if screen is not inbox and isinstance(screen, FollowsStore):
                    screen.store_changed()
            self._check_inbound()
        elif self._polls % STATUS_EVERY == 0:
            inbox.load_status()

    def show_outage(self, error: str | None) -> None:
        """The store went away (``error``) or came back (None): on the status line."""
        self._outage = error
        with contextlib.suppress(LookupError):
            self.inbox.status_line.show_outage(error)

    def _outage_from_thread(self, exc: BaseException | None) -> None:
        """db.retry_on_disconnect's report, from a writing thread."""
        self._from_thread(self.show_outage, None if exc is None else str(exc).strip()[:200])

    def is_own_holder(self, holder: str) -> bool:
        """Whether a runner lease holder ("host:pid:nonce") is the runner inside this process."""
        runner = getattr(self._runner, "runner", self._runner)
        own = getattr(runner, "holder", None)
        if isinstance(own, str) and own:
            return holder == own
        host, _sep, rest = holder.partition(":")
        return host == socket.gethostname() and rest.split(":", 1)[0] == str(os.getpid())

    def now(self) -> datetime:
        return self.clock()

    # -- writing (each in a thread worker: a SQLite lock may be held for seconds) --

    def engine(self) -> Engine:
        """The one SQLAlchemy engine, created on first use (imports the ORM)."""
        with self._engine_lock:
            if self._engine is None:
                from omnitui import db

                self._engine = db.make_engine(self.settings.store_url)
            return self._engine

    def queue_reply(
        self,
        customer_id: int,
        body: str,
        identity_id: int | None,
        *,
        attachments: Sequence[Path] = (),
        done: Callable[[], None] | None = None,
        failed: Callable[[], None] | None = None,
    ) -> None:
        """Queue a reply; ``attachments`` go with it (their bytes into the blob store)."""
        agent = self.settings.agent
        files = tuple(attachments)
        attachment_dir = self.settings.data_dir / "attachments"

        key: list[str] = []  # one key for every attempt: a retried reply is queued once

        def write(engine: Engine) -> None:
            from omnitui import inbox
            from omnitui.blobs import BlobStore

            if not key:
                key.append(inbox.new_idempotency_key())
            inbox.queue_reply(
                engine,
                customer_id,
                body,
                agent=agent,
                identity_id=identity_id,
                attachments=files,
                blobs=BlobStore(attachment_dir) if files else None,
                idempotency_key=key[0],
            )

        self._write("Reply", write, done, failed)

    def check_attachment(self, path: Path) -> AttachedFile:
        """A file looked at as ``inbox.queue_reply`` will look at it (same rule, same words);
        ValueError says why it cannot go. Blocking: call it from a thread."""
        from omnitui import inbox

        try:
            # The service's own check (no public name for it yet): one rule, one wording.
            (file,) = inbox.check_outgoing_files([path], inbox.MAX_OUTGOING_FILE)
        except inbox.ServiceError as exc:
            raise ValueError(str(exc)) from None
        return AttachedFile(file.path, file.filename, file.size)

    def add_note(
        self,
        customer_id: int,
        body: str,
        *,
        done: Callable[[], None] | None = None,
        failed: Callable[[], None] | None = None,
    ) -> None:
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.add_note(engine, customer_id, body, agent=agent)

        self._write("Note", write, done, failed)

    def set_status(
        self, customer_id: int, status: str, *, done: Callable[[], None] | None = None
    ) -> None:
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            surveys = self.settings.config.survey_policy()
            inbox.set_status(engine, customer_id, status, agent=agent, surveys=surveys)

        self._write(status.capitalize(), write, done, None)

    def mark_read(self, customer_id: int) -> None:
        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.mark_read(engine, customer_id)

        self._write("Mark read", write, None, None)

    def retry_reply(self, message_id: int, *, done: Callable[[], None] | None = None) -> None:
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.retry_reply(engine, message_id, agent=agent)

        self._write("Retry", write, done, None)

    def move_message(
        self,
        message_id: int,
        to_conversation: int | None,
        *,
        done: Callable[[], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """Move a message to another conversation of its customer, or (None) split it off."""
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.move_message(engine, message_id, to_conversation, agent=agent)

        self._write("Split" if to_conversation is None else "Move", write, done, None, refused)

    def undo_move(
        self,
        customer_id: int,
        *,
        done: Callable[[], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """Take back the customer's newest move or split of a message."""
        agent = self.settings.agent
        reader = self.reader

        def write(engine: Engine) -> None:
            from omnitui import inbox

            event_id = reader.last_move_event(customer_id)
            if event_id is None:
                raise inbox.ServiceError(_("no message of this customer was moved or split"))
            inbox.undo_move(engine, event_id, agent=agent)

        self._write("Undo", write, done, None, refused)

    def set_presence(self, customer_id: int, typing: bool) -> None:
        """Record whether the agent is typing a reply to ``customer_id`` (the web chat tells
        the visitor; other agents' TUIs show it). One writer drains these in order, the newest
        wins: a stop is never overtaken by the start before it, and a slow store never piles
        writes up."""
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.set_presence(engine, agent, customer_id, typing)

        self._want_presence("typing", write)

    # -- presence and drafts (one ordered writer; see docs/architecture.md) -------------

    def set_viewing(self, customer_id: int | None) -> None:
        """The agent has ``customer_id`` open now (None: nobody): written at once when it
        changed, else with the next heartbeat."""
        if customer_id == self._viewing:
            return
        self._viewing = customer_id
        if self._presence_started:
            self._heartbeat()

    def _start_presence(self) -> None:
        """Online from the first paint on (not before: the write loads the ORM)."""
        if self._presence_started:
            return
        self._presence_started = True
        self._heartbeat()
        self.set_interval(PRESENCE_EVERY, self._heartbeat)

    def _heartbeat(self) -> None:
        agent, customer_id = self.settings.agent, self._viewing

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.presence_heartbeat(engine, agent, customer_id)

        self._want_presence("presence", write)

    def save_draft(
        self,
        customer_id: int,
        body: str,
        *,
        mode: str,
        identity_id: int | None,
        started_at: datetime,
    ) -> None:
        """Keep the agent's draft for the customer in the store (an empty body deletes it);
        written in order with the presence, the newest save of a customer's draft wins."""
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.save_draft(
                engine,
                agent,
                customer_id,
                body,
                mode=mode,
                identity_id=identity_id,
                started_at=started_at,
            )

        self._want_presence(("draft", customer_id), write)

    def _want_presence(self, key: object, write: Write) -> None:
        with self._presence_lock:
            self._presence_wanted.pop(key, None)  # to the end: after what it comes after
            self._presence_wanted[key] = write
            if self._presence_writing or not self.is_running:  # closing: leave_presence writes
                return
            self._presence_writing = True
        self._write_presence()

    @work(thread=True, group="presence", exit_on_error=False)
    def _write_presence(self) -> None:
        while True:
            with self._presence_lock:
                if not self._presence_wanted:
                    self._presence_writing = False
                    return
                key = next(iter(self._presence_wanted))
                write = self._presence_wanted.pop(key)
            try:
                with self._presence_write_lock:
                    write(self.engine())
            except Exception:  # a nicety, not worth a toast on every keystroke
                log.exception("writing the agent's presence or draft (%s) failed", key)

    def leave_presence(self) -> None:
        """At a clean quit: make the writes still waiting (the last draft saves), then say the
        agent is gone. Blocking (the app is closing); nothing when it was never online."""
        if not self._presence_started:
            return
        self._presence_started = False
        with self._presence_lock:
            wanted = list(self._presence_wanted.values())
            self._presence_wanted.clear()
        agent = self.settings.agent
        try:
            from omnitui import inbox

            engine = self.engine()
            with self._presence_write_lock:
                for write in wanted:
                    try:
                        write(engine)
                    except Exception:
                        log.exception("a last presence or draft write failed")
                inbox.leave_presence(engine, agent)
        except Exception:
            log.exception("clearing the agent's presence failed")

    @work(thread=True, group="store-writes", exit_on_error=False)
    def _write(
        self,
        what: str,
        write: Write,
        done: Callable[[], None] | None,
        failed: Callable[[], None] | None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """Run ``write`` off the screen; a refusal (ServiceError) goes to ``refused`` when
        given (the caller shows it as a notice), anything else to a toast. While the store
        is unreachable the write waits and is tried again (db.retry_on_disconnect), the
        outage on the status line."""
        from omnitui import db

        try:
            db.retry_on_disconnect(lambda: write(self.engine()), outage=self._outage_from_thread)
        except Exception as exc:
            from omnitui.inbox import ServiceError

            if isinstance(exc, ServiceError):
                log.info("%s refused: %s", what, exc)
                error = str(exc)
                if refused is not None:
                    self._from_thread(refused, error)
                    return
            else:
                log.exception("%s failed", what)
                error = f"{type(exc).__name__}: {exc}"
            self._from_thread(self._write_failed, what, error, failed)
            return
        if done is not None:
            self._from_thread(done)
        self._from_thread(self.poll_store)

    def _write_failed(self, what: str, error: str, failed: Callable[[], None] | None) -> None:
        # The error may quote customer text: never markup.
        self.notify(error, title=_failed(what), severity="error", markup=False, timeout=8)
        if failed is not None:
            failed()

    # -- team workflow (assign, status, snooze, tags, spam; each a worker like the rest) --

    def assign(
        self,
        conversation_id: int,
        assignee: str | None,
        *,
        done: Callable[[], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """Give the conversation to ``assignee`` (None: to nobody)."""
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.assign(engine, conversation_id, assignee, agent=agent)

        self._write("Assign", write, done, None, refused)

    def set_conversation_status(
        self,
        conversation_id: int,
        status: str,
        *,
        done: Callable[[], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            surveys = self.settings.config.survey_policy()
            inbox.set_conversation_status(
                engine, conversation_id, status, agent=agent, surveys=surveys
            )

        self._write(status.capitalize(), write, done, None, refused)

    def snooze(
        self,
        conversation_id: int,
        until: datetime,
        *,
        done: Callable[[], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """Snooze until ``until``; "in the past" is judged by this app's clock, the one the
        agent's words were read against."""
        agent = self.settings.agent
        now = self.now()

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.snooze(engine, conversation_id, until, agent=agent, now=now)

        self._write("Snooze", write, done, None, refused)

    def change_tags(
        self,
        conversation_id: int,
        add: Sequence[str],
        remove: Sequence[str],
        *,
        done: Callable[[], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        agent = self.settings.agent
        settings = self.settings

        def write(engine: Engine) -> None:
            from omnitui import inbox, sla

            inbox.change_tags(engine, conversation_id, add=add, remove=remove, agent=agent)
            policies = sla.from_config(settings.config)
            if policies is not None:  # its SLA targets now, not at the runner's next round
                inbox.apply_sla(engine, policies)

        self._write("Tags", write, done, None, refused)

    def mark_spam(
        self,
        conversation_id: int,
        *,
        done: Callable[[], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """Block the conversation's sender, resolve it and tag it spam (one transaction)."""
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.mark_spam(engine, conversation_id, agent=agent)

        self._write("Spam", write, done, None, refused)

    def unblock(
        self,
        identity_ids: Sequence[int],
        *,
        done: Callable[[], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        agent = self.settings.agent
        ids = tuple(identity_ids)

        def write(engine: Engine) -> None:
            from omnitui import inbox

            for identity_id in ids:
                inbox.unblock_identity(engine, identity_id, agent=agent)

        self._write("Unblock", write, done, None, refused)

    def bulk_apply(
        self,
        action: str,
        *,
        conversations: Sequence[int] = (),
        customers: Sequence[int] = (),
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        done: Callable[[int, int], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """One action on many conversations in one transaction (``inbox.bulk_apply``);
        ``done`` gets how many conversations it was applied to and how many changed."""
        agent = self.settings.agent
        batch = (tuple(conversations), tuple(customers), tuple(add), tuple(remove))
        result: list[tuple[int, int]] = []

        def write(engine: Engine) -> None:
            from omnitui import inbox

            found = inbox.bulk_apply(
                engine,
                action,
                conversations=batch[0],
                customers=batch[1],
                add=batch[2],
                remove=batch[3],
                agent=agent,
                surveys=self.settings.config.survey_policy(),
            )
            result.append((found.conversations, found.changed))

        def finished() -> None:
            if done is not None and result:
                done(*result[0])

        self._write("Bulk action", write, finished, None, refused)

    # -- canned replies (the editor; :: in the composer picks one) ----------------------

    def action_canned_replies(self) -> None:
        from omnitui.screens.canned import CannedScreen

        self.push_screen(CannedScreen(self.reader, self.save_canned, self.delete_canned))

    def save_canned(
        self,
        canned_id: int | None,
        reply: CannedReply,
        *,
        done: Callable[[], None],
        refused: Callable[[str], None],
    ) -> None:
        """Add a canned reply (``canned_id`` None) or change one; a refusal (a shortcut
        taken) goes to ``refused``."""
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            if canned_id is None:
                inbox.create_canned(engine, reply, agent=agent)
            else:
                inbox.update_canned(engine, canned_id, reply, agent=agent)

        self._write("Save canned reply", write, done, None, refused)

    def delete_canned(
        self, canned_id: int, *, done: Callable[[], None], refused: Callable[[str], None]
    ) -> None:
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.delete_canned(engine, canned_id, agent=agent)

        self._write("Delete canned reply", write, done, None, refused)

    # -- the knowledge base (the FAQ bot's; K) -------------------------------------------

    def action_knowledge_base(self) -> None:
        from omnitui.screens.kb import KbScreen

        self.push_screen(KbScreen(self.reader, self.save_kb, self.delete_kb))

    def save_kb(
        self,
        entry_id: int | None,
        entry: KbEntry,
        *,
        done: Callable[[], None],
        refused: Callable[[str], None],
    ) -> None:
        """Add a knowledge base entry (``entry_id`` None) or change one; a refusal (a slug
        taken) goes to ``refused``."""
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import bot

            if entry_id is None:
                bot.create_kb_entry(engine, entry, agent=agent)
            else:
                bot.update_kb_entry(engine, entry_id, entry, agent=agent)

        self._write("Save knowledge base entry", write, done, None, refused)

    def delete_kb(
        self, entry_id: int, *, done: Callable[[], None], refused: Callable[[str], None]
    ) -> None:
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import bot

            bot.delete_kb_entry(engine, entry_id, agent=agent)

        self._write("Delete knowledge base entry", write, done, None, refused)

    def log_call(
        self,
        customer_id: int,
        call: LoggedCall,
        *,
        done: Callable[[int], None],
        refused: Callable[[str], None],
    ) -> None:
        """Log a phone call on the customer (screens/call.py); ``done`` gets its message id."""
        agent = self.settings.agent
        # One call id for every attempt: a write retried after a lost commit logs it once.
        call_id = f"omnitui-{os.urandom(16).hex()}"

        def write(engine: Engine) -> int:
            from omnitui import inbox

            return inbox.log_call(
                engine,
                customer_id,
                direction=call.direction,
                duration_seconds=call.duration_seconds,
                outcome=call.outcome,
                notes=call.notes,
                agent=agent,
                at=self.now(),
                external_id=call_id,
            )

        self._write_for("Call", write, done, refused)

    # -- reports (I in the inbox: screens/report.py) -------------------------------------

    @work(thread=True, group="report-choices", exit_on_error=False)
    def report_choices(self, done: Callable[[ReportChoices], None]) -> None:
        """What the report screen's filters offer: the tags and agents the store knows, and
        whether the config has ``[business_hours]`` (its models load here, off the UI)."""
        from omnitui.hours import from_config
        from omnitui.screens.report import ReportChoices

        try:
            tags, agents = tuple(self.reader.tags()), tuple(self.reader.agents())
            hours = from_config(self.settings.config) is not None
        except Exception:
            log.exception("reading the report's filters failed")
            tags, agents, hours = (), (), False
        self._from_thread(done, ReportChoices(tags, agents, hours))

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def compute_report(
        self,
        flt: ReportFilter,
        done: Callable[[Report], None],
        failed: Callable[[str], None],
    ) -> None:
        """``reports.compute`` for ``flt`` in the agent's zone, by the app's clock (what
        ``omnitui report`` prints for the same days and filters); a newer one supersedes it."""
        from textual.worker import get_current_worker

        from omnitui import reports
        from omnitui.hours import from_config

        try:
            hours = from_config(self.settings.config) if flt.business_hours else None
            found = reports.compute(self.reader, flt, zone=self.tz, now=self.clock(), hours=hours)
        except reports.ReportError as exc:
            self._from_thread(failed, str(exc))
            return
        except Exception as exc:
            log.exception("computing the report failed")
            self._from_thread(failed, f"{type(exc).__name__}: {exc}")
            return
        if not get_current_worker().is_cancelled:
            self._from_thread(done, found)

    # -- customers (the customer screen: name, notes, addresses, merges) -----------------

    def rename_customer(
        self,
        customer_id: int,
        name: str,
        was: str,
        *,
        done: Callable[[], None],
        refused: Callable[[str], None],
    ) -> None:
        """Rename the customer; refused when the name is no longer ``was`` (saved by someone
        else since the screen read it)."""
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.rename_customer(engine, customer_id, name, agent=agent, was=was)

        self._write("Rename", write, done, None, refused)

    def set_customer_notes(
        self,
        customer_id: int,
        notes: str,
        was: str,
        *,
        done: Callable[[], None],
        refused: Callable[[str], None],
    ) -> None:
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.set_customer_notes(engine, customer_id, notes, agent=agent, was=was)

        self._write("Notes", write, done, None, refused)

    def link_identity(
        self,
        customer_id: int,
        channel: str,
        address: str,
        account: str | None,
        *,
        done: Callable[[], None],
        refused: Callable[[str], None],
    ) -> None:
        """Link an address to the customer. ``account``: the account replies to it go from
        (None: the first one configured for the channel, else none)."""
        agent, settings = self.settings.agent, self.settings

        def write(engine: Engine) -> None:
            from omnitui import inbox

            chosen = account
            if chosen is None:  # the config is read here, in the worker, not on the UI thread
                accounts = getattr(settings.config, channel, None)
                chosen = next(iter(accounts), "") if isinstance(accounts, dict) else ""
            inbox.add_identity(engine, customer_id, channel, address, account=chosen, agent=agent)

        self._write("Link", write, done, None, refused)

    def unlink_identity(
        self,
        identity_id: int,
        with_conversations: bool,
        *,
        done: Callable[[int], None],
        refused: Callable[[str], None],
    ) -> None:
        """Unlink an address (into a customer of its own, whose id ``done`` gets)."""
        agent = self.settings.agent

        def write(engine: Engine) -> int:
            from omnitui import inbox

            return inbox.unlink_identity(
                engine, identity_id, agent=agent, with_conversations=with_conversations
            )

        self._write_for("Unlink", write, done, refused)

    def merge_preview(
        self,
        source_id: int,
        target_id: int,
        *,
        done: Callable[[MergePreview], None],
        refused: Callable[[str], None],
    ) -> None:
        """What merging would move (read by the service, which refuses as the merge would)."""

        def read(engine: Engine) -> MergePreview:
            from omnitui import inbox

            return inbox.merge_preview(engine, source_id, target_id)

        self._write_for("Merge preview", read, done, refused)

    def merge_customers(
        self,
        source_id: int,
        target_id: int,
        *,
        done: Callable[[int], None],
        refused: Callable[[str], None],
    ) -> None:
        """Merge ``source_id`` into ``target_id``; ``done`` gets the merge record's id."""
        agent = self.settings.agent

        def write(engine: Engine) -> int:
            from omnitui import inbox

            return inbox.merge_customers(engine, source_id, target_id, agent=agent)

        self._write_for("Merge", write, done, refused)

    def unmerge_customers(
        self, record_id: int, *, done: Callable[[], None], refused: Callable[[str], None]
    ) -> None:
        agent = self.settings.agent

        def write(engine: Engine) -> None:
            from omnitui import inbox

            inbox.unmerge_customers(engine, record_id, agent=agent)

        self._write("Unmerge", write, done, None, refused)

    def _write_for(
        self,
        what: str,
        call: Callable[[Engine], _T],
        done: Callable[[_T], None],
        refused: Callable[[str], None],
    ) -> None:
        """``_write`` for a call whose result ``done`` takes."""
        result: list[_T] = []

        def write(engine: Engine) -> None:
            result.append(call(engine))

        self._write(what, write, lambda: done(result[0]), None, refused)

    # -- help -----------------------------------------------------------------------

    def binding_rows(self) -> list[BindingRow]:
        """Every binding of every screen and widget, with the key it has after the keymap."""
        from omnitui.screens.attach import AttachScreen, PathInput
        from omnitui.screens.bulk import BulkScreen
        from omnitui.screens.call import CallScreen
        from omnitui.screens.canned import CannedForm, CannedPicker, CannedScreen
        from omnitui.screens.customer import (
            CustomerScreen,
            LinkScreen,
            MergePickerScreen,
            MergePreviewScreen,
            UnlinkScreen,
        )
        from omnitui.screens.help import BindingRow, HelpScreen
        from omnitui.screens.kb import KbForm, KbScreen
        from omnitui.screens.message import MessageScreen
        from omnitui.screens.move import MoveScreen
        from omnitui.screens.report import FilterPicker, ReportScreen
        from omnitui.screens.search import SearchScreen
        from omnitui.screens.workflow import (
            AssignScreen,
            ConfirmScreen,
            SnoozeScreen,
            TagInput,
            TagScreen,
        )
        from omnitui.widgets.composer_area import ComposerArea
        from omnitui.widgets.pager import Pager

        sections: list[tuple[str, type[Any]]] = [
            (_("Everywhere"), OmniApp),
            (_("Inbox"), InboxScreen),
            (_("Customer list"), CustomerList),
            (_("History"), Timeline),
            (_("Composer"), ComposerArea),
            (_("Search"), SearchScreen),
            (_("Full message"), MessageScreen),
            (_("Full message text"), Pager),
            (_("Move to conversation"), MoveScreen),
            (_("Attach files"), AttachScreen),
            (_("Attach files"), PathInput),
            (_("Assign to"), AssignScreen),
            (_("Snooze until"), SnoozeScreen),
            (_("Tags"), TagScreen),
            (_("Tags"), TagInput),
            (_("Confirm"), ConfirmScreen),
            (_("Bulk action"), BulkScreen),
            (_("Canned reply picker (::)"), CannedPicker),
            (_("Canned replies"), CannedScreen),
            (_("Canned reply"), CannedForm),
            (_("Knowledge base"), KbScreen),
            (_("Knowledge base entry"), KbForm),
            (_("Customer"), CustomerScreen),
            (_("Merge into"), MergePickerScreen),
            (_("Merge customers"), MergePreviewScreen),
            (_("Unlink address"), UnlinkScreen),
            (_("Link an address"), LinkScreen),
            (_("Log a call"), CallScreen),
            (_("Report"), ReportScreen),
            (_("Report filter"), FilterPicker),
            (_("Help"), HelpScreen),
        ]
        rows: list[BindingRow] = []
        for section, owner in sections:
            for binding in owner.BINDINGS:
                if not isinstance(binding, Binding) or not binding.id:
                    continue
                keys = self.keymap.get(binding.id, binding.key)
                shown = ", ".join(
                    self.get_key_display(Binding(key.strip(), binding.action))
                    for key in keys.split(",")
                    if key.strip()
                )
                rows.append(BindingRow(section, shown, binding.description, binding.id))
        return rows


def _failed(what: str) -> str:
    """The title of the toast for a write that failed; ``what`` as ``_write`` logs it."""
    titles = {
        "Reply": _("Reply failed"),
        "Note": _("Note failed"),
        "Open": _("Reopening failed"),
        "Resolved": _("Resolving failed"),
        "Pending": _("Setting pending failed"),
        "Mark read": _("Marking read failed"),
        "Retry": _("Retry failed"),
        "Split": _("Split failed"),
        "Move": _("Move failed"),
        "Undo": _("Undo failed"),
        "Assign": _("Assign failed"),
        "Snooze": _("Snooze failed"),
        "Tags": _("Tags failed"),
        "Spam": _("Marking spam failed"),
        "Unblock": _("Unblock failed"),
        "Bulk action": _("Bulk action failed"),
        "Save canned reply": _("Saving the canned reply failed"),
        "Delete canned reply": _("Deleting the canned reply failed"),
        "Save knowledge base entry": _("Saving the knowledge base entry failed"),
        "Delete knowledge base entry": _("Deleting the knowledge base entry failed"),
        "Rename": _("Rename failed"),
        "Notes": _("Saving the notes failed"),
        "Link": _("Link failed"),
        "Unlink": _("Unlink failed"),
        "Merge preview": _("Merge preview failed"),
        "Merge": _("Merge failed"),
        "Unmerge": _("Unmerge failed"),
        "Call": _("Logging the call failed"),
    }
    return titles.get(what) or _("The change failed")


def _log_to_file(settings: Settings) -> logging.Handler | None:
    """Send this process's logs to the log file (never to the screen), unless already so."""
    root = logging.getLogger()
    path = settings.log_file.resolve()
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and handler.baseFilename == str(path):
            return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        added = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    added.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    )
    root.addHandler(added)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return added


def run_tui(
    settings: Settings,
    start_runner: Callable[[], Closeable] | None,
    *,
    first_page: Future[CustomerPage] | None = None,
) -> int:
    """Run the TUI until the agent quits; ``start_runner`` is called after the first paint.

    ``first_page``: the top of the customer list, being read while Textual loaded.
    """
    app = OmniApp(settings, start_runner, first_page=first_page)
    try:
        app.run()
    finally:
        app.close_runner()
        gc.enable()  # if the app ended before its first paint
    return app.return_code or 0
