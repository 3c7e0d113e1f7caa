"""Updates through the Telegram adapter vs a bare aiogram echo bot, same fake Bot API, same run.

Users in closed loop (send, wait for the answer, send again) push N updates, a mix of /menu and
button presses, through real aiogram polling against the fake Bot API on loopback, with a real
database. The fake Bot API and the simulated users run in a child process, as Telegram is not
in ours. Per variant: updates/s, p50/p99 latency (update queued -> answer received) and the bot
process's CPU time per update; for Abdi, its ratios to the echo measured just before it, and
the SQL statements and commits per update (measured phase only, warm-up excluded).

    python -m bench.telegram_throughput [--updates 5000] [--users 500] [--db sqlite|postgres|both]

With ABDI_BENCH_PROFILE=DIR set, the measured phase of each Abdi variant is profiled with
pyinstrument (wall clock of the bot's process) into DIR/telegram-<db>.{pyisession,txt} and
summed by layer (bench/profile_layers.py) into DIR/telegram-<db>-layers.txt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.types import CallbackQuery, Message
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import profile_layers
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
    print("measuring", flush=True)  # the parent starts its counters (and profiler) here
    elapsed, latencies = await drive(api, users, total)
    print(json.dumps({"elapsed": elapsed, "latencies": latencies}), flush=True)
    # Keep serving until the parent has stopped its bot (it closes our stdin then).
    await asyncio.to_thread(sys.stdin.read)
    await api.stop()


def handled_updates() -> float:
    """Updates the core has handled in this process so far (the /metrics counter)."""
    labels = {"channel": "telegram", "outcome": "handled"}
    return REGISTRY.get_sample_value("abdi_updates_total", labels) or 0.0


class Phase:
    """What the parent watches during the measured phase only (the warm-up creates accounts)."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class SqlCount(Phase):
    """SQL statements and commits the bot's engine sent per update handled by the core."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements = self.commits = 0
        self.updates = 0.0
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "commit", self._commit)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1

    def start(self) -> None:
        self.statements = self.commits = 0
        self.updates = handled_updates()

    def stop(self) -> None:
        self.updates = handled_updates() - self.updates

    def line(self) -> str:
        per = max(self.updates, 1)
        return (
            f"SQL per update: {self.statements / per:.2f} statements, "
            f"{self.commits / per:.2f} commits ({self.updates:.0f} updates)"
        )


class Profile(Phase):
    """pyinstrument over the measured phase: the session, its tree and the time by layer."""

    def __init__(self, folder: Path, name: str) -> None:
        from pyinstrument import Profiler  # a development tool: only imported when asked for

        self.folder, self.name = folder, name
        self.profiler = Profiler(interval=0.001, async_mode="disabled")
        self.updates = 0.0

    def start(self) -> None:
        self.updates = handled_updates()
        self.profiler.start()

    def stop(self) -> None:
        session = self.profiler.stop()
        updates = int(handled_updates() - self.updates)
        self.folder.mkdir(parents=True, exist_ok=True)
        session.save(str(self.folder / f"{self.name}.pyisession"))
        text = self.profiler.output_text(unicode=True, show_all=False)
        (self.folder / f"{self.name}.txt").write_text(text)
        summary = profile_layers.table(session, updates)
        (self.folder / f"{self.name}-layers.txt").write_text(summary + "\n")
        print(summary, flush=True)


@dataclass(frozen=True)
class Figures:
    rate: float  # updates/s
    p99: float  # ms
    cpu: float  # ms of this process's CPU (all its threads) per update: the work, whatever the load

    def against(self, echo: Figures) -> str:
        return (
            f"ratio abdi/echo = {self.rate / echo.rate:.2f}, p99 abdi/echo = "
            f"{self.p99 / echo.p99:.2f}, CPU per update abdi/echo = {self.cpu / echo.cpu:.2f}"
        )


async def measure(
    name: str, serve: Serve, users: int, total: int, phases: Sequence[Phase] = ()
) -> Figures:
    """Run one variant against a fresh driver and print its figures."""
    child = await spawn_driver(
        "bench.telegram_throughput", "--users", str(users), "--updates", str(total)
    )
    assert child.stdout is not None
    try:
        base = (await child.stdout.readline()).decode().strip()
        stop = await serve(base)
        assert (await child.stdout.readline()).decode().strip() == "measuring"
        for phase in phases:
            phase.start()
        cpu = time.process_time()
        result = json.loads(await child.stdout.readline())
        cpu = time.process_time() - cpu
        for phase in reversed(phases):
            phase.stop()
        await stop()
    except BaseException:
        child.kill()  # a driver left waiting for answers would outlive this run
        raise
    await finish(child)
    rate = report(name, result, users, "update")
    figures = Figures(
        rate,
        statistics.quantiles(result["latencies"], n=100)[98],
        cpu * 1000 / len(result["latencies"]),
    )
    print(f"{'':<22} CPU of the bot's process: {figures.cpu:.2f} ms/update", flush=True)
    return figures


def echo_server(concurrency: int) -> Serve:
    async def serve(base: str) -> Callable[[], Awaitable[None]]:
        settings = Settings(
            _env_file=None, telegram_bot_token=SecretStr(TOKEN), telegram_api_base=base
        )
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
    profile = os.environ.get("ABDI_BENCH_PROFILE")
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        # The echo right before each variant: on a shared machine the load drifts in minutes.
        echo = await measure(
            "aiogram echo (bare)", echo_server(concurrency), args.users, args.count
        )

        async def run(url: str, kind: str = kind, echo: Figures = echo) -> None:
            app = await create_app(Settings(_env_file=None, database_url=url, auto_migrate=True))
            sql = SqlCount(app.engine)
            phases: list[Phase] = [sql]
            if profile:
                phases.append(Profile(Path(profile), f"telegram-{kind}"))
            try:
                figures = await measure(
                    f"abdi on {kind}", abdi_server(app), args.users, args.count, phases
                )
            finally:
                await app.close()
            print(f"{'':<22} {figures.against(echo)}", flush=True)
            print(f"{'':<22} {sql.line()}", flush=True)

        await with_database(kind, run)


if __name__ == "__main__":
    asyncio.run(main())
