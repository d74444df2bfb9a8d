"""What a team sharing one store needs: each running TUI's presence (``presence.seen_at``,
the online heartbeat, apart from ``heartbeat_at``, the last sign of work), drafts that survive
a crash (``draft``), blocked identities (``identity.blocked_at``/``blocked_by``), notes on a
customer (``customer.notes``), and the indexes the views count with.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("presence") as t:
        t.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("identity") as t:
        t.add_column(sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("blocked_by", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("customer") as t:
        t.add_column(sa.Column("notes", sa.String(), nullable=False, server_default=""))
    op.create_table(
        "draft",
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False, server_default="reply"),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.String(), nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("agent", "customer_id"),
    )
    op.create_index("ix_conversation_status_assignee", "conversation", ["status", "assignee"])
    op.create_index("ix_conversation_snoozed_until", "conversation", ["snoozed_until"])
    op.create_index("ix_conversationtag_tag", "conversationtag", ["tag"])


def downgrade() -> None:
    op.drop_index("ix_conversationtag_tag", "conversationtag")
    op.drop_index("ix_conversation_snoozed_until", "conversation")
    op.drop_index("ix_conversation_status_assignee", "conversation")
    op.drop_table("draft")
    with op.batch_alter_table("customer") as t:
        t.drop_column("notes")
    with op.batch_alter_table("identity") as t:
        t.drop_column("blocked_by")
        t.drop_column("blocked_at")
    with op.batch_alter_table("presence") as t:
        t.drop_column("seen_at")
