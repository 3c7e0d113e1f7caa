"""Findings of the outside tester on 4-in-1, each replayed through the chat or the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from storage.models import Agency, AuditLog, Employee, FourInOneCase
from tests.chat import Chat
from tests.four_in_one_helpers import (
    DECEASED_NIP,
    OFFICER_PHONE,
    code_in,
    live_case,
    press_exact,
    report_by_nip,
    staff_opens,
)


async def _all_ready(officer, case_id: int, note: str | None = None) -> None:  # type: ignore[no-untyped-def]
    for doc in ("TASPEN", "Akta kematian", "KK", "KTP"):
        await officer.action(f"case:show:{case_id}")
        await officer.press(doc)
        await press_exact(officer, "siap")
        if note:
            await officer.send(note)
        else:
            await officer.press("Tanpa catatan")


async def test_code_holder_and_second_reporter_cannot_close_the_case(chat, demo_app, inbox) -> None:  # type: ignore[no-untyped-def]
    family = chat("7101")
    code = await report_by_nip(family)
    second = chat("7102")
    await report_by_nip(second)  # the same NIP again: a pending duplicate, with its own code
    stranger = chat("7103")
    await stranger.send("/start")
    await stranger.press("Keluarga berduka")
    await stranger.press("Punya kode lacak")
    await stranger.send(code)
    await stranger.press("Kirimi saya kabar")
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7104", OFFICER_PHONE, case.id)
    await officer.press("Atur serah terima")
    await officer.press("Sesuai jadwal")
    await officer.send("Masjid Al-Huda")
    await _all_ready(officer, case.id, "Ambil di loket 3")
    got = await inbox("7103")
    assert got and not any("loket 3" in g or "Masjid" in g for g in got), got
    await stranger.send("/menu")
    await stranger.press("Keluarga berduka")
    assert "Keempat dokumen sudah siap" in stranger.text
    assert "Masjid" not in stranger.text and "loket 3" not in stranger.text
    assert "Sudah diterima" not in stranger.labels and "Sudah diterima" not in stranger.text
    await stranger.action(f"case:received:{case.id}")
    assert "Hanya keluarga yang melapor" in stranger.text
    # Was: the second reporter was folded into the case and followed it. Now their report waits
    # for the desk, and until then they hear nothing of the first case at all.
    assert await inbox("7102") == []
    await second.send("/menu")
    await second.press("Keluarga berduka")
    assert "Buku tabungan TASPEN: belum diproses" in second.text
    assert "siap" not in second.text and "Masjid" not in second.text
    await second.action(f"case:received:{case.id}")
    assert "Kasus ini kami tutup" not in second.text
    assert (await live_case(demo_app)).status == "ready"
    assert any("Masjid" in g for g in await inbox("7101"))
    await family.send("/menu")
    await family.press("Keluarga berduka")
    assert "Masjid" in family.text and "loket 3" in family.text
    await family.press("Sudah diterima")
    await family.press("Ya, sudah diterima")  # asked first: it closes the case
    assert (await live_case(demo_app)).status == "closed"


async def test_officer_records_receipt_for_the_family(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    await report_by_nip(chat("7105"))
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7106", OFFICER_PHONE, case.id)
    await _all_ready(officer, case.id)
    await officer.action(f"case:show:{case.id}")
    await officer.press("Diterima keluarga")
    assert "tutup kasus #" in officer.text  # asked first, naming the case
    assert (await live_case(demo_app)).status == "ready"
    await officer.press("Ya, tutup kasus")
    assert "Kasus ditutup" in officer.text
    assert (await live_case(demo_app)).status == "closed"


async def test_code_follower_of_officer_case_proves_family_by_own_phone(
    cli, demo_app, inbox
) -> None:  # type: ignore[no-untyped-def]
    opened = await cli(
        "case", "open", "--name", "Hj. Aminah", "--pensioner", "123456",
        "--died", "2026-11-19 10:00",
        "--family-name", "Rahmat", "--relation", "child", "--phone", "081377778888",
    )  # fmt: skip
    code = code_in(opened.out)
    stranger = Chat(demo_app, "7110")
    await stranger.send("/lacak " + code)
    await stranger.press("Kirimi saya kabar")
    await stranger.share_contact("081377778888", owner="someone-else")
    assert "tidak cocok" in stranger.text
    await cli("case", "update", "1", "id_card", "in_progress", "--note", "Loket 2")
    assert await inbox("7110") == ["Kabar dokumen keluarga (kasus #1): KTP baru kini diproses."]
    family = Chat(demo_app, "7111")
    await family.send("/lacak " + code)
    await family.press("Kirimi saya kabar")
    await family.share_contact("0813-7777-8888")
    assert "cocok dengan catatan petugas" in family.text
    await cli("case", "update", "1", "id_card", "ready", "--note", "Loket 3")
    assert (await inbox("7111"))[-1].endswith("📝 Loket 3")


async def test_shared_contact_at_family_phone_step_is_the_phone(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    family = chat("7112")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    await family.press("Kemarin")
    await family.send("14.30")
    await family.send("Sari Siregar")
    await family.press("Suami/istri")
    await family.share_contact("081299991234")
    assert "✅ Kirim" in family.labels and "0812-9999-1234" in family.text
    await family.press("Kirim")
    assert code_in(family.text)


async def test_cli_open_refuses_what_the_chat_refuses(cli, demo_app) -> None:  # type: ignore[no-untyped-def]
    base = ("case", "open", "--family-name", "Sari", "--relation", "spouse")
    future = await cli(*base, "--nip", DECEASED_NIP, "--died", "2099-01-01 10:00")
    assert future.code == 2 and "masa depan" in future.err
    short = await cli(*base, "--nip", "12345", "--died", "2026-11-19 10:00")
    assert short.code == 2 and "18 angka" in short.err
    phone = await cli(*base, "--nip", DECEASED_NIP, "--died", "2026-11-19 10:00", "--phone", "abc")
    assert phone.code == 2 and "Nomor HP tidak valid" in phone.err
    assert await live_case(demo_app) is None


async def test_cli_confirm_refuses_a_nip_of_someone_else(cli, demo_app) -> None:  # type: ignore[no-untyped-def]
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


def _morning_zone() -> str:
    """A zone where it is morning right now, so that noon today is still ahead."""
    hour = datetime.now(UTC).hour
    for offset in range(-12, 15):
        if 1 <= (hour + offset) % 24 <= 10:
            # POSIX Etc zones count the other way: Etc/GMT-7 is UTC+7.
            return f"Etc/GMT{-offset:+d}" if offset else "UTC"
    raise AssertionError("unreachable")


async def test_today_with_unknown_time_is_accepted_and_not_made_up(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    async with demo_app.sessions() as session, session.begin():
        for agency in await session.scalars(select(Agency)):
            agency.timezone = _morning_zone()
    family = chat("7120")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    await family.press("Hari ini")
    await family.press("Tidak ingat")
    assert "belum lewat" not in family.text
    await family.send("Sari Siregar")
    await family.press("Suami/istri")
    await family.send("081299991234")
    assert "jam tidak diketahui" in family.text and "12.00" not in family.text
    await family.press("✅ Kirim")
    assert code_in(family.text)
    case = await live_case(demo_app)
    assert case is not None and case.died_at.replace(tzinfo=UTC) <= datetime.now(UTC)


async def test_nip_step_reveals_nothing_and_is_capped(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    answers = []
    for ref, nip in (("7130", DECEASED_NIP), ("7131", "199001012020011999")):
        stranger = chat(ref)
        await stranger.send("/start")
        await stranger.press("Keluarga berduka")
        await stranger.send(nip)
        answers.append((stranger.text, stranger.labels))
    assert answers[0] == answers[1]
    for _ in range(demo_app.settings.four_in_one_code_attempts):
        await stranger.send("/menu")
        await stranger.press("Keluarga berduka")
        await stranger.send("199001012020011998")
    assert "Terlalu banyak percobaan" in stranger.text


async def test_code_typed_at_first_question_tracks_the_case(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    code = await report_by_nip(chat("7132"))
    other = chat("7133")
    await other.send("/start")
    await other.press("Keluarga berduka")
    await other.send(code)
    assert "Akta kematian: belum diproses" in other.text and "🔔 Kirimi saya kabar" in other.labels
    assert await live_case(demo_app) is not None
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(FourInOneCase)) == 1


async def test_old_note_goes_with_its_status(cli, demo_app) -> None:  # type: ignore[no-untyped-def]
    await cli(
        "case", "open", "--nip", DECEASED_NIP, "--died", "2026-11-19 10:00",
        "--family-name", "Sari", "--relation", "spouse", "--phone", "081299991234",
    )  # fmt: skip
    await cli("case", "update", "1", "id_card", "in_progress", "--note", "Menunggu blanko")
    assert "Menunggu blanko" in (await cli("case", "show", "1")).out
    await cli("case", "update", "1", "id_card", "ready")
    shown = await cli("case", "show", "1")
    assert "KTP baru: siap" in shown.out and "📝" not in shown.out


async def test_officer_cancels_a_bogus_case_and_attaches_a_nip(chat, cli, demo_app) -> None:  # type: ignore[no-untyped-def]
    family = chat("7140")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send("Putri Gunawan")
    await family.send("Kantor yang tidak ada")
    await family.press("Kemarin")
    await family.send("08.00")
    await family.send("Andi")
    await family.press("Anak")
    await family.send("081311112222")
    await family.press("✅ Kirim")
    officer = await staff_opens(chat, "7141", OFFICER_PHONE, 1)
    await officer.press("Lainnya")
    await officer.press("Isi NIP")
    await officer.send("199803132020012001")  # Mega Hidayat: not who the family named
    await officer.press("Ya, tandai wafat")
    assert "tidak sama dengan nama yang dilaporkan" in officer.text
    await officer.press("Lainnya")
    await officer.press("Isi NIP")
    await officer.send("197109231993012007")
    assert "Tandai Putri Gunawan" in officer.text
    await officer.press("Ya, tandai wafat")
    assert "ditandai wafat" in officer.text
    bogus = await cli(
        "case", "open", "--name", "Orang Iseng", "--unit", "X", "--died", "2026-11-01 10:00",
    )  # fmt: skip
    assert bogus.code == 0
    await officer.action("case:show:2")
    await officer.press("Lainnya")
    await officer.press("Batalkan kasus")
    await officer.send("Laporan palsu")
    assert "Batalkan kasus #2" in officer.text and "Laporan palsu" in officer.text
    await officer.press("Ya, batalkan kasus")
    assert "Kasus dibatalkan" in officer.text and "dibatalkan" in officer.text
    assert (await cli("case", "cancel", "2", "--reason", "lagi")).code != 0
    escalated = await cli("case", "escalate")
    assert "1 kasus" not in escalated.out or "#2" not in escalated.out
    async with demo_app.sessions() as session:
        cancelled = await session.get(FourInOneCase, 2)
        assert cancelled.status == "cancelled" and cancelled.overdue_at is None
        logged = await session.scalar(
            select(func.count()).where(
                AuditLog.action == "case.cancel", AuditLog.target == "case:2"
            )
        )
        assert logged == 1
    report = await cli("case", "report")
    assert "1 kasus" in report.out  # the cancelled one is not counted
    listed = await cli("case", "list")
    assert "Orang Iseng" not in listed.out


async def _at_date_step(chat, ref: str):  # type: ignore[no-untyped-def]
    family = chat(ref)
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    return family


async def test_everyday_indonesian_dates_and_times_are_understood(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    family = await _at_date_step(chat, "7150")
    await family.send("besok")
    assert "belum tiba" in family.text
    await family.send("01-01-2020")
    assert "lebih dari 60 hari" in family.text
    await family.send("kemarin")
    assert "Sekitar jam berapa" in family.text
    await family.send("jam 7 malam")
    await family.send("Sari Siregar")
    await family.press("Suami/istri")
    await family.send("081299991234")
    assert "pukul 19.00" in family.text
    day = (datetime.now(ZoneInfo("Asia/Jakarta")) - timedelta(days=3)).date()
    month = ("Jan Feb Mar Apr Mei Jun Jul Agu Sep Okt Nov Des").split()[day.month - 1]
    full = ("Januari Februari Maret April Mei Juni Juli Agustus September Oktober November "
            "Desember").split()[day.month - 1]  # fmt: skip
    for ref, typed_day, clock in (
        ("7151", f"{day.day} {month}", "3 sore"),
        ("7152", f"{day.day}/{day.month}", "pukul 15.00"),
        ("7153", f"{day.day} {full}", "15,30"),
        ("7154", day.isoformat(), "jam 3 sore"),
    ):
        other = await _at_date_step(chat, ref)
        await other.send(typed_day)
        assert "Sekitar jam berapa" in other.text, (typed_day, other.text)
        await other.send(clock)
        assert "Siapa nama Anda" in other.text, (clock, other.text)


async def test_handover_time_and_place_asked_apart_late_time_warned(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    await report_by_nip(chat("7160"))  # died yesterday: the target is tomorrow evening
    officer = await staff_opens(chat, "7161", OFFICER_PHONE, 1)
    await officer.press("Atur serah terima")
    await officer.send("Balai Kota")
    assert "belum bisa kami baca" in officer.text
    await officer.send("lusa jam 10 pagi")
    assert "Di mana dokumen diserahkan" in officer.text
    await officer.send("Balai Kota, ruang 2")
    assert "melewati target malam ketiga" in officer.text and "Balai Kota, ruang 2" in officer.text
    assert (await live_case(demo_app)).handover_place == "Balai Kota, ruang 2"


async def _report_by_name(family, name: str, unit: str) -> None:  # type: ignore[no-untyped-def]
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(name)
    await family.send(unit)


async def test_unit_short_names_match_and_ambiguity_is_asked(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    family = chat("7170")
    await _report_by_name(family, "Putri Gunawan", "setda")
    assert "Kapan beliau meninggal" in family.text
    await family.press("Kemarin")
    await family.press("Tidak ingat")
    await family.send("Andi")
    await family.press("Anak")
    await family.send("081311112222")
    await family.press("✅ Kirim")
    case = await live_case(demo_app)
    assert case.employee_id is not None and case.deceased_unit == "Sekretariat Daerah"
    other = chat("7171")
    await _report_by_name(other, "Budi", "Dinas")
    assert "Unit mana" in other.text
    assert "Dinas Kesehatan" in other.labels and "Dinas Pendidikan" in other.labels
    await other.press("Dinas Kesehatan")
    assert "Kapan beliau meninggal" in other.text
    third = chat("7172")
    await _report_by_name(third, "Budi", "dinkes")
    assert "Kapan beliau meninggal" in third.text


async def test_summary_can_be_corrected_before_sending(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    family = chat("7180")
    await _report_by_name(family, "Putri Gunawan", "Sekretariat Daerah")
    await family.press("Kemarin")
    await family.send("10.00")
    await family.send("Andi")
    await family.press("Anak")
    await family.send("081311112222")
    await family.press("Ubah")
    await family.press("Nomor HP")
    await family.send("081399998888")
    assert "0813-9999-8888" in family.text and "Mohon periksa" in family.text
    await family.press("Ubah")
    await family.press("Nama/NIP almarhum")
    await family.send("Putri Gunawan Sari")
    # Only the name is asked again: the unit, the day and the time stand (issue: "Understood in
    # people's own words" — re-asking them was the old behaviour).
    assert "Putri Gunawan Sari" in family.text and "0813-9999-8888" in family.text
    assert "Sekretariat Daerah" in family.text and "pukul 10.00" in family.text
    await family.press("✅ Kirim")
    assert code_in(family.text)


async def test_officer_reissues_a_lost_code(chat, cli, demo_app) -> None:  # type: ignore[no-untyped-def]
    opened = await cli(
        "case", "open", "--name", "Hj. Aminah", "--pensioner", "123456",
        "--died", "2026-11-19 10:00",
    )  # fmt: skip
    old = code_in(opened.out)
    officer = await staff_opens(chat, "7181", OFFICER_PHONE, 1)
    await officer.press("Lainnya")
    await officer.press("Kode lacak baru")
    new = code_in(officer.text)
    assert new != old
    holder = chat("7182")
    await holder.send("/lacak " + old)
    assert "tidak kami kenal" in holder.text
    await holder.send("/lacak " + new)
    assert "Akta kematian: belum diproses" in holder.text
    async with demo_app.sessions() as session:
        logged = await session.scalar(select(func.count()).where(AuditLog.action == "case.code"))
        assert logged == 1


async def test_cli_report_escalate_and_history_speak_plainly(chat, cli, demo_app) -> None:  # type: ignore[no-untyped-def]
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


async def test_a_bare_hour_at_the_time_step_is_a_time(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    """On WhatsApp "2" would otherwise pick the second button and drop the report."""
    family = chat("7190")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    await family.press("Kemarin")
    await family.send("2")
    assert "Siapa nama Anda" in family.text  # 02.00 was taken; the report goes on
    assert "Silakan pilih layanan" not in family.text
