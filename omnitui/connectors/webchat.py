"""The web chat channel: a chat page and an embeddable script served by the runner's HTTP
server at /webchat/NAME/, visitors' messages POSTed to it, replies pushed by Server-Sent Events.

Routes (``routes``; NAME is the account):

- ``GET /webchat/NAME/``: the standalone chat page; ``GET /webchat/NAME/widget.js``: the
  script, also embeddable on any allowed site with one ``<script src=".../widget.js">`` tag;
  ``GET /webchat/NAME/widget.css``: its styles, which the script links (no inline style
  anywhere, so the page's Content-Security-Policy needs no ``'unsafe-inline'``). Files from
  package data (omnitui/web/static/), served as they are, but for the page's language, title
  and <noscript> words, filled in for the visitor.
- ``GET /webchat/NAME/config?lang=LANG``: the panel's title and greeting, ``agents_active``:
  whether an agent was seen at work (``agent_activity``) within ``away_after_minutes``, and
  the visitor's language (``lang``, ``dir``) with the panel's words in it (``strings``) (JSON).
  The script keeps no words of its own: they come from omnitui's message catalogs
  (``visitor_words``, gettext context "web chat"), in the language ``visitor_language`` picks
  from ``?lang=`` (the script's data-lang, the page's ?lang= or the browser's language) and
  Accept-Language, whatever the console's own language.
- ``POST /webchat/NAME/token``: a new visitor token (JSON ``{token, visitor}``).
- ``POST /webchat/NAME/messages``: ``{id, text}`` with ``Authorization: Bearer TOKEN``; ``id`` is
  made by the browser, so a POST retried after a network error is stored once (the external id
  is ``VISITOR:ID`` and ingest is idempotent on it). 200 only once the sink has committed it.
- ``POST /webchat/NAME/profile``: ``{name, email}``: stored as a message of the visitor (their
  name becomes the identity's display name); an email another customer has is suggested to
  agents as a link (``link_email``), never merged.
- ``POST /webchat/NAME/press``: ``{id, data, label}``: the visitor pressed a button a reply
  offered (a reply's event carries ``buttons: [{label, data}]``): stored as their message
  with ``button`` = the data (the store acts on the data it knows, e.g. a survey's rating).
- ``POST /webchat/NAME/typing``: ``{}``: the visitor is typing (204). Handed to the runner's
  ``visitor_typing`` (the TUI shows "typing…") at most every ``TYPING_STORE_SECONDS`` a
  visitor; limited to ``TYPING_PER_MINUTE`` apart from the messages' limit.
- ``GET /webchat/NAME/events``: the visitor's events by SSE, each with ``id:`` (a visitor
  message: ``in-ID``; a reply: its idempotency key), catch-up after ``Last-Event-ID``; and,
  without ``id:``, ``{"kind": "typing", "typing": true|false}`` when an agent starts or stops
  typing a reply to the visitor (``agents_typing``, read every ``TYPING_POLL_SECONDS`` while
  streams are open): ephemeral, never kept, never in a catch-up.
- ``GET /webchat/NAME/files/SHA256/NAME?v=VISITOR&e=EXPIRES[&t=TYPE]&s=SIGNATURE``: a file of a
  reply, by a link the reply's event carries (``files: [{name, size, type, url}]``, ``url``
  relative to the account's base). A plain link, no token: a download is a navigation, which
  sends no ``Authorization`` header, so the link itself is the permission (below).

Tokens: ``v1.VISITOR.ISSUED.SIGNATURE``, HMAC-SHA256 under the account's secret over the
account, the visitor id (random, 128 bits) and the issue time (Unix seconds); refused (403)
when forged or older than ``token_days``. The browser keeps it in localStorage (no cookie on the
company's domain): it is the conversation's identity (address = visitor id).

File links: signed with the same key over the account, the visitor, the file's sha256, its name,
the type it is served as and the expiry (``token_days`` after signing), so nobody can make a
link to a file that was not sent to them, pass one off as another visitor's, rename the
download or change its type; refused (403) when tampered with or expired, 404 when the blob is
gone. The bytes come from the attachment store (``blobs``, set by the runner), streamed, as an
attachment (``Content-Disposition`` with an RFC 5987 UTF-8 name and an ASCII fallback), with
``nosniff`` and ``Content-Security-Policy: sandbox``; only the types in ``FILE_TYPES`` are
served as themselves, anything else (an agent's .html or .svg) as application/octet-stream, so
no file is ever rendered as a page of the chat's origin.

Catch-up: the connector does not read the store (it may not import it); the runner hands it a
``ChannelHistory`` (``history``), and a stream's catch-up after ``Last-Event-ID`` is read from
it in a thread (the visitor's messages and the replies whose delivery is "sent"), so it survives
a runner restart. Each visitor's recent events (``EVENTS_KEPT``, for ``VISITORS_KEPT``
visitors) are also kept in memory: live events reach open streams from there, and a reply
published but not yet marked sent is added to the catch-up from there. ``send`` publishes a
reply (that is what "sent" means for this channel); ``idempotent_send`` is True because
publishing again under the same event id is harmless (the browser drops an id it has shown).

Hostile traffic: bodies over ``max_body_bytes`` get 413, more than ``messages_per_minute`` POSTs
a minute per token or per IP 429 with Retry-After, a bad token 403, a request from an origin not
allowed 403 (and no CORS grant), anything malformed 400; a visitor can open at most
``STREAMS_PER_VISITOR`` event streams, all visitors ``MAX_STREAMS``. While ``receive`` is not
running, the API and the file links answer 503 (the page, script and styles are still served).

Must not import the store, the services, the runner or Textual.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import gettext
import hashlib
import hmac
import json
import logging
import re
import secrets
import stat
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from omnitui import i18n
from omnitui.config import ConfigError, WebChatAccount, resolve_secret
from omnitui.connectors.base import (
    CONTACT_DETAILS,
    AgentActivity,
    AgentsTyping,
    Batch,
    Button,
    ChannelHistory,
    DeliveryError,
    EmailLinker,
    InboundMessage,
    InboundSink,
    OutboundFile,
    OutboundMessage,
    SendResult,
    VisitorTyping,
)
from omnitui.connectors.routes import read_body
from omnitui.i18n import _

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from omnitui.blobs import BlobStore

log = logging.getLogger(__name__)

CHANNEL = "webchat"
EVENTS_KEPT = 200
"""A visitor's most recent events kept for catch-up."""
VISITORS_KEPT = 5000
"""Visitors whose events are kept (the least recently active are forgotten first)."""
RATE_KEYS_KEPT = 20000
"""Tokens and IP addresses whose recent POSTs are counted."""
STREAMS_PER_VISITOR = 4
MAX_STREAMS = 150
"""Below the HTTP server's MAX_CONCURRENT, so streams never starve other requests."""
STREAM_SECONDS = 300.0
"""A stream is closed after this long; the browser reconnects with Last-Event-ID."""
KEEPALIVE_SECONDS = 15.0
ACTIVITY_SECONDS = 10.0
"""The agents' activity read for the away notice is reused this long."""
TYPING_PER_MINUTE = 40
"""Typing pings a visitor may send a minute (the page sends one every 3 s at most), counted
apart from ``messages_per_minute`` so that typing never uses up a visitor's messages."""
TYPING_STORE_SECONDS = 4.0
"""A visitor's typing is written to the store at most this often."""
TYPING_POLL_SECONDS = 1.0
"""How often the agents' typing is read while visitors have streams open."""
TYPING_REPEAT_SECONDS = 4.0
"""While an agent types, the visitor's streams are told so again this often: the page hides
the line 8 s after the last word, in case the "stopped" event was lost with its stream."""
MAX_TEXT = 4000
MAX_BUTTON_DATA = 64
"""A button's data, in bytes (as Telegram's callback data)."""
MAX_BUTTON_LABEL = 100
"""Characters of one message."""
SECRET_MIN = 16
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_VISITOR = re.compile(r"[A-Za-z0-9_-]{22}")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
STATIC = files("omnitui").joinpath("web", "static")
"""Package data, read as files (the connector may not import omnitui.web)."""
RTL_LANGUAGES = frozenset({"fa"})
"""Visitor languages written right to left (the panel's and the page's dir)."""
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
"""The Content-Security-Policy of the page and its files: no inline script or style at all
(widget.css is a file), no <base> or form posts, and framed by no other site."""
OCTET_STREAM = "application/octet-stream"
FILE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)
"""Types a reply's file is served as (still as an attachment); any other as OCTET_STREAM, so a
browser never runs an agent's .html or .svg as a page of the chat's origin."""
FILE_CACHE_SECONDS = 3600
"""A downloaded file may be kept by the visitor's browser (never a shared cache) this long:
the bytes under a sha256 never change, but a link should stop working soon after it expires."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenRefused(Exception):
    """A token that is forged, malformed or expired."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """Signs and checks visitor tokens for one account."""

    account: str
    secret: bytes
    max_age: float

    def _signature(self, visitor: str, issued: int) -> str:
        text = f"v1.{self.account}.{visitor}.{issued}".encode()
        return _b64(hmac.new(self.secret, text, hashlib.sha256).digest())

    def issue(self, now: float | None = None) -> tuple[str, str]:
        """A new visitor id and its token."""
        visitor = _b64(secrets.token_bytes(16))
        issued = int(time.time() if now is None else now)
        return visitor, f"v1.{visitor}.{issued}.{self._signature(visitor, issued)}"

    def check(self, token: str, now: float | None = None) -> str:
        """The visitor id of a good token; TokenRefused otherwise."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not _VISITOR.fullmatch(parts[1]):
            raise TokenRefused("malformed")
        _version, visitor, issued_text, signature = parts
        if not issued_text.isdigit() or len(issued_text) > 12:
            raise TokenRefused("malformed")
        issued = int(issued_text)
        expected = self._signature(visitor, issued)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise TokenRefused("forged")
        at = time.time() if now is None else now
        if issued > at + 300 or at - issued > self.max_age:
            raise TokenRefused("expired")
        return visitor

    def _file_signature(
        self, visitor: str, sha256: str, name: str, served: str, expires: int
    ) -> str:
        # JSON: names may hold any character but controls, so no separator is safe in them.
        signed = json.dumps(["f1", self.account, visitor, sha256, name, served, expires])
        return _b64(hmac.new(self.secret, signed.encode(), hashlib.sha256).digest())

    def file_link(self, visitor: str, file: OutboundFile, now: float | None = None) -> str:
        """Where ``visitor`` downloads ``file``, relative to the account's base, for
        ``max_age`` from ``now``."""
        expires = int((time.time() if now is None else now) + self.max_age)
        served = file.content_type if file.content_type in FILE_TYPES else OCTET_STREAM
        signature = self._file_signature(visitor, file.sha256, file.filename, served, expires)
        query = {"v": visitor, "e": str(expires)}
        if served != OCTET_STREAM:
            query["t"] = served
        query["s"] = signature
        return f"files/{file.sha256}/{quote(file.filename, safe='')}?{urlencode(query)}"

    def check_file(
        self, sha256: str, name: str, query: Mapping[str, str], now: float | None = None
    ) -> str:
        """The type to serve a file as when its link (path and ``query``) is good and
        unexpired; TokenRefused otherwise."""
        visitor, expires_text = query.get("v", ""), query.get("e", "")
        served, signature = query.get("t", OCTET_STREAM), query.get("s", "")
        if not expires_text.isdigit() or len(expires_text) > 12:
            raise TokenRefused("malformed")
        if served not in FILE_TYPES and served != OCTET_STREAM:
            raise TokenRefused("malformed")
        expires = int(expires_text)
        expected = self._file_signature(visitor, sha256, name, served, expires)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise TokenRefused("forged")
        if expires < (time.time() if now is None else now):
            raise TokenRefused("expired")
        return served


@dataclass(eq=False)
class _Visitor:
    """One visitor's recent events and open streams."""

    events: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    """(event id, JSON data), oldest first."""
    ids: set[str] = field(default_factory=set)
    streams: set[asyncio.Queue[tuple[str, str]]] = field(default_factory=set)
    """Each open stream's queue of (event id, data); an event id "" is ephemeral (typing)."""
    typing_stored: float = float("-inf")
    """When the visitor's typing was last handed to the store (monotonic)."""

    def add(self, event_id: str, data: str) -> bool:
        """Keep and publish an event; False (nothing done) when it is kept already."""
        if event_id in self.ids:
            return False
        if len(self.events) == self.events.maxlen:
            self.ids.discard(self.events[0][0])
        self.events.append((event_id, data))
        self.ids.add(event_id)
        for queue in self.streams:
            if queue.qsize() < EVENTS_KEPT:  # a stalled stream misses live events, not catch-up
                queue.put_nowait((event_id, data))
        return True

    def signal(self, data: str) -> None:
        """Publish an ephemeral event to the open streams only: it has no id and is never
        kept, so it is no part of any catch-up and never moves the browser's Last-Event-ID."""
        for queue in self.streams:
            if queue.qsize() < EVENTS_KEPT:
                queue.put_nowait(("", data))

    def after(self, last: str) -> list[tuple[str, str]]:
        """The events after ``last``; all kept when ``last`` is not (the browser dedupes)."""
        events = list(self.events)
        for index, (event_id, _data) in enumerate(events):
            if event_id == last:
                return events[index + 1 :]
        return events


class RateLimit:
    """At most ``per_minute`` hits a key in any 60 s; bounded in the keys it remembers."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str, now: float | None = None) -> float:
        """Count a hit: 0 when allowed, else the seconds until one more is."""
        at = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            if len(self._hits) > RATE_KEYS_KEPT:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and at - hits[0] >= 60.0:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return max(0.001, 60.0 - (at - hits[0]))
        hits.append(at)
        return 0.0


def _event(
    kind: str,
    text: str,
    at: datetime,
    event_id: str,
    files: list[dict[str, Any]] | None = None,
    buttons: tuple[Button, ...] = (),
) -> str:
    event: dict[str, Any] = {"id": event_id, "kind": kind, "text": text, "at": at.isoformat()}
    if files is not None:
        event["files"] = files
    if buttons:  # the panel shows them under the text; a press POSTs the data to "press"
        event["buttons"] = [{"label": b.label, "data": b.data} for b in buttons]
    return json.dumps(event, ensure_ascii=False)


GROUP_MAX = 500
"""Messages stored in one transaction at most."""


class GroupCommit:
    """Stores visitors' messages together: every message that arrived while the previous
    transaction committed goes in the next one (group commit), so a crowd of visitors costs
    a few transactions, not one each. Each caller waits for its own message's commit."""

    def __init__(self, sink: InboundSink) -> None:
        self._sink = sink
        self._pending: list[tuple[InboundMessage, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def store(self, message: InboundMessage) -> None:
        """Return once ``message`` is committed; raise what the store raised."""
        future = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)  # a caller that hung up leaves it unread
        self._pending.append((message, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        # Shielded: a visitor who hangs up does not cancel the others' commit.
        await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            group, self._pending = self._pending[:GROUP_MAX], self._pending[GROUP_MAX:]
            await self._commit(group)

    async def _commit(self, group: list[tuple[InboundMessage, asyncio.Future[None]]]) -> None:
        try:
            await self._sink(Batch([message for message, _future in group]))
        except Exception as exc:
            if len(group) > 1:  # one bad message must not fail the rest: each alone
                for one in group:
                    await self._commit([one])
                return
            _settle(group, exc)
        else:
            _settle(group, None)

    def close(self) -> None:
        """Fail what waits (the callers answer 503) and stop."""
        if self._task is not None:
            self._task.cancel()
        pending, self._pending = self._pending, []
        _settle(pending, ConnectionError("not receiving now"))


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _settle(
    group: list[tuple[InboundMessage, asyncio.Future[None]]], error: BaseException | None
) -> None:
    for _message, future in group:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class WebChatConnector:
    channel = CHANNEL
    idempotent_send = True
    """Publishing a reply again under its idempotency key (the event id) is harmless."""

    def __init__(self, name: str, config: WebChatAccount, *, public_url: str = "") -> None:
        self.account = name
        self.config = config
        self.public_url = public_url.rstrip("/")
        self.base = f"/webchat/{name}"
        self._sink: GroupCommit | None = None
        self._tokens: Tokens | None = None
        self._visitors: OrderedDict[str, _Visitor] = OrderedDict()
        self._rate = RateLimit(config.messages_per_minute)
        self._typing_rate = RateLimit(TYPING_PER_MINUTE)
        self._streams = 0
        self.history: ChannelHistory | None = None
        """The store's record of visitors' events, set by the runner: the catch-up."""
        self.blobs: BlobStore | None = None
        """The attachment store replies' files are served from, set by the runner."""
        self.agent_activity: AgentActivity | None = None
        """When an agent was last seen at work, set by the runner: the away notice."""
        self.link_email: EmailLinker | None = None
        """Links an email a visitor left to their customer (suggests it), set by the runner."""
        self._activity: tuple[float, datetime | None] | None = None
        """(when read, monotonic; what was read)."""
        self.visitor_typing: VisitorTyping | None = None
        """Records that a visitor is typing (for the TUI), set by the runner."""
        self.agents_typing: AgentsTyping | None = None
        """The visitors an agent is typing a reply to, set by the runner."""
        self._told_typing: dict[str, float] = {}
        """Visitors whose streams were told an agent is typing: when last told (monotonic).
        Only visitors with open streams, so it is bounded by ``MAX_STREAMS``."""

    # -- receiving -------------------------------------------------------------------

    def _secret(self) -> bytes:
        cfg = self.config
        where = f"webchat.{self.account}.secret"
        secret = resolve_secret(where, cfg.secret, cfg.secret_env, None) or ""
        if len(secret) < SECRET_MIN:
            problem = _("the secret must be at least {count} long").format(count=SECRET_MIN)
            raise ConfigError("config", where, problem)
        return secret.encode()

    def _signer(self) -> Tokens:
        """The account's keys: the ones ``receive`` made, else made now (the outbox may send
        a reply while ``receive`` is restarting)."""
        if self._tokens is not None:
            return self._tokens
        return Tokens(self.account, self._secret(), self.config.token_days * 86400.0)

    def _files(self, visitor: str, attached: tuple[OutboundFile, ...]) -> list[dict[str, Any]]:
        """A reply's files as its event shows them, each with a link signed for ``visitor``."""
        if not attached:
            return []
        signer = self._signer()
        return [
            {
                "name": f.filename,
                "size": f.size,
                "type": f.content_type,
                "url": signer.file_link(visitor, f),
            }
            for f in attached
        ]

    async def receive(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        """Let the routes take visitors' messages until cancelled."""
        self._tokens = Tokens(self.account, self._secret(), self.config.token_days * 86400.0)
        self._sink = GroupCommit(sink)
        log.info("%s: web chat at %s/", self.account, self.public_url + self.base)
        try:
            await self._tell_agents_typing()
        finally:
            self._sink.close()
            self._sink = None
            self._tokens = None

    def _visitor(self, visitor: str) -> _Visitor:
        found = self._visitors.get(visitor)
        if found is None:
            found = self._visitors[visitor] = _Visitor()
            if len(self._visitors) > VISITORS_KEPT:
                for key, old in self._visitors.items():  # the oldest without a stream
                    if not old.streams:
                        del self._visitors[key]
                        break
        else:
            self._visitors.move_to_end(visitor)
        return found

    async def _tell_agents_typing(self) -> None:
        """Run until cancelled: while visitors have streams open, tell them (an ephemeral
        event) when an agent starts typing a reply to them (again every
        ``TYPING_REPEAT_SECONDS`` while it lasts) and when the agent stops."""
        failing = False
        while True:
            await asyncio.sleep(TYPING_POLL_SECONDS)
            read = self.agents_typing
            if read is None or (not self._streams and not self._told_typing):
                continue
            try:
                typing = await asyncio.to_thread(read, self.account)
            except Exception:
                if not failing:  # once, not every second while the store is unwell
                    log.exception("%s: the agents' typing not read", self.account)
                failing = True
                continue
            failing = False
            now = time.monotonic()
            for visitor in list(self._told_typing):
                state = self._visitors.get(visitor)
                if visitor not in typing or state is None or not state.streams:
                    del self._told_typing[visitor]
                    if state is not None:
                        state.signal(_TYPING_STOPPED)
            for visitor in typing:
                state = self._visitors.get(visitor)
                if state is None or not state.streams:
                    continue
                told = self._told_typing.get(visitor)
                if told is None or now - told >= TYPING_REPEAT_SECONDS:
                    self._told_typing[visitor] = now
                    state.signal(_TYPING_STARTED)

    # -- sending ---------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.account != self.account:
            problem = _("{account} is not {own}").format(account=message.account, own=self.account)
            raise DeliveryError(problem, permanent=True)
        if not _VISITOR.fullmatch(message.address):
            problem = _("{address} is not a visitor id").format(address=repr(message.address))
            raise DeliveryError(problem, permanent=True)
        if not message.body.strip() and not message.attachments:
            raise DeliveryError(_("the reply is empty"), permanent=True)
        for file in message.attachments:
            await asyncio.to_thread(self._check_kept, file)
        key = message.idempotency_key
        files = self._files(message.address, message.attachments)
        data = _event("reply", message.body, datetime.now(UTC), key, files, message.buttons)
        visitor = self._visitor(message.address)
        visitor.add(key, data)
        # No page open: the visitor sees it when they come back, and by email meanwhile.
        return SendResult(key, recipient_away=not visitor.streams)

    def _check_kept(self, file: OutboundFile) -> None:
        """Raise a DeliveryError unless ``file`` is in the attachment store at its size: a link
        to nothing must not be published. (Blocking; its hash is not read again: 50 MB.)"""
        if self.blobs is None:
            nowhere = _("{file}: no attachment store to serve it from")
            raise DeliveryError(nowhere.format(file=file.filename), permanent=True)
        try:
            size = self.blobs.path(file.sha256).stat().st_size
        except (FileNotFoundError, ValueError) as exc:
            missing = _("{file}: missing from the attachment store")
            raise DeliveryError(missing.format(file=file.filename), permanent=True) from exc
        except OSError as exc:  # permissions, a full or unmounted disk: for the admin to fix
            unread = _("{file}: cannot be read from the attachment store: {error}")
            raise DeliveryError(
                unread.format(file=file.filename, error=exc.strerror or exc)
            ) from exc
        if size != file.size:
            damaged = _("{file}: damaged in the attachment store (its size differs)")
            raise DeliveryError(damaged.format(file=file.filename), permanent=True)

    # -- routes ----------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        from starlette.routing import Route

        b = self.base
        return [
            Route(b, self._redirect, methods=["GET"]),
            Route(f"{b}/", self._page, methods=["GET"]),
            Route(f"{b}/widget.js", self._script, methods=["GET"]),
            Route(f"{b}/widget.css", self._styles, methods=["GET"]),
            Route(f"{b}/config", self._config, methods=["GET", "OPTIONS"]),
            Route(f"{b}/token", self._token, methods=["POST", "OPTIONS"]),
            Route(f"{b}/messages", self._message, methods=["POST", "OPTIONS"]),
            Route(f"{b}/profile", self._profile, methods=["POST", "OPTIONS"]),
            Route(f"{b}/press", self._press, methods=["POST", "OPTIONS"]),
            Route(f"{b}/typing", self._typing, methods=["POST", "OPTIONS"]),
            Route(f"{b}/events", self._events, methods=["GET", "OPTIONS"]),
            Route(f"{b}/files/{{sha256}}/{{name}}", self._file, methods=["GET"]),
        ]

    async def _redirect(self, request: Request) -> Response:
        from starlette.responses import Response

        # Relative, so a prefix the reverse proxy strips stays in the browser's URL.
        return Response(status_code=308, headers={"Location": f"{self.account}/"})

    async def _page(self, request: Request) -> Response:
        """chat.html with the visitor's language, the panel's title and its <noscript>."""
        language = _language_of(request)
        words = visitor_words(language, i18n.LOCALE_DIR)
        page = STATIC.joinpath("chat.html").read_text("utf-8")
        html = page.format(
            lang=language,
            dir="rtl" if language in RTL_LANGUAGES else "ltr",
            title=escape(self.config.title or words["title"]),
            noscript=escape(words["noscript"]),
        )
        response = _static("chat.html", "text/html; charset=utf-8", html.encode())
        response.headers["Vary"] = "Accept-Language"
        return response

    async def _script(self, request: Request) -> Response:
        return _static("widget.js", "text/javascript; charset=utf-8")

    async def _styles(self, request: Request) -> Response:
        return _static("widget.css", "text/css; charset=utf-8")

    def _origin_allowed(self, request: Request) -> bool:
        """No Origin (not a browser's cross-site request), the server's own, or allowed."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        if origin in self.config.allowed_origins:
            return True
        host = request.headers.get("host", "")
        own = {host} | ({self.public_url.split("://", 1)[-1].split("/", 1)[0]} - {""})
        scheme, _sep, rest = origin.partition("://")
        return scheme in ("http", "https") and rest in own

    def _cors(self, request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        response.headers["Vary"] = "Origin"
        response.headers["Cache-Control"] = "no-store"
        if origin is not None and origin in self.config.allowed_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
        return response

    async def _guard(self, request: Request) -> Response | None:
        """The answer to a request refused before its work: preflight, origin, not receiving."""
        from starlette.responses import Response

        if not self._origin_allowed(request):
            log.info("%s: request from origin %r refused", self.account, request.headers["origin"])
            return self._cors(request, Response("origin not allowed", status_code=403))
        if request.method == "OPTIONS":
            response = Response(status_code=204)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, Last-Event-ID"
            )
            response.headers["Access-Control-Max-Age"] = "600"
            return self._cors(request, response)
        if self._tokens is None:
            return self._cors(request, Response("not receiving now", status_code=503))
        return None

    def _visitor_of(self, request: Request) -> str | None:
        scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or self._tokens is None:
            return None
        try:
            return self._tokens.check(token.strip())
        except TokenRefused as exc:
            log.info("%s: %s token from %s refused", self.account, exc, _client(request))
            return None

    def _limited(
        self, request: Request, *keys: str, rate: RateLimit | None = None
    ) -> Response | None:
        from starlette.responses import Response

        wait = max((rate or self._rate).hit(key) for key in keys)
        if not wait:
            return None
        headers = {"Retry-After": str(int(wait) + 1)}
        return self._cors(request, Response("too many messages", status_code=429, headers=headers))

    async def _json(self, request: Request) -> dict[str, Any] | Response:
        from starlette.responses import Response

        body = await read_body(request, self.config.max_body_bytes)
        if body is None:
            return self._cors(request, Response("too large", status_code=413))
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return self._cors(request, Response("not JSON", status_code=400))
        if not isinstance(data, dict):
            return self._cors(request, Response("not a JSON object", status_code=400))
        return data

    async def _config(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        refused = await self._guard(request)
        if refused is not None and refused.status_code != 503:
            return refused
        language = _language_of(request)
        body = {
            "title": self.config.title,
            "greeting": self.config.greeting,
            "agents_active": await self._agents_active(),
            "lang": language,
            "dir": "rtl" if language in RTL_LANGUAGES else "ltr",
            "strings": visitor_words(language, i18n.LOCALE_DIR),
        }
        response = self._cors(request, JSONResponse(body))
        response.headers["Vary"] = "Origin, Accept-Language"
        return response

    async def _agents_active(self) -> bool:
        """Some agent at work within ``away_after_minutes``; True when it cannot be known."""
        read = self.agent_activity
        if read is None:
            return True
        now = time.monotonic()
        if self._activity is None or now - self._activity[0] >= ACTIVITY_SECONDS:
            try:
                self._activity = (now, await asyncio.to_thread(read))
            except Exception:
                log.exception("%s: agents' activity not read", self.account)
                return True
        last = self._activity[1]
        window = self.config.away_after_minutes * 60.0
        return last is not None and (datetime.now(UTC) - last).total_seconds() < window

    async def _token(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        refused = await self._guard(request)
        if refused is not None:
            return refused
        limited = self._limited(request, f"token-ip:{_client(request)}")
        if limited is not None:
            return limited
        assert self._tokens is not None
        visitor, token = self._tokens.issue()
        return self._cors(request, JSONResponse({"token": token, "visitor": visitor}))

    async def _store(self, request: Request, message: InboundMessage) -> Response:
        from starlette.responses import Response

        sink = self._sink
        if sink is None:
            return self._cors(request, Response("not receiving now", status_code=503))
        try:
            await sink.store(message)
        except Exception:
            log.exception("%s: message from %s not stored", self.account, message.address)
            return self._cors(request, Response("not stored; try again", status_code=500))
        return self._cors(request, Response(status_code=204))

    async def _authorised(self, request: Request, rate: RateLimit | None = None) -> str | Response:
        """The visitor of a POST that may go on, else the refusal. Counted against the
        messages' limit per visitor and per IP, or against ``rate`` per visitor alone (the
        typing pings' own budget)."""
        from starlette.responses import Response

        refused = await self._guard(request)
        if refused is not None:
            return refused
        visitor = self._visitor_of(request)
        if visitor is None:
            return self._cors(request, Response("token refused", status_code=403))
        if rate is None:
            limited = self._limited(request, f"v:{visitor}", f"ip:{_client(request)}")
        else:
            limited = self._limited(request, f"v:{visitor}", rate=rate)
        return limited if limited is not None else visitor

    async def _posted(
        self, request: Request, rate: RateLimit | None = None
    ) -> tuple[str, dict[str, Any]] | Response:
        """The visitor and the JSON object of a POST that may go on, else the refusal."""
        visitor = await self._authorised(request, rate)
        if not isinstance(visitor, str):
            return visitor
        data = await self._json(request)
        if not isinstance(data, dict):
            return data
        return visitor, data

    async def _message(self, request: Request) -> Response:
        from starlette.responses import JSONResponse, Response

        posted = await self._posted(request)
        if not isinstance(posted, tuple):
            return posted
        visitor, data = posted
        message_id, text = data.get("id"), data.get("text")
        if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
            return self._cors(request, Response("id: 8-64 of A-Z a-z 0-9 _ -", status_code=400))
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return self._cors(request, Response(f"text: 1-{MAX_TEXT} characters", status_code=400))
        now = datetime.now(UTC)
        event_id = f"in-{message_id}"
        stored = await self._store(
            request,
            InboundMessage(
                account=self.account,
                channel=CHANNEL,
                external_id=f"{visitor}:{message_id}",
                address=visitor,
                body=text,
                sent_at=now,
            ),
        )
        if stored.status_code != 204:
            return stored
        self._visitor(visitor).add(event_id, _event("visitor", text, now, event_id))
        return self._cors(request, JSONResponse({"id": event_id}))

    async def _press(self, request: Request) -> Response:
        """``{id, data, label}``: the visitor pressed a button of a reply. Stored as their
        message (text: the label, ``button``: the data; the store acts on data it knows and
        checks it is this visitor's), idempotent on ``id`` as a message is."""
        from starlette.responses import JSONResponse, Response

        posted = await self._posted(request)
        if not isinstance(posted, tuple):
            return posted
        visitor, data = posted
        press_id, pressed, label = data.get("id"), data.get("data"), data.get("label")
        if not isinstance(press_id, str) or not _MESSAGE_ID.fullmatch(press_id):
            return self._cors(request, Response("id: 8-64 of A-Z a-z 0-9 _ -", status_code=400))
        if not isinstance(pressed, str) or not 0 < len(pressed.encode()) <= MAX_BUTTON_DATA:
            problem = f"data: 1-{MAX_BUTTON_DATA} bytes"
            return self._cors(request, Response(problem, status_code=400))
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_BUTTON_LABEL:
            problem = f"label: 1-{MAX_BUTTON_LABEL} characters"
            return self._cors(request, Response(problem, status_code=400))
        now = datetime.now(UTC)
        event_id = f"in-{press_id}"
        stored = await self._store(
            request,
            InboundMessage(
                account=self.account,
                channel=CHANNEL,
                external_id=f"{visitor}:{press_id}",
                address=visitor,
                body=label,
                sent_at=now,
                button=pressed,
            ),
        )
        if stored.status_code != 204:
            return stored
        self._visitor(visitor).add(event_id, _event("visitor", label, now, event_id))
        return self._cors(request, JSONResponse({"id": event_id}))

    async def _profile(self, request: Request) -> Response:
        from starlette.responses import Response

        posted = await self._posted(request)
        if not isinstance(posted, tuple):
            return posted
        visitor, data = posted
        name, email = data.get("name", ""), data.get("email", "")
        if not isinstance(name, str) or not isinstance(email, str):
            return self._cors(request, Response("name and email: text", status_code=400))
        name, email = " ".join(name.split())[:200], email.strip()
        if email and (len(email) > 254 or not _EMAIL.fullmatch(email)):
            return self._cors(request, Response("email: not an address", status_code=400))
        if not name and not email:
            return self._cors(request, Response("name or email needed", status_code=400))
        details = ", ".join(t for t in (name, email) if t)
        digest = hashlib.sha256(f"{name}\0{email}".encode()).hexdigest()[:16]
        stored = await self._store(
            request,
            InboundMessage(
                account=self.account,
                channel=CHANNEL,
                external_id=f"{visitor}{CONTACT_DETAILS}{digest}",
                address=visitor,
                body=f"[left contact details: {details}]",
                sent_at=datetime.now(UTC),
                display_name=name,
            ),
        )
        if stored.status_code == 204 and email and self.link_email is not None:
            try:
                await asyncio.to_thread(self.link_email, self.account, visitor, email, name)
            except Exception:  # the details are stored; the suggestion is a nicety
                log.exception("%s: the email of %s not linked", self.account, visitor)
        return stored

    async def _typing(self, request: Request) -> Response:
        """The visitor is typing: handed to the store (``visitor_typing``) at most every
        ``TYPING_STORE_SECONDS``; limited on its own, apart from the visitor's messages."""
        from starlette.responses import Response

        posted = await self._posted(request, self._typing_rate)
        if not isinstance(posted, tuple):
            return posted
        visitor, _limited = posted
        state = self._visitor(visitor)
        now = time.monotonic()
        record = self.visitor_typing
        if record is not None and now - state.typing_stored >= TYPING_STORE_SECONDS:
            state.typing_stored = now
            try:
                if not await asyncio.to_thread(record, self.account, visitor):
                    # No conversation yet: the ping after the first message must not wait.
                    state.typing_stored = float("-inf")
            except Exception:  # a nicety: the visitor's messages are what matters
                log.exception("%s: the typing of %s not recorded", self.account, visitor)
        return self._cors(request, Response(status_code=204))

    async def _file(self, request: Request) -> Response:
        """A reply's file by its signed link: streamed from the attachment store (a blob can
        be 50 MB), always as a download, never as a page of this origin."""
        from starlette.responses import FileResponse, Response

        refused = await self._guard(request)  # a download sends no Origin; a foreign fetch does
        if refused is not None:
            return refused
        assert self._tokens is not None
        sha256, name = request.path_params["sha256"], request.path_params["name"]
        try:
            served = self._tokens.check_file(sha256, name, request.query_params)
        except TokenRefused as exc:
            log.info("%s: %s file link from %s refused", self.account, exc, _client(request))
            return self._cors(request, Response("link refused", status_code=403))
        blobs = self.blobs
        found = None
        if blobs is not None and _SHA256.fullmatch(sha256):
            try:
                found = await asyncio.to_thread(blobs.path(sha256).stat)
            except OSError:
                found = None
        if found is None or not stat.S_ISREG(found.st_mode):
            return self._cors(request, Response("no such file", status_code=404))
        assert blobs is not None
        headers = {
            "Content-Disposition": _attachment(name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": f"private, max-age={FILE_CACHE_SECONDS}",
            "Referrer-Policy": "no-referrer",
        }
        return FileResponse(
            blobs.path(sha256), media_type=served, headers=headers, stat_result=found
        )

    async def _events(self, request: Request) -> Response:
        from starlette.responses import Response, StreamingResponse

        refused = await self._guard(request)
        if refused is not None:
            return refused
        visitor = self._visitor_of(request)
        if visitor is None:
            return self._cors(request, Response("token refused", status_code=403))
        state = self._visitor(visitor)
        if len(state.streams) >= STREAMS_PER_VISITOR or self._streams >= MAX_STREAMS:
            busy = Response("too many streams", status_code=429, headers={"Retry-After": "10"})
            return self._cors(request, busy)
        last = request.headers.get("last-event-id", "")[:200]
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        state.streams.add(queue)  # before the catch-up is read: nothing falls in between
        self._streams += 1

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n\n"
                shown: set[str] = set()
                for event_id, data in await self._catch_up(visitor, state, last):
                    shown.add(event_id)
                    yield _sse(event_id, data)
                if visitor in self._told_typing:  # the other streams were told already
                    yield _sse("", _TYPING_STARTED)
                deadline = time.monotonic() + STREAM_SECONDS
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        event_id, data = await asyncio.wait_for(
                            queue.get(), min(left, KEEPALIVE_SECONDS)
                        )
                    except TimeoutError:
                        yield b": keepalive\n\n"
                        continue
                    if event_id not in shown:
                        yield _sse(event_id, data)
            finally:
                state.streams.discard(queue)
                self._streams -= 1

        response = StreamingResponse(
            stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
        )
        return self._cors(request, response)

    async def _catch_up(self, visitor: str, state: _Visitor, last: str) -> list[tuple[str, str]]:
        """The events after ``last``: the store's record (it survives a restart), then what
        is published but not recorded yet (a reply the outbox has not marked sent)."""
        kept = state.after(last)
        history = self.history
        if history is None:
            return kept
        try:
            past = await asyncio.to_thread(
                history.events_after, self.account, visitor, last or None, EVENTS_KEPT
            )
        except Exception:
            log.exception("%s: the catch-up of %s not read; from memory", self.account, visitor)
            return kept
        events = [
            (
                e.id,
                _event("visitor", e.text, e.at, e.id)
                if e.direction == "in"
                else _event("reply", e.text, e.at, e.id, self._files(visitor, e.files), e.buttons),
            )
            for e in past
        ]
        seen = {event_id for event_id, _data in events}
        return events + [(event_id, data) for event_id, data in kept if event_id not in seen]


_TYPING_STARTED = json.dumps({"kind": "typing", "typing": True})
_TYPING_STOPPED = json.dumps({"kind": "typing", "typing": False})


def _sse(event_id: str, data: str) -> bytes:
    # Neither can hold a newline: ids are ours, data is one line of JSON. An ephemeral event
    # (id "") has no id line: an empty one would reset the browser's Last-Event-ID.
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}data: {data}\n\n".encode()


def visitor_language(asked: str | None, accept_language: str) -> str:
    """The language the chat speaks to a visitor: ``asked`` (the script's ``?lang=``) when
    omnitui has it, else the first of the browser's Accept-Language it has (by q), else en."""
    if asked and (found := i18n.known_language(asked[:40])):
        return found
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate(accept_language.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        found = i18n.known_language(tag.strip()) if tag.strip() != "*" else None
        if found and weight > 0:
            ranked.append((-weight, n, found))
    return min(ranked)[2] if ranked else "en"


def _language_of(request: Request) -> str:
    return visitor_language(
        request.query_params.get("lang"), request.headers.get("accept-language", "")
    )


@functools.lru_cache(maxsize=16)
def visitor_words(language: str, locale_dir: Path) -> dict[str, str]:
    """The chat's words for a visitor in ``language``, from omnitui's message catalogs in
    ``locale_dir`` (context "web chat", apart from the console's words), English where the
    catalog has none. The console's own language plays no part."""
    t = gettext.translation(i18n.DOMAIN, locale_dir, languages=[language], fallback=True)
    return {
        "title": t.pgettext("web chat", "Chat with us"),
        "open": t.pgettext("web chat", "Open chat"),
        "close": t.pgettext("web chat", "Close chat"),
        "input": t.pgettext("web chat", "Your message"),
        "send": t.pgettext("web chat", "Send"),
        "log": t.pgettext("web chat", "Messages"),
        # TRANSLATORS: read out by screen readers before the visitor's own message.
        "you": t.pgettext("web chat", "You:"),
        # TRANSLATORS: read out by screen readers before a reply of the team.
        "agent": t.pgettext("web chat", "Support:"),
        "offline": t.pgettext("web chat", "Reconnecting…"),
        "fast": t.pgettext("web chat", "Too many messages; wait a moment."),
        "failed": t.pgettext("web chat", "Not sent; try again."),
        "details": t.pgettext("web chat", "Leave your name and email"),
        "name": t.pgettext("web chat", "Name"),
        "email": t.pgettext("web chat", "Email"),
        "save": t.pgettext("web chat", "Save"),
        "saved": t.pgettext("web chat", "Thank you, we will write to you."),
        "typing": t.pgettext("web chat", "Support is typing…"),
        "away": t.pgettext(
            "web chat", "No one is here right now — leave your email and we'll answer there."
        ),
        "noscript": t.pgettext("web chat", "This chat needs JavaScript."),
    }


def _static(name: str, content_type: str, data: bytes | None = None) -> Response:
    """A file of package data (or ``data`` made from it), with the headers every one has."""
    from starlette.responses import Response

    if data is None:
        data = STATIC.joinpath(name).read_bytes()
    headers = {
        "Cache-Control": "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": PAGE_POLICY,
    }
    return Response(data, media_type=content_type, headers=headers)


def _attachment(name: str) -> str:
    """A Content-Disposition that downloads ``name``: the UTF-8 name by RFC 5987 (every
    browser now) and an ASCII approximation by RFC 6266's ``filename`` for the rest."""
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""

    def ascii_of(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9 ._()-]", "_", text).strip(" ._")

    fallback = (ascii_of(stem) or "file") + (dot + ascii_of(ext) if ascii_of(ext) else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"
