"""What a real terminal receives: no customer's escape sequence ever reaches it.

The TUI runs in tmux under `script`, which records every byte the app writes
(../shared/RECIPES.md). The store holds a customer whose name, subject and body
carry a clipboard write (OSC 52), a hyperlink (OSC 8), a title change and a
screen clear; the recording and the pane title must show none of them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnitui import db, inbox
from omnitui.connectors.base import Batch, InboundMessage

NAME = "Mallory\x1b]0;pwned-title\x07 Q"
SUBJECT = "Invoice\x1b]52;c;cHduZWQ=\x07 overdue"
BODY = (
    "Pay here: \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ now\x1b[2J\x1b[H"
    "\x9b31m [@click=app.quit]x[/] \u202eevil"
)
FORBIDDEN = [b"pwned-title", b"]52;", b"cHduZWQ=", b"evil.example", b"\xe2\x80\xae"]


def _tmux() -> str:
    found = shutil.which("tmux")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is missing under CI: .ci/run must install it")
        pytest.skip("tmux is not installed (apt-get install tmux)")
    return found


def test_customer_escape_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    tmux = _tmux()
    url = db.sqlite_url(tmp_path / "omnitui.db")
    db.ensure_schema(url)
    engine = db.make_engine(url)
    inbox.ingest(
        engine,
        Batch(
            [
                InboundMessage(
                    "mail",
                    "email",
                    "evil-1",
                    "mallory@example.com",
                    BODY,
                    datetime.now(UTC),
                    display_name=NAME,
                    subject=SUBJECT,
                )
            ]
        ),
    )
    raw = tmp_path / "raw.log"
    command = " ".join(
        shlex.quote(a)
        for a in [sys.executable, "-m", "omnitui", "--data-dir", str(tmp_path), "--no-runner"]
    )
    session = f"omnitui-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    subprocess.run(
        [
            tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "45",
            f"script -q -f -c {shlex.quote(command)} {shlex.quote(str(raw))}",
        ],
        check=True,
        env=env,
    )
    try:

        def screen() -> str:
            return subprocess.run(
                [tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout

        deadline = time.monotonic() + 30
        while "Mallory" not in screen():
            assert time.monotonic() < deadline, f"the inbox never showed:\n{screen()}"
            time.sleep(0.1)
        subprocess.run([tmux, "send-keys", "-t", session, "Enter"], check=True)
        deadline = time.monotonic() + 10
        while "click" not in screen():
            assert time.monotonic() < deadline, f"the message never showed:\n{screen()}"
            time.sleep(0.1)
        shown = screen()
        assert "[@click=app.quit]x[/]" in shown  # shown as text, not run as an action
        title = subprocess.run(
            [tmux, "display", "-p", "-t", session, "#{pane_title}"],
            capture_output=True,
            text=True,
        ).stdout
        assert "pwned" not in title
    finally:
        subprocess.run([tmux, "send-keys", "-t", session, "C-q"])
        time.sleep(0.5)
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)
    written = raw.read_bytes()
    assert len(written) > 1000
    for needle in FORBIDDEN:
        assert needle not in written, f"{needle!r} reached the terminal"
