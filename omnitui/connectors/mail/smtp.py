"""Sending email: compose a reply that threads, hand it to the SMTP server once.

The Message-ID comes from the reply's idempotency key, fixed when it was queued
(DESIGN invariant 2), on the account's domain: a retry never starts a second
thread, and a copy seen again in the Sent folder is recognised as this reply.

What a failure means decides what happens next:
- refused before the message was handed over (4xx, or the connection failed):
  ``DeliveryError``, retried with backoff; 5xx: permanent, with the server's words;
- the connection lost after the message was handed over, before the server
  answered: ``DeliveryUnknown``. The server may have taken it, so it is not
  retried blindly; an agent decides (the reply shows "unconfirmed").
"""

from __future__ import annotations

import re
import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from omnitui.blobs import BlobStore
from omnitui.config import ConfigError, EmailAccount, SmtpConfig, resolve_secret
from omnitui.connectors.base import DeliveryError, OutboundMessage, outbound_bytes
from omnitui.connectors.mail import tls


class DeliveryUnknown(Exception):
    """The server may or may not have taken the message."""


def message_id_for(idempotency_key: str, address: str) -> str:
    """The Message-ID of a reply: the key's unique part on our address's domain."""
    unique = idempotency_key.partition("@")[0]
    return f"<{unique}@{address.rpartition('@')[2]}>"


def compose(
    message: OutboundMessage,
    account: EmailAccount,
    now: datetime | None = None,
    blobs: BlobStore | None = None,
) -> bytes:
    """The reply as it goes on the wire (CRLF line ends).

    With files (read from ``blobs``), multipart/mixed: the text first (text/plain, also
    when empty), then each file as an attachment in base64, its name in RFC 2231 form
    when it is not ASCII.
    """
    mail = EmailMessage(policy=SMTP)
    try:
        mail["From"] = Address(account.display_name, addr_spec=account.address)
        mail["To"] = Address(message.display_name, addr_spec=message.address)
    except (ValueError, IndexError) as exc:
        raise DeliveryError(
            f"not an address we can send to: {message.address!r}", permanent=True
        ) from exc
    if message.subject:
        mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = message_id_for(message.idempotency_key, account.address)
    if message.thread_ref:
        mail["In-Reply-To"] = message.thread_ref
        refs = list(dict.fromkeys([*message.references, message.thread_ref]))
        mail["References"] = " ".join(refs)
    body = message.body.replace("\r\n", "\n")
    if not body.endswith("\n"):
        body += "\n"
    plain = body.isascii() and all(len(line) <= 78 for line in body.splitlines())
    mail.set_content(body, charset="utf-8", cte="7bit" if plain else "quoted-printable")
    for file in message.attachments:
        maintype, _, subtype = file.content_type.partition("/")
        if not (maintype and subtype) or maintype in ("multipart", "message"):
            maintype, subtype = "application", "octet-stream"  # never parsed as structure
        mail.add_attachment(
            outbound_bytes(blobs, file),
            maintype=maintype,
            subtype=subtype,
            filename=file.filename,
            cte="base64",
        )
    for part in mail.iter_parts():
        del part["MIME-Version"]  # the stdlib adds it to every part; only the top needs it
    return mail.as_bytes()


def send(cfg: SmtpConfig, account_name: str, sender: str, recipient: str, data: bytes) -> None:
    """Hand ``data`` to the server for ``recipient``; raise as the module says."""
    host = cfg.host
    section = f"email.{account_name}.smtp"
    client: smtplib.SMTP | None = None
    try:
        # A ca_file that cannot be used is for the admin to fix: retried meanwhile.
        context = tls.context(cfg, section) if cfg.security != "plain" else None
    except ConfigError as exc:
        raise DeliveryError(str(exc)) from exc
    try:
        client = _open(cfg, account_name, context)
        _expect(client.mail(sender), (250,), "MAIL FROM")
        _expect(client.rcpt(recipient), (250, 251), "RCPT TO")
        _expect(client.docmd("DATA"), (354,), "DATA")
    except DeliveryError:
        _quit(client)
        raise
    except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError is an OSError
        _quit(client)
        raise _not_reached(exc, cfg, section) from exc
    # Handing over: from here a lost connection leaves the outcome unknown.
    try:
        client.send(_dot_stuffed(data))
        code, reply = client.getreply()
    except (OSError, smtplib.SMTPException) as exc:
        _quit(client)
        raise DeliveryUnknown(
            f"connection to {host} lost after the message was handed over: {exc}"
        ) from exc
    _quit(client)
    _expect((code, reply), (250,), "end of message")


def _open(cfg: SmtpConfig, account_name: str, context: ssl.SSLContext | None) -> smtplib.SMTP:
    """Connected, greeted, encrypted as configured and logged in."""
    port = cfg.server_port
    client: smtplib.SMTP
    if cfg.security == "tls":
        client = smtplib.SMTP_SSL(cfg.host, port, timeout=cfg.timeout_seconds, context=context)
    else:
        client = smtplib.SMTP(cfg.host, port, timeout=cfg.timeout_seconds)
    try:
        client.ehlo()
        if cfg.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if cfg.username:
            where = f"email.{account_name}.smtp.password"
            password = resolve_secret(where, cfg.password, cfg.password_env, cfg.password_cmd)
            client.login(cfg.username, password or "")
    except BaseException:
        _quit(client)
        raise
    return client


def check(cfg: SmtpConfig, account_name: str) -> str:
    """For `omnitui doctor`: connect and log in as sending would, send nothing.
    Returns what was found; raises DeliveryError saying what is wrong."""
    port = cfg.server_port
    section = f"email.{account_name}.smtp"
    try:
        context = tls.context(cfg, section) if cfg.security != "plain" else None
        client = _open(cfg, account_name, context)
    except ConfigError as exc:
        raise DeliveryError(str(exc)) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise _not_reached(exc, cfg, section) from exc
    _quit(client)
    who = f" as {cfg.username}" if cfg.username else ""
    return f"{cfg.host}:{port} ({cfg.security}) accepts us{who}"


def _not_reached(exc: Exception, cfg: SmtpConfig, section: str) -> DeliveryError:
    """What went wrong before the message was handed over, as a retryable DeliveryError
    (a refused login, a certificate or a network problem is for the admin to fix)."""
    port = cfg.server_port
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"{cfg.host} refused the login: {_words(exc.smtp_code, exc.smtp_error)}"
        )
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(tls.describe(exc, cfg, section, port))
    return DeliveryError(f"could not reach {cfg.host}:{port}: {exc}")


def _expect(answer: tuple[int, bytes], good: tuple[int, ...], step: str) -> None:
    code, reply = answer
    if code in good:
        return
    words = _words(code, reply)
    # 4xx: try again later; 5xx: the server will not take it as it is.
    raise DeliveryError(f"{step}: {words}", permanent=500 <= code < 600)


def _words(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _dot_stuffed(data: bytes) -> bytes:
    data = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _LEADING_DOT.sub(b"..", data) + b".\r\n"


def _quit(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except Exception:
        client.close()
