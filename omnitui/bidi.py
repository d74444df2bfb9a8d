"""Right-to-left text in visual order, for terminals that do not reorder it themselves.

A terminal lays cells out left to right. Most terminals (xterm, kitty, Alacritty,
WezTerm, foot, Windows Terminal, iTerm2, tmux's own screen) print Persian or Arabic
letters in the order they arrive, so a Persian line reads backwards and an order
number inside it lands in the wrong place. ``visual`` runs the Unicode bidirectional
algorithm (python-bidi; rule L3 for combining marks here) on one screen line and
returns it in the order a reader sees it; with ``shape`` it first replaces
Arabic-script letters by their joined presentation forms (arabic-reshaper), for
terminals that do not join letters either.

Terminals that run the algorithm themselves (mlterm, VTE >= 0.58, Konsole, macOS
Terminal, mintty) must not get visual text: they would reverse it again.
``terminal_does_bidi`` recognises them from the environment for ``rtl = "auto"``.

The algorithm is applied to one already-wrapped line at a time (reordering must not
cross a line break) and to one cell at a time (a customer's name, a preview), so
nothing a customer wrote can move text outside its own cell. Bidi controls are
dropped before the algorithm runs, whatever the caller cleaned.

Both libraries are imported on first use: the first paint never loads them.
Pure: imports no Textual and no Rich.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arabic_reshaper import ArabicReshaper


@dataclass(frozen=True, slots=True)
class RtlDisplay:
    """How right-to-left text is shown: reordered here (``on``) or left to the terminal,
    and with its letters joined here (``shape``). Part of every rendered line's cache key."""

    on: bool = False
    shape: bool = True


# Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, ..., Arabic Extended, their
# presentation forms, and the RTL scripts outside the BMP.
_RTL = re.compile(
    "[\u0590-\u08ff\u200f\u061c\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
# Embeddings, overrides, isolates and marks: a customer's must never steer the layout.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_STRONG_RTL = frozenset(("R", "AL"))
_STRONG = frozenset(("L", "R", "AL"))


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds a right-to-left character (the fast path's test)."""
    return _RTL.search(text) is not None


def paragraph_rtl(text: str) -> bool:
    """Whether a paragraph's direction is right to left: its first strong character
    is (UAX #9 rules P2-P3), so a Persian line that starts with "iPhone" is LTR."""
    if not has_rtl(text):
        return False
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in _STRONG:
            return kind in _STRONG_RTL
    return False


@cache
def _reshaper() -> ArabicReshaper:
    """arabic-reshaper set up for Persian: its "Arabic" letter table covers the Persian
    letters (پ چ ژ گ ک ی); lam-alef joins as Persian writes it, but no word
    ligatures (ﷲ and friends are wider than one cell in most fonts)."""
    from arabic_reshaper import ArabicReshaper

    return ArabicReshaper(
        configuration={
            "language": "Arabic",
            "delete_harakat": False,
            "support_ligatures": True,
            "ARABIC LIGATURE ALLAH": False,
        }
    )


def _marks_after_bases(line: str) -> str:
    """Put combining marks back after the letter they sit on (UAX #9 rule L3).

    Reversing an RTL run puts a mark (a fathatan, a tashdid) before its letter; the
    terminal would then draw it over the cell before. A mark run followed by a strong
    RTL letter belongs to that letter.
    """
    out: list[str] = []
    marks: list[str] = []
    for char in line:
        if unicodedata.category(char) == "Mn":
            marks.append(char)
            continue
        if marks and unicodedata.bidirectional(char) in _STRONG_RTL:
            out.append(char)
            out.extend(reversed(marks))
        else:
            out.extend(marks)
            out.append(char)
        marks.clear()
    out.extend(marks)
    return "".join(out)


def visual(line: str, *, shape: bool, rtl: bool | None = None) -> str:
    """One screen line in visual (left-to-right cell) order.

    ``rtl`` is the direction of the paragraph the line was wrapped from (None: the
    line's own first strong character decides). A line without RTL characters comes
    back unchanged. The result never takes more cells than ``line``: presentation forms
    are one cell like the letters they replace, and lam-alef joins two into one.
    """
    if not has_rtl(line):
        return line
    line = _BIDI_CONTROLS.sub("", line)
    if rtl is None:
        rtl = paragraph_rtl(line)
    if shape:
        line = _reshaper().reshape(line)
    # The pure-Python algorithm, not the package's Rust one: only it mirrors brackets
    # (rule L4), so "(۲۵۰ هزار تومان)" keeps its parentheses facing the right way.
    from bidi.algorithm import get_display

    shown = get_display(line, base_dir="R" if rtl else "L")
    assert isinstance(shown, str)
    return _marks_after_bases(shown)


def terminal_does_bidi(env: Mapping[str, str] | None = None) -> str | None:
    """The terminal that reorders RTL text itself, by name, when the environment says so.

    These run the bidi algorithm on each line they show (and join Arabic letters), so
    visual text from us would be reversed twice: mlterm (TERM=mlterm*, MLTERM), VTE
    from 0.58 (GNOME Terminal, Tilix, Terminator, xfce4-terminal: VTE_VERSION >= 5800,
    bidi on unless turned off in its settings), Konsole (KONSOLE_VERSION), macOS
    Terminal (TERM_PROGRAM=Apple_Terminal) and mintty (TERM_PROGRAM=mintty). PuTTY
    reorders too but says nothing in the environment.
    """
    env = os.environ if env is None else env
    term = env.get("TERM", "")
    program = env.get("TERM_PROGRAM", "")
    vte = env.get("VTE_VERSION", "")
    if term.startswith("mlterm") or env.get("MLTERM"):
        return "mlterm"
    if vte.isdigit() and int(vte) >= 5800:
        return f"VTE {int(vte) // 10000}.{int(vte) // 100 % 100}"
    if env.get("KONSOLE_VERSION"):
        return "Konsole"
    if program == "Apple_Terminal":
        return "macOS Terminal"
    if program == "mintty":
        return "mintty"
    return None


def rtl_wanted(setting: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether omnitui reorders RTL text itself: "on", "off", or "auto" (on unless
    ``terminal_does_bidi`` names the terminal; anything else counts as auto)."""
    if setting in ("on", "off"):
        return setting == "on"
    return terminal_does_bidi(env) is None
