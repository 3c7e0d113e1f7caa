"""The third-night deadline: time zones, month and year ends, deaths either side of midnight."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import translator
from bot.services.four_in_one.deadline import (
    DeadlineRule,
    deadline,
    when_text,
    zone_abbreviation,
)

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"


def local(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[arg-type, misc]


@pytest.mark.parametrize(
    ("zone", "died", "due"),
    [
        # Thursday 19 Nov 2026 in Jakarta -> Saturday 21 Nov, 19.00 WIB = 12.00 UTC.
        (WIB, (2026, 11, 19, 10, 0), datetime(2026, 11, 21, 12, 0, tzinfo=UTC)),
        (WITA, (2026, 11, 19, 10, 0), datetime(2026, 11, 21, 11, 0, tzinfo=UTC)),
        (WIT, (2026, 11, 19, 10, 0), datetime(2026, 11, 21, 10, 0, tzinfo=UTC)),
        # Month end, year end, leap day.
        (WIB, (2026, 11, 30, 8, 0), datetime(2026, 12, 2, 12, 0, tzinfo=UTC)),
        (WIT, (2026, 12, 31, 23, 0), datetime(2027, 1, 2, 10, 0, tzinfo=UTC)),
        (WITA, (2028, 2, 28, 6, 0), datetime(2028, 3, 1, 11, 0, tzinfo=UTC)),
        (WIB, (2027, 2, 28, 6, 0), datetime(2027, 3, 2, 12, 0, tzinfo=UTC)),
    ],
)
def test_third_night_in_each_zone(zone: str, died: tuple[int, ...], due: datetime) -> None:
    assert deadline(local(zone, *died), zone) == due


def test_a_minute_either_side_of_local_midnight_moves_the_deadline_a_day() -> None:
    before = local(WIB, 2026, 11, 30, 23, 59)
    after = local(WIB, 2026, 12, 1, 0, 1)
    assert deadline(before, WIB) == local(WIB, 2026, 12, 2, 19, 0)
    assert deadline(after, WIB) == local(WIB, 2026, 12, 3, 19, 0)
    # The same UTC instant is a different local day in Jayapura (UTC+9) than in Jakarta (UTC+7).
    instant = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 23.30 WIB, 01.30 WIT next day
    assert deadline(instant, WIB) == local(WIB, 2027, 1, 2, 19, 0)
    assert deadline(instant, WIT) == local(WIT, 2027, 1, 3, 19, 0)


def test_the_rule_is_configurable_and_checked() -> None:
    died = local(WITA, 2026, 11, 19, 10, 0)
    assert deadline(died, WITA, DeadlineRule(night=1, hour=21)) == local(WITA, 2026, 11, 19, 21, 0)
    assert deadline(died, WITA, DeadlineRule(night=7, hour=8)) == local(WITA, 2026, 11, 25, 8, 0)
    with pytest.raises(ValueError):
        DeadlineRule(night=0)
    with pytest.raises(ValueError):
        DeadlineRule(hour=24)
    with pytest.raises(ValueError):
        deadline(datetime(2026, 1, 1), WIB)  # naive


zones = st.sampled_from([WIB, WITA, WIT, "Europe/Berlin", "America/New_York"])
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(instants, zones, st.integers(1, 14), st.integers(0, 23))
def test_deadline_properties(died: datetime, zone: str, night: int, hour: int) -> None:
    due = deadline(died, zone, DeadlineRule(night=night, hour=hour))
    day_of_death = died.astimezone(ZoneInfo(zone)).date()
    due_local = due.astimezone(ZoneInfo(zone))
    # On the right local day, at the hour (a DST gap may push a non-Indonesian clock an hour).
    assert due_local.date() == day_of_death + timedelta(days=night - 1)
    assert due_local.hour in (hour, (hour + 1) % 24)
    assert due.tzinfo is not None
    if zone in (WIB, WITA, WIT):
        assert due_local.time() == time(hour)


@given(instants, st.sampled_from([WIB, WITA, WIT]))
def test_deadline_is_monotonic_in_the_time_of_death(died: datetime, zone: str) -> None:
    later = died + timedelta(hours=5)
    assert deadline(later, zone) >= deadline(died, zone)
    assert deadline(later, zone) - deadline(died, zone) in (timedelta(0), timedelta(days=1))


def test_deadline_in_words_in_both_languages() -> None:
    due = deadline(local(WIB, 2024, 11, 19, 9, 0), WIB)  # Thursday 21 Nov 2024
    assert when_text(translator("id"), due, WIB) == "Kamis malam, 21 Nov, pukul 19.00 WIB"
    assert when_text(translator("en"), due, WIB) == "Thursday evening, 21 Nov, at 19.00 WIB"
    assert when_text(translator("id"), due, WITA).endswith("pukul 20.00 WITA")
    assert when_text(translator("id"), due, WIT).endswith("pukul 21.00 WIT")
    assert zone_abbreviation(due, "Europe/Berlin") == "CET"
