"""A ``HookedTransformer``'s structure, read once from its config, and what it holds and
computes besides its cache of activations.

:class:`_Structure` is what every part of :class:`~._model.ModelPlan` reads: the sizes,
the kinds of norm, attention and MLP, and the refusals of configurations the planner
does not cover or TransformerLens cannot run. :class:`_Resources` works out from it
alone the weights, buffers, the KV cache, FLOPs and the training state. Pure Python, no
torch.
"""

from __future__ import annotations

from ..errors import PresetValidationError
from ..fields.params import (
    _GPT_OSS_ARCHITECTURE,
    _OLMO_QK_NORM_ARCHITECTURES,
    _attention,
    _Config,
    _embed,
    _mlp,
    _norm,
    _require_vocab,
    _unembed,
    model_class,
)
from ._values import (
    _ITEMSIZE,
    MAX_EXPERTS_IN_ALL,
    TrainingState,
    _check_layers,
    _size_arg,
    dtype_key,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
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


# -- weights, buffers, the KV cache, FLOPs and training -----------------------------------

# AbstractAttention.ROTARY_INITIAL_CACHE_SIZE: rows of the rotary tables at build time.
_ROTARY_ROWS = 2048


class _Resources(_Structure):
    """What a ``HookedTransformer`` holds and computes besides its cache of activations."""

    # -- compute and caches ---------------------------------------------------------

    def _flops(self, batch: int, seq: int) -> int:
        B, S = self._sizes(batch, seq)
        T, d, H, dh, m = B * S, self.d, self.H, self.dh, self.m
        projections = 2 * T * d * dh * (H + 2 * self.Hk)
        scores_and_mix = 2 * (2 * B * H * S * S * dh)  # q @ k and pattern @ v
        # With use_attn_result, W_O is applied as an elementwise product and a sum.
        output = 0 if self.c.flag("use_attn_result") else 2 * T * H * dh * d
        layer = projections + scores_and_mix + output
        if not self.attn_only:
            if self.experts:
                router = 2 * T * d * self.experts
                layer += router + 3 * 2 * T * self.per_token * d * m
            elif self.gated:
                # solu_ln's gated MLP never multiplies by W_in.
                layer += (2 if self.solu_ln else 3) * 2 * T * d * m
            else:
                layer += 2 * 2 * T * d * m
        return self.L * layer + 2 * T * d * self.V_out

    def _kv_cache(self, batch: int, seq: int, dtype: str, include_mask: bool) -> int:
        B, S = self._sizes(batch, seq)
        if self.L == 0:  # it reads the first layer's entry for the position offset
            raise PresetValidationError(
                "TransformerLens's key-value cache needs at least one layer", key="n_layers"
            )
        # The cache is made for n_key_value_heads heads whatever the attention computes.
        heads = self.H if self.kv_heads is None else self.kv_heads
        if heads != self.Hk:
            raise PresetValidationError(
                "TransformerLens's key-value cache cannot hold the ungrouped keys and values "
                "of grouped-query attention",
                key="ungroup_grouped_query_attention",
            )
        keys_and_values = 2 * self.L * B * S * heads * self.dh * _ITEMSIZE[dtype]
        return keys_and_values + (B * S * _ITEMSIZE["int64"] if include_mask else 0)

    def _buffers(self, seq: int | None, dtype: str) -> int:
        S = None if seq is None else _size_arg(seq, "seq", self._n_ctx)
        size = _ITEMSIZE[dtype]
        # model.to(dtype) converts the float32 buffers too.
        f32 = size if self._converted(dtype) else 4
        layer = f32  # IGNORE, a scalar; the causal mask buffer is empty
        if self.pos == "rotary":
            rows = min(self._n_ctx, _ROTARY_ROWS)
            if S is not None and rows < S:
                rows = min(self._n_ctx, max(S, 2 * rows))  # apply_rotary's extension
            layer += 2 * rows * self.rotary_dim * size  # sin and cos
        if self.pos == "alibi" and S is not None:
            layer += self.H * S * S * 4  # float32, whatever the dtype
        if not self.attn_only and self.act_fn == "xielu" and not self.gpt_oss:
            layer += 2 * f32 * (self.experts or 1)  # beta and eps per xIELU module
        return self.L * layer

    # -- parameters -----------------------------------------------------------------

    def _parameters(self, dtype: str) -> list[tuple[int, int, int, bool]]:
        """(tensors, elements, bytes per element, gets a gradient) for every parameter."""
        c, d, L = self.c, self.d, self.L
        size = _ITEMSIZE[dtype]
        f32 = size if self._converted(dtype) else 4
        out: list[tuple[int, int, int, bool]] = []

        def add(tensors: int, numel: int, trained: bool = True, itemsize: int = size) -> None:
            out.append((tensors, numel, itemsize, trained))

        add(1 + 2 * c.flag("post_embedding_ln"), _embed(c))
        if self.pos != "rotary":
            # ALiBi models build W_pos but never read it.
            add(1, self._n_ctx * d, trained=self.pos != "alibi")
        tensors = {"LN": 2, "RMS": 1}
        norm = tensors.get(self.norm or "", 0)
        norms = (1 if self.attn_only else 2) * L
        add(norm * norms, _norm(c, self.norm) * norms)
        if self.after_kind is not None:
            add(norms, d * norms)
        attn = 8 + 2 * (self.qk_norm or self.olmo_norm) + self.sinks
        add(attn * L, _attention(c, self.kv_heads) * L)
        if not self.attn_only:
            self._mlp_parameters(add, f32)
        final = self._final_kind()
        add(tensors.get(final or "", 0), _norm(c, final))
        add(2, _unembed(c))
        return out

    def _mlp_parameters(self, add: Callable[..., None], f32: int) -> None:
        d, m, L, E = self.d, self.m, self.L, self.experts
        xielu = self.act_fn == "xielu"
        if E and self.gpt_oss:
            add(6 * E * L, E * (3 * d * m + 2 * m + d) * L)  # experts, each with biases
            add(2 * L, (d * E + E) * L)  # router
            return
        if E:
            add(3 * E * L, 3 * d * m * E * L)
            if xielu:
                add(2 * E * L, 2 * E * L, itemsize=f32)
            add(L, d * E * L)
            return
        if self.gated:
            add(3 * L, (2 * d * m + d) * L)  # W_gate, W_out, b_out
            # solu_ln's gated MLP never reads W_in and b_in: they get no gradient.
            add(2 * L, (d * m + m) * L, trained=not self.solu_ln)
        else:
            add(4 * L, (2 * d * m + m + d) * L)
        if self.solu_ln and self.norm == "LN":
            add(2 * L, 2 * m * L)
        if xielu:
            add(2 * L, 2 * L, itemsize=f32)  # alpha_p and alpha_n, float32 scalars

    def _training_state(self, optimizer: str, dtype: str) -> TrainingState:
        weights = gradients = state = 0
        for tensors, numel, itemsize, trained in self._parameters(dtype):
            weights += numel * itemsize
            if not trained:
                continue  # no gradient, so the optimizer keeps no state for it
            gradients += numel * itemsize
            if optimizer == "adamw":
                # exp_avg and exp_avg_sq like the parameter, and step: a float32 scalar.
                state += 2 * numel * itemsize + 4 * tensors
            elif optimizer == "sgd":
                state += numel * itemsize  # momentum_buffer
        return TrainingState(weights=weights, gradients=gradients, optimizer=state)
