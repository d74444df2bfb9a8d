"""How times read on screen: relative ages in the customer list, local clock times in the history.

Times arrive as aware UTC datetimes from the store and are shown in the agent's
zone (DESIGN invariant 4). The clock is passed in, so screens and tests can fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

Clock = Callable[[], datetime]
"""Returns now, as an aware datetime."""


def utc_clock() -> datetime:
    return datetime.now(UTC)


def relative_time(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A short age: "now", "45s", "3m", "2h", "4d", then the local date ("Mar 03", "2023-03-03")."""
    seconds = int((now - at).total_seconds())
    if seconds < 5:  # also a time slightly in the future (another machine's clock)
        return "now"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 7 * 86400:
        return f"{seconds // 86400}d"
    local = at.astimezone(tz)
    if local.year == now.astimezone(tz).year:
        return local.strftime("%b %d")
    return local.strftime("%Y-%m-%d")


def local_time(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A clock time in the agent's zone: "14:02" today, "Mar 03 14:02" this year, else the date."""
    local = at.astimezone(tz)
    today = now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%b %d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
