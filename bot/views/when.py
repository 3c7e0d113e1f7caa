"""An hour that may be morning or evening, asked back with both readings (bot/services/when.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import dates
from bot.i18n import Translator
from bot.messages import Choice
from bot.services.when import Ambiguous, part_of

# The part of the day a reading falls in, as its choice names it.
PART_KEYS = {
    "pagi": "when.part_morning",
    "siang": "when.part_midday",
    "sore": "when.part_afternoon",
    "malam": "when.part_evening",
}


def ask_half(t: Translator, moment: Ambiguous[datetime], zone: str | ZoneInfo) -> str:
    return t(
        "when.ask_half",
        early=dates.moment(moment.early, zone, t),
        late=dates.moment(moment.late, zone, t),
    )


def half_labels(t: Translator, moment: Ambiguous[datetime], zone: str | ZoneInfo) -> list[str]:
    """The two readings as choices, early first ("Pagi, pukul 08.00 WIB"): the answer "1" or
    "2" is read in that order (bot/services/when.py `choose`)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return [
        t("when.choice", part=t(PART_KEYS[part_of(reading, tz)]), clock=dates.clock(reading, tz, t))
        for reading in (moment.early, moment.late)
    ]


def half_choices(
    t: Translator, moment: Ambiguous[datetime], zone: str | ZoneInfo, payload: Callable[[int], str]
) -> list[Choice]:
    """The two readings as buttons 1 and 2; `payload(n)` is the button of reading n."""
    return [Choice(payload(n), label) for n, label in enumerate(half_labels(t, moment, zone), 1)]
