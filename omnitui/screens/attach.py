"""The attach window (ctrl+t in the composer): type a file's path, enter attaches it.

``~`` is the agent's home; tab completes the path (one ``os.scandir`` of its folder, in
a thread); enter checks the file (the app's check: the rule the reply is queued under)
and lists it, or says inline why not (no such file, over the size limit) and adds
nothing; backspace on an empty path takes the last file off; enter on an empty path or
esc closes the window. Dismissed with the files attached now. The files are sent by the
app when the reply is queued. Must not import the store or the network.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.text import one_line
from omnitui.widgets.attachments import AttachedFile, attached_text
from omnitui.widgets.commands import ActionCommands, Command
from omnitui.widgets.rtl import show_title

log = logging.getLogger(__name__)

SHOWN_CANDIDATES = 8
"""Names listed when a tab completes to several."""
SHOWN_FILES = 10
"""Attached files the window lists (the newest; a line says how many more there are)."""
SCANNED_AT_MOST = 5_000
"""Entries of a folder looked at for a completion (a huge folder must not stall it)."""

Check = Callable[[Path], AttachedFile]
"""Looks at a file as the reply would (run in a thread); ValueError says why it cannot go."""


def expand(typed: str) -> Path:
    """The path the agent typed, with ``~`` expanded, made absolute."""
    return Path(os.path.expanduser(typed.strip())).absolute()


def complete_path(typed: str) -> tuple[str, list[str]]:
    """The typed path completed as far as its folder's entries agree, and the entries that
    still match (directories with a ``/``). Hidden entries only when asked for with a dot."""
    if typed == "~":
        typed = "~/"
    folder_part = typed[: typed.rfind("/") + 1]
    stem = typed[len(folder_part) :]
    folder = os.path.expanduser(folder_part) if folder_part else "."
    names: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= SCANNED_AT_MOST:
                    break
                if not entry.name.startswith(stem):
                    continue
                if entry.name.startswith(".") and not stem.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                names.append(entry.name + ("/" if is_dir else ""))
    except OSError:
        return typed, []
    if not names:
        return typed, []
    names.sort()
    common = names[0]  # the characters every name starts with (not path components)
    for name in names[1:]:
        while not name.startswith(common):
            common = common[:-1]
    return folder_part + common, names


class PathInput(Input):
    """The path line: tab completes, backspace on an empty line takes the last file off."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", _("Complete the path"), id="attach-complete", show=False),
        Binding(
            "backspace",
            "delete_left_or_remove",
            _("Delete; on an empty path, remove the last file"),
            id="attach-remove-last",
            show=False,
        ),
    ]

    class RemoveLast(Message):
        """Backspace on an empty path: take the last attached file off."""

    class Completed(Message):
        """A tab completion ran: the names that still match (several: none was chosen)."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    class _Found(Message, bubble=False):
        def __init__(self, typed: str, completed: str, names: list[str]) -> None:
            super().__init__()
            self.typed = typed
            self.completed = completed
            self.names = names

    def action_delete_left_or_remove(self) -> None:
        if self.value:
            self.action_delete_left()
        else:
            self.post_message(self.RemoveLast())

    def action_complete(self) -> None:
        self._complete(self.value)

    @work(thread=True, exclusive=True, group="path-complete", exit_on_error=False)
    def _complete(self, typed: str) -> None:
        try:
            completed, names = complete_path(typed)
        except Exception:
            log.exception("completing a path failed")
            return
        self.post_message(self._Found(typed, completed, names))

    @on(_Found)
    def _found(self, message: _Found) -> None:
        if self.value != message.typed:  # the agent typed on meanwhile
            return
        if message.completed != self.value:
            self.value = message.completed
            self.cursor_position = len(self.value)
        self.post_message(self.Completed(message.names))


class AttachCommands(ActionCommands):
    """The attach window's actions in the command palette."""

    def commands(self) -> Sequence[Command]:
        if not isinstance(self.screen, AttachScreen):
            return ()
        return [
            (_("Complete path"), _("Complete the path typed so far (tab)"), "complete"),
            (_("Remove last file"), _("Take the last attached file off the reply"), "remove_last"),
            (_("Done attaching"), _("Close the attach window, keeping the files"), "close"),
        ]


class AttachScreen(ModalScreen[list[AttachedFile]]):
    """The files of one reply: a path line, the files attached so far, what went wrong."""

    CSS_PATH = "attach.tcss"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {AttachCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Done"), id="attach-close"),
    ]

    class _Checked(Message, bubble=False):
        def __init__(self, typed: str, file: AttachedFile | None, error: str) -> None:
            super().__init__()
            self.typed = typed
            self.file = file
            self.error = error

    def __init__(self, files: Sequence[AttachedFile], check: Check, *, customer: str) -> None:
        super().__init__()
        self.files = list(files)
        self._check = check
        self._customer = customer
        self.message_text = ""
        """What the window says under the path (an error, or what was attached)."""
        self.checking = False

    def compose(self) -> ComposeResult:
        with Vertical(id="attach-box"):
            yield Static(id="attach-files")
            yield PathInput(
                placeholder=_("a file's path (~ is home; tab completes)"), id="attach-path"
            )
            yield Static(id="attach-message")
            yield Static(
                Text(
                    _(
                        "enter attaches · tab completes · backspace on an empty path removes "
                        "the last file · esc closes"
                    ),
                    style="dim",
                ),
                id="attach-hint",
            )

    def on_mount(self) -> None:
        box = self.query_one("#attach-box")
        title = _("Attach files to the reply to {customer}")
        # A customer's name: plain text, never markup (show_title), in visual order.
        show_title(box, title.format(customer=one_line(self._customer, 60)))
        self._show_files()
        self.query_one(PathInput).focus()

    def _show_files(self) -> None:
        files = self.files
        lines = [attached_text(file) for file in files]
        if len(files) > SHOWN_FILES:  # the newest stay in sight: backspace takes them off
            skipped = len(files) - (SHOWN_FILES - 1)
            more = ngettext("… {count} more before these", "… {count} more before these", skipped)
            lines = [Text(more.format(count=number(skipped)), style="dim"), *lines[skipped:]]
        listing = (
            Text("\n").join(lines) if lines else Text(_("No file attached yet."), "dim italic")
        )
        self.query_one("#attach-files", Static).update(listing)

    def say(self, text: str, *, error: bool = False) -> None:
        self.message_text = one_line(text, 300)  # paths and names may carry anything
        self.query_one("#attach-message", Static).update(
            Text(self.message_text, style="bold red" if error else "")
        )

    # -- attaching -------------------------------------------------------------------------

    @on(Input.Submitted, "#attach-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        if not typed:
            self.action_close()
            return
        if self.checking:
            return
        self.checking = True
        self.say(_("Looking at {path}…").format(path=typed))
        self._look_at(typed)

    @work(thread=True, exclusive=True, group="attach-check", exit_on_error=False)
    def _look_at(self, typed: str) -> None:
        try:
            file = self._check(expand(typed))
        except ValueError as exc:
            self.post_message(self._Checked(typed, None, str(exc)))
            return
        except Exception as exc:
            log.exception("checking %r failed", typed)
            self.post_message(self._Checked(typed, None, f"{typed}: {exc}"))
            return
        self.post_message(self._Checked(typed, file, ""))

    @on(_Checked)
    def _checked(self, message: _Checked) -> None:
        self.checking = False
        file = message.file
        if file is None:
            self.say(message.error, error=True)
            return
        if any(f.path == file.path for f in self.files):
            self.say(_("{name} is attached already.").format(name=file.name), error=True)
            return
        self.files.append(file)
        self._show_files()
        path = self.query_one(PathInput)
        if path.value.strip() == message.typed:
            path.value = ""
        self.say(_("Attached {name}. Another path, or enter to close.").format(name=file.name))

    @on(PathInput.RemoveLast)
    def _remove_last(self, event: PathInput.RemoveLast) -> None:
        event.stop()
        self.action_remove_last()

    @on(PathInput.Completed)
    def _completed(self, event: PathInput.Completed) -> None:
        event.stop()
        names = event.names
        if not names:
            self.say(_("Nothing there starts so."))
        elif len(names) == 1:
            self.say("")
        else:
            shown = " · ".join(one_line(name, 40) for name in names[:SHOWN_CANDIDATES])
            more = len(names) - SHOWN_CANDIDATES
            if more > 0:
                shown = ngettext(
                    "{names} · … {count} more", "{names} · … {count} more", more
                ).format(names=shown, count=number(more))
            self.say(shown)

    # -- actions ------------------------------------------------------------------------------

    def action_remove_last(self) -> None:
        if not self.files:
            self.say(_("No file to remove."))
            return
        removed = self.files.pop()
        self._show_files()
        self.say(_("Removed {name}.").format(name=removed.name))

    def action_complete(self) -> None:
        self.query_one(PathInput).action_complete()

    def action_close(self) -> None:
        self.dismiss(self.files)
