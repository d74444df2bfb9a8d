"""What the web chat needs of an identity: the email address a visitor said was theirs while
that is unproven (``claimed_email``), and when the visitor was last seen typing
(``typing_at``, shown in the TUI as "typing…").

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity") as t:
        t.add_column(sa.Column("claimed_email", sa.String(), nullable=True))
        t.add_column(sa.Column("typing_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity") as t:
        t.drop_column("typing_at")
        t.drop_column("claimed_email")
