"""Who a broadcast reaches: everyone, units, a role, those who have not rated this quarter, those
who have not confirmed a guidance topic. Each audience is one SQL selectable of employee ids, so a
100,000-person audience is counted and turned into delivery rows inside the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import guidance, periods
from storage.models import (
    Account,
    Agency,
    Employee,
    EmployeeRole,
    GuidanceAck,
    Rating,
    RatingPeriod,
    Unit,
)

EVERYONE, UNITS, ROLE, NOT_RATED, NOT_ACKED = "everyone", "units", "role", "not_rated", "not_acked"
KINDS = (EVERYONE, UNITS, ROLE, NOT_RATED, NOT_ACKED)
ROLES = ("hr", "officer")


class AudienceError(ValueError):
    """An audience that names nothing valid; the value is a message id."""


@dataclass(frozen=True)
class Audience:
    kind: str
    units: tuple[int, ...] = field(default_factory=tuple)
    role: str | None = None
    topic: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise AudienceError("broadcast.error.audience")
        if self.kind == UNITS and not self.units:
            raise AudienceError("broadcast.error.no_units")
        if self.kind == ROLE and self.role not in ROLES:
            raise AudienceError("broadcast.error.audience")
        if self.kind == NOT_ACKED and not self.topic:
            raise AudienceError("broadcast.error.audience")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.units:
            data["units"] = list(self.units)
        if self.role:
            data["role"] = self.role
        if self.topic:
            data["topic"] = self.topic
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(
            str(data.get("kind", "")),
            tuple(int(u) for u in data.get("units", ())),
            data.get("role"),
            data.get("topic"),
        )


# The audiences HR picks by one word (a chat button, a console radio button).
PRESETS = {
    "everyone": Audience(EVERYONE),
    "hr": Audience(ROLE, role="hr"),
    "officer": Audience(ROLE, role="officer"),
    "notrated": Audience(NOT_RATED),
}


async def units_of(session: AsyncSession, agency_id: int) -> list[Unit]:
    """The units HR may address, by name."""
    return list(
        await session.scalars(select(Unit).where(Unit.agency_id == agency_id).order_by(Unit.name))
    )


async def _period_for(session: AsyncSession, agency: Agency, now: datetime) -> RatingPeriod | None:
    """The quarter 'this quarter' means: the open one, else the one the calendar is in."""
    period = await periods.current_open(session, agency.id)
    if period is None:
        period = await periods.get_period(
            session, agency.id, periods.quarter_of(now, ZoneInfo(agency.timezone))
        )
    return period


def _topic_version(topic: str) -> int:
    version = guidance.library().content().versions().get(topic)
    if version is None:
        raise AudienceError("broadcast.error.unknown_topic")
    return version


async def employee_ids(
    session: AsyncSession, agency: Agency, audience: Audience, now: datetime
) -> Select[int]:
    """A selectable of the active employees in the audience."""
    query = select(Employee.id).where(Employee.agency_id == agency.id, Employee.status == "active")
    if audience.kind == UNITS:
        query = query.where(Employee.unit_id.in_(audience.units))
    elif audience.kind == ROLE:
        query = query.where(
            select(EmployeeRole.employee_id)
            .where(EmployeeRole.employee_id == Employee.id, EmployeeRole.role == audience.role)
            .exists()
        )
    elif audience.kind == NOT_RATED:
        period = await _period_for(session, agency, now)
        if period is not None:
            rated = select(Rating.id).where(
                Rating.period_id == period.id, Rating.rater_id == Employee.id
            )
            query = query.where(~rated.exists())
    elif audience.kind == NOT_ACKED:
        assert audience.topic is not None
        version = _topic_version(audience.topic)
        acked = select(GuidanceAck.id).where(
            and_(
                GuidanceAck.employee_id == Employee.id,
                GuidanceAck.topic == audience.topic,
                GuidanceAck.version == version,
            )
        )
        query = query.where(~acked.exists())
    return query


def best_account() -> Any:
    """Per employee, the reachable account they used last: where a message is likely read."""
    return (
        select(Account.id)
        .where(Account.employee_id == Employee.id, Account.reachable.is_(True))
        .order_by(Account.last_inbound_at.desc().nulls_last(), Account.id.desc())
        .limit(1)
        .correlate(Employee)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class Size:
    employees: int
    reachable: int  # with a linked, reachable chat account


async def size(session: AsyncSession, agency: Agency, audience: Audience, now: datetime) -> Size:
    ids = (await employee_ids(session, agency, audience, now)).subquery()
    linked = (
        select(Account.employee_id)
        .where(Account.reachable.is_(True), Account.employee_id.is_not(None))
        .distinct()
        .subquery()
    )
    row = (
        await session.execute(
            select(func.count(ids.c.id), func.count(linked.c.employee_id)).select_from(
                ids.outerjoin(linked, linked.c.employee_id == ids.c.id)
            )
        )
    ).one()
    return Size(int(row[0]), int(row[1]))
