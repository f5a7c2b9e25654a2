"""The planner against the models TransformerLens 3.9 really builds.

Optional, like ``tests/test_transformer_lens_interop.py`` (whose skip and builders it
shares): it needs ``transformer-lens<4``. For every decoder preset of the zoo, at two
``(batch, seq)`` pairs and in float32 and bfloat16, the model is built and run on
PyTorch's meta device (shapes only: no memory, no arithmetic) and compared with the
planner: the hooks ``run_with_cache`` fills (names, order, shapes, dtypes, bytes, with
and without a filter), the FLOPs ``FlopCounterMode`` counts, the keys and values a
``TransformerLensKeyValueCache`` holds and the buffers. Presets that share one
structure (Pythia's seeds, the Stanford CRFM GPT-2s, ...) are measured once.

What the meta device cannot show runs on the CPU with the widths shrunk (same structure,
tiny sizes): mixture-of-experts routing, which activations are one tensor under two
names (the memory the cache holds), and one real optimizer step (on the smallest
presets at full size too). A list of tiny configurations covers the flags no preset
sets today (attention sinks, split Q/K/V inputs, ...), including those TransformerLens
cannot run, which the planner must refuse.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import re
from collections.abc import Iterator
from typing import Any

import pytest

try:
    TL_MAJOR = int(importlib.metadata.version("transformer-lens").split(".")[0])
except importlib.metadata.PackageNotFoundError:
    pytest.skip("transformer-lens is not installed", allow_module_level=True)
if TL_MAJOR >= 4:
    pytest.skip("these tests need transformer-lens<4 (HookedTransformer)", allow_module_level=True)

# After the skip: without TransformerLens none of these are needed.
import torch
import transformer_lens
from torch.utils.flop_counter import FlopCounterMode
from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

from transformer_presets.errors import PresetValidationError
from transformer_presets.fields.params import model_class, total_params
from transformer_presets.planner import hooked as planner

from .test_transformer_lens_interop import _TINY, _VARIANTS, _bundled_only, no_network

__all__ = ["no_network"]  # the interop module's autouse fixture, active here too

DTYPES = ("float32", "bfloat16")
# Fields that name or describe a model without changing what it computes: presets that
# differ only in these share one measurement.
_NOT_STRUCTURE = {
    *("model_name", "tokenizer_name", "tokenizer_prepends_bos", "default_prepend_bos"),
    *("from_checkpoint", "checkpoint_index", "checkpoint_value", "checkpoint_label_type"),
    *("n_params", "device", "seed", "trust_remote_code"),
}
# A filter for the filtered cache: it takes tensors shared between two names.
FILTER = "blocks.*.hook_resid_*"
# Presets small enough for a real optimizer step at full size on the CPU.
FULL_SIZE_TRAINING = (
    "roneneldan/TinyStories-1M",
    "EleutherAI/pythia-14m",
    "roneneldan/TinyStories-3M",
    "Baidicoot/Othello-GPT-Transformer-Lens",
    "ArthurConmy/redwood_attn_2l",
)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny CPU models run several times faster on one thread (and CI has two cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pairs(n_ctx: int) -> list[tuple[int, int]]:
    """Two (batch, seq) pairs: a short input, and a long one past the rotary tables' rows."""
    return [(1, min(5, n_ctx)), (3, min(n_ctx, 2500))]


# -- building and measuring --------------------------------------------------------------


def is_converted(config: dict[str, Any], dtype: str) -> bool:
    # TransformerLens 3.9 keeps these experts in float32: only model.to(dtype) runs them.
    return (
        bool(config.get("num_experts"))
        and config.get("original_architecture") != "GptOssForCausalLM"
        and dtype != "float32"
    )


def build(config: dict[str, Any], dtype: str, device: str) -> Any:
    """The HookedTransformer for ``config`` in ``dtype`` on ``device``."""
    if is_converted(config, dtype):
        model = build(config, "float32", device)
        # What model.to(dtype) does, without its loop that rebuilds the state dict once
        # per tensor (minutes for a mixture of experts).
        model.cfg.dtype = getattr(torch, dtype)
        torch.nn.Module.to(model, model.cfg.dtype)
        return model
    values = {**config, "dtype": getattr(torch, dtype), "tokenizer_name": None, "device": device}
    tl_config = transformer_lens.HookedTransformerConfig.from_dict(values)
    import warnings

    with warnings.catch_warnings(), torch.device(device):
        warnings.simplefilter("ignore", DeprecationWarning)
        return transformer_lens.HookedTransformer(tl_config, move_to_device=False)


def token_ids(model: Any, batch: int, seq: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    vocab = min(model.cfg.d_vocab, model.cfg.d_vocab_out)
    ids = torch.randint(0, vocab, (batch, seq), generator=generator)
    return ids.to(model.cfg.device)


Row = tuple[str, tuple[int, ...], str, int]


def rows_of(cache: dict[str, torch.Tensor]) -> list[Row]:
    return [
        (name, tuple(t.shape), str(t.dtype).removeprefix("torch."), t.numel() * t.element_size())
        for name, t in cache.items()
    ]


def run_cached(
    model: Any, batch: int, seq: int, glob: str | None = None
) -> tuple[dict[str, torch.Tensor], int]:
    """run_with_cache's activations, and the FLOPs of that forward pass."""
    ids = token_ids(model, batch, seq)
    names = None if glob is None else (lambda name: fnmatch.fnmatchcase(name, glob))
    with FlopCounterMode(display=False) as counter:
        _, cache = model.run_with_cache(ids, names_filter=names, return_cache_object=False)
    return cache, counter.get_total_flops()


def held_bytes(cache: dict[str, torch.Tensor]) -> int:
    """The memory the cache keeps alive: each storage once (real devices only)."""
    storages = {t.untyped_storage()._cdata: t.untyped_storage().nbytes() for t in cache.values()}
    return sum(storages.values())


def kv_bytes(model: Any, batch: int, seq: int) -> tuple[int, int]:
    """(keys and values, attention mask) a KV cache holds after a forward over seq tokens."""
    ids = token_ids(model, batch, seq)
    kv = TransformerLensKeyValueCache.init_cache(model.cfg, model.cfg.device, batch)
    # Without a tokenizer TransformerLens needs the mask given; ones, as it would make.
    model(ids, past_kv_cache=kv, attention_mask=torch.ones_like(ids))
    keys_values = sum(
        t.numel() * t.element_size() for e in kv.entries for t in (e.past_keys, e.past_values)
    )
    mask = kv.previous_attention_mask
    return keys_values, mask.numel() * mask.element_size()


def model_buffer_bytes(model: Any) -> int:
    total = sum(b.numel() * b.element_size() for b in model.buffers())
    for block in model.blocks:
        alibi = getattr(block.attn, "alibi", None)
        if isinstance(alibi, torch.Tensor):
            total += alibi.numel() * alibi.element_size()
    return total


def one_step(model: Any, optimizer: str, batch: int = 2, seq: int = 8) -> planner.TrainingState:
    """Weights, gradients and optimizer state after a real training step."""
    params = list(model.parameters())
    opt: torch.optim.Optimizer | None = None
    if optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=1e-3)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    model(token_ids(model, batch, seq), return_type="loss").backward()
    if opt is not None:
        opt.step()
    state = 0
    if opt is not None:
        for entry in opt.state.values():
            state += sum(v.numel() * v.element_size() for v in entry.values() if torch.is_tensor(v))
    return planner.TrainingState(
        weights=sum(p.numel() * p.element_size() for p in params),
        gradients=sum(p.grad.numel() * p.grad.element_size() for p in params if p.grad is not None),
        optimizer=state,
    )


def plan_rows(config: Any, batch: int, seq: int, dtype: str, glob: str | None = None) -> list[Row]:
    return [
        (s.name, s.shape, s.dtype, s.nbytes)
        for s in planner.hook_specs(config, batch, seq, dtype)
        if glob is None or fnmatch.fnmatchcase(s.name, glob)
    ]


_EXPERT = re.compile(r"(.*\.experts)\.\d+\.(.*)")


def routing_free(rows: list[Row]) -> list[Row]:
    """Rows with each expert hook summed over the experts (routing decides the split)."""
    out: list[Any] = []
    where: dict[str, int] = {}
    for name, shape, dtype, nbytes in rows:
        match = _EXPERT.fullmatch(name)
        if match is None:
            out.append([name, shape, dtype, nbytes])
            continue
        key = f"{match[1]}.*.{match[2]}"
        if key not in where:
            where[key] = len(out)
            out.append([key, (0, *shape[1:]), dtype, 0])
        row = out[where[key]]
        row[1] = (row[1][0] + shape[0], *row[1][1:])
        row[3] += nbytes
    return [tuple(r) for r in out]  # type: ignore[misc]


# -- configurations -----------------------------------------------------------------------


def structure_key(config: dict[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in config.items() if k not in _NOT_STRUCTURE))


def shrink(config: dict[str, Any], layers: int | None = None) -> dict[str, Any]:
    """The same structure with tiny widths (and ``layers`` layers, if given)."""
    c = {k: v for k, v in config.items() if k not in ("n_params", "device")}
    c["dtype"] = "float32"
    head = 8

    def scaled(n: int) -> int:
        return max(head, n * head // config["d_head"])

    c["n_heads"] = config["n_heads"]
    c["d_model"] = scaled(config["d_model"])
    if config.get("d_mlp") and config["d_mlp"] > 0:
        c["d_mlp"] = scaled(config["d_mlp"])
    if config.get("rotary_dim"):
        c["rotary_dim"] = max(2, config["rotary_dim"] * head // config["d_head"] // 2 * 2)
    c["d_head"] = head
    if config["d_vocab_out"] != config["d_vocab"]:
        c["d_vocab_out"] = 40
    else:
        c["d_vocab_out"] = -1
    c["d_vocab"] = 48
    c["n_ctx"] = min(config["n_ctx"], 64)
    if layers is not None:
        layers = c["n_layers"] = min(layers, config["n_layers"])
        if c.get("attn_types"):
            c["attn_types"] = c["attn_types"][:layers]
    return c


def _decoder_presets() -> dict[str, dict[str, Any]]:
    from transformer_presets import get_preset, list_presets

    with _bundled_only():
        configs = {info.name: get_preset(info.name).to_dict() for info in list_presets()}
    for config in configs.values():
        config["dtype"] = str(config["dtype"]).removeprefix("torch.")
    return {n: c for n, c in configs.items() if model_class(c) == "HookedTransformer"}


PRESETS = _decoder_presets()
DENSE = sorted(n for n, c in PRESETS.items() if not c.get("num_experts"))
MOE = sorted(n for n, c in PRESETS.items() if c.get("num_experts"))


def test_the_zoo_is_covered() -> None:
    # Every decoder is compared: dense ones on the meta device, the rest shrunk.
    assert len(DENSE) > 200
    assert len(MOE) >= 4
    assert set(DENSE) | set(MOE) == set(PRESETS)


# -- every dense preset, on the meta device ---------------------------------------------------


def every_kind_of_block(config: dict[str, Any]) -> dict[str, Any]:
    """The preset at full width with its first layers, enough for one of each kind of block.

    TransformerLens builds block ``i`` from the config, ``attn_types[i]`` (local or global
    attention, with their own rotary settings) and ``i`` itself (a scale): at least two
    layers, to show how one block hands its output to the next, and up to the first of
    each attention type (Gemma 3's global layer is its sixth). Measuring every preset at
    full depth on the meta device would take tens of minutes; FULL_DEPTH below does it
    for one preset of each kind.
    """
    types = config.get("attn_types") or []
    depth = max([2] + [types.index(kind) + 1 for kind in set(types)])
    out = {**config, "n_layers": min(depth, config["n_layers"])}
    if types:
        out["attn_types"] = types[: out["n_layers"]]
    return out


_measured: dict[tuple[str, str], dict[tuple[int, int], dict[str, Any]]] = {}


def measure_on_meta(config: dict[str, Any], dtype: str) -> dict[tuple[int, int], dict[str, Any]]:
    """Everything the test compares, for one structure and dtype (measured once).

    One model serves both pairs, the short first: a longer input only grows its buffers
    the way a fresh model's would grow. The KV cache is measured at both pairs too.
    """
    key = (structure_key(config), dtype)
    if key not in _measured:
        model = build(config, dtype, "meta")
        found = {}
        for batch, seq in pairs(config["n_ctx"]):
            cache, flops = run_cached(model, batch, seq)
            found[batch, seq] = {
                "rows": rows_of(cache),
                "flops": flops,
                "buffers": model_buffer_bytes(model),
                "kv": kv_bytes(model, batch, seq),
            }
        _measured[key] = found
    return _measured[key]


def check(config: dict[str, Any], dtype: str, measured: dict[tuple[int, int], Any]) -> None:
    assert measured
    for (batch, seq), m in measured.items():
        where = f"{config['model_name']} {dtype} batch={batch} seq={seq}"
        assert plan_rows(config, batch, seq, dtype) == m["rows"], where
        # A names_filter caches a subset of the same tensors (FULL_DEPTH runs one for real).
        subset = [r for r in m["rows"] if fnmatch.fnmatchcase(r[0], FILTER)]
        assert plan_rows(config, batch, seq, dtype, FILTER) == subset, where
        assert planner.forward_flops(config, batch, seq) == m["flops"], where
        assert planner.buffer_bytes(config, seq, dtype) == m["buffers"], where
        keys_values, mask = m["kv"]
        assert planner.kv_cache_bytes(config, batch, seq, dtype) == keys_values, where
        with_mask = planner.kv_cache_bytes(config, batch, seq, dtype, include_mask=True)
        assert with_mask == keys_values + mask, where


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", DENSE)
def test_dense_preset_matches_transformer_lens(name: str, dtype: str) -> None:
    config = every_kind_of_block(PRESETS[name])
    measured = measure_on_meta(config, dtype)
    assert len(measured) == 2  # two (batch, seq) pairs
    check(config, dtype, measured)


def test_the_reduced_depth_holds_every_kind_of_block() -> None:
    gemma3 = PRESETS["google/gemma-3-1b-it"]
    assert gemma3["attn_types"][:6] == ["local"] * 5 + ["global"]
    assert every_kind_of_block(gemma3)["n_layers"] == 6
    for name in DENSE:
        config, reduced = PRESETS[name], every_kind_of_block(PRESETS[name])
        assert set(reduced.get("attn_types") or []) == set(config.get("attn_types") or []), name
        assert reduced["n_layers"] == min(2, config["n_layers"]) or reduced.get("attn_types")


# Full depth, and a names_filter, for one preset of each kind of block.
FULL_DEPTH = (
    "EleutherAI/pythia-70m",  # rotary, parallel attention and MLP
    "gpt2",  # learned positions, LayerNorm
    "EleutherAI/gpt-neo-125M",  # local attention layers
    "bigscience/bloom-560m",  # ALiBi, post-embedding LayerNorm
    "Qwen/Qwen2.5-0.5B",  # grouped-query attention, RMSNorm, gated MLP
    "google/gemma-2-2b",  # norms before and after, soft caps
    "allenai/OLMo-2-0425-1B",  # post-norm, Q/K norms over whole projections
    "google/gemma-3-1b-it",  # five local layers to one global, Q/K norms, local RoPE base
    "allenai/Olmo-3-1025-7B",  # three sliding-window layers to one global, YaRN
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FULL_DEPTH)
def test_full_depth_and_filter_match_transformer_lens(name: str, dtype: str) -> None:
    config = PRESETS[name]
    check(config, dtype, measure_on_meta(config, dtype))
    model = build(config, dtype, "meta")
    batch, seq = pairs(config["n_ctx"])[0]
    cache, _ = run_cached(model, batch, seq)
    filtered, _ = run_cached(model, batch, seq, FILTER)
    assert plan_rows(config, batch, seq, dtype, FILTER) == rows_of(filtered)
    assert [r[0] for r in rows_of(filtered)] == [
        r[0] for r in rows_of(cache) if "hook_resid_" in r[0]
    ]


# -- mixtures of experts, shrunk, on the CPU -----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", MOE)
def test_moe_preset_matches_transformer_lens(name: str, dtype: str) -> None:
    config = shrink(PRESETS[name], layers=2)
    for batch, seq in [(1, 5), (2, 24)]:
        where = f"{name} {dtype} batch={batch} seq={seq}"
        torch.manual_seed(0)
        model = build(config, dtype, "cpu")
        cache, flops = run_cached(model, batch, seq)
        assert routing_free(plan_rows(config, batch, seq, dtype)) == routing_free(rows_of(cache)), (
            where
        )
        assert planner.activation_cache_bytes(config, batch, seq, dtype=dtype) == held_bytes(
            cache
        ), where
        filtered, _ = run_cached(model, batch, seq, "blocks.0.mlp.*")
        assert routing_free(plan_rows(config, batch, seq, dtype, "blocks.0.mlp.*")) == (
            routing_free(rows_of(filtered))
        ), where
        assert planner.forward_flops(config, batch, seq) == flops, where
        assert planner.buffer_bytes(config, seq, dtype) == model_buffer_bytes(model), where
        keys_values, mask = kv_bytes(build(config, dtype, "cpu"), batch, seq)
        assert planner.kv_cache_bytes(config, batch, seq, dtype) == keys_values, where
        with_mask = planner.kv_cache_bytes(config, batch, seq, dtype, include_mask=True)
        assert with_mask == keys_values + mask, where


def test_moe_experts_stay_float32_and_fail_in_bfloat16() -> None:
    # Why the planner describes model.to(dtype) for these: the model as built cannot run.
    config = shrink(PRESETS[next(n for n in MOE if "Mixtral" in n)], layers=1)
    values = {**config, "dtype": torch.bfloat16, "tokenizer_name": None, "device": "cpu"}
    with pytest.warns(DeprecationWarning, match="HookedTransformer is deprecated"):
        model = transformer_lens.HookedTransformer(
            transformer_lens.HookedTransformerConfig.from_dict(values), move_to_device=False
        )
    assert model.blocks[0].mlp.W_gate.weight.dtype == torch.float32
    with pytest.raises(RuntimeError, match="dtype"):
        model(token_ids(model, 1, 3))


# -- what the meta device cannot show: shared tensors, on the CPU --------------------------


def _shrunk_structures() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in DENSE:
        config = shrink(PRESETS[name], layers=2)
        out.setdefault(structure_key(config), config | {"model_name": name})
    return {c["model_name"]: c for c in out.values()}


SHRUNK = _shrunk_structures()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(SHRUNK))
def test_cache_memory_counts_shared_tensors_once(name: str, dtype: str) -> None:
    # In both dtypes: a Pre norm's output is its hook_normalized tensor only in float32
    # and float64.
    config = SHRUNK[name]
    model = build(config, dtype, "cpu")
    for glob in (None, FILTER):
        cache, _ = run_cached(model, 2, 7, glob)
        assert planner.activation_cache_bytes(config, 2, 7, glob, dtype) == held_bytes(cache)


# -- training state: one real step -----------------------------------------------------------


@pytest.mark.parametrize("name", FULL_SIZE_TRAINING)
def test_training_state_of_a_small_preset_at_full_size(name: str) -> None:
    config = PRESETS[name]
    assert planner.training_state(config) == one_step(build(config, "float32", "cpu"), "adamw")


@pytest.mark.parametrize("name", sorted(SHRUNK) + MOE)
def test_training_state_of_a_shrunk_preset(name: str) -> None:
    config = SHRUNK.get(name) or shrink(PRESETS[name], layers=2)
    if config.get("num_experts"):
        # GPT-OSS skips an expert that no token is routed to, which then gets no gradient:
        # distinct tokens and a spread-out router give every expert some.
        config = {**config, "d_vocab": 1024}
    torch.manual_seed(0)
    model = build(config, "float32", "cpu")
    for block in model.blocks if config.get("num_experts") else ():
        torch.nn.init.normal_(block.mlp.W_gate.weight, std=1.0)
    measured = one_step(model, "adamw", 8, 32)
    unused = [n for n, p in model.named_parameters() if p.grad is None and "W_pos" not in n]
    assert not unused or not config.get("num_experts"), f"routing left out {unused[:3]}"
    assert planner.training_state(config, "adamw") == measured


@pytest.mark.parametrize("optimizer", planner.OPTIMIZERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_training_state_per_optimizer_and_dtype(optimizer: str, dtype: str) -> None:
    for changes in ({}, {"act_fn": "xielu", "positional_embedding_type": "alibi"}):
        config = {**_TINY, **changes}
        measured = one_step(build(config, dtype, "cpu"), optimizer)
        assert planner.training_state(config, optimizer, dtype) == measured


# -- tiny configurations: every flag, and what TransformerLens refuses ---------------------

_MORE_VARIANTS: dict[str, dict[str, Any]] = {
    "attn-result": {"use_attn_result": True},
    "split-qkv": {"use_split_qkv_input": True},
    "split-qkv-gqa": {"use_split_qkv_input": True, "n_key_value_heads": 2},
    "attn-in": {"use_attn_in": True},
    "attn-in-gqa": {"use_attn_in": True, "n_key_value_heads": 2},
    "attn-in-split-gqa": {"use_attn_in": True, "use_split_qkv_input": True, "n_key_value_heads": 2},
    "attn-in-gqa-ungrouped": {
        "use_attn_in": True,
        "n_key_value_heads": 2,
        "ungroup_grouped_query_attention": True,
    },
    "gqa-ungrouped": {"n_key_value_heads": 2, "ungroup_grouped_query_attention": True},
    "mlp-in": {"use_hook_mlp_in": True},
    "mlp-in-parallel": {"use_hook_mlp_in": True, "parallel_attn_mlp": True},
    "hook-tokens": {"use_hook_tokens": True},
    "sinks-rotary-gqa": {
        "use_attention_sinks": True,
        "positional_embedding_type": "rotary",
        "n_key_value_heads": 2,
    },
    "clip-qkv": {"clip_qkv": 8.0},
    "local-windows": {"use_local_attn": True, "window_size": 3, "attn_types": ["global", "local"]},
    "soft-caps": {"attn_scores_soft_cap": 50.0, "output_logits_soft_cap": 30.0},
    "olmo2-post-norm": {
        "original_architecture": "Olmo2ForCausalLM",
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
    },
    "olmo3-post-norm-gqa": {
        "original_architecture": "Olmo3ForCausalLM",
        "normalization_type": "RMS",
        "n_key_value_heads": 2,
    },
    "olmo-qk-norm-one-head": {
        "original_architecture": "OlmoeForCausalLM",
        "use_qk_norm": True,
        "n_heads": 1,
        "d_head": 64,
    },
    "olmo-post-norm-parallel-rmspre": {
        "original_architecture": "Olmo2ForCausalLM",
        "normalization_type": "RMSPre",
        "parallel_attn_mlp": True,
        "use_normalization_before_and_after": True,
    },
    "gemma2-like": {
        "normalization_type": "RMS",
        "use_normalization_before_and_after": True,
        "positional_embedding_type": "rotary",
        "n_key_value_heads": 2,
        "d_head": 32,
        "use_qk_norm": True,
        "gated_mlp": True,
    },
    "partial-rotary-parallel": {
        "positional_embedding_type": "rotary",
        "rotary_dim": 8,
        "parallel_attn_mlp": True,
    },
    "lnpre-split-gqa": {
        "normalization_type": "LNPre",
        "use_split_qkv_input": True,
        "n_key_value_heads": 2,
    },
    "rmspre-solu_ln": {"normalization_type": "RMSPre", "act_fn": "solu_ln"},
    "lnpre-solu_ln": {"normalization_type": "LNPre", "act_fn": "solu_ln"},
    "shortformer-split": {"positional_embedding_type": "shortformer", "use_split_qkv_input": True},
    "post-embedding-ln-rotary": {"post_embedding_ln": True, "positional_embedding_type": "rotary"},
    "no-norm-rotary": {"normalization_type": None, "positional_embedding_type": "rotary"},
    "logn-dynamic-ntk": {
        "positional_embedding_type": "rotary",
        "use_logn_attn": True,
        "use_dynamic_ntk_rope": True,
        "train_seq_length": 4,
    },
    "yarn": {"positional_embedding_type": "rotary", "use_yarn_rope": True, "yarn_factor": 4.0},
    "long-rotary-context": {"positional_embedding_type": "rotary", "n_ctx": 5000},
    "bidirectional": {"attention_dir": "bidirectional"},
    "inverse-layer-scale": {"scale_attn_by_inverse_layer_idx": True},
    "relu2": {"act_fn": "relu2"},
    "float64-rmspre": {"normalization_type": "RMSPre", "dtype": "float64"},
    "attn-only-parallel": {"attn_only": True, "parallel_attn_mlp": True, "d_mlp": -1},
    "relative-bias": {
        "positional_embedding_type": "relative_positional_bias",
        "relative_attention_num_buckets": 8,
        "relative_attention_max_distance": 16,
    },
    "no-layers": {"n_layers": 0},
    "too-many-experts-per-token": {"num_experts": 2, "experts_per_token": 3, "gated_mlp": True},
}
VARIANTS = {
    name: {**_TINY, **changes}
    for name, changes in {**_VARIANTS, **_MORE_VARIANTS}.items()
    if model_class(changes) == "HookedTransformer"
}


def _variant_dtypes(config: dict[str, Any]) -> tuple[str, ...]:
    return (config["dtype"],) if "dtype" in config else DTYPES


@pytest.mark.parametrize(
    ("config", "dtype"),
    [
        pytest.param(config, dtype, id=f"{name}-{dtype}")
        for name, config in VARIANTS.items()
        for dtype in _variant_dtypes(config)
    ],
)
def test_variant_matches_transformer_lens(config: dict[str, Any], dtype: str) -> None:
    batch, seq = 2, 5
    torch.manual_seed(0)
    try:
        model = build(config, dtype, "cpu")
        cache, flops = run_cached(model, batch, seq)
    except Exception:
        # What TransformerLens cannot run, the planner must refuse, by name.
        with pytest.raises(PresetValidationError):
            planner.hook_specs(config, batch, seq, dtype)
        return
    assert routing_free(plan_rows(config, batch, seq, dtype)) == routing_free(rows_of(cache))
    assert planner.activation_cache_bytes(config, batch, seq, dtype=dtype) == held_bytes(cache)
    assert planner.forward_flops(config, batch, seq) == flops
    assert planner.buffer_bytes(config, seq, dtype) == model_buffer_bytes(model)
    try:
        keys_values, mask = kv_bytes(model, batch, seq)
    except Exception:
        with pytest.raises(PresetValidationError):
            planner.kv_cache_bytes(config, batch, seq, dtype)
    else:
        assert planner.kv_cache_bytes(config, batch, seq, dtype, include_mask=True) == (
            keys_values + mask
        )
    assert planner.training_state(config, "adamw", dtype) == one_step(model, "adamw", 4, 16)


def test_rotary_tables_grow_with_a_long_input() -> None:
    # Past the 2048 rows built at first, then past twice that: both extension rules.
    config = {**_TINY, "positional_embedding_type": "rotary", "n_ctx": 9000}
    for seq in (3000, 8500):
        model = build(config, "float32", "meta")
        run_cached(model, 1, seq)
        assert planner.buffer_bytes(config, seq) == model_buffer_bytes(model)
    assert planner.buffer_bytes(config, None) == model_buffer_bytes(
        build(config, "float32", "meta")
    )


def test_mapping_and_config_give_the_same_answers() -> None:
    # The command line passes resolved values; the library, built configs.
    from transformer_presets import get_preset, resolve_preset

    with _bundled_only():
        for name in ("gpt2-small", "pythia-70m", "mixtral", "gemma-2-2b"):
            cfg, values = get_preset(name), resolve_preset(name)
            for dtype in (None, "bfloat16"):
                assert planner.hook_specs(cfg, 2, 9, dtype) == planner.hook_specs(
                    values, 2, 9, dtype
                )
                assert planner.training_state(cfg, "sgd", dtype) == planner.training_state(
                    values, "sgd", dtype
                )
            assert planner.forward_flops(cfg, 2, 9) == planner.forward_flops(values, 2, 9)
            assert total_params(cfg) == sum(
                n for _, n, _, _ in planner.ModelPlan(cfg)._parameters("float32")
            )
