"""The help screen (?): every binding of every screen, its key after the keymap, and its id.

The id is what a keymap in the config names (``[keymap] reply = "ctrl+r"``). With the
right-to-left display on (omnitui.bidi), the words of each row (a Persian console's) are put
in visual order after the table wraps them.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.i18n import _
from omnitui.widgets.rtl import VisualText, show_title


class BindingRow(NamedTuple):
    section: str
    keys: str
    description: str
    id: str


class HelpScreen(ModalScreen[None]):
    """Keys, grouped by where they work."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", _("Close help"), id="help-close"),
        Binding("j,down", "scroll_down", _("Down"), id="help-down", show=False),
        Binding("k,up", "scroll_up", _("Up"), id="help-up", show=False),
    ]

    def __init__(self, rows: list[BindingRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table(), id="help-table")
            yield Static(
                VisualText(
                    Text(
                        _(
                            'Rebind any key in the config file: [keymap] <id> = "key" '
                            '(several keys: "ctrl+s,f5").  esc closes.'
                        ),
                        style="dim",
                    ),
                    self.app,
                ),
                id="help-hint",
            )

    def on_mount(self) -> None:
        show_title(self.query_one("#help-box"), _("Keys"))

    def _table(self) -> Table:
        table = Table(box=None, expand=True, pad_edge=False, show_edge=False)
        app = self.app
        table.add_column(VisualText(Text(_("where")), app), style="dim", no_wrap=True)
        table.add_column(VisualText(Text(_("key")), app), style="bold", no_wrap=True)
        table.add_column(VisualText(Text(_("what it does")), app))
        table.add_column(VisualText(Text(_("id (for the keymap)")), app), style="dim", no_wrap=True)
        section = ""
        for row in self.rows:
            shown = row.section if row.section != section else ""
            if shown and section:
                table.add_row("", "", "", "")
            section = row.section
            table.add_row(
                VisualText(Text(shown), app),
                Text(row.keys),
                VisualText(Text(row.description), app),
                Text(row.id),
            )
        return table

    def action_scroll_down(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).scroll_up(animate=False)
