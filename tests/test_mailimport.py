"""`omnitui import maildir|mbox|eml`: real files in a temp dir, a real store, the CLI as a
user runs it; what the TUI then reads."""

from __future__ import annotations

import base64
import mailbox
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path

import pytest
from sqlalchemy import Engine

from omnitui import inbox, mailimport
from omnitui.blobs import BlobStore
from omnitui.normalize import fold
from omnitui.reads import Reader

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


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """The store's contents that an import decides, for comparing imports."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    queries = {
        "customer": "SELECT id, name, created_at, last_activity_at, preview, channels, "
        "unread_count, open_count, version FROM customer ORDER BY id",
        "identity": "SELECT id, customer_id, address, display_name, account FROM identity",
        "conversation": "SELECT id, customer_id, status, opened_at, first_inbound_at, "
        "first_response_at, resolved_at, last_message_at FROM conversation ORDER BY id",
        "message": "SELECT id, conversation_id, customer_id, direction, external_id, author, "
        "subject, body, html, sent_at, thread_ref, thread_reason, refs, delivery FROM message "
        "ORDER BY id",
        "attachment": "SELECT message_id, filename, content_type, size, sha256 FROM attachment",
        "message_fts": "SELECT rowid, body FROM message_fts ORDER BY rowid",
        "customer_fts": "SELECT rowid, body FROM customer_fts ORDER BY rowid",
        "quarantine": "SELECT account, error, sha256 FROM quarantine",
    }
    try:
        return {table: conn.execute(sql).fetchall() for table, sql in queries.items()}
    finally:
        conn.close()


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


def test_a_maildir_imports_as_customers_and_conversations_once(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    maildir = _maildir(tmp_path / "Mail", _history(now))
    config = tmp_path / "config.toml"
    config.write_text(f'[email.support]\naddress = "{SUPPORT}"\n', encoding="utf-8")
    data = tmp_path / "data"

    first = _run("--config", str(config), "import", "maildir", str(maildir), data_dir=data)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(
        "imported 8 messages (4 customers, 5 conversations), 0 already stored, "
        "1 quarantined (omnitui doctor lists them) in "
    ), first.stdout
    assert "msg/s)" in first.stdout

    url = f"sqlite:///{data / 'omnitui.db'}"
    rows = _rows(url)
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
    conn = sqlite3.connect(data / "omnitui.db")
    assert conn.execute("SELECT count(*) FROM messageraw").fetchone()[0] == 8
    [(error, source)] = conn.execute("SELECT error, source FROM quarantine").fetchall()
    conn.close()
    assert "no sender" in error and source.endswith("nofrom:2,S")

    # Statuses by age: Leyla's case went quiet 40 days ago, the others are recent.
    status = {c[1]: c[2] for c in rows["conversation"] if c[1] != tr2[2]}
    leyla = next(cid for cid, name in names.items() if name == "Leyla Əliyeva")
    assert status[leyla] == "resolved" and {s for c, s in status.items() if c != leyla} == {"open"}
    resolved = next(c for c in rows["conversation"] if c[1] == leyla)
    assert resolved[6] == resolved[7]  # resolved when it went quiet
    assert next(c for c in rows["conversation"] if c[0] == tr1[1])[2] == "resolved"

    again = _run("--config", str(config), "import", "maildir", str(maildir), data_dir=data)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "nothing new: 9 messages were already stored"
    assert _rows(url) == rows


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


def test_mbox_and_eml_of_the_same_mail_give_the_same_store(tmp_path: Path) -> None:
    from omnitui import db

    mails = _history(NOW)
    stores = {}
    for kind in ("maildir", "mbox", "eml"):
        url = db.sqlite_url(tmp_path / kind / "omnitui.db")
        db.ensure_schema(url)
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
    # FTS rows are the folded subject and body, as db.index_message writes them.
    message_fts = dict(stores["eml"]["message_fts"])
    for m in stores["eml"]["message"]:
        assert message_fts[m[0]] == fold(f"{m[6]}\n{m[7]}")


def test_an_mbox_line_starting_with_from_does_not_split_a_message(tmp_path: Path) -> None:
    from omnitui import db

    url = db.sqlite_url(tmp_path / "omnitui.db")
    db.ensure_schema(url)
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
    result = _import(url, mailimport.mbox_source([tmp_path / "x.mbox"]), tmp_path)
    assert result.imported == 2
    [(first,)] = sqlite3.connect(tmp_path / "omnitui.db").execute(
        "SELECT body FROM message WHERE subject = 'one'"
    )
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
    conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    rows = conn.execute("SELECT id, conversation_id, thread_reason FROM message ORDER BY sent_at")
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
    [(status, resolved_at, last)] = conn.execute(
        "SELECT status, resolved_at, last_message_at FROM conversation"
    )
    assert status == "resolved" and resolved_at == last  # quiet for a month before NOW
    conn.close()


def test_the_cpython_corpus_imports_without_a_crash_every_file_kept(tmp_path: Path) -> None:
    files = sorted(CORPUS.glob("*.txt"))
    if not files:
        pytest.skip(f"no corpus at {CORPUS}")
    data = tmp_path / "data"
    proc = _run("import", "eml", *map(str, files), data_dir=data)
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(data / "omnitui.db")
    messages, accounts = conn.execute(
        "SELECT count(*), group_concat(DISTINCT account) FROM message"
    ).fetchone()
    quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    conn.close()
    assert accounts == "imported"  # no config: the default account
    counts = re.match(r"imported (\d+) messages .*, (\d+) already stored", proc.stdout)
    assert counts is not None, proc.stdout
    imported, already = int(counts[1]), int(counts[2])
    assert imported == messages
    # Every file is a message, a quarantine record, or a copy of one (the same Message-ID).
    assert messages + quarantined + already == len(files) == 48
    assert f"{quarantined} quarantined" in proc.stdout


def test_unreadable_files_are_named_and_the_rest_imported(tmp_path: Path) -> None:
    maildir = _maildir(tmp_path / "M", _history(NOW)[:3])
    gone = maildir / "cur" / "vanished:2,S"
    gone.symlink_to(tmp_path / "nowhere")
    proc = _run("import", "maildir", str(maildir), data_dir=tmp_path / "data")
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
    conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    reasons = dict(conn.execute("SELECT external_id, thread_reason FROM message"))
    conn.close()
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
    conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    [(key,)] = conn.execute("SELECT idempotency_key FROM message WHERE id = ?", (reply_id,))
    copy = _mail(sender=("Acme Support", SUPPORT), to=("John", "john@example.com"),
                 subject="Re: x", at=NOW - timedelta(hours=1),
                 msgid=f"<{key.partition('@')[0]}@acme.example>", body=b"On its way")  # fmt: skip
    result = _import(store_url, mailimport.eml_source([_write(tmp_path / "sent.eml", copy)]),
                     tmp_path)  # fmt: skip
    assert (result.imported, result.already) == (0, 1)
    [(delivery, external_id)] = conn.execute(
        "SELECT delivery, external_id FROM message WHERE id = ?", (reply_id,)
    )
    conn.close()
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
    conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    reason = conn.execute(
        "SELECT thread_reason FROM message WHERE external_id='<away@example.com>'"
    )
    status = conn.execute("SELECT status FROM conversation WHERE id=?", (stored.conversation_id,))
    assert reason.fetchone()[0].endswith("(automatic: not reopened)")
    assert status.fetchone()[0] == "resolved"
    conn.close()
