"""Migration 0018: the roster's name search gets a trigram index where PostgreSQL lets us create
pg_trgm, and the upgrade goes on without it (saying why) where the role may not."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from storage import db
from tests.conftest import PG_ADMIN, _async_url, _unavailable

INDEX = "ix_employee_name_trgm"


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """The name of a new, empty PostgreSQL database (dropped afterwards)."""
    name = f"abdi_m_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _unavailable("PostgreSQL", exc)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield name
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _has_index(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_indexes WHERE indexname = $1", INDEX))
    finally:
        await conn.close()


async def test_the_search_uses_the_trigram_index(pg_database: str) -> None:
    engine = db.create_engine(_async_url(PG_ADMIN, pg_database))
    try:
        await db.upgrade(engine)
        async with engine.connect() as conn:
            await conn.execute(text("SET enable_seqscan = off"))  # a tiny table: ask the index
            plan = "\n".join(
                row[0]
                for row in await conn.execute(
                    text("EXPLAIN SELECT id FROM employee WHERE lower(name) LIKE '%rina%'")
                )
            )
    finally:
        await engine.dispose()
    assert INDEX in plan, plan
    # Down and up again: the index goes and comes back.
    engine = db.create_engine(_async_url(PG_ADMIN, pg_database))
    try:
        await db.downgrade(engine, "0017")
        assert not await _has_index(PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_database}")
        await db.upgrade(engine)
    finally:
        await engine.dispose()
    assert await _has_index(PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_database}")


async def test_a_role_that_may_not_create_the_extension_still_migrates(
    pg_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A role with rights on the schema but not to create extensions in the database (not its
    owner, no CREATE on it): every table is made, the index is skipped, the log says why."""
    role = f"abdi_r_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_database}")
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        await admin.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
        installed = await admin.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    finally:
        await admin.close()
    assert not installed
    url = _async_url(PG_ADMIN, pg_database).replace("postgres@", f"{role}@", 1)
    engine = db.create_engine(url)
    try:
        with caplog.at_level(logging.WARNING, logger="abdi.migrations"):
            await db.upgrade(engine)
        assert await db.pending_revision(engine) is None  # at head all the same
    finally:
        await engine.dispose()
        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE "{role}"')
        finally:
            await admin.close()
    assert "could not CREATE EXTENSION pg_trgm" in caplog.text
    assert "runs without the trigram index" in caplog.text
