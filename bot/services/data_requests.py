"""Requests to correct or delete personal data (UU PDP): filed by the user, answered by HR.

The chat and the CLI both go through here, so filing, the deadline, what a deletion carries out,
the audit row and the answer sent to the user are written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import enqueue
from bot.services import audit
from storage.models import Account, CaseContact, DataRequest, Employee, FourInOneCase
from storage.statuses import CaseStatus, DataRequestStatus

KINDS = ("correction", "deletion")
MAX_TEXT = 1000
# A case the family no longer follows: its contacts may be erased on request.
ENDED = (CaseStatus.CLOSED, CaseStatus.CANCELLED, CaseStatus.MERGED, CaseStatus.REJECTED)


@dataclass(frozen=True)
class Answered:
    request: DataRequest
    erased: int  # contact rows anonymised by a deletion carried out


async def file(
    session: AsyncSession, account: Account, kind: str, text: str, *, hours: int, now: datetime
) -> DataRequest:
    assert kind in KINDS
    request = DataRequest(
        agency_id=account.agency_id,
        account_id=account.id,
        employee_id=account.employee_id,
        kind=kind,
        text=text[:MAX_TEXT],
        due_at=now + timedelta(hours=hours),
        created_at=now,
    )
    session.add(request)
    await session.flush()
    actor = f"employee:{account.employee_id}" if account.employee_id else f"account:{account.id}"
    audit.record(
        session,
        actor=actor,
        action=f"data_request.{kind}",
        agency_id=account.agency_id,
        target=f"data_request:{request.id}",
    )
    return request


async def open_requests(session: AsyncSession, agency_id: int) -> list[DataRequest]:
    """Open requests, the nearest deadline first: overdue ones come first by construction."""
    rows = await session.scalars(
        select(DataRequest)
        .where(DataRequest.agency_id == agency_id, DataRequest.status == DataRequestStatus.OPEN)
        .order_by(DataRequest.due_at, DataRequest.id)
    )
    return list(rows)


async def find(session: AsyncSession, agency_id: int, request_id: int) -> DataRequest | None:
    request = await session.get(DataRequest, request_id)
    return request if request is not None and request.agency_id == agency_id else None


async def requester(session: AsyncSession, request: DataRequest) -> str:
    """Who asked, as HR reads it: the employee's name and NIP, else the chat account."""
    if request.employee_id is not None:
        person = await session.get(Employee, request.employee_id)
        if person is not None:
            return f"{person.name} ({person.nip})"
    account = await session.get(Account, request.account_id) if request.account_id else None
    if account is None:
        return "-"
    chat = f"{account.channel} {account.user_ref}"
    # A family is known to the desk by its name on the case, not by a chat id.
    contact = await session.scalar(
        select(CaseContact)
        .where(CaseContact.account_id == account.id, CaseContact.name.is_not(None))
        .order_by(CaseContact.id.desc())
        .limit(1)
    )
    return f"{contact.name}, #{contact.case_id} ({chat})" if contact is not None else chat


async def _erase_family_contacts(session: AsyncSession, account_id: int) -> int:
    """A guest's contact details on ended cases: anonymised (the case and its audit stay)."""
    rows = await session.scalars(
        select(CaseContact)
        .join(FourInOneCase, FourInOneCase.id == CaseContact.case_id)
        .where(CaseContact.account_id == account_id, FourInOneCase.status.in_(ENDED))
    )
    count = 0
    for contact in rows:
        contact.name = contact.phone = contact.relation = None
        contact.account_id = None
        count += 1
    return count


async def answer(
    session: AsyncSession,
    request: DataRequest,
    *,
    actor: str,
    done: bool,
    note: str,
    now: datetime,
) -> Answered | None:
    """Close an open request (None if it was answered before) and tell the user through the bot.

    A deletion done for someone not on the roster (a family member, a guest) is carried out here;
    an employee's roster record is not deleted (kept under the civil-service personnel rules)."""
    if request.status != DataRequestStatus.OPEN:
        return None
    erased = 0
    if done and request.kind == "deletion" and request.employee_id is None and request.account_id:
        erased = await _erase_family_contacts(session, request.account_id)
    request.status = DataRequestStatus.DONE if done else DataRequestStatus.REFUSED
    request.answered_at, request.answered_by, request.answer = now, actor, note[:500]
    audit.record(
        session,
        actor=actor,
        action="data_request.done" if done else "data_request.refused",
        agency_id=request.agency_id,
        target=f"data_request:{request.id}",
        erased=erased,
    )
    account = await session.get(Account, request.account_id) if request.account_id else None
    if account is not None:
        await enqueue(
            session,
            account,
            "privacy.answer_done" if done else "privacy.answer_refused",
            source=f"data_request:{request.id}",
            params={"id": request.id, "note": note[:500]},
            dedup_key=f"data_request:{request.id}",
        )
    return Answered(request, erased)
