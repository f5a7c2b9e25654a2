"""The bridge's parameters, buffers, caches, FLOPs and training state, torch-free.

``tests/test_bridge_params_tl4.py`` compares every number with TransformerLens 4.3; these
tests hold what needs no TransformerLens: the FLOPs equal the planner's for every decoder
(the transformers model computes what HookedTransformer computes), each value the tables
require is one the export requires too, bad input is a clear error, and nothing imports
torch.
"""

from __future__ import annotations

from typing import Any

import pytest

from transformer_presets import PresetError, get_preset, list_presets, to_hf_config
from transformer_presets.errors import PresetValidationError
from transformer_presets.fields.params import total_params
from transformer_presets.planner._bridge_tensors import ARCHS
from transformer_presets.planner.bridge import ADAPTERS
from transformer_presets.planner.bridge_params import (
    BRIDGE_ARCHITECTURES,
    BridgeTensor,
    bridge_buffer_bytes,
    bridge_buffers,
    bridge_forward_flops,
    bridge_kv_cache_bytes,
    bridge_parameters,
    bridge_total_params,
    bridge_training_state,
    bridge_weight_bytes,
    transformers_kv_cache_bytes,
)
from transformer_presets.planner.hooked import forward_flops
from transformer_presets.tl4._inputs import transformers_config as _transformers_config

from .conftest import REPO, python_c

# Gemma 1 as boot_bridge builds it: no bundled preset has its tanh GELU (the export
# refuses the exact GELU they have).
GEMMA1 = ("google/gemma-2b", {"act_fn": "gelu_pytorch_tanh"})


def _buildable() -> dict[str, dict[str, Any]]:
    """Every bundled preset boot_bridge builds, by name, and Gemma 1 with its tanh GELU."""
    out = {}
    every = [(info.name, {}) for info in list_presets()] + [GEMMA1]
    for name, overrides in every:
        values = get_preset(name, **overrides).to_dict()
        try:
            _transformers_config(values, name)
        except PresetError:
            continue
        out[name + ("+" if overrides else "")] = values
    return out


def _smallest(presets: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    best: dict[str, tuple[int, dict[str, Any]]] = {}
    for values in presets.values():
        arch = values["original_architecture"]
        size = bridge_total_params(values)
        if arch not in best or size < best[arch][0]:
            best[arch] = (size, values)
    return {arch: values for arch, (_, values) in best.items()}


@pytest.fixture(scope="module")
def buildable() -> dict[str, dict[str, Any]]:
    return _buildable()


GPT2 = {
    "n_layers": 2,
    "d_model": 64,
    "n_ctx": 32,
    "d_head": 16,
    "d_vocab": 100,
    "act_fn": "gelu_new",
    "original_architecture": "GPT2LMHeadModel",
}


def test_every_architecture_boot_bridge_builds_is_covered(
    buildable: dict[str, dict[str, Any]],
) -> None:
    archs = {v["original_architecture"] for v in buildable.values()}
    # Every architecture the hook tables cover has its tensors too, and no other.
    assert archs == set(BRIDGE_ARCHITECTURES) == set(ADAPTERS) == set(ARCHS)
    assert len(archs) == 25
    for values in buildable.values():
        assert bridge_total_params(values) > 0
        assert bridge_weight_bytes(values, "bfloat16") > 0


def test_the_forward_flops_of_every_decoder_are_hooked_transformers(
    buildable: dict[str, dict[str, Any]],
) -> None:
    covered = 0
    for name, values in buildable.items():
        if values["original_architecture"] in ("BertForMaskedLM", "T5ForConditionalGeneration"):
            continue
        for batch, seq in ((1, 7), (3, min(values["n_ctx"], 300))):
            assert bridge_forward_flops(values, batch, seq) == forward_flops(values, batch, seq), (
                name
            )
        covered += 1
    assert covered > 190


def test_bert_and_t5_flops_by_their_parts() -> None:
    bert = get_preset("google-bert/bert-base-cased").to_dict()
    T, d, m, V, L = 2 * 8, 768, 3072, 28996, 12
    layer = 4 * 2 * T * d * d + 2 * 2 * 2 * 12 * 8 * 8 * 64 + 2 * 2 * T * d * m
    assert bridge_forward_flops(bert, 2, 8) == L * layer + 2 * T * d * d + 2 * T * d * V
    t5 = get_preset("google-t5/t5-small").to_dict()
    T, d, m, V, L, H, h = 8, 512, 2048, 32128, 6, 8, 64
    attention = 4 * 2 * T * d * H * h + 2 * 2 * H * 8 * 8 * h
    again = 2 * H * 8 * 8 * h  # TransformerLens's q @ k for hook_attn_scores
    mlp = 2 * 2 * T * d * m
    encoder, decoder = attention + again + mlp, 2 * (attention + again) + mlp
    assert bridge_forward_flops(t5, 1, 8) == L * (encoder + decoder) + 2 * T * d * V


def test_a_mixture_of_experts_counts_the_experts_a_token_goes_to() -> None:
    values = get_preset("mistralai/Mixtral-8x7B-v0.1").to_dict()
    dense = {**values, "num_experts": None, "experts_per_token": None, "gated_mlp": True}
    T, d, m, E, k = 4, values["d_model"], values["d_mlp"], 8, 2
    # A dense model has one gated MLP; the mixture routes each token to k of E experts.
    moe = bridge_forward_flops(values, 1, 4)
    dense_flops = forward_flops(dense, 1, 4)
    assert moe - dense_flops == values["n_layers"] * (2 * T * d * E + (k - 1) * 3 * 2 * T * d * m)


def test_tied_and_untied_unembeddings() -> None:
    olmoe = get_preset("allenai/OLMoE-1B-7B-0924").to_dict()
    tied = {**olmoe, "tie_word_embeddings": True}
    names = [t.name for t in bridge_parameters(olmoe)]
    assert "lm_head.weight" in names
    assert "lm_head.weight" not in [t.name for t in bridge_parameters(tied)]
    assert (
        bridge_total_params(olmoe) - bridge_total_params(tied)
        == olmoe["d_vocab"] * olmoe["d_model"]
    )
    # The zero bias TransformerLens adds is there either way.
    assert [t.name for t in bridge_buffers(tied) if t.added] == ["lm_head.bias"]
    t5 = get_preset("google-t5/t5-small").to_dict()
    assert [t.name for t in bridge_parameters(t5) if t.name.endswith("embed_tokens.weight")] == []


def test_dtypes_of_the_buffers() -> None:
    gemma3 = get_preset("google/gemma-3-270m").to_dict()
    kinds = {t.name.rsplit(".", 1)[-1]: t.dtype for t in bridge_buffers(gemma3, "bfloat16")}
    assert kinds == {
        "embed_scale": "bfloat16",
        "full_attention_inv_freq": "float32",
        "full_attention_original_inv_freq": "float32",
        "sliding_attention_inv_freq": "float32",
        "sliding_attention_original_inv_freq": "float32",
        "bias": "bfloat16",
    }
    assert {t.dtype for t in bridge_parameters(gemma3, "bfloat16")} == {"bfloat16"}
    neo = get_preset("EleutherAI/gpt-neo-125M").to_dict()
    masks = [t for t in bridge_buffers(neo, "float16") if t.dtype == "bool"]
    assert len(masks) == neo["n_layers"] and {t.nbytes for t in masks} == {2048 * 2048}
    assert not any(t.persistent for t in masks)


def test_views_and_copies_of_fused_projections() -> None:
    params = {t.name: t for t in bridge_parameters(GPT2)}
    assert params["transformer.h.0.attn.q.weight"].view_of == "transformer.h.0.attn.c_attn.weight"
    assert not params["transformer.h.0.attn.c_attn.weight"].trained
    # GPT-2's views hold no memory of their own: the bytes are the model's.
    own = [t for t in params.values() if not t.added]
    assert bridge_weight_bytes(GPT2) == 4 * sum(t.numel for t in own)
    assert bridge_total_params(GPT2) == sum(t.numel for t in own) + 2 * 3 * (64 * 64 + 64)
    # GPT-NeoX copies them (it de-interleaves the heads), but with a single head.
    neox = get_preset("EleutherAI/pythia-14m").to_dict()
    copies = [t for t in bridge_parameters(neox) if t.added]
    assert len(copies) == 6 * neox["n_layers"] and not any(t.view_of for t in copies)
    one = {**neox, "n_heads": 1, "d_head": neox["d_model"]}
    assert all(t.view_of for t in bridge_parameters(one) if t.added)
    assert bridge_weight_bytes(one) < bridge_weight_bytes(neox)


def test_the_training_state_follows_from_the_parameters() -> None:
    values = get_preset("google/gemma-3-4b-it").to_dict()
    params = bridge_parameters(values, "bfloat16")
    trained = [t for t in params if t.trained]
    # The image tower and the projector get no gradient from text.
    assert {t.name.split(".")[1] for t in params if not t.trained} == {
        "vision_tower",
        "multi_modal_projector",
    }
    state = bridge_training_state(values, "adamw", "bfloat16")
    assert state.weights == sum(t.nbytes for t in params)
    assert state.gradients == sum(t.nbytes for t in trained)
    assert state.optimizer == 2 * state.gradients + 4 * len(trained)
    assert bridge_training_state(values, "sgd", "bfloat16").optimizer == state.gradients
    assert (
        bridge_training_state(values, "none", "bfloat16").total == state.weights + state.gradients
    )


def test_key_value_caches() -> None:
    pythia = get_preset("EleutherAI/pythia-160m").to_dict()
    expected = 2 * 12 * 3 * 100 * 12 * 64 * 2  # K and V, 12 layers, [3, 12 heads, 100, 64]
    assert bridge_kv_cache_bytes(pythia, 3, 100, "bfloat16") == expected
    assert transformers_kv_cache_bytes(pythia, 3, 100, "bfloat16") == expected
    # Phi-3-mini-4k's window: every layer keeps at most window_size - 1 tokens in transformers.
    phi3 = get_preset("microsoft/Phi-3-mini-4k-instruct").to_dict()
    assert (phi3["window_size"], phi3["n_ctx"]) == (2047, 4096)
    per_token = 2 * phi3["n_layers"] * 32 * 96 * 2
    assert transformers_kv_cache_bytes(phi3, 1, 4096, "bfloat16") == per_token * 2046
    assert transformers_kv_cache_bytes(phi3, 1, 2000, "bfloat16") == per_token * 2000
    # Gemma 2 keeps the window on every other layer.
    gemma2 = get_preset("google/gemma-2-2b").to_dict()
    per_layer = 2 * 4 * 256 * 2
    assert transformers_kv_cache_bytes(gemma2, 1, 8192, "bfloat16") == 13 * per_layer * (
        4095 + 8192
    )
    # T5: self-attention over the decoder's tokens, cross-attention over the input's.
    t5 = get_preset("google-t5/t5-small").to_dict()
    assert transformers_kv_cache_bytes(t5, 1, 10, encoder_seq=30) == 6 * 2 * 8 * 64 * 4 * 40


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("meta-llama/Llama-3.2-1B", "passes it as cache, so bridge.generate"),
        ("google-t5/t5-small", "runs the encoder and decoder over the whole sequence"),
        ("google-bert/bert-base-cased", "does not generate"),
    ],
)
def test_no_bridge_cache_is_a_reason(name: str, says: str) -> None:
    with pytest.raises(PresetValidationError, match=says) as caught:
        bridge_kv_cache_bytes(get_preset(name).to_dict(), 1, 8)
    assert caught.value.key == "model"


def test_questions_the_bridge_cannot_run_in_a_dtype() -> None:
    olmo = get_preset("allenai/OLMo-1B-hf").to_dict()
    for question in (
        lambda: bridge_training_state(olmo, "adamw", "bfloat16"),
        lambda: bridge_forward_flops(olmo, 1, 8, "float16"),
        lambda: bridge_forward_flops({**olmo, "dtype": "bfloat16"}, 1, 8),  # the preset's
    ):
        with pytest.raises(PresetValidationError, match="cannot run OlmoForCausalLM in") as e:
            question()
        assert e.value.key == "dtype"
    assert bridge_weight_bytes(olmo, "bfloat16") == 2 * bridge_total_params(olmo)  # it builds
    mixtral = get_preset("mistralai/Mixtral-8x7B-v0.1").to_dict()
    with pytest.raises(
        PresetValidationError, match="cannot run MixtralForCausalLM's experts in float64"
    ):
        bridge_training_state(mixtral, "adamw", "float64")


def _other(field: str, value: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with ``field`` set to another value than ``value`` (and what it needs)."""
    flipped: dict[str, Any] = {
        "normalization_type": {"LN": "RMS", "RMS": "LN"}.get(value, "LN"),
        "positional_embedding_type": "rotary" if value != "rotary" else "standard",
        "attention_dir": "causal",
    }
    if field == "num_experts":
        if value is ...:
            return {**values, "num_experts": None, "experts_per_token": None, "gated_mlp": True}
        return {**values, "num_experts": 4, "experts_per_token": 2}
    if field in flipped:
        return {**values, field: flipped[field]}
    return {**values, field: not value}


def test_what_the_tables_require_the_export_requires_too(
    buildable: dict[str, dict[str, Any]],
) -> None:
    checked = 0
    for arch, values in _smallest(buildable).items():
        for field, value in ARCHS[arch].fixed.items():
            other = _other(field, value, values)
            with pytest.raises(PresetError) as ours:
                bridge_parameters(other)
            with pytest.raises(PresetError):
                to_hf_config(other)
            assert ours.value.key in (field, "experts_per_token", "gated_mlp"), (arch, field)
            checked += 1
        # The sizes the tables take from elsewhere.
        for field, value in (("d_head", values["d_head"] * 2), ("n_key_value_heads", 1)):
            changed = {**values, field: value}
            if field == "d_head" and values.get("rotary_dim"):
                changed["rotary_dim"] = values["rotary_dim"]
            try:
                bridge_parameters(changed)
            except PresetError:
                with pytest.raises(PresetError):
                    to_hf_config(changed)
    assert checked > 100


@pytest.mark.parametrize(
    ("values", "key", "says"),
    [
        (
            {**GPT2, "original_architecture": "GPT2LMHeadModle"},
            "original_architecture",
            "did you mean",
        ),
        (
            {**GPT2, "original_architecture": None},
            "original_architecture",
            "no original_architecture",
        ),
        (
            {**GPT2, "original_architecture": "QWenLMHeadModel"},
            "original_architecture",
            "repository",
        ),
        (
            {**GPT2, "normalization_type": "RMS"},
            "normalization_type",
            "with normalization_type = 'LN'",
        ),
        ({**GPT2, "n_heads": 2}, "d_head", "heads x head size"),
        ({**GPT2, "d_vocab": -1}, "d_vocab", "must be set"),
        ({**GPT2, "n_layers": 100_000}, "n_layers", "1 to 65536 layers"),
        ({**GPT2, "n_layers": 2**62}, "n_layers", None),
        ({**GPT2, "n_layers": "2"}, "n_layers", None),
        ({**GPT2, "d_vocab_out": 50}, "d_vocab_out", "its own vocabulary"),
    ],
)
def test_bad_values_are_named(values: dict[str, Any], key: str, says: str | None) -> None:
    with pytest.raises(PresetValidationError) as caught:
        bridge_total_params(values)
    assert caught.value.key == key
    if says:
        assert says in str(caught.value)


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda: bridge_weight_bytes(GPT2, "float8"), "dtype"),
        (lambda: bridge_weight_bytes(GPT2, 3), "dtype"),
        (lambda: bridge_training_state(GPT2, "adam"), "optimizer"),
        (lambda: bridge_training_state(GPT2, ["adamw"]), "optimizer"),  # type: ignore[arg-type]
        (lambda: bridge_forward_flops(GPT2, 1, 33), "seq"),
        (lambda: bridge_forward_flops(GPT2, True, 8), "batch"),
        (lambda: bridge_forward_flops(GPT2, 0, 8), "batch"),
        (lambda: transformers_kv_cache_bytes(GPT2, 1, 8, encoder_seq=8), "encoder_seq"),
        # Not a config: read as one, which has no n_layers (as the planner reads it).
        (lambda: bridge_parameters(["not", "a", "mapping"]), "n_layers"),
    ],
)
def test_bad_arguments_are_named(call: Any, key: str | None) -> None:
    with pytest.raises(PresetValidationError) as caught:
        call()
    assert caught.value.key == key


def test_dtype_names_and_torch_dtypes() -> None:
    class FakeDtype:  # prints as a torch.dtype does
        def __str__(self) -> str:
            return "torch.bfloat16"

    assert bridge_weight_bytes(GPT2, FakeDtype()) == bridge_weight_bytes(GPT2, "bf16")
    assert bridge_weight_bytes(GPT2, "bf16") * 2 == bridge_weight_bytes(GPT2)  # float32
    assert bridge_buffer_bytes({**GPT2, "dtype": "float16"}) == 2 * 100


def test_a_config_object_is_read_as_its_values() -> None:
    cfg = get_preset("EleutherAI/pythia-14m")
    assert bridge_total_params(cfg) == bridge_total_params(cfg.to_dict())  # type: ignore[arg-type]


def test_records() -> None:
    t = BridgeTensor("x", (2, 3), "float16", trained=False)
    assert (t.numel, t.nbytes) == (6, 12)
    assert t == BridgeTensor("x", (2, 3), "float16", trained=False)
    assert t != BridgeTensor("x", (2, 3), "float16")
    assert t.to_dict()["trained"] is False
    assert repr(t) == "BridgeTensor('x', (2, 3), 'float16')"
    state = bridge_training_state(GPT2)
    assert (
        state.to_dict()["total"] == state.total == state.weights + state.gradients + state.optimizer
    )
    assert state == bridge_training_state(GPT2) and "total=" in repr(state)


def test_no_torch_numpy_or_config_is_imported() -> None:
    code = (
        "import sys\n"
        "from transformer_presets.planner import bridge_params as b\n"
        "v = {'n_layers': 2, 'd_model': 64, 'n_ctx': 32, 'd_head': 16, 'd_vocab': 100,"
        " 'act_fn': 'gelu', 'original_architecture': 'GPTNeoXForCausalLM',"
        " 'positional_embedding_type': 'rotary', 'rotary_dim': 16, 'dtype': 'bfloat16'}\n"
        "b.bridge_training_state(v); b.bridge_buffer_bytes(v); b.bridge_kv_cache_bytes(v, 1, 8)\n"
        "b.bridge_forward_flops(v, 1, 8); b.transformers_kv_cache_bytes(v, 1, 8)\n"
        "loaded = [m for m in ('torch', 'numpy', 'transformer_presets.config') if m in sys.modules]\n"
        "print(loaded)\n"
    )
    assert python_c(code).strip() == "[]"


def test_the_readme_example_and_numbers() -> None:
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### The bridge's weights, buffers", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```py\n(.*?)```", section, re.S)
    namespace: dict[str, Any] = {}
    lines = block.splitlines()
    exec(compile("\n".join(lines[:3]), "README.md", "exec"), namespace)
    for line in lines[3:]:
        code, said = line.split("#")
        assert eval(code, namespace) == int(said.split(":")[0]), line
    # The numbers the prose gives, as the functions work them out.
    gemma3 = get_preset("google/gemma-3-27b-it").to_dict()
    windowed = transformers_kv_cache_bytes(gemma3, 1, 8192, "bfloat16")
    full = 2 * gemma3["n_layers"] * 8192 * gemma3["n_key_value_heads"] * gemma3["d_head"] * 2
    assert f"{windowed / 1e9:.1f} GB in bfloat16\nrather than {full / 1e9:.1f} GB" in section
    neox = get_preset("EleutherAI/gpt-neox-20b").to_dict()
    total, stored = bridge_total_params(neox), bridge_weight_bytes(neox, "bfloat16")
    hooked = total_params(neox)  # HookedTransformer's
    assert (
        f"{total / 1e9:.1f} billion parameters, {stored / 1e9:.0f} GB in bfloat16, against "
        f"{hooked / 1e9:.1f} billion" in section
    )
    gemma = get_preset("google/gemma-3-4b-it").to_dict()
    tower = sum(t.numel for t in bridge_parameters(gemma) if ".vision_tower." in t.name)
    assert f"SigLIP image tower ({tower / 1e6:.1f} million)" in section
