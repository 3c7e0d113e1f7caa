"""The console's first page: what the office should look at today."""

from __future__ import annotations

from aiohttp import web

from bot.hr_web.context import CONSOLE_ROLES, HR_ROLES, WebContext, page, redirect

routes = web.RouteTableDef()


@routes.get("/", name="overview")
@page(roles=CONSOLE_ROLES)
async def overview(ctx: WebContext) -> web.StreamResponse:
    if not ctx.has_any(HR_ROLES):
        # Officers and liaisons have the desk only: their home is the case queue.
        return redirect("/hr/desk")
    return ctx.render("overview.html")
