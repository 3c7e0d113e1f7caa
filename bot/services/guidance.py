"""Media-ethics guidance: content files (topics, search and checker word lists) and acks.

The content lives in locales/<lang>/guidance/ as TOML so that HR can edit it without touching
code: topics/<id>.toml (one per topic per language), search.toml (synonyms, stop words,
relevance threshold) and checker.toml (the self-check rules). The running bot notices edited
files by their modification time and reloads them; a broken edit is logged and the last good
content stays in service, so a typo never takes the guidance offline.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.i18n import LOCALES, LOCALES_DIR
from bot.services import audit
from bot.services.guidance_content import (
    MAX_PAGE_CHARS,
    Content,
    ContentError,
    Topic,
    load,
    render_pages,
)
from bot.services.guidance_search import GuidanceIndex
from bot.services.reloading import Reloading
from storage.models import Account, Employee, GuidanceAck, GuidanceRequirement, Unit, utcnow

log = logging.getLogger("abdi.guidance")

# --- the live library -------------------------------------------------------------------------


class Library:
    """The current content and its search index, reloaded when the files change on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._content = Reloading(self._files, lambda: load(root), ContentError, _not_reloaded)
        self._index: GuidanceIndex | None = None

    def _files(self) -> Iterable[Path]:
        for lang in LOCALES:
            yield from sorted((self.root / lang / "guidance").rglob("*.toml"))

    def content(self) -> Content:
        return self._content.current()

    def reload(self) -> Content:
        """Load now (an HR action); ContentError when the files on disk are broken."""
        return self._content.reload()

    def index(self) -> GuidanceIndex:
        content = self.content()
        index = self._index
        if index is None or index.content is not content:
            index = GuidanceIndex(content)
            self._index = index
        return index


def _not_reloaded(exc: Exception) -> None:
    # Keep serving the last good content; HR sees the problems on `abdi guidance validate`.
    problems = exc.problems[:10] if isinstance(exc, ContentError) else [str(exc)]
    log.error("guidance content not reloaded", extra={"problems": problems})


_library = Library(LOCALES_DIR)


def library() -> Library:
    return _library


def use_root(root: Path) -> Library:
    """Serve the guidance from another directory (tests; a deployment's own content)."""
    global _library
    _library = Library(root)
    return _library


# --- requirements and acknowledgements --------------------------------------------------------


async def required_topics(session: AsyncSession, agency_id: int) -> list[str]:
    rows = await session.scalars(
        select(GuidanceRequirement.topic).where(
            GuidanceRequirement.agency_id == agency_id, GuidanceRequirement.active.is_(True)
        )
    )
    return sorted(rows)


async def set_required(
    session: AsyncSession, agency_id: int, topic: str, *, required: bool, actor: str
) -> bool:
    """Require (or stop requiring) acknowledgement of a topic; True when something changed."""
    row = await session.scalar(
        select(GuidanceRequirement).where(
            GuidanceRequirement.agency_id == agency_id, GuidanceRequirement.topic == topic
        )
    )
    if row is not None and row.active == required:
        return False
    if row is None:
        if not required:
            return False
        row = GuidanceRequirement(agency_id=agency_id, topic=topic)
        session.add(row)
    row.active = required
    row.changed_by = actor
    row.changed_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="guidance.require" if required else "guidance.unrequire",
        agency_id=agency_id,
        target=f"guidance:{topic}",
    )
    return True


def _acked_current(versions: dict[str, int]) -> Any:
    """SQL condition: an ack row is for the topic's current version (older versions don't count)."""
    if not versions:
        return GuidanceAck.id.is_(None)
    return or_(
        *(and_(GuidanceAck.topic == t, GuidanceAck.version == v) for t, v in versions.items())
    )


def _unconfirmed(employee_id: Any, agency_id: Any, versions: dict[str, int]) -> list[Any]:
    """SQL conditions on a requirement: the employee has still to confirm its current version."""
    acked = (
        select(GuidanceAck.id)
        .where(
            GuidanceAck.employee_id == employee_id,
            GuidanceAck.topic == GuidanceRequirement.topic,
            _acked_current(versions),
        )
        .exists()
    )
    return [
        GuidanceRequirement.agency_id == agency_id,
        GuidanceRequirement.active.is_(True),
        # Plain parameters, not an expanding IN list: that one is rendered into the statement's
        # text on every execution of the account query this is part of.
        GuidanceRequirement.topic.in_([literal(t, String()) for t in versions]),
        ~acked,
    ]


async def pending_topics(
    session: AsyncSession, employee: Employee, versions: dict[str, int]
) -> list[str]:
    """Required topics this employee has not confirmed in their current version (one query)."""
    rows = await session.scalars(
        select(GuidanceRequirement.topic).where(
            *_unconfirmed(employee.id, employee.agency_id, versions)
        )
    )
    order = list(versions)
    return sorted(rows, key=order.index)


def confirmation_due(versions: dict[str, int]) -> ColumnElement[bool]:
    """SQL condition on an `Account` row: its employee is active and has a required topic
    unconfirmed in its current version (what `pending_topics` lists)."""
    return _confirmation_due(tuple(versions.items()))


@functools.lru_cache(maxsize=4)
def _confirmation_due(items: tuple[tuple[str, int], ...]) -> ColumnElement[bool]:
    # Built once per content version (a statement is reusable; building one takes longer than
    # running it), so the dispatcher can keep the account query it is part of.
    versions = dict(items)
    employee = aliased(Employee)
    return (
        select(GuidanceRequirement.id)
        .join(employee, employee.agency_id == GuidanceRequirement.agency_id)
        .where(
            employee.id == Account.employee_id,
            employee.status == "active",
            *_unconfirmed(employee.id, employee.agency_id, versions),
        )
        .exists()
    )


async def acknowledge(
    session: AsyncSession, employee: Employee, topic: str, version: int, channel: str
) -> GuidanceAck:
    """Record that the employee confirmed this topic version; a second confirmation is a no-op."""
    existing = await session.scalar(
        select(GuidanceAck).where(
            GuidanceAck.employee_id == employee.id,
            GuidanceAck.topic == topic,
            GuidanceAck.version == version,
        )
    )
    if existing is not None:
        return existing
    ack = GuidanceAck(
        agency_id=employee.agency_id,
        employee_id=employee.id,
        topic=topic,
        version=version,
        channel=channel,
    )
    async with session.begin_nested():  # a double tap racing itself meets the unique constraint
        session.add(ack)
    return ack


@dataclass(frozen=True)
class UnitRate:
    unit: str
    confirmed: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.confirmed / self.total) if self.total else 0


async def ack_rates(
    session: AsyncSession, agency_id: int, topic: str, version: int
) -> list[UnitRate]:
    """Per unit: active employees who confirmed this topic version, out of all active employees."""
    confirmed = func.count(GuidanceAck.id)
    rows = await session.execute(
        select(Unit.name, confirmed, func.count(Employee.id))
        .join(Employee, Employee.unit_id == Unit.id)
        .outerjoin(
            GuidanceAck,
            and_(
                GuidanceAck.employee_id == Employee.id,
                GuidanceAck.topic == topic,
                GuidanceAck.version == version,
            ),
        )
        .where(Unit.agency_id == agency_id, Employee.status == "active")
        .group_by(Unit.name)
        .order_by(Unit.name)
    )
    return [UnitRate(name, int(done), int(total)) for name, done, total in rows]


async def unconfirmed_employee_ids(
    session: AsyncSession, agency_id: int, topic: str, version: int
) -> list[int]:
    """Active employees yet to confirm a topic version: the audience of a reminder broadcast."""
    acked = (
        select(GuidanceAck.id)
        .where(
            GuidanceAck.employee_id == Employee.id,
            GuidanceAck.topic == topic,
            GuidanceAck.version == version,
        )
        .exists()
    )
    rows = await session.scalars(
        select(Employee.id).where(
            Employee.agency_id == agency_id, Employee.status == "active", ~acked
        )
    )
    return list(rows)


# The content types and readers are used through this module too: one import for callers.
__all__ = [
    "MAX_PAGE_CHARS",
    "Content",
    "ContentError",
    "GuidanceIndex",
    "Library",
    "Topic",
    "UnitRate",
    "ack_rates",
    "acknowledge",
    "confirmation_due",
    "library",
    "load",
    "pending_topics",
    "render_pages",
    "required_topics",
    "set_required",
    "unconfirmed_employee_ids",
    "use_root",
]
