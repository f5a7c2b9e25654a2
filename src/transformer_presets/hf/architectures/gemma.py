"""Gemma 1, 2 and 3 (and Gemma 3's multimodal class, whose language model is converted).

RMSNorm, rotary embeddings over whole heads of a size the config gives, a gated tanh
GELU MLP, grouped-query attention. Gemma 2 adds norms before and after each layer,
alternating sliding and full layers, scores scaled by ``query_pre_attn_scalar`` and
soft caps on scores and logits; Gemma 3 adds RMSNorm on queries and keys, a rotary
base of its own for sliding layers, linear rope scaling on the full ones, and a
context TransformerLens caps at 8192. What the family lacks: exact GELU (Gemma's
config reads ``gelu`` as the tanh approximation), Gemma 3's
``query_pre_attn_scalar`` (TransformerLens scales by ``sqrt(d_head)``).
"""

from __future__ import annotations

import math
from typing import Any

from .._family import LLAMA, SIZES, Architecture, rms_decoder
from .._read import Reader, alternating, kv_heads, layer_kinds, num_in
from .._rope import NO_SCALING, flat_rope, hand_written, layered_rope, rope_kind, write_rope
from .._traits import GATED, QK_NORM, RMSNORM, ROTARY, Trait, traits
from .._write import Export, neutral

__all__ = ["ARCHITECTURES"]

# GemmaConfig's, Gemma2Config's and Gemma3TextConfig's keys and defaults.
_GEMMA = (
    LLAMA.spelled(d_head="head_dim")
    .but(d_head=256, act_fn="gelu_pytorch_tanh")
    .but(d_model=3072, n_heads=16, d_mlp=24576, n_layers=28, n_ctx=8192, d_vocab=256000)
)
_GEMMA2 = _GEMMA.but(d_model=2304, n_heads=8, d_mlp=9216, n_layers=26)
_GEMMA3 = _GEMMA2.but(n_ctx=131072, d_vocab=262208)
_GEMMA3_CONTEXT_CAP = 8192
_BEFORE_AND_AFTER: Trait = (
    "use_normalization_before_and_after",
    True,
    "norms before and after each layer",
)

# The vision tower of every Gemma 3 multimodal release (SigLIP at 896 pixels): a
# preset describes only the language model, and a config needs one that fits it.
_GEMMA3_VISION = {
    "model_type": "siglip_vision_model",
    "hidden_size": 1152,
    "intermediate_size": 4304,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "image_size": 896,
    "patch_size": 14,
    "vision_use_head": False,
}


def read_gemma(r: Reader, name: str) -> dict[str, Any]:
    cfg = _GEMMA.read(r, *SIZES)
    return {
        **cfg,
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(RMSNORM),
        "rotary_base": hand_written(name, flat_rope(r, 10000.0)["rope_theta"], int),
        **traits(ROTARY),
        "n_key_value_heads": kv_heads(r, 16, cfg["n_heads"]),
        **traits(GATED),
        "final_rms": True,
    }


def write_gemma(e: Export) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=True)
    e.has(GATED)
    act_fn = e.act()
    if act_fn == "gelu":
        # GemmaConfig turns hidden_act "gelu" into the tanh approximation.
        e.problem(
            "act_fn",
            f"{e.arch}'s config reads 'gelu' as the tanh approximation (gelu_pytorch_tanh) "
            "and has no exact GELU",
        )
    out["hidden_act"] = act_fn
    out.update(write_rope(e, scaling=NO_SCALING))
    return out


def read_gemma2(r: Reader, name: str) -> dict[str, Any]:
    cfg = _GEMMA2.read(r, *SIZES[:-1])
    n_layers = cfg["n_layers"]
    return {
        **cfg,
        "act_fn": _activation(r),
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(RMSNORM),
        "rotary_base": flat_rope(r, 10000.0)["rope_theta"],
        **traits(ROTARY),
        "n_key_value_heads": kv_heads(r, 4, cfg["n_heads"]),
        # Gemma 2 scales scores by 1/sqrt(query_pre_attn_scalar), not 1/sqrt(d_head).
        "attn_scale": _sqrt(r, "query_pre_attn_scalar", r.get_num("query_pre_attn_scalar", 256)),
        "window_size": r.size("sliding_window", 4096),
        "use_local_attn": True,
        # Hugging Face makes the even layers sliding (TransformerLens 3.9 agrees).
        "attn_types": layer_kinds(
            r,
            "layer_types",
            n_layers,
            alternating(n_layers, "sliding_attention", "full_attention"),
        ),
        "attn_scores_soft_cap": _read_cap(r, "attn_logit_softcapping", 50.0),
        "output_logits_soft_cap": _read_cap(r, "final_logit_softcapping", 30.0),
        **traits(GATED),
        "final_rms": True,
        **traits(_BEFORE_AND_AFTER),
    }


def write_gemma2(e: Export) -> dict[str, Any]:
    return _write_gemma2_like(e, gemma3=False)


def read_gemma3(r: Reader, name: str) -> dict[str, Any]:
    # The defaults are Gemma3TextConfig's: the multimodal files leave most
    # text settings out of text_config.
    n_layers = _GEMMA3.value(r, "n_layers")
    pattern = r.size("sliding_window_pattern", 6)
    default_kinds = [
        "full_attention" if (i + 1) % pattern == 0 else "sliding_attention" for i in range(n_layers)
    ]
    attn_types = layer_kinds(r, "layer_types", n_layers, default_kinds)
    max_positions = _GEMMA3.value(r, "n_ctx")
    full, sliding = layered_rope(
        r, 1_000_000.0, 10_000.0, "rope_local_base_freq", attn_types, max_positions
    )
    factor = 1.0
    if rope_kind(full) == "linear":
        factor = num_in(r, "rope_scaling", full, "factor", 1.0)
    cfg = _GEMMA3.read(r, *SIZES[:5])
    return {
        **cfg,
        "n_ctx": min(max_positions, _GEMMA3_CONTEXT_CAP),
        **_GEMMA3.read(r, "eps", "d_vocab"),
        "act_fn": _activation(r),
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(RMSNORM),
        "rotary_base": hand_written(name, full["rope_theta"], int),
        "rotary_base_local": hand_written(name, sliding["rope_theta"], int),
        "rotary_scaling_factor": factor,
        **traits(ROTARY),
        "n_key_value_heads": kv_heads(r, 4, cfg["n_heads"]),
        **traits(GATED),
        "final_rms": True,
        **traits(_BEFORE_AND_AFTER, QK_NORM),
        "window_size": r.size("sliding_window", 4096),
        "use_local_attn": True,
        "attn_types": attn_types,
        # Gemma 3 files say null here; a value would be a new model.
        "attn_scores_soft_cap": _read_cap(r, "attn_logit_softcapping", None),
        "output_logits_soft_cap": _read_cap(r, "final_logit_softcapping", None),
        # TransformerLens scales by sqrt(d_head) for Gemma 3, although the 27B
        # file says query_pre_attn_scalar = 168; so that key is not read.
    }


def write_gemma3(e: Export) -> dict[str, Any]:
    return _write_gemma2_like(e, gemma3=True)


def read_gemma3_multimodal(r: Reader, name: str) -> dict[str, Any]:
    # Only the language model is converted; its settings sit in text_config.
    return read_gemma3(r.nested("text_config"), name)


def write_gemma3_multimodal(e: Export) -> dict[str, Any]:
    text = {"model_type": "gemma3_text", **write_gemma3(e)}
    return {"text_config": text, "vision_config": dict(_GEMMA3_VISION)}


def _write_gemma2_like(e: Export, *, gemma3: bool) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=True)
    e.has(GATED, _BEFORE_AND_AFTER)
    out["hidden_activation"] = e.act()
    if gemma3:
        # TransformerLens scales Gemma 3's scores by sqrt(d_head) and does not read
        # query_pre_attn_scalar; the file says d_head so that transformers agrees.
        e.fixed("use_attn_scale", True, "scaled attention scores")
        if not neutral("attn_scale", e.v):
            e.problem(
                "attn_scale",
                f"TransformerLens scales {e.arch}'s scores by sqrt(d_head) whatever the "
                "config says",
            )
        e.handled.add("attn_scale")
        out["query_pre_attn_scalar"] = e["d_head"]
        n_ctx = e["n_ctx"]
        if n_ctx > _GEMMA3_CONTEXT_CAP:
            e.problem(
                "n_ctx",
                f"TransformerLens caps {e.arch}'s context at {_GEMMA3_CONTEXT_CAP} tokens",
            )
    else:
        out["query_pre_attn_scalar"] = _query_scalar(e)
    out["layer_types"], window = e.layer_types()
    if window is not None:
        out["sliding_window"] = window
    out["attn_logit_softcapping"] = _write_cap(e, "attn_scores_soft_cap")
    out["final_logit_softcapping"] = _write_cap(e, "output_logits_soft_cap")
    if gemma3:
        e.has(QK_NORM)
        scaling = frozenset({"linear"})
        out.update(
            write_rope(e, scaling=scaling, scope="global", local_base="rope_local_base_freq")
        )
    else:
        out.update(write_rope(e, scaling=NO_SCALING))
    return out


def _activation(r: Reader) -> str:
    # Gemma 2 and 3 name the MLP activation hidden_activation; hidden_act is
    # the older key, kept in some files.
    if r.data.get("hidden_activation") is not None:
        return r.get_str("hidden_activation")  # type: ignore[no-any-return]
    return r.get_str("hidden_act", "gelu_pytorch_tanh")  # type: ignore[no-any-return]


def _read_cap(r: Reader, key: str, default: Any) -> Any:
    # A soft cap of null is none, which a preset says as -1.
    value = r.get_num(key, default, nullable=True)
    return -1.0 if value is None else value


def _write_cap(e: Export, field: str) -> float | None:
    cap: float = e[field]
    return None if cap == -1.0 else cap


def _sqrt(r: Reader, key: str, value: Any) -> float:
    if value < 0:
        raise r.error(key, f"must not be negative, got {value}")
    return math.sqrt(value)


def _query_scalar(e: Export) -> int:
    """Gemma 2 divides scores by sqrt(query_pre_attn_scalar), an integer."""
    e.fixed("use_attn_scale", True, "scaled attention scores")
    scale: float = e["attn_scale"]
    if not math.isfinite(scale * scale):  # no integer's square root is that large
        e.problem("attn_scale", f"{e.arch} divides scores by the square root of an integer")
        return 0
    scalar = round(scale * scale)
    if not math.isclose(math.sqrt(scalar), scale, rel_tol=1e-12):
        e.problem("attn_scale", f"{e.arch} divides scores by the square root of an integer")
    return scalar


ARCHITECTURES = (
    Architecture("GemmaForCausalLM", "gemma", read_gemma, write_gemma),
    Architecture("Gemma2ForCausalLM", "gemma2", read_gemma2, write_gemma2),
    Architecture("Gemma3ForCausalLM", "gemma3_text", read_gemma3, write_gemma3),
    Architecture(
        "Gemma3ForConditionalGeneration", "gemma3", read_gemma3_multimodal, write_gemma3_multimodal
    ),
)
