"""The services: ingest, threading, replies, notes and statuses, as the store records them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from omnitui import inbox
from omnitui.connectors.base import Batch
from omnitui.reads import Reader
from tests.conftest import MakeMessage


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_ingest_is_idempotent_and_commits_the_cursor(
    engine: Engine, make_message: MakeMessage
) -> None:
    first = make_message("Salam", external_id="a1")
    inbox.ingest(engine, Batch([first], {"uid": "1"}))
    again = inbox.ingest(engine, Batch([first], {"uid": "1"}))
    assert again[0].message_id is None and again[0].reason == "duplicate"
    assert _count(engine, "SELECT count(*) FROM message") == 1
    assert inbox.load_cursor(engine, "mail") == {"uid": "1"}


def test_a_failed_batch_stores_neither_messages_nor_cursor(
    engine: Engine, make_message: MakeMessage
) -> None:
    good = make_message("one")
    # Two accounts with one cursor is refused after the messages were written:
    # the transaction must roll them back together.
    other = make_message("two", account="other")
    with pytest.raises(inbox.ServiceError):
        inbox.ingest(engine, Batch([good, other], {"uid": "9"}))
    assert _count(engine, "SELECT count(*) FROM message") == 0
    assert inbox.load_cursor(engine, "mail") == {}


def test_one_customer_across_channels_joins_the_open_conversation(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    [mail] = inbox.ingest(engine, Batch([make_message("by mail", display_name="Əli")]))
    assert "new customer" in mail.reason
    [again] = inbox.ingest(engine, Batch([make_message("again by mail")]))
    assert again.customer_id == mail.customer_id
    assert again.conversation_id == mail.conversation_id
    assert "joined open conversation" in again.reason
    reader = Reader(store_url)
    [row] = reader.customers(0, 10)
    assert row.unread == 2 and row.open == 1 and row.preview == "again by mail"


def test_resolved_then_new_message_opens_a_new_conversation(
    engine: Engine, make_message: MakeMessage
) -> None:
    [first] = inbox.ingest(engine, Batch([make_message("question")]))
    inbox.set_status(engine, first.customer_id, "resolved", agent="leyla")
    [later] = inbox.ingest(engine, Batch([make_message("new question")]))
    assert later.conversation_id != first.conversation_id


def test_an_answer_to_a_resolved_conversation_reopens_it(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    [first] = inbox.ingest(engine, Batch([make_message("question", external_id="q1")]))
    inbox.set_status(engine, first.customer_id, "resolved", agent="leyla")
    [answer] = inbox.ingest(engine, Batch([make_message("thanks but", thread_ref="q1")]))
    assert answer.conversation_id == first.conversation_id
    assert "reopened" in answer.reason
    items = Reader(store_url).timeline(first.customer_id)
    events = [i.body for i in items if i.kind == "event"]
    assert events == ["open -> resolved", "resolved -> open (customer replied)"]


def test_reply_goes_to_the_channel_the_customer_last_wrote_on(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    inbox.ingest(engine, Batch([make_message("mail", subject="Order 5")]))
    [tg] = inbox.ingest(
        engine,
        Batch([make_message("tg", channel="telegram", account="bot", address="42")]),
    )
    # A Telegram identity is another customer until merged; reply to the email one.
    reader = Reader(store_url)
    assert len(reader.customers(0, 10)) == 2
    mail_customer = next(c for c in reader.customers(0, 10) if c.channels == "email")
    reply_id = inbox.queue_reply(engine, mail_customer.id, "On its way", agent="leyla")
    items = reader.timeline(mail_customer.id)
    reply = next(i for i in items if i.id == reply_id)
    assert (reply.kind, reply.channel, reply.delivery, reply.subject) == (
        "out",
        "email",
        "queued",
        "Re: Order 5",
    )
    assert tg.customer_id != mail_customer.id


def test_empty_reply_and_unknown_customer_are_refused(engine: Engine) -> None:
    with pytest.raises(inbox.ServiceError, match="empty"):
        inbox.queue_reply(engine, 1, "   ", agent="x")
    with pytest.raises(inbox.ServiceError, match="no customer 99"):
        inbox.queue_reply(engine, 99, "hi", agent="x")


def test_notes_are_kept_apart_and_never_queued(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    [m] = inbox.ingest(engine, Batch([make_message("hi")]))
    note_id = inbox.add_note(engine, m.customer_id, "VIP, be kind", agent="emre")
    note = next(i for i in Reader(store_url).timeline(m.customer_id) if i.id == note_id)
    assert note.kind == "note" and note.delivery is None and note.author == "emre"
    assert _count(engine, "SELECT count(*) FROM message WHERE delivery='queued'") == 0


def test_outbox_retries_with_backoff_then_fails(engine: Engine, make_message: MakeMessage) -> None:
    from omnitui.config import OutboxConfig

    [m] = inbox.ingest(engine, Batch([make_message("hi")]))
    reply = inbox.queue_reply(engine, m.customer_id, "hello", agent="leyla")
    gen = inbox.acquire_lease(engine, "me", 30)
    assert gen is not None
    policy = OutboxConfig(max_attempts=2, backoff_base_seconds=0.001)
    [claimed] = inbox.claim_outbox(engine, "me", gen)
    assert claimed.message_id == reply
    assert inbox.mark_failed(engine, reply, "timeout", permanent=False, policy=policy) == "queued"
    import time

    time.sleep(0.01)
    [claimed] = inbox.claim_outbox(engine, "me", gen)
    assert inbox.mark_failed(engine, reply, "timeout", permanent=False, policy=policy) == "failed"
    assert inbox.claim_outbox(engine, "me", gen) == []
    inbox.retry_reply(engine, reply, agent="leyla")
    history = Reader(engine.url.render_as_string()).timeline(m.customer_id)
    assert [(i.subject, i.body, i.author) for i in history if i.kind == "event"] == [
        ("retry", "failed -> queued", "leyla")
    ]
    [claimed] = inbox.claim_outbox(engine, "me", gen)
    inbox.mark_sent(engine, reply, "remote-1")
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT delivery, attempts, external_id FROM message WHERE id=:i"), {"i": reply}
        ).one()
    assert tuple(row) == ("sent", 3, "remote-1")


def test_a_runner_that_lost_its_lease_claims_nothing(
    engine: Engine, make_message: MakeMessage
) -> None:
    [m] = inbox.ingest(engine, Batch([make_message("hi")]))
    inbox.queue_reply(engine, m.customer_id, "hello", agent="leyla")
    old = inbox.acquire_lease(engine, "old", 0.01)
    assert old is not None
    import time

    time.sleep(0.05)
    new = inbox.acquire_lease(engine, "new", 30)
    assert new == old + 1
    assert inbox.claim_outbox(engine, "old", old) == []
    assert not inbox.renew_lease(engine, "old", old, 30)
    assert len(inbox.claim_outbox(engine, "new", new)) == 1
