"""/healthz and /readyz of every kind of process, each dependency reported by name."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import App
from bot.delivery import Status
from bot.web import SERVER_OPTIONS, application
from storage.models import Account, Delivery, utcnow
from storage.state import RedisStore
from tests.fakes.fake_bot_api import TOKEN, FakeBotAPI
from tests.helpers.process_helpers import HEAVY, free_port, wait_until


@pytest.fixture
async def health_url(demo_app: App) -> AsyncIterator[str]:
    server = TestServer(application(demo_app), host="127.0.0.1")
    await server.start_server(**SERVER_OPTIONS)
    yield str(server.make_url("/"))
    await server.close()


async def get(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, await response.json()


async def test_each_dependency_is_reported_and_a_down_one_fails_health(
    health_url: str, demo_app: App
) -> None:
    status, body = await get(health_url + "healthz")
    assert status == 200 and body["database"] == "ok" and body["deliveries"]["backlog"] == 0
    assert "redis" not in body  # in-memory state: no Redis to check
    working = demo_app.store
    demo_app.store = RedisStore.from_url("redis://127.0.0.1:1/0")
    try:
        status, body = await get(health_url + "healthz")
        assert status == 503 and body["redis"] == "down" and body["database"] == "ok"
        status, _ = await get(health_url + "readyz")
        assert status == 503
    finally:
        await demo_app.store.close()
        demo_app.store = working


async def test_readiness_fails_on_a_delivery_backlog_or_uncertain_deliveries(
    health_url: str, demo_app: App
) -> None:
    demo_app.settings = demo_app.settings.model_copy(
        update={"ready_max_backlog": 2, "ready_max_uncertain": 0}
    )
    async with demo_app.sessions() as session, session.begin():
        past = utcnow() - timedelta(minutes=1)
        account = Account(agency_id=1, channel="telegram", user_ref="6400", chat_ref="6400")
        session.add(account)
        await session.flush()
        for n in range(3):
            session.add(
                Delivery(
                    agency_id=1,
                    account_id=account.id,
                    kind="notification",
                    source="test",
                    message_key="home.welcome",
                    status=Status.PENDING.value,
                    not_before=past,
                    dedup_key=f"health-{n}",
                )
            )
    status, body = await get(health_url + "readyz")
    assert status == 503 and body["deliveries"]["backlog"] == 3
    status, _ = await get(health_url + "healthz")
    assert status == 200  # alive: a backlog is not an outage


@HEAVY
@pytest.mark.parametrize("command", ["worker", "run"])
async def test_polling_and_worker_processes_serve_health(
    command: str, bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": bot_api.base,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'health.db'}",
        "REDIS_URL": "",
        "HEALTH_PORT": str(port),
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:

        async def listening() -> bool:
            assert process.returncode is None, f"abdi {command} exited"
            try:
                await get(f"http://127.0.0.1:{port}/healthz")
            except aiohttp.ClientError:
                return False
            return True

        # A deadline, not a count of tries: start-up takes longer on a busy machine.
        await wait_until(listening, within=90)
        status, body = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and body["database"] == "ok"
        status, body = await get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and body["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
    assert process.stderr is not None
    stderr = (await process.stderr.read()).decode()
    assert "Traceback" not in stderr


async def test_probes_read_the_migration_files_once_per_process(
    health_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _ = await get(health_url + "healthz")
    assert status == 200

    class Unreadable:
        @staticmethod
        def from_config(*_: object) -> None:
            raise AssertionError("migration scripts read again by a probe")

    monkeypatch.setattr("storage.db.ScriptDirectory", Unreadable)
    for _ in range(3):
        status, body = await get(health_url + "readyz")
        assert status == 200 and body["database"] == "ok"
