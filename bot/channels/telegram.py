"""Telegram through aiogram 3: updates -> neutral Inbound, neutral Reply -> Bot API calls.

One catch-all handler per update type, no aiogram filters: routing is the core dispatcher's.
Polling (default) or an aiohttp webhook that checks the secret header and never answers 5xx.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
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
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import text

from bot.app import App, StartupError
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.i18n import LOCALES, Translator, translator
from bot.messages import Attachment, Channel, Inbound, Reply, SharedContact

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


def make_bot(settings: Settings) -> Bot:
    if not settings.telegram_bot_token:
        raise StartupError("cli.no_token")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(settings.telegram_bot_token, session=session, default=DefaultBotProperties())


def message_to_inbound(
    message: Message, update_id: int | None, attachment: Attachment | None = None
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
        attachment=attachment,
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


def split_text(value: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut long text at line breaks (or hard at the limit) into pieces Telegram accepts."""
    parts: list[str] = []
    while len(value) > limit:
        cut = value.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        parts.append(value[:cut])
        value = value[cut:].lstrip("\n")
    parts.append(value)
    return [p for p in parts if p] or [" "]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.choices:
        return None
    rows = [[InlineKeyboardButton(text=c.label, callback_data=c.id)] for c in reply.choices]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """Honour 429 retry_after and retry 5xx/network errors a bounded number of times."""
    for attempt in range(MAX_RETRIES + 1):
        try:
            return await call()
        except TelegramRetryAfter as exc:
            if attempt == MAX_RETRIES or exc.retry_after > MAX_RETRY_AFTER:
                raise
            await asyncio.sleep(exc.retry_after)
        except (TelegramServerError, TelegramNetworkError):
            if attempt == MAX_RETRIES:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


class TelegramAdapter:
    """Feeds aiogram updates to the core dispatcher and renders its replies."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot) -> None:
        self.core = dispatcher
        self.bot = bot
        self.inflight: set[asyncio.Task[Any]] = set()
        self.aiogram = AiogramDispatcher()
        self.aiogram.message.register(self.on_message)
        self.aiogram.edited_message.register(self.on_ignored)
        self.aiogram.callback_query.register(self.on_callback)

    async def _tracked(self, work: Awaitable[None]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            await work
        finally:
            if task is not None:
                self.inflight.discard(task)

    async def on_ignored(self, event: Any) -> None:
        return None

    async def on_message(self, message: Message, event_update: Update) -> None:
        await self._tracked(self._message(message, event_update.update_id))

    async def _message(self, message: Message, update_id: int) -> None:
        if message.chat.type != "private":
            return  # the bot serves people one to one; group chats are not read
        attachment = await self._download(message)
        replies = await self.core.handle(message_to_inbound(message, update_id, attachment))
        await self.send(message.chat.id, replies)

    async def _download(self, message: Message) -> Attachment | None:
        """A photo or document the user sent, fetched now (a step such as a broadcast draft
        may take it); too big or unreachable files are left out and the text still counts."""
        if message.document is not None:
            doc = message.document
            file_id, size = doc.file_id, doc.file_size or 0
            name, mime = doc.file_name or "file", doc.mime_type or "application/octet-stream"
        elif message.photo:
            photo = message.photo[-1]  # the largest size
            file_id, size, name, mime = (
                photo.file_id,
                photo.file_size or 0,
                "photo.jpg",
                "image/jpeg",
            )
        else:
            return None
        if size > MAX_DOWNLOAD:
            log.info("inbound file too large, not downloaded")
            return None
        try:
            buffer = await with_retry(lambda: self.bot.download(file_id))
        except (TelegramBadRequest, TelegramRetryAfter, TelegramServerError, TelegramNetworkError):
            log.warning("inbound file not downloaded")
            return None
        content = buffer.read() if buffer is not None else b""
        return Attachment(name, content, mime) if content else None

    async def on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        await self._tracked(self._callback(query, event_update.update_id))

    async def _callback(self, query: CallbackQuery, update_id: int) -> None:
        # Answer first: the button stops spinning even if the work below is slow.
        try:
            await with_retry(lambda: self.bot.answer_callback_query(query.id))
        except (TelegramBadRequest, TelegramRetryAfter):
            log.warning("callback answer failed")
        replies = await self.core.handle(callback_to_inbound(query, update_id))
        message = query.message if isinstance(query.message, Message) else None
        chat_id = message.chat.id if message else query.from_user.id
        if message is not None and replies and await self._edit(message, replies[0]):
            replies = replies[1:]
        await self.send(chat_id, replies)

    async def _edit(self, message: Message, reply: Reply) -> bool:
        """Show the answer in place of the pressed menu where possible; False to send instead."""
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
            if "not modified" in str(exc).lower():
                return True
            return False
        return True

    async def send(self, chat_id: int | str, replies: list[Reply]) -> None:
        for reply in replies:
            try:
                await self._send_one(chat_id, reply)
            except TelegramForbiddenError:
                log.info("user blocked the bot")
                return
            except (
                TelegramBadRequest,
                TelegramRetryAfter,
                TelegramServerError,
                TelegramNetworkError,
            ):
                log.exception("reply not delivered")
                return

    async def _send_one(self, chat_id: int | str, reply: Reply) -> None:
        pieces = split_text(reply.text)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            markup = keyboard(reply) if last else None
            await with_retry(
                lambda piece=piece, markup=markup: self.bot.send_message(
                    chat_id, piece, reply_markup=markup
                )
            )
        if reply.request_phone:
            contact_keyboard = ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text=reply.request_phone, request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
            await with_retry(
                lambda: self.bot.send_message(
                    chat_id, "⬇ " + reply.request_phone, reply_markup=contact_keyboard
                )
            )
        if reply.attachment is not None:
            attachment = reply.attachment
            upload = BufferedInputFile(attachment.content, filename=attachment.filename)
            if attachment.mime_type.startswith("image/"):
                await with_retry(lambda: self.bot.send_photo(chat_id, upload))
            else:
                await with_retry(lambda: self.bot.send_document(chat_id, upload))

    async def wait_inflight(self) -> None:
        pending = [t for t in self.inflight if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)


async def register_commands(bot: Bot) -> None:
    for locale in LOCALES:
        t: Translator = translator(locale)
        commands = [BotCommand(command=c, description=t(f"command.{c}")) for c in COMMANDS]
        language = None if locale == "id" else locale
        await with_retry(
            lambda commands=commands, language=language: bot.set_my_commands(
                commands, language_code=language
            )
        )


async def check_token(bot: Bot) -> None:
    try:
        await bot.get_me()
    except TelegramUnauthorizedError as exc:
        raise StartupError("cli.bad_token", detail=exc.message) from exc
    except TelegramNetworkError as exc:
        raise StartupError("cli.bad_token", detail=str(exc)) from exc


async def run_polling(
    app: App,
    bot: Bot,
    *,
    adapter: TelegramAdapter | None = None,
    polling_timeout: int = 30,
    handle_signals: bool = True,
) -> None:
    adapter = adapter or TelegramAdapter(app.dispatcher, bot)
    await check_token(bot)
    await register_commands(bot)
    await with_retry(lambda: bot.delete_webhook(drop_pending_updates=False))
    try:
        await adapter.aiogram.start_polling(
            bot,
            polling_timeout=polling_timeout,
            handle_as_tasks=True,
            tasks_concurrency_limit=app.settings.polling_concurrency,
            allowed_updates=ALLOWED_UPDATES,
            handle_signals=handle_signals,
            close_bot_session=False,
        )
    finally:
        await adapter.wait_inflight()
        await bot.session.close()


def health_check(app: App) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /healthz: 200, or 503 when the database does not answer."""

    async def health(request: web.Request) -> web.Response:
        try:
            async with app.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return web.json_response({"status": "degraded", "database": "down"}, status=503)
        return web.json_response({"status": "ok"})

    return health


def webhook_app(app: App, bot: Bot, adapter: TelegramAdapter | None = None) -> web.Application:
    """The aiohttp application: POST updates (secret checked), GET /healthz."""
    settings = app.settings
    adapter = adapter or TelegramAdapter(app.dispatcher, bot)
    secret = settings.telegram_webhook_secret or ""
    background: set[asyncio.Task[Any]] = set()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            payload = json.loads(await request.read())
            update = Update.model_validate(payload, context={"bot": bot})
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "too large"}, status=413)
        except (ValueError, ValidationError, UnicodeDecodeError):
            log.warning("malformed webhook body rejected")
            return web.json_response({"error": "bad request"}, status=400)
        task = asyncio.create_task(adapter.aiogram.feed_update(bot, update))
        background.add(task)
        task.add_done_callback(background.discard)
        return web.json_response({"ok": True})

    async def drain(_: web.Application) -> None:
        if background:
            await asyncio.wait(list(background), timeout=SHUTDOWN_GRACE)

    async def on_error(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            # A bug must not turn into a 5xx: Telegram would redeliver the update in a loop.
            log.exception("webhook handler failed")
            return web.json_response({"error": "bad request"}, status=400)

    web_app = web.Application(client_max_size=1024 * 1024, middlewares=[web.middleware(on_error)])
    web_app.router.add_post(settings.webhook_path, receive)
    web_app.router.add_get("/healthz", health_check(app))
    web_app.on_shutdown.append(drain)
    return web_app


async def run_webhook(app: App, bot: Bot, stop: asyncio.Event | None = None) -> None:
    settings = app.settings
    if not settings.telegram_webhook_secret:
        raise StartupError(
            "cli.bad_config", detail="TELEGRAM_WEBHOOK_SECRET is required for webhooks"
        )
    await check_token(bot)
    await register_commands(bot)
    if settings.telegram_webhook_url:
        # The public URL (behind a proxy) ends in WEBHOOK_PATH, where this server listens.
        url, secret = settings.telegram_webhook_url, settings.telegram_webhook_secret
        await with_retry(
            lambda: bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        )
    try:
        await run_site(webhook_app(app, bot), settings, stop)
    finally:
        await bot.session.close()


async def run_site(
    web_app: web.Application, settings: Settings, stop: asyncio.Event | None
) -> None:
    """Serve `web_app` on WEBHOOK_HOST:WEBHOOK_PORT until SIGTERM/SIGINT (or `stop`)."""
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()  # stops accepting, then waits for updates in flight (on_shutdown)


async def serve(app: App, *, webhook: bool, t: Translator) -> None:
    bot = make_bot(app.settings)
    if webhook:
        s = app.settings
        print(t("cli.webhook", host=s.webhook_host, port=s.webhook_port, path=s.webhook_path))
        await run_webhook(app, bot)
    else:
        print(t("cli.polling"))
        await run_polling(app, bot)
