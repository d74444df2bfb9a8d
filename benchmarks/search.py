"""Search and open-customer latency over the 1,000,000-message store, read the way the
TUI reads (omnitui.reads.Reader, stdlib sqlite3).

    .venv/bin/python benchmarks/search.py [--messages N] [--dir D] [--refill]

Prints p50 and p95 of 100 Reader.search queries (rare order numbers, common words,
names in az/tr/fa, typed with and without diacritics; goal p50 < 20 ms), the same 100
through Reader.search_query (the search language of omnitui/query.py: plain words must
cost what they did), then FIELD_QUERIES through Reader.search_query, 5 runs each (goal:
p95 < 100 ms at 50,000 messages), and the time of Reader.customer() +
Reader.timeline(limit=100) for a customer with 1,000 messages (goal < 100 ms). The first
pass runs on a fresh Reader (a cold process); the second shows the same queries again.
"""

from __future__ import annotations

import random
import re
import sqlite3
import time
from typing import Any

import stores

from omnitui.query import Context
from omnitui.reads import Reader

WORDS = [
    "order", "refund", "kettle", "headphones", "delivery", "invoice", "warehouse", "label",
    "sifariş", "sifaris", "ödəniş", "çatdırılma", "salam", "təşəkkürlər",
    "sipariş", "siparis", "merhaba", "teşekkürler", "iade", "kulaklık", "kulaklik",
    "سلام", "سفارش", "فاکتور", "ممنون",
    "thanks", "help", "urgent", "password", "plan",
]  # fmt: skip
NAMES = [
    "Əliyev", "Yılmaz", "رضایی", "istanbul", "yilmaz", "Gökçe", "gokce", "Işıl", "isil",
    "Mehmet", "Leyla", "Rəşad", "Quliyeva", "محمدی", "زهرا", "Emma Smith", "Şahin", "sahin",
    "Öztürk", "ozturk", "Həsənov", "Cəfərova", "حسینی", "Oliver", "Taylor", "yıl", "əli",
    "Çağrı", "cagri", "Nərgiz", "Aygün", "aygun", "Tural Rzayev", "فاطمه کریمی", "Burak Kaya",
    "example.az", "100000042", "visitor-1-4242", "mehmet.demir", "leyla.mammadova",
]  # fmt: skip


FIELD_QUERIES = [
    "is:open channel:telegram",  # common: answered from the newest messages
    "is:resolved",
    "is:snoozed",
    "is:pending assignee:me",
    "assignee:none",
    "is:unread",
    "after:7d channel:email",
    "before:2026-06-15",
    "-channel:email is:open",
    "channel:phone",  # no such message: every message is read
    "has:attachment",  # none in the demo store: through the attachment index
    "tag:vip",  # none: through the tag index
    "from:leyla",
    "to:mehmet",
    "customer:yilmaz",
    "from:example.az is:open",
    "order is:open",  # words first, then the fields
    "sifariş is:snoozed",
    "refund -kettle",
    "-order is:open",
    '"order number"',
]
"""Field queries over the demo store (agent "leyla"); the comment says what makes one slow."""


def queries(path: str, count: int = 100) -> list[str]:
    """Deterministic queries: 30 order numbers from the store, then words and names."""
    conn = sqlite3.connect(path)
    top = conn.execute("SELECT max(id) FROM message").fetchone()[0]
    rng = random.Random(42)
    numbers: list[str] = []
    while len(numbers) < 30:
        row = conn.execute("SELECT body FROM message WHERE id=?", (rng.randrange(1, top),))
        found = re.findall(r"\b\d{5}\b", (row.fetchone() or [""])[0])
        numbers += found[:1]
    conn.close()
    mixed = numbers + WORDS + NAMES
    return (mixed * (count // len(mixed) + 1))[:count]


def timed(fn: object, *args: object, **kwargs: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    args = stores.arguments(__doc__.splitlines()[0], (1_000_000,))
    print(f"machine: {stores.machine()}")
    for messages in args.messages:
        where, info = stores.cached(args.dir, messages, refill=args.refill)
        path = str(where / "omnitui.db")
        qs = queries(path)
        urls = [("SQLite", f"sqlite:///{path}")]
        if args.postgresql:
            urls.append(("PostgreSQL", stores.postgresql_copy(args.postgresql, where, messages)))
        for store, url in urls:
            print(f"-- {store}")
            measure(url, path, qs, info, messages)


def measure(url: str, path: str, qs: list[str], info: dict[str, Any], messages: int) -> None:
    reader = Reader(url)
    for label in ("first pass", "second pass"):
        times = []
        slow: list[tuple[float, str, int]] = []
        for q in qs:
            ms, hits = timed(reader.search, q)
            times.append(ms)
            slow.append((ms, q, len(hits)))  # type: ignore[arg-type]
        p50, p95 = stores.percentile(times, 50), stores.percentile(times, 95)
        print(
            f"search, {messages:,} messages, {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"max {max(times):.1f} ms ({'ok' if p50 < 20 else 'above the goal of 20 ms'})"
        )
    worst = sorted(slow, reverse=True)[:5]
    print("  slowest: " + ", ".join(f"{q!r} {ms:.0f} ms ({n} hits)" for ms, q, n in worst))

    times = [timed(reader.search_query, q)[0] for q in qs]
    p50, p95 = stores.percentile(times, 50), stores.percentile(times, 95)
    print(
        f"search_query, the same plain words, {messages:,} messages: p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, max {max(times):.1f} ms"
    )
    context = Context(agent="leyla")
    times, per_query = [], []
    for q in FIELD_QUERIES:
        runs = [timed(reader.search_query, q, context=context) for _ in range(5)]
        times += [ms for ms, _ in runs]
        per_query.append((stores.median([ms for ms, _ in runs]), q, len(runs[0][1])))  # type: ignore[arg-type]
    p50, p95 = stores.percentile(times, 50), stores.percentile(times, 95)
    goal = "ok" if p95 < 100 else "above the goal of 100 ms"
    print(
        f"search_query, {len(FIELD_QUERIES)} field queries x 5, {messages:,} messages: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms ({goal})"
    )
    print(
        "  per query (median): " + ", ".join(f"{q!r} {ms:.1f} ms ({n})" for ms, q, n in per_query)
    )

    customer_id = info["longest_customer_id"]
    opens = []
    for i in range(21):
        fresh = Reader(url)  # a new connection, as a TUI worker thread would open
        started = time.perf_counter()
        detail = fresh.customer(customer_id)
        items = fresh.timeline(customer_id, limit=100)
        opens.append((time.perf_counter() - started) * 1000)
        if i == 0:
            assert detail is not None and len(items) >= 100, (customer_id, len(items))
    count = len(Reader(url).timeline(customer_id, limit=5_000))
    median = stores.median(opens[1:])
    print(
        f"open customer {customer_id} ({count:,} messages): customer() + timeline(100) "
        f"first {opens[0]:.1f} ms, median {median:.1f} ms "
        f"({'ok' if max(opens[0], median) < 100 else 'above the goal of 100 ms'})"
    )


if __name__ == "__main__":
    main()
