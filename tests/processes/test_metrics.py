"""/metrics of the three long-running processes (`abdi serve`, `abdi run`, `abdi worker`) as real
subprocesses: after real traffic on the fake Bot API and Graph API, the figures moved."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.app import App
from bot.delivery import Status
from storage.models import Account, Delivery, utcnow
from tests.fakes import fake_graph_api as g
from tests.fakes.fake_bot_api import TOKEN, FakeBotAPI, message_update
from tests.helpers.process_helpers import HEAVY, free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
pytestmark = HEAVY


def figure(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(port: int) -> Samples:
    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        assert response.status == 200
        body = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


async def scrape_until(port: int, done: Callable[[Samples], bool], within: float = 60) -> Samples:
    """Scrape until the figures say the traffic was handled (a process works in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            samples = await scrape(port)
            if done(samples):
                return samples
        except aiohttp.ClientError:
            pass  # not listening yet
        assert loop.time() < deadline, "the figures never moved"
        await asyncio.sleep(0.2)


@pytest.fixture
async def abdi(database_url: str) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """Start `abdi <command>` on the test database; stopped with SIGTERM (exit 0, no traceback)."""
    started: list[asyncio.subprocess.Process] = []

    async def start(command: str, **env: str) -> None:
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "TELEGRAM_", "WHATSAPP_", "REDIS", "WEBHOOK_"))
        }
        environment |= {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **env}
        started.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                command,
                env=environment,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        )

    yield start
    for process in started:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            assert await asyncio.wait_for(process.wait(), 40) == 0
        finally:
            if process.returncode is None:
                process.kill()
        assert process.stderr is not None
        assert "Traceback" not in (await process.stderr.read()).decode()


async def add_delivery(app: App, channel: str, user_ref: str, minutes: int = 0) -> None:
    async with app.sessions() as session, session.begin():
        account = await session.scalar(
            select(Account).where(Account.channel == channel, Account.user_ref == user_ref)
        )
        if account is None:
            account = Account(agency_id=1, channel=channel, user_ref=user_ref, chat_ref=user_ref)
            session.add(account)
            await session.flush()
        session.add(
            Delivery(
                agency_id=1,
                account_id=account.id,
                kind="notification",
                source="test",
                message_key="home.welcome",
                not_before=utcnow() + timedelta(minutes=minutes),
            )
        )


async def sent_rows(app: App) -> int:
    async with app.sessions() as session:
        count = await session.scalar(
            select(func.count()).where(Delivery.status == Status.SENT.value)
        )
    return int(count or 0)


@SQLITE_ONLY
async def test_worker_counts_a_429_and_its_retry_and_reads_the_queue(
    demo_app: App, bot_api: FakeBotAPI, abdi
) -> None:
    await add_delivery(demo_app, "telegram", "700001")
    await add_delivery(demo_app, "telegram", "700002", minutes=60)  # not due: stays pending
    bot_api.rate_limit_next("sendMessage", retry_after=1)
    port = free_port()
    await abdi(
        "worker",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=bot_api.base,
        TELEGRAM_CHAT_INTERVAL="0",
        HEALTH_PORT=str(port),
    )

    def delivered(s: Samples) -> bool:
        # Only the later row left in flight: the first is neither pending, sending nor uncertain.
        return figure(s, "abdi_deliveries", channel="telegram", status="pending") == 1 and not any(
            figure(s, "abdi_deliveries", channel="telegram", status=status)
            for status in ("sending", "uncertain")
        )

    samples = await scrape_until(port, delivered)
    assert figure(samples, "abdi_delivery_rate_limited_total", channel="telegram") == 1
    assert figure(samples, "abdi_delivery_retries_total", channel="telegram") == 1
    assert figure(samples, "abdi_delivery_queue_depth") == 0  # the later one is not due yet
    assert figure(samples, "abdi_metrics_database_ok") == 1
    assert await sent_rows(demo_app) == 1
    assert figure(samples, "abdi_whatsapp_template_sends_total") == 0


@SQLITE_ONLY
async def test_polling_counts_updates_by_outcome_and_wrong_link_codes(
    demo_app: App, bot_api: FakeBotAPI, abdi
) -> None:
    port = free_port()
    await abdi(
        "run",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=bot_api.base,
        HEALTH_PORT=str(port),
    )
    for words in ("/start", "/hubungkan", "ABCD-EFGH"):  # a code nobody issued
        await bot_api.push(message_update(6101, words))
    await bot_api.push({"poll": {"id": "1", "question": "?", "options": []}})  # never asked for

    def handled(s: Samples) -> bool:
        return (
            figure(s, "abdi_updates_total", channel="telegram", outcome="handled") == 3
            and figure(s, "abdi_updates_total", channel="telegram", outcome="ignored") == 1
        )

    samples = await scrape_until(port, handled)
    assert figure(samples, "abdi_handler_seconds_count", channel="telegram") == 3
    assert figure(samples, "abdi_link_code_failures_total") == 1
    assert figure(samples, "abdi_updates_total", channel="telegram", outcome="failed") == 0


@SQLITE_ONLY
async def test_serve_counts_both_webhooks_duplicates_and_a_whatsapp_template(
    demo_app: App, bot_api: FakeBotAPI, abdi
) -> None:
    graph = g.FakeGraphAPI()
    await graph.start()
    port = free_port()
    try:
        await abdi(
            "serve",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE=bot_api.base,
            TELEGRAM_WEBHOOK_SECRET="tg-secret",
            WHATSAPP_TOKEN=g.TOKEN,
            WHATSAPP_PHONE_NUMBER_ID=g.PHONE_ID,
            WHATSAPP_APP_SECRET=g.APP_SECRET,
            WHATSAPP_VERIFY_TOKEN=g.VERIFY_TOKEN,
            WHATSAPP_API_BASE=graph.base,
            WEBHOOK_HOST="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
        await scrape_until(port, lambda s: True)  # listening
        base = f"http://127.0.0.1:{port}"
        update = json.dumps({"update_id": 91, **message_update(6201, "/start")}).encode()
        text = g.dumps(g.text("ID.9201", "/start"))
        status = g.dumps(g.status("wamid.UNKNOWN", "delivered", "ID.9201"))
        graph.user_wrote("ID.9201")
        async with aiohttp.ClientSession() as http:
            for _ in range(2):  # the second time is the platform's redelivery
                headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
                async with http.post(f"{base}/telegram/webhook", data=update, headers=headers) as r:
                    assert r.status == 200
                headers = {"X-Hub-Signature-256": g.sign(text)}
                async with http.post(f"{base}/whatsapp/webhook", data=text, headers=headers) as r:
                    assert r.status == 200
            headers = {"X-Hub-Signature-256": g.sign(status)}
            async with http.post(f"{base}/whatsapp/webhook", data=status, headers=headers) as r:
                assert r.status == 200
            headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
            async with http.post(f"{base}/telegram/webhook", data=b"{", headers=headers) as r:
                assert r.status == 200  # unreadable: kept as a dead letter
        # A notification to someone who has not written in 24 hours goes out as the template,
        # after one throttling answer.
        graph.fail_next(130429)
        await add_delivery(demo_app, "whatsapp", "ID.9202")

        def sent(s: Samples) -> bool:
            return figure(s, "abdi_whatsapp_template_sends_total") == 1

        samples = await scrape_until(port, sent)
    finally:
        await graph.stop()
    for channel in ("telegram", "whatsapp"):
        assert figure(samples, "abdi_updates_total", channel=channel, outcome="handled") == 1
        assert figure(samples, "abdi_updates_total", channel=channel, outcome="duplicate") == 1
    assert figure(samples, "abdi_updates_total", channel="whatsapp", outcome="status") == 1
    assert figure(samples, "abdi_updates_total", channel="telegram", outcome="kept") == 1
    assert figure(samples, "abdi_dead_letters", channel="telegram") == 1
    assert figure(samples, "abdi_delivery_rate_limited_total", channel="whatsapp") == 1
    assert figure(samples, "abdi_delivery_retries_total", channel="whatsapp") == 1
    assert graph.sent("ID.9202")[0].params["type"] == "template"
