"""Bulk fill rate: messages a second for omnitui.bulk.fill_demo, the whole fill with its
full-text index, at 50,000 and 1,000,000 messages (15 a customer).

    .venv/bin/python benchmarks/fill.py [--messages N ...] [--dir D] [--optimize]

Each size is filled afresh into DIR/store-N (kept for search.py and first_paint.py).
"""

from __future__ import annotations

import resource
import sqlite3
import sys
import time

import stores

GOAL = 50_000


def main() -> None:
    sys.argv, optimize = [a for a in sys.argv if a != "--optimize"], "--optimize" in sys.argv
    args = stores.arguments(__doc__.splitlines()[0], (50_000, 1_000_000))
    print(f"machine: {stores.machine()}")
    for messages in args.messages:
        before = _cpu_seconds()
        info = stores.fill(args.dir, messages)
        cpu = _cpu_seconds() - before
        verdict = "ok" if info["rate"] >= GOAL else f"below the goal of {GOAL:,}"
        print(
            f"fill {messages:>9,} messages, {info['customers']:,} customers: "
            f"{info['seconds']:6.1f} s, {info['rate']:8,.0f} msg/s ({verdict}); "
            f"store {info['bytes'] / 1e6:,.0f} MB; cpu {cpu:.1f} s "
            f"({cpu / info['seconds']:.2f} cores)"
        )
        if optimize:
            path = stores.data_dir(args.dir, messages) / "omnitui.db"
            conn = sqlite3.connect(path, isolation_level=None)
            started = time.perf_counter()
            conn.execute("INSERT INTO message_fts(message_fts) VALUES ('optimize')")
            took = time.perf_counter() - started
            conn.close()
            print(
                f"  + FTS optimize: {took:.1f} s "
                f"({messages / (info['seconds'] + took):,.0f} msg/s with it)"
            )


def _cpu_seconds() -> float:
    """This process's CPU time, both threads of the fill (and the schema upgrade)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
