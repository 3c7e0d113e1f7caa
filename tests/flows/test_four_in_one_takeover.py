"""4-in-1 case takeover, replayed end to end: a report that repeats a case learns nothing of it,
a follower is verified only by a phone an officer recorded (or as the reporter who opened the
case), and a pending duplicate waits for the desk to merge or reject it."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import AuditLog, CaseEvent, FourInOneCase
from tests.helpers.four_in_one_helpers import (
    DECEASED_NIP,
    OFFICER_PHONE,
    TASPEN_PHONE,
    code_in,
    link,
    press_exact,
    report_by_nip,
    staff_opens,
)

OTHER_NIP = "199803132020012001"  # Mega Hidayat: a death nobody has reported
FAMILY_PHONE = "081377778888"  # the phone the officer writes down for the family
OPEN = (
    "case", "open", "--nip", DECEASED_NIP, "--died", "2026-11-19 10:00",
    "--family-name", "Rahmat", "--relation", "child", "--phone", FAMILY_PHONE,
)  # fmt: skip


def _shape(text: str, code: str) -> str:
    """A reply with its own code and case number taken out: what any new report is told."""
    return re.sub(r"#\d+", "#<n>", text.replace(code, "<code>"))


async def _audit(app, action: str) -> list[AuditLog]:
    async with app.sessions() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


async def _case(app, case_id: int) -> FourInOneCase:
    async with app.sessions() as session:
        return await session.get(FourInOneCase, case_id)


async def _all_ready(cli, case_id: int) -> None:
    for doc in ("taspen_book", "death_certificate", "family_card", "id_card"):
        await cli("case", "update", str(case_id), doc, "ready", "--note", "Ambil di loket 3")


async def test_report_of_a_case_already_open_is_told_what_any_new_report_is(
    chat, cli, demo_app
) -> None:
    opened = await cli(*OPEN)
    real_code = code_in(opened.out)
    await cli("case", "update", "1", "id_card", "in_progress", "--note", "Blanko di loket 3")
    await cli("case", "handover", "1", "--at", "2099-01-02 19:30", "--place", "Masjid Al-Huda")
    stranger = chat("7201")
    code = await report_by_nip(stranger)
    told = stranger.text
    for secret in (real_code, "sudah dilaporkan", "digabung", "#1", "loket", "Masjid", "Rahmat"):
        assert secret not in told, secret
    assert "KTP baru: belum diproses" in told  # their own report's statuses, not the case's
    control = chat("7202")
    control_code = await report_by_nip(control, nip=OTHER_NIP)  # the same day and time
    assert _shape(told, code) == _shape(control.text, control_code)
    assert stranger.labels == control.labels
    held = await _case(demo_app, 2)
    assert held.status == "duplicate" and held.duplicate_of_id == 1 and held.merged_into_id is None
    # Their code tracks their own report only, whoever holds it.
    holder = chat("7203")
    await holder.send("/lacak " + code)
    assert "#2" in holder.text and "KTP baru: belum diproses" in holder.text
    assert "#1" not in holder.text and "loket" not in holder.text
    await stranger.send("/menu")
    await stranger.press("Kasus keluarga saya")
    assert "#2" in stranger.text and "#1" not in stranger.text and "loket" not in stranger.text


async def test_stranger_with_the_real_code_and_own_phone_stays_a_follower(
    chat, cli, demo_app, inbox
) -> None:
    real_code = code_in((await cli(*OPEN)).out)
    stranger = chat("7210")
    await report_by_nip(stranger)  # stores the stranger's own phone, 0812-9999-1234
    await stranger.send("/lacak " + real_code)
    await stranger.press("Kirimi saya kabar")
    assert "Bagikan nomor HP" in stranger.text
    await stranger.share_contact("081299991234")  # their own phone, proven by the platform
    assert "tidak cocok" in stranger.text
    await stranger.send("/lacak " + real_code)
    await stranger.press("Kirimi saya kabar")
    await stranger.send(FAMILY_PHONE)  # the family's number typed: proves nothing
    assert "tidak cocok" in stranger.text
    merged = await cli("case", "merge", "2", "--yes")  # the desk folds their report in
    assert merged.code == 0, merged
    await stranger.send("/lacak " + real_code)
    await stranger.press("Kirimi saya kabar")
    await stranger.share_contact("081299991234")  # now a contact phone of the case itself
    assert "tidak cocok" in stranger.text
    await cli("case", "handover", "1", "--at", "2099-01-02 19:30", "--place", "Masjid Al-Huda")
    await _all_ready(cli, 1)
    got = await inbox("7210")
    assert any("Keempat dokumen" in g for g in got), got
    assert not any("loket" in g or "Masjid" in g for g in got), got
    await stranger.send("/menu")
    await stranger.press("Kasus keluarga saya")
    assert "Keempat dokumen sudah siap" in stranger.text
    assert "Masjid" not in stranger.text and "loket" not in stranger.text
    assert "Rahmat" not in stranger.text and "Sudah diterima" not in " ".join(stranger.labels)
    await stranger.action("case:received:1")
    assert "Hanya keluarga yang melapor" in stranger.text
    assert (await _case(demo_app, 1)).status == "ready"
    # The family whose phone the officer recorded proves it and may close the case.
    family = chat("7211")
    await family.send("/lacak " + real_code)
    await family.press("Kirimi saya kabar")
    await family.share_contact("0813-7777-8888")
    assert "cocok dengan catatan petugas" in family.text
    await family.send("/menu")
    await family.press("Kasus keluarga saya")
    assert "Masjid Al-Huda" in family.text and "loket 3" in family.text
    await family.press("Sudah diterima")
    await family.press("Ya, sudah diterima")  # asked first: it closes the case
    assert (await _case(demo_app, 1)).status == "closed"


async def test_desk_merges_a_pending_duplicate_after_confirming(chat, demo_app, inbox) -> None:
    first = chat("7220")
    await report_by_nip(first)
    second = chat("7221")
    second_code = await report_by_nip(second)
    officer = chat("7222")
    await link(officer, OFFICER_PHONE)
    await officer.press("Keluarga berduka")
    assert "Laporan ganda menunggu keputusan: 1" in officer.text
    await officer.press("Laporan ganda")
    assert "#2 Joko Siregar · mungkin sama dengan kasus #1" in officer.text
    await officer.press("#2")
    assert "laporan ganda" in officer.text and "kasus #1" in officer.text
    assert "Konfirmasi wafat" not in " ".join(officer.labels)  # decided first, matched later
    await officer.press("Gabung ke #1")
    assert "Gabungkan laporan #2 ke kasus #1?" in officer.text
    assert "tanpa verifikasi" in officer.text and "tempat serah terima" in officer.text
    assert (await _case(demo_app, 2)).status == "duplicate"  # asked, not done
    for forged in ("case:dupmergeok:2:99", "case:dupmergeok:1:1", "case:dupmergeok:abc:1"):
        await officer.action(forged)
        assert "sudah tidak berlaku" in officer.text
    assert (await _case(demo_app, 2)).status == "duplicate"
    await officer.press("Keluarga berduka")
    await officer.press("Laporan ganda")
    await officer.press("#2")
    await officer.press("Gabung ke #1")
    await officer.press("Ya, gabungkan")
    assert "Laporan #2 digabung ke kasus ini" in officer.text and "Kasus #1" in officer.text
    merged = await _case(demo_app, 2)
    assert merged.status == "merged" and merged.merged_into_id == 1
    await officer.action("case:dupmergeok:2:1")  # the same tap again does nothing
    assert "sudah tidak berlaku" in officer.text
    assert [a.target for a in await _audit(demo_app, "case.duplicate.merge")] == ["case:2"]
    async with demo_app.sessions() as session:
        kinds = {(e.case_id, e.kind) for e in await session.scalars(select(CaseEvent))}
        assert {(1, "duplicate"), (2, "duplicate"), (2, "merged"), (1, "merged")} <= kinds
    assert await inbox("7221") == [
        "Laporan Anda (kasus #2) sudah diperiksa petugas dan digabung dengan kasus #1. "
        "Kabar status dokumen akan kami kirim ke chat ini."
    ]
    await officer.action("case:show:1")
    await officer.press("KTP")
    await press_exact(officer, "diproses")
    await officer.send("Blanko di loket 3")
    assert (await inbox("7221"))[-1] == (
        "Kabar dokumen keluarga (kasus #1): KTP baru kini diproses."
    )  # statuses and dates only
    assert (await inbox("7220"))[-1].endswith("📝 Blanko di loket 3")
    # Their code now follows the case, statuses only.
    await second.send("/lacak " + second_code)
    assert "#1" in second.text and "loket" not in second.text
    # The reporter who opened the case is still its verified family.
    for doc in ("TASPEN", "Akta kematian", "KK", "KTP"):
        await officer.action("case:show:1")
        await officer.press(doc)
        await press_exact(officer, "siap")
        await officer.press("Tanpa catatan")
    await second.send("/menu")
    await second.press("Kasus keluarga saya")
    assert "Sudah diterima" not in " ".join(second.labels)
    await first.send("/menu")
    await first.press("Kasus keluarga saya")
    await first.press("Sudah diterima")
    await first.press("Ya, sudah diterima")  # asked first: it closes the case
    assert (await _case(demo_app, 1)).status == "closed"


async def test_desk_rejects_a_pending_duplicate_and_the_reporter_is_told_neutrally(
    chat, cli, demo_app, inbox
) -> None:
    await cli(*OPEN)
    stranger = chat("7230")
    code = await report_by_nip(stranger)
    listed = await cli("case", "list")
    assert "#1 [berjalan] Joko Siregar" in listed.out
    assert "#2 [laporan ganda] Joko Siregar · mungkin sama dengan #1" in listed.out
    asked = await cli("case", "reject", "2")
    assert asked.code == 2 and "akan ditolak" in asked.out and "--yes" in asked.err
    assert (await _case(demo_app, 2)).status == "duplicate"
    rejected = await cli("case", "reject", "2", "--yes")
    assert rejected.code == 0 and "Laporan #2 ditolak" in rejected.out
    assert (await _case(demo_app, 2)).status == "rejected"
    assert [a.target for a in await _audit(demo_app, "case.duplicate.reject")] == ["case:2"]
    told = await inbox("7230")
    assert told == [
        "Laporan Anda (kasus #2) sudah diperiksa petugas dan ditutup. "
        "Bila ada pertanyaan, silakan hubungi kantor kami."
    ]
    await stranger.send("/lacak " + code)
    assert "ditutup oleh petugas" in stranger.text and "#1" not in stranger.text
    again = await cli("case", "reject", "2", "--yes")
    assert again.code == 1 and "bukan laporan ganda" in again.err
    # An officer opening the same death again is told what any new case is told.
    fresh = await cli(
        "case", "open", "--nip", OTHER_NIP, "--died", "2026-11-19 10:00",
        "--family-name", "Rahmat", "--relation", "child", "--phone", FAMILY_PHONE,
    )  # fmt: skip
    repeat = await cli(*OPEN)
    assert _shape(repeat.out, code_in(repeat.out)) == _shape(fresh.out, code_in(fresh.out))
    assert (await _case(demo_app, 4)).status == "duplicate"
    plan = await cli("case", "merge", "4")
    assert plan.code == 2 and "akan digabung ke kasus #1" in plan.out
    assert (await _case(demo_app, 4)).status == "duplicate"
    done = await cli("case", "merge", "4", "--yes")
    assert done.code == 0 and "digabung ke kasus #1" in done.out
    shown = await cli("case", "show", "1")
    assert "dicatat petugas" in shown.out and "merged case:4" in shown.out


async def test_a_liaison_or_another_case_cannot_decide_a_duplicate(chat, demo_app) -> None:
    await report_by_nip(chat("7240"))
    await report_by_nip(chat("7241"))
    taspen = await staff_opens(chat, "7242", TASPEN_PHONE, 1)
    assert "Laporan ganda" not in taspen.text
    for forged in ("case:dupmerge:2", "case:dupmergeok:2:1", "case:duprejectok:2"):
        await taspen.action(forged)
        assert "bukan untuk akun Anda" in taspen.text
    officer = chat("7243")
    await link(officer, OFFICER_PHONE)
    for forged in ("case:duprejectok:1", "case:dupmerge:1", "case:duprejectok:999"):
        await officer.action(forged)  # case 1 is a case, not a duplicate
        assert "sudah tidak berlaku" in officer.text
    assert (await _case(demo_app, 1)).status == "open"
    assert (await _case(demo_app, 2)).status == "duplicate"
    await officer.action("case:dupreject:2")
    assert "Tolak laporan #2?" in officer.text and "tanpa menyebut kasus lain" in officer.text
    await officer.press("Ya, tolak")
    assert "Laporan #2 ditolak" in officer.text
    assert (await _case(demo_app, 2)).status == "rejected"


async def test_a_reporter_phone_merged_by_a_match_never_verifies(
    chat, cli, demo_app, inbox
) -> None:
    """A family's own report, merged into an officer's case when a death is confirmed, brings
    its phone along: that phone is the reporter's claim and must not verify them there."""
    real_code = code_in((await cli(*OPEN)).out)
    family = chat("7250")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send("J. Siregar")
    await family.send("Kantor yang tidak ada")  # no roster match: a case of its own
    await family.press("Kemarin")
    await family.press("Tidak ingat")
    await family.send("Tono")
    await family.press("Anak")
    await family.send("081255554444")
    await family.press("Kirim")
    assert (await _case(demo_app, 2)).status == "open"
    confirmed = await cli("case", "confirm", "2", "--nip", DECEASED_NIP)
    assert confirmed.code == 0, confirmed
    assert (await _case(demo_app, 2)).merged_into_id == 1
    await family.send("/lacak " + real_code)
    await family.press("Kirimi saya kabar")
    await family.share_contact("081255554444")
    assert "tidak cocok" in family.text
    await cli("case", "update", "1", "id_card", "in_progress", "--note", "Loket 3")
    assert (await inbox("7250"))[-1] == "Kabar dokumen keluarga (kasus #1): KTP baru kini diproses."
