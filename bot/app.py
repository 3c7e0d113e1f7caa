"""Wiring: settings -> engine, sessions, state store, dispatcher. Bad config fails in one line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.senders import ChannelSender
from bot.services.agencies import ensure_default_agency
from bot.services.rate_limit import Limiter
from handlers.routers import HOME, ROUTERS
from storage import db
from storage.state import MemoryStore, RedisStore, StateStore

log = logging.getLogger("abdi.app")


class StartupError(Exception):
    """A configuration problem; carries a message id and parameters for one clear line."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: StateStore
    dispatcher: Dispatcher = field(init=False)
    # Outbound senders by channel and the shared limiter, set when a drain runs in this process
    # (bot/background.py); periodic jobs that message HR directly use them.
    senders: dict[str, ChannelSender] = field(default_factory=dict)
    limiter: Limiter | None = None

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(self.sessions, self.store, self.settings, ROUTERS, HOME)

    async def close(self) -> None:
        await self.store.close()
        await self.engine.dispose()


def short(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


async def open_database(settings: Settings, migrate: bool | None = None) -> AsyncEngine:
    try:
        make_url(settings.database_url)
        engine = db.create_engine(settings.database_url)
    except (ArgumentError, NoSuchModuleError, ValueError, OSError) as exc:
        raise StartupError("cli.bad_database", detail=short(exc)) from exc
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        if settings.should_migrate if migrate is None else migrate:
            await db.upgrade(engine)
        elif await db.pending_revision(engine):
            raise StartupError("cli.db.behind")
    except StartupError:
        await engine.dispose()
        raise
    except (DBAPIError, OSError, ConnectionError) as exc:
        await engine.dispose()
        raise StartupError("cli.bad_database", detail=short(exc)) from exc
    return engine


async def open_store(settings: Settings) -> StateStore:
    if not settings.redis_url:
        return MemoryStore()
    try:
        store = RedisStore.from_url(settings.redis_url)
        await store.ping()
    except Exception as exc:  # redis raises several unrelated types for bad URLs and refusals
        raise StartupError("cli.bad_redis", detail=short(exc)) from exc
    return store


async def create_app(settings: Settings, *, migrate: bool | None = None) -> App:
    engine = await open_database(settings, migrate)
    try:
        store = await open_store(settings)
    except StartupError:
        await engine.dispose()
        raise
    sessions = db.session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            await ensure_default_agency(session, settings)
    except IntegrityError:
        # Another process starting at the same instant created it first; now it is there.
        async with sessions() as session, session.begin():
            await ensure_default_agency(session, settings)
    return App(settings, engine, sessions, store)
