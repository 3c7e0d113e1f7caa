"""The WhatsApp webhook as aiohttp routes: verification handshake, signed POSTs, fast 200.

A POST is checked (X-Hub-Signature-256 through pywa's validator: HMAC-SHA256 of the raw body,
compared in constant time), split into one fragment per message or status, answered 200, and
handled after. Each message id is claimed once by a database insert that every process shares;
a body or fragment we cannot read is logged loudly and kept in `webhook_dead_letter`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from pywa.types import MessageStatus
from pywa.types.base_update import RawUpdate
from pywa.utils import HUB_SIG, webhook_updates_validator
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.app import App, StartupError
from bot.channels import whatsapp_status
from bot.channels.whatsapp import WhatsAppAdapter, parse, quiet_pywa
from bot.config import Settings
from bot.i18n import Translator
from bot.messages import Channel
from storage.models import InboundEvent, WebhookDeadLetter, utcnow

log = logging.getLogger("abdi.whatsapp.webhook")
MAX_BODY = 1024 * 1024
SHUTDOWN_GRACE = 25
PRUNE_EVERY = 1000  # claims per process between two deletions of old ones


def fragments(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One webhook body as single-message / single-status payloads, the shape pywa parses.

    Raises ValueError/KeyError/TypeError on a body that is not a WhatsApp business webhook.
    """
    if payload.get("object") != "whatsapp_business_account":
        raise ValueError(f"unexpected object {str(payload.get('object'))[:40]!r}")
    out: list[dict[str, Any]] = []
    for entry in payload["entry"]:
        for change in entry["changes"]:
            if change.get("field") != "messages":
                continue  # account or template events: nothing for the conversation
            value = change["value"]
            contacts = value.get("contacts") or []
            for kind in ("messages", "statuses"):
                for item in value.get(kind) or []:
                    part = {k: v for k, v in value.items() if k not in ("messages", "statuses")}
                    part[kind] = [item]
                    part["contacts"] = _contact_for(item, contacts)
                    out.append(
                        {
                            "object": payload["object"],
                            "entry": [
                                {
                                    "id": entry["id"],
                                    "changes": [{"field": "messages", "value": part}],
                                }
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
    if len(contacts) == 1:
        return contacts
    # Statuses may carry no contact block: the recipient ids are all there is.
    user_id = item.get("recipient_user_id") or item.get("recipient_id")
    return [{"user_id": user_id, "wa_id": item.get("recipient_id")}] if user_id else contacts


class Unreadable(ValueError):
    """A fragment pywa cannot read: kept as a dead letter, no traceback needed."""


class WhatsAppWebhook:
    """Receives webhook POSTs and runs their work in the background, tracked for shutdown."""

    def __init__(self, app: App, adapter: WhatsAppAdapter) -> None:
        self.app = app
        self.adapter = adapter
        self.background: set[asyncio.Task[Any]] = set()
        # Bodies are answered at once; their work waits here. A few hundred at once would only
        # queue on the database pool and slow every one of them (measured in bench/).
        self.slots = asyncio.Semaphore(app.settings.whatsapp_concurrency)
        self.claims = 0

    # -- routes --------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.Response:
        token = self.app.settings.whatsapp_verify_token or ""
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
        except Exception:
            # A bug must not become a 5xx: Meta would redeliver it, then disable the webhook.
            log.exception("webhook handler failed")
            return web.json_response({"error": "bad request"}, status=400)

    async def _receive(self, request: web.Request) -> web.Response:
        secret = self.app.settings.whatsapp_app_secret or ""
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "too large"}, status=413)
        signature = request.headers.get(HUB_SIG, "")
        if not secret or not signature or not webhook_updates_validator(secret, body, signature):
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            await self.dead_letter(body, f"not JSON: {exc}")
            return web.json_response({"error": "bad request"}, status=400)
        try:
            parts = fragments(payload)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            await self.dead_letter(body, f"not a WhatsApp webhook: {type(exc).__name__} {exc}")
            return web.json_response({"ok": True, "kept": True})
        if parts:
            task = asyncio.create_task(self.handle(parts, body))
            self.background.add(task)
            task.add_done_callback(self.background.discard)
        return web.json_response({"ok": True})

    # -- work ------------------------------------------------------------------------------
    async def handle(self, parts: list[dict[str, Any]], body: bytes) -> None:
        async with self.slots:
            await self._handle(parts, body)

    async def _handle(self, parts: list[dict[str, Any]], body: bytes) -> None:
        """A fragment that fails keeps the whole body as received (the bytes Meta signed)."""
        for n, part in enumerate(parts):
            try:
                if "statuses" in part["entry"][0]["changes"][0]["value"]:
                    await self.on_status(part)
                else:
                    await self.on_message(part)
            except Unreadable as exc:
                await self.dead_letter(body, f"part {n + 1}: {exc}")
            except Exception as exc:
                log.exception("webhook fragment failed")
                await self.dead_letter(body, f"part {n + 1}: {type(exc).__name__}: {exc}")

    async def on_message(self, part: dict[str, Any]) -> None:
        try:
            update = parse(self.adapter.client, part)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise Unreadable(f"unreadable message: {exc!r}") from exc
        if not await self.first_seen(update.id):
            log.info("duplicate WhatsApp message skipped")
            return
        await self.adapter.on_message(update)

    async def on_status(self, part: dict[str, Any]) -> None:
        raw = RawUpdate(json.dumps(part).encode(), hmac_header=None, update_hash="")
        try:
            with quiet_pywa():
                update = MessageStatus.from_update(self.adapter.client, raw)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise Unreadable(f"unreadable status: {exc!r}") from exc
        code = update.error.code if update.error is not None else None
        status = whatsapp_status.status_of(str(update.status), code)
        if status is None:
            named = part["entry"][0]["changes"][0]["value"]["statuses"][0].get("status")
            log.warning("WhatsApp status ignored", extra={"status": str(named)[:40]})
            return
        error = f"{code} {update.error.message}"[:200] if update.error is not None else None
        async with self.app.sessions() as session, session.begin():
            await whatsapp_status.apply(session, update.id, status, error, update.tracker)
            await whatsapp_status.settle(session)

    async def first_seen(self, wamid: str) -> bool:
        """Claim a message id once for all processes: the primary key decides, atomically."""
        self.claims += 1
        if self.claims % PRUNE_EVERY == 0:
            await self.prune()
        try:
            async with self.app.sessions() as session, session.begin():
                session.add(InboundEvent(event_id=f"{Channel.WHATSAPP.value}:{wamid}"))
        except IntegrityError:
            return False
        except Exception:
            # No database: the dispatcher answers "unavailable" (and dedups in the state store).
            log.exception("inbound event claim failed")
        return True

    async def prune(self) -> int:
        """Forget claims older than DEDUP_TTL_SECONDS: Meta stops redelivering long before."""
        cutoff = utcnow() - timedelta(seconds=self.app.settings.dedup_ttl_seconds)
        try:
            async with self.app.sessions() as session, session.begin():
                result = await session.execute(
                    delete(InboundEvent).where(InboundEvent.received_at < cutoff)
                )
        except Exception:
            log.exception("pruning inbound events failed")
            return 0
        return int(getattr(result, "rowcount", 0) or 0)

    async def dead_letter(self, body: bytes, reason: str) -> None:
        log.error("unreadable WhatsApp webhook kept for inspection: %s", reason[:200])
        try:
            async with self.app.sessions() as session, session.begin():
                session.add(
                    WebhookDeadLetter(
                        channel=Channel.WHATSAPP.value,
                        reason=reason[:200],
                        body=body.decode("utf-8", errors="replace"),
                        raw=body,
                    )
                )
        except Exception:
            log.exception("dead letter not stored; body follows: %r", body[:4096])

    async def idle(self) -> None:
        """Wait for the work of the POSTs answered so far (tests, benchmarks)."""
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
        from bot.channels.telegram import health_check

        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_get("/healthz", health_check(hook.app))
    hook.add_routes(web_app)
    return web_app


def whatsapp_configured(settings: Settings) -> bool:
    return bool(
        settings.whatsapp_token
        and settings.whatsapp_phone_number_id
        and settings.whatsapp_app_secret
        and settings.whatsapp_verify_token
    )


async def serve(app: App, t: Translator, stop: asyncio.Event | None = None) -> None:
    """`abdi serve`: the Telegram and WhatsApp webhooks (those configured) on one aiohttp server."""
    from bot.channels import telegram
    from bot.channels.whatsapp import close_client, make_client

    settings = app.settings
    has_telegram = bool(settings.telegram_bot_token and settings.telegram_webhook_secret)
    if not has_telegram and not whatsapp_configured(settings):
        raise StartupError("cli.serve.nothing")
    bot = None
    web_app = None
    paths = []
    if has_telegram:
        bot = telegram.make_bot(settings)
        await telegram.check_token(bot)
        await telegram.register_commands(bot)
        if settings.telegram_webhook_url:
            url, secret = settings.telegram_webhook_url, settings.telegram_webhook_secret
            await telegram.with_retry(
                lambda: bot.set_webhook(
                    url, secret_token=secret, allowed_updates=telegram.ALLOWED_UPDATES
                )
            )
        web_app = telegram.webhook_app(app, bot)
        paths.append(settings.webhook_path)
    client = None
    if whatsapp_configured(settings):
        client = make_client(settings)
        hook = WhatsAppWebhook(app, WhatsAppAdapter(app, client))
        web_app = webhook_app(hook, web_app)
        paths.append(settings.whatsapp_webhook_path)
    assert web_app is not None
    print(
        t(
            "cli.serve",
            host=settings.webhook_host,
            port=settings.webhook_port,
            paths=" ".join(paths),
        )
    )
    try:
        await telegram.run_site(web_app, settings, stop)
    finally:
        if bot is not None:
            await bot.session.close()
        if client is not None:
            await close_client(client)
