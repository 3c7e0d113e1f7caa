"""What handler modules plug into: a Router of actions, states, commands and menu entries.

Payloads are "<router>:<verb>[:<arg>...]"; states are "<router>:<name>". The dispatcher owns the
routing; handlers only declare what they answer and who may ask.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from bot.messages import MAX_CHOICES, Choice, Inbound, Reply
from storage.models import Account, Agency, Employee
from storage.state import ConversationState, StateStore

# Roles a user can hold in a conversation. "guest" = not linked to the roster.
GUEST, ASN, HR, OFFICER, FAMILY = "guest", "asn", "hr", "officer", "family"

# Kinds of payload argument. Payloads come back from clients and are untrusted: each argument is
# checked against its kind before any handler sees it, so a forged or garbled one ("²", a 20-digit
# id, a word where a number belongs) is a stale button, never an exception deep in a handler.
ANY = "any"  # undeclared: an ID or a WORD (handlers that call int() must declare ID or NUM)
ID = "id"  # a database id: ASCII digits, 1 .. 2**31 - 1 (fits every integer column)
NUM = "num"  # a small count or index: ASCII digits, 0 .. 9999
WORD = "word"  # a symbolic value: an ASCII lower-case letter, then letters, digits, "_", "-"; <= 32
_DIGITS = re.compile(r"[0-9]{1,10}")
_WORD = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_ID = 2**31 - 1


def valid_arg(kind: str, value: str) -> bool:
    if kind == ANY:
        if _DIGITS.fullmatch(value) is not None:
            return int(value) <= MAX_ID
        return _WORD.fullmatch(value) is not None
    if kind == WORD:
        return _WORD.fullmatch(value) is not None
    if _DIGITS.fullmatch(value) is None:
        return False
    number = int(value)
    return 1 <= number <= MAX_ID if kind == ID else number <= 9999


def parse_args(kinds: Sequence[str], values: Sequence[str]) -> list[str] | None:
    """The payload's arguments if each is of its declared kind, else None."""
    if len(values) != len(kinds):
        return None
    if all(valid_arg(kind, value) for kind, value in zip(kinds, values, strict=True)):
        return list(values)
    return None


Replies = list[Reply]
ActionHandler = Callable[["Context", list[str]], Awaitable[Replies]]
TextHandler = Callable[["Context", str], Awaitable[Replies]]
RoleProvider = Callable[["Context"], Awaitable[set[str]]]


@dataclass
class Context:
    """Everything one inbound event's handling may touch; one unit of work."""

    inbound: Inbound
    session: AsyncSession
    account: Account
    agency: Agency
    t: Translator
    store: StateStore
    settings: Settings
    state: ConversationState | None
    roles: set[str] = field(default_factory=set)
    menu_entries: list[MenuEntry] = field(default_factory=list)

    @property
    def employee(self) -> Employee | None:
        return self.account.employee

    @property
    def actor(self) -> str:
        """Who acts, as audit rows name them: the employee, else the chat account."""
        return f"employee:{self.employee.id}" if self.employee else f"account:{self.account.id}"

    @property
    def state_key(self) -> str:
        return f"{self.account.channel}:{self.account.user_ref}"

    async def set_state(self, name: str, **data: Any) -> None:
        self.state = ConversationState(name, data)
        await self.store.set(self.state_key, self.state, self.settings.state_ttl_seconds)

    async def clear_state(self) -> None:
        self.state = None
        await self.store.clear(self.state_key)

    async def too_many(self, what: str, limit: int, message_key: str) -> Reply | None:
        """Count one try of `what` for this chat in the hour; past `limit`, leave the step and
        return the main menu with `message_key` (the caller sends it instead of answering)."""
        if await self.store.hit(f"{what}:{self.state_key}", 3600) <= limit:
            return None
        await self.clear_state()
        return self.main_menu(self.t(message_key))

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))

    def main_menu(self, lead: str | None = None, page: int = 0) -> Reply:
        """The main menu as this user's roles allow, optionally after a line of text.

        Entries of a section (e.g. the HR desk) collapse into one entry that opens them, so the
        menu stays short on a small screen; a menu that still overflows gets a "more" page.
        """
        visible = [e for e in self.menu_entries if e.roles & self.roles]
        top: list[tuple[int, Choice]] = []
        sections: dict[str, int] = {}
        for entry in visible:
            if entry.section is None:
                top.append((entry.order, Choice(entry.action, self.t(entry.label))))
            else:
                sections[entry.section] = min(sections.get(entry.section, entry.order), entry.order)
        for name, order in sections.items():
            top.append((order, Choice(f"home:section:{name}", self.t(f"menu.section.{name}"))))
        choices = [choice for _, choice in sorted(top, key=lambda item: item[0])]
        title = self.t("menu.title")
        return Reply(f"{lead}\n\n{title}" if lead else title, _page(self, choices, page))

    def section_menu(self, name: str, page: int = 0) -> Reply | None:
        """One section's entries (None if the user may see none of them), then back to the menu."""
        entries = [e for e in self.menu_entries if e.section == name and e.roles & self.roles]
        if not entries:
            return None
        choices = [Choice(e.action, self.t(e.label)) for e in entries]
        return Reply(self.t(f"menu.section.{name}.title"), [*choices, self.back_to_menu()])

    def back_to_menu(self) -> Choice:
        return Choice("home:menu", self.t("button.menu"), nav="menu")


def _page(ctx: Context, choices: list[Choice], page: int) -> list[Choice]:
    if len(choices) <= MAX_CHOICES:
        return choices
    size = MAX_CHOICES - 2  # 1–8, and "more" keeps its fixed number 9
    pages = (len(choices) + size - 1) // size
    page = max(0, min(page, pages - 1))
    shown = choices[page * size : (page + 1) * size]
    following = (page + 1) % pages
    return [*shown, Choice(f"home:more:{following}", ctx.t("menu.more"), nav="next")]


@dataclass(frozen=True)
class MenuEntry:
    action: str
    label: str  # message id
    roles: frozenset[str]
    order: int = 100
    section: str | None = None  # shown inside that section's sub-menu, not on the main menu


@dataclass(frozen=True)
class ActionSpec:
    handler: ActionHandler
    roles: frozenset[str] | None  # None: anyone
    state: str | None  # the action is only valid while in this state (stale otherwise)
    kinds: tuple[str, ...]  # the kind of each ":"-separated argument the payload carries

    @property
    def arity(self) -> int:
        return len(self.kinds)


class Router:
    def __init__(self, name: str) -> None:
        if ":" in name:
            raise ValueError("router names cannot contain ':'")
        self.name = name
        self.actions: dict[str, ActionSpec] = {}
        self.states: dict[str, TextHandler] = {}
        self.commands: dict[str, tuple[ActionHandler, frozenset[str] | None]] = {}
        self.menu: list[MenuEntry] = []
        self.role_providers: list[RoleProvider] = []
        self.contact_handler: Callable[[Context], Awaitable[Replies]] | None = None
        # States whose question a shared contact answers: its phone reaches the state handler.
        self.contact_states: set[str] = set()
        self.file_states: set[str] = set()

    def payload(self, verb: str, *args: object) -> str:
        return ":".join([self.name, verb, *(str(a) for a in args)])

    def state_name(self, name: str) -> str:
        return f"{self.name}:{name}"

    async def enter(self, ctx: Context, name: str, **data: Any) -> None:
        """Put the user in one of this router's states, where their next text comes here."""
        await ctx.set_state(self.state_name(name), **data)

    def action(
        self,
        verb: str,
        *,
        roles: Iterable[str] | None = None,
        state: str | None = None,
        args: Sequence[str] | int = (),
    ) -> Callable[[ActionHandler], ActionHandler]:
        """`args`: the kind of each payload argument (ID, NUM, WORD); a bare count means that
        many arguments that are either small numbers or words (prefer declaring kinds)."""
        kinds = tuple(args) if not isinstance(args, int) else (ANY,) * args
        unknown = set(kinds) - {ID, NUM, WORD, ANY}
        if unknown:
            raise ValueError(f"unknown payload argument kinds {sorted(unknown)}")

        def register(fn: ActionHandler) -> ActionHandler:
            self.actions[verb] = ActionSpec(
                fn,
                frozenset(roles) if roles is not None else None,
                self.state_name(state) if state else None,
                kinds,
            )
            return fn

        return register

    def on_state(
        self, name: str, contact: bool = False, files: bool = False
    ) -> Callable[[TextHandler], TextHandler]:
        """Text typed in this state comes here; `contact`: so does a shared phone; `files`: so
        does a photo or document without a caption (the handler reads ctx.inbound.attachment)."""

        def register(fn: TextHandler) -> TextHandler:
            self.states[self.state_name(name)] = fn
            if contact:
                self.contact_states.add(self.state_name(name))
            if files:
                self.file_states.add(self.state_name(name))
            return fn

        return register

    def command(
        self, *names: str, roles: Iterable[str] | None = None
    ) -> Callable[[ActionHandler], ActionHandler]:
        def register(fn: ActionHandler) -> ActionHandler:
            for name in names:
                self.commands[name] = (fn, frozenset(roles) if roles is not None else None)
            return fn

        return register

    def menu_entry(
        self,
        verb: str,
        label: str,
        roles: Iterable[str],
        order: int = 100,
        section: str | None = None,
    ) -> None:
        self.menu.append(MenuEntry(self.payload(verb), label, frozenset(roles), order, section))

    def roles_provider(self, fn: RoleProvider) -> RoleProvider:
        self.role_providers.append(fn)
        return fn

    def on_contact(
        self, fn: Callable[[Context], Awaitable[Replies]]
    ) -> Callable[[Context], Awaitable[Replies]]:
        self.contact_handler = fn
        return fn
