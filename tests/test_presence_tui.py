"""Two agents' TUIs on one store, in one event loop: each sees the other online and which
customer they have open; one typing to a customer makes the other's send warn first and go
on the second press; when both reply, the later one is held, shown the earlier reply and
sends on the next press, with both replies in the store and the history and no draft text
lost; a draft is saved as it is typed and restored by a new TUI; a clean quit clears the
presence row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.config import Config, Settings
from omnitui.widgets.composer import Composer
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.presence import PresenceLine
from omnitui.widgets.status_line import StatusLine
from omnitui.widgets.timeline import Timeline
from omnitui.widgets.times import local_time
from tests.runner_support import query
from tests.tui_support import (
    NOW,
    ZONE,
    Store,
    list_text,
    make_app,
    screen_text,
    timeline_text,
    type_text,
    wait_for,
)

SIZE = (160, 50)
HOSTILE_AGENT = "[@click=quit]\x1b]52;c;aGk=\x07x[/]\x1b[2J"


def agent_settings(tmp_path: Path, url: str, agent: str) -> Settings:
    """Settings of another agent's TUI on the same store (its own log and data dir)."""
    home = tmp_path / agent
    home.mkdir(exist_ok=True)
    return Settings(
        data_dir=home,
        config_path=home / "c.toml",
        config=Config(),
        agent=agent,
        store_url=url,
        run_runner=False,
        log_file=home / "log",
    )


def rows(store: Store, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return query(store.url, sql, args)


async def open_customer(pilot: Pilot[object], app: OmniApp, customer: int) -> None:
    """Put the list's cursor on the customer and open it (enter), as after a search."""
    customers = app.inbox.query_one(CustomerList)
    timeline = app.inbox.query_one(Timeline)
    await wait_for(pilot, lambda: customers.selected_id is not None, what="the list")
    customers.select_customer(customer)
    await wait_for(pilot, lambda: customers.selected_id == customer, what="the cursor")
    customers.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: timeline.customer_id == customer and timeline.ready)
    await wait_for(
        pilot,
        lambda: app.inbox.detail is not None and app.inbox.detail.row.id == customer,
        what="the customer's detail",
    )


def here(app: OmniApp) -> str:
    """What the line above the composer says about other agents."""
    return app.inbox.query_one(PresenceLine).shown


def online(app: OmniApp) -> str:
    return app.inbox.query_one(StatusLine).render().plain  # type: ignore[union-attr]


def composer(app: OmniApp) -> Composer:
    return app.inbox.query_one(Composer)


def replies(store: Store) -> list[tuple[Any, ...]]:
    return rows(store, "SELECT author, body FROM message WHERE direction = 'out' ORDER BY id")


def drafts(store: Store) -> list[tuple[Any, ...]]:
    return rows(store, "SELECT agent, customer_id, body FROM draft ORDER BY agent")


async def test_two_agents_see_each_other_and_a_send_warns_while_the_other_types(
    tui_store: Store, tui_settings: Settings, tmp_path: Path
) -> None:
    ayse = tui_store.ayse
    leyla = make_app(tui_settings)
    aysel = make_app(agent_settings(tmp_path, tui_store.url, "aysel"))
    async with leyla.run_test(size=SIZE) as a, aysel.run_test(size=SIZE) as b:
        await open_customer(a, leyla, ayse)
        await open_customer(b, aysel, ayse)
        # Each sees the other online, and viewing the customer both have open.
        await wait_for(a, lambda: "online aysel" in online(leyla), 5, "aysel online")
        await wait_for(b, lambda: "online leyla" in online(aysel), 5, "leyla online")
        await wait_for(a, lambda: here(leyla) == "aysel is viewing", 5, "aysel viewing")
        await wait_for(b, lambda: here(aysel) == "leyla is viewing", 5, "leyla viewing")
        # The list marks the row of the customer another agent has open.
        await wait_for(a, lambda: "◉ aysel" in list_text(leyla), 5, "the list's mark")
        assert "◉ leyla" not in list_text(leyla), "one's own presence is no mark"
        assert rows(tui_store, "SELECT agent, customer_id FROM presence ORDER BY agent") == [
            ("aysel", ayse),
            ("leyla", ayse),
        ]

        # Aysel types a reply: Leyla sees it, and her own send is held once.
        await b.press("r")
        await type_text(b, "Kargonuz yolda")
        await wait_for(a, lambda: here(leyla) == "aysel is typing…", 5, "aysel typing")
        assert "aysel is typing…" in screen_text(leyla)
        await a.press("r")
        await type_text(a, "Merhaba Ayşe Hanım")
        await a.press("ctrl+s")
        warning = "aysel is writing to this customer too — send again to send anyway"
        await wait_for(a, lambda: composer(leyla).warning == warning, 5, "the warning")
        assert warning in screen_text(leyla)
        assert replies(tui_store) == []
        assert composer(leyla).text == "Merhaba Ayşe Hanım" and not composer(leyla).sending
        # The second press sends anyway.
        await a.press("ctrl+s")
        await wait_for(a, lambda: replies(tui_store) == [("leyla", "Merhaba Ayşe Hanım")], 5)
        await wait_for(a, lambda: composer(leyla).text == "", 5, "the composer cleared")
        assert composer(leyla).warning == ""
        await wait_for(a, lambda: drafts(tui_store) == [("aysel", ayse, "Kargonuz yolda")], 5)

        # Moving to another customer: the mark follows.
        await b.press("escape", "escape")
        await open_customer(b, aysel, tui_store.john)
        await wait_for(a, lambda: here(leyla) == "", 5, "aysel gone from Ayşe")
        assert "is typing" not in screen_text(leyla)
    # Both quit cleanly: nobody is online, viewing or typing any more.
    assert rows(
        tui_store, "SELECT agent, customer_id, typing, seen_at FROM presence ORDER BY agent"
    ) == [
        ("aysel", None, 0, None),
        ("leyla", None, 0, None),
    ]


async def test_a_reply_raced_by_two_agents_holds_the_later_one_and_loses_nothing(
    tui_store: Store, tui_settings: Settings, tmp_path: Path
) -> None:
    ayse = tui_store.ayse
    leyla = make_app(tui_settings)
    aysel = make_app(agent_settings(tmp_path, tui_store.url, "aysel"))
    async with leyla.run_test(size=SIZE) as a, aysel.run_test(size=SIZE) as b:
        await open_customer(a, leyla, ayse)
        await open_customer(b, aysel, ayse)
        await a.press("r")
        await type_text(a, "Siparişiniz bugün kargoda")
        await b.press("r")
        await type_text(b, "Yarın teslim edilecek")
        # Both drafts are in the store as they are typed.
        await wait_for(
            a,
            lambda: (
                drafts(tui_store)
                == [
                    ("aysel", ayse, "Yarın teslim edilecek"),
                    ("leyla", ayse, "Siparişiniz bugün kargoda"),
                ]
            ),
            5,
            "both drafts saved",
        )

        # Aysel sends first: warned that Leyla writes too, sends on the second press.
        await b.press("ctrl+s")
        await wait_for(b, lambda: "leyla is writing" in composer(aysel).warning, 5)
        await b.press("ctrl+s")
        await wait_for(b, lambda: replies(tui_store) == [("aysel", "Yarın teslim edilecek")], 5)
        [(sent_at,)] = rows(tui_store, "SELECT sent_at FROM message WHERE author = 'aysel'")

        # Leyla sends later: held, shown Aysel's reply, her text kept, here and in the store.
        await a.press("ctrl+s")
        await wait_for(a, lambda: "while you were writing" in composer(leyla).warning, 5)
        from omnitui.reads import parse_stamp

        at = local_time(parse_stamp(sent_at), NOW, ZONE)
        assert composer(leyla).warning == (
            f"aysel replied at {at} while you were writing — read it, then send again"
        )
        await wait_for(a, lambda: "Yarın teslim edilecek" in timeline_text(leyla), 5, "shown")
        assert composer(leyla).text == "Siparişiniz bugün kargoda"
        assert replies(tui_store) == [("aysel", "Yarın teslim edilecek")]
        assert ("leyla", ayse, "Siparişiniz bugün kargoda") in drafts(tui_store)

        # The next press sends it: both replies in the store and in both histories.
        await a.press("ctrl+s")
        await wait_for(a, lambda: len(replies(tui_store)) == 2, 5, "Leyla's reply")
        assert replies(tui_store) == [
            ("aysel", "Yarın teslim edilecek"),
            ("leyla", "Siparişiniz bugün kargoda"),
        ]
        for app, pilot in ((leyla, a), (aysel, b)):
            await wait_for(
                pilot,
                lambda app=app: (
                    "Siparişiniz bugün kargoda" in timeline_text(app)
                    and "Yarın teslim edilecek" in timeline_text(app)
                ),
                5,
                f"both replies in {app.settings.agent}'s history",
            )
        await wait_for(a, lambda: drafts(tui_store) == [], 5, "no draft left")


async def test_a_draft_is_saved_as_typed_and_restored_by_a_new_tui(
    tui_store: Store, tui_settings: Settings
) -> None:
    john = tui_store.john
    first = make_app(tui_settings)
    async with first.run_test(size=SIZE) as pilot:
        await open_customer(pilot, first, john)
        await pilot.press("r")
        await type_text(pilot, "Refund approved,")
        await pilot.press("enter")
        await type_text(pilot, "within 5 days")
        # In the store while the TUI runs (what a crash or a dropped SSH session leaves).
        await wait_for(
            pilot,
            lambda: drafts(tui_store) == [("leyla", john, "Refund approved,\nwithin 5 days")],
            5,
            "the draft saved as typed",
        )
        await type_text(pilot, ".")
    # Quit without sending: the last keys are saved too, and the agent is offline.
    assert drafts(tui_store) == [("leyla", john, "Refund approved,\nwithin 5 days.")]
    assert rows(tui_store, "SELECT customer_id, seen_at FROM presence") == [(None, None)]

    second = make_app(tui_settings)
    async with second.run_test(size=SIZE) as pilot:
        await open_customer(pilot, second, john)
        await wait_for(
            pilot,
            lambda: composer(second).text == "Refund approved,\nwithin 5 days.",
            5,
            "the draft restored",
        )
        assert composer(second).mode == "reply"
        # Another customer has no draft; back to John, the text is still there.
        await open_customer(pilot, second, tui_store.ali)
        assert composer(second).text == ""
        await open_customer(pilot, second, john)
        assert composer(second).text == "Refund approved,\nwithin 5 days."
        # Sent: the draft is gone from the store.
        await pilot.press("r", "ctrl+s")
        await wait_for(pilot, lambda: len(replies(tui_store)) == 1, 5, "the reply")
        await wait_for(pilot, lambda: drafts(tui_store) == [], 5, "the draft deleted")


async def test_a_note_draft_comes_back_as_a_note(tui_store: Store, tui_settings: Settings) -> None:
    reza = tui_store.reza
    inbox.save_draft(
        tui_store.engine, "leyla", reza, "iade için onay bekleniyor", mode="note", started_at=NOW
    )
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, reza)
        await wait_for(pilot, lambda: composer(app).text == "iade için onay bekleniyor", 5)
        assert composer(app).mode == "note"


async def test_other_agents_names_are_plain_text(tui_store: Store, tui_settings: Settings) -> None:
    ali = tui_store.ali
    inbox.presence_heartbeat(tui_store.engine, HOSTILE_AGENT, ali)
    inbox.set_presence(tui_store.engine, HOSTILE_AGENT, ali, True)
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_customer(pilot, app, ali)
        await wait_for(pilot, lambda: here(app) != "", 5, "the other agent")
        assert here(app) == "[@click=quit]x[/] is typing…"
        assert "online [@click=quit]x[/]" in online(app)
        assert "\x1b" not in screen_text(app) and app.is_running
