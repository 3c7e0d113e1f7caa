"""The console's 4-in-1 desk (to be built)."""

from __future__ import annotations

from aiohttp import web

from bot.hr_web.context import DESK_ROLES, WebContext, page

routes = web.RouteTableDef()


@routes.get("/desk", name="desk")
@page(roles=DESK_ROLES)
async def queue(ctx: WebContext) -> web.StreamResponse:
    return ctx.render("desk.html")
