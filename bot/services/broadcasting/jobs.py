"""Periodic work of broadcasting: release scheduled broadcasts, keep HR's progress message
current, fire recurring reminders. Plain async jobs `(app, now)`; `bot/jobs.py` lists them with
their intervals.

The progress message is edited in place where the channel can edit (Telegram); elsewhere a new
message goes out when the broadcast starts and when it ends, so HR's chat is not flooded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from bot.delivery import Outcome
from bot.messages import Reply
from bot.services.broadcasting import acks, broadcasts, reminders
from bot.services.broadcasting.report import progress_text
from bot.services.rate_limit import acquire
from storage.models import Account, Broadcast, Delivery, Reminder

NO_EDIT = "-"  # progress_platform_id of a channel that cannot edit: the first message went out


async def release_scheduled(app: Any, now: datetime) -> None:
    async with app.sessions() as session, session.begin():
        await broadcasts.release_due(session, now)


async def _report(app: Any, broadcast: Broadcast, account: Account, text: str) -> str | None:
    """Show the progress text to HR; the platform id to edit next time, or None if not shown."""
    sender = app.senders.get(account.channel)
    if sender is None or not sender.reaches(account):
        return None  # HR reads it where their account is (another terminal, another process)
    reply = Reply(text)
    editable = sender.can_edit
    if app.limiter is not None:
        limits = sender.limits
        await acquire(app.limiter, account.channel, limits.per_second, account.chat_ref, 0)
    if broadcast.progress_platform_id not in (None, NO_EDIT) and editable:
        result = await sender.edit_outbound(account, broadcast.progress_platform_id, reply)
        return broadcast.progress_platform_id if result.outcome == Outcome.SENT else None
    if broadcast.progress_platform_id is not None and broadcast.status == broadcasts.SENDING:
        return broadcast.progress_platform_id  # cannot edit: the next message comes at the end
    note = Delivery(kind="progress", source=f"broadcast:{broadcast.id}", message_key="-", params={})
    result = await sender.send_outbound(account, note, reply)
    if result.outcome != Outcome.SENT:
        return None
    return result.platform_id if editable and result.platform_id else NO_EDIT


async def report_progress(app: Any, now: datetime) -> None:
    async with app.sessions() as session, session.begin():
        finished = {b.id for b in await broadcasts.finish_done(session, now)}
        rows = (
            await session.execute(
                select(Broadcast, Account)
                .join(Account, Account.id == Broadcast.report_account_id)
                .where(
                    or_(Broadcast.status == broadcasts.SENDING, Broadcast.id.in_(finished or {0}))
                )
            )
        ).all()
        todo = []
        for broadcast, account in rows:
            progress = await broadcasts.progress(session, broadcast.id)
            locale = account.locale or app.settings.default_locale
            todo.append((broadcast, account, progress_text(broadcast, progress, locale)))
    # Messages go out after the commit: no database connection is held while the network works.
    shown: dict[int, str] = {}
    for broadcast, account, text in todo:
        platform_id = await _report(app, broadcast, account, text)
        if platform_id is not None:
            shown[broadcast.id] = platform_id
    if shown:
        async with app.sessions() as session, session.begin():
            for broadcast_id, platform_id in shown.items():
                row = await session.get(Broadcast, broadcast_id)
                if row is not None:
                    row.progress_platform_id = platform_id
                    row.progress_at = now


async def fire_reminders(app: Any, now: datetime) -> None:
    async with app.sessions() as session:
        ids = list(await session.scalars(select(Reminder.id).where(Reminder.active.is_(True))))
    for reminder_id in ids:
        async with app.sessions() as session, session.begin():
            reminder = await session.get(Reminder, reminder_id)
            if reminder is not None:
                await reminders.fire(session, reminder, now)


async def remind_unconfirmed(app: Any, now: datetime) -> None:
    async with app.sessions() as session, session.begin():
        await acks.remind_due(session, now)
