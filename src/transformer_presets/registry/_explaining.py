"""What a registry says about a preset: each field's value and origin, and its records.

:func:`field_origins` is :meth:`PresetRegistry.explain`; :func:`info_record` and
:func:`checkpoints_record` make the :class:`PresetInfo` and :class:`Checkpoints`
records of ``info``, ``list`` and ``checkpoints`` from the catalog's plain data.
The record types are imported here, when a record is made: a listing from the
command line reads the summary rows alone.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..catalog.records import Checkpoints, FieldOrigin, PresetInfo
    from ..catalog.types import CheckpointData, Origin, SummaryRow

__all__ = ["checkpoints_record", "field_origins", "info_record"]


def field_origins(
    values: dict[str, Any], origins: dict[str, Origin], derived: dict[str, Any]
) -> dict[str, FieldOrigin]:
    """For every config field, in the class's order: its value and where it came from.

    ``values`` and ``origins`` are what the preset files set, ``derived`` what
    the class computes from them; every other field has the class default,
    but ``device``, which the machine decides.
    """
    from ..catalog.records import FieldOrigin
    from ..fields.keys import FIELDS

    out = {}
    for field_name, spec in FIELDS.items():
        if field_name in values:
            origin = origins[field_name]
            value = values[field_name]
            if isinstance(value, list):
                value = list(value)  # never the registry's own list
            out[field_name] = FieldOrigin(
                field_name, value, "preset", origin["preset"], origin["file"], origin["line"]
            )
        elif field_name == "device":
            # What the built config will hold here: the machine decides it.
            from ..config.device import predicted_device

            device, why = predicted_device()
            out[field_name] = FieldOrigin(field_name, device, "derived", note=why)
        elif field_name in derived:
            out[field_name] = FieldOrigin(field_name, derived[field_name], "derived")
        else:
            out[field_name] = FieldOrigin(field_name, spec.default, "default")
    return out


def info_record(row: SummaryRow) -> PresetInfo:
    """A :class:`PresetInfo` from a summary row (``catalog.entries.summarize``)."""
    from ..catalog.records import PresetInfo

    # The row holds every field of the record (lists where the record has tuples).
    fields: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in row.items()
        if name in PresetInfo._fields
    }
    fields["line"] = row["line"] or 0
    return PresetInfo(**fields)


def checkpoints_record(found: CheckpointData | None) -> Checkpoints | None:
    """The :class:`Checkpoints` of an entry's checkpoint data, or None for a model without."""
    from ..catalog.records import Checkpoints

    if found is None:
        return None
    return Checkpoints(found["label_type"], tuple(found["values"]))
