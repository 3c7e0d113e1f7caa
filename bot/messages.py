"""Channel-neutral message types: what adapters turn platform updates into, and back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

MAX_CHOICES = 10
MAX_LABEL = 24
MAX_PAYLOAD_BYTES = 64


class Channel(StrEnum):
    CONSOLE = "console"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"


@dataclass(frozen=True, slots=True)
class SharedContact:
    """A phone contact the user shared; user_ref is whose contact it is, if the platform says."""

    phone: str
    user_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: Channel
    chat_ref: str
    user_ref: str
    event_id: str | None = None
    text: str | None = None
    action: str | None = None
    contact: SharedContact | None = None
    language_hint: str | None = None
    display_name: str | None = None
    attachment: Attachment | None = None  # media the user sent, already downloaded
    # Media the user sent, not fetched yet: the dispatcher fetches it only where the current
    # step takes a file, so a sticker or voice note costs no download.
    media: MediaRef | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def command(self) -> str | None:
        """The bot command without slash and @botname, lower-cased, if the text is one."""
        if not self.text or not self.text.startswith("/"):
            return None
        head = self.text.split(maxsplit=1)[0][1:]
        return head.split("@", 1)[0].lower() or None

    @property
    def argument(self) -> str:
        if not self.text:
            return ""
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    label: str
    # A navigation choice ("next", "prev", "back", "menu"): renderers that number choices give it
    # the same number on every screen (bot/numbering.py), so a typed number never moves.
    nav: str | None = None

    def __post_init__(self) -> None:
        if len(self.id.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"choice payload over {MAX_PAYLOAD_BYTES} bytes: {self.id!r}")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file on the platform the user sent: what it is, and how to fetch it when wanted.

    `fetch` returns None when the file cannot be had (too large, gone, the platform down); the
    step then asks for it again rather than losing the message.
    """

    kind: str  # photo | document | sticker | voice | audio | video | animation
    fetch: Callable[[], Awaitable[Attachment | None]] = field(compare=False, repr=False)

    @property
    def usable(self) -> bool:
        """Only photos and documents are files a step can take."""
        return self.kind in ("photo", "document", "image")


@dataclass(slots=True)
class Reply:
    text: str
    choices: list[Choice] = field(default_factory=list)
    attachment: Attachment | None = None
    request_phone: str | None = None  # label of a "share my phone" button, where supported
    # The reply asks for typed text (a time, a comment, a question): a bare number the user types
    # next is that text, not "the n-th button", on channels where typing numbers picks a choice.
    expects_text: bool = False
    locale: str | None = None  # the language of the text (set by the dispatcher), for adapters

    def __post_init__(self) -> None:
        if len(self.choices) > MAX_CHOICES:
            raise ValueError(f"at most {MAX_CHOICES} choices per reply; paginate")
        self.choices = [
            Choice(
                c.id,
                c.label if len(c.label) <= MAX_LABEL else c.label[: MAX_LABEL - 1] + "…",
                c.nav,
            )
            for c in self.choices
        ]


def split_text(value: str, limit: int) -> list[str]:
    """Cut long text at line breaks (or hard at the limit) into pieces a platform accepts."""
    parts: list[str] = []
    while len(value) > limit:
        cut = value.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        parts.append(value[:cut])
        value = value[cut:].lstrip("\n")
    parts.append(value)
    return [p for p in parts if p] or [" "]
