"""Right-to-left text in visual order (omnitui/bidi.py) and in the TUI's list and history.

The expected strings are written from the algorithm (UAX #9), word by word: in a Persian
(RTL) paragraph the words come in reverse order and each Persian word's letters are
reversed (``rev``), while a run of Latin text or digits keeps its own left-to-right order.
Digits after Persian letters are "Arabic numbers" (rule W2), so a "#" before them stays
a neutral that takes the paragraph's direction: it stands on the number's right, where a
Persian reader meets it first. All of them were checked against GNU FriBidi.
"""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from omnitui.bidi import (
    RtlDisplay,
    paragraph_rtl,
    rtl_wanted,
    terminal_does_bidi,
    visual,
    visual_map,
)
from omnitui.config import Settings
from omnitui.text import clean, one_line
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.strips import cell, visual_text, wrap_rtl
from omnitui.widgets.template import fill
from omnitui.widgets.timeline import Timeline
from tests.tui_support import (
    Store,
    inbound,
    ingest,
    list_text,
    make_app,
    timeline_text,
    wait_for,
)


def rev(word: str) -> str:
    return word[::-1]


FATHATAN = "\u064b"

LINES = [
    # plain Persian
    ("سلام، وقت بخیر", f"{rev('بخیر')} {rev('وقت')} ،{rev('سلام')}"),
    # a Latin order number: "#4471" reads "#" first from the right
    (
        "سفارش #4471 من هنوز نرسیده",
        f"{rev('نرسیده')} {rev('هنوز')} {rev('من')} 4471# {rev('سفارش')}",
    ),
    # an English product name keeps its order (and its number: "15" follows "iPhone")
    ("گوشی iPhone 15 را خریدم", f"{rev('خریدم')} {rev('را')} iPhone 15 {rev('گوشی')}"),
    # Persian digits are read left to right like any number
    ("سفارش ۴۴۷۱ رسید؟", f"؟{rev('رسید')} ۴۴۷۱ {rev('سفارش')}"),
    # an email address
    ("ایمیل من ali@example.com است", f"{rev('است')} ali@example.com {rev('من')} {rev('ایمیل')}"),
    # a URL with a number at its end
    (
        "لینک: https://shop.example/orders/4471 را ببینید",
        f"{rev('ببینید')} {rev('را')} https://shop.example/orders/4471 :{rev('لینک')}",
    ),
    # an English line with a Persian word: only the word turns
    ("My order from فروشگاه arrived", f"My order from {rev('فروشگاه')} arrived"),
    # a line that starts in English is an LTR paragraph
    ("iPhone 15 من خراب است", f"iPhone 15 {rev('است')} {rev('خراب')} {rev('من')}"),
    # brackets are mirrored (rule L4): they still open towards the words they hold
    (
        "قیمت (۲۵۰ هزار تومان) بود",
        f"{rev('بود')} ({rev('تومان')} {rev('هزار')} ۲۵۰) {rev('قیمت')}",
    ),
    # a mark stays after the letter it sits on (rule L3)
    ("لطفاً کمک کنید", f"{rev('کنید')} {rev('کمک')} ا{FATHATAN}{rev('لطف')}"),
    # a customer's override and isolate are dropped, not obeyed
    ("سلام \u202eabc\u2066 def", f"abc def {rev('سلام')}"),
    # (with the isolate gone, the Persian word decides the line is RTL)
    ("\u2067سلام\u202c ok \u200fthanks", f"ok thanks {rev('سلام')}"),
]


@pytest.mark.parametrize(("line", "expected"), LINES)
def test_visual_order_of_mixed_persian_and_english(line: str, expected: str) -> None:
    assert visual(line, shape=False) == expected


def test_a_line_of_a_persian_paragraph_keeps_the_paragraph_direction() -> None:
    """A wrapped line that starts with "iPhone" inside a Persian paragraph stays RTL."""
    line = "iPhone 15 من خراب است"
    assert paragraph_rtl("گوشی من " + line)
    assert visual(line, shape=False, rtl=True) == (
        f"{rev('است')} {rev('خراب')} {rev('من')} iPhone 15"
    )


MIRRORED = {"(": ")", ")": "("}


@pytest.mark.parametrize(("line", "expected"), LINES)
def test_each_character_shown_says_where_it_came_from(line: str, expected: str) -> None:
    """``visual_map`` gives the visual text and, per character, its index in the line (so
    styles follow their letters); the controls it drops show nowhere."""
    text, sources = visual_map(line, shape=False)
    assert text == expected
    assert len(sources) == len(text) == len(set(sources))
    for char, source in zip(text, sources, strict=True):
        assert char in (line[source], MIRRORED.get(line[source]))
    shaped, sources = visual_map(line, shape=True)
    assert shaped == visual(line, shape=True) and len(sources) == len(shaped)


def test_a_zwj_before_a_lam_alef_is_shaped_without_failing() -> None:
    # arabic-reshaper 3.1 raises IndexError on this; bidi.py drops the joiner first.
    shown = visual("ب\u200dب لا", shape=True)
    assert "\ufefb" in shown and "\u200d" not in shown


def test_a_cell_is_reordered_alone_and_is_a_neutral_to_its_sentence() -> None:
    """A name filling a sentence's placeholder is an isolate: the sentence keeps the
    direction of its own words, and the name its own order."""
    on = RtlDisplay(on=True, shape=False)
    typing = fill("{name} در حال نوشتن است…", end="", name=cell("Reza Ahmadi"))
    expected = f"…{rev('است')} {rev('نوشتن')} {rev('حال')} {rev('در')} Reza Ahmadi"
    assert visual_text(typing, on).plain == expected
    # Without the cell the name's "R" would make the Persian sentence a left-to-right one.
    assert visual(typing.plain, shape=False) != expected
    english = fill("{name} is typing…", end="", name=cell("رضا 2"))
    assert visual_text(english, on).plain == f"2 {rev('رضا')} is typing…"
    assert visual(english.plain, shape=False) == f"…is typing 2 {rev('رضا')}"


def test_styles_follow_their_letters_when_a_line_is_reordered() -> None:
    line = Text("سفارش 4411 برای iPhone 15 Pro رسید", end="")
    line.highlight_words(["4411", "iPhone"], "reverse")
    for shape in (False, True):
        shown = visual_text(line, RtlDisplay(on=True, shape=shape))
        marked = {shown.plain[span.start : span.end] for span in shown.spans}
        assert marked == {"4411", "iPhone"}


def test_lines_without_rtl_letters_come_back_as_they_are() -> None:
    line = "Hi, order #4471 (iPhone 15) — ali@example.com"
    assert visual(line, shape=True) is line


def test_shaping_joins_persian_letters_and_never_widens_a_line() -> None:
    for line, _ in LINES:
        shaped = visual(clean(line), shape=True)
        assert cell_len(shaped) <= cell_len(clean(line)), line
    # Every letter of a Persian word becomes its joined presentation form (lam-alef one).
    word = visual("گوشی سلام", shape=True)
    assert all(0xFB50 <= ord(c) <= 0xFEFF for c in word.replace(" ", ""))
    assert "\ufefc" in word  # لا as one ligature: one cell fewer
    assert cell_len(word) == cell_len("گوشی سلام") - 1


def test_customer_bidi_controls_are_removed_before_the_screen() -> None:
    hostile = (
        "a\u202eb\u202dc\u202ad\u202be\u202cf\u2066g\u2067h\u2068i\u2069j\u200ek\u200fl\u061cm"
    )
    assert clean(hostile) == "abcdefghijklm"
    assert one_line(hostile) == "abcdefghijklm"
    # visual() drops them too, for callers that did not clean.
    assert visual("سلام \u202eabc", shape=False) == f"abc {rev('سلام')}"


def test_wrapping_reorders_each_line_alone_and_keeps_the_width() -> None:
    console = Console(width=80)
    body = Text(
        "سلام، سفارش #4471 من هنوز نرسیده و گوشی iPhone 15 را دو هفته پیش خریدم\nThanks, Ali"
    )
    for shape in (False, True):
        lines = wrap_rtl(body, 24, console, RtlDisplay(on=True, shape=shape))
        assert len(lines) >= 4
        assert all(line.cell_len <= 24 for line in lines)
        # Persian lines are right-aligned; the English paragraph is left alone.
        assert all(line.plain.startswith(" ") or line.cell_len == 24 for line in lines[:-1])
        assert lines[-1].plain == "Thanks, Ali"
    # With the mode off nothing changes.
    off = wrap_rtl(body, 24, console, RtlDisplay(on=False))
    assert [line.plain for line in off] == [
        line.plain for line in body.wrap(console, 24, overflow="fold")
    ]


@pytest.mark.parametrize(
    ("env", "terminal"),
    [
        ({"TERM": "xterm-256color"}, None),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, None),
        ({"TERM": "xterm-kitty"}, None),
        ({"TERM": "mlterm"}, "mlterm"),
        ({"TERM": "xterm", "MLTERM": "3.9.3"}, "mlterm"),
        ({"TERM": "xterm-256color", "VTE_VERSION": "7600"}, "VTE 0.76"),
        ({"TERM": "xterm-256color", "VTE_VERSION": "5202"}, None),  # before VTE's bidi
        ({"TERM": "xterm-256color", "KONSOLE_VERSION": "230804"}, "Konsole"),
        ({"TERM_PROGRAM": "Apple_Terminal"}, "macOS Terminal"),
        ({"TERM_PROGRAM": "mintty"}, "mintty"),
    ],
)
def test_auto_is_off_on_terminals_that_do_their_own_bidi(
    env: dict[str, str], terminal: str | None
) -> None:
    assert terminal_does_bidi(env) == terminal
    assert rtl_wanted("auto", env) is (terminal is None)
    assert rtl_wanted("on", env) and not rtl_wanted("off", env)


# -- in the TUI ---------------------------------------------------------------------

HOSTILE_NAME = "\u202eرضا\u2066 evil"


async def test_the_toggle_key_re_renders_the_list_and_the_history(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=(140, 30)) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.total and customers.selected_id)
        assert app.rtl.on  # auto, and the tests' terminal does no bidi
        customers.select_customer(tui_store.reza)
        await wait_for(pilot, lambda: customers.selected_id == tui_store.reza)
        await pilot.press("enter")
        await wait_for(pilot, lambda: timeline.customer_id == tui_store.reza and timeline.ready)
        logical = "سلام order #123 از Tehran هنوز نرسیده"
        shown = visual(logical, shape=True)
        assert shown in timeline_text(app)
        assert "Tehran" in list_text(app) and "سلام" not in list_text(app)

        await pilot.press("D")
        assert not app.rtl.on
        await wait_for(pilot, lambda: logical in timeline_text(app))
        assert shown not in timeline_text(app)
        assert "سلام order #123" in list_text(app)

        await pilot.press("D")
        assert app.rtl.on
        await wait_for(pilot, lambda: shown in timeline_text(app))
        assert "سلام order #123" not in list_text(app)


@pytest.mark.parametrize("rtl", ["on", "off"])
async def test_hostile_bidi_controls_never_reorder_what_follows_them(
    tui_store: Store, tui_settings: Settings, rtl: str
) -> None:
    (hostile,) = ingest(
        tui_store.engine,
        inbound(
            40,
            "\u202eپول\u2066 #999 \u2067بده",
            address="evil@example.com",
            name=HOSTILE_NAME,
            subject="\u202eRefund\u2068",
        ),
    )
    app = make_app(tui_settings)
    async with app.run_test(size=(140, 30)) as pilot:
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        await wait_for(pilot, lambda: customers.total and customers.selected_id)
        if (rtl == "on") != app.rtl.on:
            await pilot.press("D")
        customers.select_customer(hostile)
        await wait_for(pilot, lambda: customers.selected_id == hostile)
        await pilot.press("enter")
        await wait_for(pilot, lambda: timeline.customer_id == hostile and timeline.ready)
        on = rtl == "on"

        def shown(raw: str) -> str:
            return visual(clean(raw), shape=True) if on else clean(raw)

        rows = list_text(app).splitlines()
        name_row = next(row for row in rows if "evil" in row)
        # The name is turned within its own cell; the age after it is where it was.
        cell = shown(HOSTILE_NAME)
        assert cell in name_row
        assert name_row[name_row.index(cell) + len(cell) :].split() == ["20m"]
        history = timeline_text(app)
        for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f":
            assert control not in history
            assert control not in "\n".join(rows)
        # The history's head: arrow, channel, the sender's name, then the time, in that order.
        head = next(line for line in history.splitlines() if "evil" in line and "←" in line)
        assert head.index("←") < head.index("email") < head.index(cell) < head.index("13:40")
        assert "│ Refund" in history  # the override did not turn it into "dnufeR"
        body = shown("\u202eپول\u2066 #999 \u2067بده")
        line = next(line for line in history.splitlines() if body in line)
        assert line.lstrip().startswith("│")
        if on:  # a Persian line is right-aligned after the gutter
            assert line.rstrip().endswith(body) and "│     " in line
