"""Outbound messages that are not direct replies: recorded first, sent later under platform limits.

Capabilities call `enqueue` inside their own unit of work, so a notification exists exactly when
the change that caused it was committed. A drain (in-process or `abdi worker`) claims pending rows
and hands each to the `ChannelSender` (bot/senders.py) of the recipient's channel.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.i18n import translator
from bot.messages import Choice, Reply

# The sender contract lives in bot.senders; these names stay importable from here for callers
# that think of them as part of delivery.
from bot.senders import ChannelLimits as ChannelLimits
from bot.senders import ChannelSender as ChannelSender
from bot.senders import Outcome as Outcome
from bot.senders import SendResult as SendResult
from storage.models import Account, Delivery, utcnow
from storage.statuses import DeliveryStatus

Status = DeliveryStatus  # the name the drain, the jobs and the reports use

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
    # A notification may carry buttons: params["choices"] is [[payload, label key], ...].
    choices = [Choice(payload, t(key)) for payload, key in delivery.params.get("choices", [])]
    return Reply(t(delivery.message_key, **localized(delivery.params, t)), choices)


def localized(params: dict[str, Any], t: Any) -> dict[str, Any]:
    """Params as the recipient reads them: a {"day": "YYYY-MM-DD"} value becomes the day in the
    recipient's language ("Kamis, 31 Des 2026" / "Thursday, 31 Dec 2026"), not the sender's."""
    out = dict(params)
    for key, value in params.items():
        if isinstance(value, dict) and set(value) == {"day"}:
            out[key] = dates.day(date.fromisoformat(str(value["day"])), t)
    return out
