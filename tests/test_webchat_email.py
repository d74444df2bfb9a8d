"""The seed use case across channels, against a real runner, a real Dovecot and a real SMTP
server on loopback: a visitor asks in the web chat, leaves an email address and goes; the
agent's answer reaches them by email as well as in the chat; their answer to that email joins
the same conversation and proves the address was theirs.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from functools import partial
from pathlib import Path

from omnitui import inbox
from omnitui.reads import Reader
from tests.mailservers import Dovecot, SmtpServer
from tests.runner_support import async_wait_until, query, scalar, settings_for
from tests.test_http import free_port
from tests.test_mail_channel import OURS, account, mail
from tests.test_webchat import SECRET, bearer, chat, customer_of, new_token, post, read_events

QUESTION = "Salam! Sifarişim #4471 hələ gəlməyib, nə vaxt gələcək?"


async def test_an_away_visitors_answer_goes_by_email_and_their_reply_verifies_the_address(
    dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = settings_for(
        tmp_path,
        url,
        webchat={"site": {"secret": SECRET, "messages_per_minute": 1000}},
        email={"support": account(dovecot, smtp_server)},
        http={"listen": f"127.0.0.1:{free_port()}"},
        outbox={"backoff_base_seconds": 0.2, "backoff_max_seconds": 0.5},
    )
    async with chat(settings) as (runner, client):
        token, visitor = await new_token(client)
        assert (await post(client, token, QUESTION, "ask-00001")).status_code == 200
        details = {"name": "Leyla Məmmədova", "email": "Leyla@Example.az"}
        assert (await client.post("profile", json=details, headers=bearer(token))).is_success
        customer = customer_of(store, visitor)
        # The address no one had is the visitor's customer's now, unproven.
        assert query(
            store,
            "SELECT channel, claimed_email FROM identity WHERE customer_id = ? ORDER BY id",
            (customer,),
        ) == [("webchat", "leyla@example.az"), ("email", "leyla@example.az")]

        # The visitor has closed the page; the agent answers in the chat.
        reply = await asyncio.to_thread(
            inbox.queue_reply, runner.engine, customer, "Sabah çatdırılacaq. — Aysel", agent="aysel"
        )
        [received] = await asyncio.to_thread(smtp_server.wait_for, 1, 10)
        sent = email.message_from_bytes(received.data, policy=email.policy.default)
        assert received.rcpt_tos == ["leyla@example.az"] and received.mail_from == OURS
        assert str(sent["Subject"]).startswith("Re: Salam! Sifarişim #4471")
        text = sent.get_content()
        assert text.startswith("Sabah çatdırılacaq. — Aysel")
        assert f"> {QUESTION}" in text
        # In the chat too, for when they come back: the catch-up has the reply.
        events = await read_events(client, token, 2, 10)
        assert [(data["kind"], data["text"]) for _, data in events] == [
            ("visitor", QUESTION),
            ("reply", "Sabah çatdırılacaq. — Aysel"),
        ]
        copy_id, conversation = query(
            store,
            "SELECT id, conversation_id FROM message WHERE channel = 'email' AND direction = 'out'",
        )[0]
        assert scalar(store, "SELECT conversation_id FROM message WHERE id = ?", (reply,)) == (
            conversation
        )

        # Leyla answers the email: it threads into the chat's conversation and proves it.
        await async_wait_until(
            lambda: (
                scalar(store, "SELECT delivery FROM message WHERE id = ?", (copy_id,)) == "sent"
            ),
            5,
            "the copy marked sent",
        )
        dovecot.append(
            "agent",
            "INBOX",
            mail(
                sender="Leyla Məmmədova <leyla@example.az>",
                subject=str(sent["Subject"]),
                body="Çox sağ olun!",
                in_reply_to=sent["Message-ID"],
            ),
        )
        await async_wait_until(
            lambda: scalar(store, "SELECT count(*) FROM event WHERE kind = 'identity-verified'"),
            10,
            "the address verified",
        )
        assert query(
            store,
            "SELECT customer_id, conversation_id FROM message WHERE body LIKE 'Çox sağ olun!%'",
        ) == [(customer, conversation)]
        assert query(store, "SELECT count(*) FROM identity WHERE claimed_email IS NOT NULL") == [
            (0,)
        ]
        timeline = Reader(url).timeline(customer)
        kinds = [i.subject for i in timeline if i.kind == "event"]
        assert kinds == ["identity-linked", "identity-verified"]

        # A visitor on the page sees the next reply there, and gets no email.
        async with client.stream("GET", "events", headers=bearer(token)) as stream:
            lines = stream.aiter_lines()
            caught_up = 0
            while caught_up < 2:  # the catch-up: the stream is open
                caught_up += (await asyncio.wait_for(anext(lines), 10)).startswith("data: ")
            chat_identity = scalar(store, "SELECT id FROM identity WHERE channel = 'webchat'")
            await asyncio.to_thread(
                partial(inbox.queue_reply, identity_id=int(chat_identity)),
                runner.engine,
                customer,
                "Başqa sualınız var?",
                agent="aysel",
            )
            line = ""
            while not line.startswith("data: "):
                line = await asyncio.wait_for(anext(lines), 10)
            assert json.loads(line[6:])["text"] == "Başqa sualınız var?"
    # (Stopped: anything the runner was to queue after that reply is queued by now.)
    assert len(smtp_server.messages) == 1
    outgoing_email = "SELECT count(*) FROM message WHERE channel = 'email' AND direction = 'out'"
    assert scalar(store, outgoing_email) == 1
