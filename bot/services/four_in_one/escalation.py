"""Warnings to officers, HR and the documents' owners of cases at risk of missing the third
night."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.services.four_in_one.deadline import when_text
from bot.services.four_in_one.events import reader_translator, record_event
from bot.services.four_in_one.rules import DESK_ROLES, OWNERS, READY
from storage.db import changed_rows
from storage.models import Account, Agency, Employee, EmployeeRole, FourInOneCase
from storage.statuses import CaseStatus

RISK_LEVELS = (("risk24", timedelta(hours=24)), ("risk6", timedelta(hours=6)))


@dataclass
class Escalated:
    risk24: list[int] = field(default_factory=list)
    risk6: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)
    notifications: int = 0


async def _claim(session: AsyncSession, case_id: int, column: str, now: datetime) -> bool:
    """Fill an escalation column if still empty: exactly one process wins each (case, level)."""
    result = await session.execute(
        update(FourInOneCase)
        .where(FourInOneCase.id == case_id, getattr(FourInOneCase, column).is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result) == 1


async def staff_accounts(session: AsyncSession, agency_id: int, roles: set[str]) -> list[Account]:
    rows = await session.scalars(
        select(Account)
        .join(Employee, Employee.id == Account.employee_id)
        .join(EmployeeRole, EmployeeRole.employee_id == Employee.id)
        .where(
            Employee.agency_id == agency_id,
            Employee.status == "active",
            EmployeeRole.role.in_(sorted(roles)),
            Account.reachable.is_(True),
        )
        .order_by(Account.id)
    )
    return list(dict.fromkeys(rows))


async def escalate_due(session: AsyncSession, agency: Agency, now: datetime) -> Escalated:
    """Warn officers, HR and the documents' owners of cases at risk of missing the third night.

    Idempotent and safe to run in any number of processes at once: each (case, level) is claimed
    by a conditional UPDATE before anyone is told, and the deliveries carry dedup keys.
    """
    done = Escalated()
    (_, wide), (_, narrow) = RISK_LEVELS
    due = FourInOneCase.deadline_at
    # Only cases with a level still unclaimed are read: a repeat pass costs one indexed query.
    pending = or_(
        and_(due <= now, FourInOneCase.overdue_at.is_(None)),
        and_(due > now, due <= now + narrow, FourInOneCase.risk6_at.is_(None)),
        and_(due > now + narrow, due <= now + wide, FourInOneCase.risk24_at.is_(None)),
    )
    cases = list(
        await session.scalars(
            select(FourInOneCase)
            .where(
                FourInOneCase.agency_id == agency.id,
                FourInOneCase.status == CaseStatus.OPEN,
                pending,
            )
            .order_by(FourInOneCase.deadline_at)
        )
    )
    staff: dict[frozenset[str], list[Account]] = {}
    for case in cases:
        waiting = [d.kind for d in case.documents if d.status not in READY]
        if not waiting:
            continue
        if now >= case.deadline_at:
            level = "overdue"
        else:
            # A case opened late may cross both thresholds at once: send the sharper warning only.
            crossed = [name for name, before in RISK_LEVELS if now >= case.deadline_at - before]
            level = crossed[-1]
            for name in crossed[:-1]:
                await _claim(session, case.id, f"{name}_at", now)
        if not await _claim(session, case.id, f"{level}_at", now):
            continue
        getattr(done, level).append(case.id)
        record_event(session, case, "escalated", "system", now, note=level)
        roles = frozenset({*DESK_ROLES, *(OWNERS[k] for k in waiting)})
        if roles not in staff:
            staff[roles] = await staff_accounts(session, agency.id, set(roles))
        for account in staff[roles]:
            t = reader_translator(account)
            made = await delivery.enqueue(
                session,
                account,
                f"four_in_one.notify.{level}",
                source=f"case:{case.id}",
                params={
                    "number": case.id,
                    "docs": ", ".join(t(f"four_in_one.doc.{k}") for k in waiting),
                    "when": when_text(t, case.deadline_at, agency.timezone),
                },
                dedup_key=f"case:{case.id}:{level}:a{account.id}",
            )
            done.notifications += made is not None
    await session.flush()
    return done
