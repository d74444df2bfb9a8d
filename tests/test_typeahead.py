"""Keys typed right after r or n, read by the app in one go (a slow SSH link, a paste, a
busy app), all go into the composer, in the order typed: none is lost and none moves the
list. Textual routes each key to the widget focused when it takes it off its queue, before
r or n has moved the focus, so the app routes again the keys that come back up from the
customer list (``OmniApp.on_key``).

Driven twice: by a pilot, with the keys posted as the driver posts the keys of one read,
and as the agent types them, into the real ``omnitui`` in tmux (``send-keys`` writes the
text to the terminal at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot

from omnitui.app import OmniApp
from omnitui.config import Settings
from omnitui.widgets.composer import Composer
from omnitui.widgets.composer_area import ComposerArea
from omnitui.widgets.customer_list import CustomerList
from tests.tmux_support import Tmux
from tests.tui_support import Store, list_text, make_app, wait_for

SIZE = (160, 50)
KEY_NAMES = {" ": "space", "\r": "enter"}


def read_at_once(app: OmniApp, typed: str) -> None:
    """The keys of one read, posted as the driver posts them: all before the app handles any
    (``pilot.press`` waits for the app to be idle after each key)."""
    driver = app._driver
    assert driver is not None
    for character in typed:
        driver.send_message(events.Key(KEY_NAMES.get(character, character), character))


async def ready(pilot: Pilot[Any], app: OmniApp) -> tuple[CustomerList, Composer]:
    """The inbox after its first paint, with the customer under the cursor shown."""
    customers = app.inbox.query_one(CustomerList)
    composer = app.inbox.query_one(Composer)
    await wait_for(pilot, lambda: "John Smith" in list_text(app), what="the customer list")
    await wait_for(
        pilot,
        lambda: app.inbox.detail is not None and bool(app.inbox.query(ComposerArea)),
        what="the customer shown and the text area mounted",
    )
    assert customers.has_focus
    return customers, composer


@pytest.mark.parametrize(("key", "mode"), [("n", "note"), ("r", "reply")])
async def test_keys_read_with_n_or_r_go_into_the_composer(
    tui_store: Store, tui_settings: Settings, key: str, mode: str
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        customers, composer = await ready(pilot, app)
        selected = customers.selected_id

        read_at_once(app, key + "Hello jk there,\rg tomorrow")
        expected = "Hello jk there,\ng tomorrow"
        await wait_for(pilot, lambda: composer.text == expected, what=f"{expected!r} typed")
        await pilot.pause(0.1)  # nothing more comes
        assert composer.text == expected
        assert composer.mode == mode
        assert isinstance(app.focused, ComposerArea)
        assert customers.selected_id == selected  # j, k and g did not move the list
        assert app.screen is app.inbox  # t did not open the tags

        # As pilot.press sends them (the app idle after each key): the same.
        await pilot.press("escape")
        composer.area.load_text("")
        customers.focus()
        await pilot.press(key, "H", "i")
        await wait_for(pilot, lambda: composer.text == "Hi", what="'Hi' typed")


async def test_keys_read_later_wait_for_those_still_on_their_way(
    tui_store: Store, tui_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list is slow to pass on the keys read with n: the ones read next, after n has moved
    the focus, come after them all the same."""

    async def busy(self: CustomerList, event: events.Key) -> None:
        if event.key != "n":
            await asyncio.sleep(0.1)

    monkeypatch.setattr(CustomerList, "on_key", busy, raising=False)
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        _, composer = await ready(pilot, app)
        read_at_once(app, "nHe")
        await wait_for(pilot, lambda: isinstance(app.focused, ComposerArea), what="the composer")
        read_at_once(app, "llo")
        await wait_for(pilot, lambda: len(composer.text) == 5, what="five letters")
        assert composer.text == "Hello"


# -- the real terminal ----------------------------------------------------------------

TIMEOUT = 20.0


def until(tmux: Tmux, what: str, condition: Callable[[], object]) -> None:
    """Wait for ``condition()``; fail with the pane's screen after ``TIMEOUT`` s."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {TIMEOUT} s still not {what}:\n{tmux.screen()}")
        if what != "ended" and tmux.exited():
            raise AssertionError(f"omnitui ended ({tmux.ended}) before {what}:\n{tmux.last}")
        time.sleep(0.05)


@pytest.mark.parametrize(("key", "mode"), [("n", "NOTE on John Smith"), ("r", "Reply to John")])
def test_text_typed_in_one_go_with_n_or_r_in_a_terminal(
    tui_store: Store, tmp_path: Path, tmux: Tmux, key: str, mode: str
) -> None:
    tmux.start_omnitui(tui_store.url, "rauf", tmp_path / "home")
    # Settled: the list, John's history beside it (he is under the cursor), the footer.
    john = "refund for order 998"
    until(tmux, "settled", lambda: john in tmux.screen() and "n Note" in tmux.screen())

    tmux.type(f"{key}Hello there jk")
    until(tmux, "'Hello there jk' in the composer", lambda: "Hello there jk" in tmux.screen())
    shown = tmux.screen()
    assert mode in shown, shown
    assert john in shown, f"j or k moved the list:\n{shown}"

    tmux.keys("Escape")
    tmux.keys("C-q")
    until(tmux, "ended", tmux.exited)
    assert tmux.ended == "0", f"omnitui exited with {tmux.ended}:\n{tmux.last}"
