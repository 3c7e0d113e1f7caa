"""The channel sender contract: every capability has a default a channel may keep."""

from __future__ import annotations

from bot.channels.console import ConsoleSender
from bot.channels.telegram_outbound import TelegramSender
from bot.channels.whatsapp_sender import WhatsAppSender
from bot.messages import Channel, Reply
from bot.senders import ChannelLimits, ChannelSender, Outcome, SendResult
from storage.models import Account, Delivery


class Recording(ChannelSender):
    """A sender that only sends: everything else is the contract's default."""

    channel = Channel.CONSOLE
    limits = ChannelLimits(per_second=10.0, per_chat_interval=0.0)

    def __init__(self) -> None:
        self.sent: list[tuple[Delivery, Reply]] = []

    async def send_outbound(self, account: Account, delivery: Delivery, reply: Reply) -> SendResult:
        self.sent.append((delivery, reply))
        return SendResult(Outcome.SENT, platform_id=f"m{len(self.sent)}")


def account(user_ref: str) -> Account:
    return Account(channel="console", user_ref=user_ref, chat_ref=user_ref)


async def test_a_sender_that_cannot_edit_sends_the_text_anew() -> None:
    sender = Recording()
    assert not sender.can_edit
    result = await sender.edit_outbound(account("7"), "m0", Reply("Terkirim 10 dari 50"))
    assert result == SendResult(Outcome.SENT, platform_id="m1")
    assert [reply.text for _, reply in sender.sent] == ["Terkirim 10 dari 50"]


async def test_by_default_a_sender_serves_every_account_and_closes_quietly() -> None:
    sender = Recording()
    assert sender.serves is None
    assert sender.reaches(account("1")) and sender.reaches(account("2"))
    await sender.close()


def test_the_channels_declare_what_they_can_do() -> None:
    assert TelegramSender.can_edit  # the HR progress message is edited in place
    assert not WhatsAppSender.can_edit  # WhatsApp cannot change a sent message
    assert not ConsoleSender.can_edit
    senders = (TelegramSender, WhatsAppSender, ConsoleSender)
    assert all(issubclass(sender, ChannelSender) for sender in senders)
