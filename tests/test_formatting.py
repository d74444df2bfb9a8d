"""Dates, times, relative times and numbers in the console's language (omnitui.formatting):
CLDR's words and orders through Babel for az, tr and fa, English as it was, Persian digits
as [display] persian_digits says, the first frame's cheap forms against Babel's, and
customer text left as typed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_skeleton, get_month_names
from babel.numbers import format_decimal
from rich.cells import cell_len

from omnitui import formatting, i18n
from omnitui.reads import Hotlist, HotlistEntry
from omnitui.when import describe
from omnitui.widgets.attachments import AttachedFile, attached_text, human_size
from omnitui.widgets.status_line import hotlist_text

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Baku")
"""14:00 local at NOW, a Monday."""
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lang() -> Iterator[None]:
    """The test sets the language (and the digits) itself; English and on again after."""
    yield
    i18n.set_language("en")
    formatting.set_persian_digits(True)


def use(language: str, *, persian_digits: bool = True) -> None:
    i18n.set_language(language)
    formatting.set_persian_digits(persian_digits)


def ago(**delta: float) -> str:
    return formatting.ago(NOW - timedelta(**delta), NOW, ZONE)


def ahead(**delta: float) -> str:
    return formatting.distance(timedelta(**delta))


# -- relative times ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "minutes", "hours", "days", "in_minutes", "in_hours", "in_days"),
    [
        (
            "en",
            "3 minutes ago",
            "2 hours ago",
            "4 days ago",
            "in 45 min",
            "in 19 h",
            "in 3 days",
        ),
        (
            "az",
            "3 dəqiqə əvvəl",
            "2 saat əvvəl",
            "4 gün əvvəl",
            "45 dəqiqə sonra",
            "19 saat sonra",
            "3 gün sonra",
        ),
        (
            "tr",
            "3 dakika önce",
            "2 saat önce",
            "4 gün önce",
            "45 dakika sonra",
            "19 saat sonra",
            "3 gün sonra",
        ),
        (
            "fa",
            "۳ دقیقه پیش",
            "۲ ساعت پیش",
            "۴ روز پیش",
            "۴۵ دقیقه بعد",
            "۱۹ ساعت بعد",
            "۳ روز دیگر",
        ),
    ],
)
def test_relative_times_in_each_language(
    lang: None,
    language: str,
    minutes: str,
    hours: str,
    days: str,
    in_minutes: str,
    in_hours: str,
    in_days: str,
) -> None:
    use(language)
    assert ago(minutes=3, seconds=20) == minutes
    assert ago(hours=2, minutes=50) == hours  # whole units passed, never rounded up
    assert ago(days=4) == days
    assert ahead(minutes=45) == in_minutes
    assert ahead(hours=19) == in_hours
    assert ahead(days=3) == in_days


def test_a_minute_and_the_unit_kept(lang: None) -> None:
    use("az")
    assert ago(minutes=1) == "1 dəqiqə əvvəl"
    assert ago(minutes=50) == "50 dəqiqə əvvəl"  # Babel alone would say "1 saat"
    assert ago(seconds=20) == "indicə"
    assert ahead(hours=19, minutes=30) == "19 saat 30 dəq sonra"
    assert ahead(minutes=-3) == "keçmişdə"
    use("tr")
    assert ago(days=14) == "14 gün önce"  # not "2 hafta": the unit the console counts in
    use("fa")
    assert ahead(hours=19, minutes=30) == "۱۹ ساعت و ۳۰ دقیقهٔ دیگر"


def test_english_stays_as_it_was(lang: None) -> None:
    use("en")
    assert ago(seconds=30) == "just now"
    assert ago(minutes=1) == "1 minute ago"
    assert ago(days=40) == "on 2026-09-23"
    assert ahead(hours=19, minutes=30) == "in 19 h 30 min"
    assert describe(NOW + timedelta(hours=19), NOW, ZONE) == "Tue 03 Nov 09:00 (in 19 h)"
    assert formatting.clock_time(NOW - timedelta(days=1), NOW, ZONE) == "Nov 01 14:00"
    assert formatting.stamp(NOW, ZONE) == "2026-11-02 14:00 +04"
    assert formatting.number(1234567) == "1,234,567"
    assert [formatting.compact_number(n) for n in (950, 9_500, 66_666, 1_250_000)] == [
        "950",
        "9.5k",
        "67k",
        "1.2M",
    ]
    assert human_size(1_048_000) == "1023 KB"


# -- dates and times --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "today", "this_year", "other_year", "with_weekday", "a_day"),
    [
        (
            "en",
            "14:00",
            "Sep 23 14:00",
            "2025-09-28 14:00",
            "Tue 03 Nov 09:00",
            "2026-09-23",
        ),
        (
            "az",
            "14:00",
            "23 sen 14:00",
            "28 sen 2025 14:00",
            "Ç.a., 3 noy 09:00",
            "23 sen 2026",
        ),
        (
            "tr",
            "14:00",
            "23 Eyl 14:00",
            "28 Eyl 2025 14:00",
            "3 Kas Sal 09:00",
            "23 Eyl 2026",
        ),
        (
            "fa",
            "۱۴:۰۰",
            "۲۳ سپتامبر، ۱۴:۰۰",
            "۲۸ سپتامبر ۲۰۲۵، ۱۴:۰۰",
            "سه\u200cشنبه ۳ نوامبر، ۹:۰۰",
            "۲۳ سپتامبر ۲۰۲۶",
        ),
    ],
)
def test_a_date_and_a_time_in_each_language(
    lang: None,
    language: str,
    today: str,
    this_year: str,
    other_year: str,
    with_weekday: str,
    a_day: str,
) -> None:
    use(language)
    assert formatting.clock_time(NOW, NOW, ZONE) == today
    assert formatting.clock_time(NOW - timedelta(days=40), NOW, ZONE) == this_year
    assert formatting.clock_time(NOW - timedelta(days=400), NOW, ZONE) == other_year
    assert formatting.moment(NOW + timedelta(hours=19), NOW, ZONE) == with_weekday
    assert formatting.day(NOW - timedelta(days=40), ZONE) == a_day


def test_no_direction_marks_from_cldr(lang: None) -> None:
    """CLDR's fa glue has an RLM; it never reaches the screen (bidi.py orders lines)."""
    use("fa")
    for shown in (
        formatting.clock_time(NOW - timedelta(days=40), NOW, ZONE),
        formatting.moment(NOW, NOW, ZONE),
        formatting.stamp(NOW, ZONE),
    ):
        assert not set(shown) & {"\u200e", "\u200f", "\u061c"}, repr(shown)


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "grouped", "decimal", "compact"),
    [
        ("en", "1,234,567", "3.4", "9.5k"),
        ("az", "1.234.567", "3,4", "9,5K"),
        ("tr", "1.234.567", "3,4", "9,5\xa0B"),
        ("fa", "۱٬۲۳۴٬۵۶۷", "۳٫۴", "۹٫۵\xa0هزار"),
    ],
)
def test_a_number_with_grouping_in_each_language(
    lang: None, language: str, grouped: str, decimal: str, compact: str
) -> None:
    use(language)
    assert formatting.number(1_234_567) == grouped
    assert formatting.number(3.4, 1) == decimal
    assert formatting.compact_number(9_500) == compact
    assert formatting.number(999) == formatting.digits("999")


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("persian_digits", [True, False])
def test_numbers_are_babels(lang: None, language: str, persian_digits: bool) -> None:
    """The cheap path (no Babel on the first paint) writes what babel.numbers does."""
    use(language, persian_digits=persian_digits)
    system = "default" if language == "fa" and persian_digits else "latn"
    for value in (0, 7, 999, 1_000, 1_234, 65_432, 999_999, 1_234_567, 12_345_678_901):
        expected = formatting.digits(
            format_decimal(value, locale=language, numbering_system=system)
        )
        assert formatting.number(value) == expected, value
    for value in (0.5, 3.4, 1023.9):
        said = format_decimal(value, "#,##0.0", locale=language, numbering_system=system)
        assert formatting.number(value, 1) == formatting.digits(said), value


def test_persian_digits_on_and_off(lang: None) -> None:
    use("fa")
    assert formatting.persian_digits()
    assert formatting.number(1_234) == "۱٬۲۳۴"
    assert ago(minutes=3) == "۳ دقیقه پیش"
    assert formatting.clock_time(NOW, NOW, ZONE) == "۱۴:۰۰"
    assert formatting.age(NOW - timedelta(minutes=3), NOW, ZONE) == "۳ د"
    assert human_size(3_565_158) == "۳٫۴ مگابایت"
    use("fa", persian_digits=False)
    assert not formatting.persian_digits()
    assert formatting.number(1_234) == "1,234"
    assert ago(minutes=3) == "3 دقیقه پیش"
    assert formatting.clock_time(NOW, NOW, ZONE) == "14:00"
    assert formatting.age(NOW - timedelta(minutes=3), NOW, ZONE) == "3 د"
    assert formatting.compact_number(9_500) == "9.5\xa0هزار"
    use("az")  # the option is Persian's alone
    assert not formatting.persian_digits()
    assert formatting.digits("14:00") == "14:00"


def test_customer_text_keeps_its_digits(lang: None) -> None:
    """Only the console's own figures change: names, file names, ids, order numbers stay."""
    use("fa")
    hotlist = Hotlist(
        total=5, entries=(HotlistEntry(customer_id=42, name="Sifariş 12345", unread=3),)
    )
    line = hotlist_text(hotlist).plain
    assert "Sifariş 12345(۳)" in line and line.endswith("+۴")
    attached = AttachedFile(path=Path("/tmp/x"), name="invoice-2024-0042.pdf", size=2048)
    assert attached_text(attached).plain == "📎 invoice-2024-0042.pdf · ۲ کیلوبایت"
    nameless = Hotlist(total=1, entries=(HotlistEntry(customer_id=1234, name="", unread=1),))
    assert "#1234(۱)" in hotlist_text(nameless).plain  # an id is not a figure of ours


# -- the first frame's forms ------------------------------------------------------------


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_lists_ages_fit_their_column(lang: None, language: str) -> None:
    """The age column is 6 cells: every age up to a week, and every day of this year."""
    use(language)
    ages = [formatting.age(NOW - timedelta(seconds=s), NOW, ZONE) for s in (0, 59)]
    ages += [formatting.age(NOW - timedelta(minutes=m), NOW, ZONE) for m in (1, 59)]
    ages += [formatting.age(NOW - timedelta(hours=h), NOW, ZONE) for h in (1, 23)]
    ages += [formatting.age(NOW - timedelta(days=d), NOW, ZONE) for d in (1, 6)]
    days = [datetime(2026, month, 28, 12, tzinfo=UTC) for month in range(1, 11)]
    ages += [formatting.age(at, NOW, ZONE) for at in days]
    too_wide = [age for age in ages if cell_len(age) > 6]
    assert not too_wide, too_wide


@pytest.mark.parametrize("language", ["az", "tr", "fa"])
def test_the_lists_forms_are_cldrs(lang: None, language: str) -> None:
    """The list's days and times, made without Babel, read as Babel's skeletons say: MMMd
    (fa: Md, its month names are too long), yMd and Hm; the catalogs' month names are
    CLDR's abbreviated ones."""
    use(language)
    assert list(formatting.month_names()) == list(
        get_month_names("abbreviated", locale=language).values()
    )
    day_skeleton = "Md" if language == "fa" else "MMMd"
    for at in (
        datetime(2026, 3, 3, 5, 7, tzinfo=UTC),
        datetime(2026, 9, 23, 20, 59, tzinfo=UTC),
        datetime(2025, 12, 31, 1, 0, tzinfo=UTC),
    ):
        local = at.astimezone(ZONE)
        day = format_skeleton(
            day_skeleton if local.year == NOW.year else "yMd", local, ZONE, locale=language
        )
        clock = format_skeleton("Hm", local, ZONE, locale=language)
        assert formatting.age(at, NOW, ZONE) == formatting.digits(day)
        assert formatting.short_time(at, NOW, ZONE) == formatting.digits(f"{day} {clock}")
    today = NOW.replace(hour=5, minute=7)
    clock = format_skeleton("Hm", today.astimezone(ZONE), ZONE, locale=language)
    assert formatting.short_time(today, NOW, ZONE) == formatting.digits(clock)


def _modules_after(code: str) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return [name for name in run.stdout.split() if name == "babel" or name.startswith("babel.")]


def test_the_first_frames_forms_load_no_babel() -> None:
    """The list's ages, times and counts in Persian, and English everything: no Babel."""
    code = """
import sys
from datetime import UTC, datetime, timedelta
from omnitui import formatting, i18n
now = datetime(2026, 11, 2, 10, tzinfo=UTC)
i18n.set_language("fa")
for days in (0, 3, 30, 400):
    formatting.age(now - timedelta(days=days, minutes=3), now, UTC)
    formatting.short_time(now + timedelta(days=days), now, UTC)
formatting.number(1234567)
i18n.set_language("en")
formatting.warm_up()
formatting.clock_time(now - timedelta(days=30), now, UTC)
formatting.moment(now, now, UTC)
formatting.ago(now - timedelta(days=40), now, UTC)
formatting.distance(timedelta(hours=3))
formatting.stamp(now, UTC)
formatting.compact_number(66666)
print(*sys.modules)
"""
    assert _modules_after(code) == []


def test_warm_up_loads_babel_for_the_other_languages() -> None:
    code = """
import sys
from omnitui import formatting, i18n
i18n.set_language("tr")
formatting.warm_up()
print(*sys.modules)
"""
    assert "babel.dates" in _modules_after(code)
