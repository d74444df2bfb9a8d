"""Telling the agent a customer wrote: the terminal's bell and desktop notifications
through the terminal (OSC 9 and OSC 777), chosen in the config's ``[notify]`` (off by
default).

What rings: a customer's message stored after the TUI started (reads.NewInbound: never
a reply or note of ours, never a blocked sender's), on a conversation assigned to this
agent unless ``mine_only`` is off, still unread, and not from the customer the agent is
looking at; at most one notification a customer every ``quiet_seconds``, and a handful
at a time when a sync brings in many at once.

An OSC payload reaches the agent's terminal as it is: customer text in it could end the
sequence and start another (a clipboard write, a title change, a ConEmu command). So a
name or a message goes through ``text.one_line`` (escape sequences, C0/C1 controls, bidi
overrides, newlines removed), loses its ``;`` (the field separator of OSC 777 and of
ConEmu's OSC 9 commands) and is cut short.

Pure: the app writes what ``Notifier.sequences`` returns through Textual's driver.
Must not import Textual, the store or the network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from omnitui.text import one_line

if TYPE_CHECKING:
    from omnitui.reads import NewInbound

BELL = "\x07"
NAME_WIDTH = 40
"""Characters of the customer's name in a notification at most."""
TEXT_WIDTH = 100
"""Characters of the message in a notification at most."""
AT_ONCE = 3
"""Desktop notifications written for one batch of new messages at most."""
TITLE = "omnitui"


def payload(raw: str, width: int) -> str:
    """Customer text made safe for an OSC payload: one line of printable text without
    escape sequences or ``;``, at most ``width`` characters."""
    # Cleaned first: a ";" turned "," inside an escape sequence would hide its end.
    return one_line(raw, width).replace(";", ",")


def osc9(message: str) -> str:
    """OSC 9 (iTerm2, Windows Terminal, kitty, WezTerm): ``message`` as a notification.
    ``message`` must be a ``payload``."""
    return f"\x1b]9;{message}{BELL}"


def osc777(title: str, body: str) -> str:
    """OSC 777 (urxvt, foot, Ghostty): a notification with a title. Both must be payloads."""
    return f"\x1b]777;notify;{title};{body}{BELL}"


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """The config's ``[notify]``, as the app reads it after the first paint."""

    bell: bool = False
    desktop: bool = False
    mine_only: bool = True
    quiet_seconds: float = 60.0

    @property
    def on(self) -> bool:
        return self.bell or self.desktop


class Notifier:
    """Decides which new messages ring and writes the sequences for them."""

    def __init__(self, settings: NotifySettings, agent: str) -> None:
        self.settings = settings
        self.agent = agent
        self._last: dict[int, float] = {}
        """When each customer last rang (monotonic seconds)."""

    def wanted(self, message: NewInbound, reading: int | None) -> bool:
        """Whether ``message`` is one to tell the agent about (before the quiet time)."""
        if message.customer_id == reading or message.unread <= 0:
            return False
        return not self.settings.mine_only or message.assignee == self.agent

    def sequences(self, messages: Iterable[NewInbound], *, now: float, reading: int | None) -> str:
        """What to write to the terminal for ``messages`` (oldest first), "" for nothing.

        ``reading``: the customer whose history the agent is looking at (their messages
        show as they come); ``now``: monotonic seconds, for the quiet time.
        """
        if not self.settings.on:
            return ""
        told: list[NewInbound] = []
        for message in messages:
            if not self.wanted(message, reading):
                continue
            last = self._last.get(message.customer_id)
            if last is not None and now - last < self.settings.quiet_seconds:
                continue
            self._last[message.customer_id] = now
            told.append(message)
        if not told:
            return ""
        out = [BELL] if self.settings.bell else []
        if self.settings.desktop:
            for message in told[-AT_ONCE:]:
                name = payload(message.name, NAME_WIDTH) or "a customer"
                text = payload(message.text, TEXT_WIDTH)
                out.append(osc9(f"{name}: {text}"))
                out.append(osc777(f"{TITLE}: {name}", text))
        return "".join(out)
