"""The import graph of greensearch: no cycle between its modules, no arrow into the CLI.

Every import counts, the ones inside functions too: a lazy import that closes a cycle
says a concept sits in the wrong package (STYLE.md section 2).
"""

from __future__ import annotations

import ast
from pathlib import Path

import greensearch

ROOT = Path(greensearch.__file__).parent
CLI = "greensearch.cli"
#: The CLI and its ``python -m greensearch`` door: the only modules that may import it.
_CLI_SIDE = ("greensearch.__main__", CLI)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """The greensearch module that ``name`` is, or that defines it (longest prefix)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the greensearch modules it imports anywhere in its body (itself excluded).

    ``from package import name`` points at ``package.name`` where that is a module, else at
    ``package``; importing ``a.b.c`` also runs ``a`` and ``a.b``, but those edges are the
    packages' own imports, so only the named module counts.
    """
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(name, path.name == "__init__.py", node)
                targets = [f"{source}.{alias.name}" for alias in node.names] or [source]
            else:
                continue
            for target in targets:
                if not target.startswith("greensearch"):
                    continue
                found = _target(target, modules)
                if found is not None and found != name:
                    edges.add(found)
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def _is_package_init(name: str) -> bool:
    return (ROOT.parent / name.replace(".", "/") / "__init__.py").exists()


def test_graph_sees_lazy_imports():
    """The graph includes an import made inside a function (``greensearch.optimize``)."""
    assert "greensearch.search._study" in import_graph()["greensearch"]


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_modules():
    cycle = _cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_between_packages():
    graph = import_graph()
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        here = _package(module)
        for target in targets:
            there = _package(target)
            if there != here:
                packages.setdefault(here, set()).add(there)
    cycle = _cycle(packages)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])


def _package(module: str) -> str:
    """``greensearch.search._study`` -> ``greensearch.search``; root modules stay."""
    parts = module.split(".")
    if len(parts) >= 2 and _is_package_init(".".join(parts[:2])):
        return ".".join(parts[:2])
    return module


def test_nothing_below_the_cli_imports_it():
    arrows = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if not _in_cli(module)
        for target in targets
        if _in_cli(target)
    )
    assert arrows == []


def _in_cli(module: str) -> bool:
    return any(module == side or module.startswith(side + ".") for side in _CLI_SIDE)
