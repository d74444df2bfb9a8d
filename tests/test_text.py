"""Customer text made safe: no escape sequence, no markup, no freeze."""

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from omnitui.text import MAX_LINE, clean, one_line, show

HOSTILE = {
    "csi": "before\x1b[2J\x1b[Hafter",
    "osc52": "copy\x1b]52;c;SGVsbG8=\x07me",
    "osc8": "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "title": "\x1b]0;pwned title\x07hello",
    "dcs": "x\x1bP+q544e\x1b\\y",
    "c1_csi": "red\x9b31mtext",
    "c1_osc": "t\x9d0;title\x9cok",
    "nul": "a\x00b\x07c\x08d",
    "bidi": "abc\u202eevil\u202cdef\u2067x\u2069",
}


def test_escape_sequences_and_controls_are_removed() -> None:
    assert clean(HOSTILE["csi"]) == "beforeafter"
    assert clean(HOSTILE["osc52"]) == "copyme"
    assert clean(HOSTILE["osc8"]) == "link"
    assert clean(HOSTILE["title"]) == "hello"
    assert clean(HOSTILE["dcs"]) == "xy"
    assert clean(HOSTILE["c1_csi"]) == "redtext"
    assert clean(HOSTILE["c1_osc"]) == "tok"
    assert clean(HOSTILE["nul"]) == "abcd"
    assert clean(HOSTILE["bidi"]) == "abcevildefx"
    for raw in HOSTILE.values():
        out = clean(raw)
        assert not any((ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) <= 0x9F for c in out)


def test_newlines_kept_carriage_returns_cannot_overwrite() -> None:
    assert clean("one\r\ntwo\rthree\tx") == "one\ntwo\nthree    x"


def test_persian_and_zwnj_survive() -> None:
    assert clean("می‌خواهم سفارش ۱۲۳ از Tehran") == "می‌خواهم سفارش ۱۲۳ از Tehran"


def test_markup_is_shown_as_text_never_parsed() -> None:
    console = Console(width=80, record=True, color_system=None)
    for raw in ("[/b]", "[@click=app.quit]x[/]", "[bold red]fake[/]"):
        console.print(show(raw).text)
    out = console.export_text()
    assert "[/b]" in out and "[@click=app.quit]x[/]" in out and "[bold red]fake[/]" in out


def test_a_megabyte_line_is_cut_quickly_with_a_marker() -> None:
    started = time.perf_counter()
    shown = show("A" * 1_000_000)
    assert time.perf_counter() - started < 0.5
    assert shown.hidden_chars > 900_000
    assert len(shown.text.plain) < MAX_LINE + 50
    assert "chars]" in shown.text.plain


def test_many_lines_are_folded_away() -> None:
    shown = show("line\n" * 10_000)
    assert shown.hidden_chars > 0
    assert shown.text.plain.count("\n") < 300
    full = show("line\n" * 10_000, limit=False)
    assert full.hidden_chars == 0


def test_preview_is_one_line() -> None:
    assert one_line("Hello\n\n  there\x1b[31m  friend", 200) == "Hello there friend"
    assert one_line("x" * 500, 10) == "x" * 9 + "…"


@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x2FFF)))
@settings(max_examples=400)
def test_no_input_leaves_a_control_or_escape_behind(raw: str) -> None:
    out = clean(raw)
    assert "\x1b" not in out and "\r" not in out and "\t" not in out
    assert all(c == "\n" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) for c in out)
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in out)
    assert clean(out) == out
