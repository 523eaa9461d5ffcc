"""Who may import whom: training and ops both use tooling; tooling uses neither, and training never
uses ops (CodeBuild's source archive holds training and tooling, not ops)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def imported_packages(package: str) -> set[str]:
    """The top-level names every module of `package` imports (relative imports are its own)."""
    names: set[str] = set()
    for path in (REPOSITORY / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_tooling_needs_only_the_standard_library() -> None:
    outside = imported_packages("tooling") - set(sys.stdlib_module_names) - {"tooling"}
    assert outside == set()


def test_training_does_not_import_ops() -> None:
    assert "ops" not in imported_packages("training")
