"""Llama, Mistral and Mixtral: the Llama-style decoders.

RMSNorm, rotary embeddings over whole heads (pairs half a head apart), a gated SiLU
MLP, no biases, grouped-query attention. What they lack: Llama has no sliding window
and, of the rope scalings, TransformerLens reads only Llama 3's; Mistral has no
scaling TransformerLens reads, its own head size, and a context TransformerLens caps
at 2048; Mixtral has experts in place of the MLP, with a router that always
renormalises its top-k weights, and no head size of its own.
"""

from __future__ import annotations

import re
from typing import Any

from .._family import LLAMA, SIZES, Architecture, read_experts, rms_decoder, write_experts
from .._read import CONTEXT_CAP, Reader, kv_heads, sliding_window, unless_mha
from .._rope import LLAMA3, NO_SCALING, flat_rope, hand_written, ntk_by_parts, write_rope
from .._traits import CAPPED_CONTEXT, GATED, RMSNORM, ROTARY, Trait, traits
from .._write import Export

__all__ = ["ARCHITECTURES"]

# Code Llama's file says 16384; TransformerLens keeps Llama 2's 4096.
_CODE_LLAMA_CONTEXT = 4096
# MistralConfig's and MixtralConfig's defaults.
_MISTRAL = LLAMA.but(d_mlp=14336)
_MIXTRAL = _MISTRAL.but(n_ctx=4096 * 32, eps=1e-5)
# Mixtral's router always renormalises the top-k weights (the config has no switch
# for it), and TransformerLens 3.9 pins that.
_RENORMALISED: Trait = ("norm_topk_prob", True, "renormalised top-k router weights")


def read_llama(r: Reader, name: str) -> dict[str, Any]:
    n_ctx = LLAMA.value(r, "n_ctx")
    rope = flat_rope(r, 10000.0, max_positions=n_ctx)
    cfg = LLAMA.read(r, *SIZES)
    n_heads = cfg["n_heads"]
    cfg.update(
        n_key_value_heads=unless_mha(kv_heads(r, None, n_heads), n_heads),
        **traits(RMSNORM, ROTARY),
        rotary_base=rope["rope_theta"],
        final_rms=True,
        **traits(GATED),
        **ntk_by_parts(r, rope, n_ctx),
    )
    if "llama" in name.lower():
        # TransformerLens writes the Meta Llama family out by hand (the file is
        # not read); those tables cap some contexts, and otherwise agree with
        # the files.
        if any(v in name for v in ("Llama-3.1", "Llama-3.2", "Llama-3.3")):
            cfg["n_ctx"] = min(n_ctx, CONTEXT_CAP)
        # Llama 3's table writes its base as a float; Llama 1 and 2 and Code Llama,
        # as an int.
        llama_3 = re.search(r"llama-3(?![0-9])", name.lower()) is not None  # not llama-30b
        cfg["rotary_base"] = hand_written(name, cfg["rotary_base"], float if llama_3 else int)
        if name.startswith("codellama"):
            cfg["n_ctx"] = min(n_ctx, _CODE_LLAMA_CONTEXT)
    return cfg


def write_llama(e: Export) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=False)
    e.has(GATED)
    out["hidden_act"] = e.act()
    out.update(write_rope(e, scaling=LLAMA3))
    return out


def read_mistral(r: Reader, name: str) -> dict[str, Any]:
    n_layers = _MISTRAL.value(r, "n_layers")
    head_dim = r.get_int("head_dim", None, nullable=True)
    # MistralConfig's default window is 4096; an explicit null turns it off.
    window = sliding_window(r, 4096)
    cfg = _MISTRAL.read(r, *SIZES[:5])
    if head_dim is not None and head_dim > 0:
        cfg["d_head"] = head_dim
    return {
        **cfg,
        **traits(CAPPED_CONTEXT),
        **_MISTRAL.read(r, "d_vocab", "act_fn"),
        "window_size": window,
        "attn_types": ["local"] * n_layers if window else None,
        "use_local_attn": bool(window),
        **_MISTRAL.read(r, "eps"),
        "rotary_base": flat_rope(r, 10000.0)["rope_theta"],
        "n_key_value_heads": kv_heads(r, 8, cfg["n_heads"]),
        **traits(RMSNORM, ROTARY, GATED),
    }


def write_mistral(e: Export) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=True)
    e.has(GATED, CAPPED_CONTEXT)
    out["hidden_act"] = e.act()
    out.update(write_rope(e, scaling=NO_SCALING))
    out["sliding_window"] = e.uniform_window()
    return out


def read_mixtral(r: Reader, name: str) -> dict[str, Any]:
    r.aliases = {"num_local_experts": "num_experts"}
    window = sliding_window(r, None)
    cfg = _MIXTRAL.read(r, *SIZES[:6])
    return {
        **cfg,
        **_MIXTRAL.read(r, "d_vocab", "act_fn"),
        **traits(RMSNORM, ROTARY),
        "rotary_base": flat_rope(r, 1e6)["rope_theta"],
        # None on the released 8x7B; a variant that sets it gets local layers.
        "window_size": window,
        "attn_types": ["local" if window else "global"] * cfg["n_layers"],
        "use_local_attn": bool(window),
        **_MIXTRAL.read(r, "eps"),
        "n_key_value_heads": kv_heads(r, 8, cfg["n_heads"]),
        **traits(GATED),
        **read_experts(r, "num_local_experts", 8, 2),
        **traits(_RENORMALISED),
    }


def write_mixtral(e: Export) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=False)
    out["hidden_act"] = e.act()
    out.update(write_rope(e, scaling=NO_SCALING))
    out["sliding_window"] = e.uniform_window()
    out.update(write_experts(e, count_key="num_local_experts"))
    e.has(_RENORMALISED)
    return out


ARCHITECTURES = (
    Architecture("LlamaForCausalLM", "llama", read_llama, write_llama),
    Architecture("MistralForCausalLM", "mistral", read_mistral, write_mistral),
    Architecture("MixtralForCausalLM", "mixtral", read_mixtral, write_mixtral),
)
