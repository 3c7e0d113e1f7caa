"""Several processes, proven: two `abdi serve` and two `abdi worker` on PostgreSQL and Redis, with
Telegram (webhook) and WhatsApp both configured against the fake APIs.

Updates are spread over both servers, some sent to both at once (Telegram redelivering an update
to another instance behind the load balancer, Meta delivering a message twice), while an HR
broadcast drains through both workers under a low per-second limit. Every update is answered once,
every recipient gets the broadcast once, and the shared limiter holds the rate across processes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.app import App
from bot.config import DeliverySettings
from bot.drain import wave_size
from bot.services.broadcasting.audiences import EVERYONE, Audience
from storage.models import Delivery
from tests.conftest import REDIS_URL, TG_SECRET, _unavailable
from tests.fakes import fake_graph_api as g
from tests.fakes.fake_bot_api import TOKEN, FakeBotAPI, message_update
from tests.fakes.fake_graph_api import FakeGraphAPI
from tests.helpers.delivery_helpers import add_staff, link_all, open_rows, send_now
from tests.helpers.process_helpers import HEAVY, free_port, start_abdi, stop, wait_until

pytestmark = [pytest.mark.parametrize("database_url", ["postgres"], indirect=True), HEAVY]

# Low limits, so that two workers would exceed them together if they did not share one.
TELEGRAM_RATE = 40
WHATSAPP_RATE = 15
WORKERS = 2
# Our own Redis database: the processes use the fixed "abdi:" prefix, the other tests db 15 with
# a prefix each. This is the one test that uses it; a lock key keeps a second run of it (another
# checkout testing on the same machine) from clearing the keys of one in progress.
PROCESS_REDIS = REDIS_URL.rsplit("/", 1)[0] + "/13"
LOCK = "abdi-test:several-processes"
TELEGRAM_USERS = range(7_100_001, 7_100_013)  # guests writing in, apart from the staff
WHATSAPP_USERS = [f"6281299{n:05d}" for n in range(1, 7)]


@pytest.fixture
async def graph_api() -> AsyncIterator[FakeGraphAPI]:
    api = FakeGraphAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def process_redis() -> AsyncIterator[str]:
    client = Redis.from_url(PROCESS_REDIS)

    async def clear() -> None:
        keys = [k async for k in client.scan_iter("abdi:*")]
        if keys:
            await client.delete(*keys)

    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        _unavailable("Redis", exc)
    owner = uuid.uuid4().hex

    async def locked() -> bool:
        # Expires on its own, so a run killed midway holds up the next one for minutes at most.
        return bool(await client.set(LOCK, owner, nx=True, ex=300))

    await wait_until(locked, within=330)
    try:
        await clear()  # conversation states and limiter slots of an earlier run
        yield PROCESS_REDIS
        await clear()
    finally:
        if (await client.get(LOCK)) == owner.encode():
            await client.delete(LOCK)
        await client.aclose()


def environment(database_url: str, redis_url: str, bot_api: FakeBotAPI, graph: FakeGraphAPI):
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": bot_api.base,
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.go.id/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "TELEGRAM_BROADCAST_RATE": str(TELEGRAM_RATE),
        "TELEGRAM_CHAT_INTERVAL": "0",
        "WHATSAPP_TOKEN": g.TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": g.PHONE_ID,
        "WHATSAPP_APP_SECRET": g.APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": g.VERIFY_TOKEN,
        "WHATSAPP_API_BASE": graph.base,
        "WHATSAPP_PER_SECOND": str(WHATSAPP_RATE),
        "DELIVERY_IN_PROCESS": "false",  # the servers only answer people; workers send the rest
        "DELIVERY_BATCH": "20",  # small claims, so both workers take part in one broadcast
        "WEBHOOK_HOST": "127.0.0.1",
        "HEALTH_PORT": "0",
    }


Running = list[asyncio.subprocess.Process]


async def start_server(env: dict[str, str], log: IO[bytes], running: Running) -> str:
    """`abdi serve` on a port of its own; its base URL once it answers /healthz."""
    port = free_port()
    process = await start_abdi("serve", {**env, "WEBHOOK_PORT": str(port)}, stderr=log)
    running.append(process)
    base = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        assert process.returncode is None, "abdi serve exited"
        try:
            async with aiohttp.ClientSession() as client, client.get(f"{base}/healthz") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    await wait_until(healthy, within=120)
    return base


async def start_worker(env: dict[str, str], log: IO[bytes], running: Running) -> None:
    process = await start_abdi("worker", env, stderr=log)
    running.append(process)
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 120)
    assert b"Worker" in line, line


def allowed(rate: int) -> float:
    """What a one-second window may hold: the rate, plus one wave per worker (a wave goes out
    once its last slot is granted, bot/drain.py), plus a quarter of a second of requests that a
    busy machine may hold back and deliver together (here or in the fake's event loop). Two
    workers with a limiter each would send twice the rate."""
    return rate * 1.25 + WORKERS * wave_size(rate, DeliverySettings().delivery_concurrency)


def max_per_second(times: list[float]) -> int:
    """The most requests in any sliding one-second window."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


class Traffic:
    """Telegram updates and WhatsApp bodies posted to the servers; what each chat should get."""

    def __init__(self, client: aiohttp.ClientSession, servers: list[str]) -> None:
        self.client = client
        self.servers = servers
        self.telegram: Counter[int] = Counter()  # chat -> distinct updates sent
        self.whatsapp: Counter[str] = Counter()  # number -> distinct messages sent
        self._update_ids = iter(range(880_000_001, 890_000_000))

    async def _post(self, url: str, raw: bytes, headers: dict[str, str]) -> None:
        headers = {"Content-Type": "application/json", **headers}
        async with self.client.post(url, data=raw, headers=headers) as response:
            assert response.status == 200, (url, response.status, await response.text())

    async def telegram_update(self, user: int, text: str, to: list[int]) -> None:
        """One update (one update_id) delivered to each server in `to`, at the same time."""
        update = {"update_id": next(self._update_ids), **message_update(user, text)}
        raw = json.dumps(update).encode()
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        self.telegram[user] += 1
        await asyncio.gather(
            *(self._post(self.servers[n] + "/telegram/webhook", raw, headers) for n in to)
        )

    async def whatsapp_message(self, number: str, text: str, to: list[int]) -> None:
        """One message (one wamid) delivered to each server in `to`, at the same time."""
        raw = g.dumps(g.text(None, text, wa_id=number))
        headers = {"X-Hub-Signature-256": g.sign(raw)}
        self.whatsapp[number] += 1
        await asyncio.gather(
            *(self._post(self.servers[n] + "/whatsapp/webhook", raw, headers) for n in to)
        )


async def converse(traffic: Traffic) -> None:
    """Two rounds of every user, alternating servers; every third message goes to both."""
    sends = []
    for round_ in range(2):
        for n, user in enumerate(TELEGRAM_USERS):
            to = [0, 1] if n % 3 == round_ else [(n + round_) % 2]
            sends.append(traffic.telegram_update(user, "/menu", to))
        for n, number in enumerate(WHATSAPP_USERS):
            to = [0, 1] if n % 3 == round_ else [(n + round_) % 2]
            sends.append(traffic.whatsapp_message(number, "menu", to))
        await asyncio.gather(*sends)
        sends.clear()


def _notice(params: dict[str, Any]) -> bool:
    """The privacy notice a new chat is shown before its first answer (either platform's body)."""
    return "Pemberitahuan privasi" in json.dumps(params, ensure_ascii=False)


async def test_two_servers_and_two_workers_answer_once_send_once_and_share_the_limit(
    demo_app: App,
    database_url: str,
    process_redis: str,
    bot_api: FakeBotAPI,
    graph_api: FakeGraphAPI,
    tmp_path: Path,
) -> None:
    whatsapp_staff = set((await link_all(demo_app, "whatsapp")).values())
    telegram_staff = set(await add_staff(demo_app, 240))
    for number in WHATSAPP_USERS:
        graph_api.user_wrote(number)  # inside the 24-hour window: replies are free text
    env = environment(database_url, process_redis, bot_api, graph_api)
    log_path = tmp_path / "abdi.log"
    running: Running = []
    with log_path.open("wb") as log:
        try:
            servers, _ = await asyncio.gather(
                asyncio.gather(*(start_server(env, log, running) for _ in range(2))),
                asyncio.gather(*(start_worker(env, log, running) for _ in range(WORKERS))),
            )
            broadcast = await send_now(demo_app, Audience(EVERYONE))
            async with aiohttp.ClientSession() as client:
                traffic = Traffic(client, servers)
                await converse(traffic)

            async def broadcast_sent() -> bool:
                return await open_rows(demo_app) == 0

            await wait_until(broadcast_sent, within=120)
        finally:
            # SIGTERM: each server finishes the replies on the wire before it exits, so what the
            # fakes hold afterwards is all there will ever be.
            codes = await asyncio.gather(*(stop(p) for p in running))
    assert codes == [0] * (2 + WORKERS)
    assert "Traceback" not in log_path.read_text()

    # Every update answered exactly once, whichever server(s) it reached; before the first answer
    # each new chat is shown the privacy notice, once.
    telegram_calls = [c for c in bot_api.sent() if int(c.params["chat_id"]) in traffic.telegram]
    telegram_notices = Counter(
        int(c.params["chat_id"]) for c in telegram_calls if _notice(c.params)
    )
    assert telegram_notices == Counter(dict.fromkeys(traffic.telegram, 1))
    telegram_replies = Counter(
        int(c.params["chat_id"]) for c in telegram_calls if not _notice(c.params)
    )
    assert telegram_replies == traffic.telegram
    whatsapp_calls = [c for c in graph_api.sent() if c.to in traffic.whatsapp]
    whatsapp_notices = Counter(c.to for c in whatsapp_calls if _notice(c.params))
    assert whatsapp_notices == Counter(dict.fromkeys(traffic.whatsapp, 1))
    whatsapp_replies = Counter(c.to for c in whatsapp_calls if not _notice(c.params))
    assert whatsapp_replies == traffic.whatsapp

    # Every broadcast delivery sent exactly once, none lost.
    to_staff = [c for c in bot_api.sent() if int(c.params["chat_id"]) in telegram_staff]
    assert Counter(int(c.params["chat_id"]) for c in to_staff) == Counter(telegram_staff)
    templates = [c for c in graph_api.sent() if c.to in {str(s) for s in whatsapp_staff}]
    assert Counter(c.to for c in templates) == Counter(str(s) for s in whatsapp_staff)
    async with demo_app.sessions() as session:
        rows = dict(
            (
                await session.execute(
                    select(Delivery.status, func.count())
                    .where(Delivery.broadcast_id == broadcast)
                    .group_by(Delivery.status)
                )
            ).all()
        )
        workers_used = await session.scalar(
            select(func.count(func.distinct(Delivery.claimed_by))).where(
                Delivery.broadcast_id == broadcast
            )
        )
    assert rows == {"sent": len(telegram_staff) + len(whatsapp_staff)}
    assert workers_used == WORKERS

    # The limit held for both workers together, per channel.
    assert max_per_second([c.at for c in to_staff]) <= allowed(TELEGRAM_RATE)
    assert max_per_second([c.at for c in templates]) <= allowed(WHATSAPP_RATE)
