"""The rows of the reads that the first paint does not need (the full message, drafts,
presence, search hits, canned replies, the customer screen...), apart from reads.py: each
frozen dataclass costs ~0.35-0.6 ms to create at import (its methods are generated and
compiled), and the first paint imports reads.py. ``omnitui.reads`` still offers every name
here (``reads.__getattr__``), importing this module on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnitui.connectors.base import Button
    from omnitui.reads import AttachmentRow


@dataclass(frozen=True, slots=True)
class MessageEditRow:
    """A message's text as it was until ``edited_at``, when its sender replaced it."""

    id: int
    message_id: int
    body: str
    edited_at: datetime


@dataclass(frozen=True, slots=True)
class MessageDetail:
    """One message whole, for the full view: the text, why it is threaded, its files."""

    id: int
    direction: str
    channel: str
    account: str
    author: str
    address: str
    """The sender's (or, for a reply, the recipient's) address on the channel."""
    subject: str
    body: str
    has_html: bool
    at: datetime
    conversation_id: int
    thread_reason: str
    refs: str
    attachments: tuple[AttachmentRow, ...]
    edits: tuple[MessageEditRow, ...] = ()
    """The texts it had before, oldest first (empty: never edited)."""


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """One case of a customer, for the picker that moves a message into it."""

    id: int
    status: str
    message_count: int
    last_message_at: datetime
    subject: str


@dataclass(frozen=True, slots=True)
class BlockedIdentity:
    """An address of the customer an agent blocked (spam). ``address`` is customer text."""

    id: int
    channel: str
    address: str
    blocked_by: str
    blocked_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationState:
    """The conversation that assign, status, snooze and tags act on: the customer's newest
    active one, else their newest (inbox.current_conversation's rule), and the customer's
    blocked addresses."""

    id: int
    status: str
    assignee: str | None
    snoozed_until: datetime | None
    tags: tuple[str, ...]
    blocked: tuple[BlockedIdentity, ...] = ()
    sla_policy: str = ""
    """The SLA policy whose targets it has ("": none)."""
    first_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    first_response_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A customer found by name or address (``message_id`` None), or a message."""

    customer_id: int
    name: str
    message_id: int | None
    excerpt: str
    at: datetime | None
    conversation_id: int | None = None
    """The message's conversation (None for a customer hit, and from ``Reader.search``)."""
    status: str = ""
    """That conversation's status: open, pending, snoozed or resolved."""
    channel: str = ""
    direction: str = ""
    """in, out or note."""


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    id: int
    account: str
    source: str
    error: str
    stored_at: datetime


@dataclass(frozen=True, slots=True)
class ChatEventRow:
    """A web chat visitor's message or a reply sent to them, with its event id."""

    id: str
    direction: str
    text: str
    at: datetime
    files: tuple[AttachmentRow, ...] = ()
    """A reply's files, in the order they were attached (those whose bytes were kept)."""
    buttons: tuple[Button, ...] = ()
    """A reply's buttons (``message.buttons``)."""


@dataclass(frozen=True, slots=True)
class TypingRow:
    """A web chat visitor seen typing: their display name (customer text) and when."""

    display_name: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AgentPresence:
    """An agent whose TUI is running: the customer it has open (None: none) and whether
    they are typing a reply to that customer now. ``agent`` is a login name: shown through
    omnitui.text like customer text."""

    agent: str
    customer_id: int | None
    typing: bool


@dataclass(frozen=True, slots=True)
class DraftRow:
    """What an agent was writing to a customer, as last saved."""

    customer_id: int
    mode: str
    identity_id: int | None
    body: str
    started_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RacedReply:
    """A reply or note another agent added to the customer while this one was writing."""

    author: str
    direction: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Collision:
    """What an agent about to send should know first (both empty: nothing)."""

    writing: tuple[str, ...] = ()
    """Other agents typing to the customer now, or with a draft for them saved lately."""
    replied: RacedReply | None = None
    """The newest reply or note by someone else since this agent's draft began."""


@dataclass(frozen=True, slots=True)
class CannedRow:
    """A canned reply as the picker and the editor list it."""

    id: int
    title: str
    shortcut: str
    tags: tuple[str, ...]
    languages: tuple[str, ...]
    """The languages it has a body in (en, az, tr, fa order)."""
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class CannedDetail:
    """A canned reply with its bodies, language -> body (with its {variables} unfilled)."""

    row: CannedRow
    variants: dict[str, str]


@dataclass(frozen=True, slots=True)
class CustomerIdentity:
    """An address of a customer as the customer screen lists it. ``address``,
    ``display_name``, ``handle`` and ``claimed_email`` are customer text."""

    id: int
    channel: str
    address: str
    account: str
    display_name: str
    handle: str
    claimed_email: str | None
    """Set while the link rests on an email address a web chat visitor typed (unproven)."""
    blocked: bool
    unreachable_reason: str | None
    alone_in: int = 0
    """Conversations only this address wrote in (``SOLE_CONVERSATIONS``; 0 where not counted)."""


@dataclass(frozen=True, slots=True)
class MergeRow:
    """One merge of customer ``source_id`` into ``target_id`` (names are customer text)."""

    id: int
    at: datetime
    agent: str
    source_id: int
    source_name: str
    target_id: int
    target_name: str
    identities: int
    conversations: int
    messages: int
    undone_at: datetime | None
    undone_by: str


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    """A customer whole, for the customer screen: name, notes, addresses and merges."""

    id: int
    name: str
    notes: str
    merged_into_id: int | None
    version: int
    identities: tuple[CustomerIdentity, ...]
    conversations: int
    messages: int
    merges: tuple[MergeRow, ...]
    """Merges into this customer and of it into others, newest first."""
    language: str | None = None
    """The language the customer writes in, when it can be told (``omnitui.language``)."""


@dataclass(frozen=True, slots=True)
class MergePreview:
    """What merging ``source`` into ``target`` would move (``inbox.merge_preview``)."""

    source_id: int
    source_name: str
    target_id: int
    target_name: str
    identities: tuple[CustomerIdentity, ...]
    conversations: int
    open_conversations: int
    messages: int
    notes: bool
    """The source has notes (they are added after the target's)."""
