"""The demo connector on its own: a replayable inbound sequence and keyed deliveries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from omnitui.config import DemoConfig
from omnitui.connectors.base import Batch, Connector, DeliveryError, OutboundMessage
from omnitui.connectors.demo import DELIVERIES_FILE, DeliveryLog, DemoConnector, demo_connectors


def reply(key: str, account: str = "demo-chat") -> OutboundMessage:
    return OutboundMessage(1, key, account, "webchat", "visitor-1", "hello")


async def collect(connector: DemoConnector, cursor: dict[str, str], count: int) -> list[Batch]:
    batches: list[Batch] = []
    enough = asyncio.Event()

    async def sink(batch: Batch) -> None:
        batches.append(batch)
        if sum(len(b.messages) for b in batches) >= count:
            enough.set()

    task = asyncio.create_task(connector.receive(sink, cursor))
    await asyncio.wait_for(enough.wait(), 10)
    task.cancel()
    return batches


def test_three_accounts_share_the_rate_and_are_connectors(tmp_path: Path) -> None:
    connectors = demo_connectors(DemoConfig(messages_per_minute=90, seed=1), tmp_path)
    assert {(c.account, c.channel) for c in connectors} == {
        ("demo-mail", "email"),
        ("demo-messenger", "telegram"),
        ("demo-chat", "webchat"),
    }
    assert all(isinstance(c, Connector) and c.messages_per_minute == 30 for c in connectors)


async def test_a_cursor_replays_the_same_messages_and_continues_the_sequence(
    tmp_path: Path,
) -> None:
    config = DemoConfig(messages_per_minute=60_000, seed=4, failure_rate=0)
    path = tmp_path / DELIVERIES_FILE
    first = await collect(DemoConnector("demo-mail", "email", config, path), {}, 10)
    messages = [m for b in first for m in b.messages][:10]
    assert [m.external_id for m in messages] == [f"demo-mail-4-{n}" for n in range(1, 11)]
    assert all(b.cursor["seq"] == b.messages[-1].external_id.rsplit("-", 1)[1] for b in first)
    assert len({m.address for m in messages}) < 10, "customers come back"

    # After a crash that lost everything past seq 5, the same messages come again.
    again = await collect(DemoConnector("demo-mail", "email", config, path), {"seq": "5"}, 5)
    replayed = [m for b in again for m in b.messages][:5]
    assert [(m.external_id, m.address, m.body) for m in replayed] == [
        (m.external_id, m.address, m.body) for m in messages[5:10]
    ]


async def test_an_idempotent_send_delivers_a_key_once(tmp_path: Path) -> None:
    config = DemoConfig(delivery_delay_seconds=(0, 0), failure_rate=0, idempotent=True)
    path = tmp_path / DELIVERIES_FILE
    chat = DemoConnector("demo-chat", "webchat", config, path)
    first = await chat.send(reply("k1"))
    again = await chat.send(reply("k1"))
    assert first == again
    [line] = path.read_text().splitlines()
    assert json.loads(line)["key"] == "k1"

    # The next process (a new log object) finds the key in the file.
    DeliveryLog._open.clear()
    later = DemoConnector("demo-chat", "webchat", config, path)
    assert await later.send(reply("k1")) == first
    assert len(path.read_text().splitlines()) == 1


async def test_a_plain_send_delivers_every_time(tmp_path: Path) -> None:
    config = DemoConfig(delivery_delay_seconds=(0, 0), failure_rate=0, idempotent=False)
    path = tmp_path / DELIVERIES_FILE
    chat = DemoConnector("demo-chat", "webchat", config, path)
    await chat.send(reply("k1"))
    await chat.send(reply("k1"))
    assert len(path.read_text().splitlines()) == 2


async def test_a_line_cut_short_by_a_crash_does_not_spoil_the_next(tmp_path: Path) -> None:
    path = tmp_path / DELIVERIES_FILE
    path.write_text(
        '{"key": "k0", "account": "demo-chat", "address": "a", "external_id": "x"}\n{"ke'
    )
    config = DemoConfig(delivery_delay_seconds=(0, 0), failure_rate=0)
    chat = DemoConnector("demo-chat", "webchat", config, path)
    await chat.send(reply("k1"))
    assert chat.log.delivered("k0")
    DeliveryLog._open.clear()
    assert DeliveryLog.for_path(path).delivered("k1")


async def test_failures_are_mostly_transient(tmp_path: Path) -> None:
    config = DemoConfig(delivery_delay_seconds=(0, 0), failure_rate=1, seed=2)
    chat = DemoConnector("demo-chat", "webchat", config, tmp_path / DELIVERIES_FILE)
    permanent = 0
    for n in range(200):
        with pytest.raises(DeliveryError) as err:
            await chat.send(reply(f"k{n}"))
        permanent += err.value.permanent
    assert 5 <= permanent <= 40
    assert not (tmp_path / DELIVERIES_FILE).exists()
