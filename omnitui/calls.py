"""Phone calls as values: their directions and outcomes, a duration as an agent or a phone
system writes it ("5m30s", "4:30", "330"), how one is said ("5m 30s"), and a phone number
made the one form a phone identity's address has ("+994501234567").

Shared by the service (inbox.log_call), the CLI verb and the call window, so that all
three accept and refuse the same things in the same words. Pure: no store, no Textual.
"""

from __future__ import annotations

import re

from omnitui.i18n import _, pgettext

CHANNEL = "phone"
"""The channel of a call's message, a call conversation's and a phone identity's."""
ACCOUNT = "phone"
"""The account of a logged call's message: (account, external id) makes logging idempotent."""
KIND = "call"
"""message.kind of a logged call."""
DIRECTIONS = ("in", "out")
OUTCOMES = ("answered", "missed", "voicemail", "busy", "no-answer")
UNANSWERED = ("missed", "voicemail", "busy", "no-answer")
"""Outcomes of an inbound call that someone must return: the customer counts as unread."""
MAX_DURATION = 24 * 3600
"""The longest call taken (seconds): anything longer is a typo, refused."""

_UNITS = re.compile(r"(\d+)\s*([hms])")
_CLOCK = re.compile(r"\d{1,3}(:\d{1,2}){1,2}")
_NUMBER_JUNK = re.compile(r"[\s().\-/]")


class CallError(ValueError):
    """A call's field that cannot be taken, said in the console's language."""


def check_direction(direction: str) -> str:
    said = direction.strip().lower()
    if said not in DIRECTIONS:
        problem = _("direction {direction} is not one of {directions}")
        raise CallError(problem.format(direction=repr(direction), directions="in, out"))
    return said


def check_outcome(outcome: str) -> str:
    """The outcome as stored ("No_Answer" -> "no-answer"), or CallError naming the choices."""
    said = outcome.strip().lower().replace("_", "-").replace(" ", "-")
    if said == "noanswer":
        said = "no-answer"
    if said not in OUTCOMES:
        problem = _("outcome {outcome} is not one of {outcomes}")
        raise CallError(problem.format(outcome=repr(outcome), outcomes=", ".join(OUTCOMES)))
    return said


def check_duration(seconds: int) -> int:
    if seconds < 0 or seconds > MAX_DURATION:
        problem = _("a call of {seconds} seconds? (0 to {most})")
        raise CallError(problem.format(seconds=seconds, most=MAX_DURATION))
    return seconds


def parse_duration(text: str) -> int:
    """Seconds from "330", "5m30s", "5m 30s", "1h2m", "4:30" (m:ss) or "1:02:03" (h:mm:ss)."""
    said = text.strip().lower()
    if said.isdigit():
        return check_duration(int(said))
    if _CLOCK.fullmatch(said):
        parts = [int(p) for p in said.split(":")]
        if all(p < 60 for p in parts[1:]):
            seconds = 0
            for part in parts:
                seconds = seconds * 60 + part
            return check_duration(seconds)
    pieces = _UNITS.findall(said)
    if pieces and not _UNITS.sub("", said).strip():
        units = [unit for _count, unit in pieces]
        if len(set(units)) == len(units):
            scale = {"h": 3600, "m": 60, "s": 1}
            return check_duration(sum(int(count) * scale[unit] for count, unit in pieces))
    problem = _("duration {duration} is not seconds, 5m30s or 4:30")
    raise CallError(problem.format(duration=repr(text)))


def duration_said(seconds: int) -> str:
    """A call's length as the history says it: "5m 30s", "1h 2m", "45s", "0s"."""
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(pgettext("duration", "{count}h").format(count=hours))
    if minutes:
        parts.append(pgettext("duration", "{count}m").format(count=minutes))
    if secs or not parts:
        parts.append(pgettext("duration", "{count}s").format(count=secs))
    return " ".join(parts)


def outcome_said(outcome: str) -> str:
    """An outcome in the console's language; one not known by its own name."""
    names = {
        "answered": pgettext("call outcome", "answered"),
        "missed": pgettext("call outcome", "missed"),
        "voicemail": pgettext("call outcome", "voicemail"),
        "busy": pgettext("call outcome", "busy"),
        "no-answer": pgettext("call outcome", "no answer"),
    }
    return names.get(outcome, outcome)


def normalize_number(number: str) -> str:
    """A phone number as a phone identity's address: "+" and its digits ("00994 50 123-45-67"
    -> "+994501234567"). A number without "+" or "00" is taken as written with its country
    code. CallError when it is no phone number (letters, fewer than 5 or more than 15
    digits)."""
    said = _NUMBER_JUNK.sub("", number.strip())
    if said.startswith("00"):
        said = said[2:]
    elif said.startswith("+"):
        said = said[1:]
    if not said.isascii() or not said.isdigit() or not 5 <= len(said) <= 15:
        raise CallError(_("{number} is not a phone number").format(number=repr(number)))
    return f"+{said}"
