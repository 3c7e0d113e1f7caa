"""Every knob of Abdi, read from the environment (or a .env file) with documented defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "var" / "abdi.db"


class Settings(BaseSettings):
    """Configuration. Secrets (tokens) come only from the environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

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

    telegram_bot_token: str | None = Field(default=None, description="Bot token from @BotFather")
    telegram_api_base: str = Field(
        default="https://api.telegram.org", description="Bot API server (self-hosted possible)"
    )
    telegram_webhook_url: str | None = Field(
        default=None, description="Public HTTPS URL; when set `abdi run` serves a webhook"
    )
    telegram_webhook_secret: str | None = Field(
        default=None, description="Secret checked in X-Telegram-Bot-Api-Secret-Token"
    )
    webhook_host: str = Field(default="0.0.0.0", description="Webhook listen address")
    webhook_port: int = Field(default=8080, description="Webhook listen port")
    webhook_path: str = Field(default="/telegram/webhook", description="Webhook path")
    polling_concurrency: int = Field(default=32, description="Updates handled at once in polling")
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

    whatsapp_token: str | None = Field(
        default=None, description="Cloud API access token (system user token)"
    )
    whatsapp_phone_number_id: str | None = Field(
        default=None, description="Phone number ID that sends and receives"
    )
    whatsapp_app_secret: str | None = Field(
        default=None, description="Meta app secret: checks X-Hub-Signature-256 on webhooks"
    )
    whatsapp_verify_token: str | None = Field(
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

    agency_code: str = Field(default="kota-contoh", description="Default agency (instansi) code")
    agency_name: str = Field(default="Pemerintah Kota Contoh", description="Default agency name")
    agency_timezone: str = Field(default="Asia/Jakarta", description="WIB/WITA/WIT zone name")

    default_locale: str = Field(default="id", description="Language when nothing else is known")
    link_code_ttl_minutes: int = Field(default=60 * 24, description="Life of an HR link code")
    link_code_attempts: int = Field(default=5, description="Wrong codes allowed per chat per hour")
    link_code_agency_failures: int = Field(
        default=30, description="Wrong codes allowed per agency per hour, all chats together"
    )
    max_text_length: int = Field(default=4096, description="Longer inbound text is cut")
    log_level: str = Field(default="INFO", description="Logging level")

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
    telegram_broadcast_rate: float = Field(
        default=25.0,
        gt=0,
        le=1000,
        description="Outbound messages/s per bot (Telegram ~30; paid broadcasts up to 1000)",
    )
    telegram_chat_interval: float = Field(
        default=1.0, ge=0, description="Minimum seconds between two outbound messages to one chat"
    )
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

    @field_validator("agency_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate


@lru_cache
def get_settings() -> Settings:
    return Settings()
