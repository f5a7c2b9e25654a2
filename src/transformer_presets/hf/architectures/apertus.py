"""Apertus: a Llama-style decoder with an ungated xIELU MLP and QK norms.

RMSNorm, rotary embeddings over whole heads with Llama 3's scaling by default,
grouped-query attention, RMSNorm on queries and keys always (the config has no
switch; a ``qk_norm`` key in some files is not read). What the family lacks: a gated
MLP, sliding windows, rope scaling but Llama 3's.
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture, rms_decoder
from .._read import Reader, kv_heads, unless_mha
from .._rope import LLAMA3, flat_rope, ntk_by_parts, write_rope
from .._traits import QK_NORM, RMSNORM, ROTARY, Trait, traits
from .._write import Export

__all__ = ["ARCHITECTURES"]

# ApertusConfig's defaults, and what it puts in rope_parameters when the file has none.
_KEYS = LLAMA.but(d_mlp=14336, n_ctx=65536, eps=1e-5, d_vocab=131072, act_fn="xielu")
_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 12000000.0,
    "factor": 8.0,
    "original_max_position_embeddings": 8192,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
}
# Apertus's MLP is up -> xIELU -> down, with no gate.
_UNGATED: Trait = ("gated_mlp", False, "an ungated MLP")


def read_apertus(r: Reader, name: str) -> dict[str, Any]:
    n_ctx = _KEYS.value(r, "n_ctx")
    rope = flat_rope(r, 12000000.0, max_positions=n_ctx, class_default=_ROPE)
    cfg = _KEYS.read(r, "d_model", "d_head", "n_heads")
    n_heads = cfg["n_heads"]
    cfg["n_key_value_heads"] = unless_mha(kv_heads(r, None, n_heads), n_heads)
    cfg.update(
        _KEYS.read(r, *SIZES[3:]),
        **traits(RMSNORM, ROTARY),
        rotary_base=rope["rope_theta"],
        **traits(_UNGATED),
        final_rms=True,
        # The model always normalises Q and K; its config has no switch.
        **traits(QK_NORM),
        **ntk_by_parts(r, rope, n_ctx),
    )
    return cfg


def write_apertus(e: Export) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=False)
    e.has(_UNGATED, QK_NORM)
    out["qk_norm"] = True  # the published files say so; transformers always has them
    out["hidden_act"] = e.act()
    rope = write_rope(e, scaling=LLAMA3)
    # Without rope_scaling the config falls back to Apertus's own Llama 3 scaling.
    rope.setdefault("rope_scaling", {"rope_type": "default"})
    out.update(rope)
    return out


ARCHITECTURES = (Architecture("ApertusForCausalLM", "apertus", read_apertus, write_apertus),)
