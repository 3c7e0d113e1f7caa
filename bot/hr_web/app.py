"""The console as an aiohttp sub-application mounted at /hr/ on the server that already carries
the webhooks and health (`abdi serve`), or on a local one (`abdi chat`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import dates
from bot.app import App, short
from bot.hr_web import (
    audit_log,
    broadcasts,
    context,
    desk,
    login,
    overview,
    periods,
    roster,
    roster_jobs,
)
from bot.i18n import translator

log = logging.getLogger("abdi.web.console")
HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/hr/"
PAGES = (login, overview, roster, periods, broadcasts, desk, audit_log)
SECURITY_HEADERS = {
    # htmx and our own script and style only: no inline script can run if a value slips through.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer; an unknown address is the console's not-found page; an
    unexpected error is a plain page and one log line, not a traceback in front of the officer."""
    app = request.app[context.APP_KEY]
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        # A console address that names nothing (/hr/roster/abc): the console's own page, in the
        # officer's language, instead of aiohttp's bare English one.
        t = translator(context.request_locale(request, app.settings.default_locale))
        response = context.render(request, "not_found.html", t, status=404)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    except Exception as exc:  # the last net: any bug in a page
        log.error("web console %s %s failed: %s", request.method, request.path, short(exc))
        t = translator(context.request_locale(request, app.settings.default_locale))
        response = context.render(request, "error.html", t, status=500)
    response.headers.update(SECURITY_HEADERS)
    return response


def _moment(value: datetime | None, t: object, zone: str) -> str:
    return "" if value is None else dates.moment(value, zone, t)  # type: ignore[arg-type]


def _until(value: datetime, t: object, zone: str) -> str:
    # A quarter closes on its last day, as the chat says it ("Kamis, 31 Des 2026"), not at
    # 00.00 of the next one.
    return dates.until(value, zone, t)  # type: ignore[arg-type]


def console_app(app: App) -> web.Application:
    console = web.Application(middlewares=[guard])
    console[context.APP_KEY] = app
    roster_jobs.install(console)
    env = aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.globals["moment"] = _moment
    env.globals["until"] = _until
    env.globals["static"] = lambda name: f"{PREFIX}static/{name}"
    for module in PAGES:
        console.router.add_routes(module.routes)
    console.router.add_static("/static", STATIC, name="static")
    return console


def mount(web_app: web.Application, app: App) -> None:
    """Add the console under /hr/ when WEB_CONSOLE is on."""
    if app.settings.web_console:
        web_app.add_subapp(PREFIX, console_app(app))
