"""The shapes of the data that travels between modules, for the type checker only.

Nothing imports this module at run time (only under ``TYPE_CHECKING``), so the
``typing`` machinery it needs costs no start-up. The data itself stays plain
dicts and lists: that is what the cache stores and reads back.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["CheckpointData", "Entry", "ErrorData", "Origin", "SummaryRow"]


class Origin(TypedDict):
    """Where a field's value was set: by which preset, in which file, on which line."""

    preset: str
    file: str
    line: int


#: A :class:`~transformer_presets.errors.PresetError` as plain data (``class`` is its class name).
ErrorData = TypedDict(
    "ErrorData",
    {
        "class": str,
        "reason": str,
        "file": str | None,
        "preset": str | None,
        "key": str | None,
        "line": int | None,
        "col": int | None,
    },
)


class CheckpointData(TypedDict):
    """A model's training checkpoints: how they are labelled, and the labels in order."""

    label_type: str
    values: list[int]


class Entry(TypedDict):
    """One preset of a catalog, resolved: either ``values`` (and ``origins``) or an ``error``.

    ``values`` holds the fields the preset files set; ``derived`` what the
    class computes from them (None for abstract presets); ``modified_by`` the
    files from outside the bundled set that contributed to a bundled preset;
    ``patterns`` the per-layer fields ``values`` holds laid out from a
    ``{ repeat = [...] }`` pattern, with the pattern (which a preset extending
    this one lays out over its own layers).
    """

    name: str
    aliases: list[str]
    abstract: bool
    description: str | None
    kind: str
    file: str
    line: int
    extends: list[str]
    family: str
    values: dict[str, Any] | None
    origins: dict[str, Origin] | None
    checkpoints: CheckpointData | None
    derived: dict[str, Any] | None
    error: ErrorData | None
    modified_by: list[str]
    patterns: dict[str, dict[str, list[str]]] | None


#: What listing needs of an entry (``catalog.entries.summarize``): the fields of
#: :class:`~transformer_presets.catalog.records.PresetInfo` as plain data (lists where
#: the record has tuples, and ``line`` None where it has 0), plus ``shadowed``. Its
#: fields are declared once, on the record; ``cache._files.SUMMARY_COLUMNS`` checks
#: each column's kind where rows are read back.
SummaryRow = dict[str, Any]
