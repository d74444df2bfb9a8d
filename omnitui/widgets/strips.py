"""Rich ``Text`` to Line-API ``Strip``: one screen line of an exact width.

The Line-API views (customer list, history, message pager) build their lines as
Rich ``Text`` (never markup) and turn them into strips here.
"""

from __future__ import annotations

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.strip import Strip


def text_strip(text: Text, width: int, console: Console, style: Style) -> Strip:
    """One line of ``text``, cut or padded to ``width`` cells, over the base ``style``."""
    line = text.copy()
    line.end = ""
    line.truncate(max(width, 0), overflow="ellipsis", pad=True)
    return Strip(list(line.render(console)), max(width, 0)).apply_style(style)


def wrap_text(text: Text, width: int, console: Console) -> list[Text]:
    """``text`` wrapped to ``width`` cells (words where possible, else folded)."""
    return list(text.wrap(console, max(width, 1), overflow="fold", no_wrap=False))
