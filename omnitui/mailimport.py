"""Importing mail history from files: Maildir folders, mbox files and .eml files.

``omnitui import maildir|mbox|eml`` runs this. Worker processes read the files and
turn each mail into what the store keeps (``connectors.mail.convert``, the one
function that does), write attachment bytes to the blob store and fold the text
for the full-text index; the main process only threads and writes. It writes rows
with the standard library's sqlite3 (or pg.py's connection with its face, on a
PostgreSQL store) in short write transactions of a batch each, taken as db.write takes
them (BEGIN IMMEDIATE; on PostgreSQL the write advisory lock and a NOTIFY), so a runner
or a TUI on the same store waits at most a fraction of a second, and every batch leaves
the store consistent (denormalized customer columns, conversation times and status,
full-text rows). The ids are the import's own, after the store's largest; on PostgreSQL
the id sequences are moved past them in the same transaction.

The rules are inbox.py's, adapted to history that is imported at once:

- Idempotent on (account, external id), also within one run; poison is quarantined
  once per (account, sha256); an unreadable file is reported, never fatal.
- Messages are threaded in Date order (a first pass reads only each file's header
  block): the thread a message answers (In-Reply-To, then References, newest
  first), else the customer's latest conversation if its last message is within
  ``resolve_after`` of this one, else one with the same subject within
  SUBJECT_WINDOW, else a new one; ``message.thread_reason`` says which in
  inbox.py's words.
- A conversation whose last message is older than ``resolve_after`` before now is
  resolved, with ``resolved_at`` = its last message's time (when the case went
  quiet, so reports do not count the waiting days as work); the others are open.
  A conversation that was already in the store keeps its status (pending, snoozed,
  an assignee) unless the import adds a newer message to it.
- A customer's unread count is the inbound messages after their last outgoing one.

Like bulk.py this module holds SQL, written once for both stores (SQLite's parameters,
times as UTC text; pg.py translates); it must not import SQLAlchemy, SQLModel or Textual
(the workers are forked from the CLI without them).
"""

from __future__ import annotations

import hashlib
import mailbox
import multiprocessing
import os
import re
import signal
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from multiprocessing.pool import IMapIterator, Pool
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from omnitui.blobs import BlobStore
from omnitui.connectors.base import Quarantined
from omnitui.connectors.mail.convert import CHANNEL, FUTURE_SLACK, convert
from omnitui.connectors.mail.parse import MAX_ATTACHMENT_BYTES, normalize_msgid
from omnitui.normalize import fts_text, subject_key
from omnitui.reads import SchemaError, is_postgresql, parse_stamp, sqlite_path, stamp
from omnitui.text import one_line, without_nul
from omnitui.threads import ACTIVE, SUBJECT_WINDOW, idempotency_key_of

if TYPE_CHECKING:
    from omnitui import pg

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total): phase "scanning" (reading dates), then "importing"."""

BATCH_MESSAGES = 1_000
"""Messages written in one transaction (about 0.1 s holding the store's write lock)."""

_AHEAD = 1
"""Batches given to the workers beyond the one being written (memory: results wait here)."""
_BUSY_TIMEOUT_S = 10.0
_CACHE_KIB = 8 * 1024
_HEAD_BYTES = 64 * 1024
"""Bytes read of each file in the first pass, enough for any real header block."""
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_DATE_OR_ID = re.compile(rb"^(date|message-id)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)
_MAX_PARAMS = 500
_DAY_S = 86_400.0


class SourceError(Exception):
    """A path given to import is not what the command reads (no maildir there, no mbox)."""


# ---------------------------------------------------------------------------
# What to import: files (Maildir, .eml) or messages inside mbox files


class Job(NamedTuple):
    """One mail for a worker: a file to read, or bytes the main process read (mbox)."""

    source: str
    data: bytes | None
    received: float | None
    """Seconds since the epoch standing in for a missing or absurd Date."""


class Source(ABC):
    """The mails of one import, each with a number (its index), in the order found."""

    unreadable: list[tuple[str, str]]
    """(path, why) of what could not be read while listing."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def scan(self, pool: Pool, chunksize: int) -> Iterator[tuple[float | None, str, str]]:
        """Each mail's (sort time, or None when unreadable; guessed Message-ID; error)."""

    @abstractmethod
    def label(self, index: int) -> str:
        """Where the mail is: a path, or an mbox's path and the message's number."""

    @abstractmethod
    def job(self, index: int) -> Job: ...

    def close(self) -> None:  # noqa: B027 (most sources hold nothing open)
        """Let go of open files."""


class FileSource(Source):
    """One mail a file: a Maildir's cur/ and new/ files, or .eml files."""

    def __init__(self, paths: Sequence[str], unreadable: Sequence[tuple[str, str]] = ()) -> None:
        self.paths = list(paths)
        self.unreadable = list(unreadable)
        """Directories that could not be listed: (path, why)."""

    def __len__(self) -> int:
        return len(self.paths)

    def scan(self, pool: Pool, chunksize: int) -> Iterator[tuple[float | None, str, str]]:
        return pool.imap(_scan_file, self.paths, chunksize)

    def label(self, index: int) -> str:
        return self.paths[index]

    def job(self, index: int) -> Job:
        return Job(self.paths[index], None, None)


class MboxSource(Source):
    """The messages of mbox files, read in this process (``mailbox.mbox`` finds where each
    begins, minding quoted "From " lines) and handed to the workers as bytes."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.unreadable = []
        self.boxes: list[tuple[str, mailbox.mbox, float]] = []
        self.keys: list[tuple[int, str, int]] = []  # (box, key, number in the box)
        try:
            for path in paths:
                self._open(path)
        except BaseException:
            self.close()
            raise

    def _open(self, path: Path) -> None:
        try:
            box = mailbox.mbox(path, create=False)
            number = len(self.boxes)
            self.boxes.append((str(path), box, path.stat().st_mtime))
            keys = [(number, key, n) for n, key in enumerate(box.iterkeys(), 1)]
        except (OSError, mailbox.Error) as exc:
            raise SourceError(f"{path}: cannot read it as an mbox: {exc}") from exc
        if not keys and path.stat().st_size:
            raise SourceError(f"{path}: no message in it (an mbox starts with a 'From ' line)")
        self.keys += keys

    def __len__(self) -> int:
        return len(self.keys)

    def label(self, index: int) -> str:
        number, _, n = self.keys[index]
        return f"{self.boxes[number][0]}#{n}"

    def _read(self, index: int) -> tuple[str, bytes, float]:
        number, key, _ = self.keys[index]
        return self.label(index), self.boxes[number][1].get_bytes(key), self.boxes[number][2]

    def scan(self, pool: Pool, chunksize: int) -> Iterator[tuple[float | None, str, str]]:
        for index in range(len(self.keys)):
            _, data, mtime = self._read(index)
            yield _scan_header(data[:_HEAD_BYTES], mtime, complete=len(data) <= _HEAD_BYTES)

    def job(self, index: int) -> Job:
        return Job(*self._read(index))

    def close(self) -> None:
        for _, box, _ in self.boxes:
            box.close()


def maildir_source(paths: Iterable[Path]) -> FileSource:
    """The files in cur/ and new/ of each maildir and of every maildir below it (Maildir++
    ``.Folder`` and nested ones); tmp/, dot-files and index files are skipped."""
    files: list[str] = []
    unreadable: list[tuple[str, str]] = []
    for path in paths:
        found = _walk_maildir(path, files, unreadable, set())
        if not found:
            raise SourceError(f"{path}: not a maildir (no cur/ or new/ in it or below it)")
    return FileSource(files, unreadable)


def _walk_maildir(
    path: Path, files: list[str], unreadable: list[tuple[str, str]], seen: set[tuple[int, int]]
) -> bool:
    """Collect the mail files of the maildir at ``path`` and below; False when none is a maildir."""
    try:
        info = path.stat()
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        unreadable.append((str(path), exc.strerror or str(exc)))
        return False
    if (info.st_dev, info.st_ino) in seen:
        return False
    seen.add((info.st_dev, info.st_ino))
    dirs = {e.name: e for e in entries if _is_dir(e)}
    found = False
    for sub in ("cur", "new"):
        if sub in dirs:
            found = True
            try:
                # A dangling link is listed, to be reported as unreadable with its path.
                names = sorted(
                    e.name for e in os.scandir(dirs[sub].path) if _is_file(e) or e.is_symlink()
                )
            except OSError as exc:
                unreadable.append((dirs[sub].path, exc.strerror or str(exc)))
                continue
            files += [os.path.join(dirs[sub].path, n) for n in names if not n.startswith(".")]
    for name, entry in dirs.items():
        if name in ("cur", "new", "tmp"):
            continue
        # Maildir++ folders are dot-directories that are maildirs themselves; other
        # dot-directories (.notmuch, .git) hold no mail.
        if name.startswith(".") and not any(os.path.isdir(os.path.join(entry.path, s))
                                             for s in ("cur", "new")):  # fmt: skip
            continue
        found = _walk_maildir(Path(entry.path), files, unreadable, seen) or found
    return found


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def eml_source(paths: Iterable[Path]) -> FileSource:
    """Files as given, and the .eml files in directories given (and below them)."""
    files: list[str] = []
    unreadable: list[tuple[str, str]] = []
    for path in paths:
        if not path.is_dir():
            files.append(str(path))
            continue

        def failed(exc: OSError) -> None:
            unreadable.append((str(exc.filename), exc.strerror or str(exc)))

        for root, dirnames, names in os.walk(path, onerror=failed):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            files += [
                os.path.join(root, n)
                for n in sorted(names)
                if n.lower().endswith(".eml") and not n.startswith(".")
            ]
    return FileSource(files, unreadable)


def mbox_source(paths: Iterable[Path]) -> MboxSource:
    return MboxSource(list(paths))


# ---------------------------------------------------------------------------
# The workers: the first pass reads dates, the second converts


@dataclass(frozen=True, slots=True)
class _Setup:
    account: str
    ours: frozenset[str]
    max_attachment_bytes: int
    attachments: Path


_SETUP: _Setup | None = None


def _start_worker(setup: _Setup) -> None:
    global _SETUP
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process stops the pool
    _SETUP = setup


def _scan_file(path: str) -> tuple[float | None, str, str]:
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
            mtime = os.fstat(f.fileno()).st_mtime
    except OSError as exc:
        return None, "", exc.strerror or str(exc)
    return _scan_header(head, mtime, complete=len(head) < _HEAD_BYTES)


def _scan_header(head: bytes, received: float, *, complete: bool) -> tuple[float, str, str]:
    """The time a mail sorts by (its Date as convert() would take it) and its Message-ID as
    parse() normalizes it ("" when unsure), from the bytes of its header block."""
    end = _HEADER_END.search(head)
    if end is None and not complete:
        return received, "", ""  # a header block past _HEAD_BYTES: no guess
    block = head[: end.start()] if end else head
    date = ident = None
    for match in _DATE_OR_ID.finditer(block):
        if match.group(1).lower() == b"date":
            date = date if date is not None else match.group(2)
        elif ident is None:
            ident = match.group(2)
    when = received
    if date is not None:
        sent = _parse_date(date.decode("latin-1"))
        if sent is not None and sent <= received + FUTURE_SLACK.total_seconds():
            when = sent
    if ident is None or not ident.isascii():
        return when, "", ""
    return when, normalize_msgid(ident.decode("ascii")), ""


def _parse_date(value: str) -> float | None:
    text = " ".join(value.split())
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


class _Mail(NamedTuple):
    """A converted mail, in the plain values the main process writes."""

    source: str
    external_id: str
    address: str
    display_name: str
    direction: str
    author: str
    subject: str
    body: str
    html: str | None
    sent_at: str
    sent_t: float
    thread_ref: str | None
    references: tuple[str, ...]
    raw_zlib: bytes | None
    content_hash: str | None
    attachments: tuple[tuple[str, str, int, str, bool, str | None, str | None], ...]
    """(filename, content type, size, sha256 in the blob store, inline, content id, omitted)"""
    fts: str
    subject_key: str
    preview: str
    automatic: bool


class _Poison(NamedTuple):
    source: str
    error: str
    raw: bytes
    external_id: str
    sha256: str


class _Unreadable(NamedTuple):
    source: str
    error: str


_Outcome = _Mail | _Poison | _Unreadable


def _convert_job(job: Job) -> _Outcome:
    setup = _SETUP
    assert setup is not None, "the pool was started without _start_worker"
    data, received = job.data, job.received
    if data is None:
        try:
            with open(job.source, "rb") as f:
                data = f.read()
                received = os.fstat(f.fileno()).st_mtime
        except OSError as exc:
            return _Unreadable(job.source, exc.strerror or str(exc))
    try:
        return _convert(data, job.source, received, setup)
    except Exception as exc:  # a bug must not stop the import: the bytes are kept
        error = f"import failed: {type(exc).__name__}: {exc}"
        return _Poison(job.source, error, data, "", hashlib.sha256(data).hexdigest())


def _convert(data: bytes, source: str, received: float | None, setup: _Setup) -> _Outcome:
    result = convert(
        data,
        account=setup.account,
        ours=setup.ours,
        source=source,
        received_at=datetime.fromtimestamp(received, UTC) if received is not None else None,
        max_attachment_bytes=setup.max_attachment_bytes,
    )
    if isinstance(result, Quarantined):
        digest = hashlib.sha256(result.raw).hexdigest()
        return _Poison(source, result.error, result.raw, result.external_id, digest)
    blobs = BlobStore(setup.attachments) if result.attachments else None
    attachments = tuple(
        (
            a.filename,
            a.content_type,
            a.size,
            blobs.put(a.data) if blobs is not None and a.omitted is None else "",
            a.inline,
            a.content_id,
            a.omitted,
        )
        for a in result.attachments
    )
    outgoing = result.direction == "out"
    return _Mail(
        source=source,
        external_id=result.external_id,
        address=result.address,
        display_name=result.display_name,
        direction="out" if outgoing else "in",
        author=(result.author or result.account)
        if outgoing
        else (result.display_name or result.address),
        subject=result.subject,
        body=result.body,
        html=result.html,
        sent_at=stamp(result.sent_at),
        sent_t=result.sent_at.timestamp(),
        thread_ref=result.thread_ref,
        references=result.references,
        raw_zlib=result.raw_zlib,
        content_hash=result.content_hash,
        attachments=attachments,
        fts=fts_text(f"{result.subject}\n{result.body}"),
        subject_key=subject_key(result.subject),
        preview=one_line(result.subject or result.body, 120),
        automatic=result.automatic,
    )


# ---------------------------------------------------------------------------
# The main process: threading and writing


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int
    customers: int
    """New customers."""
    conversations: int
    """New conversations."""
    already: int
    """Mails already in the store (or quarantined before), or twice in this import."""
    quarantined: int
    unreadable: tuple[tuple[str, str], ...]
    """(path, why) of files and directories that could not be read."""
    seconds: float

    @property
    def rate(self) -> float:
        return self.imported / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True, eq=False)
class _Conversation:
    id: int
    customer_id: int
    status: str
    opened_at: str
    opened_t: float
    last_at: str
    last_t: float
    first_in: str | None = None
    first_out: str | None = None
    resolved_at: str | None = None
    stored_status: str | None = None
    """The status in the store before this import; None for a conversation it opened."""
    moved: bool = False
    """The import gave it a newer last message."""
    why: str = ""


@dataclass(slots=True, eq=False)
class _Customer:
    id: int
    name: str
    last_at: str
    last_t: float
    preview: str
    unread: int
    channels: str
    created: bool
    """Created by this import: its only identity is the one email address."""
    created_at: str = ""
    conversations: list[_Conversation] = field(default_factory=list)
    latest: _Conversation | None = None
    subjects: dict[str, tuple[float, _Conversation]] = field(default_factory=dict)
    changes: int = 0
    reindex: bool = False
    address: str = ""
    display_name: str = ""


@dataclass(slots=True, eq=False)
class _Identity:
    id: int
    customer_id: int
    display_name: str


@dataclass(slots=True)
class _Ids:
    customer: int = 0
    identity: int = 0
    conversation: int = 0
    message: int = 0


@dataclass(slots=True)
class _Rows:
    """One batch's writes."""

    customers: list[_Customer] = field(default_factory=list)
    identities: list[tuple[object, ...]] = field(default_factory=list)
    renamed: list[tuple[str, int]] = field(default_factory=list)
    messages: list[tuple[object, ...]] = field(default_factory=list)
    raws: list[tuple[int, bytes]] = field(default_factory=list)
    attachments: list[tuple[object, ...]] = field(default_factory=list)
    fts: list[tuple[int, str]] = field(default_factory=list)
    quarantine: list[tuple[object, ...]] = field(default_factory=list)
    conversations: dict[int, _Conversation] = field(default_factory=dict)
    touched: dict[int, _Customer] = field(default_factory=dict)
    bumped: set[int] = field(default_factory=set)


_MESSAGE_COLUMNS = (
    "id", "conversation_id", "customer_id", "direction", "channel", "account", "external_id",
    "identity_id", "author", "subject", "body", "html", "sent_at", "stored_at", "thread_ref",
    "thread_reason", "refs", "content_hash", "delivery", "attempts",
)  # fmt: skip
_CUSTOMER_COLUMNS = (
    "id", "name", "created_at", "last_activity_at", "preview", "channels", "unread_count",
    "open_count", "version",
)  # fmt: skip
_IDENTITY_COLUMNS = (
    "id", "customer_id", "channel", "address", "display_name", "account", "created_at",
)  # fmt: skip
_ATTACHMENT_COLUMNS = (
    "message_id", "filename", "content_type", "size", "sha256", "inline", "content_id",
    "omitted",
)  # fmt: skip
_QUARANTINE_COLUMNS = ("account", "external_id", "error", "raw", "stored_at", "source", "sha256")
_EVENT_COLUMNS = ("at", "agent", "kind", "customer_id", "conversation_id", "before", "after")
_UPDATE_CUSTOMER = (
    "UPDATE customer SET "
    "preview = CASE WHEN :at >= last_activity_at THEN :preview ELSE preview END, "
    "unread_count = CASE WHEN :at >= last_activity_at THEN :unread ELSE unread_count END, "
    "last_activity_at = CASE WHEN :at > last_activity_at THEN :at ELSE last_activity_at END, "
    "channels = :channels, version = version + :changes, "
    "open_count = (SELECT count(*) FROM conversation WHERE customer_id = :id "
    "AND status IN ('open', 'pending', 'snoozed')) WHERE id = :id"
)
_UPSERT_CONVERSATION = (
    "INSERT INTO conversation (id, customer_id, status, opened_at, first_inbound_at, "
    "first_response_at, resolved_at, last_message_at, channel) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'email') "
    "ON CONFLICT(id) DO UPDATE SET status = excluded.status, opened_at = excluded.opened_at, "
    "channel = CASE WHEN conversation.channel = '' THEN 'email' ELSE conversation.channel END, "
    "first_inbound_at = excluded.first_inbound_at, "
    "first_response_at = excluded.first_response_at, resolved_at = excluded.resolved_at, "
    "last_message_at = excluded.last_message_at, "
    "snoozed_until = CASE WHEN excluded.status = 'snoozed' THEN conversation.snoozed_until END"
)


class MailImport:
    """One import. Start it (``with``) before opening any store connection in this process:
    the workers are forked then, and must not inherit one."""

    def __init__(
        self,
        source: Source,
        *,
        account: str,
        attachments: Path,
        ours: Iterable[str] = (),
        resolve_after: timedelta = timedelta(days=7),
        workers: int | None = None,
        max_attachment_bytes: int | None = None,
        batch_messages: int = BATCH_MESSAGES,
        now: datetime | None = None,
    ) -> None:
        self.source = source
        self.account = account
        self.setup = _Setup(
            account,
            frozenset(a.lower() for a in ours),
            max_attachment_bytes or MAX_ATTACHMENT_BYTES,
            attachments,
        )
        self.resolve_after = resolve_after.total_seconds()
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.batch_messages = max(1, batch_messages)
        self.now = now
        self._pool: Pool | None = None

    def __enter__(self) -> MailImport:
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        self._pool = context.Pool(self.workers, _start_worker, (self.setup,))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            if error is None:
                pool.close()
            else:
                pool.terminate()
            pool.join()
        self.source.close()

    def run(self, url: str, progress: Progress | None = None) -> ImportResult:
        """Import every mail of the source into the store at ``url`` (at schema head)."""
        if self._pool is None:
            raise RuntimeError("start the import with `with MailImport(...)` first")
        started = time.perf_counter()
        now = self.now or datetime.now(UTC)
        pool, source, total = self._pool, self.source, len(self.source)
        unreadable = list(source.unreadable)
        report = progress or (lambda phase, done, total: None)

        # First pass: when each mail was written, to thread them in that order.
        chunk = max(1, min(256, total // (self.workers * 8) or 1))
        times: list[float] = []
        idents: list[str] = []
        readable: list[int] = []
        for index, (when, ident, error) in enumerate(source.scan(pool, chunk)):
            if when is None:
                unreadable.append((source.label(index), error))
                continue
            times.append(when)
            idents.append(ident)
            readable.append(index)
            if index % 5_000 == 4_999:
                report("scanning", index + 1, total)
        report("scanning", total, total)

        writer = _Writer(url, self.account, now, self.resolve_after)
        try:
            # Mails already stored are skipped before they are converted (a second run
            # costs one read of each header block).
            order = sorted(
                (i for i in range(len(readable)) if not writer.stored(idents[i])),
                key=times.__getitem__,
            )
            writer.already += len(readable) - len(order)
            done = total - len(order)
            report("importing", done, total)
            jobs = [readable[i] for i in order]
            del times, idents, readable, order
            size = self.batch_messages
            windows = [jobs[i : i + size] for i in range(0, len(jobs), size)]
            del jobs
            chunk = max(1, min(64, size // (self.workers * 4)))

            def submit(window: list[int]) -> IMapIterator[_Outcome]:
                return pool.imap(_convert_job, [source.job(i) for i in window], chunk)

            # Windows queued ahead, so workers convert while this process writes.
            pending = [submit(w) for w in windows[: 1 + _AHEAD]]
            for number in range(len(windows)):
                outcomes = list(pending.pop(0))
                if number + 1 + _AHEAD < len(windows):
                    pending.append(submit(windows[number + 1 + _AHEAD]))
                unreadable += [(o.source, o.error) for o in outcomes if isinstance(o, _Unreadable)]
                writer.write([o for o in outcomes if not isinstance(o, _Unreadable)])
                done += len(outcomes)
                report("importing", done, total)
        finally:
            writer.close()
        return ImportResult(
            imported=writer.imported,
            customers=writer.new_customers,
            conversations=writer.new_conversations,
            already=writer.already,
            quarantined=writer.quarantined,
            unreadable=tuple(unreadable),
            seconds=time.perf_counter() - started,
        )


def import_mail(
    url: str,
    source: Source,
    *,
    account: str,
    attachments: Path,
    ours: Iterable[str] = (),
    resolve_after: timedelta = timedelta(days=7),
    workers: int | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Start an import and run it, for a store that exists already (tests, benchmarks)."""
    with MailImport(
        source, account=account, attachments=attachments, ours=ours,
        resolve_after=resolve_after, workers=workers, now=now,
    ) as job:  # fmt: skip
        return job.run(url, progress)


class _Connection(Protocol):
    """What the writer uses of a connection: sqlite3's, or pg.py's with the same face."""

    def execute(self, sql: str, params: Any = (), /) -> Any: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


def _sqlite(url: str) -> sqlite3.Connection:
    """The SQLite store at ``url``, with the pragmas db.make_engine sets."""
    path = sqlite_path(url)
    if path is None:
        raise SchemaError(f"{url}: not a store URL (sqlite:///PATH or postgresql://...)")
    if not path.exists():
        raise SchemaError(f"{path}: no omnitui store here; run `omnitui db upgrade` first")
    conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA journal_mode=WAL")  # as db.make_engine sets it
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
    return conn


class _Writer:
    """Threads converted mails and writes them, a batch a transaction, with caches of what
    the store holds so that nothing is looked up a message at a time."""

    def __init__(self, url: str, account: str, now: datetime, resolve_after: float) -> None:
        self.pg: pg.Connection | None = None
        """The same connection as ``conn`` on a PostgreSQL store (for COPY)."""
        if is_postgresql(url):
            from omnitui import pg

            self.pg = pg.connect(url)
        self.conn: _Connection = self.pg or _sqlite(url)
        self.account = account
        self.now = stamp(now)
        self.now_t = now.timestamp()
        self.resolve_after = resolve_after
        self.imported = self.already = self.quarantined = 0
        self.new_customers = self.new_conversations = 0
        self.ids = _Ids()

        conn = self.conn
        conn.execute("BEGIN")
        self.known: dict[str, tuple[int, int, int]] = {
            ext: (cid, conv, mid)
            for ext, cid, conv, mid in conn.execute(
                "SELECT external_id, customer_id, conversation_id, id FROM message "
                "WHERE account = ? AND external_id IS NOT NULL",
                (account,),
            )
        }
        """external id -> (customer, conversation, message), of this account."""
        self.identities: dict[str, _Identity] = {
            address: _Identity(iid, cid, name)
            for address, iid, cid, name in conn.execute(
                "SELECT address, id, customer_id, display_name FROM identity WHERE channel = ?",
                (CHANNEL,),
            )
        }
        self.poison: set[str] = {
            digest
            for (digest,) in conn.execute(
                "SELECT sha256 FROM quarantine WHERE account = ?", (account,)
            )
        }
        conn.execute("COMMIT")
        self.customers: dict[int, _Customer] = {}
        self._analyzed = (0, self._estimated_messages())
        """(messages imported, messages in the store) when the statistics were last taken."""

    def close(self) -> None:
        self.conn.close()

    def stored(self, external_id: str) -> bool:
        return bool(external_id) and external_id in self.known

    # -- a batch ------------------------------------------------------------

    def write(self, outcomes: list[_Mail | _Poison]) -> None:
        if not outcomes:
            return
        conn = self.conn
        self._begin_write()
        try:
            self._next_ids()
            self._refresh([o for o in outcomes if isinstance(o, _Mail)])
            rows = _Rows()
            for outcome in outcomes:
                if isinstance(outcome, _Mail):
                    self._place(outcome, rows)
                else:
                    self._quarantine(outcome, rows)
            self._flush(rows)
            if self.pg is not None:
                self._advance_sequences()
            conn.execute("COMMIT")
        except BaseException:
            if self.pg is None or not self.pg.broken:  # a lost server rolled it back itself
                conn.rollback()
            raise
        if self.pg is not None:
            self._analyze_grown()

    def _begin_write(self) -> None:
        """The write transaction as db.write opens it: BEGIN IMMEDIATE on SQLite; on
        PostgreSQL the write advisory lock first, and a NOTIFY delivered at commit."""
        if self.pg is None:
            self.conn.execute("BEGIN IMMEDIATE")
            return
        from omnitui import pg

        self.conn.execute("BEGIN")
        self.conn.execute(f"SELECT pg_advisory_xact_lock({pg.WRITE_LOCK})")
        self.conn.execute(f"NOTIFY {pg.CHANGES_CHANNEL}")

    def _estimated_messages(self) -> int:
        """PostgreSQL: the messages its statistics count (0 before any were taken)."""
        if self.pg is None:
            return 0
        row = self.conn.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'message'::regclass"
        ).fetchone()
        return max(0, int(row[0]))

    def _analyze_grown(self) -> None:
        """PostgreSQL: new statistics once the import has doubled the messages since the
        last ones. Taken on a small store they make the planner read every message of the
        account for each batch's look-up by external id (an import of 50,000 into a new
        store spent 60 of its 80 s there); autovacuum catches up only a minute later."""
        imported, estimated = self._analyzed
        if self.imported - imported <= max(estimated, BATCH_MESSAGES):
            return
        self.conn.execute("ANALYZE message, identity, conversation, customer")
        self._analyzed = (self.imported, estimated + self.imported - imported)

    def _advance_sequences(self) -> None:
        """PostgreSQL: the id sequences continue after the ids this batch wrote, so the
        ORM's next insert (a live message) takes a free one (as dbcopy._reset_sequences);
        never moved back."""
        ids = self.ids
        self.conn.execute(
            "SELECT setval(s, greatest(nextval(s), n), false) FROM (VALUES "
            "(pg_get_serial_sequence('customer', 'id')::regclass, ?), "
            "(pg_get_serial_sequence('identity', 'id')::regclass, ?), "
            "(pg_get_serial_sequence('conversation', 'id')::regclass, ?), "
            "(pg_get_serial_sequence('message', 'id')::regclass, ?)) AS seq (s, n)",
            (ids.customer, ids.identity, ids.conversation, ids.message),
        )

    def _next_ids(self) -> None:
        """Ids after whatever the store holds now (another process may have written)."""

        def after(*tables: tuple[str, str]) -> int:
            return 1 + max(
                int(self.conn.execute(f"SELECT max({key}) FROM {t}").fetchone()[0] or 0)
                for t, key in tables
            )

        ids = self.ids
        ids.customer = max(ids.customer, after(("customer", "id"), ("customer_fts", "rowid")))
        ids.identity = max(ids.identity, after(("identity", "id")))
        ids.conversation = max(ids.conversation, after(("conversation", "id")))
        ids.message = max(ids.message, after(("message", "id"), ("message_fts", "rowid")))

    def _refresh(self, mails: list[_Mail]) -> None:
        """What a runner may have stored since the caches were filled: this batch's
        addresses and external ids, looked up in the batch's transaction."""
        conn = self.conn
        addresses = list({m.address for m in mails if m.address not in self.identities})
        for part in _chunks(addresses):
            marks = ", ".join("?" * len(part))
            for address, iid, cid, name in conn.execute(
                "SELECT address, id, customer_id, display_name FROM identity "
                f"WHERE channel = ? AND address IN ({marks})",
                (CHANNEL, *part),
            ):
                self.identities[address] = _Identity(iid, cid, name)
        externals = list({m.external_id for m in mails if m.external_id not in self.known})
        for part in _chunks(externals):
            marks = ", ".join("?" * len(part))
            for ext, cid, conv, mid in conn.execute(
                "SELECT external_id, customer_id, conversation_id, id FROM message "
                f"WHERE account = ? AND external_id IN ({marks})",
                (self.account, *part),
            ):
                self.known[ext] = (cid, conv, mid)

    def _quarantine(self, poison: _Poison, rows: _Rows) -> None:
        digest = poison.sha256
        if digest in self.poison:
            self.already += 1
            return
        self.poison.add(digest)
        self.quarantined += 1
        rows.quarantine.append(
            (self.account, poison.external_id, one_line(poison.error, 500), poison.raw,
             self.now, poison.source, digest)
        )  # fmt: skip

    def _place(self, mail: _Mail, rows: _Rows) -> None:
        """Thread one mail and add its rows (inbox.ingest_one's rules)."""
        if mail.external_id in self.known or self._own_reply_came_back(mail, rows):
            self.already += 1
            return
        identity = self.identities.get(mail.address)
        created = identity is None
        if identity is None:
            customer = self._new_customer(mail, rows)
            identity = self.identities[mail.address]
        else:
            customer = self._customer(identity.customer_id)
            if mail.display_name and identity.display_name != mail.display_name:
                identity.display_name = mail.display_name
                rows.renamed.append((mail.display_name, identity.id))
                customer.display_name = mail.display_name
                customer.reindex = True
        conv, reason = self._conversation_for(customer, mail, rows)
        if created:
            reason = f"new customer; {reason}"

        mid = self.ids.message
        self.ids.message += 1
        at, t = mail.sent_at, mail.sent_t
        outgoing = mail.direction == "out"
        rows.messages.append(
            (mid, conv.id, customer.id, mail.direction, CHANNEL, self.account, mail.external_id,
             identity.id, mail.author, mail.subject, mail.body, mail.html, at, self.now,
             mail.thread_ref, reason, " ".join(mail.references) or None, mail.content_hash,
             "sent" if outgoing else None, 0)
        )  # fmt: skip
        rows.fts.append((mid, mail.fts))
        if mail.raw_zlib is not None:
            rows.raws.append((mid, mail.raw_zlib))
        for name, ctype, size, digest, inline, content_id, omitted in mail.attachments:
            rows.attachments.append((mid, name, ctype, size, digest, inline, content_id, omitted))
        self.known[mail.external_id] = (customer.id, conv.id, mid)
        self.imported += 1

        # The conversation's times.
        if t < conv.opened_t:
            conv.opened_at, conv.opened_t = at, t
        if t >= conv.last_t:
            conv.last_at, conv.last_t = at, t
            conv.moved = True
        if outgoing:
            if conv.first_out is None or at < conv.first_out:
                conv.first_out = at
        elif conv.first_in is None or at < conv.first_in:
            conv.first_in = at
        rows.conversations[conv.id] = conv
        if customer.latest is None or conv.last_t >= customer.latest.last_t:
            customer.latest = conv
        if mail.subject_key:
            seen = customer.subjects.get(mail.subject_key)
            if seen is None or t >= seen[0]:
                customer.subjects[mail.subject_key] = (t, conv)

        # The customer list's columns (inbox._touch), unread as inbound since the last reply.
        if t >= customer.last_t:
            customer.last_at, customer.last_t = at, t
            customer.preview = mail.preview
            customer.unread = 0 if outgoing else customer.unread + 1
        customer.changes += 1
        rows.touched[customer.id] = customer

    def _own_reply_came_back(self, mail: _Mail, rows: _Rows) -> bool:
        """A reply omnitui sent, met again in a Sent folder (inbox._own_reply_came_back)."""
        key = idempotency_key_of(mail.external_id) if mail.direction == "out" else None
        if key is None:
            return False
        row = self.conn.execute(
            "SELECT id, customer_id, conversation_id, delivery FROM message "
            "WHERE idempotency_key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return False
        mid, cid, conv, delivery = row
        if delivery != "sent":
            self.conn.execute(
                "UPDATE message SET delivery = 'sent', external_id = ?, last_error = NULL, "
                "next_attempt_at = NULL WHERE id = ?",
                (mail.external_id, mid),
            )
            rows.bumped.add(cid)
        self.known[mail.external_id] = (cid, conv, mid)
        return True

    def _new_customer(self, mail: _Mail, rows: _Rows) -> _Customer:
        cid, iid = self.ids.customer, self.ids.identity
        self.ids.customer += 1
        self.ids.identity += 1
        customer = _Customer(
            id=cid,
            name=mail.display_name or mail.address,
            last_at=mail.sent_at,
            last_t=float("-inf"),
            preview="",
            unread=0,
            channels=CHANNEL,
            created=True,
            created_at=mail.sent_at,
            address=mail.address,
            display_name=mail.display_name,
            reindex=True,
        )
        self.customers[cid] = customer
        self.identities[mail.address] = _Identity(iid, cid, mail.display_name)
        rows.customers.append(customer)
        rows.identities.append(
            (iid, cid, CHANNEL, mail.address, mail.display_name, self.account, mail.sent_at)
        )
        self.new_customers += 1
        return customer

    def _customer(self, customer_id: int) -> _Customer:
        """A customer, loaded from the store the first time this import meets them."""
        customer = self.customers.get(customer_id)
        if customer is not None:
            return customer
        conn = self.conn
        name, last_at, unread, channels = conn.execute(
            "SELECT name, last_activity_at, unread_count, channels FROM customer WHERE id = ?",
            (customer_id,),
        ).fetchone()
        customer = _Customer(
            id=customer_id,
            name=name,
            last_at=last_at,
            last_t=parse_stamp(last_at).timestamp(),
            preview="",
            unread=unread,
            channels=",".join(sorted({*filter(None, channels.split(",")), CHANNEL})),
            created=False,
        )
        by_id: dict[int, _Conversation] = {}
        for cid, status, opened, first_in, first_out, resolved, last in conn.execute(
            "SELECT id, status, opened_at, first_inbound_at, first_response_at, resolved_at, "
            "last_message_at FROM conversation WHERE customer_id = ? ORDER BY id",
            (customer_id,),
        ):
            conv = _Conversation(
                cid, customer_id, status, opened, parse_stamp(opened).timestamp(), last,
                parse_stamp(last).timestamp(), first_in, first_out, resolved, status,
            )  # fmt: skip
            by_id[cid] = conv
            if customer.latest is None or conv.last_t >= customer.latest.last_t:
                customer.latest = conv
        customer.conversations = list(by_id.values())
        for conv_id, subject, sent_at in conn.execute(
            "SELECT conversation_id, subject, sent_at FROM message "
            "WHERE customer_id = ? AND subject != '' ORDER BY sent_at",
            (customer_id,),
        ):
            key = subject_key(subject)
            if key and conv_id in by_id:
                customer.subjects[key] = (parse_stamp(sent_at).timestamp(), by_id[conv_id])
        self.customers[customer_id] = customer
        return customer

    def _conversation_for(
        self, customer: _Customer, mail: _Mail, rows: _Rows
    ) -> tuple[_Conversation, str]:
        """inbox._conversation_for for history: a conversation is open while its messages
        are less than ``resolve_after`` apart."""
        t, inbound = mail.sent_t, mail.direction == "in" and not mail.automatic
        kept = " (automatic: not reopened)" if mail.automatic else ""
        refs = [r for r in (mail.thread_ref, *reversed(mail.references)) if r]
        for ref in refs:
            parent = self.known.get(ref)
            if parent is None or parent[0] != customer.id:
                continue
            how = "answers" if ref == mail.thread_ref else "references"
            conv = self._conversation(customer, parent[1])
            if conv is not None:
                if inbound and self._closed_at(conv, t):
                    self._reopen(conv, "customer replied")
                    return conv, f"{how} message {parent[2]}; reopened conversation {conv.id}"
                return conv, f"{how} message {parent[2]} in conversation {conv.id}{kept}"
        latest = customer.latest
        if latest is not None and not self._closed_at(latest, t):
            if inbound and latest.status in ("pending", "snoozed") and t > latest.last_t:
                was = latest.status
                self._reopen(latest, "customer wrote")
                return latest, f"woke {was} conversation {latest.id}"
            return latest, f"joined open conversation {latest.id}"
        if latest is not None and t < latest.opened_t:  # older than the newest case
            near = [c for c in customer.conversations if not self._closed_at(c, t)]
            if near:
                conv = min(near, key=lambda c: abs(c.last_t - t))
                return conv, f"joined open conversation {conv.id}"
        if mail.subject_key:
            seen = customer.subjects.get(mail.subject_key)
            if seen is not None and 0 <= t - seen[0] <= SUBJECT_WINDOW.total_seconds():
                conv = seen[1]
                if not inbound:
                    return conv, f"subject matches conversation {conv.id}{kept}"
                self._reopen(conv, "customer wrote")
                return conv, f"subject matches conversation {conv.id}; reopened"
        cid = self.ids.conversation
        self.ids.conversation += 1
        conv = _Conversation(cid, customer.id, "open", mail.sent_at, t, mail.sent_at, t)
        customer.conversations.append(conv)
        self.new_conversations += 1
        return conv, f"no open conversation; opened {cid}"

    def _conversation(self, customer: _Customer, conversation_id: int) -> _Conversation | None:
        for conv in reversed(customer.conversations):
            if conv.id == conversation_id:
                return conv
        return None

    def _closed_at(self, conv: _Conversation, t: float) -> bool:
        """Whether the conversation was closed when a message of time ``t`` came: one the
        store holds by its status (active ones take any later message, as inbox.py does),
        one this import made by the time between messages."""
        if conv.stored_status is not None and conv.status in ACTIVE and t >= conv.last_t:
            return False
        if conv.stored_status is not None and conv.status not in ACTIVE and t >= conv.last_t:
            return True
        return not (conv.opened_t - self.resolve_after <= t <= conv.last_t + self.resolve_after)

    def _reopen(self, conv: _Conversation, why: str) -> None:
        if conv.stored_status is not None and conv.status != "open":
            conv.status = "open"
            conv.resolved_at = None
            conv.why = why

    # -- writing --------------------------------------------------------------

    def _status(self, conv: _Conversation) -> None:
        """The status by age: resolved once its last message is ``resolve_after`` old.

        A conversation the store held keeps its status unless the import gave it a newer
        last message (an inbound one has reopened it already, as inbox.py does).
        """
        if conv.stored_status is not None and not conv.moved:
            return
        if conv.last_t < self.now_t - self.resolve_after:
            if conv.status != "resolved":
                conv.status, conv.resolved_at = "resolved", conv.last_at
                conv.why = f"no message for {self.resolve_after / _DAY_S:g} days"
        elif conv.stored_status is None:
            conv.status, conv.resolved_at = "open", None

    def _flush(self, rows: _Rows) -> None:
        conn = self.conn
        self._insert(
            "customer", _CUSTOMER_COLUMNS,
            [(c.id, c.name, c.created_at, c.last_at, c.preview, c.channels, c.unread, 0, 0)
             for c in rows.customers],
        )  # fmt: skip
        self._insert("identity", _IDENTITY_COLUMNS, rows.identities)
        if rows.renamed:
            conn.executemany("UPDATE identity SET display_name = ? WHERE id = ?", rows.renamed)
        events = []
        for conv in rows.conversations.values():
            self._status(conv)
            if conv.stored_status is not None and conv.status != conv.stored_status:
                # A case that was in the store changed: audited as inbox._change_status does.
                events.append(
                    (self.now, "system", "status", conv.customer_id, conv.id, conv.stored_status,
                     f"{conv.status} ({conv.why})" if conv.why else conv.status)
                )  # fmt: skip
                conv.stored_status = conv.status
        if rows.conversations:
            conn.executemany(
                _UPSERT_CONVERSATION,
                [(c.id, c.customer_id, c.status, c.opened_at, c.first_in, c.first_out,
                  c.resolved_at, c.last_at) for c in rows.conversations.values()],
            )  # fmt: skip
        self._insert("event", _EVENT_COLUMNS, events)
        self._insert("message", _MESSAGE_COLUMNS, rows.messages)
        self._insert("messageraw", ("message_id", "data"), rows.raws)
        self._insert("attachment", _ATTACHMENT_COLUMNS, rows.attachments)
        self._insert("message_fts", ("rowid", "body"), rows.fts)
        self._insert("quarantine", _QUARANTINE_COLUMNS, rows.quarantine)
        self._index_customers(rows)
        if rows.touched:
            conn.executemany(
                _UPDATE_CUSTOMER,
                [{"at": c.last_at, "preview": c.preview, "unread": c.unread,
                  "channels": c.channels, "changes": c.changes, "id": c.id}
                 for c in rows.touched.values()],
            )  # fmt: skip
        for customer in rows.touched.values():
            customer.changes = 0
        bumped = rows.bumped - rows.touched.keys()
        if bumped:
            conn.executemany(
                "UPDATE customer SET version = version + 1 WHERE id = ?", [(c,) for c in bumped]
            )

    def _index_customers(self, rows: _Rows) -> None:
        """customer_fts rows (db.index_customer) of new customers and renamed ones."""
        conn = self.conn
        fresh: list[tuple[int, str]] = []
        for customer in rows.touched.values():
            if not customer.reindex:
                continue
            customer.reindex = False
            if customer.created:
                parts = [customer.name, customer.address, customer.display_name]
            else:
                parts = [customer.name]
                for address, display_name in conn.execute(
                    "SELECT address, display_name FROM identity WHERE customer_id = ?",
                    (customer.id,),
                ):
                    parts += [address, display_name]
            fresh.append((customer.id, fts_text(" ".join(p for p in parts if p))))
        if fresh:
            conn.executemany("DELETE FROM customer_fts WHERE rowid = ?", [(c,) for c, _ in fresh])
            self._insert("customer_fts", ("rowid", "body"), fresh)

    def _insert(
        self, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[object]]
    ) -> None:
        """Rows into ``table``: by COPY on PostgreSQL (several times the rows a second of
        INSERT, even pipelined), by executemany on SQLite."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.pg is None:
            marks = ", ".join("?" * len(columns))
            self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        with (
            self.pg.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(without_nul(row))


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _MAX_PARAMS):
        yield values[start : start + _MAX_PARAMS]
