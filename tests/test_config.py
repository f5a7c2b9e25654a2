"""HookedTransformerConfig: fields, defaults, derivations and checks."""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from transformer_presets import (
    SUPPORTED_ACTIVATIONS,
    HookedTransformerConfig,
    PresetError,
    PresetValidationError,
)
from transformer_presets.config.hooked import ACTIVATION_NAMES

from .conftest import REPO

# Every optional field and its default, as TransformerLens declares them
# (the original fields), plus the fields later releases added.
EXPECTED_DEFAULTS = {
    "model_name": "custom",
    "n_heads": -1,
    "d_mlp": None,
    "act_fn": None,
    "d_vocab": -1,
    "eps": 1e-5,
    "use_attn_result": False,
    "use_attn_scale": True,
    "attn_scale": -1.0,
    "use_split_qkv_input": False,
    "use_hook_mlp_in": False,
    "use_attn_in": False,
    "use_local_attn": False,
    "ungroup_grouped_query_attention": False,
    "original_architecture": None,
    "from_checkpoint": False,
    "checkpoint_index": None,
    "checkpoint_label_type": None,
    "checkpoint_value": None,
    "tokenizer_name": None,
    "window_size": None,
    "attn_types": None,
    "init_mode": "gpt2",
    "normalization_type": "LN",
    "device": None,
    "n_devices": 1,
    "attention_dir": "causal",
    "attn_only": False,
    "seed": None,
    "initializer_range": -1.0,
    "init_weights": True,
    "scale_attn_by_inverse_layer_idx": False,
    "positional_embedding_type": "standard",
    "final_rms": False,
    "d_vocab_out": -1,
    "parallel_attn_mlp": False,
    "rotary_dim": None,
    "n_params": None,
    "use_hook_tokens": False,
    "gated_mlp": False,
    "default_prepend_bos": True,
    "tokenizer_prepends_bos": None,
    "n_key_value_heads": None,
    "post_embedding_ln": False,
    "rotary_base": 10000,
    "trust_remote_code": False,
    "rotary_adjacent_pairs": False,
    "load_in_4bit": False,
    "num_experts": None,
    "experts_per_token": None,
    "relative_attention_max_distance": None,
    "relative_attention_num_buckets": None,
    "decoder_start_token_id": None,
    "tie_word_embeddings": False,
    "use_normalization_before_and_after": False,
    "attn_scores_soft_cap": -1.0,
    "output_logits_soft_cap": -1.0,
    "use_NTK_by_parts_rope": False,
    "NTK_by_parts_low_freq_factor": 1.0,
    "NTK_by_parts_high_freq_factor": 4.0,
    "NTK_by_parts_factor": 8.0,
    # Added by later TransformerLens releases.
    "uses_rms_norm": False,
    "layer_norm_folding": False,
    "NTK_original_ctx_len": 8192,
    "use_qk_norm": False,
    "rotary_base_local": None,
    "norm_topk_prob": False,
    "use_yarn_rope": False,
    "yarn_factor": 1.0,
    "yarn_attention_factor": 1.0,
    "yarn_beta_fast": 32.0,
    "yarn_beta_slow": 1.0,
    "yarn_original_max_position_embeddings": 4096,
    "rotary_scaling_factor": 1.0,
    # Added by TransformerLens 3.9.
    "clip_qkv": None,
    "use_logn_attn": False,
    "train_seq_length": None,
    "use_dynamic_ntk_rope": False,
    "quantization_method": None,
    "yarn_truncate": True,
    "yarn_global_attn_only": False,
    "use_attention_sinks": False,
}
REQUIRED = ["n_layers", "d_model", "n_ctx", "d_head"]


def small(**kw: object) -> HookedTransformerConfig:
    base: dict[str, object] = {
        "n_layers": 2,
        "d_model": 128,
        "n_ctx": 64,
        "d_head": 32,
        "act_fn": "gelu",
    }
    base.update(kw)
    return HookedTransformerConfig(**base)  # type: ignore[arg-type]


def test_field_names_and_defaults_match_transformer_lens() -> None:
    fields = {f.name: f for f in dataclasses.fields(HookedTransformerConfig)}
    assert list(fields)[:4] == REQUIRED
    assert set(fields) == set(REQUIRED) | set(EXPECTED_DEFAULTS) | {"dtype"}
    for name in REQUIRED:
        assert fields[name].default is dataclasses.MISSING
    for name, default in EXPECTED_DEFAULTS.items():
        assert fields[name].default == default, name
        assert type(fields[name].default) is type(default), name


def test_defaults_on_an_instance() -> None:
    cfg = HookedTransformerConfig(n_layers=1, d_model=64, n_ctx=16, d_head=16, attn_only=True)
    assert cfg.dtype is torch.float32
    assert cfg.model_name == "custom"
    assert cfg.rotary_base == 10000


@pytest.mark.parametrize(
    ("kwargs", "field", "expected"),
    [
        ({}, "n_heads", 4),
        ({"n_heads": 3}, "n_heads", 3),
        ({}, "d_mlp", 512),
        ({"d_mlp": 100}, "d_mlp", 100),
        ({"attn_only": True, "act_fn": None}, "d_mlp", None),
        ({}, "initializer_range", 0.8 / math.sqrt(128)),
        ({"init_mode": "xavier_uniform"}, "initializer_range", 1.0),
        ({"initializer_range": 0.02}, "initializer_range", 0.02),
        ({"d_vocab": 1000}, "d_vocab_out", 1000),
        ({"d_vocab": 1000, "d_vocab_out": 10}, "d_vocab_out", 10),
        ({}, "rotary_dim", None),
        ({"positional_embedding_type": "rotary"}, "rotary_dim", 32),
        ({"positional_embedding_type": "rotary", "rotary_dim": 8}, "rotary_dim", 8),
        ({}, "attn_scale", math.sqrt(32)),
        ({"use_attn_scale": False}, "attn_scale", -1.0),
        ({"attn_scale": 2.5}, "attn_scale", 2.5),
        ({}, "n_params", 2 * (128 * 32 * 4 * 4) + 2 * (128 * 512 * 2)),
        ({"gated_mlp": True}, "n_params", 2 * (128 * 32 * 4 * 4) + 2 * (128 * 512 * 3)),
        (
            {"num_experts": 4, "experts_per_token": 2},
            "n_params",
            2 * (128 * 32 * 4 * 4) + 2 * (128 * 512 * 2 + 128) * 4,
        ),
        ({"attn_only": True, "act_fn": None}, "n_params", 2 * (128 * 32 * 4 * 4)),
        ({"n_params": 7}, "n_params", 2 * (128 * 32 * 4 * 4) + 2 * (128 * 512 * 2)),
        ({"dtype": "bfloat16"}, "dtype", torch.bfloat16),
        ({"dtype": "torch.float16"}, "dtype", torch.float16),
        ({"dtype": torch.float64}, "dtype", torch.float64),
        ({"device": "meta"}, "device", "meta"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_derivations(kwargs: dict[str, object], field: str, expected: object) -> None:
    assert getattr(small(**kwargs), field) == expected


def test_gpt2_small_n_params() -> None:
    cfg = HookedTransformerConfig(
        n_layers=12, d_model=768, n_ctx=1024, d_head=64, act_fn="gelu_new", d_vocab=50257
    )
    assert (cfg.n_heads, cfg.d_mlp, cfg.n_params) == (12, 3072, 84934656)


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert small().device == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: True)
    assert small().device == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert small().device == "cpu"


def test_warns_when_d_model_not_divisible(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="transformer_presets"):
        cfg = small(d_model=100, d_head=32)
    assert cfg.n_heads == 3
    assert "not divisible" in caplog.text and "100" in caplog.text


def test_no_warning_when_divisible(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        small()
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("kwargs", "key", "fragment"),
    [
        ({"act_fn": None}, "act_fn", "must be set unless attn_only"),
        ({"act_fn": "gelu_neww"}, "act_fn", "did you mean 'gelu_new'"),
        ({"use_local_attn": True, "attn_types": ["local"]}, "window_size", "use_local_attn"),
        ({"use_local_attn": True, "window_size": 4}, "attn_types", "use_local_attn"),
        ({"num_experts": 8}, "experts_per_token", "num_experts"),
        ({"experts_per_token": 2}, "num_experts", "experts_per_token"),
        ({"default_prepend_bos": "yes"}, "default_prepend_bos", "true or false"),
        ({"n_devices": 64}, "n_devices", "CUDA devices"),
        ({"dtype": "float8"}, "dtype", "not a known dtype"),
        ({"d_head": 0}, "d_head", "positive integer"),
        ({"d_model": -5}, "d_model", "positive integer"),
        ({"n_heads": 0}, "n_heads", "positive integer"),
        ({"seed": -1}, "seed", "2**32"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_checks_raise_named_errors(kwargs: dict[str, object], key: str, fragment: str) -> None:
    with pytest.raises(PresetValidationError) as info:
        small(**kwargs)
    assert info.value.key == key
    assert fragment in str(info.value)
    # Code written against TransformerLens's asserts keeps working.
    assert isinstance(info.value, AssertionError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, PresetError)


def test_checks_hold_under_python_O() -> None:
    code = (
        "from transformer_presets import HookedTransformerConfig, PresetValidationError\n"
        "assert False, 'asserts are stripped'\n"  # proves -O is in effect
        "bad = [dict(act_fn=None), dict(act_fn='nope'), dict(act_fn='relu', num_experts=2),\n"
        "       dict(act_fn='relu', use_local_attn=True)]\n"
        "for kw in bad:\n"
        "    try:\n"
        "        HookedTransformerConfig(n_layers=1, d_model=8, n_ctx=4, d_head=4, **kw)\n"
        "    except PresetValidationError:\n"
        "        continue\n"
        "    raise SystemExit('accepted ' + repr(kw))\n"
        "print('all rejected')\n"
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "all rejected"


def test_from_dict_round_trip_and_unknown_keys() -> None:
    cfg = small(d_vocab=100, positional_embedding_type="rotary")
    again = HookedTransformerConfig.from_dict(cfg.to_dict())
    assert again == cfg
    with pytest.raises(PresetValidationError, match="did you mean 'n_layers'") as info:
        HookedTransformerConfig.from_dict({**cfg.to_dict(), "n_layer": 3})
    assert info.value.key == "n_layer"


def test_unwrap() -> None:
    cfg = small()
    assert HookedTransformerConfig.unwrap(cfg) is cfg
    assert HookedTransformerConfig.unwrap(cfg.to_dict()) == cfg


def test_to_dict_is_a_new_dict() -> None:
    cfg = small(use_local_attn=True, window_size=4, attn_types=["local", "global"])
    d = cfg.to_dict()
    d["d_model"] = 1
    d["attn_types"].append("x")
    assert cfg.d_model == 128
    assert cfg.attn_types == ["local", "global"]
    assert d is not cfg.to_dict()


def test_repr_lists_fields() -> None:
    text = repr(small())
    assert text.startswith("HookedTransformerConfig:\n")
    assert "'d_model': 128" in text


def test_seed_sets_every_generator() -> None:
    small(seed=123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    small(seed=123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_is_layer_norm_activation() -> None:
    assert small(act_fn="solu_ln").is_layer_norm_activation()
    assert not small(act_fn="solu").is_layer_norm_activation()
    assert not small(attn_only=True, act_fn=None).is_layer_norm_activation()


def test_supported_activations_are_working_torch_functions() -> None:
    assert tuple(SUPPORTED_ACTIVATIONS) == ACTIVATION_NAMES
    x = torch.linspace(-3, 3, 13)
    tanh_gelu = F.gelu(x, approximate="tanh")
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["gelu_new"](x), tanh_gelu)
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["gelu_fast"](x), tanh_gelu)
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["gelu_pytorch_tanh"](x), tanh_gelu)
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["gelu"](x), F.gelu(x))
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["relu"](x), x.clamp(min=0))
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["silu"](x), x * torch.sigmoid(x))
    solu = x * torch.softmax(x, dim=-1)
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["solu"](x), solu)
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["solu_ln"](x), solu)
    torch.testing.assert_close(SUPPORTED_ACTIVATIONS["relu2"](x), x.clamp(min=0) ** 2)
    # xIELU: a quadratic for x > 0; beta * x plus a bounded ELU-like term below.
    xielu = SUPPORTED_ACTIVATIONS["xielu"]
    torch.testing.assert_close(xielu(torch.tensor([2.0])), torch.tensor([0.8 * 4 + 0.5 * 2]))
    neg = torch.tensor([-50.0])
    torch.testing.assert_close(xielu(neg), 0.8 * (torch.expm1(neg) - neg) + 0.5 * neg)


def test_the_generated_field_table_is_the_class_s() -> None:
    # The rules, the cache and the planner read _fieldtable.py instead of importing the
    # class; if this fails, run: python -m tools.gen_schema
    from transformer_presets.config.hooked import field_table
    from transformer_presets.fields import table as _fieldtable

    kinds, defaults = field_table()
    assert kinds == _fieldtable.FIELD_KINDS
    assert list(_fieldtable.FIELD_KINDS) == [
        f.name for f in dataclasses.fields(HookedTransformerConfig)
    ]
    assert defaults == _fieldtable.FIELD_DEFAULTS
    assert {k: type(v) for k, v in _fieldtable.FIELD_DEFAULTS.items()} == {
        k: type(v) for k, v in defaults.items()
    }
