"""Every flow's declared steps, checked statically: each step has a handler or its buttons, each
is entered somewhere, a flow table names every step and only its own. The walk through a
running app (a way back from every step) is in tests/flows/test_flow_declarations.py."""

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
from bot.messages import Reply
from bot.routing import Context, Draft, NoDraft, Router, Step
from tests.helpers.flow_steps import ROUTERS, specs

# Calls that put the user in a step (the 4-in-1 screens ask through common.ask/ask_text).
ENTERING = {"enter", "ask", "ask_text"}
STEP_ENUMS = {type(spec.step) for _router, spec in specs()}


def _modules() -> Iterator[ModuleType]:
    yield handlers
    for info in pkgutil.walk_packages(handlers.__path__, "handlers."):
        yield importlib.import_module(info.name)


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
            # A step chosen first and entered after (the report form's "_next"); other enums
            # assigned in a handler (a case's status) are not steps.
            if isinstance(node, ast.Assign):
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                entered.update(
                    s
                    for v in values
                    if (s := _step_of(module, v)) is not None and type(s) in STEP_ENUMS
                )
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
    declared = {spec.step for _router, spec in specs()}
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
