"""Standings: quarter scores and ranks computed in SQL, awards, one's own standing, the chart.

A quarter's score is the weighted mean of the relation groups' mean scores, weights re-normalised
over the groups present; ranked only with enough raters; ties: more raters, then earlier-rated
(the ratee whose last rating came in earlier), then the lower employee id so a rank is stable.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, bindparam, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.periods import PUBLISHED, QuarterRef
from bot.services.rating_scheme import RELATIONS, Scheme
from storage.models import Award, Employee, RatingPeriod, Standing, Unit

SCORE_DECIMALS = 6  # rounding before ranking, so float noise never decides a tie

_WEIGHT = (
    "CASE g.relation WHEN 'superior' THEN CAST(:w_superior AS DOUBLE PRECISION) "
    "WHEN 'peer' THEN CAST(:w_peer AS DOUBLE PRECISION) "
    "WHEN 'subordinate' THEN CAST(:w_subordinate AS DOUBLE PRECISION) ELSE 0.0 END"
)
_ORDER = "score DESC, n DESC, last_at ASC, ratee_id ASC"

# One statement for the whole quarter, the same on SQLite and PostgreSQL (window functions).
COMPUTE_SQL = text(
    f"""
WITH g AS (
    SELECT ratee_id, relation, AVG(score) AS m, COUNT(*) AS n, MAX(updated_at) AS last_at
    FROM rating WHERE period_id = :period_id GROUP BY ratee_id, relation
), s AS (
    SELECT g.ratee_id,
        SUM(g.n) AS n,
        MAX(g.last_at) AS last_at,
        SUM(({_WEIGHT}) * g.m) / NULLIF(SUM({_WEIGHT}), 0) AS raw,
        MAX(CASE WHEN g.relation = 'superior' THEN g.m END) AS superior_mean,
        SUM(CASE WHEN g.relation = 'superior' THEN g.n ELSE 0 END) AS superior_count,
        MAX(CASE WHEN g.relation = 'peer' THEN g.m END) AS peer_mean,
        SUM(CASE WHEN g.relation = 'peer' THEN g.n ELSE 0 END) AS peer_count,
        MAX(CASE WHEN g.relation = 'subordinate' THEN g.m END) AS subordinate_mean,
        SUM(CASE WHEN g.relation = 'subordinate' THEN g.n ELSE 0 END) AS subordinate_count
    FROM g GROUP BY g.ratee_id
), e AS (
    SELECT s.*, emp.unit_id,
        ROUND(CAST(s.raw AS NUMERIC), {SCORE_DECIMALS}) AS score,
        CASE WHEN s.n >= CAST(:min_raters AS INTEGER) AND s.raw IS NOT NULL
            THEN 1 ELSE 0 END AS ok
    FROM s JOIN employee emp ON emp.id = s.ratee_id
)
INSERT INTO standing (period_id, employee_id, unit_id, score, rater_count,
    superior_mean, superior_count, peer_mean, peer_count, subordinate_mean, subordinate_count,
    eligible, rank_agency, rank_unit, last_rated_at)
SELECT :period_id, ratee_id, unit_id, score, n,
    superior_mean, superior_count, peer_mean, peer_count, subordinate_mean, subordinate_count,
    ok = 1,
    CASE WHEN ok = 1 THEN ROW_NUMBER() OVER (PARTITION BY ok ORDER BY {_ORDER}) END,
    CASE WHEN ok = 1 THEN ROW_NUMBER() OVER (PARTITION BY ok, unit_id ORDER BY {_ORDER}) END,
    last_at
FROM e
"""
).bindparams(
    bindparam("w_superior", type_=Float),
    bindparam("w_peer", type_=Float),
    bindparam("w_subordinate", type_=Float),
    bindparam("min_raters", type_=Integer),
    bindparam("period_id", type_=Integer),
)

# Semester and year: the mean of the eligible quarter scores of published quarters.
SPAN_SQL = text(
    f"""
WITH q AS (
    SELECT s.employee_id, s.score, s.rater_count, s.last_rated_at
    FROM standing s JOIN rating_period p ON p.id = s.period_id
    WHERE p.agency_id = :agency_id AND p.year = :year AND p.state = 'published'
      AND p.quarter >= :q_from AND p.quarter <= :q_to AND s.eligible
), a AS (
    SELECT employee_id AS ratee_id, ROUND(CAST(AVG(score) AS NUMERIC), {SCORE_DECIMALS}) AS score,
        SUM(rater_count) AS n, MAX(last_rated_at) AS last_at, COUNT(*) AS quarters
    FROM q GROUP BY employee_id HAVING COUNT(*) >= :min_quarters
)
SELECT ratee_id, score, n, ROW_NUMBER() OVER (ORDER BY {_ORDER}) AS rank
FROM a ORDER BY rank
"""
).bindparams(
    bindparam("agency_id", type_=Integer),
    bindparam("year", type_=Integer),
    bindparam("q_from", type_=Integer),
    bindparam("q_to", type_=Integer),
    bindparam("min_quarters", type_=Integer),
)


async def compute_standings(session: AsyncSession, period: RatingPeriod, scheme: Scheme) -> None:
    """Recompute the quarter's standings from its ratings (idempotent)."""
    await session.execute(delete(Standing).where(Standing.period_id == period.id))
    weights = scheme.weights
    await session.execute(
        COMPUTE_SQL,
        {
            "period_id": period.id,
            "min_raters": int(scheme.rule("min_raters")),
            **{f"w_{r}": weights[r] for r in RELATIONS},
        },
    )


@dataclass(frozen=True)
class Ranked:
    employee_id: int
    score: float
    rater_count: int
    rank: int


async def span_ranking(
    session: AsyncSession, agency_id: int, year: int, quarters: tuple[int, int], min_quarters: int
) -> list[Ranked]:
    rows = await session.execute(
        SPAN_SQL,
        {
            "agency_id": agency_id,
            "year": year,
            "q_from": quarters[0],
            "q_to": quarters[1],
            "min_quarters": min_quarters,
        },
    )
    return [Ranked(int(r[0]), float(r[1]), int(r[2]), int(r[3])) for r in rows.all()]


async def record_awards(session: AsyncSession, period: RatingPeriod, scheme: Scheme) -> None:
    """On publish: the quarter's winners; after Q2/Q4 the semester shortlist; after Q4 the year."""
    ref = QuarterRef(period.year, period.quarter)
    top = await session.execute(
        select(Standing.employee_id, Standing.score, Standing.rater_count, Standing.rank_agency)
        .where(Standing.period_id == period.id, Standing.eligible)
        .order_by(Standing.rank_agency)
        .limit(int(scheme.rule("quarter_winners")))
    )
    winners = [Ranked(r[0], float(r[1]), r[2], r[3]) for r in top.all()]
    await _replace(
        session,
        period.agency_id,
        "quarter",
        ref.year,
        ref.quarter,
        winners,
        str(scheme.rule("quarter_prize")),
        int(scheme.rule("quarter_prize_amount")),
    )
    if ref.quarter % 2 == 0:
        semester = ref.quarter // 2
        quarters = (ref.quarter - 1, ref.quarter)
        ranked = await span_ranking(
            session,
            period.agency_id,
            ref.year,
            quarters,
            int(scheme.rule("semester_min_quarters")),
        )
        await _replace(
            session,
            period.agency_id,
            "shortlist",
            ref.year,
            semester,
            ranked[: int(scheme.rule("shortlist_size"))],
            "",
            0,
        )
    if ref.quarter == 4:
        shortlisted = set(
            await session.scalars(
                select(Award.employee_id).where(
                    Award.agency_id == period.agency_id,
                    Award.kind == "shortlist",
                    Award.year == ref.year,
                )
            )
        )
        year = await span_ranking(session, period.agency_id, ref.year, (1, 4), 1)
        finalists = [r for r in year if r.employee_id in shortlisted]
        finalists = [
            Ranked(r.employee_id, r.score, r.rater_count, i + 1)
            for i, r in enumerate(finalists[: int(scheme.rule("year_winners"))])
        ]
        await _replace(
            session,
            period.agency_id,
            "year",
            ref.year,
            0,
            finalists,
            str(scheme.rule("year_prize")),
            0,
        )


async def _replace(
    session: AsyncSession,
    agency_id: int,
    kind: str,
    year: int,
    part: int,
    ranked: list[Ranked],
    prize: str,
    amount: int,
) -> None:
    await session.execute(
        delete(Award).where(
            Award.agency_id == agency_id, Award.kind == kind, Award.year == year, Award.part == part
        )
    )
    session.add_all(
        Award(
            agency_id=agency_id,
            kind=kind,
            year=year,
            part=part,
            employee_id=r.employee_id,
            rank=r.rank,
            score=r.score,
            rater_count=r.rater_count,
            prize=prize,
            prize_amount=amount,
        )
        for r in ranked
    )
    await session.flush()


# --- Reading standings ----------------------------------------------------------------------


def visible_breakdown(standing: Standing, scheme: Scheme) -> dict[str, float]:
    """Relation-group means safe to show: each shown group has enough raters, and never exactly
    one present group hidden (its mean would follow from the score and the others' means)."""
    floor = int(scheme.rule("breakdown_min_raters"))
    present = {
        r: (getattr(standing, f"{r}_mean"), getattr(standing, f"{r}_count"))
        for r in RELATIONS
        if getattr(standing, f"{r}_count")
    }
    shown = {r: float(m) for r, (m, n) in present.items() if n >= floor and m is not None}
    if len(present) - len(shown) == 1:
        return {}
    return shown


@dataclass(frozen=True)
class MyStanding:
    period: RatingPeriod
    standing: Standing | None
    agency_total: int
    unit_total: int


async def my_standing(
    session: AsyncSession, employee: Employee, period: RatingPeriod
) -> MyStanding:
    """One indexed lookup for the row and two index-only maxima for "rank N of M"."""
    standing = await session.scalar(
        select(Standing).where(Standing.period_id == period.id, Standing.employee_id == employee.id)
    )
    unit_id = standing.unit_id if standing else employee.unit_id
    totals = (
        await session.execute(
            select(
                select(func.max(Standing.rank_agency))
                .where(Standing.period_id == period.id)
                .scalar_subquery(),
                select(func.max(Standing.rank_unit))
                .where(Standing.period_id == period.id, Standing.unit_id == unit_id)
                .scalar_subquery(),
            )
        )
    ).one()
    return MyStanding(period, standing, int(totals[0] or 0), int(totals[1] or 0))


async def published_periods(
    session: AsyncSession, agency_id: int, limit: int = 8
) -> list[RatingPeriod]:
    return list(
        await session.scalars(
            select(RatingPeriod)
            .where(RatingPeriod.agency_id == agency_id, RatingPeriod.state == PUBLISHED)
            .order_by(RatingPeriod.year.desc(), RatingPeriod.quarter.desc())
            .limit(limit)
        )
    )


async def history(
    session: AsyncSession, employee: Employee, limit: int = 12
) -> list[tuple[str, float | None]]:
    """(quarter label, score or None when not ranked) over the latest published quarters."""
    rows = await session.execute(
        select(RatingPeriod.year, RatingPeriod.quarter, Standing.score, Standing.eligible)
        .outerjoin(
            Standing,
            (Standing.period_id == RatingPeriod.id) & (Standing.employee_id == employee.id),
        )
        .where(RatingPeriod.agency_id == employee.agency_id, RatingPeriod.state == PUBLISHED)
        .order_by(RatingPeriod.year.desc(), RatingPeriod.quarter.desc())
        .limit(limit)
    )
    points = [
        (QuarterRef(y, q).label, float(s) if s is not None and ok else None)
        for y, q, s, ok in rows.all()
    ]
    return list(reversed(points))


def history_chart(points: list[tuple[str, float | None]], title: str, scheme: Scheme) -> bytes:
    """A small PNG of one's own quarterly scores; aggregates only, nothing about any rater."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3), dpi=100)
    axes = figure.subplots()
    labels = [label for label, _ in points]
    values = [float("nan") if v is None else v for _, v in points]
    axes.plot(labels, values, marker="o", color="#1f6f8b")
    axes.set_ylim(scheme.score_min - 0.2, scheme.score_max + 0.2)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    # No timestamps or software tags in the file: the same history gives the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# --- HR views and export --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    rank_agency: int | None
    rank_unit: int | None
    nip: str
    name: str
    unit: str
    score: float | None
    rater_count: int
    eligible: bool
    breakdown: dict[str, float]


async def ranking(
    session: AsyncSession,
    period: RatingPeriod,
    scheme: Scheme,
    *,
    limit: int | None = None,
    lowest: bool = False,
) -> list[Row]:
    """Ranked rows (best first, or the lowest ranked first for the coaching list)."""
    order = Standing.rank_agency.desc() if lowest else Standing.rank_agency.asc()
    stmt = (
        select(Standing, Employee.nip, Employee.name, Unit.name)
        .join(Employee, Employee.id == Standing.employee_id)
        .join(Unit, Unit.id == Standing.unit_id)
        .where(Standing.period_id == period.id)
    )
    if lowest:
        stmt = stmt.where(Standing.eligible)
    stmt = stmt.order_by(Standing.eligible.desc(), order, Employee.name)
    if limit:
        stmt = stmt.limit(limit)
    return [
        Row(
            s.rank_agency,
            s.rank_unit,
            nip,
            name,
            unit,
            s.score if s.eligible else None,
            s.rater_count,
            bool(s.eligible),
            visible_breakdown(s, scheme),
        )
        for s, nip, name, unit in (await session.execute(stmt)).all()
    ]


async def awards(
    session: AsyncSession, agency_id: int, kind: str, year: int, part: int
) -> list[tuple[Award, Employee]]:
    rows = await session.execute(
        select(Award, Employee)
        .join(Employee, Employee.id == Award.employee_id)
        .where(
            Award.agency_id == agency_id, Award.kind == kind, Award.year == year, Award.part == part
        )
        .order_by(Award.rank)
    )
    return [(a, e) for a, e in rows.all()]


EXPORT_COLUMNS = (
    "rank_agency",
    "rank_unit",
    "nip",
    "name",
    "unit",
    "score",
    "rater_count",
    "eligible",
    *(f"{r}_mean" for r in RELATIONS),
)


def export_records(rows: list[Row]) -> list[dict[str, Any]]:
    """Aggregates only: a group's mean appears only where visible_breakdown allows it."""
    return [
        {
            **{f"{k}_mean": "" for k in RELATIONS},
            "rank_agency": r.rank_agency or "",
            "rank_unit": r.rank_unit or "",
            "nip": r.nip,
            "name": r.name,
            "unit": r.unit,
            "score": "" if r.score is None else round(r.score, 4),
            "rater_count": r.rater_count,
            "eligible": int(r.eligible),
            **{f"{k}_mean": round(v, 4) for k, v in r.breakdown.items()},
        }
        for r in rows
    ]


def write_csv(records: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS))
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().encode("utf-8")


def write_xlsx(records: list[dict[str, Any]], sheet_title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title[:31]
    sheet.append(list(EXPORT_COLUMNS))
    for record in records:
        sheet.append([record[c] for c in EXPORT_COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
