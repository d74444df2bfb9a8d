"""The TUI's `/` with the search language: a field query, assignee:me as the app's agent,
and a malformed query's error under the input while the last good results stay."""

from __future__ import annotations

from sqlalchemy import text
from textual.widgets import Input, Static

from omnitui.config import Settings
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.search import SearchScreen
from omnitui.widgets.timeline import Timeline
from tests.tui_support import Store, make_app, screen_text, type_text, wait_for

SIZE = (160, 50)


async def test_a_field_query_finds_and_opens_in_place(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.inbox.query_one(Timeline).customer_id is not None)
        await pilot.press("slash")
        search = app.screen
        assert isinstance(search, SearchScreen)
        # Ayşe wrote "İstanbul" by Telegram only; typed with a colon key by key.
        await type_text(pilot, "istanbul channel:telegram")
        await wait_for(pilot, lambda: search.searched == "istanbul channel:telegram")
        assert [h.channel for h in search.hits] == ["telegram"]
        hit = search.hits[0]
        assert hit.customer_id == tui_store.ayse and hit.status == "open"
        shown = screen_text(app)
        assert "İstanbul'dayım" in shown and "telegram · open" in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        timeline = app.inbox.query_one(Timeline)
        await wait_for(
            pilot,
            lambda: (
                timeline.selected_item is not None and timeline.selected_item.id == hit.message_id
            ),
            what="the history at the message found",
        )
        assert timeline.customer_id == tui_store.ayse
        # Opening marked Ayşe read, and the history was read again for it: still in place.
        await wait_for(
            pilot,
            lambda: not app.reader.customer(tui_store.ayse).row.unread,  # type: ignore[union-attr]
            what="the customer marked read",
        )
        await pilot.pause(0.3)
        assert timeline.selected_item is not None and timeline.selected_item.id == hit.message_id

        # A query of fields alone; assignee:me is the app's agent (leyla).
        with tui_store.engine.begin() as conn:
            conn.execute(
                text("UPDATE conversation SET assignee = 'leyla' WHERE customer_id = :c"),
                {"c": tui_store.reza},
            )
        await pilot.press("slash")
        search = app.screen
        assert isinstance(search, SearchScreen)
        search.query_one(Input).value = "assignee:me is:open"
        await wait_for(pilot, lambda: search.searched == "assignee:me is:open")
        assert {h.customer_id for h in search.hits} == {tui_store.reza}
        search.query_one(Input).value = "-assignee:me -channel:email"
        await wait_for(pilot, lambda: search.searched == "-assignee:me -channel:email")
        assert {h.customer_id for h in search.hits} == {tui_store.ayse}
        await pilot.press("escape")
        assert app.is_running


async def test_a_malformed_query_shows_its_error_and_keeps_the_results(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.inbox.query_one(Timeline).customer_id is not None)
        await pilot.press("slash")
        search = app.screen
        assert isinstance(search, SearchScreen)
        await type_text(pilot, "kargo")
        await wait_for(pilot, lambda: search.searched == "kargo" and search.hits)
        good = list(search.hits)
        error_line = search.query_one("#search-error", Static)
        assert not error_line.display

        # In one edit (a paste): typed key by key on a loaded machine, "kargo is" ran as a
        # query of its own between two keys, and its (no) results were the ones kept.
        search.query_one(Input).insert_text_at_cursor(" is:opn")
        await wait_for(pilot, lambda: search.error is not None, what="the error")
        assert error_line.display
        shown = screen_text(app).splitlines()
        [line] = [row for row in shown if "unknown state" in row]
        assert 'is:opn at column 7: unknown state "opn"' in line
        # The error is the line right under the input's box.
        input_bottom = search.query_one(Input).region.bottom
        assert error_line.region.y == input_bottom and error_line.region.height == 1
        assert search.hits == good and search.searched == "kargo"
        assert "Kargo takip" in screen_text(app)
        await pilot.press("enter")  # nothing to open from a malformed query
        await pilot.pause()
        assert app.screen is search and app.is_running

        # An unclosed quote, then a fix: the error goes, the results follow the query.
        search.query_one(Input).value = 'kargo from:"Ayşe'
        await wait_for(pilot, lambda: search.error is not None and "unclosed" in str(search.error))
        assert search.hits == good
        search.query_one(Input).value = 'kargo from:"Ayşe Y"'
        await wait_for(pilot, lambda: search.searched == 'kargo from:"Ayşe Y"')
        assert search.error is None and not error_line.display
        assert {h.customer_id for h in search.hits} == {tui_store.ayse}
        search.query_one(Input).value = "kargo from:john"
        await wait_for(pilot, lambda: search.searched == "kargo from:john")
        assert search.hits == [] and "Nothing found." in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen) and app.is_running
