"""A Line-API pager for one long text (the full view of a message).

Wrapping a megabyte of text takes a while, so it runs in a thread worker and the
lines are rendered only when they come into view. The text must already be safe
(omnitui.text.show).

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

from omnitui.widgets.strips import text_strip, wrap_text

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
        Binding("j,down", "scroll_down", "Down", id="pager-down", show=False),
        Binding("k,up", "scroll_up", "Up", id="pager-up", show=False),
        Binding("space,pagedown", "page_down", "Page down", id="pager-page-down", show=False),
        Binding("b,pageup", "page_up", "Page up", id="pager-page-up", show=False),
        Binding("g,home", "scroll_home", "Top", id="pager-top", show=False),
        Binding("G,end", "scroll_end", "Bottom", id="pager-bottom", show=False),
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

    @property
    def lines(self) -> list[Text]:
        return self._lines

    def set_text(self, text: Text) -> None:
        self._text = text
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
        self._wrap(self._token, self._text, width)

    @work(thread=True, exclusive=True, group="pager", exit_on_error=False)
    def _wrap(self, token: int, text: Text, width: int) -> None:
        try:
            lines = wrap_text(text, width, self.app.console)
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
