"""The TUI driven as an agent drives it: keys in, what the screen shows out."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.pilot import Pilot

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.config import Settings
from omnitui.screens.help import HelpScreen
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.message import MessageScreen
from omnitui.screens.move import MoveScreen
from omnitui.screens.search import SearchScreen
from omnitui.widgets.composer import Composer, ComposerArea
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.pager import Pager
from omnitui.widgets.status_line import StatusLine
from omnitui.widgets.timeline import Timeline
from omnitui.widgets.times import local_time, relative_time
from omnitui.widgets.view_bar import ViewBar
from tests.tui_support import (
    NOW,
    ZONE,
    Store,
    inbound,
    ingest,
    list_text,
    make_app,
    screen_text,
    settings_for,
    timeline_text,
    type_text,
    wait_for,
)

SIZE = (160, 50)


def names_in_order(text: str, names: list[str]) -> list[str]:
    return sorted((n for n in names if n in text), key=text.index)


def status_text(app: OmniApp) -> str:
    status = app.inbox.query_one(StatusLine)
    return str(status.render())


async def test_reply_note_resolve_and_search(tui_store: Store, tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        composer = app.inbox.query_one(Composer)
        await wait_for(pilot, lambda: "John Smith" in list_text(app), what="the customer list")

        # Newest activity first; channel marks, unread counts and ages on each row.
        names = ["John Smith", "Ayşe Yılmaz", "Reza Ahmadi", "Əli Məmmədov"]
        shown = list_text(app)
        assert names_in_order(shown, names) == names
        assert "Refund" in shown  # John's preview
        assert "ET   Ayşe Yılmaz" in shown  # email and Telegram marks
        assert "55m" in shown  # Ayşe wrote at 09:05, the clock says 10:00

        # Pick Ayşe with the keyboard and open her: both channels in one timeline.
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.john)
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.ayse and timeline.ready)
        assert timeline.has_focus
        history = timeline_text(app)
        bodies = [
            "siparişim #4411 hâlâ gelmedi",
            "Telegram'dan da yazıyorum",
            "Kargo takip numarası var mı?",
        ]
        assert names_in_order(history, bodies) == bodies
        assert "← in  E email · Ayşe Yılmaz" in history
        assert "← in  T telegram · Ayşe" in history
        assert "13:01" in history  # 09:01 UTC in Baku
        assert "Siparişim nerede?" in history  # the subject
        # Opening her marked her read.
        await wait_for(
            pilot,
            lambda: customers.selected_row is not None and customers.selected_row.unread == 0,
            what="marked read",
        )

        # Reply: on the channel of her last message (email); queued, then sent.
        await pilot.press("r")
        assert composer.area.has_focus
        assert "via E email ayse@example.com.tr" in str(
            composer.query_one("#composer-mode").render()
        )
        mode_line = composer.query_one("#composer-mode")
        await pilot.press("ctrl+o")
        assert "via T telegram 100200" in str(mode_line.render())
        await pilot.press("ctrl+o")
        assert "via E email ayse@example.com.tr" in str(mode_line.render())
        await type_text(pilot, "Kargonuz yolda")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Kargonuz yolda" in timeline_text(app), what="the reply")
        assert composer.text == ""
        reply_lines = [line for line in timeline_text(app).splitlines() if "→ out" in line]
        assert "E email · leyla" in reply_lines[-1]
        assert "queued" in reply_lines[-1]
        await wait_for(pilot, lambda: "1 queued" in status_text(app), what="outbox count")

        # A real outbox pass, as the runner (another connection) does it.
        generation = inbox.acquire_lease(tui_store.engine, "testhost:1:abc", 30)
        assert generation is not None
        (claimed,) = inbox.claim_outbox(tui_store.engine, "testhost:1:abc", generation)
        assert claimed.address == "ayse@example.com.tr"
        inbox.mark_sent(tui_store.engine, claimed.message_id, "smtp-1")
        started = time.monotonic()
        await wait_for(
            pilot,
            lambda: any(
                "✓ sent" in line and "→ out" in line for line in timeline_text(app).splitlines()
            ),
            timeout=3,
            what="sent",
        )
        assert time.monotonic() - started < 1.5
        await wait_for(pilot, lambda: "runner: testhost:1:abc" in status_text(app))

        # Resolve: a status event in the history, and the list shows no open conversation.
        timeline.focus()
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: "status: open → resolved · leyla" in timeline_text(app),
            what="the status event",
        )
        await wait_for(
            pilot,
            lambda: customers.selected_row is not None and customers.selected_row.open == 0,
        )
        ayse_rows = [line for line in list_text(app).splitlines() if "resolved" in line]
        assert ayse_rows, list_text(app)

        # A note, set apart from the messages.
        await pilot.press("n")
        assert composer.has_class("note")
        await type_text(pilot, "VIP customer")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "VIP customer" in timeline_text(app), what="the note")
        note_lines = timeline_text(app).splitlines()
        index = next(i for i, line in enumerate(note_lines) if "VIP customer" in line)
        assert "NOTE" in note_lines[index - 1] and "leyla" in note_lines[index - 1]
        assert note_lines[index].startswith("  ┃ ")

        # Back to the list (Ayşe is on top now: the newest activity is our reply), onto
        # John; then search in another case and without the dots.
        await pilot.press("escape", "escape")
        assert customers.has_focus
        assert names_in_order(list_text(app), names)[:2] == ["Ayşe Yılmaz", "John Smith"]
        await pilot.press("g", "j")
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.john)
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await type_text(pilot, "istanbul")
        search = app.screen
        await wait_for(pilot, lambda: search.hits, what="search results")
        assert "İstanbul'dayım" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.ayse and timeline.ready)
        await wait_for(pilot, lambda: customers.selected_id == tui_store.ayse)
        selected = timeline.selected_item
        assert selected is not None and "İstanbul" in selected.body
        assert app.is_running


async def test_another_process_commit_shows_within_a_second(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "John Smith" in list_text(app))
        ingest(
            tui_store.engine,
            inbound(
                50,
                "Salam! Sifarişim haradadır?",
                address="gokce@example.com",
                name="Gökçe Demir",
                at=NOW,
            ),
        )
        started = time.monotonic()
        await wait_for(pilot, lambda: "Gökçe Demir" in list_text(app), timeout=3)
        assert time.monotonic() - started < 1.0
        first = list_text(app).splitlines()[0]
        assert "Gökçe Demir" in first and "now" in first
        # The cursor stayed on John, who moved down one row.
        customers = app.inbox.query_one(CustomerList)
        assert customers.selected_id == tui_store.john
        assert customers.cursor == 1


async def test_delivery_failure_shows_and_retries(tui_store: Store, tui_settings: Settings) -> None:
    from omnitui.config import OutboxConfig

    reply = inbox.queue_reply(tui_store.engine, tui_store.reza, "Salam", agent="leyla")
    generation = inbox.acquire_lease(tui_store.engine, "h:2:x", 30)
    assert generation is not None
    inbox.claim_outbox(tui_store.engine, "h:2:x", generation)
    inbox.mark_failed(
        tui_store.engine, reply, "chat closed [red]boom[/]", permanent=True, policy=OutboxConfig()
    )
    inbox.set_connector_state(tui_store.engine, "mail", "email", "error", "auth failed [b]")
    inbox.set_connector_state(tui_store.engine, "bot", "telegram", "running")
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: "Reza Ahmadi" in list_text(app))
        await wait_for(pilot, lambda: "mail error: auth failed [b]" in status_text(app))
        assert "bot running" in status_text(app)
        assert "runner: h:2:x" in status_text(app)
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.reza and timeline.ready)
        history = timeline_text(app)
        assert "✗ failed" in history
        assert "! chat closed [red]boom[/]" in history
        await wait_for(pilot, lambda: "1 failed" in status_text(app))
        assert timeline.selected_item is not None and timeline.selected_item.id == reply
        await pilot.press("R")
        await wait_for(pilot, lambda: "↻ retrying" in timeline_text(app), what="queued again")
        assert "! chat closed" not in timeline_text(app)


async def test_older_history_pages_in_and_open_only_filter(
    tui_store: Store, tui_settings: Settings
) -> None:
    many = [
        inbound(
            100 + n,
            f"message number {n}",
            address="ali@example.az",
            name="Əli Məmmədov",
            at=NOW - timedelta(minutes=300 - n),
        )
        for n in range(250)
    ]
    ingest(tui_store.engine, *many)
    inbox.set_status(tui_store.engine, tui_store.reza, "resolved", agent="leyla")
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.selected_id == tui_store.ali)
        await pilot.press("enter")
        await wait_for(pilot, lambda: timeline.ready and "message number 249" in timeline_text(app))
        assert "message number 100" not in timeline_text(app)  # only the newest 100 at first
        assert timeline.has_older
        await pilot.press("g")  # to the top: older history comes in
        await wait_for(pilot, lambda: "message number 100" in timeline_text(app))
        await pilot.press("g")
        await wait_for(pilot, lambda: "hesabıma daxil ola bilmirəm" in timeline_text(app))
        assert not timeline.has_older
        assert "start of history" in timeline_text(app)

        # Open only: Reza (resolved) leaves the list, and comes back.
        await pilot.press("escape")
        assert "Reza Ahmadi" in list_text(app)
        await pilot.press("u")
        await wait_for(pilot, lambda: "Reza Ahmadi" not in list_text(app))
        assert customers.total == 3
        await pilot.press("u")
        await wait_for(pilot, lambda: "Reza Ahmadi" in list_text(app))


def all_bindings() -> list[Binding]:
    owners: list[type] = [
        OmniApp,
        InboxScreen,
        CustomerList,
        Timeline,
        ComposerArea,
        SearchScreen,
        MessageScreen,
        Pager,
        MoveScreen,
        HelpScreen,
    ]
    return [b for owner in owners for b in owner.BINDINGS if isinstance(b, Binding)]


async def test_help_lists_every_binding_with_its_key(tmp_path: Path, tui_store: Store) -> None:
    settings = settings_for(tmp_path, tui_store.url, keys={"reply": "e", "resolve": "ctrl+k"})
    app = make_app(settings)
    async with app.run_test(size=(160, 300)) as pilot:  # every binding on one screen
        await wait_for(pilot, lambda: "John Smith" in list_text(app))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        text = screen_text(app)
        bindings = all_bindings()
        assert all(b.id for b in bindings), "every binding has an id"
        rows: dict[str, str] = {}
        for binding in bindings:
            assert binding.id
            pattern = re.compile(rf"\s{re.escape(binding.id)}\s")
            found = [line for line in text.splitlines() if pattern.search(line + " ")]
            assert found, f"{binding.id} is not in the help"
            assert binding.description in found[0]
            rows[binding.id] = found[0]
        assert " e " in rows["reply"] and " r " not in rows["reply"]
        assert "^k" in rows["resolve"]
        assert "^s, f5" in rows["send"]
        assert "/" in rows["search"]
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)
        # The keymap is live: e replies now.
        await wait_for(pilot, lambda: app.inbox.query_one(Timeline).items)
        await pilot.press("e")
        assert app.inbox.query_one(ComposerArea).has_focus


async def test_command_palette_runs_inbox_actions(tui_store: Store, tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.john and timeline.ready)
        await pilot.press("ctrl+p")
        await type_text(pilot, "resolve")
        await wait_for(pilot, lambda: "Resolve the customer" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "status: open → resolved" in timeline_text(app))


async def test_full_message_view(tui_store: Store, tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.john and timeline.ready)
        await pilot.press("v")
        assert isinstance(app.screen, MessageScreen)
        pager = app.screen.query_one(Pager)
        await wait_for(pilot, lambda: pager.ready and "refund for order 998" in screen_text(app))
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)


async def test_the_list_paints_the_page_read_ahead_or_reads_again(
    tui_store: Store, tui_settings: Settings
) -> None:
    from concurrent.futures import Future

    from omnitui.cli import READ_AHEAD_ROWS
    from omnitui.reads import CustomerPage, Reader
    from omnitui.widgets.customer_list import BLOCK

    assert READ_AHEAD_ROWS == BLOCK  # else the read-ahead page is never used
    read: Future[CustomerPage] = Future()
    read.set_result(Reader(tui_settings.store_url).customer_page(0, BLOCK))
    failed: Future[CustomerPage] = Future()
    failed.set_exception(OSError("disk gone"))
    for page in (read, failed):
        app = OmniApp(tui_settings, clock=lambda: NOW, tz=ZONE, first_page=page)
        async with app.run_test(size=SIZE) as pilot:
            customers = app.inbox.query_one(CustomerList)
            await wait_for(
                pilot, lambda c=customers: c.selected_id == tui_store.john, what="the list"
            )
            assert customers.total == 4
            assert names_in_order(list_text(app), ["John Smith", "Ayşe"])[0] == "John Smith"
            assert app.first_page is None


def test_relative_and_local_times() -> None:
    def age(**delta: float) -> str:
        return relative_time(NOW - timedelta(**delta), NOW, ZONE)

    assert age(seconds=2) == "now"
    assert age(seconds=-30) == "now"
    assert age(seconds=45) == "45s"
    assert age(minutes=3) == "3m"
    assert age(hours=2) == "2h"
    assert age(days=4) == "4d"
    assert age(days=30) == "Oct 03"
    assert age(days=400) == "2025-09-28"
    assert local_time(NOW, NOW, ZONE) == "14:00"
    assert local_time(NOW - timedelta(days=1), NOW, ZONE) == "Nov 01 14:00"


def test_importing_the_app_loads_no_orm() -> None:
    code = (
        "import sys, omnitui.app\n"
        "loaded = [m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'omnitui.db', "
        "'omnitui.inbox') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_inbox_layout(snap_compare: Any, tui_store: Store, tui_settings: Settings) -> None:
    app = make_app(tui_settings)

    async def ready(pilot: Pilot[Any]) -> None:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.selected_id == tui_store.john)
        await pilot.press("j")
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.ayse and timeline.ready)
        await wait_for(
            pilot, lambda: "runner: none" in str(app.inbox.query_one("#status").render())
        )
        # The view bar's counts and the hotlist come after the first paint.
        await wait_for(pilot, lambda: app.inbox.query_one(ViewBar).counts)
        await wait_for(pilot, lambda: "unread:" in str(app.inbox.query_one("#status").render()))

    assert snap_compare(app, terminal_size=(160, 40), run_before=ready)


def test_every_binding_id_is_known_to_the_config_and_documented(tmp_path: Path) -> None:
    from omnitui.keyids import BINDING_IDS
    from omnitui.keysdoc import keys_markdown

    rows = OmniApp(settings_for(tmp_path, f"sqlite:///{tmp_path}/store.db")).binding_rows()
    ids = [row.id for row in rows]
    # A binding added without its id in omnitui/keyids.py could not be rebound.
    assert set(ids) == BINDING_IDS, "update omnitui/keyids.py"
    assert len(ids) == len(set(ids)), "two bindings share an id"
    documented = (Path(__file__).parents[1] / "docs" / "keys.md").read_text("utf-8")
    assert documented == keys_markdown(), "run: python -m omnitui.keysdoc > docs/keys.md"
