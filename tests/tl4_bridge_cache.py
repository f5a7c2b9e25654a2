"""What TransformerLens 4.3's ``TransformerBridge.run_with_cache`` holds, measured.

Imported by ``tests/test_planner_bridge_tl4.py`` in a subprocess with TransformerLens 4.3
first on the path (``tests/_tl4.py``): :func:`measure_all` takes a list of cases and
gives, for each, the cache of ``run_with_cache`` at every ``(batch, seq)`` pair (hook names
in the cache's order, shapes, dtypes, bytes, and on a real device which earlier hook holds
the very same tensor), the memory the cache keeps alive (each storage once, not counting
the model's own parameters and buffers), the same for a ``names_filter`` selecting each
glob (or list of globs), and which layers' rotary table the model-level
``rotary_emb.hook_cos`` holds with the order this process's Python iterates the set of
the model's attention types in (transformers computes one table per type in that order).
One process serves every case: TransformerLens takes seconds to import.

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


def _identity(t: torch.Tensor) -> tuple[Any, ...]:
    """What makes two cached tensors one: the same elements of one storage, in any shape
    (the cache keeps detached views; the bridge reshapes a projection's output for its norm)."""
    return (t.untyped_storage().data_ptr(), t.storage_offset(), t.numel(), t.dtype)


def _rows(cache: dict[str, torch.Tensor], identity: bool) -> list[list[Any]]:
    """[name, shape, dtype, bytes] of every cached tensor, in order, and with ``identity``
    the first hook holding the same tensor (None for the first)."""
    first: dict[tuple[Any, ...], str] = {}
    out = []
    for name, t in cache.items():
        row = [
            name,
            list(t.shape),
            str(t.dtype).removeprefix("torch."),
            t.numel() * t.element_size(),
        ]
        if identity:
            holder = first.setdefault(_identity(t), name)
            row.append(None if holder == name else holder)
        out.append(row)
    return out


def _rotary(cache: dict[str, torch.Tensor], bridge: Any) -> dict[str, Any] | None:
    """The layers whose rotary table the model-level hook holds, the model's attention
    types, and the order a set of them iterates in in this process."""
    config = bridge.original_model.config
    types = getattr(getattr(config, "text_config", None) or config, "layer_types", None)
    if "rotary_emb.hook_cos" not in cache or not types:
        return None
    held = _identity(cache["rotary_emb.hook_cos"])
    layers = [i for i in range(len(types)) if _identity(cache[f"blocks.{i}.attn.hook_cos"]) == held]
    return {"layer_types": list(types), "set_order": list(set(types)), "layers": layers}


def _matcher(glob: str | list[str]) -> Any:
    globs = [glob] if isinstance(glob, str) else glob
    return lambda name: any(fnmatch.fnmatchcase(name, g) for g in globs)


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
    real = device != "meta"  # a meta tensor has no storage
    for batch, seq in case["pairs"]:
        _, cache = bridge.run_with_cache(_ids(batch, seq, device))
        found: dict[str, Any] = {"rows": _rows(cache, real)}
        if real:
            found["held"] = _held(cache, bridge)
            found["rotary"] = _rotary(cache, bridge)
            found["filtered"] = []
            for glob in case["globs"]:
                _, part = bridge.run_with_cache(
                    _ids(batch, seq, device), names_filter=_matcher(glob)
                )
                found["filtered"].append([glob, _rows(part, False), _held(part, bridge)])
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
