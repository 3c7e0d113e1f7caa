"""Days and times as people type them (bot/services/when.py): one grammar for every flow.

The table says what a schedule (a broadcast, a reminder, a 4-in-1 handover: looking ahead) and a
death (looking back) make of the same words; the tests after it are each flow's own entry point.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.services import four_in_one as cases
from bot.services import when
from bot.services.when import Ambiguous, Lean

JAKARTA = ZoneInfo("Asia/Jakarta")
# Tuesday 24 November 2026, 10:00 in Jakarta.
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


ASK = "ask"  # morning or evening: the flow asks back


def local(text: str) -> str | None:
    moment = when.parse(text, JAKARTA, NOW)
    return moment.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M") if moment else None


def read(text: str, lean: Lean) -> str | None:
    moment = when.read(text, JAKARTA, NOW, lean)
    if isinstance(moment, Ambiguous):
        return ASK
    return moment.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M") if moment else None


# text, looking ahead, looking back. Tuesday 24 November 2026, 10:00 in Jakarta.
TABLE = [
    ("besok 07.30", "2026-11-25 07:30", "2026-11-25 07:30"),
    ("25/11 08:00", "2026-11-25 08:00", "2026-11-25 08:00"),
    ("25 Nov 08.00", "2026-11-25 08:00", "2026-11-25 08:00"),  # the broadcast refused this
    ("2026-12-01 08:00", "2026-12-01 08:00", "2026-12-01 08:00"),
    ("21-11 19.30", "2026-11-21 19:30", "2026-11-21 19:30"),  # three days ago, either way
    ("01/02 08:00", "2027-02-01 08:00", "2026-02-01 08:00"),
    ("30 Des 08.00", "2026-12-30 08:00", "2025-12-30 08:00"),
    ("senin 07.00", "2026-11-30 07:00", "2026-11-23 07:00"),  # the 4-in-1 refused this
    ("selasa 07.00", "2026-12-01 07:00", "2026-11-24 07:00"),
    ("hari ini 07.00", "2026-11-24 07:00", "2026-11-24 07:00"),
    ("kemarin 14.30", "2026-11-23 14:30", "2026-11-23 14:30"),
    ("kemarin jam 3 sore", "2026-11-23 15:00", "2026-11-23 15:00"),
    ("08:00", "2026-11-25 08:00", "2026-11-24 08:00"),  # a time alone: next, or today
    ("0730", "2026-11-25 07:30", "2026-11-24 07:30"),
    ("15,30", "2026-11-24 15:30", "2026-11-24 15:30"),
    ("19", "2026-11-24 19:00", "2026-11-24 19:00"),  # only a 24-hour clock has 19
    ("23:59 WIB", "2026-11-24 23:59", "2026-11-24 23:59"),
    ("jam 5 siang", "2026-11-24 17:00", "2026-11-24 17:00"),  # the 4-in-1 read 05.00
    ("jam 1 siang", "2026-11-24 13:00", "2026-11-24 13:00"),
    ("jam 11 siang", "2026-11-24 11:00", "2026-11-24 11:00"),
    ("jam 8 malam", "2026-11-24 20:00", "2026-11-24 20:00"),
    ("jam 1 malam", "2026-11-25 01:00", "2026-11-24 01:00"),
    ("jam 12 malam", "2026-11-25 00:00", "2026-11-24 00:00"),
    ("12 pm", "2026-11-24 12:00", "2026-11-24 12:00"),
    # English parts of the day, after the hour.
    ("tomorrow 8 in the morning", "2026-11-25 08:00", "2026-11-25 08:00"),
    ("8 in the evening", "2026-11-24 20:00", "2026-11-24 20:00"),
    ("3 in the afternoon", "2026-11-24 15:00", "2026-11-24 15:00"),
    ("friday 7pm", "2026-11-27 19:00", "2026-11-20 19:00"),
    ("tomorrow 07.30", "2026-11-25 07:30", "2026-11-25 07:30"),
    ("monday 07.00", "2026-11-30 07:00", "2026-11-23 07:00"),
    ("10 at night", "2026-11-24 22:00", "2026-11-24 22:00"),
    ("jam 5 subuh", "2026-11-25 05:00", "2026-11-24 05:00"),
    # An hour that may be morning or evening is asked back, not guessed (the 4-in-1 took "7"
    # as 07.00, the broadcast refused "8" and took "jam 7" as 07.00).
    ("8", ASK, ASK),
    ("jam 7", ASK, ASK),
    ("pukul 7", ASK, ASK),
    ("besok jam 7", ASK, ASK),
    ("senin 8", ASK, ASK),
    # Not a moment.
    ("besok", None, None),
    ("kemarin sore", None, None),
    ("jam 15 pagi", None, None),
    ("31/02 08:00", None, None),
    ("x", None, None),
    ("", None, None),
]


@pytest.mark.parametrize(("text", "ahead", "back"), TABLE)
def test_one_table_for_every_flow(text: str, ahead: str | None, back: str | None) -> None:
    assert read(text, Lean.FUTURE) == ahead
    assert read(text, Lean.PAST) == back


def test_an_ambiguous_hour_offers_both_halves_of_the_day() -> None:
    moment = when.read("besok jam 7", JAKARTA, NOW)
    assert isinstance(moment, Ambiguous)
    assert moment.early == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 07.00 WIB
    assert moment.late == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 19.00 WIB
    assert when.read_clock("jam 7") == Ambiguous(time(7), time(19))
    # Where a flow cannot ask yet, it says which reading it keeps: a schedule or a reminder
    # refuses the hour; the 4-in-1 death time keeps its old morning reading (see parse_time).
    assert when.parse("jam 7", JAKARTA, NOW) is None and when.parse_clock("jam 7") is None
    assert when.parse_time("jam 7") == time(7)


# The answer to "morning or evening?" after "besok jam 8" (08.00 or 20.00 WIB), and after
# "besok jam 12" (12.00 or 00.00) and "besok jam 3" (03.00 or 15.00).
ANSWERS = [
    ("besok jam 8", "pagi", "08:00"),
    ("besok jam 8", "yg pagi", "08:00"),
    ("besok jam 8", "Yang Pagi", "08:00"),
    ("besok jam 8", "subuh", "08:00"),
    ("besok jam 8", "malam", "20:00"),
    ("besok jam 8", "yg malam", "20:00"),
    ("besok jam 8", "mlm", "20:00"),
    ("besok jam 8", "malem", "20:00"),
    ("besok jam 8", "maalam", "20:00"),  # a typo
    ("besok jam 8", "sore", "20:00"),
    ("besok jam 8", "morning", "08:00"),
    ("besok jam 8", "in the morning", "08:00"),
    ("besok jam 8", "evening", "20:00"),
    ("besok jam 8", "the evening", "20:00"),
    ("besok jam 8", "evenign", "20:00"),  # a typo
    ("besok jam 8", "night", "20:00"),
    ("besok jam 8", "1", "08:00"),
    ("besok jam 8", "2", "20:00"),
    ("besok jam 8", "#2", "20:00"),
    ("besok jam 12", "siang", "12:00"),
    ("besok jam 12", "malam", "00:00"),
    ("besok jam 3", "sore", "15:00"),
    ("besok jam 3", "afternoon", "15:00"),
    ("besok jam 3", "pagi", "03:00"),
    # Not an answer: the flow reads the text as a fresh time (or asks again).
    ("besok jam 8", "3", None),
    ("besok jam 8", "besok", None),
    ("besok jam 8", "pagi malam", None),
    ("besok jam 8", "x", None),
    ("besok jam 8", "", None),
]


@pytest.mark.parametrize(("asked", "answer", "expected"), ANSWERS)
def test_an_answer_picks_one_reading(asked: str, answer: str, expected: str | None) -> None:
    moment = when.read(asked, JAKARTA, NOW)
    assert isinstance(moment, Ambiguous)
    picked = when.choose(moment, answer, JAKARTA)
    assert (picked.astimezone(JAKARTA).strftime("%H:%M") if picked else None) == expected
    assert picked is None or picked in (moment.early, moment.late)


def test_a_reading_names_its_part_of_the_day() -> None:
    def at(hour: int) -> datetime:
        return datetime(2026, 11, 25, hour, tzinfo=JAKARTA)

    parts = [when.part_of(at(h), JAKARTA) for h in (0, 3, 4, 8, 11, 14, 15, 17, 18, 23)]
    night, morning, midday, afternoon = ["malam"] * 2, ["pagi"] * 2, ["siang"] * 2, ["sore"] * 2
    assert parts == [*night, *morning, *midday, *afternoon, *night]


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


# --- The 4-in-1 flow: the day and time of a death, and the handover moment --------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21-11-2026", date(2026, 11, 21)),
        ("21/11/26", date(2026, 11, 21)),
        ("3.1", date(2026, 1, 3)),
        ("31-02-2026", None),
        ("kemarin", date(2026, 11, 23)),
        ("hari ini", date(2026, 11, 24)),
        ("besok", date(2026, 11, 25)),  # the caller refuses it with its own words
        ("21 November", date(2026, 11, 21)),
        ("21 Nov", date(2026, 11, 21)),
        ("2026-11-21", date(2026, 11, 21)),
        ("21/11", date(2026, 11, 21)),
        ("30 Des", date(2025, 12, 30)),  # no year: the last one, not eleven months ahead
        ("kemarinan", None),
        ("1-2-3-4", None),
        ("senin", date(2026, 11, 23)),  # the last Monday
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert cases.parse_date(text, date(2026, 11, 24)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14.30", time(14, 30)),
        ("7", time(7)),  # an existing guess the death-time step keeps (see parse_time)
        ("0730", time(7, 30)),
        ("23:59 WIB", time(23, 59)),
        ("jam 3 sore", time(15)),
        ("3 sore", time(15)),
        ("pukul 15.00", time(15)),
        ("15,30", time(15, 30)),
        ("jam 7 malam", time(19)),
        ("jam 1 malam", time(1)),
        ("10 pagi", time(10)),
        ("1 siang", time(13)),
    ],
)
def test_parse_time(text: str, expected: time) -> None:
    assert cases.parse_time(text) == expected


@pytest.mark.parametrize("text", ["25.00", "12.60", "siang", "", "jam 15 sore"])
def test_parse_time_refuses(text: str) -> None:
    assert cases.parse_time(text) is None


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("21-11 19.30", datetime(2026, 11, 21, 12, 30, tzinfo=UTC)),
        ("19.30", datetime(2026, 11, 24, 12, 30, tzinfo=UTC)),
        ("besok jam 7 malam", datetime(2026, 11, 25, 12, 0, tzinfo=UTC)),
        ("25 Nov pukul 15.00", datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
        ("31-02 19.30", None),
        ("besok 25.00", None),
        ("Balai Kota", None),
    ],
)
def test_handover_moment(text: str, moment: datetime | None) -> None:
    assert when.parse(text, JAKARTA, NOW) == moment


def test_a_new_time_is_no_answer_to_the_old_question() -> None:
    zone = ZoneInfo("Asia/Jakarta")
    asked = when.Ambiguous(
        datetime(2026, 12, 8, 7, tzinfo=zone), datetime(2026, 12, 8, 19, tzinfo=zone)
    )
    assert when.choose(asked, "yg malam", zone) == asked.late
    assert when.choose(asked, "jam 8 malam", zone) is None  # read as a new time by the caller
    assert when.tail_clock("kemarin jam 7") == (1, when.Ambiguous(time(7), time(19)))
