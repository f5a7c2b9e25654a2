"""Shared test set-up: no test reads or writes the real home directory."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the user config, data and cache folders at fresh temporary folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("TRANSFORMER_PRESETS_CACHE_DIR", str(home / "cache"))
    monkeypatch.delenv("TRANSFORMER_PRESETS_PATH", raising=False)
    monkeypatch.delenv("TRANSFORMER_PRESETS_NO_CACHE", raising=False)
    return home


@pytest.fixture
def user_presets(isolated_dirs: Path) -> Path:
    """The user preset folder (created empty)."""
    folder = isolated_dirs / "config" / "transformer-presets" / "presets"
    folder.mkdir(parents=True)
    return folder
