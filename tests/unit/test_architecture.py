"""The dependency rules of DEVELOPERS.md, read from the source with ast (nothing is imported).

handlers/ → bot/ services → knowledge/, one way. An import inside a function counts as much as one at the top
of a module: hiding a cycle in a function only delays it. Imports under ``if TYPE_CHECKING:`` are ignored,
they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "knowledge")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, at any depth, skipping ``if TYPE_CHECKING:`` bodies."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports_in(child)
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _imports(node)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = _modules()[module].name == "__init__.py"
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


@cache
def _imported(module: str) -> frozenset[str]:
    """Absolute names a module imports: ``from a.b import c`` gives ``a.b`` and ``a.b.c``."""
    tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        else:
            source = _resolve(module, node)
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return frozenset(names)


def _internal_edges(module: str) -> set[str]:
    """The project modules a module depends on (a package's ``__init__`` counts when named)."""
    known = _modules()
    edges: set[str] = set()
    for name in _imported(module):
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            edges.add(name)
    return edges


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative enough for our size)."""
    graph = {module: sorted(_internal_edges(module)) for module in _modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return sorted(components)


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for module in _modules():
        if module != package and not module.startswith(package + "."):
            continue
        for name in sorted(_imported(module)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{module} imports {name}")
    return found


def test_no_import_cycles_not_even_inside_functions() -> None:
    assert _cycles() == []


def test_knowledge_imports_neither_telegram_nor_sqlalchemy_nor_the_bot() -> None:
    assert _offenders("knowledge", ("telegram", "sqlalchemy", "bot", "handlers")) == []


def test_handlers_import_no_sqlalchemy() -> None:
    assert _offenders("handlers", ("sqlalchemy",)) == []


def test_services_reach_the_database_only_through_repositories() -> None:
    found = _offenders("bot.services", ("sqlalchemy",))
    for module, path in _modules().items():
        if not module.startswith("bot.services."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "session":
                found.append(f"{module}:{node.lineno} uses .session")
    assert found == []
