"""`abdi case`: open for a family, update, confirm, hand over, escalate and report."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditLog, Employee, FourInOneCase
from tests.fakes.chat import Chat
from tests.helpers.four_in_one_helpers import (
    DECEASED_NIP,
    OFFICER_PHONE,
    code_in,
    link,
    live_case,
    press_exact,
    report_by_nip,
    staff_opens,
)


async def _audit(app, action: str) -> list[AuditLog]:
    async with app.sessions() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


async def test_case_commands_end_to_end(cli, demo_app, inbox) -> None:
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


async def test_case_commands_refuse_bad_input_in_one_line(cli, demo_app) -> None:
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


async def test_officer_queue_shows_cli_opened_case(cli, chat, demo_app) -> None:
    await cli("case", "open", "--nip", DECEASED_NIP, "--died", "2026-11-19 10:00")
    officer = chat("9010")
    await link(officer, OFFICER_PHONE)
    await officer.press("Keluarga berduka")
    assert any(label.startswith("#1 Joko Sireg") for label in officer.labels)


async def test_cli_open_refuses_what_the_chat_refuses(cli, demo_app) -> None:
    base = ("case", "open", "--family-name", "Sari", "--relation", "spouse")
    future = await cli(*base, "--nip", DECEASED_NIP, "--died", "2099-01-01 10:00")
    assert future.code == 2 and "masa depan" in future.err
    short = await cli(*base, "--nip", "12345", "--died", "2026-11-19 10:00")
    assert short.code == 2 and "18 angka" in short.err
    phone = await cli(*base, "--nip", DECEASED_NIP, "--died", "2026-11-19 10:00", "--phone", "abc")
    assert phone.code == 2 and "Nomor HP tidak valid" in phone.err
    assert await live_case(demo_app) is None


async def test_cli_confirm_refuses_a_nip_of_someone_else(cli, demo_app) -> None:
    await cli(
        "case", "open", "--name", "Alm. Putri Gunawan", "--unit", "Kantor Lain",
        "--died", "2026-11-19 10:00",
    )  # fmt: skip
    mega = "199803132020012001"
    wrong = await cli("case", "confirm", "1", "--nip", mega)
    assert wrong.code == 2 and "Mega Hidayat" in wrong.err and "Putri Gunawan" in wrong.err
    async with demo_app.sessions() as session:
        status = await session.scalar(select(Employee.status).where(Employee.nip == mega))
        assert status == "active"
    right = await cli("case", "confirm", "1", "--nip", "197109231993012007")
    assert right.code == 0 and "Putri Gunawan ditandai wafat" in right.out
    listed = await cli("case", "list")
    assert "Putri Gunawan" in listed.out and "Alm." not in listed.out  # the roster's spelling
    await cli(
        "case", "open", "--name", "Budi", "--unit", "Kantor Lain", "--died", "2026-11-19 10:00",
    )  # fmt: skip
    forced = await cli("case", "confirm", "2", "--nip", mega, "--force")
    assert forced.code == 0 and "Mega Hidayat ditandai wafat" in forced.out


async def test_old_note_goes_with_its_status(cli, demo_app) -> None:
    await cli(
        "case", "open", "--nip", DECEASED_NIP, "--died", "2026-11-19 10:00",
        "--family-name", "Sari", "--relation", "spouse", "--phone", "081299991234",
    )  # fmt: skip
    await cli("case", "update", "1", "id_card", "in_progress", "--note", "Menunggu blanko")
    assert "Menunggu blanko" in (await cli("case", "show", "1")).out
    await cli("case", "update", "1", "id_card", "ready")
    shown = await cli("case", "show", "1")
    assert "KTP baru: siap" in shown.out and "📝" not in shown.out


async def test_cli_report_escalate_and_history_speak_plainly(chat, cli, demo_app) -> None:
    for bad in ("2026-13", "abc"):
        result = await cli("case", "report", "--month", bad)
        assert result.code == 2 and "Bulan tidak valid" in result.err
    assert "Tidak ada kasus" in (await cli("case", "report", "--month", "2020-01")).out
    nope = await cli("case", "list", "--agency", "nope")
    assert nope.code == 2 and "Instansi tidak ditemukan" in nope.err
    ahead = await cli("case", "escalate", "--now", "2099-01-01T10:00:00+07:00")
    assert ahead.code == 2 and "masa depan" in ahead.err
    family = chat("7190")
    await report_by_nip(family)
    officer = await staff_opens(chat, "7191", OFFICER_PHONE, 1)
    await officer.press("KTP")
    await press_exact(officer, "diproses")
    await officer.press("Tanpa catatan")
    shown = await cli("case", "show", "1")
    assert "keluarga (Sari Siregar): opened" in shown.out
    assert "Lestari Utami: status id_card in_progress" in shown.out
    assert "employee:" not in shown.out and "account:" not in shown.out
