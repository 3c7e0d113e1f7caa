"""The HR web console under test: the real aiohttp application (console mounted under /hr/ beside
health, as `abdi serve` runs it) behind aiohttp's test client, and signing in the way an officer
does: NIP, then the code Abdi sends to their linked chat account (read from that message)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import App
from bot.hr_web.app import mount
from bot.web import application
from storage.models import Account, Delivery, Employee

HR_NIP = "198412052009031034"  # Fajar, HR in the demo office
OFFICER_NIP = "197405171997042035"  # Lestari, 4-in-1 desk officer
ASN_NIP = "199803132020012001"  # Mega, no console role
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@contextlib.asynccontextmanager
async def console_client(app: App) -> AsyncIterator[TestClient]:
    web_app = application(app)
    mount(web_app, app)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def linked_account(app: App, nip: str, channel: str = "telegram") -> Account:
    """The employee's chat account on `channel` (created, as linking would leave it)."""
    async with app.sessions() as session, session.begin():
        employee = await session.scalar(select(Employee).where(Employee.nip == nip))
        assert employee is not None, nip
        account = await session.scalar(
            select(Account).where(Account.employee_id == employee.id, Account.channel == channel)
        )
        if account is None:
            account = Account(
                agency_id=employee.agency_id,
                channel=channel,
                user_ref=f"{channel}-{nip}",
                chat_ref=f"{channel}-{nip}",
                employee_id=employee.id,
                notice_version=app.dispatcher.notices.version,
                notice_seen_at=datetime.now(UTC),
            )
            session.add(account)
            await session.flush()
        return account


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sent_code(app: App, account_id: int) -> str | None:
    """The code in the newest sign-in message recorded for a chat account."""
    async with app.sessions() as session:
        row = await session.scalar(
            select(Delivery)
            .where(Delivery.account_id == account_id, Delivery.source == "web_login")
            .order_by(Delivery.id.desc())
            .limit(1)
        )
        return None if row is None else str(row.params["code"])


async def ask_code(client: TestClient, nip: str) -> ClientResponse:
    page = await client.get("/hr/login")
    return await client.post(
        "/hr/login", data={"csrf": csrf_of(await page.text()), "nip": nip, "next": "/hr/"}
    )


async def sign_in(client: TestClient, app: App, nip: str = HR_NIP) -> str:
    """Sign `nip` in through the login pages; returns the CSRF token of the session's pages."""
    account = await linked_account(app, nip)
    asked = await ask_code(client, nip)
    code = await sent_code(app, account.id)
    assert code, "no code was sent to the officer's chat"
    done = await client.post(
        "/hr/login/code",
        data={"csrf": csrf_of(await asked.text()), "nip": nip, "code": code, "next": "/hr/"},
        allow_redirects=False,
    )
    assert done.status == 303, await done.text()
    home = await client.get("/hr/")
    return csrf_of(await home.text())
