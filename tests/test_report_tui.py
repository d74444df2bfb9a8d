"""The report screen (I in the inbox): the numbers `omnitui report` prints for the same
days, and the filters on keys. The history has chosen times, the figures worked out by hand.

The app's clock is Monday 2026-11-02 10:00 UTC in Asia/Baku (tests/tui_support.py), so the
screen opens on the 7 days 2026-10-27 .. 2026-11-02:

  E1 email     in Wed 10-28 09:00, leyla 09:30, resolved 10:00 (leyla)
  T1 telegram  in Thu 10-29 10:00, leyla 12:00                          tag vip[/b]
  T2 telegram  in Fri 10-30 08:00, never answered
  W1 webchat   in Sat 10-31 11:00, rauf 11:10

First responses 30m, 2h, 10m: p50 30m, p90 1800 + 0.8 x 5400 = 6120 s = 1h 42m. In the
business hours of CONFIG (09:00-11:00 UTC on weekdays) 30m, 1h, 0s: p50 30m, p90 1800 +
0.8 x 1800 = 3240 s = 54m.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from textual.pilot import Pilot

from omnitui import db, inbox
from omnitui.app import OmniApp
from omnitui.cli import main
from omnitui.config import Config
from omnitui.connectors.base import Batch, InboundMessage
from omnitui.db import Conversation, Event
from omnitui.screens import report as report_screen
from omnitui.screens.report import FilterPicker, ReportScreen
from tests.tui_support import inbound, make_app, screen_text, settings_for, wait_for

TAG = "vip[/b]"
"""A tag that is Rich markup (a closing tag with no opening one: a crash as markup)."""
CONFIG = """
[agent]
timezone = "Asia/Baku"

[business_hours]
zone = "UTC"
mon = "09:00-11:00"
tue = "09:00-11:00"
wed = "09:00-11:00"
thu = "09:00-11:00"
fri = "09:00-11:00"
"""

_MESSAGES = [  # conversation, channel, address, direction, author, time
    ("E1", "email", "e1@example.az", "in", "", datetime(2026, 10, 28, 9, 0, tzinfo=UTC)),
    ("E1", "email", "e1@example.az", "out", "leyla", datetime(2026, 10, 28, 9, 30, tzinfo=UTC)),
    ("T1", "telegram", "3001", "in", "", datetime(2026, 10, 29, 10, 0, tzinfo=UTC)),
    ("T1", "telegram", "3001", "out", "leyla", datetime(2026, 10, 29, 12, 0, tzinfo=UTC)),
    ("T2", "telegram", "3002", "in", "", datetime(2026, 10, 30, 8, 0, tzinfo=UTC)),
    ("W1", "webchat", "visitor-1", "in", "", datetime(2026, 10, 31, 11, 0, tzinfo=UTC)),
    ("W1", "webchat", "visitor-1", "out", "rauf", datetime(2026, 10, 31, 11, 10, tzinfo=UTC)),
]


def fill(engine: Engine) -> dict[str, int]:
    """The history above; the resolution is written at its time (the services stamp now)."""
    stored = inbox.ingest(
        engine,
        Batch(
            [
                InboundMessage(
                    account=channel,
                    channel=channel,
                    external_id=f"r{n}",
                    address=address,
                    body=f"{name} {direction}",
                    sent_at=when,
                    direction=direction,
                    author=author,
                )
                for n, (name, channel, address, direction, author, when) in enumerate(_MESSAGES)
            ]
        ),
    )
    ids = {row[0]: s.conversation_id for row, s in zip(_MESSAGES, stored, strict=True)}
    inbox.change_tags(engine, ids["T1"], add=[TAG], agent="leyla")
    with db.write(engine) as session:
        conv = session.get(Conversation, ids["E1"])
        assert conv is not None
        conv.status, conv.resolved_at = "resolved", datetime(2026, 10, 28, 10, 0, tzinfo=UTC)
        session.add(conv)
        session.add(
            Event(
                at=conv.resolved_at,
                agent="leyla",
                kind="status",
                customer_id=conv.customer_id,
                conversation_id=conv.id,
                before="open",
                after="resolved",
            )
        )
    return {k: v for k, v in ids.items() if v is not None}


def summary(text: str) -> dict[str, str]:
    """The summary table's rows as printed (label -> value), from a screen or the CLI."""
    labels = (
        "conversations opened",
        "conversations resolved",
        "first response p50 / p90",
        "resolution time p50 / p90",
        "first-contact resolution",
        "reopened",
        "surveys answered",
        "phone calls (in / out)",
        "bot answered in",
    )
    found = {}
    for label in labels:
        # The value: up to two spaces (the screen's charts) or the end of the line.
        match = re.search(re.escape(label) + r" +(\S+(?: \S+)*)", text)
        assert match, f"no {label!r} in:\n{text}"
        found[label] = match.group(1)
    return found


def cli_summary(tmp_path: Path, url: str, *flags: str) -> dict[str, str]:
    config = tmp_path / "cli.toml"
    config.write_text(CONFIG, encoding="utf-8")
    store = ["--config", str(config), "--db", url, "--data-dir", str(tmp_path)]
    days = ["--from", "2026-10-27", "--to", "2026-11-02"]
    result = CliRunner().invoke(main, [*store, "report", *days, *flags], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    return summary(result.output)


def report_app(store_url: str, tmp_path: Path) -> OmniApp:
    config = Config.model_validate(tomllib.loads(CONFIG))
    return make_app(settings_for(tmp_path, store_url).with_config(config))


async def open_report(pilot: Pilot[object], app: OmniApp) -> ReportScreen:
    await pilot.press("I")
    await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
    assert isinstance(app.screen, ReportScreen)
    return app.screen


async def figures(pilot: Pilot[object], screen: ReportScreen, what: str) -> dict[str, str]:
    """The summary once the report the keys asked for is shown."""
    await wait_for(
        pilot,
        lambda: (
            screen.choices is not None  # the tags and agents to pick from
            and screen.report is not None
            and screen.report.filter == screen._wanted
        ),
        what=what,
    )
    await pilot.pause()
    return summary(screen_text(screen.omni))


async def test_the_report_screen_shows_the_cli_numbers_and_filters_by_channel(
    store_url: str, engine: Engine, tmp_path: Path
) -> None:
    fill(engine)
    app = report_app(store_url, tmp_path)
    async with app.run_test(size=(170, 50)) as pilot:
        screen = await open_report(pilot, app)

        async def shown(what: str) -> dict[str, str]:
            return await figures(pilot, screen, what)

        everything = await shown("the week's report")
        text = screen_text(app)
        assert "2026-10-27 – 2026-11-02 (7 days)" in text
        assert "channel: all · tag: all · agent: all" in text
        assert "As of 14:00 · computed in" in text  # the app's clock, in Asia/Baku
        assert everything["conversations opened"] == "4"
        assert everything["conversations resolved"] == "1"
        assert everything["first response p50 / p90"] == "30m / 1h 42m"
        assert everything["resolution time p50 / p90"] == "1h 00m / 1h 00m"
        assert everything == cli_summary(tmp_path, store_url)
        # Replies, resolved, median first response (of 30m and 2h).
        assert re.search(r"leyla +2 +1 +1h 15m", text), text
        assert re.search(r"rauf +1 +0 +10m", text), text

        await pilot.press("c", "c", "c")  # all -> email -> phone -> telegram
        telegram = await shown("the telegram report")
        assert "channel: telegram" in screen_text(app)
        assert telegram["conversations opened"] == "2"
        assert telegram["first response p50 / p90"] == "2h 00m / 2h 00m"
        assert telegram == cli_summary(tmp_path, store_url, "--channel", "telegram")

        await pilot.press("c", "c", "b")  # webchat, all channels again; business hours only
        business = await shown("the report in business hours")
        assert "tag: all · agent: all · business hours: on" in screen_text(app)
        assert business["first response p50 / p90"] == "30m / 54m"
        assert business == cli_summary(tmp_path, store_url, "--business-hours")

        await pilot.press("left_square_bracket")  # the week before: nothing
        await shown("the week before")
        assert "2026-10-20 – 2026-10-26 (7 days)" in screen_text(app)
        assert summary(screen_text(app))["conversations opened"] == "0"

        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ReportScreen), what="closed")


async def test_t_picks_a_tag_from_a_list_narrowed_by_typing(
    store_url: str, engine: Engine, tmp_path: Path
) -> None:
    ids = fill(engine)
    inbox.change_tags(engine, ids["E1"], add=["billing"], agent="leyla")
    app = report_app(store_url, tmp_path)
    async with app.run_test(size=(170, 50)) as pilot:
        screen = await open_report(pilot, app)
        await wait_for(pilot, lambda: screen.choices is not None, what="the tags")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, FilterPicker), what="the picker")
        text = screen_text(app)
        assert "All" in text and "billing" in text and TAG in text
        await pilot.press("V")  # narrows the list to the one tag (case aside), highlighted
        assert "billing" not in screen_text(app)
        await pilot.press("enter")
        tagged = await figures(pilot, screen, "the vip report")
        assert "channel: all · tag: vip[/b] · agent: all" in screen_text(app)
        assert tagged["conversations opened"] == "1"
        assert tagged == cli_summary(tmp_path, store_url, "--tag", TAG)

        await pilot.press("t")  # esc leaves the filter as it was
        await wait_for(pilot, lambda: isinstance(app.screen, FilterPicker), what="the picker")
        await pilot.press("down", "escape")
        await wait_for(pilot, lambda: app.screen is screen, what="the picker closed")
        assert screen.tag == TAG


async def test_the_report_follows_the_store(
    store_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_screen, "REFRESH_SECONDS", 0.0)  # 10 s in use
    fill(engine)
    app = report_app(store_url, tmp_path)
    async with app.run_test(size=(170, 50)) as pilot:
        screen = await open_report(pilot, app)
        assert (await figures(pilot, screen, "the week's report"))["conversations opened"] == "4"
        # Another connection's commit: a new customer writes on Sunday.
        at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
        inbox.ingest(engine, Batch([inbound(90, "hello", address="new@example.az", at=at)]))
        await wait_for(
            pilot,
            lambda: summary(screen_text(app))["conversations opened"] == "5",
            what="the new conversation counted",
        )
