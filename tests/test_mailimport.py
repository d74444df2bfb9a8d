"""`omnitui import maildir|mbox|eml`: real files in a temp dir, a real store (this run's:
SQLite or PostgreSQL), the CLI as a user runs it; what the TUI then reads."""

from __future__ import annotations

import base64
import mailbox
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from omnitui import db, inbox, mailimport
from omnitui.blobs import BlobStore
from omnitui.normalize import fts_text
from omnitui.reads import Reader
from tests.runner_support import query

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "cpython-email"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus/cpython-email")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SUPPORT = "support@acme.example"
PDF = b"%PDF-1.4\n% a receipt\n" + bytes(range(256)) * 4


def _encoded(text: str, charset: str = "utf-8") -> str:
    return Header(text, charset).encode()


def _mail(
    *,
    sender: tuple[str, str] | None,
    to: tuple[str, str],
    subject: str,
    at: datetime,
    msgid: str,
    body: bytes,
    in_reply_to: str | None = None,
    references: str | None = None,
    content_type: str = 'text/plain; charset="utf-8"',
    encoding: str = "8bit",
) -> bytes:
    headers = []
    if sender is not None:
        headers.append(f"From: {formataddr(sender, charset='utf-8')}")
    headers += [
        f"To: {formataddr(to, charset='utf-8')}",
        f"Subject: {subject}",
        f"Date: {format_datetime(at)}",
        f"Message-ID: {msgid}",
    ]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    headers += ["MIME-Version: 1.0", f"Content-Type: {content_type}"]
    headers.append(f"Content-Transfer-Encoding: {encoding}")
    return ("\n".join(headers) + "\n\n").encode("ascii") + body + b"\n"


def _history(now: datetime) -> list[tuple[str, bytes]]:
    """Four customers writing in en/az/tr/fa, our replies, and one mail without a sender;
    (file name, bytes), the names sorting in another order than the dates."""
    john = ("John Smith", "john@example.com")
    leyla = ("Leyla Əliyeva", "leyla@example.az")
    gokce = ("Gökçe Aydın", "gokce@example.com.tr")
    maryam = ("مریم احمدی", "maryam@example.ir")
    us = ("Acme Support", SUPPORT)
    en_subject = "Where is my order #4417?"
    az_subject = _encoded("Sifarişim gəlmədi")
    boundary = "b0undary"
    receipt = base64.encodebytes(PDF).decode("ascii")
    az_body = (
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
        "Salam, sifarişim hələ gəlməyib. Qəbz əlavədədir.\n"
        f"--{boundary}\nContent-Type: application/pdf; name=receipt.pdf\n"
        "Content-Disposition: attachment; filename=receipt.pdf\n"
        f"Content-Transfer-Encoding: base64\n\n{receipt}--{boundary}--\n"
    ).encode()
    mails = {
        "en1": _mail(sender=john, to=us, subject=en_subject, at=now - timedelta(days=3),
                     msgid="<en1@example.com>", body=b"Hello, my order has not arrived."),
        "en2": _mail(sender=us, to=john, subject=f"Re: {en_subject}",
                     at=now - timedelta(days=3, hours=-2), msgid="<en2@acme.example>",
                     in_reply_to="<en1@example.com>", references="<en1@example.com>",
                     body=b"It ships tomorrow, sorry for the wait."),
        "en3": _mail(sender=john, to=us, subject=f"Re: {en_subject}",
                     at=now - timedelta(days=2), msgid="<en3@example.com>",
                     in_reply_to="<en2@acme.example>",
                     references="<en1@example.com> <en2@acme.example>", body=b"Thanks!"),
        "az1": _mail(sender=leyla, to=us, subject=az_subject, at=now - timedelta(days=40),
                     msgid="<az1@example.az>", body=az_body,
                     content_type=f'multipart/mixed; boundary="{boundary}"'),
        "az2": _mail(sender=us, to=leyla, subject=_encoded("Re: Sifarişim gəlmədi"),
                     at=now - timedelta(days=40, hours=-1), msgid="<az2@acme.example>",
                     in_reply_to="<az1@example.az>", references="<az1@example.az>",
                     body="Bağışlayın, bu gün göndəririk.".encode()),
        "tr1": _mail(sender=gokce, to=us, subject="=?windows-1254?Q?Sipari=FEim_nerede=3F?=",
                     at=now - timedelta(days=10), msgid="<tr1@example.com.tr>",
                     body="Siparişim nerede? Kargo takip numarası çalışmıyor.".encode("cp1254"),
                     content_type="text/plain; charset=windows-1254"),
        "tr2": _mail(sender=gokce, to=us, subject="Fatura", at=now - timedelta(days=1),
                     msgid="<tr2@example.com.tr>", body="Faturamı gönderir misiniz?".encode()),
        "fa1": _mail(sender=maryam, to=us, subject=_encoded("سفارش من کجاست؟"),
                     at=now - timedelta(days=5), msgid="<fa1@example.ir>",
                     body="<html><body><p>سلام، سفارش من هنوز نرسیده.</p></body></html>".encode(),
                     content_type='text/html; charset="utf-8"'),
        "nofrom": _mail(sender=None, to=us, subject="who am I", at=now - timedelta(days=4),
                        msgid="<nofrom@nowhere>", body=b"A mail without any sender."),
    }  # fmt: skip
    order = ["tr2", "en3", "nofrom", "az2", "fa1", "en2", "tr1", "az1", "en1"]
    return [(f"{i:02d}.{name}", mails[name]) for i, name in enumerate(order)]


def _maildir(root: Path, mails: list[tuple[str, bytes]]) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for name, data in mails:
        (root / "cur" / f"{name}:2,S").write_bytes(data)
    return root


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The store's contents that an import decides, for comparing imports."""
    queries = {
        "customer": "SELECT id, name, created_at, last_activity_at, preview, channels, "
        "unread_count, open_count, version FROM customer ORDER BY id",
        "identity": "SELECT id, customer_id, address, display_name, account FROM identity "
        "ORDER BY id",
        "conversation": "SELECT id, customer_id, status, opened_at, first_inbound_at, "
        "first_response_at, resolved_at, last_message_at FROM conversation ORDER BY id",
        "message": "SELECT id, conversation_id, customer_id, direction, external_id, author, "
        "subject, body, html, sent_at, thread_ref, thread_reason, refs, delivery FROM message "
        "ORDER BY id",
        "attachment": "SELECT message_id, filename, content_type, size, sha256 FROM attachment "
        "ORDER BY id",
        "message_fts": "SELECT rowid, body FROM message_fts ORDER BY rowid",
        "customer_fts": "SELECT rowid, body FROM customer_fts ORDER BY rowid",
        "quarantine": "SELECT account, error, sha256 FROM quarantine ORDER BY id",
    }
    return {table: query(url, sql) for table, sql in queries.items()}


def _import(url: str, source: mailimport.Source, tmp: Path) -> mailimport.ImportResult:
    return mailimport.import_mail(
        url,
        source,
        account="support",
        attachments=tmp / "attachments",
        ours=[SUPPORT],
        now=NOW,
        workers=2,
    )


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(data_dir / "xdg"),
        "XDG_CACHE_HOME": str(data_dir / "cache"),
    }
    env.pop("OMNITUI_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "omnitui", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


# ---------------------------------------------------------------------------


def test_a_maildir_imports_as_customers_and_conversations_once(
    tmp_path: Path, store_url: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    maildir = _maildir(tmp_path / "Mail", _history(now))
    config = tmp_path / "config.toml"
    config.write_text(f'[email.support]\naddress = "{SUPPORT}"\n', encoding="utf-8")
    data = tmp_path / "data"

    first = _run(
        "--config", str(config), "--db", store_url, "import", "maildir", str(maildir),
        data_dir=data,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(
        "imported 8 messages (4 customers, 5 conversations), 0 already stored, "
        "1 quarantined (omnitui doctor lists them) in "
    ), first.stdout
    assert "msg/s)" in first.stdout

    rows = _rows(store_url)
    by_ext = {m[4]: m for m in rows["message"]}
    names = {c[0]: c[1] for c in rows["customer"]}
    assert sorted(names.values()) == ["Gökçe Aydın", "John Smith", "Leyla Əliyeva", "مریم احمدی"]
    assert {i[4] for i in rows["identity"]} == {"support"}  # the config's only account

    # John's thread: his mail, our reply (outgoing, to him), his answer: one open case.
    en1, en2, en3 = (
        by_ext[f"<en{n}@{d}>"]
        for n, d in ((1, "example.com"), (2, "acme.example"), (3, "example.com"))
    )
    assert [m[3] for m in (en1, en2, en3)] == ["in", "out", "in"]
    assert en2[2] == en1[2] and en2[5] == "Acme Support" and en2[13] == "sent"
    conv = en1[1]
    assert en2[1] == en3[1] == conv
    assert en1[11] == f"new customer; no open conversation; opened {conv}"
    assert en2[11] == f"answers message {en1[0]} in conversation {conv}"
    assert en3[11] == f"answers message {en2[0]} in conversation {conv}"

    # Encodings: RFC 2047 subjects, a windows-1254 body, an HTML-only mail as text.
    tr1 = by_ext["<tr1@example.com.tr>"]
    assert tr1[6] == "Siparişim nerede?" and "takip numarası çalışmıyor" in tr1[7]
    assert by_ext["<az1@example.az>"][6] == "Sifarişim gəlmədi"
    fa1 = by_ext["<fa1@example.ir>"]
    assert fa1[6] == "سفارش من کجاست؟" and "سفارش من هنوز نرسیده" in fa1[7]
    assert fa1[8] is not None and "<p>" in fa1[8]

    # Gökçe wrote again nine days later about something else: a second conversation.
    tr2 = by_ext["<tr2@example.com.tr>"]
    assert tr2[1] != tr1[1] and tr2[11] == f"no open conversation; opened {tr2[1]}"

    # The attachment's bytes are in the blob store; every raw mail is kept.
    [(message_id, filename, ctype, size, digest)] = rows["attachment"]
    assert (message_id, filename, ctype, size) == (
        by_ext["<az1@example.az>"][0],
        "receipt.pdf",
        "application/pdf",
        len(PDF),
    )
    assert BlobStore(data / "attachments").get(str(digest)) == PDF
    assert query(store_url, "SELECT count(*) FROM messageraw") == [(8,)]
    assert query(store_url, "SELECT DISTINCT channel FROM conversation") == [("email",)]
    [(error, source)] = query(store_url, "SELECT error, source FROM quarantine")
    assert "no sender" in error and source.endswith("nofrom:2,S")

    # Statuses by age: Leyla's case went quiet 40 days ago, the others are recent.
    status = {c[1]: c[2] for c in rows["conversation"] if c[1] != tr2[2]}
    leyla = next(cid for cid, name in names.items() if name == "Leyla Əliyeva")
    assert status[leyla] == "resolved" and {s for c, s in status.items() if c != leyla} == {"open"}
    resolved = next(c for c in rows["conversation"] if c[1] == leyla)
    assert resolved[6] == resolved[7]  # resolved when it went quiet
    assert next(c for c in rows["conversation"] if c[0] == tr1[1])[2] == "resolved"

    again = _run(
        "--config", str(config), "--db", store_url, "import", "maildir", str(maildir),
        data_dir=data,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "nothing new: 9 messages were already stored"
    assert _rows(store_url) == rows

    # The reports' summary, kept by the store's triggers through the import's own SQL.
    from tests.test_report_summary import conversations, counted, kept, worked_out

    engine = db.make_engine(store_url)
    assert kept(engine) == counted(engine) != {}
    assert conversations(engine) == worked_out(engine)
    assert conversations(engine)[conv] == (1, "Acme Support")
    engine.dispose()


def test_the_tui_reads_the_imported_history_newest_first(tmp_path: Path, store_url: str) -> None:
    result = _import(
        store_url, mailimport.maildir_source([_maildir(tmp_path / "M", _history(NOW))]), tmp_path
    )
    assert (result.imported, result.customers, result.conversations) == (8, 4, 5)
    assert (result.already, result.quarantined, result.unreadable) == (0, 1, ())
    reader = Reader(store_url)
    customers = reader.customers(0, 10)
    assert [(c.name, c.preview, c.unread, c.open) for c in customers] == [
        ("Gökçe Aydın", "Fatura", 2, 1),  # two mails, no answer yet
        ("John Smith", "Re: Where is my order #4417?", 1, 1),
        ("مریم احمدی", "سفارش من کجاست؟", 1, 1),
        ("Leyla Əliyeva", "Re: Sifarişim gəlmədi", 0, 0),  # our reply was the last word
    ]
    assert [c.channels for c in customers] == ["email"] * 4
    assert customers[0].last_activity_at == NOW - timedelta(days=1)
    john = customers[1]
    timeline = reader.timeline(john.id)
    assert [(i.kind, i.body) for i in timeline] == [
        ("in", "Hello, my order has not arrived."),
        ("out", "It ships tomorrow, sorry for the wait."),
        ("in", "Thanks!"),
    ]
    assert timeline[1].delivery == "sent" and timeline[-1].at == NOW - timedelta(days=2)
    hits = reader.search("siparisim nerede")
    assert [h.name for h in hits] == ["Gökçe Aydın"]
    assert [h.name for h in reader.search("LEYLA")] == ["Leyla Əliyeva"]


def test_mbox_and_eml_of_the_same_mail_give_the_same_store(
    tmp_path: Path, store_url: str, new_store_url: Callable[[], str]
) -> None:
    mails = _history(NOW)
    stores = {}
    for kind in ("maildir", "mbox", "eml"):
        url = store_url if kind == "maildir" else new_store_url()
        if kind == "maildir":
            source: mailimport.Source = mailimport.maildir_source([_maildir(tmp_path / "M", mails)])
        elif kind == "mbox":
            box = mailbox.mbox(tmp_path / "all.mbox")
            for _, data in mails:
                box.add(data)
            box.close()
            source = mailimport.mbox_source([tmp_path / "all.mbox"])
        else:
            (tmp_path / "files").mkdir()
            for name, data in mails:
                (tmp_path / "files" / f"{name}.eml").write_bytes(data)
            source = mailimport.eml_source([tmp_path / "files"])
        result = _import(url, source, tmp_path / kind)
        assert (result.imported, result.quarantined) == (8, 1), kind
        stores[kind] = _rows(url)
    assert stores["mbox"] == stores["maildir"]
    assert stores["eml"] == stores["maildir"]
    # FTS rows are the folded words of subject and body, as db.index_message writes them.
    message_fts = dict(stores["eml"]["message_fts"])
    for m in stores["eml"]["message"]:
        assert message_fts[m[0]] == fts_text(f"{m[6]}\n{m[7]}")


def test_an_mbox_line_starting_with_from_does_not_split_a_message(
    tmp_path: Path, store_url: str
) -> None:
    body = b"Hello,\n\nFrom the warehouse: nothing yet.\nFrom me too.\n"
    box = mailbox.mbox(tmp_path / "x.mbox")
    box.add(
        _mail(
            sender=("A", "a@example.com"),
            to=("S", SUPPORT),
            subject="one",
            at=NOW,
            msgid="<one@example.com>",
            body=body,
        )
    )
    box.add(
        _mail(
            sender=("A", "a@example.com"),
            to=("S", SUPPORT),
            subject="two",
            at=NOW + timedelta(minutes=1),
            msgid="<two@example.com>",
            body=b"second",
        )
    )
    box.close()
    result = _import(store_url, mailimport.mbox_source([tmp_path / "x.mbox"]), tmp_path)
    assert result.imported == 2
    [(first,)] = query(store_url, "SELECT body FROM message WHERE subject = 'one'")
    assert "the warehouse: nothing yet." in first and "second" not in first


def test_a_thread_imported_out_of_file_order_lands_in_one_conversation(
    tmp_path: Path, store_url: str
) -> None:
    ali = ("Əli", "ali@example.az")
    us = ("Acme Support", SUPPORT)
    start = NOW - timedelta(days=60)
    thread = [
        _mail(sender=ali, to=us, subject="Kargo", at=start, msgid="<k1@x>", body=b"one"),
        # Ten days later, but answering: the thread, reopened.
        _mail(sender=us, to=ali, subject="Re: Kargo", at=start + timedelta(days=1),
              msgid="<k2@acme.example>", in_reply_to="<k1@x>", body=b"two"),
        _mail(sender=ali, to=us, subject="Re: Kargo", at=start + timedelta(days=11),
              msgid="<k3@x>", in_reply_to="<k2@acme.example>", body=b"three"),
        # No reference, a fortnight later, the same subject: joins by subject.
        _mail(sender=ali, to=us, subject="RE: kargo", at=start + timedelta(days=25),
              msgid="<k4@x>", body=b"four"),
        # No reference, three days later: joins the open conversation.
        _mail(sender=ali, to=us, subject=_encoded("Başqa sual"), at=start + timedelta(days=28),
              msgid="<k5@x>", body=b"five"),
        # A References chain naming only an older message of the thread.
        _mail(sender=ali, to=us, subject="x", at=start + timedelta(days=29), msgid="<k6@x>",
              in_reply_to="<unknown@x>", references="<k1@x> <gone@x>", body=b"six"),
    ]  # fmt: skip
    files = [(f"{9 - i}", data) for i, data in enumerate(thread)]  # reverse file order
    _import(store_url, mailimport.maildir_source([_maildir(tmp_path / "M", files)]), tmp_path)
    rows = query(
        store_url, "SELECT id, conversation_id, thread_reason FROM message ORDER BY sent_at"
    )
    ids, convs, reasons = zip(*rows, strict=True)
    assert len(set(convs)) == 1
    c = convs[0]
    assert list(reasons) == [
        f"new customer; no open conversation; opened {c}",
        f"answers message {ids[0]} in conversation {c}",
        f"answers message {ids[1]}; reopened conversation {c}",
        f"subject matches conversation {c}; reopened",
        f"joined open conversation {c}",
        f"references message {ids[0]} in conversation {c}",
    ]
    [(status, resolved_at, last)] = query(
        store_url, "SELECT status, resolved_at, last_message_at FROM conversation"
    )
    assert status == "resolved" and resolved_at == last  # quiet for a month before NOW


def test_the_cpython_corpus_imports_without_a_crash_every_file_kept(
    tmp_path: Path, store_url: str
) -> None:
    files = sorted(CORPUS.glob("*.txt"))
    if not files:
        pytest.skip(f"no corpus at {CORPUS}")
    proc = _run("--db", store_url, "import", "eml", *map(str, files), data_dir=tmp_path / "data")
    assert proc.returncode == 0, proc.stderr
    [(messages,)] = query(store_url, "SELECT count(*) FROM message")
    [(quarantined,)] = query(store_url, "SELECT count(*) FROM quarantine")
    accounts = query(store_url, "SELECT DISTINCT account FROM message")
    assert accounts == [("imported",)]  # no config: the default account
    counts = re.match(r"imported (\d+) messages .*, (\d+) already stored", proc.stdout)
    assert counts is not None, proc.stdout
    imported, already = int(counts[1]), int(counts[2])
    assert imported == messages
    # Every file is a message, a quarantine record, or a copy of one (the same Message-ID).
    assert messages + quarantined + already == len(files) == 48
    assert f"{quarantined} quarantined" in proc.stdout


def test_unreadable_files_are_named_and_the_rest_imported(tmp_path: Path, store_url: str) -> None:
    maildir = _maildir(tmp_path / "M", _history(NOW)[:3])
    gone = maildir / "cur" / "vanished:2,S"
    gone.symlink_to(tmp_path / "nowhere")
    proc = _run("--db", store_url, "import", "maildir", str(maildir), data_dir=tmp_path / "data")
    assert proc.returncode == 1
    assert proc.stdout.startswith(
        "imported 2 messages (2 customers, 2 conversations), 0 already stored, "
        "1 quarantined (omnitui doctor lists them), 1 file unreadable (below) in "
    ), proc.stdout
    warning, unreadable = proc.stderr.splitlines()
    # Without --ours or a configured account, nobody's mail is taken as the team's: said so.
    assert warning.startswith("omnitui: no address of the team given (--ours ADDRESS")
    assert unreadable == f"cannot read {gone}: No such file or directory"


def test_maildir_folders_are_found_and_index_files_skipped(tmp_path: Path) -> None:
    mails = _history(NOW)
    root = _maildir(tmp_path / "Mail", mails[:2])
    _maildir(root / ".Sent", mails[2:4])
    _maildir(root / ".Archive.2025", mails[4:6])
    _maildir(root / "Nested" / "Deeper", mails[6:])
    (root / ".notmuch" / "xapian").mkdir(parents=True)
    (root / ".notmuch" / "xapian" / "postlist.glass").write_bytes(b"\0" * 10)
    (root / "dovecot.index.log").write_bytes(b"\0" * 10)
    (root / "dovecot-uidlist").write_text("3 V1 N1\n")
    (root / "tmp" / "half-delivered").write_bytes(b"From: x@y\n")
    (root / "cur" / ".hidden").write_bytes(b"x")
    found = mailimport.maildir_source([root]).paths
    assert len(found) == len(mails)
    assert all("/cur/" in p for p in found)
    with pytest.raises(mailimport.SourceError, match="not a maildir"):
        mailimport.maildir_source([root / ".notmuch"])


def test_several_email_accounts_need_account(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[email.support]\naddress = "support@acme.example"\n'
        '[email.sales]\naddress = "sales@acme.example"\n',
        encoding="utf-8",
    )
    maildir = _maildir(tmp_path / "M", _history(NOW)[:1])
    proc = _run("--config", str(config), "import", "maildir", str(maildir), data_dir=tmp_path)
    assert proc.returncode == 1
    assert "several email accounts (sales, support): pass --account NAME" in proc.stderr


def test_history_joins_what_the_store_already_holds(
    tmp_path: Path, store_url: str, engine: Engine
) -> None:
    from omnitui.connectors.base import Batch, InboundMessage

    first = InboundMessage(
        account="support", channel="email", external_id="<en1@example.com>",
        address="john@example.com", display_name="John", subject="Where is my order #4417?",
        body="Hello, my order has not arrived.", sent_at=NOW - timedelta(days=3),
    )  # fmt: skip
    [stored] = inbox.ingest(engine, Batch([first]))
    inbox.add_identity(engine, stored.customer_id, "telegram", "5001", account="bot")
    before = Reader(store_url).customer(stored.customer_id)
    assert before is not None

    maildir = _maildir(tmp_path / "M", _history(NOW))
    result = _import(store_url, mailimport.maildir_source([maildir]), tmp_path)
    assert (result.imported, result.already, result.customers) == (7, 1, 3)
    reasons = dict(query(store_url, "SELECT external_id, thread_reason FROM message"))
    assert reasons["<en2@acme.example>"] == (
        f"answers message {stored.message_id} in conversation {stored.conversation_id}"
    )
    john = Reader(store_url).customer(stored.customer_id)
    assert john is not None
    assert (john.row.channels, john.row.unread, john.row.open) == ("email,telegram", 1, 1)
    assert john.row.version == before.row.version + 2
    assert john.conversation_id == stored.conversation_id
    # "John Smith" replaced "John" on the identity, and search finds the new name.
    assert [h.customer_id for h in Reader(store_url).search("smith")] == [stored.customer_id]


def test_a_sent_copy_of_our_queued_reply_marks_it_sent(
    tmp_path: Path, store_url: str, engine: Engine
) -> None:
    from omnitui.connectors.base import Batch, InboundMessage

    asked = InboundMessage(
        account="support", channel="email", external_id="<q@example.com>",
        address="john@example.com", body="Hello?", sent_at=NOW - timedelta(hours=2),
    )  # fmt: skip
    [stored] = inbox.ingest(engine, Batch([asked]))
    reply_id = inbox.queue_reply(engine, stored.customer_id, "On its way", agent="aysel")
    [(key,)] = query(store_url, "SELECT idempotency_key FROM message WHERE id = ?", (reply_id,))
    copy = _mail(sender=("Acme Support", SUPPORT), to=("John", "john@example.com"),
                 subject="Re: x", at=NOW - timedelta(hours=1),
                 msgid=f"<{key.partition('@')[0]}@acme.example>", body=b"On its way")  # fmt: skip
    result = _import(store_url, mailimport.eml_source([_write(tmp_path / "sent.eml", copy)]),
                     tmp_path)  # fmt: skip
    assert (result.imported, result.already) == (0, 1)
    [(delivery, external_id)] = query(
        store_url, "SELECT delivery, external_id FROM message WHERE id = ?", (reply_id,)
    )
    assert delivery == "sent" and external_id.startswith(f"<{key.partition('@')[0]}@")


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_an_imported_auto_reply_does_not_reopen_a_resolved_conversation(
    tmp_path: Path, store_url: str, engine: Engine
) -> None:
    from omnitui.connectors.base import Batch, InboundMessage

    asked = InboundMessage(
        account="support", channel="email", external_id="<q@example.com>",
        address="john@example.com", body="Hello?", sent_at=NOW - timedelta(hours=2),
    )  # fmt: skip
    [stored] = inbox.ingest(engine, Batch([asked]))
    inbox.set_status(engine, stored.customer_id, "resolved", agent="aysel")
    away = _mail(
        sender=("John Smith", "john@example.com"), to=("Acme", SUPPORT), subject="Away",
        at=NOW - timedelta(hours=1), msgid="<away@example.com>", body=b"Out until Monday.",
        in_reply_to="<q@example.com>",
    ).replace(b"MIME-Version", b"Auto-Submitted: auto-replied\nMIME-Version")  # fmt: skip
    result = _import(
        store_url, mailimport.maildir_source([_maildir(tmp_path / "M", [("a", away)])]), tmp_path
    )
    assert result.imported == 1
    [(reason,)] = query(
        store_url, "SELECT thread_reason FROM message WHERE external_id='<away@example.com>'"
    )
    [(status,)] = query(
        store_url, "SELECT status FROM conversation WHERE id=?", (stored.conversation_id,)
    )
    assert reason.endswith("(automatic: not reopened)")
    assert status == "resolved"


def test_live_writes_after_an_import_take_new_ids(
    tmp_path: Path, store_url: str, engine: Engine
) -> None:
    """The import writes its own ids; the ORM's next inserts (a live message, a reply, a
    note, a status event) must not collide with them (PostgreSQL: the id sequences)."""
    from omnitui.connectors.base import Batch, InboundMessage

    _import(store_url, mailimport.maildir_source([_maildir(tmp_path / "M", _history(NOW))]),
            tmp_path)  # fmt: skip
    [(messages, customers, conversations)] = query(
        store_url,
        "SELECT (SELECT max(id) FROM message) AS m, (SELECT max(id) FROM customer) AS c, "
        "(SELECT max(id) FROM conversation) AS v",
    )
    new = InboundMessage(
        account="support", channel="email", external_id="<live@example.org>",
        address="new@example.org", body="Hello from a new customer", sent_at=NOW,
    )  # fmt: skip
    known = InboundMessage(
        account="support", channel="email", external_id="<live2@example.com>",
        address="john@example.com", body="Me again", sent_at=NOW, subject="Another thing",
    )  # fmt: skip
    fresh, john = inbox.ingest(engine, Batch([new, known]))
    assert fresh.message_id is not None and fresh.message_id > messages
    assert fresh.customer_id > customers
    assert fresh.conversation_id is not None and fresh.conversation_id > conversations
    assert john.message_id == fresh.message_id + 1 and john.customer_id <= customers
    reply = inbox.queue_reply(engine, john.customer_id, "On it", agent="aysel")
    note = inbox.add_note(engine, fresh.customer_id, "VIP", agent="aysel")
    inbox.set_status(engine, fresh.customer_id, "resolved", agent="aysel")
    assert messages < john.message_id < reply < note

    # A second import goes on after what the runner and the agents wrote.
    later = _mail(sender=("Gökçe Aydın", "gokce@example.com.tr"), to=("S", SUPPORT),
                  subject="Fatura?", at=NOW + timedelta(minutes=5), msgid="<tr3@example.com.tr>",
                  body=b"Hala bekliyorum.")  # fmt: skip
    result = _import(store_url, mailimport.eml_source([_write(tmp_path / "tr3.eml", later)]),
                     tmp_path)  # fmt: skip
    assert result.imported == 1
    [(tr3,)] = query(store_url, "SELECT id FROM message WHERE external_id = '<tr3@example.com.tr>'")
    assert tr3 == note + 1
    again = replace(new, external_id="<live3@example.org>", sent_at=NOW + timedelta(hours=1))
    [extra] = inbox.ingest(engine, Batch([again]))
    assert extra.message_id == tr3 + 1
    counts = query(store_url, "SELECT count(*), count(DISTINCT id) FROM message")
    assert counts == [(14, 14)]


def test_the_import_tells_the_tuis_as_each_batch_commits(tmp_path: Path, store_url: str) -> None:
    """A TUI polls Reader.data_version: PRAGMA data_version on SQLite, on PostgreSQL the
    NOTIFYs each write transaction sends (the import's too)."""
    reader = Reader(store_url)
    deadline = time.monotonic() + 10
    before = reader.data_version()
    while reader.postgresql and reader._listener is None:  # listening from now on
        assert time.monotonic() < deadline, "no LISTEN connection"
        time.sleep(0.01)
        before = reader.data_version()
    _import(store_url, mailimport.maildir_source([_maildir(tmp_path / "M", _history(NOW))]),
            tmp_path)  # fmt: skip
    while reader.data_version() == before:
        assert time.monotonic() < deadline, "the import's commit was not seen"
        time.sleep(0.01)
    assert reader.message_count() == 8


def test_the_import_waits_for_the_writer_holding_the_store(
    tmp_path: Path, store_url: str, engine: Engine, store_kind: str
) -> None:
    """Writers run one at a time on both stores: on PostgreSQL the import takes db.write's
    advisory lock (SQLite's BEGIN IMMEDIATE does it there)."""
    if store_kind != "postgresql":
        pytest.skip("SQLite: BEGIN IMMEDIATE is the lock")
    held, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def writer() -> None:
        with db.write(engine):
            held.set()
            release.wait(30)

    def watcher() -> None:
        deadline = time.monotonic() + 30
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        while query(store_url, waiting) == [(0,)] and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(query(store_url, "SELECT count(*) FROM message")[0][0])
        release.set()

    threads = [threading.Thread(target=writer), threading.Thread(target=watcher)]
    threads[0].start()
    assert held.wait(10)
    threads[1].start()
    maildir = _maildir(tmp_path / "M", _history(NOW))
    result = _import(store_url, mailimport.maildir_source([maildir]), tmp_path)
    for thread in threads:
        thread.join(10)
    assert seen == [0]  # nothing written while the other writer held the store
    assert result.imported == 8
