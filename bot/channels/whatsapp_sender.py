"""Deliveries on WhatsApp: free text inside the 24-hour window, an approved template outside it.

The drain (bot/delivery.py contract) hands one rendered delivery at a time; this module chooses
the form per recipient and maps Cloud API errors onto outcomes: throttling retries after a wait,
an unreachable user is given up, a closed window is retried at once as a template.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
from pywa.types.templates import BodyText, TemplateLanguage
from pywa_async.errors import WhatsAppError

from bot import metrics
from bot.app import App
from bot.channels import whatsapp_render as render
from bot.channels.whatsapp import WhatsAppAdapter, close_client, make_client
from bot.channels.whatsapp_status import TRACKER_PREFIX
from bot.config import Settings
from bot.messages import Channel, Reply
from bot.senders import ChannelLimits, ChannelSender, Outcome, SendResult
from storage.models import Account, Delivery

log = logging.getLogger("abdi.whatsapp.sender")

WINDOW = timedelta(hours=24)
# last_inbound_at is kept to the minute and clocks drift: stop free text a little early.
WINDOW_MARGIN = timedelta(minutes=10)
OUTSIDE_WINDOW = 131047
RETRY_AFTER = {130429: 1.0, 131056: 6.0, 131048: 60.0}  # throughput, pair rate, spam limit
UNREACHABLE = {131026, 131049, 131050}  # undeliverable, held back by Meta, opted out
TEMPLATE_PARAM_LIMIT = 1024


def tracker(delivery: Delivery) -> str | None:
    """Echoed by Meta in the send's status callbacks: they are known to be a delivery's."""
    return f"{TRACKER_PREFIX}{delivery.id}" if delivery.id is not None else None


def inside_window(account: Account, now: datetime | None = None) -> bool:
    last = account.last_inbound_at
    now = now or datetime.now(UTC)
    return last is not None and now - last < WINDOW - WINDOW_MARGIN


def template_text(text: str) -> str:
    """A template parameter may hold no newline, tab or run of 4+ spaces, and 1024 characters."""
    flat = " · ".join(line.strip() for line in text.splitlines() if line.strip())
    flat = " ".join(flat.split())
    return flat if len(flat) <= TEMPLATE_PARAM_LIMIT else flat[: TEMPLATE_PARAM_LIMIT - 1] + "…"


def outcome_of(exc: BaseException) -> SendResult:
    if isinstance(exc, httpx.HTTPError):
        return SendResult(Outcome.RETRY, retry_after=5.0, error=f"network: {type(exc).__name__}")
    assert isinstance(exc, WhatsAppError)
    error = f"{exc.code} {exc.message}"[:200]
    status = exc.raw_response.status_code if exc.raw_response is not None else 0
    if exc.code in RETRY_AFTER:
        return SendResult(
            Outcome.RETRY, retry_after=RETRY_AFTER[exc.code], error=error, throttled=True
        )
    if exc.code in UNREACHABLE:
        return SendResult(Outcome.UNREACHABLE, error=error)
    if status >= 500 or exc.is_transient:
        return SendResult(Outcome.RETRY, retry_after=5.0, error=error)
    return SendResult(Outcome.FAILED, error=error)


class WhatsAppSender(ChannelSender):
    """`bot.delivery.ChannelSender` for WhatsApp."""

    channel = Channel.WHATSAPP

    def __init__(self, adapter: WhatsAppAdapter, settings: Settings) -> None:
        self.adapter = adapter
        self.settings = settings
        self.limits = ChannelLimits(
            per_second=settings.whatsapp_per_second,
            per_chat_interval=settings.whatsapp_per_chat_interval,
        )

    @classmethod
    def from_settings(cls, app: App) -> WhatsAppSender:
        """A sender with its own Graph API client, apart from the one answering conversations."""
        return cls(WhatsAppAdapter(app, make_client(app.settings)), app.settings)

    async def close(self) -> None:
        await close_client(self.adapter.client)

    async def send_outbound(self, account: Account, delivery: Delivery, reply: Reply) -> SendResult:
        to = account.chat_ref
        if inside_window(account):
            try:
                platform_id = await self._free_text(account, reply, tracker(delivery))
                return SendResult(Outcome.SENT, platform_id=platform_id)
            except (WhatsAppError, httpx.HTTPError) as exc:
                if not (isinstance(exc, WhatsAppError) and exc.code == OUTSIDE_WINDOW):
                    return outcome_of(exc)
                log.info("window closed before our clock said so; sending the template")
        try:
            platform_id = await self._template(to, reply, tracker(delivery))
            return SendResult(Outcome.SENT, platform_id=platform_id)
        except (WhatsAppError, httpx.HTTPError) as exc:
            return outcome_of(exc)

    async def _free_text(self, account: Account, reply: Reply, track: str | None) -> str:
        """The reply as the adapter renders any reply (buttons, lists, media); no retries here."""
        platform_id = ""
        t = self.adapter.translator(reply.locale or account.locale)
        for message in render.render(reply, 0, t):
            platform_id = await self.adapter.deliver(
                account.chat_ref, message, retry=False, tracker=track
            )
        return platform_id

    async def _template(self, to: str, reply: Reply, track: str | None) -> str:
        sent = await self.adapter.client.send_template(
            to,
            name=self.settings.whatsapp_template_notification,
            language=TemplateLanguage(self.settings.whatsapp_template_language),
            # pywa declares BodyText.params without @staticmethod; called on the class it is right.
            params=[BodyText.params(template_text(reply.text))],  # type: ignore[arg-type]
            tracker=track,
        )
        metrics.TEMPLATE_SENDS.inc()
        return str(sent.id)
