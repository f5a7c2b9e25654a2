"""What an architecture always has, both ways: the import sets it, the export requires it.

A trait is ``(field, value, what)``: the preset field, the one value the architecture
allows, and what that is in words for the export's message ("GPT-2 always has
LayerNorm"). A family's import puts ``traits(...)`` among the values it reads; its
export calls ``Export.has(...)`` with the same traits, which refuses a preset holding
anything else. The traits many architectures share are here; a family keeps its own.
"""

from __future__ import annotations

from typing import Any

from ._read import CONTEXT_CAP

__all__ = [
    "CAPPED_CONTEXT",
    "FIXED_EPS",
    "GATED",
    "HALF_PAIRS",
    "LAYERNORM",
    "LEARNED_POSITIONS",
    "PARALLEL",
    "QK_NORM",
    "RMSNORM",
    "ROTARY",
    "UNSCALED",
    "Trait",
    "traits",
]

Trait = tuple[str, Any, str]

LAYERNORM: Trait = ("normalization_type", "LN", "LayerNorm")
RMSNORM: Trait = ("normalization_type", "RMS", "RMSNorm (normalization_type = 'RMS')")
FIXED_EPS: Trait = ("eps", 1e-5, "LayerNorm epsilon 1e-5")
LEARNED_POSITIONS: Trait = ("positional_embedding_type", "standard", "learned absolute positions")
ROTARY: Trait = ("positional_embedding_type", "rotary", "rotary embeddings")
HALF_PAIRS: Trait = ("rotary_adjacent_pairs", False, "rotation of pairs half a head apart")
GATED: Trait = ("gated_mlp", True, "a gated MLP")
PARALLEL: Trait = ("parallel_attn_mlp", True, "attention and MLP side by side")
UNSCALED: Trait = ("use_attn_scale", False, "unscaled attention scores")
QK_NORM: Trait = ("use_qk_norm", True, "RMSNorm on queries and keys")
# TransformerLens gives some architectures this context, whatever the file says.
CAPPED_CONTEXT: Trait = ("n_ctx", CONTEXT_CAP, f"a {CONTEXT_CAP}-token context in TransformerLens")


def traits(*which: Trait) -> dict[str, Any]:
    """The values of ``which``, as the import sets them.

    >>> traits(LAYERNORM, GATED)
    {'normalization_type': 'LN', 'gated_mlp': True}
    """
    return {field: value for field, value, _ in which}
