"""BLOOM: ALiBi position biases instead of a position table, and a LayerNorm after the embedding.

An MLP four times as wide as the model with BLOOM's own tanh GELU (``gelu_fast`` in
TransformerLens), a context TransformerLens caps at 2048 for every BLOOM. What the
family lacks: rotary or learned positions, a gated MLP, grouped-query attention,
another activation.
"""

from __future__ import annotations

from typing import Any

from .._family import GPT2, SIZES, Architecture
from .._read import Reader
from .._traits import CAPPED_CONTEXT, LAYERNORM, Trait, traits
from .._write import Export

__all__ = ["ARCHITECTURES"]

# BloomConfig's keys, defaults and aliases.
_KEYS = (
    GPT2.spelled(d_model="hidden_size")
    .aliased(n_layer="num_hidden_layers", n_head="num_attention_heads")
    .but(d_model=64, n_heads=8, n_layers=2, d_vocab=250880)
)
_ALIBI: Trait = ("positional_embedding_type", "alibi", "ALiBi position biases")
_EMBEDDING_LN: Trait = ("post_embedding_ln", True, "a LayerNorm after the embedding")


def read_bloom(r: Reader, name: str) -> dict[str, Any]:
    r.aliases = _KEYS.aliases
    # BLOOM files spell the width n_embed, which BloomConfig reads as hidden_size.
    keys = _KEYS.spelled(d_model="n_embed") if r.data.get("n_embed") is not None else _KEYS
    return {
        **keys.read(r, *SIZES[:5]),
        # Capped for the tokenizer, whatever seq_length says.
        **traits(CAPPED_CONTEXT),
        **keys.read(r, "d_vocab"),
        "act_fn": "gelu_fast",
        **keys.read(r, "eps"),
        **traits(LAYERNORM, _EMBEDDING_LN, _ALIBI),
        "default_prepend_bos": False,
    }


def write_bloom(e: Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.has(LAYERNORM, _ALIBI, _EMBEDDING_LN)
    # BLOOM's MLP has its own tanh GELU, which TransformerLens calls gelu_fast.
    e.act(fixed="gelu_fast")
    d_model = e["d_model"]
    if e["d_mlp"] != 4 * d_model:
        e.problem("d_mlp", f"{e.arch}'s MLP is always 4 * hidden_size = {4 * d_model} wide")
    # ALiBi has no position table: BLOOM's config has no context length to write, and
    # TransformerLens gives every BLOOM model the same one.
    e.has(CAPPED_CONTEXT)
    return {
        **_KEYS.write(e, "d_vocab", "d_model", "n_layers", "n_heads", "eps"),
        "apply_residual_connection_post_layernorm": False,
    }


ARCHITECTURES = (Architecture("BloomForCausalLM", "bloom", read_bloom, write_bloom),)
