"""Writing a preset into the user preset folder, where every lookup will find it.

A file there takes part in every lookup, so a broken one would break them all:
:func:`save_user_preset` writes only text that loads, never a second
definition of a name, never over an existing file unless asked, and never
half a file (``_filewrite``: a hidden temporary file renamed into place, or
created exclusively unless forced).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from ..common.fileio import MAX_PRESET_FILE_BYTES
from ..common.filewrite import write_file
from ..errors import PresetArgumentError, PresetError, PresetValidationError
from ..files.reader import name_problem, parse_preset_text
from ..files.sources import user_preset_dir
from ..files.text import preset_toml

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
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
    if not isinstance(name, str):
        raise PresetArgumentError(f"preset names are strings, got {type(name).__name__}")
    if not isinstance(table, Mapping):
        raise PresetArgumentError(
            f"the preset's table must be a mapping of keys to values, got {type(table).__name__}",
            preset=name,
        )
    if isinstance(comments, str) or not all(isinstance(c, str) for c in comments):
        raise PresetArgumentError("comments must be a sequence of strings", preset=name)
    problem = name_problem(name)
    if problem:
        raise PresetError(f"invalid preset name {name!r}: {problem}", preset=name)
    target = user_preset_dir() / file_name_for(name)
    text = _toml_text(name, table, comments, str(target))
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PRESET_FILE_BYTES:
        # Every lookup would then fail on the file it refuses to read.
        raise PresetError(
            f"would be larger than {MAX_PRESET_FILE_BYTES >> 10} KiB, the limit for a preset file",
            file=target,
            preset=name,
        )
    parsed = parse_preset_text(text, str(target))
    for d in parsed.presets:
        if d.error is not None:
            raise d.error
    if os.path.lexists(target) and not force:
        raise _exists(target)
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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PresetError(f"cannot create the folder: {exc.strerror or exc}", file=target) from None
    try:
        # Without force, created exclusively: a file another process saved meanwhile stays.
        write_file(str(target), text.encode("utf-8"), replace=force)
    except FileExistsError:
        raise _exists(target) from None
    return target


def _exists(target: Path) -> PresetError:
    return PresetError(
        "a preset file with this name exists; pass force=True (--force) to overwrite it",
        file=target,
    )


def _toml_text(name: str, table: Mapping[str, Any], comments: Sequence[str], file: str) -> str:
    """The preset's file text; an error naming the key whose value TOML cannot hold."""
    try:
        return preset_toml(name, table, comments)
    except (TypeError, ValueError, RecursionError):
        pass
    for key, value in table.items():
        if not isinstance(key, str):
            raise PresetArgumentError(
                f"keys are strings, got {type(key).__name__} {key!r:.40}", preset=name, file=file
            )
        try:
            preset_toml(name, {key: value})
        except (TypeError, ValueError, RecursionError):
            raise PresetValidationError(
                f"cannot be written as TOML (type {type(value).__name__}, or nested too deep)",
                preset=name,
                key=key,
                file=file,
            ) from None
    raise PresetValidationError("cannot be written as TOML", preset=name, file=file)
