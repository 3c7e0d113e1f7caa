"""Shared helpers for the rating and standings tests: demo people, linking, seeding ratings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import App
from bot.services import periods
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import scheme_from
from storage.models import Agency, Employee, RatingPeriod

# Demo roster rows (bot/demo/roster.csv): the phone of row N is 0812000000NN.
MEGA, RINA, DEWI, JOKO_S, JOKO_K, WULAN, SRI = 1, 2, 3, 4, 6, 8, 10
FAJAR_HR = 34


def phone(row: int) -> str:
    return f"0812000000{row:02d}"


async def linked(chat, row: int, **kwargs: object):
    user = chat(f"77{row:04d}", **kwargs)
    await user.send("/hubungkan")
    await user.share_contact(phone(row))
    assert "berhasil terhubung" in user.text or "linked" in user.text.lower(), user.text
    return user


async def employee_ids(app: App) -> dict[int, int]:
    """Demo row number -> employee id (rows are imported in order)."""
    async with app.sessions() as session:
        rows = await session.execute(select(Employee.phone, Employee.id))
        return {int(p[-2:]): i for p, i in rows.all() if p}


async def open_quarter(app: App, ref: QuarterRef | None = None) -> int:
    ref = ref or QuarterRef(2025, 1)
    async with app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        assert agency is not None
        period = await periods.open_quarter(
            session,
            agency,
            ref,
            scheme_from(),
            "test",
            closes_at=datetime.now(UTC) + timedelta(days=30),
        )
        return period.id


async def get_period(app: App, period_id: int) -> RatingPeriod:
    async with app.sessions() as session:
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        return period
