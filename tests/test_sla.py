"""SLAs: business hours counted by hand-worked cases, policies matched in order, targets
given to the conversations still going (and again when their tags or the config change,
never to a resolved one), and what the agent sees: the time left, then overdue, in the
customer list as the frozen clock moves, and the breaching customers in the SLA view.

Every expected time below is worked out by hand from the calendar, not by the code."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from textual.widgets import Static

from omnitui import hours, inbox, runner, sla
from omnitui.app import OmniApp
from omnitui.config import ConfigError, Settings, parse
from omnitui.config.models import BusinessHoursConfig, SlaPolicy
from omnitui.connectors.base import Batch
from omnitui.hours import BusinessHours, parse_intervals
from omnitui.query import Context, QueryError
from omnitui.query import parse as parse_query
from omnitui.reads import Reader, parse_stamp
from omnitui.sla import Policies, Policy, parse_duration
from omnitui.views import OPEN, SLA, View
from omnitui.widgets import customer_list
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.view_bar import ViewBar
from tests.conftest import BASE_TIME, MakeMessage
from tests.runner_support import async_wait_until
from tests.runner_support import settings_for as runner_settings
from tests.tui_support import ZONE, Store, list_text, wait_for

BAKU = ZoneInfo("Asia/Baku")  # UTC+4 all year
BERLIN = ZoneInfo("Europe/Berlin")  # CET/CEST: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00
NEW_YORK = ZoneInfo("America/New_York")  # 2026-11-01 02:00 EDT -> 01:00 EST
TEHRAN = ZoneInfo("Asia/Tehran")  # UTC+3:30, no DST since 2022
H = 3600

NINE_TO_SIX = ((9 * 60, 18 * 60),)
WEEKDAYS_ONLY = (NINE_TO_SIX,) * 5 + ((), ())
ALL_DAY = (((0, 1440),),) * 7


def office(zone: str = "Asia/Baku", **kw: Any) -> BusinessHours:
    return BusinessHours(zone, kw.pop("week", WEEKDAYS_ONLY), **kw)


# -- business hours ------------------------------------------------------------------


def test_a_weekend_is_closed() -> None:
    week = office()
    friday = datetime(2026, 3, 27, 17, 0, tzinfo=BAKU)  # Fri 17:00: an hour left
    monday = datetime(2026, 3, 30, 10, 0, tzinfo=BAKU)
    assert week.seconds_between(friday, monday) == 2 * H  # Fri 17-18, Mon 09-10
    assert week.add(friday, 2 * H) == monday
    # Started on the Saturday, the count starts on Monday morning.
    assert week.add(datetime(2026, 3, 28, 11, 0, tzinfo=BAKU), H) == monday


def test_the_night_between_two_days_is_closed() -> None:
    week = office()
    tuesday = datetime(2026, 3, 24, 17, 30, tzinfo=BAKU)
    wednesday = datetime(2026, 3, 25, 9, 30, tzinfo=BAKU)
    assert week.seconds_between(tuesday, wednesday) == H
    assert week.add(tuesday, H) == wednesday
    # Counted out exactly at closing: that evening, not the next morning.
    assert week.add(tuesday, H / 2) == datetime(2026, 3, 24, 18, 0, tzinfo=BAKU)


def test_a_lunch_break_is_closed() -> None:
    split = parse_intervals("09:00-13:00, 14:00-18:00")
    assert split == ((540, 780), (840, 1080))
    week = office(week=(split,) * 5 + ((), ()))
    noon = datetime(2026, 3, 24, 12, 0, tzinfo=BAKU)
    assert week.seconds_between(noon, datetime(2026, 3, 24, 15, 0, tzinfo=BAKU)) == 2 * H
    assert week.add(datetime(2026, 3, 24, 12, 30, tzinfo=BAKU), H) == datetime(
        2026, 3, 24, 14, 30, tzinfo=BAKU
    )


def test_a_holiday_is_closed() -> None:
    week = office(holidays=frozenset({date(2026, 3, 20)}))  # Novruz, a Friday
    thursday = datetime(2026, 3, 19, 17, 0, tzinfo=BAKU)
    monday = datetime(2026, 3, 23, 10, 0, tzinfo=BAKU)
    assert week.seconds_between(thursday, monday) == 2 * H  # Thu 17-18, Mon 09-10
    assert week.add(thursday, 3 * H) == datetime(2026, 3, 23, 11, 0, tzinfo=BAKU)
    assert office().seconds_between(thursday, monday) == 11 * H  # without it: Fri's 9 too


def test_a_day_of_a_dst_change_has_the_hours_the_clocks_lived() -> None:
    always = BusinessHours("Europe/Berlin", ALL_DAY)
    spring = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    autumn = datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN)
    assert always.seconds_between(spring, spring + timedelta(days=1)) == 23 * H
    assert always.seconds_between(autumn, autumn + timedelta(days=1)) == 25 * H
    night = BusinessHours("America/New_York", (((0, 180),),) * 7)  # 00:00-03:00 local
    fall_back = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)  # 01:00-02:00 happens twice
    assert night.seconds_between(fall_back, fall_back + timedelta(days=1)) == 4 * H
    # Opening at 02:30, a time the spring-forward night skips: open from the jump (03:00).
    skipped = BusinessHours("Europe/Berlin", (((150, 300),),) * 7)
    assert skipped.seconds_between(spring, spring + timedelta(days=1)) == 2 * H
    assert skipped.add(spring, 1) == datetime(2026, 3, 29, 1, 0, 1, tzinfo=UTC)


def test_office_hours_keep_their_local_times_across_a_dst_change() -> None:
    week = office("Europe/Berlin")
    friday = datetime(2026, 3, 27, 17, 0, tzinfo=BERLIN)  # 16:00 UTC (CET)
    due = week.add(friday, 2 * H)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # Mon 10:00 CEST
    assert week.seconds_between(friday, due) == 2 * H


def test_a_week_that_is_not_monday_to_friday() -> None:
    # Tehran: Saturday to Wednesday 08:00-16:00, Thursday 08:00-12:00, Friday closed.
    day, thursday = ((480, 960),), ((480, 720),)
    week = BusinessHours("Asia/Tehran", (day, day, day, thursday, (), day, day))
    wednesday = datetime(2026, 3, 25, 15, 0, tzinfo=TEHRAN)
    saturday = datetime(2026, 3, 28, 9, 0, tzinfo=TEHRAN)
    assert week.seconds_between(wednesday, saturday) == 6 * H  # 1 + 4 (Thu) + 0 + 1
    assert week.add(wednesday, 6 * H) == datetime(2026, 3, 28, 5, 30, tzinfo=UTC)


def test_a_year_and_more_is_counted_whole_weeks_at_a_time() -> None:
    week = office()
    start = datetime(2026, 1, 5, 9, 0, tzinfo=BAKU)  # a Monday
    later = datetime(2027, 1, 4, 9, 0, tzinfo=BAKU)  # 52 weeks later, a Monday
    assert week.seconds_between(start, later) == 52 * 5 * 9 * H
    # The 2,340th hour ends at the Friday's closing, not at Monday's opening.
    assert week.add(start, 52 * 5 * 9 * H) == datetime(2027, 1, 1, 18, 0, tzinfo=BAKU)
    assert week.seconds_between(later, start) == 0
    assert week.add(start, 0) == start


def test_random_spans_agree_with_counting_day_by_day() -> None:
    """Two offices (one lunch break, holidays; Berlin's clocks change at night) over three
    years: each span's business seconds equal the sum, day by day, of the overlap of the
    span with that day's opening hours, as a person would count them."""
    import random

    rng = random.Random(9)
    holidays = frozenset({date(2026, 1, 1), date(2026, 5, 1), date(2027, 12, 25)})
    split = (((540, 720), (780, 1080)),) * 5 + (((600, 840),), ())
    office_hours = BusinessHours("Europe/Berlin", split, holidays)
    tz = ZoneInfo("Europe/Berlin")

    def by_hand(start: datetime, end: datetime) -> float:
        total = 0.0
        day = start.astimezone(tz).date() - timedelta(days=1)
        while datetime.combine(day, datetime.min.time(), tz) < end:
            for opens, closes in split[day.weekday()] if day not in holidays else ():
                at = datetime.combine(day, datetime.min.time(), tz)
                a = max(start, at.replace(hour=opens // 60, minute=opens % 60))
                b = min(end, at.replace(hour=closes // 60, minute=closes % 60))
                total += max(0.0, (b - a).total_seconds())
            day += timedelta(days=1)
        return total

    base = datetime(2025, 12, 1, tzinfo=UTC)
    for _ in range(300):
        start = base + timedelta(seconds=rng.uniform(0, 760 * 86400))
        end = start + timedelta(seconds=rng.uniform(-3600, 40 * 86400))
        expected = by_hand(start, end) if end > start else 0.0
        assert office_hours.seconds_between(start, end) == pytest.approx(expected, abs=1e-6)


def test_business_hours_from_the_config() -> None:
    config = parse(
        {
            "agent": {"timezone": "Asia/Tehran"},
            "business_hours": {
                "mon": "09:00-13:00,14:00-18:00",
                "fri": "10:00-24:00",
                "holidays": ["2026-03-20", date(2026, 3, 21)],
            },
        }
    )
    found = hours.from_config(config)
    assert found is not None
    assert found.zone == "Asia/Tehran"  # the agent's zone, none given here
    assert found.week[0] == ((540, 780), (840, 1080))
    assert found.week[4] == ((600, 1440),)
    assert found.week[1] == ()
    assert found.holidays == {date(2026, 3, 20), date(2026, 3, 21)}
    assert hours.from_config(parse({})) is None
    without_zone = parse({"business_hours": {"mon": "09:00-18:00"}})
    assert hours.from_config(without_zone) == BusinessHours("UTC", ((NINE_TO_SIX),) + ((),) * 6)


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({"business_hours": {"mon": "9-18"}}, "business_hours.mon", "not opening hours like"),
        ({"business_hours": {"tue": "18:00-09:00"}}, "business_hours.tue", "end must be after"),
        ({"business_hours": {"wed": "25:00-26:00"}}, "business_hours.wed", "not a time of day"),
        (
            {"business_hours": {"thu": "09:00-13:00,12:00-18:00"}},
            "business_hours.thu",
            "overlap: 09:00-13:00 and 12:00-18:00",
        ),
        (
            {"business_hours": {"mon": "09:00-18:00", "zone": "Mars/Base"}},
            "business_hours.zone",
            "unknown time zone",
        ),
        ({"business_hours": {"mon": ""}}, "business_hours", "no day has opening hours"),
        (
            {"business_hours": {"mon": "09:00-18:00", "holidays": ["2026-02-30"]}},
            "business_hours.holidays.0",
            "date",
        ),
        ({"sla": {"x": {"first_response": "1y"}}}, "sla.x.first_response", "not a duration"),
        ({"sla": {"x": {"channels": ["fax"], "resolution": "1d"}}}, "sla.x.channels", "fax"),
        ({"sla": {"x": {"tags": ["vip"]}}}, "sla.x", "no target"),
        (
            {"sla": {"x": {"first_response": "1h", "business_hours": True}}},
            "",
            "needs the opening hours",
        ),
    ],
)
def test_a_wrong_setting_is_named(data: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as raised:
        parse(data, "omnitui.toml")
    assert raised.value.key == key
    assert str(raised.value).startswith(f"omnitui.toml: {key}")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "key",
    [
        *(f"business_hours.{k}" for k in BusinessHoursConfig.model_fields),
        *(f"sla.NAME.{k}" for k in SlaPolicy.model_fields),
    ],
)
def test_every_key_is_documented_in_the_example(key: str) -> None:
    example = files("omnitui").joinpath("config.example.toml").read_text("utf-8")
    assert f"\n# {key.rsplit('.', 1)[1]} =" in example
    assert "\n# [business_hours]\n" in example and "\n# [sla.vip]\n" in example


# -- policies --------------------------------------------------------------------------


def test_durations() -> None:
    assert parse_duration("30m") == 30 * 60
    assert parse_duration("4h") == 4 * H
    assert parse_duration("2d") == 48 * H
    assert parse_duration(" 1h 30m ") == 90 * 60
    for wrong in ("", "1y", "h", "0m", "1.5h", "-1h"):
        with pytest.raises(ValueError):
            parse_duration(wrong)


def policies_from(**tables: dict[str, Any]) -> Policies:
    found = sla.from_config(parse({"sla": tables}))
    assert found is not None
    return found


def test_the_first_matching_policy_applies_in_the_order_written() -> None:
    policies = policies_from(
        vip={"tags": ["VIP", "gold"], "first_response": "15m"},
        telegram={"channels": ["telegram", "webchat"], "first_response": "30m"},
        vip_mail={"channels": ["email"], "tags": ["vip"], "first_response": "1m"},
        everyone={"resolution": "2d"},
    )
    named = lambda channel, *tags: getattr(policies.match(channel, tags), "name", None)  # noqa: E731
    assert named("telegram", "vip") == "vip"  # first, though the channel's matches too
    assert named("email", "gold") == "vip"
    assert named("email", "vip") == "vip"  # vip_mail comes after vip: never reached
    assert named("webchat") == "telegram"
    assert named("email", "billing") == "everyone"
    assert named("phone") == "everyone"
    narrow = policies_from(vip_mail={"channels": ["email"], "tags": ["vip"], "resolution": "1h"})
    assert narrow.match("email", ["vip"]) is not None
    assert narrow.match("telegram", ["vip"]) is None  # channel and tag both
    assert narrow.match("email", []) is None


def test_targets_in_real_time_and_in_business_hours() -> None:
    week = office()
    quick = Policy("quick", first_response=4 * H, resolution=8 * H)
    counted = Policy("office", first_response=4 * H, resolution=8 * H, business_hours=True)
    monday_1pm = datetime(2026, 11, 2, 13, 0, tzinfo=BAKU)
    assert sla.targets(quick, monday_1pm, week) == (
        datetime(2026, 11, 2, 17, 0, tzinfo=BAKU),
        datetime(2026, 11, 2, 21, 0, tzinfo=BAKU),
    )
    assert sla.targets(counted, monday_1pm, week) == (
        datetime(2026, 11, 2, 17, 0, tzinfo=BAKU),
        datetime(2026, 11, 3, 12, 0, tzinfo=BAKU),  # 5 h on Monday, 3 on Tuesday
    )
    assert sla.targets(Policy("r", resolution=60), monday_1pm) == (
        None,
        datetime(2026, 11, 2, 9, 1, tzinfo=UTC),
    )


def test_the_key_changes_with_the_configuration_only() -> None:
    one = policies_from(a={"first_response": "1h"})
    assert one.key == policies_from(a={"first_response": "60m"}).key
    assert one.key != policies_from(a={"first_response": "2h"}).key
    assert one.key != policies_from(b={"first_response": "1h"}).key
    assert one.key != policies_from(a={"first_response": "1h", "tags": ["vip"]}).key
    hours_a = Policies(one.policies, office())
    hours_b = Policies(one.policies, office(holidays=frozenset({date(2026, 3, 20)})))
    assert len({one.key, hours_a.key, hours_b.key}) == 3


# -- targets in the store ------------------------------------------------------------------


def targets_of(engine: Engine, conversation_id: int) -> tuple[Any, ...]:
    with engine.connect() as conn:
        policy, key, first, resolution = conn.execute(
            text(
                "SELECT sla_policy, sla_key, first_response_due_at, resolution_due_at "
                "FROM conversation WHERE id = :id"
            ),
            {"id": conversation_id},
        ).one()
    return policy, key, _utc(first), _utc(resolution)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_stamp(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stored(engine: Engine, make_message: MakeMessage, **kw: Any) -> int:
    [message] = inbox.ingest(engine, Batch([make_message(**kw)]))
    assert message.conversation_id is not None
    return message.conversation_id


@pytest.fixture
def policies() -> Policies:
    return policies_from(
        vip={"tags": ["vip"], "first_response": "15m", "resolution": "2h"},
        chat={"channels": ["telegram"], "first_response": "30m"},
        everyone={"first_response": "1h", "resolution": "8h"},
    )


def test_going_conversations_get_targets_from_the_first_customer_message(
    engine: Engine, make_message: MakeMessage, policies: Policies
) -> None:
    mail = stored(engine, make_message, minutes=0)  # Mon 2026-11-02 09:00 UTC
    chat = stored(engine, make_message, address="77", channel="telegram", account="bot", minutes=10)
    assert targets_of(engine, mail) == (None, None, None, None)
    with engine.begin() as conn:  # as stored before conversations had a channel
        conn.execute(text("UPDATE conversation SET channel = '' WHERE id = :id"), {"id": chat})

    assert inbox.apply_sla(engine, policies) == 2
    assert targets_of(engine, mail) == (
        "everyone",
        policies.key,
        BASE_TIME + timedelta(hours=1),
        BASE_TIME + timedelta(hours=8),
    )
    assert targets_of(engine, chat) == (
        "chat",
        policies.key,
        BASE_TIME + timedelta(minutes=40),
        None,
    )
    assert inbox.apply_sla(engine, policies) == 0  # nothing changed: nothing written


def test_a_tag_change_gives_the_targets_again(
    engine: Engine, make_message: MakeMessage, policies: Policies
) -> None:
    mail = stored(engine, make_message, minutes=0)
    inbox.apply_sla(engine, policies)
    inbox.add_tag(engine, mail, "VIP", agent="leyla")
    assert targets_of(engine, mail)[1] is None  # to be worked out again
    assert inbox.apply_sla(engine, policies) == 1
    assert targets_of(engine, mail) == (
        "vip",
        policies.key,
        BASE_TIME + timedelta(minutes=15),
        BASE_TIME + timedelta(hours=2),
    )
    inbox.remove_tag(engine, mail, "vip", agent="leyla")
    assert inbox.apply_sla(engine, policies) == 1
    assert targets_of(engine, mail)[0] == "everyone"


def test_a_config_change_retargets_the_going_ones_and_leaves_the_resolved_as_they_were(
    engine: Engine, make_message: MakeMessage, policies: Policies
) -> None:
    going = stored(engine, make_message, minutes=0)
    closed = stored(engine, make_message, address="john@example.com", minutes=0)
    inbox.apply_sla(engine, policies)
    inbox.set_conversation_status(engine, closed, "resolved", agent="leyla")
    before = targets_of(engine, closed)

    stricter = policies_from(everyone={"first_response": "5m"})
    assert inbox.apply_sla(engine, stricter) == 1
    assert targets_of(engine, going) == (
        "everyone",
        stricter.key,
        BASE_TIME + timedelta(minutes=5),
        None,
    )
    assert targets_of(engine, closed) == before

    nobody = policies_from(vip={"tags": ["vip"], "first_response": "5m"})
    assert inbox.apply_sla(engine, nobody) == 1
    assert targets_of(engine, going) == ("", nobody.key, None, None)  # no policy matched


def test_targets_wait_for_the_customer_s_first_message(
    engine: Engine, make_message: MakeMessage, policies: Policies
) -> None:
    customer = inbox.ingest(engine, Batch([make_message(minutes=0)]))[0].customer_id
    conversation = stored(engine, make_message, minutes=0)
    with engine.begin() as conn:  # as a conversation an agent opened with a reply is
        conn.execute(
            text("UPDATE conversation SET first_inbound_at = NULL WHERE id = :id"),
            {"id": conversation},
        )
    assert inbox.apply_sla(engine, policies) == 1
    assert targets_of(engine, conversation) == (None, policies.key, None, None)
    assert inbox.apply_sla(engine, policies) == 0
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE conversation SET first_inbound_at = :at WHERE id = :id"),
            {"id": conversation, "at": BASE_TIME},
        )
    assert inbox.apply_sla(engine, policies) == 1
    assert targets_of(engine, conversation)[0] == "everyone"
    assert customer


# -- what the agent sees: the list row, sla: terms, the SLA view -------------------------


def test_the_list_row_carries_the_next_target_and_the_terms_find_the_breaches(
    engine: Engine, store_url: str, make_message: MakeMessage
) -> None:
    policies = policies_from(everyone={"first_response": "2h", "resolution": "8h"})
    ali = inbox.ingest(engine, Batch([make_message(minutes=0)]))[0]
    john = inbox.ingest(engine, Batch([make_message(address="john@example.com", minutes=0)]))[0]
    assert ali.conversation_id is not None and john.conversation_id is not None
    inbox.apply_sla(engine, policies)
    reader = Reader(store_url)
    rows = {r.id: r for r in reader.customers(0, 10)}
    assert rows[ali.customer_id].sla_due_at == BASE_TIME + timedelta(hours=2)

    def found(query: str, minutes: int) -> set[int]:
        context = Context("leyla", UTC, BASE_TIME + timedelta(minutes=minutes))
        view = SLA._replace(query=query)
        return {r.id for r in reader.customers(0, 10, view=view, context=context)}

    both = {ali.customer_id, john.customer_id}
    assert found("sla:breaching", 59) == set()  # due at 11:00: not within the hour yet
    assert found("sla:breaching", 61) == both
    assert found("sla:breached", 119) == set()
    assert found("sla:breached", 121) == both

    # Ali answered at 09:30: the resolution is next, at 17:00. John's conversation was
    # resolved unanswered at 11:20, after his first response was due: breached for good.
    inbox.queue_reply(engine, ali.customer_id, "On it", agent="leyla")
    inbox.set_conversation_status(engine, john.conversation_id, "resolved", agent="leyla")
    with engine.begin() as conn:
        for sql, at in (
            ("UPDATE conversation SET first_response_at = :at WHERE id = :id", ali),
            ("UPDATE conversation SET resolved_at = :at WHERE id = :id", john),
        ):
            minutes = 30 if at is ali else 140
            conn.execute(
                text(sql), {"at": BASE_TIME + timedelta(minutes=minutes), "id": at.conversation_id}
            )
    rows = {r.id: r for r in reader.customers(0, 10)}
    assert rows[ali.customer_id].sla_due_at == BASE_TIME + timedelta(hours=8)
    assert rows[john.customer_id].sla_due_at is None  # resolved: nothing to show
    assert found("sla:breached", 150) == {john.customer_id}
    assert found("sla:breaching", 150) == set()
    assert found("sla:breaching", 7 * 60 + 30) == {ali.customer_id}  # 16:30
    assert found("sla:breached", 8 * 60 + 1) == both
    assert found("-sla:breached", 8 * 60 + 1) == set()
    late = Context("leyla", UTC, BASE_TIME + timedelta(hours=9))
    assert reader.customer_count(view=SLA, context=late) == 1
    with pytest.raises(QueryError, match="sla:breached, sla:breaching"):
        parse_query("sla:late")


def test_the_sla_view_lists_the_most_overdue_first_then_the_soonest_due(
    engine: Engine, store_url: str, make_message: MakeMessage
) -> None:
    now = BASE_TIME + timedelta(hours=2)  # 11:00
    # The least urgent wrote last (10:00): by activity they would be listed first.
    late, soon, later = (
        inbox.ingest(engine, Batch([make_message(address=address, minutes=minutes)]))[0]
        for address, minutes in (("late@x.az", 0), ("soon@x.az", 10), ("later@x.az", 60))
    )
    targets = (
        # (first response due, answered at, resolution due)
        (late, now - timedelta(minutes=30), None, now + timedelta(hours=5)),  # 30 min over
        # Answered: the first response (due an hour ago) is met; the resolution is next.
        (
            soon,
            now - timedelta(hours=1),
            BASE_TIME + timedelta(minutes=20),
            now + timedelta(minutes=10),
        ),
        (later, now + timedelta(minutes=50), None, None),
    )
    with engine.begin() as conn:
        for message, first, answered, resolution in targets:
            conn.execute(
                text(
                    "UPDATE conversation SET first_response_due_at = :first, "
                    "first_response_at = :answered, resolution_due_at = :resolution WHERE id = :id"
                ),
                {
                    "first": first,
                    "answered": answered,
                    "resolution": resolution,
                    "id": message.conversation_id,
                },
            )
    reader = Reader(store_url)
    context = Context("leyla", UTC, now)
    urgent_first = [late.customer_id, soon.customer_id, later.customer_id]

    def listed(view: View, offset: int = 0, limit: int = 10) -> list[int]:
        return [r.id for r in reader.customers(offset, limit, view=view, context=context, total=3)]

    assert listed(SLA) == urgent_first
    assert listed(SLA, offset=1, limit=1) == [soon.customer_id]
    assert reader.customer_position(later.customer_id, view=SLA, context=context) == 2
    assert reader.customer_ids(view=SLA, context=context, limit=10) == urgent_first
    assert listed(OPEN) == urgent_first[::-1]  # the other views: newest activity first
    # A newer open conversation without targets: the row still shows the overdue one.
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO conversation (customer_id, status, opened_at, last_message_at) "
                "SELECT customer_id, 'open', opened_at, last_message_at FROM conversation "
                "WHERE id = :id"
            ),
            {"id": late.conversation_id},
        )
    row = next(r for r in reader.customers(0, 10, view=SLA, context=context, total=3))
    assert (row.id, row.sla_due_at) == (late.customer_id, now - timedelta(minutes=30))


async def test_the_runner_gives_targets_when_the_config_has_policies(
    tmp_path: Path,
    store_url: str,
    engine: Engine,
    make_message: MakeMessage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conversation = stored(engine, make_message, minutes=0)
    monkeypatch.setattr(runner, "WAKE_FIRST_SECONDS", 30)
    settings = runner_settings(
        tmp_path,
        store_url,
        runner={"heartbeat_seconds": 0.5, "lease_ttl_seconds": 3},
        sla={"everyone": {"first_response": "1h"}},
    )
    stop = asyncio.Event()
    running = asyncio.create_task(runner.Runner(settings, []).run(stop))
    try:
        await async_wait_until(
            lambda: targets_of(engine, conversation)[0] == "everyone", 10, "the SLA targets"
        )
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    assert targets_of(engine, conversation)[2] == BASE_TIME + timedelta(hours=1)


async def test_the_list_shows_time_left_then_overdue_and_the_sla_view_the_breach(
    tui_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse(
        {
            "sla": {
                "vip": {"tags": ["vip"], "first_response": "30m"},
                "everyone": {"first_response": "4h"},
            }
        }
    )
    policies = sla.from_config(config)
    assert policies is not None
    conversation = inbox.current_conversation(tui_store.engine, tui_store.john)
    assert conversation is not None
    inbox.add_tag(tui_store.engine, conversation, "vip", agent="leyla")
    inbox.apply_sla(tui_store.engine, policies)
    settings = Settings(
        data_dir=tmp_path,
        config_path=tmp_path / "c.toml",
        config=config,
        agent="leyla",
        store_url=tui_store.url,
        run_runner=False,
        log_file=tmp_path / "log",
    )
    # John wrote at 09:06 UTC: his first response is due at 09:36; the others' at 13:0x.
    now = [datetime(2026, 11, 2, 9, 10, tzinfo=UTC)]
    monkeypatch.setattr(customer_list, "TICK_SECONDS", 0.2)  # the list's 20 s clock
    app = OmniApp(settings, clock=lambda: now[0], tz=ZONE)
    async with app.run_test(size=(160, 40)) as pilot:
        customers = app.screen.query_one(CustomerList)

        def row(name: str) -> str:
            """The customer's two lines in the list ("" before the list shows them)."""
            lines = list_text(app).splitlines()
            at = next((i for i, line in enumerate(lines) if name in line), None)
            return "" if at is None else "\n".join(lines[at : at + 2])

        await wait_for(pilot, lambda: "⧖ 26m" in row("John Smith"), what="time left")
        assert "⧖ 3h 5" in row("Əli Məmmədov")  # 13:02 - 09:10 = 3h 52m

        now[0] = datetime(2026, 11, 2, 9, 41, tzinfo=UTC)
        await wait_for(pilot, lambda: "⧖ -5m" in row("John Smith"), what="overdue")
        overdue = customers.get_component_rich_style("customer-list--sla-overdue")
        assert overdue.color is not None
        header = app.inbox.query_one("#customer-header", Static)
        await wait_for(pilot, lambda: "⧖ vip: reply by" in str(header.render()), what="header")
        assert "13:36" in str(header.render())  # 09:36 UTC in Baku

        bar = app.screen.query_one(ViewBar)
        await wait_for(pilot, lambda: any(v.id == "sla" for v in bar.views), what="SLA view")
        app.inbox.action_show_view("sla")
        await wait_for(pilot, lambda: customers.view.id == "sla" and customers.loaded)
        await wait_for(pilot, lambda: customers.total == 1, what="one breaching customer")
        assert "John Smith" in list_text(app)
        assert "Əli" not in list_text(app)

        # 12:10: everyone's first response is due within the hour (13:0x), John's is 2.5 h
        # late. Most overdue first, then the soonest due: Əli (13:02) before Reza (13:04),
        # who wrote after him.
        now[0] = datetime(2026, 11, 2, 12, 10, tzinfo=UTC)  # no store change: the clock
        await wait_for(pilot, lambda: customers.total == 4, what="four breaching customers")
        names = ("John Smith", "Ayşe Yılmaz", "Əli Məmmədov", "Reza Ahmadi")
        at = [list_text(app).find(name) for name in names]
        assert -1 not in at and at == sorted(at), list_text(app)
