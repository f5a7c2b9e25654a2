"""Exporting presets as Hugging Face ``config.json`` files.

The round trip runs over every bundled preset of an architecture that
``from_hf_config`` reads: exported, written as JSON and imported again, it must
give the preset's own values, field by field and type by type. The presets that
cannot make the trip are listed in ``KNOWN_GAPS`` with the reason; when a gap
closes (a preset starts to export, or to come back equal), the test fails and
says which entry to remove.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from transformer_presets import get_preset, list_presets, resolve_preset
from transformer_presets.config.hooked import FIELD_CHOICES, check_and_derive
from transformer_presets.errors import PresetError, PresetNotFoundError
from transformer_presets.fields.keys import COMPUTED_ONLY, FIELDS, defaults
from transformer_presets.hf._write import relevant as _relevant
from transformer_presets.hf.exporting import (
    EXPORTABLE_ARCHITECTURES,
    NOT_EXPORTED,
    HFExportError,
    to_hf_config,
)
from transformer_presets.hf.importing import SUPPORTED_ARCHITECTURES, from_hf_config

from .conftest import python_c


def _bundled_by_architecture() -> dict[str, dict[str, Any]]:
    out = {}
    for info in list_presets():
        values = resolve_preset(info.name)
        if values.get("original_architecture") in SUPPORTED_ARCHITECTURES:
            out[info.name] = values
    return out


BUNDLED = _bundled_by_architecture()


def effective(values: dict[str, Any]) -> dict[str, Any]:
    """Every field's value: the class defaults, the values, and what is derived from them."""
    return {**defaults(), **values, **check_and_derive(values)}


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose value or type differs (10000 and 10000.0 differ)."""
    return {
        k: (a[k], b.get(k)) for k in a if not (type(a[k]) is type(b.get(k)) and a[k] == b.get(k))
    }


# A preset that cannot make the round trip: the field at fault, whether the export
# refuses it or the import brings back something else, and why. (The TransformerLens 3.8
# gaps of Mixtral's norm_topk_prob, gpt-oss's sinks and OLMo 3's windows closed with the
# zoo's move to 3.9.)
KNOWN_GAPS: dict[str, tuple[str, str, str]] = {
    name: (
        "refused",
        "act_fn",
        "TransformerLens runs Gemma 1 with exact GELU; GemmaConfig reads hidden_act 'gelu' "
        "as the tanh approximation and has no exact GELU",
    )
    for name in ("google/gemma-2b", "google/gemma-2b-it", "google/gemma-7b", "google/gemma-7b-it")
}


def test_every_imported_architecture_is_exported() -> None:
    assert set(EXPORTABLE_ARCHITECTURES) == set(SUPPORTED_ARCHITECTURES)


def test_the_round_trip_covers_every_architecture() -> None:
    archs = {values["original_architecture"] for values in BUNDLED.values()}
    assert archs == set(SUPPORTED_ARCHITECTURES)


def test_known_gaps_name_bundled_presets() -> None:
    assert set(KNOWN_GAPS) <= set(BUNDLED)


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_round_trip_through_config_json(name: str) -> None:
    values = BUNDLED[name]
    gap = KNOWN_GAPS.get(name)
    official = values.get("tokenizer_name") or name
    if gap is not None and gap[0] == "refused":
        with pytest.raises(HFExportError) as info:
            to_hf_config(name)
        assert info.value.key == gap[1], f"{name} is refused for another field: {info.value}"
        return
    # Through JSON text, as a config.json file holds it.
    exported = json.loads(json.dumps(to_hf_config(name)))
    back = from_hf_config(exported, name=official)
    diff = differences(effective(values), effective(back))
    if gap is not None:
        assert set(diff) == {gap[1]}, (
            f"{name}: the known gap in {gap[1]} changed; now {sorted(diff) or 'none'} "
            "(remove or update its KNOWN_GAPS entry)"
        )
        return
    assert diff == {}


def test_every_form_of_input_gives_the_same_config() -> None:
    by_name = to_hf_config("gpt2-small")
    assert to_hf_config("GPT2") == by_name  # an alias, any case
    assert to_hf_config(resolve_preset("gpt2-small")) == by_name
    assert to_hf_config(get_preset("gpt2-small")) == by_name
    assert by_name["_name_or_path"] == "gpt2"


def test_published_key_names_and_layout() -> None:
    llama = to_hf_config("meta-llama/Llama-3.1-8B")
    assert llama["rope_theta"] == 500000.0 and llama["num_key_value_heads"] == 8
    assert llama["rope_scaling"] == {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    }
    neo = to_hf_config("EleutherAI/gpt-neo-125M")
    assert neo["attention_types"] == [[["global", "local"], 6]] and neo["window_size"] == 256
    gemma2 = to_hf_config("google/gemma-2-27b")
    assert gemma2["query_pre_attn_scalar"] == 144 and isinstance(
        gemma2["query_pre_attn_scalar"], int
    )
    assert gemma2["attn_logit_softcapping"] == 50.0
    gemma3 = to_hf_config("google/gemma-3-4b-pt")
    assert gemma3["model_type"] == "gemma3" and gemma3["text_config"]["model_type"] == "gemma3_text"
    assert gemma3["text_config"]["rope_scaling"] == {"rope_type": "linear", "factor": 8.0}
    assert gemma3["text_config"]["rope_local_base_freq"] == 10000
    assert to_hf_config("google/gemma-3-1b-pt")["attn_logit_softcapping"] is None
    qwen = to_hf_config("Qwen/Qwen-1_8B")
    assert qwen["intermediate_size"] == 2 * resolve_preset("Qwen/Qwen-1_8B")["d_mlp"]
    # TransformerLens 3.9 takes Qwen-1's context from seq_length: 8192, as published.
    assert (qwen["model_type"], qwen["seq_length"], qwen["max_position_embeddings"]) == (
        "qwen",
        8192,
        8192,
    )
    gpt2 = to_hf_config("gpt2")
    # TransformerLens reads GPT-2's context from the legacy n_ctx, transformers from n_positions.
    assert (gpt2["n_ctx"], gpt2["n_positions"], gpt2["n_inner"]) == (1024, 1024, None)
    t5 = to_hf_config("t5-small")
    assert (t5["d_kv"], t5["feed_forward_proj"], t5["tie_word_embeddings"]) == (64, "relu", True)
    assert to_hf_config("bloom-560m")["hidden_size"] == 1024
    assert to_hf_config("opt-125m")["word_embed_proj_dim"] == 768


# -- what TransformerLens 3.9 added --------------------------------------------------


def test_olmo_clip_qkv_is_exported() -> None:
    config = to_hf_config({**resolve_preset("allenai/OLMo-1B-hf"), "clip_qkv": 8.0})
    assert config["clip_qkv"] == 8.0
    config = to_hf_config({**resolve_preset("allenai/OLMoE-1B-7B-0924"), "clip_qkv": 4.0})
    assert config["clip_qkv"] == 4.0


def test_qwen1_long_context_settings_are_exported() -> None:
    values = resolve_preset("Qwen/Qwen-1_8B")
    assert (values["use_logn_attn"], values["use_dynamic_ntk_rope"]) == (True, True)
    config = to_hf_config(values)
    assert config["use_logn_attn"] is True and config["use_dynamic_ntk"] is True
    assert (config["seq_length"], config["max_position_embeddings"]) == (8192, 8192)
    short = to_hf_config({**values, "use_logn_attn": False, "use_dynamic_ntk_rope": False})
    assert (short["use_logn_attn"], short["use_dynamic_ntk"]) == (False, False)
    # Without the scalings train_seq_length changes nothing; seq_length is n_ctx.
    unscaled = {**values, "use_logn_attn": False, "use_dynamic_ntk_rope": False}
    assert to_hf_config({**unscaled, "train_seq_length": 2048})["seq_length"] == 8192


def test_qwen1_training_length_must_be_its_context() -> None:
    # TransformerLens 3.9 reads seq_length as both n_ctx and train_seq_length: a preset
    # trained at 8192 and run at 2048 would come back as 8192 and 8192.
    values = {**resolve_preset("Qwen/Qwen-1_8B"), "n_ctx": 2048}
    with pytest.raises(HFExportError) as info:
        to_hf_config(values)
    assert info.value.key == "train_seq_length"
    assert "n_ctx = 2048" in info.value.reason


def _gpt_oss_39() -> dict[str, Any]:
    """gpt-oss as TransformerLens 3.9 describes it: sinks, windows, YaRN, mxfp4."""
    values = resolve_preset("openai/gpt-oss-20b")
    assert values["use_attention_sinks"] and values["use_yarn_rope"]
    return values


def test_gpt_oss_sinks_windows_and_yarn_are_exported() -> None:
    config = to_hf_config(_gpt_oss_39())
    assert config["sliding_window"] == 128
    assert config["layer_types"][:2] == ["sliding_attention", "full_attention"]
    scaling = config["rope_scaling"]
    assert scaling["rope_type"] == "yarn" and scaling["truncate"] is False
    assert scaling["factor"] == 32.0 and scaling["original_max_position_embeddings"] == 4096
    assert config["quantization_config"] == {"quant_method": "mxfp4"}


def test_gpt_oss_without_yarn_says_so() -> None:
    # Left out, the key would give gpt-oss's own default YaRN.
    config = to_hf_config({**_gpt_oss_39(), "use_yarn_rope": False})
    assert config["rope_scaling"] == {"rope_type": "default"}


def _olmo3_39() -> dict[str, Any]:
    """OLMo 3 as TransformerLens 3.9 describes it: windows, YaRN on full-attention layers."""
    values = resolve_preset("allenai/Olmo-3-7B-Think")
    assert values["use_local_attn"] and values["yarn_global_attn_only"]
    return values


def test_olmo3_windows_and_global_yarn_are_exported() -> None:
    config = to_hf_config(_olmo3_39())
    assert config["sliding_window"] == 4096
    assert config["layer_types"][:4] == ["sliding_attention"] * 3 + ["full_attention"]
    assert config["rope_scaling"]["rope_type"] == "yarn"


def test_mixtral_with_renormalised_routing_and_neox_sequential_are_exported() -> None:
    mixtral = resolve_preset("mistralai/Mixtral-8x7B-v0.1")
    config = to_hf_config(mixtral)
    assert (config["num_local_experts"], config["num_experts_per_tok"]) == (8, 2)
    # Mixtral's router always renormalises; a preset that does not is another model.
    with pytest.raises(HFExportError) as info:
        to_hf_config({**mixtral, "norm_topk_prob": False})
    assert info.value.key == "norm_topk_prob"
    config = to_hf_config({**resolve_preset("pythia-70m"), "parallel_attn_mlp": False})
    assert config["use_parallel_residual"] is False


# -- what an architecture cannot express ------------------------------------------------

TINY = {"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16, "d_vocab": 100, "act_fn": "relu"}


def _llama_with(**changes: Any) -> dict[str, Any]:
    return {**resolve_preset("meta-llama/Llama-3.2-1B"), **changes}


REFUSALS = [
    pytest.param(
        "gpt2",
        {"positional_embedding_type": "rotary"},
        "positional_embedding_type",
        id="gpt2-rotary",
    ),
    pytest.param("opt-125m", {"gated_mlp": True}, "gated_mlp", id="opt-gated"),
    pytest.param("gpt2", {"act_fn": "solu"}, "act_fn", id="no-solu-in-transformers"),
    pytest.param("gpt2", {"n_key_value_heads": 4}, "n_key_value_heads", id="gpt2-gqa"),
    pytest.param("gpt2", {"d_vocab_out": 10}, "d_vocab_out", id="output-vocabulary"),
    pytest.param("gpt2", {"d_head": 32, "n_heads": 12}, "d_head", id="gpt2-head-size"),
    pytest.param("gpt2", {"d_vocab": -1}, "d_vocab", id="unknown-vocabulary"),
    pytest.param("gpt2", {"attn_scale": 10.0}, "attn_scale", id="gpt2-attn-scale"),
    pytest.param("bert-base-cased", {"act_fn": "relu"}, "act_fn", id="bert-head-gelu"),
    pytest.param("bloom-560m", {"d_mlp": 1000}, "d_mlp", id="bloom-mlp-width"),
    pytest.param(
        "meta-llama/Llama-3.2-1B",
        {"parallel_attn_mlp": True},
        "parallel_attn_mlp",
        id="llama-parallel",
    ),
    pytest.param("meta-llama/Llama-3.2-1B", {"rotary_dim": 32}, "rotary_dim", id="llama-partial"),
    pytest.param("meta-llama/Llama-3.2-1B", {"clip_qkv": 8.0}, "clip_qkv", id="llama-clip"),
    pytest.param(
        "meta-llama/Llama-3.2-1B",
        {"use_local_attn": True, "window_size": 8, "attn_types": ["local"] * 16},
        "use_local_attn",
        id="llama-windows",
    ),
    pytest.param(
        "mistralai/Mistral-7B-v0.1",
        {"attn_types": ["local", "global"] * 16},
        "attn_types",
        id="mistral-mixed-windows",
    ),
    pytest.param(
        "mistralai/Mistral-7B-v0.1",
        {"rotary_scaling_factor": 2.0},
        "rotary_scaling_factor",
        id="linear-scaling-on-local-layers",
    ),
    pytest.param("google/gemma-2-2b", {"attn_scale": 10.5}, "attn_scale", id="gemma2-scalar"),
    pytest.param(
        "google/gemma-3-1b-pt",
        {"use_NTK_by_parts_rope": True},
        "use_NTK_by_parts_rope",
        id="gemma3-ntk-on-global-layers-only",
    ),
    pytest.param(
        "microsoft/Phi-3-mini-4k-instruct", {"use_yarn_rope": True}, "use_yarn_rope", id="phi3-yarn"
    ),
    pytest.param("Qwen/Qwen2.5-0.5B", {"use_logn_attn": True}, "use_logn_attn", id="qwen2-logn"),
    pytest.param(
        "Qwen/Qwen2.5-0.5B",
        {"use_local_attn": True, "window_size": 8, "attn_types": ["local", "global"] * 12},
        "attn_types",
        id="qwen2-window-pattern",
    ),
    pytest.param(
        "google-t5/t5-small", {"attention_dir": "causal"}, "attention_dir", id="t5-causal"
    ),
    # What the configuration can say but TransformerLens 3.9 does not read back.
    pytest.param("gpt2", {"d_mlp": 1000}, "d_mlp", id="gpt2-n_inner-unread"),
    pytest.param("gpt2", {"tie_word_embeddings": True}, "tie_word_embeddings", id="gpt2-tied"),
    pytest.param(
        "bigcode/santacoder", {"n_key_value_heads": 1}, "n_key_value_heads", id="santacoder-mqa"
    ),
    pytest.param(
        "bigcode/santacoder", {"use_attn_scale": False}, "use_attn_scale", id="santacoder-unscaled"
    ),
    pytest.param("pythia-70m", {"rotary_base": 20000}, "rotary_base", id="neox-base-unread"),
    pytest.param("EleutherAI/gpt-j-6B", {"eps": 1e-6}, "eps", id="gptj-eps-unread"),
    pytest.param("bloom-560m", {"n_ctx": 1024}, "n_ctx", id="bloom-context-fixed"),
    pytest.param("mistralai/Mistral-7B-v0.1", {"n_ctx": 4096}, "n_ctx", id="mistral-context"),
    pytest.param(
        "mistralai/Mistral-7B-v0.1", {"use_yarn_rope": True}, "use_yarn_rope", id="mistral-yarn"
    ),
    pytest.param("meta-llama/Llama-3.2-1B", {"n_heads": 16}, "d_head", id="llama-head-dim-unread"),
    pytest.param(
        "allenai/OLMo-1B-hf", {"n_key_value_heads": 8}, "n_key_value_heads", id="olmo-gqa"
    ),
    pytest.param("microsoft/phi-1", {"n_key_value_heads": 8}, "n_key_value_heads", id="phi-gqa"),
    pytest.param("google/gemma-3-1b-pt", {"attn_scale": 12.0}, "attn_scale", id="gemma3-scale"),
    pytest.param("google/gemma-3-1b-pt", {"n_ctx": 16384}, "n_ctx", id="gemma3-context-cap"),
    pytest.param("Qwen/Qwen2.5-0.5B", {"rotary_base": 1e6}, "rotary_base", id="qwen2-float-base"),
    pytest.param("Qwen/Qwen3-0.6B", {"n_ctx": 4096}, "n_ctx", id="qwen3-context"),
    pytest.param("google-t5/t5-small", {"gated_mlp": True}, "gated_mlp", id="t5-gated"),
    pytest.param(
        "google-t5/t5-small", {"tie_word_embeddings": False}, "tie_word_embeddings", id="t5-untied"
    ),
]


@pytest.mark.parametrize(("base", "changes", "field"), REFUSALS)
def test_values_the_architecture_cannot_express_are_refused(
    base: str, changes: dict[str, Any], field: str
) -> None:
    values = {**resolve_preset(base), **changes}
    with pytest.raises(HFExportError) as info:
        to_hf_config(values)
    assert info.value.key == field
    assert str(info.value).startswith(f"key {field!r}: ")
    assert f"{field} = " in info.value.reason
    assert values["original_architecture"] in info.value.reason


# Sizes the class takes and a config.json read back cannot hold (from_hf_config takes 1 to
# 65536 layers and sizes below 2**31): refused like any other value, naming a field.
# A width of 2**31 may instead be refused by the class itself, when the parameter count it
# gives passes 64 bits; d_mlp and d_vocab of 2**31 stay within it for every architecture.
BEYOND_THE_IMPORT = [
    ("n_layers", 0),
    ("n_layers", 70000),
    ("d_model", 2**31),
    ("d_mlp", 2**31),
    ("d_vocab", 2**31),
    ("n_ctx", 2**31),
]


@pytest.mark.parametrize("arch", sorted(EXPORTABLE_ARCHITECTURES))
def test_a_size_the_import_cannot_read_back_is_refused_by_field(arch: str) -> None:
    base = resolve_preset(SMALLEST[arch])
    base = {**base, **MAKE_EXPORTABLE.get(base["original_architecture"], {})}
    read_back = 0
    for field, value in BEYOND_THE_IMPORT:
        changed = {**base, field: value}
        if field == "n_layers" and isinstance(base.get("attn_types"), list):
            # The layer pattern, laid out over the new count (a preset's `repeat`).
            kinds = base["attn_types"]
            changed["attn_types"] = [kinds[i % len(kinds)] for i in range(value)]
        with pytest.raises(PresetError) as info:
            to_hf_config(changed)
        exc = info.value
        # The changed field, or one whose relation to it breaks (d_head = d_model / heads,
        # Qwen-1's training length = its context): never only the config.json's own key.
        assert exc.key in FIELDS, str(exc)
        assert f"{exc.key} = " in exc.reason or "n_layers" in exc.reason, str(exc)
        if field == "n_layers":
            assert exc.key == "n_layers", str(exc)
        if "does not read back" in exc.reason:
            read_back += 1
            assert exc.key == field, str(exc)
    assert read_back >= 1 or arch == "QWenLMHeadModel"


@pytest.mark.parametrize(
    ("changes", "split"),
    [({"d_head": 32, "n_heads": 12}, "64"), ({"d_head": 64, "n_heads": 7}, "768 / 7, not a whole")],
    ids=["whole", "not-whole"],
)
def test_a_head_size_the_split_cannot_give_says_what_the_split_is(
    changes: dict[str, Any], split: str
) -> None:
    # d_model 768 over 7 heads is 109.7: "= 109, not 64" hid the remainder.
    with pytest.raises(HFExportError) as info:
        to_hf_config({**resolve_preset("gpt2"), **changes})
    assert info.value.key == "d_head"
    assert f"hidden_size / heads = {split}" in info.value.reason


@pytest.mark.parametrize(
    ("base", "field", "value"),
    [
        ("google/gemma-2-2b", "attn_scale", 4e9),  # its square is past 64 bits
        ("google/gemma-3-270m", "rotary_base", 9e18),  # read back as an integer
        ("google/gemma-3-270m", "rotary_base_local", 9e18),
        ("google/gemma-3-4b-it", "rotary_base", 9e18),
        # Past 2**63 the class refuses a float first, as it does an integer.
        ("google/gemma-2-2b", "attn_scale", 1e300),
        ("google/gemma-2-2b", "attn_scale", 1e154),
        ("google/gemma-3-270m", "rotary_base", 1e300),
    ],
)
def test_a_huge_float_is_refused_by_field(base: str, field: str, value: float) -> None:
    with pytest.raises(PresetError) as info:
        to_hf_config({**resolve_preset(base), field: value})
    assert info.value.key == field
    if value < 2**63:
        assert isinstance(info.value, HFExportError)
        assert f"{field} = {value}: " in info.value.reason
    else:
        assert not isinstance(info.value, HFExportError)
        assert info.value.reason == f"must be between -2**63 and 2**63 (64 bits), got {value!r}"


@pytest.mark.parametrize("n_layers", [2**40, 2**63 - 1])
def test_a_layer_count_no_file_holds_is_refused_before_anything_is_laid_out(
    n_layers: int,
) -> None:
    # One entry per layer of such a count used to be a MemoryError. 2**40 GPT-2 layers are a
    # model the class takes (just under 2**63 parameters) and a config.json cannot hold;
    # 2**63 - 1 layers the class refuses first (its parameter count passes 64 bits).
    with pytest.raises(PresetError) as info:
        to_hf_config({**resolve_preset("gpt2"), "n_layers": n_layers})
    assert info.value.key == "n_layers"
    assert f"n_layers = {n_layers}" in info.value.reason
    assert isinstance(info.value, HFExportError) == (n_layers == 2**40)


# -- every field changed, one at a time ---------------------------------------------------

# Fields TransformerLens's code for an architecture never reads: a changed value changes
# no model, and comes back as the architecture's own.
UNREAD_BY_ARCHITECTURE = {
    "BertForMaskedLM": {"normalization_type", "final_rms"},  # BertBlock's own LayerNorms
    "T5ForConditionalGeneration": {"normalization_type", "final_rms"},  # T5Block's RMSNorm
    "GptOssForCausalLM": {"norm_topk_prob"},  # GptOssMoE routes by architecture
}
# Fields whose unset value means another's: one K/V head per head, training at n_ctx, ...
UNSET_MEANS = {
    "n_key_value_heads": "n_heads",
    "train_seq_length": "n_ctx",
    "rotary_base_local": "rotary_base",
}
# A name no TransformerLens rule is keyed on (context caps, remote code, quantization).
NEUTRAL_NAME = "someone/changed-model"


def _other_values(field: str, values: dict[str, Any]) -> list[Any]:
    """Values of another kind or size than ``values[field]`` (not all of them valid)."""
    value = values[field]
    if field in FIELD_CHOICES:
        return [c for c in FIELD_CHOICES[field] if c != value]
    if isinstance(value, bool):
        return [not value]
    unset = [None] if FIELDS[field].nullable else []
    if isinstance(value, int):
        return [value * 2, value + 1, max(1, value // 2), float(value), *unset]
    if isinstance(value, float):
        return [value * 2, value / 2 if value else 0.5]
    n = values["n_layers"]
    if isinstance(value, list):
        return [["local"] * n, ["global"] * n, (["local", "global"] * n)[:n]]
    kinds = FIELDS[field].kinds
    if "int" in kinds:
        return [8, values["n_ctx"]]
    if "float" in kinds:
        return [4.0]
    return [True] if "bool" in kinds else []


def _local_layers(values: dict[str, Any]) -> list[bool]:
    kinds = values["attn_types"] if values["use_local_attn"] else None
    return [bool(kinds) and kinds[i] == "local" for i in range(values["n_layers"])]


def _changed_differently(changed: dict[str, Any], back: dict[str, Any], arch: str) -> set[str]:
    """Fields that change the model and came back otherwise (10000 and 10000.0 differ)."""
    wrong = set()
    for key in FIELDS:
        if key in NOT_EXPORTED or key in UNREAD_BY_ARCHITECTURE.get(arch, ()):
            continue
        # Not compared: a field the others make inert (YaRN settings without YaRN, ...).
        if not _relevant(key, changed) or key in ("use_local_attn", "attn_types"):
            continue
        ours, theirs = changed[key], back[key]
        if key in UNSET_MEANS:
            ours = changed[UNSET_MEANS[key]] if ours is None else ours
            theirs = back[UNSET_MEANS[key]] if theirs is None else theirs
        if not (type(ours) is type(theirs) and ours == theirs):
            wrong.add(key)
    if _local_layers(changed) != _local_layers(back):
        wrong.add("attn_types")
    return wrong


@pytest.mark.parametrize("arch", sorted(EXPORTABLE_ARCHITECTURES))
def test_a_changed_field_is_exported_faithfully_or_refused_by_name(arch: str) -> None:
    # Each field of the architecture's smallest preset, changed in turn: the export either
    # gives back the changed preset or refuses with the architecture's own reason, naming
    # a field. Under a name no TransformerLens rule looks at, no refusal may come from the
    # read-back check alone (it is there for the rules keyed on names).
    base = resolve_preset(SMALLEST[arch])
    if base["original_architecture"] == "GemmaForCausalLM":
        base = {**base, **MAKE_EXPORTABLE[arch]}
    base = {**base, "tokenizer_name": NEUTRAL_NAME, "model_name": NEUTRAL_NAME.split("/")[1]}
    checked = refused = 0
    for field in FIELDS:
        if field in NOT_EXPORTED or field in COMPUTED_ONLY:
            continue
        for other in _other_values(field, effective(base)):
            changed = {**base, field: other}
            try:
                config = to_hf_config(changed)
            except HFExportError as exc:
                refused += 1
                assert exc.key in FIELDS, f"{field} = {other!r}: {exc}"
                assert " back as " not in exc.reason and " back with " not in exc.reason, (
                    f"{field} = {other!r} is refused only by the read-back check: {exc}"
                )
                continue
            except PresetError:
                continue  # not a valid preset
            checked += 1
            back = effective(from_hf_config(json.loads(json.dumps(config))))
            assert _changed_differently(effective(changed), back, arch) == set(), (
                f"{field} = {other!r}"
            )
    assert checked > 20 and refused > 10


def test_rules_keyed_on_the_name_are_checked_by_reading_back() -> None:
    # TransformerLens caps Llama 3.2's context at 2048 by its name: the same file under
    # another name comes back with its own context.
    values = _llama_with(n_ctx=4096)
    with pytest.raises(HFExportError) as info:
        to_hf_config(values)
    assert info.value.key == "n_ctx"
    assert "for 'meta-llama/Llama-3.2-1B' back as n_ctx = 2048" in info.value.reason
    renamed = {**values, "tokenizer_name": "someone/llama-like", "model_name": "llama-like"}
    assert from_hf_config(to_hf_config(renamed))["n_ctx"] == 4096


def test_olmo3_sliding_layers_keep_their_own_base() -> None:
    # transformers 5 gives a flat rope_theta to the full-attention layers only; the
    # sliding ones take 500000 unless rope_parameters says otherwise.
    values = {**_olmo3_39(), "rotary_base": 1000000.0}
    config = to_hf_config(values)
    assert config["rope_parameters"]["sliding_attention"] == {
        "rope_type": "default",
        "rope_theta": 1000000.0,
    }
    assert config["rope_parameters"]["full_attention"]["rope_type"] == "yarn"
    back = from_hf_config(config)
    assert back["rotary_base"] == 1000000.0 and "rotary_base_local" not in back
    local = to_hf_config({**values, "rotary_base_local": 10000.0})["rope_parameters"]
    assert local["sliding_attention"]["rope_theta"] == 10000.0
    assert "rope_parameters" not in to_hf_config(_olmo3_39())  # the flat layout says it all


def test_santacoder_is_exported_as_transformerlens_builds_it() -> None:
    config = to_hf_config("santacoder")
    assert config["architectures"] == ["GPT2LMHeadCustomModel"]
    assert (config["model_type"], config["attention_head_type"]) == ("gpt2", "multihead")
    assert config["auto_map"]["AutoConfig"] == "configuration_gpt2_mq.GPT2CustomConfig"
    assert (config["n_positions"], config["n_embd"], config["n_head"]) == (2048, 2048, 16)
    assert config["scale_attn_weights"] is True and "n_ctx" not in config


def test_yarn_scope_must_match() -> None:
    # OLMo 3 scales only full-attention layers, gpt-oss every layer.
    with pytest.raises(HFExportError) as info:
        to_hf_config({**_olmo3_39(), "yarn_global_attn_only": False})
    assert info.value.key == "yarn_global_attn_only"
    with pytest.raises(HFExportError) as info:
        to_hf_config({**_gpt_oss_39(), "yarn_global_attn_only": True})
    assert info.value.key == "yarn_global_attn_only"


def test_a_refusal_names_the_preset_and_every_other_field() -> None:
    with pytest.raises(HFExportError) as info:
        to_hf_config("google/gemma-2b")
    assert info.value.preset == "google/gemma-2b" and info.value.key == "act_fn"
    values = {**resolve_preset("gpt2"), "gated_mlp": True, "post_embedding_ln": True}
    with pytest.raises(HFExportError, match=r"\(also: post_embedding_ln\)"):
        to_hf_config(values)


def test_fields_that_change_nothing_are_not_checked() -> None:
    # Without local attention, attn_types and window_size are not read; with
    # RMSNorm, final_rms is not; without YaRN, its settings are not.
    values = _llama_with(attn_types=["local"] * 16, window_size=4, final_rms=False, yarn_factor=3.0)
    assert to_hf_config(values) == to_hf_config(_llama_with())


def test_how_transformerlens_runs_a_model_is_not_exported() -> None:
    plain = to_hf_config("gpt2")
    runtime = {
        "use_attn_result": True,
        "use_hook_tokens": True,
        "seed": 3,
        "dtype": "bfloat16",
        "n_devices": 1,
        "default_prepend_bos": False,
        "trust_remote_code": True,
    }
    assert to_hf_config({**resolve_preset("gpt2"), **runtime}) == plain
    assert set(NOT_EXPORTED) <= set(FIELDS)


def test_linear_scaling_only_where_transformerlens_reads_it() -> None:
    # Gemma 3 scales its global layers linearly, and TransformerLens reads the factor.
    gemma3 = {**resolve_preset("google/gemma-3-1b-pt"), "rotary_scaling_factor": 4.0}
    config = to_hf_config(gemma3)
    assert config["rope_scaling"] == {"rope_type": "linear", "factor": 4.0}
    assert from_hf_config(config)["rotary_scaling_factor"] == 4.0
    # TransformerLens 3.9 reads only Llama 3's NTK-by-parts scaling from a Llama config:
    # a linear rope_scaling there would build a model it reads without the scaling.
    with pytest.raises(HFExportError) as info:
        to_hf_config(_llama_with(use_NTK_by_parts_rope=False, rotary_scaling_factor=4.0))
    assert info.value.key == "rotary_scaling_factor"
    assert "TransformerLens reads no linear rope scaling" in info.value.reason


def test_initializer_range_is_exported_only_when_set() -> None:
    assert "initializer_range" not in to_hf_config("gpt2")  # derived: transformers' own default
    assert to_hf_config("Qwen/Qwen2.5-0.5B")["initializer_range"] == 0.02
    assert (
        to_hf_config({**resolve_preset("opt-125m"), "initializer_range": 0.01})["init_std"] == 0.01
    )


def test_unknown_architecture_and_bad_input_are_preset_errors() -> None:
    with pytest.raises(HFExportError) as info:
        to_hf_config("attn-only-1l")  # a TransformerLens-only model
    assert info.value.key == "original_architecture"
    with pytest.raises(HFExportError, match="did you mean 'LlamaForCausalLM'") as info:
        to_hf_config(TINY, architecture="LlamaForCausalLm")
    assert info.value.key == "architecture"
    with pytest.raises(PresetNotFoundError):
        to_hf_config("no-such-model-anywhere")
    with pytest.raises(PresetError) as bad:
        to_hf_config({**TINY, "n_layer": 2}, architecture="GPT2LMHeadModel")
    assert bad.value.key == "n_layer"
    with pytest.raises(PresetError):
        to_hf_config(42)  # type: ignore[arg-type]


def test_an_architecture_can_be_chosen_for_a_custom_preset() -> None:
    config = to_hf_config({**TINY, "act_fn": "gelu_new"}, architecture="GPT2LMHeadModel")
    assert (config["n_embd"], config["n_layer"], config["n_head"]) == (64, 2, 4)
    assert config["_name_or_path"] == "custom"


def test_import_keeps_a_default_value_of_another_type() -> None:
    # The round trip depends on it: 10000.0 is not the default 10000.
    values = from_hf_config(
        {
            "architectures": ["OlmoForCausalLM"],
            "hidden_size": 64,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "vocab_size": 100,
            "rope_theta": 10000.0,
        },
        name="me/tiny",
    )
    assert values["rotary_base"] == 10000.0 and isinstance(values["rotary_base"], float)


# -- transformers builds what is exported -----------------------------------------------

# Per architecture, changes that make the smallest bundled preset exportable, where the
# preset itself is not (see KNOWN_GAPS); applied only while the preset is refused.
MAKE_EXPORTABLE = {
    "GemmaForCausalLM": {"act_fn": "gelu_pytorch_tanh"},
}
# SantaCoder's folder says model_type "gpt2" and names its remote classes in auto_map.
# Without trust_remote_code (and offline, the model repository's code is out of reach)
# transformers builds it with its own GPT2Config and GPT2LMHeadModel, the classes the
# remote ones extend; with attention_head_type "multihead", the remote class is that same
# network (its multi-query attention is the one thing it changes).
BUILT_WITHOUT_REMOTE_CODE = {"GPT2LMHeadCustomModel": "GPT2LMHeadModel"}
AUTO_CLASS = {
    "BertForMaskedLM": "AutoModelForMaskedLM",
    "T5ForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "Gemma3ForConditionalGeneration": "AutoModelForImageTextToText",
}


def _smallest_per_architecture() -> dict[str, str]:
    best: dict[str, tuple[int, str]] = {}
    for name, values in BUNDLED.items():
        size = check_and_derive(values)["n_params"]
        arch = values["original_architecture"]
        if arch not in best or (size, name) < best[arch]:
            best[arch] = (size, name)
    return {arch: name for arch, (_, name) in best.items()}


SMALLEST = _smallest_per_architecture()


@pytest.mark.parametrize("arch", sorted(SMALLEST))
def test_transformers_builds_the_exported_config(
    arch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if arch == "QWenLMHeadModel":
        pytest.skip(
            "Qwen-1 (QWenLMHeadModel) runs on code from its Hub repository; transformers "
            "cannot build it offline without that remote code"
        )
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = SMALLEST[arch]
    values = resolve_preset(name)
    try:
        config = to_hf_config(values)
    except HFExportError:
        values = {**values, **MAKE_EXPORTABLE[arch]}
        config = to_hf_config(values)
    (tmp_path / "config.json").write_text(json.dumps(config, indent=2))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notes about legacy keys
        loaded = transformers.AutoConfig.from_pretrained(tmp_path)
        auto = getattr(transformers, AUTO_CLASS.get(arch, "AutoModelForCausalLM"))
        with torch.device("meta"):
            model = auto.from_config(loaded)
    assert type(model).__name__ == BUILT_WITHOUT_REMOTE_CODE.get(arch, arch)

    want = effective(values)
    text = model.config.get_text_config()
    n_kv = want["n_key_value_heads"] or want["n_heads"]
    assert (text.hidden_size, text.num_hidden_layers) == (want["d_model"], want["n_layers"])
    assert text.num_attention_heads == want["n_heads"]
    assert getattr(text, "num_key_value_heads", want["n_heads"]) == n_kv
    assert text.vocab_size == want["d_vocab"]
    assert tuple(model.get_input_embeddings().weight.shape) == (want["d_vocab"], want["d_model"])
    # The blocks really built: the highest layer index among the language model's weights.
    indices = {
        int(i)
        for key, _ in model.named_parameters()
        if "vision" not in key
        for i in re.findall(r"\.(?:h|layers|layer|block)\.(\d+)\.", key)
    }
    assert max(indices) + 1 == want["n_layers"]
    if arch == "GPT2LMHeadCustomModel":
        # A key and a value projection per head, as TransformerLens builds SantaCoder.
        assert loaded.attention_head_type == "multihead"
        c_attn = model.transformer.h[0].attn.c_attn.weight
        assert tuple(c_attn.shape) == (want["d_model"], 3 * want["n_heads"] * want["d_head"])


def test_exporting_and_the_schema_import_neither_torch_nor_numpy() -> None:

    code = (
        "import sys\n"
        "from transformer_presets.hf.exporting import to_hf_config\n"
        "from transformer_presets.fields.schema import schema_text\n"
        "to_hf_config('gpt2'); to_hf_config('google/gemma-3-4b-pt'); schema_text()\n"
        "print(sorted({'torch', 'numpy', 'transformers'} & set(sys.modules)))\n"
    )
    assert python_c(code).strip() == "[]"


# -- TransformerLens reads the exports back ------------------------------------------------

# Architectures TransformerLens 3.9 converts only from a model's name (it never reads their
# config.json): its conversion of an exported folder has no branch for them.
TL_BY_NAME_ONLY = {
    "GemmaForCausalLM",
    "Gemma2ForCausalLM",
    "Gemma3ForCausalLM",
    "Gemma3ForConditionalGeneration",
    "OlmoForCausalLM",
    "Olmo2ForCausalLM",
}

# Presets with TransformerLens 3.9's new fields in use, or with values their architecture's
# smallest preset does not show.
TL_READS_BACK = {
    "gpt-oss-3.9": _gpt_oss_39,
    "olmo3-3.9": _olmo3_39,
    "olmo3-own-sliding-base": lambda: {**_olmo3_39(), "rotary_base": 1000000.0},
    "mixtral-renormalised": lambda: resolve_preset("mistralai/Mixtral-8x7B-v0.1"),
    "olmoe-clip-qkv": lambda: {**resolve_preset("allenai/OLMoE-1B-7B-0924"), "clip_qkv": 4.0},
    "neox-sequential": lambda: {**resolve_preset("pythia-70m"), "parallel_attn_mlp": False},
    "phi3-windowed": lambda: resolve_preset("microsoft/Phi-3-mini-4k-instruct"),
    "qwen-1-long-context": lambda: resolve_preset("Qwen/Qwen-1_8B"),
    "santacoder": lambda: resolve_preset("bigcode/santacoder"),
    **{
        f"smallest-{arch}": (lambda name=name: resolve_preset(name))
        for arch, name in SMALLEST.items()
        if arch not in TL_BY_NAME_ONLY
    },
}


@pytest.mark.parametrize("case", sorted(TL_READS_BACK))
def test_transformerlens_converts_the_export_back(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An independent reader: TransformerLens's own conversion, given the folder. The two
    # remote-code architectures are read without their remote code (Qwen-1 over its
    # published QWenConfig defaults, SantaCoder as the GPT2Config it extends), as in
    # test_tl39_conversion.
    pytest.importorskip("transformers")
    loading = pytest.importorskip("transformer_lens.loading_from_pretrained")
    from tools.tl39_reference import FixtureAutoConfig

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(loading, "AutoConfig", FixtureAutoConfig(restore_phi=True))
    values = TL_READS_BACK[case]()
    config = to_hf_config(values)
    # TransformerLens takes the folder's path as the model's name, and would convert a
    # path that mentions Llama or Gemma from its own tables, not from the file.
    folder = tmp_path / "export"
    assert "llama" not in str(folder).lower() and "gemma" not in str(folder).lower()
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = loading.convert_hf_model_config(str(folder))
    want = effective(values)
    wrong = {}
    for key, value in converted.items():
        # How it loads; the folder's path; a permission TransformerLens gives by name.
        if key in ("dtype", "tokenizer_name", "trust_remote_code"):
            continue
        expected = want[key]
        numbers = all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in (value, expected)
        )
        # TransformerLens writes some settings as floats (float(factor)): compare numbers by value.
        if not (math.isclose(value, expected) if numbers else _same_typed(value, expected)):
            wrong[key] = (expected, value)
    assert wrong == {}


def _same_typed(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
