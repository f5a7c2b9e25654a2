"""The package's import graph: layered as pyproject.toml says, without loops, and with a
face (``transformer_presets/__init__.py``) that nothing inside the package imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

grimp = pytest.importorskip("grimp", reason="import-linter is in the test extra")
PACKAGE = "transformer_presets"


@pytest.fixture(scope="module")
def graph() -> object:
    return grimp.build_graph(PACKAGE, include_external_packages=False)


def test_lint_imports_keeps_every_contract() -> None:
    command = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(command) if command.exists() else "lint-imports"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_nothing_inside_the_package_imports_its_face(graph: object) -> None:
    importers = graph.find_modules_that_directly_import(PACKAGE)  # type: ignore[attr-defined]
    assert sorted(importers) == []


def test_no_modules_import_each_other_in_a_loop(graph: object) -> None:
    modules = sorted(graph.modules)  # type: ignore[attr-defined]
    imports = {m: graph.find_modules_directly_imported_by(m) for m in modules}  # type: ignore[attr-defined]
    # Depth-first search for a back edge; the package's face only hands names on.
    state: dict[str, int] = {}
    loops = []

    def visit(start: str) -> None:
        stack = [(start, iter(sorted(imports[start])))]
        state[start] = 1
        path = [start]
        while stack:
            module, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[module] = 2
                stack.pop()
                path.pop()
                continue
            if child == PACKAGE:
                continue
            if state.get(child) == 1:
                loops.append([*path[path.index(child) :], child])
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(imports[child]))))

    for module in modules:
        if module not in state and module != PACKAGE:
            visit(module)
    assert loops == []
