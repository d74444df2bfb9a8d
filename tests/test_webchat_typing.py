"""Typing indicators of the web chat, both ways, against a real Runner serving HTTP: a visitor's
typing pings reach the store (and only within their own limit), an agent's presence row reaches
the visitor's open event stream as an event without an id, which no catch-up ever holds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from omnitui import inbox
from omnitui.connectors import webchat
from omnitui.connectors.base import Batch
from omnitui.reads import Reader, parse_stamp
from tests.runner_support import query, scalar
from tests.test_webchat import (
    ALLOWED,
    FOREIGN,
    bearer,
    chat,
    chat_settings,
    customer_of,
    new_token,
    post,
)

Block = tuple[str | None, dict[str, Any]]
"""One SSE event as sent: its id (None when it has no id line) and its data."""


async def read_blocks(
    client: httpx.AsyncClient,
    token: str,
    done: Callable[[list[Block]], bool] | None,
    timeout: float,
    *,
    last: str = "",
    started: asyncio.Event | None = None,
) -> list[Block]:
    """The events of a new stream, each with its own id line or none, until ``done`` says
    so (fails after ``timeout``), or, without ``done``, all that came within ``timeout``.
    ``started`` is set once the stream answered."""
    headers = bearer(token) | ({"Last-Event-ID": last} if last else {})
    blocks: list[Block] = []

    async def read() -> None:
        async with client.stream("GET", "events", headers=headers) as stream:
            assert stream.status_code == 200
            if started is not None:
                started.set()
            event_id: str | None = None
            data = ""
            async for line in stream.aiter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    data += line[6:]
                elif not line and data:
                    blocks.append((event_id, json.loads(data)))
                    event_id, data = None, ""
                    if done is not None and done(blocks):
                        return

    try:
        await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        if done is not None:
            raise
    return blocks


def typing_events(blocks: list[Block]) -> list[Block]:
    return [b for b in blocks if b[1].get("kind") == "typing"]


async def typing_ping(client: httpx.AsyncClient, token: str, **headers: str) -> httpx.Response:
    return await client.post("typing", json={}, headers={**bearer(token), **headers})


async def test_a_typing_ping_marks_the_visitor_typing_apart_from_the_message_limit(
    tmp_path: Path,
    store_url: str,
) -> None:
    url = store = store_url
    async with chat(chat_settings(tmp_path, url, messages_per_minute=3)) as (_, client):
        token, visitor = await new_token(client)
        # Before the visitor wrote anything there is no one to mark: accepted, nothing stored.
        assert (await typing_ping(client, token)).status_code == 204
        assert query(store, "SELECT count(*) FROM identity") == [(0,)]
        assert (await post(client, token, "Salam", "typing-01")).status_code == 200
        customer = customer_of(store, visitor)
        version = scalar(store, "SELECT version FROM customer WHERE id = ?", (customer,))

        webchat_typing = "SELECT typing_at FROM identity WHERE address = ?"
        assert query(store, webchat_typing, (visitor,)) == [(None,)]
        before = datetime.now(UTC)
        # The ping that found no conversation does not hold this one back.
        assert (await typing_ping(client, token)).status_code == 204
        [(stored,)] = query(store, webchat_typing, (visitor,))
        assert stored is not None and parse_stamp(stored) >= before - timedelta(seconds=1)
        # No customer version moved: no TUI reloads a history for a ping.
        assert scalar(store, "SELECT version FROM customer WHERE id = ?", (customer,)) == version
        # At most one store write every 4 s a visitor, however often the page pings.
        for _ in range(5):
            assert (await typing_ping(client, token)).status_code == 204
        assert query(store, webchat_typing, (visitor,)) == [(stored,)]

        # Typing never uses up the visitor's messages: 2 more of the 3 a minute still go.
        assert (await post(client, token, "bir", "typing-02")).status_code == 200
        assert (await post(client, token, "iki", "typing-03")).status_code == 200
        # Its own limit: 40 pings a minute a visitor (7 were sent), then 429.
        codes = [(await typing_ping(client, token)).status_code for _ in range(34)]
        assert codes == [204] * 33 + [429]

        # A bad token, a foreign origin: refused; a preflight from the shop: granted.
        _, vis, issued, sig = token.split(".")
        forged = f"v1.{vis}.{int(issued) + 1}.{sig}"
        assert (await typing_ping(client, forged)).status_code == 403
        assert (await client.post("typing", json={})).status_code == 403
        other, _ = await new_token(client)
        assert (await typing_ping(client, other, Origin=FOREIGN)).status_code == 403
        preflight = await client.options(
            "typing", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == ALLOWED
        bad = await client.post(
            "typing", content=b"[]", headers={**bearer(other), "Content-Type": "text/plain"}
        )
        assert bad.status_code == 400


async def test_an_agent_typing_reaches_open_streams_as_events_without_an_id(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webchat, "TYPING_POLL_SECONDS", 0.2)
    monkeypatch.setattr(webchat, "TYPING_REPEAT_SECONDS", 0.5)
    url = store = store_url
    async with chat(chat_settings(tmp_path, url)) as (runner, client):
        token, visitor = await new_token(client)
        assert (await post(client, token, "Kimsə var?", "agent-0001")).status_code == 200
        customer = customer_of(store, visitor)
        other, stranger = await new_token(client)
        assert (await post(client, other, "Mən də", "agent-0002")).status_code == 200

        async def presence(typing: bool, customer_id: int = customer) -> None:
            await asyncio.to_thread(inbox.set_presence, runner.engine, "aysel", customer_id, typing)

        # The agent types while the stream is open: "typing" without an id, again while it
        # lasts; when the agent stops, "typing false".
        started = asyncio.Event()
        stopped = False

        def done(blocks: list[Block]) -> bool:
            return any(data == {"kind": "typing", "typing": False} for _, data in blocks)

        async def agent() -> None:
            nonlocal stopped
            await started.wait()
            await presence(True)
            await asyncio.sleep(1.2)  # more than two repeats
            await presence(False)
            stopped = True

        typing_agent = asyncio.create_task(agent())
        blocks = await read_blocks(client, token, done, 10, started=started)
        await typing_agent
        assert stopped
        assert blocks[0][0] == "in-agent-0001"  # the catch-up first
        typing = typing_events(blocks)
        assert typing == blocks[1:]
        assert all(event_id is None for event_id, _ in typing)
        assert [data["typing"] for _, data in typing][-1] is False
        assert [data["typing"] for _, data in typing].count(True) >= 2
        assert all(set(data) == {"kind", "typing"} for _, data in typing)

        # The other visitor's stream hears nothing of it; then typing to them, it does.
        listening = asyncio.Event()
        to_them = asyncio.create_task(
            read_blocks(client, other, lambda b: bool(typing_events(b)), 10, started=listening)
        )
        await listening.wait()
        await presence(True, customer_of(store, stranger))
        assert [d for _, d in typing_events(await to_them)] == [{"kind": "typing", "typing": True}]
        await presence(False, customer_of(store, stranger))

        # A reconnect's catch-up holds the events with ids only, from wherever it starts:
        # no typing event was kept, and no agent types now.
        for last, expected in (("", ["in-agent-0001"]), ("in-unknown", ["in-agent-0001"])):
            caught = await read_blocks(client, token, None, 1.0, last=last)
            assert [event_id for event_id, _ in caught] == expected
        assert await read_blocks(client, token, None, 1.0, last="in-agent-0001") == []


def test_reads_see_fresh_typing_only(engine: Engine, store_url: str, make_message: Any) -> None:
    """The store's side, by the clock: a visitor's ping counts 7 s, an agent's typing 6 s,
    for the visitor's account and customer only."""
    web = make_message("Salam", address="v-1", channel="webchat", account="site")
    [visitor] = inbox.ingest(engine, Batch([web]))
    [mail] = inbox.ingest(engine, Batch([make_message("Salam", address="a@b.az")]))
    reader = Reader(store_url)
    store = store_url
    now = datetime.now(UTC)
    assert reader.visitor_typing(visitor.customer_id) is None
    assert inbox.set_visitor_typing(engine, "site", "v-1", at=now - timedelta(seconds=5))
    assert not inbox.set_visitor_typing(engine, "other", "v-1")  # another account's visitor
    row = reader.visitor_typing(visitor.customer_id)
    assert row is not None and abs((row.at - now).total_seconds() + 5) < 0.01
    assert reader.visitor_typing(visitor.customer_id, now + timedelta(seconds=3)) is None

    assert reader.agents_typing_to("site") == set()
    inbox.set_presence(engine, "aysel", visitor.customer_id, True)
    assert reader.agents_typing_to("site") == {"v-1"}
    assert reader.agents_typing_to("other") == set()
    assert reader.agents_typing_to("site", datetime.now(UTC) + timedelta(seconds=7)) == set()
    # A stop for a customer the agent no longer types to changes nothing.
    inbox.set_presence(engine, "aysel", mail.customer_id, False)
    assert reader.agents_typing_to("site") == {"v-1"}
    [(beat,)] = query(store, "SELECT heartbeat_at FROM presence")
    inbox.set_presence(engine, "aysel", visitor.customer_id, False)
    assert reader.agents_typing_to("site") == set()
    # Stopping is no work: the heartbeat (the away notice's) stays where typing left it.
    assert query(store, "SELECT heartbeat_at, typing FROM presence") == [(beat, False)]
    # Typing to someone else moves the one row there.
    inbox.set_presence(engine, "aysel", mail.customer_id, True)
    assert reader.agents_typing_to("site") == set()
    rows = query(store, "SELECT agent, customer_id, typing FROM presence")
    assert rows == [("aysel", mail.customer_id, True)]
