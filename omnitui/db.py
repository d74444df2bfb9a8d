"""The store: engine, tables, pragmas, full-text index and migration entry points.

SQLite is the embedded default; every SQLite-only piece of SQL (pragmas, FTS5,
BEGIN IMMEDIATE) sits behind a function here so that PostgreSQL gets its twin in
one place. Tables are created and changed only by the Alembic migrations in
omnitui/migrations; ``SCHEMA_HEAD`` names the revision this code expects.

Must not import Textual or any connector.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlmodel import Column, Field, Session, SQLModel

from omnitui.normalize import fts_text
from omnitui.reads import (
    SCHEMA_HEAD,
    UNDELIVERED,
    SchemaError,
    is_postgresql,
    schema_revision,
    sqlite_path,
    stamp,
)
from omnitui.text import without_nul

__all__ = ["SCHEMA_HEAD", "UNDELIVERED", "SchemaError", "stamp"]

BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (DESIGN invariant 4: stored in UTC, shown local)."""
    return datetime.now(UTC)


# ---------------------------------------------------------------------------
# Tables. Times are aware UTC datetimes (SQLModel refuses naive ones). Strings
# that name a state are checked in inbox.py, the only writer.


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    # Denormalized for the customer list, kept in step by inbox.py in the same
    # transaction as the change, so the first screen is one indexed read.
    last_activity_at: datetime = Field(default_factory=utcnow, index=True)
    preview: str = ""
    channels: str = ""
    unread_count: int = 0
    open_count: int = 0
    # Bumped whenever anything in this customer's history changes (a message,
    # a delivery state, a status): a TUI reloads the timeline when it moves.
    version: int = 0
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id")
    notes: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """What the team keeps about this customer (agents write it; never sent)."""


class Identity(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    channel: str
    address: str
    display_name: str = ""
    account: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    unreachable_reason: str | None = None
    """Why replies to this address cannot be delivered (the user blocked the bot); cleared
    when the address writes again."""
    handle: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """The public handle on the channel (a Telegram username, without the @), kept current."""
    claimed_email: str | None = None
    """Set while this identity belongs to its customer only because a web chat visitor said
    this email address is theirs (unproven); cleared when that address answers an email in
    the chat's conversation."""
    typing_at: datetime | None = None
    """When this address (a web chat visitor) was last seen typing."""
    blocked_at: datetime | None = None
    """Set when an agent blocked this address (spam): its messages are still stored, never
    lost, but reopen nothing and count as read."""
    blocked_by: str = Field(default="", sa_column_kwargs={"server_default": ""})


class Conversation(SQLModel, table=True):
    __table_args__ = (
        Index("ix_conversation_customer_status", "customer_id", "status"),
        Index("ix_conversation_status_assignee", "status", "assignee"),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    status: str = "open"
    assignee: str | None = None
    snoozed_until: datetime | None = Field(default=None, index=True)
    opened_at: datetime = Field(default_factory=utcnow, index=True)
    first_inbound_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = Field(default=None, index=True)
    last_message_at: datetime = Field(default_factory=utcnow)
    channel: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """The channel of its first message ("email", "telegram", "webchat", "phone"): what the
    reports group by and an SLA policy matches."""
    sla_policy: str | None = None
    """The name of the SLA policy whose targets it has ("" none matched, None not yet looked at)."""
    sla_key: str | None = None
    """The fingerprint of the SLA configuration the targets were worked out with: a
    conversation still going whose key is not the current one gets its targets again."""
    first_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    csat_requested_at: datetime | None = None
    """When the satisfaction survey was sent (None: never)."""
    csat_score: int | None = None
    """The customer's rating, 1 to 5."""
    csat_comment: str = Field(default="", sa_column_kwargs={"server_default": ""})
    csat_at: datetime | None = None
    bot_answers: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """How many times the FAQ bot answered in it."""
    handed_off_at: datetime | None = None
    """When the FAQ bot handed it to the agents (below the score, asked for, a second question)."""
    agent_replies: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Its agent replies and calls made (messages out of kind "" or "call"). Kept by the
    store's triggers (migration 0009) on every write of a message: never set it in code."""
    first_responder: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """Who wrote its earliest agent reply (at most 200 characters); kept as agent_replies."""


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("account", "external_id"),
        Index("ix_message_customer_time", "customer_id", "sent_at", "id"),
        # Partial: only replies not yet delivered, so bulk imports do not maintain them.
        # A query uses this index only when it repeats UNDELIVERED as one of its terms.
        Index(
            "ix_message_outbox",
            "delivery",
            "next_attempt_at",
            sqlite_where=text(UNDELIVERED),
            postgresql_where=text(UNDELIVERED),
        ),
        Index(
            "ux_message_idempotency_key",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        # The reports (omnitui/reports.py): a period's customer messages by channel and
        # hour, its replies by agent, without reading the table (partial: half the rows
        # each; direction is a column too, so that SQLite reads them from the index alone),
        # and a conversation's replies (how many, the first one) in one probe.
        # Never the author: a customer's name, or a sender's in imported mail, has no
        # bound, and PostgreSQL refuses an index row over 2,704 bytes (the message with it).
        Index(
            "ix_message_in",
            *("direction", "channel", "sent_at", "kind", "conversation_id"),
            sqlite_where=text("direction = 'in'"),
            postgresql_where=text("direction = 'in'"),
        ),
        Index(
            "ix_message_out",
            *("direction", "sent_at", "kind", "conversation_id"),
            sqlite_where=text("direction = 'out'"),
            postgresql_where=text("direction = 'out'"),
        ),
        Index(
            "ix_message_conversation_reply",
            *("conversation_id", "direction", "sent_at", "kind"),
        ),
        # Partial: logged calls only, so that whether a customer has any is one probe.
        Index(
            "ix_message_phone",
            "customer_id",
            sqlite_where=text("channel = 'phone'"),
            postgresql_where=text("channel = 'phone'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    """Indexed first in ix_message_conversation_reply."""
    customer_id: int = Field(foreign_key="customer.id")
    direction: str  # in, out, note
    channel: str  # email, telegram, webchat, phone; "" for a note
    account: str = ""
    external_id: str | None = None
    identity_id: int | None = Field(default=None, foreign_key="identity.id")
    author: str = ""  # the agent for out and note; the sender's name for in
    subject: str = ""
    body: str = ""
    html: str | None = None
    sent_at: datetime = Field(default_factory=utcnow)
    stored_at: datetime = Field(default_factory=utcnow)
    thread_ref: str | None = None
    thread_reason: str = ""
    refs: str | None = None
    """Email: the message ids this one answers (In-Reply-To, then References), space-separated."""
    content_hash: str | None = None
    """sha256 of the raw message, where there is one."""
    kind: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """"" an ordinary message; "bot" the FAQ bot's answer; "survey" the satisfaction question;
    "rating" the customer's answer to it; "call" a logged phone call (details in phonecall)."""
    buttons: str | None = None
    """Outgoing only: the choices offered with it where the channel shows them, as JSON
    ``[[label, data], ...]`` (connectors.base.Button); a press comes back with the data."""
    # Outgoing only.
    delivery: str | None = None  # queued, sending, sent, failed, unconfirmed
    idempotency_key: str | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    claimed_generation: int | None = None


class PhoneCall(SQLModel, table=True):
    """A logged phone call: its message (channel "phone", direction in or out, notes as the
    body) and what only a call has."""

    message_id: int = Field(foreign_key="message.id", primary_key=True)
    duration_seconds: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    outcome: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """answered, missed, voicemail, busy, ..."""


class KbEntry(SQLModel, table=True):
    """A knowledge base entry the FAQ bot answers with; its text is per language (kbvariant)."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True)
    tags: str = Field(default="", sa_column_kwargs={"server_default": ""})
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(default="", sa_column_kwargs={"server_default": ""})


class KbVariant(SQLModel, table=True):
    """An entry in one language: the question (and other ways to ask it) and the answer;
    indexed for search in kb_fts under its id."""

    __table_args__ = (UniqueConstraint("entry_id", "language"),)
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(
        sa_column=Column(Integer, ForeignKey("kbentry.id", ondelete="CASCADE"), nullable=False)
    )
    language: str
    question: str
    answer: str


class MessageRaw(SQLModel, table=True):
    """The message as the wire gave it, zlib-compressed: export and a re-parse lose nothing."""

    message_id: int = Field(foreign_key="message.id", primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MessageEdit(SQLModel, table=True):
    """A message's text before an edit (Telegram lets senders edit what they wrote)."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    body: str
    """The text as it was until ``edited_at``."""
    edited_at: datetime
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    """The update that carried the edit, zlib-compressed."""


class Attachment(SQLModel, table=True):
    """A file that came with a message; its bytes live in the blob store under ``sha256``."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str
    content_type: str = "application/octet-stream"
    size: int = 0
    sha256: str = ""
    inline: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    content_id: str | None = None
    omitted: str | None = None
    """Why the bytes were not kept (over the size limit); the raw message still has them."""


class Agent(SQLModel, table=True):
    name: str = Field(primary_key=True)
    display_name: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    agent: str = ""
    kind: str
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    before: str | None = None
    after: str | None = None
    message_id: int | None = None
    """The message an event is about (a move between conversations)."""


class Tag(SQLModel, table=True):
    name: str = Field(primary_key=True)


class ConversationTag(SQLModel, table=True):
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    tag: str = Field(foreign_key="tag.name", primary_key=True, index=True)


class Canned(SQLModel, table=True):
    """A canned reply: inserted by its shortcut (``::shortcut`` in the composer), in the
    customer's language where it has a variant for it."""

    id: int | None = Field(default=None, primary_key=True)
    title: str
    shortcut: str = Field(unique=True)
    tags: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """Space-separated."""
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(default="", sa_column_kwargs={"server_default": ""})


class CannedVariant(SQLModel, table=True):
    """A canned reply's body in one language (en, az, tr, fa), with {variables}."""

    canned_id: int = Field(
        sa_column=Column(Integer, ForeignKey("canned.id", ondelete="CASCADE"), primary_key=True)
    )
    language: str = Field(primary_key=True)
    body: str


class MergeRecord(SQLModel, table=True):
    """One merge of customer ``source_id`` into ``target_id``: what moved (``moved``, JSON)
    and the state before, so that unmerging restores it exactly."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    agent: str
    source_id: int = Field(foreign_key="customer.id", index=True)
    target_id: int = Field(foreign_key="customer.id", index=True)
    moved: str
    undone_at: datetime | None = None
    undone_by: str = Field(default="", sa_column_kwargs={"server_default": ""})


class SyncState(SQLModel, table=True):
    """A connector's cursor, committed with the messages it covers (invariant 1)."""

    account: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str = ""
    updated_at: datetime = Field(default_factory=utcnow)


class ConnectorState(SQLModel, table=True):
    """What each connector is doing, written by the runner, shown by every TUI."""

    account: str = Field(primary_key=True)
    channel: str = ""
    state: str = "starting"  # starting, running, syncing, backoff, stopped
    error: str | None = None
    detail: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """Progress of long work, e.g. "INBOX 1,200/2,000"."""
    updated_at: datetime = Field(default_factory=utcnow)


class RunnerLease(SQLModel, table=True):
    """One row: which process runs the connectors and the outbox, and until when."""

    id: int = Field(default=1, primary_key=True)
    holder: str = ""
    generation: int = 0
    heartbeat_at: datetime | None = None
    expires_at: datetime | None = None


class MessageCount(SQLModel, table=True):
    """Messages by quarter hour (UTC), direction and channel or, for agent replies, author:
    the reports' volume and replies for a period without reading the messages. Kept by
    the store's triggers (migration 0009) on every insert, delete and change of a message
    of kind "" or "call", whichever code writes it; never written in code. A quarter hour
    so that every zone's midnight (+05:30, +05:45) starts a bucket. A row counted down to
    nothing is deleted."""

    bucket: datetime = Field(primary_key=True)
    direction: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    """The channel, for a customer message; "" for a reply."""
    author: str = Field(primary_key=True)
    """The agent, for a reply (its first 200 characters); "" for anything else."""
    n: int = 0


class Presence(SQLModel, table=True):
    """One row an agent: which customer their TUI has open, whether they are typing."""

    agent: str = Field(primary_key=True)
    customer_id: int | None = None
    typing: bool = False
    heartbeat_at: datetime = Field(default_factory=utcnow)
    """The last sign of work (typing): the web chat's away notice reads it."""
    seen_at: datetime | None = None
    """The TUI's online heartbeat: the agent is online while it is recent."""


class Draft(SQLModel, table=True):
    """What an agent is writing to a customer, saved as it is typed: it survives a crash or
    a dropped SSH connection, and tells others a reply is being written."""

    agent: str = Field(primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    mode: str = Field(default="reply", sa_column_kwargs={"server_default": "reply"})
    """reply or note."""
    identity_id: int | None = None
    """The address the reply goes to, as the agent chose it."""
    body: str = Field(default="", sa_column_kwargs={"server_default": ""})
    started_at: datetime = Field(default_factory=utcnow)
    """When the agent began it: replies by others after this are shown before it goes."""
    updated_at: datetime = Field(default_factory=utcnow)


class Quarantine(SQLModel, table=True):
    """Inbound data that could not be parsed: kept with the error, never dropped."""

    __table_args__ = (Index("ix_quarantine_sha256", "account", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str
    external_id: str = ""
    error: str
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    stored_at: datetime = Field(default_factory=utcnow)
    source: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """Where it came from: folder and UID, a file path."""
    sha256: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """Of the raw bytes: the same poison met twice is quarantined once."""


# ---------------------------------------------------------------------------
# Engine


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine with the store's pragmas; use ``write()`` for every write transaction."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        _drop_nul(engine)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A deferred transaction that later writes fails at once with
            # "database is locked" whatever busy_timeout says, so writers take
            # the lock up front and wait for it.
            immediate = conn.get_execution_options().get("omnitui_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if is_postgresql(url):
        from omnitui import pg

        engine = create_engine(
            pg.sqlalchemy_url(url),
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC"},
        )
        _drop_nul(engine)
        return engine
    raise SchemaError(f"{url}: not a store URL (sqlite:///PATH or postgresql://...)")


def _drop_nul(engine: Engine) -> None:
    """Every statement's text parameters without NUL characters, on both stores
    (text.without_nul): PostgreSQL refuses them, and both stores keep the same text."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _before(
        conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> tuple[str, Any]:
        return statement, without_nul(parameters)


def is_postgresql_engine(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def write(engine: Engine) -> Iterator[Session]:
    """One write transaction, committed on success. Writers run one at a time on both
    stores: BEGIN IMMEDIATE on SQLite; on PostgreSQL the write advisory lock, taken first,
    and a NOTIFY sent in the transaction, so every TUI hears of the commit (and not before)."""
    with Session(engine.execution_options(omnitui_write=True)) as session, session.begin():
        if engine.dialect.name == "postgresql":
            from omnitui import pg

            session.connection().exec_driver_sql(
                f"SELECT pg_advisory_xact_lock({pg.WRITE_LOCK}); NOTIFY {pg.CHANGES_CHANNEL}"
            )
        yield session


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` means the store went away (PostgreSQL restarted, network dropped):
    the transaction did not commit, or may not have, and a new connection is needed."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    module = type(exc).__module__
    if module.startswith("psycopg"):
        state = getattr(exc, "sqlstate", None) or ""
        # 08: connection exceptions; 57P01-03: the server shutting down or starting up.
        return (
            state.startswith("08")
            or state in ("57P01", "57P02", "57P03")
            or (type(exc).__name__ == "OperationalError" and not state)
        )
    return False


OUTAGE_RETRY_SECONDS = 120.0
"""How long a write waits for the store to come back before it fails."""


def retry_on_disconnect(
    attempt: Callable[[], T],
    *,
    outage: Callable[[BaseException | None], None] | None = None,
    seconds: float = OUTAGE_RETRY_SECONDS,
) -> T:
    """``attempt()`` (one whole write transaction), run again while the store is away, for
    at most ``seconds``; ``outage(exc)`` is told when it went (and ``outage(None)`` when it
    is back). Safe because every write is one transaction, and the ones that might have
    committed before the connection dropped are idempotent (ingest by external id, a reply
    by its idempotency key)."""
    import time

    deadline = time.monotonic() + seconds
    delay = 0.25
    failed = False
    while True:
        try:
            result = attempt()
        except Exception as exc:
            if not is_disconnect(exc) or time.monotonic() + delay > deadline:
                raise
            if outage is not None:
                outage(exc)
            failed = True
            time.sleep(delay)
            delay = min(delay * 2, 4.0)
            continue
        if failed and outage is not None:
            outage(None)
        return result


@contextmanager
def read(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


# ---------------------------------------------------------------------------
# Full-text index. Both stores index the same words, folded and split in Python
# (``normalize.fts_text``): FTS5 splits them again at the spaces; PostgreSQL's ``tsv``
# column is made from them by omnitui_tsv() (migration 0002), which splits at spaces only,
# whatever the database's locale, so a search finds the same messages on either store.


def index_message(session: Session, message_id: int, subject: str, body: str) -> None:
    """Add one message to the full-text index, in the caller's transaction."""
    session.connection().execute(
        text("INSERT INTO message_fts(rowid, body) VALUES (:id, :body)"),
        {"id": message_id, "body": fts_text(f"{subject}\n{body}")},
    )


def reindex_message(session: Session, message_id: int, subject: str, body: str) -> None:
    """Replace one message's full-text row (its text was edited), in the caller's transaction."""
    session.connection().execute(
        text("DELETE FROM message_fts WHERE rowid = :id"), {"id": message_id}
    )
    index_message(session, message_id, subject, body)


def index_kb_variant(session: Session, variant_id: int, question: str, answer: str) -> None:
    """(Re)index one language of a knowledge base entry (kb_fts), in the caller's transaction."""
    conn = session.connection()
    conn.execute(text("DELETE FROM kb_fts WHERE rowid = :id"), {"id": variant_id})
    conn.execute(
        text("INSERT INTO kb_fts(rowid, body) VALUES (:id, :body)"),
        {"id": variant_id, "body": fts_text(f"{question}\n{answer}")},
    )


def unindex_kb_entry(session: Session, entry_id: int) -> None:
    """Remove an entry's languages from kb_fts (before they are deleted or rewritten)."""
    session.connection().execute(
        text("DELETE FROM kb_fts WHERE rowid IN (SELECT id FROM kbvariant WHERE entry_id = :id)"),
        {"id": entry_id},
    )


def index_customer(session: Session, customer_id: int) -> None:
    """(Re)index a customer's name and identities, in the caller's transaction."""
    conn = session.connection()
    name = conn.execute(text("SELECT name FROM customer WHERE id=:id"), {"id": customer_id})
    parts = [name.scalar_one()]
    rows = conn.execute(
        text("SELECT address, display_name, handle FROM identity WHERE customer_id=:id"),
        {"id": customer_id},
    )
    for address, display_name, handle in rows:
        parts += [address, display_name, handle]
    conn.execute(text("DELETE FROM customer_fts WHERE rowid=:id"), {"id": customer_id})
    conn.execute(
        text("INSERT INTO customer_fts(rowid, body) VALUES (:id, :body)"),
        {"id": customer_id, "body": fts_text(" ".join(p for p in parts if p))},
    )


# ---------------------------------------------------------------------------
# Migrations


def migrations_dir() -> Path:
    return Path(__file__).parent / "migrations"


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the store at ``url`` up to ``revision`` (creating it when empty)."""
    from alembic import command

    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(url), revision)


def alembic_head() -> str:
    """The head revision as Alembic sees it (a test checks it equals SCHEMA_HEAD)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def ensure_schema(url: str, *, create: bool = True) -> None:
    """Create a new store at head; refuse an older or newer one with a clear message."""
    revision = schema_revision(url)
    if revision == SCHEMA_HEAD:
        return
    if revision is None and create:
        upgrade(url)
        return
    raise SchemaError.for_revision(url, revision)
