"""The error of the TransformerLens 4 functions, apart so that every module of ``tl4`` raises it."""

from __future__ import annotations

from ..errors import PresetError

__all__ = ["BridgeError"]


class BridgeError(PresetError):
    """A preset cannot become a TransformerLens 4 model the way it was asked for."""
