"""Retention (UU PDP No. 27/2022): personal data goes once its purpose is over, in small steps.

Each category names the rows that are due (counted from when the row stopped being needed) and
what happens to them: most are deleted; a broadcast's deliveries are first added to the
broadcast's tally, so its report keeps its totals; a closed 4-in-1 case loses its family's
contacts and every free text but keeps the dates and documents the SLA report counts; a
broadcast's file is dropped but the broadcast stays. Every step is one short transaction over at
most RETENTION_BATCH rows picked by primary key, so no table is held for long.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.delivery import Status
from bot.services import audit
from storage.db import changed_rows
from storage.models import (
    Account,
    AuditLog,
    Base,
    Broadcast,
    BroadcastTally,
    CaseContact,
    CaseDocument,
    CaseEvent,
    Delivery,
    EarlyStatus,
    FourInOneCase,
    InboundEvent,
    LinkCode,
    LoginCode,
    WebhookDeadLetter,
    WebSession,
)
from storage.statuses import BroadcastStatus, CaseStatus

ENDED_BROADCASTS = (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)
ENDED_CASES = (CaseStatus.CLOSED, CaseStatus.CANCELLED, CaseStatus.REJECTED)
OPEN_DELIVERIES = (Status.PENDING.value, Status.SENDING.value)
Due = Select[Any, Any]  # (key, since) of the rows past a limit
Act = Callable[[AsyncSession, list[Any], datetime], Awaitable[None]]


@dataclass(frozen=True)
class Category:
    """One kind of personal data and its limit: `due(cutoff)` selects (key, since) of the rows
    past it, `since` being when the row stopped being needed."""

    name: str
    setting: str  # the Settings field (and environment variable, upper-cased) of its period
    due: Callable[[datetime], Due]
    act: Act | None = None  # None: delete the rows by key

    def days(self, settings: Settings) -> float:
        value = getattr(settings, self.setting)
        # DEDUP_TTL_SECONDS is the one period not written in days.
        return value / 86400 if self.setting.endswith("_seconds") else float(value)


@dataclass(frozen=True)
class Finding:
    category: Category
    days: float
    count: int
    oldest: datetime | None


def _deleting(model: type[Base]) -> Act:
    key = model.__mapper__.primary_key[0]

    async def act(session: AsyncSession, keys: list[Any], now: datetime) -> None:
        await session.execute(delete(model).where(key.in_(keys)))

    return act


def _dead_letters(cutoff: datetime) -> Due:
    when = WebhookDeadLetter.received_at
    return select(WebhookDeadLetter.id, when).where(when < cutoff)


def _inbound_events(cutoff: datetime) -> Due:
    when = InboundEvent.received_at
    return select(InboundEvent.event_id, when).where(when < cutoff)


def _early_statuses(cutoff: datetime) -> Due:
    when = EarlyStatus.received_at
    return select(EarlyStatus.platform_id, when).where(when < cutoff)


def _deliveries(cutoff: datetime) -> Due:
    """Settled deliveries not changed since the cutoff; a broadcast's only once it has ended."""
    ended = (
        select(Broadcast.id)
        .where(Broadcast.id == Delivery.broadcast_id, Broadcast.status.in_(ENDED_BROADCASTS))
        .exists()
    )
    return select(Delivery.id, Delivery.updated_at).where(
        Delivery.updated_at < cutoff,
        Delivery.status.not_in(OPEN_DELIVERIES),
        or_(Delivery.broadcast_id.is_(None), ended),
    )


async def _tally_and_delete(session: AsyncSession, keys: list[Any], now: datetime) -> None:
    """Count what the removed rows say into their broadcasts' tallies, in the same transaction:
    the counts come from the rows this DELETE removed, so two runs never count a row twice."""
    gone = await session.execute(
        delete(Delivery)
        .where(Delivery.id.in_(keys))
        .returning(Delivery.broadcast_id, Delivery.status, Delivery.error)
    )
    outcomes = Counter(
        (broadcast_id, status, (error or "")[:200])
        for broadcast_id, status, error in gone.all()
        if broadcast_id is not None
    )
    for (broadcast_id, status, reason), count in outcomes.items():
        same = (
            BroadcastTally.broadcast_id == broadcast_id,
            BroadcastTally.status == status,
            BroadcastTally.reason == reason,
        )
        added = await session.execute(
            update(BroadcastTally)
            .where(*same)
            .values(count=BroadcastTally.count + count)
            .execution_options(synchronize_session=False)
        )
        if not changed_rows(added):
            await session.execute(
                insert(BroadcastTally).values(
                    broadcast_id=broadcast_id, status=status, reason=reason, count=count
                )
            )


def _attachments(cutoff: datetime) -> Due:
    return select(Broadcast.id, Broadcast.finished_at).where(
        Broadcast.attachment.is_not(None),
        Broadcast.status.in_(ENDED_BROADCASTS),
        Broadcast.finished_at < cutoff,
    )


async def _drop_attachments(session: AsyncSession, keys: list[Any], now: datetime) -> None:
    # The file's name stays: the report still says a file went with the message.
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id.in_(keys))
        .values(attachment=None)
        .execution_options(synchronize_session=False)
    )


def _closed_cases(cutoff: datetime) -> Due:
    """Cases closed before the cutoff, and the reports merged into them (whose contacts moved
    to the survivor, but whose own notes and names stayed)."""
    survivor = aliased(FourInOneCase)
    merged = FourInOneCase.status == CaseStatus.MERGED
    ended_at = sql_case((merged, survivor.closed_at), else_=FourInOneCase.closed_at)
    return (
        select(FourInOneCase.id, ended_at.label("since"))
        .outerjoin(survivor, survivor.id == FourInOneCase.merged_into_id)
        .where(
            or_(
                and_(~merged, FourInOneCase.status.in_(ENDED_CASES)),
                and_(merged, survivor.status.in_(ENDED_CASES)),
            ),
            ended_at < cutoff,
            FourInOneCase.anonymised_at.is_(None),
        )
    )


async def _anonymise_cases(session: AsyncSession, keys: list[Any], now: datetime) -> None:
    """The family's contacts and every free text go; who died is forgotten (the identity key
    becomes the case's own number, still unique). Month, status, deadline, handover and the
    documents' ready times stay: they are all the SLA report reads."""
    await session.execute(delete(CaseContact).where(CaseContact.case_id.in_(keys)))
    for model in (CaseEvent, CaseDocument):
        await session.execute(
            update(model)
            .where(model.case_id.in_(keys), model.note.is_not(None))
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(FourInOneCase)
        .where(FourInOneCase.id.in_(keys))
        .values(
            identity_key=literal("anon:") + cast(FourInOneCase.id, String(200)),
            employee_id=None,
            deceased_name="",
            deceased_nip=None,
            deceased_unit=None,
            pensioner_number=None,
            handover_place=None,
            anonymised_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def _guest_accounts(cutoff: datetime) -> Due:
    """Chat accounts of nobody on the roster that have said nothing since the cutoff, follow no
    case (an open case's contacts stay until it closes, and then for their own period) and have
    no delivery left (those go first, into their broadcast's tally)."""
    since = func.coalesce(Account.last_inbound_at, Account.created_at)
    return select(Account.id, since).where(
        Account.employee_id.is_(None),
        Account.reconfirm_employee_id.is_(None),  # an employee's, waiting to confirm again
        since < cutoff,
        ~exists().where(CaseContact.account_id == Account.id),
        ~exists().where(Delivery.account_id == Account.id),
    )


def _codes(model: type[LinkCode] | type[LoginCode], cutoff: datetime) -> Due:
    since = func.coalesce(model.used_at, model.expires_at)
    return select(model.id, since).where(since < cutoff)


def _web_sessions(cutoff: datetime) -> Due:
    # A console session holds the officer's address: gone a while after it ended or expired.
    since = func.coalesce(WebSession.ended_at, WebSession.expires_at)
    return select(WebSession.id, since).where(since < cutoff)


def _audit(cutoff: datetime) -> Due:
    return select(AuditLog.id, AuditLog.at).where(AuditLog.at < cutoff)


# In the order they run: deliveries and closed cases before the accounts they keep.
CATEGORIES: tuple[Category, ...] = (
    Category("dead_letters", "retention_dead_letter_days", _dead_letters),
    Category("inbound_events", "dedup_ttl_seconds", _inbound_events),
    Category("early_statuses", "retention_early_status_days", _early_statuses),
    Category("deliveries", "retention_delivery_days", _deliveries, _tally_and_delete),
    Category("attachments", "retention_attachment_days", _attachments, _drop_attachments),
    Category("case_contacts", "retention_case_contact_days", _closed_cases, _anonymise_cases),
    Category("guest_accounts", "retention_guest_account_days", _guest_accounts),
    Category("link_codes", "retention_link_code_days", lambda cutoff: _codes(LinkCode, cutoff)),
    Category("login_codes", "retention_login_code_days", lambda cutoff: _codes(LoginCode, cutoff)),
    Category("web_sessions", "retention_login_code_days", _web_sessions),
    Category("audit_log", "retention_audit_days", _audit),
)
DELETERS: dict[str, Act] = {
    "dead_letters": _deleting(WebhookDeadLetter),
    "inbound_events": _deleting(InboundEvent),
    "early_statuses": _deleting(EarlyStatus),
    "guest_accounts": _deleting(Account),
    "link_codes": _deleting(LinkCode),
    "login_codes": _deleting(LoginCode),
    "web_sessions": _deleting(WebSession),
    "audit_log": _deleting(AuditLog),
}


def cutoff(category: Category, settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=category.days(settings))


async def survey(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime
) -> list[Finding]:
    """What a run would remove now, per category: how many rows and the oldest one's date."""
    findings = []
    async with sessions() as session:
        for category in CATEGORIES:
            due = category.due(cutoff(category, settings, now))
            rows = due.subquery()
            count, oldest = (
                await session.execute(select(func.count(), func.min(rows.c[1])).select_from(rows))
            ).one()
            findings.append(Finding(category, category.days(settings), int(count), oldest))
    return findings


async def enforce(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
    *,
    actor: str,
    only: Sequence[str] | None = None,
) -> dict[str, int]:
    """Remove (or anonymise) everything past its limit, one batch per transaction; the count per
    category, also written to the audit log (counts only, never what was removed)."""
    done: dict[str, int] = {}
    for category in CATEGORIES:
        if only is not None and category.name not in only:
            continue
        act = category.act or DELETERS[category.name]
        due = category.due(cutoff(category, settings, now))
        rows = due.subquery()
        batch = select(rows.c[0]).order_by(rows.c[0]).limit(settings.retention_batch)
        keys: list[Any] = []
        while True:
            # Each batch starts past the last one's keys: the primary key index is walked once,
            # not scanned again from the start for every batch.
            after = batch.where(rows.c[0] > keys[-1]) if keys else batch
            async with sessions() as session, session.begin():
                keys = list(await session.scalars(after))
                if keys:
                    await act(session, keys, now)
            done[category.name] = done.get(category.name, 0) + len(keys)
            if len(keys) < settings.retention_batch:
                break
    removed = {name: count for name, count in done.items() if count}
    if removed:
        async with sessions() as session, session.begin():
            audit.record(
                session, actor=actor, action="retention.run", agency_id=None, counts=removed
            )
    return removed


async def job(app: Any, now: datetime) -> None:
    """The periodic run (bot/jobs.py)."""
    await enforce(app.sessions, app.settings, now, actor="job:retention")
