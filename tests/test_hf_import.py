"""Tests for importing a Hugging Face ``config.json`` as preset values.

Each folder under ``data/hf_configs`` holds a real model's ``config.json``
(folder name: the model name with ``/`` written ``__``). Importing it must give
the same ``HookedTransformerConfig`` as TransformerLens 3.9 does for that
model, which ``data/transformerlens_models.jsonl`` records (and which
``test_tl39_conversion.py`` checks against TransformerLens itself, when it is
installed). The second half feeds the import hostile input: it must answer
with an ``HFConfigError`` naming the file and the key, and with nothing else.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transformer_presets.config.hooked import HookedTransformerConfig
from transformer_presets.errors import PresetError
from transformer_presets.fields.keys import FIELDS, defaults
from transformer_presets.hf.extending import closest_preset, diff_values, differing_fields
from transformer_presets.hf.importing import (
    SUPPORTED_ARCHITECTURES,
    HFConfigError,
    HFConfigNote,
    from_hf_config,
)

from .conftest import DATA

HF = DATA / "hf_configs"
FIXTURES = sorted(p for p in HF.iterdir() if (p / "config.json").is_file())
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


def test_without_a_name_model_name_keeps_the_class_default() -> None:
    values = from_hf_config({"architectures": ["GPT2LMHeadModel"], "n_ctx": 1024})
    assert "model_name" not in values and "tokenizer_name" not in values
    assert HookedTransformerConfig(**values).model_name == "custom"


@pytest.mark.parametrize("folder", sorted(p.name for p in HF.iterdir()))
def test_every_fixture_imports_without_a_name(folder: str) -> None:
    # 28 of the 33 fixtures have no _name_or_path; the name is optional.
    values = from_hf_config(HF / folder)
    written = _raw(folder).get("_name_or_path")
    if written:
        assert values["tokenizer_name"] == written
    else:
        assert "tokenizer_name" not in values and "model_name" not in values


def test_a_local_path_in_name_or_path_is_not_a_name() -> None:
    data = {"architectures": ["GPT2LMHeadModel"], "n_ctx": 1024, "_name_or_path": "/ckpt/final"}
    assert "model_name" not in from_hf_config(data)


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


@pytest.mark.parametrize(
    ("folder", "key", "arch"),
    [
        # Keys TransformerLens reads that the config class has no default for.
        ("Qwen__Qwen-1_8B", "seq_length", "QWenLMHeadModel"),
    ],
)
def test_missing_required_key_names_the_key_and_the_file(
    tmp_path: Path, folder: str, key: str, arch: str
) -> None:
    path = tmp_path / "config.json"
    data = _raw(folder)
    del data[key]
    path.write_text(json.dumps(data))
    with pytest.raises(HFConfigError) as info:
        from_hf_config(tmp_path, name=folder.replace("__", "/"))
    assert str(path) in str(info.value)
    assert f"'{key}'" in str(info.value)
    assert arch in str(info.value)
    assert (info.value.file, info.value.key) == (str(path), key)


@pytest.mark.parametrize(
    ("folder", "key", "field", "expected"),
    [
        # transformers' ApertusConfig has no qk_norm: the model always normalises Q and K.
        ("swiss-ai__Apertus-8B-2509", "qk_norm", "use_qk_norm", True),
        # GPTNeoXConfig's default is the parallel residual every Pythia uses.
        ("EleutherAI__pythia-70m", "use_parallel_residual", "parallel_attn_mlp", True),
        # MistralConfig's default window is 4096.
        ("mistralai__Mistral-7B-v0.1", "sliding_window", "window_size", 4096),
        # Qwen3Config's head_dim defaults to 128 whatever the width.
        ("Qwen__Qwen3-0.6B", "head_dim", "d_head", 128),
        # gpt-oss without rope_scaling: GptOssConfig's own YaRN settings.
        ("openai__gpt-oss-20b", "rope_scaling", "yarn_factor", 32.0),
    ],
)
def test_a_missing_key_takes_the_config_class_default(
    folder: str, key: str, field: str, expected: Any
) -> None:
    data = _raw(folder)
    del data[key]
    name = folder.replace("__", "/")
    values = from_hf_config(data, name=name)
    assert _build(values)[field] == expected


def test_a_default_that_makes_a_model_no_one_can_build_is_refused_by_name(
    tmp_path: Path,
) -> None:
    # Qwen2Config's K/V head count defaults to 32, not to the head count: for
    # Qwen2.5-0.5B's 14 query heads no model has that, so the file is refused,
    # naming the field, instead of giving values that fail when built.
    data = _raw("Qwen__Qwen2.5-0.5B")
    del data["num_key_value_heads"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(HFConfigError) as info:
        from_hf_config(path, name="Qwen/Qwen2.5-0.5B")
    assert (info.value.file, info.value.key) == (str(path), "n_key_value_heads")
    assert "got 32" in info.value.reason


@pytest.mark.parametrize(
    ("folder", "key", "value", "field"),
    [
        # TransformerLens takes these; no model has them, and no preset can hold them.
        ("allenai__OLMo-1B-hf", "clip_qkv", -1, "clip_qkv"),
        ("01-ai__Yi-6B", "num_key_value_heads", 5, "n_key_value_heads"),
        # More experts than TransformerLens builds (one module each), and a float field
        # past 64 bits (to JSON, a whole number like the integers refused there).
        ("mistralai__Mixtral-8x7B-v0.1", "num_local_experts", 65_537, "num_experts"),
        ("allenai__OLMo-1B-hf", "clip_qkv", 1e19, "clip_qkv"),
    ],
)
def test_values_no_preset_can_hold_are_refused_at_import(
    tmp_path: Path, folder: str, key: str, value: Any, field: str
) -> None:
    data = _raw(folder) | {key: value}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(HFConfigError) as info:
        from_hf_config(path, name=folder.replace("__", "/"))
    assert (info.value.file, info.value.key) == (str(path), field)


def test_apertus_has_qk_norm_whatever_the_file_says() -> None:
    data = _raw("swiss-ai__Apertus-8B-2509") | {"qk_norm": False}
    assert from_hf_config(data, name="swiss-ai/Apertus-8B-2509")["use_qk_norm"] is True


def test_an_explicit_null_is_not_a_missing_key() -> None:
    # MistralConfig's default window is 4096, but the file may turn it off.
    nemo = _import("mistralai__Mistral-Nemo-Base-2407")
    assert "use_local_attn" not in nemo and "window_size" not in nemo
    data = _raw("mistralai__Mistral-Nemo-Base-2407")
    del data["sliding_window"]
    windowed = from_hf_config(data, name="mistralai/Mistral-Nemo-Base-2407")
    assert (windowed["use_local_attn"], windowed["window_size"]) == (True, 4096)


def test_alias_keys_are_read_as_the_config_class_reads_them() -> None:
    # GPT2Config's attribute_map: hidden_size is n_embd, and wins when both are given.
    data = _raw("gpt2")
    spelled = {k: v for k, v in data.items() if k != "n_embd"} | {"hidden_size": 768}
    assert from_hf_config(spelled, name="gpt2") == from_hf_config(data, name="gpt2")
    both = data | {"hidden_size": 1024}
    assert from_hf_config(both, name="gpt2")["d_model"] == 1024


def test_t5_context_comes_from_n_positions() -> None:
    # transformers 5 keeps no top-level max_length, so TransformerLens reads n_positions.
    data = _raw("google-t5__t5-small") | {"max_length": 20}
    assert _build(from_hf_config(data, name="google-t5/t5-small"))["n_ctx"] == 512


def test_gpt2_as_transformers_5_saves_it_takes_its_context_from_n_positions() -> None:
    # GPT2Config no longer writes the legacy n_ctx (TransformerLens 3.9 fails on such a file).
    data = _raw("gpt2")
    assert data["n_ctx"] == data["n_positions"] == 1024
    saved = {k: v for k, v in data.items() if k != "n_ctx"}
    assert from_hf_config(saved, name="gpt2") == from_hf_config(data, name="gpt2")
    assert from_hf_config(saved | {"n_positions": 256}, name="gpt2")["n_ctx"] == 256
    assert from_hf_config(saved | {"max_position_embeddings": 128}, name="gpt2")["n_ctx"] == 128
    assert _build(from_hf_config({"architectures": ["GPT2LMHeadModel"]}))["n_ctx"] == 1024
    # Where the file has n_ctx, TransformerLens reads it, whatever n_positions says.
    assert from_hf_config(data | {"n_positions": 2048}, name="gpt2")["n_ctx"] == 1024


def test_t5_as_transformers_5_saves_it_gets_what_t5_files_carry_with_a_note(
    tmp_path: Path,
) -> None:
    # T5Config writes neither n_positions nor decoder_start_token_id, both of which
    # TransformerLens 3.9 reads (and fails without).
    full = _raw("google-t5__t5-small")
    assert (full["n_positions"], full["decoder_start_token_id"], full["pad_token_id"]) == (
        512,
        0,
        0,
    )
    data = {k: v for k, v in full.items() if k not in ("n_positions", "decoder_start_token_id")}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.warns(HFConfigNote) as notes:
        values = from_hf_config(path, name="google-t5/t5-small")
    assert values == from_hf_config(HF / "google-t5__t5-small", name="google-t5/t5-small")
    assert [str(n.message) for n in notes] == [
        f"{path}: key 'n_positions': not in the file (transformers 5 does not write it): "
        "n_ctx is 512, the value T5's config files carry",
        f"{path}: key 'decoder_start_token_id': not in the file (transformers 5 does not "
        "write it): it is pad_token_id (0), the token T5's decoder starts from",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a file that says them gets no note
        assert from_hf_config(full | {"n_positions": 1024}, name="t5")["n_ctx"] == 1024
        assert (
            from_hf_config(full | {"decoder_start_token_id": None}, name="t5").get(
                "decoder_start_token_id"
            )
            is None
        )
    with pytest.warns(HFConfigNote):
        assert from_hf_config(data | {"pad_token_id": 3}, name="t5")["decoder_start_token_id"] == 3
    with (
        pytest.warns(HFConfigNote),
        pytest.raises(
            HFConfigError, match="key 'decoder_start_token_id': missing, and so is pad_token_id"
        ),
    ):
        from_hf_config(data | {"pad_token_id": None}, name="t5")


def test_a_note_points_at_the_caller_of_from_hf_config() -> None:
    # The note is raised a fixed number of frames below from_hf_config (Reader.note, the
    # family's helper, read_t5): it must name the line that called from_hf_config.
    data = {k: v for k, v in _raw("google-t5__t5-small").items() if k != "n_positions"}
    with pytest.warns(HFConfigNote) as notes:
        line = sys._getframe().f_lineno + 1
        from_hf_config(data, name="t5")
    assert [(n.filename, n.lineno) for n in notes] == [(__file__, line)]


def test_import_hf_says_what_it_took_and_writes_it_into_the_preset(tmp_path: Path) -> None:
    data = {k: v for k, v in _raw("google-t5__t5-small").items() if k != "n_positions"}
    (tmp_path / "config.json").write_text(json.dumps(data))
    proc = subprocess.run(
        [sys.executable, "-m", "transformer_presets", "import-hf", str(tmp_path), "--name", "t5"],
        env={**os.environ, "PYTHONPATH": str(DATA.parents[1] / "src")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    note = (
        f"{tmp_path / 'config.json'}: key 'n_positions': not in the file (transformers 5 does "
        "not write it): n_ctx is 512, the value T5's config files carry"
    )
    assert proc.stderr == f"transformer-presets: note: {note}\n"
    assert f"# {note}\n" in proc.stdout and "n_ctx = 512" in proc.stdout


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
        pytest.param("n_head", 0, "must be between 1 and", id="zero-heads"),
        pytest.param("n_layer", 10**6, "must be between 1 and 65536", id="too-many-layers"),
        pytest.param("n_ctx", 2**70, "expected an integer", id="huge-int"),
        pytest.param("layer_norm_epsilon", None, "expected a number, got null", id="null"),
        pytest.param("torch_dtype", 16, "expected a string", id="int-dtype"),
    ],
)
def test_mistyped_value_names_the_key(key: str, value: Any, expected: str) -> None:
    data = _raw("gpt2") | {key: value}
    with pytest.raises(HFConfigError, match=expected):
        from_hf_config(data, name="gpt2")


def test_a_null_yarn_factor_is_a_missing_key_not_a_type_error() -> None:
    config = {
        "architectures": ["GptOssForCausalLM"],
        "rope_scaling": {"rope_type": "yarn", "factor": None},
    }
    with pytest.raises(
        HFConfigError, match=r"missing required key \(YaRN needs a factor\)"
    ) as info:
        from_hf_config(config)
    assert info.value.key == "rope_scaling.factor"


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
    with pytest.raises(HFConfigError, match="key 'n_head': must be between 1 and"):
        from_hf_config(_raw("gpt2") | {"n_head": 0}, name="gpt2")
    # GPT2Config reads num_attention_heads as n_head; the message says which one the file used.
    data = {k: v for k, v in _raw("gpt2").items() if k != "n_head"} | {"num_attention_heads": 0}
    with pytest.raises(HFConfigError, match="key 'num_attention_heads': must be between 1 and"):
        from_hf_config(data, name="gpt2")


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2]")
    with pytest.raises(HFConfigError, match="expected a JSON object, got list"):
        from_hf_config(path, name="gpt2")


def test_folder_without_config_json(tmp_path: Path) -> None:
    with pytest.raises(HFConfigError, match=r"holds no config\.json") as info:
        from_hf_config(tmp_path, name="gpt2")
    assert info.value.file == str(tmp_path)


# -- the Hugging Face hub cache --------------------------------------------------------------


def hub_repo(hub: Path, repo_id: str, revisions: dict[str, str], main: str | None) -> Path:
    """A model folder laid out as huggingface_hub writes it: files in blobs/, linked
    from snapshots/<revision>/, and refs/main naming a revision."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True)
    for revision, fixture in revisions.items():
        blob = repo / "blobs" / f"{revision}-config"
        blob.write_bytes((HF / fixture / "config.json").read_bytes())
        snapshot = repo / "snapshots" / revision
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").symlink_to(os.path.relpath(blob, snapshot))
    if main is not None:
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(main)
    return repo


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hf"
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    return home / "hub"


def test_a_hub_cache_folder_takes_the_snapshot_refs_main_names(hub: Path) -> None:
    repo = hub_repo(
        hub, "meta-llama/Llama-3.2-1B", {"aaa": "gpt2", "bbb": "meta-llama__Llama-3.2-1B"}, "bbb"
    )
    values = from_hf_config(repo)
    assert values["tokenizer_name"] == "meta-llama/Llama-3.2-1B"
    assert values == from_hf_config(HF / "meta-llama__Llama-3.2-1B", name="meta-llama/Llama-3.2-1B")


def test_a_hub_cache_folder_with_one_snapshot_and_no_ref(hub: Path) -> None:
    repo = hub_repo(hub, "openai-community/gpt2", {"only": "gpt2"}, None)
    assert from_hf_config(repo)["tokenizer_name"] == "openai-community/gpt2"


def test_several_snapshots_and_no_ref_is_an_error_listing_them(hub: Path) -> None:
    repo = hub_repo(hub, "org/m", {"r1": "gpt2", "r2": "gpt2"}, None)
    with pytest.raises(HFConfigError, match=r"2 snapshots.*r1, r2") as info:
        from_hf_config(repo)
    assert info.value.file == str(repo)


def test_a_ref_to_a_missing_snapshot_is_an_error(hub: Path) -> None:
    repo = hub_repo(hub, "org/m", {"r1": "gpt2"}, "r9")
    with pytest.raises(HFConfigError, match="refs/main names revision 'r9'"):
        from_hf_config(repo)


def test_a_snapshot_folder_and_its_file_are_named_from_the_cache(hub: Path) -> None:
    repo = hub_repo(hub, "org/tiny", {"r1": "gpt2"}, "r1")
    snapshot = repo / "snapshots" / "r1"
    assert from_hf_config(snapshot)["tokenizer_name"] == "org/tiny"
    assert from_hf_config(snapshot / "config.json")["tokenizer_name"] == "org/tiny"
    # An explicit name wins.
    assert from_hf_config(snapshot, name="me/x")["tokenizer_name"] == "me/x"


def test_the_hub_cache_folder_names_the_model_over_name_or_path(hub: Path) -> None:
    # TinyStories-1M's file says _name_or_path "EleutherAI/gpt-neo-125M"; the cache folder
    # is the repository it came from, the name TransformerLens is given (its context is
    # cut to 512 by that name).
    repo = hub_repo(hub, "roneneldan/TinyStories-1M", {"r1": "roneneldan__TinyStories-1M"}, "r1")
    expected = from_hf_config(HF / "roneneldan__TinyStories-1M", name="roneneldan/TinyStories-1M")
    assert expected["n_ctx"] == 512
    for source in (
        repo,
        repo / "snapshots" / "r1",
        repo / "snapshots" / "r1" / "config.json",
        "roneneldan/TinyStories-1M",
    ):
        assert from_hf_config(source) == expected, source
    # Outside the cache, the file's own _name_or_path is all there is.
    assert from_hf_config(HF / "roneneldan__TinyStories-1M")["tokenizer_name"] == (
        "EleutherAI/gpt-neo-125M"
    )


def test_only_the_hub_layout_names_a_model(tmp_path: Path) -> None:
    # A folder that merely lies below one called models--... is not a downloaded model.
    folder = tmp_path / "models--old" / "mine"
    folder.mkdir(parents=True)
    (folder / "config.json").write_bytes((HF / "gpt2" / "config.json").read_bytes())
    assert "tokenizer_name" not in from_hf_config(folder)
    assert "tokenizer_name" not in from_hf_config(folder / "config.json")


def test_a_bare_repo_id_is_found_in_any_case(hub: Path) -> None:
    # The hub takes a repository's name in any case; the cache keeps the case it was given.
    hub_repo(hub, "meta-llama/Llama-3.2-1B", {"r1": "meta-llama__Llama-3.2-1B"}, "r1")
    values = from_hf_config("META-LLAMA/llama-3.2-1b")
    assert values["tokenizer_name"] == "meta-llama/Llama-3.2-1B"
    # Two folders that differ only in case: neither is guessed.
    hub_repo(hub, "meta-llama/LLAMA-3.2-1B", {"r1": "meta-llama__Llama-3.2-1B"}, "r1")
    with pytest.raises(HFConfigError, match="looked for"):
        from_hf_config("Meta-Llama/Llama-3.2-1b")


def test_a_dangling_snapshot_link_says_where_it_points(hub: Path) -> None:
    # An interrupted download or a cleaned-up blob leaves the snapshot's link dangling.
    repo = hub_repo(hub, "org/m", {"r1": "gpt2"}, "r1")
    (repo / "blobs" / "r1-config").unlink()
    for source in (repo, "org/m"):
        with pytest.raises(HFConfigError, match=r"link to \.\./\.\./blobs/r1-config, which does"):
            from_hf_config(source)
    with pytest.raises(HFConfigError, match=r"link to .*which does not exist") as info:
        from_hf_config(repo / "snapshots" / "r1")
    assert info.value.file == str(repo / "snapshots" / "r1" / "config.json")


# -- what the hub cache holds is read as preset files are -----------------------------------


@pytest.mark.timeout(60)  # a ref opened for reading like any file used to wait for ever
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_at_refs_main_is_an_error_not_a_hang(hub: Path) -> None:
    repo = hub_repo(hub, "org/m", {"r1": "gpt2"}, None)
    (repo / "refs").mkdir()
    os.mkfifo(repo / "refs" / "main")
    for source in (repo, "org/m"):
        with pytest.raises(
            HFConfigError, match=r"a FIFO \(named pipe\), not a regular file"
        ) as info:
            from_hf_config(source)
        assert info.value.file == str(repo / "refs" / "main")


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_import_hf_names_a_fifo_at_refs_main(hub: Path) -> None:
    repo = hub_repo(hub, "org/m", {"r1": "gpt2"}, None)
    (repo / "refs").mkdir()
    os.mkfifo(repo / "refs" / "main")
    proc = subprocess.run(
        [sys.executable, "-m", "transformer_presets", "import-hf", "org/m"],
        env={**os.environ, "PYTHONPATH": str(DATA.parents[1] / "src")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        f"transformer-presets: error: {repo / 'refs' / 'main'}: "
        "a FIFO (named pipe), not a regular file\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe r1", "not UTF-8 text: invalid start byte at byte 0"),
        (b"r1" + b" " * 2000, "too large for a ref (2002 bytes, more than the limit of 1024)"),
        ("link:/dev/zero", "a character device, not a regular file"),
        ("link:gone", "a link to gone, which does not exist"),
        ("folder", "a folder, not a regular file"),
        ("refs-a-file", "cannot read: Not a directory"),
    ],
    ids=["not-utf8", "too-large", "device", "dangling", "folder", "refs-a-file"],
)
def test_a_ref_that_cannot_be_read_is_named(hub: Path, content: bytes | str, message: str) -> None:
    # One snapshot: a ref that is unreadable used to be taken as no ref at all.
    repo = hub_repo(hub, "org/m", {"r1": "gpt2"}, None)
    ref = repo / "refs" / "main"
    if content == "refs-a-file":
        ref.parent.write_text("r1")
    else:
        ref.parent.mkdir()
    if content == "folder":
        ref.mkdir()
    elif content == "refs-a-file":
        pass
    elif isinstance(content, str):
        ref.symlink_to(content.removeprefix("link:"))
    else:
        ref.write_bytes(content)
    with pytest.raises(HFConfigError) as info:
        from_hf_config(repo)
    assert (info.value.file, info.value.reason) == (str(ref), message)


def test_a_config_json_that_is_a_link_to_a_device_says_what_it_is(hub: Path) -> None:
    repo = hub_repo(hub, "org/m", {"r1": "gpt2"}, "r1")
    config = repo / "snapshots" / "r1" / "config.json"
    config.unlink()
    config.symlink_to("/dev/zero")
    with pytest.raises(HFConfigError) as info:
        from_hf_config("org/m")
    assert (info.value.file, info.value.reason) == (
        str(config),
        "a character device, not a regular file",
    )


def test_snapshots_that_cannot_be_listed_are_named(hub: Path) -> None:
    repo = hub_repo(hub, "org/m", {}, "r1")
    (repo / "snapshots").write_text("not a folder")
    with pytest.raises(HFConfigError, match="cannot list the snapshots: Not a directory") as info:
        from_hf_config(repo)
    assert info.value.file == str(repo / "snapshots")


@pytest.mark.parametrize("ref", [None, "r9"], ids=["no-ref", "ref-to-none-of-them"])
def test_thousands_of_snapshots_give_a_short_error(hub: Path, ref: str | None) -> None:
    repo = hub_repo(hub, "org/m", {}, ref)
    for i in range(5000):
        (repo / "snapshots" / f"{i:040x}").mkdir(parents=True)
    with pytest.raises(HFConfigError) as info:
        from_hf_config(repo)
    message = info.value.reason  # 5,000 names made a line of 44 KB
    assert len(message) < 400, message
    assert f"{0:040x}, {1:040x}" in message and "and 4,995 more" in message
    assert ref is not None or "has 5,000 snapshots" in message


def test_a_path_object_that_gives_bytes_is_refused_by_name() -> None:
    class BytesPath(os.PathLike[bytes]):
        def __fspath__(self) -> bytes:
            return b"org/m"

    with pytest.raises(HFConfigError, match="got a bytes path"):
        from_hf_config(BytesPath())  # type: ignore[arg-type]


def test_a_bare_repo_id_is_looked_up_in_the_cache(hub: Path) -> None:
    hub_repo(hub, "meta-llama/Llama-3.2-1B", {"r1": "meta-llama__Llama-3.2-1B"}, "r1")
    values = from_hf_config("meta-llama/Llama-3.2-1B")
    assert values["n_layers"] == 16 and values["tokenizer_name"] == "meta-llama/Llama-3.2-1B"


def test_a_repo_id_not_in_the_cache_says_where_it_looked(hub: Path) -> None:
    with pytest.raises(HFConfigError) as info:
        from_hf_config("nobody/nothing")
    message = str(info.value)
    assert str(hub / "models--nobody--nothing") in message and "offline" in message


def test_the_hub_cache_follows_the_variables_huggingface_hub_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformer_presets.hf.hub_cache import hub_cache_dir

    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert hub_cache_dir() == str(tmp_path / ".cache" / "huggingface" / "hub")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub_cache_dir() == str(tmp_path / "xdg" / "huggingface" / "hub")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert hub_cache_dir() == str(tmp_path / "hf" / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hubcache"))
    assert hub_cache_dir() == str(tmp_path / "hubcache")
    # huggingface_hub itself agrees, where it is installed (in a fresh process: it reads
    # the variables once, at import).
    for unset in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        expected = hub_cache_dir()
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "from huggingface_hub import constants as c; print(c.HF_HUB_CACHE)",
            ],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            pytest.skip("huggingface_hub is not installed")
        assert proc.stdout.strip() == expected, unset
        monkeypatch.delenv(unset)


def test_gpt_neo_layer_list_of_wrong_length() -> None:
    data = _raw("EleutherAI__gpt-neo-125M")
    data["attention_layers"] = ["global"]
    with pytest.raises(HFConfigError, match="expected 12 entries"):
        from_hf_config(data, name="EleutherAI/gpt-neo-125M")


def test_gpt_neo_compact_attention_types_with_a_huge_repeat() -> None:
    data = _raw("EleutherAI__gpt-neo-125M")
    del data["attention_layers"]
    data["attention_types"] = [[["global", "local"], 10**15]]
    with pytest.raises(HFConfigError, match="must expand to one"):
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


def test_diff_values_tells_int_from_float_and_bool() -> None:
    # The built config holds the value with its type (TransformerLens's hand-written
    # tables say 10000, a file says 10000.0): a child that inherited the other one
    # would not resolve to the imported values.
    assert diff_values({"rotary_base": 10000}, {"rotary_base": 10000.0}) == {"rotary_base": 10000}
    assert diff_values({"rotary_base": 10000.0}, {"rotary_base": 10000}) == {"rotary_base": 10000.0}
    # A base that sets the default's value in the other type: the default is restated.
    assert diff_values({"n_layers": 2}, {"n_layers": 2, "rotary_base": 10000.0}) == {
        "rotary_base": 10000
    }
    assert diff_values({"n_key_value_heads": 1}, {"n_key_value_heads": True}) == {
        "n_key_value_heads": 1
    }
    assert diff_values({"eps": 1e-5}, {"eps": 1e-5 * (1 + 1e-15)}) == {}


def test_diff_values_applied_to_base_gives_values() -> None:
    base = _import("mistralai__Mistral-7B-v0.1")
    values = _import("mistralai__Mistral-Nemo-Base-2407")
    diff = diff_values(values, base)
    merged = {k: v for k, v in base.items() if k not in diff.get("unset", [])} | diff
    merged.pop("unset", None)
    specs = defaults()
    assert {k: v for k, v in merged.items() if not _same(specs.get(k), v)} == values


def test_closest_preset_prefers_its_own_name_then_fewest_differences() -> None:
    pythia = _import("EleutherAI__pythia-70m")
    candidates = {
        "pythia-160m": _import("EleutherAI__pythia-160m"),
        "gpt2": _import("gpt2"),
        "gpt-neo": _import("EleutherAI__gpt-neo-125M"),
        # One field from pythia-70m, and another architecture.
        "impostor": pythia | {"original_architecture": "GPT2LMHeadModel"},
    }
    # Fewest differing fields first: the impostor differs in one field only.
    assert closest_preset(pythia, candidates) == "impostor"
    # A candidate named as the model itself (or by an alias) wins outright.
    named = {**candidates, "EleutherAI/pythia-70m-deduped": candidates["gpt2"]}
    assert closest_preset(pythia, named, aliases={}) == "impostor"
    aliases = {"EleutherAI/pythia-70m-deduped": ["EleutherAI/pythia-70m"]}
    assert closest_preset(pythia, named, aliases=aliases) == "EleutherAI/pythia-70m-deduped"


def test_closest_preset_breaks_ties_by_architecture_then_base_over_tuned() -> None:
    llama = _import("meta-llama__Llama-2-7b-hf")
    twin = dict(llama)
    candidates = {
        "a-llama-chat": twin,
        "z-llama": twin,
        "b-other-arch": twin | {"original_architecture": "MistralForCausalLM"},
    }
    anonymous = {k: v for k, v in llama.items() if k not in ("tokenizer_name", "model_name")}
    assert closest_preset(anonymous, candidates) == "z-llama"


@pytest.mark.parametrize(
    ("folder", "name", "anonymous_pick"),
    [
        ("meta-llama__Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", None),
        ("mistralai__Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", None),
        ("mistralai__Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-v0.1", None),
        ("google__gemma-3-1b-pt", "google/gemma-3-1b-pt", None),
        # The Think model's shape is the base model's: without a name, the base wins.
        ("allenai__Olmo-3-7B-Think", "allenai/Olmo-3-7B-Think", "allenai/Olmo-3-1025-7B"),
        ("Qwen__Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B", None),
    ],
)
def test_extends_auto_picks_the_model_itself(
    folder: str, name: str, anonymous_pick: str | None
) -> None:
    # With its name, the model itself; without one, the same shape, a base model first
    # (not a chat or instruct sibling).
    from transformer_presets import list_presets, resolve_preset

    presets = [p for p in list_presets() if not p.error]
    candidates = {p.name: resolve_preset(p.name) for p in presets}
    aliases = {p.name: p.aliases for p in presets}
    assert closest_preset(_import(folder), candidates, aliases=aliases) == name
    anonymous = from_hf_config(HF / folder)
    anonymous.pop("tokenizer_name", None)
    assert closest_preset(anonymous, candidates, aliases=aliases) == (anonymous_pick or name)


def test_differing_fields_compare_derived_values() -> None:
    from transformer_presets import resolve_preset

    values = _import("meta-llama__Llama-2-7b-hf")
    assert differing_fields(values, resolve_preset("meta-llama/Llama-2-7b-hf")) == []


def test_closest_preset_needs_candidates() -> None:
    with pytest.raises(HFConfigError, match="no presets"):
        closest_preset({"n_layers": 1}, {})


# --- hostile input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param('"layer_norm_epsilon": Infinity', "layer_norm_epsilon", id="infinity"),
        pytest.param('"layer_norm_epsilon": -Infinity', "layer_norm_epsilon", id="minus-infinity"),
        pytest.param('"layer_norm_epsilon": NaN', "layer_norm_epsilon", id="nan"),
        # A key no converter reads is not dropped silently either.
        pytest.param('"attn_pdrop": NaN', "attn_pdrop", id="unused-key"),
        pytest.param('"rope_scaling": {"factor": Infinity}', "rope_scaling.factor", id="nested"),
        pytest.param('"bad_words_ids": [[1, NaN]]', "bad_words_ids[0][1]", id="in-a-list"),
        pytest.param('"layer_norm_epsilon": 1e999', "layer_norm_epsilon", id="overflowing-float"),
    ],
)
def test_non_finite_numbers_are_an_error_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"architectures": ["GPT2LMHeadModel"], "n_ctx": 1024, ' + text + "}")
    with pytest.raises(HFConfigError, match="not a finite number") as info:
        from_hf_config(path, name="gpt2")
    assert (info.value.file, info.value.key) == (str(path), key)


def test_non_finite_numbers_in_a_mapping_are_an_error_naming_the_key() -> None:
    data = _raw("gpt2") | {"rope_scaling": {"factor": float("nan")}}
    with pytest.raises(HFConfigError, match="not a finite number") as info:
        from_hf_config(data, name="gpt2")
    assert info.value.key == "rope_scaling.factor"


def test_an_integer_too_long_to_parse_names_its_key(tmp_path: Path) -> None:
    # Python refuses integers of more than 4300 digits with a bare ValueError.
    path = tmp_path / "config.json"
    path.write_text('{"architectures": ["GPT2LMHeadModel"], "n_layer": 1' + "0" * 5000 + "}")
    with pytest.raises(HFConfigError, match="out of range") as info:
        from_hf_config(path, name="gpt2")
    assert info.value.key == "n_layer"


def test_deeply_nested_json_is_an_error_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        '{"architectures": ["GPT2LMHeadModel"], "x": ' + "[" * 100000 + "]" * 100000 + "}"
    )
    with pytest.raises(HFConfigError, match="nested more than"):
        from_hf_config(path, name="gpt2")


def test_moderately_nested_json_is_an_error_naming_the_key(tmp_path: Path) -> None:
    # Deep enough to trouble nothing in json, too deep for a config.
    path = tmp_path / "config.json"
    path.write_text('{"architectures": ["GPT2LMHeadModel"], "x": ' + "[" * 200 + "]" * 200 + "}")
    with pytest.raises(HFConfigError, match="nested more than") as info:
        from_hf_config(path, name="gpt2")
    assert info.value.key is not None and info.value.key.startswith("x[0][0]")


def test_a_deep_or_self_containing_mapping_is_an_error() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(sys.getrecursionlimit() * 2):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(HFConfigError, match="nested more than"):
        from_hf_config({"architectures": ["GPT2LMHeadModel"], "deep": deep}, name="gpt2")
    loop: dict[str, Any] = {"architectures": ["GPT2LMHeadModel"]}
    loop["again"] = [loop]
    with pytest.raises(HFConfigError, match="contains itself"):
        from_hf_config(loop, name="gpt2")


def test_numpy_values_in_a_mapping_come_out_as_plain_python(user_presets: Path) -> None:
    np = pytest.importorskip("numpy")
    from transformer_presets import save_user_preset

    data = _raw("gpt2") | {
        "architectures": [np.str_("GPT2LMHeadModel")],
        "n_layer": np.int64(2),
        "n_embd": np.int32(64),
        "n_head": np.uint8(4),
        "n_ctx": np.int16(128),
        "layer_norm_epsilon": np.float32(1e-5),
        "scale_attn_weights": np.bool_(False),
        "activation_function": np.str_("gelu_new"),
    }
    values = from_hf_config(data, name="me/np-gpt2")
    assert {k: type(v) for k, v in values.items() if type(v) not in (int, float, bool, str)} == {}
    assert (values["n_layers"], values["d_model"], values["use_attn_scale"]) == (2, 64, False)
    assert values["eps"] == float(np.float32(1e-5))
    json.dumps(values)
    save_user_preset("me/np-gpt2", values)
    # Nested too: Llama 3's scaling read from a rope_scaling of NumPy floats.
    llama = _raw("meta-llama__Llama-3.2-1B")
    llama["rope_scaling"] = {
        k: np.float64(v) if isinstance(v, float) else v for k, v in llama["rope_scaling"].items()
    }
    scaled = from_hf_config(llama, name="meta-llama/Llama-3.2-1B")
    assert scaled == _import("meta-llama__Llama-3.2-1B")
    assert type(scaled["NTK_by_parts_factor"]) is float
    # What has no plain value is refused, naming the key.
    with pytest.raises(HFConfigError, match="key 'n_layer': expected an integer, got datetime64"):
        from_hf_config(data | {"n_layer": np.datetime64("2024-01-01")}, name="gpt2")
    with pytest.raises(HFConfigError, match=r"key 'n_embd': expected an integer, got float 64\.5"):
        from_hf_config(data | {"n_embd": np.float16(64.5)}, name="gpt2")


def test_a_container_a_mapping_holds_twice_is_no_loop() -> None:
    llama = _raw("meta-llama__Llama-3.2-1B")
    shared = dict(llama["rope_scaling"])
    values = from_hf_config(
        llama | {"rope_scaling": shared, "copy": [shared, shared]}, name="meta-llama/Llama-3.2-1B"
    )
    assert values == _import("meta-llama__Llama-3.2-1B")


@pytest.mark.parametrize("item", ["0", "[0]", "{}", '"x"', "0.5", '0,0.5,"x",[],{"a":[1]}'])
def test_checking_a_long_array_costs_no_more_memory_than_parsing_it(
    tmp_path: Path, item: str
) -> None:
    # The check used to build a path per element: 1.5 GB for a 16 MiB array of zeros.
    import tracemalloc

    path = tmp_path / "config.json"
    padding = ",".join([item] * (2_000_000 // len(item)))
    path.write_text(
        '{"architectures": ["GPT2LMHeadModel"], "n_ctx": 1024, "pad": [' + padding + "]}"
    )

    def peak(work: Any) -> int:
        tracemalloc.start()
        try:
            work()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    parsing = peak(lambda: json.loads(path.read_text()))
    importing = peak(lambda: from_hf_config(path, name="gpt2"))
    assert importing < 1.3 * parsing, (importing, parsing)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_named_config_json_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.json")
    with pytest.raises(HFConfigError, match="not a regular file"):
        from_hf_config(tmp_path, name="gpt2")


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    with path.open("wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: no disk is spent
    with pytest.raises(HFConfigError, match="bytes"):
        from_hf_config(path, name="gpt2")


def test_a_byte_order_mark_is_accepted_and_bad_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    text = (DATA / "hf_configs" / "gpt2" / "config.json").read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert from_hf_config(path, name="gpt2") == _import("gpt2")
    path.write_bytes(b'{"architectures": ["\xff"]}')
    with pytest.raises(HFConfigError, match="not UTF-8"):
        from_hf_config(path, name="gpt2")


def test_a_name_that_is_not_a_string() -> None:
    with pytest.raises(HFConfigError, match="expected a name"):
        from_hf_config(_raw("gpt2"), name=3)  # type: ignore[arg-type]


# Every key any fixture holds, so that generated configs reach deep into the converters.
_FIXTURE_DATA = {p.name: json.loads((p / "config.json").read_text()) for p in FIXTURES}
_KEYS = sorted(
    {k for data in _FIXTURE_DATA.values() for k in data} - {"architectures"} | {"rope_parameters"}
)

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([0, 1, -1, 2, 4096, 2**31, 2**63])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["yarn", "llama3", "linear", "default", "sliding_attention", "global"])
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from([*_KEYS, "factor", "rope_type", "type"]), children, max_size=4
        )
    ),
    max_leaves=12,
)


@st.composite
def _hostile_configs(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A fixture with some keys deleted and others replaced by arbitrary JSON-ish values."""
    folder = draw(st.sampled_from(sorted(_FIXTURE_DATA)))
    data = dict(_FIXTURE_DATA[folder])
    for key in draw(st.lists(st.sampled_from(_KEYS), max_size=6)):
        if draw(st.booleans()):
            data.pop(key, None)
        else:
            data[key] = draw(_json_values)
    if draw(st.integers(0, 9)) == 0:
        data["architectures"] = draw(
            st.sampled_from([[], [None], ["NopeForCausalLM"], "GPT2LMHeadModel"])
            | st.lists(st.sampled_from(SUPPORTED_ARCHITECTURES), min_size=1, max_size=2)
        )
    return data, folder.replace("__", "/")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_hostile_configs())
def test_any_config_gives_values_or_a_preset_error(case: tuple[dict[str, Any], str]) -> None:
    data, name = case
    try:
        values = from_hf_config(data, name=name)
    except PresetError:
        return
    # What comes back can be written as a preset: TOML-friendly and finite.
    text = tomli_w.dumps({"imported": values})
    assert tomllib.loads(text)["imported"] == values
    for value in values.values():
        assert not (isinstance(value, float) and not math.isfinite(value))
