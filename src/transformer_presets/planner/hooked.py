"""The memory and compute of a preset's TransformerLens model, worked out without building it.

For the ``HookedTransformer`` that TransformerLens 3.9 builds from a config, and a
``[batch, seq]`` tensor of token ids:

- :func:`hook_specs` and :func:`hook_shapes`: every activation ``run_with_cache`` stores,
  in the order its cache holds them, with its shape and dtype;
- :func:`activation_cache_bytes`: the memory those activations hold, for all hooks or
  those matching globs (as a ``names_filter`` would select them);
- :func:`kv_cache_bytes`: the keys and values a ``TransformerLensKeyValueCache`` holds
  after a forward pass over ``seq`` tokens;
- :func:`forward_flops`: the FLOPs of one forward pass as
  ``torch.utils.flop_counter.FlopCounterMode`` counts them;
- :func:`buffer_bytes`: the model's buffers (rotary tables, ...) and the ALiBi bias it
  keeps after a forward pass;
- :func:`training_state` and :func:`training_state_bytes`: weights, gradients and
  optimizer state after one step of ``torch.optim.AdamW`` (or SGD with momentum).

Each takes a ``HookedTransformerConfig`` (ours or TransformerLens's) or a mapping of its
fields; a mapping may leave fields out (they take the class defaults) and derived fields
are derived as the class does. ``tests/test_planner_tl.py`` checks every number against
the models TransformerLens builds, for every decoder preset of the zoo.

The model is the one ``HookedTransformer(cfg)`` builds, in training mode as it is left
(``run_with_cache`` never calls ``eval()``). One exception: TransformerLens 3.9 creates
the experts and router of a mixture of experts (but GPT-OSS's) in float32 whatever
``dtype`` says, and such a model's forward pass then fails in any other dtype; every
number for such a model in another dtype is for the model converted with
``model.to(dtype)``, which runs.

Every function takes ``model="hooked"`` (the default: that ``HookedTransformer``) or
``model="bridge"``: TransformerLens 4.3's ``TransformerBridge`` as ``boot_bridge`` builds it
(:class:`BridgePlan`: its hooks laid out by :mod:`.bridge`, its weights, buffers,
key-value cache, FLOPs and training state by :mod:`.bridge_params`); where the bridge's
answer cannot be predicted (most architectures' key-value cache), an error says why.

Pure Python: nothing here imports torch or numpy, and the command line reaches it from
the registry's resolved values without importing the config class either.
"""

from __future__ import annotations

from ._model import ModelPlan
from ._structure import _POST_NORM_ARCHITECTURES as _POST_NORM_ARCHITECTURES
from ._values import _NUMBER as _NUMBER
from ._values import (
    MAX_EXPERTS_IN_ALL,
    MAX_LAYERS,
    MAX_SIZE,
    OPTIMIZERS,
    HookSpec,
    TrainingState,
    dtype_key,
    held_bytes,
)
from ._values import _Globs as _Globs
from ._values import _globs as _globs
from .bridge_plan import MODELS, BridgePlan, plan_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._values import Names


__all__ = [
    "MAX_EXPERTS_IN_ALL",
    "MAX_LAYERS",
    "MAX_SIZE",
    "MODELS",
    "OPTIMIZERS",
    "BridgePlan",
    "HookSpec",
    "ModelPlan",
    "TrainingState",
    "activation_cache_bytes",
    "buffer_bytes",
    "dtype_key",
    "forward_flops",
    "held_bytes",
    "hook_shapes",
    "hook_specs",
    "kv_cache_bytes",
    "plan_for",
    "training_state",
    "training_state_bytes",
]
# -- the public functions -----------------------------------------------------------------


def hook_specs(
    cfg: Any, batch: int, seq: int, dtype: Any = None, *, names: Names = None, model: str = "hooked"
) -> list[HookSpec]:
    """Every activation ``run_with_cache`` stores for a ``[batch, seq]`` token tensor.

    In the order the cache holds them (the order the hooks first run), each with the
    shape and dtype of the tensor stored, which is the model's ``dtype`` (or ``dtype``
    given here) except: the ``hook_scale``/``hook_normalized`` of every norm are float32
    when the model is in float16 or bfloat16 (the norms compute in float32), a mixture of
    experts' ``hook_expert_weights`` is float32 and its ``hook_expert_indices`` int64, and
    ``hook_tokens`` has the dtype of the tokens (int64 is assumed).

    How many tokens each expert of a mixture of experts receives depends on the router:
    its hooks are shown for an even split (the first experts take one more when it does
    not divide), so each expert hook's total over the experts is exact whatever the
    routing. GPT-OSS skips experts that receive no token, and so do these shapes.

    ``names``, a shell-style glob or a list of globs over hook names, keeps only the hooks
    that match (as a ``names_filter`` would); hooks no glob can match, such as every
    expert's for ``"hook_embed"``, are never laid out.

    Raises :class:`PresetValidationError` for a model that is not a ``HookedTransformer``
    (BERT, T5 and the speech encoders are not covered), for a configuration
    TransformerLens cannot run, and for a bad ``batch``, ``seq`` or ``dtype``.

    With ``model="bridge"``, the tensors of TransformerLens 4.3's ``TransformerBridge``
    (:class:`BridgePlan`): a component's ``hook_in``/``hook_out`` beside the familiar
    names, which are mostly second names of the same tensors (``same_as``), and
    ``storage_bytes`` where a tensor is a view of memory of another size. Gemma 3's and
    OLMo 3's ``rotary_emb.hook_cos``/``hook_sin`` hold the rotary table of one of their
    attention types, which one varying between processes with Python's hash
    randomisation (``PYTHONHASHSEED``): they are listed as the last layer's type's, and a
    selection whose bytes would vary with it is refused (key ``names``).

    >>> gpt2 = {"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...         "d_vocab": 50257, "act_fn": "gelu_new"}
    >>> specs = hook_specs(gpt2, 2, 16)
    >>> specs[0], specs[-1].shape
    (HookSpec('hook_embed', (2, 16, 768), 'float32', nbytes=98304), (2, 16, 50257))
    >>> [s.name for s in hook_specs(gpt2, 2, 16, names="blocks.1?.hook_resid_post")]
    ['blocks.10.hook_resid_post', 'blocks.11.hook_resid_post']
    """
    return plan_for(cfg, model).hook_specs(batch, seq, dtype, names=names)


def hook_shapes(
    cfg: Any, batch: int, seq: int, dtype: Any = None, *, names: Names = None, model: str = "hooked"
) -> dict[str, tuple[int, ...]]:
    """Hook name -> shape of every activation ``run_with_cache`` stores, in the cache's order.

    The same in every dtype; ``dtype`` is accepted (and checked) for symmetry with the
    other functions. See :func:`hook_specs` for dtypes, the mixture-of-experts shapes and
    ``names``.

    >>> shapes = hook_shapes({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16,
    ...                       "d_vocab": 100, "act_fn": "gelu"}, batch=3, seq=8)
    >>> shapes["blocks.0.attn.hook_pattern"], shapes["blocks.1.mlp.hook_post"]
    ((3, 4, 8, 8), (3, 8, 256))
    """
    return plan_for(cfg, model).hook_shapes(batch, seq, dtype, names=names)


def activation_cache_bytes(
    cfg: Any, batch: int, seq: int, names: Names = None, dtype: Any = None, *, model: str = "hooked"
) -> int:
    """The bytes of the activations ``run_with_cache`` stores for a ``[batch, seq]`` input.

    ``names`` is a shell-style glob or a list of globs over hook names
    (``"blocks.*.hook_resid_post"``): only the hooks that match are cached, as with a
    ``names_filter`` selecting them. A tensor stored under two names (a block's
    ``hook_resid_pre`` is the previous block's ``hook_resid_post``) is counted once:
    this is the memory the cache keeps alive. Not counted: the logits the forward
    pass returns (unless ``unembed.hook_out`` is cached, which they then are), and the
    temporary tensors of the forward pass itself.

    >>> gpt2 = {"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...         "d_vocab": 50257, "act_fn": "gelu_new"}
    >>> activation_cache_bytes(gpt2, 1, 1024, "blocks.*.hook_resid_post")
    37748736
    """
    return plan_for(cfg, model).activation_cache_bytes(batch, seq, names, dtype)


def kv_cache_bytes(
    cfg: Any,
    batch: int,
    seq: int,
    dtype: Any = None,
    *,
    include_mask: bool = False,
    model: str = "hooked",
) -> int:
    """The bytes of the keys and values TransformerLens caches after a forward over ``seq`` tokens.

    A ``TransformerLensKeyValueCache`` (3.9; ``HookedTransformerKeyValueCache`` before)
    keeps, for every layer, keys and values of shape ``[batch, seq, n_key_value_heads
    (or n_heads), d_head]`` in the model's dtype. It also keeps the attention mask of
    the tokens seen, ``[batch, seq]`` of int64 (8 bytes a token); that is counted only
    with ``include_mask=True``.

    With ``model="bridge"``, the keys and values ``bridge.generate`` keeps in transformers'
    cache, which holds no mask (:func:`~.bridge_params.bridge_kv_cache_bytes`; TransformerLens
    4.3 fills it for GPT-Neo, GPT-NeoX, GPT-J, BLOOM and OPT only, and for the others a
    :class:`PresetValidationError`, key ``model``, says why).

    >>> kv_cache_bytes({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...                 "d_vocab": 50257, "act_fn": "gelu_new"}, 1, 1024)
    75497472
    """
    return plan_for(cfg, model).kv_cache_bytes(batch, seq, dtype, include_mask=include_mask)


def forward_flops(
    cfg: Any, batch: int, seq: int, dtype: Any = None, *, model: str = "hooked"
) -> int:
    """The FLOPs of one forward pass on a ``[batch, seq]`` token tensor.

    Counted as ``torch.utils.flop_counter.FlopCounterMode`` counts them: 2 per
    multiply-add of every matrix product (the projections, ``q @ k``, ``pattern @ v``,
    the MLPs, the router and the experts a token is sent to, the unembedding) and
    nothing for elementwise work (norms, activations, softmax, rotary embeddings). With
    ``use_attn_result`` the output projection is an elementwise product and a sum, so it
    counts nothing. The same in every dtype (``dtype`` is only checked).

    >>> forward_flops({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...                "d_vocab": 50257, "act_fn": "gelu_new"}, 1, 1024)
    291648307200
    """
    return plan_for(cfg, model).forward_flops(batch, seq, dtype)


def buffer_bytes(
    cfg: Any, seq: int | None = None, dtype: Any = None, *, model: str = "hooked"
) -> int:
    """The bytes of the model's buffers after a forward pass over ``seq`` tokens.

    That is the rotary sine and cosine tables of every attention layer (2048 rows, or
    the context if shorter, and more once a longer input has been seen), a few scalars
    (``IGNORE``, xIELU's constants), and the ALiBi bias ``[n_heads, seq, seq]`` in
    float32 that each ALiBi attention layer creates on its first forward pass and keeps.
    ``seq=None`` is the model as built, before any forward pass. (After ``model.eval()``,
    Qwen-1's dynamic NTK scaling rebuilds the rotary tables at other sizes; not counted.)

    >>> bloom = {"n_layers": 24, "d_model": 1024, "n_ctx": 2048, "d_head": 64,
    ...          "d_vocab": 250880, "act_fn": "gelu_fast", "positional_embedding_type": "alibi"}
    >>> buffer_bytes(bloom, 2048) // 2**20  # MiB: the ALiBi bias of 24 layers
    6144
    """
    return plan_for(cfg, model).buffer_bytes(seq, dtype)


def training_state(
    cfg: Any, optimizer: str = "adamw", dtype: Any = None, *, model: str = "hooked"
) -> TrainingState:
    """Weights, gradients and optimizer state after one training step, in bytes.

    Gradients are those ``loss.backward()`` leaves (one per parameter that the forward
    pass uses: ALiBi models never read ``W_pos``, so it gets none). The optimizer state
    is what ``torch.optim.AdamW`` holds after one step (``exp_avg`` and ``exp_avg_sq``
    like each parameter, and a float32 ``step``), or ``torch.optim.SGD`` with momentum
    (one ``momentum_buffer``), or nothing (``"none"``). Weights keep the dtypes
    TransformerLens gives them: xIELU's two scalars stay float32 in any ``dtype``.

    A mixture of experts in a dtype other than float32 is the converted model (see the
    module's documentation).

    >>> training_state({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...                 "d_vocab": 50257, "act_fn": "gelu_new"})
    TrainingState(weights=652349764, gradients=652349764, optimizer=1304700320, total=2609399848)
    """
    return plan_for(cfg, model).training_state(optimizer, dtype)


def training_state_bytes(
    cfg: Any, optimizer: str = "adamw", dtype: Any = None, *, model: str = "hooked"
) -> int:
    """The total of :func:`training_state`: weights + gradients + optimizer state.

    >>> training_state_bytes({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...                       "d_vocab": 50257, "act_fn": "gelu_new"}, "none")
    1304699528
    """
    return plan_for(cfg, model).training_state(optimizer, dtype).total
