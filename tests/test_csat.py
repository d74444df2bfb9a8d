"""The satisfaction survey: queued once when an agent resolves (where the channel account
asks), answered by a button on Telegram and web chat or by a digit in an email reply, kept on
the conversation without reopening it; any other answer is an ordinary message.

The rules at the service level on both stores, then each channel end to end through the same
real servers its channel tests use (the Bot API stand-in, the web chat's HTTP server, Dovecot
and SMTP).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from omnitui import db, inbox
from omnitui.config import Settings
from omnitui.connectors.base import Batch, InboundMessage
from omnitui.csat import QUESTIONS, REPLY_HINTS, SurveyPolicy, parse_rating
from omnitui.reads import Reader
from omnitui.widgets.timeline import rating_said
from tests.mailservers import Dovecot, SmtpServer
from tests.runner_support import async_wait_until, query, scalar
from tests.telegram_api import BotApiServer
from tests.test_mail_channel import account, mail, mail_settings, running
from tests.test_telegram import bot_settings
from tests.test_webchat import (
    bearer,
    chat,
    chat_settings,
    customer_of,
    new_token,
    post,
    read_events,
)

USER = 700100200
AZ = "Salam, sifarişim hələ gəlməyib."
TELEGRAM_ONLY = SurveyPolicy(frozenset({("telegram", "bot")}))
SURVEY_MESSAGE = 9001


# -- reading an email answer ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score", "comment"),
    [
        ("5", 5, ""),
        ("4 - good", 4, "good"),
        ("5!", 5, ""),
        (
            "\n\n  3: slow delivery\nbut polite\n\nOn Mon, 1 Jan, Acme wrote:\n> How did we do?",
            3,
            "slow delivery\nbut polite",
        ),
        ("4/5 çox yaxşı", 4, "çox yaxşı"),
        ("۴ خوب بود", 4, "خوب بود"),
        ("1", 1, ""),
    ],
)
def test_a_reply_starting_with_a_digit_is_a_rating(text: str, score: int, comment: str) -> None:
    found = parse_rating(text)
    assert found is not None and (found.score, found.comment) == (score, comment)


@pytest.mark.parametrize(
    "text", ["10", "0", "6 stars", "3.5", "2,5", "5th floor, please", "Thanks!", "", "> 5"]
)
def test_anything_else_is_no_rating(text: str) -> None:
    assert parse_rating(text) is None


def test_the_question_is_in_the_customers_language_and_email_says_how_to_answer() -> None:
    policy = SurveyPolicy(frozenset(), {"tr": "Bizi puanlayın (1-5)"})
    assert policy.text("az", "telegram") == QUESTIONS["az"]
    assert policy.text(None, "webchat") == QUESTIONS["en"]
    assert policy.text("tr", "email") == f"Bizi puanlayın (1-5)\n\n{REPLY_HINTS['tr']}"


# -- the rules, on both stores --------------------------------------------------------------


def _message(text: str, n: int, *, address: str = str(USER), **more: Any) -> InboundMessage:
    return InboundMessage(
        account="bot",
        channel="telegram",
        external_id=f"{address}:{n}",
        address=address,
        body=text,
        sent_at=datetime.now(UTC),
        display_name="Leyla Məmmədova",
        **more,
    )


def _press(data: str, label: str, n: int, *, address: str = str(USER)) -> InboundMessage:
    """A press of a button under the survey the outbox sent (``_survey_sent``), as the
    Telegram connector makes it: it answers that message."""
    survey = f"{address}:{SURVEY_MESSAGE}"
    return _message(label, n, address=address, button=data, thread_ref=survey)


def _survey_sent(engine: Engine, store: str, conversation: int) -> None:
    """The conversation's survey as the outbox leaves it: sent, with Telegram's message id."""
    [(survey, address)] = query(
        store,
        "SELECT m.id, i.address FROM message m JOIN identity i ON i.id = m.identity_id "
        "WHERE m.kind = 'survey' AND m.conversation_id = ?",
        (conversation,),
    )
    inbox.mark_sent(engine, survey, f"{address}:{SURVEY_MESSAGE}")


async def _resolve_the_conversation(engine: Engine, settings: Settings, store: str) -> int:
    """Aysel resolves the store's one conversation (off the event loop, as the TUI's
    worker does), with the config's surveys; its id."""
    conv = int(scalar(store, "SELECT id FROM conversation"))
    surveys = settings.config.survey_policy()
    await asyncio.to_thread(
        inbox.set_conversation_status, engine, conv, "resolved", agent="aysel", surveys=surveys
    )
    return conv


def _ingest(engine: Engine, message: InboundMessage) -> inbox.Ingested:
    [done] = inbox.ingest(engine, Batch([message]))
    return done


def _conversation(store: str, conversation: int) -> tuple[Any, ...]:
    return query(
        store,
        "SELECT status, csat_requested_at IS NOT NULL, csat_score, csat_comment, "
        "csat_at IS NOT NULL, first_response_at FROM conversation WHERE id = ?",
        (conversation,),
    )[0]


def _surveys(store: str) -> list[tuple[Any, ...]]:
    return query(
        store,
        "SELECT conversation_id, direction, author, channel, account, body, buttons, delivery "
        "FROM message WHERE kind = 'survey' ORDER BY id",
    )


def test_resolving_queues_one_survey_with_buttons_that_is_no_agent_reply(
    engine: Engine, store_url: str
) -> None:
    store = store_url
    first = _ingest(engine, _message(AZ, 1))
    conv = first.conversation_id
    assert conv is not None
    changed = inbox.set_conversation_status(
        engine, conv, "resolved", agent="aysel", surveys=TELEGRAM_ONLY
    )
    assert changed
    digits = ", ".join(f'["{n}", "csat:{conv}:{n}"]' for n in range(1, 6))
    assert _surveys(store) == [
        (conv, "out", "system", "telegram", "bot", QUESTIONS["az"], f"[{digits}]", "queued")
    ]
    # No agent replied: no first response, the customer's message is still unread.
    assert _conversation(store, conv) == ("resolved", True, None, "", False, None)
    assert (
        scalar(store, "SELECT unread_count FROM customer WHERE id = ?", (first.customer_id,)) == 1
    )
    # Reopened and resolved again: it was asked once.
    inbox.set_conversation_status(engine, conv, "open", agent="aysel", surveys=TELEGRAM_ONLY)
    inbox.set_status(engine, first.customer_id, "resolved", agent="aysel", surveys=TELEGRAM_ONLY)
    assert len(_surveys(store)) == 1


def test_no_survey_where_the_channel_does_not_ask_or_for_spam(
    engine: Engine, store_url: str
) -> None:
    """A web chat without csat, a resolve without a policy, spam: none asks."""
    store = store_url
    chat = _ingest(
        engine,
        InboundMessage(
            account="site",
            channel="webchat",
            external_id="v1:m1",
            address="v1",
            body=AZ,
            sent_at=datetime.now(UTC),
        ),
    )
    assert chat.conversation_id is not None
    inbox.set_conversation_status(
        engine, chat.conversation_id, "resolved", agent="aysel", surveys=TELEGRAM_ONLY
    )
    plain = _ingest(engine, _message(AZ, 1))
    assert plain.conversation_id is not None
    inbox.set_conversation_status(engine, plain.conversation_id, "resolved", agent="aysel")
    spam = _ingest(engine, _message("Buy now", 1, address="700999"))
    assert spam.conversation_id is not None
    inbox.mark_spam(engine, spam.conversation_id, agent="aysel")
    assert _surveys(store) == []
    # Bulk resolving is an agent's resolve: it asks.
    inbox.set_conversation_status(engine, plain.conversation_id, "open", agent="aysel")
    inbox.bulk_apply(
        engine,
        "resolve",
        conversations=[plain.conversation_id],
        agent="aysel",
        surveys=TELEGRAM_ONLY,
    )
    assert [s[0] for s in _surveys(store)] == [plain.conversation_id]


def test_a_press_is_kept_as_the_rating_without_reopening_and_the_latest_counts(
    engine: Engine, store_url: str
) -> None:
    store = store_url
    first = _ingest(engine, _message(AZ, 1))
    conv, customer = first.conversation_id, first.customer_id
    assert conv is not None
    inbox.set_conversation_status(engine, conv, "resolved", agent="aysel", surveys=TELEGRAM_ONLY)
    _survey_sent(engine, store, conv)

    rated = _ingest(engine, _press(f"csat:{conv}:4", "4", 2))
    assert rated.conversation_id == conv
    assert _conversation(store, conv)[:5] == ("resolved", True, 4, "", True)
    assert query(store, "SELECT kind, body FROM message WHERE id = ?", (rated.message_id,)) == [
        ("rating", "4/5")
    ]
    # A rating asks nothing of the team: still one unread message.
    assert scalar(store, "SELECT unread_count FROM customer WHERE id = ?", (customer,)) == 1

    again = _ingest(engine, _press(f"csat:{conv}:2", "2", 3))
    assert _conversation(store, conv)[:3] == ("resolved", True, 2)
    assert query(
        store,
        "SELECT agent, before, after, message_id FROM event WHERE kind = 'csat' ORDER BY id",
    ) == [("system", None, "4/5", rated.message_id), ("system", "4/5", "2/5", again.message_id)]

    # The timeline shows the survey and both ratings as such.
    items = Reader(store).timeline(customer)
    kinds = [(i.kind, i.message_kind) for i in items if i.kind != "event"]
    assert kinds == [("in", ""), ("out", "survey"), ("in", "rating"), ("in", "rating")]
    assert rating_said(items[-1].body) == "Rated ★★☆☆☆ 2/5"


def test_a_press_that_is_no_rating_is_an_ordinary_message(engine: Engine, store_url: str) -> None:
    store = store_url
    leyla = _ingest(engine, _message(AZ, 1))
    other = _ingest(engine, _message(AZ, 1, address="700555"))
    assert leyla.conversation_id is not None and other.conversation_id is not None
    for conv in (leyla.conversation_id, other.conversation_id):
        inbox.set_conversation_status(engine, conv, "resolved", agent="a", surveys=TELEGRAM_ONLY)
        _survey_sent(engine, store, conv)

    # Another customer's conversation named in the data: ordinary, and it reopens the
    # conversation of the survey the sender answered, their own.
    forged = _ingest(engine, _press(f"csat:{leyla.conversation_id}:1", "1", 2, address="700555"))
    assert forged.conversation_id == other.conversation_id
    assert _conversation(store, leyla.conversation_id)[:3] == ("resolved", True, None)
    assert _conversation(store, other.conversation_id)[:3] == ("open", True, None)

    # Data the store does not know (another feature's button): the label, as a message.
    unknown = _ingest(engine, _press("faq:person", "Talk to a person", 3, address="700555"))
    assert query(store, "SELECT kind, body FROM message WHERE id = ?", (unknown.message_id,)) == [
        ("", "Talk to a person")
    ]

    # A week and a day after the survey, a press is late: ordinary, and it reopens.
    late = datetime.now(UTC) - timedelta(days=8)
    with db.write(engine) as session:
        conv = session.get(db.Conversation, leyla.conversation_id)
        assert conv is not None
        conv.csat_requested_at = late
    _ingest(engine, _press(f"csat:{leyla.conversation_id}:5", "5", 4))
    assert _conversation(store, leyla.conversation_id)[:3] == ("open", True, None)
    assert scalar(store, "SELECT count(*) FROM message WHERE kind = 'rating'") == 0


# -- Telegram ------------------------------------------------------------------------------


async def test_telegram_asks_with_buttons_and_a_press_rates_without_reopening(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    store = store_url
    settings = bot_settings(tmp_path, store_url, bot_api, csat=True)
    async with running(settings) as runner:
        bot_api.private_text(USER, AZ, first_name="Leyla")
        await async_wait_until(
            lambda: scalar(store, "SELECT count(*) FROM message WHERE direction = 'in'") == 1,
            10,
            "the customer's message",
        )
        conv = await _resolve_the_conversation(runner.engine, settings, store)
        [call] = await asyncio.to_thread(bot_api.wait_for_calls, "sendMessage", 1, 10)
        assert call.params["chat_id"] == USER and call.params["text"] == QUESTIONS["az"]
        keys = [{"text": str(n), "callback_data": f"csat:{conv}:{n}"} for n in range(1, 6)]
        assert call.params["reply_markup"] == {"inline_keyboard": [keys]}
        await async_wait_until(lambda: bot_api.sent, 5, "the survey in the chat")
        survey = bot_api.sent[-1]["message_id"]

        bot_api.press_button(USER, survey, f"csat:{conv}:4")
        await async_wait_until(
            lambda: _conversation(store, conv)[2] == 4, 10, "the rating in the store"
        )
        [answered] = await asyncio.to_thread(bot_api.wait_for_calls, "answerCallbackQuery", 1, 5)
        [edited] = await asyncio.to_thread(bot_api.wait_for_calls, "editMessageReplyMarkup", 1, 5)
        assert answered.params["callback_query_id"]
        chosen = {"text": "✓ 4", "callback_data": f"csat:{conv}:4"}
        assert edited.params["reply_markup"] == {"inline_keyboard": [[chosen]]}
        assert (edited.params["chat_id"], edited.params["message_id"]) == (USER, survey)
        assert _conversation(store, conv)[0] == "resolved"
        assert query(store, "SELECT body FROM message WHERE kind = 'rating'") == [("4/5",)]

        # Words after it are a message like any other: on a chat, a new conversation.
        bot_api.private_text(USER, "Bir sualım da var", first_name="Leyla")
        await async_wait_until(
            lambda: scalar(store, "SELECT count(*) FROM conversation WHERE status = 'open'") == 1,
            10,
            "the new question",
        )
    assert _conversation(store, conv)[:3] == ("resolved", True, 4)
    assert len(_surveys(store)) == 1


async def test_a_press_by_webhook_is_stored_before_200_and_acknowledged(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    from tests.test_telegram_webhook import deliver, text_update, webhook_ready, webhook_settings

    store = store_url
    settings = webhook_settings(tmp_path, store_url, bot_api, csat=True)
    async with running(settings) as runner:
        await webhook_ready(bot_api, settings)
        assert await deliver(bot_api, text_update(1, AZ)) == 200
        conv = await _resolve_the_conversation(runner.engine, settings, store)
        await asyncio.to_thread(bot_api.wait_for_calls, "sendMessage", 1, 10)
        await async_wait_until(lambda: bot_api.sent, 5, "the survey in the chat")
        survey = bot_api.sent[-1]["message_id"]
        press = bot_api.button_press(USER, survey, f"csat:{conv}:3")
        assert await deliver(bot_api, press) == 200
        # Stored when Telegram was told so; acknowledged after.
        assert _conversation(store, conv)[:3] == ("resolved", True, 3)
        await asyncio.to_thread(bot_api.wait_for_calls, "editMessageReplyMarkup", 1, 5)
        [answered] = await asyncio.to_thread(bot_api.wait_for_calls, "answerCallbackQuery", 1, 5)
        assert answered.params["callback_query_id"] == press["callback_query"]["id"]


# -- web chat ------------------------------------------------------------------------------


async def test_web_chat_serves_the_buttons_from_the_store_and_a_press_rates(
    tmp_path: Path, store_url: str
) -> None:
    store = store_url
    settings = chat_settings(tmp_path, store_url, csat=True)
    async with chat(settings) as (runner, client):
        token, visitor = await new_token(client)
        assert (await post(client, token, AZ, "msg-0001")).status_code == 200
        conv = await _resolve_the_conversation(runner.engine, settings, store)
        await async_wait_until(
            lambda: _surveys(store) and _surveys(store)[0][-1] == "sent", 10, "the survey sent"
        )
        # The catch-up (read from the store) carries the buttons.
        [_mine, (_survey_id, survey)] = await read_events(client, token, 2, 5)
        assert survey["kind"] == "reply" and survey["text"] == QUESTIONS["az"]
        assert survey["buttons"] == [
            {"label": str(n), "data": f"csat:{conv}:{n}"} for n in range(1, 6)
        ]
        pressed = {"id": "press-0001", "data": f"csat:{conv}:5", "label": "5"}
        answer = await client.post("press", json=pressed, headers=bearer(token))
        assert answer.status_code == 200 and answer.json() == {"id": "in-press-0001"}
        assert _conversation(store, conv)[:3] == ("resolved", True, 5)
        # Retried after a lost answer: stored once.
        again = await client.post("press", json=pressed, headers=bearer(token))
        assert again.status_code == 200
        assert scalar(store, "SELECT count(*) FROM message WHERE kind = 'rating'") == 1
        # A press without a token, or with data too long, is refused.
        assert (await client.post("press", json=pressed)).status_code == 403
        long = pressed | {"id": "press-0002", "data": "x" * 65}
        assert (await client.post("press", json=long, headers=bearer(token))).status_code == 400
        assert customer_of(store, visitor) == int(scalar(store, "SELECT customer_id FROM message"))
        # No email copy of a survey for a visitor who was away.
        assert scalar(store, "SELECT count(*) FROM message WHERE channel = 'email'") == 0


# -- email ---------------------------------------------------------------------------------


async def test_email_asks_in_words_and_a_reply_with_a_digit_rates_without_reopening(
    dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path, store_url: str
) -> None:
    store = store_url
    settings = mail_settings(tmp_path, store_url, account(dovecot, smtp_server) | {"csat": True})
    async with running(settings) as runner:
        dovecot.append("agent", "INBOX", mail(message_id="<q1@example.az>", subject="Sifariş #42"))
        await async_wait_until(
            lambda: scalar(store, "SELECT count(*) FROM message") == 1, 10, "the customer's mail"
        )
        conv = await _resolve_the_conversation(runner.engine, settings, store)
        [received] = await asyncio.to_thread(smtp_server.wait_for, 1, 10)
        sent = email.message_from_bytes(received.data, policy=email.policy.default)
        assert received.rcpt_tos == ["leyla@example.az"]
        assert str(sent["Subject"]) == "Re: Sifariş #42"
        assert sent["In-Reply-To"] == "<q1@example.az>"
        body = sent.get_content().replace("\r\n", "\n").strip()
        assert body == f"{QUESTIONS['az']}\n\n{REPLY_HINTS['az']}"
        await async_wait_until(
            lambda: _surveys(store)[0][-1] == "sent", 10, "the survey marked sent"
        )

        rating = "4 - yaxşı idi\nAmma çatdırılma gecikdi.\n\n> " + QUESTIONS["az"]
        answer = mail(subject="Re: Sifariş #42", body=rating, in_reply_to=sent["Message-ID"])
        dovecot.append("agent", "INBOX", answer)
        await async_wait_until(
            lambda: _conversation(store, conv)[2] == 4, 10, "the rating in the store"
        )
        assert _conversation(store, conv)[:4] == (
            "resolved",
            True,
            4,
            "yaxşı idi\nAmma çatdırılma gecikdi.",
        )
        # Words that are no rating, in answer to the survey: a message that reopens.
        question = mail(
            subject="Re: Sifariş #42", body="Bir sualım da var", in_reply_to=sent["Message-ID"]
        )
        dovecot.append("agent", "INBOX", question)
        await async_wait_until(
            lambda: _conversation(store, conv)[0] == "open", 10, "reopened by the question"
        )
    assert _conversation(store, conv)[2] == 4
    assert query(store, "SELECT kind FROM message WHERE direction = 'in' ORDER BY id") == [
        ("",),
        ("rating",),
        ("",),
    ]


async def test_a_visitor_rates_by_pressing_a_button_in_chromium(
    tmp_path: Path, store_url: str
) -> None:
    """widget.js shows the survey's buttons under it; a press is stored as the rating, the
    buttons go, and the pressed digit shows as the visitor's message, also after a reload."""
    from tests.test_webchat_browser import ARGS, CHROMIUM, async_playwright

    store = store_url
    playwright = async_playwright()
    settings = chat_settings(tmp_path, store_url, csat=True)
    port = settings.config.http_address[1]  # type: ignore[index]
    async with chat(settings) as (runner, _client), playwright as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"http://127.0.0.1:{port}/webchat/site/?lang=az")
            box = page.locator("textarea")
            await box.fill(AZ)
            await box.press("Enter")
            await async_wait_until(
                lambda: scalar(store, "SELECT count(*) FROM conversation") == 1, 10, "the message"
            )
            conv = await _resolve_the_conversation(runner.engine, settings, store)
            choices = page.locator(".oc-choices")
            await choices.wait_for(timeout=10_000)
            labels = await choices.get_by_role("button").all_inner_texts()
            assert labels == ["1", "2", "3", "4", "5"]
            await choices.get_by_role("button", name="4").click()
            await choices.wait_for(state="detached", timeout=5000)
            assert _conversation(store, conv)[:3] == ("resolved", True, 4)
            log = page.get_by_role("log")
            assert (await log.locator("li.oc-visitor").all_inner_texts())[-1].endswith("4")
            await page.reload()
            await log.locator("li.oc-visitor").nth(1).wait_for(timeout=5000)
            assert await page.locator(".oc-choices").count() == 0
        finally:
            await browser.close()


async def test_the_timeline_shows_the_survey_as_a_system_line_and_the_rating_as_stars(
    tui_store: Any, tui_settings: Any
) -> None:
    from tests.test_email_tui import open_history
    from tests.tui_support import make_app, timeline_text

    engine, reza = tui_store.engine, tui_store.reza
    conv = inbox.current_conversation(engine, reza)
    assert conv is not None
    surveys = SurveyPolicy(frozenset({("webchat", "chat")}))
    inbox.set_conversation_status(engine, conv, "resolved", agent="aysel", surveys=surveys)
    press = InboundMessage(
        account="chat",
        channel="webchat",
        external_id="visitor-77:press-1",
        address="visitor-77",
        body="4",
        sent_at=datetime.now(UTC),
        button=f"csat:{conv}:4",
    )
    _ingest(engine, press)
    app = make_app(tui_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_history(pilot, app, reza)
        shown = timeline_text(app)
    assert "── satisfaction survey · webchat" in shown
    assert "◷ queued" in shown
    assert "Rated ★★★★☆ 4/5" in shown
