"""The records the library hands back: :class:`PresetInfo`, :class:`FieldOrigin`,
:class:`Checkpoints` and :class:`CacheInfo`.

Named tuples, so that they unpack, compare and print like the plain data they
are, and ``to_dict()`` gives their JSON form. (They are imported only where a
record is made: see the start-up note in ``cli/__init__.py``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["CacheInfo", "Checkpoints", "FieldOrigin", "PresetInfo"]


class PresetInfo(NamedTuple):
    """One row of :func:`list_presets`: who a preset is and its main sizes.

    Sizes are None for an abstract preset that does not set them, and for a
    preset that cannot be loaded (then ``error`` says why).
    ``modified_by`` names the files from outside the bundled set that
    contribute to a bundled preset's values (a user file that redefines one
    of its parents, say); it is empty for presets that are not bundled.
    ``remote_code_warning`` is true when ``trust_remote_code`` is on and any
    file from outside the bundled set contributed to the preset.
    """

    name: str
    aliases: tuple[str, ...]
    description: str | None
    abstract: bool
    source: str
    file: str
    line: int
    family: str
    extends: tuple[str, ...]
    architecture: str | None
    n_layers: int | None
    d_model: int | None
    n_heads: int | None
    n_key_value_heads: int | None
    d_head: int | None
    d_mlp: int | None
    n_ctx: int | None
    d_vocab: int | None
    n_params: int | None
    dtype: str | None
    trust_remote_code: bool
    remote_code_warning: bool
    modified_by: tuple[str, ...]
    has_checkpoints: bool
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict of this record."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in self._asdict().items()
        }


class FieldOrigin(NamedTuple):
    """Where one field of a resolved preset got its value.

    ``source`` is ``"preset"`` (set in a file: ``preset``, ``file`` and
    ``line`` say where), ``"default"`` (the class default) or ``"derived"``
    (computed from other fields when the preset is built). ``note`` says more
    where the value depends on more than the preset: for ``device``, why this
    machine gets the device it gets.
    """

    field: str
    value: Any
    source: str
    preset: str | None = None
    file: str | None = None
    line: int | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict of this record."""
        return self._asdict()


class Checkpoints(NamedTuple):
    """A model's training checkpoints: ``"step"`` or ``"token"``, and the labels in order.

    ``get_preset(name, checkpoint_index=i)`` loads ``values[i]``;
    ``checkpoint_value=v`` loads the checkpoint labelled ``v``.
    """

    label_type: str
    values: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict of this record (the ``checkpoints`` table of a preset file)."""
        return {"label_type": self.label_type, "values": list(self.values)}


class CacheInfo(NamedTuple):
    """What :func:`cache_info` reports."""

    location: Path
    size_bytes: int
    entries: int
    enabled: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict of this record.

        >>> CacheInfo(Path("/c"), 10, 2, True).to_dict()["location"]
        '/c'
        """
        return {
            "location": str(self.location),
            "size_bytes": self.size_bytes,
            "entries": self.entries,
            "enabled": self.enabled,
        }
