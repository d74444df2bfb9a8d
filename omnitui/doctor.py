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
from omnitui.i18n import _, ngettext
from omnitui.reads import (
    SCHEMA_HEAD,
    Reader,
    SchemaError,
    StoreUnreachable,
    StoreURLError,
    display_url,
    schema_revision,
)
from omnitui.text import one_line

if TYPE_CHECKING:
    from omnitui.connectors.telegram import BotProbe


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    of_config: bool = False
    """The config's own check (its failure exits 2, as a config error does everywhere)."""


def run_checks(config_path: Path, load_settings: Callable[[], Settings]) -> Iterator[Check]:
    try:
        settings = load_settings()
    except ConfigError as exc:
        yield Check(_("config"), False, str(exc), of_config=True)
        return
    if config_path.exists():
        found = _("{path} (found)").format(path=config_path)
    else:
        found = _("{path} (not found, using defaults)").format(path=config_path)
    yield Check(_("config"), True, found, of_config=True)

    where = display_url(settings.store_url)
    try:
        revision = schema_revision(settings.store_url)
    except StoreURLError as exc:  # psycopg missing, a malformed URL: the config's to fix
        yield Check(_("store"), False, str(exc), of_config=True)
        return
    except (SchemaError, StoreUnreachable) as exc:
        yield Check(_("store"), False, str(exc))
        return
    if revision is None:
        said = _("{where}: no store yet; run `omnitui db upgrade`")
        yield Check(_("store"), False, said.format(where=where))
        return
    yield Check(_("store"), True, where)
    if revision != SCHEMA_HEAD:
        problem = str(SchemaError.for_revision(settings.store_url, revision))
        yield Check(_("schema"), False, problem)
        return
    yield Check(_("schema"), True, _("revision {revision}").format(revision=revision))

    reader = Reader(settings.store_url)
    status = reader.status()
    now = datetime.now(UTC)
    if status.lease_holder and status.lease_expires_at and status.lease_expires_at > now:
        said = _("held by {holder}").format(holder=status.lease_holder)
        yield Check(_("runner"), True, said)
    else:
        yield Check(
            _("runner"),
            False,
            _(
                "no runner holds the lease: nothing is received or sent "
                "(start `omnitui serve` or open the TUI)"
            ),
        )
    if not status.connectors:
        yield Check(_("connectors"), True, _("none has run yet"))
    for conn in status.connectors:
        healthy = conn.state in ("running", "syncing", "starting", "stopped") and not conn.error
        # The state is a word of the connector state table ("running", "backoff"), as stored.
        detail = conn.state + (f" {one_line(conn.detail, 60)}" if conn.detail else "")
        detail += f": {one_line(conn.error, 200)}" if conn.error else ""
        name = _("connector {account} ({channel})").format(
            account=conn.account, channel=conn.channel
        )
        yield Check(name, healthy, detail)
    stuck = status.failed + status.unconfirmed
    yield Check(
        _("outbox"),
        stuck == 0,
        _(
            "{queued} queued, {sending} sending, {failed} failed, "
            "{unconfirmed} unconfirmed (need an agent)"
        ).format(
            queued=status.queued,
            sending=status.sending,
            failed=status.failed,
            unconfirmed=status.unconfirmed,
        ),
    )
    yield Check(
        _("quarantine"),
        status.quarantined == 0,
        _("{count} inbound item(s) could not be parsed and are kept for review").format(
            count=status.quarantined
        ),
    )
    yield from _bot_check(settings, reader)
    yield from _email_checks(settings)
    yield from _telegram_checks(settings)
    for item in reader.quarantined(5):
        source = f" {one_line(item.source, 80)}" if item.source else ""
        label = _("quarantined #{id}").format(id=item.id)
        yield Check(
            f"  {label}",
            False,
            f"{one_line(item.account, 40)}{source}: {one_line(item.error, 160)}",
        )


def _bot_check(settings: Settings, reader: Reader) -> Iterator[Check]:
    """The FAQ bot, when it is on: an empty knowledge base sends every question to the team."""
    bot = settings.config.bot
    channels = [c for c in ("webchat", "telegram") if bot.answers_on(c)]
    if not channels:
        return
    rows = reader.kb_entries()
    if not rows:
        problem = _(
            "on for {channels}, but the knowledge base is empty: every conversation goes "
            "to the agents (omnitui kb import DIR, or K in the TUI)"
        )
        yield Check(_("FAQ bot"), False, problem.format(channels=", ".join(channels)))
        return
    said = ngettext(
        "on for {channels}: {count} entry, min_score {score}",
        "on for {channels}: {count} entries, min_score {score}",
        len(rows),
    )
    shown = said.format(channels=", ".join(channels), count=len(rows), score=bot.min_score)
    yield Check(_("FAQ bot"), True, shown)


def _email_checks(settings: Settings) -> Iterator[Check]:
    """Log in to each email account's servers as the runner would (nothing is sent)."""
    if not settings.config.email:
        return
    from omnitui.connectors.mail import imap, smtp

    for name, account in settings.config.email.items():
        if account.imap is not None:
            label = _("email {account} imap").format(account=name)
            try:
                yield Check(label, True, imap.check(account.imap, name))
            except Exception as exc:
                yield Check(label, False, _problem(exc))
        if account.smtp is not None:
            label = _("email {account} smtp").format(account=name)
            try:
                yield Check(label, True, smtp.check(account.smtp, name))
            except Exception as exc:
                yield Check(label, False, _problem(exc))
        if account.imap is None and account.smtp is None:
            yield Check(
                _("email {account}").format(account=name),
                False,
                _("neither [imap] nor [smtp]: the account does nothing"),
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
        label = _("telegram {account}").format(account=name)
        try:
            found = asyncio.run(connector.probe())
        except Exception as exc:
            yield Check(label, False, _problem(exc))
            continue
        # The mode is the config's value ("poll" or "webhook"), as written there.
        said = _("@{username}, {mode} mode").format(username=found.username, mode=account.mode)
        yield Check(label, True, said)
        label = _("telegram {account} webhook").format(account=name)
        yield _webhook_check(label, account.mode, connector.webhook_url, found)


def _webhook_check(label: str, mode: str, expected: str, found: BotProbe) -> Check:
    url = one_line(found.webhook_url, 200)
    waiting = _webhook_waiting(found)
    if mode != "webhook":
        if url:
            return Check(
                label,
                False,
                _(
                    "a webhook is set ({url}): polling gets 409; "
                    'set mode = "webhook" or delete it (deleteWebhook)'
                ).format(url=url),
            )
        return Check(label, True, _("none set (poll mode)"))
    if not url:
        return Check(
            label,
            False,
            _(
                "none set: the runner sets {expected} when it starts "
                "(is `omnitui serve` or a TUI running?); {waiting}"
            ).format(expected=expected, waiting=waiting),
        )
    if url != expected:
        return Check(
            label,
            False,
            _(
                "Telegram sends updates to {url}, not to {expected} ([http] public_url + "
                "webhook_path): another program set it, or the config changed and no runner "
                "has set it since; {waiting}"
            ).format(url=url, expected=expected, waiting=waiting),
        )
    # Undelivered updates behind a delivery error: Telegram cannot reach the server.
    failing = bool(found.last_error) and found.pending_update_count > 0
    return Check(label, not failing, _("{url}, {waiting}").format(url=url, waiting=waiting))


def _webhook_waiting(found: BotProbe) -> str:
    """The updates waiting at Telegram, and its last delivery error if any."""
    count = found.pending_update_count
    if not found.last_error:
        return _("{count} update(s) waiting at Telegram").format(count=count)
    error = one_line(found.last_error, 160)
    if found.last_error_date is None:
        said = _("{count} update(s) waiting at Telegram; last delivery error: {error}")
        return said.format(count=count, error=error)
    minutes = (datetime.now(UTC) - found.last_error_date).total_seconds() / 60
    said = _(
        "{count} update(s) waiting at Telegram; last delivery error {minutes} min ago: {error}"
    )
    return said.format(count=count, minutes=f"{minutes:.0f}", error=error)


def _problem(exc: Exception) -> str:
    text = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return one_line(str(text), 300)
