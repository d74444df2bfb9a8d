"""Receiving email: one IMAP connection a folder, catching up by UID, then IDLE.

Blocking code on imapclient, run in a thread of its own by the mail connector;
every batch is handed to ``deliver`` (which stores it, with the cursor that covers
it, in one transaction) before the next one is fetched.

The cursor of a folder is its UIDVALIDITY and the highest UID stored. A folder
whose UIDVALIDITY changed is synced again from the window; the store skips what
it holds already (by Message-ID, or by content hash where there is none).
New mail arrives by IDLE, re-issued every ``idle_refresh_seconds`` with a NOOP
between, which is the watchdog: idle_check alone never notices a connection that
was dropped silently, a NOOP that gets no answer within the timeout does.
Reconnecting with backoff is the runner's job: on any failure ``run`` raises.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, timedelta

from imapclient import IMAPClient  # type: ignore[import-untyped]

from omnitui.config import ImapConfig, resolve_secret
from omnitui.connectors.base import Batch, InboundMessage, Quarantined
from omnitui.connectors.mail import tls
from omnitui.connectors.mail.convert import convert
from omnitui.i18n import _

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0
"""idle_check's wait: how soon a stop request is noticed."""


def connect(cfg: ImapConfig, where: str) -> IMAPClient:
    """A logged-in connection, with TCP keepalive on; ``where`` is the password's key.

    TLS (implicit or STARTTLS) checks the certificate as omnitui.connectors.mail.tls says;
    a refused certificate raises ``tls.CertificateError`` naming the setting to look at.
    """
    section = where.removesuffix(".password")  # email.NAME.imap
    port = cfg.server_port
    context = tls.context(cfg, section) if cfg.security != "plain" else None
    try:
        client = IMAPClient(
            cfg.host,
            port=port,
            ssl=cfg.security == "tls",
            ssl_context=context,
            timeout=cfg.timeout_seconds,
        )
    except ssl.SSLError as exc:
        raise tls.error(exc, cfg, section, port) from exc
    try:
        if cfg.security == "starttls":
            try:
                client.starttls(context)
            except ssl.SSLError as exc:
                raise tls.error(exc, cfg, section, port) from exc
        _keepalive(client.socket())
        client.normalise_times = False  # aware datetimes from INTERNALDATE
        if cfg.username:
            password = resolve_secret(where, cfg.password, cfg.password_env, cfg.password_cmd)
            client.login(cfg.username, password or "")
    except BaseException:
        _close(client)
        raise
    return client


def check(cfg: ImapConfig, account: str) -> str:
    """For `omnitui doctor`: log in as the connector would and look at every folder it
    watches. Returns what was found; raises (ConfigError, CertificateError, OSError,
    IMAPClient errors, ValueError for a missing folder) saying what is wrong."""
    client = connect(cfg, f"email.{account}.imap.password")
    try:
        found = []
        for folder in cfg.watched_folders:
            if not client.folder_exists(folder):
                have = ", ".join(str(f[2]) for f in client.list_folders()[:20])
                raise ValueError(
                    f"email.{account}.imap: no folder {folder!r} (the server has: {have})"
                )
            status = client.folder_status(folder, [b"MESSAGES"])
            found.append(f"{folder} ({int(status[b'MESSAGES']):,})")
        idle = (
            "IDLE"
            if b"IDLE" in client.capabilities()
            else f"no IDLE: polled every {cfg.poll_seconds:g} s"
        )
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    port = cfg.server_port
    return f"{cfg.host}:{port} ({cfg.security}), {idle}; {', '.join(found)}"


def _keepalive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def _close(client: IMAPClient) -> None:
    with contextlib.suppress(Exception):
        client.shutdown()


def cursor_keys(folder: str) -> tuple[str, str]:
    return f"{folder}:uidvalidity", f"{folder}:uid"


class FolderWatcher:
    """Keeps one folder of one account in the store until ``stop`` is set."""

    def __init__(
        self,
        *,
        account: str,
        folder: str,
        cfg: ImapConfig,
        ours: Collection[str],
        max_attachment_bytes: int,
        cursor: dict[str, str],
        deliver: Callable[[Batch], None],
        stop: threading.Event,
    ) -> None:
        self.account = account
        self.folder = folder
        self.cfg = cfg
        self.ours = frozenset(ours)
        self.max_attachment_bytes = max_attachment_bytes
        self.deliver = deliver
        self.stop = stop
        key_validity, key_uid = cursor_keys(folder)
        self.uidvalidity = int(cursor.get(key_validity, "0") or 0)
        self.last_uid = int(cursor.get(key_uid, "0") or 0)
        self._client: IMAPClient | None = None
        self._lock = threading.Lock()

    def abort(self) -> None:
        """From another thread: drop the connection so blocked calls return now."""
        with self._lock:
            if self._client is not None:
                _close(self._client)

    def run(self) -> None:
        client = connect(self.cfg, f"email.{self.account}.imap.password")
        with self._lock:
            self._client = client
        try:
            info = client.select_folder(self.folder, readonly=True)
            validity = int(info[b"UIDVALIDITY"])
            if self.uidvalidity and validity != self.uidvalidity:
                log.warning(
                    "%s %s: UIDVALIDITY changed (%d -> %d); syncing the folder again",
                    self.account,
                    self.folder,
                    self.uidvalidity,
                    validity,
                )
                self.last_uid = 0
            self.uidvalidity = validity
            self.catch_up(client)
            if b"IDLE" in client.capabilities():
                self._idle(client)
            else:
                self._poll(client)
        finally:
            with self._lock:
                self._client = None
            _close(client)

    # -- fetching ---------------------------------------------------------------

    def catch_up(self, client: IMAPClient) -> int:
        """Fetch and store every message after the cursor; how many were handed over."""
        if self.last_uid == 0 and self.cfg.sync_window_days:
            since = date.today() - timedelta(days=self.cfg.sync_window_days)
            found = client.search(["SINCE", since])
        else:
            # "UID n:*" always names the last message, even below n: filter.
            found = client.search(["UID", f"{self.last_uid + 1}:*"])
        uids = sorted(u for u in found if u > self.last_uid)
        total = len(uids)
        size = self.cfg.batch_size
        show_progress = total > size
        for start in range(0, total, size):
            if self.stop.is_set():
                return start
            chunk = uids[start : start + size]
            fetched = client.fetch(chunk, [b"BODY.PEEK[]", b"INTERNALDATE"])
            messages: list[InboundMessage] = []
            quarantined: list[Quarantined] = []
            for uid in chunk:
                data = fetched.get(uid)
                if data is None:
                    continue  # expunged meanwhile
                raw = data.get(b"BODY[]") or b""
                received = data.get(b"INTERNALDATE")
                item = convert(
                    raw,
                    account=self.account,
                    ours=self.ours,
                    source=f"{self.folder} uid {uid}",
                    received_at=_aware(received),
                    max_attachment_bytes=self.max_attachment_bytes,
                )
                if isinstance(item, Quarantined):
                    log.warning("%s: quarantined %s: %s", self.account, item.source, item.error)
                    quarantined.append(item)
                else:
                    messages.append(item)
            done = start + len(chunk)
            key_validity, key_uid = cursor_keys(self.folder)
            progress = None
            if show_progress:
                progress = f"{self.folder} {done:,}/{total:,}" if done < total else ""
            self.deliver(
                Batch(
                    messages,
                    {key_validity: str(self.uidvalidity), key_uid: str(chunk[-1])},
                    quarantined,
                    progress,
                )
            )
            self.last_uid = chunk[-1]
        return total

    # -- waiting for new mail ----------------------------------------------------

    def _idle(self, client: IMAPClient) -> None:
        while not self.stop.is_set():
            client.idle()
            started = time.monotonic()
            news = False
            try:
                while not self.stop.is_set() and not news:
                    if time.monotonic() - started >= self.cfg.idle_refresh_seconds:
                        break
                    for response in client.idle_check(timeout=CHECK_EVERY):
                        if response[:1] == (b"BYE",) or b"BYE" in response[:1]:
                            said = _("server said goodbye: {response}")
                            raise ConnectionError(said.format(response=repr(response)))
                        if len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT"):
                            news = True
            finally:
                if not self.stop.is_set():
                    client.idle_done()
            if self.stop.is_set():
                return
            client.noop()  # the watchdog: raises when the connection is gone
            self.catch_up(client)

    def _poll(self, client: IMAPClient) -> None:
        while not self.stop.wait(self.cfg.poll_seconds):
            client.noop()
            self.catch_up(client)


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def append_once(cfg: ImapConfig, account: str, folder: str, message_id: str, raw: bytes) -> bool:
    """File ``raw`` in ``folder`` unless a message with ``message_id`` is there; True if filed."""
    client = connect(cfg, f"email.{account}.imap.password")
    try:
        client.select_folder(folder)
        if client.search(["HEADER", "Message-ID", message_id]):
            return False
        client.append(folder, raw, flags=[b"\\Seen"], msg_time=datetime.now(UTC))
        return True
    finally:
        try:
            client.logout()
        except Exception:
            _close(client)
