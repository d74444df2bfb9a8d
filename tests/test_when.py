"""Plain-words snooze times: each phrase read in a zone at a fixed now, as a UTC moment."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from omnitui.when import describe, parse_when

BAKU, ISTANBUL, TEHRAN = "Asia/Baku", "Europe/Istanbul", "Asia/Tehran"
MONDAY_AFTERNOON = "2026-11-02 10:00"  # Mon 14:00 in Baku (UTC+4, no DST)
SATURDAY_NIGHT = "2026-11-07 20:30"  # Sat 23:30 in Istanbul (UTC+3, no DST)
NEW_YEARS_EVE = "2026-12-31 19:00"  # Thu 22:30 in Tehran (UTC+3:30, no DST since 2022)

CASES = [
    # zone, now (UTC), what the agent typed, the moment meant (UTC)
    (BAKU, MONDAY_AFTERNOON, "30m", "2026-11-02 10:30"),
    (BAKU, MONDAY_AFTERNOON, "2h", "2026-11-02 12:00"),
    (BAKU, MONDAY_AFTERNOON, "in 2h 30m", "2026-11-02 12:30"),
    (BAKU, MONDAY_AFTERNOON, "1h30m", "2026-11-02 11:30"),
    (BAKU, MONDAY_AFTERNOON, "3d", "2026-11-05 10:00"),
    (BAKU, MONDAY_AFTERNOON, "1w", "2026-11-09 10:00"),
    (BAKU, MONDAY_AFTERNOON, "tomorrow", "2026-11-03 05:00"),
    (BAKU, MONDAY_AFTERNOON, "tomorrow 9:00", "2026-11-03 05:00"),
    (BAKU, MONDAY_AFTERNOON, "Tomorrow 17:45", "2026-11-03 13:45"),
    (BAKU, MONDAY_AFTERNOON, "mon", "2026-11-09 05:00"),  # today is Monday: the next one
    (BAKU, MONDAY_AFTERNOON, "monday 14:30", "2026-11-09 10:30"),
    (BAKU, MONDAY_AFTERNOON, "fri 14:30", "2026-11-06 10:30"),
    (BAKU, MONDAY_AFTERNOON, "9:00", "2026-11-03 05:00"),  # gone today: tomorrow
    (BAKU, MONDAY_AFTERNOON, "15:00", "2026-11-02 11:00"),  # still ahead today
    (BAKU, MONDAY_AFTERNOON, "at 3pm", "2026-11-02 11:00"),
    (BAKU, MONDAY_AFTERNOON, "today 17:00", "2026-11-02 13:00"),
    (BAKU, MONDAY_AFTERNOON, "2026-12-01", "2026-12-01 05:00"),
    (BAKU, MONDAY_AFTERNOON, "2026-12-01 10:00", "2026-12-01 06:00"),
    (BAKU, MONDAY_AFTERNOON, "next week", "2026-11-09 05:00"),
    (BAKU, MONDAY_AFTERNOON, "sabah 10:00", "2026-11-03 06:00"),  # az: tomorrow
    (BAKU, MONDAY_AFTERNOON, "Çərşənbə", "2026-11-04 05:00"),  # az: Wednesday
    (BAKU, MONDAY_AFTERNOON, "2 saat", "2026-11-02 12:00"),
    (ISTANBUL, SATURDAY_NIGHT, "1h", "2026-11-07 21:30"),  # past local midnight
    (ISTANBUL, SATURDAY_NIGHT, "sun", "2026-11-08 06:00"),
    (ISTANBUL, SATURDAY_NIGHT, "mon", "2026-11-09 06:00"),
    (ISTANBUL, SATURDAY_NIGHT, "sat", "2026-11-14 06:00"),  # the week wraps
    (ISTANBUL, SATURDAY_NIGHT, "23:00", "2026-11-08 20:00"),
    (ISTANBUL, SATURDAY_NIGHT, "next week", "2026-11-09 06:00"),
    (ISTANBUL, SATURDAY_NIGHT, "yarın 10:00", "2026-11-08 07:00"),  # tr: tomorrow
    (ISTANBUL, SATURDAY_NIGHT, "YARIN", "2026-11-08 06:00"),
    (ISTANBUL, SATURDAY_NIGHT, "PAZARTESİ", "2026-11-09 06:00"),  # tr: Monday
    (ISTANBUL, SATURDAY_NIGHT, "salı 9.30", "2026-11-10 06:30"),  # tr: Tuesday
    (ISTANBUL, SATURDAY_NIGHT, "haftaya", "2026-11-09 06:00"),  # tr: next week
    (TEHRAN, NEW_YEARS_EVE, "tomorrow", "2027-01-01 05:30"),  # the year wraps
    (TEHRAN, NEW_YEARS_EVE, "فردا ۹:۳۰", "2027-01-01 06:00"),  # fa: tomorrow, Persian digits
    (TEHRAN, NEW_YEARS_EVE, "جمعه", "2027-01-01 05:30"),  # fa: Friday
    (TEHRAN, NEW_YEARS_EVE, "شنبه", "2027-01-02 05:30"),  # fa: Saturday
    (TEHRAN, NEW_YEARS_EVE, "سه\u200cشنبه", "2027-01-05 05:30"),  # fa: Tuesday, with ZWNJ
    (TEHRAN, NEW_YEARS_EVE, "سه شنبه", "2027-01-05 05:30"),
    (TEHRAN, NEW_YEARS_EVE, "cümə axşamı", "2027-01-07 05:30"),  # az: Thursday (today)
    (TEHRAN, NEW_YEARS_EVE, "bazar ertəsi 8:15", "2027-01-04 04:45"),  # az: Monday
    (TEHRAN, NEW_YEARS_EVE, "2027-01-15 10:00", "2027-01-15 06:30"),
    (TEHRAN, NEW_YEARS_EVE, "۲ ساعت", "2026-12-31 21:00"),  # fa: 2 hours
    # A zone with DST: a day's words follow the clock, durations the real hours.
    ("Europe/Berlin", "2026-03-28 12:00", "tomorrow 9:00", "2026-03-29 07:00"),
    ("Europe/Berlin", "2026-03-28 12:00", "24h", "2026-03-29 12:00"),
]


def utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


@pytest.mark.parametrize(("zone", "now", "typed", "meant"), CASES)
def test_plain_words_name_a_moment(zone: str, now: str, typed: str, meant: str) -> None:
    at = parse_when(typed, utc(now), ZoneInfo(zone))
    assert at.tzinfo is UTC
    assert at == utc(meant), at.astimezone(ZoneInfo(zone))


ERRORS = [
    ("", "say when"),
    ("   ", "say when"),
    ("9", 'not understood: "9"'),
    ("3 fortnights", '"fortnights"'),
    ("tomorow", '"tomorow"'),
    ("next fortnight", '"next fortnight"'),
    ("25:00", '"25:00" is not a time of day'),
    ("fri 9:60", '"9:60" is not a time of day'),
    ("13pm", '"13pm" is not a time of day'),
    ("today", '"today" needs a time'),
    ("today 9:00", "not in the future"),
    ("2026-13-01", '"2026-13-01" is not a date'),
    ("2025-01-01", "not in the future"),
    ("0m", "not in the future"),
    ("99999999999w", "too far ahead"),
]


@pytest.mark.parametrize(("typed", "said"), ERRORS)
def test_what_is_not_understood_is_named_on_one_line(typed: str, said: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_when(typed, utc(MONDAY_AFTERNOON), ZoneInfo(BAKU))
    message = str(caught.value)
    assert said in message
    assert "\n" not in message


def test_describe_says_the_local_time_and_how_far() -> None:
    now, zone = utc(MONDAY_AFTERNOON), ZoneInfo(BAKU)
    assert describe(utc("2026-11-03 05:00"), now, zone) == "Tue 03 Nov 09:00 (in 19 h)"
    assert describe(utc("2026-11-02 10:45"), now, zone) == "Mon 02 Nov 14:45 (in 45 min)"
    assert describe(utc("2027-01-04 05:00"), now, zone) == "Mon 04 Jan 2027 09:00 (in 63 days)"
