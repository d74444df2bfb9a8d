"""The Telegram channel: one bot's private chats, received by long polling or by webhook,
answered by sendMessage.

Receiving. python-telegram-bot's ``Bot`` (not its Application or Updater, which confirm
updates before anything has stored them) asks getUpdates in a long-poll loop. The next
offset is the cursor (``{"offset": str(last_update_id + 1)}``), committed by the sink in
the transaction of the messages of the updates it covers; the next getUpdates sends it,
and only that confirms those updates to Telegram. Killed at any instant, nothing is lost
(Telegram sends what was not confirmed again) and nothing doubled (ingest is idempotent on
``chat:message_id``, and a batch commits whole).

Webhook mode (``mode = "webhook"``). ``receive`` calls setWebhook (URL: [http] public_url +
the route's path, with the secret token) and then waits, checking now and then that the
webhook is still ours; Telegram POSTs each update to the route (``routes``) on the runner's
HTTP server. A request without the right X-Telegram-Bot-Api-Secret-Token (compared in
constant time) is refused with 403, a body that is not a JSON update with 400, and either
stores nothing. A good update goes through the same conversion as a polled one and is
stored by the sink before the answer: 200 only once it is committed, so an update Telegram
was not told it delivered (an error, a crash, a runner without the lease) is sent again and
stored once (ingest is idempotent). While ``receive`` is not running the route answers 503.
The cursor is ``last_update_id`` (the highest stored; for information only: updates are
pushed, not asked for). A /start is greeted only the first time its update is stored.

Every update becomes one stored thing, never nothing: a message from a private chat (text,
caption, photo in its largest size, document, voice, video, audio, animation, sticker as
"[sticker 😀]", location as text plus a map link, contact), an edit of one (the stored text
changes, the previous one is kept), a group or channel update parked in quarantine with the
reason, or an update of a kind not handled here: stored as "[unsupported Telegram update:
KIND]" when it names a private chat and a user, else quarantined. The raw JSON of each
update is kept (``raw_zlib``, or the quarantine row). Media are downloaded with getFile
before the batch is stored; a file too large or a download that fails leaves an attachment
with the reason instead, never a lost message.

Buttons: a reply's ``buttons`` are an inline keyboard under its last text part. A press is a
callback_query update, stored as the user's message (text: the label, ``button``: the data,
answering the message it was under); once stored, the query is answered and the keyboard
becomes the pressed button alone, marked ✓ (``_acknowledge``; a failure there is logged).

/start: when ``greeting`` is set, the connector sends it itself right after the batch with
the /start is committed (the connector has no access to the store, and a greeting is not a
reply an agent wrote). It is not stored; the history shows the /start. A crash between the
commit and the send loses that one greeting, which is the right way round: never twice.

Sending: plain text (never a parse_mode, so customer-facing text is never parsed as markup),
split by ``split_message`` into parts of at most 4,096 UTF-16 code units, sent in order; then
the reply's files, each a message of its own, in order and without a caption (the text, if
any, went before them: one rule for any number of files and any length of text): a JPEG, PNG
or WebP of at most 10 MB by sendPhoto (one Telegram will not take as a photo goes as a
document), anything else by sendDocument, up to the 50 MB a bot may upload (a larger file
fails the reply for good, before anything is sent). The bytes come from the attachment store
(``blobs``, set by the runner), checked against their hash. Each text part and each file is a
"part" below. Telegram has no idempotency keys, so ``idempotent_send`` is False. The parts of
a reply that Telegram accepted are recorded (``PartLog``, a file fsynced per part) under the
reply's idempotency key: any later attempt (a retry after a transient error, an agent's
resend after a crash, another runner after a takeover) continues after the last recorded
part, so no part is ever sent twice because an earlier one failed. ``DeliveryError`` means
nothing more was delivered: 429 is waited out within the send when Telegram asks for 30 s or
less, else it is a transient error; 403 (the user blocked the bot) is permanent and marks the
identity unreachable; a connection that could not be made (or an upload that could not be
written whole in time) is transient. A request that may have
reached Telegram without an answer (a read timeout, a dropped connection) is
``DeliveryUnknown``: the runner marks the reply unconfirmed for an agent to check.

Must not import the store, the services, the runner or Textual.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import hmac
import itertools
import json
import logging
import re
import threading
import time
import unicodedata
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
    TimedOut,
)
from telegram.helpers import effective_message_type
from telegram.request import HTTPXRequest

from omnitui import i18n
from omnitui.blobs import BlobStore
from omnitui.config import TelegramAccount, resolve_secret
from omnitui.config.models import WEBHOOK_SECRET
from omnitui.connectors.base import (
    Batch,
    Button,
    DeliveryError,
    InboundAttachment,
    InboundMessage,
    InboundSink,
    OutboundFile,
    OutboundMessage,
    Quarantined,
    SendResult,
    outbound_bytes,
)
from omnitui.connectors.jsonlines import JsonLines
from omnitui.connectors.routes import read_body
from omnitui.filenames import safe_filename
from omnitui.i18n import N_, _

if TYPE_CHECKING:  # starlette loads with the HTTP server only
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

log = logging.getLogger(__name__)
# httpx logs every request's URL at INFO, and python-telegram-bot its base URL at DEBUG:
# a Bot API URL carries the bot's token, so only their warnings reach the log file.
for _noisy in ("httpx", "httpcore", "telegram"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

CHANNEL = "telegram"
BASE_URL = "https://api.telegram.org/bot"
BASE_FILE_URL = "https://api.telegram.org/file/bot"
MAX_MESSAGE = 4096
"""Telegram's limit on a message's text, in UTF-16 code units."""
POLL_READ_MARGIN = 10.0
"""A long poll's HTTP read timeout is the poll's own timeout plus this."""
SEND_BUDGET = 40.0
"""A send stops waiting (flood control) or starting parts after this long; the runner gives
a send 60 s in all."""
REQUEST_TIMEOUT = 15.0
"""How long a request (sendMessage, getFile) may take to be written and answered."""
PART_REQUEST_TIME = 15.0
"""A part is not started with less than this left of SEND_BUDGET."""
MAX_FLOOD_WAIT = 30.0
"""A 429 asking for at most this long is waited out inside the send; longer ones are a
transient DeliveryError, so the outbox's backoff takes over."""
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
"""Images a reply's file is sent as a photo in (sendPhoto); any other file is a document."""
MAX_PHOTO = 10 * 1024 * 1024
"""Telegram's limit on a photo; a larger image is sent as a document."""
MAX_UPLOAD = 50 * 1024 * 1024
"""Telegram's limit on a file a bot uploads (sendDocument)."""
DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_TIMEOUT = 120.0

PRIVATE_ONLY = "omnitui answers private chats only"
CONFLICT = N_(
    "another program is polling this bot's token (409 Conflict); stop it, or use webhook mode"
)
TOKEN_REFUSED = N_("Telegram refused the bot token ({reason}): check token, token_env or token_cmd")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024
"""A webhook body larger than this is refused (413): Telegram's updates are far smaller."""
WEBHOOK_CHECK_SECONDS = 300.0
"""How often webhook mode checks (getWebhookInfo) that the webhook still points at us."""
GREETED_MEMORY = 4096
PRESSED_MARK = "✓ "
"""Before the label of the button a customer pressed, left alone under the message."""
"""How many stored update ids webhook mode remembers, so a delivery again greets no one."""


class PollingConflict(Exception):
    """Telegram answered getUpdates with 409: someone else polls the token, or a webhook is set."""


class TokenRefused(Exception):
    """Telegram does not know the token (401 or 404)."""


class WebhookProblem(Exception):
    """Webhook mode cannot receive: the webhook was refused, is not ours, or the secret is
    unusable."""


class ProbeFailed(Exception):
    """``omnitui doctor`` could not ask Telegram: the server could not be reached."""


class DeliveryUnknown(Exception):
    """A request that may have reached Telegram got no answer: the reply may or may not have
    arrived, and Telegram has no idempotency keys, so only an agent may send it again."""


# ---------------------------------------------------------------------------
# Splitting long replies


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 code units, in order, none empty.

    A text that fits comes back whole. Otherwise each part ends, by preference, at a
    paragraph break, else a line break (either in the second half of the part), else any
    whitespace; the whitespace where a part ends is dropped (Telegram trims every message's
    ends anyway), so the parts joined with those whitespace runs between them (and around
    them) give back ``text``; a text of nothing but whitespace that does not fit gives no
    part at all. A word longer than a part is cut at a grapheme boundary: never inside a
    surrogate pair and never between a letter and its combining marks, nor inside an emoji
    ZWJ sequence, a flag, a skin-tone or variation-selector sequence or CR LF (the main rules
    of UAX #29). Only a single grapheme longer than ``limit`` is cut inside (between code
    points).
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 code units (one character)")
    # ends[i]: UTF-16 units of text[: i + 1]
    ends = list(itertools.accumulate(2 if ord(c) > 0xFFFF else 1 for c in text))
    n = len(text)
    parts: list[str] = []
    start = 0
    while start < n:
        before = ends[start - 1] if start else 0
        if ends[-1] - before <= limit:
            parts.append(text[start:])
            break
        if _space(text[start]):  # leading whitespace of a text that must be split
            start = _after_space(text, start)
            continue
        end = bisect.bisect_right(ends, before + limit)  # text[start:end] fits, one more not
        cut = _word_cut(text, start, end)
        if cut is None:
            stop = _grapheme_cut(text, start, end)
            parts.append(text[start:stop])
            start = stop
        else:
            stop, after = cut
            parts.append(text[start:stop])
            start = after
    return parts


def _space(c: str) -> bool:
    """Whitespace a part may end at (not the no-break spaces)."""
    return c.isspace() and c not in "\xa0\u2007\u202f"


def _after_space(text: str, i: int) -> int:
    """The end of the whitespace run that starts at ``i``."""
    while i < len(text) and _space(text[i]):
        i += 1
    return i


def _word_cut(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where a part that may run to ``end`` ends at whitespace: (end of the part, start of
    the next), the whitespace run between them dropped. The last paragraph break in the
    second half of the part, else the last line break there, else the last whitespace;
    None when there is none."""
    half = start + (end - start) // 2
    last: tuple[int, int] | None = None
    line: tuple[int, int] | None = None
    for i in range(end, start, -1):
        if not _space(text[i]) or _space(text[i - 1]):
            continue  # not the start of a whitespace run
        after = _after_space(text, i)
        if after < len(text) and _joins(text, after):
            continue  # a mark on the space: not a boundary
        if last is None:
            last = (i, after)
        if i < half:
            break
        newlines = text.count("\n", i, after)
        if newlines >= 2:
            return i, after
        if newlines and line is None:
            line = (i, after)
    return line or last


def _grapheme_cut(text: str, start: int, end: int) -> int:
    """The last grapheme boundary in (start, end]; ``end`` itself when one grapheme is longer
    than the whole part."""
    for i in range(end, start, -1):
        if not _joins(text, i):
            return i
    return end


def _joins(text: str, i: int) -> bool:
    """True when text[i - 1] and text[i] belong to one grapheme (no boundary before ``i``).

    Errs towards joining: a boundary missed only makes a part end a little earlier.
    """
    prev, cur = ord(text[i - 1]), ord(text[i])
    if prev == 0x0D and cur == 0x0A:  # CR LF
        return True
    if _extends(cur):
        return True
    if prev == 0x200D:  # ZWJ: the next pictograph (or letter) belongs to the sequence
        return not text[i].isspace()
    if _regional(cur) and _regional(prev):
        run = 0
        j = i - 1
        while j >= 0 and _regional(ord(text[j])):
            run += 1
            j -= 1
        return run % 2 == 1  # the second indicator of a flag
    if 0x1160 <= cur <= 0x11FF or 0xD7B0 <= cur <= 0xD7FF:  # Hangul vowel and final jamo
        return 0x1100 <= prev <= 0x11FF or 0xAC00 <= prev <= 0xD7A3 or 0xA960 <= prev <= 0xA97F
    if 0x1100 <= prev <= 0x115F or 0xA960 <= prev <= 0xA97F:  # Hangul leading jamo
        return 0x1100 <= cur <= 0x115F or 0xA960 <= cur <= 0xA97F or 0xAC00 <= cur <= 0xD7A3
    return False


def _extends(cp: int) -> bool:
    """Characters that never start a grapheme: combining and spacing marks, ZWJ and ZWNJ,
    variation selectors, emoji skin tones and tag characters."""
    if cp in (0x200C, 0x200D) or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return True
    return unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me")


def _regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


# ---------------------------------------------------------------------------
# The wire


class FloodWait(TelegramError):
    """429: Telegram asks to wait ``seconds`` before the next request."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Flood control exceeded. Retry in {seconds:g} seconds")
        self.seconds = seconds


class _Request(HTTPXRequest):
    """PTB's HTTPX transport, keeping the last answer's bytes (so that getUpdates' raw JSON
    is kept and an update PTB cannot read is still stored) and raising ``FloodWait`` for
    429 (PTB's RetryAfter warns of a deprecation on every read of its delay)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last_answer: bytes | None = None

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(*args, **kwargs)
        self.last_answer = payload
        if code == 429:
            raise FloodWait(_retry_after(payload))
        return code, payload


def _retry_after(payload: bytes) -> float:
    try:
        seconds = json.loads(payload)["parameters"]["retry_after"]
        return max(0.0, float(seconds))
    except (ValueError, KeyError, TypeError):
        return 1.0


def _connect_failed(exc: NetworkError) -> bool:
    """The request never arrived: no connection could be made, none was free in the pool, or
    the request could not be written whole in time (an upload cut short is never acted on)."""
    cause = exc.__cause__
    return isinstance(
        cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.WriteTimeout
    )


def _raw_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class PartLog:
    """The message ids of the parts of replies (text parts and files) that Telegram accepted,
    by idempotency key: a JSON line appended and fsynced for each part, so that no later
    attempt (in this process or the next runner's) sends a part again. One-part replies are
    not recorded: they are delivered whole or not at all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._parts: dict[str, list[int]] = {}
        self._file = JsonLines(path)
        self._lock = threading.Lock()

    def _catch_up(self) -> None:
        for record in self._file.read_new():
            try:
                self._parts[str(record["key"])] = [int(i) for i in record["ids"]]
            except (ValueError, KeyError, TypeError):
                continue

    def delivered(self, key: str) -> list[int]:
        """The message ids of the parts of reply ``key`` already delivered, in order."""
        with self._lock:
            self._catch_up()  # another runner (before a takeover) may have appended
            return list(self._parts.get(key, ()))

    def record(self, key: str, ids: list[int]) -> None:
        with self._lock:
            self._catch_up()
            self._file.append({"key": key, "ids": ids, "at": datetime.now(UTC).isoformat()})
            self._parts[key] = list(ids)


@dataclass(frozen=True, slots=True)
class _Converted:
    """What one update became: a message or a quarantine record, and whom to greet."""

    message: InboundMessage | None = None
    quarantined: Quarantined | None = None
    greet: int | None = None
    press: _Press | None = None


@dataclass(frozen=True, slots=True)
class _Press:
    """A button press to acknowledge once it is stored: answerCallbackQuery (the client stops
    waiting), and the message's keyboard becomes the one button pressed, marked ✓."""

    query_id: str
    chat_id: int
    message_id: int | None
    button: Button


_START = re.compile(r"/start(@\w+)?(\s|$)")
_GROUPS = ("group", "supergroup")


@dataclass(eq=False)
class _Webhook:
    """Webhook mode while ``receive`` runs: what the route needs to store an update."""

    sink: InboundSink
    bot: Bot
    secret: bytes
    stored: int
    """The highest update_id stored (the cursor); at the start, the one stored before."""
    floor: int = field(init=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One update stored at a time, so the cursor only grows."""
    recent: OrderedDict[int, None] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.floor = self.stored

    def first_time(self, update_id: int) -> bool:
        """True the first time an update is stored by this receive; never for one at or
        below the cursor it started from (most likely delivered again after a restart)."""
        if update_id <= self.floor or update_id in self.recent:
            return False
        self.recent[update_id] = None
        if len(self.recent) > GREETED_MEMORY:
            self.recent.popitem(last=False)
        return True


@dataclass(frozen=True, slots=True)
class BotProbe:
    """What ``omnitui doctor`` learns of a bot: getMe and getWebhookInfo."""

    username: str
    webhook_url: str
    pending_update_count: int
    last_error: str
    last_error_date: datetime | None


# ---------------------------------------------------------------------------
# The connector


class TelegramConnector:
    channel = CHANNEL
    idempotent_send = False
    """Telegram has no idempotency keys: a send without an answer waits for an agent."""
    blobs: BlobStore | None = None
    """Where the files of replies are read from; set by the runner when it builds connectors."""

    def __init__(
        self, name: str, config: TelegramAccount, data_dir: Path, *, public_url: str = ""
    ) -> None:
        self.account = name
        self.config = config
        self.public_url = public_url.rstrip("/")
        """[http] public_url: webhook mode's URL is this plus ``webhook_path``."""
        self._webhook: _Webhook | None = None
        self.parts = PartLog(data_dir / f"telegram-{name}.parts.jsonl")
        self._sender: tuple[asyncio.AbstractEventLoop, Bot] | None = None

    def _token(self) -> str:
        cfg = self.config
        token = resolve_secret(
            f"telegram.{self.account}.token", cfg.token, cfg.token_env, cfg.token_cmd
        )
        if not token:
            raise TokenRefused(f"telegram.{self.account}: the token is empty")
        return token

    def _bot(self, token: str, poll: _Request | None = None) -> Bot:
        request = _Request(
            connection_pool_size=8,
            connect_timeout=10.0,
            read_timeout=REQUEST_TIMEOUT,
            write_timeout=REQUEST_TIMEOUT,
            pool_timeout=5.0,
        )
        return Bot(
            token,
            base_url=self.config.base_url or BASE_URL,
            base_file_url=self.config.base_file_url or BASE_FILE_URL,
            request=request,
            get_updates_request=poll,
        )

    # -- receiving -------------------------------------------------------------------

    async def receive(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        if self.config.mode == "webhook":
            await self._receive_webhook(sink, cursor)
            return
        offset = int(cursor["offset"]) if cursor.get("offset") else None
        token = self._token()
        poll = _Request(
            connection_pool_size=1,
            connect_timeout=10.0,
            read_timeout=POLL_READ_MARGIN,
            write_timeout=10.0,
        )
        bot = self._bot(token, poll)
        try:
            while True:
                updates = await self._get_updates(bot, poll, offset)
                if not updates:
                    continue
                batch, greet, presses = await self._batch(bot, updates)
                await sink(batch)
                offset = int(batch.cursor["offset"])
                for chat_id in greet:
                    await self._greet(bot, chat_id)
                for press in presses:
                    await self._acknowledge(bot, press)
        finally:
            await poll.shutdown()
            await bot.request.shutdown()

    async def _get_updates(self, bot: Bot, poll: _Request, offset: int | None) -> list[Any]:
        """One long poll: the raw updates (JSON objects) after ``offset``, which it confirms."""
        poll.last_answer = None
        try:
            await bot.get_updates(
                offset=offset,
                timeout=self.config.poll_timeout_seconds,
                read_timeout=POLL_READ_MARGIN,
                allowed_updates=[],  # every kind sent by default, whatever was set before
            )
        except Conflict as exc:
            if "webhook" in exc.message.lower():
                raise PollingConflict(await self._webhook_active(bot)) from exc
            raise PollingConflict(i18n._(CONFLICT)) from exc
        except InvalidToken as exc:
            raise TokenRefused(i18n._(TOKEN_REFUSED).format(reason=exc.message)) from exc
        except FloodWait as exc:
            log.warning("%s: getUpdates: flood control, waiting %g s", self.account, exc.seconds)
            await asyncio.sleep(min(exc.seconds, 300.0))
            return []
        except TelegramError:
            raise
        except Exception:
            # The answer came, but PTB could not read an update in it: each is taken on
            # its own below, and the one that cannot be read is quarantined.
            if poll.last_answer is None:
                raise
            log.warning("%s: an update python-telegram-bot cannot read", self.account)
        answer = json.loads(poll.last_answer or b"{}")
        result = answer.get("result") if isinstance(answer, dict) else None
        return result if isinstance(result, list) else []

    async def _webhook_active(self, bot: Bot) -> str:
        """The 409 of polling while a webhook is set, naming its URL when Telegram tells it."""
        try:
            url = (await bot.get_webhook_info()).url
        except Exception:
            url = ""
        if not url:
            return _(
                "a webhook is set for this bot, so polling gets 409 Conflict: "
                'set mode = "webhook", or delete the webhook (deleteWebhook); '
                "`omnitui doctor` shows it"
            )
        return _(
            "a webhook is set for this bot ({url}), so polling gets 409 Conflict: "
            'set mode = "webhook", or delete the webhook (deleteWebhook); '
            "`omnitui doctor` shows it"
        ).format(url=url)

    # -- receiving by webhook --------------------------------------------------------

    @property
    def webhook_path(self) -> str:
        """The path of the webhook route on the runner's HTTP server."""
        return self.config.path_for(self.account)

    @property
    def webhook_url(self) -> str:
        """Where Telegram is to POST updates: [http] public_url + ``webhook_path``."""
        return self.public_url + self.webhook_path if self.public_url else ""

    def routes(self) -> list[BaseRoute]:
        """The webhook route in webhook mode (``HasRoutes``); none in poll mode."""
        if self.config.mode != "webhook":
            return []
        from starlette.routing import Route

        return [Route(self.webhook_path, self._on_webhook, methods=["POST"])]

    def _webhook_secret(self) -> str:
        cfg = self.config
        where = f"telegram.{self.account}.webhook_secret"
        secret = resolve_secret(where, cfg.webhook_secret, cfg.webhook_secret_env, None)
        if not secret or not WEBHOOK_SECRET.fullmatch(secret):
            problem = _("{key}: the secret must be 1-256 characters of A-Z a-z 0-9 _ -")
            raise WebhookProblem(problem.format(key=where))
        return secret

    async def _receive_webhook(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        """Set the webhook, then let the route take updates until cancelled, checking every
        ``WEBHOOK_CHECK_SECONDS`` that the webhook still points here."""
        token = self._token()
        secret = self._webhook_secret()
        url = self.webhook_url
        if not url:
            raise WebhookProblem(_("webhook mode needs [http] public_url"))
        bot = self._bot(token)
        try:
            try:
                await bot.set_webhook(
                    url, secret_token=secret, allowed_updates=[], drop_pending_updates=False
                )
            except InvalidToken as exc:
                raise TokenRefused(i18n._(TOKEN_REFUSED).format(reason=exc.message)) from exc
            except BadRequest as exc:
                problem = _("Telegram refused the webhook {url}: {reason}")
                raise WebhookProblem(problem.format(url=url, reason=exc.message)) from exc
            stored = cursor.get("last_update_id", "")
            last = int(stored) if stored.isdigit() else 0
            self._webhook = _Webhook(sink, bot, secret.encode(), last)
            log.info("%s: Telegram sends updates to %s", self.account, url)
            while True:
                await asyncio.sleep(WEBHOOK_CHECK_SECONDS)
                await self._check_webhook(bot, url)
        finally:
            self._webhook = None
            await bot.request.shutdown()

    async def _check_webhook(self, bot: Bot, url: str) -> None:
        """Raise when the webhook no longer points at ``url`` (the runner restarts the
        connector, which sets it again); a failed check is only logged."""
        try:
            info = await bot.get_webhook_info()
        except InvalidToken as exc:
            raise TokenRefused(i18n._(TOKEN_REFUSED).format(reason=exc.message)) from exc
        except TelegramError as exc:
            log.warning("%s: could not check the webhook: %s", self.account, exc.message)
            return
        if info.url != url and info.url:
            problem = _("the webhook points at {found}, not {url}: another program changed it")
            raise WebhookProblem(problem.format(found=info.url, url=url))
        if info.url != url:
            problem = _("the webhook points at nothing, not {url}: another program changed it")
            raise WebhookProblem(problem.format(url=url))
        if info.last_error_message and info.pending_update_count:
            log.warning(
                "%s: Telegram cannot deliver to %s (%d updates waiting): %s",
                self.account,
                url,
                info.pending_update_count,
                info.last_error_message,
            )

    async def _on_webhook(self, request: Request) -> Response:
        """One update POSTed by Telegram: 200 once it is stored, 403 without the secret, 400
        for a body that is no update, 503 while not receiving, 500 when storing failed."""
        from starlette.background import BackgroundTask
        from starlette.responses import Response

        live = self._webhook
        if live is None:
            return Response("not receiving now; try again later", status_code=503)
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, live.secret):
            why = "a wrong" if given else "no"
            log.warning(
                "%s: webhook request from %s refused: %s secret token",
                self.account,
                _client(request),
                why,
            )
            return Response(status_code=403)
        body = await read_body(request, MAX_UPDATE_BYTES)
        if body is None:
            log.warning("%s: webhook body over %d bytes refused", self.account, MAX_UPDATE_BYTES)
            return Response("too large", status_code=413)
        try:
            raw = json.loads(body)
        except (ValueError, RecursionError):
            log.warning("%s: webhook body is not JSON (%d bytes); refused", self.account, len(body))
            return Response("not JSON", status_code=400)
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if type(update_id) is not int:
            log.warning("%s: webhook body is not a Telegram update; refused", self.account)
            return Response("not a Telegram update", status_code=400)
        try:
            converted = await self._convert(live.bot, raw)
            if self._webhook is not live:  # receive stopped meanwhile: Telegram sends it again
                return Response("not receiving now; try again later", status_code=503)
            messages = [converted.message] if converted.message is not None else []
            parked = [converted.quarantined] if converted.quarantined is not None else []
            async with live.lock:
                stored = max(live.stored, update_id)
                await live.sink(Batch(messages, {"last_update_id": str(stored)}, parked))
                live.stored = stored
                first = live.first_time(update_id)
        except Exception:
            log.exception(
                "%s: update %d not stored; Telegram sends it again", self.account, update_id
            )
            return Response(status_code=500)
        greet = converted.greet if first else None
        task = BackgroundTask(self._greet, live.bot, greet) if greet is not None else None
        if converted.press is not None:
            task = BackgroundTask(self._acknowledge, live.bot, converted.press)
        return Response(status_code=200, background=task)

    # -- what `omnitui doctor` asks -------------------------------------------------

    async def probe(self) -> BotProbe:
        """getMe and getWebhookInfo. Raises TokenRefused when Telegram does not know the
        token, ProbeFailed when it cannot be reached."""
        bot = self._bot(self._token())
        where = urlsplit(self.config.base_url or BASE_URL).netloc
        try:
            me = await bot.get_me()
            info = await bot.get_webhook_info()
        except InvalidToken as exc:
            raise TokenRefused(i18n._(TOKEN_REFUSED).format(reason=exc.message)) from exc
        except NetworkError as exc:
            problem = _("could not reach Telegram at {host}: {reason}")
            raise ProbeFailed(problem.format(host=where, reason=exc.message)) from exc
        except TelegramError as exc:
            problem = _("Telegram at {host} answered: {reason}")
            raise ProbeFailed(problem.format(host=where, reason=exc.message)) from exc
        finally:
            await bot.request.shutdown()
        return BotProbe(
            username=me.username or "",
            webhook_url=info.url,
            pending_update_count=info.pending_update_count,
            last_error=info.last_error_message or "",
            last_error_date=_aware(info.last_error_date),
        )

    # -- converting updates ----------------------------------------------------------

    async def _batch(self, bot: Bot, updates: list[Any]) -> tuple[Batch, list[int], list[_Press]]:
        ids = [u["update_id"] for u in updates if isinstance(u, dict)]
        ids = [i for i in ids if isinstance(i, int)]
        if not ids:
            raise ValueError("getUpdates answered updates without an update_id")
        messages: list[InboundMessage] = []
        quarantined: list[Quarantined] = []
        greet: list[int] = []
        presses: list[_Press] = []
        for raw in updates:
            converted = await self._convert(bot, raw)
            if converted.message is not None:
                messages.append(converted.message)
            if converted.quarantined is not None:
                quarantined.append(converted.quarantined)
            if converted.greet is not None:
                greet.append(converted.greet)
            if converted.press is not None:
                presses.append(converted.press)
        return Batch(messages, {"offset": str(max(ids) + 1)}, quarantined), greet, presses

    async def _convert(self, bot: Bot, raw: Any) -> _Converted:
        """One update as a message or as a quarantine record: never nothing."""
        data = _raw_json(raw)
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        source = f"update {update_id}"
        if not isinstance(raw, dict) or not isinstance(update_id, int):
            return self._park("not a Telegram update (no update_id)", data, source)
        kind = next((k for k in raw if k != "update_id"), "(empty)")
        try:
            update = Update.de_json(raw, bot)
        except Exception as exc:
            reason = f"unreadable Telegram update ({kind}): {type(exc).__name__}: {exc}"
            return self._park(reason, data, source)
        message = update.message or update.edited_message
        if kind in ("message", "edited_message") and message is not None:
            external_id = f"{message.chat.id}:{message.message_id}"
            if message.chat.type == "private":
                return await self._private(bot, message, kind == "edited_message", data)
            where = "group chat" if message.chat.type in _GROUPS else f"{message.chat.type} chat"
            return self._park(f"{where}: parked ({PRIVATE_ONLY})", data, source, external_id)
        post = update.channel_post or update.edited_channel_post
        if kind in ("channel_post", "edited_channel_post") and post is not None:
            external_id = f"{post.chat.id}:{post.message_id}"
            return self._park(f"channel post: parked ({PRIVATE_ONLY})", data, source, external_id)
        query = update.callback_query
        if kind == "callback_query" and query is not None and query.data is not None:
            return self._pressed(query, query.data, data, source)
        return self._unsupported(update, raw, kind, data, source)

    def _pressed(self, query: CallbackQuery, pressed: str, data: bytes, source: str) -> _Converted:
        """A press of an inline keyboard button of ours: a message whose ``button`` is the
        button's data and whose text is its label, answering the message it was under."""
        user, message = query.from_user, query.message
        chat = message.chat if message is not None else None
        if chat is not None and chat.type != "private":
            return self._park(f"button pressed in a group: parked ({PRIVATE_ONLY})", data, source)
        chat_id = chat.id if chat is not None else user.id
        keyboard = getattr(message, "reply_markup", None)
        rows = keyboard.inline_keyboard if isinstance(keyboard, InlineKeyboardMarkup) else ()
        label = next(
            (b.text for row in rows for b in row if b.callback_data == pressed),
            pressed.removeprefix(PRESSED_MARK),
        ).removeprefix(PRESSED_MARK)
        under = message.message_id if message is not None else None
        return _Converted(
            InboundMessage(
                account=self.account,
                channel=CHANNEL,
                external_id=f"{chat_id}:callback-{query.id}",
                address=str(user.id),
                body=label,
                sent_at=datetime.now(UTC),  # a press carries no date
                display_name=user.full_name,
                handle=user.username or "",
                thread_ref=f"{chat_id}:{under}" if under is not None else None,
                raw_zlib=zlib.compress(data, 6),
                content_hash=hashlib.sha256(data).hexdigest(),
                button=pressed,
            ),
            press=_Press(query.id, chat_id, under, Button(label, pressed)),
        )

    async def _acknowledge(self, bot: Bot, press: _Press) -> None:
        """After a press is stored: stop the client's spinner and leave only the pressed
        button, marked, under the message (pressing it again is harmless: the same data).
        Failures are only logged: the press is stored."""
        try:
            await bot.answer_callback_query(press.query_id)
            if press.message_id is not None:
                chosen = InlineKeyboardButton(
                    PRESSED_MARK + press.button.label, callback_data=press.button.data
                )
                await bot.edit_message_reply_markup(
                    press.chat_id, press.message_id, reply_markup=InlineKeyboardMarkup([[chosen]])
                )
        except Exception:
            log.warning("%s: could not acknowledge a button press", self.account, exc_info=True)

    def _park(self, reason: str, data: bytes, source: str, external_id: str = "") -> _Converted:
        return _Converted(
            quarantined=Quarantined(self.account, reason, data, source, external_id=external_id)
        )

    def _unsupported(
        self, update: Update, raw: dict[str, Any], kind: str, data: bytes, source: str
    ) -> _Converted:
        """An update of a kind not handled here: stored as such when it names a private
        chat and a user (automatic: it wakes no conversation), else quarantined."""
        chat, user = update.effective_chat, update.effective_user
        payload = raw.get(kind)
        chat_id: int | None = chat.id if chat is not None and chat.type == "private" else None
        user_id, name, handle = (
            (user.id, user.full_name, user.username or "") if user else (None, "", None)
        )
        if isinstance(payload, dict) and (chat is None or user is None):
            # A kind python-telegram-bot does not know either: look at the JSON itself.
            raw_chat = payload.get("chat")
            raw_user = payload.get("from", payload.get("user"))
            if isinstance(raw_chat, dict) and raw_chat.get("type") == "private":
                chat_id = raw_chat.get("id") if isinstance(raw_chat.get("id"), int) else None
            if isinstance(raw_user, dict) and isinstance(raw_user.get("id"), int):
                user_id = raw_user["id"]
                name = " ".join(
                    str(raw_user[k]) for k in ("first_name", "last_name") if raw_user.get(k)
                )
                handle = str(raw_user.get("username") or "")
        reason = f"unsupported Telegram update: {kind}"
        if chat_id is None or user_id is None:
            return self._park(reason, data, source)
        date = payload.get("date") if isinstance(payload, dict) else None
        sent_at = datetime.fromtimestamp(date, UTC) if isinstance(date, int) else datetime.now(UTC)
        return _Converted(
            InboundMessage(
                account=self.account,
                channel=CHANNEL,
                external_id=f"{chat_id}:update-{raw['update_id']}",
                address=str(user_id),
                body=f"[{reason}]",
                sent_at=sent_at,
                display_name=name,
                handle=handle,
                raw_zlib=zlib.compress(data, 6),
                content_hash=hashlib.sha256(data).hexdigest(),
                automatic=True,
            )
        )

    async def _private(self, bot: Bot, m: Message, edited: bool, data: bytes) -> _Converted:
        user = m.from_user
        chat_id = m.chat.id
        body, attachments = await self._content(bot, m, download=not edited)
        reply_to = m.reply_to_message
        greeting = self.config.greeting
        message = InboundMessage(
            account=self.account,
            channel=CHANNEL,
            external_id=f"{chat_id}:{m.message_id}",
            address=str(user.id if user is not None else chat_id),
            body=body,
            sent_at=(m.edit_date or m.date) if edited else m.date,
            display_name=user.full_name if user is not None else m.chat.full_name or "",
            handle=(user.username or "") if user is not None else None,
            thread_ref=f"{chat_id}:{reply_to.message_id}" if reply_to is not None else None,
            attachments=attachments,
            raw_zlib=zlib.compress(data, 6),
            content_hash=hashlib.sha256(data).hexdigest(),
            edit_of=f"{chat_id}:{m.message_id}" if edited else None,
        )
        starts = not edited and greeting.strip() and _START.match(m.text or "")
        return _Converted(message, greet=chat_id if starts else None)

    async def _content(
        self, bot: Bot, m: Message, *, download: bool
    ) -> tuple[str, tuple[InboundAttachment, ...]]:
        """The text to store for a message, and its file (downloaded when ``download``)."""
        if m.text is not None:
            return m.text, ()
        caption = m.caption or ""
        # (label, file id, size, file name, content type)
        media: tuple[str, str, int | None, str, str] | None = None
        if m.photo:
            photo = max(m.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
            name = f"photo-{photo.file_unique_id}.jpg"
            media = ("[photo]", photo.file_id, photo.file_size, name, "image/jpeg")
        elif m.document is not None:
            d = m.document
            kind = d.mime_type or "application/octet-stream"
            name = safe_filename(d.file_name or f"document-{d.file_unique_id}", kind, 1)
            media = (f"[document {name}]", d.file_id, d.file_size, name, kind)
        elif m.voice is not None:
            v = m.voice
            name = f"voice-{v.file_unique_id}.ogg"
            media = ("[voice message]", v.file_id, v.file_size, name, v.mime_type or "audio/ogg")
        elif m.video is not None:
            vid = m.video
            name = vid.file_name or f"video-{vid.file_unique_id}.mp4"
            media = ("[video]", vid.file_id, vid.file_size, name, vid.mime_type or "video/mp4")
        elif m.video_note is not None:
            note = m.video_note
            name = f"video-message-{note.file_unique_id}.mp4"
            media = ("[video message]", note.file_id, note.file_size, name, "video/mp4")
        elif m.audio is not None:
            a = m.audio
            name = a.file_name or f"audio-{a.file_unique_id}.mp3"
            title = " - ".join(t for t in (a.performer, a.title) if t) or name
            media = (f"[audio {title}]", a.file_id, a.file_size, name, a.mime_type or "audio/mpeg")
        elif m.animation is not None:
            an = m.animation
            name = an.file_name or f"animation-{an.file_unique_id}.mp4"
            kind = an.mime_type or "video/mp4"
            media = ("[animation]", an.file_id, an.file_size, name, kind)
        elif m.sticker is not None:
            emoji = m.sticker.emoji
            return (f"[sticker {emoji}]" if emoji else "[sticker]"), ()
        elif m.venue is not None:
            venue, where = m.venue, m.venue.location
            place = ", ".join(t for t in (venue.title, venue.address) if t)
            return f"[place {place}]\n{_location(where.latitude, where.longitude)}", ()
        elif m.location is not None:
            return _location(m.location.latitude, m.location.longitude), ()
        elif m.contact is not None:
            c = m.contact
            who = " ".join(t for t in (c.first_name, c.last_name, c.phone_number) if t)
            return f"[contact {who}]", ()
        if media is None:
            kind = effective_message_type(m) or "unknown"
            return caption or f"[unsupported Telegram message: {kind}]", ()
        label, file_id, size, name, content_type = media
        body = caption or label
        if not download:
            return body, ()
        return body, (await self._download(bot, file_id, size, name, content_type),)

    async def _download(
        self, bot: Bot, file_id: str, size: int | None, name: str, content_type: str
    ) -> InboundAttachment:
        """The file's bytes, or an attachment that says why they are not there."""
        name = safe_filename(name, content_type, 1)
        limit = int(self.config.max_file_mb * 1024 * 1024)

        def omitted(why: str) -> InboundAttachment:
            return InboundAttachment(name, content_type, b"", size or 0, omitted=why)

        too_large = f"larger than {self.config.max_file_mb:g} MB"
        if size is not None and size > limit:
            return omitted(too_large)
        problem = ""
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                file = await bot.get_file(file_id)
                if file.file_size is not None and file.file_size > limit:
                    return omitted(too_large)
                data = bytes(await file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT))
            except FloodWait as exc:
                problem = str(exc)
                if exc.seconds > MAX_FLOOD_WAIT:
                    break
                await asyncio.sleep(exc.seconds)
                continue
            except BadRequest as exc:  # "file is too big", "invalid file_id": final
                problem = exc.message
                break
            except (TelegramError, RuntimeError) as exc:
                problem = str(exc) or type(exc).__name__
                if attempt + 1 < DOWNLOAD_ATTEMPTS:
                    await asyncio.sleep(0.5 * 2**attempt)
                continue
            if len(data) > limit:
                return omitted(too_large)
            return InboundAttachment(name, content_type, data, len(data))
        log.warning("%s: could not download %s: %s", self.account, name, problem)
        return omitted(f"not downloaded from Telegram: {problem}")

    async def _greet(self, bot: Bot, chat_id: int) -> None:
        """The configured greeting, after a /start is stored; failures are only logged."""
        try:
            for part in split_message(self.config.greeting.strip()):
                await bot.send_message(chat_id, part)
        except Exception:
            log.exception("%s: could not greet chat %s", self.account, chat_id)

    # -- sending ---------------------------------------------------------------------

    async def _sending_bot(self) -> Bot:
        """The bot that sends, made once an event loop (its connections belong to it)."""
        loop = asyncio.get_running_loop()
        if self._sender is None or self._sender[0] is not loop:
            self._sender = (loop, self._bot(self._token()))
        return self._sender[1]

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.account != self.account:
            raise DeliveryError(f"{message.account} is not {self.account}", permanent=True)
        try:
            chat_id = int(message.address)
        except ValueError:
            raise DeliveryError(
                f"{message.address!r} is not a Telegram user id", permanent=True
            ) from None
        parts = split_message(message.body) if message.body.strip() else []
        files = message.attachments
        for file in files:
            if file.size > MAX_UPLOAD:
                raise DeliveryError(
                    f"{file.filename}: {_megabytes(file.size)} is over Telegram's "
                    f"{_megabytes(MAX_UPLOAD)} limit for a bot's uploads",
                    permanent=True,
                )
        if not parts and not files:
            raise DeliveryError("the reply is empty", permanent=True)
        if files and self.blobs is None:
            raise DeliveryError("no attachment store to read the files from", permanent=True)
        try:
            bot = await self._sending_bot()
        except Exception as exc:  # the token could not be read: nothing was sent
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        key = message.idempotency_key
        keyboard = _keyboard(message.buttons)  # under the text's last part
        steps = len(parts) + len(files)  # the text's parts, then one message a file
        many = steps > 1
        sent = (await asyncio.to_thread(self.parts.delivered, key))[:steps] if many else []
        deadline = time.monotonic() + SEND_BUDGET
        for index in range(len(sent), steps):
            done = f"{index} of {steps} parts delivered"
            if index and time.monotonic() > deadline - PART_REQUEST_TIME:
                raise DeliveryError(f"sending took too long ({done}; the rest follow)")
            if index < len(parts):
                text = parts[index]
                markup = keyboard if index == len(parts) - 1 else None
                step = await self._send_part(bot, chat_id, text, deadline, done, many, markup)
            else:
                file = files[index - len(parts)]
                data = await asyncio.to_thread(outbound_bytes, self.blobs, file)
                step = await self._send_file(bot, chat_id, file, data, deadline, done, many)
            sent.append(step)
            if many:
                await asyncio.to_thread(self.parts.record, key, list(sent))
        raw = _raw_json({"chat_id": chat_id, "message_ids": sent})
        return SendResult(f"{chat_id}:{sent[0]}", raw)

    async def _send_part(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        deadline: float,
        done: str,
        many: bool,
        markup: InlineKeyboardMarkup | None = None,
    ) -> int:
        """Send one part (with ``markup``, the reply's buttons, under it); its message id.
        Errors as the module docstring says."""

        def part() -> Awaitable[Message]:
            return bot.send_message(chat_id, text, reply_markup=markup)

        return await self._request(part, deadline, done, many)

    async def _send_file(
        self,
        bot: Bot,
        chat_id: int,
        file: OutboundFile,
        data: bytes,
        deadline: float,
        done: str,
        many: bool,
    ) -> int:
        """Send one file, as a photo when Telegram takes it as one, else as a document; its
        message id. A photo Telegram will not process (its dimensions) goes as a document."""
        # An upload may take the rest of the send's time to write (then REQUEST_TIMEOUT
        # for the answer, within the runner's SEND_TIMEOUT).
        write = max(REQUEST_TIMEOUT, deadline - time.monotonic())

        def document() -> Awaitable[Message]:
            return bot.send_document(chat_id, data, filename=file.filename, write_timeout=write)

        if file.content_type in PHOTO_TYPES and file.size <= MAX_PHOTO:

            def photo() -> Awaitable[Message]:
                return bot.send_photo(chat_id, data, filename=file.filename, write_timeout=write)

            try:
                return await self._request(photo, deadline, done, many)
            except DeliveryError as exc:
                if not isinstance(exc.__cause__, BadRequest) or exc.unreachable:
                    raise
                log.info("%s: %s not taken as a photo (%s)", self.account, file.filename, exc)
        return await self._request(document, deadline, done, many)

    async def _request(
        self, call: Callable[[], Awaitable[Message]], deadline: float, done: str, many: bool
    ) -> int:
        """Make one sending request; the message id of what was sent. Errors as the module
        docstring says."""
        rest = f" ({done})" if many else ""
        while True:
            try:
                sent = await call()
                return sent.message_id
            except FloodWait as exc:
                if exc.seconds <= MAX_FLOOD_WAIT and time.monotonic() + exc.seconds < deadline:
                    await asyncio.sleep(exc.seconds)
                    continue
                raise DeliveryError(
                    f"Telegram's flood control asks to wait {exc.seconds:g} s{rest}"
                ) from exc
            except Forbidden as exc:
                raise DeliveryError(
                    _refusal(exc.message) + rest, permanent=True, unreachable=True
                ) from exc
            except ChatMigrated as exc:
                raise DeliveryError(f"the chat moved ({exc}){rest}", permanent=True) from exc
            except BadRequest as exc:
                unreachable = "chat not found" in exc.message.lower()
                raise DeliveryError(
                    f"Telegram refused the message: {exc.message}{rest}",
                    permanent=True,
                    unreachable=unreachable,
                ) from exc
            except InvalidToken as exc:
                raise DeliveryError(TOKEN_REFUSED.format(reason=exc.message) + rest) from exc
            except NetworkError as exc:  # TimedOut too
                if _connect_failed(exc):
                    raise DeliveryError(f"could not reach Telegram: {exc.message}{rest}") from exc
                what = "no answer" if isinstance(exc, TimedOut) else exc.message
                raise DeliveryUnknown(
                    f"Telegram may or may not have the message ({what}){rest}"
                ) from exc


def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    """A reply's buttons as an inline keyboard: short labels (a rating's digits) side by side,
    five to a row; longer ones a row each."""
    if not buttons:
        return None
    keys = [InlineKeyboardButton(b.label, callback_data=b.data) for b in buttons]
    if all(len(b.label) <= 4 for b in buttons):
        return InlineKeyboardMarkup([keys[i : i + 5] for i in range(0, len(keys), 5)])
    return InlineKeyboardMarkup([[key] for key in keys])


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def _aware(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "an unknown address"


def _refusal(description: str) -> str:
    """A 403's reason in the agent's words."""
    text = description.lower()
    if "blocked" in text:
        return "the user blocked the bot"
    if "deactivated" in text:
        return "the user's Telegram account is deleted"
    if "initiate" in text:
        return "the user never wrote to the bot"
    return f"Telegram refused: {description}"


def _location(lat: float, lon: float) -> str:
    la, lo = round(lat, 6), round(lon, 6)
    return f"[location {la}, {lo}]\nhttps://www.openstreetmap.org/?mlat={la}&mlon={lo}#map=17/{la}/{lo}"
