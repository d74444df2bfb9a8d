"""The status line above the footer: the hotlist of customers with unread messages,
runner, connectors, outbox, quarantine, the other agents online, notices.

Connector errors come from the network, account names from the config, agent names
from logins and customer names from customers, so everything here is shown as plain
text through omnitui.text.

Must not import the store or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from omnitui.reads import Hotlist, StoreStatus
from omnitui.text import one_line

SEPARATOR = (" │ ", "dim")
_GOOD_STATES = ("running", "syncing", "ok", "connected", "idle", "listening")
HOTLIST_NAMES = 3
"""Customers named in the hotlist; the rest are "+N"."""
HOTLIST_NAME_WIDTH = 16


class StatusLine(Static):
    """One line: who runs the runner, each connector's state, delivery counts, a notice."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, *, is_own_holder: Callable[[str], bool], id: str | None = None) -> None:
        super().__init__(id=id)
        self._is_own_holder = is_own_holder
        self.status: StoreStatus | None = None
        self._notice: Text | None = None
        self._now: datetime | None = None
        self._online: tuple[str, ...] = ()
        self._hotlist: Hotlist | None = None

    def show_status(self, status: StoreStatus, now: datetime) -> None:
        self.status = status
        self._now = now
        self._redraw()

    def notice(self, text: str | Text, *, timeout: float = 6.0) -> None:
        """A transient notice at the end of the line (plain text, never markup)."""
        self._notice = text if isinstance(text, Text) else Text(one_line(text, 200))
        self._redraw()
        notice = self._notice
        self.set_timer(timeout, lambda: self._clear_notice(notice))

    def _clear_notice(self, notice: Text) -> None:
        if self._notice is notice:
            self._notice = None
            self._redraw()

    def _redraw(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        if self._hotlist is not None and self._hotlist.total:
            line.append_text(hotlist_text(self._hotlist))
            line.append(*SEPARATOR)
        status = self.status
        if status is None:
            line.append("reading the store…", style="dim")
        else:
            line.append_text(self._runner(status))
            for connector in status.connectors:
                line.append(*SEPARATOR)
                name = one_line(connector.account, 30)
                state = one_line(connector.state, 20)
                good = connector.state in _GOOD_STATES
                line.append(f"{name} ", style="bold")
                line.append(
                    state, style="green" if good else "red" if connector.error else "yellow"
                )
                if connector.detail:
                    line.append(f" {one_line(connector.detail, 40)}", style="cyan")
                if connector.error:
                    line.append(f": {one_line(connector.error, 80)}", style="red")
            line.append(*SEPARATOR)
            line.append_text(self._outbox(status))
            line.append(*SEPARATOR)
            quarantine = status.quarantined
            line.append(f"quarantine {quarantine}", style="bold yellow" if quarantine else "dim")
        if self._online:
            line.append(*SEPARATOR)
            line.append_text(self._others_online())
        if self._notice is not None:
            line.append(*SEPARATOR)
            line.append_text(self._notice)
        self.update(line)

    def _runner(self, status: StoreStatus) -> Text:
        alive = (
            bool(status.lease_holder)
            and status.lease_expires_at is not None
            and self._now is not None
            and status.lease_expires_at > self._now
        )
        if not alive:
            return Text.assemble(("runner: ", "dim"), ("none", "bold red"))
        if self._is_own_holder(status.lease_holder):
            return Text.assemble(("runner: ", "dim"), ("this process", "bold green"))
        return Text.assemble(("runner: ", "dim"), (one_line(status.lease_holder, 60), "bold"))

    @staticmethod
    def _outbox(status: StoreStatus) -> Text:
        parts = Text(end="")
        parts.append("outbox ", style="dim")
        waiting = status.queued + status.sending
        parts.append(f"{waiting} queued", style="yellow" if waiting else "dim")
        parts.append(" · ", style="dim")
        parts.append(f"{status.failed} failed", style="bold red" if status.failed else "dim")
        parts.append(" · ", style="dim")
        parts.append(
            f"{status.unconfirmed} unconfirmed",
            style="bold magenta" if status.unconfirmed else "dim",
        )
        return parts

    def show_online(self, agents: list[str]) -> None:
        """The other agents whose TUI is running (none: nothing is said)."""
        online = tuple(agents)
        if online != self._online:
            self._online = online
            self._redraw()

    def _others_online(self) -> Text:
        names = [one_line(agent, 20) for agent in self._online]
        shown = names if len(names) <= 4 else [*names[:3], f"+{len(names) - 3}"]
        return Text.assemble(("online ", "dim"), (", ".join(shown), "bold cyan"))

    def show_hotlist(self, hotlist: Hotlist) -> None:
        """The customers with unread messages, newest first (none: nothing is said)."""
        if hotlist != self._hotlist:
            self._hotlist = hotlist
            self._redraw()


def hotlist_text(hotlist: Hotlist, names: int = HOTLIST_NAMES) -> Text:
    """ "unread: Leyla(3) Mehmet(1) +4", as weechat's hotlist: the customers with unread
    messages, most recent first, a few by name (customer text: through omnitui.text, never
    markup) and how many more."""
    line = Text.assemble(("unread: ", "dim"), end="")
    shown = hotlist.entries[:names]
    for n, entry in enumerate(shown):
        if n:
            line.append(" ")
        name = one_line(entry.name, HOTLIST_NAME_WIDTH) or f"#{entry.customer_id}"
        line.append(name, style="bold")
        line.append(f"({entry.unread})", style="bold yellow")
    more = hotlist.total - len(shown)
    if more > 0:
        line.append(f" +{more}", style="yellow")
    return line
