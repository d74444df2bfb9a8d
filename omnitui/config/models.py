"""The configuration's pydantic models: every key, its default and its bounds.

Imported on first use only (``omnitui.config`` re-exports these names lazily), so
that a TUI started without a config file paints without loading pydantic.
Every key is documented in config.example.toml.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
