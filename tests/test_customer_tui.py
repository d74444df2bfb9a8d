"""The customer screen, key by key: rename, notes, merge with its preview, unmerge, link and
unlink, as the agent sees them; opened with i and from the palette; hostile names shown as
text."""

from __future__ import annotations

from sqlalchemy import text
from textual.binding import Binding
from textual.widgets import Input, OptionList, Static, TextArea

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.bidi import visual
from omnitui.config import Settings
from omnitui.screens.customer import (
    CustomerScreen,
    LinkScreen,
    MergePickerScreen,
    MergePreviewScreen,
    UnlinkScreen,
    parse_address,
)
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.workflow import ConfirmScreen
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.timeline import Timeline
from tests.test_hostile_text import FORBIDDEN, assert_no_actions
from tests.tui_support import (
    Store,
    inbound,
    ingest,
    list_text,
    make_app,
    screen_text,
    timeline_text,
    type_text,
    wait_for,
)

SIZE = (150, 50)


def notice(screen: CustomerScreen) -> str:
    return str(screen.query_one("#customer-notice", Static).render())


def title(screen: CustomerScreen) -> str:
    return str(screen.query_one("#customer-title", Static).render())


def merges(screen: CustomerScreen) -> str:
    options = screen.query_one("#customer-merges", OptionList)
    return "\n".join(
        str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
    )


async def open_customer(pilot: object, app: OmniApp, customer_id: int) -> CustomerScreen:
    """Select the customer in the inbox, press i, wait for the screen to show them."""
    customers = app.inbox.customers
    await wait_for(pilot, lambda: customers.selected_id is not None, what="the list")  # type: ignore[arg-type]
    customers.select_customer(customer_id)
    timeline = app.inbox.query_one(Timeline)
    await wait_for(
        pilot,  # type: ignore[arg-type]
        lambda: (
            timeline.customer_id == customer_id
            and app.inbox.detail is not None
            and app.inbox.detail.row.id == customer_id
        ),
        what="the customer selected",
    )
    await pilot.press("i")  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, CustomerScreen)
    await wait_for(pilot, lambda: screen.info is not None, what="the customer read")  # type: ignore[arg-type]
    return screen


def name_of(store: Store, customer_id: int) -> str:
    with store.engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT name FROM customer WHERE id = :id"), {"id": customer_id}
            ).scalar_one()
        )


async def test_rename_notes_merge_with_preview_and_unmerge(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_customer(pilot, app, tui_store.reza)
        assert "Reza Ahmadi" in title(screen)
        shown = screen_text(app)
        assert "webchat visitor-77" in shown and "Reza Ahmadi" in shown
        assert "No merges." in shown

        # e: the name (selected whole: typing replaces it), tab: the notes, ctrl+s saves.
        await pilot.press("e")
        assert isinstance(app.focused, Input)
        await type_text(pilot, "رضا احمدی")
        await pilot.press("tab")
        assert isinstance(app.focused, TextArea)
        await type_text(pilot, "Tehran; fārsī please")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "رضا احمدی" in title(screen), what="the new name shown")
        await wait_for(pilot, lambda: screen.info and screen.info.notes, what="the notes read")
        assert name_of(tui_store, tui_store.reza) == "رضا احمدی"
        assert screen.info is not None and screen.info.notes == "Tehran; fārsī please"
        assert "Saved the" in notice(screen)

        # m: pick the customer by name, see the preview, y merges.
        await pilot.press("escape")  # out of the notes, to the lists
        assert isinstance(app.screen, CustomerScreen)
        await pilot.press("m")
        picker = app.screen
        assert isinstance(picker, MergePickerScreen)
        await type_text(pilot, "Məmməd")
        await wait_for(pilot, lambda: picker.hits, what="the customers found")
        assert [h.customer_id for h in picker.hits] == [tui_store.ali]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MergePreviewScreen), what="preview")
        preview = screen_text(app)
        # The name is a cell of the sentence, in visual order alone ([display] rtl is on).
        name = visual(f"رضا احمدی (#{tui_store.reza})", shape=True)
        assert f"Merge {name} into Əli Məmmədov (#{tui_store.ali})?" in preview
        assert "Moves 1 address, 1 conversation (1 open) and 1 message" in preview
        assert "W webchat visitor-77  Reza Ahmadi" in preview
        await pilot.press("y")
        await wait_for(pilot, lambda: "Əli Məmmədov" in title(screen), what="the target shown")
        await wait_for(pilot, lambda: "Merged into Əli Məmmədov" in notice(screen))
        await wait_for(pilot, lambda: "into this customer" in merges(screen))
        assert f"merged رضا احمدی (#{tui_store.reza}) into this customer" in merges(screen)
        assert "1 address, 1 conversation, 1 message" in merges(screen)
        assert "webchat visitor-77" in screen_text(app)

        # U on the merge (tab: from the addresses to the merges), y: unmerged.
        await pilot.press("tab")
        assert app.focused is screen.query_one("#customer-merges")
        await pilot.press("U")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Unmerge #1? رضا احمدی" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "unmerged by leyla" in merges(screen), what="unmerged")
        assert "is a customer of their own again" in notice(screen)
        assert "webchat visitor-77" not in screen_text(app)

        # Back in the inbox: Əli's history says so, and رضا is listed again (in visual
        # order: [display] rtl is on by default on the tests' terminal).
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)
        listed = visual("رضا احمدی", shape=True)
        await wait_for(pilot, lambda: listed in list_text(app), what="listed again")
        await wait_for(pilot, lambda: "── unmerge:" in timeline_text(app), what="the event")
        assert "── merge: customer" in timeline_text(app)


async def test_link_and_unlink_and_the_palette(tui_store: Store, tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.john and timeline.ready)
        await pilot.press("ctrl+p")
        await type_text(pilot, "customer")
        await wait_for(pilot, lambda: "Name, notes, addresses" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        screen = app.screen
        assert isinstance(screen, CustomerScreen)
        await wait_for(pilot, lambda: screen.info is not None)

        await pilot.press("l")
        assert isinstance(app.screen, LinkScreen)
        await type_text(pilot, "telegram")
        await wait_for(pilot, lambda: "say which channel" in screen_text(app))
        await type_text(pilot, " 700800")
        await wait_for(pilot, lambda: "→ T telegram 700800" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Linked telegram 700800" in notice(screen))
        await wait_for(
            pilot, lambda: screen.info and len(screen.info.identities) == 2, what="listed"
        )
        assert "T telegram 700800" in screen_text(app)

        # u on it: a alone, the address becomes a customer of its own.
        await pilot.press("down", "u")
        assert isinstance(app.screen, UnlinkScreen)
        assert "Unlink T telegram 700800 from John Smith?" in screen_text(app)
        await pilot.press("a")
        await wait_for(pilot, lambda: "Unlinked telegram 700800: customer #" in notice(screen))
        await wait_for(pilot, lambda: screen.info and len(screen.info.identities) == 1)
        assert "T telegram 700800" not in screen_text(app)
        # The last address stays.
        await pilot.press("u")
        assert "nothing to unlink it from" in notice(screen)
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)
        await wait_for(pilot, lambda: "700800" in list_text(app), what="the new customer listed")


async def test_a_refused_save_and_hostile_names(tui_store: Store, tui_settings: Settings) -> None:
    hostile = "[@click=app.quit]x[/] \x1b]52;c;SGk=\x07 [bold red]fake[/]"
    [customer] = ingest(
        tui_store.engine, inbound(9, "salam", address="evil@example.az", name=hostile)
    )
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_customer(pilot, app, customer)
        shown = screen_text(app)
        assert "[@click=app.quit]x[/]" in shown and "[bold red]fake[/]" in shown
        for char in FORBIDDEN:
            assert char not in shown
        assert_no_actions(list(app.screen._compositor.render_strips()), "the customer screen")
        # Someone renames them while this agent types: the save is refused, not lost
        # unseen, even once the screen has read the new name (it polls every second).
        await pilot.press("e")
        await type_text(pilot, "Elvin")
        inbox.rename_customer(tui_store.engine, customer, "Eldar", agent="rauf")
        await wait_for(pilot, lambda: "Eldar" in screen_text(app), what="the rename read")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Rename refused" in notice(screen), what="refused")
        assert "changed since you opened them" in notice(screen)
        # esc leaves the field, then warns once about what is not saved, then leaves.
        await pilot.press("escape", "escape")
        assert "Not saved" in notice(screen)
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)
        assert app.is_running


def test_what_the_link_window_reads() -> None:
    assert parse_address("Leyla@Example.AZ") == ("email", "leyla@example.az")
    assert parse_address("telegram 500600") == ("telegram", "500600")
    assert parse_address("phone +994501234567") == ("phone", "+994501234567")
    assert parse_address("+994501234567") == ("phone", "+994501234567")
    for bad in ("", "500600", "fax 123", "email not-an-address"):
        try:
            parse_address(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was read")


async def test_every_customer_key_is_in_the_help(tui_store: Store, tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE):
        rows = {row.id: row for row in app.binding_rows()}
    owners = [CustomerScreen, MergePickerScreen, MergePreviewScreen, UnlinkScreen, LinkScreen]
    for owner in owners:
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding) and binding.id in rows, binding
    assert rows["customer-info"].section == "Inbox" and rows["customer-info"].keys == "i"
    # i is the inbox's alone: no list, history or app key takes it first.
    for owner in (InboxScreen, CustomerList, Timeline, OmniApp):
        keys = [
            k.strip() for b in owner.BINDINGS if isinstance(b, Binding) for k in b.key.split(",")
        ]
        assert keys.count("i") == (1 if owner is InboxScreen else 0)
