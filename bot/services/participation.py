"""Who took part in a quarter's rating: counts only (ratings, raters, people rated, people
ranked), overall and per unit. No score and no pair of rater and ratee is ever read here."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Subquery

from bot.services.kept import Kept, database
from bot.services.quarters import OPEN
from storage.models import Employee, Rating, RatingPeriod, Standing, Unit

T = TypeVar("T")


@dataclass(frozen=True)
class Counts:
    ratings: int
    raters: int


@dataclass(frozen=True)
class UnitShare:
    unit: str
    staff: int  # active employees of the unit now
    raters: int  # of them, those who rated someone this quarter
    rated: int  # of them, those rated by someone
    ranked: int  # of them, those ranked in the quarter


@dataclass(frozen=True)
class Participation:
    staff: int
    ratings: int
    raters: int
    rated: int
    ranked: int
    units: list[UnitShare]
    at: datetime  # when it was counted (it is kept a while: the page says so)

    def most_behind(self) -> list[UnitShare]:
        """Units with the most active staff yet to rate first (as the overview lists them)."""
        return sorted(self.units, key=lambda u: (u.raters - u.staff, u.unit))


# Counts of quarters closed for raters never change (ratings are final at close): kept per
# database and quarter, so a list of many big published quarters is read once per process.
_FINAL: dict[tuple[str, int], Counts] = {}
_FINAL_MAX = 4096
# A closed quarter's participation joins its final ratings to the roster as it is now: read
# again after a few minutes (staff move), not on every page.
SHARES_SECONDS = 300.0
# An open quarter's changes with every rating, but counting it reads all of them (1.3 s for
# 1,000,000 on PostgreSQL): read again after half a minute, as the overview's figures.
OPEN_SECONDS = 30.0
_clock = time.monotonic  # a test moves it on instead of waiting
_LIVE: Kept[tuple[str, int], Counts] = Kept(_FINAL_MAX)  # open quarters' counts, kept briefly
_SHARES: Kept[tuple[str, int, str], Any] = Kept(_FINAL_MAX)


def _key(session: AsyncSession, period_id: int) -> tuple[str, int]:
    return (database(session), period_id)


async def _kept(
    session: AsyncSession, period: RatingPeriod, what: str, read: Callable[[], Awaitable[T]]
) -> T:
    """`read()`, kept a few minutes for a quarter closed for raters, half a minute while open
    (a quarter that changed state since is read at once)."""
    key = (*_key(session, period.id), f"{what}:{period.state}")
    now = _clock()
    hit = _SHARES.get(key, now)
    if hit is not None:
        return cast(T, hit)
    value = await read()
    return _SHARES.put(key, value, now + (OPEN_SECONDS if period.state == OPEN else SHARES_SECONDS))


async def period_counts(
    session: AsyncSession, periods: Sequence[RatingPeriod], *, fresh: bool = False
) -> dict[int, Counts]:
    """Ratings and distinct raters per quarter: one grouped pass over the (period, rater) index
    for the quarters not already known. An open quarter's are kept OPEN_SECONDS (0.5 s to count
    1,000,000 ratings on each view of the list) unless `fresh` is asked (a confirmation)."""
    out = {p.id: _FINAL[_key(session, p.id)] for p in periods if _key(session, p.id) in _FINAL}
    clock = _clock()
    if not fresh:
        for p in periods:
            hit = _LIVE.get(_key(session, p.id), clock)
            if p.state == OPEN and hit is not None:
                out[p.id] = hit
    wanted = [p.id for p in periods if p.id not in out]
    if wanted:
        per_rater = (
            select(Rating.period_id, Rating.rater_id, func.count().label("n"))
            .where(Rating.period_id.in_(wanted))
            .group_by(Rating.period_id, Rating.rater_id)
            .subquery()
        )
        rows = await session.execute(
            select(per_rater.c.period_id, func.sum(per_rater.c.n), func.count()).group_by(
                per_rater.c.period_id
            )
        )
        found = {pid: Counts(int(n), int(r)) for pid, n, r in rows.all()}
        out |= {pid: found.get(pid, Counts(0, 0)) for pid in wanted}
    for p in periods:
        if p.state != OPEN and len(_FINAL) < _FINAL_MAX:
            _FINAL[_key(session, p.id)] = out[p.id]
        elif p.state == OPEN and p.id in wanted:
            _LIVE.put(_key(session, p.id), out[p.id], clock + OPEN_SECONDS)
    return out


async def ranked_count(session: AsyncSession, period: RatingPeriod) -> tuple[int, int]:
    """(standing rows, ranked rows) of a quarter: the length of its table and of its ranking."""
    row = (
        await session.execute(
            select(func.count(), func.count(Standing.rank_agency)).where(
                Standing.period_id == period.id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


def _distinct_raters(period: RatingPeriod) -> Subquery:
    return (
        select(Rating.rater_id.label("id"))
        .where(Rating.period_id == period.id)
        .group_by(Rating.rater_id)
        .subquery()
    )


def _distinct_ratees(period: RatingPeriod) -> Subquery:
    return (
        select(Rating.ratee_id.label("id"))
        .where(Rating.period_id == period.id)
        .group_by(Rating.ratee_id)
        .subquery()
    )


async def unit_shares(session: AsyncSession, period: RatingPeriod) -> list[UnitShare]:
    """Per unit (units with active staff, by name): each distinct rater and ratee is found once
    by a grouped pass over its index, then joined to the roster (no per-employee probe: 100,000
    staff cost one hash join). An open quarter's are counted afresh: the overview keeps them
    with its other figures, `participation` with the totals."""
    if period.state == OPEN:
        return await _unit_shares(session, period)
    return await _kept(session, period, "units", lambda: _unit_shares(session, period))


async def _unit_shares(session: AsyncSession, period: RatingPeriod) -> list[UnitShare]:
    raters, rated = _distinct_raters(period), _distinct_ratees(period)
    # Every column counts the unit's active staff as they are now, ranked ones included: a
    # person ranked at the close who has since left (or died) is in the quarter's totals, not
    # in a unit's row, so no column of a row can exceed its staff.
    ranked = (Standing.employee_id == Employee.id) & (Standing.period_id == period.id)
    staff = (
        select(
            Employee.unit_id,
            func.count().label("staff"),
            func.count(raters.c.id).label("raters"),
            func.count(rated.c.id).label("rated"),
            func.count(Standing.id).label("ranked"),
        )
        .outerjoin(raters, raters.c.id == Employee.id)
        .outerjoin(rated, rated.c.id == Employee.id)
        .outerjoin(Standing, ranked & Standing.eligible)
        .where(Employee.agency_id == period.agency_id, Employee.status == "active")
        .group_by(Employee.unit_id)
        .subquery()
    )
    per_unit = await session.execute(
        select(Unit.name, staff.c.staff, staff.c.raters, staff.c.rated, staff.c.ranked)
        .join(staff, staff.c.unit_id == Unit.id)
        .where(Unit.agency_id == period.agency_id)
        .order_by(Unit.name, Unit.id)
    )
    return [UnitShare(name, int(a), int(b), int(c), int(d)) for name, a, b, c, d in per_unit.all()]


async def participation(session: AsyncSession, period: RatingPeriod) -> Participation:
    return await _kept(session, period, "all", lambda: _participation(session, period))


async def _participation(session: AsyncSession, period: RatingPeriod) -> Participation:
    units = await unit_shares(session, period)
    raters, rated = _distinct_raters(period), _distinct_ratees(period)
    totals = (
        await session.execute(
            select(
                select(func.count()).where(Rating.period_id == period.id).scalar_subquery(),
                select(func.count()).select_from(raters).scalar_subquery(),
                select(func.count()).select_from(rated).scalar_subquery(),
            )
        )
    ).one()
    _rows, ranked_total = await ranked_count(session, period)
    return Participation(
        staff=sum(u.staff for u in units),
        ratings=int(totals[0]),
        raters=int(totals[1]),
        rated=int(totals[2]),
        ranked=ranked_total,
        units=units,
        at=datetime.now(UTC),
    )
