"""Settings: one pydantic-settings class, `KESSAI_` variables, built once and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything Kessai reads from its environment. The defaults run the demo with no configuration."""

    model_config = SettingsConfigDict(
        env_prefix="KESSAI_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default=Path("."), description="Where var/ (database, keys, CA) lives")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file var/kessai.db under home"
    )
    master_key: SecretStr | None = Field(
        default=None, description="Base64 32-byte master key for the card vault; default: key file"
    )
    fingerprint_key: SecretStr | None = Field(
        default=None,
        description="Base64 32-byte key for card fingerprints; default: var/keys/fingerprint.key. "
        "Every instance must share it.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Server secret for credential hashes; default: var/keys/secret.key",
    )
    public_url: str | None = Field(default=None, description="Base URL buyers and merchants see")
    acquirer_url: str | None = Field(
        default=None, description="Card acquirer simulator for production-mode merchants"
    )
    acquirer_timeout: float = Field(
        default=10.0, description="Seconds before an acquirer call is unknown"
    )
    threads: int = Field(
        default=4, ge=1, description="Request threads per server process (telegram work)"
    )
    notify_timeout: float = Field(
        default=10.0, gt=0, description="Seconds before a notice push (§1.6) counts as failed"
    )
    notify_retry_hours: float = Field(
        default=72.0, gt=0, description="Hours a notice push is retried before it is failed"
    )
    notify_lease_seconds: float = Field(
        default=60.0, gt=0, description="How long a worker owns a notice it is pushing"
    )
    notify_concurrency: int = Field(
        default=8, ge=1, description="Merchants served at once by one worker's notice pushes"
    )
    notice_retention_days: int = Field(
        default=30, ge=7, description="Days delivered notices stay readable by 091 (PAYGENT: 7)"
    )
    slip_font: Path | None = Field(
        default=None,
        description="TrueType Japanese font embedded in payment slip PDFs; default: IPAex Gothic "
        "or IPA Gothic where Debian installs them (fonts-ipaexfont-gothic), else a font name "
        "the viewer resolves",
    )
    console_certificates: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="Console client certificates: auto = required when served over TLS or behind "
        "a proxy header, off on plain HTTP (development only); required; off",
    )
    console_idle_minutes: int = Field(
        default=15, ge=1, le=15, description="Console sessions end after this many idle minutes"
    )
    console_lockout_failures: int = Field(
        default=5, ge=1, description="Failed console sign-ins that lock a user"
    )
    console_lockout_minutes: int = Field(
        default=30, ge=1, description="How long a locked console user stays locked"
    )
    console_cert_header: str | None = Field(
        default=None,
        description="Behind a TLS-terminating proxy: the header carrying the verified client "
        "certificate (URL-encoded PEM, nginx $ssl_client_escaped_cert), e.g. X-SSL-Client-Cert",
    )
    console_trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (JSON list) whose console_cert_header is believed",
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or json: one JSON object per line with the request id"
    )

    @property
    def var_dir(self) -> Path:
        return self.home / "var"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'kessai.db').resolve()}"
