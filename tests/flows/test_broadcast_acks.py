"""Broadcast acknowledgements: HR asks recipients to confirm; a tap records it once, a second tap
is answered politely, a forged button (another person's delivery, another broadcast) records
nothing; a WhatsApp read receipt counts as opened, not confirmed; the report per unit; the
export from chat and shell; audit-logged."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from bot import jobs
from bot.channels.whatsapp_sender import WhatsAppSender
from bot.drain import drain_once
from bot.services.broadcasting import acks
from storage.models import Account, AuditLog, Broadcast, Delivery, Employee, Unit
from tests.fakes import fake_graph_api
from tests.fakes.chat import Chat
from tests.fakes.fake_bot_api import TOKEN
from tests.helpers.delivery_helpers import drain_all, link_all, telegram_sender
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

    # Mega heads her unit (she supervises Rina there and has no supervisor): counts, no names,
    # her unit only. Rina heads nothing: refused, by command and by a forged button alike.
    await mega.send("/konfirmasi")
    await mega.press("#1")
    assert "unit Sekretariat Daerah" in mega.text and "dikonfirmasi 1" in mega.text
    assert f"• {mega_unit}: 1 dari 2 sudah konfirmasi" in mega.text
    assert mega_name not in mega.text and "BKPSDM:" not in mega.text
    await rina.send("/konfirmasi")
    assert "hanya untuk kepala unit" in rina.text
    await rina.action("ack:unit:1")
    assert "dikonfirmasi" not in rina.text


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


async def test_reminder_goes_once_to_those_who_have_not_confirmed(demo_app, bot_api) -> None:
    chats = await link_all(demo_app)
    hr = Chat(demo_app, str(chats[(await employee_ids(demo_app))[FAJAR_HR]]))
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    await hr.send("Isi survei kepuasan pegawai minggu ini.")
    await hr.press("Semua ASN")
    await hr.press("Minta konfirmasi baca")
    await hr.press("Tambah pengingat")
    assert f"diingatkan sekali setelah {acks.REMIND_HOURS} jam" in hr.text
    await hr.press("Kirim sekarang")
    await hr.press("Ya, kirim")
    sender = telegram_sender(demo_app, bot_api)
    await drain_all(demo_app, {"telegram": sender})
    async with demo_app.sessions() as session:
        broadcast = await session.scalar(select(Broadcast))
        rows = list(
            await session.scalars(select(Delivery).where(Delivery.broadcast_id.is_not(None)))
        )
    assert broadcast is not None and broadcast.released_at is not None
    confirmer = rows[0]
    async with demo_app.sessions() as session:
        account = await session.get(Account, confirmer.account_id)
    await Chat(demo_app, account.user_ref).action(acks.payload(confirmer.id))

    async def reminders() -> list[Delivery]:
        async with demo_app.sessions() as session:
            return list(
                await session.scalars(
                    select(Delivery).where(Delivery.message_key == "ack.reminder")
                )
            )

    released = broadcast.released_at
    await jobs.run_due(demo_app, released + timedelta(hours=23), names=["broadcast.ack_remind"])
    assert await reminders() == []  # not yet
    await jobs.run_due(demo_app, released + timedelta(hours=25), names=["broadcast.ack_remind"])
    sent = await reminders()
    expected = {r.account_id: r.id for r in rows if r.id != confirmer.id and r.status == "sent"}
    assert {r.account_id for r in sent} == set(expected) and len(sent) == len(rows) - 1
    await jobs.run_due(demo_app, released + timedelta(hours=50), names=["broadcast.ack_remind"])
    assert len(await reminders()) == len(sent)  # once

    before = len(bot_api.accepted)
    await drain_all(demo_app, {"telegram": sender})
    await sender.close()
    reminded = bot_api.accepted[before:]
    assert len(reminded) == len(sent)
    async with demo_app.sessions() as session:
        refs = dict((await session.execute(select(Account.id, Account.chat_ref))).all())
    for message in reminded:  # each carries the button of that person's own delivery
        text, markup = message.params["text"], str(message.params["reply_markup"])
        assert "Pengingat dari BKPSDM" in text and "survei kepuasan" in text
        own = next(d for a, d in expected.items() if refs[a] == str(message.params["chat_id"]))
        assert f"'{acks.payload(own)}'" in markup
