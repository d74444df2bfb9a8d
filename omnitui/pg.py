"""PostgreSQL behind the face reads.py and the bulk writers know from sqlite3.

reads.py, bulk.py and the import write SQL for the stdlib sqlite3 (``?`` and ``:name``
parameters, times as UTC text). ``connect`` gives them a psycopg 3 connection that takes
that SQL as it is: parameters are rewritten to psycopg's (once per statement, cached),
and timestamps come back as the same UTC text SQLite returns, so every row reads the same
on both stores. What really differs (full-text search, a few functions) is chosen by
``Dialect`` at the places that need it, not rewritten here.

The session's time zone is UTC on every connection (the ORM's too), so an aware time
written to a ``timestamp`` column is stored in UTC, as on SQLite.

Imported only for a postgresql:// store; psycopg is an optional dependency
(``pip install 'omnitui[postgresql]'``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from omnitui.text import without_nul

try:
    import psycopg
    from psycopg.adapt import Loader
except ImportError as exc:  # pragma: no cover - the message is the test
    raise ImportError(
        "a postgresql:// store needs psycopg: pip install 'omnitui[postgresql]'"
    ) from exc

CHANGES_CHANNEL = "omnitui_changes"
"""Every write transaction NOTIFYs this channel before it commits (db.write)."""
WRITE_LOCK = 0x6F6D6E69
"""The advisory lock every write transaction takes first ("omni"): writers run one at a
time, as SQLite's BEGIN IMMEDIATE makes them, so the business rules in inbox.py (read,
decide, write) need no other locking on either store."""


def libpq_url(url: str) -> str:
    """The URL libpq takes: ``postgresql+psycopg://`` and ``postgres://`` as ``postgresql://``."""
    _scheme, sep, rest = url.partition("://")
    return f"postgresql{sep}{rest}" if sep else url


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy takes, with psycopg 3 as the driver."""
    _scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg{sep}{rest}"


class _StampLoader(Loader):
    """A ``timestamp`` as SQLite's text ("2026-11-02 09:00:00.000000", UTC)."""

    def load(self, data: Any) -> str:
        value = bytes(data).decode()
        if value.endswith("+00"):  # timestamptz, the session being in UTC
            value = value[:-3]
        day, _, seconds = value.partition(" ")
        whole, _, fraction = seconds.partition(".")
        return f"{day} {whole}.{fraction.ljust(6, '0')}"


_NAMED = re.compile(r"'(?:[^']|'')*'|::|(?<![\w:]):([A-Za-z_]\w*)|\?|%")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite's parameters (``?``, ``:name``) as psycopg's (``%s``, ``%(name)s``); string
    literals, ``::`` casts and a literal ``%`` are kept as they mean."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if match.group(1):
            return f"%({match.group(1)})s"
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if token.startswith("'"):
            return token.replace("%", "%%")
        return token

    return _NAMED.sub(swap, sql)


class Cursor:
    """The part of sqlite3.Cursor the readers use."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchmany(self, size: int) -> list[Any]:
        return self._cursor.fetchmany(size)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description


class Connection:
    """The part of sqlite3.Connection the readers use, over psycopg in autocommit mode
    (``BEGIN``/``COMMIT`` sent as statements, as reads.py does on SQLite)."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        cursor = self.raw.cursor()
        # () too: psycopg reads %% only with params
        cursor.execute(translate(sql), without_nul(params))
        return Cursor(cursor)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any] | Mapping[str, Any]]) -> Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), [without_nul(r) for r in rows])
        return Cursor(cursor)

    def commit(self) -> None:
        if self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        if self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()

    @property
    def broken(self) -> bool:
        """The server went away (restarted, network): open a new connection."""
        return bool(self.raw.broken or self.raw.closed)

    def notifications(self) -> int:
        """How many NOTIFYs arrived since the last call, without waiting (LISTEN first)."""
        pgconn = self.raw.pgconn
        pgconn.consume_input()
        count = 0
        while pgconn.notifies() is not None:
            count += 1
        return count


def connect(url: str, *, listen: bool = False) -> Connection:
    """A connection in autocommit mode, in UTC, timestamps as text; ``listen``: LISTENing to
    the changes channel."""
    raw = psycopg.connect(
        libpq_url(url), autocommit=True, options="-c timezone=UTC", connect_timeout=5
    )
    for name in ("timestamp", "timestamptz"):
        raw.adapters.register_loader(name, _StampLoader)
    if listen:
        raw.execute(f"LISTEN {CHANGES_CHANNEL}")
    return Connection(raw)
