"""4-in-1 family report, step by step: the family phone, the NIP, a code typed at the start,
unit names, the summary corrected before sending."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import FourInOneCase
from tests.fakes.chat import Chat
from tests.helpers.four_in_one_helpers import (
    DECEASED_NIP,
    code_in,
    live_case,
    officer_case_code,
    report_by_nip,
)


async def test_code_follower_of_officer_case_proves_family_by_own_phone(
    cli, demo_app, inbox
) -> None:
    code = await officer_case_code(cli)
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


async def test_shared_contact_at_family_phone_step_is_the_phone(chat, demo_app) -> None:
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


async def test_nip_step_reveals_nothing_and_is_capped(chat, demo_app) -> None:
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


async def test_code_typed_at_first_question_tracks_the_case(chat, demo_app) -> None:
    code = await report_by_nip(chat("7132"))
    other = chat("7133")
    await other.send("/start")
    await other.press("Keluarga berduka")
    await other.send(code)
    assert "Akta kematian: belum diproses" in other.text and "🔔 Kirimi saya kabar" in other.labels
    assert await live_case(demo_app) is not None
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(FourInOneCase)) == 1


async def _report_by_name(family, name: str, unit: str) -> None:
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(name)
    await family.send(unit)


async def test_unit_short_names_match_and_ambiguity_is_asked(chat, demo_app) -> None:
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


async def test_summary_can_be_corrected_before_sending(chat, demo_app) -> None:
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
