"""How an attachment reads on screen: "📎 faktura.pdf · application/pdf · 120 KB", and
the files an agent attaches to a reply ("📎 invoice.pdf · 120 KB").

File names and content types come from customers: shown through omnitui.text, the name
a cell (in visual order alone with the right-to-left display, where the line is reordered).
Must not import the store or the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.style import Style
from rich.text import Text

from omnitui.formatting import number
from omnitui.i18n import _
from omnitui.reads import AttachmentRow
from omnitui.text import one_line
from omnitui.widgets.strips import cell


def human_size(size: int) -> str:
    """Bytes as people read them: "512 B", "120 KB", "3.4 MB" (never grouped: 1024 KB)."""
    if size < 1000:
        return _("{size} B").format(size=number(size, group=False))
    if size < 1024 * 1024:
        return _("{size} KB").format(size=number(max(round(size / 1024), 1), group=False))
    if size < 1024 * 1024 * 1024:
        return _("{size} MB").format(size=number(size / (1024 * 1024), 1, group=False))
    return _("{size} GB").format(size=number(size / (1024 * 1024 * 1024), 1, group=False))


def attachment_text(row: AttachmentRow, muted: Style | str = "dim") -> Text:
    """One attachment on one line; when its bytes were not kept, why not."""
    line = Text("📎 ", end="")
    line.append_text(cell(one_line(row.filename, 120) or _("(no name)")))
    line.append(f" · {one_line(row.content_type, 60)}", style=muted)
    if row.omitted:
        omitted = _("(not kept: {reason})").format(reason=one_line(row.omitted, 80))
        line.append(f" · {omitted}", style=muted)
    else:
        line.append(f" · {human_size(row.size)}", style=muted)
    if row.inline:
        words = _("inline")
        line.append(f" · {words}", style=muted)
    return line


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """A file the agent attached to a reply: checked when attached, read when the reply
    is queued (and checked again then: it may have changed)."""

    path: Path
    name: str
    """The name it is sent under: the base name, made safe."""
    size: int


def attached_text(file: AttachedFile, muted: Style | str = "dim") -> Text:
    """One attached file on one line: "📎 invoice.pdf · 120 KB"."""
    line = Text("📎 ", end="")
    line.append(one_line(file.name, 120) or _("(no name)"))
    line.append(f" · {human_size(file.size)}", style=muted)
    return line
