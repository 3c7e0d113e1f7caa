"""Outbound messages that are not direct replies: recorded first, sent later under platform limits.

Capabilities call `enqueue` inside their own unit of work, so a notification exists exactly when
the change that caused it was committed. A drain (in-process or `abdi worker`) claims pending rows
and hands each to the `ChannelSender` of the recipient's channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import translator
from bot.messages import Channel, Reply
from storage.models import Account, Delivery, utcnow
from storage.statuses import DeliveryStatus as Status

# Platform status callbacks only ever move a record forward along this order; a late "sent"
# never undoes "read", and a late "failed" after "delivered" is ignored.
PROGRESS = {
    Status.PENDING: 0,
    Status.SENDING: 1,
    Status.UNCERTAIN: 1,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.READ: 4,
    Status.FAILED: 3,
    Status.UNREACHABLE: 3,
    Status.CANCELLED: 5,
}


def moves_forward(current: str, new: str) -> bool:
    return PROGRESS[Status(new)] > PROGRESS[Status(current)]


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # throttled or a transient fault: try again after `retry_after`
    UNREACHABLE = "unreachable"  # blocked, deactivated, or no longer messageable
    FAILED = "failed"  # rejected for good (bad request)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    platform_id: str | None = None  # message id the platform gave (wamid, Telegram message_id)
    retry_after: float | None = None  # seconds, when the platform named a wait
    error: str | None = None  # short reason for reports


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    per_second: float  # messages per second for the whole bot / phone number
    per_chat_interval: float  # minimum seconds between two messages to one chat


class ChannelSender(Protocol):
    """What a channel adapter offers the drain: one message to one account, no retries inside."""

    channel: Channel
    limits: ChannelLimits

    async def send_outbound(self, account: Account, delivery: Delivery, reply: Reply) -> SendResult:
        """Send one rendered delivery; map every platform error onto a `SendResult`."""
        ...


async def enqueue(
    session: AsyncSession,
    account: Account,
    message_key: str,
    *,
    kind: str = "notification",
    source: str,
    params: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    not_before: datetime | None = None,
) -> Delivery | None:
    """Record one outbound message; None when `dedup_key` was already recorded.

    `message_key` is a locale catalog id; `params` must be JSON-serialisable (numbers, strings)
    and are formatted into the text at send time in the recipient's language.
    """
    if dedup_key is not None:
        existing = await session.scalar(select(Delivery.id).where(Delivery.dedup_key == dedup_key))
        if existing is not None:
            return None
    delivery = Delivery(
        agency_id=account.agency_id,
        account_id=account.id,
        kind=kind,
        source=source,
        message_key=message_key,
        params=dict(params or {}),
        dedup_key=dedup_key,
        not_before=not_before or utcnow(),
    )
    session.add(delivery)
    await session.flush()
    return delivery


def render(delivery: Delivery, account: Account, default_locale: str = "id") -> Reply:
    """The delivery as a neutral reply in the recipient's language."""
    t = translator(account.locale or default_locale)
    return Reply(t(delivery.message_key, **localized(delivery.params, t)))


def localized(params: dict[str, Any], t: Any) -> dict[str, Any]:
    """Params as the recipient reads them: a {"day": "YYYY-MM-DD"} value becomes the day in the
    recipient's language ("Kamis, 31 Des 2026" / "Thursday, 31 Dec 2026"), not the sender's."""
    from bot import dates

    out = dict(params)
    for key, value in params.items():
        if isinstance(value, dict) and set(value) == {"day"}:
            out[key] = dates.day(date.fromisoformat(str(value["day"])), t)
    return out
