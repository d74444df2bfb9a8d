"""The email channel end to end, against a real Dovecot and a real SMTP server on loopback.

Mail appended to the server reaches the store by IDLE; outages, kills and a changed
UIDVALIDITY lose and double nothing; poison is quarantined; replies go out by SMTP
with headers that thread, once, and failures say what the server said.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from omnitui import inbox
from omnitui.config import Settings
from omnitui.runner import Runner
from tests.mailservers import Dovecot, SmtpServer
from tests.runner_support import (
    OMNITUI,
    async_wait_until,
    query,
    scalar,
    settings_for,
    wait_until,
)

OURS = "support@acme.example"


def mail(
    sender: str = "Leyla Məmmədova <leyla@example.az>",
    subject: str = "Sifarişim gəlmədi",
    body: str = "Salam, sifarişim hələ gəlməyib.",
    *,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    to: str = f"Acme Support <{OURS}>",
    date: datetime | None = None,
) -> bytes:
    """One message as a mail client writes it (UTF-8, quoted-printable)."""
    msg = email.message.EmailMessage()
    if sender:
        msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="example.az")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body, cte="quoted-printable")
    return msg.as_bytes()


def account(dovecot: Dovecot | None, smtp: SmtpServer | None = None, **imap: Any) -> dict[str, Any]:
    acct: dict[str, Any] = {"address": OURS, "display_name": "Acme Destek"}
    if dovecot is not None:
        acct["imap"] = {
            "host": "127.0.0.1",
            "port": dovecot.port,
            "security": "plain",
            "username": "agent",
            "password": "secret",
            "timeout_seconds": 5,
            **imap,
        }
    if smtp is not None:
        acct["smtp"] = {"host": "127.0.0.1", "port": smtp.port, "security": "plain"}
    return acct


def mail_settings(tmp_path: Path, store_url: str, acct: dict[str, Any]) -> Settings:
    return settings_for(
        tmp_path,
        store_url,
        email={"support": acct},
        outbox={"backoff_base_seconds": 0.2, "backoff_max_seconds": 0.5},
    )


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runner]:
    runner = Runner(settings, restart_backoff=(0.2, 1.0))
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield runner
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def count(store: str, sql: str = "SELECT count(*) FROM message") -> Callable[[], int]:
    return lambda: int(scalar(store, sql))


async def test_mail_appended_on_the_server_is_in_the_store_within_two_seconds_by_idle(
    dovecot: Dovecot, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    dovecot.append("agent", "INBOX", mail(subject="first"))
    async with running(mail_settings(tmp_path, url, account(dovecot))):
        await async_wait_until(lambda: count(store)() == 1, 10, "the first sync")
        await asyncio.sleep(0.3)  # the watcher is in IDLE now
        started = asyncio.get_running_loop().time()
        dovecot.append("agent", "INBOX", mail(subject="Sipariş nerede?", body="Merhaba"))
        await async_wait_until(lambda: count(store)() == 2, 2.0, "the new mail by IDLE")
        took = asyncio.get_running_loop().time() - started
    row = query(store, "SELECT subject, body, author FROM message ORDER BY id DESC LIMIT 1")[0]
    assert row[0] == "Sipariş nerede?" and row[1].strip() == "Merhaba"
    assert row[2] == "Leyla Məmmədova"
    assert took < 2.0
    # Syncing never marks mail read on the server (BODY.PEEK[]).
    client = dovecot.client("agent")
    client.select_folder("INBOX")
    assert client.search(["UNSEEN"]) and len(client.search(["UNSEEN"])) == 2


async def test_a_server_restart_under_a_live_connection_loses_nothing(
    dovecot: Dovecot, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    async with running(mail_settings(tmp_path, url, account(dovecot))):
        dovecot.append("agent", "INBOX", mail(subject="before"))
        await async_wait_until(lambda: count(store)() == 1, 10, "the first message")
        await asyncio.to_thread(dovecot.stop)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(dovecot.start)
        for n in range(3):
            dovecot.append("agent", "INBOX", mail(subject=f"after {n}"))
        await async_wait_until(lambda: count(store)() == 4, 15, "the mail after the restart")
    subjects = [r[0] for r in query(store, "SELECT subject FROM message ORDER BY id")]
    assert subjects == ["before", "after 0", "after 1", "after 2"]


async def test_a_changed_uidvalidity_resyncs_without_duplicates(
    dovecot: Dovecot, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = mail_settings(tmp_path, url, account(dovecot))
    for n in range(5):
        dovecot.append("agent", "INBOX", mail(subject=f"m{n}"))
    dovecot.append("agent", "INBOX", mail(sender="", subject="no sender, no Message-ID"))
    async with running(settings):
        await async_wait_until(lambda: count(store)() == 5, 10, "the first sync")
    before = inbox.load_cursor(settings_engine(settings), "support")
    new_validity = await asyncio.to_thread(dovecot.set_uidvalidity_changed, "agent", "INBOX")
    async with running(settings):
        await async_wait_until(
            lambda: (
                inbox.load_cursor(settings_engine(settings), "support").get("INBOX:uidvalidity")
                == str(new_validity)
            ),
            10,
            "the resync",
        )
        dovecot.append("agent", "INBOX", mail(subject="new"))
        await async_wait_until(lambda: count(store)() == 6, 10, "the new message")
    assert before["INBOX:uidvalidity"] != str(new_validity)
    assert count(store, "SELECT count(DISTINCT external_id) FROM message")() == 6
    assert count(store, "SELECT count(*) FROM quarantine")() == 1


def settings_engine(settings: Settings) -> Any:
    from omnitui import db

    return db.make_engine(settings.store_url)


async def test_a_poison_message_is_quarantined_and_the_next_one_still_arrives(
    dovecot: Dovecot, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    async with running(mail_settings(tmp_path, url, account(dovecot))):
        await async_wait_until(
            lambda: scalar(store, "SELECT count(*) FROM connectorstate WHERE state='running'"),
            10,
            "the connector",
        )
        dovecot.append("agent", "INBOX", mail(sender="", subject="poison"))
        dovecot.append("agent", "INBOX", mail(subject="after the poison"))
        await async_wait_until(lambda: count(store)() == 1, 10, "the good message")
    [(error, source, raw)] = query(store, "SELECT error, source, raw FROM quarantine")
    assert "no sender" in error and source.startswith("INBOX uid ")
    assert b"poison" in raw
    assert scalar(store, "SELECT subject FROM message") == "after the poison"


def fill_inbox(dovecot: Dovecot, total: int, who: str) -> None:
    """``total`` mails from 300 customers (``who N``) straight into the INBOX's maildir, a
    minute apart, ending now: a first sync with work to interrupt."""
    cur = dovecot.maildir("agent", "INBOX") / "cur"
    cur.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC) - timedelta(minutes=total + 60)
    for n in range(total):
        data = mail(
            sender=f"{who} {n % 300} <c{n % 300}@example.com.tr>",
            subject=f"Sipariş {n}",
            date=start + timedelta(minutes=n),
        )
        (cur / f"{1700000000 + n}.M{n}P1.test:2,").write_bytes(data)
    os.system(f"chown -R dovecot:dovecot {dovecot.maildir('agent', 'INBOX')}")


def imap_config(tmp_path: Path, dovecot: Dovecot) -> Path:
    """A config file with one email account on ``dovecot``, read in batches of 50."""
    config = tmp_path / "config.toml"
    config.write_text(
        "[email.support]\n"
        f'address = "{OURS}"\n'
        "[email.support.imap]\n"
        f'host = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "plain"\n'
        'username = "agent"\npassword = "secret"\nbatch_size = 50\n',
        encoding="utf-8",
    )
    return config


def test_killed_mid_first_sync_and_restarted_stores_exactly_every_message(
    dovecot: Dovecot, tmp_path: Path, store_url: str
) -> None:
    total = 2000
    fill_inbox(dovecot, total, "Customer")
    store = store_url
    config = imap_config(tmp_path, dovecot)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def serve() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                str(OMNITUI),
                "--data-dir",
                str(tmp_path),
                "--db",
                store_url,
                "--config",
                str(config),
                "serve",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "serve.err").open("ab"),
        )

    first = serve()
    try:
        wait_until(lambda: count(store)() >= 300, 60, "part of the first sync")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    stored_at_kill = count(store)()
    assert 0 < stored_at_kill < total, "the kill must land mid-sync"
    second = serve()
    try:
        wait_until(lambda: count(store)() >= total, 90, "the rest of the sync")
        wait_until(
            lambda: scalar(store, "SELECT detail FROM connectorstate") == "", 10, "sync done"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)
    assert count(store)() == total
    assert count(store, "SELECT count(DISTINCT external_id) FROM message")() == total


# -- sending --------------------------------------------------------------------------


async def _customer_writes(dovecot: Dovecot, store: str) -> int:
    dovecot.append("agent", "INBOX", mail(message_id="<q1@example.az>", subject="Sifariş #42"))
    incoming = count(store, "SELECT count(*) FROM message WHERE direction='in'")
    await async_wait_until(lambda: incoming() == 1, 10, "the customer's mail")
    return int(scalar(store, "SELECT customer_id FROM message WHERE direction='in'"))


async def test_a_reply_goes_out_once_with_headers_that_thread_and_the_answer_threads_back(
    dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = mail_settings(tmp_path, url, account(dovecot, smtp_server, sent_folder="Sent"))
    dovecot.append("agent", "Sent", mail(sender=f"Acme <{OURS}>", to="x@example.az"))
    async with running(settings) as runner:
        customer = await _customer_writes(dovecot, store)
        reply_id = inbox.queue_reply(
            runner.engine, customer, "Sabah göndəririk. — Aysel", agent="aysel"
        )
        [received] = await asyncio.to_thread(smtp_server.wait_for, 1, 10)
        await async_wait_until(
            lambda: scalar(store, "SELECT delivery FROM message WHERE id=?", (reply_id,)) == "sent",
            5,
            "the reply marked sent",
        )
        sent = email.message_from_bytes(received.data, policy=email.policy.default)
        assert received.mail_from == OURS and received.rcpt_tos == ["leyla@example.az"]
        assert sent["From"].addresses[0].addr_spec == OURS
        assert sent["To"].addresses[0].display_name == "Leyla Məmmədova"
        assert str(sent["Subject"]) == "Re: Sifariş #42"
        assert sent["In-Reply-To"] == "<q1@example.az>"
        assert "<q1@example.az>" in sent["References"]
        assert sent["Message-ID"].endswith("@acme.example>")
        assert sent["Date"] is not None
        assert sent.get_content().strip() == "Sabah göndəririk. — Aysel"
        # The copy in Sent is filed once, and seen by the Sent watcher as this very reply.
        await async_wait_until(
            lambda: (
                len(
                    dovecot.client("agent").select_folder("Sent")
                    and _search(dovecot, "Sent", sent["Message-ID"])
                )
                == 1
            ),
            10,
            "the copy in Sent",
        )
        # The customer answers the reply: it threads into the same conversation.
        answer = mail(
            subject="Re: Sifariş #42", body="Çox sağ olun", in_reply_to=sent["Message-ID"]
        )
        dovecot.append("agent", "INBOX", answer)
        await async_wait_until(
            lambda: count(store, "SELECT count(*) FROM message WHERE direction='in'")() == 2,
            10,
            "the answer",
        )
        await asyncio.sleep(0.5)
    assert len(smtp_server.messages) == 1
    convs = query(
        store, "SELECT DISTINCT conversation_id FROM message WHERE customer_id=?", (customer,)
    )
    assert len(convs) == 1
    reason = scalar(store, "SELECT thread_reason FROM message ORDER BY id DESC LIMIT 1")
    assert reason.startswith(f"answers message {reply_id}")
    # Our reply's copy in Sent was recognised, not stored a second time.
    assert (
        count(store, "SELECT count(*) FROM message WHERE direction='out'")() == 2
    )  # + the old one
    assert scalar(store, "SELECT count(*) FROM messageraw WHERE message_id=?", (reply_id,)) == 1


def _search(dovecot: Dovecot, folder: str, message_id: str) -> list[int]:
    client = dovecot.client("agent")
    client.select_folder(folder, readonly=True)
    return list(client.search(["HEADER", "Message-ID", message_id]))


async def test_451_then_250_delivers_once(
    dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    smtp_server.script("DATA", "451 4.3.0 Try again later")
    async with running(mail_settings(tmp_path, url, account(dovecot, smtp_server))) as runner:
        customer = await _customer_writes(dovecot, store)
        reply_id = inbox.queue_reply(runner.engine, customer, "answer", agent="aysel")
        await async_wait_until(
            lambda: scalar(store, "SELECT delivery FROM message WHERE id=?", (reply_id,)) == "sent",
            10,
            "the retry",
        )
        await asyncio.sleep(0.5)
    assert len(smtp_server.messages) == 1
    assert scalar(store, "SELECT attempts FROM message WHERE id=?", (reply_id,)) == 2


async def test_550_fails_with_the_servers_words(
    dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    smtp_server.script("RCPT", "550 5.1.1 No such user here")
    async with running(mail_settings(tmp_path, url, account(dovecot, smtp_server))) as runner:
        customer = await _customer_writes(dovecot, store)
        reply_id = inbox.queue_reply(runner.engine, customer, "answer", agent="aysel")
        await async_wait_until(
            lambda: (
                scalar(store, "SELECT delivery FROM message WHERE id=?", (reply_id,)) == "failed"
            ),
            10,
            "the failure",
        )
    error = scalar(store, "SELECT last_error FROM message WHERE id=?", (reply_id,))
    assert "550" in error and "No such user here" in error
    assert smtp_server.messages == []


async def test_smtp_login_takes_the_password_from_the_environment(
    dovecot: Dovecot,
    smtp_auth_server: SmtpServer,
    tmp_path: Path,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = store = store_url
    monkeypatch.setenv("OMNITUI_TEST_SMTP_PASSWORD", "secret")
    acct = account(dovecot, smtp_auth_server)
    acct["smtp"] |= {"username": "agent", "password_env": "OMNITUI_TEST_SMTP_PASSWORD"}
    async with running(mail_settings(tmp_path, url, acct)) as runner:
        customer = await _customer_writes(dovecot, store)
        reply_id = inbox.queue_reply(runner.engine, customer, "answer", agent="aysel")
        [received] = await asyncio.to_thread(smtp_auth_server.wait_for, 1, 10)
        await async_wait_until(
            lambda: scalar(store, "SELECT delivery FROM message WHERE id=?", (reply_id,)) == "sent",
            5,
            "the reply marked sent",
        )
    assert received.login == "agent"


def _imap_processes(dovecot: Dovecot) -> list[int]:
    """The pids of the imap processes (one a logged-in connection) of this Dovecot."""
    master = dovecot._master_pid()
    assert master is not None
    found = subprocess.run(
        ["pgrep", "-P", str(master), "-x", "imap"], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


async def test_a_connection_that_goes_silent_is_noticed_by_the_watchdog_and_replaced(
    dovecot: Dovecot, tmp_path: Path, store_url: str
) -> None:
    """A server that stops answering (a dropped NAT entry, a frozen peer) keeps the TCP
    connection open: IDLE alone would wait for ever. The NOOP between IDLEs notices."""
    url = store = store_url
    acct = account(dovecot, idle_refresh_seconds=1, timeout_seconds=2)
    async with running(mail_settings(tmp_path, url, acct)):
        dovecot.append("agent", "INBOX", mail(subject="before"))
        await async_wait_until(lambda: count(store)() == 1, 10, "the first message")
        await asyncio.sleep(0.3)
        frozen = _imap_processes(dovecot)
        assert frozen, "the watcher's connection has an imap process"
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            dovecot.append("agent", "INBOX", mail(subject="while the old connection is frozen"))
            await async_wait_until(lambda: count(store)() == 2, 15, "the mail by a new connection")
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
    assert scalar(store, "SELECT subject FROM message ORDER BY id DESC LIMIT 1") == (
        "while the old connection is frozen"
    )


async def test_a_server_without_idle_is_polled(
    make_dovecot: Any, tmp_path: Path, store_url: str
) -> None:
    dovecot = make_dovecot(settings={"imap_capability": "IMAP4rev1 LITERAL+ UIDPLUS"})
    client = dovecot.client("agent")
    assert b"IDLE" not in client.capabilities()
    url = store = store_url
    async with running(mail_settings(tmp_path, url, account(dovecot, poll_seconds=1))):
        await async_wait_until(
            lambda: scalar(store, "SELECT count(*) FROM connectorstate WHERE state='running'"),
            10,
            "the connector",
        )
        dovecot.append("agent", "INBOX", mail(subject="polled"))
        await async_wait_until(lambda: count(store)() == 1, 5, "the polled message")


def test_doctor_logs_in_to_each_mail_server_and_says_what_is_wrong(
    dovecot: Dovecot, smtp_auth_server: SmtpServer, tmp_path: Path, store_url: str
) -> None:
    dovecot.append("agent", "INBOX", mail())

    def doctor(password: str, sent_folder: str) -> subprocess.CompletedProcess[str]:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[email.support]\naddress = "{OURS}"\n'
            f'[email.support.imap]\nhost = "127.0.0.1"\nport = {dovecot.port}\n'
            f'security = "plain"\nusername = "agent"\npassword = "{password}"\n'
            f'sent_folder = "{sent_folder}"\n'
            f'[email.support.smtp]\nhost = "127.0.0.1"\nport = {smtp_auth_server.port}\n'
            f'security = "plain"\nusername = "agent"\npassword = "{password}"\n',
            encoding="utf-8",
        )
        return subprocess.run(
            [
                str(OMNITUI),
                "--data-dir",
                str(tmp_path),
                "--db",
                store_url,
                "--config",
                str(config),
                "doctor",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        )

    dovecot.client("agent").create_folder("Sent")
    good = doctor("secret", "Sent")
    imap_line = next(line for line in good.stdout.splitlines() if "email support imap" in line)
    smtp_line = next(line for line in good.stdout.splitlines() if "email support smtp" in line)
    assert "OK" in imap_line and "IDLE" in imap_line and "INBOX (1)" in imap_line
    assert "OK" in smtp_line and "accepts us as agent" in smtp_line
    bad = doctor("wrong", "Gönderilenler")
    assert bad.returncode == 1
    imap_line = next(line for line in bad.stdout.splitlines() if "email support imap" in line)
    smtp_line = next(line for line in bad.stdout.splitlines() if "email support smtp" in line)
    assert "OK" not in imap_line and "authentication failed" in imap_line.lower()
    assert "refused the login: 535" in smtp_line
    missing = doctor("secret", "Gönderilenler")
    imap_line = next(line for line in missing.stdout.splitlines() if "email support imap" in line)
    assert "no folder 'Gönderilenler'" in imap_line and "INBOX" in imap_line


# -- files in replies ---------------------------------------------------------------------


async def test_a_reply_with_files_arrives_with_identical_bytes_and_names(
    dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    settings = mail_settings(tmp_path, url, account(dovecot, smtp_server, sent_folder="Sent"))
    dovecot.client("agent").create_folder("Sent")
    report = b"%PDF-1.4\n" + bytes(range(256)) * 300 + b"\n%%EOF\n"
    photo = b"\x89PNG\r\n\x1a\n" + os.urandom(20_000)
    turkish, persian = "Sipariş özeti — Şubat.pdf", "عکس بسته ۴۴۷۱.png"
    folder = tmp_path / "outgoing"
    folder.mkdir()
    (folder / turkish).write_bytes(report)
    (folder / persian).write_bytes(photo)
    async with running(settings) as runner:
        customer = await _customer_writes(dovecot, store)
        reply_id = inbox.queue_reply(
            runner.engine,
            customer,
            "Faturanız ve fotoğraf ektedir.",
            agent="aysel",
            attachments=[folder / turkish, folder / persian],
            blobs=runner.blobs,
        )
        [received] = await asyncio.to_thread(smtp_server.wait_for, 1, 10)
        await async_wait_until(
            lambda: scalar(store, "SELECT delivery FROM message WHERE id=?", (reply_id,)) == "sent",
            5,
            "the reply marked sent",
        )
        sent = email.message_from_bytes(received.data, policy=email.policy.default)
        # The copy in Sent is recognised as this reply: its files are not stored twice.
        await async_wait_until(
            lambda: len(_search(dovecot, "Sent", sent["Message-ID"])) == 1, 10, "the copy"
        )
        await asyncio.sleep(0.5)
    assert sent.get_content_type() == "multipart/mixed"
    body, *files = sent.iter_parts()
    assert body.get_content_type() == "text/plain"
    assert body.get_content().strip() == "Faturanız ve fotoğraf ektedir."
    assert [(f.get_filename(), f.get_content_type(), f.get_content()) for f in files] == [
        (turkish, "application/pdf", report),
        (persian, "image/png", photo),
    ]
    assert len(received.data) < 1.4 * (len(report) + len(photo)) + 3000
    assert query(store, "SELECT message_id, filename FROM attachment ORDER BY id") == [
        (reply_id, turkish),
        (reply_id, persian),
    ]
    assert count(store, "SELECT count(*) FROM message WHERE direction='out'")() == 1
