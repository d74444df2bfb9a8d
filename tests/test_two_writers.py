"""Two writers and a reader on one store (SQLite, or PostgreSQL with ``--store postgresql``),
as on the team's server.

A runner process ingests demo messages fast (and delivers replies) while this
process queues replies, the way a TUI does, and `omnitui send` queues more from
a script. A Reader, what the TUI polls, must see every kind of write within a
second of its commit, and no writer may ever meet "database is locked".
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from omnitui import db, inbox
from omnitui.reads import Reader, parse_stamp
from tests.runner_support import (
    OMNITUI,
    holds_lease,
    query,
    scalar,
    serve,
    stop,
    wait_until,
    write_config,
)

REPLIES = 60


class Watcher(threading.Thread):
    """Polls data_version like the TUI and notes when each message first became visible."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.reader = Reader(url)
        self.url = url
        self.seen: dict[int, tuple[str, float, datetime]] = {}  # id -> (direction, seen, stored)
        self.polls = 0
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            last_version, last_id = -1, 0
            while not self.halt.is_set():
                version = self.reader.data_version()
                self.polls += 1
                if version != last_version:
                    last_version = version
                    now = time.time()
                    for message_id, direction, stored_at in query(
                        self.url,
                        "SELECT id, direction, stored_at FROM message WHERE id > ? ORDER BY id",
                        (last_id,),
                    ):
                        self.seen[message_id] = (direction, now, parse_stamp(stored_at))
                        last_id = message_id
                time.sleep(0.01)
        except BaseException as exc:
            self.error = exc


@pytest.mark.slow
def test_runner_and_agents_write_together_and_readers_see_it_at_once(
    tmp_path: Path, store_url: str
) -> None:
    url = store_url
    config = write_config(
        tmp_path / "config.toml",
        demo={
            "enabled": True,
            "messages_per_minute": 1200,
            "delivery_delay_seconds": [0.02, 0.2],
            "failure_rate": 0.1,
            "seed": 3,
        },
        outbox={"backoff_base_seconds": 0.1},
    )
    runner = serve(tmp_path, config, "runner", url)
    engine = db.make_engine(url)
    watcher = Watcher(url)
    try:
        wait_until(lambda: holds_lease(url, runner), 15, "the runner to hold the lease")
        wait_until(lambda: scalar(url, "SELECT count(*) FROM customer") >= 10, 10, "customers")
        customers = [row[0] for row in query(url, "SELECT id FROM customer")]
        watcher.start()
        first_inbound = scalar(url, "SELECT max(id) FROM message")

        scripted: list[subprocess.Popen[str]] = [
            subprocess.Popen(
                [str(OMNITUI), "--data-dir", str(tmp_path), "--db", url, "--config", str(config),
                 "send", "--customer", str(customers[i]), "--text", f"scripted {i}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
            )
            for i in range(2)
        ]  # fmt: skip
        committed: dict[int, float] = {}
        for i in range(REPLIES):
            message_id = inbox.queue_reply(
                engine, customers[i % len(customers)], f"reply {i}", agent="test"
            )
            committed[message_id] = time.time()
            time.sleep(0.04)  # an agent's pace, give or take: ~25 replies a second
        for proc in scripted:
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
            assert "database is locked" not in err
            # Committed before the process exited: seen before then counts as at once.
            committed[int(out.strip())] = time.time()

        wait_until(lambda: set(committed) <= set(watcher.seen), 5, "the reader to see replies")
        watcher.halt.set()
        watcher.join(5)
        assert watcher.error is None, watcher.error

        reply_lag = max(max(0.0, watcher.seen[m][1] - t) for m, t in committed.items())
        inbound = [
            seen - stored.timestamp()
            for message_id, (direction, seen, stored) in watcher.seen.items()
            if direction == "in" and message_id > first_inbound
        ]
        # stored_at is set before the commit, so this overstates the lag a little.
        inbound_lag = max(inbound)
        print(
            f"\nreader lag: replies max {reply_lag * 1000:.0f} ms, inbound max "
            f"{inbound_lag * 1000:.0f} ms over {len(inbound)} messages, {watcher.polls} polls"
        )
        assert len(inbound) >= 20
        assert reply_lag < 1.0 and inbound_lag < 1.0

        delivered = scalar(
            url,
            f"SELECT count(*) FROM message WHERE id IN ({','.join(map(str, committed))}) "
            "AND delivery IN ('sent', 'failed')",
        )
        assert delivered > 0, "the runner delivered replies while the agents wrote"
        assert runner.poll() is None, "the runner is still alive"
        assert stop(runner) == 0
        for text in ((tmp_path / "runner.err").read_text(), (tmp_path / "omnitui.log").read_text()):
            assert "database is locked" not in text
            assert "Traceback" not in text
    finally:
        watcher.halt.set()
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        engine.dispose()
