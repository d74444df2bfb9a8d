"""The command line as a script or a new user meets it: real processes, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from omnitui import inbox
from omnitui.connectors.base import Batch
from tests.conftest import MakeMessage

OMNITUI = [sys.executable, "-m", "omnitui"]


def run(*args: str, data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(data_dir / "xdg"),
        "XDG_CACHE_HOME": str(data_dir / "cache"),
    }
    return subprocess.run(
        [*OMNITUI, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=60,
    )


def test_importing_the_cli_does_not_load_textual_or_the_orm() -> None:
    code = (
        "import sys, omnitui.cli; "
        "bad = [m for m in ('textual', 'sqlalchemy', 'pydantic') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_help_answers_quickly(tmp_path: Path) -> None:
    best = min(_timed(["--help"], tmp_path) for _ in range(3))
    print(f"omnitui --help: {best * 1000:.0f} ms")
    assert best < 1.0  # the target is well under 0.5 s; CI machines vary


def _timed(args: list[str], tmp_path: Path) -> float:
    started = time.perf_counter()
    proc = run(*args, data_dir=tmp_path)
    assert proc.returncode == 0
    return time.perf_counter() - started


def test_broken_toml_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent\nname = 'x'\n")
    proc = run("--config", str(bad), "doctor", data_dir=tmp_path)
    assert proc.returncode == 2
    assert str(bad) in proc.stdout and "invalid TOML" in proc.stdout


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ("[demo]\nfailure_rat = 0.1\n", "demo.failure_rat", "unknown key"),
        ("[outbox]\nmax_attempts = 0\n", "outbox.max_attempts", "greater than or equal to 1"),
        ("[agent]\ntimezone = 'Mars/Olympus'\n", "agent.timezone", "unknown time zone"),
        ("[store]\nurl = 5\n", "store.url", "valid string"),
    ],
)
def test_a_wrong_key_exits_2_with_file_and_key(
    tmp_path: Path, toml: str, key: str, problem: str
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    proc = run("--config", str(cfg), "search", "x", data_dir=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"omnitui: {cfg}: {key}: ") and problem in line


def test_init_writes_a_config_that_loads_and_refuses_to_overwrite(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    proc = run("--config", str(cfg), "init", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "[outbox]" in cfg.read_text()
    assert run("--config", str(cfg), "doctor", data_dir=tmp_path).stdout.count("OK") >= 3
    again = run("--config", str(cfg), "init", data_dir=tmp_path)
    assert again.returncode == 1 and "--force" in again.stderr


def test_send_search_and_doctor_on_a_real_store(tmp_path: Path, make_message: MakeMessage) -> None:
    assert run("db", "upgrade", data_dir=tmp_path).returncode == 0
    from omnitui import db

    engine: Engine = db.make_engine(db.sqlite_url(tmp_path / "omnitui.db"))
    [m] = inbox.ingest(
        engine, Batch([make_message("Siparişim nerede? #55123", display_name="Gökçe Aydın")])
    )
    sent = run(
        "--agent",
        "emre",
        "send",
        "--customer",
        str(m.customer_id),
        "--text",
        "-",
        data_dir=tmp_path,
        stdin="Kargoya verildi.",
    )
    assert sent.returncode == 0, sent.stderr
    reply_id = int(sent.stdout)
    hits = [
        json.loads(line)
        for line in run("search", "gokce", "--json", data_dir=tmp_path).stdout.splitlines()
    ]
    assert hits and hits[0]["name"] == "Gökçe Aydın"
    by_word = run("search", "kargoya", "--json", data_dir=tmp_path).stdout.splitlines()
    assert [json.loads(line)["message_id"] for line in by_word] == [reply_id]
    doctor = run("doctor", data_dir=tmp_path)
    assert "1 queued" in doctor.stdout
    assert doctor.returncode == 1  # no runner holds the lease: said plainly
    assert "no runner holds the lease" in doctor.stdout
    missing = run("send", "--customer", "999", "--text", "x", data_dir=tmp_path)
    assert missing.returncode == 1 and "no customer 999" in missing.stderr


def test_doctor_lists_what_is_in_the_quarantine(tmp_path: Path) -> None:
    assert run("db", "upgrade", data_dir=tmp_path).returncode == 0
    from omnitui import db
    from omnitui.connectors.base import Quarantined

    engine: Engine = db.make_engine(db.sqlite_url(tmp_path / "omnitui.db"))
    poison = Quarantined("support", "no sender address", b"Subject: x\r\n\r\n", "INBOX uid 7")
    inbox.ingest(engine, Batch([], {"INBOX:uid": "7"}, quarantined=[poison]))
    doctor = run("doctor", data_dir=tmp_path)
    assert doctor.returncode == 1
    assert "1 inbound item(s) could not be parsed" in doctor.stdout
    assert "support INBOX uid 7: no sender address" in doctor.stdout


def test_search_on_a_missing_store_says_what_to_do(tmp_path: Path) -> None:
    proc = run("search", "x", data_dir=tmp_path)
    assert proc.returncode == 1 and "omnitui db upgrade" in proc.stderr


def test_demo_fills_its_store_once_with_progress_then_export_reads_it_all(
    tmp_path: Path,
) -> None:
    proc = run("demo", "--no-tui", "--customers", "40", "--messages", "600", "--seed", "7",
               data_dir=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "600/600" in proc.stdout  # the progress bar's last state
    assert "600 messages from 40 customers" in proc.stdout
    again = run("demo", "--no-tui", data_dir=tmp_path)
    assert again.returncode == 0 and "not filling it again" in again.stdout

    out = tmp_path / "export.jsonl"
    exported = run("export", "--output", str(out), data_dir=tmp_path)
    assert exported.returncode == 0, exported.stderr
    kinds: dict[str, int] = {}
    for line in out.read_text("utf-8").splitlines():
        record = json.loads(line)
        kinds[record["type"]] = kinds.get(record["type"], 0) + 1
    assert kinds["message"] == 600 and kinds["customer"] == 40
    assert kinds["identity"] >= 40 and kinds["conversation"] >= 40
    hits = run("search", "istanbul", "--json", data_dir=tmp_path)
    assert hits.returncode == 0
