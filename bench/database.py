"""A throwaway PostgreSQL database with Abdi's schema and an app on it, for the benchmarks that
load an agency at scale; and the quarter they rate in."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import select

from bot.app import App, create_app
from bot.config import Settings
from bot.services import periods
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import Scheme, load_scheme
from storage.models import Agency

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.asynccontextmanager
async def fresh_app(
    prefix: str = "abdi_bench", *, keep: bool = False, **settings: Any
) -> AsyncIterator[tuple[App, str]]:
    """(app, asyncpg DSN) on a new database, migrated; dropped afterwards unless `keep`."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    app = await create_app(
        Settings(
            _env_file=None,
            database_url=dsn.replace("postgresql://", "postgresql+asyncpg://"),
            auto_migrate=True,
            redis_url=None,
            **settings,
        ),
        migrate=True,
    )
    try:
        yield app, dsn
    finally:
        await app.close()
        if keep:
            print(f"  kept database {name}")
        else:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def open_quarter(app: App) -> tuple[int, int, Scheme]:
    """(agency id, period id, scheme) of quarter 2025-Q1, open until tomorrow."""
    async with app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        assert agency is not None
        scheme = await load_scheme(session, agency.id)
        period = await periods.open_quarter(
            session, agency, QuarterRef(2025, 1), scheme, "bench",
            closes_at=datetime.now(UTC) + timedelta(days=1),
        )  # fmt: skip
        return agency.id, period.id, scheme
