"""Bulk writes that bypass the ORM: a synthetic demo history, and the JSON Lines export.

Filling a store with a million messages through the ORM and ``inbox.ingest`` would
take the best part of an hour, so ``fill_demo`` writes rows itself: ids given
explicitly, ``executemany`` over the standard library's sqlite3 in a few big
``BEGIN IMMEDIATE`` transactions, the full-text index filled in batches after each
batch's message rows. The rows obey inbox.py's rules: every customer's denormalized
columns (last activity, preview, channels, unread and open counts, version), the
conversation times and status events, and FTS rows of text folded by
``omnitui.normalize.fold``. ``export_jsonl`` streams the store out as JSON Lines
(docs/export-format.md) in constant memory.

This is one of the few modules allowed to hold SQL (with db.py, inbox.py and
reads.py); like db.py it is SQLite-only for now. Must not import Textual, SQLAlchemy,
SQLModel or any connector: it runs in the CLI and in benchmarks without them.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import multiprocessing.context
import os
import random
import re
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import IO, Any

from omnitui.normalize import fold
from omnitui.reads import SchemaError, sqlite_path
from omnitui.synthetic import ACCOUNTS, Persona, World
from omnitui.text import one_line

Progress = Callable[[int, int], None]
"""Called with (done, total) after every batch."""

BATCH_MESSAGES = 50_000
"""Messages written in one transaction: big enough to amortize, small enough for the cache."""

SPAN_DAYS = 180
"""The demo history covers this many days, ending now."""

FAILED_SHARE = 0.015
"""Share of replies whose delivery failed for good."""

_BUSY_TIMEOUT_S = 10.0
_CACHE_KIB = 256 * 1024
"""Page cache for the fill's own connection (its indexes stay in memory)."""

_DAY_US = 86_400_000_000
_HOUR = 3600.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_ERRORS = (
    "550 5.1.1 mailbox unavailable",
    "Forbidden: bot was blocked by the user",
    "visitor left the chat before delivery",
)


@dataclass(frozen=True, slots=True)
class FillResult:
    """What ``fill_demo`` wrote, and how long it took."""

    customers: int
    identities: int
    conversations: int
    messages: int
    events: int
    first_customer_id: int
    last_customer_id: int
    longest_customer_id: int | None
    """The customer given ``longest`` messages, when asked for one (among the most recently
    active)."""
    seconds: float

    @property
    def rate(self) -> float:
        """Messages written a second, the whole fill included (FTS and optimize)."""
        return self.messages / self.seconds if self.seconds > 0 else 0.0


# ---------------------------------------------------------------------------
# Text and times, made fast for a million rows

_ASCII_DIGITS = re.compile(r"([0-9]+)")


class _Folder:
    """``fold`` cached by piece of text.

    The generator repeats its phrases around different order numbers, so the text
    is cut at runs of ASCII digits (which fold leaves as they are and which nothing
    folds into, so folding the pieces equals folding the whole; a test checks it)
    and each piece is folded once.
    """

    def __init__(self) -> None:
        self._cache: dict[str, str] = {"": ""}

    def __call__(self, text: str) -> str:
        if text.isascii():
            return text.lower()
        cache = self._cache
        return "".join(
            [cache[p] if p in cache else self._miss(p) for p in _ASCII_DIGITS.split(text)]
        )

    def _miss(self, piece: str) -> str:
        folded = self._cache[piece] = fold(piece)
        return folded


class _Clock:
    """Microseconds since the epoch as the store's time strings (see reads.stamp)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._seconds: dict[int, str] = {}

    def __call__(self, t_us: int) -> str:
        day, rest = divmod(t_us, _DAY_US)
        second, micro = divmod(rest, 1_000_000)
        date = self._days.get(day) or self._day(day)
        hms = self._seconds.get(second) or self._second(second)
        return f"{date} {hms}.{micro:06d}"

    def _day(self, day: int) -> str:
        text = self._days[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
        return text

    def _second(self, second: int) -> str:
        hours, rest = divmod(second, 3600)
        text = self._seconds[second] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        return text


# ---------------------------------------------------------------------------
# What to invent: how many messages each customer gets and when they were last active


@dataclass(slots=True)
class _Ids:
    """The next free id of each table (or an offset to add to each)."""

    customer: int
    identity: int
    conversation: int
    message: int
    event: int

    def copy(self) -> _Ids:
        return _Ids(self.customer, self.identity, self.conversation, self.message, self.event)


@dataclass(frozen=True, slots=True)
class _Order:
    """Everything the generator needs; picklable, so a worker process can run it."""

    seed: int
    customers: int
    messages: int
    longest: int
    batch_messages: int
    now_us: int
    first: _Ids
    taken: frozenset[tuple[str, str]]
    """(channel, address) pairs already in the store: no persona reuses one."""


@dataclass(slots=True)
class _Rows:
    """One batch's rows, in insert order; "" and 0 stand for NULL (see _INSERT_*)."""

    first: _Ids
    longest_customer: int = 0
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    identities: list[tuple[Any, ...]] = field(default_factory=list)
    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    message_fts: list[tuple[int, str]] = field(default_factory=list)
    customer_fts: list[tuple[int, str]] = field(default_factory=list)


def _spread(messages: int, customers: int, rng: random.Random, longest: int) -> list[int]:
    """Messages a customer, each at least one, summing to ``messages``; skewed like real
    traffic (most write a few times, some many). Customer 0 gets ``longest`` if asked."""
    counts = [0] * customers
    start = 1 if longest else 0
    if longest:
        counts[0] = longest
    others = customers - start
    if others <= 0:
        return counts
    rest = messages - longest - others
    weights = [rng.expovariate(1.0) for _ in range(others)]
    total = sum(weights) or 1.0
    given = 0
    for i, w in enumerate(weights, start):
        extra = int(rest * w / total)
        counts[i] = 1 + extra
        given += extra
    for i in range(rest - given):  # the rounding remainder, one each
        counts[start + i % others] += 1
    return counts


def _batches(order: _Order) -> Iterator[_Rows]:
    """The whole fill as batches of about ``order.batch_messages`` messages."""
    plan_rng = random.Random(order.seed * 104_729 + 3)
    counts = _spread(order.messages, order.customers, plan_rng, order.longest)
    # Seconds since each customer's last activity: recent activity is the most common.
    ages = [SPAN_DAYS * 86_400 * plan_rng.random() ** 2 for _ in range(order.customers)]
    if order.longest:
        ages[0] = 120.0
    # Oldest activity first, so ids grow with recency as they do when messages arrive.
    sequence = sorted(range(order.customers), key=ages.__getitem__, reverse=True)
    historian = _Historian(order.seed, order.now_us, set(order.taken))
    ids = order.first.copy()
    position = 0
    while position < order.customers:
        rows = _Rows(first=ids.copy())
        while position < order.customers and len(rows.messages) < order.batch_messages:
            index = sequence[position]
            if index == 0 and order.longest:
                rows.longest_customer = ids.customer
            historian.customer(ids, rows, counts[index], ages[index])
            position += 1
        yield rows


class _Historian:
    """Invents customers' histories as rows, obeying inbox.py's rules."""

    def __init__(self, seed: int, now_us: int, taken: set[tuple[str, str]]) -> None:
        self.world = World(seed)
        self.rng = random.Random(seed * 7_919 + 17)
        self.now_us = now_us
        self.taken = taken
        self.fold = _Folder()
        self.clock = _Clock()
        self.persona_index = 0
        # External ids must be unique per account across fills, whatever the ids.
        self.token = _base36(now_us // 1000)

    def _persona(self, first_index: int) -> Persona:
        """The next persona none of whose addresses is in the store yet."""
        index = max(self.persona_index, first_index)
        while True:
            persona = self.world.persona(index)
            index += 1
            if not any(ident in self.taken for ident in persona.identities):
                self.persona_index = index
                self.taken.update(persona.identities)
                return persona

    def customer(self, ids: _Ids, out: _Rows, count: int, age_s: float) -> None:
        """One customer with ``count`` messages, the last activity ``age_s`` seconds ago."""
        rng, world, clock, fold_ = self.rng, self.world, self.clock, self.fold
        random_ = rng.random
        expo = rng.expovariate
        cid = ids.customer
        ids.customer += 1
        persona = self._persona(cid)
        lang = persona.language
        name = persona.name

        # Conversations: 1-3, the older ones resolved, the newest often still active.
        if count < 3:
            nconv = 1
        elif count < 6:
            nconv = 1 if random_() < 0.5 else 2
        else:
            nconv = rng.choice((1, 2, 2, 3, 3))
        sizes = [count] if nconv == 1 else _split(count, nconv, rng)
        r = random_()
        if age_s < 14 * 86_400:
            newest = "open" if r < 0.45 else "pending" if r < 0.6 else "snoozed" if r < 0.65 else ""
        else:
            newest = "open" if r < 0.08 else "pending" if r < 0.12 else ""
        newest = newest or "resolved"

        # Times relative to the first message first; the whole history is then fitted
        # into the SPAN_DAYS before its last activity.
        plan: list[tuple[float, str, int]] = []  # (seconds, kind, conversation index)
        t = 0.0
        for c, size in enumerate(sizes):
            if c:
                t += 86_400 * (2 + 38 * random_())
            status = newest if c == nconv - 1 else "resolved"
            kind = "in"
            plan.append((t, kind, c))
            for j in range(1, size):
                r = random_()
                if kind == "in":
                    kind = "out" if r < 0.72 else "in" if r < 0.9 else "note"
                elif kind == "out":
                    kind = "in" if r < 0.88 else "out" if r < 0.96 else "note"
                else:
                    kind = "out" if r < 0.8 else "in"
                if j == size - 1 and status == "resolved":
                    kind = "out"  # a case is closed with a last word to the customer
                if kind == "out":
                    t += 60 + expo(1 / (2 * _HOUR))
                elif kind == "in":
                    t += 600 + expo(1 / (10 * _HOUR))
                else:
                    t += 300 + 3300 * random_()
                plan.append((t, kind, c))
            if status != "open":
                t += 600 + expo(1 / (6 * _HOUR))
                plan.append((t, status, c))
        span = plan[-1][0]
        room = SPAN_DAYS * 86_400 - age_s - 3600
        scale = 1_000_000 * (min(1.0, room / span) if span > 0 else 1.0)
        origin = self.now_us - int(age_s * 1_000_000) - int(span * scale)

        identities = persona.identities
        ident_ids = range(ids.identity, ids.identity + len(identities))
        ids.identity += len(identities)
        conv_ids = range(ids.conversation, ids.conversation + nconv)
        ids.conversation += nconv
        messages, events, message_fts = out.messages, out.events, out.message_fts
        mid, eid, token = ids.message, ids.event, self.token

        first_at = last_at = preview_raw = ""
        unread = 0
        conv_id = -1
        conv_first_in = conv_first_out = conv_last = conv_resolved = conv_subject = ""
        conv_agent = channel = account = last_in_ref = ""
        ident_id = 0
        reason = ""
        for rel, kind, c in plan:
            at = clock(origin + int(rel * scale))
            if conv_ids[c] != conv_id:
                if conv_id >= 0:
                    out.conversations.append(
                        _conversation(conv_id, cid, "resolved", conv_agent, "", conv_first_in,
                                      conv_first_out, conv_resolved, conv_last)
                    )  # fmt: skip
                conv_id = conv_ids[c]
                which = 0 if c == 0 else rng.randrange(len(identities))
                channel = identities[which][0]
                account = ACCOUNTS[channel]
                ident_id = ident_ids[which]
                conv_agent = world.agent()
                conv_first_in = at
                conv_first_out = conv_resolved = conv_subject = ""
                unread = 0
                first_at = first_at or at
                reason = "bulk demo: no open conversation; opened one"
            if kind == "in":
                subject, body = world.inbound(lang)
                if channel != "email":
                    subject = ""
                elif conv_subject:
                    subject = "Re: " + conv_subject
                else:
                    conv_subject = subject
                last_in_ref = f"bulk-{token}-{mid}"
                messages.append(
                    (mid, conv_id, cid, "in", channel, account, last_in_ref, ident_id, name,
                     subject, body, at, "", reason, "", "", 0, "")
                )  # fmt: skip
                message_fts.append((mid, fold_(f"{subject}\n{body}")))
                reason = "bulk demo: joined the open conversation"
                preview_raw = subject or body
                last_at = conv_last = at
                unread += 1
            elif kind == "out":
                body = world.reply(lang)
                subject = "Re: " + conv_subject if conv_subject else ""
                if random_() < FAILED_SHARE:
                    state, ext, attempts, error = "failed", "", 5, rng.choice(_ERRORS)
                else:
                    state, ext, attempts, error = "sent", f"bulk-{token}-{mid}", 1, ""
                messages.append(
                    (mid, conv_id, cid, "out", channel, account, ext, ident_id, conv_agent,
                     subject, body, at, last_in_ref, "", state, f"bulk-{token}-{mid}@omnitui",
                     attempts, error)
                )  # fmt: skip
                message_fts.append((mid, fold_(f"{subject}\n{body}")))
                preview_raw = body
                last_at = conv_last = at
                conv_first_out = conv_first_out or at
                unread = 0
            elif kind == "note":
                body = world.note()
                messages.append(
                    (mid, conv_id, cid, "note", "", "", "", 0, conv_agent, "", body, at, "", "",
                     "", "", 0, "")
                )  # fmt: skip
                message_fts.append((mid, fold_(f"\n{body}")))
            else:  # a status change: resolved, pending or snoozed
                events.append((eid, at, conv_agent, "status", cid, conv_id, "open", kind))
                eid += 1
                if kind == "resolved":
                    conv_resolved = at
                continue
            mid += 1
        snoozed = ""
        if newest == "snoozed":
            snoozed = clock(self.now_us + int(86_400_000_000 * (1 + 6 * random_())))
        out.conversations.append(
            _conversation(conv_id, cid, newest, conv_agent, snoozed, conv_first_in,
                          conv_first_out, conv_resolved, conv_last)
        )  # fmt: skip
        # Every change bumps the version once: each message and each status event.
        version = (mid - ids.message) + (eid - ids.event)
        ids.message, ids.event = mid, eid

        parts = [name]
        for (chan, address), iid in zip(identities, ident_ids, strict=True):
            out.identities.append((iid, cid, chan, address, name, ACCOUNTS[chan], first_at))
            parts += (address, name)
        out.customer_fts.append((cid, fold_(" ".join(p for p in parts if p))))
        channels = ",".join(sorted({chan for chan, _ in identities}))
        open_count = 0 if newest == "resolved" else 1
        out.customers.append(
            (cid, name, first_at, last_at, one_line(preview_raw, 120), channels, unread,
             open_count, version)
        )  # fmt: skip


def _conversation(
    conv_id: int,
    customer_id: int,
    status: str,
    agent: str,
    snoozed_until: str,
    first_inbound_at: str,
    first_response_at: str,
    resolved_at: str,
    last_message_at: str,
) -> tuple[Any, ...]:
    assignee = agent if first_response_at or status != "open" else ""
    return (
        conv_id, customer_id, status, assignee, snoozed_until, first_inbound_at,
        first_inbound_at, first_response_at, resolved_at, last_message_at,
    )  # fmt: skip


def _split(count: int, parts: int, rng: random.Random) -> list[int]:
    cuts = sorted(rng.sample(range(1, count), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, count], strict=True)]


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, d = divmod(n, 36)
        out = digits[d] + out
    return out or "0"


# ---------------------------------------------------------------------------
# The generator in a second process: the writer is busy in SQLite meanwhile


def _generate_into(order: _Order, pipe: Connection) -> None:
    """Worker process: send every batch, then None; a failure as its traceback text."""
    try:
        for rows in _batches(order):
            pipe.send(rows)
        pipe.send(None)
    except BrokenPipeError:
        pass  # the writer gave up
    except BaseException:
        with contextlib.suppress(OSError):
            pipe.send(traceback.format_exc())
    finally:
        pipe.close()


@contextlib.contextmanager
def _worker_batches(order: _Order) -> Iterator[Iterator[_Rows]]:
    # fork is quick and safe while this process has one thread; else spawn a fresh one.
    ctx: multiprocessing.context.ForkContext | multiprocessing.context.SpawnContext
    if threading.active_count() == 1 and os.name == "posix":
        ctx = multiprocessing.get_context("fork")
    else:
        ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_generate_into, args=(order, sender), name="omnitui-fill", daemon=True
    )
    process.start()
    sender.close()

    def received() -> Iterator[_Rows]:
        while True:
            try:
                item = receiver.recv()
            except EOFError:
                raise RuntimeError("the fill's generator process died") from None
            if item is None:
                return
            if isinstance(item, str):
                raise RuntimeError(f"the fill's generator failed:\n{item}")
            yield item

    try:
        yield received()
    finally:
        receiver.close()
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join()


# ---------------------------------------------------------------------------
# Writing

# Rows never hold None: the sqlite3 module binds None several times slower than a
# str or an int (it looks for an adapter first), so "" and 0 stand for NULL where
# the statement says nullif(...).
_INSERT_CUSTOMER = (
    "INSERT INTO customer (id, name, created_at, last_activity_at, preview, channels, "
    "unread_count, open_count, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_IDENTITY = (
    "INSERT INTO identity (id, customer_id, channel, address, display_name, account, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CONVERSATION = (
    "INSERT INTO conversation (id, customer_id, status, assignee, snoozed_until, opened_at, "
    "first_inbound_at, first_response_at, resolved_at, last_message_at) "
    "VALUES (?, ?, ?, nullif(?, ''), nullif(?, ''), ?, ?, nullif(?, ''), nullif(?, ''), ?)"
)
_INSERT_MESSAGE = (
    "INSERT INTO message (id, conversation_id, customer_id, direction, channel, account, "
    "external_id, identity_id, author, subject, body, sent_at, stored_at, thread_ref, "
    "thread_reason, delivery, idempotency_key, attempts, last_error) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, nullif(?7, ''), nullif(?8, 0), ?9, ?10, ?11, ?12, ?12, "
    "nullif(?13, ''), ?14, nullif(?15, ''), nullif(?16, ''), ?17, nullif(?18, ''))"
)
_INSERT_EVENT = (
    "INSERT INTO event (id, at, agent, kind, customer_id, conversation_id, before, after) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _connect(url: str) -> sqlite3.Connection:
    path = sqlite_path(url)
    if path is None:
        raise SchemaError(f"{url}: only SQLite stores are supported by this version")
    if not path.exists():
        raise SchemaError(f"{path}: no omnitui store here; run `omnitui db upgrade` first")
    conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
    return conn


def _next_ids(conn: sqlite3.Connection) -> _Ids:
    def after(*tables: str) -> int:
        return 1 + max(
            int(conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0)
            for table in tables
        )

    return _Ids(
        customer=after("customer", "customer_fts"),
        identity=after("identity"),
        conversation=after("conversation"),
        message=after("message", "message_fts"),
        event=after("event"),
    )


def fill_demo(
    url: str,
    *,
    customers: int,
    messages: int,
    seed: int,
    progress: Progress | None = None,
    longest: int = 0,
    batch_messages: int = BATCH_MESSAGES,
    parallel: bool | None = None,
    optimize: bool = False,
    now: datetime | None = None,
) -> FillResult:
    """Fill the store at ``url`` (already at schema head) with a synthetic history.

    ``customers`` personas of ``synthetic.World(seed)`` share ``messages`` messages
    over the last SPAN_DAYS days, ids continuing after whatever the store holds.
    With ``longest``, the most recently active customer gets exactly that many
    messages (the benchmarks open it). ``parallel`` invents the rows in a second
    process while this one writes (default: for 20,000 messages and more, with two
    cores); the rows are the same either way. ``optimize`` merges the message index
    into one segment at the end (benchmarks/README.md says what it costs and buys).
    ``now`` (default: the clock) is where the history ends; the same seed, store and
    ``now`` give the same rows. Calls ``progress(done, total)`` with message counts
    after every batch.
    """
    if customers < 0 or messages < 0 or longest < 0:
        raise ValueError("customers, messages and longest cannot be negative")
    if longest and not customers:
        raise ValueError("longest needs a customer")
    if messages < customers + max(0, longest - 1):
        raise ValueError("every customer needs at least one message")
    if customers == 0 and messages:
        raise ValueError("messages need customers to write them")
    started = time.perf_counter()
    if parallel is None:
        parallel = messages >= 20_000 and (os.cpu_count() or 1) > 1
    now_us = int(((now or datetime.now(UTC)) - _EPOCH).total_seconds() * 1_000_000)

    conn = _connect(url)
    try:
        # For this connection and this fill only: a power cut mid-fill can lose the
        # demo rows being written, which are invented anyway.
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        conn.execute("BEGIN IMMEDIATE")
        taken = frozenset(
            (str(channel), str(address))
            for channel, address in conn.execute("SELECT channel, address FROM identity")
        )
        order = _Order(
            seed, customers, messages, longest, batch_messages, now_us, _next_ids(conn), taken,
        )  # fmt: skip
        conn.execute("COMMIT")
        if parallel:
            with _worker_batches(order) as batches:
                written = _write_batches(conn, batches, messages, progress)
        else:
            written = _write_batches(conn, _batches(order), messages, progress)
        if optimize:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO message_fts(message_fts) VALUES ('optimize')")
            conn.execute("COMMIT")
    finally:
        conn.close()
    return replace(written, seconds=time.perf_counter() - started)


def _write_batches(
    conn: sqlite3.Connection, batches: Iterable[_Rows], total: int, progress: Progress | None
) -> FillResult:
    counts = [0, 0, 0, 0, 0]
    first_customer = last_customer = 0
    longest: int | None = None
    offset = _Ids(0, 0, 0, 0, 0)
    for rows in batches:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have written since the ids were handed out: move past it.
            free, first = _next_ids(conn), rows.first
            offset = _Ids(
                max(offset.customer, free.customer - first.customer),
                max(offset.identity, free.identity - first.identity),
                max(offset.conversation, free.conversation - first.conversation),
                max(offset.message, free.message - first.message),
                max(offset.event, free.event - first.event),
            )
            if any((offset.customer, offset.identity, offset.conversation, offset.message,
                    offset.event)):  # fmt: skip
                rows = _shifted(rows, offset)
            _write(conn, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for i, table in enumerate(
            (rows.customers, rows.identities, rows.conversations, rows.messages, rows.events)
        ):
            counts[i] += len(table)
        if rows.customers:
            first_customer = first_customer or rows.customers[0][0]
            last_customer = rows.customers[-1][0]
        if rows.longest_customer:
            longest = rows.longest_customer
        if progress is not None:
            progress(counts[3], total)
    customers, identities, conversations, messages, events = counts
    return FillResult(
        customers, identities, conversations, messages, events, first_customer, last_customer,
        longest, 0.0,
    )  # fmt: skip


def _shifted(rows: _Rows, by: _Ids) -> _Rows:
    """The batch with every id moved up by ``by`` (0 in an id column stays NULL)."""
    c, i, v, m, e = by.customer, by.identity, by.conversation, by.message, by.event
    return _Rows(
        first=_Ids(rows.first.customer + c, rows.first.identity + i,
                   rows.first.conversation + v, rows.first.message + m, rows.first.event + e),
        longest_customer=rows.longest_customer + c if rows.longest_customer else 0,
        customers=[(r[0] + c, *r[1:]) for r in rows.customers],
        identities=[(r[0] + i, r[1] + c, *r[2:]) for r in rows.identities],
        conversations=[(r[0] + v, r[1] + c, *r[2:]) for r in rows.conversations],
        messages=[
            (r[0] + m, r[1] + v, r[2] + c, *r[3:7], r[7] + i if r[7] else 0, *r[8:])
            for r in rows.messages
        ],
        events=[(r[0] + e, *r[1:4], r[4] + c, r[5] + v, *r[6:]) for r in rows.events],
        message_fts=[(r[0] + m, r[1]) for r in rows.message_fts],
        customer_fts=[(r[0] + c, r[1]) for r in rows.customer_fts],
    )  # fmt: skip


def _write(conn: sqlite3.Connection, rows: _Rows) -> None:
    conn.executemany(_INSERT_CUSTOMER, rows.customers)
    conn.executemany(_INSERT_IDENTITY, rows.identities)
    conn.executemany(_INSERT_CONVERSATION, rows.conversations)
    conn.executemany(_INSERT_MESSAGE, rows.messages)
    conn.executemany(_INSERT_EVENT, rows.events)
    # The index after the rows, in one statement a table (FTS5 buffers the terms).
    conn.executemany("INSERT INTO message_fts(rowid, body) VALUES (?, ?)", rows.message_fts)
    conn.executemany("INSERT INTO customer_fts(rowid, body) VALUES (?, ?)", rows.customer_fts)


# ---------------------------------------------------------------------------
# Export

_EXPORTS: tuple[tuple[str, str, tuple[str, ...], frozenset[str]], ...] = (
    (
        "customer",
        "customer",
        ("id", "name", "created_at", "last_activity_at", "preview", "channels",
         "unread_count", "open_count", "merged_into_id"),
        frozenset({"created_at", "last_activity_at"}),
    ),
    (
        "identity",
        "identity",
        ("id", "customer_id", "channel", "address", "display_name", "account", "created_at",
         "unreachable_reason"),
        frozenset({"created_at"}),
    ),
    (
        "conversation",
        "conversation",
        ("id", "customer_id", "status", "assignee", "snoozed_until", "opened_at",
         "first_inbound_at", "first_response_at", "resolved_at", "last_message_at"),
        frozenset({"snoozed_until", "opened_at", "first_inbound_at", "first_response_at",
                   "resolved_at", "last_message_at"}),
    ),
    (
        "message",
        "message",
        ("id", "conversation_id", "customer_id", "direction", "channel", "account",
         "external_id", "identity_id", "author", "subject", "body", "html", "sent_at",
         "stored_at", "thread_ref", "delivery", "attempts", "last_error"),
        frozenset({"sent_at", "stored_at"}),
    ),
)  # fmt: skip


def iso_utc(value: str | None) -> str | None:
    """A stored time as ISO 8601 UTC with a "Z": '2025-01-02T03:04:05.000006Z'."""
    if value is None:
        return None
    if len(value) == 26 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _records(
    conn: sqlite3.Connection, kind: str, table: str, columns: tuple[str, ...], times: frozenset[str]
) -> Iterator[dict[str, Any]]:
    cursor = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")
    time_at = [i for i, name in enumerate(columns) if name in times]
    while True:
        chunk = cursor.fetchmany(2_000)
        if not chunk:
            return
        for row in chunk:
            values = list(row)
            for i in time_at:
                values[i] = iso_utc(values[i])
            record: dict[str, Any] = {"type": kind}
            record.update(zip(columns, values, strict=True))
            yield record


def export_jsonl(url: str, out: IO[str], *, progress: Progress | None = None) -> int:
    """Write the store's customers, identities, conversations and messages to ``out`` as
    JSON Lines (docs/export-format.md), one consistent snapshot, in constant memory.
    Returns the number of lines; calls ``progress(done, total)`` every 10,000 lines."""
    conn = _connect(url)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    written = 0
    try:
        conn.execute("BEGIN")  # one snapshot across the four tables
        total = sum(
            int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for _, table, _, _ in _EXPORTS
        )
        for kind, table, columns, times in _EXPORTS:
            lines: list[str] = []
            for record in _records(conn, kind, table, columns, times):
                lines.append(encode(record))
                written += 1
                if len(lines) == 10_000:
                    out.write("\n".join(lines) + "\n")
                    lines.clear()
                    if progress is not None:
                        progress(written, total)
            if lines:
                out.write("\n".join(lines) + "\n")
        conn.execute("COMMIT")
    finally:
        conn.close()
    if progress is not None:
        progress(written, total)
    return written


def read_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The records of an export, one dict a line (blank lines skipped)."""
    for line in lines:
        if line.strip():
            record = json.loads(line)
            if not isinstance(record, dict) or "type" not in record:
                raise ValueError(f"not an export record: {line[:80]!r}")
            yield record
