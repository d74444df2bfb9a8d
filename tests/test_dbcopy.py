"""`omnitui db copy`: SQLite to PostgreSQL and back, verified, the source untouched, and a
copy interrupted half-way that resumes. Needs the PostgreSQL server (skips on a laptop
without one, fails under CI=true)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from omnitui import db, dbcopy, inbox
from omnitui.bulk import fill_demo
from omnitui.connectors.base import Batch
from omnitui.reads import Reader
from tests import pgstore
from tests.conftest import MakeMessage, missing_server


@pytest.fixture
def pg_url() -> Iterator[str]:
    problem = pgstore.reachable()
    if problem:
        missing_server(problem)
    with pgstore.database() as url:
        yield url


@pytest.fixture
def source(tmp_path: Path, make_message: MakeMessage) -> str:
    """A SQLite store with invented history, a merge whose target is the newer customer
    (a reference to a later row), a Persian customer and an edited canned reply."""
    url = db.sqlite_url(tmp_path / "source.db")
    db.ensure_schema(url)
    fill_demo(url, customers=60, messages=1_200, seed=7)
    engine = db.make_engine(url)
    [older] = inbox.ingest(
        engine,
        Batch(
            [
                make_message(
                    "سلام، می‌خواهم سفارشم را لغو کنم", address="a@x.ir", display_name="علي رضایی"
                )
            ]
        ),
    )
    [newer] = inbox.ingest(
        engine, Batch([make_message("same person, new address", address="b@x.ir")])
    )
    inbox.merge_customers(engine, older.customer_id, newer.customer_id, agent="leyla")
    engine.dispose()
    return url


def _file_sum(url: str) -> str:
    path = Path(url.removeprefix("sqlite:///"))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _searches(url: str) -> list[list[tuple[int, int | None]]]:
    reader = Reader(url)
    return [
        [(h.customer_id, h.message_id) for h in reader.search_query(q, limit=30)]
        for q in ("علی", "sifariş", "kargo -iade", "from:علي", "is:open")
    ]


def test_copy_to_postgresql_and_back_is_verified_and_searches_the_same(
    source: str, pg_url: str, tmp_path: Path
) -> None:
    before = _file_sum(source)
    report = dbcopy.copy_store(source, pg_url)
    assert report.ok and not report.resumed
    by_table = {t.table: t for t in report.tables}
    assert by_table["message"].copied_rows == 1_202
    assert by_table["message_fts"].copied_rows == 1_202
    assert _file_sum(source) == before, "the source was written to"
    assert _searches(pg_url) == _searches(source)
    # New rows continue after the copied ids (sequences moved on).
    engine = db.make_engine(pg_url)
    [fresh] = inbox.ingest(engine, Batch([inbox_message()]))
    assert fresh.message_id == 1_203

    back = db.sqlite_url(tmp_path / "back.db")
    report = dbcopy.copy_store(pg_url, back)
    assert report.ok
    assert {t.table: t.copied_rows for t in report.tables}["message"] == 1_203
    assert _searches(back)[:4] == _searches(pg_url)[:4]
    engine.dispose()


def inbox_message() -> object:
    from datetime import UTC, datetime

    from omnitui.connectors.base import InboundMessage

    return InboundMessage(
        account="mail",
        channel="email",
        external_id="after-copy",
        address="new@x.az",
        body="written after the copy",
        sent_at=datetime(2026, 11, 27, tzinfo=UTC),
    )


def test_an_interrupted_copy_resumes_and_verifies(
    source: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbcopy, "BATCH", 200)
    calls = 0

    def stop_half_way(table: str, done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if table == "message" and done >= 600:
            raise KeyboardInterrupt  # what ctrl-c does mid-copy

    with pytest.raises(KeyboardInterrupt):
        dbcopy.copy_store(source, pg_url, stop_half_way)
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM message")).scalar() == 600
    engine.dispose()

    seen: dict[str, int] = {}
    report = dbcopy.copy_store(source, pg_url, lambda t, d, n: seen.__setitem__(t, d))
    assert report.resumed and report.ok
    assert seen["message"] == 1_202
    assert _searches(pg_url) == _searches(source)


def test_a_store_is_never_copied_over_another(source: str, pg_url: str) -> None:
    db.ensure_schema(pg_url)
    with pytest.raises(dbcopy.CopyError, match="already holds a store"):
        dbcopy.copy_store(source, pg_url)


def test_the_cli_shows_progress_and_says_what_it_verified(
    source: str, pg_url: str, tmp_path: Path
) -> None:
    path = source.removeprefix("sqlite:///")
    done = subprocess.run(
        [sys.executable, "-m", "omnitui", "db", "copy", "--from", path, "--to", pg_url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "copied and verified" in done.stdout
    assert "message" in done.stdout  # the progress bars name the tables
    again = subprocess.run(
        [sys.executable, "-m", "omnitui", "db", "copy", "--from", path, "--to", pg_url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "already holds a store" in again.stderr
