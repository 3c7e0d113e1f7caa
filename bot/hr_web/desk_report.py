"""The SLA report's chart: the share of cases handed over by the third night, month by month,
as SVG geometry (attributes only: the console's CSP allows no inline style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.i18n import Translator
from bot.services.four_in_one import MonthFigures

WIDTH, HEIGHT = 640, 240
TOP, BOTTOM, LEFT = 16, 40, 44  # room for the share above a bar, the month below, the axis left
MIN_WIDTH = 320
SLOT_MAX = 80  # a bar's slot never wider than this, however few months there are


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    month: str
    share: str  # "75%"
    title: str  # the month's figures in words, for screen readers and hovering
    label_x: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    base: int  # y of the 0% line
    top: int  # y of the 100% line
    middle: int  # y of the 50% line
    bars: list[Bar]


def chart(months: Sequence[MonthFigures], t: Translator) -> Chart:
    plot = HEIGHT - TOP - BOTTOM
    base = TOP + plot
    slot = min(SLOT_MAX, (WIDTH - LEFT) // max(1, len(months)))
    # As wide as the months need (a phone scales a narrow chart down less), never wider.
    wide = min(WIDTH, max(MIN_WIDTH, LEFT + slot * len(months) + 8))
    bars = []
    for i, m in enumerate(months):
        share = m.on_time_share
        height = round(plot * share)
        x = LEFT + i * slot + slot // 6
        width = max(4, slot - slot // 3)
        percent = t.decimal(100 * share, 0)
        title = t(
            "web.desk.chart_bar",
            month=m.month,
            on_time=m.on_time,
            cases=m.cases,
            share=percent,
            overdue=m.overdue,
        )
        bars.append(
            Bar(x, base - height, width, height, m.month, f"{percent}%", title, x + width // 2)
        )
    return Chart(wide, HEIGHT, LEFT, base, TOP, TOP + plot // 2, bars)
