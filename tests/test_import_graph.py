"""The package's import graph: no module imports another in a circle, and no import runs back up the
pipeline (models -> data -> measure -> store -> run -> analysis -> advise -> report -> monitor ->
leaderboard -> site -> cli).

The graph is read from the source (every ``import``/``from ... import``, inside functions too), so a
lazy import counts like any other. An import of ``a.b`` where ``b`` is a module is an edge to ``a.b``;
the implicit import of a module's parent package is not counted. The test of the checker itself
builds a small package with a circle and an upward import and sees both refused.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rscbench"
LAYERS = (
    "",
    "models",
    "data",
    "measure",
    "store",
    "run",
    "analysis",
    "advise",
    "report",
    "monitor",
    "leaderboard",
    "site",
    "cli",
)
"""Pipeline order: a module may import from its own layer or an earlier one. "" is the package's base
(rscbench/__init__.py, errors, validation, vocabulary)."""
BASE = {"rscbench", "rscbench.errors", "rscbench.validation", "rscbench.vocabulary"}


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under ``root`` by dotted name (``pkg/__init__.py`` is ``pkg``)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names[name] = path
    return {name: path for name, path in names.items() if name.split(".")[0] == package}


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the package's modules it imports."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    targets.add(child if child in modules else node.module)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
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


def layer(module: str, base: set[str], layers: tuple[str, ...]) -> int:
    """The pipeline position of ``module``: its first sub-package after the root, or 0 for the base."""
    if module in base:
        return 0
    return layers.index(module.split(".")[1])


def upward_imports(graph: dict[str, set[str]], base: set[str], layers: tuple[str, ...]) -> list[str]:
    """Every import from a module into a later layer, as "module -> target"."""
    return [
        f"{module} -> {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer(target, base, layers) > layer(module, base, layers)
    ]


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(import_graph(PACKAGE, "rscbench")) == []


def test_no_import_runs_back_up_the_pipeline() -> None:
    graph = import_graph(PACKAGE, "rscbench")
    unknown = {m for m in graph if m not in BASE and m.split(".")[1] not in LAYERS}
    assert unknown == set(), "every module belongs to a layer of the pipeline"
    assert upward_imports(graph, BASE, LAYERS) == []


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    root = tmp_path / "toy"
    (root / "low").mkdir(parents=True)
    (root / "high").mkdir()
    (root / "__init__.py").write_text("")
    (root / "low" / "__init__.py").write_text("")
    (root / "high" / "__init__.py").write_text("")
    (root / "low" / "a.py").write_text("from toy.low import b\n")
    (root / "low" / "b.py").write_text(
        "def f():\n    from toy.low.a import x\n    from toy.high.c import y\n"
    )
    (root / "high" / "c.py").write_text("y = 1\n")
    graph = import_graph(root, "toy")
    assert cycles(graph) == [["toy.low.a", "toy.low.b"]]
    assert upward_imports(graph, {"toy"}, ("", "low", "high")) == ["toy.low.b -> toy.high.c"]


def dependency_order(graph: dict[str, set[str]]) -> list[str]:
    """The modules with every module after the modules it imports (the graph has no cycle)."""
    order: list[str] = []
    placed: set[str] = set()

    def place(module: str) -> None:
        if module in placed:
            return
        placed.add(module)
        for target in sorted(graph[module]):
            place(target)
        order.append(module)

    for module in sorted(graph):
        place(module)
    return order


def test_every_module_imports_in_dependency_order_in_a_fresh_interpreter() -> None:
    modules = [m for m in dependency_order(import_graph(PACKAGE, "rscbench")) if "__main__" not in m]
    script = f"import importlib\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
