"""TransformerLens 4 support, the parts that need no TransformerLens 4: the decision for
every field, the refusals, the errors raised before TransformerLens is imported, the
stand-in tokenizer and the Hugging Face cache, the README's tables, and import hygiene.

These run in the test process, where TransformerLens 3.9 (or none) is installed: so the
"TransformerLens 4 is missing" errors are the real ones. What needs 4.3 runs in
``test_tl4_native.py`` and ``test_tl4_bridge.py``.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from transformer_presets import (
    BridgeError,
    HFExportError,
    PresetArgumentError,
    PresetError,
    PresetNotFoundError,
    boot_bridge,
    get_preset,
    list_presets,
    to_bridge_config,
)
from transformer_presets.fields.rules import ACTIVATION_NAMES
from transformer_presets.fields.table import FIELD_KINDS
from transformer_presets.hf.model_folder import (
    MAX_TOKENIZER_FILE_BYTES,
    STAND_IN_SPECIAL,
    cached_tokenizer,
    cached_weights,
    stand_in_tokenizer,
    tokenizer_files,
    write_tokenizer,
)
from transformer_presets.tl4._preset import version_tuple
from transformer_presets.tl4.boot import bridge_config_values
from transformer_presets.tl4.fields import (
    DROPPED,
    FIELD_DECISIONS,
    KINDS,
    NATIVE_ACTIVATIONS,
    REFUSED,
    native_problems,
)

from .conftest import REPO, python_c

SRC = REPO / "src" / "transformer_presets"
README = (REPO / "README.md").read_text(encoding="utf-8")

# A tiny decoder the native model builds; each case below changes it.
TINY: dict[str, Any] = {
    "n_layers": 2,
    "d_model": 64,
    "d_head": 16,
    "n_ctx": 32,
    "d_vocab": 100,
    "act_fn": "gelu",
}


def values_of(**changes: Any) -> dict[str, Any]:
    return get_preset_values({**TINY, **changes})


def get_preset_values(config: dict[str, Any]) -> dict[str, Any]:
    from transformer_presets import HookedTransformerConfig

    return HookedTransformerConfig.from_dict(config).to_dict()


# -- the decision for every field ---------------------------------------------------------


def test_every_field_has_a_decision_in_declaration_order() -> None:
    assert list(FIELD_DECISIONS) == list(FIELD_KINDS)
    for field, decision in FIELD_DECISIONS.items():
        assert decision.kind in KINDS, field
        assert len(decision.note) > 10, field
        if decision.kind == DROPPED:
            # Dropped means TransformerLens 4's config has no such field.
            assert not decision.tl4_field, field


def test_every_refusal_names_a_field_whose_decision_is_refused_or_conditional() -> None:
    from transformer_presets.tl4.fields import _CHECKS

    for field, _check in _CHECKS:
        assert FIELD_DECISIONS[field].kind in (REFUSED, "carried", "converted"), field
        assert "refused" in FIELD_DECISIONS[field].note, field
    refused = {f for f, d in FIELD_DECISIONS.items() if d.kind == REFUSED}
    assert refused <= {f for f, _ in _CHECKS}


def test_every_activation_is_either_native_or_refused() -> None:
    for act in ACTIVATION_NAMES:
        problems = native_problems(values_of(act_fn=act))
        if act in NATIVE_ACTIVATIONS and act != "solu_ln":
            assert problems == [], act
        elif act == "solu_ln":
            assert problems == []  # with normalization_type LN
        else:
            assert [f for f, _ in problems] == ["act_fn"], act


REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "parallel": ({"parallel_attn_mlp": True}, "parallel_attn_mlp"),
    "qk-norm": ({"use_qk_norm": True}, "use_qk_norm"),
    "local": (
        {"use_local_attn": True, "attn_types": ["global", "local"], "window_size": 4},
        "use_local_attn",
    ),
    "inverse-layer-scale": (
        {"scale_attn_by_inverse_layer_idx": True},
        "scale_attn_by_inverse_layer_idx",
    ),
    "post-norms": (
        {"use_normalization_before_and_after": True},
        "use_normalization_before_and_after",
    ),
    "post-embedding-ln": ({"post_embedding_ln": True}, "post_embedding_ln"),
    "experts": ({"num_experts": 4, "experts_per_token": 2}, "num_experts"),
    "alibi": ({"positional_embedding_type": "alibi"}, "positional_embedding_type"),
    "shortformer": ({"positional_embedding_type": "shortformer"}, "positional_embedding_type"),
    "no-attn-scale": ({"use_attn_scale": False}, "use_attn_scale"),
    "attn-scale-one": ({"attn_scale": 1.0}, "attn_scale"),
    "xielu": ({"act_fn": "xielu"}, "act_fn"),
    "relu2": ({"act_fn": "relu2"}, "act_fn"),
    "solu_ln-lnpre": ({"act_fn": "solu_ln", "normalization_type": "LNPre"}, "act_fn"),
    "solu_ln-rms": ({"act_fn": "solu_ln", "normalization_type": "RMS"}, "act_fn"),
    "solu_ln-gated": ({"act_fn": "solu_ln", "gated_mlp": True}, "act_fn"),
    "clip": ({"clip_qkv": 8.0}, "clip_qkv"),
    "sinks": ({"use_attention_sinks": True}, "use_attention_sinks"),
    "logn": ({"use_logn_attn": True}, "use_logn_attn"),
    "dynamic-ntk": (
        {"positional_embedding_type": "rotary", "use_dynamic_ntk_rope": True},
        "use_dynamic_ntk_rope",
    ),
    "yarn": ({"positional_embedding_type": "rotary", "use_yarn_rope": True}, "use_yarn_rope"),
    "odd-rotary": ({"positional_embedding_type": "rotary", "rotary_dim": 5}, "rotary_dim"),
    "linear-below-one": (
        {"positional_embedding_type": "rotary", "rotary_scaling_factor": 0.5},
        "rotary_scaling_factor",
    ),
    "ntk-below-one": (
        {
            "positional_embedding_type": "rotary",
            "use_NTK_by_parts_rope": True,
            "NTK_by_parts_factor": 0.5,
        },
        "NTK_by_parts_factor",
    ),
    "4bit": ({"load_in_4bit": True}, "load_in_4bit"),
    "mup": ({"init_mode": "muP"}, "init_mode"),
    "bert": ({"original_architecture": "BertForMaskedLM"}, "original_architecture"),
    "t5": ({"original_architecture": "T5ForConditionalGeneration"}, "original_architecture"),
    "hubert": ({"original_architecture": "HubertModel"}, "original_architecture"),
    "olmo2": ({"original_architecture": "Olmo2ForCausalLM"}, "original_architecture"),
    "olmo3": ({"original_architecture": "Olmo3ForCausalLM"}, "original_architecture"),
    "olmoe": ({"original_architecture": "OlmoeForCausalLM"}, "original_architecture"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_value_the_native_model_lacks_is_refused_by_its_field(case: str) -> None:
    changes, field = REFUSALS[case]
    problems = native_problems(values_of(**changes))
    assert [f for f, _ in problems] == [field]
    assert problems[0][1]  # a reason


NEUTRAL: dict[str, dict[str, Any]] = {
    "all-global-local-flag": {
        "use_local_attn": True,
        "attn_types": ["global", "global"],
        "window_size": 4,
    },
    "no-attn-scale-one-dim-heads": {
        "use_attn_scale": False,
        "d_head": 1,
        "n_heads": 4,
        "d_model": 4,
    },
    "linear-factor-one": {"positional_embedding_type": "rotary", "rotary_scaling_factor": 1.0},
    "linear-above-one": {"positional_embedding_type": "rotary", "rotary_scaling_factor": 2.0},
    "ntk-above-one": {"positional_embedding_type": "rotary", "use_NTK_by_parts_rope": True},
    "linear-below-one-under-ntk": {
        "positional_embedding_type": "rotary",
        "use_NTK_by_parts_rope": True,
        "rotary_scaling_factor": 0.5,
    },
    "yarn-under-ntk": {
        "positional_embedding_type": "rotary",
        "use_NTK_by_parts_rope": True,
        "use_yarn_rope": True,
    },
    "dynamic-ntk-without-rotary": {"use_dynamic_ntk_rope": True},
    "xielu-attn-only": {"act_fn": "xielu", "attn_only": True},
    "final-rms-without-norm": {"normalization_type": None, "final_rms": True},
    "mup-without-init": {"init_mode": "muP", "init_weights": False},
    "olmo1": {"original_architecture": "OlmoForCausalLM"},
    "gpt-oss-dense": {"original_architecture": "GptOssForCausalLM"},
    "tied": {"tie_word_embeddings": True},
    "gqa": {"n_key_value_heads": 2},
    "bidirectional": {"attention_dir": "bidirectional"},
}


@pytest.mark.parametrize("case", sorted(NEUTRAL))
def test_a_value_that_adds_nothing_the_native_model_lacks_is_taken(case: str) -> None:
    assert native_problems(values_of(**NEUTRAL[case])) == []


def test_the_bridge_arguments_carry_converted_values() -> None:
    values = values_of(
        act_fn="gelu_pytorch_tanh",
        normalization_type=None,
        final_rms=True,
        positional_embedding_type="rotary",
        rotary_base=10000.5,
        use_NTK_by_parts_rope=True,
        NTK_by_parts_factor=8.0,
        NTK_original_ctx_len=4096,
        n_key_value_heads=2,
    )
    arguments, attributes = bridge_config_values(values)
    assert arguments["act_fn"] == "gelu_new"
    assert arguments["final_rms"] is False  # HookedTransformer ignores it without a norm
    assert arguments["rotary_adjacent_pairs"] is True
    assert arguments["n_key_value_heads"] == 2
    assert attributes["rotary_base"] == 10000.5
    assert attributes["rope_scaling"] == {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 4096,
    }
    assert not {f for f, d in FIELD_DECISIONS.items() if not d.tl4_field} & set(arguments)
    linear = bridge_config_values(
        values_of(positional_embedding_type="rotary", rotary_scaling_factor=4.0)
    )[1]
    assert linear["rope_scaling"] == {"rope_type": "linear", "factor": 4.0}
    assert "rope_scaling" not in bridge_config_values(values_of())[1]


# -- errors before TransformerLens is imported ------------------------------------------------


def test_an_unknown_preset_is_not_found() -> None:
    with pytest.raises(PresetNotFoundError, match=r"did you mean 'gpt2'"):
        to_bridge_config("gtp2")
    with pytest.raises(PresetNotFoundError):
        boot_bridge("gtp2")


def test_a_preset_the_native_model_cannot_build_names_the_field_and_the_way_out() -> None:
    with pytest.raises(BridgeError) as info:
        to_bridge_config("pythia-70m")
    assert (info.value.preset, info.value.key) == ("EleutherAI/pythia-70m", "parallel_attn_mlp")
    assert "parallel_attn_mlp = true" in str(info.value)
    assert "boot_bridge('EleutherAI/pythia-70m') builds it through transformers" in str(info.value)
    # Neither way: the message says that too.
    with pytest.raises(BridgeError, match=r"nor can boot_bridge.*transformers has no neel"):
        to_bridge_config("redwood_attn_2l")
    with pytest.raises(BridgeError, match=r"nor can boot_bridge.*trust_remote_code"):
        to_bridge_config("qwen-1.8b")


def test_a_native_refusal_names_the_other_fields_at_fault_too() -> None:
    # The first field is the message's key; the others follow it, once each, sorted
    # (errors.first_problem, which the Hugging Face export's refusal words the same way).
    with pytest.raises(BridgeError) as info:
        to_bridge_config("allenai/Olmo-3-1025-7B")
    assert info.value.key == "original_architecture"
    assert "original_architecture = 'Olmo3ForCausalLM': HookedTransformer builds" in str(info.value)
    assert "(also: use_local_attn, use_yarn_rope); boot_bridge(" in str(info.value)


def test_the_readme_shows_the_refusal_as_it_is() -> None:
    section = README.split("## TransformerLens 4", 1)[1]
    shown = re.search(r"```\n(preset 'EleutherAI/pythia-70m'.*?)\n```", section, re.S)
    assert shown is not None
    with pytest.raises(BridgeError) as info:
        to_bridge_config("pythia-70m")
    assert str(info.value) == shown.group(1)


def test_overrides_are_checked_and_refused_by_name() -> None:
    with pytest.raises(PresetError, match=r"key 'n_layer'.*did you mean 'n_layers'"):
        to_bridge_config("gpt2", n_layer=3)
    with pytest.raises(BridgeError, match=r"key 'use_qk_norm': .*use_qk_norm = true"):
        to_bridge_config("gpt2", use_qk_norm=True)
    with pytest.raises(BridgeError, match=r"key 'positional_embedding_type'"):
        to_bridge_config("gpt2", positional_embedding_type="alibi")
    with pytest.raises(PresetError, match=r"key 'n_layers'"):
        boot_bridge("gpt2", n_layers=0)
    with pytest.raises(PresetArgumentError, match=r"expected a preset name"):
        to_bridge_config(5)  # type: ignore[arg-type]


def test_boot_bridge_refuses_what_transformers_cannot_build_by_name() -> None:
    with pytest.raises(HFExportError, match=r"key 'act_fn'"):
        boot_bridge("gemma-2b")  # Gemma 1's exact GELU
    with pytest.raises(BridgeError, match=r"key 'original_architecture'.*trust_remote_code"):
        boot_bridge("santacoder")
    with pytest.raises(HFExportError, match=r"key 'original_architecture'"):
        boot_bridge("othello-gpt")


def test_boot_bridge_checks_its_own_arguments() -> None:
    with pytest.raises(PresetArgumentError, match=r"load_weights must be True or False"):
        boot_bridge("gpt2", load_weights="yes")  # type: ignore[arg-type]
    with pytest.raises(PresetArgumentError, match=r"key 'dtype'.*did you mean 'bf16'"):
        boot_bridge("gpt2", dtype="bf17")
    with pytest.raises(PresetArgumentError, match=r"key 'device'"):
        boot_bridge("gpt2", device="nowhere")
    with pytest.raises(PresetArgumentError, match=r"key 'device'"):
        boot_bridge("gpt2", device=3)  # type: ignore[arg-type]
    with pytest.raises(BridgeError, match=r"key 'device': load_weights=True loads nothing"):
        boot_bridge("gpt2", device="meta", load_weights=True)


def _hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    hub = tmp_path / "hub"
    hub.mkdir(exist_ok=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    return hub


def _snapshot(hub: Path, repo: str, files: dict[str, str | bytes], ref: str = "main") -> Path:
    model = hub / ("models--" + repo.replace("/", "--"))
    snapshot = model / "snapshots" / f"{abs(hash((repo, ref))):040x}"[:40]
    snapshot.mkdir(parents=True)
    (model / "refs").mkdir(exist_ok=True)
    (model / "refs" / ref).write_text(snapshot.name)
    for name, data in files.items():
        path = snapshot / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
    return snapshot


def test_load_weights_reads_only_the_hugging_face_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _hub(tmp_path, monkeypatch)
    with pytest.raises(BridgeError) as info:
        boot_bridge("gpt2", load_weights=True)
    assert info.value.key == "load_weights"
    assert f"the Hugging Face cache ({hub}) holds no gpt2" in str(info.value)
    _snapshot(hub, "gpt2", {"config.json": "{}", "tokenizer.json": "{}"})
    with pytest.raises(BridgeError, match=r"holds gpt2 without weights"):
        boot_bridge("gpt2", load_weights=True)
    # A checkpoint's weights are at its own revision.
    _snapshot(hub, "EleutherAI/pythia-14m", {"model.safetensors": b"x"})
    with pytest.raises(BridgeError, match=r"no revision 'step1000'"):
        boot_bridge("pythia-14m", load_weights=True, checkpoint_value=1000)


def test_cached_weights_follow_the_index_and_refuse_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _hub(tmp_path, monkeypatch)
    index = {"weight_map": {"a": "model-1.safetensors", "b": "model-2.safetensors"}}
    snapshot = _snapshot(
        hub,
        "org/sharded",
        {"model.safetensors.index.json": json.dumps(index), "model-1.safetensors": b"1"},
    )
    with pytest.raises(PresetError, match=r"lacks the weight shard model-2.safetensors"):
        cached_weights("org/sharded")
    (snapshot / "model-2.safetensors").write_bytes(b"2")
    folder, files = cached_weights("org/sharded")
    assert folder == str(snapshot)
    assert [Path(f).name for f in files] == [
        "model.safetensors.index.json",
        "model-1.safetensors",
        "model-2.safetensors",
    ]
    escaping = {"weight_map": {"a": "../../elsewhere.safetensors"}}
    _snapshot(hub, "org/escape", {"model.safetensors.index.json": json.dumps(escaping)})
    with pytest.raises(PresetError, match=r"names a shard outside its folder"):
        cached_weights("org/escape")
    _snapshot(hub, "org/broken-index", {"model.safetensors.index.json": "[1, 2]"})
    with pytest.raises(PresetError, match=r"is not a weight index"):
        cached_weights("org/broken-index")
    _snapshot(hub, "org/bin", {"pytorch_model.bin": b"x"})
    assert [Path(f).name for f in cached_weights("org/bin")[1]] == ["pytorch_model.bin"]
    # A checkpoint revision, by its ref.
    ref = _snapshot(hub, "org/steps", {"model.safetensors": b"x"}, ref="step10")
    assert cached_weights("org/steps", "step10")[0] == str(ref)


def test_transformerlens_4_missing_or_3_is_a_preset_error(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        installed = importlib.metadata.version("transformer-lens")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed is not None and version_tuple(installed) < (4, 3):
        # The real TransformerLens of this process: 3.x.
        for call in (lambda: to_bridge_config("gpt2"), lambda: boot_bridge("gpt2")):
            with pytest.raises(BridgeError) as info:
                call()
            message = str(info.value)
            assert f"found transformer-lens {installed}" in message
            assert "pip install 'transformer-lens>=4.3,<5'" in message
    real = importlib.metadata.version

    def version(name: str) -> str:
        if name == "transformer-lens":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    with pytest.raises(BridgeError, match=r"needs TransformerLens 4 .*not installed: pip install"):
        to_bridge_config("attn-only-2l")
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "4.2.1")
    with pytest.raises(BridgeError, match=r"found transformer-lens 4.2.1"):
        boot_bridge("gpt2")
    # What is wrong with the preset comes first, whatever TransformerLens there is.
    with pytest.raises(BridgeError, match=r"key 'parallel_attn_mlp'"):
        to_bridge_config("pythia-70m")


def test_version_numbers_are_read_as_numbers() -> None:
    assert version_tuple("4.10.0") > version_tuple("4.3.0") > version_tuple("4.2.9")
    assert version_tuple("4.3rc1") == (4, 3)


# -- the stand-in tokenizer and the cache's tokenizer ---------------------------------------


def _tokenizer(files: dict[str, str]) -> Any:
    tokenizers = pytest.importorskip("tokenizers")
    return tokenizers.Tokenizer.from_str(files["tokenizer.json"])


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=40))
def test_the_stand_in_encodes_any_text_into_bytes_and_back(text: str) -> None:
    assume(STAND_IN_SPECIAL not in text)
    tokenizer = _tokenizer(stand_in_tokenizer(50257, 1024))
    ids = tokenizer.encode(text).ids
    assert ids == list(text.encode("utf-8"))
    assert tokenizer.decode(ids) == text


@pytest.mark.parametrize("d_vocab", [2, 61, 256, 257, 50257])
def test_every_stand_in_id_fits_the_vocabulary(d_vocab: int) -> None:
    files = stand_in_tokenizer(d_vocab, 32)
    tokenizer = _tokenizer(files)
    ids = tokenizer.encode("héllo\x00\xff wörld " + STAND_IN_SPECIAL).ids
    assert ids and max(ids) < d_vocab
    assert tokenizer.get_vocab_size() == min(257, d_vocab)
    assert tokenizer.token_to_id(STAND_IN_SPECIAL) == min(256, d_vocab - 1)
    settings_ = json.loads(files["tokenizer_config.json"])
    assert settings_["bos_token"] == settings_["eos_token"] == STAND_IN_SPECIAL
    assert settings_["model_max_length"] == 32
    assert "stand-in" in files["TOKENIZER-STAND-IN.txt"]


def test_a_stand_in_needs_two_ids() -> None:
    with pytest.raises(PresetError, match=r"key 'd_vocab'"):
        stand_in_tokenizer(1, 32)


def test_the_models_own_tokenizer_comes_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _hub(tmp_path, monkeypatch)
    assert cached_tokenizer("gpt2") is None
    what, _files = tokenizer_files("gpt2", d_vocab=50257, n_ctx=1024)
    assert what.startswith("the stand-in tokenizer (no tokenizer of gpt2")
    _snapshot(hub, "gpt2", {"config.json": "{}", "tokenizer_config.json": "{}"})
    assert cached_tokenizer("gpt2") is None  # settings without a vocabulary
    (hub / "models--gpt2").rename(hub / "old")
    _snapshot(
        hub,
        "gpt2",
        {"vocab.json": '{"a": 0}', "merges.txt": "#version: 0.2\n", "model.safetensors": b"x"},
    )
    found = cached_tokenizer("GPT2")  # any case, as on the Hub
    assert found is not None and sorted(found) == ["merges.txt", "vocab.json"]
    out = tmp_path / "out"
    out.mkdir()
    what = write_tokenizer(str(out), repo="gpt2", d_vocab=50257, n_ctx=1024)
    assert what == "the tokenizer of gpt2 from the Hugging Face cache"
    assert sorted(p.name for p in out.iterdir()) == ["merges.txt", "vocab.json"]
    assert (out / "vocab.json").read_text() == '{"a": 0}'


def test_a_hostile_cache_is_an_error_never_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _hub(tmp_path, monkeypatch)
    snapshot = _snapshot(hub, "org/fifo", {})
    os.mkfifo(snapshot / "tokenizer.json")
    with pytest.raises(PresetError, match=r"a FIFO .named pipe., not a regular file"):
        cached_tokenizer("org/fifo")
    snapshot = _snapshot(hub, "org/dangling", {})
    (snapshot / "tokenizer.json").symlink_to(tmp_path / "gone")
    with pytest.raises(PresetError, match=r"is a link to .*gone, which does not exist"):
        cached_tokenizer("org/dangling")
    snapshot = _snapshot(hub, "org/huge", {})
    with open(snapshot / "tokenizer.json", "wb") as f:
        f.truncate(MAX_TOKENIZER_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(PresetError, match=r"more than the limit"):
        cached_tokenizer("org/huge")
    snapshot = _snapshot(hub, "org/weights-fifo", {})
    os.mkfifo(snapshot / "model.safetensors")
    with pytest.raises(PresetError, match=r"a FIFO"):
        cached_weights("org/weights-fifo")
    (hub / "models--org--noref" / "snapshots" / "a").mkdir(parents=True)
    (hub / "models--org--noref" / "snapshots" / "b").mkdir(parents=True)
    with pytest.raises(PresetError, match=r"has 2 snapshots and no refs/main"):
        cached_tokenizer("org/noref")
    for revision in ("../x", "/etc", ".."):
        with pytest.raises(PresetError, match=r"is not a revision"):
            cached_weights("org/noref", revision)


# -- the README ------------------------------------------------------------------------------


@functools.cache
def _bundled() -> tuple[tuple[str, str, dict[str, Any]], ...]:
    """Every bundled preset: name, family and values (read once for the tests below)."""
    return tuple((i.name, i.family, get_preset(i.name).to_dict()) for i in list_presets())


def _native_by_family() -> dict[str, tuple[int, int, dict[str, int]]]:
    out: dict[str, tuple[int, int, dict[str, int]]] = {}
    for _name, family, values in _bundled():
        native, total, refused = out.get(family, (0, 0, {}))
        problems = native_problems(values)
        if problems:
            refused = {**refused, problems[0][0]: refused.get(problems[0][0], 0) + 1}
        out[family] = (native + (not problems), total + 1, refused)
    return out


def test_the_readme_table_of_families_is_what_the_code_decides() -> None:
    section = re.split(
        r"\n##+ ", README.split("### Which presets boot natively", 1)[1], maxsplit=1
    )[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]
    shown = {}
    for family, natively, refused in rows:
        native, total = (int(n) for n in re.fullmatch(r"(\d+) of (\d+)", natively).groups())  # type: ignore[union-attr]
        reasons = dict(
            (m.group(1), int(m.group(2))) for m in re.finditer(r"`(\w+)` \((\d+)\)", refused)
        )
        shown[family.strip("`")] = (native, total, reasons)
    by_family = _native_by_family()
    assert shown == by_family
    totals = re.search(r"(\d+) of the (\d+) bundled presets boot natively", README)
    assert totals is not None
    computed = by_family.values()
    assert (int(totals.group(1)), int(totals.group(2))) == (
        sum(n for n, _, _ in computed),
        sum(t for _, t, _ in computed),
    )


def test_the_readme_shows_every_refused_field() -> None:
    section = README.split("## TransformerLens 4", 1)[1].split("\n## ", 1)[0]
    for field, decision in FIELD_DECISIONS.items():
        if decision.kind == REFUSED:
            assert f"`{field}`" in section, field


# -- import hygiene ---------------------------------------------------------------------------


def test_listing_resolving_and_planning_import_no_torch_nor_transformerlens() -> None:
    code = (
        "import sys, transformer_presets as t\n"
        "t.to_bridge_config, t.boot_bridge, t.BridgeError\n"
        "t.list_presets(); t.resolve_preset('gpt2')\n"
        "from transformer_presets.planner import hooked as planner\n"
        "planner.activation_cache_bytes(t.resolve_preset('gpt2'), 1, 8)\n"
        "import transformer_presets.tl4.boot, transformer_presets.hf.model_folder\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'numpy', 'transformer_lens', 'transformers'))\n"
        "print(bad)\n"
    )
    assert python_c(code).strip() == "[]"


def test_only_the_transformerlens_4_module_imports_transformerlens_or_transformers() -> None:
    importers = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(
                n.split(".")[0] in ("transformer_lens", "transformers", "huggingface_hub")
                for n in names
            ):
                importers.add(path.relative_to(SRC).as_posix())
    assert importers == {"tl4/boot.py"}


def test_the_readme_counts_what_boot_bridge_builds_and_what_reaches_nothing() -> None:
    from transformer_presets.tl4._inputs import transformers_config

    cpu_only = {"GPT2LMHeadModel", "Phi3ForCausalLM"}  # tests/test_tl4_bridge.py checks these
    counts = {"meta": 0, "cpu": 0, "remote code": 0, "gemma 1": 0, "no architecture": 0}
    neither = 0
    for name, _family, values in _bundled():
        try:
            config = transformers_config(values, name)
        except BridgeError:
            counts["remote code"] += 1
            reached = False
        except HFExportError as exc:
            counts["gemma 1" if exc.key == "act_fn" else "no architecture"] += 1
            reached = False
        else:
            counts["cpu" if config["architectures"][0] in cpu_only else "meta"] += 1
            reached = True
        neither += not reached and bool(native_problems(values))
    section = re.split(r"\n##+ ", README.split("### `boot_bridge`", 1)[1], maxsplit=1)[0]
    shown = [int(n) for n in re.findall(r"^\| [^|]+ \| (\d+) \|", section, re.M)]
    assert shown == list(counts.values())
    sentence = re.search(
        r"(\d+) of the (\d+) presets reach a `TransformerBridge`.*?the (\d+) that", section, re.S
    )
    assert sentence is not None
    assert [int(n) for n in sentence.groups()] == [249 - neither, 249, neither]


def test_loaded_weights_follow_the_checkpoints_own_tying(tmp_path: Path) -> None:
    from transformer_presets.tl4._inputs import checkpoint_tie, with_tie

    config = {"tie_word_embeddings": False, "text_config": {"tie_word_embeddings": False}}
    (tmp_path / "config.json").write_text('{"tie_word_embeddings": true}')
    assert with_tie(config, checkpoint_tie(str(tmp_path))) == {
        "tie_word_embeddings": True,
        "text_config": {"tie_word_embeddings": True},
    }
    assert config["text_config"] == {"tie_word_embeddings": False}  # not changed in place
    (tmp_path / "config.json").write_text('{"text_config": {"tie_word_embeddings": false}}')
    assert checkpoint_tie(str(tmp_path)) is False
    # Silent or unreadable: the architecture's own default decides, as for the checkpoint.
    (tmp_path / "config.json").write_text("{}")
    assert with_tie(config, checkpoint_tie(str(tmp_path))) == {"text_config": {}}
    (tmp_path / "config.json").write_text("not json")
    assert checkpoint_tie(str(tmp_path)) is None


def test_boot_bridge_takes_floating_point_dtypes_only() -> None:
    import torch

    with pytest.raises(PresetArgumentError, match=r"key 'dtype': dtype must be a floating-point"):
        boot_bridge("gpt2", dtype=torch.int64)


def test_a_cpu_build_larger_than_the_memory_available_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from transformer_presets.tl4 import _memory

    available = _memory.available_memory()
    if sys.platform.startswith("linux"):
        assert available is not None and available > 0
    monkeypatch.setattr(_memory, "available_memory", lambda: 100 << 20)
    with pytest.raises(BridgeError) as info:
        boot_bridge("gpt2", device="cpu")
    assert info.value.key == "device"
    assert "its weights take about 622.1 MiB in float32, more than the 100.0 MiB" in str(info.value)
    with pytest.raises(BridgeError, match=r"about 311\.1 MiB in bfloat16"):
        boot_bridge("gpt2", device="cpu", dtype="bfloat16")
    # The meta device takes no memory: the next check is TransformerLens's version.
    with pytest.raises(BridgeError, match="needs TransformerLens"):
        boot_bridge("gpt2", device="meta")
