"""4-in-1 closing: who may close a case and the receipt recorded for the family."""

from __future__ import annotations

from tests.helpers.four_in_one_helpers import (
    OFFICER_PHONE,
    live_case,
    press_exact,
    report_by_nip,
    staff_opens,
)


async def _all_ready(officer, case_id: int, note: str | None = None) -> None:
    for doc in ("TASPEN", "Akta kematian", "KK", "KTP"):
        await officer.action(f"case:show:{case_id}")
        await officer.press(doc)
        await press_exact(officer, "siap")
        if note:
            await officer.send(note)
        else:
            await officer.press("Tanpa catatan")


async def test_code_holder_and_second_reporter_cannot_close_the_case(chat, demo_app, inbox) -> None:
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
    await stranger.press("Kasus keluarga saya")
    assert "Keempat dokumen sudah siap" in stranger.text
    assert "Masjid" not in stranger.text and "loket 3" not in stranger.text
    assert "Sudah diterima" not in stranger.labels and "Sudah diterima" not in stranger.text
    await stranger.action(f"case:received:{case.id}")
    assert "Hanya keluarga yang melapor" in stranger.text
    # Was: the second reporter was folded into the case and followed it. Now their report waits
    # for the desk, and until then they hear nothing of the first case at all.
    assert await inbox("7102") == []
    await second.send("/menu")
    await second.press("Kasus keluarga saya")
    assert "Buku tabungan TASPEN: belum diproses" in second.text
    assert "siap" not in second.text and "Masjid" not in second.text
    await second.action(f"case:received:{case.id}")
    assert "Kasus ini kami tutup" not in second.text
    assert (await live_case(demo_app)).status == "ready"
    assert any("Masjid" in g for g in await inbox("7101"))
    await family.send("/menu")
    await family.press("Kasus keluarga saya")
    assert "Masjid" in family.text and "loket 3" in family.text
    await family.press("Sudah diterima")
    await family.press("Ya, sudah diterima")  # asked first: it closes the case
    assert (await live_case(demo_app)).status == "closed"


async def test_officer_records_receipt_for_the_family(chat, demo_app) -> None:
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
