"""Long polling that acknowledges only what was taken, and survives an update it cannot read.

getUpdates is fetched raw (aiogram's polling validates the whole batch at once, so one update
its models refuse would stop polling for everyone, retried forever). Each update is validated
alone: one that does not validate is kept as a dead letter; the rest are handled, each user's in
order and users side by side. The offset that confirms a batch to Telegram moves past an update
only once it is taken or kept; when a dependency is down the batch is fetched again later, and
what was already taken is skipped by the dispatcher's claim.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from bot.app import App, StartupError
from bot.channels.telegram import (
    ALLOWED_UPDATES,
    Taken,
    TelegramAdapter,
    check_token,
    register_commands,
    with_retry,
)
from bot.channels.telegram_intake import take_raw
from bot.dispatcher import Unavailable
from bot.web import health_server

log = logging.getLogger("abdi.telegram.polling")
MAX_PAUSE = 30.0  # seconds between two tries while the Bot API or a dependency is down


def _update_id(item: Any) -> int | None:
    value = item.get("update_id") if isinstance(item, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _user_of(item: Any) -> str:
    """Whose update this is, so one person's updates are handled in the order they were sent."""
    if isinstance(item, dict):
        for key in ("message", "edited_message", "callback_query"):
            part = item.get(key)
            if isinstance(part, dict):
                sender = part.get("from")
                if isinstance(sender, dict) and "id" in sender:
                    return str(sender["id"])
    return f"update:{id(item)}"


class Poller:
    def __init__(self, app: App, bot: Bot, adapter: TelegramAdapter, timeout: int) -> None:
        self.app = app
        self.bot = bot
        self.adapter = adapter
        self.timeout = timeout
        self.slots = asyncio.Semaphore(app.settings.polling_concurrency)
        self.sending: dict[str, asyncio.Task[None]] = {}  # each user's latest delivery
        self.kept: set[int] = set()  # id-less updates already kept as dead letters

    async def run(self, stop: asyncio.Event) -> None:
        offset: int | None = None
        failures = 0
        while not stop.is_set():
            batch = await self._fetch(offset, stop)
            if batch is None:
                failures += 1
                await self._pause(stop, failures)
                continue
            if not batch:
                continue
            retry_from = await self._take_all(batch)
            ids = [u["update_id"] for u in batch if _update_id(u) is not None]
            if retry_from is None:
                failures = 0
                offset = max(ids) + 1 if ids else offset
            else:
                offset = retry_from
                failures += 1
                await self._pause(stop, failures)

    async def _pause(self, stop: asyncio.Event, failures: int) -> None:
        try:
            await asyncio.wait_for(stop.wait(), min(MAX_PAUSE, 0.5 * 2 ** min(failures, 6)))
        except TimeoutError:
            pass

    async def _fetch(self, offset: int | None, stop: asyncio.Event) -> list[Any] | None:
        """One getUpdates, raced against `stop`; None on a failure (already logged)."""
        fetch = asyncio.ensure_future(self._get_updates(offset))
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            fetch.cancel()  # unconfirmed: Telegram keeps those updates for the next start
            return []
        stopping.cancel()
        return fetch.result()

    async def _get_updates(self, offset: int | None) -> list[Any] | None:
        bot_session = self.bot.session
        if not isinstance(bot_session, AiohttpSession):  # make_bot gives every Bot one
            raise TypeError("long polling reads getUpdates through aiogram's AiohttpSession")
        session = await bot_session.create_session()
        url = self.bot.session.api.api_url(token=self.bot.token, method="getUpdates")
        payload: dict[str, Any] = {"timeout": self.timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            payload["offset"] = offset
        try:
            async with session.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=self.timeout + 15)
            ) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("getUpdates failed: %s", type(exc).__name__)
            return None
        if status == 401:
            raise StartupError("cli.bad_token", detail="getUpdates: 401 Unauthorized")
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            log.warning("getUpdates answered %s with a body that is not JSON", status)
            return None
        result = answer.get("result") if isinstance(answer, dict) else None
        if status != 200 or not isinstance(result, list):
            description = (
                str(answer.get("description", ""))[:120] if isinstance(answer, dict) else ""
            )
            log.warning("getUpdates answered %s %s", status, description)
            return None
        return result

    async def _take_all(self, batch: list[Any]) -> int | None:
        """Take every update of a batch; the first update id to fetch again, if any."""
        groups: dict[str, list[Any]] = {}
        for item in batch:
            if _update_id(item) is None:
                # No id to move past: Telegram would hand it back with every batch, so it is kept
                # once per process, not once per fetch.
                digest = hash(json.dumps(item, sort_keys=True, default=str))
                if digest in self.kept:
                    continue
                self.kept.add(digest)
            groups.setdefault(_user_of(item), []).append(item)
        failed: list[int] = []

        async def one_user(user: str, items: list[Any]) -> None:
            for item in items:
                try:
                    async with self.slots:
                        taken = await take_raw(self.app, self.adapter, item, None)
                except Unavailable:
                    failed.append(_update_id(item) or 0)
                    return  # this person's later updates wait, to stay in order
                if taken is not None:
                    self._deliver(user, taken)

        await asyncio.gather(*(one_user(u, items) for u, items in groups.items()))
        return min(failed) if failed else None

    def _deliver(self, user: str, taken: Taken) -> None:
        """Send in the background, after this user's previous replies."""
        before = self.sending.get(user)

        async def send() -> None:
            if before is not None and not before.done():
                await asyncio.wait([before])
            await self.adapter.deliver(taken)

        task = self.adapter.track(send())
        self.sending[user] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self.sending.get(user) is done:
                del self.sending[user]

        task.add_done_callback(forget)


async def run_polling(
    app: App,
    bot: Bot,
    *,
    adapter: TelegramAdapter | None = None,
    polling_timeout: int = 30,
    handle_signals: bool = True,
) -> None:
    """Long polling until SIGTERM/SIGINT or `adapter.stop_polling()`, with /healthz beside it."""
    adapter = adapter or TelegramAdapter(app.dispatcher, bot)
    await check_token(bot)
    await register_commands(bot)
    await with_retry(lambda: bot.delete_webhook(drop_pending_updates=False))
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, adapter.stop_polling)
    try:
        async with health_server(app):
            await Poller(app, bot, adapter, polling_timeout).run(adapter.stopping)
    finally:
        await adapter.wait_inflight()
        await bot.session.close()
