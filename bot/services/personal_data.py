"""What Abdi holds about one user (UU PDP right of access): gathered from the rows, as plain data.

The ratings a user gave are theirs (ratee, period, scores); the ratings they received are not
included, so no rater is ever named. A family member sees a case as their card shows it, with
their own contact details only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Account,
    AuditLog,
    CaseContact,
    Employee,
    FourInOneCase,
    GuidanceAck,
    Rating,
    RatingPeriod,
)


def _when(value: datetime | None) -> datetime | None:
    # Kept as a datetime: the JSON copy writes ISO 8601, the readable one the office's style.
    return value


def _account(row: Account) -> dict[str, Any]:
    return {
        "channel": row.channel,
        "user_ref": row.user_ref,
        "locale": row.locale,
        "linked_at": _when(row.linked_at),
        "last_inbound_at": _when(row.last_inbound_at),
        "created_at": _when(row.created_at),
        "notice_version": row.notice_version,
        "notice_seen_at": _when(row.notice_seen_at),
    }


async def _ratings_given(session: AsyncSession, employee: Employee) -> list[dict[str, Any]]:
    ratee = aliased(Employee)
    rows = await session.execute(
        select(Rating, RatingPeriod, ratee)
        .join(RatingPeriod, RatingPeriod.id == Rating.period_id)
        .join(ratee, ratee.id == Rating.ratee_id)
        .where(Rating.rater_id == employee.id)
        .order_by(RatingPeriod.year, RatingPeriod.quarter, ratee.name)
    )
    return [
        {
            "period": f"{period.year}-Q{period.quarter}",
            "ratee_nip": person.nip,
            "ratee_name": person.name,
            "relation": rating.relation,
            "scores": dict(rating.scores),
            "comment": rating.comment,
            "rated_at": _when(rating.updated_at),
        }
        for rating, period, person in rows.all()
    ]


async def _cases(session: AsyncSession, account: Account, actor: str) -> list[dict[str, Any]]:
    contacts = list(
        await session.scalars(select(CaseContact).where(CaseContact.account_id == account.id))
    )
    case_ids = {c.case_id for c in contacts}
    cases = await session.scalars(
        select(FourInOneCase)
        .where(or_(FourInOneCase.id.in_(case_ids), FourInOneCase.opened_by == actor))
        .order_by(FourInOneCase.id)
    )
    out = []
    for case in cases.unique():
        mine = [c for c in contacts if c.case_id == case.id]
        out.append(
            {
                "case": case.id,
                "deceased_name": case.deceased_name,
                "status": str(case.status),
                "died_at": _when(case.died_at),
                "deadline_at": _when(case.deadline_at),
                "reported_by_me": case.opened_by == actor,
                "documents": [{"kind": d.kind, "status": str(d.status)} for d in case.documents],
                "my_contact": [
                    {"name": c.name, "relation": c.relation, "phone": c.phone} for c in mine
                ],
            }
        )
    return out


async def gather(session: AsyncSession, account: Account, actor: str) -> dict[str, Any]:
    """Everything held about the user of `account`, acting as `actor` (as audit rows name them)."""
    employee = account.employee
    if employee is not None:
        accounts = list(
            await session.scalars(
                select(Account).where(Account.employee_id == employee.id).order_by(Account.id)
            )
        )
    else:
        accounts = [account]
    data: dict[str, Any] = {"accounts": [_account(a) for a in accounts]}
    if employee is not None:
        data["employee"] = {
            "nip": employee.nip,
            "name": employee.name,
            "position": employee.position,
            "unit": employee.unit.name,
            "kind": employee.kind,
            "phone": employee.phone,
            "status": employee.status,
            "roles": sorted(employee.role_names),
        }
        data["ratings_given"] = await _ratings_given(session, employee)
        acks = await session.scalars(
            select(GuidanceAck)
            .where(GuidanceAck.employee_id == employee.id)
            .order_by(GuidanceAck.acked_at)
        )
        data["guidance_acknowledgements"] = [
            {"topic": a.topic, "version": a.version, "channel": a.channel, "at": _when(a.acked_at)}
            for a in acks
        ]
    data["four_in_one_cases"] = await _cases(session, account, actor)
    audit = await session.scalars(
        select(AuditLog).where(AuditLog.actor == actor).order_by(AuditLog.at, AuditLog.id)
    )
    data["audit_as_actor"] = [
        {"action": a.action, "target": a.target, "at": _when(a.at), "detail": a.detail}
        for a in audit
    ]
    return data
