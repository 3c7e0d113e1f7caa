"""Which roster entry a report names, and folding reports of the same death into one case."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.services import audit
from bot.services.four_in_one.documents import sync_status
from bot.services.four_in_one.events import family_accounts, notify_family, record_event
from bot.services.four_in_one.parsing import clean_nip, names_agree, normalize_name
from bot.services.four_in_one.reading import duplicate_target
from bot.services.four_in_one.rules import (
    DUPLICATE,
    LIVE,
    MERGED,
    NOT_CASES,
    NOTE_LIMIT,
    REJECTED,
    STATUSES,
    CaseError,
    CaseRefused,
)
from storage.models import CaseContact, Employee, FourInOneCase, Unit


@dataclass
class Report:
    """What the family (or the officer for them) told us."""

    died_at: datetime
    deceased_name: str = ""
    nip: str | None = None
    unit: str | None = None
    pensioner_number: str | None = None
    contact_name: str | None = None
    relation: str | None = None
    phone: str | None = None


@cache
def unit_aliases() -> dict[str, str]:
    # Beside the package, where the package data of bot/services is collected.
    path = Path(__file__).parent.parent / "four_in_one_units.toml"
    with path.open("rb") as fh:
        return dict(tomllib.load(fh)["aliases"])


def _unit_words(text: str) -> list[str]:
    aliases = unit_aliases()
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    return " ".join(aliases.get(w, w) for w in words).split()


unit_words = _unit_words  # for reading a unit out of a sentence (four_in_one_words.pick_unit)


async def find_units(session: AsyncSession, agency_id: int, typed: str) -> list[Unit]:
    """The roster units a typed unit can mean: the exact name, else every unit holding all the
    typed words once short names are expanded ("Dinkes" -> Dinas Kesehatan). Several results
    mean the typing is ambiguous: the caller asks, it never guesses."""
    wanted = _unit_words(typed)
    if not wanted:
        return []
    units = list(await session.scalars(select(Unit).where(Unit.agency_id == agency_id)))
    exact = [u for u in units if _unit_words(u.name) == wanted]
    if exact:
        return exact
    return [u for u in units if set(wanted) <= set(_unit_words(u.name))]


async def match(session: AsyncSession, agency_id: int, report: Report) -> Employee | None:
    """The roster entry a report points to: by NIP, else by a unique name in the named unit."""
    if report.nip:
        return await session.scalar(
            select(Employee).where(Employee.agency_id == agency_id, Employee.nip == report.nip)
        )
    if not report.deceased_name or not report.unit:
        return None
    units = await find_units(session, agency_id, report.unit)
    if len(units) != 1:
        return None
    wanted_name = normalize_name(report.deceased_name)
    rows = await session.scalars(
        select(Employee)
        .where(
            Employee.agency_id == agency_id,
            Employee.unit_id == units[0].id,
            func.lower(Employee.name).like(f"%{wanted_name.split(' ')[-1]}%"),
        )
        .limit(50)
    )
    found = [e for e in rows if normalize_name(e.name) == wanted_name]
    return found[0] if len(found) == 1 else None


async def live_by_identity(session: AsyncSession, agency_id: int, key: str) -> FourInOneCase | None:
    return await session.scalar(
        select(FourInOneCase).where(
            FourInOneCase.agency_id == agency_id,
            FourInOneCase.identity_key == key,
            FourInOneCase.status != MERGED,
        )
    )


async def merge(
    session: AsyncSession,
    survivor: FourInOneCase,
    duplicate: FourInOneCase,
    actor: str,
    now: datetime,
) -> None:
    """Fold a duplicate into the survivor: its followers and any further document progress.

    The duplicate's chats keep following, unverified: being the verified family of one case
    says nothing about another. Their details stay for the officer, with their source: a
    reporter's own phone never becomes a phone to verify against."""
    duplicate.status = MERGED
    duplicate.merged_into_id = survivor.id
    await session.flush()
    for row in list(
        await session.scalars(select(CaseContact).where(CaseContact.case_id == duplicate.id))
    ):
        row.case_id = survivor.id
        row.verified = False
    theirs = {d.kind: d for d in duplicate.documents}
    for doc in survivor.documents:
        other = theirs.get(doc.kind)
        if other is not None and STATUSES.index(other.status) > STATUSES.index(doc.status):
            record_event(
                session, survivor, "status", actor, now,
                document_kind=doc.kind, from_status=doc.status, to_status=other.status,
            )  # fmt: skip
            doc.status, doc.ready_at, doc.updated_at = other.status, other.ready_at, now
            doc.updated_by = other.updated_by
    record_event(session, survivor, "merged", actor, now, note=f"case:{duplicate.id}")
    audit.record(
        session,
        actor=actor,
        action="case.merge",
        agency_id=survivor.agency_id,
        target=f"case:{survivor.id}",
        duplicate=duplicate.id,
    )
    await session.flush()
    # The rows moved: load both lists again now (a lazy load later would be I/O out of place).
    await session.refresh(survivor, ["contacts"])
    await session.refresh(duplicate, ["contacts"])
    await sync_status(session, survivor, actor, now)


async def confirm_match(
    session: AsyncSession,
    case: FourInOneCase,
    actor: str,
    *,
    employee: Employee | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> FourInOneCase:
    """An officer confirms who died: the employee is marked deceased, duplicates are merged.

    Returns the case that lives on (another case for the same employee may absorb this one).
    """
    now = now or datetime.now(UTC)
    if case.status in NOT_CASES:
        raise CaseRefused(CaseError.CLOSED)
    if employee is None and case.employee_id is not None:
        employee = await session.get(Employee, case.employee_id)
    if employee is None or employee.agency_id != case.agency_id:
        raise CaseRefused(CaseError.NO_CANDIDATE)
    reported = normalize_name(case.deceased_name)
    if reported and not names_agree(reported, employee.name) and not force:
        # A mistyped NIP would mark a living colleague deceased: the names must agree.
        raise CaseRefused(CaseError.NAME_MISMATCH)
    if case.deceased_name != employee.name:
        # From now on the queue and the card carry the roster's spelling; the report keeps its own.
        record_event(
            session, case, "renamed", actor, now, note=case.deceased_name[:NOTE_LIMIT] or None
        )
        case.deceased_name = employee.name
    employee.status = "deceased"
    case.employee_id = employee.id
    case.deceased_nip = employee.nip
    case.match_confirmed_at, case.match_confirmed_by = now, actor
    record_event(session, case, "matched", actor, now, note=f"employee:{employee.id}")
    audit.record(
        session,
        actor=actor,
        action="employee.deceased",
        agency_id=case.agency_id,
        target=f"employee:{employee.id}",
        case=case.id,
    )
    key = f"emp:{employee.id}"
    other = await live_by_identity(session, case.agency_id, key)
    if other is not None and other.id != case.id:
        survivor, duplicate = (other, case) if other.id < case.id else (case, other)
        if duplicate is survivor:
            return survivor
        duplicate.identity_key = f"merged:{duplicate.id}"
        await merge(session, survivor, duplicate, actor, now)
        survivor.identity_key = key
        survivor.employee_id = employee.id
        await session.flush()
        return survivor
    case.identity_key = key
    await session.flush()
    return case


async def merge_duplicate(
    session: AsyncSession,
    duplicate: FourInOneCase,
    survivor_id: int,
    actor: str,
    now: datetime | None = None,
) -> FourInOneCase:
    """A desk officer folds a pending duplicate into the live case it repeats. `survivor_id` is
    the case the officer was shown: if that is no longer where the duplicate would go, nothing
    happens. The duplicate's reporter then follows the survivor unverified (statuses and dates)."""
    now = now or datetime.now(UTC)
    if duplicate.status != DUPLICATE:
        raise CaseRefused(CaseError.NOT_DUPLICATE)
    survivor = await duplicate_target(session, duplicate)
    if survivor is None or survivor.id != survivor_id:
        raise CaseRefused(CaseError.NO_SURVIVOR)
    told = await family_accounts(session, duplicate)
    record_event(session, duplicate, "merged", actor, now, note=f"case:{survivor.id}")
    await merge(session, survivor, duplicate, actor, now)
    audit.record(
        session,
        actor=actor,
        action="case.duplicate.merge",
        agency_id=duplicate.agency_id,
        target=f"case:{duplicate.id}",
        survivor=survivor.id,
    )
    for account, _ in told:
        await delivery.enqueue(
            session,
            account,
            "four_in_one.notify.duplicate_merged",
            source=f"case:{duplicate.id}",
            params={"number": duplicate.id, "survivor": survivor.id},
            dedup_key=f"case:{duplicate.id}:merged:a{account.id}",
        )
    await session.flush()
    return survivor


async def reject_duplicate(
    session: AsyncSession, duplicate: FourInOneCase, actor: str, now: datetime | None = None
) -> None:
    """A desk officer rejects a pending duplicate: the report closes and its chats are told so,
    in words that say nothing of any other case."""
    now = now or datetime.now(UTC)
    if duplicate.status != DUPLICATE:
        raise CaseRefused(CaseError.NOT_DUPLICATE)
    duplicate.status, duplicate.closed_at = REJECTED, now
    record_event(
        session, duplicate, "rejected", actor, now, note=f"case:{duplicate.duplicate_of_id}"
    )
    audit.record(
        session,
        actor=actor,
        action="case.duplicate.reject",
        agency_id=duplicate.agency_id,
        target=f"case:{duplicate.id}",
        survivor=duplicate.duplicate_of_id,
    )
    await notify_family(
        session,
        duplicate,
        "four_in_one.notify.rejected",
        lambda _t, _trusted: {"number": duplicate.id},
        dedup=f"case:{duplicate.id}:rejected",
    )
    await session.flush()


async def attach_candidate(session: AsyncSession, case: FourInOneCase, nip: str) -> Employee:
    """An officer names the roster entry of an unmatched case; `confirm_match` then decides."""
    if case.status not in LIVE:
        raise CaseRefused(CaseError.CLOSED)
    employee = await session.scalar(
        select(Employee).where(Employee.agency_id == case.agency_id, Employee.nip == clean_nip(nip))
    )
    if employee is None:
        raise CaseRefused(CaseError.NO_CANDIDATE)
    case.employee_id = employee.id
    await session.flush()
    return employee
