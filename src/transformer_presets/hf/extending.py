"""What a preset that extends another must say: ``import-hf --extends``.

:func:`extends_table` is the table of a preset that ``extends`` a base and resolves to
given values, minimal (no line that repeats what the base or the class's derivations
already give); :func:`closest_preset` picks the base to extend (``--extends auto``),
comparing presets as the built config holds them (:func:`differing_fields`). Plain
preset values in, plain values out: nothing here reads a ``config.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..common.plain import same_value
from ..errors import PresetError
from ..fields.keys import FIELDS, defaults, expand_pattern
from .errors import HFConfigError

__all__ = ["closest_preset", "diff_values", "differing_fields", "extends_table", "is_tuned"]


def _identical(a: Any, b: Any) -> bool:
    """Equal (but for the last bit, as numbers computed from a file may differ) and of one
    type: a preset that inherits 10000 where it wants 10000.0 builds a config holding
    another value (the type is part of it)."""
    if isinstance(a, int | float) and isinstance(b, int | float) and type(a) is not type(b):
        return False
    return same_value(a, b, rel_tol=1e-12)


def diff_values(values: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """What a preset that ``extends`` ``base`` must say to end up equal to ``values``.

    That is every field of ``values`` that ``base`` lacks or sets differently,
    plus, for a field ``base`` sets and ``values`` leaves at its default, that
    default: explicitly, or under the reserved ``unset`` key when the default
    is None (TOML cannot write None).

    >>> diff_values({"n_layers": 12, "d_model": 768}, {"n_layers": 24, "d_model": 768})
    {'n_layers': 12}
    >>> diff_values({"n_layers": 2}, {"n_layers": 2, "window_size": 8, "eps": 1e-6})
    {'eps': 1e-05, 'unset': ['window_size']}
    >>> diff_values({"n_layers": 2}, {"n_layers": 2, "normalization_type": None})
    {'normalization_type': 'LN'}
    """
    specs = defaults()
    out: dict[str, Any] = {}
    unset: list[str] = []
    none: list[str] = []
    for key, value in values.items():
        if key not in base or not _identical(base[key], value):
            if value is None:
                none.append(key)
            else:
                out[key] = value
    for key, base_value in base.items():
        if key in values or key not in FIELDS or key in ("n_params", "device", "init_weights"):
            continue
        default = specs.get(key)
        if _identical(default, base_value):
            continue
        if default is None:
            unset.append(key)
        else:
            # Also when the base sets None (its 'none' key): the default must be restated.
            out[key] = default
    if unset:
        out["unset"] = unset
    if none:
        out["none"] = none
    return out


def extends_table(
    values: Mapping[str, Any],
    base: Mapping[str, Any],
    *,
    patterns: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The table of a preset that ``extends`` ``base`` and resolves to ``values``, minimal.

    :func:`diff_values`, less every field whose value the base plus the class's
    own derivations already give (``n_heads = d_model // d_head``, ``d_mlp =
    4 * d_model``, ...): such a line would only repeat what ``show`` marks as
    derived. ``patterns`` holds the per-layer fields the base writes as a
    pattern (``{"repeat": [...]}``), which a child inherits laid out over its
    own ``n_layers``: a list that pattern gives is left out too. Reserved keys
    (``unset``, ``none``) come first.

    >>> extends_table({"n_layers": 2, "d_model": 512, "d_head": 64, "n_heads": 8,
    ...                "n_ctx": 64, "act_fn": "relu"},
    ...               {"n_layers": 12, "d_model": 512, "d_head": 64, "n_ctx": 64, "act_fn": "relu"})
    {'n_layers': 2}
    >>> extends_table({"n_layers": 3, "attn_types": ["local", "global", "local"]},
    ...               {"n_layers": 2, "attn_types": ["local", "global"]},
    ...               patterns={"attn_types": {"repeat": ["local", "global"]}})
    {'n_layers': 3}
    """
    from ..fields.rules import DERIVED_FIELDS, check_and_derive

    diff = diff_values(values, base)
    table: dict[str, Any] = {k: diff.pop(k) for k in ("unset", "none") if k in diff}
    table.update(diff)
    inherited = {
        k: v
        for k, v in (patterns or {}).items()
        if k in FIELDS and k not in table.get("unset", ()) and k not in table.get("none", ())
    }

    def merged(without: str) -> dict[str, Any]:
        out = {k: v for k, v in base.items() if k not in table.get("unset", ())}
        out.update(dict.fromkeys(table.get("none", ())))
        out.update((k, v) for k, v in table.items() if k in FIELDS)
        for key, pattern in inherited.items():
            if key not in table:  # laid out over this preset's layers, not the base's
                out[key] = expand_pattern(pattern, out.get("n_layers"))
        out.pop(without, None)
        return out

    for field, pattern in inherited.items():
        if (
            field in table
            and expand_pattern(pattern, merged(field).get("n_layers")) == table[field]
        ):
            del table[field]
    for field in DERIVED_FIELDS:
        if field not in table or field in base:
            continue
        try:
            derived = check_and_derive(merged(field)).get(field)
        except PresetError:
            continue  # needed after all
        value = table[field]
        if type(derived) is type(value) and derived == value:
            del table[field]
    return table


#: Words in a model's name that mark a tuned checkpoint rather than a base model.
_TUNED_WORDS = ("chat", "instruct", "-it", "tuned", "sft", "dpo", "rlhf", "think", "code")


def is_tuned(name: str) -> bool:
    """Whether a model's name marks it as tuned (chat, instruct, ...) rather than a base model.

    >>> is_tuned("meta-llama/Llama-2-7b-chat-hf"), is_tuned("meta-llama/Llama-2-7b-hf")
    (True, False)
    """
    lowered = name.lower().rsplit("/", 1)[-1]
    return any(word in lowered for word in _TUNED_WORDS)


def differing_fields(values: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[str]:
    """The fields (names aside) in which a preset's resolved values differ from ``values``.

    Both are compared as the built config would hold them: a field either
    leaves out counts as its default, or as what the class derives
    (``n_heads = d_model // d_head`` written out equals ``n_heads`` left out).

    >>> differing_fields({"n_layers": 2, "d_model": 64, "d_head": 16, "n_ctx": 8,
    ...                   "n_heads": 4, "act_fn": "relu"},
    ...                  {"n_layers": 3, "d_model": 64, "d_head": 16, "n_ctx": 8, "act_fn": "relu"})
    ['n_layers']
    """
    specs = defaults()
    ignored = {"model_name", "tokenizer_name", "n_params", "device", "init_weights"}

    def built(v: Mapping[str, Any]) -> dict[str, Any]:
        from ..fields.rules import check_and_derive

        full = {**specs, **v}
        try:
            full.update(check_and_derive(v))
        except PresetError:
            pass  # compared as written
        return full

    a, b = built(values), built(candidate)
    keys = (set(values) | set(candidate) | set(a)) & set(FIELDS)
    return sorted(k for k in keys - ignored if not _identical(a.get(k), b.get(k)))


def closest_preset(
    values: Mapping[str, Any],
    candidates: Mapping[str, Mapping[str, Any]],
    *,
    aliases: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """The candidate a preset made from ``values`` is best written as extending.

    A candidate named as the model itself (its ``tokenizer_name``, by name or by
    one of its ``aliases``, any case) wins. Otherwise the fewest differing fields
    (:func:`differing_fields`) win, ties going to the same
    ``original_architecture``, then to a base model over a tuned one
    (:func:`is_tuned`), then to the alphabetically first name.

    >>> closest_preset({"n_layers": 12, "d_model": 768},
    ...                {"a": {"n_layers": 24, "d_model": 1024},
    ...                 "b": {"n_layers": 12, "d_model": 1024}})
    'b'
    >>> closest_preset({"n_layers": 2}, {"m-chat": {"n_layers": 2}, "m": {"n_layers": 2}})
    'm'
    """
    if not candidates:
        raise HFConfigError("no presets to compare with")
    own = str(values.get("tokenizer_name") or "").casefold()
    if own:
        for cand_name in sorted(candidates):
            names = [cand_name, *(aliases or {}).get(cand_name, ())]
            if own in (n.casefold() for n in names):
                return cand_name

    def score(item: tuple[str, Mapping[str, Any]]) -> tuple[int, bool, bool, str]:
        cand_name, cand = item
        other_arch = cand.get("original_architecture") != values.get("original_architecture")
        return len(differing_fields(values, cand)), other_arch, is_tuned(cand_name), cand_name

    return min(candidates.items(), key=score)[0]
