"""Running code under TransformerLens 4.3, beside the 3.9 the test process imports.

TransformerLens 3.9 and 4.3 share their dependencies (torch, transformers) but not a
package name, so 4.3 lives in a folder of its own, installed with
``pip install --no-deps --target .tl4 'transformer-lens>=4.3,<5'`` (the README's test
command does it), and runs only in subprocesses that put that folder first on
``PYTHONPATH``. The folder is ``$TRANSFORMER_PRESETS_TEST_TL4``, else ``<repo>/.tl4``;
without it the tests that need 4.3 skip, saying so.

Data goes between the processes as files in the test's ``tmp_path``: JSON for results,
``torch.save`` for tensors. The subprocess runs offline (``HF_HUB_OFFLINE=1``), and with
``no_network=True`` it also refuses every socket and every child process but the local
tools libraries run to find shared libraries (``ldconfig``, ...), so a download (or a
``pip install``) anywhere in it fails the test instead of happening. That guard stays
even where the library has its own: TransformerLens 4.3 pip-installs torchvision when a
multimodal processor does not load (``sources/transformers/helpers.py``), which would
replace the environment's torch; ``boot_bridge`` disables that installer while it builds,
and a test that builds another way must not depend on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO

__all__ = ["TL4_ENV", "TL4_FOLDER", "requires_tl4", "run_tl4", "tl4_folder"]

#: The environment variable naming the folder TransformerLens 4 is installed in.
TL4_ENV = "TRANSFORMER_PRESETS_TEST_TL4"


def tl4_folder() -> tuple[Path | None, str]:
    """The folder holding TransformerLens 4 (or None), and why it is (or is not) used."""
    given = os.environ.get(TL4_ENV)
    folder = Path(given) if given else REPO / ".tl4"
    source = f"${TL4_ENV}" if given else "<repo>/.tl4"
    dist = sorted(folder.glob("transformer_lens-*.dist-info"))
    if not (folder / "transformer_lens" / "__init__.py").is_file() or not dist:
        return None, (
            f"TransformerLens 4 is not installed in {folder} ({source}): pip install "
            f"--no-deps --target .tl4 'transformer-lens>=4.3,<5' (or set {TL4_ENV})"
        )
    version = dist[-1].name.removeprefix("transformer_lens-").removesuffix(".dist-info")
    if int(version.split(".")[0]) < 4:
        return None, f"{folder} ({source}) holds transformer-lens {version}, not 4.x"
    return folder, f"transformer-lens {version} from {folder}"


TL4_FOLDER, _WHY = tl4_folder()
#: Skips a test, naming why, when TransformerLens 4 is not there.
requires_tl4 = pytest.mark.skipif(TL4_FOLDER is None, reason=_WHY)

# Run first in every subprocess: results go to $TL4_RESULT, and with no_network every
# socket and child process is refused.
_PRELUDE = """
import json, os, sys, warnings
warnings.filterwarnings("ignore")

def emit(value):
    with open(os.environ["TL4_RESULT"], "w", encoding="utf-8") as f:
        json.dump(value, f)

if os.environ.get("TL4_NO_NETWORK") == "1":
    import socket, subprocess

    def _refuse(*args, **kwargs):
        raise OSError("network access refused in this test")

    # Local tools that libraries run to find shared libraries or devices; anything else
    # (pip, uv, git, curl, a Python) is refused.
    _LOCAL_TOOLS = {"ldconfig", "gcc", "cc", "ld", "objdump", "uname", "nvidia-smi"}
    _popen = subprocess.Popen.__init__

    def _no_child(self, args, *more, **kwargs):
        argv = [args] if isinstance(args, (str, bytes)) else list(args)
        program = os.path.basename(os.fsdecode(argv[0]).split()[0]) if argv else ""
        if program not in _LOCAL_TOOLS:
            raise OSError(f"starting {program!r} refused in this test: {argv!r}")
        _popen(self, args, *more, **kwargs)

    def _no_system(*args, **kwargs):
        raise OSError(f"os.system and spawning refused in this test: {args!r}")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse
    subprocess.Popen.__init__ = _no_child
    os.system = _no_system
    os.posix_spawn = _no_system
    os.posix_spawnp = _no_system
"""


def run_tl4(
    code: str,
    tmp_path: Path,
    *,
    no_network: bool = False,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> Any:
    """Run ``code`` under TransformerLens 4 and return what it passed to ``emit(value)``.

    A failing subprocess fails the test with its output.
    """
    assert TL4_FOLDER is not None, _WHY
    result = tmp_path / "tl4-result.json"
    result.unlink(missing_ok=True)
    path = [str(TL4_FOLDER), str(REPO / "src"), str(REPO)]
    full_env = {
        **os.environ,
        **(env or {}),
        "PYTHONPATH": os.pathsep.join(path),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TL4_RESULT": str(result),
        "TL4_NO_NETWORK": "1" if no_network else "0",
        # Tiny models run faster on one thread, and the machine's cores are shared.
        "OMP_NUM_THREADS": "1",
    }
    script = tmp_path / "tl4-script.py"
    script.write_text(_PRELUDE + "\n" + textwrap.dedent(code), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    if proc.returncode != 0 or not result.exists():
        pytest.fail(
            f"the TransformerLens 4 subprocess failed ({proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return json.loads(result.read_text(encoding="utf-8"))
