"""A snapshot of the inbox in each of the console's languages (issue 10), and no English
word of the console's own on the az, tr and fa screens.

Bindings are translated when omnitui.app is imported, so one process shows one language:
each language renders in a process of its own (tests/snapshot_app.py) on a store filled
here (customers writing in tr, az, fa and en; the fixed clock and zone of make_app), with
the first customer opened. The screen as text and an SVG screenshot are compared with
tests/__snapshots__/test_i18n_snapshots/inbox_LANG.txt and .svg through syrupy (as
pytest-textual-snapshot's are): ``pytest --snapshot-update`` rewrites them.

The SVG is for people to look at: it is drawn as a terminal without bidi support draws its
cells, left to right (the browser would otherwise reorder the right-to-left text again).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension  # type: ignore[import-untyped]
from sqlalchemy import Engine
from sqlmodel import Session, select
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.location import PyTestLocation
from syrupy.types import SnapshotIndex

from omnitui import i18n
from omnitui.db import Customer, Identity, Message
from tests.tui_support import Store

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("snapshot_app.py")
SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_i18n_snapshots"
CONSOLE_WORDS = (
    *("Reply", "Note", "Open", "Search", "Customers", "History", "Composer", "Resolve"),
    *("Reopen", "View", "Retry", "Commands", "unread", "runner", "outbox", "queued"),
    *("failed", "open", "start", "history", "All", "Mine", "Unassigned", "email", "via"),
)
"""English words the console itself shows on the en inbox."""
NEVER_ENGLISH = (*CONSOLE_WORDS, "Assign", "customers", "Help", "Quit", "Snoozed")
"""Words of the console's none of the other languages' inboxes shows."""
NOT_ENGLISH = {"Telegram", "ET", "en"}
"""What every language shows as it is: a name, the channel marks (E and T of a customer on
email and Telegram) and a customer's language code."""
WORD = re.compile(r"[^\W\d_]{2,}")
ENGLISH_SHOWN: dict[str, str] = {}
"""The en inbox as this run rendered it (the other languages' tests run after it)."""


class _Named:
    """A snapshot file named by the test (``snapshot(name="inbox_az")``: inbox_az.EXT)."""

    @classmethod
    def get_snapshot_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex = 0) -> str:
        return str(index)


class TextSnapshot(_Named, SingleFileSnapshotExtension):
    _file_extension = "txt"
    _write_mode = WriteMode.TEXT


class SvgSnapshot(_Named, SVGImageExtension):  # type: ignore[misc]
    """An SVG screenshot, without the id Rich makes up for each export."""


def _render(language: str, store: Store, where: Path) -> tuple[str, str]:
    """The inbox in ``language`` on ``store``, as text and as SVG (from a process of its own)."""
    where.mkdir()
    text, svg = where / "screen.txt", where / "screen.svg"
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(where / "xdg-config"),
        "XDG_CACHE_HOME": str(where / "xdg-cache"),
    }
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), language, store.url, str(where), str(text), str(svg)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return text.read_text("utf-8"), svg.read_text("utf-8")


def _words(text: str) -> set[str]:
    """The words of ``text`` in Latin letters without diacritics (as English is written)."""
    return {word for word in WORD.findall(text) if word.isascii()}


def _customer_words(engine: Engine) -> set[str]:
    """Every word the customers wrote or are named by: theirs, in any language."""
    found: set[str] = set()
    with Session(engine) as session:
        for name in session.exec(select(Customer.name)):
            found |= _words(name)
        for address, display_name in session.exec(select(Identity.address, Identity.display_name)):
            found |= _words(f"{address} {display_name}")
        for subject, body, author in session.exec(
            select(Message.subject, Message.body, Message.author)
        ):
            found |= _words(f"{subject} {body} {author}")
    return found


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_inbox_in_each_language(
    language: str, tui_store: Store, tmp_path: Path, snapshot: SnapshotAssertion
) -> None:
    text, svg = _render(language, tui_store, tmp_path / language)

    # The customers are on the screen as they wrote, in every language.
    for name in ("John Smith", "Ayşe Yılmaz", "Reza Ahmadi", "Əli Məmmədov"):
        assert name in text, name
    assert "Hi, I would like a refund for order 998." in text
    if language == "en":
        assert set(CONSOLE_WORDS) <= _words(text), set(CONSOLE_WORDS) - _words(text)
        ENGLISH_SHOWN["en"] = text
    else:
        # Every English word of the en screen that no customer wrote is the console's own.
        snapshot_en = SNAPSHOTS / "inbox_en.txt"
        english = ENGLISH_SHOWN.get("en") or (
            snapshot_en.read_text("utf-8") if snapshot_en.exists() else ""
        )
        console = _words(english) - _customer_words(tui_store.engine) - NOT_ENGLISH
        left = sorted(_words(text) & (console | set(NEVER_ENGLISH)))
        assert not left, f"{language}: English on the inbox: {left}"

    # The text first: its diff is the readable one.
    assert snapshot(name=f"inbox_{language}", extension_class=TextSnapshot) == text
    assert snapshot(name=f"inbox_{language}", extension_class=SvgSnapshot) == svg
