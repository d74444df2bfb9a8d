"""Bulk actions: one team action on many conversations (the customers selected in the list,
or every conversation a search found): pick the action, see how many it touches, say yes.

``ask_bulk`` runs the whole exchange: the action picker (``BulkScreen``: resolve, assign
to me, tags…), the tag line for tags (workflow.TagScreen), then a yes/no naming the count
(workflow.ConfirmScreen); only a yes calls ``apply``, which hands the batch to
``inbox.bulk_apply`` through the app (one transaction, an event a conversation).

Must not import the store or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.text import one_line


@dataclass(frozen=True, slots=True)
class BulkChoice:
    """What to do to every conversation: ``action`` as inbox.bulk_apply names it."""

    action: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def said(self, what: str) -> str:
        """The question before it runs: "Resolve 12 conversations?" (``what``: which)."""
        if self.action == "resolve":
            return f"Resolve {what}?"
        if self.action == "assign_me":
            return f"Assign {what} to you?"
        tags = " ".join([*(f"+{t}" for t in self.add), *(f"-{t}" for t in self.remove)])
        return f"Tag {what}: {one_line(tags, 120)}?"


class BulkScreen(ModalScreen[BulkChoice | None]):
    """The action for a batch: r resolve, a assign to me, t tags…, esc cancel."""

    CSS_PATH = "workflow.tcss"
    DEFAULT_CSS = """
    BulkScreen {
        align: center middle;
        background: $background 60%;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "pick('resolve')", "Resolve them all", id="bulk-resolve"),
        Binding("a", "pick('assign_me')", "Assign them all to me", id="bulk-assign-me"),
        Binding("t", "pick('tags')", "Tag them all", id="bulk-tags"),
        Binding("escape,q", "close", "Cancel", id="bulk-close"),
    ]

    def __init__(self, what: str, list_tags: Callable[[], list[str]]) -> None:
        super().__init__()
        self.what = what
        """What the batch is, in words ("12 selected customers' current conversations")."""
        self._list_tags = list_tags

    def compose(self) -> ComposeResult:
        with Vertical(id="bulk-box", classes="workflow-box"):
            yield Static(Text(self.what), id="bulk-what")
            yield Static(
                Text("r resolve · a assign to me · t tags… · esc cancel", style="dim"),
                classes="workflow-info",
            )

    def on_mount(self) -> None:
        self.query_one("#bulk-box").border_title = "Bulk action"

    def action_pick(self, action: str) -> None:
        if action != "tags":
            self.dismiss(BulkChoice(action))
            return
        from omnitui.screens.workflow import TagScreen

        def tagged(change: tuple[list[str], list[str]] | None) -> None:
            if change is not None:
                self.dismiss(BulkChoice("tags", tuple(change[0]), tuple(change[1])))

        self.app.push_screen(TagScreen((), self._list_tags), tagged)

    def action_close(self) -> None:
        self.dismiss(None)


def ask_bulk(
    app: App[object],
    what: str,
    target: str,
    list_tags: Callable[[], list[str]],
    apply: Callable[[BulkChoice], None],
) -> None:
    """Pick an action for a batch (``what`` says what it is), confirm it naming ``target``
    with its count ("12 conversations", "the current conversations of 3 customers"), then
    ``apply`` it."""
    from omnitui.screens.workflow import ConfirmScreen

    def picked(choice: BulkChoice | None) -> None:
        if choice is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                apply(choice)

        app.push_screen(ConfirmScreen("Bulk action", Text(choice.said(target))), confirmed)

    app.push_screen(BulkScreen(what, list_tags), picked)
