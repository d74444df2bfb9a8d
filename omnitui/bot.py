"""The knowledge base's services and the FAQ bot's turn (issue 9), apart from inbox.py:
entries with a slug, tags and a question and answer per language (omnitui/kb.py reads
their files and scores a message against them), indexed in kb_fts under the variant's id
like message_fts. Each service is one transaction that writes a "kb" event (before and
after: ``kb.summary`` lines). The bot (``bot_turn``, the runner's turn after each batch)
answers a customer's message on web chat and Telegram from them, or hands the
conversation to the agents; each answer is a "bot" event, each handoff a "handoff" one.

Built on inbox.py's services and rules (one transaction a service, an event for each
change); must not import Textual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from omnitui import db, kb
from omnitui.canned import ordered_languages
from omnitui.config import BotConfig
from omnitui.connectors.base import (
    Button,
    buttons_json,
)
from omnitui.csat import (
    BUTTON_CHANNELS,
)
from omnitui.db import (
    Conversation,
    Event,
    Identity,
    Message,
    utcnow,
)
from omnitui.i18n import _
from omnitui.inbox import (  # the service layer's own helpers, shared with inbox.py
    ServiceError,
    _bump,
    _checked_item,
    _customer,
    _given_twice,
    _import_by_key,
    _library_event,
    _library_row,
    _record_agent,
    _touch,
    new_idempotency_key,
)
from omnitui.language import detect_many


@dataclass(frozen=True, slots=True)
class KbImported:
    """What an import did: entries added, changed, and already as the files say."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0


def create_kb_entry(engine: Engine, entry: kb.Entry, *, agent: str) -> int:
    """Add a knowledge base entry (its slug must be free); returns its id."""
    checked = _checked_item(kb.check_entry, entry)
    with db.write(engine) as session:
        _record_agent(session, agent)
        _free_slug(session, checked.slug, None)
        return _add_kb(session, checked, agent)


def update_kb_entry(engine: Engine, entry_id: int, entry: kb.Entry, *, agent: str) -> bool:
    """Make the entry ``entry_id`` what ``entry`` says: slug, tags and exactly its
    languages (one left out is removed). Whether anything changed."""
    checked = _checked_item(kb.check_entry, entry)
    with db.write(engine) as session:
        row = _kb_row(session, entry_id)
        _record_agent(session, agent)
        return _change_kb(session, row, checked, agent)


def delete_kb_entry(engine: Engine, entry_id: int, *, agent: str) -> None:
    """Delete an entry, its languages and their index rows (the event keeps its summary)."""
    with db.write(engine) as session:
        row = _kb_row(session, entry_id)
        _record_agent(session, agent)
        before = _stored_kb(session, row)
        db.unindex_kb_entry(session, entry_id)
        session.connection().execute(
            text("DELETE FROM kbvariant WHERE entry_id = :id"), {"id": entry_id}
        )
        session.delete(row)
        _kb_event(session, agent, kb.summary(before), None)


def import_kb(engine: Engine, entries: Sequence[kb.Entry], *, agent: str) -> KbImported:
    """Add or update entries by slug (``kb.read_folder`` read them), all in one
    transaction; entries not in ``entries`` are kept. Importing the same files again
    changes nothing."""
    checked = [_checked_item(kb.check_entry, entry) for entry in entries]
    twice = _given_twice(checked, "slug")
    if twice is not None:
        problem = _("{slug} given twice").format(slug=twice.slug)
        raise ServiceError(f"{twice.source or 'import'}: {problem}")
    return KbImported(
        *_import_by_key(engine, checked, db.KbEntry, "slug", _add_kb, _change_kb, agent)
    )


def _kb_row(session: Session, entry_id: int) -> db.KbEntry:
    missing = _("no knowledge base entry {entry}").format(entry=entry_id)
    return _library_row(session, db.KbEntry, entry_id, missing)


def _free_slug(session: Session, slug: str, owner: int | None) -> None:
    """Refuse a slug another entry has (the column is unique: say so in words)."""
    taken = session.exec(select(db.KbEntry).where(db.KbEntry.slug == slug)).first()
    if taken is not None and taken.id != owner:
        raise ServiceError(_("the knowledge base has an entry {slug} already").format(slug=slug))


def _add_kb(session: Session, entry: kb.Entry, agent: str) -> int:
    row = db.KbEntry(slug=entry.slug, tags=" ".join(entry.tags), updated_by=agent)
    session.add(row)
    session.flush()
    assert row.id is not None
    _write_kb_variants(session, row.id, entry.variants)
    _kb_event(session, agent, None, kb.summary(entry))
    return row.id


def _change_kb(session: Session, row: db.KbEntry, entry: kb.Entry, agent: str) -> bool:
    before = _stored_kb(session, row)
    if before == entry:
        return False
    assert row.id is not None
    if entry.slug != row.slug:
        _free_slug(session, entry.slug, row.id)
    row.slug, row.tags = entry.slug, " ".join(entry.tags)
    row.updated_at, row.updated_by = utcnow(), agent
    session.add(row)
    _write_kb_variants(session, row.id, entry.variants)
    _kb_event(session, agent, kb.summary(before), kb.summary(entry))
    return True


def _stored_kb(session: Session, row: db.KbEntry) -> kb.Entry:
    """The entry as stored, comparable with a checked one (read without the ORM)."""
    rows = session.connection().execute(
        text("SELECT language, question, answer FROM kbvariant WHERE entry_id = :id"),
        {"id": row.id},
    )
    variants = {str(lang): kb.Variant(str(q), str(a)) for lang, q, a in rows}
    return kb.Entry(
        row.slug,
        tuple(row.tags.split()),
        {lang: variants[lang] for lang in ordered_languages(variants)},
    )


def _write_kb_variants(session: Session, entry_id: int, variants: Mapping[str, kb.Variant]) -> None:
    """Make the entry's languages exactly ``variants``, kb_fts with them."""
    session.flush()
    db.unindex_kb_entry(session, entry_id)
    conn = session.connection()
    conn.execute(text("DELETE FROM kbvariant WHERE entry_id = :id"), {"id": entry_id})
    for language, variant in variants.items():
        inserted = conn.execute(
            text(
                "INSERT INTO kbvariant (entry_id, language, question, answer) "
                "VALUES (:id, :language, :question, :answer) RETURNING id"
            ),
            {
                "id": entry_id,
                "language": language,
                "question": variant.question,
                "answer": variant.answer,
            },
        )
        db.index_kb_variant(session, int(inserted.scalar_one()), variant.question, variant.answer)


def _kb_event(session: Session, agent: str, before: str | None, after: str | None) -> None:
    _library_event(session, "kb", agent, before, after)


KB_CANDIDATES = 20
"""Entries' languages the full-text index proposes for a message, best ranked first; the
bot scores their entries' every language (kb.best_match)."""


def kb_matches(engine: Engine, message: str, language: str | None = None) -> kb.Match | None:
    """The knowledge base entry that answers ``message`` best, and its score (kb.score);
    None when the index finds no entry with any of its words."""
    with db.read(engine) as session:
        return _kb_match(session, message, language)


def _kb_match(session: Session, message: str, language: str | None) -> kb.Match | None:
    stems = kb.search_stems(message)
    if not stems:
        return None
    conn = session.connection()
    if db.is_postgresql_engine(conn.engine):
        query = " | ".join(f"'{stem}':*" for stem in stems)  # folded \w+ words: no quotes
        found = conn.execute(
            text(
                "SELECT rowid FROM kb_fts WHERE tsv @@ CAST(:q AS tsquery) "
                "ORDER BY ts_rank(tsv, CAST(:q AS tsquery)) DESC, rowid LIMIT :n"
            ),
            {"q": query, "n": KB_CANDIDATES},
        )
    else:
        query = " OR ".join(f'"{stem}"*' for stem in stems)
        found = conn.execute(
            text(
                "SELECT rowid FROM kb_fts WHERE kb_fts MATCH :q "
                "ORDER BY bm25(kb_fts), rowid LIMIT :n"
            ),
            {"q": query, "n": KB_CANDIDATES},
        )
    order = {int(rowid): i for i, (rowid,) in enumerate(found)}
    if not order:
        return None
    rows = conn.execute(
        text(
            "SELECT v.id, v.entry_id, e.slug, v.language, v.question, v.answer "
            "FROM kbvariant v JOIN kbentry e ON e.id = v.entry_id "
            "WHERE v.entry_id IN (SELECT entry_id FROM kbvariant WHERE id IN :ids)"
        ).bindparams(sa.bindparam("ids", expanding=True)),
        {"ids": list(order)},
    ).all()
    candidates = [kb.Candidate(int(r[0]), int(r[1]), *map(str, r[2:])) for r in rows]
    candidates.sort(key=lambda c: (order.get(c.variant_id, len(order)), c.variant_id))
    return kb.best_match(message, candidates, language)


@dataclass(frozen=True, slots=True)
class BotTurn:
    """What the bot did with a customer's message: ``action`` "answered" (``reply_id`` the
    answer queued, ``slug`` and ``score`` the entry), "handed-off" (``reason``: "score",
    "asked", "second"; ``reply_id`` the notice, if one was queued) or "silent" (``reason``:
    why the bot has no say: "off", "not-inbound", "command", "blocked", "assigned",
    "agent", "handed-off")."""

    action: Literal["answered", "handed-off", "silent"]
    reason: str = ""
    slug: str | None = None
    score: float | None = None
    language: str | None = None
    reply_id: int | None = None


def bot_turn(engine: Engine, message_id: int, config: BotConfig) -> BotTurn:
    """The FAQ bot's turn after the customer's message ``message_id`` was stored, in one
    transaction: answer it from the knowledge base, hand the conversation to the agents, or
    stay out of it.

    Silent where it has no say: a channel it is off on, a conversation an agent has taken
    (an assignee) or written in (a reply or a note), one handed off already. A handoff
    (``handed_off_at``, a "handoff" event) when the customer asks for a person (a word of
    ``handoff_words``), on a second message after an answer (never two answers in a row),
    and when no entry scores ``min_score``. An answer is queued through the outbox like a
    reply (sent once), as message kind "bot" by ``config.name``: no first response (that is
    an agent's), ``bot_answers`` counted, a "bot" event with the slug and score. The
    conversation stays open and unassigned in the inbox all along; an answer counts the
    customer's message as read, a handoff leaves it unread for the agents."""
    with db.write(engine) as session:
        inbound = session.get(Message, message_id)
        if inbound is None or inbound.direction != "in" or inbound.kind:
            return BotTurn("silent", "not-inbound")
        if kb.is_command(inbound.body):  # Telegram's /start: the chat opening, no question
            return BotTurn("silent", "command")
        if not config.answers_on(inbound.channel):
            return BotTurn("silent", "off")
        conv = session.get(Conversation, inbound.conversation_id)
        assert conv is not None and conv.id is not None
        identity = session.get(Identity, inbound.identity_id) if inbound.identity_id else None
        silent = _bot_has_no_say(session, conv, identity)
        if silent:
            return BotTurn("silent", silent)
        language = _conversation_language(session, conv.id)
        handoff_words = [w for words in config.handoff_words.values() for w in words]
        # The "talk to a person" button comes back as its label: a handoff word too.
        if kb.asks_for_person(inbound.body, handoff_words):
            return _hand_off(session, conv, inbound, config, "asked", language)
        if conv.bot_answers > 0:
            return _hand_off(session, conv, inbound, config, "second", language)
        found = _kb_match(session, f"{inbound.subject}\n{inbound.body}", language)
        if found is None or found.score < config.min_score:
            score = found.score if found is not None else 0.0
            return _hand_off(session, conv, inbound, config, "score", language, score)
        answer = found.candidate
        body = kb.bot_answer(answer.answer, answer.language)
        person = Button(kb.said(kb.PERSON_BUTTON, answer.language), kb.PERSON_DATA)
        reply_id = _queue_bot_message(session, conv, inbound, body, config.name, [person])
        conv.bot_answers += 1
        session.add(conv)
        customer = _customer(session, conv.customer_id)
        customer.unread_count = max(0, customer.unread_count - 1)  # the bot dealt with it
        session.add(
            Event(
                agent=config.name,
                kind="bot",
                customer_id=conv.customer_id,
                conversation_id=conv.id,
                message_id=reply_id,
                after=f"{answer.slug} {answer.language} {found.score:.2f}",
            )
        )
        return BotTurn("answered", "", answer.slug, found.score, answer.language, reply_id)


def _bot_has_no_say(session: Session, conv: Conversation, identity: Identity | None) -> str:
    """Why the bot must stay out of ``conv`` ("" when it may answer)."""
    if identity is not None and identity.blocked_at is not None:
        return "blocked"
    if conv.handed_off_at is not None:
        return "handed-off"
    if conv.assignee:
        return "assigned"
    agent_wrote = session.exec(
        select(Message.id).where(
            Message.conversation_id == conv.id,
            sa.or_(
                col(Message.direction) == "note",
                sa.and_(col(Message.direction) == "out", col(Message.kind) == ""),
            ),
        )
    ).first()
    return "agent" if agent_wrote is not None else ""


def _conversation_language(session: Session, conversation_id: int) -> str | None:
    """The language the customer writes in this conversation (language.detect_many over
    its last inbound messages), else the one the bot last answered in; None when unsure."""
    bodies = session.exec(
        select(Message.body)
        .where(Message.conversation_id == conversation_id, Message.direction == "in")
        .order_by(col(Message.id).desc())
        .limit(20)
    ).all()
    found = detect_many([b[:4000] for b in bodies])
    if found is not None:
        return found
    answered = session.exec(
        select(Event.after)
        .where(Event.conversation_id == conversation_id, Event.kind == "bot")
        .order_by(col(Event.id).desc())
    ).first()
    said = (answered or "").split()  # "slug language score"
    return said[1] if len(said) == 3 else None


def _hand_off(
    session: Session,
    conv: Conversation,
    inbound: Message,
    config: BotConfig,
    reason: str,
    language: str | None,
    score: float | None = None,
) -> BotTurn:
    """Give ``conv`` to the agents: ``handed_off_at``, a "handoff" event (the reason, and
    the best score below the threshold), and, when the customer knows the bot (it answered,
    or they asked for a person), a word that a person will answer."""
    now = utcnow()
    conv.handed_off_at = now
    session.add(conv)
    reply_id = None
    if config.handoff_message and (reason != "score" or conv.bot_answers > 0):
        body = kb.said(kb.HANDED_OFF, language)
        reply_id = _queue_bot_message(session, conv, inbound, body, config.name)
    after = reason if score is None else f"{reason} {score:.2f}"
    session.add(
        Event(
            at=now,
            agent=config.name,
            kind="handoff",
            customer_id=conv.customer_id,
            conversation_id=conv.id,
            message_id=inbound.id,
            after=after,
        )
    )
    _bump(session, conv.customer_id)
    return BotTurn("handed-off", reason, score=score, language=language, reply_id=reply_id)


def _queue_bot_message(
    session: Session,
    conv: Conversation,
    inbound: Message,
    body: str,
    author: str,
    buttons: Sequence[Button] = (),
) -> int:
    """Queue a message of the bot's to the address ``inbound`` came from, as queue_reply
    queues a reply (sent once, by the outbox), without counting as an agent's response;
    with ``buttons`` where the channel shows them."""
    assert conv.id is not None
    now = utcnow()
    message = Message(
        conversation_id=conv.id,
        customer_id=conv.customer_id,
        direction="out",
        channel=inbound.channel,
        account=inbound.account,
        identity_id=inbound.identity_id,
        author=author,
        kind="bot",
        body=body,
        buttons=buttons_json(buttons) if buttons and inbound.channel in BUTTON_CHANNELS else None,
        sent_at=now,
        thread_ref=inbound.external_id,
        delivery="queued",
        idempotency_key=new_idempotency_key(),
        next_attempt_at=now,
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    db.index_message(session, message.id, "", body)
    conv.last_message_at = now
    session.add(conv)
    _touch(session, _customer(session, conv.customer_id), now, body)
    return message.id
