"""`omnitui doctor`: each part of an installation checked, OK or what is wrong.

Checks the config, the store and its schema, the runner lease, every connector's
last state, the outbox and the quarantine; logs in to every email server and asks
Telegram about every bot (getMe, getWebhookInfo). Reads only; changes nothing.
Must not import Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from omnitui.config import ConfigError, Settings
from omnitui.reads import SCHEMA_HEAD, Reader, SchemaError, display_url, schema_revision
from omnitui.text import one_line

if TYPE_CHECKING:
    from omnitui.connectors.telegram import BotProbe


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(config_path: Path, load_settings: Callable[[], Settings]) -> Iterator[Check]:
    try:
        settings = load_settings()
    except ConfigError as exc:
        yield Check("config", False, str(exc))
        return
    found = "found" if config_path.exists() else "not found, using defaults"
    yield Check("config", True, f"{config_path} ({found})")

    where = display_url(settings.store_url)
    try:
        revision = schema_revision(settings.store_url)
    except SchemaError as exc:
        yield Check("store", False, str(exc))
        return
    if revision is None:
        yield Check("store", False, f"{where}: no store yet; run `omnitui db upgrade`")
        return
    yield Check("store", True, where)
    if revision != SCHEMA_HEAD:
        yield Check("schema", False, str(SchemaError.for_revision(settings.store_url, revision)))
        return
    yield Check("schema", True, f"revision {revision}")

    reader = Reader(settings.store_url)
    status = reader.status()
    now = datetime.now(UTC)
    if status.lease_holder and status.lease_expires_at and status.lease_expires_at > now:
        yield Check("runner", True, f"held by {status.lease_holder}")
    else:
        yield Check(
            "runner",
            False,
            "no runner holds the lease: nothing is received or sent "
            "(start `omnitui serve` or open the TUI)",
        )
    if not status.connectors:
        yield Check("connectors", True, "none has run yet")
    for conn in status.connectors:
        healthy = conn.state in ("running", "syncing", "starting", "stopped") and not conn.error
        detail = conn.state + (f" {one_line(conn.detail, 60)}" if conn.detail else "")
        detail += f": {one_line(conn.error, 200)}" if conn.error else ""
        yield Check(f"connector {conn.account} ({conn.channel})", healthy, detail)
    stuck = status.failed + status.unconfirmed
    yield Check(
        "outbox",
        stuck == 0,
        f"{status.queued} queued, {status.sending} sending, {status.failed} failed, "
        f"{status.unconfirmed} unconfirmed (need an agent)",
    )
    yield Check(
        "quarantine",
        status.quarantined == 0,
        f"{status.quarantined} inbound item(s) could not be parsed and are kept for review",
    )
    yield from _email_checks(settings)
    yield from _telegram_checks(settings)
    for item in reader.quarantined(5):
        source = f" {one_line(item.source, 80)}" if item.source else ""
        yield Check(
            f"  quarantined #{item.id}",
            False,
            f"{one_line(item.account, 40)}{source}: {one_line(item.error, 160)}",
        )


def _email_checks(settings: Settings) -> Iterator[Check]:
    """Log in to each email account's servers as the runner would (nothing is sent)."""
    if not settings.config.email:
        return
    from omnitui.connectors.mail import imap, smtp

    for name, account in settings.config.email.items():
        if account.imap is not None:
            try:
                yield Check(f"email {name} imap", True, imap.check(account.imap, name))
            except Exception as exc:
                yield Check(f"email {name} imap", False, _problem(exc))
        if account.smtp is not None:
            try:
                yield Check(f"email {name} smtp", True, smtp.check(account.smtp, name))
            except Exception as exc:
                yield Check(f"email {name} smtp", False, _problem(exc))
        if account.imap is None and account.smtp is None:
            yield Check(
                f"email {name}", False, "neither [imap] nor [smtp]: the account does nothing"
            )


def _telegram_checks(settings: Settings) -> Iterator[Check]:
    """Ask Telegram about each bot: is the token valid (getMe), and does the webhook
    (getWebhookInfo) fit the bot's mode."""
    if not settings.config.telegram:
        return
    import asyncio

    from omnitui.connectors.telegram import TelegramConnector

    public_url = settings.config.http.public_url
    for name, account in settings.config.telegram.items():
        connector = TelegramConnector(name, account, settings.data_dir, public_url=public_url)
        try:
            found = asyncio.run(connector.probe())
        except Exception as exc:
            yield Check(f"telegram {name}", False, _problem(exc))
            continue
        yield Check(f"telegram {name}", True, f"@{found.username}, {account.mode} mode")
        yield _webhook_check(f"telegram {name} webhook", account.mode, connector.webhook_url, found)


def _webhook_check(label: str, mode: str, expected: str, found: BotProbe) -> Check:
    url = one_line(found.webhook_url, 200)
    waiting = f"{found.pending_update_count} update(s) waiting at Telegram"
    if found.last_error:
        when = ""
        if found.last_error_date is not None:
            minutes = (datetime.now(UTC) - found.last_error_date).total_seconds() / 60
            when = f" {minutes:.0f} min ago"
        waiting += f"; last delivery error{when}: {one_line(found.last_error, 160)}"
    if mode != "webhook":
        if url:
            return Check(
                label,
                False,
                f"a webhook is set ({url}): polling gets 409; "
                'set mode = "webhook" or delete it (deleteWebhook)',
            )
        return Check(label, True, "none set (poll mode)")
    if not url:
        return Check(
            label,
            False,
            f"none set: the runner sets {expected} when it starts "
            f"(is `omnitui serve` or a TUI running?); {waiting}",
        )
    if url != expected:
        return Check(
            label,
            False,
            f"Telegram sends updates to {url}, not to {expected} ([http] public_url + "
            f"webhook_path): another program set it, or the config changed and no runner "
            f"has set it since; {waiting}",
        )
    # Undelivered updates behind a delivery error: Telegram cannot reach the server.
    failing = bool(found.last_error) and found.pending_update_count > 0
    return Check(label, not failing, f"{url}, {waiting}")


def _problem(exc: Exception) -> str:
    text = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return one_line(str(text), 300)
