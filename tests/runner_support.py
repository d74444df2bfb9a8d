"""What the runner, lease and two-writer tests share: settings, store peeks, waiting, processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omnitui import db
from omnitui.config import Settings, parse
from omnitui.reads import is_postgresql, sqlite_path
from tests.patience import patience

OMNITUI = Path(sys.executable).parent / "omnitui"


def settings_for(data_dir: Path, store_url: str, **sections: dict[str, Any]) -> Settings:
    """Settings for a store in a temp dir, with config sections given as dicts."""
    return Settings(
        data_dir=data_dir,
        config_path=data_dir / "config.toml",
        config=parse(sections),
        agent="test",
        store_url=store_url,
        run_runner=True,
        log_file=data_dir / "omnitui.log",
    )


def write_config(path: Path, **sections: dict[str, Any]) -> Path:
    """A TOML config file (scalars and lists of numbers only), checked by the real parser."""
    parse(sections)
    lines = []
    for name, table in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def query(path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows from the store at ``path`` (a SQLite file, or a store URL of either kind), read
    with a fresh connection; SQLite's SQL (``?`` parameters, times as UTC text) on both."""
    if isinstance(path, str) and is_postgresql(path):
        from omnitui import pg

        pg_conn = pg.connect(path)
        try:
            return [tuple(r) for r in pg_conn.execute(sql, params).fetchall()]
        finally:
            pg_conn.close()
    if isinstance(path, str):
        found = sqlite_path(path)
        assert found is not None, path
        path = found
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def scalar(path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return query(path, sql, params)[0][0]


def deliveries(path: Path) -> Counter[str]:
    """How many times each idempotency key was delivered, from the demo's deliveries file."""
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["key"] for line in path.read_text("utf-8").splitlines())


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy (and return it), or fail naming ``what``."""
    timeout = patience(timeout)
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


async def async_wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    timeout = patience(timeout)
    deadline = time.monotonic() + timeout
    while True:
        result = await asyncio.to_thread(condition)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def lease_holder(store: Path | str) -> str:
    rows = query(store, "SELECT holder FROM runnerlease WHERE id = 1")
    return str(rows[0][0]) if rows else ""


def holds_lease(store: Path | str, proc: subprocess.Popen[bytes]) -> bool:
    return f":{proc.pid}:" in lease_holder(store)


def serve(
    data_dir: Path, config: Path, name: str, store_url: str | None = None
) -> subprocess.Popen[bytes]:
    """``omnitui serve`` in its own process (on ``store_url``, else DATA_DIR's SQLite
    store), its output in DATA_DIR/NAME.out and .err."""
    out = (data_dir / f"{name}.out").open("wb")
    err = (data_dir / f"{name}.err").open("wb")
    store = ["--db", store_url] if store_url else []
    return subprocess.Popen(
        [str(OMNITUI), "--data-dir", str(data_dir), *store, "--config", str(config), "serve"],
        stdout=out,
        stderr=err,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "XDG_CACHE_HOME": str(data_dir / "cache")},
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> int:
    """SIGTERM and wait: the exit code of a clean stop."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def new_store(data_dir: Path) -> tuple[str, Path]:
    path = data_dir / "omnitui.db"
    url = db.sqlite_url(path)
    db.ensure_schema(url)
    return url, path
