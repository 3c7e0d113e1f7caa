"""The WhatsApp webhook as aiohttp routes: verification handshake, signed POSTs taken, then 200.

A POST is checked first, on the bytes that came over the wire (X-Hub-Signature-256 through pywa's
validator: HMAC-SHA256 of the raw body, compared in constant time). An unsigned or wrongly signed
body gets 403, one WARNING line, and nothing is stored. Only a signed body is decoded (gzip or
deflate, bot/channels/webhook_body.py) and read; one we cannot read is kept in
`webhook_dead_letter` and acknowledged, since sending it again would not help.

The rest is split into one fragment per message or status and handled in order before the
answer: 200 once each message was taken (handled, its id claimed in the same unit of work) or
kept; 503 when a dependency (database, state store) is down, so that WhatsApp sends the body
again. What was taken before the outage is then skipped as a duplicate; the rest is handled.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from pywa.utils import HUB_SIG, webhook_updates_validator
from sqlalchemy import delete

from bot import dead_letters, metrics
from bot.app import App
from bot.channels import webhook_body, whatsapp_status
from bot.channels.whatsapp import (
    DUPLICATE,
    IGNORED,
    NOTICE,
    UPDATED,
    Sender,
    Unreadable,
    WhatsAppAdapter,
    bsuid_of,
    wa_id_of,
)
from bot.config import reveal
from bot.dispatcher import Unavailable
from bot.messages import Channel
from bot.outage import is_outage
from bot.web import application
from storage.models import InboundEvent, WebhookDeadLetter, utcnow

log = logging.getLogger("abdi.whatsapp.webhook")
MAX_BODY = 1024 * 1024
SHUTDOWN_GRACE = 25
PRUNE_EVERY = 1000  # claims per process between two deletions of old ones
STATUS, KEPT = "status", "kept"
# Outcomes of fragments the core never saw (it counts the others itself, bot/dispatcher.py).
OWN_OUTCOMES = {
    IGNORED: metrics.UpdateOutcome.IGNORED,
    STATUS: metrics.UpdateOutcome.STATUS,
    NOTICE: metrics.UpdateOutcome.HANDLED,
    UPDATED: metrics.UpdateOutcome.HANDLED,
}

__all__ = ["Taken", "Unreadable", "WhatsAppWebhook", "fragments", "webhook_app"]


def fragments(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One webhook body as single-message / single-status payloads, in order.

    Raises ValueError/KeyError/TypeError/AttributeError on a body that is not a WhatsApp
    business webhook. Fields other than messages and user id updates (account, template
    events) carry nothing for a conversation and give no fragment.
    """
    if payload.get("object") != "whatsapp_business_account":
        raise ValueError(f"unexpected object {str(payload.get('object'))[:40]!r}")
    out: list[dict[str, Any]] = []
    for entry in payload["entry"]:
        for change in entry["changes"]:
            name = change.get("field")
            if name not in ("messages", "user_id_update"):
                continue
            value = change["value"]
            contacts = value.get("contacts") or []
            kinds = ("messages", "statuses") if name == "messages" else ("user_id_update",)
            for kind in kinds:
                for item in value.get(kind) or []:
                    part = {k: v for k, v in value.items() if k not in ("messages", "statuses")}
                    part[kind] = [item]
                    part["contacts"] = _contact_for(item, contacts)
                    out.append(
                        {
                            "object": payload["object"],
                            "entry": [
                                {"id": entry["id"], "changes": [{"field": name, "value": part}]}
                            ],
                        }
                    )
    return out


def _contact_for(item: dict[str, Any], contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The contact of this message's sender (or this status's recipient) among the body's."""
    refs = {item.get(k) for k in ("from_user_id", "from", "recipient_user_id", "recipient_id")}
    refs.discard(None)
    for contact in contacts:
        if contact.get("user_id") in refs or contact.get("wa_id") in refs:
            return [contact]
    return contacts if len(contacts) == 1 else []


def _encoding_of(raw: bytes) -> str | None:
    """How a kept body was compressed (the header is not kept): gzip and zlib have marks."""
    if raw[:2] == b"\x1f\x8b":
        return "gzip"
    if len(raw) > 1 and raw[0] == 0x78 and (raw[0] * 256 + raw[1]) % 31 == 0:
        return "deflate"
    return None


@dataclass
class Taken:
    """What came of one body: the outcome of each fragment, and why any were kept."""

    outcomes: Counter[str] = field(default_factory=Counter)
    kept: list[str] = field(default_factory=list)


class WhatsAppWebhook:
    """Receives webhook POSTs and takes their messages before answering."""

    def __init__(self, app: App, adapter: WhatsAppAdapter) -> None:
        self.app = app
        self.adapter = adapter
        self.background: set[asyncio.Task[Any]] = set()
        # At most this many bodies are worked on at once; the others wait for a slot (a few
        # hundred at once would only queue on the database pool and slow every one of them).
        self.slots = asyncio.Semaphore(app.settings.whatsapp_concurrency)
        self.claims = 0

    # -- routes --------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.Response:
        token = reveal(self.app.settings.whatsapp_verify_token)
        mode = request.query.get("hub.mode", "")
        given = request.query.get("hub.verify_token", "")
        challenge = request.query.get("hub.challenge", "")
        if (
            mode != "subscribe"
            or not token
            or not hmac.compare_digest(given.encode(), token.encode())
        ):
            return web.Response(status=403, text="forbidden")
        if not challenge:
            return web.Response(status=400, text="hub.challenge missing")
        return web.Response(text=challenge)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            return await self._receive(request)
        except web.HTTPException:
            raise
        except Unavailable:
            # Not taken: WhatsApp sends the body again later; nothing of the rest was stored.
            return web.json_response({"error": "unavailable"}, status=503)
        except Exception as exc:
            if is_outage(exc):
                log.warning("WhatsApp webhook unavailable: %s", type(exc).__name__)
                return web.json_response({"error": "unavailable"}, status=503)
            # A bug must not become a 5xx: WhatsApp would redeliver it, then disable the hook.
            log.exception("webhook handler failed")
            return web.json_response({"error": "bad request"}, status=400)

    async def _receive(self, request: web.Request) -> web.Response:
        secret = reveal(self.app.settings.whatsapp_app_secret)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("WhatsApp webhook refused: body over %d bytes", MAX_BODY)
            return web.json_response({"error": "too large"}, status=413)
        signature = request.headers.get(HUB_SIG, "")
        # The bytes as received, before any decoding: what WhatsApp signed.
        if not secret or not signature or not webhook_updates_validator(secret, raw, signature):
            log.warning(
                "WhatsApp webhook refused: %s (%d bytes, encoding %r)",
                "unsigned" if not signature else "bad signature",
                len(raw),
                (request.headers.get("Content-Encoding") or "")[:20],
            )
            return web.json_response({"error": "forbidden"}, status=403)
        taken = await self.take(raw, request.headers.get("Content-Encoding"))
        if taken.kept:
            return web.json_response({"ok": True, "kept": True})
        return web.json_response({"ok": True})

    # -- work ------------------------------------------------------------------------------
    async def take(self, raw: bytes, encoding: str | None = None, *, keep: bool = True) -> Taken:
        """Read and handle one signed body; raises Unavailable when a dependency is down.

        A body or fragment we cannot read is kept (the whole body, as received: the bytes that
        were signed) unless `keep` is off (a replay of a body kept before)."""
        taken = Taken()
        try:
            payload = webhook_body.loads(webhook_body.decoded(raw, encoding))
            parts = fragments(payload)
        except webhook_body.BodyError as exc:
            await self._keep(raw, str(exc), taken, keep)
            return taken
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"not a WhatsApp webhook: {type(exc).__name__} {exc}"
            await self._keep(raw, reason, taken, keep)
            return taken
        async with self.slots:
            for n, part in enumerate(parts, 1):
                try:
                    try:
                        outcome = await self._part(part)
                    except Unavailable:
                        raise
                    except Exception as exc:
                        if not is_outage(exc):
                            raise
                        log.warning("dependency unavailable: %s", type(exc).__name__)
                        raise Unavailable(type(exc).__name__) from exc
                except Unreadable as exc:
                    await self._keep(raw, f"part {n}: {exc}", taken, keep)
                    continue
                except Unavailable:
                    # Not taken; this and the rest come again. The sender hears why it waits.
                    value = part["entry"][0]["changes"][0]["value"]
                    if "messages" in value:
                        await self.adapter.unavailable(value)
                    raise
                except Exception as exc:
                    log.exception("webhook fragment failed")
                    await self._keep(raw, f"part {n}: {type(exc).__name__}: {exc}", taken, keep)
                    continue
                taken.outcomes[outcome] += 1
                if outcome in OWN_OUTCOMES:
                    metrics.update(Channel.WHATSAPP.value, OWN_OUTCOMES[outcome])
        return taken

    async def _keep(self, raw: bytes, reason: str, taken: Taken, keep: bool) -> None:
        taken.kept.append(reason[:200])
        taken.outcomes[KEPT] += 1
        if keep and not await dead_letters.keep(
            self.app.sessions, Channel.WHATSAPP.value, raw, reason
        ):
            raise Unavailable("dead letter not stored")

    async def _part(self, part: dict[str, Any]) -> str:
        value = part["entry"][0]["changes"][0]["value"]
        if "statuses" in value:
            return await self.on_status(value)
        if "user_id_update" in value:
            return await self.on_user_id_update(value)
        messages = value.get("messages")
        wamid = messages[0].get("id") if isinstance(messages, list) and messages else None
        if isinstance(wamid, str) and wamid and not await self.first_seen(wamid):
            log.info("duplicate WhatsApp message skipped")
            metrics.update(Channel.WHATSAPP.value, metrics.UpdateOutcome.DUPLICATE)
            return DUPLICATE
        return await self.adapter.on_message(value)

    async def on_status(self, value: dict[str, Any]) -> str:
        try:
            item = value["statuses"][0]
            platform_id = item["id"]
            named = str(item.get("status") or "")
            errors = item.get("errors") or []
            error = errors[0] if errors and isinstance(errors[0], dict) else None
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise Unreadable(f"unreadable status: {type(exc).__name__} {exc}") from exc
        if not isinstance(platform_id, str) or not platform_id:
            raise Unreadable("status without a message id")
        code = error.get("code") if error is not None else None
        status = whatsapp_status.status_of(named, code if isinstance(code, int) else None)
        if status is None:
            log.warning("WhatsApp status ignored", extra={"status": named[:40]})
            return IGNORED
        detail = None
        if error is not None:
            detail = f"{code} {error.get('message') or error.get('title') or ''}".strip()[:200]
        tracker = item.get("biz_opaque_callback_data")
        tracker = tracker if isinstance(tracker, str) else None
        async with self.app.sessions() as session, session.begin():
            await whatsapp_status.apply(session, platform_id, status, detail, tracker)
            await whatsapp_status.settle(session)
        return STATUS

    async def on_user_id_update(self, value: dict[str, Any]) -> str:
        """A user's business-scoped id changed: their account follows."""
        try:
            item = value["user_id_update"][0]
            ids = item["user_id"]
            previous, current = bsuid_of(ids.get("previous")), bsuid_of(ids.get("current"))
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise Unreadable(f"unreadable user id update: {type(exc).__name__} {exc}") from exc
        number = wa_id_of(item.get("wa_id"))
        if current is None or not (previous or number):
            raise Unreadable("user id update without the old or the new id")
        return await self.adapter.move(Sender(previous, number), bsuid=current)

    async def first_seen(self, wamid: str) -> bool:
        """Whether a message id is new: an early look that spares a redelivery the adapter's
        work. The claim itself is made in the unit of work that handles the message."""
        self.claims += 1
        if self.claims % PRUNE_EVERY == 0:
            await self.prune()
        key = f"{Channel.WHATSAPP.value}:{wamid}"[:160]
        try:
            async with self.app.sessions() as session:
                return await session.get(InboundEvent, key) is None
        except Exception as exc:
            if not is_outage(exc):
                raise
            return True  # the handling meets the same outage and says so

    async def prune(self) -> int:
        """Forget claims older than DEDUP_TTL_SECONDS: Meta stops redelivering long before."""
        cutoff = utcnow() - timedelta(seconds=self.app.settings.dedup_ttl_seconds)
        try:
            async with self.app.sessions() as session, session.begin():
                result = await session.execute(
                    delete(InboundEvent).where(InboundEvent.received_at < cutoff)
                )
        except Exception as exc:
            log.warning("pruning inbound events failed: %s", type(exc).__name__)
            return 0
        return int(getattr(result, "rowcount", 0) or 0)

    async def replay(self, letter_id: int) -> tuple[WebhookDeadLetter, Taken] | None:
        """Feed a kept body through the processing again (it came from our database, so no
        signature). Messages handled before are skipped by their claims; the rest are handled.
        The letter is marked replayed when nothing of it is left unreadable. Raises
        Unavailable (nothing marked) when a dependency is down."""
        async with self.app.sessions() as session:
            letter = await session.get(WebhookDeadLetter, letter_id)
        if letter is None or letter.channel != Channel.WHATSAPP.value:
            return None
        raw = letter.raw if letter.raw is not None else letter.body.encode()
        taken = await self.take(raw, _encoding_of(raw), keep=False)
        if not taken.kept:
            # "answered=1 duplicate=2": counts by outcome, put in words by whoever shows them.
            note = " ".join(f"{k}={v}" for k, v in sorted(taken.outcomes.items()))
            async with self.app.sessions() as session, session.begin():
                row = await session.get(WebhookDeadLetter, letter_id)
                if row is not None:
                    row.replayed_at = utcnow()
                    row.replay_note = note[:200]
            letter.replayed_at, letter.replay_note = utcnow(), note[:200]
        return letter, taken

    async def idle(self) -> None:
        """Wait for work started in the background (none: bodies are taken before the answer)."""
        while self.background:
            await asyncio.wait(list(self.background))

    async def on_shutdown(self, _: web.Application) -> None:
        if self.background:
            await asyncio.wait(list(self.background), timeout=SHUTDOWN_GRACE)

    def add_routes(self, web_app: web.Application) -> None:
        path = self.app.settings.whatsapp_webhook_path
        web_app.router.add_get(path, self.verify)
        web_app.router.add_post(path, self.receive)
        web_app.on_shutdown.append(self.on_shutdown)


def webhook_app(hook: WhatsAppWebhook, web_app: web.Application | None = None) -> web.Application:
    """Add the WhatsApp routes to `web_app` (the Telegram one, under `abdi serve`) or a new app."""
    if web_app is None:
        web_app = application(hook.app)
    hook.add_routes(web_app)
    return web_app
