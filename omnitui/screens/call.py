"""The window in which an agent logs a phone call on the selected customer (C): who called
whom, how long ("5m30s", "4:30", seconds), how it ended, and notes.

ctrl+s (or enter in the duration field) saves through the callable the screen is given
(the app's write worker); the window stays open until the store has the call, and a
refusal or a bad field is said in it with everything typed kept. esc cancels (a second
esc when notes were typed). Fields are checked by omnitui.calls, as the service and the
`omnitui log-call` verb check them.

Must not import the store or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, RadioButton, RadioSet, Static, TextArea

from omnitui.calls import (
    DIRECTIONS,
    OUTCOMES,
    CallError,
    duration_said,
    outcome_said,
    parse_duration,
)
from omnitui.i18n import _
from omnitui.text import one_line
from omnitui.widgets.rtl import show_title


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """What the agent entered, checked."""

    direction: str
    duration_seconds: int
    outcome: str
    notes: str


SaveCall = Callable[[LoggedCall, Callable[[int], None], Callable[[str], None]], None]
"""Stores a call, then calls the first callable with its message id, or the second with
why the store refused it."""


class CallScreen(ModalScreen[int | None]):
    """Log a call; dismissed with the call's message id (None: cancelled)."""

    CSS_PATH = "call.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", _("Save the call"), id="call-save", priority=True),
        Binding("escape", "close", _("Cancel"), id="call-close"),
    ]

    def __init__(self, customer: str, save: SaveCall) -> None:
        super().__init__()
        self.customer = customer
        self._save = save
        self.saving = False
        self._warned = False

    def compose(self) -> ComposeResult:
        with Vertical(id="call-box"):
            yield Static(Text(_("Direction"), style="bold"), classes="call-label")
            with RadioSet(id="call-direction"):
                yield RadioButton(_("in: the customer called"), value=True, id="call-in")
                yield RadioButton(_("out: we called"), id="call-out")
            yield Static(Text(_("Duration"), style="bold"), classes="call-label")
            yield Input(placeholder=_("5m30s, 4:30 or seconds"), id="call-duration")
            yield Static(Text(_("Outcome"), style="bold"), classes="call-label")
            with RadioSet(id="call-outcome"):
                for index, outcome in enumerate(OUTCOMES):
                    yield RadioButton(
                        outcome_said(outcome), value=index == 0, id=f"call-outcome-{outcome}"
                    )
            yield Static(Text(_("Notes"), style="bold"), classes="call-label")
            yield TextArea(id="call-notes", soft_wrap=True)
            yield Static(id="call-notice")

    def on_mount(self) -> None:
        title = _("Log a call · {customer}").format(customer=one_line(self.customer, 60))
        show_title(self.query_one("#call-box"), title)
        self.notice(Text(_("ctrl+s saves · tab moves · esc cancels"), style="dim"))
        self.query_one("#call-direction", RadioSet).focus()

    def notice(self, text: Text) -> None:
        self.query_one("#call-notice", Static).update(text)

    @on(Input.Changed, "#call-duration")
    def _typed(self, event: Input.Changed) -> None:
        if not event.value.strip():
            self.notice(Text(_("ctrl+s saves · tab moves · esc cancels"), style="dim"))
            return
        try:
            seconds = parse_duration(event.value)
        except CallError as exc:
            self.notice(Text(one_line(str(exc), 200), style="red"))
            return
        self.notice(Text(f"→ {duration_said(seconds)}", style="bold green"))

    @on(Input.Submitted, "#call-duration")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def entered(self) -> LoggedCall:
        """The fields as a call; CallError says which one cannot be taken."""
        direction = self._chosen("#call-direction", DIRECTIONS)
        typed = self.query_one("#call-duration", Input).value
        seconds = parse_duration(typed) if typed.strip() else 0
        outcome = self._chosen("#call-outcome", OUTCOMES)
        notes = self.query_one("#call-notes", TextArea).text
        return LoggedCall(direction, seconds, outcome, notes)

    def _chosen(self, selector: str, values: tuple[str, ...]) -> str:
        index = self.query_one(selector, RadioSet).pressed_index
        return values[max(index, 0)]

    def action_save(self) -> None:
        if self.saving:
            return
        try:
            call = self.entered()
        except CallError as exc:
            self.notice(Text(one_line(str(exc), 200), style="bold red"))
            self.query_one("#call-duration", Input).focus()
            return
        self.saving = True
        self.notice(Text(_("Saving…"), style="dim"))
        self._save(call, self._saved, self._refused)

    def _saved(self, message_id: int) -> None:
        self.dismiss(message_id)

    def _refused(self, error: str) -> None:
        self.saving = False
        said = _("Not saved: {error}").format(error=one_line(error, 200))
        self.notice(Text(said, style="bold red"))

    def action_close(self) -> None:
        notes = self.query_one("#call-notes", TextArea).text
        if notes.strip() and not self._warned:
            self._warned = True
            said = _("The notes are not saved: esc again discards them, ctrl+s saves.")
            self.notice(Text(said, style="bold yellow"))
            return
        self.dismiss(None)
