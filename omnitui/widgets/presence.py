"""The line above the composer that says which other agents have the open customer open
("aysel is viewing") or are typing a reply to them ("aysel is typing…"), so two agents
do not answer one customer twice without knowing.

Agent names are login names or ``--agent`` values: shown through omnitui.text, never markup,
each a cell of the sentence (in visual order alone with the right-to-left display).

Must not import the store or the network.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.text import one_line
from omnitui.widgets.rtl import VisualText
from omnitui.widgets.strips import cell
from omnitui.widgets.template import fill

NAME_WIDTH = 24
"""Characters of an agent's name shown at most."""


def listed(names: Sequence[str]) -> str:
    """ "aysel", "aysel and bob", "aysel, bob and cem" (names already made safe)."""
    if len(names) == 1:
        return names[0]
    return _("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])


def _listed_text(names: Sequence[Text]) -> Text:
    """``listed`` with each name a cell of its own."""
    if len(names) == 1:
        return names[0]
    others = Text(", ", end="").join(names[:-1])
    return fill(_("{names} and {last}"), end="", names=others, last=names[-1])


def said(names: Sequence[str], typing: bool) -> Text:
    """ "aysel is typing…", "aysel and bob are viewing", "aysel, bob and 2 more are …"."""
    shown = [cell(one_line(name, NAME_WIDTH)) for name in names]
    if len(shown) > 3:
        more = len(shown) - 2
        shown = [
            *shown[:2],
            Text(ngettext("{count} more", "{count} more", more).format(count=number(more))),
        ]
    if typing:
        verb = ngettext("{names} is typing…", "{names} are typing…", len(names))
    else:
        verb = ngettext("{names} is viewing", "{names} are viewing", len(names))
    return fill(verb, end="", names=_listed_text(shown))


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
            parts.append(said(typing, typing=True))
        if viewing:
            parts.append(said(viewing, typing=False))
        self.set_class(bool(parts), "-shown")
        self.set_class(bool(typing), "-typing")
        line = Text(" · ", end="", no_wrap=True, overflow="ellipsis").join(parts)
        self.update(VisualText(line, self.app))

    @property
    def shown(self) -> str:
        """What the line says now ("" while hidden)."""
        return str(self.content) if self.has_class("-shown") else ""
