"""Shared test set-up: no test reads or writes the real home directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


def python_c(code: str, *, timeout: float = 120) -> str:
    """``python -c code`` in a fresh interpreter, the checkout's ``src`` first on its path
    and this test's environment (its temporary folders) around it: its output, or the
    test fails with its error output."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the session (per xdist worker).

    The cache is keyed on the exact source files, so sharing it between tests
    cannot leak one test's presets into another; it only spares each test from
    parsing the whole bundled zoo again. Tests of the cache itself use their own.
    """
    return tmp_path_factory.mktemp("shared-cache")


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    shared_cache_dir: Path,
) -> Path:
    """Point the user config and data folders at fresh temporary folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("TRANSFORMER_PRESETS_CACHE_DIR", str(shared_cache_dir))
    monkeypatch.delenv("TRANSFORMER_PRESETS_PATH", raising=False)
    monkeypatch.delenv("TRANSFORMER_PRESETS_NO_CACHE", raising=False)
    return home


@pytest.fixture
def user_presets(isolated_dirs: Path) -> Path:
    """The user preset folder (created empty)."""
    folder = isolated_dirs / "config" / "transformer-presets" / "presets"
    folder.mkdir(parents=True)
    return folder
