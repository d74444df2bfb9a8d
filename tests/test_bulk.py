"""The bulk demo fill and the JSON Lines export: rows as inbox.py would have written them."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from omnitui import bot, bulk, db, inbox, mailimport
from omnitui.connectors.base import Batch, InboundMessage
from omnitui.normalize import fold
from omnitui.reads import Reader, sqlite_path
from omnitui.synthetic import World
from omnitui.text import one_line
from omnitui.threads import ACTIVE

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CUSTOMERS = 200
MESSAGES = 3_000
SUPPORT = "support@acme.example"


def _rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    path = sqlite_path(url)
    assert path is not None
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _new_store(tmp_path: Path, name: str) -> str:
    url = db.sqlite_url(tmp_path / name)
    db.ensure_schema(url)
    return url


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bulk.FillResult]:
    url = _new_store(tmp_path_factory.mktemp("bulk"), "filled.db")
    result = bulk.fill_demo(
        url, customers=CUSTOMERS, messages=MESSAGES, seed=7, longest=120, now=NOW,
        batch_messages=700, parallel=False,
    )  # fmt: skip
    return url, result


def test_the_fill_writes_what_was_asked(filled: tuple[str, bulk.FillResult]) -> None:
    url, result = filled
    assert (result.customers, result.messages) == (CUSTOMERS, MESSAGES)
    counts = {
        table: _rows(url, f"SELECT count(*) FROM {table}")[0][0]
        for table in ("customer", "identity", "conversation", "message", "event")
    }
    assert counts == {
        "customer": result.customers,
        "identity": result.identities,
        "conversation": result.conversations,
        "message": result.messages,
        "event": result.events,
    }
    assert _rows(url, "SELECT count(*) FROM message_fts")[0][0] == MESSAGES
    assert _rows(url, "SELECT count(*) FROM customer_fts")[0][0] == CUSTOMERS
    assert _rows(url, "PRAGMA foreign_key_check") == []
    assert _rows(url, "PRAGMA integrity_check") == [("ok",)]
    # Every message is in the last SPAN_DAYS, none in the future.
    low, high = _rows(url, "SELECT min(sent_at), max(sent_at) FROM message")[0]
    assert low >= db.stamp(NOW - timedelta(days=bulk.SPAN_DAYS))
    assert high <= db.stamp(NOW)
    assert result.longest_customer_id is not None
    longest = _rows(
        url, "SELECT count(*) FROM message WHERE customer_id=?", (result.longest_customer_id,)
    )
    assert longest == [(120,)]
    # Some replies failed for good, the rest were sent with an external id.
    states = dict(_rows(url, "SELECT delivery, count(*) FROM message GROUP BY delivery"))
    assert set(states) == {None, "sent", "failed"}
    assert 0 < states["failed"] < states["sent"] / 10
    assert _rows(url, "SELECT count(*) FROM message WHERE delivery='sent' AND external_id IS NULL")[
        0
    ] == (0,)


def test_denormalized_columns_equal_a_recomputation(filled: tuple[str, bulk.FillResult]) -> None:
    url, _ = filled
    messages: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in _rows(
        url,
        "SELECT customer_id, conversation_id, direction, subject, body, sent_at, id "
        "FROM message ORDER BY sent_at, id",
    ):
        messages[row[0]].append(row)
    events = Counter(r[0] for r in _rows(url, "SELECT customer_id FROM event"))
    channels: dict[int, set[str]] = defaultdict(set)
    for customer_id, channel in _rows(url, "SELECT customer_id, channel FROM identity"):
        channels[customer_id].add(channel)
    conversations: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for conv_id, customer_id, status in _rows(
        url, "SELECT id, customer_id, status FROM conversation ORDER BY id"
    ):
        conversations[customer_id].append((conv_id, status))

    customers = _rows(
        url,
        "SELECT id, last_activity_at, preview, channels, unread_count, open_count, version "
        "FROM customer",
    )
    assert len(customers) == CUSTOMERS
    for cid, last_activity, preview, chans, unread, open_count, version in customers:
        history = messages[cid]
        said = [m for m in history if m[2] != "note"]  # notes move neither time nor preview
        newest = said[-1]
        assert last_activity == newest[5]
        text = (newest[3] or newest[4]) if newest[2] == "in" else newest[4]
        assert preview == one_line(text, 120)
        assert chans == ",".join(sorted(channels[cid]))
        newest_conv = conversations[cid][-1][0]
        unread_expected = 0
        for m in history:
            if m[1] == newest_conv and m[2] == "in":
                unread_expected += 1
            elif m[1] == newest_conv and m[2] == "out":
                unread_expected = 0
        assert unread == unread_expected
        assert open_count == sum(s in ACTIVE for _, s in conversations[cid])
        assert version == len(history) + events[cid]
        # Messages come in conversations one after the other, each opened by the customer.
        convs_in_order = [m[1] for m in history]
        assert convs_in_order == sorted(convs_in_order)
        assert history[0][2] == "in"


def test_conversation_times_and_status_events(filled: tuple[str, bulk.FillResult]) -> None:
    url, _ = filled
    rows = _rows(
        url,
        "SELECT c.id, c.status, c.opened_at, c.first_inbound_at, c.first_response_at, "
        "c.resolved_at, c.last_message_at, "
        "(SELECT min(sent_at) FROM message WHERE conversation_id=c.id AND direction='in'), "
        "(SELECT min(sent_at) FROM message WHERE conversation_id=c.id AND direction='out'), "
        "(SELECT max(sent_at) FROM message WHERE conversation_id=c.id AND direction!='note'), "
        "(SELECT group_concat(after) FROM event WHERE conversation_id=c.id), "
        "(SELECT max(at) FROM event WHERE conversation_id=c.id AND after='resolved') "
        "FROM conversation c",
    )
    statuses = Counter(r[1] for r in rows)
    assert statuses["resolved"] > statuses["open"] > 0
    for (
        cid,
        status,
        opened,
        first_in,
        first_out,
        resolved,
        last,
        min_in,
        min_out,
        max_msg,
        ev,
        r_at,
    ) in rows:
        assert opened == first_in == min_in, cid
        assert first_out == min_out, cid
        assert last == max_msg, cid
        assert resolved == r_at, cid
        assert (ev or "open") == status, cid  # one status event, to the status it has
        if resolved:
            assert resolved > last


def test_customer_list_is_by_last_activity(filled: tuple[str, bulk.FillResult]) -> None:
    url, result = filled
    reader = Reader(url)
    listed = reader.customers(0, CUSTOMERS)
    assert len(listed) == CUSTOMERS
    times = [c.last_activity_at for c in listed]
    assert times == sorted(times, reverse=True)
    # Ids grow with recency, as when messages arrive live (status events aside).
    assert result.longest_customer_id in [c.id for c in listed[:5]]
    assert listed[0].id > CUSTOMERS * 0.9
    open_only = reader.customers(0, CUSTOMERS, open_only=True)
    assert open_only and all(c.open > 0 for c in open_only)


def test_search_finds_names_and_words_typed_without_diacritics(
    filled: tuple[str, bulk.FillResult],
) -> None:
    url, _ = filled
    reader = Reader(url)
    names = [r[0] for r in _rows(url, "SELECT name FROM customer")]
    turkish = next(n for n in names if n.split()[-1] in ("Yılmaz", "Şahin", "Çelik", "Öztürk"))
    typed = fold(turkish).replace("ı", "i")  # an English keyboard
    assert typed.isascii()
    hits = reader.search(typed)
    assert any(h.name == turkish and h.message_id is None for h in hits)
    # A Turkish word from the messages, typed without its diacritics.
    body = _rows(url, "SELECT body FROM message WHERE body LIKE '%siparişim%' LIMIT 1")[0][0]
    word_hits = [h for h in reader.search("siparisim") if h.message_id is not None]
    assert word_hits, body
    for hit in word_hits:
        text = _rows(
            url, "SELECT subject || ' ' || body FROM message WHERE id=?", (hit.message_id,)
        )
        assert "siparisim" in fold(text[0][0])
    # An order number is rare: every hit has it.
    number = _rows(url, "SELECT subject FROM message WHERE subject LIKE 'Order #%' LIMIT 1")[0][0]
    number = number.removeprefix("Order #")
    hits = [h for h in reader.search(number) if h.message_id is not None]
    assert hits and all(number in h.excerpt for h in hits)
    # Names in other scripts too.
    persian = next((n for n in names if n.split()[-1] in ("رضایی", "محمدی", "حسینی")), None)
    if persian is not None:
        assert any(h.name == persian for h in reader.search(persian.split()[-1]))


def test_timeline_returns_the_history_in_order(filled: tuple[str, bulk.FillResult]) -> None:
    url, result = filled
    reader = Reader(url)
    assert result.longest_customer_id is not None
    detail = reader.customer(result.longest_customer_id)
    assert detail is not None and detail.identities
    assert detail.conversation_id is not None
    items = reader.timeline(result.longest_customer_id, limit=100)
    messages = [i for i in items if i.kind != "event"]
    assert len(messages) == 100
    assert [i.at for i in items] == sorted(i.at for i in items)
    newest = _rows(
        url,
        "SELECT id FROM message WHERE customer_id=? ORDER BY sent_at DESC, id DESC LIMIT 100",
        (result.longest_customer_id,),
    )
    assert [m.id for m in messages] == [r[0] for r in reversed(newest)]
    # Paging back reaches the first message.
    seen = len(messages)
    before = (messages[0].at, messages[0].id)
    while True:
        page = [i for i in reader.timeline(result.longest_customer_id, before=before) if i.id > 0]
        if not page:
            break
        seen += len(page)
        before = (page[0].at, page[0].id)
    assert seen == 120


def test_filling_twice_continues_the_ids(tmp_path: Path) -> None:
    url = _new_store(tmp_path, "twice.db")
    first = bulk.fill_demo(url, customers=30, messages=300, seed=1, now=NOW)
    second = bulk.fill_demo(url, customers=20, messages=200, seed=1, now=NOW)
    assert second.first_customer_id == first.last_customer_id + 1
    assert _rows(url, "SELECT count(*), max(id) FROM customer") == [(50, 50)]
    assert _rows(url, "SELECT count(*) FROM message") == [(500,)]
    assert _rows(url, "SELECT count(*) FROM message_fts") == [(500,)]
    assert (
        _rows(url, "SELECT count(*), count(DISTINCT channel || ' ' || address) FROM identity")[0]
        == (first.identities + second.identities,) * 2
    )
    assert _rows(url, "PRAGMA foreign_key_check") == []


def test_ids_move_past_rows_another_writer_added_meanwhile(tmp_path: Path) -> None:
    url = _new_store(tmp_path, "concurrent.db")
    bulk.fill_demo(url, customers=10, messages=100, seed=3, now=NOW)
    conn = bulk._connect(url)
    order = bulk._Order(3, 10, 100, 0, 40, 1_800_000_000_000_000, bulk._next_ids(conn), frozenset())
    batches = bulk._batches(order)
    first = next(batches)
    # The runner stores a message between two of the fill's batches.
    engine = db.make_engine(url)
    inbox.ingest(engine, Batch([_inbound("someone@example.org", "a new customer", NOW)]))
    stage = bulk._Stage()
    written = bulk._write_batches(conn, stage, stage.serially([first, *batches]), 100, None)
    conn.close()
    stage.close()
    assert written.messages == 100
    assert _rows(url, "SELECT count(*) FROM message") == [(201,)]
    assert _rows(url, "SELECT count(*) FROM message_fts") == [(201,)]
    assert _rows(url, "PRAGMA foreign_key_check") == []
    # Every message still belongs to its conversation's customer.
    assert _rows(
        url,
        "SELECT count(*) FROM message m JOIN conversation c ON c.id = m.conversation_id "
        "WHERE c.customer_id != m.customer_id",
    ) == [(0,)]


def _inbound(address: str, body: str, at: datetime, channel: str = "email") -> InboundMessage:
    return InboundMessage(
        account="demo-mail", channel=channel, external_id=f"live-{address}-{at.timestamp()}",
        address=address, body=body, sent_at=at, display_name="",
    )  # fmt: skip


def test_a_new_message_from_a_known_address_joins_its_customer(tmp_path: Path) -> None:
    url = _new_store(tmp_path, "ingest.db")
    bulk.fill_demo(url, customers=20, messages=200, seed=5, now=NOW)
    customer_id, channel, address, account = _rows(
        url, "SELECT customer_id, channel, address, account FROM identity ORDER BY id LIMIT 1"
    )[0]
    before = _rows(url, "SELECT count(*), version FROM customer WHERE id=?", (customer_id,))[0]
    message = InboundMessage(
        account=account, channel=channel, external_id="live-1", address=address,
        body="Salam, yenə mən", sent_at=NOW + timedelta(minutes=5),
    )  # fmt: skip
    [stored] = inbox.ingest(db.make_engine(url), Batch([message]))
    assert stored.customer_id == customer_id
    assert _rows(url, "SELECT count(*) FROM customer") == [(20,)]
    after = _rows(url, "SELECT version, preview FROM customer WHERE id=?", (customer_id,))[0]
    assert after[0] > before[1]
    assert after[1] == "Salam, yenə mən"
    reader = Reader(url)
    assert reader.customers(0, 1)[0].id == customer_id
    assert any(h.message_id == stored.message_id for h in reader.search("YENƏ"))


def test_the_second_thread_writes_the_same_rows(tmp_path: Path) -> None:
    dumps = []
    for parallel in (False, True):
        url = _new_store(tmp_path, f"parallel-{parallel}.db")
        bulk.fill_demo(
            url, customers=40, messages=600, seed=9, now=NOW, batch_messages=150,
            parallel=parallel,
        )  # fmt: skip
        dumps.append(
            [
                _rows(url, f"SELECT * FROM {table} ORDER BY rowid")
                for table in (
                    "customer",
                    "identity",
                    "conversation",
                    "message",
                    "event",
                    "message_fts",
                    "customer_fts",
                )
            ]
        )
    assert dumps[0] == dumps[1]


def test_fts_rows_are_the_folded_text(filled: tuple[str, bulk.FillResult]) -> None:
    url, _ = filled
    rows = _rows(
        url,
        "SELECT m.subject, m.body, f.body FROM message m JOIN message_fts f ON f.rowid = m.id",
    )
    assert len(rows) == MESSAGES
    for subject, body, indexed in rows:
        assert indexed == fold(f"{subject}\n{body}")
    texts = _rows(url, "SELECT rowid, body FROM customer_fts")
    names = dict(_rows(url, "SELECT id, name FROM customer"))
    addresses: dict[int, list[str]] = defaultdict(list)
    for customer_id, address in _rows(url, "SELECT customer_id, address FROM identity ORDER BY id"):
        addresses[customer_id] += (address, names[customer_id])
    for customer_id, indexed in texts:
        assert indexed == fold(" ".join([names[customer_id], *addresses[customer_id]]))


def test_replies_refer_to_the_message_they_answer(filled: tuple[str, bulk.FillResult]) -> None:
    url, _ = filled
    assert _rows(
        url,
        "SELECT count(*) FROM message o WHERE o.direction = 'out' AND NOT EXISTS "
        "(SELECT 1 FROM message i WHERE i.external_id = o.thread_ref AND i.direction = 'in' "
        "AND i.customer_id = o.customer_id AND i.sent_at < o.sent_at)",
    ) == [(0,)]
    keys = _rows(url, "SELECT count(idempotency_key), count(*) FROM message WHERE direction='out'")
    assert keys[0][0] == keys[0][1]
    # The FTS buffer size the fill uses is put back.
    assert _rows(url, "SELECT v FROM message_fts_config WHERE k = 'hashsize'") in (
        [],
        [(1024 * 1024,)],
    )


def test_a_failing_generator_stops_the_fill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _new_store(tmp_path, "failing.db")
    calls = [0]
    customer = bulk._Historian.customer

    def failing(self: bulk._Historian, *args: Any) -> None:
        calls[0] += 1
        if calls[0] > 25:
            raise ZeroDivisionError("invented")
        customer(self, *args)

    monkeypatch.setattr(bulk._Historian, "customer", failing)
    with pytest.raises(RuntimeError, match="generator failed"):
        bulk.fill_demo(
            url, customers=40, messages=600, seed=9, now=NOW, batch_messages=100, parallel=True
        )
    written = _rows(url, "SELECT count(*) FROM customer")[0][0]
    assert 0 < written < 25
    assert _rows(url, "PRAGMA integrity_check") == [("ok",)]
    assert threading.active_count() == 1


def test_progress_is_reported_every_batch(tmp_path: Path) -> None:
    url = _new_store(tmp_path, "progress.db")
    seen: list[tuple[int, int]] = []
    bulk.fill_demo(
        url, customers=30, messages=900, seed=2, now=NOW, batch_messages=200,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert len(seen) >= 4
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (900, 900)


def test_impossible_requests_are_refused(tmp_path: Path) -> None:
    url = _new_store(tmp_path, "refused.db")
    with pytest.raises(ValueError):
        bulk.fill_demo(url, customers=10, messages=5, seed=1)
    with pytest.raises(ValueError):
        bulk.fill_demo(url, customers=0, messages=5, seed=1)
    assert bulk.fill_demo(url, customers=0, messages=0, seed=1).messages == 0
    with pytest.raises(db.SchemaError):
        bulk.fill_demo(db.sqlite_url(tmp_path / "missing.db"), customers=1, messages=1, seed=1)


def test_the_fill_refuses_a_postgresql_store_and_names_db_copy() -> None:
    with pytest.raises(db.SchemaError, match=r"SQLite stores only.*omnitui db copy") as refused:
        bulk.fill_demo("postgresql://nobody@127.0.0.1:1/none", customers=1, messages=1, seed=1)
    assert "\n" not in str(refused.value)  # one line, as the CLI prints it


def test_cached_folding_equals_fold() -> None:
    folder = bulk._Folder()
    world = World(11)
    texts = [
        "İSTANBUL 12 Işıl", "Gökçe٣٤ 5", "می‌خواهم 7 كتاب", "e\u0301 1\u0301x", "ﬁ 9 Ａ",
        "", "123", "Şəbnəm #45678 Əliyev",
    ]  # fmt: skip
    for lang in ("en", "az", "tr", "fa"):
        for _ in range(300):
            subject, body = world.inbound(lang)
            texts += [f"{subject}\n{body}", world.reply(lang), world.note()]
    for text in texts * 2:  # the second time from the cache
        assert folder(text) == fold(text), text


# ---------------------------------------------------------------------------
# Export


def test_export_is_json_lines_matching_the_tables(filled: tuple[str, bulk.FillResult]) -> None:
    url, _ = filled
    out = io.StringIO()
    progress: list[tuple[int, int]] = []
    written = bulk.export_jsonl(url, out, progress=lambda d, t: progress.append((d, t)))
    lines = out.getvalue().splitlines()
    assert written == len(lines)
    records = [json.loads(line) for line in lines]
    kinds = Counter(r["type"] for r in records)
    for kind in ("customer", "identity", "conversation", "message"):
        assert kinds[kind] == _rows(url, f"SELECT count(*) FROM {kind}")[0][0]
    assert progress[-1] == (written, written)
    # Types come in order (a reader can create customers before their messages).
    order = [r["type"] for r in records]
    assert order == sorted(order, key=["customer", "identity", "conversation", "message"].index)
    message = next(r for r in records if r["type"] == "message" and r["direction"] == "out")
    stored = _rows(url, "SELECT sent_at, body FROM message WHERE id=?", (message["id"],))[0]
    assert message["body"] == stored[1]
    assert message["sent_at"].endswith("Z")
    parsed = datetime.fromisoformat(message["sent_at"])
    assert parsed.tzinfo is not None and db.stamp(parsed) == stored[0]
    conversation = next(r for r in records if r["type"] == "conversation")
    assert conversation["resolved_at"] is None or conversation["resolved_at"].endswith("Z")
    assert list(bulk.read_jsonl(lines)) == records


def test_export_of_an_empty_store(store_url: str) -> None:
    out = io.StringIO()
    assert bulk.export_jsonl(store_url, out) == 0
    assert out.getvalue() == ""


def test_iso_utc() -> None:
    assert bulk.iso_utc("2026-11-20 12:00:00.000001") == "2026-11-20T12:00:00.000001Z"
    assert bulk.iso_utc("2026-11-20 14:00:00+02:00") == "2026-11-20T12:00:00.000000Z"
    assert bulk.iso_utc(None) is None


def test_export_keeps_an_emails_raw_bytes_attachments_and_threading(
    store_url: str, tmp_path: Path
) -> None:
    import base64
    import zlib
    from dataclasses import replace

    from omnitui.blobs import BlobStore
    from omnitui.connectors.base import InboundAttachment

    engine = db.make_engine(store_url)
    raw = "From: Işıl <isil@example.com.tr>\r\nSubject: Fatura\r\n\r\nMerhaba\r\n".encode()
    msg = InboundMessage(
        account="support",
        channel="email",
        external_id="<f1@example.com.tr>",
        address="isil@example.com.tr",
        body="Merhaba",
        sent_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
        subject="Fatura",
    )
    msg = replace(
        msg,
        references=("<a@x>", "<b@x>"),
        raw_zlib=zlib.compress(raw),
        content_hash="ab" * 32,
        attachments=(InboundAttachment("fatura.pdf", "application/pdf", b"%PDF", 4),),
    )
    inbox.ingest(engine, Batch([msg]), BlobStore(tmp_path / "attachments"))
    out = io.StringIO()
    bulk.export_jsonl(store_url, out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    [message] = [r for r in records if r["type"] == "message"]
    [attachment] = [r for r in records if r["type"] == "attachment"]
    [kept] = [r for r in records if r["type"] == "raw"]
    assert message["refs"] == "<a@x> <b@x>" and message["content_hash"] == "ab" * 32
    assert message["thread_reason"].startswith("new customer")
    assert attachment["filename"] == "fatura.pdf" and attachment["size"] == 4
    assert (tmp_path / "attachments" / attachment["sha256"][:2] / attachment["sha256"]).exists()
    assert kept["message_id"] == message["id"]
    assert base64.b64decode(kept["data"]) == raw


def test_export_carries_sla_satisfaction_the_bot_calls_and_the_knowledge_base(
    engine: Engine, store_url: str
) -> None:
    """A Telegram conversation the FAQ bot answered, then handed off, with SLA targets and
    a survey the customer rated, a call logged after it, and a knowledge base entry: all of
    it in the export, nothing the store works out for itself."""
    from omnitui import kb
    from omnitui.config import BotConfig
    from omnitui.csat import SurveyPolicy
    from omnitui.sla import Policies, Policy

    refund = kb.Entry(
        "refund",
        ("billing", "orders"),
        {
            "en": kb.Variant("How do I get a refund for my order?", "Within 5 working days."),
            "az": kb.Variant("Pulumu necə geri qaytara bilərəm?", "5 iş günü ərzində."),
        },
    )
    entry_id = bot.create_kb_entry(engine, refund, agent="leyla")
    asked = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def chat(n: int, body: str, button: str | None = None, at: datetime | None = None) -> Any:
        message = InboundMessage(
            account="bot", channel="telegram", external_id=f"77:{n}", address="77", body=body,
            sent_at=at or asked + timedelta(minutes=n), button=button,
        )  # fmt: skip
        [done] = inbox.ingest(engine, Batch([message]))
        assert done.message_id is not None and done.conversation_id is not None
        return done

    config = BotConfig(telegram=True)
    question = chat(0, "How do I get a refund for my order?")
    assert bot.bot_turn(engine, question.message_id, config).action == "answered"
    person = chat(1, "Can I talk to a human please?")
    assert bot.bot_turn(engine, person.message_id, config).action == "handed-off"
    sla = Policies((Policy("chat", frozenset({"telegram"}), first_response=1800, resolution=7200),))
    assert inbox.apply_sla(engine, sla) == 1
    conv = question.conversation_id
    surveys = SurveyPolicy(frozenset({("telegram", "bot")}))
    inbox.set_conversation_status(engine, conv, "resolved", agent="aysel", surveys=surveys)
    chat(2, "5", button=f"csat:{conv}:5", at=datetime.now(UTC))
    inbox.log_call(
        engine, question.customer_id, direction="out", duration_seconds=95, outcome="answered",
        notes="Called back about the refund", agent="aysel",
    )  # fmt: skip

    out = io.StringIO()
    bulk.export_jsonl(store_url, out)
    records = list(bulk.read_jsonl(out.getvalue().splitlines()))
    chatted, called = [r for r in records if r["type"] == "conversation"]
    due = (asked + timedelta(minutes=30), asked + timedelta(hours=2))
    assert (chatted["channel"], chatted["sla_policy"]) == ("telegram", "chat")
    assert (chatted["first_response_due_at"], chatted["resolution_due_at"]) == tuple(
        t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for t in due
    )
    assert (chatted["csat_score"], chatted["csat_comment"], chatted["bot_answers"]) == (5, "", 1)
    for when in ("csat_requested_at", "csat_at", "handed_off_at"):
        assert datetime.fromisoformat(chatted[when]) > asked, when
    assert called["channel"] == "phone" and called["csat_score"] is called["handed_off_at"] is None
    assert not {"agent_replies", "first_responder", "sla_key"} & (chatted.keys() | called.keys())

    messages = [r for r in records if r["type"] == "message"]
    assert [(m["direction"], m["kind"]) for m in messages] == [
        ("in", ""), ("out", "bot"), ("in", ""), ("out", "bot"), ("out", "survey"),
        ("in", "rating"), ("out", "call"),
    ]  # fmt: skip
    answer, survey, call = messages[1], messages[4], messages[6]
    assert answer["buttons"] == [[kb.said(kb.PERSON_BUTTON, "en"), kb.PERSON_DATA]]
    assert survey["buttons"] == [[str(n), f"csat:{conv}:{n}"] for n in range(1, 6)]
    assert (call["duration_seconds"], call["outcome"]) == (95, "answered")
    assert call["body"] == "Called back about the refund"
    assert (messages[0]["buttons"], messages[0]["duration_seconds"], messages[0]["outcome"]) == (
        None, None, None,
    )  # fmt: skip

    entry = records[-1]  # the last type
    assert datetime.fromisoformat(entry.pop("updated_at")) > asked
    assert entry == {
        "type": "kb_entry",
        "id": entry_id,
        "slug": "refund",
        "tags": "billing orders",
        "updated_by": "leyla",
        "languages": {
            "az": {"question": "Pulumu necə geri qaytara bilərəm?", "answer": "5 iş günü ərzində."},
            "en": {
                "question": "How do I get a refund for my order?",
                "answer": "Within 5 working days.",
            },
        },
    }


def _email_history(root: Path) -> Path:
    """A maildir: a question, our answer, an HTML mail with an inline logo and a PDF."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    def mail(sender: str, to: str, subject: str, minutes: int, msgid: str) -> EmailMessage:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, to, subject
        message["Date"] = format_datetime(NOW - timedelta(days=2, minutes=-minutes))
        message["Message-ID"] = msgid
        return message

    question = mail("Işıl Yılmaz <isil@example.com.tr>", SUPPORT, "Sipariş", 0, "<q@tr>")
    question.set_content("Siparişim nerede?")
    answer = mail(f"Acme <{SUPPORT}>", "isil@example.com.tr", "Re: Sipariş", 30, "<a@acme>")
    answer["In-Reply-To"] = "<q@tr>"
    answer.set_content("Yarın kargoda.")
    invoice = mail("مریم <maryam@example.ir>", SUPPORT, "فاکتور", 60, "<f@ir>")
    invoice.set_content("فاکتور پیوست است")
    invoice.add_alternative('<p>فاکتور</p><img src="cid:logo@ir">', subtype="html")
    html = invoice.get_body(("html",))
    assert html is not None
    html.add_related(b"\x89PNG logo", maintype="image", subtype="png", cid="<logo@ir>",
                     disposition="inline")  # fmt: skip
    invoice.add_attachment(b"%PDF-1.4 1", maintype="application", subtype="pdf",
                           filename="faktura.pdf")  # fmt: skip
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n, message in enumerate((question, answer, invoice)):
        (root / "cur" / f"{n}:2,S").write_bytes(message.as_bytes())
    return root


def test_the_export_is_the_same_from_either_store(tmp_path: Path, store_url: str) -> None:
    """The same history (imported with a fixed clock) exports to the same bytes from SQLite
    and from this run's store (PostgreSQL on its pass): times, booleans, bytes alike."""
    maildir = _email_history(tmp_path / "Mail")
    exports = []
    for url in (_new_store(tmp_path, "sqlite.db"), store_url):
        result = mailimport.import_mail(
            url, mailimport.maildir_source([maildir]), account="support",
            attachments=tmp_path / "attachments", ours=[SUPPORT], now=NOW, workers=1,
        )  # fmt: skip
        assert result.imported == 3
        out = io.StringIO()
        bulk.export_jsonl(url, out)
        exports.append(out.getvalue())
    assert exports[0] == exports[1]
    records = list(bulk.read_jsonl(exports[1].splitlines()))
    assert Counter(r["type"] for r in records) == {
        "customer": 2, "identity": 2, "conversation": 2, "message": 3, "attachment": 2, "raw": 3,
    }  # fmt: skip
    inline = {r["filename"] or r["content_type"]: r["inline"] for r in records
              if r["type"] == "attachment"}  # fmt: skip
    assert sorted(inline.values()) == [False, True], inline
    [answer] = [r for r in records if r["type"] == "message" and r["direction"] == "out"]
    assert answer["sent_at"] == "2026-11-18T12:30:00.000000Z"
    assert answer["stored_at"] == "2026-11-20T12:00:00.000000Z"
