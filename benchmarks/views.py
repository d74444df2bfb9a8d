"""The inbox's views over the benchmark stores, read the way the TUI reads them.

    .venv/bin/python benchmarks/views.py [--messages N ...] [--dir D] [--refill] [--runs 9]

For each view (the built-in ones, each channel, and saved searches on tags and on
message terms) prints the median and worst of ``--runs`` reads of its first page as the
customer list reads it after a switch: the count (``Reader.customer_count``) and then
the first 200 rows (``Reader.customers`` with that total), each on a fresh Reader the
first time (cold) and on a warm one after. Then the view bar's counts of every view in
one ``Reader.view_counts`` call, the hotlist (``Reader.hotlist``) and the notification
read (``Reader.inbound_after`` of the newest 1,000 messages).

The demo fill tags nothing, so the first run tags 2 % of the conversations "gold" and
every seventh "billing" in the cached store (once: it looks for the tag first). Other
benchmarks do not query these two tags.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import stores

from omnitui.query import Context
from omnitui.reads import Reader
from omnitui.views import BUILT_IN, CHANNEL_TITLES, channel_view, saved_view

AGENT = "leyla"
"""One of the agents the demo fill assigns conversations to."""
SAVED = [
    saved_view("gold", "tag:gold"),
    saved_view("gold-open", "tag:gold is:open"),
    saved_view("billing", "tag:billing"),
    saved_view("mine-pending", "assignee:me is:pending"),
    saved_view("unread", "is:unread"),
    saved_view("telegram-open", "channel:telegram is:open"),
    saved_view("order-open", "order is:open"),
]
PAGE = 200


def tag_conversations(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        if conn.execute("SELECT 1 FROM conversationtag WHERE tag = 'gold' LIMIT 1").fetchone():
            return
        with conn:
            conn.execute("INSERT OR IGNORE INTO tag (name) VALUES ('gold'), ('billing')")
            conn.execute(
                "INSERT OR IGNORE INTO conversationtag (conversation_id, tag) "
                "SELECT id, 'gold' FROM conversation WHERE id % 50 = 0"
            )
            conn.execute(
                "INSERT OR IGNORE INTO conversationtag (conversation_id, tag) "
                "SELECT id, 'billing' FROM conversation WHERE id % 7 = 0"
            )
    finally:
        conn.close()


def first_page(reader: Reader, view: object, context: Context) -> tuple[float, int]:
    started = time.perf_counter()
    total = reader.customer_count(view=view, context=context)  # type: ignore[arg-type]
    rows = reader.customers(0, PAGE, view=view, context=context, total=total)  # type: ignore[arg-type]
    assert len(rows) == min(PAGE, total)
    return (time.perf_counter() - started) * 1000, total


def main() -> None:
    args = stores.arguments("views: first page and counts", (50_000, 1_000_000))
    runs = 9
    print(f"machine: {stores.machine()}")
    for messages in args.messages:
        where, info = stores.cached(args.dir, messages, refill=args.refill)
        path = where / "omnitui.db"
        tag_conversations(path)
        url = f"sqlite:///{path}"
        context = Context(agent=AGENT)
        views = [*BUILT_IN, *(channel_view(c) for c in CHANNEL_TITLES), *SAVED]
        print(f"\n{messages:,} messages, {info['customers']:,} customers")
        print(f"  {'view':<28} {'customers':>9}  {'cold':>7}  {'p50':>7}  {'max':>7}")
        for view in views:
            cold, total = first_page(Reader(url), view, context)
            reader = Reader(url)
            first_page(reader, view, context)
            times = [first_page(reader, view, context)[0] for _ in range(runs)]
            name = f"{view.title} ({view.query or view.channel or 'everyone'})"
            print(
                f"  {name[:28]:<28} {total:>9,}  {cold:>5.1f}ms  "
                f"{stores.median(times):>5.1f}ms  {max(times):>5.1f}ms"
            )
        reader = Reader(url)
        counted = [*BUILT_IN, *SAVED]
        started = time.perf_counter()
        reader.view_counts(counted, context)
        cold = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            reader.view_counts(counted, context)
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"  view bar counts ({len(counted)} views + channels): cold {cold:.1f} ms, "
            f"p50 {stores.median(times):.1f} ms, max {max(times):.1f} ms"
        )
        without = [v for v in counted if v.query != "order is:open"]
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            reader.view_counts(without, context)
            times.append((time.perf_counter() - started) * 1000)
        print(f"  same without the saved search of words: p50 {stores.median(times):.1f} ms")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            hot = reader.hotlist()
            times.append((time.perf_counter() - started) * 1000)
        print(f"  hotlist ({hot.total:,} unread customers): p50 {stores.median(times):.2f} ms")
        top = reader.newest_message_id()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            reader.inbound_after(top - 1_000)
            times.append((time.perf_counter() - started) * 1000)
        print(f"  inbound_after (newest 1,000 messages): p50 {stores.median(times):.2f} ms")


if __name__ == "__main__":
    main()
