"""The device a config built on this machine will hold, and why, without importing torch.

``HookedTransformerConfig`` picks ``"cuda"`` when ``torch.cuda.is_available()``,
else ``"mps"`` when Apple's Metal backend is there, else ``"cpu"``. Importing
torch to ask costs a second or two, more than ``explain`` itself; so when torch
is not imported yet, this reads what decides the answer: whether the installed
torch was built with CUDA or ROCm (its ``version.py``), whether a GPU is
visible (``CUDA_VISIBLE_DEVICES``, the NVIDIA and AMD device files), and
whether this is Apple silicon. When torch is already imported, it asks torch, and
gives the predicted reason whenever torch agrees with it, so the answer does not
depend on whether something imported torch earlier in the process.
"""

from __future__ import annotations

import os
import re
import sys

__all__ = ["predicted_device"]


def predicted_device() -> tuple[str, str]:
    """``(device, why)``: what a config built here now gets for ``device``, and the reason.

    >>> device, why = predicted_device()
    >>> device in ("cuda", "mps", "cpu") and bool(why)
    True
    """
    predicted = _predict()
    torch = sys.modules.get("torch")
    if torch is None:
        return predicted
    if torch.cuda.is_available():
        actual = "cuda", "torch sees a CUDA device"
    else:
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available() and mps.is_built():
            actual = "mps", "torch sees Apple's Metal (MPS) backend"
        else:
            actual = "cpu", "torch sees no CUDA or MPS device"
    # Same device, same words: only a wrong prediction shows torch's own reason.
    return predicted if predicted[0] == actual[0] else actual


def _predict() -> tuple[str, str]:
    build = _torch_build()
    if build is None:
        return "cpu", "torch is not installed here (building a config needs it)"
    if sys.platform == "darwin":
        if os.uname().machine == "arm64":
            return "mps", "Apple silicon, where torch offers the Metal (MPS) backend"
        return "cpu", "an Intel Mac: torch has no CUDA or MPS device there"
    if build == "cpu":
        return "cpu", "the installed torch is a CPU build"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return "cpu", f"a {build} build of torch, but CUDA_VISIBLE_DEVICES hides every GPU"
    if _gpu_visible(build):
        return "cuda", f"a {build} build of torch, and a GPU is visible"
    return "cpu", f"a {build} build of torch, but no GPU is visible"


def _torch_build() -> str | None:
    """``"CUDA"``, ``"ROCm"`` or ``"cpu"`` for the installed torch, or None if there is none."""
    from importlib.util import find_spec

    try:
        spec = find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    version_file = os.path.join(next(iter(spec.submodule_search_locations)), "version.py")
    try:
        with open(version_file, encoding="utf-8") as f:
            text = f.read(10_000)
    except OSError:
        return "cpu"
    # torch/version.py: `cuda: Optional[str] = '12.1'` (or None), likewise `hip`.
    for name, label in (("cuda", "CUDA"), ("hip", "ROCm")):
        if re.search(rf"^{name}\s*(?::[^=]*)?=\s*['\"]", text, re.MULTILINE):
            return label
    return "cpu"


def _gpu_visible(build: str) -> bool:
    if build == "ROCm":
        return os.path.exists("/dev/kfd")
    if os.path.exists("/dev/nvidia0"):
        return True
    try:
        return bool(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:
        return False
