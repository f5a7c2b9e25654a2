"""The weights, buffers, key-value cache, FLOPs and training state of TransformerLens 4.3's
``TransformerBridge``, as :func:`~transformer_presets.tl4.boot.boot_bridge` builds it,
worked out without building it.

``boot_bridge`` builds the ``transformers`` model of the preset's exported ``config.json``
(eager attention, in the requested dtype) and wraps it. That model holds another set of
tensors than TransformerLens 3's ``HookedTransformer``, and the wrapping adds some:

- **parameters**: the model's own, each once (tied matrices are one tensor: T5's
  embedding and unembedding), without the zero biases ``HookedTransformer`` makes (no
  ``b_U``, no MLP or attention biases where the architecture has none), with what it
  lacks (GPT-J's and Phi's ``lm_head`` bias, OPT's two extra position rows, Gemma 3's
  SigLIP image tower and projector, BERT's unused ``cls.predictions.bias``). Where the
  model fuses Q/K/V (GPT-2, GPT-NeoX, BLOOM, Phi-3) or gate/up (Phi-3), TransformerLens
  adds separate Q/K/V (gate/up) parameters and runs those: views of the fused matrix for
  GPT-2 and Phi-3 (no memory of their own), copies for GPT-NeoX and BLOOM (they
  de-interleave the heads), and the fused matrix then gets no gradient;
- **buffers**: transformers' rotary frequencies (``inv_freq`` and ``original_inv_freq``,
  one pair per attention type for Gemma 3 and OLMo 3, float32 in any dtype), GPT-J's
  position table (float32), GPT-Neo's ``[1, 1, n_ctx, n_ctx]`` bool causal mask in every
  layer, BERT's ``position_ids`` and ``token_type_ids`` and SigLIP's ``position_ids``
  (int64), Gemma's ``embed_scale`` and xIELU's ``beta`` and ``eps`` (in the model's
  dtype); and the zero ``lm_head.bias`` TransformerLens registers wherever the
  unembedding has no bias (``[d_vocab]`` in the model's dtype, persistent: it is in the
  ``state_dict``).

Every parameter, and every floating-point buffer but the float32 rotary tables, is in the
dtype the bridge is booted in. The tables per architecture are :mod:`._bridge_tables`.

The functions take a config or a preset's values (a mapping of its fields; derived fields
left out are derived) and a dtype (a name or a ``torch.dtype``; default: the preset's), and
answer for the model ``boot_bridge`` builds from them, so the values must be ones its
export (:func:`~transformer_presets.hf.exporting.to_hf_config`) accepts: an architecture it
does not build, or values that change what the tables assume (another normalization, no
experts for a mixture of experts, ...), are a :class:`PresetValidationError` naming the key.
:class:`BridgeParams` answers many questions of one preset; ``model="bridge"`` in
:mod:`.hooked` (its :class:`~.hooked.BridgePlan`) answers from it. Pure Python: no torch,
transformers or TransformerLens.

- :func:`bridge_parameters` and :func:`bridge_buffers`: every tensor, as
  :class:`BridgeTensor` records (name, shape, dtype, and whether it is a view, is
  trained, persists, or was added by TransformerLens);
- :func:`bridge_total_params`: ``sum(p.numel() for p in bridge.parameters())`` (distinct
  parameters: tied ones once; the Q/K/V views of a fused matrix counted beside it);
- :func:`bridge_weight_bytes` and :func:`bridge_buffer_bytes`: the memory they hold
  (a view once, in its matrix);
- :func:`bridge_kv_cache_bytes` and :func:`transformers_kv_cache_bytes`: the keys and
  values kept while generating;
- :func:`bridge_forward_flops`: one forward pass;
- :func:`bridge_training_state`: weights, gradients and optimizer state after a step.

``tests/test_bridge_params_tl4.py`` checks every number against TransformerLens 4.3.
"""

from __future__ import annotations

from ..errors import PresetValidationError
from ._bridge_tensors import BRIDGE_ARCHITECTURES, BridgeModel, BridgeTensor
from ._values import _ITEMSIZE, MAX_SIZE, TrainingState, _optimizer, _size_arg, dtype_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .bridge import BridgeLayout

__all__ = [
    "BRIDGE_ARCHITECTURES",
    "BridgeParams",
    "BridgeTensor",
    "bridge_buffer_bytes",
    "bridge_buffers",
    "bridge_forward_flops",
    "bridge_kv_cache_bytes",
    "bridge_parameters",
    "bridge_total_params",
    "bridge_training_state",
    "bridge_weight_bytes",
    "transformers_kv_cache_bytes",
]


class BridgeParams:
    """One preset's bridge, read once: the functions of this module as methods.

    >>> p = BridgeParams({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"})
    >>> p.total_params(), p.weight_bytes("bfloat16")
    (184298496, 326074368)
    """

    def __init__(self, cfg: Any) -> None:
        self._m = BridgeModel(cfg)

    @classmethod
    def from_layout(cls, layout: BridgeLayout) -> BridgeParams:
        """The bridge of a preset whose hook layout is read already (its checks passed)."""
        params = cls.__new__(cls)
        params._m = BridgeModel(None, layout)
        return params

    @property
    def architecture(self) -> str:
        """The ``transformers`` architecture."""
        return self._m.arch.name

    def dtype(self, value: Any = None) -> str:
        """The canonical name of ``value`` (a name or a ``torch.dtype``; None: the preset's)."""
        return dtype_key(self._m.layout.c.get("dtype") if value is None else value)

    def _runs(self, dtype: str) -> str:
        # A question that needs a forward pass in a dtype TransformerLens 4.3 fails in.
        self._m.layout.check_dtype(dtype)
        return dtype

    def parameters(self, dtype: Any = None) -> list[BridgeTensor]:
        """See :func:`bridge_parameters`."""
        return self._m.tensors(self.dtype(dtype))[0]

    def buffers(self, dtype: Any = None) -> list[BridgeTensor]:
        """See :func:`bridge_buffers`."""
        return self._m.tensors(self.dtype(dtype))[1]

    def total_params(self) -> int:
        """See :func:`bridge_total_params`."""
        return self._m.totals("float32")["numel"]

    def stored_params(self) -> int:
        """The elements the parameters' storage holds: :meth:`total_params` but for the
        views of fused matrices (GPT-2's and Phi-3's split Q/K/V, Phi-3's gate/up), which
        ``parameters()`` counts beside the matrix.

        >>> p = BridgeParams({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
        ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"})
        >>> p.total_params() - p.stored_params() == 12 * 3 * (768 * 768 + 768)
        True
        """
        return self._m.totals("float32")["stored_numel"]

    def weight_bytes(self, dtype: Any = None) -> int:
        """See :func:`bridge_weight_bytes`."""
        return self._m.totals(self.dtype(dtype))["stored"]

    def buffer_bytes(self, dtype: Any = None) -> int:
        """See :func:`bridge_buffer_bytes`."""
        return self._m.totals(self.dtype(dtype))["buffers"]

    def transformers_kv_cache_bytes(
        self, batch: int, seq: int, dtype: Any = None, *, encoder_seq: int | None = None
    ) -> int:
        """See :func:`transformers_kv_cache_bytes`."""
        m = self._m
        dt = self.dtype(dtype)
        if m.arch.flops == "bert":
            raise PresetValidationError(m.arch.cache, key="model")
        B = _size_arg(batch, "batch", MAX_SIZE)
        S = _size_arg(seq, "seq", m.n_ctx)
        per_token = 2 * B * m.dims["K"] * m.dims["h"] * _ITEMSIZE[dt]
        if m.arch.flops == "t5":
            E = S if encoder_seq is None else _size_arg(encoder_seq, "encoder_seq", m.n_ctx)
            return m.L * per_token * (S + E)
        if encoder_seq is not None:
            raise PresetValidationError(
                f"only an encoder-decoder model takes encoder_seq, not {m.arch.name}",
                key="encoder_seq",
            )
        tokens = 0
        for kind in m.layer_types:
            local = m.arch.sliding and kind == "sliding_attention"
            tokens += min(S, m.window - 1) if local else S
        return per_token * tokens

    def kv_cache_bytes(self, batch: int, seq: int, dtype: Any = None) -> int:
        """See :func:`bridge_kv_cache_bytes`."""
        if self._m.arch.cache:
            raise PresetValidationError(self._m.arch.cache, key="model")
        dt = self._runs(self.dtype(dtype))
        return self.transformers_kv_cache_bytes(batch, seq, dt)

    def forward_flops(self, batch: int, seq: int, dtype: Any = None) -> int:
        """See :func:`bridge_forward_flops`."""
        m = self._m
        self._runs(self.dtype(dtype))
        B = _size_arg(batch, "batch", MAX_SIZE)
        S = _size_arg(seq, "seq", m.n_ctx)
        d = m.dims
        T, D, H, h, Q, Y, M, V = B * S, d["D"], d["H"], d["h"], d["Q"], d["Y"], d["M"], d["V"]

        def attention(queries: int, keys: int) -> int:
            # Q and output projections of the queries, K and V of the keys, q @ k and
            # pattern @ v.
            return (
                2 * B * queries * D * Q * 2
                + 2 * B * keys * D * Y * 2
                + 2 * 2 * B * H * queries * keys * h
            )

        if "E" in d:
            mlp = 2 * T * D * d["E"] + 3 * 2 * T * d["k"] * D * M  # router, then k experts
        elif m.gated:
            mlp = 3 * 2 * T * D * M
        else:
            mlp = 2 * 2 * T * D * M
        unembed = 2 * T * D * V
        if m.arch.flops == "bert":
            return m.L * (attention(S, S) + mlp) + 2 * T * D * D + unembed
        if m.arch.flops == "t5":
            recomputed = 2 * B * H * S * S * h  # the bridge's q @ k for hook_attn_scores
            encoder = attention(S, S) + recomputed + mlp
            decoder = 2 * (attention(S, S) + recomputed) + mlp
            return m.L * (encoder + decoder) + unembed
        return m.L * (attention(S, S) + mlp) + unembed

    def training_state(self, optimizer: str = "adamw", dtype: Any = None) -> TrainingState:
        """See :func:`bridge_training_state`."""
        optimizer = _optimizer(optimizer)
        totals = self._m.totals(self._runs(self.dtype(dtype)))
        gradients = totals["trained"]
        state = 0
        if optimizer == "adamw":
            state = 2 * gradients + 4 * totals["trained_tensors"]
        elif optimizer == "sgd":
            state = gradients
        return TrainingState(weights=totals["stored"], gradients=gradients, optimizer=state)


# -- the questions --------------------------------------------------------------------------


def bridge_parameters(values: Any, dtype: Any = None) -> list[BridgeTensor]:
    """Every parameter of the bridge (``bridge.parameters()``), as :class:`BridgeTensor`.

    ``dtype`` (a name such as ``"bfloat16"`` or a ``torch.dtype``) is the one the bridge
    is booted in; by default the preset's.

    >>> gpt2 = {"n_layers": 1, "d_model": 8, "n_ctx": 4, "d_head": 4, "d_vocab": 10,
    ...         "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"}
    >>> [(t.name, t.shape) for t in bridge_parameters(gpt2)][2:5]
    [('transformer.h.0.ln_1.weight', (8,)), ('transformer.h.0.ln_1.bias', (8,)), ('transformer.h.0.attn.c_attn.weight', (8, 24))]
    """
    return BridgeParams(values).parameters(dtype)


def bridge_buffers(values: Any, dtype: Any = None) -> list[BridgeTensor]:
    """Every buffer of the bridge (``bridge.buffers()``), as :class:`BridgeTensor`.

    >>> neo = {"n_layers": 2, "d_model": 8, "n_ctx": 2048, "d_head": 4, "d_vocab": 10,
    ...        "act_fn": "gelu_new", "original_architecture": "GPTNeoForCausalLM"}
    >>> [(t.name, t.dtype, t.nbytes) for t in bridge_buffers(neo)][:2]
    [('transformer.h.0.attn.attention.bias', 'bool', 4194304), ('transformer.h.1.attn.attention.bias', 'bool', 4194304)]
    """
    return BridgeParams(values).buffers(dtype)


def bridge_total_params(values: Any) -> int:
    """``sum(p.numel() for p in bridge.parameters())``: each distinct parameter once.

    Tied matrices are one parameter (T5's embedding and unembedding). The Q/K/V (and
    gate/up) parameters TransformerLens splits off a fused matrix are parameters of their
    own, counted beside the matrix: views of it for GPT-2 and Phi-3 (their memory is the
    matrix's: see :func:`bridge_weight_bytes`), copies for GPT-NeoX and BLOOM.

    >>> bridge_total_params({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"})
    184298496
    """
    return BridgeParams(values).total_params()


def bridge_weight_bytes(values: Any, dtype: Any = None) -> int:
    """The bytes the bridge's parameters hold in ``dtype`` (a view counted in its matrix).

    >>> bridge_weight_bytes({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"},
    ...     "bfloat16")
    326074368
    """
    return BridgeParams(values).weight_bytes(dtype)


def bridge_buffer_bytes(values: Any, dtype: Any = None) -> int:
    """The bytes of the bridge's buffers, persistent or not, as built (no forward pass
    adds any: transformers computes ALiBi biases, masks and rotary tables on the fly).

    >>> bridge_buffer_bytes({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"})
    201028
    """
    return BridgeParams(values).buffer_bytes(dtype)


def transformers_kv_cache_bytes(
    values: Any, batch: int, seq: int, dtype: Any = None, *, encoder_seq: int | None = None
) -> int:
    """The bytes of the keys and values transformers' own cache holds once ``seq`` tokens
    have gone through the model (a prompt and the tokens generated after it but the last).

    That is what ``model.generate`` keeps for the transformers model that ``boot_bridge``
    wraps (the cache its forward pass makes when none is given:
    ``DynamicCache(config=model.config)``), and what the bridge keeps where it writes to it
    (:func:`bridge_kv_cache_bytes`). Each layer keeps keys and values of shape ``[batch,
    key/value heads, tokens, d_head]`` in the model's dtype; ``tokens`` is ``seq``, except
    on the local layers of the architectures whose configuration gives transformers a
    sliding window (Mistral, Mixtral, Phi-3, Qwen 2 and 3, Gemma 2 and 3, OLMo 3,
    GPT-OSS): they keep the last ``window_size - 1`` tokens at most
    (``DynamicSlidingWindowLayer``), but hold all of a longer prompt while it runs. GPT-Neo's
    local layers keep every token (its configuration has no sliding window). T5 keeps an
    ``EncoderDecoderCache``: each decoder layer's self-attention keys and values of ``seq``
    decoder tokens, and its cross-attention keys and values of the ``encoder_seq`` (default
    ``seq``) input tokens. BERT does not generate: a :class:`PresetValidationError`.

    >>> gemma2 = {"n_layers": 2, "d_model": 32, "n_ctx": 8192, "d_head": 8, "d_vocab": 100,
    ...     "act_fn": "gelu_pytorch_tanh", "original_architecture": "Gemma2ForCausalLM",
    ...     "normalization_type": "RMS", "positional_embedding_type": "rotary",
    ...     "gated_mlp": True, "use_local_attn": True, "attn_types": ["local", "global"],
    ...     "window_size": 4096, "use_normalization_before_and_after": True}
    >>> transformers_kv_cache_bytes(gemma2, 1, 8192)  # (4095 + 8192 tokens) x K, V x 4 x 8 x 4 bytes
    3145472
    """
    return BridgeParams(values).transformers_kv_cache_bytes(
        batch, seq, dtype, encoder_seq=encoder_seq
    )


def bridge_kv_cache_bytes(values: Any, batch: int, seq: int, dtype: Any = None) -> int:
    """The bytes of the keys and values the bridge keeps while generating, after ``seq``
    tokens (``bridge.generate(..., use_past_kv_cache=True)``, the default).

    Where TransformerLens 4.3 writes to transformers' cache (GPT-Neo, GPT-NeoX, GPT-J,
    BLOOM, OPT), that is :func:`transformers_kv_cache_bytes`. For the other architectures
    the question has no answer worth giving and is a :class:`PresetValidationError` (key
    ``model``) saying why: with transformers 5 their bridged attention never stores its
    keys and values (the cache stays empty and cached generation ignores the prompt), T5's
    generate keeps no cache, and BERT does not generate.

    >>> bridge_kv_cache_bytes({"n_layers": 6, "d_model": 512, "n_ctx": 2048, "d_head": 64,
    ...     "d_vocab": 50304, "act_fn": "gelu", "original_architecture": "GPTNeoXForCausalLM",
    ...     "positional_embedding_type": "rotary", "rotary_dim": 16}, 1, 2048, "bfloat16")
    25165824
    """
    return BridgeParams(values).kv_cache_bytes(batch, seq, dtype)


def bridge_forward_flops(values: Any, batch: int, seq: int, dtype: Any = None) -> int:
    """The FLOPs of one forward pass of the bridge on a ``[batch, seq]`` tensor of token ids.

    Counted as the planner counts ``HookedTransformer``'s (2 per multiply-add of every
    matrix product, nothing for elementwise work), and for every decoder the same number:
    transformers' model computes the same products (eager attention computes every score,
    also on sliding-window layers, and the mask hides the rest). BERT adds its prediction
    head's dense layer; T5 runs ``seq`` tokens through the encoder and ``seq`` (the input
    shifted right, as the bridge makes them) through the decoder with cross-attention, and
    TransformerLens computes each T5 attention's ``q @ k`` once more for ``hook_attn_scores``.
    The same in every dtype; ``dtype`` is checked (a dtype TransformerLens 4.3 cannot run
    the model in is refused).

    ``torch.utils.flop_counter.FlopCounterMode`` shows a mixture of experts' bridge with
    fewer: transformers runs the experts with a grouped matrix product, for which torch has
    no FLOP formula, so the experts' ``3 * 2 * batch * seq * experts_per_token * d_model *
    d_mlp`` per layer are missing from its count.

    >>> bridge_forward_flops({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"},
    ...     1, 1024)
    291648307200
    """
    return BridgeParams(values).forward_flops(batch, seq, dtype)


def bridge_training_state(
    values: Any, optimizer: str = "adamw", dtype: Any = None
) -> TrainingState:
    """Weights, gradients and optimizer state after one training step of the bridge, in bytes.

    The step: a forward pass on token ids, ``loss.backward()``, and
    ``torch.optim.AdamW(bridge.parameters()).step()`` (``"adamw"``: ``exp_avg`` and
    ``exp_avg_sq`` like each parameter with a gradient, and a float32 ``step``), SGD with
    momentum (``"sgd"``: one ``momentum_buffer``) or no optimizer (``"none"``). Weights are
    :func:`bridge_weight_bytes`. A parameter the forward pass does not reach gets no
    gradient, and so no optimizer state: the fused Q/K/V (gate/up) matrices the bridge
    runs split (while each split part, view or copy, gets a gradient and state of its
    own), Gemma 3's image tower and projector (text only), BERT's
    ``cls.predictions.bias``.

    >>> bridge_training_state({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"})
    TrainingState(weights=652148736, gradients=652148736, optimizer=1304298260, total=2608595732)
    """
    return BridgeParams(values).training_state(optimizer, dtype)
