"""Phi 1 and 2 (``PhiForCausalLM``) and Phi-3.

Phi: LayerNorm, attention and MLP side by side, rotary embeddings on part of each
head, an ungated MLP. Phi-3: Llama's decoder (RMSNorm, rotary embeddings over whole
heads, a gated SiLU MLP, grouped-query attention), with a window on every layer or
none. What the family lacks: rope scaling that TransformerLens reads (Phi-3's own
``longrope`` included), grouped-query attention on Phi, QK layer norms.
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture, rms_decoder
from .._read import Reader, kv_heads, num_in, sliding_window, to_float, unless_mha
from .._rope import NO_SCALING, flat_rope, write_rope
from .._traits import GATED, HALF_PAIRS, LAYERNORM, PARALLEL, RMSNORM, ROTARY, traits
from .._write import Export

__all__ = ["ARCHITECTURES"]

# PhiConfig's and Phi3Config's defaults.
_PHI = LLAMA.spelled(eps="layer_norm_eps").but(
    d_model=2048, d_mlp=8192, n_layers=24, eps=1e-5, d_vocab=51200, act_fn="gelu_new"
)
_PHI3 = LLAMA.but(d_model=3072, d_mlp=8192, n_ctx=4096, eps=1e-5, d_vocab=32064)


def read_phi(r: Reader, name: str) -> dict[str, Any]:
    # TransformerLens 3.9 reads hf_config.partial_rotary_factor, which
    # transformers 5 moves into rope_parameters, so its own conversion of any
    # PhiForCausalLM raises AttributeError. These are the values its Phi
    # branch computes from the file's factor (PhiConfig's default: 0.5).
    d_head = _PHI.value(r, "d_head")
    rope = flat_rope(r, 10000.0, partial_key="partial_rotary_factor", partial_default=0.5)
    pct = num_in(r, "rope_parameters", rope, "partial_rotary_factor", 0.5)
    return {
        **_PHI.read(r, *SIZES),
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(LAYERNORM, ROTARY),
        "trust_remote_code": True,
        "rotary_base": rope["rope_theta"],
        **traits(PARALLEL),
        "default_prepend_bos": False,
        "rotary_dim": round(to_float(r, "partial_rotary_factor", pct * d_head)),
    }


def write_phi(e: Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.has(LAYERNORM, PARALLEL, ROTARY, HALF_PAIRS)
    out = {
        **_PHI.write(e, "d_vocab", "d_model", "d_mlp", "n_layers", "n_heads"),
        "num_key_value_heads": e.kv_heads(grouped=False),
        **_PHI.write(e, "act_fn", "n_ctx", "eps"),
        "partial_rotary_factor": e["rotary_dim"] / e["d_head"],
        "qk_layernorm": False,
    }
    out.update(write_rope(e, scaling=NO_SCALING))
    return out


def read_phi3(r: Reader, name: str) -> dict[str, Any]:
    window = sliding_window(r, None)
    cfg = _PHI3.read(r, *SIZES[:5])
    n_heads = cfg["n_heads"]
    return {
        **cfg,
        "n_key_value_heads": unless_mha(kv_heads(r, None, n_heads), n_heads),
        **_PHI3.read(r, "n_ctx", "eps", "d_vocab", "act_fn"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(RMSNORM, ROTARY),
        "rotary_base": flat_rope(r, 10000.0)["rope_theta"],
        **traits(GATED),
        # Phi-3-mini-4k windows every layer (2047 positions inside 4096).
        "window_size": window,
        "use_local_attn": bool(window),
        "attn_types": ["local"] * cfg["n_layers"] if window else None,
    }


def write_phi3(e: Export) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=False)
    e.has(GATED)
    out["hidden_act"] = e.act()
    # Phi-3's config takes only its own "longrope" scaling, which no preset has.
    out.update(write_rope(e, scaling=NO_SCALING))
    out["sliding_window"] = e.uniform_window()
    return out


ARCHITECTURES = (
    Architecture("PhiForCausalLM", "phi", read_phi, write_phi),
    Architecture("Phi3ForCausalLM", "phi3", read_phi3, write_phi3),
)
