"""GPT-2 and SantaCoder (``GPT2LMHeadCustomModel``, GPT-2 with a choice of attention).

LayerNorm, learned absolute positions, an MLP four times as wide as the model (the
config has no width of its own: ``n_inner`` null). What the family
lacks: rotary embeddings, a gated MLP, grouped-query attention (SantaCoder's
multi-query checkpoints are built with a key and value per head), sliding windows.
"""

from __future__ import annotations

from typing import Any

from .._family import GPT2, SIZES, Architecture
from .._read import Reader
from .._traits import LAYERNORM, LEARNED_POSITIONS, traits
from .._write import Export, four_times_wide

__all__ = ["ARCHITECTURES"]

# TransformerLens reads the context from the legacy n_ctx that the released files carry
# (and GPT2Config keeps as it is); transformers 5 no longer writes it, and without it
# TransformerLens fails: the context is then n_positions, the model's own (GPT2's keys).
_TL_GPT2 = GPT2.spelled(n_ctx="n_ctx")

# What SantaCoder's remote code (configuration_gpt2_mq.GPT2CustomConfig, which extends
# GPT2Config) is loaded through, as its published config.json names it.
_SANTACODER_AUTO_MAP = {
    "AutoConfig": "configuration_gpt2_mq.GPT2CustomConfig",
    "AutoModelForCausalLM": "modeling_gpt2_mq.GPT2LMHeadCustomModel",
}


def read_gpt2(r: Reader, name: str) -> dict[str, Any]:
    r.aliases = GPT2.aliases
    return {
        **(_TL_GPT2 if r.present("n_ctx") else GPT2).read(r, *SIZES),
        "use_attn_scale": r.get_bool("scale_attn_weights", True),
        "scale_attn_by_inverse_layer_idx": r.get_bool("scale_attn_by_inverse_layer_idx", False),
        **traits(LAYERNORM),
    }


def write_gpt2(e: Export) -> dict[str, Any]:
    out = _body(e)
    # GPT2Config has no n_ctx, but TransformerLens reads the context from it (the
    # published files carry it next to n_positions); transformers keeps it as is.
    out["n_ctx"] = e["n_ctx"]
    out["scale_attn_weights"] = e["use_attn_scale"]
    return out


def read_santacoder(r: Reader, name: str) -> dict[str, Any]:
    # The remote GPT2CustomConfig extends GPT2Config, so its defaults are GPT-2's.
    # TransformerLens builds it as plain multi-head attention, with the context from
    # n_positions.
    r.aliases = GPT2.aliases
    return {
        **GPT2.read(r, *SIZES),
        "trust_remote_code": "santacoder" in name,
        "scale_attn_by_inverse_layer_idx": r.get_bool("scale_attn_by_inverse_layer_idx", False),
        **traits(LAYERNORM),
    }


def write_santacoder(e: Export) -> dict[str, Any]:
    # GPT2LMHeadCustomModel is GPT-2 with a choice of attention: "multiquery" (one
    # key/value head, as SantaCoder was trained) or "multihead" (GPT-2's own). TransformerLens
    # does not read that choice: it builds multi-head attention, copying a multi-query
    # checkpoint's key/value head into every head. A preset has a key/value projection per
    # head, which is "multihead"; "multiquery" would be a model with other weights.
    out = _body(e)
    if e.kv_heads(grouped=True) != e.v["n_heads"]:
        e.problem(
            "n_key_value_heads",
            f"TransformerLens reads every {e.arch} as multi-head attention "
            "(one key/value head per query head)",
        )
    # TransformerLens's SantaCoder branch scales scores whatever scale_attn_weights says.
    e.fixed("use_attn_scale", True, "scaled attention scores")
    return {
        "auto_map": dict(_SANTACODER_AUTO_MAP),
        **out,
        "scale_attn_weights": True,
        "attention_head_type": "multihead",
    }


def _body(e: Export) -> dict[str, Any]:
    """The keys GPT2Config and the SantaCoder config built on it share."""
    e.decoder()
    e.heads_split()
    e.has(LAYERNORM, LEARNED_POSITIONS)
    four_times_wide(e)
    return {
        **GPT2.write(e, "d_vocab", "n_ctx", "d_model", "n_layers", "n_heads"),
        # null means 4 * n_embd, as in the published GPT-2 files.
        "n_inner": None,
        **GPT2.write(e, "act_fn", "eps"),
        "scale_attn_by_inverse_layer_idx": e["scale_attn_by_inverse_layer_idx"],
    }


ARCHITECTURES = (
    Architecture("GPT2LMHeadModel", "gpt2", read_gpt2, write_gpt2),
    Architecture("GPT2LMHeadCustomModel", "gpt2", read_santacoder, write_santacoder),
)
