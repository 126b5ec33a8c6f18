"""The packages' import rules (README, "Where things are"), read from the sources with ast.

Every import counts, also one inside a function; only imports under ``if TYPE_CHECKING:``
are left out, as they never run."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Bottom first. Each package may import the ones listed, and nothing else of the project.
ALLOWED: dict[str, frozenset[str]] = {
    "domain": frozenset(),
    "eventstore": frozenset({"domain"}),
    "runtime": frozenset({"domain", "eventstore"}),
    # Words and formats for people (catalogue), and the documents' templates (documents).
    "catalogue": frozenset({"domain"}),
    "documents": frozenset({"domain", "catalogue"}),
    "activities": frozenset({"domain", "eventstore", "runtime", "catalogue", "documents"}),
    "workflows": frozenset({"domain", "activities"}),
    "client": frozenset(
        {"domain", "eventstore", "runtime", "catalogue", "documents", "activities", "workflows"}
    ),
    "audit": frozenset(
        {"domain", "eventstore", "runtime", "catalogue", "documents", "activities", "workflows"}
    ),
    "api": frozenset(
        {"domain", "eventstore", "runtime", "catalogue", "documents"}
        | {"activities", "workflows", "client", "audit"}
    ),
    "temaplan": frozenset(
        {"domain", "eventstore", "runtime", "catalogue", "documents"}
        | {"activities", "workflows", "client", "audit", "api"}
    ),
    # The two scripts: thin entry points; the worker's is the `temaplan worker` command.
    "worker": frozenset({"runtime", "workflows", "client", "temaplan"}),
    "starter": frozenset({"runtime", "workflows", "client"}),
}
# Workflow code imports activities only passed through the sandbox, as their interfaces;
# the registry builds workers and is never loaded into a sandbox.
SANDBOX_FREE = {"workflows.registry"}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in ALLOWED:
        script = ROOT / f"{top}.py"
        if script.is_file():
            found[top] = script
            continue
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(tree: ast.AST) -> Iterator[tuple[str, int, bool]]:
    """(imported name, line, passed through the sandbox) of every import that runs."""

    def walk(node: ast.AST, passed: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                yield from (x for n in child.orelse for x in walk_one(n, passed))
                continue
            yield from walk_one(child, passed)

    def walk_one(node: ast.AST, passed: bool) -> Iterator[tuple[str, int, bool]]:
        if isinstance(node, ast.Import):
            yield from ((a.name, node.lineno, passed) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                yield f"{node.module}.{a.name}", node.lineno, passed
        elif isinstance(node, ast.With) and any(
            "imports_passed_through" in ast.unparse(item.context_expr) for item in node.items
        ):
            yield from walk(node, True)
        else:
            yield from walk(node, passed)

    yield from walk(tree, False)


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(modules: dict[str, Path]) -> dict[str, set[tuple[str, int, bool]]]:
    graph: dict[str, set[tuple[str, int, bool]]] = {}
    for module, path in modules.items():
        edges = set()
        for name, line, passed in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            target = _resolve(name, modules)
            if target is not None and target != module:
                edges.add((target, line, passed))
        graph[module] = edges
    return graph


def layer_violations(graph: dict[str, set[tuple[str, int, bool]]]) -> list[str]:
    broken = []
    for module, edges in sorted(graph.items()):
        package = module.partition(".")[0]
        for target, line, passed in sorted(edges):
            other = target.partition(".")[0]
            if other == package:
                continue
            where = f"{module}:{line} imports {target}"
            if other not in ALLOWED[package]:
                broken.append(f"{where}: {package} may import only {sorted(ALLOWED[package])}")
            elif (
                package == "workflows"
                and other == "activities"
                and not passed
                and module not in SANDBOX_FREE
            ):
                broken.append(f"{where} outside workflow.unsafe.imports_passed_through()")
    return broken


def import_circles(graph: dict[str, set[tuple[str, int, bool]]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _, _ in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


@pytest.fixture(scope="module")
def graph() -> dict[str, set[tuple[str, int, bool]]]:
    return import_graph(_modules())


def test_every_package_imports_only_the_packages_below_it(
    graph: dict[str, set[tuple[str, int, bool]]],
) -> None:
    assert len(graph) > 100  # the sources were found
    assert layer_violations(graph) == []


def test_no_import_circle_between_files(graph: dict[str, set[tuple[str, int, bool]]]) -> None:
    assert import_circles(graph) == []


def test_the_rules_see_a_broken_layer_and_a_circle(tmp_path: Path) -> None:
    """The checks above can fail: an upward import, an activity imported into workflow
    code outside the sandbox's pass-through, and a circle are each reported."""
    sources = {
        "domain.a": "from eventstore.b import x\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from api.c import y\n",
        "eventstore.b": "def f():\n    from domain.a import z\n",
        "workflows.w": "from activities.m import M\n"
        "with workflow.unsafe.imports_passed_through():\n    from activities.n import N\n",
        "activities.m": "",
        "activities.n": "",
        "api.c": "",
    }
    modules = {}
    for name, text in sources.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        modules[name] = path
    graph = import_graph(modules)
    assert layer_violations(graph) == [
        "domain.a:1 imports eventstore.b: domain may import only []",
        "workflows.w:1 imports activities.m outside workflow.unsafe.imports_passed_through()",
    ]
    assert import_circles(graph) == [["domain.a", "eventstore.b"]]
