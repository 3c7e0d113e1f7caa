"""💬 "Tanya petugas": a family asks from its case, every desk officer is told, an officer
answers from the desk, the family receives the answer and the exchange stays on the case card;
office hours, forged ids and the CLI (SQLite and PostgreSQL; direct and WhatsApp chats)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import dates
from bot.services.four_in_one import questions
from bot.services.office_hours import DAYS
from storage.models import Agency, AuditLog, CaseQuestion
from tests.fakes.chat import Chat
from tests.helpers.forged import FORGED
from tests.helpers.four_in_one_helpers import OFFICER_NIP, OFFICER_PHONE, link, report_by_nip


def _closed_until_three_days_on(demo_app) -> datetime:
    """Office hours on one weekday three days from now only: the desk is closed today, and
    opens that day at 08.00 local (returned)."""
    zone = ZoneInfo(demo_app.settings.agency_timezone)
    day = datetime.now(zone).date() + timedelta(days=3)
    for settings in (demo_app.settings, demo_app.dispatcher.settings):  # the WhatsApp harness
        settings.office_hours = f"{DAYS[day.weekday()].title()} 08:00-16:00"  # copies them
    return datetime.combine(day, time(8, 0), tzinfo=zone)


async def _ask(family, text: str) -> None:
    await family.send("/lacak")
    await family.press("Tanya petugas")
    await family.send(text)
    assert text in family.text and "Kirim" in " ".join(family.labels)  # the preview
    await family.press("Kirim")


async def test_family_asks_officer_answers_family_receives(chat, demo_app, inbox) -> None:
    opening = _closed_until_three_days_on(demo_app)
    officer = chat("7701")
    await link(officer, OFFICER_PHONE)
    family = chat("7702")
    await report_by_nip(family)
    await _ask(family, "Apakah KK baru bisa diambil adik saya?")
    assert "sudah kami teruskan" in family.text
    zone = demo_app.settings.agency_timezone
    assert f"Petugas akan menjawab mulai {dates.moment(opening, zone, 'id')}" in family.text
    told = await inbox("7701")
    assert any("Pertanyaan baru dari keluarga" in m and "adik saya" in m for m in told)

    await officer.send("/menu")
    await officer.press("Keluarga berduka")
    await officer.press("Pertanyaan (1)")
    await officer.press("#1 (kasus #1)")
    await officer.send("Bisa, bawa KTP adik dan surat kuasa.")
    assert "tidak bisa ditarik" in officer.text  # the preview before sending
    await officer.press("Kirim")
    assert "terkirim ke keluarga" in officer.text and "Tidak ada pertanyaan" in officer.text
    answers = await inbox("7702")
    assert any("Jawaban petugas" in m and "surat kuasa" in m for m in answers)

    await officer.action("case:show:1")
    assert "adik saya" in officer.text and "Jawaban: Bisa, bawa KTP" in officer.text
    await officer.send("/menu")
    await officer.press("Keluarga berduka")
    assert not any("Pertanyaan (" in label for label in officer.labels)  # answered


async def test_the_family_can_go_back_and_change_before_sending(chat, demo_app) -> None:
    family = chat("7703")
    await report_by_nip(family)
    await family.send("/lacak")
    await family.press("Tanya petugas")
    await family.send("pertanyaan pertama")
    await family.press("Ubah")
    await family.send("pertanyaan kedua")
    await family.send("/batal")
    async with demo_app.sessions() as session:
        assert await session.scalar(select(CaseQuestion)) is None  # nothing sent


async def test_forged_ids_are_stale_for_family_and_desk(chat, demo_app) -> None:
    family = chat("7704")
    await report_by_nip(family)
    stranger = chat("7705")
    await stranger.send("/start")
    await stranger.action("case:ask:1")  # a case it does not follow
    assert "sudah tidak berlaku" in stranger.text
    officer = chat("7706")
    await link(officer, OFFICER_PHONE)
    for value in [*FORGED, "999"]:
        await officer.action(f"case:question:{value}")
        assert "sudah tidak berlaku" in officer.text, value


async def test_another_agencys_officer_cannot_reach_the_question(demo_app, cli) -> None:
    family_chat = Chat(demo_app, "7707")
    await report_by_nip(family_chat)
    await _ask(family_chat, "Kapan akta kematian jadi?")
    async with demo_app.sessions() as session, session.begin():
        other = Agency(code="kota-lain", name="Kota Lain", timezone="Asia/Makassar")
        session.add(other)
        await session.flush()
        assert await questions.for_staff(session, other.id, 1) is None
    refused = await cli("case", "answer", "1", "Besok.", "--agency", "kota-lain")
    assert refused.code != 0 and "tidak ada di instansi ini" in refused.err


async def test_cli_lists_and_answers_as_the_officer(demo_app, cli) -> None:
    family_chat = Chat(demo_app, "7708")
    await report_by_nip(family_chat)
    await _ask(family_chat, "Apakah perlu fotokopi KTP?")
    listed = await cli("case", "questions", "--open")
    assert listed.code == 0 and "Apakah perlu fotokopi KTP?" in listed.out
    answered = await cli("case", "answer", "1", "Tidak perlu.", "--as", OFFICER_NIP)
    assert answered.code == 0 and "dikirim ke 1 chat keluarga" in answered.out
    assert "Tidak ada pertanyaan" in (await cli("case", "questions", "--open")).out
    again = await cli("case", "answer", "1", "Lagi.")
    assert again.code != 0 and "sudah dijawab" in again.err
    async with demo_app.sessions() as session:
        row = await session.scalar(select(AuditLog).where(AuditLog.action == "case.answer"))
        question = await session.get(CaseQuestion, 1)
    assert row is not None and row.actor.startswith("employee:")
    assert question is not None and question.answer == "Tidak perlu."
