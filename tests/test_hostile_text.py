"""Hostile customer text through every screen of the TUI: shown as text, never obeyed.

Each string comes in as a message body, its subject and the sender's name. The
agent opens every customer, the full view of the message and a search; the app
must keep running, show markup literally, and let no control character reach
the screen (ESC, BEL, NUL, 8-bit CSI, bidi override). The same holds for an agent's
name and a tag in the report and its filters, a customer's name in the call window, a
call's notes, a rating's comment and a bot's answer in the history, and a knowledge base
entry listed and opened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from textual.strip import Strip
from textual.widgets import Input, OptionList, TextArea

from omnitui import bot, inbox, kb
from omnitui.app import OmniApp
from omnitui.config import BotConfig, Settings
from omnitui.connectors.base import Batch
from omnitui.csat import SurveyPolicy
from omnitui.screens.call import CallScreen
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.kb import KbForm, KbScreen
from omnitui.screens.message import MessageScreen
from omnitui.screens.report import FilterPicker, ReportScreen
from omnitui.screens.search import SearchScreen
from omnitui.text import one_line
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.pager import Pager
from omnitui.widgets.timeline import Timeline
from tests.tui_support import (
    START,
    inbound,
    ingest,
    make_app,
    screen_text,
    type_text,
    visible_lines,
    wait_for,
)

HUGE = "A" * 1_000_000

HOSTILE = [
    "[/b]",
    "[@click=app.quit]x[/]",
    "[bold red]fake[/]",
    "\x1b[2J\x1b[H wiped",
    "\x1b]52;c;SGVsbG8=\x07 clipboard",
    "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "\x1b]0;pwned title\x07 title",
    "\x1bP+q\x1b\\ dcs",
    "a\x00b nul",
    "\x9b31m csi8",
    HUGE,
    "سلام order #123 از Tehran",
    "\u202eevil\u202c override",
]
FORBIDDEN = ["\x1b", "\x07", "\x00", "\x9b", "\u202e", "\x9d", "\x90"]


def assert_clean(text: str, where: str) -> None:
    for char in FORBIDDEN:
        assert char not in text, f"{char!r} reached the screen in {where}"


def assert_no_actions(strips: list[Strip], where: str) -> None:
    """Customer text must not carry click actions (as markup would make it)."""
    for strip in strips:
        for segment in strip:
            meta = segment.style.meta if segment.style else {}
            assert "@click" not in meta, f"a click action in {where}: {segment.text!r}"


@pytest.fixture
def hostile_store(store_url: str, engine: object) -> list[int]:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    ids = []
    for n, raw in enumerate(HOSTILE):
        message = inbound(
            n + 1,
            raw,
            address=f"hostile{n}@example.com",
            name=raw,
            subject=raw,
            at=START + timedelta(minutes=n),
        )
        ids += ingest(engine, message)
    return ids


async def test_hostile_text_everywhere(hostile_store: list[int], tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=(160, 50)) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.total == len(HOSTILE) and customers.selected_id)
        seen: set[int] = set()
        for index in range(len(HOSTILE)):
            customers.focus()
            customers.move_cursor(index)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: (
                    timeline.customer_id == customers.selected_id
                    and timeline.ready
                    and len(timeline.lines) > 3
                ),
                what=f"customer {index}",
            )
            assert customers.selected_id is not None
            seen.add(customers.selected_id)
            where = f"the inbox, customer {index}"
            assert_clean(screen_text(app), where)
            assert_clean("\n".join(strip.text for strip in timeline.lines), where)
            assert_no_actions(timeline.lines, where)
            assert_no_actions(
                [customers.render_line(y) for y in range(customers.size.height)], where
            )

            # The full view of the message.
            await pilot.press("v")
            assert isinstance(app.screen, MessageScreen)
            pager = app.screen.query_one(Pager)
            await wait_for(
                pilot,
                lambda pager=pager: pager.ready and app.screen.characters > 0,
                what=f"full view {index}",
            )
            assert_clean(screen_text(app), f"the full view, customer {index}")
            assert_clean("\n".join(line.plain for line in pager.lines), "the full view")
            await pilot.press("escape")
            assert isinstance(app.screen, InboxScreen)
        assert seen == set(hostile_store)

        def timeline_text() -> str:
            return "\n".join(strip.text for strip in timeline.lines)

        # Markup is shown as the characters the customer typed.
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        search = app.screen
        await type_text(pilot, "click")
        await wait_for(pilot, lambda: search.hits, what="search results")
        text = screen_text(app)
        assert "[@click=app.quit]x[/]" in text
        assert_clean(text, "search")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        await wait_for(
            pilot,
            lambda: timeline.ready and "│ [@click=app.quit]x[/]" in timeline_text(),
        )
        assert "[bold red]fake[/]" not in timeline_text()  # another customer's

        for word in ("fake", "pwned", "evil", "Tehran", "link"):
            await pilot.press("slash")
            search = app.screen
            assert isinstance(search, SearchScreen)
            search.query_one(Input).value = word
            await wait_for(pilot, lambda search=search: search.hits, what=f"search {word}")
            assert_clean(screen_text(app), f"search {word}")
            await pilot.press("escape")
        assert app.is_running
        assert isinstance(app, OmniApp) and app.return_code is None


async def test_megabyte_message_opens_quickly_with_a_marker(
    hostile_store: list[int], tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=(160, 50)) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.total == len(HOSTILE))
        huge = hostile_store[HOSTILE.index(HUGE)]
        started = time.monotonic()
        customers.select_customer(huge)

        def history() -> str:
            return "\n".join(strip.text for strip in timeline.lines)

        await wait_for(
            pilot,
            lambda: (
                timeline.customer_id == huge
                and "more characters: press v to read the whole message" in history()
            ),
        )
        assert time.monotonic() - started < 3
        assert "998,000 more characters" in history()
        started = time.monotonic()
        await pilot.press("v")
        pager = app.screen.query_one(Pager)
        await wait_for(pilot, lambda: pager.ready and app.screen.characters == len(HUGE))
        assert time.monotonic() - started < 5
        assert "AAAA" in screen_text(app)


# -- the surfaces of issue 9: the report, the call window, the knowledge base, ratings ---

NOTES = "\n".join(raw for raw in HOSTILE if raw is not HUGE)
"""Every hostile string, a line each: a call's notes, a rating's comment, a bot's answer."""
NAME = "[bold red]fake[/] \x1b]52;c;SGVsbG8=\x07Ayşe\u202e"
AGENT = "[@click=app.quit]rauf[/]\x1b]0;pwned\x07\x1b[2J\u202e"
"""An agent's name as the store may hold it (a reply's author is an email's From name)."""
AGENT_SHOWN = "[@click=app.quit]rauf[/]"
TAG = "[@click=app.quit]vip[/]"
"""A tag is one printable word: markup is all it can carry."""
QUESTION = "How do I get a refund? [bold red]fake[/] \x1b]0;pwned\x07 \x9b31m"
SURVEY_REF = "<survey-1@example.com>"


@dataclass(frozen=True)
class Surfaces:
    named: int
    """NAME: a reply by AGENT, tagged TAG, assigned to AGENT, a call and a rating."""
    answered: int
    """A web chat visitor the FAQ bot answered with NOTES."""


@pytest.fixture
def surfaces(store_url: str, engine: Engine) -> Surfaces:
    (named,) = ingest(engine, inbound(1, "Where is my order?", address="c@example.com", name=NAME))
    reply = inbound(2, "On its way.", address="c@example.com", at=START + timedelta(minutes=10))
    ingest(engine, replace(reply, direction="out", author=AGENT))
    conv = inbox.current_conversation(engine, named)
    assert conv is not None
    inbox.add_tag(engine, conv, TAG, agent=AGENT)
    inbox.assign(engine, conv, AGENT, agent=AGENT)
    inbox.log_call(
        engine,
        named,
        direction="in",
        duration_seconds=330,
        outcome="answered",
        notes=NOTES,
        agent=AGENT,
        at=START + timedelta(minutes=20),
    )
    # Resolved with an email survey, which the customer answers with a rating and NOTES.
    email = SurveyPolicy(frozenset({("email", "mail")}))
    inbox.set_conversation_status(engine, conv, "resolved", agent=AGENT, surveys=email)
    with engine.connect() as connection:
        survey = connection.execute(text("SELECT id FROM message WHERE kind = 'survey'")).scalar()
    assert isinstance(survey, int)
    inbox.mark_sent(engine, survey, SURVEY_REF)
    rating = inbound(3, f"2 - {NOTES}", address="c@example.com", at=datetime.now(UTC))
    ingest(engine, replace(rating, thread_ref=SURVEY_REF))

    entry = kb.Entry("refund", (), {"en": kb.Variant(QUESTION, NOTES)})
    bot.import_kb(engine, [entry], agent="leyla")
    asked = inbound(4, "How do I get a refund?", address="v-1", channel="webchat", account="chat")
    (stored,) = inbox.ingest(engine, Batch([asked]))
    assert stored.message_id is not None and stored.customer_id is not None
    assert bot.bot_turn(engine, stored.message_id, BotConfig(webchat=True)).action == "answered"
    return Surfaces(named, stored.customer_id)


def assert_harmless(app: OmniApp, where: str) -> str:
    """The whole screen: no action in it, no control character; its text."""
    strips = app.screen._compositor.render_strips()
    shown = "\n".join(strip.text for strip in strips)
    assert_clean(shown, where)
    assert_no_actions(strips, where)
    return shown


async def test_hostile_names_and_text_on_the_report_calls_knowledge_base_and_ratings(
    surfaces: Surfaces, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    # Narrow enough for the report's tables to be as wide as the screen (else a name is cut).
    async with app.run_test(size=(110, 50)) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.total == 2 and timeline.ready)

        def history() -> str:
            return "\n".join(strip.text for strip in timeline.lines)

        # The reply's author, the tag and the assignment, the call's notes, the rating's
        # comment; then the bot's answer.
        markup = "[@click=app.quit]x[/]"
        for customer, said in (
            (
                surfaces.named,
                [AGENT_SHOWN, f"+ {TAG}", f"→ {AGENT_SHOWN}", "Call in", "Rated ★★☆☆☆ 2/5"],
            ),
            (surfaces.answered, ["→ bot", "[bold red]fake[/]"]),
        ):
            customers.select_customer(customer)
            await wait_for(
                pilot,
                lambda customer=customer: (
                    timeline.customer_id == customer
                    and timeline.ready
                    and app.inbox.detail is not None
                    and app.inbox.detail.row.id == customer
                ),
                what=f"customer {customer}",
            )
            where = f"the history of customer {customer}"
            shown = history()
            assert_clean(shown, where)
            assert_no_actions(timeline.lines, where)
            for words in said:
                assert words in shown, f"{words!r} not in {where}:\n{shown}"
            assert shown.count(markup) == (2 if customer == surfaces.named else 1), shown
            assert_harmless(app, where)

        # The call window, on NAME.
        customers.select_customer(surfaces.named)
        await wait_for(
            pilot, lambda: app.inbox.detail and app.inbox.detail.row.id == surfaces.named
        )
        await pilot.press("C")
        await wait_for(pilot, lambda: "Log a call · [bold red]fake[/] Ayşe" in screen_text(app))
        assert isinstance(app.screen, CallScreen)
        assert_harmless(app, "the call window")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))

        # The report: AGENT in the agents' table; TAG and AGENT in the filters' pickers and
        # on the filters' line.
        await pilot.press("I")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
        report = app.screen
        assert isinstance(report, ReportScreen)
        await wait_for(pilot, lambda: report.choices and AGENT_SHOWN in screen_text(app))
        assert_harmless(app, "the report")
        for key, typed, name in (("t", "vip", TAG), ("a", "rauf", AGENT)):
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, FilterPicker), what="a picker")
            picker = app.screen
            picker.query_one(Input).value = typed
            # All, then the one name that holds what was typed, highlighted.
            options = picker.query_one(OptionList)
            await wait_for(
                pilot,
                lambda options=options: options.option_count == 2 and options.highlighted == 1,
            )
            assert one_line(name) in "\n".join(visible_lines(options))
            assert_harmless(app, f"the picker of {key}")
            await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                report.report is not None
                and report.report.filter.tags == (TAG,)
                and report.report.filter.agents == (AGENT,)
                and screen_text(app).count(AGENT_SHOWN) == 2  # the filter, the table
            ),
            what="the report of TAG and AGENT",
        )
        shown = assert_harmless(app, "the report of TAG and AGENT")
        assert f"tag: {TAG}" in shown and f"agent: {AGENT_SHOWN}" in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))

        # The knowledge base: the entry listed, then opened in its form.
        await pilot.press("K")
        listed = "refund  How do I get a refund? [bold red]fake[/]  en"
        await wait_for(pilot, lambda: listed in screen_text(app), what="the list")
        assert isinstance(app.screen, KbScreen)
        assert_harmless(app, "the knowledge base")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KbForm), what="the entry's form")
        form = app.screen
        question, answer = form.query_one("#kb-question", Input), form.query_one(TextArea)
        await wait_for(pilot, lambda: "Edit knowledge base entry" in screen_text(app))
        assert "How do I get a refund? [bold red]fake[/]" in visible_lines(question)[0]
        assert markup in "\n".join(visible_lines(answer))
        assert_harmless(app, "the knowledge base entry")
        assert app.is_running
