"""Whether this machine holds a model's weights: the check before a CPU build.

Linux hands out memory it does not have (overcommit) and kills the process that
touches too much of it: better a clear error before than the OOM killer after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import BridgeError

if TYPE_CHECKING:
    import torch

__all__ = ["available_memory", "check_memory", "weight_size"]


def weight_size(values: Mapping[str, Any], dtype: torch.dtype) -> str:
    """The size of the preset's weights in ``dtype``, in words."""
    from ..fields.params import total_params

    return "about " + _bytes(total_params(values) * dtype.itemsize)


def _bytes(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "bytes" else f"{size:.0f} bytes"
        size /= 1024
    raise AssertionError  # pragma: no cover


def check_memory(values: Mapping[str, Any], dtype: torch.dtype, name: str | None) -> None:
    """Refuse a CPU build whose weights alone exceed the memory available now."""
    from ..fields.params import total_params

    needed = total_params(values) * dtype.itemsize
    available = available_memory()
    if available is not None and needed > available:
        raise BridgeError(
            f"its weights take about {_bytes(needed)} in {str(dtype).removeprefix('torch.')}, "
            f"more than the {_bytes(available)} this machine has available: build it with "
            "device='meta' (no memory), on a GPU, or smaller (overrides such as n_layers=2)",
            preset=name,
            key="device",
        )


def available_memory() -> int | None:
    """The memory available for new allocations (Linux's MemAvailable), or None if unknown."""
    from ..common.fileio import read_regular

    try:
        text = read_regular("/proc/meminfo", 1 << 16).decode("ascii", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "MemAvailable:" and fields[1].isdigit():
            return int(fields[1]) * 1024
    return None
