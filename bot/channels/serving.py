"""The long-running front doors: `abdi run` (Telegram by polling or webhook) and `abdi serve`
(every configured webhook, Telegram's and WhatsApp's, on one aiohttp server).

Each channel's client library (aiogram, pywa) is imported only when that channel is served:
a process serving one channel does not hold the other's modules (bench/README.md, memory)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from bot.app import App, StartupError
from bot.channels.telegram import make_bot
from bot.channels.telegram_polling import run_polling
from bot.channels.telegram_webhook import announce, run_webhook
from bot.channels.telegram_webhook import webhook_app as telegram_webhook_app
from bot.i18n import Translator
from bot.web import run_site

if TYPE_CHECKING:
    from aiogram import Bot
    from pywa_async import WhatsApp


async def serve_telegram(app: App, *, webhook: bool, t: Translator) -> None:
    """`abdi run`: Telegram alone, by webhook or long polling."""
    bot = make_bot(app.settings)
    if webhook:
        s = app.settings
        print(t("cli.webhook", host=s.webhook_host, port=s.webhook_port, path=s.webhook_path))
        await run_webhook(app, bot)
    else:
        print(t("cli.polling"))
        await run_polling(app, bot)


async def serve_webhooks(app: App, t: Translator, stop: asyncio.Event | None = None) -> None:
    """`abdi serve`: the Telegram and WhatsApp webhooks (those configured) on one aiohttp server."""
    settings = app.settings
    has_telegram = bool(settings.telegram_bot_token and settings.telegram_webhook_secret)
    if not has_telegram and not settings.whatsapp_configured:
        raise StartupError("cli.serve.nothing")
    bot: Bot | None = None
    web_app: web.Application | None = None
    paths: list[str] = []
    if has_telegram:
        bot = make_bot(settings)
        await announce(app, bot)
        web_app = telegram_webhook_app(app, bot)
        paths.append(settings.webhook_path)
    client: WhatsApp | None = None
    if settings.whatsapp_configured:
        from bot.channels.whatsapp import WhatsAppAdapter, make_client
        from bot.channels.whatsapp_webhook import WhatsAppWebhook
        from bot.channels.whatsapp_webhook import webhook_app as whatsapp_webhook_app

        client = make_client(settings)
        hook = WhatsAppWebhook(app, WhatsAppAdapter(app, client))
        web_app = whatsapp_webhook_app(hook, web_app)
        paths.append(settings.whatsapp_webhook_path)
    assert web_app is not None
    if settings.web_console:
        from bot.hr_web.app import PREFIX, mount

        mount(web_app, app)
        paths.append(PREFIX)
    print(
        t(
            "cli.serve",
            host=settings.webhook_host,
            port=settings.webhook_port,
            paths=" ".join(paths),
        )
    )
    try:
        await run_site(web_app, settings, stop)
    finally:
        if bot is not None:
            await bot.session.close()
        if client is not None:
            from bot.channels.whatsapp import close_client

            await close_client(client)
