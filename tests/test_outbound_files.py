"""Files an agent sends with a reply: checked and kept when the reply is queued (with the
reply, before any network I/O), handed to the connector by the outbox, composed into an
email, and queued from the command line. The deliveries themselves are tested end to end in
tests/test_mail_channel.py (aiosmtpd) and tests/test_telegram.py (the Bot API stand-in)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from omnitui import inbox
from omnitui.blobs import BlobStore
from omnitui.config import EmailAccount
from omnitui.connectors.base import Batch, DeliveryError, OutboundFile, OutboundMessage
from omnitui.connectors.mail import parse, smtp
from omnitui.filenames import content_type_of, safe_filename
from tests.conftest import MakeMessage
from tests.test_cli import run

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
TURKISH = "Sipariş özeti — Şubat.pdf"
PERSIAN = "فاکتور سفارش ۴۴۷۱.png"


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "attachments")


@pytest.fixture
def customer(engine: Engine, make_message: MakeMessage) -> int:
    [m] = inbox.ingest(engine, Batch([make_message("Salam", display_name="Leyla")]))
    return m.customer_id


def files(tmp_path: Path, **named: bytes) -> list[Path]:
    folder = tmp_path / "outgoing"
    folder.mkdir(exist_ok=True)
    paths = []
    for name, data in named.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def rows(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


# -- queueing --------------------------------------------------------------------------


def test_a_reply_carries_its_files_recorded_with_it_and_kept_by_content(
    engine: Engine, customer: int, blobs: BlobStore, tmp_path: Path
) -> None:
    pdf, png = files(tmp_path, **{TURKISH: PDF, PERSIAN: PNG})
    reply = inbox.queue_reply(
        engine, customer, "Fakturanız əlavədədir.", agent="aysel", attachments=[pdf, png],
        blobs=blobs,
    )  # fmt: skip
    found = rows(
        engine,
        "SELECT filename, content_type, size, sha256, inline, omitted FROM attachment "
        "WHERE message_id = :id ORDER BY id",
        id=reply,
    )
    assert found == [
        (TURKISH, "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest(), 0, None),
        (PERSIAN, "image/png", len(PNG), hashlib.sha256(PNG).hexdigest(), 0, None),
    ]
    assert blobs.get(hashlib.sha256(PDF).hexdigest()) == PDF
    assert blobs.get(hashlib.sha256(PNG).hexdigest()) == PNG
    # The same file again is kept once (content-addressed).
    inbox.queue_reply(engine, customer, "Yenə", agent="aysel", attachments=[pdf], blobs=blobs)
    kept = sorted(p.name for p in blobs.root.rglob("*") if p.is_file())
    assert kept == sorted(hashlib.sha256(d).hexdigest() for d in (PDF, PNG))
    assert rows(engine, "SELECT body, delivery FROM message WHERE id = :id", id=reply) == [
        ("Fakturanız əlavədədir.", "queued")
    ]


def test_a_reply_may_be_files_only_but_not_nothing(
    engine: Engine, customer: int, blobs: BlobStore, tmp_path: Path
) -> None:
    [pdf] = files(tmp_path, **{"faktura.pdf": PDF})
    reply = inbox.queue_reply(engine, customer, "", agent="aysel", attachments=[pdf], blobs=blobs)
    assert rows(engine, "SELECT body FROM message WHERE id = :id", id=reply) == [("",)]
    assert rows(engine, "SELECT preview FROM customer WHERE id = :id", id=customer) == [
        ("[faktura.pdf]",)
    ]
    with pytest.raises(inbox.ServiceError, match="the reply is empty"):
        inbox.queue_reply(engine, customer, "  \n", agent="aysel", blobs=blobs)
    with pytest.raises(inbox.ServiceError, match="needs an attachment store"):
        inbox.queue_reply(engine, customer, "x", agent="aysel", attachments=[pdf])


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda folder: folder / "report.pdf", "report.pdf: no such file"),
        (lambda folder: folder, "outgoing: is a directory, not a file"),
        (lambda folder: _written(folder / "video.mp4", 3 * 1024 * 1024 + 7),
         "video.mp4: 3 MB is over the 2 MB limit"),
        (lambda folder: _written(folder / "empty.txt", 0), "empty.txt: the file is empty"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_go_is_named_and_nothing_is_stored(
    engine: Engine,
    customer: int,
    blobs: BlobStore,
    tmp_path: Path,
    make: object,
    problem: str,
) -> None:
    [good] = files(tmp_path, **{"ok.pdf": PDF})
    bad = make(good.parent)  # type: ignore[operator]
    before = rows(engine, "SELECT count(*) FROM message")
    with pytest.raises(inbox.ServiceError) as caught:
        inbox.queue_reply(
            engine, customer, "Baxın", agent="aysel", attachments=[good, bad], blobs=blobs,
            max_file_bytes=2 * 1024 * 1024,
        )  # fmt: skip
    assert str(caught.value).endswith(problem)
    assert str(caught.value).startswith(str(bad))
    assert rows(engine, "SELECT count(*) FROM message") == before
    assert rows(engine, "SELECT count(*) FROM attachment") == [(0,)]
    assert not blobs.root.exists()  # every file is looked at before any is kept


def _written(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
        if size:
            f.seek(0)
            f.write(b"x")
    return path


def test_the_default_limit_is_50_mb(
    engine: Engine, customer: int, blobs: BlobStore, tmp_path: Path
) -> None:
    big = _written(tmp_path / "video.mp4", 80 * 1024 * 1024)  # sparse: nothing is read
    with pytest.raises(inbox.ServiceError, match=r"video\.mp4: 80 MB is over the 50 MB limit$"):
        inbox.queue_reply(engine, customer, "", agent="aysel", attachments=[big], blobs=blobs)


def test_file_names_are_sanitized_and_types_guessed(
    engine: Engine, customer: int, blobs: BlobStore, tmp_path: Path
) -> None:
    [hostile, bare, packed] = files(
        tmp_path, **{"a\x1b[2Jb\u202e<x>.pdf": PDF, "README": b"plain", "logs.tar.gz": b"\x1f\x8b"}
    )
    reply = inbox.queue_reply(
        engine, customer, "x", agent="aysel", attachments=[hostile, bare, packed], blobs=blobs
    )
    found = rows(
        engine,
        "SELECT filename, content_type FROM attachment WHERE message_id = :id ORDER BY id",
        id=reply,
    )
    assert found == [
        ("a[2Jb_x_.pdf", "application/pdf"),
        ("README", "application/octet-stream"),
        ("logs.tar.gz", "application/gzip"),
    ]


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("faktura.pdf", "faktura.pdf"),
        ("../../etc/passwd", "passwd"),
        ("CON.txt", "_CON.txt"),
        (" .hidden ", "hidden"),
        ("a\x00b\x1b[2Jc\n.txt", "ab[2Jc.txt"),
        ('what?<"|>*.doc', "what______.doc"),
        ("e\u0301.txt", "\u00e9.txt"),
        ("фото 2.jpg", "фото 2.jpg"),
        ("", "attachment-3.pdf"),
    ],
)
def test_file_names_are_safe_on_any_disk_and_keep_their_letters(name: str, kept: str) -> None:
    assert safe_filename(name, "application/pdf", 3) == kept


def test_a_long_file_name_keeps_its_extension() -> None:
    long = safe_filename("ğ" * 300 + ".pdf", "application/pdf", 1)
    assert len(long) == 120 and long.endswith(".pdf")


def test_content_types() -> None:
    assert content_type_of("a.JPG") == "image/jpeg"
    assert content_type_of("a.webp") == "image/webp"
    assert content_type_of("a") == "application/octet-stream"
    assert content_type_of("a.pdf.gz") == "application/gzip"


# -- the outbox --------------------------------------------------------------------------


def test_the_outbox_hands_the_files_to_the_connector_in_order(
    engine: Engine, customer: int, blobs: BlobStore, tmp_path: Path
) -> None:
    pdf, png = files(tmp_path, **{TURKISH: PDF, PERSIAN: PNG})
    with_files = inbox.queue_reply(
        engine, customer, "", agent="aysel", attachments=[png, pdf], blobs=blobs
    )
    plain = inbox.queue_reply(engine, customer, "Salam", agent="aysel")
    generation = inbox.acquire_lease(engine, "test", 30)
    assert generation is not None
    claimed = {m.message_id: m for m in inbox.claim_outbox(engine, "test", generation)}
    assert claimed[with_files].attachments == (
        OutboundFile(PERSIAN, "image/png", hashlib.sha256(PNG).hexdigest(), len(PNG)),
        OutboundFile(TURKISH, "application/pdf", hashlib.sha256(PDF).hexdigest(), len(PDF)),
    )
    assert claimed[plain].attachments == ()


def test_the_email_copy_of_a_web_chat_reply_carries_its_files(
    engine: Engine, make_message: MakeMessage, blobs: BlobStore, tmp_path: Path
) -> None:
    visitor = "AbCdEfGhIjKlMnOpQrStUv"
    asked = make_message("Faktura?", channel="webchat", account="site", address=visitor)
    [m] = inbox.ingest(engine, Batch([asked]))
    inbox.link_visitor_email(engine, "site", visitor, "leyla@example.az", "Leyla")
    pdf, png = files(tmp_path, **{TURKISH: PDF, PERSIAN: PNG})
    reply = inbox.queue_reply(
        engine, m.customer_id, "", agent="aysel", attachments=[pdf, png], blobs=blobs
    )
    copy = inbox.queue_email_copy(engine, reply, "support")
    assert copy is not None
    generation = inbox.acquire_lease(engine, "test", 30)
    assert generation is not None
    claimed = {m.message_id: m for m in inbox.claim_outbox(engine, "test", generation)}
    assert claimed[copy].channel == "email" and claimed[copy].address == "leyla@example.az"
    assert claimed[copy].attachments == claimed[reply].attachments
    assert [f.filename for f in claimed[copy].attachments] == [TURKISH, PERSIAN]


# -- email -----------------------------------------------------------------------------


def _outbound(*attachments: OutboundFile, body: str = "Fakturanız əlavədədir.") -> OutboundMessage:
    return OutboundMessage(
        message_id=1,
        idempotency_key="abc123@omnitui.invalid",
        account="support",
        channel="email",
        address="leyla@example.az",
        body=body,
        subject="Re: Sifariş #42",
        display_name="Leyla Məmmədova",
        attachments=attachments,
    )


def _kept(blobs: BlobStore, name: str, data: bytes, content_type: str) -> OutboundFile:
    return OutboundFile(name, content_type, blobs.put(data), len(data))


ACCOUNT = EmailAccount.model_validate({"address": "support@acme.example"})
NOW = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def test_compose_puts_the_text_first_then_each_file(blobs: BlobStore) -> None:
    pdf = _kept(blobs, TURKISH, PDF, "application/pdf")
    png = _kept(blobs, PERSIAN, PNG, "image/png")
    data = smtp.compose(_outbound(pdf, png), ACCOUNT, NOW, blobs)
    mail = email.message_from_bytes(data, policy=email.policy.default)
    assert mail.get_content_type() == "multipart/mixed"
    assert mail["MIME-Version"] == "1.0"
    body, *attached = mail.iter_parts()
    assert body.get_content_type() == "text/plain"
    assert body.get_content().strip() == "Fakturanız əlavədədir."
    assert [(a.get_filename(), a.get_content_type(), a.get_content()) for a in attached] == [
        (TURKISH, "application/pdf", PDF),
        (PERSIAN, "image/png", PNG),
    ]
    assert all(a["MIME-Version"] is None and a.is_attachment() for a in attached)
    assert all(len(line) <= 78 for line in data.splitlines())
    assert len(data) < 1.4 * (len(PDF) + len(PNG)) + 2000  # base64, nothing more
    # What omnitui itself would store of it, were it to arrive.
    parsed = parse.parse(data)
    assert [(a.filename, a.data) for a in parsed.attachments] == [(TURKISH, PDF), (PERSIAN, PNG)]
    assert parsed.text.strip() == "Fakturanız əlavədədir."


def test_compose_a_files_only_reply_and_one_without_files(blobs: BlobStore) -> None:
    pdf = _kept(blobs, "faktura.pdf", PDF, "application/pdf")
    mail = email.message_from_bytes(
        smtp.compose(_outbound(pdf, body=""), ACCOUNT, NOW, blobs), policy=email.policy.default
    )
    body, attached = mail.iter_parts()
    assert body.get_content_type() == "text/plain" and body.get_content().strip() == ""
    assert attached.get_filename() == "faktura.pdf"
    plain = email.message_from_bytes(
        smtp.compose(_outbound(), ACCOUNT, NOW), policy=email.policy.default
    )
    assert plain.get_content_type() == "text/plain"


def test_compose_a_file_gone_from_the_store_fails_for_good(blobs: BlobStore) -> None:
    pdf = _kept(blobs, "faktura.pdf", PDF, "application/pdf")
    blobs.path(pdf.sha256).unlink()
    with pytest.raises(DeliveryError) as caught:
        smtp.compose(_outbound(pdf), ACCOUNT, NOW, blobs)
    assert caught.value.permanent
    assert caught.value.reason == "faktura.pdf: missing from the attachment store"
    with pytest.raises(DeliveryError, match="no attachment store"):
        smtp.compose(_outbound(pdf), ACCOUNT, NOW, None)


def test_compose_a_damaged_file_is_not_sent(blobs: BlobStore) -> None:
    pdf = _kept(blobs, "faktura.pdf", PDF, "application/pdf")
    path = blobs.path(pdf.sha256)
    path.write_bytes(PDF[:-1] + b"?")
    with pytest.raises(DeliveryError, match="damaged") as caught:
        smtp.compose(_outbound(pdf), ACCOUNT, NOW, blobs)
    assert caught.value.permanent


# -- the command line ----------------------------------------------------------------------


def test_send_attach_from_the_command_line(
    tmp_path: Path, store_url: str, make_message: MakeMessage
) -> None:
    data_dir = tmp_path / "data"
    assert run("db", "upgrade", data_dir=data_dir, db=store_url).returncode == 0
    from omnitui import db

    engine = db.make_engine(store_url)
    [m] = inbox.ingest(engine, Batch([make_message("Faktura lazımdır")]))
    pdf, png = files(tmp_path, **{TURKISH: PDF, PERSIAN: PNG})
    sent = run("send", "--customer", str(m.customer_id), "--text", "Buyurun",
               "--attach", str(pdf), "--attach", str(png),
               data_dir=data_dir, db=store_url)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    reply = int(sent.stdout)
    found = rows(
        engine,
        "SELECT filename, sha256 FROM attachment WHERE message_id = :id ORDER BY id",
        id=reply,
    )
    assert found == [
        (TURKISH, hashlib.sha256(PDF).hexdigest()),
        (PERSIAN, hashlib.sha256(PNG).hexdigest()),
    ]
    assert BlobStore(data_dir / "attachments").get(hashlib.sha256(PNG).hexdigest()) == PNG
    # Files only: --text may be left out.
    only = run("send", "--customer", str(m.customer_id), "--attach", str(pdf),
               data_dir=data_dir, db=store_url)  # fmt: skip
    assert only.returncode == 0, only.stderr
    assert rows(engine, "SELECT body FROM message WHERE id = :id", id=int(only.stdout)) == [("",)]
    # A file that is not there: exit 1, named, and nothing queued.
    missing = tmp_path / "report.pdf"
    proc = run("send", "--customer", str(m.customer_id), "--text", "x",
               "--attach", str(missing), data_dir=data_dir, db=store_url)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"omnitui: {missing}: no such file"
    assert rows(engine, "SELECT count(*) FROM message WHERE direction = 'out'") == [(2,)]
    nothing = run("send", "--customer", str(m.customer_id), data_dir=data_dir, db=store_url)
    assert nothing.returncode == 1 and "the reply is empty" in nothing.stderr
    engine.dispose()
