"""Bulk actions: one team action on many conversations in one transaction, an audit event
each; in the TUI on the customers selected in the list (space, *) or on every conversation
a search finds (ctrl+b), asked and confirmed with the count first."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.config import Config, Settings
from omnitui.screens.bulk import BulkScreen
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.search import SearchScreen
from omnitui.screens.workflow import ConfirmScreen, TagScreen
from omnitui.widgets.customer_list import CustomerList
from tests.tui_support import NOW, ZONE, Store, list_text, screen_text, type_text, wait_for

SIZE = (160, 50)


def conversations(store: Store) -> dict[str, int]:
    found = {}
    for name in ("ayse", "ali", "reza", "john"):
        conv = inbox.current_conversation(store.engine, getattr(store, name))
        assert conv is not None
        found[name] = conv
    return found


def events(engine: Engine, kind: str) -> list[tuple[int, str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT conversation_id, agent, before, after FROM event WHERE kind = :k "
                "ORDER BY conversation_id"
            ),
            {"k": kind},
        )
        return [(int(r[0]), str(r[1]), r[2], r[3]) for r in rows]


def statuses(engine: Engine) -> dict[int, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, status, assignee FROM conversation"))
        return {int(r[0]): (str(r[1]), r[2]) for r in rows}


def test_one_action_on_many_conversations_writes_an_event_each(tui_store: Store) -> None:
    engine = tui_store.engine
    conv = conversations(tui_store)
    inbox.set_conversation_status(engine, conv["reza"], "resolved", agent="leyla")
    result = inbox.bulk_apply(
        engine,
        "resolve",
        conversations=[conv["ayse"], conv["reza"]],
        customers=[tui_store.john],
        agent="leyla",
    )
    assert (result.conversations, result.changed) == (3, 2)  # Reza's was resolved already
    assert [e[0] for e in events(engine, "status")] == sorted(
        [conv["reza"], conv["ayse"], conv["john"]]
    )
    assert statuses(engine)[conv["ayse"]][0] == "resolved"
    with engine.connect() as conn:
        open_count = conn.execute(
            text("SELECT open_count FROM customer WHERE id = :c"), {"c": tui_store.ayse}
        ).scalar()
    assert open_count == 0  # the list's columns kept in step

    result = inbox.bulk_apply(
        engine, "assign_me", customers=[tui_store.ali, tui_store.john], agent="rauf"
    )
    assert result.changed == 2
    assert statuses(engine)[conv["ali"]][1] == "rauf"
    assert events(engine, "assign") == sorted(
        [(conv["ali"], "rauf", None, "rauf"), (conv["john"], "rauf", None, "rauf")]
    )

    inbox.add_tag(engine, conv["ali"], "old", agent="leyla")
    result = inbox.bulk_apply(
        engine,
        "tags",
        conversations=[conv["ali"], conv["john"]],
        add=["VIP"],
        remove=["old"],
        agent="leyla",
    )
    assert result.changed == 2  # John had no "old" to lose: skipped, not refused
    tags = [(e[0], e[2], e[3]) for e in events(engine, "tag")]
    assert (conv["ali"], "old", None) in tags
    assert (conv["ali"], None, "vip") in tags and (conv["john"], None, "vip") in tags


def test_an_unknown_conversation_refuses_the_whole_batch(tui_store: Store) -> None:
    engine = tui_store.engine
    conv = conversations(tui_store)
    with pytest.raises(inbox.ServiceError, match="no conversation 9999"):
        inbox.bulk_apply(engine, "resolve", conversations=[conv["ayse"], 9999], agent="leyla")
    assert events(engine, "status") == []  # one transaction: nothing written
    with pytest.raises(inbox.ServiceError, match="not one of"):
        inbox.bulk_apply(engine, "delete", conversations=[conv["ayse"]], agent="leyla")
    with pytest.raises(inbox.ServiceError, match="which tags"):
        inbox.bulk_apply(engine, "tags", conversations=[conv["ayse"]], agent="leyla")


def app_for(tmp_path: Path, store: Store) -> OmniApp:
    settings = Settings(
        data_dir=tmp_path,
        config_path=tmp_path / "c.toml",
        config=Config(),
        agent="leyla",
        store_url=store.url,
        run_runner=False,
        log_file=tmp_path / "log",
    )
    return OmniApp(settings, clock=lambda: NOW, tz=ZONE)


async def test_selected_customers_resolved_after_a_confirmation(
    tmp_path: Path, tui_store: Store
) -> None:
    app = app_for(tmp_path, tui_store)
    conv = conversations(tui_store)
    async with app.run_test(size=SIZE) as pilot:
        customers = app.inbox.query_one(CustomerList)
        await wait_for(pilot, lambda: customers.selected_id == tui_store.john)
        await pilot.press("B")  # nothing selected: said so, nothing opens
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("space", "space")  # John, then Ayşe (the cursor moves on)
        assert customers.marked == {tui_store.john, tui_store.ayse}
        assert "· 2 selected" in str(customers.border_title)
        assert "✓" in list_text(app)
        await pilot.press("B")
        assert isinstance(app.screen, BulkScreen)
        assert "2 customers selected" in screen_text(app)
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Resolve the current conversations of 2 customers?" in screen_text(app)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: statuses(tui_store.engine)[conv["john"]][0] == "resolved",
            what="resolved",
        )
        now = statuses(tui_store.engine)
        assert now[conv["ayse"]][0] == "resolved" and now[conv["ali"]][0] == "open"
        await wait_for(pilot, lambda: not customers.marked, what="the selection cleared")

        # * selects the whole view (again: none); n at the question changes nothing.
        await pilot.press("asterisk")
        await wait_for(pilot, lambda: len(customers.marked) == 4, what="all selected")
        await pilot.press("B", "a")
        assert "Assign the current conversations of 4 customers to you?" in screen_text(app)
        await pilot.press("n")
        assert isinstance(app.screen, InboxScreen)
        assert all(a is None for _, a in statuses(tui_store.engine).values())
        await pilot.press("asterisk")
        assert not customers.marked


async def test_every_conversation_a_search_finds_tagged(tmp_path: Path, tui_store: Store) -> None:
    app = app_for(tmp_path, tui_store)
    conv = conversations(tui_store)
    inbox.set_conversation_status(tui_store.engine, conv["reza"], "pending", agent="leyla")
    async with app.run_test(size=SIZE) as pilot:
        customers = app.inbox.query_one(CustomerList)
        await wait_for(pilot, lambda: customers.selected_id == tui_store.john)
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await type_text(pilot, "is:open")
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkScreen), what="the picker")
        assert "3 conversations found by: is:open" in screen_text(app)
        await pilot.press("t")
        assert isinstance(app.screen, TagScreen)
        await type_text(pilot, "followup")
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Tag 3 conversations: +followup?" in screen_text(app)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: len(events(tui_store.engine, "tag")) == 3, what="three tag events"
        )
        tagged = sorted(e[0] for e in events(tui_store.engine, "tag"))
        assert tagged == sorted([conv["ayse"], conv["ali"], conv["john"]])  # not Reza's
        assert isinstance(app.screen, SearchScreen)
        await wait_for(pilot, lambda: "3 of 3 conversations changed" in screen_text(app))
