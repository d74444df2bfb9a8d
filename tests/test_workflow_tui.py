"""The team workflow in the TUI, key by key: what the agent sees change (the header's
status, assignee, snooze time and tags, the list row's marks, the history's event line),
the palette offering every action, and a snooze time that is not understood."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input, Static

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.config import Settings
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.workflow import (
    AssignScreen,
    ConfirmScreen,
    SnoozeScreen,
    TagInput,
    TagScreen,
    complete_tag,
    split_tags,
)
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.status_line import StatusLine
from omnitui.widgets.timeline import Timeline
from tests.tui_support import (
    Store,
    list_text,
    make_app,
    screen_text,
    settings_for,
    timeline_text,
    type_text,
    wait_for,
)

SIZE = (160, 50)


def header(app: OmniApp) -> str:
    return str(app.inbox.query_one("#customer-header", Static).render())


def status_line(app: OmniApp) -> str:
    return str(app.inbox.query_one(StatusLine).render())


def john_row(app: OmniApp) -> str:
    """The two lines of John's row in the list."""
    lines = list_text(app).splitlines()
    at = next(i for i, line in enumerate(lines) if "John Smith" in line)
    return "\n".join(lines[at : at + 2])


async def john_selected(pilot: object, app: OmniApp, store: Store) -> None:
    """John (the newest) under the cursor, his history and detail read."""
    timeline = app.inbox.query_one(Timeline)
    await wait_for(
        pilot,  # type: ignore[arg-type]
        lambda: timeline.customer_id == store.john and timeline.ready and app.inbox.detail,
        what="John's history",
    )


async def test_a_assigns_to_me_and_back_and_A_to_someone(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await john_selected(pilot, app, tui_store)
        assert "@me" not in header(app)

        await pilot.press("a")
        await wait_for(pilot, lambda: "@me" in header(app), what="assigned in the header")
        await wait_for(pilot, lambda: "@me" in john_row(app), what="assigned in the list")
        await wait_for(pilot, lambda: "── assigned: nobody → leyla · leyla" in timeline_text(app))
        assert "Assigned to you" in status_line(app)

        await pilot.press("a")  # mine already: give it back
        await wait_for(pilot, lambda: "@me" not in header(app), what="unassigned")
        await wait_for(pilot, lambda: "assigned: leyla → nobody" in timeline_text(app))
        await wait_for(pilot, lambda: "@me" not in john_row(app))

        # A: a name the store does not know is refused, said on the status line.
        await pilot.press("A")
        assert isinstance(app.screen, AssignScreen)
        await type_text(pilot, "rauf")
        await pilot.press("enter")
        assert isinstance(app.screen, InboxScreen)
        await wait_for(pilot, lambda: "Assign refused: no agent 'rauf'" in status_line(app))

        # Once rauf has run the TUI he is offered; a few letters pick him.
        inbox.presence_heartbeat(tui_store.engine, "rauf", None)
        await pilot.press("A")
        screen = app.screen
        assert isinstance(screen, AssignScreen)
        await wait_for(pilot, lambda: "rauf" in screen.agents, what="the agents read")
        text = screen_text(app)
        assert "me (leyla)" in text and "rauf" in text
        await type_text(pilot, "rau")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "@rauf" in header(app), what="assigned to rauf")
        await wait_for(pilot, lambda: "@rauf" in john_row(app))
        await wait_for(pilot, lambda: "assigned: nobody → rauf · leyla" in timeline_text(app))

        # A, then nobody from the list: unassigned.
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))
        await pilot.press("down", "end", "enter")
        await wait_for(pilot, lambda: "assigned: rauf → nobody" in timeline_text(app))


async def test_p_sets_pending(tui_store: Store, tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await john_selected(pilot, app, tui_store)
        assert " open " in header(app)
        await pilot.press("p")
        await wait_for(pilot, lambda: " pending " in header(app), what="pending in the header")
        await wait_for(pilot, lambda: "── status: open → pending · leyla" in timeline_text(app))


async def test_s_snoozes_until_the_time_shown_first(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await john_selected(pilot, app, tui_store)
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, SnoozeScreen)
        preview = screen.query_one("#snooze-preview", Static)

        # Words not understood: said on one line, and enter snoozes nothing.
        await type_text(pilot, "tomorow")
        assert 'not understood: "tomorow"' in str(preview.render())
        await pilot.press("enter")
        assert app.screen is screen
        assert "\n" not in str(preview.render()).strip()

        # The clock says Mon 14:00 in Baku: 2h is 16:00, shown before enter.
        screen.query_one(Input).value = ""
        await type_text(pilot, "2h")
        assert "Mon 02 Nov 16:00 (in 2 h)" in str(preview.render())
        await pilot.press("enter")
        assert isinstance(app.screen, InboxScreen)
        await wait_for(
            pilot, lambda: "◷ until Mon 02 Nov 16:00" in header(app), what="the snooze time"
        )
        assert " snoozed " in header(app)
        await wait_for(pilot, lambda: "◷ 16:00" in john_row(app), what="the list's mark")
        await wait_for(
            pilot,
            lambda: "── snoozed: open → until Mon 02 Nov 16:00 · leyla" in timeline_text(app),
        )
        assert "Snoozed #" in status_line(app)

        # Escape leaves it as it is.
        await pilot.press("s")
        assert isinstance(app.screen, SnoozeScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)


async def test_t_tags_with_completion_and_minus_removes(
    tui_store: Store, tui_settings: Settings
) -> None:
    # A tag someone used before, on another customer's conversation.
    ali = inbox.current_conversation(tui_store.engine, tui_store.ali)
    assert ali is not None
    inbox.add_tag(tui_store.engine, ali, "vip", agent="rauf")
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await john_selected(pilot, app, tui_store)
        await pilot.press("t")
        screen = app.screen
        assert isinstance(screen, TagScreen)
        line = screen.query_one(TagInput)
        await wait_for(pilot, lambda: "vip" in line.known, what="the tags read")
        await type_text(pilot, "refund v")
        await pilot.press("tab")
        assert line.value == "refund vip "
        await pilot.press("enter")
        await wait_for(pilot, lambda: "#refund #vip" in header(app), what="the tags shown")
        await wait_for(pilot, lambda: "── tagged: + vip · leyla" in timeline_text(app))
        assert "── tagged: + refund · leyla" in timeline_text(app)

        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TagScreen))
        await type_text(pilot, "-v")
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: "── untagged: − vip · leyla" in timeline_text(app))
        await wait_for(pilot, lambda: "#vip" not in header(app) and "#refund" in header(app))

        # A tag the rules refuse: the reason on the status line, nothing written.
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TagScreen))
        await type_text(pilot, "x" * 41)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Tags refused" in status_line(app))
        assert "at most 40" in status_line(app)


async def test_bang_marks_spam_after_asking_and_again_unblocks(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await john_selected(pilot, app, tui_store)
        await pilot.press("exclamation_mark")
        assert isinstance(app.screen, ConfirmScreen)
        assert "blocks email john@example.com" in screen_text(app)
        await pilot.press("n")  # no: nothing happens
        assert isinstance(app.screen, InboxScreen)

        await pilot.press("exclamation_mark", "y")
        await wait_for(
            pilot, lambda: "⊘ blocked email john@example.com" in header(app), what="blocked"
        )
        assert " resolved " in header(app) and "#spam" in header(app)
        history = timeline_text(app)
        assert "── blocked: email john@example.com · leyla" in history
        assert "── status: open → resolved (spam) · leyla" in history
        assert "── tagged: + spam · leyla" in history
        await wait_for(pilot, lambda: "resolved" in john_row(app))

        # ! on a customer with a blocked address offers to unblock it.
        await pilot.press("exclamation_mark")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Unblock email john@example.com?" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "⊘ blocked" not in header(app), what="unblocked")
        assert "── unblocked: email john@example.com · leyla" in timeline_text(app)


async def test_N_opens_the_next_customer_with_unread_messages(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await john_selected(pilot, app, tui_store)
        # Every customer is unread; the list reads John, Ayşe, Reza, Əli.
        for expected in (tui_store.ayse, tui_store.reza, tui_store.ali, tui_store.john):
            await pilot.press("N")
            await wait_for(
                pilot,
                lambda e=expected: (  # type: ignore[misc]
                    timeline.customer_id == e and customers.selected_id == e and timeline.ready
                ),
                what=f"customer {expected} opened",
            )
            assert timeline.has_focus
            # Opened: marked read, so the next N moves on.
            await wait_for(
                pilot,
                lambda: customers.selected_row is not None and customers.selected_row.unread == 0,
                what="marked read",
            )
        await pilot.press("N")
        await wait_for(pilot, lambda: "No other customer has unread" in status_line(app))


async def test_the_palette_offers_every_workflow_action(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await john_selected(pilot, app, tui_store)
        for title, help_text in [
            ("Assign to me", "Take the conversation"),
            ("Assign to…", "Give the conversation to another agent"),
            ("Unassign", "Give the conversation to nobody"),
            ("Pending", "Set the conversation pending"),
            ("Tags", "Add or remove the conversation's tags"),
            ("Mark spam and block", "Block the sender"),
            ("Next unread", "Open the next customer with unread"),
            ("Snooze", "Put the conversation away until a time"),
        ]:
            await pilot.press("ctrl+p")
            await type_text(pilot, title)
            await wait_for(pilot, lambda h=help_text: h in screen_text(app), what=title)  # type: ignore[misc]
            if title != "Snooze":
                await pilot.press("escape")
                await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SnoozeScreen), what="snooze asked")
        await type_text(pilot, "tomorrow 9:00")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "◷ until Tue 03 Nov 09:00" in header(app))


WORKFLOW_IDS = {
    "assign-me": "a",
    "assign": "A",
    "pending": "p",
    "snooze": "s",
    "tags": "t",
    "spam": "!",
    "next-unread": "N",
}


async def test_every_workflow_key_is_in_the_help_and_can_be_rebound(
    tmp_path: object, tui_store: Store
) -> None:
    from pathlib import Path

    settings = settings_for(Path(str(tmp_path)), tui_store.url, keys={"pending": "ctrl+k"})
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        rows = {row.id: row for row in app.binding_rows()}
        for binding_id, key in WORKFLOW_IDS.items():
            shown = rows[binding_id].keys
            assert shown == ("^k" if binding_id == "pending" else key), (binding_id, shown)
        screens: list[type] = [AssignScreen, SnoozeScreen, TagScreen, TagInput, ConfirmScreen]
        for owner in screens:
            for binding in owner.BINDINGS:
                assert isinstance(binding, Binding) and binding.id in rows
        await john_selected(pilot, app, tui_store)
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: " pending " in header(app), what="the rebound key")


def test_tag_line_completion_and_parsing() -> None:
    known = ["vip", "billing", "bug", "refund"]
    assert complete_tag("v", known, []) == ("vip ", ["vip"])
    assert complete_tag("refund b", known, []) == ("refund b", ["billing", "bug"])
    assert complete_tag("refund bi", known, []) == ("refund billing ", ["billing"])
    assert complete_tag("-b", known, ["bug"]) == ("-bug ", ["bug"])  # only its own tags
    assert complete_tag("zz", known, []) == ("zz", [])
    assert split_tags("vip, billing -old - ") == (["vip", "billing"], ["old"])
