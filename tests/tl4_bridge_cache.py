"""What TransformerLens 4.3's ``TransformerBridge.run_with_cache`` holds, measured.

Imported by ``tests/test_planner_bridge_tl4.py`` in a subprocess with TransformerLens 4.3
first on the path (``tests/_tl4.py``): :func:`measure_all` takes a list of cases and
gives, for each, the cache of ``run_with_cache`` at every ``(batch, seq)`` pair (hook names
in the cache's order, shapes, dtypes, bytes), the memory the cache keeps alive (each storage once, not counting the model's own
parameters and buffers), and the same for a ``names_filter`` selecting each glob. One
process serves every case: TransformerLens takes seconds to import.

The bridge is the one ``transformer_presets.boot_bridge`` builds, called as a user calls
it (the preset's name, its overrides, the device and the dtype), so that the planner is
proved against what ``boot_bridge`` builds: the preset's exported ``config.json``, the
transformers model, ``TransformerBridge.boot_transformers``, eval mode.
"""

from __future__ import annotations

import fnmatch
import logging
import traceback
import warnings
from typing import Any

import torch

from transformer_presets import boot_bridge

logging.disable(logging.WARNING)
warnings.simplefilter("ignore")
torch.set_num_threads(1)


def _rows(cache: dict[str, torch.Tensor]) -> list[list[Any]]:
    return [
        [name, list(t.shape), str(t.dtype).removeprefix("torch."), t.numel() * t.element_size()]
        for name, t in cache.items()
    ]


def _held(cache: dict[str, torch.Tensor], model: Any) -> int:
    """Bytes the cache keeps alive: each storage once, but not the model's own tensors."""
    modules = [model, getattr(model, "original_model", model)]
    own = {t.untyped_storage().data_ptr() for m in modules for t in [*m.parameters(), *m.buffers()]}
    storages = {}
    for t in cache.values():
        storage = t.untyped_storage()
        if storage.data_ptr() not in own:
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def _ids(batch: int, seq: int, device: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(4, 40, (batch, seq), generator=generator).to(device)


def measure(case: dict[str, Any]) -> dict[str, Any]:
    device = case["device"]
    bridge = boot_bridge(case["name"], device=device, dtype=case["dtype"], **case["overrides"])
    out: dict[str, Any] = {"adapter": type(bridge.adapter).__name__, "pairs": {}}
    for batch, seq in case["pairs"]:
        _, cache = bridge.run_with_cache(_ids(batch, seq, device))
        found: dict[str, Any] = {"rows": _rows(cache)}
        if device != "meta":
            found["held"] = _held(cache, bridge)
            found["filtered"] = {}
            for glob in case["globs"]:
                _, part = bridge.run_with_cache(
                    _ids(batch, seq, device),
                    names_filter=lambda n, glob=glob: fnmatch.fnmatchcase(n, glob),
                )
                found["filtered"][glob] = [_rows(part), _held(part, bridge)]
        out["pairs"][f"{batch},{seq}"] = found
    return out


def measure_all(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Every case measured (or the error that stopped it), by the case's id."""
    results = {}
    for case in cases:
        try:
            results[case["id"]] = measure(case)
        except Exception as exc:  # reported to the test, which says whether it should fail
            results[case["id"]] = {
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=-4),
            }
    return results
