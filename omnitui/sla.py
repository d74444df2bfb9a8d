"""SLA policies: which targets a conversation has, and when they fall due.

A policy ([sla.NAME] in the config) names the conversations it applies to (by
channel and/or tag) and two targets: the first response within some time of the
customer's first message, and the resolution within some time of it, counted in
real time or in business hours (omnitui.hours). The first policy, in the order
written, that matches a conversation applies; a policy naming no channel and no
tag matches every one. ``sla_key`` fingerprints the whole configuration, so that
the store can tell which conversations were given their targets under another one.

Pure: no store, no Textual. inbox.apply_sla stores the targets; the list and the
reports read them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from omnitui.hours import BusinessHours
from omnitui.i18n import _

if TYPE_CHECKING:
    from omnitui.config.models import Config

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:\s*\d+\s*[mhdw])+\s*")
_PART = re.compile(r"(\d+)\s*([mhdw])")

WARNING = timedelta(hours=1)
"""A target is "breaching soon" within this time of its due time (the SLA view and
``sla:breaching``): an hour is enough to act on, whatever the target's length."""


def parse_duration(text: str) -> int:
    """Seconds in "30m", "4h", "2d", "1w", "1h30m"; ValueError (one line) otherwise."""
    said = text.strip().lower()
    if not said or not _DURATION.fullmatch(said):
        raise ValueError(
            _('"{value}" is not a duration like "30m", "4h", "1h30m" or "2d"').format(value=text)
        )
    seconds = sum(int(count) * _UNITS[unit] for count, unit in _PART.findall(said))
    if seconds <= 0:
        raise ValueError(_('"{value}" is no time at all').format(value=text))
    return seconds


@dataclass(frozen=True, slots=True)
class Policy:
    """One SLA policy, its durations in seconds (None: no such target)."""

    name: str
    channels: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    first_response: int | None = None
    resolution: int | None = None
    business_hours: bool = False

    def matches(self, channel: str, tags: Iterable[str]) -> bool:
        """Whether it applies to a conversation on ``channel`` with ``tags``."""
        if self.channels and channel not in self.channels:
            return False
        return not self.tags or not self.tags.isdisjoint(tags)


@dataclass(frozen=True, slots=True)
class Policies:
    """The SLA configuration: the policies in order, and the business hours they count in."""

    policies: tuple[Policy, ...]
    hours: BusinessHours | None = None

    @property
    def key(self) -> str:
        """The configuration's fingerprint (``conversation.sla_key``)."""
        return sla_key(self.policies, self.hours)

    def match(self, channel: str, tags: Iterable[str]) -> Policy | None:
        """The first policy that applies to a conversation on ``channel`` with ``tags``."""
        tags = frozenset(tags)
        return next((p for p in self.policies if p.matches(channel, tags)), None)

    def targets(self, policy: Policy, first_inbound_at: datetime) -> tuple[datetime | None, ...]:
        """``targets`` with these policies' business hours."""
        return targets(policy, first_inbound_at, self.hours)


def targets(
    policy: Policy, first_inbound_at: datetime, hours: BusinessHours | None = None
) -> tuple[datetime | None, datetime | None]:
    """(first response due at, resolution due at) for a conversation whose customer first
    wrote at ``first_inbound_at``: aware UTC, None where the policy sets no such target.

    With ``policy.business_hours``, the time counts in ``hours`` only (real time when
    there are none: the config refuses that, so this is for callers without one).
    """
    start = first_inbound_at.astimezone(UTC)

    def due(seconds: int | None) -> datetime | None:
        if seconds is None:
            return None
        if policy.business_hours and hours is not None:
            return hours.add(start, seconds)
        return start + timedelta(seconds=seconds)

    return due(policy.first_response), due(policy.resolution)


def sla_key(policies: Sequence[Policy], hours: BusinessHours | None) -> str:
    """A short fingerprint of the policies and the business hours (12 hex digits)."""
    described = {
        "policies": [
            [
                p.name,
                sorted(p.channels),
                sorted(p.tags),
                p.first_response,
                p.resolution,
                p.business_hours,
            ]
            for p in policies
        ],
        "hours": None
        if hours is None
        else [
            hours.zone,
            [list(map(list, day)) for day in hours.week],
            sorted(map(str, hours.holidays)),
        ],
    }
    text = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def from_config(config: Config) -> Policies | None:
    """The config's SLA policies ([sla.NAME], in the order written), None when it has none."""
    if not config.sla:
        return None
    from omnitui import hours

    business = hours.from_config(config)
    policies = tuple(
        Policy(
            name=name,
            channels=frozenset(section.channels),
            tags=frozenset(tag.strip().lower() for tag in section.tags),
            first_response=parse_duration(section.first_response)
            if section.first_response
            else None,
            resolution=parse_duration(section.resolution) if section.resolution else None,
            # the config refuses business_hours without [business_hours]
            business_hours=section.business_hours and business is not None,
        )
        for name, section in config.sla.items()
    )
    return Policies(policies, business if any(p.business_hours for p in policies) else None)
