"""Assessment quarters: open, close and publish; semesters and years are derived from quarters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import enqueue
from bot.services import audit
from bot.services.quarters import (
    CLOSED,
    OPEN,
    PUBLISHED,
    QuarterRef,
    quarter_bounds,
    quarter_of,
)
from bot.services.rating_scheme import Scheme
from bot.services.refusal import Refused
from bot.services.standings import compute_standings, record_awards
from storage.models import Account, Agency, RatingPeriod, Standing

_LABEL = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[QqTt](?:W)?\s*([1-4])\s*$")


class PeriodError(StrEnum):
    """Why a period change was refused; each value is a message id in locales/."""

    EXISTS = "period.error.exists"
    ANOTHER_OPEN = "period.error.another_open"
    NOT_FOUND = "period.error.not_found"
    NOT_OPEN = "period.error.not_open"
    NOT_CLOSED = "period.error.not_closed"
    BAD_LABEL = "period.error.bad_label"


class PeriodRefused(Refused):
    reason: PeriodError


def parse_label(text: str) -> QuarterRef:
    """'2025-Q1', '2025Q1', '2025 T1' (triwulan) -> QuarterRef."""
    match = _LABEL.match(text)
    if not match:
        raise PeriodRefused(PeriodError.BAD_LABEL)
    return QuarterRef(int(match.group(1)), int(match.group(2)))


def is_accepting(period: RatingPeriod, now: datetime | None = None) -> bool:
    """Ratings are taken only while open and before the planned close, whatever HR forgets."""
    now = now or datetime.now(UTC)
    return period.state == OPEN and period.opens_at <= now < period.closes_at


async def get_period(session: AsyncSession, agency_id: int, ref: QuarterRef) -> RatingPeriod | None:
    return await session.scalar(
        select(RatingPeriod).where(
            RatingPeriod.agency_id == agency_id,
            RatingPeriod.year == ref.year,
            RatingPeriod.quarter == ref.quarter,
        )
    )


async def period_by_id(session: AsyncSession, agency_id: int, raw: str) -> RatingPeriod | None:
    """The period a payload names, only within the caller's agency."""
    if not raw.isdigit():
        return None
    period = await session.get(RatingPeriod, int(raw))
    return period if period is not None and period.agency_id == agency_id else None


async def current_open(session: AsyncSession, agency_id: int) -> RatingPeriod | None:
    return await session.scalar(
        select(RatingPeriod).where(RatingPeriod.agency_id == agency_id, RatingPeriod.state == OPEN)
    )


async def recent(
    session: AsyncSession, agency_id: int, limit: int = 8, offset: int = 0
) -> list[RatingPeriod]:
    return list(
        await session.scalars(
            select(RatingPeriod)
            .where(RatingPeriod.agency_id == agency_id)
            .order_by(RatingPeriod.year.desc(), RatingPeriod.quarter.desc())
            .offset(max(offset, 0))
            .limit(limit)
        )
    )


async def count(session: AsyncSession, agency_id: int) -> int:
    found = await session.scalar(
        select(func.count()).select_from(RatingPeriod).where(RatingPeriod.agency_id == agency_id)
    )
    return int(found or 0)


async def next_to_open(session: AsyncSession, agency: Agency, now: datetime) -> QuarterRef | None:
    """The quarter HR would open now: none while one is open; else the calendar's quarter, or
    the first after it not yet opened (after this quarter is done, the next one is HR's)."""
    if await current_open(session, agency.id) is not None:
        return None
    ref = quarter_of(now, ZoneInfo(agency.timezone))
    while await get_period(session, agency.id, ref) is not None:
        ref = QuarterRef(ref.year + ref.quarter // 4, ref.quarter % 4 + 1)
    return ref


async def open_quarter(
    session: AsyncSession,
    agency: Agency,
    ref: QuarterRef,
    scheme: Scheme,
    actor: str,
    *,
    closes_at: datetime | None = None,
    now: datetime | None = None,
    via: str | None = None,
) -> RatingPeriod:
    """Open a quarter for rating. One quarter at a time is open; a quarter opens only once."""
    now = now or datetime.now(UTC)
    if await get_period(session, agency.id, ref) is not None:
        raise PeriodRefused(PeriodError.EXISTS)
    if await current_open(session, agency.id) is not None:
        raise PeriodRefused(PeriodError.ANOTHER_OPEN)
    _start, end = quarter_bounds(ref, ZoneInfo(agency.timezone))
    if closes_at is None:
        # Opening a quarter that has already ended (catching up): give raters a fair window.
        late = now + timedelta(days=int(scheme.rule("late_open_days")))
        closes_at = end if end > now else late
    period = RatingPeriod(
        agency_id=agency.id,
        year=ref.year,
        quarter=ref.quarter,
        state=OPEN,
        opens_at=now,
        closes_at=closes_at,
    )
    session.add(period)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="period.open",
        agency_id=agency.id,
        target=f"period:{period.id}",
        label=ref.label,
        **({"via": via} if via else {}),
    )
    return period


async def close_period(
    session: AsyncSession,
    period: RatingPeriod,
    scheme: Scheme,
    actor: str,
    via: str | None = None,
) -> None:
    """Close for raters (final) and compute the standings HR reviews before publishing."""
    if period.state != OPEN:
        raise PeriodRefused(PeriodError.NOT_OPEN)
    now = datetime.now(UTC)
    period.state = CLOSED
    period.closed_at = now
    period.closes_at = min(period.closes_at, now)
    await session.flush()
    await compute_standings(session, period, scheme)
    audit.record(
        session,
        actor=actor,
        action="period.close",
        agency_id=period.agency_id,
        target=f"period:{period.id}",
        **({"via": via} if via else {}),
    )


async def publish_period(
    session: AsyncSession,
    period: RatingPeriod,
    scheme: Scheme,
    actor: str,
    via: str | None = None,
) -> None:
    """Publish: standings become visible to ASN; winners, shortlist and yearly awards recorded.

    The standings are the ones computed at close (ratings cannot change since): what HR reviewed
    is exactly what is published.
    """
    if period.state != CLOSED:
        raise PeriodRefused(PeriodError.NOT_CLOSED)
    period.state = PUBLISHED
    period.published_at = datetime.now(UTC)
    await session.flush()
    await record_awards(session, period, scheme)
    told = await _tell_ranked(session, period)
    audit.record(
        session,
        actor=actor,
        action="period.publish",
        agency_id=period.agency_id,
        target=f"period:{period.id}",
        told=told,
        **({"via": via} if via else {}),
    )


async def _tell_ranked(session: AsyncSession, period: RatingPeriod) -> int:
    """Each ranked ASN hears that their standing is ready, on the chat they used last (once per
    quarter and person). The message names no figure: the standing itself is behind /posisi."""
    ranked = select(Standing.employee_id).where(Standing.period_id == period.id, Standing.eligible)
    accounts = await session.scalars(
        select(Account)
        .where(Account.employee_id.in_(ranked), Account.reachable.is_(True))
        .order_by(
            Account.employee_id, Account.last_inbound_at.desc().nulls_last(), Account.id.desc()
        )
    )
    seen: set[int] = set()
    for account in accounts:
        if account.employee_id is None or account.employee_id in seen:
            continue
        seen.add(account.employee_id)
        await enqueue(
            session,
            account,
            "standing.ready",
            source=f"period:{period.id}",
            params={"period": label(period)},
            dedup_key=f"standing-ready:{period.id}:{account.employee_id}",
        )
    return len(seen)


def label(period: RatingPeriod) -> str:
    return QuarterRef(period.year, period.quarter).label


# Quarters and period states are shared with the standings: defined in quarters.py, used here too.
__all__ = [
    "CLOSED",
    "OPEN",
    "PUBLISHED",
    "PeriodError",
    "PeriodRefused",
    "QuarterRef",
    "close_period",
    "count",
    "current_open",
    "get_period",
    "is_accepting",
    "label",
    "next_to_open",
    "open_quarter",
    "parse_label",
    "period_by_id",
    "publish_period",
    "quarter_bounds",
    "quarter_of",
    "recent",
]
