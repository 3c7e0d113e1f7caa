"""The console's broadcasts page: compose with a live count, preview as Telegram and WhatsApp show
it, confirm through the chat's own service; live progress, failures and the CSV of those not
reached, cancelling after a confirmation; CSRF, roles and other agencies' ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot import jobs
from bot.app import App
from bot.hr_web.broadcast_compose import UPLOAD_LIMIT
from bot.i18n import translator
from bot.messages import Channel
from bot.services import office_overview
from bot.services.broadcasting import audiences, broadcasts
from bot.services.broadcasting.audiences import Audience
from storage.models import Agency, AuditLog, Broadcast, Delivery, Employee, Unit
from tests.fakes.chat import Chat
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.helpers.delivery_helpers import drain_all, link_all, send_now, telegram_sender
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


async def pending_of(app: App, broadcast_id: int | None = None) -> int:
    """Broadcast messages still to go out (the sign-in code's message is not one)."""
    query = select(func.count()).where(
        Delivery.broadcast_id.is_not(None), Delivery.status.in_(["pending", "sending"])
    )
    if broadcast_id is not None:
        query = query.where(Delivery.broadcast_id == broadcast_id)
    async with app.sessions() as session:
        return int(await session.scalar(query) or 0)


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
        assert await recipients_of(demo_app, web_id) == await recipients_of(demo_app, chat_made.id)
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
    # Where each came from: the page's row says so, the chat's does not.
    assert created[1].detail["via"] == "web" and "via" not in created[0].detail


async def test_bad_input_gets_the_form_back_with_a_clear_message_and_creates_nothing(
    demo_app: App,
) -> None:
    await link_all(demo_app, limit=5)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, HR_NIP)
        cases = [
            (compose_form(csrf, text="   "), "Isi pesan masih kosong"),
            (compose_form(csrf, text="x" * (broadcasts.MAX_TEXT + 1)), "terlalu panjang"),
            # Telegram counts an emoji as two: under the limit in letters, over it in units.
            (compose_form(csrf, text="😀" * (broadcasts.MAX_TEXT // 2 + 1)), "terlalu panjang"),
            (compose_form(csrf, audience="units"), "Pilih paling sedikit satu unit"),
            (compose_form(csrf, audience="notacked", topic="nope"), "Topik pedoman tidak dikenal"),
            (compose_form(csrf, audience="root"), "Sasaran siaran tidak dikenal"),
            (compose_form(csrf, audience="units", unit="abc"), "Sasaran siaran tidak dikenal"),
            (compose_form(csrf, when="later", date="2020-01-01", time="08:00"), "sudah lewat"),
            (compose_form(csrf, when="later", date="besok", time="08:00"), "tidak terbaca"),
            (compose_form(csrf, when="later", date="", time=""), "tidak terbaca"),
        ]
        for form, message in cases:
            status, page = await preview(client, form)
            assert status == 400, (form, page)
            assert message in page, (form, message)
        # The form comes back as it was typed, the error said where a screen reader finds it.
        status, page = await preview(client, compose_form(csrf, audience="units", text="Rapat"))
        assert ">Rapat</textarea>" in page and 'role="alert"' in page
        # A file that is not a photo or a PDF, and one over the size limit.
        bad = FormData(compose_form(csrf))
        bad.add_field("file", b"MZ\x90\x00 not a pdf", filename="virus.exe")
        status, page = await preview(client, bad)
        assert status == 400 and "foto (JPEG/PNG) atau PDF" in page
        huge = FormData(compose_form(csrf))
        huge.add_field("file", PDF + b"0" * UPLOAD_LIMIT, filename="besar.pdf")
        status, page = await preview(client, huge)
        assert status == 413 and "paling besar 10 MB" in page
        # A confirmation without a previewed draft (forged, expired or sent already).
        stale = await client.post("/hr/broadcasts/confirm", data={"csrf": csrf, "draft": "nope"})
        assert stale.status == 400 and "sudah tidak berlaku" in await stale.text()
    assert await broadcast_count(demo_app) == 0


async def test_a_scheduled_broadcast_with_a_file_waits_and_one_preview_sends_once(
    demo_app: App,
) -> None:
    await link_all(demo_app, limit=5)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, HR_NIP)
        form = FormData(
            compose_form(csrf, when="later", date="2099-01-01", time="08:00", ack="remind")
        )
        form.add_field("file", PDF, filename="edaran.pdf", content_type="application/pdf")
        status, page = await preview(client, form)
        assert status == 200, page
        assert "edaran.pdf" in page and "Kamis, 1 Jan 2099, pukul 08.00 WIB" in page
        assert "Sudah saya baca" in page  # the acknowledgement button, on both channels
        token = DRAFT.search(page)
        assert token
        confirm = {"csrf": csrf, "draft": token.group(1)}
        first = await client.post("/hr/broadcasts/confirm", data=confirm, allow_redirects=False)
        again = await client.post("/hr/broadcasts/confirm", data=confirm, allow_redirects=False)
        assert first.status == 303 and again.status in (303, 400)
        detail = await (await client.get(first.headers["Location"])).text()
        assert "Dijadwalkan: Kamis, 1 Jan 2099, pukul 08.00 WIB" in detail
        assert 'hx-trigger="every 30s"' in detail
    async with demo_app.sessions() as session:
        made = list(await session.scalars(select(Broadcast)))
        assert len(made) == 1
        assert made[0].status == "scheduled" and made[0].attachment == PDF
        assert made[0].send_at.replace(tzinfo=UTC) == datetime(2099, 1, 1, 1, 0, tzinfo=UTC)
        assert made[0].ack_requested and made[0].ack_remind_hours == 24
    assert await pending_of(demo_app) == 0  # nothing goes out before its time


async def test_cancel_asks_first_then_stops_what_is_pending_and_chat_sees_it(
    demo_app: App,
) -> None:
    hr = await hr_chat(demo_app)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, HR_NIP)
        broadcast_id = await send_from_page(client, csrf)
        pending = await pending_of(demo_app, broadcast_id)
        assert pending > 0
        # The chat's report lists the broadcast the page made.
        await hr.send("/menu")
        await hr.press("Meja HR")
        await hr.press("Siaran")
        await hr.press("Laporan siaran")
        assert any(label.startswith(f"#{broadcast_id} Apel pagi") for label in hr.labels)
        asked = await client.get(f"/hr/broadcasts/{broadcast_id}/cancel")
        assert asked.status == 200 and "Ya, batalkan" in await asked.text()
        assert await pending_of(demo_app, broadcast_id) == pending  # asking changed nothing
        done = await client.post(
            f"/hr/broadcasts/{broadcast_id}/cancel", data={"csrf": csrf}, allow_redirects=False
        )
        assert done.status == 303
        assert await pending_of(demo_app, broadcast_id) == 0
        again = await client.post(f"/hr/broadcasts/{broadcast_id}/cancel", data={"csrf": csrf})
        assert again.status == 409 and "tidak bisa dibatalkan lagi" in await again.text()
    await hr.press(f"#{broadcast_id}")
    assert f"Siaran #{broadcast_id} dibatalkan" in hr.text
    async with demo_app.sessions() as session:
        row = await session.scalar(select(AuditLog).where(AuditLog.action == "broadcast.cancel"))
        assert row is not None and row.detail["withdrawn"] == pending
        assert row.detail["via"] == "web"


async def test_failures_show_with_their_reason_and_the_csv_is_the_shells(
    demo_app: App, bot_api: FakeBotAPI
) -> None:
    chats = await link_all(demo_app)
    unit = await unit_id(demo_app)
    async with demo_app.sessions() as session:
        members = sorted(await session.scalars(select(Employee.id).where(Employee.unit_id == unit)))
        gone_nip = await session.scalar(select(Employee.nip).where(Employee.id == members[0]))
    bot_api.blocked.add(chats[members[0]])
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, HR_NIP)
        broadcast_id = await send_from_page(client, csrf, audience="units", unit=str(unit))
        sender = telegram_sender(demo_app, bot_api)
        try:
            await drain_all(demo_app, {"telegram": sender})
        finally:
            await sender.close()
        detail = await (await client.get(f"/hr/broadcasts/{broadcast_id}")).text()
        assert "tidak terjangkau" in detail and "bot was blocked" in detail
        answer = await client.get(f"/hr/broadcasts/{broadcast_id}/undelivered.csv")
        assert answer.status == 200
        assert "attachment" in answer.headers["Content-Disposition"]
        data = await answer.read()
    async with demo_app.sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        shell = await broadcasts.undelivered_csv(session, broadcast, translator("id"))
        exported = await session.scalar(
            select(AuditLog).where(AuditLog.action == "broadcast.export")
        )
    assert data == shell
    assert data.decode("utf-8-sig").splitlines()[1].startswith(f"{gone_nip},")
    assert exported is not None and exported.detail.get("via") == "web"


async def test_csrf_roles_and_other_agencies_ids_are_refused(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        other = Agency(code="kota-lain", name="Kota Lain", timezone="Asia/Makassar")
        session.add(other)
        await session.flush()
        unit = Unit(agency_id=other.id, name="Dinas Lain")
        session.add(unit)
        await session.flush()
        foreign = await broadcasts.create(
            session, other, Audience(audiences.EVERYONE), actor="test", text="Rahasia kota lain"
        )
        foreign_id, foreign_unit = foreign.id, unit.id
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, HR_NIP)
        forged = await client.post("/hr/broadcasts/new", data=compose_form("forged"))
        assert forged.status == 403
        status, page = await preview(client, compose_form(csrf))
        token = DRAFT.search(page)
        assert status == 200 and token
        forged = await client.post(
            "/hr/broadcasts/confirm", data={"csrf": "forged", "draft": token.group(1)}
        )
        assert forged.status == 403
        for path in ("", "/progress", "/undelivered.csv", "/cancel"):
            answer = await client.get(f"/hr/broadcasts/{foreign_id}{path}")
            assert answer.status == 404, path
        cancel = await client.post(f"/hr/broadcasts/{foreign_id}/cancel", data={"csrf": csrf})
        assert cancel.status == 404
        huge = await client.get(f"/hr/broadcasts/{10**20}")  # past any id column: not a 500
        assert huge.status == 404
        listing = await (await client.get("/hr/broadcasts")).text()
        assert "Rahasia kota lain" not in listing
        status, _ = await preview(client, compose_form(csrf, audience="units", unit=foreign_unit))
        assert status == 404
        count = await client.get(f"/hr/broadcasts/count?audience=units&unit={foreign_unit}")
        assert count.status == 404
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app, OFFICER_NIP)
        for path in ("/hr/broadcasts", "/hr/broadcasts/new", f"/hr/broadcasts/{foreign_id}"):
            answer = await client.get(path, allow_redirects=False)
            assert answer.status == 403, path
    async with demo_app.sessions() as session:
        statuses = list(await session.scalars(select(Broadcast.status)))
    assert statuses == ["scheduled"]  # only the other agency's; nothing made, nothing cancelled


async def test_the_pages_speak_english_when_asked(demo_app: App) -> None:
    await link_all(demo_app, limit=5)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, HR_NIP)
        switched = await client.post(
            "/hr/language", data={"csrf": csrf, "lang": "en"}, allow_redirects=False
        )
        assert switched.status == 303
        form = await (await client.get("/hr/broadcasts/new")).text()
        assert "Write a broadcast" in form and "Specific units" in form
        status, page = await preview(client, compose_form(csrf, ack="ask"))
        assert status == 200 and "On Telegram" in page and "On WhatsApp" in page
        assert "I have read this" in page  # the button the recipients will get
        broadcast_id = await send_from_page(client, csrf, ack="ask")
        detail = await (await client.get(f"/hr/broadcasts/{broadcast_id}?done=sent")).text()
        assert f"Broadcast #{broadcast_id} is being sent." in detail
        assert "Confirmations: sent 0" in detail and "0 of 1 confirmed" in detail
        assert "acks.csv" in detail
        listing = await (await client.get("/hr/broadcasts")).text()
        assert "Broadcasts: 1 · newest first" in listing and "Every ASN" in listing


async def test_the_list_counts_reach_every_half_minute_and_again_when_a_broadcast_ends(
    demo_app: App, bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting every delivery of a page of broadcasts on each view was the list's cost: it
    shows the counts it made and when, and counts again after FRESH_SECONDS or once the
    broadcast's status moved on."""
    await hr_chat(demo_app)
    broadcast_id = await send_now(demo_app, Audience(audiences.EVERYONE), TEXT)
    reachable = len(await recipients_of(demo_app, broadcast_id))
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app, HR_NIP)
        before = await (await client.get("/hr/broadcasts")).text()
        assert f"0 terkirim · 0 gagal · {reachable} menunggu (dari 50 sasaran)" in before
        assert "Angka jangkauan dan konfirmasi baca: keadaan pukul" in before
        sender = telegram_sender(demo_app, bot_api)
        try:
            await drain_all(demo_app, {"telegram": sender})
        finally:
            await sender.close()
        soon = await (await client.get("/hr/broadcasts")).text()
        assert f"0 terkirim · 0 gagal · {reachable} menunggu" in soon
        later = office_overview._clock() + office_overview.FRESH_SECONDS + 1
        monkeypatch.setattr(office_overview, "_clock", lambda: later)
        after = await (await client.get("/hr/broadcasts")).text()
        assert f"{reachable} terkirim · 0 gagal · 0 menunggu" in after
        # Over: its status changed, so it is counted at once, then kept the longer while.
        await jobs.run_due(demo_app, names=["broadcast.progress"])
        done = await (await client.get("/hr/broadcasts")).text()
    assert "selesai" in done and f"{reachable} terkirim · 0 gagal · 0 menunggu" in done
    async with demo_app.sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.status == broadcasts.DONE
