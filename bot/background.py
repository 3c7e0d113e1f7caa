"""What runs beside the conversations in a process: the delivery drain and the periodic jobs.

`abdi run` and `abdi chat` start it in-process; `abdi worker` runs only this. Every piece is safe
to run in many processes at once (row claiming, shared limiter, job slots).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from bot import jobs
from bot.app import App
from bot.drain import Drain, worker_name
from bot.senders import ChannelSender
from bot.services.rate_limit import limiter_for

log = logging.getLogger("abdi.background")


def channel_senders(app: App) -> dict[str, ChannelSender]:
    """The outbound senders this configuration can build: Telegram with a token, WhatsApp when
    its Cloud API settings are complete. Each has its own HTTP session, apart from the replies."""
    # The channel clients (aiogram, pywa) take seconds to import, and every `abdi` command loads
    # this module: each is imported only when its channel is configured.
    senders: dict[str, ChannelSender] = {}
    if app.settings.telegram_bot_token:
        from bot.channels.telegram_outbound import TelegramSender

        senders["telegram"] = TelegramSender.from_settings(app.settings)
    if app.settings.whatsapp_configured:
        from bot.channels.whatsapp_sender import WhatsAppSender

        senders["whatsapp"] = WhatsAppSender.from_settings(app)
    return senders


@dataclass
class Background:
    app: App
    drain: Drain
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def stop(self) -> None:
        """Finish the wave on the wire, give back unstarted claims, close the senders."""
        self.stop_event.set()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=30)
        for sender in self.app.senders.values():
            with contextlib.suppress(Exception):
                await sender.close()
        if self.app.limiter is not None:
            await self.app.limiter.close()


def start(
    app: App,
    senders: dict[str, ChannelSender],
    *,
    run_drain: bool = True,
    run_jobs: bool = True,
    idle: float = 0.5,
) -> Background:
    worker = worker_name()
    app.senders = dict(senders)
    app.limiter = limiter_for(app.settings.redis_url)
    drain = Drain(app.sessions, app.senders, app.settings, limiter=app.limiter, worker=worker)
    background = Background(app, drain)
    if run_drain and senders:
        background.tasks.append(asyncio.create_task(drain.run(background.stop_event, idle)))
    if run_jobs:
        background.tasks.append(
            asyncio.create_task(jobs.run_forever(app, background.stop_event, worker=worker))
        )
    return background
