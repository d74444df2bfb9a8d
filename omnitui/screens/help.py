"""The help screen (?): every binding of every screen, its key after the keymap, and its id.

The id is what a keymap in the config names (``[keymap] reply = "ctrl+r"``).
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


class BindingRow(NamedTuple):
    section: str
    keys: str
    description: str
    id: str


class HelpScreen(ModalScreen[None]):
    """Keys, grouped by where they work."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help-close"),
        Binding("j,down", "scroll_down", "Down", id="help-down", show=False),
        Binding("k,up", "scroll_up", "Up", id="help-up", show=False),
    ]

    def __init__(self, rows: list[BindingRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table(), id="help-table")
            yield Static(
                Text(
                    'Rebind any key in the config file: [keymap] <id> = "key" '
                    '(several keys: "ctrl+s,f5").  esc closes.',
                    style="dim",
                ),
                id="help-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Keys"

    def _table(self) -> Table:
        table = Table(box=None, expand=True, pad_edge=False, show_edge=False)
        table.add_column("where", style="dim", no_wrap=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what it does")
        table.add_column("id (for the keymap)", style="dim", no_wrap=True)
        section = ""
        for row in self.rows:
            shown = row.section if row.section != section else ""
            if shown and section:
                table.add_row("", "", "", "")
            section = row.section
            table.add_row(Text(shown), Text(row.keys), Text(row.description), Text(row.id))
        return table

    def action_scroll_down(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).scroll_up(animate=False)
