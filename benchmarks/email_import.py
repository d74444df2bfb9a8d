"""Importing a maildir: `omnitui import maildir` against `notmuch new`, in the same run.

    .venv/bin/python benchmarks/email_import.py [MAILDIR] [--messages 50000] [--runs 1]
                                                [--postgresql SERVER_URL] [--no-notmuch]

Without MAILDIR, uses $TMPDIR/omnitui-bench/maildir-50k (maildir-<N> for other
--messages), made by make_maildir.py (seed 1) when it is not there yet. A maildir
given on the command line that has cur/ or new/ is used as it is.

Each run, for each program, a fresh index: notmuch with a temporary config
(NOTMUCH_CONFIG; database.path is the maildir, so its database is MAILDIR/.notmuch,
deleted before each run and after the last; new.tags=unread;inbox; as `notmuch
setup` writes) and `notmuch new`; omnitui with a new empty data dir and
`omnitui --data-dir D import maildir MAILDIR`. Wall time is taken here around
each child; its CPU time and peak RSS (ru_maxrss: the largest of the process and the
children it waited for) come from GNU time -o FILE that starts it (or from a bare
Python that forks, execs and reports os.wait4's rusage, when /usr/bin/time is
missing): a child reaped directly by this process would count this process's RSS
too, since ru_maxrss keeps the size of the copy it was before exec.
The page cache is warm for both (the maildir was just written or read). Runs
interleave the programs; the table shows medians and the ratio omnitui / notmuch.

With ``--postgresql postgresql://USER@HOST:PORT/DB`` omnitui also imports into a fresh
database on that server each run (omnitui_bench_import_PID, dropped afterwards):
`omnitui --data-dir D --db URL import maildir MAILDIR`, a row of its own beside the SQLite
one. Its CPU time and RSS are the omnitui process's; the server's work is not in them (its
CPU shows in the wall time on a machine it shares), and "index MB" is the database's size
plus the data dir's attachments.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import make_maildir
import stores
from ingest import postgresql_database
from rich.console import Console
from rich.table import Table

OMNITUI = Path(sys.executable).parent / "omnitui"
PG_ROW = "omnitui import maildir (PostgreSQL)"
NOTMUCH_CONFIG = """\
[database]
path={maildir}

[user]
name=Acme Support
primary_email=support@acme.example

[new]
tags=unread;inbox;
ignore=

[search]
exclude_tags=deleted;spam;

[maildir]
synchronize_flags=true
"""


@dataclass(frozen=True, slots=True)
class Measured:
    returncode: int
    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str


TIME = "/usr/bin/time"
WRAPPER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def spawn(argv: list[str], env: dict[str, str]) -> Measured:
    """Runs ``argv`` to the end; its own wall time, CPU time and peak RSS.

    The rusage of a child reaped here would count this process's RSS too (the child
    is a copy of it until exec, and ru_maxrss keeps the larger), so the child is
    started by GNU time (-o FILE, about 1 MB of its own), or when that is missing by
    a bare Python that forks, execs and reports os.wait4's rusage (about 8 MB).
    """
    program = shutil.which(argv[0]) or argv[0]
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as usage,
    ):
        if os.access(TIME, os.X_OK):
            wrapped = [TIME, "-f", "%M %U %S", "-o", usage.name, program, *argv[1:]]
        else:
            wrapped = [sys.executable, "-S", "-c", WRAPPER, usage.name, program, *argv[1:]]
        started = time.perf_counter()
        pid = os.posix_spawn(
            wrapped[0],
            wrapped,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
            ],
        )
        _, status, _ = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        lines = usage.read().split("\n")
        fields = next((line.split() for line in reversed(lines) if line.strip()), ["0", "0", "0"])
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=os.waitstatus_to_exitcode(status),
            seconds=seconds,
            cpu_seconds=float(fields[1]) + float(fields[2]),
            max_rss_mb=int(fields[0]) / 1024,  # KiB on Linux
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def default_maildir(messages: int) -> Path:
    label = f"{messages // 1000}k" if messages % 1000 == 0 else str(messages)
    return Path(tempfile.gettempdir()) / "omnitui-bench" / f"maildir-{label}"


def ensure_maildir(maildir: Path | None, messages: int, seed: int) -> Path:
    """The maildir to import, made now when it is the cache one and is missing."""
    if maildir is not None and ((maildir / "cur").is_dir() or (maildir / "new").is_dir()):
        return maildir
    maildir = maildir or default_maildir(messages)
    if not make_maildir.manifest_path(maildir).exists():
        print(f"making a maildir of {messages:,} messages in {maildir} ...", file=sys.stderr)
        make_maildir.make(maildir, messages=messages, seed=seed, force=True)
    return maildir


def count_files(maildir: Path) -> int:
    return sum(
        1
        for sub in ("cur", "new")
        if (maildir / sub).is_dir()
        for entry in os.scandir(maildir / sub)
        if entry.is_file()
    )


def tree_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total / 1e6


def omnitui_env(scratch: Path) -> dict[str, str]:
    """No config or data of the user's: XDG dirs in ``scratch``."""
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(scratch / "config"),
        "XDG_DATA_HOME": str(scratch / "data"),
        "XDG_STATE_HOME": str(scratch / "state"),
        "XDG_CACHE_HOME": str(scratch / "cache"),
    }
    for name in ("OMNITUI_CONFIG", "OMNITUI_DATA_DIR"):
        env.pop(name, None)
    return env


def omnitui_import_available(env: dict[str, str]) -> bool:
    if not OMNITUI.exists():
        return False
    probe = subprocess.run(
        [str(OMNITUI), "import", "maildir", "--help"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return probe.returncode == 0


def store_counts(data_dir: Path) -> str:
    """'messages / customers' in an omnitui store, or why not."""
    try:
        with sqlite3.connect(f"file:{data_dir / 'omnitui.db'}?mode=ro", uri=True) as conn:
            messages = conn.execute("SELECT count(*) FROM message").fetchone()[0]
            customers = conn.execute("SELECT count(*) FROM customer").fetchone()[0]
        return f"{messages:,} msgs / {customers:,} customers"
    except sqlite3.Error as exc:
        return f"? ({exc})"


def postgresql_counts(url: str) -> tuple[str, float]:
    """'messages / customers' in the store at ``url`` and the database's size in MB."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM message), (SELECT count(*) FROM customer), "
                "pg_database_size(current_database())"
            ).fetchone()
    except psycopg.Error as exc:
        return f"? ({exc})", 0.0
    assert row is not None
    return f"{row[0]:,} msgs / {row[1]:,} customers", row[2] / 1e6


def run_notmuch(maildir: Path, config: Path) -> tuple[Measured, str, float]:
    shutil.rmtree(maildir / ".notmuch", ignore_errors=True)
    env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    env.pop("NOTMUCH_PROFILE", None)
    measured = spawn(["notmuch", "new"], env)
    if measured.returncode != 0:
        return measured, "failed", 0.0
    count = subprocess.run(
        ["notmuch", "count", "--output=messages", "*"],
        env=env, capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    threads = subprocess.run(
        ["notmuch", "count", "--output=threads", "*"],
        env=env, capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    ignored = len(re.findall(r"Ignoring non-mail file", measured.stderr))
    what = f"{int(count or 0):,} msgs / {int(threads or 0):,} threads"
    if ignored:
        what += f", {ignored} non-mail files"
    return measured, what, tree_mb(maildir / ".notmuch")


def run_omnitui(
    maildir: Path, scratch: Path, env: dict[str, str], server: str | None = None
) -> tuple[Measured, str, float]:
    """`omnitui import maildir` into a new data dir, its store there (SQLite) or a new
    database on ``server`` (PostgreSQL)."""
    data = Path(tempfile.mkdtemp(prefix="import-", dir=scratch))
    argv = [str(OMNITUI), "--data-dir", str(data)]
    argv_import = ["import", "maildir", "--ours", "support@acme.example", str(maildir)]
    try:
        if server is None:
            measured = spawn([*argv, *argv_import], env)
            what = store_counts(data) if measured.returncode == 0 else "failed"
            return measured, what, tree_mb(data)
        with postgresql_database(server, "import") as url:
            measured = spawn([*argv, "--db", url, *argv_import], env)
            what, size = postgresql_counts(url)
            return measured, what if measured.returncode == 0 else "failed", size + tree_mb(data)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maildir", type=Path, nargs="?")
    parser.add_argument("--messages", type=int, default=50_000, help="when making the maildir")
    parser.add_argument("--seed", type=int, default=1, help="when making the maildir")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep-notmuch", action="store_true", help="leave MAILDIR/.notmuch")
    parser.add_argument("--no-notmuch", action="store_true", help="measure omnitui only")
    parser.add_argument(
        "--postgresql",
        metavar="SERVER_URL",
        help="also import into a fresh database on this PostgreSQL server, side by side",
    )
    args = parser.parse_args()

    console = Console(width=max(120, Console().width))
    console.print(f"machine: {stores.machine()}")
    maildir = ensure_maildir(args.maildir, args.messages, args.seed)
    files = count_files(maildir)
    console.print(
        f"maildir: {maildir}, {files:,} files in cur/ and new/, {tree_mb(maildir):.0f} MB"
    )

    scratch = Path(tempfile.mkdtemp(prefix="omnitui-import-bench-"))
    try:
        config = scratch / "notmuch-config"
        config.write_text(NOTMUCH_CONFIG.format(maildir=maildir), encoding="utf-8")
        env = omnitui_env(scratch)
        has_notmuch = not args.no_notmuch and shutil.which("notmuch") is not None
        has_omnitui = omnitui_import_available(env)
        results: dict[str, list[Measured]] = {"omnitui import maildir": []}
        if not args.no_notmuch:
            results = {"notmuch new": [], **results}
        if args.postgresql:
            results[PG_ROW] = []
        notes: dict[str, str] = {}
        sizes: dict[str, float] = {}
        for run in range(1, args.runs + 1):
            if has_notmuch:
                measured, notes["notmuch new"], sizes["notmuch new"] = run_notmuch(maildir, config)
                report_failure(console, "notmuch new", measured)
                results["notmuch new"].append(measured)
                console.print(f"run {run}: notmuch new {measured.seconds:.1f} s")
            if has_omnitui:
                name = "omnitui import maildir"
                measured, notes[name], sizes[name] = run_omnitui(maildir, scratch, env)
                report_failure(console, name, measured)
                results[name].append(measured)
                console.print(f"run {run}: omnitui import maildir {measured.seconds:.1f} s")
            if has_omnitui and args.postgresql:
                measured, notes[PG_ROW], sizes[PG_ROW] = run_omnitui(
                    maildir, scratch, env, args.postgresql
                )
                report_failure(console, PG_ROW, measured)
                results[PG_ROW].append(measured)
                console.print(f"run {run}: {PG_ROW} {measured.seconds:.1f} s")
        if not args.keep_notmuch:
            shutil.rmtree(maildir / ".notmuch", ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    table = Table(title=f"importing {files:,} messages, median of {args.runs}")
    for column in ("program", "wall s", "msg/s", "CPU s", "peak RSS MB", "index MB", "indexed"):
        table.add_column(
            column,
            justify="left" if column in ("program", "indexed") else "right",
            no_wrap=column == "program",
        )
    medians: dict[str, tuple[float, float]] = {}
    for name, measured_runs in results.items():
        ok = [m for m in measured_runs if m.returncode == 0]
        if not ok:
            why = (
                "not available"
                if (name.startswith("omnitui") and not has_omnitui)
                or (name.startswith("notmuch") and not has_notmuch)
                else "failed"
            )
            console.print(f"{name}: {why}")
            table.add_row(name, "", "", "", "", "", why)
            continue
        seconds = stores.median([m.seconds for m in ok])
        rss = stores.median([m.max_rss_mb for m in ok])
        medians[name] = (seconds, rss)
        table.add_row(
            name,
            f"{seconds:.2f}",
            f"{files / seconds:,.0f}",
            f"{stores.median([m.cpu_seconds for m in ok]):.2f}",
            f"{rss:.0f}",
            f"{sizes.get(name, 0):.0f}",
            notes.get(name, ""),
        )
    if "notmuch new" in medians and "omnitui import maildir" in medians:
        (n_s, n_rss), (o_s, o_rss) = medians["notmuch new"], medians["omnitui import maildir"]
        table.add_row(
            "ratio omnitui / notmuch", f"{o_s / n_s:.2f}", f"{n_s / o_s:.2f}", "",
            f"{o_rss / n_rss:.2f}", "", "",
        )  # fmt: skip
    if "omnitui import maildir" in medians and PG_ROW in medians:
        (s_s, s_rss), (p_s, p_rss) = medians["omnitui import maildir"], medians[PG_ROW]
        table.add_row(
            "ratio PostgreSQL / SQLite", f"{p_s / s_s:.2f}", f"{s_s / p_s:.2f}", "",
            f"{p_rss / s_rss:.2f}", "", "",
        )  # fmt: skip
    console.print(table)


def report_failure(console: Console, name: str, measured: Measured) -> None:
    if measured.returncode != 0:
        console.print(f"[red]{name} exited with {measured.returncode}[/red]", highlight=False)
        console.print((measured.stderr or measured.stdout)[-2000:], markup=False)


if __name__ == "__main__":
    main()
