"""Health and readiness of a process: each dependency checked and reported by name.

`/healthz` answers 503 when a dependency the process cannot work without (the database, Redis
when configured) does not answer; `/readyz` also when migrations are behind or the delivery
backlog or the uncertain deliveries pass their thresholds. Every process serves them: the webhook
server on its own port, `abdi run` (polling) and `abdi worker` on HEALTH_PORT.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, text

from bot.app import App
from bot.delivery import Status
from storage import db
from storage.models import Delivery, utcnow

log = logging.getLogger("abdi.health")
CHECK_TIMEOUT = 3.0  # seconds per dependency: a hung server is as down as a refused one


@dataclass(frozen=True)
class Report:
    checks: dict[str, Any]
    healthy: bool  # every dependency answers
    ready: bool  # and the process should take traffic

    def body(self, ready: bool) -> dict[str, Any]:
        ok = self.ready if ready else self.healthy
        return {"status": "ok" if ok else "degraded", **self.checks}


async def _database(app: App) -> tuple[str, bool]:
    async with app.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    behind = await db.pending_revision(app.engine)
    return ("behind" if behind else "ok"), behind is None


async def _deliveries(app: App) -> dict[str, int]:
    async with app.sessions() as session:
        rows = await session.execute(
            select(Delivery.status, func.count())
            .where(
                Delivery.status.in_([Status.PENDING.value, Status.UNCERTAIN.value]),
                (Delivery.status == Status.UNCERTAIN.value) | (Delivery.not_before <= utcnow()),
            )
            .group_by(Delivery.status)
        )
        counts = {str(status): int(n) for status, n in rows}
    return {
        "backlog": counts.get(Status.PENDING.value, 0),
        "uncertain": counts.get(Status.UNCERTAIN.value, 0),
    }


async def check(app: App) -> Report:
    checks: dict[str, Any] = {}
    healthy = ready = True
    try:
        state, current = await asyncio.wait_for(_database(app), CHECK_TIMEOUT)
        checks["database"] = state
        ready = ready and current
    except Exception as exc:
        log.warning("health: database down: %s", type(exc).__name__)
        checks["database"] = "down"
        healthy = ready = False
    ping = getattr(app.store, "ping", None)
    if ping is not None:
        try:
            await asyncio.wait_for(ping(), CHECK_TIMEOUT)
            checks["redis"] = "ok"
        except Exception as exc:
            log.warning("health: redis down: %s", type(exc).__name__)
            checks["redis"] = "down"
            healthy = ready = False
    if checks["database"] != "down":
        try:
            counts = await asyncio.wait_for(_deliveries(app), CHECK_TIMEOUT)
            checks["deliveries"] = counts
            settings = app.settings
            if counts["backlog"] > settings.ready_max_backlog:
                ready = False
            if counts["uncertain"] > settings.ready_max_uncertain:
                ready = False
        except Exception as exc:
            log.warning("health: deliveries unreadable: %s", type(exc).__name__)
            checks["deliveries"] = "unknown"
    return Report(checks, healthy, ready)


def add_routes(web_app: web.Application, app: App) -> None:
    """GET /healthz and /readyz on `web_app`, reporting on `app`'s dependencies."""

    async def healthz(_: web.Request) -> web.Response:
        report = await check(app)
        return web.json_response(report.body(False), status=200 if report.healthy else 503)

    async def readyz(_: web.Request) -> web.Response:
        report = await check(app)
        return web.json_response(report.body(True), status=200 if report.ready else 503)

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
