"""The configuration: TOML at the XDG config path or --config, validated by pydantic.

Every key is documented in config.example.toml. A broken file or a wrong key
raises ``ConfigError`` whose one line names the file, the key and what is wrong;
the CLI prints it and exits 2. Secrets may come from ``*_env`` (an environment
variable) or ``*_cmd`` (a command's output, run without a shell).

Must not import Textual, the store or any connector.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigError(Exception):
    """A configuration problem, as one line naming the file and the key."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.key = key
        self.problem = problem


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentConfig(_Section):
    name: str = ""
    """Agent name; empty means --agent or the login name."""
    timezone: str = ""
    """IANA zone for showing times (e.g. Asia/Baku); empty means the machine's zone."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class StoreConfig(_Section):
    url: str = ""
    """sqlite:///PATH; empty means omnitui.db under the data dir."""


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


class Config(_Section):
    agent: AgentConfig = AgentConfig()
    store: StoreConfig = StoreConfig()
    runner: RunnerConfig = RunnerConfig()
    outbox: OutboxConfig = OutboxConfig()
    demo: DemoConfig = DemoConfig()
    keys: dict[str, str] = Field(default_factory=dict)
    """Binding id -> key(s), e.g. "reply" = "r" or "send" = "ctrl+s,f5"."""


def load(path: Path, *, required: bool = False) -> Config:
    """Read and validate the config file; a missing optional file gives the defaults."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(path, "", "file not found") from None
        return Config()
    except OSError as exc:
        raise ConfigError(path, "", exc.strerror or str(exc)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 at byte {exc.start}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"invalid TOML: {exc}") from None
    return parse(data, path)


def parse(data: dict[str, Any], path: Path | str = "<config>") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        problem = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] != "extra_forbidden" and "input" in err:
            problem += f" (got {err['input']!r})"
        more = len(exc.errors()) - 1
        if more:
            problem += f" (and {more} more problem{'s' * (more > 1)})"
        raise ConfigError(path, key, problem) from None


def resolve_secret(where: str, value: str | None, env: str | None, cmd: str | None) -> str | None:
    """A secret given inline, by environment variable or by command (run without a shell)."""
    if value:
        return value
    if env:
        found = os.environ.get(env)
        if found is None:
            raise ConfigError("config", where, f"environment variable {env} is not set")
        return found
    if cmd:
        try:
            out = subprocess.run(
                shlex.split(cmd), capture_output=True, text=True, timeout=30, check=True
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigError("config", where, f"command failed: {exc}") from None
        return out.stdout.rstrip("\n")
    return None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a process needs to start, after the CLI's flags and the config are merged."""

    data_dir: Path
    config_path: Path
    config: Config
    agent: str
    store_url: str
    run_runner: bool
    log_file: Path

    @property
    def timezone(self) -> tzinfo:
        """The agent's zone for showing times (DESIGN invariant 4)."""
        if self.config.agent.timezone:
            from zoneinfo import ZoneInfo

            return ZoneInfo(self.config.agent.timezone)
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
