"""`abdi doctor`'s checks: the configuration and every service it names, each tried for real.

Each check answers with a status, what it found and what to do, in the operator's language. A
channel that is not configured is reported as such, not as a failure: a deployment may use only
Telegram, only WhatsApp, or only the console.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import dates
from bot.app import short
from bot.config import Settings, reveal
from bot.i18n import Translator
from storage import db
from storage.models import NAME_TRIGRAM_INDEX, Agency

TIMEOUT = 10.0  # seconds one service may take to answer before it counts as unreachable
PENDING_UPDATES_WARN = 100  # Telegram updates waiting: the bot is down or too slow


class Status(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    OFF = "off"  # not configured: neither good nor bad


@dataclass(frozen=True)
class Check:
    name: str  # ops.check.<name> in the catalogs
    status: Status
    finding: str
    advice: str = ""


def masked(url: str) -> str:
    """A service URL fit to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "?"


class Doctor:
    """Runs the checks in order; `t` words the findings in the operator's language."""

    def __init__(self, settings: Settings, t: Translator, min_free_mb: int) -> None:
        self.settings, self.t, self.min_free_mb = settings, t, min_free_mb
        self.checks: list[Check] = []

    def add(self, check: str, status: Status, finding: str, advice: str = "") -> None:
        self.checks.append(Check(check, status, finding, advice))

    async def run(self) -> list[Check]:
        await self.database()
        self.time_zone()
        await self.redis()
        await self.telegram()
        await self.whatsapp()
        self.disk()
        return self.checks

    # -- storage --------------------------------------------------------------------------

    async def database(self) -> None:
        url = masked(self.settings.database_url)
        try:
            parsed = make_url(self.settings.database_url)
            if parsed.get_backend_name() == "sqlite" and not self._sqlite_exists(parsed.database):
                self.add(
                    "database",
                    Status.WARN,
                    self.t("ops.db.new_file", url=url),
                    self.t("ops.db.new_file_do"),
                )
                return
            engine = db.create_engine(self.settings.database_url, pool_size=1)
        except (ArgumentError, NoSuchModuleError, ValueError, OSError) as exc:
            self.add(
                "database",
                Status.FAIL,
                self.t("ops.db.bad_url", url=url, detail=short(exc)),
                self.t("ops.db.bad_url_do"),
            )
            return
        try:
            async with asyncio.timeout(TIMEOUT), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            self.add("database", Status.OK, self.t("ops.db.ok", url=url))
            await self.migrations(engine)
        except (DBAPIError, OSError, ConnectionError, TimeoutError) as exc:
            self.add(
                "database",
                Status.FAIL,
                self.t("ops.db.down", url=url, detail=short(exc)),
                self.t("ops.db.down_do"),
            )
        finally:
            await engine.dispose()

    @staticmethod
    def _sqlite_exists(database: str | None) -> bool:
        # Connecting would create an empty file: say it is new instead.
        return not database or database == ":memory:" or Path(database).exists()

    async def migrations(self, engine: AsyncEngine) -> None:
        current, head = await db.revisions(engine)
        current_, head_ = current or "-", head or "-"
        behind = self.t("ops.migrations.behind", current=current_, head=head_)
        if current == head:
            self.add("migrations", Status.OK, self.t("ops.migrations.ok", current=current_))
        elif self.settings.should_migrate:
            self.add(
                "migrations",
                Status.WARN,
                behind,
                self.t("ops.migrations.auto_do"),
            )
        else:
            self.add(
                "migrations",
                Status.FAIL,
                behind,
                self.t("ops.migrations.upgrade_do"),
            )
        if current is not None:
            await self.agency_zones(engine)
        if current == head and engine.dialect.name == "postgresql":
            await self.name_search(engine)

    async def name_search(self, engine: AsyncEngine) -> None:
        """The roster's trigram index: migration 0018 goes on without it where the role may not
        create pg_trgm, and then every name search reads the whole roster."""
        try:
            async with engine.connect() as conn:
                found = await conn.scalar(
                    text("SELECT 1 FROM pg_indexes WHERE indexname = :name"),
                    {"name": NAME_TRIGRAM_INDEX},
                )
        except SQLAlchemyError:
            return  # the database check above already says what is wrong
        if found:
            self.add("name_search", Status.OK, self.t("ops.name_search.ok"))
        else:
            self.add(
                "name_search",
                Status.WARN,
                self.t("ops.name_search.missing", index=NAME_TRIGRAM_INDEX),
                self.t("ops.name_search.missing_do"),
            )

    async def agency_zones(self, engine: AsyncEngine) -> None:
        """Every agency's own zone (stored per agency): a bad one breaks its dates and jobs."""
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(Agency.code, Agency.timezone))).all()
        except SQLAlchemyError:
            return  # an old schema: the migration row already says what to do
        for code, zone in rows:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                self.add(
                    "time_zone",
                    Status.FAIL,
                    self.t("ops.zone.agency_bad", agency=code, zone=zone),
                    self.t("ops.zone.agency_do"),
                )

    def time_zone(self) -> None:
        zone = self.settings.agency_timezone  # checked when the settings were read
        now = dates.moment(datetime.now(UTC), zone, self.t)
        self.add("time_zone", Status.OK, self.t("ops.zone.ok", zone=zone, now=now))

    async def redis(self) -> None:
        if not self.settings.redis_url:
            self.add("redis", Status.OFF, self.t("ops.redis.off"))
            return
        url = masked(self.settings.redis_url)
        client = Redis.from_url(
            self.settings.redis_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        try:
            await client.ping()
            self.add("redis", Status.OK, self.t("ops.redis.ok", url=url))
        except Exception as exc:  # redis raises several unrelated types for refusals and URLs
            self.add(
                "redis",
                Status.FAIL,
                self.t("ops.redis.down", url=url, detail=short(exc)),
                self.t("ops.redis.down_do"),
            )
        finally:
            await client.aclose()

    def disk(self) -> None:
        parsed = make_url(self.settings.database_url)
        if parsed.get_backend_name() != "sqlite" or not parsed.database:
            return
        folder = Path(parsed.database).resolve().parent
        while not folder.exists():  # not created yet: the disk it will be on
            folder = folder.parent
        free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
        if free_mb < self.min_free_mb:
            low = self.t("ops.disk.low", folder=str(folder), free=free_mb, min=self.min_free_mb)
            self.add("disk", Status.WARN, low, self.t("ops.disk.low_do"))
        else:
            self.add("disk", Status.OK, self.t("ops.disk.ok", folder=str(folder), free=free_mb))

    # -- channels -------------------------------------------------------------------------

    async def telegram(self) -> None:
        if not self.settings.telegram_bot_token:
            self.add("telegram", Status.OFF, self.t("ops.telegram.off"))
            return
        from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

        from bot.channels.telegram import make_bot

        bot = make_bot(self.settings)
        try:
            me = await bot.get_me(request_timeout=int(TIMEOUT))
            self.add(
                "telegram", Status.OK, self.t("ops.telegram.ok", username=me.username or me.id)
            )
            info = await bot.get_webhook_info(request_timeout=int(TIMEOUT))
        except TelegramUnauthorizedError:
            self.add(
                "telegram",
                Status.FAIL,
                self.t("ops.telegram.unauthorized"),
                self.t("ops.telegram.unauthorized_do"),
            )
            return
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            self.add(
                "telegram",
                Status.FAIL,
                self.t(
                    "ops.telegram.down", base=self.settings.telegram_api_base, detail=short(exc)
                ),
                self.t("ops.telegram.down_do"),
            )
            return
        finally:
            await bot.session.close()
        self.webhook(
            info.url, info.pending_update_count, info.last_error_message, info.last_error_date
        )

    def webhook(
        self, actual: str, pending: int, error: str | None, error_at: datetime | None
    ) -> None:
        wanted = self.settings.telegram_webhook_url
        if wanted and actual and actual != wanted:
            self.add(
                "telegram_webhook",
                Status.FAIL,
                self.t("ops.webhook.other", actual=actual, wanted=wanted),
                self.t("ops.webhook.other_do"),
            )
        elif wanted and not actual:
            self.add(
                "telegram_webhook",
                Status.WARN,
                self.t("ops.webhook.unset", wanted=wanted),
                self.t("ops.webhook.unset_do"),
            )
        elif not wanted and actual:
            self.add(
                "telegram_webhook",
                Status.WARN,
                self.t("ops.webhook.polling_set", actual=actual),
                self.t("ops.webhook.polling_set_do"),
            )
        elif wanted:
            self.add(
                "telegram_webhook", Status.OK, self.t("ops.webhook.ok", url=wanted, pending=pending)
            )
        else:
            self.add("telegram_webhook", Status.OK, self.t("ops.webhook.polling"))
        if error:
            when = dates.moment(error_at, self.settings.agency_timezone, self.t) if error_at else ""
            self.add(
                "telegram_webhook",
                Status.WARN,
                self.t("ops.webhook.error", error=error, when=when),
                self.t("ops.webhook.error_do"),
            )
        if pending > PENDING_UPDATES_WARN:
            self.add(
                "telegram_webhook",
                Status.WARN,
                self.t("ops.webhook.backlog", pending=pending),
                self.t("ops.webhook.backlog_do"),
            )

    async def whatsapp(self) -> None:
        token, phone = self.settings.whatsapp_token, self.settings.whatsapp_phone_number_id
        if not token and not phone:
            self.add("whatsapp", Status.OFF, self.t("ops.whatsapp.off"))
            return
        if not (token and phone):
            self.add(
                "whatsapp", Status.FAIL, self.t("ops.whatsapp.half"), self.t("ops.whatsapp.half_do")
            )
            return
        from pywa.utils import Version

        base = f"{self.settings.whatsapp_api_base.rstrip('/')}/v{Version.GRAPH_API}"
        headers = {"Authorization": f"Bearer {reveal(token)}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=TIMEOUT) as graph:
            if await self.phone_number(graph, phone):
                await self.business_account(graph)

    async def _get(self, graph: httpx.AsyncClient, path: str, **params: str) -> Graph:
        try:
            response = await graph.get(path, params=params)
        except httpx.HTTPError as exc:
            return Graph(None, 0, short(exc))
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        if response.is_success and isinstance(body, dict):
            return Graph(body, 0, "")
        code = int(error.get("code") or 0) if isinstance(error, dict) else 0
        message = str(error.get("message")) if isinstance(error, dict) else response.reason_phrase
        return Graph(None, code or response.status_code, message[:200])

    async def phone_number(self, graph: httpx.AsyncClient, phone: str) -> bool:
        fields = "display_phone_number,verified_name,quality_rating"
        answer = await self._get(graph, f"/{phone}", fields=fields)
        if answer.body is not None:
            self.add(
                "whatsapp",
                Status.OK,
                self.t(
                    "ops.whatsapp.ok",
                    number=answer.body.get("display_phone_number", phone),
                    name=answer.body.get("verified_name", "-"),
                    quality=answer.body.get("quality_rating", "-"),
                ),
            )
            return True
        if answer.code in (190, 401):  # OAuthException: the token is expired or wrong
            self.add(
                "whatsapp",
                Status.FAIL,
                self.t("ops.whatsapp.token", detail=answer.message),
                self.t("ops.whatsapp.token_do"),
            )
        elif answer.code in (100, 400, 404):
            self.add(
                "whatsapp",
                Status.FAIL,
                self.t("ops.whatsapp.phone", phone=phone, detail=answer.message),
                self.t("ops.whatsapp.phone_do"),
            )
        else:
            self.add(
                "whatsapp",
                Status.FAIL,
                self.t(
                    "ops.whatsapp.down", base=self.settings.whatsapp_api_base, detail=answer.message
                ),
                self.t("ops.whatsapp.down_do"),
            )
        return False

    async def business_account(self, graph: httpx.AsyncClient) -> None:
        waba = self.settings.whatsapp_business_account_id
        template = self.settings.whatsapp_template_notification
        if not waba:
            self.add(
                "whatsapp_webhook",
                Status.WARN,
                self.t("ops.waba.unset"),
                self.t("ops.waba.unset_do"),
            )
            return
        apps = await self._get(graph, f"/{waba}/subscribed_apps")
        if apps.body is None:
            self.add(
                "whatsapp_webhook",
                Status.WARN,
                self.t("ops.waba.unreadable", waba=waba, detail=apps.message),
                self.t("ops.waba.unreadable_do"),
            )
            return
        names = [
            str((item.get("whatsapp_business_api_data") or {}).get("name") or "?")
            for item in apps.body.get("data") or []
        ]
        if names:
            self.add(
                "whatsapp_webhook", Status.OK, self.t("ops.waba.subscribed", apps=", ".join(names))
            )
        else:
            self.add(
                "whatsapp_webhook",
                Status.FAIL,
                self.t("ops.waba.unsubscribed", waba=waba),
                self.t("ops.waba.unsubscribed_do", waba=waba),
            )
        found = await self._get(graph, f"/{waba}/message_templates", name=template)
        if found.body is None:
            self.add(
                "whatsapp_template",
                Status.WARN,
                self.t("ops.template.unreadable", detail=found.message),
                self.t("ops.waba.unreadable_do"),
            )
            return
        language = self.settings.whatsapp_template_language
        matches = [t for t in found.body.get("data") or [] if t.get("name") == template]
        ours = [t for t in matches if t.get("language") == language] or matches
        if not ours:
            self.add(
                "whatsapp_template",
                Status.FAIL,
                self.t("ops.template.missing", name=template, language=language),
                self.t("ops.template.missing_do", name=template),
            )
        elif ours[0].get("status") != "APPROVED":
            self.add(
                "whatsapp_template",
                Status.FAIL,
                self.t(
                    "ops.template.not_approved", name=template, status=ours[0].get("status", "?")
                ),
                self.t("ops.template.not_approved_do"),
            )
        else:
            self.add(
                "whatsapp_template",
                Status.OK,
                self.t(
                    "ops.template.ok", name=template, language=ours[0].get("language", language)
                ),
            )


@dataclass(frozen=True)
class Graph:
    """One Graph API answer: its body when it succeeded, else the error code and message."""

    body: dict[str, Any] | None
    code: int
    message: str


async def diagnose(settings: Settings, t: Translator, min_free_mb: int) -> list[Check]:
    return await Doctor(settings, t, min_free_mb).run()
