"""Real worker processes: kill -9 mid-broadcast and restart (nothing left out, nobody messaged
twice, the in-flight ones reported as uncertain), and two workers draining one broadcast on
PostgreSQL without a double send."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from bot.services.broadcasting.audiences import EVERYONE, Audience
from storage.models import Account, Delivery
from tests.fakes.fake_bot_api import TOKEN, FakeBotAPI
from tests.helpers.delivery_helpers import add_staff, link_all, open_rows, send_now
from tests.helpers.process_helpers import HEAVY, start_abdi, stop, wait_until

pytestmark = HEAVY


async def start_worker(
    database_url: str, bot_api: FakeBotAPI, **env: str
) -> asyncio.subprocess.Process:
    environment = {
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": bot_api.base,
        "TELEGRAM_CHAT_INTERVAL": "0",
        **env,
    }
    process = await start_abdi("worker", environment)
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert b"Worker" in line, line
    return process


def received(bot_api: FakeBotAPI) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in bot_api.accepted if c.method == "sendMessage")


async def finished(app) -> bool:
    return await open_rows(app) == 0


async def kill_and_resume(app, database_url: str, bot_api: FakeBotAPI, **env: str) -> int:
    """Start a worker, SIGKILL it mid-broadcast, start another until all is done; the number
    of rows that were in flight at the kill."""
    bot_api.delays["sendMessage"] = 0.5  # requests stay on the wire long enough to be cut
    await send_now(app, Audience(EVERYONE))
    env |= {"TELEGRAM_BROADCAST_RATE": "100", "DELIVERY_LEASE_SECONDS": "2"}
    first = await start_worker(database_url, bot_api, **env)

    async def some_sent() -> bool:
        return len(bot_api.accepted) >= 80

    await wait_until(some_sent)
    first.kill()  # SIGKILL: no cleanup of any kind
    await first.wait()
    async with app.sessions() as session:
        in_flight = await session.scalar(select(func.count()).where(Delivery.status == "sending"))
    second = await start_worker(database_url, bot_api, **env)
    await wait_until(lambda: finished(app))
    await stop(second)
    return int(in_flight or 0)


async def test_kill_9_mid_broadcast_resumes_without_double_sends(
    demo_app, database_url, bot_api
) -> None:
    chats = set((await link_all(demo_app)).values()) | set(await add_staff(demo_app, 250))
    in_flight = await kill_and_resume(demo_app, database_url, bot_api)
    got = received(bot_api)
    async with demo_app.sessions() as session:
        query = select(Account.chat_ref, Delivery.status).select_from(Delivery).join(Account)
        rows = dict((await session.execute(query)).all())
    uncertain = {int(c) for c, s in rows.items() if s == "uncertain"}
    assert len(rows) == len(chats)
    assert max(got.values()) == 1  # default policy: in-flight ones are not resent
    assert set(got) | uncertain == chats  # none left out
    assert {int(c) for c, s in rows.items() if s == "sent"} == set(got) - uncertain
    assert len(uncertain) == in_flight  # exactly those on the wire at the kill are reported
    assert 0 < len(uncertain) <= 64  # at most two waves of DELIVERY_CONCURRENCY


async def test_resend_policy_sends_the_uncertain_ones_again(
    demo_app, database_url, bot_api
) -> None:
    chats = set((await link_all(demo_app)).values()) | set(await add_staff(demo_app, 250))
    in_flight = await kill_and_resume(
        demo_app, database_url, bot_api, DELIVERY_UNCERTAIN_POLICY="resend"
    )
    got = received(bot_api)
    assert set(got) == chats  # everyone got it; only the in-flight few may have it twice
    assert sum(n - 1 for n in got.values()) <= in_flight


async def test_two_workers_share_a_broadcast_without_double_sends(
    demo_app, database_url, bot_api
) -> None:
    # PostgreSQL claims with SKIP LOCKED; on SQLite the claim is one UPDATE under its single
    # writer lock, so two drains are also safe there (only not faster).
    chats = set((await link_all(demo_app)).values()) | set(await add_staff(demo_app, 1500))
    env = {"TELEGRAM_BROADCAST_RATE": "1000", "DELIVERY_BATCH": "50"}
    workers = await asyncio.gather(*(start_worker(database_url, bot_api, **env) for _ in range(2)))
    await send_now(demo_app, Audience(EVERYONE))

    await wait_until(lambda: finished(demo_app))
    for worker in workers:
        await stop(worker)
    got = received(bot_api)
    assert set(got) == chats and max(got.values()) == 1
    async with demo_app.sessions() as session:
        by_worker = dict(
            (
                await session.execute(
                    select(Delivery.claimed_by, func.count()).group_by(Delivery.claimed_by)
                )
            ).all()
        )
    assert len(by_worker) == 2, by_worker  # both took part
