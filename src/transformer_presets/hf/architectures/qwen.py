"""Qwen 1 (remote code, ``QWenLMHeadModel``), Qwen 2 and Qwen 3.

RMSNorm, rotary embeddings over whole heads at a base TransformerLens truncates to an
integer (Qwen 2 and 3; Qwen 1's it does not read), a gated SiLU MLP, grouped-query
attention (Qwen 2 and 3), windows on a last run of layers. Qwen 1 adds log-n attention
and dynamic NTK scaling from its training length; Qwen 3 adds RMSNorm on queries and
keys, a head size of its own and a context TransformerLens caps at 2048. What the
family lacks: rope scaling that TransformerLens reads, windows on other layers.
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture, rms_decoder
from .._read import REQUIRED, Reader, kv_heads, shown, unless_mha
from .._rope import NO_SCALING, flat_rope, write_rope
from .._traits import CAPPED_CONTEXT, GATED, HALF_PAIRS, QK_NORM, RMSNORM, ROTARY, Trait, traits
from .._write import Export, default_base

__all__ = ["ARCHITECTURES"]

# What the remote QWenConfig (configuration_qwen.py in the Qwen-1 repositories)
# defaults to; seq_length has no default there, and TransformerLens needs it.
_QWEN1 = LLAMA.spelled(n_ctx="seq_length", eps="layer_norm_epsilon").but(
    d_mlp=22016, n_ctx=REQUIRED, d_vocab=151936
)
# Qwen2Config's and Qwen3Config's defaults.
_QWEN2 = LLAMA.but(d_mlp=22016, n_ctx=32768, d_vocab=151936)
# Qwen-1 runs on code from its repository, loaded through these.
_QWEN1_AUTO_MAP = {
    "AutoConfig": "configuration_qwen.QWenConfig",
    "AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel",
}


def read_qwen(r: Reader, name: str) -> dict[str, Any]:
    # The remote attention and rotary code work on seq_length, the context.
    cfg = _QWEN1.read(r, *SIZES[:6])
    # The remote code's intermediate_size counts both halves of the gate.
    cfg["d_mlp"] //= 2
    return {
        **cfg,
        "use_logn_attn": r.get_bool("use_logn_attn", True),
        "use_dynamic_ntk_rope": r.get_bool("use_dynamic_ntk", True),
        "train_seq_length": cfg["n_ctx"],
        **_QWEN1.read(r, "eps", "d_vocab"),
        "act_fn": "silu",
        "use_attn_scale": r.get_bool("scale_attn_weights", True),
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(RMSNORM, ROTARY),
        "rotary_dim": r.size("kv_channels", 128),
        "tokenizer_prepends_bos": True,
        "trust_remote_code": True,
        "final_rms": True,
        **traits(GATED),
        "default_prepend_bos": False,
    }


def write_qwen(e: Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.has(RMSNORM, ROTARY, HALF_PAIRS, GATED)
    e.ignore("final_rms")
    e.act(fixed="silu")
    e.full_rotary()
    n_ctx = e["n_ctx"]
    long_context = e["use_logn_attn"], e["use_dynamic_ntk_rope"]
    trained = e["train_seq_length"]
    # TransformerLens reads seq_length as both the context and the training length that
    # log-n attention and dynamic NTK start from, so the two must agree where they matter.
    if any(long_context) and trained is not None and trained != n_ctx:
        e.problem(
            "train_seq_length",
            f"TransformerLens reads {e.arch}'s seq_length as both n_ctx and the training "
            f"length; this preset has n_ctx = {n_ctx}",
        )
    return {
        "auto_map": dict(_QWEN1_AUTO_MAP),
        **_QWEN1.write(e, "d_vocab", "d_model", "n_heads", "n_layers"),
        # The remote code's intermediate_size counts both halves of the gated MLP.
        "intermediate_size": 2 * e["d_mlp"],
        # kv_channels is the head size (the projections use it too), and TransformerLens
        # reads it as the rotary dimension: every dimension rotates (rotary_pct 1).
        "kv_channels": e["d_head"],
        "rotary_pct": 1.0,
        # TransformerLens does not read the base: it keeps its default.
        "rotary_emb_base": default_base(e),
        # The context, and the length the log-n and dynamic NTK scalings start from.
        "seq_length": n_ctx,
        "max_position_embeddings": n_ctx,
        "layer_norm_epsilon": e["eps"],
        "scale_attn_weights": e["use_attn_scale"],
        "use_logn_attn": long_context[0],
        "use_dynamic_ntk": long_context[1],
        "no_bias": True,
    }


def read_qwen2(r: Reader, name: str) -> dict[str, Any]:
    cfg = _QWEN2.read(r, "d_model", "d_head", "n_heads")
    cfg["n_key_value_heads"] = kv_heads(r, 32, cfg["n_heads"])
    # Not capped since TransformerLens 3.5.1.
    cfg.update(_QWEN2.read(r, "d_mlp", "n_layers", "n_ctx"))
    return _read_qwen2_like(r, cfg)


def write_qwen2(e: Export) -> dict[str, Any]:
    return _write_qwen2_like(e, rms_decoder(e, head_dim=False))


def read_qwen3(r: Reader, name: str) -> dict[str, Any]:
    cfg = _QWEN2.read(r, "d_model", "d_head", "n_heads")
    # Qwen3Config's head_dim defaults to 128 whatever the width.
    head_dim = r.get_int("head_dim", 128, nullable=True)
    if head_dim is None:
        raise r.error("head_dim", "expected an integer, got null (TransformerLens compares it)")
    if head_dim > 0:
        cfg["d_head"] = head_dim
    n_heads = cfg["n_heads"]
    cfg["n_key_value_heads"] = unless_mha(kv_heads(r, 32, n_heads), n_heads)
    cfg.update(_QWEN2.read(r, "d_mlp", "n_layers"), **traits(CAPPED_CONTEXT))
    return {
        **_read_qwen2_like(r, cfg),
        "rotary_dim": cfg["d_head"],
        **traits(QK_NORM),
        "trust_remote_code": True,
    }


def write_qwen3(e: Export) -> dict[str, Any]:
    return _write_qwen2_like(e, rms_decoder(e, head_dim=True), QK_NORM, CAPPED_CONTEXT)


def _read_qwen2_like(r: Reader, cfg: dict[str, Any]) -> dict[str, Any]:
    """What Qwen 2 and 3 read after their sizes."""
    return {
        **cfg,
        **_QWEN2.read(r, "eps", "d_vocab", "act_fn"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        **traits(RMSNORM, ROTARY),
        "rotary_base": _int_theta(r, flat_rope(r, 10000.0)["rope_theta"]),
        "tokenizer_prepends_bos": True,
        "final_rms": True,
        **traits(GATED),
        "default_prepend_bos": False,
    }


def _write_qwen2_like(e: Export, out: dict[str, Any], *more: Trait) -> dict[str, Any]:
    """What Qwen 2 and 3 write after their sizes (``more``: what Qwen 3 has besides)."""
    e.has(GATED, *more)
    out["hidden_act"] = e.act()
    out.update(write_rope(e, scaling=NO_SCALING))
    if not isinstance(e.v["rotary_base"], int):
        e.problem("rotary_base", f"TransformerLens truncates {e.arch}'s rope_theta to an integer")
    # Qwen 2 and 3 window the layers from max_window_layers on, if any.
    kinds = e.layer_kinds()
    if "local" not in kinds:
        out["use_sliding_window"] = False
        return out
    first = kinds.index("local")
    if "global" in kinds[first:]:
        e.problem("attn_types", f"{e.arch} windows a run of layers up to the last one")
    out.update(use_sliding_window=True, sliding_window=e.v["window_size"], max_window_layers=first)
    return out


def _int_theta(r: Reader, theta: Any) -> int:
    # TransformerLens truncates the Qwen 2 and 3 bases to integers.
    try:
        return int(theta)
    except (OverflowError, ValueError):
        raise r.error("rope_theta", f"expected a finite number, got {shown(theta)}") from None


ARCHITECTURES = (
    Architecture("QWenLMHeadModel", "qwen", read_qwen, write_qwen),
    Architecture("Qwen2ForCausalLM", "qwen2", read_qwen2, write_qwen2),
    Architecture("Qwen3ForCausalLM", "qwen3", read_qwen3, write_qwen3),
)
