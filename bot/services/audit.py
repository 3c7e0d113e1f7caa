"""The audit log: every HR action and every staff read of personal data leaves a row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    agency_id: int | None,
    target: str | None = None,
    **detail: Any,
) -> None:
    """Add an audit row to the caller's unit of work, so it commits or rolls back with it."""
    session.add(
        AuditLog(agency_id=agency_id, actor=actor, action=action, target=target, detail=detail)
    )
