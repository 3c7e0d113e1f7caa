"""4-in-1 report: everyday Indonesian dates and times of death and handover, as typed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.models import Agency
from tests.helpers.four_in_one_helpers import (
    DECEASED_NIP,
    OFFICER_PHONE,
    code_in,
    live_case,
    report_by_nip,
    staff_opens,
)


def _morning_zone() -> str:
    """A zone where it is morning right now, so that noon today is still ahead."""
    hour = datetime.now(UTC).hour
    for offset in range(-12, 15):
        if 1 <= (hour + offset) % 24 <= 10:
            # POSIX Etc zones count the other way: Etc/GMT-7 is UTC+7.
            return f"Etc/GMT{-offset:+d}" if offset else "UTC"
    raise AssertionError("unreachable")


async def test_today_with_unknown_time_is_accepted_and_not_made_up(chat, demo_app) -> None:
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


async def _at_date_step(chat, ref: str):
    family = chat(ref)
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    return family


async def test_everyday_indonesian_dates_and_times_are_understood(chat, demo_app) -> None:
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


async def test_handover_time_and_place_asked_apart_late_time_warned(chat, demo_app) -> None:
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
    await officer.action("case:show:1")  # the card keeps what the desk set
    assert (
        "Serah terima: " in officer.text
        and "pukul 10.00 WIB, di Balai Kota, ruang 2" in officer.text
    )


async def test_a_bare_hour_at_the_time_step_is_a_time(chat, demo_app) -> None:
    """On WhatsApp "2" would otherwise pick the second button and drop the report. Yesterday
    at 2 may be 02.00 or 14.00: asked back, not guessed; a part of the day answers."""
    family = chat("7190")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    await family.press("Kemarin")
    await family.send("2")
    assert "pukul 02.00 WIB atau" in family.text and "pukul 14.00 WIB" in family.text
    assert "Silakan pilih layanan" not in family.text
    await family.send("yg siang")
    assert "Siapa nama Anda" in family.text  # the report goes on
    await family.send("Sari, anaknya, 0812 3456 7890")
    assert "pukul 14.00" in family.text and "Mohon periksa" in family.text


async def test_an_hour_asked_back_is_answered_by_its_button_or_number(chat, demo_app) -> None:
    family = chat("7191")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    await family.press("Kemarin")
    await family.send("jam 7")
    await family.press("19.00")
    assert "Siapa nama Anda" in family.text
    await family.send("Sari, anaknya, 0812 3456 7890")
    assert "pukul 19.00" in family.text


async def test_an_hour_with_the_day_is_asked_back_a_new_time_replaces_it(chat, demo_app) -> None:
    family = chat("7193")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    await family.send("kemarin jam 7")  # the hour came with the day: not dropped, asked back
    assert "pukul 07.00 WIB atau" in family.text and "pukul 19.00 WIB" in family.text
    await family.send("jam 8 malam")  # a new time, not "malam" for the old hour
    assert "Siapa nama Anda" in family.text
    await family.send("Sari, anaknya, 0812 3456 7890")
    assert "pukul 20.00" in family.text


async def test_a_phone_typed_at_the_hour_question_is_no_hour(chat, demo_app) -> None:
    family = chat("7194")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send(DECEASED_NIP)
    await family.send("Joko Siregar")
    await family.press("Kemarin")
    await family.send("Rina 081234567890")
    assert "nomor Anda sudah kami catat" in family.text and "jam berapa" in family.text
    assert "pukul 01.00" not in family.text
