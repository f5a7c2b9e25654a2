"""The rules of a config's fields: their kinds, bounds and choices, and the checks and
derivations ``HookedTransformerConfig.__post_init__`` runs.

Pure Python and below the class itself: the registry, the cache and the planner
check and derive values with these rules without importing the class (or
torch). The fields' kinds and defaults come from :mod:`.table`, which
``python -m tools.gen_schema`` writes from the class's own annotations and
defaults (a test holds the two equal), so the class stays the one place a
field is declared.
"""

from __future__ import annotations

import math
import numbers

from ..common.dtypes import dtype_name
from ..common.plain import is_int
from ..errors import PresetValidationError, did_you_mean
from .table import FIELD_DEFAULTS, FIELD_KINDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "ACTIVATION_NAMES",
    "DERIVED_FIELDS",
    "FIELD_BOUNDS",
    "FIELD_CHOICES",
    "FIELD_DEFAULTS",
    "INT_LIMIT",
    "MAX_EXPERTS",
    "PER_LAYER_FIELDS",
    "Bound",
    "check_and_derive",
    "field_kinds",
    "kind_matches",
    "value_problem",
]


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


class Bound:
    """The numbers a numeric field accepts: ``low`` and up (above ``low`` when ``open``),
    at most ``high``, plus the "not set" values in ``also``; ``why`` says why a value is
    refused (``why_high``, only one above ``high``).

    >>> Bound(1, also=(-1,)).problem(0)
    'must be a positive integer (or -1), got 0'
    """

    __slots__ = ("also", "high", "low", "open", "why", "why_high")

    def __init__(
        self,
        low: int,
        *,
        open: bool = False,
        high: int | None = None,
        also: tuple[Any, ...] = (),
        why: str = "",
        why_high: str = "",
    ) -> None:
        self.low = low
        self.open = open
        self.high = high
        self.also = also
        self.why = why
        self.why_high = why_high or why

    def problem(self, value: Any) -> str | None:
        if value in self.also and not isinstance(value, bool):
            return None
        why = self.why
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
            why = self.why_high
        else:
            return None
        also = f" (or {', '.join(map(repr, self.also))})" if self.also else ""
        return f"{reason}{also}, got {value!r}" + (f" ({why})" if why else "")


#: The integers TransformerLens can store: it builds tensors of these sizes and indices.
#: Numbers of float fields stay below it too (see :func:`value_problem`).
INT_LIMIT = 2**63
#: The most experts a mixture-of-experts layer may have. TransformerLens builds every
#: expert as a module of its own, with three hooks, and loops over them in Python at every
#: forward pass: 65,536 experts of the smallest width take it 26 s and 1.1 GiB to build,
#: per layer (the most in a released model is 2,048, Switch-C's). The same bound as the
#: layers a config.json and the planner hold.
MAX_EXPERTS = 65_536
_EXPERTS_WHY = "TransformerLens builds every expert as a module of its own"
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
    "num_experts": Bound(1, high=MAX_EXPERTS, why_high=_EXPERTS_WHY),
    "experts_per_token": Bound(1, high=MAX_EXPERTS, why_high=_EXPERTS_WHY),
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
    """Each field's kinds of value: ``int``, ``float``, ``bool``, ``str``,
    ``list[str]``, ``dtype`` and ``None``.

    >>> sorted(field_kinds()["rotary_base_local"])
    ['None', 'float', 'int']
    """
    return _KINDS


_KINDS: dict[str, frozenset[str]] = {name: frozenset(k) for name, k in FIELD_KINDS.items()}


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
    >>> value_problem("rotary_base", 2**63)
    'must be between -2**63 and 2**63 (64 bits), got 9223372036854775808'
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
            # A float this large is a whole number, which JSON (the schema) and a
            # TOML-to-JSON editor cannot tell from the integer refused below; and
            # TransformerLens hands these numbers to torch as 64-bit scalars.
            if not -INT_LIMIT <= float(value) < INT_LIMIT:
                return f"must be between -2**63 and 2**63 (64 bits), got {value!r}"
        elif not -INT_LIMIT <= value < INT_LIMIT:
            if "float" in kinds:
                # Not its digits: Python refuses to print integers of over 4,300.
                shown = (
                    repr(value) if abs(value) < 10**30 else f"{value.bit_length()} binary digits"
                )
                return f"must be between -2**63 and 2**63 (64 bits), got {shown}"
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
    sizes that are zero or negative, non-finite numbers, numbers beyond 64
    bits (derived ones too: ``d_mlp``, ``n_params`` and the parameter count with the
    embeddings), more than :data:`MAX_EXPERTS` experts, unknown choices, head counts that
    do not divide, more experts per token than experts, per-layer lists of another length
    than ``n_layers``.

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
            import logging  # only to warn: it would cost every start-up

            logging.getLogger("transformer_presets").warning(
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
            if d_mlp >= INT_LIMIT:
                raise PresetValidationError(
                    f"gives d_mlp = 4 * d_model = {d_mlp}, beyond 64 bits; set d_mlp",
                    key="d_model",
                )
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
    if n_params >= INT_LIMIT:
        # No model has 2**63 weights, and every count past 64 bits is one.
        sizes = {"n_layers": n_layers, "d_model": d_model, "d_head": d_head, "n_heads": n_heads}
        if not attn_only:
            sizes["d_mlp"] = d_mlp
        if num_experts:
            sizes["num_experts"] = num_experts
        key = max(sizes, key=lambda k: sizes[k])
        raise PresetValidationError(
            f"gives {n_params:.3g} parameters, beyond 64 bits (from "
            + ", ".join(f"{k} = {v}" for k, v in sizes.items())
            + ")",
            key=key,
        )
    out["n_params"] = n_params
    _check_total_params(values)

    if get("use_attn_scale") and get("attn_scale") == -1.0:
        out["attn_scale"] = math.sqrt(d_head)

    dtype = values.get("dtype")
    if isinstance(dtype, str):
        dtype_name(dtype)
    return out


# The sizes a parameter count is a product of: the candidates for the key that makes it.
_SIZE_FIELDS = (
    "n_layers",
    "d_model",
    "d_head",
    "n_heads",
    "d_mlp",
    "n_ctx",
    "d_vocab",
    "d_vocab_out",
    "num_experts",
    "n_key_value_heads",
    "relative_attention_num_buckets",
)


def _check_total_params(values: Mapping[str, Any]) -> None:
    """Refuse a model whose parameters, embeddings included, do not fit in 64 bits.

    TransformerLens's ``n_params`` leaves out embeddings, norms and biases: a context of
    2**62 positions (``W_pos``) or a vocabulary of 2**62 tokens passes it. The key named
    is the size that, were it 1, would let the count fit (the largest such); failing
    that, the largest size.
    """
    from .params import known_params

    def count(cfg: Mapping[str, Any]) -> int | None:
        try:
            return known_params(cfg)
        except PresetValidationError:
            return None  # a model TransformerLens cannot build: its own checks say so

    total = count(values)
    if total is None or total < INT_LIMIT:
        return
    sizes = {k: v for k in _SIZE_FIELDS if is_int(v := values.get(k)) and v > 1}
    ranked = sorted(sizes, key=lambda k: sizes[k], reverse=True)
    key = next(
        (k for k in ranked if (c := count({**values, k: 1})) is not None and c < INT_LIMIT),
        ranked[0],
    )
    raise PresetValidationError(
        f"gives {total:.3g} parameters (embeddings included), beyond 64 bits "
        f"(from {key} = {sizes[key]})",
        key=key,
    )


_NO_DEFAULT = object()
# The defaults a built config holds as they are (dtype is a torch.dtype there).
_PLAIN_DEFAULTS = {k: v for k, v in FIELD_DEFAULTS.items() if k != "dtype"}
