"""Where TransformerLens 4 is for the tests, and how they run it.

TransformerLens 4.3 and 3.9 share their dependencies but not a package name, so 4.3 is
installed apart (``pip install --no-deps --target .tl4 'transformer-lens>=4.3,<5'``) and
only ever runs in a subprocess with that folder first on ``sys.path``. The folder is
``$TRANSFORMER_PRESETS_TEST_TL4``, else ``<repo>/.tl4``; without it the tests that need
it skip, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def tl4_folder() -> Path | None:
    """The folder holding TransformerLens 4's ``transformer_lens`` package, or None."""
    folder = Path(os.environ.get("TRANSFORMER_PRESETS_TEST_TL4") or REPO / ".tl4")
    return folder if (folder / "transformer_lens" / "__init__.py").is_file() else None


def require_tl4() -> Path:
    """The TransformerLens 4 folder; skips the calling test (or module) without it."""
    folder = tl4_folder()
    if folder is None:
        pytest.skip(
            "TransformerLens 4 is not installed beside 3.9: pip install --no-deps "
            "--target .tl4 'transformer-lens>=4.3,<5' (or set TRANSFORMER_PRESETS_TEST_TL4)",
            allow_module_level=True,
        )
    return folder


def tl4_env(folder: Path) -> dict[str, str]:
    """The environment of a TransformerLens 4 subprocess: offline, installing nothing.

    TransformerLens 4.3 pip-installs torchvision when a multimodal processor fails to
    load (``sources/transformers/helpers.py``, ``_ensure_torchvision``), which would
    replace the environment's torch; pip is pointed at nothing, the hub is offline.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(folder), *filter(None, [env.get("PYTHONPATH")])]),
        PIP_NO_INDEX="1",
        PIP_CONFIG_FILE=os.devnull,
        UV_OFFLINE="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
    )
    return env


def run_tl4(script: Path, job: Any, *, timeout: float = 600) -> Any:
    """Run ``script`` under TransformerLens 4 with ``job`` as JSON on stdin; its JSON answer."""
    folder = require_tl4()
    done = subprocess.run(
        [sys.executable, str(script)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=tl4_env(folder),
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"{script.name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)
