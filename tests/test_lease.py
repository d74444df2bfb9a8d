"""One runner at a time: fencing by lease generation, and takeover after kill -9.

The takeover tests run real ``omnitui serve`` processes and kill the lease holder
with SIGKILL while it is sending replies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from omnitui import db, inbox
from omnitui.connectors.base import Batch, InboundSink, OutboundMessage, SendResult
from omnitui.connectors.demo import DELIVERIES_FILE, demo_connectors
from omnitui.runner import Runner, start_in_thread
from tests.conftest import MakeMessage
from tests.runner_support import (
    async_wait_until,
    deliveries,
    holds_lease,
    lease_holder,
    query,
    scalar,
    serve,
    settings_for,
    stop,
    wait_until,
    write_config,
)


def _expire_lease(engine: Engine) -> None:
    """What a long pause (GC, SIGSTOP, a slow disk) does to a holder: its lease runs out."""
    with db.write(engine) as session:
        session.connection().execute(
            text("UPDATE runnerlease SET expires_at = :past WHERE id = 1"),
            {"past": "2000-01-01 00:00:00.000000"},
        )


def test_a_holder_whose_lease_was_taken_claims_nothing(
    engine: Engine, make_message: MakeMessage
) -> None:
    [msg] = inbox.ingest(engine, Batch([make_message("where is my order?")]))
    old = inbox.acquire_lease(engine, "A", ttl=30)
    assert old is not None
    assert inbox.acquire_lease(engine, "B", ttl=30) is None  # held and alive
    reply = inbox.queue_reply(engine, msg.customer_id, "on its way", agent="t")
    _expire_lease(engine)  # A is paused past its lease
    assert inbox.claim_outbox(engine, "A", old) == []  # run out, even before a takeover
    new = inbox.acquire_lease(engine, "B", ttl=30)
    assert new is not None and new > old

    assert inbox.claim_outbox(engine, "A", old) == []
    assert not inbox.renew_lease(engine, "A", old, ttl=30)
    [claimed] = inbox.claim_outbox(engine, "B", new)
    assert claimed.message_id == reply

    # The generation is the fence, not the name: A holding the lease again (a new
    # generation) does not make a claim with its old token good.
    again = inbox.queue_reply(engine, msg.customer_id, "and a tracking number", agent="t")
    inbox.release_lease(engine, "B")
    newest = inbox.acquire_lease(engine, "A", ttl=30)
    assert newest is not None and newest > new
    assert inbox.claim_outbox(engine, "A", old) == []
    [claimed] = inbox.claim_outbox(engine, "A", newest)
    assert claimed.message_id == again
    assert query_delivery(engine, reply) == ("sending", new)


def query_delivery(engine: Engine, message_id: int) -> tuple[str, int]:
    with db.read(engine) as session:
        row = session.connection().execute(
            text("SELECT delivery, claimed_generation FROM message WHERE id = :id"),
            {"id": message_id},
        )
        delivery, generation = row.one()
        return str(delivery), int(generation)


def test_on_postgresql_a_claim_skips_replies_locked_by_another_transaction(
    store_kind: str, store_url: str, engine: Engine, make_message: MakeMessage
) -> None:
    """FOR UPDATE SKIP LOCKED: a reply another transaction holds is left to it, not waited
    for. (SQLite has no row locks: BEGIN IMMEDIATE locks the whole store.)"""
    if store_kind != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no row locks")
    import psycopg

    from omnitui import pg

    [msg] = inbox.ingest(engine, Batch([make_message("hello")]))
    generation = inbox.acquire_lease(engine, "A", ttl=30)
    assert generation is not None
    first = inbox.queue_reply(engine, msg.customer_id, "one", agent="t")
    second = inbox.queue_reply(engine, msg.customer_id, "two", agent="t")
    with (
        psycopg.connect(pg.libpq_url(store_url)) as other,
        ThreadPoolExecutor(1) as pool,
    ):
        other.execute("SELECT id FROM message WHERE id = %s FOR UPDATE", (first,))
        claiming = pool.submit(inbox.claim_outbox, engine, "A", generation)
        try:
            claimed = claiming.result(timeout=10)  # without SKIP LOCKED: waits for `other`
        finally:
            other.rollback()
    assert [m.message_id for m in claimed] == [second]
    assert [m.message_id for m in inbox.claim_outbox(engine, "A", generation)] == [first]


class RecordingConnector:
    account = "mail"
    channel = "email"
    idempotent_send = True

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def receive(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        await asyncio.Event().wait()

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message.message_id)
        return SendResult(f"sent-{message.message_id}")


async def test_a_runner_that_lost_its_lease_stops_sending_until_it_holds_it_again(
    tmp_path: Path, store_url: str, engine: Engine, make_message: MakeMessage
) -> None:
    settings = settings_for(
        tmp_path, store_url, runner={"heartbeat_seconds": 0.2, "lease_ttl_seconds": 2}
    )
    [msg] = await asyncio.to_thread(inbox.ingest, engine, Batch([make_message("hello")]))
    connector = RecordingConnector()
    runner = Runner(settings, [connector], holder="A")
    stop_a = asyncio.Event()
    running = asyncio.create_task(runner.run(stop_a))
    await async_wait_until(lambda: runner.holding, 5, "A to hold the lease")

    await asyncio.to_thread(_expire_lease, engine)
    assert await asyncio.to_thread(inbox.acquire_lease, engine, "B", 30) is not None
    reply = await asyncio.to_thread(inbox.queue_reply, engine, msg.customer_id, "hi", agent="t")
    await async_wait_until(lambda: not runner.holding, 5, "A to notice it lost the lease")
    # Several outbox polls later, A has claimed nothing.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert scalar(store_url, "SELECT delivery FROM message WHERE id = ?", (reply,)) == "queued"
        await asyncio.sleep(0.05)
    assert connector.sent == []

    await asyncio.to_thread(inbox.release_lease, engine, "B")
    await async_wait_until(lambda: connector.sent == [reply], 5, "A to take over and send")
    stop_a.set()
    await asyncio.wait_for(running, 10)


@pytest.mark.slow
@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "not-idempotent"])
def test_kill_9_the_holder_another_process_takes_over(
    tmp_path: Path, store_url: str, idempotent: bool
) -> None:
    url = store = store_url
    config = write_config(
        tmp_path / "config.toml",
        demo={
            "enabled": True,
            "messages_per_minute": 300,
            "delivery_delay_seconds": [0.5, 1.5],
            "failure_rate": 0.0,
            "idempotent": idempotent,
            "seed": 5,
        },
        runner={"lease_ttl_seconds": 6, "heartbeat_seconds": 2},
        outbox={"backoff_base_seconds": 0.2},
    )
    engine = db.make_engine(url)
    a = serve(tmp_path, config, "a", url)
    b = None
    try:
        wait_until(lambda: holds_lease(store, a), 15, "A to hold the lease")
        wait_until(lambda: scalar(store, "SELECT count(*) FROM customer") >= 10, 15, "customers")
        customers = [row[0] for row in query(store, "SELECT id FROM customer")]
        # The test process is a second writer while A ingests and sends.
        replies = [
            inbox.queue_reply(engine, customers[i % len(customers)], f"reply {i}", agent="t")
            for i in range(30)
        ]
        marks = ",".join(map(str, replies))
        wait_until(
            lambda: (
                scalar(
                    store,
                    f"SELECT count(*) FROM message WHERE id IN ({marks}) AND delivery = 'sending'",
                )
                >= 3
            ),
            10,
            "A to be sending replies",
        )
        os.kill(a.pid, signal.SIGKILL)
        a.wait()
        killed = time.monotonic()
        in_flight = dict(
            query(
                store,
                f"SELECT id, idempotency_key FROM message WHERE id IN ({marks}) "
                "AND delivery = 'sending'",
            )
        )
        assert in_flight
        # Delivered by A but killed before it could record so: B must not deliver them again.
        unrecorded = sum(deliveries(tmp_path / DELIVERIES_FILE)[k] for k in in_flight.values())

        b = serve(tmp_path, config, "b", url)
        wait_until(lambda: holds_lease(store, b), 10, "B to take the lease over")
        takeover = time.monotonic() - killed
        print(
            f"\ntakeover after kill -9: {takeover:.2f} s; {len(in_flight)} replies in flight, "
            f"{unrecorded} of them delivered but not recorded"
        )
        assert takeover < 10

        def settled() -> list[tuple[int, str, str]]:
            rows = query(
                store, f"SELECT id, delivery, idempotency_key FROM message WHERE id IN ({marks})"
            )
            return rows if all(r[1] not in ("queued", "sending") for r in rows) else []

        rows = wait_until(settled, 20, "every reply to settle")
        delivered = deliveries(tmp_path / DELIVERIES_FILE)
        if idempotent:
            assert {r[1] for r in rows} == {"sent"}
            assert all(delivered[r[2]] == 1 for r in rows), [delivered[r[2]] for r in rows]
        else:
            # What A was sending may or may not have reached the customer: never resent.
            for message_id, state, key in rows:
                if message_id in in_flight:
                    assert state == "unconfirmed" and delivered[key] <= 1
                else:
                    assert state == "sent" and delivered[key] == 1
        assert stop(b) == 0
        for name in ("a", "b"):
            assert "database is locked" not in (tmp_path / f"{name}.err").read_text()
        assert "Traceback" not in (tmp_path / "b.err").read_text()
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        engine.dispose()


@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "not-idempotent"])
async def test_a_reply_delivered_but_not_recorded_before_a_crash_is_not_delivered_again(
    tmp_path: Path, store_url: str, engine: Engine, make_message: MakeMessage, idempotent: bool
) -> None:
    """The window kill -9 rarely hits: the side effect happened, mark_sent did not."""
    settings = settings_for(
        tmp_path,
        store_url,
        demo={
            "enabled": True,
            "messages_per_minute": 0,
            "delivery_delay_seconds": [0, 0],
            "failure_rate": 0,
            "idempotent": idempotent,
        },
    )
    [msg] = await asyncio.to_thread(
        inbox.ingest, engine, Batch([make_message("hi", account="demo-mail")])
    )
    reply = await asyncio.to_thread(inbox.queue_reply, engine, msg.customer_id, "hello", agent="t")
    # A runner that is about to die: it claims the reply and delivers it...
    dead = await asyncio.to_thread(inbox.acquire_lease, engine, "dead", 30)
    assert dead is not None
    [claimed] = await asyncio.to_thread(inbox.claim_outbox, engine, "dead", dead)
    mail = next(
        c for c in demo_connectors(settings.config.demo, tmp_path) if c.account == "demo-mail"
    )
    first = await mail.send(claimed)
    await asyncio.to_thread(_expire_lease, engine)  # ...and is killed before recording it.

    stop_event = asyncio.Event()
    running = asyncio.create_task(Runner(settings).run(stop_event))
    final = "sent" if idempotent else "unconfirmed"
    row = await async_wait_until(
        lambda: query(
            store_url,
            "SELECT external_id FROM message WHERE id = ? AND delivery = ?",
            (reply, final),
        ),
        5,
        f"the reply to be {final}",
    )
    stop_event.set()
    await asyncio.wait_for(running, 10)
    assert deliveries(tmp_path / DELIVERIES_FILE)[claimed.idempotency_key] == 1
    if idempotent:
        assert row[0][0] == first.external_id


def test_runner_threads_one_holds_the_other_waits_and_takes_over(
    tmp_path: Path, store_url: str
) -> None:
    """What two TUIs do: the first runs the runner, the second stands by until it stops."""
    settings = settings_for(
        tmp_path,
        store_url,
        demo={"enabled": True, "messages_per_minute": 600, "seed": 8},
        runner={"heartbeat_seconds": 0.5, "lease_ttl_seconds": 3},
    )
    store = store_url
    first = start_in_thread(settings)
    try:
        wait_until(lambda: first.holding, 5, "the first TUI's runner to hold the lease")
        second = start_in_thread(settings)
        try:
            assert not second.holding
            wait_until(lambda: scalar(store, "SELECT count(*) FROM message") > 3, 5, "messages")
            started = time.monotonic()
            first.close()
            assert not first.thread.is_alive()
            wait_until(lambda: second.holding, 5, "the second TUI's runner to take over")
            assert time.monotonic() - started < 5
            assert lease_holder(store) == second.holder
        finally:
            second.close()
            assert not second.thread.is_alive()
    finally:
        first.close()
    assert lease_holder(store) == ""
