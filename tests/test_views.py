"""Views of the customer list, the hotlist and notifications: who each view lists and how
many, a saved search from the config, switching by key, the hotlist with a hostile name,
the exact bytes a notification writes to the terminal (and none when it must not), and
the config's mistakes named."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.config import Config, ConfigError, Settings, parse
from omnitui.config.models import NotifyConfig, SavedView
from omnitui.notify import Notifier, NotifySettings, payload
from omnitui.query import CHANNELS, Context
from omnitui.reads import Hotlist, HotlistEntry, NewInbound, Reader
from omnitui.views import (
    ALL,
    BUILT_IN,
    MINE,
    OPEN,
    PENDING,
    RESOLVED,
    SNOOZED,
    UNASSIGNED,
    View,
    channel_view,
    compact_count,
    saved_view,
)
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.status_line import StatusLine, hotlist_text
from omnitui.widgets.strips import CELL
from omnitui.widgets.view_bar import ViewBar
from tests.tui_support import (
    NOW,
    ZONE,
    Store,
    inbound,
    ingest,
    list_text,
    screen_text,
    type_text,
    wait_for,
)

SIZE = (160, 50)
HOSTILE_NAME = "Evil\x1b]52;c;cm0gLXJmIC8=\x07 [bold]Guy[/] \x9b31m;x\u202e"


@dataclass(frozen=True)
class Team:
    """The TUI store's four customers put in every state, and a fifth, resolved."""

    store: Store
    mehmet: int


@pytest.fixture
def team(tui_store: Store) -> Team:
    """Ayşe: open, assigned to leyla (the agent), on email and Telegram. Əli: open, nobody's,
    tagged vip. Reza: pending (web chat). John: snoozed. Mehmet: resolved."""
    engine = tui_store.engine

    def current(customer: int) -> int:
        found = inbox.current_conversation(engine, customer)
        assert found is not None
        return found

    inbox.assign(engine, current(tui_store.ayse), "leyla", agent="leyla")
    inbox.change_tags(engine, current(tui_store.ali), add=["VIP"], agent="leyla")
    inbox.set_conversation_status(engine, current(tui_store.reza), "pending", agent="leyla")
    later = datetime.now(UTC) + timedelta(days=1)
    inbox.snooze(engine, current(tui_store.john), later, agent="leyla")
    (mehmet,) = ingest(
        engine,
        inbound(
            7,
            "Teşekkürler, sorun çözüldü.",
            address="mehmet@example.com.tr",
            name="Mehmet Demir",
            at=NOW - timedelta(hours=5),
        ),
    )
    inbox.set_status(engine, mehmet, "resolved", agent="leyla")
    return Team(tui_store, mehmet)


def members(reader: Reader, view: View, *, small: bool) -> list[int]:
    context = Context(agent="leyla", tz=ZONE, now=NOW)
    total = reader.customer_count(view=view, context=context)
    # total=None walks the list; total=count lets a small set be sorted instead: both agree.
    rows = reader.customers(0, 50, view=view, context=context, total=total if small else None)
    assert len(rows) == total
    return [r.id for r in rows]


def test_each_view_lists_its_customers_newest_first_and_counts_them(team: Team) -> None:
    s = team.store
    reader = Reader(s.url)
    expected = {
        ALL: [s.john, s.ayse, s.reza, s.ali, team.mehmet],
        OPEN: [s.ayse, s.ali],
        MINE: [s.ayse],
        UNASSIGNED: [s.ali],
        PENDING: [s.reza],
        SNOOZED: [s.john],
        RESOLVED: [team.mehmet],
        channel_view("telegram"): [s.ayse],
        channel_view("webchat"): [s.reza],
        channel_view("email"): [s.john, s.ayse, s.ali, team.mehmet],
        channel_view("phone"): [],
        saved_view("vip", "tag:vip is:open"): [s.ali],
        saved_view("vip-anything", "tag:Vip"): [s.ali],
        saved_view("not-vip", "-tag:vip is:open"): [s.ayse],
        saved_view("refund", "refund"): [s.john],  # words: found as a search finds them
        saved_view("turkish", "from:example.com.tr"): [s.ayse, team.mehmet],
    }
    for view, customers in expected.items():
        assert members(reader, view, small=False) == customers, view.id
        assert members(reader, view, small=True) == customers, view.id
    context = Context(agent="leyla", tz=ZONE, now=NOW)
    counts = reader.view_counts(list(expected), context)
    assert {v.id: counts[v.id] for v in expected} == {v.id: len(c) for v, c in expected.items()}
    assert counts["channel:telegram"] == 1 and counts["channel:phone"] == 0
    # Where a customer stands in a view (the list's cursor finds them there), or nowhere.
    assert reader.customer_position(s.ali, view=OPEN, context=context) == 1
    assert reader.customer_position(s.john, view=OPEN, context=context) is None


def test_the_views_match_search_and_channel_names_never_overlap() -> None:
    # A view is its query: Mine is what `assignee:me is:open` searches for.
    assert [v.query for v in BUILT_IN] == [
        "",
        "is:open",
        "assignee:me is:open",
        "assignee:none is:open",
        "is:pending",
        "is:snoozed",
        "is:resolved",
    ]
    # Channel views find a channel in "email,telegram" with instr(): no name inside another.
    assert not [(a, b) for a in CHANNELS for b in CHANNELS if a != b and a in b]
    assert [compact_count(n) for n in (7, 950, 9_500, 10_000, 66_666, 999_999, 1_250_000)] == [
        "7",
        "950",
        "9.5k",
        "10k",
        "67k",
        "1M",
        "1.2M",
    ]


def settings(tmp_path: Path, url: str, config: Config) -> Settings:
    return Settings(
        data_dir=tmp_path,
        config_path=tmp_path / "c.toml",
        config=config,
        agent="leyla",
        store_url=url,
        run_runner=False,
        log_file=tmp_path / "log",
    )


def app_for(tmp_path: Path, store: Store, config: Config | None = None) -> OmniApp:
    return OmniApp(settings(tmp_path, store.url, config or Config()), clock=lambda: NOW, tz=ZONE)


def shown_names(app: OmniApp) -> list[str]:
    names = ["Ayşe Yılmaz", "Əli Məmmədov", "Reza Ahmadi", "John Smith", "Mehmet Demir"]
    text = list_text(app)
    return sorted((n for n in names if n in text), key=text.index)


async def test_keys_switch_views_and_the_bar_counts_them(tmp_path: Path, team: Team) -> None:
    vip = SavedView(query="tag:vip is:open", title="VIP", key="V")
    app = app_for(tmp_path, team.store, Config(views={"vip": vip}))
    async with app.run_test(size=SIZE) as pilot:
        bar = app.inbox.query_one(ViewBar)
        customers = app.inbox.query_one(CustomerList)
        await wait_for(pilot, lambda: "saved:vip" in bar.counts, what="the views' counts")
        assert [bar.label(v) for v in bar.views] == [
            "All 5",
            "Open 2",
            "Mine 1",
            "Unassigned 1",
            "Pending 1",
            "Snoozed 1",
            "Resolved 1",
            "VIP 1",
            "Email 4",
            "Telegram 1",
            "Web chat 1",
        ]
        assert customers.border_title == "Customers · 5"

        await pilot.press("3")  # Mine
        await wait_for(pilot, lambda: shown_names(app) == ["Ayşe Yılmaz"], what="Mine")
        assert customers.border_title == "Mine · 1" and bar.active == "mine"
        await pilot.press("right_square_bracket")  # the next view: Unassigned
        await wait_for(pilot, lambda: shown_names(app) == ["Əli Məmmədov"], what="Unassigned")
        await pilot.press("left_square_bracket", "left_square_bracket")  # back past Mine
        await wait_for(pilot, lambda: shown_names(app) == ["Ayşe Yılmaz", "Əli Məmmədov"])
        assert customers.view == OPEN
        await pilot.press("u")  # from Open back to the view before it (All)
        await wait_for(pilot, lambda: len(shown_names(app)) == 5, what="everyone")
        await pilot.press("6")
        await wait_for(pilot, lambda: shown_names(app) == ["John Smith"], what="Snoozed")
        await pilot.press("u")  # Open, then back to Snoozed
        await wait_for(pilot, lambda: customers.view == OPEN and len(shown_names(app)) == 2)
        await pilot.press("u")
        await wait_for(pilot, lambda: shown_names(app) == ["John Smith"])

        # The saved view by its digit (8: after the seven built-in ones) and by its key.
        await pilot.press("1")
        await wait_for(pilot, lambda: len(shown_names(app)) == 5)
        await pilot.press("8")
        await wait_for(pilot, lambda: shown_names(app) == ["Əli Məmmədov"], what="VIP")
        assert customers.border_title == "VIP · 1"
        await pilot.press("1", "V")
        await wait_for(pilot, lambda: customers.view.id == "saved:vip")
        await wait_for(pilot, lambda: shown_names(app) == ["Əli Məmmədov"])

        # A view empties as it is worked: the count follows the store (another process).
        inbox.change_tags(
            team.store.engine,
            inbox.current_conversation(team.store.engine, team.store.ali) or 0,
            remove=["vip"],
            agent="aysel",
        )
        await wait_for(pilot, lambda: "No customers in VIP" in list_text(app), what="emptied")
        await wait_for(pilot, lambda: bar.counts.get("saved:vip") == 0, what="recounted")

        # Digits typed in the composer are text, not views.
        await pilot.press("1")
        await wait_for(pilot, lambda: len(shown_names(app)) == 5)
        await pilot.press("r")
        await type_text(pilot, "12")
        assert app.inbox.composer.area.text == "12"
        assert customers.view == ALL


async def test_the_palette_lists_the_views(tmp_path: Path, team: Team) -> None:
    app = app_for(tmp_path, team.store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(shown_names(app)) == 5)
        await pilot.press("ctrl+p")
        await type_text(pilot, "View: Pend")
        await wait_for(pilot, lambda: "Conversations waiting on the customer" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown_names(app) == ["Reza Ahmadi"], what="Pending")


async def test_a_saved_view_key_another_binding_has_is_not_bound(
    tmp_path: Path, team: Team
) -> None:
    config = Config(views={"replies": SavedView(query="is:open", key="r")})
    app = app_for(tmp_path, team.store, config)
    async with app.run_test(size=SIZE) as pilot:
        status = app.inbox.query_one(StatusLine)
        await wait_for(
            pilot,
            lambda: "key r is Reply already; not bound" in str(status.render()),
            what="the notice",
        )
        await pilot.press("r")  # still replies
        assert app.inbox.composer.area.has_focus


def test_the_hotlist_names_a_few_customers_as_plain_text() -> None:
    entries = (
        HotlistEntry(1, "Leyla", 3),
        HotlistEntry(2, HOSTILE_NAME, 1),
        HotlistEntry(3, "Mehmet", 2),
        HotlistEntry(4, "not shown", 1),
    )
    text = hotlist_text(Hotlist(entries, 8))
    # Names cut at 16 characters; the 8-bit CSI, the OSC 52 and the override are gone.
    assert text.plain == "unread: Leyla(3) Evil [bold]Guy[…(1) Mehmet(2) +5"
    assert not any(ch in text.plain for ch in "\x1b\x07\x9b\u202e")
    styles = {str(span.style) for span in text.spans if span.style != CELL}  # CELL: a name
    assert styles <= {"dim", "bold", "bold yellow", "yellow"}


async def test_the_status_line_shows_the_hotlist(tmp_path: Path, team: Team) -> None:
    ingest(
        team.store.engine,
        inbound(8, "salam", address="hostile@example.com", name=HOSTILE_NAME, at=NOW),
    )
    app = app_for(tmp_path, team.store)
    async with app.run_test(size=(200, 50)) as pilot:
        status = app.inbox.query_one(StatusLine)
        await wait_for(pilot, lambda: "unread:" in str(status.render()), what="the hotlist")
        line = str(status.render())
        # Newest activity first: the hostile customer wrote last, as plain text.
        assert line.startswith("unread: Evil [bold]Guy[…(1) John Smith(1) Ayşe Yılmaz(3) +3 │")
        assert "\x1b" not in line and "\x07" not in line
        await pilot.press("enter")  # reading the hostile customer clears them off the list
        await wait_for(
            pilot,
            lambda: (
                "unread: John Smith(1) Ayşe Yılmaz(3) Reza Ahmadi(1) +2" in str(status.render())
            ),
            what="read off",
        )


# -- notifications --------------------------------------------------------------------


def new_message(
    name: str, text: str, *, customer: int = 1, assignee: str | None = "leyla"
) -> NewInbound:
    return NewInbound(10, customer, name, text, assignee, unread=1)


def test_a_notification_is_the_bell_and_osc_9_and_777_with_a_clean_payload() -> None:
    on = Notifier(NotifySettings(bell=True, desktop=True), "leyla")
    written = on.sequences([new_message("Leyla M", "Where is my order?")], now=0, reading=None)
    assert written == (
        "\x07"
        "\x1b]9;Leyla M: Where is my order?\x07"
        "\x1b]777;notify;omnitui: Leyla M;Where is my order?\x07"
    )
    # Customer text cannot end the sequence or start another: no ESC, BEL, C1, ; or newline.
    hostile = new_message(HOSTILE_NAME, "hi\x1b[31;1m\x07;\x9c\nthere" + "x" * 500, customer=2)
    written = on.sequences([hostile], now=0, reading=None)
    assert written.startswith("\x07\x1b]9;Evil [bold]Guy[/] ,x: hi, therexxx")
    for sequence in written[1:].split("\x07")[:-1]:
        assert sequence.startswith("\x1b]") and sequence.count("\x1b") == 1
        body = sequence.split(";", 1)[1]
        assert body.isprintable() and "\x9c" not in body
    assert len(written) < 400  # cut short
    assert payload("a;b\x1b]0;title\x07c", 10) == "a,bc"
    # Quiet for a while after it rang for that customer; others still ring.
    assert on.sequences([new_message("Leyla M", "again")], now=30, reading=None) == ""
    assert on.sequences([new_message("Leyla M", "again")], now=61, reading=None) != ""
    # Not for the customer being read, not once read, not for others' conversations...
    assert on.sequences([new_message("X", "y", customer=5)], now=0, reading=5) == ""
    read = NewInbound(11, 6, "X", "y", "leyla", unread=0)
    assert on.sequences([read], now=0, reading=None) == ""
    theirs = new_message("X", "y", customer=7, assignee="aysel")
    assert on.sequences([theirs], now=0, reading=None) == ""
    # ...unless every conversation rings; and the bell alone is a bell alone.
    every = Notifier(NotifySettings(bell=True, mine_only=False), "leyla")
    assert every.sequences([theirs], now=0, reading=None) == "\x07"
    assert Notifier(NotifySettings(), "leyla").sequences([theirs], now=0, reading=None) == ""


class Terminal:
    """What the app writes to the terminal through Textual's driver."""

    def __init__(self, app: OmniApp) -> None:
        self.written: list[str] = []
        driver = app._driver
        assert driver is not None
        driver.write = self.written.append  # type: ignore[method-assign]

    @property
    def text(self) -> str:
        return "".join(self.written)


async def test_a_new_message_on_my_conversation_rings_and_writes_the_notification(
    tmp_path: Path, tui_store: Store, engine: Engine
) -> None:
    notify = NotifyConfig(bell=True, desktop=True)
    app = app_for(tmp_path, tui_store, Config(notify=notify))
    john = inbox.current_conversation(engine, tui_store.john)
    assert john is not None
    async with app.run_test(size=SIZE) as pilot:
        terminal = Terminal(app)
        customers = app.inbox.query_one(CustomerList)
        await wait_for(pilot, lambda: app._notifier is not None, what="notifications on")
        await wait_for(pilot, lambda: customers.selected_id == tui_store.john)
        await pilot.press("j")  # the agent looks at Ayşe, not John
        await wait_for(
            pilot, lambda: app.inbox.detail and app.inbox.detail.row.id == tui_store.ayse
        )

        # Not assigned to the agent (mine_only): nothing.
        ingest(engine, inbound(20, "first", address="john@example.com", name="John Smith", at=NOW))
        await wait_for(pilot, lambda: app._notify_after >= 7, what="the message looked at")
        inbox.assign(engine, john, "leyla", agent="leyla")
        ayse = inbox.current_conversation(engine, tui_store.ayse)
        inbox.assign(engine, ayse or 0, "leyla", agent="leyla")
        # From the customer being read (her history is on the screen): nothing either.
        ingest(engine, inbound(21, "hello", address="ayse@example.com.tr", at=NOW))
        await wait_for(pilot, lambda: app._notify_after >= 8)
        # Old mail stored now (an import, a first sync) is no news.
        old = NOW - timedelta(days=2)
        ingest(engine, inbound(24, "last week", address="john@example.com", at=old))
        await wait_for(pilot, lambda: app._notify_after >= 9)
        assert terminal.text == ""

        ingest(engine, inbound(22, "Where is my refund?", address="john@example.com", at=NOW))
        await wait_for(pilot, lambda: terminal.text, what="the notification")
        assert terminal.text == (
            "\x07"
            "\x1b]9;John Smith: Where is my refund?\x07"
            "\x1b]777;notify;omnitui: John Smith;Where is my refund?\x07"
        )
        # Once a customer a minute: John writing again at once rings nothing.
        ingest(engine, inbound(23, "Hello?", address="john@example.com", at=NOW))
        await wait_for(pilot, lambda: app._notify_after >= 11)
        assert terminal.written == [terminal.text]


async def test_no_notification_by_default(tmp_path: Path, tui_store: Store, engine: Engine) -> None:
    app = app_for(tmp_path, tui_store)
    inbox.assign(
        engine, inbox.current_conversation(engine, tui_store.john) or 0, "leyla", agent="leyla"
    )
    async with app.run_test(size=SIZE) as pilot:
        terminal = Terminal(app)
        customers = app.inbox.query_one(CustomerList)
        await wait_for(pilot, lambda: customers.selected_id == tui_store.john)
        await pilot.press("j")
        ingest(engine, inbound(20, "Where is my refund?", address="john@example.com", at=NOW))
        await wait_for(pilot, lambda: "Where is my refund?" in list_text(app), what="the message")
        await pilot.pause(0.3)
        assert app._notifier is None and terminal.text == ""


# -- the config -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("views", "key", "problem"),
    [
        ({"vip": {"query": "tag:vip is:closed"}}, "views.vip.query", "column 9"),
        ({"vip": {"query": 'tag:vip "open'}}, "views.vip.query", "column 9: unclosed quote"),
        ({"vip": {"query": "priority:high"}}, "views.vip.query", "at column 1: unknown field"),
        ({"vip": {"query": "  "}}, "views.vip.query", "an empty query"),
        ({"vip": {"query": "is:open", "colour": "red"}}, "views.vip.colour", "unknown key"),
        ({"vip": {"title": "VIP"}}, "views.vip.query", "Field required"),
        ({"vip": {"query": "is:open", "key": "3"}}, "views.vip.key", "digits 1-9"),
        ({"vip": {"query": "is:open", "key": "ctrl v"}}, "views.vip.key", "one key"),
        ({"a b": {"query": "is:open"}}, "views", "view name 'a b'"),
    ],
)
def test_a_wrong_view_is_named(views: dict[str, object], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse({"views": views}, "c.toml")
    assert error.value.key == key
    assert problem in error.value.problem


def test_notify_keys_are_checked() -> None:
    assert parse({}).notify == NotifyConfig(bell=False, desktop=False, mine_only=True)
    with pytest.raises(ConfigError, match=r"notify\.desktop: .*valid boolean"):
        parse({"notify": {"desktop": "sometimes"}})
    with pytest.raises(ConfigError, match=r"notify\.sound: unknown key"):
        parse({"notify": {"sound": True}})


def test_a_wrong_view_query_exits_2_naming_key_and_column(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[views.vip]\nquery = "tag:vip is:closed"\n')
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    omnitui = [sys.executable, "-m", "omnitui", "--data-dir", str(tmp_path)]
    proc = subprocess.run(
        [*omnitui, "--config", str(cfg), "search", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"omnitui: {cfg}: views.vip.query: ")
    assert "is:closed at column 9" in line
