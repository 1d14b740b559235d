"""Check the structure rules of issue 12 on ``src/armada`` (generated code excluded).

1. No module over 500 lines.
2. No class with an attribute first set outside ``__init__``: every ``self.x = ...`` in another
   method must name an attribute that ``__init__`` (or ``__post_init__``, or a base class found
   in ``src/armada``) sets, or that the class body declares (a dataclass field, an annotation,
   a class attribute). Otherwise its methods must be called in one order.
3. No import circle between modules, counting every import a module makes (also under
   ``TYPE_CHECKING`` and inside functions: each is a dependency all the same).

Known violations outside the change at hand are listed in ``scripts/structure_allowlist.txt``
(one per line, each with a comment saying why); an allowlisted entry that no longer occurs is
reported as a warning (not a failure, so that a fix landing never breaks ``make lint``), to be
removed so that the list only shrinks. Run: ``python scripts/check_structure.py``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_LINES = 500
INIT_METHODS = frozenset({"__init__", "__post_init__", "__new__"})
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT / "src" / "armada"
DEFAULT_ALLOWLIST = Path(__file__).resolve().parent / "structure_allowlist.txt"
EXCLUDED = ("rpc/gen",)


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: int
    is_package: bool


def load_modules(src: Path) -> dict[str, Module]:
    """Every module under ``src`` (a package directory), by dotted name."""
    modules: dict[str, Module] = {}
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        if any(rel.as_posix().startswith(prefix) for prefix in EXCLUDED):
            continue
        parts = [src.name, *rel.with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        text = path.read_text(encoding="utf-8")
        name = ".".join(parts)
        modules[name] = Module(
            name, path, ast.parse(text, str(path)), len(text.splitlines()), is_package
        )
    return modules


# -- 1. module length --------------------------------------------------------------------------
def long_modules(modules: dict[str, Module]) -> Iterator[tuple[str, str]]:
    for m in modules.values():
        if m.lines > MAX_LINES:
            yield f"lines {m.name}", f"{m.path}: {m.lines} lines (at most {MAX_LINES})"


# -- 2. attributes first set outside __init__ -------------------------------------------------
def _self_targets(node: ast.AST) -> Iterator[str]:
    """Attribute names assigned on ``self`` by an assignment target (tuples unpacked)."""
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            yield node.attr
    elif isinstance(node, ast.Tuple | ast.List):
        for elt in node.elts:
            yield from _self_targets(elt)
    elif isinstance(node, ast.Starred):
        yield from _self_targets(node.value)


def _assigned_on_self(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[str, int]]:
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for name in _self_targets(target):
                yield name, node.lineno


def _class_declared(cls: ast.ClassDef) -> set[str]:
    """Names the class body itself declares: fields, annotations, class attributes."""
    names: set[str] = set()
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
                elif isinstance(target, ast.Tuple):
                    names.update(e.id for e in target.elts if isinstance(e, ast.Name))
    return names


def _methods(cls: ast.ClassDef) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            yield stmt


def _base_names(cls: ast.ClassDef) -> list[str]:
    names = []
    for base in cls.bases:
        if isinstance(base, ast.Name):
            names.append(base.id)
        elif isinstance(base, ast.Attribute):
            names.append(base.attr)
    return names


def late_attributes(modules: dict[str, Module]) -> Iterator[tuple[str, str]]:
    classes: dict[str, list[ast.ClassDef]] = {}
    found: list[tuple[Module, ast.ClassDef]] = []
    for m in modules.values():
        for node in ast.walk(m.tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).append(node)
                found.append((m, node))

    own: dict[int, set[str]] = {}
    for _, cls in found:
        names = _class_declared(cls)
        for method in _methods(cls):
            if method.name in INIT_METHODS:
                names.update(name for name, _ in _assigned_on_self(method))
        own[id(cls)] = names

    def known(cls: ast.ClassDef, seen: frozenset[int] = frozenset()) -> set[str]:
        names = set(own[id(cls)])
        for base in _base_names(cls):
            for parent in classes.get(base, []):
                if id(parent) not in seen and parent is not cls:
                    names |= known(parent, seen | {id(cls)})
        return names

    for m, cls in found:
        names = known(cls)
        reported: set[str] = set()
        for method in _methods(cls):
            if method.name in INIT_METHODS:
                continue
            for name, line in _assigned_on_self(method):
                if name not in names and name not in reported:
                    reported.add(name)
                    yield (
                        f"attr {m.name}.{cls.name}.{name}",
                        f"{m.path}:{line}: {cls.name}.{name} first set in {method.name}(), "
                        "not in __init__",
                    )


# -- 3. import circles ---------------------------------------------------------------------------
def _imports(m: Module, modules: dict[str, Module]) -> set[str]:
    """The modules of ``modules`` that ``m`` imports (a name imported from a package counts
    as the submodule when there is one of that name, else as the package)."""
    package = m.name if m.is_package else m.name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif target in modules:
                    found.add(target)
    found.discard(m.name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return sorted(components)


def import_circles(modules: dict[str, Module]) -> Iterator[tuple[str, str]]:
    graph = {name: _imports(m, modules) for name, m in modules.items()}
    for component in _cycles(graph):
        members = set(component)
        edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
        yield f"cycle {' '.join(component)}", "import circle: " + "; ".join(edges)


# -- the check -----------------------------------------------------------------------------------
def read_allowlist(path: Path) -> set[str]:
    if not path.exists():
        return set()
    entries = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            entries.add(" ".join(line.split()))
    return entries


def violations(src: Path) -> dict[str, str]:
    modules = load_modules(src)
    found: dict[str, str] = {}
    for check in (long_modules, late_attributes, import_circles):
        found.update(check(modules))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC)
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST)
    parser.add_argument(
        "--list", action="store_true", help="print every violation as an allowlist entry"
    )
    args = parser.parse_args(argv)
    found = violations(args.src)
    if args.list:
        for key in sorted(found):
            print(key)
        return 0
    allowed = read_allowlist(args.allowlist)
    failures = [f"{found[key]}  [{key}]" for key in sorted(found) if key not in allowed]
    stale = sorted(allowed - set(found))
    for line in failures:
        print(line)
    for key in stale:
        print(f"warning: {args.allowlist.name}: '{key}' no longer occurs: remove the entry")
    if failures:
        print(f"{len(failures)} structure violation(s)")
        return 1
    print(f"structure ok ({len(allowed)} allowlisted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
