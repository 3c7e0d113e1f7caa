"""The aiohttp server every process runs: webhooks where configured, health always.

Automatic decompression is off, so webhook signatures are checked on the bytes received and
bodies are decoded by `bot.channels.webhook_body` after that (a corrupt gzip body is ours to
report, not a traceback in aiohttp).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot import health, scrape
from bot.app import App
from bot.config import Settings

log = logging.getLogger("abdi.web")
SERVER_OPTIONS: dict[str, Any] = {"auto_decompress": False, "access_log": None}
MAX_BODY = 1024 * 1024


def application(app: App) -> web.Application:
    """A web application with /healthz, /readyz and /metrics on `app`; webhooks add theirs."""
    web_app = web.Application(client_max_size=MAX_BODY)
    health.add_routes(web_app, app)
    scrape.add_routes(web_app, app)
    return web_app


@contextlib.asynccontextmanager
async def serving(web_app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve `web_app` while the block runs; yields the bound port (port 0 picks one)."""
    runner = web.AppRunner(web_app, **SERVER_OPTIONS)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        yield sockets[0].getsockname()[1] if sockets else port
    finally:
        await runner.cleanup()  # stops accepting, then waits for work in flight (on_shutdown)


async def run_site(
    web_app: web.Application, settings: Settings, stop: asyncio.Event | None
) -> None:
    """Serve `web_app` on WEBHOOK_HOST:WEBHOOK_PORT until SIGTERM/SIGINT (or `stop`)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serving(web_app, settings.webhook_host, settings.webhook_port):
        await stop.wait()


@contextlib.asynccontextmanager
async def health_server(app: App) -> AsyncIterator[int | None]:
    """/healthz, /readyz and /metrics on HEALTH_HOST:HEALTH_PORT for a process without a webhook
    server.

    A port already taken (two workers on one host) costs this process its health endpoint, with
    a WARNING, not its work."""
    settings = app.settings
    if not settings.health_port:
        yield None
        return
    runner = web.AppRunner(application(app), **SERVER_OPTIONS)
    await runner.setup()
    port: int | None = None
    try:
        site = web.TCPSite(runner, settings.health_host, settings.health_port)
        try:
            await site.start()
            port = settings.health_port
            log.info("health on %s:%s", settings.health_host, port)
        except OSError as exc:
            log.warning("health port %s not available: %s", settings.health_port, exc.strerror)
        yield port
    finally:
        await runner.cleanup()
