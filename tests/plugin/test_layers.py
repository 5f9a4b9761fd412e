"""The folder tree is the layering (docs/architecture.md), computed from the source with ``ast``: each module
imports only its own layer or lower ones, no two modules of ``pytest_drlreward`` or ``panda_env`` import each
other in a circle, and few modules sit at the top of ``pytest_drlreward``.

Every import counts, module-level and inside functions (a function-level import is a circle deferred, not
gone), ``import_module("...")`` calls included; ``if TYPE_CHECKING:`` imports count too (they are read by the
type checker, which follows the same graph). A package's ``__init__`` counts as one module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pytest_drlreward", "panda_env")
MAX_TOP_MODULES = 8

# pytest_drlreward's layers, lowest first: the first part of a module's path below the package -> its layer.
LAYERS = {
    "errors": 0, "defaults": 0, "util": 0,                     # shared: standard library and numpy
    "classifier": 1, "backends": 1, "env": 1,                  # core: the format, the engines, the user's env/agent
    "checks": 2, "timing": 2, "strategies": 2, "audit": 2,     # core: the checks, no pytest
    "replay": 2, "__init__": 2,
    "plugin": 3, "suite": 3,                                   # the pytest side
}
LAYER_NAMES = ("shared", "core", "checks", "pytest side")


def module_files(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``packages`` (a package's ``__init__`` by its name)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _targets(node: ast.AST, name: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = name.split(".")[: len(name.split(".")) - (node.level - (1 if is_package else 0))]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        return [f"{module}.{alias.name}" for alias in node.names] + [module]
    if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")):
        return [node.args[0].value]
    return []


def import_graph(sources: dict[str, str], packages: set[str]) -> dict[str, set[str]]:
    """Module -> the modules among ``sources`` it imports (``from p import m`` names module ``p.m`` where it is one,
    else ``p``); ``sources`` maps a dotted name to its source (names in ``packages`` are packages)."""
    graph: dict[str, set[str]] = {}
    for name, source in sources.items():
        edges = set()
        for node in ast.walk(ast.parse(source)):
            targets = _targets(node, name, name in packages)
            if isinstance(node, ast.ImportFrom):  # the imported names that are modules, else the module itself
                modules = [t for t in targets[:-1] if t in sources]
                targets = modules or targets[-1:]
            for target in targets:
                while target and target not in sources:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def layer_of(module: str) -> int | None:
    """The layer of a ``pytest_drlreward`` module (None for other packages' modules)."""
    parts = module.split(".")
    if parts[0] != "pytest_drlreward":
        return None
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a higher layer, and every import of ``panda_env`` from ``pytest_drlreward``."""
    problems = []
    for module, imported in sorted(graph.items()):
        own = layer_of(module)
        if own is None:
            continue
        for target in sorted(imported):
            theirs = layer_of(target)
            if theirs is None:
                problems.append(f"{module} imports {target} (pytest_drlreward never imports panda_env)")
            elif theirs > own:
                problems.append(f"{module} ({LAYER_NAMES[own]}) imports {target} ({LAYER_NAMES[theirs]})")
    return problems


def _real_graph() -> dict[str, set[str]]:
    files = module_files(ROOT)
    packages = {name for name, path in files.items() if path.name == "__init__.py"}
    return import_graph({name: path.read_text() for name, path in files.items()}, packages)


def test_every_pytest_drlreward_module_has_a_layer_and_imports_only_its_own_or_lower_ones():
    graph = _real_graph()
    assert {"pytest_drlreward.plugin", "pytest_drlreward.util.atomic", "panda_env.bench.tune"} <= set(graph)
    unplaced = sorted(m for m in graph if m.startswith("pytest_drlreward.") and m.split(".")[1] not in LAYERS)
    assert not unplaced, f"modules in no layer (add them to LAYERS and docs/architecture.md): {unplaced}"
    assert not layer_violations(graph), "\n".join(layer_violations(graph))


def test_no_import_circle_in_either_package():
    graph = _real_graph()
    assert "pytest_drlreward.classifier.listing" in graph["pytest_drlreward.classifier.directory"]  # edges were read
    assert not cycles(graph), cycles(graph)


def test_few_modules_at_the_top_of_pytest_drlreward():
    top = sorted(p.stem for p in (ROOT / "pytest_drlreward").glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_MODULES, top
    assert (ROOT / "pytest_drlreward" / "plugin" / "__init__.py").is_file()  # the pytest11 entry point's module


def test_the_checks_catch_a_circle_an_upward_import_and_panda_env():
    sources = {
        "pytest_drlreward.util.a": "def f():\n    from pytest_drlreward.checks import b\n",  # deferred: still counts
        "pytest_drlreward.checks": "from . import b\n",
        "pytest_drlreward.checks.b": "import importlib\nimportlib.import_module('pytest_drlreward.util.a')\n",
        "pytest_drlreward.env.c": "from pytest_drlreward.plugin import d\nimport panda_env\n",
        "pytest_drlreward.plugin": "",
        "pytest_drlreward.plugin.d": "from ..env import c\n",
        "panda_env": "",
    }
    packages = {"pytest_drlreward.checks", "pytest_drlreward.plugin", "panda_env"}
    graph = import_graph(sources, packages)
    assert graph["pytest_drlreward.checks"] == {"pytest_drlreward.checks.b"}
    assert graph["pytest_drlreward.plugin.d"] == {"pytest_drlreward.env.c"}
    assert cycles(graph) == [["pytest_drlreward.checks.b", "pytest_drlreward.util.a"],
                             ["pytest_drlreward.env.c", "pytest_drlreward.plugin.d"]]
    assert layer_violations(graph) == [
        "pytest_drlreward.env.c imports panda_env (pytest_drlreward never imports panda_env)",
        "pytest_drlreward.env.c (core) imports pytest_drlreward.plugin.d (pytest side)",
        "pytest_drlreward.util.a (shared) imports pytest_drlreward.checks.b (checks)",
    ]
