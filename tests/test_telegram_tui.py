"""Telegram in the TUI, driven by keys: text, photos, stickers, locations and edits in one
history with the T mark; the @handle beside the name; "(edited)" and the earlier texts
(v); an address the bot cannot reach, said in the composer; files attached through the
attach window (ctrl+t) and sent with the reply."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from rich.color import Color
from sqlalchemy import Engine
from textual.pilot import Pilot

from omnitui import inbox
from omnitui.app import OmniApp
from omnitui.blobs import BlobStore
from omnitui.config import OutboxConfig, Settings
from omnitui.connectors.base import Batch, InboundAttachment, InboundMessage
from omnitui.reads import _EDITED, Reader
from omnitui.screens.attach import AttachScreen, PathInput, complete_path
from omnitui.screens.help import HelpScreen
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.message import MessageScreen
from omnitui.widgets.composer import Composer, ComposerArea
from omnitui.widgets.customer_list import CustomerList
from omnitui.widgets.pager import Pager
from tests.test_email_tui import open_history, select_message, status_text
from tests.test_hostile_text import assert_clean, assert_no_actions
from tests.tui_support import (
    NOW,
    make_app,
    screen_text,
    settings_for,
    timeline_text,
    type_text,
    wait_for,
)

SIZE = (160, 50)
BOT = "support-bot"
CHAT = "5550001"
PHOTO = bytes(range(256)) * 40  # 10,240 bytes: "10 KB"
FIRST_TEXT = "Salam, sifarişim #7781 hələ gəlmədi."
EDITED_TEXT = "Salam, sifarişim #7781 hələ gəlmədi. Təcili!"
LOCATION = (
    "[location 40.4093, 49.8671]\n"
    "https://www.openstreetmap.org/?mlat=40.4093&mlon=49.8671#map=17/40.4093/49.8671"
)
HOSTILE_HANDLE = "\x1b]0;pwned\x07[bold]x[/][@click=app.quit]q"
HOSTILE_OLD = "[@click=app.quit]old[/] \x1b]52;c;SGVsbG8=\x07"
HOSTILE_NEW = "\x1b[2J[bold]new[/] \u202eevil"
BLOCKED = "the user blocked the bot"


def telegram(n: int, body: str, **kw: object) -> InboundMessage:
    fields: dict[str, object] = {
        "display_name": "Kamran Əliyev",
        "handle": "kamran_a",
        "sent_at": NOW - timedelta(minutes=60 - n),
    }
    fields.update(kw)
    return InboundMessage(
        account=BOT,
        channel="telegram",
        external_id=f"{CHAT}:{n}",
        address=CHAT,
        body=body,
        **fields,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class TelegramStore:
    engine: Engine
    customer: int
    text: int
    photo: int
    sticker: int
    location: int


@pytest.fixture
def telegram_store(engine: Engine, tui_settings: Settings) -> TelegramStore:
    """Kamran writes to the bot: a text, a photo with a caption, a sticker, his location;
    then he edits the first text."""
    blobs = BlobStore(tui_settings.data_dir / "attachments")
    photo = InboundAttachment("photo.jpg", "image/jpeg", PHOTO, len(PHOTO))
    batch = [
        telegram(1, FIRST_TEXT),
        telegram(2, "Qəbz budur", attachments=(photo,)),
        telegram(3, "[sticker 😀]"),
        telegram(4, LOCATION),
    ]
    results = inbox.ingest(engine, Batch(batch), blobs)
    ids = [r.message_id for r in results]
    assert all(i is not None for i in ids)
    edit = telegram(1, EDITED_TEXT, edit_of=f"{CHAT}:1", sent_at=NOW - timedelta(minutes=50))
    (edited,) = inbox.ingest(engine, Batch([edit]), blobs)
    assert edited.message_id == ids[0]
    return TelegramStore(engine, results[0].customer_id, *ids)  # type: ignore[arg-type]


def composer_line(app: OmniApp) -> str:
    return str(app.inbox.query_one(Composer).query_one("#composer-mode").render())


def segments_with(app: OmniApp, text: str) -> list[Color | None]:
    """The colours of the screen's segments that hold ``text``."""
    return [
        segment.style.color if segment.style else None
        for strip in app.screen._compositor.render_strips()
        for segment in strip
        if text in segment.text
    ]


async def type_path(pilot: Pilot[object], path: str) -> None:
    await pilot.press(*path)


# -- the history -------------------------------------------------------------------------


async def test_every_kind_shows_with_the_telegram_mark_and_the_edit(
    telegram_store: TelegramStore, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = await open_history(pilot, app, telegram_store.customer)
        history = timeline_text(app)
        lines = history.splitlines()
        heads = [line for line in lines if "← in" in line]
        assert len(heads) == 4
        assert all("← in  T telegram · Kamran Əliyev" in line for line in heads)
        for shown in (
            EDITED_TEXT,
            "Qəbz budur",
            "📎 photo.jpg · image/jpeg · 10 KB",
            "[sticker 😀]",
            "[location 40.4093, 49.8671]",
            "https://www.openstreetmap.org/?mlat=40.4093&mlon=49.8671",
        ):
            assert shown in history, shown
        assert f"│ {FIRST_TEXT}" not in [line.strip() for line in lines]  # the text now only
        # "(edited)" after the time of the edited message, and of no other.
        edited = [line for line in heads if "(edited)" in line]
        assert len(edited) == 1
        assert edited[0].rstrip().endswith("13:01 (edited)")  # 09:01 UTC in Baku
        assert lines[lines.index(edited[0]) + 1].strip() == f"│ {EDITED_TEXT}"

        # The @handle beside the name, in the customer's header.
        assert "Kamran Əliyev @kamran_a" in screen_text(app)

        # v: every text it had, oldest first, each with its time.
        await select_message(pilot, timeline, telegram_store.text)
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, MessageScreen)
        pager = screen.query_one(Pager)
        await wait_for(pilot, lambda: pager.ready and screen.detail is not None)
        body = "\n".join(line.plain for line in pager.lines)
        original = body.index("── original · 2026-11-02 13:01 +04 ──")
        now = body.index("── edit 1, the text now · 2026-11-02 13:10 +04 ──")
        assert original < body.index(FIRST_TEXT) < now < body.rindex(EDITED_TEXT)
        assert "Edited once by its sender" in screen_text(app)
        assert "telegram · account support-bot" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)

        # A message never edited shows its text alone.
        await select_message(pilot, timeline, telegram_store.sticker)
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, MessageScreen)
        pager = screen.query_one(Pager)
        await wait_for(pilot, lambda: pager.ready and screen.detail is not None)
        assert [line.plain for line in pager.lines] == ["[sticker 😀]"]
        assert "Edited" not in screen_text(app)


def test_edits_are_read_oldest_first_and_flagged_through_the_index(
    telegram_store: TelegramStore, tui_settings: Settings
) -> None:
    again = telegram(1, "third text", edit_of=f"{CHAT}:1", sent_at=NOW - timedelta(minutes=40))
    inbox.ingest(telegram_store.engine, Batch([again]))
    reader = Reader(tui_settings.store_url)
    edits = reader.edits(telegram_store.text)
    assert [e.body for e in edits] == [FIRST_TEXT, EDITED_TEXT]
    assert edits[0].edited_at < edits[1].edited_at
    items = {item.id: item for item in reader.timeline(telegram_store.customer)}
    assert items[telegram_store.text].edited
    assert not items[telegram_store.photo].edited
    detail = reader.message_detail(telegram_store.text)
    assert detail is not None and detail.body == "third text" and detail.edits == tuple(edits)
    # One query a page: the flag is an EXISTS on the index of messageedit.message_id.
    if reader.postgresql:
        return  # the plan below is SQLite's
    with sqlite3.connect(reader.path) as conn:
        plan = conn.execute(f"EXPLAIN QUERY PLAN SELECT {_EDITED} FROM message m").fetchall()
    assert any("ix_messageedit_message_id" in str(row) for row in plan), plan


# -- the composer ------------------------------------------------------------------------


async def test_an_unreachable_address_says_why_and_a_reply_still_queues(
    telegram_store: TelegramStore, tui_settings: Settings
) -> None:
    engine = telegram_store.engine
    failed = inbox.queue_reply(engine, telegram_store.customer, "Salam", agent="leyla")
    generation = inbox.acquire_lease(engine, "h:1:x", 30)
    assert generation is not None
    inbox.claim_outbox(engine, "h:1:x", generation)
    inbox.mark_failed(
        engine, failed, BLOCKED, permanent=True, policy=OutboxConfig(), unreachable=True
    )
    reason = f"cannot reach: {BLOCKED} ({BOT})"
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_history(pilot, app, telegram_store.customer)
        await pilot.press("r")
        line = composer_line(app)
        assert f"via T telegram {CHAT} (@kamran_a)" in line
        assert reason in line
        await wait_for(pilot, lambda: segments_with(app, "cannot reach"), what="drawn")
        colours = [c.get_truecolor() for c in segments_with(app, "cannot reach") if c]
        assert colours and all(c.red > 2 * max(c.green, c.blue) for c in colours), colours

        # Allowed: the user may have unblocked the bot; the notice says what may happen.
        await type_text(pilot, "Yenidən yoxlayın")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Yenidən yoxlayın" in timeline_text(app), what="queued")
        assert "could not be reached last time" in status_text(app)
        queued = [
            i
            for i in Reader(tui_settings.store_url).timeline(telegram_store.customer)
            if i.body == "Yenidən yoxlayın"
        ]
        assert [i.delivery for i in queued] == ["queued"]


async def test_files_attached_in_the_window_go_with_the_reply(
    telegram_store: TelegramStore,
    tui_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))  # short paths to type: ~/...
    invoice = folder / "qaimə-2026.pdf"
    data = os.urandom(3000)
    invoice.write_bytes(data)
    (folder / "qeyd.txt").write_text("not attached")
    big = folder / "video.mp4"
    with big.open("wb") as out:  # sparse: over the limit without writing 51 MB
        out.truncate(51 * 1024 * 1024)
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_history(pilot, app, telegram_store.customer)
        composer = app.inbox.query_one(Composer)
        await pilot.press("r")
        await type_text(pilot, "Qaiməni əlavə etdim")
        await pilot.press("ctrl+t")
        screen = app.screen
        assert isinstance(screen, AttachScreen)
        path = screen.query_one(PathInput)
        assert path.has_focus

        # Tab completes as far as the folder's names agree, and lists them when several do.
        await type_path(pilot, "~/q")
        await pilot.press("tab")
        await wait_for(pilot, lambda: screen.message_text == "qaimə-2026.pdf · qeyd.txt")
        assert path.value == "~/q"
        await pilot.press("a", "tab")
        await wait_for(pilot, lambda: path.value == "~/qaimə-2026.pdf", what="completed")

        # Enter attaches it.
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.files) == 1, what="attached")
        assert path.value == ""
        assert "📎 qaimə-2026.pdf · 3 KB" in screen_text(app)

        # A missing file and one over the limit: said inline, nothing added.
        await type_path(pilot, "~/missing.pdf")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "no such file" in screen.message_text)
        assert screen.message_text == f"{folder}/missing.pdf: no such file"
        assert f"{folder}/missing.pdf: no such file" in screen_text(app)
        assert len(screen.files) == 1
        await pilot.press("ctrl+u")
        await type_path(pilot, "~/video.mp4")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "limit" in screen.message_text)
        assert screen.message_text == f"{big}: 51 MB is over the 50 MB limit"
        assert len(screen.files) == 1

        # Backspace on an empty path takes the last file off.
        await pilot.press("ctrl+u")
        await type_path(pilot, "~/qeyd.txt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.files) == 2)
        await pilot.press("backspace")
        assert [f.name for f in screen.files] == ["qaimə-2026.pdf"]
        assert screen.message_text == "Removed qeyd.txt."

        # Esc: back in the composer, the file listed under the text.
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)
        assert composer.query_one(ComposerArea).has_focus
        assert [f.path for f in composer.files] == [invoice]
        assert "📎 qaimə-2026.pdf · 3 KB" in screen_text(app)

        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Qaiməni əlavə etdim" in timeline_text(app), what="sent")
        assert "📎 qaimə-2026.pdf · application/pdf · 3 KB" in timeline_text(app)
        await wait_for(pilot, lambda: not composer.files, what="the files cleared")
        assert "Reply queued with 1 file" in status_text(app)
        assert "📎 qaimə-2026.pdf · 3 KB" not in screen_text(app)

    reader = Reader(tui_settings.store_url)
    (reply,) = [i for i in reader.timeline(telegram_store.customer) if i.kind == "out"]
    assert reply.delivery == "queued" and reply.channel == "telegram"
    (row,) = reader.attachments([reply.id])[reply.id]
    assert row.filename == "qaimə-2026.pdf" and row.size == len(data)
    assert BlobStore(tui_settings.data_dir / "attachments").get(row.sha256) == data


async def test_a_reply_of_files_only_through_the_palette(
    telegram_store: TelegramStore,
    tui_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a path relative to where omnitui runs
    photo = tmp_path / "ekran.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_history(pilot, app, telegram_store.customer)
        composer = app.inbox.query_one(Composer)
        await pilot.press("ctrl+p")
        await type_text(pilot, "attach file")
        await wait_for(pilot, lambda: "Attach a file to the reply" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachScreen), what="the window")
        screen = app.screen
        assert isinstance(screen, AttachScreen)
        await type_path(pilot, "ekran.png")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.files) == 1)
        await pilot.press("enter")  # on an empty path: closes
        assert isinstance(app.screen, InboxScreen)
        assert composer.query_one(ComposerArea).has_focus  # ready to send
        assert composer.text == ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "📎 ekran.png · image/png" in timeline_text(app))

        # The palette takes a file off too.
        await pilot.press("ctrl+t")
        screen = app.screen
        assert isinstance(screen, AttachScreen)
        await type_path(pilot, "ekran.png")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.files) == 1)
        await pilot.press("escape")
        assert len(composer.files) == 1
        await pilot.press("ctrl+p")
        await type_text(pilot, "remove attached")
        await wait_for(pilot, lambda: "Take the last attached file off" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: not composer.files)
        assert "Removed ekran.png from the reply" in status_text(app)

    reader = Reader(tui_settings.store_url)
    (reply,) = [i for i in reader.timeline(telegram_store.customer) if i.kind == "out"]
    assert reply.body == ""
    (row,) = reader.attachments([reply.id])[reply.id]
    assert BlobStore(tui_settings.data_dir / "attachments").get(row.sha256) == photo.read_bytes()


async def test_files_stay_with_their_customer(
    telegram_store: TelegramStore,
    tui_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A draft's files are the customer's: moving to someone else does not carry them."""
    email = InboundMessage(
        account="mail",
        channel="email",
        external_id="<x@example.az>",
        address="leyla@example.az",
        body="Salam",
        sent_at=NOW,
        display_name="Leyla",
    )
    (leyla,) = inbox.ingest(telegram_store.engine, Batch([email]))
    file = tmp_path / "a.txt"
    file.write_text("hello")
    monkeypatch.chdir(tmp_path)
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        customers = app.inbox.query_one(CustomerList)
        await wait_for(pilot, lambda: customers.selected_id == leyla.customer_id)
        await pilot.press("j")  # Leyla wrote last; Kamran is next
        await open_history(pilot, app, telegram_store.customer)
        composer = app.inbox.query_one(Composer)
        await pilot.press("r", "ctrl+t")
        screen = app.screen
        assert isinstance(screen, AttachScreen)
        await type_path(pilot, "a.txt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.files) == 1)
        await pilot.press("escape", "escape", "escape")  # the window, the composer, the history
        assert customers.has_focus
        await pilot.press("k")
        await open_history(pilot, app, leyla.customer_id)
        assert composer.files == ()
        assert "📎 a.txt" not in screen_text(app)
        await pilot.press("escape", "j")
        await open_history(pilot, app, telegram_store.customer)
        assert [f.path for f in composer.files] == [file]
        assert "📎 a.txt · 5 B" in screen_text(app)


def test_complete_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs2.txt").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    assert complete_path(f"{tmp_path}/do") == (f"{tmp_path}/docs", ["docs/", "docs2.txt"])
    assert complete_path(f"{tmp_path}/docs") == (f"{tmp_path}/docs", ["docs/", "docs2.txt"])
    assert complete_path(f"{tmp_path}/docs/") == (f"{tmp_path}/docs/", [])
    assert complete_path(f"{tmp_path}/doc") == (f"{tmp_path}/docs", ["docs/", "docs2.txt"])
    assert complete_path(f"{tmp_path}/docs2") == (f"{tmp_path}/docs2.txt", ["docs2.txt"])
    assert complete_path(f"{tmp_path}/.h") == (f"{tmp_path}/.hidden", [".hidden"])
    assert complete_path(f"{tmp_path}/nothing") == (f"{tmp_path}/nothing", [])
    assert complete_path(f"{tmp_path}/missing/x") == (f"{tmp_path}/missing/x", [])
    monkeypatch.setenv("HOME", str(tmp_path))
    assert complete_path("~/docs2") == ("~/docs2.txt", ["docs2.txt"])
    assert complete_path("~") == ("~/docs", ["docs/", "docs2.txt"])
    monkeypatch.chdir(tmp_path)
    assert complete_path("docs/") == ("docs/", [])
    assert complete_path("d") == ("docs", ["docs/", "docs2.txt"])


# -- help, keymap, hostile text ----------------------------------------------------------


async def test_the_new_keys_are_in_help_and_can_be_rebound(
    telegram_store: TelegramStore, tui_settings: Settings, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, tui_settings.store_url, {"attach-file": "f3"})
    app = make_app(settings)
    # Every binding of every screen on one help page: tall, and wide enough not to wrap.
    async with app.run_test(size=(200, 240)) as pilot:
        await open_history(pilot, app, telegram_store.customer)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        rows = {
            ident: next((line for line in screen_text(app).splitlines() if ident in line), "")
            for ident in ("attach-file", "attach-close", "attach-complete", "attach-remove-last")
        }
        assert "f3" in rows["attach-file"] and "Attach file" in rows["attach-file"]
        assert "esc" in rows["attach-close"]
        assert "tab" in rows["attach-complete"]
        assert "on an empty path, remove the last file" in rows["attach-remove-last"]
        await pilot.press("escape")
        await pilot.press("r", "f3")
        assert isinstance(app.screen, AttachScreen)
        # The window's actions are in the palette too.
        await pilot.press("ctrl+p")
        await type_text(pilot, "done attaching")
        await wait_for(pilot, lambda: "keeping the files" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="closed")


async def test_a_hostile_handle_and_edit_show_as_typed(
    engine: Engine, tui_settings: Settings
) -> None:
    first = telegram(1, HOSTILE_OLD, handle=HOSTILE_HANDLE, display_name=HOSTILE_HANDLE)
    (stored,) = inbox.ingest(engine, Batch([first]))
    edit = telegram(
        1,
        HOSTILE_NEW,
        handle=HOSTILE_HANDLE,
        display_name=HOSTILE_HANDLE,
        edit_of=f"{CHAT}:1",
        sent_at=NOW - timedelta(minutes=30),
    )
    inbox.ingest(engine, Batch([edit]))
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        timeline = await open_history(pilot, app, stored.customer_id)
        shown = screen_text(app)
        assert "@[bold]x[/][@click=app.quit]q" in shown  # the handle, cleaned, as typed
        assert "[bold]new[/] evil" in timeline_text(app)
        assert "(edited)" in timeline_text(app)
        assert_clean(shown, "the inbox")
        assert_no_actions(list(app.screen._compositor.render_strips()), "the inbox")
        assert_no_actions(timeline.lines, "the history")
        await pilot.press("r")
        assert "(@[bold]x[/][@click=app.quit]q)" in composer_line(app)
        await pilot.press("escape")

        await select_message(pilot, timeline, stored.message_id or 0)
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, MessageScreen)
        pager = screen.query_one(Pager)
        await wait_for(pilot, lambda: pager.ready and screen.detail is not None)
        body = "\n".join(line.plain for line in pager.lines)
        assert "[@click=app.quit]old[/]" in body and "[bold]new[/] evil" in body
        full = screen_text(app)
        assert_clean(full, "the full view")
        assert_no_actions(list(screen._compositor.render_strips()), "the full view")
        await pilot.press("escape")
        assert app.is_running and app.return_code is None
