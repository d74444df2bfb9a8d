"""Shared fixtures: a real SQLite store in a temp dir, messages to put in it, mail servers."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from sqlalchemy import Engine

from omnitui import db
from omnitui.connectors.base import InboundMessage

if TYPE_CHECKING:
    from tests.mailservers import Dovecot, SmtpServer

BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = db.sqlite_url(tmp_path / "omnitui.db")
    db.ensure_schema(url)
    return url


@pytest.fixture
def engine(store_url: str) -> Engine:
    return db.make_engine(store_url)


MakeMessage = Callable[..., InboundMessage]


@pytest.fixture
def make_message() -> MakeMessage:
    """An inbound message; each call gets a new external id and a later time."""
    counter = iter(range(1, 1_000_000))

    def make(
        body: str = "hello",
        *,
        address: str = "ali@example.az",
        channel: str = "email",
        account: str = "mail",
        display_name: str = "",
        subject: str = "",
        external_id: str | None = None,
        thread_ref: str | None = None,
        minutes: int | None = None,
    ) -> InboundMessage:
        n = next(counter)
        return InboundMessage(
            account=account,
            channel=channel,
            external_id=external_id or f"ext-{n}",
            address=address,
            body=body,
            sent_at=BASE_TIME + timedelta(minutes=n if minutes is None else minutes),
            display_name=display_name,
            subject=subject,
            thread_ref=thread_ref,
        )

    return make


# -- the TUI's tests (tests/test_app.py, tests/test_hostile_text.py) ----------------


@pytest.fixture
def tui_store(store_url: str, engine: Engine) -> Any:
    """Four customers on email, Telegram and web chat (see tests/tui_support.py)."""
    from tests.tui_support import fill_store

    return fill_store(store_url, engine)


@pytest.fixture
def tui_settings(tmp_path: Path, store_url: str) -> Any:
    from tests.tui_support import settings_for

    return settings_for(tmp_path, store_url)


# -- real mail servers on loopback (tests/mailservers.py) ---------------------------


def missing_server(reason: str) -> NoReturn:
    """Skip on a laptop without the server; fail under CI=true, so CI never passes by skipping."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must have it", pytrace=False)
    pytest.skip(reason)


MakeDovecot = Callable[..., "Dovecot"]


@pytest.fixture
def make_dovecot() -> Iterator[MakeDovecot]:
    """Start private Dovecots: ``make_dovecot(settings={...}, port=None)``; all closed after."""
    from tests.mailservers import DOVECOT, Dovecot

    if DOVECOT is None:
        missing_server("dovecot not installed (apt-get install dovecot-imapd)")
    servers: list[Dovecot] = []

    def make(settings: dict[str, str] | None = None, port: int | None = None) -> Dovecot:
        server = Dovecot(settings, port)
        servers.append(server)
        server.add_user("agent", "secret")
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def dovecot(make_dovecot: MakeDovecot) -> Dovecot:
    """A private Dovecot on a free loopback port (starts in ~20 ms), user ``agent``/``secret``."""
    return make_dovecot()


def start_smtp_server(user: str | None = None, password: str | None = None) -> SmtpServer:
    if importlib.util.find_spec("aiosmtpd") is None:
        missing_server("aiosmtpd not installed (pip install -e '.[dev]')")
    from tests.mailservers import SmtpServer

    server = SmtpServer(user, password)
    server.start()
    return server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on a free loopback port that records what it accepts; no AUTH."""
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_auth_server() -> Iterator[SmtpServer]:
    """Like ``smtp_server``, but MAIL needs AUTH PLAIN or LOGIN as ``agent``/``secret``."""
    server = start_smtp_server("agent", "secret")
    try:
        yield server
    finally:
        server.stop()
