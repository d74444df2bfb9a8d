"""What the first paint leaves for later still works at once: the composer's text area
(mounted after the first paint, or when the agent first needs it) takes the keys typed
right after ``r``, and the screen, once settled, is the one the snapshot shows."""

from __future__ import annotations

import gc
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from omnitui.config import Settings
from omnitui.screens.inbox import InboxScreen
from omnitui.widgets.composer import AreaPlaceholder, Composer, ComposerArea
from omnitui.widgets.timeline import Timeline
from tests.tui_support import Store, make_app, type_text, wait_for


class ComposerOnly(App[None]):
    """A composer whose text area is mounted only when the agent presses ``r``."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reply", "Reply")]

    def compose(self) -> ComposeResult:
        yield Static("list", id="list")
        yield Composer(id="composer")

    def action_reply(self) -> None:
        self.query_one(Composer).focus_input("reply")


async def test_keys_typed_right_after_r_reach_a_text_area_not_mounted_yet() -> None:
    app = ComposerOnly()
    async with app.run_test() as pilot:
        composer = app.query_one(Composer)
        assert composer.query(AreaPlaceholder), "the look-alike holds the area's place"
        assert not composer.query(ComposerArea)
        await pilot.press("r", "h", "i", "space", "t", "h", "e", "r", "e", "enter", "x")
        area = app.query_one(ComposerArea)
        assert area.has_focus
        assert composer.text == "hi there\nx"
        assert not composer.query(AreaPlaceholder)
        assert area.region.height == 6


async def test_r_and_typing_as_soon_as_the_inbox_shows_a_customer(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test() as pilot:
        inbox = app.inbox
        # As soon as a customer is selected, r opens the composer: no pause before typing.
        await wait_for(pilot, lambda: inbox.detail is not None, what="the first customer")
        await pilot.press("r")
        await type_text(pilot, "Merhaba Ayşe")
        composer = inbox.query_one(Composer)
        assert composer.query_one(ComposerArea).has_focus
        assert composer.text == "Merhaba Ayşe"
        # Once settled: the area in place of its look-alike, the Footer in place of its line.
        await wait_for(pilot, lambda: inbox.query(Footer), what="the Footer")
        assert not inbox.query(AreaPlaceholder)
        assert not inbox.query("#footer-placeholder")


async def test_after_the_first_paint_the_area_and_footer_replace_their_look_alikes(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test() as pilot:
        inbox = app.inbox
        await wait_for(pilot, lambda: inbox.query(Footer), what="the Footer")
        composer = inbox.query_one(Composer)
        await wait_for(pilot, lambda: composer.query(ComposerArea), what="the text area")
        assert not composer.query(AreaPlaceholder)
        assert not composer.query_one(ComposerArea).has_focus  # the list keeps the focus
        await wait_for(pilot, lambda: inbox.query_one(Timeline).ready)
        assert isinstance(app.screen, InboxScreen)


def test_the_cli_pauses_the_collector_until_the_first_paint(
    tui_store: Store, tui_settings: Settings, monkeypatch: Any
) -> None:
    """The TUI path turns the collector off (omnitui.cli); the app turns it on again."""
    import asyncio

    from omnitui import cli

    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    cli._pause_gc()
    try:
        assert not gc.isenabled()

        async def run() -> None:
            app = make_app(tui_settings)
            async with app.run_test() as pilot:
                await wait_for(pilot, gc.isenabled, what="the collector back on")

        asyncio.run(run())
    finally:
        gc.enable()
    assert frozen == [True]
