"""The configuration's pydantic models: every key, its default and its bounds.

Imported on first use only (``omnitui.config`` re-exports these names lazily), so
that a TUI started without a config file paints without loading pydantic.
Every key is documented in config.example.toml.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from datetime import date
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omnitui.i18n import _

if TYPE_CHECKING:
    from omnitui.csat import SurveyPolicy


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentConfig(_Section):
    name: str = ""
    """Agent name; empty means --agent or the login name."""
    timezone: str = ""
    """IANA zone for showing times (e.g. Asia/Baku); empty means the machine's zone."""
    language: str = ""
    """The canned reply variant to insert when the customer's language is not known
    (en, az, tr or fa); empty means English."""

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        from omnitui.canned import LANGUAGES

        if value and value not in LANGUAGES:
            problem = _("language {value} is not one of {languages}")
            raise ValueError(problem.format(value=repr(value), languages=", ".join(LANGUAGES)))
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(_("unknown time zone {value}").format(value=repr(value))) from exc
        return value


class StoreConfig(_Section):
    url: str = ""
    """sqlite:///PATH or postgresql://USER@HOST:PORT/DBNAME?sslmode=...; empty means
    omnitui.db under the data dir. A PostgreSQL password: in the URL, from password_env or
    password_cmd, or from ~/.pgpass (libpq reads it)."""
    password_env: str = ""
    """The environment variable holding the PostgreSQL password."""
    password_cmd: str = ""
    """A command printing the PostgreSQL password (run without a shell: `pass show db`)."""

    @field_validator("url")
    @classmethod
    def _store_url(cls, value: str) -> str:
        if value and not value.startswith(
            ("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")
        ):
            raise ValueError(f"{value!r} is not sqlite:///PATH or postgresql://...")
        return value


class RunnerConfig(_Section):
    lease_ttl_seconds: float = Field(default=6.0, gt=1, le=60)
    """A runner that stops renewing its lease for this long is taken over."""
    heartbeat_seconds: float = Field(default=2.0, gt=0.05, le=30)


class OutboxConfig(_Section):
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_base_seconds: float = Field(default=2.0, gt=0, le=3600)
    backoff_max_seconds: float = Field(default=600.0, gt=0, le=86400)


class DemoConfig(_Section):
    enabled: bool = False
    """Run the demo channel: invented customers writing on three simulated channels
    (`omnitui demo` turns it on for its own store)."""
    messages_per_minute: float = Field(default=12.0, ge=0, le=60000)
    delivery_delay_seconds: tuple[float, float] = (0.3, 2.0)
    failure_rate: float = Field(default=0.15, ge=0, le=1)
    """Share of send attempts that fail (transiently), so retries and failures show."""
    idempotent: bool = True
    """Deliveries are keyed, so a reply interrupted by a crash is retried, not doubled."""
    seed: int | None = None


DEFAULT_LISTEN = ("127.0.0.1", 8765)
"""Where the HTTP server listens when ``listen = "auto"`` and a connector needs it."""
RESERVED_PATHS = frozenset({"/healthz"})
"""Routes of the HTTP server itself, which no connector may take."""
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_PATH = re.compile(r"/[A-Za-z0-9/_.~-]*")


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8765`` for IPv6) as (host, port); ValueError when it is not."""
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(
            _('HOST:PORT, e.g. "127.0.0.1:8765" ("[::1]:8765" for IPv6), "auto" or "" (no server)')
        )
    return host, int(port)


class HttpConfig(_Section):
    """The runner's HTTP endpoint: /healthz, the Telegram webhooks, later the web chat."""

    listen: str = "auto"
    """HOST:PORT to listen on; "auto": 127.0.0.1:8765 when a connector needs the server (a
    bot in webhook mode), else no server; "": never (webhook mode is then refused)."""
    public_url: str = ""
    """How the outside reaches the server through the team's reverse proxy (which does TLS),
    e.g. "https://support.acme.example"; webhook URLs are this plus the route's path."""

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value not in ("", "auto"):
            parse_listen(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _a_base_url(cls, value: str) -> str:
        if not value:
            return value
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(_('an http(s) URL, e.g. "https://support.acme.example"'))
        if parts.query or parts.fragment:
            raise ValueError(_("a URL without ?query or #fragment"))
        return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServerConfig(_Section):
    """A mail server: where it is, how to reach it safely, who we are there."""

    host: str
    port: int = Field(default=0, ge=0, le=65535)
    """0: the standard port for the security (IMAP 993/143, SMTP 465/587)."""
    security: Literal["tls", "starttls", "plain"] = "tls"
    """plain (no encryption) is allowed only towards a loopback address."""
    ca_file: str = ""
    """A PEM file of CA certificates to check the server's certificate against, instead of
    the system's store (a server with its own CA, or a self-signed certificate). Empty: the
    system's store. Its hostname is always checked."""
    tls_verify: bool = True
    """false: accept any certificate (warned in the log at every connect). Not for production;
    set ca_file instead. Never allows plain towards a remote host."""
    username: str = ""
    password: str = ""
    password_env: str = ""
    password_cmd: str = ""
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    STANDARD_PORTS: ClassVar[tuple[int, int]] = (0, 0)
    """The protocol's standard ports: with implicit TLS, and otherwise."""

    @property
    def server_port(self) -> int:
        """The port to connect to: the configured one, else the standard one."""
        tls, other = self.STANDARD_PORTS
        return self.port or (tls if self.security == "tls" else other)

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> ServerConfig:
        if self.security == "plain" and not _is_loopback(self.host):
            raise ValueError(
                _(
                    "security 'plain' sends the password unencrypted; allowed only for a "
                    "loopback host, not {host} (use tls or starttls)"
                ).format(host=repr(self.host))
            )
        return self


class ImapConfig(ServerConfig):
    STANDARD_PORTS: ClassVar[tuple[int, int]] = (993, 143)

    folders: tuple[str, ...] = ("INBOX",)
    """Folders to watch; each has its own connection (IDLE watches one folder)."""
    sent_folder: str = ""
    """Where replies are filed once sent, and where mail the team sent from other
    clients is read from (stored as outgoing). Empty: none."""
    sync_window_days: int = Field(default=90, ge=0)
    """The first sync fetches this many days back; 0 fetches everything."""
    batch_size: int = Field(default=200, ge=1, le=5000)
    idle_refresh_seconds: float = Field(default=300.0, ge=1, le=1740)
    """IDLE is re-issued this often, with a NOOP between that proves the connection
    is alive (a silently dropped connection is noticed within this plus the timeout).
    RFC 2177 asks for at most 29 minutes."""
    poll_seconds: float = Field(default=60.0, ge=1, le=3600)
    """For servers without IDLE: how often to look for new mail."""

    @property
    def watched_folders(self) -> list[str]:
        """The folders synced: those configured, then the Sent folder, each once."""
        return list(
            dict.fromkeys([*self.folders, *([self.sent_folder] if self.sent_folder else [])])
        )


class SmtpConfig(ServerConfig):
    STANDARD_PORTS: ClassVar[tuple[int, int]] = (465, 587)


_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")


class EmailAccount(_Section):
    address: str
    """Our address: replies go out from it; mail from it is the team's."""
    display_name: str = ""
    """The name customers see in From, e.g. "Acme Support"."""
    also: tuple[str, ...] = ()
    """Other addresses that are ours (aliases): mail from them is the team's too."""
    max_attachment_mb: float = Field(default=25.0, gt=0, le=1024)
    """Attachments larger than this are listed but not kept apart (the raw message has them)."""
    imap: ImapConfig | None = None
    smtp: SmtpConfig | None = None
    csat: bool = False
    """Ask the customer to rate the help (1-5, by replying) when an agent resolves."""

    @field_validator("address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(_("not an email address: {value}").format(value=repr(value)))
        return value.lower()

    @field_validator("also")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for one in value:
            if not _ADDRESS.match(one):
                raise ValueError(_("not an email address: {value}").format(value=repr(one)))
        return tuple(v.lower() for v in value)

    @property
    def ours(self) -> frozenset[str]:
        return frozenset((self.address, *self.also))


class TelegramAccount(_Section):
    """A Telegram bot: its token, how updates reach us, what it says and keeps."""

    token: str = ""
    token_env: str = ""
    token_cmd: str = ""
    """The bot token (from @BotFather): inline (not recommended), from an environment
    variable, or printed by a command (run without a shell). One of the three is needed."""
    mode: Literal["poll", "webhook"] = "poll"
    """poll: long-poll getUpdates (only one program may poll a token at a time). webhook:
    Telegram POSTs every update to [http] public_url + webhook_path, served by the runner's
    HTTP server (set with setWebhook when the connector starts)."""
    webhook_secret: str = ""
    webhook_secret_env: str = ""
    """Webhook mode: the secret Telegram sends with every update (X-Telegram-Bot-Api-Secret-
    Token), inline or from an environment variable; 1-256 of A-Z a-z 0-9 _ -. Required in
    webhook mode: a request without it is refused (403)."""
    webhook_path: str = ""
    """Webhook mode: the path of the bot's route on the HTTP server; empty: /telegram/NAME."""
    poll_timeout_seconds: int = Field(default=50, ge=1, le=600)
    """How long one getUpdates waits for news before it is asked again."""
    greeting: str = ""
    """Sent (not stored) to a user who sends /start; empty: no greeting."""
    max_file_mb: float = Field(default=20.0, gt=0, le=2000)
    """Photos, documents, voice and video larger than this are listed but not downloaded
    (20 MB is the most Telegram's own Bot API server hands out)."""
    csat: bool = False
    """Ask the customer to rate the help (buttons 1-5) when an agent resolves."""
    base_url: str = ""
    base_file_url: str = ""
    """A local Bot API server (e.g. "http://127.0.0.1:8081/bot"); empty: api.telegram.org.
    https, or plain http only towards a loopback address: the token is part of every URL."""

    @field_validator("webhook_secret")
    @classmethod
    def _a_secret_telegram_takes(cls, value: str) -> str:
        if value and not WEBHOOK_SECRET.fullmatch(value):
            raise ValueError(_("1-256 characters of A-Z a-z 0-9 _ -"))
        return value

    @field_validator("webhook_path")
    @classmethod
    def _a_path(cls, value: str) -> str:
        if value and not _PATH.fullmatch(value):
            raise ValueError(
                _("a path such as /telegram/bot: starting with /, of letters, digits and / _ . ~ -")
            )
        if value.rstrip("/") in RESERVED_PATHS:
            raise ValueError(_("{path} is the HTTP server's own route").format(path=value))
        return value

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        if not value:
            return value
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
            return value
        raise ValueError(
            _("an https URL, or http only towards a loopback host (the token is in every URL)")
        )

    @model_validator(mode="after")
    def _has_a_token(self) -> TelegramAccount:
        if not (self.token or self.token_env or self.token_cmd):
            raise ValueError(_("a bot needs token, token_env or token_cmd"))
        if self.mode == "webhook" and not (self.webhook_secret or self.webhook_secret_env):
            raise ValueError(
                _(
                    "webhook mode needs webhook_secret or webhook_secret_env (the secret "
                    "Telegram sends with every update; 1-256 characters of A-Z a-z 0-9 _ -, "
                    "e.g. `openssl rand -hex 32`)"
                )
            )
        return self

    def path_for(self, name: str) -> str:
        """The path of this bot's webhook route (account ``name``)."""
        return self.webhook_path or f"/telegram/{name}"


_ORIGIN = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")
WEBCHAT_SECRET_MIN = 16


class WebChatAccount(_Section):
    """A web chat: the page and the embeddable script served at /webchat/NAME/ by the runner's
    HTTP server, the visitors' tokens, and the limits that keep hostile traffic out."""

    secret: str = ""
    secret_env: str = ""
    """The key visitors' tokens are signed with (HMAC-SHA256), inline or from an environment
    variable; at least 16 characters. Changing it signs every visitor out (a new conversation
    identity each). One of the two is needed."""
    token_days: int = Field(default=30, ge=1, le=3650)
    """A visitor's token (kept in their browser) is refused this many days after it was issued;
    the visitor then gets a new one, and with it a new identity."""
    allowed_origins: tuple[str, ...] = ()
    """Sites (scheme://host[:port]) whose pages may embed the chat (CORS); empty: only pages
    served by this server itself."""
    max_body_bytes: int = Field(default=16384, ge=256, le=1048576)
    """A request body larger than this is refused (413)."""
    messages_per_minute: int = Field(default=20, ge=1, le=10000)
    """Per visitor token and per IP address; more is refused with 429 and Retry-After."""
    title: str = ""
    """The chat panel's heading; empty: "Chat with us" in the visitor's language."""
    greeting: str = ""
    """Shown at the top of the panel (not stored); empty: none."""
    away_after_minutes: int = Field(default=10, ge=1, le=1440)
    """No agent seen at work (a reply, a note, an action) for this long: the panel says no one
    is here and opens the form for the visitor's email."""
    email_account: str = ""
    """The [email.NAME] account that sends a reply by email when the visitor is not on the page
    to see it (and the customer has an email address); empty: the only email account, if there
    is exactly one, else replies wait in the chat for the visitor's return."""
    csat: bool = False
    """Ask the visitor to rate the help (buttons 1-5 in the panel) when an agent resolves."""

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    _(
                        "{origin} is not an origin: scheme://host[:port], e.g. "
                        '"https://www.acme.example" (no path, no trailing /)'
                    ).format(origin=repr(origin))
                )
        return value

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < WEBCHAT_SECRET_MIN:
            raise ValueError(
                _("at least {count} characters, e.g. made by `openssl rand -hex 32`").format(
                    count=WEBCHAT_SECRET_MIN
                )
            )
        return value

    @model_validator(mode="after")
    def _has_a_secret(self) -> WebChatAccount:
        if not (self.secret or self.secret_env):
            raise ValueError(
                _(
                    "a web chat needs secret or secret_env (the key visitors' tokens are signed "
                    "with, e.g. made by `openssl rand -hex 32`)"
                )
            )
        return self


RESERVED_ACCOUNTS = frozenset({"http"})
"""Names in the connector state table that are not accounts: "http" is the HTTP server."""


def _check_account_names(names: list[str]) -> None:
    for name in names:
        if not _ACCOUNT.match(name) or name.startswith("demo-"):
            raise ValueError(
                _(
                    "account name {name}: letters, digits, '.', '_' and '-', "
                    "up to 64, not starting with demo-"
                ).format(name=repr(name))
            )
        if name in RESERVED_ACCOUNTS:
            problem = _("account name {name} is reserved (the HTTP server's state)")
            raise ValueError(problem.format(name=repr(name)))


_VIEW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_KEY_NAME = re.compile(r"^[a-z0-9_+-]+$|^[A-Z]$")


class SavedView(_Section):
    """A saved search shown as a view of the customer list ([views.NAME])."""

    query: str
    """The search language's query (README, "Search"): the view lists the customers with a
    conversation that matches it, e.g. "tag:vip is:open". Checked when the config is read."""
    title: str = ""
    """The view's name in the view bar; empty: NAME."""
    key: str = ""
    """A key that shows the view (a Textual key name: "V", "f2", "ctrl+v"); empty: none.
    Digits 1-9 pick the first nine views already; a key another binding has is not bound
    (the status line says so)."""

    @field_validator("query")
    @classmethod
    def _a_query(cls, value: str) -> str:
        from omnitui.query import QueryError, parse

        try:
            parsed = parse(value)
        except QueryError as exc:
            raise ValueError(str(exc)) from None
        if not parsed.terms:
            raise ValueError(_("an empty query: every customer is the All view already"))
        return value

    @field_validator("key")
    @classmethod
    def _a_key(cls, value: str) -> str:
        if not value:
            return value
        if not _KEY_NAME.match(value):
            raise ValueError(
                _('one key as Textual names it: a letter ("V"), "f2", "ctrl+v", "exclamation_mark"')
            )
        if len(value) == 1 and value in "123456789":
            raise ValueError(_("digits 1-9 pick the first nine views already"))
        return value


class NotifyConfig(_Section):
    """Telling the agent about a customer's new message while omnitui is in the background."""

    bell: bool = False
    """Ring the terminal's bell (BEL)."""
    desktop: bool = False
    """A desktop notification through the terminal: OSC 9 (iTerm2, Windows Terminal, kitty,
    WezTerm, ...) and OSC 777 (urxvt, foot, Ghostty, ...), both sent; a terminal ignores
    the one it does not know. Through tmux they need `allow-passthrough`."""
    mine_only: bool = True
    """Only for conversations assigned to you; false: for every customer's message."""
    quiet_seconds: float = Field(default=60.0, ge=0, le=86400)
    """At most one notification a customer in this many seconds."""


class DisplayConfig(_Section):
    """How the TUI draws text."""

    rtl: Literal["auto", "on", "off"] = "auto"
    """Put Persian/Arabic/Hebrew text in visual order here (on), or leave that to the
    terminal (off); auto: on unless the terminal does its own bidi (mlterm, VTE >= 0.58,
    Konsole, macOS Terminal, mintty). D toggles it while running."""
    shape: bool = True
    """While rtl is on, join Arabic-script letters here (presentation forms)."""
    language: str = ""
    """The console's language: en, az, tr or fa; empty means LC_ALL / LC_MESSAGES / LANG
    (--lang overrides both)."""
    persian_digits: bool = True
    """With fa: dates, times and counts in Persian digits (۰-۹), as CLDR writes Persian
    numbers; false: 0-9. Never customer text, ids or addresses."""

    @field_validator("language")
    @classmethod
    def _console_language(cls, value: str) -> str:
        from omnitui.i18n import LANGUAGES

        if value and value not in LANGUAGES:
            raise ValueError(
                _(
                    "language {value} is not one of {languages} (or empty for the environment's)"
                ).format(value=repr(value), languages=", ".join(LANGUAGES))
            )
        return value


class CsatConfig(_Section):
    """The satisfaction survey's words; which channels ask is each account's ``csat``."""

    question: dict[str, str] = Field(default_factory=dict)
    """The question by customer language (en, az, tr, fa), instead of the built-in one; email
    adds under it how to answer (a number 1-5 on the first line of the reply)."""

    @field_validator("question")
    @classmethod
    def _languages(cls, value: dict[str, str]) -> dict[str, str]:
        from omnitui.csat import QUESTIONS

        for language, text in value.items():
            if language not in QUESTIONS:
                raise ValueError(
                    _("language {value} is not one of {languages}").format(
                        value=repr(language), languages=", ".join(QUESTIONS)
                    )
                )
            if not text.strip():
                raise ValueError(_("the question in {language} is empty").format(language=language))
        return value


def _default_handoff_words() -> dict[str, tuple[str, ...]]:
    from omnitui.kb import DEFAULT_HANDOFF_WORDS

    return dict(DEFAULT_HANDOFF_WORDS)


class BotConfig(_Section):
    """The FAQ bot: answers a customer's question from the knowledge base (``omnitui kb
    import``) while no agent has taken the conversation, and hands it to the agents."""

    webchat: bool = False
    """Answer on the web chats."""
    telegram: bool = False
    """Answer on the Telegram bots."""
    min_score: float = Field(default=0.5, gt=0, le=1)
    """The share of the message's meaningful words an entry's question must have (0-1);
    below it the conversation goes to the agents at once."""
    name: str = "bot"
    """The author of the bot's messages in the timeline."""
    handoff_words: dict[str, tuple[str, ...]] = Field(default_factory=_default_handoff_words)
    """Words by language (en, az, tr, fa) with which a customer asks for a person."""
    handoff_message: bool = True
    """Tell the customer "A person will answer you soon." when the conversation goes to the
    agents after the bot answered or the customer asked for a person."""

    @field_validator("name")
    @classmethod
    def _a_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_("give the bot a name"))
        return value.strip()

    @field_validator("handoff_words")
    @classmethod
    def _known_languages(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        from omnitui.kb import DEFAULT_HANDOFF_WORDS

        for language in value:
            if language not in DEFAULT_HANDOFF_WORDS:
                problem = _("language {value} is not one of {languages}")
                shown = ", ".join(DEFAULT_HANDOFF_WORDS)
                raise ValueError(problem.format(value=repr(language), languages=shown))
        return {**DEFAULT_HANDOFF_WORDS, **value}

    def answers_on(self, channel: str) -> bool:
        """Whether the bot answers customers on ``channel``."""
        return (channel == "webchat" and self.webchat) or (channel == "telegram" and self.telegram)


class BusinessHoursConfig(_Section):
    """The team's opening hours ([business_hours]), for SLA targets and the reports."""

    zone: str = ""
    """IANA zone the hours are in (e.g. Asia/Baku); empty: [agent] timezone, else UTC."""
    mon: str = ""
    """Opening hours: "09:00-18:00", several as "09:00-13:00,14:00-18:00"; "" = closed."""
    tue: str = ""
    wed: str = ""
    thu: str = ""
    fri: str = ""
    sat: str = ""
    sun: str = ""
    holidays: tuple[date, ...] = ()
    """Dates closed all day: ["2026-03-20", ...] (or TOML dates: [2026-03-20, ...])."""

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return AgentConfig._known_zone(value)

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _opening_hours(cls, value: str) -> str:
        from omnitui.hours import parse_intervals

        parse_intervals(value)
        return value

    @model_validator(mode="after")
    def _open_some_day(self) -> BusinessHoursConfig:
        if not any(getattr(self, day).strip() for day in _WEEKDAYS):
            raise ValueError(_('no day has opening hours (e.g. mon = "09:00-18:00")'))
        return self


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHANNELS = ("email", "telegram", "webchat", "phone")


class SlaPolicy(_Section):
    """An SLA policy ([sla.NAME]): targets for the conversations it matches.

    The first policy, in the order written, whose channels and tags match a
    conversation gives it its targets; one with neither matches every conversation."""

    channels: tuple[str, ...] = ()
    """The channels it applies to (email, telegram, webchat, phone); empty: any."""
    tags: tuple[str, ...] = ()
    """It applies to conversations with any of these tags; empty: any."""
    first_response: str = ""
    """Time to the first reply: "30m", "4h", "2d", "1h30m"; empty: no target."""
    resolution: str = ""
    """Time to resolved, from the customer's first message; empty: no target."""
    business_hours: bool = False
    """Count only the hours of [business_hours] (a day, "1d", is still 24 of them)."""

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for channel in value:
            if channel not in _CHANNELS:
                problem = _("channel {value} is not one of {channels}")
                raise ValueError(problem.format(value=repr(channel), channels=", ".join(_CHANNELS)))
        return value

    @field_validator("first_response", "resolution")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        if value:
            from omnitui.sla import parse_duration

            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _a_target(self) -> SlaPolicy:
        if not self.first_response and not self.resolution:
            raise ValueError(_('no target: set first_response and/or resolution (e.g. "4h")'))
        return self


class Config(_Section):
    agent: AgentConfig = AgentConfig()
    store: StoreConfig = StoreConfig()
    runner: RunnerConfig = RunnerConfig()
    outbox: OutboxConfig = OutboxConfig()
    demo: DemoConfig = DemoConfig()
    http: HttpConfig = HttpConfig()
    email: dict[str, EmailAccount] = Field(default_factory=dict)
    """Email accounts by name: [email.support] ... (the name is the account in the store)."""
    telegram: dict[str, TelegramAccount] = Field(default_factory=dict)
    """Telegram bots by name: [telegram.bot] ... (the name is the account in the store)."""
    webchat: dict[str, WebChatAccount] = Field(default_factory=dict)
    """Web chats by name: [webchat.site] ... served at /webchat/NAME/ (the name is the account)."""
    views: dict[str, SavedView] = Field(default_factory=dict)
    """Saved searches shown as views of the customer list: [views.vip] query = "tag:vip"."""
    notify: NotifyConfig = NotifyConfig()
    display: DisplayConfig = DisplayConfig()
    business_hours: BusinessHoursConfig | None = None
    """The team's opening hours, for SLA targets that count business hours only."""
    sla: dict[str, SlaPolicy] = Field(default_factory=dict)
    """SLA policies by name, the first matching one applies: [sla.vip] tags = ["vip"] ..."""
    bot: BotConfig = BotConfig()
    csat: CsatConfig = CsatConfig()
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id -> key(s), e.g. reply = "r" or send = "ctrl+s,f5"; ? lists every id."""
    keys: dict[str, str] = Field(default_factory=dict)
    """The older name of [keymap], still read."""

    @field_validator("views")
    @classmethod
    def _view_names(cls, value: dict[str, SavedView]) -> dict[str, SavedView]:
        for name in value:
            if not _VIEW_NAME.match(name):
                raise ValueError(
                    _(
                        "view name {name}: letters, digits, '_' and '-', up to 40, "
                        "starting with a letter or digit"
                    ).format(name=repr(name))
                )
        keys: dict[str, str] = {}
        for name, view in value.items():
            if view.key and view.key in keys:
                raise ValueError(
                    _("[views.{name}] and [views.{other}] both have key {key}").format(
                        name=name, other=keys[view.key], key=repr(view.key)
                    )
                )
            keys[view.key] = name
        return value

    @field_validator("keymap", "keys")
    @classmethod
    def _known_bindings(cls, value: dict[str, str]) -> dict[str, str]:
        from omnitui.keyids import BINDING_IDS

        for binding, keys in value.items():
            if binding not in BINDING_IDS:
                close = difflib.get_close_matches(binding, BINDING_IDS, 1)
                if close:
                    problem = _(
                        "unknown binding id {binding} (did you mean {close}?); "
                        "? in the TUI lists every id"
                    )
                else:
                    problem = _("unknown binding id {binding}; ? in the TUI lists every id")
                close_one = repr(close[0]) if close else ""
                raise ValueError(problem.format(binding=repr(binding), close=close_one))
            if not keys.strip() or not all(k.strip() for k in keys.split(",")):
                problem = _('{binding} = "{keys}": no key (several: "ctrl+s,f5")')
                raise ValueError(problem.format(binding=binding, keys=keys))
        return value

    @property
    def bindings(self) -> dict[str, str]:
        """The keymap: [keymap], or [keys] from an older config."""
        return dict(self.keymap or self.keys)

    @field_validator("email", "telegram", "webchat")
    @classmethod
    def _account_names(cls, value: dict[str, _Section]) -> dict[str, _Section]:
        _check_account_names(list(value))
        return value

    @model_validator(mode="after")
    def _one_keymap(self) -> Config:
        if self.keymap and self.keys:
            raise ValueError(_("[keymap] and [keys] are the same table: keep [keymap] alone"))
        return self

    @model_validator(mode="after")
    def _one_account_a_name(self) -> Config:
        seen: dict[str, str] = {}
        for channel, accounts in (
            ("email", self.email),
            ("telegram", self.telegram),
            ("webchat", self.webchat),
        ):
            for name in accounts:
                if name in seen:
                    raise ValueError(
                        _(
                            "account name {name} is both [{first}.{account}] and "
                            "[{second}.{account}]: each account needs a name of its own"
                        ).format(name=repr(name), account=name, first=seen[name], second=channel)
                    )
                seen[name] = channel
        for name, chat in self.webchat.items():
            if chat.email_account and chat.email_account not in self.email:
                if self.email:
                    problem = _(
                        "[webchat.{name}] email_account = {value}: there is no "
                        "[email.{account}] (accounts: {accounts})"
                    )
                else:
                    problem = _(
                        "[webchat.{name}] email_account = {value}: there is no "
                        "[email.{account}] (accounts: none)"
                    )
                raise ValueError(
                    problem.format(
                        name=name,
                        value=repr(chat.email_account),
                        account=chat.email_account,
                        accounts=", ".join(self.email),
                    )
                )
        if self.webchat and self.http.listen == "":
            name = next(iter(self.webchat))
            raise ValueError(
                _(
                    "[webchat.{name}] is served by the HTTP server: "
                    '[http] listen is "" (set it to HOST:PORT or "auto")'
                ).format(name=name)
            )
        return self

    @model_validator(mode="after")
    def _business_hours_for_sla(self) -> Config:
        if self.business_hours is None:
            for name, policy in self.sla.items():
                if policy.business_hours:
                    raise ValueError(
                        _(
                            "[sla.{name}] business_hours = true needs the opening hours: "
                            'a [business_hours] table (e.g. mon = "09:00-18:00")'
                        ).format(name=name)
                    )
        return self

    @model_validator(mode="after")
    def _webhooks_can_be_reached(self) -> Config:
        paths: dict[str, str] = {}
        for name, bot in self.telegram.items():
            if bot.mode != "webhook":
                continue
            if self.http.listen == "":
                raise ValueError(
                    _(
                        "[telegram.{name}] is in webhook mode, which needs the HTTP server: "
                        '[http] listen is "" (set it to HOST:PORT or "auto")'
                    ).format(name=name)
                )
            if not self.http.public_url:
                raise ValueError(
                    _(
                        "[telegram.{name}] is in webhook mode, which needs [http] public_url: "
                        "the address Telegram reaches this server at, "
                        'e.g. "https://support.acme.example"'
                    ).format(name=name)
                )
            path = bot.path_for(name).rstrip("/") or "/"
            if path in paths:
                raise ValueError(
                    _(
                        "[telegram.{name}] and [telegram.{other}] both receive at {path}: "
                        "give each bot a webhook_path of its own"
                    ).format(name=name, other=paths[path], path=path)
                )
            paths[path] = name
        return self

    def survey_policy(self) -> SurveyPolicy:
        """The satisfaction survey as the services apply it when an agent resolves."""
        from omnitui.csat import SurveyPolicy

        accounts = frozenset(
            (channel, name)
            for channel, table in (
                ("email", self.email),
                ("telegram", self.telegram),
                ("webchat", self.webchat),
            )
            for name, account in table.items()
            if account.csat
        )
        return SurveyPolicy(accounts, dict(self.csat.question))

    def email_account_for(self, webchat: str) -> str | None:
        """The email account that sends web chat ``webchat``'s replies to visitors who left."""
        chat = self.webchat.get(webchat)
        if chat is None:
            return None
        if chat.email_account:
            return chat.email_account
        return next(iter(self.email)) if len(self.email) == 1 else None

    @property
    def http_address(self) -> tuple[str, int] | None:
        """Where the runner's HTTP server listens: (host, port), or None for no server."""
        listen = self.http.listen
        if listen == "auto":
            needed = bool(self.webchat) or any(
                bot.mode == "webhook" for bot in self.telegram.values()
            )
            return DEFAULT_LISTEN if needed else None
        return parse_listen(listen) if listen else None
