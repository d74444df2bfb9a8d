"""Email in the TUI, driven by keys: folded quotes (z), why a message is threaded (w, v),
attachments (listed; 1-9, s and o in the full view), and correcting the threading
(S splits, M moves through a picker, U undoes)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from textual.pilot import Pilot

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.blobs import BlobStore
from omnitui.config import Settings
from omnitui.connectors.base import Batch, InboundAttachment, InboundMessage
from omnitui.quoting import split_quoted
from omnitui.reads import Reader
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.message import MessageScreen, safe_filename
from omnitui.screens.move import MoveScreen
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.pager import Pager
from omnitui.widgets.status_line import StatusLine
from omnitui.widgets.timeline import Timeline
from tests.test_hostile_text import assert_clean, assert_no_actions
from tests.tui_support import (
    NOW,
    make_app,
    screen_text,
    settings_for,
    timeline_text,
    wait_for,
)

SIZE = (160, 50)
NEW_TEXT = "Fakturanı aldım, təşəkkürlər. Ödəniş sabah olacaq."
REPLY_BODY = f"""{NEW_TEXT}

On Mon, 2 Nov 2026 at 13:01, Support <support@example.com> wrote:
> Salam Nigar,
> fakturanı əlavə etdik.
>
> Hörmətlə,
> Dəstək

{"-- "}
Nigar Əliyeva
Mühasib, Example MMC
+994 12 000 00 00"""
assert "\n-- \n" in REPLY_BODY  # the signature separator keeps its space
PDF = bytes(range(256)) * 480  # 122,880 bytes: "120 KB"
HOSTILE_NAME = "\x1b]52;c;SGVsbG8=\x07[bold]x[/][@click=app.quit]q[/]../../evil\u202e.pdf"
HOSTILE_REASON = "\x1b]0;pwned\x07[bold]x[/] [@click=app.quit]quit[/] \x1b[2J"


@dataclass(frozen=True)
class EmailStore:
    engine: Engine
    customer: int
    first: int
    reply: int


def email(n: int, body: str, **kw: object) -> InboundMessage:
    return InboundMessage(
        account="mail",
        channel="email",
        external_id=f"<m{n}@example.az>",
        address="nigar@example.az",
        body=body,
        sent_at=NOW - timedelta(minutes=60 - n),
        display_name="Nigar Əliyeva",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def email_store(engine: Engine, tui_settings: Settings) -> EmailStore:
    """Nigar asks for an invoice, then answers it with a quote, a signature and three files."""
    blobs = BlobStore(tui_settings.data_dir / "attachments")
    first = email(1, "Salam, faktura lazımdır.", subject="Faktura")
    reply = email(
        2,
        REPLY_BODY,
        subject="Re: Faktura",
        thread_ref="<m1@example.az>",
        attachments=(
            InboundAttachment("faktura.pdf", "application/pdf", PDF, len(PDF)),
            InboundAttachment(HOSTILE_NAME, "text/plain", b"not evil", 8),
            InboundAttachment(
                "video.mov", "video/quicktime", b"", 30 * 1024 * 1024, omitted="larger than 25 MB"
            ),
        ),
    )
    results = inbox.ingest(engine, Batch([first, reply]), blobs)
    assert results[1].reason.startswith("answers message")
    first_id, reply_id = results[0].message_id, results[1].message_id
    assert first_id is not None and reply_id is not None
    return EmailStore(engine, results[0].customer_id, first_id, reply_id)


def status_text(app: OmniApp) -> str:
    return str(app.inbox.query_one(StatusLine).render())


def conversations(settings: Settings, customer: int) -> list[int]:
    """The customer's conversations that hold messages (an undone split leaves one empty)."""
    rows = Reader(settings.store_url).conversations(customer)
    return [r.id for r in rows if r.message_count]


async def open_history(pilot: Pilot[object], app: OmniApp, customer: int) -> Timeline:
    customers = app.inbox.query_one(CustomerList)
    timeline = app.inbox.query_one(Timeline)
    await wait_for(pilot, lambda: customers.selected_id == customer, what="the customer list")
    await pilot.press("enter")
    await wait_for(pilot, lambda: timeline.customer_id == customer and timeline.ready)
    assert timeline.has_focus
    return timeline


async def select_message(pilot: Pilot[object], timeline: Timeline, message_id: int) -> None:
    """Move the cursor with j/k onto a message."""
    await pilot.press("G")
    for _ in range(len(timeline.items)):
        item = timeline.selected_item
        if item is not None and item.id == message_id:
            return
        await pilot.press("k")
    raise AssertionError(f"message {message_id} is not in the history")


async def test_quotes_fold_and_the_full_view_shows_everything(
    email_store: EmailStore, tui_settings: Settings
) -> None:
    new_text, folded = split_quoted(REPLY_BODY)
    assert new_text == NEW_TEXT
    folded_lines = folded.count("\n") + 1
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = await open_history(pilot, app, email_store.customer)
        history = timeline_text(app)
        assert NEW_TEXT in history
        assert f"··· quoted text and signature ({folded_lines} lines) — z shows" in history
        assert "fakturanı əlavə etdik" not in history
        assert "Mühasib" not in history

        await pilot.press("z")  # every email's quote and signature, shown
        await wait_for(pilot, lambda: "fakturanı əlavə etdik" in timeline_text(app))
        history = timeline_text(app)
        assert "Mühasib, Example MMC" in history
        assert "quoted text and signature (" not in history
        assert "shown" in status_text(app)
        await pilot.press("z")
        await wait_for(pilot, lambda: "fakturanı əlavə etdik" not in timeline_text(app))

        # w: why the reply is in this conversation, in the status line.
        await select_message(pilot, timeline, email_store.reply)
        await pilot.press("w")
        assert f"answers message {email_store.first}" in status_text(app)

        # v: everything, with the header block.
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, MessageScreen)
        pager = screen.query_one(Pager)
        await wait_for(pilot, lambda: pager.ready and screen.detail is not None)
        shown = screen_text(app)
        assert "Threaded: answers message" in shown
        assert "Subject: Re: Faktura" in shown
        assert "<nigar@example.az>" in shown
        assert "account mail" in shown
        assert "2026-11-02 13:02 +04" in shown  # 09:02 UTC in the agent's zone
        body = "\n".join(line.plain for line in pager.lines)
        assert "fakturanı əlavə etdik" in body and "Mühasib, Example MMC" in body
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)


async def test_attachments_are_listed_saved_and_opened(
    email_store: EmailStore,
    tui_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    downloads = home / "Downloads"
    downloads.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = await open_history(pilot, app, email_store.customer)
        history = timeline_text(app)
        assert "📎 faktura.pdf · application/pdf · 120 KB" in history
        assert "📎 video.mov · video/quicktime · (not kept: larger than 25 MB)" in history

        await select_message(pilot, timeline, email_store.reply)
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, MessageScreen)
        await wait_for(pilot, lambda: screen.detail is not None)
        assert "▶ 1 📎 faktura.pdf" in screen_text(app)

        # s saves the first (picked) attachment: the same bytes; a second save never overwrites.
        await pilot.press("s")
        first = downloads / "faktura.pdf"
        await wait_for(pilot, lambda: f"saved to {first}" in screen.notice_text)
        assert first.read_bytes() == PDF
        await pilot.press("s")
        second = downloads / "faktura (2).pdf"
        await wait_for(pilot, lambda: f"saved to {second}" in screen.notice_text)
        assert second.read_bytes() == PDF
        assert first.read_bytes() == PDF

        # o without a display: saved, and said so.
        await pilot.press("o")
        await wait_for(pilot, lambda: "(no display to open it on)" in screen.notice_text)
        assert "faktura" in screen.notice_text  # the copy saved by s, not a third one
        assert sorted(p.name for p in downloads.iterdir()) == ["faktura (2).pdf", "faktura.pdf"]

        # 3 picks the file that was not kept; s says why instead of saving.
        await pilot.press("3")
        assert screen.picked == 2
        assert "▶ 3 📎 video.mov" in screen_text(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: "was not kept (larger than 25 MB)" in screen.notice_text)
        await pilot.press("9")
        assert "There is no attachment 9: this message has 3." in screen.notice_text

        # o with a display runs xdg-open with the path as one argument (no shell).
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        called = tmp_path / "xdg-open-args"
        script = bin_dir / "xdg-open"
        script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$#" "$1" > "{called}"\n')
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("DISPLAY", ":0")
        await pilot.press("2", "o")
        await wait_for(pilot, lambda: screen.notice_text.startswith("opened "))
        await wait_for(pilot, lambda: called.exists() and called.read_text().count("\n") == 2)
        count, path = called.read_text().splitlines()
        assert count == "1"
        assert Path(path).parent == downloads
        assert Path(path).read_bytes() == b"not evil"

        # Without ~/Downloads, files go to the data dir's downloads/.
        await pilot.press("escape")
        monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, MessageScreen)
        await wait_for(pilot, lambda: screen.detail is not None)
        await pilot.press("s")
        fallback = tui_settings.data_dir / "downloads" / "faktura.pdf"
        await wait_for(pilot, lambda: fallback.exists() and "saved to" in screen.notice_text)
        assert fallback.read_bytes() == PDF


async def test_split_undo_and_move_through_the_picker(
    email_store: EmailStore, tui_settings: Settings
) -> None:
    customer, reply = email_store.customer, email_store.reply
    assert len(conversations(tui_settings, customer)) == 1
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = await open_history(pilot, app, email_store.customer)
        assert "╌╌ conversation #" not in timeline_text(app)  # one conversation: no boundary

        # S: the reply starts a conversation of its own; a boundary shows where.
        await select_message(pilot, timeline, reply)
        await pilot.press("S")
        await wait_for(
            pilot,
            lambda: f"split message {reply} from conversation" in timeline_text(app),
            what="the split event",
        )
        (new, old) = conversations(tui_settings, customer)
        history = timeline_text(app)
        assert f"╌╌ conversation #{old} · open" in history
        assert f"╌╌ conversation #{new} · open" in history
        assert f"leyla split message {reply} from conversation {old} into {new}" in history
        assert "U undoes" in status_text(app)

        # U: back in one conversation.
        await pilot.press("U")
        await wait_for(
            pilot,
            lambda: (
                f"leyla moved message {reply} from conversation {new} to {old}"
                in timeline_text(app)
            ),
            what="the undo",
        )
        assert conversations(tui_settings, customer) == [old]
        await wait_for(pilot, lambda: "╌╌ conversation #" not in timeline_text(app))

        # Split again, then M moves it back through the picker.
        await select_message(pilot, timeline, reply)
        await pilot.press("S")
        await wait_for(pilot, lambda: len(conversations(tui_settings, customer)) == 2)
        newest = max(conversations(tui_settings, customer))
        await wait_for(pilot, lambda: f"into {newest}" in timeline_text(app))
        await select_message(pilot, timeline, reply)
        await pilot.press("M")
        picker = app.screen
        assert isinstance(picker, MoveScreen)
        await wait_for(pilot, lambda: picker.rows, what="the conversations")
        shown = screen_text(app)
        assert f"#{newest} open · 1 message · last " in shown
        assert "(the message is here now)" in shown
        assert f"#{old} open · 1 message · last 59 minutes ago · Faktura" in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        await wait_for(
            pilot,
            lambda: (
                f"moved message {reply} from conversation {newest} to {old}" in timeline_text(app)
            ),
            what="the move",
        )
        assert conversations(tui_settings, customer) == [old]
        assert f"moved to conversation #{old}" in status_text(app)

        # The first message has nowhere else to go: the picker says so.
        await select_message(pilot, timeline, email_store.first)
        await pilot.press("M")
        picker = app.screen
        assert isinstance(picker, MoveScreen)
        await wait_for(pilot, lambda: "No other conversation" in screen_text(app))
        await pilot.press("enter", "escape")
        assert isinstance(app.screen, InboxScreen)
        assert conversations(tui_settings, customer) == [old]


async def test_nothing_to_undo_is_said_in_the_status_line(
    email_store: EmailStore, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_history(pilot, app, email_store.customer)
        await pilot.press("U")
        await wait_for(
            pilot,
            lambda: (
                "Undo refused: no message of this customer was moved or split" in status_text(app)
            ),
        )


async def test_new_keys_are_in_the_palette(email_store: EmailStore, tui_settings: Settings) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = await open_history(pilot, app, email_store.customer)
        await select_message(pilot, timeline, email_store.reply)
        await pilot.press("ctrl+p")
        for ch in "split message":
            await pilot.press("space" if ch == " " else ch)
        await wait_for(pilot, lambda: "into a new conversation" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(conversations(tui_settings, email_store.customer)) == 2)


async def test_new_keys_can_be_rebound(
    email_store: EmailStore, tui_settings: Settings, tmp_path: Path
) -> None:
    settings = settings_for(
        tmp_path, tui_settings.store_url, keys={"toggle-quotes": "f2", "split-message": "ctrl+t"}
    )
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = await open_history(pilot, app, email_store.customer)
        await pilot.press("f2")
        await wait_for(pilot, lambda: "fakturanı əlavə etdik" in timeline_text(app))
        await select_message(pilot, timeline, email_store.reply)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: len(conversations(settings, email_store.customer)) == 2)


async def test_hostile_file_name_and_thread_reason_are_shown_as_typed(
    email_store: EmailStore,
    tui_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with email_store.engine.begin() as conn:
        conn.execute(
            text("UPDATE message SET thread_reason=:r WHERE id=:id"),
            {"r": HOSTILE_REASON, "id": email_store.reply},
        )
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = await open_history(pilot, app, email_store.customer)
        history = timeline_text(app)
        assert "📎 [bold]x[/][@click=app.quit]q[/]../../evil.pdf · text/plain · 8 B" in history
        assert_clean(history, "the history")
        assert_no_actions(timeline.lines, "the history")

        await select_message(pilot, timeline, email_store.reply)
        await pilot.press("w")
        notice = status_text(app)
        assert "[bold]x[/] [@click=app.quit]quit[/]" in notice
        assert_clean(notice, "the status line")
        assert_clean(screen_text(app), "the inbox")

        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, MessageScreen)
        await wait_for(pilot, lambda: screen.detail is not None)
        shown = screen_text(app)
        assert "Threaded: [bold]x[/] [@click=app.quit]quit[/]" in shown
        assert "[bold]x[/][@click=app.quit]q[/]../../evil.pdf" in shown
        assert_clean(shown, "the full view")
        assert_no_actions(list(screen._compositor.render_strips()), "the full view")

        await pilot.press("2", "s")
        folder = tui_settings.data_dir / "downloads"
        await wait_for(pilot, lambda: "saved to" in screen.notice_text)
        (saved,) = folder.iterdir()
        assert saved.name == safe_filename(HOSTILE_NAME)
        assert saved.read_bytes() == b"not evil"
        assert "/" not in saved.name and "\x1b" not in saved.name and "\u202e" not in saved.name
        assert not saved.name.startswith(".")
        assert_clean(screen_text(app), "the save notice")
        await pilot.press("escape")
        assert app.is_running and app.return_code is None


def test_safe_filename() -> None:
    assert safe_filename("faktura.pdf") == "faktura.pdf"
    assert safe_filename("../../etc/passwd") == "_.._etc_passwd"
    assert safe_filename("..") == "attachment"
    assert safe_filename("a\x00b\x1b[2Jc\n.txt") == "abc .txt"
    long = safe_filename("ş" * 300 + ".pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= 200
