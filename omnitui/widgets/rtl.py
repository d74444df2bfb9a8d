"""The right-to-left display mode (omnitui.bidi) on every widget that is not a Line-API view:
Statics, option lists, border titles; and D redrawing all of them.

``VisualText`` is Rich ``Text`` for a ``Static`` or an ``Option``: drawn as Textual draws
Text, except that with the mode on each line is put in visual order after it is wrapped
(widgets/strips.py: ``visual_text``, cells alone, styles kept), so a wrapped Persian line
never takes the words of the line below. The mode is read when it is drawn, so a redraw is
all D needs (``redraw_rtl``). ``show_title`` does the same for a border title or subtitle,
which Textual keeps as one line of its own. Editing widgets (Input, TextArea, the composer)
keep the logical order: the cursor moves through the text as it is stored.

Must not import the store or the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from weakref import WeakKeyDictionary

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.content import Content
from textual.css.types import TextOverflow
from textual.style import Style
from textual.visual import RenderOptions, Visual
from textual.widgets import OptionList

from omnitui.bidi import RtlDisplay, has_rtl, paragraph_rtl
from omnitui.widgets.strips import cells_of, visual_cell, visual_text, without_cells

if TYPE_CHECKING:
    from textual.app import App
    from textual.css.styles import RulesMap
    from textual.strip import Strip
    from textual.widget import Widget

_OFF = RtlDisplay()
_OVERFLOW: dict[TextOverflow, Literal["fold", "crop", "ellipsis"]] = {
    "fold": "fold",
    "clip": "crop",
    "ellipsis": "ellipsis",
}


def app_rtl(app: object) -> RtlDisplay:
    """The app's right-to-left display (OmniApp.rtl; off for another app, as in tests)."""
    rtl = getattr(app, "rtl", None)
    return rtl if isinstance(rtl, RtlDisplay) else _OFF


@runtime_checkable
class RtlAware(Protocol):
    """A widget that keeps the mode itself (a Line-API view, the footer): D hands it over."""

    def set_rtl(self, rtl: RtlDisplay) -> None: ...


class VisualText(Visual):
    """``text`` as a Static or an option shows it, each wrapped line in visual order while
    ``app``'s right-to-left display is on. ``str()`` is the text as written. It is a Rich
    renderable too (a cell of the help screen's Table), wrapped to the width Rich gives."""

    def __init__(self, text: Text, app: App[Any]) -> None:
        self.text = text
        self._app = app
        self._content: Content | None = None
        self._lines: tuple[tuple[object, ...], list[Text]] | None = None

    def __str__(self) -> str:
        return self.text.plain

    @property
    def plain(self) -> str:
        """The text as written (as Content.plain says it)."""
        return self.text.plain

    def __repr__(self) -> str:
        return f"VisualText({self.text.plain!r})"

    @property
    def content(self) -> Content:
        """The text as Textual draws it when nothing is reordered."""
        if self._content is None:
            self._content = Content.from_rich_text(without_cells(self.text), self._app.console)
        return self._content

    def visual_lines(self, rules: RulesMap, width: int) -> list[Text] | None:
        """The lines in visual order at ``width`` (None: the mode is off or nothing is RTL),
        wrapped by the Text's own no_wrap and overflow when it has them (a status line's
        one line ends in an ellipsis), else by the widget's text-wrap and text-overflow."""
        no_wrap = rules.get("text_wrap", "wrap") == "nowrap"
        overflow = _OVERFLOW.get(rules.get("text_overflow", "fold"), "fold")
        return self._visual_lines(width, no_wrap, overflow)

    def _visual_lines(
        self, width: int, no_wrap: bool, overflow: Literal["fold", "crop", "ellipsis"]
    ) -> list[Text] | None:
        rtl = app_rtl(self._app)
        text = self.text
        if not rtl.on or not has_rtl(text.plain) or width <= 0:
            return None
        if text.no_wrap is not None:
            no_wrap = text.no_wrap
        if text.overflow in ("fold", "crop", "ellipsis"):
            overflow = text.overflow
        key = (rtl, width, no_wrap, overflow)
        if self._lines is not None and self._lines[0] == key:
            return self._lines[1]
        console = self._app.console
        lines: list[Text] = []
        for paragraph in text.split("\n", allow_blank=True):
            right = None
            if has_rtl(paragraph.plain):
                right = paragraph_rtl(paragraph.plain, cells_of(paragraph))
            for line in paragraph.wrap(console, width, overflow=overflow, no_wrap=no_wrap):
                lines.append(visual_text(line, rtl, right=right, width=width))
        self._lines = (key, lines)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """As a Rich renderable (a cell of a Table)."""
        overflow = options.overflow if options.overflow in ("crop", "ellipsis") else "fold"
        lines = self._visual_lines(options.max_width, bool(options.no_wrap), overflow)
        if lines is None:
            yield without_cells(self.text)
        else:
            yield Text("\n", end=self.text.end).join(lines)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text)

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        lines = self.visual_lines(options.rules, width)
        if lines is None:
            return self.content.render_strips(width, height, style, options)
        shown = Content.from_rich_text(Text("\n").join(lines), self._app.console)
        return shown.render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.content.get_optimal_width(rules, container_width)

    def get_minimal_width(self, rules: RulesMap) -> int:
        return self.content.get_minimal_width(rules)

    def get_height(self, rules: RulesMap, width: int) -> int:
        lines = self.visual_lines(rules, width)
        return self.content.get_height(rules, width) if lines is None else len(lines)


_TITLES: WeakKeyDictionary[Widget, str] = WeakKeyDictionary()
_SUBTITLES: WeakKeyDictionary[Widget, str] = WeakKeyDictionary()


def show_title(widget: Widget, title: str | None = None, *, subtitle: str | None = None) -> None:
    """Set ``widget``'s border title and/or subtitle (a translated title, a customer's
    name: plain text, never markup), in visual order while the mode is on; D redraws it."""
    rtl = app_rtl(widget.app)
    if title is not None:
        _TITLES[widget] = title
        widget.border_title = Text(visual_cell(title, rtl))
    if subtitle is not None:
        _SUBTITLES[widget] = subtitle
        widget.border_subtitle = Text(visual_cell(subtitle, rtl))


def redraw_rtl(app: App[Any]) -> None:
    """Draw every screen of ``app`` again in its current right-to-left display (after D)."""
    rtl = app_rtl(app)
    for screen in app.screen_stack:
        for widget in (screen, *screen.query("*")):
            if widget in _TITLES:
                widget.border_title = Text(visual_cell(_TITLES[widget], rtl))
            if widget in _SUBTITLES:
                widget.border_subtitle = Text(visual_cell(_SUBTITLES[widget], rtl))
            if isinstance(widget, RtlAware):
                widget.set_rtl(rtl)
            elif isinstance(widget, OptionList):
                # Its rendered options are cached: giving each its prompt again clears them.
                for index in range(widget.option_count):
                    prompt = widget.get_option_at_index(index).prompt
                    widget.replace_option_prompt_at_index(index, prompt)
            else:
                widget.refresh()
