"""Who may rate whom (the circle, from the roster), saving ratings, progress and integrity flags.

Every function re-derives the relation from the roster at the time of the call: a button payload
only names a colleague, it never proves the rater may rate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.services.periods import is_accepting
from bot.services.rating_scheme import Scheme
from bot.services.refusal import Refused
from storage.models import Employee, Rating, RatingPeriod, UTCDateTime

SUPERIOR, PEER, SUBORDINATE = "superior", "peer", "subordinate"


class RatingError(StrEnum):
    """Why a rating step was refused; each value is a message id in locales/."""

    NO_PERIOD = "rating.error.no_period"
    NOT_IN_CIRCLE = "rating.error.not_in_circle"
    SELF = "rating.error.self"
    BAD_SCORE = "rating.error.bad_score"
    INCOMPLETE = "rating.error.incomplete"


class RatingRefused(Refused):
    reason: RatingError


def relation_between(rater: Employee, ratee: Employee, scheme: Scheme) -> str | None:
    """What the rater is to the ratee (superior, peer, subordinate), or None outside the circle."""
    if rater.id == ratee.id or rater.agency_id != ratee.agency_id:
        return None
    if rater.status != "active" or ratee.status != "active":
        return None
    if ratee.supervisor_id == rater.id:
        return SUPERIOR
    if rater.supervisor_id == ratee.id:
        return SUBORDINATE
    if rater.unit_id == ratee.unit_id and (
        scheme.rule("peers") == "unit" or rater.supervisor_id == ratee.supervisor_id
    ):
        return PEER
    return None


def _circle_condition(rater: Employee, scheme: Scheme) -> ColumnElement[bool]:
    """The same rule as relation_between, as SQL, for listing and counting."""
    if scheme.rule("peers") == "unit":
        peer = Employee.unit_id == rater.unit_id
    elif rater.supervisor_id is None:
        peer = and_(Employee.unit_id == rater.unit_id, Employee.supervisor_id.is_(None))
    else:
        peer = and_(
            Employee.unit_id == rater.unit_id, Employee.supervisor_id == rater.supervisor_id
        )
    related = [Employee.supervisor_id == rater.id, peer]
    if rater.supervisor_id is not None:
        related.append(Employee.id == rater.supervisor_id)
    return and_(
        Employee.agency_id == rater.agency_id,
        Employee.status == "active",
        Employee.id != rater.id,
        or_(*related),
    )


@dataclass(frozen=True)
class CircleMember:
    id: int
    name: str
    rated: bool


async def circle_page(
    session: AsyncSession,
    rater: Employee,
    period: RatingPeriod,
    scheme: Scheme,
    *,
    page: int = 0,
    query: str | None = None,
) -> tuple[list[CircleMember], bool]:
    """One page of the rater's circle (rated ones flagged), and whether a next page exists."""
    size = int(scheme.rule("page_size"))
    stmt = (
        select(Employee.id, Employee.name, Rating.id.is_not(None))
        .outerjoin(
            Rating,
            and_(
                Rating.ratee_id == Employee.id,
                Rating.rater_id == rater.id,
                Rating.period_id == period.id,
            ),
        )
        .where(_circle_condition(rater, scheme))
    )
    if query:
        like = "%" + query.replace("%", "").replace("_", "").lower()[:50] + "%"
        stmt = stmt.where(func.lower(Employee.name).like(like))
    rows = (
        await session.execute(
            stmt.order_by(Employee.name, Employee.id).offset(max(page, 0) * size).limit(size + 1)
        )
    ).all()
    members = [CircleMember(r[0], r[1], bool(r[2])) for r in rows[:size]]
    return members, len(rows) > size


async def progress(
    session: AsyncSession, rater: Employee, period: RatingPeriod, scheme: Scheme
) -> tuple[int, int]:
    """(rated, circle size) for "3 dari 7 rekan sudah dinilai"."""
    row = (
        await session.execute(
            select(func.count(Employee.id), func.count(Rating.id))
            .outerjoin(
                Rating,
                and_(
                    Rating.ratee_id == Employee.id,
                    Rating.rater_id == rater.id,
                    Rating.period_id == period.id,
                ),
            )
            .where(_circle_condition(rater, scheme))
        )
    ).one()
    return int(row[1]), int(row[0])


async def check_target(
    session: AsyncSession,
    rater: Employee,
    ratee_id: int | str,
    period: RatingPeriod | None,
    scheme: Scheme,
) -> tuple[Employee, str]:
    """The ratee and relation, or RatingRefused: run on every step, whatever the payload said."""
    if period is None or not is_accepting(period):
        raise RatingRefused(RatingError.NO_PERIOD)
    if not str(ratee_id).isdigit():
        raise RatingRefused(RatingError.NOT_IN_CIRCLE)
    if int(ratee_id) == rater.id:
        raise RatingRefused(RatingError.SELF)
    ratee = await session.get(Employee, int(ratee_id))
    relation = relation_between(rater, ratee, scheme) if ratee is not None else None
    if ratee is None or relation is None:
        raise RatingRefused(RatingError.NOT_IN_CIRCLE)
    return ratee, relation


def valid_score(raw: object, scheme: Scheme) -> int:
    text = str(raw)
    if not text.isdigit() or not scheme.score_min <= int(text) <= scheme.score_max:
        raise RatingRefused(RatingError.BAD_SCORE)
    return int(text)


async def existing(
    session: AsyncSession, period: RatingPeriod, rater: Employee, ratee: Employee
) -> Rating | None:
    return await session.scalar(
        select(Rating).where(
            Rating.period_id == period.id,
            Rating.rater_id == rater.id,
            Rating.ratee_id == ratee.id,
        )
    )


async def save_rating(
    session: AsyncSession,
    period: RatingPeriod,
    rater: Employee,
    ratee_id: int | str,
    scores: dict[str, Any],
    comment: str | None,
    scheme: Scheme,
    now: datetime | None = None,
) -> Rating:
    """Insert or revise the one rating of this rater for this ratee in this quarter."""
    ratee, relation = await check_target(session, rater, ratee_id, period, scheme)
    if set(scores) != set(scheme.criteria):
        raise RatingRefused(RatingError.INCOMPLETE)
    clean = {c: valid_score(scores[c], scheme) for c in scheme.criteria}
    mean = sum(clean.values()) / len(clean)
    now = now or datetime.now(UTC)
    note = (comment or "").strip()[: scheme.comment_max_chars] or None
    rating = await existing(session, period, rater, ratee)
    if rating is None:
        rating = Rating(
            period_id=period.id,
            rater_id=rater.id,
            ratee_id=ratee.id,
            relation=relation,
            scores=clean,
            score=mean,
            comment=note,
            created_at=now,
            updated_at=now,
        )
        session.add(rating)
    else:
        rating.relation, rating.scores, rating.score = relation, clean, mean
        rating.comment, rating.updated_at = note, now
    await session.flush()
    return rating


# --- Integrity flags (HR only, never blocking) ------------------------------------------------


@dataclass
class Flag:
    kind: str  # mutual | ring | same_score | burst: message ids rating.flag.<kind>
    employee_ids: list[int]
    detail: dict[str, Any] = field(default_factory=dict)


async def integrity_flags(
    session: AsyncSession, period: RatingPeriod, scheme: Scheme
) -> list[Flag]:
    flags: list[Flag] = []
    top = float(scheme.score_max)
    a, b, c = Rating.__table__.alias("a"), Rating.__table__.alias("b"), Rating.__table__.alias("c")
    pairs = await session.execute(
        select(a.c.rater_id, a.c.ratee_id)
        .join(
            b,
            and_(
                b.c.period_id == a.c.period_id,
                b.c.rater_id == a.c.ratee_id,
                b.c.ratee_id == a.c.rater_id,
            ),
        )
        .where(
            a.c.period_id == period.id,
            a.c.score >= top,
            b.c.score >= top,
            a.c.rater_id < a.c.ratee_id,
        )
    )
    flags += [Flag("mutual", [x, y]) for x, y in pairs.all()]
    if int(scheme.integrity("ring_max")) >= 3:
        # a -> b -> c -> a, all top scores; the smallest id first so each ring is listed once.
        rings = await session.execute(
            select(a.c.rater_id, b.c.rater_id, c.c.rater_id)
            .join(b, and_(b.c.period_id == a.c.period_id, b.c.rater_id == a.c.ratee_id))
            .join(
                c,
                and_(
                    c.c.period_id == a.c.period_id,
                    c.c.rater_id == b.c.ratee_id,
                    c.c.ratee_id == a.c.rater_id,
                ),
            )
            .where(
                a.c.period_id == period.id,
                a.c.score >= top,
                b.c.score >= top,
                c.c.score >= top,
                a.c.rater_id < b.c.rater_id,
                a.c.rater_id < c.c.rater_id,
                b.c.rater_id != c.c.rater_id,
            )
        )
        flags += [Flag("ring", list(r)) for r in rings.all()]
    same = await session.execute(
        select(Rating.rater_id, func.count(), func.min(Rating.score))
        .where(Rating.period_id == period.id)
        .group_by(Rating.rater_id)
        .having(
            func.count() >= scheme.integrity("same_score_min_ratings"),
            func.min(Rating.score) == func.max(Rating.score),
        )
    )
    flags += [
        Flag("same_score", [rid], {"count": n, "score": f"{score:.2f}"})
        for rid, n, score in same.all()
    ]
    flags += await _bursts(session, period, scheme)
    return flags


async def _bursts(session: AsyncSession, period: RatingPeriod, scheme: Scheme) -> list[Flag]:
    """Raters who entered burst_ratings ratings within burst_seconds (first entry times)."""
    k = int(scheme.integrity("burst_ratings"))
    window = int(scheme.integrity("burst_seconds"))
    lagged = (
        select(
            Rating.rater_id.label("rater_id"),
            Rating.created_at.label("at"),
            func.lag(Rating.created_at, k - 1)
            .over(partition_by=Rating.rater_id, order_by=Rating.created_at)
            .label("earlier"),
        )
        .where(Rating.period_id == period.id)
        .subquery()
    )
    # SQL finds the candidates (raters with at least k ratings); the time difference is compared
    # here because date arithmetic differs between SQLite and PostgreSQL.
    rows = await session.execute(
        select(lagged.c.rater_id, lagged.c.at, lagged.c.earlier).where(
            lagged.c.earlier.is_not(None)
        )
    )
    worst: dict[int, float] = {}
    decode = UTCDateTime().process_result_value
    for rater_id, at, earlier in rows.all():
        at, earlier = decode(_as_dt(at), None), decode(_as_dt(earlier), None)
        assert at is not None and earlier is not None
        span = (at - earlier).total_seconds()
        if span <= window:
            worst[rater_id] = min(worst.get(rater_id, span), span)
    return [Flag("burst", [rid], {"count": k, "seconds": int(span)}) for rid, span in worst.items()]


def _as_dt(value: object) -> datetime:
    # Window functions over a decorated column come back raw from SQLite (text).
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
