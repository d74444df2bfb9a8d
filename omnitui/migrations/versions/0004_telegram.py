"""What the Telegram channel needs: an identity's handle (the username, kept current) and
the edit history of messages (the previous text of each edited message).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity") as t:
        t.add_column(sa.Column("handle", sa.String(), nullable=False, server_default=""))
    op.create_table(
        "messageedit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_messageedit_message_id", "messageedit", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_messageedit_message_id", "messageedit")
    op.drop_table("messageedit")
    with op.batch_alter_table("identity") as t:
        t.drop_column("handle")
