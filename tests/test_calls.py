"""Phone calls: logged by the service, by `omnitui log-call` (a phone system's hook) and
with C in the TUI; each is a message of the phone channel in the customer's history with
its length and outcome, once per call id, found by the caller's number."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from textual.widgets import TextArea

from omnitui import inbox
from omnitui.calls import CallError, normalize_number, parse_duration
from omnitui.config import Settings
from omnitui.connectors.base import Batch
from omnitui.reads import Reader, TimelineItem
from omnitui.screens.call import CallScreen
from omnitui.widgets.timeline import Timeline
from tests.conftest import BASE_TIME, MakeMessage
from tests.test_cli import run
from tests.tui_support import Store, make_app, timeline_text, type_text, wait_for


def ingested(engine: Engine, make_message: MakeMessage, **kwargs: object) -> int:
    """A customer who wrote one email; their id."""
    (result,) = inbox.ingest(engine, Batch([make_message(**kwargs)]))
    return result.customer_id


def log_call(
    engine: Engine,
    customer_id: int | None,
    direction: str,
    seconds: int,
    outcome: str,
    *,
    notes: str = "",
    agent: str = "leyla",
    **more: Any,
) -> int:
    """``inbox.log_call`` of a call ``seconds`` long (most have no notes and are Leyla's)."""
    return inbox.log_call(
        engine,
        customer_id,
        direction=direction,
        duration_seconds=seconds,
        outcome=outcome,
        notes=notes,
        agent=agent,
        **more,
    )


def one(engine: Engine, sql: str, **params: object) -> tuple[object, ...]:
    with engine.connect() as conn:
        row = conn.execute(text(sql), params).one()
    return tuple(row)


def calls_of(reader: Reader, customer_id: int) -> list[TimelineItem]:
    return [i for i in reader.timeline(customer_id) if i.channel == "phone"]


def test_a_call_joins_the_open_conversation_and_shows_in_the_history(
    engine: Engine, store_url: str, make_message: MakeMessage
) -> None:
    ali = ingested(engine, make_message, body="my order is late")  # sent 09:01
    at = BASE_TIME + timedelta(minutes=30)
    message_id = log_call(
        engine,
        ali,
        "in",
        330,
        "answered",
        notes="Asked where parcel 4411 is; promised a callback.",
        at=at,
    )

    reader = Reader(store_url)
    history = reader.timeline(ali)
    assert [(i.kind, i.channel) for i in history if i.kind != "event"] == [
        ("in", "email"),
        ("in", "phone"),
    ]
    call = history[-1]
    assert call.id == message_id
    assert (call.call_seconds, call.call_outcome) == (330, "answered")
    assert call.author == "leyla"
    assert call.body == "Asked where parcel 4411 is; promised a callback."
    assert call.at == at
    assert call.conversation_id == history[0].conversation_id  # the email's, still open

    row = reader.customer(ali)
    assert row is not None
    assert row.row.channels == "email,phone"
    assert row.row.preview == "Asked where parcel 4411 is; promised a callback."
    assert row.row.last_activity_at == at
    assert [h.message_id for h in reader.search("parcel 4411")] == [message_id]
    kind, agent, after = one(
        engine, "SELECT kind, agent, after FROM event WHERE message_id = :m", m=message_id
    )
    assert (kind, agent, after) == ("call", "leyla", "in 330s answered")
    assert one(engine, "SELECT kind FROM message WHERE id = :m", m=message_id) == ("call",)


def test_calls_open_conversations_when_none_is_going(
    engine: Engine, store_url: str, make_message: MakeMessage
) -> None:
    ali = ingested(engine, make_message)
    first = inbox.current_conversation(engine, ali)
    assert first is not None
    inbox.set_conversation_status(engine, first, "resolved", agent="leyla")
    unread_before = one(engine, "SELECT unread_count FROM customer WHERE id = :c", c=ali)[0]

    # The customer rang and nobody picked up: a new open case, and someone must call back.
    rang = BASE_TIME + timedelta(hours=2)
    missed = log_call(engine, ali, "in", 0, "missed", agent="system", at=rang)
    conv, status, channel, first_in, first_out = one(
        engine,
        "SELECT c.id, c.status, c.channel, c.first_inbound_at, c.first_response_at "
        "FROM conversation c JOIN message m ON m.conversation_id = c.id WHERE m.id = :m",
        m=missed,
    )
    assert conv != first
    assert (status, channel, first_out) == ("open", "phone", None)
    assert first_in is not None
    assert one(engine, "SELECT unread_count, open_count FROM customer WHERE id = :c", c=ali) == (
        unread_before + 1,  # type: ignore[operator]
        1,
    )

    # The agent calls back: the team's first response in that case, and read.
    back = log_call(
        engine, ali, "out", 95, "answered", notes="Called back.", at=rang + timedelta(minutes=10)
    )
    assert one(engine, "SELECT conversation_id FROM message WHERE id = :m", m=back) == (conv,)
    assert one(engine, "SELECT unread_count FROM customer WHERE id = :c", c=ali) == (0,)
    (first_out,) = one(engine, "SELECT first_response_at FROM conversation WHERE id = :c", c=conv)
    assert first_out is not None

    # An outbound call to a customer with nothing going: a case of its own, already resolved.
    inbox.set_conversation_status(engine, conv, "resolved", agent="leyla")
    later = log_call(
        engine,
        ali,
        "out",
        60,
        "voicemail",
        notes="Left a message about the refund.",
        at=rang + timedelta(days=1),
    )
    status, channel = one(
        engine,
        "SELECT c.status, c.channel FROM conversation c JOIN message m "
        "ON m.conversation_id = c.id WHERE m.id = :m",
        m=later,
    )
    assert (status, channel) == ("resolved", "phone")
    assert len(Reader(store_url).conversations(ali)) == 3


def test_the_same_call_id_is_stored_once(engine: Engine, make_message: MakeMessage) -> None:
    ali = ingested(engine, make_message)

    def log() -> int:
        return log_call(
            engine,
            ali,
            "in",
            42,
            "answered",
            notes="hello",
            agent="pbx",
            external_id="asterisk-1700000000.17",
        )

    first = log()
    assert log() == first
    assert one(engine, "SELECT count(*) FROM message WHERE channel = 'phone'") == (1,)
    assert one(engine, "SELECT count(*) FROM phonecall") == (1,)
    assert one(engine, "SELECT count(*) FROM event WHERE kind = 'call'") == (1,)


def test_a_number_finds_its_customer_or_makes_one(
    engine: Engine, store_url: str, make_message: MakeMessage
) -> None:
    ali = ingested(engine, make_message)
    # Ali's number, added by the first call logged on him with it.
    log_call(engine, ali, "out", 10, "answered", number="+994 50 123-45-67")
    assert inbox.customer_for_number(engine, "00994501234567") == ali
    by_number = log_call(
        engine, None, "in", 75, "answered", agent="pbx", number="(+994) 50 123 45 67"
    )
    assert one(engine, "SELECT customer_id FROM message WHERE id = :m", m=by_number) == (ali,)
    assert one(engine, "SELECT count(*) FROM identity WHERE channel = 'phone'") == (1,)
    # His call came last, yet a reply still goes where he wrote: a call is no address.
    reply = inbox.queue_reply(engine, ali, "Your parcel left today.", agent="leyla")
    assert one(engine, "SELECT channel FROM message WHERE id = :m", m=reply) == ("email",)
    detail = Reader(store_url).customer(ali)
    assert detail is not None
    email = next(i.id for i in detail.identities if i.channel == "email")
    assert detail.last_inbound_identity_id == email

    stranger = log_call(engine, None, "in", 0, "missed", agent="pbx", number="+90 532 000 11 22")
    (new,) = one(engine, "SELECT customer_id FROM message WHERE id = :m", m=stranger)
    assert new != ali
    reader = Reader(store_url)
    detail = reader.customer(int(new))  # type: ignore[call-overload]
    assert detail is not None
    assert detail.row.name == "+905320001122"
    assert detail.row.channels == "phone"
    assert [(i.channel, i.address) for i in detail.identities] == [("phone", "+905320001122")]
    assert [h.customer_id for h in reader.search("905320001122")][:1] == [new]

    with pytest.raises(inbox.ServiceError, match="belongs to customer"):
        log_call(engine, ali, "in", 5, "answered", number="+905320001122")


def test_bad_fields_are_refused_in_one_line(engine: Engine, make_message: MakeMessage) -> None:
    ali = ingested(engine, make_message)
    with pytest.raises(inbox.ServiceError, match="outcome 'hung up' is not one of answered"):
        log_call(engine, ali, "in", 5, "hung up")
    with pytest.raises(inbox.ServiceError, match="direction 'sideways'"):
        log_call(engine, ali, "sideways", 5, "busy")
    assert one(engine, "SELECT count(*) FROM message WHERE channel = 'phone'") == (0,)


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [("330", 330), ("5m30s", 330), ("5m 30s", 330), ("4:30", 270), ("1:02:03", 3723), ("1h", 3600)],
)
def test_durations_as_people_write_them(typed: str, seconds: int) -> None:
    assert parse_duration(typed) == seconds


@pytest.mark.parametrize("typed", ["5x", "4:75", "-3", "5m5m", "", "25h"])
def test_durations_that_are_not(typed: str) -> None:
    with pytest.raises(CallError):
        parse_duration(typed)


def test_numbers_are_kept_in_one_form() -> None:
    assert normalize_number("+994 (50) 123-45-67") == "+994501234567"
    assert normalize_number("00994501234567") == "+994501234567"
    for bad in ("call me", "+12", "+1234567890123456"):
        with pytest.raises(CallError):
            normalize_number(bad)


def test_the_log_call_verb(tmp_path: Path, store_url: str, engine: Engine) -> None:
    data = tmp_path / "data"
    logged = run(
        "--agent",
        "pbx",
        "log-call",
        "--number",
        "+994 50 765 43 21",
        "--direction",
        "in",
        "--duration",
        "2m5s",
        "--outcome",
        "voicemail",
        "--notes",
        "-",
        "--at",
        "2026-11-28T09:30:00+04:00",
        "--call-id",
        "pbx-77",
        "--json",
        data_dir=data,
        db=store_url,
        stdin="Wants to change the delivery address.\n",
    )
    assert logged.returncode == 0, logged.stderr
    first = json.loads(logged.stdout)
    again = run(
        "log-call",
        "--number",
        "+994507654321",
        "--direction",
        "in",
        "--duration",
        "125",
        "--outcome",
        "voicemail",
        "--call-id",
        "pbx-77",
        data_dir=data,
        db=store_url,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == str(first["message_id"])  # the same call, stored once

    history = calls_of(Reader(store_url), first["customer_id"])
    assert len(history) == 1
    call = history[0]
    assert (call.kind, call.call_seconds, call.call_outcome) == ("in", 125, "voicemail")
    assert call.body == "Wants to change the delivery address.\n"
    assert call.author == "pbx"
    assert call.at.isoformat() == "2026-11-28T05:30:00+00:00"

    bad_outcome = run(
        "log-call", "--customer", "1", "--direction", "out", "--outcome", "bogus",
        data_dir=data, db=store_url,
    )  # fmt: skip
    assert bad_outcome.returncode == 2
    assert bad_outcome.stderr == (
        "omnitui: outcome 'bogus' is not one of answered, missed, voicemail, busy, no-answer\n"
    )
    bad_duration = run(
        "log-call", "--customer", "1", "--direction", "out", "--duration", "5 minutes",
        data_dir=data, db=store_url,
    )  # fmt: skip
    assert bad_duration.returncode == 2
    assert bad_duration.stderr == "omnitui: duration '5 minutes' is not seconds, 5m30s or 4:30\n"
    assert one(engine, "SELECT count(*) FROM message") == (1,)


async def test_C_logs_a_call_from_the_inbox(tui_store: Store, tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=(160, 50)) as pilot:
        timeline = app.inbox.query_one(Timeline)
        await wait_for(
            pilot,
            lambda: timeline.customer_id == tui_store.john and timeline.ready and app.inbox.detail,
            what="John's history",
        )
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, CallScreen), what="the call window")
        screen = app.screen
        assert isinstance(screen, CallScreen)
        await pilot.press("right", "enter")  # direction: out
        await pilot.press("tab")
        await type_text(pilot, "5m30s")
        assert "5m 30s" in str(screen.query_one("#call-notice").render())
        await pilot.press("tab", "right", "right", "enter")  # outcome: voicemail
        await pilot.press("tab")
        assert screen.query_one(TextArea).has_focus
        await type_text(pilot, "Left a message about the refund")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is app.inbox, what="the window closed")
        await wait_for(
            pilot,
            lambda: "Call out · 5m 30s · voicemail" in timeline_text(app),
            what="the call in the history",
        )
        text_now = timeline_text(app)
        assert "P phone · leyla" in text_now
        assert "Left a message about the refund" in text_now
