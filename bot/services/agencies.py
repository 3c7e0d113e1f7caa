"""Agencies (instansi): every row of people data hangs under one, so a province can host cities."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from storage.models import Agency


async def ensure_default_agency(session: AsyncSession, settings: Settings) -> Agency:
    agency = await session.scalar(select(Agency).where(Agency.code == settings.agency_code))
    if agency is None:
        agency = Agency(
            code=settings.agency_code, name=settings.agency_name, timezone=settings.agency_timezone
        )
        session.add(agency)
        await session.flush()
    return agency


async def agency_by_code(session: AsyncSession, code: str) -> Agency | None:
    return await session.scalar(select(Agency).where(Agency.code == code))
