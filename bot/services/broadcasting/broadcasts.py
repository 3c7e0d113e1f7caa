"""HR broadcasts: create (audit-logged), release into one delivery row per recipient, cancel,
and report (counts by status, failures by reason, a CSV of those not reached).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from bot.delivery import Status
from bot.i18n import Translator
from bot.services import audit, guidance
from bot.services.broadcasting import audiences
from bot.services.broadcasting.audiences import Audience, best_account, employee_ids
from storage.db import changed_rows
from storage.models import (
    Account,
    Agency,
    Broadcast,
    BroadcastTally,
    Delivery,
    Employee,
    Unit,
    utcnow,
)
from storage.statuses import BroadcastStatus

SCHEDULED, SENDING, DONE, CANCELLED = (
    BroadcastStatus.SCHEDULED,
    BroadcastStatus.SENDING,
    BroadcastStatus.DONE,
    BroadcastStatus.CANCELLED,
)
BROADCAST_PRIORITY = 10  # after notifications (priority 0)
MAX_TEXT = 3500  # leaves room for the header within Telegram's 4096
MAX_ATTACHMENT = 10 * 1024 * 1024
MAX_ID = 2**31 - 1  # an id past the column's range names nothing (and must not reach SQL)
OPEN_STATUSES = (Status.PENDING.value, Status.SENDING.value)
UNDELIVERED = (Status.FAILED.value, Status.UNREACHABLE.value, Status.UNCERTAIN.value)
NO_ACCOUNT, BLOCKED = "no_account", "blocked"  # targets that got no delivery row
STATUS_KEYS: dict[str, str] = {
    SCHEDULED: "broadcast.status.scheduled",
    SENDING: "broadcast.status.sending",
    DONE: "broadcast.status.done",
    CANCELLED: "broadcast.status.cancelled",
}
OUTCOME_KEYS = {
    Status.FAILED.value: "broadcast.outcome.failed",
    Status.UNREACHABLE.value: "broadcast.outcome.unreachable",
    Status.UNCERTAIN.value: "broadcast.outcome.uncertain",
    NO_ACCOUNT: "broadcast.outcome.no_account",
    BLOCKED: "broadcast.outcome.blocked",
}


SIGNATURES = {  # what a file is by its first bytes, not by its name
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


def attachment_type(content: bytes) -> str | None:
    """The MIME type of a PDF, PNG or JPEG file's content; None for anything else."""
    return next((mime for magic, mime in SIGNATURES.items() if content.startswith(magic)), None)


def accepted_attachment(content: bytes) -> str | None:
    """The MIME type of a file a broadcast may carry (a PDF or an image within the size limit);
    None when it may not."""
    return attachment_type(content) if len(content) <= MAX_ATTACHMENT else None


async def create(
    session: AsyncSession,
    agency: Agency,
    audience: Audience,
    *,
    actor: str,
    text: str | None = None,
    message_key: str | None = None,
    params: dict[str, Any] | None = None,
    send_at: datetime | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    report_account_id: int | None = None,
    kind: str = "broadcast",
    dedup_key: str | None = None,
    ack: bool = False,
    ack_remind_hours: int | None = None,
    via: str | None = None,
) -> Broadcast:
    """Record a broadcast (scheduled; `release` makes its deliveries) and audit it (`via`: the
    surface it came from when not the chat, e.g. "web", as every console audit row says)."""
    broadcast = Broadcast(
        agency_id=agency.id,
        kind=kind,
        text=text,
        message_key=message_key,
        params=dict(params or {}),
        audience=audience.to_json(),
        status=SCHEDULED,
        send_at=send_at or utcnow(),
        created_by=actor,
        report_account_id=report_account_id,
        dedup_key=dedup_key,
        ack_requested=ack,
        ack_remind_hours=ack_remind_hours if ack else None,
    )
    if attachment is not None:
        broadcast.attachment_name, broadcast.attachment_type, broadcast.attachment = attachment
    session.add(broadcast)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"{kind}.create",
        agency_id=agency.id,
        target=f"broadcast:{broadcast.id}",
        audience=audience.to_json(),
        send_at=broadcast.send_at.isoformat(),
        chars=len(text or ""),
        attachment=broadcast.attachment_name,
        ack=ack,
        ack_remind_hours=broadcast.ack_remind_hours,
        **({"via": via} if via else {}),
    )
    return broadcast


async def release(session: AsyncSession, broadcast: Broadcast, now: datetime) -> int:
    """Write one pending delivery per reachable recipient, in one INSERT … SELECT."""
    agency = await session.get(Agency, broadcast.agency_id)
    assert agency is not None
    audience = Audience.from_json(broadcast.audience)
    ids = (await employee_ids(session, agency, audience, now)).subquery()
    chosen = (
        select(Employee.id.label("employee_id"), best_account().label("account_id"))
        .where(Employee.id.in_(select(ids.c.id)))
        .subquery()
    )
    source = f"broadcast:{broadcast.id}"
    rows = select(
        literal(agency.id),
        chosen.c.account_id,
        literal(broadcast.kind),
        literal(source),
        literal("broadcast.message"),
        literal(broadcast.id),
        literal(BROADCAST_PRIORITY),
        literal(now, Delivery.not_before.type),
    ).where(chosen.c.account_id.is_not(None))
    await session.execute(
        insert(Delivery).from_select(
            [
                "agency_id",
                "account_id",
                "kind",
                "source",
                "message_key",
                "broadcast_id",
                "priority",
                "not_before",
            ],
            rows,
        )
    )
    count = int(
        await session.scalar(select(func.count()).where(Delivery.broadcast_id == broadcast.id)) or 0
    )
    broadcast.recipients = int(await session.scalar(select(func.count()).select_from(ids)) or 0)
    broadcast.status = SENDING if count else DONE
    broadcast.released_at = now
    if not count:
        broadcast.finished_at = now
    return count


async def release_due(session: AsyncSession, now: datetime) -> list[Broadcast]:
    """Release scheduled broadcasts whose time has come (each once, even with many workers)."""
    due = list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.status == SCHEDULED, Broadcast.send_at <= now)
            .order_by(Broadcast.id)
            .limit(20)
            .with_for_update(skip_locked=True)
        )
    )
    for broadcast in due:
        await release(session, broadcast, now)
    return due


async def cancel(
    session: AsyncSession, broadcast: Broadcast, actor: str, via: str | None = None
) -> int:
    """Stop what has not gone out yet; returns how many messages were withdrawn."""
    now = utcnow()
    result = await session.execute(
        update(Delivery)
        .where(Delivery.broadcast_id == broadcast.id, Delivery.status == Status.PENDING.value)
        .values(status=Status.CANCELLED.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    withdrawn = changed_rows(result)
    if unfinished(broadcast):
        broadcast.status = CANCELLED
        broadcast.finished_at = now
    audit.record(
        session,
        actor=actor,
        action=f"{broadcast.kind}.cancel",
        agency_id=broadcast.agency_id,
        target=f"broadcast:{broadcast.id}",
        withdrawn=withdrawn,
        **({"via": via} if via else {}),
    )
    return withdrawn


@dataclass(frozen=True)
class Progress:
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def get(self, *statuses: str) -> int:
        return sum(self.counts.get(s, 0) for s in statuses)

    @property
    def sent(self) -> int:
        return self.get(Status.SENT, Status.DELIVERED, Status.READ)

    @property
    def pending(self) -> int:
        return self.get(*OPEN_STATUSES)

    @property
    def open(self) -> bool:
        return self.pending > 0


def _outcomes(*broadcast_ids: int) -> Any:
    """(broadcast, status, reason, n) of broadcasts' deliveries: the rows still kept, and the
    tally of those retention removed, so totals hold after the rows are gone."""
    reason = func.coalesce(Delivery.error, "")
    kept = (
        select(
            Delivery.broadcast_id.label("broadcast_id"),
            Delivery.status.label("status"),
            reason.label("reason"),
            func.count().label("n"),
        )
        .where(Delivery.broadcast_id.in_(broadcast_ids))
        .group_by(Delivery.broadcast_id, Delivery.status, reason)
    )
    removed = select(
        BroadcastTally.broadcast_id,
        BroadcastTally.status,
        BroadcastTally.reason,
        BroadcastTally.count,
    ).where(BroadcastTally.broadcast_id.in_(broadcast_ids))
    return union_all(kept, removed).subquery()


async def progress(session: AsyncSession, broadcast_id: int) -> Progress:
    return (await progress_of(session, [broadcast_id]))[broadcast_id]


async def progress_of(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, Progress]:
    """The progress of several broadcasts (a page of the list) in one query."""
    found: dict[int, dict[str, int]] = {b: {} for b in broadcast_ids}
    if not broadcast_ids:
        return {}
    both = _outcomes(*broadcast_ids)
    rows = await session.execute(
        select(both.c.broadcast_id, both.c.status, func.sum(both.c.n)).group_by(
            both.c.broadcast_id, both.c.status
        )
    )
    for broadcast_id, status, n in rows.all():
        found[broadcast_id][status] = int(n)
    return {b: Progress(counts) for b, counts in found.items()}


async def confirmed_of(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, int]:
    """How many recipients confirmed reading each of these broadcasts (one query)."""
    if not broadcast_ids:
        return {}
    rows = await session.execute(
        select(Delivery.broadcast_id, func.count(Delivery.confirmed_at))
        .where(Delivery.broadcast_id.in_(broadcast_ids))
        .group_by(Delivery.broadcast_id)
    )
    counts = {b: 0 for b in broadcast_ids}
    counts.update({int(b or 0): int(n) for b, n in rows.all()})
    return counts


async def failures(session: AsyncSession, broadcast_id: int) -> list[tuple[str, str, int]]:
    """(status, reason, count) of those not reached, most frequent first."""
    both = _outcomes(broadcast_id)
    total = func.sum(both.c.n)
    rows = await session.execute(
        select(both.c.status, both.c.reason, total)
        .where(both.c.status.in_(UNDELIVERED))
        .group_by(both.c.status, both.c.reason)
        .order_by(total.desc(), both.c.status, both.c.reason)
    )
    return [(s, e or "-", int(n)) for s, e, n in rows.all()]


async def thinned(session: AsyncSession, broadcast_id: int) -> bool:
    """Retention removed some of its deliveries: who each one went to is no longer known."""
    found = select(BroadcastTally.id).where(BroadcastTally.broadcast_id == broadcast_id).exists()
    return bool(await session.scalar(select(found)))


def text_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): an emoji counts as two."""
    return len(text.encode("utf-16-le")) // 2


def too_long(text: str) -> bool:
    return text_length(text) > MAX_TEXT


def unfinished(broadcast: Broadcast) -> bool:
    """Scheduled or still going out: something is left to send, or to withdraw by cancelling."""
    return broadcast.status in (SCHEDULED, SENDING)


def status_label(status: str, t: Translator) -> str:
    key = STATUS_KEYS.get(status) or OUTCOME_KEYS.get(status)
    return t(key) if key else status


async def _unreached(session: AsyncSession, broadcast: Broadcast) -> Any:
    """Rows (nip, name, unit, channel, status, error) of every target the message did not reach:
    undelivered rows, plus audience members who got no row (no chat account, or blocked before)."""
    undelivered = (
        select(
            Employee.nip,
            Employee.name,
            Unit.name.label("unit"),
            Account.channel,
            Delivery.status,
            Delivery.error,
        )
        .join(Account, Account.id == Delivery.account_id)
        .join(Employee, Employee.id == Account.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Delivery.broadcast_id == broadcast.id, Delivery.status.in_(UNDELIVERED))
    )
    if broadcast.released_at is None or await thinned(session, broadcast.id):
        # Once retention removed rows, everyone they went to would look "blocked" below.
        return undelivered.order_by(Unit.name, Employee.name)
    agency = await session.get(Agency, broadcast.agency_id)
    assert agency is not None
    ids = await employee_ids(
        session, agency, Audience.from_json(broadcast.audience), broadcast.released_at
    )
    got_row = (
        select(Delivery.id)
        .join(Account, Account.id == Delivery.account_id)
        .where(Delivery.broadcast_id == broadcast.id, Account.employee_id == Employee.id)
        .exists()
    )
    has_account = select(Account.id).where(Account.employee_id == Employee.id).exists()
    missing = (
        select(
            Employee.nip,
            Employee.name,
            Unit.name.label("unit"),
            literal(""),
            case((has_account, literal(BLOCKED)), else_=literal(NO_ACCOUNT)),
            literal(None, Delivery.error.type),
        )
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Employee.id.in_(ids.subquery().select()), ~got_row)
    )
    both = union_all(undelivered, missing).subquery()
    return select(both).order_by(both.c.unit, both.c.name)


async def undelivered_csv(session: AsyncSession, broadcast: Broadcast, t: Translator) -> bytes:
    """NIP, name, unit, channel, status, reason of every target the message did not reach."""
    rows = await session.execute(await _unreached(session, broadcast))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["nip", "name", "unit", "channel", "status", "reason"])
    for nip, name, unit, channel, status, error in rows.all():
        reason = status_label(status, t) + (f" ({error})" if error else "")
        writer.writerow([nip, name, unit, channel or "", status, reason])
    return out.getvalue().encode("utf-8-sig")  # the BOM lets Excel read the Indonesian names


async def finish_done(session: AsyncSession, now: datetime) -> list[Broadcast]:
    """Broadcasts with nothing left to send become done."""
    still_open = (
        select(Delivery.id)
        .where(Delivery.broadcast_id == Broadcast.id, Delivery.status.in_(OPEN_STATUSES))
        .exists()
    )
    done = list(
        await session.scalars(select(Broadcast).where(Broadcast.status == SENDING, ~still_open))
    )
    for broadcast in done:
        broadcast.status = DONE
        broadcast.finished_at = now
    return done


async def by_id(session: AsyncSession, agency_id: int, raw: str | int) -> Broadcast | None:
    """The broadcast a payload or argument names, only within the caller's agency (without its
    file's bytes: reports, exports and cancelling never need them, and a page polls this)."""
    if not str(raw).isdigit() or int(raw) > MAX_ID:
        return None
    broadcast = await session.get(Broadcast, int(raw), options=[defer(Broadcast.attachment)])
    return broadcast if broadcast is not None and broadcast.agency_id == agency_id else None


def _listed(agency_id: int, search: str | None) -> list[Any]:
    where = [Broadcast.agency_id == agency_id]
    if search:
        where.append(Broadcast.text.icontains(search, autoescape=True))
    return where


async def recent(
    session: AsyncSession,
    agency_id: int,
    limit: int = 8,
    offset: int = 0,
    search: str | None = None,
) -> list[Broadcast]:
    """The agency's broadcasts, newest first, those whose text has `search` if given (the
    attachment's bytes are not loaded)."""
    query = (
        select(Broadcast).where(*_listed(agency_id, search)).options(defer(Broadcast.attachment))
    )
    return list(
        await session.scalars(query.order_by(Broadcast.id.desc()).limit(limit).offset(offset))
    )


async def count(session: AsyncSession, agency_id: int, search: str | None = None) -> int:
    query = select(func.count()).select_from(Broadcast).where(*_listed(agency_id, search))
    return int(await session.scalar(query) or 0)


def title(broadcast: Broadcast, t: Translator) -> str:
    """What HR recognises a broadcast by in lists: its text, or the reminder's message."""
    return broadcast.text or t(broadcast.message_key or "broadcast.message", **broadcast.params)


def bar(done: int, total: int, width: int = 20) -> str:
    """A text progress bar that reads the same in a terminal and in a chat: ▓▓▓░░░ 50%."""
    share = done / total if total else 1.0
    filled = round(share * width)
    return "▓" * filled + "░" * (width - filled) + f" {round(share * 100)}%"


def topic_title(topic: str, locale: str) -> str:
    """A guidance topic as people know it (its label), not its internal id."""
    found = guidance.library().content().topic(locale, topic)
    return found.label if found is not None else topic


async def describe(session: AsyncSession, agency_id: int, audience: Audience, t: Translator) -> str:
    """The audience in words: "Unit: Dinas Kesehatan", "Semua ASN", …"""
    if audience.kind == audiences.UNITS:
        names = await session.scalars(
            select(Unit.name)
            .where(Unit.agency_id == agency_id, Unit.id.in_(audience.units))
            .order_by(Unit.name)
        )
        return t("broadcast.desc_units", units=", ".join(names))
    if audience.kind == audiences.NOT_ACKED:
        assert audience.topic is not None
        return t("broadcast.desc_notacked", topic=topic_title(audience.topic, t.locale))
    return t(AUDIENCE_KEYS.get(audience.role or audience.kind, "broadcast.aud_everyone"))


AUDIENCE_KEYS = {
    audiences.EVERYONE: "broadcast.aud_everyone",
    audiences.NOT_RATED: "broadcast.desc_notrated",
    "hr": "broadcast.aud_hr",
    "officer": "broadcast.aud_officer",
}
