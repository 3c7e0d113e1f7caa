"""Irreversible steps ask first, naming what will happen: closing a case (officer or family),
cancelling a case, sending a broadcast; a case closed by mistake can be reopened within a day,
audit-logged and in the case history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.messages import Channel
from storage.models import AuditLog, CaseEvent, FourInOneCase
from tests.helpers.four_in_one_helpers import (
    OFFICER_PHONE,
    live_case,
    press_exact,
    report_by_nip,
    staff_opens,
)
from tests.helpers.rating_helpers import FAJAR_HR, linked


async def _all_ready(officer, case_id: int) -> None:
    for doc in ("TASPEN", "Akta kematian", "KK", "KTP"):
        await officer.action(f"case:show:{case_id}")
        await officer.press(doc)
        await press_exact(officer, "siap")
        await officer.press("Tanpa catatan")


async def _status(app, case_id: int) -> str:
    async with app.sessions() as session:
        return (await session.get(FourInOneCase, case_id)).status


async def test_closing_before_the_handover_asks_says_so_and_can_be_undone(chat, demo_app) -> None:
    await report_by_nip(chat("7601"))
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7602", OFFICER_PHONE, case.id)
    await officer.press("Atur serah terima")
    friday = datetime.now(UTC) + timedelta(days=3)
    await officer.send(friday.strftime("%d-%m-%Y") + " 19.00")
    await officer.send("Rumah duka")
    await _all_ready(officer, case.id)
    await officer.action(f"case:show:{case.id}")
    await officer.press("Diterima keluarga")
    assert f"tutup kasus #{case.id}" in officer.text and "belum tiba" in officer.text
    assert await _status(demo_app, case.id) == "ready"  # nothing yet
    await officer.press("Kembali")
    assert await _status(demo_app, case.id) == "ready"
    # a typed number on WhatsApp lands on the question, never on the closing itself
    await officer.press("Diterima keluarga")
    await officer.press("Ya, tutup kasus")
    assert await _status(demo_app, case.id) == "closed"
    assert "Buka lagi" in " ".join(officer.labels)
    await officer.press("Buka lagi")
    assert f"Buka lagi kasus #{case.id}" in officer.text
    assert await _status(demo_app, case.id) == "closed"
    await officer.press("Ya, buka lagi")
    assert "dibuka lagi" in officer.text
    async with demo_app.sessions() as session:
        reopened = await session.get(FourInOneCase, case.id)
        assert reopened.status == "ready" and reopened.closed_at is None
        assert {d.status for d in reopened.documents} == {"ready"}
        kinds = list(
            await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id))
        )
        assert "reopened" in kinds
        audited = await session.scalar(
            select(AuditLog).where(
                AuditLog.action == "case.reopen", AuditLog.target == f"case:{case.id}"
            )
        )
        assert audited is not None


async def test_a_case_closed_more_than_a_day_ago_stays_closed(chat, demo_app) -> None:
    await report_by_nip(chat("7611"))
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7612", OFFICER_PHONE, case.id)
    await _all_ready(officer, case.id)
    await officer.action(f"case:show:{case.id}")
    await officer.press("Diterima keluarga")
    await officer.press("Ya, tutup kasus")
    async with demo_app.sessions() as session, session.begin():
        closed = await session.get(FourInOneCase, case.id)
        closed.closed_at = datetime.now(UTC) - timedelta(days=2)
    await officer.action(f"case:show:{case.id}")
    assert "Buka lagi" not in " ".join(officer.labels)
    await officer.action(f"case:reopenok:{case.id}")  # a forged or stale button
    assert await _status(demo_app, case.id) == "closed"


async def test_family_confirms_receipt_only_after_being_asked(chat, demo_app) -> None:
    family = chat("7621")
    await report_by_nip(family)
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7622", OFFICER_PHONE, case.id)
    await _all_ready(officer, case.id)
    await family.send("/lacak")
    await family.press("Sudah diterima")
    assert f"kasus #{case.id}" in family.text and "kami tutup" in family.text
    assert await _status(demo_app, case.id) == "ready"
    await family.press("Belum")
    assert await _status(demo_app, case.id) == "ready"
    await family.press("Sudah diterima")
    await family.press("Ya, sudah diterima")
    assert await _status(demo_app, case.id) == "closed"


async def test_cancelling_a_case_names_it_and_asks(chat, demo_app) -> None:
    await report_by_nip(chat("7631"))
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7632", OFFICER_PHONE, case.id)
    await officer.press("Lainnya")
    await officer.press("Batalkan kasus")
    await officer.send("Laporan ganda")
    assert f"Batalkan kasus #{case.id}" in officer.text and "Laporan ganda" in officer.text
    assert await _status(demo_app, case.id) == "open"
    await officer.press("Kembali")
    assert await _status(demo_app, case.id) == "open"
    await officer.action(f"case:cancelok:{case.id}")  # the question is gone: stale
    assert await _status(demo_app, case.id) == "open"
    await officer.action(f"case:show:{case.id}")
    await officer.press("Lainnya")
    await officer.press("Batalkan kasus")
    await officer.send("Laporan ganda")
    await officer.press("Ya, batalkan kasus")
    assert await _status(demo_app, case.id) == "cancelled"


async def test_sending_a_broadcast_says_to_how_many(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR, channel=Channel.TELEGRAM)
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    await hr.send("Apel pagi Senin pukul 07.30.")
    await hr.press("Unit tertentu")
    await hr.press("Dinas Kesehatan")
    await hr.press("Selesai")
    await hr.press("Kirim sekarang")
    assert "orang yang bisa dijangkau" in hr.text and "tidak bisa ditarik" in hr.text
