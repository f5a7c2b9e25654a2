"""The errors of the Hugging Face bridges, both :class:`~transformer_presets.PresetError`, and
the import's note (a warning category) on a value it took without the file saying it."""

from __future__ import annotations

from ..errors import PresetError

__all__ = ["HFConfigError", "HFConfigNote", "HFExportError"]


class HFConfigError(PresetError):
    """A Hugging Face ``config.json`` cannot be read or turned into a preset."""


class HFConfigNote(UserWarning):
    """A value :func:`~transformer_presets.from_hf_config` took without the file saying it
    (a warning category: ``import-hf`` shows it as a note and writes it into the preset's
    comments)."""


class HFExportError(PresetError):
    """A preset cannot be written as a Hugging Face ``config.json``."""
