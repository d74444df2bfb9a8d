"""The full view of one message (v): every character, scrollable.

The timeline cuts huge messages; here the whole text is read again from the
store and shown through omnitui.text.show(limit=False) in a Line-API pager.
Must not import the store or the network.
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from typing import ClassVar, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from omnitui.reads import TimelineItem
from omnitui.text import one_line, show
from omnitui.widgets.channels import channel_mark
from omnitui.widgets.pager import Pager
from omnitui.widgets.times import Clock, local_time

log = logging.getLogger(__name__)


class BodySource(Protocol):
    def message_body(self, message_id: int) -> tuple[str, str] | None: ...


class MessageScreen(Screen[None]):
    """One message, whole."""

    CSS_PATH = "message.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,v", "close", "Back", id="message-close"),
    ]

    class _Body(Message, bubble=False):
        def __init__(self, subject: str, body: str) -> None:
            super().__init__()
            self.subject = subject
            self.body = body

    def __init__(self, item: TimelineItem, source: BodySource, *, clock: Clock, tz: tzinfo) -> None:
        super().__init__()
        self.item = item
        self._source = source
        self._clock = clock
        self._tz = tz
        self.characters = 0

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="message-header")
        yield Pager(id="message-body")
        yield Footer()

    def _header(self) -> Text:
        item = self.item
        line = Text(end="")
        direction = {"in": "← from", "out": "→ reply by", "note": "NOTE by"}.get(item.kind, "")
        line.append(f"{direction} ", style="bold")
        if item.channel:
            line.append_text(channel_mark(item.channel))
            line.append(f" {one_line(item.channel, 20)} · ", style="dim")
        line.append(one_line(item.author, 80), style="bold")
        line.append(f" · {local_time(item.at, self._clock(), self._tz)}", style="dim")
        if item.subject:
            line.append("\n")
            line.append(one_line(item.subject, 300), style="bold underline")
        return line

    def on_mount(self) -> None:
        pager = self.query_one(Pager)
        pager.border_title = "Message"
        pager.set_text(Text("Loading…", style="dim italic"))
        pager.focus()
        self._read(self.item.id)

    @work(thread=True, exclusive=True, group="message-body", exit_on_error=False)
    def _read(self, message_id: int) -> None:
        try:
            found = self._source.message_body(message_id)
        except Exception:
            log.exception("reading message %d failed", message_id)
            found = None
        if found is None:
            found = (self.item.subject, self.item.body)
        self.post_message(self._Body(*found))

    @on(_Body)
    def _body_read(self, message: _Body) -> None:
        shown = show(message.body, limit=False)
        self.characters = len(message.body)
        pager = self.query_one(Pager)
        pager.set_text(shown.text)
        pager.border_subtitle = f"{self.characters:,} characters · esc back"

    def action_close(self) -> None:
        self.dismiss(None)
