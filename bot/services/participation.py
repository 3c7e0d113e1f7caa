"""Who took part in a quarter's rating: counts only (ratings, raters, people rated, people
ranked), overall and per unit. No score and no pair of rater and ratee is ever read here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Employee, Rating, RatingPeriod, Standing, Unit


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
    ranked: int  # standings of the unit that are ranked (from the close)


@dataclass(frozen=True)
class Participation:
    staff: int
    ratings: int
    raters: int
    rated: int
    ranked: int
    units: list[UnitShare]


async def period_counts(session: AsyncSession, period_ids: Sequence[int]) -> dict[int, Counts]:
    """Ratings and distinct raters per quarter, for a list of quarters (one grouped query over
    the (period, rater) index)."""
    if not period_ids:
        return {}
    rows = await session.execute(
        select(Rating.period_id, func.count(), func.count(func.distinct(Rating.rater_id)))
        .where(Rating.period_id.in_(list(period_ids)))
        .group_by(Rating.period_id)
    )
    found = {pid: Counts(int(n), int(r)) for pid, n, r in rows.all()}
    return {pid: found.get(pid, Counts(0, 0)) for pid in period_ids}


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


async def participation(session: AsyncSession, period: RatingPeriod) -> Participation:
    rated_any = (
        select(Rating.id)
        .where(Rating.period_id == period.id, Rating.rater_id == Employee.id)
        .exists()
    )
    was_rated = (
        select(Rating.id)
        .where(Rating.period_id == period.id, Rating.ratee_id == Employee.id)
        .exists()
    )
    per_unit = await session.execute(
        select(
            Unit.id,
            Unit.name,
            func.count(Employee.id),
            func.coalesce(func.sum(case((rated_any, 1), else_=0)), 0),
            func.coalesce(func.sum(case((was_rated, 1), else_=0)), 0),
        )
        .join(Employee, Employee.unit_id == Unit.id)
        .where(
            Unit.agency_id == period.agency_id,
            Employee.agency_id == period.agency_id,
            Employee.status == "active",
        )
        .group_by(Unit.id, Unit.name)
        .order_by(Unit.name, Unit.id)
    )
    ranked_per_unit = dict(
        (
            await session.execute(
                select(Standing.unit_id, func.count())
                .where(Standing.period_id == period.id, Standing.eligible)
                .group_by(Standing.unit_id)
            )
        ).all()
    )
    units = [
        UnitShare(name, int(staff), int(raters), int(rated), int(ranked_per_unit.get(uid, 0)))
        for uid, name, staff, raters, rated in per_unit.all()
    ]
    totals = (
        await session.execute(
            select(
                func.count(),
                func.count(func.distinct(Rating.rater_id)),
                func.count(func.distinct(Rating.ratee_id)),
            ).where(Rating.period_id == period.id)
        )
    ).one()
    _rows, ranked = await ranked_count(session, period)
    return Participation(
        staff=sum(u.staff for u in units),
        ratings=int(totals[0]),
        raters=int(totals[1]),
        rated=int(totals[2]),
        ranked=ranked,
        units=units,
    )
