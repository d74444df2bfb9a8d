"""Two agents on two "hosts": Leyla's TUI in this process (a pilot) and Rauf's, the real
``omnitui`` in another process under tmux, with its own data dir, config and cache dirs,
so the two share nothing but the store. Each sees the other's work within a second or
two of its commit: on PostgreSQL through NOTIFY / LISTEN (db.write, Reader.data_version),
on SQLite through PRAGMA data_version on the one file.

- Both see each other online and viewing the customer they both have open.
- Rauf writes a note and takes the conversation: Leyla's open history shows both, her
  list marks the customer's row "@rauf".
- Leyla writes a note: Rauf's screen (tmux capture-pane) shows it.
- Rauf quits: Leyla no longer sees him online, nor viewing.

The history and the list reload only when the store's data_version moves, so the notes
and the assignment prove the notification; presence is also read every 2 s without one
(a TUI that died commits nothing), so it shows even without.

Each delay is measured from the time the writer stamped in the store (same host, same
clock) to the first poll of the other screen that shows it; ``pytest -s`` prints them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from textual.pilot import Pilot
from textual.widget import Widget

from omnitui.app import OmniApp
from omnitui.reads import parse_stamp
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.presence import PresenceLine
from omnitui.widgets.status_line import StatusLine
from omnitui.widgets.timeline import Timeline
from tests.patience import patience
from tests.tmux_support import Tmux
from tests.tui_support import (
    ZONE,
    Store,
    list_text,
    screen_text,
    settings_for,
    timeline_text,
    type_text,
    wait_for,
)

SIZE = (160, 50)
TIMEOUT = 20.0
"""Seconds to wait for anything (two busy cores: generous; nothing here sleeps)."""
PROMPT = 3.0
"""Seconds from a write's stamp in the store to the other agent's screen at most: "a second
or two", with room for a loaded machine (each TUI polls every 0.25 s; measured 0.0-0.6 s
on an idle machine, up to 1.0 s with both cores busy)."""
RAUF_NOTE = "Kargo firmasını aradım, yarın teslim"
LEYLA_NOTE = "Müşteriye kupon verelim"


def start_rauf(tmux: Tmux, url: str, home: Path) -> None:
    """Rauf's TUI as he would start it on his own machine: only the store is shared."""
    tmux.start_omnitui(url, "rauf", home)


async def open_customer(pilot: Pilot[Any], app: OmniApp, customer: int) -> None:
    customers = app.inbox.query_one(CustomerList)
    timeline = app.inbox.query_one(Timeline)
    await wait_for(pilot, lambda: customers.selected_id is not None, TIMEOUT, "the list")
    customers.select_customer(customer)
    await wait_for(pilot, lambda: customers.selected_id == customer, TIMEOUT, "the cursor")
    customers.focus()
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: (
            timeline.customer_id == customer
            and timeline.ready
            and app.inbox.detail is not None
            and app.inbox.detail.row.id == customer
        ),
        TIMEOUT,
        "the customer's history",
    )


def row_lines(app: OmniApp, name: str) -> str:
    """The two lines of the customer's row in the list ("" when it is not shown)."""
    lines = list_text(app).splitlines()
    for n, line in enumerate(lines):
        if name in line:
            return "\n".join(lines[n : n + 2])
    return ""


def drawn(app: OmniApp, widget: Widget) -> str:
    """The screen's lines where the widget is drawn ("" while it is hidden): what the agent
    reads, whatever the widget renders with."""
    region = widget.region
    strips = app.screen._compositor.render_strips()[region.y : region.y + region.height]
    return "\n".join(strip.crop(region.x, region.right).text.strip() for strip in strips)


def presence_line(app: OmniApp) -> str:
    """The line over the composer that names the other agents here."""
    return drawn(app, app.inbox.query_one(PresenceLine))


def status_line(app: OmniApp) -> str:
    return drawn(app, app.inbox.query_one(StatusLine))


class Stamp:
    """A condition: the store holds the row ``sql`` selects; keeps the time its writer
    stamped it with (UTC, the writer's clock: the same machine's)."""

    def __init__(self, store: Store, sql: str, **params: object) -> None:
        self.store, self.sql, self.params = store, sql, params
        self.at: float | None = None

    def __call__(self) -> bool:
        with self.store.engine.connect() as conn:
            value = conn.execute(sa.text(self.sql), self.params).scalar()
        if value is None:
            return False
        when = parse_stamp(value) if isinstance(value, str) else value
        assert isinstance(when, datetime)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        self.at = when.timestamp()
        return True


class Clock:
    """When each condition first held, in seconds from ``start()`` (a key press)."""

    def __init__(self, pilot: Pilot[Any], dump: Callable[[], str]) -> None:
        self.pilot, self.dump = pilot, dump
        self._start, self._wall = time.monotonic(), time.time()

    def start(self) -> None:
        self._start, self._wall = time.monotonic(), time.time()

    async def until(
        self, conditions: dict[str, Callable[[], object]], timeout: float = TIMEOUT
    ) -> dict[str, float]:
        """Run both apps until every condition holds; fail naming what never happened."""
        seen: dict[str, float] = {}
        timeout = patience(timeout)
        deadline = time.monotonic() + timeout
        while True:
            for what, condition in conditions.items():
                if what not in seen and condition():
                    seen[what] = time.monotonic() - self._start
            if len(seen) == len(conditions):
                return seen
            if time.monotonic() > deadline:
                missing = [w for w in conditions if w not in seen]
                raise AssertionError(
                    f"after {timeout} s still not: {missing} (seen {seen})\n{self.dump()}"
                )
            await self.pilot.pause(0.05)

    def since(self, stamp: Stamp) -> float:
        """When the stamp's row was written, in seconds from ``start()``."""
        assert stamp.at is not None
        return stamp.at - self._wall


def report(title: str, seen: dict[str, float], stamped: float | None = None) -> None:
    said = [f"{what} {at:.2f} s" for what, at in sorted(seen.items(), key=lambda i: i[1])]
    if stamped is not None:
        said.insert(0, f"stamped in the store {stamped:.2f} s")
    print(f"\n[two hosts] {title} (from the key): {', '.join(said)}")


def prompt(seen: dict[str, float], stamped: float, *shown: str) -> None:
    for what in shown:
        delay = seen[what] - stamped
        assert delay <= PROMPT, f"{what} {delay:.2f} s after the write ({seen})"


async def test_two_tuis_in_two_processes_see_each_others_work(
    tui_store: Store, tmp_path: Path, tmux: Tmux, store_kind: str
) -> None:
    store = tui_store
    ayse = store.ayse
    start_rauf(tmux, store.url, tmp_path / "rauf")
    leyla_home = tmp_path / "leyla"
    leyla_home.mkdir()
    # The real clock, as Rauf's: presence, drafts and "while you were writing" compare
    # the two TUIs' times.
    leyla = OmniApp(settings_for(leyla_home, store.url), tz=ZONE)
    rauf = tmux.screen

    def both() -> str:
        return f"--- leyla ---\n{screen_text(leyla)}\n--- rauf ---\n{rauf()}"

    async with leyla.run_test(size=SIZE) as pilot:
        clock = Clock(pilot, both)
        await open_customer(pilot, leyla, ayse)

        # Rauf's TUI is up (his list, the footer, his presence row) with John, the newest,
        # under his cursor.
        online = Stamp(store, "SELECT seen_at FROM presence WHERE agent = 'rauf'")
        await clock.until(
            {"his list": lambda: "Ayşe Yılmaz" in rauf() and "n Note" in rauf(), "online": online}
        )
        assert "John Smith" in rauf().splitlines()[0], f"John is not under his cursor:\n{rauf()}"

        # Presence, both ways: online, viewing the customer both have open, the list's mark.
        clock.start()
        tmux.keys("j")  # to Ayşe, whose history shows beside his list
        viewing = Stamp(
            store,
            "SELECT seen_at FROM presence WHERE agent = 'rauf' AND customer_id = :c",
            c=ayse,
        )
        seen = await clock.until(
            {
                "rauf: Ayşe shown": lambda: "Kargo takip numarası var mı?" in rauf(),
                "stored": viewing,
                "leyla: online rauf": lambda: "online rauf" in status_line(leyla),
                "leyla: rauf is viewing": lambda: presence_line(leyla) == "rauf is viewing",
                "leyla: ◉ rauf on Ayşe's row": lambda: "◉ rauf" in row_lines(leyla, "Ayşe Yılmaz"),
                "rauf: online leyla": lambda: "online leyla" in rauf(),
                "rauf: leyla is viewing": lambda: "leyla is viewing" in rauf(),
            }
        )
        report(f"{store_kind}: rauf views Ayşe", seen, clock.since(viewing))
        prompt(seen, clock.since(viewing), "leyla: rauf is viewing", "leyla: ◉ rauf on Ayşe's row")

        # 1. Rauf writes a note: Leyla's open history shows it.
        tmux.keys("n")
        # Typed once his composer has the focus: keys that reach the app in the same read
        # as the n are lost today (they go to the list, focused when they were read).
        await clock.until(
            {"his note composer": lambda: "NOTE on Ayşe Yılmaz" in rauf() and "^s Send" in rauf()}
        )
        tmux.type(RAUF_NOTE)
        await clock.until({"typed": lambda: RAUF_NOTE in rauf()})
        clock.start()
        tmux.keys("C-s")
        note = Stamp(
            store,
            "SELECT stored_at FROM message WHERE direction = 'note' AND author = 'rauf' "
            "AND customer_id = :c AND body = :b",
            c=ayse,
            b=RAUF_NOTE,
        )
        seen = await clock.until(
            {"stored": note, "leyla's history": lambda: RAUF_NOTE in timeline_text(leyla)}
        )
        report(f"{store_kind}: rauf's note -> leyla", seen, clock.since(note))
        prompt(seen, clock.since(note), "leyla's history")
        history = timeline_text(leyla)
        assert "NOTE  rauf" in history, history
        await wait_for(pilot, lambda: RAUF_NOTE in screen_text(leyla), TIMEOUT, "drawn")

        # ... and takes the conversation: Leyla's list marks the row, her history says so.
        tmux.keys("Escape")
        await clock.until({"his composer left": lambda: "h Customers" in rauf()})
        clock.start()
        tmux.keys("a")
        assigned = Stamp(
            store,
            "SELECT at FROM event WHERE customer_id = :c AND kind = 'assign' AND after = 'rauf'",
            c=ayse,
        )
        seen = await clock.until(
            {
                "stored": assigned,
                "leyla's list: @rauf": lambda: "@rauf" in row_lines(leyla, "Ayşe Yılmaz"),
                "leyla's history": lambda: "assigned: nobody → rauf" in timeline_text(leyla),
            }
        )
        report(f"{store_kind}: rauf takes Ayşe -> leyla", seen, clock.since(assigned))
        prompt(seen, clock.since(assigned), "leyla's list: @rauf", "leyla's history")

        # 2. Leyla writes a note: Rauf's screen shows it.
        await pilot.press("n")
        await type_text(pilot, LEYLA_NOTE)
        clock.start()
        await pilot.press("ctrl+s")
        note = Stamp(
            store,
            "SELECT stored_at FROM message WHERE direction = 'note' AND author = 'leyla' "
            "AND customer_id = :c AND body = :b",
            c=ayse,
            b=LEYLA_NOTE,
        )
        seen = await clock.until({"stored": note, "rauf's screen": lambda: LEYLA_NOTE in rauf()})
        report(f"{store_kind}: leyla's note -> rauf", seen, clock.since(note))
        prompt(seen, clock.since(note), "rauf's screen")
        shown = rauf()
        assert "NOTE  leyla" in shown, shown
        assert RAUF_NOTE in shown  # his own, above hers
        await wait_for(pilot, lambda: LEYLA_NOTE in timeline_text(leyla), TIMEOUT, "her own note")

        # Rauf quits: Leyla no longer sees him online, nor viewing, nor on Ayşe's row.
        await pilot.press("escape")  # out of her composer
        clock.start()
        tmux.keys("C-q")
        seen = await clock.until(
            {
                "rauf's process ended": tmux.exited,
                "leyla: rauf offline": lambda: (
                    "quarantine" in status_line(leyla) and "online rauf" not in status_line(leyla)
                ),
                "leyla: nobody viewing": lambda: presence_line(leyla) == "",
                "leyla: no ◉ rauf": lambda: (
                    "@rauf" in row_lines(leyla, "Ayşe Yılmaz")
                    and "◉ rauf" not in row_lines(leyla, "Ayşe Yılmaz")
                ),
            }
        )
        report(f"{store_kind}: rauf quits", seen)
        assert tmux.ended == "0", f"rauf's TUI exited with {tmux.ended}:\n{tmux.last}"
        assert "Traceback" not in tmux.last, tmux.last
