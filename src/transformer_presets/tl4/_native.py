"""The native model's config: what ``TransformerBridgeConfig`` takes for a preset, or why not.

:mod:`.fields` decides each field; here those decisions become the config's arguments,
and a preset the native model would build differently becomes a :class:`BridgeError`
that names the field and says whether ``boot_bridge`` builds it instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import PresetError, first_problem
from ._inputs import transformers_config
from ._preset import show
from .errors import BridgeError
from .fields import DROPPED, FIELD_DECISIONS, NATIVE_ACTIVATIONS, native_problems

__all__ = ["bridge_config_values", "refuse_native"]


def refuse_native(values: Mapping[str, Any], name: str | None) -> None:
    """Raise :class:`BridgeError` if the native model would build another model than ``values``."""
    problems = native_problems(values)
    if problems:
        field, problem = first_problem(problems, values, show)
        raise BridgeError(
            f"TransformerLens 4's native model cannot build this preset: {problem}; "
            f"{_instead(values, name)}",
            preset=name,
            key=field,
        )


def _instead(values: Mapping[str, Any], name: str | None) -> str:
    """Where to go instead of the native model: boot_bridge, if it builds this preset."""
    try:
        transformers_config(values, name)
    except PresetError as exc:
        if exc.key == "original_architecture" and "cannot export" in exc.reason:
            reason = f"transformers has no {values['original_architecture']} architecture"
        else:
            reason = exc.reason
        return f"nor can boot_bridge, which builds through transformers: {reason}"
    called = f"boot_bridge({name!r})" if name else "boot_bridge(...)"
    return f"{called} builds it through transformers"


def _rope_scaling(v: Mapping[str, Any]) -> dict[str, Any] | None:
    """The native model's ``rope_scaling`` for what HookedTransformer scales, or None."""
    if v["positional_embedding_type"] != "rotary":
        return None
    if v["use_NTK_by_parts_rope"]:
        return {
            "rope_type": "llama3",
            "factor": float(v["NTK_by_parts_factor"]),
            "low_freq_factor": float(v["NTK_by_parts_low_freq_factor"]),
            "high_freq_factor": float(v["NTK_by_parts_high_freq_factor"]),
            "original_max_position_embeddings": int(v["NTK_original_ctx_len"]),
        }
    if not v["use_yarn_rope"] and v["rotary_scaling_factor"] != 1.0:
        return {"rope_type": "linear", "factor": float(v["rotary_scaling_factor"])}
    return None


def bridge_config_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(arguments, attributes)``: what ``TransformerBridgeConfig(**arguments)`` takes for
    ``values``, and what is set on it after construction (``rotary_base``, whose
    ``__init__`` truncates it with ``int()``, and ``rope_scaling``, which it does not take).

    ``values`` must be a preset the native model builds (:func:`native_problems` empty).
    """
    arguments: dict[str, Any] = {}
    for field, decision in FIELD_DECISIONS.items():
        if decision.kind == DROPPED or not decision.tl4_field:
            continue
        value = values[field]
        if field == "act_fn":
            value = NATIVE_ACTIVATIONS.get(value, value) if value is not None else None
        elif field == "final_rms":
            value = bool(value) and values["normalization_type"] in ("LN", "LNPre")
        elif field == "rotary_adjacent_pairs":
            value = True
        elif field == "rotary_base":
            value = int(value)  # set exactly below
        elif field == "tokenizer_prepends_bos" and value is None:
            continue
        arguments[field] = value
    attributes: dict[str, Any] = {"rotary_base": values["rotary_base"]}
    scaling = _rope_scaling(values)
    if scaling is not None:
        attributes["rope_scaling"] = scaling
    return arguments, attributes
