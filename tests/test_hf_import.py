"""Tests for importing a Hugging Face ``config.json`` as preset values.

Each folder under ``data/hf_configs`` holds a real model's ``config.json``
(folder name: the model name with ``/`` written ``__``). Importing it must give
the same ``HookedTransformerConfig`` as TransformerLens does for that model,
which ``data/transformerlens_models.jsonl`` records.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from transformer_presets.config import HookedTransformerConfig
from transformer_presets.errors import PresetError
from transformer_presets.hf_import import (
    SUPPORTED_ARCHITECTURES,
    HFConfigError,
    closest_preset,
    diff_values,
    from_hf_config,
)
from transformer_presets.schema import FIELDS, defaults

from .conftest import DATA

FIXTURES = sorted(p for p in (DATA / "hf_configs").iterdir() if (p / "config.json").is_file())
# Fields that depend on the machine or on how weights are loaded, not on the model.
NOT_COMPARED = {"device", "init_weights"}


def _reference() -> dict[str, dict[str, Any]]:
    with (DATA / "transformerlens_models.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {row["name"]: row["config"] for row in rows}


REFERENCE = _reference()


def _model_name(fixture: Path) -> str:
    return fixture.name.replace("__", "/")


def _raw(folder: str) -> dict[str, Any]:
    """The parsed ``config.json`` of the fixture in ``folder``."""
    data: dict[str, Any] = json.loads((DATA / "hf_configs" / folder / "config.json").read_text())
    return data


def _import(folder: str) -> dict[str, Any]:
    """Import the fixture in ``folder`` under its model's name."""
    return from_hf_config(DATA / "hf_configs" / folder, name=folder.replace("__", "/"))


def _build(values: dict[str, Any]) -> dict[str, Any]:
    """The resolved config for ``values``, as a dict with ``dtype`` as its name."""
    out = HookedTransformerConfig(**values).to_dict()
    out["dtype"] = str(out["dtype"]).removeprefix("torch.")
    return out


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) and not isinstance(actual, bool):
        # The reference rounds floats to 10 decimals (BERT's eps 1e-12 reads 0.0).
        return isinstance(actual, int | float) and math.isclose(
            expected, actual, rel_tol=1e-6, abs_tol=1e-9
        )
    return bool(expected == actual) and isinstance(actual, bool) == isinstance(expected, bool)


def _mismatches(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    return [
        f"{key}: expected {value!r}, got {actual.get(key, '<missing>')!r}"
        for key, value in expected.items()
        if key not in NOT_COMPARED and not _same(value, actual.get(key))
    ]


def test_every_fixture_has_a_reference_model() -> None:
    assert FIXTURES
    missing = [_model_name(p) for p in FIXTURES if _model_name(p) not in REFERENCE]
    assert missing == []


def test_fixtures_cover_every_supported_architecture() -> None:
    seen = {json.loads((p / "config.json").read_text())["architectures"][0] for p in FIXTURES}
    assert seen == set(SUPPORTED_ARCHITECTURES)


def test_every_hf_architecture_in_the_reference_is_supported() -> None:
    # The rest are TransformerLens's own formats (NeelNanda, minGPT) and audio models.
    not_from_hf_text = {"neel", "neel-solu-old", "mingpt", "HubertModel", "Wav2Vec2ForPreTraining"}
    archs = {cfg["original_architecture"] for cfg in REFERENCE.values()}
    assert archs - not_from_hf_text == set(SUPPORTED_ARCHITECTURES)


@pytest.mark.parametrize("fixture", FIXTURES, ids=_model_name)
def test_import_matches_transformerlens(fixture: Path) -> None:
    name = _model_name(fixture)
    values = from_hf_config(fixture / "config.json", name=name)
    assert _mismatches(REFERENCE[name], _build(values)) == []


@pytest.mark.parametrize("fixture", FIXTURES, ids=_model_name)
def test_import_equals_the_bundled_preset_field_by_field(fixture: Path) -> None:
    from transformer_presets import get_preset

    name = _model_name(fixture)
    bundled = get_preset(name).to_dict()
    bundled["dtype"] = str(bundled["dtype"]).removeprefix("torch.")
    imported = _build(from_hf_config(fixture, name=name))
    assert _mismatches(bundled, imported) == []


@pytest.mark.parametrize("fixture", FIXTURES, ids=_model_name)
def test_import_toml_registry_round_trip(fixture: Path, tmp_path: Path) -> None:
    from transformer_presets import PresetRegistry

    name = _model_name(fixture)
    values = from_hf_config(fixture, name=name)
    path = tmp_path / "imported.toml"
    path.write_text(tomli_w.dumps({"imported": values}))
    registry = PresetRegistry([path], use_cache=False)
    if values.get("trust_remote_code"):
        # A user file that turns on remote code is loaded with a warning.
        with pytest.warns(UserWarning, match="trust_remote_code"):
            assert registry.resolve("imported") == values
    else:
        assert registry.resolve("imported") == values


@pytest.mark.parametrize("fixture", FIXTURES, ids=_model_name)
def test_values_are_plain_toml_and_survive_a_round_trip(fixture: Path) -> None:
    name = _model_name(fixture)
    values = from_hf_config(fixture, name=name)
    assert None not in values.values()
    text = tomli_w.dumps({name: values})
    assert tomllib.loads(text)[name] == values


@pytest.mark.parametrize("fixture", FIXTURES, ids=_model_name)
def test_values_leave_out_defaults_and_computed_fields(fixture: Path) -> None:
    values = from_hf_config(fixture, name=_model_name(fixture))
    specs = defaults()
    assert set(values) <= set(FIELDS)
    assert not {"n_params", "device", "init_weights", "dtype", "d_vocab_out"} & set(values)
    # Same value and same type: 10000.0 where the default is 10000 is kept.
    at_default = [
        k for k, v in values.items() if k in specs and type(specs[k]) is type(v) and specs[k] == v
    ]
    assert at_default == []


def test_folder_file_and_mapping_forms_agree() -> None:
    folder = DATA / "hf_configs" / "EleutherAI__pythia-70m"
    mapping = json.loads((folder / "config.json").read_text())
    name = "EleutherAI/pythia-70m"
    expected = from_hf_config(folder / "config.json", name=name)
    assert from_hf_config(folder, name=name) == expected
    assert from_hf_config(str(folder), name=name) == expected
    assert from_hf_config(mapping, name=name) == expected


def test_name_falls_back_to_name_or_path() -> None:
    values = from_hf_config(DATA / "hf_configs" / "meta-llama__Llama-2-7b-hf")
    assert values["model_name"] == "Llama-2-7b-hf"
    assert values["tokenizer_name"] == "meta-llama/Llama-2-7b-hf"


def test_explicit_name_wins_over_name_or_path() -> None:
    values = from_hf_config(DATA / "hf_configs" / "facebook__opt-125m", name="me/my-opt")
    assert (values["model_name"], values["tokenizer_name"]) == ("my-opt", "me/my-opt")


def test_missing_name_is_an_error() -> None:
    with pytest.raises(HFConfigError, match="no model name"):
        from_hf_config({"architectures": ["GPT2LMHeadModel"]})


def test_rope_key_layouts_agree() -> None:
    old = _raw("meta-llama__Llama-3.2-1B")
    new = {k: v for k, v in old.items() if k not in ("rope_theta", "rope_scaling", "torch_dtype")}
    new["rope_parameters"] = {**old["rope_scaling"], "rope_theta": old["rope_theta"]}
    new["dtype"] = old["torch_dtype"]
    name = "meta-llama/Llama-3.2-1B"
    assert from_hf_config(new, name=name) == from_hf_config(old, name=name)


def test_unscaled_rope_parameters_mean_no_scaling() -> None:
    values = _import("mistralai__Mistral-Nemo-Base-2407")
    assert values["rotary_base"] == 1000000.0
    assert not {"use_NTK_by_parts_rope", "use_yarn_rope"} & set(values)


def test_gemma3_per_layer_type_rope_parameters() -> None:
    # transformers 5 gives Gemma 3 one rope_parameters entry per layer type.
    path = DATA / "hf_configs" / "google__gemma-3-4b-pt" / "config.json"
    data = json.loads(path.read_text())
    text = data["text_config"]
    del text["rope_scaling"]
    text["rope_parameters"] = {
        "full_attention": {"factor": 8.0, "rope_theta": 1000000.0, "rope_type": "linear"},
        "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"},
    }
    name = "google/gemma-3-4b-pt"
    assert from_hf_config(data, name=name) == from_hf_config(path, name=name)


# --- errors ---------------------------------------------------------------------


def test_unknown_architecture_lists_the_supported_ones() -> None:
    with pytest.raises(HFConfigError) as info:
        from_hf_config({"architectures": ["MambaForCausalLM"]}, name="state-spaces/mamba")
    message = str(info.value)
    assert "MambaForCausalLM" in message
    assert all(arch in message for arch in SUPPORTED_ARCHITECTURES)
    assert info.value.key == "architectures"


def test_errors_belong_to_the_project_family() -> None:
    assert issubclass(HFConfigError, PresetError)
    assert issubclass(HFConfigError, ValueError)


def test_missing_required_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    data = _raw("Qwen__Qwen2.5-0.5B")
    del data["hidden_size"]
    path.write_text(json.dumps(data))
    with pytest.raises(HFConfigError) as info:
        from_hf_config(tmp_path, name="Qwen/Qwen2.5-0.5B")
    assert str(path) in str(info.value)
    assert "'hidden_size'" in str(info.value)
    assert "Qwen2ForCausalLM" in str(info.value)
    assert (info.value.file, info.value.key) == (str(path), "hidden_size")


def test_missing_key_in_a_nested_object_names_its_path() -> None:
    data = {"architectures": ["Gemma3ForConditionalGeneration"], "text_config": {"head_dim": "x"}}
    with pytest.raises(HFConfigError, match=r"key 'text_config\.head_dim': expected an integer"):
        from_hf_config(data, name="google/gemma-3-4b-pt")


def test_missing_architectures_is_an_error() -> None:
    with pytest.raises(HFConfigError, match="key 'architectures': missing required key"):
        from_hf_config({"model_type": "gpt2"}, name="gpt2")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        pytest.param("n_layer", True, "expected an integer, got bool", id="bool-for-int"),
        pytest.param("n_layer", 12.5, "expected an integer, got float", id="float-for-int"),
        pytest.param("layer_norm_epsilon", "1e-5", "expected a number", id="str-for-float"),
        pytest.param("activation_function", 3, "expected a string", id="int-for-str"),
        pytest.param("n_head", 0, "must be positive", id="zero-heads"),
        pytest.param("torch_dtype", 16, "expected a string", id="int-dtype"),
    ],
)
def test_mistyped_value_names_the_key(key: str, value: Any, expected: str) -> None:
    data = _raw("gpt2") | {key: value}
    with pytest.raises(HFConfigError, match=expected):
        from_hf_config(data, name="gpt2")


def test_malformed_json_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "architectures": ["GPT2LMHeadModel"],\n  "n_layer": 12,,\n}\n')
    with pytest.raises(HFConfigError) as info:
        from_hf_config(path, name="gpt2")
    assert (info.value.line, info.value.col) == (3, 17)
    assert str(info.value).startswith(f"{path}:3:17: invalid JSON")


def test_architectures_entry_that_is_not_a_name() -> None:
    with pytest.raises(HFConfigError, match="unsupported architecture"):
        from_hf_config({"architectures": [["GPT2LMHeadModel"]]}, name="gpt2")


def test_source_of_the_wrong_type() -> None:
    with pytest.raises(HFConfigError, match="expected a path or a mapping, got int"):
        from_hf_config(42, name="gpt2")  # type: ignore[arg-type]


def test_zero_heads_names_the_key_the_file_uses() -> None:
    with pytest.raises(HFConfigError, match="key 'n_head': must be positive"):
        from_hf_config(_raw("gpt2") | {"n_head": 0}, name="gpt2")


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2]")
    with pytest.raises(HFConfigError, match="expected a JSON object, got list"):
        from_hf_config(path, name="gpt2")


def test_folder_without_config_json(tmp_path: Path) -> None:
    with pytest.raises(HFConfigError, match="no such file") as info:
        from_hf_config(tmp_path, name="gpt2")
    assert info.value.file == str(tmp_path / "config.json")


def test_gpt_neo_layer_list_of_wrong_length() -> None:
    data = _raw("EleutherAI__gpt-neo-125M")
    data["attention_layers"] = ["global"]
    with pytest.raises(HFConfigError, match="expected 12 entries"):
        from_hf_config(data, name="EleutherAI/gpt-neo-125M")


def test_gpt_neo_compact_attention_types_are_expanded() -> None:
    data = _raw("EleutherAI__gpt-neo-125M")
    del data["attention_layers"]
    values = from_hf_config(data, name="EleutherAI/gpt-neo-125M")
    assert values["attn_types"] == ["global", "local"] * 6


# --- name-based rules ------------------------------------------------------------


def test_context_caps_follow_the_name() -> None:
    tiny = DATA / "hf_configs" / "roneneldan__TinyStories-1M"
    # TinyStories is trimmed to 512 tokens only under its own name.
    assert from_hf_config(tiny, name="roneneldan/TinyStories-1M")["n_ctx"] == 512
    assert from_hf_config(tiny, name="me/gpt-neo-tiny")["n_ctx"] == 2048


def test_code_llama_keeps_llama_2_context() -> None:
    # Code Llama's file says 16384 positions; TransformerLens uses 4096.
    data = _raw("meta-llama__Llama-2-7b-hf") | {
        "max_position_embeddings": 16384,
        "rope_theta": 1000000,
        "vocab_size": 32016,
    }
    name = "codellama/CodeLlama-7b-hf"
    assert _mismatches(REFERENCE[name], _build(from_hf_config(data, name=name))) == []


def test_trust_remote_code_follows_the_name() -> None:
    oss = DATA / "hf_configs" / "openai__gpt-oss-20b"
    assert from_hf_config(oss, name="openai/gpt-oss-20b")["trust_remote_code"] is True
    assert "trust_remote_code" not in from_hf_config(oss, name="me/my-oss")


# --- diff_values and closest_preset ----------------------------------------------


def test_diff_values_keeps_only_what_differs() -> None:
    base = from_hf_config(DATA / "hf_configs" / "gpt2", name="gpt2")
    child = base | {"n_layers": 6, "model_name": "distilgpt2", "tokenizer_name": "distilgpt2"}
    assert diff_values(child, base) == {
        "n_layers": 6,
        "model_name": "distilgpt2",
        "tokenizer_name": "distilgpt2",
    }
    assert diff_values(base, base) == {}


def test_diff_values_resets_what_the_base_sets_and_values_do_not() -> None:
    base = {"n_layers": 2, "eps": 1e-6, "window_size": 8, "use_local_attn": True}
    assert diff_values({"n_layers": 2}, base) == {
        "eps": 1e-5,
        "use_local_attn": False,
        "unset": ["window_size"],
    }


def test_diff_values_restates_a_default_the_base_set_to_none(tmp_path: Path) -> None:
    # The Shortformer demo has no normalization ('none' key); a child that wants
    # the default LayerNorm back must say so, or it would inherit None.
    from transformer_presets import PresetRegistry, resolve_preset

    base_name = "NeelNanda/Attn-Only-2L512W-Shortformer-6B-big-lr"
    base = resolve_preset(base_name)
    assert base["normalization_type"] is None
    values = {k: v for k, v in base.items() if k != "normalization_type"}
    diff = diff_values(values, base)
    assert diff == {"normalization_type": "LN"}
    path = tmp_path / "child.toml"
    path.write_text(tomli_w.dumps({"child": {"extends": base_name, **diff}}))
    child = PresetRegistry([path], use_cache=False).resolve("child")
    assert child["normalization_type"] == "LN"
    assert diff_values({"n_key_value_heads": None}, {"n_key_value_heads": 4}) == {
        "none": ["n_key_value_heads"]
    }


def test_diff_values_treats_int_and_float_alike_but_not_bool() -> None:
    assert diff_values({"rotary_base": 10000}, {"rotary_base": 10000.0}) == {}
    assert diff_values({"n_key_value_heads": 1}, {"n_key_value_heads": True}) == {
        "n_key_value_heads": 1
    }


def test_diff_values_applied_to_base_gives_values() -> None:
    base = _import("mistralai__Mistral-7B-v0.1")
    values = _import("mistralai__Mistral-Nemo-Base-2407")
    diff = diff_values(values, base)
    merged = {k: v for k, v in base.items() if k not in diff.get("unset", [])} | diff
    merged.pop("unset", None)
    specs = defaults()
    assert {k: v for k, v in merged.items() if not _same(specs.get(k), v)} == values


def test_closest_preset_prefers_same_architecture_then_fewest_differences() -> None:
    pythia = _import("EleutherAI__pythia-70m")
    candidates = {
        "pythia-160m": _import("EleutherAI__pythia-160m"),
        "gpt2": _import("gpt2"),
        "gpt-neo": _import("EleutherAI__gpt-neo-125M"),
        # Identical apart from the architecture name: still loses.
        "impostor": pythia | {"original_architecture": "GPT2LMHeadModel"},
    }
    assert closest_preset(pythia, candidates) == "pythia-160m"
    del candidates["pythia-160m"]
    assert closest_preset(pythia, candidates) == "impostor"


def test_closest_preset_needs_candidates() -> None:
    with pytest.raises(HFConfigError, match="no presets"):
        closest_preset({"n_layers": 1}, {})
