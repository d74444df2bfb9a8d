"""Canned replies in the TUI, key by key: ``::`` in the composer opens the picker, a few
letters find the reply, enter puts it in filled in for the customer (in their language,
else the agent's, else English) and ctrl+s sends it so; esc leaves what was typed; a body
that cannot be filled, or a reply still holding a variable, is said on one line and
nothing is inserted or sent; the editor (command palette) adds a reply the picker finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from textual.pilot import Pilot
from textual.widgets import Input

from omnitui import db, inbox
from omnitui.app import OmniApp
from omnitui.canned import CannedReply
from omnitui.config import Config, Settings
from omnitui.config.models import AgentConfig
from omnitui.reads import Reader
from omnitui.screens.canned import CannedForm, CannedPicker, CannedScreen
from omnitui.screens.inbox import InboxScreen
from omnitui.widgets.composer import Composer
from omnitui.widgets.timeline import Timeline
from tests.runner_support import query
from tests.tui_support import (
    Store,
    inbound,
    ingest,
    make_app,
    screen_text,
    type_text,
    wait_for,
)

SIZE = (160, 50)

LIBRARY = [
    CannedReply(
        "Return an order",
        "ret",
        ("returns",),
        {
            "en": "Hello {customer.first_name}, returns are free. Case #{conversation.id}.\n"
            "— {agent.name}",
            "az": "Salam {customer.first_name}, qaytarma pulsuzdur. İş #{conversation.id}.\n"
            "— {agent.name}",
        },
    ),
    CannedReply("Where we write to you", "mail", (), {"en": "We write to {customer.email}."}),
    CannedReply("Kargo takibi", "kargo", ("shipping",), {"tr": "Kargonuz yolda."}),
]


def settings_with(tmp_path: Path, url: str, language: str = "") -> Settings:
    return Settings(
        data_dir=tmp_path,
        config_path=tmp_path / "c.toml",
        config=Config(agent=AgentConfig(language=language)),
        agent="leyla",
        store_url=url,
        run_runner=False,
        log_file=tmp_path / "log",
    )


def rows(store: Store, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return query(store.url, sql, args)


def replies_to(store: Store, customer_id: int) -> list[str]:
    return [
        str(body)
        for (body,) in rows(
            store,
            "SELECT body FROM message WHERE customer_id = ? AND direction = 'out' ORDER BY id",
            (customer_id,),
        )
    ]


@pytest.fixture
def library(tui_store: Store) -> Store:
    inbox.import_canned(tui_store.engine, LIBRARY, agent="aysel")
    return tui_store


async def open_customer(pilot: Pilot[Any], app: OmniApp, customer_id: int) -> None:
    """The customer shown and their history and detail read, as after picking them."""
    screen = app.inbox
    timeline = screen.query_one(Timeline)
    # First the start's own pick (the top of the list): made later, it would undo ours.
    await wait_for(
        pilot, lambda: timeline.customer_id is not None and timeline.ready, what="the inbox"
    )
    if timeline.customer_id != customer_id:
        timeline.show_customer(customer_id)
        screen.customers.select_customer(customer_id)
    await wait_for(
        pilot,
        lambda: (
            timeline.ready
            and screen.detail is not None
            and screen.detail.row.id == customer_id
            and screen.composer.detail is not None
            and screen.composer.detail.row.id == customer_id
        ),
        what=f"customer {customer_id} open",
    )


async def picker_for(pilot: Pilot[Any], app: OmniApp, typed: str) -> CannedPicker:
    """Reply mode, ``typed`` and then ``::``: the picker, with the library read."""
    await pilot.press("r")
    await type_text(pilot, typed)
    await pilot.press(":", ":")
    await wait_for(pilot, lambda: isinstance(app.screen, CannedPicker), what="the picker")
    picker = app.screen
    assert isinstance(picker, CannedPicker)
    await wait_for(pilot, lambda: picker.rows is not None, what="the library read")
    return picker


def composer_of(app: OmniApp) -> Composer:
    return app.inbox.composer


async def test_colons_pick_ret_in_the_customers_language_and_it_is_sent_filled_in(
    library: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hook patched (detection itself: the unpatched test below): Əli writes Azerbaijani.
    monkeypatch.setattr(
        Reader, "customer_language", lambda self, cid: "az" if cid == library.ali else None
    )
    app = make_app(settings_with(tmp_path, library.url))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, library.ali)
        picker = await picker_for(pilot, app, "")
        assert "Return an order" in screen_text(app) and "::kargo" in screen_text(app)
        await type_text(pilot, "ret")
        assert picker.shown[0].shortcut == "ret"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="inserted")
        composer = composer_of(app)
        (conversation,) = rows(
            library, "SELECT id FROM conversation WHERE customer_id = ?", (library.ali,)
        )
        expected = f"Salam Əli, qaytarma pulsuzdur. İş #{conversation[0]}.\n— leyla"
        assert composer.text == expected
        assert composer.area.has_focus
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: replies_to(library, library.ali) == [expected], what="sent")


async def test_a_customer_writing_azerbaijani_gets_the_az_variant_unpatched(
    library: Store, tmp_path: Path
) -> None:
    # No hook patched: Əli's messages are read and detected as Azerbaijani (the agent's
    # own language is Turkish, which would give English for ::ret).
    ingest(
        library.engine,
        inbound(8, "Şifrəni dəyişdim, yenə də girə bilmirəm.", address="ali@example.az"),
    )
    app = make_app(settings_with(tmp_path, library.url, language="tr"))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, library.ali)
        picker = await picker_for(pilot, app, "")
        assert picker.customer_language == "az"
        await type_text(pilot, "ret")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="inserted")
        assert composer_of(app).text.startswith("Salam Əli, qaytarma pulsuzdur.")


async def test_what_is_typed_fast_after_the_colons_is_the_pickers_query(
    library: Store, tmp_path: Path
) -> None:
    app = make_app(settings_with(tmp_path, library.url))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, library.ali)
        await pilot.press("r")
        # In one go, as a fast typist (or a paste) does: the letters outrun the picker.
        await pilot.press(":", ":", "r", "e", "t")
        await wait_for(pilot, lambda: isinstance(app.screen, CannedPicker), what="the picker")
        picker = app.screen
        assert isinstance(picker, CannedPicker)
        await wait_for(pilot, lambda: picker.rows is not None, what="the library read")
        assert picker.query_one(Input).value == "ret"
        assert picker.shown[0].shortcut == "ret"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="inserted")
        assert "::" not in composer_of(app).text and "ret" not in composer_of(app).text[:3]


async def test_without_the_customers_language_the_agents_then_english(
    library: Store, tmp_path: Path
) -> None:
    # Sam's two words say no language. The agent's language is Turkish: ::ret has no
    # Turkish body, so English; ::kargo has only Turkish, so Turkish whatever anyone speaks.
    (sam,) = ingest(
        library.engine, inbound(7, "Order 998?", address="sam@example.com", name="Sam Lee")
    )
    assert Reader(library.url).customer_language(sam) is None
    app = make_app(settings_with(tmp_path, library.url, language="tr"))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, sam)
        await picker_for(pilot, app, "Hi ")
        await type_text(pilot, "ret")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        composer = composer_of(app)
        assert composer.text.startswith("Hi Hello Sam, returns are free.")
        assert composer.text.endswith("— leyla")
        await type_text(pilot, " ")
        await pilot.press(":", ":")
        await wait_for(pilot, lambda: isinstance(app.screen, CannedPicker))
        await type_text(pilot, "krg")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        assert composer.text.endswith("— leyla Kargonuz yolda.")

    app = make_app(settings_with(tmp_path, library.url, language="az"))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, sam)
        await picker_for(pilot, app, "")
        await type_text(pilot, "return")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        assert composer_of(app).text.startswith("Salam Sam,")


async def test_esc_leaves_the_text_as_typed_and_colons_inside_words_open_nothing(
    library: Store, tmp_path: Path
) -> None:
    app = make_app(settings_with(tmp_path, library.url))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, library.john)
        await picker_for(pilot, app, "See ")
        await type_text(pilot, "ret")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        composer = composer_of(app)
        assert composer.text == "See ::ret"
        assert composer.area.has_focus
        await type_text(pilot, " at 12")
        await pilot.press(":", ":")  # "12::" is no start of a word
        await type_text(pilot, "30")
        await pilot.pause()
        assert isinstance(app.screen, InboxScreen)
        assert composer.text == "See ::ret at 12::30"


async def test_a_body_that_cannot_be_filled_is_said_and_nothing_inserted(
    library: Store, tmp_path: Path
) -> None:
    # A body the store has from before bodies were checked (the 0007 migration carries the
    # old one-body replies over as they were).
    with db.make_engine(library.url).begin() as conn:
        conn.execute(
            text(
                "UPDATE cannedvariant SET body = 'Hi {customer.nmae}' WHERE language = 'en' AND "
                "canned_id = (SELECT id FROM canned WHERE shortcut = 'mail')"
            )
        )
    app = make_app(settings_with(tmp_path, library.url))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, library.john)
        picker = await picker_for(pilot, app, "x ")
        await type_text(pilot, "mail")
        await pilot.press("enter")
        await wait_for(pilot, lambda: picker.error, what="the error")
        assert "unknown variable {customer.nmae} at line 1" in picker.error
        assert "did you mean {customer.name}?" in picker.error
        assert "Not inserted: ::mail (en): unknown variable {customer.nmae}" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        assert composer_of(app).text == "x ::mail"


async def test_a_reply_holding_a_variable_is_not_sent(library: Store, tmp_path: Path) -> None:
    app = make_app(settings_with(tmp_path, library.url))
    async with app.run_test(size=SIZE) as pilot:
        # Reza writes by web chat: no email address, so {customer.email} has no value. It
        # is inserted as written, said, and the send refused until it is replaced.
        await open_customer(pilot, app, library.reza)
        await picker_for(pilot, app, "")
        await type_text(pilot, "mail")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        composer = composer_of(app)
        assert composer.text == "We write to {customer.email}."
        assert "No value for {customer.email}" in composer.warning
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Not sent: {customer.email} at line 1" in composer.warning)

        # A typo typed by hand: refused with the variable and its line, visible.
        area = composer.area
        area.load_text("Hello,\nthanks {customer.nmae}!")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: "Not sent: unknown variable {customer.nmae} at line 2" in screen_text(app),
            what="the refusal on the screen",
        )
        assert replies_to(library, library.reza) == []
        assert not composer.sending

        # A note is never sent: it may quote a variable.
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: (
                rows(library, "SELECT body FROM message WHERE direction = 'note'")
                == [("Hello,\nthanks {customer.nmae}!",)]
            ),
        )


async def test_the_editor_adds_a_reply_the_picker_then_finds(
    library: Store, tmp_path: Path
) -> None:
    app = make_app(settings_with(tmp_path, library.url))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, library.john)
        await pilot.press("ctrl+p")
        await type_text(pilot, "canned")
        await wait_for(pilot, lambda: "Add, edit and delete canned replies" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CannedScreen), what="the editor")
        editor = app.screen
        assert isinstance(editor, CannedScreen)
        await wait_for(pilot, lambda: editor.rows is not None and len(editor.rows) == 3)
        assert "::kargo" in screen_text(app)

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, CannedForm), what="the form")
        form = app.screen
        assert isinstance(form, CannedForm)
        await type_text(pilot, "Greeting")
        await pilot.press("tab")
        await type_text(pilot, "ret")  # taken: the store says so
        await pilot.press("tab")
        await type_text(pilot, "hello welcome")
        await pilot.press("tab")
        await type_text(pilot, "Hi {customer.first_name}!")
        await pilot.press("ctrl+l")
        assert form.language == "az"
        await type_text(pilot, "Salam {customer.first_name}!")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "::ret is taken by 'Return an order'" in form.error)
        form.query_one("#canned-shortcut").value = "hi"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is editor, what="saved")
        await wait_for(pilot, lambda: "::hi" in screen_text(app) and "Saved ::hi" in editor.said)
        (event,) = rows(library, "SELECT agent, before, after FROM event WHERE after LIKE '::hi %'")
        assert event[0] == "leyla" and event[1] is None
        assert event[2].startswith("::hi · Greeting · en az · #hello #welcome")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))

        await picker_for(pilot, app, "")
        await type_text(pilot, "greet")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        assert composer_of(app).text == "Hi John!"


async def test_the_editor_edits_and_deletes(library: Store, tmp_path: Path) -> None:
    app = make_app(settings_with(tmp_path, library.url))
    async with app.run_test(size=SIZE) as pilot:
        await app.run_action("app.canned_replies")
        await wait_for(pilot, lambda: isinstance(app.screen, CannedScreen))
        editor = app.screen
        assert isinstance(editor, CannedScreen)
        await wait_for(pilot, lambda: bool(editor.rows))
        assert editor.rows is not None
        assert [r.shortcut for r in editor.rows] == ["kargo", "mail", "ret"]
        await pilot.press("e")  # the first: ::kargo
        await wait_for(pilot, lambda: isinstance(app.screen, CannedForm))
        form = app.screen
        assert isinstance(form, CannedForm)
        assert form.query_one("#canned-title").value == "Kargo takibi"  # type: ignore[attr-defined]
        form.query_one("#canned-title").value = "Kargo nerede"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is editor)
        await wait_for(pilot, lambda: "Kargo nerede" in screen_text(app))

        await pilot.press("down", "d")
        await wait_for(pilot, lambda: "Delete ::mail" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Deleted ::mail" in editor.said)
        assert [r[0] for r in rows(library, "SELECT shortcut FROM canned ORDER BY 1")] == [
            "kargo",
            "ret",
        ]
        assert rows(library, "SELECT count(*) FROM cannedvariant WHERE canned_id NOT IN "
                    "(SELECT id FROM canned)") == [(0,)]  # fmt: skip


def test_help_lists_the_canned_keys(tmp_path: Path, store_url: str) -> None:
    ids = {row.id for row in make_app(settings_with(tmp_path, store_url)).binding_rows()}
    assert {
        "canned-picker-close",
        "canned-picker-down",
        "canned-add",
        "canned-edit",
        "canned-delete",
        "canned-form-save",
        "canned-form-language",
    } <= ids


async def test_hostile_titles_are_plain_text_in_the_picker_and_the_editor(
    tui_store: Store, tmp_path: Path
) -> None:
    hostile = "[@click=app.quit]Quit[/] [/b] \x1b]52;c;aGk=\x07\x1b[2J title"
    inbox.create_canned(tui_store.engine, CannedReply(hostile, "evil", (), {"en": "ok"}), agent="x")
    app = make_app(settings_with(tmp_path, tui_store.url))
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, tui_store.john)
        await picker_for(pilot, app, "")
        text = screen_text(app)
        assert "[@click=app.quit]Quit[/] [/b] title" in text and "\x1b" not in text
        await pilot.click("#canned-options")  # a live [@click] would quit the app
        await pilot.press("escape")
        await app.run_action("app.canned_replies")
        await wait_for(pilot, lambda: "[@click=app.quit]Quit[/] [/b] title" in screen_text(app))
        assert app.is_running
