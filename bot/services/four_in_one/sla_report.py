"""The HR report: cases per month, the share handed over by the third night, the median hours
each document took."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.four_in_one.rules import DOCUMENTS, NOT_CASES
from storage.models import CaseDocument, FourInOneCase
from storage.statuses import CaseStatus


@dataclass
class MonthFigures:
    month: str
    cases: int
    on_time: int  # all four handed over by the deadline
    overdue: int  # handed over late, or still not handed over after the deadline
    median_hours: dict[str, float | None]

    @property
    def on_time_share(self) -> float:
        return self.on_time / self.cases if self.cases else 0.0


async def report(
    session: AsyncSession, agency_id: int, now: datetime, month: str | None = None
) -> list[MonthFigures]:
    """Cases per month (opened, agency time), on-time share and overdue count are SQL aggregates;
    the medians are taken over one SQL-selected duration list per document, as SQLite has no
    percentile function."""
    live = (
        FourInOneCase.agency_id == agency_id,
        FourInOneCase.status.not_in((*NOT_CASES, CaseStatus.CANCELLED)),
    )
    month_filter = (FourInOneCase.opened_month == month,) if month else ()
    on_time = sql_case(
        (
            (FourInOneCase.handed_over_at.is_not(None))
            & (FourInOneCase.handed_over_at <= FourInOneCase.deadline_at),
            1,
        ),
        else_=0,
    )
    late = sql_case(
        (FourInOneCase.handed_over_at > FourInOneCase.deadline_at, 1),
        ((FourInOneCase.handed_over_at.is_(None)) & (FourInOneCase.deadline_at < now), 1),
        else_=0,
    )
    rows = await session.execute(
        select(
            FourInOneCase.opened_month,
            func.count(),
            func.coalesce(func.sum(on_time), 0),
            func.coalesce(func.sum(late), 0),
        )
        .where(*live, *month_filter)
        .group_by(FourInOneCase.opened_month)
        .order_by(FourInOneCase.opened_month)
    )
    figures = {
        m: MonthFigures(m, int(n), int(ok), int(bad), {k: None for k in DOCUMENTS})
        for m, n, ok, bad in rows
    }
    durations = await session.execute(
        select(
            FourInOneCase.opened_month,
            CaseDocument.kind,
            FourInOneCase.created_at,
            CaseDocument.ready_at,
        )
        .join(CaseDocument, CaseDocument.case_id == FourInOneCase.id)
        .where(*live, *month_filter, CaseDocument.ready_at.is_not(None))
    )
    hours: dict[tuple[str, str], list[float]] = {}
    for m, kind, opened, ready in durations:
        assert ready is not None  # the query reads only documents that are ready
        hours.setdefault((m, kind), []).append((ready - opened).total_seconds() / 3600)
    for (m, kind), values in hours.items():
        figures[m].median_hours[kind] = statistics.median(values)
    return list(figures.values())
