"""The console's periods page: the quarters with their participation; open, close and publish
(each confirmed first); a quarter's standings exactly as the chat's HR views show them, its
integrity flags under the chat's recusal rule, and the CSV/XLSX export.

Every figure comes from the chat's own services (`standings.ranking` carries the anonymity rule,
`rating.read_flags` the recusal rule); this module only lays them out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot import dates
from bot.hr_web.context import (
    BAD_PAGE,
    HR_ROLES,
    Paging,
    WebContext,
    form,
    page,
    page_asked,
    redirect,
)
from bot.services import participation, periods, rating, standings
from bot.services.rating_scheme import RELATIONS, load_scheme
from storage.models import RatingPeriod

routes = web.RouteTableDef()
PERIODS_PER_PAGE = 12
ROWS_PER_PAGE = 50
FLAGS_PER_PAGE = 100
UNITS_PER_PAGE = 25
UNITS_PARAM = "units"  # the per-unit table's own page, beside the standings' `page`
ACTIONS = ("open", "close", "publish")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _period(ctx: WebContext) -> RatingPeriod | None:
    """The quarter the URL names, only within the officer's agency (an id too long for the
    column is no quarter, not a database error)."""
    raw = ctx.request.match_info["id"]
    if len(raw) > 9:
        return None
    return await periods.period_by_id(ctx.session, ctx.agency.id, raw)


def _not_found(ctx: WebContext) -> web.Response:
    return ctx.render("periods_not_found.html", status=404)


async def _list(ctx: WebContext, *, error: str | None = None, label: str = "") -> web.Response:
    asked = page_asked(ctx.request)
    total = await periods.count(ctx.session, ctx.agency.id)
    paging = Paging.of(asked or 1, total, PERIODS_PER_PAGE)
    shown = await periods.recent(
        ctx.session,
        ctx.agency.id,
        PERIODS_PER_PAGE,
        offset=paging.offset,
    )
    counts = await participation.period_counts(ctx.session, shown)
    proposed = await periods.next_to_open(ctx.session, ctx.agency, datetime.now(UTC))
    return ctx.render(
        "periods.html",
        status=400 if error or asked is None else 200,
        page_error=BAD_PAGE if asked is None else None,
        periods=shown,
        counts=counts,
        paging=paging,
        label_of=periods.label,
        live_seconds=int(participation.OPEN_SECONDS),
        any_open=any(p.state == periods.OPEN for p in shown),
        proposed=label or (proposed.label if proposed else ""),
        can_open=proposed is not None,
        error=error,
        zone=ctx.agency.timezone,
    )


@routes.get("/periods", name="periods")
@page(roles=HR_ROLES)
async def period_list(ctx: WebContext) -> web.StreamResponse:
    return await _list(ctx)


def _confirmed(data: MultiDictProxy[Any]) -> bool:
    return data.get("confirmed") == "yes"


async def _confirm(
    ctx: WebContext, action: str, label: str, period: RatingPeriod | None = None
) -> web.Response:
    """The second step of an action: what it will do, and the button that does it."""
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    counts = participation.Counts(0, 0)
    rows, ranked = 0, 0
    if period is not None:
        # What closing makes final: counted now, not the list's figure of a moment ago.
        counts = (await participation.period_counts(ctx.session, [period], fresh=True))[period.id]
        rows, ranked = await participation.ranked_count(ctx.session, period)
    return ctx.render(
        "periods_confirm.html",
        action=action,
        label=label,
        period=period,
        counts=counts,
        rows=rows,
        ranked=ranked,
        min_raters=scheme.rule("min_raters"),
        breakdown_min=scheme.rule("breakdown_min_raters"),
    )


@routes.post("/periods/open", name="period_open")
@form(roles=HR_ROLES)
async def open_period(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    raw = str(data.get("quarter", ""))[:20]
    try:
        ref = periods.parse_label(raw)
    except periods.PeriodRefused as exc:
        return await _list(ctx, error=exc.reason.value, label=raw)
    if not 2000 <= ref.year <= 2100:
        return await _list(ctx, error=periods.PeriodError.BAD_LABEL.value, label=raw)
    if not _confirmed(data):
        return await _confirm(ctx, "open", ref.label)
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    try:
        opened = await periods.open_quarter(
            ctx.session, ctx.agency, ref, scheme, ctx.actor, via="web"
        )
    except periods.PeriodRefused as exc:
        return await _list(ctx, error=exc.reason.value, label=raw)
    return redirect(f"/hr/periods/{opened.id}?done=open")


async def _transition(ctx: WebContext, data: MultiDictProxy[Any], action: str) -> web.Response:
    period = await _period(ctx)
    if period is None:
        return _not_found(ctx)
    if not _confirmed(data):
        return await _confirm(ctx, action, periods.label(period), period)
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    step = periods.close_period if action == "close" else periods.publish_period
    try:
        await step(ctx.session, period, scheme, ctx.actor, via="web")
    except periods.PeriodRefused as exc:
        return await _list(ctx, error=exc.reason.value)
    return redirect(f"/hr/periods/{period.id}?done={action}")


@routes.post(r"/periods/{id:\d+}/close", name="period_close")
@form(roles=HR_ROLES)
async def close_period(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    return await _transition(ctx, data, "close")


@routes.post(r"/periods/{id:\d+}/publish", name="period_publish")
@form(roles=HR_ROLES)
async def publish_period(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    return await _transition(ctx, data, "publish")


@routes.get(r"/periods/{id:\d+}", name="period")
@page(roles=HR_ROLES)
async def period_detail(ctx: WebContext) -> web.StreamResponse:
    period = await _period(ctx)
    if period is None:
        return _not_found(ctx)
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    rows: list[standings.Row] = []
    total, _ranked = await participation.ranked_count(ctx.session, period)
    asked = page_asked(ctx.request)
    paging = Paging.of(asked or 1, total, ROWS_PER_PAGE)
    units_asked = page_asked(ctx.request, UNITS_PARAM)
    # Participation reads every rating of the quarter (kept a while, the page says since when):
    # on the first page, not on each page turn.
    first = paging.current == 1
    shares = await participation.participation(ctx.session, period) if first else None
    # 2,000 units' rows made a 400 KiB page: those with the most staff yet to rate first, paged.
    unit_paging = Paging.of(units_asked or 1, len(shares.units) if shares else 0, UNITS_PER_PAGE)
    units = (
        shares.most_behind()[unit_paging.offset : unit_paging.offset + UNITS_PER_PAGE]
        if shares
        else []
    )
    bad_page = asked is None or units_asked is None
    if period.state != periods.OPEN and total:
        # What each person's own screen may show, and nothing more (the chat's rule).
        rows = await standings.ranking(
            ctx.session,
            period,
            scheme,
            limit=ROWS_PER_PAGE,
            offset=paging.offset,
        )
        ctx.audit("standings.view", f"period:{period.id}", page=paging.current, rows=len(rows))
    done = ctx.request.query.get("done")
    return ctx.render(
        "period_detail.html",
        status=400 if bad_page else 200,
        page_error=BAD_PAGE if bad_page else None,
        period=period,
        label=periods.label(period),
        shares=shares,
        units=units,
        unit_paging=unit_paging,
        units_param=UNITS_PARAM,
        counted_at=dates.clock(shares.at, ctx.agency.timezone, ctx.t) if shares else "",
        fresh_seconds=int(
            participation.OPEN_SECONDS
            if period.state == periods.OPEN
            else participation.SHARES_SECONDS
        ),
        rows=rows,
        paging=paging,
        relations=RELATIONS,
        withheld=any(r.eligible and r.score is None for r in rows),  # the chat's "-" note
        breakdown_min=scheme.rule("breakdown_min_raters"),
        min_raters=scheme.rule("min_raters"),
        done=done if done in ACTIONS else None,
        zone=ctx.agency.timezone,
    )


@routes.get(r"/periods/{id:\d+}/flags", name="period_flags")
@page(roles=HR_ROLES)
async def period_flags(ctx: WebContext) -> web.StreamResponse:
    period = await _period(ctx)
    if period is None:
        return _not_found(ctx)
    if period.state == periods.OPEN:
        # As in chat: a quarter's patterns are read once its ratings are final.
        return ctx.render(
            "period_flags.html",
            status=409,
            period=period,
            label=periods.label(period),
            lines=[],
            review=None,
            paging=Paging.of(1, 0, FLAGS_PER_PAGE),
        )
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    review, lines = await rating.read_flags(
        ctx.session, period, scheme, ctx.employee, ctx.t, actor=ctx.actor, limit=10_000, via="web"
    )
    asked = page_asked(ctx.request)
    paging = Paging.of(asked or 1, len(lines), FLAGS_PER_PAGE)
    start = paging.offset
    return ctx.render(
        "period_flags.html",
        status=400 if asked is None else 200,
        page_error=BAD_PAGE if asked is None else None,
        period=period,
        label=periods.label(period),
        # The chat's lines are bullets of a message; here they are items of a list.
        lines=[line.removeprefix("• ") for line in lines[start : start + FLAGS_PER_PAGE]],
        review=review,
        paging=paging,
    )


async def _export(ctx: WebContext, kind: str) -> web.StreamResponse:
    period = await _period(ctx)
    if period is None:
        return _not_found(ctx)
    label = periods.label(period)
    if period.state == periods.OPEN:
        return ctx.render("periods_not_found.html", status=409, reason="open")
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    records = standings.export_records(await standings.ranking(ctx.session, period, scheme))
    ctx.audit("standings.export", f"period:{period.id}", rows=len(records), format=kind)
    if kind == "csv":
        body, content_type = standings.write_csv(records), "text/csv"
    else:
        body, content_type = standings.write_xlsx(records, label, ctx.t), XLSX
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8" if kind == "csv" else None,
        headers={
            "Content-Disposition": f'attachment; filename="standings-{label}.{kind}"',
            "Cache-Control": "no-store",
        },
    )


@routes.get(r"/periods/{id:\d+}/standings.csv", name="period_csv")
@page(roles=HR_ROLES)
async def export_csv(ctx: WebContext) -> web.StreamResponse:
    return await _export(ctx, "csv")


@routes.get(r"/periods/{id:\d+}/standings.xlsx", name="period_xlsx")
@page(roles=HR_ROLES)
async def export_xlsx(ctx: WebContext) -> web.StreamResponse:
    return await _export(ctx, "xlsx")
