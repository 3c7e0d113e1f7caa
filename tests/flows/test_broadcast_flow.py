"""HR broadcasts from chat: compose, audience, count and preview, now or later, confirm; only HR;
audit-logged; recipients receive it through the fake Bot API; HR's progress message is edited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot import dates, jobs
from bot.channels.console import ConsoleChat, ConsoleSender
from bot.delivery import enqueue
from bot.drain import drain_once
from bot.i18n import translator
from bot.messages import Attachment, Channel
from storage.models import Account, AuditLog, Broadcast, Delivery, Employee, Reminder, Unit
from tests.fakes.chat import Chat
from tests.helpers.delivery_helpers import drain_all, link_all, telegram_sender
from tests.helpers.rating_helpers import FAJAR_HR, MEGA, linked


async def compose(
    hr: Chat, text: str = "Apel pagi Senin pukul 07.30 di halaman balai kota."
) -> None:
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    await hr.send(text)
    assert "Kirim ke siapa" in hr.text


async def test_hr_sends_to_a_unit_and_sees_progress(chat, demo_app, bot_api) -> None:
    hr = await linked(chat, FAJAR_HR, channel=Channel.TELEGRAM)  # Telegram edits progress in place
    chats = await link_all(demo_app)
    async with demo_app.sessions() as session:
        unit = await session.scalar(select(Unit).where(Unit.name == "Dinas Kesehatan"))
        members = set(await session.scalars(select(Employee.id).where(Employee.unit_id == unit.id)))
    await compose(hr)
    await hr.press("Unit tertentu")
    await hr.press("Dinas Kesehatan")
    assert "✓ Dinas Kesehatan" in hr.labels
    await hr.press("Selesai")
    assert f"Penerima: {len(members)} ASN, {len(members)} bisa dihubungi" in hr.text
    assert "📢 Apel pagi Senin" in hr.text
    await hr.press("Kirim sekarang")
    await hr.press("Ya, kirim")
    assert f"sedang dikirim ke {len(members)} penerima" in hr.text

    async with demo_app.sessions() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "broadcast.create"))
        hr_account = await session.scalar(select(Account).where(Account.user_ref == hr.user_ref))
    assert audit is not None and audit.detail["audience"]["kind"] == "units"

    gone = min(members)
    bot_api.blocked.add(chats[gone])
    sender = telegram_sender(demo_app, bot_api)
    demo_app.senders = {"telegram": sender}
    await jobs.run_due(demo_app, names=["broadcast.progress"])  # HR sees the start
    await drain_all(demo_app, demo_app.senders)
    later = datetime.now(UTC) + timedelta(minutes=1)
    await jobs.run_due(demo_app, later, names=["broadcast.progress"])  # ... and the end, edited
    await sender.close()

    got = sorted(int(c.params["chat_id"]) for c in bot_api.accepted if c.method == "sendMessage")
    expected = sorted([chats[m] for m in members if m != gone] + [int(hr_account.chat_ref)])
    assert got == expected  # each member once (not the one who blocked us), plus HR's progress
    edits = [c for c in bot_api.accepted if c.method == "editMessageText"]
    assert len(edits) == 1 and int(edits[0].params["chat_id"]) == int(hr_account.chat_ref)
    final = edits[0].params["text"]
    assert "selesai" in final and f"Terkirim {len(members) - 1}" in final
    assert "tidak terjangkau 1" in final
    async with demo_app.sessions() as session:
        broadcast = await session.scalar(select(Broadcast))
    assert broadcast is not None and broadcast.status == "done"
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Laporan siaran")
    await hr.press("#1")
    assert "tidak terjangkau: 403 Forbidden: bot was blocked — 1" in hr.text
    await hr.press("CSV")
    attachment = hr.replies[0].attachment
    assert attachment is not None and attachment.filename == "belum-terkirim-1.csv"
    async with demo_app.sessions() as session:
        nip = await session.scalar(select(Employee.nip).where(Employee.id == gone))
    assert attachment.content.decode("utf-8-sig").splitlines()[1].startswith(f"{nip},")


async def test_scheduled_broadcast_waits_for_its_time_and_can_be_cancelled(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    await link_all(demo_app, limit=5)
    await compose(hr)
    await hr.press("Semua ASN")
    await hr.press("Jadwalkan")
    await hr.send("kemarin sore")
    assert "tidak terbaca" in hr.text
    await hr.send("2020-01-01 08:00")
    assert "sudah lewat" in hr.text
    await hr.send("2099-01-01 08:00")
    assert "Kamis, 1 Jan 2099, pukul 08.00 WIB" in hr.text
    await hr.press("Ya, jadwalkan")
    assert "dijadwalkan" in hr.text
    await jobs.run_due(demo_app, names=["broadcast.release"])
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Laporan siaran")
    await hr.press("#1")
    await hr.press("Batalkan siaran")
    await hr.press("Ya, batalkan")
    assert "dibatalkan" in hr.text
    await jobs.run_due(demo_app, datetime(2099, 1, 2, tzinfo=UTC), names=["broadcast.release"])
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0
        actions = set(await session.scalars(select(AuditLog.action)))
    assert {"broadcast.create", "broadcast.cancel"} <= actions


async def test_only_hr_may_broadcast_and_forged_buttons_change_nothing(chat, demo_app) -> None:
    staff = await linked(chat, MEGA)
    await staff.send("/menu")
    assert not any("Siaran" in label for label in staff.labels)
    for payload in (
        "broadcast:start",
        "broadcast:new",
        "broadcast:confirm",
        "broadcast:cancelok:1",
    ):
        await staff.action(payload)
        assert "bukan untuk akun Anda" in staff.text, staff.text
    hr = await linked(chat, FAJAR_HR)
    await compose(hr)
    for payload in (
        "broadcast:unit:999999:0",
        "broadcast:aud:root",
        "broadcast:topic:nope",
        "broadcast:show:abc",
        "broadcast:unit:1",
        "broadcast:csv:424242",
    ):
        await hr.action(payload)
        assert "pilih layanan" in hr.text, (payload, hr.text)
    await hr.action("broadcast:confirm")  # no audience chosen yet: nothing is sent
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_a_too_long_or_garbage_draft_gets_a_clear_answer(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    await hr.send("x" * 5000)
    assert "terlalu panjang" in hr.text
    await hr.send("/batal")
    assert "pilih layanan" in hr.text


async def console_account(app, nip: str, user_ref: str) -> None:
    async with app.sessions() as session, session.begin():
        employee = await session.scalar(select(Employee).where(Employee.nip == nip))
        session.add(
            Account(
                agency_id=employee.agency_id,
                channel="console",
                user_ref=user_ref,
                chat_ref=user_ref,
                employee_id=employee.id,
            )
        )


async def test_each_terminal_prints_only_its_own_messages(demo_app) -> None:
    await console_account(demo_app, "199803132020012001", "as-mega")
    await console_account(demo_app, "198412052009031034", "as-hr")
    hr = Chat(demo_app, "as-hr", channel=Channel.CONSOLE)
    await compose(hr, "Rapat koordinasi besok.")
    await hr.press("Semua ASN")
    await hr.press("Kirim sekarang")
    await hr.press("Ya, kirim")
    mega_lines: list[str] = []
    hr_lines: list[str] = []
    mega = ConsoleChat(demo_app.dispatcher, "as-mega", write=mega_lines.append)
    hr_chat = ConsoleChat(demo_app.dispatcher, "as-hr", write=hr_lines.append)
    async with demo_app.sessions() as session, session.begin():  # a private notice for the HR
        hr_account = await session.scalar(select(Account).where(Account.user_ref == "as-hr"))
        params = {"text": "Berkas 4-in-1 Anda lengkap."}
        await enqueue(session, hr_account, "broadcast.message", source="case:1", params=params)
    # Two `abdi chat` processes on one database: each drains with its own terminal's sender.
    mega_report = await drain_once(demo_app, {"console": ConsoleSender(mega, translator("id"))})
    assert mega_report.sent == 1 and mega_report.failed == 0
    assert "📢 Rapat koordinasi besok." in "\n".join(mega_lines)
    assert "as-hr" not in "\n".join(mega_lines)  # the HR's copy is not printed here
    assert "4-in-1" not in "\n".join(mega_lines)  # nor the HR's private notice
    async with demo_app.sessions() as session:
        waiting = await session.scalar(
            select(Delivery.status)
            .join(Account, Account.id == Delivery.account_id)
            .where(Account.user_ref == "as-hr")
        )
    assert waiting == "pending"  # ... it waits for the HR's own terminal
    hr_report = await drain_once(demo_app, {"console": ConsoleSender(hr_chat, translator("id"))})
    assert hr_report.sent == 2 and "📢 Rapat koordinasi besok." in "\n".join(hr_lines)
    assert "Berkas 4-in-1 Anda lengkap." in "\n".join(hr_lines)
    assert mega_lines.count("📢 Rapat koordinasi besok.") == 1


async def test_channels_that_cannot_edit_get_a_start_and_an_end_message(demo_app) -> None:
    await console_account(demo_app, "198412052009031034", "as-hr")
    others = await link_all(demo_app, channel="console", limit=5)
    hr = Chat(demo_app, "as-hr", channel=Channel.CONSOLE)
    await compose(hr, "Pengumuman libur.")
    await hr.press("Semua ASN")
    await hr.press("Kirim sekarang")
    await hr.press("Ya, kirim")
    lines: list[str] = []
    console = ConsoleChat(demo_app.dispatcher, "as-hr", write=lines.append)
    demo_app.senders = {"console": ConsoleSender(console, translator("id"))}
    now = datetime.now(UTC)
    await jobs.run_due(demo_app, now, names=["broadcast.progress"])
    started = "\n".join(lines)
    assert "📢 Siaran #1" in started and "menunggu 6" in started
    await jobs.run_due(demo_app, now + timedelta(seconds=10), names=["broadcast.progress"])
    assert "\n".join(lines) == started  # nothing new while it runs: no flood of messages
    await drain_once(demo_app, demo_app.senders)
    for chat_id in others.values():  # each colleague's own terminal
        theirs = ConsoleChat(demo_app.dispatcher, str(chat_id), write=lambda _: None)
        await drain_once(demo_app, {"console": ConsoleSender(theirs, translator("id"))})
    await jobs.run_due(demo_app, now + timedelta(seconds=20), names=["broadcast.progress"])
    assert "✅ Siaran #1 selesai." in "\n".join(lines) and "Terkirim 6" in "\n".join(lines)


async def test_targets_without_a_chat_account_are_shown_and_listed(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    async with demo_app.sessions() as session:
        unit = await session.scalar(select(Unit).where(Unit.name == "Dinas Kesehatan"))
        nips = set(await session.scalars(select(Employee.nip).where(Employee.unit_id == unit.id)))
    await compose(hr)
    await hr.press("Unit tertentu")
    await hr.press("Dinas Kesehatan")
    await hr.press("Selesai")
    assert f"{len(nips)} ASN, 0 bisa dihubungi" in hr.text
    assert "tidak akan sampai ke siapa pun" in hr.text
    await hr.press("Kirim sekarang")
    assert "Tidak ada penerima yang bisa dihubungi" in hr.text
    await hr.press("Ya, kirim")
    assert "tidak terkirim ke siapa pun" in hr.text and "sedang dikirim ke 0" not in hr.text
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Laporan siaran")
    await hr.press("#1")
    assert f"{len(nips)} sasaran, {len(nips)} tanpa akun chat" in hr.text
    await hr.press("CSV")
    attachment = hr.replies[0].attachment
    assert attachment is not None
    rows = attachment.content.decode("utf-8-sig").splitlines()[1:]
    assert {r.split(",")[0] for r in rows} == nips
    assert all("belum terhubung ke chat" in r for r in rows)


async def test_a_scheduled_or_cancelled_broadcast_reads_as_not_started(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    await link_all(demo_app, limit=4)
    async with demo_app.sessions() as session:
        everyone = await session.scalar(
            select(func.count()).select_from(Employee).where(Employee.status == "active")
        )
    await compose(hr)
    await hr.press("Semua ASN")
    await hr.press("Jadwalkan")
    await hr.send("2099-01-01 08:00")
    await hr.press("Ya")
    for step in ("/menu", "Meja HR", "Siaran", "Laporan siaran", "#1"):
        await (hr.send(step) if step.startswith("/") else hr.press(step))
    assert "belum dimulai" in hr.text and "100%" not in hr.text and "dari 0" not in hr.text
    assert (
        f"Semua ASN — {everyone} ASN" in hr.text and "Kamis, 1 Jan 2099, pukul 08.00 WIB" in hr.text
    )  # one date style (issue point 9)
    await hr.press("Batalkan siaran")
    await hr.press("Ya, batalkan")
    for step in ("/menu", "Meja HR", "Siaran", "Laporan siaran", "#1"):
        await (hr.send(step) if step.startswith("/") else hr.press(step))
    assert "dibatalkan" in hr.text and "100%" not in hr.text and "dari 0" not in hr.text
    assert f"Semua ASN — {everyone} ASN" in hr.text


async def test_the_guidance_topic_picker_shows_topic_names(chat, demo_app) -> None:
    from bot.services import guidance

    hr = await linked(chat, FAJAR_HR)
    await compose(hr)
    await hr.press("Belum konfirmasi")
    topics = guidance.library().content().ordered("id")
    assert [t.label for t in topics][:9] == hr.labels[: min(9, len(topics))]
    assert not any(t.id in hr.labels for t in topics if t.id != t.label)
    await hr.press(topics[0].label)
    assert f'Belum konfirmasi pedoman "{topics[0].label}"' in hr.text


async def test_reminders_in_chat_refuse_duplicates_and_confirm_removal(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    for step in ("/menu", "Meja HR", "Siaran", "Pengingat rutin"):
        await (hr.send(step) if step.startswith("/") else hr.press(step))
    assert "Belum ada pengingat" in hr.text
    await hr.press("3 hari sebelum tutup")
    assert "Pengingat #1 aktif" in hr.text
    await hr.press("Kembali")
    assert "→ Belum menilai rekan triwulan ini" in hr.text
    await hr.press("3 hari sebelum tutup")
    assert "sudah aktif (#1)" in hr.text
    await hr.press("Kembali")
    await hr.press("Hapus #1")
    assert "Hentikan pengingat #1?" in hr.text
    async with demo_app.sessions() as session:
        assert await session.scalar(select(Reminder.active)) is True
    await hr.press("Ya, hentikan")
    assert "dihentikan" in hr.text
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Reminder)) == 1
        assert await session.scalar(select(Reminder.active)) is False


async def test_schedule_times_as_people_type_them(chat, demo_app) -> None:
    from zoneinfo import ZoneInfo

    hr = await linked(chat, FAJAR_HR)
    await link_all(demo_app, limit=3)
    await compose(hr)
    await hr.press("Semua ASN")
    await hr.press("Jadwalkan")
    zone = ZoneInfo("Asia/Jakarta")
    example = (datetime.now(UTC).astimezone(zone) + timedelta(days=2)).strftime("%d/%m 08.00")
    assert example in hr.text and "2025" not in hr.text
    await hr.send("kemarin sore")
    assert "tidak terbaca" in hr.text and example in hr.text
    tomorrow = dates.day(datetime.now(UTC) + timedelta(days=1), "id", zone)
    await hr.send("besok jam 7 pagi")
    assert f"{tomorrow}, pukul 07.00 WIB" in hr.text
    assert "✔ Ya, jadwalkan" in hr.labels and "✔ Ya, kirim" not in hr.labels
    await hr.press("Ya, jadwalkan")
    assert f"dijadwalkan pada {tomorrow}, pukul 07.00 WIB" in hr.text


async def test_labels_fit_and_length_counts_like_telegram(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    assert "3500 karakter" in hr.text and "huruf" not in hr.text
    await hr.send("😀" * 1800)  # 1,800 characters, but 3,600 UTF-16 units as Telegram counts
    assert "terlalu panjang" in hr.text
    await hr.send("Apel 😀" * 10)
    assert "Kirim ke siapa" in hr.text
    assert not any("…" in label for label in hr.labels), hr.labels
    assert "Belum menilai rekan" in hr.labels


PDF = b"%PDF-1.4\n% jadwal apel\n"


async def test_hr_attaches_a_pdf_from_chat_and_recipients_get_it(chat, demo_app, bot_api) -> None:
    hr = await linked(chat, FAJAR_HR, channel=Channel.TELEGRAM)
    chats = await link_all(demo_app)
    async with demo_app.sessions() as session:
        unit = await session.scalar(select(Unit).where(Unit.name == "BKPSDM"))
        members = set(await session.scalars(select(Employee.id).where(Employee.unit_id == unit.id)))
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    fake = Attachment("jadwal.exe", b"MZ\x90\x00 not a pdf", "application/pdf")
    await hr.deliver(hr._inbound(attachment=fake))
    assert "harus foto (JPEG/PNG) atau PDF" in hr.text
    await hr.deliver(hr._inbound(attachment=Attachment("jadwal.pdf", PDF, "application/pdf")))
    assert "Lampiran diterima" in hr.text  # a file without a caption: the text is asked for
    await hr.send("Jadwal apel bulan Desember terlampir.")
    await hr.press("Unit tertentu")
    await hr.press("BKPSDM")
    await hr.press("Selesai")
    assert "📎 Lampiran: jadwal.pdf" in hr.text
    await hr.press("Kirim sekarang")
    await hr.press("Ya, kirim")
    async with demo_app.sessions() as session:
        broadcast = await session.scalar(select(Broadcast))
    assert broadcast is not None and broadcast.attachment == PDF
    assert broadcast.attachment_type == "application/pdf"
    sender = telegram_sender(demo_app, bot_api)
    await drain_all(demo_app, {"telegram": sender})
    await sender.close()
    documents = bot_api.sent("sendDocument")
    hr_chat = int(hr.user_ref)
    expected = {chats.get(m, hr_chat) for m in members}
    assert sorted(int(c.params["chat_id"]) for c in documents) == sorted(expected)
    assert all("Desember terlampir" in c.params["caption"] for c in documents)
