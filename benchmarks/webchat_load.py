"""Web chat under load: many visitors at once against a real runner on loopback.

A real ``Runner`` (in this process, its HTTP endpoint on a free 127.0.0.1 port) on a fresh
store, with one ``[webchat.site]`` account whose ``messages_per_minute`` is set high: the limit
counts per token and per IP, and every visitor here comes from 127.0.0.1, so the default (20)
would refuse all but 20 messages of the run. Each visitor gets a token, then all visitors start
at once and each posts its messages one after another (as a person types; a visitor's next
message goes when the previous one is answered), through ``--connections`` httpx clients of one
connection each (as browsers have their own; below the server's 200 connections).

The visitors and the agent's screen each run in a process of their own, as they do in life
(browsers elsewhere, a TUI in its own SSH session): in the server's process they would take
its interpreter lock from it, and the figures would measure the load generator.

Per message, two latencies, both from the moment the visitor's coroutine posts (waiting for a
pooled connection included; CLOCK_MONOTONIC is one clock for all processes):

- stored: until the 200 answer. The connector answers only after the store's commit.
- on an agent's screen: the watcher process polls the store as the TUI does, with a ``Reader``:
  ``PRAGMA data_version`` every ``--poll`` seconds (the TUI: 0.25) and, when it changed, the
  customer list (``Reader.customers``). Every body starts with ``vVISITOR mSEQ``, so the row's
  preview names the visitor; message SEQ of a visitor is on screen at the first poll whose row
  for that visitor shows ``unread`` >= SEQ (nothing reads or answers them during the run, so
  unread is the number of the visitor's messages stored).

Then a second round posts every message again under the same client id (a browser retrying):
each must be answered 200 and nothing new stored.

``--group-max 1`` stores each message in a transaction of its own (the connector without its
group commit), for a side-by-side figure.

    .venv/bin/python benchmarks/webchat_load.py [--visitors 200] [--messages 5]
        [--connections 100] [--poll 0.05] [--timeout 120] [--group-max N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from omnitui.config import Settings  # noqa: E402
from omnitui.connectors import webchat  # noqa: E402
from omnitui.reads import Reader  # noqa: E402
from tests.runner_support import new_store, query  # noqa: E402
from tests.test_webchat import chat, chat_settings, new_token, post  # noqa: E402

MAX_PER_MINUTE = 10_000
"""The highest ``messages_per_minute`` the config takes: 200 x 5 messages and their 1,000
retries from 127.0.0.1 are 2,000 POSTs a minute on the one IP."""
RETRIES = 2
"""Posts again after a transport error (the browser's retry), counted apart."""
KEEPALIVE_EXPIRY = 2.0
"""Below uvicorn's keep-alive timeout (5 s): a pooled connection the server is closing for
idleness is not reused (that race is a ReadError on the next POST)."""
PREVIEW = re.compile(r"v(\d+) m(\d+) ")
TEXTS = (
    "Salam, sifarişim hələ gəlmədi",
    "Merhaba, kargom nerede?",
    "سلام، سفارش من کجاست؟",
    "Hello, where is my order?",
    "Təşəkkürlər!",
)


def body(visitor: int, seq: int) -> str:
    return f"v{visitor:04} m{seq} {TEXTS[(visitor + seq) % len(TEXTS)]}"


def message_id(visitor: int, seq: int) -> str:
    return f"load-{visitor:04}-{seq:02}"


@dataclass(slots=True)
class Sent:
    """One POST: who, when it was posted and answered, and how."""

    visitor: int
    seq: int
    started: float
    answered: float = 0.0
    status: str = ""
    """The HTTP status ("200", "429", ...) or the last transport error's name."""
    retried: list[str] = field(default_factory=list)
    """Transport errors after which the message was posted again under the same id."""


@dataclass
class Round:
    sent: list[Sent]
    wall: float
    """First post to last answer, seconds."""

    @property
    def errors(self) -> Counter[str]:
        return Counter(s.status for s in self.sent if s.status != "200")

    @property
    def retried(self) -> Counter[str]:
        return Counter(error for s in self.sent for error in s.retried)

    def stored_latencies(self) -> list[float]:
        return [s.answered - s.started for s in self.sent if s.status == "200"]


@dataclass
class Result:
    first: Round
    retry: Round
    visible: dict[tuple[int, int], float]
    """(visitor, seq) -> when the agent's poll first showed it."""
    stored: int
    distinct: int
    expected_ids: bool
    """The stored external ids are exactly VISITOR:ID of the messages posted."""
    stored_after_retry: int
    customers: int
    polls: int = 0
    visible_latencies: list[float] = field(default_factory=list)


def watch(
    store_url: str, visitors: int, interval: float, expected: int, timeout: float
) -> tuple[dict[tuple[int, int], float], int]:
    """An agent's screen (run in a process of its own): polls the store like the TUI until
    ``expected`` messages showed or ``timeout`` passed; when each showed, and the list reads."""
    reader = Reader(store_url)
    seen: dict[tuple[int, int], float] = {}
    polls = 0
    last = -1
    deadline = time.monotonic() + timeout
    while len(seen) < expected and time.monotonic() < deadline:
        version = reader.data_version()
        if version != last:
            last = version
            rows = reader.customers(0, visitors + 10)
            now = time.monotonic()
            polls += 1
            for row in rows:
                match = PREVIEW.match(row.preview)
                if match is None:
                    continue
                visitor = int(match[1])
                for seq in range(1, row.unread + 1):
                    seen.setdefault((visitor, seq), now)
        time.sleep(interval)
    return seen, polls


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _round(
    base_url: str, tokens: list[str], messages: int, connections: int, timeout: float
) -> Round:
    """Every visitor posts its messages in turn, all visitors at once."""
    sent: list[Sent] = []
    # A client of one connection each, as browsers have their own: one httpx pool of many
    # connections spends its time finding a free one (O(connections) a request), and the
    # figures would measure that.
    limits = httpx.Limits(
        max_connections=1, max_keepalive_connections=1, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    clients = [
        httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, trust_env=False)
        for _ in range(min(connections, len(tokens)))
    ]

    async def visitor(number: int, token: str) -> None:
        for seq in range(1, messages + 1):
            one = Sent(number, seq, time.monotonic())
            sent.append(one)
            for attempt in range(RETRIES + 1):
                try:
                    answer = await post(
                        clients[number % len(clients)],
                        token,
                        body(number, seq),
                        message_id(number, seq),
                    )
                    one.status = str(answer.status_code)
                    break
                except httpx.TransportError as exc:
                    # As the browser does: post again under the same id (stored once).
                    one.status = type(exc).__name__
                    if attempt < RETRIES:
                        one.retried.append(one.status)
            one.answered = time.monotonic()

    try:
        started = time.monotonic()
        visitors = (visitor(n, t) for n, t in enumerate(tokens))
        await asyncio.wait_for(asyncio.gather(*visitors), timeout)
        return Round(sent, time.monotonic() - started)
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


def visit(
    base_url: str, tokens: list[str], messages: int, connections: int, timeout: float
) -> Round:
    """One round of visitors (run in a process of their own)."""
    return asyncio.run(_round(base_url, tokens, messages, connections, timeout))


def _ready() -> None:
    """Nothing: a worker process that ran it has started and imported this module."""


def _stored_ids(store: Path) -> list[str]:
    rows = query(
        store,
        "SELECT external_id FROM message WHERE channel = 'webchat' AND direction = 'in'",
    )
    return [str(r[0]) for r in rows]


async def load(
    settings: Settings,
    store: Path,
    *,
    visitors: int,
    messages: int,
    connections: int = 100,
    poll: float = 0.05,
    timeout: float = 120.0,
) -> Result:
    """Run both rounds against a runner started on ``settings`` (store at ``store``)."""
    assert settings.store_url is not None
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")  # not fork: this process runs threads
    with (
        ProcessPoolExecutor(1, mp_context=spawn) as browsers,
        ProcessPoolExecutor(1, mp_context=spawn) as screen,
    ):
        # Both started and warm before the clock starts.
        await asyncio.gather(
            loop.run_in_executor(browsers, _ready), loop.run_in_executor(screen, _ready)
        )
        async with chat(settings) as (_, ready):
            base_url = str(ready.base_url)
            issued = await asyncio.gather(*(new_token(ready) for _ in range(visitors)))
            tokens = [token for token, _ in issued]
            total = visitors * messages
            watcher = loop.run_in_executor(
                screen, watch, settings.store_url, visitors, poll, total, timeout + 10
            )
            first = await loop.run_in_executor(
                browsers, visit, base_url, tokens, messages, connections, timeout
            )
            seen, polls = await watcher
            ids = await asyncio.to_thread(_stored_ids, store)
            expected = {
                f"{visitor}:{message_id(n, seq)}"
                for n, (_, visitor) in enumerate(issued)
                for seq in range(1, messages + 1)
            }
            retry = await loop.run_in_executor(
                browsers, visit, base_url, tokens, messages, connections, timeout
            )
            after = await asyncio.to_thread(_stored_ids, store)
            customers = len(
                await asyncio.to_thread(
                    query, store, "SELECT id FROM customer WHERE merged_into_id IS NULL"
                )
            )
    visible = {
        (s.visitor, s.seq): seen[(s.visitor, s.seq)] - s.started
        for s in first.sent
        if (s.visitor, s.seq) in seen
    }
    return Result(
        first=first,
        retry=retry,
        visible=visible,
        stored=len(ids),
        distinct=len(set(ids)),
        expected_ids=set(ids) == expected,
        stored_after_retry=len(after),
        customers=customers,
        polls=polls,
        visible_latencies=list(visible.values()),
    )


def _ms(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:7.1f} ms   p95 {percentile(values, 95) * 1000:7.1f} ms"
        f"   max {max(values, default=float('nan')) * 1000:7.1f} ms"
    )


def report(result: Result, visitors: int, messages: int) -> None:
    first, retry = result.first, result.retry
    posted = len(first.sent)
    print(f"{visitors} visitors x {messages} messages = {posted} POSTs")
    print(
        f"round 1: {first.wall:.2f} s, {posted / first.wall:.0f} messages/s; "
        f"errors: {dict(first.errors) or 'none'}; "
        f"transport errors retried: {dict(first.retried) or 'none'}"
    )
    print(f"  post -> 200 (stored):        {_ms(first.stored_latencies())}")
    print(
        f"  post -> on an agent's screen: {_ms(result.visible_latencies)}"
        f"   ({len(result.visible)} of {posted} seen, {result.polls} list reads)"
    )
    print(
        f"  stored {result.stored}, distinct external ids {result.distinct}, "
        f"as posted: {result.expected_ids}, customers {result.customers}"
    )
    print(
        f"round 2 (same ids again): {retry.wall:.2f} s, {posted / retry.wall:.0f} POSTs/s; "
        f"errors: {dict(retry.errors) or 'none'}; "
        f"transport errors retried: {dict(retry.retried) or 'none'}"
    )
    print(f"  post -> 200:                 {_ms(retry.stored_latencies())}")
    print(f"  stored after the retries: {result.stored_after_retry}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5, help="a visitor")
    parser.add_argument("--connections", type=int, default=100, help="the client's pool")
    parser.add_argument("--poll", type=float, default=0.05, help="the agent screen's interval")
    parser.add_argument("--timeout", type=float, default=120.0, help="a round, at most")
    parser.add_argument(
        "--group-max", type=int, default=webchat.GROUP_MAX, help="messages a transaction"
    )
    args = parser.parse_args()
    webchat.GROUP_MAX = args.group_max

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import stores

    print(stores.machine())
    print(f"group commit: at most {webchat.GROUP_MAX} messages a transaction")
    with tempfile.TemporaryDirectory(prefix="omnitui-webchat-load-") as tmp:
        data_dir = Path(tmp)
        url, store = new_store(data_dir)
        settings = chat_settings(data_dir, url, messages_per_minute=MAX_PER_MINUTE)
        result = asyncio.run(
            load(
                settings,
                store,
                visitors=args.visitors,
                messages=args.messages,
                connections=args.connections,
                poll=args.poll,
                timeout=args.timeout,
            )
        )
    report(result, args.visitors, args.messages)
    total = args.visitors * args.messages
    assert not result.first.errors and not result.retry.errors, "requests failed"
    assert result.stored == total, f"{result.stored} stored, not {total}"
    assert result.distinct == total and result.expected_ids, "external ids not as posted"
    assert result.stored_after_retry == total, "the retries stored something new"
    assert len(result.visible) == total, "not every message reached the agent's screen"
    print("OK: every message stored exactly once, and the retries stored nothing new")


if __name__ == "__main__":
    main()
