"""OFFICE_HOURS: read as "Mon-Fri 08:00-16:00" in the agency's zone; when the desk opens next."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.services.office_hours import parse

WEEKDAYS = parse("Mon-Fri 08:00-16:00")


@pytest.mark.parametrize(
    ("now_utc", "opens_local"),
    [
        # Saturday 10.00 WIB: Monday 08.00 WIB.
        (datetime(2026, 12, 5, 3, 0, tzinfo=UTC), datetime(2026, 12, 7, 8, 0)),
        # Monday 06.59 WIB: the same morning.
        (datetime(2026, 12, 6, 23, 59, tzinfo=UTC), datetime(2026, 12, 7, 8, 0)),
        # Friday 16.00 WIB, the closing minute: Monday.
        (datetime(2026, 12, 11, 9, 0, tzinfo=UTC), datetime(2026, 12, 14, 8, 0)),
        # Tuesday 20.00 WIB: Wednesday.
        (datetime(2026, 12, 8, 13, 0, tzinfo=UTC), datetime(2026, 12, 9, 8, 0)),
    ],
)
def test_next_opening_outside_hours(now_utc: datetime, opens_local: datetime) -> None:
    opening = WEEKDAYS.next_opening(now_utc, "Asia/Jakarta")
    assert opening is not None and opening.replace(tzinfo=None) == opens_local


def test_open_hours_promise_nothing_and_zones_count() -> None:
    monday_noon_wib = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    assert WEEKDAYS.next_opening(monday_noon_wib, "Asia/Jakarta") is None
    # The same instant is 14.00 WIT: still open; 07.30 WIB is closed until 08.00.
    assert WEEKDAYS.next_opening(monday_noon_wib, "Asia/Jayapura") is None
    early = WEEKDAYS.next_opening(datetime(2026, 12, 7, 0, 30, tzinfo=UTC), "Asia/Jakarta")
    assert early is not None and (early.hour, early.day) == (8, 7)


def test_shapes_read_and_refused() -> None:
    assert parse("sat 08.00-12.00").weekdays == {5}
    assert parse("Sat-Mon 09:00-10:00").weekdays == {5, 6, 0}
    for bad in ("weekdays", "Mon-Fri 16:00-08:00", "Mon-Fry 08:00-16:00", ""):
        with pytest.raises(ValueError):
            parse(bad)
    with pytest.raises(ValueError):
        Settings(office_hours="sometimes")
