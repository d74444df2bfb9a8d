"""Real mail servers on loopback for tests: a private Dovecot (IMAP) and an aiosmtpd SMTP server.

Test code only; the omnitui package must never import this module. aiosmtpd is imported
when an SmtpServer starts, so a machine without it can still import this module.
Both can speak TLS (implicit and STARTTLS) with certificates from a throwaway ``MiniCA``,
made by the openssl command line tool.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from imapclient import IMAPClient

from tests.patience import patience

DOVECOT = shutil.which("dovecot") or next(
    (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if Path(p).exists()), None
)
DOVEADM = shutil.which("doveadm") or next(
    (p for p in ("/usr/bin/doveadm", "/usr/local/bin/doveadm") if Path(p).exists()), None
)
OPENSSL = shutil.which("openssl")
HOST = "127.0.0.1"

# Quick reactions for tests; override any of them with Dovecot(settings={...}).
TEST_SETTINGS: dict[str, str] = {
    # How often an idling client gets "* OK Still here" (Dovecot's default is 2 mins).
    "imap_idle_notify_interval": "2 secs",
    # The fallback poll for new mail while idling, should inotify miss a change.
    "mailbox_idle_check_interval": "1 secs",
    "mail_max_userip_connections": "100",
    # A wrong password is refused within 0.5 s (its failure timer), not after 2 s.
    "auth_failure_delay": "0",
    "mail_fsync": "never",
}

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = omnitui-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = {host}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 100
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  # No growing delay after failed logins from the one loopback address.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{settings}
# Last, so no setting overrides it: start() knows this server by its greeting.
login_greeting = {greeting}
"""


# -- certificates ----------------------------------------------------------------------

LOOPBACK_NAMES = ("IP:127.0.0.1", "DNS:localhost")


@dataclass(frozen=True)
class Certificate:
    """A server's certificate and key (PEM files), and the file a client trusts for it."""

    cert_file: Path
    key_file: Path
    ca_file: Path


def _openssl(*args: str | Path, cwd: Path) -> None:
    if OPENSSL is None:
        raise FileNotFoundError("openssl not installed (apt-get install openssl)")
    done = subprocess.run(
        [OPENSSL, *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


# P-256 keys: made in milliseconds, unlike RSA.
_NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
_SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = {names}
"""


class MiniCA:
    """A throwaway certificate authority in ``directory`` (its CA is ``ca_file``), valid 2 days.

    ``issue`` makes server certificates it signs; ``self_signed`` one that signs itself.
    Names are subjectAltName entries ("IP:127.0.0.1", "DNS:localhost"), which clients check.
    """

    def __init__(self, directory: Path, name: str = "omnitui test CA") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / "ca.pem"
        self.ca_key = directory / "ca.key"
        _openssl(
            "req", "-x509", *_NEW_KEY, "-keyout", self.ca_key, "-out", self.ca_file,
            "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints = critical, CA:TRUE",
            "-addext", "keyUsage = critical, keyCertSign, cRLSign",
            "-addext", "subjectKeyIdentifier = hash",
            cwd=directory,
        )  # fmt: skip
        self._serial = 0

    def issue(self, name: str = "server", names: Iterable[str] = LOOPBACK_NAMES) -> Certificate:
        """A server certificate for ``names``, signed by this CA: NAME.pem and NAME.key."""
        names = list(names)
        cert, key, csr = (self.directory / f"{name}.{ext}" for ext in ("pem", "key", "csr"))
        extensions = self.directory / f"{name}.ext"
        extensions.write_text(_SERVER_EXTENSIONS.format(names=", ".join(names)), "utf-8")
        self._serial += 1
        _openssl(
            "req", "-new", *_NEW_KEY, "-keyout", key, "-out", csr, "-subj", f"/CN={name}",
            cwd=self.directory,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", self.ca_key,
            "-set_serial", str(1000 + self._serial), "-days", "2", "-sha256",
            "-extfile", extensions, "-out", cert,
            cwd=self.directory,
        )  # fmt: skip
        return Certificate(cert, key, self.ca_file)

    def self_signed(
        self, name: str = "self-signed", names: Iterable[str] = LOOPBACK_NAMES
    ) -> Certificate:
        """A certificate that signs itself (no CA): a client trusts the certificate itself."""
        names = list(names)
        cert, key = self.directory / f"{name}.pem", self.directory / f"{name}.key"
        _openssl(
            "req", "-x509", *_NEW_KEY, "-keyout", key, "-out", cert, "-days", "2",
            "-subj", f"/CN={name}",
            "-addext", f"subjectAltName = {', '.join(names)}",
            "-addext", "extendedKeyUsage = serverAuth",
            cwd=self.directory,
        )  # fmt: skip
        return Certificate(cert, key, cert)


def server_context(certificate: Certificate) -> ssl.SSLContext:
    """The server side of TLS with ``certificate``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    return context


# -- servers ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (zombies do not count)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after "(comm)": state, ppid, pgrp, ...
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            return True
    return False


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy (and return it), or raise naming ``what``."""
    timeout = patience(timeout)
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class Dovecot:
    """A private Dovecot IMAP server on loopback, with its config, state and mail in a temp dir.

    Users live in a passwd-file with PLAIN passwords; mail is Maildir under
    ``root/home/USER/Maildir``. Runs as root, dropping to the dovecot user for mail.
    With ``tls`` (a certificate) it offers STARTTLS on ``port`` and implicit TLS on
    ``tls_port``; plain logins on ``port`` still work (the helpers here use them).
    """

    def __init__(
        self,
        settings: Mapping[str, str] | None = None,
        port: int | None = None,
        tls: Certificate | None = None,
    ) -> None:
        if DOVECOT is None:
            raise FileNotFoundError("dovecot not installed (apt-get install dovecot-imapd)")
        self.settings = {**TEST_SETTINGS, **(settings or {})}
        self.tls = tls
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.tls_port = free_port() if tls is not None else 0
        # Not pytest's tmp_path: its 0700 dirs would keep the dovecot user out.
        self.root = Path(tempfile.mkdtemp(prefix="omnitui-dovecot-"))
        self.root.chmod(0o755)
        self.config = self.root / "dovecot.conf"
        self.passwd = self.root / "passwd"
        self.log = self.root / "dovecot.log"
        self.homes = self.root / "home"
        self.homes.mkdir()
        shutil.chown(self.homes, "dovecot", "dovecot")
        self.passwd.touch()
        self.users: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._listening = False  # the port is this server's, so stop() waits for it to close
        self._write_config()

    def _write_config(self) -> None:
        settings = "\n".join(f"{key} = {value}" for key, value in self.settings.items())
        ssl_settings = "ssl = no"
        if self.tls is not None:
            ssl_settings = (
                f"ssl = yes\nssl_cert = <{self.tls.cert_file}\nssl_key = <{self.tls.key_file}\n"
                "ssl_min_protocol = TLSv1.2"
            )
        self.config.write_text(
            CONFIG.format(
                root=self.root,
                host=HOST,
                port=self.port,
                tls_port=self.tls_port,
                ssl=ssl_settings,
                greeting=self.greeting,
                settings=settings,
            ),
            encoding="utf-8",
        )

    @property
    def host(self) -> str:
        return HOST

    @property
    def greeting(self) -> str:
        """This instance's IMAP greeting, so start() knows it reached this server."""
        return f"omnitui test dovecot {self.root.name} ready."

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10, attempts: int = 5) -> None:
        """Start the master in the foreground of a child process; return once IMAP greets.

        A port that was picked here and got taken meanwhile is replaced (up to ``attempts``);
        a port given to the constructor, or used once, is kept, so restart() keeps it.
        """
        for attempt in range(attempts):
            try:
                self._start_once(timeout)
            except RuntimeError:
                if self._fixed_port or attempt == attempts - 1:
                    raise
                self.port = free_port()
                if self.tls is not None:
                    self.tls_port = free_port()
                continue
            self._fixed_port = True
            return

    def _start_once(self, timeout: float) -> None:
        assert DOVECOT is not None
        if self.running:
            return
        self._write_config()
        with (self.root / "dovecot.err").open("ab") as err:
            self._proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                # Its own process group, so stop() can signal all of it.
                start_new_session=True,
            )
        try:
            wait_for(self._ready, timeout, f"dovecot on port {self.port}")
        except Exception:
            self.stop(graceful=False)
            raise

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with {self._proc.returncode}:\n{self.log_text()}")
        try:
            with socket.create_connection((HOST, self.port), timeout=0.25) as sock:
                greeting = sock.makefile("rb").readline()
        except OSError:
            return False
        if self.greeting.encode() not in greeting:
            raise RuntimeError(f"port {self.port} answers, but not as this dovecot: {greeting!r}")
        self._listening = True
        return True

    def stop(self, graceful: bool = True, timeout: float = 10) -> None:
        """Stop every process of the server; return once they are gone and the port is closed.

        Graceful is SIGTERM to the master (pid from base_dir/master.pid) and its process group:
        the master alone would leave logged-in sessions running, while a real restart ends
        them with "* BYE Server shutting down". Otherwise SIGKILL, as in a crash.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        sig = signal.SIGTERM if graceful else signal.SIGKILL
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._master_pid() or proc.pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
            wait_for(lambda: not group_alive(proc.pid), timeout, "dovecot's processes to end")
        except (subprocess.TimeoutExpired, TimeoutError):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if self._listening:
            wait_for(lambda: not port_open(self.port), timeout, f"port {self.port} to close")
            self._listening = False

    def _master_pid(self) -> int | None:
        try:
            return int((self.root / "run" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def restart(self, graceful: bool = True) -> None:
        """Stop and start again on the same port; the mail stays."""
        self.stop(graceful)
        self.start()

    def close(self) -> None:
        """Stop at once and remove the temp dir."""
        self.stop(graceful=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        files = (self.log, self.root / "dovecot.err")
        return "".join(p.read_text("utf-8", "replace") for p in files if p.exists())

    def add_user(self, name: str, password: str) -> None:
        """A login; Dovecot rereads the passwd-file when it changes."""
        if ":" in name or ":" in password or "\n" in name + password:
            raise ValueError("user names and passwords may not hold ':' or newlines")
        self.users[name] = password
        lines = "".join(f"{user}:{{PLAIN}}{pw}\n" for user, pw in self.users.items())
        self.passwd.write_text(lines, encoding="utf-8")

    def client(self, user: str, timeout: float = 10) -> IMAPClient:
        """An IMAPClient logged in as ``user``; the caller logs out."""
        imap = IMAPClient(HOST, port=self.port, ssl=False, timeout=timeout)
        imap.login(user, self.users[user])
        return imap

    def append(
        self,
        user: str,
        folder: str,
        raw: bytes,
        flags: Iterable[str | bytes] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """Put a message in ``folder`` (created if missing) and return its UID."""
        imap = self.client(user)
        try:
            if folder.upper() != "INBOX" and not imap.folder_exists(folder):
                imap.create_folder(folder)
            response = imap.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
            found = re.search(rb"APPENDUID \d+ (\d+)", response or b"")
            if found:
                return int(found.group(1))
            imap.select_folder(folder, readonly=True)
            return int(max(imap.search("ALL")))
        finally:
            imap.logout()

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """Where ``folder`` of ``user`` lives on disk (Maildir++ layout)."""
        base = self.homes / user / "Maildir"
        return base if folder.upper() == "INBOX" else base / f".{folder}"

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        imap = self.client(user)
        try:
            return int(imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
        finally:
            imap.logout()

    def set_uidvalidity_changed(self, user: str, folder: str = "INBOX") -> int:
        """Give ``folder`` a new UIDVALIDITY, keeping its messages; return the new value.

        Stops the server, deletes the folder's dovecot-uidlist and index files (and the
        mailbox list index, which caches UIDVALIDITY), and starts it again: Dovecot then
        finds mail with no UID list and numbers it afresh under a new UIDVALIDITY.
        Connections are dropped, as by any restart.
        """
        before = self.uidvalidity(user, folder)
        self.stop(graceful=False)  # nothing may rewrite the index after it is deleted
        path = self.maildir(user, folder)
        for name in (
            "dovecot-uidlist",
            "dovecot.index",
            "dovecot.index.log",
            "dovecot.index.log.2",
            "dovecot.index.cache",
        ):
            (path / name).unlink(missing_ok=True)
        for index in (self.homes / user / "Maildir").glob("dovecot.list.index*"):
            index.unlink()
        self.start()
        after = self.uidvalidity(user, folder)
        if after == before:
            raise AssertionError(f"UIDVALIDITY of {folder} stayed {before}")
        return after

    def drop_connections(self, user: str) -> None:
        """Disconnect every IMAP session of ``user`` (doveadm kick), as a server restart would."""
        if DOVEADM is None:
            raise FileNotFoundError("doveadm not installed")
        subprocess.run(
            [DOVEADM, "-c", str(self.config), "kick", user],
            check=True,
            capture_output=True,
        )

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None = None
    tls: str | None = None
    """The TLS version it came over (e.g. "TLSv1.3"); None: plain."""


SCRIPTABLE = ("MAIL", "RCPT", "DATA")


class SmtpServer:
    """An aiosmtpd server on loopback that keeps what it accepts and answers as scripted.

    ``script("DATA", "451 4.3.0 Try again later")`` makes the next DATA get that reply;
    commands with nothing scripted get aiosmtpd's usual 250s. With ``user`` and
    ``password`` it offers AUTH PLAIN and LOGIN over plain TCP and refuses MAIL without it.
    With a ``certificate``, ``tls="starttls"`` offers STARTTLS and refuses mail without it,
    ``tls="tls"`` speaks TLS from the first byte (implicit TLS, as on port 465).
    """

    def __init__(
        self,
        user: str | None = None,
        password: str | None = None,
        tls: Literal["starttls", "tls"] | None = None,
        certificate: Certificate | None = None,
    ) -> None:
        if (tls is None) != (certificate is None):
            raise ValueError("tls and certificate go together")
        self.user = user
        self.password = password
        self.tls = tls
        self.certificate = certificate
        self.port = 0
        self.messages: list[ReceivedMessage] = []
        self._replies: dict[str, deque[str]] = {command: deque() for command in SCRIPTABLE}
        self._changed = threading.Condition()
        self._controller: Any = None

    @property
    def host(self) -> str:
        return HOST

    def script(self, command: str, *replies: str) -> None:
        """Queue replies (e.g. "550 5.1.1 No such user") for the next uses of ``command``."""
        command = command.upper()
        if command not in SCRIPTABLE:
            raise ValueError(f"only {', '.join(SCRIPTABLE)} can be scripted, not {command}")
        with self._changed:
            self._replies[command].extend(replies)

    def _scripted(self, command: str) -> str | None:
        with self._changed:
            queue = self._replies[command]
            return queue.popleft() if queue else None

    # aiosmtpd handler hooks: a returned string is the reply sent to the client.

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.user is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        reply = self._scripted("MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self._scripted("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self._scripted("DATA")
        if reply:
            return reply
        login = session.login_data if session.authenticated else None
        transport = getattr(server, "transport", None)
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        message = ReceivedMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or envelope.content),
            login=login.decode() if isinstance(login, bytes) else login,
            tls=ssl_object.version() if ssl_object is not None else None,
        )
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        return "250 2.0.0 OK: queued"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == (self.user or "").encode()
            and auth_data.password == (self.password or "").encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self, attempts: int = 5) -> None:
        """Listen on a free loopback port (retrying should another process take it first)."""
        from aiosmtpd.controller import Controller

        options: dict[str, Any] = {}
        if self.user is not None:
            # auth_required stays off (it warns without TLS); handle_MAIL asks for AUTH.
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        if self.certificate is not None:
            context = server_context(self.certificate)
            if self.tls == "starttls":
                options |= {"tls_context": context, "require_starttls": True}
            else:
                options |= {"ssl_context": context}
        for attempt in range(attempts):
            port = free_port()
            controller = Controller(self, hostname=HOST, port=port, ready_timeout=10, **options)
            try:
                controller.start()
            except OSError:
                with contextlib.suppress(Exception):
                    controller.stop(no_assert=True)
                if attempt == attempts - 1:
                    raise
                continue
            self._controller, self.port = controller, port
            return

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 5) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived; return them all."""
        timeout = patience(timeout)
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                got = len(self.messages)
                raise TimeoutError(f"{got} of {count} messages after {timeout} s")
            return list(self.messages)

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
