"""Full-text index over messages and customers, and the quarantine for unparsable input.

The index holds text folded and split into words by omnitui.normalize (computed in
Python, so every store indexes the same words); existing messages and customers are
indexed here.

SQLite: FTS5 tables. PostgreSQL: tables of the same name and columns (rowid, body) with a
generated ``tsv`` column and a GIN index on it; ``omnitui_tsv`` makes the tsvector by
splitting at spaces only (the words were made in Python; the text search parser would
split them by the database's locale). Also on PostgreSQL: ``omnitui_fold``, the twin of
normalize.fold for the search's from:/to:/customer: terms (a test holds it to fold on
the normalization table and on random text), and ``instr`` as SQLite has it.

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
    if conn.dialect.name == "postgresql":
        _postgresql_functions()
        for table in ("message_fts", "customer_fts"):
            op.execute(
                f"CREATE TABLE {table} (rowid bigint PRIMARY KEY, body text NOT NULL, "
                "tsv tsvector GENERATED ALWAYS AS (omnitui_tsv(body)) STORED)"
            )
            op.execute(f"CREATE INDEX ix_{table}_tsv ON {table} USING gin (tsv)")
    else:
        # Folding happens before indexing, so the tokenizer only splits words.
        for table in ("message_fts", "customer_fts"):
            op.execute(
                f"CREATE VIRTUAL TABLE {table} USING fts5(body, "
                "tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')"
            )
    from omnitui.normalize import fts_text

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
            [{"id": r.id, "body": fts_text(f"{r.subject}\n{r.body}")} for r in rows],
        )
        last = rows[-1].id
    concat = "string_agg" if conn.dialect.name == "postgresql" else "group_concat"
    customers = conn.execute(
        sa.text(
            f"SELECT c.id, c.name, {concat}(i.address || ' ' || i.display_name, ' ') AS ids "
            "FROM customer c LEFT JOIN identity i ON i.customer_id = c.id GROUP BY c.id"
        )
    ).all()
    if customers:
        conn.execute(
            sa.text("INSERT INTO customer_fts(rowid, body) VALUES (:id, :body)"),
            [{"id": r.id, "body": fts_text(f"{r.name} {r.ids or ''}")} for r in customers],
        )


def _marks() -> str:
    """A regex bracket of what normalize.fold drops after NFD: categories Mn, Me, Cf."""
    import sys
    import unicodedata

    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in ("Mn", "Me", "Cf"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    parts = (f"\\U{a:08X}" if a == b else f"\\U{a:08X}-\\U{b:08X}" for a, b in ranges)
    return "[" + "".join(parts) + "]"


# A word of the index never holds a quote or a backslash (normalize.words keeps \w only),
# but rows written by hand might: both are escaped for the tsvector's literal form.
_TSV = r"""CREATE FUNCTION omnitui_tsv(body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT coalesce(string_agg(
    '''' || replace(replace(w, '\', '\\'), '''', '''''') || ''':' || least(n, 16383),
    ' ')::tsvector, ''::tsvector)
FROM unnest(string_to_array(body, ' ')) WITH ORDINALITY AS t(w, n)
WHERE w <> '' AND octet_length(w) < 2047
$$"""


# The newest ``wanted`` rows of a full-text table matching ``q``, newest first, without
# reading every match: FTS5 keeps a word's rows in rowid order, GIN does not, and the
# planner's guess of a prefix query's matches is often wrong by thousands. First the
# newest WINDOW rows by the primary key (a common word fills the page there), then the
# older matches through the GIN index (a rare word has few). ROWS 50: a page, what the
# planner should expect (its default of 1,000 made it hash-join the conversations: 0.2 s).
_NEWEST = r"""CREATE FUNCTION omnitui_fts_newest(fts regclass, q tsquery, wanted integer)
RETURNS SETOF bigint LANGUAGE plpgsql STABLE ROWS 50 AS $$
DECLARE
    top bigint;
    found bigint;
BEGIN
    EXECUTE format('SELECT max(rowid) FROM %s', fts) INTO top;
    IF top IS NULL OR wanted <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT rowid FROM %s WHERE rowid > $2 AND tsv @@ $1 ORDER BY rowid DESC LIMIT $3', fts)
        USING q, top - 20000, wanted;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found < wanted AND top > 20000 THEN
        RETURN QUERY EXECUTE format(
            'WITH m AS MATERIALIZED (SELECT rowid FROM %s WHERE tsv @@ $1) '
            'SELECT rowid FROM m WHERE rowid <= $2 ORDER BY rowid DESC LIMIT $3', fts)
            USING q, top - 20000, wanted - found;
    END IF;
END
$$"""


def _postgresql_functions() -> None:
    op.execute(_TSV)
    op.execute(_NEWEST)
    # normalize.fold: NFKC, the Turkish i, case, marks and format characters dropped after
    # NFD, NFC, Arabic letters and digits. lower() under ICU's root collation, so that case
    # folds beyond ASCII whatever the database's own locale is; ß as casefold() has it.
    digits = "".join(chr(0x0660 + d) for d in range(10)) + "".join(
        chr(0x06F0 + d) for d in range(10)
    )
    marks = _marks()  # \UXXXXXXXX escapes, read by the regex engine (standard strings)
    op.execute(
        f"""CREATE FUNCTION omnitui_fold(value text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT translate(
            normalize(regexp_replace(normalize(replace(lower(translate(
                normalize(coalesce(value, ''), NFKC), 'İIı', 'iii') COLLATE "und-x-icu"),
                'ß', 'ss'), NFD),
                '{marks}', '', 'g'), NFC),
            'يىكة{digits}ـ', 'ییکه01234567890123456789')
        $$"""
    )
    op.execute(
        "CREATE FUNCTION instr(haystack text, needle text) RETURNS integer "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT strpos(haystack, needle) $$"
    )


def downgrade() -> None:
    op.execute("DROP TABLE customer_fts")
    op.execute("DROP TABLE message_fts")
    if op.get_bind().dialect.name == "postgresql":
        for function in (
            "omnitui_fts_newest(regclass, tsquery, integer)",
            "omnitui_tsv(text)",
            "omnitui_fold(text)",
            "instr(text, text)",
        ):
            op.execute(f"DROP FUNCTION {function}")
