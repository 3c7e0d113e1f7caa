"""Every conversation flow, walked from its declaration: each step is declared with a handler
(or buttons that answer it), each declared step is entered somewhere, and each step has a way
back to the menu."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from enum import StrEnum
from types import ModuleType

import pytest

import handlers
from bot.app import App
from bot.i18n import translator
from bot.messages import Reply
from bot.routing import Context, Draft, NoDraft, Router, Step, StepSpec
from handlers import routers
from storage.state import ConversationState
from tests.chat import Chat
from tests.four_in_one_helpers import HR_PHONE, link

ROUTERS: list[Router] = [*routers.ROUTERS, routers.HOME]
# Calls that put the user in a step (the 4-in-1 screens ask through common.ask/ask_text).
ENTERING = {"enter", "ask", "ask_text"}


def _modules() -> Iterator[ModuleType]:
    yield handlers
    for info in pkgutil.walk_packages(handlers.__path__, "handlers."):
        yield importlib.import_module(info.name)


def _specs() -> Iterator[tuple[Router, StepSpec]]:
    for router in ROUTERS:
        for flow in router.flows:
            for spec in flow.specs:
                yield router, spec


def _step_of(module: ModuleType, node: ast.expr) -> StrEnum | None:
    """The step an expression like `Report.WHO` names in that module, if it names one."""
    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
        return None
    owner = getattr(module, node.value.id, None)
    if not (inspect.isclass(owner) and issubclass(owner, StrEnum)):
        return None
    member = getattr(owner, node.attr, None)
    return member if isinstance(member, StrEnum) else None


def entered_steps(module: ModuleType, source: str) -> tuple[set[StrEnum], list[str]]:
    """The steps the module's code enters, and the entering calls that name no declared step
    (a string where a step belongs, or a name that is no step)."""
    entered: set[StrEnum] = set()
    wrong: list[str] = []
    tree = ast.parse(source)
    for function in ast.walk(tree):
        if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                if name in ENTERING and len(node.args) >= 2:
                    step = _step_of(module, node.args[1])
                    if step is not None:
                        entered.add(step)
                    elif not isinstance(node.args[1], ast.Name):  # a variable: see below
                        wrong.append(f"{module.__name__}:{node.lineno} {ast.unparse(node)}")
            # A step chosen first and entered after (the report form's "_next").
            if isinstance(node, ast.Assign):
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                entered.update(s for v in values if (s := _step_of(module, v)) is not None)
    return entered, wrong


def test_every_step_is_declared_with_a_handler_or_its_buttons() -> None:
    assert any(router.flows for router in ROUTERS)
    for router in ROUTERS:
        states = {s for spec in router.actions.values() for s in spec.states or ()}
        assert states <= set(router.steps), (router.name, states - set(router.steps))
        for flow in router.flows:
            assert [s.step for s in flow.specs] == list(flow.steps), flow.steps
            for spec in flow.specs:
                assert spec.state == f"{router.name}:{spec.step.value}"
                assert issubclass(spec.draft, Draft)
                if spec.handler is None:
                    # Answered with buttons only: some button must be valid in it.
                    assert spec.state in states, f"{spec.state}: no handler and no button"
                    assert not spec.expects
                assert set(spec.fills) <= set(spec.draft.model_fields), spec.state


def test_every_declared_step_is_entered_somewhere() -> None:
    entered: set[StrEnum] = set()
    wrong: list[str] = []
    for module in _modules():
        found, bad = entered_steps(module, inspect.getsource(module))
        entered |= found
        wrong += bad
    assert not wrong, wrong
    declared = {spec.step for _router, spec in _specs()}
    assert entered <= declared, entered - declared
    assert declared <= entered, f"declared but never entered: {declared - entered}"


def test_the_walk_finds_a_step_never_entered() -> None:
    """The walk itself can fail: a module whose second step is only declared is caught."""

    class Demo(StrEnum):
        FIRST = "first"
        NEVER = "never"

    module = ModuleType("demo")
    vars(module)["Demo"] = Demo
    source = (
        "async def start(ctx):\n"
        "    await router.enter(ctx, Demo.FIRST)\n"
        "    await router.enter(ctx, 'typo')\n"
        "router.flow(Demo, NoDraft, {Demo.FIRST: Step(a), Demo.NEVER: Step(b)})\n"
    )
    entered, wrong = entered_steps(module, source)
    assert entered == {Demo.FIRST}
    assert len(wrong) == 1 and "'typo'" in wrong[0]


def _placeholder(draft: type[Draft]) -> dict[str, object]:
    """A readable draft naming nothing that exists (ids no row has), so each step answers."""
    values: dict[str, object] = {}
    for name, field in draft.model_fields.items():
        if field.is_required():
            values[name] = 2_000_000_000 if field.annotation is int else "x"
    return draft.model_validate(values).stored() | values


def _is_main_menu(text: str, locale: str) -> bool:
    return text.endswith(translator(locale)("menu.title"))


async def test_every_step_has_a_way_back_to_the_menu(demo_app: App) -> None:
    """In every step /menu and /batal lead to the main menu and leave the step; an answer the
    step cannot use is answered with choices that include a way back (or with the menu)."""
    locale = demo_app.settings.default_locale
    t = translator(locale)
    user = Chat(demo_app, "7301")
    await link(user, HR_PHONE)  # HR: an ASN of the HR desk, allowed in every declared step
    key = f"{user.channel.value}:{user.user_ref}"
    ttl = demo_app.settings.state_ttl_seconds
    walked = 0
    for _router, spec in _specs():
        for command, lead in (("/menu", None), ("/batal", t("home.cancelled"))):
            await demo_app.store.set(
                key, ConversationState(spec.state, _placeholder(spec.draft)), ttl
            )
            await user.send(command)
            assert _is_main_menu(user.text, locale), (spec.state, command, user.text)
            assert lead is None or user.text.startswith(lead), (spec.state, user.text)
            assert await demo_app.store.get(key) is None, (spec.state, command)
        await demo_app.store.set(key, ConversationState(spec.state, _placeholder(spec.draft)), ttl)
        await user.send("?")
        for reply in user.replies:
            back = any(c.nav in ("menu", "back") for c in reply.choices)
            assert not reply.choices or back or _is_main_menu(reply.text, locale), (
                spec.state,
                reply.text,
                [c.id for c in reply.choices],
            )
        await user.send("/batal")
        walked += 1
    assert walked == len(list(_specs())) > 20


async def test_a_draft_this_release_cannot_read_is_expired_not_an_error(demo_app: App) -> None:
    """A stored draft of another shape (an older release's, a forged one) leaves the step with
    the "expired" answer, for typed answers and for the step's buttons alike."""
    t = translator(demo_app.settings.default_locale)
    user = Chat(demo_app, "7302")
    await link(user, HR_PHONE)  # allowed in every step: only the draft is wrong
    key = f"{user.channel.value}:{user.user_ref}"
    ttl = demo_app.settings.state_ttl_seconds
    unreadable: list[tuple[str, dict[str, object], str, str]] = [
        ("case:who", {"via": "nobody"}, "text", "Budi"),
        ("case:confirm", {"nip": 19900101}, "action", "case:send"),
        ("rating:rate", {"period": 1, "ratee": 2, "scores": {}, "step": "comment"}, "text", "ok"),
        ("broadcast:draft", {"units": "all"}, "action", "broadcast:now"),
        ("case:tracked", {"case_id": "7"}, "action", "case:follow"),
    ]
    for state, data, kind, value in unreadable:
        await demo_app.store.set(key, ConversationState(state, data), ttl)
        await (user.send(value) if kind == "text" else user.action(value))
        assert user.text.startswith(t("error.expired")), (state, user.text)
        assert await demo_app.store.get(key) is None, state


async def test_a_step_refuses_who_may_not_answer_it(demo_app: App) -> None:
    """The dispatcher checks a step's roles as it does a button's: a guest left in an HR step
    is told so and taken out of it, and nothing of the answer is used."""
    t = translator(demo_app.settings.default_locale)
    user = Chat(demo_app, "7303")  # a guest: not linked to the roster
    key = f"{user.channel.value}:{user.user_ref}"
    guarded = [(router, spec) for router, spec in _specs() if spec.roles and spec.handler]
    assert {spec.state for _r, spec in guarded} >= {"admin:await_query", "case:note"}
    for _router, spec in guarded:
        data = _placeholder(spec.draft)
        await demo_app.store.set(key, ConversationState(spec.state, data), 60)
        await user.send("Budi")
        assert user.text.startswith(t("error.not_allowed")), (spec.state, user.text)
        assert await demo_app.store.get(key) is None, spec.state


def test_a_flow_table_must_name_every_step_and_only_its_own() -> None:
    """A step left out of its table, or a row of another flow, fails when the module loads."""

    class Steps(StrEnum):
        ONE = "one"
        TWO = "two"

    class Other(StrEnum):
        THREE = "three"

    async def answer(ctx: Context, text: str) -> list[Reply]:
        return []

    both: dict[StrEnum, Step] = {Steps.ONE: Step(answer), Steps.TWO: Step(None)}

    router = Router("demo")
    with pytest.raises(ValueError, match="no row for"):
        router.flow(Steps, NoDraft, {Steps.ONE: Step(answer)})
    with pytest.raises(ValueError, match="foreign"):
        router.flow(Steps, NoDraft, {**both, Other.THREE: Step(None)})
    router.flow(Steps, NoDraft, both)
    assert router.step(Steps.TWO).state == "demo:two"
    with pytest.raises(LookupError):
        router.step(Other.THREE)
