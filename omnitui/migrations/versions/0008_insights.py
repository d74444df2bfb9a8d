"""What service insights and automation need: the channel a conversation began on and its
SLA targets (``conversation.channel``, ``sla_policy``, ``sla_key``, ``first_response_due_at``,
``resolution_due_at``), its satisfaction survey (``csat_*``) and the FAQ bot's part in it
(``bot_answers``, ``handed_off_at``); what kind of message a row is (``message.kind``: a
bot's answer, a survey, a rating, a phone call) and the buttons an outgoing one offers
(``message.buttons``); the details of a logged phone call
(``phonecall``); and the knowledge base the bot answers from (``kbentry``, ``kbvariant`` and
its full-text twin ``kb_fts``, made as 0002 makes ``message_fts``).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

def _conversation_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("channel", sa.String(), nullable=False, server_default=""),
        sa.Column("sla_policy", sa.String(), nullable=True),
        sa.Column("sla_key", sa.String(), nullable=True),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("csat_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("csat_score", sa.Integer(), nullable=True),
        sa.Column("csat_comment", sa.String(), nullable=False, server_default=""),
        sa.Column("csat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bot_answers", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("handed_off_at", sa.DateTime(timezone=True), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        for column in _conversation_columns():
            batch.add_column(column)
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("kind", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("buttons", sa.String(), nullable=True))
    # The channel of a conversation is the channel of its first message that has one.
    op.execute(
        "UPDATE conversation SET channel = COALESCE((SELECT m.channel FROM message m "
        "WHERE m.conversation_id = conversation.id AND m.channel <> '' "
        "ORDER BY m.id LIMIT 1), '')"
    )
    op.create_index("ix_conversation_opened_at", "conversation", ["opened_at"])
    op.create_index("ix_conversation_resolved_at", "conversation", ["resolved_at"])
    op.create_index("ix_event_conversation_id", "event", ["conversation_id"])
    # The reports: a period's messages from the indexes alone; a conversation's replies in
    # one probe (it leads with conversation_id: it takes ix_message_conversation_id's place).
    op.create_index(
        "ix_message_in",
        "message",
        ["direction", "channel", "sent_at", "kind", "conversation_id"],
        sqlite_where=sa.text("direction = 'in'"),
        postgresql_where=sa.text("direction = 'in'"),
    )
    op.create_index(
        "ix_message_out",
        "message",
        ["direction", "sent_at", "kind", "conversation_id"],
        sqlite_where=sa.text("direction = 'out'"),
        postgresql_where=sa.text("direction = 'out'"),
    )
    op.create_index(
        "ix_message_conversation_reply",
        "message",
        ["conversation_id", "direction", "sent_at", "kind"],
    )
    op.drop_index("ix_message_conversation_id", "message")
    op.create_index(
        "ix_message_phone",
        "message",
        ["customer_id"],
        sqlite_where=sa.text("channel = 'phone'"),
        postgresql_where=sa.text("channel = 'phone'"),
    )
    op.create_table(
        "phonecall",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_table(
        "kbentry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("tags", sa.String(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "kbvariant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("question", sa.String(), nullable=False),
        sa.Column("answer", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["kbentry.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "language"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE kb_fts (rowid bigint PRIMARY KEY, body text NOT NULL, "
            "tsv tsvector GENERATED ALWAYS AS (omnitui_tsv(body)) STORED)"
        )
        op.execute("CREATE INDEX ix_kb_fts_tsv ON kb_fts USING gin (tsv)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE kb_fts USING fts5(body, "
            "tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')"
        )


def downgrade() -> None:
    op.execute("DROP TABLE kb_fts")
    op.drop_table("kbvariant")
    op.drop_table("kbentry")
    op.drop_table("phonecall")
    op.drop_index("ix_message_phone", "message")
    op.create_index("ix_message_conversation_id", "message", ["conversation_id"])
    op.drop_index("ix_message_conversation_reply", "message")
    op.drop_index("ix_message_out", "message")
    op.drop_index("ix_message_in", "message")
    op.drop_index("ix_event_conversation_id", "event")
    op.drop_index("ix_conversation_resolved_at", "conversation")
    op.drop_index("ix_conversation_opened_at", "conversation")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("buttons")
        batch.drop_column("kind")
    with op.batch_alter_table("conversation") as batch:
        for column in reversed(_conversation_columns()):
            batch.drop_column(column.name)
