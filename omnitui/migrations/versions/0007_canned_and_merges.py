"""Canned replies as the team workflow needs them (a title, a shortcut, tags, and a body per
language: ``canned`` and ``cannedvariant``, replacing the unused one-body ``cannedreply``, whose
rows are carried over), and the record of each customer merge that makes it undoable exactly
(``mergerecord``: what moved, as JSON, and the state before).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("shortcut", sa.String(), nullable=False),
        sa.Column("tags", sa.String(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shortcut"),
    )
    op.create_table(
        "cannedvariant",
        sa.Column("canned_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["canned_id"], ["canned.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("canned_id", "language"),
    )
    op.execute(
        "INSERT INTO canned (id, title, shortcut, tags, updated_at, updated_by) "
        "SELECT id, name, name, '', CURRENT_TIMESTAMP, '' FROM cannedreply"
    )
    op.execute(
        "INSERT INTO cannedvariant (canned_id, language, body) "
        "SELECT id, CASE WHEN language = '' THEN 'en' ELSE language END, body FROM cannedreply"
    )
    op.drop_table("cannedreply")
    op.create_table(
        "mergerecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("moved", sa.String(), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(["source_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["target_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mergerecord_target_id", "mergerecord", ["target_id"])
    op.create_index("ix_mergerecord_source_id", "mergerecord", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_mergerecord_source_id", "mergerecord")
    op.drop_index("ix_mergerecord_target_id", "mergerecord")
    op.drop_table("mergerecord")
    op.create_table(
        "cannedreply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.execute(
        "INSERT INTO cannedreply (id, name, body, language) "
        "SELECT c.id, c.shortcut, v.body, v.language FROM canned c JOIN cannedvariant v "
        "ON v.canned_id = c.id AND v.language = (SELECT min(language) FROM cannedvariant "
        "WHERE canned_id = c.id)"
    )
    op.drop_table("cannedvariant")
    op.drop_table("canned")
