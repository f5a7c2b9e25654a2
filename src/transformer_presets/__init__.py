"""transformer-presets: TransformerLens's ``HookedTransformerConfig`` and named presets for it.

>>> from transformer_presets import get_preset
>>> get_preset("gpt2-small").d_mlp
3072

Importing this package does not import torch or numpy; building a config does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cache import cache_info, clear_cache
from .config import HookedTransformerConfig
from .errors import (
    PresetCycleError,
    PresetError,
    PresetNotFoundError,
    PresetSyntaxError,
    PresetValidationError,
)
from .registry import (
    FieldOrigin,
    PresetInfo,
    PresetRegistry,
    explain_preset,
    get_preset,
    list_presets,
    resolve_preset,
)

if TYPE_CHECKING:
    from .activations import SUPPORTED_ACTIVATIONS

__version__ = "0.1.0"

__all__ = [
    "SUPPORTED_ACTIVATIONS",
    "FieldOrigin",
    "HookedTransformerConfig",
    "PresetCycleError",
    "PresetError",
    "PresetInfo",
    "PresetNotFoundError",
    "PresetRegistry",
    "PresetSyntaxError",
    "PresetValidationError",
    "__version__",
    "cache_info",
    "clear_cache",
    "explain_preset",
    "get_preset",
    "list_presets",
    "resolve_preset",
]


def __getattr__(name: str) -> Any:
    # SUPPORTED_ACTIVATIONS holds torch functions; import torch only when asked for it.
    if name == "SUPPORTED_ACTIVATIONS":
        from .activations import SUPPORTED_ACTIVATIONS

        return SUPPORTED_ACTIVATIONS
    raise AttributeError(f"module 'transformer_presets' has no attribute {name!r}")
