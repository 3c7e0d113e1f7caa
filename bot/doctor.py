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
from typing import Any
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import dates
from bot.config import Settings, reveal
from bot.i18n import Translator
from storage import db
from storage.models import Agency

TIMEOUT = 10.0  # seconds one service may take to answer before it counts as unreachable
PENDING_UPDATES_WARN = 100  # Telegram updates waiting: the bot is down or too slow


class Status(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    OFF = "off"  # not configured: neither good nor bad


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    finding: str
    advice: str = ""


def masked(url: str) -> str:
    """A service URL fit to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "?"


def short(exc: BaseException) -> str:
    """The first line of an error, without any secret the settings hold."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


class Doctor:
    """Runs the checks in order; `t` words the findings in the operator's language."""

    def __init__(self, settings: Settings, t: Translator, min_free_mb: int) -> None:
        self.settings, self.t, self.min_free_mb = settings, t, min_free_mb
        self.checks: list[Check] = []

    def add(
        self, check: str, status: Status, finding: str, advice: str = "", /, **params: object
    ) -> None:
        t = self.t
        self.checks.append(
            Check(
                t(f"ops.check.{check}"),
                status,
                t(finding, **params),
                t(advice, **params) if advice else "",
            )
        )

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
                self.add("database", Status.WARN, "ops.db.new_file", "ops.db.new_file_do", url=url)
                return
            engine = db.create_engine(self.settings.database_url, pool_size=1)
        except (ArgumentError, NoSuchModuleError, ValueError, OSError) as exc:
            self.add("database", Status.FAIL, "ops.db.bad_url", "ops.db.bad_url_do", url=url,
                     detail=short(exc))  # fmt: skip
            return
        try:
            async with asyncio.timeout(TIMEOUT), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            self.add("database", Status.OK, "ops.db.ok", url=url)
            await self.migrations(engine)
        except (DBAPIError, OSError, ConnectionError, TimeoutError) as exc:
            self.add("database", Status.FAIL, "ops.db.down", "ops.db.down_do", url=url,
                     detail=short(exc))  # fmt: skip
        finally:
            await engine.dispose()

    @staticmethod
    def _sqlite_exists(database: str | None) -> bool:
        # Connecting would create an empty file: say it is new instead.
        return not database or database == ":memory:" or Path(database).exists()

    async def migrations(self, engine: AsyncEngine) -> None:
        current, head = await db.revisions(engine)
        params = {"current": current or "-", "head": head or "-"}
        if current == head:
            self.add("migrations", Status.OK, "ops.migrations.ok", **params)
        elif self.settings.should_migrate:
            self.add("migrations", Status.WARN, "ops.migrations.behind",
                     "ops.migrations.auto_do", **params)  # fmt: skip
        else:
            self.add("migrations", Status.FAIL, "ops.migrations.behind",
                     "ops.migrations.upgrade_do", **params)  # fmt: skip
        if current is not None:
            await self.agency_zones(engine)

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
                self.add("time_zone", Status.FAIL, "ops.zone.agency_bad", "ops.zone.agency_do",
                         agency=code, zone=zone)  # fmt: skip

    def time_zone(self) -> None:
        zone = self.settings.agency_timezone  # checked when the settings were read
        now = dates.moment(datetime.now(UTC), zone, self.t)
        self.add("time_zone", Status.OK, "ops.zone.ok", zone=zone, now=now)

    async def redis(self) -> None:
        if not self.settings.redis_url:
            self.add("redis", Status.OFF, "ops.redis.off")
            return
        url = masked(self.settings.redis_url)
        client = Redis.from_url(
            self.settings.redis_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        try:
            await client.ping()
            self.add("redis", Status.OK, "ops.redis.ok", url=url)
        except Exception as exc:  # redis raises several unrelated types for refusals and URLs
            self.add("redis", Status.FAIL, "ops.redis.down", "ops.redis.down_do", url=url,
                     detail=short(exc))  # fmt: skip
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
        params = {"folder": str(folder), "free": free_mb, "min": self.min_free_mb}
        if free_mb < self.min_free_mb:
            self.add("disk", Status.WARN, "ops.disk.low", "ops.disk.low_do", **params)
        else:
            self.add("disk", Status.OK, "ops.disk.ok", **params)

    # -- channels -------------------------------------------------------------------------

    async def telegram(self) -> None:
        if not self.settings.telegram_bot_token:
            self.add("telegram", Status.OFF, "ops.telegram.off")
            return
        from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

        from bot.channels.telegram import make_bot

        bot = make_bot(self.settings)
        try:
            me = await bot.get_me(request_timeout=int(TIMEOUT))
            self.add("telegram", Status.OK, "ops.telegram.ok", username=me.username or me.id)
            info = await bot.get_webhook_info(request_timeout=int(TIMEOUT))
        except TelegramUnauthorizedError:
            self.add("telegram", Status.FAIL, "ops.telegram.unauthorized",
                     "ops.telegram.unauthorized_do")  # fmt: skip
            return
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            self.add("telegram", Status.FAIL, "ops.telegram.down", "ops.telegram.down_do",
                     base=self.settings.telegram_api_base, detail=short(exc))  # fmt: skip
            return
        finally:
            await bot.session.close()
        self.webhook(info.url, info.pending_update_count, info.last_error_message,
                     info.last_error_date)  # fmt: skip

    def webhook(
        self, actual: str, pending: int, error: str | None, error_at: datetime | None
    ) -> None:
        wanted = self.settings.telegram_webhook_url
        if wanted and actual and actual != wanted:
            self.add("telegram_webhook", Status.FAIL, "ops.webhook.other",
                     "ops.webhook.other_do", actual=actual, wanted=wanted)  # fmt: skip
        elif wanted and not actual:
            self.add("telegram_webhook", Status.WARN, "ops.webhook.unset", "ops.webhook.unset_do",
                     wanted=wanted)  # fmt: skip
        elif not wanted and actual:
            self.add("telegram_webhook", Status.WARN, "ops.webhook.polling_set",
                     "ops.webhook.polling_set_do", actual=actual)  # fmt: skip
        elif wanted:
            self.add("telegram_webhook", Status.OK, "ops.webhook.ok", url=wanted, pending=pending)
        else:
            self.add("telegram_webhook", Status.OK, "ops.webhook.polling")
        if error:
            when = dates.moment(error_at, self.settings.agency_timezone, self.t) if error_at else ""
            self.add("telegram_webhook", Status.WARN, "ops.webhook.error", "ops.webhook.error_do",
                     error=error, when=when)  # fmt: skip
        if pending > PENDING_UPDATES_WARN:
            self.add("telegram_webhook", Status.WARN, "ops.webhook.backlog",
                     "ops.webhook.backlog_do", pending=pending)  # fmt: skip

    async def whatsapp(self) -> None:
        token, phone = self.settings.whatsapp_token, self.settings.whatsapp_phone_number_id
        if not token and not phone:
            self.add("whatsapp", Status.OFF, "ops.whatsapp.off")
            return
        if not (token and phone):
            self.add("whatsapp", Status.FAIL, "ops.whatsapp.half", "ops.whatsapp.half_do")
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
            self.add("whatsapp", Status.OK, "ops.whatsapp.ok",
                     number=answer.body.get("display_phone_number", phone),
                     name=answer.body.get("verified_name", "-"),
                     quality=answer.body.get("quality_rating", "-"))  # fmt: skip
            return True
        if answer.code in (190, 401):  # OAuthException: the token is expired or wrong
            self.add("whatsapp", Status.FAIL, "ops.whatsapp.token", "ops.whatsapp.token_do",
                     detail=answer.message)  # fmt: skip
        elif answer.code in (100, 400, 404):
            self.add("whatsapp", Status.FAIL, "ops.whatsapp.phone", "ops.whatsapp.phone_do",
                     phone=phone, detail=answer.message)  # fmt: skip
        else:
            self.add("whatsapp", Status.FAIL, "ops.whatsapp.down", "ops.whatsapp.down_do",
                     base=self.settings.whatsapp_api_base, detail=answer.message)  # fmt: skip
        return False

    async def business_account(self, graph: httpx.AsyncClient) -> None:
        waba = self.settings.whatsapp_business_account_id
        template = self.settings.whatsapp_template_notification
        if not waba:
            self.add("whatsapp_webhook", Status.WARN, "ops.waba.unset", "ops.waba.unset_do")
            return
        apps = await self._get(graph, f"/{waba}/subscribed_apps")
        if apps.body is None:
            self.add("whatsapp_webhook", Status.WARN, "ops.waba.unreadable",
                     "ops.waba.unreadable_do", waba=waba, detail=apps.message)  # fmt: skip
            return
        names = [
            str((item.get("whatsapp_business_api_data") or {}).get("name") or "?")
            for item in apps.body.get("data") or []
        ]
        if names:
            self.add("whatsapp_webhook", Status.OK, "ops.waba.subscribed", apps=", ".join(names))
        else:
            self.add("whatsapp_webhook", Status.FAIL, "ops.waba.unsubscribed",
                     "ops.waba.unsubscribed_do", waba=waba)  # fmt: skip
        found = await self._get(graph, f"/{waba}/message_templates", name=template)
        if found.body is None:
            self.add("whatsapp_template", Status.WARN, "ops.template.unreadable",
                     "ops.waba.unreadable_do", waba=waba, detail=found.message)  # fmt: skip
            return
        language = self.settings.whatsapp_template_language
        matches = [t for t in found.body.get("data") or [] if t.get("name") == template]
        ours = [t for t in matches if t.get("language") == language] or matches
        if not ours:
            self.add("whatsapp_template", Status.FAIL, "ops.template.missing",
                     "ops.template.missing_do", name=template, language=language)  # fmt: skip
        elif ours[0].get("status") != "APPROVED":
            self.add("whatsapp_template", Status.FAIL, "ops.template.not_approved",
                     "ops.template.not_approved_do", name=template,
                     status=ours[0].get("status", "?"))  # fmt: skip
        else:
            self.add("whatsapp_template", Status.OK, "ops.template.ok", name=template,
                     language=ours[0].get("language", language))  # fmt: skip


@dataclass(frozen=True)
class Graph:
    """One Graph API answer: its body when it succeeded, else the error code and message."""

    body: dict[str, Any] | None
    code: int
    message: str


async def diagnose(settings: Settings, t: Translator, min_free_mb: int) -> list[Check]:
    return await Doctor(settings, t, min_free_mb).run()
