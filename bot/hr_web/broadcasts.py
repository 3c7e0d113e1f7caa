"""The console's broadcasts: the list (newest first, paged, searchable), one broadcast's live
progress (htmx polls a fragment while it is going out), failures by reason, the CSV of those not
reached, the confirmations export and cancelling. Writing one is `broadcast_compose`.

Every figure comes from the services the chat's report and the shell use
(bot/services/broadcasting/); ids from the URL are looked up within the officer's agency only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot import dates
from bot.delivery import Status
from bot.hr_web import broadcast_compose
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
from bot.i18n import Translator
from bot.services import office_overview
from bot.services.broadcasting import acks, audiences, broadcasts
from bot.services.broadcasting.audiences import Audience
from storage.models import Broadcast, utcnow

# One table for the page: the compose routes and these.
routes = broadcast_compose.routes
PER_PAGE = 20
TITLE_LENGTH = 90
POLL_SENDING = "every 2s"
POLL_SCHEDULED = "every 30s"  # nothing moves until its time; the release is seen soon enough


STATE_KEYS = {  # the rows of the counts table: sent, waiting, each way of not arriving
    "sent": "web.broadcasts.state.sent",
    "pending": "web.broadcasts.state.pending",
    Status.FAILED.value: "web.broadcasts.state.failed",
    Status.UNREACHABLE.value: "web.broadcasts.state.unreachable",
    Status.UNCERTAIN.value: "web.broadcasts.state.uncertain",
    Status.CANCELLED.value: "web.broadcasts.state.cancelled",
}
NOTICES = {  # ?done=… after a form: what just happened
    "sent": "web.broadcasts.notice.sent",
    "scheduled": "web.broadcasts.notice.scheduled",
    "cancelled": "web.broadcasts.notice.cancelled",
}


@dataclass(frozen=True)
class Row:
    broadcast: Broadcast
    title: str
    audience: str
    progress: broadcasts.Progress
    confirmed: int


def first_line(broadcast: Broadcast, t: Translator) -> str:
    """What a list shows of a broadcast: the first line of its text, cut to a table cell."""
    line = (broadcasts.title(broadcast, t).strip().splitlines() or [""])[0]
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


@routes.get("/broadcasts", name="broadcasts")
@page(roles=HR_ROLES)
async def listing(ctx: WebContext) -> web.StreamResponse:
    search = ctx.request.query.get("q", "").strip()[:100]
    asked = page_asked(ctx.request)
    total = await broadcasts.count(ctx.session, ctx.agency.id, search or None)
    paging = Paging.of(asked or 1, total, PER_PAGE)
    number, pages = paging.current, paging.last
    found = await broadcasts.recent(
        ctx.session, ctx.agency.id, PER_PAGE, paging.offset, search or None
    )
    # Counting every delivery of twenty broadcasts on each view cost ~150 ms at 100,000 staff:
    # the counts are the overview's, kept a few seconds (minutes once a broadcast is over).
    figures = await office_overview.reached(ctx.session, found, utcnow())
    progress, confirmed = figures.progress, figures.confirmed
    rows = [
        Row(
            b,
            first_line(b, ctx.t),
            await broadcasts.describe(
                ctx.session, ctx.agency.id, Audience.from_json(b.audience), ctx.t
            ),
            progress[b.id],
            confirmed[b.id],
        )
        for b in found
    ]
    return ctx.render(
        "broadcasts.html",
        status=400 if asked is None else 200,
        error=BAD_PAGE if asked is None else None,
        rows=rows,
        total=total,
        number=number,
        pages=pages,
        search=search,
        zone=ctx.agency.timezone,
        status_label=lambda s: broadcasts.status_label(s, ctx.t),
        failed=_failed,
        counted_at=dates.clock(figures.at, ctx.agency.timezone, ctx.t),
        fresh_seconds=int(office_overview.FRESH_SECONDS),
        finished_minutes=int(office_overview.FINISHED_SECONDS // 60),
    )


def _failed(progress: broadcasts.Progress) -> int:
    return progress.get(*broadcasts.UNDELIVERED)


async def _found(ctx: WebContext) -> Broadcast | None:
    return await broadcasts.by_id(ctx.session, ctx.agency.id, ctx.request.match_info["id"])


def _missing(ctx: WebContext) -> web.StreamResponse:
    return ctx.render("broadcasts_missing.html", status=404)


async def _progress_values(ctx: WebContext, broadcast: Broadcast) -> dict[str, Any]:
    """What the progress fragment shows: counts by status, failures by reason, and the audience
    still to be reached of one not yet released."""
    progress = await broadcasts.progress(ctx.session, broadcast.id)
    thinned = await broadcasts.thinned(ctx.session, broadcast.id)
    size = None
    if broadcast.released_at is None:
        audience = Audience.from_json(broadcast.audience)
        size = await audiences.size(ctx.session, ctx.agency, audience, utcnow())
    poll = None
    if broadcast.status == broadcasts.SENDING and progress.open:
        # Nothing left open is the end, as for `abdi broadcast status --watch`; the status
        # word follows when the periodic job marks it done.
        poll = POLL_SENDING
    elif broadcast.status == broadcasts.SCHEDULED:
        poll = POLL_SCHEDULED
    counts = [
        (STATE_KEYS["sent"], progress.sent),
        (STATE_KEYS["pending"], progress.pending),
        *((STATE_KEYS[s], progress.get(s)) for s in broadcasts.UNDELIVERED),
        (STATE_KEYS[Status.CANCELLED], progress.get(Status.CANCELLED)),
    ]
    return {
        "broadcast": broadcast,
        "progress": progress,
        "done": progress.total - progress.pending,
        "counts": counts,
        "failures": await broadcasts.failures(ctx.session, broadcast.id),
        "thinned": thinned,
        "unlinked": max(0, broadcast.recipients - progress.total),
        "size": size,
        "poll": poll,
        "zone": ctx.agency.timezone,
        "status_label": lambda s: broadcasts.status_label(s, ctx.t),
    }


@routes.get(r"/broadcasts/{id:\d+}", name="broadcast")
@page(roles=HR_ROLES)
async def detail(ctx: WebContext) -> web.StreamResponse:
    broadcast = await _found(ctx)
    if broadcast is None:
        return _missing(ctx)
    audience = Audience.from_json(broadcast.audience)
    values = await _progress_values(ctx, broadcast)
    summary = None
    if broadcast.ack_requested and broadcast.released_at is not None and not values["thinned"]:
        # Counted once per page view, not in the fragment polled every 2 s: it reads every
        # recipient's row (0.4 s for 50,000 on PostgreSQL), and confirmations come later anyway.
        summary = await acks.summary(ctx.session, broadcast, names=False)
    return ctx.render(
        "broadcasts_detail.html",
        title=first_line(broadcast, ctx.t),
        text=broadcasts.title(broadcast, ctx.t),
        audience=await broadcasts.describe(ctx.session, ctx.agency.id, audience, ctx.t),
        cancellable=broadcasts.unfinished(broadcast),
        notice=NOTICES.get(ctx.request.query.get("done", ""), ""),
        summary=summary,
        **values,
    )


@routes.get(r"/broadcasts/{id:\d+}/progress", name="broadcast_progress")
@page(roles=HR_ROLES)
async def progress_fragment(ctx: WebContext) -> web.StreamResponse:
    """The live part of the detail page; it stops asking once the broadcast is over."""
    broadcast = await _found(ctx)
    if broadcast is None:
        return _missing(ctx)
    return ctx.render("broadcasts_progress.html", **await _progress_values(ctx, broadcast))


def _csv(data: bytes, name: str) -> web.Response:
    return web.Response(
        body=data,
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@routes.get(r"/broadcasts/{id:\d+}/undelivered.csv", name="broadcast_undelivered")
@page(roles=HR_ROLES)
async def undelivered(ctx: WebContext) -> web.StreamResponse:
    """Those the message did not reach, as the chat's and the shell's CSV (audit-logged)."""
    broadcast = await _found(ctx)
    if broadcast is None:
        return _missing(ctx)
    data = await broadcasts.undelivered_csv(ctx.session, broadcast, ctx.t)
    ctx.audit("broadcast.export", f"broadcast:{broadcast.id}")
    return _csv(data, f"belum-terkirim-{broadcast.id}.csv")


@routes.get(r"/broadcasts/{id:\d+}/acks.csv", name="broadcast_acks")
@page(roles=HR_ROLES)
async def confirmations(ctx: WebContext) -> web.StreamResponse:
    """Who confirmed reading, per unit (audit-logged), as the chat's export."""
    broadcast = await _found(ctx)
    if broadcast is None or not broadcast.ack_requested:
        return _missing(ctx)
    data = await acks.export_csv(ctx.session, broadcast, ctx.t)
    ctx.audit("broadcast.acks_export", f"broadcast:{broadcast.id}")
    return _csv(data, f"konfirmasi-baca-{broadcast.id}.csv")


@routes.get(r"/broadcasts/{id:\d+}/cancel", name="broadcast_cancel_ask")
@page(roles=HR_ROLES)
async def ask_cancel(ctx: WebContext) -> web.StreamResponse:
    broadcast = await _found(ctx)
    if broadcast is None:
        return _missing(ctx)
    if not broadcasts.unfinished(broadcast):
        return redirect(f"/hr/broadcasts/{broadcast.id}")
    return ctx.render(
        "broadcasts_cancel.html",
        broadcast=broadcast,
        title=first_line(broadcast, ctx.t),
        progress=await broadcasts.progress(ctx.session, broadcast.id),
    )


@routes.post(r"/broadcasts/{id:\d+}/cancel", name="broadcast_cancel")
@form(roles=HR_ROLES)
async def cancel(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    """Withdraw what has not gone out (the shell's and the chat's cancel)."""
    broadcast = await _found(ctx)
    if broadcast is None:
        return _missing(ctx)
    if not broadcasts.unfinished(broadcast):
        status = broadcasts.status_label(broadcast.status, ctx.t)
        return ctx.render(
            "broadcasts_cancel.html",
            status=409,
            broadcast=broadcast,
            title=first_line(broadcast, ctx.t),
            progress=await broadcasts.progress(ctx.session, broadcast.id),
            error=ctx.t("web.broadcasts.cancel.too_late", status=status),
        )
    await broadcasts.cancel(ctx.session, broadcast, ctx.actor, via="web")
    return redirect(f"/hr/broadcasts/{broadcast.id}?done=cancelled")
