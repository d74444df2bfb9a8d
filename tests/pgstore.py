"""Throwaway PostgreSQL databases for tests, on the server at OMNITUI_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/postgres).

The schema is migrated once per test session into a template database; each test gets a
copy (CREATE DATABASE ... TEMPLATE, about 50 ms) and drops it afterwards, with FORCE so a
connection a test left open cannot keep it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

SERVER = os.environ.get("OMNITUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_PREFIX = f"omnitui_test_{os.getpid()}"
_counter = itertools.count(1)


def url_of(name: str) -> str:
    base = SERVER.rsplit("/", 1)[0]
    return f"{base}/{name}"


def reachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {SERVER.split('@')[-1]} unreachable: {str(exc).strip()}"
    return None


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def create(template: str | None = None) -> str:
    """A new empty (or ``template``'s copy) database; returns its name."""
    name = f"{_PREFIX}_{next(_counter)}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(template: str | None = None) -> Iterator[str]:
    """A database for the block, dropped after it; yields its URL."""
    name = create(template)
    try:
        yield url_of(name)
    finally:
        drop(name)


_template: str | None = None


def migrated_template() -> str:
    """The name of this session's database at the schema head (made on first use)."""
    global _template
    if _template is None:
        from omnitui import db

        name = create()
        db.ensure_schema(url_of(name))
        _template = name
    return _template


def drop_template() -> None:
    global _template
    if _template is not None:
        drop(_template)
        _template = None
