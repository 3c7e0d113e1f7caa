"""Days and times as people type them in Indonesian chats, for every flow that asks for one.

"besok 07.30", "25/11 08:00", "25 Nov pukul 15.00", "jam 3 sore", "senin 07.00", "kemarin",
"2026-04-01 08:00", "lusa jam 7 pagi", "14.30", "0730", "15,30". Local to the agency's time zone.

One grammar, two leanings: a schedule or a handover looks ahead (`Lean.FUTURE`), a death looks
back (`Lean.PAST`). The leaning decides only what the words leave open: the year of "21/11", which
Monday "senin" is, and whether a time alone that has passed today means tomorrow.

An hour from 1 to 12 said without minutes or a part of the day ("8", "jam 7") could be morning
or evening: it reads as `Ambiguous`, for the caller to ask back; `choose` reads the answer ("1",
"2", "yg pagi", "evening"). A day without a time is not a moment (nobody means midnight).
English parts of the day follow the hour: "tomorrow 8 in the morning", "8 in the evening".
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo


class Lean(Enum):
    PAST = "past"
    FUTURE = "future"


T = TypeVar("T", time, datetime)


@dataclass(frozen=True, slots=True)
class Ambiguous(Generic[T]):
    """An hour that may be either half of the day: "jam 7" is `early` 07.00 or `late` 19.00."""

    early: T
    late: T

    def reading(self, number: str) -> T | None:
        """The reading a choice names: "1" the early one, "2" the late one (as offered)."""
        return self.early if number == "1" else self.late if number == "2" else None


def held(moment: Ambiguous[datetime]) -> list[str]:
    """The two readings as a conversation's draft keeps them (JSON) while the question stands."""
    return [moment.early.isoformat(), moment.late.isoformat()]


def pending(kept: list[str]) -> Ambiguous[datetime] | None:
    """The question a draft keeps (see `held`), or None when none is asked."""
    if len(kept) != 2:
        return None
    early, late = (datetime.fromisoformat(v) for v in kept)
    return Ambiguous(early, late)


WEEKDAYS = {
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "sabtu": 5, "minggu": 6,
    "ahad": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}  # fmt: skip
# Days people name instead of a date, relative to today.
RELATIVE = {
    "hari ini": 0, "today": 0, "nanti": 0, "kemarin": -1, "yesterday": -1, "kemarin lusa": -2,
    "besok": 1, "tomorrow": 1, "lusa": 2,
}  # fmt: skip
_MONTH_NAMES = (
    ("januari", "jan", "january"), ("februari", "feb", "pebruari", "february"),
    ("maret", "mar", "march"), ("april", "apr"), ("mei", "may"), ("juni", "jun", "june"),
    ("juli", "jul", "july"), ("agustus", "agu", "agt", "ags", "aug", "august"),
    ("september", "sep", "sept"), ("oktober", "okt", "oct", "october"),
    ("november", "nov", "nop"), ("desember", "des", "dec", "december"),
)  # fmt: skip
MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names}
# A date typed without its year is at most this far the other way from the leaning: "21/11"
# typed on 24 November is three days ago even for a handover, "30 Des" typed then is last
# December for a death, and "01/02" is next February for a schedule.
YEAR_WINDOW = timedelta(days=31)

_CLOCK = re.compile(
    r"(?:(?:jam|pukul|pkl|pk|at)\.?\s*)?(?P<h>\d{1,2})(?:\s*[.:h]\s*(?P<m>\d{2})|(?P<m4>\d{2}))?"
    r"\s*(?P<part>pagi|siang|sore|malam|subuh|am|pm|morning|afternoon|evening|night)?"
)
# English parts of the day, read as the Indonesian one that places the hour the same way.
_PART_WORDS = {
    "subuh": "pagi", "morning": "pagi", "afternoon": "sore", "evening": "sore", "night": "malam",
}  # fmt: skip
# The answer to "morning or evening?": a part of the day alone, as people type it.
PARTS = ("pagi", "siang", "sore", "malam", "subuh", "morning", "afternoon", "evening", "night")
_PART_ALIASES = {"mlm": "malam", "malem": "malam", "pgi": "pagi", "sre": "sore", "am": "pagi",
                 "pm": "sore", "tonight": "malam"}  # fmt: skip


def normalise(text: str) -> str:
    """Lower case, single spaces, and without the words that carry nothing here ("hari Selasa",
    "tgl 21", "15.00 WIB": the agency's zone is meant)."""
    raw = text.lower().replace("jum'at", "jumat")
    raw = re.sub(r"(\d),(\d{2})(?!\d)", r"\1.\2", raw)  # 15,30 is a time; other commas separate
    raw = raw.replace(",", " ")
    raw = re.sub(r"\b(?:in the|at)\s+(?=morning|afternoon|evening|night)", " ", raw)
    raw = re.sub(r"\bhari\b(?! ini)|\b(?:wib|wita|wit|tanggal|tgl)\b\.?", " ", raw)
    return " ".join(raw.split())


def _with_part(hour: int, minute: int, part: str) -> time | None:
    """24-hour clock from "jam 3 sore" and the like; None if the hour cannot be that part."""
    if hour > 12:
        return None
    part = _PART_WORDS.get(part, part)
    if part in ("pagi", "am"):
        return time(hour % 12, minute)  # jam 12 pagi / 12 am: midnight
    if part == "siang":
        return time(hour + 12 if hour < 6 else hour, minute)  # jam 1 siang 13.00, jam 11 11.00
    if part in ("sore", "pm"):
        return time(hour + 12 if hour < 12 else hour, minute)
    if hour == 12:
        return time(0, minute)  # jam 12 malam
    return time(hour + 12 if hour >= 6 else hour, minute)  # jam 8 malam 20.00, jam 2 malam 02.00


def read_clock(text: str) -> time | Ambiguous[time] | None:
    """A time of day: "14.30", "0730", "jam 3 sore", "pukul 15.00", "7 malam"; a lone hour from
    1 to 12 ("8", "jam 7") is `Ambiguous`; None if the text is not a time."""
    match = _CLOCK.fullmatch(normalise(text))
    if match is None:
        return None
    hour, minutes, part = int(match["h"]), match["m"] or match["m4"], match["part"]
    minute = int(minutes or 0)
    if hour > 23 or minute > 59:
        return None
    if part is not None:
        return _with_part(hour, minute, part)
    if minutes is None and 1 <= hour <= 12:
        return Ambiguous(time(hour), time((hour + 12) % 24))
    return time(hour, minute)  # minutes written, or an hour only a 24-hour clock has


def _year_less(day: int, month: int, today: date, lean: Lean) -> date | None:
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:  # 29 February of a common year
            continue
    if lean is Lean.PAST:
        return max((d for d in candidates if d <= today + YEAR_WINDOW), default=None)
    return min((d for d in candidates if d >= today - YEAR_WINDOW), default=None)


def _calendar_day(text: str, today: date, lean: Lean) -> date | None:
    """21-11-2026, 21/11/26, 21.11, 21/11, 2026-11-21, 21 November, 21 Nov 2026."""
    parts = [p for p in re.split(r"[\s/.\-]+", text) if p]
    if len(parts) == 3 and len(parts[0]) == 4 and parts[0].isdigit():
        parts = [parts[2], parts[1], parts[0]]  # ISO: 2026-11-21
    if len(parts) >= 2 and parts[1] in MONTHS:
        parts[1] = str(MONTHS[parts[1]])
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    day, month = int(parts[0]), int(parts[1])
    if len(parts) == 2:
        return _year_less(day, month, today, lean)
    year = int(parts[2])
    try:
        return date(year + 2000 if year < 100 else year, month, day)
    except ValueError:
        return None


def read_day(text: str, today: date, lean: Lean) -> tuple[date | None, int]:
    """The day named, and by how many days it moves on when its time has already passed today
    (0: it never does; only a looking-ahead weekday, by a week)."""
    words = normalise(text)
    if words in RELATIVE:
        return today + timedelta(days=RELATIVE[words]), 0
    if words in WEEKDAYS:
        ahead = (WEEKDAYS[words] - today.weekday()) % 7
        if lean is Lean.PAST:
            return today - timedelta(days=(7 - ahead) % 7), 0
        return today + timedelta(days=ahead), 7
    return _calendar_day(words, today, lean), 0


def read(
    text: str, zone: ZoneInfo, now: datetime, lean: Lean = Lean.FUTURE
) -> datetime | Ambiguous[datetime] | None:
    """The moment `text` names, as an aware UTC datetime; `Ambiguous` when its hour may be
    morning or evening; None if it names none. A time alone is today, or, looking ahead, its
    next occurrence. A moment on the wrong side of `now` (e.g. "hari ini 07.00" at noon) is
    returned as such: the caller says why it is refused."""
    found = tail_clock(text)
    if found is None:
        return None
    words, cut, clock = normalise(text).split(), *found
    local_now = now.astimezone(zone)
    if cut:
        day, step = read_day(" ".join(words[:cut]), local_now.date(), lean)
    else:
        day, step = local_now.date(), 1 if lean is Lean.FUTURE else 0
    if day is None:
        return None

    def at(moment: time, day: date = day, step: int = step) -> datetime:
        local = datetime.combine(day, moment, tzinfo=zone)
        if step and local <= local_now:
            local += timedelta(days=step)
        return local.astimezone(UTC)

    if isinstance(clock, Ambiguous):
        return Ambiguous(at(clock.early), at(clock.late))
    return at(clock)


def tail_clock(text: str) -> tuple[int, time | Ambiguous[time]] | None:
    """The time a text ends with ("kemarin jam 7": jam 7) and how many words come before it:
    the longest tail that reads as a time; the rest is the day."""
    words = normalise(text).split()
    for cut in range(len(words)):
        clock = read_clock(" ".join(words[cut:]))
        if clock is not None:
            return cut, clock
    return None


def read_part(text: str) -> str | None:
    """A part of the day typed alone, as the answer to "morning or evening?": "pagi", "yg
    malam", "the evening", "mlm", "soree"; None if the text is not one."""
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _FILLER]
    if len(words) != 1:
        return None
    word = _PART_ALIASES.get(words[0], words[0])
    if word not in PARTS:
        close = difflib.get_close_matches(word, PARTS, n=1, cutoff=0.75)
        if not close:
            return None
        word = close[0]
    return _PART_WORDS.get(word, word)


_FILLER = {"yg", "yang", "the", "in", "at", "jam", "pukul", "pk", "pkl", "di", "waktu", "one"}


def choose(moment: Ambiguous[datetime], text: str, zone: ZoneInfo) -> datetime | None:
    """The reading of an ambiguous moment an answer names: "1" or "2" (as the choices are
    numbered: early first), or a part of the day ("pagi", "yg malam", "evening"); None if
    the answer names neither."""
    typed = moment.reading(text.strip().removeprefix("#").rstrip("."))
    if typed is not None:
        return typed
    if any(c.isdigit() for c in text):
        return None  # "jam 8 malam": a new time, read as one, not a part of day for the old
    part = read_part(text)
    if part is None:
        return None
    early = moment.early.astimezone(zone)
    clock = _with_part(early.hour % 12 or 12, early.minute, part)
    for reading in (moment.early, moment.late):
        if clock is not None and reading.astimezone(zone).time() == clock:
            return reading
    return None


def part_of(moment: datetime, zone: ZoneInfo) -> str:
    """The part of the day a moment falls in, to name a choice: pagi, siang, sore or malam."""
    hour = moment.astimezone(zone).hour
    if 4 <= hour < 11:
        return "pagi"
    if 11 <= hour < 15:
        return "siang"
    if 15 <= hour < 18:
        return "sore"
    return "malam"


# --- What each flow asks for ---------------------------------------------------------------------


def parse(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """A moment ahead (a broadcast, a reminder, a handover); an ambiguous hour is not one."""
    moment = read(text, zone, now, Lean.FUTURE)
    return moment if isinstance(moment, datetime) else None


def parse_clock(text: str) -> time | None:
    """A reminder's time of day; an ambiguous hour is not one."""
    clock = read_clock(text)
    return clock if isinstance(clock, time) else None


def parse_date(text: str, today: date) -> date | None:
    """The day of a death: "kemarin", "21/11", "senin" look back. Future days are returned: the
    caller says why they are refused."""
    return read_day(text, today, Lean.PAST)[0]


def parse_time(text: str) -> time | None:
    """The time of a death, once the report form has asked back a lone hour that both halves of
    a past day allow (handlers/four_in_one/report.py): what is left ("7" when 19.00 is still
    ahead today, a clock in a sentence) is taken in the morning."""
    clock = read_clock(text)
    return clock.early if isinstance(clock, Ambiguous) else clock


def example(zone: ZoneInfo, now: datetime) -> str:
    """A dated example for error messages that is never in the past: the day after tomorrow."""
    return (now.astimezone(zone) + timedelta(days=2)).strftime("%d/%m 08.00")
