"""The demo office's story, made through the services: last quarter rated, closed and
published; this quarter open and part-rated; two 4-in-1 cases at different stages; one finished
broadcast. Dates count back from today (bot/demo/scenario.toml), so the demo stays current.

Loading is idempotent: an office that already has a rating quarter keeps what it has.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services import four_in_one as cases
from bot.services import periods
from bot.services import rating as rating_service
from bot.services.broadcasting import broadcasts
from bot.services.broadcasting.audiences import EVERYONE, Audience
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import load_scheme
from storage.models import Agency, Employee, RatingPeriod

SCENARIO = Path(__file__).resolve().parent.parent / "demo" / "scenario.toml"
ACTOR = "demo"


@dataclass
class DemoStory:
    made: bool  # False: the office already had quarters, nothing was added
    ratings: int = 0
    published: str = ""
    open: str = ""
    cases: int = 0
    broadcasts: int = 0


def scenario() -> dict[str, Any]:
    with SCENARIO.open("rb") as fh:
        return tomllib.load(fh)


def previous(ref: QuarterRef) -> QuarterRef:
    return (
        QuarterRef(ref.year - 1, 4) if ref.quarter == 1 else QuarterRef(ref.year, ref.quarter - 1)
    )


async def _rate_round(
    session: AsyncSession,
    period: RatingPeriod,
    people: list[Employee],
    share: float,
    rng: random.Random,
    start: datetime,
    skip_raters: set[int],
) -> int:
    """Each rater rates `share` of their circle; a ratee's "level" makes scores differ."""
    scheme = await load_scheme(session, period.agency_id)
    level = {e.id: rng.uniform(2.6, 4.8) for e in people}
    made = 0
    for n, rater in enumerate(people):
        if rater.id in skip_raters:
            continue
        circle = sorted(
            await rating_service.circle_ids(session, rater, period, scheme) - {rater.id}
        )
        chosen = circle[: max(0, round(len(circle) * share))]
        for k, ratee in enumerate(chosen):
            base = level.get(ratee, 3.5)
            scores = {
                c: max(
                    scheme.score_min, min(scheme.score_max, round(base + rng.uniform(-0.8, 0.8)))
                )
                for c in scheme.criteria
            }
            # Spread out in time: a rater's ratings hours apart (no "burst" flags in the demo).
            at = start + timedelta(hours=7 * n + 3 * k)
            try:
                await rating_service.save_rating(
                    session, period, rater, ratee, scores, None, scheme, now=at
                )
            except rating_service.RatingRefused:
                continue
            made += 1
    return made


async def load(
    session: AsyncSession, agency: Agency, settings: Settings, now: datetime | None = None
) -> DemoStory:
    now = now or datetime.now(UTC)
    has = await session.scalar(
        select(func.count()).select_from(RatingPeriod).where(RatingPeriod.agency_id == agency.id)
    )
    if has:
        return DemoStory(made=False)
    story = scenario()
    rules = story["rating"]
    rng = random.Random(int(rules.get("seed", 1)))
    tz = ZoneInfo(agency.timezone)
    scheme = await load_scheme(session, agency.id)
    people = list(
        await session.scalars(
            select(Employee).where(Employee.agency_id == agency.id).order_by(Employee.id)
        )
    )
    out = DemoStory(made=True)
    # Last quarter: rated, closed, published (its standings are what "Posisi saya" shows).
    this = periods.quarter_of(now, tz)
    last = previous(this)
    start, _end = periods.quarter_bounds(last, tz)
    past = await periods.open_quarter(
        session, agency, last, scheme, ACTOR, closes_at=now + timedelta(days=1), now=now
    )
    out.ratings += await _rate_round(
        session, past, people, float(rules["last_share"]), rng, start + timedelta(days=3), set()
    )
    await periods.close_period(session, past, scheme, ACTOR)
    await periods.publish_period(session, past, scheme, ACTOR)
    out.published = last.label
    # This quarter: open until its end, part-rated; the guest's own ratings are theirs to give.
    current = await periods.open_quarter(session, agency, this, scheme, ACTOR, now=now)
    first = people[0].id if people else 0
    begun = max(periods.quarter_bounds(this, tz)[0], now - timedelta(days=20))
    out.ratings += await _rate_round(
        session, current, people, float(rules["current_share"]), rng, begun, {first}
    )
    out.open = this.label
    out.cases = await _cases(session, agency, settings, story.get("cases", []), now, tz)
    out.broadcasts = await _broadcast(session, agency, story.get("broadcast"), now)
    return out


async def _cases(
    session: AsyncSession,
    agency: Agency,
    settings: Settings,
    specs: list[dict[str, Any]],
    now: datetime,
    tz: ZoneInfo,
) -> int:
    made = 0
    for spec in specs:
        local = (now.astimezone(tz) - timedelta(days=int(spec.get("died_days_ago", 0)))).replace(
            hour=5, minute=30, second=0, microsecond=0
        )
        report = cases.Report(
            died_at=local.astimezone(UTC),
            deceased_name=spec["name"],
            nip=spec.get("nip"),
            contact_name=spec.get("contact_name"),
            relation=spec.get("relation"),
            phone=spec.get("phone"),
        )
        opened = await cases.open_case(
            session, agency, report, actor=ACTOR, via="officer", settings=settings, now=now
        )
        case = opened.case
        if spec.get("confirm"):
            case = await cases.confirm_match(session, case, ACTOR, now=now)
        for kind, status in (spec.get("documents") or {}).items():
            path = ("in_progress", "ready", "handed_over")
            for step in path[: path.index(status) + 1]:
                await cases.set_document(
                    session, case, kind, step, actor=ACTOR, roles={"officer", "hr"},
                    zone=agency.timezone, now=now,
                )  # fmt: skip
        made += 1
    return made


async def _broadcast(
    session: AsyncSession, agency: Agency, spec: dict[str, Any] | None, now: datetime
) -> int:
    if not spec:
        return 0
    sent = now - timedelta(days=int(spec.get("days_ago", 3)))
    made = await broadcasts.create(
        session, agency, Audience(EVERYONE), actor=ACTOR, text=spec["text"], send_at=sent
    )
    await broadcasts.release(session, made, sent)
    await broadcasts.finish_done(session, now)
    return 1
