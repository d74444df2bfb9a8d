"""Live ingest rate: messages a second through ``inbox.ingest``, the path every connector
(IMAP sync, the demo, Telegram) hands its batches to.

    .venv/bin/python benchmarks/ingest.py [--messages N ...] [--batch B ...]
                                          [--senders S] [--seed K] [--runs R] [--dir D]
                                          [--postgresql SERVER_URL]

The workload is a first sync of a busy support mailbox into a new store: N messages
(default 5,000 and 20,000) from S distinct senders (default 3,000), oldest first,
handed over in batches of B (default 200 and 500), each batch with its cursor. About a
third answer the sender's previous message (In-Reply-To and References), one in ten is
a copy of a reply the team sent from another client, every message carries its raw
bytes and one in thirty an attachment. Each (N, B) fills a fresh store; only the
``ingest`` calls are timed (median of ``--runs``).

Besides the rate it prints what got stored and a digest of the rows (every column but
the wall-clock ones: created_at, stored_at, updated_at, event times; values in one form on
both stores): a change that keeps the digest for the same arguments stored exactly the same
rows, and the two stores stored the same rows when their digests agree.

With ``--postgresql postgresql://USER@HOST:PORT/DB`` each (N, B) is measured on SQLite and
then on PostgreSQL, side by side: a fresh database on that server each run
(omnitui_bench_ingest_PID, migrated, dropped afterwards). The server's own CPU time is not
in the "cores" figure, which is this process's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import statistics
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from stores import machine

from omnitui import db, inbox
from omnitui.blobs import BlobStore
from omnitui.connectors.base import Batch, InboundAttachment, InboundMessage

GOAL = 2_000
START = datetime(2026, 8, 1, 8, 0, tzinfo=UTC)
NAMES = ("Əli Həsənov", "Ayşe Yılmaz", "رضا احمدی", "John Smith", "Leyla Quliyeva", "")
WORDS = ("order", "invoice", "delivery", "refund", "address", "parcel", "payment", "card",
         "courier", "week", "tomorrow", "sifariş", "çatdırılma", "ödəniş", "kargo", "iade",
         "fatura", "سفارش", "ارسال")  # fmt: skip


def workload(messages: int, senders: int, seed: int) -> list[InboundMessage]:
    """The messages of the sync, oldest first (deterministic for the arguments)."""
    rng = random.Random(seed)
    threads: dict[int, list[str]] = {}  # sender -> external ids of their thread so far
    subjects: dict[int, str] = {}
    out: list[InboundMessage] = []
    at = START
    for n in range(messages):
        at += timedelta(seconds=rng.randint(1, 900))
        who = rng.randrange(senders)
        thread = threads.get(who, [])
        answers = bool(thread) and rng.random() < 0.35
        if not answers:
            thread = []
            subjects[who] = f"Order #{rng.randint(1000, 99999)} {rng.choice(WORDS)}"
        subject = subjects[who] if not answers else f"Re: {subjects[who]}"
        external_id = f"<{seed}.{n}@mail.example>"
        body = " ".join(rng.choices(WORDS, k=rng.randint(8, 60)))
        raw = f"Message-ID: {external_id}\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()
        attachments: tuple[InboundAttachment, ...] = ()
        if rng.random() < 1 / 30:
            data = rng.randbytes(rng.randint(500, 4000))
            attachments = (InboundAttachment("invoice.pdf", "application/pdf", data, len(data)),)
        outgoing = answers and rng.random() < 0.3
        out.append(
            InboundMessage(
                account="support",
                channel="email",
                external_id=external_id,
                address=f"customer{who}@example.com",
                body=body,
                sent_at=at,
                display_name=NAMES[who % len(NAMES)],
                subject=subject,
                thread_ref=thread[-1] if answers else None,
                references=tuple(thread[-5:]) if answers else (),
                direction="out" if outgoing else "in",
                author="Aysel (Support)" if outgoing else "",
                attachments=attachments,
                raw_zlib=zlib.compress(raw, 6),
                content_hash=hashlib.sha256(raw).hexdigest(),
            )
        )
        threads[who] = [*thread, external_id]
    return out


@contextmanager
def postgresql_database(server: str, label: str) -> Iterator[str]:
    """A new empty database on ``server`` (omnitui_bench_LABEL_PID) for the block, dropped
    after it; yields its URL."""
    import psycopg

    name = f"omnitui_bench_{label}_{os.getpid()}"
    base = server.rstrip("/").rsplit("/", 1)[0]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_store(root: Path, server: str | None) -> Iterator[str]:
    """A new store at schema head: SQLite under ``root``, or a database on ``server``."""
    if server is None:
        url = db.sqlite_url(root / "omnitui.db")
        db.ensure_schema(url)
        yield url
        return
    with postgresql_database(server, "ingest") as url:
        db.ensure_schema(url)
        yield url


def run(
    url: str, root: Path, messages: list[InboundMessage], batch: int
) -> tuple[float, float, Engine]:
    """Ingest into the fresh store at ``url``; (wall seconds, CPU seconds, engine)."""
    engine = db.make_engine(url)
    blobs = BlobStore(root / "attachments")
    cpu = _cpu_seconds()
    started = time.perf_counter()
    for start in range(0, len(messages), batch):
        part = messages[start : start + batch]
        inbox.ingest(engine, Batch(part, {"INBOX": str(start + len(part))}), blobs)
    return time.perf_counter() - started, _cpu_seconds() - cpu, engine


# Columns set from the clock at write time: left out of the digest.
_WALL_CLOCK = {"created_at", "stored_at", "updated_at", "at", "resolved_at"}
_TABLES = ("customer", "identity", "conversation", "message", "messageraw", "attachment",
           "event", "syncstate", "customer_fts", "message_fts")  # fmt: skip


_ORDER = {"messageraw": "message_id", "syncstate": "account, key", "customer_fts": "rowid",
          "message_fts": "rowid"}  # fmt: skip
"""Tables not ordered by id (PostgreSQL has no rowid but in the full-text tables)."""


def digest(engine: Engine) -> tuple[str, dict[str, int]]:
    """A hash of the stored rows without their wall-clock columns (and PostgreSQL's ``tsv``,
    made from ``body``), values in one form on both stores, and the row counts."""
    h = hashlib.sha256()
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for table in _TABLES:
            order = _ORDER.get(table, "id")
            columns = "rowid, body" if table.endswith("_fts") else "*"
            result = conn.execute(text(f"SELECT {columns} FROM {table} ORDER BY {order}"))
            keep = [i for i, c in enumerate(result.keys()) if c not in _WALL_CLOCK | {"tsv"}]
            rows = 0
            for row in result:
                h.update(repr([_canonical(row[i]) for i in keep]).encode())
                rows += 1
            counts[table] = rows
    return h.hexdigest()[:16], counts


def _canonical(value: Any) -> Any:
    """A value as SQLite returns it: times as UTC text, booleans as 0/1, bytes as bytes."""
    if isinstance(value, datetime):
        return db.stamp(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, action="append", help="default 5000, 20000")
    parser.add_argument("--batch", type=int, action="append", help="default 200, 500")
    parser.add_argument("--senders", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="median of this many fills")
    parser.add_argument("--dir", type=Path, default=None, help="where the stores go (temp)")
    parser.add_argument(
        "--postgresql",
        metavar="SERVER_URL",
        help="also measure on this PostgreSQL server (a fresh database each run), side by side",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    servers: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.postgresql:
        servers.append(("PostgreSQL", args.postgresql))
    for n in args.messages or [5_000, 20_000]:
        messages = workload(n, args.senders, args.seed)
        for batch in args.batch or [200, 500]:
            for label, server in servers:
                rates, cpus, walls = [], [], []
                for _ in range(args.runs):
                    with (
                        tempfile.TemporaryDirectory(dir=args.dir) as tmp,
                        fresh_store(Path(tmp), server) as url,
                    ):
                        wall, cpu, engine = run(url, Path(tmp), messages, batch)
                        walls.append(wall)
                        rates.append(n / wall)
                        cpus.append(cpu / wall)
                        rows, counts = digest(engine)
                        engine.dispose()
                rate = statistics.median(rates)
                verdict = "ok" if rate >= GOAL else f"below the goal of {GOAL:,}"
                print(
                    f"{label:<10} ingest {n:>6,} messages, {args.senders:,} senders, "
                    f"batch {batch:>4}: {rate:7,.0f} msg/s ({verdict}), "
                    f"{statistics.median(walls):.2f} s; {statistics.median(cpus):.2f} cores; "
                    f"{counts['message']:,} messages, {counts['customer']:,} customers, "
                    f"{counts['conversation']:,} conversations; rows {rows}"
                )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
