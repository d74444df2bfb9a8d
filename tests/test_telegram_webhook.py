"""Telegram in webhook mode end to end: a real Runner serving HTTP on a free loopback port,
the Bot API stand-in (tests/telegram_api.py) setting the webhook and POSTing updates to it
as Telegram does. Plus `omnitui doctor`'s Telegram checks and polling while a webhook is set.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnitui.config import Settings
from omnitui.connectors.telegram import SECRET_HEADER
from omnitui.doctor import Check, run_checks
from tests.runner_support import async_wait_until, query, scalar, settings_for
from tests.telegram_api import BotApiServer
from tests.test_http import free_port, get, status
from tests.test_mail_channel import running

USER = 700100200
SECRET = "s3cret-Webhook_token-42"
GREETING = "Salam! Sualınızı yazın."


def webhook_settings(tmp_path: Path, store_url: str, api: BotApiServer, **bot: Any) -> Settings:
    port = bot.pop("port", None) or free_port()
    return settings_for(
        tmp_path,
        store_url,
        telegram={
            "bot": {
                "token": api.token,
                "base_url": api.base_url,
                "base_file_url": api.base_file_url,
                "mode": "webhook",
                "webhook_secret": SECRET,
                **bot,
            }
        },
        http={"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}/"},
    )


def text_update(message_id: int, text: str, *, update_id: int | None = None) -> dict[str, Any]:
    """A private message as Telegram sends it (update_id: the stand-in's next, unless given)."""
    user = {"id": USER, "is_bot": False, "first_name": "Leyla", "username": "leyla_m"}
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": user,
        "chat": {"id": USER, "type": "private", "first_name": "Leyla", "username": "leyla_m"},
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    update: dict[str, Any] = {"message": message}
    if update_id is not None:
        update["update_id"] = update_id
    return update


def messages(store: str) -> list[tuple[Any, ...]]:
    return query(store, "SELECT external_id, body FROM message ORDER BY id")


def cursor(store: str) -> str | None:
    rows = query(store, "SELECT value FROM syncstate WHERE key = 'last_update_id'")
    return str(rows[0][0]) if rows else None


async def deliver(api: BotApiServer, update: dict[str, Any], **kwargs: Any) -> int:
    return await asyncio.to_thread(api.deliver_webhook, update, **kwargs)


async def webhook_ready(api: BotApiServer, settings: Settings) -> str:
    """Wait until the webhook is set and the server answers; the webhook's URL."""
    await asyncio.to_thread(api.wait_for_calls, "setWebhook", 1, 10)
    health = f"http://127.0.0.1:{settings.config.http_address[1]}/healthz"  # type: ignore[index]
    await async_wait_until(lambda: status(health) == 200, 10, "/healthz")
    await async_wait_until(
        lambda: get(health).json()["connectors"]["bot"] == "running",  # type: ignore[union-attr]
        10,
        "the bot running",
    )
    return str(api.webhook["url"])  # type: ignore[index]


async def test_the_webhook_is_set_and_an_update_is_stored_before_200(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = webhook_settings(tmp_path, url, bot_api)
    port = settings.config.http_address[1]  # type: ignore[index]
    async with running(settings):
        webhook = await webhook_ready(bot_api, settings)
        [call] = bot_api.wait_for_calls("setWebhook", 1)
        assert webhook == f"http://127.0.0.1:{port}/telegram/bot"
        assert call.params["url"] == webhook
        assert call.params["secret_token"] == SECRET
        assert call.params["allowed_updates"] == []
        assert call.params.get("drop_pending_updates") in (False, None)

        update_id = 555_000_001
        code = await deliver(
            bot_api, text_update(1, "Salam, sifarişim gəlmədi", update_id=update_id)
        )
        # Answered 200 only once committed: it is in the store the moment the answer is.
        assert code == 200
        assert messages(store) == [(f"{USER}:1", "Salam, sifarişim gəlmədi")]
        assert cursor(store) == str(update_id)
        [(name, handle)] = query(store, "SELECT display_name, handle FROM identity")
        assert (name, handle) == ("Leyla", "leyla_m")
        # Nothing polled: in webhook mode updates are pushed.
        assert not [c for c in bot_api.calls if c.method == "getUpdates"]


async def test_a_wrong_or_missing_secret_is_refused_and_stores_nothing(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = webhook_settings(tmp_path, url, bot_api)
    async with running(settings):
        await webhook_ready(bot_api, settings)
        assert await deliver(bot_api, text_update(1, "forged"), secret="not-the-secret") == 403
        assert await deliver(bot_api, text_update(2, "forged"), secret=None) == 403
        assert await deliver(bot_api, text_update(3, "forged"), secret=SECRET + "x") == 403
        assert await deliver(bot_api, text_update(4, "forged"), secret=SECRET[:-1]) == 403
        assert messages(store) == []
        assert scalar(store, "SELECT count(*) FROM quarantine") == 0
        assert cursor(store) is None
        # Telegram's own delivery still works after the refusals.
        assert await deliver(bot_api, text_update(5, "real")) == 200
        assert messages(store) == [(f"{USER}:5", "real")]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"this is not json", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"message": {"text": "no update_id"}}', "application/json"),
        (b'{"update_id": "12", "message": {}}', "application/json"),
        (b'{"update_id": true}', "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b"update_id=5", "application/x-www-form-urlencoded"),
    ],
    ids=[
        "text",
        "binary",
        "empty",
        "array",
        "no-update-id",
        "string-id",
        "bool-id",
        "deep",
        "form",
    ],
)
async def test_a_body_that_is_no_update_is_400_and_the_runner_lives_on(
    bot_api: BotApiServer, tmp_path: Path, store_url: str, body: bytes, content_type: str
) -> None:
    url = store = store_url
    settings = webhook_settings(tmp_path, url, bot_api)
    async with running(settings):
        webhook = await webhook_ready(bot_api, settings)
        headers = {SECRET_HEADER: SECRET, "Content-Type": content_type}
        answer = await asyncio.to_thread(
            httpx.post, webhook, content=body, headers=headers, trust_env=False
        )
        assert answer.status_code == 400
        assert messages(store) == [] and cursor(store) is None
        assert scalar(store, "SELECT count(*) FROM quarantine") == 0
        assert await deliver(bot_api, text_update(1, "still here")) == 200
        assert messages(store) == [(f"{USER}:1", "still here")]


async def test_hostile_requests_other_than_bodies(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = webhook_settings(tmp_path, url, bot_api)
    async with running(settings):
        webhook = await webhook_ready(bot_api, settings)
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        too_big = json.dumps({"update_id": 1, "message": {"text": "x" * 2_000_000}}).encode()

        def hostile() -> list[int]:
            with httpx.Client(trust_env=False, timeout=10) as client:
                return [
                    client.get(webhook).status_code,  # POST only
                    client.post(webhook, content=too_big, headers=headers).status_code,
                    client.post(
                        webhook, content=b"{}", headers={SECRET_HEADER: "é".encode("latin-1")}
                    ).status_code,
                    client.post(webhook + "/more", content=b"{}", headers=headers).status_code,
                ]

        codes = await asyncio.to_thread(hostile)
        assert codes == [405, 413, 403, 404]
        assert messages(store) == []
        assert await deliver(bot_api, text_update(1, "fine")) == 200


async def test_the_same_update_twice_is_stored_once_and_greeted_once(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = webhook_settings(tmp_path, url, bot_api, greeting=GREETING)
    async with running(settings):
        await webhook_ready(bot_api, settings)
        start = text_update(1, "/start", update_id=777_000_001)
        assert await deliver(bot_api, start) == 200
        await asyncio.to_thread(bot_api.wait_for_calls, "sendMessage", 1, 10)
        # Telegram did not get the answer (say) and sends the same update again, twice.
        assert await deliver(bot_api, start) == 200
        assert await deliver(bot_api, start) == 200
        question = text_update(2, "Sifarişim haradadır?", update_id=777_000_002)
        assert await deliver(bot_api, question) == 200
        assert await deliver(bot_api, question) == 200
        await asyncio.sleep(0.5)  # a greeting sent twice would have arrived by now
    assert messages(store) == [(f"{USER}:1", "/start"), (f"{USER}:2", "Sifarişim haradadır?")]
    assert [c.params["text"] for c in bot_api.calls if c.method == "sendMessage"] == [GREETING]
    assert cursor(store) == "777000002"


async def test_an_update_delivered_again_after_a_restart_is_not_greeted_again(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    port = free_port()
    settings = webhook_settings(tmp_path, url, bot_api, greeting=GREETING, port=port)
    start = text_update(1, "/start", update_id=888_000_001)
    async with running(settings):
        await webhook_ready(bot_api, settings)
        assert await deliver(bot_api, start) == 200
        await asyncio.to_thread(bot_api.wait_for_calls, "sendMessage", 1, 10)
    # While no runner listens Telegram cannot deliver (and keeps the update for later).
    assert await deliver(bot_api, text_update(2, "anyone?")) == 0
    async with running(webhook_settings(tmp_path, url, bot_api, greeting=GREETING, port=port)):
        await asyncio.to_thread(bot_api.wait_for_calls, "setWebhook", 2, 10)
        await webhook_ready(bot_api, settings)
        assert await deliver(bot_api, start) == 200
        await asyncio.sleep(0.5)
    assert messages(store) == [(f"{USER}:1", "/start")]
    assert [c.params["text"] for c in bot_api.calls if c.method == "sendMessage"] == [GREETING]


async def test_an_unknown_update_and_a_group_message_are_kept_like_polled_ones(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = webhook_settings(tmp_path, url, bot_api)
    async with running(settings):
        await webhook_ready(bot_api, settings)
        group = {
            "message": {
                "message_id": 9,
                "from": {"id": USER, "is_bot": False, "first_name": "Leyla"},
                "chat": {"id": -100500, "type": "group", "title": "Acme fans"},
                "date": int(time.time()),
                "text": "Qrupda sual",
            }
        }
        assert await deliver(bot_api, group) == 200
        assert await deliver(bot_api, {"gift_market_update": {"id": "g1"}}) == 200
    reasons = [r[0] for r in query(store, "SELECT error FROM quarantine ORDER BY id")]
    assert len(reasons) == 2
    assert reasons[0].startswith("group chat: parked")
    assert reasons[1] == "unsupported Telegram update: gift_market_update"


async def test_while_the_webhook_is_refused_the_route_answers_503_and_the_state_says_why(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    refused = {"error_code": 400, "description": "Bad Request: bad webhook: Failed to resolve host"}
    bot_api.script("setWebhook", *[refused] * 50)
    settings = webhook_settings(tmp_path, url, bot_api)
    port = settings.config.http_address[1]  # type: ignore[index]
    webhook = f"http://127.0.0.1:{port}/telegram/bot"
    async with running(settings):
        [(error,)] = await async_wait_until(
            lambda: query(
                store,
                "SELECT error FROM connectorstate WHERE account = 'bot' AND state = 'backoff'",
            ),
            10,
            "the bot in backoff",
        )
        assert error == (
            f"WebhookProblem: Telegram refused the webhook {webhook}: "
            "Bad webhook: failed to resolve host"
        )
        headers = {SECRET_HEADER: SECRET}
        body = json.dumps(text_update(1, "early", update_id=1)).encode()
        answer = await asyncio.to_thread(
            httpx.post, webhook, content=body, headers=headers, trust_env=False
        )
        assert answer.status_code == 503  # Telegram will try again later
    assert messages(store) == []


async def test_polling_while_a_webhook_is_set_names_the_webhook(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    await asyncio.to_thread(
        httpx.post,
        f"{bot_api.base_url}{bot_api.token}/setWebhook",
        json={"url": "https://other.example/hook"},
        trust_env=False,
    )
    settings = settings_for(
        tmp_path,
        url,
        telegram={"bot": {"token": bot_api.token, "base_url": bot_api.base_url}},
    )
    async with running(settings):
        [(error,)] = await async_wait_until(
            lambda: query(
                store,
                "SELECT error FROM connectorstate WHERE account = 'bot' AND state = 'backoff'",
            ),
            10,
            "the 409",
        )
    assert error == (
        "PollingConflict: a webhook is set for this bot (https://other.example/hook), so polling "
        'gets 409 Conflict: set mode = "webhook", or delete the webhook (deleteWebhook); '
        "`omnitui doctor` shows it"
    )


# -- omnitui doctor -------------------------------------------------------------------------


def telegram_checks(settings: Settings) -> dict[str, Check]:
    checks = list(run_checks(settings.config_path, lambda: settings))
    return {c.name: c for c in checks if c.name.startswith("telegram ")}


def test_doctor_reports_a_webhook_set_while_polling(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store_url
    settings = settings_for(
        tmp_path, url, telegram={"bot": {"token": bot_api.token, "base_url": bot_api.base_url}}
    )
    checks = telegram_checks(settings)
    assert checks["telegram bot"] == Check("telegram bot", True, "@acme_support_bot, poll mode")
    assert checks["telegram bot webhook"] == Check(
        "telegram bot webhook", True, "none set (poll mode)"
    )
    httpx.post(
        f"{bot_api.base_url}{bot_api.token}/setWebhook",
        json={"url": "https://other.example/hook"},
        trust_env=False,
    )
    checks = telegram_checks(settings)
    assert checks["telegram bot webhook"] == Check(
        "telegram bot webhook",
        False,
        "a webhook is set (https://other.example/hook): polling gets 409; "
        'set mode = "webhook" or delete it (deleteWebhook)',
    )


def test_doctor_reports_a_refused_token_and_an_unreachable_server(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store_url
    settings = settings_for(
        tmp_path, url, telegram={"bot": {"token": "999:wrong", "base_url": bot_api.base_url}}
    )
    checks = telegram_checks(settings)
    assert checks == {
        "telegram bot": Check(
            "telegram bot",
            False,
            "Telegram refused the bot token (Unauthorized): check token, token_env or token_cmd",
        )
    }
    bot_api.stop()
    settings = settings_for(
        tmp_path, url, telegram={"bot": {"token": bot_api.token, "base_url": bot_api.base_url}}
    )
    [check] = telegram_checks(settings).values()
    assert not check.ok
    assert check.detail.startswith(f"could not reach Telegram at 127.0.0.1:{bot_api.port}: ")


async def test_doctor_in_webhook_mode_compares_the_url_and_shows_delivery_errors(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store_url
    port = free_port()
    settings = webhook_settings(tmp_path, url, bot_api, port=port)
    expected = f"http://127.0.0.1:{port}/telegram/bot"
    checks = await asyncio.to_thread(telegram_checks, settings)
    assert checks["telegram bot"].detail == "@acme_support_bot, webhook mode"
    webhook = checks["telegram bot webhook"]
    assert not webhook.ok and webhook.detail.startswith(
        f"none set: the runner sets {expected} when it starts"
    )

    async with running(settings):
        await webhook_ready(bot_api, settings)
        checks = await asyncio.to_thread(telegram_checks, settings)
        assert checks["telegram bot webhook"] == Check(
            "telegram bot webhook", True, f"{expected}, 0 update(s) waiting at Telegram"
        )
    # No runner: Telegram cannot deliver, and says so.
    bot_api.private_text(USER, "Salam")  # waiting at Telegram
    assert await deliver(bot_api, text_update(1, "Salam")) == 0
    webhook = (await asyncio.to_thread(telegram_checks, settings))["telegram bot webhook"]
    assert not webhook.ok
    assert webhook.detail.startswith(f"{expected}, 1 update(s) waiting at Telegram; last delivery")
    assert webhook.detail.endswith(": Connection refused")

    # Someone else took the webhook over.
    httpx.post(
        f"{bot_api.base_url}{bot_api.token}/setWebhook",
        json={"url": "https://other.example/hook"},
        trust_env=False,
    )
    webhook = (await asyncio.to_thread(telegram_checks, settings))["telegram bot webhook"]
    assert not webhook.ok
    assert webhook.detail.startswith(
        f"Telegram sends updates to https://other.example/hook, not to {expected}"
    )
