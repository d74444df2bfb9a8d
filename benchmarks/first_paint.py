"""Process start to first paint of the inbox, against a bare Textual app in the same run.

    .venv/bin/python benchmarks/first_paint.py [--messages N ...] [--dir D] [--runs 5]

Each program is started in a pseudo-terminal (160x45, TERM=xterm-256color) and the
clock stops when the bytes it wrote, escape sequences stripped, show a known string:
for `omnitui --data-dir D --no-runner`, the name of the customer at the top of the
inbox (read beforehand with Reader.customers); for the bare app (a Textual App with
one Static line), that line. Then the process is killed. Runs interleave the
programs and the median of each is reported, with the ratio to the bare app (goals:
under 1 s at 1,000,000 messages, ratio under 1.5) and, at the largest size, the TUI's
RSS after the first paint and after moving down the list and opening the customer
with 1,000 messages (goal under 150 MB).
"""

from __future__ import annotations

import compileall
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import stores

from omnitui.reads import Reader

COLUMNS, LINES = 160, 45
TIMEOUT_S = 30.0
BARE_LINE = "bare textual app ready"
BARE_APP = f'''
from textual.app import App, ComposeResult
from textual.widgets import Static


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("{BARE_LINE}")


Bare().run()
'''
_ESCAPES = re.compile(
    rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)"
)
OMNITUI = Path(sys.executable).parent / "omnitui"
ROOT = Path(__file__).resolve().parents[1]


class Run:
    """One program in a pseudo-terminal."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
            close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.raw = bytearray()

    def pump(self, seconds: float) -> None:
        """Keep reading what the program writes (it blocks when the terminal is full)."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.raw += chunk

    def wait_for(self, text: str) -> float | None:
        """Seconds from the start until ``text`` is on the screen, or None on timeout."""
        needle = text.encode()
        while time.perf_counter() - self.started < TIMEOUT_S:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                if self.process.poll() is not None:
                    return None
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return None
            self.raw += chunk
            if needle in _ESCAPES.sub(b"", bytes(self.raw)):
                return time.perf_counter() - self.started
        return None

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return kib / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.master)

    def screen_tail(self) -> str:
        return _ESCAPES.sub(b"", bytes(self.raw[-3000:])).decode(errors="replace")[-600:]


def main() -> None:
    argv = sys.argv[1:]
    runs = 5
    if "--runs" in argv:
        i = argv.index("--runs")
        runs = int(argv[i + 1])
        del argv[i : i + 2]
    sys.argv[1:] = argv
    args = stores.arguments(__doc__.splitlines()[0], (50_000, 1_000_000))
    print(f"machine: {stores.machine()}")
    # Bytecode as an installed omnitui has it: with PYTHONDONTWRITEBYTECODE set (as on the
    # development machines) an editable install never writes it, and every start would
    # compile each changed module again (+40-90 ms measured, after an edit to reads.py).
    compileall.compile_dir(str(ROOT / "omnitui"), quiet=1)
    scratch = Path(tempfile.mkdtemp(prefix="omnitui-paint-"))
    bare = scratch / "bare_app.py"
    bare.write_text(BARE_APP, encoding="utf-8")
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "XDG_CONFIG_HOME": str(scratch / "config"),
        "XDG_DATA_HOME": str(scratch / "data"),
        "XDG_STATE_HOME": str(scratch / "state"),
    }
    env.pop("TEXTUAL", None)
    sizes = sorted(args.messages)
    targets: dict[str, tuple[list[str], str]] = {"bare": ([sys.executable, str(bare)], BARE_LINE)}
    infos = {}
    for messages in sizes:
        where, info = stores.cached(args.dir, messages, refill=args.refill)
        infos[messages] = (where, info)
        top = Reader(f"sqlite:///{where / 'omnitui.db'}").customers(0, 1)[0].name
        targets[f"omnitui {messages:,}"] = (
            [str(OMNITUI), "--data-dir", str(where), "--no-runner"],
            top,
        )
        if args.postgresql:
            url = stores.postgresql_copy(args.postgresql, where, messages)
            targets[f"omnitui {messages:,} pg"] = (
                [str(OMNITUI), "--data-dir", str(where), "--db", url, "--no-runner"],
                top,
            )
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(runs):
        for name, (command, text) in targets.items():
            run = Run(command, env)
            took = run.wait_for(text)
            if took is None:
                print(f"{name}: no {text!r} on the screen within {TIMEOUT_S:.0f} s; it showed:")
                print(run.screen_tail())
            else:
                times[name].append(took)
            run.stop()
    bare_median = stores.median(times["bare"]) if times["bare"] else float("nan")
    for name, values in times.items():
        if not values:
            continue
        median = stores.median(values)
        ratio = median / bare_median
        print(
            f"first paint, {name:<18} median {median * 1000:6.0f} ms of {len(values)} "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}), "
            f"ratio to bare {ratio:.2f}"
        )

    largest = sizes[-1]
    where, info = infos[largest]
    command, text = targets[f"omnitui {largest:,}"]
    run = Run(command, env)
    if run.wait_for(text) is None:
        print("RSS: the inbox never painted")
        run.stop()
        return
    run.pump(1.0)
    first = run.rss_mb()
    listed = Reader(f"sqlite:///{where / 'omnitui.db'}").customers(0, 5_000)
    position = next((i for i, c in enumerate(listed) if c.id == info["longest_customer_id"]), None)
    for _ in range(3):  # page down the list and back, so more of it is loaded and drawn
        run.press("\x1b[6~")
        run.pump(0.3)
    run.press("g")
    run.pump(0.3)
    run.press("j" * (position or 0))
    run.pump(0.3)
    run.press("\r")
    run.pump(2.0)
    opened = run.rss_mb()
    run.stop()
    what = "the customer with 1,000 messages" if position is not None else "the top customer"
    print(
        f"RSS of omnitui at {largest:,} messages: {first:.0f} MB after the first paint, "
        f"{opened:.0f} MB after paging the list and opening {what} "
        f"({'ok' if max(first, opened) < 150 else 'above the goal of 150 MB'})"
    )


if __name__ == "__main__":
    main()
