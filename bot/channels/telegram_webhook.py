"""Telegram by webhook: the aiohttp route that checks the secret header and never answers 5xx.

`announce` tells the Bot API where the webhook is; `abdi run --webhook` serves only Telegram,
`abdi serve` puts this route beside WhatsApp's on one server (bot/channels/serving.py).
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiogram import Bot
from aiohttp import web
from aiohttp.typedefs import Handler

from bot import dead_letters
from bot.app import App, StartupError
from bot.channels import webhook_body
from bot.channels.telegram import (
    ALLOWED_UPDATES,
    TelegramAdapter,
    check_token,
    register_commands,
    with_retry,
)
from bot.channels.telegram_intake import take_raw
from bot.config import reveal
from bot.dispatcher import Unavailable
from bot.web import application, run_site

log = logging.getLogger("abdi.telegram")  # the name log filters already use


async def announce(app: App, bot: Bot) -> None:
    """Check the token, publish the commands and, with a public URL, register the webhook."""
    settings = app.settings
    await check_token(bot)
    await register_commands(bot)
    if settings.telegram_webhook_url:
        # The public URL (behind a proxy) ends in WEBHOOK_PATH, where this server listens.
        url, secret = settings.telegram_webhook_url, reveal(settings.telegram_webhook_secret)
        await with_retry(
            lambda: bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        )


def webhook_app(app: App, bot: Bot, adapter: TelegramAdapter | None = None) -> web.Application:
    """The aiohttp application: POST updates (secret checked), GET /healthz and /readyz."""
    settings = app.settings
    adapter = adapter or TelegramAdapter(app.dispatcher, bot)
    secret = reveal(settings.telegram_webhook_secret)

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook POST without the right secret refused")
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("webhook body over the size limit refused")
            return web.json_response({"error": "too large"}, status=413)
        try:
            try:
                item = webhook_body.loads(
                    webhook_body.decoded(raw, request.headers.get("Content-Encoding"))
                )
            except webhook_body.BodyError as exc:
                # Authenticated by the secret, so kept; Telegram retrying it would not help.
                if not await dead_letters.keep(app.sessions, "telegram", raw, str(exc)):
                    raise Unavailable("dead letter not stored") from exc
                return web.json_response({"ok": True, "kept": True})
            taken = await take_raw(app, adapter, item, raw)
        except Unavailable:
            # Not taken: Telegram sends it again later, and nothing of it was stored.
            return web.json_response({"error": "unavailable"}, status=503)
        if taken is not None:
            adapter.track(adapter.deliver(taken))
        return web.json_response({"ok": True})

    async def drain(_: web.Application) -> None:
        await adapter.wait_inflight()

    async def on_error(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            # A bug must not turn into a 5xx: Telegram would redeliver the update in a loop.
            log.exception("webhook handler failed")
            return web.json_response({"error": "bad request"}, status=400)

    web_app = application(app)
    web_app.middlewares.append(web.middleware(on_error))
    web_app.router.add_post(settings.webhook_path, receive)
    web_app.on_shutdown.append(drain)
    return web_app


async def run_webhook(app: App, bot: Bot, stop: asyncio.Event | None = None) -> None:
    settings = app.settings
    if not settings.telegram_webhook_secret:
        raise StartupError(
            "cli.bad_config", detail="TELEGRAM_WEBHOOK_SECRET is required for webhooks"
        )
    await announce(app, bot)
    try:
        await run_site(webhook_app(app, bot), settings, stop)
    finally:
        await bot.session.close()
