"""The import structure of the application: no cycle between its modules, and imports at the top
of a module (a function-local import is how a cycle hides), except the heavy optional libraries
loaded only where they are used. Read statically from the source: nothing is imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "storage")
# Libraries that cost start-up time or memory and serve one screen or command: imported inside
# the function that needs them (directly, or through our module that imports them), so a
# process that never draws a chart never loads Pillow and `abdi chat` never loads aiogram.
LAZY = {"PIL", "openpyxl", "bm25s", "Sastrawi", "aiogram", "pywa", "aiohttp", "alembic"}


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # Alembic's scripts are loaded by Alembic, not imported
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    hidden: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(ast.walk(node))
    return hidden


def _targets(node: ast.Import | ast.ImportFrom, name: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = name.split(".") if is_package else name.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    yield base
    yield from (f"{base}.{alias.name}" for alias in node.names)


Graph = tuple[dict[str, set[str]], list[tuple[str, int, str]], dict[str, set[str]]]


def graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> Graph:
    """Each module's imports of our own modules (function-local ones too: a cycle hidden in a
    function is still a cycle), every function-local import, and each module's top-level
    imports of other libraries."""
    mods = modules(root, packages)
    edges: dict[str, set[str]] = {name: set() for name in mods}
    local: list[tuple[str, int, str]] = []
    libraries: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_only(tree)
        in_function: set[ast.AST] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                in_function.update(ast.walk(node))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or node in hidden:
                continue
            targets = list(_targets(node, name, path.name == "__init__.py"))
            if node in in_function:
                ours = [t for t in targets if t in mods]  # "from bot.channels import serving"
                local.append((name, node.lineno, max(ours, key=len) if ours else targets[0]))
            elif targets[0].split(".")[0] not in packages:
                libraries[name].add(targets[0].split(".")[0])
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(f"{target}."):
                    edges[name].add(target)
    return edges, local, libraries


def heavy(module: str, edges: dict[str, set[str]], libraries: dict[str, set[str]]) -> bool:
    """Whether importing `module` loads a LAZY library, itself or through our modules."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen or current not in edges:
            continue
        seen.add(current)
        if libraries[current] & LAZY:
            return True
        todo.extend(edges[current])
    return False


def cycle_in(edges: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(edges).prepare()
    except CycleError as cycle:
        return list(cycle.args[1])
    return None


def test_no_import_cycles() -> None:
    edges, _, _ = graph()
    cycle = cycle_in(edges)
    assert cycle is None, f"import cycle: {' -> '.join(cycle or [])}"


def test_imports_are_at_the_top_except_heavy_optional_libraries() -> None:
    edges, local, libraries = graph()

    def deferred_library(target: str) -> bool:
        while target and target not in edges and target.split(".")[0] in PACKAGES:
            target = target.rpartition(".")[0]  # "bot.channels" of "from bot.channels import x"
        return target.split(".")[0] in LAZY or heavy(target, edges, libraries)

    hiding = [
        f"{module}:{line} imports {target}"
        for module, line, target in local
        if not deferred_library(target)
    ]
    assert not hiding, "function-local imports:\n" + "\n".join(hiding)


def test_the_check_sees_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    """The walk itself: a package whose two modules import each other, one of them inside a
    function and one through a relative import, is reported on both counts."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from . import a\n    return a\n")
    edges, local, _ = graph(tmp_path, ("pkg",))
    assert cycle_in(edges) is not None
    assert [(module, target) for module, _, target in local] == [("pkg.b", "pkg.a")]
