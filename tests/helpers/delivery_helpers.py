"""Shared helpers for the delivery and broadcast tests: linked accounts, a Telegram sender on the
fake Bot API, and draining until nothing is left to send."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy import func, select

from bot.app import App
from bot.channels.telegram_outbound import TelegramSender
from bot.drain import drain_once
from bot.senders import ChannelSender
from bot.services.broadcasting import broadcasts
from bot.services.broadcasting.audiences import Audience
from bot.services.rate_limit import Limiter, MemoryLimiter
from storage.models import Account, Agency, Delivery, Employee
from tests.fakes.fake_bot_api import TOKEN, FakeBotAPI

CHAT_BASE = 500_000


async def link_all(app: App, channel: str = "telegram", limit: int | None = None) -> dict[int, int]:
    """Give the first `limit` demo employees a chat account; employee id -> chat id."""
    linked: dict[int, int] = {}
    async with app.sessions() as session, session.begin():
        employees = list(await session.scalars(select(Employee).order_by(Employee.id).limit(limit)))
        taken = set(
            await session.scalars(select(Account.employee_id).where(Account.channel == channel))
        )
        for employee in employees:
            if employee.id in taken:
                continue
            chat = CHAT_BASE + employee.id
            session.add(
                Account(
                    agency_id=employee.agency_id,
                    channel=channel,
                    user_ref=str(chat),
                    chat_ref=str(chat),
                    employee_id=employee.id,
                )
            )
            linked[employee.id] = chat
    return linked


def telegram_sender(
    app: App, api: FakeBotAPI, rate: float = 1000, interval: float = 0
) -> ChannelSender:
    settings = app.settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "telegram_api_base": api.base,
            "telegram_broadcast_rate": rate,
            "telegram_chat_interval": interval,
        }
    )
    return TelegramSender.from_settings(settings)


async def send_now(app: App, audience: Audience, text: str = "Apel pagi jam 07.30") -> int:
    async with app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        assert agency is not None
        broadcast = await broadcasts.create(session, agency, audience, actor="test", text=text)
        await broadcasts.release(session, broadcast, datetime.now(UTC))
        return broadcast.id


async def open_rows(app: App) -> int:
    async with app.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).where(Delivery.status.in_(["pending", "sending"]))
            )
            or 0
        )


async def drain_all(
    app: App, senders: dict[str, ChannelSender], limiter: Limiter | None = None, rounds: int = 60
) -> None:
    """Drain, waiting out retry_after and backoff, until no row is pending (bounded)."""
    limiter = limiter or MemoryLimiter()
    for _ in range(rounds):
        await drain_once(app, senders, limiter=limiter)
        if await open_rows(app) == 0:
            return
        await asyncio.sleep(0.5)
    raise AssertionError("deliveries still open after draining")


async def statuses(app: App, broadcast_id: int | None = None) -> dict[int, str]:
    """account id -> delivery status."""
    async with app.sessions() as session:
        query = select(Delivery.account_id, Delivery.status)
        if broadcast_id is not None:
            query = query.where(Delivery.broadcast_id == broadcast_id)
        return {a: s for a, s in (await session.execute(query)).all()}


async def add_staff(app: App, count: int, chat_base: int = 1_000_000) -> list[int]:
    """`count` more linked employees in bulk (for load tests and the benchmark); their chat ids."""
    from sqlalchemy import insert

    from storage.models import Unit

    async with app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        unit = await session.scalar(select(Unit))
        assert agency is not None and unit is not None
        offset = int(await session.scalar(select(func.count()).select_from(Employee)) or 0)
        nips = [f"9{offset + n:017d}" for n in range(count)]
        for first in range(0, count, 5000):
            await session.execute(
                insert(Employee),
                [
                    {
                        "agency_id": agency.id,
                        "nip": nip,
                        "name": f"Pegawai {nip[-6:]}",
                        "unit_id": unit.id,
                        "kind": "PNS",
                    }
                    for nip in nips[first : first + 5000]
                ],
            )
        wanted = set(nips)
        rows = await session.execute(
            select(Employee.id, Employee.nip).where(Employee.nip >= nips[0])
        )
        ids = sorted(i for i, nip in rows.all() if nip in wanted)
        for first in range(0, count, 5000):
            await session.execute(
                insert(Account),
                [
                    {
                        "agency_id": agency.id,
                        "channel": "telegram",
                        "user_ref": str(chat_base + i),
                        "chat_ref": str(chat_base + i),
                        "employee_id": i,
                    }
                    for i in ids[first : first + 5000]
                ],
            )
    return [chat_base + i for i in ids]
