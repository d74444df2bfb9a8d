"""The services: ingest, threading, replies, notes and statuses, as the store records them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from omnitui import db, inbox
from omnitui.connectors.base import Batch
from omnitui.reads import Reader
from tests.conftest import BASE_TIME, MakeMessage


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


# -- batches: ingest stores a batch as if each message came on its own -------------


def test_two_messages_of_a_new_customer_in_one_batch_make_one_customer(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    newer = make_message("the newer one", display_name="Əli Bayramov", minutes=20)
    older = make_message("the older one", display_name="Əli Bayramov", minutes=10)
    first, second = inbox.ingest(engine, Batch([newer, older]))
    assert first.reason == f"new customer; no open conversation; opened {first.conversation_id}"
    assert second.reason == f"joined open conversation {first.conversation_id}"
    assert (second.customer_id, second.conversation_id) == (
        first.customer_id,
        first.conversation_id,
    )
    for table in ("customer", "identity", "conversation"):
        assert _count(engine, f"SELECT count(*) FROM {table}") == 1
    reader = Reader(store_url)
    [row] = reader.customers(0, 10)
    assert (row.unread, row.open, row.channels, row.version) == (2, 1, "email", 2)
    # Preview and last activity from the newest message, though it came first.
    assert row.preview == "the newer one"
    assert row.last_activity_at == BASE_TIME + timedelta(minutes=20)
    assert [h.customer_id for h in reader.search("bayramov") if h.message_id is None] == [row.id]


def test_a_batch_threads_messages_on_earlier_ones_of_the_same_batch(
    engine: Engine, make_message: MakeMessage
) -> None:
    [old] = inbox.ingest(engine, Batch([make_message("old question", external_id="old")]))
    inbox.set_status(engine, old.customer_id, "resolved", agent="leyla")
    new, answer, back, more, other = inbox.ingest(
        engine,
        Batch(
            [
                make_message("new question", external_id="new"),
                make_message("more on it", thread_ref="new"),
                make_message("about the old one", thread_ref="old"),
                make_message("one more thing"),
                make_message("not my thread", address="vali@example.az", thread_ref="new"),
            ]
        ),
    )
    assert new.reason == f"no open conversation; opened {new.conversation_id}"
    assert answer.reason == (
        f"answers message {new.message_id} in conversation {new.conversation_id}"
    )
    assert back.reason == (
        f"answers message {old.message_id}; reopened conversation {old.conversation_id}"
    )
    # Two active conversations now: a message without a thread joins the newest.
    assert more.reason == f"joined open conversation {new.conversation_id}"
    assert other.customer_id != old.customer_id
    assert other.reason == f"new customer; no open conversation; opened {other.conversation_id}"
    assert _count(engine, f"SELECT open_count FROM customer WHERE id = {old.customer_id}") == 2
    assert _count(engine, f"SELECT unread_count FROM customer WHERE id = {old.customer_id}") == 5


def test_a_conversation_a_batch_reopens_stays_open_for_the_rest_of_it(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    [old] = inbox.ingest(engine, Batch([make_message("question", external_id="q")]))
    inbox.set_status(engine, old.customer_id, "resolved", agent="leyla")
    reopened, again, more = inbox.ingest(
        engine,
        Batch(
            [
                make_message("still broken", thread_ref="q"),
                make_message("really", thread_ref="q"),
                make_message("hello?"),
            ]
        ),
    )
    conv = old.conversation_id
    assert reopened.reason == f"answers message {old.message_id}; reopened conversation {conv}"
    assert again.reason == f"answers message {old.message_id} in conversation {conv}"
    assert more.reason == f"joined open conversation {conv}"
    events = [i.body for i in Reader(store_url).timeline(old.customer_id) if i.kind == "event"]
    assert events == ["open -> resolved", "resolved -> open (customer replied)"]


def test_the_same_message_twice_in_a_batch_is_stored_once(
    engine: Engine, make_message: MakeMessage
) -> None:
    message = make_message("hi", external_id="twice")
    first, again = inbox.ingest(engine, Batch([message, message], {"uid": "2"}))
    assert again == inbox.Ingested(None, first.customer_id, first.conversation_id, "duplicate")
    assert _count(engine, "SELECT count(*) FROM message") == 1
    assert _count(engine, "SELECT count(*) FROM message_fts") == 1
    assert _count(engine, "SELECT unread_count FROM customer") == 1
    assert inbox.load_cursor(engine, "mail") == {"uid": "2"}


def test_a_new_customer_answering_mail_the_team_sent_in_the_same_batch_reopens_it(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    sent = replace(make_message("We shipped it", subject="Order 7"), direction="out")
    sent_back = make_message("Thanks, it came", subject="Re: Order 7")
    ours, theirs = inbox.ingest(engine, Batch([sent, sent_back]))
    assert ours.reason == f"new customer; no open conversation; opened {ours.conversation_id}"
    assert theirs.reason == f"subject matches conversation {ours.conversation_id}; reopened"
    events = [i.body for i in Reader(store_url).timeline(ours.customer_id) if i.kind == "event"]
    assert events == ["resolved -> open (customer wrote)"]
    [row] = Reader(store_url).customers(0, 10)
    assert (row.unread, row.open, row.preview) == (1, 1, "Re: Order 7")


def test_a_batch_stores_exactly_what_its_messages_one_by_one_would(
    engine: Engine, make_message: MakeMessage, new_store_url: Callable[[], str]
) -> None:
    before = make_message("before", external_id="e0")
    [earlier] = inbox.ingest(engine, Batch([before]))
    inbox.set_status(engine, earlier.customer_id, "pending", agent="leyla")
    messages = [
        make_message("one", address="a@x.az", display_name="Ayşe", external_id="e1"),
        make_message("wakes the pending one", display_name="Əli"),
        make_message("two", address="a@x.az", thread_ref="e1", subject="Sipariş #9"),
        make_message("renamed", address="a@x.az", display_name="Ayşe Yılmaz"),
        make_message("tg", channel="telegram", account="mail", address="42", thread_ref="e1"),
        make_message("one", address="a@x.az", external_id="e1"),  # a duplicate
        replace(make_message("from the team", address="b@x.az"), direction="out"),
        make_message("older than the rest", address="b@x.az", minutes=-60),
        replace(make_message("refs", address="a@x.az"), references=("e1", "e0", "gone")),
    ]
    batched = inbox.ingest(engine, Batch(messages))

    alone = db.make_engine(new_store_url())
    [again] = inbox.ingest(alone, Batch([before]))
    inbox.set_status(alone, again.customer_id, "pending", agent="leyla")
    one_by_one = [r for m in messages for r in inbox.ingest(alone, Batch([m]))]

    assert batched == one_by_one
    assert _rows(engine) == _rows(alone)


_CLOCK_COLUMNS = {"created_at", "stored_at", "updated_at", "at", "resolved_at"}


def _rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """The store's rows but for the columns set from the clock."""
    out = {}
    with engine.connect() as conn:
        for table in ("customer", "identity", "conversation", "message", "event"):
            result = conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            keep = [i for i, c in enumerate(result.keys()) if c not in _CLOCK_COLUMNS]
            out[table] = [tuple(row[i] for i in keep) for row in result]
        for table in ("customer_fts", "message_fts"):
            result = conn.execute(text(f"SELECT rowid, body FROM {table} ORDER BY rowid"))
            out[table] = [tuple(row) for row in result]
    return out


def test_a_reader_snapshot_sees_one_state_of_the_store(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    """What a screen reads together (a page and its count, a timeline and its events) comes
    from one state, though a writer commits in between (PostgreSQL: REPEATABLE READ)."""
    inbox.ingest(engine, Batch([make_message("first")]))
    reader = Reader(store_url)
    with reader._snapshot() as conn:
        [(before,)] = conn.execute("SELECT count(*) FROM message").fetchall()
        inbox.ingest(engine, Batch([make_message("second")]))
        assert conn.execute("SELECT count(*) FROM message").fetchall() == [(before,)]
    assert reader.customer_page(0, 10).rows[0].preview == "second"
