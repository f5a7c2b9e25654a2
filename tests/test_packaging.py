"""The built wheel carries the bundled presets, and an installed copy finds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the venv's setuptools builds it, with no download.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stdout}\n{result.stderr}")
    (found,) = out.glob("transformer_presets-*.whl")
    return found


def test_wheel_holds_every_bundled_preset_file_and_py_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"transformer_presets/presets/{p.name}" for p in (REPO / "presets").glob("*.toml")}
    assert expected and expected <= names
    assert "transformer_presets/py.typed" in names
    assert "transformer_presets/preset.schema.json" in names


def test_installed_copy_finds_its_presets(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import json, transformer_presets as tp\n"
        "from transformer_presets.files.sources import bundled_dir\n"
        "print(json.dumps([str(bundled_dir()), len(tp.list_presets()), tp.resolve_preset('gpt2-small')['d_model']]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "TRANSFORMER_PRESETS_NO_CACHE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    where, count, d_model = json.loads(result.stdout)
    assert Path(where) == site / "transformer_presets" / "presets"
    assert count == 249 and d_model == 768
