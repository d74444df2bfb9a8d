"""The line between the history and the composer that says the open customer's web chat
visitor is typing ("Reza Ahmadi is typing…"). It hides itself when the typing it was shown
for gets old, so a visitor who stopped needs no further read to disappear.

The name is customer text: it goes through omnitui.text and is never markup, and is a cell
of the sentence (in visual order alone with the right-to-left display).

Must not import the store or the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from omnitui.i18n import _
from omnitui.text import one_line
from omnitui.widgets.rtl import VisualText
from omnitui.widgets.strips import cell
from omnitui.widgets.template import fill

if TYPE_CHECKING:
    from textual.timer import Timer


class TypingLine(Static):
    """One muted line, shown only while someone is typing."""

    DEFAULT_CSS = """
    TypingLine {
        display: none;
        height: 1;
        padding: 0 1;
        color: $text-muted;
        text-style: italic;
        &.-typing { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._expiry: Timer | None = None

    def show_typing(self, name: str | None, seconds: float = 0.0) -> None:
        """Say ``name`` (a display name; "" for a visitor without one) is typing, for
        ``seconds``; None, or no time left, hides the line."""
        if self._expiry is not None:
            self._expiry.stop()
            self._expiry = None
        if name is None or seconds <= 0:
            self.remove_class("-typing")
            return
        who = one_line(name, 60)
        if who:
            said = fill(_("{name} is typing…"), end="", name=cell(who))
        else:
            said = Text(_("Visitor is typing…"), end="")
        self.update(VisualText(said, self.app))
        self.add_class("-typing")
        self._expiry = self.set_timer(seconds, lambda: self.show_typing(None))

    @property
    def shown(self) -> str:
        """What the line says now ("" while hidden)."""
        return str(self.content) if self.has_class("-typing") else ""
