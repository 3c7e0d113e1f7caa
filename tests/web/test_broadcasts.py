"""The console's broadcasts page: compose with a live count, preview as Telegram and WhatsApp show
it, confirm through the chat's own service; live progress, failures and the CSV of those not
reached, cancelling after a confirmation; CSRF, roles and other agencies' ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot import jobs
from bot.app import App
from bot.hr_web.broadcast_compose import UPLOAD_LIMIT
from bot.i18n import translator
from bot.messages import Channel
from bot.services.broadcasting import audiences, broadcasts
from bot.services.broadcasting.audiences import Audience
from storage.models import Agency, AuditLog, Broadcast, Delivery, Employee, Unit
from tests.fakes.chat import Chat
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.helpers.delivery_helpers import drain_all, link_all, open_rows, telegram_sender
from tests.helpers.rating_helpers import FAJAR_HR, linked
from tests.helpers.web_helpers import HR_NIP, OFFICER_NIP, console_client, sign_in

TEXT = "Apel pagi Senin pukul 07.30 di halaman balai kota."
DRAFT = re.compile(r'name="draft" value="([^"]+)"')
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def hr_chat(app: App) -> Chat:
    """HR in chat (Telegram, linked by phone as people do), then everyone linked on Telegram."""
    hr = await linked(lambda ref, **kw: Chat(app, ref, **kw), FAJAR_HR, channel=Channel.TELEGRAM)
    await link_all(app)
    return hr


async def unit_id(app: App, name: str = "Dinas Kesehatan") -> int:
    async with app.sessions() as session:
        found = await session.scalar(select(Unit.id).where(Unit.name == name))
    assert found is not None
    return found


def compose_form(csrf: str, **fields: object) -> dict[str, object]:
    form: dict[str, object] = {"csrf": csrf, "text": TEXT, "audience": "everyone"}
    form.update(fields)
    return form


async def preview(client: TestClient, form: dict[str, object] | FormData) -> tuple[int, str]:
    answer = await client.post("/hr/broadcasts/new", data=form)
    return answer.status, await answer.text()


async def send_from_page(client: TestClient, csrf: str, **fields: object) -> int:
    """Compose, preview and confirm on the page; the new broadcast's id."""
    status, page = await preview(client, compose_form(csrf, **fields))
    assert status == 200, page
    token = DRAFT.search(page)
    assert token, page
    done = await client.post(
        "/hr/broadcasts/confirm",
        data={"csrf": csrf, "draft": token.group(1)},
        allow_redirects=False,
    )
    assert done.status == 303, await done.text()
    found = re.match(r"/hr/broadcasts/(\d+)\?done=", done.headers["Location"])
    assert found, done.headers["Location"]
    return int(found.group(1))


async def broadcast_count(app: App) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Broadcast)) or 0)


async def recipients_of(app: App, broadcast_id: int) -> set[int]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(Delivery.account_id).where(Delivery.broadcast_id == broadcast_id)
        )
        return set(rows)


async def test_a_broadcast_from_the_page_is_the_one_chat_makes_and_reaches_the_chats(
    demo_app: App, bot_api: FakeBotAPI
) -> None:
    hr = await hr_chat(demo_app)
    unit = await unit_id(demo_app)
    # The chat's flow: a unit, send now, confirm.
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    await hr.send(TEXT)
    await hr.press("Unit tertentu")
    await hr.press("Dinas Kesehatan")
    await hr.press("Selesai")
    await hr.press("Kirim sekarang")
    await hr.press("Ya, kirim")
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, HR_NIP)
        # The live count is the audience service's own count.
        async with demo_app.sessions() as session:
            agency = await session.scalar(select(Agency))
            assert agency is not None
            size = await audiences.size(
                session, agency, Audience(audiences.UNITS, (unit,)), datetime.now(UTC)
            )
        counted = await client.get(f"/hr/broadcasts/count?audience=units&unit={unit}")
        assert counted.status == 200
        assert f"{size.employees} ASN, {size.reachable} bisa dihubungi" in await counted.text()
        # The preview shows the message as each channel will.
        status, page = await preview(client, compose_form(csrf, audience="units", unit=str(unit)))
        assert status == 200
        assert page.count(f"📢 {TEXT}") >= 3  # Telegram, WhatsApp, WhatsApp's template
        assert "Unit: Dinas Kesehatan" in page
        web_id = await send_from_page(client, csrf, audience="units", unit=str(unit))
        async with demo_app.sessions() as session:
            made = {
                b.id: b for b in await session.scalars(select(Broadcast).order_by(Broadcast.id))
            }
        chat_made, web_made = made[min(made)], made[web_id]
        assert web_id != chat_made.id
        for field in ("text", "audience", "kind", "status", "recipients", "ack_requested"):
            assert getattr(web_made, field) == getattr(chat_made, field), field
        assert web_made.recipients == size.employees
        assert await recipients_of(demo_app, web_id) == await recipients_of(
            demo_app, chat_made.id
        )
        assert len(await recipients_of(demo_app, web_id)) == size.reachable
        # The chat's broadcast is on the page, still going out: the progress keeps asking.
        listing = await (await client.get("/hr/broadcasts")).text()
        assert f'href="/hr/broadcasts/{chat_made.id}"' in listing
        assert f'href="/hr/broadcasts/{web_id}"' in listing
        live = await (await client.get(f"/hr/broadcasts/{chat_made.id}/progress")).text()
        assert 'hx-trigger="every 2s"' in live and f"0 dari {size.reachable} pesan" in live

        sender = telegram_sender(demo_app, bot_api)
        try:
            await drain_all(demo_app, {"telegram": sender})
        finally:
            await sender.close()

        # All sent: the fragment shows it and stops polling; the job then says it is done.
        done = await (await client.get(f"/hr/broadcasts/{chat_made.id}/progress")).text()
        assert "hx-trigger" not in done
        assert f"{size.reachable} dari {size.reachable} pesan" in done
        await jobs.run_due(demo_app, names=["broadcast.progress"])
        page_after = await (await client.get(f"/hr/broadcasts/{web_id}")).text()
        assert "selesai" in page_after
    async with demo_app.sessions() as session:
        members = set(await session.scalars(select(Employee.id).where(Employee.unit_id == unit)))
    texts = [
        (int(c.params["chat_id"]), c.params["text"])
        for c in bot_api.accepted
        if c.method == "sendMessage"
    ]
    got = sorted(chat for chat, text in texts if text == f"📢 {TEXT}")
    assert len(got) == 2 * len(members)  # each member once per broadcast
    async with demo_app.sessions() as session:
        created = list(
            await session.scalars(
                select(AuditLog).where(AuditLog.action == "broadcast.create").order_by(AuditLog.id)
            )
        )
    assert len(created) == 2 and created[1].target == f"broadcast:{web_id}"
    assert created[0].actor == created[1].actor  # the same HR officer, in chat and on the page
