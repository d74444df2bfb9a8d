"""The configuration: TOML at the XDG config path or --config, validated by pydantic.

Every key is documented in config.example.toml; the pydantic models live in
``omnitui.config.models`` and are imported on first use (this package re-exports
them lazily): a TUI started without a config file reaches its first paint without
loading pydantic, and a file that exists is validated before the TUI starts. A
broken file or a wrong key raises ``ConfigError`` whose one line names the file, the
key and what is wrong; the CLI prints it and exits 2. Secrets may come from ``*_env``
(an environment variable) or ``*_cmd`` (a command's output, run without a shell).

Must not import Textual, the store or any connector.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnitui.i18n import _, ngettext

if TYPE_CHECKING:
    from omnitui.config.models import (
        AgentConfig,
        BotConfig,
        Config,
        DemoConfig,
        EmailAccount,
        HttpConfig,
        ImapConfig,
        OutboxConfig,
        RunnerConfig,
        SmtpConfig,
        StoreConfig,
        TelegramAccount,
        WebChatAccount,
    )

__all__ = [
    "AgentConfig",
    "BotConfig",
    "Checked",
    "Config",
    "ConfigError",
    "DemoConfig",
    "EmailAccount",
    "HttpConfig",
    "ImapConfig",
    "OutboxConfig",
    "RunnerConfig",
    "Settings",
    "SmtpConfig",
    "StoreConfig",
    "TelegramAccount",
    "WebChatAccount",
    "load",
    "parse",
    "read",
    "resolve_secret",
]
_MODELS = frozenset(
    {
        "AgentConfig",
        "BotConfig",
        "Config",
        "DemoConfig",
        "EmailAccount",
        "HttpConfig",
        "ImapConfig",
        "OutboxConfig",
        "RunnerConfig",
        "SmtpConfig",
        "StoreConfig",
        "TelegramAccount",
        "WebChatAccount",
    }
)


def __getattr__(name: str) -> Any:
    """The pydantic models, imported on first use."""
    if name in _MODELS:
        from omnitui.config import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ConfigError(Exception):
    """A configuration problem, as one line naming the file and the key.

    ``problem`` is said in the console's language (the file and the key never are)."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Checked:
    """A config file whose exact bytes this version of omnitui has validated before.

    Its TOML is used as it is for what the first paint needs (store, agent, keys), and
    validated again by pydantic when the whole config is first used, after the first
    paint: pydantic costs ~0.15-0.2 s, the first paint's whole budget.
    """

    path: Path
    data: dict[str, Any]

    def get(self, section: str, key: str, default: str = "") -> str:
        value = self.data.get(section, {}).get(key, default)
        return value if isinstance(value, str) else default


def read(
    path: Path,
    *,
    required: bool = False,
    checked_dir: Path | None = None,
    trust_checked: bool = False,
) -> Config | Checked | None:
    """Read and validate the config file; None when an optional file is missing.

    None stands for the defaults without loading pydantic (see ``Settings``). A file
    validated now is remembered in ``checked_dir``; with ``trust_checked``, a file whose
    bytes this version validated before comes back as ``Checked``, without pydantic.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(path, "", _("file not found")) from None
        return None
    except OSError as exc:
        raise ConfigError(path, "", exc.strerror or str(exc)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problem = _("not UTF-8 at byte {offset}").format(offset=exc.start)
        raise ConfigError(path, "", problem) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", _("invalid TOML: {error}").format(error=exc)) from None
    stamp = _stamp(raw) if checked_dir is not None else None
    if trust_checked and checked_dir is not None and stamp and (checked_dir / stamp).exists():
        return Checked(path, data)
    config = parse(data, path)
    if checked_dir is not None and stamp is not None:
        _remember(checked_dir, stamp)
    return config


def _stamp(raw: bytes) -> str:
    from hashlib import sha256

    from omnitui import __version__

    return sha256(__version__.encode() + b"\0" + raw).hexdigest()


def _remember(checked_dir: Path, stamp: str) -> None:
    """Mark these bytes as valid; best effort (a read-only cache only costs speed)."""
    try:
        checked_dir.mkdir(parents=True, exist_ok=True)
        for old in checked_dir.iterdir():  # one file a config version is plenty
            if old.name != stamp and len(old.name) == 64:
                old.unlink(missing_ok=True)
        (checked_dir / stamp).touch()
    except OSError:
        pass


def load(path: Path, *, required: bool = False) -> Config:
    """Read and validate the config file; a missing optional file gives the defaults."""
    config = read(path, required=required)
    if config is None:
        from omnitui.config.models import Config

        return Config()
    assert not isinstance(config, Checked)
    return config


def parse(data: dict[str, Any], path: Path | str = "<config>") -> Config:
    from pydantic import ValidationError

    from omnitui.config.models import Config

    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        # pydantic's own messages are English; our validators' are translated already.
        problem = _("unknown key") if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] != "extra_forbidden" and "input" in err and _may_echo(err):
            problem = _("{problem} (got {value})").format(problem=problem, value=repr(err["input"]))
        more = len(exc.errors()) - 1
        if more:
            problem = ngettext(
                "{problem} (and {count} more problem)",
                "{problem} (and {count} more problems)",
                more,
            ).format(problem=problem, count=more)
        raise ConfigError(path, key, problem) from None


_SECRET_KEYS = ("token", "secret", "password")


def _may_echo(err: Any) -> bool:
    """Whether an error may show the value it is about: not a whole table (which may hold
    secrets), not a secret itself."""
    last = str(err["loc"][-1]) if err["loc"] else ""
    return not isinstance(err["input"], dict) and not any(k in last for k in _SECRET_KEYS)


def resolve_secret(where: str, value: str | None, env: str | None, cmd: str | None) -> str | None:
    """A secret given inline, by environment variable or by command (run without a shell)."""
    if value:
        return value
    if env:
        found = os.environ.get(env)
        if found is None:
            problem = _("environment variable {name} is not set").format(name=env)
            raise ConfigError("config", where, problem)
        return found
    if cmd:
        try:
            out = subprocess.run(
                shlex.split(cmd), capture_output=True, text=True, timeout=30, check=True
            )
        except (OSError, subprocess.SubprocessError) as exc:
            problem = _("command failed: {error}").format(error=exc)
            raise ConfigError("config", where, problem) from None
        return out.stdout.rstrip("\n")
    return None


def store_password(path: Path, env: str, cmd: str) -> None:
    """Hand the PostgreSQL password from ``[store] password_env`` / ``password_cmd`` to libpq
    (PGPASSWORD), for this process and the ones it starts; the URL itself stays secret-free,
    so nothing that shows it can leak the password. Raises ConfigError."""
    try:
        password = resolve_secret("store.password", None, env or None, cmd or None)
    except ConfigError as exc:
        key = "store.password_env" if env else "store.password_cmd"
        raise ConfigError(path, key, exc.problem) from None
    if password is not None:
        os.environ["PGPASSWORD"] = password


@dataclass(frozen=True, slots=True, init=False)
class Settings:
    """Everything a process needs to start, after the CLI's flags and the config are merged.

    ``config`` may be given as None (no config file: the defaults) or as ``Checked``
    (a file validated before): the Config is then built on first use, so that the
    TUI's first paint does not wait on pydantic; once, whichever threads ask for it.
    """

    data_dir: Path
    config_path: Path
    agent: str
    store_url: str
    run_runner: bool
    log_file: Path
    _config: Config | Checked | None
    _building: threading.Lock = field(repr=False, compare=False)
    """Held while the Config is built on first use."""

    def __init__(
        self,
        *,
        data_dir: Path,
        config_path: Path,
        config: Config | Checked | None,
        agent: str,
        store_url: str,
        run_runner: bool,
        log_file: Path,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "data_dir", data_dir)
        set_(self, "config_path", config_path)
        set_(self, "_config", config)
        set_(self, "_building", threading.Lock())
        set_(self, "agent", agent)
        set_(self, "store_url", store_url)
        set_(self, "run_runner", run_runner)
        set_(self, "log_file", log_file)

    @property
    def config(self) -> Config:
        """The validated config (the defaults when there is no file, built on first use)."""
        config = self._config  # read once: another thread may replace it meanwhile
        if config is None or isinstance(config, Checked):
            with self._building:
                config = self._config  # built by another thread while this one waited?
                if config is None or isinstance(config, Checked):
                    from omnitui.config.models import Config

                    config = Config() if config is None else parse(config.data, config.path)
                    object.__setattr__(self, "_config", config)
        return config

    def with_config(self, config: Config) -> Settings:
        """The same settings with another config."""
        return Settings(
            data_dir=self.data_dir,
            config_path=self.config_path,
            config=config,
            agent=self.agent,
            store_url=self.store_url,
            run_runner=self.run_runner,
            log_file=self.log_file,
        )

    @property
    def keys(self) -> dict[str, str]:
        """The keymap: binding id -> key(s) (config ``[keymap]``, or ``[keys]`` as it was
        called before)."""
        config = self._config  # read once: ``config`` may replace it from another thread
        if isinstance(config, Checked):
            data = config.data
            keys = data.get("keymap") or data.get("keys") or {}
            return {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else {}
        return config.bindings if config is not None else {}

    @property
    def display(self) -> tuple[str, bool]:
        """``[display] rtl`` and ``shape``, read before the first paint without pydantic
        (the mode decides how the first frame's names are drawn)."""
        config = self._config  # read once: ``config`` may replace it from another thread
        if isinstance(config, Checked):
            section = config.data.get("display", {})
            section = section if isinstance(section, dict) else {}
            rtl, shape = section.get("rtl", "auto"), section.get("shape", True)
            return (
                rtl if rtl in ("auto", "on", "off") else "auto",
                shape if isinstance(shape, bool) else True,
            )
        if config is None:
            return "auto", True
        return config.display.rtl, config.display.shape

    @property
    def timezone(self) -> tzinfo:
        """The agent's zone for showing times (DESIGN invariant 4)."""
        config = self._config  # read once: ``config`` may replace it from another thread
        if isinstance(config, Checked):
            name = config.get("agent", "timezone")
        else:
            name = config.agent.timezone if config is not None else ""
        if name:
            from zoneinfo import ZoneInfo

            return ZoneInfo(name)
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
