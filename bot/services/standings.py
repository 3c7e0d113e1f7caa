"""Standings: quarter scores and ranks computed in SQL, awards, one's own standing, the chart,
and what of them may be shown to anyone (`disclose`).

A quarter's score is the weighted mean of the relation groups' mean scores, weights re-normalised
over the groups present; ranked only with enough raters; ties: more raters, then earlier-rated
(the ratee whose last rating came in earlier), then the lower employee id so a rank is stable.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import combinations
from typing import Any

from sqlalchemy import Float, Integer, bindparam, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.services.quarters import PUBLISHED, QuarterRef
from bot.services.rating_scheme import RELATIONS, Scheme
from storage.models import Award, Employee, Rating, RatingPeriod, Standing, Unit

SCORE_DECIMALS = 6  # rounding before ranking, so float noise never decides a tie

_WEIGHT = (
    "CASE g.relation WHEN 'superior' THEN CAST(:w_superior AS DOUBLE PRECISION) "
    "WHEN 'peer' THEN CAST(:w_peer AS DOUBLE PRECISION) "
    "WHEN 'subordinate' THEN CAST(:w_subordinate AS DOUBLE PRECISION) ELSE 0.0 END"
)
_ORDER = "score DESC, n DESC, last_at ASC, ratee_id ASC"

# One statement for the whole quarter, the same on SQLite and PostgreSQL (window functions).
# The ratings are read from a covering index (ix_rating_period_ratee_scores: no table rows, and
# already in group order); the rows are written in employee order, so the standing's indexes on
# the employee are appended to and the foreign-key checks walk the employee index in order
# (about a quarter of the statement's time at 100,000 ASN, see docs/benchmarks.md).
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
ORDER BY ratee_id
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
    # Eligible standings always carry a score and a rank; the test only tells the type checker.
    winners = [
        Ranked(who, float(score), raters, rank)
        for who, score, raters, rank in top.all()
        if score is not None and rank is not None
    ]
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


# --- What may be shown ------------------------------------------------------------------------
#
# The rule (README, "Anonymity"): nothing anyone is shown about a person's quarter -- the score,
# a group's mean, a chart point, an export cell, an HR line, an award -- may let them work out the
# mean of a group of fewer than `breakdown_min_raters` raters: read directly, by subtracting the
# other figures of the quarter, or by comparing with the quarters published before it.
#
#  1. Every figure, and what is left of the score once the shown group means are taken out of it,
#     comes from no rating or from at least `breakdown_min_raters` ratings.
#  2. Exactness: with everything shown, every group of fewer raters can still take two values.
#     Checked exactly over the integer sums of criterion scores (a group of n raters sums to any
#     K in [C*min*n, C*max*n]); a value counts as looking the same only when it displays the same
#     under any rounding (strictly inside the rounding interval, less a margin).
#  3. Across quarters, each quarter is compared with the `compare_periods` quarters published
#     before it (0, the default: all of them), as if every rating repeated unchanged (same
#     rater, same scores) were known to be the same: no two figures may differ by 1 to
#     `breakdown_min_raters` - 1 ratings, and rule 2 must hold for the two quarters together,
#     for the groups of both.
#
# A quarter first gets what it may show on its own (the score first, then as many group means as
# the rules allow; when the score cannot be shown, the groups big enough on their own); the
# comparison can only take figures away from that. So an earlier quarter never showed more than
# "its own" figures, and those are what a later quarter is checked against: a quarter's figures
# depend only on itself and the quarters published before it, and never change afterwards.

DISPLAY_PLACES = 2
_QUANTUM = Decimal(1).scaleb(-DISPLAY_PLACES)
# Strictly inside the rounding interval, less a margin for the 6-decimal rounding of stored scores.
_WINDOW = Fraction(1, 2 * 10**DISPLAY_PLACES) - Fraction(1, 10**6)
_SEARCH_BUDGET = 200_000  # nodes of one exactness search; beyond it, assume the worst

RatingKey = tuple[int, float]  # (rater, that rater's mean): what one rating adds to a figure


def shown_decimal(value: float | Decimal) -> Decimal:
    """A figure as every screen and export writes it: two decimals, half-even on its decimal text
    (what Babel does), so a chat line and a spreadsheet cell never disagree in rounding."""
    return Decimal(str(value)).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Disclosure:
    """The figures of one person's quarter that may be shown, to them or about them."""

    rater_count: int
    eligible: bool
    score: Decimal | None  # the quarter score as shown; None when not shown
    groups: dict[str, tuple[Decimal, int]]  # relation -> (mean as shown, raters), shown ones only
    withheld: bool  # an eligible score or a present group's mean is not shown


@dataclass(frozen=True)
class _Facts:
    """One person's quarter: the standing's aggregates and the ratings behind them."""

    counts: dict[str, int]
    means: dict[str, float]
    score: float | None  # None when not eligible
    rater_count: int
    sets: dict[str, frozenset[RatingKey]]

    @classmethod
    def of(cls, standing: Standing, sets: dict[str, frozenset[RatingKey]]) -> _Facts:
        counts = {r: int(getattr(standing, f"{r}_count") or 0) for r in RELATIONS}
        means = {r: getattr(standing, f"{r}_mean") for r in RELATIONS}
        present = {r: float(means[r]) for r in RELATIONS if counts[r] and means[r] is not None}
        score = standing.score if standing.eligible else None
        return cls(
            {r: counts[r] for r in present},
            present,
            float(score) if score is not None else None,
            int(standing.rater_count),
            sets,
        )

    @property
    def present(self) -> list[str]:
        return [r for r in RELATIONS if r in self.means]

    def get(self, relation: str) -> frozenset[RatingKey]:
        return self.sets.get(relation, frozenset())

    def union(self, relations: Iterable[str]) -> frozenset[RatingKey]:
        out: frozenset[RatingKey] = frozenset()
        for r in relations:
            out |= self.get(r)
        return out


@dataclass(frozen=True)
class _Shown:
    score: bool
    groups: tuple[str, ...]


def _support(scheme: Scheme, relations: Iterable[str]) -> list[str]:
    """The relations that count in the score (a zero weight leaves a group out of it)."""
    weights = scheme.weights
    return [r for r in relations if weights[r] > 0]


def _orders(groups: Sequence[str], counts: dict[str, int]) -> list[tuple[str, ...]]:
    """Subsets of groups to try, most informative first."""
    subsets = [c for size in range(len(groups), -1, -1) for c in combinations(groups, size)]
    return sorted(subsets, key=lambda s: (-len(s), -sum(counts[r] for r in s)))


def _figure_sets(facts: _Facts, shown: _Shown, scheme: Scheme) -> list[frozenset[RatingKey]]:
    """The ratings behind each shown figure, and behind what the score leaves once the shown
    group means are taken out of it."""
    figures = [facts.get(r) for r in shown.groups]
    if shown.score:
        total = facts.union(_support(scheme, facts.present))
        figures += [total, total - facts.union(shown.groups)]
    return figures


def _separated(
    figures: list[frozenset[RatingKey]], earlier: list[frozenset[RatingKey]], floor: int
) -> bool:
    """No figure of 1..floor-1 ratings; no two figures that far apart."""
    if any(0 < len(f) < floor for f in figures):
        return False
    others = figures + earlier
    for i, f in enumerate(figures):
        for g in others[i + 1 :]:
            if 0 < len(f ^ g) < floor:
                return False
    return True


def _alone(facts: _Facts, scheme: Scheme) -> _Shown:
    """What a quarter may show judged on its own (rules 1 and 2)."""
    floor = int(scheme.rule("breakdown_min_raters"))
    big = [r for r in facts.present if facts.counts[r] >= floor]
    if facts.score is not None:
        for groups in _orders(big, facts.counts):
            shown = _Shown(True, groups)
            rest = sum(facts.counts[r] for r in _support(scheme, facts.present) if r not in groups)
            if 0 < rest < floor:
                continue
            if _exact([(facts, shown)], scheme):
                return shown
    return _Shown(False, tuple(big))  # groups of enough raters, no score: nothing small in them


def _choose(facts: _Facts, scheme: Scheme, earlier: Sequence[tuple[_Facts, _Shown]]) -> _Shown:
    """What a quarter shows, given what the quarters published before it could show (rule 3)."""
    alone = _alone(facts, scheme)
    if not earlier:
        return alone
    floor = int(scheme.rule("breakdown_min_raters"))
    seen = [f for p, s in earlier for f in _figure_sets(p, s, scheme)]
    mine = facts.union(facts.present)
    linked = [(p, s) for p, s in earlier if mine & p.union(p.present)]
    options = _orders(alone.groups, facts.counts)
    candidates = [_Shown(True, g) for g in options] if alone.score else []
    candidates += [_Shown(False, g) for g in options]
    for shown in candidates:
        if _separated(_figure_sets(facts, shown, scheme), seen, floor) and all(
            _exact([(p, s), (facts, shown)], scheme) for p, s in linked
        ):
            return shown
    return _Shown(False, ())


def disclose(
    standing: Standing,
    scheme: Scheme,
    sets: dict[str, frozenset[RatingKey]] | None = None,
    earlier: Sequence[tuple[Standing, dict[str, frozenset[RatingKey]]]] = (),
) -> Disclosure:
    """What of this standing may be shown, given its ratings (relation -> (rater, mean) pairs)
    and the standings and ratings of the quarters published before it."""
    facts = _Facts.of(standing, sets or {})
    before = [(f, _alone(f, scheme)) for f in (_Facts.of(s, r) for s, r in earlier)]
    return _disclosure(facts, _choose(facts, scheme, before))


def _disclosure(facts: _Facts, shown: _Shown) -> Disclosure:
    groups = {r: (shown_decimal(facts.means[r]), facts.counts[r]) for r in shown.groups}
    score = shown_decimal(facts.score) if shown.score and facts.score is not None else None
    withheld = (facts.score is not None and score is None) or len(groups) < len(facts.present)
    return Disclosure(facts.rater_count, facts.score is not None, score, groups, withheld)


# Exactness: integer sums of criterion scores ("classes" of raters) under linear windows.

_Class = tuple[tuple[str | None, ...], int, int]  # (group in each quarter, raters, true sum)
_Constraint = tuple[list[int], int, int]  # integer coefficients per class, lowest, highest


class _TooHard(Exception):
    pass


def _classes(views: Sequence[tuple[_Facts, _Shown]], scheme: Scheme) -> list[_Class] | None:
    """Raters grouped by where they sit in each quarter: one quarter, its groups; two quarters,
    a rating repeated unchanged in both is one rater in both. None if the ratings do not match
    the standings (then nothing risky is shown)."""
    c = len(scheme.criteria)
    if len(views) == 1:
        facts = views[0][0]
        out: list[_Class] = []
        for r in facts.present:
            exact = facts.means[r] * c * facts.counts[r]
            if abs(exact - round(exact)) > 1e-6:
                return None  # not on the scheme's lattice (criteria changed since?)
            out.append(((r,), facts.counts[r], round(exact)))
        return out
    where: dict[RatingKey, list[str | None]] = {}
    for i, (facts, _s) in enumerate(views):
        for r in facts.present:
            if len(facts.get(r)) != facts.counts[r]:
                return None
            for key in facts.get(r):
                where.setdefault(key, [None] * len(views))[i] = r
    sums: dict[tuple[str | None, ...], list[int]] = {}
    for key, groups in where.items():
        exact = key[1] * c
        if abs(exact - round(exact)) > 1e-6:
            return None
        entry = sums.setdefault(tuple(groups), [0, 0])
        entry[0] += 1
        entry[1] += round(exact)
    return [(groups, n, k) for groups, (n, k) in sorted(sums.items(), key=lambda i: str(i[0]))]


def _window(coefs: list[Fraction], shown: Decimal) -> _Constraint:
    low, high = Fraction(shown) - _WINDOW, Fraction(shown) + _WINDOW
    scale = math.lcm(*(q.denominator for q in (*coefs, low, high)))
    return [int(q * scale) for q in coefs], math.floor(low * scale) + 1, math.ceil(high * scale) - 1


def _exact(views: Sequence[tuple[_Facts, _Shown]], scheme: Scheme) -> bool:
    """Given every figure these views show, can each group of fewer than the minimum (in any of
    the quarters) still take at least two values? With two quarters, only what the comparison
    settles counts: what one quarter's own figures settle already (a group of three all giving
    1, say) is that quarter's own business, and hiding the other could not help."""
    floor = int(scheme.rule("breakdown_min_raters"))
    classes = _classes(views, scheme)
    if classes is None:
        return False
    c, lo, hi = len(scheme.criteria), scheme.score_min, scheme.score_max
    ranges = [(c * lo * n, c * hi * n) for _g, n, _k in classes]
    per_view: list[list[_Constraint]] = []
    protected: list[list[int]] = []
    for i, (facts, shown) in enumerate(views):
        member = [g[i] for g, _n, _k in classes]
        constraints: list[_Constraint] = []
        if shown.score and facts.score is not None:
            support = _support(scheme, facts.present)
            weights = {r: Fraction(str(scheme.weights[r])) for r in support}
            total = sum(weights.values())
            coefs = [
                weights[m] / (total * c * facts.counts[m]) if m in weights else Fraction(0)
                for m in member
            ]
            constraints.append(_window(coefs, shown_decimal(facts.score)))
        for r in shown.groups:
            coefs = [Fraction(1, c * facts.counts[r]) if m == r else Fraction(0) for m in member]
            constraints.append(_window(coefs, shown_decimal(facts.means[r])))
        per_view.append(constraints)
        protected += [
            [1 if m == r else 0 for m in member] for r in facts.present if facts.counts[r] < floor
        ]
    if len(views) > 1:
        # Ratings one quarter has and the other not, fewer than the minimum: their difference.
        protected += [
            [int(j == i) for j in range(len(classes))]
            for i, (where, n, _k) in enumerate(classes)
            if n < floor and sum(w is not None for w in where) == 1
        ]
    everything = [k for cons in per_view for k in cons]
    if not per_view[-1]:
        return True  # the last quarter shows nothing: it adds nothing
    alone = per_view if len(views) > 1 else []
    try:
        for mask in protected:
            truth = sum(k for (_g, _n, k), x in zip(classes, mask, strict=True) if x)
            if not _another(ranges, everything, mask, truth) and all(
                _another(ranges, cons, mask, truth) for cons in alone
            ):
                return False
    except _TooHard:
        return False
    return True


def _another(
    ranges: list[tuple[int, int]], constraints: list[_Constraint], mask: list[int], truth: int
) -> bool:
    """Can the classes in `mask` sum to anything but `truth` within the constraints?"""
    least = sum(a for (a, _b), x in zip(ranges, mask, strict=True) if x)
    most = sum(b for (_a, b), x in zip(ranges, mask, strict=True) if x)
    if truth > least and _feasible(ranges, [*constraints, (mask, least, truth - 1)]):
        return True
    return truth < most and _feasible(ranges, [*constraints, (mask, truth + 1, most)])


def _feasible(ranges: list[tuple[int, int]], constraints: list[_Constraint]) -> bool:
    """Is there an integer point in the box `ranges` with every lo <= sum(a * x) <= hi? Depth-first
    with bounds (all coefficients are >= 0); the last variable is solved, not searched."""
    order = sorted(range(len(ranges)), key=lambda i: ranges[i][1] - ranges[i][0])
    box = [ranges[i] for i in order]
    cons = [([a[i] for i in order], low, high) for a, low, high in constraints]
    m = len(box)
    # tails[j][i]: least and most the variables i.. can still add to constraint j
    tails = [
        [
            (
                sum(a[k] * box[k][0] for k in range(i, m)),
                sum(a[k] * box[k][1] for k in range(i, m)),
            )
            for i in range(m + 1)
        ]
        for a, _l, _h in cons
    ]
    budget = [_SEARCH_BUDGET]

    def search(i: int, partial: list[int]) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooHard
        if i == m:
            return all(low <= p <= high for p, (_a, low, high) in zip(partial, cons, strict=True))
        v_lo, v_hi = box[i]
        for j, (a, low, high) in enumerate(cons):
            rest_lo, rest_hi = tails[j][i + 1]
            if a[i] == 0:
                if partial[j] + rest_lo > high or partial[j] + rest_hi < low:
                    return False
                continue
            v_lo = max(v_lo, -((partial[j] + rest_hi - low) // a[i]))
            v_hi = min(v_hi, (high - partial[j] - rest_lo) // a[i])
        if v_lo > v_hi:
            return False
        if i == m - 1:
            return True
        for v in range(v_lo, v_hi + 1):
            if search(i + 1, [p + a[i] * v for p, (a, _l, _h) in zip(partial, cons, strict=True)]):
                return True
        return False

    return search(0, [0] * len(cons))


async def _publication_order(session: AsyncSession, agency_id: int) -> list[int]:
    rows = await session.scalars(
        select(RatingPeriod.id)
        .where(RatingPeriod.agency_id == agency_id, RatingPeriod.state == PUBLISHED)
        .order_by(func.coalesce(RatingPeriod.published_at, RatingPeriod.closes_at), RatingPeriod.id)
    )
    return list(rows)


async def disclosures(
    session: AsyncSession,
    scheme: Scheme,
    periods: Sequence[RatingPeriod],
    rows: Sequence[Standing],
) -> dict[tuple[int, int], Disclosure]:
    """(period id, employee id) -> what may be shown, for these standing rows of these periods.

    Each quarter is compared with the `compare_periods` quarters published before it (publishing
    order; a quarter not yet published with the latest ones), never with later ones: what a
    quarter shows never changes once it is published."""
    if not rows or not periods:
        return {}
    window = int(scheme.rule("compare_periods"))
    order = await _publication_order(session, periods[0].agency_id)
    before: dict[int, list[int]] = {}
    for p in periods:
        at = order.index(p.id) if p.id in order else len(order)
        # 0: every quarter published before (a chart shows them all, so any two can be compared)
        before[p.id] = order[max(0, at - window) : at] if window > 0 else order[:at]
    earlier_ids = {i for ids in before.values() for i in ids} - {p.id for p in periods}
    people = {s.employee_id for s in rows}
    few = len(people) <= 1000
    standing_rows = {(s.period_id, s.employee_id): s for s in rows}
    if earlier_ids:
        stmt = select(Standing).where(Standing.period_id.in_(sorted(earlier_ids)))
        if few:
            stmt = stmt.where(Standing.employee_id.in_(sorted(people)))
        for s in await session.scalars(stmt):
            if s.employee_id in people:
                standing_rows.setdefault((s.period_id, s.employee_id), s)
    needed = {p.id for p in periods} | earlier_ids
    ratings = select(
        Rating.period_id, Rating.ratee_id, Rating.relation, Rating.rater_id, Rating.score
    ).where(Rating.period_id.in_(sorted(needed)))
    if few:
        ratings = ratings.where(Rating.ratee_id.in_(sorted(people)))
    grouped: dict[tuple[int, int], dict[str, set[RatingKey]]] = {}
    for period_id, ratee_id, relation, rater_id, score in (await session.execute(ratings)).all():
        if ratee_id in people:
            key = (rater_id, round(float(score), 9))
            grouped.setdefault((period_id, ratee_id), {}).setdefault(relation, set()).add(key)
    facts = {
        k: _Facts.of(s, {r: frozenset(v) for r, v in grouped.get(k, {}).items()})
        for k, s in standing_rows.items()
    }
    alone: dict[tuple[int, int], _Shown] = {}

    def alone_of(key: tuple[int, int]) -> _Shown:
        if key not in alone:
            alone[key] = _alone(facts[key], scheme)
        return alone[key]

    out: dict[tuple[int, int], Disclosure] = {}
    for s in rows:
        key = (s.period_id, s.employee_id)
        earlier = [
            (facts[(p, s.employee_id)], alone_of((p, s.employee_id)))
            for p in before.get(s.period_id, [])
            if (p, s.employee_id) in facts
        ]
        out[key] = _disclosure(facts[key], _choose(facts[key], scheme, earlier))
    return out


async def disclose_person(
    session: AsyncSession, scheme: Scheme, employee_id: int, periods: Sequence[RatingPeriod]
) -> dict[int, Disclosure]:
    """period id -> what this person's standing of that quarter may show (quarters rated only)."""
    if not periods:
        return {}
    rows = list(
        await session.scalars(
            select(Standing).where(
                Standing.employee_id == employee_id,
                Standing.period_id.in_([p.id for p in periods]),
            )
        )
    )
    found = await disclosures(session, scheme, periods, rows)
    return {p: d for (p, _e), d in found.items()}


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
    session: AsyncSession, employee: Employee, scheme: Scheme, limit: int = 12
) -> list[tuple[str, Decimal | None]]:
    """(quarter label, score as shown or None) over the latest published quarters: a point is
    drawn only where the quarter's own screen shows the score."""
    recent = await published_periods(session, employee.agency_id, limit)
    shown = await disclose_person(session, scheme, employee.id, recent)
    return [
        (QuarterRef(p.year, p.quarter).label, shown[p.id].score if p.id in shown else None)
        for p in reversed(recent)
    ]


# --- HR views and export --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    rank_agency: int | None
    rank_unit: int | None
    nip: str
    name: str
    unit: str
    score: float | None  # as shown (two decimals), None when not eligible or not shown
    rater_count: int
    eligible: bool
    breakdown: dict[str, float]  # the group means that may be shown, as shown
    withheld: bool = False  # some figure of this person's quarter is not shown


async def ranking(
    session: AsyncSession,
    period: RatingPeriod,
    scheme: Scheme,
    *,
    limit: int | None = None,
    offset: int = 0,
    lowest: bool = False,
) -> list[Row]:
    """Ranked rows (best first, or the lowest ranked first for the coaching list). Every row
    carries only what that person's own screen may show: an HR officer reading the list, or an
    export passed on, learns nothing more about anyone (themselves included) than they are shown."""
    stmt = (
        select(Standing, Employee.nip, Employee.name, Unit.name)
        .join(Employee, Employee.id == Standing.employee_id)
        .join(Unit, Unit.id == Standing.unit_id)
        .where(Standing.period_id == period.id)
    )
    # Only the eligible are ranked, so "eligible first, by rank" is the rank with the unranked
    # (NULL) last: the order of ix_standing_period_rank, which reads the top N from the index
    # instead of sorting the whole quarter.
    if lowest:
        stmt = stmt.where(Standing.eligible).order_by(
            Standing.rank_agency.desc(), Employee.name, Standing.id
        )
    else:
        # The id last: a page boundary never splits or repeats a row among equal names.
        stmt = stmt.order_by(Standing.rank_agency.asc().nulls_last(), Employee.name, Standing.id)
    if limit:
        stmt = stmt.limit(limit)
    if offset > 0:
        stmt = stmt.offset(offset)
    found = (await session.execute(stmt)).all()
    shown = await disclosures(session, scheme, [period], [s for s, *_ in found])
    rows = []
    for s, nip, name, unit in found:
        d = shown[(period.id, s.employee_id)]
        rows.append(
            Row(
                s.rank_agency,
                s.rank_unit,
                nip,
                name,
                unit,
                float(d.score) if d.score is not None else None,
                s.rater_count,
                bool(s.eligible),
                {r: float(m) for r, (m, _n) in d.groups.items()},
                d.withheld,
            )
        )
    return rows


@dataclass(frozen=True)
class Coaching:
    """The coaching list and the rule that made it, with the figures the screen states."""

    rows: list[Row]
    ranked: int  # people ranked in the quarter
    min_ranked: int
    threshold: float
    lower_quartile: float | None  # None when too few are ranked for the rule to apply
    median: float | None
    size: int

    @property
    def applies(self) -> bool:
        return self.ranked >= self.min_ranked


def coaching_cutoffs(scores: Sequence[float], threshold: float) -> tuple[float, float]:
    """(lower quartile, median) of the ranked scores. A score is listed when it is below the
    threshold or at most the lower quartile, and always strictly below the median."""
    ordered = sorted(scores)
    q1 = statistics.quantiles(ordered, n=4, method="inclusive")[0]
    return q1, statistics.median(ordered)


def needs_coaching(score: float, threshold: float, q1: float, median: float) -> bool:
    return score < median and (score < threshold or score <= q1)


async def coaching(session: AsyncSession, period: RatingPeriod, scheme: Scheme) -> Coaching:
    """HR's "butuh pembinaan" list: never a lowest-N cut alone. Needs a minimum number ranked;
    takes only scores below the configured threshold or in the lower quartile, never at or above
    the median; lowest first, at most `coaching_size`. Figures shown per row are `ranking`'s."""
    size = int(scheme.rule("coaching_size"))
    min_ranked = int(scheme.rule("coaching_min_ranked"))
    threshold = float(scheme.rule("coaching_threshold"))
    scores = [
        float(v)
        for v in await session.scalars(
            select(Standing.score).where(
                Standing.period_id == period.id, Standing.eligible, Standing.score.is_not(None)
            )
        )
        if v is not None  # as the query says; for the type checker
    ]
    ranked = len(scores)
    if ranked < max(min_ranked, 2):
        return Coaching([], ranked, min_ranked, threshold, None, None, size)
    q1, median = coaching_cutoffs(scores, threshold)
    listed = sum(1 for v in scores if needs_coaching(v, threshold, q1, median))
    rows = (
        await ranking(session, period, scheme, limit=min(listed, size), lowest=True)
        if listed
        else []
    )
    return Coaching(rows, ranked, min_ranked, threshold, q1, median, size)


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


async def shown_award_scores(
    session: AsyncSession,
    scheme: Scheme,
    agency_id: int,
    kind: str,
    year: int,
    part: int,
    employee_ids: Iterable[int],
) -> dict[int, Decimal | None]:
    """The score to print beside each award: a quarter's as its owner's screen shows it; a
    semester's or year's as the mean of the shown quarter scores it is made of (so it adds
    nothing to them), or None when one of those quarters' scores is not shown."""
    quarters = {"quarter": (part, part), "shortlist": (2 * part - 1, 2 * part)}.get(kind, (1, 4))
    spans = list(
        await session.scalars(
            select(RatingPeriod).where(
                RatingPeriod.agency_id == agency_id,
                RatingPeriod.year == year,
                RatingPeriod.state == PUBLISHED,
                RatingPeriod.quarter >= quarters[0],
                RatingPeriod.quarter <= quarters[1],
            )
        )
    )
    people = set(employee_ids)
    if not spans or not people:
        return dict.fromkeys(people)
    rows = list(
        await session.scalars(
            select(Standing).where(
                Standing.period_id.in_([p.id for p in spans]),
                Standing.employee_id.in_(sorted(people)),
                Standing.eligible,
            )
        )
    )
    shown = await disclosures(session, scheme, spans, rows)
    out: dict[int, Decimal | None] = {}
    for person in people:
        scores = [d.score for (_p, e), d in shown.items() if e == person]
        if not scores or any(v is None for v in scores):
            out[person] = None
        else:
            out[person] = shown_decimal(sum(v for v in scores if v is not None) / len(scores))
    return out


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
    "withheld",
)


def export_records(rows: list[Row]) -> list[dict[str, Any]]:
    """Aggregates only, and only what each person's own screen shows, at the same two decimals
    (a finer figure in a file would say more than the screen); `withheld` marks a row where some
    figure is left out to protect small groups of raters."""
    return [
        {
            **{f"{k}_mean": "" for k in RELATIONS},
            "rank_agency": r.rank_agency or "",
            "rank_unit": r.rank_unit or "",
            "nip": r.nip,
            "name": r.name,
            "unit": r.unit,
            "score": "" if r.score is None else r.score,
            "rater_count": r.rater_count,
            "eligible": int(r.eligible),
            **{f"{k}_mean": v for k, v in r.breakdown.items()},
            "withheld": int(r.withheld),
        }
        for r in rows
    ]


def write_csv(records: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS))
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().encode("utf-8")


_YES_NO = ("eligible", "withheld")


def write_xlsx(
    records: list[dict[str, Any]], sheet_title: str, t: Translator | None = None
) -> bytes:
    """The sheet a person opens: with `t`, headers and yes/no in their language (the CSV keeps
    the machine column names and 1/0)."""
    # openpyxl is slow to import and only exports need it: loaded on the first export.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title[:31]
    if t is None:
        sheet.append(list(EXPORT_COLUMNS))
    else:
        sheet.append([t(f"export.column.{c}") for c in EXPORT_COLUMNS])
    for record in records:
        cells = []
        for c in EXPORT_COLUMNS:
            value = record[c]
            if t is not None and c in _YES_NO:
                value = t("export.yes") if value else t("export.no")
            cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
