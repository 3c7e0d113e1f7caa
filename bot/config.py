"""Every knob of Abdi, read from the environment (or a .env file) with documented defaults.

The settings are grouped by what they are about: the office's own rules (the domain) apart from
how Abdi is reached and run (storage, the chat platforms, the server, the delivery drain). Each
group is a model of its own, and `Settings` is all of them read at once, so every environment
variable keeps its plain name (FOUR_IN_ONE_NIGHT, not FOUR_IN_ONE__NIGHT) and callers read
`settings.four_in_one_night` wherever they are. Secrets may also come from files, one per setting,
in SECRETS_DIR (Docker and Kubernetes mount them at /run/secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from bot.services.office_hours import parse as parse_office_hours

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "var" / "abdi.db"
DEFAULT_SECRETS_DIR = Path("/run/secrets")
LOCALES = ("id", "en")  # the languages with catalogs under locales/
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


# -- the domain: the office's own rules --------------------------------------------------------


class OfficeSettings(BaseModel):
    """The agency Abdi serves and how people link their accounts."""

    agency_code: str = Field(default="kota-contoh", description="Default agency (instansi) code")
    agency_name: str = Field(default="Pemerintah Kota Contoh", description="Default agency name")
    agency_timezone: str = Field(default="Asia/Jakarta", description="WIB/WITA/WIT zone name")
    default_locale: str = Field(
        default="id", description="Language when nothing else is known: id or en"
    )
    link_code_ttl_minutes: int = Field(default=60 * 24, description="Life of an HR link code")
    link_code_attempts: int = Field(default=5, description="Wrong codes allowed per chat per hour")
    link_code_agency_failures: int = Field(
        default=30, description="Wrong codes allowed per agency per hour, all chats together"
    )
    data_request_hours: int = Field(
        default=72, ge=1, le=24 * 30, description="Hours HR has to answer a personal-data request"
    )

    @field_validator("agency_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"unknown language {value!r}; one of {', '.join(LOCALES)}")
        return value


class FourInOneSettings(BaseModel):
    """The 4-in-1 service for bereaved families: when and where documents are handed over."""

    four_in_one_night: int = Field(
        default=3, ge=1, le=14, description="4-in-1: documents due on this night after the death"
    )
    four_in_one_hour: int = Field(
        default=19, ge=0, le=23, description="4-in-1: local hour of the handover evening"
    )
    four_in_one_place: str = Field(
        default="rumah duka", description="4-in-1: where documents are handed over by default"
    )
    four_in_one_code_attempts: int = Field(
        default=10, description="4-in-1: tracking-code lookups allowed per chat per hour"
    )
    office_hours: str = Field(
        default="Mon-Fri 08:00-16:00",
        description="4-in-1: when the desk answers families' questions, in the agency's zone",
    )

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        parse_office_hours(value)
        return value


class RetentionSettings(BaseModel):
    """How long personal data is kept (UU PDP No. 27/2022: no longer than its purpose needs).

    Each period counts from the moment the row stops being needed (received, used or expired,
    sent, closed, last written), not from its creation. Webhook update ids follow
    DEDUP_TTL_SECONDS. The reasons for each default are in docs/operators.md#data-retention.
    """

    retention_dead_letter_days: int = Field(
        default=30, ge=1, description="Unreadable webhook bodies (phones, message text)"
    )
    retention_early_status_days: int = Field(
        default=2, ge=1, description="WhatsApp statuses that came before their delivery's id"
    )
    retention_delivery_days: int = Field(
        default=90, ge=1, description="Sent deliveries and their parameters, after the last change"
    )
    retention_attachment_days: int = Field(
        default=90, ge=1, description="A broadcast's attached file, after the broadcast ended"
    )
    retention_case_contact_days: int = Field(
        default=90, ge=1, description="4-in-1 family contacts and notes, after the case closed"
    )
    retention_guest_account_days: int = Field(
        default=90, ge=1, description="Chat accounts of non-staff with no case, after last message"
    )
    retention_link_code_days: int = Field(
        default=30, ge=1, description="Link codes, after they were used or expired"
    )
    retention_login_code_days: int = Field(
        default=30, ge=1, description="HR console login codes, after they were used or expired"
    )
    retention_audit_days: int = Field(
        default=5 * 365, ge=365, description="The audit log (kept longest)"
    )
    retention_batch: int = Field(
        default=1000, ge=1, le=50_000, description="Rows one retention step changes at a time"
    )


# -- transport: how Abdi is stored, reached and run ---------------------------------------------


class StorageSettings(BaseModel):
    """The database and the shared state store."""

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_DB}",
        description="SQLAlchemy async URL: SQLite file by default, postgresql+asyncpg:// at scale",
    )
    auto_migrate: bool | None = Field(
        default=None,
        description="Apply pending migrations on start; default: on for SQLite, off otherwise",
    )
    redis_url: str | None = Field(
        default=None, description="Redis for shared state and dedup; in-memory when unset"
    )
    state_ttl_seconds: int = Field(default=24 * 3600, description="Life of a conversation state")
    dedup_ttl_seconds: int = Field(default=48 * 3600, description="How long update ids are kept")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate


class TelegramSettings(BaseModel):
    """The Telegram Bot API."""

    telegram_bot_token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather"
    )
    telegram_api_base: str = Field(
        default="https://api.telegram.org", description="Bot API server (self-hosted possible)"
    )
    telegram_webhook_url: str | None = Field(
        default=None, description="Public HTTPS URL; when set `abdi run` serves a webhook"
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, description="Secret checked in X-Telegram-Bot-Api-Secret-Token"
    )
    polling_concurrency: int = Field(default=32, description="Updates handled at once in polling")
    telegram_broadcast_rate: float = Field(
        default=25.0,
        gt=0,
        le=1000,
        description="Outbound messages/s per bot (Telegram ~30; paid broadcasts up to 1000)",
    )
    telegram_chat_interval: float = Field(
        default=1.0, ge=0, description="Minimum seconds between two outbound messages to one chat"
    )


class WhatsAppSettings(BaseModel):
    """The WhatsApp Cloud API."""

    whatsapp_token: SecretStr | None = Field(
        default=None, description="Cloud API access token (system user token)"
    )
    whatsapp_phone_number_id: str | None = Field(
        default=None, description="Phone number ID that sends and receives"
    )
    whatsapp_business_account_id: str | None = Field(
        default=None,
        description="WhatsApp Business Account ID: lets `abdi doctor` read webhooks and templates",
    )
    whatsapp_app_secret: SecretStr | None = Field(
        default=None, description="Meta app secret: checks X-Hub-Signature-256 on webhooks"
    )
    whatsapp_verify_token: SecretStr | None = Field(
        default=None, description="Token Meta echoes in the webhook verification handshake"
    )
    whatsapp_api_base: str = Field(
        default="https://graph.facebook.com", description="Graph API server (a stand-in in tests)"
    )
    whatsapp_webhook_path: str = Field(default="/whatsapp/webhook", description="Webhook path")
    whatsapp_template_notification: str = Field(
        default="abdi_pemberitahuan",
        description="UTILITY template (id) with one body parameter, used outside the 24 h window",
    )
    whatsapp_template_language: str = Field(default="id", description="Template language code")
    whatsapp_concurrency: int = Field(
        default=32, description="WhatsApp webhook messages handled at once per process"
    )
    whatsapp_per_second: float = Field(
        default=80.0, description="Cloud API throughput per phone number (inbound counts too)"
    )
    whatsapp_per_chat_interval: float = Field(
        default=6.0, description="Seconds between two messages to one user (pair rate)"
    )

    @property
    def whatsapp_configured(self) -> bool:
        """Whether WhatsApp is served: every Cloud API setting it needs is given."""
        return bool(
            self.whatsapp_token
            and self.whatsapp_phone_number_id
            and self.whatsapp_app_secret
            and self.whatsapp_verify_token
        )


class WebConsoleSettings(BaseModel):
    """The HR web console under /hr/ (served by `abdi serve`, and locally by `abdi chat`)."""

    web_console: bool = Field(default=True, description="Serve the HR web console under /hr/")
    web_login_code_minutes: int = Field(
        default=10, ge=1, le=60, description="Life of a console login code sent to the chat"
    )
    web_session_hours: int = Field(
        default=8, ge=1, le=24 * 7, description="A console session ends this long after sign-in"
    )
    web_login_attempts: int = Field(
        default=5, ge=1, description="Wrong login codes allowed per officer per hour"
    )
    web_address_attempts: int = Field(
        default=20, ge=1, description="Sign-in tries allowed per client address per hour"
    )
    web_chat_port: int = Field(
        default=8090, description="Port of the console `abdi chat` serves locally; 0: none"
    )
    web_max_upload_mb: int = Field(
        default=10, ge=1, le=200, description="Largest roster file the console accepts"
    )


class ServerSettings(BaseModel):
    """The process: its web server (webhooks, health), logs and limits on what comes in."""

    webhook_host: str = Field(default="0.0.0.0", description="Webhook listen address")
    webhook_port: int = Field(default=8080, description="Webhook listen port")
    webhook_path: str = Field(default="/telegram/webhook", description="Webhook path")
    health_host: str = Field(
        default="127.0.0.1", description="Where `abdi run` (polling) and `abdi worker` serve health"
    )
    health_port: int = Field(
        default=8081, description="Health port of `abdi run` (polling) and `abdi worker`; 0: none"
    )
    ready_max_backlog: int = Field(
        default=10_000, description="/readyz fails when more deliveries than this wait past due"
    )
    ready_max_uncertain: int = Field(
        default=100, description="/readyz fails when more deliveries than this are uncertain"
    )
    max_text_length: int = Field(default=4096, description="Longer inbound text is cut")
    log_level: LogLevel = Field(
        default="INFO", description="Logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL"
    )
    secrets_dir: Path | None = Field(
        default=None,
        description="Directory of secret files named like the settings (telegram_bot_token...); "
        "default: /run/secrets when it exists",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("secrets_dir")
    @classmethod
    def _secrets_dir_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"not a directory: {value}")
        return value


class DeliverySettings(BaseModel):
    """The drain that sends recorded outbound messages."""

    delivery_max_attempts: int = Field(
        default=8, ge=1, description="Tries per message before it is marked failed"
    )
    delivery_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A claim older than this belongs to a dead process and is recovered",
    )
    delivery_uncertain_policy: Literal["hold", "resend"] = Field(
        default="hold",
        description="Messages in flight when a process died: hold (list for HR) or resend",
    )
    delivery_batch: int = Field(default=200, ge=1, description="Rows one drain claims at a time")
    delivery_concurrency: int = Field(
        default=32, ge=1, description="Requests one drain keeps in flight"
    )
    delivery_in_process: bool = Field(
        default=True, description="`abdi run` drains deliveries itself (off: use `abdi worker`)"
    )


def secrets_dir() -> Path | None:
    """Where secret files are read from: SECRETS_DIR, else /run/secrets when it exists."""
    configured = os.environ.get("SECRETS_DIR")
    if configured:
        return Path(configured)
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


class Settings(
    BaseSettings,
    OfficeSettings,
    FourInOneSettings,
    RetentionSettings,
    StorageSettings,
    TelegramSettings,
    WhatsAppSettings,
    ServerSettings,
    WebConsoleSettings,
    DeliverySettings,
):
    """Configuration: the environment first, then .env, then secret files, then defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if isinstance(file_secret_settings, SecretsSettingsSource) and (
            file_secret_settings.secrets_dir is not None  # Settings(_secrets_dir=...)
        ):
            return init_settings, env_settings, dotenv_settings, file_secret_settings
        folder = secrets_dir()
        if folder is None or not folder.is_dir():
            # A configured folder that is missing is reported by the SECRETS_DIR field's check.
            return init_settings, env_settings, dotenv_settings
        secrets = SecretsSettingsSource(settings_cls, secrets_dir=folder)
        return init_settings, env_settings, dotenv_settings, secrets


def reveal(secret: SecretStr | None) -> str:
    """A secret's text where it is used (a request header, a signature check); "" when unset."""
    return secret.get_secret_value() if secret is not None else ""
