"""Neutral replies as WhatsApp Cloud API messages, with WhatsApp's limits enforced here.

Reply buttons hold at most 3 choices of 20 characters; a list message at most 10 rows (titles 24,
descriptions 72); an interactive body at most 1024 characters; a text 4096. Longer menus page.
Every choice id carries the menu's sequence number ("<seq>~<payload>") so a tap on an old menu
can be told from a tap on the current one: WhatsApp cannot edit or retract sent buttons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.i18n import Translator
from bot.messages import Attachment, Choice, Reply, split_text
from bot.numbering import numbered

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
MAX_BUTTONS = 3
BUTTON_TITLE = 20
MAX_ROWS = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
LIST_BUTTON = 20
SEQ_MARK = "~"
PHONE_ACTION = "wa:phone"  # "use this WhatsApp number": the adapter turns it into a shared contact
MENU_ACTION = "home:menu"  # the core's "back to the menu" choice (Context.back_to_menu)
PAGE_ACTION = "wa:page"  # "wa:page:<n>": the next page of a long menu, served by the adapter
# WhatsApp reads *bold*, _italic_, ~strike~ and ```mono``` in plain text; our text is plain.
MARKERS = "*_~`"
WORD_JOINER = "\u2060"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Cloud API message: text, reply buttons, a list, or a media attachment."""

    kind: str  # text | buttons | list | image | document
    text: str = ""
    options: list[tuple[str, str, str | None]] = field(default_factory=list)  # id, title, desc
    button: str = ""  # the list's open button
    attachment: Attachment | None = None


def plain(text: str) -> str:
    """Keep plain text plain: an invisible joiner after each marker stops WhatsApp's styling."""
    if not any(m in text for m in MARKERS):
        return text
    return "".join(ch + WORD_JOINER if ch in MARKERS else ch for ch in text)


def clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def tag(seq: int, payload: str) -> str:
    """Mark a choice with its menu; seq 0 (notifications outside a conversation) leaves it bare."""
    if seq <= 0:
        return payload
    return f"{seq}{SEQ_MARK}{payload}"


def untag(raw: str) -> tuple[int | None, str]:
    """(menu sequence, payload); ids without a sequence (forged or very old) give None."""
    head, mark, rest = raw.partition(SEQ_MARK)
    if mark and head.isdigit():
        return int(head), rest
    return None, raw


def options_of(reply: Reply) -> list[Choice]:
    """The reply's choices, plus the "use my WhatsApp number" choice where a phone is asked for."""
    options = list(reply.choices)
    if reply.request_phone:
        # The way back stays last: the phone row goes before the closing navigation choices.
        at = len(options)
        while at > 0 and (options[at - 1].nav or options[at - 1].id == MENU_ACTION):
            at -= 1
        options.insert(at, Choice(PHONE_ACTION, reply.request_phone))
    return options


def page_of(options: list[Choice], page: int, t: Translator) -> tuple[list[Choice], int]:
    """One page of a long menu (the last row leads on) and the number of the first row."""
    if len(options) <= MAX_ROWS:
        return options, 1
    size = MAX_ROWS - 1
    pages = (len(options) + size - 1) // size
    page = max(0, min(page, pages - 1))
    chunk = options[page * size : (page + 1) * size]
    following = (page + 1) % pages
    chunk.append(Choice(f"{PAGE_ACTION}:{following}", t("whatsapp.more", page=following + 1)))
    return chunk, page * size + 1


def render(reply: Reply, seq: int, t: Translator, page: int = 0) -> list[Outgoing]:
    text = plain(reply.text) or " "
    options = options_of(reply)
    out: list[Outgoing] = []
    if not options:
        out.extend(Outgoing("text", piece) for piece in split_text(text, TEXT_LIMIT))
    else:
        if len(text) > BODY_LIMIT:
            # The interactive body is short: the full text goes first, the menu after it.
            out.extend(Outgoing("text", piece) for piece in split_text(text, TEXT_LIMIT))
            text = t("whatsapp.pick")
        out.append(menu(text, options, seq, t, page))
    if reply.attachment is not None:
        kind = "image" if reply.attachment.mime_type.startswith("image/") else "document"
        out.append(Outgoing(kind, attachment=reply.attachment))
    return out


def menu(text: str, options: list[Choice], seq: int, t: Translator, page: int = 0) -> Outgoing:
    keyed = numbered(options)
    labels = [c.label for c in options]
    if any(n != i for i, (n, _c) in enumerate(keyed, start=1)):
        # Navigation has a fixed number that is not its place: the button says it ("0 Menu").
        labels = [f"{n} {c.label}" for n, c in keyed]
    # Reply buttons need distinct titles of at most 20 characters; a list takes the rest.
    fits = all(len(label) <= BUTTON_TITLE for label in labels) and len(set(labels)) == len(labels)
    if len(options) <= MAX_BUTTONS and fits:
        return Outgoing(
            "buttons",
            text,
            [(tag(seq, c.id), label, None) for c, label in zip(options, labels, strict=True)],
        )
    if len(options) <= MAX_ROWS:
        # One page: the number to type is the fixed one (navigation keeps 9/8/7/0).
        return Outgoing(
            "list",
            text,
            [
                (
                    tag(seq, c.id),
                    clip(c.label, ROW_TITLE),
                    None
                    if c.label.strip().isdigit()
                    else clip(t("whatsapp.type", n=n), ROW_DESCRIPTION),
                )
                for n, c in numbered(options)
            ],
            button=clip(t("whatsapp.open_menu"), LIST_BUTTON),
        )
    shown, first = page_of(options, page, t)
    rows = [
        (
            tag(seq, c.id),
            clip(c.label, ROW_TITLE),
            # "or type 3" only where it adds something: not under "more", nor under a title
            # that is itself the number to type (a score).
            None
            if c.id.startswith(PAGE_ACTION) or c.label.strip().isdigit()
            else clip(t("whatsapp.type", n=n), ROW_DESCRIPTION),
        )
        for n, c in enumerate(shown, start=first)
    ]
    return Outgoing("list", text, rows, button=clip(t("whatsapp.open_menu"), LIST_BUTTON))


def keys_of(options: list[Choice]) -> list[int]:
    """The number to type for each option, as the menu shows it."""
    if len(options) > MAX_ROWS:
        return list(range(1, len(options) + 1))
    return [n for n, _ in numbered(options)]


def typed_choice(text: str, options: list[list[str]], keys: list[int] | None = None) -> str | None:
    """A typed "2" as the choice numbered 2 (or the choice labelled "2", e.g. a score)."""
    typed = text.strip().rstrip(".")
    if not typed.isdigit() or not options:
        return None
    for payload, label in options:
        if label.strip() == typed:
            return payload
    number = int(typed)
    if keys is not None and len(keys) == len(options):
        return next((o[0] for k, o in zip(keys, options, strict=True) if k == number), None)
    if 1 <= number <= len(options):
        return options[number - 1][0]
    return None
