"""A broadcast to 100,000 recipients against the fake Bot API, with 50 people chatting meanwhile.

Prints, per run: the configured limit and the achieved messages/s of the drain, and the p50/p99
latency of interactive replies (inbound -> dispatcher -> reply accepted by the fake Bot API) from
50 users chatting (about one message each per second), beside the same users with no
broadcast, and their ratio; then the peak memory (ru_maxrss) of the bot process. The fake Bot
API runs in a child process (Telegram is not in ours); in the fast run it answers 429
(retry_after=1) to every 10,000th broadcast message, so the figures also show that a throttled
broadcast does not slow the replies. The fast run's drain is one `abdi worker` process (unless
--in-process); the fake counts what each recipient received: duplicates (a chat that got the
message twice) and losses (a recipient that never got it); and the worker's CPU per message.
Last, a WhatsApp run: `--whatsapp` messages (default 2,400: 30 s at 80/s) through a worker to a
fake Graph API in a child process, which times every send: the achieved rate against the 80/s
limit, and the most sends seen in any one second.

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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from tests.fakes import fake_graph_api as g
from tests.fakes.fake_bot_api import TOKEN, FakeBotAPI

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "abdi_bench_broadcast"
WARMUP = 3  # messages per user not measured
POOL = 15  # + 10 overflow connections
# Requests one drain keeps in flight: at 1,000/s waves of 100 (a tenth of a second), two on the
# wire while the next wave's slots come due.
CONCURRENCY = 256
WA_RATE = 80.0
USERS = int(__import__("os").environ.get("BENCH_USERS", "50"))
BROADCAST_CHATS = 1_000_000  # broadcast chat ids start here; interactive users are 1..50


def _fake_api(conn, throttle_every: int) -> None:  # type: ignore[no-untyped-def]
    """Child process: serve the fake Bot API until told to stop; then send back how many times
    each broadcast chat received a message (accepted calls only)."""

    async def main() -> None:
        api = FakeBotAPI()
        counter = itertools.count(1)
        received: Counter[int] = Counter()

        def fault(call):  # type: ignore[no-untyped-def]
            chat = int(call.params.get("chat_id") or 0)
            if throttle_every and chat >= BROADCAST_CHATS and next(counter) % throttle_every == 0:
                body = {"ok": False, "error_code": 429, "description": "Too Many Requests",
                        "parameters": {"retry_after": 1}}  # fmt: skip
                return 429, body
            if chat >= BROADCAST_CHATS:  # not refused: this one reaches the person
                received[chat] += 1
            return None

        api.fault = fault
        base = await api.start()
        conn.send(base)
        await asyncio.to_thread(conn.recv)
        await api.stop()
        conn.send(dict(received))

    logging.disable(logging.CRITICAL)
    asyncio.run(main())


def _fake_graph(conn) -> None:  # type: ignore[no-untyped-def]
    """Child process: serve the fake Graph API; then send back the time of every send."""

    async def main() -> None:
        api = g.FakeGraphAPI()
        base = await api.start()
        conn.send(base)
        await asyncio.to_thread(conn.recv)
        await api.stop()
        conn.send([c.at for c in api.calls if c.method == "messages"])

    logging.disable(logging.CRITICAL)
    asyncio.run(main())


class FakeServer:
    """A fake platform API in a child process; `result` is what it reported when stopped."""

    def __init__(self, throttle_every: int = 0, target: Any = _fake_api) -> None:
        self.parent, child = mp.Pipe()
        args = (child, throttle_every) if target is _fake_api else (child,)
        self.process = mp.get_context("spawn").Process(target=target, args=args)
        self.result: Any = None

    def __enter__(self) -> str:
        self.process.start()
        return str(self.parent.recv())

    def __exit__(self, *exc: object) -> None:
        self.parent.send("stop")
        if self.parent.poll(60):
            self.result = self.parent.recv()
        self.process.join(10)


def _wa_chat(n: int) -> str:
    return f"62899{n:07d}"


def _setup(url: str, recipients: int, whatsapp: int) -> None:
    """Child process: demo office + `recipients` linked staff (its memory is not the bot's), and
    `whatsapp` WhatsApp chats with no employee (no broadcast audience reaches them)."""

    async def main() -> None:
        from sqlalchemy import insert

        from bot.cli.demo import load_demo
        from bot.i18n import translator
        from storage.models import Account, Agency
        from tests.helpers.delivery_helpers import add_staff

        app = await create_app(Settings(_env_file=None, database_url=url, auto_migrate=True))
        await load_demo(app, translator("id"), story=False)
        await add_staff(app, recipients, chat_base=BROADCAST_CHATS)
        async with app.sessions() as session, session.begin():
            agency = await session.scalar(select(Agency.id))
            rows = [
                {
                    "agency_id": agency,
                    "channel": "whatsapp",
                    "user_ref": _wa_chat(n),
                    "chat_ref": _wa_chat(n),
                    "wa_id": _wa_chat(n),
                }
                for n in range(whatsapp)
            ]
            if rows:
                await session.execute(insert(Account), rows)
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _worker_process(
    url: str, base: str, rate: float, extra: dict[str, str] | None = None, nice: int = 0
) -> asyncio.subprocess.Process:
    """`abdi worker` as a separate process (DELIVERY_IN_PROCESS=false set-ups), at the CPU
    priority `nice` (deploy/systemd/abdi-worker@.service runs workers at Nice=5)."""
    ours = ("DATABASE_", "TELEGRAM_", "WHATSAPP_", "DELIVERY_", "REDIS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env |= {
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": base,
        "TELEGRAM_BROADCAST_RATE": str(rate),
        "DELIVERY_BATCH": "500",
        "DELIVERY_CONCURRENCY": str(CONCURRENCY),
        "LOG_LEVEL": "ERROR",
        **(extra or {}),
    }
    command = [str(Path(sys.executable).with_name("abdi")), "worker"]
    profile = os.environ.get("ABDI_BENCH_PROFILE")
    if profile:  # cProfile of the worker, written when it stops (SIGTERM ends it cleanly)
        await asyncio.to_thread(Path(profile).mkdir, parents=True, exist_ok=True)
        out = Path(profile) / f"worker-{int(rate)}.prof"
        command = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "bot", "worker"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    await process.stdout.readline()  # "Worker … running"
    return process


@dataclass
class Run:
    rate: float  # messages sent per second (0 without a broadcast)
    latencies: list[float]  # interactive replies, ms
    sent: int
    cpu_us: float | None = None  # the worker's CPU per message sent, microseconds
    sent_chats: set[int] = field(default_factory=set)  # the broadcast's rows marked sent


async def _app(url: str, settings: Settings) -> App:
    # A modest pool: the PostgreSQL server is shared (max_connections 100) on the bench machine.
    engine = db.create_engine(url, pool_size=POOL)
    app = App(settings, engine, db.session_factory(engine), MemoryStore())
    async with app.sessions() as session, session.begin():
        await session.execute(  # what earlier runs left unsent
            update(Delivery).where(Delivery.status != "sent").values(status="cancelled")
        )
    return app


async def run(
    url: str,
    base: str,
    rate: float | None,
    seconds: float,
    recipients: int,
    *,
    separate: bool = False,
    nice: int = 0,
) -> Run:
    """One measurement; rate None = no broadcast; `separate`: the drain runs in an
    `abdi worker` process, not in the bot's."""
    settings = Settings(
        _env_file=None,
        database_url=url,
        telegram_bot_token=TOKEN,
        telegram_api_base=base,
        telegram_broadcast_rate=rate or 25,
        telegram_chat_interval=1.0,
        delivery_batch=500,
        delivery_concurrency=CONCURRENCY,
    )
    app = await _app(url, settings)
    stop = asyncio.Event()
    runner = None
    worker = None
    broadcast_id = None
    if rate is not None:
        from bot.services.broadcasting import broadcasts
        from storage.models import Agency, utcnow

        if separate:  # started first: its start-up is not part of the broadcast's time
            worker = await _worker_process(url, base, rate, nice=nice)
        async with app.sessions() as session, session.begin():
            agency = await session.scalar(select(Agency))
            assert agency is not None
            b = await broadcasts.create(
                session, agency, Audience(EVERYONE), actor="bench", text="Apel pagi jam 07.30."
            )
            await broadcasts.release(session, b, utcnow())
            broadcast_id = b.id
        if not separate:
            sender = TelegramSender(make_bot(settings), ChannelLimits(rate, 1.0))
            runner = start(app, {"telegram": sender}, run_jobs=False, idle=0.1)
    users = asyncio.create_task(chatting(app, base, stop))
    started = time.perf_counter()
    before = await _sent(app)
    cpu_before = _cpu_seconds(worker.pid) if worker is not None else 0.0
    while time.perf_counter() - started < seconds:
        await asyncio.sleep(0.5)
        if rate is not None and await _sent(app) - before >= recipients:
            break
    elapsed = time.perf_counter() - started
    sent = await _sent(app) - before
    cpu_us = None
    if worker is not None and sent:
        cpu_us = (_cpu_seconds(worker.pid) - cpu_before) / sent * 1e6
    stop.set()
    latencies = await users
    if runner is not None:
        await runner.stop()
    if worker is not None:
        worker.send_signal(signal.SIGTERM)
        await worker.wait()
    sent_chats: set[int] = set()
    if broadcast_id is not None:  # once the drain has stopped: its last waves are recorded
        from storage.models import Account

        async with app.sessions() as session:
            refs = await session.scalars(
                select(Account.chat_ref)
                .join(Delivery, Delivery.account_id == Account.id)
                .where(Delivery.broadcast_id == broadcast_id, Delivery.status == "sent")
            )
            sent_chats = {int(ref) for ref in refs}
    await app.close()
    return Run(sent / elapsed if rate else 0.0, latencies, sent, cpu_us, sent_chats)


async def whatsapp_run(
    url: str, base: str, graph: str, count: int, seconds: float, nice: int = 0
) -> int:
    """`count` WhatsApp messages due now, sent by one worker at the 80/s limit; how many."""
    from sqlalchemy import insert

    from storage.models import Account, utcnow

    app = await _app(url, Settings(_env_file=None, database_url=url))
    async with app.sessions() as session, session.begin():
        accounts = (
            await session.execute(
                select(Account.id, Account.agency_id).where(Account.channel == "whatsapp")
            )
        ).all()
        now = utcnow()
        await session.execute(
            insert(Delivery),
            [
                {
                    "agency_id": agency,
                    "account_id": account,
                    "kind": "notification",
                    "source": "bench",
                    "message_key": "broadcast.message",
                    "params": {"text": "Apel pagi jam 07.30."},
                    "not_before": now,
                }
                for account, agency in accounts[:count]
            ],
        )
    extra = {
        "WHATSAPP_TOKEN": g.TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": g.PHONE_ID,
        "WHATSAPP_APP_SECRET": g.APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": g.VERIFY_TOKEN,
        "WHATSAPP_API_BASE": graph,
        "WHATSAPP_PER_SECOND": str(WA_RATE),
    }
    worker = await _worker_process(url, base, 25, extra, nice)
    started = time.perf_counter()
    sent = 0
    while time.perf_counter() - started < seconds and sent < count:
        await asyncio.sleep(0.5)
        async with app.sessions() as session:
            query = select(func.count()).where(
                Delivery.status == "sent", Delivery.source == "bench"
            )
            sent = int(await session.scalar(query) or 0)
    worker.send_signal(signal.SIGTERM)
    await worker.wait()
    await app.close()
    return sent


def adherence(times: list[float]) -> tuple[float, int]:
    """(achieved sends/s from the first send to the last, most sends in any one second)."""
    times = sorted(times)
    if len(times) < 2:
        return 0.0, len(times)
    rate = (len(times) - 1) / (times[-1] - times[0])
    busiest, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return rate, busiest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--slow-seconds", type=float, default=20, help="length of the 25/s run")
    parser.add_argument("--fast-seconds", type=float, default=600, help="cap of the 1,000/s run")
    parser.add_argument("--quiet-seconds", type=float, default=30, help="baseline length")
    parser.add_argument(
        "--whatsapp", type=int, default=2400, help="messages of the WhatsApp 80/s run (0: none)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="fast run with the drain in the bot's process instead of an `abdi worker`",
    )
    parser.add_argument("--worker-process", action="store_true", help=argparse.SUPPRESS)  # default
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=5,
        help="CPU priority of the worker process, as the deployment runs it (0: the bot's)",
    )
    args = parser.parse_args()
    separate = not args.in_process
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = asyncio.run(_fresh_database(args.db, Path(tmp)))
        setup = mp.get_context("spawn").Process(
            target=_setup, args=(url, args.recipients, args.whatsapp)
        )
        setup.start()
        setup.join()
        with FakeServer() as base:
            quiet = asyncio.run(run(url, base, None, args.quiet_seconds, args.recipients))
            slow = asyncio.run(run(url, base, 25, args.slow_seconds, args.recipients))
        fake = FakeServer(throttle_every=10_000)
        with fake as base:
            fast = asyncio.run(
                run(
                    url,
                    base,
                    1000,
                    args.fast_seconds,
                    args.recipients,
                    separate=separate,
                    nice=args.worker_nice,
                )
            )
        received: dict[int, int] = fake.result or {}
        wa_line = ""
        if args.whatsapp:
            graph = FakeServer(target=_fake_graph)
            with FakeServer() as base, graph as graph_base:
                wa_sent = asyncio.run(
                    whatsapp_run(
                        url,
                        base,
                        graph_base,
                        args.whatsapp,
                        args.whatsapp / 40 + 30,
                        args.worker_nice,
                    )
                )
            wa_rate, busiest = adherence(graph.result or [])
            wa_line = (
                f"; WhatsApp limit {WA_RATE:.0f}/s -> {wa_rate:.1f} msgs/s "
                f"({wa_rate / WA_RATE:.0%} of the limit, {wa_sent} sent), busiest second {busiest}"
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    # A loss: marked sent, never received. Rows still queued when --fast-seconds ran out are
    # counted apart (a slow machine, not a lost message).
    losses = len(fast.sent_chats - set(received))
    queued = args.recipients - len(fast.sent_chats)
    q99, f99 = _pct(quiet.latencies, 99), _pct(fast.latencies, 99)
    cpu = f", worker CPU {fast.cpu_us:.0f} us/msg" if fast.cpu_us is not None else ""
    print(
        f"broadcast bench ({args.db}, {args.recipients} recipients, {USERS} users chatting, "
        f"drain {f'in one abdi worker, nice {args.worker_nice}' if separate else 'in-process'}): "
        f"limit 25/s -> {slow.rate:.1f} msgs/s; limit 1000/s -> {fast.rate:.0f} msgs/s "
        f"({fast.sent} sent, 429 every 10,000th{cpu}; at the fake: {duplicates} duplicates, "
        f"{losses} losses, {queued} still queued at the end); reply p50/p99 ms: no broadcast "
        f"{_pct(quiet.latencies, 50):.0f}/{q99:.0f}, during 25/s {_pct(slow.latencies, 50):.0f}/"
        f"{_pct(slow.latencies, 99):.0f}, during 1000/s {_pct(fast.latencies, 50):.0f}/{f99:.0f} "
        f"(p99 ratio {f99 / q99:.2f}){wa_line}; peak RSS {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
