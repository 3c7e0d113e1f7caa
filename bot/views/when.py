"""An hour that may be morning or evening, asked back with both readings (bot/services/when.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot import dates
from bot.i18n import Translator
from bot.services.when import Ambiguous


def ask_half(t: Translator, moment: Ambiguous[datetime], zone: str | ZoneInfo) -> str:
    return t(
        "when.ask_half",
        early=dates.moment(moment.early, zone, t),
        late=dates.moment(moment.late, zone, t),
    )
