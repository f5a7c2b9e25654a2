"""What both ways to TransformerLens 4 check first: the preset's values and the version installed.

Neither imports TransformerLens: the version comes from the installed distribution's
metadata, so TransformerLens 3 is never imported to find out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import PresetArgumentError
from .errors import BridgeError

if TYPE_CHECKING:
    from ..config.hooked import HookedTransformerConfig

__all__ = ["INSTALL", "MIN_TL_VERSION", "preset_values", "require_tl4", "show", "version_tuple"]

#: The oldest TransformerLens these functions work with (4.3: ``boot_native`` and
#: ``boot_transformers(hf_model=...)`` as used here).
MIN_TL_VERSION = (4, 3)
INSTALL = "pip install 'transformer-lens>=4.3,<5'"


def preset_values(
    preset: str | Mapping[str, Any] | HookedTransformerConfig, overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Every field of the preset with ``overrides`` applied (checked, derived values
    filled in, as a built config holds them), and its official name (None for a config)."""
    from ..config.hooked import HookedTransformerConfig

    if isinstance(preset, str):
        from ..registry.registry import default_registry

        registry = default_registry()
        name = registry.name(preset)
        return registry.get(name, **overrides).to_dict(), name
    if isinstance(preset, HookedTransformerConfig):
        if not overrides:
            return preset.to_dict(), None
        given = {k: v for k, v in preset.to_dict().items() if k != "n_params"}
    elif isinstance(preset, Mapping):
        given = dict(preset)
    else:
        raise PresetArgumentError(
            "expected a preset name, a HookedTransformerConfig or a mapping of field values, "
            f"got {type(preset).__name__}"
        )
    return HookedTransformerConfig.from_dict({**given, **overrides}).to_dict(), None


def show(value: Any) -> str:
    """A value as an error names it: TOML's booleans, a long list cut short.

    >>> show(True), show([1, 2]), show(list(range(6)))
    ('true', '[1, 2]', '[0, 1, 2, 3, ... (6 entries)]')
    """
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list) and len(value) > 4:
        return f"[{', '.join(map(repr, value[:4]))}, ... ({len(value)} entries)]"
    return repr(value)


def require_tl4(what: str) -> None:
    """Raise :class:`BridgeError` unless TransformerLens >= 4.3 is installed."""
    import importlib.metadata

    try:
        found = importlib.metadata.version("transformer-lens")
    except importlib.metadata.PackageNotFoundError:
        raise BridgeError(
            f"{what} needs TransformerLens 4 (TransformerBridge), which is not installed: {INSTALL}"
        ) from None
    version = version_tuple(found)
    if version < MIN_TL_VERSION:
        has = (
            "which has only HookedTransformer (get_preset gives its config)"
            if version[0] < 4
            else "whose loaders differ from what these functions use"
        )
        raise BridgeError(
            f"{what} needs TransformerLens {'.'.join(map(str, MIN_TL_VERSION))} or later "
            f"(TransformerBridge); found transformer-lens {found}, {has}: {INSTALL}"
        )


def version_tuple(version: str) -> tuple[int, int]:
    """The major and minor numbers of a version string (``"4.3.0rc1"`` -> ``(4, 3)``).

    >>> version_tuple("4.3.0rc1"), version_tuple("3.9.0"), version_tuple("4.10"), version_tuple("x")
    ((4, 3), (3, 9), (4, 10), (0, 0))
    """
    numbers = []
    for part in [*version.split("."), "0", "0"][:2]:
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        numbers.append(int(digits) if digits else 0)
    return numbers[0], numbers[1]
