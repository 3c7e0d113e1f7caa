"""A test-side chat client: drives the dispatcher with neutral messages as a user would."""

from __future__ import annotations

import itertools

from bot.app import App
from bot.messages import Channel, Inbound, Reply, SharedContact

_events = itertools.count(1)


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
