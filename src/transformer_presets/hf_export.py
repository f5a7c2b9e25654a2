"""Turn a preset into a Hugging Face ``config.json``: the reverse of :mod:`hf_import`.

:func:`to_hf_config` writes, for every architecture :func:`~hf_import.from_hf_config`
reads, the keys the matching ``transformers`` configuration class reads, in the
layout both transformers 4 and 5 accept (``rope_theta`` and ``rope_scaling``
at the top level; transformers 5 folds them into ``rope_parameters`` itself).
The one exception is an OLMo 3 whose sliding-window layers have another rotary
base than 500000: only transformers 5's per-layer-type ``rope_parameters`` can
say that. Pure Python: no transformers, no torch.

The export is faithful to the preset, not to the published checkpoint: where
TransformerLens differs from a model's own file (Gemma 3 scales by
``sqrt(d_head)``, SantaCoder's multi-query attention is built with a key and
value per head), the exported file describes what TransformerLens builds.

A value is exported only if TransformerLens 3.9's conversion of the file (which
``from_hf_config`` follows) reads it back; anything else is an
:class:`HFExportError` naming the field, never a silently different model.
That rules out what the configuration class cannot express (rotary embeddings
on GPT-2, a gated MLP on OPT, exact GELU on Gemma 1, whose config reads
``gelu`` as the tanh approximation) and also what it can but TransformerLens
does not read (a YaRN ``rope_scaling`` on Mistral, ``num_key_value_heads`` on
OLMo 1, ``n_inner`` on GPT-2, GPT-NeoX's rotary base, a context other than 2048
on Mistral). Each writer refuses those with the architecture's reason; a last
check reads the finished file back with ``from_hf_config`` and refuses any
field that comes back otherwise, which catches TransformerLens's rules keyed on
a model's name (Llama 3.1 to 3.3 are capped at 2048 tokens, TinyStories at 512).

Some fields describe how TransformerLens runs or loads a model rather than
the model (hooks, device, dtype, seed, checkpoints, the tokenizer's BOS
handling): they are not exported (:data:`NOT_EXPORTED` says why for each), so
``from_hf_config`` brings back the values its architecture implies for them.
Fields that have no effect given the others (``window_size`` without local
attention, ``final_rms`` with RMSNorm, YaRN settings with YaRN off, ...) or
that the architecture's TransformerLens code never reads (BERT's
``normalization_type``, gpt-oss's ``norm_topk_prob``) are not checked either.
Two spellings of one model count as the same: ``n_key_value_heads`` unset or
equal to ``n_heads`` (likewise ``train_seq_length`` and ``n_ctx``,
``rotary_base_local`` and ``rotary_base``), and ``use_local_attn`` off or on
with only global layers.

>>> config = to_hf_config("gpt2-small")
>>> config["architectures"], config["model_type"], config["n_embd"], config["n_layer"]
(['GPT2LMHeadModel'], 'gpt2', 768, 12)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from ._plain import same_value
from .config import FIELD_DEFAULTS, HookedTransformerConfig, check_and_derive
from .errors import PresetError, PresetValidationError, did_you_mean
from .hf_import import _MAX_LAYERS, from_hf_config
from .preset_keys import FIELDS, check_field_value, defaults

__all__ = ["EXPORTABLE_ARCHITECTURES", "NOT_EXPORTED", "HFExportError", "to_hf_config"]


class HFExportError(PresetError):
    """A preset cannot be written as a Hugging Face ``config.json``."""


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
_NTK_FIELDS = frozenset(
    {
        "NTK_by_parts_low_freq_factor",
        "NTK_by_parts_high_freq_factor",
        "NTK_by_parts_factor",
        "NTK_original_ctx_len",
    }
)
_YARN_FIELDS = frozenset(
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


def _relevant(field: str, v: Mapping[str, Any]) -> bool:
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
        return "local" in _layer_kinds(v)
    if field in ("experts_per_token", "norm_topk_prob"):
        return bool(v["num_experts"])
    if field == "train_seq_length":
        return rotary and bool(v["use_logn_attn"] or v["use_dynamic_ntk_rope"])
    if field in _NTK_FIELDS:
        return rotary and bool(v["use_NTK_by_parts_rope"])
    if field in _YARN_FIELDS or field == "use_yarn_rope":
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
        return rotary and "local" in _layer_kinds(v)
    if field in _ROTARY_FIELDS:
        return rotary
    return True


def _layer_kinds(v: Mapping[str, Any]) -> list[str]:
    if v["use_local_attn"] and isinstance(v["attn_types"], list):
        return list(v["attn_types"])
    return ["global"] * v["n_layers"]


def _neutral(field: str, v: Mapping[str, Any]) -> bool:
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


def _same_typed(a: Any, b: Any) -> bool:
    """Equal in value and type: 10000 and 10000.0 differ, as they do in a preset."""
    return type(a) is type(b) and bool(a == b)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class _Export:
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
        if not _same_typed(self.v[field], value):
            kind = f", of type {type(value).__name__}" if same_value(self.v[field], value) else ""
            self.problem(field, f"{self.arch} always has {what} ({field} = {_show(value)}{kind})")

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

    def rope(
        self, *, scaling: frozenset[str], scope: str = "all", local_base: str | None = None
    ) -> dict[str, Any]:
        """rope_theta and rope_scaling, with the TransformerLens scaling the preset uses.

        ``scaling`` names the rope types TransformerLens reads from this config
        (llama3, yarn, linear: fewer than transformers takes for most architectures);
        ``scope`` says which layers transformers scales: "all", or "global"
        (full-attention layers only, as Gemma 3 and OLMo 3 do); ``local_base``
        is the key of the local layers' own base, if the config has one.
        """
        out: dict[str, Any] = {"rope_theta": self["rotary_base"]}
        has_local = "local" in _layer_kinds(self.v)
        scales_some_only = scope == "global" and has_local
        v = self.v
        if v["use_NTK_by_parts_rope"]:
            self.handled.update({"use_NTK_by_parts_rope", *_NTK_FIELDS})
            if "llama3" not in scaling:
                self.problem("use_NTK_by_parts_rope", self.unread_scaling("NTK-by-parts (llama3)"))
            elif scales_some_only:
                self.problem(
                    "use_NTK_by_parts_rope",
                    f"{self.arch} scales only its full-attention layers; TransformerLens "
                    "scales every layer",
                )
            out["rope_scaling"] = {
                "rope_type": "llama3",
                "factor": v["NTK_by_parts_factor"],
                "low_freq_factor": v["NTK_by_parts_low_freq_factor"],
                "high_freq_factor": v["NTK_by_parts_high_freq_factor"],
                "original_max_position_embeddings": v["NTK_original_ctx_len"],
            }
        elif v["use_yarn_rope"]:
            self.handled.update({"use_yarn_rope", *_YARN_FIELDS})
            global_only = bool(v["yarn_global_attn_only"]) and has_local
            if "yarn" not in scaling:
                self.problem("use_yarn_rope", self.unread_scaling("YaRN"))
            elif global_only != scales_some_only:
                which = "full-attention layers only" if scales_some_only else "every layer"
                self.problem(
                    "yarn_global_attn_only", f"{self.arch} applies YaRN to {which}, this preset not"
                )
            yarn: dict[str, Any] = {
                "rope_type": "yarn",
                "factor": v["yarn_factor"],
                # Explicit: without it transformers derives one from the factor.
                "attention_factor": v["yarn_attention_factor"],
                "beta_fast": v["yarn_beta_fast"],
                "beta_slow": v["yarn_beta_slow"],
                "original_max_position_embeddings": v["yarn_original_max_position_embeddings"],
            }
            if not v["yarn_truncate"]:
                yarn["truncate"] = False  # transformers' default is true
            out["rope_scaling"] = yarn
        elif v["rotary_scaling_factor"] != 1.0:
            self.handled.add("rotary_scaling_factor")
            if "linear" not in scaling:
                self.problem("rotary_scaling_factor", self.unread_scaling("linear"))
            elif has_local and not scales_some_only:
                self.problem(
                    "rotary_scaling_factor",
                    f"{self.arch} would scale every layer; TransformerLens scales only global ones",
                )
            out["rope_scaling"] = {"rope_type": "linear", "factor": v["rotary_scaling_factor"]}
        if _relevant("rotary_base_local", v):
            local = self["rotary_base_local"]
            if local_base is not None:
                out[local_base] = local if local is not None else out["rope_theta"]
            elif local is not None and local != out["rope_theta"]:
                self.problem("rotary_base_local", f"{self.arch} has one rope_theta for all layers")
        return out


# -- one writer per architecture ------------------------------------------------------------
#
# Each fills in the keys of the transformers configuration class (names and
# defaults checked against transformers 5's configuration_*.py) and says, with
# e[...] / e.fixed / e.ignore, which TransformerLens fields it has dealt with.
# Every other relevant field must hold its neutral value (see _neutral).

_RMS = "RMSNorm (normalization_type = 'RMS')"
_GEMMA3_CONTEXT_CAP = 8192
# The rope scalings TransformerLens 3.9 reads from these configs (transformers takes
# more: a YaRN rope_scaling on Mistral would build a model TransformerLens does not).
_NO_SCALING: frozenset[str] = frozenset()
_LLAMA3 = frozenset({"llama3"})
# What the TransformerLens 3.9 context caps leave of a config's context length.
_CONTEXT_CAP = 2048


def _four_times_wide(e: _Export) -> None:
    """The MLP width of configs TransformerLens reads as 4 * hidden size, whatever they say."""
    d_model = e.v["d_model"]
    if e["d_mlp"] != 4 * d_model:
        e.problem(
            "d_mlp",
            f"TransformerLens reads {e.arch}'s MLP as 4 * hidden size = {4 * d_model} wide "
            "(it does not read the config's own width)",
        )


def _gpt2_body(e: _Export) -> dict[str, Any]:
    """The keys GPT2Config and the SantaCoder config built on it share."""
    e.decoder()
    e.heads_split()
    e.fixed("normalization_type", "LN", "LayerNorm")
    e.fixed("positional_embedding_type", "standard", "learned absolute positions")
    _four_times_wide(e)
    return {
        "vocab_size": e.vocab(),
        "n_positions": e["n_ctx"],
        "n_embd": e["d_model"],
        "n_layer": e["n_layers"],
        "n_head": e["n_heads"],
        # null means 4 * n_embd, as in the published GPT-2 files.
        "n_inner": None,
        "activation_function": e.act(),
        "layer_norm_epsilon": e["eps"],
        "scale_attn_by_inverse_layer_idx": e["scale_attn_by_inverse_layer_idx"],
    }


def _gpt2(e: _Export) -> dict[str, Any]:
    out = _gpt2_body(e)
    # GPT2Config has no n_ctx, but TransformerLens reads the context from it (the
    # published files carry it next to n_positions); transformers keeps it as is.
    out["n_ctx"] = e["n_ctx"]
    out["scale_attn_weights"] = e["use_attn_scale"]
    return out


# What SantaCoder's remote code (configuration_gpt2_mq.GPT2CustomConfig, which extends
# GPT2Config) is loaded through, as its published config.json names it.
_SANTACODER_AUTO_MAP = {
    "AutoConfig": "configuration_gpt2_mq.GPT2CustomConfig",
    "AutoModelForCausalLM": "modeling_gpt2_mq.GPT2LMHeadCustomModel",
}


def _santacoder(e: _Export) -> dict[str, Any]:
    # GPT2LMHeadCustomModel is GPT-2 with a choice of attention: "multiquery" (one
    # key/value head, as SantaCoder was trained) or "multihead" (GPT-2's own). TransformerLens
    # does not read that choice: it builds multi-head attention, copying a multi-query
    # checkpoint's key/value head into every head. A preset has a key/value projection per
    # head, which is "multihead"; "multiquery" would be a model with other weights.
    out = _gpt2_body(e)
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


def _gpt_neo(e: _Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.fixed("normalization_type", "LN", "LayerNorm")
    e.fixed("positional_embedding_type", "standard", "learned absolute positions")
    e.fixed("use_attn_scale", False, "unscaled attention scores")
    kinds = e.layer_kinds()
    _four_times_wide(e)
    out = {
        "vocab_size": e.vocab(),
        "max_position_embeddings": e["n_ctx"],
        "hidden_size": e["d_model"],
        "num_layers": e["n_layers"],
        "num_heads": e["n_heads"],
        # null means 4 * hidden_size.
        "intermediate_size": None,
        "attention_types": _repeating(kinds),
        "activation_function": e.act(),
        "layer_norm_epsilon": e["eps"],
    }
    if "local" in kinds:
        out["window_size"] = e["window_size"]
    return out


def _repeating(kinds: list[str]) -> list[list[Any]]:
    """GPT-Neo's compact attention_types: [[pattern, repeats]] with the shortest pattern."""
    n = len(kinds)
    for size in range(1, n + 1):
        if n % size == 0 and kinds[:size] * (n // size) == kinds:
            return [[kinds[:size], n // size]]
    return [[kinds, 1]]  # pragma: no cover - size n always matches


def _gpt_neox(e: _Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.fixed("normalization_type", "LN", "LayerNorm")
    e.fixed("positional_embedding_type", "rotary", "rotary embeddings")
    e.fixed("rotary_adjacent_pairs", False, "rotation of pairs half a head apart")
    return {
        "vocab_size": e.vocab(),
        "hidden_size": e["d_model"],
        "num_hidden_layers": e["n_layers"],
        "num_attention_heads": e["n_heads"],
        "intermediate_size": e["d_mlp"],
        "hidden_act": e.act(),
        "max_position_embeddings": e["n_ctx"],
        "layer_norm_eps": e["eps"],
        "rotary_pct": e["rotary_dim"] / e["d_head"],
        # TransformerLens does not read the base: it keeps its default.
        "rotary_emb_base": _default_base(e),
        "use_parallel_residual": e["parallel_attn_mlp"],
    }


def _default_base(e: _Export) -> int:
    base: int = FIELD_DEFAULTS["rotary_base"]
    e.fixed("rotary_base", base, f"a rotary base of {base} in TransformerLens")
    return base


def _gptj(e: _Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.fixed("normalization_type", "LN", "LayerNorm")
    e.fixed("positional_embedding_type", "rotary", "rotary embeddings")
    e.fixed("rotary_adjacent_pairs", True, "rotation of adjacent pairs")
    e.fixed("parallel_attn_mlp", True, "attention and MLP side by side")
    e.fixed("rotary_base", 10000, "a rotary base of 10000")
    # TransformerLens does not read GPT-J's layer_norm_epsilon.
    e.fixed("eps", 1e-5, "LayerNorm epsilon 1e-5 in TransformerLens")
    _four_times_wide(e)
    return {
        "vocab_size": e.vocab(),
        "n_positions": e["n_ctx"],
        "n_embd": e["d_model"],
        "n_layer": e["n_layers"],
        "n_head": e["n_heads"],
        "rotary_dim": e["rotary_dim"],
        # null means 4 * n_embd.
        "n_inner": None,
        "activation_function": e.act(),
        "layer_norm_epsilon": e["eps"],
    }


def _opt(e: _Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.fixed("normalization_type", "LN", "LayerNorm")
    e.fixed("positional_embedding_type", "standard", "learned absolute positions")
    # OPT's LayerNorms have no epsilon setting: PyTorch's default.
    e.fixed("eps", 1e-5, "LayerNorm epsilon 1e-5")
    d_model = e["d_model"]
    return {
        "vocab_size": e.vocab(),
        "hidden_size": d_model,
        "num_hidden_layers": e["n_layers"],
        "ffn_dim": e["d_mlp"],
        "max_position_embeddings": e["n_ctx"],
        "num_attention_heads": e["n_heads"],
        "activation_function": e.act(),
        "do_layer_norm_before": True,
        "word_embed_proj_dim": d_model,
    }


def _bloom(e: _Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.fixed("normalization_type", "LN", "LayerNorm")
    e.fixed("positional_embedding_type", "alibi", "ALiBi position biases")
    e.fixed("post_embedding_ln", True, "a LayerNorm after the embedding")
    # BLOOM's MLP has its own tanh GELU, which TransformerLens calls gelu_fast.
    e.act(fixed="gelu_fast")
    d_model = e["d_model"]
    if e["d_mlp"] != 4 * d_model:
        e.problem("d_mlp", f"{e.arch}'s MLP is always 4 * hidden_size = {4 * d_model} wide")
    # ALiBi has no position table: BLOOM's config has no context length to write, and
    # TransformerLens gives every BLOOM model the same one.
    e.fixed("n_ctx", _CONTEXT_CAP, f"a {_CONTEXT_CAP}-token context in TransformerLens")
    return {
        "vocab_size": e.vocab(),
        "hidden_size": d_model,
        "n_layer": e["n_layers"],
        "n_head": e["n_heads"],
        "layer_norm_epsilon": e["eps"],
        "apply_residual_connection_post_layernorm": False,
    }


def _rms_decoder(e: _Export, *, head_dim: bool, grouped: bool = True) -> dict[str, Any]:
    """The keys Llama-like configs share (RMSNorm, rotary embeddings over whole heads).

    ``head_dim``: TransformerLens reads the head size from the config (else it divides
    hidden_size by the heads); ``grouped``: it reads num_key_value_heads.
    """
    e.decoder()
    e.fixed("normalization_type", "RMS", _RMS)
    e.fixed("positional_embedding_type", "rotary", "rotary embeddings")
    e.fixed("rotary_adjacent_pairs", False, "rotation of pairs half a head apart")
    e.ignore("final_rms")
    out: dict[str, Any] = {
        "vocab_size": e.vocab(),
        "hidden_size": e["d_model"],
        "intermediate_size": e["d_mlp"],
        "num_hidden_layers": e["n_layers"],
        "num_attention_heads": e["n_heads"],
        "num_key_value_heads": e.kv_heads(grouped=grouped),
    }
    if head_dim:
        out["head_dim"] = e["d_head"]
    else:
        e.heads_split()
    e.full_rotary()
    out["max_position_embeddings"] = e["n_ctx"]
    out["rms_norm_eps"] = e["eps"]
    return out


def _llama(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=False)
    e.fixed("gated_mlp", True, "a gated MLP")
    out["hidden_act"] = e.act()
    out.update(e.rope(scaling=_LLAMA3))
    return out


def _mistral(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=True)
    e.fixed("gated_mlp", True, "a gated MLP")
    # TransformerLens gives every Mistral a 2048-token context, whatever the file says.
    e.fixed("n_ctx", _CONTEXT_CAP, f"a {_CONTEXT_CAP}-token context in TransformerLens")
    out["hidden_act"] = e.act()
    out.update(e.rope(scaling=_NO_SCALING))
    out["sliding_window"] = e.uniform_window()
    return out


def _mixtral(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=False)
    out["hidden_act"] = e.act()
    out.update(e.rope(scaling=_NO_SCALING))
    out["sliding_window"] = e.uniform_window()
    out.update(_experts(e, count_key="num_local_experts"))
    # Mixtral's router always rescales the chosen experts' weights to sum to 1.
    e.fixed("norm_topk_prob", True, "renormalised top-k router weights")
    return out


def _experts(e: _Export, *, count_key: str) -> dict[str, Any]:
    if not e.v["num_experts"]:
        e.problem("num_experts", f"{e.arch} is a mixture of experts; this preset is not")
        return {}
    return {count_key: e["num_experts"], "num_experts_per_tok": e["experts_per_token"]}


def _gemma(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=True)
    e.fixed("gated_mlp", True, "a gated MLP")
    act_fn = e.act()
    if act_fn == "gelu":
        # GemmaConfig turns hidden_act "gelu" into the tanh approximation.
        e.problem(
            "act_fn",
            f"{e.arch}'s config reads 'gelu' as the tanh approximation (gelu_pytorch_tanh) "
            "and has no exact GELU",
        )
    out["hidden_act"] = act_fn
    out.update(e.rope(scaling=_NO_SCALING))
    return out


def _soft_cap(e: _Export, field: str) -> float | None:
    cap: float = e[field]
    return None if cap == -1.0 else cap


def _query_scalar(e: _Export) -> int:
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


def _gemma2_like(e: _Export, *, model_type_text: bool) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=True)
    e.fixed("gated_mlp", True, "a gated MLP")
    e.fixed("use_normalization_before_and_after", True, "norms before and after each layer")
    out["hidden_activation"] = e.act()
    if model_type_text:  # Gemma 3
        # TransformerLens scales Gemma 3's scores by sqrt(d_head) and does not read
        # query_pre_attn_scalar; the file says d_head so that transformers agrees.
        e.fixed("use_attn_scale", True, "scaled attention scores")
        if not _neutral("attn_scale", e.v):
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
    out["attn_logit_softcapping"] = _soft_cap(e, "attn_scores_soft_cap")
    out["final_logit_softcapping"] = _soft_cap(e, "output_logits_soft_cap")
    if model_type_text:  # Gemma 3
        e.fixed("use_qk_norm", True, "RMSNorm on queries and keys")
        out.update(
            e.rope(
                scaling=frozenset({"linear"}),
                scope="global",
                local_base="rope_local_base_freq",
            )
        )
    else:
        out.update(e.rope(scaling=_NO_SCALING))
    return out


def _gemma2(e: _Export) -> dict[str, Any]:
    return _gemma2_like(e, model_type_text=False)


def _gemma3(e: _Export) -> dict[str, Any]:
    return _gemma2_like(e, model_type_text=True)


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


def _gemma3_multimodal(e: _Export) -> dict[str, Any]:
    text = {"model_type": "gemma3_text", **_gemma3(e)}
    return {"text_config": text, "vision_config": dict(_GEMMA3_VISION)}


def _integer_base(e: _Export) -> None:
    if not isinstance(e.v["rotary_base"], int):
        e.problem("rotary_base", f"TransformerLens truncates {e.arch}'s rope_theta to an integer")


def _qwen2(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=False)
    e.fixed("gated_mlp", True, "a gated MLP")
    out["hidden_act"] = e.act()
    out.update(e.rope(scaling=_NO_SCALING))
    _integer_base(e)
    out.update(_qwen_windows(e))
    return out


def _qwen3(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=True)
    e.fixed("gated_mlp", True, "a gated MLP")
    e.fixed("use_qk_norm", True, "RMSNorm on queries and keys")
    # TransformerLens gives every Qwen 3 a 2048-token context, whatever the file says.
    e.fixed("n_ctx", _CONTEXT_CAP, f"a {_CONTEXT_CAP}-token context in TransformerLens")
    out["hidden_act"] = e.act()
    out.update(e.rope(scaling=_NO_SCALING))
    _integer_base(e)
    out.update(_qwen_windows(e))
    return out


def _qwen_windows(e: _Export) -> dict[str, Any]:
    """Qwen 2 and 3 window the layers from max_window_layers on, if any."""
    kinds = e.layer_kinds()
    if "local" not in kinds:
        return {"use_sliding_window": False}
    first = kinds.index("local")
    if "global" in kinds[first:]:
        e.problem("attn_types", f"{e.arch} windows a run of layers up to the last one")
    return {
        "use_sliding_window": True,
        "sliding_window": e.v["window_size"],
        "max_window_layers": first,
    }


def _qwen(e: _Export) -> dict[str, Any]:
    # Qwen-1 runs on code from its repository; the keys are those of its QWenConfig.
    e.decoder()
    e.heads_split()
    e.fixed("normalization_type", "RMS", _RMS)
    e.fixed("positional_embedding_type", "rotary", "rotary embeddings")
    e.fixed("rotary_adjacent_pairs", False, "rotation of pairs half a head apart")
    e.fixed("gated_mlp", True, "a gated MLP")
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
        "auto_map": {
            "AutoConfig": "configuration_qwen.QWenConfig",
            "AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel",
        },
        "vocab_size": e.vocab(),
        "hidden_size": e["d_model"],
        "num_attention_heads": e["n_heads"],
        "num_hidden_layers": e["n_layers"],
        # The remote code's intermediate_size counts both halves of the gated MLP.
        "intermediate_size": 2 * e["d_mlp"],
        # kv_channels is the head size (the projections use it too), and TransformerLens
        # reads it as the rotary dimension: every dimension rotates (rotary_pct 1).
        "kv_channels": e["d_head"],
        "rotary_pct": 1.0,
        # TransformerLens does not read the base: it keeps its default.
        "rotary_emb_base": _default_base(e),
        # The context, and the length the log-n and dynamic NTK scalings start from.
        "seq_length": n_ctx,
        "max_position_embeddings": n_ctx,
        "layer_norm_epsilon": e["eps"],
        "scale_attn_weights": e["use_attn_scale"],
        "use_logn_attn": long_context[0],
        "use_dynamic_ntk": long_context[1],
        "no_bias": True,
    }


def _phi(e: _Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.fixed("normalization_type", "LN", "LayerNorm")
    e.fixed("parallel_attn_mlp", True, "attention and MLP side by side")
    e.fixed("positional_embedding_type", "rotary", "rotary embeddings")
    e.fixed("rotary_adjacent_pairs", False, "rotation of pairs half a head apart")
    out = {
        "vocab_size": e.vocab(),
        "hidden_size": e["d_model"],
        "intermediate_size": e["d_mlp"],
        "num_hidden_layers": e["n_layers"],
        "num_attention_heads": e["n_heads"],
        "num_key_value_heads": e.kv_heads(grouped=False),
        "hidden_act": e.act(),
        "max_position_embeddings": e["n_ctx"],
        "layer_norm_eps": e["eps"],
        "partial_rotary_factor": e["rotary_dim"] / e["d_head"],
        "qk_layernorm": False,
    }
    out.update(e.rope(scaling=_NO_SCALING))
    return out


def _phi3(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=False)
    e.fixed("gated_mlp", True, "a gated MLP")
    out["hidden_act"] = e.act()
    # Phi-3's config takes only its own "longrope" scaling, which no preset has.
    out.update(e.rope(scaling=_NO_SCALING))
    out["sliding_window"] = e.uniform_window()
    return out


def _olmo(e: _Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    # OLMo 1's LayerNorm has no weights and a fixed epsilon; TransformerLens
    # holds it as an LN whose weights load as ones.
    e.fixed("normalization_type", "LN", "a LayerNorm")
    e.fixed("eps", 1e-5, "LayerNorm epsilon 1e-5")
    e.fixed("gated_mlp", True, "a gated MLP")
    e.fixed("positional_embedding_type", "rotary", "rotary embeddings")
    e.fixed("rotary_adjacent_pairs", False, "rotation of pairs half a head apart")
    e.full_rotary()
    out = {
        "vocab_size": e.vocab(),
        "hidden_size": e["d_model"],
        "intermediate_size": e["d_mlp"],
        "num_hidden_layers": e["n_layers"],
        "num_attention_heads": e["n_heads"],
        "num_key_value_heads": e.kv_heads(grouped=False),
        "hidden_act": e.act(),
        "max_position_embeddings": e["n_ctx"],
        "clip_qkv": e["clip_qkv"],
    }
    out.update(e.rope(scaling=_NO_SCALING))
    return out


def _olmo2_body(e: _Export, *, grouped: bool) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=False, grouped=grouped)
    e.fixed("gated_mlp", True, "a gated MLP")
    # OLMo 2 and 3 normalise whole query and key projections, which TransformerLens
    # does by architecture; use_qk_norm would add per-head norms instead.
    e.fixed("use_qk_norm", False, "its own query/key norms")
    out["hidden_act"] = e.act()
    return out


def _olmo2(e: _Export) -> dict[str, Any]:
    out = _olmo2_body(e, grouped=False)
    out.update(e.rope(scaling=_NO_SCALING))
    return out


# Olmo3Config's base for any layer type the file gives none (transformers 5 gives the
# file's flat rope_theta to the full-attention layers only).
_OLMO3_THETA = 500000.0
_SLIDING_THETA = "<sliding rope_theta>"  # a marker key, never written


def _olmo3(e: _Export) -> dict[str, Any]:
    out = _olmo2_body(e, grouped=True)
    out["layer_types"], window = e.layer_types()
    if window is not None:
        out["sliding_window"] = window
    rope = e.rope(scaling=frozenset({"yarn"}), scope="global", local_base=_SLIDING_THETA)
    sliding = rope.pop(_SLIDING_THETA, None)
    # From the flat keys, the sliding layers get 500000.0, which reads back as their own
    # base unless it equals the full-attention layers' base.
    full_base = rope["rope_theta"]
    flat = full_base if full_base == _OLMO3_THETA else _OLMO3_THETA
    if sliding is not None and not _same_typed(sliding, flat):
        # The sliding layers' own base can only be said per layer type, in the
        # transformers 5 layout (transformers 4 reads the flat keys alone).
        full = {"rope_type": "default", **rope.get("rope_scaling", {})}
        full["rope_theta"] = rope["rope_theta"]
        out["rope_parameters"] = {
            "full_attention": full,
            "sliding_attention": {"rope_type": "default", "rope_theta": sliding},
        }
    out.update(rope)
    return out


def _olmoe(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=False)
    e.fixed("use_qk_norm", False, "its own query/key norms")
    out["hidden_act"] = e.act()
    out.update(e.rope(scaling=_NO_SCALING))
    out.update(_experts(e, count_key="num_experts"))
    out["norm_topk_prob"] = e["norm_topk_prob"]
    out["clip_qkv"] = e["clip_qkv"]
    return out


def _gpt_oss(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=True)
    # TransformerLens runs gpt-oss's experts by architecture (a clamped SwiGLU
    # with router softmax after top-k): act_fn and norm_topk_prob do not apply.
    e.ignore("norm_topk_prob")
    out["hidden_act"] = e["act_fn"]
    e.fixed("use_attention_sinks", True, "a learned attention sink per head")
    out["layer_types"], window = e.layer_types()
    # TransformerLens needs a window even when no layer slides (the layer types say so).
    out["sliding_window"] = window if window is not None else e.v["window_size"] or 128
    rope = e.rope(scaling=frozenset({"yarn"}))
    # Without rope_scaling the config falls back to gpt-oss's own YaRN.
    rope.setdefault("rope_scaling", {"rope_type": "default"})
    out.update(rope)
    experts = _experts(e, count_key="num_local_experts")
    out.update(experts)
    if experts:
        out["experts_per_token"] = experts["num_experts_per_tok"]  # the published files' spelling
    return out


def _apertus(e: _Export) -> dict[str, Any]:
    out = _rms_decoder(e, head_dim=False)
    e.fixed("gated_mlp", False, "an ungated MLP")
    e.fixed("use_qk_norm", True, "RMSNorm on queries and keys")
    out["qk_norm"] = True  # the published files say so; transformers always has them
    out["hidden_act"] = e.act()
    rope = e.rope(scaling=_LLAMA3)
    # Without rope_scaling the config falls back to Apertus's own Llama 3 scaling.
    rope.setdefault("rope_scaling", {"rope_type": "default"})
    out.update(rope)
    return out


def _bert(e: _Export) -> dict[str, Any]:
    e.heads_split()
    e.fixed("attention_dir", "bidirectional", "bidirectional attention")
    e.fixed("attn_only", False, "an MLP in every block")
    # TransformerLens's BERT embedding always adds learned positions; its attention
    # would add rotary, ALiBi or shortformer positions on top.
    e.fixed("positional_embedding_type", "standard", "learned absolute positions")
    # TransformerLens's BERT blocks and head have their own LayerNorms whatever these say.
    e.ignore("normalization_type", "final_rms")
    return {
        "vocab_size": e.vocab(),
        "hidden_size": e["d_model"],
        "num_hidden_layers": e["n_layers"],
        "num_attention_heads": e["n_heads"],
        "intermediate_size": e["d_mlp"],
        # The MLM head's activation is fixed in TransformerLens, and follows
        # hidden_act in transformers: only GELU keeps the two the same.
        "hidden_act": e.act(fixed="gelu"),
        "max_position_embeddings": e["n_ctx"],
        "type_vocab_size": 2,
        "layer_norm_eps": e["eps"],
    }


def _t5(e: _Export) -> dict[str, Any]:
    e.fixed("attention_dir", "bidirectional", "a bidirectional encoder")
    e.fixed("attn_only", False, "an MLP in every block")
    e.fixed("use_attn_scale", False, "unscaled attention scores")
    e.fixed("positional_embedding_type", "relative_positional_bias", "relative position buckets")
    # TransformerLens's T5 blocks always use T5's RMS-style norm.
    e.ignore("normalization_type", "final_rms")
    # TransformerLens takes feed_forward_proj as the activation's name, so a gated
    # "gated-gelu" is not one it can read.
    e.fixed("gated_mlp", False, "an ungated MLP in TransformerLens")
    # T5Config ties the embeddings whatever the file says.
    e.fixed("tie_word_embeddings", True, "tied input and output embeddings")
    for field in ("relative_attention_num_buckets", "relative_attention_max_distance"):
        if e.v[field] is None:
            e.problem(field, f"{e.arch}'s relative position buckets need it (it is not set)")
    n_layers = e["n_layers"]
    return {
        "vocab_size": e.vocab(),
        "d_model": e["d_model"],
        "d_kv": e["d_head"],
        "d_ff": e["d_mlp"],
        "num_layers": n_layers,
        "num_decoder_layers": n_layers,
        "num_heads": e["n_heads"],
        "n_positions": e["n_ctx"],
        "relative_attention_num_buckets": e["relative_attention_num_buckets"],
        "relative_attention_max_distance": e["relative_attention_max_distance"],
        "layer_norm_epsilon": e["eps"],
        "feed_forward_proj": e.act(),
        "decoder_start_token_id": e["decoder_start_token_id"],
        "is_encoder_decoder": True,
    }


_WRITERS: dict[str, tuple[str, Callable[[_Export], dict[str, Any]]]] = {
    "GPT2LMHeadModel": ("gpt2", _gpt2),
    "GPT2LMHeadCustomModel": ("gpt2", _santacoder),
    "GPTNeoForCausalLM": ("gpt_neo", _gpt_neo),
    "GPTNeoXForCausalLM": ("gpt_neox", _gpt_neox),
    "GPTJForCausalLM": ("gptj", _gptj),
    "OPTForCausalLM": ("opt", _opt),
    "BloomForCausalLM": ("bloom", _bloom),
    "LlamaForCausalLM": ("llama", _llama),
    "MistralForCausalLM": ("mistral", _mistral),
    "MixtralForCausalLM": ("mixtral", _mixtral),
    "GemmaForCausalLM": ("gemma", _gemma),
    "Gemma2ForCausalLM": ("gemma2", _gemma2),
    "Gemma3ForCausalLM": ("gemma3_text", _gemma3),
    "Gemma3ForConditionalGeneration": ("gemma3", _gemma3_multimodal),
    "Qwen2ForCausalLM": ("qwen2", _qwen2),
    "Qwen3ForCausalLM": ("qwen3", _qwen3),
    "QWenLMHeadModel": ("qwen", _qwen),
    "PhiForCausalLM": ("phi", _phi),
    "Phi3ForCausalLM": ("phi3", _phi3),
    "OlmoForCausalLM": ("olmo", _olmo),
    "Olmo2ForCausalLM": ("olmo2", _olmo2),
    "Olmo3ForCausalLM": ("olmo3", _olmo3),
    "OlmoeForCausalLM": ("olmoe", _olmoe),
    "GptOssForCausalLM": ("gpt_oss", _gpt_oss),
    "ApertusForCausalLM": ("apertus", _apertus),
    "BertForMaskedLM": ("bert", _bert),
    "T5ForConditionalGeneration": ("t5", _t5),
}

# Written for every architecture, as the preset says (see to_hf_config).
_ALWAYS_EXPORTED = frozenset({"tie_word_embeddings", "quantization_method"})
# The architectures whose tie_word_embeddings TransformerLens reads (T5's is always true).
_READS_TIE = frozenset({"Olmo3ForCausalLM", "OlmoeForCausalLM", "T5ForConditionalGeneration"})

#: Hugging Face ``architectures`` names that :func:`to_hf_config` writes.
EXPORTABLE_ARCHITECTURES: tuple[str, ...] = tuple(sorted(_WRITERS))


# -- the entry point ----------------------------------------------------------------------


def _values(
    source: str | Mapping[str, Any] | HookedTransformerConfig,
) -> tuple[dict[str, Any], str | None]:
    """Every field's value (defaults and derived values filled in), and the preset's name."""
    name: str | None = None
    if isinstance(source, str):
        from .registry import default_registry

        registry = default_registry()
        name = registry.info(source).name
        given: Mapping[str, Any] = registry.resolve(name)
    elif isinstance(source, HookedTransformerConfig):
        given = source.to_dict()
    elif isinstance(source, Mapping):
        given = source
    else:
        raise HFExportError(
            "expected a preset name, a mapping of field values or a HookedTransformerConfig, "
            f"got {type(source).__name__}"
        )
    checked: dict[str, Any] = {}
    for key, value in given.items():
        if key not in FIELDS:
            raise PresetValidationError(
                f"unknown field{did_you_mean(str(key), FIELDS)}", preset=name, key=str(key)
            )
        if key == "device" or (value is None and FIELDS[key].nullable):
            checked[key] = value if value is None else str(value)
            continue
        try:
            checked[key] = check_field_value(key, value, allow_computed=True)
        except PresetError as exc:
            raise exc.with_context(preset=name) from None
    try:
        derived = check_and_derive(checked)
    except PresetError as exc:
        raise exc.with_context(preset=name) from None
    return {**defaults(), **checked, **derived}, name


def to_hf_config(
    preset: str | Mapping[str, Any] | HookedTransformerConfig,
    /,
    *,
    architecture: str | None = None,
) -> dict[str, Any]:
    """A Hugging Face ``config.json`` (as a dict) for a preset.

    ``preset`` is a preset name (or alias), a mapping of field values (such as
    :func:`resolve_preset`'s answer; missing fields take their defaults) or a
    :class:`HookedTransformerConfig`. The architecture is the preset's
    ``original_architecture`` unless ``architecture`` names another; it must
    be one of :data:`EXPORTABLE_ARCHITECTURES` (those :func:`from_hf_config`
    reads). The result holds ``architectures``, ``model_type``,
    ``_name_or_path`` (``tokenizer_name``, else ``model_name``) and the keys
    the transformers configuration class reads, with ``tie_word_embeddings``
    and ``initializer_range`` (when the preset sets it) as the preset says;
    ``json.dump`` writes it as is. :func:`from_hf_config` reads it back as the
    preset: every field that changes the model TransformerLens builds comes
    back with its value and type.

    >>> config = to_hf_config("pythia-70m")
    >>> config["model_type"], config["hidden_size"], config["rotary_pct"]
    ('gpt_neox', 512, 0.25)
    >>> to_hf_config({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16, "d_vocab": 100,
    ...               "act_fn": "relu", "gated_mlp": True}, architecture="OPTForCausalLM")
    Traceback (most recent call last):
    ...
    transformer_presets.hf_export.HFExportError: key 'gated_mlp': OPTForCausalLM cannot express this preset: gated_mlp = true: OPTForCausalLM's config has no such setting (it needs false)

    Raises :class:`HFExportError` (a :class:`PresetError`) naming the first
    field the architecture cannot express, and :class:`PresetError` for an
    unknown preset or an invalid value.
    """
    values, name = _values(preset)
    arch = architecture if architecture is not None else values["original_architecture"]
    if arch not in _WRITERS:
        given = "architecture" if architecture is not None else "original_architecture"
        raise HFExportError(
            f"cannot export {arch!r}: to_hf_config writes "
            f"{', '.join(EXPORTABLE_ARCHITECTURES)}{did_you_mean(str(arch), _WRITERS)}",
            preset=name,
            key=given,
        )
    if not 1 <= values["n_layers"] <= _MAX_LAYERS:
        # Checked first: the writers and checks lay out one entry per layer.
        raise HFExportError(
            f"{arch} cannot express this preset: n_layers = {values['n_layers']}: a "
            f"config.json is read back with 1 to {_MAX_LAYERS} layers",
            preset=name,
            key="n_layers",
        )
    model_type, writer = _WRITERS[arch]
    export = _Export(values, arch)
    body = writer(export)
    if values["tie_word_embeddings"] and arch not in _READS_TIE:
        export.problem(
            "tie_word_embeddings",
            f"TransformerLens reads no tie_word_embeddings from {arch}'s config "
            "(its unembedding is always a separate matrix)",
        )
    for field in FIELDS:
        if field in export.handled or field in NOT_EXPORTED or field in _ALWAYS_EXPORTED:
            continue
        if _relevant(field, values) and not _neutral(field, values):
            export.problem(
                field,
                f"{arch}'s config has no such setting (it needs {_neutral_text(field)})",
            )
    _refuse(export, name)

    config: dict[str, Any] = {
        "architectures": [arch],
        "model_type": model_type,
        "_name_or_path": values["tokenizer_name"] or values["model_name"],
    }
    config.update(body)
    # TransformerLens always keeps a separate unembedding (and ties only T5's):
    # tie_word_embeddings says what the preset says, not the checkpoint's default.
    config["tie_word_embeddings"] = values["tie_word_embeddings"]
    if "text_config" in config:
        config["text_config"]["tie_word_embeddings"] = values["tie_word_embeddings"]
    initializer = _initializer_range(values, arch)
    if initializer is not None:
        target = config.get("text_config", config)
        target["init_std" if arch == "OPTForCausalLM" else "initializer_range"] = initializer
    if values["quantization_method"] is not None:
        # Only the method is known; the rest of the checkpoint's quantization settings are not.
        config["quantization_config"] = {"quant_method": values["quantization_method"]}
    _check_read_back(config, export, name)
    return config


def _refuse(export: _Export, name: str | None) -> None:
    """Raise the first problem found, naming the other fields at fault too."""
    if not export.problems:
        return
    (field, reason), *others = export.problems
    rest = sorted({f for f, _ in others} - {field})
    also = f" (also: {', '.join(rest)})" if rest else ""
    raise HFExportError(
        f"{export.arch} cannot express this preset: {field} = {_show(export.v[field])}: "
        f"{reason}{also}",
        preset=name,
        key=field,
    )


def _check_read_back(config: dict[str, Any], export: _Export, name: str | None) -> None:
    """Refuse a config that from_hf_config would read as another preset.

    The writers check every field they know to be fixed or unread, with a reason; this
    catches what they cannot know, such as TransformerLens's rules keyed on the model's
    name (the context caps of Llama 3.1 to 3.3 and Code Llama, TinyStories' 512 tokens,
    no quantization read for a Llama or Gemma name). Fields the architecture does not
    use, and those that only say how TransformerLens runs a model, are not compared.
    """
    v, arch = export.v, export.arch
    read_as = f"TransformerLens reads {arch}'s config for {config['_name_or_path']!r} back"
    try:
        imported = from_hf_config(json.loads(json.dumps(config)))
        back = {**defaults(), **imported, **check_and_derive(imported)}
    except PresetError as exc:
        # The import names its own key ('n_layer'); the error names the preset's field.
        field = _field_behind(config, str(exc.key or ""), export)
        show = f"{field} = {_show(v[field])}: " if field else ""
        raise HFExportError(
            f"{arch} cannot express this preset: {show}its config does not read back ({exc})",
            preset=name,
            key=field,
        ) from None
    kinds = _layer_kinds(back)
    if "attn_types" not in export.ignored and _layer_kinds(v) != kinds:
        # use_local_attn and attn_types together say which layers are local.
        field = "attn_types" if v["use_local_attn"] else "use_local_attn"
        local = kinds.count("local")
        export.problem(field, f"{read_as} with other local layers ({local} of {len(kinds)})")
    for field in FIELDS:
        if field in NOT_EXPORTED or field in export.ignored or not _relevant(field, v):
            continue
        if field in ("use_local_attn", "attn_types"):
            continue
        ours, theirs = _meant(field, v), _meant(field, back)
        if not _same_typed(ours, theirs):
            export.problem(field, f"{read_as} as {field} = {_show(back[field])}")
    _refuse(export, name)


def _config_value(config: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted key of a config (``text_config.vocab_size``), or None."""
    value: Any = config
    for part in path.split("[")[0].split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _field_behind(config: Mapping[str, Any], path: str, export: _Export) -> str | None:
    """The preset field that the config key ``path`` is written from, if one is.

    Found by writing the config again with each numeric field changed in turn: the
    field whose change changes the value at ``path``, preferring one written there as it
    is (a change to n_layers can change what a per-layer key says). Only an error's
    message needs it.
    """
    if path in FIELDS:  # the import's own checks on what it built name the field
        return path
    written = _config_value(config, path)
    if not path or written is None:
        return None
    _, writer = _WRITERS[export.arch]
    moved = []
    for field in FIELDS:
        value = export.v[field]
        if field in NOT_EXPORTED or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        other = value + 1 if isinstance(value, int) else value / 2
        try:
            body = writer(_Export({**export.v, field: other}, export.arch))
        except (PresetError, ValueError, TypeError, KeyError, IndexError):
            continue
        if _config_value(body, path) != written:
            moved.append(field)
    direct = [f for f in moved if _same_typed(export.v[f], written)]
    found = direct or moved
    return found[0] if found else None


# Fields whose unset value means another field's value.
_UNSET_MEANS = {
    "n_key_value_heads": "n_heads",
    "train_seq_length": "n_ctx",
    "rotary_base_local": "rotary_base",
}


def _meant(field: str, v: Mapping[str, Any]) -> Any:
    """What ``field`` means in the model: one K/V head per head when unset, and so on."""
    value = v[field]
    if value is None and field in _UNSET_MEANS:
        return v[_UNSET_MEANS[field]]
    return value


def _neutral_text(field: str) -> str:
    if field == "d_vocab_out":
        return "d_vocab_out = d_vocab"
    if field == "attn_scale":
        return "attn_scale = sqrt(d_head)"
    if field == "rotary_dim":
        return "rotary_dim = d_head"
    if field == "n_key_value_heads":
        return "one key/value head per query head"
    return _show(FIELD_DEFAULTS[field])


def _initializer_range(v: Mapping[str, Any], arch: str) -> float | None:
    """The preset's initializer_range, unless it is TransformerLens's own derived value.

    T5 has no such setting (its initializer_factor scales differently), and a
    range under another init mode is a gain, not a standard deviation.
    """
    if arch == "T5ForConditionalGeneration" or v["init_mode"] != "gpt2":
        return None
    value: float = v["initializer_range"]
    if math.isclose(value, 0.8 / math.sqrt(v["d_model"]), rel_tol=1e-12):
        return None
    return value
