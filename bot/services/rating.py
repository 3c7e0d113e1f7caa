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

from bot.services import audit
from bot.services.periods import is_accepting
from bot.services.rating_scheme import Scheme
from bot.services.refusal import Refused
from storage.models import Employee, EmployeeRole, Rating, RatingPeriod, UTCDateTime

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
    """One pattern found: mutual top scores (a pair), a ring of top scores (three), one score for
    everyone or a burst (one rater). The detail is the pattern's size, never a score given."""

    kind: str  # mutual | ring | same_score | burst: message ids rating.flag.<kind>
    employee_ids: list[int]  # the raters the pattern is about
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
        select(Rating.rater_id, func.count())
        .where(Rating.period_id == period.id)
        .group_by(Rating.rater_id)
        .having(
            func.count() >= scheme.integrity("same_score_min_ratings"),
            func.min(Rating.score) == func.max(Rating.score),
        )
    )
    # The count only: the score itself would tell the reader what each of them was given.
    flags += [Flag("same_score", [rid], {"count": n}) for rid, n in same.all()]
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


# --- Who may read a flag --------------------------------------------------------------------
#
# An HR officer is "in the circle" of a flagged rater when they are that rater, are in the
# rater's rating circle under the roster (superior, peer or subordinate: whom the rater rates
# and who rates the rater), or rated or were rated by the rater in that quarter. A flag is hidden
# from an HR officer in the circle of any rater it is about: they are one of the ratees concerned
# or a colleague who could tell who gave what. Another HR officer outside every such circle sees
# it; when no other HR officer can, the viewer is told that some flags need someone else.

_FLAG_ORDER = ("mutual", "ring", "same_score", "burst")


@dataclass(frozen=True)
class FlagLine:
    """What HR reads about one person: the pattern and its size, no partner, no score."""

    kind: str
    employee_id: int
    detail: dict[str, Any]


@dataclass(frozen=True)
class FlagReview:
    lines: list[FlagLine]
    hidden: int  # patterns hidden from this viewer because they are in the circle
    unreviewable: int  # of those, patterns no other active HR officer may read either


async def circle_ids(
    session: AsyncSession, employee: Employee, period: RatingPeriod, scheme: Scheme
) -> set[int]:
    """The employee, their rating circle in the roster, and whoever they rated or were rated by
    in the quarter (the roster may have changed since)."""
    ids = {employee.id}
    ids |= set(
        await session.scalars(select(Employee.id).where(_circle_condition(employee, scheme)))
    )
    rows = await session.execute(
        select(Rating.rater_id, Rating.ratee_id).where(
            Rating.period_id == period.id,
            or_(Rating.rater_id == employee.id, Rating.ratee_id == employee.id),
        )
    )
    for rater, ratee in rows.all():
        ids |= {rater, ratee}
    return ids


async def review_flags(
    session: AsyncSession, period: RatingPeriod, scheme: Scheme, viewer: Employee | None
) -> FlagReview:
    """The flags this HR officer may read, one line per person and pattern, and how many are kept
    from them (and whether another HR officer can read those)."""
    found = await integrity_flags(session, period, scheme)
    mine = await circle_ids(session, viewer, period, scheme) if viewer is not None else set()
    visible = [f for f in found if not mine & set(f.employee_ids)]
    hidden = [f for f in found if mine & set(f.employee_ids)]
    unreviewable = 0
    if hidden:
        others = list(
            await session.scalars(
                select(Employee)
                .join(EmployeeRole, EmployeeRole.employee_id == Employee.id)
                .where(
                    EmployeeRole.role == "hr",
                    Employee.agency_id == period.agency_id,
                    Employee.status == "active",
                    Employee.id != (viewer.id if viewer is not None else -1),
                )
            )
        )
        circles = [await circle_ids(session, o, period, scheme) for o in others]
        unreviewable = sum(1 for f in hidden if all(c & set(f.employee_ids) for c in circles))
    return FlagReview(_lines(visible), len(hidden), unreviewable)


async def flag_texts(
    session: AsyncSession, agency_id: int, review: FlagReview, t: Any, limit: int = 30
) -> list[str]:
    """The review's lines in words, each naming its person "Name (NIP)" (chat and CLI alike)."""
    ids = {line.employee_id for line in review.lines}
    names: dict[int, str] = {}
    if ids:
        rows = await session.execute(
            select(Employee.id, Employee.name, Employee.nip).where(
                Employee.id.in_(ids), Employee.agency_id == agency_id
            )
        )
        names = {i: f"{n} ({nip})" for i, n, nip in rows.all()}
    return [
        t(f"rating.flag.{line.kind}", names=names.get(line.employee_id, "?"), **line.detail)
        for line in review.lines[:limit]
    ]


async def read_flags(
    session: AsyncSession,
    period: RatingPeriod,
    scheme: Scheme,
    viewer: Employee | None,
    t: Any,
    *,
    actor: str,
    limit: int = 30,
    **detail: Any,
) -> tuple[FlagReview, list[str]]:
    """The flags `viewer` may read, in words, with the audit row every read of them leaves
    (chat, console and terminal alike; `viewer` None: the operator, in nobody's circle)."""
    review = await review_flags(session, period, scheme, viewer)
    lines = await flag_texts(session, period.agency_id, review, t, limit=limit)
    audit.record(
        session,
        actor=actor,
        action="rating.flags.view",
        agency_id=period.agency_id,
        target=f"period:{period.id}",
        shown=len(review.lines),
        hidden=review.hidden,
        unreviewable=review.unreviewable,
        **detail,
    )
    return review, lines


def _lines(flags: list[Flag]) -> list[FlagLine]:
    """One line per person and kind: mutual and ring flags name each member with the number of
    patterns they are in, never the partner; the others name the rater with the pattern's size."""
    per: dict[tuple[str, int], dict[str, Any]] = {}
    for f in flags:
        if f.kind in ("mutual", "ring"):
            for person in f.employee_ids:
                entry = per.setdefault((f.kind, person), {"count": 0})
                entry["count"] += 1
        else:
            per[(f.kind, f.employee_ids[0])] = dict(f.detail)
    ordered = sorted(per, key=lambda k: (_FLAG_ORDER.index(k[0]), k[1]))
    return [FlagLine(kind, person, per[(kind, person)]) for kind, person in ordered]
