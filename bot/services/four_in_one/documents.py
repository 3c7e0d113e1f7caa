"""The four documents: officers move them, the case's stage follows, the family is told; the
handover, the family's receipt, cancelling a case and a new tracking code."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.four_in_one.deadline import when_text
from bot.services.four_in_one.events import notify_family, record_event
from bot.services.four_in_one.parsing import hash_code, new_code
from bot.services.four_in_one.rules import (
    DOCUMENTS,
    LIVE,
    NAME_LIMIT,
    NOTE_LIMIT,
    READY,
    STATUSES,
    CaseError,
    CaseRefused,
    may_update,
)
from storage.models import Agency, CaseEvent, FourInOneCase
from storage.statuses import CaseStatus, DocumentStatus


async def set_document(
    session: AsyncSession,
    case: FourInOneCase,
    kind: str,
    status: DocumentStatus | str,
    *,
    actor: str,
    roles: set[str],
    zone: str,
    note: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Move one document to a status; the family hears of it. False when nothing changed."""
    now = now or datetime.now(UTC)
    if case.status not in LIVE:
        raise CaseRefused(CaseError.CLOSED)
    if kind not in DOCUMENTS or status not in STATUSES:
        raise CaseRefused(CaseError.BAD_STATUS)
    status = DocumentStatus(status)  # typed as it is stored from here on
    if not may_update(roles, kind):
        raise CaseRefused(CaseError.NOT_OWNER)
    doc = next(d for d in case.documents if d.kind == kind)
    note = (note or "").strip()[:NOTE_LIMIT] or None
    if doc.status == status and (note is None or note == doc.note):
        return False
    before = doc.status
    doc.status, doc.updated_at, doc.updated_by = status, now, actor
    if note is not None:
        doc.note = note
    elif status != before:
        doc.note = None  # a note belongs to the status it explained
    if status in READY and doc.ready_at is None:
        doc.ready_at = now
    elif status not in READY:
        doc.ready_at = None
    record_event(
        session, case, "status", actor, now,
        document_kind=kind, from_status=before, to_status=status, note=note,
    )  # fmt: skip
    await notify_family(
        session,
        case,
        "four_in_one.notify.status",
        lambda t, trusted_: {
            "number": case.id,
            "doc": t(f"four_in_one.doc.{kind}"),
            "status": t(f"four_in_one.status.{status}"),
            "note": f"\n📝 {note}" if note and trusted_ else "",
        },
    )
    await session.flush()
    await sync_status(session, case, actor, now, zone=zone)
    return True


async def sync_status(
    session: AsyncSession, case: FourInOneCase, actor: str, now: datetime, zone: str | None = None
) -> None:
    """Derive the case's stage from its documents and tell the family when all four are ready."""
    statuses = [d.status for d in case.documents]
    all_ready = bool(statuses) and all(s in READY for s in statuses)
    if all(s == DocumentStatus.HANDED_OVER for s in statuses) and case.handed_over_at is None:
        case.handed_over_at = now
    if all_ready and case.status == CaseStatus.OPEN:
        case.status = CaseStatus.READY
        case.all_ready_at = now
        if case.handover_at is None:
            case.handover_at = case.deadline_at if case.deadline_at > now else None
        rounds = await session.scalar(
            select(func.count()).where(CaseEvent.case_id == case.id, CaseEvent.kind == "ready")
        )
        record_event(session, case, "ready", actor, now)
        if zone is None:
            agency = await session.get(Agency, case.agency_id)
            assert agency is not None  # a foreign key: the case's agency exists
            zone = agency.timezone
        await _notify_all_ready(session, case, zone, f"case:{case.id}:ready{rounds}")
    elif not all_ready and case.status == CaseStatus.READY:
        case.status = CaseStatus.OPEN
        case.handed_over_at = None
    await session.flush()


async def _notify_all_ready(
    session: AsyncSession, case: FourInOneCase, zone: str, dedup: str
) -> None:
    when = case.handover_at
    await notify_family(
        session,
        case,
        "four_in_one.notify.all_ready" if when else "four_in_one.notify.all_ready_call",
        lambda t, _trusted: {
            "number": case.id,
            "when": when_text(t, when, zone) if when else "",
            "place": case.handover_place or "-",
        },
        dedup=dedup,
        plain_key="four_in_one.notify.all_ready_plain",
    )


async def set_handover(
    session: AsyncSession,
    case: FourInOneCase,
    *,
    at: datetime | None,
    place: str | None,
    actor: str,
    zone: str,
    now: datetime | None = None,
) -> None:
    """Officers fix when and where the documents are handed over; a ready case's family is told."""
    now = now or datetime.now(UTC)
    if case.status not in LIVE:
        raise CaseRefused(CaseError.CLOSED)
    if at is not None and at < now:
        raise CaseRefused(CaseError.PAST)
    if at is not None:
        case.handover_at = at
    if place:
        case.handover_place = place.strip()[:NAME_LIMIT]
    record_event(session, case, "handover", actor, now, note=case.handover_place)
    if case.status == CaseStatus.READY:
        stamp = int(now.timestamp())
        await _notify_all_ready(session, case, zone, f"case:{case.id}:handover{stamp}")
    await session.flush()


async def confirm_receipt(
    session: AsyncSession, case: FourInOneCase, actor: str, now: datetime | None = None
) -> None:
    """The family (or an officer for them) says the four documents were received: everything is
    handed over, the case closes. Callers check who may say so (`trusted`, desk roles)."""
    now = now or datetime.now(UTC)
    if case.status == CaseStatus.CLOSED:
        return
    if case.status != CaseStatus.READY:
        raise CaseRefused(CaseError.NOT_READY)
    for doc in case.documents:
        if doc.status != DocumentStatus.HANDED_OVER:
            record_event(
                session, case, "status", actor, now,
                document_kind=doc.kind, from_status=doc.status,
                to_status=DocumentStatus.HANDED_OVER,
            )  # fmt: skip
            doc.status, doc.updated_at, doc.updated_by = DocumentStatus.HANDED_OVER, now, actor
    if case.handed_over_at is None:
        case.handed_over_at = now
    case.status, case.closed_at = CaseStatus.CLOSED, now
    record_event(session, case, "received", actor, now)
    await session.flush()


async def cancel_case(
    session: AsyncSession,
    case: FourInOneCase,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> None:
    """An officer closes a bogus or mistaken case. The family is not messaged, escalation and the
    report's overdue count skip it, and a later correct report of the death opens afresh."""
    now = now or datetime.now(UTC)
    if case.status not in LIVE:
        raise CaseRefused(CaseError.CLOSED)
    reason = " ".join(reason.split())[:NOTE_LIMIT]
    case.status, case.closed_at = CaseStatus.CANCELLED, now
    case.identity_key = f"cancelled:{case.id}"
    record_event(session, case, "cancelled", actor, now, note=reason)
    audit.record(
        session,
        actor=actor,
        action="case.cancel",
        agency_id=case.agency_id,
        target=f"case:{case.id}",
        reason=reason,
    )
    await session.flush()


async def reissue_code(session: AsyncSession, case: FourInOneCase, actor: str) -> str:
    """A new tracking code for an officer-opened case (the paper one was lost or shared too
    widely): the old code stops working at once; chats already following keep following."""
    if case.status not in LIVE or case.opened_via != "officer":
        raise CaseRefused(CaseError.CLOSED)
    code = new_code()
    case.tracking_hash = hash_code(code)
    record_event(session, case, "code", actor, datetime.now(UTC))
    audit.record(
        session, actor=actor, action="case.code", agency_id=case.agency_id, target=f"case:{case.id}"
    )
    await session.flush()
    return code
