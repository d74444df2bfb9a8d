"""From the bytes of one email to what the store keeps: a message, or a quarantine record.

Shared by the IMAP connector and the bulk import (which runs it in worker
processes, so it takes and returns plain picklable values). Mail from one of our
own addresses is the team's and is stored as outgoing, to the customer it went to.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from omnitui.connectors.base import InboundAttachment, InboundMessage, Quarantined
from omnitui.connectors.mail.parse import MailParseError, ParsedMail, parse

CHANNEL = "email"
_ROBOT = re.compile(r"^(no-?reply|do-?not-?reply|mailer|forms?|notifications?|wordpress)[@+._-]")
FUTURE_SLACK = timedelta(days=1)
"""A Date header further ahead than this is a wrong clock (or spam): the arrival time wins."""


def convert(
    raw: bytes,
    *,
    account: str,
    ours: Collection[str],
    source: str,
    received_at: datetime | None = None,
    max_attachment_bytes: int = 25 * 1024 * 1024,
) -> InboundMessage | Quarantined:
    """One raw email as a message for ``account``, or as a quarantine record saying why not.

    ``ours`` are the account's addresses (lowercase); ``source`` says where the bytes
    came from (folder and UID, a path) for the quarantine; ``received_at`` (the IMAP
    INTERNALDATE, a file's time) stands in for a missing or absurd Date.
    """
    try:
        mail = parse(raw, max_attachment_bytes=max_attachment_bytes)
    except MailParseError as exc:
        return Quarantined(account, f"not an email: {exc}", raw, source)
    except Exception as exc:  # a parser bug must not stop the sync: keep the bytes
        return Quarantined(account, f"parser failed: {type(exc).__name__}: {exc}", raw, source)
    return from_parsed(
        mail, raw, account=account, ours=ours, source=source, received_at=received_at
    )


def from_parsed(
    mail: ParsedMail,
    raw: bytes,
    *,
    account: str,
    ours: Collection[str],
    source: str,
    received_at: datetime | None = None,
) -> InboundMessage | Quarantined:
    external_id = mail.message_id or f"sha256:{mail.sha256}"
    sender = mail.sender.addr
    if not sender:
        return Quarantined(
            account, "no sender address (From, Sender, Reply-To)", raw, source, external_id
        )
    outgoing = sender in ours
    if outgoing:
        customer = next((a for a in (*mail.to, *mail.cc) if a.addr and a.addr not in ours), None)
        if customer is None:
            return Quarantined(
                account,
                "sent by us to no customer (only our own addresses)",
                raw,
                source,
                external_id,
            )
        address, name = customer.addr, customer.name
    elif mail.reply_to is not None and mail.reply_to.addr and _ROBOT.match(sender):
        # A web form or a notifier sends from no-reply@ on the customer's behalf:
        # the customer is whom it asks us to answer.
        address, name = mail.reply_to.addr, mail.reply_to.name or mail.sender.name
    else:
        address, name = sender, mail.sender.name
    return InboundMessage(
        account=account,
        channel=CHANNEL,
        external_id=external_id,
        address=address,
        body=mail.text,
        sent_at=_when(mail.date, received_at),
        display_name=name,
        subject=mail.subject,
        html=mail.html,
        thread_ref=mail.in_reply_to or None,
        references=mail.references,
        direction="out" if outgoing else "in",
        attachments=tuple(
            InboundAttachment(
                filename=a.filename,
                content_type=a.content_type,
                data=a.data,
                size=a.size or len(a.data),
                inline=a.inline,
                content_id=a.content_id,
                omitted=a.omitted,
            )
            for a in mail.attachments
        ),
        raw_zlib=zlib.compress(raw, 6),
        content_hash=mail.sha256,
        author=mail.sender.name or sender if outgoing else "",
        automatic=mail.auto_submitted and not outgoing,
    )


def _when(date: datetime | None, received_at: datetime | None) -> datetime:
    now = datetime.now(UTC)
    if date is not None and date <= (received_at or now) + FUTURE_SLACK:
        return date
    return received_at or date or now
