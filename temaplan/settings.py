"""All configuration, from environment variables only (the same names docker-compose sets)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.plan import RevisionDate


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL"),
        description="PostgreSQL for the event store; unset means the embedded pgserver",
    )
    data_dir: Path = Field(
        default=Path(".data"),
        validation_alias=AliasChoices("TEMAPLAN_DATA_DIR"),
        description="where embedded PostgreSQL and the dev Temporal server keep their files",
    )
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS"),
        description="host:port of a Temporal frontend; unset means an embedded dev server",
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE")
    )
    temporal_task_queue: str = Field(
        default="temaplan", validation_alias=AliasChoices("TEMPORAL_TASK_QUEUE")
    )
    temporal_tls: bool = Field(default=False, validation_alias=AliasChoices("TEMPORAL_TLS"))
    temporal_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_API_KEY"), repr=False
    )
    api_host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("TEMAPLAN_API_HOST"),
        description="where the HTTP API and web page listen (0.0.0.0 in a container)",
    )
    api_port: int = Field(
        default=8000, ge=1, le=65535, validation_alias=AliasChoices("TEMAPLAN_API_PORT")
    )
    public_rate_per_minute: int = Field(
        default=10,
        ge=1,
        le=10_000,
        validation_alias=AliasChoices("TEMAPLAN_PUBLIC_RATE_PER_MINUTE"),
        description="hearing responses accepted per client address and minute",
    )
    trusted_proxies: str = Field(
        default="",
        validation_alias=AliasChoices("TEMAPLAN_TRUSTED_PROXIES"),
        description="comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For is believed; none by default",
    )
    session_hours: int = Field(
        default=8, ge=1, le=24 * 30, validation_alias=AliasChoices("TEMAPLAN_SESSION_HOURS")
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", validation_alias=AliasChoices("LOG_FORMAT")
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=AliasChoices("LOG_LEVEL")
    )
    revision_month: int = Field(
        default=9,
        ge=1,
        le=12,
        validation_alias=AliasChoices("TEMAPLAN_REVISION_MONTH"),
        description="month of the yearly revision reminder, unless a plan sets its own",
    )
    revision_day: int = Field(
        default=1, ge=1, le=31, validation_alias=AliasChoices("TEMAPLAN_REVISION_DAY")
    )

    log_key_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMAPLAN_LOG_KEY_FILE"),
        description="the log's checkpoint signing key (worker only; `temaplan keys generate`)",
    )
    log_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMAPLAN_LOG_KEY"),
        repr=False,
        description="the signing key's text itself, for secret stores that set variables",
    )
    log_vkey: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMAPLAN_LOG_VKEY"),
        description="the log's public (verifier) key, published by the API",
    )
    witness_keys: str = Field(
        default="",
        validation_alias=AliasChoices("TEMAPLAN_WITNESS_KEYS"),
        description="witnesses' verifier keys (vkeys), separated by spaces or commas",
    )
    checkpoint_interval: float = Field(
        default=300.0,
        ge=1,
        le=86_400,
        validation_alias=AliasChoices("TEMAPLAN_CHECKPOINT_INTERVAL"),
        description="seconds between timed checkpoints when anything was appended",
    )
    front_door_key_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMAPLAN_FRONT_DOOR_KEY_FILE"),
        description="the API's key that attests who sent a decision (`temaplan keys generate`)",
    )
    front_door_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMAPLAN_FRONT_DOOR_KEY"),
        repr=False,
        description="that key's text itself, for secret stores that set variables",
    )
    front_door_vkeys: str = Field(
        default="",
        validation_alias=AliasChoices("TEMAPLAN_FRONT_DOOR_VKEYS"),
        description="the worker: front-door verifier keys it accepts (old and new in a rotation)",
    )
    require_attestation: bool = Field(
        default=False,
        validation_alias=AliasChoices("TEMAPLAN_REQUIRE_ATTESTATION"),
        description="the worker refuses decisions the front door did not attest",
    )

    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(
            ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"'{part.strip()}' is not an address or network (e.g. 10.0.0.5 or "
                        "10.0.0.0/24)"
                    ) from None
        return value

    def revision_date(self) -> RevisionDate:
        return RevisionDate(month=self.revision_month, day=self.revision_day)

    @field_validator(
        "temporal_api_key",
        "database_url",
        "temporal_address",
        "log_key_file",
        "log_key",
        "log_vkey",
        "front_door_key_file",
        "front_door_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes `${TEMPORAL_API_KEY:-}` as an empty string: that is unset.
        return None if value == "" else value


def load_settings() -> Settings:
    return Settings()
