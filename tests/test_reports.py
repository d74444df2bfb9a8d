"""Reports (issue 9) over a small history with chosen times, every figure worked out by hand.

The week of Monday 2025-11-03 (UTC), eight conversations, each its own customer:

  C1 email     in Mon 09:00, aysel 09:30, resolved 10:00 (aysel)          tag billing
  C2 telegram  in Mon 10:00, aysel 11:30, in 11:45, aysel 12:00, resolved Tue 10:00
  C3 webchat   in Tue 08:00, rauf 08:10, resolved 09:00, customer Wed 09:00 reopens,
               resolved Wed 10:00 (rauf)                                 tag billing
  C4 email     in Fri 10-24 09:00, rauf 10:00, resolved Sat 10-25 12:00, reopened Mon
               11-03 12:00 (9 days later), resolved 13:00 (rauf)
  C5 phone     call in Wed 14:00 (120 s), rauf calls back 15:00 (300 s), resolved 15:30
  C6 email     in Thu 09:00, never answered (first response due Thu 13:00)
  C7 telegram  in Fri 09:00, the bot answers twice, resolved 09:20 by nobody
  C8 webchat   in Sat 10:00, bot answers once, hands off 10:05, aysel 10:40, still open

Assigned: C1 C2 C8 to aysel; C3 C4 C5 to rauf. "now" is the end of the week.
Messages go in through inbox.ingest / inbox.log_call; the status history, SLA targets,
surveys and the bot's counters are written with chosen times (the services stamp "now").
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from omnitui import bulk, db, inbox, reports
from omnitui.cli import main
from omnitui.connectors.base import Batch, InboundMessage
from omnitui.db import Conversation, Event
from omnitui.hours import BusinessHours
from omnitui.reads import Reader
from omnitui.reports import AgentRow, BacklogPoint, DayVolume, ReportFilter

MON = datetime(2025, 11, 3, tzinfo=UTC)
START, END = MON, MON + timedelta(days=7)
NOW = END


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Day 0 is Monday 2025-11-03; negative days are the week(s) before."""
    return MON + timedelta(days=day, hours=hour, minutes=minute)


@dataclass(frozen=True)
class History:
    ids: dict[str, int]
    """C1..C8 -> conversation id."""


_CUSTOMERS = {  # conversation: (channel, account, address)
    "C1": ("email", "mail", "c1@example.az"),
    "C2": ("telegram", "tg", "2002"),
    "C3": ("webchat", "web", "visitor-3"),
    "C4": ("email", "mail", "c4@example.az"),
    "C6": ("email", "mail", "c6@example.az"),
    "C7": ("telegram", "tg", "2007"),
    "C8": ("webchat", "web", "visitor-8"),
}
_MESSAGES = [  # conversation, direction, author, time
    ("C4", "in", "", at(-10, 9)),
    ("C4", "out", "rauf", at(-10, 10)),
    ("C1", "in", "", at(0, 9)),
    ("C1", "out", "aysel", at(0, 9, 30)),
    ("C2", "in", "", at(0, 10)),
    ("C2", "out", "aysel", at(0, 11, 30)),
    ("C2", "in", "", at(0, 11, 45)),
    ("C2", "out", "aysel", at(0, 12)),
    ("C3", "in", "", at(1, 8)),
    ("C3", "out", "rauf", at(1, 8, 10)),
    ("C3", "in", "", at(2, 9)),
    ("C6", "in", "", at(3, 9)),
    ("C7", "in", "", at(4, 9)),
    ("C8", "in", "", at(5, 10)),
    ("C8", "out", "aysel", at(5, 10, 40)),
]


def _status(engine: Engine, conversation_id: int, status: str, when: datetime, agent: str) -> None:
    """inbox._change_status at a chosen time (the service stamps now)."""
    with db.write(engine) as session:
        conv = session.get(Conversation, conversation_id)
        assert conv is not None
        before, conv.status = conv.status, status
        conv.resolved_at = when if status == "resolved" else None
        session.add(conv)
        session.add(
            Event(
                at=when,
                agent=agent or "system",
                kind="status",
                customer_id=conv.customer_id,
                conversation_id=conversation_id,
                before=before,
                after=status if agent else f"{status} (customer wrote)",
            )
        )


def _set(engine: Engine, conversation_id: int, **values: object) -> None:
    with db.write(engine) as session:
        conv = session.get(Conversation, conversation_id)
        assert conv is not None
        for name, value in values.items():
            setattr(conv, name, value)
        session.add(conv)


@pytest.fixture
def history(engine: Engine) -> History:
    batch = []
    for n, (name, direction, author, when) in enumerate(_MESSAGES):
        channel, account, address = _CUSTOMERS[name]
        batch.append(
            InboundMessage(
                account=account,
                channel=channel,
                external_id=f"m{n}",
                address=address,
                body=f"{name} {direction}",
                sent_at=when,
                direction=direction,
                author=author,
            )
        )
    stored = inbox.ingest(engine, Batch(batch))
    ids: dict[str, int] = {}
    for (name, *_rest), ingested in zip(_MESSAGES, stored, strict=True):
        assert ingested.conversation_id is not None
        ids[name] = ingested.conversation_id
    first_call = inbox.log_call(
        engine, None, number="+994 50 123 45 67", direction="in", duration_seconds=120,
        outcome="answered", notes="", agent="rauf", at=at(2, 14),
    )  # fmt: skip
    with db.read(engine) as session:
        call = session.get(db.Message, first_call)
        assert call is not None
        ids["C5"], phone_customer = call.conversation_id, call.customer_id
    inbox.log_call(
        engine, phone_customer, direction="out", duration_seconds=300, outcome="answered",
        notes="", agent="rauf", at=at(2, 15),
    )  # fmt: skip
    for name, agent in (("C1", "aysel"), ("C2", "aysel"), ("C8", "aysel")):
        inbox.assign(engine, ids[name], agent, agent=agent)
    for name in ("C3", "C4", "C5"):
        inbox.assign(engine, ids[name], "rauf", agent="rauf")
    for name in ("C1", "C3"):
        inbox.add_tag(engine, ids[name], "billing", agent="aysel")
    for name, status, when, agent in (
        ("C1", "resolved", at(0, 10), "aysel"),
        ("C2", "resolved", at(1, 10), "aysel"),
        ("C3", "resolved", at(1, 9), "rauf"),
        ("C3", "open", at(2, 9), ""),
        ("C3", "resolved", at(2, 10), "rauf"),
        ("C4", "resolved", at(-9, 12), "rauf"),
        ("C4", "open", at(0, 12), ""),
        ("C4", "resolved", at(0, 13), "rauf"),
        ("C5", "resolved", at(2, 15, 30), "rauf"),
        ("C7", "resolved", at(4, 9, 20), ""),
    ):
        _status(engine, ids[name], status, when, agent)
    _set(engine, ids["C1"], first_response_due_at=at(0, 10), resolution_due_at=at(0, 17))
    _set(engine, ids["C2"], first_response_due_at=at(0, 10, 30), resolution_due_at=at(1, 8))
    _set(engine, ids["C6"], first_response_due_at=at(3, 13), resolution_due_at=at(11, 9))
    _set(engine, ids["C8"], resolution_due_at=at(6, 10))
    _set(engine, ids["C1"], csat_requested_at=at(0, 10), csat_score=5, csat_at=at(0, 11))
    _set(engine, ids["C2"], csat_requested_at=at(1, 10), csat_score=2, csat_at=at(1, 12))
    _set(engine, ids["C3"], csat_requested_at=at(2, 10))
    _set(engine, ids["C5"], csat_requested_at=at(2, 15, 30), csat_score=4, csat_at=at(2, 16))
    _set(engine, ids["C7"], bot_answers=2)
    _set(engine, ids["C8"], bot_answers=1, handed_off_at=at(5, 10, 5))
    return History(ids)


def week(store_url: str, zone: str = "UTC", **chosen: object) -> reports.Report:
    flt = ReportFilter(START, END, **chosen)  # type: ignore[arg-type]
    return reports.compute(store_url, flt, zone=ZoneInfo(zone), now=NOW)


def _channel_of(store_url: str, conversation_id: int) -> str:
    conn = Reader(store_url)._conn()
    row = conn.execute("SELECT channel FROM conversation WHERE id = ?", (conversation_id,))
    return str(row.fetchone()[0])


def test_the_week_in_figures(store_url: str, history: History) -> None:
    # Each conversation keeps the channel it began on (ingest, log_call).
    channels = {name: _channel_of(store_url, c) for name, c in history.ids.items()}
    assert channels == {
        "C1": "email", "C2": "telegram", "C3": "webchat", "C4": "email", "C5": "phone",
        "C6": "email", "C7": "telegram", "C8": "webchat",
    }  # fmt: skip
    report = week(store_url)
    # Opened in the week: every one but C4 (October).
    assert report.opened == 7
    # Resolved in the week (latest resolution): C1 C2 C3 C4 C5 C7.
    assert report.resolved == 6
    # First responses made in the week (seconds from the first customer message):
    # C3 600, C1 1800, C8 2400, C5 3600 (call back), C2 5400; C4's was in October.
    # p50 = 2400; p90 at rank 0.9 * 4 = 3.6: 3600 + 0.6 * (5400 - 3600) = 4680.
    assert report.first_response == reports.Durations(5, 2400.0, 4680.0)
    # Resolution (opening to resolution): C7 1200, C1 3600, C5 5400, C2 86400,
    # C3 93600 (Tue 08:00 - Wed 10:00), C4 878400 (10 d 4 h).
    # p50 at rank 2.5: (5400 + 86400) / 2 = 45900; p90 at 4.5: (93600 + 878400) / 2 = 486000.
    assert report.resolution == reports.Durations(6, 45900.0, 486000.0)
    # FCR: C1 (one reply), C4 (reopened 9 days after), C5 (one call back) = 3 of 6.
    # Not: C2 (two replies), C3 (reopened the next day), C7 (no agent reply).
    assert (report.fcr, report.fcr_rate) == (3, 0.5)
    # Reopened in the week: C3 (Wed), C4 (Mon) = 2 of the 6 resolved.
    assert report.reopened == 2
    assert report.reopen_rate == pytest.approx(2 / 6)
    # Six weeks (over 31 days: read another way, through whole tables): C4 was opened and
    # first answered (3600) in them too. Its resolution of Oct 25 was undone (latest: Nov 3),
    # so still 6 resolved, 3 FCR, and 2 reopenings (C4 Nov 3, C3 Wed).
    longer = reports.compute(
        store_url, ReportFilter(START - timedelta(days=35), END), zone=UTC, now=NOW
    )
    assert (longer.opened, longer.resolved, longer.fcr, longer.reopened) == (8, 6, 3, 2)
    # 600, 1800, 2400, 3600, 3600, 5400: p50 at rank 2.5: (2400 + 3600) / 2 = 3000,
    # p90 at 4.5: (3600 + 5400) / 2 = 4500.
    assert longer.first_response == reports.Durations(6, 3000.0, 4500.0)
    assert longer.calls == report.calls and longer.hour_of_week != report.hour_of_week


def test_backlog_volume_and_hours(store_url: str, history: History) -> None:
    report = week(store_url)
    # Before the week: none open (C4, resolved Sat 10-25, is reopened only on Monday).
    # Then each day: Mon +C1 +C2 -C1, C4 reopened and resolved = 1; Tue +C3 -C3 -C2 = 0;
    # Wed C3 reopened and resolved, +C5 -C5 = 0; Thu +C6 = 1; Fri +C7 -C7 = 1;
    # Sat +C8 = 2; Sun 2.
    days = [MON.date() + timedelta(days=n) for n in range(7)]
    assert report.backlog == tuple(
        BacklogPoint(d, n) for d, n in zip(days, (1, 0, 0, 1, 1, 2, 2), strict=True)
    )
    mon, tue, wed, thu, fri, sat = days[:6]
    assert report.volume == (
        DayVolume(mon, "email", 1, 1),
        DayVolume(mon, "telegram", 1, 2),
        DayVolume(tue, "webchat", 1, 1),
        DayVolume(wed, "phone", 1, 1),  # the inbound call
        DayVolume(wed, "webchat", 0, 1),  # C3's customer writing again
        DayVolume(thu, "email", 1, 1),
        DayVolume(fri, "telegram", 1, 1),
        DayVolume(sat, "webchat", 1, 1),
    )
    assert report.channels == ("email", "phone", "telegram", "webchat")
    # Customer messages by weekday and hour (UTC): nine.
    expected = {(0, 9): 1, (0, 10): 1, (0, 11): 1, (1, 8): 1, (2, 9): 1, (2, 14): 1,
                (3, 9): 1, (4, 9): 1, (5, 10): 1}  # fmt: skip
    assert _cells(report.hour_of_week) == expected
    # The same from the messages (a filter that keeps everything: the quarter-hour counts
    # serve only the unfiltered report), sorted, and counted one hour of one channel at a
    # time (as over a year of a big store).
    every = ("email", "phone", "telegram", "webchat")
    by_sort = week(store_url, channels=every)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reports, "SORT_ROWS_PER_RANGE", 0)
        by_range = week(store_url, channels=every)
        kolkata_by_range = _cells(week(store_url, "Asia/Kolkata", channels=every).hour_of_week)
    for raw in (by_sort, by_range):
        assert (raw.volume, raw.hour_of_week) == (report.volume, report.hour_of_week)
        assert (raw.agents, raw.backlog) == (report.agents, report.backlog)
    # In Baku (UTC+4) every one is four hours later.
    baku = week(store_url, "Asia/Baku")
    assert _cells(baku.hour_of_week) == {(d, h + 4): n for (d, h), n in expected.items()}
    # In Kolkata (UTC+5:30) Mon 11:45 UTC is 17:15, Mon 09:00 is 14:30: hours, not UTC + 5.
    kolkata = _cells(week(store_url, "Asia/Kolkata").hour_of_week)
    assert kolkata == {(0, 14): 1, (0, 15): 1, (0, 17): 1, (1, 13): 1, (2, 14): 1, (2, 19): 1,
                       (3, 14): 1, (4, 14): 1, (5, 15): 1}  # fmt: skip
    assert kolkata_by_range == kolkata


def _cells(matrix: tuple[tuple[int, ...], ...]) -> dict[tuple[int, int], int]:
    assert len(matrix) == 7 and all(len(row) == 24 for row in matrix)
    return {(d, h): n for d, row in enumerate(matrix) for h, n in enumerate(row) if n}


def test_agents_satisfaction_sla_bot_and_calls(store_url: str, history: History) -> None:
    report = week(store_url)
    # aysel: replies C1 09:30, C2 11:30 and 12:00, C8 10:40 = 4; resolved C1 C2; first
    # responses 1800 (C1), 5400 (C2), 2400 (C8): median 2400.
    # rauf: replies C3 08:10 and the call back = 2 (C4's was in October); resolved C3 (twice,
    # one conversation), C4, C5 = 3; first responses 600, 3600: median 2100.
    assert report.agents == (AgentRow("aysel", 4, 2, 2400.0), AgentRow("rauf", 2, 3, 2100.0))
    # Surveys sent in the week: C1 (5), C2 (2), C3 (no answer), C5 (4): 11 / 3, 3 of 4.
    assert report.csat == reports.Csat(4, 3, 3.667, 0.75)
    # First response due in the week: C1 (met), C2 (10:30, answered 11:30), C6 (never);
    # resolution due: C1 (met), C2 (Tue 08:00, resolved 10:00), C8 (Sun 10:00, still open).
    assert report.sla == reports.SlaBreaches(3, 2, 3, 2)
    # The bot answered in C7 (2) and C8 (1), handed C8 off; C7 resolved with no agent reply.
    assert report.bot == reports.BotReport(2, 3, 1, 1)
    assert report.calls == reports.PhoneCalls(2, 1, 1, 420)


def test_filters_by_channel_tag_and_agent(store_url: str, history: History) -> None:
    email = week(store_url, channels=("email",))  # C1, C4, C6
    assert (email.opened, email.resolved, email.fcr, email.fcr_rate) == (2, 2, 2, 1.0)
    assert (email.reopened, email.reopen_rate) == (1, 0.5)  # C4
    assert email.first_response == reports.Durations(1, 1800.0, 1800.0)
    billing = week(store_url, tags=("billing",))  # C1, C3
    assert (billing.opened, billing.resolved, billing.fcr) == (2, 2, 1)
    # 600 and 1800: p50 1200, p90 600 + 0.9 * 1200 = 1680.
    assert billing.first_response == reports.Durations(2, 1200.0, 1680.0)
    rauf = week(store_url, agents=("rauf",))  # assigned C3, C4, C5
    assert (rauf.opened, rauf.resolved, rauf.fcr) == (2, 3, 2)
    assert rauf.agents == (AgentRow("rauf", 2, 3, 2100.0),)
    assert rauf.calls == reports.PhoneCalls(2, 1, 1, 420)
    phone = week(store_url, channels=("phone",))
    assert (phone.opened, phone.calls.calls, phone.volume[0].channel) == (1, 2, "phone")
    nobody = week(store_url, channels=("email",), tags=("vip",))
    assert (nobody.opened, nobody.fcr_rate, nobody.first_response.p50) == (0, None, None)


def test_business_hours(store_url: str, history: History) -> None:
    nine_to_five = BusinessHours(zone="UTC", week=(((540, 1020),),) * 5 + ((), ()))
    flt = ReportFilter(START, END, business_hours=True)
    report = reports.compute(store_url, flt, zone=UTC, now=NOW, hours=nine_to_five)
    # First responses in business seconds: C3 (before 09:00) 0, C8 (Saturday) 0, C1 1800,
    # C5 3600, C2 5400: p50 1800, p90 3600 + 0.6 * 1800 = 4680.
    assert report.first_response == reports.Durations(5, 1800.0, 4680.0)
    # Resolution: C7 1200, C1 3600, C5 5400, C2 7 h + 1 h = 28800, C3 8 h + 1 h = 32400,
    # C4 Fri 8 h + 5 * 8 h + Mon 4 h = 187200. p50 (5400 + 28800) / 2 = 17100,
    # p90 (32400 + 187200) / 2 = 109800.
    assert report.resolution == reports.Durations(6, 17100.0, 109800.0)
    with pytest.raises(reports.ReportError):
        reports.compute(store_url, flt, zone=UTC, now=NOW)


def test_period_in_the_agents_days() -> None:
    baku = ZoneInfo("Asia/Baku")
    now = datetime(2025, 11, 9, 21, 30, tzinfo=UTC)  # Monday 01:30 in Baku
    start, end = reports.period(None, None, zone=baku, now=now)
    assert (start, end) == (
        datetime(2025, 11, 3, 20, tzinfo=UTC),
        datetime(2025, 11, 10, 20, tzinfo=UTC),
    )
    with pytest.raises(reports.ReportError):
        reports.period(MON.date(), MON.date() - timedelta(days=1), zone=baku, now=now)


def test_a_split_or_a_reply_opens_a_conversation_of_its_channel(
    store_url: str, engine: Engine
) -> None:
    tg = InboundMessage(
        account="tg", channel="telegram", external_id="t1", address="3003", body="hi", sent_at=MON
    )
    first, second = inbox.ingest(
        engine, Batch([tg, replace(tg, external_id="t2", sent_at=MON + timedelta(minutes=1))])
    )
    assert second.message_id is not None and first.conversation_id is not None
    inbox.move_message(engine, second.message_id, None, agent="aysel")  # split
    with db.read(engine) as session:
        moved = session.get(db.Message, second.message_id)
        assert moved is not None and moved.conversation_id != first.conversation_id
        split = moved.conversation_id
    assert _channel_of(store_url, split) == "telegram"
    # A conversation made by a note has no channel until the first reply gives it one.
    _status(engine, split, "resolved", MON + timedelta(hours=1), "aysel")
    _status(engine, first.conversation_id, "resolved", MON + timedelta(hours=1), "aysel")
    with db.write(engine) as session:
        made = Conversation(customer_id=first.customer_id, status="open")
        session.add(made)
        session.flush()
        assert made.id is not None and made.channel == ""
        newest = made.id
    inbox.queue_reply(engine, first.customer_id, "hello again", agent="aysel")
    assert _channel_of(store_url, newest) == "telegram"


def test_the_demo_fill_gives_each_conversation_its_first_channel(tmp_path: Path) -> None:
    url = db.sqlite_url(tmp_path / "demo.db")
    db.upgrade(url)
    bulk.fill_demo(url, customers=20, messages=200, seed=3, now=NOW)
    conn = Reader(url)._conn()
    wrong = conn.execute(
        "SELECT count(*) FROM conversation c WHERE c.channel <> (SELECT m.channel FROM "
        "message m WHERE m.conversation_id = c.id AND m.channel <> '' ORDER BY m.id LIMIT 1)"
    ).fetchone()[0]
    assert wrong == 0
    assert conn.execute("SELECT count(*) FROM conversation WHERE channel = ''").fetchone()[0] == 0


def _cli(store_url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "aysel"\ntimezone = "UTC"\n')
    result = CliRunner().invoke(
        main,
        ["--data-dir", str(tmp_path), "--db", store_url, "--config", str(config), "report", *args],
    )
    return result.exit_code, result.stdout, result.stderr


def test_the_report_command(store_url: str, history: History, tmp_path: Path) -> None:
    week_days = ("--from", "2025-11-03", "--to", "2025-11-09")
    code, out, err = _cli(store_url, tmp_path, *week_days, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["period"] == {
        "from": "2025-11-03", "to": "2025-11-09", "start": "2025-11-03T00:00:00Z",
        "end": "2025-11-10T00:00:00Z", "zone": "UTC",
    }  # fmt: skip
    assert data["conversations"] == {
        "opened": 7, "resolved": 6, "reopened": 2, "reopen_rate": 2 / 6, "fcr": 3, "fcr_rate": 0.5,
    }  # fmt: skip
    assert data["first_response"] == {"count": 5, "p50": 2400.0, "p90": 4680.0}
    assert data["agents"][0] == {
        "agent": "aysel", "replies": 4, "resolved": 2, "first_response_p50": 2400.0,
    }  # fmt: skip
    assert data["calls"] == {"calls": 2, "inbound": 1, "outbound": 1, "seconds": 420}
    code, out, err = _cli(store_url, tmp_path, *week_days, "--csv", "--channel", "email")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["section", "key", "value"]
    assert ["conversations", "opened", "2"] in rows
    assert ["filter", "channels", "email"] in rows
    assert ["volume", "2025-11-03", "email", "1", "1"] in rows
    assert ["hour_of_week", "thu", *["1" if h == 9 else "0" for h in range(24)]] in rows
    code, out, err = _cli(store_url, tmp_path, *week_days)
    assert code == 0, err
    assert "first-contact resolution" in out and "3 (50%)" in out
    code, out, err = _cli(store_url, tmp_path, "--from", "2025-11-09", "--to", "2025-11-03")
    assert code == 2 and "after it ends" in err
    code, out, err = _cli(store_url, tmp_path, "--from", "3 Nov")
    assert code == 2 and "YYYY-MM-DD" in err
