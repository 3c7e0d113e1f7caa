"""Who a chat account is: linking to the roster by shared contact or HR code, roles, unlinking."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from bot.services import audit
from bot.services.people import normalize_phone
from storage.models import Account, Employee, EmployeeRole, LinkCode
from storage.state import StateStore

log = logging.getLogger("abdi.identity")

# taspen / dukcapil: liaison officers who own 4-in-1 documents (TASPEN book; certificate, KK, KTP)
ROLES = ("hr", "officer", "taspen", "dukcapil")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone
CODE_LENGTH = 8


class LinkResult(StrEnum):
    LINKED = "linked"
    ALREADY = "already"  # this account is already linked to that employee
    NOT_OWN = "not_own"  # a contact that is not the sender's own
    NO_MATCH = "no_match"  # phone not in the roster
    TAKEN = "taken"  # the employee already has another account on this channel
    INVALID = "invalid"  # code unknown, used or expired
    LOCKED = "locked"  # too many wrong codes in the agency this hour: codes refused for now


def _hash_code(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(cleaned.encode()).hexdigest()


async def _link(
    session: AsyncSession, account: Account, employee: Employee, how: str
) -> LinkResult:
    if account.employee_id == employee.id:
        return LinkResult.ALREADY
    other = await session.scalar(
        select(Account).where(
            Account.employee_id == employee.id,
            Account.channel == account.channel,
            Account.id != account.id,
        )
    )
    if other is not None:
        return LinkResult.TAKEN
    account.employee_id = employee.id
    account.employee = employee
    account.agency_id = employee.agency_id
    account.linked_at = datetime.now(UTC)
    audit.record(
        session,
        actor=f"account:{account.id}",
        action="account.link",
        agency_id=employee.agency_id,
        target=f"employee:{employee.id}",
        how=how,
        channel=account.channel,
    )
    await session.flush()
    return LinkResult.LINKED


async def link_by_contact(
    session: AsyncSession, account: Account, phone: str, contact_user_ref: str | None
) -> LinkResult:
    """Only the sender's own shared contact counts, and its phone must be in the roster."""
    if contact_user_ref is None or contact_user_ref != account.user_ref:
        return LinkResult.NOT_OWN
    normalized = normalize_phone(phone)
    if normalized is None:
        return LinkResult.NO_MATCH
    employee = await session.scalar(
        select(Employee).where(Employee.phone == normalized, Employee.status == "active")
    )
    if employee is None:
        return LinkResult.NO_MATCH
    return await _link(session, account, employee, "contact")


def may_link(employee: Employee) -> bool:
    """Nobody links a chat account as a deceased (or departed) employee."""
    return employee.status == "active"


async def create_link_code(
    session: AsyncSession, employee: Employee, ttl: timedelta, actor: str, **detail: str
) -> tuple[str, datetime]:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires = datetime.now(UTC) + ttl
    session.add(LinkCode(employee_id=employee.id, code_hash=_hash_code(raw), expires_at=expires))
    audit.record(
        session,
        actor=actor,
        action="link_code.create",
        agency_id=employee.agency_id,
        target=f"employee:{employee.id}",
        **detail,
    )
    await session.flush()
    return f"{raw[:4]}-{raw[4:]}", expires


async def redeem_link_code(session: AsyncSession, account: Account, code: str) -> LinkResult:
    now = datetime.now(UTC)
    row = await session.scalar(
        select(LinkCode).where(LinkCode.code_hash == _hash_code(code)).with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        return LinkResult.INVALID
    employee = await session.get(Employee, row.employee_id)
    if employee is None or not may_link(employee):
        return LinkResult.INVALID
    result = await _link(session, account, employee, "code")
    if result in (LinkResult.LINKED, LinkResult.ALREADY):
        row.used_at = now
    return result


def _failures_key(agency_id: int) -> str:
    return f"link-code-failures:{agency_id}"


async def redeem_within_budget(
    session: AsyncSession,
    store: StateStore,
    account: Account,
    code: str,
    *,
    budget: int,
) -> LinkResult:
    """Redeem a code unless the agency has spent its hourly budget of wrong codes.

    The per-chat cap stops one chat; this stops many chats guessing together. When the budget
    trips, codes are refused agency-wide for the rest of the hour (linking by one's own phone
    still works), and the trip is audit-logged and logged as a WARNING for the operators."""
    key = _failures_key(account.agency_id)
    # Reserve a place in the budget before the check, so attempts in flight at once cannot
    # overshoot it; an attempt that does not fail gives its place back.
    used = await store.hit(key, 3600)
    if used > budget:
        return LinkResult.LOCKED
    result = await redeem_link_code(session, account, code)
    if result is not LinkResult.INVALID:
        await store.unhit(key)
        return result
    metrics.LINK_CODE_FAILURES.inc()
    if used == budget:
        log.warning("link-code failure budget spent: codes refused for an hour")
        audit.record(
            session,
            actor="system",
            action="link_code.budget_tripped",
            agency_id=account.agency_id,
            target=f"agency:{account.agency_id}",
            failures=used,
        )
    return result


async def unlink(
    session: AsyncSession,
    employee: Employee,
    actor: str,
    channel: str | None = None,
    **detail: str,
) -> int:
    query = select(Account).where(Account.employee_id == employee.id)
    if channel:
        query = query.where(Account.channel == channel)
    accounts = list(await session.scalars(query))
    for account in accounts:
        account.employee_id = None
        account.employee = None
        account.linked_at = None
    audit.record(
        session,
        actor=actor,
        action="account.unlink",
        agency_id=employee.agency_id,
        target=f"employee:{employee.id}",
        channel=channel,
        accounts=len(accounts),
        **detail,
    )
    await session.flush()
    return len(accounts)


async def set_role(
    session: AsyncSession, employee: Employee, role: str, *, grant: bool, actor: str, **detail: str
) -> bool:
    """Grant or revoke a role; True if anything changed. Audited either way (`detail` added to
    the audit row, e.g. where the change came from)."""
    if role not in ROLES:
        raise ValueError(role)
    existing = await session.get(EmployeeRole, (employee.id, role))
    changed = (existing is None) if grant else (existing is not None)
    if grant and existing is None:
        session.add(EmployeeRole(employee_id=employee.id, role=role))
    elif not grant and existing is not None:
        await session.delete(existing)
    audit.record(
        session,
        actor=actor,
        action="role.grant" if grant else "role.revoke",
        agency_id=employee.agency_id,
        target=f"employee:{employee.id}",
        role=role,
        changed=changed,
        **detail,
    )
    await session.flush()
    return changed


async def employee_by_nip(session: AsyncSession, agency_id: int, nip: str) -> Employee | None:
    return await session.scalar(
        select(Employee).where(Employee.agency_id == agency_id, Employee.nip == nip.strip())
    )
