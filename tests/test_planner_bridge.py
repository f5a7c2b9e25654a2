"""The planner's ``model="bridge"``: TransformerLens 4.3's TransformerBridge, without it.

What the cache holds is checked against TransformerLens 4.3 itself in
``tests/test_planner_bridge_tl4.py``; here: the API, every bundled preset, the refusals
(each a ``PresetError`` naming the key), the command line as a user runs it, and that
none of it imports torch, transformers or TransformerLens.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_presets import cli, list_presets, resolve_preset
from transformer_presets.cli import _plan as cli_plan
from transformer_presets.cli._parser import plan_parser
from transformer_presets.errors import PresetArgumentError, PresetError, PresetValidationError
from transformer_presets.planner import bridge_params
from transformer_presets.planner import hooked as planner
from transformer_presets.planner.bridge import ADAPTERS, NOT_BUILDABLE, BridgeLayout, _parse
from transformer_presets.registry.registry import default_registry

from .conftest import REPO, python_c
from .test_cli import TINY, fails, home, ok, ok_json, run, user_dir
from .test_planner import watch_listing

__all__ = ["home", "user_dir"]  # test_cli's fixtures

GPT2 = {
    "n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64, "d_vocab": 50257,
    "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel",
}  # fmt: skip


def values(name: str) -> dict[str, Any]:
    return {**resolve_preset(name), **default_registry().derived(name)}


# -- what the issue reported, and the shapes of the answers ------------------------------


def test_distilgpt2_and_llama_at_1_by_8_as_transformer_lens_4_3_counts() -> None:
    # TransformerLens 4.3's own counts (the issue's, measured again by the TL4 tests):
    # 253 tensors, 10,528,352 bytes listed for distilgpt2; 749 and 65,885,280 for
    # Llama-3.2-1B; HookedTransformer caches 108 and 325.
    for name, count, listed, hooked in (
        ("distilgpt2", 253, 10_528_352, 108),
        ("meta-llama/Llama-3.2-1B", 749, 65_885_280, 325),
    ):
        specs = planner.hook_specs(values(name), 1, 8, model="bridge")
        assert (len(specs), sum(s.nbytes for s in specs)) == (count, listed)
        assert len(planner.hook_specs(values(name), 1, 8)) == hooked
        # Most of the bridge's names are second names of one tensor.
        held = planner.activation_cache_bytes(values(name), 1, 8, model="bridge")
        assert held < listed / 2


def test_every_question_takes_model() -> None:
    v = values("gpt2-small")
    assert planner.hook_specs(v, 2, 8) == planner.hook_specs(v, 2, 8, model="hooked")
    bridge = planner.hook_specs(v, 2, 8, "bfloat16", model="bridge")
    assert bridge == planner.BridgePlan(v).hook_specs(2, 8, "bfloat16")
    assert planner.hook_shapes(v, 2, 8, model="bridge") == {s.name: s.shape for s in bridge}
    assert planner.activation_cache_bytes(v, 2, 8, dtype="bfloat16", model="bridge") == (
        planner.held_bytes(bridge)
    )
    glob = "blocks.*.hook_resid_*"
    assert planner.activation_cache_bytes(v, 2, 8, glob, "bfloat16", model="bridge") == (
        planner.held_bytes(s for s in bridge if fnmatch.fnmatchcase(s.name, glob))
    )
    assert type(planner.plan_for(v, "bridge")) is planner.BridgePlan


def test_the_configs_methods_take_model() -> None:
    pytest.importorskip("torch")
    from transformer_presets import get_preset

    cfg = get_preset("pythia-70m")
    v = values("pythia-70m")
    assert cfg.hook_shapes(1, 8, model="bridge") == planner.hook_shapes(v, 1, 8, model="bridge")
    assert cfg.activation_cache_bytes(1, 8, "blocks.0.*", dtype="bfloat16", model="bridge") == (
        planner.activation_cache_bytes(v, 1, 8, "blocks.0.*", "bfloat16", model="bridge")
    )
    # The other questions: the bridge's weights, cache and FLOPs (bridge_params), not
    # HookedTransformer's (which has biases the bridge does not).
    assert cfg.kv_cache_bytes(3, 8, dtype="bfloat16", model="bridge") == (
        bridge_params.bridge_kv_cache_bytes(v, 3, 8, "bfloat16")
    )
    assert cfg.forward_flops(1, 8, model="bridge") == bridge_params.bridge_forward_flops(v, 1, 8)
    assert cfg.training_state_bytes("sgd", model="bridge") == (
        bridge_params.bridge_training_state(v, "sgd").total
    )
    assert cfg.training_state_bytes(model="bridge") != cfg.training_state_bytes()
    # Where TransformerLens 4.3 keeps no key-value cache, an error says why.
    llama = get_preset("meta-llama/Llama-3.2-1B")
    with pytest.raises(PresetValidationError, match="keeps no key-value cache for Llama") as e:
        llama.kv_cache_bytes(1, 8, model="bridge")
    assert (e.value.preset, e.value.key) == (llama.model_name, "model")
    with pytest.raises(PresetArgumentError, match="model must be one of 'hooked', 'bridge'"):
        cfg.hook_shapes(1, 8, model="Bridge")


@pytest.mark.parametrize("model", ["bogus", "bridges", 4, None])
def test_an_unknown_model_is_refused(model: Any) -> None:
    v = values("gpt2-small")
    for call in (
        lambda: planner.hook_specs(v, 1, 8, model=model),
        lambda: planner.hook_shapes(v, 1, 8, model=model),
        lambda: planner.activation_cache_bytes(v, 1, 8, model=model),
        lambda: planner.kv_cache_bytes(v, 1, 8, model=model),
        lambda: planner.forward_flops(v, 1, 8, model=model),
        lambda: planner.buffer_bytes(v, 8, model=model),
        lambda: planner.training_state(v, model=model),
        lambda: planner.training_state_bytes(v, model=model),
    ):
        with pytest.raises(PresetArgumentError, match="model must be one of") as e:
            call()
        assert isinstance(e.value, TypeError)  # an argument the function cannot take
    if model == "bridges":
        assert "did you mean 'bridge'" in str(e.value)


def test_the_bridges_weights_cache_and_flops_are_bridge_params_answers() -> None:
    plan = planner.BridgePlan(GPT2)
    assert plan.weight_bytes("bfloat16") == bridge_params.bridge_weight_bytes(GPT2, "bfloat16")
    assert plan.total_params() == bridge_params.bridge_total_params(GPT2)
    assert plan.buffer_bytes(8) == plan.buffer_bytes() == bridge_params.bridge_buffer_bytes(GPT2)
    assert plan.forward_flops(2, 8) == bridge_params.bridge_forward_flops(GPT2, 2, 8)
    assert plan.training_state("sgd", "float16") == (
        bridge_params.bridge_training_state(GPT2, "sgd", "float16")
    )
    # The planner's functions, on plain values.
    neox = values("pythia-70m")
    assert planner.kv_cache_bytes(neox, 2, 16, "bfloat16", model="bridge") == (
        bridge_params.bridge_kv_cache_bytes(neox, 2, 16, "bfloat16")
    )
    # transformers' cache keeps no attention mask.
    assert planner.kv_cache_bytes(neox, 2, 16, include_mask=True, model="bridge") == (
        planner.kv_cache_bytes(neox, 2, 16, model="bridge")
    )
    assert planner.forward_flops(neox, 1, 8, model="bridge") == (
        bridge_params.bridge_forward_flops(neox, 1, 8)
    )
    assert planner.buffer_bytes(neox, model="bridge") == bridge_params.bridge_buffer_bytes(neox)
    assert planner.training_state_bytes(neox, "none", "float16", model="bridge") == (
        bridge_params.bridge_training_state(neox, "none", "float16").total
    )
    # Not HookedTransformer's: the bridge holds no zero biases, and GPT-2's Q/K/V views.
    assert plan.weight_bytes() != planner.ModelPlan(GPT2).weight_bytes()


OLMO = {**GPT2, "original_architecture": "OlmoForCausalLM", "positional_embedding_type":
        "rotary", "rotary_dim": 64, "gated_mlp": True, "act_fn": "silu"}  # fmt: skip


@pytest.mark.parametrize(
    ("values", "question", "key", "says"),
    [
        (GPT2, lambda p: p.kv_cache_bytes(1, 8), "model", "keeps no key-value cache for GPT2"),
        (GPT2, lambda p: p.buffer_bytes(1025), "seq", "beyond the model's context"),
        (GPT2, lambda p: p.forward_flops(0, 8), "batch", "at least 1"),
        (GPT2, lambda p: p.weight_bytes("float8"), "dtype", "not a known dtype"),
        (GPT2, lambda p: p.training_state("adam"), "optimizer", "did you mean"),
        (OLMO, lambda p: p.training_state("adamw", "bfloat16"), "dtype", "cannot run Olmo"),
        (OLMO, lambda p: p.forward_flops(1, 8, "float16"), "dtype", "cannot run Olmo"),
        # The hooks are laid out, but the tensors need heads x head size = d_model.
        ({**GPT2, "n_heads": 6}, lambda p: p.weight_bytes(), "d_head", "heads x head size"),
    ],
)
def test_what_the_bridge_cannot_answer_says_why(
    values: dict[str, Any], question: Any, key: str, says: str
) -> None:
    plan = planner.BridgePlan(values)
    with pytest.raises(PresetValidationError, match=says) as e:
        question(plan)
    assert e.value.key == key


# -- every bundled preset ----------------------------------------------------------------------


def test_every_preset_of_a_covered_architecture_is_planned() -> None:
    from transformer_presets import to_hf_config
    from transformer_presets.hf.errors import HFExportError

    planned = 0
    for info in list_presets():
        v = values(info.name)
        arch = v.get("original_architecture")
        try:
            to_hf_config(info.name)
        except HFExportError:
            exported = False
        else:
            exported = True
        try:
            specs = planner.hook_specs(v, 2, 16, model="bridge")
        except PresetValidationError as exc:
            # What boot_bridge cannot build: no config.json (Neel Nanda's models, minGPT,
            # the speech encoders, Gemma 1's exact GELU), or none transformers builds
            # without the model's own code (Qwen-1).
            assert not exported or arch in NOT_BUILDABLE, exc
            assert exc.key in ("original_architecture", "act_fn")
            continue
        assert exported, info.name
        planned += 1
        names = [s.name for s in specs]
        assert names[-1] == "hook_unembed" and "unembed.hook_out" in names
        # The names the bridge keeps from HookedTransformer (T5's stacks have others).
        if arch != "T5ForConditionalGeneration":
            assert {"blocks.0.hook_resid_pre", "blocks.0.hook_attn_out", "hook_embed"} <= set(names)
        assert all(s.nbytes > 0 for s in specs)
        # Every preset whose hooks are planned has its weights, buffers and FLOPs too,
        # and a key-value cache or the reason it has none.
        plan = planner.BridgePlan(v)
        assert plan.weight_bytes() > 0 and plan.buffer_bytes(16) >= 0
        assert plan.forward_flops(2, 16) > 0 and plan.training_state().total > 0
        try:
            plan.kv_cache_bytes(2, 16)
        except PresetValidationError as exc:
            assert exc.key == "model", exc
    assert planned > 200


def test_every_adapter_table_reads() -> None:
    for arch, adapter in ADAPTERS.items():
        assert adapter.name.endswith("ArchitectureAdapter"), arch
        for prefix, table, _ in adapter.parts:
            for name, shape, mark, _same, storage, _first in table:
                assert set(shape) <= set("BSTPDHKhQYMVEkr1"), (arch, name)
                assert set(storage) <= set("BSTPDHKhQYMVEkr10"), (arch, name)
                assert mark in ("", "n", "f", "i", "c"), (arch, name)
                assert prefix is not None or name.startswith("/") or "." in name
    assert _parse("?first /pos BSD i =a @1SD\n\n x 1") == (
        ("/pos", "BSD", "i", "a", "1SD", True),
        ("x", "1", "", "", "", False),
    )


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"original_architecture": None}, "original_architecture", "no original_architecture"),
        ({"original_architecture": "neel"}, "original_architecture", "the bridge planner covers"),
        ({"original_architecture": "GPT2LMHeadModl"}, "original_architecture", "did you mean"),
        (
            {"original_architecture": "QWenLMHeadModel"},
            "original_architecture",
            "trust_remote_code",
        ),
        ({"positional_embedding_type": "rotary"}, "positional_embedding_type", "'standard'"),
        ({"gated_mlp": True}, "gated_mlp", "gated_mlp = False"),
        ({"num_experts": 4, "experts_per_token": 2}, "num_experts", "this preset has 4"),
        ({"n_layers": planner.MAX_LAYERS + 1}, "n_layers", "at most 65536 layers"),
        ({"n_layers": 2**63 - 1}, "n_layers", "beyond 64 bits"),
        ({"d_model": True}, "d_model", "expected int, got bool"),
    ],
)
def test_what_boot_bridge_cannot_build_is_refused_by_name(
    changes: dict[str, Any], key: str, message: str
) -> None:
    v = {**GPT2, **changes}
    with pytest.raises(PresetError, match=re.escape(message)) as e:
        planner.hook_specs(v, 1, 4, model="bridge")
    assert e.value.key == key
    assert "Traceback" not in str(e.value)


def test_gemma1_with_exact_gelu_is_refused_and_with_tanh_planned() -> None:
    v = values("google/gemma-2b")
    with pytest.raises(PresetValidationError, match=r"no config\.json .* exact GELU") as e:
        planner.hook_specs(v, 1, 4, model="bridge")
    assert e.value.key == "act_fn"
    specs = planner.hook_specs({**v, "act_fn": "gelu_pytorch_tanh"}, 1, 4, model="bridge")
    assert specs[0].name == "embed.hook_in"


@pytest.mark.parametrize(
    ("name", "dtype"),
    [
        ("allenai/OLMo-1B-hf", "bfloat16"),
        ("allenai/OLMo-2-0425-1B", "float16"),
        ("allenai/Olmo-3-1025-7B", "bfloat16"),
        ("mistralai/Mixtral-8x7B-v0.1", "float64"),
        ("openai/gpt-oss-20b", "float64"),
    ],
)
def test_dtypes_transformer_lens_4_cannot_run_are_refused(name: str, dtype: str) -> None:
    with pytest.raises(PresetValidationError, match=f"cannot run .* in {dtype}") as e:
        planner.hook_specs(values(name), 1, 4, dtype, model="bridge")
    assert e.value.key == "dtype"
    assert planner.hook_specs(values(name), 1, 4, "float32", model="bridge")


@pytest.mark.parametrize(
    ("batch", "seq", "message"),
    [
        (0, 4, "must be at least 1"),
        (True, 4, "must be an integer"),
        (1, 1025, "beyond the model's context"),
        (2**63, 4, "must be at most"),
        (1, 4.0, "must be an integer"),
    ],
)
def test_bad_sizes_are_refused(batch: Any, seq: Any, message: str) -> None:
    with pytest.raises(PresetValidationError, match=message):
        planner.hook_specs(GPT2, batch, seq, model="bridge")


def test_the_largest_batch_gives_exact_integers() -> None:
    top = planner.MAX_SIZE
    specs = planner.hook_specs(GPT2, top, 1024, model="bridge")
    assert specs[1].shape == (top, 1024, 768) and specs[1].nbytes == top * 1024 * 768 * 4
    # The position embedding is one [1, seq, d_model] table broadcast over the batch.
    pos = next(s for s in specs if s.name == "pos_embed.hook_out")
    assert pos.storage_bytes == 1024 * 768 * 4


# -- tensors under two names, views ----------------------------------------------------------


def test_a_view_counts_the_memory_it_keeps_alive() -> None:
    specs = {s.name: s for s in planner.hook_specs(GPT2, 4, 8, model="bridge")}
    pos = specs["pos_embed.hook_out"]
    assert (pos.nbytes, pos.storage_bytes) == (4 * 8 * 768 * 4, 8 * 768 * 4)
    assert specs["hook_pos_embed"].same_as == "pos_embed.hook_out"
    assert planner.activation_cache_bytes(GPT2, 4, 8, "*pos_embed*", model="bridge") == (
        8 * 768 * 4 + 8 * 8  # the table once, and the [1, seq] int64 position ids
    )
    assert pos.to_dict()["storage_bytes"] == pos.storage_bytes
    assert "storage_bytes" not in specs["hook_embed"].to_dict()
    assert "storage_bytes=" in repr(pos)
    # BERT's position ids are a slice of the model's own buffer: nothing added.
    bert = {s.name: s for s in planner.hook_specs(values("bert-base-cased"), 2, 8, model="bridge")}
    assert bert["pos_embed.hook_in"].storage_bytes == 0
    # GPT-OSS's pattern is the attention sinks' softmax with the sink's column cut off.
    oss = {s.name: s for s in planner.hook_specs(values("gpt-oss-20b"), 1, 8, model="bridge")}
    pattern = oss["blocks.0.attn.hook_pattern"]
    assert pattern.storage_bytes == pattern.nbytes // 8 * 9


def test_second_names_are_counted_once() -> None:
    specs = planner.hook_specs(values("meta-llama/Llama-3.2-1B"), 1, 8, model="bridge")
    by_name = {s.name: s for s in specs}
    assert by_name["blocks.0.hook_resid_pre"].same_as == "embed.hook_out"
    assert by_name["blocks.1.hook_in"].same_as == "blocks.0.hook_out"
    assert by_name["blocks.3.attn.hook_cos"].same_as == "rotary_emb.hook_cos"
    roots = {s.same_as or s.name for s in specs}
    assert planner.activation_cache_bytes(
        values("meta-llama/Llama-3.2-1B"), 1, 8, model="bridge"
    ) == sum(by_name[r].nbytes for r in roots)
    # A second name has its tensor's dtype: OLMo's rotary tables stay float32.
    olmo = planner.hook_specs(values("allenai/OLMo-2-0425-1B"), 1, 8, "float64", model="bridge")
    assert {s.dtype for s in olmo if "hook_cos" in s.name} == {"float32"}


# -- counted, not listed: the planner's one machinery ------------------------------------------

# Selections of every kind: all, none in the blocks, some layers, the rotary tables, the
# residual stream across layers and parts, T5's two stacks and first-block hooks.
SELECTIONS: list[Any] = [
    None, "*", "hook_*", "*.hook_in", "blocks.0.*", "blocks.1*", "blocks.[02].*", "*resid*",
    "blocks.*.hook_out", "*hook_cos", "rotary_emb.*", "unembed.*", "*ln_final*",
    ["embed.hook_out", "blocks.0.hook_in"], ["blocks.1.hook_out", "ln_final.hook_in"],
    "encoder_blocks.0.*", "decoder_blocks.1*", "*pos_embed*", "*cross_attn.k.hook_in",
    "no_such_hook",
]  # fmt: skip


def _kept(specs: list[planner.HookSpec], names: Any) -> list[planner.HookSpec]:
    """What a names_filter keeps of the whole listing, matched name by name."""
    if names is None:
        return specs
    globs = [names] if isinstance(names, str) else names
    return [s for s in specs if any(fnmatch.fnmatchcase(s.name, g) for g in globs)]


def _structures() -> dict[Any, dict[str, Any]]:
    """One preset (few layers, every kind kept) per bridge structure of the zoo."""
    found: dict[Any, dict[str, Any]] = {}
    for info in list_presets():
        v = values(info.name)
        if not v.get("attn_types"):  # a per-layer list keeps its model's depth
            v["n_layers"] = min(v["n_layers"], 4)
        try:
            plan = planner.BridgePlan(v)
        except PresetValidationError:
            continue
        lay = plan.layout
        key = (lay.adapter.name, tuple(sorted(set(lay.layer_types))), repr(lay.adapter.fixed))
        found.setdefault(key, v)
    return found


def test_counting_agrees_with_the_listing_for_every_bridge_structure() -> None:
    # activation_cache_bytes, hook_count and listed_bytes count over a layout's parts and
    # layer kinds; the listing names every hook of every layer. They must agree, for
    # every adapter, selection and dtype (the first layer, the layers of each attention
    # type and the parts before and after a stack all crossed by the residual stream).
    structures = _structures()
    assert len(structures) >= len(ADAPTERS) - 2  # Gemma 3's two adapters, NeoX's variant
    for v in structures.values():
        plan = planner.BridgePlan(v)
        for dtype in ("float32", "bfloat16"):
            try:
                specs = plan.hook_specs(2, 5, dtype)
            except PresetValidationError:  # OLMo in half precision
                continue
            for names in SELECTIONS:
                where = (v["model_name"], dtype, names)
                kept = _kept(specs, names)
                assert plan.hook_specs(2, 5, dtype, names=names) == kept, where
                assert plan.hook_count(2, 5, names, dtype) == len(kept), where
                assert plan.activation_cache_bytes(2, 5, names, dtype) == planner.held_bytes(
                    kept
                ), where
                assert plan.listed_bytes(2, 5, names, dtype) == sum(s.nbytes for s in kept), where
            assert plan.activation_curve(2, [1, 3, 5], "*.hook_in", dtype) == [
                plan.activation_cache_bytes(2, s, "*.hook_in", dtype) for s in (1, 3, 5)
            ]


def test_a_deep_bridge_is_counted_without_listing_its_layers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 65,536 layers: all hooks counted by kind of layer, a glob matched only against the
    # hooks it can reach, nothing listed unless asked.
    deep = {**values("meta-llama/Llama-3.2-1B"), "n_layers": planner.MAX_LAYERS}
    plan = planner.BridgePlan(deep)
    two = planner.BridgePlan({**deep, "n_layers": 2})
    made, matched = watch_listing(monkeypatch)
    per_layer = two.hook_count(1, 8) - planner.BridgePlan({**deep, "n_layers": 1}).hook_count(1, 8)
    assert plan.hook_count(1, 8) == two.hook_count(1, 8) + (planner.MAX_LAYERS - 2) * per_layer
    assert plan.activation_cache_bytes(1, 8) > two.activation_cache_bytes(1, 8)
    assert made == [] and matched == []
    [embed] = plan.hook_specs(1, 8, names="embed.hook_out")
    assert embed.shape == (1, 8, deep["d_model"])
    assert made == ["embed.hook_out"] and len(matched) < 40
    with pytest.raises(PresetValidationError, match="at most 65536 layers"):
        planner.BridgePlan({**deep, "n_layers": planner.MAX_LAYERS + 1})


def test_eval_mode_dropout_passes_the_same_tensor_on() -> None:
    # boot_bridge returns the bridge in eval mode: a dropout is the identity, so what goes
    # through one keeps its tensor (in training mode each was a tensor of its own).
    gpt2 = {s.name: s for s in planner.hook_specs(GPT2, 1, 4, model="bridge")}
    assert gpt2["blocks.0.mlp.hook_out"].same_as == "blocks.0.mlp.out.hook_out"
    bert = {s.name: s for s in planner.hook_specs(values("bert-base-cased"), 1, 4, model="bridge")}
    assert bert["blocks.0.hook_in"].same_as == "embed_ln.hook_out"
    t5 = {s.name: s for s in planner.hook_specs(values("t5-small"), 1, 4, model="bridge")}
    for i in (0, 5):
        assert t5[f"decoder_blocks.{i}.cross_attn.k.hook_in"].same_as == "encoder_ln_final.hook_out"
        assert t5[f"decoder_blocks.{i}.cross_attn.v.hook_in"].same_as == "encoder_ln_final.hook_out"
    # Selected alone, the decoder's cross attention inputs are one tensor.
    one = planner.activation_cache_bytes(
        values("t5-small"), 1, 4, "decoder_blocks.*.cross_attn.k.hook_in", model="bridge"
    )
    assert one == t5["encoder_ln_final.hook_out"].nbytes


def test_norms_keep_float32_statistics_below_single_precision() -> None:
    for dtype, norm in (("bfloat16", "float32"), ("float16", "float32"), ("float64", "float64")):
        specs = planner.hook_specs(values("pythia-70m"), 1, 4, dtype, model="bridge")
        dtypes = {s.name: s.dtype for s in specs}
        assert dtypes["blocks.0.ln1.hook_normalized"] == norm
        assert dtypes["blocks.0.ln1.hook_out"] == dtype
        assert dtypes["embed.hook_in"] == "int64"


# -- torch-free --------------------------------------------------------------------------------


def test_the_bridge_planner_imports_no_torch_transformers_or_transformer_lens(
    isolated_dirs: Path,
) -> None:
    code = (
        "import sys\n"
        "from transformer_presets import resolve_preset\n"
        "from transformer_presets.planner import hooked as planner\n"
        "v = resolve_preset('mixtral')\n"
        "planner.hook_specs(v, 1, 8, 'bfloat16', model='bridge')\n"
        "planner.activation_cache_bytes(v, 1, 8, 'blocks.*', model='bridge')\n"
        "print([m for m in ('torch', 'numpy', 'transformers', 'transformer_lens',"
        " 'transformer_presets.config.hooked') if m in sys.modules])\n"
    )
    assert python_c(code).strip() == "[]"


# -- the command line ----------------------------------------------------------------------------


def test_size_bridge_json_is_the_library_answer(home: Path) -> None:
    got = ok_json(
        "size", "meta-llama/Llama-3.2-1B", "--model", "bridge", "--seq", "64", "--batch", "2"
    )
    v = values("meta-llama/Llama-3.2-1B")
    specs = planner.hook_specs(v, 2, 64, model="bridge")
    held = planner.held_bytes(specs)
    params = bridge_params.BridgeParams(v)
    weights, buffers = params.weight_bytes(), params.buffer_bytes()
    with pytest.raises(PresetValidationError) as refused:
        params.kv_cache_bytes(2, 64)
    flops = params.forward_flops(2, 64)
    assert got == {
        "name": "meta-llama/Llama-3.2-1B",
        "model": "bridge",
        "architecture": "LlamaForCausalLM",
        "adapter": "LlamaArchitectureAdapter",
        "batch": 2,
        "seq": 64,
        "dtype": "float32",
        "optimizer": "adamw",
        "hooks": None,
        "parameters": params.total_params(),
        "stored_parameters": params.stored_params(),
        "weight_bytes": weights,
        "buffer_bytes": buffers,
        "kv_cache_bytes": None,
        "kv_cache_mask_bytes": None,
        "kv_cache_refused": refused.value.reason,
        "transformers_kv_cache_bytes": params.transformers_kv_cache_bytes(2, 64),
        "activation_bytes": held,
        "activation_hooks": len(specs),
        "listed_bytes": sum(s.nbytes for s in specs),
        "hooked_activation_bytes": planner.activation_cache_bytes(v, 2, 64),
        "hooked_activation_hooks": len(planner.hook_specs(v, 2, 64)),
        "forward_flops": flops,
        "flops_per_token": flops // (2 * 64),
        "training_state": params.training_state().to_dict(),
        "needed_bytes": weights + buffers + held,
        "converted": False,
        "memory": [
            {"size_bytes": size, "fits": weights + buffers + held <= size}
            for size in cli_plan.DEFAULT_MEMORY
        ],
    }
    # Every key of size --model hooked is there.
    assert set(ok_json("size", "gpt2-small", "--seq", "8")) <= set(got)


def test_size_bridge_with_a_filter_and_without_a_hooked_model(home: Path) -> None:
    got = ok_json("size", "t5-small", "--model", "bridge", "--seq", "16", "--hooks", "*.hook_out")
    v = values("google-t5/t5-small")
    assert got["activation_bytes"] == planner.activation_cache_bytes(
        v, 1, 16, "*.hook_out", model="bridge"
    )
    assert got["hooked_activation_bytes"] is None  # TransformerLens 3 builds T5 otherwise
    text = ok("size", "t5-small", "--model", "bridge", "--seq", "16", "--optimizer", "sgd")
    assert "T5ArchitectureAdapter" in text and "HookedTransformer" not in text.split("\n\n")[1]
    rows = {line[:18].strip(): line[18:].split() for line in text.split("\n\n")[1].splitlines()}
    params = bridge_params.BridgeParams(v)
    assert rows["parameters"][0] == f"{params.total_params():,}"
    assert rows["weights"][:2] == cli_plan.format_bytes(params.weight_bytes()).split()
    assert rows["forward"][:2] == cli_plan.format_flops(params.forward_flops(1, 16)).split()
    training = cli_plan.format_bytes(params.training_state("sgd").total).split()
    assert rows["training state"][:3] == [*training, "sgd:"]
    # T5's bridge keeps no cache: the reason in short, and transformers' own.
    own = cli_plan.format_bytes(params.transformers_kv_cache_bytes(1, 16))
    assert re.search(
        rf"^KV cache +- +TransformerLens 4.3 keeps no key-value cache for T5; "
        rf"transformers' own: {re.escape(own)}$",
        text,
        re.M,
    )
    needed = params.weight_bytes() + params.buffer_bytes()
    needed += planner.activation_cache_bytes(v, 1, 16, model="bridge")
    assert f"weights + buffers + activations = {cli_plan.format_bytes(needed)}:" in text


def test_size_bridge_with_a_cache_and_views(home: Path) -> None:
    # GPT-NeoX: TransformerLens 4.3 fills transformers' cache; GPT-2: the split Q/K/V are
    # views of c_attn, counted by parameters() but not stored.
    text = ok("size", "pythia-70m", "--model", "bridge", "--seq", "128", "--dtype", "bf16")
    kv = planner.kv_cache_bytes(values("pythia-70m"), 1, 128, "bfloat16", model="bridge")
    assert re.search(
        rf"^KV cache +{re.escape(cli_plan.format_bytes(kv))}  keys and values after 128 tokens",
        text,
        re.M,
    )
    got = ok_json("size", "gpt2-small", "--model", "bridge", "--seq", "8")
    assert got["parameters"] - got["stored_parameters"] == 12 * 3 * (768 * 768 + 768)
    text = ok("size", "gpt2-small", "--model", "bridge", "--seq", "8")
    assert f"{got['stored_parameters']:,} stored, the rest views of fused matrices" in text


def test_size_bridge_names_the_value_its_tensors_cannot_have(user_dir: Path) -> None:
    # The hooks can be laid out, but a GPT-2's heads must make up d_model for its tensors.
    (user_dir / "odd.toml").write_text('[odd-gpt2]\nextends = "gpt2"\nn_heads = 6\nd_head = 64\n')
    err = fails("size", "odd-gpt2", "--model", "bridge", "--seq", "8").stderr
    assert "heads x head size must be d_model" in err, err
    assert "odd.toml" in err and "odd-gpt2" in err and "d_head" in err, err


def test_hooks_bridge_json_and_table_are_the_library_answer(home: Path) -> None:
    v = values("gpt2-small")
    got = ok_json("hooks", "gpt2-small", "*pos_embed*", "--model", "bridge", "--batch", "3")
    specs = [
        s.to_dict()
        for s in planner.hook_specs(v, 3, 1024, model="bridge")
        if fnmatch.fnmatchcase(s.name, "*pos_embed*")
    ]
    assert got["hooks"] == specs and got["model"] == "bridge"
    assert got["total_bytes"] == planner.activation_cache_bytes(
        v, 3, 1024, "*pos_embed*", model="bridge"
    )
    lines = ok("hooks", "gpt2-small", "*pos_embed*", "--model", "bridge", "--seq", "8").splitlines()
    assert [line.split()[0] for line in lines[1:4]] == [
        "pos_embed.hook_in",
        "pos_embed.hook_out",
        "hook_pos_embed",
    ]
    assert lines[2].endswith("a view of 24.0 KiB")
    assert lines[3].endswith("same tensor as pos_embed.hook_out")
    assert lines[-1].endswith("GPT2LMHeadModel (GPT2ArchitectureAdapter)")
    assert ok_json("hooks", "gpt2-small", "--seq", "8")["model"] == "hooked"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["size", "gpt2-small", "--model", "bogus"], 2, "invalid choice: 'bogus'"),
        (["hooks", "gpt2-small", "--model"], 2, "expected one argument"),
        (["size", "olmo-2-1b", "--model", "bridge", "--dtype", "bf16"], 2, "cannot run"),
        (["hooks", "gemma-2b", "--model", "bridge"], 1, "key 'act_fn': boot_bridge cannot"),
        (["size", "qwen-1.8b", "--model", "bridge"], 1, "names code in the model's repository"),
        (["hooks", "santacoder", "--model", "bridge"], 1, "GPT2LMHeadCustomModel: its exported"),
        (["hooks", "redwood_attn_2l", "--model", "bridge"], 1, "the bridge planner covers"),
        (["size", "gpt2-small", "--model", "bridge", "--seq", "1025"], 2, "beyond gpt2's"),
    ],
)
def test_bad_input_on_the_command_line(
    home: Path, args: list[str], code: int, message: str
) -> None:
    proc = fails(*args, code=code)
    assert message in proc.stderr
    assert proc.stdout == ""


def test_a_user_preset_names_its_file_when_refused(home: Path, user_presets: Path) -> None:
    text = TINY.format(name="rotary-gpt2") + (
        'original_architecture = "GPT2LMHeadModel"\npositional_embedding_type = "rotary"\n'
    )
    (user_presets / "mine.toml").write_text(text)
    proc = fails("hooks", "rotary-gpt2", "--model", "bridge")
    assert "mine.toml:" in proc.stderr and "key 'positional_embedding_type'" in proc.stderr


def test_plot_bridge(home: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "bridge.png"
    proc = run("size", "pythia-70m", "--model", "bridge", "--plot", str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in proc.stderr
    assert (
        "cannot write 'txt'"
        in fails("size", "pythia-70m", "--model", "bridge", "--plot", "x.txt", code=2).stderr
    )


def _imported(stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    "args",
    [
        ["size", "gpt2-small", "--model", "bridge"],
        ["hooks", "mixtral", "blocks.0.*", "--model", "bridge", "--json"],
    ],
    ids=["size", "hooks-json"],
)
def test_bridge_commands_stay_off_torch_and_slow_imports(home: Path, args: list[str]) -> None:
    ok(*args)  # warms the cache
    proc = run(*args, python_flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr
    imported = _imported(proc.stderr)
    assert "transformer_presets.planner.bridge" in imported
    heavy = sorted(
        m
        for m in imported
        if m.split(".")[0]
        in ("torch", "numpy", "transformers", "transformer_lens", "argparse", "typing")
        or m == "transformer_presets.config.hooked"
    )
    assert heavy == []


def test_the_readme_shows_what_the_bridge_command_prints(home: Path) -> None:
    import shlex

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = "size gpt2-small --model bridge"
    prompt = f"$ transformer-presets {command}\n"
    shown = readme[readme.index(prompt) + len(prompt) :].split("\n```", 1)[0]
    assert ok(*shlex.split(command)) == shown + "\n"
    # Beside the hooked report, and the numbers said of it are the planner's.
    section = readme.split("## Will it fit?", 1)[1].split("\n### ", 1)[0]
    assert section.index("$ transformer-presets size gpt2-small\n") < section.index(prompt)
    v = values("gpt2-small")
    bridge, hooked = (len(planner.hook_specs(v, 1, 1024, model=m)) for m in ("bridge", "hooked"))
    assert f"caches {bridge} tensors where HookedTransformer caches {hooked}" in section
    assert f"({bridge / hooked:.1f} times as many" in section
    glob = cli_plan.format_bytes(
        planner.activation_cache_bytes(v, 1, 1024, "blocks.*.hook_resid_post", model="bridge")
    )
    assert f"--hooks 'blocks.*.hook_resid_post'` ({glob}" in section


MODEL_TOKENS = [
    *("gpt2", "x", "blocks.*", "--model", "bridge", "hooked", "bogus", "--model=bridge"),
    *("--batch", "2", "--seq", "8", "--dtype", "bf16", "--json", "--hooks", "--"),
]


@settings(max_examples=300, deadline=None)
@given(
    command=st.sampled_from(["size", "hooks"]),
    rest=st.lists(st.sampled_from(MODEL_TOKENS), max_size=6),
)
def test_quick_reader_agrees_with_argparse_on_model(command: str, rest: list[str]) -> None:
    argv = [command, *rest]
    quick = cli_plan.quick_plan_args(argv, "p")
    if quick is None:
        return
    got = {k: v for k, v in vars(quick).items() if k != "prog"}
    for parser in (cli.build_parser("p"), plan_parser("p")):
        expected = vars(parser.parse_args(argv))
        expected.pop("prog", None)
        assert got == expected


def test_layout_reads_a_config_as_well_as_values() -> None:
    pytest.importorskip("torch")
    from transformer_presets import get_preset

    cfg = get_preset("qwen3-0.6b")
    assert BridgeLayout(cfg).arch == "Qwen3ForCausalLM"
    assert planner.hook_specs(cfg, 1, 4, model="bridge") == planner.hook_specs(
        values("Qwen/Qwen3-0.6B"), 1, 4, model="bridge"
    )


def test_json_output_is_json(home: Path) -> None:
    json.loads(ok("hooks", "tiny-stories-1m", "--model", "bridge", "--seq", "4", "--json"))


def test_rotary_tables_per_attention_type_follow_the_exported_layer_types() -> None:
    # Gemma 3 computes one table per attention type in its config's layer_types, which the
    # export writes from attn_types only where local attention is on.
    v = values("google/gemma-3-270m")
    assert v["use_local_attn"] and "global" in v["attn_types"]

    def tables(values: dict[str, Any]) -> int:
        specs = planner.hook_specs(values, 1, 4, model="bridge")
        return len({s.same_as or s.name for s in specs if s.name.endswith("hook_cos")})

    assert tables(v) == 2
    assert tables({**v, "use_local_attn": False}) == 1
    assert tables({**v, "attn_types": ["local"] * v["n_layers"]}) == 1


def test_a_selection_whose_bytes_vary_between_processes_is_refused(home: Path) -> None:
    # Gemma 3's model-level rotary hooks hold the table of whichever attention type
    # transformers computes last, a set's order that hash randomisation draws per process
    # (tests/test_planner_bridge_tl4.py runs TransformerLens under several seeds). With the
    # tables of every type's layers, or of none, the bytes are the same in every process;
    # with some types' only, one table or two: refused, naming the key.
    v = values("google/gemma-3-270m")
    layout = BridgeLayout(v)
    assert layout.rotary_varies and set(layout.layer_types) == {"local", "global"}
    assert layout.layer_types[0] == "local" and layout.layer_types[5] == "global"
    table = 1 * 4 * v["d_head"] * 4  # [1, seq, d_head] float32

    def held(names: Any) -> int:
        return planner.activation_cache_bytes(v, 1, 4, names, model="bridge")

    assert held("rotary_emb.hook_cos") == table
    assert (
        held("*hook_cos") == held(["rotary_emb.hook_cos", "blocks.[05].attn.hook_cos"]) == 2 * table
    )
    assert held("blocks.0.attn.hook_cos") == held("blocks.*.attn.hook_cos") // 2 == table
    for names in (
        ["rotary_emb.hook_cos", "blocks.0.attn.hook_cos"],
        ["rotary_emb.*", "blocks.5.*"],
    ):
        for question in (
            lambda n=names: held(n),
            lambda n=names: planner.hook_specs(v, 1, 4, names=n, model="bridge"),
            lambda n=names: planner.BridgePlan(v).hook_count(1, 4, n),
        ):
            with pytest.raises(PresetValidationError, match="PYTHONHASHSEED") as info:
                question()
            assert info.value.key == "names"
    # One attention type, or none: nothing varies.
    assert not BridgeLayout({**v, "use_local_attn": False}).rotary_varies
    llama = values("meta-llama/Llama-3.2-1B")
    assert (
        planner.activation_cache_bytes(
            llama, 1, 4, ["rotary_emb.hook_cos", "blocks.0.attn.hook_cos"], model="bridge"
        )
        == 1 * 4 * llama["d_head"] * 4
    )
    # The command line: a usage error naming the option, and a note beside the listing.
    proc = fails("size", "gemma-3-270m", "--model", "bridge", "--hooks", "*[b0].*hook_cos", code=2)
    assert "argument --hooks: this selection holds rotary_emb.hook_cos" in proc.stderr
    proc = fails("hooks", "gemma-3-270m", "*[b0].*hook_cos", "--model", "bridge", code=2)
    assert "argument GLOB: " in proc.stderr
    text = ok("hooks", "gemma-3-270m", "*hook_cos", "--model", "bridge", "--seq", "4")
    assert "an order Python's hash randomisation draws for\neach process (PYTHONHASHSEED)" in text
    assert "listed as the global layers' table" in text
    assert "PYTHONHASHSEED" not in ok(
        "hooks", "gemma-3-270m", "blocks.0.mlp.*", "--model", "bridge"
    )
    assert "PYTHONHASHSEED" not in ok(
        "hooks", "meta-llama/Llama-3.2-1B", "*hook_cos", "--model", "bridge"
    )


def test_the_planners_answer_is_the_same_under_every_hash_seed(home: Path) -> None:
    # What TransformerLens holds in rotary_emb.hook_cos depends on the process's hash
    # seed; what the planner says must not depend on its own.
    args = ("hooks", "gemma-3-270m", "--model", "bridge", "--seq", "4", "--json")
    size = ("size", "Olmo-3-1025-7B", "--model", "bridge", "--seq", "4", "--json")
    for command in (args, size):
        answers = {ok(*command, env={"PYTHONHASHSEED": seed}) for seed in ("0", "1", "2")}
        assert len(answers) == 1, command
