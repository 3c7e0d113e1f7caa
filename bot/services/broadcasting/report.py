"""HR's view of a broadcast in words: the progress message and the full report (chat and shell)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.delivery import Status
from bot.i18n import Translator, translator
from bot.services.broadcasting import acks, audiences, broadcasts
from bot.services.broadcasting.audiences import Audience
from storage.models import Agency, Broadcast


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
    thinned = await broadcasts.thinned(session, broadcast.id)
    if broadcast.ack_requested and not thinned:
        lines.extend(acks.lines(await acks.summary(session, broadcast), t))
    if thinned:
        lines.append(t("retention.broadcast_thinned"))
        return "\n".join(lines), False  # the names behind the counts are gone
    return "\n".join(lines), bool(failures) or broadcast.recipients > progress.total
