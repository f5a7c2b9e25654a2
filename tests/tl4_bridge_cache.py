"""What TransformerLens 4.3's ``TransformerBridge.run_with_cache`` holds, measured.

Imported by ``tests/test_planner_bridge_tl4.py`` in a subprocess with TransformerLens 4.3
first on the path (``tests/_tl4.py``): :func:`measure_all` takes a list of cases and
gives, for each, the cache of ``run_with_cache`` at every ``(batch, seq)`` pair (hook names in the
cache's order, shapes, dtypes, bytes), the memory the cache keeps alive (each storage once,
not counting the model's own parameters and buffers), and the same for a ``names_filter``
selecting each glob. One process serves every case: TransformerLens takes seconds to import.

:func:`build_bridge` is the one place that builds a bridge: today as ``boot_bridge`` does
(the preset's exported ``config.json`` in a temporary folder with a stand-in tokenizer,
the transformers model built from it in the dtype with eager attention, then
``TransformerBridge.boot_transformers(folder, hf_model=..., load_weights=False)``); once
``transformer_presets.boot_bridge`` exists, it is that call.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import tempfile
import traceback
import warnings
from typing import Any

import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers
from transformer_lens.model_bridge import TransformerBridge
from transformer_lens.model_bridge.sources.transformers import helpers

from transformer_presets import resolve_preset, to_hf_config

# TransformerLens 4.3 pip-installs torchvision when a multimodal processor does not load;
# never here (tests/_tl4.py also points pip at nothing).
helpers._ensure_torchvision = lambda: False  # type: ignore[attr-defined]
logging.disable(logging.WARNING)
warnings.simplefilter("ignore")
torch.set_num_threads(1)


def _stand_in_tokenizer(folder: str) -> None:
    """A tokenizer TransformerLens can load offline: it reloads one from the folder."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<pad>": 3}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                **{"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>"},
                **{"pad_token": "<pad>", "model_max_length": 1_000_000},
            },
            f,
        )


class BridgeError(Exception):
    """What ``boot_bridge`` raises for a model it does not build (remote code)."""


def build_bridge(values: dict[str, Any], dtype: torch.dtype, device: str) -> Any:
    """The bridge ``boot_bridge`` builds for a preset's values, in ``dtype`` on ``device``."""
    config = to_hf_config(values)
    if "auto_map" in config:  # boot_bridge runs no code from a model's repository
        raise BridgeError(f"{config['architectures'][0]} needs trust_remote_code")
    if "vision_config" in config:
        # Gemma 3's image tower never runs on text; a tiny one spares seconds per build.
        config["vision_config"].update(
            hidden_size=16, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2
        )
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f)
        _stand_in_tokenizer(folder)
        hf_config = transformers.AutoConfig.from_pretrained(folder)
        model_class = helpers.get_hf_model_class_for_architecture(config["architectures"][0])
        with torch.device(device):
            model = model_class.from_config(hf_config, dtype=dtype, attn_implementation="eager")
        return TransformerBridge.boot_transformers(
            folder, hf_model=model, load_weights=False, device=device, dtype=dtype
        )


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
    values = {**resolve_preset(case["name"]), **case["overrides"]}
    device = case["device"]
    bridge = build_bridge(values, getattr(torch, case["dtype"]), device)
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
