"""Textual's Footer with each key's words in visual order while the right-to-left display is
on (omnitui.bidi): a Persian console's "پاسخ" would otherwise read backwards.

Footer draws a binding's description as a plain string in a ``FooterKey`` it makes on every
recompose; the words are turned there, each label alone (a cell: the keys stay in their
places), and D recomposes the footer. Imported after the first paint, with the Footer.

Must not import the store or the network.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

from omnitui.bidi import RtlDisplay
from omnitui.widgets.rtl import app_rtl
from omnitui.widgets.strips import visual_cell


class Footer(TextualFooter):
    """The keys of the screen and what they do, in the console's language and its order."""

    def compose(self) -> ComposeResult:
        rtl = app_rtl(self.app)
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.description:
                widget.description = visual_cell(widget.description, rtl)
            yield widget

    def set_rtl(self, rtl: RtlDisplay) -> None:
        """Draw the keys again with another right-to-left display."""
        self.refresh(recompose=True)
