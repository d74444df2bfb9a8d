"""Full-text index over messages and customers, and the quarantine for unparsable input.

The index holds text folded by omnitui.normalize (computed in Python, so every
store indexes the same words); existing messages and customers are indexed here.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        raise NotImplementedError("full-text index: only SQLite in this version")
    # Folding happens before indexing, so the tokenizer only splits words.
    for table in ("message_fts", "customer_fts"):
        op.execute(
            f"CREATE VIRTUAL TABLE {table} USING fts5(body, "
            "tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')"
        )
    from omnitui.normalize import fold

    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, subject, body FROM message WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        conn.execute(
            sa.text("INSERT INTO message_fts(rowid, body) VALUES (:id, :body)"),
            [{"id": r.id, "body": fold(f"{r.subject}\n{r.body}")} for r in rows],
        )
        last = rows[-1].id
    customers = conn.execute(
        sa.text(
            "SELECT c.id, c.name, group_concat(i.address || ' ' || i.display_name, ' ') AS ids "
            "FROM customer c LEFT JOIN identity i ON i.customer_id = c.id GROUP BY c.id"
        )
    ).all()
    if customers:
        conn.execute(
            sa.text("INSERT INTO customer_fts(rowid, body) VALUES (:id, :body)"),
            [{"id": r.id, "body": fold(f"{r.name} {r.ids or ''}")} for r in customers],
        )


def downgrade() -> None:
    op.execute("DROP TABLE customer_fts")
    op.execute("DROP TABLE message_fts")
    op.drop_table("quarantine")
