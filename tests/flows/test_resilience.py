"""The core under failure: a database restart, a database gone, racing first messages."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.messages import Channel, Inbound
from storage.models import Account
from tests.conftest import PG_ADMIN

# Server restarts and vanishing databases are PostgreSQL matters; SQLite is a file in-process.
postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def _db_name(app) -> str:
    return make_url(app.settings.database_url).database or ""


@postgres_only
async def test_database_restart_is_survived(chat, demo_app) -> None:
    user = chat("7001")
    await user.send("/start")
    # What clients see of a server restart: every open connection is cut.
    conn = await asyncpg.connect(PG_ADMIN)
    killed = await conn.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
        _db_name(demo_app),
    )
    await conn.close()
    assert killed >= 1
    await user.send("/menu")
    assert "Silakan pilih layanan" in user.text


@postgres_only
async def test_database_gone_gets_a_clear_answer_not_a_crash(chat, demo_app) -> None:
    user = chat("7002")
    await user.send("/start")
    await demo_app.engine.dispose()
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE "{_db_name(demo_app)}" WITH (FORCE)')
    await conn.close()
    await user.send("/menu")
    assert "layanan sedang gangguan" in user.text


async def test_racing_first_messages_make_one_account(demo_app) -> None:
    inbounds = [
        Inbound(
            channel=Channel.TELEGRAM,
            chat_ref="7003",
            user_ref="7003",
            event_id=f"race-{i}",
            text="/start",
        )
        for i in range(8)
    ]
    results = await asyncio.gather(*(demo_app.dispatcher.handle(i) for i in inbounds))
    assert all(r and "Selamat datang" in r[-1].text for r in results)
    async with demo_app.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Account).where(Account.user_ref == "7003")
        )
    assert count == 1
