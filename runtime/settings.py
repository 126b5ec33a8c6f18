"""All configuration, from environment variables only (the same names docker-compose sets)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import AliasChoices, AliasGenerator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.plan import RevisionDate


def _variable(field: str) -> AliasChoices:
    """The environment variable of a setting that names none of its own: TEMAPLAN_ and
    the field's name in capitals. Those that name their own (DATABASE_URL, TEMPORAL_*,
    LOG_*) keep the names other tools and images already use."""
    return AliasChoices(f"TEMAPLAN_{field.upper()}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, alias_generator=AliasGenerator(validation_alias=_variable)
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL"),
        description="PostgreSQL for the event store; unset means the embedded pgserver",
    )
    database_password_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_PASSWORD_FILE"),
        description="a file (compose secret) holding DATABASE_URL's password",
    )
    data_dir: Path = Field(
        default=Path(".data"),
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
    temporal_api_key_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_API_KEY_FILE"),
        description="a file (compose secret) holding TEMPORAL_API_KEY",
    )
    api_host: str = Field(
        default="127.0.0.1",
        description="where the HTTP API and web page listen (0.0.0.0 in a container)",
    )
    api_port: int = Field(default=8000, ge=1, le=65535)
    public_rate_per_minute: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="hearing responses accepted per client address and minute",
    )
    hearing_responses_per_second: float = Field(
        default=100,
        ge=0,
        le=100_000,
        description="public hearing responses one API process writes to one plan's record "
        "a second, the rest waiting their turn (0: no pace); keeps a flood from taking the "
        "machine from the people deciding",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For is believed; none by default",
    )
    session_hours: int = Field(default=8, ge=1, le=24 * 30)
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", validation_alias=AliasChoices("LOG_FORMAT")
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=AliasChoices("LOG_LEVEL")
    )
    workflow_cache: int = Field(
        default=250,
        ge=0,
        le=100_000,
        description="plan workflows a worker keeps in memory; the others replay when they move",
    )
    revision_month: int = Field(
        default=9,
        ge=1,
        le=12,
        description="month of the yearly revision reminder, unless a plan sets its own",
    )
    revision_day: int = Field(default=1, ge=1, le=31)

    log_key_file: Path | None = Field(
        default=None,
        description="the log's checkpoint signing key (worker only; `temaplan keys generate`)",
    )
    log_key: str | None = Field(
        default=None,
        repr=False,
        description="the signing key's text itself, for secret stores that set variables",
    )
    log_vkey: str | None = Field(
        default=None,
        description="the log's public (verifier) key, published by the API",
    )
    witness_keys: str = Field(
        default="",
        description="witnesses' verifier keys (vkeys), separated by spaces or commas",
    )
    checkpoint_interval: float = Field(
        default=300.0,
        ge=1,
        le=86_400,
        description="seconds between timed checkpoints when anything was appended",
    )
    # Login with the municipality's identity provider (OpenID Connect), beside the tokens.
    oidc_issuer: str | None = Field(
        default=None,
        description="the provider's issuer URL; unset: no login with an identity provider",
    )
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_client_secret_file: Path | None = Field(
        default=None,
        description="the client secret from a file (a compose or Kubernetes secret)",
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="the callback as registered at the provider; unset: this host's "
        "/login/oidc/callback as the request reached it",
    )
    oidc_person_claim: str = Field(
        default="preferred_username",
        description="the ID token's claim that names the person",
    )
    oidc_match: Literal["id", "email"] = Field(
        default="id",
        description="the claim's value is the participant id, or a participant's email",
    )
    oidc_municipality_claim: str | None = Field(
        default=None,
        description="a claim listing the person's municipalities (kommunenummer)",
    )
    oidc_municipalities: str = Field(
        default="",
        description="the municipalities of everyone this provider logs in (its own "
        "municipality's), when it sends no such claim",
    )
    oidc_roles_claim: str = Field(
        default="roles",
        description="a claim whose values temaplan.admin or temaplan.auditor make the "
        "person an administrator or an auditor",
    )

    # Notifications by e-mail: the relay sends the outbox over SMTP (README, "E-mail").
    smtp_host: str | None = Field(
        default=None,
        description="the mail server; unset: nothing is mailed, the web inbox still shows it",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = Field(
        default=True,
        description="require STARTTLS before logging in and sending (off only for a local relay)",
    )
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_password_file: Path | None = Field(
        default=None,
        description="a file (compose secret) holding TEMAPLAN_SMTP_PASSWORD",
    )
    smtp_from: str | None = Field(
        default=None,
        description="the sender of the notifications; unset: temaplan <noreply@PUBLIC_URL's host>",
    )
    smtp_max_attempts: int = Field(
        default=12,
        ge=1,
        le=100,
        description="attempts per notification (back-off 30 s doubling to 1 h) before failed",
    )
    public_url: str | None = Field(
        default=None,
        description="the web page's address as people reach it, for links in e-mails; "
        "unset: http://TEMAPLAN_API_HOST:TEMAPLAN_API_PORT",
    )

    def web_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    def mail_sender(self) -> str:
        host = urlsplit(self.web_url()).hostname or "localhost"
        return self.smtp_from or f"temaplan <noreply@{host}>"

    def oidc_secret(self) -> str | None:
        if self.oidc_client_secret_file is not None:
            return self.oidc_client_secret_file.read_text("utf-8").strip()
        return self.oidc_client_secret

    @model_validator(mode="after")
    def _secrets_from_files(self) -> Settings:
        # Secrets come as files (compose secrets, /run/secrets/...), never in the compose
        # file or the environment; read once here, so nothing else knows the difference.
        if self.database_password_file is not None:
            if not self.database_url:
                raise ValueError("DATABASE_PASSWORD_FILE is set but DATABASE_URL is not")
            password = _secret(self.database_password_file, "DATABASE_PASSWORD_FILE")
            object.__setattr__(self, "database_url", _with_password(self.database_url, password))
        if self.temporal_api_key_file is not None:
            key = _secret(self.temporal_api_key_file, "TEMPORAL_API_KEY_FILE")
            object.__setattr__(self, "temporal_api_key", key)
        if self.smtp_password_file is not None:
            password = _secret(self.smtp_password_file, "TEMAPLAN_SMTP_PASSWORD_FILE")
            object.__setattr__(self, "smtp_password", password)
        return self

    front_door_key_file: Path | None = Field(
        default=None,
        description="the API's key that attests who sent a decision (`temaplan keys generate`)",
    )
    front_door_key: str | None = Field(
        default=None,
        repr=False,
        description="that key's text itself, for secret stores that set variables",
    )
    front_door_vkeys: str = Field(
        default="",
        description="the worker: front-door verifier keys it accepts (old and new in a rotation)",
    )
    require_attestation: bool = Field(
        default=False,
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
        "database_password_file",
        "temporal_api_key_file",
        "oidc_issuer",
        "oidc_client_id",
        "oidc_client_secret",
        "oidc_client_secret_file",
        "oidc_redirect_url",
        "oidc_municipality_claim",
        "front_door_key_file",
        "front_door_key",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "smtp_password_file",
        "smtp_from",
        "public_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes `${TEMPORAL_API_KEY:-}` as an empty string: that is unset.
        return None if value == "" else value


def _secret(path: Path, variable: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{variable}: cannot read {path}: {exc.strerror}") from None
    if not value:
        raise ValueError(f"{variable}: {path} is empty")
    return value


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        raise ValueError("DATABASE_URL names no user (postgresql://USER@HOST/DB) for the password")
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def load_settings() -> Settings:
    return Settings()
