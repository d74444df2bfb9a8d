"""Rich ``Text`` to Line-API ``Strip``: one screen line of an exact width.

The Line-API views (customer list, history, message pager) build their lines as
Rich ``Text`` (never markup) and turn them into strips here. With the right-to-left
display on (omnitui.bidi), customer text is put in visual order here too: after
wrapping, one line or one cell at a time, so no reordering crosses a line break or
leaves the cell the text was given.
"""

from __future__ import annotations

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from omnitui.bidi import RtlDisplay, has_rtl, paragraph_rtl, visual


def text_strip(text: Text, width: int, console: Console, style: Style) -> Strip:
    """One line of ``text``, cut or padded to ``width`` cells, over the base ``style``."""
    line = text.copy()
    line.end = ""
    line.truncate(max(width, 0), overflow="ellipsis", pad=True)
    return Strip(list(line.render(console)), max(width, 0)).apply_style(style)


def wrap_text(text: Text, width: int, console: Console) -> list[Text]:
    """``text`` wrapped to ``width`` cells (words where possible, else folded)."""
    return list(text.wrap(console, max(width, 1), overflow="fold", no_wrap=False))


def wrap_rtl(text: Text, width: int, console: Console, rtl: RtlDisplay) -> list[Text]:
    """``text`` wrapped to ``width`` cells, each line in visual order when the mode is on.

    Each paragraph keeps the direction of its own first strong character (a wrapped
    line that starts with "iPhone" stays in a Persian paragraph), and its RTL lines
    are right-aligned in ``width``.
    """
    if not rtl.on or not has_rtl(text.plain):
        return wrap_text(text, width, console)
    lines: list[Text] = []
    for paragraph in text.split("\n", allow_blank=True):
        pieces = wrap_text(paragraph, width, console)
        if not has_rtl(paragraph.plain):
            lines.extend(pieces)
            continue
        right = paragraph_rtl(paragraph.plain)
        lines.extend(visual_text(piece, rtl, right=right, width=width) for piece in pieces)
    return lines


def visual_text(line: Text, rtl: RtlDisplay, *, right: bool | None = None, width: int = 0) -> Text:
    """One line of ``line`` in visual order (unchanged when the mode is off or it holds no
    RTL letter); ``right``: its paragraph's direction; an RTL line is right-aligned in
    ``width`` when given. Styles that cover part of the line are dropped (reordering
    moves their characters); customer text carries one style a line."""
    plain = line.plain
    if not rtl.on or not has_rtl(plain):
        return line
    if right is None:
        right = paragraph_rtl(plain)
    if right:
        plain = plain.rstrip()  # an RTL line's logical end is its left edge
    shown = Text(visual(plain, shape=rtl.shape, rtl=right), style=line.style, end="")
    for span in line.spans:
        if span.start <= 0 and span.end >= len(line.plain):
            shown.stylize(span.style)
    if right and width > shown.cell_len:
        shown.pad_left(width - shown.cell_len)
    return shown


def visual_cell(text: str, rtl: RtlDisplay) -> str:
    """A one-line cell of customer text (a name, a preview) in visual order when the mode
    is on: reordered within itself, never with what stands beside it."""
    if not rtl.on or not has_rtl(text):
        return text
    return visual(text, shape=rtl.shape)
