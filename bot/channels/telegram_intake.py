"""What the webhook and long polling share: an update read alone and handed to the core.

An update that does not validate is kept as a dead letter (never lost, never retried forever);
`replay` hands a kept one to the core again once the cause is fixed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiogram.types import Update
from pydantic import ValidationError

from bot import dead_letters, metrics
from bot.app import App
from bot.channels import webhook_body
from bot.channels.telegram import ALLOWED_UPDATES, Taken, TelegramAdapter
from bot.dispatcher import Unavailable
from bot.messages import Channel
from storage.models import WebhookDeadLetter, utcnow

log = logging.getLogger("abdi.telegram.polling")  # the name log filters already use
CHANNEL = Channel.TELEGRAM.value


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
        metrics.update(CHANNEL, metrics.UpdateOutcome.IGNORED)
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
        if not await dead_letters.keep(app.sessions, CHANNEL, body, reason):
            raise Unavailable("dead letter not stored") from exc
        return None
    taken = await adapter.take(update)
    if taken.chat_id is None:  # group traffic, service messages: never reached the core
        metrics.update(CHANNEL, metrics.UpdateOutcome.IGNORED)
    return taken


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
