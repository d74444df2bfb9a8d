"""A stand-in for the Telegram Bot API on loopback, for tests: python-telegram-bot talks to it
as it would to api.telegram.org (``Bot(token, base_url=server.base_url,
base_file_url=server.base_file_url)``).

It follows https://core.telegram.org/bots/api: ``POST /bot<TOKEN>/<method>`` with JSON,
url-encoded or multipart parameters; answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": ...}`` with that HTTP status; files come from
``GET /file/bot<TOKEN>/<file_path>``. Tests make customers write (``private_text`` and the other
builders), script failures (``script``) and read what the bot did (``calls``, ``sent``).

Where it is kinder than Telegram, on purpose: any chat id can be written to (Telegram answers
"chat not found" for chats it does not know), webhook URLs may be plain http on any port, and
sendPhoto takes bytes that are no image (with nominal sizes). Script the stricter answers.

Test code only; the omnitui package must never import this module. Standard library only.
"""

from __future__ import annotations

import contextlib
import copy
import json
import mimetypes
import re
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.patience import patience

HOST = "127.0.0.1"

MAX_MESSAGE_LENGTH = 4096  # UTF-16 code units, as Telegram counts them
MAX_CAPTION_LENGTH = 1024
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses bigger files
MAX_UPLOAD_SIZE = 50 * 1024 * 1024  # what a bot may upload

CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

# Update kinds that getUpdates leaves out unless allowed_updates names them.
NOT_SENT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# How url-encoded and multipart values (always strings on the wire) are read back; JSON bodies
# arrive typed. Parameters in none of these sets stay strings, as Telegram reads "text".
INT_PARAMS = frozenset(
    [
        "offset",
        "limit",
        "timeout",
        "message_id",
        "reply_to_message_id",
        "message_thread_id",
        "direct_messages_topic_id",
        "max_connections",
        "duration",
        "width",
        "height",
        "user_id",
    ]
)
BOOL_PARAMS = frozenset(
    [
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
    ]
)
JSON_PARAMS = frozenset(
    [
        "allowed_updates",
        "reply_parameters",
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "suggested_post_parameters",
        "media",
        "commands",
        "scope",
    ]
)
CHAT_ID_PARAMS = frozenset({"chat_id", "from_chat_id"})

# Prefixes of real file ids by kind, so ids look like Telegram's.
FILE_ID_PREFIX = {
    "photo": "AgAC",
    "voice": "AwAC",
    "video": "BAAC",
    "sticker": "CAAC",
    "document": "BQAC",
}


@dataclass(frozen=True)
class Call:
    """One request to a Bot API method, with its parameters decoded (see INT_PARAMS...)."""

    method: str
    """As Telegram spells it ("getUpdates"), whatever case the client used."""
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    """Uploaded multipart parts: field name -> (filename, bytes)."""
    at: float
    """time.monotonic() when the request arrived."""


@dataclass
class StoredFile:
    """A file the server can hand out by getFile and download."""

    unique_id: str
    data: bytes
    file_path: str


class ApiError(Exception):
    """An answer {"ok": false, ...} with HTTP status ``code``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class _Dropped(Exception):
    """The server is stopping: close the connection without an answer."""


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class _Request:
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    file_types: dict[str, str] = field(default_factory=dict)


class _ConfiguredSecret:
    """deliver_webhook's default: send the secret_token that setWebhook set, as Telegram does."""


AS_SET = _ConfiguredSecret()


class BotApiServer:
    """The Bot API of one bot (``token``) on a free loopback port; see the module docstring.

    Long polls wait on a condition, so a pushed update ends them at once. Everything the
    tests read (``calls``, ``sent``, ``confirmed_offset``, ``webhook``) changes under one
    lock; ``wait_for_calls`` and ``wait_for_confirmed`` wait for it with a deadline.
    """

    def __init__(self, token: str = "123456:TEST-token", bot_username: str = "acme_support_bot"):
        self.token = token
        self.bot_username = bot_username
        self.host = HOST
        self.port = 0
        self.calls: list[Call] = []
        self.sent: list[dict[str, Any]] = []
        self.confirmed_offset = 0
        self.webhook: dict[str, Any] | None = None
        self._changed = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._scripts: dict[str, deque[dict[str, Any]]] = {}
        self._files: dict[str, StoredFile] = {}  # by file_id; photo sizes share one
        self._file_count = 0
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._last_message_id: dict[int | str, int] = {}
        self._webhook_error: tuple[int, str] | None = None
        self._query_count = 0
        self._queries: set[str] = set()
        """Callback queries not answered yet (answerCallbackQuery)."""
        self._stopping = False
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456

    # -- running ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    def start(self) -> None:
        """Listen on a free loopback port, or on the same port again after ``stop``."""
        with self._changed:
            self._stopping = False
        httpd = _HttpServer((self.host, self.port), _Handler)
        httpd.api = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close the port and every connection; long polls end without an answer, as when
        Telegram's server goes away. What was recorded stays; ``start`` serves it again."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()  # joins the request threads
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> BotApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the test makes happen --------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an Update for getUpdates (a copy, with the next update_id if it has none);
        wake long polls; return its update_id."""
        update = copy.deepcopy(update)
        with self._changed:
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            update_id = int(update["update_id"])
            self._next_update_id = max(self._next_update_id, update_id + 1)
            for value in update.values():
                if isinstance(value, dict) and "message_id" in value and "chat" in value:
                    self._remember_message(value)
            self._pending.append(update)
            self._pending.sort(key=lambda u: int(u["update_id"]))
            self._changed.notify_all()
        return update_id

    def script(self, method: str, *responses: dict[str, Any]) -> None:
        """The next calls of ``method`` answer ``responses`` in order, then normal service
        resumes. An answer is an error ({"error_code": 429, "description": ...,
        "parameters": {"retry_after": 2}}) or a success ({"result": ...})."""
        for response in responses:
            if "error_code" not in response and "result" not in response:
                raise ValueError(f"a scripted answer needs error_code or result: {response}")
        with self._changed:
            self._scripts.setdefault(method.lower(), deque()).extend(
                copy.deepcopy(r) for r in responses
            )

    def add_file(self, data: bytes, *, file_path: str | None = None) -> tuple[str, str]:
        """Make ``data`` downloadable (getFile, then GET); return (file_id, file_unique_id)."""
        with self._changed:
            file_id, stored = self._store_file("document", data, file_path)
        return file_id, stored.unique_id

    # Builders of realistic updates from customers; each pushes and returns the update_id.

    def private_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Leyla",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A customer writes ``text`` to the bot (a "message" in their private chat)."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        for key, value in (
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value is not None:
                user[key] = value
        with self._changed:
            self._users[user_id] = user
        content: dict[str, Any] = {"text": text}
        command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command.group())}
            ]
        return self._push_private("message", user_id, content, reply_to=reply_to)

    def private_photo(self, user_id: int, file_id: str, caption: str | None = None) -> int:
        """A photo (``file_id`` from ``add_file``) as Telegram sends it: sizes, largest last."""
        stored = self._file(file_id)
        width, height = image_size(stored.data) or (1280, 960)
        scale = min(1.0, 90 / max(width, height))
        thumb_id = self._alias(file_id, "photo")
        sizes = [
            self._photo_size(thumb_id, max(1, round(width * scale)), max(1, round(height * scale))),
            self._photo_size(file_id, width, height),
        ]
        return self._push_private("message", user_id, {"photo": sizes}, caption=caption)

    def private_document(
        self,
        user_id: int,
        file_id: str,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
    ) -> int:
        stored = self._file(file_id)
        document = {
            "file_name": file_name,
            "mime_type": mime_type,
            "file_id": file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
        }
        return self._push_private("message", user_id, {"document": document}, caption=caption)

    def private_voice(
        self, user_id: int, file_id: str, *, duration: int = 3, caption: str | None = None
    ) -> int:
        stored = self._file(file_id)
        voice = {
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_id": file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
        }
        return self._push_private("message", user_id, {"voice": voice}, caption=caption)

    def private_video(
        self,
        user_id: int,
        file_id: str,
        *,
        duration: int = 5,
        width: int = 640,
        height: int = 360,
        caption: str | None = None,
    ) -> int:
        stored = self._file(file_id)
        video = {
            "duration": duration,
            "width": width,
            "height": height,
            "mime_type": "video/mp4",
            "file_id": file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
        }
        return self._push_private("message", user_id, {"video": video}, caption=caption)

    def private_sticker(self, user_id: int, emoji: str) -> int:
        """A sticker; its (fake WebP) file is added, so it can be downloaded."""
        with self._changed:
            file_id, stored = self._store_file("sticker", b"RIFF\0\0\0\0WEBPVP8 ", None, ".webp")
        sticker = {
            "width": 512,
            "height": 512,
            "emoji": emoji,
            "set_name": "AcmeFriends",
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "file_id": file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
        }
        return self._push_private("message", user_id, {"sticker": sticker})

    def private_location(self, user_id: int, lat: float, lon: float) -> int:
        location = {"latitude": lat, "longitude": lon}
        return self._push_private("message", user_id, {"location": location})

    def edited_text(self, user_id: int, message_id: int, new_text: str) -> int:
        """An "edited_message": the customer changed message ``message_id`` to ``new_text``."""
        now = int(time.time())
        with self._changed:
            before = self._messages.get((user_id, message_id), {})
            message = {
                "message_id": message_id,
                "from": self._user(user_id),
                "chat": self._private_chat(user_id),
                "date": before.get("date", now),
                "edit_date": now,
                "text": new_text,
            }
        return self.push_update({"edited_message": message})

    def group_text(
        self, chat_id: int, user_id: int, text: str, *, title: str = "Acme customers"
    ) -> int:
        """Someone writes in a group the bot is in (chat.type "group")."""
        chat = {"id": chat_id, "type": "group", "title": title}
        with self._changed:
            message = {
                "message_id": self._new_message_id(chat_id),
                "from": self._user(user_id),
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
        return self.push_update({"message": message})

    def channel_post(self, chat_id: int, text: str, *, title: str = "Acme news") -> int:
        """A post in a channel the bot administers: no "from", the channel is the sender."""
        chat = {"id": chat_id, "type": "channel", "title": title}
        with self._changed:
            message = {
                "message_id": self._new_message_id(chat_id),
                "sender_chat": chat,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
        return self.push_update({"channel_post": message})

    def press_button(self, user_id: int, message_id: int, data: str) -> int:
        """The customer presses the inline keyboard button with callback data ``data`` under
        the bot's message ``message_id`` in their chat: a "callback_query" update (its ``id``
        is what answerCallbackQuery names) for getUpdates. Only a button the message has can
        be pressed."""
        return self.push_update(self.button_press(user_id, message_id, data))

    def button_press(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        """The update of ``press_button``, not queued (for ``deliver_webhook``)."""
        with self._changed:
            message = copy.deepcopy(self._messages.get((user_id, message_id)))
            if message is None:
                raise ValueError(f"no message {message_id} in chat {user_id}")
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            if not any(b.get("callback_data") == data for row in rows for b in row):
                raise ValueError(f"message {message_id} has no button with data {data!r}")
            self._query_count += 1
            query = {
                "id": f"{self.bot_id}{self._query_count:08d}",
                "from": self._user(user_id),
                "message": message,
                "chat_instance": f"-{user_id}{self.bot_id}",
                "data": data,
            }
            self._queries.add(query["id"])
        return {"callback_query": query}

    def unknown_update(self, kind: str, payload: dict[str, Any]) -> int:
        """An update of a kind the connector ignores, e.g. ("poll", {"id": "1", ...})."""
        return self.push_update({kind: payload})

    # -- webhooks --------------------------------------------------------------------------

    def deliver_webhook(
        self,
        update: dict[str, Any],
        secret: str | _ConfiguredSecret | None = AS_SET,
        *,
        timeout: float = 10,
    ) -> int:
        """POST ``update`` to the webhook URL as Telegram does and return the HTTP status;
        0 when nothing answered (then getWebhookInfo shows last_error_message).

        ``secret``: the X-Telegram-Bot-Api-Secret-Token header (None: no header); by default
        the secret_token setWebhook set. Blocks: from async tests use asyncio.to_thread.
        """
        with self._changed:
            if self.webhook is None:
                raise RuntimeError("no webhook set")
            url = str(self.webhook["url"])
            if isinstance(secret, _ConfiguredSecret):
                secret = self.webhook.get("secret_token")
            update = copy.deepcopy(update)
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        request = urllib.request.Request(
            url, data=json.dumps(update).encode(), headers=headers, method="POST"
        )
        error: str | None = None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
        try:
            with opener.open(request, timeout=timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
            error = f"Wrong response from the webhook: {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError) as exc:
            status = 0
            reason = getattr(exc, "reason", exc)
            error = (
                "Connection refused" if isinstance(reason, ConnectionRefusedError) else str(reason)
            )
        with self._changed:
            if error is not None:
                self._webhook_error = (int(time.time()), error)
            self._changed.notify_all()
        return status

    # -- what the test reads ---------------------------------------------------------------

    def wait_for_calls(self, method: str, count: int, timeout: float = 5) -> list[Call]:
        """Block until ``method`` was called at least ``count`` times; return those calls.

        Blocks the thread: from an async test use ``await asyncio.to_thread(...)``, or the
        event loop that should make the calls stands still."""

        def calls() -> list[Call]:
            return [c for c in self.calls if c.method.lower() == method.lower()]

        timeout = patience(timeout)
        with self._changed:
            if not self._changed.wait_for(lambda: len(calls()) >= count, timeout):
                raise TimeoutError(f"{len(calls())} of {count} {method} calls after {timeout} s")
            return calls()

    def wait_for_confirmed(self, update_id: int, timeout: float = 5) -> None:
        """Block until a getUpdates confirmed ``update_id`` (offset above it); see above."""
        timeout = patience(timeout)
        with self._changed:
            if not self._changed.wait_for(lambda: self.confirmed_offset > update_id, timeout):
                raise TimeoutError(
                    f"update {update_id} not confirmed after {timeout} s "
                    f"(offset {self.confirmed_offset})"
                )

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates pushed and not yet confirmed."""
        with self._changed:
            return copy.deepcopy(self._pending)

    # -- serving HTTP (called from request threads) ----------------------------------------

    def _answer(self, path: str, query: str, headers: Any, body: bytes) -> _Reply:
        if path.startswith("/file/bot"):
            return self._download(path.removeprefix("/file/bot"))
        found = re.fullmatch(r"/bot([^/]+)/([^/]*)", path)
        if found is None:
            return _error(ApiError(404, "Not Found"))
        token, name = found.groups()
        if token != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = METHODS.get(name.lower())
        try:
            request = _parse_request(headers.get("Content-Type", ""), body, query)
        except ValueError as exc:
            return _error(ApiError(400, f"Bad Request: {exc}"))
        with self._changed:
            call_name = method.name if method else name
            self.calls.append(Call(call_name, request.params, request.files, time.monotonic()))
            self._changed.notify_all()
            scripted = self._scripts.get(name.lower())
            answer = scripted.popleft() if scripted else None
        if answer is not None:
            if "error_code" in answer:
                return _error(
                    ApiError(answer["error_code"], answer["description"], answer.get("parameters"))
                )
            return _ok(answer["result"])
        if method is None:
            return _error(ApiError(404, "Not Found"))
        try:
            return _ok(method.serve(self, request), method.description(self, request))
        except ApiError as exc:
            return _error(exc)
        except (ValueError, TypeError, KeyError) as exc:  # a parameter of the wrong shape
            return _error(ApiError(400, f"Bad Request: {exc}"))

    def _download(self, rest: str) -> _Reply:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return _error(ApiError(401, "Unauthorized"))
        with self._changed:
            stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if stored is None:
            return _error(ApiError(404, "Not Found"))
        return _Reply(200, stored.data, "application/octet-stream")

    # -- the methods -----------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Acme Support",
            "username": self.bot_username,
        }

    def _get_me(self, request: _Request) -> Any:
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, request: _Request) -> Any:
        params = request.params
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        with self._changed:
            if self.webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)
            # The newest poll wins; an older one still waiting answers 409.
            self._poll_generation += 1
            mine = self._poll_generation
            if params.get("allowed_updates") is not None:
                self._allowed_updates = list(params["allowed_updates"])
            self._confirm(offset)
            self._changed.notify_all()
            deadline = time.monotonic() + timeout
            while True:
                if self._stopping:
                    raise _Dropped
                if self._poll_generation != mine:
                    raise ApiError(409, CONFLICT_OTHER_POLL)
                if self.webhook is not None:
                    raise ApiError(409, CONFLICT_WEBHOOK)
                ready = self._deliverable(limit)
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return copy.deepcopy(ready)
                self._changed.wait(remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self.confirmed_offset = max(self.confirmed_offset, offset)
        elif offset < 0:
            self._pending = self._pending[offset:]
            first = self._pending[0]["update_id"] if self._pending else self._next_update_id
            self.confirmed_offset = max(self.confirmed_offset, first)

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        """Pending updates of the allowed kinds; others are dropped, as Telegram does."""

        def allowed(update: dict[str, Any]) -> bool:
            kind = next((k for k in update if k != "update_id"), "")
            if self._allowed_updates:
                return kind in self._allowed_updates
            return kind not in NOT_SENT_BY_DEFAULT

        self._pending = [u for u in self._pending if allowed(u)]
        return self._pending[:limit]

    def _send_message(self, request: _Request) -> Any:
        params = request.params
        text = str(params.get("text") or "").strip()  # Telegram trims whitespace
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_length(text) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        content: dict[str, Any] = {"text": text}
        markup = _inline_keyboard(params.get("reply_markup"))
        if markup is not None:
            content["reply_markup"] = markup
        with self._changed:
            return self._send(params, content)

    def _answer_callback_query(self, request: _Request) -> Any:
        query_id = str(request.params.get("callback_query_id") or "")
        with self._changed:
            if query_id not in self._queries:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired "
                    "or query ID is invalid",
                )
            self._queries.discard(query_id)
        return True

    def _edit_message_reply_markup(self, request: _Request) -> Any:
        params = request.params
        chat_id = params.get("chat_id")
        message_id = int(params.get("message_id") or 0)
        markup = _inline_keyboard(params.get("reply_markup"))
        with self._changed:
            message = self._messages.get((chat_id, message_id))
            if message is None or message.get("from", {}).get("id") != self.bot_id:
                raise ApiError(400, "Bad Request: message to edit not found")
            if message.get("reply_markup") == markup:
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            if markup is None:
                message.pop("reply_markup", None)
            else:
                message["reply_markup"] = markup
            message["edit_date"] = int(time.time())
            self._changed.notify_all()
            return copy.deepcopy(message)

    def _send_document(self, request: _Request) -> Any:
        with self._changed:
            file_id, stored, file_name, mime_type = self._input_file(request, "document")
            document = {
                "file_name": file_name,
                "mime_type": mime_type,
                "file_id": file_id,
                "file_unique_id": stored.unique_id,
                "file_size": len(stored.data),
            }
            return self._send(request.params, {"document": document})

    def _send_photo(self, request: _Request) -> Any:
        with self._changed:
            file_id, stored, _, _ = self._input_file(request, "photo")
            width, height = image_size(stored.data) or (800, 600)
            scale = min(1.0, 90 / max(width, height))
            sizes = [
                self._photo_size(
                    self._alias(file_id, "photo"),
                    max(1, round(width * scale)),
                    max(1, round(height * scale)),
                ),
                self._photo_size(file_id, width, height),
            ]
            return self._send(request.params, {"photo": sizes})

    def _send_chat_action(self, request: _Request) -> Any:
        if not request.params.get("action"):
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self._chat(request.params)
        return True

    def _get_file(self, request: _Request) -> Any:
        file_id = str(request.params.get("file_id") or "")
        with self._changed:
            stored = self._files.get(file_id)
            if stored is None:
                raise ApiError(400, "Bad Request: invalid file_id")
            if len(stored.data) > MAX_DOWNLOAD_SIZE:
                raise ApiError(400, "Bad Request: file is too big")
            return {
                "file_id": file_id,
                "file_unique_id": stored.unique_id,
                "file_size": len(stored.data),
                "file_path": stored.file_path,
            }

    def _set_webhook(self, request: _Request) -> Any:
        params = dict(request.params)
        url = str(params.get("url") or "")
        if url and not re.match(r"https?://[^/\s]+", url):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(
                400, "Bad Request: bad webhook: secret token contains unallowed characters"
            )
        max_connections = int(params.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise ApiError(400, "Bad Request: bad webhook: invalid max_connections")
        with self._changed:
            if params.get("drop_pending_updates"):
                self._pending.clear()
            if not url:
                self.webhook = None
            else:
                params["has_custom_certificate"] = "certificate" in request.files
                self.webhook = params
            self._webhook_error = None
            self._changed.notify_all()
        return True

    def _delete_webhook(self, request: _Request) -> Any:
        with self._changed:
            if request.params.get("drop_pending_updates"):
                self._pending.clear()
            self.webhook = None
            self._webhook_error = None
            self._changed.notify_all()
        return True

    def _get_webhook_info(self, request: _Request) -> Any:
        with self._changed:
            info: dict[str, Any] = {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if self.webhook is None:
                return info
            info |= {
                "url": self.webhook["url"],
                "has_custom_certificate": self.webhook["has_custom_certificate"],
                "max_connections": int(self.webhook.get("max_connections") or 40),
            }
            for key in ("ip_address", "allowed_updates"):
                if self.webhook.get(key):
                    info[key] = self.webhook[key]
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
            return info

    # -- chats, messages and files (callers hold self._changed) ----------------------------

    def _send(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        reply_to = self._replied_message(chat["id"], params)
        caption = str(params.get("caption") or "").strip()
        if caption and utf16_length(caption) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        message: dict[str, Any] = {"message_id": self._new_message_id(chat["id"])}
        if chat["type"] == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = self._bot_user()
        message |= {"chat": chat, "date": int(time.time())}
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message |= content
        if caption and "text" not in content:
            message["caption"] = caption
        self._remember_message(message)
        self.sent.append(copy.deepcopy(message))
        self._changed.notify_all()
        return message

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        with self._changed:
            if isinstance(chat_id, str):  # "@channelusername"
                named = [c for c in self._chats.values() if f"@{c.get('username')}" == chat_id]
                if not named:
                    raise ApiError(400, "Bad Request: chat not found")
                return dict(named[0])
            if chat_id in self._chats:
                return dict(self._chats[chat_id])
            if chat_id > 0:
                return self._private_chat(chat_id)
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}

    def _replied_message(self, chat_id: int | str, params: dict[str, Any]) -> Any:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            lenient = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get("reply_to_message_id")
            lenient = bool(params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        replied = self._messages.get((chat_id, int(message_id)))
        if replied is None:
            if lenient:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        replied = copy.deepcopy(replied)
        replied.pop("reply_to_message", None)  # Telegram does not nest replies
        return replied

    def _remember_message(self, message: dict[str, Any]) -> None:
        chat = message["chat"]
        chat_id = chat["id"]
        self._chats.setdefault(chat_id, copy.deepcopy(chat))
        message_id = int(message["message_id"])
        self._messages[(chat_id, message_id)] = copy.deepcopy(message)
        self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)

    def _new_message_id(self, chat_id: int | str) -> int:
        """Message ids count up per chat, shared by both sides of a private chat."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _user(self, user_id: int) -> dict[str, Any]:
        return dict(
            self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Leyla"}
        )

    def _private_chat(self, user_id: int) -> dict[str, Any]:
        user = self._user(user_id)
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _push_private(
        self,
        kind: str,
        user_id: int,
        content: dict[str, Any],
        *,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        with self._changed:
            message: dict[str, Any] = {
                "message_id": self._new_message_id(user_id),
                "from": self._user(user_id),
                "chat": self._private_chat(user_id),
                "date": int(time.time()),
            }
            if reply_to is not None:
                replied = copy.deepcopy(self._messages.get((user_id, reply_to))) or {
                    "message_id": reply_to,
                    "chat": message["chat"],
                    "date": message["date"],
                }
                replied.pop("reply_to_message", None)
                message["reply_to_message"] = replied
            message |= content
            if caption is not None:
                message["caption"] = caption
        return self.push_update({kind: message})

    def _store_file(
        self, kind: str, data: bytes, file_path: str | None, suffix: str = ""
    ) -> tuple[str, StoredFile]:
        self._file_count += 1
        n = self._file_count
        file_id = f"{FILE_ID_PREFIX[kind]}AgIAAxkBAAI{n:06X}"
        folder = {"photo": "photos", "voice": "voice", "video": "videos", "sticker": "stickers"}
        default_path = f"{folder.get(kind, 'documents')}/file_{n}{suffix}"
        stored = StoredFile(f"AgAD{n:06X}", data, file_path or default_path)
        self._files[file_id] = stored
        return file_id, stored

    def _alias(self, file_id: str, kind: str) -> str:
        """Another file_id for the same bytes (a photo's smaller size)."""
        with self._changed:
            self._file_count += 1
            alias = f"{FILE_ID_PREFIX[kind]}AgIAAxkBAAI{self._file_count:06X}"
            self._files[alias] = self._files[file_id]
        return alias

    def _file(self, file_id: str) -> StoredFile:
        with self._changed:
            if file_id not in self._files:
                raise ValueError(f"unknown file_id {file_id!r}: add_file first")
            return self._files[file_id]

    def _photo_size(self, file_id: str, width: int, height: int) -> dict[str, Any]:
        stored = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "width": width,
            "height": height,
        }

    def _input_file(self, request: _Request, field_name: str) -> tuple[str, StoredFile, str, str]:
        """The file a send method names: an upload, attach://part, or an earlier file_id.
        Returns (file_id, file, file name, MIME type)."""
        value = request.params.get(field_name)
        part = field_name
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
        if part in request.files:
            file_name, data = request.files[part]
            if not data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(data) > MAX_UPLOAD_SIZE:
                raise ApiError(413, "Request Entity Too Large")
            guessed = mimetypes.guess_type(file_name, strict=False)[0]
            mime_type = guessed or request.file_types.get(part) or "application/octet-stream"
            suffix = mimetypes.guess_extension(mime_type) or ""
            file_id, stored = self._store_file(field_name, data, None, suffix)
            return file_id, stored, file_name, mime_type
        if isinstance(value, str) and value in self._files:
            stored = self._files[value]
            file_name = stored.file_path.rsplit("/", 1)[-1]
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
            return value, stored, file_name, mime_type
        if value:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise ApiError(400, f"Bad Request: there is no {field_name} in the request")


@dataclass(frozen=True)
class _Method:
    name: str
    serve: Callable[[BotApiServer, _Request], Any]
    description: Callable[[BotApiServer, _Request], str | None] = lambda api, request: None


METHODS = {
    m.name.lower(): m
    for m in (
        _Method("getMe", BotApiServer._get_me),
        _Method("getUpdates", BotApiServer._get_updates),
        _Method("sendMessage", BotApiServer._send_message),
        _Method("sendDocument", BotApiServer._send_document),
        _Method("sendPhoto", BotApiServer._send_photo),
        _Method("sendChatAction", BotApiServer._send_chat_action),
        _Method("answerCallbackQuery", BotApiServer._answer_callback_query),
        _Method("editMessageReplyMarkup", BotApiServer._edit_message_reply_markup),
        _Method("getFile", BotApiServer._get_file),
        _Method(
            "setWebhook",
            BotApiServer._set_webhook,
            lambda api, r: "Webhook was set" if r.params.get("url") else "Webhook was deleted",
        ),
        _Method(
            "deleteWebhook", BotApiServer._delete_webhook, lambda api, r: "Webhook was deleted"
        ),
        _Method("getWebhookInfo", BotApiServer._get_webhook_info),
    )
}


# -- the wire ------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """The length Telegram measures: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG, read from its header; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        at = 2
        while at + 9 <= len(data) and data[at] == 0xFF:
            marker = data[at + 1]
            (length,) = struct.unpack(">H", data[at + 2 : at + 4])
            if marker in (0xC0, 0xC1, 0xC2):  # start of frame: height, then width
                height, width = struct.unpack(">HH", data[at + 5 : at + 9])
                return int(width), int(height)
            at += 2 + length
    return None


def _inline_keyboard(markup: Any) -> dict[str, Any] | None:
    """An InlineKeyboardMarkup as Telegram checks it (callback data 1-64 bytes, a text on
    every button); None for none. Other keyboards are not kept with the message."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise ApiError(400, "Bad Request: can't parse inline keyboard button")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows}


def _ok(result: Any, description: str | None = None) -> _Reply:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return _Reply(200, json.dumps(body, ensure_ascii=False).encode())


def _error(error: ApiError) -> _Reply:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.code,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return _Reply(error.code, json.dumps(body, ensure_ascii=False).encode())


def _parse_request(content_type: str, body: bytes, query: str) -> _Request:
    """Parameters from the query string and a JSON, url-encoded or multipart body."""
    request = _Request({name: _form_value(name, v) for name, v in parse_qsl(query, True)})
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        pass
    elif kind == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise ValueError("can't parse JSON encoded request body") from exc
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        request.params |= decoded
    elif kind == "multipart/form-data":
        _parse_multipart(content_type, body, request)
    else:
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        request.params |= {name: _form_value(name, value) for name, value in form}
    for name in CHAT_ID_PARAMS & request.params.keys():
        value = request.params[name]
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            request.params[name] = int(value)
    return request


def _form_value(name: str, value: str) -> Any:
    if name in INT_PARAMS | BOOL_PARAMS | JSON_PARAMS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _parse_multipart(content_type: str, body: bytes, request: _Request) -> None:
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if found is None:
        raise ValueError("multipart body without boundary")
    delimiter = b"\r\n--" + found.group(1).encode("latin-1")
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _disposition(headers.get("content-disposition", ""))
        name = disposition.get("name", "")
        if "filename" in disposition:
            request.files[name] = (disposition["filename"], content)
            request.file_types[name] = headers.get("content-type", "")
        else:
            request.params[name] = _form_value(name, content.decode("utf-8", "replace"))


def _disposition(header: str) -> dict[str, str]:
    """The parameters of a Content-Disposition header (name, filename, filename*)."""
    found: dict[str, str] = {}
    for key, quoted, bare in re.findall(r'([\w*]+)=(?:"((?:[^"\\]|\\.)*)"|([^;]*))', header):
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted else bare.strip()
        if key.lower() == "filename*":
            _, _, encoded = value.partition("''")
            found["filename"] = unquote(encoded)
        elif key.lower() not in found:
            found[key.lower()] = value
    return found


class _HttpServer(ThreadingHTTPServer):
    """Keeps its open connections, so that stop() can close them (a client's kept-alive
    connection would otherwise still reach a stopped server)."""

    daemon_threads = False  # server_close() joins the request threads
    api: BotApiServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hang up; loud about anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as api.telegram.org
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stalls
    server: _HttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        try:
            reply = self.server.api._answer(unquote(url.path), url.query, self.headers, body)
        except _Dropped:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:  # the client went away, e.g. a cancelled long poll
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows what the tests assert, not an access log."""
