"""GPT-J: GPT-2's spelling, with attention and MLP side by side and rotary embeddings.

LayerNorm (whose epsilon TransformerLens does not read), rotation of adjacent pairs
over the first ``rotary_dim`` dimensions of each head at base 10000, an MLP four
times as wide as the model. What the family lacks: a gated MLP, grouped-query
attention, sliding windows, another rotary base.
"""

from __future__ import annotations

from typing import Any

from .._family import GPT2, SIZES, Architecture
from .._read import Reader
from .._traits import LAYERNORM, PARALLEL, ROTARY, Trait, traits
from .._write import Export, four_times_wide

__all__ = ["ARCHITECTURES"]

# GPTJConfig's defaults.
_KEYS = GPT2.but(d_model=4096, n_heads=16, n_layers=28, n_ctx=2048, d_vocab=50400)
_ADJACENT_PAIRS: Trait = ("rotary_adjacent_pairs", True, "rotation of adjacent pairs")
# TransformerLens does not read GPT-J's layer_norm_epsilon.
_EPS: Trait = ("eps", 1e-5, "LayerNorm epsilon 1e-5 in TransformerLens")


def read_gptj(r: Reader, name: str) -> dict[str, Any]:
    r.aliases = _KEYS.aliases
    return {
        **_KEYS.read(r, *SIZES[:6]),
        **traits(_EPS),
        **_KEYS.read(r, "d_vocab", "act_fn"),
        **traits(PARALLEL, ROTARY),
        "rotary_dim": r.size("rotary_dim", 64),
        **traits(_ADJACENT_PAIRS, LAYERNORM),
    }


def write_gptj(e: Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.has(LAYERNORM, ROTARY, _ADJACENT_PAIRS, PARALLEL)
    e.fixed("rotary_base", 10000, "a rotary base of 10000")
    e.has(_EPS)
    four_times_wide(e)
    return {
        **_KEYS.write(e, "d_vocab", "n_ctx", "d_model", "n_layers", "n_heads"),
        "rotary_dim": e["rotary_dim"],
        # null means 4 * n_embd.
        "n_inner": None,
        **_KEYS.write(e, "act_fn", "eps"),
    }


ARCHITECTURES = (Architecture("GPTJForCausalLM", "gptj", read_gptj, write_gptj),)
