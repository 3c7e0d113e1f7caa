"""The console's first page: what the office should look at today."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot import dates
from bot.hr_web.context import CONSOLE_ROLES, HR_ROLES, WebContext, page, redirect
from bot.services import office_overview, periods
from bot.services.broadcasting import broadcasts
from storage.models import utcnow

routes = web.RouteTableDef()
CHART_HEIGHT = 120  # the distribution chart's drawing height, in SVG units
UNITS_SHOWN = 15  # units with the most staff yet to rate; the periods page lists every unit
BROADCASTS_SHOWN = 5


@dataclass(frozen=True)
class Bar:
    """One bar of the distribution as the SVG draws it (attributes, not styles: CSP)."""

    x: int
    height: int
    label: str
    count: int


def bars(buckets: list[office_overview.Bucket], ctx: WebContext) -> list[Bar]:
    top = max((b.count for b in buckets), default=0) or 1
    return [
        Bar(
            x=i * 60,
            height=round(CHART_HEIGHT * b.count / top),
            label=f"{ctx.t.decimal(b.low)}–{ctx.t.decimal(b.high)}",
            count=b.count,
        )
        for i, b in enumerate(buckets)
    ]


@routes.get("/", name="overview")
@page(roles=CONSOLE_ROLES)
async def overview(ctx: WebContext) -> web.StreamResponse:
    if not ctx.has_any(HR_ROLES):
        # Officers and liaisons have the desk only: their home is the case queue.
        return redirect("/hr/desk")
    session, agency_id, now = ctx.session, ctx.agency.id, utcnow()
    period = await periods.current_open(session, agency_id)
    if period is None:
        period = next(iter(await periods.recent(session, agency_id, 1)), None)
    ranked = await office_overview.latest_standings_period(session, agency_id)
    recent = await broadcasts.recent(session, agency_id, BROADCASTS_SHOWN)
    figures = await office_overview.counted(session, agency_id, period, recent, ranked, now)
    units = figures.units
    return ctx.render(
        "overview.html",
        period=period,
        period_label=periods.label(period) if period else "",
        units=sorted(units, key=lambda u: (-u.not_yet, u.unit))[:UNITS_SHOWN],
        more_units=max(0, len(units) - UNITS_SHOWN),
        staff=sum(u.staff for u in units),
        raters=sum(u.raters for u in units),
        ranked_label=periods.label(ranked) if ranked else "",
        bars=bars(figures.buckets, ctx),
        chart_height=CHART_HEIGHT,
        cases=await office_overview.cases(session, agency_id, now),
        reach=office_overview.reach(recent, figures),
        outbox=figures.outbox,
        counted_at=dates.clock(figures.at, ctx.agency.timezone, ctx.t),
        fresh_seconds=int(office_overview.FRESH_SECONDS),
        broadcast_title=broadcasts.title,
    )
