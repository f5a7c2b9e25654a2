"""A ``HookedTransformer``'s structure, read once from its config and checked.

:class:`_Structure` is what every part of :class:`~._model.ModelPlan` reads: the sizes,
the kinds of norm, attention and MLP, and the refusals of configurations the planner
does not cover or TransformerLens cannot run. Pure Python, no torch.
"""

from __future__ import annotations

from ..errors import PresetValidationError
from ..fields.params import (
    _GPT_OSS_ARCHITECTURE,
    _OLMO_QK_NORM_ARCHITECTURES,
    _Config,
    _mlp,
    _norm,
    _require_vocab,
    model_class,
)
from ._args import MAX_EXPERTS_IN_ALL, _check_layers, _size_arg, dtype_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Olmo 2 and 3 normalize each sublayer's output instead of its input.
_POST_NORM_ARCHITECTURES = frozenset({"Olmo2ForCausalLM", "Olmo3ForCausalLM"})
_POSITIONAL_TYPES = ("standard", "shortformer", "rotary", "alibi")


class _Structure:
    """The structure of a ``HookedTransformer``: what its config says, read once."""

    # -- reading the config ---------------------------------------------------------

    def _read(self, cfg: Any) -> None:
        kind = model_class(cfg)
        if kind != "HookedTransformer":
            raise PresetValidationError(
                f"TransformerLens builds this model with {kind}, which the planner does not "
                "cover (it covers HookedTransformer decoders only)",
                key="original_architecture",
            )
        c = self.c = _Config(cfg)
        if c.flag("load_in_4bit"):
            raise PresetValidationError(
                "the planner covers unquantised models only", key="load_in_4bit"
            )
        _require_vocab(c)
        self.L, self.d, self.H, self.dh = c.n_layers, c.d_model, c.n_heads, c.d_head
        _check_layers(self.L)
        self._n_ctx, self.m, self.V_out = c.n_ctx, c.d_mlp, c.d_vocab_out
        self.pos = str(c.get("positional_embedding_type"))
        if self.pos not in _POSITIONAL_TYPES:
            raise PresetValidationError(
                f"HookedTransformer supports {', '.join(map(repr, _POSITIONAL_TYPES))}, "
                f"not {self.pos!r}",
                key="positional_embedding_type",
            )
        self.norm = c.norm
        _norm(c, self.norm)  # rejects an unknown normalization_type
        self.arch = c.arch
        self.attn_only = c.flag("attn_only")
        self.parallel = c.flag("parallel_attn_mlp")
        if self.attn_only and self.parallel:
            raise PresetValidationError(
                "TransformerLens runs no parallel MLP in an attention-only model",
                key="parallel_attn_mlp",
            )
        self.post_norm = self.arch in _POST_NORM_ARCHITECTURES
        self.before_after = c.flag("use_normalization_before_and_after")
        # The norm after a sublayer: an RMSNorm for RMS types, none without norms.
        self.after_kind: str | None = None
        if self.before_after and self.norm is not None:
            if not self.norm.startswith("RMS"):
                raise PresetValidationError(
                    f"TransformerLens supports it only with RMS normalization, not {self.norm!r}",
                    key="use_normalization_before_and_after",
                )
            self.after_kind = "RMS"
        kv = c.get("n_key_value_heads")
        self.kv_heads = None if kv is None else c.integer("n_key_value_heads")
        self.ungroup = c.flag("ungroup_grouped_query_attention")
        # Heads of the keys and values the attention computes.
        self.Hk = self.H if self.kv_heads is None or self.ungroup else self.kv_heads
        self.split = c.flag("use_split_qkv_input")
        self.attn_in = c.flag("use_attn_in")
        if self.attn_in and not self.split and self.Hk != self.H:
            raise PresetValidationError(
                "TransformerLens cannot run grouped-query attention with use_attn_in "
                "unless use_split_qkv_input or ungroup_grouped_query_attention is set",
                key="use_attn_in",
            )
        self.qk_norm = c.flag("use_qk_norm")
        self.olmo_norm = self.arch in _OLMO_QK_NORM_ARCHITECTURES
        if self.olmo_norm:
            self._check_olmo_norms(kv)
        self.sinks = c.flag("use_attention_sinks")
        self.rotary_dim = 0
        if self.pos == "rotary":
            self.rotary_dim = c.integer("rotary_dim")
        self.gated = c.flag("gated_mlp")
        # Attention-only models have no activation (and may leave act_fn unset).
        self.act_fn = "" if self.attn_only else str(c.get("act_fn"))
        self.solu_ln = self.act_fn.endswith("_ln")
        self.experts = 0
        self.per_token = 0
        self.gpt_oss = self.arch == _GPT_OSS_ARCHITECTURE
        if not self.attn_only:
            _mlp(c)  # the MLP's own checks: d_mlp, experts_per_token
            if c.get("num_experts"):
                self.experts = c.integer("num_experts")
                self.per_token = c.integer("experts_per_token")
                if not 1 <= self.per_token <= self.experts:
                    raise PresetValidationError(
                        f"must be between 1 and num_experts ({self.experts}), got {self.per_token}",
                        key="experts_per_token",
                    )
                if self.L * self.experts > MAX_EXPERTS_IN_ALL:
                    raise PresetValidationError(
                        f"the planner lays out at most {MAX_EXPERTS_IN_ALL} experts in all "
                        f"(n_layers x num_experts), got {self.L} x {self.experts}",
                        key="num_experts",
                    )
        self.config_dtype = dtype_key(c.get("dtype"))

    def _check_olmo_norms(self, kv: Any) -> None:
        # OLMo's Q/K norms run over whole projections: their widths must match.
        c = self.c
        q_len = self.dh if self.qk_norm else self.d
        k_len = self.dh if self.qk_norm else (self.d if kv is None else self.dh * kv)
        if q_len != self.H * self.dh or k_len != self.Hk * self.dh:
            raise PresetValidationError(
                f"TransformerLens cannot run {c.arch}'s Q/K norms here: they span "
                f"{q_len} and {k_len} values, the projections {self.H * self.dh} and "
                f"{self.Hk * self.dh}",
                key="use_qk_norm" if self.qk_norm else "n_key_value_heads",
            )

    # -- arguments ------------------------------------------------------------------

    def _dtype(self, value: Any) -> str:
        return self.config_dtype if value is None else dtype_key(value)

    def _converted(self, dtype: str) -> bool:
        """Whether the numbers are for ``model.to(dtype)`` (see :func:`~.hooked.training_state`)."""
        return self.experts > 0 and not self.gpt_oss and dtype != "float32"

    def _sizes(self, batch: int, seq: int) -> tuple[int, int]:
        return _size_arg(batch, "batch"), _size_arg(seq, "seq", self._n_ctx)

    def _final_kind(self) -> str | None:
        if self.c.flag("final_rms") and self.norm in ("LN", "LNPre"):
            return "RMS" if self.norm == "LN" else "RMSPre"
        return self.norm
