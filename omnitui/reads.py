"""What the screens read, over a plain DB-API connection, without the ORM.

The first paint must not wait on importing SQLAlchemy (about 0.3-0.5 s here), so
the customer list, the timeline, search and the status line are read with the
standard library's sqlite3 through this module. Writes go through inbox.py.
The schema revision check lives here too, for the same reason.

Must not import SQLAlchemy, SQLModel, Textual or any connector.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from omnitui.text import one_line

if TYPE_CHECKING:  # re-exported: every row is still reads.NAME
    from omnitui.readrows import (
        AgentPresence as AgentPresence,
    )
    from omnitui.readrows import (
        BlockedIdentity as BlockedIdentity,
    )
    from omnitui.readrows import (
        CannedDetail as CannedDetail,
    )
    from omnitui.readrows import (
        CannedRow as CannedRow,
    )
    from omnitui.readrows import (
        ChatEventRow as ChatEventRow,
    )
    from omnitui.readrows import (
        Collision as Collision,
    )
    from omnitui.readrows import (
        ConversationRow as ConversationRow,
    )
    from omnitui.readrows import (
        ConversationState as ConversationState,
    )
    from omnitui.readrows import (
        CustomerIdentity as CustomerIdentity,
    )
    from omnitui.readrows import (
        CustomerInfo as CustomerInfo,
    )
    from omnitui.readrows import (
        DraftRow as DraftRow,
    )
    from omnitui.readrows import (
        MergePreview as MergePreview,
    )
    from omnitui.readrows import (
        MergeRow as MergeRow,
    )
    from omnitui.readrows import (
        MessageDetail as MessageDetail,
    )
    from omnitui.readrows import (
        MessageEditRow as MessageEditRow,
    )
    from omnitui.readrows import (
        QuarantineRow as QuarantineRow,
    )
    from omnitui.readrows import (
        RacedReply as RacedReply,
    )
    from omnitui.readrows import (
        SearchHit as SearchHit,
    )
    from omnitui.readrows import (
        TypingRow as TypingRow,
    )

_LATER = frozenset(
    (
        "AgentPresence",
        "BlockedIdentity",
        "CannedDetail",
        "CannedRow",
        "ChatEventRow",
        "Collision",
        "ConversationRow",
        "ConversationState",
        "CustomerIdentity",
        "CustomerInfo",
        "DraftRow",
        "MergePreview",
        "MergeRow",
        "MessageDetail",
        "MessageEditRow",
        "QuarantineRow",
        "RacedReply",
        "SearchHit",
        "TypingRow",
    )
)
"""Rows defined in omnitui/readrows.py, imported on first use (``__getattr__``)."""


def __getattr__(name: str) -> object:
    if name in _LATER:
        from omnitui import readrows

        return getattr(readrows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from omnitui.kb import KbDetail, KbRow
    from omnitui.query import Compiled, Dialect, Query
    from omnitui.query import Context as QueryContext
    from omnitui.views import View

# json (attachments) and omnitui.normalize (search) are imported where they are used:
# the TUI's first paint needs neither.

SCHEMA_HEAD = "0009"
"""The Alembic revision this code expects (a test checks it against the migrations)."""
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009")
"""Every revision this code knows, oldest first: a store at one of these can be upgraded."""


VISITOR_TYPING_SECONDS = 7.0
"""A visitor's typing shows this long after it was stored. The page pings every 3 s and the
web chat stores a ping at most every 4 s, so stored pings are about 6 s apart while the
visitor types: a second more keeps the line from blinking off between them."""
AGENT_TYPING_SECONDS = 6.0
"""An agent's typing counts this long after it was stored (the TUI stores it every 3 s while
the agent types and clears it when they stop; this covers a TUI that quit mid-word)."""

ONLINE_SECONDS = 45.0
"""A TUI counts as online this long after its presence heartbeat (written every 15 s), so a
TUI that died without quitting drops out of everyone's view within a minute."""
DRAFT_WRITING_SECONDS = 600.0
"""Another agent's non-empty draft for a customer counts as "writing to them too" this long
after it was last saved (a draft left for days is no collision)."""

UNDELIVERED = "delivery IN ('queued', 'sending', 'failed', 'unconfirmed')"
"""The condition of the partial outbox index: queries repeat it verbatim to use the index."""


class StoreUnreachable(Exception):
    """The store's server cannot be reached just now (PostgreSQL restarting, network)."""


class StoreURLError(Exception):
    """This installation cannot open the store the URL names (psycopg is not installed, or
    libpq refuses the URL itself): a config problem, said in one line without the password."""


class SchemaError(Exception):
    """The store's schema is not the one this code expects."""

    @classmethod
    def for_revision(cls, url: str, revision: str | None) -> SchemaError:
        where = display_url(url)
        if revision in KNOWN_REVISIONS:
            return cls(
                f"{where}: store schema is at revision {revision}, this omnitui needs "
                f"{SCHEMA_HEAD}; run `omnitui db upgrade` (back up the store first)"
            )
        if revision is None:
            return cls(f"{where}: no omnitui store here; run `omnitui db upgrade` to create one")
        return cls(
            f"{where}: store schema revision {revision} is newer than this omnitui knows "
            f"({SCHEMA_HEAD}); upgrade omnitui instead of using an older one on it"
        )


def is_postgresql(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL store (postgresql://, postgres://, +psycopg)."""
    return url.startswith(("postgresql:", "postgresql+", "postgres:"))


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL, or None for memory stores and other databases."""
    if not url.startswith("sqlite:///"):
        return None
    rest = url.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(rest) if rest and rest != ":memory:" else None


def readable(url: str) -> bool:
    """Whether a Reader can open ``url`` (a SQLite file or PostgreSQL; not a memory store)."""
    return is_postgresql(url) or sqlite_path(url) is not None


def display_url(url: str) -> str:
    """The store as messages name it: a SQLite file's path; a server's host, port and
    database, without the user, the password or the query."""
    path = sqlite_path(url)
    return str(path) if path is not None else url.split("?", 1)[0].split("@")[-1]


def _without_password(url: str, said: str) -> str:
    """``said`` (an error from libpq, which may quote the URL) with the URL's password and
    its query (which may carry ``password=``) blanked, and on one line."""
    from urllib.parse import urlsplit

    first = next((line.strip() for line in said.splitlines() if line.strip()), "")
    parts = urlsplit(url)
    secrets = [parts.query] if parts.query else []
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        secrets.append(userinfo.split(":", 1)[1])
    for secret in secrets:
        first = first.replace(secret, "***")
    return " ".join(first.split())


def _connect_postgresql(url: str) -> Any:
    """A pg.Connection, or StoreURLError / StoreUnreachable naming the store."""
    where = display_url(url)
    try:
        from omnitui import pg
    except ImportError as exc:
        raise StoreURLError(f"{where}: {exc}") from None
    import psycopg

    try:
        return pg.connect(url)
    except psycopg.ProgrammingError as exc:  # the URL itself ("invalid URI query parameter")
        problem = _without_password(url, str(exc))
        raise StoreURLError(f"{where}: not a usable PostgreSQL URL: {problem}") from None
    except psycopg.OperationalError as exc:
        problem = _without_password(url, str(exc)).removeprefix("connection failed: ")
        raise StoreUnreachable(f"{where}: cannot connect: {problem}") from None


def schema_revision(url: str) -> str | None:
    """The store's Alembic revision, or None when there is no store yet. Raises StoreURLError
    when this installation cannot open such a store, StoreUnreachable when its server does
    not answer (both one line, without the password)."""
    if is_postgresql(url):
        pg_conn = _connect_postgresql(url)
        try:
            present = pg_conn.execute("SELECT to_regclass('alembic_version')").fetchone()
            if present is None or present[0] is None:
                return None
            found = pg_conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            pg_conn.close()
        return str(found[0]) if found else None
    path = sqlite_path(url)
    if path is None:
        raise SchemaError(f"{url}: not a store URL (sqlite:///PATH or postgresql://...)")
    if not path.exists():
        return None
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


# Full stamps: a bare "0000" would be taken as a number by the DATETIME column's affinity.
START_OF_TIME = "0001-01-01 00:00:00.000000"
_END_OF_TIME = "9999-12-31 23:59:59.999999"


def _ts(value: str | None) -> datetime | None:
    return parse_stamp(value) if value else None


def parse_stamp(value: str) -> datetime:
    """A stored time (UTC without offset) as an aware UTC datetime."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def stamp(value: datetime) -> str:
    """A time as the store keeps it (SQLAlchemy's SQLite format, in UTC), for SQL comparisons."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# ---------------------------------------------------------------------------
# Rows the screens show


@dataclass(frozen=True, slots=True)
class CustomerRow:
    id: int
    name: str
    channels: str
    unread: int
    open: int
    preview: str
    last_activity_at: datetime
    version: int
    assignee: str | None = None
    """Who has the customer's active conversation (None: nobody, or none active)."""
    snoozed_until: datetime | None = None
    """When the customer's active conversation wakes, while it is snoozed."""
    sla_due_at: datetime | None = None
    """When the next SLA target of the customer's open conversations falls due (the first
    response while unanswered, or the resolution, whichever comes first; of the most urgent
    conversation, as the SLA view orders them); None: no target."""


@dataclass(frozen=True, slots=True)
class CustomerPage:
    """``limit`` customers from ``offset`` in list order, and how many are listed in all."""

    total: int
    offset: int
    limit: int
    rows: list[CustomerRow]


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    """A file that came with a message; its bytes are in the blob store under ``sha256``
    unless ``omitted`` says why not. ``filename`` is customer text."""

    id: int
    message_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    omitted: str | None


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One message, note or recorded event in a customer's history."""

    id: int
    kind: str  # in, out, note, event
    channel: str
    account: str
    author: str
    subject: str
    body: str
    at: datetime
    conversation_id: int | None
    delivery: str | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    thread_reason: str = ""
    """Why a message joined its conversation (customer text may be quoted in it)."""
    conversation_status: str = ""
    attachments: tuple[AttachmentRow, ...] = ()
    message_id: int | None = None
    """For an event: the message it is about (a move or a split)."""
    edited: bool = False
    """The sender changed the text after sending it (its earlier texts: ``Reader.edits``)."""
    call_seconds: int | None = None
    """A logged phone call (message.kind "call"): how long it was; None for anything else."""
    call_outcome: str = ""
    """A logged call's outcome: answered, missed, voicemail, busy, no-answer."""
    message_kind: str = ""
    """``message.kind``: "" an ordinary message, "survey", "rating", "bot", "call"."""


@dataclass(frozen=True, slots=True)
class IdentityRow:
    id: int
    channel: str
    address: str
    account: str
    display_name: str
    unreachable_reason: str | None
    handle: str = ""
    """The public handle on the channel (a Telegram username, without the @): customer text."""
    claimed_email: str | None = None
    """The email address this identity's link to the customer rests on, while it is unproven
    (a web chat visitor typed it): customer text."""


@dataclass(frozen=True, slots=True)
class CustomerDetail:
    row: CustomerRow
    identities: tuple[IdentityRow, ...]
    conversation_id: int | None  # the newest conversation
    conversation_status: str | None
    last_inbound_identity_id: int | None
    state: ConversationState | None = None
    """The conversation team actions apply to (``Reader.conversation_state``)."""
    language: str | None = None
    """The language the customer writes in, when it can be told (``omnitui.language``)."""


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    account: str
    channel: str
    state: str
    error: str | None
    detail: str = ""
    """Progress of long work ("INBOX 1,200/2,000")."""


@dataclass(frozen=True, slots=True)
class StoreStatus:
    lease_holder: str
    lease_expires_at: datetime | None
    connectors: tuple[ConnectorStatus, ...]
    queued: int
    sending: int
    failed: int
    unconfirmed: int
    quarantined: int


class HotlistEntry(NamedTuple):
    """A customer with unread messages, for the status line. ``name`` is customer text.

    This and the other types of the hotlist, notifications and views are NamedTuples: a
    frozen dataclass costs 0.35 ms to define, on the way to the first paint."""

    customer_id: int
    name: str
    unread: int


class Hotlist(NamedTuple):
    """The customers with unread messages, most recent activity first (``entries``, a few),
    and how many there are in all."""

    entries: tuple[HotlistEntry, ...]
    total: int


class NewInbound(NamedTuple):
    """A customer's message stored after the one the TUI last looked at: what a
    notification is made of. ``name`` and ``text`` are customer text."""

    message_id: int
    customer_id: int
    name: str
    text: str
    assignee: str | None
    """Who has the message's conversation now (None: nobody)."""
    unread: int
    """The customer's unread messages now (0: someone has read them already)."""


# -- customers: the customer screen, merges ---------------------------------------------

SOLE_CONVERSATIONS = (
    "SELECT DISTINCT m.conversation_id FROM message m WHERE m.customer_id = :customer "
    "AND m.identity_id = :identity AND m.direction = 'in' AND NOT EXISTS (SELECT 1 FROM "
    "message o WHERE o.conversation_id = m.conversation_id AND o.direction = 'in' "
    "AND o.identity_id IS DISTINCT FROM m.identity_id)"
)
"""The conversations only one address of a customer wrote in (every inbound message is
from it): what ``inbox.unlink_identity`` takes along on request, and what the customer
screen counts. Named parameters :customer and :identity."""


# A web chat visitor's events: their messages (not the profile's "VISITOR:profile:..." ones)
# and the replies whose delivery is 'sent'.
_CHAT_EVENTS = (
    "FROM message m JOIN identity i ON i.id = m.identity_id "
    "WHERE i.channel = 'webchat' AND i.address = :address AND m.account = :account AND ("
    "(m.direction = 'in' AND m.external_id IS NOT NULL "
    "AND instr(substr(m.external_id, length(:address) + 2), ':') = 0) "
    "OR (m.direction = 'out' AND m.delivery = 'sent' AND m.idempotency_key IS NOT NULL))"
)


SEARCH_WINDOW = 5_000
"""Newest messages a query without words reads in order before SQLite plans the rest
(see ``Reader._matching``)."""
_HIT_COLUMNS = (
    "m.customer_id, c.name, m.id, m.subject, m.body, m.sent_at, m.conversation_id, v.status, "
    "m.channel, m.direction"
)


_PENDING_DUE = (
    "CASE WHEN v.first_response_at IS NULL AND (v.resolution_due_at IS NULL "
    "OR v.first_response_due_at < v.resolution_due_at) "
    "THEN v.first_response_due_at ELSE v.resolution_due_at END"
)
"""An open conversation's next target to meet: the first response while unanswered, then
the resolution (sla:breaching's definition, omnitui/query.py)."""

_CUSTOMER_COLS = (
    "id, name, channels, unread_count, open_count, preview, last_activity_at, version, "
    # The active conversation's snooze time and assignee, for the list's marks, and the SLA
    # targets still to meet of the open conversation most urgent by them (the SLA view's
    # order): a seek on ix_conversation_customer_status each, for a row with an active
    # conversation (+0.2-0.4 ms a page of 200 each), as
    # "SNOOZED_UNTIL<US>ASSIGNEE<US>FIRST_DUE<US>RESOLUTION_DUE", NULL without one ("" for
    # a time there is none of).
    "CASE WHEN open_count > 0 THEN (SELECT coalesce(CAST(v.snoozed_until AS TEXT), '') || "
    "'\x1f' || coalesce(v.assignee, '') FROM conversation v WHERE v.customer_id = customer.id "
    "AND v.status IN ('open', 'pending', 'snoozed') ORDER BY v.id DESC LIMIT 1) || '\x1f' || "
    "coalesce((SELECT CASE WHEN v.first_response_at IS NULL "
    "THEN coalesce(CAST(v.first_response_due_at AS TEXT), '') ELSE '' END || '\x1f' || "
    "coalesce(CAST(v.resolution_due_at AS TEXT), '') FROM conversation v "
    "WHERE v.customer_id = customer.id AND v.status = 'open' "
    f"ORDER BY coalesce({_PENDING_DUE}, '{_END_OF_TIME}'), v.id DESC LIMIT 1), '\x1f') END"
)


_ATTACHMENT_COLS = "id, message_id, filename, content_type, size, sha256, inline, omitted"

# A page's attachments in the message query itself (a correlated lookup on
# ix_attachment_message_id per row, NULL for most), so a page stays two queries.
_ATTACHMENTS_JSON = (
    "(SELECT json_group_array(json_array(a.id, a.message_id, a.filename, a.content_type, "
    "a.size, a.sha256, a.inline, a.omitted)) FROM attachment a WHERE a.message_id = m.id "
    "HAVING count(*) > 0)"
)
_ATTACHMENTS_JSON_PG = (
    "(SELECT json_agg(json_build_array(a.id, a.message_id, a.filename, a.content_type, "
    "a.size, a.sha256, a.inline, a.omitted)) FROM attachment a WHERE a.message_id = m.id "
    "HAVING count(*) > 0)"
)
# Whether a message was edited, in the same query: an EXISTS on ix_messageedit_message_id.
_EDITED = "EXISTS (SELECT 1 FROM messageedit e WHERE e.message_id = m.id)"


def _attachment(row: Sequence[Any]) -> AttachmentRow:
    aid, message_id, filename, content_type, size, sha256, inline, omitted = row
    return AttachmentRow(
        int(aid),
        int(message_id),
        str(filename),
        str(content_type or "application/octet-stream"),
        int(size or 0),
        str(sha256 or ""),
        bool(inline),
        str(omitted) if omitted else None,
    )


def _attachments_by_message(
    conn: sqlite3.Connection, message_ids: Iterable[int]
) -> dict[int, list[AttachmentRow]]:
    """The attachments of some messages, by message, in the order they came."""
    ids = list(dict.fromkeys(message_ids))
    found: dict[int, list[AttachmentRow]] = {}
    for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(
            f"SELECT {_ATTACHMENT_COLS} FROM attachment WHERE message_id IN ({marks}) "
            "ORDER BY message_id, id",
            chunk,
        ):
            row = _attachment(r)
            found.setdefault(row.message_id, []).append(row)
    return found


def _attachments_of(raw: str | list[Any] | None) -> tuple[AttachmentRow, ...]:
    """From SQLite's JSON text, or the list psycopg made of PostgreSQL's json."""
    if not raw:
        return ()
    import json

    rows = sorted(json.loads(raw) if isinstance(raw, str) else raw, key=lambda r: int(r[0]))
    return tuple(_attachment(r) for r in rows)


def _customer(row: tuple[object, ...]) -> CustomerRow:
    cid, name, channels, unread, open_, preview, last, version, active = row
    parts = (str(active or "") + "\x1f" * 3).split("\x1f")
    snoozed, assignee, first_due, resolution_due = parts[:4]
    dues = [parse_stamp(d) for d in (first_due, resolution_due) if d]
    return CustomerRow(
        int(cid),  # type: ignore[call-overload]
        str(name),
        str(channels),
        int(unread),  # type: ignore[call-overload]
        int(open_),  # type: ignore[call-overload]
        str(preview),
        parse_stamp(str(last)),
        int(version),  # type: ignore[call-overload]
        assignee or None,
        _ts(snoozed),
        min(dues) if dues else None,
    )


_WORKFLOW_EVENTS = "'snooze', 'wake', 'tag', 'block', 'unblock'"
"""Team workflow events the timeline shows, besides 'status' and 'assign' (inbox.py)."""


def _conversation_state(conn: sqlite3.Connection, customer_id: int) -> ConversationState | None:
    """``ConversationState`` of a customer, in the caller's snapshot."""
    from omnitui.readrows import BlockedIdentity, ConversationState

    # Newest active first, then newest: ix_conversation_customer_status, a handful of rows.
    conv = conn.execute(
        "SELECT id, status, assignee, snoozed_until, sla_policy, first_response_due_at, "
        "resolution_due_at, first_response_at FROM conversation WHERE customer_id=? "
        "ORDER BY status IN ('open', 'pending', 'snoozed') DESC, id DESC LIMIT 1",
        (customer_id,),
    ).fetchone()
    blocked = tuple(
        BlockedIdentity(int(r[0]), str(r[1]), str(r[2]), str(r[3] or ""), parse_stamp(r[4]))
        for r in conn.execute(
            "SELECT id, channel, address, blocked_by, blocked_at FROM identity "
            "WHERE customer_id=? AND blocked_at IS NOT NULL ORDER BY id",
            (customer_id,),
        )
    )
    if conv is None:
        return None
    tags = tuple(
        str(r[0])
        for r in conn.execute(
            "SELECT tag FROM conversationtag WHERE conversation_id=? ORDER BY tag", (conv[0],)
        )
    )
    return ConversationState(
        int(conv[0]),
        str(conv[1]),
        conv[2] or None,
        _ts(conv[3]),
        tags,
        blocked,
        conv[4] or "",
        _ts(conv[5]),
        _ts(conv[6]),
        _ts(conv[7]),
    )


# A customer's urgency in the SLA view: the earliest target still to meet among their open
# conversations, by sla:breaching's definition (omnitui/query.py) and the list's "⧖": the
# first response while unanswered, and the resolution; a customer without one sorts last.
# One seek on ix_conversation_customer_status a customer.
_NEXT_DUE = (
    f"coalesce((SELECT min({_PENDING_DUE}) FROM conversation v "
    "WHERE v.customer_id = customer.id AND v.status = 'open'), "
    f"'{_END_OF_TIME}')"
)


class _ListOrder(NamedTuple):
    """How the list sorts customers (``View.order``), as SQL over a row of ``customer``."""

    key: str
    """The sort key; ties go by id, the same way."""
    newest_first: bool
    indexed: bool
    """Whether an index gives the order (a walk of the list then stops after a page)."""

    @property
    def by(self) -> str:
        way = " DESC" if self.newest_first else ""
        return f"ORDER BY {self.key}{way}, id{way}"

    @property
    def ahead(self) -> str:
        """The rows listed before the one whose key is :at and whose id is :customer."""
        than = ">" if self.newest_first else "<"
        return f"({self.key} {than} :at OR ({self.key} = :at AND id {than} :customer))"


_BY_ACTIVITY = _ListOrder("last_activity_at", newest_first=True, indexed=True)
_BY_DUE = _ListOrder(_NEXT_DUE, newest_first=False, indexed=False)


def _list_order(view: View | None) -> _ListOrder:
    if view is None:
        return _BY_ACTIVITY
    from omnitui.views import ORDER_ACTIVITY, ORDER_DUE

    return {ORDER_ACTIVITY: _BY_ACTIVITY, ORDER_DUE: _BY_DUE}[view.order]


class _ViewSQL(NamedTuple):
    """A view as SQL (see ``query.CustomerSet``): the condition over ``customer`` that walks
    the list, the members' ids for a small set (None: walk only), the SQL of the count."""

    exists: str
    members: str | None
    counting: str
    params: dict[str, object]
    by_conversation: bool = True

    def within(self, order: _ListOrder) -> str:
        """The condition for a row of ``customer`` in the view: ``exists`` to walk the list
        in its index's order; the members by primary key when no index gives the order
        (every member is read and sorted then anyway)."""
        if order.indexed or self.members is None:
            return self.exists
        return f"id IN ({self.members})"


def _view_sql(
    view: View | None, context: QueryContext | None, postgresql: bool = False
) -> _ViewSQL | None:
    """The SQL of a view (None: everyone, the list's own query). A channel view reads the
    list's ``channels`` column; a query view compiles through omnitui.query."""
    if view is None or view.lists_everyone:
        return None
    if view.channel:
        # channels is "email,telegram": no channel's name is part of another's (a test
        # checks), so a plain instr() finds it, at half the cost of matching ",name,".
        on = "instr(channels, :view_channel) > 0"
        return _ViewSQL(
            on,
            None,
            f"SELECT count(*) FROM customer WHERE merged_into_id IS NULL AND {on}",
            {"view_channel": view.channel},
        )
    from omnitui.query import POSTGRESQL, SQLITE, Context, compile_customers, parse

    dialect = POSTGRESQL if postgresql else SQLITE
    found = compile_customers(parse(view.query), context or Context(), dialect)
    return _ViewSQL(found.exists, found.members, found.count, found.params, found.by_conversation)


_BEGIN_SNAPSHOT_PG = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

LANGUAGE_MESSAGES = 20
"""A customer's newest inbound messages their language is detected from."""
LANGUAGE_CACHE = 4096
"""Customers whose detected language a Reader keeps (emptied when full)."""


class Reader:
    """Read-only queries over the store, one sqlite3 connection per thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgresql = is_postgresql(url)
        path = sqlite_path(url)
        if path is None and not self.postgresql:
            raise SchemaError(f"{url}: not a store URL (sqlite:///PATH or postgresql://...)")
        self.path = path or Path()
        self._local = threading.local()
        self._version_conn: sqlite3.Connection | None = None
        self._listener: Any = None
        self._listen_thread: threading.Thread | None = None
        self._listen_lock = threading.Lock()
        self._listen_error = ""
        self._changes = 0
        self._attachments_json = _ATTACHMENTS_JSON_PG if self.postgresql else _ATTACHMENTS_JSON
        self._languages_of = (
            "string_agg(language, ' ')" if self.postgresql else "group_concat(language, ' ')"
        )
        self._languages: dict[int, tuple[int, str | None]] = {}
        """customer id -> (version, language): detected again only when the history moved."""

    @property
    def dialect(self) -> Dialect:
        """What the search language compiles to for this store (omnitui/query.py)."""
        from omnitui.query import POSTGRESQL, SQLITE

        return POSTGRESQL if self.postgresql else SQLITE

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self.postgresql and conn.broken:  # type: ignore[attr-defined]
            conn = None  # the server restarted: this read gets a new connection
        if conn is None:
            if self.postgresql:
                from omnitui import pg

                # The same face as sqlite3's for every query here (omnitui/pg.py).
                conn = pg.connect(self.url)  # type: ignore[assignment]
            else:
                conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        assert conn is not None
        return conn

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so several queries see one state of the store (PostgreSQL's
        default, READ COMMITTED, would give each query its own)."""
        conn = self._conn()
        conn.execute(_BEGIN_SNAPSHOT_PG if self.postgresql else "BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes whenever another connection commits (about 3 µs; poll it). On PostgreSQL:
        the count of NOTIFYs every write transaction sends before its commit (db.write),
        so a change is never seen before it is committed."""
        if self.postgresql:
            return self._notified()
        if self._version_conn is None:
            self._version_conn = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
        row = self._version_conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def _notified(self) -> int:
        """data_version on PostgreSQL, never blocking the caller (the UI thread polls it):
        the listening connection is made, and made again after an outage, in a thread;
        meanwhile an outage raises StoreUnreachable."""
        listener = self._listener
        if listener is not None and not listener.broken:
            try:
                self._changes += listener.notifications()
            except Exception as exc:
                listener.close()
                self._listen_error = str(exc).strip() or type(exc).__name__
                raise StoreUnreachable(self._listen_error) from exc
            return self._changes
        with self._listen_lock:
            if self._listen_thread is None or not self._listen_thread.is_alive():
                self._listen_thread = threading.Thread(
                    target=self._listen, name="omnitui-listen", daemon=True
                )
                self._listen_thread.start()
        if listener is not None or self._listen_error:
            raise StoreUnreachable(self._listen_error or "connection lost")
        return self._changes

    def _listen(self) -> None:
        from omnitui import pg

        try:
            listener = pg.connect(self.url, listen=True)
        except Exception as exc:
            self._listen_error = str(exc).strip().splitlines()[0] or type(exc).__name__
            return
        # NOTIFYs sent while there was no listener are lost: count a change, so the screens
        # read everything again.
        self._changes += 1
        self._listen_error = ""
        self._listener = listener

    def message_count(self) -> int:
        row = self._conn().execute("SELECT count(*) FROM message").fetchone()
        return int(row[0])

    # -- customer list ----------------------------------------------------

    def customer_count(
        self,
        *,
        open_only: bool = False,
        view: View | None = None,
        context: QueryContext | None = None,
    ) -> int:
        """How many customers the list shows (in ``view``, for ``context``'s agent)."""
        chosen = self._view(view, context)
        if chosen is not None:
            row = self._conn().execute(chosen.counting, chosen.params).fetchone()
            return int(row[0])
        where = "merged_into_id IS NULL" + (" AND open_count > 0" if open_only else "")
        row = self._conn().execute(f"SELECT count(*) FROM customer WHERE {where}").fetchone()
        return int(row[0])

    def customers(
        self,
        offset: int,
        limit: int,
        *,
        open_only: bool = False,
        view: View | None = None,
        context: QueryContext | None = None,
        total: int | None = None,
    ) -> list[CustomerRow]:
        """Customers in the view's order (``View.order``: by last activity, newest first,
        unless the view sorts by SLA urgency), those in ``view``: with a conversation
        matching it. ``total``: how many the view holds, when known, which picks the plan
        (``_small_set``)."""
        chosen = self._view(view, context)
        ordering = _list_order(view)
        order = ordering.by
        if chosen is None:
            where = "merged_into_id IS NULL" + (" AND open_count > 0" if open_only else "")
            rows = self._conn().execute(
                f"SELECT {_CUSTOMER_COLS} FROM customer WHERE {where} {order} LIMIT ? OFFSET ?",
                (limit, offset),
            )
            return [_customer(r) for r in rows]
        params = {**chosen.params, "limit": limit, "offset": offset}
        conn = self._conn()
        if chosen.members is not None and (
            # No index gives the order: every member is sorted whatever the plan.
            not ordering.indexed or (total is not None and self._small_set(total, offset + limit))
        ):
            # A small set (or an order no index gives): its members by primary key, their
            # ids sorted, then the page's columns (the correlated marks) for its rows only.
            sql = (
                f"SELECT {_CUSTOMER_COLS} FROM customer WHERE id IN (SELECT id FROM customer "
                f"WHERE merged_into_id IS NULL AND id IN ({chosen.members}) {order} "
                f"LIMIT :limit OFFSET :offset) {order}"
            )
        else:
            # Walk the list in order (ix_customer_last_activity_at) and keep the members:
            # a page of 200 is found after a few hundred or thousand rows. (In an order
            # no index gives, every row is kept and sorted: still right, at any size.)
            sql = (
                f"SELECT {_CUSTOMER_COLS} FROM customer WHERE merged_into_id IS NULL "
                f"AND {chosen.exists} {order} LIMIT :limit OFFSET :offset"
            )
        return [_customer(r) for r in conn.execute(sql, params)]

    def customer_ids(
        self, *, view: View | None = None, context: QueryContext | None = None, limit: int
    ) -> list[int]:
        """The ids of the customers the list shows (in ``view``), in its order, at most
        ``limit``: what "select all in the view" selects."""
        chosen = self._view(view, context)
        order = _list_order(view)
        where = "merged_into_id IS NULL" + (f" AND {chosen.within(order)}" if chosen else "")
        rows = self._conn().execute(
            f"SELECT id FROM customer WHERE {where} {order.by} LIMIT :limit",
            {**(chosen.params if chosen else {}), "limit": limit},
        )
        return [int(r[0]) for r in rows]

    def _view(self, view: View | None, context: QueryContext | None) -> _ViewSQL | None:
        """``_view_sql``, with this thread's connection ready for it (a view of message
        terms may fold text: from:, to:, customer:NAME)."""
        chosen = _view_sql(view, context, self.postgresql)
        if chosen is not None and not chosen.by_conversation:
            self._add_fold_function(self._conn())
        return chosen

    def _small_set(self, total: int, wanted: int) -> bool:
        """Whether sorting a view's ``total`` members beats walking the list for the first
        ``wanted`` of them: walking reads about wanted x customers / total rows."""
        if total <= wanted:
            return True
        top = self._conn().execute("SELECT max(id) FROM customer").fetchone()[0] or 0
        return total * total < wanted * int(top)

    def customer_page(self, offset: int, limit: int) -> CustomerPage:
        """The count and a block of ``customers()``, read in one snapshot."""
        with self._snapshot():
            total = self.customer_count()
            rows = self.customers(offset, limit)
        return CustomerPage(total, offset, limit, rows)

    def customer_position(
        self,
        customer_id: int,
        *,
        open_only: bool = False,
        view: View | None = None,
        context: QueryContext | None = None,
    ) -> int | None:
        """The customer's index in ``customers()`` order, or None when not listed there."""
        where = "merged_into_id IS NULL" + (" AND open_count > 0" if open_only else "")
        params: dict[str, object] = {}
        chosen = self._view(view, context)
        order = _list_order(view)
        if chosen is not None:
            where = f"merged_into_id IS NULL AND {chosen.within(order)}"
            params.update(chosen.params)
        with self._snapshot() as conn:
            row = conn.execute(
                f"SELECT {order.key} FROM customer WHERE id = :customer AND {where}",
                {**params, "customer": customer_id},
            ).fetchone()
            if row is None:
                return None
            ahead = conn.execute(
                f"SELECT count(*) FROM customer WHERE {where} AND {order.ahead}",
                {**params, "at": row[0], "customer": customer_id},
            ).fetchone()
        return int(ahead[0])

    def view_counts(
        self, views: Iterable[View], context: QueryContext | None = None
    ) -> dict[str, int]:
        """How many customers each view lists, by view id, in one snapshot; also, under
        ``channel:NAME``, the customers with an address on each channel (views.CHANNEL_TITLES),
        so the caller sees which channels are present. At 1M messages: one pass over the
        customers for All and the channels, one indexed count a status view."""
        from omnitui.views import CHANNEL_PREFIX, CHANNEL_TITLES

        channels = list(CHANNEL_TITLES)
        per_channel = ", ".join(
            f"count(*) FILTER (WHERE instr(channels, '{c}') > 0)" for c in channels
        )
        counts: dict[str, int] = {}
        with self._snapshot() as conn:
            everyone, *on = conn.execute(
                f"SELECT count(*), {per_channel} FROM customer WHERE merged_into_id IS NULL"
            ).fetchone()
            counts.update(
                {f"{CHANNEL_PREFIX}{c}": int(n) for c, n in zip(channels, on, strict=True)}
            )
            for view in views:
                if view.lists_everyone:
                    counts[view.id] = int(everyone)
                elif view.channel:
                    counts[view.id] = counts.get(f"{CHANNEL_PREFIX}{view.channel}", 0)
                else:
                    chosen = self._view(view, context)
                    assert chosen is not None
                    found = conn.execute(chosen.counting, chosen.params).fetchone()
                    counts[view.id] = int(found[0])
        return counts

    # -- the hotlist and notifications ------------------------------------------

    def hotlist(self, limit: int = 5) -> Hotlist:
        """The customers with unread messages, newest activity first (``limit`` of them),
        and how many there are: walks ix_customer_last_activity_at, where unread customers
        are near the top."""
        where = "merged_into_id IS NULL AND unread_count > 0"
        with self._snapshot() as conn:
            rows = conn.execute(
                f"SELECT id, name, unread_count FROM customer WHERE {where} "
                "ORDER BY last_activity_at DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            total = len(rows)
            if total == limit:
                total = int(
                    conn.execute(f"SELECT count(*) FROM customer WHERE {where}").fetchone()[0]
                )
        return Hotlist(tuple(HotlistEntry(int(r[0]), str(r[1]), int(r[2])) for r in rows), total)

    def change_mark(self) -> tuple[int, int]:
        """The newest message's and event's ids: they move when a view's count may have (a
        message stored; a status, assignment, tag, snooze, move or merge recorded), not
        for a presence heartbeat or a draft. Two seeks of a primary key."""
        with self._snapshot() as conn:
            message = conn.execute("SELECT max(id) FROM message").fetchone()[0]
            event = conn.execute("SELECT max(id) FROM event").fetchone()[0]
        return int(message or 0), int(event or 0)

    def newest_message_id(self) -> int:
        row = self._conn().execute("SELECT max(id) FROM message").fetchone()
        return int(row[0] or 0)

    def inbound_after(
        self, message_id: int, *, sent_after: datetime | None = None, limit: int = 20
    ) -> tuple[int, list[NewInbound]]:
        """Customers' messages stored after ``message_id`` (the newest ``limit``, oldest
        first), not from a blocked address, sent after ``sent_after`` (an import or a first
        sync stores old mail: not news), not answered by the FAQ bot in a conversation it
        still has (a later bot message, no handoff: the bot's answers are there so that
        nobody is disturbed), with their conversation's assignee; and the newest message id
        now (where the next call starts). A range of the primary key."""
        since = stamp(sent_after) if sent_after is not None else START_OF_TIME
        with self._snapshot() as conn:
            top = int(conn.execute("SELECT max(id) FROM message").fetchone()[0] or 0)
            rows = conn.execute(
                "SELECT m.id, m.customer_id, c.name, m.subject, m.body, v.assignee, "
                "c.unread_count FROM message m JOIN customer c ON c.id = m.customer_id "
                "JOIN conversation v ON v.id = m.conversation_id "
                "LEFT JOIN identity i ON i.id = m.identity_id "
                "WHERE m.id > ? AND m.id <= ? AND m.direction = 'in' AND i.blocked_at IS NULL "
                "AND m.sent_at >= ? AND NOT (v.handed_off_at IS NULL AND v.bot_answers > 0 "
                "AND EXISTS (SELECT 1 FROM message b WHERE b.conversation_id = m.conversation_id "
                "AND b.kind = 'bot' AND b.id > m.id)) ORDER BY m.id DESC LIMIT ?",
                (message_id, top, since, limit),
            ).fetchall()
        found = [
            NewInbound(
                int(r[0]),
                int(r[1]),
                str(r[2] or ""),
                str(r[4] or "") or str(r[3] or ""),
                str(r[5]) if r[5] else None,
                int(r[6]),
            )
            for r in reversed(rows)
        ]
        return max(top, message_id), found

    def customer(self, customer_id: int) -> CustomerDetail | None:
        with self._snapshot() as conn:
            row = conn.execute(
                f"SELECT {_CUSTOMER_COLS} FROM customer WHERE id=?", (customer_id,)
            ).fetchone()
            if row is None:
                return None
            identities = tuple(
                IdentityRow(*r)
                for r in conn.execute(
                    "SELECT id, channel, address, account, display_name, unreachable_reason, "
                    "coalesce(handle, ''), claimed_email FROM identity WHERE customer_id=? "
                    "ORDER BY id",
                    (customer_id,),
                )
            )
            conv = conn.execute(
                "SELECT id, status FROM conversation WHERE customer_id=? ORDER BY id DESC LIMIT 1",
                (customer_id,),
            ).fetchone()
            last_in = conn.execute(
                # Of an address still theirs (one may have been unlinked since); a logged
                # call is no address to reply to.
                "SELECT m.identity_id FROM message m JOIN identity i ON i.id = m.identity_id "
                "AND i.customer_id = m.customer_id WHERE m.customer_id=? AND m.direction='in' "
                "AND m.channel <> 'phone' ORDER BY m.sent_at DESC, m.id DESC LIMIT 1",
                (customer_id,),
            ).fetchone()
            state = _conversation_state(conn, customer_id)
            customer = _customer(row)
            language = self._language(conn, customer_id, customer.version)
        return CustomerDetail(
            customer,
            identities,
            conv[0] if conv else None,
            conv[1] if conv else None,
            last_in[0] if last_in else None,
            state,
            language,
        )

    # -- timeline -----------------------------------------------------------

    def timeline(
        self, customer_id: int, *, before: tuple[datetime, int] | None = None, limit: int = 100
    ) -> list[TimelineItem]:
        """Up to ``limit`` messages older than ``before``, oldest first, with their events."""
        params: list[object] = [customer_id]
        where = "m.customer_id=?"
        if before is not None:
            where += " AND (m.sent_at < ? OR (m.sent_at = ? AND m.id < ?))"
            at = stamp(before[0])
            params += [at, at, before[1]]
        with self._snapshot() as conn:
            rows = conn.execute(
                "SELECT m.id, m.direction, m.channel, m.account, m.author, m.subject, m.body, "
                "m.sent_at, m.conversation_id, m.delivery, m.attempts, m.last_error, "
                f"m.next_attempt_at, m.thread_reason, c.status, {self._attachments_json}, "
                f"{_EDITED}, p.duration_seconds, p.outcome, m.kind "
                "FROM message m LEFT JOIN conversation c ON c.id = m.conversation_id "
                "LEFT JOIN phonecall p ON p.message_id = m.id "
                f"WHERE {where} "
                "ORDER BY m.sent_at DESC, m.id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            items = [
                TimelineItem(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    parse_stamp(r[7]),
                    r[8],
                    r[9],
                    r[10],
                    r[11],
                    _ts(r[12]),
                    r[13] or "",
                    r[14] or "",
                    _attachments_of(r[15]),
                    edited=bool(r[16]),
                    call_seconds=r[17],
                    call_outcome=r[18] or "",
                    message_kind=r[19] or "",
                )
                for r in rows
            ]
            if items:
                low = stamp(items[-1].at)
                high = stamp(before[0]) if before else _END_OF_TIME
                events = conn.execute(
                    "SELECT id, kind, agent, before, after, at, conversation_id, message_id "
                    "FROM event WHERE customer_id=? AND at >= ? AND at < ? AND kind IN "
                    "('status', 'assign', 'merge', 'retry', 'move', 'split', 'unreachable', "
                    "'link-suggested', 'identity-linked', 'identity-verified', 'unmerge', "
                    "'link', 'unlink', 'rename', 'handoff', "
                    f"{_WORKFLOW_EVENTS}) ORDER BY at, id",
                    (customer_id, low if len(items) == limit else START_OF_TIME, high),
                ).fetchall()
                items += [
                    TimelineItem(
                        -e[0],
                        "event",
                        "",
                        "",
                        e[2],
                        e[1],
                        f"{e[3] or '-'} -> {e[4] or '-'}",
                        parse_stamp(e[5]),
                        e[6],
                        message_id=e[7],
                    )
                    for e in events
                ]
        items.sort(key=lambda i: (i.at, i.kind == "event", abs(i.id)))
        return items

    def message_body(self, message_id: int) -> tuple[str, str] | None:
        """The whole (subject, body) of one message, for the full view."""
        row = (
            self._conn()
            .execute("SELECT subject, body FROM message WHERE id=?", (message_id,))
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def message_detail(self, message_id: int) -> MessageDetail | None:
        """One message whole, with why it is in its conversation and its attachments."""
        from omnitui.readrows import MessageDetail

        with self._snapshot() as conn:
            row = conn.execute(
                "SELECT m.id, m.direction, m.channel, m.account, m.author, "
                "coalesce(i.address, ''), m.subject, m.body, m.html IS NOT NULL AND m.html != '', "
                "m.sent_at, m.conversation_id, m.thread_reason, m.refs "
                "FROM message m LEFT JOIN identity i ON i.id = m.identity_id WHERE m.id=?",
                (message_id,),
            ).fetchone()
            if row is None:
                return None
            files = self.attachments([message_id]).get(message_id, [])
            edits = self.edits(message_id)
        return MessageDetail(
            int(row[0]),
            str(row[1]),
            str(row[2] or ""),
            str(row[3] or ""),
            str(row[4] or ""),
            str(row[5]),
            str(row[6] or ""),
            str(row[7] or ""),
            bool(row[8]),
            parse_stamp(row[9]),
            int(row[10]),
            str(row[11] or ""),
            str(row[12] or ""),
            tuple(files),
            tuple(edits),
        )

    def edits(self, message_id: int) -> list[MessageEditRow]:
        """The texts a message had before its sender edited it, oldest first."""
        from omnitui.readrows import MessageEditRow

        rows = self._conn().execute(
            "SELECT id, message_id, body, edited_at FROM messageedit WHERE message_id=? "
            "ORDER BY edited_at, id",
            (message_id,),
        )
        return [
            MessageEditRow(int(r[0]), int(r[1]), str(r[2] or ""), parse_stamp(r[3])) for r in rows
        ]

    def attachments(self, message_ids: Iterable[int]) -> dict[int, list[AttachmentRow]]:
        """The attachments of some messages, by message, in the order they came."""
        return _attachments_by_message(self._conn(), message_ids)

    # -- threading corrections ----------------------------------------------

    def conversations(self, customer_id: int) -> list[ConversationRow]:
        """The customer's conversations, newest first, with their size and first subject."""
        from omnitui.readrows import ConversationRow

        rows = self._conn().execute(
            "SELECT c.id, c.status, "
            "(SELECT count(*) FROM message m WHERE m.conversation_id = c.id), "
            "c.last_message_at, "
            "(SELECT m.subject FROM message m WHERE m.conversation_id = c.id "
            "AND m.subject != '' ORDER BY m.sent_at, m.id LIMIT 1) "
            "FROM conversation c WHERE c.customer_id=? ORDER BY c.id DESC",
            (customer_id,),
        )
        return [
            ConversationRow(int(r[0]), str(r[1]), int(r[2]), parse_stamp(r[3]), str(r[4] or ""))
            for r in rows
        ]

    def last_move_event(self, customer_id: int) -> int | None:
        """The customer's newest move or split of a message (what undo takes back)."""
        row = (
            self._conn()
            .execute(
                "SELECT id FROM event WHERE customer_id=? AND kind IN ('move', 'split') "
                "ORDER BY id DESC LIMIT 1",
                (customer_id,),
            )
            .fetchone()
        )
        return int(row[0]) if row else None

    # -- search -------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Customers by name or address, then messages, newest first."""
        from omnitui.normalize import words
        from omnitui.query import Words
        from omnitui.readrows import SearchHit

        terms = words(query)
        if not terms:
            return []
        # Every folded word as a prefix, ANDed; quoted, so no word is FTS syntax.
        customers, match = self.dialect.fulltext("customer", [Words(tuple(terms), query, 0)])
        messages, _ = self.dialect.fulltext("message", [Words(tuple(terms), query, 0)])
        with self._snapshot() as conn:
            hits = [
                SearchHit(r[0], r[1], None, r[2], parse_stamp(r[3]))
                for r in conn.execute(
                    "SELECT c.id, c.name, c.preview, c.last_activity_at "
                    f"FROM ({self.dialect.newest(customers, 'customer', 'fts', 'wanted')}) f "
                    "JOIN customer c ON c.id = f.rowid "
                    "WHERE c.merged_into_id IS NULL ORDER BY f.rowid DESC LIMIT :limit",
                    # Merged customers keep their rows in the index: read some more.
                    {"fts": match, "limit": limit, "wanted": limit * 2},
                )
            ]
            # Rank by recency (rowid), not bm25: bm25 over a common term costs
            # ~100 ms at 1M messages, rowid order is the index's own. SQLite's nested loop
            # keeps it through the joins; PostgreSQL's hash join may not.
            in_order = " ORDER BY f.rowid DESC" if self.postgresql else ""
            newest = self.dialect.newest(messages, "message", "fts", "limit")
            for r in conn.execute(
                "SELECT m.customer_id, c.name, m.id, m.subject, m.body, m.sent_at "
                f"FROM ({newest}) f JOIN message m ON m.id = f.rowid "
                f"JOIN customer c ON c.id = m.customer_id{in_order}",
                {"fts": match, "limit": limit},
            ):
                hits.append(
                    SearchHit(r[0], r[1], r[2], excerpt(f"{r[3]} {r[4]}", terms), parse_stamp(r[5]))
                )
        return hits

    # -- the search language (omnitui/query.py) -------------------------------------

    def search_query(
        self, query: str | Query, limit: int = 50, *, context: QueryContext | None = None
    ) -> list[SearchHit]:
        """The messages matching every term of ``query`` (omnitui/query.py's language),
        newest first, at most ``limit``, each with its conversation; when the query is
        plain words, first the customers they find by name or address, as ``search`` does.

        ``context``: the agent (``assignee:me``), time zone and now (before:/after:).
        Raises ``query.QueryError`` for a malformed query.
        """
        from omnitui.query import Context, compile_query, parse
        from omnitui.readrows import SearchHit

        parsed = parse(query) if isinstance(query, str) else query
        if not parsed.terms:
            return []
        compiled = compile_query(parsed, context or Context(), self.dialect)
        terms = list(parsed.text_words)
        hits: list[SearchHit] = []
        with self._snapshot() as conn:
            self._add_fold_function(conn)
            if compiled.customers is not None:
                hits += [
                    SearchHit(r[0], r[1], None, r[2], parse_stamp(r[3]))
                    for r in conn.execute(
                        "SELECT c.id, c.name, c.preview, c.last_activity_at FROM "
                        f"({self.dialect.newest(compiled.customers, 'customer', 'fts', 'wanted')})"
                        " f JOIN customer c ON c.id = f.rowid "
                        "WHERE c.merged_into_id IS NULL ORDER BY f.rowid DESC LIMIT :limit",
                        # Merged customers keep their rows in the index: read some more.
                        {"fts": compiled.params["fts"], "limit": limit, "wanted": limit * 2},
                    )
                ]
            for r in self._matching(conn, compiled, limit):
                hits.append(
                    SearchHit(
                        int(r[0]),
                        str(r[1]),
                        int(r[2]),
                        excerpt(f"{r[3]} {r[4]}", terms),
                        parse_stamp(r[5]),
                        int(r[6]),
                        str(r[7]),
                        str(r[8] or ""),
                        str(r[9]),
                    )
                )
        return hits

    def search_conversations(
        self, query: str | Query, *, context: QueryContext | None = None, limit: int | None = None
    ) -> list[int]:
        """The distinct conversations of every message matching ``query``, the one with the
        newest match first (what a bulk action on search results acts on). Customers found
        by name alone bring none. Raises ``query.QueryError`` for a malformed query."""
        from omnitui.query import Context, compile_query, parse

        parsed = parse(query) if isinstance(query, str) else query
        if not parsed.terms:
            return []
        compiled = compile_query(parsed, context or Context(), self.dialect)
        inner, params = compiled.select("m.conversation_id AS conversation_id, m.id AS id", None)
        tail = ""
        if limit is not None:
            tail = " LIMIT :limit"
            params["limit"] = limit
        with self._snapshot() as conn:
            self._add_fold_function(conn)
            rows = conn.execute(
                f"SELECT conversation_id FROM ({inner}) AS found GROUP BY conversation_id "
                f"ORDER BY max(id) DESC{tail}",
                params,
            ).fetchall()
        return [int(r[0]) for r in rows]

    def _matching(self, conn: sqlite3.Connection, compiled: Compiled, limit: int) -> list[Any]:
        """The rows of ``_HIT_COLUMNS`` of the messages ``compiled`` matches, newest first.

        With words, the full-text index leads (newest first, as ``search``). Without, the
        newest ``SEARCH_WINDOW`` messages are read in order first: conditions that recent
        messages often meet (is:open, channel:telegram, assignee:me) are answered there in
        a millisecond, where a plan through their index would sort every match. Only when
        the window holds fewer than ``limit`` does SQLite plan the rest, through an index
        when a condition has one (tag:, customer:, from:, has:attachment, is:snoozed).
        """
        if compiled.fulltext is not None:
            return conn.execute(*compiled.select(_HIT_COLUMNS, limit)).fetchall()
        top = conn.execute("SELECT max(id) FROM message").fetchone()[0] or 0
        floor = max(0, int(top) - SEARCH_WINDOW)
        sql, params = compiled.select(_HIT_COLUMNS, limit, above=floor, newest_first=True)
        rows = conn.execute(sql, params).fetchall()
        if len(rows) < limit and floor > 0:
            sql, params = compiled.select(_HIT_COLUMNS, limit - len(rows), below=floor + 1)
            rows += conn.execute(sql, params).fetchall()
        return rows

    def _add_fold_function(self, conn: sqlite3.Connection) -> None:
        """Give this thread's connection the folding function the compiled SQL calls."""
        if self.postgresql or getattr(self._local, "fold_function", False):
            return  # PostgreSQL has it as a function of the schema (migration 0008)
        from omnitui.normalize import fold
        from omnitui.query import FOLD_FUNCTION

        def folded(value: object) -> str:
            return fold(value if isinstance(value, str) else str(value or ""))

        conn.create_function(FOLD_FUNCTION, 1, folded, deterministic=True)
        self._local.fold_function = True

    # -- team workflow (assign, snooze, tags, next unread) -----------------------

    def conversation_state(self, customer_id: int) -> ConversationState | None:
        """The conversation team actions on the customer apply to, with its assignee,
        snooze time and tags, and the customer's blocked addresses; None without one."""
        with self._snapshot() as conn:
            return _conversation_state(conn, customer_id)

    def agents(self, limit: int = 200) -> list[str]:
        """The agents the store knows, by name: those who acted (``agent``) and those
        whose TUI ran (``presence``). Whom a conversation can be assigned to."""
        rows = self._conn().execute(
            "SELECT name FROM agent UNION SELECT agent FROM presence ORDER BY 1 LIMIT ?",
            (limit,),
        )
        return [str(r[0]) for r in rows if r[0]]

    def tags(self, limit: int = 1000) -> list[str]:
        """Every tag name in use or used before, by name (the tag prompt completes them)."""
        rows = self._conn().execute("SELECT name FROM tag ORDER BY name LIMIT ?", (limit,))
        return [str(r[0]) for r in rows]

    def next_unread(self, after_customer_id: int | None) -> int | None:
        """The next customer with unread messages below ``after_customer_id`` in list
        order (newest activity first), wrapping round to the top; None when nobody else
        has any. Walks ix_customer_last_activity_at: unread customers are usually near
        the top, so it stops early."""
        where = "merged_into_id IS NULL AND unread_count > 0"
        order = "ORDER BY last_activity_at DESC, id DESC LIMIT 1"
        with self._snapshot() as conn:
            if after_customer_id is not None:
                at = conn.execute(
                    "SELECT last_activity_at FROM customer WHERE id=?", (after_customer_id,)
                ).fetchone()
                if at is not None:
                    below = conn.execute(
                        f"SELECT id FROM customer WHERE {where} AND (last_activity_at < ? "
                        f"OR (last_activity_at = ? AND id < ?)) {order}",
                        (at[0], at[0], after_customer_id),
                    ).fetchone()
                    if below is not None:
                        return int(below[0])
            top = conn.execute(f"SELECT id FROM customer WHERE {where} {order}").fetchone()
        if top is None or top[0] == after_customer_id:
            return None
        return int(top[0])

    # -- quarantine -----------------------------------------------------------

    def quarantined(self, limit: int = 5) -> list[QuarantineRow]:
        """The newest quarantine records, without their raw bytes."""
        from omnitui.readrows import QuarantineRow

        with self._snapshot() as conn:
            return [
                QuarantineRow(r[0], r[1], r[2], r[3], parse_stamp(r[4]))
                for r in conn.execute(
                    "SELECT id, account, source, error, stored_at FROM quarantine "
                    "ORDER BY id DESC LIMIT ?",
                    (limit,),
                )
            ]

    # -- status line ----------------------------------------------------------

    def status(self) -> StoreStatus:
        with self._snapshot() as conn:
            lease = conn.execute("SELECT holder, expires_at FROM runnerlease WHERE id=1").fetchone()
            connectors = tuple(
                ConnectorStatus(*r)
                for r in conn.execute(
                    "SELECT account, channel, state, error, detail FROM connectorstate "
                    "ORDER BY account"
                )
            )
            counts = dict(
                conn.execute(
                    f"SELECT delivery, count(*) FROM message WHERE {UNDELIVERED} GROUP BY delivery"
                ).fetchall()
            )
            quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        return StoreStatus(
            lease[0] if lease else "",
            _ts(lease[1]) if lease else None,
            connectors,
            counts.get("queued", 0),
            counts.get("sending", 0),
            counts.get("failed", 0),
            counts.get("unconfirmed", 0),
            int(quarantined),
        )

    # -- web chat ---------------------------------------------------------------

    def chat_events_after(
        self, account: str, address: str, after: str | None, limit: int
    ) -> list[ChatEventRow]:
        """A web chat visitor's events after the one with id ``after`` (``in-ID`` for their
        message ``ADDRESS:ID``, else a reply's idempotency key), oldest first, at most
        ``limit``; the last ``limit`` when ``after`` is None or not found."""
        from omnitui.connectors.base import buttons_of
        from omnitui.readrows import ChatEventRow

        args: dict[str, Any] = {"account": account, "address": address, "limit": limit}
        cols = (
            "SELECT m.direction, m.external_id, m.idempotency_key, m.body, m.sent_at, m.id, "
            "m.buttons "
        )
        with self._snapshot() as conn:
            found = None
            if after:
                if after.startswith("in-"):
                    where = "m.direction = 'in' AND m.external_id = :anchor"
                    args["anchor"] = f"{address}:{after[3:]}"
                else:
                    where = "m.direction = 'out' AND m.idempotency_key = :anchor"
                    args["anchor"] = after
                found = conn.execute(
                    f"SELECT m.sent_at, m.id {_CHAT_EVENTS} AND {where}", args
                ).fetchone()
            if found is not None:
                args["at"], args["id"] = found
                rows = conn.execute(
                    f"{cols}{_CHAT_EVENTS} AND (m.sent_at, m.id) > (:at, :id) "
                    "ORDER BY m.sent_at, m.id LIMIT :limit",
                    args,
                ).fetchall()
            else:
                rows = conn.execute(
                    f"{cols}{_CHAT_EVENTS} ORDER BY m.sent_at DESC, m.id DESC LIMIT :limit", args
                ).fetchall()[::-1]
            # The replies' files in one more query of the same snapshot (most replies have none).
            files = _attachments_by_message(conn, (row[5] for row in rows if row[0] == "out"))
        events = []
        for direction, external_id, key, body, sent_at, message_id, buttons in rows:
            event_id = f"in-{external_id[len(address) + 1 :]}" if direction == "in" else key
            # Only the files whose bytes were kept can be linked to.
            attached = tuple(f for f in files.get(message_id, ()) if f.omitted is None and f.sha256)
            at = parse_stamp(sent_at)
            offered = buttons_of(buttons)
            events.append(ChatEventRow(event_id, direction, body, at, attached, offered))
        return events

    def last_agent_activity(self) -> datetime | None:
        """The newest sign of an agent at work: a presence heartbeat, a reply or note written,
        an event recorded by an agent; None when there is none."""
        row = (
            self._conn()
            .execute(
                "SELECT max(at) FROM ("
                "SELECT max(heartbeat_at) AS at FROM presence "
                "UNION ALL SELECT max(sent_at) FROM message "
                "WHERE direction IN ('out', 'note') AND author NOT IN ('', 'system') "
                "AND kind = '' "  # the bot's and the survey's messages are no agent about
                "UNION ALL SELECT max(at) FROM event WHERE agent NOT IN ('', 'system') "
                "AND kind NOT IN ('bot', 'handoff')) AS activity"
            )
            .fetchone()
        )
        return _ts(row[0]) if row else None

    def visitor_typing(self, customer_id: int, now: datetime | None = None) -> TypingRow | None:
        """The customer's web chat visitor when seen typing within ``VISITOR_TYPING_SECONDS``
        before ``now`` (default: the real time, which the runner stamped it with), else None."""
        from omnitui.readrows import TypingRow

        since = (now or datetime.now(UTC)) - timedelta(seconds=VISITOR_TYPING_SECONDS)
        row = (
            self._conn()
            .execute(
                "SELECT display_name, typing_at FROM identity WHERE customer_id = ? "
                "AND channel = 'webchat' AND typing_at >= ? ORDER BY typing_at DESC LIMIT 1",
                (customer_id, stamp(since)),
            )
            .fetchone()
        )
        return TypingRow(row[0], parse_stamp(row[1])) if row else None

    def agents_typing_to(self, account: str, now: datetime | None = None) -> set[str]:
        """The web chat visitors of ``account`` (addresses) whose customer an agent is typing
        a reply to: a presence row typing, written within ``AGENT_TYPING_SECONDS``."""
        since = (now or datetime.now(UTC)) - timedelta(seconds=AGENT_TYPING_SECONDS)
        rows = self._conn().execute(
            "SELECT DISTINCT i.address FROM presence p "
            "JOIN identity i ON i.customer_id = p.customer_id "
            "WHERE p.typing AND p.heartbeat_at >= ? AND i.channel = 'webchat' AND i.account = ?",
            (stamp(since), account),
        )
        return {str(r[0]) for r in rows}

    # -- presence and drafts ------------------------------------------------------

    def agents_online(self, now: datetime | None = None) -> list[AgentPresence]:
        """The agents whose TUI sent its heartbeat within ``ONLINE_SECONDS`` before ``now``
        (default: the real time, which the TUIs stamp it with), by name. A handful of rows:
        the customer list reads it apart from its own rows, so they stay one indexed query."""
        from omnitui.readrows import AgentPresence

        at = now or datetime.now(UTC)
        rows = self._conn().execute(
            "SELECT agent, customer_id, typing AND heartbeat_at >= ? FROM presence "
            "WHERE seen_at >= ? ORDER BY agent",
            (
                stamp(at - timedelta(seconds=AGENT_TYPING_SECONDS)),
                stamp(at - timedelta(seconds=ONLINE_SECONDS)),
            ),
        )
        return [
            AgentPresence(str(r[0]), int(r[1]) if r[1] is not None else None, bool(r[2]))
            for r in rows
        ]

    def draft(self, agent: str, customer_id: int) -> DraftRow | None:
        """The draft ``agent`` saved for the customer, if any."""
        from omnitui.readrows import DraftRow

        row = (
            self._conn()
            .execute(
                "SELECT customer_id, mode, identity_id, body, started_at, updated_at FROM draft "
                "WHERE agent = ? AND customer_id = ?",
                (agent, customer_id),
            )
            .fetchone()
        )
        if row is None:
            return None
        return DraftRow(
            int(row[0]),
            str(row[1] or "reply"),
            int(row[2]) if row[2] is not None else None,
            str(row[3] or ""),
            parse_stamp(row[4]),
            parse_stamp(row[5]),
        )

    def collision(
        self, customer_id: int, agent: str, started_at: datetime, now: datetime | None = None
    ) -> Collision:
        """What ``agent``, about to send to the customer what they began at ``started_at``,
        should see first: the other agents typing to the customer (a presence row typing
        within ``AGENT_TYPING_SECONDS``) or holding a non-empty draft for them saved within
        ``DRAFT_WRITING_SECONDS``, and the newest reply or note someone else added since
        ``started_at``. Times are the real time's, as the services stamp them."""
        from omnitui.readrows import Collision, RacedReply

        at = now or datetime.now(UTC)
        with self._snapshot() as conn:
            writing = [
                str(r[0])
                for r in conn.execute(
                    "SELECT agent FROM presence WHERE customer_id = :customer "
                    "AND agent != :agent AND typing AND heartbeat_at >= :typing "
                    "UNION SELECT agent FROM draft WHERE customer_id = :customer "
                    "AND agent != :agent AND trim(body) != '' AND updated_at >= :draft "
                    "ORDER BY 1",
                    {
                        "customer": customer_id,
                        "agent": agent,
                        "typing": stamp(at - timedelta(seconds=AGENT_TYPING_SECONDS)),
                        "draft": stamp(at - timedelta(seconds=DRAFT_WRITING_SECONDS)),
                    },
                )
            ]
            # On ix_message_customer_time: only the customer's newest messages are looked at.
            row = conn.execute(
                "SELECT author, direction, sent_at FROM message WHERE customer_id = ? "
                "AND sent_at > ? AND direction IN ('out', 'note') AND author != ? "
                "AND kind <> 'survey' ORDER BY sent_at DESC, id DESC LIMIT 1",
                (customer_id, stamp(started_at), agent),
            ).fetchone()
        replied = RacedReply(str(row[0]), str(row[1]), parse_stamp(row[2])) if row else None
        return Collision(tuple(writing), replied)

    # -- canned replies -------------------------------------------------------------

    def canned_replies(self, limit: int = 10_000) -> list[CannedRow]:
        """Every canned reply, by shortcut, with the languages it has a body in."""
        rows = self._conn().execute(
            "SELECT c.id, c.title, c.shortcut, c.tags, c.updated_at, c.updated_by, "
            f"(SELECT {self._languages_of} FROM cannedvariant WHERE canned_id = c.id) "
            "FROM canned c ORDER BY c.shortcut LIMIT ?",
            (limit,),
        )
        return [_canned(r) for r in rows]

    def canned(self, canned_id: int) -> CannedDetail | None:
        """One canned reply with its bodies; None when it is gone."""
        from omnitui.readrows import CannedDetail

        with self._snapshot() as conn:
            row = conn.execute(
                "SELECT c.id, c.title, c.shortcut, c.tags, c.updated_at, c.updated_by, "
                f"(SELECT {self._languages_of} FROM cannedvariant WHERE canned_id = c.id) "
                "FROM canned c WHERE c.id = ?",
                (canned_id,),
            ).fetchone()
            if row is None:
                return None
            bodies = dict(
                conn.execute(
                    "SELECT language, body FROM cannedvariant WHERE canned_id = ?", (canned_id,)
                ).fetchall()
            )
        found = _canned(row)
        return CannedDetail(found, {lang: str(bodies[lang]) for lang in found.languages})

    # -- the knowledge base (the FAQ bot's) ---------------------------------------------

    def kb_entries(self, limit: int = 10_000) -> list[KbRow]:
        """Every knowledge base entry, by slug, with its languages and its English question
        (else its first)."""
        from omnitui.kb import KbRow

        with self._snapshot() as conn:
            rows = conn.execute(
                "SELECT e.id, e.slug, e.tags, e.updated_at, e.updated_by, v.language, v.question "
                "FROM kbentry e LEFT JOIN kbvariant v ON v.entry_id = e.id "
                "WHERE e.id IN (SELECT id FROM kbentry ORDER BY slug LIMIT ?) "
                "ORDER BY e.slug, v.id",
                (limit,),
            ).fetchall()
        found: dict[int, list[Sequence[Any]]] = {}
        for row in rows:
            found.setdefault(int(row[0]), []).append(row)
        return [KbRow.of(group) for group in found.values()]

    def kb_entry(self, entry_id: int) -> KbDetail | None:
        """One knowledge base entry with its text in every language; None when it is gone."""
        from omnitui.canned import ordered_languages
        from omnitui.kb import Entry, KbDetail, KbRow, Variant

        with self._snapshot() as conn:
            rows = conn.execute(
                "SELECT e.id, e.slug, e.tags, e.updated_at, e.updated_by, v.language, v.question, "
                "v.answer FROM kbentry e LEFT JOIN kbvariant v ON v.entry_id = e.id "
                "WHERE e.id = ? ORDER BY v.id",
                (entry_id,),
            ).fetchall()
        if not rows:
            return None
        row = KbRow.of(rows)
        variants = {str(r[5]): Variant(str(r[6]), str(r[7])) for r in rows if r[5] is not None}
        ordered = {lang: variants[lang] for lang in ordered_languages(variants)}
        return KbDetail(row, Entry(row.slug, row.tags, ordered))

    def customer_language(self, customer_id: int) -> str | None:
        """The language the customer writes in (en, az, tr, fa), detected from their last
        ``LANGUAGE_MESSAGES`` messages; None when it cannot be told (or no such customer),
        and the canned reply picker then falls back to the agent's ``[agent] language``,
        then English."""
        with self._snapshot() as conn:
            row = conn.execute("SELECT version FROM customer WHERE id = ?", (customer_id,))
            found = row.fetchone()
            return None if found is None else self._language(conn, customer_id, int(found[0]))

    def _language(self, conn: sqlite3.Connection, customer_id: int, version: int) -> str | None:
        """The customer's language at ``version`` of their history: kept per customer, as
        every open of a customer and every canned reply picked asks for it."""
        cached = self._languages.get(customer_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        from omnitui.language import MAX_CHARS, detect_many
        from omnitui.quoting import split_quoted

        # Backwards on ix_message_customer_time; only the start of long mails is read.
        bodies = conn.execute(
            "SELECT substr(body, 1, ?) FROM message WHERE customer_id = ? AND direction = 'in' "
            "ORDER BY sent_at DESC, id DESC LIMIT ?",
            (MAX_CHARS * 2, customer_id, LANGUAGE_MESSAGES),
        ).fetchall()
        # The customer's own words: a quoted reply of ours would speak for them.
        language = detect_many(split_quoted(str(b[0] or ""))[0] for b in bodies)
        if len(self._languages) >= LANGUAGE_CACHE:
            self._languages.clear()
        self._languages[customer_id] = (version, language)
        return language

    # -- customers (the customer screen) ------------------------------------------------

    def customer_info(self, customer_id: int) -> CustomerInfo | None:
        """The customer's name, notes, addresses (each with the conversations only it wrote
        in) and merges, in one snapshot; None when there is no such customer."""
        from omnitui.readrows import CustomerIdentity, CustomerInfo, MergeRow

        with self._snapshot() as conn:
            row = conn.execute(
                "SELECT id, name, notes, merged_into_id, version FROM customer WHERE id = ?",
                (customer_id,),
            ).fetchone()
            if row is None:
                return None
            identities = tuple(
                CustomerIdentity(
                    int(r[0]),
                    str(r[1]),
                    str(r[2]),
                    str(r[3] or ""),
                    str(r[4] or ""),
                    str(r[5] or ""),
                    r[6],
                    r[7] is not None,
                    r[8],
                    int(
                        conn.execute(
                            f"SELECT count(*) FROM ({SOLE_CONVERSATIONS}) AS sole",
                            {"customer": customer_id, "identity": r[0]},
                        ).fetchone()[0]
                    ),
                )
                for r in conn.execute(
                    "SELECT id, channel, address, account, display_name, handle, claimed_email, "
                    "blocked_at, unreachable_reason FROM identity WHERE customer_id = ? "
                    "ORDER BY id",
                    (customer_id,),
                ).fetchall()
            )
            language = self._language(conn, customer_id, int(row[4]))

            def moved(key: str) -> str:  # how many of a kind the merge moved
                if self.postgresql:
                    return f"json_array_length(r.moved::json -> '{key}')"
                return f"json_array_length(r.moved, '$.{key}')"

            conversations, messages = conn.execute(
                "SELECT (SELECT count(*) FROM conversation WHERE customer_id = :id), "
                "(SELECT count(*) FROM message WHERE customer_id = :id)",
                {"id": customer_id},
            ).fetchone()
            merges = tuple(
                MergeRow(
                    int(r[0]),
                    parse_stamp(r[1]),
                    str(r[2]),
                    int(r[3]),
                    str(r[4] or ""),
                    int(r[5]),
                    str(r[6] or ""),
                    int(r[7] or 0),
                    int(r[8] or 0),
                    int(r[9] or 0),
                    _ts(r[10]),
                    str(r[11] or ""),
                )
                for r in conn.execute(
                    "SELECT r.id, r.at, r.agent, r.source_id, s.name, r.target_id, t.name, "
                    f"{moved('identities')}, {moved('conversations')}, {moved('messages')}, "
                    "r.undone_at, r.undone_by "
                    "FROM mergerecord r JOIN customer s ON s.id = r.source_id "
                    "JOIN customer t ON t.id = r.target_id "
                    "WHERE r.target_id = :id OR r.source_id = :id ORDER BY r.id DESC",
                    {"id": customer_id},
                )
            )
        return CustomerInfo(
            int(row[0]),
            str(row[1]),
            str(row[2] or ""),
            row[3],
            int(row[4]),
            identities,
            int(conversations),
            int(messages),
            merges,
            language,
        )


def _canned(row: Sequence[Any]) -> CannedRow:
    from omnitui.canned import ordered_languages
    from omnitui.readrows import CannedRow

    return CannedRow(
        int(row[0]),
        str(row[1]),
        str(row[2]),
        tuple(str(row[3] or "").split()),
        ordered_languages(str(row[6] or "").split()),
        parse_stamp(row[4]),
        str(row[5] or ""),
    )


def excerpt(raw: str, terms: list[str], width: int = 80) -> str:
    """A one-line piece of ``raw`` around the first folded term found in it."""
    from omnitui.normalize import fold

    flat = one_line(raw, 10_000)
    folded = fold(flat)
    # fold() keeps lengths for most text; when it does not, fall back to the start.
    start = 0
    if len(folded) == len(flat):
        positions = [p for p in (folded.find(t) for t in terms) if p >= 0]
        if positions:
            start = max(0, min(positions) - width // 3)
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
