"""Local terminal chat: numbered choices and free text, for trying Abdi without any platform."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot import numbering
from bot.dispatcher import Dispatcher
from bot.i18n import Translator
from bot.messages import Channel, Inbound, Reply, SharedContact
from bot.senders import ChannelLimits, ChannelSender, Outcome, SendResult
from storage.models import Account, Delivery

ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]


async def _stdin_line(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


class ConsoleChat:
    """Turns typed lines into Inbound events and prints the replies with numbered options."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        user_ref: str,
        *,
        language_hint: str | None = None,
        read_line: ReadLine = _stdin_line,
        write: Write = print,
        attachments_dir: Path | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.user_ref = user_ref
        self.language_hint = language_hint
        self.read_line = read_line
        self.write = write
        self.attachments_dir = attachments_dir or Path("var/console")
        self._keys: list[tuple[int, str]] = []  # (number to type, payload) of the last menu
        self._text_first = False  # the last screen asked for text: "2" is text, "#2" a choice

    def inbound(self, line: str) -> Inbound:
        base: dict[str, Any] = {
            "channel": Channel.CONSOLE,
            "chat_ref": self.user_ref,
            "user_ref": self.user_ref,
            # A typed line is never delivered twice, and ids counted per process would repeat
            # across runs on one database: no de-duplication claim for the console.
            "event_id": None,
            "language_hint": self.language_hint,
        }
        stripped = line.strip()
        picked = stripped.startswith("#") or not self._text_first
        if picked and (payload := numbering.pick(stripped, self._keys)) is not None:
            return Inbound(**base, action=payload)
        if stripped.lower().startswith("/kontak "):
            return Inbound(**base, contact=SharedContact(stripped[8:].strip(), self.user_ref))
        return Inbound(**base, text=line)

    def render(self, replies: list[Reply], t: Translator) -> None:
        for reply in replies:
            self.write("")
            self.write(reply.text)
            if reply.attachment is not None:
                self.attachments_dir.mkdir(parents=True, exist_ok=True)
                path = self.attachments_dir / reply.attachment.filename
                path.write_bytes(reply.attachment.content)
                self.write(t("console.attachment", name=str(path)))
            if reply.request_phone:
                self.write(t("console.phone_hint", label=reply.request_phone))
            mark = "#" if any(r.expects_text for r in replies) else ""
            shown = numbering.numbered(reply.choices)
            for number, choice in shown:
                self.write(f"  {mark}{number}. {choice.label}")
            if mark and shown:
                # Only the numbers this screen shows ("#0" when only the menu is offered).
                numbers = ", ".join(f"#{n}" for n, _ in sorted(shown, key=lambda s: s[0] or 99))
                self.write(t("console.pick_hint", numbers=numbers))
        # Numbers refer to the options last shown; a reply without options keeps the old ones.
        menus = [r for r in replies if r.choices]
        if menus:
            # Only the last menu's numbers are live (they are the ones nearest the prompt).
            self._keys = [(n, c.id) for n, c in numbering.numbered(menus[-1].choices)]
        if replies:
            self._text_first = any(r.expects_text for r in replies)

    def out_of_range(self, line: str) -> bool:
        """A typed number that no shown option has (and the screen is not asking for text)."""
        stripped = line.strip()
        picked = stripped.startswith("#") or not self._text_first
        return (
            picked
            and bool(self._keys)
            and numbering.is_number(stripped)
            and numbering.pick(stripped, self._keys) is None
        )

    async def send(self, line: str, t: Translator) -> list[Reply]:
        if self.out_of_range(line):
            numbers = numbering.ranges([n for n, _ in self._keys])
            self.write(t("console.out_of_range", numbers=numbers))
            return []
        replies = await self.dispatcher.handle(self.inbound(line))
        self.render(replies, t)
        return replies

    async def run(self, t: Translator, banner: str) -> None:
        self.write(banner)
        await self.send("/start", t)
        while True:
            line = await self.read_line("> ")
            if line is None:
                self.write("\n" + t("console.bye"))
                return
            if line.strip():
                await self.send(line, t)


class ConsoleSender(ChannelSender):
    """Outbound messages to the console account at this terminal, printed into its chat.

    `serves` tells the drain which accounts this sender delivers to: only the person at this
    terminal. Messages for other console accounts (another `abdi chat` on the same database)
    stay pending for their own terminal, so nobody sees a colleague's private notices.
    """

    channel = Channel.CONSOLE
    limits = ChannelLimits(per_second=1000.0, per_chat_interval=0.0)

    def __init__(self, chat: ConsoleChat, t: Translator) -> None:
        self.chat = chat
        self.t = t
        self._ids = itertools.count(1)

    @property
    def serves(self) -> frozenset[str]:
        return frozenset({self.chat.user_ref})

    async def send_outbound(self, account: Account, delivery: Delivery, reply: Reply) -> SendResult:
        if account.user_ref not in self.serves:  # never print someone else's message here
            return SendResult(Outcome.RETRY, error="not this terminal")
        self.chat.render([reply], self.t)
        return SendResult(Outcome.SENT, platform_id=f"console-{next(self._ids)}")
