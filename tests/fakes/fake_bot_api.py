"""A stand-in Telegram Bot API server on loopback, so the real aiogram client code runs in tests.

It serves getUpdates (long polling) from a queue, records every call, answers like Telegram, and
can be told to fail the next calls of a method (429 with retry_after, 5xx, 401, 403).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 777000
TOKEN = f"{BOT_ID}:TEST-token-for-the-fake-bot-api-000000"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeBotAPI:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.failures: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        self.delays: dict[str, float] = {}
        self.listeners: list[Callable[[Call], None]] = []
        self.accepted: list[Call] = []  # calls answered ok (what a user really received)
        self.blocked: set[int] = set()  # chats that answer 403 (the user blocked the bot)
        self.files: dict[str, bytes] = {}  # file_id -> content users "uploaded" (getFile)
        # The webhook as setWebhook/deleteWebhook leave it, and what getWebhookInfo reports.
        self.webhook_url = ""
        self.webhook_pending = 0
        self.webhook_error: str | None = None
        # Decides a failure per call: (status, body) or None to answer normally.
        self.fault: Callable[[Call], tuple[int, dict[str, Any]] | None] | None = None
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Condition()
        self._new_call = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.base = ""

    # -- server ---------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        async with self._new_update:  # release long polls still waiting
            self._closing = True
            self._new_update.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "size": len(value.file.read())}
                continue
            try:
                params[key] = json.loads(value)
            except (TypeError, ValueError):
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params = await self._params(request)
        if method != "getUpdates":
            call = Call(method, params)
            for listener in self.listeners:
                listener(call)
            async with self._new_call:
                self.calls.append(call)
                self._new_call.notify_all()
        if self.failures[method]:
            status, body = self.failures[method].pop(0)
            return web.json_response(body, status=status)
        if method.startswith("send") and int(params.get("chat_id") or 0) in self.blocked:
            body = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
            return web.json_response(body, status=403)
        if self.fault is not None and method != "getUpdates":
            failure = self.fault(Call(method, params))
            if failure is not None:
                return web.json_response(failure[1], status=failure[0])
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        self.accepted.append(Call(method, params))
        return web.json_response({"ok": True, "result": self._result(method, params)})

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and timeout:
            async with self._new_update:
                try:
                    await asyncio.wait_for(self._new_update.wait(), timeout)
                except TimeoutError:
                    pass
        limit = int(params.get("limit") or 100)
        return [u for u in self.updates if u["update_id"] >= offset][:limit]

    async def _file(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["path"].rsplit("/", 1)[-1])
        if request.match_info["token"] != self.token or content is None:
            return web.Response(status=404)
        return web.Response(body=content)

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getFile":
            file_id = str(params.get("file_id"))
            size = len(self.files.get(file_id, b""))
            return {"file_id": file_id, "file_unique_id": file_id, "file_size": size,
                    "file_path": f"documents/{file_id}"}  # fmt: skip
        if method == "setWebhook":
            self.webhook_url = str(params.get("url") or "")
        if method == "deleteWebhook":
            self.webhook_url = ""
        if method == "getWebhookInfo":
            info: dict[str, Any] = {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": self.webhook_pending,
            }
            if self.webhook_error:
                info |= {
                    "last_error_date": int(time.time()),
                    "last_error_message": self.webhook_error,
                }
            return info
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Abdi", "username": "abdi_test_bot"}
        if method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
            chat_id = int(params.get("chat_id", 0))
            message: dict[str, Any] = {
                "message_id": int(params.get("message_id") or next(self._message_ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Abdi"},
            }
            if "text" in params:
                message["text"] = str(params["text"])
            if method == "sendPhoto":
                message["photo"] = [
                    {"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}
                ]
            if method == "sendDocument":
                message["document"] = {"file_id": "d", "file_unique_id": "d"}
            return message
        return True

    # -- test controls -------------------------------------------------------------------
    def fail_next(self, method: str, status: int, description: str = "", **parameters: Any) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.failures[method].append((status, body))

    def rate_limit_next(self, method: str, retry_after: int = 1) -> None:
        self.fail_next(
            method, 429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
        )

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update.setdefault("update_id", next(self._update_ids))
        async with self._new_update:
            self.updates.append(update)
            self._new_update.notify_all()
        return update

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
        ]

    async def wait_calls(self, method: str, count: int, within: float = 10.0) -> list[Call]:
        async def enough() -> None:
            async with self._new_call:
                await self._new_call.wait_for(lambda: len(self.sent(method)) >= count)

        await asyncio.wait_for(enough(), within)
        return self.sent(method)


def user(user_id: int, language: str | None = "id") -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    if language:
        data["language_code"] = language
    return data


def message_update(
    user_id: int, text: str | None = None, *, language: str | None = "id", **extra: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 10_000 + user_id % 10_000,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": f"User{user_id}"},
        "from": user(user_id, language),
        **extra,
    }
    if text is not None:
        message["text"] = text
    return {"message": message}


def contact_update(user_id: int, phone: str, owner: int | None) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone_number": phone, "first_name": "Me"}
    if owner is not None:
        contact["user_id"] = owner
    return message_update(user_id, contact=contact)


def callback_update(user_id: int, data: str, message_id: int = 1000) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": f"cb{user_id}-{time.monotonic_ns()}",
            "from": user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Abdi"},
                "text": "menu",
            },
        }
    }
