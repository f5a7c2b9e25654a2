"""``total_params`` and ``weight_bytes`` against counts measured on TransformerLens models.

``tests/data/tl_param_counts.json`` was written by ``tests/test_transformer_lens_interop.py``
run as a script; these tests need no TransformerLens.
"""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from transformer_presets.errors import PresetValidationError
from transformer_presets.fields import params
from transformer_presets.fields.params import model_class, total_params, weight_bytes

from .conftest import DATA

SRC = Path(__file__).parent.parent / "src"

with (DATA / "transformerlens_models.jsonl").open(encoding="utf-8") as _f:
    REFERENCE: dict[str, dict[str, Any]] = {
        row["name"]: row["config"] for row in map(json.loads, _f) if row
    }
RECORD: dict[str, Any] = json.loads((DATA / "tl_param_counts.json").read_text(encoding="utf-8"))
GPT2 = REFERENCE["gpt2"]


def test_record_covers_every_reference_model() -> None:
    assert set(RECORD["models"]) == set(REFERENCE)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_total_params_matches_transformer_lens(name: str) -> None:
    config = REFERENCE[name]
    assert total_params(config) == RECORD["models"][name]
    # The reference configs are float32.
    assert weight_bytes(config) == 4 * RECORD["models"][name]


@pytest.fixture(scope="module")
def bundled_counts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """total_params of every bundled preset, resolved once for the whole module."""
    pytest.importorskip("torch")
    from transformer_presets import get_preset, list_presets

    # Like conftest's isolated_dirs, but once per module: loading the registry is the slow part.
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "TRANSFORMER_PRESETS_CACHE_DIR"):
            mp.setenv(var, str(home / var))
        mp.delenv("TRANSFORMER_PRESETS_PATH", raising=False)
        return {
            info.name: total_params(get_preset(info.name))
            for info in list_presets()
            if not info.abstract and info.source == "bundled"
        }


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_bundled_preset_matches_transformer_lens(name: str, bundled_counts: dict[str, int]) -> None:
    if name not in bundled_counts:
        pytest.skip("no bundled preset of this name")
    assert bundled_counts[name] == RECORD["models"][name]


@pytest.mark.parametrize("name", sorted(RECORD["variants"]))
def test_variant_matches_transformer_lens(name: str) -> None:
    variant = RECORD["variants"][name]
    if variant["error"] is not None:
        # TransformerLens failed to build it, so there is no count to give.
        with pytest.raises(PresetValidationError):
            total_params(variant["config"])
    else:
        assert total_params(variant["config"]) == variant["n_params"]


@pytest.mark.parametrize(
    ("dtype", "size"),
    [
        ("float32", 4),
        ("bfloat16", 2),
        ("float16", 2),
        ("bf16", 2),
        ("torch.float16", 2),
        ("float64", 8),
    ],
)
def test_weight_bytes_by_dtype_name(dtype: str, size: int) -> None:
    assert weight_bytes({**GPT2, "dtype": dtype}) == size * total_params(GPT2)


def test_weight_bytes_reads_the_size_of_a_dtype_object() -> None:
    # A torch.dtype answers itemsize; anything else that does is taken at its word.
    fake_int8 = SimpleNamespace(itemsize=1)
    assert weight_bytes({**GPT2, "dtype": fake_int8}) == total_params(GPT2)


def test_weight_bytes_of_a_torch_dtype() -> None:
    torch = pytest.importorskip("torch")
    assert weight_bytes({**GPT2, "dtype": torch.bfloat16}) == 2 * total_params(GPT2)


def test_weight_bytes_defaults_to_float32() -> None:
    config = {k: v for k, v in GPT2.items() if k != "dtype"}
    assert weight_bytes(config) == 4 * total_params(GPT2)


def test_unknown_dtype_name_suggests_a_known_one() -> None:
    with pytest.raises(PresetValidationError, match="bfloat16") as info:
        weight_bytes({**GPT2, "dtype": "bfloat61"})
    assert info.value.key == "dtype"


def test_dtype_of_the_wrong_type() -> None:
    with pytest.raises(PresetValidationError, match=r"torch\.dtype or its name"):
        weight_bytes({**GPT2, "dtype": 4})


@pytest.mark.parametrize(
    "name",
    ["gpt2", "mistralai/Mixtral-8x7B-v0.1", "google-t5/t5-small", "google-bert/bert-base-cased"],
)
def test_attribute_object_and_mapping_agree(name: str) -> None:
    config = REFERENCE[name]
    assert total_params(SimpleNamespace(**config)) == total_params(config)
    assert weight_bytes(SimpleNamespace(**config)) == weight_bytes(config)


def test_config_instance() -> None:
    pytest.importorskip("torch")
    from transformer_presets import HookedTransformerConfig

    cfg = HookedTransformerConfig.from_dict(dict(GPT2))
    assert total_params(cfg) == RECORD["models"]["gpt2"]
    assert weight_bytes(cfg) == 4 * RECORD["models"]["gpt2"]


def test_partial_mapping_takes_transformer_lens_defaults() -> None:
    # GPT-2 small spelled with the fields that differ from the defaults.
    small = {"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64, "d_vocab": 50257}
    assert total_params(small) == RECORD["models"]["gpt2"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt2", "HookedTransformer"),
        ("google-bert/bert-base-cased", "HookedEncoder"),
        ("google-t5/t5-small", "HookedEncoderDecoder"),
        ("facebook/hubert-base-ls960", "HookedAudioEncoder"),
        ("facebook/wav2vec2-base", "HookedAudioEncoder"),
    ],
)
def test_model_class(name: str, expected: str) -> None:
    assert model_class(REFERENCE[name]) == expected
    assert model_class(SimpleNamespace(**REFERENCE[name])) == expected


def test_audio_models_count_the_transformer_blocks_only() -> None:
    # wav2vec2-base and HuBERT base share their transformer shape, but not their front ends.
    assert total_params(REFERENCE["facebook/wav2vec2-base"]) == total_params(
        REFERENCE["facebook/hubert-base-ls960"]
    )


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        pytest.param({"d_model": None}, "d_model", "required", id="missing-d_model"),
        pytest.param({"n_layers": 2.0}, "n_layers", "integer", id="float-n_layers"),
        pytest.param({"d_vocab": True}, "d_vocab", "integer", id="bool-d_vocab"),
        pytest.param({"d_vocab": -1}, "d_vocab", "must be set", id="unset-d_vocab"),
        pytest.param({"d_vocab_out": 0}, "d_vocab_out", "positive", id="zero-d_vocab_out"),
        pytest.param({"d_mlp": -1}, "d_mlp", "attn_only", id="mlp-without-d_mlp"),
        pytest.param(
            {"normalization_type": "BatchNorm"}, "normalization_type", "'LN'", id="unknown-norm"
        ),
        pytest.param(
            {"use_normalization_before_and_after": True, "normalization_type": "LNPre"},
            "use_normalization_before_and_after",
            "RMS",
            id="post-norm-with-layernorm",
        ),
        pytest.param({"load_in_4bit": True}, "load_in_4bit", "unquantised", id="4bit"),
        pytest.param(
            {"num_experts": 4, "experts_per_token": None},
            "experts_per_token",
            "num_experts",
            id="experts-without-top-k",
        ),
        pytest.param(
            {"original_architecture": "T5ForConditionalGeneration"},
            "relative_attention_num_buckets",
            "T5",
            id="t5-without-buckets",
        ),
    ],
)
def test_configs_transformer_lens_cannot_build(
    changes: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(PresetValidationError, match=message) as info:
        total_params({**GPT2, **changes})
    assert info.value.key == key


def test_docstring_examples() -> None:
    result = doctest.testmod(params, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_counting_imports_neither_torch_nor_numpy() -> None:
    code = (
        "import json, sys\n"
        "from transformer_presets.fields.params import total_params, weight_bytes\n"
        f"config = {GPT2!r}\n"
        "total_params(config)\n"
        "weight_bytes({**config, 'dtype': 'bfloat16'})\n"
        "print(json.dumps(sorted(m for m in ('torch', 'numpy') if m in sys.modules)))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
