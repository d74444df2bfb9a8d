"""What the TUI tests share: a small store of customers on several channels, settings with
a fixed clock and zone, waiting on a condition, and reading what the screen shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widget import Widget

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.config import Config, Settings
from omnitui.connectors.base import Batch, InboundMessage
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.timeline import Timeline
from tests.patience import patience

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
"""The fixed clock of the TUI tests: an hour after the first message."""
ZONE = ZoneInfo("Asia/Baku")


@dataclass(frozen=True)
class Store:
    url: str
    engine: Engine
    ayse: int
    ali: int
    reza: int
    john: int


def inbound(
    n: int,
    body: str,
    *,
    address: str,
    channel: str = "email",
    account: str = "mail",
    name: str = "",
    subject: str = "",
    at: datetime | None = None,
) -> InboundMessage:
    return InboundMessage(
        account=account,
        channel=channel,
        external_id=f"t-{n}",
        address=address,
        body=body,
        sent_at=at or START + timedelta(minutes=n),
        display_name=name,
        subject=subject,
    )


def ingest(engine: Engine, *messages: InboundMessage) -> list[int]:
    """Store messages as a connector would (another connection's commit)."""
    return [r.customer_id for r in inbox.ingest(engine, Batch(list(messages)))]


def fill_store(url: str, engine: Engine) -> Store:
    """Four customers; Ayşe writes by email and Telegram, in that order and back."""
    (ayse,) = ingest(
        engine,
        inbound(
            1,
            "Merhaba, siparişim #4411 hâlâ gelmedi.",
            address="ayse@example.com.tr",
            name="Ayşe Yılmaz",
            subject="Siparişim nerede?",
        ),
    )
    (ali,) = ingest(
        engine,
        inbound(
            2,
            "Salam, hesabıma daxil ola bilmirəm.",
            address="ali@example.az",
            name="Əli Məmmədov",
            subject="Hesab",
        ),
    )
    inbox.add_identity(engine, ayse, "telegram", "100200", account="bot", display_name="Ayşe")
    ingest(
        engine,
        inbound(
            3,
            "Telegram'dan da yazıyorum: İstanbul'dayım.",
            address="100200",
            channel="telegram",
            account="bot",
            name="Ayşe",
        ),
    )
    (reza,) = ingest(
        engine,
        inbound(
            4,
            "سلام order #123 از Tehran هنوز نرسیده",
            address="visitor-77",
            channel="webchat",
            account="chat",
            name="Reza Ahmadi",
        ),
    )
    ingest(
        engine,
        inbound(
            5,
            "Kargo takip numarası var mı?",
            address="ayse@example.com.tr",
            name="Ayşe Yılmaz",
            subject="Re: Siparişim nerede?",
        ),
    )
    (john,) = ingest(
        engine,
        inbound(
            6,
            "Hi, I would like a refund for order 998.",
            address="john@example.com",
            name="John Smith",
            subject="Refund",
        ),
    )
    return Store(url, engine, ayse, ali, reza, john)


def settings_for(tmp_path: Path, url: str, keys: dict[str, str] | None = None) -> Settings:
    return Settings(
        data_dir=tmp_path,
        config_path=tmp_path / "c.toml",
        config=Config(keymap=keys or {}),
        agent="leyla",
        store_url=url,
        run_runner=False,
        log_file=tmp_path / "log",
    )


def make_app(settings: Settings) -> OmniApp:
    return OmniApp(settings, clock=lambda: NOW, tz=ZONE)


async def wait_for(
    pilot: Pilot[object], condition: Callable[[], object], timeout: float = 5.0, what: str = ""
) -> None:
    """Let the app run until ``condition()`` is true; fail after ``timeout`` seconds."""
    timeout = patience(timeout)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await pilot.pause(0.05)


async def type_text(pilot: Pilot[object], text: str) -> None:
    await pilot.press(*("space" if ch == " " else ch for ch in text))


def visible_lines(widget: Widget) -> list[str]:
    """The text of each line a Line-API widget shows now."""
    return [widget.render_line(y).text for y in range(widget.scrollable_content_region.height)]


def list_text(app: OmniApp) -> str:
    return "\n".join(visible_lines(app.screen.query_one(CustomerList)))


def timeline_text(app: OmniApp) -> str:
    """Every line of the open history (not only the visible window)."""
    timeline = app.inbox.query_one(Timeline)
    return "\n".join(strip.text for strip in timeline.lines)


def screen_text(app: OmniApp) -> str:
    """Everything on the screen now, as plain text, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
