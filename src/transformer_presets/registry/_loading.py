"""Loading a preset: the checks its entry passes first, and building its config.

:func:`loadable` is what :meth:`PresetRegistry.resolve`, ``get``, ``explain`` and
``derived`` share (an error, an abstract preset, code from a repository);
:func:`build_config` is ``get``: call-time overrides, training checkpoints and a
memo of the configs built last. Imported on first load, never by a listing.
"""

from __future__ import annotations

import warnings

from ..errors import PresetError, PresetValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..catalog.types import Entry, Origin
    from ..config.hooked import HookedTransformerConfig

__all__ = ["MEMO_SIZE", "Loaded", "build_config", "copy_values", "loadable"]


class Loaded:
    """A preset that can be loaded: its entry, and the values, origins and derived
    values that such an entry always has."""

    __slots__ = ("derived", "entry", "origins", "values")

    def __init__(
        self,
        entry: Entry,
        values: dict[str, Any],
        origins: dict[str, Origin],
        derived: dict[str, Any],
    ) -> None:
        self.entry = entry
        self.values = values
        self.origins = origins
        self.derived = derived


def loadable(entry: Entry) -> Loaded:
    """``entry`` as a preset that loads, or the error that stops it.

    Warns when a preset that is not bundled as it stands turns on
    ``trust_remote_code``. The warning names the line that called
    ``get_preset`` (or ``resolve_preset``, ...): its ``stacklevel`` counts
    this function, ``PresetRegistry._loadable``, the method and the
    module-level function.
    """
    values, origins = entry["values"], entry["origins"]
    if entry["error"] is not None:
        from ..catalog.entries import error_from_json

        raise error_from_json(entry["error"])
    if values is None or origins is None:  # pragma: no cover - entries are checked
        raise PresetError("has neither values nor an error", preset=entry["name"])
    if entry["abstract"]:
        raise PresetError(
            "is abstract (a base or overlay to extend), not a model to load; "
            "extend it from a preset of your own",
            preset=entry["name"],
            key="abstract",
            file=entry["file"],
            line=entry["line"],
        )
    outside = entry["kind"] != "bundled" or entry["modified_by"]
    if outside and values.get("trust_remote_code"):
        origin = origins.get("trust_remote_code")
        setter = entry["file"] if origin is None else origin["file"]
        modified = (
            f", modified by {', '.join(entry['modified_by'])}" if entry["modified_by"] else ""
        )
        warnings.warn(
            f"preset {entry['name']!r} from {entry['file']}{modified} turns on "
            f"trust_remote_code (set in {setter}): loading this model will run code "
            "from its repository; load it only if you trust that code",
            UserWarning,
            stacklevel=5,
        )
    return Loaded(entry, values, origins, entry["derived"] or {})


def copy_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each list copied: what is handed out is never the catalog's own."""
    return {k: list(v) if isinstance(v, list) else v for k, v in values.items()}


# -- building a config ----------------------------------------------------------

#: How many built configs a registry keeps for repeated get() calls.
MEMO_SIZE = 64

_MEMO_TYPES = frozenset({bool, int, float, str, type(None)})


def build_config(
    loaded: Loaded, overrides: dict[str, Any], memo: dict[Any, HookedTransformerConfig]
) -> HookedTransformerConfig:
    """The config of ``loaded`` with ``overrides`` (see :meth:`PresetRegistry.get`).

    Building the same config again gives the same config: ``memo`` (the
    registry's, emptied when its catalog is read again) keeps the last
    :data:`MEMO_SIZE` and a copy is handed out, so a loop of ``get_preset()``
    costs about what constructing the class does. Copies re-seed when the
    config has a seed.
    """
    from ..config.hooked import copy_config

    memo_key = _memo_key(loaded.entry, overrides)
    built = memo.get(memo_key) if memo_key is not None else None
    if built is None:
        built = _build(loaded, dict(overrides))
        if memo_key is not None:
            if len(memo) >= MEMO_SIZE:
                del memo[next(iter(memo))]
            memo[memo_key] = built
    return copy_config(built)


def _memo_key(entry: Entry, overrides: dict[str, Any]) -> Any:
    """A key for a built config, or None when the overrides cannot make one.

    Each value goes in with its exact type: ``True``, ``1`` and ``1.0`` are
    equal and hash alike, but are different overrides (one of them may even
    be rejected), so a key of values alone would hand out one for another.
    So are ``0.0`` and ``-0.0``: a float goes in as its exact bits.
    """
    parts = []
    for key, value in overrides.items():
        if type(value) not in _MEMO_TYPES:
            return None  # lists, dtypes, NumPy numbers: built every time
        parts.append((key, type(value), value.hex() if type(value) is float else value))
    return (entry["name"], entry["file"], frozenset(parts))


def _build(loaded: Loaded, overrides: dict[str, Any]) -> HookedTransformerConfig:
    from ..fields.keys import FIELDS, check_field_value

    entry = loaded.entry
    values = copy_values(loaded.values)
    preset = entry["name"]
    checkpoint = {
        k: overrides.pop(k) for k in ("checkpoint_index", "checkpoint_value") if k in overrides
    }
    for key, value in overrides.items():
        try:
            if value is None and key in FIELDS and FIELDS[key].nullable:
                values[key] = None
            else:
                values[key] = check_field_value(key, value)
        except PresetError as exc:
            raise type(exc)(
                f"bad call-time override: {exc.reason}",
                preset=preset,
                key=key,
                file=entry["file"],
            ) from None
    if checkpoint:
        try:
            values.update(_checkpoint_fields(entry, **checkpoint))
        except PresetError as exc:
            raise exc.with_context(file=entry["file"]) from None

    from ..config.hooked import HookedTransformerConfig

    try:
        return HookedTransformerConfig(**values)
    except PresetError as exc:
        origin = loaded.origins.get(exc.key or "")
        if origin is not None and exc.key not in overrides:
            raise exc.with_context(
                preset=preset, file=origin["file"], line=origin["line"]
            ) from None
        raise exc.with_context(preset=preset, file=entry["file"]) from None


def _checkpoint_fields(entry: Entry, **request: Any) -> dict[str, Any]:
    name = entry["name"]
    if entry["checkpoints"] is None:
        raise PresetError(
            "has no training checkpoints; checkpoint_index and checkpoint_value "
            "apply to models that publish them (Pythia, Stanford CRFM GPT-2)",
            preset=name,
            file=entry["file"],
            key=next(iter(request)),
        )
    if len(request) == 2:
        raise PresetError(
            "give checkpoint_index or checkpoint_value, not both",
            preset=name,
            key="checkpoint_index",
        )
    label_type, labels = entry["checkpoints"]["label_type"], entry["checkpoints"]["values"]
    if "checkpoint_index" in request:
        index = request["checkpoint_index"]
        if not isinstance(index, int) or isinstance(index, bool):
            raise PresetValidationError(
                f"expected int, got {type(index).__name__}", preset=name, key="checkpoint_index"
            )
        if not -len(labels) <= index < len(labels):
            raise PresetError(
                f"index {index} is out of range: this model has {len(labels)} checkpoints "
                f"(0 to {len(labels) - 1})",
                preset=name,
                key="checkpoint_index",
            )
        value = labels[index]
    else:
        value = request["checkpoint_value"]
        if not isinstance(value, int) or isinstance(value, bool) or value not in labels:
            nearest = sorted(labels, key=lambda v: abs(v - value) if isinstance(value, int) else 0)[
                :3
            ]
            raise PresetError(
                f"{value!r} is not a checkpoint of this model ({label_type}s "
                f"{labels[0]}..{labels[-1]}; nearest: {', '.join(map(str, sorted(nearest)))})",
                preset=name,
                key="checkpoint_value",
            )
        index = labels.index(value)
    return {
        "from_checkpoint": True,
        "checkpoint_index": index,
        "checkpoint_value": value,
        "checkpoint_label_type": label_type,
    }
