"""The two errors of the Hugging Face bridges, both :class:`~transformer_presets.PresetError`."""

from __future__ import annotations

from ..errors import PresetError

__all__ = ["HFConfigError", "HFExportError"]


class HFConfigError(PresetError):
    """A Hugging Face ``config.json`` cannot be read or turned into a preset."""


class HFExportError(PresetError):
    """A preset cannot be written as a Hugging Face ``config.json``."""
