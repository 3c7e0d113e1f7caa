"""WhatsApp Cloud API through pywa: webhook messages -> Inbound, neutral Reply -> Graph API calls.

pywa gives the types, the sending, the media calls and the signature check. Its server, its
listeners and its in-memory duplicate filter are not used: the webhook is our aiohttp route
(bot/channels/whatsapp_webhook.py) and de-duplication is a database insert shared by processes.
Messages are read here from the webhook JSON itself: pywa's parser insists on a business-scoped
user id that many webhooks do not carry yet, and knows nothing of our identity rules.
pywa always builds https://graph.facebook.com URLs; WHATSAPP_API_BASE points them elsewhere (a
stand-in server in tests) through the httpx transport it is handed.

Who a user is. A message carries a business-scoped user id (BSUID, "ID.1234…"), a phone number
(wa_id, digits), or both. An account is created under the first of them it is seen with
(`user_ref`, which never changes: link, language and conversation state hang on it) and records
both ids (`Account.bsuid`, `Account.wa_id`), so a later message of either shape finds it. A number
or user id change (system messages) moves those ids, not the key.

What proves a phone number. Only the number of the message's own envelope (`from`, the wa_id
WhatsApp puts there), and for linking only after the user confirmed it ("Use your number
0812…?"). A contact card proves nothing: its phones and wa_ids are whatever was typed into it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx
from pywa.types import Button, Section, SectionList, SectionRow
from pywa_async import WhatsApp
from pywa_async.errors import WhatsAppError
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot import metrics, numbering
from bot.app import App, StartupError
from bot.channels import whatsapp_render as render
from bot.config import Settings, reveal
from bot.i18n import Translator, resolve_locale, translator
from bot.messages import (
    Attachment,
    Channel,
    Choice,
    Inbound,
    MediaRef,
    Reply,
    SharedContact,
)
from bot.outage import is_outage
from bot.services import audit
from bot.services.people import normalize_phone
from storage.models import Account, InboundEvent
from storage.state import ConversationState

log = logging.getLogger("abdi.whatsapp")

DEFAULT_BASE = "https://graph.facebook.com"
GRAPH_CONNECTIONS = 64  # kept-alive connections to the Graph API per process
THROTTLED = {130429, 131056, 131048}  # throughput, pair rate, spam rate limit
MAX_ATTEMPTS = 3
HIDDEN_PHONE_FALLBACK = "link:code"  # the linking screen's "enter an HR code" action
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # bigger inbound files are not fetched
CONFIRM_YES = "wa:own:yes"  # "yes, use this number" on the adapter's confirmation
CONFIRM_NO = "wa:own:no"
RECONFIRM_EVERY = 3600  # how often a held account is told why (seconds)
OUTAGE_NOTICE_EVERY = 300.0  # how often a user writing during an outage is told (seconds)
MEDIA_KINDS = {"image", "document", "audio", "video", "sticker"}
IGNORED_TYPES = {"reaction", "edit", "revoke"}  # no answer: a reaction, an edit, a deletion
UNREADABLE_TYPES = {"unsupported", "unknown"}  # WhatsApp itself could not pass the content on
WA_ID = re.compile(r"[0-9]{6,20}")
BSUID = re.compile(r"[A-Z]{2}\.[0-9A-Za-z.]{1,80}")

# Outcomes of one webhook message, for logs and `abdi whatsapp dead-letters --replay`.
ANSWERED, DUPLICATE, IGNORED, NOTICE, UPDATED = (
    "answered",
    "duplicate",
    "ignored",
    "notice",
    "updated",
)


class Unreadable(ValueError):
    """A webhook message we cannot read: kept as a dead letter, no traceback needed."""


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
    client = WhatsApp(
        phone_id=settings.whatsapp_phone_number_id,
        token=reveal(settings.whatsapp_token),
        session=http,
        app_secret=reveal(settings.whatsapp_app_secret) or None,
        verify_token=reveal(settings.whatsapp_verify_token) or None,
        filter_updates=False,
        skip_duplicate_updates=False,  # in-memory only: our dedup is a shared database insert
    )
    # pywa asks for relative endpoints under the base URL it set on the session: pointed at
    # WHATSAPP_API_BASE once here, no request needs its URL parsed and rebuilt on the way out
    # (that was a tenth of the sending's Python). The transport still rebases absolute URLs.
    base = settings.whatsapp_api_base.rstrip("/")
    if base != DEFAULT_BASE and str(http.base_url).startswith(DEFAULT_BASE):
        http.base_url = httpx.URL(base + str(http.base_url)[len(DEFAULT_BASE) :])
    return client


@dataclasses.dataclass(slots=True)
class UntitledSection(Section):
    """A list's only section needs no title; WhatsApp would show it under the same words as the
    list's button."""

    def to_dict(self) -> dict[str, Any]:
        return {"rows": tuple(row.to_dict() for row in self.rows)}


def language_hint(bsuid: str | None, wa_id: str | None = None) -> str | None:
    """WhatsApp sends no language: the country of the user id ("ID.1234"), else of the phone
    number (62…), is the best hint."""
    if bsuid:
        country, dot, _ = bsuid.partition(".")
        if dot and len(country) == 2:
            return "id" if country == "ID" else "en"
    if wa_id:
        return "id" if wa_id.startswith("62") else "en"
    return None


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
            if isinstance(exc, WhatsAppError) and exc.code in THROTTLED:
                metrics.RATE_LIMITED.labels(Channel.WHATSAPP.value).inc()
            if attempt == MAX_ATTEMPTS - 1 or not throttled(exc):
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def _short(exc: BaseException) -> str:
    if isinstance(exc, WhatsAppError):
        return f"{exc.code} {exc.message}"[:160]
    return f"{type(exc).__name__}: {exc}"[:160]


# -- reading webhook messages ------------------------------------------------------------------
def wa_id_of(value: object) -> str | None:
    """A phone number as WhatsApp writes it in an envelope (digits, no "+"), or None."""
    text = str(value or "").strip()
    return text if WA_ID.fullmatch(text) else None


def bsuid_of(value: object) -> str | None:
    text = str(value or "").strip()
    return text if BSUID.fullmatch(text) else None


def same_number(phone: str, wa_id: str) -> bool:
    """Whether a phone as typed ("0812-…", "+62 812…", "+1 650…") is the number `wa_id`."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return bool(digits) and (digits == wa_id or normalize_phone(phone) == wa_id)


def display_phone(wa_id: str) -> str:
    """6281299991234 as people read it: 0812-9999-1234 (other countries: +1 6505551234)."""
    if not wa_id.startswith("62"):
        return "+" + wa_id
    local = "0" + wa_id[2:]
    return "-".join(local[i : i + 4] for i in range(0, len(local), 4))


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote, as the envelope says (never a card): user id, phone number, or both."""

    bsuid: str | None
    wa_id: str | None
    name: str | None = None


def sender_of(value: dict[str, Any], message: dict[str, Any]) -> Sender | None:
    contacts = value.get("contacts") or []
    contact = contacts[0] if contacts and isinstance(contacts[0], dict) else {}
    profile = contact.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    sent_from = message.get("from")
    bsuid = bsuid_of(message.get("from_user_id")) or bsuid_of(contact.get("user_id"))
    bsuid = bsuid or bsuid_of(sent_from)  # a "from" that is a user id, not a number
    wa_id = wa_id_of(sent_from) or wa_id_of(contact.get("wa_id"))
    if bsuid is None and wa_id is None:
        return None
    name = profile.get("name") if isinstance(profile.get("name"), str) else None
    return Sender(bsuid, wa_id, name)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One webhook message, the parts of it the adapter uses."""

    wamid: str
    type: str
    sender: Sender
    text: str | None = None
    caption: str | None = None
    callback: str | None = None  # the id of a tapped button or list row
    media: dict[str, Any] | None = None
    cards: tuple[str, ...] = ()  # the phones of shared contact cards, in order
    unreadable: bool = False  # WhatsApp says it could not pass the content on


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def read_message(value: dict[str, Any]) -> Incoming:
    """The value of a single-message fragment as an Incoming; Unreadable if it is not one."""
    try:
        message = value["messages"][0]
        metadata = value["metadata"]
        wamid = message["id"]
        message["timestamp"]
        kind = message.get("type")
    except (KeyError, IndexError, TypeError) as exc:
        raise Unreadable(f"unreadable message: {type(exc).__name__} {exc}") from exc
    if not isinstance(wamid, str) or not wamid or not isinstance(metadata, dict):
        raise Unreadable("unreadable message: no id or metadata")
    sender = sender_of(value, message)
    if sender is None:
        raise Unreadable("message without a sender id (from, user_id or wa_id)")
    kind = str(kind or "unknown")
    body = message.get(kind) if isinstance(message.get(kind), dict) else None
    errors = bool(message.get("errors") or value.get("errors"))
    base = Incoming(wamid=wamid, type=kind, sender=sender)
    if kind in UNREADABLE_TYPES or (errors and body is None):
        return dataclasses.replace(base, unreadable=True)
    if kind == "text":
        text = _text((body or {}).get("body"))
        if text is None:
            raise Unreadable("text message without a body")
        return dataclasses.replace(base, text=text)
    if kind == "interactive":
        reply = (body or {}).get("button_reply") or (body or {}).get("list_reply")
        if isinstance(reply, dict) and isinstance(reply.get("id"), str):
            return dataclasses.replace(base, callback=reply["id"])
        return base  # a form or another interactive answer: nothing we asked for
    if kind == "button":  # a quick reply of a template
        payload = _text((body or {}).get("payload")) or _text((body or {}).get("text"))
        return dataclasses.replace(base, callback=payload) if payload else base
    if kind in MEDIA_KINDS:
        if body is None or not isinstance(body.get("id"), str):
            raise Unreadable(f"{kind} message without a media id")
        return dataclasses.replace(base, media=body, caption=_text(body.get("caption")))
    if kind == "contacts":
        cards = message.get("contacts")
        phones = []
        for card in cards if isinstance(cards, list) else []:
            for phone in (card.get("phones") or []) if isinstance(card, dict) else []:
                if isinstance(phone, dict):
                    number = _text(phone.get("phone")) or _text(phone.get("wa_id"))
                    if number:
                        phones.append(number)
        return dataclasses.replace(base, cards=tuple(phones))
    return base  # location, order, a type we do not know yet: nothing to read


# -- who a sender is ---------------------------------------------------------------------------
@dataclass(slots=True)
class Who:
    """The account a sender maps to: its stable key, where replies go, what we knew of it."""

    sender: Sender
    user_ref: str  # the account's key (the state key is "whatsapp:<user_ref>")
    chat_ref: str  # whom to send replies to: this message's user id, else its number
    locale: str | None = None
    fresh: bool = True  # no account yet: the dispatcher creates it under user_ref
    stale: bool = False  # the account's recorded ids differ from this message's
    linked: bool = False
    held: bool = False  # linked before an identity change, not confirmed again yet

    @property
    def hint(self) -> str | None:
        return language_hint(self.sender.bsuid, self.sender.wa_id)


def _pick(accounts: list[Account], sender: Sender) -> Account | None:
    """The account of this sender among the candidates, strongest evidence first.

    A user id is never reused; a number can be (given up, then someone else's): a number only
    matches an account that does not know another user id for it."""
    b, w = sender.bsuid, sender.wa_id

    def fits(a: Account) -> bool:
        return (b is None or a.bsuid in (None, b)) and (w is None or a.wa_id in (None, w))

    for test in (
        lambda a: b is not None and a.bsuid == b,
        lambda a: w is not None and a.wa_id == w and (b is None or a.bsuid in (None, b)),
        lambda a: b is not None and a.user_ref == b and fits(a),
        lambda a: w is not None and a.user_ref == w and fits(a),
    ):
        for account in accounts:
            if test(account):
                return account
    return None


async def find_account(
    session: AsyncSession, sender: Sender
) -> tuple[Account | None, list[Account]]:
    """The sender's account (or None) and every candidate looked at."""
    refs = [r for r in (sender.bsuid, sender.wa_id) if r]
    conditions: list[ColumnElement[bool]] = [Account.user_ref.in_(refs)]
    if sender.bsuid:
        conditions.append(Account.bsuid == sender.bsuid)
    if sender.wa_id:
        conditions.append(Account.wa_id == sender.wa_id)
    rows = list(
        await session.scalars(
            select(Account)
            .where(Account.channel == Channel.WHATSAPP.value, or_(*conditions))
            .order_by(Account.id)
        )
    )
    return _pick(rows, sender), rows


async def claim(session: AsyncSession, wamid: str) -> bool:
    """Claim a message id in the caller's unit of work (as the dispatcher does): False if it
    was handled before. For the messages the adapter answers itself."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    key = f"{Channel.WHATSAPP.value}:{wamid}"[:160]
    result = await session.execute(
        insert(InboundEvent).values(event_id=key).on_conflict_do_nothing()
    )
    return bool(getattr(result, "rowcount", 1))


class WhatsAppAdapter:
    """Feeds WhatsApp messages to the core dispatcher and renders its replies as Graph calls."""

    def __init__(self, app: App, client: WhatsApp) -> None:
        self.app = app
        self.core = app.dispatcher
        self.client = client
        # The steps that ask for a phone: a shared number there is the answer, not a link.
        self.phone_states = {s for r in self.core.routers.values() for s in r.contact_states}
        self._told_outage: dict[str, float] = {}  # address -> when told (this process)

    # -- inbound -------------------------------------------------------------------------
    async def on_message(self, value: dict[str, Any]) -> str:
        """One message of a webhook (a single-message fragment's value); returns the outcome.

        Raises Unreadable for a message we cannot read, and lets a dependency outage through
        (the webhook then answers 503 and WhatsApp sends the body again)."""
        try:
            message = value["messages"][0]
            kind = str(message.get("type") or "")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise Unreadable(f"unreadable message: {type(exc).__name__} {exc}") from exc
        if message.get("group_id"):
            log.info("WhatsApp group message ignored", extra={"type": kind[:20]})
            return IGNORED
        if kind in IGNORED_TYPES:
            log.info("WhatsApp %s ignored", kind)
            return IGNORED
        if kind == "system":
            return await self.on_system(value, message)
        incoming = read_message(value)
        who = await self.identify(incoming.sender)
        if incoming.unreadable:
            return await self._notice(who, incoming, "whatsapp.unsupported")
        await self._typing(incoming.wamid)
        menu = await self.app.store.get(self._menu_key(who.user_ref))
        payload: str | None = None
        if incoming.callback is not None:
            seq, payload = render.untag(incoming.callback)
            if seq is not None and not self._current(menu, seq, payload):
                return await self._again(who, incoming, menu, "whatsapp.stale")
        elif incoming.type == "text" and incoming.text is not None and menu is not None:
            if not menu.data.get("text_first"):  # a screen that asked for text takes "2" as text
                payload = render.typed_choice(
                    incoming.text, menu.data.get("options", []), menu.data.get("keys")
                )
                if payload is None and numbering.is_number(incoming.text):
                    keys = menu.data.get("keys") or list(
                        range(1, len(menu.data.get("options", [])) + 1)
                    )
                    return await self._out_of_range(who, incoming, menu, keys)
            if payload is None and menu.data.get("confirm"):  # "ya" to "use this number?"
                typed = incoming.text.strip().rstrip(".!").casefold()
                options = menu.data.get("options", [])
                said = [
                    (p, {label.casefold(), label.split(",")[0].casefold()}) for p, label in options
                ]
                payload = next((p for p, words in said if typed in words), None)
        if payload is not None and payload.startswith(render.PAGE_ACTION + ":") and menu:
            return await self._page(who, incoming, menu, payload)
        if payload == render.PHONE_ACTION:
            return await self._own_number(who, incoming, menu)
        if payload == CONFIRM_YES:
            return await self._confirmed(who, incoming, menu)
        if payload == CONFIRM_NO:
            return await self._declined(who, incoming, menu)
        if payload is not None:
            return await self._take(who, self._inbound(who, incoming, action=payload))
        if incoming.type == "contacts":
            return await self._card(who, incoming, menu)
        if incoming.type == "request_welcome":  # the user opened the chat for the first time
            return await self._take(who, self._inbound(who, incoming, text="/start"))
        inbound = self._inbound(
            who, incoming, text=incoming.text or incoming.caption, media=self._media(incoming)
        )
        return await self._take(who, inbound)

    async def unavailable(self, value: dict[str, Any]) -> None:
        """A message that could not be taken (a dependency is down; WhatsApp will send it again):
        its sender is told, now and then, that the service is disturbed. Needs neither the
        database nor the state store; best effort."""
        try:
            message = value["messages"][0]
            sender = sender_of(value, message)
        except (KeyError, IndexError, TypeError, AttributeError):
            return
        if sender is None or message.get("group_id") or message.get("type") in IGNORED_TYPES:
            return
        address = sender.bsuid or sender.wa_id
        assert address is not None
        now = asyncio.get_running_loop().time()
        if now - self._told_outage.get(address, -OUTAGE_NOTICE_EVERY) < OUTAGE_NOTICE_EVERY:
            return
        self._told_outage[address] = now
        if len(self._told_outage) > 10_000:
            self._told_outage.clear()
        hint = language_hint(sender.bsuid, sender.wa_id)
        t = self.translator(resolve_locale(None, hint, self.app.settings.default_locale))
        try:
            await self.deliver(
                address, render.Outgoing("text", t("error.unavailable")), retry=False
            )
        except (WhatsAppError, httpx.HTTPError, OSError) as exc:
            log.warning("outage notice not delivered: %s", _short(exc))

    async def identify(self, sender: Sender) -> Who:
        """The account this sender writes as (read only; the dispatcher creates a new one)."""
        async with self.app.sessions() as session:
            account, seen = await find_account(session, sender)
            chat_ref = sender.bsuid or sender.wa_id
            assert chat_ref is not None
            if account is None:
                key = chat_ref
                if any(a.user_ref == key for a in seen):
                    # A number given up by the account created under it: a key of its own.
                    taken = await session.scalar(
                        select(func.count())
                        .select_from(Account)
                        .where(
                            Account.channel == Channel.WHATSAPP.value,
                            Account.user_ref.like(f"{key}~%"),
                        )
                    )
                    key = f"{key}~{int(taken or 0) + 2}"
                return Who(sender, key, chat_ref)
            return Who(
                sender,
                account.user_ref,
                chat_ref,
                locale=account.locale,
                fresh=False,
                stale=bool(
                    (sender.bsuid and account.bsuid != sender.bsuid)
                    or (sender.wa_id and account.wa_id != sender.wa_id)
                ),
                linked=account.employee_id is not None,
                held=account.reconfirm_employee_id is not None and account.employee_id is None,
            )

    async def _remember(self, who: Who) -> None:
        """Record the ids this message came with on its account (created by now)."""
        if not (who.fresh or who.stale):
            return
        try:
            async with self.app.sessions() as session, session.begin():
                account = await session.scalar(
                    select(Account).where(
                        Account.channel == Channel.WHATSAPP.value, Account.user_ref == who.user_ref
                    )
                )
                if account is None:
                    return
                sender = who.sender
                if sender.bsuid and account.bsuid != sender.bsuid:
                    account.bsuid = sender.bsuid
                if sender.wa_id and account.wa_id != sender.wa_id:
                    account.wa_id = sender.wa_id
                    await self._release_number(session, sender.wa_id, account.id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("WhatsApp ids not recorded: %s", type(exc).__name__)
        who.fresh = who.stale = False

    @staticmethod
    async def _release_number(session: AsyncSession, wa_id: str, holder: int) -> None:
        """A number is one account's: an older account that had it has given it up."""
        await session.execute(
            update(Account)
            .where(
                Account.channel == Channel.WHATSAPP.value,
                Account.wa_id == wa_id,
                Account.id != holder,
            )
            .values(wa_id=None)
        )

    @staticmethod
    def _current(menu: ConversationState | None, seq: int, payload: str) -> bool:
        """A tap on the menu shown last, naming one of its choices (or one of its pages)."""
        if menu is None or menu.data.get("seq") != seq:
            return False
        if payload.startswith(render.PAGE_ACTION + ":"):
            return True
        return any(payload == shown for shown, _ in menu.data.get("options", []))

    def _inbound(self, who: Who, incoming: Incoming, **fields: Any) -> Inbound:
        return Inbound(
            channel=Channel.WHATSAPP,
            chat_ref=who.chat_ref,
            user_ref=who.user_ref,
            event_id=incoming.wamid,
            language_hint=who.hint,
            display_name=incoming.sender.name,
            **fields,
        )

    async def _take(self, who: Who, inbound: Inbound, notice_key: str | None = None) -> str:
        """The core handles the message (and claims its id); then the replies go out."""
        replies = await self.core.take(inbound)
        await self._remember(who)
        if not replies:
            return DUPLICATE
        t = self.translator(replies[0].locale)
        notice = t(notice_key) if notice_key else await self._held_notice(who, t)
        await self.send(who, replies, notice=notice)
        return ANSWERED

    async def _held_notice(self, who: Who, t: Translator) -> str | None:
        """Why HR and rating are gone after an identity change: said again now and then."""
        if not who.held:
            return None
        try:
            async with self.app.sessions() as session:
                held = await session.scalar(
                    select(Account.reconfirm_employee_id).where(
                        Account.channel == Channel.WHATSAPP.value,
                        Account.user_ref == who.user_ref,
                        Account.employee_id.is_(None),
                    )
                )
            if held is None:  # confirmed again with this very message
                return None
            if await self.app.store.hit(f"wa-held:{who.user_ref}", RECONFIRM_EVERY) > 1:
                return None
        except Exception as exc:
            if not is_outage(exc):
                raise
            return None
        return t("whatsapp.reconfirm")

    async def _claimed(self, wamid: str) -> bool:
        async with self.app.sessions() as session, session.begin():
            return await claim(session, wamid)

    async def _notice(self, who: Who, incoming: Incoming, key: str) -> str:
        """One short line of our own, once per message id."""
        if not await self._claimed(incoming.wamid):
            return DUPLICATE
        await self._remember(who)
        t = self.translator(resolve_locale(who.locale, who.hint, self.app.settings.default_locale))
        await self.send(who, [Reply(t(key), locale=t.locale)])
        return NOTICE

    # -- phone numbers: the envelope's own, confirmed -----------------------------------------
    async def _asks_phone(self, who: Who) -> bool:
        """Whether the user's current step asks for a phone (the answer, not a link)."""
        state = await self.app.store.get(f"{Channel.WHATSAPP.value}:{who.user_ref}")
        return state is not None and state.name in self.phone_states

    async def _own_number(
        self, who: Who, incoming: Incoming, menu: ConversationState | None
    ) -> str:
        """The "use my WhatsApp number" row: the envelope's number, never anything typed."""
        wa_id = who.sender.wa_id
        if wa_id is None:
            # The user shows no number (a username): the HR code is the way, as on Telegram.
            inbound = self._inbound(who, incoming, action=HIDDEN_PHONE_FALLBACK)
            return await self._take(who, inbound, notice_key="whatsapp.phone_hidden")
        if await self._asks_phone(who):
            contact = SharedContact("+" + wa_id, who.user_ref)
            return await self._take(who, self._inbound(who, incoming, contact=contact))
        return await self._ask_confirmation(who, incoming, menu, wa_id)

    async def _ask_confirmation(
        self, who: Who, incoming: Incoming, menu: ConversationState | None, wa_id: str
    ) -> str:
        if not await self._claimed(incoming.wamid):
            return DUPLICATE
        await self._remember(who)
        t = self.translator(self._locale(who, menu))
        question = Reply(
            t("whatsapp.confirm_number", phone=display_phone(wa_id)),
            [
                Choice(CONFIRM_YES, t("whatsapp.confirm_yes")),
                Choice(CONFIRM_NO, t("whatsapp.confirm_no")),
            ],
            locale=t.locale,
        )
        previous = None
        if menu is not None and menu.data.get("options"):
            previous = menu.data.get("previous") if menu.data.get("confirm") else menu.data
        await self.send(who, [question], extra={"confirm": wa_id, "previous": previous})
        return ANSWERED

    async def _confirmed(self, who: Who, incoming: Incoming, menu: ConversationState | None) -> str:
        offered = menu.data.get("confirm") if menu is not None else None
        wa_id = who.sender.wa_id
        if wa_id is None or wa_id != offered:
            # Not the number the question named (or no question): ask about this one.
            return await self._own_number(who, incoming, menu)
        contact = SharedContact("+" + wa_id, who.user_ref)
        return await self._take(who, self._inbound(who, incoming, contact=contact))

    async def _declined(self, who: Who, incoming: Incoming, menu: ConversationState | None) -> str:
        previous = menu.data.get("previous") if menu is not None else None
        if not previous:
            return await self._take(who, self._inbound(who, incoming, text="/menu"))
        if not await self._claimed(incoming.wamid):
            return DUPLICATE
        await self.send(who, [self._menu_reply(ConversationState("menu", previous))])
        return ANSWERED

    async def _card(self, who: Who, incoming: Incoming, menu: ConversationState | None) -> str:
        """A shared contact card: a phone as typed, whoever's it claims to be.

        Where a step asks for a phone, it is the answer (proof only when it is the envelope's
        own number). Elsewhere it is an attempt to link: the sender's own number is confirmed
        first; any other number is refused by the linking step as not their own."""
        wa_id = who.sender.wa_id
        own = next((p for p in incoming.cards if wa_id and same_number(p, wa_id)), None)
        first = incoming.cards[0] if incoming.cards else ""
        if await self._asks_phone(who):
            if own is not None and wa_id:
                contact = SharedContact("+" + wa_id, who.user_ref)
            else:
                contact = SharedContact(first, None)
            return await self._take(who, self._inbound(who, incoming, contact=contact))
        if own is not None and wa_id:
            return await self._ask_confirmation(who, incoming, menu, wa_id)
        if wa_id is None:
            inbound = self._inbound(who, incoming, action=HIDDEN_PHONE_FALLBACK)
            return await self._take(who, inbound, notice_key="whatsapp.phone_hidden")
        contact = SharedContact(first, None)
        return await self._take(who, self._inbound(who, incoming, contact=contact))

    # -- media: fetched only where a step takes a file ----------------------------------------
    def _media(self, incoming: Incoming) -> MediaRef | None:
        media = incoming.media
        if media is None:
            return None
        kind = {"image": "photo", "audio": "voice" if media.get("voice") else "audio"}
        return MediaRef(kind.get(incoming.type, incoming.type), lambda: self._download(incoming))

    async def _download(self, incoming: Incoming) -> Attachment | None:
        """Media URLs expire within minutes: fetched while the message is handled, or never."""
        media = incoming.media or {}
        media_id = str(media.get("id"))
        try:
            url = await with_retry(lambda: self.client.get_media_url(media_id))
            if url.file_size and url.file_size > MAX_MEDIA_BYTES:
                log.warning("inbound media too large", extra={"size": url.file_size})
                return None
            content = await with_retry(lambda: self.client.get_media_bytes(url.url))
        except (WhatsAppError, httpx.HTTPError, OSError) as exc:
            log.warning("inbound media not fetched: %s", _short(exc))
            return None
        if len(content) > MAX_MEDIA_BYTES:
            log.warning("inbound media too large", extra={"size": len(content)})
            return None
        name = media.get("filename") or f"{incoming.wamid[-12:]}.{incoming.type}"
        mime = str(media.get("mime_type") or url.mime_type or "application/octet-stream")
        return Attachment(str(name), content, mime.split(";")[0].strip())

    async def _typing(self, message_id: str) -> None:
        """WhatsApp has no callback answer: mark the message read and show typing instead."""
        try:
            await self.client.indicate_typing(message_id)
        except (WhatsAppError, httpx.HTTPError, OSError) as exc:
            log.warning("typing indicator failed: %s", _short(exc))

    # -- old buttons, pages --------------------------------------------------------------------
    async def _again(
        self, who: Who, incoming: Incoming, menu: ConversationState | None, key: str
    ) -> str:
        """A short notice, then the menu shown last (or the main menu)."""
        if menu is None or not menu.data.get("options"):
            inbound = self._inbound(who, incoming, text="/menu")
            return await self._take(who, inbound, notice_key=key)
        if not await self._claimed(incoming.wamid):
            return DUPLICATE
        t = self.translator(menu.data.get("locale"))
        kept = {k: menu.data[k] for k in ("confirm", "previous") if menu.data.get(k)}
        await self.send(who, [self._menu_reply(menu)], notice=t(key), extra=kept)
        return ANSWERED

    async def _page(
        self, who: Who, incoming: Incoming, menu: ConversationState, payload: str
    ) -> str:
        if not await self._claimed(incoming.wamid):
            return DUPLICATE
        page = payload.rsplit(":", 1)[1]
        seq = int(menu.data["seq"])
        reply = self._menu_reply(menu)
        number = int(page) if page.isdigit() and len(page) < 4 else 0  # a forged page: the first
        t = self.translator(reply.locale)
        message = render.menu(reply.text, render.options_of(reply), seq, t, number)
        try:
            await self.deliver(who.chat_ref, message)
        except (WhatsAppError, httpx.HTTPError) as exc:
            log.warning("reply not delivered: %s", _short(exc))
        return ANSWERED

    async def _out_of_range(
        self, who: Who, incoming: Incoming, menu: ConversationState, keys: list[int]
    ) -> str:
        """A typed number the menu does not have: "pilih 1–N", never taken as a question."""
        if not await self._claimed(incoming.wamid):
            return DUPLICATE
        await self._remember(who)
        t = self.translator(menu.data.get("locale"))
        text = t("whatsapp.out_of_range", numbers=numbering.ranges(keys))
        try:
            await self.deliver(who.chat_ref, render.Outgoing("text", text))
        except (WhatsAppError, httpx.HTTPError) as exc:
            log.warning("reply not delivered: %s", _short(exc))
        return NOTICE

    @staticmethod
    def _menu_reply(menu: ConversationState) -> Reply:
        text = str(menu.data.get("text") or "")
        navs = menu.data.get("nav") or []
        choices = [
            Choice(p, label, navs[i] if i < len(navs) else None)
            for i, (p, label) in enumerate(menu.data.get("options", []))
        ]
        phone = menu.data.get("phone")
        choices = [c for c in choices if c.id != render.PHONE_ACTION]
        return Reply(text, choices[:10], request_phone=phone, locale=menu.data.get("locale"))

    def _locale(self, who: Who, menu: ConversationState | None) -> str:
        shown = menu.data.get("locale") if menu is not None else None
        return resolve_locale(shown or who.locale, who.hint, self.app.settings.default_locale)

    # -- system messages: a new number, a new user id, a new identity --------------------------
    async def on_system(self, value: dict[str, Any], message: dict[str, Any]) -> str:
        system = message.get("system")
        wamid = message.get("id")
        if not isinstance(system, dict) or not isinstance(wamid, str) or not wamid:
            raise Unreadable("system message without its system part or id")
        kind = str(system.get("type") or "")
        contact_sender = sender_of(value, message)
        if kind in ("user_changed_number", "customer_changed_number"):
            old = wa_id_of(message.get("from")) or wa_id_of(system.get("customer"))
            new = wa_id_of(system.get("wa_id")) or wa_id_of(system.get("new_wa_id"))
            new_bsuid = bsuid_of(system.get("user_id"))
            old_bsuid = contact_sender.bsuid if contact_sender else None
            if not (old or old_bsuid) or not (new or new_bsuid):
                raise Unreadable("number change without the old or the new number")
            # The user id in the message may be the one they keep: look for it too.
            also = Sender(new_bsuid, None) if new_bsuid else None
            return await self.move(
                Sender(old_bsuid, old), wa_id=new, bsuid=new_bsuid, wamid=wamid, also=also
            )
        if kind == "user_changed_user_id":
            previous = bsuid_of(system.get("previous_user_id"))
            current = bsuid_of(system.get("user_id"))
            if previous is None or current is None:
                raise Unreadable("user id change without the old or the new id")
            number = wa_id_of(message.get("from"))
            return await self.move(Sender(previous, number), bsuid=current, wamid=wamid)
        if kind == "customer_identity_changed":
            if contact_sender is None:
                raise Unreadable("identity change without a sender id")
            return await self.identity_changed(contact_sender, wamid)
        log.info("WhatsApp system message ignored", extra={"system_type": kind[:40]})
        return IGNORED

    async def move(
        self,
        old: Sender,
        *,
        wa_id: str | None = None,
        bsuid: str | None = None,
        wamid: str | None = None,
        also: Sender | None = None,
    ) -> str:
        """The user now writes from another number or user id: the account moves with them.

        `old` finds the account by the ids it had; `also`, if that finds none, by another."""
        async with self.app.sessions() as session, session.begin():
            if wamid is not None and not await claim(session, wamid):
                return DUPLICATE
            account, _ = await find_account(session, old) if old.bsuid or old.wa_id else (None, [])
            if account is None and also is not None:
                account, _ = await find_account(session, also)
            if account is None:
                log.info("WhatsApp id change of a user we do not know")
                return IGNORED
            moved = {}
            if wa_id and account.wa_id != wa_id:
                if account.chat_ref in (account.wa_id, old.wa_id):
                    account.chat_ref = wa_id
                await self._release_number(session, wa_id, account.id)
                account.wa_id = moved["wa_id"] = wa_id
            if bsuid and account.bsuid != bsuid:
                if account.chat_ref in (account.bsuid, old.bsuid) or bsuid_of(account.chat_ref):
                    account.chat_ref = bsuid
                account.bsuid = moved["bsuid"] = bsuid
            if moved and account.employee_id is not None:
                audit.record(
                    session,
                    actor="whatsapp",
                    action="account.moved",
                    agency_id=account.agency_id,
                    target=f"account:{account.id}",
                    changed=sorted(moved),
                )
        log.info("WhatsApp account moved", extra={"changed": ",".join(sorted(moved)) or "-"})
        return UPDATED

    async def identity_changed(self, sender: Sender, wamid: str) -> str:
        """WhatsApp says the user's identity changed (a new phone, a reinstall, or someone
        else): a linked account is held, as if unlinked, until the user confirms again with
        their own number or an HR code."""
        who = await self.identify(sender)
        if not who.linked:
            log.info("WhatsApp identity change of an unlinked user")
            async with self.app.sessions() as session, session.begin():
                await claim(session, wamid)
            return IGNORED
        # A step half done (an HR screen) must not go on under the new identity.
        await self.app.store.clear(f"{Channel.WHATSAPP.value}:{who.user_ref}")
        await self.app.store.clear(self._menu_key(who.user_ref))
        async with self.app.sessions() as session, session.begin():
            if not await claim(session, wamid):
                return DUPLICATE
            account = await session.scalar(
                select(Account).where(
                    Account.channel == Channel.WHATSAPP.value, Account.user_ref == who.user_ref
                )
            )
            if account is None or account.employee_id is None:
                return IGNORED
            employee_id = account.employee_id
            account.reconfirm_employee_id = employee_id
            account.employee_id = None
            account.employee = None
            account.linked_at = None
            audit.record(
                session,
                actor="whatsapp",
                action="account.identity_changed",
                agency_id=account.agency_id,
                target=f"employee:{employee_id}",
                account=account.id,
            )
        log.info("WhatsApp identity change: account held until confirmed again")
        t = self.translator(resolve_locale(who.locale, who.hint, self.app.settings.default_locale))
        await self.send(who, [Reply(t("whatsapp.identity_changed"), locale=t.locale)])
        return UPDATED

    # -- outbound ------------------------------------------------------------------------
    def _menu_key(self, user_ref: str) -> str:
        return f"wa-menu:{user_ref}"

    def translator(self, locale: str | None) -> Translator:
        return translator(locale or self.app.settings.default_locale)

    async def send(
        self,
        to: str | Who,
        replies: list[Reply],
        notice: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str | None:
        """Send replies in order; returns the last message id. Stops at the first refusal.

        `to` is a Who (replies to its chat, menus kept under its key) or a plain id for both.
        `notice` leads the first reply but is not kept with the menu: a menu shown again later
        (after a stale tap) must not repeat an old notice. A Graph API that refuses or cannot be
        reached costs the replies, never the message's handling; the state store likewise
        costs only the menu's tracking.
        """
        if not replies:
            return None
        address, key = (to.chat_ref, to.user_ref) if isinstance(to, Who) else (to, to)
        store, ttl = self.app.store, self.app.settings.state_ttl_seconds
        tracked = True
        try:
            seq = await store.hit(f"wa-seq:{key}", ttl)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("menu not tracked: state store unavailable")
            seq, tracked = 0, False
        last_menu: Reply | None = None
        last_id = None
        try:
            for n, reply in enumerate(replies):
                t = self.translator(reply.locale)  # our few words in the reply's language
                shown = reply
                if notice and n == 0:
                    shown = dataclasses.replace(reply, text=f"{notice}\n\n{reply.text}")
                for message in render.render(shown, seq, t):
                    last_id = await self.deliver(address, message)
                if reply.choices or reply.request_phone:
                    last_menu = reply
        except (WhatsAppError, httpx.HTTPError) as exc:
            log.warning("reply not delivered: %s", _short(exc))
        if tracked:
            try:
                await self._keep_menu(key, replies, last_menu, seq, extra)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("menu not kept: state store unavailable")
        return last_id

    async def _keep_menu(
        self,
        key: str,
        replies: list[Reply],
        last_menu: Reply | None,
        seq: int,
        extra: dict[str, Any] | None,
    ) -> None:
        store, ttl = self.app.store, self.app.settings.state_ttl_seconds
        text_first = any(r.expects_text for r in replies)
        if last_menu is not None:
            shown = render.options_of(last_menu)
            options = [[c.id, c.label] for c in shown]
            data = {
                "seq": seq,
                "options": options,
                "keys": render.keys_of(shown),
                "nav": [c.nav for c in shown],
                "text": self._menu_text(last_menu),
                "phone": last_menu.request_phone,
                "locale": last_menu.locale,
                "text_first": text_first,
                **(extra or {}),
            }
            await store.set(self._menu_key(key), ConversationState("menu", data), ttl)
        elif text_first and (menu := await store.get(self._menu_key(key))) is not None:
            # A question without buttons still owns the next typed number.
            menu.data["text_first"] = True
            await store.set(self._menu_key(key), menu, ttl)

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
