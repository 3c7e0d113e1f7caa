"""4-in-1 report: a grieving family typing informally on a cheap phone (an outside tryout).

Each test is one conversation from the tryout's findings: "td pagi" said before dawn, a time
typed at the unit question, a unit typed after the name, a time typed at the summary.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot import dates
from storage.models import Agency
from tests.helpers.four_in_one_helpers import live_case


def _zone_at(hours: range) -> str:
    """A zone where the local hour is now one of `hours` (whole-hour POSIX zones)."""
    hour = datetime.now(UTC).hour
    for offset in range(-12, 15):
        if (hour + offset) % 24 in hours:
            # POSIX Etc zones count the other way: Etc/GMT-7 is UTC+7.
            return f"Etc/GMT{-offset:+d}" if offset else "UTC"
    raise AssertionError("unreachable")


async def _agencies_in(demo_app, zone: str) -> None:
    async with demo_app.sessions() as session, session.begin():
        for agency in await session.scalars(select(Agency)):
            agency.timezone = zone


async def test_td_pagi_before_dawn_is_this_morning_and_the_date_is_shown(chat, demo_app) -> None:
    zone = _zone_at(range(4, 6))  # 04.00-05.59: this morning's small hours have passed
    await _agencies_in(demo_app, zone)
    family = chat("8931")
    await family.send("/start")
    await family.send("bapak sy meninggal td pagi")
    today = dates.day(datetime.now(UTC), "id", zone)  # "Selasa, 8 Des 2026"
    assert f"Meninggal: {today.rsplit(' ', 1)[0]}" in family.text, family.text
    await family.send("Budi Santoso, setda")
    await family.send("Rina anaknya 0812 3456 7890")
    assert "Mohon periksa" in family.text and today in family.text, family.text
    await family.press("Kirim")
    case = await live_case(demo_app)
    assert dates.day(case.died_at.replace(tzinfo=UTC), "id", zone) == today


async def test_a_time_typed_at_the_unit_question_is_no_unit(chat, demo_app) -> None:
    family = chat("8932")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send("Budi Santoso")
    assert "unit kerja mana" in family.text
    for typed in ("jam 5an", "jam 5-an", "sekitar jam 5", "kira2 jam 5"):
        await family.send(typed)
        assert "bukan unit kerja" in family.text and "unit kerja mana" in family.text, typed
        assert "Unit kerja:" not in family.text, typed
    await family.send("kemarin")  # a day is no unit either, but it is kept
    assert "sudah kami catat" in family.text and "unit kerja mana" in family.text
    await family.send("dinkes")
    assert "Sekitar jam berapa" in family.text, family.text  # the day was kept


async def test_a_unit_after_the_name_is_split_off_with_or_without_a_comma(chat, demo_app) -> None:
    for ref, typed in (("8933", "budi santoso dinkes"), ("8934", "budi santoso, dinkes")):
        family = chat(ref)
        await family.send("/start")
        await family.press("Keluarga berduka")
        await family.send(typed)
        assert "unit kerja mana" not in family.text, (typed, family.text)
        await family.press("Kemarin")
        await family.send("jam 7 malam")
        await family.send("Rina anaknya 0812 3456 7890")
        assert "Mohon periksa" in family.text, family.text
        assert "Almarhum/almarhumah: Budi Santoso\n" in family.text, family.text
        assert "Dinkes" not in family.text and "Dinas Kesehatan" in family.text, family.text


async def test_common_unit_forms_after_a_name(chat, demo_app) -> None:
    for ref, typed, unit in (
        ("8935", "siti aminah kec. sukamaju", "Kecamatan Sukamaju"),
        ("8936", "Siti Aminah kecamatan sukamaju", "Kecamatan Sukamaju"),
        ("8937", "siti aminah bkpsdm", "BKPSDM"),
    ):
        family = chat(ref)
        await family.send("/start")
        await family.send("ibu sy meninggal kemarin jam 3 sore")
        await family.send(typed)
        assert f"Unit kerja: {unit}" in family.text, (typed, family.text)
        assert "Almarhum/almarhumah: Siti Aminah\n" in family.text, (typed, family.text)


async def _at_summary(chat, ref: str):
    """A family at the summary of a death yesterday at 15.00."""
    family = chat(ref)
    await family.send("/start")
    await family.send("bapak sy meninggal kemarin jam 3 sore")
    await family.send("Budi Santoso, setda")
    await family.send("Rina anaknya 0812 3456 7890")
    return family


async def test_a_time_at_the_summary_corrects_the_time_of_death(chat, demo_app) -> None:
    await _agencies_in(demo_app, _zone_at(range(10, 18)))  # 05.00 today has passed
    family = await _at_summary(chat, "8938")
    assert "Mohon periksa" in family.text and "pukul 15.00" in family.text
    await family.send("jam 7 malam")
    assert "Mohon periksa" in family.text and "pukul 19.00" in family.text, family.text
    assert "belum kami tangkap" not in family.text
    await family.send("jam 9")  # morning or evening: asked back, then the summary again
    assert "Pagi atau malam" in family.text, family.text
    await family.send("malam")
    assert "Mohon periksa" in family.text and "pukul 21.00" in family.text, family.text
    await family.send("td jam 5 pagi")
    assert "Mohon periksa" in family.text and "pukul 05.00" in family.text, family.text
    await family.press("Kirim")
    case = await live_case(demo_app)
    assert case.died_at is not None


async def test_a_time_still_ahead_at_the_summary_is_refused_not_taken(chat, demo_app) -> None:
    await _agencies_in(demo_app, _zone_at(range(7, 20)))  # 05.00 has passed, 23.00 has not
    family = await _at_summary(chat, "8940")
    await family.send("td jam 5 pagi")
    assert "pukul 05.00" in family.text, family.text
    await family.send("jam 11 malam")  # today, still ahead
    assert "belum lewat" in family.text, family.text
    assert "sudah kami ubah" not in family.text, family.text


async def test_a_family_with_a_live_case_finds_it_first_in_a_new_session(chat, demo_app) -> None:
    family = await _at_summary(chat, "8939")
    await family.press("Kirim")
    again = chat("8939")  # another day: a new session, nothing kept but the account
    await again.send("/start")
    assert "Kasus keluarga saya" in again.labels[0], again.labels
    assert not any("Keluarga berduka" in label for label in again.labels), again.labels
    await again.press("Kasus keluarga saya")
    assert "Dokumen keluarga (kasus #" in again.text, again.text
    assert any("Hak keluarga" in label for label in again.labels), again.labels
    assert any("Tanya petugas" in label for label in again.labels), again.labels
    stranger = chat("8940")  # no case: the entry to report one, as before
    await stranger.send("/start")
    assert any("Keluarga berduka" in label for label in stranger.labels), stranger.labels
