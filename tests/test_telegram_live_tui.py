"""End to end: updates from the Bot API stand-in reach a running TUI through its runner,
and the agent's reply from the composer reaches the Bot API."""

from __future__ import annotations

from pathlib import Path

from omnitui.app import OmniApp
from omnitui.runner import start_in_thread
from tests.runner_support import new_store, scalar
from tests.telegram_api import BotApiServer
from tests.test_email_tui import open_history
from tests.test_telegram import bot_settings
from tests.tui_support import NOW, ZONE, list_text, timeline_text, type_text, wait_for

USER = 7001


async def test_every_kind_of_update_shows_in_a_running_tui_and_the_reply_goes_out(
    bot_api: BotApiServer, tmp_path: Path
) -> None:
    url, store = new_store(tmp_path)
    settings = bot_settings(tmp_path, url, bot_api)
    photo, _ = bot_api.add_file(b"\x89PNG\r\n\x1a\n" + b"0" * 64, file_path="photos/p.png")
    app = OmniApp(settings, lambda: start_in_thread(settings), clock=lambda: NOW, tz=ZONE)
    async with app.run_test(size=(140, 40)) as pilot:
        bot_api.private_text(USER, "Salam, sifarişim haradadır?", first_name="Kamran",
                             username="kamran_a")  # fmt: skip
        bot_api.private_photo(USER, photo, caption="Qutu belə gəldi")
        bot_api.private_sticker(USER, "😀")
        bot_api.private_location(USER, 40.4093, 49.8671)
        await wait_for(pilot, lambda: "Kamran" in list_text(app), 15, "the customer on screen")
        customer = int(scalar(store, "SELECT id FROM customer"))
        await wait_for(
            pilot, lambda: scalar(store, "SELECT count(*) FROM message") == 4, 15, "4 updates"
        )
        await open_history(pilot, app, customer)
        await wait_for(pilot, lambda: "40.4093" in timeline_text(app), 5, "the whole history")
        shown = timeline_text(app)
        for text in ("Salam, sifarişim haradadır?", "Qutu belə gəldi", "📎 photo-", "[sticker 😀]"):
            assert text in shown
        await pilot.press("r")
        await type_text(pilot, "Sabah gələcək")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: any(m.get("text") == "Sabah gələcək" for m in bot_api.sent),
            15,
            "the reply at the Bot API",
        )
    [reply] = [m for m in bot_api.sent if m.get("text") == "Sabah gələcək"]
    assert reply["chat"]["id"] == USER
