"""The runner: an asyncio supervisor for the connectors, the outbox and the lease.

Exactly one runner works on a store at a time. ``Runner.run`` waits in standby
until it gets the lease, then recovers the replies a dead runner was sending,
starts one supervised task per connector (restarted with backoff when it raises,
its state written for every TUI's status line), the outbox loop and the
heartbeat. When a renewal fails the lease is lost: connectors and outbox stop at
once and the runner goes back to standby. Every store call runs in a thread, so
the event loop never waits on the database.

While it holds the lease the runner also serves HTTP when the config asks for it
(``Config.http_address``): /healthz and the routes of connectors that receive over
HTTP (``HasRoutes``: the Telegram webhook, the web chat). A standby does not listen. A port that
cannot be had is the state of the pseudo-connector "http" (status line, doctor),
retried with the connectors' backoff.

``omnitui serve`` runs it alone; the TUI runs it in a thread (``start_in_thread``).

Must not import Textual, and no connector module other than through
``build_connectors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine

from omnitui import bot, db, inbox, sla
from omnitui.blobs import BlobStore
from omnitui.config import Settings
from omnitui.connectors.base import (
    Batch,
    Connector,
    DeliveryError,
    HasRoutes,
    HistoryEvent,
    KeepsSentCopies,
    KnowsAgentActivity,
    LinksEmails,
    OutboundFile,
    OutboundMessage,
    ReadsHistory,
    ReportsTyping,
    SendsFiles,
)
from omnitui.i18n import _
from omnitui.reads import Reader, readable

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

RESTART_BACKOFF = (1.0, 60.0)
"""A failing connector is restarted after 1 s, doubling to 60 s (with jitter)."""
HEALTHY_AFTER = 60.0
"""A connector that ran this long before failing starts its backoff again from the bottom."""
OUTBOX_POLL = 0.25
MAX_IN_FLIGHT = 8
SEND_TIMEOUT = 60.0
STOP_GRACE = 2.0
"""On a clean stop, sends in flight get this long to finish before they are cancelled."""
HTTP = "http"
"""The HTTP server's account and channel in the connector state table."""
WAKE_FIRST_SECONDS = 1.0
"""Snoozed conversations are first woken this soon after the lease is taken..."""
WAKE_EVERY_SECONDS = 30.0
"""...and then this often while it is held (a snooze runs out at most this late)."""
SLA_EVERY_SECONDS = 10.0
"""With SLA policies, conversations get their targets after each batch stored, and at
least this often (tags changed in a TUI, a conversation reopened)."""


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_connectors(settings: Settings) -> list[Connector]:
    """The connectors the configuration asks for: email accounts, Telegram bots, web chats
    and the demo channel. Each channel's module is imported only when it is configured."""
    connectors: list[Connector] = []
    if settings.config.email:
        from omnitui.connectors.mail.connector import MailConnector

        connectors += [MailConnector(name, acct) for name, acct in settings.config.email.items()]
    if settings.config.telegram:
        from omnitui.connectors.telegram import TelegramConnector

        public_url = settings.config.http.public_url
        connectors += [
            TelegramConnector(name, acct, settings.data_dir, public_url=public_url)
            for name, acct in settings.config.telegram.items()
        ]
    if settings.config.webchat:
        from omnitui.connectors.webchat import WebChatConnector

        public_url = settings.config.http.public_url
        connectors += [
            WebChatConnector(name, acct, public_url=public_url)
            for name, acct in settings.config.webchat.items()
        ]
    if settings.config.demo.enabled:
        from omnitui.connectors.demo import demo_connectors

        connectors += demo_connectors(settings.config.demo, settings.data_dir)
    for connector in connectors:
        if isinstance(connector, SendsFiles):  # reads the files of replies from the store
            connector.blobs = BlobStore(settings.data_dir / "attachments")
    history = StoreHistory(settings.store_url) if readable(settings.store_url) else None
    for connector in connectors:
        if isinstance(connector, ReadsHistory):  # the web chat's catch-up
            connector.history = history
        if isinstance(connector, KnowsAgentActivity) and history is not None:  # away notice
            connector.agent_activity = history.last_agent_activity
    return connectors


class StoreHistory:
    """A connector's ``ChannelHistory`` read from the store (reads.Reader)."""

    def __init__(self, url: str) -> None:
        self.reader = Reader(url)

    def events_after(
        self, account: str, address: str, after: str | None, limit: int
    ) -> list[HistoryEvent]:
        rows = self.reader.chat_events_after(account, address, after, limit)
        return [
            HistoryEvent(
                r.id,
                r.direction,
                r.text,
                r.at,
                tuple(OutboundFile(f.filename, f.content_type, f.sha256, f.size) for f in r.files),
                r.buttons,
            )
            for r in rows
        ]

    def last_agent_activity(self) -> datetime | None:
        return self.reader.last_agent_activity()


class LeaseLost(Exception):
    """Another process holds the lease now."""


class Runner:
    """Runs the connectors and the outbox while it holds the runner lease."""

    def __init__(
        self,
        settings: Settings,
        connectors: Sequence[Connector] | None = None,
        *,
        holder: str | None = None,
        restart_backoff: tuple[float, float] = RESTART_BACKOFF,
    ) -> None:
        self.settings = settings
        self.connectors = list(build_connectors(settings) if connectors is None else connectors)
        by_account: dict[str, Connector] = {}
        for connector in self.connectors:
            if connector.account in by_account:
                raise ValueError(f"two connectors for account {connector.account}")
            by_account[connector.account] = connector
        self._by_account = by_account
        url = settings.store_url
        self._typing_reader = Reader(url) if readable(url) else None
        for connector in self.connectors:
            if isinstance(connector, LinksEmails):  # the web chat's contact form
                connector.link_email = self._link_email
            if isinstance(connector, ReportsTyping):  # the web chat's "typing…", both ways
                connector.visitor_typing = self._visitor_typing
                if self._typing_reader is not None:
                    connector.agents_typing = self._typing_reader.agents_typing_to
        self.holder = holder or default_holder()
        self.restart_backoff = restart_backoff
        self.generation: int | None = None
        """The lease generation while this runner holds the lease, else None."""
        self._engine: Engine | None = None
        self.blobs = BlobStore(settings.data_dir / "attachments")
        self._rng = random.Random()
        self._lease_pool: ThreadPoolExecutor | None = None
        self.states: dict[str, str] = {}
        """Each connector's last state, as recorded (what /healthz reports)."""
        self.http_address: tuple[str, int] | None = None
        """Where the HTTP server listens right now, else None."""
        self._sla_wanted: asyncio.Event | None = None
        """Set after a batch is stored: time for apply_sla (None: no SLA policies)."""

    @property
    def holding(self) -> bool:
        return self.generation is not None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.settings.store_url)
        return self._engine

    def _visitor_typing(self, account: str, address: str) -> bool:
        """A connector's ``visitor_typing``: runs in a worker thread."""
        return inbox.set_visitor_typing(self.engine, account, address)

    def _link_email(self, account: str, address: str, email: str, name: str) -> None:
        """A connector's ``link_email``: runs in a worker thread."""
        sender = self.settings.config.email_account_for(account) or ""
        inbox.link_visitor_email(self.engine, account, address, email, name, email_account=sender)

    async def _db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- the lease -------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Work until ``stop`` is set: standby until the lease is ours, then hold it."""
        stop = stop or asyncio.Event()
        cfg = self.settings.config.runner
        # The lease has its own thread, so a heartbeat never queues behind slow store work.
        lease_pool = self._lease_pool = ThreadPoolExecutor(1, thread_name_prefix="omnitui-lease")
        loop = asyncio.get_running_loop()
        log.info("runner %s starting (%d connectors)", self.holder, len(self.connectors))
        try:
            while not stop.is_set():
                try:
                    generation = await loop.run_in_executor(
                        lease_pool,
                        inbox.acquire_lease,
                        self.engine,
                        self.holder,
                        cfg.lease_ttl_seconds,
                    )
                except Exception:
                    log.exception("could not ask for the runner lease")
                    generation = None
                if generation is None:
                    # Standby: poll often enough that a dead holder is replaced within
                    # lease_ttl + one poll.
                    await _wait(stop, min(cfg.heartbeat_seconds, 1.0))
                    continue
                self.generation = generation
                log.info("runner %s holds the lease (generation %d)", self.holder, generation)
                try:
                    await self._hold(generation, stop)
                except LeaseLost:
                    log.warning("runner %s lost the lease; back to standby", self.holder)
                except Exception:
                    # Give the lease up, so that whoever takes it next (us included) starts
                    # a new generation and recovers what this one left half sent.
                    log.exception("runner %s failed; releasing the lease", self.holder)
                    with contextlib.suppress(Exception):
                        await loop.run_in_executor(
                            lease_pool, inbox.release_lease, self.engine, self.holder
                        )
                    await _wait(stop, self.restart_backoff[0])
                finally:
                    self.generation = None
        finally:
            with contextlib.suppress(Exception):
                await loop.run_in_executor(
                    lease_pool, inbox.release_lease, self.engine, self.holder
                )
            lease_pool.shutdown(wait=False)
            if self._engine is not None:
                self._engine.dispose()
            log.info("runner %s stopped", self.holder)

    async def _hold(self, generation: int, stop: asyncio.Event) -> None:
        """Do the work of the lease holder until ``stop`` (returns) or the lease is lost."""
        idempotent = [c.account for c in self.connectors if c.idempotent_send]
        requeued, unconfirmed = await self._db(
            inbox.recover_claims, self.engine, generation, idempotent
        )
        if requeued or unconfirmed:
            log.warning(
                "replies a previous runner was sending: %d requeued, %d left unconfirmed",
                requeued,
                unconfirmed,
            )
        heartbeat = asyncio.create_task(self._heartbeat(generation), name="heartbeat")
        workers = [
            asyncio.create_task(self._supervise(c), name=f"connector {c.account}")
            for c in self.connectors
        ]
        address = self.settings.config.http_address
        http = [asyncio.create_task(self._serve_http(*address), name=HTTP)] if address else []
        draining = asyncio.Event()
        outbox = asyncio.create_task(self._outbox(generation, draining), name="outbox")
        wake = asyncio.create_task(self._wake_snoozed(), name="wake")
        chores = [wake]
        policies = sla.from_config(self.settings.config)
        if policies is not None:
            self._sla_wanted = asyncio.Event()
            chores.append(
                asyncio.create_task(self._apply_sla(policies, self._sla_wanted), name="sla")
            )
        stopping = asyncio.create_task(stop.wait(), name="stop")
        try:
            await asyncio.wait({heartbeat, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if heartbeat.done():
                heartbeat.result()  # raises LeaseLost (or a bug)
            await _cancel(http)  # first: no request comes in for a connector that stopped
            await _cancel([*workers, *chores])
            draining.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(outbox), STOP_GRACE)
        finally:
            await _cancel([*http, *workers, *chores, outbox, heartbeat, stopping])
        await asyncio.gather(
            *(self._set_state(c, "stopped") for c in self.connectors),
            *([self._record_state(HTTP, HTTP, "stopped")] if address else []),
            return_exceptions=True,
        )

    async def _heartbeat(self, generation: int) -> None:
        """Renew the lease every heartbeat; raise LeaseLost when it is not ours any more."""
        cfg = self.settings.config.runner
        loop = asyncio.get_running_loop()
        pool = self._lease_pool
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(cfg.heartbeat_seconds)
            try:
                ok = await loop.run_in_executor(
                    pool,
                    inbox.renew_lease,
                    self.engine,
                    self.holder,
                    generation,
                    cfg.lease_ttl_seconds,
                )
            except Exception:
                log.exception("could not renew the runner lease")
                if time.monotonic() - renewed < cfg.lease_ttl_seconds:
                    continue
                ok = False
            if not ok:
                raise LeaseLost
            renewed = time.monotonic()

    # -- connectors --------------------------------------------------------------

    async def _set_state(
        self, connector: Connector, state: str, error: str | None = None, detail: str = ""
    ) -> None:
        await self._record_state(connector.account, connector.channel, state, error, detail)

    async def _record_state(
        self, account: str, channel: str, state: str, error: str | None = None, detail: str = ""
    ) -> None:
        self.states[account] = state
        try:
            await self._db(
                inbox.set_connector_state, self.engine, account, channel, state, error, detail
            )
        except Exception:
            log.exception("could not record %s's state", account)

    async def _supervise(self, connector: Connector) -> None:
        """Run one connector's receive for ever, restarting it with backoff when it fails."""
        first, ceiling = self.restart_backoff
        delay = first

        async def sink(batch: Batch) -> None:
            stored = await self._db(inbox.ingest, self.engine, batch, self.blobs)
            if self._sla_wanted is not None and stored:
                self._sla_wanted.set()
            await self._bot(connector, batch, stored)
            if batch.progress is not None:
                state = "syncing" if batch.progress else "running"
                await self._set_state(connector, state, detail=batch.progress)

        while True:
            started = time.monotonic()
            try:
                cursor = await self._db(inbox.load_cursor, self.engine, connector.account)
                await self._set_state(connector, "running")
                await connector.receive(sink, cursor)
                error = _("receive returned")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if time.monotonic() - started >= HEALTHY_AFTER:
                delay = first
            wait = delay * self._rng.uniform(0.5, 1.0)
            log.warning(
                "connector %s failed (%s); restart in %.1f s", connector.account, error, wait
            )
            await self._set_state(connector, "backoff", error)
            await asyncio.sleep(wait)
            delay = min(ceiling, delay * 2)

    async def _bot(
        self, connector: Connector, batch: Batch, stored: Sequence[inbox.Ingested]
    ) -> None:
        """The FAQ bot's turn after each customer's message just stored on a channel it
        answers on ([bot]); its failure is logged, never the connector's (the messages are
        stored, and the agents answer them)."""
        config = self.settings.config.bot
        if not config.answers_on(connector.channel):
            return
        for message, result in zip(batch.messages, stored, strict=True):
            if result.message_id is None or message.direction != "in" or message.edit_of:
                continue  # already stored, the team's own, or an edit of an earlier message
            try:
                turn = await self._db(bot.bot_turn, self.engine, result.message_id, config)
            except Exception:
                log.exception("bot: could not take its turn on message %d", result.message_id)
                continue
            if turn.action != "silent":
                log.info("bot: message %d %s %s", result.message_id, turn.action, turn.reason)

    # -- the HTTP server ---------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """What /healthz answers: healthy while this runner holds the lease."""
        generation = self.generation
        connectors = {c.account: self.states.get(c.account, "starting") for c in self.connectors}
        body = {
            "ok": generation is not None,
            "runner": self.holder,
            "lease_generation": generation,
            "connectors": connectors,
        }
        return generation is not None, body

    async def _serve_http(self, host: str, port: int) -> None:
        """Serve HTTP on host:port for as long as the lease is held (until cancelled); a
        port that cannot be had is recorded and tried again with backoff."""
        from omnitui.web.server import bind, build_app, serve

        routes = [r for c in self.connectors if isinstance(c, HasRoutes) for r in c.routes()]
        app = build_app(routes, self.health)
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        first, ceiling = self.restart_backoff
        delay = first
        while True:
            started = time.monotonic()
            try:
                sock = await bind(host, port)
            except OSError as exc:
                errno = None if isinstance(exc, socket.gaierror) else exc.errno
                why = os.strerror(errno) if errno else str(exc)
                error = _("could not listen on {address}: {why}").format(address=where, why=why)
            else:
                self.http_address = sock.getsockname()[:2]
                log.info("runner %s serves HTTP on %s", self.holder, where)
                listening = _("listening on {address}").format(address=where)
                await self._record_state(HTTP, HTTP, "running", detail=listening)
                try:
                    await serve(app, sock)
                    error = _("the HTTP server stopped")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.exception("the HTTP server on %s failed", where)
                    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                finally:
                    self.http_address = None
            if time.monotonic() - started >= HEALTHY_AFTER:
                delay = first
            wait = delay * self._rng.uniform(0.5, 1.0)
            log.warning("HTTP server: %s; trying again in %.1f s", error, wait)
            await self._record_state(HTTP, HTTP, "backoff", error)
            await asyncio.sleep(wait)
            delay = min(ceiling, delay * 2)

    # -- snoozes -------------------------------------------------------------------

    async def _wake_snoozed(self) -> None:
        """Open the snoozed conversations whose time has come, soon after the lease is
        taken and every ``WAKE_EVERY_SECONDS`` while it is held (the holder's work, like the
        outbox). A failure is logged and tried again next time; it never stops the runner."""
        await asyncio.sleep(WAKE_FIRST_SECONDS)
        while True:
            try:
                woken = await self._db(inbox.wake_snoozed, self.engine)
            except Exception:
                log.exception("could not wake snoozed conversations")
            else:
                if woken:
                    log.info("woke %d snoozed conversations: %s", len(woken), woken[:20])
            await asyncio.sleep(WAKE_EVERY_SECONDS)

    # -- SLA targets ---------------------------------------------------------------

    async def _apply_sla(self, policies: sla.Policies, wanted: asyncio.Event) -> None:
        """Give conversations their SLA targets after each batch stored and every
        ``SLA_EVERY_SECONDS`` (one indexed read when nothing changed). A failure is logged
        and tried again next time; it never stops the runner."""
        while True:
            wanted.clear()
            try:
                while await self._db(inbox.apply_sla, self.engine, policies) >= inbox.SLA_BATCH:
                    pass  # a backlog (a config change): the next batch at once
            except Exception:
                log.exception("could not give conversations their SLA targets")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wanted.wait(), SLA_EVERY_SECONDS)

    # -- outbox ------------------------------------------------------------------

    async def _outbox(self, generation: int, draining: asyncio.Event) -> None:
        """Claim due replies (only as many as there are free slots) and send them."""
        in_flight: set[asyncio.Task[None]] = set()
        wake = asyncio.Event()  # a send finished: a slot is free

        def done(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            wake.set()

        try:
            while not draining.is_set():
                wake.clear()
                free = MAX_IN_FLIGHT - len(in_flight)
                try:
                    claimed = (
                        await self._db(
                            inbox.claim_outbox, self.engine, self.holder, generation, free
                        )
                        if free > 0 and await self._outbox_due()
                        else []
                    )
                except Exception:
                    log.exception("could not claim replies to send")
                    claimed = []
                for message in claimed:
                    task = asyncio.create_task(self._deliver(message))
                    in_flight.add(task)
                    task.add_done_callback(done)
                if claimed and len(claimed) == free:
                    continue  # more may be due
                await _wait_any(wake, draining, OUTBOX_POLL)
            if in_flight:
                await asyncio.wait(in_flight)
        finally:
            await _cancel(list(in_flight))

    async def _outbox_due(self) -> bool:
        due = await self._db(inbox.next_outbox_due, self.engine)
        return due is not None and due <= db.utcnow()

    async def _deliver(self, message: OutboundMessage) -> None:
        try:
            await self._send(message)
        except Exception:
            # Left 'sending': the next lease generation recovers it (requeued or unconfirmed).
            log.exception("reply %d: could not record its delivery", message.message_id)

    async def _send(self, message: OutboundMessage) -> None:
        """Send one claimed reply and record what happened."""
        connector = self._by_account.get(message.account)
        policy = self.settings.config.outbox
        try:
            if connector is None:
                problem = _("no connector for account {account}").format(account=message.account)
                raise DeliveryError(problem, permanent=True)
            result = await asyncio.wait_for(connector.send(message), SEND_TIMEOUT)
        except DeliveryError as exc:
            state = await self._db(
                inbox.mark_failed,
                self.engine,
                message.message_id,
                exc.reason,
                permanent=exc.permanent,
                policy=policy,
                unreachable=exc.unreachable,
            )
            log.info("reply %d not delivered (%s): %s", message.message_id, exc.reason, state)
        except Exception as exc:
            # The outcome is unknown (a timeout, an unexpected error mid-send): only a
            # connector that honours idempotency keys may retry; elsewhere an agent decides.
            if isinstance(exc, TimeoutError):
                reason = _("no answer from {account} within {seconds} s").format(
                    account=message.account, seconds=f"{SEND_TIMEOUT:.0f}"
                )
            else:
                log.exception(
                    "reply %d: unexpected error from %s", message.message_id, message.account
                )
                reason = f"{type(exc).__name__}: {exc}"
            if connector is not None and connector.idempotent_send:
                await self._db(
                    inbox.mark_failed,
                    self.engine,
                    message.message_id,
                    reason,
                    permanent=False,
                    policy=policy,
                )
            else:
                await self._db(inbox.mark_unconfirmed, self.engine, message.message_id, reason)
        else:
            # Acceptance is recorded before anything else, so nothing after it can send twice.
            await self._db(
                inbox.mark_sent, self.engine, message.message_id, result.external_id, result.raw
            )
            if isinstance(connector, KeepsSentCopies):
                try:
                    await connector.keep_sent_copy(message, result)
                except Exception:
                    log.exception("reply %d: could not keep a sent copy", message.message_id)
            if result.recipient_away and not message.kind:  # a survey waits for their return
                await self._email_copy(message)

    async def _email_copy(self, message: OutboundMessage) -> None:
        """The customer was not there to see ``message`` (sent): queue it by email."""
        sender = self.settings.config.email_account_for(message.account)
        if sender is None:
            return
        try:
            copy = await self._db(inbox.queue_email_copy, self.engine, message.message_id, sender)
        except Exception:
            log.exception("reply %d: could not queue its email copy", message.message_id)
            return
        if copy is not None:
            log.info("reply %d: the visitor was away; by email as %d", message.message_id, copy)


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)


async def _wait_any(a: asyncio.Event, b: asyncio.Event, timeout: float) -> None:
    tasks = [asyncio.create_task(a.wait()), asyncio.create_task(b.wait())]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _cancel(tasks)


async def _cancel(tasks: Iterable[asyncio.Future[Any]]) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class RunnerThread:
    """A Runner in a daemon thread with its own event loop, for the TUI."""

    def __init__(self, settings: Settings, connectors: Sequence[Connector] | None = None) -> None:
        self.runner = Runner(settings, connectors)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._main, name="omnitui-runner", daemon=True)

    def start(self) -> None:
        self.thread.start()
        self._started.wait(5)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception:
            log.exception("the runner thread died")

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._started.set()
        await self.runner.run(self._stop)

    @property
    def holder(self) -> str:
        """This runner's name in the lease row, so the TUI can tell its own runner apart."""
        return self.runner.holder

    @property
    def holding(self) -> bool:
        return self.runner.holding

    def close(self, timeout: float = 5.0) -> None:
        """Stop the runner (finishing sends in flight briefly), release the lease, join."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        self.thread.join(timeout)


def start_in_thread(settings: Settings) -> RunnerThread:
    """Start a runner beside the TUI: it holds the lease when free, else waits in standby."""
    thread = RunnerThread(settings)
    thread.start()
    return thread
