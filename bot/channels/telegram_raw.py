"""Bot API sendMessage as pre-rendered JSON through one aiohttp session, for the drain.

aiogram builds a pydantic method object per call and validates the whole `Message` it gets back:
about 1 ms of Python per message, most of a broadcast's cost. A drain needs none of it. Here a
plain text goes out as one JSON body and only `ok`, `error_code`, `description`,
`parameters.retry_after` and `result.message_id` are read back. The errors are mapped as
aiogram's `check_response` would raise them (by HTTP status, retry_after first), so the sender's
outcomes do not depend on which path a message took. Replies to people chatting keep aiogram.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from bot.senders import Outcome, SendResult

# 400s that mean the person cannot be messaged at all (never started the bot, account deleted).
GONE = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")
JSON = {"Content-Type": "application/json"}


def bad_request(description: str) -> SendResult:
    text = description.lower()
    if any(marker in text for marker in GONE):
        return SendResult(Outcome.UNREACHABLE, error=f"400 {description}"[:200])
    return SendResult(Outcome.FAILED, error=f"400 {description}"[:200])


def result_of(status: int, body: Any) -> SendResult:
    """A Bot API answer (HTTP status, decoded JSON) as the drain's outcome."""
    if not isinstance(body, dict):
        return SendResult(Outcome.RETRY, error=f"{status} unreadable answer")
    if 200 <= status <= 226 and body.get("ok"):
        result = body.get("result")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return SendResult(Outcome.SENT, platform_id=None if message_id is None else str(message_id))
    description = str(body.get("description") or "")
    parameters = body.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if retry_after:
        return SendResult(
            Outcome.RETRY, retry_after=float(retry_after), error="429", throttled=True
        )
    if status == 400:
        return bad_request(description)
    if status == 403:
        return SendResult(Outcome.UNREACHABLE, error=f"403 {description}"[:200])
    if status in (401, 404):
        return SendResult(Outcome.FAILED, error=f"{status} {description}"[:200])
    if status >= 500:
        return SendResult(Outcome.RETRY, error=f"5xx {description}"[:200])
    # 409, 413, a 429 without retry_after...: what the drain did with aiogram's bare error.
    return SendResult(Outcome.RETRY, error=f"{status} {description}"[:200])


def chat_id(chat_ref: str) -> int | str:
    """Numeric chat ids as numbers (what Telegram gives), "@channel" names as they are."""
    return int(chat_ref) if chat_ref.lstrip("-").isdigit() else chat_ref


class RawBotAPI:
    """sendMessage over a session of its own (kept-alive connections, opened on first use)."""

    def __init__(self, url: str, timeout: float, connections: int = 128) -> None:
        self.url = url  # the sendMessage URL, token included
        self.timeout = timeout
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None
        # A broadcast's text is the same for everyone: its JSON is rendered once, not per chat.
        self._texts: dict[str, bytes] = {}

    def body(self, chat_ref: str, text: str, reply_markup: dict[str, Any] | None = None) -> bytes:
        """The sendMessage JSON body."""
        if reply_markup is not None:
            payload = {"chat_id": chat_id(chat_ref), "text": text, "reply_markup": reply_markup}
            return json.dumps(payload, ensure_ascii=False).encode()
        rest = self._texts.get(text)
        if rest is None:
            if len(self._texts) >= 64:
                self._texts.clear()
            quoted = json.dumps(text, ensure_ascii=False)
            rest = self._texts[text] = f',"text":{quoted}}}'.encode()
        return b'{"chat_id":' + json.dumps(chat_id(chat_ref)).encode() + rest

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                # The Bot API answers small uncompressed JSON; nothing to negotiate per request.
                auto_decompress=False,
                skip_auto_headers=("Accept-Encoding", "User-Agent"),
            )
        return self._session

    async def send_message(
        self, chat_ref: str, text: str, reply_markup: dict[str, Any] | None = None
    ) -> SendResult:
        try:
            body = self.body(chat_ref, text, reply_markup)
            async with self._open().post(self.url, data=body, headers=JSON) as response:
                status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return SendResult(Outcome.RETRY, error=f"network {type(exc).__name__}")
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        return result_of(status, answer)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            # aiohttp's advice: let the transports close before the loop may end.
            await asyncio.sleep(0)
