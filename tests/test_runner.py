"""The runner with the demo channel: ingest with cursors, the outbox's retries, supervision."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine

from omnitui import inbox
from omnitui.config import Settings
from omnitui.connectors.base import (
    Batch,
    DeliveryError,
    InboundSink,
    OutboundMessage,
    SendResult,
)
from omnitui.connectors.demo import DELIVERIES_FILE, demo_connectors
from omnitui.runner import Runner
from tests.conftest import MakeMessage
from tests.runner_support import async_wait_until, deliveries, query, scalar, settings_for

SEED = 11
ACCOUNTS = ("demo-chat", "demo-mail", "demo-messenger")


def demo_settings(tmp_path: Path, store_url: str, **demo: object) -> Settings:
    return settings_for(
        tmp_path,
        store_url,
        demo={
            "enabled": True,
            "messages_per_minute": 600,
            "delivery_delay_seconds": [0.02, 0.2],
            "failure_rate": 0.3,
            "seed": SEED,
            **demo,
        },
        outbox={"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.5},
        runner={"heartbeat_seconds": 0.5, "lease_ttl_seconds": 3},
    )


def inbound_by_account(store: str) -> dict[str, int]:
    rows = query(
        store, "SELECT account, count(*) FROM message WHERE direction = 'in' GROUP BY account"
    )
    return dict(rows)


def cursors(store: str) -> dict[str, int]:
    rows = query(store, "SELECT account, value FROM syncstate WHERE key = 'seq'")
    return {account: int(value) for account, value in rows}


async def test_demo_channel_through_the_runner(
    tmp_path: Path, store_url: str, engine: Engine
) -> None:
    store = store_url
    settings = demo_settings(tmp_path, store_url)
    stop = asyncio.Event()
    running = asyncio.create_task(Runner(settings).run(stop))

    await async_wait_until(
        lambda: (
            scalar(store, "SELECT count(*) FROM customer") >= 12
            and len(inbound_by_account(store)) == 3
        ),
        10,
        "customers writing on all three demo accounts",
    )
    # The cursor commits with the messages it covers: at any instant they agree.
    snapshot = query(
        store,
        "SELECT s.account, s.value, (SELECT count(*) FROM message m "
        " WHERE m.account = s.account AND m.direction = 'in') "
        "FROM syncstate s WHERE s.key = 'seq'",
    )
    assert {a for a, _, _ in snapshot} == set(ACCOUNTS)
    assert all(int(seq) == count for _, seq, count in snapshot), snapshot

    customers = [row[0] for row in query(store, "SELECT id FROM customer ORDER BY id")]
    replies = [
        await asyncio.to_thread(
            inbox.queue_reply, engine, customers[i % len(customers)], f"reply {i}", agent="test"
        )
        for i in range(30)
    ]
    marks = ",".join(map(str, replies))

    def settled() -> bool:
        return not scalar(
            store,
            f"SELECT count(*) FROM message WHERE id IN ({marks}) "
            "AND delivery IN ('queued', 'sending')",
        )

    await async_wait_until(settled, 20, "every reply sent or failed")
    rows = query(
        store,
        f"SELECT idempotency_key, delivery, attempts, external_id, last_error "
        f"FROM message WHERE id IN ({marks})",
    )
    states = {row[1] for row in rows}
    assert states <= {"sent", "failed"}, states
    assert any(row[2] > 1 for row in rows), "with failure_rate 0.3 some replies must retry"
    delivered = deliveries(tmp_path / DELIVERIES_FILE)
    sent = {row[0] for row in rows if row[1] == "sent"}
    assert set(delivered) == sent
    assert all(count == 1 for count in delivered.values()), delivered.most_common(3)
    assert all(row[3] for row in rows if row[1] == "sent")
    assert all(row[4] for row in rows if row[1] == "failed")
    print(
        f"\n30 replies: {len(sent)} sent, {30 - len(sent)} failed, "
        f"{sum(row[2] for row in rows)} attempts"
    )

    stop.set()
    await asyncio.wait_for(running, 10)
    assert {row[0] for row in query(store, "SELECT state FROM connectorstate")} == {"stopped"}
    assert query(store, "SELECT holder FROM runnerlease") == [("",)]

    # A second runner on the same store continues each account's sequence.
    before = cursors(store)
    stop = asyncio.Event()
    running = asyncio.create_task(Runner(settings).run(stop))
    await async_wait_until(
        lambda: all(cursors(store)[a] >= before[a] + 3 for a in ACCOUNTS),
        10,
        "new demo messages after the restart",
    )
    stop.set()
    await asyncio.wait_for(running, 10)
    total, unique = query(
        store,
        "SELECT count(*), count(DISTINCT account || ' ' || external_id) FROM message "
        "WHERE direction = 'in'",
    )[0]
    assert total == unique
    for account, seq in cursors(store).items():
        ids = {
            row[0]
            for row in query(
                store,
                "SELECT external_id FROM message WHERE account = ? AND direction = 'in'",
                (account,),
            )
        }
        assert ids == {f"{account}-{SEED}-{n}" for n in range(1, seq + 1)}


class BrokenConnector:
    """A channel whose server refuses every connection."""

    account = "broken"
    channel = "webchat"
    idempotent_send = False

    def __init__(self) -> None:
        self.attempts: list[float] = []

    async def receive(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        self.attempts.append(time.monotonic())
        raise ConnectionError("connection refused by the test")

    async def send(self, message: OutboundMessage) -> SendResult:
        raise DeliveryError("never")


async def test_a_failing_connector_is_restarted_with_backoff_and_shown(
    tmp_path: Path, store_url: str, engine: Engine, make_message: MakeMessage
) -> None:
    store = store_url
    settings = demo_settings(tmp_path, store_url, failure_rate=0)
    broken = BrokenConnector()
    connectors = [broken, *demo_connectors(settings.config.demo, tmp_path)]
    stop = asyncio.Event()
    running = asyncio.create_task(Runner(settings, connectors).run(stop))

    await async_wait_until(lambda: len(broken.attempts) >= 3, 10, "two restarts")
    first, second = (b - a for a, b in zip(broken.attempts, broken.attempts[1:], strict=False))
    # 1 s then 2 s, each with jitter down to half.
    assert 0.45 <= first <= 1.2 and 0.95 <= second <= 2.3, (first, second)
    state = await async_wait_until(
        lambda: query(
            store,
            "SELECT state, error FROM connectorstate WHERE account = 'broken' "
            "AND state = 'backoff'",
        ),
        5,
        "the broken connector's backoff state",
    )
    assert "connection refused by the test" in state[0][1]

    # The rest of the runner goes on: demo messages keep arriving...
    seen = scalar(store, "SELECT count(*) FROM message WHERE direction = 'in'")
    await async_wait_until(
        lambda: scalar(store, "SELECT count(*) FROM message WHERE direction = 'in'") > seen + 5,
        5,
        "demo messages while the broken connector backs off",
    )
    assert not running.done()
    assert {
        row[0]
        for row in query(store, "SELECT state FROM connectorstate WHERE account LIKE 'demo-%'")
    } == {"running"}

    # ...and a reply on an account no connector serves fails for good, with the reason.
    [stray] = await asyncio.to_thread(
        inbox.ingest, engine, Batch([make_message("hi", account="nowhere")])
    )
    reply = await asyncio.to_thread(
        inbox.queue_reply, engine, stray.customer_id, "hello", agent="t"
    )
    row = await async_wait_until(
        lambda: query(
            store, "SELECT last_error FROM message WHERE id = ? AND delivery = 'failed'", (reply,)
        ),
        5,
        "the stray reply to fail",
    )
    assert row[0][0] == "no connector for account nowhere"

    stop.set()
    await asyncio.wait_for(running, 10)


class CrashingSender:
    """A channel whose send fails in a way that does not say whether it delivered."""

    channel = "webchat"

    def __init__(self, account: str, idempotent: bool) -> None:
        self.account = account
        self.idempotent_send = idempotent
        self.calls = 0

    async def receive(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        await asyncio.Event().wait()

    async def send(self, message: OutboundMessage) -> SendResult:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionResetError("connection reset after the request was written")
        return SendResult(f"remote-{message.message_id}")


async def test_a_send_with_unknown_outcome_is_retried_only_through_an_idempotency_key(
    tmp_path: Path, store_url: str, engine: Engine, make_message: MakeMessage
) -> None:
    store = store_url
    settings = demo_settings(tmp_path, store_url, enabled=False)
    keyed, unkeyed = CrashingSender("keyed", True), CrashingSender("unkeyed", False)
    stop = asyncio.Event()
    running = asyncio.create_task(Runner(settings, [keyed, unkeyed]).run(stop))
    replies = {}
    for account in ("keyed", "unkeyed"):
        [m] = await asyncio.to_thread(
            inbox.ingest, engine, Batch([make_message("hi", account=account, address=account)])
        )
        replies[account] = await asyncio.to_thread(
            inbox.queue_reply, engine, m.customer_id, "hello", agent="t"
        )

    def state(account: str) -> tuple[str, int]:
        [(delivery, attempts)] = query(
            store, "SELECT delivery, attempts FROM message WHERE id = ?", (replies[account],)
        )
        return delivery, attempts

    await async_wait_until(lambda: state("keyed") == ("sent", 2), 10, "the keyed retry")
    await async_wait_until(lambda: state("unkeyed")[0] == "unconfirmed", 10, "unconfirmed")
    assert unkeyed.calls == 1  # never resent by itself
    stop.set()
    await asyncio.wait_for(running, 10)
