"""Shared fixtures: a real SQLite store in a temp dir, and messages to put in it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from omnitui import db
from omnitui.connectors.base import InboundMessage

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
