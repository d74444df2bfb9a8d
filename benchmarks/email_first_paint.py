"""Opening the inbox to its first paint: neomutt (warm header cache) against omnitui.

    .venv/bin/python benchmarks/email_first_paint.py [MAILDIR] [--messages 50000] [--runs 5]
        [--store DATA_DIR] [--reimport]

The maildir is the one of email_import.py ($TMPDIR/omnitui-bench/maildir-50k, made
by make_maildir.py when missing). omnitui opens a store imported from it once with
`omnitui --data-dir MAILDIR.omnitui import maildir MAILDIR` (kept; --reimport does
it again; --store uses another data dir as it is). When the import command is not
there, the omnitui row says so and neomutt is measured anyway.

Both run in tmux (a private server, -L, no tmux.conf, 200x50, status bar off,
TERM=tmux-256color): the clock starts before `tmux new-session` and stops when
`tmux capture-pane` (polled every 10 ms) shows the index:
- neomutt -n -F muttrc -f MAILDIR, the muttrc setting folder, header_cache (a
  directory of ours, warmed by one run first, which is reported as the cold
  figure), no mailcap, sort=threads, sort_aux=last-date-received, mark_old=no (the
  maildir is left as it was): ready when the status bar reads "NeoMutt: ...
  [Msgs:N" and an index line is on the screen;
- omnitui --data-dir DATA --no-runner: ready when the name of the customer at the
  top of the inbox (Reader.customers) is on the screen, as in first_paint.py.
Runs interleave the programs; median of --runs, the ratio omnitui / neomutt (goal:
at most 0.5), and each program's RSS (/proc VmRSS) right after the first paint.
The sessions and the tmux server are killed at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import email_import
import stores

COLUMNS, LINES = 200, 50
POLL_S = 0.010
TIMEOUT_S = 60.0
OMNITUI = Path(sys.executable).parent / "omnitui"
MUTTRC = """\
set folder="{maildir}"
set spoolfile="{maildir}"
set mbox_type=Maildir
set header_cache="{cache}/"
set mailcap_path=""
set sort=threads
set sort_aux=last-date-received
set mark_old=no
set quit=yes
"""
NEOMUTT_STATUS = re.compile(r"NeoMutt: .*\[Msgs:(\d+)")
NEOMUTT_INDEX_LINE = re.compile(r"^\s*\d+ ", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    argv: list[str]
    env: dict[str, str]
    text: str | None
    """What shows the index, or None for neomutt's status bar and an index line."""
    quit_keys: list[str]


@dataclass(frozen=True, slots=True)
class Paint:
    seconds: float | None
    rss_mb: float
    screen: str


class Tmux:
    """A tmux server of our own; every session is killed by ``close``."""

    def __init__(self) -> None:
        self.socket = f"omnitui-bench-{os.getpid()}"
        self.count = 0
        self("-f", os.devnull, "new-session", "-d", "-s", "keep", "-x", str(COLUMNS),
             "-y", str(LINES), "sleep", "86400")  # fmt: skip
        self("set-option", "-g", "status", "off")
        self("set-option", "-g", "remain-on-exit", "on")
        self("set-option", "-g", "default-terminal", "tmux-256color")
        self.path = self("display-message", "-p", "#{socket_path}").strip()

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def paint(self, target: Target) -> Paint:
        """Starts ``target`` in a new session, waits for the index, quits it."""
        self.count += 1
        session = f"run{self.count}"
        env_args = [arg for key, value in target.env.items() for arg in ("-e", f"{key}={value}")]
        started = time.perf_counter()
        self("new-session", "-d", "-s", session, "-x", str(COLUMNS), "-y", str(LINES),
             *env_args, *target.argv)  # fmt: skip
        took, screen, polls = None, "", 0
        while (now := time.perf_counter()) - started < TIMEOUT_S:
            screen = self("capture-pane", "-p", "-t", session, check=False)
            if ready(target, screen):
                took = time.perf_counter() - started
                break
            polls += 1
            if polls % 25 == 0 and self.dead(session):
                break
            time.sleep(max(0.0, POLL_S - (time.perf_counter() - now)))
        rss = rss_mb(self("display-message", "-p", "-t", session, "#{pane_pid}", check=False))
        for key in target.quit_keys:
            self("send-keys", "-t", session, key, check=False)
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            if self.dead(session):
                break
            time.sleep(0.05)
        self("kill-session", "-t", session, check=False)
        return Paint(took, rss, screen)

    def dead(self, session: str) -> bool:
        """Whether the program in ``session`` has exited (or the session is gone)."""
        shown = self("display-message", "-p", "-t", session, "#{pane_dead}", check=False)
        return shown.strip() in ("1", "")

    def close(self) -> None:
        self("kill-server", check=False)
        if self.path:
            Path(self.path).unlink(missing_ok=True)


def ready(target: Target, screen: str) -> bool:
    if target.text is not None:
        return target.text in screen
    status = NEOMUTT_STATUS.search(screen)
    return bool(status and int(status.group(1)) > 0 and NEOMUTT_INDEX_LINE.search(screen))


def rss_mb(pid: str) -> float:
    try:
        status = Path(f"/proc/{int(pid)}/status").read_text()
    except (ValueError, OSError):
        return float("nan")
    found = re.search(r"VmRSS:\s+(\d+)", status)
    return int(found.group(1)) / 1024 if found else float("nan")


def omnitui_store(
    maildir: Path, store: Path | None, reimport: bool, env: dict[str, str]
) -> Path | None:
    """The data dir omnitui opens, imported from ``maildir`` when needed; None if it cannot be."""
    if store is not None:
        return store
    data = maildir.parent / (maildir.name + ".omnitui")
    if (data / "omnitui.db").exists() and not reimport:
        return data
    if not email_import.omnitui_import_available(env):
        print("omnitui import maildir: not available")
        return None
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    print(f"importing {maildir} into {data} ...", file=sys.stderr)
    measured = email_import.spawn(
        [
            str(OMNITUI),
            "--data-dir",
            str(data),
            "import",
            "maildir",
            "--ours",
            "support@acme.example",
            str(maildir),
        ],
        env,
    )
    if measured.returncode != 0:
        print(f"omnitui import maildir exited with {measured.returncode}:", file=sys.stderr)
        print((measured.stderr or measured.stdout)[-2000:], file=sys.stderr)
        shutil.rmtree(data, ignore_errors=True)
        return None
    print(
        f"imported in {measured.seconds:.1f} s, peak RSS {measured.max_rss_mb:.0f} MB: "
        f"{email_import.store_counts(data)}",
        file=sys.stderr,
    )
    return data


def top_customer(data: Path) -> str | None:
    from omnitui.reads import Reader

    rows = Reader(f"sqlite:///{data / 'omnitui.db'}").customers(0, 1)
    return rows[0].name if rows else None


def summary(name: str, paints: list[Paint]) -> tuple[float, str]:
    times = [p.seconds for p in paints if p.seconds is not None]
    if not times:
        return float("nan"), f"first paint, {name:<8} never painted"
    median = stores.median(times)
    rss = stores.median([p.rss_mb for p in paints if p.seconds is not None])
    return median, (
        f"first paint, {name:<8} median {median * 1000:6.0f} ms of {len(times)} "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}), RSS {rss:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maildir", type=Path, nargs="?")
    parser.add_argument("--messages", type=int, default=50_000, help="when making the maildir")
    parser.add_argument("--seed", type=int, default=1, help="when making the maildir")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--store", type=Path, help="an omnitui data dir to open as it is")
    parser.add_argument("--reimport", action="store_true", help="import the maildir again")
    args = parser.parse_args()
    for tool in ("tmux", "neomutt"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")

    print(f"machine: {stores.machine()}")
    maildir = email_import.ensure_maildir(args.maildir, args.messages, args.seed).resolve()
    files = email_import.count_files(maildir)
    print(f"maildir: {maildir}, {files:,} messages")
    scratch = Path(tempfile.mkdtemp(prefix="omnitui-email-paint-"))
    tmux: Tmux | None = None
    try:
        cache = scratch / "header-cache"
        cache.mkdir()
        muttrc = scratch / "muttrc"
        muttrc.write_text(MUTTRC.format(maildir=maildir, cache=cache), encoding="utf-8")
        base_env = {"COLORTERM": "truecolor", "LANG": os.environ.get("LANG") or "C.UTF-8"}
        neomutt = Target(
            "neomutt",
            ["neomutt", "-n", "-F", str(muttrc), "-f", str(maildir)],
            {**base_env, "HOME": str(scratch)},
            None,
            ["x"],
        )
        omnitui_env = email_import.omnitui_env(scratch)
        targets = [neomutt]
        data = omnitui_store(maildir, args.store, args.reimport, omnitui_env)
        name = top_customer(data) if data is not None else None
        if data is not None and name:
            xdg = {k: v for k, v in omnitui_env.items() if k.startswith("XDG_")}
            argv = [str(OMNITUI), "--data-dir", str(data), "--no-runner"]
            targets.append(Target("omnitui", argv, {**base_env, **xdg}, name, ["C-q"]))
            print(
                f"omnitui store: {data} ({email_import.store_counts(data)}); top customer {name!r}"
            )
        elif data is not None:
            print(f"omnitui store {data} has no customers: omnitui not measured")

        tmux = Tmux()
        cold = tmux.paint(neomutt)
        if cold.seconds is None:
            print("neomutt never showed the index; the screen was:\n" + cold.screen)
            return
        cache_mb = sum(f.stat().st_size for f in cache.iterdir()) / 1e6
        print(
            f"neomutt without a header cache (the warming run): {cold.seconds * 1000:.0f} ms, "
            f"RSS {cold.rss_mb:.0f} MB; header cache {cache_mb:.0f} MB"
        )
        paints: dict[str, list[Paint]] = {t.name: [] for t in targets}
        for _ in range(args.runs):
            for target in targets:
                paint = tmux.paint(target)
                if paint.seconds is None:
                    print(f"{target.name}: no index within {TIMEOUT_S:.0f} s; the screen was:")
                    print(paint.screen.rstrip())
                paints[target.name].append(paint)
        medians = {}
        for target in targets:
            medians[target.name], line = summary(target.name, paints[target.name])
            print(line)
        if len(targets) == 1:
            print("first paint, omnitui  not available (no store imported from the maildir)")
        else:
            ratio = medians["omnitui"] / medians["neomutt"]
            verdict = "ok" if ratio <= 0.5 else "above the goal of 0.5"
            print(f"ratio omnitui / neomutt {ratio:.2f} ({verdict})")
    finally:
        if tmux is not None:
            tmux.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
