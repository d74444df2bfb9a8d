"""Plain-words times for snoozing: "2h", "tomorrow 9:00", "mon", "2026-12-01 10:00".

The snooze prompt parses what the agent types on every key, so this is pure (no I/O,
no store, no Textual) and cheap. Words are read in the agent's zone relative to a
``now`` the caller gives (the TUI's clock, so tests and snapshots decide), and the
result is an aware UTC datetime (DESIGN invariant 4: stored in UTC, shown local).

English, plus the Azerbaijani, Turkish and Persian words for today, tomorrow, next
week and the weekdays, and Persian/Arabic digits, because the team's customers (and
agents) write in those. A weekday means the next one after today, never today itself
("today 17:00" or "17:00" is for today); a day without a time means 09:00 local.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from omnitui import formatting
from omnitui.i18n import _

DEFAULT_TIME = time(9, 0)
"""The time a day named without one means: the start of a working day."""

EXAMPLES = "30m, 2h, tomorrow 9:00, mon, fri 14:30, 2026-12-01 10:00, next week"
"""Words the parser reads (never translated: they are what the agent may type)."""

_MINUTE, _HOUR, _DAY, _WEEK = 60, 3600, 86400, 7 * 86400
_UNITS: dict[str, int] = {
    # English
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), _MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), _HOUR),
    **dict.fromkeys(("d", "day", "days"), _DAY),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), _WEEK),
    # Turkish and Azerbaijani (dakika / dəqiqə, saat, gün, hafta / həftə)
    **dict.fromkeys(("dk", "dakika", "dəq", "dəqiqə", "deqiqe"), _MINUTE),
    **dict.fromkeys(("sa", "saat"), _HOUR),
    **dict.fromkeys(("gün", "gun"), _DAY),
    **dict.fromkeys(("hafta", "həftə", "hefte"), _WEEK),
    # Persian
    "دقیقه": _MINUTE,
    "ساعت": _HOUR,
    "روز": _DAY,
    "هفته": _WEEK,
}

_TODAY = ("today", "bugün", "bugun", "bu gün", "bu gun", "امروز")
_TOMORROW = ("tomorrow", "tmrw", "tmr", "yarın", "yarin", "sabah", "فردا")
_NEXT_WEEK = (
    "next week",
    "haftaya",
    "gelecek hafta",
    "gələn həftə",
    "gelen hefte",
    "هفته بعد",
    "هفته آینده",
)
_WEEKDAYS: dict[str, int] = {
    # English (Monday is 0, as date.weekday() counts)
    **dict.fromkeys(("mon", "monday"), 0),
    **dict.fromkeys(("tue", "tues", "tuesday"), 1),
    **dict.fromkeys(("wed", "weds", "wednesday"), 2),
    **dict.fromkeys(("thu", "thur", "thurs", "thursday"), 3),
    **dict.fromkeys(("fri", "friday"), 4),
    **dict.fromkeys(("sat", "saturday"), 5),
    **dict.fromkeys(("sun", "sunday"), 6),
    # Turkish, with the dotless spellings a keyboard without the letters gives
    "pazartesi": 0,
    **dict.fromkeys(("salı", "sali"), 1),
    **dict.fromkeys(("çarşamba", "carsamba"), 2),
    **dict.fromkeys(("perşembe", "persembe"), 3),
    "cuma": 4,
    "cumartesi": 5,
    "pazar": 6,
    # Azerbaijani
    **dict.fromkeys(("bazar ertəsi", "bazar ertesi"), 0),
    **dict.fromkeys(("çərşənbə axşamı", "cersenbe axsami"), 1),
    **dict.fromkeys(("çərşənbə", "cersenbe"), 2),
    **dict.fromkeys(("cümə axşamı", "cume axsami"), 3),
    **dict.fromkeys(("cümə", "cume"), 4),
    **dict.fromkeys(("şənbə", "senbe"), 5),
    "bazar": 6,
    # Persian (ZWNJ is removed before looking up, and a space may stand for it)
    **dict.fromkeys(("دوشنبه", "دو شنبه"), 0),
    **dict.fromkeys(("سهشنبه", "سه شنبه"), 1),
    **dict.fromkeys(("چهارشنبه", "چهار شنبه"), 2),
    **dict.fromkeys(("پنجشنبه", "پنج شنبه"), 3),
    "جمعه": 4,
    "شنبه": 5,
    **dict.fromkeys(("یکشنبه", "یک شنبه"), 6),
}
_DAY_PREFIXES = ("next ", "on ", "this ")

# Persian and Arabic-Indic digits read as ASCII; Arabic yeh and kaf as the Persian ones;
# ZWNJ dropped; the dot that lower() leaves on a Turkish İ dropped.
_FOLD = str.maketrans(
    {
        **{chr(0x06F0 + n): str(n) for n in range(10)},
        **{chr(0x0660 + n): str(n) for n in range(10)},
        "\u064a": "\u06cc",
        "\u0643": "\u06a9",
        "\u200c": "",
        "\u0307": "",
    }
)
_DURATION = re.compile(r"(?:in\s+)?(?:\d+\s*[^\W\d_]+\s*)+")
_DURATION_PART = re.compile(r"(\d+)\s*([^\W\d_]+)")
_TIME_AT_END = re.compile(r"(?:^|\s)(?:at\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime:
    """The moment ``text`` names, after ``now``, read in zone ``tz``; an aware UTC datetime.

    ValueError, with one line naming what was not understood, for anything else
    (including a moment that is not after ``now``).
    """
    said = " ".join(text.lower().translate(_FOLD).split())
    if not said:
        raise ValueError(_("say when: {examples}").format(examples=EXAMPLES))
    if _DURATION.fullmatch(said):
        parts = _DURATION_PART.findall(said)
        unknown = [unit for _count, unit in parts if unit not in _UNITS]
        if not unknown:
            seconds = sum(int(n) * _UNITS[unit] for n, unit in parts)
            try:
                return _after(now + timedelta(seconds=seconds), now, tz, text)
            except OverflowError:
                problem = _('not understood: "{words}" is too far ahead')
                raise ValueError(problem.format(words=said)) from None
        if not _TIME_AT_END.search(said):  # "9am" looks like a duration too
            problem = _('not understood: "{unit}" (a unit: m, h, d or w)')
            raise ValueError(problem.format(unit=unknown[0]))
    local_now = now.astimezone(tz)
    at, rest = _time_of_day(said)
    day = _day(rest, local_now.date(), at is not None)
    if day is None:  # a time alone: today if it is still ahead, else tomorrow
        if at is None:
            raise ValueError(_("say when: {examples}").format(examples=EXAMPLES))
        day = local_now.date()
        if datetime.combine(day, at, tzinfo=tz) <= now:
            day += timedelta(days=1)
    moment = datetime.combine(day, at or DEFAULT_TIME, tzinfo=tz)
    return _after(moment, now, tz, text)


def _time_of_day(said: str) -> tuple[time | None, str]:
    """The time of day at the end of ``said`` ("9:00", "14:30", "9am", "tomorrow 9") and
    what is before it."""
    found = _TIME_AT_END.search(said)
    if found is None:
        return None, said
    hour_s, minute_s, half = found.groups()
    rest = said[: found.start()].strip()
    if minute_s is None and half is None and not rest:
        problem = _('not understood: "{words}" (say {hour}:00 for a time, {hour}h for hours)')
        raise ValueError(problem.format(words=said, hour=hour_s))
    hour, minute = int(hour_s), int(minute_s or 0)
    if half is not None:
        if not 1 <= hour <= 12:
            problem = _('not understood: "{words}" is not a time of day')
            raise ValueError(problem.format(words=found.group(0).strip()))
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        problem = _('not understood: "{words}" is not a time of day')
        raise ValueError(problem.format(words=found.group(0).strip()))
    return time(hour, minute), rest


def _day(rest: str, today: date, timed: bool) -> date | None:
    """The day ``rest`` names (None when it names none)."""
    if not rest:
        return None
    if rest in _TODAY:
        if not timed:
            raise ValueError(_('"{words}" needs a time too (today 17:00)').format(words=rest))
        return today
    if rest in _TOMORROW:
        return today + timedelta(days=1)
    if rest in _NEXT_WEEK:
        return today + timedelta(days=7 - today.weekday())
    found = _DATE.fullmatch(rest)
    if found is not None:
        try:
            return date(*(int(g) for g in found.groups()))
        except ValueError:
            problem = _('not understood: "{words}" is not a date')
            raise ValueError(problem.format(words=rest)) from None
    name = rest
    for prefix in _DAY_PREFIXES:
        name = name.removeprefix(prefix)
    weekday = _WEEKDAYS.get(name)
    if weekday is None:
        problem = _('not understood: "{words}" (try {examples})')
        raise ValueError(problem.format(words=rest, examples=EXAMPLES))
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _after(moment: datetime, now: datetime, tz: tzinfo, text: str) -> datetime:
    if moment <= now:
        problem = _('"{words}" is {moment}: not in the future')
        raise ValueError(problem.format(words=text.strip(), moment=local_label(moment, now, tz)))
    return moment.astimezone(UTC)


def describe(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A moment as the agent reads it: "Tue 03 Nov 09:00 (in 19 h)", in their zone."""
    said = _("{moment} ({distance})")
    return said.format(moment=local_label(at, now, tz), distance=formatting.distance(at - now))


def local_label(at: datetime, now: datetime, tz: tzinfo) -> str:
    """ "Tue 03 Nov 09:00" in zone ``tz`` (the year too when it is not ``now``'s), in the
    console's language whatever the process locale (omnitui.formatting.moment)."""
    return formatting.moment(at, now, tz)
