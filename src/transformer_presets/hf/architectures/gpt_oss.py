"""gpt-oss: OpenAI's mixture of experts, with attention sinks and alternating windows.

RMSNorm, rotary embeddings over whole heads with YaRN by default, grouped-query
attention, a learned attention sink per head, sliding and full layers alternating,
experts in place of the MLP (a clamped SwiGLU TransformerLens runs by architecture,
whatever ``act_fn`` says). What the family lacks: a dense MLP, layers without a window
setting, rope scaling other than YaRN.
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture, read_experts, rms_decoder, write_experts
from .._read import Reader, alternating, kv_heads, layer_kinds
from .._rope import flat_rope, read_yarn, write_rope
from .._traits import GATED, RMSNORM, ROTARY, Trait, traits
from .._write import Export

__all__ = ["ARCHITECTURES"]

# GptOssConfig's defaults, and what it puts in rope_parameters when the file has none.
_KEYS = LLAMA.but(
    d_model=2880, n_heads=64, d_mlp=2880, n_layers=36, n_ctx=131072, eps=1e-5, d_vocab=201088
)
_ROPE = {
    "rope_type": "yarn",
    "factor": 32.0,
    "beta_fast": 32.0,
    "beta_slow": 1.0,
    "truncate": False,
    "original_max_position_embeddings": 4096,
}
_SINKS: Trait = ("use_attention_sinks", True, "a learned attention sink per head")


def read_gpt_oss(r: Reader, name: str) -> dict[str, Any]:
    r.aliases = {"num_local_experts": "num_experts"}
    cfg = _KEYS.read(r, "d_model", "d_head", "n_heads")
    head_dim = r.get_int("head_dim", 64, nullable=True)
    if head_dim is not None:
        cfg["d_head"] = r.positive("head_dim", head_dim)
    window = r.get_int("sliding_window", 128, nullable=True)
    if window is None:
        # TransformerLens turns local attention on for gpt-oss, and a local
        # layer without a window is refused when the config is built.
        raise r.error("sliding_window", "must be set: TransformerLens gives gpt-oss local layers")
    n_layers = _KEYS.value(r, "n_layers")
    cfg.update(
        _KEYS.read(r, *SIZES[3:6], "d_vocab", "act_fn"),
        **traits(RMSNORM, ROTARY),
        **_KEYS.read(r, "eps"),
        n_key_value_heads=kv_heads(r, 8, cfg["n_heads"]),
        **traits(GATED),
        final_rms=True,
        rotary_dim=cfg["d_head"],
        **read_experts(r, "num_local_experts", 128, 4),
        **traits(_SINKS),
        # Alternating sliding and full layers; TransformerLens's local mask
        # matches Hugging Face's sliding window.
        use_local_attn=True,
        window_size=r.positive("sliding_window", window),
        attn_types=layer_kinds(
            r,
            "layer_types",
            n_layers,
            alternating(n_layers, "sliding_attention", "full_attention"),
        ),
    )
    rope = flat_rope(r, 150000.0, max_positions=cfg["n_ctx"], class_default=_ROPE)
    cfg["rotary_base"] = rope["rope_theta"]
    if rope.get("rope_type") == "yarn":
        cfg.update(read_yarn(r, rope))
    return cfg


def write_gpt_oss(e: Export) -> dict[str, Any]:
    out = rms_decoder(e, head_dim=True)
    # TransformerLens runs gpt-oss's experts by architecture (a clamped SwiGLU
    # with router softmax after top-k): act_fn and norm_topk_prob do not apply.
    e.ignore("norm_topk_prob")
    out["hidden_act"] = e["act_fn"]
    e.has(_SINKS)
    out["layer_types"], window = e.layer_types()
    # TransformerLens needs a window even when no layer slides (the layer types say so).
    out["sliding_window"] = window if window is not None else e.v["window_size"] or 128
    rope = write_rope(e, scaling=frozenset({"yarn"}))
    # Without rope_scaling the config falls back to gpt-oss's own YaRN.
    rope.setdefault("rope_scaling", {"rope_type": "default"})
    out.update(rope)
    experts = write_experts(e, count_key="num_local_experts")
    out.update(experts)
    if experts:
        out["experts_per_token"] = experts["num_experts_per_tok"]  # the published files' spelling
    return out


ARCHITECTURES = (Architecture("GptOssForCausalLM", "gpt_oss", read_gpt_oss, write_gpt_oss),)
