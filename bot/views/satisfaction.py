"""The families' satisfaction (SKM) of one month in words, for HR's chat and the shell."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services.four_in_one.satisfaction import SCORE_KEYS, SCORES, Month


def month_text(month: Month, t: Translator) -> str:
    lines = [
        t(
            "skm.report_month",
            month=month.month,
            total=month.total,
            average=f"{month.average:.2f}",
            index=f"{month.index:.1f}",
        )
    ]
    lines.extend(
        t("skm.report_count", label=t(SCORE_KEYS[n]), count=month.counts[n]) for n in SCORES
    )
    lines.extend(t("skm.report_comment", score=score, text=text) for score, text in month.comments)
    return "\n".join(lines)
