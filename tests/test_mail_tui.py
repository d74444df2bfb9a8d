"""An agent with the inbox open sees new mail within two seconds of it reaching the server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from omnitui.app import OmniApp
from omnitui.runner import start_in_thread
from tests.mailservers import Dovecot
from tests.runner_support import new_store, scalar, settings_for
from tests.test_mail_channel import account, mail
from tests.tui_support import NOW, ZONE, list_text, wait_for


async def test_new_mail_reaches_a_running_tui_within_two_seconds_by_idle(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    url, store = new_store(tmp_path)
    settings = settings_for(tmp_path, url, email={"support": account(dovecot)})
    dovecot.append("agent", "INBOX", mail(sender="Leyla Məmmədova <leyla@example.az>"))
    app = OmniApp(settings, lambda: start_in_thread(settings), clock=lambda: NOW, tz=ZONE)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: "Leyla" in list_text(app), 15, "the first sync on screen")
        # Wait until the watcher sits in IDLE: its first catch-up is stored, the state running.
        await wait_for(
            pilot,
            lambda: scalar(store, "SELECT state FROM connectorstate") == "running",
            10,
            "the connector running",
        )
        await asyncio.sleep(0.5)
        started = time.monotonic()
        dovecot.append(
            "agent", "INBOX", mail(sender="Ayşe Yılmaz <ayse@example.com.tr>", subject="Sipariş")
        )
        await wait_for(pilot, lambda: "Ayşe Yılmaz" in list_text(app), 2.0, "the new mail")
        took = time.monotonic() - started
    print(f"new mail on screen {took * 1000:.0f} ms after APPEND")
    assert took < 2.0
