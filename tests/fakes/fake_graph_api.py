"""A stand-in WhatsApp Cloud (Graph) API on loopback, so the real pywa client code runs in tests.

It answers /messages, /media and media downloads like the Cloud API, records every call, rejects
what Meta rejects (more than 3 buttons, titles over 20, lists over 10 rows, row titles over 24,
descriptions over 72, bodies over 1024, texts over 4096) with Graph errors, applies the 24-hour
customer-service window (error 131047 for free text to a user who has not written in 24 hours),
and can answer the next calls with scripted error codes. It also builds signed webhook bodies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "EAAG-test-token-for-the-fake-graph-api"
PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
APP_SECRET = "fake-app-secret"
VERIFY_TOKEN = "fake-verify-token"
WINDOW = 24 * 3600


@dataclass
class Call:
    method: str  # messages | media | media_url | download | read
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def to(self) -> str:
        return str(self.params.get("recipient") or self.params.get("to") or "")


class GraphError(Exception):
    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _check(condition: bool, message: str, code: int = 100) -> None:
    if not condition:
        raise GraphError(code, f"(#{code}) Invalid parameter: {message}")


def check_interactive(body: dict[str, Any]) -> None:
    """Meta's limits on reply buttons and list messages."""
    kind = body.get("type")
    text = (body.get("body") or {}).get("text", "")
    _check(0 < len(text) <= 1024, f"body text length {len(text)} (1..1024)")
    action = body.get("action") or {}
    if kind == "button":
        buttons = action.get("buttons") or []
        _check(1 <= len(buttons) <= 3, f"{len(buttons)} buttons (1..3)")
        titles = [b["reply"]["title"] for b in buttons]
        _check(all(0 < len(t) <= 20 for t in titles), f"button title over 20: {titles}")
        _check(len(set(titles)) == len(titles), f"button titles must be unique: {titles}")
        ids = [b["reply"]["id"] for b in buttons]
        _check(len(set(ids)) == len(ids) and all(len(i) <= 256 for i in ids), "button ids")
    elif kind == "list":
        _check(0 < len(action.get("button", "")) <= 20, "list button over 20")
        rows = [r for s in action.get("sections") or [] for r in s.get("rows") or []]
        _check(1 <= len(rows) <= 10, f"{len(rows)} rows (1..10)")
        for row in rows:
            _check(0 < len(row["title"]) <= 24, f"row title over 24: {row['title']!r}")
            _check(len(row.get("description") or "") <= 72, "row description over 72")
            _check(len(row["id"]) <= 200, "row id over 200")
        ids = [r["id"] for r in rows]
        _check(len(set(ids)) == len(ids), "row ids must be unique")
    else:
        raise GraphError(100, f"unsupported interactive type {kind!r}")


class FakeGraphAPI:
    def __init__(self, token: str = TOKEN, phone_id: str = PHONE_ID) -> None:
        self.token = token
        self.phone_id = phone_id
        self.calls: list[Call] = []
        self.failures: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self.last_inbound: dict[str, float] = {}  # user -> time of their last message
        self.media: dict[str, tuple[bytes, str, str]] = {}  # id -> bytes, mime, filename
        self.templates = {"abdi_pemberitahuan"}
        # What the business account's management edges report (`abdi doctor` reads them).
        self.waba_id = WABA_ID
        self.template_status = "APPROVED"
        self.subscribed_apps = ["Abdi"]
        self.delay = 0.0
        self.drops = 0  # the next sends whose connection is dropped without an answer
        self.listeners: list[Callable[[Call], None]] = []
        self._ids = itertools.count(1)
        self._server: TestServer | None = None
        self._new_call = asyncio.Condition()
        self.base = ""

    # -- server ---------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_post("/{version}/{phone}/messages", self._messages)
        app.router.add_post("/{version}/{phone}/media", self._upload)
        app.router.add_get("/download/{media_id}", self._download)
        app.router.add_get("/{version}/{waba}/subscribed_apps", self._subscribed_apps)
        app.router.add_get("/{version}/{waba}/message_templates", self._message_templates)
        app.router.add_get("/{version}/{media_id}", self._node)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self.base = str(self._server.make_url("")).rstrip("/")
        return self.base

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.close()

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "") == f"Bearer {self.token}"

    @staticmethod
    def _error(exc: GraphError) -> web.Response:
        body = {"error": {"message": exc.message, "type": "OAuthException", "code": exc.code}}
        body["error"]["error_data"] = {"details": exc.message}
        body["error"]["fbtrace_id"] = "fake"
        return web.json_response(body, status=exc.status)

    async def _record(self, call: Call) -> None:
        for listener in self.listeners:
            listener(call)
        async with self._new_call:
            self.calls.append(call)
            self._new_call.notify_all()

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(GraphError(190, "Invalid OAuth access token", 401))
        if request.match_info["phone"] != self.phone_id:
            return self._error(GraphError(100, "Unsupported post request", 400))
        body = dict(await request.json())
        if body.get("status") == "read":
            await self._record(Call("read", body))
            try:
                self._scripted("read")
            except GraphError as exc:
                return self._error(exc)
            return web.json_response({"success": True})
        call = Call("messages", body)
        await self._record(call)
        if self.drops > 0:
            self.drops -= 1
            assert request.transport is not None
            request.transport.close()  # the client sees the connection drop, no answer
            return web.Response(status=500)
        if self.delay:
            await asyncio.sleep(self.delay)
        try:
            self._scripted("messages")
            self._validate(call)
        except GraphError as exc:
            call.params["_error"] = exc.code
            return self._error(exc)
        wamid = f"wamid.OUT{next(self._ids):08d}"
        call.params["_id"] = wamid
        contact = {"input": call.to}
        if "recipient" in body:
            contact["user_id"] = call.to
        else:
            contact["wa_id"] = call.to
        return web.json_response(
            {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]}
        )

    def _scripted(self, method: str) -> None:
        if self.failures[method]:
            code, status, message = self.failures[method].pop(0)
            raise GraphError(code, message, status)

    def _validate(self, call: Call) -> None:
        body = call.params
        _check(body.get("messaging_product") == "whatsapp", "messaging_product")
        _check(bool(call.to), "recipient")
        kind = body.get("type")
        if kind != "template":
            seen = self.last_inbound.get(call.to)
            if seen is None or time.time() - seen > WINDOW:
                raise GraphError(
                    131047,
                    "Re-engagement message: more than 24 hours have passed since the "
                    "recipient last replied to the sender number.",
                )
        if kind == "text":
            text = body["text"]["body"]
            _check(0 < len(text) <= 4096, f"text length {len(text)} (1..4096)")
        elif kind == "interactive":
            check_interactive(body["interactive"])
        elif kind in ("image", "document"):
            media_id = body[kind].get("id")
            _check(media_id in self.media, f"unknown media id {media_id}", code=131053)
        elif kind == "template":
            template = body["template"]
            _check(template["name"] in self.templates, "template does not exist", code=132001)
            for component in template.get("components") or []:
                for param in component.get("parameters") or []:
                    value = str(param.get("text", ""))
                    _check("\n" not in value and "\t" not in value, "newline in param", 132018)
                    _check(len(value) <= 1024, "param too long", code=132018)
        else:
            raise GraphError(100, f"unsupported type {kind!r}")

    async def _upload(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(GraphError(190, "Invalid OAuth access token", 401))
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        content = upload.file.read()
        media_id = f"{next(self._ids) + 900000000}"
        mime = str(form.get("type") or upload.content_type)
        self.media[media_id] = (content, mime, upload.filename)
        await self._record(Call("media", {"id": media_id, "size": len(content), "mime": mime}))
        return web.json_response({"id": media_id})

    async def _node(self, request: web.Request) -> web.Response:
        """GET of one Graph node: the phone number itself, or a media object's URL."""
        if not self._authorised(request):
            return self._error(GraphError(190, "Invalid OAuth access token", 401))
        if request.match_info["media_id"] != self.phone_id:
            return await self._media_url(request)
        await self._record(Call("phone_number", {"id": self.phone_id}))
        return web.json_response(
            {
                "verified_name": "Abdi Kota Contoh",
                "display_phone_number": "+62 811-0000-0000",
                "quality_rating": "GREEN",
                "id": self.phone_id,
            }
        )

    def _business_account(self, request: web.Request) -> None:
        if not self._authorised(request):
            raise GraphError(190, "Invalid OAuth access token", 401)
        if request.match_info["waba"] != self.waba_id:
            raise GraphError(100, "Unsupported get request", 400)

    async def _subscribed_apps(self, request: web.Request) -> web.Response:
        try:
            self._business_account(request)
        except GraphError as exc:
            return self._error(exc)
        data = [
            {"whatsapp_business_api_data": {"id": str(900 + i), "link": "https://x", "name": name}}
            for i, name in enumerate(self.subscribed_apps)
        ]
        return web.json_response({"data": data})

    async def _message_templates(self, request: web.Request) -> web.Response:
        try:
            self._business_account(request)
        except GraphError as exc:
            return self._error(exc)
        wanted = request.query.get("name")
        data = [
            {
                "name": name,
                "language": "id",
                "status": self.template_status,
                "category": "UTILITY",
                "id": str(700 + i),
            }
            for i, name in enumerate(sorted(self.templates))
            if wanted is None or name == wanted
        ]
        return web.json_response({"data": data, "paging": {"cursors": {}}})

    async def _media_url(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        if not self._authorised(request) or media_id not in self.media:
            return self._error(GraphError(100, "Unknown media", 404))
        content, mime, _ = self.media[media_id]
        await self._record(Call("media_url", {"id": media_id}))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"https://graph.facebook.com/download/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(content).hexdigest(),
                "file_size": len(content),
                "id": media_id,
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        if not self._authorised(request) or media_id not in self.media:
            return web.Response(status=404)
        await self._record(Call("download", {"id": media_id}))
        content, mime, _ = self.media[media_id]
        return web.Response(body=content, content_type=mime)

    # -- test controls -------------------------------------------------------------------
    def fail_next(
        self,
        code: int,
        status: int = 400,
        message: str = "scripted failure",
        method: str = "messages",
    ) -> None:
        """Answer the next send (or mark-as-read, method="read") with this Graph error."""
        self.failures[method].append((code, status, message))

    def drop_next(self, count: int = 1) -> None:
        """Drop the connection of the next `count` sends (a network fault, not an answer)."""
        self.drops += count

    def user_wrote(self, user: str, ago: float = 0.0) -> None:
        self.last_inbound[user] = time.time() - ago

    def add_media(self, content: bytes, mime: str, filename: str = "file") -> str:
        media_id = f"{next(self._ids) + 800000000}"
        self.media[media_id] = (content, mime, filename)
        return media_id

    def sent(self, to: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == "messages" and "_id" in c.params and (to is None or c.to == to)
        ]

    async def wait_sent(self, count: int, within: float = 10.0) -> list[Call]:
        async def enough() -> None:
            async with self._new_call:
                await self._new_call.wait_for(lambda: len(self.sent()) >= count)

        await asyncio.wait_for(enough(), within)
        return self.sent()


# -- webhook bodies ---------------------------------------------------------------------------
_wamids = itertools.count(1)


def new_wamid() -> str:
    return f"wamid.IN{next(_wamids):010d}{time.monotonic_ns() % 10**6:06d}"


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def contact(
    user_id: str | None, wa_id: str | None = None, name: str = "Pengguna"
) -> dict[str, Any]:
    """The sender's contact block: user id, number, or both (the older shape has no user_id)."""
    data: dict[str, Any] = {"profile": {"name": name}}
    if user_id:
        data["user_id"] = user_id
    if wa_id:
        data["wa_id"] = wa_id
    return data


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": PHONE_ID},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    }


def message(
    user_id: str | None, wa_id: str | None = None, *, wamid: str | None = None, **content: Any
) -> dict[str, Any]:
    """A webhook body with one message from the user; `content` gives type and its object.

    `user_id` None is the shape without business-scoped ids (contact and "from" by number)."""
    msg: dict[str, Any] = {"id": wamid or new_wamid(), "timestamp": str(int(time.time()))}
    if user_id:
        msg["from_user_id"] = user_id
    if wa_id:
        msg["from"] = wa_id
    msg.update(content)
    return envelope({"contacts": [contact(user_id, wa_id)], "messages": [msg]})


def text(user_id: str | None, body: str, wa_id: str | None = None, **kw: Any) -> dict[str, Any]:
    return message(user_id, wa_id, type="text", text={"body": body}, **kw)


def tap(
    user_id: str | None, button_id: str, title: str = "", wa_id: str | None = None
) -> dict[str, Any]:
    reply = {"type": "button_reply", "button_reply": {"id": button_id, "title": title or "x"}}
    return message(user_id, wa_id, type="interactive", interactive=reply, context={"id": "w"})


def pick(
    user_id: str | None, row_id: str, title: str = "", wa_id: str | None = None
) -> dict[str, Any]:
    reply = {"type": "list_reply", "list_reply": {"id": row_id, "title": title or "x"}}
    return message(user_id, wa_id, type="interactive", interactive=reply, context={"id": "w"})


def card(
    user_id: str | None, phone: str, card_wa_id: str | None, wa_id: str | None = None
) -> dict[str, Any]:
    """A shared contact card: its phone and wa_id are whatever the sender put in it."""
    phones: dict[str, Any] = {"phone": phone, "type": "CELL"}
    if card_wa_id:
        phones["wa_id"] = card_wa_id
    contacts = [{"name": {"formatted_name": "Saya", "first_name": "Saya"}, "phones": [phones]}]
    return message(user_id, wa_id, type="contacts", contacts=contacts)


def system(
    sender: str | None,
    kind: str,
    fields: dict[str, Any] | None = None,
    *,
    user_id: str | None = None,
    identity: dict[str, Any] | None = None,
    with_contact: bool = False,
) -> dict[str, Any]:
    """A system message from `sender` (a number) and/or `user_id`: a number change, a user id
    change, an identity change, with `fields` in its system part. Meta sends them without a
    contact block, except (sometimes) identity changes."""
    msg: dict[str, Any] = {
        "id": new_wamid(),
        "timestamp": str(int(time.time())),
        "type": "system",
        "system": {"body": f"system: {kind}", "type": kind, **(fields or {})},
    }
    if sender:
        msg["from"] = sender
    if user_id:
        msg["from_user_id"] = user_id
    if identity is not None:
        msg["identity"] = identity
    value: dict[str, Any] = {"messages": [msg]}
    if with_contact:
        value["contacts"] = [contact(user_id, sender)]
    return envelope(value)


def status(
    wamid: str,
    state: str,
    user_id: str,
    error: int | None = None,
    tracker: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_user_id": user_id,
    }
    if tracker:
        item["biz_opaque_callback_data"] = tracker
    if error is not None:
        item["errors"] = [{"code": error, "title": "scripted", "message": "scripted"}]
    return envelope({"contacts": [contact(user_id)], "statuses": [item]})


def dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
