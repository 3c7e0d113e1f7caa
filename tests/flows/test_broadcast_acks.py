"""Broadcast acknowledgements: HR asks recipients to confirm; a tap records it once, a second tap
is answered politely, a forged button (another person's delivery, another broadcast) records
nothing; a WhatsApp read receipt counts as opened, not confirmed; the report per unit; the
export from chat and shell; audit-logged."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from bot.channels.whatsapp_sender import WhatsAppSender
from bot.drain import drain_once
from bot.services.broadcasting import acks
from storage.models import Account, AuditLog, Delivery, Employee, Unit
from tests.fakes import fake_graph_api
from tests.fakes.chat import Chat
from tests.fakes.fake_bot_api import TOKEN
from tests.helpers.delivery_helpers import link_all
from tests.helpers.rating_helpers import FAJAR_HR, MEGA, RINA, employee_ids, linked


async def _delivery(app, user_ref: str) -> Delivery:
    async with app.sessions() as session:
        row = await session.scalar(
            select(Delivery)
            .join(Account, Account.id == Delivery.account_id)
            .where(Account.user_ref == user_ref, Delivery.broadcast_id.is_not(None))
            .order_by(Delivery.id.desc())
        )
    assert row is not None
    return row


async def _employee(app, user_ref: str) -> tuple[str, str]:
    async with app.sessions() as session:
        name, unit = (
            await session.execute(
                select(Employee.name, Unit.name)
                .join(Account, Account.employee_id == Employee.id)
                .join(Unit, Unit.id == Employee.unit_id)
                .where(Account.user_ref == user_ref)
            )
        ).one()
    return name, unit


async def _broadcast_with_ack(hr: Chat, text: str) -> None:
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    await hr.send(text)
    await hr.press("Semua ASN")
    assert "tidak diminta konfirmasi baca" in hr.text
    await hr.press("Minta konfirmasi baca")
    assert 'diminta menekan "Sudah saya baca"' in hr.text
    await hr.press("Kirim sekarang")
    await hr.press("Ya, kirim")
    assert "Siaran #" in hr.text


async def test_confirm_once_twice_and_forged(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    mega = await linked(chat, MEGA)
    rina = await linked(chat, RINA)
    await _broadcast_with_ack(hr, "Wajib baca: jadwal apel berubah.")
    mine = await _delivery(demo_app, mega.user_ref)
    theirs = await _delivery(demo_app, rina.user_ref)

    harness = chat.harness
    if harness is not None:  # WhatsApp: the message carries the button; a read receipt is no tap
        sender = WhatsAppSender(harness.webhook.adapter, demo_app.settings)
        await drain_once(demo_app, {"whatsapp": sender})
        sent = harness.fake.sent(mega.user_ref)[-1].params
        buttons = sent["interactive"]["action"]["buttons"]
        assert ("✅ Sudah saya baca", acks.payload(mine.id)) in [
            (b["reply"]["title"], b["reply"]["id"]) for b in buttons
        ]
        read = await _delivery(demo_app, rina.user_ref)
        assert read.platform_id
        receipt = fake_graph_api.status(
            read.platform_id, "read", rina.bsuid, tracker=f"delivery:{read.id}"
        )
        assert await harness.post(receipt) == 200
        assert (await _delivery(demo_app, rina.user_ref)).status == "read"

    await mega.action(acks.payload(mine.id))
    assert "konfirmasi Anda sudah dicatat" in mega.text
    first = (await _delivery(demo_app, mega.user_ref)).confirmed_at
    assert first is not None
    await mega.action(acks.payload(mine.id))
    assert "sudah tercatat sebelumnya" in mega.text
    assert (await _delivery(demo_app, mega.user_ref)).confirmed_at == first  # not moved

    await mega.action(acks.payload(theirs.id))  # someone else's delivery
    assert "bukan untuk Anda" in mega.text
    await mega.action(acks.payload(999999))  # no such delivery
    assert "bukan untuk Anda" in mega.text
    assert (await _delivery(demo_app, rina.user_ref)).confirmed_at is None

    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Laporan siaran")
    await hr.press("#1")
    opened = 1 if harness is not None else 0
    assert f"dibuka {opened} (tanda baca WhatsApp) · dikonfirmasi 1" in hr.text
    mega_name, mega_unit = await _employee(demo_app, mega.user_ref)
    rina_name, _ = await _employee(demo_app, rina.user_ref)
    assert mega_name in hr.text and rina_name not in hr.text
    assert f"• {mega_unit}: 1 dari" in hr.text


async def test_no_button_on_a_broadcast_that_does_not_ask(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    mega = await linked(chat, MEGA)
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    await hr.send("Info biasa.")
    await hr.press("Semua ASN")
    await hr.press("Kirim sekarang")
    await hr.press("Ya, kirim")
    delivery = await _delivery(demo_app, mega.user_ref)
    await mega.action(acks.payload(delivery.id))  # a button it never carried
    assert "bukan untuk Anda" in mega.text
    assert (await _delivery(demo_app, mega.user_ref)).confirmed_at is None


async def test_telegram_button_report_and_export_from_shell_and_chat(
    cli, demo_app, bot_api, monkeypatch, tmp_path
) -> None:
    chats = await link_all(demo_app)
    async with demo_app.sessions() as session:
        unit = await session.scalar(select(Unit).where(Unit.name == "Dinas Pendidikan"))
        members = list(
            await session.scalars(
                select(Employee).where(Employee.unit_id == unit.id).order_by(Employee.name)
            )
        )
    unit_args = ("--unit", "dinas pendidikan", "--ack", "--yes")
    sent = await cli("broadcast", "send", "--text", "Baca SE baru.", *unit_args)
    assert sent.code == 0, sent
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", bot_api.base)
    monkeypatch.setenv("TELEGRAM_CHAT_INTERVAL", "0")
    assert (await cli("worker", "--once")).code == 0
    first = members[0]
    message = next(
        c for c in bot_api.accepted if int(c.params["chat_id"]) == chats[first.id]
    ).params
    delivery = await _delivery(demo_app, str(chats[first.id]))
    assert acks.payload(delivery.id) in str(message["reply_markup"])
    assert "Sudah saya baca" in str(message["reply_markup"])

    reader = Chat(demo_app, str(chats[first.id]))
    await reader.action(acks.payload(delivery.id))
    assert "sudah dicatat" in reader.text

    status = await cli("broadcast", "status", "1")
    assert f"• Dinas Pendidikan: 1 dari {len(members)} sudah konfirmasi" in status.out
    assert first.name in status.out

    out = tmp_path / "acks.csv"
    export = await cli("broadcast", "acks", "1", "--out", str(out))
    assert export.code == 0, export
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["unit", "nama", "NIP", "status", "dikonfirmasi pada"]
    body = {r[2]: r for r in rows[1:]}
    assert set(body) == {m.nip for m in members}
    assert body[first.nip][3] == "confirmed" and "pukul" in body[first.nip][4]
    assert all(r[3] == "sent" and r[4] == "" for nip, r in body.items() if nip != first.nip)

    refused = await cli("broadcast", "acks", "99", "--out", str(out))
    assert refused.code != 0 and "Traceback" not in refused.err

    hr = Chat(demo_app, str(chats[(await employee_ids(demo_app))[FAJAR_HR]]))  # linked above
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Laporan siaran")
    await hr.press("#1")
    await hr.press("Daftar konfirmasi")
    attachment = hr.replies[-1].attachment
    assert attachment is not None and first.nip in attachment.content.decode("utf-8-sig")
    async with demo_app.sessions() as session:
        actions = list(
            await session.scalars(
                select(AuditLog.action).where(AuditLog.action == "broadcast.acks_export")
            )
        )
    assert len(actions) == 2  # the shell and the chat export
