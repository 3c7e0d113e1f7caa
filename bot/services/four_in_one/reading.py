"""Finding cases: by tracking code, by number for staff, the queues, and who may read what."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.services import audit
from bot.services.four_in_one.parsing import hash_code, looks_like_code
from bot.services.four_in_one.rules import DESK_ROLES, DUPLICATE, LIVE, MERGED, OWNERS, READY
from storage.models import Account, CaseContact, CaseDocument, CaseEvent, Employee, FourInOneCase


async def _follow(session: AsyncSession, case: FourInOneCase | None) -> FourInOneCase | None:
    """A merged case answers for the case it was merged into (a pending duplicate answers only
    for itself: its suspected survivor is for staff)."""
    seen = 0
    while case is not None and case.status == MERGED and case.merged_into_id and seen < 10:
        case = await session.get(FourInOneCase, case.merged_into_id)
        seen += 1
    return case


async def by_code(session: AsyncSession, code: str) -> FourInOneCase | None:
    if not looks_like_code(code):
        return None
    found = await session.scalar(
        select(FourInOneCase).where(FourInOneCase.tracking_hash == hash_code(code))
    )
    return await _follow(session, found)


async def agency_case(session: AsyncSession, agency_id: int, case_id: int) -> FourInOneCase | None:
    """A case by number, only inside the asking staff member's agency."""
    found = await session.get(FourInOneCase, case_id)
    if found is None or found.agency_id != agency_id:
        return None
    return found


async def cases_of_account(session: AsyncSession, account: Account) -> list[FourInOneCase]:
    """The live or recently closed cases this chat follows (merged ones resolve to survivors)."""
    rows = await session.scalars(
        select(FourInOneCase)
        .join(CaseContact, CaseContact.case_id == FourInOneCase.id)
        .where(CaseContact.account_id == account.id, FourInOneCase.status != MERGED)
        .order_by(FourInOneCase.deadline_at.desc())
        .limit(5)
    )
    return list(dict.fromkeys(rows))


@functools.cache  # a statement is reusable, and building it costs more than running it
@functools.cache
def follows_a_case() -> ColumnElement[bool]:
    """SQL condition on an `Account` row: the chat follows a live case (as its family).

    Built once: the dispatcher keeps the account query while its conditions stay the same
    objects. The statuses are plain parameters, not an expanding IN list, which SQLAlchemy
    would render into the statement's text again on every execution."""
    # A pending duplicate counts like a live case: its reporter's menus are a new reporter's.
    status = FourInOneCase.status
    return (
        select(CaseContact.id)
        .join(FourInOneCase, FourInOneCase.id == CaseContact.case_id)
        .where(
            CaseContact.account_id == Account.id,
            status.in_([literal(s, status.type) for s in (*LIVE, DUPLICATE)]),
        )
        .exists()
    )


async def trusted(session: AsyncSession, case: FourInOneCase, account: Account) -> bool:
    """May this chat see notes and the handover place, and confirm receipt?

    Only the verified family (`CaseContact.verified`): the chat that reported a death and opened
    the case itself, or a chat that proved, through the platform, the phone an officer recorded.
    Following by code, reporting the same death again or typing a phone never verifies: passing
    a code on never passes on the power to read notes or close the case."""
    found = await session.scalar(
        select(CaseContact.id)
        .where(
            CaseContact.case_id == case.id,
            CaseContact.account_id == account.id,
            CaseContact.verified.is_(True),
        )
        .limit(1)
    )
    return found is not None


def _liaison_waits(roles: set[str]) -> ColumnElement[bool]:
    """Cases where a document this liaison owns still waits: all a liaison may see."""
    mine = [kind for kind, owner in OWNERS.items() if owner in roles]
    return FourInOneCase.id.in_(
        select(CaseDocument.case_id).where(
            CaseDocument.kind.in_(mine), CaseDocument.status.not_in(READY)
        )
    )


async def case_for_staff(
    session: AsyncSession, agency_id: int, case_id: int, roles: set[str]
) -> FourInOneCase | None:
    """A case as a staff member may open it: the desk any case of the agency, a liaison only a
    live case where one of their documents waits (the same rule as their queue)."""
    case = await agency_case(session, agency_id, case_id)
    if case is None or roles & set(DESK_ROLES):
        return case
    allowed = await session.scalar(
        select(FourInOneCase.id).where(
            FourInOneCase.id == case.id, FourInOneCase.status.in_(LIVE), _liaison_waits(roles)
        )
    )
    return case if allowed is not None else None


def _queue_filter(
    agency_id: int,
    roles: set[str],
    statuses: tuple[str, ...] = LIVE,
    overdue_at: datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The queue's rows: live cases (or the stages asked for, for the desk); liaisons only the
    live cases where one of their documents waits; `overdue_at`: only those past the target."""
    desk = bool(roles & set(DESK_ROLES))
    shown = statuses if desk else tuple(s for s in statuses if s in LIVE)
    where = [FourInOneCase.agency_id == agency_id, FourInOneCase.status.in_(shown)]
    if not desk:
        where.append(_liaison_waits(roles))
    if overdue_at is not None:
        where.append(FourInOneCase.deadline_at < overdue_at)
    return where


async def queue(
    session: AsyncSession,
    agency_id: int,
    roles: set[str],
    limit: int = 8,
    offset: int = 0,
    *,
    statuses: tuple[str, ...] = LIVE,
    overdue_at: datetime | None = None,
) -> list[FourInOneCase]:
    """Live cases, most urgent first; liaisons see the cases where one of their documents waits."""
    rows = await session.scalars(
        select(FourInOneCase)
        .where(*_queue_filter(agency_id, roles, statuses, overdue_at))
        .order_by(FourInOneCase.deadline_at, FourInOneCase.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def count_queue(
    session: AsyncSession,
    agency_id: int,
    roles: set[str],
    *,
    statuses: tuple[str, ...] = LIVE,
    overdue_at: datetime | None = None,
) -> int:
    """How many rows `queue` pages through (one COUNT(*), for the console's pages)."""
    found = await session.scalar(
        select(func.count())
        .select_from(FourInOneCase)
        .where(*_queue_filter(agency_id, roles, statuses, overdue_at))
    )
    return int(found or 0)


def overdue(now: datetime) -> ColumnElement[bool]:
    """Live cases past their deadline: marked "❗" in the queue, counted by the overdue gauge."""
    return FourInOneCase.status.in_(LIVE) & (FourInOneCase.deadline_at < now)


async def pending_duplicates(
    session: AsyncSession, agency_id: int, limit: int = 8, offset: int = 0
) -> list[FourInOneCase]:
    """Reports waiting for a desk officer to merge or reject them, oldest first."""
    rows = await session.scalars(
        select(FourInOneCase)
        .where(FourInOneCase.agency_id == agency_id, FourInOneCase.status == DUPLICATE)
        .order_by(FourInOneCase.created_at, FourInOneCase.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def count_duplicates(session: AsyncSession, agency_id: int) -> int:
    found = await session.scalar(
        select(func.count()).where(
            FourInOneCase.agency_id == agency_id, FourInOneCase.status == DUPLICATE
        )
    )
    return int(found or 0)


async def duplicate_target(session: AsyncSession, duplicate: FourInOneCase) -> FourInOneCase | None:
    """The live case a pending duplicate would be merged into (None: nothing left to merge into,
    only rejecting remains)."""
    if duplicate.status != DUPLICATE or duplicate.duplicate_of_id is None:
        return None
    survivor = await _follow(session, await session.get(FourInOneCase, duplicate.duplicate_of_id))
    if survivor is None or survivor.agency_id != duplicate.agency_id:
        return None
    return survivor if survivor.status in LIVE else None


def read_by_staff(session: AsyncSession, case: FourInOneCase, actor: str, via: str) -> None:
    """Every staff read of a case's personal data leaves an audit row."""
    audit.record(
        session,
        actor=actor,
        action="case.view",
        agency_id=case.agency_id,
        target=f"case:{case.id}",
        via=via,
    )


async def history(session: AsyncSession, case: FourInOneCase) -> list[CaseEvent]:
    rows = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
    )
    return list(rows)


async def actor_names(
    session: AsyncSession, t: Translator, case: FourInOneCase, actors: set[str]
) -> dict[str, str]:
    """Who an event's actor was, in words: staff by name, a family chat by its contact's name."""
    names: dict[str, str] = {}
    for actor in actors:
        kind, _, raw = actor.partition(":")
        if not raw.isdigit():
            continue
        if kind == "employee":
            employee = await session.get(Employee, int(raw))
            if employee is not None:
                names[actor] = employee.name
        elif kind == "account":
            contact = next((c for c in case.contacts if c.account_id == int(raw)), None)
            who = contact.name if contact is not None and contact.name else None
            names[actor] = t("four_in_one.actor.family", name=who or f"#{raw}")
    return names
