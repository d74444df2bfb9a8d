"""The connector protocol and the values every channel exchanges with the runner.

A connector knows its wire protocol and nothing else: it turns what arrives into
``InboundMessage`` values handed to an ``InboundSink`` together with the cursor
that covers them (the runner commits both in one transaction), and it sends
``OutboundMessage`` values. Reconnecting with backoff is the runner's job: a
connector's ``receive`` may simply raise.

Must not import the store, the services, the runner or Textual.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from starlette.routing import BaseRoute  # only with the HTTP server, never for the CLI

    from omnitui.blobs import BlobStore


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    """A file that came with a message. ``data`` is empty when ``omitted`` says why."""

    filename: str
    """Already sanitized by the connector: no directories, no control characters."""
    content_type: str
    data: bytes
    size: int
    inline: bool = False
    content_id: str | None = None
    omitted: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a customer (or, with direction "out", one the team sent
    from elsewhere, such as a copy in an email Sent folder), as the wire gave it."""

    account: str
    """The configured account it arrived on (a mailbox, a bot, a chat page)."""
    channel: str
    """email, telegram, webchat, phone."""
    external_id: str
    """Unique within the account (Message-ID, chat + message id): ingest is idempotent on it."""
    address: str
    """The sender's identity on the channel (email address, Telegram user id, visitor id)."""
    body: str
    sent_at: datetime
    """Aware; the store keeps it in UTC."""
    display_name: str = ""
    subject: str = ""
    html: str | None = None
    thread_ref: str | None = None
    """The external id this message answers (In-Reply-To, reply_to_message), if any."""
    references: tuple[str, ...] = ()
    """Further external ids of the thread, oldest first (email References)."""
    direction: str = "in"
    """"in" from the customer; "out" sent by the team elsewhere (``address`` is then
    the customer it went to)."""
    attachments: tuple[InboundAttachment, ...] = ()
    raw_zlib: bytes | None = None
    """The original bytes, zlib-compressed (compressed by the connector, off the store's
    thread); kept so that export and a future re-parse lose nothing."""
    content_hash: str | None = None
    """sha256 of the original bytes."""
    author: str = ""
    """For direction "out": who on the team sent it (an email's From name)."""
    automatic: bool = False
    """Sent by a machine (an auto-reply, a bounce, a list): stored and shown, but it never
    reopens or wakes a conversation, so an out-of-office answer does not undo a resolve."""
    handle: str | None = None
    """The sender's public handle on the channel (a Telegram username, without the @);
    kept current on the identity. None: the channel has none to tell ("" clears it)."""
    edit_of: str | None = None
    """The external id of a message the sender edited: the stored message's text becomes
    ``body`` and the previous text is kept in its edit history. An edit of a message never
    stored is stored as a new message (under ``external_id``)."""
    button: str | None = None
    """The ``Button.data`` of a button the sender pressed (``body`` is its label). The store
    acts on the data it knows (a survey's rating) and keeps any other press as a message."""


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered with an outgoing message (Telegram's inline keyboard, the web chat's
    buttons). A press comes back as an ``InboundMessage`` with ``button`` = ``data``."""

    label: str
    data: str
    """Up to 64 bytes (Telegram's callback data); what the store acts on, never shown."""


def buttons_json(buttons: Sequence[Button]) -> str:
    """Buttons as ``message.buttons`` keeps them: ``[[label, data], ...]``."""
    return json.dumps([[b.label, b.data] for b in buttons], ensure_ascii=False)


def buttons_of(stored: str | None) -> tuple[Button, ...]:
    """The buttons ``message.buttons`` holds (none for NULL or anything not of its shape)."""
    try:
        found = json.loads(stored) if stored else []
    except ValueError:
        return ()
    if not isinstance(found, list):
        return ()
    return tuple(Button(str(b[0]), str(b[1])) for b in found if isinstance(b, list) and len(b) == 2)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """Inbound data that could not be made into a message: stored with the error."""

    account: str
    error: str
    raw: bytes
    source: str = ""
    """Where it came from (folder and UID, a file path)."""
    external_id: str = ""


@dataclass(frozen=True, slots=True)
class OutboundFile:
    """A file that goes with a reply. Its bytes are in the attachment store (``blobs.BlobStore``)
    under ``sha256``; the connector reads them with ``outbound_bytes``."""

    filename: str
    """Already sanitized when the reply was queued (a base name, no control characters)."""
    content_type: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One reply to deliver. ``idempotency_key`` is fixed when the reply is queued."""

    message_id: int
    idempotency_key: str
    account: str
    channel: str
    address: str
    body: str
    subject: str = ""
    thread_ref: str | None = None
    references: tuple[str, ...] = ()
    """The thread's earlier external ids, oldest first (email References)."""
    display_name: str = ""
    """The customer's name on the channel, for an email's To header."""
    attachments: tuple[OutboundFile, ...] = ()
    """Files to send after (or, with an empty ``body``, instead of) the text, in order."""
    buttons: tuple[Button, ...] = ()
    """Choices shown with the text where the channel can (chats); email ignores them."""
    kind: str = ""
    """The message's kind ("" a reply, "survey", "bot"): only replies get an email copy."""


@dataclass(frozen=True, slots=True)
class SendResult:
    external_id: str
    raw: bytes | None = None
    """What went on the wire (an email's bytes), kept with the reply."""
    recipient_away: bool = False
    """Delivered where the customer was not there to see it (a web chat visitor with no page
    open): the runner sends a copy by email where the channel has an email account for it."""


class DeliveryError(Exception):
    """A send that failed: nothing (more) of the reply was delivered. ``permanent`` failures
    are not retried (a blocked bot, a bad address); ``unreachable`` says the address itself
    cannot be written to any more (the user blocked the bot): the runner marks the identity."""

    def __init__(self, reason: str, *, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.unreachable = unreachable


def outbound_bytes(blobs: BlobStore | None, file: OutboundFile) -> bytes:
    """The bytes of a reply's file, checked against its hash; a ``DeliveryError`` when they
    cannot be had (permanent when the file is gone or damaged: it does not come back).

    A connector that sends files is ``SendsFiles``: its ``blobs`` are set by the runner."""
    if blobs is None:
        raise DeliveryError(f"{file.filename}: no attachment store to read it from", permanent=True)
    try:
        data = blobs.get(file.sha256)
    except (FileNotFoundError, ValueError) as exc:
        raise DeliveryError(
            f"{file.filename}: missing from the attachment store", permanent=True
        ) from exc
    except OSError as exc:  # permissions, a full or unmounted disk: for the admin to fix
        raise DeliveryError(
            f"{file.filename}: cannot be read from the attachment store: {exc.strerror or exc}"
        ) from exc
    if hashlib.sha256(data).hexdigest() != file.sha256:
        raise DeliveryError(
            f"{file.filename}: damaged in the attachment store (its hash differs)", permanent=True
        )
    return data


@dataclass(frozen=True, slots=True)
class Batch:
    """Messages and the cursor values that cover them: committed together or not at all."""

    messages: Sequence[InboundMessage]
    cursor: Mapping[str, str] = field(default_factory=dict)
    quarantined: Sequence[Quarantined] = ()
    progress: str | None = None
    """Long work's progress for the status line ("INBOX 1,200/2,000"); "" when done."""


InboundSink = Callable[[Batch], Awaitable[None]]
"""Stores a batch durably; when it returns, the cursor may move on."""


@runtime_checkable
class Connector(Protocol):
    """What the runner needs of a channel."""

    account: str
    channel: str
    idempotent_send: bool
    """True when ``send`` with an idempotency key already delivered is a no-op: after a
    crash mid-send the runner may then retry; otherwise an agent must confirm."""

    async def receive(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        """Run until cancelled, handing every message to ``sink``; raise on failure."""
        ...

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one reply; raise DeliveryError (or any exception, taken as transient)."""
        ...


@runtime_checkable
class KeepsSentCopies(Protocol):
    """A connector that files a copy of each reply it sent (an IMAP Sent folder)."""

    async def keep_sent_copy(self, message: OutboundMessage, result: SendResult) -> None:
        """Called once the reply is recorded as sent; failures are logged, not retried."""
        ...


@runtime_checkable
class HasRoutes(Protocol):
    """A connector that receives over the runner's HTTP server (a Telegram webhook, the web
    chat). The runner asks once, when it starts the server while it holds the lease.

    A route's handler runs in the runner's event loop. It stores what arrives through the
    sink its connector's ``receive`` was given (so ``receive`` runs for as long as the
    connector takes requests; meanwhile the handler answers 503), and it answers success only
    once the sink has returned: whatever a sender was told is delivered is committed. A
    request that is not what the route takes gets a 4xx answer and stores nothing."""

    def routes(self) -> Sequence[BaseRoute]:
        """Starlette routes to mount on the server (none is fine)."""
        ...


@runtime_checkable
class SendsFiles(Protocol):
    """A connector that sends the files of replies: the runner gives it the attachment store
    they are read from (with ``outbound_bytes``) when it builds the connectors."""

    blobs: BlobStore | None


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One event of a conversation as a channel shows it again on reconnecting: a message of
    the address (``direction`` "in") or a reply delivered to it ("out")."""

    id: str
    """The id the channel gave the event when it was live (web chat: ``in-ID``, or the reply's
    idempotency key)."""
    direction: str
    text: str
    at: datetime
    files: tuple[OutboundFile, ...] = ()
    """A reply's files, in order (their bytes are in the attachment store)."""
    buttons: tuple[Button, ...] = ()
    """The choices a reply offered (a survey's ratings)."""


@runtime_checkable
class ChannelHistory(Protocol):
    """Reads a conversation's past events from the store (the runner hands a connector one;
    the connector may not import the store)."""

    def events_after(
        self, account: str, address: str, after: str | None, limit: int
    ) -> list[HistoryEvent]:
        """Up to ``limit`` events after the one with id ``after``, oldest first; the last
        ``limit`` when ``after`` is None or unknown. Blocking: call it in a thread."""
        ...


AgentActivity = Callable[[], datetime | None]
"""The newest time any agent was seen at work (blocking; call it in a thread), None if never."""


@runtime_checkable
class KnowsAgentActivity(Protocol):
    """A connector that tells visitors whether agents are about (the web chat's away notice):
    the runner sets ``agent_activity`` when it builds the connectors."""

    agent_activity: AgentActivity | None


CONTACT_DETAILS = ":profile:"
"""In the external id of the message a web chat stores for a visitor's contact details (name,
email): that message is no question of theirs."""

EmailLinker = Callable[[str, str, str, str], None]
"""(account, visitor address, email, name): tells the store a visitor left an email address
(blocking; call it in a thread)."""


@runtime_checkable
class LinksEmails(Protocol):
    """A connector whose visitors leave email addresses (the web chat's form): the runner sets
    ``link_email`` (inbox.link_visitor_email) when it starts."""

    link_email: EmailLinker | None


VisitorTyping = Callable[[str, str], bool]
"""(account, visitor address): the visitor is typing now; False when that could not be
recorded (the visitor has no conversation yet). Blocking: call it in a thread."""
AgentsTyping = Callable[[str], set[str]]
"""(account): the addresses an agent is typing a reply to now (blocking; call it in a thread)."""


@runtime_checkable
class ReportsTyping(Protocol):
    """A connector whose visitors and agents see each other typing (the web chat): the runner
    sets ``visitor_typing`` (inbox.set_visitor_typing) and ``agents_typing`` (read from the
    agents' presence rows) when it starts."""

    visitor_typing: VisitorTyping | None
    agents_typing: AgentsTyping | None


@runtime_checkable
class ReadsHistory(Protocol):
    """A connector that serves its conversations' history (the web chat's catch-up): the
    runner sets ``history`` when it builds the connectors."""

    history: ChannelHistory | None
