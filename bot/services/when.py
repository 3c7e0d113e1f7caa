"""Moments as people type them in Indonesian chats: "besok 07.30", "25/11 08:00", "jam 3 sore",
"senin 07.00", "2025-04-01 08:00", "lusa jam 7 pagi". Local to the agency's time zone.

A day without a time is refused (nobody means midnight), and so is a bare number ("8"): too easy to
misread. A time alone is its next occurrence; a weekday name the next such day (today if the time
is still ahead).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = {
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "sabtu": 5,
    "minggu": 6,
    "ahad": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
RELATIVE = {"hari ini": 0, "nanti": 0, "today": 0, "besok": 1, "tomorrow": 1, "lusa": 2}
_MOMENT = re.compile(
    r"^(?P<day>.*?)\s*(?:(?P<jam>jam|pukul|pk\.?|at)\s*)?(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?"
    r"(?:\s*(?P<part>pagi|siang|sore|malam))?$"
)
_NUMERIC_DAY = re.compile(r"^(\d{1,2})[/-](\d{1,2})(?:[/-](\d{4}))?$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _normalise(text: str) -> str:
    raw = text.lower().replace("jum'at", "jumat").replace(",", " ")
    raw = re.sub(r"\bhari\b(?! ini)|\b(?:wib|wita|wit|tanggal|tgl)\b\.?", " ", raw)
    return " ".join(raw.split())


def _hour(hour: int, part: str | None) -> int | None:
    """24-hour clock from "jam 3 sore" and the like; None if the hour cannot be that part."""
    if part is None or part == "pagi":
        return hour if hour < 24 and not (part == "pagi" and hour > 12) else None
    if hour > 12:
        return None
    if part == "siang":
        return hour + 12 if hour < 6 else hour  # jam 1 siang = 13:00, jam 11 siang = 11:00
    if part == "sore":
        return hour + 12 if hour < 12 else hour
    return (hour + 12) % 24 if hour >= 6 else hour  # malam: jam 8 malam = 20:00, jam 2 = 02:00


def parse_clock(text: str) -> time | None:
    """ "07.30", "7:30", "jam 7 pagi", "pukul 15.00" → a time of day; None if not one."""
    match = _MOMENT.match(_normalise(text))
    if match is None or match["day"]:
        return None
    return _clock(match)


def _clock(match: re.Match[str]) -> time | None:
    if match["m"] is None and not match["jam"] and not match["part"]:
        return None  # a bare number is not a time
    hour = _hour(int(match["h"]), match["part"])
    minute = int(match["m"] or 0)
    if hour is None or minute > 59:
        return None
    return time(hour, minute)


def _day(words: str, today: date) -> tuple[date | None, bool]:
    """The date named, and whether it may roll forward when the time has passed today."""
    if not words:
        return today, True
    if words in RELATIVE:
        return today + timedelta(days=RELATIVE[words]), False
    if words in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS[words] - today.weekday()) % 7), True
    try:
        if found := _ISO_DAY.match(words):
            year, month, day = (int(g) for g in found.groups())
            return date(year, month, day), False
        if found := _NUMERIC_DAY.match(words):
            day, month = int(found[1]), int(found[2])
            if found[3]:
                return date(int(found[3]), month, day), False
            this_year = date(today.year, month, day)
            return (this_year if this_year >= today else date(today.year + 1, month, day)), False
    except ValueError:  # 31/02 and the like
        return None, False
    return None, False


def parse(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The moment `text` names, as an aware UTC datetime; None if it names none. A moment in
    the past (e.g. "hari ini 07.00" at noon) is returned as such: the caller says it has passed."""
    match = _MOMENT.match(_normalise(text))
    if match is None:
        return None
    clock = _clock(match)
    local_now = now.astimezone(zone)
    day, rolls = _day(match["day"], local_now.date())
    if clock is None or day is None:
        return None
    moment = datetime.combine(day, clock, tzinfo=zone)
    if rolls and moment <= local_now:
        moment += timedelta(days=7 if match["day"] in WEEKDAYS else 1)
    return moment.astimezone(UTC)


def example(zone: ZoneInfo, now: datetime) -> str:
    """A dated example for error messages that is never in the past: the day after tomorrow."""
    return (now.astimezone(zone) + timedelta(days=2)).strftime("%d/%m 08.00")
