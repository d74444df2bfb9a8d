"""The web chat under a bounded load, on loopback against a real runner: benchmarks/webchat_load.py
at a size that runs in a few seconds (exactly once, retries stored once, every message on an
agent's screen), and one visitor flooding while another is still served.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx

from benchmarks.webchat_load import MAX_PER_MINUTE, load
from tests.runner_support import query
from tests.test_webchat import chat, chat_settings, new_token, post

VISITORS = 50
MESSAGES = 5


async def test_fifty_visitors_at_once_are_stored_exactly_once_and_retries_add_nothing(
    tmp_path: Path,
    store_url: str,
) -> None:
    url = store = store_url
    settings = chat_settings(tmp_path, url, messages_per_minute=MAX_PER_MINUTE)
    result = await load(
        settings, store, visitors=VISITORS, messages=MESSAGES, connections=50, timeout=60
    )
    total = VISITORS * MESSAGES
    # With the limit set high nothing is refused: no 429, no 503, no transport error (not
    # even one the client retried).
    assert len(result.first.sent) == total and not result.first.errors
    assert not result.first.retried and not result.retry.retried
    assert result.stored == result.distinct == total
    assert result.expected_ids
    assert result.customers == VISITORS
    # A browser retrying under the same client id: answered 200, nothing new stored.
    assert len(result.retry.sent) == total and not result.retry.errors
    assert result.stored_after_retry == total
    # Every message reached the agent's screen (the customer list a TUI polls).
    assert len(result.visible) == total


async def test_one_visitor_flooding_is_limited_while_another_is_served(
    tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    async with chat(chat_settings(tmp_path, url, messages_per_minute=20)) as (_, client):
        flooder, _ = await new_token(client)
        # The limit counts per token and per IP: another visitor must come from another
        # address to be served while this one floods (127.0.0.2 is loopback too on Linux).
        other_transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(
            base_url=client.base_url, transport=other_transport, timeout=10, trust_env=False
        ) as elsewhere:
            other, other_visitor = await new_token(elsewhere)
            same_ip, _ = await new_token(client)

            flood = asyncio.gather(
                *(post(client, flooder, f"flood {n}", f"flood-{n:04}") for n in range(100))
            )
            await asyncio.sleep(0)  # the flood's requests are on their way
            started = time.monotonic()
            answer = await post(elsewhere, other, "Salam, mən də buradayam", "other-0001")
            took = time.monotonic() - started
            codes = Counter(r.status_code for r in await asyncio.wait_for(flood, 30))
            # A visitor behind the flooder's address shares its budget (documented, per IP).
            behind = await post(client, same_ip, "eyni ünvandan", "same-ip-0001")

    assert answer.status_code == 200, answer.text
    assert took < 1.0, f"the other visitor waited {took:.2f} s"
    assert codes == Counter({200: 20, 429: 80})
    assert behind.status_code == 429
    ids = [str(r[0]) for r in query(store, "SELECT external_id FROM message")]
    assert f"{other_visitor}:other-0001" in ids
    assert len(ids) == len(set(ids)) == 21
