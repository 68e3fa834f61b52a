#!/usr/bin/env python3
"""Fail when modules of hyperweb's packages import each other in a cycle (`make lint` runs this).

An import inside a function still closes a cycle: it only hides it from start-up. The graph is
import-linter's (grimp reads every import statement, in functions too; imports under
`if TYPE_CHECKING:` are left out, as they never run), over the packages of pyproject.toml's
[tool.importlinter] root_packages. Each cycle is printed with the imports that close it.

KNOWN holds the cycles still being untangled, each with who is on it. A known cycle that no
longer exists fails the check too, so the list only shrinks.

Usage: scripts/import_cycles.py [ROOT]   (ROOT: the repository, default this script's parent's)
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import grimp

# Empty since issue 12: every cycle the review found is gone. An entry is a frozenset of modules
# and a note saying who is untangling it.
KNOWN: dict[frozenset[str], str] = {}


def find_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            descended = False
            for i in range(position, len(edges[node])):
                child = edges[node][i]
                if child not in index:
                    work.append((node, i + 1))
                    work.append((child, 0))
                    descended = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if descended:
                continue
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
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(found)


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    lines = [" <-> ".join(cycle)]
    for importer in cycle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported in cycle:
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    lines.append(f"    {importer}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[1]).resolve() if len(argv) > 1 else Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())
    packages = config["tool"]["importlinter"]["root_packages"]
    sys.path.insert(0, str(root))
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True, cache_dir=None)
    cycles = find_cycles(graph)
    new = [cycle for cycle in cycles if frozenset(cycle) not in KNOWN]
    gone = [sorted(known) for known in KNOWN if list(sorted(known)) not in cycles]
    for cycle in new:
        print(f"import cycle: {describe(graph, cycle)}")
    for cycle in gone:
        print(f"no longer a cycle, remove it from KNOWN in {Path(__file__).name}: {' <-> '.join(cycle)}")
    for cycle in cycles:
        if frozenset(cycle) in KNOWN:
            print(f"known import cycle ({KNOWN[frozenset(cycle)]}): {' <-> '.join(cycle)}")
    if new or gone:
        return 1
    print(f"no new import cycle in {', '.join(packages)} ({len(graph.modules)} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
