"""Opening a case for a report (or holding it as a pending duplicate), and the chats that follow
it: the reporter, code holders, and the family who proves the phone an officer recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services import audit
from bot.services.four_in_one.deadline import deadline, rule_of
from bot.services.four_in_one.events import record_event
from bot.services.four_in_one.matching import Report, live_by_identity, match
from bot.services.four_in_one.parsing import hash_code, identity_key, new_code
from bot.services.four_in_one.rules import (
    BY_OFFICER,
    BY_REPORTER,
    DOCUMENTS,
    DUPLICATE,
    FOLLOWER,
    LIVE,
    NAME_LIMIT,
    OWNERS,
)
from bot.services.people import normalize_phone
from storage.models import Account, Agency, CaseContact, CaseDocument, FourInOneCase
from storage.statuses import CaseStatus


@dataclass
class Opened:
    case: FourInOneCase  # the reporter's own case: a new one, or their pending duplicate
    code: str
    duplicate_of: int | None = None  # staff only: the case this report seems to repeat


async def open_case(
    session: AsyncSession,
    agency: Agency,
    report: Report,
    *,
    actor: str,
    via: str,
    settings: Settings,
    account: Account | None = None,
    now: datetime | None = None,
) -> Opened:
    """Open a case for a report, or hold it as a pending duplicate of the case for that death.

    Either way the reporter gets a case of their own, with its own code, documents and target
    computed from what they reported, and the same words: a report that matches a case learns
    nothing of it (not that it exists, nor its code, notes, place, names or statuses). A desk
    officer then merges the duplicate into the case or rejects it (`merge_duplicate`,
    `reject_duplicate`). The tracking code is returned once and only its hash kept.
    """
    now = now or datetime.now(UTC)
    employee = await match(session, agency.id, report)
    if employee is not None:
        # The roster's spelling: what a family types ("Pak Joko") is not how HR files the name.
        report.deceased_name = employee.name
        report.unit = report.unit or employee.unit.name
    died_on = report.died_at.astimezone(ZoneInfo(agency.timezone)).date()
    key = identity_key(
        employee_id=employee.id if employee else None,
        name=report.deceased_name,
        place=report.pensioner_number or report.unit,
        died_on=died_on,
    )
    code = new_code()
    fields: dict[str, Any] = dict(
        agency_id=agency.id,
        tracking_hash=hash_code(code),
        identity_key=key,
        employee_id=employee.id if employee else None,
        deceased_name=report.deceased_name[:NAME_LIMIT],
        deceased_nip=employee.nip if employee else report.nip,
        deceased_unit=(report.unit or "")[:NAME_LIMIT] or None,
        pensioner_number=report.pensioner_number,
        died_at=report.died_at,
        deadline_at=deadline(report.died_at, agency.timezone, rule_of(settings)),
        opened_month=now.astimezone(ZoneInfo(agency.timezone)).strftime("%Y-%m"),
        opened_by=actor,
        opened_via=via,
        handover_place=settings.four_in_one_place,
        created_at=now,
    )
    survivor = await live_by_identity(session, agency.id, key)
    if survivor is None:
        case = FourInOneCase(**fields, status=CaseStatus.OPEN)
        try:
            async with session.begin_nested():
                session.add(case)
                await session.flush()
        except IntegrityError:
            # Another report of the same death committed between our check and insert.
            survivor = await live_by_identity(session, agency.id, key)
            if survivor is None:
                raise
    if survivor is not None:
        # Its own key, so the live case keeps the death's; the survivor is noted for staff only.
        held = fields | {"identity_key": f"duplicate:{fields['tracking_hash'][:40]}"}
        case = FourInOneCase(**held, status=DUPLICATE, duplicate_of_id=survivor.id)
        session.add(case)
        await session.flush()
        record_event(session, survivor, "duplicate", actor, now, note=f"case:{case.id}")
    for position, kind in enumerate(DOCUMENTS):
        session.add(
            CaseDocument(
                case_id=case.id,
                kind=kind,
                position=position,
                owner_role=OWNERS[kind],
                updated_at=now,
                updated_by=actor,
            )
        )
    record_event(session, case, "opened", actor, now, note=via)
    if survivor is not None:
        record_event(session, case, "duplicate", actor, now, note=f"case:{survivor.id}")
    await _add_contact(session, case, report, account, via=via, duplicate=survivor is not None)
    audit.record(
        session,
        actor=actor,
        action="case.open",
        agency_id=agency.id,
        target=f"case:{case.id}",
        via=via,
        duplicate_of=survivor.id if survivor is not None else None,
    )
    await session.flush()
    await session.refresh(case)
    return Opened(case, code, survivor.id if survivor is not None else None)


async def _add_contact(
    session: AsyncSession,
    case: FourInOneCase,
    report: Report,
    account: Account | None,
    *,
    via: str,
    duplicate: bool,
) -> None:
    """Record who reported. Details an officer typed are the officer's record (a chat may later
    prove that phone); details a family typed are their own claim and never verify anyone. The
    reporting chat is the verified family only of a case it opened itself, not of a duplicate."""
    officer = via == "officer"
    phone = normalize_phone(report.phone) if report.phone else None
    details = CaseContact(
        case_id=case.id,
        account_id=account.id if account is not None and not officer else None,
        name=(report.contact_name or "")[:NAME_LIMIT] or None,
        relation=report.relation,
        phone=phone,
        source=BY_OFFICER if officer else BY_REPORTER,
        verified=account is not None and not officer and not duplicate,
    )
    if details.name or details.phone or details.account_id:
        session.add(details)


async def follow(session: AsyncSession, case: FourInOneCase, account: Account) -> bool:
    """A chat that holds the tracking code asks to be told of changes; True if newly added.
    It follows unverified: statuses and dates only."""
    existing = await session.scalar(
        select(CaseContact.id).where(
            CaseContact.case_id == case.id, CaseContact.account_id == account.id
        )
    )
    if existing is not None:
        return False
    session.add(CaseContact(case_id=case.id, account_id=account.id, source=FOLLOWER))
    await session.flush()
    return True


async def awaits_family(session: AsyncSession, case: FourInOneCase) -> bool:
    """An officer recorded a family phone on this live case, which a chat may prove is theirs."""
    if case.status not in LIVE:
        return False
    found = await session.scalar(
        select(CaseContact.id)
        .where(
            CaseContact.case_id == case.id,
            CaseContact.source == BY_OFFICER,
            CaseContact.phone.is_not(None),
        )
        .limit(1)
    )
    return found is not None


async def verify_family(
    session: AsyncSession, case: FourInOneCase, account: Account, proven_phone: str
) -> bool:
    """A chat whose own phone, as the platform proves it (Telegram: a contact whose user id is
    the sender; WhatsApp: the sender's wa_id), is one an officer recorded for this case becomes
    its verified family. The caller proves the phone; a typed number must never reach here.

    Only officer-recorded rows count: a phone the reporter gave about themselves (their report,
    a duplicate report folded in, the phone step) is their own claim and proves nothing."""
    wanted = normalize_phone(proven_phone)
    if wanted is None or case.status not in LIVE:
        return False
    recorded = await session.scalar(
        select(CaseContact.id)
        .where(
            CaseContact.case_id == case.id,
            CaseContact.source == BY_OFFICER,
            CaseContact.phone == wanted,
        )
        .limit(1)
    )
    if recorded is None:
        return False
    rows = list(
        await session.scalars(
            select(CaseContact).where(
                CaseContact.case_id == case.id, CaseContact.account_id == account.id
            )
        )
    )
    if not rows:
        rows = [CaseContact(case_id=case.id, account_id=account.id, source=FOLLOWER)]
        session.add(rows[0])
    for row in rows:
        row.verified = True
    record_event(
        session, case, "verified", f"account:{account.id}", datetime.now(UTC),
        note=f"contact:{recorded}",
    )  # fmt: skip
    await session.flush()
    return True
