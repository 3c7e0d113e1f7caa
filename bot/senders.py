"""The channel sender contract: what the drain and the jobs may ask of a channel's outbound side.

Every capability is declared here with its default (in the spirit of Rasa's `OutputChannel`), so
callers use it without probing: a sender that cannot edit a message sends a new one, one that
serves every account of its channel says so, one that holds nothing closes for free.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from bot.messages import Channel, Reply
from storage.models import Account, Delivery


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # throttled or a transient fault: try again after `retry_after`
    UNREACHABLE = "unreachable"  # blocked, deactivated, or no longer messageable
    FAILED = "failed"  # rejected for good (bad request)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    platform_id: str | None = None  # message id the platform gave (wamid, Telegram message_id)
    retry_after: float | None = None  # seconds, when the platform named a wait
    error: str | None = None  # short reason for reports
    throttled: bool = False  # the platform refused for rate (429), not for a fault


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    per_second: float  # messages per second for the whole bot / phone number
    per_chat_interval: float  # minimum seconds between two messages to one chat


class ChannelSender(ABC):
    """One channel's outbound side: one message to one account, no retries inside."""

    channel: Channel
    limits: ChannelLimits
    # Whether `edit_outbound` changes a message in place; callers that would rather wait than
    # send a new message each time (a progress report) ask this first.
    can_edit: bool = False

    @property
    def serves(self) -> frozenset[str] | None:
        """The accounts (user refs) this sender delivers to; None: every account of its channel."""
        return None

    def reaches(self, account: Account) -> bool:
        serves = self.serves
        return serves is None or account.user_ref in serves

    @abstractmethod
    async def send_outbound(self, account: Account, delivery: Delivery, reply: Reply) -> SendResult:
        """Send one rendered delivery; map every platform error onto a `SendResult`."""

    async def edit_outbound(self, account: Account, platform_id: str, reply: Reply) -> SendResult:
        """Replace the text of a message sent earlier; by default the reply is sent anew."""
        note = Delivery(kind="edit", source=f"edit:{platform_id}", message_key="-", params={})
        return await self.send_outbound(account, note, reply)

    async def close(self) -> None:
        """Let go of what the sender holds (HTTP sessions); nothing by default."""
        return None
