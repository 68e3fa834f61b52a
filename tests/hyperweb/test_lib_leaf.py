"""hyperweb.lib is the shared leaf: it imports the standard library and nothing of hyperweb's apps
(nor Django), so every app may import it and it can never close a cycle."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "hyperweb" / "lib"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_the_lib_imports_only_the_standard_library_and_itself() -> None:
    modules = sorted(LIB.glob("*.py"))
    assert {p.stem for p in modules} >= {"__init__", "timefmt", "durations", "units", "csvstream"}
    for path in modules:
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = (
                top in sys.stdlib_module_names or name.startswith("hyperweb.lib") or name == "__future__"
            )
            assert allowed, f"{path.name} imports {name}: hyperweb/lib must stay a leaf"
