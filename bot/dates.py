"""One way to write dates and times to people, in their language (Babel's patterns):
"Senin, 7 Des 2026, pukul 06.00 WIB" / "Monday, 7 Dec 2026, 06.00 WIB", and a day alone as
"Senin, 7 Des 2026". A time always carries its zone; a period that ends at midnight is said to
end on its last day (`last_day`), never as 00:00 of the next.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from bot.i18n import Translator

ZONE_NAMES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}
DAY = "EEEE, d MMM y"


def _locale(t: Translator | str) -> str:
    return t if isinstance(t, str) else t.locale


def zone_name(zone: str | ZoneInfo) -> str:
    key = zone if isinstance(zone, str) else zone.key
    if key in ZONE_NAMES:
        return ZONE_NAMES[key]
    return datetime.now(ZoneInfo(key)).tzname() or key


def day(value: date | datetime, t: Translator | str, zone: str | ZoneInfo | None = None) -> str:
    """ "Senin, 7 Des 2026"; a datetime is first put in `zone`."""
    if isinstance(value, datetime) and zone is not None:
        value = value.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)
    return format_date(value, DAY, locale=_locale(t))


def clock(value: datetime, zone: str | ZoneInfo, t: Translator | str) -> str:
    """ "pukul 06.00 WIB" / "06.00 WIB"."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = value.astimezone(tz)
    hours = format_time(local, "HH.mm", locale=_locale(t))
    lead = "pukul " if _locale(t) == "id" else ""
    return f"{lead}{hours} {zone_name(tz)}"


def moment(value: datetime, zone: str | ZoneInfo, t: Translator | str) -> str:
    """ "Senin, 7 Des 2026, pukul 06.00 WIB" / "Monday, 7 Dec 2026, 06.00 WIB"."""
    return f"{day(value, t, zone)}, {clock(value, zone, t)}"


def last_day(end: datetime, zone: str | ZoneInfo) -> date:
    """The last day of a span ending at `end` (exclusive): midnight 1 Jan is 31 Dec."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = end.astimezone(tz)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return (local - timedelta(days=1)).date()
    return local.date()


def until(end: datetime, zone: str | ZoneInfo, t: Translator | str) -> str:
    """When a period closes: its last day when it ends at midnight, else the moment."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = end.astimezone(tz)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return day(last_day(end, tz), t)
    return moment(end, tz, t)
