"""The third-night deadline of a 4-in-1 case, and how it reads in the family's language.

Night 1 is the evening of the day of death, so the Nth night is the evening of the day of death
plus N-1 days, at a fixed local hour in the agency's time zone (DOMAIN.md, "4-in-1"). Indonesian
zones keep no daylight saving, but the rule works on local dates, so any IANA zone is fine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from bot.config import Settings
from bot.i18n import Translator

# Indonesia's own abbreviations, by UTC offset in hours; other zones fall back to tzname().
ZONE_ABBREVIATIONS = {7: "WIB", 8: "WITA", 9: "WIT"}


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    night: int = 3  # the third night (malam ketiga)
    hour: int = 19  # local clock hour of the handover evening

    def __post_init__(self) -> None:
        if not 1 <= self.night <= 14 or not 0 <= self.hour <= 23:
            raise ValueError(f"bad 4-in-1 rule: night {self.night}, hour {self.hour}")


def local_day_of_death(died_at: datetime, zone: str) -> date:
    if died_at.tzinfo is None:
        raise ValueError("naive datetime")
    return died_at.astimezone(ZoneInfo(zone)).date()


def deadline(died_at: datetime, zone: str, rule: DeadlineRule = DeadlineRule()) -> datetime:
    """The moment (UTC) the documents are due: local day of death + night-1 days, at the hour."""
    day = local_day_of_death(died_at, zone) + timedelta(days=rule.night - 1)
    return datetime.combine(day, time(rule.hour), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def zone_abbreviation(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    offset = local.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else None
    if offset is not None and offset.total_seconds() % 3600 == 0 and hours in ZONE_ABBREVIATIONS:
        return ZONE_ABBREVIATIONS[hours]
    return local.tzname() or "UTC"


def day_part(hour: int) -> str:
    """Which part of the day an hour falls in, as the family would say it (a message suffix)."""
    if hour < 11:
        return "morning"
    if hour < 15:
        return "midday"
    if hour < 18:
        return "afternoon"
    return "evening"


@dataclass(frozen=True, slots=True)
class MomentWords:
    """The pieces a locale's sentence template is filled with."""

    weekday: str  # Kamis
    part: str  # evening (a message suffix)
    day: str  # 21 Nov
    time: str  # 19.00
    zone: str  # WIB


def moment_words(moment: datetime, zone: str, locale: str) -> MomentWords:
    local = moment.astimezone(ZoneInfo(zone))
    return MomentWords(
        weekday=format_date(local.date(), "EEEE", locale=locale),
        part=day_part(local.hour),
        day=format_date(local.date(), "d MMM", locale=locale),
        time=format_time(local.time(), "HH.mm", locale=locale),  # one style in both languages
        zone=zone_abbreviation(moment, zone),
    )


def rule_of(settings: Settings) -> DeadlineRule:
    return DeadlineRule(night=settings.four_in_one_night, hour=settings.four_in_one_hour)


# A service fills dates into a delivery's params in the reader's language when it records it,
# as `delivery.render` only fills placeholders: the words live here, beside the rule.
def when_text(t: Translator, moment: datetime, zone: str) -> str:
    words = moment_words(moment, zone, t.locale)
    return t(
        "four_in_one.when",
        weekday=words.weekday,
        part=t(f"four_in_one.part.{words.part}"),
        day=words.day,
        time=words.time,
        zone=words.zone,
    )
