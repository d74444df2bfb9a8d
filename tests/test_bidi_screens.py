"""The right-to-left display mode (omnitui.bidi, D) beyond the list and the history: the
search results, the full message view and the status line's hotlist show a Persian mixed
line in visual order with the mode on and as written with it off; D redraws a screen that
is open over the inbox; and a customer's bidi controls (U+202E and friends) reorder nothing
outside the customer's own text in any of these places.

The expected strings come from ``bidi.visual`` itself, checked word by word against GNU
FriBidi in tests/test_bidi.py; here what matters is where they land.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from omnitui.app import OmniApp
from omnitui.bidi import visual
from omnitui.config import Settings
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.message import MessageScreen
from omnitui.screens.search import SearchScreen
from omnitui.text import clean, one_line
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.pager import Pager
from omnitui.widgets.status_line import StatusLine
from omnitui.widgets.timeline import Timeline
from tests.tui_support import Store, inbound, ingest, make_app, screen_text, type_text, wait_for

SIZE = (160, 50)
MIXED = "سفارش 4411 برای iPhone 15 Pro رسید"
"""A Persian line with an order number and an English product name."""
NAME = "رضا iPhone 15"
"""A Persian name with an English word and a number, short enough for the hotlist."""
HOSTILE_NAME = "\u202eرضا\u2066 evil"
HOSTILE_BODY = "\u202eسفارش 4411\u2066 برای \u2067iPhone 15 Pro رسید"
CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def shown(raw: str, on: bool) -> str:
    """What a customer's one-line text looks like on the screen in each mode."""
    return visual(clean(raw), shape=True) if on else clean(raw)


async def set_mode(pilot: Pilot[object], app: OmniApp, on: bool) -> None:
    """D in the inbox until the mode is ``on`` (auto is on: the tests' terminal does no bidi)."""
    await wait_for(pilot, lambda: app.inbox.query_one(CustomerList).total)
    if app.rtl.on != on:
        await pilot.press("D")
    assert app.rtl.on is on


async def open_message(pilot: Pilot[object], app: OmniApp, customer: int) -> MessageScreen:
    """Open the customer's history and its message's full view (v)."""
    customers = app.inbox.query_one(CustomerList)
    timeline = app.inbox.query_one(Timeline)
    customers.select_customer(customer)
    await wait_for(pilot, lambda: customers.selected_id == customer)
    await pilot.press("enter")
    await wait_for(pilot, lambda: timeline.customer_id == customer and timeline.ready)
    await pilot.press("v")
    screen = app.screen
    assert isinstance(screen, MessageScreen)
    pager = screen.query_one(Pager)
    await wait_for(pilot, lambda: pager.ready and screen.characters > 0, what="the full view")
    return screen


def pager_text(screen: MessageScreen) -> str:
    return "\n".join(line.plain for line in screen.query_one(Pager).lines)


def status_row(app: OmniApp) -> str:
    """The status line's row of the screen (the hotlist first)."""
    return next(line for line in screen_text(app).splitlines() if "unread:" in line)


@pytest.mark.parametrize("on", [True, False], ids=["rtl-on", "rtl-off"])
async def test_a_mixed_persian_line_in_search_results_full_view_and_hotlist(
    tui_store: Store, tui_settings: Settings, on: bool
) -> None:
    (customer,) = ingest(
        tui_store.engine, inbound(50, MIXED, address="reza2@example.ir", name=NAME)
    )
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await set_mode(pilot, app, on)
        line, name = shown(MIXED, on), shown(NAME, on)
        if on:  # the number and the product name stand where a Persian reader expects them
            assert line.index("Pro") < line.index("4411") and "iPhone 15 Pro" in line

        # The hotlist: the name in its own order, its count after it.
        status = app.inbox.query_one(StatusLine)
        await wait_for(pilot, lambda: NAME in str(status.render()), what="the hotlist")
        await wait_for(pilot, lambda: f"{name}(1)" in status_row(app), what="the name shown")
        if on:
            assert NAME not in status_row(app)

        # The search: the excerpt in visual order, its hit still highlighted.
        await pilot.press("slash")
        search = app.screen
        assert isinstance(search, SearchScreen)
        await type_text(pilot, "4411")
        await wait_for(pilot, lambda: search.searched == "4411" and search.hits)
        text = screen_text(app)
        assert line in text and name in text
        if on:
            assert MIXED not in text and NAME not in text
        options = search.query_one(OptionList)
        highlighted = [
            segment.text
            for y in range(options.size.height)
            for segment in options.render_line(y)
            if segment.style is not None and segment.style.reverse and segment.text.strip()
        ]
        assert "4411" in highlighted
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)

        # The full view: the body's line and the sender's name.
        screen = await open_message(pilot, app, customer)
        body = pager_text(screen)
        assert line in body
        if on:  # an RTL paragraph's line is right-aligned, as in the history
            row = next(row for row in body.splitlines() if line in row)
            assert row.endswith(line) and row.startswith(" ")
            assert MIXED not in body
        assert f"← from {name}" in screen_text(app)


async def test_d_redraws_the_full_view_open_over_the_inbox(
    tui_store: Store, tui_settings: Settings
) -> None:
    (customer,) = ingest(
        tui_store.engine,
        inbound(50, MIXED, address="reza2@example.ir", name=NAME, subject="سفارش 4411"),
    )
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await set_mode(pilot, app, True)
        screen = await open_message(pilot, app, customer)
        assert shown(MIXED, True) in pager_text(screen)
        assert f"Subject: {shown('سفارش 4411', True)}" in screen_text(app)

        app.inbox.action_toggle_rtl()  # what D does, from under the full view
        assert not app.rtl.on
        await wait_for(pilot, lambda: MIXED in pager_text(screen), what="the text as written")
        await wait_for(pilot, lambda: "Subject: سفارش 4411" in screen_text(app))
        assert f"← from {NAME}" in screen_text(app)

        app.inbox.action_toggle_rtl()
        await wait_for(pilot, lambda: shown(MIXED, True) in pager_text(screen))
        await wait_for(pilot, lambda: f"← from {shown(NAME, True)}" in screen_text(app))


@pytest.mark.parametrize("on", [True, False], ids=["rtl-on", "rtl-off"])
async def test_a_customers_bidi_controls_stay_inside_their_own_text(
    tui_store: Store, tui_settings: Settings, on: bool
) -> None:
    (hostile,) = ingest(
        tui_store.engine,
        inbound(
            50,
            HOSTILE_BODY,
            address="evil@example.com",
            name=HOSTILE_NAME,
            subject="\u202eRefund\u2068",
        ),
    )
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await set_mode(pilot, app, on)
        name, body = shown(HOSTILE_NAME, on), shown(HOSTILE_BODY, on)

        # The hotlist: "unread:", the name, its count, then the rest of the line, in order.
        status = app.inbox.query_one(StatusLine)
        await wait_for(pilot, lambda: "evil" in str(status.render()), what="the hotlist")
        await wait_for(
            pilot, lambda: f"{name}(1)" in status_row(app) and "runner:" in status_row(app)
        )
        row = status_row(app)
        assert row.index("unread:") < row.index(f"{name}(1)") < row.index("│ runner:")
        assert not any(control in row for control in CONTROLS)

        # The search: kind, name and time in their columns, the excerpt under them.
        await pilot.press("slash")
        search = app.screen
        assert isinstance(search, SearchScreen)
        await type_text(pilot, "4411")
        await wait_for(pilot, lambda: search.searched == "4411" and search.hits)
        text = screen_text(app)
        assert not any(control in text for control in CONTROLS)
        rows = text.splitlines()
        head = next(r for r in rows if name in r and "message" in r and "evil" in r)
        assert head.index("message") < head.index(name) < head.index("email · open")
        # The excerpt (subject and body, as the search gives it) is one cell of its own.
        hit = next(h for h in search.hits if h.customer_id == hostile and h.message_id)
        excerpt = shown(one_line(hit.excerpt, 160), on)
        assert "Refund" in excerpt and body.split()[0] in excerpt
        below = rows[rows.index(head) + 1]
        assert excerpt in below and below.index(excerpt) > below.index("│")
        await pilot.press("escape")

        # The full view: the header reads as the console writes it, the body is the line's.
        screen = await open_message(pilot, app, hostile)
        text = screen_text(app)
        assert not any(control in text for control in CONTROLS)
        head = next(r for r in text.splitlines() if "← from" in r)
        assert head.index("← from") < head.index(name) < head.index("email")
        assert "Subject: Refund" in text  # the override did not turn it into "dnufeR"
        assert body in pager_text(screen)
        assert not any(control in pager_text(screen) for control in CONTROLS)


async def test_the_customer_screen_shows_name_notes_and_display_names_in_visual_order(
    tui_store: Store, tui_settings: Settings
) -> None:
    from textual.widgets import TextArea

    from omnitui import inbox
    from omnitui.screens.customer import CustomerScreen, NotesShown
    from tests.test_customer_tui import open_customer

    notes = "مشتری VIP، سفارش 4411 را دوباره بفرستید"
    inbox.rename_customer(tui_store.engine, tui_store.reza, NAME, agent="leyla")
    inbox.set_customer_notes(tui_store.engine, tui_store.reza, notes, agent="leyla")
    inbox.add_identity(
        tui_store.engine, tui_store.reza, "telegram", "500600", account="bot", display_name=MIXED
    )
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await set_mode(pilot, app, True)
        screen = await open_customer(pilot, app, tui_store.reza)
        assert isinstance(screen, CustomerScreen)
        await wait_for(pilot, lambda: screen.info is not None and screen.info.notes == notes)
        area, shown_notes = (
            screen.query_one("#customer-notes", TextArea),
            screen.query_one(NotesShown),
        )
        await wait_for(pilot, lambda: shown_notes.display and not area.display)
        text = screen_text(app)
        assert shown(notes, True) in text and notes not in text
        assert shown(NAME, True) in text  # the title (the name field keeps the typed order)
        assert f"T telegram 500600  {shown(MIXED, True)}" in text

        # Focused (tab from the name field), the notes are the field again, as typed.
        await pilot.press("e", "tab")
        await wait_for(pilot, lambda: app.focused is area and area.display)
        assert area.text == notes and not shown_notes.display
        await pilot.press("escape")  # out of the field: the notes in visual order again
        await wait_for(pilot, lambda: shown_notes.display and not area.display)

        app.inbox.action_toggle_rtl()  # D: everything as written
        await wait_for(pilot, lambda: area.display and not shown_notes.display)
        await wait_for(pilot, lambda: f"T telegram 500600  {MIXED}" in screen_text(app))
