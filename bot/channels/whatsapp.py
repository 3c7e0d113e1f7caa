"""WhatsApp Cloud API through pywa: webhook updates -> Inbound, neutral Reply -> Graph API calls.

pywa gives the types, the update parsing, the sending and the signature check. Its server, its
listeners and its in-memory duplicate filter are not used: the webhook is our aiohttp route
(bot/channels/whatsapp_webhook.py) and de-duplication is a database insert shared by processes.
pywa always builds https://graph.facebook.com URLs; WHATSAPP_API_BASE points them elsewhere (a
stand-in server in tests) through the httpx transport it is handed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
from pywa.errors import PywaUnknownEnumMemberWarning
from pywa.types import (
    Button,
    CallbackButton,
    CallbackSelection,
    Message,
    MessageType,
    Section,
    SectionList,
    SectionRow,
)
from pywa.types.base_update import RawUpdate
from pywa_async import WhatsApp
from pywa_async.errors import WhatsAppError

from bot.app import App, StartupError
from bot.channels import whatsapp_render as render
from bot.config import Settings
from bot.i18n import Translator, translator
from bot.messages import Attachment, Channel, Choice, Inbound, Reply, SharedContact
from storage.state import ConversationState

log = logging.getLogger("abdi.whatsapp")

DEFAULT_BASE = "https://graph.facebook.com"
GRAPH_CONNECTIONS = 64  # kept-alive connections to the Graph API per process
THROTTLED = {130429, 131056, 131048}  # throughput, pair rate, spam rate limit
MAX_ATTEMPTS = 3
HIDDEN_PHONE_FALLBACK = "link:code"  # the linking screen's "enter an HR code" action
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # bigger inbound files are not kept (their URL expires soon)
IGNORED_TYPES = {MessageType.REACTION, MessageType.UNSUPPORTED, MessageType.SYSTEM}
MEDIA_TYPES = {
    MessageType.IMAGE,
    MessageType.DOCUMENT,
    MessageType.AUDIO,
    MessageType.VIDEO,
    MessageType.STICKER,
}


class MediaMissing(Exception):
    """An inbound file we could not fetch: the user is told, by this message, to send it again."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class RebaseTransport(httpx.AsyncBaseTransport):
    """Sends pywa's graph.facebook.com requests to another Graph API base (a stand-in)."""

    def __init__(
        self, base: str, inner: httpx.AsyncBaseTransport | None = None, connections: int = 64
    ) -> None:
        self.base = httpx.URL(base)
        # httpx keeps 20 idle connections by default: under a burst of replies every extra
        # one was opened and closed per request, which cost more than the whole core.
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.inner = inner or httpx.AsyncHTTPTransport(retries=1, limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "graph.facebook.com" and str(self.base) != DEFAULT_BASE:
            prefix = self.base.path.rstrip("/")
            request.url = request.url.copy_with(
                scheme=self.base.scheme,
                host=self.base.host,
                port=self.base.port,
                path=prefix + request.url.path,
            )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def make_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> WhatsApp:
    if not (settings.whatsapp_token and settings.whatsapp_phone_number_id):
        raise StartupError(
            "cli.bad_config", detail="WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID are required"
        )
    http = httpx.AsyncClient(
        transport=RebaseTransport(settings.whatsapp_api_base, transport, GRAPH_CONNECTIONS),
        timeout=20.0,
    )
    return WhatsApp(
        phone_id=settings.whatsapp_phone_number_id,
        token=settings.whatsapp_token,
        session=http,
        app_secret=settings.whatsapp_app_secret,
        verify_token=settings.whatsapp_verify_token,
        filter_updates=False,
        skip_duplicate_updates=False,  # in-memory only: our dedup is a shared database insert
    )


def parse(
    client: WhatsApp, fragment: dict[str, Any]
) -> Message | CallbackButton | CallbackSelection:
    """One single-message webhook fragment as a pywa update (raises on a shape it cannot read)."""
    raw = RawUpdate(json.dumps(fragment).encode(), hmac_header=None, update_hash="")
    message = raw.value["messages"][0]
    interactive = message.get("interactive", {}).get("type")
    with quiet_pywa():
        if message.get("type") == MessageType.BUTTON or interactive == "button_reply":
            return CallbackButton.from_update(client, raw)
        if interactive == "list_reply":
            return CallbackSelection.from_update(client, raw)
        return Message.from_update(client, raw)


@contextlib.contextmanager
def quiet_pywa() -> Iterator[None]:
    """pywa warns in several lines on stderr about values it does not know (a new status, a
    new message type); we log what matters ourselves, on one JSON line. Parsing is synchronous,
    so the filter cannot leak into other tasks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PywaUnknownEnumMemberWarning)
        yield


@dataclasses.dataclass(slots=True)
class UntitledSection(Section):
    """A list's only section needs no title; WhatsApp would show it under the same words as the
    list's button."""

    def to_dict(self) -> dict[str, Any]:
        return {"rows": tuple(row.to_dict() for row in self.rows)}


def language_hint(bsuid: str) -> str | None:
    """WhatsApp sends no language: the country of the user id ("ID.1234") is the best hint."""
    country, dot, _ = bsuid.partition(".")
    if not dot or len(country) != 2:
        return None
    return "id" if country == "ID" else "en"


def throttled(exc: BaseException) -> bool:
    if isinstance(exc, WhatsAppError):
        status = exc.raw_response.status_code if exc.raw_response is not None else 0
        return exc.code in THROTTLED or status >= 500
    return isinstance(exc, httpx.TransportError)


async def with_retry(call: Any) -> Any:
    """Retry throttling, 5xx and network faults a bounded number of times with backoff."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return await call()
        except (WhatsAppError, httpx.TransportError) as exc:
            if attempt == MAX_ATTEMPTS - 1 or not throttled(exc):
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


class WhatsAppAdapter:
    """Feeds WhatsApp messages to the core dispatcher and renders its replies as Graph calls."""

    def __init__(self, app: App, client: WhatsApp) -> None:
        self.app = app
        self.core = app.dispatcher
        self.client = client

    # -- inbound -------------------------------------------------------------------------
    async def on_message(self, update: Message | CallbackButton | CallbackSelection) -> None:
        user = update.from_user
        bsuid = user.bsuid
        if isinstance(update, Message) and update.type in IGNORED_TYPES:
            return
        await self._typing(update.id)
        menu = await self.app.store.get(self._menu_key(bsuid))
        payload: str | None = None
        if isinstance(update, CallbackButton | CallbackSelection):
            seq, payload = render.untag(update.data)
            if seq is not None and not self._current(menu, seq, payload):
                await self._again(bsuid, update.id, menu, "whatsapp.stale")
                return
        elif update.type == MessageType.TEXT and update.text is not None and menu is not None:
            if not menu.data.get("text_first"):  # a screen that asked for text takes "2" as text
                payload = render.typed_choice(update.text, menu.data.get("options", []))
        hidden = False
        if payload is None and self._hidden_card(update):
            # A hidden number cannot be matched, whoever's card it is: say so, offer the HR code.
            inbound = self._inbound(update, bsuid, action=HIDDEN_PHONE_FALLBACK)
            hidden = True
        elif payload is None:
            try:
                inbound = await self._from_message(update, bsuid)  # type: ignore[arg-type]
            except MediaMissing as missing:
                await self._again(bsuid, update.id, menu, missing.key, main_menu=False)
                return
        elif payload.startswith(render.PAGE_ACTION + ":") and menu is not None:
            await self._page(bsuid, menu, payload)
            return
        elif payload == render.PHONE_ACTION:
            inbound = self._own_phone(update, bsuid, user.wa_id)
            hidden = inbound.contact is None
        else:
            inbound = self._inbound(update, bsuid, action=payload)
        replies = await self.core.handle(inbound)
        notice = None
        if hidden and replies:
            notice = self.translator(replies[0].locale)("whatsapp.phone_hidden")
        await self.send(bsuid, replies, notice=notice)

    @staticmethod
    def _current(menu: ConversationState | None, seq: int, payload: str) -> bool:
        """A tap on the menu shown last, naming one of its choices (or one of its pages)."""
        if menu is None or menu.data.get("seq") != seq:
            return False
        if payload.startswith(render.PAGE_ACTION + ":"):
            return True
        return any(payload == shown for shown, _ in menu.data.get("options", []))

    @staticmethod
    def _hidden_card(update: Any) -> bool:
        return (
            isinstance(update, Message)
            and update.type == MessageType.CONTACTS
            and not update.from_user.wa_id
        )

    def _inbound(self, update: Any, bsuid: str, **fields: Any) -> Inbound:
        return Inbound(
            channel=Channel.WHATSAPP,
            chat_ref=bsuid,
            user_ref=bsuid,
            event_id=update.id,
            language_hint=language_hint(bsuid),
            display_name=update.from_user.name,
            **fields,
        )

    def _own_phone(self, update: Any, bsuid: str, wa_id: str | None) -> Inbound:
        """The "use this number" tap: the number WhatsApp shows us is the user's own, confirmed."""
        if not wa_id:
            # The user hides their number: fall back to the HR code, as on Telegram.
            return self._inbound(update, bsuid, action=HIDDEN_PHONE_FALLBACK)
        return self._inbound(update, bsuid, contact=SharedContact("+" + wa_id, bsuid))

    async def _from_message(self, message: Message, bsuid: str) -> Inbound:
        if message.type == MessageType.TEXT:
            return self._inbound(message, bsuid, text=message.text)
        if message.type == MessageType.CONTACTS and message.contacts:
            return self._inbound(message, bsuid, contact=self._card(message, bsuid))
        attachment = None
        if message.type in MEDIA_TYPES:
            attachment = await self._download(message)
        return self._inbound(message, bsuid, text=message.caption, attachment=attachment)

    def _card(self, message: Message, bsuid: str) -> SharedContact | None:
        phones = [p for c in message.contacts or () for p in c.phones]
        if not phones:
            return SharedContact("", None)
        phone = phones[0]
        own = message.from_user.wa_id
        # Only a card carrying the sender's own WhatsApp id is theirs; a hidden number cannot be.
        owner = bsuid if own and phone.wa_id == own else (phone.wa_id or None)
        return SharedContact(phone.phone or (phone.wa_id or ""), owner)

    async def _download(self, message: Message) -> Attachment | None:
        """Media URLs expire within minutes: fetch the bytes now, while handling the message."""
        media = message.media
        if media is None:
            return None
        try:
            url = await with_retry(lambda: self.client.get_media_url(media.id))
            if url.file_size > MAX_MEDIA_BYTES:
                log.warning("inbound media too large", extra={"size": url.file_size})
                raise MediaMissing("whatsapp.media_too_large")
            content = await with_retry(lambda: self.client.get_media_bytes(url.url))
        except (WhatsAppError, httpx.HTTPError) as exc:
            log.exception("inbound media download failed")
            raise MediaMissing("whatsapp.media_failed") from exc
        name = getattr(media, "filename", None) or f"{message.id[-12:]}.{message.type}"
        return Attachment(name, content, url.mime_type)

    async def _typing(self, message_id: str) -> None:
        """WhatsApp has no callback answer: mark the message read and show typing instead."""
        try:
            await self.client.indicate_typing(message_id)
        except (WhatsAppError, httpx.HTTPError):
            log.warning("typing indicator failed")

    async def _again(
        self,
        bsuid: str,
        message_id: str,
        menu: ConversationState | None,
        key: str,
        main_menu: bool = True,
    ) -> None:
        """A short notice, then the menu shown last (or the main menu, or nothing more)."""
        if menu is None or not menu.data.get("options"):
            if not main_menu:
                t = self.translator(menu.data.get("locale") if menu else None)
                await self.send(bsuid, [Reply(t(key))])
                return
            replies = await self.core.handle(
                Inbound(
                    channel=Channel.WHATSAPP,
                    chat_ref=bsuid,
                    user_ref=bsuid,
                    event_id=f"{message_id}:menu",
                    text="/menu",
                    language_hint=language_hint(bsuid),
                )
            )
            notice = self.translator(replies[0].locale)(key) if replies else None
            await self.send(bsuid, replies, notice=notice)
            return
        t = self.translator(menu.data.get("locale"))
        await self.send(bsuid, [self._menu_reply(menu)], notice=t(key))

    async def _page(self, bsuid: str, menu: ConversationState, payload: str) -> None:
        page = payload.rsplit(":", 1)[1]
        seq = int(menu.data["seq"])
        reply = self._menu_reply(menu)
        number = int(page) if page.isdigit() else 0  # a forged page is the first page
        t = self.translator(reply.locale)
        message = render.menu(reply.text, render.options_of(reply), seq, t, number)
        await self.deliver(bsuid, message)

    @staticmethod
    def _menu_reply(menu: ConversationState) -> Reply:
        text = str(menu.data.get("text") or "")
        choices = [Choice(p, label) for p, label in menu.data.get("options", [])]
        phone = menu.data.get("phone")
        choices = [c for c in choices if c.id != render.PHONE_ACTION]
        return Reply(text, choices[:10], request_phone=phone, locale=menu.data.get("locale"))

    # -- outbound ------------------------------------------------------------------------
    def _menu_key(self, bsuid: str) -> str:
        return f"wa-menu:{bsuid}"

    def translator(self, locale: str | None) -> Translator:
        return translator(locale or self.app.settings.default_locale)

    async def send(self, bsuid: str, replies: list[Reply], notice: str | None = None) -> str | None:
        """Send replies in order; returns the last message id. Stops at the first refusal.

        `notice` leads the first reply but is not kept with the menu: a menu shown again later
        (after a stale tap) must not repeat an old notice.
        """
        if not replies:
            return None
        store, ttl = self.app.store, self.app.settings.state_ttl_seconds
        seq = await store.hit(f"wa-seq:{bsuid}", ttl)
        last_menu: Reply | None = None
        last_id = None
        try:
            for n, reply in enumerate(replies):
                t = self.translator(reply.locale)  # our few words in the reply's language
                shown = reply
                if notice and n == 0:
                    shown = dataclasses.replace(reply, text=f"{notice}\n\n{reply.text}")
                for message in render.render(shown, seq, t):
                    last_id = await self.deliver(bsuid, message)
                if reply.choices or reply.request_phone:
                    last_menu = reply
        except (WhatsAppError, httpx.HTTPError):
            log.exception("reply not delivered")
        text_first = any(r.expects_text for r in replies)
        if last_menu is not None:
            options = [[c.id, c.label] for c in render.options_of(last_menu)]
            data = {
                "seq": seq,
                "options": options,
                "text": self._menu_text(last_menu),
                "phone": last_menu.request_phone,
                "locale": last_menu.locale,
                "text_first": text_first,
            }
            await store.set(self._menu_key(bsuid), ConversationState("menu", data), ttl)
        elif text_first and (menu := await store.get(self._menu_key(bsuid))) is not None:
            # A question without buttons still owns the next typed number.
            menu.data["text_first"] = True
            await store.set(self._menu_key(bsuid), menu, ttl)
        return last_id

    def _menu_text(self, reply: Reply) -> str:
        """The text to show with this menu again: the main menu without the line that led it
        ("saved", "that button expired"), which would be wrong when repeated."""
        title = self.translator(reply.locale)("menu.title")
        return title if reply.text.endswith(f"\n\n{title}") else reply.text

    async def deliver(
        self, to: str, message: render.Outgoing, retry: bool = True, tracker: str | None = None
    ) -> str:
        """Send one rendered message; `tracker` comes back in its status callbacks."""
        client = self.client
        kw: dict[str, Any] = {"tracker": tracker} if tracker else {}

        async def call(fn: Any) -> Any:
            return await (with_retry(fn) if retry else fn())

        if message.kind == "text":
            sent = await call(lambda: client.send_message(to, message.text, **kw))
        elif message.kind == "buttons":
            buttons = [Button(title=title, callback_data=id_) for id_, title, _ in message.options]
            sent = await call(lambda: client.send_message(to, message.text, buttons=buttons, **kw))
        elif message.kind == "list":
            rows = [
                SectionRow(title=t, callback_data=i, description=d) for i, t, d in message.options
            ]
            section_list = SectionList(
                button_title=message.button, sections=[UntitledSection(title="", rows=rows)]
            )
            sent = await call(
                lambda: client.send_message(to, message.text, buttons=section_list, **kw)
            )
        else:
            attachment = message.attachment
            assert attachment is not None
            if message.kind == "image":
                sent = await call(
                    lambda: client.send_image(
                        to, attachment.content, mime_type=attachment.mime_type, **kw
                    )
                )
            else:
                sent = await call(
                    lambda: client.send_document(
                        to,
                        attachment.content,
                        filename=attachment.filename,
                        mime_type=attachment.mime_type,
                        **kw,
                    )
                )
        return str(sent.id)


async def close_client(client: WhatsApp) -> None:
    """Close the HTTP session handed to pywa (it does not own it)."""
    await client.api._session.aclose()
