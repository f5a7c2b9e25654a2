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

import inspect
import pprint
import random
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from ..common.dtypes import DTYPE_NAMES, dtype_name
from ..errors import PresetError, PresetValidationError, did_you_mean
from ..fields.rules import (
    ACTIVATION_NAMES,
    DERIVED_FIELDS,
    FIELD_BOUNDS,
    FIELD_CHOICES,
    FIELD_DEFAULTS,
    INT_LIMIT,
    PER_LAYER_FIELDS,
    Bound,
    check_and_derive,
    field_kinds,
    kind_matches,
    value_problem,
)

if TYPE_CHECKING:
    import torch

    from ..planner import hooked as _planner

_P = ParamSpec("_P")
_R = TypeVar("_R")

__all__ = [
    "ACTIVATION_NAMES",
    "DERIVED_FIELDS",
    "DTYPE_NAMES",
    "FIELD_BOUNDS",
    "FIELD_CHOICES",
    "FIELD_DEFAULTS",
    "INT_LIMIT",
    "PER_LAYER_FIELDS",
    "Bound",
    "HookedTransformerConfig",
    "check_and_derive",
    "config_field_names",
    "copy_config",
    "dtype_name",
    "field_kinds",
    "field_table",
    "kind_matches",
    "value_problem",
]


class _Planned(Generic[_P, _R]):
    """A function of the planner (:mod:`transformer_presets.planner.hooked`) as a method of
    the config: ``cfg.kv_cache_bytes(...)`` is ``kv_cache_bytes(cfg, ...)``, and an error
    it raises names the config's model as its preset.

    At run time it holds the function's name, and the planner is imported when a config
    first asks it something: importing the config needs none of it.
    """

    @overload
    def __init__(self, question: Callable[Concatenate[Any, _P], _R]) -> None: ...

    @overload
    def __init__(self, question: str) -> None: ...

    def __init__(self, question: Callable[Concatenate[Any, _P], _R] | str) -> None:
        self._question = question
        self._signature: inspect.Signature | None = None
        name = question if isinstance(question, str) else question.__name__
        self.__doc__ = f"See :func:`transformer_presets.planner.hooked.{name}`."

    @overload
    def __get__(self, cfg: None, owner: type) -> _Planned[_P, _R]: ...

    @overload
    def __get__(self, cfg: HookedTransformerConfig, owner: type) -> Callable[_P, _R]: ...

    def __get__(
        self, cfg: HookedTransformerConfig | None, owner: type
    ) -> _Planned[_P, _R] | Callable[_P, _R]:
        if cfg is None:
            return self
        question = self._question
        if isinstance(question, str):  # asked for the first time
            from ..planner import hooked

            question = self._question = getattr(hooked, question)
        if self._signature is None:  # the function's, but for cfg
            signature = inspect.signature(question)
            self._signature = signature.replace(parameters=[*signature.parameters.values()][1:])

        def asked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return question(cfg, *args, **kwargs)
            except PresetError as exc:
                raise exc.with_context(preset=cfg.model_name) from None

        asked.__name__ = asked.__qualname__ = question.__name__
        asked.__doc__ = question.__doc__
        asked.__signature__ = self._signature  # type: ignore[attr-defined]
        return asked


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
    ``"relative_positional_bias"``, and so on: ``field_docs.FIELD_DOCS`` describes every field.

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
        from ..fields.params import total_params

        return total_params(self)

    def weight_bytes(self) -> int:
        """``total_params()`` times the size of one element of ``dtype``."""
        from ..fields.params import weight_bytes

        return weight_bytes(self)

    # Memory and compute: the planner's questions (planner.hooked), asked of this config,
    # with its parameters; ``dtype`` defaults to this config's, and ``model`` is "hooked"
    # (TransformerLens 3's HookedTransformer) or "bridge" (TransformerLens 4.3's
    # TransformerBridge as boot_bridge builds it: planner.bridge_plan). An error names
    # this model as its preset, as the registry's errors do.
    if TYPE_CHECKING:  # the functions, whose parameters the methods take
        hook_shapes = _Planned(_planner.hook_shapes)
        activation_cache_bytes = _Planned(_planner.activation_cache_bytes)
        kv_cache_bytes = _Planned(_planner.kv_cache_bytes)
        forward_flops = _Planned(_planner.forward_flops)
        training_state_bytes = _Planned(_planner.training_state_bytes)
    else:  # their names, so that importing the config imports no planner
        hook_shapes = _Planned("hook_shapes")
        activation_cache_bytes = _Planned("activation_cache_bytes")
        kv_cache_bytes = _Planned("kv_cache_bytes")
        forward_flops = _Planned("forward_flops")
        training_state_bytes = _Planned("training_state_bytes")


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


def field_table() -> tuple[dict[str, tuple[str, ...]], dict[str, Any]]:
    """The class's fields as plain data: each field's kinds (read from its
    annotation), and each optional field's default (``dtype`` by name).

    What ``python -m tools.gen_schema`` writes to ``fields/table.py``, which the
    rules read so that they need not import this class.
    """
    kinds = {
        f.name: tuple(sorted(_parse_annotation(str(f.type))))
        for f in fields(HookedTransformerConfig)
    }
    defaults = {
        f.name: f.default
        for f in fields(HookedTransformerConfig)
        if f.default is not MISSING and f.name != "dtype"
    }
    defaults["dtype"] = "float32"
    return kinds, defaults


def _parse_annotation(text: str) -> frozenset[str]:
    kinds = set()
    for part in text.split("|"):
        part = part.strip()
        kinds.add("dtype" if part == "torch.dtype" else part)
    unknown = kinds - {"int", "float", "bool", "str", "list[str]", "dtype", "None"}
    if unknown:  # pragma: no cover - a new annotation shape needs support here
        raise TypeError(f"unsupported field annotation {text!r}")
    return frozenset(kinds)
