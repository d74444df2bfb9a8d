"""Dates, times, relative times and numbers as the console's language writes them.

Only the console's own figures go through here (times, counts, sizes): never customer
text, ids, addresses or order numbers, whose digits stay as they were typed.

English keeps the console's own forms ("3m", "Mar 03 14:02", "in 19 h", "9.5k") and never
loads Babel. Azerbaijani, Turkish and Persian take CLDR's, through Babel: month and day
names, their order, "3 dəqiqə əvvəl" / "3 dakika önce" / "3 دقیقه پیش" (Gregorian
calendar, Persian month names for fa). Babel costs tens of ms to import and load a locale,
so it is imported on first use, and ``warm_up`` does that in a thread after the first
paint (the app) and before the history's first page is drawn (in the timeline's reader).
What the first frame shows takes a cheap path instead: the list's ages and times
(``age``, ``short_time``: the catalogs' short forms and month names in CLDR's order) and
counts (``number``: CLDR's separators); tests/test_formatting.py checks both against
Babel. With fa, ``[display] persian_digits`` (default on, as CLDR's fa numbers) writes
every digit here as ۰-۹, mapped with str.translate.

Imports only the standard library and omnitui.i18n (the TUI's first paint loads it).
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal

from omnitui.i18n import _, language, ngettext, pgettext

if TYPE_CHECKING:
    from babel import Locale

Unit = Literal["minute", "hour", "day"]

_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_NO_DIRECTION_MARKS = str.maketrans("", "", "\u200e\u200f\u061c")
"""CLDR puts RLM in some Persian patterns; bidi is bidi.py's (or the terminal's) business,
and a terminal may draw the mark as a box."""
_SEPARATORS = {
    "az": (".", ","),
    "tr": (".", ","),
    "fa": ("٬", "٫"),  # arabext, with Persian digits
    "fa-latn": (",", "."),
}
"""CLDR's grouping and decimal symbols (babel.numbers.get_group_symbol and
get_decimal_symbol) where they differ from Python's ``,`` and ``.``."""
_LIST_DAY = {"az": "{day} {month}", "tr": "{day} {month}", "fa": "{month_number}/{day}"}
"""A day this year in the list's 6 cells: CLDR's MMMd (az, tr), or Md for fa, whose month
names ("سپتامبر") do not fit."""
_LIST_DATE = {
    "az": "{day:02d}.{month_number:02d}.{year}",
    "tr": "{day}.{month_number}.{year}",
    "fa": "{year}/{month_number}/{day}",
}
"""A day of another year: CLDR's yMd."""

_persian_digits = True
_lock = threading.Lock()
_locales: dict[str, Locale] = {}
_warm: set[str] = set()


def set_persian_digits(on: bool) -> None:
    """``[display] persian_digits``: with fa, write digits as ۰-۹ (on) or 0-9 (off)."""
    global _persian_digits
    _persian_digits = on


def persian_digits() -> bool:
    """Whether the digits shown are Persian ones (fa, and the option on)."""
    return _persian_digits and language() == "fa"


def digits(text: str) -> str:
    """``text``, a figure of the console's own, with the console's digits."""
    return text.translate(_PERSIAN) if persian_digits() else text


def number(value: float, places: int = 0, *, group: bool = True) -> str:
    """A count or a size with the language's grouping: 1,234 / 1.234 / ۱٬۲۳۴ ("3.4", "3,4",
    "۳٫۴" with ``places=1``). Not negative numbers (CLDR's fa minus is not "-")."""
    text = f"{value:{',' if group else ''}.{places}f}"
    code = language()
    if code == "fa" and not _persian_digits:
        code = "fa-latn"
    separators = _SEPARATORS.get(code)
    if separators is not None:
        comma, point = separators
        text = text.translate({ord(","): comma, ord("."): point})
    return digits(text)


def compact_number(count: int) -> str:
    """A count in a few cells: English 950, 9.5k, 67k, 1.2M; CLDR's short compact form
    otherwise ("9,5K" az, "9,5 B" tr, "۹٫۵ هزار" fa)."""
    if count < 1_000:
        return number(count)
    code = language()
    if code == "en":
        if count < 10_000:
            return f"{count / 1_000:.1f}k".replace(".0k", "k")
        if count < 999_500:
            return f"{round(count / 1_000)}k"
        return f"{count / 1_000_000:.1f}M".replace(".0M", "M")
    from babel.numbers import format_compact_decimal

    text = format_compact_decimal(
        count,
        format_type="short",
        locale=_locale(),
        fraction_digits=1 if count < 10_000 or count >= 999_500 else 0,
        numbering_system="default" if persian_digits() else "latn",
    )
    return _clean(text)


# -- the first frame's forms (no Babel) -------------------------------------------------------


def age(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A short age for the list's 6 cells: "now", "45s", "3m", "2h", "4d", then the day
    ("Mar 03"; "3 mar", "3 Mar", "۱۱/۳"), and the date in another year."""
    seconds = int((now - at).total_seconds())
    if seconds < 5:  # also a time slightly in the future (another machine's clock)
        # TRANSLATORS: an age in the customer list (6 cells at most), as "45s", "3m".
        return _("now")
    if seconds < 60:
        # TRANSLATORS: seconds ago, in the customer list (6 cells at most).
        return _("{count}s").format(count=number(seconds))
    if seconds < 3600:
        # TRANSLATORS: minutes ago, in the customer list (6 cells at most).
        return _("{count}m").format(count=number(seconds // 60))
    if seconds < 86400:
        # TRANSLATORS: hours ago, in the customer list (6 cells at most).
        return _("{count}h").format(count=number(seconds // 3600))
    if seconds < 7 * 86400:
        # TRANSLATORS: days ago, in the customer list (6 cells at most).
        return _("{count}d").format(count=number(seconds // 86400))
    return _list_day(at.astimezone(tz), now.astimezone(tz))


def short_time(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A clock time for the list: "14:02" today, else the day too ("Mar 03 14:02",
    "3 mar 14:02", "۱۱/۳ ۱۴:۰۲")."""
    local = at.astimezone(tz)
    today = now.astimezone(tz)
    if language() == "en":
        return _english_time(local, today)
    if local.date() == today.date():
        return _clock(local)
    return _list_day(local, today) + " " + _clock(local)


def _list_day(local: datetime, today: datetime) -> str:
    code = language()
    if code == "en":
        if local.year == today.year:
            return local.strftime("%b %d")
        return local.strftime("%Y-%m-%d")
    values = {
        "day": local.day,
        "month": month_names()[local.month - 1],
        "month_number": local.month,
        "year": local.year,
    }
    pattern = _LIST_DAY if local.year == today.year else _LIST_DATE
    return digits(pattern[code].format(**values))


def _clock(local: datetime) -> str:
    """CLDR's Hm: "14:02" (fa: "9:00")."""
    hour = f"{local.hour}" if language() == "fa" else f"{local.hour:02d}"
    return digits(f"{hour}:{local.minute:02d}")


def _english_time(local: datetime, today: datetime) -> str:
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%b %d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def month_names() -> tuple[str, ...]:
    """The catalogs' short month names (CLDR's abbreviated ones, checked by the tests)."""
    return (
        pgettext("short month", "Jan"),
        pgettext("short month", "Feb"),
        pgettext("short month", "Mar"),
        pgettext("short month", "Apr"),
        pgettext("short month", "May"),
        pgettext("short month", "Jun"),
        pgettext("short month", "Jul"),
        pgettext("short month", "Aug"),
        pgettext("short month", "Sep"),
        pgettext("short month", "Oct"),
        pgettext("short month", "Nov"),
        pgettext("short month", "Dec"),
    )


def _english_day_names() -> tuple[str, ...]:
    """Monday first, as date.weekday() counts."""
    return (
        pgettext("short weekday", "Mon"),
        pgettext("short weekday", "Tue"),
        pgettext("short weekday", "Wed"),
        pgettext("short weekday", "Thu"),
        pgettext("short weekday", "Fri"),
        pgettext("short weekday", "Sat"),
        pgettext("short weekday", "Sun"),
    )


# -- Babel's forms (after the first paint) ----------------------------------------------------


def warm_up() -> None:
    """Load Babel and the console language's CLDR data now (tens of ms), so that the
    first time shown afterwards does not wait for them. Idempotent; nothing for English.
    Call it off the UI thread."""
    code = language()
    if code == "en" or code in _warm:
        return
    now = datetime.now(UTC)
    clock_time(now - timedelta(days=400), now, UTC)
    moment(now, now, UTC)
    relative(3, "minute", future=False)
    compact_number(12_345)
    _warm.add(code)


def _locale() -> Locale:
    code = language()
    with _lock:
        found = _locales.get(code)
        if found is None:
            from babel import Locale  # imported here: tens of ms, never on the first paint

            found = _locales[code] = Locale.parse(code)
    return found


def _clean(text: str) -> str:
    return digits(text.translate(_NO_DIRECTION_MARKS))


def _with_time(local: datetime, skeleton: str) -> str:
    """The day as CLDR's ``skeleton`` says it, then the time, glued as CLDR glues them."""
    from babel.dates import format_skeleton

    locale = _locale()
    day = format_skeleton(skeleton, local, tzinfo=local.tzinfo, locale=locale)
    clock = format_skeleton("Hm", local, tzinfo=local.tzinfo, locale=locale)
    glue = str(locale.datetime_formats["medium"]).translate(_NO_DIRECTION_MARKS)
    return _clean(glue.replace("{1}", day).replace("{0}", clock))


def clock_time(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A clock time in the agent's zone: "14:02" today, "Mar 03 14:02" ("3 mar 14:02",
    "3 Kas 14:02", "۳ نوامبر، ۱۴:۰۲") this year, with the year otherwise."""
    local = at.astimezone(tz)
    today = now.astimezone(tz)
    if language() == "en":
        return _english_time(local, today)
    if local.date() == today.date():
        return _clock(local)
    return _with_time(local, "MMMd" if local.year == today.year else "yMMMd")


def moment(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A moment with its weekday: "Tue 03 Nov 09:00" ("Ç.a., 3 noy 09:00", "3 Kas Sal
    09:00", "سه‌شنبه ۳ نوامبر، ۹:۰۰"), the year too when it is not ``now``'s."""
    local = at.astimezone(tz)
    this_year = local.year == now.astimezone(tz).year
    if language() != "en":
        return _with_time(local, "MMMEd" if this_year else "yMMMEd")
    values = {
        "day": _english_day_names()[local.weekday()],
        "date": f"{local.day:02d}",
        "month": month_names()[local.month - 1],
        "time": f"{local:%H:%M}",
    }
    if this_year:
        return _("{day} {date} {month} {time}").format(**values)
    return _("{day} {date} {month} {year} {time}").format(**values, year=local.year)


def day(at: datetime, tz: tzinfo) -> str:
    """A day alone: "2026-03-03" ("3 mar 2026", "3 Mar 2026", "۳ مارس ۲۰۲۶")."""
    local = at.astimezone(tz)
    if language() == "en":
        return f"{local:%Y-%m-%d}"
    from babel.dates import format_date

    return _clean(format_date(local.date(), "medium", locale=_locale()))


def stamp(at: datetime, tz: tzinfo) -> str:
    """A full date and time with the zone's name: "2026-03-03 14:02 +04" ("3 mar 2026
    14:02 +04")."""
    local = at.astimezone(tz)
    zone = local.tzname() or ""
    if language() == "en":
        return f"{local:%Y-%m-%d %H:%M} {zone}".rstrip()
    return f"{_with_time(local, 'yMMMd')} {digits(zone)}".rstrip()


def relative(count: int, unit: Unit, *, future: bool) -> str:
    """``count`` whole units from now, in words: "5 minutes ago", "in 19 h" ("5 dəqiqə
    əvvəl", "19 saat sonra", "۵ دقیقه پیش")."""
    if language() == "en":
        if future and unit == "minute":
            return _("in {minutes} min").format(minutes=count)
        if future and unit == "hour":
            return _("in {hours} h").format(hours=count)
        if future:
            return ngettext("in {days} day", "in {days} days", count).format(days=count)
        if unit == "minute":
            said = ngettext("{count} minute ago", "{count} minutes ago", count)
        elif unit == "hour":
            said = ngettext("{count} hour ago", "{count} hours ago", count)
        else:
            said = ngettext("{count} day ago", "{count} days ago", count)
        return said.format(count=count)
    from babel.dates import format_timedelta

    seconds = count * {"minute": 60, "hour": 3600, "day": 86400}[unit]
    # An infinite threshold keeps the unit asked for (Babel would say 50 minutes is an hour).
    said = format_timedelta(
        timedelta(seconds=seconds if future else -seconds),
        granularity=unit,
        threshold=math.inf,
        add_direction=True,
        locale=_locale(),
    )
    return _clean(said)


def ago(at: datetime, now: datetime, tz: tzinfo) -> str:
    """How long ago, in words: "just now", "5 minutes ago", "2 days ago", then "on
    2026-03-03" ("5 dəqiqə əvvəl", "5 dakika önce", "۵ دقیقه پیش")."""
    seconds = int((now - at).total_seconds())
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return relative(seconds // 60, "minute", future=False)
    if seconds < 86400:
        return relative(seconds // 3600, "hour", future=False)
    if seconds < 30 * 86400:
        return relative(seconds // 86400, "day", future=False)
    return _("on {date}").format(date=day(at, tz))


def distance(delta: timedelta) -> str:
    """How far ahead, for the snooze prompt: "in 45 min", "in 19 h 30 min", "in 3 days"
    ("45 dəqiqə sonra", "19 saat 30 dəq sonra", "3 gün sonra"), or "past"."""
    minutes = round(delta.total_seconds() / 60)
    if minutes < 0:
        return _("past")
    if minutes < 60:
        return relative(minutes, "minute", future=True)
    hours, minutes = divmod(minutes, 60)
    if hours < 48 and minutes:  # CLDR has no words for two units: the catalogs' own
        said = _("in {hours} h {minutes} min")
        return said.format(hours=number(hours), minutes=number(minutes))
    if hours < 48:
        return relative(hours, "hour", future=True)
    return relative(round(hours / 24), "day", future=True)
