"""The status line above the footer: the hotlist of customers with unread messages,
runner, connectors, outbox, quarantine, the other agents online, notices.

Connector errors come from the network, account names from the config, agent names
from logins and customer names from customers, so everything here is shown as plain
text through omnitui.text. With the right-to-left display on (omnitui.bidi), the line is
put in visual order in the console's own direction, each of those a cell of its own.

Must not import the store or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from omnitui.formatting import number
from omnitui.i18n import _, ngettext, pgettext
from omnitui.reads import Hotlist, StoreStatus
from omnitui.text import one_line
from omnitui.widgets.rtl import VisualText
from omnitui.widgets.strips import cell
from omnitui.widgets.template import fill

SEPARATOR = (" │ ", "dim")
_GOOD_STATES = ("running", "syncing", "ok", "connected", "idle", "listening")
HOTLIST_NAMES = 3
"""Customers named in the hotlist; the rest are "+N"."""
HOTLIST_NAME_WIDTH = 16


def connector_state(state: str) -> str:
    """A connector's state as the status line says it (what the runner said when unknown)."""
    states = {
        "running": pgettext("connector state", "running"),
        "syncing": pgettext("connector state", "syncing"),
        "ok": pgettext("connector state", "ok"),
        "connected": pgettext("connector state", "connected"),
        "idle": pgettext("connector state", "idle"),
        "listening": pgettext("connector state", "listening"),
        "stopped": pgettext("connector state", "stopped"),
        "backoff": pgettext("connector state", "backoff"),
    }
    return states.get(state) or state


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
        self._outage: str | None = None

    def show_outage(self, error: str | None) -> None:
        """The store is unreachable (``error`` says why), or again reachable (None): shown
        first on the line, in red, for as long as it lasts."""
        if error != self._outage:
            self._outage = error
            self._redraw()

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
        if self._outage is not None:
            said = _("store unreachable, retrying: {error}")
            error = cell(one_line(self._outage, 80))
            line.append_text(fill(said, end="", base="bold white on red", error=error))
            line.append(*SEPARATOR)
        if self._hotlist is not None and self._hotlist.total:
            line.append_text(hotlist_text(self._hotlist))
            line.append(*SEPARATOR)
        status = self.status
        if status is None:
            line.append(_("reading the store…"), style="dim")
        else:
            line.append_text(self._runner(status))
            for connector in status.connectors:
                line.append(*SEPARATOR)
                name = one_line(connector.account, 30)
                state = one_line(connector.state, 20)
                good = connector.state in _GOOD_STATES
                line.append_text(cell(name, "bold"))
                line.append(" ")
                line.append(
                    connector_state(state),
                    style="green" if good else "red" if connector.error else "yellow",
                )
                if connector.detail:
                    line.append(" ")
                    line.append_text(cell(one_line(connector.detail, 40), "cyan"))
                if connector.error:
                    line.append(": ", style="red")
                    line.append_text(cell(one_line(connector.error, 80), "red"))
            line.append(*SEPARATOR)
            line.append_text(self._outbox(status))
            line.append(*SEPARATOR)
            quarantine = status.quarantined
            line.append(
                _("quarantine {count}").format(count=number(quarantine)),
                style="bold yellow" if quarantine else "dim",
            )
        if self._online:
            line.append(*SEPARATOR)
            line.append_text(self._others_online())
        if self._notice is not None:
            line.append(*SEPARATOR)
            line.append_text(self._notice)
        self.update(VisualText(line, self.app))

    def _runner(self, status: StoreStatus) -> Text:
        alive = (
            bool(status.lease_holder)
            and status.lease_expires_at is not None
            and self._now is not None
            and status.lease_expires_at > self._now
        )
        said = _("runner: {holder}")
        if not alive:
            return fill(said, "dim", end="", holder=(_("none"), "bold red"))
        if self._is_own_holder(status.lease_holder):
            return fill(said, "dim", end="", holder=(_("this process"), "bold green"))
        return fill(said, "dim", end="", holder=cell(one_line(status.lease_holder, 60), "bold"))

    @staticmethod
    def _outbox(status: StoreStatus) -> Text:
        waiting = status.queued + status.sending
        # TRANSLATORS: the status line's "outbox 0 queued · 1 failed · 0 unconfirmed"; each
        # placeholder is a count with its word, styled on its own.
        said = _("outbox {queued} · {failed} · {unconfirmed}")
        return fill(
            said,
            "dim",
            end="",
            queued=(
                ngettext("{count} queued", "{count} queued", waiting).format(count=number(waiting)),
                "yellow" if waiting else "dim",
            ),
            failed=(
                ngettext("{count} failed", "{count} failed", status.failed).format(
                    count=number(status.failed)
                ),
                "bold red" if status.failed else "dim",
            ),
            unconfirmed=(
                ngettext("{count} unconfirmed", "{count} unconfirmed", status.unconfirmed).format(
                    count=number(status.unconfirmed)
                ),
                "bold magenta" if status.unconfirmed else "dim",
            ),
        )

    def show_online(self, agents: list[str]) -> None:
        """The other agents whose TUI is running (none: nothing is said)."""
        online = tuple(agents)
        if online != self._online:
            self._online = online
            self._redraw()

    def _others_online(self) -> Text:
        names = [cell(one_line(agent, 20)) for agent in self._online]
        shown = names if len(names) <= 4 else [*names[:3], Text(f"+{number(len(names) - 3)}")]
        agents = Text(", ", style="bold cyan", end="").join(shown)
        return fill(_("online {agents}"), "dim", end="", agents=agents)

    def show_hotlist(self, hotlist: Hotlist) -> None:
        """The customers with unread messages, newest first (none: nothing is said)."""
        if hotlist != self._hotlist:
            self._hotlist = hotlist
            self._redraw()


def hotlist_text(hotlist: Hotlist, names: int = HOTLIST_NAMES) -> Text:
    """ "unread: Leyla(3) Mehmet(1) +4", as weechat's hotlist: the customers with unread
    messages, most recent first, a few by name (customer text: through omnitui.text, never
    markup; each name a cell, in visual order alone with the right-to-left display) and how
    many more."""
    unread = _("unread:")
    line = Text.assemble((f"{unread} ", "dim"), end="")
    shown = hotlist.entries[:names]
    for n, entry in enumerate(shown):
        if n:
            line.append(" ")
        name = one_line(entry.name, HOTLIST_NAME_WIDTH) or f"#{entry.customer_id}"
        line.append_text(cell(name, "bold"))
        line.append(f"({number(entry.unread)})", style="bold yellow")
    more = hotlist.total - len(shown)
    if more > 0:
        line.append(f" +{number(more)}", style="yellow")
    return line
