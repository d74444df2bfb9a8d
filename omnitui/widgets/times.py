"""How times read on screen: relative ages in the customer list, local clock times in the history.

Times arrive as aware UTC datetimes from the store and are shown in the agent's
zone (DESIGN invariant 4), in the console's language (omnitui.formatting). The clock is
passed in, so screens and tests can fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from omnitui import formatting

Clock = Callable[[], datetime]
"""Returns now, as an aware datetime."""


def utc_clock() -> datetime:
    return datetime.now(UTC)


def relative_time(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A short age: "now", "45s", "3m", "2h", "4d", then the local date ("Mar 03", "2023-03-03").
    No Babel: the list's first frame shows it."""
    return formatting.age(at, now, tz)


def local_time(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A clock time in the agent's zone: "14:02" today, "Mar 03 14:02" this year, else the date."""
    return formatting.clock_time(at, now, tz)


def list_time(at: datetime, now: datetime, tz: tzinfo) -> str:
    """``local_time`` kept short for the list ("◷ 16:00"), without Babel: the list's first
    frame shows it."""
    return formatting.short_time(at, now, tz)
