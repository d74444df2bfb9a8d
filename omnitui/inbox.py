"""The services: every business rule, called by the TUI, the runner and the CLI.

Who a message belongs to, which conversation it joins, what a reply does, status
changes, the outbox's claims and retries, and the runner lease all live here, each
as one write transaction (BEGIN IMMEDIATE on SQLite) through ``db.write``.
Reads for the screens are in reads.py.

Must not import Textual or any connector module other than connectors.base.
"""

from __future__ import annotations

import hashlib
import json
import random
import stat
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from omnitui import calls, db, kb
from omnitui.blobs import BlobStore
from omnitui.canned import CannedError, CannedReply, check_reply, ordered_languages, summary
from omnitui.config import OutboxConfig
from omnitui.connectors.base import (
    CONTACT_DETAILS,
    Batch,
    Button,
    InboundMessage,
    OutboundFile,
    OutboundMessage,
    Quarantined,
    buttons_json,
    buttons_of,
)
from omnitui.csat import (
    ANSWER_WINDOW,
    BUTTON_CHANNELS,
    SUBJECTS,
    SurveyPolicy,
    parse_button,
    parse_rating,
    rating_body,
)
from omnitui.csat import buttons as rating_buttons
from omnitui.db import (
    Attachment,
    ConnectorState,
    Conversation,
    Customer,
    Event,
    Identity,
    MergeRecord,
    Message,
    MessageEdit,
    MessageRaw,
    PhoneCall,
    Quarantine,
    RunnerLease,
    SyncState,
    utcnow,
)
from omnitui.filenames import content_type_of, safe_filename
from omnitui.i18n import _, ngettext
from omnitui.language import detect_many
from omnitui.normalize import subject_key
from omnitui.quoting import split_quoted
from omnitui.reads import (
    SOLE_CONVERSATIONS,
    START_OF_TIME,
    CustomerIdentity,
    MergePreview,
    parse_stamp,
)
from omnitui.sla import Policies
from omnitui.text import clean, one_line
from omnitui.threads import ACTIVE, KEY_DOMAIN, SUBJECT_WINDOW, idempotency_key_of

STATUSES = ("open", "pending", "snoozed", "resolved")
DELIVERY_STATES = ("queued", "sending", "sent", "failed", "unconfirmed")

_T = TypeVar("_T")
_Item = TypeVar("_Item", CannedReply, kb.Entry)
"""A canned reply or a knowledge base entry, as the services take them."""
_LibraryRow = TypeVar("_LibraryRow", db.Canned, db.KbEntry)


class ServiceError(Exception):
    """An action that cannot be done as asked (unknown customer, empty reply...), said in
    the console's language (ids, addresses, tags and names as they are)."""


@dataclass(frozen=True, slots=True)
class Ingested:
    message_id: int | None  # None when the message was already stored
    customer_id: int
    conversation_id: int | None
    reason: str


# ---------------------------------------------------------------------------
# Inbound


def ingest(engine: Engine, batch: Batch, blobs: BlobStore | None = None) -> list[Ingested]:
    """Store a batch, its quarantine records and its cursor in one transaction
    (DESIGN invariant 1).

    Idempotent on (account, external id): a message already stored is skipped,
    so a connector replaying after a crash duplicates nothing; the same poison
    (by its hash) is quarantined once. Attachment bytes go to ``blobs`` before
    the transaction (content-addressed, so a replay rewrites nothing).

    The messages are stored in order, each by ``ingest_one``'s rules, as if ingested
    one by one; see ``_BatchIngest`` for what is asked and written once a batch.
    """
    hashes = _put_attachments(batch.messages, blobs)
    with db.write(engine) as session:
        run = _BatchIngest(session, batch.messages)
        results = [run.add(m, hashes.get(id(m), ())) for m in batch.messages]
        run.finish()
        for q in batch.quarantined:
            _quarantine(session, q)
        accounts = {m.account for m in batch.messages} | {q.account for q in batch.quarantined}
        if batch.cursor:
            if len(accounts) > 1:
                raise ServiceError("a batch with a cursor must come from one account")
            account = next(iter(accounts)) if accounts else None
            if account is None:
                raise ServiceError("a cursor without messages needs save_cursor()")
            _save_cursor(session, account, batch.cursor)
    return results


def _put_attachments(
    messages: Iterable[InboundMessage], blobs: BlobStore | None
) -> dict[int, tuple[str, ...]]:
    """Write every attachment's bytes to the blob store; their hashes by message."""
    hashes: dict[int, tuple[str, ...]] = {}
    for m in messages:
        if not m.attachments:
            continue
        if blobs is None:
            raise ServiceError("a message with attachments needs an attachment store")
        hashes[id(m)] = tuple(blobs.put(a.data) if a.omitted is None else "" for a in m.attachments)
    return hashes


def _quarantine(session: Session, q: Quarantined) -> None:
    digest = hashlib.sha256(q.raw).hexdigest()
    seen = session.exec(
        select(Quarantine.id).where(Quarantine.account == q.account, Quarantine.sha256 == digest)
    ).first()
    if seen is None:
        session.add(
            Quarantine(
                account=q.account,
                external_id=q.external_id,
                error=one_line(q.error, 500),
                raw=q.raw,
                source=q.source,
                sha256=digest,
            )
        )


def save_cursor(engine: Engine, account: str, cursor: Mapping[str, str]) -> None:
    """Move a connector's cursor past data that held no message to store."""
    with db.write(engine) as session:
        _save_cursor(session, account, cursor)


def _save_cursor(session: Session, account: str, cursor: Mapping[str, str]) -> None:
    now = utcnow()
    for key, value in cursor.items():
        row = session.get(SyncState, (account, key))
        if row is None:
            session.add(SyncState(account=account, key=key, value=value, updated_at=now))
        else:
            row.value = value
            row.updated_at = now


def load_cursor(engine: Engine, account: str) -> dict[str, str]:
    with db.read(engine) as session:
        rows = session.exec(select(SyncState).where(SyncState.account == account))
        return {r.key: r.value for r in rows}


def ingest_one(
    session: Session, msg: InboundMessage, attachment_hashes: tuple[str, ...] = ()
) -> Ingested:
    """Store one message in the caller's transaction (attachments already in the blob store)."""
    run = _BatchIngest(session, [msg])
    result = run.add(msg, attachment_hashes)
    run.finish()
    return result


@dataclass(slots=True)
class _Identity:
    id: int
    customer_id: int
    display_name: str
    handle: str = ""
    unreachable: bool = False
    blocked: bool = False
    """An agent blocked this address (spam): its messages reopen nothing, count as read."""


@dataclass(slots=True)
class _Customer:
    """A customer's list columns as the batch leaves them (written by ``finish``)."""

    id: int
    last_activity_at: datetime
    preview: str
    unread: int = 0
    """Inbound messages of the batch: unread_count goes up by as many."""
    messages: int = 0
    """Messages of the batch: version goes up by as many (one a message, as ``_touch``)."""
    reindex: bool = False
    """New, or an address's display name changed: the full-text row is made again."""


@dataclass(slots=True)
class _Conversation:
    id: int
    customer_id: int
    status: str
    last_message_at: datetime
    first_inbound_at: datetime | None
    first_response_at: datetime | None

    @classmethod
    def of(cls, row: Sequence[Any]) -> _Conversation:
        """From a row of ``_CONVERSATION_COLUMNS``."""
        id_, customer_id, status, last_message_at, first_inbound_at, first_response_at = row
        return cls(id_, customer_id, status, last_message_at, first_inbound_at, first_response_at)


class _BatchIngest:
    """Messages stored in order under ingest's rules, in the caller's transaction, with
    the store asked once a batch rather than several times a message.

    Read once at the start, for the whole batch: which of its external ids are stored
    already, the senders' identities, their customers' list columns and each customer's
    newest active conversation. ``add`` keeps these up to date as it stores each message
    (a new customer, a new or reopened conversation, a message stored), so a message
    sees the batch's earlier ones exactly as if each had been ingested on its own.
    Rows that later rules look up in the store (messages, customers, identities,
    conversations, status events) are inserted at once; what no rule reads back
    (full-text rows, raw bytes, attachments, conversation times and the customers'
    list columns) is written once a batch by ``finish``, which must be called before
    the transaction commits.

    SQL goes through the session's connection (SQLAlchemy Core): ORM objects cost more
    than the rows they write. Status changes, rare here, still go through
    ``_change_status``.
    """

    def __init__(self, session: Session, messages: Sequence[InboundMessage]) -> None:
        self.session = session
        session.flush()  # the caller's pending ORM changes, before reading with Core
        self.conn = session.connection()
        self.stored: dict[tuple[str, str], tuple[int, int]] = {}
        """(account, external id) of stored messages -> (customer, conversation)."""
        self.identities: dict[tuple[str, str], _Identity] = {}
        """(channel, address) -> identity, for every sender of the batch that has one."""
        self.customers: dict[int, _Customer] = {}
        self.active: dict[int, int | None] = {}
        """Customer -> their newest active conversation. Ingest makes conversations
        active (opens, reopens) but never inactive: the newest one is the largest id."""
        self.conversations: dict[int, _Conversation] = {}
        self.changed: dict[int, _Conversation] = {}
        """Conversations whose times the batch moved, written by ``finish``."""
        self.fts: dict[int, tuple[str, str]] = {}
        """Message -> (subject, body) of the messages the batch stored, indexed by ``finish``."""
        self.reindex: dict[int, tuple[str, str]] = {}
        """The same for messages stored before and edited by the batch."""
        self.raws: list[dict[str, object]] = []
        self.attachments: list[dict[str, object]] = []
        self.answers: dict[tuple[int, int, str], int] = {}
        """(customer, conversation, sender) of emails that answer a message of that
        conversation -> the answer's id: each may prove an address a visitor claimed."""
        self._load(messages)

    def _load(self, messages: Sequence[InboundMessage]) -> None:
        by_account: dict[str, set[str]] = {}
        by_channel: dict[str, set[str]] = {}
        for m in messages:
            by_account.setdefault(m.account, set()).add(m.external_id)
            by_channel.setdefault(m.channel, set()).add(m.address)
        for account, external_ids in by_account.items():
            for part in _chunks(external_ids):
                for seen in self.conn.execute(_STORED, {"account": account, "ids": part}):
                    known = (seen.customer_id, seen.conversation_id)
                    self.stored[account, seen.external_id] = known
        for channel, addresses in by_channel.items():
            for part in _chunks(addresses):
                params = {"channel": channel, "addresses": part}
                for ident in self.conn.execute(_IDENTITIES, params):
                    self.identities[channel, ident.address] = _Identity(
                        ident.id,
                        ident.customer_id,
                        ident.display_name,
                        ident.handle,
                        ident.unreachable_reason is not None,
                        ident.blocked_at is not None,
                    )
        customer_ids = {i.customer_id for i in self.identities.values()}
        for ids in _chunks(customer_ids):
            for cust in self.conn.execute(_CUSTOMERS, {"ids": ids}):
                self.customers[cust.id] = _Customer(cust.id, cust.last_activity_at, cust.preview)
                self.active[cust.id] = None
            for row in self.conn.execute(_ACTIVE, {"ids": ids}):
                conv = _Conversation.of(row)
                self.conversations[conv.id] = conv
                self._now_active(conv)

    def add(self, msg: InboundMessage, attachment_hashes: tuple[str, ...] = ()) -> Ingested:
        """Store one message (``ingest_one``'s rules); the batch's state follows."""
        if msg.edit_of is not None:
            edited = self._edit(msg)
            if edited is not None:
                return edited
        known = self.stored.get((msg.account, msg.external_id))
        if known is None and msg.direction == "out":
            reply = _own_reply_came_back(self.session, msg)
            if reply is not None:
                known = (reply.customer_id, reply.conversation_id)
                if reply.external_id is not None:
                    self.stored[reply.account, reply.external_id] = known
        if known is not None:
            return Ingested(None, known[0], known[1], "duplicate")

        identity, created = self._identity_for(msg)
        customer = self.customers[identity.customer_id]
        # A blocked sender's message is kept (never lost) but is spam to the team.
        blocked = identity.blocked and msg.direction == "in"
        # An answer to the satisfaction survey joins its conversation and reopens nothing.
        rated = self._rating(msg, customer.id) if not blocked and not created else None
        if rated is not None:
            conversation, reason = self._conversation(rated.conversation_id), rated.reason
        else:
            conversation, reason = self._conversation_for(customer.id, msg, created, blocked)
        if created:
            reason = f"new customer; {reason}"

        outgoing = msg.direction == "out"
        body = msg.body if rated is None else rating_body(rated.score, rated.comment)
        inserted = self.conn.execute(
            _INSERT_MESSAGE,
            {
                "conversation_id": conversation.id,
                "customer_id": customer.id,
                "direction": "out" if outgoing else "in",
                "channel": msg.channel,
                "account": msg.account,
                "external_id": msg.external_id,
                "identity_id": identity.id,
                "author": (msg.author or msg.account)
                if outgoing
                else (msg.display_name or msg.address),
                "subject": msg.subject,
                "body": body,
                "html": msg.html,
                "sent_at": msg.sent_at,
                "thread_ref": msg.thread_ref,
                "thread_reason": reason,
                "refs": " ".join(msg.references) or None,
                "content_hash": msg.content_hash,
                "delivery": "sent" if outgoing else None,
                "kind": "" if rated is None else "rating",
            },
        )
        message_id = _inserted_id(inserted)
        self.stored[msg.account, msg.external_id] = (customer.id, conversation.id)
        if msg.channel == "email" and not outgoing and reason.startswith(("answers", "refer")):
            self.answers[customer.id, conversation.id, msg.address.lower()] = message_id
        self.fts[message_id] = (msg.subject, body)
        if msg.raw_zlib is not None:
            self.raws.append({"message_id": message_id, "data": msg.raw_zlib})
        for attachment, digest in zip(msg.attachments, attachment_hashes, strict=True):
            self.attachments.append(
                {
                    "message_id": message_id,
                    "filename": attachment.filename,
                    "content_type": attachment.content_type,
                    "size": attachment.size,
                    "sha256": digest,
                    "inline": attachment.inline,
                    "content_id": attachment.content_id,
                    "omitted": attachment.omitted,
                }
            )

        conversation.last_message_at = max(conversation.last_message_at, msg.sent_at)
        if outgoing:
            if conversation.first_response_at is None:
                conversation.first_response_at = msg.sent_at
        else:
            if conversation.first_inbound_at is None:
                conversation.first_inbound_at = msg.sent_at
            if not blocked and rated is None:  # a rating asks nothing of the team
                customer.unread += 1
        self.changed[conversation.id] = conversation
        if rated is not None:
            self._rate(rated, message_id)
        # _touch's rules; the columns are written by finish(). Spam from a blocked
        # address does not lift its customer to the top of the list either.
        if msg.sent_at >= customer.last_activity_at and not blocked:
            customer.last_activity_at = msg.sent_at
            customer.preview = one_line(msg.subject or body, 120)
        customer.messages += 1
        return Ingested(message_id, customer.id, conversation.id, reason)

    def _rating(self, msg: InboundMessage, customer_id: int) -> _Rated | None:
        """The survey answer ``msg`` is, if it is one: a press of a rating button (``csat:``
        data), or an email answering a survey whose first line starts with a digit 1-5
        (``csat.parse_rating``), of this customer's conversation, within ANSWER_WINDOW of the
        survey. None for anything else: it is stored as an ordinary message."""
        if msg.direction != "in" or msg.automatic:
            return None
        if msg.button is not None:
            pressed = parse_button(msg.button)
            if pressed is None:
                return None
            conversation_id, score = pressed
            comment, how = "", "pressed a rating button"
        elif msg.channel == "email":
            refs = [r for r in (msg.thread_ref, *reversed(msg.references)) if r]
            if not refs:
                return None
            survey = self.conn.execute(
                _ANSWERED_SURVEY, {"customer": customer_id, "refs": refs}
            ).first()
            found = parse_rating(msg.body) if survey is not None else None
            if survey is None or found is None:
                return None
            conversation_id, score, comment = survey.conversation_id, found.score, found.comment
            how = f"answers survey {survey.id}"
        else:
            return None
        asked = self.conn.execute(_SURVEYED, {"conv": conversation_id}).first()
        if asked is None or asked.customer_id != customer_id or asked.csat_requested_at is None:
            return None
        at = _aware(asked.csat_requested_at)
        if not at - timedelta(minutes=5) <= msg.sent_at <= at + ANSWER_WINDOW:
            return None  # a late answer (or a clock far off) is a message like any other
        reason = f"rating: {how} of conversation {conversation_id} (not reopened)"
        return _Rated(conversation_id, customer_id, score, comment, reason, asked.csat_score)

    def _rate(self, rated: _Rated, message_id: int) -> None:
        """Keep the rating on its conversation (the latest answer counts) and audit it."""
        now = utcnow()
        self.conn.execute(
            _SET_CSAT,
            {
                "conv": rated.conversation_id,
                "score": rated.score,
                "comment": rated.comment,
                "at": now,
            },
        )
        before = None if rated.before is None else f"{rated.before}/5"
        self.conn.execute(
            sa.insert(Event),
            {
                "agent": SYSTEM,
                "kind": "csat",
                "customer_id": rated.customer_id,
                "conversation_id": rated.conversation_id,
                "before": before,
                "after": f"{rated.score}/5",
                "message_id": message_id,
                "at": now,
            },
        )

    def _edit(self, msg: InboundMessage) -> Ingested | None:
        """Apply an edit to the stored message it names: the text before goes to its edit
        history, the new text is stored and indexed. None when that message is not stored."""
        row = self.conn.execute(
            _EDITED, {"account": msg.account, "external_id": msg.edit_of}
        ).first()
        if row is None:
            return None
        if row.body == msg.body:
            return Ingested(None, row.customer_id, row.conversation_id, "edit: text unchanged")
        self.conn.execute(
            _INSERT_EDIT,
            {
                "message_id": row.id,
                "body": row.body,
                "edited_at": msg.sent_at,
                "raw": msg.raw_zlib,
            },
        )
        self.conn.execute(_SET_BODY, {"message": row.id, "new_body": msg.body})
        if row.id in self.fts:  # stored by this very batch: not indexed yet
            self.fts[row.id] = (row.subject, msg.body)
        else:
            self.reindex[row.id] = (row.subject, msg.body)
        customer = self.customers.get(row.customer_id)
        if customer is None:
            self.conn.execute(_BUMP_VERSION, {"customer": row.customer_id})
        else:
            if customer.preview == one_line(row.subject or row.body, 120):
                customer.preview = one_line(row.subject or msg.body, 120)
            customer.messages += 1  # version up by one, as for a message
        return Ingested(row.id, row.customer_id, row.conversation_id, f"edit of message {row.id}")

    def _identity_for(self, msg: InboundMessage) -> tuple[_Identity, bool]:
        """The sender's identity, and whether this message made it (and a new customer,
        named after the sender). A known sender's new display name and handle are kept;
        a customer's own message makes an unreachable address reachable again."""
        identity = self.identities.get((msg.channel, msg.address))
        if identity is not None:
            if msg.display_name and identity.display_name != msg.display_name:
                identity.display_name = msg.display_name
                self.conn.execute(
                    _RENAME_IDENTITY, {"identity": identity.id, "name": msg.display_name}
                )
                self.customers[identity.customer_id].reindex = True
            if msg.handle is not None and identity.handle != msg.handle:
                identity.handle = msg.handle
                self.conn.execute(_SET_HANDLE, {"identity": identity.id, "handle": msg.handle})
                self.customers[identity.customer_id].reindex = True
            if identity.unreachable and msg.direction == "in" and not msg.automatic:
                identity.unreachable = False
                self.conn.execute(_REACHABLE, {"identity": identity.id})
            return identity, False
        inserted = self.conn.execute(
            _INSERT_CUSTOMER,
            {"name": msg.display_name or msg.address, "last_activity_at": msg.sent_at},
        )
        customer_id = _inserted_id(inserted)
        inserted = self.conn.execute(
            _INSERT_IDENTITY,
            {
                "customer_id": customer_id,
                "channel": msg.channel,
                "address": msg.address,
                "display_name": msg.display_name,
                "account": msg.account,
                "handle": msg.handle or "",
            },
        )
        identity = _Identity(
            _inserted_id(inserted), customer_id, msg.display_name, msg.handle or ""
        )
        self.identities[msg.channel, msg.address] = identity
        self.customers[customer_id] = _Customer(customer_id, msg.sent_at, "", reindex=True)
        self.active[customer_id] = None
        return identity, True

    def _conversation_for(
        self, customer_id: int, msg: InboundMessage, new_customer: bool, blocked: bool = False
    ) -> tuple[_Conversation, str]:
        """The conversation a customer's new message joins, and why (recorded on the message).

        In order: the thread it answers (In-Reply-To, then References, newest first);
        the customer's active conversation; a resolved one of the same subject within
        SUBJECT_WINDOW; else a new one. A blocked sender's message (``blocked``) reopens
        nothing either, and rather than open a new conversation joins the newest one.
        """
        # A machine's mail (an out-of-office answer) joins like any other but reopens nothing.
        wakes = msg.direction == "in" and not msg.automatic and not blocked
        kept = " (automatic: not reopened)" if msg.automatic else ""
        if blocked:
            kept = " (blocked sender: not reopened)"
        refs = [r for r in (msg.thread_ref, *reversed(msg.references)) if r]
        if refs:
            parents = self.conn.execute(_PARENTS, {"customer": customer_id, "refs": refs})
            by_ref = {p.external_id: p for p in parents}
            parent = next((by_ref[r] for r in refs if r in by_ref), None)
            if parent is not None:
                how = "answers" if parent.external_id == msg.thread_ref else "references"
                conv = self._conversation(parent.conversation_id)
                if conv.status != "open" and wakes:
                    self._reopen(conv, "customer replied")
                    return conv, f"{how} message {parent.id}; reopened conversation {conv.id}"
                return conv, f"{how} message {parent.id} in conversation {conv.id}{kept}"
        active_id = self.active[customer_id]
        if active_id is not None:
            active = self._conversation(active_id)
            if active.status != "open" and wakes:
                was = active.status
                self._reopen(active, "customer wrote")
                return active, f"woke {was} conversation {active.id}"
            return active, f"joined open conversation {active.id}{kept}"
        key = subject_key(msg.subject)
        if key and not new_customer:  # a customer made by this message has no history
            recent = self.conn.execute(
                _RECENT_SUBJECTS,
                {
                    "customer": customer_id,
                    "since": msg.sent_at - SUBJECT_WINDOW,
                    "until": msg.sent_at,
                },
            )
            match = next((c for c, subject in recent if subject_key(subject) == key), None)
            if match is not None:
                conv = self._conversation(match)
                if not wakes:
                    return conv, f"subject matches conversation {conv.id}{kept}"
                self._reopen(conv, "customer wrote")
                return conv, f"subject matches conversation {conv.id}; reopened"
        if blocked:
            newest = self.conn.execute(_NEWEST_CONVERSATION, {"customer": customer_id}).first()
            if newest is not None:
                conv = self._conversation(newest.id)
                return conv, f"blocked sender: joined conversation {conv.id}, not reopened"
        status = "open" if msg.direction == "in" and not blocked else "resolved"
        inserted = self.conn.execute(
            _INSERT_CONVERSATION,
            {
                "customer_id": customer_id,
                "opened_at": msg.sent_at,
                "last_message_at": msg.sent_at,
                "status": status,
                "channel": msg.channel,
            },
        )
        conv = _Conversation(_inserted_id(inserted), customer_id, status, msg.sent_at, None, None)
        self.conversations[conv.id] = conv
        self._now_active(conv)
        return conv, f"no open conversation; opened {conv.id}"

    def _conversation(self, conversation_id: int) -> _Conversation:
        conv = self.conversations.get(conversation_id)
        if conv is None:
            conv = _Conversation.of(self.conn.execute(_CONVERSATION, {"id": conversation_id}).one())
            self.conversations[conv.id] = conv
        return conv

    def _reopen(self, conv: _Conversation, why: str) -> None:
        """Open a conversation again for a customer's message (an event records why)."""
        stored = self.session.get(Conversation, conv.id)
        assert stored is not None
        _change_status(self.session, stored, "open", agent="", why=why)
        conv.status = stored.status
        self._now_active(conv)

    def _now_active(self, conv: _Conversation) -> None:
        if conv.status in ACTIVE:
            newest = self.active.get(conv.customer_id)
            if newest is None or conv.id > newest:
                self.active[conv.customer_id] = conv.id

    def finish(self) -> None:
        """Write what the batch kept for the end: full-text rows, raw bytes, attachments,
        conversation times and each customer's list columns (``_touch``'s, once a
        customer: channels and open conversations counted afresh)."""
        for message_id, (subject, body) in self.fts.items():
            db.index_message(self.session, message_id, subject, body)
        for message_id, (subject, body) in self.reindex.items():
            db.reindex_message(self.session, message_id, subject, body)
        if self.raws:
            self.conn.execute(sa.insert(MessageRaw), self.raws)
        if self.attachments:
            self.conn.execute(sa.insert(Attachment), self.attachments)
        if self.changed:
            self.conn.execute(
                _CONVERSATION_TIMES,
                [
                    {
                        "conv": c.id,
                        "last": c.last_message_at,
                        "first_in": c.first_inbound_at,
                        "first_out": c.first_response_at,
                    }
                    for c in self.changed.values()
                ],
            )
        self._touch_customers()
        self.verify_claims()
        for customer in self.customers.values():
            if customer.reindex:
                db.index_customer(self.session, customer.id)
        # The session's objects did not see the rows written here.
        self.session.expire_all()

    def verify_claims(self) -> None:
        """An email address a web chat visitor claimed (``link_visitor_email``) is proven
        when that address answers an email in a conversation where the visitor chatted: the
        identities that rested on it are marked verified ("identity-verified")."""
        for (customer_id, conversation_id, address), message_id in self.answers.items():
            proven = self.conn.execute(
                _PROVE_CLAIM,
                {"customer": customer_id, "address": address, "conversation": conversation_id},
            )
            if not proven.rowcount:
                continue
            self.conn.execute(
                sa.insert(Event),
                {
                    "agent": "system",
                    "kind": "identity-verified",
                    "customer_id": customer_id,
                    "conversation_id": conversation_id,
                    "before": f"email {address} ({UNVERIFIED})",
                    "after": f"verified: answered an email in conversation {conversation_id}",
                    "message_id": message_id,
                    "at": utcnow(),
                },
            )

    def _touch_customers(self) -> None:
        """``_touch`` once for each customer of the batch: last activity and preview as
        ``add`` left them, channels and open conversations counted afresh, unread and
        version up by what the batch added."""
        touched = [c for c in self.customers.values() if c.messages]
        if not touched:
            return
        channels: dict[int, set[str]] = {c.id: set() for c in touched}
        open_count = dict.fromkeys(channels, 0)
        for ids in _chunks(c.id for c in touched):
            for customer_id, channel in self.conn.execute(_CHANNELS, {"ids": ids}):
                channels[customer_id].add(channel)
            for customer_id, count in self.conn.execute(_OPEN_COUNTS, {"ids": ids}):
                open_count[customer_id] = count
        self.conn.execute(
            _TOUCH_CUSTOMER,
            [
                {
                    "customer": c.id,
                    "at": c.last_activity_at,
                    "preview": c.preview,
                    "channels": ",".join(sorted(channels[c.id])),
                    "open": open_count[c.id],
                    "unread": c.unread,
                    "messages": c.messages,
                }
                for c in touched
            ],
        )


@dataclass(frozen=True, slots=True)
class _Rated:
    """A customer's answer to the satisfaction survey of one of their conversations."""

    conversation_id: int
    customer_id: int
    score: int
    comment: str
    reason: str
    before: int | None
    """The conversation's rating until now (the latest answer counts)."""


def _aware(at: datetime | str) -> datetime:
    """A time read with Core (SQLite gives it naive, or as text) as an aware UTC datetime."""
    if isinstance(at, str):
        return parse_stamp(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


_ANSWERED_SURVEY = sa.select(col(Message.id), col(Message.conversation_id)).where(
    col(Message.customer_id) == sa.bindparam("customer"),
    col(Message.kind) == "survey",
    col(Message.external_id).in_(sa.bindparam("refs", expanding=True)),
)
_SURVEYED = sa.select(
    col(Conversation.customer_id), col(Conversation.csat_requested_at), col(Conversation.csat_score)
).where(col(Conversation.id) == sa.bindparam("conv"))
_SET_CSAT = (
    sa.update(Conversation)
    .where(col(Conversation.id) == sa.bindparam("conv"))
    .values(
        csat_score=sa.bindparam("score"),
        csat_comment=sa.bindparam("comment"),
        csat_at=sa.bindparam("at"),
    )
)


_PROVE_CLAIM = text(
    "UPDATE identity SET claimed_email = NULL WHERE customer_id = :customer "
    "AND claimed_email = :address AND EXISTS (SELECT 1 FROM message "
    "WHERE conversation_id = :conversation AND channel = 'webchat' AND direction = 'in')"
)


def _inserted_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _chunks(values: Iterable[_T], size: int = 500) -> Iterator[list[_T]]:
    """``values`` in lists of at most ``size`` (SQL ``IN`` lists with a bounded length)."""
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]


# The batch's statements, built once (SQLAlchemy caches their compiled form).
_STORED = sa.select(
    col(Message.external_id), col(Message.customer_id), col(Message.conversation_id)
).where(
    col(Message.account) == sa.bindparam("account"),
    col(Message.external_id).in_(sa.bindparam("ids", expanding=True)),
)
_IDENTITIES = sa.select(
    col(Identity.id),
    col(Identity.customer_id),
    col(Identity.address),
    col(Identity.display_name),
    col(Identity.handle),
    col(Identity.unreachable_reason),
    col(Identity.blocked_at),
).where(
    col(Identity.channel) == sa.bindparam("channel"),
    col(Identity.address).in_(sa.bindparam("addresses", expanding=True)),
)
_CUSTOMERS = sa.select(
    col(Customer.id), col(Customer.last_activity_at), col(Customer.preview)
).where(col(Customer.id).in_(sa.bindparam("ids", expanding=True)))
_CONVERSATION_COLUMNS = (
    col(Conversation.id),
    col(Conversation.customer_id),
    col(Conversation.status),
    col(Conversation.last_message_at),
    col(Conversation.first_inbound_at),
    col(Conversation.first_response_at),
)
_ACTIVE = sa.select(*_CONVERSATION_COLUMNS).where(
    col(Conversation.customer_id).in_(sa.bindparam("ids", expanding=True)),
    col(Conversation.status).in_(ACTIVE),
)
_CONVERSATION = sa.select(*_CONVERSATION_COLUMNS).where(col(Conversation.id) == sa.bindparam("id"))
_NEWEST_CONVERSATION = (
    sa.select(col(Conversation.id))
    .where(col(Conversation.customer_id) == sa.bindparam("customer"))
    .order_by(col(Conversation.id).desc())
    .limit(1)
)
_PARENTS = sa.select(col(Message.id), col(Message.external_id), col(Message.conversation_id)).where(
    col(Message.customer_id) == sa.bindparam("customer"),
    col(Message.external_id).in_(sa.bindparam("refs", expanding=True)),
)
_RECENT_SUBJECTS = (
    sa.select(col(Message.conversation_id), col(Message.subject))
    .where(
        col(Message.customer_id) == sa.bindparam("customer"),
        col(Message.sent_at) >= sa.bindparam("since"),
        col(Message.sent_at) <= sa.bindparam("until"),
        col(Message.subject) != "",
    )
    .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
)
_INSERT_MESSAGE = sa.insert(Message)
_INSERT_CUSTOMER = sa.insert(Customer)
_INSERT_IDENTITY = sa.insert(Identity)
_INSERT_CONVERSATION = sa.insert(Conversation)
_RENAME_IDENTITY = (
    sa.update(Identity)
    .where(col(Identity.id) == sa.bindparam("identity"))
    .values(display_name=sa.bindparam("name"))
)
_SET_HANDLE = (
    sa.update(Identity)
    .where(col(Identity.id) == sa.bindparam("identity"))
    .values(handle=sa.bindparam("handle"))
)
_REACHABLE = (
    sa.update(Identity)
    .where(col(Identity.id) == sa.bindparam("identity"))
    .values(unreachable_reason=None)
)
_EDITED = sa.select(
    col(Message.id),
    col(Message.customer_id),
    col(Message.conversation_id),
    col(Message.subject),
    col(Message.body),
).where(
    col(Message.account) == sa.bindparam("account"),
    col(Message.external_id) == sa.bindparam("external_id"),
)
_INSERT_EDIT = sa.insert(MessageEdit)
_SET_BODY = (
    sa.update(Message)
    .where(col(Message.id) == sa.bindparam("message"))
    .values(body=sa.bindparam("new_body"))
)
_BUMP_VERSION = (
    sa.update(Customer)
    .where(col(Customer.id) == sa.bindparam("customer"))
    .values(version=col(Customer.version) + 1)
)
_CONVERSATION_TIMES = (
    sa.update(Conversation)
    .where(col(Conversation.id) == sa.bindparam("conv"))
    .values(
        last_message_at=sa.bindparam("last"),
        first_inbound_at=sa.bindparam("first_in"),
        first_response_at=sa.bindparam("first_out"),
    )
)
_CHANNELS = (
    sa.select(col(Identity.customer_id), col(Identity.channel))
    .where(col(Identity.customer_id).in_(sa.bindparam("ids", expanding=True)))
    .distinct()
).union(
    sa.select(col(Message.customer_id), col(Message.channel)).where(
        col(Message.customer_id).in_(sa.bindparam("ids", expanding=True)),
        text("message.channel = 'phone'"),  # a literal: SQLite's partial index needs one
    )
)
_HAS_CALLS = text("SELECT 1 FROM message WHERE customer_id = :id AND channel = 'phone' LIMIT 1")
"""Whether a customer has logged calls: the list marks them with the phone channel even
without a phone address (ix_message_phone, partial: the query repeats its condition)."""
_OPEN_COUNTS = (
    sa.select(col(Conversation.customer_id), func.count())
    .where(
        col(Conversation.customer_id).in_(sa.bindparam("ids", expanding=True)),
        col(Conversation.status).in_(ACTIVE),
    )
    .group_by(col(Conversation.customer_id))
)
_TOUCH_CUSTOMER = (
    sa.update(Customer)
    .where(col(Customer.id) == sa.bindparam("customer"))
    .values(
        last_activity_at=sa.bindparam("at"),
        preview=sa.bindparam("preview"),
        channels=sa.bindparam("channels"),
        open_count=sa.bindparam("open"),
        unread_count=col(Customer.unread_count) + sa.bindparam("unread"),
        version=col(Customer.version) + sa.bindparam("messages"),
    )
)


def _own_reply_came_back(session: Session, msg: InboundMessage) -> Message | None:
    """A reply we sent, seen again (an email Sent folder, a copy the server kept).

    Its external id carries the idempotency key fixed at queue time, so a reply whose
    delivery was in doubt (the runner died after the server took it) is now known sent.
    """
    key = idempotency_key_of(msg.external_id)
    if key is None:
        return None
    reply = session.exec(select(Message).where(Message.idempotency_key == key)).first()
    if reply is None:
        return None
    if reply.delivery != "sent":
        reply.delivery = "sent"
        reply.external_id = msg.external_id
        reply.last_error = None
        reply.next_attempt_at = None
        session.flush()  # before the batch looks for this external id with Core
        _bump(session, reply.customer_id)
    return reply


def _touch(session: Session, customer: Customer, at: datetime, preview: str) -> None:
    """Keep the customer list's denormalized columns in step, in this transaction."""
    assert customer.id is not None
    if at >= customer.last_activity_at:
        customer.last_activity_at = at
        customer.preview = one_line(preview, 120)
    channels = set(
        session.exec(
            select(Identity.channel).where(Identity.customer_id == customer.id).distinct()
        ).all()
    )
    if session.connection().execute(_HAS_CALLS, {"id": customer.id}).first() is not None:
        channels.add(calls.CHANNEL)
    customer.channels = ",".join(sorted(channels))
    customer.open_count = session.exec(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.customer_id == customer.id, col(Conversation.status).in_(ACTIVE))
    ).one()
    customer.version += 1
    session.add(customer)


def _bump(session: Session, customer_id: int) -> None:
    session.connection().execute(
        text("UPDATE customer SET version = version + 1 WHERE id = :id"), {"id": customer_id}
    )


# ---------------------------------------------------------------------------
# Agent actions


MAX_OUTGOING_FILE = 50 * 1024 * 1024
"""The largest file a reply carries unless the caller says otherwise: what a Telegram bot
may upload (mail servers often take less; they refuse with their own words)."""


def new_idempotency_key() -> str:
    """A reply's idempotency key (its email Message-ID): random, in our key domain."""
    return f"{uuid.uuid4().hex}@{KEY_DOMAIN}"


def queue_reply(
    engine: Engine,
    customer_id: int,
    body: str,
    *,
    agent: str,
    identity_id: int | None = None,
    subject: str = "",
    attachments: Sequence[Path] = (),
    blobs: BlobStore | None = None,
    max_file_bytes: int = MAX_OUTGOING_FILE,
    idempotency_key: str | None = None,
) -> int:
    """Commit a reply as queued before any network I/O (DESIGN invariant 2).

    The reply goes to ``identity_id`` or else to the identity of the customer's
    last inbound message. Its idempotency key (an email's Message-ID) is fixed now, or
    by the caller: a caller that retries after losing the connection (db.retry_on_disconnect)
    passes the same key each time, and a reply already stored under it is not queued again.

    ``attachments`` are files sent with it, in order (a reply may be files only): each
    must be a regular file of 1 byte to ``max_file_bytes``, else a ServiceError names it
    ("report.pdf: no such file"). Their bytes go to ``blobs`` before the transaction
    (content-addressed: a failed transaction leaves a harmless orphan), and their
    attachment rows commit with the reply; the name kept is the base name, sanitized.
    """
    files = check_outgoing_files(attachments, max_file_bytes)
    if not body.strip() and not files:
        raise ServiceError(_("the reply is empty"))
    if files and blobs is None:
        raise ServiceError("a reply with files needs an attachment store")
    stored = [(f, blobs.put(f.read())) for f in files] if blobs is not None else []
    with db.write(engine) as session:
        if idempotency_key is not None:
            done = session.exec(
                select(Message.id).where(Message.idempotency_key == idempotency_key)
            ).first()
            if done is not None:  # an earlier attempt committed before its connection went
                return done
        customer = _customer(session, customer_id)
        identity = _reply_identity(session, customer_id, identity_id)
        conv = _newest_conversation(session, customer_id)
        assert conv.id is not None
        now = utcnow()
        last_in = session.exec(
            select(Message)
            .where(Message.customer_id == customer_id, Message.direction == "in")
            .where(Message.identity_id == identity.id)
            .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
        ).first()
        message = Message(
            conversation_id=conv.id,
            customer_id=customer_id,
            direction="out",
            channel=identity.channel,
            account=identity.account,
            identity_id=identity.id,
            author=agent,
            subject=subject or _reply_subject(last_in.subject if last_in else ""),
            body=body,
            sent_at=now,
            thread_ref=last_in.external_id if last_in else None,
            refs=_thread_refs(last_in),
            delivery="queued",
            idempotency_key=idempotency_key or new_idempotency_key(),
            next_attempt_at=now,
        )
        session.add(message)
        session.flush()
        assert message.id is not None
        for file, digest in stored:
            session.add(
                Attachment(
                    message_id=message.id,
                    filename=file.filename,
                    content_type=file.content_type,
                    size=file.size,
                    sha256=digest,
                )
            )
        db.index_message(session, message.id, message.subject, body)
        if conv.first_response_at is None:
            conv.first_response_at = now
        if not conv.channel:  # made for this reply, or by a note: it began here
            conv.channel = identity.channel
        conv.last_message_at = now
        customer.unread_count = 0
        preview = body if body.strip() else f"[{', '.join(f.filename for f in files)}]"
        _touch(session, customer, now, preview)
        return message.id


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    path: Path
    filename: str
    content_type: str
    size: int
    limit: int

    def read(self) -> bytes:
        """The file's bytes, checked again (it may have changed since it was looked at)."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            problem = _("{path}: cannot be read ({error})")
            raise ServiceError(problem.format(path=self.path, error=exc.strerror or exc)) from exc
        if len(data) > self.limit:
            raise ServiceError(f"{self.path}: {_size(len(data), self.limit)}")
        if not data:
            raise ServiceError(_("{path}: the file is empty").format(path=self.path))
        return data


def check_outgoing_files(paths: Sequence[Path], limit: int) -> list[OutgoingFile]:
    """Every file looked at before any is read, so that a bad third file stores nothing."""
    files = []
    for index, path in enumerate(paths, 1):
        path = Path(path)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise ServiceError(_("{path}: no such file").format(path=path)) from None
        except OSError as exc:
            problem = _("{path}: cannot be read ({error})")
            raise ServiceError(problem.format(path=path, error=exc.strerror or exc)) from exc
        if stat.S_ISDIR(info.st_mode):
            raise ServiceError(_("{path}: is a directory, not a file").format(path=path))
        if not stat.S_ISREG(info.st_mode):
            raise ServiceError(_("{path}: not a regular file").format(path=path))
        if info.st_size > limit:
            raise ServiceError(f"{path}: {_size(info.st_size, limit)}")
        if info.st_size == 0:
            raise ServiceError(_("{path}: the file is empty").format(path=path))
        content_type = content_type_of(path.name)
        name = safe_filename(path.name, content_type, index)
        files.append(OutgoingFile(path, name, content_type, info.st_size, limit))
    return files


def _size(size: int, limit: int) -> str:
    """The size said against the limit ("80 MB is over the 50 MB limit"), precise enough
    to tell the two apart."""
    mb = 1024 * 1024

    def shown(n: int, digits: int) -> str:
        said = f"{n / mb:.{digits}f}"
        return _("{amount} MB").format(amount=said.rstrip("0").rstrip(".") if "." in said else said)

    digits = 0
    while digits < 3 and shown(size, digits) == shown(limit, digits):
        digits += 1
    if shown(size, digits) != shown(limit, digits):
        said = shown(size, digits)
    else:
        said = ngettext("{count} byte", "{count} bytes", size).format(count=f"{size:,}")
    return _("{size} is over the {limit} limit").format(size=said, limit=shown(limit, 1))


def _thread_refs(parent: Message | None) -> str | None:
    """What a reply to ``parent`` names as its thread: the parent's own references, then
    the parent (an email's References header, so every client threads it)."""
    if parent is None or not parent.external_id:
        return None
    refs = [*(parent.refs or "").split(), parent.external_id]
    return " ".join(dict.fromkeys(refs[-20:]))


def _reply_subject(subject: str) -> str:
    if not subject:
        return ""
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def add_note(engine: Engine, customer_id: int, body: str, *, agent: str) -> int:
    """An internal note: stored in the history, never sent to the customer."""
    if not body.strip():
        raise ServiceError(_("the note is empty"))
    with db.write(engine) as session:
        customer = _customer(session, customer_id)
        conv = _newest_conversation(session, customer_id)
        assert conv.id is not None
        message = Message(
            conversation_id=conv.id,
            customer_id=customer_id,
            direction="note",
            channel="",
            author=agent,
            body=body,
        )
        session.add(message)
        session.flush()
        assert message.id is not None
        db.index_message(session, message.id, "", body)
        customer.version += 1
        return message.id


# ---------------------------------------------------------------------------
# Phone calls: an agent (or a phone system's hook) logs a call; it is a message of the
# phone channel (kind "call", the notes as its text) with its phonecall row.


def customer_for_number(engine: Engine, number: str) -> int | None:
    """The customer whose phone identity is ``number`` (any way written); None when none."""
    try:
        address = calls.normalize_number(number)
    except calls.CallError as exc:
        raise ServiceError(str(exc)) from None
    with db.read(engine) as session:
        return session.exec(
            select(Identity.customer_id).where(
                Identity.channel == calls.CHANNEL, Identity.address == address
            )
        ).first()


def log_call(
    engine: Engine,
    customer_id: int | None,
    *,
    direction: str,
    duration_seconds: int,
    outcome: str,
    notes: str,
    agent: str,
    at: datetime | None = None,
    number: str | None = None,
    external_id: str | None = None,
) -> int:
    """Log a phone call in the customer's history; returns its message id.

    ``at`` is when the call started (default now). With ``number`` the customer's phone
    identity is found or added; without ``customer_id`` the customer is the number's owner,
    or a new customer named after the number. With ``external_id`` (the phone system's
    call id) logging the same call again stores nothing and returns the first one's id.

    The call joins the customer's conversation still going (an inbound call wakes a
    pending or snoozed one, as a customer's message does); with none going it opens a new
    one of the phone channel: open for an inbound call, resolved for an outbound one (the
    agent's own call waits for nothing, as an outgoing message seen by ingest). An inbound
    call is the customer's contact (first inbound), an outbound one the team's response
    (first response, unread cleared); an inbound call nobody answered leaves the customer
    unread, so someone calls back.
    """
    try:
        direction = calls.check_direction(direction)
        outcome = calls.check_outcome(outcome)
        calls.check_duration(duration_seconds)
        address = calls.normalize_number(number) if number is not None else None
    except calls.CallError as exc:
        raise ServiceError(str(exc)) from None
    if customer_id is None and address is None:
        raise ServiceError(_("say which customer: a customer id or a phone number"))
    if at is not None and at.tzinfo is None:
        raise ServiceError("a call's time must be timezone-aware")
    when = (at or utcnow()).astimezone(UTC)
    call_id = external_id.strip() if external_id is not None else ""
    with db.write(engine) as session:
        if call_id:
            done = session.exec(
                select(Message.id).where(
                    Message.account == calls.ACCOUNT, Message.external_id == call_id
                )
            ).first()
            if done is not None:
                return done
        identity = None
        if address is not None:
            identity, customer_id = _phone_identity(session, customer_id, address, when)
        assert customer_id is not None
        customer = _customer(session, customer_id)
        conv = _call_conversation(session, customer_id, direction, when)
        assert conv.id is not None
        message = Message(
            conversation_id=conv.id,
            customer_id=customer_id,
            direction=direction,
            channel=calls.CHANNEL,
            account=calls.ACCOUNT,
            external_id=call_id or None,
            identity_id=identity.id if identity is not None else None,
            author=agent,
            body=notes,
            sent_at=when,
            kind=calls.KIND,
        )
        session.add(message)
        session.flush()
        assert message.id is not None
        session.add(
            PhoneCall(message_id=message.id, duration_seconds=duration_seconds, outcome=outcome)
        )
        db.index_message(session, message.id, "", notes)
        if direction == "in" and conv.first_inbound_at is None:
            conv.first_inbound_at = when
        if direction == "out" and conv.first_response_at is None:
            conv.first_response_at = when
        conv.last_message_at = max(conv.last_message_at, when)
        session.add(conv)
        if direction == "out":
            customer.unread_count = 0
        elif outcome in calls.UNANSWERED:
            customer.unread_count += 1
        summary = f"{direction} {duration_seconds}s {outcome}"
        _record_agent(session, agent)
        session.add(
            Event(
                agent=agent or SYSTEM,
                kind="call",
                customer_id=customer_id,
                conversation_id=conv.id,
                after=summary,
                message_id=message.id,
            )
        )
        preview = notes if notes.strip() else f"call {direction}, {outcome}"
        _touch(session, customer, when, preview)
        return message.id


def _phone_identity(
    session: Session, customer_id: int | None, address: str, at: datetime
) -> tuple[Identity, int]:
    """The phone identity of ``address`` and its customer: the one of ``customer_id``
    (added to them when new, refused when it is someone else's), else its owner, else a
    new customer named after the number."""
    identity = session.exec(
        select(Identity).where(Identity.channel == calls.CHANNEL, Identity.address == address)
    ).first()
    if identity is not None:
        if customer_id is not None and identity.customer_id != customer_id:
            problem = _("{channel} {address} belongs to customer {customer}")
            raise ServiceError(
                problem.format(
                    channel=calls.CHANNEL, address=address, customer=identity.customer_id
                )
            )
        return identity, identity.customer_id
    if customer_id is None:
        customer = Customer(name=address, created_at=at, last_activity_at=at)
        session.add(customer)
        session.flush()
        assert customer.id is not None
        customer_id = customer.id
    else:
        _customer(session, customer_id)
    identity = Identity(
        customer_id=customer_id, channel=calls.CHANNEL, address=address, account=calls.ACCOUNT
    )
    session.add(identity)
    session.flush()
    db.index_customer(session, customer_id)
    return identity, customer_id


def _call_conversation(
    session: Session, customer_id: int, direction: str, at: datetime
) -> Conversation:
    """The conversation a call joins (see ``log_call``)."""
    current = _current_conversation(session, customer_id)
    conv = session.get(Conversation, current) if current is not None else None
    if conv is not None and conv.status in ACTIVE:
        if direction == "in" and conv.status != "open":
            _change_status(session, conv, "open", agent="", why="customer called")
        return conv
    inbound = direction == "in"
    conv = Conversation(
        customer_id=customer_id,
        channel=calls.CHANNEL,
        status="open" if inbound else "resolved",
        opened_at=at,
        last_message_at=at,
        resolved_at=None if inbound else at,
    )
    session.add(conv)
    session.flush()
    return conv


def set_status(
    engine: Engine,
    customer_id: int,
    status: str,
    *,
    agent: str,
    surveys: SurveyPolicy | None = None,
) -> int:
    """Change the status of the customer's newest conversation; returns its id. Resolving
    it queues its satisfaction survey where ``surveys`` says (``queue_survey``)."""
    if status not in STATUSES:
        raise ServiceError(_("unknown status {status}").format(status=repr(status)))
    with db.write(engine) as session:
        customer = _customer(session, customer_id)
        conv = _newest_conversation(session, customer_id, create=False)
        if conv is None:
            problem = _("customer {customer} has no conversation")
            raise ServiceError(problem.format(customer=customer_id))
        assert conv.id is not None
        if conv.status != status:
            _change_status(session, conv, status, agent=agent)
            if status == "resolved":
                _queue_survey(session, conv, surveys)
            _touch(session, customer, customer.last_activity_at, customer.preview)
        return conv.id


def _change_status(
    session: Session, conv: Conversation, status: str, *, agent: str, why: str = ""
) -> None:
    before = conv.status
    conv.status = status
    now = utcnow()
    if status == "resolved":
        conv.resolved_at = now
    elif before == "resolved":
        conv.resolved_at = None
    if status != "snoozed":
        conv.snoozed_until = None
    session.add(conv)
    session.add(
        Event(
            agent=agent or "system",
            kind="status",
            customer_id=conv.customer_id,
            conversation_id=conv.id,
            before=before,
            after=status if not why else f"{status} ({why})",
        )
    )
    session.flush()


def _queue_survey(session: Session, conv: Conversation, surveys: SurveyPolicy | None) -> int | None:
    """Queue the satisfaction survey of a conversation an agent has just resolved: once a
    conversation (``csat_requested_at``), to the address and account of the customer's last
    message in it, when ``surveys`` has that channel account ask. An outgoing message of kind
    "survey" by "system", sent by the outbox as a reply is, but no reply of an agent's: it
    leaves ``first_response_at``, the unread count and the customer's place in the list alone.
    Chats get rating buttons. Returns the message's id, None when no survey is due."""
    if surveys is None or not surveys.accounts or conv.csat_requested_at is not None:
        return None
    last_in = session.exec(
        select(Message)
        .where(Message.conversation_id == conv.id, Message.direction == "in")
        .where(col(Message.identity_id).is_not(None))
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
    ).first()
    if last_in is None or last_in.identity_id is None:
        return None
    identity = session.get(Identity, last_in.identity_id)
    account = last_in.account or (identity.account if identity is not None else "")
    if (
        identity is None
        or identity.customer_id != conv.customer_id
        or identity.blocked_at is not None
        or identity.unreachable_reason is not None
        or not surveys.surveys(identity.channel, account)
    ):
        return None
    assert conv.id is not None
    bodies = session.connection().execute(
        text(
            "SELECT substr(body, 1, 2000) FROM message WHERE customer_id = :customer "
            "AND direction = 'in' AND kind = '' ORDER BY sent_at DESC, id DESC LIMIT 20"
        ),
        {"customer": conv.customer_id},
    )
    language = detect_many(split_quoted(str(b[0] or ""))[0] for b in bodies)
    channel = identity.channel
    body = surveys.text(language, channel)
    subject = ""
    if channel == "email":
        subject = _reply_subject(last_in.subject) or SUBJECTS.get(language or "", SUBJECTS["en"])
    offered = [Button(label, data) for label, data in rating_buttons(conv.id)]
    now = utcnow()
    message = Message(
        conversation_id=conv.id,
        customer_id=conv.customer_id,
        direction="out",
        channel=channel,
        account=account,
        identity_id=identity.id,
        author=SYSTEM,
        subject=subject,
        body=body,
        sent_at=now,
        thread_ref=last_in.external_id,
        refs=_thread_refs(last_in),
        delivery="queued",
        idempotency_key=new_idempotency_key(),
        next_attempt_at=now,
        kind="survey",
        buttons=buttons_json(offered) if channel in BUTTON_CHANNELS else None,
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    db.index_message(session, message.id, subject, body)
    conv.csat_requested_at = now
    session.add(conv)
    return message.id


def mark_read(engine: Engine, customer_id: int) -> None:
    """The agent has seen the customer's history: clear the unread count."""
    with db.write(engine) as session:
        session.connection().execute(
            text(
                "UPDATE customer SET unread_count = 0, version = version + 1 "
                "WHERE id = :id AND unread_count > 0"
            ),
            {"id": customer_id},
        )


def retry_reply(engine: Engine, message_id: int, *, agent: str) -> None:
    """An agent sends a failed or unconfirmed reply again."""
    with db.write(engine) as session:
        message = session.get(Message, message_id)
        if message is None or message.direction != "out":
            raise ServiceError(_("no reply {message}").format(message=message_id))
        if message.delivery not in ("failed", "unconfirmed"):
            # TRANSLATORS: {delivery} is the delivery state as stored (queued, sending, sent).
            problem = _("reply {message} is {delivery}, not failed")
            raise ServiceError(problem.format(message=message_id, delivery=message.delivery))
        session.add(
            Event(
                agent=agent,
                kind="retry",
                customer_id=message.customer_id,
                conversation_id=message.conversation_id,
                before=message.delivery,
                after="queued",
            )
        )
        message.delivery = "queued"
        message.next_attempt_at = utcnow()
        message.last_error = None
        _bump(session, message.customer_id)


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise ServiceError(_("no customer {customer}").format(customer=customer_id))
    if customer.merged_into_id is not None:
        problem = _("customer {customer} was merged into {target}")
        raise ServiceError(problem.format(customer=customer_id, target=customer.merged_into_id))
    return customer


def _reply_identity(session: Session, customer_id: int, identity_id: int | None) -> Identity:
    if identity_id is not None:
        identity = session.get(Identity, identity_id)
        if identity is None or identity.customer_id != customer_id:
            problem = _("identity {identity} is not customer {customer}'s")
            raise ServiceError(problem.format(identity=identity_id, customer=customer_id))
        return identity
    last_in = session.exec(
        select(Message.identity_id)
        .where(Message.customer_id == customer_id, Message.direction == "in")
        .where(Message.channel != calls.CHANNEL)  # a logged call: no address to reply to
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
    ).first()
    if last_in is not None:
        identity = session.get(Identity, last_in)
        if identity is not None and identity.customer_id == customer_id:  # not unlinked since
            return identity
    identity = session.exec(
        select(Identity).where(Identity.customer_id == customer_id).order_by(col(Identity.id))
    ).first()
    if identity is None:
        problem = _("customer {customer} has no address to reply to")
        raise ServiceError(problem.format(customer=customer_id))
    return identity


@overload
def _newest_conversation(session: Session, customer_id: int) -> Conversation: ...
@overload
def _newest_conversation(
    session: Session, customer_id: int, *, create: bool
) -> Conversation | None: ...
def _newest_conversation(
    session: Session, customer_id: int, *, create: bool = True
) -> Conversation | None:
    """The conversation a reply, note or status change belongs to (made for a reply or
    note when the customer has none)."""
    conv = session.exec(
        select(Conversation)
        .where(Conversation.customer_id == customer_id)
        .order_by(col(Conversation.id).desc())
    ).first()
    if conv is None and create:
        conv = Conversation(customer_id=customer_id)
        session.add(conv)
        session.flush()
    return conv


# ---------------------------------------------------------------------------
# Outbox (called by the runner)


def claim_outbox(
    engine: Engine, holder: str, generation: int, limit: int = 20
) -> list[OutboundMessage]:
    """Claim due replies for sending, only while ``generation`` still holds the lease.

    The lease check is in the same statement (a fencing token): a runner that was
    paused and lost its lease claims nothing, so it cannot send.
    """
    now = db.stamp(utcnow())
    # PostgreSQL: rows another transaction has locked are left to it, not waited for
    # (SQLite locks the whole store instead; BEGIN IMMEDIATE already serializes writers).
    skip_locked = " FOR UPDATE SKIP LOCKED" if db.is_postgresql_engine(engine) else ""
    with db.write(engine) as session:
        rows = (
            session.connection()
            .execute(
                text(
                    "UPDATE message SET delivery = 'sending', attempts = attempts + 1, "
                    "claimed_generation = :gen "
                    f"WHERE id IN (SELECT id FROM message WHERE {db.UNDELIVERED} "
                    "  AND delivery = 'queued' "
                    "  AND (next_attempt_at IS NULL OR next_attempt_at <= :now) "
                    f"  ORDER BY next_attempt_at NULLS FIRST, id LIMIT :limit{skip_locked}) "
                    "AND EXISTS (SELECT 1 FROM runnerlease WHERE id = 1 AND holder = :holder "
                    "  AND generation = :gen AND expires_at > :now) "
                    "RETURNING id, idempotency_key, account, channel, identity_id, body, subject, "
                    "thread_ref, customer_id, refs, kind, buttons"
                ),
                {"gen": generation, "now": now, "limit": limit, "holder": holder},
            )
            .all()
        )
        files = _outgoing_attachments(session, [r.id for r in rows])
        out = []
        for r in rows:
            identity = session.get(Identity, r.identity_id)
            address = identity.address if identity is not None else ""
            name = identity.display_name if identity is not None else ""
            out.append(
                OutboundMessage(
                    message_id=r.id,
                    idempotency_key=r.idempotency_key,
                    account=r.account,
                    channel=r.channel,
                    address=address,
                    body=r.body,
                    subject=r.subject,
                    thread_ref=r.thread_ref,
                    references=tuple((r.refs or "").split()),
                    display_name=name,
                    attachments=tuple(files.get(r.id, ())),
                    buttons=buttons_of(r.buttons),
                    kind=r.kind,
                )
            )
            _bump(session, r.customer_id)
        return sorted(out, key=lambda m: m.message_id)


def _outgoing_attachments(
    session: Session, message_ids: list[int]
) -> dict[int, list[OutboundFile]]:
    """The files of claimed replies, by reply, in the order they were queued."""
    files: dict[int, list[OutboundFile]] = {}
    for chunk in _chunks(message_ids):
        rows = session.exec(
            select(Attachment)
            .where(col(Attachment.message_id).in_(chunk), col(Attachment.omitted).is_(None))
            .order_by(col(Attachment.id))
        ).all()
        for a in rows:
            files.setdefault(a.message_id, []).append(
                OutboundFile(a.filename, a.content_type, a.sha256, a.size)
            )
    return files


def next_outbox_due(engine: Engine) -> datetime | None:
    """When the earliest queued reply is due (a read: the outbox loop claims only then)."""
    with db.read(engine) as session:
        due = (
            session.connection()
            .execute(
                text(
                    "SELECT min(coalesce(next_attempt_at, :start)) "
                    f"FROM message WHERE {db.UNDELIVERED} AND delivery = 'queued'"
                ),
                {"start": START_OF_TIME},
            )
            .scalar_one()
        )
    return None if due is None else parse_stamp(str(due))


def mark_sent(engine: Engine, message_id: int, external_id: str, raw: bytes | None = None) -> None:
    """Record that the channel took the reply; ``raw`` is what went on the wire."""
    with db.write(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        message.delivery = "sent"
        message.external_id = external_id
        message.last_error = None
        message.next_attempt_at = None
        if raw is not None and session.get(MessageRaw, message_id) is None:
            session.add(MessageRaw(message_id=message_id, data=zlib.compress(raw, 6)))
        _bump(session, message.customer_id)


def mark_failed(
    engine: Engine,
    message_id: int,
    error: str,
    *,
    permanent: bool,
    policy: OutboxConfig,
    rng: random.Random | None = None,
    unreachable: bool = False,
) -> str:
    """Record a failed attempt: back to queued with exponential backoff and jitter,
    or failed for good (permanent error, or attempts used up). Returns the new state.
    ``unreachable``: the address cannot take replies any more (a blocked bot), recorded
    on its identity in the same transaction."""
    rng = rng or random.Random()
    with db.write(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        message.last_error = one_line(error, 300)
        identity = session.get(Identity, message.identity_id) if unreachable else None
        if identity is not None:
            _mark_unreachable(session, identity, message.account, error)
        if permanent or message.attempts >= policy.max_attempts:
            message.delivery = "failed"
            message.next_attempt_at = None
        else:
            delay = min(
                policy.backoff_max_seconds,
                policy.backoff_base_seconds * 2 ** max(0, message.attempts - 1),
            )
            delay *= rng.uniform(0.5, 1.5)
            message.delivery = "queued"
            message.next_attempt_at = utcnow() + timedelta(seconds=delay)
        _bump(session, message.customer_id)
        return message.delivery


def mark_unconfirmed(engine: Engine, message_id: int, reason: str) -> None:
    """A send whose outcome is unknown on a channel without idempotency keys: an agent
    checks whether the customer got it, then resends or leaves it; never resent by itself."""
    with db.write(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        message.delivery = "unconfirmed"
        message.next_attempt_at = None
        message.last_error = one_line(f"{reason}; check whether the customer got it", 300)
        _bump(session, message.customer_id)


def recover_claims(
    engine: Engine, generation: int, idempotent_accounts: Iterable[str]
) -> tuple[int, int]:
    """After taking the lease over: replies a dead runner was sending.

    Where the channel honours idempotency keys they go back to the queue (a retry
    cannot double them); elsewhere they become 'unconfirmed' for an agent to
    check, never silently resent. Returns (requeued, unconfirmed).
    """
    accounts = list(idempotent_accounts)
    with db.write(engine) as session:
        stale = session.exec(
            select(Message).where(
                text(db.UNDELIVERED),
                Message.delivery == "sending",
                col(Message.claimed_generation) < generation,
            )
        ).all()
        requeued = unconfirmed = 0
        for message in stale:
            if message.account in accounts:
                message.delivery = "queued"
                message.next_attempt_at = utcnow()
                requeued += 1
            else:
                message.delivery = "unconfirmed"
                message.last_error = (
                    "the runner stopped while sending: check whether the customer got it, "
                    "then resend or leave it"
                )
                unconfirmed += 1
            _bump(session, message.customer_id)
        return requeued, unconfirmed


def _mark_unreachable(session: Session, identity: Identity, account: str, reason: str) -> None:
    """Replies to this address cannot be delivered any more (the user blocked the bot on
    ``account``): the identity says why (the composer shows it) until the address writes
    again; the audit log records it."""
    why = one_line(f"{reason} ({account})", 300)
    if identity.unreachable_reason != why:
        session.add(
            Event(
                agent="system",
                kind="unreachable",
                customer_id=identity.customer_id,
                before=identity.unreachable_reason,
                after=why,
            )
        )
    identity.unreachable_reason = why
    _bump(session, identity.customer_id)


# ---------------------------------------------------------------------------
# Runner lease and connector states


def acquire_lease(engine: Engine, holder: str, ttl: float) -> int | None:
    """Take or renew the runner lease; the generation (fencing token) or None if held."""
    with db.write(engine) as session:
        now = utcnow()
        lease = session.get(RunnerLease, 1)
        if lease is None:
            lease = RunnerLease(id=1)
            session.add(lease)
        alive = lease.expires_at is not None and lease.expires_at > now
        if lease.holder and lease.holder != holder and alive:
            return None
        if lease.holder != holder or not alive:
            lease.generation += 1
        lease.holder = holder
        lease.heartbeat_at = now
        lease.expires_at = now + timedelta(seconds=ttl)
        return lease.generation


def renew_lease(engine: Engine, holder: str, generation: int, ttl: float) -> bool:
    """Extend the lease; False when another process has taken it (stop at once)."""
    now = utcnow()
    with db.write(engine) as session:
        result = session.connection().execute(
            text(
                "UPDATE runnerlease SET heartbeat_at = :now, expires_at = :exp "
                "WHERE id = 1 AND holder = :holder AND generation = :gen AND expires_at > :now"
            ),
            {
                "now": db.stamp(now),
                "exp": db.stamp(now + timedelta(seconds=ttl)),
                "holder": holder,
                "gen": generation,
            },
        )
        return bool(result.rowcount == 1)


def release_lease(engine: Engine, holder: str) -> None:
    with db.write(engine) as session:
        lease = session.get(RunnerLease, 1)
        if lease is not None and lease.holder == holder:
            lease.holder = ""
            lease.expires_at = utcnow()


def set_connector_state(
    engine: Engine,
    account: str,
    channel: str,
    state: str,
    error: str | None = None,
    detail: str = "",
) -> None:
    with db.write(engine) as session:
        row = session.get(ConnectorState, account)
        if row is None:
            row = ConnectorState(account=account, channel=channel)
            session.add(row)
        row.state = state
        row.error = one_line(error, 300) if error else None
        row.detail = one_line(detail, 120)
        row.updated_at = utcnow()


# ---------------------------------------------------------------------------
# Threading corrections


def move_message(
    engine: Engine, message_id: int, to_conversation: int | None, *, agent: str
) -> int:
    """Move a message to another conversation of its customer, or (``to_conversation``
    None) split it into a new one. Recorded in the audit log; returns the event id,
    which ``undo_move`` takes."""
    with db.write(engine) as session:
        message = session.get(Message, message_id)
        if message is None:
            raise ServiceError(_("no message {message}").format(message=message_id))
        if message.direction == "note" and to_conversation is None:
            raise ServiceError(_("a note cannot start a conversation of its own"))
        source = message.conversation_id
        if to_conversation is None:
            target = Conversation(
                customer_id=message.customer_id,
                opened_at=message.sent_at,
                last_message_at=message.sent_at,
                channel=message.channel,
            )
            session.add(target)
            session.flush()
        else:
            found = session.get(Conversation, to_conversation)
            if found is None or found.customer_id != message.customer_id:
                problem = _("conversation {conversation} is not one of this customer's")
                raise ServiceError(problem.format(conversation=to_conversation))
            if found.id == source:
                problem = _("message {message} is already in conversation {conversation}")
                raise ServiceError(problem.format(message=message_id, conversation=source))
            target = found
        assert target.id is not None
        return _move(
            session, message, target, agent, "split" if to_conversation is None else "move"
        )


def undo_move(engine: Engine, event_id: int, *, agent: str) -> int:
    """Put a moved or split message back where it was; returns the new event's id."""
    with db.write(engine) as session:
        event = session.get(Event, event_id)
        if event is None or event.kind not in ("move", "split") or event.message_id is None:
            raise ServiceError(_("event {event} is not a move").format(event=event_id))
        message = session.get(Message, event.message_id)
        assert message is not None and event.before is not None
        if str(message.conversation_id) != event.after:
            problem = _("message {message} has moved again since; undo that first")
            raise ServiceError(problem.format(message=message.id))
        target = session.get(Conversation, int(event.before))
        assert target is not None
        return _move(session, message, target, agent, "move")


def _move(session: Session, message: Message, target: Conversation, agent: str, kind: str) -> int:
    source = session.get(Conversation, message.conversation_id)
    assert source is not None and target.id is not None and message.id is not None
    message.conversation_id = target.id
    message.thread_reason = f"{kind} by {agent or 'an agent'} from conversation {source.id}"
    session.flush()
    for conv in (source, target):
        _recount(session, conv)
    if (
        source.status in ACTIVE
        and not session.exec(select(Message.id).where(Message.conversation_id == source.id)).first()
    ):
        # Left empty (an undone split): closed, so the customer's next message does
        # not land in a conversation nobody can see.
        source.status = "resolved"
        source.resolved_at = utcnow()
    event = Event(
        agent=agent,
        kind=kind,
        customer_id=message.customer_id,
        conversation_id=target.id,
        before=str(source.id),
        after=str(target.id),
        message_id=message.id,
    )
    session.add(event)
    customer = session.get(Customer, message.customer_id)
    assert customer is not None
    _touch(session, customer, customer.last_activity_at, customer.preview)
    session.flush()
    assert event.id is not None
    return event.id


def _recount(session: Session, conv: Conversation) -> None:
    """A conversation's times from the messages it holds now."""
    row = (
        session.connection()
        .execute(
            text(
                "SELECT min(sent_at), max(sent_at), "
                "min(CASE WHEN direction = 'in' THEN sent_at END), "
                "min(CASE WHEN direction = 'out' THEN sent_at END) "
                "FROM message WHERE conversation_id = :id"
            ),
            {"id": conv.id},
        )
        .one()
    )
    if row[0] is None:
        return  # empty now: keeps its times, shows no messages
    conv.opened_at = parse_stamp(str(row[0]))
    conv.last_message_at = parse_stamp(str(row[1]))
    first_inbound_at = parse_stamp(str(row[2])) if row[2] else None
    if first_inbound_at != conv.first_inbound_at:
        conv.sla_key = None  # its SLA targets count from the first message: again (apply_sla)
    conv.first_inbound_at = first_inbound_at
    conv.first_response_at = parse_stamp(str(row[3])) if row[3] else None


# ---------------------------------------------------------------------------
# Identities


def add_identity(
    engine: Engine,
    customer_id: int,
    channel: str,
    address: str,
    *,
    account: str,
    display_name: str = "",
    agent: str = "",
) -> int:
    """Link another address of a customer (say their Telegram id): messages from it then
    join this customer's history. Refused when the address already belongs to someone.
    With ``agent`` (an agent linked it, not a connector), a "link" event records it."""
    if not address.strip():
        raise ServiceError(_("the address is empty"))
    if channel == calls.CHANNEL:  # one form, so a phone system's hook finds it by number
        try:
            address = calls.normalize_number(address)
        except calls.CallError as exc:
            raise ServiceError(str(exc)) from None
    with db.write(engine) as session:
        customer = _customer(session, customer_id)
        taken = session.exec(
            select(Identity).where(Identity.channel == channel, Identity.address == address)
        ).first()
        if taken is not None:
            if taken.customer_id == customer_id:
                assert taken.id is not None
                return taken.id
            problem = _("{channel} {address} belongs to customer {customer}")
            raise ServiceError(
                problem.format(channel=channel, address=address, customer=taken.customer_id)
            )
        identity = Identity(
            customer_id=customer_id,
            channel=channel,
            address=address,
            display_name=display_name,
            account=account,
        )
        session.add(identity)
        if agent:
            _record_agent(session, agent)
            session.add(
                Event(agent=agent, kind="link", customer_id=customer_id, after=_address(identity))
            )
        session.flush()
        assert identity.id is not None
        db.index_customer(session, customer_id)
        _touch(session, customer, customer.last_activity_at, customer.preview)
        return identity.id


def link_visitor_email(
    engine: Engine,
    account: str,
    visitor_address: str,
    email: str,
    name: str = "",
    *,
    email_account: str = "",
) -> list[int]:
    """A web chat visitor left ``email`` in the chat's form. What happens, recorded as
    events (their ids are returned; none when there was nothing to do):

    - No customer has that email: it becomes an email identity of the visitor's customer
      (account ``email_account``, which sends to it), so a later email from it joins the
      chat's history and a reply can go there.
    - Another customer has it and the visitor's customer is only this visitor: the visitor's
      identity and conversations join that customer ("identity-linked"), so the agent sees
      the chat inside that customer's history.
    - Another customer has it and the visitor's customer has other addresses too: merging two
      customers is an agent's decision, so it is only suggested on both ("link-suggested").

    An address typed into a form is not proof that it is the visitor's: the identity that
    rests on it is marked (``claimed_email``) until that address answers an email in the
    chat's conversation (see ``_BatchIngest.verify_claims``), and the TUI shows it unverified.
    """
    email = "".join(email.split()).lower()
    if not email:
        return []
    with db.write(engine) as session:
        visitor = session.exec(
            select(Identity).where(
                Identity.channel == "webchat",
                Identity.address == visitor_address,
                Identity.account == account,
            )
        ).first()
        if visitor is None:
            return []
        owner = session.exec(
            select(Identity).where(Identity.channel == "email", Identity.address == email)
        ).first()
        if owner is not None and owner.customer_id == visitor.customer_id:
            return []  # theirs already (or the same details saved again)
        said = f"webchat {visitor_address}" + (f" ({one_line(name, 200)})" if name else "")
        if owner is None:
            return [_add_claimed_email(session, visitor, email, name, email_account, said)]
        others = session.exec(
            select(Identity.id).where(
                Identity.customer_id == visitor.customer_id, Identity.id != visitor.id
            )
        ).first()
        if others is None:
            return [_join_claimed_owner(session, visitor, owner, email, said)]
        return _suggest_link(session, visitor, owner, email, said)


UNVERIFIED = "unverified until they answer an email"


def _add_claimed_email(
    session: Session, visitor: Identity, email: str, name: str, email_account: str, said: str
) -> int:
    identity = Identity(
        customer_id=visitor.customer_id,
        channel="email",
        address=email,
        display_name=name,
        account=email_account,
        claimed_email=email,
    )
    visitor.claimed_email = email
    session.add_all([identity, visitor])
    event = Event(
        agent="system",
        kind="identity-linked",
        customer_id=visitor.customer_id,
        before=said,
        after=f"email {email} ({UNVERIFIED})",
    )
    session.add(event)
    session.flush()
    db.index_customer(session, visitor.customer_id)
    customer = session.get(Customer, visitor.customer_id)
    assert customer is not None and event.id is not None
    _touch(session, customer, customer.last_activity_at, customer.preview)
    return event.id


def _join_claimed_owner(
    session: Session, visitor: Identity, owner: Identity, email: str, said: str
) -> int:
    """The visitor's customer (this visitor alone) joins the customer who owns ``email``
    through a recorded merge (``_merge``: identity, conversations, messages and events move;
    the emptied customer is marked merged into the owner), so an agent can take a wrong link
    back with ``unmerge_customers``. The visitor's identity is marked as resting on the
    claim; an unmerge clears that again. The event's ``before`` names the emptied customer."""
    source, target = visitor.customer_id, owner.customer_id
    assert visitor.id is not None
    _merge(session, source, target, SYSTEM, [(visitor.id, "claimed_email", email)])
    event = Event(
        agent=SYSTEM,
        kind="identity-linked",
        customer_id=target,
        before=f"{said}, customer {source}",
        after=f"email {email} ({UNVERIFIED})",
    )
    session.add(event)
    session.flush()
    assert event.id is not None
    return event.id


def _suggest_link(
    session: Session, visitor: Identity, owner: Identity, email: str, said: str
) -> list[int]:
    pairs = ((visitor.customer_id, owner.customer_id), (owner.customer_id, visitor.customer_id))
    events = [
        Event(
            agent="system",
            kind="link-suggested",
            customer_id=customer_id,
            before=said,
            after=f"email {email}: customer {other}",
        )
        for customer_id, other in pairs
    ]
    already = session.exec(
        select(Event).where(
            Event.kind == "link-suggested",
            Event.customer_id == visitor.customer_id,
            Event.after == events[0].after,
        )
    ).first()
    if already is not None:  # the same details saved again
        return []
    for event in events:
        session.add(event)
    session.flush()
    for customer_id, _event in pairs:
        _bump(session, customer_id)
    return [event.id for event in events if event.id is not None]


def queue_email_copy(engine: Engine, reply_id: int, account: str) -> int | None:
    """Queue web chat reply ``reply_id`` again by email from ``account``: the visitor was not
    on the page to see it. It goes to the email address the visitor left (else the one the
    customer last wrote from), quoting the visitor's last chat message, in the same
    conversation, so an answer to it threads there (and proves the address; see
    ``_BatchIngest.verify_claims``). The reply's files go with it (the same bytes in the
    attachment store), so a reply that was files alone is no empty email. Its idempotency key
    is derived from the reply's, so a copy is queued once however often this is called.
    Returns the copy's id; None when the customer has no email address or the copy is queued
    already."""
    with db.write(engine) as session:
        reply = session.get(Message, reply_id)
        if reply is None or reply.direction != "out" or reply.idempotency_key is None:
            raise ServiceError(_("message {message} is not a reply").format(message=reply_id))
        digest = hashlib.sha256(f"email-copy:{reply.idempotency_key}".encode()).hexdigest()
        key = f"{digest[:32]}@{KEY_DOMAIN}"
        if session.exec(select(Message.id).where(Message.idempotency_key == key)).first():
            return None
        chat = session.get(Identity, reply.identity_id) if reply.identity_id else None
        target = _email_of(session, reply.customer_id, chat.claimed_email if chat else None)
        if target is None:
            return None
        asked = _unanswered(session, reply)
        body = reply.body
        subject = ""
        if asked:
            quoted = "\n".join(f"> {line}" for m in asked for line in m.body.splitlines())
            body = f"{reply.body}\n\n{quoted}"
            subject = f"Re: {one_line(asked[0].body, 70)}"
        now = utcnow()
        copy = Message(
            conversation_id=reply.conversation_id,
            customer_id=reply.customer_id,
            direction="out",
            channel="email",
            account=account or target.account,
            identity_id=target.id,
            author=reply.author,
            subject=subject,
            body=body,
            sent_at=now,
            thread_reason=f"web chat reply {reply.id} by email: the visitor was not on the page",
            delivery="queued",
            idempotency_key=key,
            next_attempt_at=now,
        )
        session.add(copy)
        session.flush()
        assert copy.id is not None
        for file in session.exec(
            select(Attachment)
            .where(Attachment.message_id == reply.id, col(Attachment.omitted).is_(None))
            .order_by(col(Attachment.id))
        ).all():
            session.add(
                Attachment(
                    message_id=copy.id,
                    filename=file.filename,
                    content_type=file.content_type,
                    size=file.size,
                    sha256=file.sha256,
                )
            )
        db.index_message(session, copy.id, subject, body)
        _bump(session, reply.customer_id)
        return copy.id


def _unanswered(session: Session, reply: Message, limit: int = 10) -> list[Message]:
    """The visitor's chat messages that ``reply`` answers (since the reply before it), oldest
    first, without the contact-details messages; at most the last ``limit``."""
    before = session.exec(
        select(func.max(Message.sent_at)).where(
            Message.conversation_id == reply.conversation_id,
            Message.direction == "out",
            Message.sent_at < reply.sent_at,
        )
    ).one()
    query = select(Message).where(
        Message.conversation_id == reply.conversation_id,
        Message.direction == "in",
        Message.channel == "webchat",
        Message.sent_at <= reply.sent_at,
        ~col(Message.external_id).contains(CONTACT_DETAILS),
    )
    if before is not None:
        query = query.where(Message.sent_at > before)
    newest = session.exec(
        query.order_by(col(Message.sent_at).desc(), col(Message.id).desc()).limit(limit)
    ).all()
    return list(reversed(newest))


def _email_of(session: Session, customer_id: int, left: str | None) -> Identity | None:
    """The email identity a copy goes to: the address left in the chat, else the one the
    customer last wrote from, else the first."""
    emails = session.exec(
        select(Identity)
        .where(Identity.customer_id == customer_id, Identity.channel == "email")
        .order_by(col(Identity.id))
    ).all()
    for identity in emails:
        if identity.address == left:
            return identity
    last = session.exec(
        select(Message.identity_id)
        .where(
            Message.customer_id == customer_id,
            Message.direction == "in",
            Message.channel == "email",
        )
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
    ).first()
    for identity in emails:
        if identity.id == last:
            return identity
    return emails[0] if emails else None


# ---------------------------------------------------------------------------
# Typing (the web chat shows each side the other typing)


def set_visitor_typing(
    engine: Engine, account: str, address: str, at: datetime | None = None
) -> bool:
    """Record that a web chat visitor was seen typing (at ``at``, default now), for the TUI's
    "typing…" line. One UPDATE of the identity: the customer's ``version`` is not bumped, so
    no timeline reloads for it. False when the visitor has no identity yet (nothing stored)."""
    with db.write(engine) as session:
        result = session.connection().execute(
            text(
                "UPDATE identity SET typing_at = :at "
                "WHERE channel = 'webchat' AND account = :account AND address = :address"
            ),
            {"at": db.stamp(at or utcnow()), "account": account, "address": address},
        )
        return bool(result.rowcount)


def set_presence(engine: Engine, agent: str, customer_id: int, typing: bool) -> None:
    """Record that ``agent`` is typing a reply to ``customer_id`` (the web chat tells the
    visitor), or no longer is. Typing is work, so it moves ``heartbeat_at`` (the away notice
    counts it); stopping does not, and only stops typing to that customer, so a stop written
    after the agent moved on to someone else undoes nothing."""
    with db.write(engine) as session:
        if typing:
            session.connection().execute(
                text(
                    "INSERT INTO presence (agent, customer_id, typing, heartbeat_at) "
                    "VALUES (:agent, :customer, TRUE, :now) ON CONFLICT (agent) DO UPDATE SET "
                    "customer_id = excluded.customer_id, typing = TRUE, "
                    "heartbeat_at = excluded.heartbeat_at"
                ),
                {"agent": agent, "customer": customer_id, "now": db.stamp(utcnow())},
            )
        else:
            session.connection().execute(
                text(
                    "UPDATE presence SET typing = FALSE "
                    "WHERE agent = :agent AND customer_id = :customer AND typing"
                ),
                {"agent": agent, "customer": customer_id},
            )


# ---------------------------------------------------------------------------
# Presence and drafts (every running TUI keeps a presence row; see docs/architecture.md)

DRAFT_MODES = ("reply", "note")


def presence_heartbeat(engine: Engine, agent: str, customer_id: int | None) -> None:
    """The agent's TUI is running and has ``customer_id`` open (None: no customer): moves
    ``seen_at``, the online heartbeat, never ``heartbeat_at``, the last sign of work (a TUI
    left open overnight is no agent at work for the web chat's away notice; a new row's is
    the start of time). Opening another customer ends typing to the one before, so a late
    "stopped typing" for it (which names that customer) has nothing left to undo."""
    with db.write(engine) as session:
        session.connection().execute(
            text(
                "INSERT INTO presence (agent, customer_id, typing, heartbeat_at, seen_at) "
                "VALUES (:agent, :customer, FALSE, :never, :now) ON CONFLICT (agent) DO UPDATE SET "
                "seen_at = excluded.seen_at, customer_id = excluded.customer_id, "
                "typing = CASE WHEN presence.customer_id IS NOT DISTINCT FROM excluded.customer_id "
                "THEN presence.typing ELSE FALSE END"
            ),
            {
                "agent": agent,
                "customer": customer_id,
                "never": START_OF_TIME,
                "now": db.stamp(utcnow()),
            },
        )


def leave_presence(engine: Engine, agent: str) -> None:
    """The agent's TUI quit cleanly: no longer online, viewing or typing (the row stays, with
    its last sign of work)."""
    with db.write(engine) as session:
        session.connection().execute(
            text(
                "UPDATE presence SET seen_at = NULL, customer_id = NULL, typing = FALSE "
                "WHERE agent = :agent"
            ),
            {"agent": agent},
        )


def save_draft(
    engine: Engine,
    agent: str,
    customer_id: int,
    body: str,
    *,
    mode: str = "reply",
    identity_id: int | None = None,
    started_at: datetime,
) -> None:
    """Keep what ``agent`` is writing to the customer, so it survives a crash or a dropped SSH
    connection and tells the others a reply is being written. One row per agent and customer
    (the composer writes to the customer's newest conversation); the newest save wins,
    ``started_at`` included (when the agent began it, or last read what others sent since).
    An empty body deletes the draft."""
    if mode not in DRAFT_MODES:
        raise ServiceError(_("unknown draft mode {mode}").format(mode=repr(mode)))
    if not body.strip():
        delete_draft(engine, agent, customer_id)
        return
    with db.write(engine) as session:
        session.connection().execute(
            text(
                "INSERT INTO draft (agent, customer_id, mode, identity_id, body, started_at, "
                "updated_at) VALUES (:agent, :customer, :mode, :identity, :body, :started, :now) "
                "ON CONFLICT (agent, customer_id) DO UPDATE SET mode = excluded.mode, "
                "identity_id = excluded.identity_id, body = excluded.body, "
                "started_at = excluded.started_at, updated_at = excluded.updated_at"
            ),
            {
                "agent": agent,
                "customer": customer_id,
                "mode": mode,
                "identity": identity_id,
                "body": body,
                "started": db.stamp(started_at),
                "now": db.stamp(utcnow()),
            },
        )


def delete_draft(engine: Engine, agent: str, customer_id: int) -> None:
    """The agent's draft for the customer was sent (or emptied): forget it."""
    with db.write(engine) as session:
        session.connection().execute(
            text("DELETE FROM draft WHERE agent = :agent AND customer_id = :customer"),
            {"agent": agent, "customer": customer_id},
        )


# ---------------------------------------------------------------------------
# Team workflow: assignment, status, snooze and wake-up, tags, blocking, spam.
#
# Each service acts on one conversation (``current_conversation`` finds the one the TUI
# means), is one transaction, records the acting agent (``agent`` rows: the assign
# picker lists them) and writes an Event with who, what, before and after, then bumps
# the customer's version so every TUI reloads. Doing what is already so writes nothing.

AGENT_STATUSES = ("open", "pending", "resolved")
"""The statuses an agent sets directly; "snoozed" comes with a time (``snooze``)."""
MAX_TAG = 40
SPAM_TAG = "spam"
WAKE_BATCH = 500
"""Snoozed conversations woken in one transaction at most (the rest on the next call)."""
SYSTEM = "system"
"""The agent name of what no agent did (a snooze running out)."""


def current_conversation(engine: Engine, customer_id: int) -> int | None:
    """The conversation team actions on a customer apply to: their newest active one
    (open, pending, snoozed), else their newest; None when they have none."""
    with db.read(engine) as session:
        return _current_conversation(session, customer_id)


def _current_conversation(session: Session, customer_id: int) -> int | None:
    rows = session.exec(
        select(Conversation.id, Conversation.status)
        .where(Conversation.customer_id == customer_id)
        .order_by(col(Conversation.id).desc())
    )
    newest = None
    for conversation_id, status in rows:
        if status in ACTIVE:
            return conversation_id
        newest = conversation_id if newest is None else newest
    return newest


def assign(engine: Engine, conversation_id: int, assignee: str | None, *, agent: str) -> bool:
    """Give the conversation to ``assignee`` (None: to nobody). The assignee must be an
    agent the store knows (one who acted, or whose TUI ran) or the acting agent. Returns
    whether anything changed."""
    assignee = assignee.strip() if assignee is not None else None
    if assignee == "":
        raise ServiceError(_("say whom to assign to"))
    with db.write(engine) as session:
        conv = _workflow_conversation(session, conversation_id)
        _record_agent(session, agent)
        if assignee is not None and assignee != agent and not _known_agent(session, assignee):
            raise ServiceError(_no_agent(session, assignee))
        return _assign_to(session, conv, assignee, agent)


def _assign_to(session: Session, conv: Conversation, assignee: str | None, agent: str) -> bool:
    if conv.assignee == assignee:
        return False
    _audit(session, conv, "assign", agent, conv.assignee, assignee)
    conv.assignee = assignee
    session.add(conv)
    _bump(session, conv.customer_id)
    return True


def set_conversation_status(
    engine: Engine,
    conversation_id: int,
    status: str,
    *,
    agent: str,
    surveys: SurveyPolicy | None = None,
) -> bool:
    """Open, pend or resolve the conversation (a "status" event); whether it changed.
    Resolving it queues its satisfaction survey where ``surveys`` says."""
    if status not in AGENT_STATUSES:
        problem = _("status {status} is not one of {statuses}")
        raise ServiceError(problem.format(status=repr(status), statuses=", ".join(AGENT_STATUSES)))
    with db.write(engine) as session:
        conv = _workflow_conversation(session, conversation_id)
        _record_agent(session, agent)
        if conv.status == status:
            return False
        _change_status(session, conv, status, agent=agent)
        if status == "resolved":
            _queue_survey(session, conv, surveys)
        _touch_counts(session, conv.customer_id)
        return True


def snooze(
    engine: Engine,
    conversation_id: int,
    until: datetime,
    *,
    agent: str,
    now: datetime | None = None,
) -> None:
    """Put the conversation away until ``until`` (aware; after ``now``, default the real
    time): status snoozed, a "snooze" event (before: the status, or the time it was
    snoozed until; after: the new time). ``wake_snoozed`` opens it again then, and so
    does the customer writing before that (ingest's rule for any status but open)."""
    if until.tzinfo is None:
        raise ServiceError(_("a snooze time needs a time zone"))
    if until <= (now or utcnow()):
        raise ServiceError(_("that time is in the past: snooze until a later one"))
    with db.write(engine) as session:
        conv = _workflow_conversation(session, conversation_id)
        _record_agent(session, agent)
        if conv.status == "snoozed" and conv.snoozed_until is not None:
            before = _iso(conv.snoozed_until)
        else:
            before = conv.status
        _audit(session, conv, "snooze", agent, before, _iso(until))
        if conv.status == "resolved":
            conv.resolved_at = None
        conv.status = "snoozed"
        conv.snoozed_until = until
        session.add(conv)
        _touch_counts(session, conv.customer_id)


def wake_snoozed(engine: Engine, now: datetime | None = None) -> list[int]:
    """Open again every snoozed conversation whose time has come (the runner calls this
    every 30 s): a "wake" event by "system" each. Returns their ids; idempotent (a woken
    conversation is open, so a second call finds nothing). Nothing due, nothing written:
    one indexed read, no write lock, no commit for the TUIs to notice."""
    now = now or utcnow()
    with db.read(engine) as session:
        if session.exec(_due_snoozes(now).limit(1)).first() is None:
            return []
    woken: list[int] = []
    with db.write(engine) as session:
        for conv in session.exec(_due_snoozes(now).limit(WAKE_BATCH)).all():
            assert conv.id is not None and conv.snoozed_until is not None
            _audit(session, conv, "wake", SYSTEM, _iso(conv.snoozed_until), "open")
            due = conv.snoozed_until
            conv.status = "open"
            conv.snoozed_until = None
            session.add(conv)
            # Back in front of the agents: up the list as if the customer had just written.
            customer = session.get(Customer, conv.customer_id)
            assert customer is not None
            _touch(session, customer, max(due, customer.last_activity_at), customer.preview)
            woken.append(conv.id)
    return woken


def _due_snoozes(now: datetime) -> Any:
    return (
        select(Conversation)
        .where(Conversation.status == "snoozed", col(Conversation.snoozed_until) <= now)
        .order_by(col(Conversation.snoozed_until), col(Conversation.id))
    )


# ---------------------------------------------------------------------------
# SLA targets


SLA_BATCH = 1000
"""Conversations ``apply_sla`` gives targets in one transaction at most (the rest next call)."""
_SLA_STALE = (
    sa.select(col(Conversation.id))
    .where(
        col(Conversation.status).in_(ACTIVE),
        sa.or_(
            col(Conversation.sla_key).is_(None),
            col(Conversation.sla_key) != sa.bindparam("key"),
            # given none while it had no customer message: the first one has come since
            sa.and_(
                col(Conversation.sla_policy).is_(None),
                col(Conversation.first_inbound_at).is_not(None),
            ),
        ),
    )
    .order_by(col(Conversation.id))
)
_FIRST_CHANNEL = (
    sa.select(col(Message.channel))
    .where(col(Message.conversation_id) == col(Conversation.id), col(Message.channel) != "")
    .order_by(col(Message.id))
    .limit(1)
    .scalar_subquery()
)
_SET_TARGETS = (
    sa.update(Conversation)
    .where(col(Conversation.id) == sa.bindparam("conv"))
    .values(
        sla_policy=sa.bindparam("policy"),
        sla_key=sa.bindparam("key"),
        first_response_due_at=sa.bindparam("first_due"),
        resolution_due_at=sa.bindparam("resolution_due"),
    )
)


def apply_sla(engine: Engine, policies: Policies, *, limit: int = SLA_BATCH) -> int:
    """Give SLA targets to the conversations still going (open, pending, snoozed) that have
    none under the current configuration (``policies.key``): new ones, ones whose tags
    changed (``_retarget``), all of them after the config changed; in one transaction, at
    most ``limit``. A resolved conversation keeps the targets it had (the reports count its
    breaches as they were). Returns how many it looked at (0: nothing stale, nothing
    written: one read of the going conversations through the status index).

    The first policy matching the conversation's channel (that of its first message) and
    tags applies; its targets count from the customer's first message. Without one the
    conversation gets policy "" and no targets; without a customer message yet, none
    until one comes (``sla_policy`` stays None)."""
    key = policies.key
    with db.read(engine) as session:
        stale = session.connection().execute(_SLA_STALE.limit(1), {"key": key}).first()
        if stale is None:
            return 0
    with db.write(engine) as session:
        conn = session.connection()
        found = conn.execute(_SLA_STALE.limit(limit), {"key": key}).scalars()
        ids = [int(cid) for cid in found if cid is not None]
        if not ids:
            return 0
        tags: dict[int, set[str]] = {}
        rows: list[Any] = []
        for chunk in _chunks(ids):
            rows += conn.execute(
                sa.select(
                    col(Conversation.id),
                    sa.func.coalesce(sa.func.nullif(col(Conversation.channel), ""), _FIRST_CHANNEL),
                    col(Conversation.first_inbound_at),
                ).where(col(Conversation.id).in_(chunk))
            ).all()
            for conversation_id, tag in conn.execute(
                sa.select(
                    col(db.ConversationTag.conversation_id), col(db.ConversationTag.tag)
                ).where(col(db.ConversationTag.conversation_id).in_(chunk))
            ):
                tags.setdefault(int(conversation_id), set()).add(str(tag))
        targets = []
        for conversation_id, channel, first_inbound_at in rows:
            policy_name: str | None = None
            first_due = resolution_due = None
            if first_inbound_at is not None:
                policy = policies.match(str(channel or ""), tags.get(conversation_id, ()))
                policy_name = "" if policy is None else policy.name
                if policy is not None:
                    first_due, resolution_due = policies.targets(policy, _aware(first_inbound_at))
            targets.append(
                {
                    "conv": conversation_id,
                    "policy": policy_name,
                    "key": key,
                    "first_due": first_due,
                    "resolution_due": resolution_due,
                }
            )
        conn.execute(_SET_TARGETS, targets)
        return len(targets)


def tag_name(raw: str) -> str:
    """A tag as stored: trimmed, in lower case, one word of at most ``MAX_TAG`` characters
    (spaces separate tags where agents type several, and a leading "-" removes one)."""
    name = raw.strip().lower().replace("i\u0307", "i")  # "İ".lower() keeps a dot above
    shown = one_line(name, 60)
    if not name:
        raise ServiceError(_("a tag needs a name"))
    if any(c.isspace() for c in name):
        raise ServiceError(_("tag {tag}: no spaces in a tag (use - or _)").format(tag=repr(shown)))
    if name.startswith("-") or "," in name or not name.isprintable():
        raise ServiceError(_("tag {tag}: letters, digits and - _ . / only").format(tag=repr(shown)))
    if len(name) > MAX_TAG:
        problem = _("tag {tag}: at most {count} characters")
        raise ServiceError(problem.format(tag=repr(shown), count=MAX_TAG))
    return name


def change_tags(
    engine: Engine,
    conversation_id: int,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    agent: str,
) -> tuple[list[str], list[str]]:
    """Tag and untag the conversation in one transaction (a "tag" event each: before None
    and after the tag when added, the reverse when removed); a tag is made on first use.
    Removing a tag it does not have is refused (a typo would pass unseen). Returns the
    tags (added, removed) that changed anything."""
    adding = list(dict.fromkeys(tag_name(t) for t in add))
    removing = list(dict.fromkeys(tag_name(t) for t in remove))
    with db.write(engine) as session:
        conv = _workflow_conversation(session, conversation_id)
        _record_agent(session, agent)
        added = [t for t in adding if _tag(session, conv, t, agent)]
        removed = []
        for tag in removing:
            if not _untag(session, conv, tag, agent):
                problem = _("conversation #{conversation} has no tag {tag}")
                raise ServiceError(problem.format(conversation=conv.id, tag=repr(tag)))
            removed.append(tag)
        if added or removed:
            _bump(session, conv.customer_id)
        return added, removed


def add_tag(engine: Engine, conversation_id: int, tag: str, *, agent: str) -> bool:
    """Tag the conversation; whether it was not tagged so already."""
    return bool(change_tags(engine, conversation_id, add=[tag], agent=agent)[0])


def remove_tag(engine: Engine, conversation_id: int, tag: str, *, agent: str) -> None:
    """Take a tag off the conversation (refused when it has no such tag)."""
    change_tags(engine, conversation_id, remove=[tag], agent=agent)


def _untag(session: Session, conv: Conversation, tag: str, agent: str) -> bool:
    row = session.get(db.ConversationTag, (conv.id, tag))
    if row is None:
        return False
    session.delete(row)
    _audit(session, conv, "tag", agent, tag, None)
    _retarget(session, conv)
    return True


def _tag(session: Session, conv: Conversation, tag: str, agent: str) -> bool:
    if session.get(db.ConversationTag, (conv.id, tag)) is not None:
        return False
    session.connection().execute(
        text("INSERT INTO tag (name) VALUES (:name) ON CONFLICT (name) DO NOTHING"), {"name": tag}
    )
    assert conv.id is not None
    session.add(db.ConversationTag(conversation_id=conv.id, tag=tag))
    _audit(session, conv, "tag", agent, None, tag)
    _retarget(session, conv)
    session.flush()
    return True


def _retarget(session: Session, conv: Conversation) -> None:
    """Have apply_sla work the conversation's SLA targets out again (its tags changed)."""
    if conv.sla_key is not None:
        conv.sla_key = None
        session.add(conv)


def block_identity(engine: Engine, identity_id: int, *, agent: str) -> bool:
    """Block an address (spam): what it sends is still stored, never lost, but reopens
    nothing and counts as read (ingest's rule). A "block" event; whether it changed."""
    with db.write(engine) as session:
        identity = _identity(session, identity_id)
        _record_agent(session, agent)
        return _block(session, identity, agent)


def unblock_identity(engine: Engine, identity_id: int, *, agent: str) -> bool:
    """Take a block off an address (an "unblock" event); whether it was blocked."""
    with db.write(engine) as session:
        identity = _identity(session, identity_id)
        _record_agent(session, agent)
        if identity.blocked_at is None:
            return False
        session.add(
            Event(
                agent=agent,
                kind="unblock",
                customer_id=identity.customer_id,
                before=_address(identity),
                after=None,
            )
        )
        identity.blocked_at = None
        identity.blocked_by = ""
        session.add(identity)
        _bump(session, identity.customer_id)
        return True


def mark_spam(engine: Engine, conversation_id: int, *, agent: str) -> int:
    """Spam: block the sender of the conversation's newest message from the customer,
    resolve it and tag it "spam", all in one transaction (an event each). Returns the
    blocked identity's id."""
    with db.write(engine) as session:
        conv = _workflow_conversation(session, conversation_id)
        _record_agent(session, agent)
        sender = session.exec(
            select(Message.identity_id)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "in",
                col(Message.identity_id).is_not(None),
            )
            .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
        ).first()
        if sender is None:
            problem = _("conversation #{conversation} has no message to block")
            raise ServiceError(problem.format(conversation=conversation_id))
        identity = _identity(session, sender)
        _block(session, identity, agent)
        if conv.status != "resolved":
            _change_status(session, conv, "resolved", agent=agent, why="spam")
        _tag(session, conv, SPAM_TAG, agent)
        _touch_counts(session, conv.customer_id)
        return sender


def _block(session: Session, identity: Identity, agent: str) -> bool:
    if identity.blocked_at is not None:
        return False
    session.add(
        Event(
            agent=agent,
            kind="block",
            customer_id=identity.customer_id,
            before=None,
            after=_address(identity),
        )
    )
    identity.blocked_at = utcnow()
    identity.blocked_by = agent
    session.add(identity)
    _bump(session, identity.customer_id)
    return True


def _workflow_conversation(session: Session, conversation_id: int) -> Conversation:
    conv = session.get(Conversation, conversation_id)
    if conv is None:
        raise ServiceError(_("no conversation {conversation}").format(conversation=conversation_id))
    return conv


def _identity(session: Session, identity_id: int) -> Identity:
    identity = session.get(Identity, identity_id)
    if identity is None:
        raise ServiceError(_("no identity {identity}").format(identity=identity_id))
    return identity


def _address(identity: Identity) -> str:
    return f"{identity.channel} {one_line(identity.address, 200)}"


def _audit(
    session: Session,
    conv: Conversation,
    kind: str,
    agent: str,
    before: str | None,
    after: str | None,
) -> None:
    session.add(
        Event(
            agent=agent or SYSTEM,
            kind=kind,
            customer_id=conv.customer_id,
            conversation_id=conv.id,
            before=before,
            after=after,
        )
    )


def _iso(at: datetime) -> str:
    """A time in an event's before/after: ISO 8601 in UTC ("2026-11-03T05:00:00+00:00"),
    which the timeline shows in the agent's zone."""
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _touch_counts(session: Session, customer_id: int) -> None:
    """``_touch`` without new activity: open count and version (a status changed)."""
    session.flush()
    customer = session.get(Customer, customer_id)
    assert customer is not None
    _touch(session, customer, customer.last_activity_at, customer.preview)


def _record_agent(session: Session, name: str) -> None:
    """Remember an agent who acted (the assign picker offers them)."""
    if name and name != SYSTEM:
        session.connection().execute(
            text(
                "INSERT INTO agent (name, display_name, created_at) VALUES (:name, '', :now) "
                "ON CONFLICT (name) DO NOTHING"
            ),
            {"name": name, "now": db.stamp(utcnow())},
        )


def _known_agent(session: Session, name: str) -> bool:
    """An agent who acted (an ``agent`` row) or whose TUI ran (a ``presence`` row)."""
    found = session.connection().execute(
        text(
            "SELECT 1 FROM agent WHERE name = :name UNION ALL "
            "SELECT 1 FROM presence WHERE agent = :name LIMIT 1"
        ),
        {"name": name},
    )
    return found.first() is not None


def _agents(session: Session, limit: int = 10) -> str:
    names = session.connection().execute(
        text("SELECT name FROM agent UNION SELECT agent FROM presence ORDER BY 1 LIMIT :limit"),
        {"limit": limit},
    )
    return ", ".join(one_line(str(n), 40) for (n,) in names)


def _no_agent(session: Session, assignee: str) -> str:
    """ "no agent 'x' (agents: aysel, leyla)": the agents the store knows, to pick from."""
    agents = _agents(session)
    shown = repr(one_line(assignee, 60))
    if not agents:
        return _("no agent {name} (agents: none yet)").format(name=shown)
    return _("no agent {name} (agents: {agents})").format(name=shown, agents=agents)


# ---------------------------------------------------------------------------
# Canned replies: a library of replies with a title, a shortcut, tags and a body per
# language (omnitui/canned.py reads their files, fills their variables and ranks them for
# the picker). Each service is one transaction that writes a "canned" event (the agent;
# before and after: ``canned.summary`` lines, None for a reply not there before or after)
# and touches no customer. Doing what is already so writes nothing.


@dataclass(frozen=True, slots=True)
class CannedImported:
    """What an import did: replies added, changed, and already as the files say."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0


def create_canned(engine: Engine, reply: CannedReply, *, agent: str) -> int:
    """Add a canned reply (its shortcut must be free); returns its id."""
    checked = _checked_item(check_reply, reply)
    with db.write(engine) as session:
        _record_agent(session, agent)
        _free_shortcut(session, checked.shortcut, None)
        return _add_canned(session, checked, agent)


def update_canned(engine: Engine, canned_id: int, reply: CannedReply, *, agent: str) -> bool:
    """Make the canned reply ``canned_id`` what ``reply`` says: title, shortcut, tags and
    exactly its variants (a language left out is removed). Whether anything changed."""
    checked = _checked_item(check_reply, reply)
    with db.write(engine) as session:
        row = _canned_row(session, canned_id)
        _record_agent(session, agent)
        return _change_canned(session, row, checked, agent)


def delete_canned(engine: Engine, canned_id: int, *, agent: str) -> None:
    """Delete a canned reply and its variants (the event keeps its summary)."""
    with db.write(engine) as session:
        row = _canned_row(session, canned_id)
        _record_agent(session, agent)
        before = _stored_canned(session, row)
        session.delete(row)  # its variants go with it: ON DELETE CASCADE
        _canned_event(session, agent, summary(before), None)


def import_canned(engine: Engine, replies: Sequence[CannedReply], *, agent: str) -> CannedImported:
    """Add or update replies by shortcut (``canned.read_folder`` read them), all in one
    transaction: a reply whose shortcut is new is added, one whose title, tags or bodies
    differ is made as the file says (its variants exactly those of the files), the rest
    are unchanged. Replies not in ``replies`` are kept. Importing the same files again
    changes nothing."""
    checked = [_checked_item(check_reply, reply) for reply in replies]
    twice = _given_twice(checked, "shortcut")
    if twice is not None:
        problem = _("::{shortcut} given twice").format(shortcut=twice.shortcut)
        raise ServiceError(f"{twice.source or 'import'}: {problem}")
    return CannedImported(
        *_import_by_key(engine, checked, db.Canned, "shortcut", _add_canned, _change_canned, agent)
    )


def _given_twice(items: Sequence[_Item], key: str) -> _Item | None:
    """The first of ``items`` (canned replies, entries) whose ``key`` (shortcut, slug) an
    earlier one has, if any."""
    seen: set[str] = set()
    for item in items:
        value = getattr(item, key)
        if value in seen:
            return item
        seen.add(value)
    return None


def _import_by_key(
    engine: Engine,
    items: Sequence[_Item],
    model: type[_LibraryRow],
    key: str,
    add: Callable[[Session, _Item, str], int],
    change: Callable[[Session, _LibraryRow, _Item, str], bool],
    agent: str,
) -> tuple[int, int, int]:
    """Add the checked ``items`` whose ``key`` no ``model`` row has, ``change`` the rest,
    in one transaction: how many were added, updated and unchanged (import_canned,
    import_kb)."""
    added = updated = unchanged = 0
    with db.write(engine) as session:
        _record_agent(session, agent)
        stored = {getattr(row, key): row for row in session.exec(select(model)).all()}
        for item in items:
            row = stored.get(getattr(item, key))
            if row is None:
                add(session, item, agent)
                added += 1
            elif change(session, row, item, agent):
                updated += 1
            else:
                unchanged += 1
    return added, updated, unchanged


def _checked_item(check: Callable[[_Item], _Item], item: _Item) -> _Item:
    """``check(item)``, its CannedError (a KbError is one) a ServiceError naming the file."""
    try:
        return check(item)
    except CannedError as exc:
        where = f"{item.source}: " if item.source else ""
        raise ServiceError(f"{where}{exc}") from exc


def _library_row(
    session: Session, model: type[_LibraryRow], row_id: int, missing: str
) -> _LibraryRow:
    """The ``model`` row ``row_id``, or a ServiceError saying ``missing``."""
    row = session.get(model, row_id)
    if row is None:
        raise ServiceError(missing)
    return row


def _library_event(
    session: Session, kind: str, agent: str, before: str | None, after: str | None
) -> None:
    """A "canned" or "kb" event: ``before`` and ``after`` are summary lines."""
    session.add(Event(agent=agent or SYSTEM, kind=kind, before=before, after=after))


def _canned_row(session: Session, canned_id: int) -> db.Canned:
    missing = _("no canned reply {canned}").format(canned=canned_id)
    return _library_row(session, db.Canned, canned_id, missing)


def _free_shortcut(session: Session, shortcut: str, owner: int | None) -> None:
    """Refuse a shortcut another reply has (the column is unique: say so in words)."""
    taken = session.exec(select(db.Canned).where(db.Canned.shortcut == shortcut)).first()
    if taken is not None and taken.id != owner:
        problem = _("::{shortcut} is taken by {title}")
        raise ServiceError(problem.format(shortcut=shortcut, title=repr(one_line(taken.title, 80))))


def _add_canned(session: Session, reply: CannedReply, agent: str) -> int:
    row = db.Canned(
        title=reply.title, shortcut=reply.shortcut, tags=" ".join(reply.tags), updated_by=agent
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    _write_variants(session, row.id, reply.variants)
    _canned_event(session, agent, None, summary(reply))
    return row.id


def _change_canned(session: Session, row: db.Canned, reply: CannedReply, agent: str) -> bool:
    before = _stored_canned(session, row)
    if before == reply:
        return False
    assert row.id is not None
    if reply.shortcut != row.shortcut:
        _free_shortcut(session, reply.shortcut, row.id)
    row.title, row.shortcut, row.tags = reply.title, reply.shortcut, " ".join(reply.tags)
    row.updated_at, row.updated_by = utcnow(), agent
    session.add(row)
    _write_variants(session, row.id, reply.variants)
    _canned_event(session, agent, summary(before), summary(reply))
    return True


def _stored_canned(session: Session, row: db.Canned) -> CannedReply:
    """The reply as stored, comparable with a checked one (variants read without the ORM,
    so that rewriting them never meets an object the session holds)."""
    bodies = session.connection().execute(
        text("SELECT language, body FROM cannedvariant WHERE canned_id = :id"), {"id": row.id}
    )
    variants = {str(language): str(body) for language, body in bodies}
    return CannedReply(
        row.title,
        row.shortcut,
        tuple(row.tags.split()),
        {lang: variants[lang] for lang in ordered_languages(variants)},
    )


def _write_variants(session: Session, canned_id: int, variants: Mapping[str, str]) -> None:
    session.flush()
    conn = session.connection()
    conn.execute(text("DELETE FROM cannedvariant WHERE canned_id = :id"), {"id": canned_id})
    for language, body in variants.items():
        conn.execute(
            text(
                "INSERT INTO cannedvariant (canned_id, language, body) "
                "VALUES (:id, :language, :body)"
            ),
            {"id": canned_id, "language": language, "body": body},
        )


def _canned_event(session: Session, agent: str, before: str | None, after: str | None) -> None:
    _library_event(session, "canned", agent, before, after)


# ---------------------------------------------------------------------------
# Customers: name and notes, addresses, merge and unmerge.
#
# Each service is one transaction with an Event (agent, kind, before, after) and bumps the
# version of every customer it changed. A merge writes a MergeRecord holding every row it
# moved and every customer column it changed, so that ``unmerge_customers`` puts them back
# exactly; what arrived in between follows the rule in docs/architecture.md ("Customers").
# Rows move with Core UPDATEs (a customer may have thousands of messages), after a flush of
# the session's pending objects and followed by ``expire_all``, so no stale object is
# written back over them.

MAX_NAME = 200
MAX_NOTES = 20_000
MERGE_FORMAT = 1
"""The layout of ``MergeRecord.moved``: an unmerge refuses a layout it does not know."""
_STATE_COLUMNS = (
    "name", "notes", "last_activity_at", "preview", "channels", "unread_count", "open_count",
    "merged_into_id",
)  # fmt: skip
"""The customer columns a merge records, as the store holds them (times as stored text)."""
_IDENTITY_CHANGES = frozenset({"claimed_email"})
"""Identity columns a merge may change on the way (the web chat link marks its claim)."""
_MOVED_TABLES = ("identity", "conversation", "message", "event")
"""The tables whose rows belong to a customer by ``customer_id`` and move with a merge."""
_DRAFT_COLUMNS = "agent, mode, identity_id, body, started_at, updated_at"


def rename_customer(
    engine: Engine, customer_id: int, name: str, *, agent: str, was: str | None = None
) -> bool:
    """Give the customer another name (the list, the history and search show it); a
    "rename" event keeps the old one. ``was``: the name the agent saw, so a rename by
    someone else meanwhile is not overwritten unseen. Whether anything changed."""
    name = " ".join(name.split())
    if not name:
        raise ServiceError(_("a customer needs a name"))
    if len(name) > MAX_NAME or clean(name) != name:
        problem = _("a name is at most {count} characters, without control characters")
        raise ServiceError(problem.format(count=MAX_NAME))
    return _set_customer_text(
        engine, customer_id, "name", name, kind="rename", agent=agent, was=was
    )


def set_customer_notes(
    engine: Engine, customer_id: int, notes: str, *, agent: str, was: str | None = None
) -> bool:
    """Keep what the team knows about the customer (never sent to them); a "notes" event
    holds the text before and after. ``was`` as for ``rename_customer``. Whether anything
    changed."""
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        raise ServiceError(_("notes are at most {count} characters").format(count=f"{MAX_NOTES:,}"))
    return _set_customer_text(
        engine, customer_id, "notes", notes, kind="notes", agent=agent, was=was
    )


def _set_customer_text(
    engine: Engine,
    customer_id: int,
    field: Literal["name", "notes"],
    value: str,
    *,
    kind: str,
    agent: str,
    was: str | None,
) -> bool:
    """Set the customer's name or notes, with an event ``kind`` holding the text before and
    after; a name is indexed again for search. Whether anything changed."""
    with db.write(engine) as session:
        customer = _customer(session, customer_id)
        _record_agent(session, agent)
        before = getattr(customer, field)
        _unchanged_since(customer_id, field, before, was)
        if before == value:
            return False
        session.add(
            Event(agent=agent, kind=kind, customer_id=customer_id, before=before, after=value)
        )
        setattr(customer, field, value)
        customer.version += 1
        session.add(customer)
        if field == "name":
            session.flush()
            db.index_customer(session, customer_id)
        return True


def _unchanged_since(customer_id: int, what: str, now: str, was: str | None) -> None:
    if was is not None and now != was:
        if what == "name":
            problem = _(
                "customer {customer}'s name changed since you opened them (someone else "
                "saved); look at it again before saving"
            )
        else:
            problem = _(
                "customer {customer}'s notes changed since you opened them (someone else "
                "saved); look at it again before saving"
            )
        raise ServiceError(problem.format(customer=customer_id))


def unlink_identity(
    engine: Engine, identity_id: int, *, agent: str, with_conversations: bool = False
) -> int:
    """Take an address away from its customer: it becomes a new customer, named after it
    (a wrong link, two people sharing a name). With ``with_conversations`` the
    conversations only this address wrote in (``reads.SOLE_CONVERSATIONS``) go along, with
    their messages and events; its messages in conversations others wrote in too stay in
    the history where they are. The customer's last address cannot be unlinked. An
    "unlink" event on both customers; returns the new customer's id."""
    with db.write(engine) as session:
        identity = _identity(session, identity_id)
        old_id = identity.customer_id
        _customer(session, old_id)
        _record_agent(session, agent)
        others = session.exec(
            select(Identity.id).where(Identity.customer_id == old_id, Identity.id != identity_id)
        ).first()
        if others is None:
            problem = _("{address} is customer {customer}'s only address: nothing to unlink")
            raise ServiceError(problem.format(address=_address(identity), customer=old_id))
        address = _address(identity)
        name = identity.display_name or identity.address
        session.flush()
        conn = session.connection()
        conversations: list[int] = []
        if with_conversations:
            conversations = [
                int(c)
                for (c,) in conn.execute(
                    text(SOLE_CONVERSATIONS), {"identity": identity_id, "customer": old_id}
                )
            ]
        moving = _messages_of(conn, conversations)
        old = _customer_state(conn, old_id)
        taken_unread = _unread_among(conn, old_id, int(old["unread_count"]), moving)
        new = Customer(name=name)
        session.add(new)
        session.flush()
        assert new.id is not None
        new_id = new.id
        _set_where_ids(
            conn,
            "UPDATE conversation SET customer_id = :to WHERE id IN :ids",
            conversations,
            to=new_id,
        )
        _set_where_ids(
            conn,
            "UPDATE message SET customer_id = :to WHERE conversation_id IN :ids",
            conversations,
            to=new_id,
        )
        _set_where_ids(
            conn,
            "UPDATE event SET customer_id = :to WHERE customer_id = :old "
            "AND conversation_id IN :ids",
            conversations,
            to=new_id,
            old=old_id,
        )
        conn.execute(
            text("UPDATE identity SET customer_id = :to WHERE id = :id"),
            {"to": new_id, "id": identity_id},
        )
        created = conn.execute(
            text("SELECT created_at FROM identity WHERE id = :id"), {"id": identity_id}
        ).scalar_one()
        at, preview = _newest_activity(conn, new_id) or (created, "")
        _set_state(
            conn,
            new_id,
            {
                "last_activity_at": at,
                "preview": preview,
                "unread_count": taken_unread,
                **_list_counts(conn, new_id),
            },
        )
        kept: dict[str, Any] = {"unread_count": int(old["unread_count"]) - taken_unread}
        if moving:  # its newest message may have gone
            newest = _newest_activity(conn, old_id)
            kept["last_activity_at"], kept["preview"] = newest or (
                old["last_activity_at"],
                old["preview"],
            )
        _set_state(conn, old_id, {**kept, **_list_counts(conn, old_id)})
        said = f" with {_counted(len(conversations), 'conversation')}" if conversations else ""
        session.add_all(
            [
                Event(
                    agent=agent,
                    kind="unlink",
                    customer_id=old_id,
                    before=address,
                    after=f"customer {new_id}{said}",
                ),
                Event(
                    agent=agent,
                    kind="unlink",
                    customer_id=new_id,
                    before=f"customer {old_id}",
                    after=f"{address}{said}",
                ),
            ]
        )
        session.flush()
        for customer_id in (old_id, new_id):
            db.index_customer(session, customer_id)
        session.expire_all()
        return new_id


def merge_preview(engine: Engine, source_id: int, target_id: int) -> MergePreview:
    """What ``merge_customers(source_id, target_id)`` would move, for the agent to see
    before confirming; refused as that merge would be."""
    with db.read(engine) as session:
        source, target = _merge_pair(session, source_id, target_id)
        identities = session.exec(
            select(Identity).where(Identity.customer_id == source_id).order_by(col(Identity.id))
        ).all()
        conn = session.connection()

        def count(sql: str) -> int:
            return int(conn.execute(text(sql), {"id": source_id}).scalar_one())

        return MergePreview(
            source_id=source_id,
            source_name=source.name,
            target_id=target_id,
            target_name=target.name,
            identities=tuple(_identity_row(i) for i in identities),
            conversations=count("SELECT count(*) FROM conversation WHERE customer_id = :id"),
            open_conversations=source.open_count,
            messages=count("SELECT count(*) FROM message WHERE customer_id = :id"),
            notes=bool(source.notes),
        )


def merge_customers(engine: Engine, source_id: int, target_id: int, *, agent: str) -> int:
    """Merge customer ``source_id`` into ``target_id`` (one person known twice): their
    addresses, conversations, messages, events, drafts and presence move to the target,
    which then counts the source's unread messages too and keeps the newer last activity
    (and the source's name when it had none, and its notes after its own); the source is
    marked merged (hidden from the list and search; services refuse it). A "merge" event on
    both. Returns the MergeRecord's id, which ``unmerge_customers`` takes."""
    with db.write(engine) as session:
        source, target = _merge_pair(session, source_id, target_id)
        source_name, target_name = one_line(source.name, 60), one_line(target.name, 60)
        _record_agent(session, agent)
        record_id, moved = _merge(session, source_id, target_id, agent)
        what = _moved_words(
            len(moved["identities"]), len(moved["conversations"]), len(moved["messages"])
        )
        for customer_id in (source_id, target_id):
            session.add(
                Event(
                    agent=agent,
                    kind="merge",
                    customer_id=customer_id,
                    before=f"customer {source_id} {source_name}",
                    after=f"into customer {target_id} {target_name} (merge #{record_id}: {what})",
                )
            )
        return record_id


def unmerge_customers(engine: Engine, record_id: int, *, agent: str) -> int:
    """Undo merge ``record_id``: the addresses, conversations, messages, events, drafts and
    presence it moved go back to the source customer, whose columns are restored as they
    were, and the target's columns are put back as they were before it, adjusted for what
    happened since. Rows created after the merge stay with the target, except messages from
    or to an address that goes back, which follow it (with a conversation only they are
    in); see docs/architecture.md. Refused when the merge was undone already or the target
    (or the source) has been merged elsewhere since. An "unmerge" event on both; returns
    the source customer's id."""
    with db.write(engine) as session:
        record = session.get(MergeRecord, record_id)
        if record is None:
            raise ServiceError(_("no merge #{merge}").format(merge=record_id))
        if record.undone_at is not None:
            if record.undone_by:
                problem = _("merge #{merge} was undone already by {agent}")
            else:
                problem = _("merge #{merge} was undone already")
            agent_said = one_line(record.undone_by or "", 40)
            raise ServiceError(problem.format(merge=record_id, agent=agent_said))
        source_id, target_id = record.source_id, record.target_id
        source = session.get(Customer, source_id)
        target = session.get(Customer, target_id)
        assert source is not None and target is not None
        if target.merged_into_id is not None:
            later = session.exec(
                select(MergeRecord.id)
                .where(MergeRecord.source_id == target_id, col(MergeRecord.undone_at).is_(None))
                .order_by(col(MergeRecord.id).desc())
            ).first()
            if later:
                problem = _(
                    "customer {customer} was merged into customer {target} since "
                    "(merge #{merge}): unmerge that first"
                )
            else:
                problem = _(
                    "customer {customer} was merged into customer {target} since: "
                    "unmerge that first"
                )
            raise ServiceError(
                problem.format(customer=target_id, target=target.merged_into_id, merge=later)
            )
        if source.merged_into_id != target_id:
            problem = _("customer {customer} is no longer merged into {target}")
            raise ServiceError(problem.format(customer=source_id, target=target_id))
        _record_agent(session, agent)
        target_name = one_line(target.name, 60)
        moved = json.loads(record.moved)
        if moved.get("format") != MERGE_FORMAT:
            problem = _("merge #{merge} was recorded by another omnitui version")
            raise ServiceError(problem.format(merge=record_id))
        identities, conversations, messages = _unmerge(session, record, moved, agent)
        record = session.get(MergeRecord, record_id)
        source = session.get(Customer, source_id)
        assert record is not None and source is not None
        record.undone_at = utcnow()
        record.undone_by = agent
        session.add(record)
        what = _moved_words(identities, conversations, messages)
        for customer_id in (source_id, target_id):
            session.add(
                Event(
                    agent=agent,
                    kind="unmerge",
                    customer_id=customer_id,
                    before=f"customer {target_id} {target_name} (merge #{record_id})",
                    after=f"customer {source_id} {one_line(source.name, 60)}: {what} back",
                )
            )
        return source_id


def _merge_pair(session: Session, source_id: int, target_id: int) -> tuple[Customer, Customer]:
    if source_id == target_id:
        raise ServiceError(_("a customer cannot be merged into themselves"))
    return _customer(session, source_id), _customer(session, target_id)


def _merge(
    session: Session,
    source_id: int,
    target_id: int,
    agent: str,
    identity_changes: Sequence[tuple[int, str, Any]] = (),
) -> tuple[int, dict[str, Any]]:
    """Move the source's rows to the target and record exactly what moved and changed
    (``MergeRecord.moved``); the caller has checked both customers and writes the events.
    Returns the record's id and what it holds."""
    session.flush()
    conn = session.connection()
    ids = {"source": source_id, "target": target_id}
    source, target = _customer_state(conn, source_id), _customer_state(conn, target_id)

    def of_source(table: str) -> list[int]:
        rows = conn.execute(
            text(f"SELECT id FROM {table} WHERE customer_id = :source ORDER BY id"), ids
        )
        return [int(r) for (r,) in rows]

    moved: dict[str, Any] = {
        "format": MERGE_FORMAT,
        # Rows above these ids were made after the merge (the unmerge rule tells them apart).
        "high_water": {
            table: int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())
            for table in ("conversation", "message", "event")
        },
        "identities": of_source("identity"),
        "conversations": of_source("conversation"),
        "messages": [
            [int(m), int(c)]
            for m, c in conn.execute(
                text(
                    "SELECT id, conversation_id FROM message WHERE customer_id = :source "
                    "ORDER BY id"
                ),
                ids,
            )
        ],
        "events": of_source("event"),
        "presence": [
            str(a)
            for (a,) in conn.execute(
                text("SELECT agent FROM presence WHERE customer_id = :source ORDER BY agent"), ids
            )
        ],
        "drafts": _merge_drafts(conn, source_id, target_id),
        "identity_changes": [],
    }
    for table in (*_MOVED_TABLES, "presence"):
        conn.execute(
            text(f"UPDATE {table} SET customer_id = :target WHERE customer_id = :source"), ids
        )
    for identity_id, column, value in identity_changes:
        assert column in _IDENTITY_CHANGES
        where = {"id": identity_id, "value": value}
        old = _stored(
            conn.execute(text(f"SELECT {column} FROM identity WHERE id = :id"), where).scalar_one()
        )
        conn.execute(text(f"UPDATE identity SET {column} = :value WHERE id = :id"), where)
        moved["identity_changes"].append(
            {"id": identity_id, "column": column, "before": old, "after": value}
        )
    newer = str(source["last_activity_at"]) > str(
        target["last_activity_at"]
    )  # stored text sorts as time
    _set_state(
        conn,
        target_id,
        {
            "name": target["name"] or source["name"],
            "notes": "\n\n".join(n for n in (target["notes"], source["notes"]) if n),
            "last_activity_at": (source if newer else target)["last_activity_at"],
            "preview": (source if newer else target)["preview"],
            "unread_count": int(target["unread_count"]) + int(source["unread_count"]),
            **_list_counts(conn, target_id),
        },
    )
    _set_state(
        conn,
        source_id,
        {"merged_into_id": target_id, "unread_count": 0, **_list_counts(conn, source_id)},
    )
    moved["source"] = {"before": source, "after": _customer_state(conn, source_id)}
    moved["target"] = {"before": target, "after": _customer_state(conn, target_id)}
    for customer_id in (source_id, target_id):
        db.index_customer(session, customer_id)
    record = MergeRecord(
        agent=agent or SYSTEM,
        source_id=source_id,
        target_id=target_id,
        moved=json.dumps(moved, ensure_ascii=False, separators=(",", ":")),
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    record_id = record.id
    session.expire_all()
    return record_id, moved


def _merge_drafts(conn: sa.Connection, source_id: int, target_id: int) -> list[dict[str, Any]]:
    """Move the agents' drafts for the source to the target; an agent who has one for both
    gets one draft, the target's text then the source's. What was there is returned to
    record."""
    recorded: list[dict[str, Any]] = []
    drafts = conn.execute(
        text(f"SELECT {_DRAFT_COLUMNS} FROM draft WHERE customer_id = :id ORDER BY agent"),
        {"id": source_id},
    )
    for draft in [_stored_row(d) for d in drafts.mappings()]:
        key = {"agent": draft["agent"], "source": source_id, "target": target_id}
        theirs = (
            conn.execute(
                text(
                    f"SELECT {_DRAFT_COLUMNS} FROM draft "
                    "WHERE agent = :agent AND customer_id = :target"
                ),
                key,
            )
            .mappings()
            .first()
        )
        if theirs is None:
            conn.execute(
                text(
                    "UPDATE draft SET customer_id = :target "
                    "WHERE agent = :agent AND customer_id = :source"
                ),
                key,
            )
            recorded.append({"draft": draft, "joined_with": None, "joined": None})
            continue
        joined = f"{theirs['body']}\n\n{draft['body']}"
        conn.execute(
            text("UPDATE draft SET body = :body WHERE agent = :agent AND customer_id = :target"),
            {**key, "body": joined},
        )
        conn.execute(text("DELETE FROM draft WHERE agent = :agent AND customer_id = :source"), key)
        recorded.append({"draft": draft, "joined_with": _stored_row(theirs), "joined": joined})
    return recorded


@dataclass(slots=True)
class _Row:
    """A message of the merged customer, as an unmerge sorts it out."""

    id: int
    conversation_id: int
    identity_id: int | None
    direction: str
    sent_at: str
    blocked: bool
    side: int | None = None
    """The customer it goes to (None: a note made after the merge, which follows its
    conversation)."""


def _unmerge(
    session: Session, record: MergeRecord, moved: dict[str, Any], agent: str
) -> tuple[int, int, int]:
    """Put back what ``record`` moved (the rule: ``unmerge_customers``); returns how many
    addresses, conversations and messages went back."""
    source_id, target_id = record.source_id, record.target_id
    high = moved["high_water"]
    session.flush()
    conn = session.connection()
    on_target = {"target": target_id}
    identities = set(moved["identities"]) & {
        int(i)
        for (i,) in conn.execute(
            text("SELECT id FROM identity WHERE customer_id = :target"), on_target
        )
    }
    old_homes = {int(m): int(c) for m, c in moved["messages"]}
    rows = [
        _Row(int(r[0]), int(r[1]), r[2], str(r[3]), str(_stored(r[4])), bool(r[5]))
        for r in conn.execute(
            text(
                "SELECT m.id, m.conversation_id, m.identity_id, m.direction, m.sent_at, "
                "i.blocked_at IS NOT NULL FROM message m LEFT JOIN identity i "
                "ON i.id = m.identity_id WHERE m.customer_id = :target ORDER BY m.sent_at, m.id"
            ),
            on_target,
        )
    ]
    for row in rows:
        if row.id in old_homes:
            row.side = source_id
        elif row.id <= high["message"]:
            row.side = target_id
        elif row.identity_id is not None:
            row.side = source_id if row.identity_id in identities else target_id
    statuses = {
        int(c): str(s)
        for c, s in conn.execute(
            text("SELECT id, status FROM conversation WHERE customer_id = :target"), on_target
        )
    }
    sides: dict[int, set[int]] = {c: set() for c in statuses}
    for row in rows:
        if row.side is not None:
            sides.setdefault(row.conversation_id, set()).add(row.side)
    recorded = set(moved["conversations"])
    # A conversation goes back when the merge moved it, or when it was made after the merge
    # and only addresses that go back wrote in it.
    goes_back = {
        c for c in statuses
        if c in recorded or (c > high["conversation"] and sides[c] == {source_id})
    }  # fmt: skip
    side_of = {c: source_id if c in goes_back else target_id for c in statuses}
    homes: dict[tuple[int, int], int] = {}  # (customer, conversation left) -> its new home
    strays: list[dict[str, Any]] = []
    touched: set[int] = set()
    for row in rows:
        here = side_of.get(row.conversation_id, target_id)
        if row.side is None:
            row.side = here
        if row.side == here:
            continue
        assert row.side is not None
        # A message whose conversation goes the other way: back to the conversation the
        # merge found it in, else to its customer's newest active conversation, else to a
        # new one (as ingest would have put it).
        home = old_homes.get(row.id)
        if home is None or side_of.get(home) != row.side:
            home = homes.get((row.side, row.conversation_id)) or _home_for(
                conn, statuses, side_of, row.side, row
            )
            homes[row.side, row.conversation_id] = home
        strays.append(
            {
                "id": row.id,
                "customer": row.side,
                "conversation": home,
                "reason": f"unmerge by {agent} from conversation {row.conversation_id}",
            }
        )
        touched |= {row.conversation_id, home}
    back = [row for row in rows if row.side == source_id]
    _set_where_ids(
        conn, "UPDATE identity SET customer_id = :to WHERE id IN :ids", identities, to=source_id
    )
    _set_where_ids(
        conn, "UPDATE conversation SET customer_id = :to WHERE id IN :ids", goes_back, to=source_id
    )
    _set_where_ids(
        conn,
        "UPDATE message SET customer_id = :to WHERE id IN :ids",
        (r.id for r in back),
        to=source_id,
    )
    if strays:
        conn.execute(
            text(
                "UPDATE message SET customer_id = :customer, conversation_id = :conversation, "
                "thread_reason = :reason WHERE id = :id"
            ),
            strays,
        )
    _set_where_ids(
        conn,
        "UPDATE event SET customer_id = :to WHERE customer_id = :target AND (id IN :ids "
        "OR (id > :high AND conversation_id IS NOT NULL AND conversation_id IN "
        "(SELECT id FROM conversation WHERE customer_id = :to)))",
        moved["events"] or [0],
        to=source_id,
        target=target_id,
        high=high["event"],
    )
    conn.execute(
        text(
            "UPDATE presence SET customer_id = :source "
            "WHERE customer_id = :target AND agent IN :agents"
        ).bindparams(sa.bindparam("agents", expanding=True)),
        {"source": source_id, "target": target_id, "agents": moved["presence"] or [""]},
    )
    _unmerge_drafts(conn, moved["drafts"], source_id, target_id)
    for change in moved["identity_changes"]:  # unless changed since (a claim proven)
        column = change["column"]
        assert column in _IDENTITY_CHANGES
        where = {"id": change["id"], "before": change["before"]}
        now = _stored(
            conn.execute(text(f"SELECT {column} FROM identity WHERE id = :id"), where).scalar()
        )
        if now == change["after"]:
            conn.execute(text(f"UPDATE identity SET {column} = :before WHERE id = :id"), where)
    _recount_after_unmerge(session, touched)
    _restore_columns(session, moved, rows, source_id, target_id)
    for customer_id in (source_id, target_id):
        db.index_customer(session, customer_id)
    session.expire_all()
    return len(identities), len(goes_back), len(back)


def _home_for(
    conn: sa.Connection, statuses: dict[int, str], side_of: dict[int, int], side: int, row: _Row
) -> int:
    """Where a stray message going to customer ``side`` goes: that customer's newest active
    conversation, else a new one with the status of the one it leaves."""
    active = [c for c, s in statuses.items() if side_of[c] == side and s in ACTIVE]
    if active:
        return max(active)
    status = statuses[row.conversation_id]
    at = parse_stamp(row.sent_at)
    inserted = conn.execute(
        sa.insert(Conversation).values(
            customer_id=side, status=status, opened_at=at, last_message_at=at
        )
    )
    home = _inserted_id(inserted)
    statuses[home], side_of[home] = status, side
    return home


def _unmerge_drafts(
    conn: sa.Connection, drafts: list[dict[str, Any]], source_id: int, target_id: int
) -> None:
    """Put the drafts ``_merge_drafts`` moved or joined back, where the agent has not
    changed them since (a draft changed since is theirs on the target now)."""
    for entry in drafts:
        draft = entry["draft"]
        key = {"agent": draft["agent"], "source": source_id, "target": target_id}
        now = conn.execute(
            text("SELECT body FROM draft WHERE agent = :agent AND customer_id = :target"), key
        ).scalar()
        joined_with = entry["joined_with"]
        if now is None or now != (draft["body"] if joined_with is None else entry["joined"]):
            continue
        conn.execute(
            text("DELETE FROM draft WHERE agent = :agent AND customer_id IN (:source, :target)"),
            key,
        )
        insert = text(
            f"INSERT INTO draft (customer_id, {_DRAFT_COLUMNS}) VALUES (:customer_id, :agent, "
            ":mode, :identity_id, :body, :started_at, :updated_at)"
        )
        conn.execute(insert, {**draft, "customer_id": source_id})
        if joined_with is not None:
            conn.execute(insert, {**joined_with, "customer_id": target_id})


def _restore_columns(
    session: Session, moved: dict[str, Any], rows: list[_Row], source_id: int, target_id: int
) -> None:
    """Both customers' list columns after an unmerge: as each was before the merge, moved
    on by the messages made since that end up with it; the target keeps a name or notes an
    agent changed after the merge."""
    conn = session.connection()
    high = moved["high_water"]["message"]
    before = {source_id: moved["source"]["before"], target_id: moved["target"]["before"]}
    merged = moved["target"]["after"]
    now = _customer_state(conn, target_id)
    # Unread: exactly split when nobody read the merged customer since (the count is what it
    # was plus every unread message that came since), else the unread (the newest inbound
    # messages) counted by where they go.
    inbound = [r for r in rows if r.direction == "in" and not r.blocked]
    new = [r for r in inbound if r.id > high]
    unread = int(now["unread_count"])
    if unread == sum(int(b["unread_count"]) for b in before.values()) + len(new):
        counts = {c: int(before[c]["unread_count"]) + sum(r.side == c for r in new) for c in before}
    else:
        newest = inbound[len(inbound) - unread :] if unread else []
        counts = {c: sum(r.side == c for r in newest) for c in before}
    for customer_id, was in before.items():
        state = dict(was)
        if customer_id == target_id:
            for column in ("name", "notes"):  # changed by an agent after the merge: kept
                if now[column] != merged[column]:
                    state[column] = now[column]
        lifted = [
            r for r in rows if r.id > high and r.side == customer_id and r.direction != "note"
        ]
        lifted = [r for r in lifted if not (r.direction == "in" and r.blocked)]
        if lifted and lifted[-1].sent_at >= str(state["last_activity_at"]):
            state["last_activity_at"] = lifted[-1].sent_at
            state["preview"] = _preview_of(conn, lifted[-1].id)
        state["unread_count"] = counts[customer_id]
        state.update(_list_counts(conn, customer_id))
        _set_state(conn, customer_id, state)


def _recount_after_unmerge(session: Session, conversation_ids: set[int]) -> None:
    """Times of the conversations stray messages left or joined; one left empty and active
    is resolved, as an undone split is (``_move``)."""
    for conversation_id in sorted(conversation_ids):
        conv = session.get(Conversation, conversation_id)
        assert conv is not None
        session.refresh(conv)
        _recount(session, conv)
        empty = not session.exec(
            select(Message.id).where(Message.conversation_id == conversation_id)
        ).first()
        if empty and conv.status in ACTIVE:
            conv.status = "resolved"
            conv.resolved_at = utcnow()
        session.add(conv)
    session.flush()


def _stored(value: Any) -> Any:
    """A column's value as SQLite returns it (times as UTC text), whatever the store: merge
    records keep values as JSON and compare times as text."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # naive: the store's UTC
    return value


def _customer_state(conn: sa.Connection, customer_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(f"SELECT {', '.join(_STATE_COLUMNS)} FROM customer WHERE id = :id"),
        {"id": customer_id},
    )
    return _stored_row(row.mappings().one())


def _stored_row(row: sa.RowMapping) -> dict[str, Any]:
    return {str(k): _stored(v) for k, v in row.items()}


def _set_state(conn: sa.Connection, customer_id: int, state: Mapping[str, Any]) -> None:
    """Write customer columns (names from ``_STATE_COLUMNS``) and bump the version."""
    assert set(state) <= set(_STATE_COLUMNS)
    assignments = "".join(f"{column} = :{column}, " for column in state)
    conn.execute(
        text(f"UPDATE customer SET {assignments}version = version + 1 WHERE id = :customer_id"),
        {**state, "customer_id": customer_id},
    )


def _list_counts(conn: sa.Connection, customer_id: int) -> dict[str, Any]:
    """The list columns that follow from rows: channels (of the addresses, and phone for
    logged calls) and open count."""
    params = {"id": customer_id, "active": list(ACTIVE)}
    channels = conn.execute(
        text(
            "SELECT DISTINCT channel FROM identity WHERE customer_id = :id UNION "
            "SELECT 'phone' FROM message WHERE customer_id = :id AND channel = 'phone'"
        ),
        params,
    )
    open_count = conn.execute(_OPEN_COUNT, params).scalar_one()
    return {
        "channels": ",".join(sorted(str(c) for (c,) in channels)),
        "open_count": int(open_count),
    }


_OPEN_COUNT = text(
    "SELECT count(*) FROM conversation WHERE customer_id = :id AND status IN :active"
).bindparams(sa.bindparam("active", expanding=True))


def _newest_activity(conn: sa.Connection, customer_id: int) -> tuple[str, str] | None:
    """(sent_at as stored, preview) of the customer's newest message or reply that lifts
    them in the list (not a note, not a blocked sender's), as ingest and replies do."""
    row = conn.execute(
        text(
            "SELECT m.sent_at, m.id FROM message m LEFT JOIN identity i ON i.id = m.identity_id "
            "WHERE m.customer_id = :id AND m.direction IN ('in', 'out') "
            "AND NOT (m.direction = 'in' AND i.blocked_at IS NOT NULL) "
            "ORDER BY m.sent_at DESC, m.id DESC LIMIT 1"
        ),
        {"id": customer_id},
    ).first()
    return None if row is None else (str(row[0]), _preview_of(conn, int(row[1])))


def _preview_of(conn: sa.Connection, message_id: int) -> str:
    direction, subject, body = conn.execute(
        text("SELECT direction, subject, body FROM message WHERE id = :id"), {"id": message_id}
    ).one()
    return one_line(body if direction == "out" else (subject or body), 120)


def _messages_of(conn: sa.Connection, conversation_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    statement = text("SELECT id FROM message WHERE conversation_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    for part in _chunks(conversation_ids):
        found.update(int(m) for (m,) in conn.execute(statement, {"ids": part}))
    return found


def _unread_among(conn: sa.Connection, customer_id: int, unread: int, messages: set[int]) -> int:
    """How many of the customer's ``unread`` messages (their newest inbound ones) are in
    ``messages``."""
    if not unread or not messages:
        return 0
    newest = conn.execute(
        text(
            "SELECT m.id FROM message m LEFT JOIN identity i ON i.id = m.identity_id "
            "WHERE m.customer_id = :id AND m.direction = 'in' AND i.blocked_at IS NULL "
            "ORDER BY m.sent_at DESC, m.id DESC LIMIT :unread"
        ),
        {"id": customer_id, "unread": unread},
    )
    return sum(int(m) in messages for (m,) in newest)


def _set_where_ids(conn: sa.Connection, sql: str, ids: Iterable[int], **params: Any) -> None:
    """Run ``sql`` (with ``IN :ids``) over ``ids`` in bounded chunks."""
    statement = text(sql).bindparams(sa.bindparam("ids", expanding=True))
    for part in _chunks(ids):
        conn.execute(statement, {**params, "ids": part})


def _identity_row(identity: Identity) -> CustomerIdentity:
    assert identity.id is not None
    return CustomerIdentity(
        id=identity.id,
        channel=identity.channel,
        address=identity.address,
        account=identity.account,
        display_name=identity.display_name,
        handle=identity.handle,
        claimed_email=identity.claimed_email,
        blocked=identity.blocked_at is not None,
        unreachable_reason=identity.unreachable_reason,
    )


def _counted(count: int, noun: str, plural: str = "") -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _moved_words(identities: int, conversations: int, messages: int) -> str:
    return (
        f"{_counted(identities, 'address', 'addresses')}, "
        f"{_counted(conversations, 'conversation')}, {_counted(messages, 'message')}"
    )


# ---------------------------------------------------------------------------
# Bulk actions: one team action on many conversations at once (the customers an agent
# selected in the list, or every conversation a search found).
#
# One transaction for the whole batch, looping the single services' logic: each changed
# conversation gets the Event its single service writes, and each customer's version is
# bumped once, so every TUI reloads once. Conversations where the action is already so
# are left alone (no event), as the single services do.

BULK_ACTIONS = ("resolve", "assign_me", "tags")
BULK_LIMIT = 10_000
"""Conversations one bulk action may change at most (a search that finds more is refused:
narrow it)."""


@dataclass(frozen=True, slots=True)
class BulkResult:
    conversations: int
    """How many conversations the action was applied to."""
    changed: int
    """How many of them it changed (the others were so already)."""


def bulk_apply(
    engine: Engine,
    action: str,
    *,
    conversations: Sequence[int] = (),
    customers: Sequence[int] = (),
    agent: str,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    surveys: SurveyPolicy | None = None,
) -> BulkResult:
    """Apply ``action`` to ``conversations`` and to each of ``customers``' current
    conversation (``current_conversation``'s rule; a customer without one is skipped):
    "resolve", "assign_me" (to ``agent``) or "tags" (``add`` and ``remove``; removing a tag
    a conversation does not have skips it). One BEGIN IMMEDIATE transaction; an unknown
    conversation id refuses the whole batch before anything is written."""
    if action not in BULK_ACTIONS:
        problem = _("bulk action {action} is not one of {actions}")
        raise ServiceError(problem.format(action=repr(action), actions=", ".join(BULK_ACTIONS)))
    adding = list(dict.fromkeys(tag_name(t) for t in add))
    removing = list(dict.fromkeys(tag_name(t) for t in remove))
    if action == "tags" and not (adding or removing):
        raise ServiceError(_("say which tags to add or remove"))
    with db.write(engine) as session:
        ids = list(dict.fromkeys(conversations))
        for customer_id in dict.fromkeys(customers):
            current = _current_conversation(session, customer_id)
            if current is not None and current not in ids:
                ids.append(current)
        if len(ids) > BULK_LIMIT:
            problem = _("{count} conversations: at most {limit} at once (narrow the search)")
            raise ServiceError(problem.format(count=f"{len(ids):,}", limit=f"{BULK_LIMIT:,}"))
        found = [_workflow_conversation(session, i) for i in ids]
        _record_agent(session, agent)
        changed = 0
        recount: set[int] = set()
        for conv in found:
            if action == "resolve":
                done = conv.status != "resolved"
                if done:
                    _change_status(session, conv, "resolved", agent=agent)
                    _queue_survey(session, conv, surveys)
                    recount.add(conv.customer_id)
            elif action == "assign_me":
                done = _assign_to(session, conv, agent, agent)
            else:
                tagged = [t for t in adding if _tag(session, conv, t, agent)]
                untagged = [t for t in removing if _untag(session, conv, t, agent)]
                done = bool(tagged or untagged)
                if done:
                    _bump(session, conv.customer_id)
            changed += done
        for customer_id in recount:
            _touch_counts(session, customer_id)
        return BulkResult(len(found), changed)
