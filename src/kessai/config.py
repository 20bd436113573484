"""Settings: one pydantic-settings class, `KESSAI_` variables, built once and passed down."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kessai.kit.registration import is_registration_number
from kessai.kit.zengin_chars import to_zengin


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
        default=None,
        description="The card acquirer of production-mode merchants (this distribution's "
        "acquirer_sim API); without it their card telegrams answer P007",
    )
    acquirer_timeout: float = Field(
        default=10.0, description="Seconds before an acquirer call is unknown"
    )
    threads: int = Field(
        default=4,
        ge=1,
        description="Telegrams worked on at once per server process: request threads, and on "
        "PostgreSQL the card telegrams running on the event loop",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has to send a request's line and headers, from the "
        "connection (after TLS) or the previous answer; then the connection is closed",
    )
    body_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a client has to send a request's whole body after its headers",
    )
    connections_per_client: int = Field(
        default=50,
        ge=0,
        description="Open connections one client address may hold per server process; more are "
        "answered 429 and closed (0: no limit; behind a proxy every client is the proxy)",
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
    notify_in_flight: int = Field(
        default=8,
        ge=1,
        description="Notices of one merchant one worker pushes at once, each of another payment "
        "(a payment's notices still go one after another, in order)",
    )
    file_lanes: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description="Chunks of files (ファイル決済) one worker runs at once, each lane a thread of "
        "its own; on PostgreSQL a lane runs its chunk's lines 16 at a time with their commits "
        "grouped. Default 1: on 2 cores more lanes took the telegrams' time (bench/README)",
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
    payout_requester_code: str | None = Field(
        default=None,
        description="依頼人コード (委託者コード): the 10 digits the operator's bank assigned for "
        "総合振込; needed to write the payout bank file",
    )
    payout_requester_name: str | None = Field(
        default=None,
        description="依頼人名: the operator's name in kana as the bank has it (at most 40 "
        "half-width characters; full-width kana are made half-width)",
    )
    payout_source_account: str | None = Field(
        default=None,
        description="The account payouts are paid from, BANK-BRANCH-TYPE-NUMBER "
        "(e.g. 0001-001-1-1234567; type 1 普通 or 2 当座)",
    )
    invoice_issuer_name: str = Field(
        default="Kessai",
        description="The operator's name as payout statements (qualified invoices) print it",
    )
    invoice_registration_number: str | None = Field(
        default=None,
        description="Kessai's qualified-invoice issuer registration number (適格請求書発行事業者"
        "登録番号): T and 13 digits, check digit verified; printed on every statement",
    )
    minimum_payout: int = Field(
        default=1,
        ge=1,
        description="Yen: a statement whose balance is below this pays nothing and carries the "
        "balance forward to the next statement",
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or json: one JSON object per line with the request id"
    )

    @field_validator("invoice_registration_number")
    @classmethod
    def _registration_number(cls, value: str | None) -> str | None:
        if value is not None and not is_registration_number(value):
            raise ValueError(
                "KESSAI_INVOICE_REGISTRATION_NUMBER must be T and 13 digits with a valid check "
                "digit (e.g. T7000012050002)"
            )
        return value

    @field_validator("payout_requester_code")
    @classmethod
    def _requester_code(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9]{10}", value, re.ASCII):
            raise ValueError("the 依頼人コード is 10 digits")
        return value

    @field_validator("payout_requester_name")
    @classmethod
    def _requester_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        kana = to_zengin(value).strip()
        if not 0 < len(kana) <= 40:
            raise ValueError("the 依頼人名 is 1 to 40 half-width characters")
        return kana

    @field_validator("payout_source_account")
    @classmethod
    def _source_account(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
            r"[0-9]{4}-[0-9]{3}-[12]-[0-9]{7}", value, re.ASCII
        ):
            raise ValueError(
                "the payout source account is BANK-BRANCH-TYPE-NUMBER, type 1 (普通) or 2 (当座)"
            )
        return value

    @property
    def var_dir(self) -> Path:
        return self.home / "var"

    def resolved_file_lanes(self) -> int:
        """`file_lanes`, or its default (1)."""
        if self.file_lanes is not None:
            return self.file_lanes
        return 1

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'kessai.db').resolve()}"
