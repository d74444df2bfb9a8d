"""The composer's text area: a ``TextArea`` with the composer's send and leave keys,
and ``::`` (typed at the start of a line or after a space), which asks for the canned
reply picker.

A module of its own so that Textual's ``TextArea`` (its import, CSS and first render)
loads after the first paint: the composer shows a look-alike until then.

Must not import the store or the network.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea
from textual.widgets.text_area import Location

from omnitui.canned import opens_picker
from omnitui.i18n import _


class ComposerArea(TextArea):
    """The text area of the composer, with its send and leave keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,f5", "submit", _("Send"), id="send", priority=True),
        Binding("escape", "leave", _("Leave composer"), id="leave-composer"),
        Binding("ctrl+o", "cycle_channel", _("Channel"), id="composer-channel"),
        Binding("ctrl+n", "toggle_mode", _("Reply/note"), id="composer-mode"),
        Binding("ctrl+t", "attach_file", _("Attach file"), id="attach-file"),
    ]

    class Submit(Message):
        pass

    class Leave(Message):
        pass

    class CycleChannel(Message):
        pass

    class ToggleMode(Message):
        pass

    class AttachFile(Message):
        pass

    class CannedWanted(Message):
        """The agent typed ``::``, which runs from ``start`` to ``end`` (the picker's choice
        replaces it)."""

        def __init__(self, start: Location, end: Location) -> None:
            super().__init__()
            self.start = start
            self.end = end

    def on_key(self, event: events.Key) -> None:
        # Runs before TextArea's own handler puts the character in, hence the +1.
        if event.character != ":" or self.read_only:
            return
        start, end = self.selection
        row, column = end
        if start == end and opens_picker(self.document[row][:column]):
            self.post_message(self.CannedWanted((row, column - 1), (row, column + 1)))

    def action_submit(self) -> None:
        self.post_message(self.Submit())

    def action_leave(self) -> None:
        self.post_message(self.Leave())

    def action_cycle_channel(self) -> None:
        self.post_message(self.CycleChannel())

    def action_toggle_mode(self) -> None:
        self.post_message(self.ToggleMode())

    def action_attach_file(self) -> None:
        self.post_message(self.AttachFile())
