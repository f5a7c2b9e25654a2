"""A catalog entry: one preset, resolved, as plain data.

An entry holds either the merged values of a preset (with the origin of each)
or the error that stops it from loading. Entries are plain dicts and lists so
that the cache can store them and read them back without parsing TOML; their
shape is :class:`~transformer_presets.catalog.types.Entry`. This module makes the
parts of an entry that are not values (errors as data, the summary a listing
needs) and checks entries read back from the cache.
"""

from __future__ import annotations

from ..errors import ERROR_CLASSES, PresetError
from ..fields.rules import PER_LAYER_FIELDS
from ..fields.table import FIELD_KINDS
from ..files.sources import KIND_BY_LEVEL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .types import Entry, ErrorData, SummaryRow

__all__ = [
    "ENTRY_KEYS",
    "entry_problem",
    "error_from_json",
    "error_to_json",
    "natural_key",
    "summarize",
]


def error_to_json(error: PresetError) -> ErrorData:
    """An error as plain data, to store in an entry."""
    return {
        "class": type(error).__name__,
        "reason": error.reason,
        "file": error.file,
        "preset": error.preset,
        "key": error.key,
        "line": error.line,
        "col": error.col,
    }


def error_from_json(data: ErrorData) -> PresetError:
    """Rebuild an error stored by :func:`error_to_json`."""
    cls = ERROR_CLASSES.get(data.get("class", ""), PresetError)
    return cls(
        data["reason"],
        file=data.get("file"),
        preset=data.get("preset"),
        key=data.get("key"),
        line=data.get("line"),
        col=data.get("col"),
    )


def summarize(entry: Entry, *, shadowed: bool = False) -> SummaryRow:
    """The fields of a :class:`~transformer_presets.catalog.records.PresetInfo` for an entry.

    Plain data, so that a listing can be read from the cache in one small file
    instead of every entry. ``shadowed`` is stored beside them: a definition
    hidden by a higher-precedence one of the same name is not listed.
    """
    values = entry["values"] or {}
    derived = entry["derived"] or {}

    def size(name: str) -> Any:
        return values[name] if name in values else derived.get(name)

    remote = bool(values.get("trust_remote_code"))
    modified_by = list(entry["modified_by"])
    error = None if entry["error"] is None else str(error_from_json(entry["error"]))
    return {
        "name": entry["name"],
        "aliases": list(entry["aliases"]),
        "description": entry["description"],
        "abstract": entry["abstract"],
        "source": entry["kind"],
        "file": entry["file"],
        "line": entry["line"],
        "family": entry["family"],
        "extends": list(entry["extends"]),
        "architecture": values.get("original_architecture"),
        "n_layers": size("n_layers"),
        "d_model": size("d_model"),
        "n_heads": size("n_heads"),
        "n_key_value_heads": values.get("n_key_value_heads"),
        "d_head": size("d_head"),
        "d_mlp": size("d_mlp"),
        "n_ctx": size("n_ctx"),
        "d_vocab": size("d_vocab"),
        "n_params": derived.get("n_params"),
        "dtype": values.get("dtype", "float32" if entry["values"] is not None else None),
        "trust_remote_code": remote,
        "remote_code_warning": remote and (entry["kind"] != "bundled" or bool(modified_by)),
        "modified_by": modified_by,
        "has_checkpoints": entry["checkpoints"] is not None,
        "error": error,
        "shadowed": shadowed,
    }


def entry_problem(entry: Any) -> str | None:
    """Why ``entry`` is not an entry this module makes, or None.

    The cache hands back what a file says; this checks every key and type an
    entry's readers rely on, so that damage is noticed, never a ``KeyError``
    (or a code object as a model name) deep inside a lookup.
    """
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        return "not an entry"
    for key in ("name", "kind", "file", "family"):
        if not isinstance(entry[key], str):
            return f"its {key} is not a string"
    if entry["kind"] not in KIND_BY_LEVEL.values():
        return "an unknown kind of source"
    if type(entry["line"]) is not int or type(entry["abstract"]) is not bool:
        return "its line or abstract flag is of the wrong type"
    if entry["description"] is not None and not isinstance(entry["description"], str):
        return "its description is not a string"
    for key in ("aliases", "extends", "modified_by"):
        if not _strings(entry[key]):
            return f"its {key} is not a list of strings"
    values, origins = entry["values"], entry["origins"]
    if values is None:
        if origins is not None or entry["error"] is None or entry["patterns"] is not None:
            return "neither values nor an error"
    else:
        if not _patterns(entry["patterns"]):
            return "its patterns are not per-layer fields and { repeat = [...] } lists"
        if not isinstance(values, dict) or not isinstance(origins, dict):
            return "its values or origins are not tables"
        for name, value in values.items():
            kinds = FIELD_KINDS.get(name) if isinstance(name, str) else None
            if kinds is None:
                return f"an unknown field {name!r:.40}"
            if isinstance(value, dict) and name in PER_LAYER_FIELDS:
                # An abstract preset's { repeat = [...] } pattern, not yet laid out.
                value = value.get("repeat") if set(value) == {"repeat"} else 0
            if not any(_PLAIN_KINDS[k](value) for k in kinds):
                return f"field {name!r} holds a {type(value).__name__}"
            origin = origins.get(name)
            if not (
                isinstance(origin, dict)
                and set(origin) == {"preset", "file", "line"}
                and isinstance(origin["preset"], str)
                and isinstance(origin["file"], str)
                and type(origin["line"]) is int
            ):
                return f"field {name!r} has no origin"
    derived = entry["derived"]
    if derived is not None and not (
        isinstance(derived, dict)
        and all(isinstance(k, str) and k in FIELD_KINDS for k in derived)
        and all(v is None or type(v) in (int, float, bool, str) for v in derived.values())
    ):
        return "its derived values are not plain fields"
    checkpoints = entry["checkpoints"]
    if checkpoints is not None and not (
        isinstance(checkpoints, dict)
        and set(checkpoints) == {"label_type", "values"}
        and checkpoints["label_type"] in ("step", "token")
        and isinstance(checkpoints["values"], list)
        and checkpoints["values"]
        and all(type(v) is int for v in checkpoints["values"])
    ):
        return "its checkpoints are not a label type and a list of integers"
    error = entry["error"]
    if error is not None and not (
        isinstance(error, dict)
        and set(error) == {"class", "reason", "file", "preset", "key", "line", "col"}
        and isinstance(error["reason"], str)
        and error["class"] in ERROR_CLASSES
        and all(error[k] is None or isinstance(error[k], str) for k in ("file", "preset", "key"))
        and all(error[k] is None or type(error[k]) is int for k in ("line", "col"))
    ):
        return "its error is not an error"
    return None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _patterns(value: Any) -> bool:
    return isinstance(value, dict) and all(
        name in PER_LAYER_FIELDS
        and isinstance(pattern, dict)
        and set(pattern) == {"repeat"}
        and _strings(pattern["repeat"])
        for name, pattern in value.items()
    )


# Each kind of value as the cache holds it: plain data only (a dtype by its name).
_PLAIN_KINDS: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: type(v) is int,
    "float": lambda v: type(v) in (int, float),
    "bool": lambda v: type(v) is bool,
    "str": lambda v: type(v) is str,
    "dtype": lambda v: type(v) is str,
    "list[str]": _strings,
    "None": lambda v: v is None,
}


ENTRY_KEYS = frozenset(
    {
        "name",
        "aliases",
        "abstract",
        "description",
        "kind",
        "file",
        "line",
        "extends",
        "family",
        "values",
        "origins",
        "checkpoints",
        "derived",
        "error",
        "modified_by",
        "patterns",
    }
)


def natural_key(text: str) -> list[Any]:
    """Sort key for names in natural order: numbers compare as numbers, and a number
    followed by a size unit (``k``, ``m``, ``b``, ``t``) compares by its magnitude,
    also written with the unit as its decimal point (BLOOM's ``1b7`` is 1.7 billion).

    >>> sorted(["pythia-12b", "pythia-160m", "pythia-14m", "pythia-1.4b", "pythia-70m"],
    ...        key=natural_key)
    ['pythia-14m', 'pythia-70m', 'pythia-160m', 'pythia-1.4b', 'pythia-12b']
    >>> sorted(["gpt2-x10", "gpt2-x9", "t5-base"], key=natural_key)
    ['gpt2-x9', 'gpt2-x10', 't5-base']
    >>> sorted(["bloom-2b", "bloom-1b7", "bloom-1.5b", "bloom-560m"], key=natural_key)
    ['bloom-560m', 'bloom-1.5b', 'bloom-1b7', 'bloom-2b']
    """
    import re

    parts: list[Any] = []
    for chunk in re.split(_NUMBER, text.casefold()):
        if not chunk:
            continue
        if chunk[0] in "0123456789":
            whole, unit, fraction = re.fullmatch(_PARTS, chunk).groups()  # type: ignore[union-attr]
            if fraction and "." not in whole:
                whole = f"{whole}.{fraction}"
            number = float(whole) * _UNITS.get(unit, 1)
            parts.append((0, number, chunk))
        else:
            parts.append((1, 0.0, chunk))
    return parts


# A number, with a size unit that no letter follows, and digits after the unit as its
# decimals (1b7): the parts as _PARTS splits them.
_NUMBER = r"([0-9]+(?:\.[0-9]+)?(?:[kmbt](?:[0-9]+(?![a-z.]))?(?![a-z]))?)"
_PARTS = r"([0-9.]+)([kmbt]?)([0-9]*)"
# A model's size as its name writes it: 70m, 1.4b, 8k.
_UNITS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
