"""The export's bookkeeping: what each preset field says, and whether a config can say it.

An :class:`Export` holds a preset's values while a family writes its config: reading a
field (``e["d_model"]``) marks it as written; :meth:`Export.fixed` and
:meth:`Export.ignore` say what the architecture always has or never reads, and a
value the config cannot express is recorded as a problem with its reason. Any field
no writer dealt with must hold its neutral value (:func:`neutral`), where it changes
the model at all (:func:`relevant`). :data:`NOT_EXPORTED` lists the fields that say
how TransformerLens runs a model rather than what the model is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..common.plain import same_value
from ..config.hooked import FIELD_DEFAULTS

__all__ = [
    "NOT_EXPORTED",
    "NTK_FIELDS",
    "YARN_FIELDS",
    "Export",
    "default_base",
    "four_times_wide",
    "kinds_of",
    "neutral",
    "neutral_text",
    "relevant",
    "same_typed",
    "show",
]

#: Fields that say how TransformerLens runs, loads or initialises a model, not what the
#: model computes, with the reason they are left out of an exported ``config.json``.
NOT_EXPORTED: dict[str, str] = {
    "model_name": "a name: the export carries tokenizer_name (or model_name) as _name_or_path",
    "tokenizer_name": "a name: exported as _name_or_path",
    "original_architecture": "chooses the architecture: exported as architectures",
    "use_attn_result": "a TransformerLens hook",
    "use_split_qkv_input": "a TransformerLens hook",
    "use_hook_mlp_in": "a TransformerLens hook",
    "use_attn_in": "a TransformerLens hook",
    "use_hook_tokens": "a TransformerLens hook",
    "ungroup_grouped_query_attention": "how TransformerLens lays out shared key/value heads",
    "from_checkpoint": "which weights are loaded",
    "checkpoint_index": "which weights are loaded",
    "checkpoint_label_type": "which weights are loaded",
    "checkpoint_value": "which weights are loaded",
    "device": "where TransformerLens puts the weights",
    "n_devices": "where TransformerLens puts the weights",
    "seed": "TransformerLens's random generators",
    "init_weights": "whether TransformerLens draws fresh weights",
    "init_mode": "how fresh weights are drawn (initializer_range is exported with 'gpt2')",
    "initializer_range": "exported as initializer_range when the preset sets it",
    "dtype": "the type TransformerLens loads the weights as",
    "load_in_4bit": "how TransformerLens loads the weights",
    "default_prepend_bos": "how TransformerLens tokenises strings",
    "tokenizer_prepends_bos": "what the tokenizer does",
    "trust_remote_code": "a permission TransformerLens's loader asks for",
    "n_params": "computed",
    "uses_rms_norm": "a TransformerLens bridge setting that HookedTransformer does not read",
    "layer_norm_folding": "a TransformerLens bridge setting that HookedTransformer does not read",
}

# TransformerLens's activation names that mean the same function in transformers'
# ACT2FN (solu and solu_ln have no counterpart there).
_HF_ACTIVATIONS = frozenset(
    {"gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "relu", "silu", "relu2", "xielu"}
)

_ROTARY_FIELDS = frozenset(
    {
        "rotary_dim",
        "rotary_base",
        "rotary_adjacent_pairs",
        "rotary_base_local",
        "rotary_scaling_factor",
        "use_NTK_by_parts_rope",
        "use_yarn_rope",
        "use_dynamic_ntk_rope",
    }
)

NTK_FIELDS = frozenset(
    {
        "NTK_by_parts_low_freq_factor",
        "NTK_by_parts_high_freq_factor",
        "NTK_by_parts_factor",
        "NTK_original_ctx_len",
    }
)

YARN_FIELDS = frozenset(
    {
        "yarn_factor",
        "yarn_attention_factor",
        "yarn_beta_fast",
        "yarn_beta_slow",
        "yarn_original_max_position_embeddings",
        "yarn_truncate",
        "yarn_global_attn_only",
    }
)


def relevant(field: str, v: Mapping[str, Any]) -> bool:
    """Whether ``field`` changes the model TransformerLens builds, given the other fields."""
    rotary = bool(v["positional_embedding_type"] == "rotary")
    if field in ("act_fn", "d_mlp"):
        return not v["attn_only"]
    if field == "gated_mlp":
        return not v["attn_only"] and not v["num_experts"]
    if field == "attn_scale":
        return bool(v["use_attn_scale"])
    if field == "final_rms":
        return v["normalization_type"] in ("LN", "LNPre")
    if field == "attn_types":
        return bool(v["use_local_attn"])
    if field == "window_size":
        return "local" in kinds_of(v)
    if field in ("experts_per_token", "norm_topk_prob"):
        return bool(v["num_experts"])
    if field == "train_seq_length":
        return rotary and bool(v["use_logn_attn"] or v["use_dynamic_ntk_rope"])
    if field in NTK_FIELDS:
        return rotary and bool(v["use_NTK_by_parts_rope"])
    if field in YARN_FIELDS or field == "use_yarn_rope":
        # NTK by parts wins over YaRN in TransformerLens.
        return (
            rotary
            and not v["use_NTK_by_parts_rope"]
            and (field == "use_yarn_rope" or bool(v["use_yarn_rope"]))
        )
    if field == "rotary_scaling_factor":
        # Linear scaling applies only where neither NTK by parts nor YaRN does.
        return rotary and not (v["use_NTK_by_parts_rope"] or v["use_yarn_rope"])
    if field == "rotary_base_local":
        return rotary and "local" in kinds_of(v)
    if field in _ROTARY_FIELDS:
        return rotary
    return True


def kinds_of(v: Mapping[str, Any]) -> list[str]:
    if v["use_local_attn"] and isinstance(v["attn_types"], list):
        return list(v["attn_types"])
    return ["global"] * v["n_layers"]


def neutral(field: str, v: Mapping[str, Any]) -> bool:
    """Whether ``field`` holds the value that adds nothing to the architecture."""
    value = v[field]
    if field == "d_vocab_out":
        return bool(value == v["d_vocab"])
    if field == "attn_scale":
        return math.isclose(value, math.sqrt(v["d_head"]), rel_tol=1e-12)
    if field == "rotary_dim":
        return bool(value == v["d_head"])
    if field == "n_key_value_heads":
        return value is None or value == v["n_heads"]
    return same_value(value, FIELD_DEFAULTS[field])


def neutral_text(field: str) -> str:
    if field == "d_vocab_out":
        return "d_vocab_out = d_vocab"
    if field == "attn_scale":
        return "attn_scale = sqrt(d_head)"
    if field == "rotary_dim":
        return "rotary_dim = d_head"
    if field == "n_key_value_heads":
        return "one key/value head per query head"
    return show(FIELD_DEFAULTS[field])


def same_typed(a: Any, b: Any) -> bool:
    """Equal in value and type: 10000 and 10000.0 differ, as they do in a preset."""
    return type(a) is type(b) and bool(a == b)


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class Export:
    """The preset's values, the config being written, and what has been said about each field."""

    def __init__(self, values: dict[str, Any], arch: str) -> None:
        self.v = values
        self.arch = arch
        self.handled: set[str] = set()
        self.ignored: set[str] = set()
        self.problems: list[tuple[str, str]] = []

    def __getitem__(self, field: str) -> Any:
        self.handled.add(field)
        return self.v[field]

    def ignore(self, *fields: str) -> None:
        """Fields this architecture's TransformerLens code does not read."""
        self.handled.update(fields)
        self.ignored.update(fields)

    def fixed(self, field: str, value: Any, what: str) -> None:
        """``field`` must be ``value``, type included: the architecture has no other choice."""
        self.handled.add(field)
        if not same_typed(self.v[field], value):
            kind = f", of type {type(value).__name__}" if same_value(self.v[field], value) else ""
            self.problem(field, f"{self.arch} always has {what} ({field} = {show(value)}{kind})")

    def has(self, *traits: tuple[str, Any, str]) -> None:
        """Each ``(field, value, what)`` in turn is :meth:`fixed`."""
        for field, value, what in traits:
            self.fixed(field, value, what)

    def problem(self, field: str, reason: str) -> None:
        self.problems.append((field, reason))

    def unread_scaling(self, kind: str) -> str:
        return f"TransformerLens reads no {kind} rope scaling from {self.arch}'s config"

    # -- shared pieces --------------------------------------------------------------

    def decoder(self) -> None:
        self.fixed("attention_dir", "causal", "causal attention")
        self.fixed("attn_only", False, "an MLP in every block")

    def vocab(self) -> int:
        d_vocab: int = self["d_vocab"]
        if d_vocab < 1:
            self.problem("d_vocab", "is not set (-1); a config.json needs the vocabulary size")
        return d_vocab

    def act(self, *, fixed: str | None = None) -> str:
        act_fn: str = self["act_fn"]
        if fixed is not None and act_fn != fixed:
            self.problem("act_fn", f"{self.arch}'s MLP always uses {fixed!r}, not {act_fn!r}")
        elif act_fn not in _HF_ACTIVATIONS:
            self.problem("act_fn", f"transformers has no activation {act_fn!r}")
        return act_fn

    def heads_split(self) -> None:
        """For configs without a head size: it is hidden_size / number of heads."""
        d_model, n_heads, d_head = self["d_model"], self["n_heads"], self["d_head"]
        if n_heads * d_head != d_model:
            split = (
                f"{d_model // n_heads}"
                if d_model % n_heads == 0
                else f"{d_model} / {n_heads}, not a whole number"
            )
            self.problem(
                "d_head",
                f"{self.arch}'s config has no head size; it is hidden_size / heads = "
                f"{split}, not {d_head}",
            )

    def kv_heads(self, *, grouped: bool) -> int:
        n_heads: int = self["n_heads"]
        kv: int | None = self["n_key_value_heads"]
        if kv is None:
            return n_heads
        if not grouped and kv != n_heads:
            self.problem("n_key_value_heads", f"{self.arch} has no grouped-query attention")
        return kv

    def full_rotary(self) -> None:
        if self["rotary_dim"] != self.v["d_head"]:
            self.problem("rotary_dim", f"{self.arch} rotates every dimension of a head")

    def layer_kinds(self) -> list[str]:
        """'global' or 'local' for each layer; marks the local-attention fields handled."""
        n_layers: int = self.v["n_layers"]
        if not self["use_local_attn"]:
            return ["global"] * n_layers
        kinds = self["attn_types"]
        if len(kinds) != n_layers:
            self.problem("attn_types", f"has {len(kinds)} entries for {n_layers} layers")
            return ["global"] * n_layers
        if "local" in kinds:
            self.handled.add("window_size")
        return list(kinds)

    def uniform_window(self) -> int | None:
        """The one sliding window of a config that windows every layer or none."""
        kinds = self.layer_kinds()
        if "local" not in kinds:
            return None
        if "global" in kinds:
            self.problem(
                "attn_types",
                f"{self.arch} gives every layer the same attention; this preset mixes "
                "local and global layers",
            )
        window: int = self.v["window_size"]
        return window

    def layer_types(self) -> tuple[list[str], int | None]:
        """transformers' layer_types and sliding_window for configs that take both."""
        kinds = self.layer_kinds()
        names = ["sliding_attention" if k == "local" else "full_attention" for k in kinds]
        return names, (self.v["window_size"] if "local" in kinds else None)


def four_times_wide(e: Export) -> None:
    """The MLP width of configs TransformerLens reads as 4 * hidden size, whatever they say."""
    d_model = e.v["d_model"]
    if e["d_mlp"] != 4 * d_model:
        e.problem(
            "d_mlp",
            f"TransformerLens reads {e.arch}'s MLP as 4 * hidden size = {4 * d_model} wide "
            "(it does not read the config's own width)",
        )


def default_base(e: Export) -> int:
    base: int = FIELD_DEFAULTS["rotary_base"]
    e.fixed("rotary_base", base, f"a rotary base of {base} in TransformerLens")
    return base
