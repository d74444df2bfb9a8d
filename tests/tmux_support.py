"""A real terminal for tests: the app runs in tmux on a private server, keys go in with
send-keys and the screen comes back with capture-pane (../shared/RECIPES.md). The
``tmux`` fixture (tests/conftest.py) makes one and kills its server afterwards."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

PANE = (160, 45)
"""The terminal's size, columns and rows."""
OMNITUI = Path(sys.executable).parent / "omnitui"


class Tmux:
    """A terminal on a tmux server of its own (``-L``): nothing of the user's tmux is touched."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.socket = f"omnitui-hosts-{uuid.uuid4().hex[:8]}"
        self.session = "rauf"
        self.status_file = directory / "exit-status"
        self.socket_path = ""
        self._screen = ("", 0.0)
        self.ended = ""
        """The app's exit status, once ``exited()``."""
        self.last = ""
        """The pane's screen after the app ended, once ``exited()``."""

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=10,
            # os.environ, not the process's C environment: under pytest GNU readline has put
            # COLUMNS=80 and LINES=24 there, and the app in the pane would believe them.
            env=dict(os.environ),
        )

    def start(self, command: list[str], env: dict[str, str]) -> None:
        words = ["env", "-u", "COLUMNS", "-u", "LINES", *(f"{k}={v}" for k, v in env.items())]
        # The shell notes the exit status: tmux 3.3a sometimes leaves the app a zombie,
        # its pane dead without a status, for good.
        line = " ".join(shlex.quote(a) for a in [*words, *command])
        line += f"; echo $? > {shlex.quote(str(self.status_file))}"
        size = ["-x", str(PANE[0]), "-y", str(PANE[1])]
        self.run("-u", "new-session", "-d", "-s", self.session, *size, line)
        # Keep the pane when the shell exits, to show what the app left.
        self.run("set-option", "-t", self.session, "remain-on-exit", "on")
        self.socket_path = self.run("display", "-p", "#{socket_path}").stdout.strip()

    def screen(self) -> str:
        """What the pane shows (one capture serves the checks of one poll, 20 ms)."""
        text, at = self._screen
        if time.monotonic() - at > 0.02:
            text = self.run("capture-pane", "-p", "-t", self.session, check=False).stdout
            self._screen = (text, time.monotonic())
        return text

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)
        self._screen = ("", 0.0)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", self.session, "-l", text)
        self._screen = ("", 0.0)

    def exited(self) -> bool:
        """Whether the app has ended; then ``ended`` is its exit status, ``last`` what it left."""
        try:
            status = self.status_file.read_text().strip()
        except FileNotFoundError:
            return False
        if not status:  # being written
            return False
        self.ended = status
        self.last = self.run("capture-pane", "-p", "-t", self.session, check=False).stdout
        return True

    def close(self) -> None:
        self.run("kill-server", check=False)
        if self.socket_path:  # kill-server leaves it
            Path(self.socket_path).unlink(missing_ok=True)

    def start_omnitui(self, url: str, agent: str, home: Path) -> None:
        """The TUI as ``agent`` would start it on a machine of their own (English, in
        ``home``): nothing but the store at ``url`` is shared with the test."""
        home.mkdir()
        command = [str(OMNITUI)] if OMNITUI.exists() else [sys.executable, "-m", "omnitui"]
        command += ["--db", url, "--agent", agent, "--no-runner"]
        command += ["--data-dir", str(home / "data"), "--lang", "en"]
        self.start(
            command,
            {
                "TERM": "xterm-256color",
                "LANG": "C.UTF-8",
                "LC_ALL": "C.UTF-8",
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / "config"),
                "XDG_CACHE_HOME": str(home / "cache"),
                "XDG_DATA_HOME": str(home / "share"),
            },
        )
