"""Periodic work of broadcasts: release scheduled ones, and keep HR's progress message current.

The progress message is edited in place where the channel can edit (Telegram); elsewhere a new
message goes out when the broadcast starts and when it ends, so HR's chat is not flooded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.delivery import Outcome, Status
from bot.i18n import Translator, translator
from bot.jobs import periodic
from bot.messages import Reply
from bot.services import audiences, broadcasts
from bot.services.audiences import Audience
from bot.services.rate_limit import acquire
from storage.models import Account, Agency, Broadcast, Delivery

NO_EDIT = "-"  # progress_platform_id of a channel that cannot edit: the first message went out


@periodic("broadcast.release", timedelta(seconds=10))
async def release_scheduled(app: Any, now: datetime) -> None:
    async with app.sessions() as session, session.begin():
        await broadcasts.release_due(session, now)


def progress_text(broadcast: Broadcast, progress: broadcasts.Progress, locale: str) -> str:
    t = translator(locale)
    if broadcast.released_at is None:  # scheduled, or cancelled before its time: nothing sent
        key = "broadcast.progress_cancelled" if broadcast.status == broadcasts.CANCELLED else ""
        return t(key or "broadcast.not_started", id=broadcast.id)
    lines = [
        t(
            "broadcast.progress",
            id=broadcast.id,
            bar=broadcasts.bar(progress.total - progress.pending, progress.total),
            sent=progress.sent,
            pending=progress.pending,
            failed=progress.get(Status.FAILED),
            unreachable=progress.get(Status.UNREACHABLE),
            uncertain=progress.get(Status.UNCERTAIN),
            cancelled=progress.get(Status.CANCELLED),
            total=progress.total,
        )
    ]
    unlinked = max(0, broadcast.recipients - progress.total)
    lines.append(t("broadcast.targets", targets=broadcast.recipients, unlinked=unlinked))
    if broadcast.status in (broadcasts.DONE, broadcasts.CANCELLED):
        lines.insert(0, t(f"broadcast.progress_{broadcast.status}", id=broadcast.id))
    return "\n".join(lines)


async def report(
    session: AsyncSession, broadcast: Broadcast, t: Translator, now: datetime
) -> tuple[str, bool]:
    """HR's full report of one broadcast (chat and shell): progress or the audience it awaits,
    targets without a chat account, failures by reason; and whether a CSV has anything to list."""
    progress = await broadcasts.progress(session, broadcast.id)
    lines = [progress_text(broadcast, progress, t.locale)]
    agency = await session.get(Agency, broadcast.agency_id)
    assert agency is not None
    audience = Audience.from_json(broadcast.audience)
    described = await broadcasts.describe(session, agency.id, audience, t)
    if broadcast.released_at is None:
        size = await audiences.size(session, agency, audience, now)
        lines.append(
            t(
                "broadcast.audience_size",
                audience=described,
                employees=size.employees,
                reachable=size.reachable,
            )
        )
        if broadcast.status == broadcasts.SCHEDULED:
            at = dates.moment(broadcast.send_at, agency.timezone, t)
            lines.append(t("broadcast.scheduled_for", at=at))
        return "\n".join(lines), False
    lines.append(t("broadcast.audience_line", audience=described))
    failures = await broadcasts.failures(session, broadcast.id)
    for status, reason, count in failures:
        label = broadcasts.status_label(status, t)
        lines.append(t("broadcast.failure_line", status=label, reason=reason, count=count))
    return "\n".join(lines), bool(failures) or broadcast.recipients > progress.total


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


@periodic("broadcast.progress", timedelta(seconds=10))
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
