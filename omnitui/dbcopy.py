"""`omnitui db copy`: a whole store from SQLite to PostgreSQL or back, verified.

The source is only read: SQLite is opened read-only (``mode=ro``), PostgreSQL in a
read-only transaction. The destination gets the schema from the migrations (so it must be
at no revision, or be this copy's own unfinished work), then every table in foreign-key
order, in batches of ``BATCH`` rows by primary key, each batch committed: a copy that is
interrupted resumes where its last batch ended (tables keyed by one integer) or starts that
table again (the small tables keyed otherwise). A marker table in the destination says a
copy is under way and from where; it is dropped when the copy is verified.

Verification: row counts and a SHA-256 per table over every row in key order, values in
one canonical form (times as UTC text, booleans as 0/1, bytes as hex), computed on both
sides. The full-text tables are copied as the folded words they hold (normalize.fts_text,
which also turns a SQLite store's older folded text into words) and checked the same way.

Stop the runner (and TUIs) on the source first: rows changed during a copy are reported by
the verification, not copied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import SQLModel

from omnitui import db
from omnitui.normalize import fts_text
from omnitui.reads import SCHEMA_HEAD, SchemaError, display_url, schema_revision, sqlite_path
from omnitui.text import without_nul

BATCH = 5_000
MARKER = "omnitui_copy_in_progress"
FTS_TABLES = ("message_fts", "customer_fts", "kb_fts")
KEPT_BY_TRIGGERS = frozenset({"messagecount"})
"""Tables the destination's triggers fill as the messages go in (migration 0009): not
copied, only verified (a row counted down to nothing is deleted, so both sides agree)."""

Progress = Callable[[str, int, int], None]
"""(table, rows done, rows in all): called after each batch."""


class CopyError(Exception):
    """The copy cannot start or did not verify; the message says which store and why."""


@dataclass(frozen=True, slots=True)
class TableCheck:
    table: str
    source_rows: int
    copied_rows: int
    source_sha256: str
    copied_sha256: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_sha256) == (self.copied_rows, self.copied_sha256)


@dataclass(slots=True)
class CopyReport:
    resumed: bool = False
    tables: list[TableCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.copied_rows for t in self.tables)


def _source_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise CopyError(f"{path}: no such store")
        # Read-only at the file level: nothing of ours can write to the source.
        return sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return db.make_engine(url).execution_options(postgresql_readonly=True)


def _tables() -> list[sa.Table]:
    return list(SQLModel.metadata.sorted_tables)


def _fts_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("rowid", sa.BigInteger, primary_key=True),
        sa.Column("body", sa.Text),
    )


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def _rows(conn: sa.Connection, table: sa.Table, after: Any = None) -> Iterator[Sequence[Any]]:
    """Every row of ``table`` in key order (after key ``after`` for one-integer keys)."""
    keys = list(table.primary_key.columns)
    query = sa.select(*table.columns).order_by(*keys)
    if after is not None:
        query = query.where(keys[0] > after)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    yield from result


def _checksum(conn: sa.Connection, table: sa.Table) -> tuple[int, str]:
    digest = hashlib.sha256()
    count = 0
    fts = table.name in FTS_TABLES
    for row in _rows(conn, table):
        values = [_canonical(v) for v in row]
        if fts:
            values[1] = fts_text(values[1] or "")
        digest.update(json.dumps(values, ensure_ascii=False, default=str).encode())
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def _resumable(table: sa.Table) -> bool:
    keys = list(table.primary_key.columns)
    return len(keys) == 1 and isinstance(keys[0].type, sa.Integer)


def _self_references(table: sa.Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def copy_store(source: str, target: str, progress: Progress | None = None) -> CopyReport:
    """Copy the store at ``source`` into ``target`` and verify it; raises CopyError."""
    if source == target:
        raise CopyError("--from and --to name the same store")
    revision = schema_revision(source)
    if revision != SCHEMA_HEAD:
        raise CopyError(str(SchemaError.for_revision(source, revision)))
    report = CopyReport()
    target_revision = schema_revision(target)
    dst = db.make_engine(target)
    if target_revision is None:
        db.upgrade(target)
        with dst.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {MARKER} (source TEXT NOT NULL)"))
            conn.execute(sa.text(f"INSERT INTO {MARKER} VALUES (:s)"), {"s": display_url(source)})
    else:
        inspector = sa.inspect(dst)
        if not inspector.has_table(MARKER):
            raise CopyError(
                f"{display_url(target)}: the destination already holds a store; "
                "copy into a new, empty database or file"
            )
        with dst.connect() as conn:
            began_from = conn.execute(sa.text(f"SELECT source FROM {MARKER}")).scalar()
        if began_from != display_url(source):
            raise CopyError(
                f"{display_url(target)}: holds an unfinished copy of {began_from}, "
                f"not of {display_url(source)}"
            )
        report.resumed = True
    src = _source_engine(source)
    tables = [*_tables(), *(_fts_table(name) for name in FTS_TABLES)]
    try:
        with src.connect() as read:
            if src.dialect.name == "sqlite":
                read.exec_driver_sql("BEGIN")  # one snapshot for the whole copy
            else:
                read.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            for table in tables:
                if table.name not in KEPT_BY_TRIGGERS:
                    _copy_table(read, dst, table, progress)
            _reset_sequences(dst, tables)
            for table in tables:
                with dst.connect() as conn:
                    copied = _checksum(conn, table)
                source_rows, source_sum = _checksum(read, table)
                report.tables.append(
                    TableCheck(table.name, source_rows, copied[0], source_sum, copied[1])
                )
    finally:
        src.dispose()
    if report.ok:
        with dst.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {MARKER}"))
    dst.dispose()
    return report


def _copy_table(
    read: sa.Connection, dst: Engine, table: sa.Table, progress: Progress | None
) -> None:
    total = int(read.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    key = next(iter(table.primary_key.columns))
    after = None
    with dst.begin() as conn:
        if _resumable(table):
            after = conn.execute(sa.select(sa.func.max(key))).scalar()
        else:
            conn.execute(table.delete())  # small: copied again whole
        done = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    later = _self_references(table)
    fts = table.name in FTS_TABLES
    names = [c.name for c in table.columns]
    batch: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal done
        with dst.begin() as conn:
            if conn.dialect.name == "postgresql":
                # COPY: about ten times the rows a second of INSERT ... VALUES.
                raw = conn.connection.dbapi_connection
                assert raw is not None
                columns = ", ".join(f'"{name}"' for name in names)
                with raw.cursor() as cursor:  # type: ignore[attr-defined]
                    sql = f"COPY {table.name} ({columns}) FROM STDIN"
                    with cursor.copy(sql) as copy:
                        for row in batch:
                            copy.write_row([without_nul(row[name]) for name in names])
            elif fts:
                conn.execute(
                    sa.text(f"INSERT INTO {table.name} (rowid, body) VALUES (:rowid, :body)"),
                    batch,
                )
            else:
                conn.execute(table.insert(), batch)
            for row in pending:  # references within the table, once both rows exist
                conn.execute(
                    table.update().where(key == row["__key"]).values({c: row[c] for c in later})
                )
        done += len(batch)
        batch.clear()
        pending.clear()
        if progress is not None:
            progress(table.name, done, total)

    for row in _rows(read, table, after):
        values = dict(zip(names, row, strict=True))
        if fts:
            values["body"] = fts_text(values["body"] or "")
        if later and any(values[c] is not None for c in later):
            pending.append({"__key": values[key.name], **{c: values[c] for c in later}})
            values.update(dict.fromkeys(later))
        batch.append(values)
        if len(batch) >= BATCH:
            flush()
    if batch or pending:
        flush()
    if progress is not None and total == 0:
        progress(table.name, 0, 0)


def _reset_sequences(dst: Engine, tables: Sequence[sa.Table]) -> None:
    """PostgreSQL: the id sequences continue after the copied ids."""
    if dst.dialect.name != "postgresql":
        return
    with dst.begin() as conn:
        for table in tables:
            if table.name in FTS_TABLES or not _resumable(table):
                continue
            key = next(iter(table.primary_key.columns)).name
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": key}
            ).scalar()
            if sequence:
                conn.execute(
                    sa.text(
                        f"SELECT setval(:s, coalesce((SELECT max({key}) FROM {table.name}), 0) "
                        "+ 1, false)"
                    ),
                    {"s": sequence},
                )
