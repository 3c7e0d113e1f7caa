"""Build aiogram's Bot API models when first used instead of all of them at import.

aiogram declares its ~450 types with pydantic's `defer_build`, then defeats it: the end of
`aiogram/types/__init__.py` calls `model_rebuild` on every type, and each builds a validator
and serializer with every nested type inlined. That is about 120 MB of one bot process and
2 s of CPU at start (bench/README.md), although a bot validates a few dozen of those types.

While the `aiogram` package executes, `model_rebuild` with aiogram's types namespace builds
nothing and only keeps that namespace; afterwards every aiogram model (types, methods, the
generic `Response`, whose parametrisations inherit it) gets it as its parent namespace.
pydantic's deferred build then resolves the same forward references on a model's first use
(validation, construction or dump) as the eager rebuild would have, also for types nested in
another model's schema (pydantic resolves those with the outer model's parent namespace).
`install()` runs when the `bot` package is imported, before anything of Abdi imports aiogram;
a process that imported aiogram earlier keeps the eager build.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from pydantic import BaseModel

PACKAGE = "aiogram"


def _aiogram_models(base: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    todo = [base]
    while todo:
        sub: type[BaseModel]
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith(PACKAGE + "."):
                found.append(sub)
    return found


def _exec_deferred(exec_module: Callable[[ModuleType], None], module: ModuleType) -> None:
    eager = BaseModel.__dict__["model_rebuild"]
    namespaces: list[dict[str, Any]] = []

    def keep_namespace(
        cls: Any, *, _types_namespace: dict[str, Any] | None = None, **kwargs: Any
    ) -> bool | None:
        if _types_namespace is None:  # not aiogram's loop over its types
            return eager.__func__(cls, **kwargs)
        if not namespaces:
            namespaces.append(_types_namespace)
        return None

    BaseModel.model_rebuild = classmethod(keep_namespace)  # type: ignore[assignment]
    try:
        exec_module(module)
    finally:
        BaseModel.model_rebuild = eager  # type: ignore[method-assign]
    if not namespaces:  # another aiogram version: it built (or deferred) on its own
        return
    for model in _aiogram_models(BaseModel):
        if not model.__dict__.get("__pydantic_parent_namespace__"):
            model.__pydantic_parent_namespace__ = namespaces[0]


class _DeferBuild(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != PACKAGE:
            return None
        sys.meta_path.remove(self)  # once is enough
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        eager = spec.loader.exec_module
        spec.loader.exec_module = lambda module: _exec_deferred(eager, module)  # type: ignore[method-assign]
        return spec


def install() -> None:
    if PACKAGE in sys.modules or any(isinstance(f, _DeferBuild) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _DeferBuild())
