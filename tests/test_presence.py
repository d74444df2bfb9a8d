"""Presence and drafts in the store, by the clock: who counts as online, viewing and typing;
a draft's saves (the newest wins, an empty one is none); what a send is checked against
(others typing or drafting lately, replies and notes by others since the draft began)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from omnitui import inbox
from omnitui.connectors.base import Batch
from omnitui.reads import AgentPresence, Collision, Reader, parse_stamp
from tests.runner_support import query


@pytest.fixture
def customers(engine: Engine, make_message: Any) -> tuple[int, int]:
    [ali] = inbox.ingest(engine, Batch([make_message("Salam", address="ali@example.az")]))
    [ayse] = inbox.ingest(engine, Batch([make_message("Merhaba", address="ayse@example.tr")]))
    return ali.customer_id, ayse.customer_id


def test_online_viewing_and_typing(
    engine: Engine, store_url: str, customers: tuple[int, int]
) -> None:
    ali, ayse = customers
    reader = Reader(store_url)
    now = datetime.now(UTC)
    assert reader.agents_online() == []
    inbox.presence_heartbeat(engine, "leyla", ali)
    inbox.presence_heartbeat(engine, "aysel", None)
    assert reader.agents_online() == [
        AgentPresence("aysel", None, False),
        AgentPresence("leyla", ali, False),
    ]
    # Online is no work: the web chat's away notice does not count a TUI left open.
    last = reader.last_agent_activity()
    assert last is not None and last.year == 1  # the start of time: no work yet
    # Typing is shown while fresh.
    inbox.set_presence(engine, "leyla", ali, True)
    assert reader.agents_online()[1] == AgentPresence("leyla", ali, True)
    later = datetime.now(UTC) + timedelta(seconds=7)
    assert reader.agents_online(later)[1] == AgentPresence("leyla", ali, False)
    # A heartbeat for the same customer keeps the typing; another customer ends it.
    inbox.presence_heartbeat(engine, "leyla", ali)
    assert reader.agents_online()[1].typing
    inbox.presence_heartbeat(engine, "leyla", ayse)
    assert reader.agents_online()[1] == AgentPresence("leyla", ayse, False)
    # A TUI that stopped beating (killed, dropped SSH) is offline after 45 s.
    assert [a.agent for a in reader.agents_online(now + timedelta(seconds=44))] == [
        "aysel",
        "leyla",
    ]
    assert reader.agents_online(datetime.now(UTC) + timedelta(seconds=46)) == []
    # A clean quit: offline at once, the row (and its last sign of work) kept.
    inbox.leave_presence(engine, "leyla")
    assert [a.agent for a in reader.agents_online()] == ["aysel"]
    rows = query(
        reader.url, "SELECT customer_id, typing, seen_at FROM presence WHERE agent=?", ("leyla",)
    )
    assert rows == [(None, 0, None)]


def test_drafts_newest_save_wins_and_an_empty_one_is_none(
    engine: Engine, store_url: str, customers: tuple[int, int]
) -> None:
    ali, ayse = customers
    reader = Reader(store_url)
    began = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    inbox.save_draft(engine, "leyla", ali, "Salam", started_at=began)
    inbox.save_draft(
        engine, "leyla", ali, "Salam, Əli bəy", mode="note", identity_id=7, started_at=began
    )
    inbox.save_draft(engine, "aysel", ali, "Merhaba", started_at=began)
    draft = reader.draft("leyla", ali)
    assert draft is not None
    assert (draft.body, draft.mode, draft.identity_id, draft.started_at) == (
        "Salam, Əli bəy",
        "note",
        7,
        began,
    )
    assert reader.draft("leyla", ayse) is None
    # Another agent's draft is theirs: one row per agent and customer.
    other = reader.draft("aysel", ali)
    assert other is not None and other.body == "Merhaba"
    # Emptied (or only spaces): no draft.
    inbox.save_draft(engine, "leyla", ali, "  \n", started_at=began)
    assert reader.draft("leyla", ali) is None
    inbox.save_draft(engine, "leyla", ali, "again", started_at=began)
    inbox.delete_draft(engine, "leyla", ali)
    assert reader.draft("leyla", ali) is None
    with pytest.raises(inbox.ServiceError, match="unknown draft mode"):
        inbox.save_draft(engine, "leyla", ali, "x", mode="email", started_at=began)


def test_what_a_send_is_checked_against(
    engine: Engine, store_url: str, customers: tuple[int, int]
) -> None:
    ali, ayse = customers
    reader = Reader(store_url)
    began = datetime.now(UTC)
    assert reader.collision(ali, "leyla", began) == Collision()
    # Another agent typing to the customer, fresh; not to another customer; not oneself.
    inbox.presence_heartbeat(engine, "aysel", ali)
    inbox.set_presence(engine, "aysel", ali, True)
    inbox.set_presence(engine, "bob", ayse, True)
    inbox.set_presence(engine, "leyla", ali, True)
    assert reader.collision(ali, "leyla", began).writing == ("aysel",)
    assert reader.collision(ali, "leyla", began, began + timedelta(seconds=7)).writing == ()
    # Or holding a non-empty draft for them, saved within 10 minutes.
    inbox.set_presence(engine, "aysel", ali, False)
    inbox.save_draft(engine, "cem", ali, "Salam", started_at=began)
    inbox.save_draft(engine, "dana", ali, " ", started_at=began)  # none
    assert reader.collision(ali, "leyla", began).writing == ("cem",)
    assert reader.collision(ali, "leyla", began, began + timedelta(minutes=11)).writing == ()

    # Replies and notes by others since the draft began; one's own do not count.
    inbox.queue_reply(engine, ali, "mine", agent="leyla")
    assert reader.collision(ali, "leyla", began).replied is None
    inbox.add_note(engine, ali, "a note", agent="cem")
    note = reader.collision(ali, "leyla", began).replied
    assert note is not None and (note.author, note.direction) == ("cem", "note")
    reply_id = inbox.queue_reply(engine, ali, "theirs", agent="aysel")
    [(sent_at,)] = query(reader.url, "SELECT sent_at FROM message WHERE id=?", (reply_id,))
    raced = reader.collision(ali, "leyla", began).replied
    assert raced is not None
    assert (raced.author, raced.direction, raced.at) == ("aysel", "out", parse_stamp(sent_at))
    # Once read (the draft counts as begun at that reply), nothing newer: the send goes.
    assert reader.collision(ali, "leyla", raced.at).replied is None
    assert reader.collision(ayse, "leyla", began).replied is None
