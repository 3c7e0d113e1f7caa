"""Closing a case at the desk (the family received the four documents there) and undoing a
closing made by mistake: one rule for the chat's desk and the web console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.four_in_one.documents import confirm_receipt
from bot.services.four_in_one.events import record_event
from storage.models import FourInOneCase
from storage.statuses import CaseStatus, DocumentStatus

REOPEN_WINDOW = timedelta(days=1)  # a closing can be undone for this long


def aware(at: datetime | None) -> datetime | None:
    """A stored moment with its zone (SQLite gives naive UTC back)."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def reopenable(case: FourInOneCase, now: datetime | None = None) -> bool:
    closed = aware(case.closed_at)
    return (
        case.status == CaseStatus.CLOSED
        and closed is not None
        and (now or datetime.now(UTC)) - closed <= REOPEN_WINDOW
    )


async def close_at_desk(session: AsyncSession, case: FourInOneCase, actor: str) -> None:
    """An officer records that the family received the four documents at the desk."""
    await confirm_receipt(session, case, actor)
    audit.record(
        session,
        actor=actor,
        action="case.received",
        agency_id=case.agency_id,
        target=f"case:{case.id}",
    )


async def reopen(
    session: AsyncSession, case: FourInOneCase, actor: str, now: datetime | None = None
) -> None:
    """A case closed by mistake goes back to "ready": the documents the closing marked handed
    over are ready again, and the history and the audit log say who undid it. Callers check
    `reopenable` first."""
    now = now or datetime.now(UTC)
    closed = aware(case.closed_at)
    for doc in case.documents:
        if doc.status == DocumentStatus.HANDED_OVER and aware(doc.updated_at) == closed:
            record_event(
                session, case, "status", actor, now, document_kind=doc.kind,
                from_status=DocumentStatus.HANDED_OVER, to_status=DocumentStatus.READY,
                note="reopened",
            )  # fmt: skip
            doc.status, doc.updated_at, doc.updated_by = DocumentStatus.READY, now, actor
    if aware(case.handed_over_at) == closed:
        case.handed_over_at = None
    case.status, case.closed_at = CaseStatus.READY, None
    record_event(session, case, "reopened", actor, now)
    audit.record(
        session, actor=actor, action="case.reopen", agency_id=case.agency_id,
        target=f"case:{case.id}",
    )  # fmt: skip
    await session.flush()
