"""A broadcast to 100,000 recipients against the fake Bot API, with 50 people chatting meanwhile.

Prints, per run: the configured limit and the achieved messages/s of the drain, and the p50/p99
latency of interactive replies (inbound -> dispatcher -> reply accepted by the fake Bot API) from
50 users chatting (about one message each per second), beside the same users with no
broadcast; then the peak memory (ru_maxrss) of the bot process. The fake Bot API runs in a
child process (Telegram is not in ours); in the fast run it answers 429 (retry_after=1) to every
10,000th broadcast message, so the figures also show that a throttled broadcast does not slow
the replies.

    python -m bench.broadcast [--recipients 100000] [--db postgres|sqlite] [--slow-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import multiprocessing as mp
import os
import random
import resource
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy import func, select, update

from bot.app import App, create_app
from bot.background import start
from bot.channels.telegram import TelegramAdapter, make_bot
from bot.channels.telegram_outbound import TelegramSender
from bot.config import Settings
from bot.messages import Channel, Inbound
from bot.senders import ChannelLimits
from bot.services.broadcasting.audiences import EVERYONE, Audience
from storage import db
from storage.models import Delivery
from storage.state import MemoryStore
from tests.fakes.fake_bot_api import TOKEN, FakeBotAPI

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "abdi_bench_broadcast"
WARMUP = 3  # messages per user not measured
POOL = 15  # + 10 overflow connections
USERS = int(__import__("os").environ.get("BENCH_USERS", "50"))
BROADCAST_CHATS = 1_000_000  # broadcast chat ids start here; interactive users are 1..50


def _fake_api(conn, throttle_every: int) -> None:  # type: ignore[no-untyped-def]
    """Child process: serve the fake Bot API until told to stop."""

    async def main() -> None:
        api = FakeBotAPI()
        counter = itertools.count(1)

        def fault(call):  # type: ignore[no-untyped-def]
            chat = int(call.params.get("chat_id") or 0)
            if throttle_every and chat >= BROADCAST_CHATS and next(counter) % throttle_every == 0:
                body = {"ok": False, "error_code": 429, "description": "Too Many Requests",
                        "parameters": {"retry_after": 1}}  # fmt: skip
                return 429, body
            return None

        api.fault = fault
        base = await api.start()
        conn.send(base)
        await asyncio.to_thread(conn.recv)
        await api.stop()

    logging.disable(logging.CRITICAL)
    asyncio.run(main())


class FakeServer:
    def __init__(self, throttle_every: int = 0) -> None:
        self.parent, child = mp.Pipe()
        self.process = mp.get_context("spawn").Process(
            target=_fake_api, args=(child, throttle_every)
        )

    def __enter__(self) -> str:
        self.process.start()
        return str(self.parent.recv())

    def __exit__(self, *exc: object) -> None:
        self.parent.send("stop")
        self.process.join(10)


def _setup(url: str, recipients: int) -> None:
    """Child process: demo office + `recipients` linked staff (its memory is not the bot's)."""

    async def main() -> None:
        from bot.cli.demo import load_demo
        from bot.i18n import translator
        from tests.helpers.delivery_helpers import add_staff

        app = await create_app(Settings(_env_file=None, database_url=url, auto_migrate=True))
        await load_demo(app, translator("id"), story=False)
        await add_staff(app, recipients, chat_base=BROADCAST_CHATS)
        await app.close()

    asyncio.run(main())


async def _fresh_database(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"


async def chatting(app: App, base: str, stop: asyncio.Event) -> list[float]:
    """50 users: message, wait for the reply to be accepted, read for 0.5-1.5 s, again (ms)."""
    settings = app.settings.model_copy(update={"telegram_api_base": base})
    adapter = TelegramAdapter(app.dispatcher, make_bot(settings))
    latencies: list[float] = []
    ids = itertools.count(1)

    async def user(uid: int) -> None:
        for step in itertools.count():
            if stop.is_set():
                return
            start = time.perf_counter()
            inbound = Inbound(
                Channel.TELEGRAM,
                str(uid),
                str(uid),
                event_id=f"bench-{uid}-{next(ids)}-{time.monotonic_ns()}",
                text="/menu" if step % 2 == 0 else None,
                action=None if step % 2 == 0 else "home:help",
            )
            replies = await app.dispatcher.handle(inbound)
            await adapter.send(uid, replies)
            if step >= WARMUP:  # a new user's first messages create their account
                latencies.append((time.perf_counter() - start) * 1000)
            # People read before they tap again: about one message per user per second.
            await asyncio.sleep(random.uniform(0.5, 1.5))

    await asyncio.gather(*(user(uid) for uid in range(1, USERS + 1)))
    await adapter.bot.session.close()
    return latencies


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


async def _sent(app: App) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).where(Delivery.status == "sent")) or 0)


async def _worker_process(url: str, base: str, rate: float) -> asyncio.subprocess.Process:
    """`abdi worker` as a separate process (DELIVERY_IN_PROCESS=false set-ups)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TELEGRAM_"))}
    env |= {
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": base,
        "TELEGRAM_BROADCAST_RATE": str(rate),
        "DELIVERY_BATCH": "500",
        "DELIVERY_CONCURRENCY": "64",
        "LOG_LEVEL": "ERROR",
    }
    abdi = Path(sys.executable).with_name("abdi")
    process = await asyncio.create_subprocess_exec(
        str(abdi), "worker", env=env, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    await process.stdout.readline()  # "Worker … running"
    return process


async def run(
    url: str,
    base: str,
    rate: float | None,
    seconds: float,
    recipients: int,
    *,
    separate: bool = False,
) -> tuple[float, list[float], int]:
    """One measurement: (achieved msgs/s, reply latencies, messages sent); rate None = no
    broadcast; `separate`: the drain runs in an `abdi worker` process, not in the bot's."""
    settings = Settings(
        _env_file=None,
        database_url=url,
        telegram_bot_token=TOKEN,
        telegram_api_base=base,
        telegram_broadcast_rate=rate or 25,
        telegram_chat_interval=1.0,
        delivery_batch=500,
        delivery_concurrency=64,
    )
    # A modest pool: the PostgreSQL server is shared (max_connections 100) on the bench machine.
    engine = db.create_engine(url, pool_size=POOL)
    app = App(settings, engine, db.session_factory(engine), MemoryStore())
    async with app.sessions() as session, session.begin():
        await session.execute(update(Delivery).values(status="cancelled"))  # earlier runs
    stop = asyncio.Event()
    runner = None
    worker = None
    if rate is not None:
        from bot.services.broadcasting import broadcasts
        from storage.models import Agency, utcnow

        async with app.sessions() as session, session.begin():
            agency = await session.scalar(select(Agency))
            assert agency is not None
            b = await broadcasts.create(
                session, agency, Audience(EVERYONE), actor="bench", text="Apel pagi jam 07.30."
            )
            await broadcasts.release(session, b, utcnow())
        if separate:
            worker = await _worker_process(url, base, rate)
        else:
            sender = TelegramSender(make_bot(settings), ChannelLimits(rate, 1.0))
            runner = start(app, {"telegram": sender}, run_jobs=False, idle=0.1)
    users = asyncio.create_task(chatting(app, base, stop))
    started = time.perf_counter()
    before = await _sent(app)
    while time.perf_counter() - started < seconds:
        await asyncio.sleep(1)
        if rate is not None and await _sent(app) - before >= recipients:
            break
    elapsed = time.perf_counter() - started
    sent = await _sent(app) - before
    stop.set()
    latencies = await users
    if runner is not None:
        await runner.stop()
    if worker is not None:
        worker.send_signal(signal.SIGTERM)
        await worker.wait()
    await app.close()
    return sent / elapsed, latencies, sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--slow-seconds", type=float, default=20, help="length of the 25/s run")
    parser.add_argument("--fast-seconds", type=float, default=600, help="cap of the 1,000/s run")
    parser.add_argument("--quiet-seconds", type=float, default=30, help="baseline length")
    parser.add_argument(
        "--worker-process",
        action="store_true",
        help="fast run with the drain in an `abdi worker` process instead of the bot's",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = asyncio.run(_fresh_database(args.db, Path(tmp)))
        setup = mp.get_context("spawn").Process(target=_setup, args=(url, args.recipients))
        setup.start()
        setup.join()
        with FakeServer() as base:
            _, quiet, _ = asyncio.run(run(url, base, None, args.quiet_seconds, args.recipients))
            slow_rate, slow, _ = asyncio.run(run(url, base, 25, args.slow_seconds, args.recipients))
        with FakeServer(throttle_every=10_000) as base:
            fast_rate, fast, fast_sent = asyncio.run(
                run(
                    url,
                    base,
                    1000,
                    args.fast_seconds,
                    args.recipients,
                    separate=args.worker_process,
                )
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"broadcast bench ({args.db}, {args.recipients} recipients, {USERS} users chatting, "
        f"drain {'in a worker process' if args.worker_process else 'in-process'}): "
        f"limit 25/s -> {slow_rate:.1f} msgs/s; limit 1000/s -> {fast_rate:.0f} msgs/s "
        f"({fast_sent} sent, 429 every 10,000th); reply p50/p99 ms: no broadcast "
        f"{_pct(quiet, 50):.0f}/{_pct(quiet, 99):.0f}, during 25/s {_pct(slow, 50):.0f}/"
        f"{_pct(slow, 99):.0f}, during 1000/s {_pct(fast, 50):.0f}/{_pct(fast, 99):.0f}; "
        f"peak RSS {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
