"""The schema is made only by migrations; old stores are upgraded, wrong ones refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from omnitui import db
from omnitui.reads import SCHEMA_HEAD, Reader, SchemaError, schema_revision
from tests.conftest import missing_server
from tests.runner_support import query


@pytest.fixture
def empty_store_url(store_url: str, store_kind: str, tmp_path: Path) -> Iterator[str]:
    """A store of this run's kind with nothing in it yet (no tables, no revision)."""
    if store_kind != "postgresql":
        yield db.sqlite_url(tmp_path / "new.db")
        return
    from tests import pgstore

    problem = pgstore.reachable()
    if problem:
        missing_server(problem)
    with pgstore.database() as url:
        yield url


def test_code_expects_the_newest_migration() -> None:
    assert db.alembic_head() == SCHEMA_HEAD


def test_upgrade_an_empty_store_to_head(empty_store_url: str, store_kind: str) -> None:
    url = empty_store_url
    assert schema_revision(url) is None
    db.upgrade(url)
    assert schema_revision(url) == SCHEMA_HEAD
    if store_kind == "sqlite":
        assert query(url, "PRAGMA journal_mode") == [("wal",)]
    engine = db.make_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "customer",
        "identity",
        "conversation",
        "message",
        "message_fts",
        "quarantine",
    } <= tables


def test_upgrade_from_the_first_revision_keeps_and_indexes_the_data(empty_store_url: str) -> None:
    url = empty_store_url
    db.upgrade(url, "0001")
    engine = db.make_engine(url)
    with engine.begin() as conn:
        for insert in (
            """INSERT INTO customer (id, name, created_at, last_activity_at, preview, channels,
                unread_count, open_count, version)
            VALUES (1, 'Işıl Yılmaz', '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000',
                'Siparişim nerede', 'email', 1, 1, 1)""",
            """INSERT INTO identity (id, customer_id, channel, address, display_name, account,
                created_at)
            VALUES (1, 1, 'email', 'isil@example.com.tr', 'Işıl Yılmaz', 'mail',
                '2026-01-01 10:00:00.000000')""",
            """INSERT INTO conversation (id, customer_id, status, opened_at, last_message_at)
            VALUES (1, 1, 'open', '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000')""",
            """INSERT INTO message (id, conversation_id, customer_id, direction, channel, account,
                external_id, author, subject, body, sent_at, stored_at, thread_reason, attempts)
            VALUES (1, 1, 1, 'in', 'email', 'mail', 'm1', 'Işıl', 'Sipariş', 'Siparişim nerede?',
                '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000', '', 0)""",
        ):
            conn.execute(text(insert))
    engine.dispose()
    with pytest.raises(SchemaError, match="run `omnitui db upgrade`"):
        db.ensure_schema(url, create=False)
    db.upgrade(url)
    assert schema_revision(url) == SCHEMA_HEAD
    reader = Reader(url)
    assert [h.message_id for h in reader.search("siparisim")] == [1]
    assert [h.customer_id for h in reader.search("ISIL") if h.message_id is None] == [1]


def test_a_store_from_a_newer_omnitui_is_refused(empty_store_url: str) -> None:
    url = empty_store_url
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="newer than this omnitui"):
        db.ensure_schema(url)


def test_the_migrations_make_the_tables_the_code_declares(empty_store_url: str) -> None:
    """Alembic's own comparison: no column, index or table differs from db.py's models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    url = empty_store_url
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    # The full-text tables are made by SQL only (FTS5 virtual tables; PostgreSQL tables
    # with a tsvector and its GIN index): Alembic sees them as extra tables and indexes.
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name.endswith("_fts"))]
    diff = [d for d in diff if not (d[0] == "remove_table" and "_fts_" in d[1].name)]
    diff = [d for d in diff if not (d[0] == "remove_index" and d[1].table.name.endswith("_fts"))]
    assert diff == []


def test_a_store_with_data_goes_down_and_up_again_intact(
    empty_store_url: str, store_kind: str
) -> None:
    from datetime import UTC, datetime

    from alembic import command

    from omnitui import inbox
    from omnitui.connectors.base import Batch, InboundMessage

    url = empty_store_url
    db.upgrade(url)
    engine = db.make_engine(url)
    message = InboundMessage(
        account="mail",
        channel="email",
        external_id="<1@example.az>",
        address="leyla@example.az",
        body="Salam, sifarişim haradadır?",
        sent_at=datetime.now(UTC),
    )
    inbox.ingest(engine, Batch([message]))
    engine.dispose()
    # Going down rebuilds tables others reference (customer, identity): with SQLite's
    # foreign keys on, that failed on any store that had a customer.
    command.downgrade(db._alembic_config(url), "0004")
    assert schema_revision(url) == "0004"
    db.upgrade(url)
    assert schema_revision(url) == SCHEMA_HEAD
    assert query(url, "SELECT address FROM identity") == [("leyla@example.az",)]
    if store_kind == "sqlite":  # PostgreSQL checks foreign keys on every change
        assert query(url, "PRAGMA foreign_key_check") == []
    [customer] = Reader(url).customers(0, 5)
    assert customer.preview.startswith("Salam")
