"""What may appear in a preset table: config fields with their types, and reserved keys.

Pure Python: the types are read from ``HookedTransformerConfig``'s annotations
(strings, thanks to ``from __future__ import annotations``) so the two can
never disagree, and checking a value never imports torch.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..common.dtypes import dtype_name
from ..common.plain import is_int
from ..errors import PresetValidationError, did_you_mean
from .rules import (
    FIELD_CHOICES,
    FIELD_DEFAULTS,
    INT_LIMIT,
    PER_LAYER_FIELDS,
    field_kinds,
    kind_matches,
    value_problem,
)

__all__ = [
    "CHECKPOINT_LABEL_TYPES",
    "FIELDS",
    "FIELD_CHOICES",
    "MAX_CHECKPOINTS",
    "MAX_PATTERN_LAYERS",
    "RESERVED_KEYS",
    "FieldSpec",
    "check_field_value",
    "check_reserved_value",
    "defaults",
    "describe_value",
    "expand_checkpoints",
    "expand_pattern",
    "unknown_key_error",
]

#: Keys of a preset table that are not config fields.
RESERVED_KEYS: tuple[str, ...] = (
    "extends",
    "aliases",
    "abstract",
    "description",
    "unset",
    "none",
    "checkpoints",
)

#: The most layers a ``{ repeat = [...] }`` pattern is laid out over (the deepest real
#: model has about a hundred).
MAX_PATTERN_LAYERS = 65_536

#: The most checkpoints one preset may list (Stanford CRFM's GPT-2s have 609).
MAX_CHECKPOINTS = 10_000

# Fields a preset must not set: TransformerLens recomputes n_params on every
# construction, so a value in a file would be silently thrown away; device and
# the checkpoint fields depend on how the model is loaded, not on the model.
COMPUTED_ONLY: dict[str, str] = {
    "n_params": "is always computed from the other fields; remove it",
    "from_checkpoint": "is set by get_preset(name, checkpoint_index=...) or checkpoint_value=...",
    "checkpoint_index": "is chosen at load time: get_preset(name, checkpoint_index=...)",
    "checkpoint_value": "is chosen at load time: get_preset(name, checkpoint_value=...)",
}


#: How a model's training checkpoints are labelled (``checkpoints.label_type``).
CHECKPOINT_LABEL_TYPES: tuple[str, ...] = FIELD_CHOICES["checkpoint_label_type"]


@dataclass(frozen=True)
class FieldSpec:
    """One config field: its name, the kinds of value it takes and its default."""

    name: str
    kinds: frozenset[str]
    default: Any
    required: bool

    @property
    def nullable(self) -> bool:
        return "None" in self.kinds

    def type_text(self) -> str:
        shown = [
            k for k in ("int", "float", "bool", "str", "list[str]", "dtype") if k in self.kinds
        ]
        return " or ".join(shown)


def _build_fields() -> dict[str, FieldSpec]:
    specs = {}
    for name, kinds in field_kinds().items():
        required = name not in FIELD_DEFAULTS
        specs[name] = FieldSpec(name, kinds, FIELD_DEFAULTS.get(name), required)
    return specs


#: Every ``HookedTransformerConfig`` field, in declaration order.
FIELDS: dict[str, FieldSpec] = _build_fields()


def describe_value(value: Any) -> str:
    """A short TOML-flavoured description of a value for messages: ``bool (true)``."""
    if isinstance(value, bool):
        return f"bool ({'true' if value else 'false'})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string ({shown!r})"
    if isinstance(value, int):
        return f"int ({value})"
    if isinstance(value, float):
        return f"float ({value})"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _matches(kind: str, value: Any) -> bool:
    # As read from TOML: plain Python types only, a dtype by its name.
    if kind == "dtype":
        return isinstance(value, str)
    if kind in ("int", "float", "bool") and not isinstance(value, int | float):
        return False
    return kind != "None" and kind_matches(kind, value)


def check_field_value(name: str, value: Any, *, allow_computed: bool = False) -> Any:
    """Check one config value as read from TOML (or given as an override).

    Returns the value to store (``dtype`` names are normalised to
    ``"bfloat16"``-style strings). Raises :class:`PresetValidationError` with
    the key set.

    >>> check_field_value("n_layers", 12)
    12
    >>> check_field_value("n_layers", True)
    Traceback (most recent call last):
    ...
    transformer_presets.errors.PresetValidationError: key 'n_layers': expected int, got bool (true)
    """
    spec = FIELDS.get(name)
    if spec is None:
        raise PresetValidationError(
            f"unknown field{did_you_mean(name, [*FIELDS, *RESERVED_KEYS])}", key=name
        )
    if not allow_computed and name in COMPUTED_ONLY:
        raise PresetValidationError(COMPUTED_ONLY[name], key=name)
    if name in PER_LAYER_FIELDS and isinstance(value, dict):
        return _check_pattern(name, value)
    if name == "dtype" and not isinstance(value, str):
        # A torch.dtype given as a call-time override: keep its name.
        text = str(value)
        if text.startswith("torch."):
            value = text
    if not any(_matches(kind, value) for kind in spec.kinds):
        raise PresetValidationError(
            f"expected {spec.type_text()}, got {describe_value(value)}", key=name
        )
    if name == "dtype":
        return dtype_name(value)
    problem = value_problem(name, value)
    if problem is not None:
        raise PresetValidationError(problem, key=name)
    return value


def _check_pattern(name: str, value: dict[str, Any]) -> dict[str, list[str]]:
    """A per-layer field written as ``{ repeat = [...] }``: checked, kept as a pattern."""
    if set(value) != {"repeat"}:
        extra = sorted(set(value) - {"repeat"})
        what = f"unknown key {extra[0]!r}" if extra else "no 'repeat' key"
        raise PresetValidationError(
            f"{what}; a per-layer pattern is written {{ repeat = [...] }}", key=name
        )
    pattern = value["repeat"]
    if not isinstance(pattern, list) or not pattern or not all(isinstance(v, str) for v in pattern):
        raise PresetValidationError(
            f"repeat must be a non-empty array of strings, got {describe_value(pattern)}", key=name
        )
    problem = value_problem(name, pattern)
    if problem is not None:
        raise PresetValidationError(problem, key=name)
    return {"repeat": list(pattern)}


def expand_pattern(value: Any, n_layers: Any) -> Any:
    """A per-layer value with any ``{ repeat = [...] }`` pattern laid out over ``n_layers``.

    The pattern starts at layer 0 and repeats until every layer has an entry
    (the last repetition cut short). Anything else is returned as it is.

    >>> expand_pattern({"repeat": ["local", "local", "global"]}, 7)
    ['local', 'local', 'global', 'local', 'local', 'global', 'local']
    """
    if not (isinstance(value, dict) and is_int(n_layers) and n_layers >= 0):
        return value
    if n_layers > MAX_PATTERN_LAYERS:
        raise PresetValidationError(
            f"cannot lay a per-layer pattern out over {n_layers} layers "
            f"(at most {MAX_PATTERN_LAYERS})",
            key="n_layers",
        )
    pattern = value["repeat"]
    return [pattern[i % len(pattern)] for i in range(n_layers)]


def check_reserved_value(key: str, value: Any) -> Any:
    """Check a reserved key's value and return it in canonical form.

    ``extends`` becomes a list of names; the others are returned as they are.
    """

    def fail(expected: str) -> PresetValidationError:
        return PresetValidationError(f"expected {expected}, got {describe_value(value)}", key=key)

    if key == "extends":
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise fail("a preset name or an array of preset names")
    if key in ("aliases", "unset", "none"):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            for item in value if key != "aliases" else ():
                if item not in FIELDS:
                    raise PresetValidationError(
                        f"{item!r} is not a config field{did_you_mean(item, FIELDS)}", key=key
                    )
                if key == "none" and not FIELDS[item].nullable:
                    raise PresetValidationError(
                        f"{item!r} cannot be None (it takes {FIELDS[item].type_text()})", key=key
                    )
            return list(value)
        raise fail("an array of strings")
    if key == "abstract":
        if isinstance(value, bool):
            return value
        raise fail("bool")
    if key == "description":
        if isinstance(value, str):
            return value
        raise fail("string")
    if key == "checkpoints":
        expand_checkpoints(value)
        return value
    raise PresetValidationError(  # pragma: no cover - callers only pass reserved keys
        "not a reserved key", key=key
    )


def expand_checkpoints(value: Any) -> tuple[str, list[int]]:
    """Read a ``checkpoints`` table: ``(label_type, [checkpoint values in order])``.

    The table has ``label_type`` (``"step"`` or ``"token"``), and ``values`` (an
    array of integers) and/or ``ranges`` (an array of ``[start, stop, step]``,
    stop included), which are concatenated; the result must increase strictly.

    >>> expand_checkpoints({"label_type": "step", "values": [0, 1], "ranges": [[10, 30, 10]]})
    ('step', [0, 1, 10, 20, 30])
    """

    def fail(message: str) -> PresetValidationError:
        return PresetValidationError(message, key="checkpoints")

    if not isinstance(value, Mapping):
        raise fail(
            f"expected a table with label_type, values and/or ranges, got {describe_value(value)}"
        )
    extra = set(value) - {"label_type", "values", "ranges"}
    if extra:
        raise fail(f"unknown key {sorted(extra)[0]!r} (expected label_type, values, ranges)")
    label = value.get("label_type")
    if label not in CHECKPOINT_LABEL_TYPES:
        raise fail(f"label_type must be 'step' or 'token', got {label!r}")
    values = value.get("values", [])
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < INT_LIMIT for v in values
    ):
        raise fail("values must be an array of integers from 0 to 2**63 - 1")
    ranges = value.get("ranges", [])
    if not isinstance(ranges, list):
        raise fail("ranges must be an array of [start, stop, step] arrays")
    count = len(values)
    for r in ranges:
        if not (
            isinstance(r, list)
            and len(r) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in r)
            and 0 <= r[0] < INT_LIMIT
            and 0 <= r[1] < INT_LIMIT
            and 0 < r[2] < INT_LIMIT
        ):
            raise fail(
                "each range must be [start, stop, step] of integers from 0 to 2**63 - 1 "
                f"with step > 0, got {r!r:.80}"
            )
        # Count before expanding: a range may be written to stand for billions of steps.
        count += max(0, (r[1] - r[0]) // r[2] + 1)
        if count > MAX_CHECKPOINTS:
            raise fail(
                f"lists more than {MAX_CHECKPOINTS} checkpoints; a preset may list at most "
                f"{MAX_CHECKPOINTS} (the largest real list has 609)"
            )
    if count > MAX_CHECKPOINTS:
        raise fail(f"lists {count} checkpoints; a preset may list at most {MAX_CHECKPOINTS}")
    out: list[int] = list(values)
    for r in ranges:
        out.extend(range(r[0], r[1] + 1, r[2]))
    if not out:
        raise fail("lists no checkpoints")
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise fail("checkpoint values must increase strictly")
    return label, out


def unknown_key_error(key: str) -> PresetValidationError:
    """The error for a key that is neither a config field nor a reserved key."""
    return PresetValidationError(
        f"unknown field{did_you_mean(key, [*FIELDS, *RESERVED_KEYS])}", key=key
    )


def defaults() -> dict[str, Any]:
    """Every non-required field's default, JSON-friendly (``dtype`` as a name)."""
    return {name: spec.default for name, spec in FIELDS.items() if not spec.required}
