"""Shared fixtures: a real store (SQLite in a temp dir, or with ``--store postgresql`` a
database of its own on the PostgreSQL server), messages to put in it, mail servers."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import pytest
from sqlalchemy import Engine

from omnitui import db
from omnitui.connectors.base import InboundMessage

if TYPE_CHECKING:
    from tests.mailservers import Certificate, Dovecot, MiniCA, SmtpServer
    from tests.tmux_support import Tmux

BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_bidi_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """``[display] rtl = "auto"`` reads the terminal from the environment: the same on every
    machine in tests (a developer's GNOME Terminal would otherwise turn it off)."""
    for name in ("VTE_VERSION", "KONSOLE_VERSION", "MLTERM", "TERM_PROGRAM"):
        monkeypatch.delenv(name, raising=False)
    if os.environ.get("TERM", "").startswith("mlterm"):
        monkeypatch.setenv("TERM", "xterm-256color")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("OMNITUI_TEST_STORE", "sqlite"),
        help="the store every test's store_url is on (PostgreSQL: OMNITUI_TEST_PG's server)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run the tests that use a store (the others ran on the SQLite pass)."""
    if config.getoption("--store") != "postgresql":
        return
    kept = [i for i in items if "store_url" in getattr(i, "fixturenames", ())]
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])
    items[:] = kept


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.getoption("--store") == "postgresql":
        from tests import pgstore

        pgstore.drop_template()


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """ "sqlite" or "postgresql": what this run's stores are."""
    return str(request.config.getoption("--store"))


@pytest.fixture
def new_store_url(store_kind: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes more empty, migrated stores of this run's kind (two-store tests)."""
    made: list[str] = []

    def make() -> str:
        if store_kind == "postgresql":
            from tests import pgstore

            problem = pgstore.reachable()
            if problem:
                missing_server(problem)
            name = pgstore.create(pgstore.migrated_template())
            made.append(name)
            return pgstore.url_of(name)
        name = f"omnitui-{len(made)}.db" if made else "omnitui.db"
        url = db.sqlite_url(tmp_path / name)
        made.append(url)
        db.ensure_schema(url)
        return url

    yield make
    if store_kind == "postgresql":
        from tests import pgstore

        for name in made:
            pgstore.drop(name)


@pytest.fixture
def store_url(new_store_url: Callable[[], str]) -> str:
    return new_store_url()


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


# -- a real terminal (tests/tmux_support.py) ------------------------------------------


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    """The app in a real terminal: tmux on a private server, killed afterwards."""
    import shutil

    from tests.tmux_support import Tmux

    binary = shutil.which("tmux")
    if binary is None:
        missing_server("tmux is not installed (apt-get install tmux)")
    terminal = Tmux(binary, tmp_path)
    try:
        yield terminal
    finally:
        terminal.close()


# -- real mail servers on loopback (tests/mailservers.py) ---------------------------


def missing_server(reason: str) -> NoReturn:
    """Skip on a laptop without the server; fail under CI=true, so CI never passes by skipping."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must have it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mini_ca(tmp_path_factory: pytest.TempPathFactory) -> MiniCA:
    """A throwaway CA (made with the openssl CLI) that no system trusts; ``.ca_file`` is its PEM."""
    from tests.mailservers import OPENSSL, MiniCA

    if OPENSSL is None:
        missing_server("openssl not installed (apt-get install openssl)")
    return MiniCA(tmp_path_factory.mktemp("mini-ca"))


@pytest.fixture(scope="session")
def server_certificate(mini_ca: MiniCA) -> Certificate:
    """A server certificate from ``mini_ca`` for IP:127.0.0.1 and DNS:localhost."""
    return mini_ca.issue("loopback")


MakeDovecot = Callable[..., "Dovecot"]


@pytest.fixture
def make_dovecot() -> Iterator[MakeDovecot]:
    """Start private Dovecots: ``make_dovecot(settings={...}, port=None, tls=None)``; all
    closed after. ``tls``: a Certificate, for STARTTLS on ``port`` and implicit TLS on
    ``tls_port``."""
    from tests.mailservers import DOVECOT, Dovecot

    if DOVECOT is None:
        missing_server("dovecot not installed (apt-get install dovecot-imapd)")
    servers: list[Dovecot] = []

    def make(
        settings: dict[str, str] | None = None,
        port: int | None = None,
        tls: Certificate | None = None,
    ) -> Dovecot:
        server = Dovecot(settings, port, tls)
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


@pytest.fixture
def tls_dovecot(make_dovecot: MakeDovecot, server_certificate: Certificate) -> Dovecot:
    """Like ``dovecot``, with ``server_certificate``: STARTTLS on ``port``, TLS on ``tls_port``."""
    return make_dovecot(tls=server_certificate)


def start_smtp_server(
    user: str | None = None,
    password: str | None = None,
    tls: Literal["starttls", "tls"] | None = None,
    certificate: Certificate | None = None,
) -> SmtpServer:
    if importlib.util.find_spec("aiosmtpd") is None:
        missing_server("aiosmtpd not installed (pip install -e '.[dev]')")
    from tests.mailservers import SmtpServer

    server = SmtpServer(user, password, tls, certificate)
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


@pytest.fixture
def smtp_starttls_server(server_certificate: Certificate) -> Iterator[SmtpServer]:
    """Like ``smtp_server``, but MAIL needs STARTTLS first (with ``server_certificate``)."""
    server = start_smtp_server(tls="starttls", certificate=server_certificate)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_tls_server(server_certificate: Certificate) -> Iterator[SmtpServer]:
    """Like ``smtp_server``, but TLS from the first byte (as on port 465)."""
    server = start_smtp_server(tls="tls", certificate=server_certificate)
    try:
        yield server
    finally:
        server.stop()


# -- the Telegram Bot API stand-in on loopback (tests/telegram_api.py) --------------------

if TYPE_CHECKING:
    from tests.telegram_api import BotApiServer


@pytest.fixture
def bot_api() -> Iterator[BotApiServer]:
    """A started ``BotApiServer`` (token ``123456:TEST-token``, bot ``@acme_support_bot``);
    point ``telegram.Bot(token, base_url=bot_api.base_url, base_file_url=bot_api.base_file_url)``
    at it. Standard library only, so never skipped."""
    from tests.telegram_api import BotApiServer

    server = BotApiServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
