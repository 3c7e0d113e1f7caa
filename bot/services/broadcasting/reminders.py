"""Recurring HR reminders: "N days before the quarter closes" or "every Monday at 07:00".

Each occurrence becomes one broadcast whose dedup key is (reminder, occurrence): the unique key on
broadcast.dedup_key makes it fire once however many processes run the job, and a late process
(after downtime) still fires an occurrence it missed while that occurrence is relevant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.services import audit, periods, when
from bot.services.broadcasting import broadcasts
from bot.services.broadcasting.audiences import NOT_RATED, Audience
from storage.models import Agency, Broadcast, Reminder

BEFORE_CLOSE, WEEKLY = "before_close", "weekly"
MIN_DAYS, MAX_DAYS = 0, 60
WEEKLY_GRACE = timedelta(hours=12)  # a weekly occurrence older than this is skipped, not sent late


class ReminderError(ValueError):
    """Bad reminder settings; the value is a message id, `params` fill it in."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.params = params


def parse_time(raw: str) -> str:
    clock = when.parse_clock(raw)
    if clock is None:
        raise ReminderError("reminder.error.time")
    return clock.strftime("%H:%M")


async def add(
    session: AsyncSession,
    agency: Agency,
    *,
    trigger: str,
    actor: str,
    days_before: int = 3,
    weekday: int = 0,
    at_time: str = "08:00",
    audience: Audience | None = None,
    text: str | None = None,
) -> Reminder:
    if trigger not in (BEFORE_CLOSE, WEEKLY):
        raise ReminderError("reminder.error.trigger")
    if not MIN_DAYS <= days_before <= MAX_DAYS:
        raise ReminderError("reminder.error.days", min=MIN_DAYS, max=MAX_DAYS)
    if not 0 <= weekday <= 6:
        raise ReminderError("reminder.error.trigger")
    if trigger == WEEKLY and not text:
        raise ReminderError("reminder.error.text")  # the default text is about a closing quarter
    audience = audience or Audience(NOT_RATED)
    same = await _same_as(
        session, agency.id, trigger, days_before, weekday, at_time, audience, text
    )
    if same is not None:
        raise ReminderError("reminder.error.duplicate", id=same.id)
    reminder = Reminder(
        agency_id=agency.id,
        trigger=trigger,
        days_before=days_before,
        weekday=weekday,
        at_time=parse_time(at_time),
        audience=audience.to_json(),
        text=text,
        created_by=actor,
    )
    session.add(reminder)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="reminder.add",
        agency_id=agency.id,
        target=f"reminder:{reminder.id}",
        trigger=trigger,
        days_before=days_before,
        weekday=weekday,
        at_time=reminder.at_time,
        audience=reminder.audience,
    )
    return reminder


async def _same_as(
    session: AsyncSession,
    agency_id: int,
    trigger: str,
    days_before: int,
    weekday: int,
    at_time: str,
    audience: Audience,
    text: str | None,
) -> Reminder | None:
    """An active reminder that would fire at the same moments to the same people: adding it
    again would send everyone the reminder twice."""
    at = parse_time(at_time)
    for r in await listed(session, agency_id):
        when_same = (
            r.days_before == days_before if trigger == BEFORE_CLOSE else r.weekday == weekday
        )
        if (
            r.trigger == trigger
            and when_same
            and r.at_time == at
            and r.audience == audience.to_json()
            and (r.text or None) == (text or None)
        ):
            return r
    return None


async def remove(session: AsyncSession, reminder: Reminder, actor: str) -> None:
    reminder.active = False
    audit.record(
        session,
        actor=actor,
        action="reminder.remove",
        agency_id=reminder.agency_id,
        target=f"reminder:{reminder.id}",
    )


async def listed(session: AsyncSession, agency_id: int) -> list[Reminder]:
    return list(
        await session.scalars(
            select(Reminder)
            .where(Reminder.agency_id == agency_id, Reminder.active.is_(True))
            .order_by(Reminder.id)
        )
    )


async def by_id(session: AsyncSession, agency_id: int, raw: str | int) -> Reminder | None:
    """The active reminder a payload or argument names, only within the caller's agency."""
    return next((r for r in await listed(session, agency_id) if str(r.id) == str(raw)), None)


async def describe(session: AsyncSession, reminder: Reminder, t: Translator) -> str:
    """When a reminder fires and to whom, in words."""
    when = (
        t("reminder.when_before_close", days=reminder.days_before, at=reminder.at_time)
        if reminder.trigger == BEFORE_CLOSE
        else t("reminder.when_weekly", day=reminder.weekday + 1, at=reminder.at_time)
    )
    audience = Audience.from_json(reminder.audience)
    who = await broadcasts.describe(session, reminder.agency_id, audience, t)
    return t("reminder.row", id=reminder.id, when=when, audience=who)


@dataclass(frozen=True)
class Occurrence:
    key: str
    at: datetime
    params: dict[str, Any]


def _local(day: datetime, at_time: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(p) for p in at_time.split(":"))
    return datetime.combine(day.date(), time(hour, minute), tzinfo=zone).astimezone(UTC)


async def due_occurrence(
    session: AsyncSession, reminder: Reminder, agency: Agency, now: datetime
) -> Occurrence | None:
    """The occurrence that should have fired by `now` and is still relevant, if any."""
    zone = ZoneInfo(agency.timezone)
    if reminder.trigger == BEFORE_CLOSE:
        period = await periods.current_open(session, agency.id)
        if period is None:
            return None
        last_day = (period.closes_at - timedelta(seconds=1)).astimezone(zone)
        fire = _local(last_day - timedelta(days=reminder.days_before), reminder.at_time, zone)
        if not fire <= now < period.closes_at:
            return None
        label = f"{period.year}-Q{period.quarter}"
        # The day as the office writes it; a quarter ends on its last day.
        closes = {"day": last_day.date().isoformat()}  # written in each recipient's language
        params = {"period": label, "days": reminder.days_before, "closes": closes}
        return Occurrence(f"reminder:{reminder.id}:period:{period.id}", fire, params)
    local_now = now.astimezone(zone)
    back = (local_now.weekday() - reminder.weekday) % 7
    fire = _local(local_now - timedelta(days=back), reminder.at_time, zone)
    if fire > now:
        fire -= timedelta(days=7)
    if now - fire > WEEKLY_GRACE:
        return None
    return Occurrence(f"reminder:{reminder.id}:{fire.date().isoformat()}", fire, {})


async def fire(session: AsyncSession, reminder: Reminder, now: datetime) -> Broadcast | None:
    """Send the reminder's due occurrence once; None when nothing is due or it already fired."""
    agency = await session.get(Agency, reminder.agency_id)
    assert agency is not None
    occurrence = await due_occurrence(session, reminder, agency, now)
    if occurrence is None:
        return None
    exists = await session.scalar(select(Broadcast.id).where(Broadcast.dedup_key == occurrence.key))
    if exists is not None:
        return None
    try:
        async with session.begin_nested():
            broadcast = await broadcasts.create(
                session,
                agency,
                Audience.from_json(reminder.audience),
                actor=f"reminder:{reminder.id}",
                text=reminder.text,
                message_key=None if reminder.text else "reminder.rating_close",
                params=occurrence.params,
                send_at=now,
                kind="reminder",
                dedup_key=occurrence.key,
            )
    except IntegrityError:
        return None  # another process fired this occurrence a moment ago
    await broadcasts.release(session, broadcast, now)
    return broadcast
