"""The web chat end to end: a real Runner serving HTTP on a free loopback port, visitors played
by httpx (tokens, messages, the SSE stream with catch-up), an agent's reply queued in the store,
and hostile traffic (oversized, too fast, forged, foreign, garbage) refused without harm.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from omnitui import i18n, inbox
from omnitui.blobs import BlobStore
from omnitui.config import Settings
from omnitui.connectors import webchat
from omnitui.connectors.base import (
    Batch,
    DeliveryError,
    InboundMessage,
    OutboundFile,
    OutboundMessage,
)
from omnitui.connectors.webchat import STATIC, Tokens
from omnitui.filenames import safe_filename
from omnitui.reads import Reader
from omnitui.runner import Runner, StoreHistory
from tests.runner_support import async_wait_until, query, settings_for
from tests.test_http import free_port
from tests.test_mail_channel import running

SECRET = "webchat-test-secret-0123456789"
ALLOWED = "https://shop.acme.example"
FOREIGN = "https://evil.example"
HOSTILE = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


def write_catalogs(locale_dir: Path, translations: dict[str, dict[str, str]]) -> Path:
    """Compiled catalogs under ``locale_dir``: language -> {msgid: msgstr}, each msgid in the
    web chat's context, as ``webchat.visitor_words`` reads them."""
    for language, strings in translations.items():
        catalog = Catalog(locale=language, domain=i18n.DOMAIN)
        for msgid, msgstr in strings.items():
            catalog.add(msgid, msgstr, context="web chat")
        where = locale_dir / language / "LC_MESSAGES"
        where.mkdir(parents=True, exist_ok=True)
        with (where / f"{i18n.DOMAIN}.mo").open("wb") as f:
            write_mo(f, catalog)
    return locale_dir


def chat_settings(tmp_path: Path, store_url: str, **site: Any) -> Settings:
    port = free_port()
    account = {
        "secret": SECRET,
        "allowed_origins": [ALLOWED],
        "messages_per_minute": 1000,
        "greeting": "Salam! Necə kömək edək?",
        **site,
    }
    return settings_for(
        tmp_path, store_url, webchat={"site": account}, http={"listen": f"127.0.0.1:{port}"}
    )


@asynccontextmanager
async def chat(settings: Settings) -> AsyncIterator[tuple[Runner, httpx.AsyncClient]]:
    """A runner holding the lease with the web chat receiving, and a client at its base URL."""
    port = settings.config.http_address[1]  # type: ignore[index]
    base = f"http://127.0.0.1:{port}/webchat/site/"
    async with (
        running(settings) as runner,
        httpx.AsyncClient(base_url=base, timeout=10, trust_env=False) as client,
    ):

        async def ready() -> bool:
            try:
                return (await client.post("token")).status_code == 200
            except httpx.TransportError:
                return False

        deadline = time.monotonic() + 10
        while not await ready():
            assert time.monotonic() < deadline, "the web chat never answered"
            await asyncio.sleep(0.05)
        yield runner, client


async def new_token(client: httpx.AsyncClient) -> tuple[str, str]:
    answer = await client.post("token")
    assert answer.status_code == 200
    body = answer.json()
    return body["token"], body["visitor"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(
    client: httpx.AsyncClient, token: str, text: str, message_id: str, **headers: str
) -> httpx.Response:
    return await client.post(
        "messages", json={"id": message_id, "text": text}, headers={**bearer(token), **headers}
    )


async def read_events(
    client: httpx.AsyncClient, token: str, count: int, timeout: float, last: str = ""
) -> list[tuple[str, dict[str, Any]]]:
    """The first ``count`` events of a new stream (id, data); fails after ``timeout``."""
    headers = bearer(token) | ({"Last-Event-ID": last} if last else {})
    events: list[tuple[str, dict[str, Any]]] = []

    async def read() -> None:
        async with client.stream("GET", "events", headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            event_id = ""
            async for line in stream.aiter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    events.append((event_id, json.loads(line[6:])))
                    if len(events) == count:
                        return

    await asyncio.wait_for(read(), timeout)
    return events


def customer_of(store: str, visitor: str) -> int:
    rows = query(
        store,
        "SELECT customer_id FROM identity WHERE channel = 'webchat' AND address = ?",
        (visitor,),
    )
    return int(rows[0][0])


def stored(store: str) -> list[tuple[Any, ...]]:
    return query(
        store,
        "SELECT channel, account, direction, external_id, body FROM message "
        "WHERE direction = 'in' ORDER BY id",
    )


async def test_a_message_is_stored_and_replies_arrive_live_and_by_catch_up(
    tmp_path: Path,
    store_url: str,
) -> None:
    url = store = store_url
    async with chat(chat_settings(tmp_path, url)) as (runner, client):
        token, visitor = await new_token(client)
        answer = await post(client, token, "Salam, sifarişim gəlmədi", "msg-0001")
        # Answered only once committed: it is in the store the moment the answer is.
        assert answer.status_code == 200 and answer.json() == {"id": "in-msg-0001"}
        assert stored(store) == [
            ("webchat", "site", "in", f"{visitor}:msg-0001", "Salam, sifarişim gəlmədi")
        ]
        customer = customer_of(store, visitor)

        # The visitor's own message is the first event; the agent's reply follows live.
        async def reply_later(text: str) -> int:
            await asyncio.sleep(0.3)
            return await asyncio.to_thread(
                inbox.queue_reply, runner.engine, customer, text, agent="aysel"
            )

        started = time.monotonic()
        replying = asyncio.create_task(reply_later("Sifarişiniz yoldadır."))
        events = await read_events(client, token, 2, 5)
        await replying
        assert time.monotonic() - started < 0.3 + 1.0
        (first_id, first), (reply_id, reply) = events
        assert (first_id, first["kind"], first["text"]) == (
            "in-msg-0001",
            "visitor",
            "Salam, sifarişim gəlmədi",
        )
        assert reply["kind"] == "reply" and reply["text"] == "Sifarişiniz yoldadır."
        key = query(store, "SELECT idempotency_key FROM message WHERE direction = 'out'")[0][0]
        assert reply_id == key == reply["id"]
        await async_wait_until(
            lambda: (
                query(store, "SELECT delivery FROM message WHERE direction = 'out'") == [("sent",)]
            ),
            5,
            "the reply recorded as sent",
        )

        # Disconnected, the visitor misses a reply: reconnecting with Last-Event-ID gets it,
        # and only it.
        second = await asyncio.to_thread(
            inbox.queue_reply, runner.engine, customer, "Sabah çatacaq.", agent="aysel"
        )
        await async_wait_until(
            lambda: (
                query(store, "SELECT delivery FROM message WHERE id = ?", (second,)) == [("sent",)]
            ),
            5,
            "the second reply sent",
        )
        [(missed_id, missed)] = await read_events(client, token, 1, 5, last=reply_id)
        assert missed["text"] == "Sabah çatacaq." and missed_id != reply_id
        # Another visitor sees none of it.
        other, _ = await new_token(client)
        await post(client, other, "başqa", "other-0001")
        [(only, _)] = await read_events(client, other, 1, 5)
        assert only == "in-other-0001"


async def test_a_retried_post_is_stored_once_and_the_profile_names_the_visitor(
    tmp_path: Path,
    store_url: str,
) -> None:
    url = store = store_url
    async with chat(chat_settings(tmp_path, url)) as (_, client):
        token, visitor = await new_token(client)
        for _ in range(3):
            answer = await post(client, token, "Bir dəfə", "retry-0001")
            assert answer.status_code == 200
        assert [row[4] for row in stored(store)] == ["Bir dəfə"]
        answer = await client.post(
            "profile",
            json={"name": "Leyla  Məmmədova", "email": "leyla@example.az"},
            headers=bearer(token),
        )
        assert answer.status_code == 204
        [(name,)] = query(store, "SELECT display_name FROM identity WHERE address = ?", (visitor,))
        assert name == "Leyla Məmmədova"
        assert stored(store)[-1][4] == "[left contact details: Leyla Məmmədova, leyla@example.az]"
        bad = await client.post("profile", json={"email": "not-an-address"}, headers=bearer(token))
        assert bad.status_code == 400


async def test_hostile_requests_are_refused_and_the_runner_keeps_serving(
    tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = chat_settings(tmp_path, url, max_body_bytes=1024)
    async with chat(settings) as (_, client):
        token, visitor = await new_token(client)
        # Too large: 413, by the declared length or by what is sent.
        big = await post(client, token, "x" * 2000, "big-00001")
        assert big.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"x" * 500

        streamed = await client.post("messages", content=chunks(), headers=bearer(token))
        assert streamed.status_code == 413
        # Forged, tampered, expired, missing tokens: 403.
        v1, vis, issued, sig = token.split(".")
        forged = [
            # One character of the signature changed (never to itself: "AA" at the end was,
            # once in a thousand tokens, the real signature).
            f"{v1}.{vis}.{issued}.{'B' if sig[0] != 'B' else 'C'}{sig[1:]}",
            f"{v1}.{'A' * 22}.{issued}.{sig}",
            f"{v1}.{vis}.{int(issued) + 1}.{sig}",
            "garbage",
            "v1...",
        ]
        for bad in forged:
            assert (await post(client, bad, "forged", "forged-001")).status_code == 403
        old = Tokens("site", SECRET.encode(), 30 * 86400.0)
        _, expired = old.issue(now=time.time() - 31 * 86400)
        assert (await post(client, expired, "old", "expired-01")).status_code == 403
        _, fresh = old.issue(now=time.time() - 29 * 86400)
        assert (await post(client, fresh, "still good", "fresh-0001")).status_code == 200
        other_account = Tokens("other", SECRET.encode(), 30 * 86400.0).issue()[1]
        assert (await post(client, other_account, "x", "account-01")).status_code == 403
        assert (await client.get("events", headers=bearer(forged[0]))).status_code == 403
        no_token = await client.post("messages", json={"id": "none-0001", "text": "x"})
        assert no_token.status_code == 403
        # Garbage bodies: 400, nothing stored.
        for body in (b"\xff\xfe not json", b"[1, 2]", b"{" * 600, b'{"id": 5, "text": "x"}'):
            answer = await client.post(
                "messages", content=body, headers={**bearer(token), "Content-Type": "text/plain"}
            )
            assert answer.status_code == 400, body
        assert (await post(client, token, "   ", "blank-0001")).status_code == 400
        assert (await post(client, token, "x", "bad id!")).status_code == 400
        # Hostile text is stored and served as text (JSON), never as markup.
        for n, text in enumerate(HOSTILE):
            assert (await post(client, token, text, f"hostile-{n:03}")).status_code == 200
        assert [row[4] for row in stored(store)][-2:] == list(HOSTILE)
        events = await read_events(client, token, 2, 5)
        assert [data["text"] for _, data in events] == list(HOSTILE)
        # The runner still serves, and stores what is good.
        assert (await post(client, token, "hələ buradayam", "after-0001")).status_code == 200
        assert stored(store)[-1][3:] == (f"{visitor}:after-0001", "hələ buradayam")


async def test_too_many_messages_get_429_with_retry_after(tmp_path: Path, store_url: str) -> None:
    url = store = store_url
    async with chat(chat_settings(tmp_path, url, messages_per_minute=3)) as (_, client):
        token, _ = await new_token(client)
        codes = [(await post(client, token, f"m{n}", f"rate-{n:04}")).status_code for n in range(3)]
        assert codes == [200, 200, 200]
        refused = await post(client, token, "one too many", "rate-0099")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 61
        assert len(stored(store)) == 3
        # Per IP too: a new token from the same address is no way around it.
        other, _ = await new_token(client)
        assert (await post(client, other, "again", "rate-0100")).status_code == 429


async def test_cors_is_granted_to_allowed_origins_only(tmp_path: Path, store_url: str) -> None:
    url = store = store_url
    async with chat(chat_settings(tmp_path, url)) as (_, client):
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        }
        allowed = await client.options("messages", headers={"Origin": ALLOWED, **preflight})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == ALLOWED
        assert "Authorization" in allowed.headers["access-control-allow-headers"]
        foreign = await client.options("messages", headers={"Origin": FOREIGN, **preflight})
        assert foreign.status_code == 403
        assert "access-control-allow-origin" not in foreign.headers

        token = (await client.post("token", headers={"Origin": ALLOWED})).json()["token"]
        granted = await post(client, token, "from the shop", "cors-0001", Origin=ALLOWED)
        assert granted.status_code == 200
        assert granted.headers["access-control-allow-origin"] == ALLOWED
        refused = await post(client, token, "from evil", "cors-0002", Origin=FOREIGN)
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
        assert (await client.post("token", headers={"Origin": FOREIGN})).status_code == 403
        # The server's own page (same origin) needs no grant and is not refused.
        own = str(client.base_url).split("/webchat/")[0]
        assert (
            await post(client, token, "from the page", "cors-0003", Origin=own)
        ).status_code == 200
        assert [row[4] for row in stored(store)] == ["from the shop", "from the page"]


async def test_the_page_and_the_script_are_served_small_and_safe(
    tmp_path: Path, store_url: str
) -> None:
    url = store_url
    async with chat(chat_settings(tmp_path, url, title="Acme")) as (_, client):
        page = await client.get("")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'src="widget.js"' in page.text
        script = await client.get("widget.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.headers["x-content-type-options"] == "nosniff"
        styles = await client.get("widget.css")
        assert styles.status_code == 200 and styles.headers["content-type"].startswith("text/css")
        assert styles.headers["x-content-type-options"] == "nosniff"
        # No inline style or script anywhere, so the policy allows none.
        for served in (page, script, styles):
            policy = served.headers["content-security-policy"]
            assert "'unsafe-inline'" not in policy and "style-src 'self';" in policy
            assert "base-uri 'none'" in policy and "frame-ancestors 'self'" in policy
        assert "<style" not in page.text and " style=" not in page.text
        assert 'href="widget.css"' in page.text
        redirect = await client.get(str(client.base_url).rstrip("/"))
        assert redirect.status_code == 308 and redirect.headers["location"] == "site/"
        config = (await client.get("config")).json()
        assert {k: v for k, v in config.items() if k != "strings"} == {
            "title": "Acme",
            "greeting": "Salam! Necə kömək edək?",
            "agents_active": False,
            "lang": "en",
            "dir": "ltr",
        }
        assert config["strings"]["typing"] == "Support is typing…"
        assert config["strings"]["title"] == "Chat with us"
    js = STATIC.joinpath("widget.js").read_text("utf-8")
    html = STATIC.joinpath("chat.html").read_text("utf-8")
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
    assert "document.write" not in js and "eval(" not in js
    assert '"style"' not in js and ".style" not in js and "cssText" not in js
    assert 'dir: "auto"' in js and '"aria-live": "polite"' in js
    # The script keeps no words of its own: they come from /config, in the visitor's language.
    assert "config?lang=" in js and "c.strings" in js
    assert "Chat with us" not in js and "Support is typing" not in js and "Mesaj" not in js
    css = STATIC.joinpath("widget.css").read_text("utf-8")
    assert len(js.encode()) + len(css.encode()) + len(html.encode()) < 18_000


async def test_the_catch_up_survives_a_runner_restart(tmp_path: Path, store_url: str) -> None:
    url = store = store_url
    settings = chat_settings(tmp_path, url)
    async with chat(settings) as (runner, client):
        token, visitor = await new_token(client)
        assert (await post(client, token, "Salam", "restart-01")).status_code == 200
        await post(client, token, "[not an event]", "restart-02")
        customer = customer_of(store, visitor)
        reply = await asyncio.to_thread(
            inbox.queue_reply, runner.engine, customer, "Buradayıq.", agent="aysel"
        )
        await async_wait_until(
            lambda: (
                query(store, "SELECT delivery FROM message WHERE id = ?", (reply,)) == [("sent",)]
            ),
            5,
            "the reply sent",
        )
        # The profile's message is stored but is no event of the stream.
        await client.post("profile", json={"name": "Leyla"}, headers=bearer(token))
    [(key,)] = query(store, "SELECT idempotency_key FROM message WHERE id = ?", (reply,))
    async with chat(settings) as (_, client):  # a new runner: nothing in its memory
        events = await read_events(client, token, 2, 5, last="in-restart-01")
        assert [(i, e["kind"], e["text"]) for i, e in events] == [
            ("in-restart-02", "visitor", "[not an event]"),
            (key, "reply", "Buradayıq."),
        ]
        [(only, data)] = await read_events(client, token, 1, 5, last="in-restart-02")
        assert only == key == data["id"]
        # An unknown id: the whole history, oldest first.
        everything = await read_events(client, token, 3, 5, last="in-forgotten")
        assert [i for i, _ in everything] == ["in-restart-01", "in-restart-02", key]
    history = StoreHistory(url).events_after("site", visitor, None, 10)
    assert [e.id for e in history] == ["in-restart-01", "in-restart-02", key]


async def test_the_config_says_whether_agents_are_about(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webchat, "ACTIVITY_SECONDS", 0.0)
    url = store = store_url
    async with chat(chat_settings(tmp_path, url, away_after_minutes=5)) as (runner, client):
        assert (await client.get("config")).json()["agents_active"] is False
        token, visitor = await new_token(client)
        await post(client, token, "Kimsə var?", "away-0001")
        # A visitor's message is no agent at work.
        assert (await client.get("config")).json()["agents_active"] is False
        await asyncio.to_thread(
            inbox.queue_reply, runner.engine, customer_of(store, visitor), "Bəli!", agent="aysel"
        )
        assert (await client.get("config")).json()["agents_active"] is True
    js = STATIC.joinpath("widget.js").read_text("utf-8")
    assert "T.away" in js and "c.agents_active === false" in js


async def test_the_chat_speaks_the_visitors_language_from_the_catalogs(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """?lang= (the script's data-lang or the browser's language) first, then Accept-Language;
    the words come from the gettext catalogs, whatever the console's own language."""
    locale = write_catalogs(
        tmp_path / "locale",
        {
            "az": {"Support is typing…": "Dəstək yazır…", "Chat with us": "Bizə yazın"},
            "fa": {"This chat needs JavaScript.": "این گفتگو به جاوااسکریپت نیاز دارد."},
        },
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    url = store_url
    async with chat(chat_settings(tmp_path, url)) as (_, client):
        az = (await client.get("config", params={"lang": "az-AZ"})).json()
        assert (az["lang"], az["dir"], az["title"]) == ("az", "ltr", "")
        assert az["strings"]["typing"] == "Dəstək yazır…"
        assert az["strings"]["title"] == "Bizə yazın"
        assert az["strings"]["send"] == "Send"  # not translated yet: English
        browser = {"Accept-Language": "de-DE,de;q=0.9,fa;q=0.8,az;q=0.5"}
        fa = (await client.get("config", params={"lang": "de-DE"}, headers=browser)).json()
        assert (fa["lang"], fa["dir"]) == ("fa", "rtl")
        unknown = (await client.get("config", headers={"Accept-Language": "de, *"})).json()
        assert unknown["lang"] == "en" and unknown["strings"]["title"] == "Chat with us"
        page = await client.get("", headers={"Accept-Language": "fa-IR"})
        assert '<html class="oc-page-html" lang="fa" dir="rtl">' in page.text
        assert "<title>Chat with us</title>" in page.text
        assert "<noscript>این گفتگو به جاوااسکریپت نیاز دارد.</noscript>" in page.text
    assert webchat.visitor_language(None, "tr;q=0.2, fa;q=0") == "tr"
    assert webchat.visitor_language("xx", "") == "en"


async def test_a_visitor_who_leaves_a_customers_email_joins_that_history_unverified(
    tmp_path: Path,
    store_url: str,
) -> None:
    url = store = store_url
    async with chat(chat_settings(tmp_path, url)) as (runner, client):
        mail = InboundMessage(
            account="mail",
            channel="email",
            external_id="<1@example.az>",
            address="leyla@example.az",
            body="Sifariş haqqında",
            sent_at=datetime.now(UTC),
        )
        await asyncio.to_thread(inbox.ingest, runner.engine, Batch([mail]))
        [(owner,)] = query(store, "SELECT customer_id FROM identity WHERE channel = 'email'")
        token, visitor = await new_token(client)
        await post(client, token, "Salam, sifarişim haradadır?", "link-0001")
        alone = customer_of(store, visitor)
        for _ in range(2):  # saved twice: linked once
            answer = await client.post(
                "profile",
                json={"name": "Leyla", "email": " Leyla@Example.az"},
                headers=bearer(token),
            )
            assert answer.status_code == 204
        # The chat is inside the email customer's history now, marked unverified.
        assert customer_of(store, visitor) == owner
        assert query(
            store, "SELECT DISTINCT customer_id FROM message WHERE channel = 'webchat'"
        ) == [(owner,)]
        assert query(store, "SELECT claimed_email FROM identity WHERE channel = 'webchat'") == [
            ("leyla@example.az",)
        ]
        assert query(store, "SELECT merged_into_id FROM customer WHERE id = ?", (alone,)) == [
            (owner,)
        ]
        events = query(store, "SELECT customer_id, kind, after FROM event WHERE kind LIKE 'ident%'")
        assert events == [
            (owner, "identity-linked", f"email leyla@example.az ({inbox.UNVERIFIED})")
        ]
        reader = Reader(url)
        detail = reader.customer(owner)
        assert detail is not None
        assert detail.row.unread == 3  # the email, the chat message, the contact details
        chat_identity = next(i for i in detail.identities if i.channel == "webchat")
        assert chat_identity.claimed_email == "leyla@example.az"
        timeline = reader.timeline(owner)
        assert [i.subject for i in timeline if i.kind == "event"] == ["identity-linked"]
        assert {i.channel for i in timeline if i.kind == "in"} == {"email", "webchat"}
        # A visitor whose customer has more than this one address is not moved: suggested.
        other, stranger = await new_token(client)
        await post(client, other, "Salam", "link-0002")
        await client.post("profile", json={"email": "new@example.az"}, headers=bearer(other))
        mine = customer_of(store, stranger)
        await client.post("profile", json={"email": "leyla@example.az"}, headers=bearer(other))
        assert customer_of(store, stranger) == mine
        suggested = query(
            store, "SELECT customer_id, after FROM event WHERE kind = 'link-suggested' ORDER BY id"
        )
        assert suggested == [
            (mine, f"email leyla@example.az: customer {owner}"),
            (owner, f"email leyla@example.az: customer {mine}"),
        ]
        # A reply or note by "system" is no agent at work.
        assert (await client.get("config")).json()["agents_active"] is False


async def test_messages_arriving_together_share_a_commit_and_a_bad_one_fails_alone(
    tmp_path: Path,
    store_url: str,
) -> None:
    url = store = store_url
    from omnitui import db

    engine = db.make_engine(url)
    commits: list[int] = []

    async def sink(batch: Batch) -> None:
        commits.append(len(batch.messages))
        if any(m.external_id == "v:poison" for m in batch.messages):
            raise ValueError("the store refused it")
        await asyncio.to_thread(inbox.ingest, engine, batch)

    def message(n: int | str) -> InboundMessage:
        return InboundMessage(
            account="site",
            channel="webchat",
            external_id=f"v:{n}",
            address=f"visitor{n}",
            body=f"message {n}",
            sent_at=datetime.now(UTC),
        )

    group = webchat.GroupCommit(sink)
    results = await asyncio.gather(
        *(group.store(message(n)) for n in range(30)),
        group.store(message("poison")),
        return_exceptions=True,
    )
    assert results[:30] == [None] * 30
    assert isinstance(results[30], ValueError)
    ids = {str(r[0]) for r in query(store, "SELECT external_id FROM message")}
    assert ids == {f"v:{n}" for n in range(30)}
    # All 31 arrived before the first commit: one transaction, which the poison fails; then
    # each alone, so the other 30 are stored.
    assert commits == [31] + [1] * 31
    engine.dispose()


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
PAGE = b"<!doctype html><script>alert(document.domain)</script>"
NAMED = "Sipariş özeti — فاکتور ۴۴۷۱.pdf"
HOSTILE_FILE = "<img src=x onerror=alert(1)>.html"


def outgoing(tmp_path: Path, **named: bytes) -> list[Path]:
    folder = tmp_path / "outgoing"
    folder.mkdir(exist_ok=True)
    paths = []
    for name, data in named.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


async def test_a_reply_with_files_links_them_live_and_by_catch_up_for_its_visitor_only(
    tmp_path: Path,
    store_url: str,
) -> None:
    url = store = store_url
    settings = chat_settings(tmp_path, url)
    blobs = BlobStore(settings.data_dir / "attachments")
    paths = outgoing(tmp_path, **{NAMED: PDF, HOSTILE_FILE: PAGE})
    hostile_kept = safe_filename(HOSTILE_FILE, "text/html", 1)
    async with chat(settings) as (runner, client):
        token, visitor = await new_token(client)
        assert (await post(client, token, "Faktura?", "files-0001")).status_code == 200
        customer = customer_of(store, visitor)

        async def reply_later() -> int:
            await asyncio.sleep(0.3)
            return await asyncio.to_thread(
                inbox.queue_reply, runner.engine, customer, "", agent="aysel",
                attachments=paths, blobs=blobs,
            )  # fmt: skip

        # Files and no text: allowed on this channel, and published live.
        replying = asyncio.create_task(reply_later())
        [_, (key, live)] = await read_events(client, token, 2, 5)
        reply = await replying
        assert live["kind"] == "reply" and live["text"] == ""
        files = live["files"]
        assert [(f["name"], f["size"], f["type"]) for f in files] == [
            (NAMED, len(PDF), "application/pdf"),
            (hostile_kept, len(PAGE), "text/html"),
        ]
        await async_wait_until(
            lambda: (
                query(store, "SELECT delivery FROM message WHERE id = ?", (reply,)) == [("sent",)]
            ),
            5,
            "the reply sent",
        )
    async with chat(settings) as (_, client):  # a new runner: the catch-up is the store's
        [(again_id, again)] = await read_events(client, token, 1, 5, last="in-files-0001")
        assert again_id == key
        assert [(f["name"], f["size"], f["type"]) for f in again["files"]] == [
            (f["name"], f["size"], f["type"]) for f in files
        ]
        pdf, page = again["files"]
        for link in (files[0]["url"], pdf["url"]):  # the live link and the caught-up one
            assert link.startswith(f"files/{hashlib.sha256(PDF).hexdigest()}/")
            got = await client.get(link)
            assert got.status_code == 200 and got.content == PDF
            assert got.headers["content-type"] == "application/pdf"
            assert got.headers["content-disposition"] == (
                'attachment; filename="Siparis ozeti.pdf"; '
                f"filename*=UTF-8''{quote(NAMED, safe='')}"
            )
            assert got.headers["x-content-type-options"] == "nosniff"
            assert got.headers["content-security-policy"] == "sandbox"
            assert got.headers["cache-control"].startswith("private, max-age=")
        # An agent's web page is a download of bytes, never a page of this origin.
        got = await client.get(page["url"])
        assert got.status_code == 200 and got.content == PAGE
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment; ")
        assert got.headers["content-security-policy"] == "sandbox"
        # A plain navigation to it (no Origin) is fine; a fetch from a foreign site is not.
        assert (await client.get(pdf["url"], headers={"Origin": FOREIGN})).status_code == 403

        # Tampered with in any part, made for another visitor, expired: 403.
        other, other_visitor = await new_token(client)
        path, _, query_text = pdf["url"].partition("?")
        params = dict(parse_qsl(query_text))
        sig = params["s"]

        def link(path: str = path, **changed: str) -> str:
            return f"{path}?{urlencode({**params, **changed})}"

        refused = [
            link(s=("B" if sig[0] != "B" else "C") + sig[1:]),
            link(v=other_visitor),
            link(e=str(int(params["e"]) + 1)),
            link(t="text/html"),
            link(path.rsplit("/", 1)[0] + "/invoice.exe"),
            link(path.replace(hashlib.sha256(PDF).hexdigest(), hashlib.sha256(PAGE).hexdigest())),
            path,
        ]
        for bad in refused:
            assert (await client.get(bad)).status_code == 403, bad
        signer = Tokens("site", SECRET.encode(), 30 * 86400.0)
        sent = OutboundFile(NAMED, "application/pdf", hashlib.sha256(PDF).hexdigest(), len(PDF))
        expired = signer.file_link(visitor, sent, now=time.time() - 31 * 86400)
        assert (await client.get(expired)).status_code == 403
        assert (await client.get(signer.file_link(visitor, sent))).status_code == 200
        # A good link to a file the store does not have: 404.
        gone = OutboundFile("gone.pdf", "application/pdf", hashlib.sha256(b"gone").hexdigest(), 4)
        assert (await client.get(signer.file_link(visitor, gone))).status_code == 404
        # The other visitor's stream has none of it.
        await post(client, other, "mən də", "other-0002")
        [(only, _)] = await read_events(client, other, 1, 5)
        assert only == "in-other-0002"
    history = StoreHistory(url).events_after("site", visitor, "in-files-0001", 10)
    assert [[(f.filename, f.sha256) for f in e.files] for e in history] == [
        [(NAMED, hashlib.sha256(PDF).hexdigest()), (hostile_kept, hashlib.sha256(PAGE).hexdigest())]
    ]


async def test_a_reply_whose_file_is_gone_is_refused_not_linked(
    tmp_path: Path, store_url: str
) -> None:
    url = store_url
    async with chat(chat_settings(tmp_path, url)) as (runner, client):
        token, visitor = await new_token(client)
        await post(client, token, "Salam", "gone-00001")
        connector = runner.connectors[0]
        assert isinstance(connector, webchat.WebChatConnector)
        missing = OutboundFile("x.pdf", "application/pdf", hashlib.sha256(b"x").hexdigest(), 1)
        message = OutboundMessage(
            1, "key-gone", "site", "webchat", visitor, "", attachments=(missing,)
        )
        with pytest.raises(DeliveryError, match="missing") as refused:
            await connector.send(message)
        assert refused.value.permanent
        [(only, _)] = await read_events(client, token, 1, 5)
        assert only == "in-gone-00001"
