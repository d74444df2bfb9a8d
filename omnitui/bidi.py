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
nothing a customer wrote can move text outside its own cell. A line may hold cells
(``visual_map``'s ``cells``): each is reordered alone and counts as one neutral character
for the line around it, as an isolate (FSI ... PDI) would, so a translated sentence keeps
its own direction whatever name fills its placeholder. Bidi controls are dropped before
the algorithm runs, whatever the caller cleaned. ``visual_map`` also says where each
character shown came from, so that styles (a search hit, a bold name) follow their letters.

Both libraries are imported on first use: the first paint never loads them.
Pure: imports no Textual and no Rich.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
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
CELL_MARK = "\ufffc"
"""What a cell is to the line around it: OBJECT REPLACEMENT CHARACTER, a neutral (ON)."""
_LAM = "\u0644"
_LAM_ALEF = frozenset("\ufef5\ufef6\ufef7\ufef8\ufef9\ufefa\ufefb\ufefc")
"""The lam-alef ligatures, the only ones the reshaper is set up to make (two letters, one cell)."""
_ZWJ = "\u200d"


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds a right-to-left character (the fast path's test)."""
    return _RTL.search(text) is not None


def paragraph_rtl(text: str, cells: Sequence[tuple[int, int]] = ()) -> bool:
    """Whether a paragraph's direction is right to left: its first strong character
    is (UAX #9 rules P2-P3), so a Persian line that starts with "iPhone" is LTR. The
    ``cells`` (start, end) do not count: a sentence's direction is its own words'."""
    if cells:
        text = _masked(text, cells)
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


def _masked(line: str, cells: Sequence[tuple[int, int]]) -> str:
    """``line`` with each cell replaced by one CELL_MARK."""
    out: list[str] = []
    at = 0
    for start, end in cells:
        out.append(line[at:start])
        out.append(CELL_MARK)
        at = end
    out.append(line[at:])
    return "".join(out)


def _shaped(chars: str, sources: list[int]) -> tuple[str, list[int]]:
    """``chars`` with their letters joined, and where each shaped character came from.

    The reshaper keeps one character a letter except for a lam-alef: one ligature, with
    the harakat between the two letters after it. ZWJs are dropped first: arabic-reshaper
    3.1 loses count of its letters with them (it fails on "ب\u200dب لا" and moves harakat
    across them), and the letters around one join anyway. Should its output ever not line
    up so, the styles fall back to positions (the text is the reshaper's all the same)."""
    if _ZWJ in chars:
        kept = [n for n, char in enumerate(chars) if char != _ZWJ]
        chars, sources = "".join(chars[n] for n in kept), [sources[n] for n in kept]
    shaped = _reshaper().reshape(chars)
    if len(shaped) == len(chars):
        return shaped, sources
    letters, at = list(chars), list(sources)
    out: list[int] = []
    for char in shaped:
        n = len(out)  # the letters left line up one to one with the shaped text so far
        if n >= len(letters):
            break
        out.append(at[n])
        if char in _LAM_ALEF and letters[n] == _LAM:
            alef = n + 1
            while alef < len(letters) and unicodedata.category(letters[alef]) == "Mn":
                alef += 1
            del letters[alef : alef + 1], at[alef : alef + 1]
    if len(out) != len(shaped):
        out = [sources[min(n, len(sources) - 1)] for n in range(len(shaped))]
    return shaped, out


def _reordered(chars: str, sources: list[int], rtl: bool) -> list[tuple[str, int]]:
    """The Unicode bidirectional algorithm on one line (python-bidi's pure-Python steps,
    as its ``get_display`` runs them), each character shown with where it came from."""
    # The pure-Python algorithm, not the package's Rust one: only it mirrors brackets
    # (rule L4), so "(۲۵۰ هزار تومان)" keeps its parentheses facing the right way.
    from bidi import algorithm

    storage = algorithm.get_empty_storage()
    storage["base_level"] = 1 if rtl else 0
    storage["base_dir"] = "R" if rtl else "L"
    algorithm.get_embedding_levels(chars, storage)
    for char, source in zip(storage["chars"], sources, strict=True):
        char["omnitui_source"] = source
    algorithm.explicit_embed_and_overrides(storage)  # drops what X9 removes (BN: ZWNJ)
    algorithm.resolve_weak_types(storage)
    algorithm.resolve_neutral_types(storage, False)
    algorithm.resolve_implicit_levels(storage, False)
    algorithm.reorder_resolved_levels(storage, False)
    algorithm.apply_mirroring(storage, False)
    return [(char["ch"], char["omnitui_source"]) for char in storage["chars"]]


def _marks_after_bases(shown: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Put combining marks back after the letter they sit on (UAX #9 rule L3).

    Reversing an RTL run puts a mark (a fathatan, a tashdid) before its letter; the
    terminal would then draw it over the cell before. A mark run followed by a strong
    RTL letter belongs to that letter.
    """
    out: list[tuple[str, int]] = []
    marks: list[tuple[str, int]] = []
    for item in shown:
        char = item[0]
        if unicodedata.category(char) == "Mn":
            marks.append(item)
            continue
        if marks and unicodedata.bidirectional(char) in _STRONG_RTL:
            out.append(item)
            out.extend(reversed(marks))
        else:
            out.extend(marks)
            out.append(item)
        marks.clear()
    out.extend(marks)
    return out


def _ordered(line: str, sources: list[int], *, shape: bool, rtl: bool) -> list[tuple[str, int]]:
    """One line without cells in visual order, each character with its source."""
    if not rtl and not has_rtl(line):
        return list(zip(line, sources, strict=True))
    kept = [n for n, char in enumerate(line) if not _BIDI_CONTROLS.match(char)]
    chars = "".join(line[n] for n in kept)
    at = [sources[n] for n in kept]
    if shape:
        chars, at = _shaped(chars, at)
    if not chars:
        return []
    return _marks_after_bases(_reordered(chars, at, rtl))


def visual_map(
    line: str,
    *,
    shape: bool,
    rtl: bool | None = None,
    cells: Sequence[tuple[int, int]] = (),
) -> tuple[str, list[int]]:
    """One screen line in visual (left-to-right cell) order, and for each character shown
    the index in ``line`` of the character it shows (bidi controls and joiners that are
    dropped show nowhere; a lam-alef ligature shows its lam).

    ``rtl`` is the direction of the paragraph the line was wrapped from (None: the line's
    own first strong character outside its cells decides). ``cells`` are (start, end)
    spans of ``line``, in order and apart: each is put in visual order alone, in its own
    direction, and stands in the line as one neutral character. A line without RTL
    characters comes back unchanged. The result never takes more cells than ``line``.
    """
    if not has_rtl(line):
        return line, list(range(len(line)))
    if rtl is None:
        rtl = paragraph_rtl(line, cells)
    if not cells:
        shown = _ordered(line, list(range(len(line))), shape=shape, rtl=rtl)
        return "".join(char for char, _ in shown), [source for _, source in shown]
    # The line around its cells, each cell one CELL_MARK that stands for it (its source
    # is -1 - its number), then each mark replaced by its cell in visual order.
    outer: list[str] = []
    sources: list[int] = []
    at = 0
    for number, (start, end) in enumerate(cells):
        outer.append(line[at:start])
        sources.extend(range(at, start))
        outer.append(CELL_MARK)
        sources.append(-1 - number)
        at = end
    outer.append(line[at:])
    sources.extend(range(at, len(line)))
    text: list[str] = []
    where: list[int] = []
    for char, source in _ordered("".join(outer), sources, shape=shape, rtl=rtl):
        if source >= 0:
            text.append(char)
            where.append(source)
            continue
        start, end = cells[-1 - source]
        piece = line[start:end]
        own = paragraph_rtl(piece)
        for inner_char, inner in _ordered(piece, list(range(start, end)), shape=shape, rtl=own):
            text.append(inner_char)
            where.append(inner)
    return "".join(text), where


def visual(line: str, *, shape: bool, rtl: bool | None = None) -> str:
    """One screen line in visual (left-to-right cell) order.

    ``rtl`` is the direction of the paragraph the line was wrapped from (None: the
    line's own first strong character decides). A line without RTL characters comes
    back unchanged. The result never takes more cells than ``line``: presentation forms
    are one cell like the letters they replace, and lam-alef joins two into one.
    """
    if not has_rtl(line):
        return line
    return visual_map(line, shape=shape, rtl=rtl)[0]


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
