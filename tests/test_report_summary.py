"""The reports' summary the store keeps itself (migration 0009's triggers): after every
kind of write a message can see, the quarter-hour counts and each conversation's agent
replies and first responder equal what the messages say, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from omnitui import db, inbox
from omnitui.connectors.base import Batch, InboundMessage
from omnitui.reads import parse_stamp

T0 = datetime(2025, 11, 3, 9, 7, tzinfo=UTC)
COUNTED = "kind IN ('', 'call')"
"""What messagecount counts: messages written or called (notes too; the reports read only
customer messages and replies)."""


def _quarter(value: object) -> datetime:
    at = value if isinstance(value, datetime) else parse_stamp(str(value))
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute // 15 * 15, second=0, microsecond=0)


def _all(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).all())


def kept(engine: Engine) -> dict[tuple[datetime, str, str, str], int]:
    """messagecount as the triggers left it (a row counted down to 0 is gone)."""
    return {
        (_quarter(bucket), direction, channel, author): int(n)
        for bucket, direction, channel, author, n in _all(
            engine, "SELECT bucket, direction, channel, author, n FROM messagecount"
        )
    }


def counted(engine: Engine) -> dict[tuple[datetime, str, str, str], int]:
    """The same, worked out from the messages."""
    found: dict[tuple[datetime, str, str, str], int] = {}
    for sent_at, direction, channel, author in _all(
        engine, f"SELECT sent_at, direction, channel, author FROM message WHERE {COUNTED}"
    ):
        key = (
            _quarter(sent_at),
            direction,
            "" if direction == "out" else channel,
            author[:200] if direction == "out" else "",
        )
        found[key] = found.get(key, 0) + 1
    return found


def conversations(engine: Engine) -> dict[int, tuple[int, str]]:
    return {
        int(i): (int(n), str(who))
        for i, n, who in _all(
            engine, "SELECT id, agent_replies, first_responder FROM conversation ORDER BY id"
        )
    }


def worked_out(engine: Engine) -> dict[int, tuple[int, str]]:
    found = {i: (0, "") for i in conversations(engine)}
    replies = _all(
        engine,
        "SELECT conversation_id, author FROM message WHERE direction = 'out' "
        "AND kind IN ('', 'call') ORDER BY sent_at, id",
    )
    for conversation, author in replies:
        n, first = found[int(conversation)]
        found[int(conversation)] = (n + 1, first or author[:200])
    return found


def message(n: int, direction: str, at: datetime, **chosen: Any) -> InboundMessage:
    values: dict[str, Any] = {
        "account": "mail",
        "channel": "email",
        "external_id": f"s{n}",
        "address": "ayse@example.com.tr",
        "body": f"message {n}",
        "sent_at": at,
        "direction": direction,
        "author": "aysel" if direction == "out" else "Ayşe",
    } | chosen
    return InboundMessage(**values)


def test_the_summary_follows_every_write_of_a_message(engine: Engine) -> None:
    long_name = "agent " + "x" * 300
    stored = inbox.ingest(
        engine,
        Batch(
            [
                message(1, "in", T0),
                message(2, "out", T0 + timedelta(minutes=20), author="rauf"),
                message(3, "in", T0 + timedelta(minutes=31)),
                message(4, "out", T0 + timedelta(hours=1), author=long_name),
                message(
                    5,
                    "in",
                    T0 + timedelta(days=1),
                    channel="telegram",
                    account="tg",
                    address="2002",
                    external_id="t5",
                ),
            ]
        ),
    )
    conversation = stored[0].conversation_id
    assert conversation is not None
    # A reply from the TUI, a call logged, the bot's answer (not counted).
    customer = stored[0].customer_id
    inbox.queue_reply(engine, customer, "Kargonuz yolda", agent="leyla")
    inbox.log_call(
        engine, customer, direction="out", duration_seconds=60, outcome="answered",
        notes="", agent="leyla", at=T0 + timedelta(hours=2),
    )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE message SET kind = 'bot' WHERE id = "
                "(SELECT max(id) FROM message WHERE direction = 'in')"
            )
        )
    assert kept(engine) == counted(engine)
    assert conversations(engine) == worked_out(engine)
    assert conversations(engine)[conversation] == (4, "rauf")

    # An agent's first reply moved to a conversation of its own, then back.
    first_reply = stored[1].message_id
    assert first_reply is not None
    event = inbox.move_message(engine, first_reply, None, agent="leyla")
    assert conversations(engine)[conversation] == (3, long_name[:200])
    assert conversations(engine) == worked_out(engine)
    inbox.undo_move(engine, event, agent="leyla")
    assert conversations(engine)[conversation] == (4, "rauf")

    # Changed in place (times, author, kind) and deleted.
    with db.write(engine) as session:
        moved = session.get(db.Message, stored[3].message_id)
        assert moved is not None
        moved.sent_at, moved.author = T0 - timedelta(minutes=5), "aysel"
        session.add(moved)
        survey = session.get(db.Message, stored[1].message_id)
        assert survey is not None
        survey.kind = "survey"
        session.add(survey)
    assert kept(engine) == counted(engine)
    assert conversations(engine)[conversation] == (3, "aysel")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM phonecall"))
        conn.execute(text("DELETE FROM message WHERE direction = 'out'"))
    assert kept(engine) == counted(engine)
    assert conversations(engine) == worked_out(engine)
    assert conversations(engine)[conversation] == (0, "")


def test_a_demo_fill_keeps_the_summary_and_the_triggers(tmp_path: Path) -> None:
    """The fill sets the triggers aside while a batch goes in and writes its summary in
    two statements: the same figures, and the triggers are there again afterwards."""
    from omnitui import bulk

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    bulk.fill_demo(url, customers=40, messages=1_200, seed=3, batch_messages=500)
    assert kept(engine) == counted(engine) != {}
    assert conversations(engine) == worked_out(engine)
    assert sum(n for n, _first in conversations(engine).values()) > 0
    inbox.ingest(engine, Batch([message(1, "in", T0), message(2, "out", T0)]))
    assert kept(engine) == counted(engine)
    assert conversations(engine) == worked_out(engine)
    engine.dispose()
