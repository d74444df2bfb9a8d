"""The search language (omnitui/query.py): the parser's table, every field against a real
store (a message that must match and one that must not), and `omnitui search` on errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from omnitui import inbox
from omnitui.connectors.base import Batch, InboundMessage
from omnitui.query import Age, Context, Phrase, Query, QueryError, Words, caret, parse
from omnitui.reads import Reader
from tests.test_cli import run

# -- the parser ----------------------------------------------------------------------


def terms(source: str) -> list[tuple[str, object, bool]]:
    """Each term as (kind or field name, folded words or value, negated)."""
    shown: list[tuple[str, object, bool]] = []
    for term in parse(source).terms:
        if isinstance(term, Words):
            shown.append(("words", term.words, term.negated))
        elif isinstance(term, Phrase):
            shown.append(("phrase", term.words, term.negated))
        else:
            shown.append((term.name, term.value, term.negated))
    return shown


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("refund", [("words", ("refund",), False)]),
        ("İSTANBUL kargo", [("words", ("istanbul",), False), ("words", ("kargo",), False)]),
        ("visitor-1-4242", [("words", ("visitor", "1", "4242"), False)]),
        ("10:30 ?", [("words", ("10", "30"), False)]),
        ('"Kargo Nerede"', [("phrase", ("kargo", "nerede"), False)]),
        ("-kettle", [("words", ("kettle",), True)]),
        ('-"iade talebi"', [("phrase", ("iade", "talebi"), True)]),
        ("a - b", [("words", ("a",), False), ("words", ("b",), False)]),
        ("from:leyla", [("from", "leyla", False)]),
        ('from:"Leyla M"', [("from", "Leyla M", False)]),
        ("-from:رضایی", [("from", "رضایی", True)]),
        ("to:ayse@example.com.tr", [("to", "ayse@example.com.tr", False)]),
        ("channel:Telegram", [("channel", "telegram", False)]),
        ("channel:phone", [("channel", "phone", False)]),
        ("tag:vip", [("tag", "vip", False)]),
        ('tag:"geri ödəmə"', [("tag", "geri ödəmə", False)]),
        ("IS:Open", [("is", "open", False)]),
        ("is:pending is:snoozed", [("is", "pending", False), ("is", "snoozed", False)]),
        ("is:resolved -is:unread", [("is", "resolved", False), ("is", "unread", True)]),
        ("assignee:me", [("assignee", "me", False)]),
        ("assignee:NONE", [("assignee", "none", False)]),
        ("assignee:Sara", [("assignee", "Sara", False)]),
        ("before:2026-03-01", [("before", date(2026, 3, 1), False)]),
        ("after:7d", [("after", Age(7, "d"), False)]),
        ("after:12h before:2w", [("after", Age(12, "h"), False), ("before", Age(2, "w"), False)]),
        ("after:3M", [("after", Age(3, "m"), False)]),
        ("has:attachment", [("has", "attachment", False)]),
        ("customer:42", [("customer", 42, False)]),
        ("customer:yılmaz", [("customer", "yılmaz", False)]),
        (
            'kargo -is:resolved from:"Ayşe Y" "iade talebi"',
            [
                ("words", ("kargo",), False),
                ("is", "resolved", True),
                ("from", "Ayşe Y", False),
                ("phrase", ("iade", "talebi"), False),
            ],
        ),
        ("", []),
        ("   ", []),
    ],
)
def test_parse(source: str, expected: list[tuple[str, object, bool]]) -> None:
    assert terms(source) == expected


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        (
            "is:opn",
            1,
            'is:opn at column 1: unknown state "opn" (open, pending, snoozed, resolved, unread)',
        ),
        ("kargo is:opn", 7, "is:opn at column 7: unknown state"),
        ("refund frm:leyla", 8, 'frm:leyla at column 8: unknown field "frm"'),
        ("http://x", 1, 'unknown field "http"'),
        ('from:"Leyla M', 6, '"Leyla M at column 6: unclosed quote'),
        ('kargo "nerede', 7, "unclosed quote"),
        ("from:", 1, "from: at column 1: from: needs a value"),
        ("x to: y", 3, "to: needs a value"),
        ('tag:""', 1, "tag: needs a value"),
        ("channel:fax", 1, 'unknown channel "fax" (email, telegram, webchat, phone)'),
        ("before:yesterday", 1, "neither a day (2026-03-01) nor an age (12h, 7d, 2w, 3m)"),
        ("after:7y", 1, "neither a day"),
        ("before:2026-02-30", 1, 'no such day "2026-02-30"'),
        ("after:0001-01-01", 1, "out of range"),
        ("has:file", 1, 'unknown "file" (has:attachment)'),
        ("-from:@", 1, '"@" has no letters or digits'),
        ('""', 1, "nothing to search for between the quotes"),
    ],
)
def test_malformed_queries_name_the_term_and_column(source: str, column: int, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse(source)
    error = raised.value
    assert error.position == column
    assert message in str(error)
    assert "\n" not in str(error)
    assert f"at column {column}: " in str(error)


def test_caret_points_at_the_term() -> None:
    source = "refund is:opn"
    with pytest.raises(QueryError) as raised:
        parse(source)
    assert caret(source, raised.value).splitlines() == [
        "  refund is:opn",
        "         ^~~~~~",
    ]
    wide = "رضا 客服 is:x"  # a wide character takes two cells
    with pytest.raises(QueryError) as raised:
        parse(wide)
    assert caret(wide, raised.value, indent="").splitlines()[1] == " " * 9 + "^~~~"


def test_highlights_are_the_positive_words_and_phrases_as_typed() -> None:
    query = parse('İstanbul -kettle "kargo nerede" is:open from:ayse')
    assert query.highlights == ["İstanbul", "kargo nerede"]
    assert query.text_words == ("istanbul", "kargo", "nerede")
    assert query.plain_words is None
    assert parse("Emma Smith").plain_words == ("emma", "smith")


def test_ages_count_back_from_now_in_the_agents_zone() -> None:
    now = datetime(2026, 5, 31, 20, 30, tzinfo=UTC)
    baku = ZoneInfo("Asia/Baku")  # UTC+4: already June 1st there
    assert Age(12, "h").before(now, baku) == now - timedelta(hours=12)
    assert Age(2, "w").before(now, baku) == now - timedelta(days=14)
    # Calendar months from the local day: 1 June - 3 months = 1 March, same local time.
    assert Age(3, "m").before(now, baku) == datetime(2026, 3, 1, 0, 30, tzinfo=baku)
    # A day that the earlier month lacks is its last day.
    assert Age(1, "m").before(datetime(2026, 3, 31, 12, tzinfo=UTC), UTC) == datetime(
        2026, 2, 28, 12, tzinfo=UTC
    )


# -- every field against a real store --------------------------------------------------

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
BAKU = ZoneInfo("Asia/Baku")


@dataclass
class SearchStore:
    url: str
    ids: dict[str, int]
    """Message ids by label."""
    customers: dict[str, int]
    conversations: dict[str, int]

    def labels(self, query: str | Query, *, agent: str = "emre", now: datetime = NOW) -> set[str]:
        context = Context(agent=agent, tz=BAKU, now=now)
        hits = Reader(self.url).search_query(query, 100, context=context)
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[h.message_id] for h in hits if h.message_id is not None}


def message(
    n: int,
    body: str,
    *,
    address: str,
    channel: str = "email",
    name: str = "",
    days: float = 0,
    handle: str | None = None,
    subject: str = "",
) -> InboundMessage:
    return InboundMessage(
        account={"email": "mail", "telegram": "bot", "webchat": "chat"}.get(channel, channel),
        channel=channel,
        external_id=f"q-{n}",
        address=address,
        body=body,
        sent_at=T0 + timedelta(days=days),
        display_name=name,
        subject=subject,
        handle=handle,
    )


def one(engine: Engine, msg: InboundMessage) -> tuple[int, int]:
    [stored] = inbox.ingest(engine, Batch([msg]))
    assert stored.message_id is not None
    return stored.customer_id, stored.message_id


@pytest.fixture
def search_store(store_url: str, engine: Engine) -> SearchStore:
    """Four customers in az, tr, fa and en on four channels; each message labelled."""
    ids: dict[str, int] = {}
    leyla, ids["leyla_mail"] = one(
        engine,
        message(
            1,
            "Salam, sifarişim #5512 haqqında yazıram.",
            address="leyla.mammadova@example.az",
            name="Leyla Məmmədova",
            subject="Sifariş",
        ),
    )
    inbox.add_identity(engine, leyla, "telegram", "5001", account="bot", display_name="Leyla")
    _, ids["leyla_tg"] = one(
        engine,
        message(
            2,
            "Çatdırılma gecikir, kömək edin.",
            address="5001",
            channel="telegram",
            name="Leyla",
            handle="leyla_m",
            days=1,
        ),
    )
    ids["reply_leyla"] = inbox.queue_reply(
        engine, leyla, "Sifarişiniz yoldadır.", agent="emre", subject="Re: Sifariş"
    )
    ayse, ids["ayse_mail"] = one(
        engine,
        message(
            3,
            "İstanbul'dayım, kargo nerede? İade talebi açtım.",
            address="ayse@example.com.tr",
            name="Ayşe Yılmaz",
            days=2,
        ),
    )
    reza, ids["reza_chat"] = one(
        engine,
        message(
            4,
            "سلام، سفارش من کجاست؟",
            address="visitor-9",
            channel="webchat",
            name="رضا رضایی",
            days=3,
        ),
    )
    ismail, ids["ismail_phone"] = one(
        engine,
        message(5, "Zəng etdim, cavab yoxdur.", address="+994501234567", channel="phone",
                name="İsmail Işık", days=4),
    )  # fmt: skip
    john, ids["john_mail"] = one(
        engine,
        message(
            6,
            "I would like a refund for order 998.",
            address="john@example.com",
            name="John Smith",
            days=-30,
        ),
    )
    ids["john_note"] = inbox.add_note(engine, john, "Refund approved for John.", agent="sara")
    inbox.set_status(engine, ayse, "resolved", agent="emre")
    inbox.set_status(engine, reza, "pending", agent="emre")
    inbox.mark_read(engine, ayse)
    inbox.mark_read(engine, john)
    conversations = {
        name: reader_conversation(store_url, mid)
        for name, mid in (
            ("leyla", ids["leyla_mail"]),
            ("ayse", ids["ayse_mail"]),
            ("reza", ids["reza_chat"]),
            ("ismail", ids["ismail_phone"]),
            ("john", ids["john_mail"]),
        )
    }
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE conversation SET assignee = NULL WHERE id IN (:a, :b)"),
            {"a": conversations["leyla"], "b": conversations["john"]},
        )
        conn.execute(
            text("UPDATE conversation SET assignee = 'emre' WHERE id = :id"),
            {"id": conversations["reza"]},
        )
        conn.execute(
            text("UPDATE conversation SET assignee = 'Sara', status = 'snoozed' WHERE id = :id"),
            {"id": conversations["ismail"]},
        )
        conn.execute(text("INSERT INTO tag (name) VALUES ('vip'), ('geri ödəmə')"))
        conn.execute(
            text("INSERT INTO conversationtag (conversation_id, tag) VALUES (:c, 'vip')"),
            {"c": conversations["ismail"]},
        )
        conn.execute(
            text("INSERT INTO conversationtag (conversation_id, tag) VALUES (:c, 'geri ödəmə')"),
            {"c": conversations["leyla"]},
        )
        conn.execute(
            text(
                "INSERT INTO attachment (message_id, filename, content_type, size, sha256, "
                "inline) VALUES (:m, 'receipt.pdf', 'application/pdf', 10, 'x', FALSE)"
            ),
            {"m": ids["john_mail"]},
        )
    customers = {"leyla": leyla, "ayse": ayse, "reza": reza, "ismail": ismail, "john": john}
    return SearchStore(store_url, ids, customers, conversations)


def reader_conversation(url: str, message_id: int) -> int:
    detail = Reader(url).message_detail(message_id)
    assert detail is not None
    return detail.conversation_id


# (query, labels that must be among the hits, labels that must not). Each field's row
# fails if the field were ignored: its "must not" would then be found.
FIELD_CASES = [
    ("istanbul", {"ayse_mail"}, {"leyla_mail"}),
    ("ISTANBUL'DAYIM", {"ayse_mail"}, set()),
    ("sifaris", {"leyla_mail", "reply_leyla"}, {"ayse_mail"}),
    ('"kargo nerede"', {"ayse_mail"}, {"leyla_mail"}),
    ('"nerede kargo"', set(), {"ayse_mail"}),
    ("-kargo from:example", {"leyla_mail"}, {"ayse_mail"}),
    ('refund -"approved for"', {"john_mail"}, {"john_note"}),
    ("from:leyla", {"leyla_mail", "leyla_tg"}, {"reply_leyla", "ayse_mail"}),
    ('from:"Leyla M"', {"leyla_mail", "leyla_tg"}, {"ayse_mail"}),
    ("from:example.az", {"leyla_mail"}, {"leyla_tg", "ayse_mail"}),
    ("from:leyla_m", {"leyla_tg"}, {"leyla_mail"}),
    ("from:رضايي", {"reza_chat"}, {"leyla_mail"}),  # Arabic yeh finds the Farsi one
    ("from:ISIK", {"ismail_phone"}, {"john_mail"}),
    ("-from:leyla", {"ayse_mail", "reply_leyla", "john_note"}, {"leyla_mail", "leyla_tg"}),
    ("to:leyla", {"reply_leyla"}, {"leyla_mail", "leyla_tg"}),
    # The reply went to Leyla's Telegram (where she wrote last), not to her address.
    ("to:leyla_m", {"reply_leyla"}, {"leyla_tg"}),
    ("to:example.az", set(), {"reply_leyla", "leyla_mail"}),
    ("channel:telegram", {"leyla_tg"}, {"leyla_mail"}),
    ("channel:phone", {"ismail_phone"}, {"john_mail"}),
    ("-channel:email", {"leyla_tg", "reza_chat", "john_note"}, {"leyla_mail", "ayse_mail"}),
    ("tag:vip", {"ismail_phone"}, {"ayse_mail"}),
    ("tag:VIP", {"ismail_phone"}, set()),
    ('tag:"geri ödəmə"', {"leyla_mail", "leyla_tg", "reply_leyla"}, {"ismail_phone"}),
    ("is:open", {"leyla_mail", "john_mail"}, {"ayse_mail", "reza_chat", "ismail_phone"}),
    ("is:resolved", {"ayse_mail"}, {"leyla_mail"}),
    ("is:pending", {"reza_chat"}, {"leyla_mail"}),
    ("is:snoozed", {"ismail_phone"}, {"leyla_mail"}),
    # Ayşe and John were read, Leyla answered: Reza and İsmail wait.
    ("is:unread", {"reza_chat", "ismail_phone"}, {"leyla_mail", "ayse_mail", "john_mail"}),
    ("-is:resolved", {"leyla_mail"}, {"ayse_mail"}),
    ("assignee:me", {"reza_chat"}, {"leyla_mail", "ismail_phone"}),
    ("assignee:sara", {"ismail_phone"}, {"reza_chat"}),
    ("assignee:none", {"leyla_mail", "john_mail"}, {"reza_chat", "ismail_phone"}),
    ("-assignee:emre", {"leyla_mail", "ismail_phone"}, {"reza_chat"}),  # NULL kept
    ("-assignee:none", {"reza_chat"}, {"leyla_mail"}),
    ("before:2026-03-11", {"leyla_mail", "john_mail"}, {"leyla_tg"}),
    # 2026-03-11 09:00 UTC is 13:00 in Baku: the day begins at 20:00 UTC the day before.
    ("after:2026-03-11", {"leyla_tg", "ayse_mail"}, {"leyla_mail", "john_mail"}),
    ("before:2026-03-10", {"john_mail"}, {"leyla_mail"}),
    ("after:2w", {"leyla_mail", "ismail_phone"}, {"john_mail"}),
    ("after:12d before:10d", {"leyla_mail"}, {"leyla_tg"}),
    ("has:attachment", {"john_mail"}, {"john_note", "ayse_mail"}),
    ("-has:attachment", {"john_note"}, {"john_mail"}),
    ("customer:yilmaz", {"ayse_mail"}, {"leyla_mail"}),
    ('customer:"leyla məm"', {"leyla_mail", "reply_leyla"}, {"ayse_mail"}),
    ("customer:رضایی", {"reza_chat"}, {"ayse_mail"}),
    ("order customer:john", {"john_mail"}, set()),
    ("kargo is:resolved channel:email from:ayse after:9d", {"ayse_mail"}, set()),
    ("kargo is:resolved channel:email from:ayse after:7d", set(), {"ayse_mail"}),
    ("kargo is:open", set(), {"ayse_mail"}),
]


@pytest.mark.parametrize(("query", "found", "not_found"), FIELD_CASES)
def test_each_field_on_a_real_store(
    search_store: SearchStore, query: str, found: set[str], not_found: set[str]
) -> None:
    labels = search_store.labels(query)
    assert found <= labels, f"{query!r} missed {found - labels}"
    assert not labels & not_found, f"{query!r} found {labels & not_found}"


def test_customer_by_id(search_store: SearchStore) -> None:
    ayse = search_store.customers["ayse"]
    assert search_store.labels(f"customer:{ayse}") == {"ayse_mail"}
    assert "ayse_mail" not in search_store.labels(f"-customer:{ayse}")


def test_ages_count_from_the_callers_now(search_store: SearchStore) -> None:
    assert "ismail_phone" in search_store.labels("after:7d")
    late = NOW + timedelta(days=30)
    # Only the reply and the note, stored at the real time, are that recent.
    assert search_store.labels("after:7d", now=late) <= {"reply_leyla", "john_note"}


def test_plain_words_keep_the_search_they_had(search_store: SearchStore) -> None:
    reader = Reader(search_store.url)
    for words in ("leyla", "sifaris", "İSTANBUL", "رضايي", "example.az", "refund"):
        old = [(h.customer_id, h.message_id, h.excerpt) for h in reader.search(words)]
        new = [(h.customer_id, h.message_id, h.excerpt) for h in reader.search_query(words)]
        assert old == new, words
    # Customers by name come first, as before; a field makes it a search of messages.
    first = reader.search_query("leyla")[0]
    assert first.message_id is None and first.customer_id == search_store.customers["leyla"]
    assert all(h.message_id for h in reader.search_query("leyla is:open"))


def test_hits_carry_their_conversation_newest_first(search_store: SearchStore) -> None:
    hits = Reader(search_store.url).search_query("from:leyla")
    assert [h.message_id for h in hits] == [
        search_store.ids["leyla_tg"],
        search_store.ids["leyla_mail"],
    ]
    top = hits[0]
    assert top.conversation_id == search_store.conversations["leyla"]
    assert (top.status, top.channel, top.direction) == ("open", "telegram", "in")


def test_search_conversations_for_bulk_actions(search_store: SearchStore) -> None:
    reader = Reader(search_store.url)
    conv = search_store.conversations
    context = Context(agent="emre", tz=BAKU, now=NOW)
    # John's note is the newest match.
    assert reader.search_conversations("-is:resolved -is:snoozed -is:pending", context=context) == [
        conv["john"],
        conv["leyla"],
    ]
    assert reader.search_conversations("sifaris") == [conv["leyla"]]
    assert reader.search_conversations("assignee:me", context=context) == [conv["reza"]]
    assert reader.search_conversations("is:open", limit=1) == [conv["john"]]
    with pytest.raises(QueryError):
        reader.search_conversations("is:nope")


def test_many_messages_are_read_past_the_first_window(search_store: SearchStore) -> None:
    """A condition met only by old messages is still found after the newest-first window."""
    from omnitui import reads

    old = reads.SEARCH_WINDOW
    reads.SEARCH_WINDOW = 2  # the newest two messages: the note and Ismail's
    try:
        assert search_store.labels("has:attachment") == {"john_mail"}
        assert search_store.labels("is:open") >= {"leyla_mail", "john_mail"}
    finally:
        reads.SEARCH_WINDOW = old


def test_customer_text_with_fts_syntax_is_only_text(search_store: SearchStore) -> None:
    reader = Reader(search_store.url)
    for hostile in ("NEAR(a b)", "a OR b", "*", "^x", 'from:"a*" ', "tag:'x"):
        reader.search_query(hostile)  # no sqlite3 error: every term is quoted or bound


# -- the command line ------------------------------------------------------------------


def test_cli_reports_a_malformed_query_with_a_caret_and_exit_2(tmp_path: Path) -> None:
    proc = run("search", "kargo", "is:opn", data_dir=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[0] == (
        'omnitui: is:opn at column 7: unknown state "opn" (open, pending, snoozed, '
        "resolved, unread)"
    )
    assert lines[1:] == ["  kargo is:opn", "        ^~~~~~"]
    unclosed = run("search", 'from:"Leyla', data_dir=tmp_path)
    assert unclosed.returncode == 2 and "unclosed quote" in unclosed.stderr


def test_cli_searches_with_fields(tmp_path: Path, store_url: str) -> None:
    assert run("db", "upgrade", data_dir=tmp_path, db=store_url).returncode == 0
    from omnitui import db

    engine = db.make_engine(store_url)
    leyla, mail = one(
        engine,
        message(1, "Sifarişim gecikir", address="leyla@example.az", name="Leyla Məmmədova"),
    )
    _, chat = one(
        engine,
        message(2, "Sifarişim haradadır?", address="v-1", channel="webchat", name="Ayşe"),
    )
    proc = run("search", "sifarisim", "channel:webchat", "--json", data_dir=tmp_path, db=store_url)
    assert proc.returncode == 0, proc.stderr
    [hit] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert hit["message_id"] == chat and hit["channel"] == "webchat"
    assert hit["status"] == "open" and isinstance(hit["conversation_id"], int)
    assert {"customer_id", "name", "message_id", "excerpt", "at"} <= hit.keys()
    # A negated term may start the query: it is not taken for an option.
    proc = run("search", "-channel:webchat", "sifarisim", "--json", data_dir=tmp_path, db=store_url)
    assert [json.loads(line)["message_id"] for line in proc.stdout.splitlines()] == [mail]
    assert leyla
