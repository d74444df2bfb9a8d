"""The Telegram channel end to end, against the Bot API stand-in on loopback
(tests/telegram_api.py), with a real Runner or a real ``omnitui serve``.

Every kind of private message arrives (text, caption with photo, document, voice, video,
sticker, location, a reply, an edit, an unknown update); groups and channels are parked in
quarantine; a kill -9 loses and doubles nothing; long replies go out in parts that are
never sent twice; 429 is waited out, 403 marks the identity unreachable, 409 backs off.
Plus property tests of ``split_message``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import struct
import threading
import time
import zlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from omnitui import db, inbox
from omnitui.config import Settings
from omnitui.connectors import telegram as telegram_connector
from omnitui.connectors.base import (
    Batch,
    DeliveryError,
    InboundMessage,
    OutboundFile,
    OutboundMessage,
)
from omnitui.connectors.telegram import CONFLICT, split_message, utf16_length
from omnitui.reads import Reader
from omnitui.runner import Runner
from tests.conftest import MakeMessage
from tests.runner_support import (
    async_wait_until,
    query,
    scalar,
    serve,
    settings_for,
    stop,
    wait_until,
)
from tests.telegram_api import CONFLICT_OTHER_POLL, BotApiServer
from tests.test_mail_channel import running

USER = 700100200
GREETING = "Salam! Acme dəstəyinə xoş gəldiniz. Sualınızı yazın."


def bot_settings(tmp_path: Path, store_url: str, api: BotApiServer, **bot: Any) -> Settings:
    outbox = bot.pop("outbox", {"backoff_base_seconds": 0.2, "backoff_max_seconds": 0.5})
    return settings_for(
        tmp_path,
        store_url,
        telegram={
            "bot": {
                "token": api.token,
                "base_url": api.base_url,
                "base_file_url": api.base_file_url,
                "poll_timeout_seconds": 5,
                **bot,
            }
        },
        outbox=outbox,
    )


def count(store: str, sql: str = "SELECT count(*) FROM message") -> int:
    return int(scalar(store, sql))


def by_external_id(store: str) -> dict[str, tuple[Any, ...]]:
    rows = query(
        store,
        "SELECT external_id, id, body, thread_ref, thread_reason, author FROM message "
        "WHERE direction = 'in'",
    )
    return {r[0]: r[1:] for r in rows}


def sent_texts(api: BotApiServer) -> list[str]:
    return [str(c.params["text"]) for c in api.calls if c.method == "sendMessage"]


async def _customer_writes(api: BotApiServer, store: str, text: str = "Salam") -> int:
    before = count(store, "SELECT count(*) FROM message WHERE direction = 'in'")
    api.private_text(USER, text, first_name="Leyla", last_name="Məmmədova")
    await async_wait_until(
        lambda: count(store, "SELECT count(*) FROM message WHERE direction = 'in'") > before,
        10,
        "the customer's message",
    )
    return int(scalar(store, "SELECT customer_id FROM message WHERE direction = 'in'"))


def _delivery(store: str, reply: int) -> tuple[Any, ...]:
    return query(
        store,
        "SELECT delivery, attempts, last_error, external_id FROM message WHERE id = ?",
        (reply,),
    )[0]


PERSIAN = (
    "سلام خانم محمدی، از پیام شما سپاسگزاریم. سفارش شماره ۴۴۷۱ دیروز از انبار تهران "
    "ارسال شد و می‌خواهیم مطمئن شویم که به‌موقع به دستتان می‌رسد 🙂 اگر بسته آسیب دیده "
    "باشد، لطفاً عکسی بفرستید تا فوراً جایگزین کنیم. 👨‍👩‍👧\n\n"
)


def persian_reply(length: int = 10_000) -> str:
    text = PERSIAN * (length // len(PERSIAN) + 1)
    return text[:length].rstrip() + " پایان"


def assert_parts_of(text: str, parts: list[str], limit: int = 4096) -> None:
    """The documented rule: parts in order, each within the limit and not empty, and the
    text is the parts with only whitespace (where a part ended) between and around them."""
    if not parts:  # only a text of whitespace has nothing to send
        assert not text.strip()
        return
    assert all(parts)
    assert all(utf16_length(p) <= limit for p in parts)
    pattern = r"\s*" + r"\s*".join(re.escape(p) for p in parts) + r"\s*"
    assert re.fullmatch(pattern, text, flags=re.DOTALL), "parts do not rebuild the text"


# -- receiving ---------------------------------------------------------------------------


async def test_every_kind_of_private_message_arrives_and_groups_are_parked(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    photo = b"JPEG" + bytes(range(256)) * 8
    pdf = b"%PDF-1.4\n" + "qaimə №4471".encode() * 50
    voice = b"OggS" + b"\x01" * 900
    video = b"\x00\x00\x00\x18ftypmp42" + b"\x02" * 3000
    photo_id, _ = bot_api.add_file(photo, file_path="photos/file_1.jpg")
    pdf_id, _ = bot_api.add_file(pdf, file_path="documents/file_2.pdf")
    voice_id, _ = bot_api.add_file(voice, file_path="voice/file_3.oga")
    video_id, _ = bot_api.add_file(video, file_path="videos/file_4.mp4")
    async with running(bot_settings(tmp_path, url, bot_api)) as runner:
        # Message ids count up from 1 in the customer's chat, in this order.
        bot_api.private_text(
            USER,
            "Salam, sifarişim hələ gəlməyib",
            first_name="Leyla",
            last_name="Məmmədova",
            username="leyla_m",
            language_code="az",
        )  # 1
        bot_api.private_photo(USER, photo_id, caption="Qutu belə gəldi")  # 2
        bot_api.private_document(USER, pdf_id, "../qaimə 4471.pdf", "application/pdf")  # 3
        bot_api.private_voice(USER, voice_id)  # 4
        bot_api.private_video(USER, video_id, caption="Videoda görünür")  # 5
        bot_api.private_sticker(USER, "😀")  # 6
        bot_api.private_location(USER, 40.4093, 49.8671)  # 7
        bot_api.private_text(USER, "Bu barədə yazıram", reply_to=1)  # 8
        bot_api.edited_text(USER, 1, "Salam, sifarişim artıq gəldi, təşəkkürlər")
        bot_api.edited_text(USER, 50, "Bu mesajı heç görmədiniz")
        group = bot_api.group_text(-100500, USER, "Qrupda sual")
        channel = bot_api.channel_post(-1009876543210, "Yeni kampaniya")
        private_chat = {"id": USER, "type": "private", "first_name": "Leyla"}
        sender = {
            "id": USER,
            "is_bot": False,
            "first_name": "Leyla",
            "last_name": "Məmmədova",
            "username": "leyla_m",
        }
        future = bot_api.unknown_update(
            "guest_note", {"chat": private_chat, "from": sender, "date": int(time.time())}
        )
        nobody = bot_api.unknown_update("gift_market_update", {"id": "g1", "price": 5})
        await async_wait_until(
            lambda: count(store) == 10 and count(store, "SELECT count(*) FROM quarantine") == 3,
            15,
            "ten messages and three parked updates",
        )
        await asyncio.to_thread(bot_api.wait_for_confirmed, nobody, 10)
        blobs = runner.blobs
    stored = by_external_id(store)
    assert set(stored) == {
        *(f"{USER}:{n}" for n in range(1, 9)),
        f"{USER}:50",
        f"{USER}:update-{future}",
    }

    # One customer, named and with the username as handle; every message keeps its raw JSON.
    [(name,)] = query(store, "SELECT name FROM customer")
    assert name == "Leyla Məmmədova"
    [identity] = query(
        store, "SELECT channel, address, display_name, handle, account FROM identity"
    )
    assert identity == ("telegram", str(USER), "Leyla Məmmədova", "leyla_m", "bot")
    raws = query(
        store,
        "SELECT m.external_id, r.data FROM messageraw r JOIN message m ON m.id = r.message_id",
    )
    assert len(raws) == 10
    for external_id, data in raws:
        update = json.loads(zlib.decompress(data))
        assert isinstance(update["update_id"], int), external_id

    # Text; edited: the new text stored and searchable, the old one in the edit history.
    first_id = stored[f"{USER}:1"][0]
    assert stored[f"{USER}:1"][1] == "Salam, sifarişim artıq gəldi, təşəkkürlər"
    [(old, edited_at)] = query(
        store, "SELECT body, edited_at FROM messageedit WHERE message_id = ?", (first_id,)
    )
    assert old == "Salam, sifarişim hələ gəlməyib" and edited_at
    reader = Reader(url)
    assert [h.message_id for h in reader.search("təşəkkürlər")] == [first_id]
    assert [h.message_id for h in reader.search("gəlməyib")] == []
    # An edit of a message never stored is stored as a message.
    assert stored[f"{USER}:50"][1] == "Bu mesajı heç görmədiniz"

    # Media: bytes in the attachment store, the photo in its largest size.
    attachments = {
        r[0]: r[1:]
        for r in query(
            store,
            "SELECT m.external_id, a.filename, a.content_type, a.size, a.sha256, a.omitted "
            "FROM attachment a JOIN message m ON m.id = a.message_id",
        )
    }
    expected = {
        f"{USER}:2": (photo, "image/jpeg"),
        f"{USER}:3": (pdf, "application/pdf"),
        f"{USER}:4": (voice, "audio/ogg"),
        f"{USER}:5": (video, "video/mp4"),
    }
    assert set(attachments) == set(expected)
    for external_id, (data, content_type) in expected.items():
        _, kind, size, digest, omitted = attachments[external_id]
        assert (kind, size, omitted) == (content_type, len(data), None), external_id
        assert blobs.get(digest) == data, external_id
    assert attachments[f"{USER}:3"][0] == "qaimə 4471.pdf"  # no directories
    downloads = [c.params["file_id"] for c in bot_api.calls if c.method == "getFile"]
    assert downloads == [photo_id, pdf_id, voice_id, video_id]
    assert stored[f"{USER}:2"][1] == "Qutu belə gəldi"
    assert stored[f"{USER}:3"][1] == "[document qaimə 4471.pdf]"
    assert stored[f"{USER}:4"][1] == "[voice message]"
    assert stored[f"{USER}:5"][1] == "Videoda görünür"

    # Sticker and location as text; the reply keeps its link.
    assert stored[f"{USER}:6"][1] == "[sticker 😀]"
    location = stored[f"{USER}:7"][1]
    assert location.startswith("[location 40.4093, 49.8671]\n")
    assert "openstreetmap.org/?mlat=40.4093&mlon=49.8671" in location
    assert stored[f"{USER}:8"][2] == f"{USER}:1"
    assert stored[f"{USER}:8"][3].startswith(f"answers message {first_id}")

    # An update of a kind nobody knows: stored as such (private chat and user) or parked.
    assert stored[f"{USER}:update-{future}"][1] == "[unsupported Telegram update: guest_note]"
    parked = {
        r[0]: r[1:] for r in query(store, "SELECT source, error, raw, external_id FROM quarantine")
    }
    error, raw, external_id = parked[f"update {group}"]
    assert error == "group chat: parked (omnitui answers private chats only)"
    assert json.loads(raw)["message"]["text"] == "Qrupda sual"
    assert external_id == "-100500:1"
    error, raw, _ = parked[f"update {channel}"]
    assert error == "channel post: parked (omnitui answers private chats only)"
    assert json.loads(raw)["channel_post"]["text"] == "Yeni kampaniya"
    error, raw, _ = parked[f"update {nobody}"]
    assert error == "unsupported Telegram update: gift_market_update"
    assert json.loads(raw)["gift_market_update"]["price"] == 5
    assert scalar(store, "SELECT value FROM syncstate WHERE key = 'offset'") == str(nobody + 1)


def test_an_edit_keeps_the_history_whether_in_the_same_batch_or_a_later_one(
    engine: Engine, store_url: str, make_message: MakeMessage
) -> None:
    original = make_message(
        "ilk mətn", channel="telegram", account="bot", address="42", external_id="42:1"
    )
    edit = replace(
        original, body="ikinci mətn", edit_of="42:1", sent_at=original.sent_at + timedelta(1)
    )
    inbox.ingest(engine, Batch([original, edit]))
    later = replace(edit, body="üçüncü mətn", sent_at=edit.sent_at + timedelta(1))
    store = store_url
    version = scalar(store, "SELECT version FROM customer")
    [result] = inbox.ingest(engine, Batch([later]))
    [again] = inbox.ingest(engine, Batch([later]))  # the same edit twice: nothing new
    [(message_id, body)] = query(store, "SELECT id, body FROM message")
    assert body == "üçüncü mətn" and result.message_id == message_id
    assert again.message_id is None and again.reason == "edit: text unchanged"
    history = query(store, "SELECT body FROM messageedit WHERE message_id = ? ORDER BY id", (1,))
    assert [h[0] for h in history] == ["ilk mətn", "ikinci mətn"] and message_id == 1
    assert scalar(store, "SELECT version FROM customer") == version + 1
    assert scalar(store, "SELECT preview FROM customer") == "üçüncü mətn"
    reader = Reader(store_url)
    assert [h.message_id for h in reader.search("üçüncü")] == [message_id]
    assert [h.message_id for h in reader.search("ikinci")] == []


async def test_start_is_greeted_once_and_the_handle_is_kept_current(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = bot_settings(tmp_path, url, bot_api, greeting=GREETING)
    async with running(settings):
        bot_api.private_text(USER, "/start", first_name="Leyla", username="leyla_m")
        await asyncio.to_thread(bot_api.wait_for_calls, "sendMessage", 1, 10)
        bot_api.private_text(USER, "Sifarişim haqqında", first_name="Leyla", last_name="M.")
        await async_wait_until(lambda: count(store) == 2, 10, "the second message")
    async with running(settings):  # a restart greets nobody again
        bot_api.private_text(USER, "Hələ də gözləyirəm", first_name="Leyla", username="leyla2")
        await async_wait_until(lambda: count(store) == 3, 10, "the third message")
        await asyncio.sleep(0.3)
    [greeting] = [c for c in bot_api.calls if c.method == "sendMessage"]
    assert greeting.params["chat_id"] == USER and greeting.params["text"] == GREETING
    assert "parse_mode" not in greeting.params
    # The /start is stored like any message; the greeting is not stored as a reply.
    assert scalar(store, "SELECT body FROM message ORDER BY id LIMIT 1") == "/start"
    assert count(store, "SELECT count(*) FROM message WHERE direction = 'out'") == 0
    # The name and the username follow the customer's latest message (none, then a new one).
    assert query(store, "SELECT display_name, handle FROM identity") == [("Leyla", "leyla2")]


def test_killed_between_fetching_and_committing_loses_and_doubles_nothing(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    total = 600
    document, _ = bot_api.add_file(b"%PDF-1.4\n" + b"x" * 20_000)
    first = last = 0
    for n in range(total):
        user = USER + n % 40
        if n % 10 == 0:
            last = bot_api.private_document(user, document, f"qaime-{n}.pdf", "application/pdf")
        else:
            last = bot_api.private_text(user, f"Sifariş {n}", first_name=f"Müştəri {n % 40}")
        first = first or last
    store = store_url
    config = tmp_path / "config.toml"
    config.write_text(
        "[telegram.bot]\n"
        f'token = "{bot_api.token}"\nbase_url = "{bot_api.base_url}"\n'
        f'base_file_url = "{bot_api.base_file_url}"\npoll_timeout_seconds = 5\n',
        encoding="utf-8",
    )
    proc = serve(tmp_path, config, "first", store_url)
    try:
        bot_api.wait_for_calls("getUpdates", 3, timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    polls = [c for c in bot_api.calls if c.method == "getUpdates"]
    fetched = min(total, int(polls[-1].params.get("offset") or first) - first + 100)
    stored_at_kill = count(store)
    # Killed with updates fetched and not yet committed (Telegram would send them again).
    assert 0 < stored_at_kill < fetched <= total
    assert bot_api.confirmed_offset <= first + stored_at_kill
    second = serve(tmp_path, config, "second", store_url)
    try:
        wait_until(lambda: count(store) >= total, 60, "the rest after the restart")
        bot_api.wait_for_confirmed(last, 10)
    finally:
        stop(second)
    assert count(store) == total
    assert count(store, "SELECT count(DISTINCT external_id) FROM message") == total
    assert count(store, "SELECT count(*) FROM attachment WHERE omitted IS NULL") == total // 10
    assert bot_api.confirmed_offset == last + 1
    assert scalar(store, "SELECT value FROM syncstate WHERE key = 'offset'") == str(last + 1)


async def test_a_second_poller_409_shows_plainly_and_backs_off(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    conflict = {"error_code": 409, "description": CONFLICT_OTHER_POLL}
    bot_api.script("getUpdates", *[conflict] * 500)
    runner = Runner(bot_settings(tmp_path, url, bot_api))  # the runner's own backoff
    stop_runner = asyncio.Event()
    task = asyncio.create_task(runner.run(stop_runner))
    try:
        await async_wait_until(
            lambda: scalar(store, "SELECT count(*) FROM connectorstate WHERE state = 'backoff'"),
            10,
            "the connector in backoff",
        )
        started = time.monotonic()
        await asyncio.sleep(3)
        polls = [c for c in bot_api.calls if c.method == "getUpdates" and c.at >= started]
        # Between a restart and the next 409 the connector is "running" for a moment (a
        # long one on a loaded machine): read the state it keeps going back to.
        [(state, error)] = await async_wait_until(
            lambda: query(store, "SELECT state, error FROM connectorstate WHERE state = 'backoff'"),
            5,
            "the connector back in backoff",
        )
    finally:
        stop_runner.set()
        await asyncio.wait_for(task, 15)
    assert state == "backoff"
    assert error == f"PollingConflict: {CONFLICT}"
    assert 1 <= len(polls) <= 4, f"{len(polls)} getUpdates in 3 s"


# -- sending ------------------------------------------------------------------------------


async def test_a_long_persian_reply_arrives_in_parts_in_order_as_plain_text(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    text = persian_reply()
    async with running(bot_settings(tmp_path, url, bot_api)) as runner:
        customer = await _customer_writes(bot_api, store)
        reply = inbox.queue_reply(runner.engine, customer, text, agent="aysel")
        await async_wait_until(lambda: _delivery(store, reply)[0] == "sent", 15, "the reply")
    calls = [c for c in bot_api.calls if c.method == "sendMessage"]
    parts = [str(c.params["text"]) for c in calls]
    assert len(text) >= 10_000 and len(parts) == 3
    assert_parts_of(text, parts)
    assert all(c.params["chat_id"] == USER and "parse_mode" not in c.params for c in calls)
    assert [m["text"] for m in bot_api.sent] == [p.strip() for p in parts]
    ids = [m["message_id"] for m in bot_api.sent]
    delivery, attempts, error, external_id = _delivery(store, reply)
    assert (delivery, attempts, error, external_id) == ("sent", 1, None, f"{USER}:{ids[0]}")
    raw = zlib.decompress(scalar(store, "SELECT data FROM messageraw WHERE message_id=?", (reply,)))
    assert json.loads(raw) == {"chat_id": USER, "message_ids": ids}


async def test_429_is_waited_out_and_the_reply_sent_once(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    async with running(bot_settings(tmp_path, url, bot_api)) as runner:
        customer = await _customer_writes(bot_api, store)
        bot_api.script(
            "sendMessage",
            {
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
        reply = inbox.queue_reply(runner.engine, customer, "Bağlama sabah çatır.", agent="aysel")
        await async_wait_until(lambda: _delivery(store, reply)[0] == "sent", 10, "the reply")
    refused, accepted = [c for c in bot_api.calls if c.method == "sendMessage"]
    assert accepted.at - refused.at >= 1.0
    assert [m["text"] for m in bot_api.sent] == ["Bağlama sabah çatır."]
    assert _delivery(store, reply)[:3] == ("sent", 1, None)


async def test_403_fails_the_reply_and_marks_the_identity_unreachable(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    async with running(bot_settings(tmp_path, url, bot_api)) as runner:
        customer = await _customer_writes(bot_api, store)
        bot_api.script(
            "sendMessage",
            {"error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        )
        reply = inbox.queue_reply(runner.engine, customer, "Salam!", agent="aysel")
        await async_wait_until(lambda: _delivery(store, reply)[0] == "failed", 10, "the failure")
        unreachable = scalar(store, "SELECT unreachable_reason FROM identity")
        # Writing again unblocks: the address is reachable again.
        await _customer_writes(bot_api, store, "Bağışlayın, səhvən blokladım")
        reachable = scalar(store, "SELECT unreachable_reason FROM identity")
    delivery, attempts, error, _ = _delivery(store, reply)
    assert (delivery, attempts) == ("failed", 1)
    assert error == "the user blocked the bot"
    assert unreachable == "the user blocked the bot (bot)"
    assert reachable is None
    assert bot_api.sent == []
    events = query(store, "SELECT kind, after FROM event WHERE kind = 'unreachable'")
    assert events == [("unreachable", "the user blocked the bot (bot)")]


async def test_parts_already_delivered_are_never_sent_again_even_by_the_next_runner(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = bot_settings(
        tmp_path, url, bot_api, outbox={"backoff_base_seconds": 1.5, "backoff_max_seconds": 2}
    )
    text = persian_reply()
    first, second, third = split_message(text)
    part_one = {
        "message_id": 9001,
        "chat": {"id": USER, "type": "private", "first_name": "Leyla"},
        "date": int(time.time()),
        "text": first.strip(),
    }
    flood = {
        "error_code": 429,
        "description": "Too Many Requests: retry after 120",
        "parameters": {"retry_after": 120},
    }
    async with running(settings) as runner:
        customer = await _customer_writes(bot_api, store)
        bot_api.script("sendMessage", {"result": part_one}, flood)
        reply = inbox.queue_reply(runner.engine, customer, text, agent="aysel")
        await async_wait_until(
            lambda: _delivery(store, reply)[:2] == ("queued", 1), 10, "the transient failure"
        )
        error = _delivery(store, reply)[2]
    # The next runner (a new connector: only the part log on disk remembers) goes on.
    async with running(settings):
        await async_wait_until(lambda: _delivery(store, reply)[0] == "sent", 15, "the rest")
    assert error == "Telegram's flood control asks to wait 120 s (1 of 3 parts delivered)"
    assert sent_texts(bot_api) == [first, second, second, third]
    assert [m["text"] for m in bot_api.sent] == [second.strip(), third.strip()]
    assert _delivery(store, reply) == ("sent", 2, None, f"{USER}:9001")


async def test_a_send_that_cannot_connect_is_retried_and_arrives_once(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    async with running(bot_settings(tmp_path, url, bot_api)) as runner:
        customer = await _customer_writes(bot_api, store)
        await asyncio.to_thread(bot_api.stop)
        reply = inbox.queue_reply(runner.engine, customer, "Sabah zəng edəcəyik.", agent="aysel")
        await async_wait_until(
            lambda: (_delivery(store, reply)[2] or "").startswith("could not reach Telegram"),
            10,
            "a failed attempt",
        )
        await asyncio.to_thread(bot_api.start)
        await async_wait_until(lambda: _delivery(store, reply)[0] == "sent", 10, "the reply")
    assert [m["text"] for m in bot_api.sent] == ["Sabah zəng edəcəyik."]
    assert _delivery(store, reply)[1] >= 2


class SilentServer:
    """Takes connections and reads what comes, never answers: a Telegram that got the
    request and went quiet."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            while data := conn.recv(65536):
                with self._lock:
                    self.received += data

    def requests(self, method: str) -> int:
        with self._lock:
            return self.received.count(f"/{method} HTTP/1.1".encode())

    def close(self) -> None:
        self.sock.close()


async def test_a_send_without_an_answer_is_unconfirmed_and_never_resent_by_itself(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_connector, "REQUEST_TIMEOUT", 0.5)
    silent = SilentServer()
    url = store = store_url
    settings = settings_for(
        tmp_path,
        url,
        telegram={
            "bot": {"token": "1:x", "base_url": f"http://127.0.0.1:{silent.port}/bot"},
        },
        outbox={"backoff_base_seconds": 0.1, "backoff_max_seconds": 0.2},
    )
    engine = db.make_engine(url)
    customer = inbox.ingest(
        engine,
        Batch(
            [
                InboundMessage(
                    account="bot",
                    channel="telegram",
                    external_id=f"{USER}:1",
                    address=str(USER),
                    body="Salam",
                    sent_at=db.utcnow(),
                    display_name="Leyla",
                )
            ]
        ),
    )[0].customer_id
    try:
        async with running(settings) as runner:
            reply = inbox.queue_reply(runner.engine, customer, "Sabah gələcək.", agent="aysel")
            await async_wait_until(
                lambda: _delivery(store, reply)[0] == "unconfirmed", 10, "no answer"
            )
            await asyncio.sleep(1)  # an agent decides, not the outbox
    finally:
        silent.close()
        engine.dispose()
    delivery, attempts, error, _ = _delivery(store, reply)
    assert (delivery, attempts) == ("unconfirmed", 1)
    assert error.startswith("DeliveryUnknown: Telegram may or may not have the message")
    assert error.endswith("check whether the customer got it")
    assert silent.requests("sendMessage") == 1


# -- split_message ------------------------------------------------------------------------

# Graphemes of several scripts, each made of code points that must stay together.
GRAPHEMES = st.sampled_from(
    [
        "a",
        "Z",
        "ə",
        "ş",
        "ğ",
        "ı",
        "س",
        "ل",
        "ا",
        "م",
        "۴",
        "ی\u200c",  # Persian letter with a zero-width non-joiner
        "بِ",  # with a kasra
        "e\u0301",  # e + combining acute
        "a\u0308\u0301",
        "😀",
        "👍🏽",  # skin tone
        "👨\u200d👩\u200d👧\u200d👦",  # family: ZWJ sequence
        "🏳\ufe0f\u200d🌈",
        "🇦🇿",  # flag: two regional indicators
        "🇮🇷",
        "❤\ufe0f",
        "\r\n",
        "𝔸",
        "한",
        "\u1100\u1161\u11a8",  # Hangul as jamo
    ]
)
SPACES = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n "])


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, set[int]]:
    """A text and the indexes where a grapheme starts (where a cut may fall)."""
    pieces = draw(st.lists(st.one_of(GRAPHEMES, SPACES), max_size=120))
    text = ""
    boundaries = {0}
    for piece in pieces:
        if piece.isspace():
            for ch in piece:  # "\r\n" is no piece here; each space is a grapheme
                text += ch
                boundaries.add(len(text))
        else:
            text += piece
            boundaries.add(len(text))
    return text, boundaries


@settings(max_examples=400, deadline=None)
@given(texts(), st.integers(min_value=12, max_value=80))
def test_split_message_parts_fit_rebuild_the_text_and_keep_graphemes(
    made: tuple[str, set[int]], limit: int
) -> None:
    text, boundaries = made
    parts = split_message(text, limit)
    if not text:
        assert parts == []
        return
    assert_parts_of(text, parts, limit)
    # Every part starts and ends on a grapheme boundary of the original text.
    spans = []
    at = 0
    for part in parts:
        start = text.index(part, at)  # parts start with no whitespace, gaps are all whitespace
        at = start + len(part)
        assert start in boundaries and at in boundaries, (text, parts)
        spans.append((start, at))
    # A part ends inside a word only when no whitespace in it could end it.
    for part, (_, end), (start, _) in zip(parts, spans, spans[1:], strict=False):
        if start == end:
            assert not any(ch.isspace() for ch in part), (text, parts)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=2, max_value=40))
def test_split_message_on_any_text(text: str, limit: int) -> None:
    parts = split_message(text, limit)
    if utf16_length(text) <= limit:
        assert parts == ([text] if text else [])
        return
    assert_parts_of(text, parts, limit)


def test_split_message_prefers_paragraphs_then_lines_then_spaces() -> None:
    para = "Birinci abzas burada bitir.\n\nİkinci abzas isə burada başlayır və davam edir."
    assert split_message(para, 50) == [
        "Birinci abzas burada bitir.",
        "İkinci abzas isə burada başlayır və davam edir.",
    ]
    # The paragraph break is in the first half of a 90-unit part: the last space wins.
    assert split_message(para, 90) == [para]
    assert split_message(para, 60) == [
        "Birinci abzas burada bitir.\n\nİkinci abzas isə burada",
        "başlayır və davam edir.",
    ]
    lines = "Sətir bir sətir\nsətir iki uzun bir sətirdir"
    assert split_message(lines, 24) == ["Sətir bir sətir", "sətir iki uzun bir", "sətirdir"]
    assert split_message("a" * 10, 4) == ["aaaa", "aaaa", "aa"]
    assert split_message("", 10) == []
    assert split_message("  short  ", 4096) == ["  short  "]
    with pytest.raises(ValueError):
        split_message("x", 1)


def test_split_message_counts_utf16_and_never_splits_an_emoji() -> None:
    emoji = "😀" * 3000  # 6,000 UTF-16 code units, no spaces
    parts = split_message(emoji)
    assert [utf16_length(p) for p in parts] == [4096, 1904]
    assert "".join(parts) == emoji
    family = "👨\u200d👩\u200d👧\u200d👦" * 400  # 11 units each, 4,400 in all
    parts = split_message(family)
    assert "".join(parts) == family
    assert all(p.startswith("👨") and p.endswith("👦") for p in parts)
    flags = "🇦🇿🇹🇷🇮🇷" * 700
    parts = split_message(flags)
    assert "".join(parts) == flags
    pairs = [p[i : i + 2] for p in parts for i in range(0, len(p), 2)]
    assert all(len(p) % 2 == 0 for p in parts) and set(pairs) == {"🇦🇿", "🇹🇷", "🇮🇷"}


def test_split_message_a_persian_reply_at_word_boundaries() -> None:
    text = persian_reply()
    parts = split_message(text)
    assert_parts_of(text, parts)
    assert len(parts) == 3
    words = set(text.split())
    for part in parts:
        assert part.split()[0] in words and part.split()[-1] in words


# -- files in replies ---------------------------------------------------------------------


def _png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG image (the stand-in reads its size from the header)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xcc\x22\x44" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


REPORT = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
PERSIAN_NAME = "گزارش سفارش ۴۴۷۱.pdf"


def _outgoing(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "outgoing"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _uploads(api: BotApiServer) -> list[tuple[str, str, bytes]]:
    """(method, file name, bytes) of each upload, in order."""
    return [
        (c.method, *c.files[field])
        for c in api.calls
        for field in ("photo", "document")
        if c.method in ("sendPhoto", "sendDocument") and field in c.files
    ]


async def test_files_follow_the_text_a_photo_by_send_photo_a_pdf_by_send_document(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    photo = _png()
    async with running(bot_settings(tmp_path, url, bot_api)) as runner:
        customer = await _customer_writes(bot_api, store)
        reply = inbox.queue_reply(
            runner.engine,
            customer,
            "Fakturanı və şəkli göndərirəm.",
            agent="aysel",
            attachments=[
                _outgoing(tmp_path, "bağlama.png", photo),
                _outgoing(tmp_path, PERSIAN_NAME, REPORT),
            ],
            blobs=runner.blobs,
        )
        await async_wait_until(lambda: _delivery(store, reply)[0] == "sent", 15, "the reply")
    assert [c.method for c in bot_api.calls if c.method.startswith("send")] == [
        "sendMessage",
        "sendPhoto",
        "sendDocument",
    ]
    assert _uploads(bot_api) == [
        ("sendPhoto", "bağlama.png", photo),
        ("sendDocument", PERSIAN_NAME, REPORT),
    ]
    assert all(
        c.params["chat_id"] == USER and "caption" not in c.params
        for c in bot_api.calls
        if c.method in ("sendPhoto", "sendDocument")
    )
    text, as_photo, as_document = bot_api.sent
    assert text["text"] == "Fakturanı və şəkli göndərirəm."
    assert as_photo["photo"][-1]["width"] == 4
    assert as_document["document"]["file_name"] == PERSIAN_NAME
    assert as_document["document"]["mime_type"] == "application/pdf"
    ids = [m["message_id"] for m in bot_api.sent]
    assert _delivery(store, reply) == ("sent", 1, None, f"{USER}:{ids[0]}")
    raw = zlib.decompress(scalar(store, "SELECT data FROM messageraw WHERE message_id=?", (reply,)))
    assert json.loads(raw) == {"chat_id": USER, "message_ids": ids}


async def test_a_files_only_reply_sends_just_the_files(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    big_photo = b"\xff\xd8\xff\xe0" + os.urandom(10 * 1024 * 1024)  # over 10 MB: a document
    async with running(bot_settings(tmp_path, url, bot_api)) as runner:
        customer = await _customer_writes(bot_api, store)
        bot_api.script(
            "sendPhoto", {"error_code": 400, "description": "Bad Request: PHOTO_INVALID_DIMENSIONS"}
        )
        reply = inbox.queue_reply(
            runner.engine,
            customer,
            "",
            agent="aysel",
            attachments=[
                _outgoing(tmp_path, "panorama.png", _png(9000, 2)),
                _outgoing(tmp_path, "scan.jpg", big_photo),
            ],
            blobs=runner.blobs,
        )
        await async_wait_until(lambda: _delivery(store, reply)[0] == "sent", 15, "the reply")
    assert sent_texts(bot_api) == []
    # The photo Telegram would not take as one went as a document; so did the big one.
    assert [(method, name) for method, name, _ in _uploads(bot_api)] == [
        ("sendPhoto", "panorama.png"),
        ("sendDocument", "panorama.png"),
        ("sendDocument", "scan.jpg"),
    ]
    assert _uploads(bot_api)[2][2] == big_photo
    assert [m["document"]["file_name"] for m in bot_api.sent] == ["panorama.png", "scan.jpg"]
    assert _delivery(store, reply)[:3] == ("sent", 1, None)


@pytest.mark.parametrize(
    ("failure", "then"),
    [
        (
            {
                "error_code": 429,
                "description": "Too Many Requests: retry after 120",
                "parameters": {"retry_after": 120},
            },
            "queued",
        ),
        ({"error_code": 500, "description": "Internal Server Error"}, "unconfirmed"),
    ],
)
async def test_a_retry_after_a_failure_on_the_second_file_never_resends_the_first(
    bot_api: BotApiServer, tmp_path: Path, store_url: str, failure: dict[str, Any], then: str
) -> None:
    url = store = store_url
    first_file = {
        "message_id": 9002,
        "chat": {"id": USER, "type": "private", "first_name": "Leyla"},
        "date": int(time.time()),
        "document": {"file_id": "BQACx", "file_unique_id": "AgADx", "file_name": "a.pdf"},
    }
    settings = bot_settings(
        tmp_path, url, bot_api, outbox={"backoff_base_seconds": 0.5, "backoff_max_seconds": 1}
    )
    async with running(settings) as runner:
        customer = await _customer_writes(bot_api, store)
        bot_api.script("sendDocument", {"result": first_file}, failure)
        reply = inbox.queue_reply(
            runner.engine,
            customer,
            "İki sənəd:",
            agent="aysel",
            attachments=[
                _outgoing(tmp_path, "a.pdf", REPORT),
                _outgoing(tmp_path, "b.pdf", REPORT[::-1]),
            ],
            blobs=runner.blobs,
        )
        await async_wait_until(
            lambda: _delivery(store, reply)[:2] == (then, 1), 10, "the failed attempt"
        )
        error = _delivery(store, reply)[2]
        if then == "unconfirmed":  # Telegram answered 500: an agent looks, then resends
            inbox.retry_reply(runner.engine, reply, agent="aysel")
        await async_wait_until(lambda: _delivery(store, reply)[0] == "sent", 15, "the rest")
    assert "2 of 3 parts delivered" in error
    assert sent_texts(bot_api) == ["İki sənəd:"]
    assert [(m, name) for m, name, _ in _uploads(bot_api)] == [
        ("sendDocument", "a.pdf"),
        ("sendDocument", "b.pdf"),
        ("sendDocument", "b.pdf"),
    ]
    assert [m.get("document", {}).get("file_name") for m in bot_api.sent] == [None, "b.pdf"]
    delivery, attempts, _, external_id = _delivery(store, reply)
    assert (delivery, attempts) == ("sent", 2)
    assert external_id == f"{USER}:{bot_api.sent[0]['message_id']}"


async def test_a_file_over_telegrams_upload_limit_fails_before_anything_is_sent(
    bot_api: BotApiServer, tmp_path: Path
) -> None:
    settings = bot_settings(tmp_path, "sqlite://", bot_api)
    connector = telegram_connector.TelegramConnector(
        "bot", settings.config.telegram["bot"], tmp_path
    )
    huge = OutboundFile("video.mp4", "video/mp4", "0" * 64, 80 * 1024 * 1024)
    message = OutboundMessage(
        1, "k@omnitui", "bot", "telegram", str(USER), "Video:", attachments=(huge,)
    )
    with pytest.raises(DeliveryError) as caught:
        await connector.send(message)
    assert caught.value.permanent
    assert caught.value.reason == (
        "video.mp4: 80 MB is over Telegram's 50 MB limit for a bot's uploads"
    )
    assert bot_api.calls == []


async def test_the_bot_token_never_reaches_the_log(
    bot_api: BotApiServer, tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = store = store_url
    caplog.set_level(logging.DEBUG)
    async with running(bot_settings(tmp_path, url, bot_api)):
        bot_api.private_text(USER, "Salam")
        await async_wait_until(lambda: count(store) == 1, 10, "the message")
    secret = bot_api.token.split(":", 1)[1]
    assert caplog.records, "the runner logs what it does"
    assert not [r for r in caplog.records if secret in r.getMessage()]
