"""What TransformerLens 4's native model makes of each ``HookedTransformerConfig`` field.

``TransformerBridge.boot_native`` (TransformerLens 4.3, ``model_bridge/sources/
native/model.py``) builds a small pre-norm decoder: split Q/K/V/O projections with
biases, an MLP with biases or a gated MLP without, LayerNorm, RMSNorm (each with or
without a scale) or none, learned or rotary positions, grouped K/V heads and Gemma's
soft caps. :data:`FIELD_DECISIONS` says, for every field of the class, what
:func:`~transformer_presets.tl4.boot.to_bridge_config` does with it, after reading what
TransformerLens 3.9's ``HookedTransformer`` does with the field and what the native
model does:

- ``carried``: passed on; the native model (or the bridge around it) reads it as
  ``HookedTransformer`` does;
- ``converted``: passed on in the form TransformerLens 4 reads (the note says how);
- ``recorded``: passed on as information: how TransformerLens names, loads, places,
  initialises or tokenises the model, never what it computes;
- ``dropped``: TransformerLens 4's config has no such field and nothing the native
  model builds depends on it (the note says why);
- ``refused``: the native model has no such thing; a preset that uses it is refused
  with the reason (:func:`native_problems`), never built as another model.

Pure Python, so the checks run (and are tested) without TransformerLens 4.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ..fields.params import _OLMO_QK_NORM_ARCHITECTURES, model_class
from ..planner.hooked import _POST_NORM_ARCHITECTURES

__all__ = [
    "CARRIED",
    "CONVERTED",
    "DROPPED",
    "FIELD_DECISIONS",
    "KINDS",
    "NATIVE_ACTIVATIONS",
    "RECORDED",
    "REFUSED",
    "Decision",
    "native_problems",
]

CARRIED = "carried"
CONVERTED = "converted"
RECORDED = "recorded"
DROPPED = "dropped"
REFUSED = "refused"
KINDS = (CARRIED, CONVERTED, RECORDED, DROPPED, REFUSED)

#: ``act_fn`` as the native model names the same function (its ``_ACTIVATIONS``).
#: ``gelu_pytorch_tanh`` is ``F.gelu(x, approximate="tanh")``, which is the native
#: ``gelu_new``; ``gelu_fast`` is the same tanh formula with sqrt(2/pi) written to ten
#: digits (0.7978845608), a difference of 3e-12 relative, far below float32's 6e-8.
#: ``xielu`` and ``relu2`` have no native counterpart.
NATIVE_ACTIVATIONS: dict[str, str] = {
    "gelu": "gelu",
    "gelu_new": "gelu_new",
    "gelu_pytorch_tanh": "gelu_new",
    "gelu_fast": "gelu_new",
    "relu": "relu",
    "silu": "silu",
    "solu": "solu",
    "solu_ln": "solu_ln",
}


class Decision(NamedTuple):
    """What ``to_bridge_config`` does with one field: ``kind`` (one of :data:`KINDS`), why,
    and whether ``TransformerBridgeConfig`` (4.3) has the field."""

    kind: str
    note: str
    tl4_field: bool = True


# The fields TransformerBridgeConfig's __init__ (with its dataclass base) does not take.
_OUTSIDE_TL4 = frozenset(
    {
        "ungroup_grouped_query_attention",
        "NTK_original_ctx_len",
        "rotary_base_local",
        "norm_topk_prob",
        "use_yarn_rope",
        "yarn_factor",
        "yarn_attention_factor",
        "yarn_beta_fast",
        "yarn_beta_slow",
        "yarn_original_max_position_embeddings",
        "rotary_scaling_factor",
        "clip_qkv",
        "use_logn_attn",
        "train_seq_length",
        "use_dynamic_ntk_rope",
        "quantization_method",
        "yarn_truncate",
        "yarn_global_attn_only",
        "use_attention_sinks",
    }
)


_SIZE = "a size the native model is built with, as HookedTransformer is"
_HOOK = "a hook setting: the bridge honours it as for any model"
_NOT_IN_TL4 = "TransformerLens 4's config has no such field"

_DECISIONS: dict[str, Decision] = {
    "n_layers": Decision(CARRIED, _SIZE),
    "d_model": Decision(CARRIED, _SIZE),
    "n_ctx": Decision(
        CARRIED,
        "the context; the native model allocates an n_ctx x n_ctx causal mask and n_ctx-long "
        "rotary tables up front (HookedTransformer builds its mask per input)",
    ),
    "d_head": Decision(CARRIED, _SIZE),
    "model_name": Decision(RECORDED, "a name; boot_native records its own model_name argument"),
    "n_heads": Decision(CARRIED, _SIZE),
    "d_mlp": Decision(CARRIED, _SIZE),
    "act_fn": Decision(
        CONVERTED,
        "renamed to the native name of the same function (gelu_pytorch_tanh and gelu_fast "
        "are its gelu_new); xielu and relu2 are refused, and so is solu_ln unless "
        "normalization_type is LN (HookedTransformer's mid-MLP norm is then parameter-free, "
        "the native one never is) or with a gated MLP (HookedTransformer then skips the "
        "linear input)",
    ),
    "d_vocab": Decision(CARRIED, _SIZE),
    "eps": Decision(CARRIED, "every norm's epsilon, as in HookedTransformer"),
    "use_attn_result": Decision(CARRIED, _HOOK),
    "use_attn_scale": Decision(
        REFUSED,
        "refused when false (with d_head > 1): HookedTransformer then divides the scores by "
        "1, the native model always divides by attn_scale or sqrt(d_head)",
    ),
    "attn_scale": Decision(
        CARRIED,
        "the scores' divisor; refused when 1.0 (or not positive) with d_head > 1, which "
        "the native model rejects",
    ),
    "use_split_qkv_input": Decision(CARRIED, _HOOK),
    "use_hook_mlp_in": Decision(CARRIED, _HOOK),
    "use_attn_in": Decision(CARRIED, _HOOK),
    "use_local_attn": Decision(
        REFUSED,
        "refused when a layer is local (attn_types): the native model attends to the whole "
        "context in every layer",
    ),
    "ungroup_grouped_query_attention": Decision(
        DROPPED, f"{_NOT_IN_TL4}; it only lays out HookedTransformer's K/V hooks"
    ),
    "original_architecture": Decision(
        REFUSED,
        "refused for what HookedTransformer builds by architecture: BERT, T5 and the speech "
        "encoders are not HookedTransformer models, OLMo 2 and 3 are post-norm and OLMo 2, "
        "3 and OLMoE normalise whole Q/K projections; recorded otherwise",
    ),
    "from_checkpoint": Decision(RECORDED, "which weights TransformerLens 3 loaded"),
    "checkpoint_index": Decision(RECORDED, "which weights TransformerLens 3 loaded"),
    "checkpoint_label_type": Decision(RECORDED, "which weights TransformerLens 3 loaded"),
    "checkpoint_value": Decision(RECORDED, "which weights TransformerLens 3 loaded"),
    "tokenizer_name": Decision(RECORDED, "boot_native takes a tokenizer object, not a name"),
    "window_size": Decision(RECORDED, "read only for local layers, which are refused"),
    "attn_types": Decision(RECORDED, "read only with use_local_attn (refused for local layers)"),
    "init_mode": Decision(
        CARRIED,
        "the native initialisation reads it (gpt2 mode also scales output projections by "
        "1/sqrt(2 n_layers), which HookedTransformer 3.9 did not); muP is refused, since "
        "boot_native has no muP",
    ),
    "normalization_type": Decision(
        CARRIED, "LN, LNPre, RMS, RMSPre or none, as in HookedTransformer"
    ),
    "device": Decision(RECORDED, "where to put the model: boot_native(device=...) places it"),
    "n_devices": Decision(RECORDED, "how HookedTransformer spread the layers over devices"),
    "attention_dir": Decision(CARRIED, "causal or bidirectional, as in HookedTransformer"),
    "attn_only": Decision(CARRIED, "no MLP and no second norm, as in HookedTransformer"),
    "seed": Decision(CARRIED, "seeds the native initialisation"),
    "initializer_range": Decision(CARRIED, "the native initialisation reads it"),
    "init_weights": Decision(CARRIED, "whether the native model draws fresh weights"),
    "scale_attn_by_inverse_layer_idx": Decision(
        REFUSED, "refused when true: the native model scales every layer's scores alike"
    ),
    "positional_embedding_type": Decision(
        REFUSED,
        "standard and rotary are carried; shortformer, alibi and relative_positional_bias "
        "are refused (the native model has neither)",
    ),
    "final_rms": Decision(
        CONVERTED,
        "carried with LN and LNPre (the final norm becomes RMS); passed as false otherwise, "
        "where HookedTransformer ignores it (with no normalization the native model would "
        "add an RMSNorm)",
    ),
    "d_vocab_out": Decision(CARRIED, _SIZE),
    "parallel_attn_mlp": Decision(
        REFUSED,
        "refused when true: the native block is sequential (the MLP reads the attention's output)",
    ),
    "rotary_dim": Decision(
        CARRIED,
        "the rotated part of each head; refused when odd (the native model rotates pairs)",
    ),
    "n_params": Decision(
        RECORDED, "HookedTransformer's count of hidden weights, which the native model shares"
    ),
    "use_hook_tokens": Decision(CARRIED, _HOOK),
    "gated_mlp": Decision(
        CARRIED,
        "a gated MLP; the native one has no biases, where HookedTransformer's b_in and b_out "
        "start at zero",
    ),
    "default_prepend_bos": Decision(RECORDED, "how strings are tokenised"),
    "dtype": Decision(
        RECORDED,
        "recorded as cfg.dtype; boot_native builds in float32 unless given dtype=cfg.dtype",
    ),
    "tokenizer_prepends_bos": Decision(RECORDED, "what the tokenizer does (None is left out)"),
    "n_key_value_heads": Decision(CARRIED, "grouped K/V heads, shared in the same order"),
    "post_embedding_ln": Decision(
        REFUSED, "refused when true: the native model has no norm after the embedding"
    ),
    "rotary_base": Decision(
        CONVERTED,
        "set after construction, since TransformerBridgeConfig.__init__ truncates it with "
        "int() and the native model reads it as a float",
    ),
    "trust_remote_code": Decision(RECORDED, "a loading permission"),
    "rotary_adjacent_pairs": Decision(
        CONVERTED,
        "always true: the native model rotates adjacent pairs; HookedTransformer's halves "
        "(false) are the same model up to a fixed permutation of each head's first "
        "rotary_dim query and key dimensions",
    ),
    "load_in_4bit": Decision(REFUSED, "refused when true: the native model has no 4-bit weights"),
    "num_experts": Decision(
        REFUSED, "refused when set: the native model has no mixture of experts"
    ),
    "experts_per_token": Decision(RECORDED, "read only with num_experts, which is refused"),
    "relative_attention_max_distance": Decision(RECORDED, "read only by T5, which is refused"),
    "relative_attention_num_buckets": Decision(RECORDED, "read only by T5, which is refused"),
    "decoder_start_token_id": Decision(RECORDED, "read only by T5, which is refused"),
    "tie_word_embeddings": Decision(
        RECORDED, "HookedTransformer never ties its unembedding, nor does the native model"
    ),
    "use_normalization_before_and_after": Decision(
        REFUSED, "refused when true: the native model has no norm after each sublayer"
    ),
    "attn_scores_soft_cap": Decision(
        CARRIED, "Gemma's score cap, before the mask as in HookedTransformer"
    ),
    "output_logits_soft_cap": Decision(CARRIED, "Gemma's logit cap, as in HookedTransformer"),
    "use_NTK_by_parts_rope": Decision(
        CONVERTED,
        "carried, and the native model's rope_scaling becomes llama3 (the same NTK-by-parts "
        "frequencies) with factor, low_freq_factor, high_freq_factor and "
        "original_max_position_embeddings",
    ),
    "NTK_by_parts_low_freq_factor": Decision(CONVERTED, "rope_scaling's low_freq_factor"),
    "NTK_by_parts_high_freq_factor": Decision(CONVERTED, "rope_scaling's high_freq_factor"),
    "NTK_by_parts_factor": Decision(
        CONVERTED,
        "rope_scaling's factor; refused below 1, which the native model ignores and "
        "HookedTransformer applies",
    ),
    "uses_rms_norm": Decision(
        RECORDED, "a bridge setting; the native model reads normalization_type"
    ),
    "layer_norm_folding": Decision(RECORDED, "a bridge setting for weight processing"),
    "NTK_original_ctx_len": Decision(
        CONVERTED, f"{_NOT_IN_TL4}: rope_scaling's original_max_position_embeddings"
    ),
    "use_qk_norm": Decision(REFUSED, "refused when true: the native model has no Q/K norms"),
    "rotary_base_local": Decision(DROPPED, f"{_NOT_IN_TL4}; read only for local layers (refused)"),
    "norm_topk_prob": Decision(DROPPED, f"{_NOT_IN_TL4}; read only with num_experts (refused)"),
    "use_yarn_rope": Decision(
        REFUSED,
        "refused when it applies (rotary, without NTK by parts): the native model has no "
        "YaRN scaling",
    ),
    "yarn_factor": Decision(DROPPED, f"{_NOT_IN_TL4}; read only with use_yarn_rope (refused)"),
    "yarn_attention_factor": Decision(
        DROPPED, f"{_NOT_IN_TL4}; read only with use_yarn_rope (refused)"
    ),
    "yarn_beta_fast": Decision(DROPPED, f"{_NOT_IN_TL4}; read only with use_yarn_rope (refused)"),
    "yarn_beta_slow": Decision(DROPPED, f"{_NOT_IN_TL4}; read only with use_yarn_rope (refused)"),
    "yarn_original_max_position_embeddings": Decision(
        DROPPED, f"{_NOT_IN_TL4}; read only with use_yarn_rope (refused)"
    ),
    "rotary_scaling_factor": Decision(
        CONVERTED,
        f"{_NOT_IN_TL4}: above 1 (where neither NTK by parts nor YaRN applies) it becomes a "
        "linear rope_scaling, the same position interpolation; refused below 1, which the "
        "native model ignores",
    ),
    "clip_qkv": Decision(REFUSED, "refused when set: the native model does not clamp Q/K/V"),
    "use_logn_attn": Decision(
        REFUSED, "refused when true: the native model has no log-n query scaling"
    ),
    "train_seq_length": Decision(
        DROPPED, f"{_NOT_IN_TL4}; read only with use_logn_attn or use_dynamic_ntk_rope (refused)"
    ),
    "use_dynamic_ntk_rope": Decision(
        REFUSED,
        "refused when true (with rotary): HookedTransformer widens the base per input length "
        "in eval mode; the native model's dynamic rope_scaling is a fixed base",
    ),
    "quantization_method": Decision(
        DROPPED, f"{_NOT_IN_TL4}; how TransformerLens 3 read a checkpoint"
    ),
    "yarn_truncate": Decision(DROPPED, f"{_NOT_IN_TL4}; read only with use_yarn_rope (refused)"),
    "yarn_global_attn_only": Decision(
        DROPPED, f"{_NOT_IN_TL4}; read only with use_yarn_rope (refused)"
    ),
    "use_attention_sinks": Decision(
        REFUSED, "refused when true: the native model has no attention sinks"
    ),
}


#: Every field of ``HookedTransformerConfig``, in declaration order, with its decision.
FIELD_DECISIONS: dict[str, Decision] = {
    field: decision._replace(tl4_field=field not in _OUTSIDE_TL4)
    for field, decision in _DECISIONS.items()
}


def _show(value: Any) -> str:
    return (
        repr(value)
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )


def _local_layers(v: Mapping[str, Any]) -> list[int]:
    types = v.get("attn_types")
    if not v.get("use_local_attn") or not isinstance(types, list):
        return []
    return [i for i, kind in enumerate(types) if kind == "local"]


def _rotary(v: Mapping[str, Any]) -> bool:
    return bool(v.get("positional_embedding_type") == "rotary")


def _original_architecture(v: Mapping[str, Any]) -> str | None:
    arch = v.get("original_architecture")
    built_by = model_class(v)
    if built_by != "HookedTransformer":
        return (
            f"TransformerLens 3.9 builds {arch} with {built_by}, not HookedTransformer; "
            "the native model is a decoder"
        )
    if arch in _POST_NORM_ARCHITECTURES:
        return (
            f"HookedTransformer builds {arch} post-norm (each sublayer's output normalised) "
            "with Q/K norms over whole projections; the native model is pre-norm without them"
        )
    if arch in _OLMO_QK_NORM_ARCHITECTURES:
        return (
            f"HookedTransformer builds {arch} with Q/K norms over whole projections; the "
            "native model has none"
        )
    return None


def _act_fn(v: Mapping[str, Any]) -> str | None:
    if v.get("attn_only"):
        return None
    act = v.get("act_fn")
    if act not in NATIVE_ACTIVATIONS:
        return f"the native model has no {act} activation (it has {', '.join(sorted(set(NATIVE_ACTIVATIONS.values())))})"
    if act == "solu_ln" and v.get("gated_mlp"):
        return (
            "HookedTransformer's gated MLP with solu_ln normalises the gate and skips the "
            "linear input; the native gated MLP multiplies them"
        )
    if act == "solu_ln" and v.get("normalization_type") != "LN":
        return (
            f"with normalization_type {_show(v.get('normalization_type'))} HookedTransformer's "
            "norm after solu_ln has no scale or bias; the native one always has both"
        )
    return None


def _use_attn_scale(v: Mapping[str, Any]) -> str | None:
    if v.get("use_attn_scale", True) or v["d_head"] <= 1:
        return None
    return (
        "HookedTransformer divides the attention scores by 1; the native model divides by "
        f"sqrt(d_head) = {math.sqrt(v['d_head']):g}"
    )


def _attn_scale(v: Mapping[str, Any]) -> str | None:
    if not v.get("use_attn_scale", True) or v["d_head"] <= 1:
        return None
    scale = v.get("attn_scale", -1.0)
    if scale <= 0:
        return (
            "HookedTransformer divides the scores by it; the native model replaces a scale "
            f"that is not positive by sqrt(d_head) = {math.sqrt(v['d_head']):g}"
        )
    if math.isclose(scale, 1.0, abs_tol=1e-9):
        return f"the native model refuses an unscaled attention (1.0) with d_head = {v['d_head']}"
    return None


def _positional(v: Mapping[str, Any]) -> str | None:
    kind = v.get("positional_embedding_type", "standard")
    if kind in ("standard", "rotary"):
        return None
    return "the native model has learned (standard) or rotary positions only"


def _rotary_dim(v: Mapping[str, Any]) -> str | None:
    dim = v.get("rotary_dim")
    if not _rotary(v) or dim is None or dim % 2 == 0:
        return None
    return "the native model rotates pairs of dimensions: rotary_dim must be even"


def _when(field: str, reason: str) -> Callable[[Mapping[str, Any]], str | None]:
    """A check refusing a true (or set) ``field``, with ``reason``."""

    def check(v: Mapping[str, Any]) -> str | None:
        value = v.get(field)
        return reason if value is not None and value is not False else None

    return check


def _local(v: Mapping[str, Any]) -> str | None:
    layers = _local_layers(v)
    if not layers:
        return None
    shown = ", ".join(map(str, layers[:8])) + (", ..." if len(layers) > 8 else "")
    return (
        f"layer{'s' if len(layers) > 1 else ''} {shown} attend{'s' if len(layers) == 1 else ''} "
        f"within a window of {v.get('window_size')} tokens; the native model attends to the "
        "whole context"
    )


def _parallel(v: Mapping[str, Any]) -> str | None:
    if not v.get("parallel_attn_mlp"):
        return None
    return "HookedTransformer runs attention and MLP side by side; the native block is sequential"


def _init_mode(v: Mapping[str, Any]) -> str | None:
    if v.get("init_mode") == "muP" and v.get("init_weights", True):
        return (
            "boot_native has no muP initialisation (use init_weights = false, or another init_mode)"
        )
    return None


def _below_one(
    field: str, applies: Callable[[Mapping[str, Any]], bool], what: str
) -> Callable[[Mapping[str, Any]], str | None]:
    def check(v: Mapping[str, Any]) -> str | None:
        if not applies(v) or v.get(field, 1.0) >= 1.0:
            return None
        return f"{what} below 1: HookedTransformer applies it, the native model ignores factors up to 1"

    return check


def _linear_applies(v: Mapping[str, Any]) -> bool:
    return _rotary(v) and not v.get("use_NTK_by_parts_rope") and not v.get("use_yarn_rope")


def _yarn(v: Mapping[str, Any]) -> str | None:
    if _rotary(v) and v.get("use_yarn_rope") and not v.get("use_NTK_by_parts_rope"):
        return "the native model has no YaRN scaling (its rope_scaling knows linear, dynamic and llama3)"
    return None


def _dynamic_ntk(v: Mapping[str, Any]) -> str | None:
    if _rotary(v) and v.get("use_dynamic_ntk_rope"):
        return (
            "HookedTransformer widens the rotary base with the input's length past "
            "train_seq_length (in eval mode); the native model's rotary base is fixed"
        )
    return None


# The refusals, in the order a preset's first problem is named.
_CHECKS: tuple[tuple[str, Callable[[Mapping[str, Any]], str | None]], ...] = (
    ("original_architecture", _original_architecture),
    ("positional_embedding_type", _positional),
    ("parallel_attn_mlp", _parallel),
    ("num_experts", _when("num_experts", "the native model has no mixture of experts")),
    ("use_local_attn", _local),
    (
        "use_normalization_before_and_after",
        _when(
            "use_normalization_before_and_after", "the native model has no norm after each sublayer"
        ),
    ),
    (
        "post_embedding_ln",
        _when("post_embedding_ln", "the native model has no norm after the embedding"),
    ),
    ("use_qk_norm", _when("use_qk_norm", "the native model has no Q/K norms")),
    (
        "scale_attn_by_inverse_layer_idx",
        _when(
            "scale_attn_by_inverse_layer_idx",
            "HookedTransformer divides layer i's scores by i + 1 as well; the native model scales every layer alike",
        ),
    ),
    ("act_fn", _act_fn),
    ("use_attn_scale", _use_attn_scale),
    ("attn_scale", _attn_scale),
    ("clip_qkv", _when("clip_qkv", "the native model does not clamp queries, keys and values")),
    (
        "use_attention_sinks",
        _when("use_attention_sinks", "the native model has no attention sinks"),
    ),
    ("use_logn_attn", _when("use_logn_attn", "the native model has no log-n query scaling")),
    ("use_dynamic_ntk_rope", _dynamic_ntk),
    ("use_yarn_rope", _yarn),
    ("rotary_dim", _rotary_dim),
    (
        "rotary_scaling_factor",
        _below_one("rotary_scaling_factor", _linear_applies, "a linear rotary scaling"),
    ),
    (
        "NTK_by_parts_factor",
        _below_one(
            "NTK_by_parts_factor",
            lambda v: _rotary(v) and bool(v.get("use_NTK_by_parts_rope")),
            "an NTK-by-parts factor",
        ),
    ),
    ("load_in_4bit", _when("load_in_4bit", "the native model has no 4-bit weights")),
    ("init_mode", _init_mode),
)


def native_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every field by which the native model would build another model than ``values``
    describe, with the reason: ``[(field, reason), ...]``, empty when it builds this one.

    ``values`` holds every field (defaults and derived values filled in, as a
    ``HookedTransformerConfig.to_dict()`` does).

    >>> from transformer_presets import get_preset
    >>> native_problems(get_preset("gpt2").to_dict())
    []
    >>> native_problems(get_preset("pythia-70m").to_dict())[0][0]
    'parallel_attn_mlp'
    """
    problems = []
    for field, check in _CHECKS:
        reason = check(values)
        if reason is not None:
            problems.append((field, reason))
    return problems
