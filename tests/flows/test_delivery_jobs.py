"""Periodic jobs and recurring reminders fire once per slot / occurrence even with several
processes (each its own App: engine and connections), and the shared limiter keeps the rate."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import jobs
from bot.app import create_app
from bot.services.broadcasting import reminders
from bot.services.broadcasting.audiences import NOT_RATED, Audience
from bot.services.rate_limit import MemoryLimiter, RedisLimiter, SendWindow, reserve_slots
from storage.models import Account, Agency, Broadcast, Delivery, Employee, Rating, RatingPeriod
from tests.conftest import redis_keys
from tests.helpers.delivery_helpers import link_all
from tests.helpers.rating_helpers import open_quarter


async def test_a_job_runs_once_per_slot_across_processes(demo_app) -> None:
    runs: list[datetime] = []

    async def count(app, now):
        runs.append(now)

    counting = [jobs.Job("test.count", timedelta(minutes=5), count)]
    try:
        others = [await create_app(demo_app.settings) for _ in range(2)]
        now = datetime(2025, 3, 3, 8, 1, tzinfo=UTC)
        apps = [demo_app, *others]
        ran = await asyncio.gather(
            *(jobs.run_due(a, now, worker=f"w{i}", jobs=counting) for i, a in enumerate(apps))
        )
        assert sum(len(r) for r in ran) == 1 and len(runs) == 1
        await jobs.run_due(others[0], now + timedelta(minutes=3), jobs=counting)
        assert len(runs) == 1  # same 5-minute slot
        await jobs.run_due(others[1], now + timedelta(minutes=5), jobs=counting)
        assert len(runs) == 2  # the next slot
    finally:
        for other in others:
            await other.close()


async def test_a_failing_job_does_not_stop_the_others(demo_app) -> None:
    seen: list[str] = []

    async def boom(app, now):
        raise RuntimeError("boom")

    async def after(app, now):
        seen.append("after")

    minute = timedelta(minutes=1)
    two = [jobs.Job("test.boom", minute, boom), jobs.Job("test.after", minute, after)]
    ran = await jobs.run_due(demo_app, jobs=two)
    assert ran == ["test.boom", "test.after"] and seen == ["after"]


async def test_before_close_reminder_fires_once_to_those_who_have_not_rated(demo_app) -> None:
    await link_all(demo_app)
    period_id = await open_quarter(demo_app)
    async with demo_app.sessions() as session, session.begin():
        period = await session.get(RatingPeriod, period_id)
        agency = await session.scalar(select(Agency))
        closes = datetime(2025, 3, 31, 17, 0, tzinfo=UTC)  # 1 April 00:00 WIB
        period.closes_at = closes
        period.opens_at = datetime(2025, 1, 1, tzinfo=UTC)
        raters = list(await session.scalars(select(Employee.id).order_by(Employee.id).limit(2)))
        session.add(
            Rating(
                period_id=period_id,
                rater_id=raters[0],
                ratee_id=raters[1],
                relation="peer",
                scores={},
                score=4.0,
            )
        )
        await reminders.add(
            session,
            agency,
            trigger=reminders.BEFORE_CLOSE,
            actor="test",
            days_before=3,
            at_time="08:00",
            audience=Audience(NOT_RATED),
        )
    # 3 days before the last day (31 March) at 08:00 WIB is 28 March 01:00 UTC.
    before = datetime(2025, 3, 28, 0, 59, tzinfo=UTC)
    await jobs.run_due(demo_app, before, names=["reminders"])
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0
    other = await create_app(demo_app.settings)
    try:
        moments = [datetime(2025, 3, 28, 1, m, tzinfo=UTC) for m in (0, 1, 2)]
        await asyncio.gather(
            *(
                jobs.run_due(a, m, worker=str(m.minute), names=["reminders"])
                for a in (demo_app, other)
                for m in moments
            )
        )
    finally:
        await other.close()
    async with demo_app.sessions() as session:
        sent = list(await session.scalars(select(Broadcast)))
        recipients = await session.scalar(select(func.count()).select_from(Delivery))
        everyone = await session.scalar(select(func.count()).select_from(Employee))
    assert len(sent) == 1 and sent[0].kind == "reminder"
    assert recipients == everyone - 1  # the one who rated is not reminded
    assert sent[0].params["period"] == "2025-Q1" and sent[0].params["days"] == 3
    # The closing day is written in each recipient's language when sent, not in the sender's.
    from bot.drain import compose

    reader = Account(agency_id=1, channel="telegram", user_ref="r", chat_ref="r", locale="en")
    english = compose(Delivery(params={}), reader, sent[0]).text
    assert "Monday, 31 Mar 2025" in english, english
    reader.locale = "id"
    assert "Senin, 31 Mar 2025" in compose(Delivery(params={}), reader, sent[0]).text


async def test_weekly_reminder_skips_a_stale_occurrence(demo_app) -> None:
    async with demo_app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        reminder = await reminders.add(
            session,
            agency,
            trigger=reminders.WEEKLY,
            actor="t",
            weekday=0,
            at_time="07:00",
            text="Apel pagi!",
        )
        monday = datetime(2025, 3, 3, 0, 5, tzinfo=UTC)  # 07:05 WIB
        assert await reminders.fire(session, reminder, monday) is not None
        assert await reminders.fire(session, reminder, monday + timedelta(hours=1)) is None
        assert await reminders.fire(session, reminder, monday + timedelta(days=2)) is None
        with pytest.raises(reminders.ReminderError):
            await reminders.add(session, agency, trigger=reminders.WEEKLY, actor="t")


@pytest.fixture(params=["memory", "redis"])
async def limiter(request):
    if request.param == "memory":
        yield MemoryLimiter()
        return
    async with redis_keys() as (client, prefix):
        yield RedisLimiter(client, prefix)


async def test_limiter_paces_the_bot_and_each_chat(limiter) -> None:
    grants = [await limiter.reserve("tg", 10.0, f"chat{i}", 1.0) for i in range(5)]
    delays = [g.delay for g in grants]
    assert all(g.reserved for g in grants)
    assert delays == sorted(delays) and delays[-1] == pytest.approx(0.4, abs=0.05)
    again = await limiter.reserve("tg", 10.0, "chat0", 1.0)
    assert not again.reserved and 0.5 < again.delay <= 1.0  # chat0 must wait its interval
    await limiter.pause("tg", 3.0)
    late = await limiter.reserve("tg", 10.0, "chat9", 1.0)
    assert not late.reserved and late.delay > 1.5  # paused: ask again later


async def test_two_limiter_clients_share_one_budget() -> None:
    async with redis_keys() as (client, prefix):
        a, b = RedisLimiter(client, prefix), RedisLimiter(client, prefix)
        grants = [await (a if i % 2 else b).reserve("tg", 20.0, f"c{i}", 0) for i in range(6)]
    # Six sends at 20/s from two processes: the sixth is booked 5 intervals after the first.
    assert grants[-1].delay == pytest.approx(5 / 20, abs=0.05)


async def test_a_wave_is_reserved_in_one_call_like_one_by_one(limiter) -> None:
    grants = await limiter.reserve_many("tg", 10.0, ["a", "b", "a", "c"], 1.0)
    assert [g.reserved for g in grants] == [True, True, False, True]  # "a" waits its interval
    assert grants[-1].delay == pytest.approx(0.2, abs=0.05)  # the third slot of the bot
    assert grants[2].delay == pytest.approx(1.0, abs=0.05)  # "a" again, its interval later
    alone = await limiter.reserve("tg", 10.0, "d", 1.0)
    assert alone.reserved and alone.delay == pytest.approx(0.3, abs=0.05)  # after the wave


async def test_a_wave_gets_a_slot_per_message_from_one_reservation() -> None:
    limiter = MemoryLimiter()
    slots = await reserve_slots(limiter, "tg", 20.0, [f"c{i}" for i in range(5)], 0)
    # Five slots at 20/s, one interval apart: each message goes at its own.
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert gaps == pytest.approx([1 / 20] * 4, abs=0.005)
    after = await limiter.reserve("tg", 20.0, "c9", 0)
    assert after.reserved and after.delay >= 4 / 20  # booked after the wave


async def test_late_sends_do_not_catch_up_above_the_rate_in_a_second() -> None:
    window = SendWindow(10.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):  # ten sends due at once (late): the second has room for all ten
        await window.admit(2)
    assert loop.time() - started < 0.5
    await window.admit(1)  # the eleventh waits until the first has left the last second
    assert loop.time() - started >= 1.0 - 0.01
