"""TLS for the mail connections: one ``ssl.SSLContext`` for IMAP and SMTP, and errors that say
what to fix.

The certificate is always checked, hostname included, against the system's CA store or,
when ``ca_file`` is set, against that file's CAs alone (a self-hosted server with its own
CA or a self-signed certificate). ``tls_verify = false`` turns the check off, with a
warning in the log at every connect; it never allows ``plain``.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

from omnitui.config import ConfigError

if TYPE_CHECKING:
    from omnitui.config.models import ServerConfig

log = logging.getLogger(__name__)


class CertificateError(ConnectionError):
    """The server's certificate was refused; the message names the setting to look at."""


def context(cfg: ServerConfig, section: str) -> ssl.SSLContext:
    """The context for a connection to ``cfg``'s server; ``section`` is e.g. email.support.imap.

    Raises ``ConfigError`` ("email.support.imap.ca_file: no such file: PATH") when ca_file
    cannot be used.
    """
    if not cfg.tls_verify:
        log.warning(
            "%s: tls_verify = false: the certificate of %s is NOT checked, so anyone on the "
            "network path can read the password and the mail; set ca_file instead",
            section,
            cfg.host,
        )
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if not cfg.ca_file:
        return ssl.create_default_context()
    key = f"{section}.ca_file"
    path = Path(cfg.ca_file).expanduser()
    try:
        return ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        raise _config_error(key, f"no such file: {path}") from None
    except ssl.SSLError as exc:
        problem = f"no CA certificate (PEM) in {path}: {exc.reason or exc}"
        raise _config_error(key, problem) from None
    except OSError as exc:
        raise _config_error(key, f"cannot read {path}: {exc.strerror or exc}") from None


def _config_error(key: str, problem: str) -> ConfigError:
    """One line, "KEY: PROBLEM": the connector does not know which file the key came from."""
    error = ConfigError(key, "", problem)
    error.key = key
    return error


def describe(exc: ssl.SSLError, cfg: ServerConfig, section: str, port: int) -> str:
    """A failed handshake with ``cfg``'s server, in words that say what to set."""
    where = f"{cfg.host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        if exc.verify_code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
            hint = f"connect by a name the certificate lists, not {cfg.host!r}"
        elif cfg.ca_file:
            hint = f"is it signed by a CA in {section}.ca_file ({cfg.ca_file})?"
        else:
            hint = (
                f"if the server has its own CA or a self-signed certificate, "
                f"set {section}.ca_file to that CA's PEM file"
            )
        return f"{section}: certificate verify failed for {where} ({reason}); {hint}"
    if exc.reason == "WRONG_VERSION_NUMBER" and cfg.security == "tls":
        return (
            f"{section}: {where} does not answer in TLS ({exc}); "
            f"is it a port for security = 'starttls'?"
        )
    return f"{section}: TLS with {where} failed: {exc}"


def error(exc: ssl.SSLError, cfg: ServerConfig, section: str, port: int) -> ConnectionError:
    """``describe`` as an exception: ``CertificateError`` for a refused certificate."""
    message = describe(exc, cfg, section, port)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return CertificateError(message)
    return ConnectionError(message)
