"""Typing in the TUI, both ways: a web chat visitor's typing (recorded in the store as the
runner records it) shows under the open customer's history and goes away by itself; the
agent typing a reply in the composer writes their presence, and stops it when the text is
emptied, the reply is sent, the customer changes, or the keys stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from textual.pilot import Pilot

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.config import Settings
from omnitui.widgets import composer
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.timeline import Timeline
from omnitui.widgets.typing import TypingLine
from tests.runner_support import query
from tests.tui_support import Store, make_app, screen_text, type_text, wait_for

SIZE = (160, 50)
HOSTILE_NAME = "[@click=app.quit]Reza[/] \x1b]52;c;aGk=\x07[b]Ahmadi\x1b[2J"


async def open_customer(pilot: Pilot[object], app: OmniApp, customer: int) -> None:
    """Put the list's cursor on the customer and open it (enter), as after a search."""
    customers = app.inbox.query_one(CustomerList)
    timeline = app.inbox.query_one(Timeline)
    await wait_for(pilot, lambda: customers.selected_id is not None, what="the list")
    customers.select_customer(customer)
    await wait_for(pilot, lambda: customers.selected_id == customer, what="the cursor")
    customers.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: timeline.customer_id == customer and timeline.ready)
    await wait_for(pilot, lambda: app.inbox.detail is not None, what="the customer's detail")


def typing_line(app: OmniApp) -> str:
    return app.inbox.query_one(TypingLine).shown


def presence(store: Store) -> list[tuple[Any, ...]]:
    return query(store.url, "SELECT agent, customer_id, typing FROM presence")


async def test_a_visitors_typing_shows_for_the_open_customer_and_goes_away(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, tui_store.reza)
        assert typing_line(app) == ""
        # Typing 5 s ago, as the runner stamps it: shown now, gone ~2 s later by itself.
        at = datetime.now(UTC) - timedelta(seconds=5)
        inbox.set_visitor_typing(tui_store.engine, "chat", "visitor-77", at=at)
        await wait_for(pilot, lambda: typing_line(app) == "Reza Ahmadi is typing…", 3)
        assert "Reza Ahmadi is typing…" in screen_text(app)
        await wait_for(pilot, lambda: typing_line(app) == "", 4, "the line to go away")
        assert "is typing" not in screen_text(app)

        # A hostile display name is shown as plain text: no markup, no escape sequence.
        with tui_store.engine.begin() as conn:
            conn.execute(
                text("UPDATE identity SET display_name = :n WHERE address = 'visitor-77'"),
                {"n": HOSTILE_NAME},
            )
        inbox.set_visitor_typing(tui_store.engine, "chat", "visitor-77")
        await wait_for(pilot, lambda: typing_line(app) != "", 3, "the hostile name")
        shown = typing_line(app)
        assert shown == "[@click=app.quit]Reza[/] [b]Ahmadi is typing…"
        assert "\x1b" not in screen_text(app) and app.is_running

        # Another customer's history: the visitor's typing is not shown there.
        await pilot.press("escape")
        await open_customer(pilot, app, tui_store.john)
        assert typing_line(app) == ""
        inbox.set_visitor_typing(tui_store.engine, "chat", "visitor-77")
        await pilot.pause(0.6)  # two polls of the store
        assert typing_line(app) == ""


async def test_typing_in_the_composer_writes_presence_until_it_stops(
    tui_store: Store, tui_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reza = tui_store.reza
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, reza)
        await pilot.press("r")
        await type_text(pilot, "Salam")
        await wait_for(pilot, lambda: presence(tui_store) == [("leyla", reza, 1)], 5, "typing")
        # Emptied: no longer typing.
        await pilot.press(*["backspace"] * 5)
        await wait_for(pilot, lambda: presence(tui_store) == [("leyla", reza, 0)], 5, "stopped")
        # Typing again, then sent: stopped once the reply is queued.
        await type_text(pilot, "Buradayıq")
        await wait_for(pilot, lambda: presence(tui_store) == [("leyla", reza, 1)], 5, "again")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: presence(tui_store) == [("leyla", reza, 0)], 5, "sent")
        sent = query(tui_store.url, "SELECT body FROM message WHERE direction = 'out'")
        assert sent == [("Buradayıq",)]

        # A note is never typed to the customer.
        await pilot.press("ctrl+n")
        await type_text(pilot, "daxili qeyd")
        await pilot.pause(0.3)
        assert presence(tui_store) == [("leyla", reza, 0)]
        await pilot.press("ctrl+n")  # back to a reply, with the note's text in it

        # No key for a while: no longer typing.
        monkeypatch.setattr(composer, "TYPING_IDLE", 0.5)
        await type_text(pilot, "!")
        await wait_for(pilot, lambda: presence(tui_store) == [("leyla", reza, 1)], 5, "typing")
        await wait_for(pilot, lambda: presence(tui_store) == [("leyla", reza, 0)], 5, "idle")
        # Leaving for another customer stops it too (the draft stays with Reza); the row
        # then names the customer the agent has open.
        monkeypatch.setattr(composer, "TYPING_IDLE", 30.0)
        await type_text(pilot, "?")
        await wait_for(pilot, lambda: presence(tui_store) == [("leyla", reza, 1)], 5, "typing")
        await pilot.press("escape", "escape")
        await open_customer(pilot, app, tui_store.john)
        john = tui_store.john
        await wait_for(pilot, lambda: presence(tui_store) == [("leyla", john, 0)], 5, "left")
