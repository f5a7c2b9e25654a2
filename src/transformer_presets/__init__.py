"""transformer-presets: TransformerLens's ``HookedTransformerConfig`` and named presets for it.

>>> from transformer_presets import get_preset
>>> get_preset("gpt2-small").d_mlp
3072

The public surface is ``__all__`` below; the modules behind it (and the
``transformer-presets`` command line) are the implementation, free to change.

Importing this package does not import torch or numpy; building a config does.
Every name below is loaded on first use, so that the command line (which
imports the package on every start) pays only for the modules it needs.
"""

from __future__ import annotations

from .common.version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .cache.store import cache_info, clear_cache
    from .catalog.records import Checkpoints, FieldOrigin, PresetInfo
    from .config.activations import SUPPORTED_ACTIVATIONS
    from .config.hooked import HookedTransformerConfig
    from .errors import (
        PresetArgumentError,
        PresetCycleError,
        PresetError,
        PresetNotFoundError,
        PresetSyntaxError,
        PresetValidationError,
    )
    from .hf.errors import HFConfigError, HFConfigNote, HFExportError
    from .hf.exporting import to_hf_config
    from .hf.importing import from_hf_config
    from .registry.registry import (
        PresetRegistry,
        explain_preset,
        get_preset,
        list_presets,
        resolve_preset,
    )
    from .registry.user_presets import save_user_preset
    from .registry.validation import FileReport, validate_files
    from .tl4.boot import BridgeError, boot_bridge, to_bridge_config

# Public name -> the module that defines it.
_HOMES = {
    "SUPPORTED_ACTIVATIONS": "config.activations",  # holds torch functions
    "HookedTransformerConfig": "config.hooked",
    "cache_info": "cache.store",
    "clear_cache": "cache.store",
    "PresetArgumentError": "errors",
    "PresetCycleError": "errors",
    "PresetError": "errors",
    "PresetNotFoundError": "errors",
    "PresetSyntaxError": "errors",
    "PresetValidationError": "errors",
    "Checkpoints": "catalog.records",
    "FileReport": "registry.validation",
    "HFConfigError": "hf.errors",
    "HFConfigNote": "hf.errors",
    "HFExportError": "hf.errors",
    "from_hf_config": "hf.importing",
    "save_user_preset": "registry.user_presets",
    "to_hf_config": "hf.exporting",
    "validate_files": "registry.validation",
    "FieldOrigin": "catalog.records",
    "BridgeError": "tl4.boot",  # TransformerLens 4 is imported only by its two functions
    "boot_bridge": "tl4.boot",
    "to_bridge_config": "tl4.boot",
    "PresetInfo": "catalog.records",
    "PresetRegistry": "registry.registry",
    "explain_preset": "registry.registry",
    "get_preset": "registry.registry",
    "list_presets": "registry.registry",
    "resolve_preset": "registry.registry",
}

__all__ = [
    "SUPPORTED_ACTIVATIONS",
    "BridgeError",
    "Checkpoints",
    "FieldOrigin",
    "FileReport",
    "HFConfigError",
    "HFConfigNote",
    "HFExportError",
    "HookedTransformerConfig",
    "PresetArgumentError",
    "PresetCycleError",
    "PresetError",
    "PresetInfo",
    "PresetNotFoundError",
    "PresetRegistry",
    "PresetSyntaxError",
    "PresetValidationError",
    "__version__",
    "boot_bridge",
    "cache_info",
    "clear_cache",
    "explain_preset",
    "from_hf_config",
    "get_preset",
    "list_presets",
    "resolve_preset",
    "save_user_preset",
    "to_bridge_config",
    "to_hf_config",
    "validate_files",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'transformer_presets' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value  # found once, then a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
