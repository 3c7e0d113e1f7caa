"""Acknowledgements of a broadcast: "I have read this", once per recipient, re-checked against the
delivery row the button names; counts and names per unit for HR's report; the export.

A WhatsApp read receipt (delivery status "read") means the message was opened, not confirmed: it
is counted apart, and only a tap on the button sets `Delivery.confirmed_at`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.delivery import Status, enqueue
from bot.i18n import Translator
from storage.db import changed_rows
from storage.models import Account, Agency, Broadcast, Delivery, Employee, Unit

EXCERPT = 300  # how much of the broadcast a reminder repeats
REMIND_HOURS = 24  # the reminder HR can switch on when composing
ROUTER = "ack"  # the payload "ack:ok:<delivery id>" the message's button carries
VERB = "ok"


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY = "already"
    REFUSED = "refused"


REACHED = (Status.SENT.value, Status.DELIVERED.value, Status.READ.value)


def payload(delivery_id: int) -> str:
    return f"{ROUTER}:{VERB}:{delivery_id}"


async def confirm(
    session: AsyncSession, delivery_id: int, account: Account, now: datetime
) -> Outcome:
    """Record the confirmation of the delivery the button names, only for the person it was sent
    to and only on a broadcast that asks for it; a second tap changes nothing."""
    row = await session.execute(
        select(Delivery, Broadcast.ack_requested, Account.employee_id)
        .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .join(Account, Account.id == Delivery.account_id)
        .where(Delivery.id == delivery_id, Delivery.agency_id == account.agency_id)
    )
    found = row.first()
    if found is None:
        return Outcome.REFUSED
    delivery, asked, employee_id = found
    mine = delivery.account_id == account.id or (
        account.employee_id is not None and employee_id == account.employee_id
    )
    if not asked or not mine:
        return Outcome.REFUSED
    # A conditional UPDATE: two taps arriving together still record one confirmation.
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.confirmed_at.is_(None))
        .values(confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    return Outcome.CONFIRMED if changed_rows(result) else Outcome.ALREADY


async def remind_due(session: AsyncSession, now: datetime) -> int:
    """Remind, once, each recipient of a broadcast who has not confirmed within the hours HR
    chose; the reminder carries the same button. Returns how many reminders were queued."""
    due = list(
        await session.scalars(
            select(Broadcast)
            .where(
                Broadcast.ack_requested.is_(True),
                Broadcast.ack_remind_hours.is_not(None),
                Broadcast.ack_reminded_at.is_(None),
                Broadcast.released_at.is_not(None),
            )
            .with_for_update(skip_locked=True)
        )
    )
    queued = 0
    for broadcast in due:
        assert broadcast.released_at is not None and broadcast.ack_remind_hours is not None
        if broadcast.released_at + timedelta(hours=broadcast.ack_remind_hours) > now:
            continue
        broadcast.ack_reminded_at = now  # once, even if nobody is left to remind
        text = broadcast.text or ""
        excerpt = text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
        waiting = await session.execute(
            select(Delivery.id, Account)
            .join(Account, Account.id == Delivery.account_id)
            .where(
                Delivery.broadcast_id == broadcast.id,
                Delivery.confirmed_at.is_(None),
                Delivery.status.in_(REACHED),
            )
        )
        for delivery_id, account in waiting.all():
            await enqueue(
                session,
                account,
                "ack.reminder",
                kind="reminder",
                source=f"broadcast:{broadcast.id}",
                # The reminder carries the button of the person's own delivery again.
                params={"excerpt": excerpt, "choices": [[payload(delivery_id), "ack.button"]]},
                dedup_key=f"ack-reminder:{delivery_id}",
            )
            queued += 1
    return queued


async def headed_unit(session: AsyncSession, employee: Employee | None) -> int | None:
    """The unit this employee heads, from the roster: they supervise someone in their own unit
    and their own supervisor is outside it or absent. None for everyone else."""
    if employee is None or employee.status != "active":
        return None
    supervises = (
        select(Employee.id)
        .where(
            Employee.supervisor_id == employee.id,
            Employee.unit_id == employee.unit_id,
            Employee.status == "active",
        )
        .exists()
    )
    if not await session.scalar(select(supervises)):
        return None
    if employee.supervisor_id is not None:
        boss = await session.get(Employee, employee.supervisor_id)
        if boss is not None and boss.unit_id == employee.unit_id:
            return None
    return employee.unit_id


async def reaching_unit(
    session: AsyncSession, agency_id: int, unit_id: int, limit: int = 8
) -> list[Broadcast]:
    """The latest broadcasts asking for confirmation that reached someone in the unit."""
    reached = (
        select(Delivery.id)
        .join(Account, Account.id == Delivery.account_id)
        .join(Employee, Employee.id == Account.employee_id)
        .where(Delivery.broadcast_id == Broadcast.id, Employee.unit_id == unit_id)
        .exists()
    )
    return list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.agency_id == agency_id, Broadcast.ack_requested.is_(True), reached)
            .order_by(Broadcast.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class UnitCount:
    unit: str
    recipients: int
    confirmed: int
    names: tuple[str, ...]  # who confirmed; empty when the reader sees counts only


@dataclass(frozen=True)
class Summary:
    sent: int
    delivered: int
    read: int
    confirmed: int
    units: list[UnitCount]


async def summary(
    session: AsyncSession, broadcast: Broadcast, *, unit_id: int | None = None, names: bool = True
) -> Summary:
    """Sent / delivered / read / confirmed, and per unit who confirmed (names for HR; counts only
    for a unit head, who sees their own unit alone). Counted in the database: a 100,000-person
    broadcast is a few grouped rows, and only the names of those who confirmed are read."""
    recipients = (
        select()
        .select_from(Delivery)
        .join(Account, Account.id == Delivery.account_id)
        .join(Employee, Employee.id == Account.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Delivery.broadcast_id == broadcast.id)
        .where(Unit.id == unit_id if unit_id is not None else true())
    )
    rows = (
        await session.execute(
            recipients.add_columns(
                Unit.id, Unit.name, Delivery.status, func.count(), func.count(Delivery.confirmed_at)
            )
            .group_by(Unit.id, Unit.name, Delivery.status)
            .order_by(Unit.name, Unit.id)
        )
    ).all()
    who: dict[int, list[str]] = {}
    if names:
        confirmed_names = await session.execute(
            recipients.add_columns(Unit.id, Employee.name)
            .where(Delivery.confirmed_at.is_not(None))
            .order_by(Employee.name)
        )
        for uid, name in confirmed_names.all():
            who.setdefault(uid, []).append(name)
    units: dict[int, tuple[str, int, int]] = {}
    by_status: dict[str, int] = {}
    for uid, unit, status, total, done in rows:
        label, recipients_so_far, confirmed_so_far = units.get(uid, (unit, 0, 0))
        units[uid] = (label, recipients_so_far + total, confirmed_so_far + done)
        by_status[status] = by_status.get(status, 0) + total
    return Summary(
        sent=sum(by_status.get(s, 0) for s in REACHED),
        delivered=sum(by_status.get(s, 0) for s in REACHED[1:]),
        read=by_status.get(Status.READ.value, 0),
        confirmed=sum(done for *_, done in rows),
        units=[UnitCount(u, n, c, tuple(who.get(uid, ()))) for uid, (u, n, c) in units.items()],
    )


def lines(found: Summary, t: Translator) -> list[str]:
    """The acknowledgement part of a broadcast's report."""
    out = [
        t(
            "ack.summary",
            sent=found.sent,
            delivered=found.delivered,
            read=found.read,
            confirmed=found.confirmed,
        )
    ]
    for unit in found.units:
        out.append(
            t("ack.unit_line", unit=unit.unit, confirmed=unit.confirmed, total=unit.recipients)
        )
        if unit.names:
            out.append(t("ack.unit_names", names=", ".join(unit.names)))
    return out


async def export_csv(session: AsyncSession, broadcast: Broadcast, t: Translator) -> bytes:
    """Unit, name, NIP, status, confirmed at: every recipient with a delivery row."""
    agency = await session.get(Agency, broadcast.agency_id)
    assert agency is not None
    rows = await session.execute(
        select(Unit.name, Employee.name, Employee.nip, Delivery.status, Delivery.confirmed_at)
        .select_from(Delivery)
        .join(Account, Account.id == Delivery.account_id)
        .join(Employee, Employee.id == Account.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Delivery.broadcast_id == broadcast.id)
        .order_by(Unit.name, Employee.name)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t("ack.col_unit"), t("ack.col_name"), "NIP", "status", t("ack.col_at")])
    for unit, name, nip, status, confirmed_at in rows.all():
        state = "confirmed" if confirmed_at is not None else status
        at = dates.moment(confirmed_at, agency.timezone, t) if confirmed_at is not None else ""
        writer.writerow([unit, name, nip, state, at])
    return out.getvalue().encode("utf-8-sig")  # the BOM lets Excel read the Indonesian names
