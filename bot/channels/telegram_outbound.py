"""Telegram as a ChannelSender: one outbound message per call, every Bot API error mapped to an
Outcome, no retries inside (the drain reschedules). Uses its own HTTP sessions, so a broadcast's
429 waits and connections never hold up replies to people chatting. A plain text (the bulk of a
broadcast) goes out as pre-rendered JSON (bot/channels/telegram_raw.py); files, long texts split
in pieces and edits go through aiogram.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile

from bot.channels.telegram import CAPTION_LIMIT, TEXT_LIMIT, keyboard, make_bot
from bot.channels.telegram_raw import RawBotAPI, bad_request
from bot.config import Settings
from bot.messages import Attachment, Channel, Reply, split_text
from bot.senders import ChannelLimits, ChannelSender, Outcome, SendResult
from storage.models import Account, Delivery

# Seconds; below the drain's default lease (60 s), so a slow call is never taken for a dead one.
REQUEST_TIMEOUT = 20
UPLOAD_TIMEOUT = 45


def _bad_request(exc: TelegramBadRequest) -> SendResult:
    return bad_request(exc.message)


TEXT, PHOTO, DOCUMENT = "text", "photo", "document"


@dataclass(frozen=True)
class Piece:
    """One Bot API message of a reply: a text, or a file with its caption."""

    kind: str  # text | photo | document
    text: str  # the text, or the file's caption
    attachment: Attachment | None = None
    buttons: bool = False  # carries the reply's keyboard


def layout(reply: Reply) -> list[Piece]:
    """The messages a reply becomes on Telegram (what HR's preview shows, too): a file with the
    text as its caption when the text fits one, else the text in pieces and the file after it.
    The buttons go on the last message, so a long text with a file still carries them."""
    attachment = reply.attachment
    if attachment is not None and len(reply.text) <= CAPTION_LIMIT:
        kind = PHOTO if attachment.mime_type.startswith("image/") else DOCUMENT
        return [Piece(kind, reply.text, attachment, buttons=True)]
    out = [Piece(TEXT, piece) for piece in split_text(reply.text, TEXT_LIMIT)]
    if attachment is not None:
        out.append(Piece(DOCUMENT, "", attachment))
    out[-1] = replace(out[-1], buttons=True)
    return out


class TelegramSender(ChannelSender):
    channel = Channel.TELEGRAM
    can_edit = True

    def __init__(self, bot: Bot, limits: ChannelLimits) -> None:
        self.bot = bot
        self.limits = limits
        url = bot.session.api.api_url(token=bot.token, method="sendMessage")
        self.raw = RawBotAPI(url, REQUEST_TIMEOUT)

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramSender:
        limits = ChannelLimits(settings.telegram_broadcast_rate, settings.telegram_chat_interval)
        return cls(make_bot(settings), limits)

    async def send_outbound(self, account: Account, delivery: Delivery, reply: Reply) -> SendResult:
        if reply.attachment is None and len(reply.text) <= TEXT_LIMIT:
            markup = keyboard(reply)
            dumped = None if markup is None else markup.model_dump(mode="json", exclude_none=True)
            return await self.raw.send_message(account.chat_ref, reply.text, dumped)
        try:
            message_id = await self._send(account.chat_ref, reply)
        except TelegramRetryAfter as exc:
            return SendResult(
                Outcome.RETRY, retry_after=float(exc.retry_after), error="429", throttled=True
            )
        except TelegramForbiddenError as exc:
            return SendResult(Outcome.UNREACHABLE, error=f"403 {exc.message}"[:200])
        except TelegramBadRequest as exc:
            return _bad_request(exc)
        except (TelegramNotFound, TelegramUnauthorizedError) as exc:
            return SendResult(Outcome.FAILED, error=f"{type(exc).__name__} {exc.message}"[:200])
        except TelegramServerError as exc:
            return SendResult(Outcome.RETRY, error=f"5xx {exc.message}"[:200])
        except (TelegramNetworkError, TimeoutError, OSError) as exc:
            return SendResult(Outcome.RETRY, error=f"network {type(exc).__name__}")
        except TelegramAPIError as exc:  # 409, 413...: nothing says it is final
            return SendResult(Outcome.RETRY, error=f"{type(exc).__name__} {exc.message}"[:200])
        return SendResult(Outcome.SENT, platform_id=str(message_id))

    async def _send(self, chat_id: str, reply: Reply) -> int:
        """Send the reply; the id of its first message (the one a progress edit would change)."""
        markup = keyboard(reply)
        first: int | None = None
        for piece in layout(reply):
            buttons = markup if piece.buttons else None
            if piece.attachment is None:
                sent = await self.bot.send_message(
                    chat_id, piece.text, reply_markup=buttons, request_timeout=REQUEST_TIMEOUT
                )
            else:
                upload = BufferedInputFile(piece.attachment.content, piece.attachment.filename)
                send = self.bot.send_photo if piece.kind == PHOTO else self.bot.send_document
                sent = await send(
                    chat_id,
                    upload,
                    caption=piece.text or None,
                    reply_markup=buttons,
                    request_timeout=UPLOAD_TIMEOUT,
                )
            first = first if first is not None else sent.message_id
        assert first is not None
        return first

    async def edit_outbound(self, account: Account, platform_id: str, reply: Reply) -> SendResult:
        """Replace the text of a message sent earlier (the HR progress message)."""
        try:
            await self.bot.edit_message_text(
                text=reply.text,
                chat_id=account.chat_ref,
                message_id=int(platform_id),
                request_timeout=REQUEST_TIMEOUT,
            )
        except TelegramRetryAfter as exc:
            return SendResult(
                Outcome.RETRY, retry_after=float(exc.retry_after), error="429", throttled=True
            )
        except TelegramBadRequest as exc:
            if "not modified" in exc.message.lower():
                return SendResult(Outcome.SENT, platform_id=platform_id)
            return _bad_request(exc)
        except TelegramForbiddenError as exc:
            return SendResult(Outcome.UNREACHABLE, error=f"403 {exc.message}"[:200])
        except (TelegramServerError, TelegramNetworkError, TimeoutError, OSError) as exc:
            return SendResult(Outcome.RETRY, error=type(exc).__name__)
        return SendResult(Outcome.SENT, platform_id=platform_id)

    async def close(self) -> None:
        await self.raw.close()
        await self.bot.session.close()
