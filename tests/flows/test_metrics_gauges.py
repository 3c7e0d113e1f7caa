"""/metrics: the gauges read from the database at scrape time, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot import scrape
from bot.app import App
from bot.delivery import Status
from bot.services import four_in_one as cases
from bot.services.agencies import ensure_default_agency
from bot.web import SERVER_OPTIONS, application
from storage.models import Account, Delivery, FourInOneCase, WebhookDeadLetter, utcnow

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def metrics_url(demo_app: App) -> AsyncIterator[str]:
    server = TestServer(application(demo_app), host="127.0.0.1")
    await server.start_server(**SERVER_OPTIONS)
    yield str(server.make_url("/metrics"))
    await server.close()


async def scrape_samples(url: str) -> Samples:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        body = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def add_deliveries(app: App, channel: str, statuses: list[tuple[Status, int]]) -> None:
    """Rows for one new account: each status with `not_before` that many minutes from now."""
    async with app.sessions() as session, session.begin():
        account = Account(agency_id=1, channel=channel, user_ref=f"{channel}-m", chat_ref="7")
        session.add(account)
        await session.flush()
        for n, (status, minutes) in enumerate(statuses):
            session.add(
                Delivery(
                    agency_id=1,
                    account_id=account.id,
                    kind="notification",
                    source="test",
                    message_key="home.welcome",
                    status=status.value,
                    not_before=utcnow() + timedelta(minutes=minutes),
                    dedup_key=f"metrics-{channel}-{n}",
                )
            )


async def open_case(app: App, name: str, days_ago: int) -> cases.Opened:
    """A case reported `days_ago` days after a death that day: overdue once days_ago > 3."""
    when = utcnow() - timedelta(days=days_ago)
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        report = cases.Report(died_at=when, deceased_name=name, phone="081299990000")
        return await cases.open_case(
            session, agency, report, actor="test", via="officer", settings=app.settings, now=when
        )


async def test_gauges_count_open_deliveries_dead_letters_and_overdue_cases(
    demo_app: App, metrics_url: str
) -> None:
    before = await scrape_samples(metrics_url)
    assert value(before, "abdi_metrics_database_ok") == 1
    assert value(before, "abdi_delivery_queue_depth") == 0
    assert value(before, "abdi_deliveries", channel="whatsapp", status="pending") == 0
    assert value(before, "abdi_dead_letters", channel="telegram") == 0
    assert value(before, "abdi_four_in_one_overdue_cases") == 0

    await add_deliveries(
        demo_app,
        "telegram",
        [(Status.PENDING, -1), (Status.PENDING, -5), (Status.PENDING, 30), (Status.SENT, -9)],
    )
    await add_deliveries(demo_app, "whatsapp", [(Status.PENDING, -1), (Status.UNCERTAIN, -9)])
    async with demo_app.sessions() as session, session.begin():
        session.add(WebhookDeadLetter(channel="whatsapp", reason="test", body="{"))
        session.add(WebhookDeadLetter(channel="whatsapp", reason="test", body="["))
        session.add(
            WebhookDeadLetter(channel="telegram", reason="t", body="{", replayed_at=utcnow())
        )
    late = await open_case(demo_app, "Budi Late", days_ago=6)
    await open_case(demo_app, "Cici Late", days_ago=5)
    await open_case(demo_app, "Dodi Fresh", days_ago=0)

    after = await scrape_samples(metrics_url)
    assert value(after, "abdi_deliveries", channel="telegram", status="pending") == 3
    assert value(after, "abdi_deliveries", channel="whatsapp", status="pending") == 1
    assert value(after, "abdi_deliveries", channel="whatsapp", status="uncertain") == 1
    assert value(after, "abdi_deliveries", channel="telegram", status="sending") == 0
    assert ("abdi_deliveries", (("channel", "telegram"), ("status", "sent"))) not in after
    assert value(after, "abdi_delivery_queue_depth") == 3  # due now; the later one waits
    assert value(after, "abdi_dead_letters", channel="whatsapp") == 2
    assert value(after, "abdi_dead_letters", channel="telegram") == 0  # replayed
    assert value(after, "abdi_four_in_one_overdue_cases") == 2

    async with demo_app.sessions() as session, session.begin():
        case = await session.get(FourInOneCase, late.case.id)
        assert case is not None
        await cases.cancel_case(session, case, actor="test", reason="keliru")
    cancelled = await scrape_samples(metrics_url)
    assert value(cancelled, "abdi_four_in_one_overdue_cases") == 1


# Readers wait behind an exclusive table lock on PostgreSQL only.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_database_that_does_not_answer_costs_the_gauges_not_the_scrape(
    demo_app: App, metrics_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scrape, "TIMEOUT", 0.5)
    async with demo_app.engine.connect() as locker:
        transaction = await locker.begin()
        await locker.execute(text("LOCK TABLE delivery IN ACCESS EXCLUSIVE MODE"))
        samples = await asyncio.wait_for(scrape_samples(metrics_url), 10)
        await transaction.rollback()
    assert value(samples, "abdi_metrics_database_ok") == 0
    assert not any(name == "abdi_delivery_queue_depth" for name, _ in samples)
    assert ("abdi_link_code_failures_total", ()) in samples  # the counters are still there
    again = await scrape_samples(metrics_url)
    assert value(again, "abdi_metrics_database_ok") == 1
