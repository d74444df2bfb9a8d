"""Business hours: the team's opening hours in one zone, and time counted in them.

SLA targets ("first response within 4 business hours") and the reports' response
times are counted in business seconds: the real seconds that fall inside the
opening hours of each local day, holidays closed. Real seconds, so a day whose
opening hours span a DST change counts the hour the clocks skipped or repeated as
it was lived.

``add`` is O(years spanned) after a year's table is built (~3 ms, kept on the object).
``seconds_between`` finds each instant's day by bisection over the local midnights of the
years seen so far (~1.2 µs a call on POSIX times, ``seconds_between_stamps``): the reports
call it for ~220k conversations of a year. Pure:
no store, no Textual, no config models at run time (``from_config`` reads a
validated ``Config``). A wall time the clocks skipped (02:30 on a spring-forward
night) means the instant the clocks jumped; a repeated one means its first time.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from omnitui.i18n import _

if TYPE_CHECKING:
    from omnitui.config.models import BusinessHoursConfig, Config

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The config's keys for the days, Monday first as ``date.weekday()`` counts."""

Interval = tuple[int, int]
"""Opening hours within one day: (start minute, end minute), 0 <= start < end <= 1440."""

_INTERVAL = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_NO_BUSINESS_YEARS = 10
"""``add`` gives up after this many years without an open hour (a config can't do that)."""


class _Year(NamedTuple):
    """One local year's opening hours as POSIX instants, with running totals."""

    spans: tuple[tuple[tuple[float, float], ...], ...]
    """For each day of the year: its opening hours as (start, end) timestamps."""
    before: tuple[float, ...]
    """Business seconds in the days before each day (one more entry: the year's total)."""
    first_day: int
    """January 1st's proleptic ordinal (``date.toordinal``)."""


class _Calendar(NamedTuple):
    """Whole local years of days in a row, for finding an instant's day by bisection."""

    starts: list[float]
    """Each day's local midnight (POSIX), and one more: the end of the last day."""
    spans: list[tuple[tuple[float, float], ...]]
    """Each day's opening hours."""
    before: list[float]
    """Business seconds from the first day's midnight to each day's."""
    first_year: int
    years: int


_EMPTY = _Calendar([], [], [], 0, 0)
_CALENDAR_YEARS = 20
"""The most years the calendar holds (a day a few hundred bytes)."""


def _running(calendar: _Calendar, stamp: float) -> float:
    """The business seconds from the calendar's first midnight to instant ``stamp``, which
    it covers (its day found by bisection over the days' local midnights)."""
    day = bisect_right(calendar.starts, stamp) - 1
    inside = 0.0
    for opens, closes in calendar.spans[day]:
        if opens >= stamp:
            break
        inside += (closes if closes < stamp else stamp) - opens
    return calendar.before[day] + inside


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours: per weekday (Monday first), in ``zone``, closed on ``holidays``."""

    zone: str
    """An IANA zone name ("Asia/Baku"): the days and hours are its local ones."""
    week: tuple[tuple[Interval, ...], ...]
    """Seven entries, Monday to Sunday: that day's opening intervals, sorted; () = closed."""
    holidays: frozenset[date] = frozenset()
    """Local dates closed all day."""
    _tz: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _years: dict[int, _Year] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )
    _calendar: _Calendar = field(
        init=False, repr=False, compare=False, hash=False, default_factory=lambda: _EMPTY
    )

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("week needs seven days, Monday first")
        for day in self.week:
            _check_intervals(day)
        if not any(self.week):
            raise ValueError(_("no day has opening hours"))
        object.__setattr__(self, "_tz", ZoneInfo(self.zone))

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """The business seconds from ``start`` to ``end`` (aware); 0 when end <= start."""
        return self.seconds_between_stamps(start.timestamp(), end.timestamp())

    def seconds_between_stamps(self, start: float, end: float) -> float:
        """``seconds_between`` for POSIX times: ~1.5 µs, no datetime made (the reports
        call it for every conversation of a period)."""
        if end <= start:
            return 0.0
        calendar = self._calendar
        if not calendar.starts or start < calendar.starts[0] or end >= calendar.starts[-1]:
            first = datetime.fromtimestamp(start, self._tz).year
            last = datetime.fromtimestamp(end, self._tz).year
            if last - first >= _CALENDAR_YEARS:  # a time decades off: a year at a time
                return self._by_years(start, end)
            calendar = self._cover(first, last)
        return max(0.0, _running(calendar, end) - _running(calendar, start))

    def _by_years(self, start: float, end: float) -> float:
        year, at_start = self._position(start)
        end_year, at_end = self._position(end)
        for whole_year in range(year, end_year):
            at_end += self._year(whole_year).before[-1]
        return max(0.0, at_end - at_start)

    def _cover(self, first: int, last: int) -> _Calendar:
        """The calendar widened to local years ``first`` to ``last`` and those it had (when
        together they are fewer than _CALENDAR_YEARS; otherwise those years alone)."""
        old = self._calendar
        if old.starts:
            wider = min(old.first_year, first), max(old.first_year + old.years - 1, last)
            if wider[1] - wider[0] < _CALENDAR_YEARS:
                first, last = wider
        starts: list[float] = []
        spans: list[tuple[tuple[float, float], ...]] = []
        before: list[float] = []
        total = 0.0
        for each in range(first, last + 1):
            table = self._year(each)
            day = date(each, 1, 1)
            for index, today in enumerate(table.spans):
                starts.append(self._instant(day + timedelta(days=index), 0))
                spans.append(today)
                before.append(total + table.before[index])
            total += table.before[-1]
        starts.append(self._instant(date(last + 1, 1, 1), 0))  # the end of the last day
        calendar = _Calendar(starts, spans, before, first, last - first + 1)
        object.__setattr__(self, "_calendar", calendar)
        return calendar

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant (UTC) at which ``seconds`` business seconds have passed since ``start``.

        It is the end of an opening interval when the count runs out exactly there
        (09:00 + 9 h of 09:00-18:00 is 18:00 the same day, not 09:00 the next).
        """
        if seconds <= 0:
            return start.astimezone(UTC)
        year, target = self._position(start.timestamp())
        target += seconds
        table = self._year(year)
        idle_years = 0
        while target > table.before[-1]:
            idle_years = idle_years + 1 if table.before[-1] == 0 else 0
            if idle_years > _NO_BUSINESS_YEARS:  # only holidays could close a whole year
                raise ValueError(_("no opening hours in ten years"))
            target -= table.before[-1]
            year += 1
            table = self._year(year)
        day = max(0, bisect_left(table.before, target) - 1)
        left = target - table.before[day]
        spans = table.spans[day]
        for opens, closes in spans:
            if left <= closes - opens:
                return datetime.fromtimestamp(opens + left, UTC)
            left -= closes - opens
        return datetime.fromtimestamp(spans[-1][1], UTC)  # a float's rounding past the end

    def _position(self, stamp: float) -> tuple[int, float]:
        """The local year of instant ``stamp`` and the business seconds of that year before it."""
        local = datetime.fromtimestamp(stamp, self._tz)
        table = self._years.get(local.year) or self._year(local.year)
        day = local.toordinal() - table.first_day
        inside = 0.0
        for opens, closes in table.spans[day]:
            if opens >= stamp:
                break
            inside += (closes if closes < stamp else stamp) - opens
        return local.year, table.before[day] + inside

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            table = self._build_year(year)
            self._years[year] = table
        return table

    def _build_year(self, year: int) -> _Year:
        spans: list[tuple[tuple[float, float], ...]] = []
        before = [0.0]
        day = date(year, 1, 1)
        while day.year == year:
            today: tuple[tuple[float, float], ...] = ()
            if day not in self.holidays:
                today = tuple(
                    (self._instant(day, opens), self._instant(day, closes))
                    for opens, closes in self.week[day.weekday()]
                )
                today = tuple((opens, closes) for opens, closes in today if closes > opens)
            spans.append(today)
            before.append(before[-1] + sum(closes - opens for opens, closes in today))
            day += timedelta(days=1)
        return _Year(tuple(spans), tuple(before), date(year, 1, 1).toordinal())

    def _instant(self, day: date, minute: int) -> float:
        """The POSIX time of local ``day`` at ``minute`` (1440: the next midnight)."""
        if minute >= 1440:
            day, minute = day + timedelta(days=1), minute - 1440
        wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self._tz)
        first, second = wall.timestamp(), wall.replace(fold=1).timestamp()
        if second >= first:  # the wall time exists (once, or twice: then its first time)
            return first
        # Skipped by a spring-forward: the clocks jumped somewhere in (second, first].
        low, high = int(second), int(first)
        after = self._tz.utcoffset(wall.replace(fold=1))
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self._tz).utcoffset() == after:
                high = middle
            else:
                low = middle
        return float(high)


def parse_intervals(text: str) -> tuple[Interval, ...]:
    """A day's opening hours from the config: "09:00-13:00,14:00-18:00"; "" = closed.

    ValueError, one line saying what is wrong, for anything else.
    """
    intervals: list[Interval] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        found = _INTERVAL.fullmatch(part)
        if found is None:
            raise ValueError(
                _('"{part}" is not opening hours like "09:00-18:00"').format(part=part)
            )
        start_h, start_m, end_h, end_m = (int(g) for g in found.groups())
        if start_h > 24 or end_h > 24 or start_m > 59 or end_m > 59:
            raise ValueError(_('"{part}" is not a time of day').format(part=part))
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if start >= end or end > 1440:
            raise ValueError(
                _('"{part}": the end must be after the start, by 24:00 at most').format(part=part)
            )
        intervals.append((start, end))
    intervals.sort()
    _check_intervals(tuple(intervals))
    return tuple(intervals)


def _check_intervals(intervals: tuple[Interval, ...]) -> None:
    for start, end in intervals:
        if not 0 <= start < end <= 1440:
            raise ValueError(_("not opening hours: {hours}").format(hours=_said((start, end))))
    for earlier, later in pairwise(intervals):
        if later[0] < earlier[1]:
            problem = _("opening hours overlap: {first} and {second}")
            raise ValueError(problem.format(first=_said(earlier), second=_said(later)))


def _said(interval: Interval) -> str:
    start, end = interval
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def from_section(section: BusinessHoursConfig, default_zone: str = "") -> BusinessHours:
    """Business hours from a validated ``[business_hours]`` table."""
    return BusinessHours(
        zone=section.zone or default_zone or "UTC",
        week=tuple(parse_intervals(getattr(section, day)) for day in WEEKDAYS),
        holidays=frozenset(section.holidays),
    )


def from_config(config: Config) -> BusinessHours | None:
    """The team's business hours (``[business_hours]``), None when the config has none.

    Without ``zone``, the zone is ``[agent] timezone``, else UTC: never the machine's,
    so that every process working on the store counts the same hours.
    """
    if config.business_hours is None:
        return None
    return from_section(config.business_hours, config.agent.timezone)
