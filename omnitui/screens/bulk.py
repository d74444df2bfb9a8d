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

from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.text import one_line


@dataclass(frozen=True, slots=True)
class BulkChoice:
    """What to do to every conversation: ``action`` as inbox.bulk_apply names it."""

    action: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def said(self, count: int, *, of_customers: bool = False) -> str:
        """The question before it runs: "Resolve 12 conversations?", or with
        ``of_customers`` "Resolve the current conversations of 3 customers?"."""
        if self.action == "resolve":
            asked = (
                ngettext(
                    "Resolve the current conversation of {count} customer?",
                    "Resolve the current conversations of {count} customers?",
                    count,
                )
                if of_customers
                else ngettext(
                    "Resolve {count} conversation?", "Resolve {count} conversations?", count
                )
            )
        elif self.action == "assign_me":
            asked = (
                ngettext(
                    "Assign the current conversation of {count} customer to you?",
                    "Assign the current conversations of {count} customers to you?",
                    count,
                )
                if of_customers
                else ngettext(
                    "Assign {count} conversation to you?",
                    "Assign {count} conversations to you?",
                    count,
                )
            )
        else:
            asked = (
                ngettext(
                    "Tag the current conversation of {count} customer: {tags}?",
                    "Tag the current conversations of {count} customers: {tags}?",
                    count,
                )
                if of_customers
                else ngettext(
                    "Tag {count} conversation: {tags}?",
                    "Tag {count} conversations: {tags}?",
                    count,
                )
            )
        tags = " ".join([*(f"+{t}" for t in self.add), *(f"-{t}" for t in self.remove)])
        return asked.format(count=number(count), tags=one_line(tags, 120))


def bulk_done(changed: int, conversations: int) -> str:
    """What a bulk action did: "Bulk action: 3 of 5 conversations changed"."""
    said = ngettext(
        "Bulk action: {changed} of {total} conversation changed",
        "Bulk action: {changed} of {total} conversations changed",
        conversations,
    )
    return said.format(changed=number(changed), total=number(conversations))


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
        Binding("r", "pick('resolve')", _("Resolve them all"), id="bulk-resolve"),
        Binding("a", "pick('assign_me')", _("Assign them all to me"), id="bulk-assign-me"),
        Binding("t", "pick('tags')", _("Tag them all"), id="bulk-tags"),
        Binding("escape,q", "close", _("Cancel"), id="bulk-close"),
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
                Text(_("r resolve · a assign to me · t tags… · esc cancel"), style="dim"),
                classes="workflow-info",
            )

    def on_mount(self) -> None:
        self.query_one("#bulk-box").border_title = _("Bulk action")

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
    count: int,
    list_tags: Callable[[], list[str]],
    apply: Callable[[BulkChoice], None],
    *,
    of_customers: bool = False,
) -> None:
    """Pick an action for a batch (``what`` says what it is), confirm it naming its
    ``count`` ("12 conversations", or with ``of_customers`` "the current conversations of
    3 customers"), then ``apply`` it."""
    from omnitui.screens.workflow import ConfirmScreen

    def picked(choice: BulkChoice | None) -> None:
        if choice is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                apply(choice)

        question = Text(choice.said(count, of_customers=of_customers))
        app.push_screen(ConfirmScreen(_("Bulk action"), question), confirmed)

    app.push_screen(BulkScreen(what, list_tags), picked)
