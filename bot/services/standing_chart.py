"""The PNG of one's own quarterly scores shown with "Posisi saya", drawn with Pillow.

Pillow, not a plotting library: the chart is a line over at most a dozen quarters, and
matplotlib cost one bot process about 35 MB and a second of CPU on the first chart
(bench/README.md, memory). Only aggregates are drawn, nothing about any rater.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services.rating_scheme import Scheme

WIDTH, HEIGHT = 600, 300  # layout units; drawn at SCALE times for sharp lines and text
SCALE = 2
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 38, 46  # the plot area's margins
LINE = (31, 111, 139)  # #1f6f8b
GRID = (226, 226, 226)
FRAME = (90, 90, 90)
TEXT = (34, 34, 34)


def history_chart(
    points: Sequence[tuple[str, float | Decimal | None]], title: str, scheme: Scheme
) -> bytes:
    """Scores by quarter, oldest first; a quarter without a shown score is a gap in the line.
    Labels like "2025-Q3" are written on two lines (year, quarter) so twelve of them fit."""
    from PIL import Image, ImageDraw, ImageFont

    def s(v: float) -> int:
        return round(v * SCALE)

    image = Image.new("RGB", (s(WIDTH), s(HEIGHT)), "white")
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.load_default(size=s(15))
    tick_font = ImageFont.load_default(size=s(11))
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    low, high = scheme.score_min - 0.2, scheme.score_max + 0.2

    def y_of(score: float) -> float:
        return y1 - (score - low) / (high - low) * (y1 - y0)

    n = len(points)
    pad = (x1 - x0) * 0.05

    def x_of(i: int) -> float:
        return (x0 + x1) / 2 if n == 1 else x0 + pad + i * (x1 - x0 - 2 * pad) / (n - 1)

    draw.text((s(WIDTH / 2), s(TOP / 2)), title, fill=TEXT, font=title_font, anchor="mm")
    for tick in range(scheme.score_min, scheme.score_max + 1):
        y = s(y_of(tick))
        draw.line([(s(x0), y), (s(x1), y)], fill=GRID, width=SCALE)
        draw.text((s(x0 - 6), y), str(tick), fill=TEXT, font=tick_font, anchor="rm")
    for i, (label, _) in enumerate(points):
        x = s(x_of(i))
        draw.line([(x, s(y0)), (x, s(y1))], fill=GRID, width=SCALE)
        draw.multiline_text(
            (x, s(y1 + 6)),
            label.replace("-", "\n", 1),
            fill=TEXT,
            font=tick_font,
            anchor="ma",
            align="center",
            spacing=s(2),
        )
    draw.rectangle([(s(x0), s(y0)), (s(x1), s(y1))], outline=FRAME, width=SCALE)

    # Consecutive shown quarters are joined; a quarter not shown leaves a gap on either side.
    shown, previous = [], None
    for i, (_, value) in enumerate(points):
        here = None if value is None else (s(x_of(i)), s(y_of(float(value))))
        if here is not None and previous is not None:
            draw.line([previous, here], fill=LINE, width=s(2))
        if here is not None:
            shown.append(here)
        previous = here
    r = s(4)
    for x, y in shown:
        draw.ellipse([(x - r, y - r), (x + r, y + r)], fill=LINE)

    buffer = io.BytesIO()
    # No timestamps or software tags in the file (Pillow writes none): the same history gives
    # the same bytes.
    image.save(buffer, format="PNG")
    return buffer.getvalue()
