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

from ._dtypes import DTYPE_NAMES, dtype_name
from ._plain import is_int
from .errors import PresetValidationError, did_you_mean

if TYPE_CHECKING:
    import torch

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
    "kind_matches",
    "value_problem",
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
        from .params import total_params

        return total_params(self)

    def weight_bytes(self) -> int:
        """``total_params()`` times the size of one element of ``dtype``."""
        from .params import weight_bytes

        return weight_bytes(self)


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


class Bound:
    """The numbers a numeric field accepts: ``low`` and up (above ``low`` when ``open``),
    at most ``high``, plus the "not set" values in ``also``.

    >>> Bound(1, also=(-1,)).problem(0)
    'must be a positive integer (or -1), got 0'
    """

    __slots__ = ("also", "high", "low", "open", "why")

    def __init__(
        self,
        low: int,
        *,
        open: bool = False,
        high: int | None = None,
        also: tuple[Any, ...] = (),
        why: str = "",
    ) -> None:
        self.low = low
        self.open = open
        self.high = high
        self.also = also
        self.why = why

    def problem(self, value: Any) -> str | None:
        if value in self.also and not isinstance(value, bool):
            return None
        if self.open and not value > self.low:
            reason = f"must be greater than {self.low}"
        elif value < self.low:
            if self.low == 1 and is_int(value):
                reason = "must be a positive integer"
            elif self.low == 0 and is_int(value):
                reason = "must be a non-negative integer"
            else:
                reason = f"must be at least {self.low}"
        elif self.high is not None and value > self.high:
            reason = f"must be at most {self.high}"
        else:
            return None
        also = f" (or {', '.join(map(repr, self.also))})" if self.also else ""
        why = f" ({self.why})" if self.why else ""
        return f"{reason}{also}, got {value!r}{why}"


#: The integers TransformerLens can store: it builds tensors of these sizes and indices.
INT_LIMIT = 2**63
_POSITIVE = Bound(1)
_NON_NEGATIVE = Bound(0)
_ABOVE_ZERO = Bound(0, open=True)

#: Bounds of every numeric field that has one. Sizes are positive, "not set" sentinels
#: (-1 for "derive it") stay allowed, and scale factors are above zero.
FIELD_BOUNDS: dict[str, Bound] = {
    "n_layers": _NON_NEGATIVE,
    "d_model": _POSITIVE,
    "n_ctx": _POSITIVE,
    "d_head": _POSITIVE,
    "n_heads": Bound(1, also=(-1,)),
    "d_vocab": Bound(1, also=(-1,)),
    "d_vocab_out": Bound(1, also=(-1,)),
    "window_size": _POSITIVE,
    "checkpoint_value": _NON_NEGATIVE,
    "n_devices": _POSITIVE,
    # NumPy only takes seeds in [0, 2**32).
    "seed": Bound(0, high=2**32 - 1, why="NumPy takes seeds below 2**32"),
    "rotary_dim": _POSITIVE,
    "n_key_value_heads": _POSITIVE,
    "num_experts": _POSITIVE,
    "experts_per_token": _POSITIVE,
    "relative_attention_max_distance": _POSITIVE,
    "relative_attention_num_buckets": _POSITIVE,
    "decoder_start_token_id": _NON_NEGATIVE,
    "NTK_original_ctx_len": _POSITIVE,
    "yarn_original_max_position_embeddings": _POSITIVE,
    "train_seq_length": _POSITIVE,
    "eps": _NON_NEGATIVE,
    "attn_scale": Bound(0, open=True, also=(-1.0,)),
    "rotary_base": _ABOVE_ZERO,
    "rotary_base_local": _ABOVE_ZERO,
    "rotary_scaling_factor": _ABOVE_ZERO,
    "NTK_by_parts_low_freq_factor": _ABOVE_ZERO,
    "NTK_by_parts_high_freq_factor": _ABOVE_ZERO,
    "NTK_by_parts_factor": _ABOVE_ZERO,
    "yarn_factor": _ABOVE_ZERO,
    "yarn_attention_factor": _ABOVE_ZERO,
    "yarn_beta_fast": _ABOVE_ZERO,
    "yarn_beta_slow": _ABOVE_ZERO,
    "clip_qkv": _ABOVE_ZERO,
}

#: The values a text field may take where TransformerLens knows a fixed set (for a list
#: field, each entry); None stays allowed for the fields that may be None. Any other
#: value would make TransformerLens fail late, or quietly build something else (an
#: unknown normalization_type builds no norm at all).
FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "act_fn": ACTIVATION_NAMES,
    "normalization_type": ("LN", "LNPre", "RMS", "RMSPre"),
    "positional_embedding_type": (
        "standard",
        "rotary",
        "shortformer",
        "alibi",
        "relative_positional_bias",
    ),
    "attention_dir": ("causal", "bidirectional"),
    "init_mode": (
        "gpt2",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "muP",
    ),
    "checkpoint_label_type": ("step", "token"),
    "attn_types": ("global", "local"),
}

#: Fields holding one entry per layer.
PER_LAYER_FIELDS: tuple[str, ...] = ("attn_types",)


def field_kinds() -> dict[str, frozenset[str]]:
    """Each field's kinds of value, read from the class's annotations.

    The kinds are ``int``, ``float``, ``bool``, ``str``, ``list[str]``,
    ``dtype`` and ``None`` (annotations are strings here, so reading them
    imports nothing).

    >>> sorted(field_kinds()["rotary_base_local"])
    ['None', 'float', 'int']
    """
    global _KINDS
    if _KINDS is None:
        _KINDS = {f.name: _parse_annotation(str(f.type)) for f in fields(HookedTransformerConfig)}
    return _KINDS


_KINDS: dict[str, frozenset[str]] | None = None


def _parse_annotation(text: str) -> frozenset[str]:
    kinds = set()
    for part in text.split("|"):
        part = part.strip()
        kinds.add("dtype" if part == "torch.dtype" else part)
    unknown = kinds - {"int", "float", "bool", "str", "list[str]", "dtype", "None"}
    if unknown:  # pragma: no cover - a new annotation shape needs support here
        raise TypeError(f"unsupported field annotation {text!r}")
    return frozenset(kinds)


_KIND_TEXT = {
    "int": "int",
    "float": "float",
    "bool": "bool (true or false)",
    "str": "string",
    "list[str]": "list of strings",
    "dtype": "dtype",
}


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"  # NumPy's bool


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not _is_bool(value)


def kind_matches(kind: str, value: Any) -> bool:
    """Whether ``value`` is of ``kind`` (a :func:`field_kinds` name); an int is a float too."""
    if kind == "int":
        return is_int(value)
    if kind == "float":
        return _is_real(value)
    if kind == "bool":
        return _is_bool(value)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "None":
        return value is None
    return kind == "dtype"  # names and torch dtypes are checked by their own code


def value_problem(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be field ``name``'s value on its own, or None if it can.

    Types, ranges, finiteness and the known choices; what depends on other
    fields is checked by :func:`check_and_derive`.

    >>> value_problem("num_experts", -1)
    'must be a positive integer, got -1'
    >>> value_problem("eps", float("nan"))
    'must be a finite number, got nan'
    """
    kinds = field_kinds()[name]
    if value is None:
        return None if "None" in kinds else "may not be None"
    if not any(kind_matches(k, value) for k in kinds):
        return None  # the type message is the caller's (it knows how the value was written)
    if _is_bool(value):
        return None
    if "float" in kinds or "int" in kinds:
        if isinstance(value, numbers.Real) and not is_int(value):
            if not math.isfinite(value):
                return f"must be a finite number, got {value!r}"
        elif not -INT_LIMIT <= value < INT_LIMIT:
            return "must fit in 64 bits (between -2**63 and 2**63 - 1)"
        bound = FIELD_BOUNDS.get(name)
        return None if bound is None else bound.problem(value)
    choices = FIELD_CHOICES.get(name)
    if choices is None:
        return None
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item not in choices:
            suggestion = did_you_mean(str(item), choices)
            if name == "act_fn":
                return (
                    f"{item!r} is not a supported activation; choose one of "
                    f"{', '.join(choices)}{suggestion}"
                )
            return (
                f"{item!r:.60} is not a known {name} value; choose one of "
                f"{', '.join(choices)}{suggestion}"
            )
    return None


def check_and_derive(values: Mapping[str, Any], *, warn: bool = False) -> dict[str, Any]:
    """Check ``values`` as ``__post_init__`` does and return the derived fields.

    ``values`` holds every field that is set (defaults need not be present).
    The result maps each derived field to its value; it never includes
    ``device``, which depends on the machine. Pure Python, so the registry and
    the command line can validate and describe presets without importing torch.

    Beyond TransformerLens's own checks, values no model can have are refused:
    sizes that are zero or negative, non-finite numbers, integers beyond 64
    bits, unknown choices, head counts that do not divide, more experts per
    token than experts, per-layer lists of another length than ``n_layers``.

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

    kinds = field_kinds()
    for name, value in values.items():
        default = _PLAIN_DEFAULTS.get(name, _NO_DEFAULT)
        if value is default or (type(value) is type(default) and value == default):
            continue  # a class default is a valid value (most fields of a built config)
        if name not in kinds:
            raise PresetValidationError(f"unknown field{did_you_mean(str(name), kinds)}", key=name)
        if name == "dtype" or (name == "d_mlp" and get("attn_only") and is_int(value)):
            continue  # dtype: below; an attention-only model ignores d_mlp (-1 is common)
        if value is not None and not any(kind_matches(k, value) for k in kinds[name]):
            shown = " or ".join(_KIND_TEXT[k] for k in sorted(kinds[name]) if k != "None")
            raise PresetValidationError(
                f"expected {shown}, got {type(value).__name__} {value!r:.60}", key=name
            )
        problem = value_problem(name, value)
        if problem is None and name == "d_mlp" and value is not None:
            problem = _POSITIVE.problem(value)
        if problem is not None:
            raise PresetValidationError(problem, key=name)

    d_model: int = get("d_model")
    d_head: int = get("d_head")
    n_layers: int = get("n_layers")
    n_heads: int = get("n_heads")

    out: dict[str, Any] = {}
    if n_heads == -1:
        n_heads = d_model // d_head
        if n_heads < 1:
            raise PresetValidationError(
                f"is larger than d_model ({d_head} > {d_model}), so no head fits", key="d_head"
            )
        out["n_heads"] = n_heads
        if d_model % d_head != 0 and warn:
            logger.warning(
                "d_model %d is not divisible by d_head %d; n_heads was inferred as %d "
                "(the ratio rounded down).",
                d_model,
                d_head,
                n_heads,
            )

    kv_heads = get("n_key_value_heads")
    if kv_heads is not None and (kv_heads > n_heads or n_heads % kv_heads):
        raise PresetValidationError(
            f"must divide n_heads ({n_heads}): each K/V head serves a whole group of "
            f"query heads, got {kv_heads}",
            key="n_key_value_heads",
        )

    if get("use_local_attn"):
        for name in ("window_size", "attn_types"):
            if get(name) is None:
                raise PresetValidationError("must be set when use_local_attn is true", key=name)
    for name in PER_LAYER_FIELDS:
        per_layer = get(name)
        if per_layer is not None and len(per_layer) != n_layers:
            raise PresetValidationError(
                f"has {len(per_layer)} entries, one per layer, but n_layers is {n_layers}",
                key=name,
            )

    attn_only = get("attn_only")
    d_mlp = get("d_mlp")
    if not attn_only:
        if d_mlp is None:
            d_mlp = 4 * d_model
            out["d_mlp"] = d_mlp
        if get("act_fn") is None:
            raise PresetValidationError("must be set unless attn_only is true", key="act_fn")

    init_range = get("initializer_range")
    if init_range < 0:
        init_range = 0.8 / math.sqrt(d_model) if get("init_mode") == "gpt2" else 1.0
        out["initializer_range"] = init_range

    if get("d_vocab_out") == -1:
        out["d_vocab_out"] = get("d_vocab")

    rotary_dim = get("rotary_dim")
    if get("positional_embedding_type") == "rotary" and rotary_dim is None:
        out["rotary_dim"] = d_head
    elif rotary_dim is not None and rotary_dim > d_head:
        raise PresetValidationError(
            f"must be at most d_head ({d_head}): rotary embeddings turn part of each head, "
            f"got {rotary_dim}",
            key="rotary_dim",
        )

    num_experts = get("num_experts")
    experts_per_token = get("experts_per_token")
    if num_experts is not None and experts_per_token is None:
        raise PresetValidationError("must be set when num_experts is set", key="experts_per_token")
    if experts_per_token is not None and num_experts is None:
        raise PresetValidationError("must be set when experts_per_token is set", key="num_experts")
    if num_experts is not None and experts_per_token > num_experts:
        raise PresetValidationError(
            f"must be at most num_experts ({num_experts}), got {experts_per_token}",
            key="experts_per_token",
        )

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

    dtype = values.get("dtype")
    if isinstance(dtype, str):
        dtype_name(dtype)
    return out


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


_NO_DEFAULT = object()

#: Every optional field's default as plain data (``dtype`` by name).
FIELD_DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in fields(HookedTransformerConfig)
    if f.default is not MISSING and f.name != "dtype"
}
FIELD_DEFAULTS["dtype"] = "float32"
# The defaults a built config holds as they are (dtype is a torch.dtype there).
_PLAIN_DEFAULTS = {k: v for k, v in FIELD_DEFAULTS.items() if k != "dtype"}
