"""OPT: GPT-2's blocks with the MLP width in the config (and ReLU by default).

LayerNorm with PyTorch's default epsilon (the config has none), learned absolute
positions, the layer norm before each block. What the family lacks: rotary
embeddings, a gated MLP, grouped-query attention, sliding windows.
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture
from .._read import Reader
from .._traits import FIXED_EPS, LAYERNORM, LEARNED_POSITIONS, traits
from .._write import Export

__all__ = ["ARCHITECTURES"]

# OPTConfig's keys and defaults.
_KEYS = LLAMA.spelled(d_mlp="ffn_dim", act_fn="activation_function").but(
    d_model=768, n_heads=12, d_mlp=3072, n_layers=12, d_vocab=50272, act_fn="relu"
)


def read_opt(r: Reader, name: str) -> dict[str, Any]:
    return {
        **_KEYS.read(r, *SIZES[:6]),
        # OPT's config has no epsilon; its LayerNorms use torch's default.
        **traits(FIXED_EPS),
        **_KEYS.read(r, "d_vocab", "act_fn"),
        **traits(LAYERNORM),
    }


def write_opt(e: Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.has(LAYERNORM, LEARNED_POSITIONS, FIXED_EPS)
    return {
        **_KEYS.write(e, "d_vocab", "d_model", "n_layers", "d_mlp", "n_ctx", "n_heads", "act_fn"),
        "do_layer_norm_before": True,
        "word_embed_proj_dim": e["d_model"],
    }


ARCHITECTURES = (
    Architecture("OPTForCausalLM", "opt", read_opt, write_opt, initializer_key="init_std"),
)
