"""The office at a glance, for the console's first page: rating participation per unit, the
standing distribution, 4-in-1 timeliness, broadcast reach and what waits in the outbox.

Every figure is one grouped SQL query over indexed columns. Those that read every rating of
the quarter, every delivery (three broadcasts to 100,000 staff are 300,000 rows) or every
standing are kept for FRESH_SECONDS per agency and process (`counted`): the page says as of
when, and another quarter, a new broadcast or a newly ranked quarter is read at once. The
broadcasts list shares the per-broadcast counts (`reached`), kept longer once a broadcast is over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Status
from bot.services import participation as rating_participation
from bot.services.broadcasting import broadcasts
from bot.services.broadcasting.broadcasts import UNDELIVERED
from bot.services.four_in_one.reading import overdue
from bot.services.four_in_one.rules import LIVE, NOT_CASES
from bot.services.kept import Kept, database
from storage.models import (
    Broadcast,
    Delivery,
    FourInOneCase,
    RatingPeriod,
    Standing,
    WebhookDeadLetter,
)
from storage.statuses import CaseStatus, PeriodState

BUCKETS = 8  # bars of the standing distribution
# How stale the counted figures may be: seconds are nothing for an office reading the day's
# state, and the page shows the time they were counted.
FRESH_SECONDS = 30.0
# A finished broadcast's outcome hardly moves (a late receipt, a confirmation read days later):
# counted again every ten minutes rather than on each view of the list.
FINISHED_SECONDS = 600.0
_clock = time.monotonic  # a test moves it on instead of waiting


@dataclass(frozen=True)
class UnitParticipation:
    unit: str
    staff: int  # active employees
    raters: int  # of them, who have rated at least one colleague this period

    @property
    def not_yet(self) -> int:
        return self.staff - self.raters


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    count: int


@dataclass(frozen=True)
class Cases:
    open: int
    overdue: int
    closed: int  # ended cases counted for timeliness
    on_time: int  # of them, all four handed over by the third night

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.closed if self.closed else None


@dataclass(frozen=True)
class Reach:
    broadcast: Broadcast
    recipients: int
    reached: int
    failed: int
    unreachable: int  # in the audience, but without a chat account to send to
    confirmed: int


@dataclass(frozen=True)
class Outbox:
    uncertain: int
    failed: int
    waiting: int
    dead_letters: int


async def participation(
    session: AsyncSession, agency_id: int, period: RatingPeriod
) -> list[UnitParticipation]:
    """Per unit: active staff, and how many of them have rated anyone in `period` (counts only:
    who has not rated is not named here). The periods page's count, cut to what this page shows."""
    shares = await rating_participation.unit_shares(session, period)
    return [UnitParticipation(u.unit, u.staff, u.raters) for u in shares]


async def latest_standings_period(session: AsyncSession, agency_id: int) -> RatingPeriod | None:
    """The newest period whose standings are computed (closed or published)."""
    result: RatingPeriod | None = await session.scalar(
        select(RatingPeriod)
        .where(
            RatingPeriod.agency_id == agency_id,
            RatingPeriod.state.in_((PeriodState.CLOSED, PeriodState.PUBLISHED)),
        )
        .order_by(RatingPeriod.year.desc(), RatingPeriod.quarter.desc())
        .limit(1)
    )
    return result


async def distribution(session: AsyncSession, period: RatingPeriod) -> list[Bucket]:
    """Eligible standings' scores in BUCKETS equal bars between the lowest and highest score."""
    scored = (Standing.period_id == period.id, Standing.eligible, Standing.score.is_not(None))
    bounds = select(func.min(Standing.score), func.max(Standing.score)).where(*scored)
    low, high = (await session.execute(bounds)).one()
    if low is None or high is None:
        return []
    width = (high - low) / BUCKETS or 1.0
    # Scores are >= low, so the cast truncates like floor(); the top score lands in the last bar.
    index = cast((Standing.score - low) / width, Integer).label("i")
    counts: dict[int, int] = {}
    for i, n in await session.execute(select(index, func.count()).where(*scored).group_by(index)):
        bar = min(int(i), BUCKETS - 1)
        counts[bar] = counts.get(bar, 0) + int(n)
    return [
        Bucket(low + i * width, low + (i + 1) * width, counts.get(i, 0)) for i in range(BUCKETS)
    ]


async def cases(session: AsyncSession, agency_id: int, now: datetime) -> Cases:
    ended = FourInOneCase.status == CaseStatus.CLOSED
    on_time = (
        ended
        & FourInOneCase.handed_over_at.is_not(None)
        & (FourInOneCase.handed_over_at <= FourInOneCase.deadline_at)
    )
    row = (
        await session.execute(
            select(
                func.count().filter(FourInOneCase.status.in_(LIVE)),
                func.count().filter(overdue(now)),
                func.count().filter(ended),
                func.count().filter(on_time),
            ).where(
                FourInOneCase.agency_id == agency_id,
                FourInOneCase.status.not_in((*NOT_CASES, CaseStatus.CANCELLED)),
            )
        )
    ).one()
    return Cases(*(int(v) for v in row))


@dataclass(frozen=True)
class Counted:
    """The figures that count whole tables, as they were at `at`, and what they were read for."""

    at: datetime
    rated: tuple[int, str] | None  # the quarter whose participation `units` counts
    broadcast_ids: tuple[int, ...]
    ranked: tuple[int, str] | None
    units: list[UnitParticipation]
    progress: dict[int, broadcasts.Progress]
    confirmed: dict[int, int]
    outbox: Outbox
    buckets: list[Bucket]


_KEPT: Kept[tuple[str, int], Counted] = Kept()


@dataclass(frozen=True)
class Reached:
    """Outcome counts of some broadcasts; `at`: when the oldest of them was counted."""

    at: datetime
    progress: dict[int, broadcasts.Progress]
    confirmed: dict[int, int]


# (database, broadcast) -> (its status then, counted at, progress, confirmed)
_REACHED: Kept[tuple[str, int], tuple[str, datetime, broadcasts.Progress, int]] = Kept()


async def reached(session: AsyncSession, shown: list[Broadcast], now: datetime) -> Reached:
    """Progress and confirmations of `shown` (a page of the list, or the overview's last few):
    each read in one grouped query with the others not already known, then kept FRESH_SECONDS,
    or FINISHED_SECONDS once the broadcast is done or cancelled with nothing left in flight.
    A broadcast whose status changed since is read at once."""
    db = database(session)
    clock = _clock()
    kept = {}
    for sent in shown:
        hit = _REACHED.get((db, sent.id), clock)
        if hit is not None and hit[0] == sent.status:
            kept[sent.id] = hit
    missing = [b for b in shown if b.id not in kept]
    if missing:
        ids = [b.id for b in missing]
        progress = await broadcasts.progress_of(session, ids)
        confirmed = await broadcasts.confirmed_of(session, ids)
        for sent in missing:
            over = sent.status in (broadcasts.DONE, broadcasts.CANCELLED)
            fresh = FINISHED_SECONDS if over and not progress[sent.id].open else FRESH_SECONDS
            entry = (sent.status, now, progress[sent.id], confirmed[sent.id])
            kept[sent.id] = _REACHED.put((db, sent.id), entry, clock + fresh)
    return Reached(
        at=min((entry[1] for entry in kept.values()), default=now),
        progress={b: entry[2] for b, entry in kept.items()},
        confirmed={b: entry[3] for b, entry in kept.items()},
    )


def _as(period: RatingPeriod | None) -> tuple[int, str] | None:
    return (period.id, str(period.state)) if period else None


async def counted(
    session: AsyncSession,
    agency_id: int,
    rated: RatingPeriod | None,
    recent: list[Broadcast],
    ranked: RatingPeriod | None,
    now: datetime,
) -> Counted:
    """Participation in `rated`, reach of the `recent` broadcasts, the outbox and the
    distribution of `ranked`: read again after FRESH_SECONDS, or at once when one of those
    three changed (an open quarter's participation reads every rating: 1,000,000 of them)."""
    key = (database(session), agency_id)
    ids = tuple(b.id for b in recent)
    clock = _clock()
    wanted = (_as(rated), ids, _as(ranked))
    hit = _KEPT.get(key, clock)
    if hit is not None and (hit.rated, hit.broadcast_ids, hit.ranked) == wanted:
        return hit
    reach_counts = await reached(session, recent, now)
    value = Counted(
        at=now,
        rated=_as(rated),
        broadcast_ids=ids,
        ranked=_as(ranked),
        units=await participation(session, agency_id, rated) if rated else [],
        progress=reach_counts.progress,
        confirmed=reach_counts.confirmed,
        outbox=await outbox(session, agency_id, now),
        buckets=await distribution(session, ranked) if ranked else [],
    )
    return _KEPT.put(key, value, clock + FRESH_SECONDS)


def reach(recent: list[Broadcast], figures: Counted) -> list[Reach]:
    """The last broadcasts: reached, failed, and confirmed reading, from the same outcome counts
    as the chat's report (rows still kept plus the tally of those retention removed)."""
    progress, confirmed = figures.progress, figures.confirmed
    return [
        Reach(
            sent,
            recipients=sent.recipients,
            reached=progress[sent.id].sent,
            failed=progress[sent.id].get(*UNDELIVERED),
            unreachable=max(0, sent.recipients - progress[sent.id].total),
            confirmed=confirmed[sent.id],
        )
        for sent in recent
    ]


async def outbox(session: AsyncSession, agency_id: int, now: datetime) -> Outbox:
    row = (
        await session.execute(
            select(
                func.count().filter(Delivery.status == Status.UNCERTAIN.value),
                func.count().filter(
                    Delivery.status.in_((Status.FAILED.value, Status.UNREACHABLE.value))
                ),
                func.count().filter(
                    (Delivery.status == Status.PENDING.value) & (Delivery.not_before <= now)
                ),
            ).where(Delivery.agency_id == agency_id)
        )
    ).one()
    # Dead letters are whole webhook bodies nobody could read: not yet tied to any agency.
    letters = await session.scalar(
        select(func.count()).where(WebhookDeadLetter.replayed_at.is_(None))
    )
    return Outbox(int(row[0]), int(row[1]), int(row[2]), int(letters or 0))
