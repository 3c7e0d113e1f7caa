"""The family's satisfaction with the 4-in-1 service (SKM, PermenPANRB 14/2017, four-point scale):
one gentle question the day after they confirmed receipt, at 10.00 in the agency's time zone,
asked once per case and never reminded; an optional comment; HR's monthly summary.

Only a case closed by the family's receipt is asked (a cancelled case never is), and only its
verified family chats that can still be reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import enqueue
from bot.services.four_in_one.events import family_accounts
from storage.models import Account, Agency, CaseEvent, FourInOneCase
from storage.statuses import CaseStatus

ASK_AT = time(10, 0)  # a decent hour the next day, never the night of the handover
STALE = timedelta(days=7)  # receipts older than this when the job first runs are not asked
SCORES = (1, 2, 3, 4)
# The SKM answer scale: 1 tidak baik, 2 kurang baik, 3 baik, 4 sangat baik.
SCORE_KEYS = {1: "skm.score_1", 2: "skm.score_2", 3: "skm.score_3", 4: "skm.score_4"}
ROUTER = "skm"
MAX_COMMENT = 500


class Answer(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"
    REFUSED = "refused"


def ask_from(received_at: datetime, zone: str) -> datetime:
    """10.00 local on the day after the receipt."""
    local = received_at.astimezone(ZoneInfo(zone))
    return datetime.combine(local.date() + timedelta(days=1), ASK_AT, ZoneInfo(zone))


async def ask_due(session: AsyncSession, now: datetime) -> int:
    """Queue the question for every case whose time has come; each case once."""
    received = (
        select(CaseEvent.id)
        .where(CaseEvent.case_id == FourInOneCase.id, CaseEvent.kind == "received")
        .exists()
    )
    rows = (
        await session.execute(
            select(FourInOneCase, Agency.timezone)
            .join(Agency, Agency.id == FourInOneCase.agency_id)
            .where(
                FourInOneCase.status == CaseStatus.CLOSED,
                FourInOneCase.skm_asked_at.is_(None),
                FourInOneCase.closed_at >= now - STALE,
                received,
            )
            .with_for_update(of=FourInOneCase, skip_locked=True)
        )
    ).all()
    asked = 0
    for case, zone in rows:
        assert case.closed_at is not None
        if ask_from(case.closed_at, zone) > now:
            continue
        case.skm_asked_at = now  # once, and never reminded
        for account, trusted in await family_accounts(session, case):
            if not trusted or not account.reachable:
                continue
            choices = [[f"{ROUTER}:score:{case.id}:{n}", SCORE_KEYS[n]] for n in SCORES]
            await enqueue(
                session,
                account,
                "skm.question",
                source=f"case:{case.id}",
                params={"name": case.deceased_name, "choices": choices},
                dedup_key=f"skm:{case.id}:{account.id}",
            )
            asked += 1
    return asked


async def _asked_case(
    session: AsyncSession, case_id: int, account: Account
) -> FourInOneCase | None:
    """The case, when it was asked and this chat is its verified family."""
    case = await session.get(FourInOneCase, case_id)
    if case is None or case.agency_id != account.agency_id or case.skm_asked_at is None:
        return None
    trusted = {a.id for a, ok in await family_accounts(session, case) if ok}
    return case if account.id in trusted else None


async def answer(
    session: AsyncSession, case_id: int, account: Account, score: int, now: datetime
) -> Answer:
    case = await _asked_case(session, case_id, account)
    if case is None or score not in SCORES:
        return Answer.REFUSED
    if case.skm_score is not None:
        return Answer.ALREADY
    case.skm_score, case.skm_answered_at = score, now
    return Answer.RECORDED


async def comment(session: AsyncSession, case_id: int, account: Account, text: str) -> bool:
    case = await _asked_case(session, case_id, account)
    if case is None or case.skm_score is None or case.skm_comment is not None:
        return False
    case.skm_comment = text.strip()[:MAX_COMMENT] or None
    return True


@dataclass
class Month:
    month: str
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))
    comments: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def average(self) -> float:
        return sum(s * n for s, n in self.counts.items()) / self.total if self.total else 0.0

    @property
    def index(self) -> float:
        """The IKM-style index: the average on the 1-4 scale times 25 (25-100)."""
        return self.average * 25


async def monthly(session: AsyncSession, agency: Agency, month: str | None = None) -> list[Month]:
    """Answers per month of the answer (agency time zone), newest first; one month if given."""
    rows = await session.execute(
        select(FourInOneCase.skm_answered_at, FourInOneCase.skm_score, FourInOneCase.skm_comment)
        .where(FourInOneCase.agency_id == agency.id, FourInOneCase.skm_score.is_not(None))
        .order_by(FourInOneCase.skm_answered_at)
    )
    zone = ZoneInfo(agency.timezone)
    months: dict[str, Month] = {}
    for at, score, text in rows.all():
        if at is None or score is None:
            continue
        key = at.astimezone(zone).strftime("%Y-%m")
        if month is not None and key != month:
            continue
        found = months.setdefault(key, Month(key))
        found.counts[score] += 1
        if text:
            found.comments.append((score, text))
    return sorted(months.values(), key=lambda m: m.month, reverse=True)
