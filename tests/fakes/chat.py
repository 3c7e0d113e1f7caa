"""A test-side chat client: drives the dispatcher with neutral messages as a user would."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from pydantic import SecretStr

from bot.app import App
from bot.messages import Attachment, Channel, Choice, Inbound, Reply, SharedContact
from tests.fakes import fake_graph_api

_events = itertools.count(1)


def _unkeyed(title: str) -> str:
    head, space, rest = title.partition(" ")
    return rest if space and head.isdigit() and rest else title


class Chat:
    def __init__(
        self, app: App, user_ref: str, channel: Channel = Channel.TELEGRAM, lang: str | None = None
    ) -> None:
        self.app = app
        self.user_ref = user_ref
        self.channel = channel
        self.lang = lang
        self.replies: list[Reply] = []

    def _inbound(self, **fields: object) -> Inbound:
        return Inbound(
            channel=self.channel,
            chat_ref=self.user_ref,
            user_ref=self.user_ref,
            event_id=str(next(_events)),
            language_hint=self.lang,
            **fields,  # type: ignore[arg-type]
        )

    async def deliver(self, inbound: Inbound) -> list[Reply]:
        self.replies = await self.app.dispatcher.handle(inbound)
        return self.replies

    async def send(self, text: str) -> list[Reply]:
        return await self.deliver(self._inbound(text=text))

    async def press(self, label: str) -> list[Reply]:
        """Press the button of the last replies whose label contains `label`."""
        for reply in reversed(self.replies):
            for choice in reply.choices:
                if label.lower() in choice.label.lower():
                    return await self.action(choice.id)
        raise AssertionError(f"no button {label!r} in {self.labels}")

    async def action(self, payload: str) -> list[Reply]:
        return await self.deliver(self._inbound(action=payload))

    async def share_contact(self, phone: str, owner: str | None = None) -> list[Reply]:
        contact = SharedContact(phone, owner if owner is not None else self.user_ref)
        return await self.deliver(self._inbound(contact=contact))

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    @property
    def labels(self) -> list[str]:
        return [c.label for r in self.replies for c in r.choices]

    @property
    def payloads(self) -> list[str]:
        return [c.id for r in self.replies for c in r.choices]


class WhatsAppChat(Chat):
    """The same conversation through WhatsApp: signed webhook POSTs in, Graph API calls out.

    The real adapter runs against the fake Graph API; the replies are read back from the Graph
    calls the adapter made, so what a test asserts is what was sent.

    A chat writes with a business-scoped user id (`bsuid`) and a phone number (`wa_id`); either
    can be switched off to send the other shape (bsuid None: the webhook shape without user ids;
    wa_id None: a user who hides their number). `user_ref` stays the id the chat began with.
    """

    def __init__(
        self,
        app: App,
        user_ref: str,
        harness: WhatsAppHarness,
        lang: str | None = None,
        wa_id: str | None = "",
        bsuid: bool = True,
    ) -> None:
        digits = (
            user_ref
            if user_ref.isdigit()
            else str(int(hashlib.sha1(user_ref.encode()).hexdigest(), 16))[:15]
        )
        country = "ID" if not lang or lang.lower().startswith(("id", "in")) else "US"
        number = f"62899{digits}" if wa_id == "" else wa_id  # None: the number is hidden
        scoped = f"{country}.{digits}" if bsuid else None
        first = scoped or number
        assert first is not None, "a chat needs a user id or a number"
        super().__init__(app, first, Channel.WHATSAPP, lang)
        self.harness = harness
        self.bsuid: str | None = scoped
        self.wa_id: str | None = number
        self.addresses = {a for a in (scoped, number) if a}  # every id replies may go to
        self._buttons: dict[str, tuple[str, str]] = {}  # label -> (raw id, button | list)

    def writes_as(self, bsuid: str | bool | None = True, wa_id: str | bool | None = True) -> None:
        """Change the ids the next messages carry (True keeps one, None drops it)."""
        if bsuid is not True:
            self.bsuid = bsuid or None
        if wa_id is not True:
            self.wa_id = wa_id or None
        self.addresses |= {a for a in (self.bsuid, self.wa_id) if a}

    async def post(self, body: dict[str, Any]) -> list[Reply]:
        fake = self.harness.fake
        for address in self.addresses:
            fake.user_wrote(address)
        mark = len(fake.calls)
        status = await self.harness.post(body)
        # 503: a dependency is down, WhatsApp would send the body again (the user is told).
        assert status in (200, 503), status
        await self.harness.webhook.idle()
        self.replies = self._read(fake.calls[mark:])
        return self.replies

    def _read(self, calls: list[Any]) -> list[Reply]:
        from bot.channels.whatsapp_render import PHONE_ACTION, WORD_JOINER, untag

        replies: list[Reply] = []
        self._buttons = {}
        for call in calls:
            if call.method != "messages" or "_id" not in call.params:
                continue
            if call.to not in self.addresses:
                continue
            body = call.params
            kind = body["type"]
            if kind == "text":
                replies.append(Reply(body["text"]["body"].replace(WORD_JOINER, "")))
            elif kind == "interactive":
                inter = body["interactive"]
                if inter["type"] == "button":
                    raw = [
                        (b["reply"]["id"], b["reply"]["title"]) for b in inter["action"]["buttons"]
                    ]
                else:
                    rows = [r for s in inter["action"]["sections"] for r in s["rows"]]
                    raw = [(r["id"], r["title"]) for r in rows]
                reply = Reply(inter["body"]["text"].replace(WORD_JOINER, ""))
                for raw_id, title in raw:
                    self._buttons[title] = (raw_id, inter["type"])
                    payload = untag(raw_id)[1]
                    if payload == PHONE_ACTION:
                        reply.request_phone = title
                    else:
                        # "0 ⬅ Menu utama": the fixed number a button shows is rendering, like
                        # the word joiners; the neutral label is what follows it.
                        reply.choices.append(Choice(payload, _unkeyed(title)))
                replies.append(reply)
            elif kind in ("image", "document"):
                content, mime, filename = self.harness.fake.media[body[kind]["id"]]
                if not replies:
                    replies.append(Reply(""))
                replies[-1].attachment = Attachment(
                    body[kind].get("filename") or filename, content, mime
                )
        return replies

    async def send(self, text: str) -> list[Reply]:
        return await self.post(fake_graph_api.text(self.bsuid, text, self.wa_id))

    async def press(self, label: str) -> list[Reply]:
        for title, (raw_id, kind) in reversed(list(self._buttons.items())):
            if label.lower() in title.lower():
                return await self.tap(raw_id, title, kind)
        raise AssertionError(f"no button {label!r} in {list(self._buttons)}")

    async def tap(self, raw_id: str, title: str = "", kind: str = "button") -> list[Reply]:
        make = fake_graph_api.tap if kind == "button" else fake_graph_api.pick
        return await self.post(make(self.bsuid, raw_id, title, self.wa_id))

    async def action(self, payload: str) -> list[Reply]:
        """A button whose id the client made up (forged): it reaches the core unmarked."""
        return await self.tap(payload)

    async def card(self, phone: str, card_wa_id: str | None = None) -> list[Reply]:
        """A contact card, carrying whatever phone and wa_id the sender typed into it."""
        return await self.post(fake_graph_api.card(self.bsuid, phone, card_wa_id, self.wa_id))

    async def share_contact(self, phone: str, owner: str | None = None) -> list[Reply]:
        """Share a phone as the shared tests mean it, the WhatsApp way.

        Their own (owner None): on WhatsApp only the number a user writes from proves anything,
        so the user is one whose WhatsApp number is `phone`: they tap "use my number" where it
        is offered (or send their own card), then confirm the number they are shown. Someone
        else's (owner given): a contact card with that phone, and `owner` as its wa_id.
        """
        from bot.services.people import normalize_phone

        if owner is not None and owner != self.user_ref:
            return await self.card(phone, "".join(ch for ch in owner if ch.isdigit()) or None)
        if self.wa_id is not None:
            self.writes_as(wa_id=normalize_phone(phone) or "".join(c for c in phone if c.isdigit()))
        from bot.channels.whatsapp_render import PHONE_ACTION, untag

        row = next((v for v in self._buttons.values() if untag(v[0])[1] == PHONE_ACTION), None)
        if row is not None:
            await self.tap(row[0], "", row[1])
        else:
            await self.card(phone, self.wa_id)
        from bot.channels.whatsapp import CONFIRM_YES

        yes = next((v for v in self._buttons.values() if untag(v[0])[1] == CONFIRM_YES), None)
        if yes is not None:
            await self.tap(yes[0], "", yes[1])
        return self.replies


class WhatsAppHarness:
    """The fake Graph API, the real WhatsApp adapter and webhook, and an HTTP client to post."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.fake = fake_graph_api.FakeGraphAPI()
        self.webhook: Any = None
        self.client: Any = None

    async def start(self) -> WhatsAppHarness:
        from aiohttp.test_utils import TestClient, TestServer

        from bot.channels.whatsapp import WhatsAppAdapter, make_client
        from bot.channels.whatsapp_webhook import WhatsAppWebhook, webhook_app

        await self.fake.start()
        self.app.settings = self.app.settings.model_copy(
            update={
                "whatsapp_token": SecretStr(fake_graph_api.TOKEN),
                "whatsapp_phone_number_id": fake_graph_api.PHONE_ID,
                "whatsapp_app_secret": SecretStr(fake_graph_api.APP_SECRET),
                "whatsapp_verify_token": SecretStr(fake_graph_api.VERIFY_TOKEN),
                "whatsapp_api_base": self.fake.base,
            }
        )
        self.wa = make_client(self.app.settings)
        self.webhook = WhatsAppWebhook(self.app, WhatsAppAdapter(self.app, self.wa))
        # As bot/web.py serves: no automatic decompression, signatures see the wire bytes.
        # (TestServer drops options given to its constructor; start_server passes them on.)
        server = TestServer(webhook_app(self.webhook))
        await server.start_server(auto_decompress=False)
        self.client = TestClient(server)
        await self.client.start_server()
        return self

    async def post(
        self,
        body: dict[str, Any] | bytes,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> int:
        raw = body if isinstance(body, bytes) else fake_graph_api.dumps(body)
        sig = fake_graph_api.sign(raw) if signature is None else signature
        path = self.app.settings.whatsapp_webhook_path
        sent = {"Content-Type": "application/json", **(headers or {})}
        if sig:
            sent["X-Hub-Signature-256"] = sig
        response = await self.client.post(path, data=raw, headers=sent)
        await response.read()
        return response.status

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        from bot.channels.whatsapp import close_client

        await close_client(self.wa)
        await self.fake.stop()
