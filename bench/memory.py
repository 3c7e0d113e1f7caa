"""Peak memory of one bot process with 100,000 employees and linked accounts.

Seeds a fresh database (PostgreSQL and/or SQLite) with 100,000 employees, each with a linked
Telegram account, and a published quarter with standings; starts one real `abdi run` (polling
the fake Bot API served by this process, the drain of deliveries in-process as by default);
releases an HR broadcast to everyone; and sends the bot a few thousand updates from many users
in closed loop (/menu, buttons, "Posisi saya" with its chart). Prints the bot process's peak
RSS (VmHWM from /proc) beside a bare aiogram echo process polling the same fake API with the
same updates, measured in the same run.

    python -m bench.memory [--employees 100000] [--updates 3000] [--users 300] [--db both]
    python -m bench.memory --imports    # RSS after each group of imports of `abdi run`
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import func, insert, select

from bench.closed_loop import Answers, closed_loop
from bot.app import create_app
from bot.config import Settings
from bot.services import periods
from bot.services.broadcasting import broadcasts
from bot.services.broadcasting.audiences import EVERYONE, Audience
from bot.services.privacy_notice import NOTICES
from bot.services.rating_scheme import load_scheme
from storage.models import Account, Agency, Delivery, Employee, Rating, Unit
from tests.fakes.fake_bot_api import TOKEN, Call, FakeBotAPI, callback_update, message_update

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CHAT_BASE = 1_000_000  # chat id = CHAT_BASE + employee id
CHUNK = 5000
RATERS = 5  # per chatting user, so that their quarter is ranked
BROADCAST = "Apel pagi jam 07.30 di halaman kantor."
ANSWERS = {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}
# One user's updates in turn: the menu, buttons, and their standing (text and PNG chart).
STEPS = (
    ("text", "/menu"),
    ("button", "home:help"),
    ("text", "/menu"),
    ("button", "standing:mine"),
    ("button", "home:language"),
)


async def seed(url: str, employees: int, chatting: int) -> list[int]:
    """Roster, accounts, and a published quarter in which the chatting users are ranked."""
    app = await create_app(Settings(_env_file=None, database_url=url, auto_migrate=True))
    try:
        async with app.sessions() as session, session.begin():
            agency = await session.scalar(select(Agency))
            assert agency is not None
            units = [
                {"agency_id": agency.id, "name": f"Bidang {u + 1}"}
                for u in range((employees + 49) // 50)
            ]
            await session.execute(insert(Unit), units)
            unit_ids = list(await session.scalars(select(Unit.id).order_by(Unit.id)))
            for first in range(0, employees, CHUNK):
                await session.execute(
                    insert(Employee),
                    [
                        {
                            "agency_id": agency.id,
                            "nip": f"9{n:017d}",
                            "name": f"Pegawai {n}",
                            "unit_id": unit_ids[n // 50],
                            "kind": "PNS",
                        }
                        for n in range(first, min(employees, first + CHUNK))
                    ],
                )
            ids = list(await session.scalars(select(Employee.id).order_by(Employee.id)))
            for first in range(0, len(ids), CHUNK):
                await session.execute(
                    insert(Account),
                    [
                        {
                            "agency_id": agency.id,
                            "channel": "telegram",
                            "user_ref": str(CHAT_BASE + i),
                            "chat_ref": str(CHAT_BASE + i),
                            "employee_id": i,
                            "notice_version": NOTICES.version,
                        }
                        for i in ids[first : first + CHUNK]
                    ],
                )
            scheme = await load_scheme(session, agency.id)
            now = datetime.now(UTC)
            period = await periods.open_quarter(
                session,
                agency,
                periods.QuarterRef(now.year - 1, 4),
                scheme,
                "bench",
                closes_at=now + timedelta(days=1),
            )
            rng = random.Random(5)
            ratings = []
            for ratee in ids[:chatting]:
                for rater in ids[chatting : chatting + RATERS]:
                    scores = {c: rng.randint(2, 5) for c in scheme.criteria}
                    ratings.append(
                        {
                            "period_id": period.id,
                            "rater_id": rater,
                            "ratee_id": ratee,
                            "relation": "peer",
                            "scores": scores,
                            "score": sum(scores.values()) / len(scores),
                        }
                    )
            await session.execute(insert(Rating), ratings)
            await periods.close_period(session, period, scheme, "bench")
            await periods.publish_period(session, period, scheme, "bench")
            # The "your standing is ready" notes are not this benchmark's load.
            await session.execute(Delivery.__table__.delete())
            return [CHAT_BASE + i for i in ids[:chatting]]
    finally:
        await app.close()


async def broadcast_everyone(url: str) -> int:
    app = await create_app(Settings(_env_file=None, database_url=url))
    try:
        async with app.sessions() as session, session.begin():
            agency = await session.scalar(select(Agency))
            assert agency is not None
            b = await broadcasts.create(
                session, agency, Audience(EVERYONE), actor="bench", text=BROADCAST
            )
            return await broadcasts.release(session, b, datetime.now(UTC))
    finally:
        await app.close()


async def sent_count(url: str) -> int:
    app = await create_app(Settings(_env_file=None, database_url=url))
    try:
        async with app.sessions() as session:
            found = await session.scalar(select(func.count()).where(Delivery.status == "sent"))
            return int(found or 0)
    finally:
        await app.close()


def peak_mb(pid: int) -> tuple[float, float]:
    """(peak RSS, current RSS) of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


async def drive(api: FakeBotAPI, users: list[int], total: int) -> list[float]:
    """Closed-loop users (send, wait for the answer, send again); latencies in ms."""
    answers = Answers()

    def listen(call: Call) -> None:
        if call.method in ANSWERS and call.params.get("text") != BROADCAST:
            answers.seen(int(call.params.get("chat_id", 0)), call.at)

    async def step(uid: int, n: int) -> float:
        kind, what = STEPS[n % len(STEPS)]
        chat = users[uid - 100_000]
        update = message_update(chat, what) if kind == "text" else callback_update(chat, what)
        return await answers.latency(chat, api.push(update))

    _elapsed, latencies = await closed_loop(len(users), total, step, api.listeners, listen)
    return latencies


@asynccontextmanager
async def process(
    args: list[str], env: dict[str, str], api: FakeBotAPI
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child polling `api`: started, waited for (its deleteWebhook), stopped by SIGTERM."""
    polled = asyncio.Event()

    def listen(call: Call) -> None:
        if call.method == "deleteWebhook":
            polled.set()

    api.listeners.append(listen)
    own = ("DATABASE_", "TELEGRAM_", "WHATSAPP_", "REDIS", "WEBHOOK_", "HEALTH_", "DELIVERY_")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    environment |= {"LOG_LEVEL": "ERROR", **env}
    # In /tmp no stray .env is read.
    child = await asyncio.create_subprocess_exec(*args, env=environment, cwd="/tmp")
    try:
        await asyncio.wait_for(polled.wait(), 120)
        yield child
    finally:
        api.listeners.remove(listen)
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 60)
            except TimeoutError:
                child.kill()
                await child.wait()


async def measure_echo(users: int, total: int) -> float:
    api = FakeBotAPI()
    base = await api.start()
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": base}
    try:
        async with process([sys.executable, "-c", ECHO_BOT], env, api) as child:
            await drive(api, [CHAT_BASE + i for i in range(1, users + 1)], total)
            peak, _now = peak_mb(child.pid)
    finally:
        await api.stop()
    print(f"aiogram echo (bare)  peak RSS {peak:6.1f} MB", flush=True)
    return peak


async def measure_abdi(kind: str, url: str, args: argparse.Namespace, echo: float) -> None:
    t0 = time.perf_counter()
    chats = await seed(url, args.employees, args.users)
    seeded = time.perf_counter() - t0
    api = FakeBotAPI()
    base = await api.start()
    env = {
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": base,
        "TELEGRAM_BROADCAST_RATE": str(args.broadcast_rate),
        "HEALTH_PORT": "0",
    }
    abdi = str(Path(sys.executable).with_name("abdi"))
    try:
        async with process([abdi, "run"], env, api) as child:
            recipients = await broadcast_everyone(url)
            started = time.monotonic()
            try:
                latencies = await drive(api, chats, args.updates)
            except TimeoutError:  # an answer not seen in 60 s: say so, the memory still counts
                latencies = [float("inf")]
            # Let the drain go on a while after the conversations (the broadcast is long).
            await asyncio.sleep(max(0.0, args.broadcast_seconds - (time.monotonic() - started)))
            peak, now = peak_mb(child.pid)
        sent = await sent_count(url)
    finally:
        await api.stop()
    latencies.sort()
    answered = (
        f"{len(latencies)} updates from {args.users} users, p50 "
        f"{latencies[len(latencies) // 2]:.0f} ms"
        if latencies[-1] != float("inf")
        else f"updates from {args.users} users stopped: an answer took over 60 s"
    )
    print(
        f"abdi on {kind:<8}     peak RSS {peak:6.1f} MB (now {now:.1f} MB), ratio to echo "
        f"{peak / echo:.2f} | {args.employees} employees and accounts (seeded in {seeded:.0f} s), "
        f"{answered} | broadcast to {recipients}: {sent} sent",
        flush=True,
    )


async def with_database(kind: str, args: argparse.Namespace, echo: float) -> None:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            await measure_abdi(kind, f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args, echo)
        return
    name = f"abdi_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        await measure_abdi(kind, url, args, echo)
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


# The bare baseline: aiogram polling, each update answered with one call, no database, and
# nothing of Abdi imported (run with `python -c`, so this module's imports are not counted).
ECHO_BOT = """
import asyncio, os
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message

async def main():
    server = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_BASE"])
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=server))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await bot.send_message(message.chat.id, message.text or "")

    @dp.callback_query()
    async def press(query: CallbackQuery) -> None:
        await bot.answer_callback_query(query.id)
        await bot.edit_message_text(
            query.data or "", chat_id=query.message.chat.id, message_id=query.message.message_id
        )

    await bot.delete_webhook()
    await dp.start_polling(bot, polling_timeout=1, tasks_concurrency_limit=32)

asyncio.run(main())
"""


# What `abdi run` imports, in the order it does, grouped; each group's RSS is read in one fresh
# interpreter (nothing of this module loaded) after importing it and everything before it.
IMPORT_STEPS = (
    ("Python", ""),
    ("SQLAlchemy (asyncio), pydantic-settings", "sqlalchemy.ext.asyncio, pydantic_settings"),
    ("storage.models, storage.db (with Alembic)", "storage.models, storage.db"),
    ("bot.app (handlers, Babel, services, guidance search)", "bot.app"),
    ("the CLI (every command's module)", "bot.cli"),
    ("the Telegram channel (aiogram), serving, the drain", "bot.channels.serving, bot.background"),
    ("Pillow, on the first chart", "PIL.Image, PIL.ImageDraw, PIL.ImageFont"),
)
RSS_AFTER_EACH = """
import importlib, re, sys
for modules in sys.argv[1:]:
    for name in filter(None, (m.strip() for m in modules.split(","))):
        importlib.import_module(name)
    with open("/proc/self/status") as status:
        print(int(re.search(r"VmRSS:\\s+(\\d+)", status.read()).group(1)) / 1024, flush=True)
"""


def import_steps() -> None:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", RSS_AFTER_EACH, *(m for _, m in IMPORT_STEPS)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    before = 0.0
    for (label, _), line in zip(IMPORT_STEPS, done.stdout.split(), strict=True):
        total = float(line)
        print(f"{label:<55} +{total - before:6.1f} MB = {total:6.1f} MB")
        before = total


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)
    echo = await measure_echo(args.users, args.updates)
    for kind in ["postgres", "sqlite"] if args.db == "both" else [args.db]:
        await with_database(kind, args, echo)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--broadcast-rate", type=float, default=200)
    parser.add_argument(
        "--broadcast-seconds", type=float, default=30, help="at least this long with the drain"
    )
    parser.add_argument(
        "--imports", action="store_true", help="only the RSS after each group of imports"
    )
    parsed = parser.parse_args()
    if parsed.imports:
        import_steps()
    else:
        asyncio.run(main(parsed))
