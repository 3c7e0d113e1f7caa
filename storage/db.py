"""Engine, sessions and migrations: one async engine per process, one unit of work per event."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, CursorResult, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from storage import sqlite_driver

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_engine(url: str, pool_size: int = 40) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer at a time: queueing for one connection in the pool is cheaper
        # than many connections (one thread each) sleeping in SQLite's busy handler.
        engine = create_async_engine(
            url,
            module=sqlite_driver.dbapi(),  # one trip to aiosqlite's thread per statement
            connect_args={"timeout": 30},
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            pool_reset_on_return=None,  # see _sqlite_reset
        )

        @event.listens_for(engine.sync_engine, "reset")
        def _sqlite_reset(dbapi_conn: Any, _record: Any, state: PoolResetState) -> None:
            # The pool's own reset rolls back every connection it gets back, and each call is a
            # trip to aiosqlite's thread; a unit of work that committed left nothing to undo.
            driver = dbapi_conn.driver_connection
            if state.asyncio_safe and driver is not None and driver.in_transaction:
                dbapi_conn.rollback()

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable across crashes in WAL mode
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # Overflow connections are closed on return; size the pool for the usual concurrency instead.
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=10)
    _check_on_checkout(engine)
    return engine


PING_AFTER_IDLE = 10.0  # seconds a pooled connection may rest before it is pinged on checkout


def _check_on_checkout(engine: AsyncEngine) -> None:
    """A dead pooled connection (a database restart) is replaced before a unit of work gets it.

    Instead of pool_pre_ping, which on asyncpg costs three round trips (BEGIN, ping, ROLLBACK) on
    every checkout, more than the rest of a menu update: a connection the server has closed is
    seen for free (asyncpg read the close), and only one that rested a while is pinged. A
    connection that dies unseen fails its unit of work's first statement, which the dispatcher
    then runs once more on a new connection (Dispatcher.take)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _rested(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _alive(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        driver = record.driver_connection
        if driver is None or driver.is_closed():
            raise DisconnectionError("closed by the server")
        checked_in = record.info.get("checked_in")
        if checked_in is not None and time.monotonic() - checked_in > PING_AFTER_IDLE:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:
                raise DisconnectionError("no answer to a ping") from exc


def changed_rows(result: object) -> int:
    """Rows an UPDATE or DELETE changed. `AsyncSession.execute` is typed to return a plain
    Result whatever the statement; for these it is a CursorResult, which counts them."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


MIGRATION_LOCK_KEY = 0x0ABD1  # any constant shared by every Abdi process


@asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    with path.open("a") as handle:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate; processes starting together (run, worker) take turns instead of racing."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        async with _file_lock(Path(database + ".migrate.lock")):
            await _upgrade(engine, revision)
        return
    await _upgrade(engine, revision)


async def _upgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until commit: a second process then finds the schema already at head.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))


@functools.cache
def head_revision() -> str | None:
    """The newest migration this release ships: read from the files once per process (health
    probes ask every few seconds, and the files do not change under a running process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def revisions(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """The database's revision (None before the first migration) and the code's head."""

    def read(conn: Connection) -> tuple[str | None, str | None]:
        return MigrationContext.configure(conn).get_current_revision(), head_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def pending_revision(engine: AsyncEngine) -> str | None:
    """The head revision if the database is behind it, else None."""
    current, head = await revisions(engine)
    return head if current != head else None
