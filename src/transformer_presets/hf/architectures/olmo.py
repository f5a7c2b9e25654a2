"""OLMo 1, 2 and 3, and OLMoE: AI2's open decoders.

Rotary embeddings over whole heads, a gated SiLU MLP, every layer global but OLMo 3's.
OLMo 1 has a weightless LayerNorm with a fixed epsilon and clips Q, K and V; OLMo 2
and 3 have RMSNorm and normalise whole query and key projections (by architecture in
TransformerLens, not per head); OLMo 3 adds grouped-query attention, sliding windows on
three layers of four and YaRN on the full ones; OLMoE has experts in place of the MLP.
What the family lacks: grouped-query attention in OLMo 1 and 2, rope scaling but
OLMo 3's YaRN, per-head QK norms.
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture, read_experts, rms_decoder, write_experts
from .._read import Reader, kv_heads, layer_kinds, sliding_window
from .._rope import (
    NO_SCALING,
    flat_rope,
    hand_written,
    layered_rope,
    read_yarn,
    rope_kind,
    write_rope,
)
from .._traits import FIXED_EPS, GATED, HALF_PAIRS, RMSNORM, ROTARY, Trait, traits
from .._write import Export, same_typed

__all__ = ["ARCHITECTURES"]

# OlmoConfig's (Olmo2Config's, Olmo3Config's) and OlmoeConfig's defaults.
_OLMO = LLAMA.but(eps=1e-5, d_vocab=50304)
_OLMOE = _OLMO.but(d_model=2048, n_heads=16, d_mlp=2048, n_layers=16, n_ctx=4096)
# OLMo 1's LayerNorm has no weights and a fixed epsilon; TransformerLens holds it as
# an LN whose weights load as ones.
_WEIGHTLESS_LN: Trait = ("normalization_type", "LN", "a LayerNorm")
# OLMo 2 and 3 normalise whole query and key projections, which TransformerLens does
# by architecture; use_qk_norm would add per-head norms instead.
_OWN_QK_NORM: Trait = ("use_qk_norm", False, "its own query/key norms")
# Olmo3Config's base for any layer type the file gives none (transformers 5 gives the
# file's flat rope_theta to the full-attention layers only).
_OLMO3_THETA = 500000.0
_SLIDING_THETA = "<sliding rope_theta>"  # a marker key, never written


def read_olmo(r: Reader, name: str) -> dict[str, Any]:
    return {
        **_read_olmo_like(r, name, traits(FIXED_EPS), _WEIGHTLESS_LN),
        "clip_qkv": r.get_num("clip_qkv", None, nullable=True),
    }


def write_olmo(e: Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.has(_WEIGHTLESS_LN, FIXED_EPS, GATED, ROTARY, HALF_PAIRS)
    e.full_rotary()
    out = {
        **_OLMO.write(e, "d_vocab", "d_model", "d_mlp", "n_layers", "n_heads"),
        "num_key_value_heads": e.kv_heads(grouped=False),
        **_OLMO.write(e, "act_fn", "n_ctx"),
        "clip_qkv": e["clip_qkv"],
    }
    out.update(write_rope(e, scaling=NO_SCALING))
    return out


def read_olmo2(r: Reader, name: str) -> dict[str, Any]:
    return _read_olmo_like(r, name, _OLMO.read(r, "eps"), RMSNORM)


def write_olmo2(e: Export) -> dict[str, Any]:
    out = _write_olmo2_like(e, grouped=False)
    out.update(write_rope(e, scaling=NO_SCALING))
    return out


def read_olmo3(r: Reader, name: str) -> dict[str, Any]:
    n_layers = _OLMO.value(r, "n_layers")
    n_ctx = _OLMO.value(r, "n_ctx")
    # Three sliding-window layers, then a full one (Olmo3Config's default).
    default_kinds = [
        "full_attention" if (i + 1) % 4 == 0 else "sliding_attention" for i in range(n_layers)
    ]
    attn_types = layer_kinds(r, "layer_types", n_layers, default_kinds)
    full, sliding = layered_rope(r, 500000.0, 500000.0, None, attn_types, n_ctx)
    cfg = _OLMO.read(r, "d_model", "d_head", "n_heads")
    cfg["n_key_value_heads"] = kv_heads(r, None, cfg["n_heads"])
    cfg.update(
        _OLMO.read(r, *SIZES[3:]),
        initializer_range=r.get_num("initializer_range", 0.02),
        **traits(RMSNORM, ROTARY),
        rotary_base=full["rope_theta"],
        **traits(GATED),
        tie_word_embeddings=r.get_bool("tie_word_embeddings", False),
        attn_types=attn_types,
    )
    # transformers gives sliding layers the default base when the file has a
    # single rope_theta, which then differs from a non-default global base.
    if sliding["rope_theta"] != full["rope_theta"]:
        cfg["rotary_base_local"] = sliding["rope_theta"]
    if rope_kind(full) == "yarn":
        cfg.update(
            read_yarn(r, full, factor=8.0, attention_factor=1.0, original=4096, global_only=True)
        )
    window = sliding_window(r, 4096)
    if "local" in attn_types and window:
        cfg["use_local_attn"] = True
        cfg["window_size"] = window
    return cfg


def write_olmo3(e: Export) -> dict[str, Any]:
    out = _write_olmo2_like(e, grouped=True)
    out["layer_types"], window = e.layer_types()
    if window is not None:
        out["sliding_window"] = window
    rope = write_rope(e, scaling=frozenset({"yarn"}), scope="global", local_base=_SLIDING_THETA)
    sliding = rope.pop(_SLIDING_THETA, None)
    # From the flat keys, the sliding layers get 500000.0, which reads back as their own
    # base unless it equals the full-attention layers' base.
    full_base = rope["rope_theta"]
    flat = full_base if full_base == _OLMO3_THETA else _OLMO3_THETA
    if sliding is not None and not same_typed(sliding, flat):
        # The sliding layers' own base can only be said per layer type, in the
        # transformers 5 layout (transformers 4 reads the flat keys alone).
        full = {"rope_type": "default", **rope.get("rope_scaling", {})}
        full["rope_theta"] = rope["rope_theta"]
        out["rope_parameters"] = {
            "full_attention": full,
            "sliding_attention": {"rope_type": "default", "rope_theta": sliding},
        }
    out.update(rope)
    return out


def read_olmoe(r: Reader, name: str) -> dict[str, Any]:
    r.aliases = {"num_experts": "num_local_experts"}
    cfg = _OLMOE.read(r, *SIZES)
    return {
        **cfg,
        **read_experts(r, "num_experts", 64, 8),
        "norm_topk_prob": r.get_bool("norm_topk_prob", False),
        "n_key_value_heads": kv_heads(r, None, cfg["n_heads"]),
        "rotary_base": flat_rope(r, 10000.0)["rope_theta"],
        "tie_word_embeddings": r.get_bool("tie_word_embeddings", False),
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(ROTARY, GATED, RMSNORM),
        "clip_qkv": r.get_num("clip_qkv", None, nullable=True),
    }


def write_olmoe(e: Export) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=False)
    e.has(_OWN_QK_NORM)
    out["hidden_act"] = e.act()
    out.update(write_rope(e, scaling=NO_SCALING))
    out.update(write_experts(e, count_key="num_experts"))
    out["norm_topk_prob"] = e["norm_topk_prob"]
    out["clip_qkv"] = e["clip_qkv"]
    return out


def _read_olmo_like(r: Reader, name: str, eps: dict[str, Any], norm: Trait) -> dict[str, Any]:
    """What OLMo 1 and 2 read: their epsilon and norm differ."""
    cfg = _OLMO.read(r, *SIZES[:6])
    return {
        **cfg,
        **eps,
        **_OLMO.read(r, "d_vocab", "act_fn"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(norm),
        "rotary_base": hand_written(name, flat_rope(r, 10000.0)["rope_theta"], float),
        "attn_types": ["global"] * cfg["n_layers"],
        **traits(ROTARY, GATED),
    }


def _write_olmo2_like(e: Export, *, grouped: bool) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=False, grouped=grouped)
    e.has(GATED, _OWN_QK_NORM)
    out["hidden_act"] = e.act()
    return out


ARCHITECTURES = (
    Architecture("OlmoForCausalLM", "olmo", read_olmo, write_olmo),
    Architecture("Olmo2ForCausalLM", "olmo2", read_olmo2, write_olmo2),
    Architecture("Olmo3ForCausalLM", "olmo3", read_olmo3, write_olmo3, reads_tie=True),
    Architecture("OlmoeForCausalLM", "olmoe", read_olmoe, write_olmoe, reads_tie=True),
)
