"""Hostile customer text through every screen of the TUI: shown as text, never obeyed.

Each string comes in as a message body, its subject and the sender's name. The
agent opens every customer, the full view of the message and a search; the app
must keep running, show markup literally, and let no control character reach
the screen (ESC, BEL, NUL, 8-bit CSI, bidi override).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from textual.strip import Strip
from textual.widgets import Input

from omnitui.app import OmniApp
from omnitui.config import Settings
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.message import MessageScreen
from omnitui.screens.search import SearchScreen
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.pager import Pager
from omnitui.widgets.timeline import Timeline
from tests.tui_support import START, inbound, ingest, make_app, screen_text, type_text, wait_for

HUGE = "A" * 1_000_000

HOSTILE = [
    "[/b]",
    "[@click=app.quit]x[/]",
    "[bold red]fake[/]",
    "\x1b[2J\x1b[H wiped",
    "\x1b]52;c;SGVsbG8=\x07 clipboard",
    "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "\x1b]0;pwned title\x07 title",
    "\x1bP+q\x1b\\ dcs",
    "a\x00b nul",
    "\x9b31m csi8",
    HUGE,
    "سلام order #123 از Tehran",
    "\u202eevil\u202c override",
]
FORBIDDEN = ["\x1b", "\x07", "\x00", "\x9b", "\u202e", "\x9d", "\x90"]


def assert_clean(text: str, where: str) -> None:
    for char in FORBIDDEN:
        assert char not in text, f"{char!r} reached the screen in {where}"


def assert_no_actions(strips: list[Strip], where: str) -> None:
    """Customer text must not carry click actions (as markup would make it)."""
    for strip in strips:
        for segment in strip:
            meta = segment.style.meta if segment.style else {}
            assert "@click" not in meta, f"a click action in {where}: {segment.text!r}"


@pytest.fixture
def hostile_store(store_url: str, engine: object) -> list[int]:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    ids = []
    for n, raw in enumerate(HOSTILE):
        message = inbound(
            n + 1,
            raw,
            address=f"hostile{n}@example.com",
            name=raw,
            subject=raw,
            at=START + timedelta(minutes=n),
        )
        ids += ingest(engine, message)
    return ids


async def test_hostile_text_everywhere(hostile_store: list[int], tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=(160, 50)) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.total == len(HOSTILE) and customers.selected_id)
        seen: set[int] = set()
        for index in range(len(HOSTILE)):
            customers.focus()
            customers.move_cursor(index)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: (
                    timeline.customer_id == customers.selected_id
                    and timeline.ready
                    and len(timeline.lines) > 3
                ),
                what=f"customer {index}",
            )
            assert customers.selected_id is not None
            seen.add(customers.selected_id)
            where = f"the inbox, customer {index}"
            assert_clean(screen_text(app), where)
            assert_clean("\n".join(strip.text for strip in timeline.lines), where)
            assert_no_actions(timeline.lines, where)
            assert_no_actions(
                [customers.render_line(y) for y in range(customers.size.height)], where
            )

            # The full view of the message.
            await pilot.press("v")
            assert isinstance(app.screen, MessageScreen)
            pager = app.screen.query_one(Pager)
            await wait_for(
                pilot,
                lambda pager=pager: pager.ready and app.screen.characters > 0,
                what=f"full view {index}",
            )
            assert_clean(screen_text(app), f"the full view, customer {index}")
            assert_clean("\n".join(line.plain for line in pager.lines), "the full view")
            await pilot.press("escape")
            assert isinstance(app.screen, InboxScreen)
        assert seen == set(hostile_store)

        def timeline_text() -> str:
            return "\n".join(strip.text for strip in timeline.lines)

        # Markup is shown as the characters the customer typed.
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        search = app.screen
        await type_text(pilot, "click")
        await wait_for(pilot, lambda: search.hits, what="search results")
        text = screen_text(app)
        assert "[@click=app.quit]x[/]" in text
        assert_clean(text, "search")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        await wait_for(
            pilot,
            lambda: timeline.ready and "│ [@click=app.quit]x[/]" in timeline_text(),
        )
        assert "[bold red]fake[/]" not in timeline_text()  # another customer's

        for word in ("fake", "pwned", "evil", "Tehran", "link"):
            await pilot.press("slash")
            search = app.screen
            assert isinstance(search, SearchScreen)
            search.query_one(Input).value = word
            await wait_for(pilot, lambda search=search: search.hits, what=f"search {word}")
            assert_clean(screen_text(app), f"search {word}")
            await pilot.press("escape")
        assert app.is_running
        assert isinstance(app, OmniApp) and app.return_code is None


async def test_megabyte_message_opens_quickly_with_a_marker(
    hostile_store: list[int], tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=(160, 50)) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.total == len(HOSTILE))
        huge = hostile_store[HOSTILE.index(HUGE)]
        started = time.monotonic()
        customers.select_customer(huge)

        def history() -> str:
            return "\n".join(strip.text for strip in timeline.lines)

        await wait_for(
            pilot,
            lambda: (
                timeline.customer_id == huge
                and "more characters: press v to read the whole message" in history()
            ),
        )
        assert time.monotonic() - started < 3
        assert "998,000 more characters" in history()
        started = time.monotonic()
        await pilot.press("v")
        pager = app.screen.query_one(Pager)
        await wait_for(pilot, lambda: pager.ready and app.screen.characters == len(HUGE))
        assert time.monotonic() - started < 5
        assert "AAAA" in screen_text(app)
