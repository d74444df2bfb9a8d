"""Rich ``Text`` to Line-API ``Strip``: one screen line of an exact width.

The Line-API views (customer list, history, message pager) build their lines as
Rich ``Text`` (never markup) and turn them into strips here. With the right-to-left
display on (omnitui.bidi), customer text is put in visual order here too: after
wrapping, one line or one cell at a time, so no reordering crosses a line break or
leaves the cell the text was given. A piece of a line made with ``cell`` (a name in a
translated sentence, a column of a row) is reordered alone, as an isolate; styles follow
their letters.
"""

from __future__ import annotations

from rich.console import Console
from rich.style import Style, StyleType
from rich.text import Span, Text
from textual.strip import Strip

from omnitui.bidi import RtlDisplay, has_rtl, paragraph_rtl, visual, visual_map

CELL = Style(meta={"omnitui.bidi": "cell"})
"""The span style that makes a piece of a line a cell (``cell``); it draws nothing."""


def cell(text: str | Text, style: StyleType = "") -> Text:
    """``text`` as one cell of a line: in visual order alone (in its own direction) and,
    to the line around it, one neutral character, so a customer's name can neither move
    the words of the sentence it fills nor be moved by them."""
    piece = text.copy() if isinstance(text, Text) else Text(text, end="")
    if style:
        piece.stylize_before(style)
    piece.end = ""
    piece.stylize(CELL)
    return piece


def cells_of(line: Text) -> list[tuple[int, int]]:
    """The (start, end) of each cell of ``line``, in order (a cell inside another counts
    as part of it), without the spaces at its edges: they are the layout's, and stay put."""
    plain = line.plain
    found = sorted((span.start, span.end) for span in line.spans if span.style == CELL)
    out: list[tuple[int, int]] = []
    for start, end in found:
        while start < end and plain[start].isspace():
            start += 1
        while end > start and plain[end - 1].isspace():
            end -= 1
        if start >= end:
            continue
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def without_cells(text: Text) -> Text:
    """``text`` without its cell marks (what is drawn when nothing is reordered)."""
    if not any(span.style == CELL for span in text.spans):
        return text
    plain = text.copy()
    plain.spans = [span for span in text.spans if span.style != CELL]
    return plain


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
        right = paragraph_rtl(paragraph.plain, cells_of(paragraph))
        lines.extend(visual_text(piece, rtl, right=right, width=width) for piece in pieces)
    return lines


def visual_text(line: Text, rtl: RtlDisplay, *, right: bool | None = None, width: int = 0) -> Text:
    """One line of ``line`` in visual order (unchanged when the mode is off or it holds no
    RTL letter), its cells each reordered alone; ``right``: its paragraph's direction
    (None: its own words', outside its cells, decide); an RTL line is right-aligned in
    ``width`` when given. Each style stays on the letters it was on."""
    plain = line.plain
    if not rtl.on or not has_rtl(plain):
        return line
    line = line.copy()
    cells = cells_of(line)
    if right is None:
        right = paragraph_rtl(plain, cells)
    if right:
        line.rstrip()  # an RTL line's logical end is its left edge
        cells = cells_of(line)
    shown, sources = visual_map(line.plain, shape=rtl.shape, rtl=right, cells=cells)
    out = Text(shown, style=line.style, end="")
    out.spans = _moved_spans(line, sources)
    if right and width > out.cell_len:
        out.pad_left(width - out.cell_len)
    return out


def _moved_spans(line: Text, sources: list[int]) -> list[Span]:
    """``line``'s styles (not its cell marks) over its characters' places once reordered."""
    size = len(line.plain)
    spans = [span for span in line.spans if span.style != CELL and span.start < span.end]
    if not spans or not sources:
        return []
    covering: list[tuple[int, ...]] = [()] * size
    for number, span in enumerate(spans):
        for at in range(max(span.start, 0), min(span.end, size)):
            covering[at] += (number,)
    moved: list[Span] = []
    start = 0
    for at in range(1, len(sources) + 1):
        if at < len(sources) and covering[sources[at]] == covering[sources[start]]:
            continue
        # In the order given: Rich combines the spans over a character in list order.
        moved.extend(Span(start, at, spans[n].style) for n in covering[sources[start]])
        start = at
    return moved


def visual_cell(text: str, rtl: RtlDisplay) -> str:
    """A one-line cell of customer text (a name, a preview) in visual order when the mode
    is on: reordered within itself, never with what stands beside it."""
    if not rtl.on or not has_rtl(text):
        return text
    return visual(text, shape=rtl.shape)
