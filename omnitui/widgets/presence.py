"""The line above the composer that says which other agents have the open customer open
("aysel is viewing") or are typing a reply to them ("aysel is typing…"), so two agents
do not answer one customer twice without knowing.

Agent names are login names or ``--agent`` values: shown through omnitui.text, never markup.

Must not import the store or the network.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from omnitui.text import one_line

NAME_WIDTH = 24
"""Characters of an agent's name shown at most."""


def said(names: Sequence[str], verb: str) -> str:
    """ "aysel is typing…", "aysel and bob are viewing", "aysel, bob and 2 more are …"."""
    shown = [one_line(name, NAME_WIDTH) for name in names]
    if len(shown) > 3:
        shown = [*shown[:2], f"{len(shown) - 2} more"]
    who = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    return f"{who} {'is' if len(names) == 1 else 'are'} {verb}"


class PresenceLine(Static):
    """One muted line, shown only while another agent views or types to the open customer."""

    DEFAULT_CSS = """
    PresenceLine {
        display: none;
        height: 1;
        padding: 0 1;
        color: $text-muted;
        &.-shown { display: block; }
        &.-typing { color: $text-warning; }
    }
    """

    def show_agents(self, viewing: Sequence[str], typing: Sequence[str]) -> None:
        """Say who else views the customer and who types to them (both empty: hidden)."""
        parts = []
        if typing:
            parts.append(said(typing, "typing…"))
        if viewing:
            parts.append(said(viewing, "viewing"))
        self.set_class(bool(parts), "-shown")
        self.set_class(bool(typing), "-typing")
        self.update(Text(" · ".join(parts), end="", no_wrap=True, overflow="ellipsis"))

    @property
    def shown(self) -> str:
        """What the line says now ("" while hidden)."""
        return str(self.content) if self.has_class("-shown") else ""
