"""The schema is made only by migrations; old stores are upgraded, wrong ones refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from omnitui import db
from omnitui.reads import SCHEMA_HEAD, Reader, SchemaError, schema_revision


def test_code_expects_the_newest_migration() -> None:
    assert db.alembic_head() == SCHEMA_HEAD


def test_upgrade_an_empty_store_to_head(tmp_path: Path) -> None:
    url = db.sqlite_url(tmp_path / "new.db")
    assert schema_revision(url) is None
    db.upgrade(url)
    assert schema_revision(url) == SCHEMA_HEAD
    conn = sqlite3.connect(tmp_path / "new.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "customer",
        "identity",
        "conversation",
        "message",
        "message_fts",
        "quarantine",
    } <= tables


def test_upgrade_from_the_first_revision_keeps_and_indexes_the_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = db.sqlite_url(path)
    db.upgrade(url, "0001")
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        INSERT INTO customer (id, name, created_at, last_activity_at, preview, channels,
            unread_count, open_count, version)
        VALUES (1, 'Işıl Yılmaz', '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000',
            'Siparişim nerede', 'email', 1, 1, 1);
        INSERT INTO identity (id, customer_id, channel, address, display_name, account, created_at)
        VALUES (1, 1, 'email', 'isil@example.com.tr', 'Işıl Yılmaz', 'mail',
            '2026-01-01 10:00:00.000000');
        INSERT INTO conversation (id, customer_id, status, opened_at, last_message_at)
        VALUES (1, 1, 'open', '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000');
        INSERT INTO message (id, conversation_id, customer_id, direction, channel, account,
            external_id, author, subject, body, sent_at, stored_at, thread_reason, attempts)
        VALUES (1, 1, 1, 'in', 'email', 'mail', 'm1', 'Işıl', 'Sipariş', 'Siparişim nerede?',
            '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000', '', 0);
        """
    )
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="run `omnitui db upgrade`"):
        db.ensure_schema(url, create=False)
    db.upgrade(url)
    assert schema_revision(url) == SCHEMA_HEAD
    reader = Reader(url)
    assert [h.message_id for h in reader.search("siparisim")] == [1]
    assert [h.customer_id for h in reader.search("ISIL") if h.message_id is None] == [1]


def test_a_store_from_a_newer_omnitui_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    url = db.sqlite_url(path)
    db.upgrade(url)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="newer than this omnitui"):
        db.ensure_schema(url)


def test_the_migrations_make_the_tables_the_code_declares(tmp_path: Path) -> None:
    """Alembic's own comparison: no column, index or table differs from db.py's models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    url = db.sqlite_url(tmp_path / "schema.db")
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # The FTS5 tables are virtual and made by SQL only; Alembic sees them as extra tables.
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name.endswith("_fts"))]
    diff = [d for d in diff if not (d[0] == "remove_table" and "_fts_" in d[1].name)]
    assert diff == []


def test_a_store_with_data_goes_down_and_up_again_intact(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from alembic import command

    from omnitui import inbox
    from omnitui.connectors.base import Batch, InboundMessage

    url = db.sqlite_url(tmp_path / "store.db")
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
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("SELECT address FROM identity").fetchall() == [("leyla@example.az",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    [customer] = Reader(url).customers(0, 5)
    assert customer.preview.startswith("Salam")
