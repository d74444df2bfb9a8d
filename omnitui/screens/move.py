"""The picker (M) of the conversation a message moves to: the customer's conversations.

Read from the Reader in a thread worker; subjects are customer text, shown through
omnitui.text, each a cell in visual order alone with the right-to-left display on
(omnitui.bidi). Dismissed with the chosen conversation's id, or None. The move itself
is the inbox screen's to ask for. Must not import the store or the network.
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from typing import ClassVar, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.formatting import ago, number
from omnitui.i18n import _, ngettext
from omnitui.reads import ConversationRow, TimelineItem
from omnitui.text import one_line
from omnitui.widgets.rtl import VisualText, show_title
from omnitui.widgets.strips import cell
from omnitui.widgets.template import fill
from omnitui.widgets.times import Clock
from omnitui.widgets.workflow import status_word

log = logging.getLogger(__name__)


class ConversationSource(Protocol):
    def conversations(self, customer_id: int) -> list[ConversationRow]: ...


class MoveScreen(ModalScreen[int | None]):
    """Pick one of the customer's other conversations; enter moves the message there."""

    CSS_PATH = "move.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", _("Cancel"), id="move-close"),
        Binding("enter", "pick", _("Move here"), id="move-pick"),
        Binding("j", "next", _("Next conversation"), id="move-down", show=False),
        Binding("k", "previous", _("Previous conversation"), id="move-up", show=False),
    ]

    class _Read(Message, bubble=False):
        def __init__(self, rows: list[ConversationRow] | None) -> None:
            super().__init__()
            self.rows = rows

    def __init__(
        self,
        source: ConversationSource,
        customer_id: int,
        item: TimelineItem,
        *,
        clock: Clock,
        tz: tzinfo,
    ) -> None:
        super().__init__()
        self._source = source
        self.customer_id = customer_id
        self.item = item
        self._clock = clock
        self._tz = tz
        self.rows: list[ConversationRow] = []
        """The conversations listed (the message's own one among them, disabled)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="move-box"):
            yield Static(id="move-what")
            yield OptionList(id="move-options")
            yield Static(Text(_("Reading the conversations…"), style="dim"), id="move-info")

    def on_mount(self) -> None:
        box = self.query_one("#move-box")
        show_title(box, _("Move to conversation"))
        what = fill(
            _("Message {id} is in conversation #{conversation}"),
            "dim",
            end="",
            id=(str(self.item.id), "bold"),
            conversation=str(self.item.conversation_id),
        )
        if self.item.subject:
            what.append(" · ", style="dim")
            what.append_text(cell(one_line(self.item.subject, 80)))
        self.query_one("#move-what", Static).update(VisualText(what, self.app))
        self.query_one(OptionList).focus()
        self._read(self.customer_id)

    @work(thread=True, exclusive=True, group="move-read", exit_on_error=False)
    def _read(self, customer_id: int) -> None:
        try:
            rows: list[ConversationRow] | None = self._source.conversations(customer_id)
        except Exception:
            log.exception("reading the conversations of customer %d failed", customer_id)
            rows = None
        self.post_message(self._Read(rows))

    @on(_Read)
    def _show(self, message: _Read) -> None:
        info = self.query_one("#move-info", Static)
        if message.rows is None:
            info.update(Text(_("Could not read the conversations; see the log."), style="red"))
            return
        # Empty conversations (left behind by an undone split) are no place to move to.
        here = self.item.conversation_id
        self.rows = [r for r in message.rows if r.message_count or r.id == here]
        options = self.query_one(OptionList)
        options.clear_options()
        now = self._clock()
        for row in self.rows:
            here = row.id == self.item.conversation_id
            prompt = VisualText(self._prompt(row, now, here), self.app)
            options.add_option(Option(prompt, id=str(row.id), disabled=here))
        others = [r for r in self.rows if r.id != self.item.conversation_id]
        if not others:
            info.update(
                Text(_("No other conversation: S splits the message into a new one."), style="dim")
            )
            return
        first = next(i for i, r in enumerate(self.rows) if r.id != self.item.conversation_id)
        options.highlighted = first
        info.update(Text(_("enter moves the message there · esc cancels"), style="dim"))

    def _prompt(self, row: ConversationRow, now: datetime, here: bool) -> Text:
        # Columns: each is a cell, in visual order alone (the subject is the customer's).
        line = Text(f"#{row.id} ", style="bold", end="")
        line.append_text(cell(status_word(row.status), "bold"))
        count = ngettext("{count} message", "{count} messages", row.message_count)
        line.append(" · ", style="dim")
        line.append_text(cell(count.format(count=number(row.message_count)), "dim"))
        line.append(" · ", style="dim")
        last = _("last {ago}").format(ago=ago(row.last_message_at, now, self._tz))
        line.append_text(cell(last, "dim"))
        if row.subject:
            line.append(" · ")
            line.append_text(cell(one_line(row.subject, 80)))
        if here:
            words = _("(the message is here now)")
            line.append("  ")
            line.append_text(cell(words, "italic"))
        return line

    def action_next(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_previous(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_pick(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None:
            return
        option = options.get_option_at_index(index)
        if option.disabled or option.id is None:
            return
        self.dismiss(int(option.id))

    @on(OptionList.OptionSelected, "#move-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick()

    def action_close(self) -> None:
        self.dismiss(None)
