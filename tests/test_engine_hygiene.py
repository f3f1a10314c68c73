"""The engine's own rules: layering between its modules, and the solver's caches."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "costmodel"


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_engine_module_imports_the_cli():
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m == "costmodel.cli" or m.startswith("costmodel.cli."))
        for path in ENGINE.glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
