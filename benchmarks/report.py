"""The reports (omnitui/reports.py) over a year of the benchmark stores, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/report.py [--messages N ...] [--dir D] [--refill]
                                          [--postgresql URL] [--runs 7]

For each store: ``reports.compute`` for the year ending now (the demo history spans its
last 180 days, so every message is in it), on a fresh Reader (cold: the connection and
the first reads of the pages) and then ``--runs`` times on the same one (p50, min, max);
then filtered by a channel, a tag, an agent, and in business hours. With
``--postgresql URL``, the same on the store's copy there (``omnitui db copy``).

The demo fill sets no SLA targets, surveys or tags, so the first run gives the cached
store some (once; it looks for them first): a first response due 4 h and a resolution
due 2 days after opening on every conversation, a survey on every third resolved one
(answered on every sixth, scores 1-5), and the tag "billing" on every seventh (as
benchmarks/views.py does).
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import stores

from omnitui import reports
from omnitui.hours import BusinessHours
from omnitui.reads import Reader

AGENT = "leyla"
"""One of the agents the demo fill assigns conversations to."""
NINE_TO_SIX = BusinessHours(zone="UTC", week=(((540, 1080),),) * 5 + ((), ()))

_DECORATE_SQLITE = (
    "UPDATE conversation SET "
    "first_response_due_at = strftime('%Y-%m-%d %H:%M:%S', opened_at, '+4 hours') "
    "|| substr(opened_at, 20), "
    "resolution_due_at = strftime('%Y-%m-%d %H:%M:%S', opened_at, '+2 days') "
    "|| substr(opened_at, 20), "
    "csat_requested_at = CASE WHEN resolved_at IS NOT NULL AND id % 3 = 0 THEN resolved_at END, "
    "csat_score = CASE WHEN resolved_at IS NOT NULL AND id % 6 = 0 THEN 1 + id % 5 END",
    "INSERT OR IGNORE INTO tag (name) VALUES ('billing')",
    "INSERT OR IGNORE INTO conversationtag (conversation_id, tag) "
    "SELECT id, 'billing' FROM conversation WHERE id % 7 = 0",
)
_DECORATE_POSTGRESQL = (
    "UPDATE conversation SET "
    "first_response_due_at = opened_at + interval '4 hours', "
    "resolution_due_at = opened_at + interval '2 days', "
    "csat_requested_at = CASE WHEN resolved_at IS NOT NULL AND id % 3 = 0 THEN resolved_at END, "
    "csat_score = CASE WHEN resolved_at IS NOT NULL AND id % 6 = 0 THEN 1 + id % 5 END",
    "INSERT INTO tag (name) VALUES ('billing') ON CONFLICT DO NOTHING",
    "INSERT INTO conversationtag (conversation_id, tag) "
    "SELECT id, 'billing' FROM conversation WHERE id % 7 = 0 ON CONFLICT DO NOTHING",
    "ANALYZE",
)
_DECORATED = "SELECT 1 FROM conversation WHERE csat_requested_at IS NOT NULL LIMIT 1"


def decorate_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        if conn.execute(_DECORATED).fetchone():
            return
        with conn:
            for sql in _DECORATE_SQLITE:
                conn.execute(sql)
        conn.execute("ANALYZE")
    finally:
        conn.close()


def decorate_postgresql(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute(_DECORATED).fetchone():
            return
        for sql in _DECORATE_POSTGRESQL:
            conn.execute(sql)  # type: ignore[arg-type]


def postgresql_copy(server: str, where: Path, messages: int, *, refill: bool) -> str:
    """stores.postgresql_copy under a name of its own (omnitui_bench_report_N): the copy
    carries this benchmark's SLA targets, surveys and tags."""
    name = f"omnitui_bench_report_{messages}"
    return stores.postgresql_copy(server, where, messages, refill=refill, name=name, analyze=True)


def timed(reader: Reader, flt: reports.ReportFilter, now: datetime) -> tuple[float, reports.Report]:
    hours = NINE_TO_SIX if flt.business_hours else None
    started = time.perf_counter()
    report = reports.compute(reader, flt, zone=UTC, now=now, hours=hours)
    return (time.perf_counter() - started) * 1000, report


def measure(url: str, label: str, runs: int) -> None:
    now = datetime.now(UTC)
    year = now - timedelta(days=365)
    cases = {
        "all": reports.ReportFilter(year, now),
        "--channel email": reports.ReportFilter(year, now, channels=("email",)),
        "--tag billing": reports.ReportFilter(year, now, tags=("billing",)),
        f"--agent {AGENT}": reports.ReportFilter(year, now, agents=(AGENT,)),
        "--business-hours": reports.ReportFilter(year, now, business_hours=True),
    }
    for name, flt in cases.items():
        cold, report = timed(Reader(url), flt, now)
        reader = Reader(url)
        timed(reader, flt, now)  # connects
        warm = [timed(reader, flt, now)[0] for _ in range(runs)]
        print(
            f"  {label:10} {name:17} cold {cold:7.0f} ms   p50 {statistics.median(warm):7.0f} ms"
            f"   min {min(warm):6.0f}   max {max(warm):6.0f}   "
            f"(opened {report.opened:,}, resolved {report.resolved:,}, "
            f"first responses {report.first_response.count:,}, "
            f"customer messages {sum(map(sum, report.hour_of_week)):,})"
        )


def main() -> None:
    args = stores.arguments("reports: a year of the store", (50_000, 1_000_000))
    runs = 7
    print(f"machine: {stores.machine()}")
    for messages in args.messages:
        where, info = stores.cached(args.dir, messages, refill=args.refill)
        path = where / "omnitui.db"
        decorate_sqlite(path)
        print(f"{messages:,} messages ({info['customers']:,} customers), {runs} runs:")
        measure(f"sqlite:///{path}", "SQLite", runs)
        if args.postgresql:
            url = postgresql_copy(args.postgresql, where, messages, refill=args.refill)
            decorate_postgresql(url)
            measure(url, "PostgreSQL", runs)


if __name__ == "__main__":
    main()
