"""The moment parser HR types schedules with (bot/services/when.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.services import when

JAKARTA = ZoneInfo("Asia/Jakarta")
# Tuesday 24 November 2026, 10:00 in Jakarta.
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def local(text: str) -> str | None:
    moment = when.parse(text, JAKARTA, NOW)
    return moment.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M") if moment else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("besok 07.30", "2026-11-25 07:30"),
        ("Besok jam 7 pagi", "2026-11-25 07:00"),
        ("lusa 08:00", "2026-11-26 08:00"),
        ("25/11 08:00", "2026-11-25 08:00"),
        ("25/11/2027 08.00", "2027-11-25 08:00"),
        ("01/02 08:00", "2027-02-01 08:00"),  # already past this year: next year
        ("2026-12-01 08:00", "2026-12-01 08:00"),
        ("jam 3 sore", "2026-11-24 15:00"),
        ("jam 1 siang", "2026-11-24 13:00"),
        ("jam 8 malam", "2026-11-24 20:00"),
        ("pukul 15.00 WIB", "2026-11-24 15:00"),
        ("08:00", "2026-11-25 08:00"),  # a time alone: its next occurrence
        ("senin 07.00", "2026-11-30 07:00"),
        ("hari Selasa 11.00", "2026-11-24 11:00"),  # today, still ahead
        ("selasa 07.00", "2026-12-01 07:00"),  # today, passed: next week
        ("Jum'at jam 9 pagi", "2026-11-27 09:00"),
        ("hari ini 07.00", "2026-11-24 07:00"),  # passed: returned, the caller refuses it
    ],
)
def test_common_forms(text: str, expected: str) -> None:
    assert local(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "besok", "besok pagi", "kemarin sore", "8", "25:00", "jam 15 pagi", "31/02 08:00", "x"],
)
def test_what_is_not_a_moment(text: str) -> None:
    assert when.parse(text, JAKARTA, NOW) is None


def test_clock_and_example() -> None:
    assert when.parse_clock("jam 7 pagi") == time(7, 0)
    assert when.parse_clock("08.15") == time(8, 15)
    assert when.parse_clock("besok 08.15") is None
    example = when.example(JAKARTA, NOW)
    assert example == "26/11 08.00" and when.parse(example, JAKARTA, NOW) > NOW  # type: ignore[operator]
