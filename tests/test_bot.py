"""The FAQ bot on the run's store (``--store postgresql`` runs the same on PostgreSQL): it
answers a customer's question from the knowledge base in their language, hands the
conversation to the agents when asked, below the score or on a second question, and stays
out of conversations an agent has taken or written in. Then the knowledge base's folder
format and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from textual.widgets import Input, TextArea

from omnitui import bot, inbox, kb
from omnitui.config import BotConfig
from omnitui.connectors.base import Batch
from omnitui.doctor import run_checks
from omnitui.screens.kb import KbForm, KbScreen
from omnitui.widgets.timeline import Timeline
from tests.conftest import MakeMessage
from tests.runner_support import async_wait_until, settings_for
from tests.telegram_api import BotApiServer
from tests.test_cli import run
from tests.test_mail_channel import running
from tests.test_telegram import USER, sent_texts
from tests.test_webchat import chat, chat_settings, new_token, post, read_events
from tests.tui_support import Store, inbound, make_app, screen_text, type_text, wait_for
from tests.tui_support import settings_for as tui_settings_for

BOT = BotConfig(webchat=True, telegram=True)

REFUND = kb.Entry(
    "refund",
    ("billing",),
    {
        "en": kb.Variant(
            "How do I get a refund for my order? | Can I have my money back?",
            "Refunds reach your card within 5 working days.",
        ),
        "az": kb.Variant(
            "Pulumu necə geri qaytara bilərəm? | Sifarişi qaytarmaq",
            "Pul 5 iş günü ərzində kartınıza qaytarılır.",
        ),
        "tr": kb.Variant(
            "İade nasıl yapılır? | Paramı geri alabilir miyim? | Sipariş iadesi",
            "İade 5 iş günü içinde kartınıza yapılır.",
        ),
        "fa": kb.Variant(
            "چطور پولم را پس بگیرم؟ | بازگشت وجه سفارش",
            "بازپرداخت ۵ روز کاری طول می‌کشد.",
        ),
    },
)
PASSWORD = kb.Entry(
    "password",
    (),
    {
        "en": kb.Variant("I forgot my password | Reset the password", "Use 'Forgot password'."),
        "tr": kb.Variant("Şifremi unuttum | Şifre sıfırlama", "'Şifremi unuttum'a tıklayın."),
    },
)

# (language, a question phrased unlike the entry's, how the customer asks for a person)
ASKED = [
    ("en", "Hello, I would like a refund on my order", "Can I talk to a human please?"),
    ("az", "Salam, pulumu geri qaytarmaq istəyirəm", "Operatorla danışmaq istəyirəm"),
    ("tr", "SİPARİŞİMİN İADESİ nasıl olur?", "Bir temsilciye bağlanmak istiyorum"),
    # Arabic yeh and kaf (ي ك) where the entry has the Persian letters.
    ("fa", "سلام، چطور مي‌توانم پولم را پس بگيرم", "لطفا با كارشناس صحبت کنم"),
]
HANDED_OFF = {
    "en": "A person will answer you soon.",
    "az": "Tezliklə bir əməkdaşımız sizə cavab verəcək.",
    "tr": "Bir temsilcimiz kısa süre içinde size yanıt verecek.",
    "fa": "به‌زودی یکی از همکاران ما به شما پاسخ می‌دهد.",
}


@pytest.fixture
def library(engine: Engine) -> Engine:
    bot.import_kb(engine, [REFUND, PASSWORD], agent="leyla")
    return engine


def ask(engine: Engine, make_message: MakeMessage, body: str, address: str = "v1") -> int:
    """The customer's message on the web chat, stored; its id."""
    message = make_message(body, channel="webchat", account="site", address=address)
    (stored,) = inbox.ingest(engine, Batch([message]))
    assert stored.message_id is not None
    return stored.message_id


def bot_messages(engine: Engine) -> list[tuple[str, str, str, str]]:
    """(author, kind, delivery, body) of the outgoing messages, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT author, kind, delivery, body FROM message "
                "WHERE direction = 'out' ORDER BY id"
            )
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def conversation(engine: Engine, address: str = "v1") -> dict[str, object]:
    """The state of the conversation of the web chat visitor ``address``."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT status, assignee, bot_answers, handed_off_at, first_response_at "
                "FROM conversation WHERE customer_id IN "
                "(SELECT customer_id FROM identity WHERE address = :a)"
            ),
            {"a": address},
        ).one()
        return dict(row._mapping)


def events(engine: Engine, *kinds: str) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, agent, after FROM event ORDER BY id"))
        return [(r[0], r[1], r[2]) for r in rows if r[0] in kinds]


@pytest.mark.parametrize(("language", "question", "person"), ASKED)
def test_the_bot_answers_hands_off_on_request_and_stays_out_after_an_agent(
    library: Engine, make_message: MakeMessage, language: str, question: str, person: str
) -> None:
    # A question it knows: answered in the customer's language, through the outbox.
    turn = bot.bot_turn(library, ask(library, make_message, question), BOT)
    assert (turn.action, turn.slug, turn.language) == ("answered", "refund", language)
    answer = REFUND.variants[language].answer
    footer = kb.ANSWER_FOOTER[language]
    assert bot_messages(library) == [("bot", "bot", "queued", f"{answer}\n\n{footer}")]
    state = conversation(library)
    assert state["bot_answers"] == 1
    assert state["status"] == "open" and state["assignee"] is None
    assert state["handed_off_at"] is None and state["first_response_at"] is None
    assert events(library, "bot", "handoff") == [
        ("bot", "bot", f"refund {language} {turn.score:.2f}")
    ]
    # The customer asks for a person: the agents have it, the customer is told so.
    turn = bot.bot_turn(library, ask(library, make_message, person), BOT)
    assert (turn.action, turn.reason) == ("handed-off", "asked")
    assert bot_messages(library)[-1] == ("bot", "bot", "queued", HANDED_OFF[language])
    assert conversation(library)["handed_off_at"] is not None
    # Asked for at once, in another customer's first message: a handoff too.
    turn = bot.bot_turn(library, ask(library, make_message, person, address="v2"), BOT)
    assert (turn.action, turn.reason) == ("handed-off", "asked")
    assert bot_messages(library)[-1][3] == HANDED_OFF[language]
    assert [e[2] for e in events(library, "handoff")] == ["asked", "asked"]
    # A third customer an agent has written to: the bot stays out of it.
    hello = bot.bot_turn(library, ask(library, make_message, "hi", address="v3"), BOT)
    assert hello.reason == "score"  # nothing to answer: the agents'
    customer = customer_of(library, "v3")
    with library.begin() as conn:  # as if it were a new conversation
        conn.execute(text("UPDATE conversation SET handed_off_at = NULL"))
    inbox.queue_reply(library, customer, "Aysel here, how can I help?", agent="aysel")
    turn = bot.bot_turn(library, ask(library, make_message, question, address="v3"), BOT)
    assert (turn.action, turn.reason) == ("silent", "agent")
    assert [m[0] for m in bot_messages(library)] == ["bot", "bot", "bot", "aysel"]


def customer_of(engine: Engine, address: str) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT customer_id FROM identity WHERE address = :a"), {"a": address}
        )
        return int(found.scalar_one())


def conversation_customer(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT customer_id FROM conversation")).scalar_one())


def test_an_assigned_conversation_or_a_note_keeps_the_bot_out(
    library: Engine, make_message: MakeMessage
) -> None:
    first = ask(library, make_message, "I forgot my password")
    with library.connect() as conn:
        conv = int(conn.execute(text("SELECT id FROM conversation")).scalar_one())
    inbox.assign(library, conv, "aysel", agent="aysel")
    assert bot.bot_turn(library, first, BOT).reason == "assigned"
    inbox.assign(library, conv, None, agent="aysel")
    inbox.add_note(library, conversation_customer(library), "VIP, careful", agent="aysel")
    assert bot.bot_turn(library, first, BOT).reason == "agent"
    assert bot_messages(library) == []


def test_below_the_score_the_agents_get_it_without_a_word_from_the_bot(
    library: Engine, make_message: MakeMessage
) -> None:
    turn = bot.bot_turn(library, ask(library, make_message, "Are you open on Sunday?"), BOT)
    assert (turn.action, turn.reason, turn.score) == ("handed-off", "score", 0.0)
    # One word of three found ("password"): 0.33, below 0.5.
    message = ask(library, make_message, "password for my wifi router", address="v2")
    turn = bot.bot_turn(library, message, BOT)
    assert (turn.action, turn.reason) == ("handed-off", "score")
    assert turn.score == pytest.approx(1 / 3)
    assert bot_messages(library) == []
    assert [e[2] for e in events(library, "handoff")] == ["score 0.00", "score 0.33"]
    # A lower threshold lets the bot answer it.
    lenient = BotConfig(webchat=True, min_score=0.3)
    message = ask(library, make_message, "password for my wifi router", address="v3")
    assert bot.bot_turn(library, message, lenient).slug == "password"


def test_never_twice_in_a_row_and_never_after_the_handoff(
    library: Engine, make_message: MakeMessage
) -> None:
    assert bot.bot_turn(library, ask(library, make_message, "refund please"), BOT).slug
    # Another question the bot could answer: a second question is the agents'.
    turn = bot.bot_turn(library, ask(library, make_message, "I forgot my password"), BOT)
    assert (turn.action, turn.reason) == ("handed-off", "second")
    turn = bot.bot_turn(library, ask(library, make_message, "refund please"), BOT)
    assert (turn.action, turn.reason) == ("silent", "handed-off")
    kinds = [(m[0], m[3].split("\n")[0]) for m in bot_messages(library)]
    assert kinds == [("bot", REFUND.variants["en"].answer), ("bot", HANDED_OFF["en"])]
    assert conversation(library)["bot_answers"] == 1


def test_no_agent_is_rung_for_what_the_bot_answered_and_every_agent_for_a_handoff(
    library: Engine, store_url: str, make_message: MakeMessage
) -> None:
    """Notifications (Reader.inbound_after): the question the bot answered rings nobody; the
    message it hands off on rings as any customer message, and so does the next one."""
    from omnitui.reads import Reader

    reader = Reader(store_url)

    def rung() -> list[str]:
        return [found.text for found in reader.inbound_after(0)[1]]

    question = ask(library, make_message, "refund please")
    assert rung() == ["refund please"]  # read before the bot's turn: rung, as before
    assert bot.bot_turn(library, question, BOT).action == "answered"
    assert rung() == []
    second = ask(library, make_message, "I forgot my password")
    assert bot.bot_turn(library, second, BOT).action == "handed-off"
    assert rung() == ["refund please", "I forgot my password"]
    ask(library, make_message, "hello?")
    assert rung()[-1] == "hello?"


def test_the_bot_is_off_by_default_and_never_on_email(
    library: Engine, make_message: MakeMessage
) -> None:
    assert (
        bot.bot_turn(library, ask(library, make_message, "refund please"), BotConfig()).reason
        == "off"
    )
    (mail,) = inbox.ingest(library, Batch([make_message("refund please", address="a@b.az")]))
    assert mail.message_id is not None
    assert bot.bot_turn(library, mail.message_id, BOT).reason == "off"


def test_the_index_follows_edits_and_deletes(library: Engine, make_message: MakeMessage) -> None:
    with library.connect() as conn:
        entry = int(
            conn.execute(text("SELECT id FROM kbentry WHERE slug = 'password'")).scalar_one()
        )
    changed = kb.Entry(
        "password", (), {"en": kb.Variant("Locked out of the account", "Write to us.")}
    )
    assert bot.update_kb_entry(library, entry, changed, agent="leyla")
    assert bot.kb_matches(library, "forgot password") is None
    found = bot.kb_matches(library, "I am locked out")
    assert found is not None and found.candidate.slug == "password" and found.score == 1.0
    bot.delete_kb_entry(library, entry, agent="leyla")
    assert bot.kb_matches(library, "I am locked out") is None
    assert [e[0] for e in events(library, "kb")] == ["kb", "kb", "kb", "kb"]
    # A second import of the same entries changes nothing.
    done = bot.import_kb(library, [REFUND], agent="leyla")
    assert (done.added, done.updated, done.unchanged) == (0, 0, 1)


# ---------------------------------------------------------------------------
# The folder


def test_a_folder_round_trips_through_markdown(tmp_path: Path) -> None:
    for entry in (REFUND, PASSWORD):
        for name, body in kb.to_markdown(entry).items():
            (tmp_path / name).write_text(body, "utf-8")
    assert sorted(p.name for p in tmp_path.iterdir())[:3] == [
        "password.md",
        "password.tr.md",
        "refund.az.md",
    ]
    assert kb.read_folder(tmp_path) == [kb.check_entry(PASSWORD), kb.check_entry(REFUND)]


def test_folder_errors_name_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nquestion: Where?\ncolour: red\n---\nHere.\n", "utf-8")
    (tmp_path / "b.md").write_text("---\ntags: x\n---\nNo question.\n", "utf-8")
    (tmp_path / "c.tr.md").write_text("---\nquestion: Ne?\nlanguage: az\n---\nBu.\n", "utf-8")
    (tmp_path / "d.md").write_text("---\nquestion: Hm?\n---\n\n", "utf-8")
    (tmp_path / "e.md").write_text("no front matter\n", "utf-8")
    with pytest.raises(kb.FolderError) as caught:
        kb.read_folder(tmp_path)
    assert caught.value.errors == [
        f"{tmp_path}/a.md:3: unknown key 'colour'; keys: question, tags, language, slug",
        f"{tmp_path}/b.md:1: no question: give 'question:' in the front matter",
        f"{tmp_path}/c.tr.md:3: language az but the file name says tr",
        f"{tmp_path}/d.md:4: no answer below the front matter",
        f"{tmp_path}/e.md:1: expected front matter between --- lines, with question: ...",
    ]


# ---------------------------------------------------------------------------
# Through the channels: a real Runner, the web chat over HTTP, Telegram's Bot API stand-in


async def test_on_the_web_chat_a_question_gets_the_bots_answer_and_person_a_handoff(
    tmp_path: Path, store_url: str, engine: Engine
) -> None:
    bot.import_kb(engine, [REFUND, PASSWORD], agent="leyla")
    settings = chat_settings(tmp_path, store_url)
    settings = settings_for(
        tmp_path,
        store_url,
        webchat={"site": settings.config.webchat["site"].model_dump()},
        http={"listen": settings.config.http.listen},
        bot={"webchat": True},
    )
    async with chat(settings) as (_runner, client):
        token, visitor = await new_token(client)
        await post(client, token, "Hi, how do I reset my password?", "question-0001")
        events = await read_events(client, token, 2, 10)
        assert [e["kind"] for _id, e in events] == ["visitor", "reply"]
        footer = kb.ANSWER_FOOTER["en"]
        assert events[1][1]["text"] == f"{PASSWORD.variants['en'].answer}\n\n{footer}"
        assert events[1][1]["buttons"] == [{"label": "Talk to a person", "data": "faq:person"}]
        await post(client, token, "person", "question-0002")
        events = await read_events(client, token, 4, 10)
        assert events[3][1]["text"] == HANDED_OFF["en"]
    state = conversation(engine, visitor)
    assert state["bot_answers"] == 1 and state["handed_off_at"] is not None
    assert state["first_response_at"] is None and state["assignee"] is None


async def test_on_telegram_the_bots_answer_has_a_button_that_hands_off(
    bot_api: BotApiServer, tmp_path: Path, store_url: str, engine: Engine
) -> None:
    bot.import_kb(engine, [REFUND, PASSWORD], agent="leyla")
    settings = settings_for(
        tmp_path,
        store_url,
        telegram={
            "bot": {
                "token": bot_api.token,
                "base_url": bot_api.base_url,
                "base_file_url": bot_api.base_file_url,
                "poll_timeout_seconds": 5,
            }
        },
        outbox={"backoff_base_seconds": 0.2, "backoff_max_seconds": 0.5},
        bot={"telegram": True},
    )
    answer = f"{REFUND.variants['tr'].answer}\n\n{kb.ANSWER_FOOTER['tr']}"
    async with running(settings):
        bot_api.private_text(USER, "/start", first_name="Ayşe")  # a command: no question
        bot_api.private_text(USER, "Paramı nasıl geri alırım?", first_name="Ayşe")
        await async_wait_until(lambda: answer in sent_texts(bot_api), 10, "the bot's answer")
        (sent,) = bot_api.sent
        assert sent["reply_markup"]["inline_keyboard"] == [
            [{"text": "Bir insanla konuş", "callback_data": "faq:person"}]
        ]
        bot_api.press_button(USER, sent["message_id"], "faq:person")
        await async_wait_until(
            lambda: HANDED_OFF["tr"] in sent_texts(bot_api), 10, "the handoff notice"
        )
    assert sent_texts(bot_api) == [answer, HANDED_OFF["tr"]]
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind, after FROM event WHERE kind IN ('bot', 'handoff')"))
        assert [(k, a.split()[0]) for k, a in kinds] == [("bot", "refund"), ("handoff", "asked")]


def test_kb_import_list_export_as_a_script_meets_them(tmp_path: Path, store_url: str) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name, body in kb.to_markdown(REFUND).items():
        (folder / name).write_text(body, "utf-8")
    (folder / "hours.md").write_text(
        "---\nquestion: When are you open?\ntags: [info]\n---\n\nEvery day 9-18.\n", "utf-8"
    )
    data = tmp_path / "data"
    proc = run("--agent", "leyla", "kb", "import", str(folder), data_dir=data, db=store_url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2 entries from 5 files: 2 added, 0 updated, 0 unchanged"
    listed = run("kb", "list", "--json", data_dir=data, db=store_url)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["slug"], r["languages"], r["tags"], r["updated_by"]) for r in rows] == [
        ("hours", ["en"], ["info"], "leyla"),
        ("refund", ["en", "az", "tr", "fa"], ["billing"], "leyla"),
    ]
    assert rows[1]["question"] == REFUND.variants["en"].question
    out = tmp_path / "exported"
    exported = run("kb", "export", str(out), data_dir=data, db=store_url)
    assert exported.stdout.strip() == f"exported 2 knowledge base entries (5 files) to {out}"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in folder.iterdir())
    (folder / "bad.az.md").write_text("---\nquestion: Nə?\n---\n", "utf-8")
    bad = run("kb", "import", str(folder), data_dir=data, db=store_url)
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        f"omnitui: {folder}/bad.az.md:4: no answer below the front matter",
        "omnitui: nothing imported",
    ]


# ---------------------------------------------------------------------------
# The TUI: K opens the knowledge base; the timeline marks the bot's answers and the handoff


async def test_k_edits_the_knowledge_base_and_the_timeline_marks_the_bot(
    tui_store: Store, tmp_path: Path
) -> None:
    engine = tui_store.engine
    bot.import_kb(engine, [REFUND], agent="aysel")
    for n, said in enumerate(("چطور پولم را پس بگیرم", "کارشناس"), 20):
        message = inbound(n, said, address="visitor-77", channel="webchat", account="chat")
        (stored,) = inbox.ingest(engine, Batch([message]))
        assert stored.message_id is not None
        bot.bot_turn(engine, stored.message_id, BOT)
    app = make_app(tui_settings_for(tmp_path, tui_store.url))
    async with app.run_test(size=(160, 50)) as pilot:
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.ready, what="the inbox")
        timeline.show_customer(tui_store.reza)
        await wait_for(
            pilot,
            lambda: "handed to the agents: the customer asked for a person" in screen_text(app),
            what="the handoff in the history",
        )
        assert "→ bot" in screen_text(app)

        await pilot.press("K")
        await wait_for(pilot, lambda: isinstance(app.screen, KbScreen), what="the editor")
        editor = app.screen
        assert isinstance(editor, KbScreen)
        await wait_for(pilot, lambda: editor.rows is not None and len(editor.rows) == 1)
        assert "refund" in screen_text(app)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, KbForm), what="the form")
        form = app.screen
        assert isinstance(form, KbForm)
        await type_text(pilot, "refund")  # taken: the store says so
        await pilot.press("tab")
        await type_text(pilot, "info")
        await pilot.press("tab")
        form.query_one("#kb-question", Input).value = "When are you open? | opening hours"
        await pilot.press("tab")
        form.query_one("#canned-body", TextArea).load_text("Every day from 9 to 18.")
        await pilot.press("ctrl+l")
        assert form.language == "az"
        form.query_one("#kb-question", Input).value = "Nə vaxt açıqsınız?"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "az: the answer is missing" in form.error)
        form.query_one("#canned-body", TextArea).load_text("Hər gün 9-dan 18-dək.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "has an entry refund already" in form.error)
        form.query_one("#kb-slug", Input).value = "hours"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is editor, what="saved")
        await wait_for(pilot, lambda: "Saved hours" in editor.said)
    found = bot.kb_matches(engine, "what are your opening hours")
    assert found is not None and found.candidate.slug == "hours"
    found = bot.kb_matches(engine, "Saat neçədə açıqsınız?", "az")
    assert found is not None and found.candidate.answer == "Hər gün 9-dan 18-dək."


def test_words_are_matched_in_their_forms_and_a_person_only_when_asked_for() -> None:
    assert kb.score("SİPARİŞİMİN İADESİ nasıl olur?", "Sipariş iadesi") == pytest.approx(2 / 3)
    assert kb.score("refunds", "How do I get a refund?") == 1.0
    assert kb.score("qaytarın pulumu", "Pulu necə qaytarmaq olar") == 1.0
    assert kb.score("how are you", "How do I get a refund?") == 0.0  # frequent words only
    words = [w for language in kb.DEFAULT_HANDOFF_WORDS.values() for w in language]
    for asked in ("PERSON please", "operatorla danışmaq", "Temsilciye bağlayın", "انسان"):
        assert kb.asks_for_person(asked, words), asked
    for not_asked in ("delete my personal data", "your agency", "humanity", "insanlık"):
        assert not kb.asks_for_person(not_asked, words), not_asked
    assert kb.is_command("/start ref-42") and not kb.is_command("1/2 of my order")


def test_doctor_says_when_the_bot_is_on_with_an_empty_knowledge_base(
    tmp_path: Path, store_url: str, engine: Engine
) -> None:
    settings = settings_for(tmp_path, store_url, bot={"telegram": True})

    def bot_check() -> tuple[bool, str]:
        (check,) = [
            c for c in run_checks(settings.config_path, lambda: settings) if c.name == "FAQ bot"
        ]
        return check.ok, check.detail

    assert bot_check() == (
        False,
        "on for telegram, but the knowledge base is empty: every conversation goes to the "
        "agents (omnitui kb import DIR, or K in the TUI)",
    )
    bot.import_kb(engine, [REFUND], agent="leyla")
    assert bot_check() == (True, "on for telegram: 1 entry, min_score 0.5")
