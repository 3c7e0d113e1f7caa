"""Periodic work of 4-in-1: warn about cases at risk of missing the third night, in every agency.

Each warning level fires once per case however many processes run this (see escalate_due).
A plain async job; `bot/jobs.py` lists it with its interval.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.services import four_in_one
from bot.services.four_in_one import satisfaction
from storage.models import Agency


async def escalate(app: Any, now: datetime) -> None:
    async with app.sessions() as session:
        agency_ids = list(await session.scalars(select(Agency.id)))
    for agency_id in agency_ids:  # one transaction per agency: one bad agency does not block all
        async with app.sessions() as session, session.begin():
            agency = await session.get(Agency, agency_id)
            if agency is not None:
                await four_in_one.escalate_due(session, agency, now)


async def ask_satisfaction(app: Any, now: datetime) -> None:
    """The day-after satisfaction question to families who confirmed receipt (each case once)."""
    async with app.sessions() as session, session.begin():
        await satisfaction.ask_due(session, now)
