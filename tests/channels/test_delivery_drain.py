"""The drain against the fake Bot API: 429 waits, 5xx retries, 403 marks unreachable, nothing is
sent twice and every recipient is accounted for."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.delivery import enqueue
from bot.drain import Drain
from bot.services.broadcasting.audiences import EVERYONE, Audience
from bot.services.rate_limit import MemoryLimiter
from storage.models import Account, Delivery
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.helpers.delivery_helpers import drain_all, link_all, send_now, statuses, telegram_sender


def received(bot_api: FakeBotAPI) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in bot_api.accepted if c.method == "sendMessage")


async def test_faults_are_waited_out_and_nothing_is_sent_twice(demo_app, bot_api) -> None:
    chats = await link_all(demo_app)
    blocked = set(list(chats.values())[:3])
    bot_api.blocked |= blocked
    bot_api.rate_limit_next("sendMessage", retry_after=1)
    calls = itertools.count()

    def flaky(call):
        if call.method == "sendMessage" and next(calls) % 7 == 3:
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        return None

    bot_api.fault = flaky
    sender = telegram_sender(demo_app, bot_api)
    broadcast_id = await send_now(demo_app, Audience(EVERYONE))
    await drain_all(demo_app, {"telegram": sender})
    await sender.close()

    got = received(bot_api)
    assert set(got) == set(chats.values()) - blocked
    assert max(got.values()) == 1  # nobody received it twice
    by_status = Counter((await statuses(demo_app, broadcast_id)).values())
    assert by_status == {"sent": len(chats) - 3, "unreachable": 3}
    async with demo_app.sessions() as session:
        unreachable = set(
            await session.scalars(select(Account.chat_ref).where(Account.reachable.is_(False)))
        )
        retried = await session.scalar(
            select(Delivery).where(Delivery.attempts > 1, Delivery.status == "sent").limit(1)
        )
    assert unreachable == {str(c) for c in blocked}
    assert retried is not None  # the 429 and 500s were retried to success


async def test_429_pauses_the_broadcast_for_its_retry_after(demo_app, bot_api) -> None:
    await link_all(demo_app, limit=4)
    bot_api.rate_limit_next("sendMessage", retry_after=2)
    sender = telegram_sender(demo_app, bot_api)
    await send_now(demo_app, Audience(EVERYONE))
    one_at_a_time = demo_app.settings.model_copy(update={"delivery_concurrency": 1})
    drain = Drain(demo_app.sessions, {"telegram": sender}, one_at_a_time, limiter=MemoryLimiter())
    await drain.step()
    await sender.close()
    attempts = [c.at for c in bot_api.calls if c.method == "sendMessage"]
    throttled = attempts[0]
    # One request was already on the wire when the 429 came back; the rest waited retry_after.
    early = [at for at in attempts[1:] if at - throttled < 1.9]
    assert len(early) <= 1
    assert len(attempts) == 4  # the throttled row is not due yet: it waits for its retry_after
    async with demo_app.sessions() as session:
        waiting = await session.scalar(select(Delivery).where(Delivery.status == "pending"))
    assert waiting is not None and waiting.error == "429"
    assert waiting.not_before >= datetime.now(UTC) - timedelta(seconds=1)


async def test_exhausted_retries_end_as_failed_with_reason(demo_app, bot_api) -> None:
    await link_all(demo_app, limit=1)
    bot_api.fault = lambda call: (
        502,
        {"ok": False, "error_code": 502, "description": "Bad Gateway"},
    )
    settings = demo_app.settings.model_copy(update={"delivery_max_attempts": 2})
    sender = telegram_sender(demo_app, bot_api)
    broadcast_id = await send_now(demo_app, Audience(EVERYONE))
    drain = Drain(demo_app.sessions, {"telegram": sender}, settings, limiter=MemoryLimiter())
    now = datetime.now(UTC)
    await drain.step(now)
    await drain.step(now + timedelta(seconds=5))
    await sender.close()
    async with demo_app.sessions() as session:
        row = await session.scalar(select(Delivery).where(Delivery.broadcast_id == broadcast_id))
    assert row is not None and row.status == "failed" and row.attempts == 2
    assert "Bad Gateway" in (row.error or "")


async def test_notifications_go_before_a_long_broadcast(demo_app, bot_api) -> None:
    await link_all(demo_app)
    await send_now(demo_app, Audience(EVERYONE))
    async with demo_app.sessions() as session, session.begin():
        account = await session.scalar(select(Account).order_by(Account.id.desc()).limit(1))
        assert account is not None
        note = await enqueue(
            session, account, "broadcast.progress_done", source="case:1", params={}
        )
        assert note is not None
    settings = demo_app.settings.model_copy(update={"delivery_batch": 5})
    sender = telegram_sender(demo_app, bot_api)
    drain = Drain(demo_app.sessions, {"telegram": sender}, settings, limiter=MemoryLimiter())
    await drain.step()
    await sender.close()
    first = bot_api.accepted[0]
    assert int(first.params["chat_id"]) == int(account.chat_ref)


async def test_rows_of_channels_without_a_sender_wait(demo_app, bot_api) -> None:
    await link_all(demo_app, channel="whatsapp", limit=3)
    await send_now(demo_app, Audience(EVERYONE))
    sender = telegram_sender(demo_app, bot_api)
    drain = Drain(demo_app.sessions, {"telegram": sender}, demo_app.settings)
    report = await drain.step()
    await sender.close()
    assert report.claimed == 0
    assert set((await statuses(demo_app)).values()) == {"pending"}


async def test_the_drain_loop_survives_a_database_outage(demo_app, bot_api, caplog) -> None:
    from storage import db

    down = db.create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")  # nothing listens
    sender = telegram_sender(demo_app, bot_api)
    drain = Drain(db.session_factory(down), {"telegram": sender}, demo_app.settings)
    stop = asyncio.Event()
    task = asyncio.create_task(drain.run(stop, idle=0.05))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, 10)  # it stops cleanly instead of dying on the first error
    await sender.close()
    await down.dispose()
    # Kept trying without a traceback per try: one WARNING for the outage, no ERROR.
    paused = [r for r in caplog.records if r.getMessage().startswith("drain paused")]
    assert len(paused) == 1 and paused[0].levelname == "WARNING"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_loop_gives_back_claims_it_will_not_send_and_sends_each_once(
    demo_app, bot_api
) -> None:
    chats = await link_all(demo_app)
    await send_now(demo_app, Audience(EVERYONE))
    sender = telegram_sender(demo_app, bot_api, rate=20)
    settings = demo_app.settings.model_copy(update={"delivery_batch": 4})
    limiter = MemoryLimiter()
    drain = Drain(demo_app.sessions, {"telegram": sender}, settings, limiter=limiter)
    stop = asyncio.Event()
    task = asyncio.create_task(drain.run(stop, idle=0.05))
    await bot_api.wait_calls("sendMessage", 6)
    stop.set()
    await task
    async with demo_app.sessions() as session:
        rows = list(await session.scalars(select(Delivery)))
    assert {r.status for r in rows} <= {"sent", "pending"}
    assert all(r.claimed_by is None for r in rows if r.status == "pending")  # none held back
    assert sum(r.status == "sent" for r in rows) == len(bot_api.accepted) < len(chats)

    stop = asyncio.Event()
    task = asyncio.create_task(drain.run(stop, idle=0.05))
    await bot_api.wait_calls("sendMessage", len(chats), within=30)
    stop.set()
    await task
    await sender.close()
    assert received(bot_api) == Counter(chats.values())  # everyone, once
    assert set((await statuses(demo_app)).values()) == {"sent"}


async def test_each_message_of_a_wave_goes_at_its_own_slot(demo_app, bot_api) -> None:
    # At 40/s a wave is four messages; sent at once at the last slot, three of every four
    # arrivals would follow the one before within a millisecond (a wave's worth of messages
    # above the rate in some second).
    rate = 40
    chats = await link_all(demo_app)
    await send_now(demo_app, Audience(EVERYONE))
    await drain_all(demo_app, {"telegram": telegram_sender(demo_app, bot_api, rate=rate)})
    times = sorted(c.at for c in bot_api.accepted if c.method == "sendMessage")
    assert len(times) == len(chats) > rate
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    assert gaps[len(gaps) // 2] >= 0.4 / rate  # the median gap is about 1/rate, not 0


async def test_slots_booked_before_a_429_wait_for_its_retry_after(demo_app, bot_api) -> None:
    # At 40/s three waves of four are booked ahead; the 429 on the first message pauses them
    # too, not only what is booked after it.
    await link_all(demo_app)
    bot_api.rate_limit_next("sendMessage", retry_after=1)
    sender = telegram_sender(demo_app, bot_api, rate=40)
    await send_now(demo_app, Audience(EVERYONE))
    drain = Drain(
        demo_app.sessions, {"telegram": sender}, demo_app.settings, limiter=MemoryLimiter()
    )
    await drain.step()
    await sender.close()
    attempts = [c.at for c in bot_api.calls if c.method == "sendMessage"]
    throttled = attempts[0]
    early = [at for at in attempts[1:] if at - throttled < 0.9]
    assert len(early) <= 4  # what was on the wire or leaving when the answer came back
    assert len(attempts) > 20
