"""The connector protocol and the values every channel exchanges with the runner.

A connector knows its wire protocol and nothing else: it turns what arrives into
``InboundMessage`` values handed to an ``InboundSink`` together with the cursor
that covers them (the runner commits both in one transaction), and it sends
``OutboundMessage`` values. Reconnecting with backoff is the runner's job: a
connector's ``receive`` may simply raise.

Must not import the store, the services, the runner or Textual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a customer, as the wire gave it."""

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


@dataclass(frozen=True, slots=True)
class SendResult:
    external_id: str


class DeliveryError(Exception):
    """A send that failed. ``permanent`` failures are not retried (a blocked bot, a bad address)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Batch:
    """Messages and the cursor values that cover them: committed together or not at all."""

    messages: Sequence[InboundMessage]
    cursor: Mapping[str, str] = field(default_factory=dict)


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
