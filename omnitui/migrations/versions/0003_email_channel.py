"""What the email channel needs: message references, content hashes, the raw message,
attachment details, a connector's progress, quarantine dedupe, and moves in the audit log.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as t:
        t.add_column(sa.Column("refs", sa.String(), nullable=True))
        t.add_column(sa.Column("content_hash", sa.String(), nullable=True))
    op.create_table(
        "messageraw",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("message_id"),
    )
    with op.batch_alter_table("attachment") as t:
        t.add_column(sa.Column("inline", sa.Boolean(), nullable=False, server_default="0"))
        t.add_column(sa.Column("content_id", sa.String(), nullable=True))
        t.add_column(sa.Column("omitted", sa.String(), nullable=True))
    with op.batch_alter_table("connectorstate") as t:
        t.add_column(sa.Column("detail", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("quarantine") as t:
        t.add_column(sa.Column("source", sa.String(), nullable=False, server_default=""))
        t.add_column(sa.Column("sha256", sa.String(), nullable=False, server_default=""))
    op.create_index("ix_quarantine_sha256", "quarantine", ["account", "sha256"])
    with op.batch_alter_table("event") as t:
        t.add_column(sa.Column("message_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event") as t:
        t.drop_column("message_id")
    op.drop_index("ix_quarantine_sha256", "quarantine")
    with op.batch_alter_table("quarantine") as t:
        t.drop_column("sha256")
        t.drop_column("source")
    with op.batch_alter_table("connectorstate") as t:
        t.drop_column("detail")
    with op.batch_alter_table("attachment") as t:
        t.drop_column("omitted")
        t.drop_column("content_id")
        t.drop_column("inline")
    op.drop_table("messageraw")
    with op.batch_alter_table("message") as t:
        t.drop_column("content_hash")
        t.drop_column("refs")
