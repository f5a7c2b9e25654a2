"""Writing a preset into the user preset folder, where every lookup will find it.

A file there takes part in every lookup, so a broken one would break them all:
:func:`save_user_preset` writes only text that loads, never a second
definition of a name, never over an existing file unless asked, and never
half a file (it writes a hidden temporary file and renames it into place).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ._sources import user_preset_dir
from .errors import PresetError
from .preset_text import preset_toml
from .presetfile import name_problem, parse_preset_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from .registry import PresetRegistry

__all__ = ["file_name_for", "save_user_preset"]


def file_name_for(name: str) -> str:
    """The file a preset of this name is saved in: ``mistralai/Mistral-7B`` ->
    ``mistralai__Mistral-7B.toml``.

    >>> file_name_for("mistralai/Mistral-7B-v0.1")
    'mistralai__Mistral-7B-v0.1.toml'
    """
    text = name.replace("/", "__")
    text = re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".")
    return (text or "preset") + ".toml"


def save_user_preset(
    name: str,
    table: Mapping[str, Any],
    *,
    comments: Sequence[str] = (),
    force: bool = False,
    registry: PresetRegistry | None = None,
) -> Path:
    """Write preset ``name`` with ``table`` as its keys into the user preset folder.

    Returns the file written. Raises :class:`PresetError` naming the file when
    the name cannot be a preset name, the text would not load, the file exists
    (unless ``force``), or another user file already defines that name (a
    second definition at one level would break every lookup).
    """
    problem = name_problem(name)
    if problem:
        raise PresetError(f"invalid preset name {name!r}: {problem}", preset=name)
    target = user_preset_dir() / file_name_for(name)
    text = preset_toml(name, table, comments)
    parsed = parse_preset_text(text, str(target))
    for d in parsed.presets:
        if d.error is not None:
            raise d.error
    if target.exists() and not force:
        raise PresetError(
            "a preset file with this name exists; pass force=True (--force) to overwrite it",
            file=target,
        )
    if registry is None:
        from .registry import PresetRegistry

        registry = PresetRegistry()
    try:
        other = registry.info(name)
    except PresetError:
        other = None
    if other is not None and other.source == "user" and Path(other.file) != target:
        raise PresetError(
            f"a user preset named {other.name!r} already exists in {other.file}:{other.line}; "
            "remove it or save under another name",
            file=target,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")  # hidden: the registry skips it
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PresetError(f"cannot write: {exc.strerror or exc}", file=target) from None
    return target
