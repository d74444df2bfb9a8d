"""Benchmark stores: filled once with omnitui.bulk.fill_demo and reused from a cache dir.

Filling a million messages takes a while, so every benchmark keeps its stores under
``--dir`` (default: $TMPDIR/omnitui-bench) and refills only when asked or missing.
A store's data dir holds ``omnitui.db`` (what `omnitui --data-dir` opens) and
``fill.json`` (how it was filled, and the customer with the longest history).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from omnitui import bulk, db

PER_CUSTOMER = 15
"""Messages a customer on average: 1,000,000 messages are ~66,667 customers."""
LONGEST = 1_000
"""The history of the one customer the benchmarks open."""
SEED = 1


def arguments(description: str, default_sizes: tuple[int, ...]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--messages",
        type=int,
        action="append",
        help=f"store size in messages (repeatable; default {', '.join(map(str, default_sizes))})",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "omnitui-bench",
        help="where the stores are kept between runs",
    )
    parser.add_argument("--refill", action="store_true", help="fill the stores again")
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="also measure each store copied to this PostgreSQL server (a database "
        "omnitui_bench_N made there once with `omnitui db copy`), side by side",
    )
    args = parser.parse_args()
    args.messages = args.messages or list(default_sizes)
    return args


def data_dir(root: Path, messages: int) -> Path:
    return root / f"store-{messages}"


def fill(root: Path, messages: int, *, optimize: bool = False) -> dict[str, Any]:
    """A fresh store of ``messages`` messages under ``root``; returns its fill.json."""
    where = data_dir(root, messages)
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    url = db.sqlite_url(where / "omnitui.db")
    db.upgrade(url)
    last = [time.perf_counter()]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 5:
            last[0] = time.perf_counter()
            print(f"  ... {done:,} / {total:,}", file=sys.stderr, flush=True)

    result = bulk.fill_demo(
        url,
        customers=max(1, messages // PER_CUSTOMER),
        messages=messages,
        seed=SEED,
        longest=min(LONGEST, messages // 2),
        optimize=optimize,
        progress=progress,
    )
    info = {
        "messages": result.messages,
        "customers": result.customers,
        "seconds": result.seconds,
        "rate": result.rate,
        "longest_customer_id": result.longest_customer_id,
        "optimized": optimize,
        "bytes": (where / "omnitui.db").stat().st_size,
    }
    (where / "fill.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info


def cached(root: Path, messages: int, *, refill: bool = False) -> tuple[Path, dict[str, Any]]:
    """The store of ``messages`` messages, filled now if it is not there yet."""
    where = data_dir(root, messages)
    info_path = where / "fill.json"
    if refill or not info_path.exists():
        print(f"filling a store of {messages:,} messages in {where} ...", file=sys.stderr)
        fill(root, messages)
    info: dict[str, Any] = json.loads(info_path.read_text(encoding="utf-8"))
    return where, info


def postgresql_copy(
    server: str,
    where: Path,
    messages: int,
    *,
    refill: bool = False,
    name: str = "",
    analyze: bool = False,
) -> str:
    """The URL of a verified PostgreSQL copy of the store at ``where`` (made now if missing),
    in the database ``name`` (default omnitui_bench_N); ``analyze``: VACUUM ANALYZE a new copy."""
    import psycopg

    from omnitui import dbcopy

    name = name or f"omnitui_bench_{messages}"
    url = f"{server.rstrip('/').rsplit('/', 1)[0]}/{name}"
    admin = f"{server.rstrip('/').rsplit('/', 1)[0]}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        present = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if present and not refill:
        with psycopg.connect(url) as conn:
            unfinished = conn.execute("SELECT to_regclass(%s)", (dbcopy.MARKER,)).fetchone()
        if unfinished and unfinished[0] is None:
            return url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    print(f"copying the store of {messages:,} messages to {name} ...", file=sys.stderr)
    started = time.perf_counter()
    report = dbcopy.copy_store(db.sqlite_url(where / "omnitui.db"), url)
    assert report.ok, report
    print(
        f"  copied and verified {report.rows:,} rows in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    if analyze:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    return url


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    import os
    import platform
    import sqlite3

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {load:.2f}"
    )
