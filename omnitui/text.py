"""The one place customer text is made safe to show.

Everything a customer wrote is hostile until it has passed through here: terminal
escape sequences (CSI, OSC such as clipboard writes and title changes, DCS, APC,
PM, SOS) and the C0/C1 control characters are removed, bidi controls (embeddings,
overrides, isolates, and the marks LRM, RLM and ALM) are dropped so they cannot reorder
the rest of the screen (a terminal that does its own bidi takes the whole screen line
as one paragraph, so even a mark would move the text after its cell), and
the result is a plain ``rich.text.Text`` that is never parsed as markup.
Huge texts are cut with a visible marker so that nothing freezes the screen.

Imports only Rich; never Textual (the runner and CLI use it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rich.text import Text

# ESC-introduced sequences first (7-bit), then their 8-bit C1 forms.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]?                    # CSI ... final
  | \x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|\x9c|$)  # OSC, DCS, SOS, PM, APC ... BEL or ST
  | \x1b[ -/]*[0-~]?                            # other ESC sequences (charset, keypad, ...)
  | \x9b[0-?]*[ -/]*[@-~]?                      # 8-bit CSI
  | [\x90\x98\x9d\x9e\x9f][\s\S]*?(?:\x07|\x9c|\x1b\\|$)  # 8-bit DCS, SOS, OSC, PM, APC
    """,
    re.VERBOSE,
)
# C0 except tab and newline, DEL, C1, bidi embeddings/overrides/isolates/marks, BOM.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)

MAX_LINE = 2_000
"""Characters of one line shown before it is cut (a 1 MB line must not freeze)."""
MAX_CHARS = 20_000
"""Characters of one message shown in the timeline before the rest is folded away."""
MAX_LINES = 200
"""Lines of one message shown in the timeline before the rest is folded away."""


def clean(raw: str) -> str:
    """Remove every escape sequence and control character; keep tabs as spaces, lines as lines."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if text.isprintable() and "\x1b" not in text:
        return text
    text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub("", text)
    return text.replace("\t", "    ")


@dataclass(frozen=True)
class Shown:
    """Customer text ready for the screen, and whether some of it was folded away."""

    text: Text
    hidden_chars: int


def show(raw: str, style: str = "", *, limit: bool = True) -> Shown:
    """Customer text as plain Rich ``Text`` (never markup), cut when it is huge.

    With ``limit`` (the timeline), a message longer than MAX_CHARS or MAX_LINES is
    cut and lines longer than MAX_LINE are shortened, each with a marker; the
    full view passes ``limit=False`` and still gets every line cut at 10 x MAX_LINE.
    """
    text = clean(raw)
    hidden = 0
    max_line = MAX_LINE if limit else MAX_LINE * 10
    if limit and len(text) > MAX_CHARS:
        hidden += len(text) - MAX_CHARS
        text = text[:MAX_CHARS]
    lines = text.split("\n")
    if limit and len(lines) > MAX_LINES:
        hidden += sum(len(line) + 1 for line in lines[MAX_LINES:])
        lines = lines[:MAX_LINES]
    out: list[str] = []
    for line in lines:
        if len(line) > max_line:
            hidden += len(line) - max_line
            line = f"{line[:max_line]} … [+{len(line) - max_line:,} chars]"
        out.append(line)
    return Shown(Text("\n".join(out), style=style, end=""), hidden)


def one_line(raw: str, width: int = 200) -> str:
    """A single-line preview: cleaned, whitespace collapsed, cut to ``width`` characters."""
    head = raw[: width * 4]
    flat = " ".join(clean(head).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from its text: PostgreSQL's text cannot hold
    them (SQLite's can; the screen never shows them: clean() drops them). db.make_engine
    does the same to every write on both stores, so the stores keep the same text."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_nul(v) for v in value)
    return value
