"""The full view of one message (v): every character, why it is threaded, its files,
and, for a message its sender edited, every text it had (oldest first).

The timeline cuts huge messages and folds quotes; here the whole text is read again
from the store (``Reader.message_detail``) and shown through omnitui.text.show(limit=False)
in a Line-API pager, under a header: sender, channel and account, the time in the
agent's zone, the subject, the thread reason and the attachments. Keys 1-9 pick an
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
from textual.widgets import Footer, Static

from omnitui.blobs import BlobStore
from omnitui.reads import AttachmentRow, MessageDetail, TimelineItem
from omnitui.text import clean, one_line, show
from omnitui.widgets.attachments import attachment_text
from omnitui.widgets.channels import channel_mark
from omnitui.widgets.commands import ActionCommands, Command
from omnitui.widgets.pager import Pager
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
        raise AttachmentError(f"{shown} was not kept ({row.omitted}); the raw message has it")
    try:
        data = blobs.get(row.sha256)
    except (OSError, ValueError) as exc:
        raise AttachmentError(f"{shown} is missing from the attachment store: {exc}") from None
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise AttachmentError(f"{shown} is damaged in the attachment store")
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
        return f"saved to {path} (no display to open it on)"
    try:
        subprocess.Popen(
            ["xdg-open", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        return f"saved to {path} (xdg-open did not start: {exc.strerror or exc})"
    return f"opened {path}"


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
            ("Save attachment", "Save the picked attachment to the download folder", "save"),
            ("Open attachment", "Save the picked attachment and open it", "open"),
        ]
        commands += [
            (f"Pick attachment {n}", f"Pick attachment {n} of {count}", f"pick_attachment({n})")
            for n in range(1, min(count, PICKABLE) + 1)
        ]
        return commands


class MessageScreen(Screen[None]):
    """One message, whole."""

    CSS_PATH = "message.tcss"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {MessageCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,v", "close", "Back", id="message-close"),
        Binding("s", "save", "Save attachment", id="save-attachment"),
        Binding("o", "open", "Open attachment", id="open-attachment"),
        *(
            Binding(
                str(n),
                f"pick_attachment({n})",
                f"Pick attachment {n}",
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
        yield Static(self._header(), id="message-header")
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
        direction = {"in": "← from", "out": "→ reply by", "note": "NOTE by"}.get(shown.kind, "")
        line.append(f"{direction} ", style="bold")
        line.append(one_line(shown.author, 80) or "?", style="bold")
        if shown.address and shown.address != shown.author:
            line.append(f" <{one_line(shown.address, 80)}>")
        if shown.channel:
            line.append("  ")
            line.append_text(channel_mark(shown.channel))
            line.append(f" {one_line(shown.channel, 20)}", style="dim")
            if shown.account:
                line.append(f" · account {one_line(shown.account, 40)}", style="dim")
        line.append(f"  {self._when(shown.at)}", style="dim")
        if shown.subject:
            line.append("\nSubject: ", style="dim")
            line.append(one_line(shown.subject, 300), style="bold underline")
        line.append("\nThreaded: ", style="dim")
        where = f"conversation #{shown.conversation_id}" if shown.conversation_id else ""
        reason = shown.thread_reason or {
            "out": "a reply written in this conversation",
            "note": "a note added to this conversation",
        }.get(shown.kind, "no reason was recorded")
        line.append(one_line(reason, 300))
        if where:
            line.append(f"  (now in {where})", style="dim")
        if shown.refs:
            line.append("\nReferences: ", style="dim")
            line.append(one_line(shown.refs, 300), style="dim")
        edits = self.detail.edits if self.detail is not None else ()
        if edits:
            times = "once" if len(edits) == 1 else f"{len(edits)} times"
            line.append(f"\nEdited {times} by its sender: ", style="dim")
            line.append("every text it had is below, oldest first", style="dim")
        if shown.has_html:
            line.append("\nIt came as HTML too: the text part is shown.", style="dim")
        if shown.attachments:
            count = len(shown.attachments)
            line.append(f"\nAttachments ({count}) · ", style="dim")
            line.append("1-9 picks · s saves · o opens", style="dim")
            for index, row in enumerate(shown.attachments[:PICKABLE]):
                picked = index == self.picked
                line.append("\n")
                line.append(f"{'▶' if picked else ' '} {index + 1} ", style="bold")
                line.append_text(attachment_text(row))
            if count > PICKABLE:
                line.append(
                    f"\n  … and {count - PICKABLE} more (the raw message has them all)",
                    style="dim",
                )
        return line

    def _when(self, at: datetime) -> str:
        local = at.astimezone(self._tz)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()

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
            label = "original" if n == 0 else f"edit {n}"
            if n == len(texts) - 1:
                label += ", the text now"
            if n:
                body.append("\n\n")
            body.append(f"── {label} · {self._when(at)} ──\n", style="bold dim")
            body.append_text(show(text, limit=False).text)
        return body

    def _redraw_header(self) -> None:
        self.query_one("#message-header", Static).update(self._header())

    def notice(self, said: str, *, error: bool = False) -> None:
        self.notice_text = one_line(said, 500)
        self.query_one("#message-notice", Static).update(
            Text(self.notice_text, style="bold red" if error else "")
        )

    # -- reading ----------------------------------------------------------------------

    def on_mount(self) -> None:
        pager = self.query_one(Pager)
        pager.border_title = "Message"
        pager.set_text(Text("Loading…", style="dim italic"))
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
        pager.border_subtitle = f"{self.characters:,} characters · esc back"

    # -- attachments ------------------------------------------------------------------

    def action_pick_attachment(self, number: int) -> None:
        count = len(self.attachments)
        if not 1 <= number <= min(count, PICKABLE):
            self.notice(f"There is no attachment {number}: this message has {count}.")
            return
        self.picked = number - 1
        self._redraw_header()
        self.notice(f"Picked {number}: {one_line(self.attachments[self.picked].filename, 120)}")

    def _picked_row(self) -> AttachmentRow | None:
        if not self.attachments:
            self.notice("This message has no attachments.")
            return None
        return self.attachments[min(self.picked, len(self.attachments) - 1)]

    def action_save(self) -> None:
        row = self._picked_row()
        if row is not None:
            self.notice(f"Saving {one_line(row.filename, 120)}…")
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
        said = open_file(path) if open_after else f"saved to {path}"
        self.post_message(self._Saved(row, path, said))

    @on(_Saved)
    def _saved(self, message: _Saved) -> None:
        if message.path is not None:
            self.saved[message.row.id] = message.path
        self.notice(message.said, error=message.path is None)

    def action_close(self) -> None:
        self.dismiss(None)
