"""Weights, buffers, the KV cache, FLOPs and the training state of a ``HookedTransformer``.

:class:`_Resources` works each of them out from the structure alone, the same at any
selection of hooks. Pure Python, no torch.
"""

from __future__ import annotations

from ..errors import PresetValidationError
from ..fields.params import _attention, _embed, _norm, _unembed
from ._args import _ITEMSIZE, _size_arg
from ._results import TrainingState
from ._structure import _Structure

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

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
