"""Migrations on an empty SQLite file and an empty PostgreSQL database: stairway and model drift."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import db
from storage.models import Base, compared
from tests.conftest import PG_ADMIN, _async_url, _unavailable
from tests.helpers.process_helpers import HEAVY

TABLES = set(Base.metadata.tables)


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with no tables at all (not a copy of the migrated template)."""
    if request.param == "sqlite":
        engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        yield engine
        await engine.dispose()
        return
    name = f"abdi_m_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _unavailable("PostgreSQL", exc)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    engine = db.create_engine(_async_url(PG_ADMIN, name))
    yield engine
    await engine.dispose()
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def revisions() -> list[str]:
    """Every revision, base first."""
    script = ScriptDirectory.from_config(db.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    return names - {"alembic_version"}


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def drift(conn: Connection) -> list[object]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_object": compared}
    )
    return compare_metadata(context, Base.metadata)


async def test_revisions_form_one_line() -> None:
    script = ScriptDirectory.from_config(db.alembic_config())
    assert len(script.get_heads()) == 1 and len(script.get_bases()) == 1
    assert revisions()[-1] == script.get_current_head()


async def test_stairway_up_down_up(empty_engine: AsyncEngine) -> None:
    assert await tables(empty_engine) == set()
    steps = revisions()
    assert steps

    # Up one revision at a time, then all the way down one at a time, then up again.
    for revision in steps:
        await db.upgrade(empty_engine, revision)
        assert await current(empty_engine) == revision
    assert await tables(empty_engine) == TABLES
    assert await db.pending_revision(empty_engine) is None

    for below in [*reversed(steps[:-1]), None]:
        await db.downgrade(empty_engine, below or "base")
        assert await current(empty_engine) == below
    assert await tables(empty_engine) == set()
    assert await db.pending_revision(empty_engine) == steps[-1]

    await db.upgrade(empty_engine)
    assert await current(empty_engine) == steps[-1]
    assert await tables(empty_engine) == TABLES


async def test_each_revision_downgrades_and_reapplies(empty_engine: AsyncEngine) -> None:
    for revision in revisions():
        await db.upgrade(empty_engine, revision)
        before = await tables(empty_engine)
        await db.downgrade(empty_engine, "-1")
        await db.upgrade(empty_engine, revision)
        assert await tables(empty_engine) == before
        assert await current(empty_engine) == revision


async def test_models_and_migrations_agree(empty_engine: AsyncEngine) -> None:
    await db.upgrade(empty_engine)
    async with empty_engine.connect() as conn:
        diffs = await conn.run_sync(drift)
    assert diffs == []


async def test_drift_check_can_fail(empty_engine: AsyncEngine) -> None:
    """The comparison above is not vacuous: short of a revision the models know, it reports
    differences (0017's name index; 0018 makes only a migration-only index)."""
    await db.upgrade(empty_engine)
    await db.downgrade(empty_engine, "0016")
    async with empty_engine.connect() as conn:
        diffs = await conn.run_sync(drift)
    assert diffs


@HEAVY
async def test_processes_starting_together_on_a_fresh_database_all_succeed(
    empty_engine: AsyncEngine,
) -> None:
    """`abdi run` and `abdi worker` started at once must not both create the schema."""
    env = {**os.environ, "DATABASE_URL": empty_engine.url.render_as_string(hide_password=False)}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "db",
            "upgrade",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [(await p.communicate())[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert await db.pending_revision(empty_engine) is None


# --- 0018: the roster's trigram name index, where PostgreSQL lets us make it ---------------

POSTGRES_ONLY = pytest.mark.parametrize("empty_engine", ["postgres"], indirect=True)
TRIGRAM_INDEX = "ix_employee_name_trgm"


def _dsn(engine: AsyncEngine) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{engine.url.database}"


async def _has_trigram_index(engine: AsyncEngine) -> bool:
    conn = await asyncpg.connect(_dsn(engine))
    try:
        found = await conn.fetchval("SELECT 1 FROM pg_indexes WHERE indexname = $1", TRIGRAM_INDEX)
    finally:
        await conn.close()
    return bool(found)


@POSTGRES_ONLY
async def test_the_name_search_reads_the_trigram_index(empty_engine: AsyncEngine) -> None:
    await db.upgrade(empty_engine)
    async with empty_engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))  # a tiny table: ask the index
        rows = await conn.execute(
            text("EXPLAIN SELECT id FROM employee WHERE lower(name) LIKE '%rina%'")
        )
        plan = "\n".join(row[0] for row in rows)
    assert TRIGRAM_INDEX in plan, plan
    # Down and up again: the index goes and comes back.
    await db.downgrade(empty_engine, "0017")
    assert not await _has_trigram_index(empty_engine)
    await db.upgrade(empty_engine)
    assert await _has_trigram_index(empty_engine)


@POSTGRES_ONLY
async def test_a_role_that_may_not_create_pg_trgm_still_migrates(
    empty_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """A role with rights on the schema but none to create extensions in the database (not its
    owner, no CREATE on it): every table is made, the index skipped, and the log says why."""
    role = f"abdi_r_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_dsn(empty_engine))
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        await admin.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
        assert not await admin.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    finally:
        await admin.close()
    engine = db.create_engine(
        _async_url(PG_ADMIN, str(empty_engine.url.database)).replace("postgres@", f"{role}@", 1)
    )
    try:
        with caplog.at_level(logging.WARNING, logger="abdi.migrations"):
            await db.upgrade(engine)
        assert await db.pending_revision(engine) is None  # at head all the same
        assert not await _has_trigram_index(engine)
    finally:
        await engine.dispose()
        await empty_engine.dispose()
        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(
                f'DROP DATABASE IF EXISTS "{empty_engine.url.database}" WITH (FORCE)'
            )
            await admin.execute(f'DROP ROLE "{role}"')
        finally:
            await admin.close()
    assert "could not CREATE EXTENSION pg_trgm" in caplog.text
    assert "runs without the trigram index" in caplog.text
