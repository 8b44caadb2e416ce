"""The app's packages form layers: no two of them import each other, directly or round a cycle.

A package is a directory of app/ (app.bookings, app.core, ...) or a top-level module (app.events,
app.main). Every import counts, also one inside a function: a cycle hidden in a function is still
a cycle a reader has to untangle. The tables live in app.models and import only app.core, so any
domain may read any table; writes go through the owning domain's service.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def _package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "app" or len(parts) == 1:
        return None
    return parts[1]


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "app":  # from app import events
            return [f"app.{alias.name}" for alias in node.names]
        return [node.module]
    return []


def import_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the places (file:line) that import it."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP.parent).with_suffix("")
        source = relative.parts[1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for module in _imported_modules(node):
                target = _package(module)
                if target and target != source:
                    graph[source][target].append(f"{relative}.py:{node.lineno}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
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
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_app_packages_import_each_other() -> None:
    graph = import_graph()
    report = []
    for component in _cycles(graph):
        edges = [
            f"  {a} -> {b}: {', '.join(graph[a][b])}"
            for a in component
            for b in component
            if b in graph.get(a, {})
        ]
        report.append(" <-> ".join(component) + "\n" + "\n".join(edges))
    assert not report, "import cycles between app packages:\n" + "\n".join(report)


def test_the_lowest_layers_import_no_domain() -> None:
    """core is infrastructure, models the tables, events the outbox contract: none of them may
    depend on a domain (else every domain would, through them)."""
    graph = import_graph()
    allowed = {"core": set(), "models": {"core", "events"}, "events": {"core"}}
    wrong = {
        layer: {
            target: places for target, places in graph.get(layer, {}).items() if target not in ok
        }
        for layer, ok in allowed.items()
    }
    assert wrong == {layer: {} for layer in allowed}


def test_the_graph_is_read() -> None:
    """The test above can fail: the graph sees real imports (bookings uses the tables and core)."""
    graph = import_graph()
    assert {"models", "core"} <= set(graph["bookings"])
    assert _cycles({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) == [["a", "b", "c"]]
