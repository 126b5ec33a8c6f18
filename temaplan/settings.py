"""All configuration, from environment variables only (the same names docker-compose sets)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
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

    def revision_date(self) -> RevisionDate:
        return RevisionDate(month=self.revision_month, day=self.revision_day)


def load_settings() -> Settings:
    return Settings()
