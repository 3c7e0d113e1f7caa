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
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.types import Update
from pydantic import ValidationError

from bot import dead_letters
from bot.app import App, StartupError
from bot.channels import webhook_body
from bot.channels.telegram import ALLOWED_UPDATES, Taken, TelegramAdapter
from bot.dispatcher import Unavailable
from storage.models import WebhookDeadLetter, utcnow

log = logging.getLogger("abdi.telegram.polling")
MAX_PAUSE = 30.0  # seconds between two tries while the Bot API or a dependency is down


class Unreadable(ValueError):
    """An update that does not validate (when the caller keeps no dead letter of it)."""


async def take_raw(
    app: App, adapter: TelegramAdapter, item: Any, raw: bytes | None, *, keep: bool = True
) -> Taken | None:
    """Validate one update and hand it to the core; None when it was kept as a dead letter.

    Raises Unavailable when it was neither taken nor kept (the caller must not acknowledge);
    with keep=False an unreadable update raises Unreadable instead of being kept."""
    if (
        isinstance(item, dict)
        and isinstance(item.get("update_id"), int)
        and not any(kind in item for kind in ALLOWED_UPDATES)
    ):
        # A kind we never asked for (polls, reactions, chat members...): nothing to read.
        log.info("update ignored", extra={"kind": next(iter(set(item) - {"update_id"}), "")})
        return Taken()
    try:
        if not isinstance(item, dict):
            raise TypeError(f"an update is an object, not {type(item).__name__}")
        update = Update.model_validate(item, context={"bot": adapter.bot})
    except (ValidationError, TypeError, RecursionError) as exc:
        body = raw if raw is not None else json.dumps(item, ensure_ascii=False).encode()
        reason = f"unreadable update: {_first_error(exc)}"
        if not keep:
            raise Unreadable(reason) from exc
        if not await dead_letters.keep(app.sessions, "telegram", body, reason):
            raise Unavailable("dead letter not stored") from exc
        return None
    return await adapter.take(update)


async def replay(app: App, adapter: TelegramAdapter, letter_id: int) -> tuple[str, str] | None:
    """Handle a kept Telegram update again: ("answered" | "ignored" | "kept", reason), or None
    when there is no such letter. Marked replayed unless it is still unreadable."""
    async with app.sessions() as session:
        letter = await session.get(WebhookDeadLetter, letter_id)
    if letter is None or letter.channel != "telegram":
        return None
    raw = letter.raw if letter.raw is not None else letter.body.encode()
    try:
        item = webhook_body.loads(raw)
        taken = await take_raw(app, adapter, item, raw, keep=False)
    except (webhook_body.BodyError, Unreadable) as exc:
        return "kept", str(exc)[:200]
    outcome = "answered" if taken is not None and taken.replies else "ignored"
    if taken is not None:
        await adapter.deliver(taken)
    async with app.sessions() as session, session.begin():
        row = await session.get(WebhookDeadLetter, letter_id)
        if row is not None:
            row.replayed_at = utcnow()
            row.replay_note = f"{outcome}=1"
    return outcome, ""


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return f"{len(errors)} error(s), first at {where}: {first.get('msg', '')}"[:180]
    return f"{type(exc).__name__}: {exc}"[:180]


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
        session = await self.bot.session.create_session()
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
        task.add_done_callback(
            lambda t, user=user: (
                self.sending.pop(user, None) if self.sending.get(user) is t else None
            )
        )
