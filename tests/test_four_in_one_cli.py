"""`abdi case`: open for a family, update, confirm, hand over, escalate and report."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditLog, Employee, FourInOneCase
from tests.chat import Chat
from tests.four_in_one_helpers import DECEASED_NIP, OFFICER_PHONE, code_in, link


async def _audit(app, action: str) -> list[AuditLog]:  # type: ignore[no-untyped-def]
    async with app.sessions() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


async def test_case_commands_end_to_end(cli, demo_app, inbox) -> None:  # type: ignore[no-untyped-def]
    opened = await cli(
        "case", "open", "--nip", DECEASED_NIP, "--died", "2026-11-19 10:00",
        "--family-name", "Sari", "--relation", "spouse", "--phone", "081299991234",
    )  # fmt: skip
    assert opened.code == 0, opened
    code = code_in(opened.out)
    family = Chat(demo_app, "9001")
    await family.send("/lacak " + code)
    assert "Akta kematian: belum diproses" in family.text and "Joko" not in family.text
    await family.press("Kirimi saya kabar")
    assert "Bagikan nomor HP" in family.text  # the officer recorded the family's phone
    await family.share_contact("081299991234")
    assert "cocok dengan catatan petugas" in family.text

    listed = await cli("case", "list")
    assert "#1 [berjalan] Joko Siregar" in listed.out and "2026-11-21 19:00 WIB" in listed.out
    shown = await cli("case", "show", "1")
    assert "Sari (Suami/istri), 0812-9999-1234" in shown.out and "opened" in shown.out
    assert [a.actor[:3] for a in await _audit(demo_app, "case.view")] == ["cli"]

    updated = await cli(
        "case", "update", "1", "death_certificate", "in_progress", "--note", "Besok"
    )
    assert updated.code == 0 and "Akta kematian -> diproses" in updated.out
    same = await cli("case", "update", "1", "death_certificate", "in_progress")
    assert "tidak ada yang berubah" in same.out
    assert await inbox("9001") == [
        "Kabar dokumen keluarga (kasus #1): Akta kematian kini diproses.\n📝 Besok"
    ]

    confirmed = await cli("case", "confirm", "1")
    assert confirmed.code == 0 and "Joko Siregar ditandai wafat" in confirmed.out
    async with demo_app.sessions() as session:
        joko = await session.scalar(select(Employee).where(Employee.nip == DECEASED_NIP))
        assert joko.status == "deceased"

    escalated = await cli("case", "escalate", "--now", "2026-11-21T14:00:00+07:00")
    assert "1 kasus <6 jam" in escalated.out
    twice = await cli("case", "escalate", "--now", "2026-11-21T14:30:00+07:00")
    assert "0 kasus <6 jam" in twice.out and "0 notifikasi" in twice.out

    for doc in ("taspen_book", "death_certificate", "family_card", "id_card"):
        await cli("case", "update", "1", doc, "ready")
    handover = await cli(
        "case", "handover", "1", "--at", "2099-01-02 19:30", "--place", "Balai Kota"
    )
    assert handover.code == 0 and "Balai Kota" in handover.out
    assert "melewati target malam ketiga" in handover.out  # allowed, but said
    got = await inbox("9001")
    assert "Balai Kota" in got[-1] and "pukul 19.30 WIB" in got[-1]

    await family.send("/lacak")
    await family.press("Sudah diterima")
    await family.press("Ya, sudah diterima")  # asked first: it closes the case
    async with demo_app.sessions() as session:
        assert (await session.get(FourInOneCase, 1)).status == "closed"
    closed = await cli("case", "update", "1", "id_card", "pending")
    assert closed.code == 1 and "sudah selesai" in closed.err

    report = await cli("case", "report", "--now", "2026-12-31T00:00:00+07:00")
    assert report.code == 0 and "1 kasus" in report.out and "median" in report.out
    assert len(await _audit(demo_app, "case.report")) == 1


async def test_case_commands_refuse_bad_input_in_one_line(cli, demo_app) -> None:  # type: ignore[no-untyped-def]
    missing = await cli("case", "show", "42")
    assert missing.code == 1 and "#42 tidak ditemukan" in missing.err and missing.out == ""
    vague = await cli("case", "open", "--name", "Budi", "--died", "2026-11-19 10:00")
    assert vague.code == 1 and "--nip" in vague.err
    bad_time = await cli("case", "open", "--nip", DECEASED_NIP, "--died", "kemarin sore")
    assert bad_time.code == 1 and "Waktu tidak valid" in bad_time.err
    no_candidate = await cli(
        "case", "open", "--name", "Budi Tanpa Data", "--unit", "Entah", "--died", "2026-11-19 10:00"
    )
    assert no_candidate.code == 0
    refused = await cli("case", "confirm", "1")
    assert refused.code == 1 and "Belum ada pegawai yang cocok" in refused.err


async def test_officer_queue_shows_cli_opened_case(cli, chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    await cli("case", "open", "--nip", DECEASED_NIP, "--died", "2026-11-19 10:00")
    officer = chat("9010")
    await link(officer, OFFICER_PHONE)
    await officer.press("Keluarga berduka")
    assert any(label.startswith("#1 Joko Sireg") for label in officer.labels)
