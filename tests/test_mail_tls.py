"""TLS and STARTTLS for the email channel, against a real Dovecot and aiosmtpd on loopback.

The servers' certificates come from a throwaway CA made at test time with the openssl
CLI (tests/mailservers.py ``MiniCA``), for IP:127.0.0.1 and DNS:localhost; no system
trusts it, so without ``ca_file`` the connection must be refused, and the refusal must
say what to set. Certificate hostname checking is never turned off.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Literal

import pytest

from omnitui import inbox
from omnitui.config import ConfigError, ImapConfig, SmtpConfig
from omnitui.connectors.base import DeliveryError
from omnitui.connectors.mail import imap, smtp, tls
from tests.conftest import start_smtp_server
from tests.mailservers import Certificate, Dovecot, MiniCA, SmtpServer
from tests.runner_support import async_wait_until, new_store, query, scalar
from tests.test_mail_channel import OURS, account, count, mail, mail_settings, running


def imap_over(dovecot: Dovecot, security: str, **extra: Any) -> dict[str, Any]:
    """The imap table of ``account()``, over implicit TLS (tls_port) or STARTTLS (port)."""
    port = dovecot.tls_port if security == "tls" else dovecot.port
    return {"security": security, "port": port, **extra}


def with_imap(dovecot: Dovecot, smtp_server: SmtpServer | None = None, **imap_cfg: Any) -> Any:
    acct = account(dovecot, smtp_server)
    acct["imap"] |= imap_cfg
    return acct


async def receives_mail(dovecot: Dovecot, store: Path) -> None:
    """What is on the server is synced, and what arrives later comes by IDLE."""
    await async_wait_until(lambda: count(store)() == 1, 10, "the first sync over TLS")
    dovecot.append("agent", "INBOX", mail(subject="by IDLE over TLS"))
    await async_wait_until(lambda: count(store)() == 2, 10, "the new mail by IDLE over TLS")


def tls_logins(dovecot: Dovecot) -> list[str]:
    """Dovecot's log lines for logins over TLS (the test's own appends log in plain)."""
    return [
        line
        for line in dovecot.log_text().splitlines()
        if "Login: user=<agent>" in line and ", TLS," in line
    ]


def connector_error(store: Path, containing: str = "") -> str:
    """The account's connector error if it holds ``containing``, else ""."""
    rows = query(store, "SELECT error FROM connectorstate WHERE account='support'")
    error = str(rows[0][0] or "") if rows else ""
    return error if containing in error else ""


# -- receiving -------------------------------------------------------------------------


async def test_imap_over_implicit_tls_with_ca_file_receives_mail(
    tls_dovecot: Dovecot, server_certificate: Certificate, tmp_path: Path
) -> None:
    url, store = new_store(tmp_path)
    tls_dovecot.append("agent", "INBOX", mail(subject="before"))
    ca_file = str(server_certificate.ca_file)
    acct = with_imap(tls_dovecot, **imap_over(tls_dovecot, "tls", ca_file=ca_file))
    async with running(mail_settings(tmp_path, url, acct)):
        await receives_mail(tls_dovecot, store)
    assert tls_logins(tls_dovecot), tls_dovecot.log_text()
    assert scalar(store, "SELECT error FROM connectorstate") is None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_imap_starttls_with_ca_file_receives_mail(
    tls_dovecot: Dovecot, server_certificate: Certificate, tmp_path: Path, host: str
) -> None:
    url, store = new_store(tmp_path)
    tls_dovecot.append("agent", "INBOX", mail(subject="before"))
    ca_file = str(server_certificate.ca_file)
    acct = with_imap(tls_dovecot, host=host, **imap_over(tls_dovecot, "starttls", ca_file=ca_file))
    async with running(mail_settings(tmp_path, url, acct)):
        await receives_mail(tls_dovecot, store)
    # On the imap port: every login of the connector went over TLS after STARTTLS.
    assert tls_logins(tls_dovecot), tls_dovecot.log_text()


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_imap_refuses_a_certificate_it_does_not_trust_and_says_what_to_set(
    tls_dovecot: Dovecot, tmp_path: Path, security: str
) -> None:
    url, store = new_store(tmp_path)
    acct = with_imap(tls_dovecot, **imap_over(tls_dovecot, security))  # no ca_file
    async with running(mail_settings(tmp_path, url, acct)):
        error = await async_wait_until(
            lambda: connector_error(store, "certificate verify failed"),
            10,
            "the refused certificate in the connector state",
        )
    assert error.startswith("CertificateError: email.support.imap: certificate verify failed")
    assert "unable to get local issuer certificate" in error
    assert "set email.support.imap.ca_file" in error
    # The password never went to the server: no login at all.
    assert "Login:" not in tls_dovecot.log_text()


async def test_a_missing_ca_file_is_one_line_naming_the_key(
    tls_dovecot: Dovecot,
    smtp_starttls_server: SmtpServer,
    tmp_path: Path,
) -> None:
    url, store = new_store(tmp_path)
    missing = tmp_path / "no-such-ca.pem"
    acct = with_imap(
        tls_dovecot, smtp_starttls_server, **imap_over(tls_dovecot, "tls", ca_file=str(missing))
    )
    acct["smtp"] |= {"security": "starttls", "ca_file": str(missing)}
    async with running(mail_settings(tmp_path, url, acct)):
        error = await async_wait_until(lambda: connector_error(store), 10, "the connector's error")
    assert error == f"ConfigError: email.support.imap.ca_file: no such file: {missing}"
    # Sending checks it the same way (the reply is retried until the file is there).
    cfg = SmtpConfig.model_validate(acct["smtp"])
    with pytest.raises(DeliveryError) as raised:
        await asyncio.to_thread(smtp.send, cfg, "support", OURS, "x@example.az", b"hi\r\n")
    assert raised.value.reason == f"email.support.smtp.ca_file: no such file: {missing}"
    assert not raised.value.permanent
    assert smtp_starttls_server.messages == []


async def test_tls_verify_false_connects_to_any_certificate_and_warns_at_every_connect(
    tls_dovecot: Dovecot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, store = new_store(tmp_path)
    tls_dovecot.append("agent", "INBOX", mail(subject="before"))
    acct = with_imap(tls_dovecot, **imap_over(tls_dovecot, "tls", tls_verify=False))
    with caplog.at_level(logging.WARNING, logger="omnitui.connectors.mail.tls"):
        async with running(mail_settings(tmp_path, url, acct)):
            await receives_mail(tls_dovecot, store)
    warnings = [r.getMessage() for r in caplog.records if r.name == "omnitui.connectors.mail.tls"]
    assert warnings and all("NOT checked" in w for w in warnings)
    assert warnings[0].startswith("email.support.imap: tls_verify = false")


def test_security_tls_towards_a_plain_port_says_so(dovecot: Dovecot) -> None:
    cfg = ImapConfig(host=dovecot.host, port=dovecot.port, security="tls", timeout_seconds=5)
    with pytest.raises(ConnectionError, match=r"does not answer in TLS.*'starttls'"):
        imap.connect(cfg, "email.support.imap.password")


def test_a_ca_file_without_certificates_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")
    cfg = ImapConfig(host="imap.acme.example", ca_file=str(junk))
    with pytest.raises(ConfigError, match=r"^email\.x\.imap\.ca_file: no CA certificate \(PEM\)"):
        tls.context(cfg, "email.x.imap")


# -- sending ---------------------------------------------------------------------------


async def _reply_goes_out(
    dovecot: Dovecot, server: SmtpServer, tmp_path: Path, smtp_cfg: dict[str, Any]
) -> tuple[Path, int]:
    """Queue a reply to a customer's mail; return the store and the reply's id once sent."""
    url, store = new_store(tmp_path)
    acct = account(dovecot, server)
    acct["smtp"] |= smtp_cfg
    async with running(mail_settings(tmp_path, url, acct)) as runner:
        customer = await _customer_writes(dovecot, store)
        reply_id = inbox.queue_reply(runner.engine, customer, "Sabah göndəririk.", agent="aysel")
        await asyncio.to_thread(server.wait_for, 1, 10)
        await async_wait_until(
            lambda: scalar(store, "SELECT delivery FROM message WHERE id=?", (reply_id,)) == "sent",
            5,
            "the reply marked sent",
        )
    return store, reply_id


async def _customer_writes(dovecot: Dovecot, store: Path) -> int:
    dovecot.append("agent", "INBOX", mail(message_id="<q1@example.az>", subject="Sifariş #42"))
    incoming = count(store, "SELECT count(*) FROM message WHERE direction='in'")
    await async_wait_until(lambda: incoming() == 1, 10, "the customer's mail")
    return int(scalar(store, "SELECT customer_id FROM message WHERE direction='in'"))


async def test_smtp_over_implicit_tls_with_ca_file_sends_the_reply(
    dovecot: Dovecot,
    smtp_tls_server: SmtpServer,
    server_certificate: Certificate,
    tmp_path: Path,
) -> None:
    cfg = {"security": "tls", "ca_file": str(server_certificate.ca_file)}
    await _reply_goes_out(dovecot, smtp_tls_server, tmp_path, cfg)
    [received] = smtp_tls_server.messages
    assert received.tls is not None and received.tls.startswith("TLSv1.")
    assert received.rcpt_tos == ["leyla@example.az"]


async def test_smtp_starttls_with_ca_file_sends_the_reply(
    dovecot: Dovecot,
    smtp_starttls_server: SmtpServer,
    server_certificate: Certificate,
    tmp_path: Path,
) -> None:
    cfg = {"security": "starttls", "ca_file": str(server_certificate.ca_file)}
    await _reply_goes_out(dovecot, smtp_starttls_server, tmp_path, cfg)
    [received] = smtp_starttls_server.messages
    assert received.tls is not None and received.tls.startswith("TLSv1.")


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_smtp_to_an_untrusted_certificate_sends_nothing_and_retries_saying_why(
    dovecot: Dovecot,
    server_certificate: Certificate,
    tmp_path: Path,
    security: Literal["tls", "starttls"],
) -> None:
    server = start_smtp_server(tls=security, certificate=server_certificate)
    try:
        url, store = new_store(tmp_path)
        acct = account(dovecot, server)
        acct["smtp"] |= {"security": security}  # no ca_file
        async with running(mail_settings(tmp_path, url, acct)) as runner:
            customer = await _customer_writes(dovecot, store)
            reply_id = inbox.queue_reply(runner.engine, customer, "answer", agent="aysel")
            await async_wait_until(
                lambda: scalar(store, "SELECT attempts FROM message WHERE id=?", (reply_id,)) >= 2,
                10,
                "a retry",
            )
        [(delivery, last_error)] = query(
            store, "SELECT delivery, last_error FROM message WHERE id=?", (reply_id,)
        )
        assert delivery in ("queued", "sending")  # retried, not failed: the admin fixes it
        assert last_error.startswith("email.support.smtp: certificate verify failed for 127.0.0.1")
        assert "set email.support.smtp.ca_file" in last_error
        assert server.messages == []
    finally:
        server.stop()


def test_smtp_checks_the_hostname_even_with_a_trusted_ca(mini_ca: MiniCA) -> None:
    elsewhere = mini_ca.issue("elsewhere", names=["DNS:mail.other.example"])
    server = start_smtp_server(tls="tls", certificate=elsewhere)
    try:
        cfg = SmtpConfig(
            host=server.host, port=server.port, security="tls", ca_file=str(elsewhere.ca_file)
        )
        with pytest.raises(DeliveryError) as raised:
            smtp.send(cfg, "support", OURS, "x@example.az", b"hi\r\n")
        assert "certificate verify failed" in raised.value.reason
        assert "IP address mismatch" in raised.value.reason
        assert "not '127.0.0.1'" in raised.value.reason
        assert not raised.value.permanent
        assert server.messages == []
    finally:
        server.stop()


def test_a_self_signed_certificate_is_trusted_as_its_own_ca_file(mini_ca: MiniCA) -> None:
    own = mini_ca.self_signed("own")
    server = start_smtp_server(tls="starttls", certificate=own)
    try:
        cfg = SmtpConfig(
            host=server.host, port=server.port, security="starttls", ca_file=str(own.cert_file)
        )
        smtp.send(cfg, "support", OURS, "x@example.az", b"Subject: hi\r\n\r\nhi\r\n")
        [received] = server.wait_for(1)
        assert received.tls is not None
    finally:
        server.stop()


def test_smtp_tls_verify_false_warns_at_every_send(
    smtp_tls_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = SmtpConfig(
        host=smtp_tls_server.host, port=smtp_tls_server.port, security="tls", tls_verify=False
    )
    with caplog.at_level(logging.WARNING, logger="omnitui.connectors.mail.tls"):
        for _ in range(2):
            smtp.send(cfg, "support", OURS, "x@example.az", b"Subject: hi\r\n\r\nhi\r\n")
    assert len(smtp_tls_server.wait_for(2)) == 2
    warnings = [r.getMessage() for r in caplog.records if "tls_verify = false" in r.getMessage()]
    assert len(warnings) == 2 and warnings[0].startswith("email.support.smtp:")
