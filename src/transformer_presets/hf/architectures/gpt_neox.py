"""GPT-NeoX (Pythia): attention and MLP side by side, rotary embeddings on part of each head.

LayerNorm, rotation of pairs half a head apart over ``rotary_pct`` of each head, at
TransformerLens's default base (it does not read the config's). What the family
lacks: a gated MLP, grouped-query attention, sliding windows, another rotary base.
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture
from .._read import Reader, num_in, to_float
from .._rope import rope_dict
from .._traits import HALF_PAIRS, LAYERNORM, ROTARY, traits
from .._write import Export, default_base

__all__ = ["ARCHITECTURES"]

# GPTNeoXConfig's keys and defaults.
_KEYS = LLAMA.spelled(eps="layer_norm_eps").but(
    d_model=6144, n_heads=64, d_mlp=24576, n_layers=44, eps=1e-5, d_vocab=50432, act_fn="gelu"
)


def read_gpt_neox(r: Reader, name: str) -> dict[str, Any]:
    d_head = _KEYS.value(r, "d_head")
    # GPTNeoXConfig keeps the rotary fraction in rope_parameters, taking the
    # legacy rotary_pct (default 0.25) when that has none. (TransformerLens
    # leaves the base at its default for GPT-NeoX.)
    rope = dict(rope_dict(r, "rope_scaling") or rope_dict(r, "rope_parameters") or {})
    rope.setdefault("partial_rotary_factor", r.get_num("rotary_pct", 0.25))
    pct = num_in(r, "rope_parameters", rope, "partial_rotary_factor", None)
    rotary_dim = to_float(r, "rotary_pct", pct * d_head)
    return {
        **_KEYS.read(r, *SIZES),
        # GPT-NeoX ships sequential variants too.
        "parallel_attn_mlp": r.get_bool("use_parallel_residual", True),
        **traits(ROTARY),
        "rotary_dim": round(rotary_dim),
        **traits(LAYERNORM),
        "default_prepend_bos": False,
    }


def write_gpt_neox(e: Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.has(LAYERNORM, ROTARY, HALF_PAIRS)
    return {
        **_KEYS.write(e, "d_vocab", "d_model", "n_layers", "n_heads", "d_mlp", "act_fn"),
        **_KEYS.write(e, "n_ctx", "eps"),
        "rotary_pct": e["rotary_dim"] / e["d_head"],
        # TransformerLens does not read the base: it keeps its default.
        "rotary_emb_base": default_base(e),
        "use_parallel_residual": e["parallel_attn_mlp"],
    }


ARCHITECTURES = (Architecture("GPTNeoXForCausalLM", "gpt_neox", read_gpt_neox, write_gpt_neox),)
