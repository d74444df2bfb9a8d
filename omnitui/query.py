"""The search language of `omnitui search` and the TUI's `/`: parse a query, compile it to SQL.

One language for both, so an agent learns it once. A query is terms separated by spaces,
all of which a message must match (AND; there is no OR):

- ``refund kargo``: bare words, each a prefix in the full-text index, folded as the index
  is (omnitui/normalize.py), so ``istanbul`` finds "İstanbul'dayım" and ``رضایی`` finds
  "رضايي". A word with punctuation inside (``visitor-1-4242``, ``example.az``) is its
  words, each a prefix, as before this language existed.
- ``"exact phrase"``: these folded words next to each other, in this order (no prefixes).
- ``-word``, ``-"a phrase"``, ``-field:value``: the message must not match the term.
- ``field:value``, value quoted when it has spaces (``from:"Leyla M"``):

  ``from:X``      an inbound message whose sender identity's address, display name or
                  handle contains X, folded, or whose customer's name does; X must begin
                  a word there (the customer index narrows the search first)
  ``to:X``        an outgoing reply to such an identity (or customer)
  ``channel:C``   email, telegram, webchat or phone
  ``tag:NAME``    the message's conversation has the tag (case-insensitive)
  ``is:S``        the conversation is open, pending, snoozed or resolved; ``is:unread``:
                  the customer has unread messages
  ``assignee:A``  ``me`` (the agent searching), an agent's name, or ``none``
  ``before:T``    sent before T (exclusive); ``after:T``: at or after T (inclusive). T is
                  a day ``2026-03-01`` (midnight in the agent's time zone) or an age
                  ``12h``, ``7d``, ``2w``, ``3m`` (hours, days, weeks, calendar months
                  before now)
  ``has:attachment``  the message came or went with a file
  ``customer:ID`` the customer with that number; ``customer:NAME``: customers whose
                  folded name contains NAME (NAME beginning a word of it)
  ``sla:breached``   the conversation missed an SLA target (omnitui/sla.py): answered (or
                  resolved unanswered) or resolved after its due time, or not yet and
                  the time has passed;
                  ``sla:breaching``: it is open and a target it has still to meet falls
                  due within ``sla.WARNING`` (an hour) or has passed (the SLA view)

Field names and fixed values take any case. Text with a colon after letters reads as a
field, so ``http://x`` is an unknown field: quote it (``"http://x"``).

Results are messages newest first (by id, the order they were stored in, as the
full-text index keeps it); a query of positive bare words alone also finds customers by
name or address, as search always did.

A malformed query (unknown field, bad value, unclosed quote, empty value) raises
``QueryError``, one line naming the term and its 1-based column; ``caret`` draws the
query with a caret under it for the command line.

``compile_customers`` reads a query as a set of customers (those with a conversation
that matches it): the inbox's views (omnitui/views.py) are such queries, answered by
the conversation indexes when every term is about a conversation.

The compiler writes SQL for SQLite; what is SQLite's own (FTS5's MATCH, the folding
function, the stored time format) sits in ``SQLiteDialect``, so PostgreSQL (tsvector,
a folded column) gets a twin beside it. reads.py runs the SQL: it registers
``FOLD_FUNCTION`` on its connections.

Must not import Textual, the ORM, sqlite3 or any connector: the search screen parses
with it in the UI thread.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from omnitui.i18n import _
from omnitui.normalize import fold, words

FIELDS = (
    "from",
    "to",
    "channel",
    "tag",
    "is",
    "assignee",
    "before",
    "after",
    "has",
    "customer",
    "sla",
)
CHANNELS = ("email", "telegram", "webchat", "phone")
STATUSES = ("open", "pending", "snoozed", "resolved")
STATES = (*STATUSES, "unread")
HAS = ("attachment",)
SLA_STATES = ("breached", "breaching")

FOLD_FUNCTION = "omnitui_fold"
"""The SQL function SQLite connections must have (``normalize.fold``) for from:/to:/customer:."""

_FIELD = re.compile(r"([A-Za-z]+):")
_AGE = re.compile(r"(\d{1,4})([hdwm])")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class QueryError(ValueError):
    """A malformed query: ``str()`` is one line naming the term, its column and the problem."""

    def __init__(self, message: str, position: int, length: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        """The 1-based column (in characters) where the faulty term starts."""
        self.length = max(1, length)
        """How many characters the faulty term spans (for the caret line)."""

    def __str__(self) -> str:
        return self.message


def _error(term: str, column: int, problem: str, length: int | None = None) -> QueryError:
    shown = term if len(term) <= 40 else term[:39] + "…"
    said = _("{term} at column {column}: {problem}").format(
        term=shown, column=column, problem=problem
    )
    return QueryError(said, column, length or len(term))


def caret(text: str, error: QueryError, indent: str = "  ") -> str:
    """The query and a line under it marking the faulty term (``^~~~``), for a terminal."""
    line = re.sub(r"\s", " ", text)  # one line, each character still in its column
    start = error.position - 1
    pad = _width(line[:start])
    span = max(1, _width(line[start : start + error.length]))
    return f"{indent}{line}\n{indent}{' ' * pad}^{'~' * (span - 1)}"


def _width(text: str) -> int:
    """Terminal cells of ``text``: wide East Asian characters take two, marks none."""
    cells = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        cells += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return cells


# ---------------------------------------------------------------------------
# The tree


@dataclass(frozen=True, slots=True)
class Words:
    """A bare word: its folded words, each a prefix in the full-text index."""

    words: tuple[str, ...]
    source: str
    column: int
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """An "exact phrase": its folded words, adjacent and in order."""

    words: tuple[str, ...]
    source: str
    column: int
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Age:
    """A time before now: ``amount`` hours, days, weeks or calendar months (``unit`` h/d/w/m)."""

    amount: int
    unit: str

    def before(self, now: datetime, tz: tzinfo) -> datetime:
        if self.unit == "m":
            local = now.astimezone(tz)
            months = local.year * 12 + local.month - 1 - self.amount
            year, month = divmod(months, 12)
            day = min(local.day, _days_in(year, month + 1))
            return local.replace(year=year, month=month + 1, day=day)
        hours = {"h": 1, "d": 24, "w": 24 * 7}[self.unit] * self.amount
        return now - timedelta(hours=hours)


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


FieldValue = str | int | date | Age


@dataclass(frozen=True, slots=True)
class Field:
    """``name:value`` with the value checked: a status, channel, agent, day or age, text, id."""

    name: str
    value: FieldValue
    source: str
    column: int
    negated: bool = False


Term = Words | Phrase | Field


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: its terms in the order typed."""

    text: str
    terms: tuple[Term, ...]

    @property
    def plain_words(self) -> tuple[str, ...] | None:
        """The folded words when the query is positive bare words only (the search of old,
        which also finds customers by name), else None."""
        if not self.terms or any(not isinstance(t, Words) or t.negated for t in self.terms):
            return None
        return tuple(w for t in self.terms if isinstance(t, Words) for w in t.words)

    @property
    def text_words(self) -> tuple[str, ...]:
        """The folded words of the positive words and phrases (what an excerpt centres on)."""
        return tuple(
            w
            for t in self.terms
            if isinstance(t, Words | Phrase) and not t.negated
            for w in t.words
        )

    @property
    def follows_the_clock(self) -> bool:
        """Whether what the query matches changes as time passes with no store change: an
        ``sla:`` term (targets fall due)."""
        return any(isinstance(t, Field) and t.name == "sla" for t in self.terms)

    @property
    def highlights(self) -> list[str]:
        """What to mark in a result, as typed: positive bare words and phrases."""
        shown: list[str] = []
        for term in self.terms:
            if isinstance(term, Words) and not term.negated:
                shown.append(term.source)
            elif isinstance(term, Phrase) and not term.negated:
                shown.append(term.source.strip('"'))
        return [s for s in shown if s.strip()]


# ---------------------------------------------------------------------------
# Parsing


def parse(text: str) -> Query:
    """The query's terms; raises QueryError naming the first malformed one."""
    terms: list[Term] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        if text[i] == '"':
            inner, i = _quoted(text, i)
            found = tuple(words(inner))
            source = text[start:i]
            if not found:
                raise _error(source, start + 1, _("nothing to search for between the quotes"))
            terms.append(Phrase(found, text[start + negated : i], start + 1, negated))
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != '"':
            j += 1
        head = _FIELD.match(text, i, j)
        if head is None:
            found = tuple(words(text[i:j]))
            if found:  # punctuation alone searches nothing, as before this language
                terms.append(Words(found, text[i:j], start + 1, negated))
            i = j
            continue
        name = head.group(1).lower()
        value_at = head.end()
        if j == value_at and j < n and text[j] == '"':
            raw, i = _quoted(text, j)
        else:
            raw, i = text[value_at:j], j
        source = text[start:i]
        if name not in FIELDS:
            raise _error(
                source,
                start + 1,
                _(
                    'unknown field "{name}" ({fields}); '
                    "put text with a colon in quotes to search for it"
                ).format(name=name, fields=", ".join(FIELDS)),
            )
        if not raw.strip():
            raise _error(source, start + 1, _("{name}: needs a value").format(name=name))
        value = _value(name, raw.strip(), source, start + 1)
        terms.append(Field(name, value, source, start + 1, negated))
    return Query(text, tuple(terms))


def _quoted(text: str, at: int) -> tuple[str, int]:
    """The text between the quote at ``at`` and the next one, and the index after it."""
    end = text.find('"', at + 1)
    if end < 0:
        raise _error(text[at:], at + 1, _("unclosed quote"), 1)
    return text[at + 1 : end], end + 1


def _value(name: str, raw: str, source: str, column: int) -> FieldValue:
    lowered = raw.lower()
    if name == "channel":
        if lowered not in CHANNELS:
            said = _('unknown channel "{value}" ({channels})')
            raise _error(source, column, said.format(value=raw, channels=", ".join(CHANNELS)))
        return lowered
    if name == "is":
        if lowered not in STATES:
            said = _('unknown state "{value}" ({states})')
            raise _error(source, column, said.format(value=raw, states=", ".join(STATES)))
        return lowered
    if name == "sla":
        if lowered not in SLA_STATES:
            said = _('unknown "{value}" (sla:breached, sla:breaching)')
            raise _error(source, column, said.format(value=raw))
        return lowered
    if name == "has":
        if lowered not in HAS:
            raise _error(source, column, _('unknown "{value}" (has:attachment)').format(value=raw))
        return lowered
    if name in ("before", "after"):
        return _when(raw, source, column)
    if name == "customer" and raw.isascii() and raw.isdigit():
        return int(raw)
    if name in ("from", "to", "customer") and not words(raw):
        said = _('"{value}" has no letters or digits to search for')
        raise _error(source, column, said.format(value=raw))
    if name == "assignee" and lowered in ("me", "none"):
        return lowered
    return raw


def _when(raw: str, source: str, column: int) -> date | Age:
    lowered = raw.lower()
    age = _AGE.fullmatch(lowered)
    if age:
        return Age(int(age.group(1)), age.group(2))
    if _DAY.fullmatch(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise _error(source, column, _('no such day "{value}"').format(value=raw)) from None
        if not 1000 <= day.year <= 9000:  # far ends would overflow once moved to UTC
            said = _('"{value}" is out of range (years 1000 to 9000)')
            raise _error(source, column, said.format(value=raw))
        return day
    said = _('"{value}" is neither a day (2026-03-01) nor an age (12h, 7d, 2w, 3m)')
    raise _error(source, column, said.format(value=raw))


# ---------------------------------------------------------------------------
# Compiling


@dataclass(frozen=True, slots=True)
class Context:
    """Who searches, where and when: ``assignee:me`` and the days of before:/after:."""

    agent: str = ""
    tz: tzinfo = UTC
    now: datetime | None = None
    """None: the real time when compiled."""


class Dialect(Protocol):
    """What differs between stores. Parameters are named (``:name``); values are bound."""

    def fulltext(
        self,
        index: str,
        include: Sequence[Words | Phrase],
        exclude: Sequence[Words | Phrase] = (),
        *,
        param: str = "fts",
    ) -> tuple[str, str]: ...

    def newest(self, fulltext: str, index: str, param: str, limit: str) -> str: ...

    def contains_folded(self, column: str, param: str) -> str: ...

    def same_text(self, column: str, param: str) -> str: ...

    def time(self, value: datetime) -> str: ...

    @property
    def planner_hints(self) -> bool:
        """Whether SQLite's planner hints (``+column``, CROSS JOIN) belong in the SQL."""
        ...


class SQLiteDialect:
    """SQLite: FTS5 tables ``message_fts``/``customer_fts`` over folded text, the folding
    function ``FOLD_FUNCTION`` registered on the connection, times as UTC text."""

    planner_hints = True

    def fulltext(
        self,
        index: str,
        include: Sequence[Words | Phrase],
        exclude: Sequence[Words | Phrase] = (),
        *,
        param: str = "fts",
    ) -> tuple[str, str]:
        """SQL selecting the rowids of ``index`` ("message" or "customer") that match every
        term of ``include`` and none of ``exclude``, newest (highest rowid) first, and the
        MATCH value to bind to ``param``.

        Words are quoted prefix terms ("kargo"*), phrases quoted phrases ("tam metin"):
        quoted, so nothing a customer or agent types is FTS5 syntax.
        """
        match = " ".join(_fts5(t) for t in include)
        for term in exclude:
            match = f"({match}) NOT ({_fts5(term)})"
        table = f"{index}_fts"
        return f"SELECT rowid FROM {table} WHERE {table} MATCH :{param} ORDER BY rowid DESC", match

    def newest(self, fulltext: str, index: str, param: str, limit: str) -> str:
        """SQL of the newest :``limit`` rowids of ``fulltext`` (this dialect's SQL for
        ``index``, matching :``param``), newest first: FTS5 reads them in that order."""
        return f"{fulltext} LIMIT :{limit}"

    def contains_folded(self, column: str, param: str) -> str:
        """``column``, folded, contains the (folded) value bound to ``param``."""
        return f"instr({FOLD_FUNCTION}({column}), :{param}) > 0"

    def same_text(self, column: str, param: str) -> str:
        """``column`` equals the value of ``param``, ignoring (ASCII) case."""
        return f"{column} = :{param} COLLATE NOCASE"

    def time(self, value: datetime) -> str:
        """A time as the store keeps it (UTC text, as reads.stamp), for comparisons."""
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class PostgreSQLDialect:
    """PostgreSQL: the same tables with a ``tsv`` tsvector column (GIN-indexed) made from
    the same folded words, ``omnitui_fold()`` in the schema as FOLD_FUNCTION's twin, times
    compared with the same UTC text (cast by the server to timestamps)."""

    planner_hints = False

    def fulltext(
        self,
        index: str,
        include: Sequence[Words | Phrase],
        exclude: Sequence[Words | Phrase] = (),
        *,
        param: str = "fts",
    ) -> tuple[str, str]:
        """As SQLiteDialect.fulltext, with a tsquery (``'kargo':* & 'tam' <-> 'metin'``)
        built here from the folded words, each quoted: never parsed as the user typed it."""
        query = " & ".join(_tsquery(t) for t in include)
        for term in exclude:
            query = f"({query}) & !({_tsquery(term)})"
        table = f"{index}_fts"
        return (
            f"SELECT rowid FROM {table} WHERE tsv @@ CAST(:{param} AS tsquery) ORDER BY rowid DESC",
            query,
        )

    def newest(self, fulltext: str, index: str, param: str, limit: str) -> str:
        """Through omnitui_fts_newest() (migration 0002): a GIN index keeps no order, and
        sorting every match of a common word costs hundreds of ms at 1M messages."""
        return (
            f"SELECT rowid FROM omnitui_fts_newest('{index}_fts', CAST(:{param} AS tsquery), "
            f":{limit}) AS f(rowid)"
        )

    def contains_folded(self, column: str, param: str) -> str:
        return f"strpos({FOLD_FUNCTION}({column}), :{param}) > 0"

    def same_text(self, column: str, param: str) -> str:
        return f"lower({column}) = lower(:{param})"

    def time(self, value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(term: Words | Phrase) -> str:
    if isinstance(term, Phrase):
        return "(" + " <-> ".join(_lexeme(w) for w in term.words) + ")"
    return "(" + " & ".join(f"{_lexeme(w)}:*" for w in term.words) + ")"


POSTGRESQL = PostgreSQLDialect()


def _fts5(term: Words | Phrase) -> str:
    if isinstance(term, Phrase):
        return '"' + " ".join(term.words) + '"'
    return " ".join(f'"{w}"*' for w in term.words)


SQLITE = SQLiteDialect()

# Messages (m), their customer (c) and conversation (v): every compiled condition names these.
_JOINS = "JOIN customer c ON c.id = m.customer_id JOIN conversation v ON v.id = m.conversation_id"


_INDEXED = "/*ix*/"
"""Marks a message column that has an index (``/*ix*/m.customer_id``): ``Compiled.select``
writes it ``+m.customer_id`` when messages are to be read newest first instead, which
stops SQLite from using that index."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """A query as SQL: the messages it matches, newest first, through ``select``."""

    query: Query
    fulltext: str | None
    """SQL of the rowids of messages matching the positive text terms, newest first; None
    when the query has none (then messages are read by id, newest first)."""
    where: str
    """Every other condition, over m, c and v ("" when none)."""
    params: dict[str, object] = field(default_factory=dict)
    customers: str | None = None
    """For plain words: SQL of the customers matched by name or address (binds :fts)."""
    hints: bool = True
    """Whether to write SQLite's planner hints (the dialect's ``planner_hints``)."""
    newest: str | None = None
    """``fulltext``'s newest :limit rows, newest first (the dialect's ``newest``)."""

    def select(
        self,
        columns: str,
        limit: int | None,
        *,
        above: int | None = None,
        below: int | None = None,
        newest_first: bool = False,
    ) -> tuple[str, dict[str, object]]:
        """SQL of ``columns`` of the matching messages, newest first, at most ``limit``.

        ``above``/``below``: only messages whose id is greater / smaller. ``newest_first``:
        read messages by id from the newest, never through another index of theirs (the
        plan for conditions most recent messages meet, bounded by ``above``); without it
        SQLite picks the plan, and a selective condition drives it through its index.
        (CROSS JOIN and ``+column`` are SQLite's planner hints: left out without ``hints``.)
        """
        params = dict(self.params)
        where = [self.where] if self.where else []
        if above is not None:
            where.append("m.id > :above")
            params["above"] = above
        if below is not None:
            where.append("m.id < :below")
            params["below"] = below
        tail = ""
        if limit is not None:
            tail = " LIMIT :limit"
            params["limit"] = limit
        if self.fulltext is not None:
            inner = self.fulltext
            if not where and limit is not None and self.newest is not None:
                # Words alone: the index's own newest-first order with the LIMIT inside,
                # then the joins for these rows only (what keeps search fast at 1M).
                inner = self.newest
            source = f"({inner}) f JOIN message m ON m.id = f.rowid {_JOINS}"
            order = "f.rowid DESC"
        else:
            # CROSS JOIN keeps the messages the outer loop, read in the ORDER BY's order.
            join = "CROSS JOIN" if newest_first and self.hints else "JOIN"
            source = (
                f"message m {join} customer c ON c.id = m.customer_id "
                f"{join} conversation v ON v.id = m.conversation_id"
            )
            order = "m.id DESC"
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {columns} FROM {source}{condition} ORDER BY {order}{tail}"
        return sql.replace(_INDEXED, "+" if newest_first and self.hints else ""), params


def compile_query(query: Query, context: Context, dialect: Dialect = SQLITE) -> Compiled:
    """SQL for the messages matching every term of ``query``."""
    params: dict[str, object] = {}
    include = [t for t in query.terms if isinstance(t, Words | Phrase) and not t.negated]
    exclude = [t for t in query.terms if isinstance(t, Words | Phrase) and t.negated]
    conditions: list[str] = []
    fulltext = None
    if include:
        fulltext, params["fts"] = dialect.fulltext("message", include, exclude)
    else:
        for n, term in enumerate(exclude):
            key = f"not{n}"
            sql, params[key] = dialect.fulltext("message", [term], param=key)
            conditions.append(f"m.id NOT IN ({sql})")
    now = context.now or datetime.now(UTC)
    for n, fielded in enumerate(t for t in query.terms if isinstance(t, Field)):
        sql = _condition(fielded, f"p{n}", params, context, now, dialect)
        # coalesce: a condition on a NULL column (no identity, no assignee) is NULL, and
        # NOT NULL would drop the message that the negated term is meant to keep.
        conditions.append(f"NOT coalesce(({sql}), FALSE)" if fielded.negated else f"({sql})")
    customers = None
    if query.plain_words is not None:
        customers, _match = dialect.fulltext("customer", include)
    newest = dialect.newest(fulltext, "message", "fts", "limit") if fulltext else None
    return Compiled(
        query,
        fulltext,
        " AND ".join(conditions),
        params,
        customers,
        dialect.planner_hints,
        newest,
    )


def _condition(
    term: Field,
    key: str,
    params: dict[str, object],
    context: Context,
    now: datetime,
    dialect: Dialect,
) -> str:
    name, value = term.name, term.value
    p = f":{key}"
    if name in ("from", "to", "customer") and isinstance(value, str):
        # The customer index narrows to customers with these words in their name or an
        # address; the folded value must then be in the name or the sender's identity.
        customers, params[f"{key}fts"] = dialect.fulltext(
            "customer", [Words(tuple(words(value)), value, term.column)], param=f"{key}fts"
        )
        params[key] = fold(value)
        named = dialect.contains_folded("c.name", key)
        if name == "customer":
            return f"{_INDEXED}m.customer_id IN ({customers}) AND {named}"
        contains = " OR ".join(
            dialect.contains_folded(f"i.{col}", key)
            for col in ("address", "display_name", "handle")
        )
        direction = "in" if name == "from" else "out"
        return (
            f"m.direction = '{direction}' AND {_INDEXED}m.customer_id IN ({customers}) "
            f"AND ({named} OR "
            # Per message, not a set of every matching identity built up front: a broad
            # value (from:example.az) would fold the addresses of a third of the customers.
            f"EXISTS (SELECT 1 FROM identity i WHERE i.id = m.identity_id AND ({contains})))"
        )
    if name == "customer":
        params[key] = value
        return f"{_INDEXED}m.customer_id = {p}"
    if name == "channel":
        params[key] = value
        return f"m.channel = {p}"
    if name == "tag":
        params[key] = value
        return (
            f"{_INDEXED}m.conversation_id IN (SELECT conversation_id FROM conversationtag "
            f"WHERE {dialect.same_text('tag', key)})"
        )
    if name == "is":
        if value == "unread":
            return "c.unread_count > 0"
        params[key] = value
        return f"v.status = {p}"
    if name == "assignee":
        if value == "none":
            return "v.assignee IS NULL OR v.assignee = ''"
        params[key] = context.agent if value == "me" else value
        return dialect.same_text("v.assignee", key)
    if name in ("before", "after"):
        assert isinstance(value, date | Age)
        if isinstance(value, Age):
            at = value.before(now, context.tz)
        else:
            at = datetime.combine(value, time(0), tzinfo=context.tz)
        params[key] = dialect.time(at)
        return f"m.sent_at {'<' if name == 'before' else '>='} {p}"
    if name == "has":
        return f"{_INDEXED}m.id IN (SELECT message_id FROM attachment)"
    if name == "sla":
        return _sla_condition(str(value), key, params, now, dialect)
    raise AssertionError(f"field {name} has no condition")  # parse() admits no other


# ---------------------------------------------------------------------------
# Customers: a query as a view of the customer list (omnitui/views.py)


_CONVERSATION_FIELDS = frozenset({"is", "assignee", "tag", "sla"})
"""Fields that are about a conversation (or its customer), not about one message."""
_GROWING = "/*grows*/"
"""Marks a condition on ``v.status`` whose matches keep growing (resolved: every case ever
closed). ``CustomerSet.count`` writes it ``+v.status``, so SQLite counts by scanning the
covering (customer_id, status) index (5 ms at 1M messages) instead of looking up every
resolved conversation's row through the status index (45 ms)."""


@dataclass(frozen=True, slots=True)
class CustomerSet:
    """The customers a query finds as a view: those with a conversation matching every
    term (for terms about messages, with a message that matches). Three forms of one set,
    for the three ways reads.py reads a view; each names the customer table ``customer``
    (not aliased), as the list's own query does."""

    members: str
    """SQL of their ids (``customer_id``; repeats allowed): drives a small set."""
    exists: str
    """A condition true for a row of ``customer`` in the set: walks the list in order."""
    count: str
    """SQL of how many customers are in the set."""
    params: dict[str, object]
    by_conversation: bool
    """True when every term is about the conversation (status, assignee, tags, customer
    id): its indexes answer. False when a term is about messages (words, from:,
    channel:, dates, files): the matching messages are found as a search finds them."""


def compile_customers(query: Query, context: Context, dialect: Dialect = SQLITE) -> CustomerSet:
    """The customers with a conversation matching every term of ``query`` (no terms: a
    set that the caller should not ask for; reads.py lists everyone then)."""
    conversational = all(
        isinstance(t, Field)
        and (t.name in _CONVERSATION_FIELDS or (t.name == "customer" and isinstance(t.value, int)))
        for t in query.terms
    )
    if not conversational:
        return _message_customers(query, context, dialect)
    params: dict[str, object] = {}
    conditions = []
    for n, term in enumerate(query.terms):
        assert isinstance(term, Field)
        sql = _conversation_condition(term, f"v{n}", params, context, dialect)
        conditions.append(f"NOT coalesce(({sql}), FALSE)" if term.negated else f"({sql})")
    where = " AND ".join(conditions) or "TRUE"
    members = f"SELECT v.customer_id FROM conversation v WHERE {where}"
    return CustomerSet(
        members=members.replace(_GROWING, ""),
        exists=(
            f"EXISTS (SELECT 1 FROM conversation v WHERE v.customer_id = customer.id AND {where})"
        ).replace(_GROWING, ""),
        count=f"SELECT count(DISTINCT v.customer_id) FROM conversation v WHERE {where}".replace(
            _GROWING, "+" if dialect.planner_hints else ""
        ),
        params=params,
        by_conversation=True,
    )


def _message_customers(query: Query, context: Context, dialect: Dialect) -> CustomerSet:
    compiled = compile_query(query, context, dialect)
    members, params = compiled.select("m.customer_id AS customer_id", None)
    return CustomerSet(
        members=members,
        # The + keeps SQLite walking the list in order, the set built once beside it.
        exists=f"+customer.id IN ({members})",
        count=f"SELECT count(DISTINCT customer_id) FROM ({members}) AS found",
        params=params,
        by_conversation=False,
    )


def _conversation_condition(
    term: Field, key: str, params: dict[str, object], context: Context, dialect: Dialect
) -> str:
    """SQL over conversation ``v`` for a term of ``_CONVERSATION_FIELDS`` or customer:ID;
    the same meaning as ``_condition`` gives it over a message's conversation."""
    name, value = term.name, term.value
    p = f":{key}"
    if name == "customer":
        params[key] = value
        return f"v.customer_id = {p}"
    if name == "is":
        if value == "unread":
            return "v.customer_id IN (SELECT id FROM customer WHERE unread_count > 0)"
        params[key] = value
        grows = _GROWING if value == "resolved" and not term.negated else ""
        return f"{grows}v.status = {p}"
    if name == "assignee":
        if value == "none":
            return "v.assignee IS NULL OR v.assignee = ''"
        params[key] = context.agent if value == "me" else value
        return dialect.same_text("v.assignee", key)
    if name == "tag":
        # Tags are stored in lower case (inbox.tag_name): an exact match, which the tag
        # index answers (search's case-blind comparison cannot use it).
        params[key] = str(value).strip().lower().replace("i\u0307", "i")
        return f"v.id IN (SELECT conversation_id FROM conversationtag WHERE tag = {p})"
    if name == "sla":
        now = context.now or datetime.now(UTC)
        return _sla_condition(str(value), key, params, now, dialect)
    raise AssertionError(f"field {name} is not about a conversation")


def _sla_condition(
    value: str, key: str, params: dict[str, object], now: datetime, dialect: Dialect
) -> str:
    """sla:breached / sla:breaching over conversation ``v`` (its targets: inbox.apply_sla)."""
    if value == "breached":
        params[key] = dialect.time(now)
        return (
            f"v.first_response_due_at < coalesce(v.first_response_at, v.resolved_at, :{key}) "
            f"OR v.resolution_due_at < coalesce(v.resolved_at, :{key})"
        )
    from omnitui.sla import WARNING

    params[key] = dialect.time(now + WARNING)
    return (
        f"v.status = 'open' AND ((v.first_response_at IS NULL AND "
        f"v.first_response_due_at <= :{key}) OR v.resolution_due_at <= :{key})"
    )
