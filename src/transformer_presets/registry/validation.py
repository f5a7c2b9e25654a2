"""Check preset files without installing them: every error of every preset, with its place.

This is the logic of ``transformer-presets validate``, as a library function:
each file is parsed on its own (a syntax error stops only that file), every
rejected key of every preset is kept, and then the files are resolved
together, as they would be installed together (one may extend another), with
the bundled presets and any ``preset_paths`` below them.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..errors import PresetError
from ..files.reader import PresetFile, parse_preset_file
from ..files.sources import LEVEL_PATHS, Source, list_files, path_arguments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from .registry import PresetRegistry

__all__ = ["FileReport", "validate_files"]


class FileReport(NamedTuple):
    """What :func:`validate_files` found in one file: its presets and its errors, in order."""

    path: str
    presets: tuple[str, ...]
    errors: tuple[PresetError, ...]

    @property
    def valid(self) -> bool:
        return not self.errors


def validate_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    preset_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] = (),
) -> list[FileReport]:
    """Check preset files (or the ``*.toml`` files of folders); one report per file.

    ``paths`` is a path or an iterable of paths (so is ``preset_paths``).

    A folder with no preset file in it, and a path that does not exist, are
    reported as errors of their own (without a line: there is none).

    >>> [report.valid for report in validate_files(["presets/gpt2.toml"])]
    [True]
    """
    files, errors = _expand(path_arguments(paths))
    extra = path_arguments(preset_paths, "preset_paths")
    parsed: dict[str, PresetFile] = {}
    presets: dict[str, list[str]] = {}
    for path in files:
        errors.setdefault(path, [])
        try:
            pf = parse_preset_file(path)
        except PresetError as exc:  # a syntax error stops this file only
            errors[path].append(exc.with_context(file=path))
            continue
        parsed[path] = pf
        presets[path] = [d.name for d in pf.presets]
        errors[path] += [e for d in pf.presets for e in d.key_errors]

    def add(found: dict[str, list[PresetError]]) -> None:
        for path, errs in found.items():
            seen = {str(e) for e in errors[path]}
            for e in errs:
                if str(e) not in seen:
                    errors[path].append(e)
                    seen.add(str(e))

    from .registry import PresetRegistry

    if parsed:
        # Together first, so that one file may extend a preset of another; if they
        # clash (a name defined in two of them), each on its own as well.
        try:
            add(_load_errors(PresetRegistry([*parsed, *extra], use_cache=False), parsed))
        except PresetError as exc:
            if exc.file in parsed:
                add({exc.file: [exc]})
            for path, pf in parsed.items():
                try:
                    add(_load_errors(PresetRegistry([path, *extra], use_cache=False), {path: pf}))
                except PresetError as exc:
                    add({path: [exc.with_context(file=path)]})
    return [
        FileReport(path, tuple(presets.get(path, ())), tuple(sorted(errs, key=_place)))
        for path, errs in errors.items()
    ]


def _place(error: PresetError) -> tuple[int, int]:
    return (error.line or 0, error.col or 0)


def _expand(paths: tuple[str, ...]) -> tuple[list[str], dict[str, list[PresetError]]]:
    """The files to check, once each, and the errors of paths that give none."""
    files: list[str] = []
    errors: dict[str, list[PresetError]] = {}
    for path in paths:
        if os.path.isdir(path):
            try:
                found = [str(f) for f in list_files(Source(LEVEL_PATHS, path))]
            except PresetError as exc:
                errors.setdefault(path, []).append(exc)
                continue
            if not found:
                errors.setdefault(path, []).append(
                    PresetError("is a folder with no preset file (*.toml) in it", file=path)
                )
        elif os.path.lexists(path):
            found = [path]
        else:
            errors.setdefault(path, []).append(PresetError("no such file or folder", file=path))
            continue
        for f in found:
            if f not in files:
                files.append(f)
    return files, errors


def _load_errors(
    registry: PresetRegistry, files: dict[str, PresetFile]
) -> dict[str, list[PresetError]]:
    """The load error of every preset of ``files`` in ``registry``, by file."""
    out: dict[str, list[PresetError]] = {}
    for path, parsed in files.items():
        errs = out.setdefault(path, [])
        for d in parsed.presets:
            error = registry.error(d.name)
            if error is not None:
                errs.append(error)
    return out
