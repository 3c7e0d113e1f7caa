"""GET /metrics: the process's counters (bot/metrics.py) and the figures kept in the database.

The database figures are read on each scrape, before the text is written, in two grouped
queries bounded by a timeout: a slow database costs the scrape those gauges (and
`abdi_metrics_database_ok 0`), never the counters, and never a hung scrape. They are handed to
prometheus-client through a collector of their own, so a status that emptied reads 0 instead of
keeping its last value.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import String, case, func, literal, select, union_all

from bot.app import App
from bot.delivery import Status
from bot.messages import Channel
from bot.services.four_in_one import overdue
from storage.models import Account, Delivery, WebhookDeadLetter, utcnow

log = logging.getLogger("abdi.metrics")
TIMEOUT = 3.0  # seconds for the database figures: Prometheus' own scrape timeout is 10 s
# Deliveries still on their way; finished ones (sent, read, failed...) only ever accumulate.
OPEN_STATUSES = (Status.PENDING, Status.SENDING, Status.UNCERTAIN)
DEAD_LETTERS, OVERDUE = "dead_letters", "overdue"


@dataclass
class Figures:
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status)
    due: int = 0  # pending deliveries whose time has come
    dead_letters: dict[str, int] = field(default_factory=dict)  # by channel, not yet replayed
    overdue_cases: int = 0


async def read_figures(app: App) -> Figures:
    now = utcnow()
    figures = Figures()
    due = case((Delivery.not_before <= now, 1), else_=0)
    async with app.sessions() as session:
        rows = await session.execute(
            select(Account.channel, Delivery.status, func.count(), func.sum(due))
            .join(Account, Account.id == Delivery.account_id)
            .where(Delivery.status.in_([s.value for s in OPEN_STATUSES]))
            .group_by(Account.channel, Delivery.status)
        )
        for channel, status, count, due_count in rows:
            figures.deliveries[(str(channel), str(status))] = int(count)
            if status == Status.PENDING.value:
                figures.due += int(due_count or 0)
        letters = (
            select(
                literal(DEAD_LETTERS, String).label("kind"),
                WebhookDeadLetter.channel.label("channel"),
                func.count().label("n"),
            )
            .where(WebhookDeadLetter.replayed_at.is_(None))
            .group_by(WebhookDeadLetter.channel)
        )
        cases = select(literal(OVERDUE, String), literal("", String), func.count()).where(
            overdue(now)
        )
        for kind, channel, count in await session.execute(union_all(letters, cases)):
            if kind == DEAD_LETTERS:
                figures.dead_letters[str(channel)] = int(count)
            else:
                figures.overdue_cases = int(count)
    return figures


class DatabaseCollector(Collector):
    """The gauges of one scrape, from figures read just before (None: the database did not
    answer in time)."""

    def __init__(self, figures: Figures | None) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily(
            "abdi_metrics_database_ok", "1 if the database figures below were read at this scrape."
        )
        ok.add_metric([], 1 if self.figures is not None else 0)
        yield ok
        figures = self.figures
        if figures is None:
            return
        deliveries = GaugeMetricFamily(
            "abdi_deliveries",
            "Deliveries still on their way, by channel and status (pending, sending, uncertain).",
            labels=["channel", "status"],
        )
        for channel in Channel:
            for status in OPEN_STATUSES:
                count = figures.deliveries.get((channel.value, status.value), 0)
                deliveries.add_metric([channel.value, status.value], count)
        yield deliveries
        yield GaugeMetricFamily(
            "abdi_delivery_queue_depth",
            "Pending deliveries whose time has come (waiting for a drain).",
            value=figures.due,
        )
        letters = GaugeMetricFamily(
            "abdi_dead_letters",
            "Webhook bodies kept as unreadable and not replayed yet, by channel.",
            labels=["channel"],
        )
        for channel in (Channel.TELEGRAM, Channel.WHATSAPP):
            letters.add_metric([channel.value], figures.dead_letters.get(channel.value, 0))
        yield letters
        yield GaugeMetricFamily(
            "abdi_four_in_one_overdue_cases",
            "Open 4-in-1 cases past their third-night deadline.",
            value=figures.overdue_cases,
        )


async def exposition(app: App) -> bytes:
    """The text Prometheus reads: this process's counters, then the database gauges."""
    try:
        figures: Figures | None = await asyncio.wait_for(read_figures(app), TIMEOUT)
    except Exception as exc:
        log.warning("metrics: database figures unreadable: %s", type(exc).__name__)
        figures = None
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(DatabaseCollector(figures))
    return generate_latest(REGISTRY) + generate_latest(gauges)


def add_routes(web_app: web.Application, app: App) -> None:
    """GET /metrics on `web_app`, beside /healthz and /readyz."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=await exposition(app), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    web_app.router.add_get("/metrics", metrics)
