"""The team workflow's services: assign, status, snooze and wake-up, tags, block and spam;
each as the store records it (the state and its audit event), and what ingest does with
a blocked sender's messages and a snoozed conversation's customer."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from omnitui import inbox, runner
from omnitui.connectors.base import Batch
from omnitui.db import utcnow
from omnitui.reads import Reader
from tests.conftest import MakeMessage
from tests.runner_support import async_wait_until, settings_for

AGENT = "leyla"


@dataclass(frozen=True)
class EventRow:
    agent: str
    kind: str
    conversation_id: int | None
    before: str | None
    after: str | None


def events(engine: Engine, *kinds: str) -> list[EventRow]:
    """The audit events of these kinds, oldest first."""
    marks = ", ".join(f"'{k}'" for k in kinds)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT agent, kind, conversation_id, before, after FROM event "
                f"WHERE kind IN ({marks}) ORDER BY id"
            )
        ).all()
    return [EventRow(*r) for r in rows]


def row(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).one()


def conversation(engine: Engine, conversation_id: int) -> Any:
    return row(
        engine,
        "SELECT status, assignee, snoozed_until, resolved_at FROM conversation WHERE id = :id",
        id=conversation_id,
    )


def version(engine: Engine, customer_id: int) -> int:
    return int(row(engine, "SELECT version FROM customer WHERE id = :id", id=customer_id)[0])


@dataclass(frozen=True)
class Case:
    customer: int
    conversation: int


@pytest.fixture
def case(engine: Engine, make_message: MakeMessage) -> Case:
    """A customer (Əli, by email) with one open conversation."""
    [stored] = inbox.ingest(engine, Batch([make_message("Salam", display_name="Əli")]))
    assert stored.conversation_id is not None
    return Case(stored.customer_id, stored.conversation_id)


def test_the_current_conversation_is_the_newest_active_else_the_newest(
    engine: Engine, case: Case, store_url: str
) -> None:
    assert inbox.current_conversation(engine, case.customer) == case.conversation
    assert Reader(store_url).conversation_state(case.customer).id == case.conversation  # type: ignore[union-attr]
    inbox.set_conversation_status(engine, case.conversation, "resolved", agent=AGENT)
    assert inbox.current_conversation(engine, case.customer) == case.conversation
    assert inbox.current_conversation(engine, 999) is None


def test_assign_to_me_to_someone_and_to_nobody(engine: Engine, case: Case) -> None:
    before = version(engine, case.customer)
    assert inbox.assign(engine, case.conversation, AGENT, agent=AGENT)
    assert conversation(engine, case.conversation).assignee == AGENT
    assert events(engine, "assign") == [EventRow(AGENT, "assign", case.conversation, None, AGENT)]
    assert version(engine, case.customer) > before
    # Acting made leyla a known agent.
    assert row(engine, "SELECT count(*) FROM agent WHERE name = 'leyla'")[0] == 1

    # Someone the store does not know is refused, with the agents it knows.
    with pytest.raises(inbox.ServiceError, match=r"no agent 'rauf'.*leyla"):
        inbox.assign(engine, case.conversation, "rauf", agent=AGENT)
    # An agent whose TUI ran (a presence row) is known, as is one who acted.
    inbox.presence_heartbeat(engine, "rauf", None)
    assert inbox.assign(engine, case.conversation, "rauf", agent=AGENT)
    assert not inbox.assign(engine, case.conversation, "rauf", agent=AGENT)  # no change
    assert inbox.assign(engine, case.conversation, None, agent="rauf")
    assert conversation(engine, case.conversation).assignee is None
    assert events(engine, "assign")[1:] == [
        EventRow(AGENT, "assign", case.conversation, AGENT, "rauf"),
        EventRow("rauf", "assign", case.conversation, "rauf", None),
    ]
    with pytest.raises(inbox.ServiceError, match="no conversation 999"):
        inbox.assign(engine, 999, AGENT, agent=AGENT)


def test_status_open_pending_resolved(engine: Engine, case: Case, store_url: str) -> None:
    reader = Reader(store_url)
    assert inbox.set_conversation_status(engine, case.conversation, "pending", agent=AGENT)
    assert conversation(engine, case.conversation).status == "pending"
    assert reader.customers(0, 1)[0].open == 1  # pending is still active
    assert inbox.set_conversation_status(engine, case.conversation, "resolved", agent=AGENT)
    state = conversation(engine, case.conversation)
    assert state.status == "resolved" and state.resolved_at is not None
    assert reader.customers(0, 1)[0].open == 0
    assert not inbox.set_conversation_status(engine, case.conversation, "resolved", agent=AGENT)
    assert inbox.set_conversation_status(engine, case.conversation, "open", agent=AGENT)
    assert events(engine, "status") == [
        EventRow(AGENT, "status", case.conversation, "open", "pending"),
        EventRow(AGENT, "status", case.conversation, "pending", "resolved"),
        EventRow(AGENT, "status", case.conversation, "resolved", "open"),
    ]
    with pytest.raises(inbox.ServiceError, match="not one of"):
        inbox.set_conversation_status(engine, case.conversation, "snoozed", agent=AGENT)
    with pytest.raises(inbox.ServiceError, match="no conversation"):
        inbox.set_conversation_status(engine, 999, "open", agent=AGENT)


def test_snooze_and_snooze_again(engine: Engine, case: Case, store_url: str) -> None:
    until = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    inbox.snooze(engine, case.conversation, until, agent=AGENT)
    state = conversation(engine, case.conversation)
    assert state.status == "snoozed"
    assert Reader(store_url).customers(0, 1)[0].snoozed_until == until
    later = until + timedelta(days=1)
    inbox.snooze(engine, case.conversation, later, agent=AGENT)
    assert events(engine, "snooze") == [
        EventRow(AGENT, "snooze", case.conversation, "open", until.isoformat()),
        EventRow(AGENT, "snooze", case.conversation, until.isoformat(), later.isoformat()),
    ]
    with pytest.raises(inbox.ServiceError, match="in the past"):
        inbox.snooze(engine, case.conversation, utcnow() - timedelta(minutes=1), agent=AGENT)
    with pytest.raises(inbox.ServiceError, match="time zone"):
        inbox.snooze(engine, case.conversation, until.replace(tzinfo=None), agent=AGENT)
    with pytest.raises(inbox.ServiceError, match="no conversation"):
        inbox.snooze(engine, 999, until, agent=AGENT)


def test_wake_opens_what_is_due_once_and_leaves_the_future_asleep(
    engine: Engine, make_message: MakeMessage, case: Case
) -> None:
    [other] = inbox.ingest(engine, Batch([make_message("Hi", address="john@example.com")]))
    assert other.conversation_id is not None
    now = utcnow()
    due, later = now + timedelta(hours=1), now + timedelta(days=1)
    inbox.snooze(engine, case.conversation, due, agent=AGENT)
    inbox.snooze(engine, other.conversation_id, later, agent=AGENT)
    assert inbox.wake_snoozed(engine, now + timedelta(minutes=30)) == []
    assert inbox.wake_snoozed(engine, now + timedelta(hours=2)) == [case.conversation]
    assert inbox.wake_snoozed(engine, now + timedelta(hours=2)) == []  # idempotent
    woken = conversation(engine, case.conversation)
    assert (woken.status, woken.snoozed_until) == ("open", None)
    assert conversation(engine, other.conversation_id).status == "snoozed"
    was = due.replace(microsecond=0).isoformat()
    assert events(engine, "wake") == [EventRow("system", "wake", case.conversation, was, "open")]
    # Back in front of the agents: the woken customer is first in the list again.
    from omnitui.reads import Reader

    first = Reader(str(engine.url)).customers(0, 5)[0]
    assert first.id == case.customer and first.last_activity_at == due


def test_a_customer_message_wakes_a_snoozed_conversation(
    engine: Engine, make_message: MakeMessage, case: Case
) -> None:
    inbox.snooze(engine, case.conversation, utcnow() + timedelta(days=3), agent=AGENT)
    [again] = inbox.ingest(engine, Batch([make_message("Any news?")]))
    assert again.conversation_id == case.conversation
    assert "woke snoozed conversation" in again.reason
    state = conversation(engine, case.conversation)
    assert (state.status, state.snoozed_until) == ("open", None)
    assert events(engine, "status")[-1] == EventRow(
        "system", "status", case.conversation, "snoozed", "open (customer wrote)"
    )


def test_tags_are_folded_made_on_first_use_and_audited(
    engine: Engine, case: Case, store_url: str
) -> None:
    before = version(engine, case.customer)
    assert inbox.add_tag(engine, case.conversation, "  VIP ", agent=AGENT)
    assert not inbox.add_tag(engine, case.conversation, "vip", agent=AGENT)
    added, removed = inbox.change_tags(
        engine, case.conversation, add=["Billing", "İade"], agent=AGENT
    )
    assert (added, removed) == (["billing", "iade"], [])
    reader = Reader(store_url)
    assert reader.tags() == ["billing", "iade", "vip"]
    assert reader.conversation_state(case.customer).tags == ("billing", "iade", "vip")  # type: ignore[union-attr]
    inbox.remove_tag(engine, case.conversation, "VIP", agent=AGENT)
    assert reader.conversation_state(case.customer).tags == ("billing", "iade")  # type: ignore[union-attr]
    assert reader.tags() == ["billing", "iade", "vip"]  # kept for completion
    assert version(engine, case.customer) > before
    assert events(engine, "tag") == [
        EventRow(AGENT, "tag", case.conversation, None, "vip"),
        EventRow(AGENT, "tag", case.conversation, None, "billing"),
        EventRow(AGENT, "tag", case.conversation, None, "iade"),
        EventRow(AGENT, "tag", case.conversation, "vip", None),
    ]
    for bad, said in [
        ("two words", "no spaces"),
        ("x" * 41, "at most 40"),
        ("  ", "needs a name"),
        ("a,b", "letters, digits"),
    ]:
        with pytest.raises(inbox.ServiceError, match=said):
            inbox.add_tag(engine, case.conversation, bad, agent=AGENT)
    with pytest.raises(inbox.ServiceError, match="has no tag 'vip'"):
        inbox.remove_tag(engine, case.conversation, "vip", agent=AGENT)
    # One transaction: a refused removal takes the additions with it.
    with pytest.raises(inbox.ServiceError):
        inbox.change_tags(engine, case.conversation, add=["new"], remove=["nope"], agent=AGENT)
    assert "new" not in reader.tags()


def test_block_and_unblock_an_identity(engine: Engine, case: Case, store_url: str) -> None:
    identity = row(engine, "SELECT id FROM identity WHERE customer_id = :c", c=case.customer)[0]
    assert inbox.block_identity(engine, identity, agent=AGENT)
    assert not inbox.block_identity(engine, identity, agent=AGENT)
    blocked = row(engine, "SELECT blocked_at, blocked_by FROM identity WHERE id = :i", i=identity)
    assert blocked.blocked_at is not None and blocked.blocked_by == AGENT
    state = Reader(store_url).conversation_state(case.customer)
    assert state is not None and [b.address for b in state.blocked] == ["ali@example.az"]
    assert inbox.unblock_identity(engine, identity, agent="rauf")
    assert row(engine, "SELECT blocked_at FROM identity WHERE id = :i", i=identity)[0] is None
    assert events(engine, "block", "unblock") == [
        EventRow(AGENT, "block", None, None, "email ali@example.az"),
        EventRow("rauf", "unblock", None, "email ali@example.az", None),
    ]
    with pytest.raises(inbox.ServiceError, match="no identity"):
        inbox.block_identity(engine, 999, agent=AGENT)


def test_mark_spam_blocks_resolves_and_tags_in_one_go(
    engine: Engine, case: Case, store_url: str
) -> None:
    identity = inbox.mark_spam(engine, case.conversation, agent=AGENT)
    assert row(engine, "SELECT blocked_by FROM identity WHERE id = :i", i=identity)[0] == AGENT
    assert conversation(engine, case.conversation).status == "resolved"
    state = Reader(store_url).conversation_state(case.customer)
    assert state is not None and state.tags == ("spam",)
    assert events(engine, "block", "status", "tag") == [
        EventRow(AGENT, "block", None, None, "email ali@example.az"),
        EventRow(AGENT, "status", case.conversation, "open", "resolved (spam)"),
        EventRow(AGENT, "tag", case.conversation, None, "spam"),
    ]
    assert Reader(store_url).customers(0, 1)[0].open == 0
    with pytest.raises(inbox.ServiceError, match="no conversation"):
        inbox.mark_spam(engine, 999, agent=AGENT)


def test_a_blocked_sender_is_stored_but_reopens_nothing_and_is_not_unread(
    engine: Engine, make_message: MakeMessage, case: Case, store_url: str
) -> None:
    inbox.mark_spam(engine, case.conversation, agent=AGENT)
    inbox.mark_read(engine, case.customer)
    reader = Reader(store_url)
    [before] = [r for r in reader.customers(0, 10) if r.id == case.customer]
    # One batch: the spammer twice around someone else; the batch's counters per customer.
    results = inbox.ingest(
        engine,
        Batch(
            [
                make_message("BUY NOW", subject="Re: hi"),
                make_message("Hello", address="john@example.com"),
                make_message("BUY MORE"),
            ]
        ),
    )
    spam, john, more = results
    assert spam.message_id is not None and more.message_id is not None  # never lost
    assert spam.conversation_id == more.conversation_id == case.conversation
    assert "blocked sender" in spam.reason and "not reopened" in spam.reason
    assert conversation(engine, case.conversation).status == "resolved"
    rows = {r.id: r for r in reader.customers(0, 10)}
    assert rows[case.customer].unread == 0
    assert rows[case.customer].open == 0
    assert rows[case.customer].last_activity_at == before.last_activity_at  # not lifted
    assert rows[case.customer].version > before.version  # the timeline reloads
    assert rows[john.customer_id].unread == 1
    assert {m.body for m in reader.timeline(case.customer)} >= {"BUY NOW", "BUY MORE"}


def test_a_blocked_sender_joins_an_open_conversation_without_counting(
    engine: Engine, make_message: MakeMessage, case: Case, store_url: str
) -> None:
    identity = row(engine, "SELECT id FROM identity WHERE customer_id = :c", c=case.customer)[0]
    inbox.mark_read(engine, case.customer)
    inbox.block_identity(engine, identity, agent=AGENT)
    [spam] = inbox.ingest(engine, Batch([make_message("spam")]))
    assert spam.conversation_id == case.conversation
    assert Reader(store_url).customers(0, 1)[0].unread == 0
    inbox.unblock_identity(engine, identity, agent=AGENT)
    inbox.ingest(engine, Batch([make_message("a real question")]))
    assert Reader(store_url).customers(0, 1)[0].unread == 1


def test_next_unread_walks_the_list_order_and_wraps(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    ids = [
        inbox.ingest(engine, Batch([make_message("hi", address=f"c{n}@example.com")]))[0]
        for n in range(4)
    ]
    newest_first = [r.customer_id for r in reversed(ids)]
    inbox.mark_read(engine, newest_first[1])
    reader = Reader(store_url)
    assert reader.next_unread(None) == newest_first[0]
    assert reader.next_unread(newest_first[0]) == newest_first[2]  # [1] is read
    assert reader.next_unread(newest_first[3]) == newest_first[0]  # wraps round
    for customer in newest_first:
        inbox.mark_read(engine, customer)
    assert reader.next_unread(newest_first[0]) is None


async def test_the_runner_wakes_due_snoozes_and_survives_a_failure(
    tmp_path: Path,
    store_url: str,
    engine: Engine,
    make_message: MakeMessage,
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [other] = inbox.ingest(engine, Batch([make_message("Hi", address="john@example.com")]))
    assert other.conversation_id is not None
    now = utcnow()
    # Snoozed an hour ago until a minute ago: due. The other one is not.
    inbox.snooze(
        engine,
        case.conversation,
        now - timedelta(minutes=1),
        agent=AGENT,
        now=now - timedelta(hours=1),
    )
    inbox.snooze(engine, other.conversation_id, now + timedelta(days=1), agent=AGENT)
    calls = 0
    real_wake = inbox.wake_snoozed

    def flaky_wake(engine: Engine) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("disk hiccup")
        return real_wake(engine)

    monkeypatch.setattr(runner, "WAKE_FIRST_SECONDS", 0.05)
    monkeypatch.setattr(runner, "WAKE_EVERY_SECONDS", 0.1)
    monkeypatch.setattr(inbox, "wake_snoozed", flaky_wake)
    settings = settings_for(
        tmp_path, store_url, runner={"heartbeat_seconds": 0.5, "lease_ttl_seconds": 3}
    )
    stop = asyncio.Event()
    caplog.set_level(logging.ERROR, logger="omnitui.runner")
    running = asyncio.create_task(runner.Runner(settings, []).run(stop))
    try:
        await async_wait_until(
            lambda: conversation(engine, case.conversation).status == "open",
            10,
            "the due snooze woken by the runner",
        )
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    assert calls >= 2
    assert "could not wake snoozed conversations" in caplog.text
    assert conversation(engine, other.conversation_id).status == "snoozed"
    assert [e.conversation_id for e in events(engine, "wake")] == [case.conversation]
