"""Updates through the Telegram adapter vs a bare aiogram echo bot, same fake Bot API, same run.

500 users in closed loop (send, wait for the answer, send again) push N updates, a mix of /menu
and button presses, through real aiogram polling against the fake Bot API on loopback, with a real
database. Prints updates/s and p50/p99 latency (update queued -> answer received) per variant.
The fake Bot API and the simulated users run in a child process, as Telegram is not in ours.

    python -m bench.telegram_throughput [--updates 5000] [--users 500] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.types import CallbackQuery, Message
from pydantic import SecretStr

from bench.closed_loop import Answers, arguments, closed_loop, finish, report, spawn_driver
from bot.app import App, create_app
from bot.channels.telegram import TelegramAdapter, make_bot
from bot.channels.telegram_polling import run_polling
from bot.config import Settings
from tests.fakes.fake_bot_api import TOKEN, Call, FakeBotAPI, callback_update, message_update

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BUTTONS = ("home:help", "home:language")
ANSWERS = {"sendMessage", "editMessageText"}
Serve = Callable[[str], Awaitable[Callable[[], Awaitable[None]]]]


async def drive(api: FakeBotAPI, users: int, total: int) -> tuple[float, list[float]]:
    """Closed-loop users; returns (elapsed seconds, latencies in ms)."""
    answers = Answers()

    def listen(call: Call) -> None:
        if call.method in ANSWERS:
            answers.seen(int(call.params.get("chat_id", 0)), call.at)

    async def step(uid: int, n: int) -> float:
        update = (
            message_update(uid, "/menu")
            if n % 2 == 0
            else callback_update(uid, BUTTONS[(uid + n) % 2])
        )
        return await answers.latency(uid, api.push(update))

    return await closed_loop(users, total, step, api.listeners, listen)


async def drive_process(users: int, total: int) -> None:
    """Child process: serve the fake API, wait for the bot's first poll, warm up, measure."""
    api = FakeBotAPI()
    await api.start()
    polled = asyncio.Event()
    api.listeners.append(lambda call: polled.set() if call.method == "deleteWebhook" else None)
    print(api.base, flush=True)
    await polled.wait()
    await drive(api, users, max(users, total // 5))  # warm-up: connections, caches, accounts
    elapsed, latencies = await drive(api, users, total)
    print(json.dumps({"elapsed": elapsed, "latencies": latencies}), flush=True)
    # Keep serving until the parent has stopped its bot (it closes our stdin then).
    await asyncio.to_thread(sys.stdin.read)
    await api.stop()


async def measure(name: str, serve: Serve, users: int, total: int) -> float:
    child = await spawn_driver(
        "bench.telegram_throughput", "--users", str(users), "--updates", str(total)
    )
    assert child.stdout is not None
    try:
        base = (await child.stdout.readline()).decode().strip()
        stop = await serve(base)
        result = json.loads(await child.stdout.readline())
        await stop()
    except BaseException:
        child.kill()  # a driver left waiting for answers would outlive this run
        raise
    await finish(child)
    return report(name, result, users, "update")


def echo_server(concurrency: int) -> Serve:
    async def serve(base: str) -> Callable[[], Awaitable[None]]:
        settings = Settings(_env_file=None, telegram_bot_token=TOKEN, telegram_api_base=base)
        bot = make_bot(settings)
        dp = AiogramDispatcher()

        @dp.message()
        async def echo(message: Message, bot: Bot) -> None:
            await bot.send_message(message.chat.id, message.text or "")

        @dp.callback_query()
        async def press(query: CallbackQuery, bot: Bot) -> None:
            await bot.answer_callback_query(query.id)
            assert query.message is not None
            await bot.edit_message_text(
                query.data or "", chat_id=query.message.chat.id, message_id=query.message.message_id
            )

        await bot.delete_webhook()  # as run_polling does; the driver starts on it
        task = asyncio.create_task(
            dp.start_polling(
                bot, polling_timeout=1, handle_signals=False, tasks_concurrency_limit=concurrency
            )
        )

        async def stop() -> None:
            await dp.stop_polling()
            await task

        return stop

    return serve


def abdi_server(app: App) -> Serve:
    async def serve(base: str) -> Callable[[], Awaitable[None]]:
        bot = make_bot(
            app.settings.model_copy(
                update={"telegram_bot_token": SecretStr(TOKEN), "telegram_api_base": base}
            )
        )
        app.settings = app.settings.model_copy(update={"health_port": 0})  # no health server
        adapter = TelegramAdapter(app.dispatcher, bot)
        task = asyncio.create_task(
            run_polling(app, bot, adapter=adapter, polling_timeout=1, handle_signals=False)
        )

        async def stop() -> None:
            adapter.stop_polling()
            await task

        return stop

    return serve


async def with_database(kind: str, run: Callable[[str], Awaitable[None]]) -> None:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        return
    name = f"abdi_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        await run(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def main() -> None:
    args = arguments(__doc__ or "", "updates", 5000, 500)
    if args.drive:
        await drive_process(args.users, args.count)
        return
    logging.basicConfig(level=logging.ERROR)
    concurrency = Settings(_env_file=None).polling_concurrency
    echo = await measure("aiogram echo (bare)", echo_server(concurrency), args.users, args.count)
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:

        async def run(url: str, kind: str = kind) -> None:
            app = await create_app(Settings(_env_file=None, database_url=url, auto_migrate=True))
            try:
                rate = await measure(f"abdi on {kind}", abdi_server(app), args.users, args.count)
            finally:
                await app.close()
            print(f"{'':<22} ratio abdi/echo = {rate / echo:.2f}", flush=True)

        await with_database(kind, run)


if __name__ == "__main__":
    asyncio.run(main())
