"""transformer-presets: TransformerLens's ``HookedTransformerConfig`` and named presets for it.

>>> from transformer_presets import get_preset
>>> get_preset("gpt2-small").d_mlp
3072

Importing this package does not import torch or numpy; building a config does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cache import cache_info, clear_cache
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
    from .config import HookedTransformerConfig

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
    # Loaded on first use: SUPPORTED_ACTIVATIONS holds torch functions, and the
    # config class (a dataclass) is not needed to list or resolve presets, which
    # the command line does in every start-up.
    if name == "SUPPORTED_ACTIVATIONS":
        from .activations import SUPPORTED_ACTIVATIONS

        return SUPPORTED_ACTIVATIONS
    if name == "HookedTransformerConfig":
        from .config import HookedTransformerConfig

        return HookedTransformerConfig
    raise AttributeError(f"module 'transformer_presets' has no attribute {name!r}")
