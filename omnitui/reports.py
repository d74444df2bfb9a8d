"""Service insights (issue 9): the measures of a period, computed in SQL over the store.

One ``compute`` for the ``omnitui report`` command and the TUI's report screen, so both
show the same numbers. Reads go through a reads.Reader's connection (plain sqlite3 or
omnitui/pg.py), the same SQL for both stores. The definitions are in the README's
"Reports" section; each field's docstring repeats it in one line.

Must not import SQLAlchemy, SQLModel, Textual or any connector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

from omnitui.formatting import digits, number
from omnitui.i18n import _

if TYPE_CHECKING:
    from omnitui.reads import Reader

FCR_REOPEN_DAYS = 7
"""A conversation reopened within this many days of being resolved was not resolved at
first contact."""

WEEKDAYS = 7
HOURS = 24
SORT_ROWS_PER_RANGE = 8
"""SQLite counts a period's customer messages by sorting them up to this many a range
(an hour of a channel); past it, with a count of each range (Reports, README)."""
SCAN_AFTER = timedelta(days=31)
"""Periods longer than this read the conversations whole rather than through an index."""


class WorkingTime(Protocol):
    """What business-hour durations need (omnitui/hours.py's BusinessHours is one)."""

    def seconds_between(self, start: datetime, end: datetime) -> float: ...

    def seconds_between_stamps(self, start: float, end: float) -> float: ...


class ReportError(Exception):
    """A report cannot be made as asked (the period ends before it starts): one line."""


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """What a report covers: the period [start, end) and, when given, only conversations
    that began on one of ``channels``, carry one of ``tags``, or are assigned to one of
    ``agents``. ``business_hours``: durations count only the configured business hours."""

    start: datetime
    end: datetime
    channels: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    business_hours: bool = False


@dataclass(frozen=True, slots=True)
class Durations:
    """How long something took, over ``count`` conversations: the median and the 90th
    percentile in seconds (None when there were none)."""

    count: int
    p50: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class DayVolume:
    """One day (in the report's zone) of one channel: conversations begun on it and
    customer messages that came on it (phone calls included)."""

    day: date
    channel: str
    opened: int
    inbound: int


@dataclass(frozen=True, slots=True)
class BacklogPoint:
    """Conversations not resolved at the end of ``day`` (in the report's zone)."""

    day: date
    open: int


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One agent's part in the period: replies written, conversations resolved, and the
    median of the first response times of the conversations they answered first."""

    agent: str
    replies: int
    resolved: int
    first_response_p50: float | None


@dataclass(frozen=True, slots=True)
class Csat:
    """Satisfaction over surveys sent in the period: the average score (1 to 5) and the
    share of surveys answered."""

    requested: int
    answered: int
    average: float | None
    response_rate: float | None


@dataclass(frozen=True, slots=True)
class SlaBreaches:
    """Conversations with an SLA target in the period (``*_targets``) and those that
    missed it (answered or resolved after the due time, or still not by now)."""

    first_response_targets: int
    first_response_breaches: int
    resolution_targets: int
    resolution_breaches: int


@dataclass(frozen=True, slots=True)
class BotReport:
    """The FAQ bot over conversations opened in the period: conversations it answered
    in (``answered``, with ``answers`` answers in all), handed to the agents, and resolved
    without any agent reply."""

    answered: int
    answers: int
    handed_off: int
    resolved_without_agent: int


@dataclass(frozen=True, slots=True)
class PhoneCalls:
    """Phone calls logged in the period (messages of kind "call"), by direction, and
    their total length in seconds."""

    calls: int
    inbound: int
    outbound: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Report:
    """Every measure of one period (see ReportFilter); rates are 0..1 or None when there
    was nothing to divide by."""

    filter: ReportFilter
    zone: str
    """The zone days and hours of the week are counted in (its name)."""
    opened: int
    """Conversations opened in the period."""
    resolved: int
    """Conversations resolved in the period (their latest resolution falls in it)."""
    first_response: Durations
    """From the customer's first message to the first agent reply, over first replies
    made in the period."""
    resolution: Durations
    """From opening to resolution, over conversations resolved in the period."""
    fcr: int
    """Resolved conversations (of ``resolved``) with exactly one agent reply and not
    reopened within FCR_REOPEN_DAYS of being resolved."""
    fcr_rate: float | None
    reopened: int
    """Conversations reopened in the period (a resolved one opened again)."""
    reopen_rate: float | None
    """``reopened`` over ``resolved``."""
    backlog: tuple[BacklogPoint, ...]
    volume: tuple[DayVolume, ...]
    """By day, then channel; days and channels without anything are left out."""
    hour_of_week: tuple[tuple[int, ...], ...]
    """7 rows (Monday first) of 24 hours: customer messages received (calls included)."""
    agents: tuple[AgentRow, ...]
    csat: Csat
    sla: SlaBreaches
    bot: BotReport
    calls: PhoneCalls
    channels: tuple[str, ...] = field(default=())
    """Every channel seen in ``volume``, sorted (the columns of a volume table)."""
    tz: tzinfo | None = field(default=None, compare=False)
    """The zone itself (``zone`` is its name; a zone without an IANA key has none)."""


def compute(
    source: Reader | str,
    flt: ReportFilter,
    *,
    zone: tzinfo,
    now: datetime,
    hours: WorkingTime | None = None,
) -> Report:
    """The report for ``flt`` over the store ``source`` (a Reader or a store URL), days and
    hours counted in ``zone``; ``now`` is when still-open conversations are measured to
    (SLA breaches, backlog of today). ``flt.business_hours`` counts durations with
    ``hours`` (the config's [business_hours]); raises ReportError when the filter makes
    no sense (the period ends before it starts, business hours without ``hours``)."""
    if flt.end <= flt.start:
        raise ReportError(_("the period ends before it starts"))
    if flt.business_hours and hours is None:
        raise ReportError(_("business hours asked for, but the config has no [business_hours]"))
    if isinstance(source, str):
        from omnitui.reads import Reader

        source = Reader(source)
    query = _Query(source.postgresql, flt, now, _minute_shift(zone, flt.start))
    with source._snapshot() as conn:  # one state of the store for every measure
        return _Measure(conn, query, zone, now, hours if flt.business_hours else None).report()


def period(
    first: date | None, last: date | None, *, zone: tzinfo, now: datetime, days: int = 7
) -> tuple[datetime, datetime]:
    """The period from the start of day ``first`` to the end of day ``last`` in ``zone``
    (both included), as [start, end) in UTC. Defaults: ``last`` today, ``first`` ``days``
    days back including today. Raises ReportError when ``first`` is after ``last``."""
    last = last or now.astimezone(zone).date()
    first = first or last - timedelta(days=days - 1)
    if first > last:
        raise ReportError(
            _("the period starts ({first}) after it ends ({last})").format(
                first=first.isoformat(), last=last.isoformat()
            )
        )
    return _midnight(first, zone), _midnight(last + timedelta(days=1), zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def zone_name(zone: tzinfo) -> str:
    """A zone as people write it: its IANA key ("Asia/Baku") when it has one."""
    key = getattr(zone, "key", None)
    return str(key) if key else str(zone)


# ---------------------------------------------------------------------------
# SQL: written once for both stores; the few differences are chosen here.


def _minute_shift(zone: tzinfo, at: datetime) -> int:
    """The minutes past the hour of ``zone``'s offset (30 for Asia/Kolkata, 0 for most):
    hours are counted in SQL on UTC shifted by it, so that each lands in one local hour."""
    offset = at.astimezone(zone).utcoffset() or timedelta()
    return int(offset.total_seconds() // 60) % 60


@dataclass(frozen=True, slots=True)
class _Query:
    """The period, the scope's SQL and parameters, and the dialect's expressions."""

    postgresql: bool
    flt: ReportFilter
    now: datetime
    shift: int
    params: dict[str, object] = field(default_factory=dict)
    scope: str = ""

    def __post_init__(self) -> None:
        from omnitui.reads import stamp

        params: dict[str, object] = {
            "start": stamp(self.flt.start),
            "end": stamp(self.flt.end),
            "now": stamp(self.now),
        }
        terms = []
        if self.flt.channels:
            terms.append(f"c.channel IN ({_names('ch', self.flt.channels, params)})")
        if self.flt.tags:
            terms.append(
                "EXISTS (SELECT 1 FROM conversationtag t WHERE t.conversation_id = c.id "
                f"AND t.tag IN ({_names('tag', self.flt.tags, params)}))"
            )
        if self.flt.agents:
            terms.append(f"c.assignee IN ({_names('ag', self.flt.agents, params)})")
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "scope", "".join(f" AND {term}" for term in terms))

    def within(self, column: str) -> str:
        """``column`` falls in the period."""
        return f"{column} >= :start AND {column} < :end"

    def spanning(self, column: str) -> str:
        """``within`` for a conversation's time: on SQLite, over a long period, with the
        column's index turned off (unary +), since reading the whole table in order beats
        looking most of its rows up one by one (SQLite's planner takes the index)."""
        if self.postgresql or self.flt.end - self.flt.start <= SCAN_AFTER:
            return self.within(column)
        return f"+{column} >= :start AND +{column} < :end"

    def in_scope(self, row: str) -> str:
        """A message's or event's scope term (none without filters): its conversation among
        those in scope, a set made once for the query (not a join and the filter's
        lookups for every message)."""
        if not self.scope:
            return ""
        return (
            f" AND {row}.conversation_id IN "
            f"(SELECT c.id FROM conversation c WHERE 1 = 1{self.scope})"
        )

    def hour(self, column: str) -> str:
        """The UTC hour (shifted, see _minute_shift) of ``column``: text that starts with
        'YYYY-MM-DD HH' (PostgreSQL's is the whole time: date_trunc is ~3x faster than
        to_char; the session is in UTC)."""
        if self.postgresql:
            return f"date_trunc('hour', {column} + interval '{self.shift} minutes')"
        if self.shift:
            return f"strftime('%Y-%m-%d %H', {column}, '+{self.shift} minutes')"
        return f"substr({column}, 1, 13)"

    def epoch(self, column: str) -> str:
        """``column`` as POSIX seconds (a float: business hours count from it)."""
        if self.postgresql:
            return f"CAST(EXTRACT(EPOCH FROM {column}) AS double precision)"
        return f"(julianday({column}) - 2440587.5) * 86400.0"

    def seconds(self, start: str, end: str) -> str:
        """The seconds from ``start`` to ``end``."""
        if self.postgresql:
            return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS double precision)"
        return f"(julianday({end}) - julianday({start})) * 86400.0"


def _names(prefix: str, values: tuple[str, ...], params: dict[str, object]) -> str:
    """``:prefix0, :prefix1, ...`` for an IN list, the values put in ``params``."""
    names = []
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
        names.append(f":{prefix}{i}")
    return ", ".join(names)


_CUSTOMER_CONTACT = "m.direction = 'in' AND m.kind IN ('', 'call')"
"""A message from the customer: what they wrote, or a call they made (not a survey rating)."""
_RESOLVE = "{e}.kind = 'status' AND {e}.after LIKE 'resolved%' AND {e}.before <> 'resolved'"
_REOPEN = "{e}.kind = 'status' AND {e}.before = 'resolved' AND {e}.after NOT LIKE 'resolved%'"
"""Status events; ``after`` may carry why ("open (customer wrote)")."""


class _Measure:
    """The queries of one report, over one snapshot."""

    def __init__(
        self, conn: Any, query: _Query, zone: tzinfo, now: datetime, hours: WorkingTime | None
    ) -> None:
        self.conn = conn
        self.q = query
        self.zone = zone
        self.now = now
        self.hours = hours
        self._local: dict[str, datetime] = {}
        self._channels: tuple[str, ...] = ()

    def rows(self, sql: str) -> list[Any]:
        return list(self.conn.execute(sql, self.q.params).fetchall())

    def one(self, sql: str) -> Any:
        return self.conn.execute(sql, self.q.params).fetchone()

    def local(self, bucket: str) -> datetime:
        """A bucket from ``_Query.hour`` as the local time its hour starts."""
        found = self._local.get(bucket)
        if found is None:
            utc = datetime.strptime(bucket[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)
            found = (utc - timedelta(minutes=self.q.shift)).astimezone(self.zone)
            self._local[bucket] = found
        return found

    def report(self) -> Report:
        q = self.q
        opened = self.opened()
        resolved_by_hour = self.rows(
            f"SELECT {q.hour('c.resolved_at')}, count(*) FROM conversation c "
            f"WHERE {q.within('c.resolved_at')}{q.scope} GROUP BY 1"
        )
        resolved = sum(int(n) for _h, n in resolved_by_hour)
        reopened = int(
            self.one(
                "SELECT count(DISTINCT e.conversation_id) FROM event e "
                f"WHERE {_REOPEN.format(e='e')} AND {q.within('e.at')}{q.in_scope('e')}"
            )[0]
        )
        fcr = self.first_contact_resolutions()
        first_response, firsts_by_agent = self.first_responses()
        messages = self.messages(sum(opened.by_hour.values()))
        agents = self.agents(messages.replies, firsts_by_agent)
        volume, channels = self.volume(opened.by_hour, messages.inbound)
        return Report(
            filter=q.flt,
            zone=zone_name(self.zone),
            opened=sum(opened.by_hour.values()),
            resolved=resolved,
            first_response=first_response,
            resolution=self.resolution_times(),
            fcr=fcr,
            fcr_rate=_rate(fcr, resolved),
            reopened=reopened,
            reopen_rate=_rate(reopened, resolved),
            backlog=self.backlog(opened.by_hour, resolved_by_hour),
            volume=volume,
            hour_of_week=self.hour_of_week(messages.inbound),
            agents=agents,
            csat=self.csat(),
            sla=self.sla(),
            bot=BotReport(
                answered=opened.bot_answered,
                answers=opened.bot_answers,
                handed_off=opened.handed_off,
                resolved_without_agent=opened.bot_resolved,
            ),
            calls=self.calls(),
            channels=channels,
            tz=self.zone,
        )

    def channel_sums(self, column: str, weight: str = "1") -> tuple[tuple[str, ...], str]:
        """The channels there may be, and SQL that counts the rows of each of them
        (``column`` = channel): grouping by the hour alone and counting channels in
        columns spares SQLite sorting every row by hour and channel."""
        if not self._channels:
            rows = self.conn.execute(
                "SELECT DISTINCT channel FROM identity UNION SELECT channel FROM "
                "(SELECT channel FROM message WHERE channel = 'phone' LIMIT 1) phone"
            )  # a call logged without a number has no phone identity
            self._channels = tuple(sorted(str(r[0]) for r in rows))
            for i, channel in enumerate(self._channels):
                self.q.params[f"vc{i}"] = channel
        sums = "".join(
            f", sum(CASE WHEN {column} = :vc{i} THEN {weight} ELSE 0 END)"
            for i in range(len(self._channels))
        )
        return self._channels, sums

    def by_channel(
        self, into: dict[tuple[str, str], int], bucket: str, total: int, counts: Any
    ) -> None:
        """Add one hour's counts by channel (``channel_sums``' columns) to ``into``; the
        rest (a channel no identity has, a conversation with none yet) is "other"."""
        counted = 0
        for channel, count in zip(self._channels, counts, strict=True):
            if count:
                into[bucket, channel] = into.get((bucket, channel), 0) + int(count)
                counted += int(count)
        if total > counted:
            into[bucket, "other"] = into.get((bucket, "other"), 0) + total - counted

    def opened(self) -> _Opened:
        q = self.q
        _channels, sums = self.channel_sums("c.channel")
        rows = self.rows(
            f"SELECT {q.hour('c.opened_at')}, count(*){sums} "
            f"FROM conversation c WHERE {q.spanning('c.opened_at')}{q.scope} GROUP BY 1"
        )
        found = _Opened({}, 0, 0, 0, 0)
        for bucket, total, *counts in rows:
            self.by_channel(found.by_hour, str(bucket), int(total), counts)
        answered, answers, handed_off, resolved = self.one(
            "SELECT sum(CASE WHEN c.bot_answers > 0 THEN 1 ELSE 0 END), sum(c.bot_answers), "
            "sum(CASE WHEN c.handed_off_at IS NOT NULL THEN 1 ELSE 0 END), "
            "sum(CASE WHEN c.bot_answers > 0 AND c.resolved_at IS NOT NULL "
            "AND c.agent_replies = 0 THEN 1 ELSE 0 END) "
            f"FROM conversation c WHERE {q.spanning('c.opened_at')}{q.scope} "
            "AND (c.bot_answers > 0 OR c.handed_off_at IS NOT NULL)"
        )
        found.bot_answered = int(answered or 0)
        found.bot_answers = int(answers or 0)
        found.handed_off = int(handed_off or 0)
        found.bot_resolved = int(resolved or 0)
        return found

    def first_contact_resolutions(self) -> int:
        """Resolved in the period with exactly one agent reply and no reopening within
        FCR_REOPEN_DAYS of a resolution."""
        q = self.q
        window = FCR_REOPEN_DAYS * 86_400
        row = self.one(
            "SELECT count(*) FROM conversation c "
            f"WHERE {q.spanning('c.resolved_at')}{q.scope} AND c.agent_replies = 1 "
            # Reopenings are few: the conversations reopened soon after a resolution are
            # found once, from them.
            "AND c.id NOT IN (SELECT r.conversation_id FROM event r JOIN event s "
            "ON s.conversation_id = r.conversation_id AND s.at < r.at "
            f"WHERE {_REOPEN.format(e='r')} AND {_RESOLVE.format(e='s')} "
            f"AND {q.seconds('s.at', 'r.at')} <= {window})"
        )
        return int(row[0])

    def first_responses(self) -> tuple[Durations, dict[str, list[float]]]:
        """From the customer's first message to the first reply, over first replies made
        in the period; and those seconds by the agent who wrote the reply."""
        q = self.q
        # Who answered first is kept on the conversation (first_responder, by the store's
        # triggers): no message is read.
        where = (
            f"FROM conversation c WHERE {q.spanning('c.first_response_at')}{q.scope} "
            "AND c.first_inbound_at IS NOT NULL AND c.first_inbound_at <= c.first_response_at"
        )
        pairs: list[tuple[float, str]]
        if self.hours is None:
            seconds = q.seconds("c.first_inbound_at", "c.first_response_at")
            pairs = [
                (round(float(took), 3), str(author))
                for took, author in self.rows(f"SELECT {seconds}, c.first_responder {where}")
            ]
        else:
            pairs = [
                (self.business(start, end), str(author))
                for start, end, author in self.rows(
                    f"SELECT {q.epoch('c.first_inbound_at')}, {q.epoch('c.first_response_at')}, "
                    f"c.first_responder {where}"
                )
            ]
        by_agent: dict[str, list[float]] = {}
        for took, agent in pairs:
            if agent:
                by_agent.setdefault(agent, []).append(took)
        return _durations([took for took, _a in pairs]), by_agent

    def resolution_times(self) -> Durations:
        q = self.q
        where = f"FROM conversation c WHERE {q.spanning('c.resolved_at')}{q.scope}"
        if self.hours is None:
            rows = self.rows(f"SELECT {q.seconds('c.opened_at', 'c.resolved_at')} " + where)
            return _durations([round(float(s), 3) for (s,) in rows])
        rows = self.rows(f"SELECT {q.epoch('c.opened_at')}, {q.epoch('c.resolved_at')} " + where)
        return _durations([self.business(start, end) for start, end in rows])

    def business(self, start: float, end: float) -> float:
        assert self.hours is not None
        return round(self.hours.seconds_between_stamps(float(start), float(end)), 3)

    def messages(self, opened: int) -> _Messages:
        """The period's messages, read through ix_message_in and ix_message_out: customer
        messages by hour and the channel they came on, agent replies by author."""
        q = self.q
        found = _Messages()
        if not q.scope:
            return self.counted_messages(found)
        channels, sums = self.channel_sums("m.channel")
        ranges = (q.flt.end - q.flt.start).total_seconds() / 3600 * len(channels)
        # PostgreSQL aggregates with a hash. On SQLite, with few messages (a customer
        # writes ~4 times a conversation), sorting them costs less than inbound_by_hour.
        if q.postgresql or opened * 4 < SORT_ROWS_PER_RANGE * ranges:
            for bucket, total, *counts in self.rows(
                f"SELECT {q.hour('m.sent_at')}, count(*){sums} "
                f"FROM message m WHERE m.direction = 'in' AND {q.within('m.sent_at')} "
                f"AND m.kind IN ('', 'call'){q.in_scope('m')} GROUP BY 1"
            ):
                self.by_channel(found.inbound, str(bucket), int(total), counts)
        else:
            self.inbound_by_hour(found.inbound)
        for author, count in self.rows(
            "SELECT m.author, count(*) FROM message m "
            f"WHERE m.direction = 'out' AND {q.within('m.sent_at')} AND m.kind IN ('', 'call')"
            f"{q.in_scope('m')} GROUP BY 1"
        ):
            if author:
                found.replies[str(author)] = found.replies.get(str(author), 0) + int(count)
        return found

    def counted_messages(self, found: _Messages) -> _Messages:
        """``messages`` for the whole store, from the quarter-hour counts the store's
        triggers keep (messagecount): a period starts and ends at a local midnight, on
        a quarter hour in every zone, so the counts are exact."""
        q = self.q
        _channels, sums = self.channel_sums("m.channel", "m.n")
        for bucket, total, *counts in self.rows(
            f"SELECT {q.hour('m.bucket')}, sum(m.n){sums} FROM messagecount m "
            f"WHERE m.direction = 'in' AND {q.within('m.bucket')} GROUP BY 1"
        ):
            self.by_channel(found.inbound, str(bucket), int(total), counts)
        for author, count in self.rows(
            "SELECT m.author, sum(m.n) FROM messagecount m "
            f"WHERE m.direction = 'out' AND {q.within('m.bucket')} GROUP BY 1"
        ):
            if author and count:
                found.replies[str(author)] = int(count)
        return found

    def inbound_by_hour(self, into: dict[tuple[str, str], int]) -> None:
        """Customer messages by hour and channel on SQLite, one count an hour a channel
        (each a range of ix_message_in): SQLite has no hash aggregate, and sorting half a
        million rows by hour costs several times the ~9,000 short ranges of a year."""
        from omnitui.reads import parse_stamp, stamp

        q = self.q
        channels, _sums = self.channel_sums("m.channel")
        shift = timedelta(minutes=q.shift)
        start = q.flt.start.astimezone(UTC) + shift
        first = start.replace(minute=0, second=0, microsecond=0) - shift
        q.params["first_hour"] = stamp(first)
        step = "strftime('%Y-%m-%d %H:%M:%S.000000', {}, '+{} hour')"
        counts = "".join(
            ", (SELECT count(*) FROM message m WHERE m.direction = 'in' "
            f"AND m.channel = :vc{i} AND m.sent_at >= lo AND m.sent_at < hi "
            f"AND m.kind IN ('', 'call'){q.in_scope('m')})"
            for i in range(len(channels))
        )
        rows = self.rows(
            "WITH RECURSIVE hours(h, lo, hi) AS ("
            f"SELECT :first_hour, :start, min({step.format(':first_hour', 1)}, :end) "
            f"UNION ALL SELECT {step.format('h', 1)}, {step.format('h', 1)}, "
            f"min({step.format('h', 2)}, :end) FROM hours WHERE hi < :end) "
            f"SELECT h{counts} FROM hours"
        )
        for hour, *by_channel in rows:
            bucket = (parse_stamp(str(hour)) + shift).strftime("%Y-%m-%d %H")
            for channel, count in zip(channels, by_channel, strict=True):
                if count:
                    into[bucket, channel] = into.get((bucket, channel), 0) + int(count)

    def agents(
        self, replies: dict[str, int], firsts: dict[str, list[float]]
    ) -> tuple[AgentRow, ...]:
        q = self.q
        resolved = {
            str(agent): int(n)
            for agent, n in self.rows(
                "SELECT e.agent, count(DISTINCT e.conversation_id) FROM event e "
                f"WHERE {_RESOLVE.format(e='e')} AND {q.within('e.at')}{q.in_scope('e')} "
                "AND e.agent NOT IN ('', 'system') GROUP BY e.agent"
            )
        }
        names = sorted({*replies, *resolved, *firsts})
        return tuple(
            AgentRow(
                agent=name,
                replies=replies.get(name, 0),
                resolved=resolved.get(name, 0),
                first_response_p50=_durations(firsts.get(name, [])).p50,
            )
            for name in names
        )

    def volume(
        self, opened: dict[tuple[str, str], int], inbound: dict[tuple[str, str], int]
    ) -> tuple[tuple[DayVolume, ...], tuple[str, ...]]:
        days: dict[tuple[date, str], list[int]] = {}
        for (bucket, channel), n in opened.items():
            days.setdefault((self.local(bucket).date(), channel), [0, 0])[0] += n
        for (bucket, channel), n in inbound.items():
            days.setdefault((self.local(bucket).date(), channel), [0, 0])[1] += n
        rows = tuple(
            DayVolume(day=day, channel=channel, opened=counts[0], inbound=counts[1])
            for (day, channel), counts in sorted(days.items())
        )
        return rows, tuple(sorted({channel for _day, channel in days}))

    def hour_of_week(self, inbound: dict[tuple[str, str], int]) -> tuple[tuple[int, ...], ...]:
        matrix = [[0] * HOURS for _day in range(WEEKDAYS)]
        for (bucket, _channel), n in inbound.items():
            at = self.local(bucket)
            matrix[at.weekday()][at.hour] += n
        return tuple(tuple(row) for row in matrix)

    def backlog(
        self, opened: dict[tuple[str, str], int], resolved: list[Any]
    ) -> tuple[BacklogPoint, ...]:
        """Conversations opened and not (yet) resolved at the end of each day of the
        period (today: now), from the count before the period and the hours in it. A
        conversation counts as resolved up to its latest resolution; one resolved before
        and reopened later was also closed in between (from the status events)."""
        from omnitui.reads import parse_stamp

        q = self.q
        before = self.one(  # two counts, each from its index alone when nothing is filtered
            f"SELECT (SELECT count(*) FROM conversation c WHERE c.opened_at < :start{q.scope}), "
            f"(SELECT count(*) FROM conversation c WHERE c.resolved_at < :start{q.scope})"
        )
        change: dict[date, int] = {}
        for (bucket, _channel), n in opened.items():
            day = self.local(bucket).date()
            change[day] = change.get(day, 0) + n
        for bucket, n in resolved:
            day = self.local(str(bucket)).date()
            change[day] = change.get(day, 0) - int(n)
        level = int(before[0] or 0) - int(before[1] or 0)
        for resolved_at, reopened_at in self.rows(
            "SELECT (SELECT max(s.at) FROM event s WHERE s.conversation_id = r.conversation_id "
            f"AND {_RESOLVE.format(e='s')} AND s.at < r.at), r.at FROM event r "
            f"WHERE {_REOPEN.format(e='r')} AND r.at >= :start{q.in_scope('r')}"
        ):
            if resolved_at is None:
                continue
            closed, reopened = parse_stamp(str(resolved_at)), parse_stamp(str(reopened_at))
            if closed >= q.flt.end:
                continue
            if closed < q.flt.start:
                level -= 1
            else:
                day = closed.astimezone(self.zone).date()
                change[day] = change.get(day, 0) - 1
            if reopened < q.flt.end:
                day = reopened.astimezone(self.zone).date()
                change[day] = change.get(day, 0) + 1
        points = []
        day = q.flt.start.astimezone(self.zone).date()
        while _midnight(day, self.zone) < min(q.flt.end, self.now):
            level += change.get(day, 0)
            points.append(BacklogPoint(day=day, open=level))
            day += timedelta(days=1)
        return tuple(points)

    def csat(self) -> Csat:
        q = self.q
        requested, answered, total = self.one(
            "SELECT count(*), count(c.csat_score), sum(c.csat_score) FROM conversation c "
            f"WHERE {q.spanning('c.csat_requested_at')}{q.scope}"
        )
        answered = int(answered)
        return Csat(
            requested=int(requested),
            answered=answered,
            average=round(int(total) / answered, 3) if answered else None,
            response_rate=_rate(answered, int(requested)),
        )

    def sla(self) -> SlaBreaches:
        q = self.q
        first_due = q.within("c.first_response_due_at")
        resolution_due = q.within("c.resolution_due_at")
        row = self.one(
            f"SELECT sum(CASE WHEN {first_due} THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN {first_due} AND COALESCE(c.first_response_at, :now) "
            "> c.first_response_due_at THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN {resolution_due} THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN {resolution_due} AND COALESCE(c.resolved_at, :now) "
            "> c.resolution_due_at THEN 1 ELSE 0 END) "
            f"FROM conversation c WHERE (({first_due}) OR ({resolution_due})){q.scope}"
        )
        first, first_missed, resolution, resolution_missed = (int(v or 0) for v in row)
        return SlaBreaches(first, first_missed, resolution, resolution_missed)

    def calls(self) -> PhoneCalls:
        """From the phonecall rows: there are few of them."""
        q = self.q
        found = {
            str(direction): (int(count), int(seconds or 0))
            for direction, count, seconds in self.rows(
                # CROSS JOIN: SQLite starts from the calls, as written.
                "SELECT m.direction, count(*), sum(p.duration_seconds) FROM phonecall p "
                "CROSS JOIN message m WHERE m.id = p.message_id AND m.kind = 'call' "
                f"AND {q.within('m.sent_at')}{q.in_scope('m')} GROUP BY m.direction"
            )
        }
        inbound, outbound = found.get("in", (0, 0)), found.get("out", (0, 0))
        return PhoneCalls(
            calls=inbound[0] + outbound[0],
            inbound=inbound[0],
            outbound=outbound[0],
            seconds=inbound[1] + outbound[1],
        )


@dataclass(slots=True)
class _Opened:
    by_hour: dict[tuple[str, str], int]
    """(hour bucket, channel) -> conversations opened."""
    bot_answered: int
    bot_answers: int
    handed_off: int
    bot_resolved: int


@dataclass(slots=True)
class _Messages:
    inbound: dict[tuple[str, str], int] = field(default_factory=dict)
    """(hour bucket, channel) -> customer messages."""
    replies: dict[str, int] = field(default_factory=dict)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _durations(seconds: list[float]) -> Durations:
    ordered = sorted(seconds)
    return Durations(len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.9))


def percentile(ordered: list[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of sorted values, interpolated between the two nearest
    ranks (PostgreSQL's percentile_cont); None for no values."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 3)


# ---------------------------------------------------------------------------
# Output for scripts: JSON and CSV (the README's "Reports" documents the keys).


def as_json(report: Report) -> dict[str, object]:
    """The report as JSON-ready values with stable keys (documented in the README): times
    ISO 8601 UTC with Z, days YYYY-MM-DD, durations in seconds."""
    flt = report.filter
    first, last = local_days(report)
    return {
        "period": {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "start": _iso(flt.start),
            "end": _iso(flt.end),
            "zone": report.zone,
        },
        "filter": {
            "channels": list(flt.channels),
            "tags": list(flt.tags),
            "agents": list(flt.agents),
            "business_hours": flt.business_hours,
        },
        "conversations": {
            "opened": report.opened,
            "resolved": report.resolved,
            "reopened": report.reopened,
            "reopen_rate": report.reopen_rate,
            "fcr": report.fcr,
            "fcr_rate": report.fcr_rate,
        },
        "first_response": _durations_json(report.first_response),
        "resolution": _durations_json(report.resolution),
        "backlog": [{"day": p.day.isoformat(), "open": p.open} for p in report.backlog],
        "volume": [
            {
                "day": v.day.isoformat(),
                "channel": v.channel,
                "opened": v.opened,
                "inbound": v.inbound,
            }
            for v in report.volume
        ],
        "hour_of_week": [list(row) for row in report.hour_of_week],
        "agents": [
            {
                "agent": a.agent,
                "replies": a.replies,
                "resolved": a.resolved,
                "first_response_p50": a.first_response_p50,
            }
            for a in report.agents
        ],
        "csat": {
            "requested": report.csat.requested,
            "answered": report.csat.answered,
            "average": report.csat.average,
            "response_rate": report.csat.response_rate,
        },
        "sla": {
            "first_response_targets": report.sla.first_response_targets,
            "first_response_breaches": report.sla.first_response_breaches,
            "resolution_targets": report.sla.resolution_targets,
            "resolution_breaches": report.sla.resolution_breaches,
        },
        "bot": {
            "answered": report.bot.answered,
            "answers": report.bot.answers,
            "handed_off": report.bot.handed_off,
            "resolved_without_agent": report.bot.resolved_without_agent,
        },
        "calls": {
            "calls": report.calls.calls,
            "inbound": report.calls.inbound,
            "outbound": report.calls.outbound,
            "seconds": report.calls.seconds,
        },
    }


def local_days(report: Report) -> tuple[date, date]:
    """The first and the last day of the report's period in its zone."""
    from zoneinfo import ZoneInfo

    zone = report.tz or ZoneInfo(report.zone)
    flt = report.filter
    last = (flt.end - timedelta(microseconds=1)).astimezone(zone).date()
    return flt.start.astimezone(zone).date(), last


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _durations_json(durations: Durations) -> dict[str, object]:
    return {"count": durations.count, "p50": durations.p50, "p90": durations.p90}


def csv_rows(report: Report) -> list[list[str]]:
    """The report as CSV rows ``section,key,value[,value...]`` (a header row first), one
    file a spreadsheet opens and a script greps. A table's section starts with a row whose
    key is "columns" naming its columns."""
    data = as_json(report)
    rows: list[list[str]] = [["section", "key", "value"]]
    sections = ("period", "conversations", "first_response", "resolution", "csat", "sla")
    for section in (*sections, "bot", "calls"):
        values = data[section]
        assert isinstance(values, dict)
        rows += [[section, key, _cell(value)] for key, value in values.items()]
    flt = report.filter
    for key, chosen in (("channels", flt.channels), ("tags", flt.tags), ("agents", flt.agents)):
        rows.append(["filter", key, " ".join(chosen)])
    rows.append(["filter", "business_hours", _cell(flt.business_hours)])
    rows.append(["backlog", "columns", "open"])
    rows += [["backlog", p.day.isoformat(), str(p.open)] for p in report.backlog]
    rows.append(["volume", "columns", "channel", "opened", "inbound"])
    rows += [
        ["volume", v.day.isoformat(), v.channel, str(v.opened), str(v.inbound)]
        for v in report.volume
    ]
    rows.append(["hour_of_week", "columns", *(f"{hour:02d}" for hour in range(HOURS))])
    rows += [
        ["hour_of_week", name, *map(str, counts)]
        for name, counts in zip(DAY_KEYS, report.hour_of_week, strict=True)
    ]
    rows.append(["agents", "columns", "replies", "resolved", "first_response_p50"])
    rows += [
        ["agents", a.agent, str(a.replies), str(a.resolved), _cell(a.first_response_p50)]
        for a in report.agents
    ]
    return rows


DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The rows of ``hour_of_week``, Monday first, as the CSV names them."""


def _cell(value: object) -> str:
    """A value as a CSV cell: empty for None, true/false, numbers as Python writes them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------
# For people: the report as titled tables of text (the CLI prints them with Rich).


@dataclass(frozen=True, slots=True)
class Section:
    """One table of a report as people read it: a title, column names, rows of text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def sections(report: Report) -> tuple[Section, ...]:
    """The report as tables of text, in the order a reader wants them: the summary, the
    agents, the FAQ bot, volume by day, backlog, hour of the week. An agent's name is the
    store's (a reply's author is an email's From name): shown through ``text.one_line``."""
    from omnitui.text import one_line

    return (
        Section(_("Summary"), (_("measure"), _("value")), _summary_rows(report)),
        Section(
            _("Agents"),
            (_("agent"), _("replies"), _("resolved"), _("median first response")),
            tuple(
                (
                    one_line(a.agent),
                    number(a.replies),
                    number(a.resolved),
                    duration_text(a.first_response_p50),
                )
                for a in report.agents
            ),
        ),
        Section(
            _("Volume by day"),
            (_("day"), _("channel"), _("opened"), _("customer messages")),
            tuple(
                (v.day.isoformat(), v.channel, number(v.opened), number(v.inbound))
                for v in report.volume
            ),
        ),
        Section(
            _("Backlog (open at the end of the day)"),
            (_("day"), _("open")),
            tuple((p.day.isoformat(), number(p.open)) for p in report.backlog),
        ),
        Section(
            _("Customer messages by hour of the week ({zone})").format(zone=report.zone),
            ("", *(f"{hour:02d}" for hour in range(HOURS))),
            tuple(
                (name, *(number(n) if n else "." for n in counts))
                for name, counts in zip(_day_names(), report.hour_of_week, strict=True)
            ),
        ),
    )


def _summary_rows(report: Report) -> tuple[tuple[str, ...], ...]:
    fr, res, csat, sla, bot, calls = (
        report.first_response, report.resolution, report.csat, report.sla, report.bot,
        report.calls,
    )  # fmt: skip
    return (
        (_("conversations opened"), number(report.opened)),
        (_("conversations resolved"), number(report.resolved)),
        (_("first response p50 / p90"), f"{duration_text(fr.p50)} / {duration_text(fr.p90)}"),
        (_("resolution time p50 / p90"), f"{duration_text(res.p50)} / {duration_text(res.p90)}"),
        (_("first-contact resolution"), _share(report.fcr, report.fcr_rate)),
        (_("reopened"), _share(report.reopened, report.reopen_rate)),
        (_("satisfaction (1-5)"), number(csat.average, 2) if csat.average is not None else "-"),
        (_("surveys answered"), f"{number(csat.answered)} / {number(csat.requested)}"),
        (
            _("SLA first response breached"),
            f"{number(sla.first_response_breaches)} / {number(sla.first_response_targets)}",
        ),
        (
            _("SLA resolution breached"),
            f"{number(sla.resolution_breaches)} / {number(sla.resolution_targets)}",
        ),
        (
            _("phone calls (in / out)"),
            f"{number(calls.calls)} ({number(calls.inbound)} / {number(calls.outbound)})",
        ),
        (_("phone call time"), duration_text(calls.seconds)),
        (_("bot answered in"), f"{number(bot.answered)} ({number(bot.answers)})"),
        (_("bot handed off"), number(bot.handed_off)),
        (_("bot resolved without an agent"), number(bot.resolved_without_agent)),
    )


def _share(count: int, rate: float | None) -> str:
    if rate is None:
        return number(count)
    return f"{number(count)} ({digits(f'{rate:.0%}')})"


def _day_names() -> tuple[str, ...]:
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def duration_text(seconds: float | None) -> str:
    """A duration in two units at most: "45s", "12m", "3h 05m", "2d 4h"; "-" for None."""
    if seconds is None:
        return "-"
    return digits(_duration_text(seconds))


def _duration_text(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return _("{seconds}s").format(seconds=whole)
    minutes, _rest = divmod(whole, 60)
    if minutes < 60:
        return _("{minutes}m").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("{hours}h {minutes:02d}m").format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return _("{days}d {hours}h").format(days=days, hours=hours)
