"""``HookedTransformerConfig``: the configuration of a TransformerLens ``HookedTransformer``.

The class keeps TransformerLens's field names, defaults and derivations. It
differs on purpose in three ways: checks raise :class:`PresetValidationError`
(a ``ValueError`` and an ``AssertionError``) instead of using ``assert``, so
they hold under ``python -O``; :meth:`from_dict` rejects unknown keys with a
suggestion; :meth:`to_dict` returns a new dict.

Importing this module does not import torch or numpy: the registry reads the
field list from it. Only building an instance does, because picking a
``device`` and a ``torch.dtype`` needs torch.
"""

from __future__ import annotations

import logging
import math
import numbers
import pprint
import random
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .errors import PresetValidationError, did_you_mean

if TYPE_CHECKING:
    import torch

__all__ = [
    "ACTIVATION_NAMES",
    "DERIVED_FIELDS",
    "DTYPE_NAMES",
    "FIELD_DEFAULTS",
    "HookedTransformerConfig",
    "check_and_derive",
    "config_field_names",
    "copy_config",
    "dtype_name",
]

logger = logging.getLogger("transformer_presets")

#: The activation names ``HookedTransformerConfig`` accepts (see ``SUPPORTED_ACTIVATIONS``).
ACTIVATION_NAMES: tuple[str, ...] = (
    "solu",
    "solu_ln",
    "gelu_new",
    "gelu_fast",
    "silu",
    "relu",
    "gelu",
    "gelu_pytorch_tanh",
    # Added by later TransformerLens releases: Apertus uses xIELU.
    "xielu",
    "relu2",
)

#: Names accepted for ``dtype``, mapped to the ``torch`` attribute and the size in bytes.
DTYPE_NAMES: dict[str, tuple[str, int]] = {
    "float32": ("float32", 4),
    "float": ("float32", 4),
    "fp32": ("float32", 4),
    "float64": ("float64", 8),
    "double": ("float64", 8),
    "fp64": ("float64", 8),
    "float16": ("float16", 2),
    "half": ("float16", 2),
    "fp16": ("float16", 2),
    "bfloat16": ("bfloat16", 2),
    "bf16": ("bfloat16", 2),
}

#: Fields that ``__post_init__`` computes when they are left at their "not set" value.
DERIVED_FIELDS: tuple[str, ...] = (
    "n_heads",
    "d_mlp",
    "initializer_range",
    "d_vocab_out",
    "rotary_dim",
    "n_params",
    "attn_scale",
    "device",
)


def _default_dtype() -> torch.dtype:
    import torch

    return torch.float32


@dataclass
class HookedTransformerConfig:
    """Configuration of a TransformerLens ``HookedTransformer``.

    Only ``n_layers``, ``d_model``, ``n_ctx`` and ``d_head`` are required;
    the rest have TransformerLens's defaults. Fields left at their "not set"
    value are derived after construction:

    - ``n_heads`` (-1) becomes ``d_model // d_head`` (with a warning when that
      division is not exact);
    - ``d_mlp`` (None) becomes ``4 * d_model`` unless the model is attention-only;
    - ``initializer_range`` (< 0) becomes ``0.8 / sqrt(d_model)`` for the
      ``"gpt2"`` init mode and 1.0 (a gain) otherwise;
    - ``d_vocab_out`` (-1) becomes ``d_vocab``;
    - ``rotary_dim`` (None) becomes ``d_head`` for rotary embeddings;
    - ``attn_scale`` (-1.0) becomes ``sqrt(d_head)`` when ``use_attn_scale``;
    - ``device`` (None) becomes ``"cuda"``, else ``"mps"``, else ``"cpu"``;
    - ``n_params`` is always recomputed: the attention and MLP weights, without
      embeddings, biases or norms (the count the scaling-laws papers use).

    ``dtype`` takes a ``torch.dtype`` or its name (``"bfloat16"``). A ``seed``
    seeds Python's, NumPy's and PyTorch's random generators.

    Field meanings follow TransformerLens: ``d_model`` is the residual width,
    ``d_head`` the width of one head, ``n_key_value_heads`` the number of K/V
    heads for grouped-query attention, ``normalization_type`` one of ``"LN"``,
    ``"LNPre"``, ``"RMS"``, ``"RMSPre"`` or None, ``positional_embedding_type``
    one of ``"standard"``, ``"rotary"``, ``"shortformer"``, ``"alibi"``,
    ``"relative_positional_bias"``, and so on.

    >>> cfg = HookedTransformerConfig(n_layers=2, d_model=128, n_ctx=64, d_head=32, act_fn="gelu")
    >>> cfg.n_heads, cfg.d_mlp, cfg.n_params
    (4, 512, 393216)
    """

    n_layers: int
    d_model: int
    n_ctx: int
    d_head: int
    model_name: str = "custom"
    n_heads: int = -1
    d_mlp: int | None = None
    act_fn: str | None = None
    d_vocab: int = -1
    eps: float = 1e-5
    use_attn_result: bool = False
    use_attn_scale: bool = True
    attn_scale: float = -1.0
    use_split_qkv_input: bool = False
    use_hook_mlp_in: bool = False
    use_attn_in: bool = False
    use_local_attn: bool = False
    ungroup_grouped_query_attention: bool = False
    original_architecture: str | None = None
    from_checkpoint: bool = False
    checkpoint_index: int | None = None
    checkpoint_label_type: str | None = None
    checkpoint_value: int | None = None
    tokenizer_name: str | None = None
    window_size: int | None = None
    attn_types: list[str] | None = None
    init_mode: str = "gpt2"
    normalization_type: str | None = "LN"
    device: str | None = None
    n_devices: int = 1
    attention_dir: str = "causal"
    attn_only: bool = False
    seed: int | None = None
    initializer_range: float = -1.0
    init_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    positional_embedding_type: str = "standard"
    final_rms: bool = False
    d_vocab_out: int = -1
    parallel_attn_mlp: bool = False
    rotary_dim: int | None = None
    n_params: int | None = None
    use_hook_tokens: bool = False
    gated_mlp: bool = False
    default_prepend_bos: bool = True
    dtype: torch.dtype = field(default_factory=_default_dtype)
    tokenizer_prepends_bos: bool | None = None
    n_key_value_heads: int | None = None
    post_embedding_ln: bool = False
    rotary_base: float | int = 10000
    trust_remote_code: bool = False
    rotary_adjacent_pairs: bool = False
    load_in_4bit: bool = False
    num_experts: int | None = None
    experts_per_token: int | None = None
    relative_attention_max_distance: int | None = None
    relative_attention_num_buckets: int | None = None
    decoder_start_token_id: int | None = None
    tie_word_embeddings: bool = False
    use_normalization_before_and_after: bool = False
    attn_scores_soft_cap: float = -1.0
    output_logits_soft_cap: float = -1.0
    use_NTK_by_parts_rope: bool = False
    NTK_by_parts_low_freq_factor: float = 1.0
    NTK_by_parts_high_freq_factor: float = 4.0
    NTK_by_parts_factor: float = 8.0
    # Fields added by later TransformerLens releases.
    uses_rms_norm: bool = False
    layer_norm_folding: bool = False
    NTK_original_ctx_len: int = 8192
    use_qk_norm: bool = False
    rotary_base_local: float | int | None = None
    norm_topk_prob: bool = False
    use_yarn_rope: bool = False
    yarn_factor: float = 1.0
    yarn_attention_factor: float = 1.0
    yarn_beta_fast: float = 32.0
    yarn_beta_slow: float = 1.0
    yarn_original_max_position_embeddings: int = 4096
    rotary_scaling_factor: float = 1.0
    # Fields added by TransformerLens 3.9.
    clip_qkv: float | None = None
    use_logn_attn: bool = False
    train_seq_length: int | None = None
    use_dynamic_ntk_rope: bool = False
    quantization_method: str | None = None
    yarn_truncate: bool = True
    yarn_global_attn_only: bool = False
    use_attention_sinks: bool = False

    def __post_init__(self) -> None:
        import torch

        derived = check_and_derive(self.__dict__, warn=True)
        self.__dict__.update(derived)

        self.dtype = _to_torch_dtype(self.dtype)

        if self.seed is not None:
            self.set_seed_everywhere(self.seed)

        if self.device is None:
            self.device = _pick_device()

        if self.n_devices > 1 and torch.cuda.device_count() < self.n_devices:
            raise PresetValidationError(
                f"n_devices={self.n_devices} needs that many CUDA devices, "
                f"but {torch.cuda.device_count()} are available",
                key="n_devices",
            )

    @classmethod
    def unwrap(cls, config: Mapping[str, Any] | HookedTransformerConfig) -> HookedTransformerConfig:
        """Return ``config`` itself, or a config built from it if it is a mapping."""
        if isinstance(config, HookedTransformerConfig):
            return config
        return cls.from_dict(config)

    @classmethod
    def from_dict(cls, config_dict: Mapping[str, Any]) -> HookedTransformerConfig:
        """Build a config from a mapping of field names to values.

        Unknown keys are an error (with the closest field names suggested),
        not a ``TypeError`` from the constructor.

        >>> HookedTransformerConfig.from_dict({"n_layers": 1, "d_model": 64, "n_ctx": 8,
        ...                                    "d_head": 16, "attn_only": True}).n_heads
        4
        """
        names = config_field_names()
        for key in config_dict:
            if key not in names:
                raise PresetValidationError(
                    f"unknown field{did_you_mean(str(key), names)}", key=str(key)
                )
        return cls(**config_dict)

    def to_dict(self) -> dict[str, Any]:
        """A new dict of every field (``dtype`` stays a ``torch.dtype``).

        Mutable values are copied, so editing the result never edits the config.
        """
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), list) else v)
            for f in fields(self)
        }

    def __repr__(self) -> str:
        return "HookedTransformerConfig:\n" + pprint.pformat(self.to_dict())

    def set_seed_everywhere(self, seed: int) -> None:
        """Seed PyTorch, Python's ``random`` and NumPy with ``seed``."""
        import numpy as np
        import torch

        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)

    def is_layer_norm_activation(self) -> bool:
        """Whether the activation has a LayerNorm inside it (``solu_ln``)."""
        return self.act_fn is not None and self.act_fn.endswith("_ln")

    def total_params(self) -> int:
        """The exact number of parameters a ``HookedTransformer`` with this config holds."""
        from .params import total_params

        return total_params(self)

    def weight_bytes(self) -> int:
        """``total_params()`` times the size of one element of ``dtype``."""
        from .params import weight_bytes

        return weight_bytes(self)

    # Memory and compute (transformer_presets.planner; ``dtype`` defaults to this config's).

    def hook_shapes(self, batch: int, seq: int, *, dtype: Any = None) -> dict[str, tuple[int, ...]]:
        """Hook name -> shape of every activation ``run_with_cache`` stores, in its order."""
        from .planner import hook_shapes

        return hook_shapes(self, batch, seq, dtype)

    def activation_cache_bytes(
        self, batch: int, seq: int, names: Any = None, *, dtype: Any = None
    ) -> int:
        """The bytes ``run_with_cache`` holds, for every hook or those matching ``names``."""
        from .planner import activation_cache_bytes

        return activation_cache_bytes(self, batch, seq, names, dtype)

    def kv_cache_bytes(
        self, batch: int, seq: int, *, dtype: Any = None, include_mask: bool = False
    ) -> int:
        """The keys and values TransformerLens's KV cache holds after ``seq`` tokens."""
        from .planner import kv_cache_bytes

        return kv_cache_bytes(self, batch, seq, dtype, include_mask=include_mask)

    def forward_flops(self, batch: int, seq: int, *, dtype: Any = None) -> int:
        """The FLOPs of one forward pass, as ``FlopCounterMode`` counts them."""
        from .planner import forward_flops

        return forward_flops(self, batch, seq, dtype)

    def training_state_bytes(self, optimizer: str = "adamw", *, dtype: Any = None) -> int:
        """Weights, gradients and optimizer state after one step of ``optimizer``."""
        from .planner import training_state_bytes

        return training_state_bytes(self, optimizer, dtype)


def copy_config(cfg: HookedTransformerConfig) -> HookedTransformerConfig:
    """A copy of ``cfg`` as if built again from the same values.

    Lists are copied, so editing one copy never edits another, and a config
    with a ``seed`` seeds the random generators again, as construction does.
    The ``device`` is kept: it was chosen on this machine, in this process.
    """
    new = object.__new__(HookedTransformerConfig)
    state = new.__dict__
    state.update(cfg.__dict__)
    # Only list fields are mutable; copying just those keeps a copy cheap.
    for name in _LIST_FIELDS:
        value = state.get(name)
        if isinstance(value, list):
            state[name] = list(value)
    if new.seed is not None:
        new.set_seed_everywhere(new.seed)
    return new


_FIELD_NAMES: tuple[str, ...] | None = None
_LIST_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(HookedTransformerConfig) if "list[" in str(f.type)
)


def config_field_names() -> tuple[str, ...]:
    """The names of ``HookedTransformerConfig``'s fields, in declaration order."""
    global _FIELD_NAMES
    if _FIELD_NAMES is None:
        _FIELD_NAMES = tuple(f.name for f in fields(HookedTransformerConfig))
    return _FIELD_NAMES


def check_and_derive(values: Mapping[str, Any], *, warn: bool = False) -> dict[str, Any]:
    """Check ``values`` as ``__post_init__`` does and return the derived fields.

    ``values`` holds every field that is set (defaults need not be present).
    The result maps each derived field to its value; it never includes
    ``device``, which depends on the machine. Pure Python, so the registry and
    the command line can validate and describe presets without importing torch.

    Raises :class:`PresetValidationError` naming the offending key.

    >>> check_and_derive({"n_layers": 2, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...                   "act_fn": "gelu_new"})["n_heads"]
    12
    """

    def get(name: str) -> Any:
        if name in values:
            return values[name]
        return FIELD_DEFAULTS[name]

    for name in ("n_layers", "d_model", "n_ctx", "d_head"):
        if values.get(name) is None:
            raise PresetValidationError("is required but not set", key=name)

    # The derivations below divide by d_head and take sqrt(d_model): check the
    # sizes first so a bad value is reported by name, not as a ZeroDivisionError.
    def is_int(value: Any) -> bool:
        # numbers.Integral admits NumPy integers, as TransformerLens's configs may hold.
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    for name, lowest in (("n_layers", 0), ("d_model", 1), ("n_ctx", 1), ("d_head", 1)):
        value = get(name)
        if not is_int(value) or int(value) < lowest:
            kind = "a positive integer" if lowest else "a non-negative integer"
            raise PresetValidationError(f"must be {kind}, got {value!r}", key=name)
    n_heads = get("n_heads")
    if not is_int(n_heads) or not (n_heads == -1 or int(n_heads) > 0):
        raise PresetValidationError(
            f"must be a positive integer (or -1 for d_model // d_head), got {n_heads!r}",
            key="n_heads",
        )
    seed = get("seed")
    # NumPy only takes seeds in [0, 2**32).
    if seed is not None and (not is_int(seed) or not 0 <= int(seed) < 2**32):
        raise PresetValidationError(f"must be an integer in [0, 2**32), got {seed!r}", key="seed")
    if get("n_devices") < 1:
        raise PresetValidationError(
            f"must be at least 1, got {get('n_devices')!r}", key="n_devices"
        )

    d_model: int = get("d_model")
    d_head: int = get("d_head")
    n_layers: int = get("n_layers")

    out: dict[str, Any] = {}
    if n_heads == -1:
        n_heads = d_model // d_head
        out["n_heads"] = n_heads
        if d_model % d_head != 0 and warn:
            logger.warning(
                "d_model %d is not divisible by d_head %d; n_heads was inferred as %d "
                "(the ratio rounded down).",
                d_model,
                d_head,
                n_heads,
            )

    if get("use_local_attn"):
        for name in ("window_size", "attn_types"):
            if get(name) is None:
                raise PresetValidationError("must be set when use_local_attn is true", key=name)

    attn_only = get("attn_only")
    d_mlp = get("d_mlp")
    if not attn_only:
        if d_mlp is None:
            d_mlp = 4 * d_model
            out["d_mlp"] = d_mlp
        act_fn = get("act_fn")
        if act_fn is None:
            raise PresetValidationError("must be set unless attn_only is true", key="act_fn")
        if act_fn not in ACTIVATION_NAMES:
            raise PresetValidationError(
                f"{act_fn!r} is not a supported activation; choose one of "
                f"{', '.join(ACTIVATION_NAMES)}{did_you_mean(str(act_fn), ACTIVATION_NAMES)}",
                key="act_fn",
            )

    init_range = get("initializer_range")
    if init_range < 0:
        init_range = 0.8 / math.sqrt(d_model) if get("init_mode") == "gpt2" else 1.0
        out["initializer_range"] = init_range

    if get("d_vocab_out") == -1:
        out["d_vocab_out"] = get("d_vocab")

    if get("positional_embedding_type") == "rotary" and get("rotary_dim") is None:
        out["rotary_dim"] = d_head

    num_experts = get("num_experts")
    experts_per_token = get("experts_per_token")
    if num_experts is not None and experts_per_token is None:
        raise PresetValidationError("must be set when num_experts is set", key="experts_per_token")
    if experts_per_token is not None and num_experts is None:
        raise PresetValidationError("must be set when experts_per_token is set", key="num_experts")

    # Attention weights W_Q, W_K, W_V and W_O, ignoring biases and norms.
    n_params = n_layers * d_model * d_head * n_heads * 4
    if not attn_only:
        # W_in and W_out, plus W_gate for gated MLPs.
        mlp_per_layer = d_model * d_mlp * (2 + bool(get("gated_mlp")))
        if num_experts:
            # Every expert, plus its row of the router.
            mlp_per_layer = (mlp_per_layer + d_model) * num_experts
        n_params += n_layers * mlp_per_layer
    out["n_params"] = n_params

    if get("use_attn_scale") and get("attn_scale") == -1.0:
        out["attn_scale"] = math.sqrt(d_head)

    if get("default_prepend_bos") not in (True, False):
        raise PresetValidationError(
            f"must be true or false, got {get('default_prepend_bos')!r}",
            key="default_prepend_bos",
        )

    dtype = values.get("dtype")
    if isinstance(dtype, str):
        dtype_name(dtype)
    return out


def dtype_name(value: str) -> str:
    """The canonical torch attribute name for a dtype name (``"bf16"`` -> ``"bfloat16"``)."""
    name = value.removeprefix("torch.")
    if name not in DTYPE_NAMES:
        raise PresetValidationError(
            f"{value!r} is not a known dtype{did_you_mean(name, DTYPE_NAMES)}", key="dtype"
        )
    return DTYPE_NAMES[name][0]


def _to_torch_dtype(value: Any) -> torch.dtype:
    import torch

    if isinstance(value, torch.dtype):
        return value
    if isinstance(value, str):
        return getattr(torch, dtype_name(value))  # type: ignore[no-any-return]
    raise PresetValidationError(
        f"must be a torch.dtype or its name, got {type(value).__name__}", key="dtype"
    )


def _pick_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available() and mps.is_built():
        return "mps"
    return "cpu"


#: Every optional field's default as plain data (``dtype`` by name).
FIELD_DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in fields(HookedTransformerConfig)
    if f.default is not MISSING and f.name != "dtype"
}
FIELD_DEFAULTS["dtype"] = "float32"
