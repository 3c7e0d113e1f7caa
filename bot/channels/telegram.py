"""Telegram through aiogram 3: updates -> neutral Inbound, neutral Reply -> Bot API calls.

One catch-all handler per update type, no aiogram filters: routing is the core dispatcher's.
Updates arrive by long polling (telegram_polling.py) or a webhook (telegram_webhook.py), both
through telegram_intake.py; serving.py starts either.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ContentType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageText,
    GetFile,
    GetMe,
    GetWebhookInfo,
    Response,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from aiohttp import FormData
from pydantic import PrivateAttr

from bot import metrics
from bot.app import StartupError
from bot.config import Settings, reveal
from bot.dispatcher import Dispatcher
from bot.i18n import LOCALES, Translator, translator
from bot.messages import (
    Attachment,
    Channel,
    Choice,
    Inbound,
    MediaRef,
    Reply,
    SharedContact,
    split_text,
)

log = logging.getLogger("abdi.telegram")
T = TypeVar("T")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_RETRIES = 3
MAX_RETRY_AFTER = 60  # seconds; a longer flood wait is not worth holding a reply for
COMMANDS = ("start", "menu", "batal", "bahasa", "bantuan")
ALLOWED_UPDATES = ["message", "callback_query"]
SHUTDOWN_GRACE = 25  # seconds to finish updates in flight on SIGTERM
MAX_DOWNLOAD = 10 * 1024 * 1024  # inbound files over this are not fetched


# aiogram reads every Bot API answer as Response[<the method's result type>], and pydantic keeps a
# parametrised model only while something refers to it: without these references each garbage
# collection frees them and the next call builds the class again (about 15 ms each time).
API_RESPONSES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        AnswerCallbackQuery,
        DeleteWebhook,
        EditMessageText,
        GetFile,
        GetMe,
        GetWebhookInfo,
        SendDocument,
        SendMessage,
        SendPhoto,
        SetMyCommands,
        SetWebhook,
    )
)


def make_bot(settings: Settings) -> Bot:
    if not settings.telegram_bot_token:
        raise StartupError("cli.no_token")
    session = ReplySession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    token = reveal(settings.telegram_bot_token)
    return Bot(token, session=session, default=DefaultBotProperties())


# What a person writes. Everything else in a message (pins, timers, payments, members joining,
# forum topics...) is a service message the user did not write: read and ignored, not answered.
USER_CONTENT = frozenset(
    {
        ContentType.TEXT,
        ContentType.PHOTO,
        ContentType.DOCUMENT,
        ContentType.CONTACT,
        ContentType.STICKER,
        ContentType.VOICE,
        ContentType.AUDIO,
        ContentType.VIDEO,
        ContentType.VIDEO_NOTE,
        ContentType.ANIMATION,
        ContentType.LOCATION,
        ContentType.VENUE,
        ContentType.POLL,
        ContentType.DICE,
        ContentType.STORY,
        ContentType.GAME,
        ContentType.PAID_MEDIA,
        ContentType.CHECKLIST,
        ContentType.LIVE_PHOTO,
    }
)


def message_to_inbound(
    message: Message, update_id: int | None, media: MediaRef | None = None
) -> Inbound:
    user = message.from_user
    contact = None
    if message.contact is not None:
        owner = message.contact.user_id
        contact = SharedContact(message.contact.phone_number, str(owner) if owner else None)
    return Inbound(
        channel=Channel.TELEGRAM,
        chat_ref=str(message.chat.id),
        user_ref=str(user.id if user else message.chat.id),
        event_id=str(update_id) if update_id is not None else None,
        text=message.text or message.caption,
        contact=contact,
        language_hint=user.language_code if user else None,
        display_name=user.full_name if user else None,
        media=media,
    )


def callback_to_inbound(query: CallbackQuery, update_id: int | None) -> Inbound:
    chat_id = query.message.chat.id if query.message else query.from_user.id
    return Inbound(
        channel=Channel.TELEGRAM,
        chat_ref=str(chat_id),
        user_ref=str(query.from_user.id),
        event_id=str(update_id) if update_id is not None else None,
        action=query.data or "",
        language_hint=query.from_user.language_code,
        display_name=query.from_user.full_name,
    )


class RenderedKeyboard(InlineKeyboardMarkup):
    """An inline keyboard with its request JSON, built once per set of choices and reused: most
    answers carry one of a few menus, and aiogram validates every button of a new keyboard and
    walks each field of it again to write the request (together about 0.1 ms a reply)."""

    _json: str = PrivateAttr(default="")

    @property
    def rendered(self) -> str:
        return self._json


@lru_cache(maxsize=512)
def _keyboard(choices: tuple[Choice, ...]) -> RenderedKeyboard:
    rows = [[InlineKeyboardButton(text=c.label, callback_data=c.id)] for c in choices]
    markup = RenderedKeyboard(inline_keyboard=rows)
    markup._json = markup.model_dump_json(exclude_none=True)
    return markup


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    return _keyboard(tuple(reply.choices)) if reply.choices else None


class ReplySession(AiohttpSession):
    """aiogram's session, writing a RenderedKeyboard's JSON as it is instead of dumping it."""

    def build_form_data(self, bot: Bot, method: TelegramMethod[Any]) -> FormData:
        markup = getattr(method, "reply_markup", None)
        if not isinstance(markup, RenderedKeyboard):
            return super().build_form_data(bot, method)
        form = super().build_form_data(bot, method.model_copy(update={"reply_markup": None}))
        form.add_field("reply_markup", markup.rendered)
        return form


async def with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """Honour 429 retry_after and retry 5xx/network errors a bounded number of times."""
    for attempt in range(MAX_RETRIES + 1):
        try:
            return await call()
        except TelegramRetryAfter as exc:
            metrics.RATE_LIMITED.labels(Channel.TELEGRAM.value).inc()
            if attempt == MAX_RETRIES or exc.retry_after > MAX_RETRY_AFTER:
                raise
            await asyncio.sleep(exc.retry_after)
        except (TelegramServerError, TelegramNetworkError):
            if attempt == MAX_RETRIES:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


@dataclass
class Taken:
    """An update the core has taken (its effects are stored), with what remains to be sent."""

    chat_id: int | str | None = None
    replies: list[Reply] = field(default_factory=list)
    menu: Message | None = None  # the pressed menu, edited in place with the first reply
    answering: asyncio.Task[None] | None = None  # the callback answer, sent before the edit


class TelegramAdapter:
    """Turns Bot API updates into neutral events for the core and renders its replies.

    `take` hands an update to the core (raising Unavailable when a dependency is down, so the
    caller leaves it unacknowledged); `deliver` sends what came back. Only people in private
    chats are served: group traffic, edits and service messages are read and ignored.
    """

    def __init__(self, dispatcher: Dispatcher, bot: Bot) -> None:
        self.core = dispatcher
        self.bot = bot
        self.inflight: set[asyncio.Task[Any]] = set()
        self.stopping = asyncio.Event()  # set to end run_polling

    def stop_polling(self) -> None:
        self.stopping.set()

    async def take(self, update: Update) -> Taken:
        if update.message is not None:
            return await self._message(update.message, update.update_id)
        if update.callback_query is not None:
            return await self._callback(update.callback_query, update.update_id)
        log.info("update ignored", extra={"kind": _kind(update)})
        return Taken()

    async def _message(self, message: Message, update_id: int) -> Taken:
        if message.chat.type != "private" or message.from_user is None:
            log.info("group or channel message ignored")
            return Taken()
        if message.from_user.is_bot:
            return Taken()
        if message.content_type not in USER_CONTENT:
            log.info("service message ignored", extra={"kind": str(message.content_type)[:40]})
            return Taken()
        inbound = message_to_inbound(message, update_id, self._media(message))
        return Taken(message.chat.id, await self.core.take(inbound))

    def _media(self, message: Message) -> MediaRef | None:
        """What the user sent as a file, fetched only if the step they are in takes one."""
        if message.document is not None:
            doc = message.document
            name, mime = doc.file_name or "file", doc.mime_type or "application/octet-stream"
            return MediaRef(
                "document", partial(self._download, doc.file_id, doc.file_size, name, mime)
            )
        if message.photo:
            photo = message.photo[-1]  # the largest size
            fetch = partial(
                self._download, photo.file_id, photo.file_size, "photo.jpg", "image/jpeg"
            )
            return MediaRef("photo", fetch)
        for kind in ("sticker", "voice", "audio", "video", "video_note", "animation"):
            if getattr(message, kind, None) is not None:
                return MediaRef(kind, _nothing)
        return None

    async def _download(
        self, file_id: str, size: int | None, name: str, mime: str
    ) -> Attachment | None:
        if (size or 0) > MAX_DOWNLOAD:
            log.info("inbound file too large, not downloaded")
            return None
        try:
            buffer = await with_retry(lambda: self.bot.download(file_id))
        except (TelegramAPIError, TelegramNetworkError, OSError, TimeoutError) as exc:
            log.warning("inbound file not downloaded: %s", type(exc).__name__)
            return None
        content = buffer.read() if buffer is not None else b""
        return Attachment(name, content, mime) if content else None

    async def _callback(self, query: CallbackQuery, update_id: int) -> Taken:
        # Answer first, beside the work: the button stops spinning even if the work is slow.
        answering = asyncio.create_task(self._answer(query.id))
        message = query.message
        if message is None or message.chat.type != "private":
            log.info("callback outside a private chat ignored")
            return Taken(answering=answering)
        replies = await self.core.take(callback_to_inbound(query, update_id))
        menu = message if isinstance(message, Message) else None
        return Taken(message.chat.id, replies, menu, answering)

    async def _answer(self, query_id: str) -> None:
        """Best effort: a press whose answer fails (5xx, dropped connection) is still handled."""
        try:
            await with_retry(lambda: self.bot.answer_callback_query(query_id))
        except (TelegramAPIError, TelegramNetworkError, OSError, TimeoutError) as exc:
            log.warning("callback answer failed: %s", type(exc).__name__)

    async def deliver(self, taken: Taken) -> None:
        if taken.answering is not None:
            await taken.answering
        replies = taken.replies
        if taken.chat_id is None or not replies:
            return
        if taken.menu is not None and await self._edit(taken.menu, replies[0]):
            replies = replies[1:]
        await self.send(taken.chat_id, replies)

    async def _edit(self, message: Message, reply: Reply) -> bool:
        """Show the answer in place of the pressed menu where possible; False to send instead
        (also when the edit fails for any reason: a new message is better than none)."""
        if reply.attachment or reply.request_phone or len(reply.text) > TEXT_LIMIT:
            return False
        try:
            await with_retry(
                lambda: self.bot.edit_message_text(
                    text=reply.text,
                    chat_id=message.chat.id,
                    message_id=message.message_id,
                    reply_markup=keyboard(reply),
                )
            )
        except TelegramBadRequest as exc:
            return "not modified" in str(exc).lower()
        except (TelegramAPIError, TelegramNetworkError, OSError, TimeoutError) as exc:
            log.warning("menu edit failed, sending instead: %s", type(exc).__name__)
            return False
        return True

    async def send(self, chat_id: int | str, replies: list[Reply]) -> None:
        for reply in replies:
            try:
                await self._send_one(chat_id, reply)
            except TelegramForbiddenError:
                log.info("user blocked the bot")
                return
            except (TelegramAPIError, TelegramNetworkError, OSError, TimeoutError) as exc:
                log.warning("reply not delivered: %s", type(exc).__name__)
                return

    async def _send_one(self, chat_id: int | str, reply: Reply) -> None:
        pieces = split_text(reply.text, TEXT_LIMIT)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            markup = keyboard(reply) if last else None
            await with_retry(partial(self.bot.send_message, chat_id, piece, reply_markup=markup))
        if reply.request_phone:
            contact_keyboard = ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text=reply.request_phone, request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
            ask = "⬇ " + reply.request_phone
            await with_retry(
                partial(self.bot.send_message, chat_id, ask, reply_markup=contact_keyboard)
            )
        if reply.attachment is not None:
            attachment = reply.attachment
            upload = BufferedInputFile(attachment.content, filename=attachment.filename)
            if attachment.mime_type.startswith("image/"):
                await with_retry(lambda: self.bot.send_photo(chat_id, upload))
            else:
                await with_retry(lambda: self.bot.send_document(chat_id, upload))

    def track(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Run `work` in the background, waited for at shutdown."""
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)
        return task

    async def wait_inflight(self) -> None:
        pending = [t for t in self.inflight if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)


async def _nothing() -> Attachment | None:
    """Media no step takes (stickers, voice notes, video): never downloaded."""
    return None


def _kind(update: Update) -> str:
    """Which field an update carries (my_chat_member, edited_message, ...), for the logs."""
    fields = update.model_dump(exclude_none=True, exclude={"update_id"})
    return next(iter(fields), "unknown")[:40]


async def register_commands(bot: Bot) -> None:
    for locale in LOCALES:
        t: Translator = translator(locale)
        commands = [BotCommand(command=c, description=t(f"command.{c}")) for c in COMMANDS]
        language = None if locale == "id" else locale
        await with_retry(partial(bot.set_my_commands, commands, language_code=language))


async def check_token(bot: Bot) -> None:
    try:
        await bot.get_me()
    except TelegramUnauthorizedError as exc:
        raise StartupError("cli.bad_token", detail=exc.message) from exc
    except TelegramNetworkError as exc:
        raise StartupError("cli.bad_token", detail=str(exc)) from exc
