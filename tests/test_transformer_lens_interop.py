"""``total_params`` against the models TransformerLens really builds.

Optional: it needs ``transformer-lens<4`` and skips when that is not installed (the
README's test command and ``.ci/run`` install it). Every model is built on PyTorch's meta
device, so no memory is spent on weights, with no tokenizer and with the network shut,
then its parameters are counted.

Run this file as a script to measure again and rewrite ``tests/data/tl_param_counts.json``,
the record that ``tests/test_params.py`` checks without TransformerLens::

    python tests/test_transformer_lens_interop.py
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import socket
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# huggingface_hub and transformers read these when they are imported, so set them first.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"

try:
    TL_VERSION = importlib.metadata.version("transformer-lens")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("transformer-lens is not installed", allow_module_level=True)
# Installed means it must import: a broken install should fail here, not skip.
import transformer_lens  # noqa: E402

if int(TL_VERSION.split(".")[0]) >= 4:
    pytest.skip(
        f"transformer-lens {TL_VERSION} has no HookedTransformer; these tests need <4",
        allow_module_level=True,
    )

import torch  # noqa: E402  (after the skip: without TransformerLens nothing here runs)

from transformer_presets.fields.params import model_class, total_params  # noqa: E402

DATA = Path(__file__).parent / "data"
REFERENCE = DATA / "transformerlens_models.jsonl"
COUNTS = DATA / "tl_param_counts.json"

# A tiny decoder that each variant changes, so that the rules the reference models never
# reach (RMSPre, attention sinks, xIELU experts, ...) are measured too.
_TINY: dict[str, Any] = {
    "n_layers": 2,
    "d_model": 64,
    "d_head": 16,
    "n_heads": 4,
    "n_ctx": 32,
    "d_vocab": 100,
    "d_mlp": 96,
    "act_fn": "gelu",
}
_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults-derived": {"n_heads": -1, "d_mlp": None},
    "d_vocab_out-differs": {"d_vocab_out": 7},
    "ln-final_rms": {"final_rms": True},
    "lnpre": {"normalization_type": "LNPre"},
    "lnpre-final_rms": {"normalization_type": "LNPre", "final_rms": True},
    "rms": {"normalization_type": "RMS", "positional_embedding_type": "rotary"},
    "rmspre": {"normalization_type": "RMSPre"},
    "no-norm": {"normalization_type": None},
    "rms-before-and-after": {
        "normalization_type": "RMS",
        "use_normalization_before_and_after": True,
    },
    "rmspre-before-and-after": {
        "normalization_type": "RMSPre",
        "use_normalization_before_and_after": True,
    },
    "rms-before-and-after-attn-only": {
        "normalization_type": "RMS",
        "use_normalization_before_and_after": True,
        "attn_only": True,
    },
    "none-before-and-after": {
        "normalization_type": None,
        "use_normalization_before_and_after": True,
    },
    "ln-before-and-after": {"use_normalization_before_and_after": True},
    "attn-only": {"attn_only": True, "d_mlp": -1},
    "alibi": {"positional_embedding_type": "alibi"},
    "shortformer": {"positional_embedding_type": "shortformer"},
    "post-embedding-ln-rms": {"post_embedding_ln": True, "normalization_type": "RMS"},
    "gqa": {"n_key_value_heads": 2, "positional_embedding_type": "rotary"},
    "gqa-qk-norm": {"n_key_value_heads": 2, "use_qk_norm": True},
    "qk-norm": {"use_qk_norm": True},
    "olmo2-mha": {"original_architecture": "Olmo2ForCausalLM", "normalization_type": "RMS"},
    "olmo3-gqa": {"original_architecture": "Olmo3ForCausalLM", "n_key_value_heads": 2},
    "olmoe-qk-norm-wins": {
        "original_architecture": "OlmoeForCausalLM",
        "n_key_value_heads": 2,
        "use_qk_norm": True,
    },
    "attention-sinks": {"use_attention_sinks": True},
    "gated": {"gated_mlp": True, "act_fn": "silu"},
    "solu_ln-ln": {"act_fn": "solu_ln"},
    "solu_ln-rms": {"act_fn": "solu_ln", "normalization_type": "RMS"},
    "solu_ln-gated-ln": {"act_fn": "solu_ln", "gated_mlp": True},
    "xielu": {"act_fn": "xielu"},
    "xielu-gated": {"act_fn": "xielu", "gated_mlp": True},
    "moe": {"num_experts": 4, "experts_per_token": 2, "gated_mlp": True, "act_fn": "silu"},
    "moe-xielu": {"num_experts": 4, "experts_per_token": 2, "act_fn": "xielu"},
    "moe-solu_ln": {"num_experts": 3, "experts_per_token": 1, "act_fn": "solu_ln"},
    "gpt-oss-moe": {
        "original_architecture": "GptOssForCausalLM",
        "num_experts": 4,
        "experts_per_token": 2,
        "n_key_value_heads": 2,
        "normalization_type": "RMS",
    },
    "parallel-attn-mlp": {"parallel_attn_mlp": True},
    "bert-ignores-gqa": {
        "original_architecture": "BertForMaskedLM",
        "attention_dir": "bidirectional",
        "n_key_value_heads": 2,
        "normalization_type": "RMS",
    },
    "bert-gated-qk-norm": {
        "original_architecture": "BertForMaskedLM",
        "attention_dir": "bidirectional",
        "gated_mlp": True,
        "use_qk_norm": True,
    },
    "t5": {
        "original_architecture": "T5ForConditionalGeneration",
        "positional_embedding_type": "relative_positional_bias",
        "relative_attention_num_buckets": 8,
        "relative_attention_max_distance": 16,
        "attention_dir": "bidirectional",
        "act_fn": "relu",
    },
    "t5-gated-gqa-3-layers": {
        "original_architecture": "T5ForConditionalGeneration",
        "positional_embedding_type": "relative_positional_bias",
        "relative_attention_num_buckets": 8,
        "relative_attention_max_distance": 16,
        "attention_dir": "bidirectional",
        "gated_mlp": True,
        "n_key_value_heads": 2,
        "n_layers": 3,
    },
    "hubert-blocks": {
        "original_architecture": "HubertModel",
        "attention_dir": "bidirectional",
        "d_vocab": -1,
    },
}


def variant_configs() -> dict[str, dict[str, Any]]:
    """Each variant's full config: the tiny decoder with the variant's changes."""
    return {name: {**_TINY, **changes} for name, changes in _VARIANTS.items()}


def reference_models() -> list[dict[str, Any]]:
    with REFERENCE.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_on_meta(config: dict[str, Any]) -> torch.nn.Module:
    """Build the TransformerLens model for ``config`` on the meta device."""
    values = dict(config)
    if isinstance(values.get("dtype"), str):
        values["dtype"] = getattr(torch, values["dtype"])
    # No tokenizer (it would be downloaded) and no real memory for the weights.
    values["tokenizer_name"] = None
    values["device"] = "meta"
    tl_config = transformer_lens.HookedTransformerConfig.from_dict(values)
    cls = getattr(transformer_lens, model_class(values))
    with warnings.catch_warnings(), torch.device("meta"):
        # HookedTransformer & co. warn that they are deprecated in favour of TransformerBridge.
        warnings.simplefilter("ignore", DeprecationWarning)
        model: torch.nn.Module = cls(tl_config, move_to_device=False)
    return model


def count_on_meta(config: dict[str, Any]) -> int:
    return sum(p.numel() for p in build_on_meta(config).parameters())


def _is_audio(config: dict[str, Any]) -> bool:
    return model_class(config) == "HookedAudioEncoder"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any attempt to open a connection, should a download slip through."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access during the TransformerLens interop tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


# --- presets from the project's registry ---------------------------------------------


@contextlib.contextmanager
def _bundled_only() -> Iterator[None]:
    """Hide the user's presets and cache from the registry, as conftest does per test."""
    with tempfile.TemporaryDirectory() as home, pytest.MonkeyPatch.context() as mp:
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "TRANSFORMER_PRESETS_CACHE_DIR"):
            mp.setenv(var, os.path.join(home, var))
        mp.delenv("TRANSFORMER_PRESETS_PATH", raising=False)
        yield


def _preset_names() -> list[Any]:
    try:
        from transformer_presets import list_presets
    except ImportError:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no list_presets() yet"))]
    with _bundled_only():
        return [info.name for info in list_presets() if not getattr(info, "abstract", False)]


@pytest.fixture(scope="module")
def presets() -> dict[str, Any]:
    """Every bundled preset's config, resolved once: loading the registry is the slow part."""
    from transformer_presets import get_preset, list_presets

    with _bundled_only():
        return {info.name: get_preset(info.name) for info in list_presets()}


@pytest.mark.parametrize("name", _preset_names())
def test_preset_param_count_matches_transformer_lens(name: str, presets: dict[str, Any]) -> None:
    cfg = presets[name]
    config = cfg.to_dict()
    if _is_audio(config):
        pytest.skip("audio models need the Hugging Face front end; not built here")
    assert count_on_meta(config) == total_params(cfg)


# --- the reference models, independent of the registry --------------------------------


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(row["config"], id=row["name"])
        for row in reference_models()
        if not _is_audio(row["config"])
    ],
)
def test_reference_param_count_matches_transformer_lens(config: dict[str, Any]) -> None:
    assert count_on_meta(config) == total_params(config)


@pytest.mark.parametrize(
    "config", [pytest.param(c, id=name) for name, c in variant_configs().items()]
)
def test_variant_param_count_matches_transformer_lens(config: dict[str, Any]) -> None:
    try:
        measured = count_on_meta(config)
    except Exception:
        # What TransformerLens cannot build, total_params must refuse too.
        with pytest.raises(ValueError):
            total_params(config)
        return
    assert measured == total_params(config)


# --- recording --------------------------------------------------------------------------


def record() -> dict[str, Any]:
    """Measure every reference model and variant; the content of tl_param_counts.json."""
    models = {row["name"]: count_on_meta(row["config"]) for row in reference_models()}
    variants: dict[str, Any] = {}
    for name, config in variant_configs().items():
        try:
            n: int | None = count_on_meta(config)
            error = None
        except Exception as exc:  # recorded, not raised: the failure is the finding
            n, error = None, type(exc).__name__
        variants[name] = {"config": config, "n_params": n, "error": error}
    return {
        "transformer_lens_version": TL_VERSION,
        "torch_version": torch.__version__,
        "method": "sum(p.numel() for p in model.parameters()) on the meta device",
        "models": models,
        "variants": variants,
    }


if __name__ == "__main__":
    COUNTS.write_text(json.dumps(record(), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {COUNTS}", file=sys.stderr)
