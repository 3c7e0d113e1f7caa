"""What a family's free words say, read without a chat: names, units, times as people type them."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.services import four_in_one as cases
from bot.services import four_in_one_words as words

WIB = ZoneInfo("Asia/Jakarta")

UNITS = ["BKPSDM", "Dinas Kesehatan", "Dinas Pendidikan", "Kecamatan Sukamaju"]


def test_reporter_names_read_from_natural_replies() -> None:
    assert words.contact_of("nama sy rina wati anak pertama 0812 3456 7890") == "Rina Wati"
    assert words.contact_of("saya anaknya, rina") == "Rina"
    assert words.contact_of("I am his daughter, Rina") == "Rina"
    assert words.contact_of("I am his son Andi, 0813 2222 3333") == "Andi"
    assert words.contact_of("iya") is None and words.contact_of("ok siap") is None
    assert words.contact_of("Putri, anaknya") == "Putri"  # a relation word that is a name
    assert words.own_name_of("perkenalkan, nama saya Rina") == "Rina"
    assert words.own_name_of("saya mau lapor") is None
    assert words.name_of("nama saya rina, anaknya", loose=True) is None
    assert words.name_of("my father passed away", loose=True) is None
    assert words.name_of("ini Budi Santoso", loose=True) == "Budi Santoso"
    assert words.name_of("putri gunawan", loose=True) == "Putri Gunawan"
    assert words.name_of("namanya salah, yg benar Siti Aminah Lubis") == "Siti Aminah Lubis"
    assert words.is_acknowledgement("iya min") and not words.is_acknowledgement("setda")


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("bapak Sutrisno, dinas pu", "Dinas PU"),
        ("Siti Aminah, guru SD 3", "SD 3"),
        ("ibu sy meninggal semalam, beliau guru sd negeri 3", "SD Negeri 3"),
        ("unitnya SMP 2 bukan SD", "SMP 2"),
        ("kerjanya di Bappeda", "Bappeda"),
        ("he worked at the health office", "Health Office"),
        ("Budi, kecamatan sukamaju", "Kecamatan Sukamaju"),
    ],
)
def test_a_unit_is_read_and_written_as_typed(text: str, unit: str) -> None:
    assert words.pick_unit(text, UNITS, cases.unit_words) == (unit, [])


def test_abbreviated_night_is_night() -> None:
    found = words.when_of("kmrn mlm jam 9", date(2026, 12, 7))
    assert found.days_ago == 1 and found.clock == time(21, 0)


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (datetime(2026, 12, 8, 0, 40, tzinfo=WIB), date(2026, 12, 7)),  # just after midnight
        (datetime(2026, 12, 8, 9, 0, tzinfo=WIB), date(2026, 12, 8)),  # later that morning
    ],
)
def test_this_morning_said_just_after_midnight_is_the_day_that_ended(now, day) -> None:
    found = words.when_of("ibu sy meninggal tadi subuh jam 4", now.date())
    assert words.resolve(found, now.date(), now) == (day, time(4, 0))


@pytest.mark.parametrize(
    ("said", "now", "day"),
    [
        ("bapak sy meninggal td pagi", datetime(2026, 12, 8, 0, 45, tzinfo=WIB), date(2026, 12, 7)),
        ("bapak sy meninggal td pagi", datetime(2026, 12, 8, 10, 0, tzinfo=WIB), date(2026, 12, 8)),
        ("meninggal tadi subuh", datetime(2026, 12, 8, 5, 30, tzinfo=WIB), date(2026, 12, 8)),
    ],
)
def test_a_part_of_today_not_yet_come_is_yesterday_in_the_small_hours(said, now, day) -> None:
    found = words.when_of(said, now.date())
    assert words.resolve(found, now.date(), now)[0] == day


def test_two_in_the_night_said_before_two_is_the_night_before() -> None:
    now = datetime(2026, 12, 8, 0, 55, tzinfo=WIB)
    found = words.when_of("suamiku meninggal semalam jam 2 pagi", now.date())
    assert words.resolve(found, now.date(), now) == (date(2026, 12, 7), time(2, 0))
