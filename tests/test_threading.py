"""Which conversation a message joins, and why; agents' corrections, and their undo;
what the store keeps of an email beside its text (raw bytes, attachments, references)."""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from omnitui import inbox
from omnitui.blobs import BlobStore
from omnitui.connectors.base import Batch, InboundAttachment, Quarantined
from tests.conftest import BASE_TIME, MakeMessage


def _one(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _reply_and_send(engine: Engine, customer_id: int, domain: str = "acme.example") -> str:
    """Queue a reply and record it sent the way the email channel does; its Message-ID."""
    message_id = inbox.queue_reply(engine, customer_id, "Baxırıq", agent="aysel")
    key = str(_one(engine, "SELECT idempotency_key FROM message WHERE id=:id", id=message_id))
    msgid = f"<{key.partition('@')[0]}@{domain}>"
    inbox.mark_sent(engine, message_id, msgid)
    return msgid


def test_a_customer_answer_to_our_reply_reopens_that_conversation(
    engine: Engine, make_message: MakeMessage
) -> None:
    [first] = inbox.ingest(engine, Batch([make_message("Sifarişim harada?", subject="Sifariş")]))
    ours = _reply_and_send(engine, first.customer_id)
    inbox.set_status(engine, first.customer_id, "resolved", agent="aysel")
    answer = make_message("Təşəkkürlər, hələ gəlməyib", subject="Re: Sifariş", thread_ref=ours)
    [joined] = inbox.ingest(engine, Batch([answer]))
    assert joined.conversation_id == first.conversation_id
    assert "answers message" in joined.reason and "reopened" in joined.reason
    status = _one(engine, "SELECT status FROM conversation WHERE id=:id", id=first.conversation_id)
    assert status == "open"


def test_references_find_the_thread_when_in_reply_to_names_a_message_we_never_had(
    engine: Engine, make_message: MakeMessage
) -> None:
    [first] = inbox.ingest(engine, Batch([make_message("one", external_id="<a@x>")]))
    inbox.set_status(engine, first.customer_id, "resolved", agent="aysel")
    later = replace(make_message("three", thread_ref="<unknown@x>"), references=("<a@x>", "<b@x>"))
    [joined] = inbox.ingest(engine, Batch([later]))
    assert joined.conversation_id == first.conversation_id
    assert joined.reason.startswith("references message")


def test_a_reply_carries_the_whole_thread_in_its_references(
    engine: Engine, make_message: MakeMessage
) -> None:
    msg = replace(
        make_message("two", external_id="<b@x>", thread_ref="<a@x>"), references=("<a@x>",)
    )
    [got] = inbox.ingest(engine, Batch([msg]))
    inbox.queue_reply(engine, got.customer_id, "answer", agent="aysel")
    inbox.acquire_lease(engine, "me", 60)
    [out] = inbox.claim_outbox(engine, "me", 1)
    assert out.thread_ref == "<b@x>"
    assert out.references == ("<a@x>", "<b@x>")


def test_same_subject_within_the_window_reopens_the_resolved_conversation(
    engine: Engine, make_message: MakeMessage
) -> None:
    [first] = inbox.ingest(engine, Batch([make_message("Sipariş nerede", subject="Sipariş #42")]))
    inbox.set_status(engine, first.customer_id, "resolved", agent="aysel")
    again = make_message("hâlâ yok", subject="YNT: RE: sipariş   #42")
    [joined] = inbox.ingest(engine, Batch([again]))
    assert joined.conversation_id == first.conversation_id
    assert joined.reason.startswith("subject matches")
    inbox.set_status(engine, first.customer_id, "resolved", agent="aysel")
    months_later = make_message(
        "yine", subject="Sipariş #42", minutes=int(inbox.SUBJECT_WINDOW / timedelta(minutes=1)) + 60
    )
    [fresh] = inbox.ingest(engine, Batch([months_later]))
    assert fresh.conversation_id != first.conversation_id
    assert "opened" in fresh.reason


def test_a_copy_of_our_own_reply_marks_a_doubtful_delivery_sent_without_a_duplicate(
    engine: Engine, make_message: MakeMessage
) -> None:
    [first] = inbox.ingest(engine, Batch([make_message("help")]))
    message_id = inbox.queue_reply(engine, first.customer_id, "on it", agent="aysel")
    inbox.mark_unconfirmed(engine, message_id, "runner died mid-send")
    key = str(_one(engine, "SELECT idempotency_key FROM message WHERE id=:id", id=message_id))
    copy = replace(
        make_message("on it", external_id=f"<{key.partition('@')[0]}@acme.example>"),
        direction="out",
    )
    [seen] = inbox.ingest(engine, Batch([copy]))
    assert seen.message_id is None and seen.reason == "duplicate"
    assert _one(engine, "SELECT delivery FROM message WHERE id=:id", id=message_id) == "sent"
    assert _one(engine, "SELECT count(*) FROM message WHERE direction='out'") == 1


def test_mail_the_team_sent_from_another_client_is_stored_as_outgoing(
    engine: Engine, make_message: MakeMessage, store_url: str
) -> None:
    sent = replace(
        make_message("We shipped it", address="new@example.com", display_name="New Person"),
        direction="out",
        author="Aysel (Support)",
    )
    [got] = inbox.ingest(engine, Batch([sent]))
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT direction, delivery, author FROM message WHERE id=:id"),
            {"id": got.message_id},
        ).one()
        unread = conn.execute(text("SELECT unread_count FROM customer")).scalar_one()
    assert tuple(row) == ("out", "sent", "Aysel (Support)")
    assert unread == 0


def test_attachments_go_to_the_blob_store_and_the_raw_message_is_kept(
    engine: Engine, make_message: MakeMessage, tmp_path: Path
) -> None:
    blobs = BlobStore(tmp_path / "attachments")
    pdf = b"%PDF-1.4 invoice" * 100
    raw = b"From: a@b\r\n\r\nbody\r\n"
    msg = replace(
        make_message("see attached"),
        attachments=(
            InboundAttachment("faktura.pdf", "application/pdf", pdf, len(pdf)),
            InboundAttachment("video.mp4", "video/mp4", b"", 90_000_000, omitted="too large"),
        ),
        raw_zlib=zlib.compress(raw),
    )
    [got] = inbox.ingest(engine, Batch([msg]), blobs)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT filename, size, sha256, omitted FROM attachment ORDER BY id")
        ).all()
        kept = conn.execute(
            text("SELECT data FROM messageraw WHERE message_id=:id"), {"id": got.message_id}
        ).scalar_one()
    assert blobs.get(rows[0].sha256) == pdf and rows[0].filename == "faktura.pdf"
    assert rows[1].omitted == "too large" and rows[1].size == 90_000_000 and rows[1].sha256 == ""
    assert zlib.decompress(kept) == raw


def test_the_same_poison_is_quarantined_once_and_the_cursor_moves_past_it(
    engine: Engine,
) -> None:
    poison = Quarantined("mail", "no sender address", b"garbage", source="INBOX uid 7")
    inbox.ingest(engine, Batch([], {"INBOX": "7"}, quarantined=[poison]))
    inbox.ingest(engine, Batch([], {"INBOX": "7"}, quarantined=[poison]))
    assert _one(engine, "SELECT count(*) FROM quarantine") == 1
    assert inbox.load_cursor(engine, "mail") == {"INBOX": "7"}


def test_split_move_and_undo_are_recorded_and_keep_times_right(
    engine: Engine, make_message: MakeMessage
) -> None:
    a = make_message("order question", minutes=10)
    b = make_message("unrelated: change my address", minutes=20)
    [ga, gb] = inbox.ingest(engine, Batch([a, b]))
    assert ga.conversation_id == gb.conversation_id
    assert gb.message_id is not None
    split = inbox.move_message(engine, gb.message_id, None, agent="aysel")
    new_conv = _one(engine, "SELECT conversation_id FROM message WHERE id=:id", id=gb.message_id)
    assert new_conv != ga.conversation_id
    opened = _one(engine, "SELECT opened_at FROM conversation WHERE id=:id", id=new_conv)
    assert str(opened).startswith(str((BASE_TIME + timedelta(minutes=20)).date()))
    reason = _one(engine, "SELECT thread_reason FROM message WHERE id=:id", id=gb.message_id)
    assert reason == f"split by aysel from conversation {ga.conversation_id}"
    undo = inbox.undo_move(engine, split, agent="aysel")
    assert undo != split
    back = _one(engine, "SELECT conversation_id FROM message WHERE id=:id", id=gb.message_id)
    assert back == ga.conversation_id
    # The split-off conversation, empty again, is closed: the next message joins the old one.
    assert _one(engine, "SELECT status FROM conversation WHERE id=:id", id=new_conv) == "resolved"
    [later] = inbox.ingest(engine, Batch([make_message("one more thing", minutes=30)]))
    assert later.conversation_id == ga.conversation_id
    with engine.connect() as conn:
        kinds = conn.execute(
            text("SELECT kind FROM event WHERE message_id IS NOT NULL ORDER BY id")
        ).scalars()
        assert list(kinds) == ["split", "move"]
    with pytest.raises(inbox.ServiceError, match="moved again"):
        inbox.undo_move(engine, split, agent="aysel")
    with pytest.raises(inbox.ServiceError, match="already in conversation"):
        inbox.move_message(engine, gb.message_id, ga.conversation_id, agent="aysel")


def test_an_out_of_office_answer_joins_its_thread_but_never_reopens_it(
    engine: Engine, make_message: MakeMessage
) -> None:
    [first] = inbox.ingest(engine, Batch([make_message("Sifariş?", subject="Sifariş")]))
    ours = _reply_and_send(engine, first.customer_id)
    inbox.set_status(engine, first.customer_id, "resolved", agent="aysel")
    away = replace(
        make_message("I am out of the office until Monday.", thread_ref=ours), automatic=True
    )
    [joined] = inbox.ingest(engine, Batch([away]))
    assert joined.conversation_id == first.conversation_id
    assert joined.reason.endswith("(automatic: not reopened)")
    status = _one(engine, "SELECT status FROM conversation WHERE id=:id", id=first.conversation_id)
    assert status == "resolved"
    # The person's own answer still reopens it.
    [real] = inbox.ingest(engine, Batch([make_message("Hələ gəlməyib", thread_ref=ours)]))
    assert "reopened" in real.reason
