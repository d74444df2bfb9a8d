"""Customers as the services keep them: name and notes, linking and unlinking addresses,
and merges that an unmerge takes back exactly (the store compared whole before and after)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, text

from omnitui import inbox
from omnitui.blobs import BlobStore
from omnitui.bulk import export_jsonl
from omnitui.connectors.base import Batch, InboundAttachment, InboundMessage
from omnitui.reads import Reader

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LATER = datetime(2030, 1, 6, 9, 0, tzinfo=UTC)


def message(
    n: int,
    body: str,
    *,
    address: str,
    channel: str = "email",
    account: str = "mail",
    name: str = "",
    subject: str = "",
    files: tuple[InboundAttachment, ...] = (),
    at: datetime | None = None,
) -> InboundMessage:
    return InboundMessage(
        account=account,
        channel=channel,
        external_id=f"m-{n}",
        address=address,
        body=body,
        sent_at=at or T0 + timedelta(minutes=n),
        display_name=name,
        subject=subject,
        attachments=files,
    )


def attachment(name: str, data: bytes, content_type: str) -> InboundAttachment:
    return InboundAttachment(name, content_type, data, len(data))


def rows(engine: Engine, sql: str, **params: object) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def scalar(engine: Engine, sql: str, **params: object) -> Any:
    [(value,)] = rows(engine, sql, **params)
    return value


@dataclass(frozen=True)
class People:
    """One woman known twice: Leyla by email and Telegram (Azerbaijani), and لیلا by web
    chat and email (Persian); John, whom nothing here touches."""

    engine: Engine
    blobs: BlobStore
    leyla: int
    leila: int
    john: int
    telegram: int
    """Leyla's Telegram identity."""
    visitor: int
    """لیلا's web chat identity."""


@pytest.fixture
def people(engine: Engine, tmp_path: Path) -> People:
    blobs = BlobStore(tmp_path / "attachments")

    def ingest(*messages: InboundMessage) -> list[inbox.Ingested]:
        return inbox.ingest(engine, Batch(list(messages)), blobs)

    [first] = ingest(
        message(
            1,
            "Salam, sifarişim #77 hələ gəlmədi.",
            address="leyla@example.az",
            name="Leyla Məmmədova",
            subject="Sifariş #77",
        )
    )
    leyla = first.customer_id
    telegram = inbox.add_identity(
        engine, leyla, "telegram", "500600", account="bot", display_name="Leyla"
    )
    ingest(
        message(
            2,
            "Qəbzin şəklini göndərirəm.",
            address="500600",
            channel="telegram",
            account="bot",
            name="Leyla",
            files=(attachment("qəbz.jpg", b"\xff\xd8\xff jpeg bytes", "image/jpeg"),),
        )
    )
    reply_file = tmp_path / "izah.txt"
    reply_file.write_text("Çatdırılma qaydaları", encoding="utf-8")
    inbox.queue_reply(
        engine, leyla, "Baxırıq, Leyla xanım.", agent="aysel", attachments=[reply_file], blobs=blobs
    )
    inbox.set_conversation_status(engine, first.conversation_id or 0, "resolved", agent="aysel")
    [second] = ingest(
        message(3, "Qaytarma necə olur?", address="leyla@example.az", subject="Qaytarma")
    )
    assert second.conversation_id is not None and second.conversation_id != first.conversation_id
    inbox.assign(engine, second.conversation_id, "aysel", agent="aysel")
    inbox.change_tags(engine, second.conversation_id, add=["vip", "qaytarma"], agent="aysel")
    inbox.add_note(engine, leyla, "VIP müştəridir, tez cavab verin.", agent="rauf")
    inbox.set_customer_notes(engine, leyla, "Bakı, Nərimanov rayonu", agent="aysel")
    inbox.save_draft(engine, "aysel", leyla, "Hörmətli Leyla xanım,", started_at=T0)
    inbox.save_draft(engine, "rauf", leyla, "Yoxlayıram", mode="note", started_at=T0)
    inbox.presence_heartbeat(engine, "rauf", leyla)

    [chat] = ingest(
        message(
            10,
            "سلام، سفارش من کجاست؟",
            address="visitor-9f3a",
            channel="webchat",
            account="chat",
            name="لیلا محمدی",
        )
    )
    leila = chat.customer_id
    inbox.add_identity(
        engine, leila, "email", "leila@example.ir", account="mail", display_name="Leila Mohammadi"
    )
    ingest(
        message(
            11,
            "فاکتور را ضمیمه کردم",
            address="leila@example.ir",
            subject="فاکتور",
            files=(attachment("فاکتور ۴۴۷۱.pdf", b"%PDF-1.4 invoice", "application/pdf"),),
        )
    )
    assert chat.conversation_id is not None
    inbox.snooze(engine, chat.conversation_id, LATER, agent="aysel")
    inbox.save_draft(engine, "aysel", leila, "خانم محمدی عزیز،", started_at=T0)
    inbox.set_customer_notes(engine, leila, "مشتری قدیمی؛ فارسی صحبت می‌کند", agent="aysel")
    [other] = ingest(message(20, "Refund, please.", address="john@example.com", name="John Smith"))
    visitor = scalar(engine, "SELECT id FROM identity WHERE address = 'visitor-9f3a'")
    return People(engine, blobs, leyla, leila, other.customer_id, telegram, visitor)


# What the equality test compares: every row of every table, all columns, ordered by
# primary key (FTS tables by rowid, their shadow tables left out), except
#   - customer.version, which only ever goes up (the TUIs reload on a change),
#   - mergerecord, the record of the merge itself,
#   - event rows written after the snapshot (the "merge" and "unmerge" events).
# The JSON Lines export (omnitui.bulk.export_jsonl) is compared too, byte for byte.
_FTS_SHADOW = re.compile(r"_fts_(data|idx|content|docsize|config)$")


def dump(engine: Engine, events_up_to: int | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """The store's rows, table by table (see above for what is left out), on either store."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        for table in sorted(inspector.get_table_names()):
            if table in ("mergerecord", "alembic_version") or _FTS_SHADOW.search(table):
                continue
            if table.endswith("_fts"):
                sql = f"SELECT rowid, body FROM {table} ORDER BY rowid"
            else:
                columns = [str(c["name"]) for c in inspector.get_columns(table)]
                keys = inspector.get_pk_constraint(table)["constrained_columns"]
                chosen = [c for c in columns if not (table == "customer" and c == "version")]
                where = f" WHERE id <= {events_up_to}" if table == "event" and events_up_to else ""
                sql = f"SELECT {', '.join(chosen)} FROM {table}{where} ORDER BY {', '.join(keys)}"
            found[table] = [tuple(r) for r in conn.execute(text(sql))]
    return found


def export(url: str) -> str:
    out = io.StringIO()
    export_jsonl(url, out)
    return out.getvalue()


def versions(engine: Engine) -> dict[int, int]:
    return dict(rows(engine, "SELECT id, version FROM customer"))  # type: ignore[arg-type]


# -- name, notes, addresses ------------------------------------------------------------


def test_rename_and_notes_are_audited_and_guarded(people: People, store_url: str) -> None:
    engine = people.engine
    before = versions(engine)[people.leyla]
    assert inbox.rename_customer(
        engine, people.leyla, "  Leyla   Məmmədova-Əliyeva ", agent="aysel", was="Leyla Məmmədova"
    )
    assert scalar(engine, "SELECT name FROM customer WHERE id = :id", id=people.leyla) == (
        "Leyla Məmmədova-Əliyeva"
    )
    assert versions(engine)[people.leyla] == before + 1
    assert rows(
        engine, "SELECT agent, before, after FROM event WHERE kind = 'rename' ORDER BY id"
    ) == [("aysel", "Leyla Məmmədova", "Leyla Məmmədova-Əliyeva")]
    [hit] = Reader(store_url).search("Əliyeva")
    assert hit.customer_id == people.leyla
    # The same name again writes nothing; a name the agent did not see is not overwritten.
    assert not inbox.rename_customer(engine, people.leyla, "Leyla Məmmədova-Əliyeva", agent="x")
    with pytest.raises(inbox.ServiceError, match="changed since you opened them"):
        inbox.rename_customer(engine, people.leyla, "L", agent="rauf", was="Leyla Məmmədova")
    for bad in ("   ", "Leyla\x1b]52;c;aGk=\x07", "x" * 201):
        with pytest.raises(inbox.ServiceError):
            inbox.rename_customer(engine, people.leyla, bad, agent="aysel")

    assert inbox.set_customer_notes(
        engine, people.leila, "فقط ایمیل\nنه تلفن", agent="rauf", was=None
    )
    [(agent, old, new)] = rows(
        engine,
        "SELECT agent, before, after FROM event WHERE kind = 'notes' AND customer_id = :id "
        "ORDER BY id DESC LIMIT 1",
        id=people.leila,
    )
    assert (agent, old, new) == ("rauf", "مشتری قدیمی؛ فارسی صحبت می‌کند", "فقط ایمیل\nنه تلفن")
    info = Reader(store_url).customer_info(people.leila)
    assert info is not None and info.notes == "فقط ایمیل\nنه تلفن"
    with pytest.raises(inbox.ServiceError, match="notes changed since"):
        inbox.set_customer_notes(engine, people.leila, "x", agent="aysel", was="old text")


def test_link_and_unlink_an_address(people: People, store_url: str) -> None:
    engine, reader = people.engine, Reader(store_url)
    phone = inbox.add_identity(
        engine, people.john, "phone", "+994501234567", account="", agent="rauf"
    )
    assert rows(engine, "SELECT kind, customer_id, after FROM event WHERE kind = 'link'") == [
        ("link", people.john, "phone +994501234567")
    ]
    with pytest.raises(inbox.ServiceError, match="belongs to customer"):
        inbox.add_identity(engine, people.john, "telegram", "500600", account="bot", agent="rauf")

    # Leyla's Telegram address was somebody else's: it leaves with the conversation only
    # it wrote in (none here: it wrote in the email's), so her history stays whole.
    info = reader.customer_info(people.leyla)
    assert info is not None
    alone = {i.channel: i.alone_in for i in info.identities}
    assert alone == {"email": 1, "telegram": 0}
    messages = scalar(
        engine, "SELECT count(*) FROM message WHERE customer_id = :id", id=people.leyla
    )
    new = inbox.unlink_identity(engine, people.telegram, agent="aysel", with_conversations=True)
    assert (
        scalar(engine, "SELECT customer_id FROM identity WHERE id = :id", id=people.telegram) == new
    )
    assert scalar(
        engine, "SELECT count(*) FROM message WHERE customer_id = :id", id=people.leyla
    ) == (messages)
    [row] = [r for r in reader.customers(0, 10) if r.id == new]
    assert row.name == "Leyla" and row.channels == "telegram"
    assert [r.channels for r in reader.customers(0, 10) if r.id == people.leyla] == ["email"]
    assert rows(engine, "SELECT customer_id, before, after FROM event WHERE kind = 'unlink'") == [
        (people.leyla, "telegram 500600", f"customer {new}"),
        (new, f"customer {people.leyla}", "telegram 500600"),
    ]
    # Replies no longer default to the address that left.
    detail = reader.customer(people.leyla)
    assert detail is not None and detail.last_inbound_identity_id != people.telegram
    with pytest.raises(inbox.ServiceError, match="only address"):
        inbox.unlink_identity(engine, people.telegram, agent="aysel")

    # The email address leaves with the conversation only it wrote in, messages and all.
    email = scalar(engine, "SELECT id FROM identity WHERE address = 'leyla@example.az'")
    alone_in = scalar(
        engine,
        "SELECT conversation_id FROM message WHERE body = 'Qaytarma necə olur?'",
    )
    inbox.add_identity(engine, people.leyla, "phone", "+994551112233", account="")
    moved = inbox.unlink_identity(engine, email, agent="aysel", with_conversations=True)
    assert (
        scalar(engine, "SELECT customer_id FROM conversation WHERE id = :id", id=alone_in) == moved
    )
    assert rows(
        engine, "SELECT DISTINCT customer_id FROM message WHERE conversation_id = :id", id=alone_in
    ) == [(moved,)]
    assert rows(
        engine,
        "SELECT DISTINCT customer_id FROM event WHERE conversation_id = :id AND kind = 'tag'",
        id=alone_in,
    ) == [(moved,)]
    [row] = [r for r in reader.customers(0, 10) if r.id == moved]
    assert row.open == 1 and row.preview == "Qaytarma"
    assert phone


# -- merge and unmerge -----------------------------------------------------------------


def test_merge_moves_everything_and_shows_one_customer(people: People, store_url: str) -> None:
    engine, reader = people.engine, Reader(store_url)
    preview = inbox.merge_preview(engine, people.leyla, people.leila)
    assert (preview.source_name, preview.target_name) == ("Leyla Məmmədova", "لیلا محمدی")
    assert [(i.channel, i.address) for i in preview.identities] == [
        ("email", "leyla@example.az"),
        ("telegram", "500600"),
    ]
    assert (preview.conversations, preview.open_conversations, preview.messages) == (2, 1, 5)
    assert preview.notes
    unread = {r.id: r.unread for r in reader.customers(0, 10)}

    record = inbox.merge_customers(engine, people.leyla, people.leila, agent="rauf")

    for table in ("identity", "conversation", "message", "draft"):
        sql = f"SELECT count(*) FROM {table} WHERE customer_id = :id"
        assert not scalar(engine, sql, id=people.leyla), table
    # Only the merge's own event stays with the customer merged away.
    assert rows(engine, "SELECT kind FROM event WHERE customer_id = :id", id=people.leyla) == [
        ("merge",)
    ]
    listed = {r.id: r for r in reader.customers(0, 10)}
    assert people.leyla not in listed and reader.customer_count() == 2
    merged = listed[people.leila]
    assert merged.unread == unread[people.leyla] + unread[people.leila]
    assert merged.channels == "email,telegram,webchat"
    assert merged.open == 2  # Leyla's open one and لیلا's snoozed one
    assert merged.name == "لیلا محمدی"
    # Found by either name or any address; one customer.
    for words in ("Məmmədova", "500600", "leila@example.ir"):
        found = {h.customer_id for h in reader.search(words) if h.message_id is None}
        assert found == {people.leila}, words
    info = reader.customer_info(people.leila)
    assert info is not None
    assert info.notes == "مشتری قدیمی؛ فارسی صحبت می‌کند\n\nBakı, Nərimanov rayonu"
    assert [
        (m.id, m.source_id, m.identities, m.conversations, m.messages) for m in info.merges
    ] == [(record, people.leyla, 2, 2, 5)]
    history = reader.timeline(people.leila)
    assert {i.channel for i in history if i.kind == "in"} == {"email", "telegram", "webchat"}
    [said] = [i for i in history if i.kind == "event" and i.subject == "merge"]
    assert "merge #" in said.body and "2 addresses, 2 conversations, 5 messages" in said.body
    # aysel had drafts for both: one now, hers to the target first; rauf's moved whole.
    assert rows(engine, "SELECT agent, customer_id, body FROM draft ORDER BY agent") == [
        ("aysel", people.leila, "خانم محمدی عزیز،\n\nHörmətli Leyla xanım,"),
        ("rauf", people.leila, "Yoxlayıram"),
    ]
    assert scalar(engine, "SELECT customer_id FROM presence WHERE agent = 'rauf'") == people.leila
    # Services refuse the customer merged away, and a merge into oneself.
    with pytest.raises(inbox.ServiceError, match="was merged into"):
        inbox.rename_customer(engine, people.leyla, "x", agent="rauf")
    with pytest.raises(inbox.ServiceError, match="was merged into"):
        inbox.merge_customers(engine, people.john, people.leyla, agent="rauf")
    with pytest.raises(inbox.ServiceError, match="themselves"):
        inbox.merge_preview(engine, people.john, people.john)


def test_unmerge_restores_the_exact_prior_state(people: People, store_url: str) -> None:
    engine = people.engine
    last_event = scalar(engine, "SELECT max(id) FROM event")
    store, exported, was = dump(engine), export(store_url), versions(engine)

    # (By aysel, an agent the store knows: a new one would be a new ``agent`` row.)
    record = inbox.merge_customers(engine, people.leyla, people.leila, agent="aysel")
    assert dump(engine, last_event) != store
    assert inbox.unmerge_customers(engine, record, agent="aysel") == people.leyla

    assert dump(engine, last_event) == store
    assert export(store_url) == exported
    now = versions(engine)
    assert all(now[c] > was[c] for c in (people.leyla, people.leila))
    assert now[people.john] == was[people.john]
    assert rows(engine, "SELECT undone_by FROM mergerecord") == [("aysel",)]
    events = rows(
        engine, "SELECT customer_id, kind FROM event WHERE id > :id ORDER BY id", id=last_event
    )
    assert events == [
        (people.leyla, "merge"),
        (people.leila, "merge"),
        (people.leyla, "unmerge"),
        (people.leila, "unmerge"),
    ]
    reader = Reader(store_url)
    assert {r.id for r in reader.customers(0, 10)} == {people.leyla, people.leila, people.john}
    with pytest.raises(inbox.ServiceError, match="undone already by aysel"):
        inbox.unmerge_customers(engine, record, agent="rauf")
    # Merged again and unmerged again: the same state once more.
    again = inbox.merge_customers(engine, people.leyla, people.leila, agent="aysel")
    inbox.unmerge_customers(engine, again, agent="aysel")
    assert dump(engine, last_event) == store
    # Rows made afterwards get new ids (PostgreSQL: no sequence was left behind a row put back).
    highest = {
        table: scalar(engine, f"SELECT max(id) FROM {table}")
        for table in ("customer", "identity", "conversation", "message", "event")
    }
    [new] = inbox.ingest(engine, Batch([message(40, "Salam", address="new@example.az")]))
    assert new.customer_id > highest["customer"]
    assert (new.conversation_id or 0) > highest["conversation"]
    assert (new.message_id or 0) > highest["message"]
    assert scalar(engine, "SELECT max(id) FROM identity") > highest["identity"]
    inbox.rename_customer(engine, people.john, "John S.", agent="aysel")
    assert scalar(engine, "SELECT max(id) FROM event") > highest["event"]


def test_what_arrives_between_merge_and_unmerge(people: People, store_url: str) -> None:
    engine = people.engine
    record = inbox.merge_customers(engine, people.leyla, people.leila, agent="rauf")
    # After the merge (and after the reply, stamped with the real time): Leyla writes on
    # Telegram (her address moved), لیلا by email.
    soon = datetime.now(UTC) + timedelta(minutes=1)
    inbox.ingest(
        engine,
        Batch(
            [
                message(
                    30, "Bəs nə vaxt?", address="500600", channel="telegram", account="bot", at=soon
                ),
                message(
                    31,
                    "هنوز منتظرم",
                    address="leila@example.ir",
                    subject="پیگیری",
                    at=soon + timedelta(seconds=1),
                ),
            ]
        ),
    )
    telegram_id, email_id = (
        scalar(engine, "SELECT id FROM message WHERE external_id = :e", e=e)
        for e in ("m-30", "m-31")
    )
    assert {
        scalar(engine, "SELECT customer_id FROM message WHERE id = :id", id=m)
        for m in (telegram_id, email_id)
    } == {people.leila}
    inbox.rename_customer(engine, people.leila, "Leila Mohammadi", agent="aysel")

    inbox.unmerge_customers(engine, record, agent="aysel")

    # The Telegram message followed its address back, into one of Leyla's conversations;
    # لیلا's email stayed with her, in one of hers.
    customer, conversation = rows(
        engine, "SELECT customer_id, conversation_id FROM message WHERE id = :id", id=telegram_id
    )[0]
    assert customer == people.leyla
    assert scalar(
        engine, "SELECT customer_id FROM conversation WHERE id = :id", id=conversation
    ) == (people.leyla)
    customer, conversation = rows(
        engine, "SELECT customer_id, conversation_id FROM message WHERE id = :id", id=email_id
    )[0]
    assert customer == people.leila
    assert scalar(
        engine, "SELECT customer_id FROM conversation WHERE id = :id", id=conversation
    ) == (people.leila)
    # Every message sits in a conversation of its own customer.
    assert not rows(
        engine,
        "SELECT m.id FROM message m JOIN conversation v ON v.id = m.conversation_id "
        "WHERE v.customer_id != m.customer_id",
    )
    reader = Reader(store_url)
    listed = {r.id: r for r in reader.customers(0, 10)}
    assert listed[people.leyla].preview == "Bəs nə vaxt?"
    assert listed[people.leila].preview == "پیگیری"
    # Nobody read them meanwhile: each keeps their unread, and the new message its own.
    assert (listed[people.leyla].unread, listed[people.leila].unread) == (1 + 1, 2 + 1)
    assert listed[people.leila].name == "Leila Mohammadi"  # renamed after the merge: kept


def test_unmerge_is_refused_after_a_further_merge(people: People) -> None:
    engine = people.engine
    first = inbox.merge_customers(engine, people.leyla, people.leila, agent="rauf")
    second = inbox.merge_customers(engine, people.leila, people.john, agent="rauf")
    with pytest.raises(inbox.ServiceError) as refused:
        inbox.unmerge_customers(engine, first, agent="rauf")
    assert str(refused.value) == (
        f"customer {people.leila} was merged into customer {people.john} since "
        f"(merge #{second}): unmerge that first"
    )
    with pytest.raises(inbox.ServiceError, match="no merge #999"):
        inbox.unmerge_customers(engine, 999, agent="rauf")
    inbox.unmerge_customers(engine, second, agent="rauf")
    inbox.unmerge_customers(engine, first, agent="rauf")
    assert not rows(engine, "SELECT id FROM customer WHERE merged_into_id IS NOT NULL")


def test_a_visitor_linked_by_email_can_be_unmerged(people: People, store_url: str) -> None:
    """The web chat's link (``link_visitor_email`` joining the email's owner) is a recorded
    merge: an agent who finds it wrong takes it back exactly."""
    engine = people.engine
    [chat] = inbox.ingest(
        engine,
        Batch(
            [
                message(
                    40,
                    "Salam, mən Leylayam",
                    address="visitor-77",
                    channel="webchat",
                    account="chat",
                )
            ]
        ),
    )
    last_event = scalar(engine, "SELECT max(id) FROM event")
    store = dump(engine, last_event)
    [linked] = inbox.link_visitor_email(engine, "chat", "visitor-77", "Leyla@Example.az", "Leyla")
    assert scalar(engine, "SELECT kind FROM event WHERE id = :id", id=linked) == "identity-linked"
    [(record, agent, source, target)] = rows(
        engine, "SELECT id, agent, source_id, target_id FROM mergerecord"
    )
    assert (agent, source, target) == ("system", chat.customer_id, people.leyla)
    assert scalar(engine, "SELECT claimed_email FROM identity WHERE address = 'visitor-77'") == (
        "leyla@example.az"
    )

    inbox.unmerge_customers(engine, record, agent="aysel")
    assert dump(engine, last_event) == store
    assert scalar(engine, "SELECT customer_id FROM identity WHERE address = 'visitor-77'") == (
        chat.customer_id
    )


def test_a_conversation_a_moved_address_opens_after_the_merge_goes_back(
    people: People, store_url: str
) -> None:
    engine = people.engine
    for customer in (people.leyla, people.leila):
        conversation = inbox.current_conversation(engine, customer)
        assert conversation is not None
        inbox.set_conversation_status(engine, conversation, "resolved", agent="aysel")
    record = inbox.merge_customers(engine, people.leyla, people.leila, agent="aysel")
    soon = datetime.now(UTC)  # before the reply below
    [new] = inbox.ingest(
        engine,
        Batch(
            [
                message(
                    50,
                    "Yenə mən, Leyla",
                    address="500600",
                    channel="telegram",
                    account="bot",
                    at=soon,
                )
            ]
        ),
    )
    assert new.customer_id == people.leila and "opened" in new.reason
    reply = inbox.queue_reply(engine, people.leila, "Buyurun, Leyla xanım", agent="aysel")
    note = inbox.add_note(engine, people.leila, "Telegramdan yazır", agent="aysel")

    inbox.unmerge_customers(engine, record, agent="aysel")

    assert rows(
        engine, "SELECT customer_id FROM conversation WHERE id = :id", id=new.conversation_id
    ) == [(people.leyla,)]
    assert rows(
        engine,
        "SELECT id, customer_id FROM message WHERE conversation_id = :id ORDER BY id",
        id=new.conversation_id,
    ) == [(new.message_id, people.leyla), (reply, people.leyla), (note, people.leyla)]
    listed = {r.id: r for r in Reader(store_url).customers(0, 10)}
    assert (listed[people.leyla].open, listed[people.leila].open) == (1, 0)
    # The reply read them all: no unread on either side.
    assert (listed[people.leyla].unread, listed[people.leila].unread) == (0, 0)
    assert listed[people.leyla].preview == "Buyurun, Leyla xanım"
    assert "Yenə" not in listed[people.leila].preview
