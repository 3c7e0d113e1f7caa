"""When the 4-in-1 desk answers: OFFICE_HOURS such as "Mon-Fri 08:00-16:00" in the agency's
time zone, and the next opening for a family who writes outside them. Stdlib only: the
configuration checks the setting with `parse` at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHAPE = re.compile(
    r"\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}[:.]\d{2})\s*-\s*(?P<close>\d{1,2}[:.]\d{2})\s*"
)


@dataclass(frozen=True)
class OfficeHours:
    weekdays: frozenset[int]  # Monday is 0
    opens: time
    closes: time

    def is_open(self, local: datetime) -> bool:
        return local.weekday() in self.weekdays and self.opens <= local.time() < self.closes

    def next_opening(self, now: datetime, zone: str) -> datetime | None:
        """None while the desk is open; else the moment it opens next (aware, in `zone`)."""
        local = now.astimezone(ZoneInfo(zone))
        if self.is_open(local):
            return None
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            opening = datetime.combine(day, self.opens, tzinfo=ZoneInfo(zone))
            if day.weekday() in self.weekdays and opening > local:
                return opening
        return None  # no working day at all: nothing to promise


def _clock(text: str) -> time:
    hours, minutes = re.split(r"[:.]", text)
    return time(int(hours), int(minutes))


def parse(text: str) -> OfficeHours:
    """ "Mon-Fri 08:00-16:00" or "Sat 08.00-12.00"; ValueError for anything else."""
    found = _SHAPE.fullmatch(text.lower())
    if found is None or found["first"] not in DAYS or (found["last"] or "mon") not in DAYS:
        raise ValueError(f"office hours {text!r} are not like 'Mon-Fri 08:00-16:00'")
    first = DAYS.index(found["first"])
    last = DAYS.index(found["last"]) if found["last"] else first
    # "Sat-Mon" wraps over the week's end.
    span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
    days = frozenset(span)
    opens, closes = _clock(found["open"]), _clock(found["close"])
    if opens >= closes:
        raise ValueError(f"office hours {text!r} close before they open")
    return OfficeHours(days, opens, closes)
