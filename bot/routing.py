"""What handler modules plug into: a Router of actions, flows of steps, commands and menu entries.

Payloads are "<router>:<verb>[:<arg>...]"; states are "<router>:<step>". The dispatcher owns the
routing; handlers only declare what they answer and who may ask.

A flow is a conversation of several steps, declared in one table (see `Router.flow`): each step
of a StrEnum names its text handler, who may answer it (checked by the dispatcher, as for
actions), what it expects besides words (a bare number, a file, a shared contact) and which draft
fields it asks for. The answers so far travel between steps in a typed `Draft`, stored as JSON in
the conversation state; entering a step takes the enum member, never a string.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import ColumnElement
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
# A role some chats hold by what the database says of them (a family following a case): a SQL
# condition on the chat's `Account` row (and, through Account.employee_id, its employee). The
# dispatcher evaluates every one inside the query that loads the account, so a role costs no
# round trip of its own on any update.
RoleCondition = Callable[[], ColumnElement[bool]]
ContactHandler = Callable[["Context"], Awaitable[Replies]]
# A handler keeps its own signature through the decorators (extra keyword arguments included).
H = TypeVar("H", bound=ActionHandler)


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
        visible = [
            e for e in self.menu_entries if e.roles & self.roles and not e.hidden_for & self.roles
        ]
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
        """Back to the section a screen belongs to (its sub-menu leads on to the main menu),
        else to the main menu."""
        section = self._section()
        if section is not None:
            back = self.t(f"menu.section.{section}.back")
            return Choice(f"home:section:{section}", back, nav="menu")
        return Choice("home:menu", self.t("button.menu"), nav="menu")

    def _section(self) -> str | None:
        """The section of the screen being answered (the action pressed, else the step typed
        at): the one of a section entry's own screen, or of a router whose visible entries all
        sit in one section (every screen of HR broadcasts is the HR desk's)."""
        where = self.inbound.action or (self.state.name if self.state else "")
        mine = [e for e in self.menu_entries if e.roles & self.roles]
        own = [e for e in mine if where == e.action or where.startswith(f"{e.action}:")]
        if own:
            return own[0].section
        prefix = where.split(":", 1)[0] + ":"
        sections = {e.section for e in mine if e.action.startswith(prefix)}
        return sections.pop() if len(sections) == 1 else None


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
    hidden_for: frozenset[str] = frozenset()  # roles that see another entry in its place


class Expect(StrEnum):
    """What a step's answer may be, besides typed words (which every step with a handler takes)."""

    TEXT = "text"
    # Text where a bare typed number is the answer (a time, a comment), never the n-th button:
    # the step's question says it expects text (Reply.expects_text).
    BARE_NUMBER = "bare_number"
    # A photo or document, with or without a caption (the handler reads ctx.inbound.attachment).
    FILE = "file"
    # A shared contact: its phone number reaches the handler as the text.
    CONTACT = "contact"


class Expired(Exception):
    """The conversation's draft is gone or unreadable (an older release's, a foreign shape): the
    dispatcher leaves the step and answers "expired", as for a step that no longer exists."""


class Draft(BaseModel):
    """The answers a flow carries between its steps, stored as JSON in the conversation state.

    Strict and closed: a stored draft of another shape is never guessed at, it is `Expired`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @classmethod
    def of(cls, ctx: Context) -> Self:
        """The draft of the step the user is in; raises Expired if there is none to read."""
        if ctx.state is None:
            raise Expired(cls.__name__)
        try:
            return cls.model_validate(ctx.state.data)
        except ValidationError as exc:
            raise Expired(cls.__name__) from exc

    def stored(self) -> dict[str, Any]:
        """What the state store keeps: only the answers given, as JSON values."""
        return self.model_dump(mode="json", exclude_defaults=True)


class NoDraft(Draft):
    """For flows whose steps carry nothing between them."""


@dataclass(frozen=True)
class Step:
    """One row of a flow's table (see Router.flow)."""

    handler: TextHandler | None  # None: the step is answered with its buttons only
    roles: Iterable[str] | None = None  # None: anyone in the step
    expects: Iterable[Expect] = (Expect.TEXT,)
    fills: tuple[str, ...] = ()  # the draft fields the step asks for (a correction clears them)


@dataclass(frozen=True)
class StepSpec:
    step: StrEnum
    state: str  # "<router>:<step>", as stored
    handler: TextHandler | None
    roles: frozenset[str] | None
    expects: frozenset[Expect]
    fills: tuple[str, ...]
    draft: type[Draft]


@dataclass(frozen=True)
class Flow:
    """A conversation of several steps: the steps in their order, and the draft they share."""

    router: str
    steps: type[StrEnum]
    draft: type[Draft]
    specs: tuple[StepSpec, ...]


@dataclass(frozen=True)
class ActionSpec:
    handler: ActionHandler
    roles: frozenset[str] | None  # None: anyone
    states: frozenset[str] | None  # the action is only valid in these steps (stale otherwise)
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
        self.flows: list[Flow] = []
        self.steps: dict[str, StepSpec] = {}  # by stored state name
        self.commands: dict[str, tuple[ActionHandler, frozenset[str] | None]] = {}
        self.menu: list[MenuEntry] = []
        self.role_conditions: list[tuple[str, RoleCondition]] = []
        self.contact_handler: ContactHandler | None = None
        # Words typed where no step asked for any (the home router's: understood where possible).
        self.free_text: TextHandler | None = None

    @property
    def contact_states(self) -> set[str]:
        """The steps whose question a shared contact answers (not a request to link)."""
        return {s.state for s in self.steps.values() if Expect.CONTACT in s.expects}

    def payload(self, verb: str, *args: object) -> str:
        return ":".join([self.name, verb, *(str(a) for a in args)])

    def state_name(self, step: str) -> str:
        return f"{self.name}:{step}"

    def flow(self, steps: type[StrEnum], draft: type[Draft], table: Mapping[StrEnum, Step]) -> Flow:
        """Declare a flow: every member of `steps`, in the conversation's order, with its row.

        Like python-telegram-bot's ConversationHandler(states=...): the one place that says
        which handler answers which step, who may answer it and what it takes."""
        missing = [str(step) for step in steps if step not in table]
        foreign = [str(step) for step in table if not isinstance(step, steps)]
        if missing or foreign:
            raise ValueError(f"flow {steps.__name__}: no row for {missing}, foreign {foreign}")
        specs = []
        for step in steps:
            row = table[step]
            state = self.state_name(step.value)
            if state in self.steps:
                raise ValueError(f"step {state} is declared twice")
            expects = frozenset(row.expects) if row.handler is not None else frozenset()
            roles = frozenset(row.roles) if row.roles is not None else None
            spec = StepSpec(step, state, row.handler, roles, expects, row.fills, draft)
            self.steps[state] = spec
            specs.append(spec)
        declared = Flow(self.name, steps, draft, tuple(specs))
        self.flows.append(declared)
        return declared

    def step(self, step: StrEnum) -> StepSpec:
        """The declaration of one of this router's steps; a step of no flow is a LookupError."""
        spec = self.steps.get(self.state_name(step.value))
        if spec is None or spec.step is not step:
            raise LookupError(f"{step!r} is not a step of router {self.name!r}")
        return spec

    def at(self, ctx: Context, step: StrEnum) -> bool:
        """Whether the user is in this step now."""
        return ctx.state is not None and ctx.state.name == self.step(step).state

    async def enter(self, ctx: Context, step: StrEnum, draft: Draft | None = None) -> None:
        """Put the user in one of this router's steps, where their next answer comes here."""
        spec = self.step(step)
        if draft is None:
            draft = spec.draft()
        elif not isinstance(draft, spec.draft):
            raise TypeError(f"{step!r} carries a {spec.draft.__name__}, not {type(draft)}")
        await ctx.set_state(spec.state, **draft.stored())

    def action(
        self,
        verb: str,
        *,
        roles: Iterable[str] | None = None,
        state: StrEnum | Iterable[StrEnum] | None = None,
        args: Sequence[str] | int = (),
    ) -> Callable[[H], H]:
        """`state`: the step (or steps) in which the action is valid, a stale button elsewhere;
        `args`: the kind of each payload argument (ID, NUM, WORD); a bare count means that many
        arguments that are either small numbers or words (prefer declaring kinds)."""
        kinds = tuple(args) if not isinstance(args, int) else (ANY,) * args
        unknown = set(kinds) - {ID, NUM, WORD, ANY}
        if unknown:
            raise ValueError(f"unknown payload argument kinds {sorted(unknown)}")

        steps = [state] if isinstance(state, StrEnum) else state
        states = frozenset(self.state_name(s.value) for s in steps) if steps is not None else None

        def register(fn: H) -> H:
            roles_ = frozenset(roles) if roles is not None else None
            self.actions[verb] = ActionSpec(fn, roles_, states, kinds)
            return fn

        return register

    def command(self, *names: str, roles: Iterable[str] | None = None) -> Callable[[H], H]:
        def register(fn: H) -> H:
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
        hidden_for: Iterable[str] = (),
    ) -> None:
        hidden = frozenset(hidden_for)
        self.menu.append(
            MenuEntry(self.payload(verb), label, frozenset(roles), order, section, hidden)
        )

    def role_condition(self, role: str) -> Callable[[RoleCondition], RoleCondition]:
        """Grant `role` to every chat whose account row meets the decorated SQL condition."""

        def register(fn: RoleCondition) -> RoleCondition:
            self.role_conditions.append((role, fn))
            return fn

        return register

    def on_contact(self, fn: ContactHandler) -> ContactHandler:
        self.contact_handler = fn
        return fn
