"""The mail-server fixtures work with the real clients: imapclient against Dovecot, smtplib
against the aiosmtpd server, including restarts, UIDVALIDITY changes and scripted failures."""

from __future__ import annotations

import smtplib
import socket
import time
from datetime import UTC, datetime

import pytest
from imapclient import IMAPClient

from tests.conftest import MakeDovecot, missing_server
from tests.mailservers import Dovecot, SmtpServer

RAW = (
    b"From: Ali <ali@example.az>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Where is my order?\r\n"
    b"Message-ID: <order-1@example.az>\r\n"
    b"\r\n"
    b"Salam, order 42 has not arrived.\r\n"
)


def inbox_uids(imap: IMAPClient) -> list[int]:
    imap.select_folder("INBOX", readonly=True)
    return sorted(imap.search("ALL"))


def test_append_then_peek_keeps_the_message_unseen(dovecot: Dovecot) -> None:
    when = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    uid = dovecot.append("agent", "INBOX", RAW, flags=[b"\\Flagged"], msg_time=when)

    imap = dovecot.client("agent")
    try:
        imap.select_folder("INBOX")
        fetched = imap.fetch([uid], ["BODY.PEEK[]", "INTERNALDATE"])[uid]
        assert fetched[b"BODY[]"] == RAW
        assert fetched[b"INTERNALDATE"].astimezone(UTC) == when
        flags = imap.get_flags([uid])[uid]
        assert b"\\Flagged" in flags
        assert b"\\Seen" not in flags
    finally:
        imap.logout()


def test_append_to_a_new_folder_returns_its_uids(dovecot: Dovecot) -> None:
    first = dovecot.append("agent", "Support", RAW)
    second = dovecot.append("agent", "Support", RAW.replace(b"order-1", b"order-2"))
    assert (first, second) == (1, 2)
    assert dovecot.maildir("agent", "Support").is_dir()


def test_idle_sees_mail_appended_from_another_connection(dovecot: Dovecot) -> None:
    imap = dovecot.client("agent")
    try:
        imap.select_folder("INBOX")
        imap.idle()
        start = time.monotonic()
        uid = dovecot.append("agent", "INBOX", RAW)
        seen: list[object] = []
        while time.monotonic() - start < 2 and (uid, b"EXISTS") not in seen:
            seen += imap.idle_check(timeout=max(0.05, 2 - (time.monotonic() - start)))
        imap.idle_done()
        assert (uid, b"EXISTS") in seen, seen
    finally:
        imap.logout()


def test_restart_keeps_the_mail_and_the_port(dovecot: Dovecot) -> None:
    uid = dovecot.append("agent", "INBOX", RAW)
    port = dovecot.port
    before = dovecot.client("agent")
    before.select_folder("INBOX")

    dovecot.restart()

    assert dovecot.port == port
    with pytest.raises((IMAPClient.AbortError, OSError)):
        before.noop()
    after = dovecot.client("agent")
    try:
        assert inbox_uids(after) == [uid]
    finally:
        after.logout()


def test_an_abrupt_restart_keeps_the_mail_too(dovecot: Dovecot) -> None:
    uid = dovecot.append("agent", "INBOX", RAW)
    dovecot.restart(graceful=False)
    imap = dovecot.client("agent")
    try:
        assert inbox_uids(imap) == [uid]
    finally:
        imap.logout()


@pytest.mark.parametrize("folder", ["INBOX", "Support"])
def test_uidvalidity_changes_and_the_messages_stay(dovecot: Dovecot, folder: str) -> None:
    for n in range(3):
        dovecot.append("agent", folder, RAW.replace(b"order-1", f"order-{n}".encode()))
    before = dovecot.uidvalidity("agent", folder)

    after = dovecot.set_uidvalidity_changed("agent", folder)

    assert after != before
    assert dovecot.uidvalidity("agent", folder) == after
    imap = dovecot.client("agent")
    try:
        imap.select_folder(folder, readonly=True)
        bodies = imap.fetch(imap.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        ids = sorted(bytes(v[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]).strip() for v in bodies.values())
        assert ids == [f"Message-ID: <order-{n}@example.az>".encode() for n in range(3)]
    finally:
        imap.logout()


def test_drop_connections_disconnects_the_user(dovecot: Dovecot) -> None:
    imap = dovecot.client("agent")
    imap.select_folder("INBOX")
    dovecot.drop_connections("agent")
    with pytest.raises((IMAPClient.AbortError, OSError)):
        imap.noop()
    again = dovecot.client("agent")
    again.logout()


def test_a_new_user_can_log_in_and_a_wrong_password_cannot(dovecot: Dovecot) -> None:
    dovecot.add_user("bahram", "pa55")
    dovecot.client("bahram").logout()
    imap = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    with pytest.raises(IMAPClient.Error):
        imap.login("bahram", "wrong")


def test_a_taken_port_is_replaced_unless_it_was_asked_for(make_dovecot: MakeDovecot) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        with pytest.raises(RuntimeError, match="Address already in use"):
            make_dovecot(port=taken)

        server = Dovecot()
        try:
            server.port = taken  # as if another process took the picked port first
            server.start()
            assert server.port != taken
            server.add_user("agent", "secret")
            server.client("agent").logout()
        finally:
            server.close()


def test_settings_reach_the_server(make_dovecot: MakeDovecot) -> None:
    server = make_dovecot(settings={"imap_capability": "+XAPPLE"})
    imap = server.client("agent")
    try:
        assert b"XAPPLE" in imap.capabilities()
    finally:
        imap.logout()


def test_smtplib_sends_and_the_server_records_it(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        refused = smtp.sendmail("support@example.com", ["ali@example.az", "ops@example.com"], RAW)
    assert refused == {}
    [message] = smtp_server.wait_for(1, timeout=5)
    assert message.mail_from == "support@example.com"
    assert message.rcpt_tos == ["ali@example.az", "ops@example.com"]
    assert message.data == RAW
    assert message.login is None


def test_a_scripted_451_then_the_usual_250(smtp_server: SmtpServer) -> None:
    smtp_server.script("DATA", "451 4.3.0 Try again later")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            smtp.sendmail("support@example.com", ["ali@example.az"], RAW)
        assert failed.value.smtp_code == 451
        assert smtp_server.messages == []
        smtp.rset()
        assert smtp.sendmail("support@example.com", ["ali@example.az"], RAW) == {}
    assert [m.data for m in smtp_server.wait_for(1)] == [RAW]


def test_a_scripted_550_refuses_one_recipient(smtp_server: SmtpServer) -> None:
    smtp_server.script("RCPT", "550 5.1.1 No such user")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        refused = smtp.sendmail("support@example.com", ["nobody@example.az", "ali@example.az"], RAW)
    assert refused == {"nobody@example.az": (550, b"5.1.1 No such user")}
    [message] = smtp_server.wait_for(1)
    assert message.rcpt_tos == ["ali@example.az"]


def test_wait_for_times_out_naming_the_count(smtp_server: SmtpServer) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 messages"):
        smtp_server.wait_for(1, timeout=0.1)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_is_required_and_recorded(smtp_auth_server: SmtpServer, mechanism: str) -> None:
    with smtplib.SMTP(smtp_auth_server.host, smtp_auth_server.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("support@example.com", ["ali@example.az"], RAW)
        assert refused.value.smtp_code == 530
        smtp.rset()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("agent", "wrong")
        smtp.user, smtp.password = "agent", "secret"
        smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"))
        smtp.sendmail("support@example.com", ["ali@example.az"], RAW)
    [message] = smtp_auth_server.wait_for(1)
    assert message.login == "agent"


def test_a_missing_server_skips_on_a_laptop_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        missing_server("dovecot not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        missing_server("dovecot not installed")
