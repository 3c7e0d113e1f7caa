"""The console's broadcasts page (to be built)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
