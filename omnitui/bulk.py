"""Bulk writes that bypass the ORM: a synthetic demo history, and the JSON Lines export.

Filling a store with a million messages through the ORM and ``inbox.ingest`` would
take the best part of an hour, so ``fill_demo`` writes rows itself: ids given
explicitly, each batch bound into an in-memory staging database and copied into the
store by ``INSERT ... SELECT`` in one ``BEGIN IMMEDIATE`` transaction, the full-text
index filled after each batch's message rows; a second thread invents and stages the
next batch meanwhile (see "Staging" below). The rows obey inbox.py's rules: every
customer's denormalized columns (last activity, preview, channels, unread and open
counts, version), the conversation times and status events, and FTS rows of text
folded by ``omnitui.normalize.fold``. ``export_jsonl`` streams the store out as JSON Lines
(docs/export-format.md) in constant memory.

This is one of the few modules allowed to hold SQL (with db.py, inbox.py and
reads.py). The fill is SQLite-only (it stages rows in SQLite and writes FTS5 settings; a
demo on PostgreSQL is filled on SQLite and moved with ``omnitui db copy``); the export reads
either store, through sqlite3 or pg.py, and writes the same lines from both. Must not
import Textual, SQLAlchemy, SQLModel or any connector: it runs in the CLI and in benchmarks
without them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import queue
import random
import re
import sqlite3
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from omnitui.normalize import fold
from omnitui.reads import SchemaError, is_postgresql, sqlite_path
from omnitui.synthetic import ACCOUNTS, LANGUAGES, Persona, World
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
_PARALLEL_FROM = 20_000
"""Messages from which a fill invents in a second thread by default."""
_PARALLEL_BATCH_MIN = 5_000
_REF_BASE = 10**10
_FTS_HASH_BYTES = 64 * 1024 * 1024
"""FTS5's buffer of new terms during the fill (the default is 1 MB): fewer, bigger
segments to write and merge. Set for the fill, then put back."""
_FTS_HASH_DEFAULT = 1024 * 1024
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


_MINUTES = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SECONDS = [f"{s:02d}." for s in range(60)]


class _Clock:
    """Microseconds since the epoch as the store's time strings (see reads.stamp)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def __call__(self, t_us: int) -> str:
        return self.many((t_us,))[0]

    def many(self, values: Iterable[int]) -> list[str]:
        days, minutes, seconds = self._days, _MINUTES, _SECONDS
        out: list[str] = []
        add = out.append
        for t_us in values:
            day, rest = divmod(t_us, _DAY_US)
            minute, rest = divmod(rest, 60_000_000)
            date = days.get(day) or self._day(day)
            add(f"{date} {minutes[minute]}{seconds[rest // 1_000_000]}{rest % 1_000_000:06d}")
        return out

    def _day(self, day: int) -> str:
        text = self._days[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
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
    """Everything the generator needs."""

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
    """One batch's rows, in insert order; "" and 0 stand for NULL (see _STAGE_*).

    Message and customer rows end with their folded text for the FTS index.
    """

    first: _Ids
    refs: str
    """What external ids start with: 'bulk-', a token of the fill's time, '-'."""
    longest_customer: int = 0
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    identities: list[tuple[Any, ...]] = field(default_factory=list)
    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    tallies: list[tuple[str, str, str]] = field(default_factory=list)
    """A (minute, direction, channel or author) for each message: counted into the
    reports' summary (messagecount) when the batch is staged (``_summary``)."""


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
    historian = _Historian(order.seed, order.now_us, set(order.taken), order.messages)
    ids = order.first.copy()
    refs = f"bulk-{_base36(order.now_us // 1000)}-"
    position = 0
    while position < order.customers:
        rows = _Rows(first=ids.copy(), refs=refs)
        while position < order.customers and len(rows.messages) < order.batch_messages:
            index = sequence[position]
            if index == 0 and order.longest:
                rows.longest_customer = ids.customer
            historian.customer(ids, rows, counts[index], ages[index])
            position += 1
        yield rows


class _Texts:
    """What customers, agents and notes say, drawn from pools made once a fill.

    Each language has ``1 << bits`` inbound messages and as many replies from
    ``synthetic.World`` (order numbers vary, so a rare number still finds only a few
    messages), each with its text already folded for the FTS, so a message costs one
    ``getrandbits`` and no folding. Folding the subject and the body apart equals
    folding them joined by a newline (``fold`` composes nothing across a newline or a
    space; a test checks every FTS row against ``fold``).
    """

    def __init__(self, world: World, bits: int, fold_: Callable[[str], str]) -> None:
        size = 1 << bits
        self.bits = bits
        self.inbound: dict[str, list[tuple[str, str, str, str]]] = {}
        self.replies: dict[str, list[tuple[str, str]]] = {}
        for lang in LANGUAGES:
            pairs = [world.inbound(lang) for _ in range(size)]
            self.inbound[lang] = [(s, b, fold_(s), fold_(b)) for s, b in pairs]
            replies = [world.reply(lang) for _ in range(size)]
            self.replies[lang] = [(b, fold_(b)) for b in replies]
        notes = [world.note() for _ in range(size)]
        self.notes = [(b, "\n" + fold_(b)) for b in notes]


def _pool_bits(messages: int) -> int:
    """Pools of 1/128 to 1/256 of the messages (a text costs ~5-10 us to make), at most
    4,096 texts a language: 512 at 50,000 messages, 4,096 from 400,000."""
    return max(4, min(12, (messages // 128).bit_length()))


class _Historian:
    """Invents customers' histories as rows, obeying inbox.py's rules."""

    def __init__(self, seed: int, now_us: int, taken: set[tuple[str, str]], messages: int) -> None:
        self.world = World(seed)
        self.rng = random.Random(seed * 7_919 + 17)
        self.now_us = now_us
        self.taken = taken
        self.fold = _Folder()
        self.clock = _Clock()
        self.texts = _Texts(self.world, _pool_bits(messages), self.fold)
        self.persona_index = 0

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
        rng, world, clock, texts = self.rng, self.world, self.clock, self.texts
        random_ = rng.random
        draw, bits = rng.getrandbits, texts.bits
        log = math.log
        cid = ids.customer
        ids.customer += 1
        persona = self._persona(cid)
        lang = persona.language
        name = persona.name
        inbound_pool, reply_pool, note_pool = texts.inbound[lang], texts.replies[lang], texts.notes

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
        # into the SPAN_DAYS before its last activity. Gaps: replies after 1 min + ~2 h,
        # the customer after 10 min + ~10 h, notes 5-60 min, status 10 min + ~6 h
        # (exponential: -log(1 - U) times the mean).
        times: list[float] = []
        kinds: list[str] = []
        convs: list[int] = []
        t = 0.0
        for c, size in enumerate(sizes):
            if c:
                t += 86_400 * (2 + 38 * random_())
            status = newest if c == nconv - 1 else "resolved"
            kind = "in"
            times.append(t)
            kinds.append(kind)
            convs.append(c)
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
                    t += 60.0 - 7_200.0 * log(1.0 - random_())
                elif kind == "in":
                    t += 600.0 - 36_000.0 * log(1.0 - random_())
                else:
                    t += 300.0 + 3_300.0 * random_()
                times.append(t)
                kinds.append(kind)
                convs.append(c)
            if status != "open":
                t += 600.0 - 21_600.0 * log(1.0 - random_())
                times.append(t)
                kinds.append(status)
                convs.append(c)
        span = t
        room = SPAN_DAYS * 86_400 - age_s - 3600
        scale = 1_000_000 * (min(1.0, room / span) if span > 0 else 1.0)
        origin = self.now_us - int(age_s * 1_000_000) - int(span * scale)
        stamps = clock.many([origin + int(rel * scale) for rel in times])

        identities = persona.identities
        ident_ids = range(ids.identity, ids.identity + len(identities))
        ids.identity += len(identities)
        conv_ids = range(ids.conversation, ids.conversation + nconv)
        ids.conversation += nconv
        messages, events = out.messages, out.events
        mid, eid = ids.message, ids.event

        first_at = last_at = preview_raw = ""
        unread = 0
        conv_id = -1
        conv_first_in = conv_first_out = conv_last = conv_resolved = ""
        conv_re = conv_re_folded = ""  # "Re: " and the first subject, for email
        conv_agent = channel = account = ""
        last_in = conv_replies = 0
        tally = out.tallies.append
        email = False
        ident_id = 0
        reason = ""
        for at, kind, c in zip(stamps, kinds, convs, strict=True):
            if conv_ids[c] != conv_id:
                if conv_id >= 0:
                    out.conversations.append(
                        _conversation(conv_id, cid, "resolved", conv_agent, "", conv_first_in,
                                      conv_first_out, conv_resolved, conv_last, channel,
                                      conv_replies)
                    )  # fmt: skip
                conv_id = conv_ids[c]
                which = 0 if c == 0 else rng.randrange(len(identities))
                channel = identities[which][0]
                email = channel == "email"
                account = ACCOUNTS[channel]
                ident_id = ident_ids[which]
                conv_agent = world.agent()
                conv_first_in = at
                conv_first_out = conv_resolved = conv_re = conv_re_folded = ""
                conv_replies = unread = 0
                first_at = first_at or at
                reason = "bulk demo: no open conversation; opened one"
            if kind == "in":
                subject, body, folded_subject, folded_body = inbound_pool[draw(bits)]
                if not email:
                    subject = folded_subject = ""
                elif conv_re:
                    subject, folded_subject = conv_re, conv_re_folded
                else:
                    conv_re, conv_re_folded = "Re: " + subject, "re: " + folded_subject
                last_in = mid
                tally((at[:16], "in", channel))
                messages.append(
                    (mid, conv_id, cid, "in", channel, account, ident_id, name, subject, body,
                     at, 0, reason, "", 0, "", f"{folded_subject}\n{folded_body}")
                )  # fmt: skip
                reason = "bulk demo: joined the open conversation"
                preview_raw = subject or body
                last_at = conv_last = at
                unread += 1
            elif kind == "out":
                body, folded_body = reply_pool[draw(bits)]
                if random_() < FAILED_SHARE:
                    state, attempts, error = "failed", 5, rng.choice(_ERRORS)
                else:
                    state, attempts, error = "sent", 1, ""
                tally((at[:16], "out", conv_agent))
                conv_replies += 1
                messages.append(
                    (mid, conv_id, cid, "out", channel, account, ident_id, conv_agent, conv_re,
                     body, at, last_in, "", state, attempts, error,
                     f"{conv_re_folded}\n{folded_body}")
                )  # fmt: skip
                preview_raw = body
                last_at = conv_last = at
                conv_first_out = conv_first_out or at
                unread = 0
            elif kind == "note":
                body, folded = note_pool[draw(bits)]
                tally((at[:16], "note", ""))
                messages.append(
                    (mid, conv_id, cid, "note", "", "", 0, conv_agent, "", body, at, 0, "", "",
                     0, "", folded)
                )  # fmt: skip
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
                          conv_first_out, conv_resolved, conv_last, channel, conv_replies)
        )  # fmt: skip
        # Every change bumps the version once: each message and each status event.
        version = (mid - ids.message) + (eid - ids.event)
        ids.message, ids.event = mid, eid

        parts = [name]
        for (chan, address), iid in zip(identities, ident_ids, strict=True):
            out.identities.append((iid, cid, chan, address, name, ACCOUNTS[chan], first_at))
            parts += (address, name)
        channels = ",".join(sorted({chan for chan, _ in identities}))
        open_count = 0 if newest == "resolved" else 1
        out.customers.append(
            (cid, name, first_at, last_at, one_line(preview_raw, 120), channels, unread,
             open_count, version, self.fold(" ".join(p for p in parts if p)))
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
    channel: str,
    replies: int,
) -> tuple[Any, ...]:
    assignee = agent if first_response_at or status != "open" else ""
    return (
        conv_id, customer_id, status, assignee, snoozed_until, first_inbound_at,
        first_inbound_at, first_response_at, resolved_at, last_message_at, channel,
        replies, agent[:200] if replies else "",
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
# Staging: the rows go through an in-memory database, so the writer only copies
#
# Binding a row's values costs Python time and the inserts (indexes, FTS) cost
# SQLite time. A batch is first bound into a staging database with no index, then
# copied into the store by INSERT ... SELECT: one statement a table that runs in C
# with the GIL released. So a second thread can invent and stage the next batch
# (Python) while this one copies (SQLite), with nothing pickled between them.

_STAGE_TABLES = {
    "customer": "id INTEGER PRIMARY KEY, name, created_at, last_activity_at, preview, channels, "
    "unread_count, open_count, version, fts",
    "identity": "id INTEGER PRIMARY KEY, customer_id, channel, address, display_name, account, "
    "created_at",
    "conversation": "id INTEGER PRIMARY KEY, customer_id, status, assignee, snoozed_until, "
    "opened_at, first_inbound_at, first_response_at, resolved_at, last_message_at, channel, "
    "agent_replies, first_responder",
    "message": "id INTEGER PRIMARY KEY, conversation_id, customer_id, direction, channel, "
    "account, identity_id, author, subject, body, sent_at, thread_in, thread_reason, "
    "delivery, attempts, last_error, fts",
    "event": "id INTEGER PRIMARY KEY, at, agent, kind, customer_id, conversation_id, before, after",
}

# Rows never hold None: the sqlite3 module binds None several times slower than a
# str or an int (it looks for an adapter first), so "" and 0 stand for NULL where
# the copy says nullif(...). The copy adds each table's id offset (:c, :i, :v, :m, :e),
# normally 0: another process may have written since the ids were handed out. External
# ids and idempotency keys are made in SQL from the message ids as staged, after :x
# ('bulk-', a token of the fill's time, '-'): unique per account across fills. The id
# goes in plus :n (10**10), so the keys have as many digits and sort as the ids do:
# their unique indexes grow at the end rather than all over (which costs ~2 us a message).
_COPY = (
    "INSERT INTO main.customer (id, name, created_at, last_activity_at, preview, channels, "
    "unread_count, open_count, version) SELECT id + :c, name, created_at, last_activity_at, "
    "preview, channels, unread_count, open_count, version FROM stage.customer",
    "INSERT INTO main.identity (id, customer_id, channel, address, display_name, account, "
    "created_at) SELECT id + :i, customer_id + :c, channel, address, display_name, account, "
    "created_at FROM stage.identity",
    "INSERT INTO main.conversation (id, customer_id, status, assignee, snoozed_until, "
    "opened_at, first_inbound_at, first_response_at, resolved_at, last_message_at, channel, "
    "agent_replies, first_responder) "
    "SELECT id + :v, customer_id + :c, status, nullif(assignee, ''), "
    "nullif(snoozed_until, ''), opened_at, first_inbound_at, nullif(first_response_at, ''), "
    "nullif(resolved_at, ''), last_message_at, channel, agent_replies, first_responder "
    "FROM stage.conversation",
    "INSERT INTO main.message (id, conversation_id, customer_id, direction, channel, account, "
    "external_id, identity_id, author, subject, body, sent_at, stored_at, thread_ref, "
    "thread_reason, delivery, idempotency_key, attempts, last_error) "
    "SELECT id + :m, conversation_id + :v, customer_id + :c, direction, channel, account, "
    "CASE WHEN direction = 'in' OR delivery = 'sent' THEN :x || (:n + id) END, "
    "nullif(identity_id, 0) + :i, author, subject, body, sent_at, sent_at, "
    "CASE WHEN thread_in THEN :x || (:n + thread_in) END, thread_reason, nullif(delivery, ''), "
    "CASE WHEN direction = 'out' THEN :x || (:n + id) || '@omnitui' END, attempts, "
    "nullif(last_error, '') FROM stage.message",
    "INSERT INTO main.event (id, at, agent, kind, customer_id, conversation_id, before, after) "
    "SELECT id + :e, at, agent, kind, customer_id + :c, conversation_id + :v, before, after "
    "FROM stage.event",
    # The index after the rows, in one statement a table (FTS5 buffers the terms).
    "INSERT INTO main.message_fts (rowid, body) SELECT id + :m, fts FROM stage.message",
    "INSERT INTO main.customer_fts (rowid, body) SELECT id + :c, fts FROM stage.customer",
)


# The reports' summary (migration 0009). The store's triggers keep it row by row, which
# costs a fill a third of its time: they are dropped while a batch goes in and made again
# before it commits (no other connection sees the store without them: the batch holds the
# write lock). Meanwhile the batch brings its own part, counted as its rows were made
# (whole customers a batch, so whole conversations): each conversation's agent_replies
# and first_responder in its row, and the quarter-hour counts (_Rows.counts, keyed as the
# triggers key them; tests/test_report_summary.py checks a fill against them).
_SUMMARY_TRIGGERS = (
    "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' "
    "AND tbl_name IN ('message', 'conversation') ORDER BY name"
)
_SUMMARIZE = (
    "INSERT INTO main.messagecount (bucket, direction, channel, author, n) "
    "SELECT bucket, direction, channel, author, n FROM stage.summary WHERE true "
    "ON CONFLICT (bucket, direction, channel, author) DO UPDATE SET n = n + excluded.n"
)
_QUARTER = {f"{m:02d}": f"{m // 15 * 15:02d}:00.000000" for m in range(60)}
"""A time's minutes ('YYYY-MM-DD HH:MM...'[14:16]) -> the rest of its quarter hour."""


def _summary(tallies: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str, int]]:
    """messagecount's rows for a batch's tallies: counted by minute (in C), then by
    quarter hour; a reply is counted by its author, anything else by its channel."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for (minute, direction, who), n in Counter(tallies).items():
        bucket = minute[:14] + _QUARTER[minute[14:16]]
        if direction == "out":
            counts[bucket, direction, "", who[:200]] += n
        else:
            counts[bucket, direction, who, ""] += n
    return [(*key, n) for key, n in counts.items()]


@dataclass(frozen=True, slots=True)
class _Staged:
    """A batch waiting in a staging database: where, and what the fill reports of it."""

    slot: int
    first: _Ids
    refs: str
    longest_customer: int
    counts: tuple[int, int, int, int, int]
    """customers, identities, conversations, messages, events"""


class _Stage:
    """Two staging databases, so one batch can be staged while the other is copied.

    In memory (the memdb VFS, which shares a database by name within a process);
    in a temporary directory where the SQLite library has no memdb.
    """

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        unique = f"omnitui-fill-{os.getpid()}-{id(self):x}-{time.monotonic_ns()}"
        try:
            self.names = [f"file:/{unique}-{slot}?vfs=memdb" for slot in (0, 1)]
            self.conns = [self._open(name) for name in self.names]
        except sqlite3.OperationalError:  # no memdb VFS
            self._tmp = tempfile.TemporaryDirectory(prefix="omnitui-fill-")
            paths = [Path(self._tmp.name) / f"stage-{slot}.db" for slot in (0, 1)]
            self.names = [path.resolve().as_uri() for path in paths]
            self.conns = [self._open(name) for name in self.names]
        self._sql = {
            table: f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns.split(',')))})"
            for table, columns in _STAGE_TABLES.items()
        }

    @staticmethod
    def _open(name: str) -> sqlite3.Connection:
        # Used by the staging thread only, though made here.
        conn = sqlite3.connect(name, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        for table, columns in _STAGE_TABLES.items():
            conn.execute(f"CREATE TABLE {table} ({columns})")
        conn.execute("CREATE TABLE summary (bucket, direction, channel, author, n)")
        return conn

    def put(self, slot: int, rows: _Rows) -> _Staged:
        """Stage ``rows`` in database ``slot`` (which nobody may be reading)."""
        conn, sql = self.conns[slot], self._sql
        conn.execute("BEGIN")
        for table, values in (
            ("customer", rows.customers), ("identity", rows.identities),
            ("conversation", rows.conversations), ("message", rows.messages),
            ("event", rows.events),
        ):  # fmt: skip
            conn.execute(f"DELETE FROM {table}")
            conn.executemany(sql[table], values)
        conn.execute("DELETE FROM summary")
        conn.executemany("INSERT INTO summary VALUES (?, ?, ?, ?, ?)", _summary(rows.tallies))
        conn.execute("COMMIT")
        counts = (len(rows.customers), len(rows.identities), len(rows.conversations),
                  len(rows.messages), len(rows.events))  # fmt: skip
        return _Staged(slot, rows.first.copy(), rows.refs, rows.longest_customer, counts)

    def serially(self, batches: Iterable[_Rows]) -> Iterator[_Staged]:
        """Each batch staged when the writer asks for it, in this thread."""
        for rows in batches:
            yield self.put(0, rows)

    @contextlib.contextmanager
    def concurrently(self, batches: Iterable[_Rows]) -> Iterator[Iterator[_Staged]]:
        """Every batch invented and staged by a second thread, one batch ahead."""
        ready: queue.Queue[_Staged | BaseException | None] = queue.Queue()
        free = [threading.Semaphore(1), threading.Semaphore(1)]
        stop = threading.Event()

        def work() -> None:
            try:
                for number, rows in enumerate(batches):
                    slot = number % 2
                    while not free[slot].acquire(timeout=0.1):
                        if stop.is_set():
                            return
                    if stop.is_set():
                        return
                    ready.put(self.put(slot, rows))
                ready.put(None)
            except BaseException as error:  # handed to the writer
                ready.put(error)

        def received() -> Iterator[_Staged]:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise RuntimeError("the fill's generator failed") from item
                yield item
                free[item.slot].release()

        thread = threading.Thread(target=work, name="omnitui-fill", daemon=True)
        thread.start()
        try:
            yield received()
        finally:
            stop.set()
            thread.join()

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        if self._tmp is not None:
            self._tmp.cleanup()


# ---------------------------------------------------------------------------
# Writing


def _connect(url: str) -> sqlite3.Connection:
    path = sqlite_path(url)
    if path is None and is_postgresql(url):
        raise SchemaError(
            "the demo fill writes SQLite stores only: fill one with `omnitui demo --no-tui`, "
            "then move it with `omnitui db copy --from sqlite:///PATH --to postgresql://...`"
        )
    if path is None:
        raise SchemaError(f"{url}: not a SQLite store URL (sqlite:///PATH)")
    if not path.exists():
        raise SchemaError(f"{path}: no omnitui store here; run `omnitui db upgrade` first")
    # As a URI, so that ATTACH takes the staging databases' URIs.
    conn = sqlite3.connect(
        path.resolve().as_uri(), uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None
    )
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
    messages (the benchmarks open it). ``parallel`` invents and stages the rows in a
    second thread while this one copies them into the store (default: from 20,000
    messages, with two cores or more); the rows are the same either way. ``optimize`` merges the
    message index into one segment at the end (benchmarks/README.md says what it
    costs and buys). ``now`` (default: the clock) is where the history ends; the same
    seed, store and ``now`` give the same rows. Calls ``progress(done, total)`` with
    message counts after every batch.
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
        parallel = messages >= _PARALLEL_FROM and (os.cpu_count() or 1) > 1
    if parallel:
        # At least four batches, so that copying overlaps inventing most of the time.
        batch_messages = min(batch_messages, max(_PARALLEL_BATCH_MIN, -(-messages // 4)))
    now_us = int(((now or datetime.now(UTC)) - _EPOCH).total_seconds() * 1_000_000)

    conn = _connect(url)
    stage = _Stage()
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
        with _fts_hash_size(conn, _FTS_HASH_BYTES):
            if parallel:
                with stage.concurrently(_batches(order)) as staged:
                    written = _write_batches(conn, stage, staged, messages, progress)
            else:
                batches = stage.serially(_batches(order))
                written = _write_batches(conn, stage, batches, messages, progress)
        if optimize:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO message_fts(message_fts) VALUES ('optimize')")
            conn.execute("COMMIT")
    finally:
        conn.close()
        stage.close()
    return replace(written, seconds=time.perf_counter() - started)


@contextlib.contextmanager
def _fts_hash_size(conn: sqlite3.Connection, size: int) -> Iterator[None]:
    """FTS5's 'hashsize' for message_fts (a setting stored in the index) meanwhile."""

    def setting() -> int:
        row = conn.execute("SELECT v FROM message_fts_config WHERE k = 'hashsize'").fetchone()
        return int(row[0]) if row else _FTS_HASH_DEFAULT

    def put(value: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO message_fts(message_fts, rank) VALUES ('hashsize', ?)", (value,))
        conn.execute("COMMIT")

    before = setting()
    put(size)
    try:
        yield
    finally:
        put(before)


def _write_batches(
    conn: sqlite3.Connection,
    stage: _Stage,
    batches: Iterable[_Staged],
    total: int,
    progress: Progress | None,
) -> FillResult:
    """Copy every staged batch into the store, each in one transaction."""
    counts = [0, 0, 0, 0, 0]
    first_customer = last_customer = 0
    longest: int | None = None
    offset = _Ids(0, 0, 0, 0, 0)
    for batch in batches:
        conn.execute("ATTACH DATABASE ? AS stage", (stage.names[batch.slot],))
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have written since the ids were handed out: move
                # past it (and stay past it: the batches after this one were made alike).
                free, first = _next_ids(conn), batch.first
                offset = _Ids(
                    max(offset.customer, free.customer - first.customer),
                    max(offset.identity, free.identity - first.identity),
                    max(offset.conversation, free.conversation - first.conversation),
                    max(offset.message, free.message - first.message),
                    max(offset.event, free.event - first.event),
                )
                by = {"c": offset.customer, "i": offset.identity, "v": offset.conversation,
                      "m": offset.message, "e": offset.event, "x": batch.refs,
                      "n": _REF_BASE}  # fmt: skip
                triggers = conn.execute(_SUMMARY_TRIGGERS).fetchall()
                for name, _sql in triggers:
                    conn.execute(f'DROP TRIGGER main."{name}"')
                for sql in _COPY:
                    conn.execute(sql, by)
                conn.execute(_SUMMARIZE)
                for _name, sql in triggers:
                    conn.execute(sql)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute("DETACH DATABASE stage")
        for i, n in enumerate(batch.counts):
            counts[i] += n
        if batch.counts[0]:
            first_customer = first_customer or batch.first.customer + offset.customer
            last_customer = batch.first.customer + offset.customer + batch.counts[0] - 1
        if batch.longest_customer:
            longest = batch.longest_customer + offset.customer
        if progress is not None:
            progress(counts[3], total)
    customers, identities, conversations, messages, events = counts
    return FillResult(
        customers, identities, conversations, messages, events, first_customer, last_customer,
        longest, 0.0,
    )  # fmt: skip


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
         "first_inbound_at", "first_response_at", "resolved_at", "last_message_at", "channel",
         "sla_policy", "first_response_due_at", "resolution_due_at", "csat_requested_at",
         "csat_score", "csat_comment", "csat_at", "bot_answers", "handed_off_at"),
        frozenset({"snoozed_until", "opened_at", "first_inbound_at", "first_response_at",
                   "resolved_at", "last_message_at", "first_response_due_at",
                   "resolution_due_at", "csat_requested_at", "csat_at", "handed_off_at"}),
    ),
    (
        "message",
        "message",
        ("id", "conversation_id", "customer_id", "direction", "channel", "account",
         "external_id", "identity_id", "author", "subject", "body", "html", "sent_at",
         "stored_at", "thread_ref", "thread_reason", "refs", "content_hash", "delivery",
         "attempts", "last_error", "kind", "buttons", "duration_seconds", "outcome"),
        frozenset({"sent_at", "stored_at"}),
    ),
    (
        "attachment",
        "attachment",
        ("id", "message_id", "filename", "content_type", "size", "sha256", "inline",
         "content_id", "omitted"),
        frozenset(),
    ),
    (
        "raw",
        "messageraw",
        ("message_id", "data"),
        frozenset(),
    ),
    (
        "kb_entry",
        "kbentry",
        ("id", "slug", "tags", "updated_at", "updated_by", "language", "question", "answer"),
        frozenset({"updated_at"}),
    ),
)  # fmt: skip
"""What is exported, in order: (record type, table, columns, the columns that are times).
A table in ``_JOINS`` is read with the rows the join adds (their columns unqualified)."""

_JOINS = {
    # A call's details (phonecall) on its message: flat keys, null for any other message.
    "message": "LEFT JOIN phonecall ON phonecall.message_id = message.id",
    # An entry's languages, one row each, folded into its record by _kb_entries.
    "kbentry": "LEFT JOIN kbvariant ON kbvariant.entry_id = kbentry.id",
}

_KB_LANGUAGE = ("language", "question", "answer")


_BOOLEANS = frozenset({"inline"})
"""Exported columns that are booleans (docs/export-format.md)."""

_JSON = frozenset({"buttons"})
"""Exported columns stored as JSON text, exported decoded."""


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
    key = f"{table}.{columns[0]}"  # qualified: a joined table may have a column so named
    selected = ", ".join((key, *columns[1:]))
    sql = f"SELECT {selected} FROM {table} {_JOINS.get(table, '')} ORDER BY {key}"
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        # A server-side cursor: psycopg's usual one would hold the whole table in memory.
        cursor: Any = conn.raw.cursor(name=f"omnitui_export_{table}")  # type: ignore[attr-defined]
        cursor.execute(sql)
    else:
        cursor = conn.execute(sql)
    time_at = [i for i, name in enumerate(columns) if name in times]
    # Booleans as JSON's: SQLite stores them as 0/1, PostgreSQL as booleans.
    flags = [i for i, name in enumerate(columns) if name in _BOOLEANS]
    decoded = [i for i, name in enumerate(columns) if name in _JSON]
    raw = kind == "raw"
    while True:
        chunk = cursor.fetchmany(2_000)
        if not chunk:
            cursor.close()
            return
        for row in chunk:
            values = list(row)
            for i in time_at:
                values[i] = iso_utc(values[i])
            for i in flags:
                if values[i] is not None:
                    values[i] = bool(values[i])
            for i in decoded:
                if values[i] is not None:
                    values[i] = json.loads(values[i])
            if raw:  # the message as the wire gave it, base64 of the uncompressed bytes
                values[1] = base64.b64encode(zlib.decompress(values[1])).decode("ascii")
            record: dict[str, Any] = {"type": kind}
            record.update(zip(columns, values, strict=True))
            yield record


def _kb_entries(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One record an entry from its rows joined with kbvariant (sorted by entry): its
    ``languages`` map each language, in code order, to its question and answer."""
    entry: dict[str, Any] | None = None
    languages: dict[str, dict[str, str]] = {}
    for row in rows:
        language, question, answer = (row.pop(name) for name in _KB_LANGUAGE)
        if entry is None or entry["id"] != row["id"]:
            if entry is not None:
                yield {**entry, "languages": dict(sorted(languages.items()))}
            entry, languages = row, {}
        if language is not None:  # an entry without languages has one row of NULLs
            languages[language] = {"question": question, "answer": answer}
    if entry is not None:
        yield {**entry, "languages": dict(sorted(languages.items()))}


def export_jsonl(url: str, out: IO[str], *, progress: Progress | None = None) -> int:
    """Write the store's customers, identities, conversations, messages and knowledge base
    entries to ``out`` as JSON Lines (docs/export-format.md), one consistent snapshot, in
    constant memory. Returns the number of lines; calls ``progress(done, total)`` every
    10,000 lines."""
    if is_postgresql(url):
        from omnitui import pg

        conn: sqlite3.Connection = pg.connect(url)  # type: ignore[assignment]
        begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    else:
        conn, begin = _connect(url), "BEGIN"
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    written = 0
    try:
        conn.execute(begin)  # one snapshot across the tables
        total = sum(
            int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for _, table, _, _ in _EXPORTS
        )
        for kind, table, columns, times in _EXPORTS:
            lines: list[str] = []
            records = _records(conn, kind, table, columns, times)
            for record in _kb_entries(records) if table == "kbentry" else records:
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
