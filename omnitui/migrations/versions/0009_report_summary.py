"""The reports' summary, kept by the store itself: messages by quarter hour
(``messagecount``), and on each conversation its agent replies (``agent_replies``) and
who wrote the first (``first_responder``), so that a year of a large store is reported
without reading its messages (docs/architecture.md, "Reports").

Triggers keep them, on both stores, on every insert, delete and change of a message
(and insert of a conversation): whatever writes a message (the runner, the TUI, an
import, ``omnitui db copy``, a customer merge) keeps them true without knowing of them.
A later migration that rebuilds ``message`` or ``conversation`` (a SQLite batch
"move and copy") must make these triggers again.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COUNTED = "IN ('', 'call')"
"""The kinds of message the reports count: written or called, not a bot's answer, a survey
or a rating."""

# -- SQLite ------------------------------------------------------------------------------

_SQLITE_BUCKET = (
    "substr({s}, 1, 14) || CASE WHEN substr({s}, 15, 2) < '15' THEN '00' "
    "WHEN substr({s}, 15, 2) < '30' THEN '15' WHEN substr({s}, 15, 2) < '45' THEN '30' "
    "ELSE '45' END || ':' || '00.000000'"  # (":00" would be a bind parameter to op.execute)
)
"""The quarter hour a stored time (text 'YYYY-MM-DD HH:MM:SS.ffffff', UTC) falls in, in
the same form."""


def _channel(row: str) -> str:
    """A customer message is counted by its channel, a reply by its author alone."""
    return f"CASE WHEN {row}.direction = 'out' THEN '' ELSE {row}.channel END"


def _sqlite_key(row: str) -> str:
    bucket = _SQLITE_BUCKET.format(s=f"{row}.sent_at")
    author = f"CASE WHEN {row}.direction = 'out' THEN substr({row}.author, 1, 200) ELSE '' END"
    return f"{bucket}, {row}.direction, {_channel(row)}, {author}"


def _sqlite_add(row: str) -> str:
    return (
        f"INSERT INTO messagecount (bucket, direction, channel, author, n) "
        f"SELECT {_sqlite_key(row)}, 1 WHERE {row}.kind {COUNTED} "
        "ON CONFLICT (bucket, direction, channel, author) DO UPDATE SET n = n + 1;"
    )


def _sqlite_remove(row: str) -> str:
    bucket = _SQLITE_BUCKET.format(s=f"{row}.sent_at")
    author = f"CASE WHEN {row}.direction = 'out' THEN substr({row}.author, 1, 200) ELSE '' END"
    return (
        f"UPDATE messagecount SET n = n - 1 WHERE {row}.kind {COUNTED} AND bucket = {bucket} "
        f"AND direction = {row}.direction AND channel = {_channel(row)} AND author = {author}; "
        f"DELETE FROM messagecount WHERE n <= 0 AND bucket = {bucket};"
    )


_REPLIES = "m.conversation_id = conversation.id AND m.direction = 'out' AND m.kind " + COUNTED
_CONVERSATION = (
    f"UPDATE conversation SET agent_replies = (SELECT count(*) FROM message m WHERE {_REPLIES}), "
    "first_responder = COALESCE((SELECT substr(m.author, 1, 200) FROM message m "
    f"WHERE {_REPLIES} ORDER BY m.sent_at, m.id LIMIT 1), '') "
    "WHERE id = {id}"
)
"""Work a conversation's summary out again from its replies (a probe of
ix_message_conversation_reply: a conversation has tens of messages)."""

_ADDED = (
    "UPDATE conversation SET agent_replies = agent_replies + 1, first_responder = CASE "
    "WHEN agent_replies > 0 AND EXISTS (SELECT 1 FROM message m WHERE "
    "m.conversation_id = {row}.conversation_id AND m.direction = 'out' "
    f"AND m.kind {COUNTED} AND m.id <> {{row}}.id AND (m.sent_at < {{row}}.sent_at "
    "OR (m.sent_at = {row}.sent_at AND m.id < {row}.id))) "
    "THEN first_responder ELSE substr({row}.author, 1, 200) END WHERE id = {row}.conversation_id"
)
"""A reply added: one more, and its author is the first responder unless an earlier reply
is there (one probe; a bulk fill adds half a million)."""


def _sqlite_triggers() -> tuple[str, ...]:
    touched = "{row}.direction = 'out' AND {row}.kind " + COUNTED
    return (
        "CREATE TRIGGER messagecount_insert AFTER INSERT ON message BEGIN "
        f"{_sqlite_add('new')} "
        f"{_ADDED.format(row='new')} AND {touched.format(row='new')}; END",
        "CREATE TRIGGER messagecount_delete AFTER DELETE ON message BEGIN "
        f"{_sqlite_remove('old')} "
        f"{_CONVERSATION.format(id='old.conversation_id')} AND {touched.format(row='old')}; END",
        "CREATE TRIGGER messagecount_update AFTER UPDATE OF "
        "sent_at, direction, channel, author, kind, conversation_id ON message BEGIN "
        f"{_sqlite_remove('old')} {_sqlite_add('new')} "
        f"{_CONVERSATION.format(id='old.conversation_id')} AND ({touched.format(row='old')} "
        f"OR {touched.format(row='new')}); "
        f"{_CONVERSATION.format(id='new.conversation_id')} AND ({touched.format(row='old')} "
        f"OR {touched.format(row='new')}) AND new.conversation_id <> old.conversation_id; END",
        # A conversation written after its messages (an import that keeps its own ids).
        "CREATE TRIGGER conversation_summary_insert AFTER INSERT ON conversation BEGIN "
        f"{_CONVERSATION.format(id='new.id')}; END",
    )


# -- PostgreSQL --------------------------------------------------------------------------

_PG_FUNCTION = f"""
CREATE FUNCTION omnitui_message_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.kind {COUNTED} THEN
    UPDATE messagecount SET n = n - 1
     WHERE bucket = date_bin('15 minutes', OLD.sent_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')
       AND direction = OLD.direction AND channel = {_channel("OLD")}
       AND author = CASE WHEN OLD.direction = 'out' THEN substr(OLD.author, 1, 200) ELSE '' END;
    DELETE FROM messagecount WHERE n <= 0
     AND bucket = date_bin('15 minutes', OLD.sent_at, TIMESTAMPTZ '2000-01-01 00:00:00+00');
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.kind {COUNTED} THEN
    INSERT INTO messagecount (bucket, direction, channel, author, n)
    VALUES (date_bin('15 minutes', NEW.sent_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
            NEW.direction, {_channel("NEW")},
            CASE WHEN NEW.direction = 'out' THEN substr(NEW.author, 1, 200) ELSE '' END, 1)
    ON CONFLICT (bucket, direction, channel, author) DO UPDATE SET n = messagecount.n + 1;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.direction = 'out' AND OLD.kind {COUNTED} THEN
    {_CONVERSATION.format(id="OLD.conversation_id")};
  END IF;
  IF TG_OP = 'INSERT' AND NEW.direction = 'out' AND NEW.kind {COUNTED} THEN
    {_ADDED.format(row="NEW")};
  ELSIF TG_OP = 'UPDATE' AND NEW.direction = 'out' AND NEW.kind {COUNTED}
     AND (NEW.conversation_id <> OLD.conversation_id
          OR OLD.direction <> 'out' OR OLD.kind NOT {COUNTED}
          OR NEW.sent_at <> OLD.sent_at OR NEW.author <> OLD.author) THEN
    {_CONVERSATION.format(id="NEW.conversation_id")};
  END IF;
  RETURN NULL;
END $$
"""

_PG_CONVERSATION_FUNCTION = f"""
CREATE FUNCTION omnitui_conversation_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_CONVERSATION.format(id="NEW.id")};
  RETURN NULL;
END $$
"""


def _postgresql_triggers() -> tuple[str, ...]:
    return (
        _PG_FUNCTION,
        "CREATE TRIGGER messagecount AFTER INSERT OR DELETE OR UPDATE OF "
        "sent_at, direction, channel, author, kind, conversation_id ON message "
        "FOR EACH ROW EXECUTE FUNCTION omnitui_message_summary()",
        _PG_CONVERSATION_FUNCTION,
        "CREATE TRIGGER conversation_summary AFTER INSERT ON conversation "
        "FOR EACH ROW EXECUTE FUNCTION omnitui_conversation_summary()",
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(
            sa.Column("agent_replies", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("first_responder", sa.String(), nullable=False, server_default="")
        )
    op.create_table(
        "messagecount",
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "direction", "channel", "author"),
    )
    # What is there already, in one pass each.
    if postgresql:
        bucket = "date_bin('15 minutes', sent_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    else:
        bucket = _SQLITE_BUCKET.format(s="sent_at")
    op.execute(
        "INSERT INTO messagecount (bucket, direction, channel, author, n) "
        f"SELECT {bucket}, direction, {_channel('message')}, "
        "CASE WHEN direction = 'out' THEN substr(author, 1, 200) ELSE '' END, count(*) "
        f"FROM message WHERE kind {COUNTED} GROUP BY 1, 2, 3, 4"
    )
    op.execute(
        f"UPDATE conversation SET agent_replies = (SELECT count(*) FROM message m WHERE {_REPLIES}), "
        "first_responder = COALESCE((SELECT substr(m.author, 1, 200) FROM message m "
        f"WHERE {_REPLIES} ORDER BY m.sent_at, m.id LIMIT 1), '')"
    )
    for sql in _postgresql_triggers() if postgresql else _sqlite_triggers():
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER conversation_summary ON conversation")
        op.execute("DROP TRIGGER messagecount ON message")
        op.execute("DROP FUNCTION omnitui_conversation_summary()")
        op.execute("DROP FUNCTION omnitui_message_summary()")
    else:
        for name in (
            "conversation_summary_insert",
            "messagecount_update",
            "messagecount_delete",
            "messagecount_insert",
        ):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("messagecount")
    with op.batch_alter_table("conversation") as batch:
        batch.drop_column("first_responder")
        batch.drop_column("agent_replies")
