"""The Telegram Bot API stand-in (tests/telegram_api.py), driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from telegram import Bot, ReplyParameters
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from tests.telegram_api import BotApiServer, image_size, utf16_length

CUSTOMER = 5550001
POLL = {
    "id": "7",
    "question": "Was this helpful?",
    "options": [
        {"persistent_id": "a", "text": "Yes", "voter_count": 1},
        {"persistent_id": "b", "text": "No", "voter_count": 0},
    ],
    "total_voter_count": 1,
    "is_closed": False,
    "is_anonymous": True,
    "type": "regular",
    "allows_multiple_answers": False,
    "allows_revoting": False,
    "members_only": False,
}


def bot_for(server: BotApiServer, token: str | None = None) -> Bot:
    return Bot(token or server.token, base_url=server.base_url, base_file_url=server.base_file_url)


@pytest.fixture
async def bot(bot_api: BotApiServer) -> AsyncIterator[Bot]:
    async with bot_for(bot_api) as started:  # initialize() asks getMe
        yield started


def png(width: int, height: int) -> bytes:
    """A valid 1-bit grey PNG of that size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\0" * ((width + 7) // 8) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# -- getMe and the token -----------------------------------------------------------------


async def test_initialize_gets_the_bot_user(bot_api: BotApiServer, bot: Bot) -> None:
    assert bot.username == "acme_support_bot"
    assert bot.id == 123456
    me = await bot.get_me()
    assert me.is_bot and me.can_join_groups
    assert [c.method for c in bot_api.calls] == ["getMe", "getMe"]


async def test_a_wrong_token_is_unauthorized_and_unknown_methods_not_found(
    bot_api: BotApiServer, bot: Bot
) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server") as raised:
        async with bot_for(bot_api, "123456:wrong"):
            pass
    assert str(raised.value.__cause__) == "Unauthorized"
    assert [c.method for c in bot_api.calls] == ["getMe"]  # the wrong token's is not kept
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{bot_api.base_url}{bot_api.token}/getme")  # any case
        missing = await client.post(f"{bot_api.base_url}{bot_api.token}/noSuchMethod")
    assert answer.json()["result"]["username"] == "acme_support_bot"
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_json_form_and_query_parameters_are_read_alike(bot_api: BotApiServer) -> None:
    url = f"{bot_api.base_url}{bot_api.token}/sendMessage"
    async with httpx.AsyncClient() as client:
        as_json = await client.post(url, json={"chat_id": "42", "text": "json"})
        as_form = await client.post(url, data={"chat_id": "42", "text": "form"})
        as_query = await client.get(url, params={"chat_id": 42, "text": "query"})
        replying = await client.post(
            url, data={"chat_id": "42", "text": "reply", "reply_to_message_id": "1"}
        )
        empty = await client.post(url, json={"chat_id": 42})
    assert [r.json()["result"]["text"] for r in (as_json, as_form, as_query)] == [
        "json",
        "form",
        "query",
    ]
    assert [r.json()["result"]["message_id"] for r in (as_json, as_form, as_query)] == [1, 2, 3]
    assert replying.json()["result"]["reply_to_message"]["text"] == "json"
    assert [c.params["chat_id"] for c in bot_api.calls] == [42] * 5
    assert bot_api.calls[3].params["reply_to_message_id"] == 1
    assert empty.status_code == 400
    assert empty.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }


# -- getUpdates --------------------------------------------------------------------------


async def test_a_pushed_update_arrives_and_the_offset_confirms_it(
    bot_api: BotApiServer, bot: Bot
) -> None:
    first = bot_api.private_text(CUSTOMER, "Salam, sifarişim gəlmədi", username="leyla_m")
    second = bot_api.private_text(CUSTOMER, "/start")
    assert second == first + 1

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    message = updates[0].message
    assert message is not None and message.from_user is not None
    assert message.text == "Salam, sifarişim gəlmədi"
    assert message.chat.type == "private" and message.chat.id == CUSTOMER
    assert message.from_user.username == "leyla_m"
    assert updates[1].message is not None
    assert updates[1].message.message_id == message.message_id + 1
    assert updates[1].message.entities[0].type == "bot_command"

    assert len(await bot.get_updates(offset=first + 1)) == 1  # the first is forgotten
    assert bot_api.confirmed_offset == first + 1
    assert await bot.get_updates(offset=second + 1) == ()
    assert bot_api.pending_updates == []
    bot_api.wait_for_confirmed(second, timeout=0)


async def test_limit_and_a_negative_offset(bot_api: BotApiServer, bot: Bot) -> None:
    ids = [bot_api.private_text(CUSTOMER, f"message {n}") for n in range(5)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-2)] == ids[3:]
    assert [u["update_id"] for u in bot_api.pending_updates] == ids[3:]


async def test_a_long_poll_ends_as_soon_as_an_update_is_pushed(
    bot_api: BotApiServer, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.to_thread(bot_api.wait_for_calls, "getUpdates", 1)
    pushed = time.monotonic()
    update_id = bot_api.private_text(CUSTOMER, "hello?")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - pushed < 0.5
    assert [u.update_id for u in updates] == [update_id]
    assert bot_api.calls[-1].params["timeout"] == 5


async def test_a_long_poll_without_updates_answers_empty_after_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 1 <= time.monotonic() - started < 2


async def test_a_second_poller_wins_and_the_first_gets_a_conflict(
    bot_api: BotApiServer, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.to_thread(bot_api.wait_for_calls, "getUpdates", 1)
    async with bot_for(bot_api) as other_instance:
        started = time.monotonic()
        assert await other_instance.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 2)
        assert time.monotonic() - started < 1


async def test_a_cancelled_poll_loses_no_update(bot_api: BotApiServer, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.to_thread(bot_api.wait_for_calls, "getUpdates", 1)
    poll.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await poll
    update_id = bot_api.private_text(CUSTOMER, "still there?")  # the dead poll answers it
    updates = await asyncio.wait_for(bot.get_updates(timeout=5), 2)
    assert [u.update_id for u in updates] == [update_id]  # unconfirmed, so sent again


async def test_update_kinds_not_asked_for_are_dropped(bot_api: BotApiServer, bot: Bot) -> None:
    reaction = bot_api.unknown_update("message_reaction", {"chat": {"id": 1, "type": "private"}})
    poll = bot_api.unknown_update("poll", POLL)
    message = bot_api.private_text(CUSTOMER, "hi")
    assert [u.update_id for u in await bot.get_updates()] == [poll, message]  # the default
    assert reaction not in [u["update_id"] for u in bot_api.pending_updates]
    bot_api.private_location(CUSTOMER, 40.4093, 49.8671)
    assert await bot.get_updates(offset=message + 1, allowed_updates=["edited_message"]) == ()


# -- scripted answers --------------------------------------------------------------------


async def test_scripted_errors_come_once_then_normal_service(
    bot_api: BotApiServer, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as a timedelta, no warning
    bot_api.script(
        "sendMessage",
        {
            "error_code": 429,
            "description": "Too Many Requests: retry after 2",
            "parameters": {"retry_after": 2},
        },
        {"error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(CUSTOMER, "one")
    assert raised.value.retry_after == timedelta(seconds=2)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(CUSTOMER, "two")
    assert (await bot.send_message(CUSTOMER, "three")).text == "three"
    assert [m["text"] for m in bot_api.sent] == ["three"]
    assert len(bot_api.wait_for_calls("sendMessage", 3, timeout=0)) == 3

    bot_api.script(
        "getUpdates",
        {
            "error_code": 409,
            "description": "Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running",
        },
    )
    with pytest.raises(Conflict):
        await bot.get_updates()


# -- sending -----------------------------------------------------------------------------


async def test_text_length_is_counted_in_utf16_units(bot_api: BotApiServer, bot: Bot) -> None:
    emoji = "🙂" * 2048  # 2 units each
    persian = "سلام، سفارش شما ارسال شد 📦 " * 200
    while utf16_length(persian) > 4096:
        persian = persian[:-1]
    persian = persian.rstrip()
    persian += "ب" * (4096 - utf16_length(persian))
    assert utf16_length(persian) == 4096 and len(persian) < 4096
    for text in (emoji, persian):
        assert (await bot.send_message(CUSTOMER, text)).text == text
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(CUSTOMER, text + "x")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CUSTOMER, "  \n")
    assert len(bot_api.sent) == 2


async def test_a_reply_carries_the_customers_message(bot_api: BotApiServer, bot: Bot) -> None:
    bot_api.private_text(CUSTOMER, "Where is order 7?", first_name="Aysel")
    (update,) = await bot.get_updates()
    assert update.message is not None
    asked = update.message.message_id

    reply = await bot.send_message(CUSTOMER, "On its way", reply_parameters=ReplyParameters(asked))
    assert reply.message_id == asked + 1
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "Where is order 7?"
    assert reply.chat.first_name == "Aysel" and reply.from_user is not None
    assert reply.from_user.is_bot
    call = bot_api.calls[-1]
    assert call.params["chat_id"] == CUSTOMER
    assert call.params["reply_parameters"] == {"message_id": asked}
    assert "parse_mode" not in call.params

    await bot.send_message(CUSTOMER, "<b>hi</b>", parse_mode="HTML")
    assert bot_api.calls[-1].params["parse_mode"] == "HTML"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(CUSTOMER, "?", reply_parameters=ReplyParameters(999))
    bot_api.private_text(CUSTOMER, "Thanks!", reply_to=reply.message_id)
    (update,) = await bot.get_updates(offset=update.update_id + 1)
    assert update.message and update.message.reply_to_message
    assert update.message.reply_to_message.text == "On its way"
    assert update.message.reply_to_message.from_user
    assert update.message.reply_to_message.from_user.username == "acme_support_bot"
    lenient = ReplyParameters(999, allow_sending_without_reply=True)
    assert (
        await bot.send_message(CUSTOMER, "ok", reply_parameters=lenient)
    ).reply_to_message is None


async def test_a_document_upload_is_recorded_and_can_be_fetched_back(
    bot_api: BotApiServer, bot: Bot
) -> None:
    data = b"%PDF-1.4\r\n\x00\xff binary\r\n--not-a-boundary\r\n" * 100
    message = await bot.send_document(
        CUSTOMER, document=data, filename="hesab-faktura №7 ə.pdf", caption="Your invoice"
    )
    document = message.document
    assert document is not None
    assert document.file_name == "hesab-faktura №7 ə.pdf"
    assert document.mime_type == "application/pdf"
    assert document.file_size == len(data)
    assert message.caption == "Your invoice"
    call = bot_api.wait_for_calls("sendDocument", 1, timeout=0)[0]
    assert call.files == {"document": ("hesab-faktura №7 ə.pdf", data)}
    assert call.params == {"chat_id": CUSTOMER, "caption": "Your invoice"}
    assert bot_api.sent[-1]["document"]["file_id"] == document.file_id

    fetched = await bot.get_file(document.file_id)
    assert bytes(await fetched.download_as_bytearray()) == data


async def test_a_photo_upload_gets_sizes_largest_last(bot_api: BotApiServer, bot: Bot) -> None:
    data = png(640, 480)
    assert image_size(data) == (640, 480)
    message = await bot.send_photo(CUSTOMER, photo=data, caption="The label")
    assert [(p.width, p.height) for p in message.photo] == [(90, 68), (640, 480)]
    assert message.caption == "The label"
    assert bot_api.calls[-1].files["photo"][1] == data
    assert bot_api.sent[-1]["photo"][-1]["file_id"] == message.photo[-1].file_id


async def test_get_file_and_download(bot_api: BotApiServer, bot: Bot) -> None:
    data = bytes(range(256)) * 40
    file_id, unique_id = bot_api.add_file(data, file_path="documents/file_9.bin")
    found = await bot.get_file(file_id)
    assert (found.file_unique_id, found.file_size) == (unique_id, len(data))
    assert found.file_path == f"{bot_api.base_file_url}{bot_api.token}/documents/file_9.bin"
    memory = io.BytesIO()
    await found.download_to_memory(memory)
    assert memory.getvalue() == data

    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("no-such-file")
    big_id, _ = bot_api.add_file(b"\0" * (20 * 1024 * 1024 + 1))
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(big_id)


# -- updates of every kind, as the real client reads them --------------------------------


async def test_the_update_builders_make_what_the_client_parses(
    bot_api: BotApiServer, bot: Bot
) -> None:
    photo_id, _ = bot_api.add_file(png(1280, 960))
    doc_id, _ = bot_api.add_file(b"a,b\n1,2\n")
    voice_id, _ = bot_api.add_file(b"OggS voice")
    video_id, _ = bot_api.add_file(b"\0\0\0 ftypmp42")
    text = bot_api.private_text(CUSTOMER, "first", first_name="Leyla", last_name="Məmmədova")
    bot_api.private_photo(CUSTOMER, photo_id, caption="broken")
    bot_api.private_document(CUSTOMER, doc_id, "orders.csv", "text/csv", caption="list")
    bot_api.private_voice(CUSTOMER, voice_id)
    bot_api.private_video(CUSTOMER, video_id)
    bot_api.private_sticker(CUSTOMER, "👍")
    bot_api.private_location(CUSTOMER, 40.4093, 49.8671)
    bot_api.edited_text(CUSTOMER, 1, "first, edited")
    bot_api.group_text(-4001, CUSTOMER, "in the group")
    bot_api.channel_post(-1001234, "news")
    last = bot_api.unknown_update("poll", POLL)

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == list(range(text, last + 1))
    (
        first,
        photo,
        document,
        voice,
        video,
        sticker,
        location,
        edited,
        group,
        channel,
        poll,
    ) = updates
    messages = [u.message for u in updates[:7]]
    assert all(m is not None and m.chat.id == CUSTOMER for m in messages)
    assert [m.message_id for m in messages if m] == list(range(1, 8))
    assert first.message and first.message.from_user
    assert first.message.from_user.last_name == "Məmmədova"
    assert photo.message and photo.message.photo[-1].file_id == photo_id
    assert photo.message.photo[-1].width == 1280 and photo.message.caption == "broken"
    assert document.message and document.message.document
    assert document.message.document.file_name == "orders.csv"
    assert voice.message and voice.message.voice and voice.message.voice.mime_type == "audio/ogg"
    assert video.message and video.message.video and video.message.video.file_id == video_id
    assert sticker.message and sticker.message.sticker
    assert sticker.message.sticker.emoji == "👍"
    sticker_file = await bot.get_file(sticker.message.sticker.file_id)
    assert (await sticker_file.download_as_bytearray()).startswith(b"RIFF")
    assert location.message and location.message.location
    assert location.message.location.latitude == pytest.approx(40.4093)
    assert edited.edited_message and edited.edited_message.text == "first, edited"
    assert edited.edited_message.edit_date is not None
    assert group.message and group.message.chat.type == "group"
    assert channel.channel_post and channel.channel_post.sender_chat
    assert channel.channel_post.chat.type == "channel" and channel.channel_post.from_user is None
    assert poll.poll and poll.poll.id == "7"

    with pytest.raises(ValueError, match="add_file first"):
        bot_api.private_photo(CUSTOMER, "never-added")


# -- webhooks ----------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint on loopback that keeps what it is POSTed."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                ok = self.headers.get("X-Telegram-Bot-Api-Secret-Token") == "s3cret"
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/telegram"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    try:
        yield endpoint
    finally:
        endpoint.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_set_info_and_delete(bot_api: BotApiServer, bot: Bot) -> None:
    bot_api.private_text(CUSTOMER, "queued")
    assert await bot.set_webhook(
        "https://helpdesk.example/telegram", secret_token="s3cret", allowed_updates=["message"]
    )
    assert bot_api.webhook is not None
    assert bot_api.webhook["url"] == "https://helpdesk.example/telegram"
    assert bot_api.webhook["secret_token"] == "s3cret"
    assert bot_api.webhook["allowed_updates"] == ["message"]
    info = await bot.get_webhook_info()
    assert info.url == "https://helpdesk.example/telegram"
    assert info.pending_update_count == 1 and not info.has_custom_certificate
    assert info.allowed_updates == ("message",)
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook("https://helpdesk.example/telegram", secret_token="no spaces")

    assert await bot.delete_webhook(drop_pending_updates=True)
    assert bot_api.webhook is None
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0
    assert await bot.get_updates() == ()


async def test_a_waiting_poll_gets_a_conflict_when_a_webhook_is_set(
    bot_api: BotApiServer, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.to_thread(bot_api.wait_for_calls, "getUpdates", 1)
    async with bot_for(bot_api) as other:
        await other.set_webhook("https://helpdesk.example/telegram")
    with pytest.raises(Conflict, match="webhook is active"):
        await asyncio.wait_for(poll, 2)


async def test_deliver_webhook_posts_with_the_secret(
    bot_api: BotApiServer, bot: Bot, receiver: Receiver
) -> None:
    with pytest.raises(RuntimeError, match="no webhook"):
        bot_api.deliver_webhook({"message": {}})
    await bot.set_webhook(receiver.url, secret_token="s3cret")
    update = {"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    assert await asyncio.to_thread(bot_api.deliver_webhook, update) == 200
    assert await asyncio.to_thread(bot_api.deliver_webhook, update, "wrong") == 403
    assert await asyncio.to_thread(bot_api.deliver_webhook, update, None) == 403
    headers, body = receiver.received[0]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
    assert headers["Content-Type"] == "application/json"
    assert b'"update_id"' in body
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.received[2][0]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"

    await bot.set_webhook(f"http://127.0.0.1:{closed_port()}/telegram")
    assert await asyncio.to_thread(bot_api.deliver_webhook, update) == 0
    assert (await bot.get_webhook_info()).last_error_message == "Connection refused"


# -- the server going away ---------------------------------------------------------------


async def test_stop_drops_polls_and_start_serves_on_the_same_port(
    bot_api: BotApiServer, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.to_thread(bot_api.wait_for_calls, "getUpdates", 1)
    port = bot_api.port
    await asyncio.to_thread(bot_api.stop)
    with pytest.raises(NetworkError):
        await asyncio.wait_for(poll, 2)
    with pytest.raises(NetworkError):
        await bot.get_me()
    bot_api.start()
    assert bot_api.port == port
    assert (await bot.get_me()).username == "acme_support_bot"
