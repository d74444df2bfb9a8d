"""PostgreSQL stopped and started (pg_ctlcluster) under a running runner and TUI: they
reconnect by themselves, the TUI shows the outage, and no write is lost or made twice.

Runs on the PostgreSQL pass only (``--store postgresql``): it restarts the machine's cluster
(../shared/RECIPES.md), so nothing else may use the server meanwhile (CI runs tests one at
a time)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from omnitui import db, inbox
from omnitui.config import Settings
from omnitui.connectors.base import Batch, InboundMessage
from tests.conftest import MakeMessage, missing_server
from tests.mailservers import Dovecot
from tests.runner_support import OMNITUI, query, scalar, wait_until
from tests.test_mail_channel import fill_inbox, imap_config
from tests.tui_support import list_text, make_app, screen_text, wait_for

CLUSTER = ("15", "main")


def _cluster(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, action],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def outage(store_kind: str) -> Iterator[type]:
    """``stop()``/``start()`` of the PostgreSQL cluster; started again however the test ends."""
    if store_kind != "postgresql":
        pytest.skip("an outage of the PostgreSQL server (the PostgreSQL pass runs it)")
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        missing_server("pg_ctlcluster, run as root, to stop and start PostgreSQL")

    class Cluster:
        @staticmethod
        def stop() -> None:
            _cluster("stop")

        @staticmethod
        def start() -> None:
            _cluster("start")

    try:
        yield Cluster
    finally:
        running = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, "status"],
            capture_output=True,
            timeout=30,
        )
        if running.returncode != 0:  # 3: stopped, as the test may have left it
            _cluster("start")


def test_an_outage_during_ingest_loses_nothing_and_stores_nothing_twice(
    outage: type, dovecot: Dovecot, store_url: str, tmp_path: Path
) -> None:
    total = 1500
    fill_inbox(dovecot, total, "Müşteri")
    config = imap_config(tmp_path, dovecot)
    serve = subprocess.Popen(
        [
            str(OMNITUI),
            "--db",
            store_url,
            "--data-dir",
            str(tmp_path),
            "--config",
            str(config),
            "serve",
        ],
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.err").open("ab"),
    )

    def stored() -> int:
        return int(scalar(store_url, "SELECT count(*) FROM message"))

    try:
        wait_until(lambda: stored() >= 200, 60, "part of the first sync")
        outage.stop()
        time.sleep(3)
        outage.start()
        wait_until(lambda: _quiet(stored) >= total, 120, "the rest of the sync after the outage")
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(20)
    assert stored() == total
    assert scalar(store_url, "SELECT count(DISTINCT external_id) FROM message") == total
    log = (tmp_path / "omnitui.log").read_text(encoding="utf-8", errors="replace")
    assert "lease" in log  # the runner gave the lease up in the outage and took it again


def _quiet(count: object) -> int:
    """``count()``, or 0 while the server is still starting up."""
    try:
        return int(count())  # type: ignore[operator]
    except Exception:
        return 0


def test_a_reply_written_during_an_outage_is_queued_once_when_the_store_is_back(
    outage: type, engine: Engine, store_url: str, make_message: MakeMessage
) -> None:
    [ali] = inbox.ingest(engine, Batch([make_message("Salam", address="ali@example.az")]))
    key = inbox.new_idempotency_key()
    reported: list[str | None] = []
    done: list[int] = []

    def reply() -> None:
        done.append(
            db.retry_on_disconnect(
                lambda: inbox.queue_reply(
                    engine, ali.customer_id, "Cavab", agent="leyla", idempotency_key=key
                ),
                outage=lambda exc: reported.append(None if exc is None else str(exc)),
            )
        )

    outage.stop()
    writer = threading.Thread(target=reply)
    writer.start()
    time.sleep(2)
    assert not done and reported and reported[0], "the write waits and says why"
    outage.start()
    writer.join(60)
    assert done and reported[-1] is None
    rows = query(store_url, "SELECT id, delivery FROM message WHERE direction = 'out'")
    assert rows == [(done[0], "queued")]
    # The same key again (a retry whose first attempt had committed) queues nothing more.
    again = inbox.queue_reply(engine, ali.customer_id, "Cavab", agent="leyla", idempotency_key=key)
    assert again == done[0]
    assert len(query(store_url, "SELECT id FROM message WHERE direction = 'out'")) == 1


async def test_the_tui_shows_the_outage_and_reads_again_after_it(
    outage: type, store_url: str, tui_store: object, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: "Ayşe" in list_text(app), 10, "the first paint")
        outage.stop()
        await wait_for(
            pilot, lambda: "store unreachable" in screen_text(app), 10, "the outage shown"
        )
        outage.start()
        await wait_for(
            pilot, lambda: "store unreachable" not in screen_text(app), 30, "the outage over"
        )
        # Written by another process after the outage: in the list within seconds.
        engine = db.make_engine(store_url)
        inbox.ingest(engine, Batch([_late_message()]))
        await wait_for(pilot, lambda: "Late Customer" in list_text(app), 10, "a new customer")
        engine.dispose()


def _late_message() -> InboundMessage:
    return InboundMessage(
        account="mail",
        channel="email",
        external_id="late-1",
        address="late@example.az",
        display_name="Late Customer",
        body="written after the outage",
        sent_at=datetime.now(UTC),
    )
