"""Fixtures: a real database per test (SQLite file or PostgreSQL), real state stores, the app.

PostgreSQL and Redis tests run against 127.0.0.1 by default. Outside CI they are skipped when the
server is down; with ABDI_REQUIRE_SERVICES=1 (set by .ci/run) a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.app import App, create_app
from bot.cli import main as cli_main
from bot.config import Settings
from bot.messages import Channel
from storage import db
from storage.state import MemoryStore, RedisStore, StateStore
from tests.fakes.chat import Chat, WhatsAppChat, WhatsAppHarness
from tests.fakes.fake_bot_api import FakeBotAPI

PG_ADMIN = os.environ.get("ABDI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ABDI_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE = os.environ.get("ABDI_REQUIRE_SERVICES") == "1"
# pytest-xdist runs the suite in several worker processes (`make test`): each builds its own
# template, named for the worker (gw0, gw1, ...; "main" when serial) and the process, so that two
# workers, or two checkouts testing on one machine, never drop each other's template.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
TEMPLATE_PG = f"abdi_tpl_{WORKER}_{os.getpid()}"


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} unavailable: {exc}"
    if REQUIRE:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _async_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"

    async def build() -> None:
        engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
        await db.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    async def build() -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_PG}"')
            await conn.execute(f'CREATE DATABASE "{TEMPLATE_PG}"')
        finally:
            await conn.close()
        engine = db.create_engine(_async_url(PG_ADMIN, TEMPLATE_PG))
        await db.upgrade(engine)
        await engine.dispose()

    try:
        asyncio.run(build())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        yield None
        return
    yield TEMPLATE_PG

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_PG}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_template: str | None
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "abdi.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = pg_template
    if template is None:
        _unavailable("PostgreSQL", ConnectionError(PG_ADMIN))
    name = f"abdi_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    yield _async_url(PG_ADMIN, name)
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url, redis_url=None, auto_migrate=False)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    application = await create_app(settings)
    yield application
    await application.close()


@pytest.fixture
async def demo_app(app: App) -> App:
    from bot.cli.demo import DEMO_ROSTER
    from bot.services import roster
    from bot.services.agencies import ensure_default_agency

    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        report = await roster.import_roster(session, agency, roster.read_rows(DEMO_ROSTER), "test")
    assert report.created == 50 and not report.errors
    return app


@pytest.fixture(params=["direct", "whatsapp"])
async def chat(demo_app: App, request: pytest.FixtureRequest):
    """A factory of conversations with the demo office: chat(user_ref, lang=None).

    "direct" drives the dispatcher with neutral messages; "whatsapp" runs the same conversation
    through the real WhatsApp adapter: signed webhooks in, calls to a fake Graph API out.
    A chat asked for on a named channel (channel=...) keeps it in both variants.
    """
    if request.param == "direct":

        def direct(user_ref: str = "1001", **kwargs: object) -> Chat:
            return Chat(demo_app, user_ref, **kwargs)  # type: ignore[arg-type]

        direct.harness = None  # type: ignore[attr-defined]
        yield direct
        return
    harness = await WhatsAppHarness(demo_app).start()

    def make(user_ref: str = "1001", channel: Channel | None = None, **kwargs: object) -> Chat:
        if channel is not None and channel != Channel.WHATSAPP:
            return Chat(demo_app, user_ref, channel, **kwargs)  # type: ignore[arg-type]
        return WhatsAppChat(demo_app, user_ref, harness, **kwargs)  # type: ignore[arg-type]

    make.harness = harness  # type: ignore[attr-defined]
    yield make
    await harness.stop()


@contextlib.asynccontextmanager
async def redis_keys() -> AsyncIterator[tuple[Redis, str]]:
    """A Redis client and a key prefix of the caller's own, whose keys are removed afterwards."""
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        _unavailable("Redis", exc)
    prefix = f"abdi-test:{uuid.uuid4().hex[:8]}:"
    try:
        yield client, prefix
    finally:
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    if request.param == "memory":
        memory = MemoryStore()
        yield memory
        return
    async with redis_keys() as (client, prefix):
        yield RedisStore(client, prefix)


@dataclass
class Result:
    """What one in-process `abdi` call returned and printed."""

    code: int
    out: str
    err: str


@pytest.fixture
async def cli(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> AsyncIterator[Callable[..., Awaitable[Result]]]:
    """`abdi ARGS...` in-process, in a thread (it runs its own event loop), on the test database."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    async def run(*argv: str) -> Result:
        capsys.readouterr()
        code = await asyncio.to_thread(cli_main, list(argv))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    yield run
    root.handlers[:] = handlers
    root.setLevel(level)


def _whatsapp_body(params: dict) -> str:
    """The text of a sent message; a notification with buttons goes out as an interactive one."""
    if "text" in params:
        return str(params["text"]["body"])
    return str(params["interactive"]["body"]["text"])


@pytest.fixture
async def inbox(demo_app: App, chat, bot_api: FakeBotAPI):
    """inbox(user_ref) -> every notification that chat has received so far, oldest first.

    Sends what is due through the real drain and senders: Telegram's on the fake Bot API (the
    direct variant's chats are Telegram accounts), WhatsApp's on the fake Graph API, then reads
    what those fakes were sent. A small per-chat interval keeps one chat's messages in order.
    """
    from bot.channels.whatsapp import WhatsAppAdapter
    from bot.channels.whatsapp_render import WORD_JOINER
    from bot.channels.whatsapp_sender import WhatsAppSender
    from bot.channels.whatsapp_status import TRACKER_PREFIX
    from tests.helpers.delivery_helpers import drain_all, telegram_sender

    harness = chat.harness
    senders = {"telegram": telegram_sender(demo_app, bot_api, interval=0.02)}
    if harness is not None:
        fast = demo_app.settings.model_copy(
            update={"whatsapp_per_second": 1000.0, "whatsapp_per_chat_interval": 0.02}
        )
        senders["whatsapp"] = WhatsAppSender(WhatsAppAdapter(demo_app, harness.wa), fast)

    async def read(user_ref: str) -> list[str]:
        await drain_all(demo_app, senders)
        texts = [c.params["text"] for c in bot_api.sent() if str(c.params["chat_id"]) == user_ref]
        if harness is not None:
            texts += [
                _whatsapp_body(c.params).replace(WORD_JOINER, "")
                for c in harness.fake.sent()
                if c.to.endswith(user_ref)
                and str(c.params.get("biz_opaque_callback_data", "")).startswith(TRACKER_PREFIX)
            ]
        return texts

    yield read
    await senders["telegram"].close()


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    """The fake Telegram Bot API on loopback (tests/fakes/fake_bot_api.py)."""
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


TG_SECRET = "s3cret-webhook-token"


@pytest.fixture
def tg_settings(demo_app: App, bot_api: FakeBotAPI) -> Settings:
    """Telegram settings pointing at the fake Bot API (token, base, webhook secret)."""
    from tests.fakes.fake_bot_api import TOKEN

    return demo_app.settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "telegram_api_base": bot_api.base,
            "telegram_webhook_secret": SecretStr(TG_SECRET),
            "health_port": 0,
        }
    )


@pytest.fixture
async def tg_polling(demo_app: App, tg_settings: Settings) -> AsyncIterator[Any]:
    """The real adapter long-polling the fake Bot API (stopped at the end)."""
    from bot.channels.telegram import TelegramAdapter, make_bot
    from bot.channels.telegram_polling import run_polling

    bot = make_bot(tg_settings)
    adapter = TelegramAdapter(demo_app.dispatcher, bot)
    task = asyncio.create_task(
        run_polling(demo_app, bot, adapter=adapter, polling_timeout=1, handle_signals=False)
    )
    yield adapter
    adapter.stop_polling()
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def tg_webhook(demo_app: App, tg_settings: Settings) -> AsyncIterator[tuple[Any, str]]:
    """(HTTP client, URL) of the real Telegram webhook app on loopback."""
    from aiohttp import ClientSession
    from aiohttp.test_utils import TestServer

    from bot.channels.telegram import make_bot
    from bot.channels.telegram_webhook import webhook_app
    from bot.web import SERVER_OPTIONS

    bot = make_bot(tg_settings)
    demo_app.settings = tg_settings
    server = TestServer(webhook_app(demo_app, bot), host="127.0.0.1")
    await server.start_server(**SERVER_OPTIONS)
    async with ClientSession() as client:
        yield client, str(server.make_url(tg_settings.webhook_path))
    await server.close()
    await bot.session.close()


@pytest.fixture
async def wa(demo_app: App) -> AsyncIterator[WhatsAppHarness]:
    """The WhatsApp harness on the demo office: signed webhooks in, the fake Graph API out."""
    harness = await WhatsAppHarness(demo_app).start()
    yield harness
    await harness.stop()


async def count_rows(app: App, model: type) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
