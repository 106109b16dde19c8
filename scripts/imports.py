"""Prints who imports whom in the package, Python and Rust, and fails on a cycle.

    python scripts/imports.py

Python: every module of ``python/stealpool`` and the modules of the package
it imports, wherever the import stands (``TYPE_CHECKING`` blocks and
function bodies count: a cycle there is still two modules that need each
other's insides). A package's ``__init__`` is not an edge: importing any
submodule runs it first, which says nothing about the design.

Rust: every module of ``src`` and the modules of the crate its paths name
(``use crate::...``, ``super::...``, ``self::...``, anywhere in the code; in a
``mod.rs`` or ``lib.rs`` also its own children by name). A path to an item
re-exported by a parent module counts as an edge to that parent, whose
re-export is in turn an edge to the child that defines it.

Exit status 1, with each cycle printed, if any modules import each other in
a circle; ``scripts/lint`` runs this.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "python" / "stealpool"
CRATE = ROOT / "src"

Graph = dict[str, set[str]]


def python_module_names(package: Path) -> dict[str, Path]:
    """Dotted names relative to the package ("_executor", "bench.cli"; a
    package is its own name, the top one ""), for .py and .pyi files."""
    modules: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py*")):
        if path.suffix not in (".py", ".pyi"):
            continue
        parts = list(path.relative_to(package).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.setdefault(".".join(parts), path)
    return modules


def python_graph(package: Path) -> Graph:
    modules = python_module_names(package)
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.stem == "__init__"
        for imported in imported_python_modules(ast.parse(path.read_text()), name, is_package, package.name):
            target = nearest_module(imported, modules)
            if target is not None and target != name and not is_ancestor(target, name):
                graph[name].add(target)
    return graph


def imported_python_modules(tree: ast.Module, name: str, is_package: bool, top: str) -> Iterator[str]:
    """Each imported name that may be a module of the package, relative to it."""
    here = name.split(".") if name else []
    if not is_package:
        here = here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == top or alias.name.startswith(top + "."):
                    yield alias.name[len(top) + 1 :]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1] + (node.module.split(".") if node.module else [])
            elif node.module == top or (node.module or "").startswith(top + "."):
                base = node.module.split(".")[1:]  # type: ignore[union-attr]
            else:
                continue
            # `from .x import y`: y may be the module x.y, else a name in x.
            for alias in node.names:
                yield ".".join([*base, alias.name])


def nearest_module(dotted: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``dotted`` that is a module."""
    parts = dotted.split(".") if dotted else []
    for end in range(len(parts), -1, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def is_ancestor(package: str, module: str) -> bool:
    return package == "" or module.startswith(package + ".")


RUST_PATH = re.compile(r"\b(?:crate|super|self)(?:::(?:\w+|\{(?:[^{}]|\{[^{}]*\})*\}))+")
LINE_COMMENT = re.compile(r"//.*")


def rust_module_paths(crate: Path) -> dict[tuple[str, ...], Path]:
    """Module paths of the crate's files: lib.rs is (), a/mod.rs and a.rs are ("a",)."""
    modules: dict[tuple[str, ...], Path] = {}
    for path in sorted(crate.rglob("*.rs")):
        parts = path.relative_to(crate).with_suffix("").parts
        if parts[-1] in ("lib", "mod"):
            parts = parts[:-1]
        modules[parts] = path
    return modules


def expand_rust_path(path: str) -> Iterator[list[str]]:
    """``super::{a, b::{c, d}}`` -> [super, a], [super, b, c], [super, b, d]."""
    head, brace, rest = path.partition("::{")
    segments = head.split("::")
    if not brace:
        yield segments
        return
    for item in split_top_level(rest[:-1]):
        for tail in expand_rust_path(item.strip()):
            yield segments + tail


def split_top_level(items: str) -> Iterator[str]:
    depth, start = 0, 0
    for index, char in enumerate(items):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            yield items[start:index]
            start = index + 1
    yield items[start:]


def rust_graph(crate: Path) -> Graph:
    modules = rust_module_paths(crate)
    graph: Graph = {"::".join(module): set() for module in modules}
    for module, path in modules.items():
        owns_children = path.name in ("lib.rs", "mod.rs")
        code = LINE_COMMENT.sub("", path.read_text())
        referenced = [segments for found in RUST_PATH.findall(code) for segments in expand_rust_path(found)]
        if owns_children:
            children = {child[-1] for child in modules if child[:-1] == module and child != module}
            for child in children:
                referenced += [["self", child] for _ in re.finditer(rf"(?<![\w:]){child}::", code)]
        for segments in referenced:
            target = resolve_rust_path(module, segments, modules)
            if target is not None and target != module:
                graph["::".join(module)].add("::".join(target))
    return graph


def resolve_rust_path(
    module: tuple[str, ...], segments: list[str], modules: dict[tuple[str, ...], Path]
) -> tuple[str, ...] | None:
    """The module that a path beginning with crate, super or self leads to
    (a/mod.rs and a.rs are both module a: super is a's parent, self is a)."""
    here = module
    base: tuple[str, ...]
    rest = list(segments)
    while rest and rest[0] in ("crate", "super", "self"):
        first = rest.pop(0)
        if first == "crate":
            base = ()
        elif first == "self":
            base = here
        else:
            base = here[:-1]
        here = base
    found: tuple[str, ...] | None = here if here in modules else None
    for segment in rest:
        candidate = (*here, segment)
        if candidate not in modules:
            break
        here = found = candidate
    return found


def circles(graph: Graph) -> list[list[str]]:
    """Each group of modules that import each other in a circle, directly
    or through one another (the strongly connected components, Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

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
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def cycle_within(graph: Graph, group: set[str]) -> list[str]:
    """A path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                frontier.append(target)
    raise AssertionError("a strongly connected group has a cycle")


def report(title: str, top: str, graph: Graph) -> bool:
    print(f"{title}:")
    for module in sorted(graph):
        print(f"  {module or top} -> {', '.join(sorted(graph[module])) or '-'}")
    found = circles(graph)
    for group in found:
        print(f"  CYCLE among {', '.join(group)}: {' -> '.join(cycle_within(graph, set(group)))}")
    if not found:
        print("  no cycle")
    return not found


def main() -> int:
    python_ok = report("python/stealpool (imports, TYPE_CHECKING included)", "(package)", python_graph(PACKAGE))
    rust_ok = report("src (Rust modules: crate::, super::, self:: paths)", "(crate)", rust_graph(CRATE))
    return 0 if python_ok and rust_ok else 1


if __name__ == "__main__":
    sys.exit(main())
