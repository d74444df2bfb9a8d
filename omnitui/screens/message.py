"""The full view of one message (v): every character, why it is threaded, its files,
and, for a message its sender edited, every text it had (oldest first).

The timeline cuts huge messages and folds quotes; here the whole text is read again
from the store (``Reader.message_detail``) and shown through omnitui.text.show(limit=False)
in a Line-API pager, under a header: sender, channel and account, the time in the
agent's zone, the subject, the thread reason and the attachments. With the right-to-left
display on (omnitui.bidi), each wrapped line of the text is put in visual order (as in the
history) and each line of the header too, the customer's words each a cell. Keys 1-9 pick an
attachment, s saves it to the agent's download folder (never overwriting), o saves
and opens it with xdg-open when there is a display. File names are customer text:
sanitized before they touch the disk, shown through omnitui.text, and passed to
xdg-open as one argument of a list, never through a shell.

Must not import the store or the network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import ClassVar, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from omnitui.blobs import BlobStore
from omnitui.formatting import number, stamp
from omnitui.i18n import _, ngettext
from omnitui.reads import AttachmentRow, MessageDetail, TimelineItem
from omnitui.text import clean, one_line, show
from omnitui.widgets.attachments import attachment_text
from omnitui.widgets.channels import channel_mark, channel_name
from omnitui.widgets.commands import ActionCommands, Command
from omnitui.widgets.footer import Footer
from omnitui.widgets.pager import Pager
from omnitui.widgets.rtl import VisualText, show_title
from omnitui.widgets.strips import cell
from omnitui.widgets.template import fill
from omnitui.widgets.timeline import thread_reason
from omnitui.widgets.times import Clock

log = logging.getLogger(__name__)

PICKABLE = 9
"""Attachments that keys 1-9 can pick (the header lists no more)."""
MAX_NAME_BYTES = 200
"""A saved file's name at most (most file systems allow 255)."""


class DetailSource(Protocol):
    def message_detail(self, message_id: int) -> MessageDetail | None: ...


class AttachmentError(Exception):
    """An attachment that cannot be saved (not kept, missing or damaged)."""


def download_dir(data_dir: Path) -> Path:
    """Where the agent's files go: ~/Downloads when it exists, else the data dir's downloads/."""
    home = Path.home() / "Downloads"
    return home if home.is_dir() else data_dir / "downloads"


def safe_filename(raw: str) -> str:
    """A customer's file name made harmless: no directories, controls or leading dots."""
    name = " ".join(clean(raw).replace("/", "_").replace("\\", "_").split())
    name = name.lstrip(". ").rstrip(" ")
    if not name:
        return "attachment"
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem, suffix = _split_suffix(name)
        name = stem[:-1].rstrip() + suffix if len(stem) > 1 else name[:-1]
    return name


def _split_suffix(name: str) -> tuple[str, str]:
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and 0 < len(suffix) <= 10 and " " not in suffix:
        return stem, f".{suffix}"
    return name, ""


def save_attachment(blobs: BlobStore, row: AttachmentRow, folder: Path) -> Path:
    """Write an attachment's bytes into ``folder`` under a new name ("x (2).pdf" when taken)."""
    shown = one_line(row.filename, 80)
    if row.omitted:
        said = _("{name} was not kept ({reason}); the raw message has it")
        raise AttachmentError(said.format(name=shown, reason=row.omitted))
    try:
        data = blobs.get(row.sha256)
    except (OSError, ValueError) as exc:
        said = _("{name} is missing from the attachment store: {error}")
        raise AttachmentError(said.format(name=shown, error=exc)) from None
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise AttachmentError(_("{name} is damaged in the attachment store").format(name=shown))
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = _split_suffix(safe_filename(row.filename))
    number = 1
    while True:
        target = folder / (f"{stem}{suffix}" if number == 1 else f"{stem} ({number}){suffix}")
        try:
            with target.open("xb") as out:  # exclusive: never overwrite a file
                try:
                    out.write(data)
                except BaseException:
                    target.unlink(missing_ok=True)
                    raise
        except FileExistsError:
            number += 1
            continue
        return target


def open_file(path: Path) -> str:
    """Open a saved file on the agent's display; what happened, for a notice."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return _("saved to {path} (no display to open it on)").format(path=path)
    try:
        subprocess.Popen(
            ["xdg-open", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        said = _("saved to {path} (xdg-open did not start: {error})")
        return said.format(path=path, error=exc.strerror or exc)
    return _("opened {path}").format(path=path)


@dataclass(frozen=True, slots=True)
class _Shown:
    """What the header shows: the message as the timeline had it, then as read whole."""

    kind: str
    channel: str
    account: str
    author: str
    address: str
    subject: str
    at: datetime
    conversation_id: int | None
    thread_reason: str
    refs: str
    has_html: bool
    attachments: tuple[AttachmentRow, ...]


class MessageCommands(ActionCommands):
    """The full view's actions in the command palette (names only: no customer text)."""

    def commands(self) -> list[Command]:
        screen = self.screen
        if not isinstance(screen, MessageScreen) or not screen.attachments:
            return []
        count = len(screen.attachments)
        commands = [
            (_("Save attachment"), _("Save the picked attachment to the download folder"), "save"),
            (_("Open attachment"), _("Save the picked attachment and open it"), "open"),
        ]
        commands += [
            (
                _("Pick attachment {number}").format(number=n),
                _("Pick attachment {number} of {count}").format(number=n, count=count),
                f"pick_attachment({n})",
            )
            for n in range(1, min(count, PICKABLE) + 1)
        ]
        return commands


class MessageScreen(Screen[None]):
    """One message, whole."""

    CSS_PATH = "message.tcss"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {MessageCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,v", "close", _("Back"), id="message-close"),
        Binding("s", "save", _("Save attachment"), id="save-attachment"),
        Binding("o", "open", _("Open attachment"), id="open-attachment"),
        *(
            Binding(
                str(n),
                f"pick_attachment({n})",
                _("Pick attachment {number}").format(number=n),
                id=f"pick-attachment-{n}",
                show=False,
            )
            for n in range(1, PICKABLE + 1)
        ),
    ]

    class _Detail(Message, bubble=False):
        def __init__(self, detail: MessageDetail | None) -> None:
            super().__init__()
            self.detail = detail

    class _Saved(Message, bubble=False):
        def __init__(self, row: AttachmentRow, path: Path | None, said: str) -> None:
            super().__init__()
            self.row = row
            self.path = path
            self.said = said

    def __init__(
        self,
        item: TimelineItem,
        source: DetailSource,
        *,
        clock: Clock,
        tz: tzinfo,
        data_dir: Path,
    ) -> None:
        super().__init__()
        self.item = item
        self._source = source
        self._clock = clock
        self._tz = tz
        self._data_dir = data_dir
        self._blobs = BlobStore(data_dir / "attachments")
        self.characters = 0
        self.detail: MessageDetail | None = None
        self.picked = 0
        """The attachment s and o act on (0-based)."""
        self.saved: dict[int, Path] = {}
        """Where each attachment was last saved from this view (o opens that copy)."""
        self.notice_text = ""
        self._shown = _Shown(
            item.kind,
            item.channel,
            item.account,
            item.author,
            "",
            item.subject,
            item.at,
            item.conversation_id,
            item.thread_reason,
            "",
            False,
            item.attachments,
        )

    @property
    def attachments(self) -> tuple[AttachmentRow, ...]:
        return self._shown.attachments

    def compose(self) -> ComposeResult:
        yield Static(VisualText(self._header(), self.app), id="message-header")
        yield Pager(id="message-body")
        yield Static(id="message-notice")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Nothing to save: the keys leave the footer.
        return bool(self.attachments) or action not in ("save", "open", "pick_attachment")

    # -- the header -----------------------------------------------------------------

    def _header(self) -> Text:
        shown = self._shown
        line = Text(end="")
        if shown.kind == "in":
            said = _("← from {author}")
        elif shown.kind == "out":
            said = _("→ reply by {author}")
        elif shown.kind == "note":
            said = _("NOTE by {author}")
        else:
            said = " {author}"
        author = cell(one_line(shown.author, 80) or "?", "bold")
        line.append_text(fill(said, "bold", end="", author=author))
        if shown.address and shown.address != shown.author:
            line.append(" <")
            line.append_text(cell(one_line(shown.address, 80)))
            line.append(">")
        if shown.channel:
            line.append("  ")
            line.append_text(channel_mark(shown.channel))
            line.append(f" {one_line(channel_name(shown.channel), 20)}", style="dim")
            if shown.account:
                account = cell(one_line(shown.account, 40), "dim")
                line.append(" · ", style="dim")
                line.append_text(fill(_("account {account}"), "dim", end="", account=account))
        line.append(f"  {self._when(shown.at)}", style="dim")
        if shown.subject:
            words = _("Subject:")
            line.append(f"\n{words}", style="dim")
            line.append(" ", style="dim")
            line.append_text(cell(one_line(shown.subject, 300), "bold underline"))
        words = _("Threaded:")
        line.append(f"\n{words}", style="dim")
        line.append(" ", style="dim")
        reason = shown.thread_reason or thread_reason(shown.kind)
        line.append_text(cell(one_line(reason, 300)))
        if shown.conversation_id:
            now_in = _("(now in conversation #{id})").format(id=shown.conversation_id)
            line.append(f"  {now_in}", style="dim")
        if shown.refs:
            words = _("References:")
            line.append(f"\n{words}", style="dim")
            line.append(" ", style="dim")
            line.append_text(cell(one_line(shown.refs, 300), "dim"))
        edits = self.detail.edits if self.detail is not None else ()
        if edits:
            edited = ngettext(
                "Edited once by its sender: every text it had is below, oldest first",
                "Edited {count} times by its sender: every text it had is below, oldest first",
                len(edits),
            )
            line.append(f"\n{edited.format(count=number(len(edits)))}", style="dim")
        if shown.has_html:
            words = _("It came as HTML too: the text part is shown.")
            line.append(f"\n{words}", style="dim")
        if shown.attachments:
            count = len(shown.attachments)
            listed = _("Attachments ({count}) · 1-9 picks · s saves · o opens")
            line.append(f"\n{listed.format(count=number(count))}", style="dim")
            for index, row in enumerate(shown.attachments[:PICKABLE]):
                picked = index == self.picked
                line.append("\n")
                line.append(f"{'▶' if picked else ' '} {index + 1} ", style="bold")
                line.append_text(attachment_text(row))
            if count > PICKABLE:
                more = count - PICKABLE
                said = ngettext(
                    "… and {count} more (the raw message has them all)",
                    "… and {count} more (the raw message has them all)",
                    more,
                )
                line.append(f"\n  {said.format(count=number(more))}", style="dim")
        return line

    def _when(self, at: datetime) -> str:
        return stamp(at, self._tz)

    def _body(self, detail: MessageDetail | None) -> Text:
        """The whole text; for an edited message every text it had, oldest first, each
        under the time it was written."""
        if detail is None:
            return show(self.item.body, limit=False).text
        if not detail.edits:
            return show(detail.body, limit=False).text
        texts = [edit.body for edit in detail.edits] + [detail.body]
        times = [detail.at] + [edit.edited_at for edit in detail.edits]
        body = Text(end="")
        for n, (text, at) in enumerate(zip(texts, times, strict=True)):
            if n == 0:
                label = _("original")
            elif n == len(texts) - 1:
                label = _("edit {number}, the text now").format(number=number(n))
            else:
                label = _("edit {number}").format(number=number(n))
            if n:
                body.append("\n\n")
            body.append(f"── {label} · {self._when(at)} ──\n", style="bold dim")
            body.append_text(show(text, limit=False).text)
        return body

    def _redraw_header(self) -> None:
        self.query_one("#message-header", Static).update(VisualText(self._header(), self.app))

    def notice(self, said: str, *, error: bool = False) -> None:
        self.notice_text = one_line(said, 500)
        self.query_one("#message-notice", Static).update(
            Text(self.notice_text, style="bold red" if error else "")
        )

    # -- reading ----------------------------------------------------------------------

    def on_mount(self) -> None:
        pager = self.query_one(Pager)
        show_title(pager, _("Message"))
        pager.set_text(Text(_("Loading…"), style="dim italic"))
        pager.focus()
        self._read(self.item.id)

    @work(thread=True, exclusive=True, group="message-body", exit_on_error=False)
    def _read(self, message_id: int) -> None:
        try:
            found = self._source.message_detail(message_id)
        except Exception:
            log.exception("reading message %d failed", message_id)
            found = None
        self.post_message(self._Detail(found))

    @on(_Detail)
    def _detail_read(self, message: _Detail) -> None:
        detail = message.detail
        self.detail = detail
        if detail is not None:
            self._shown = _Shown(
                detail.direction,
                detail.channel,
                detail.account,
                detail.author,
                detail.address,
                detail.subject,
                detail.at,
                detail.conversation_id,
                detail.thread_reason,
                detail.refs,
                detail.has_html,
                detail.attachments,
            )
            self.picked = min(self.picked, max(len(detail.attachments) - 1, 0))
            self._redraw_header()
            self.refresh_bindings()
        body = detail.body if detail is not None else self.item.body
        self.characters = len(body)
        pager = self.query_one(Pager)
        pager.set_text(self._body(detail))
        said = ngettext(
            "{count} character · esc back", "{count} characters · esc back", self.characters
        )
        show_title(pager, subtitle=said.format(count=number(self.characters)))

    # -- attachments ------------------------------------------------------------------

    def action_pick_attachment(self, number: int) -> None:
        count = len(self.attachments)
        if not 1 <= number <= min(count, PICKABLE):
            said = _("There is no attachment {number}: this message has {count}.")
            self.notice(said.format(number=number, count=count))
            return
        self.picked = number - 1
        self._redraw_header()
        name = one_line(self.attachments[self.picked].filename, 120)
        self.notice(_("Picked {number}: {name}").format(number=number, name=name))

    def _picked_row(self) -> AttachmentRow | None:
        if not self.attachments:
            self.notice(_("This message has no attachments."))
            return None
        return self.attachments[min(self.picked, len(self.attachments) - 1)]

    def action_save(self) -> None:
        row = self._picked_row()
        if row is not None:
            self.notice(_("Saving {name}…").format(name=one_line(row.filename, 120)))
            self._save(row, open_after=False)

    def action_open(self) -> None:
        row = self._picked_row()
        if row is not None:
            self._save(row, open_after=True)

    @work(thread=True, group="attachment-save", exit_on_error=False)
    def _save(self, row: AttachmentRow, *, open_after: bool) -> None:
        path = self.saved.get(row.id) if open_after else None
        try:
            if path is None or not path.exists():
                path = save_attachment(self._blobs, row, download_dir(self._data_dir))
        except (AttachmentError, OSError) as exc:
            log.warning("saving attachment %d failed: %s", row.id, exc)
            self.post_message(self._Saved(row, None, str(exc)))
            return
        said = open_file(path) if open_after else _("saved to {path}").format(path=path)
        self.post_message(self._Saved(row, path, said))

    @on(_Saved)
    def _saved(self, message: _Saved) -> None:
        if message.path is not None:
            self.saved[message.row.id] = message.path
        self.notice(message.said, error=message.path is None)

    def action_close(self) -> None:
        self.dismiss(None)
