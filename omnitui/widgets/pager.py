"""A Line-API pager for one long text (the full view of a message).

Wrapping a megabyte of text takes a while, so it runs in a thread worker and the
lines are rendered only when they come into view. The text must already be safe
(omnitui.text.show). With the app's right-to-left display on (omnitui.bidi), each wrapped
line is put in visual order and an RTL paragraph's lines are right-aligned, as in the
history (widgets/strips.py: ``wrap_rtl``).

Must not import the store or the network.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omnitui.bidi import RtlDisplay
from omnitui.i18n import _
from omnitui.widgets.rtl import app_rtl
from omnitui.widgets.strips import text_strip, wrap_rtl

log = logging.getLogger(__name__)


class Pager(ScrollView, can_focus=True):
    """Scrollable wrapped text; j/k, space and g/G move."""

    DEFAULT_CSS = """
    Pager {
        overflow-x: hidden;
        overflow-y: auto;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll_down", _("Down"), id="pager-down", show=False),
        Binding("k,up", "scroll_up", _("Up"), id="pager-up", show=False),
        Binding("space,pagedown", "page_down", _("Page down"), id="pager-page-down", show=False),
        Binding("b,pageup", "page_up", _("Page up"), id="pager-page-up", show=False),
        Binding("g,home", "scroll_home", _("Top"), id="pager-top", show=False),
        Binding("G,end", "scroll_end", _("Bottom"), id="pager-bottom", show=False),
    ]

    class _Wrapped(Message, bubble=False):
        def __init__(self, token: int, width: int, lines: list[Text]) -> None:
            super().__init__()
            self.token = token
            self.width = width
            self.lines = lines

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text: Text | None = None
        self._lines: list[Text] = []
        self._token = 0
        self._width = 0
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self.ready = False
        """True once the text is wrapped to the current width."""
        self._rtl: RtlDisplay | None = None
        """The right-to-left display (None: the app's, until D hands another over)."""

    @property
    def lines(self) -> list[Text]:
        return self._lines

    def set_text(self, text: Text) -> None:
        self._text = text
        self._rewrap()

    def set_rtl(self, rtl: RtlDisplay) -> None:
        """Wrap the text again with another right-to-left display."""
        if rtl != self._rtl:
            self._rtl = rtl
            self._rewrap()

    def on_resize(self) -> None:
        if self.scrollable_content_region.width != self._width:
            self._rewrap()

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if self._text is None or not self.is_mounted or width <= 0:
            return
        self._token += 1
        self.ready = False
        rtl = self._rtl if self._rtl is not None else app_rtl(self.app)
        self._wrap(self._token, self._text, width, rtl)

    @work(thread=True, exclusive=True, group="pager", exit_on_error=False)
    def _wrap(self, token: int, text: Text, width: int, rtl: RtlDisplay) -> None:
        try:
            lines = wrap_rtl(text, width, self.app.console, rtl)
        except Exception:
            log.exception("wrapping a message failed")
            return
        self.post_message(self._Wrapped(token, width, lines))

    @on(_Wrapped)
    def _wrapped(self, message: _Wrapped) -> None:
        if message.token != self._token:
            return
        self._lines = message.lines
        self._width = message.width
        self._strips.clear()
        self.virtual_size = Size(message.width, len(message.lines))
        self.ready = True
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if width != self._width and self.ready:
            self.call_later(self._rewrap)
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(index)
        if strip is None:
            strip = text_strip(self._lines[index], width, self.app.console, self.rich_style)
            self._strips[index] = strip
        return strip

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)
