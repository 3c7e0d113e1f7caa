"""WhatsApp status callbacks (sent, delivered, read, failed) onto delivery records, forward only.

Callbacks come out of order, late, and sometimes before the drain has recorded the message id of
the send they describe. Those early ones wait in `early_status` and are applied when the record
appears (`settle`, run with every callback, and `catch_up` for a drain that just recorded an id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Status, moves_forward
from storage.models import Delivery, EarlyStatus, utcnow

TRACKER_PREFIX = "delivery:"  # biz_opaque_callback_data of every delivery we send
UNREACHABLE_CODES = {131026, 131050, 131049}  # undeliverable, opted out, not delivered by Meta
STATUSES = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "played": Status.READ,
    "failed": Status.FAILED,
}


def status_of(name: str, error_code: int | None) -> Status | None:
    status = STATUSES.get(name.lower())
    if status is Status.FAILED and error_code in UNREACHABLE_CODES:
        return Status.UNREACHABLE
    return status


def _move(delivery: Delivery, status: Status, error: str | None) -> bool:
    if not moves_forward(delivery.status, status):
        return False
    delivery.status = status.value
    delivery.updated_at = utcnow()
    if error:
        delivery.error = error[:200]
    return True


async def apply(
    session: AsyncSession,
    platform_id: str,
    status: Status,
    error: str | None = None,
    tracker: str | None = None,
) -> bool:
    """Move the delivery sent as `platform_id` forward; keep the status if it is not known yet.

    Only statuses of deliveries (their tracker says so) wait for their record: the callbacks of
    direct replies, which have no record, are not stored.
    """
    delivery = await session.scalar(
        select(Delivery).where(Delivery.platform_id == platform_id).with_for_update()
    )
    if delivery is not None:
        return _move(delivery, status, error)
    if not (tracker or "").startswith(TRACKER_PREFIX):
        return False
    early = await session.get(EarlyStatus, platform_id, with_for_update=True)
    if early is None:
        session.add(EarlyStatus(platform_id=platform_id, status=status.value, error=error))
    elif moves_forward(early.status, status):
        early.status, early.error = status.value, error or early.error
    await session.flush()
    return False


async def catch_up(session: AsyncSession, delivery: Delivery) -> None:
    """Apply a status that arrived before `delivery.platform_id` was recorded."""
    if delivery.platform_id is None:
        return
    early = await session.get(EarlyStatus, delivery.platform_id)
    if early is not None:
        _move(delivery, Status(early.status), early.error)
        await session.delete(early)


async def settle_job(app: Any, now: datetime) -> None:
    """Early statuses of deliveries whose id the drain has recorded since, when no callback
    came after it to settle them."""
    async with app.sessions() as session, session.begin():
        await settle(session)


async def settle(session: AsyncSession) -> int:
    """Apply every early status whose delivery now has its id; returns how many were applied.
    One whose delivery never records its id goes with retention (RETENTION_EARLY_STATUS_DAYS)."""
    rows = (
        await session.execute(
            select(Delivery, EarlyStatus).join(
                EarlyStatus, EarlyStatus.platform_id == Delivery.platform_id
            )
        )
    ).all()
    for delivery, early in rows:
        _move(delivery, Status(early.status), early.error)
    if rows:
        ids = [early.platform_id for _, early in rows]
        await session.execute(delete(EarlyStatus).where(EarlyStatus.platform_id.in_(ids)))
    return len(rows)
