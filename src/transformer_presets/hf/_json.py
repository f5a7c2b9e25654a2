"""Reading a ``config.json`` safely: a file, a folder or a hub cache entry, or a mapping.

What :func:`load` hands on is a JSON object of plain values: no non-finite number,
no integer too long to mean a size, no nesting past a bound and no mapping that
contains itself, whatever the input. Anything else is an :class:`HFConfigError`
naming the file and the key (and, for JSON syntax, the line and column).
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from ..errors import PresetError
from ._hub_cache import locate_config
from .errors import HFConfigError

__all__ = ["load"]

# Bounds on what one config.json may ask for. Real files are a few kilobytes
# and nest four levels deep.
_MAX_FILE_BYTES = 16 * 1024 * 1024
_MAX_DEPTH = 64


class _Rejected:
    """A JSON token that json.loads accepts and a config may not hold."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


def _reject_constant(text: str) -> _Rejected:
    # Infinity, -Infinity and NaN: Python's json reads them, TOML cannot write
    # them as a size, and no model has them. The walk names the key.
    return _Rejected(text, "is not a finite number")


def _parse_int(text: str) -> int | _Rejected:
    # Python refuses to parse integers of more than 4300 digits with a bare
    # ValueError; anything past 2**63 is not a size or a count anyway.
    if len(text.lstrip("-")) > 19:
        return _Rejected(text[:24] + ("..." if len(text) > 24 else ""), "is out of range")
    return int(text)


def _read_text(path: Path) -> tuple[str, str]:
    file = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            # As the hub cache links a snapshot's files to blobs that may be gone.
            raise HFConfigError(
                f"a link to {os.readlink(path)}, which does not exist", file=file
            ) from None
        raise HFConfigError("no such file", file=file) from None
    except (OSError, ValueError) as exc:
        raise HFConfigError(f"cannot read: {exc}", file=file) from None
    # A FIFO or a character device named config.json would block or never end.
    if not stat.S_ISREG(info.st_mode):
        raise HFConfigError("not a regular file", file=file)
    if info.st_size > _MAX_FILE_BYTES:
        raise HFConfigError(
            f"{info.st_size} bytes; a config.json is at most {_MAX_FILE_BYTES} bytes", file=file
        )
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise HFConfigError(f"cannot read: {exc}", file=file) from None
    if len(raw) > _MAX_FILE_BYTES:
        raise HFConfigError(f"more than {_MAX_FILE_BYTES} bytes", file=file)
    try:
        return raw.decode("utf-8-sig"), file
    except UnicodeDecodeError as exc:
        raise HFConfigError(f"not UTF-8: {exc.reason} at byte {exc.start}", file=file) from None


def load(
    source: str | PathLike[str] | Mapping[str, Any],
) -> tuple[Mapping[str, Any], str | None, str | None]:
    """The config's data, its file (None for a mapping) and the name its place implies."""
    if isinstance(source, Mapping):
        _check_tree(source, None)
        return source, None, None
    if not isinstance(source, str | PathLike):
        raise HFConfigError(
            f"expected a path or a mapping, got {type(source).__name__}", key="source"
        )
    try:
        text_path: object = os.fspath(source)
    except TypeError as exc:  # a __fspath__ that returns neither str nor bytes
        raise HFConfigError(f"not a usable path: {exc}", key="source") from None
    if not isinstance(text_path, str):  # a PathLike may give bytes
        raise HFConfigError(
            f"expected a path or a mapping, got a {type(text_path).__name__} path", key="source"
        )
    try:
        found, place_name = locate_config(text_path)
        path = Path(found)
    except PresetError as exc:
        raise HFConfigError(exc.reason, file=exc.file) from None
    except (OSError, ValueError) as exc:  # e.g. a NUL byte in the path
        raise HFConfigError(f"not a usable path: {exc}", file=str(source)) from None
    text, file = _read_text(path)
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise HFConfigError(
            f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, col=exc.colno
        ) from None
    except RecursionError:
        raise HFConfigError(
            f"invalid JSON: nested more than {_MAX_DEPTH} levels", file=file
        ) from None
    if not isinstance(data, dict):
        raise HFConfigError(f"expected a JSON object, got {type(data).__name__}", file=file)
    _check_tree(data, file)
    return data, file, place_name


def _path_text(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "<top level>"


def _check_tree(data: Mapping[str, Any], file: str | None) -> None:
    """Reject non-finite numbers anywhere, and nesting past ``_MAX_DEPTH``.

    Iterative on purpose: the input may be nested deeper than Python's
    recursion limit, or (a mapping built in Python) contain itself.
    """
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    seen: set[int] = set()
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Rejected):
            raise HFConfigError(f"{value.text} {value.reason}", file=file, key=_path_text(path))
        if isinstance(value, float) and not math.isfinite(value):
            raise HFConfigError(
                f"{value!r} is not a finite number", file=file, key=_path_text(path)
            )
        if isinstance(value, Mapping | list | tuple):
            if len(path) >= _MAX_DEPTH:
                raise HFConfigError(
                    f"nested more than {_MAX_DEPTH} levels", file=file, key=_path_text(path)
                )
            if id(value) in seen:
                raise HFConfigError("contains itself", file=file, key=_path_text(path))
            seen.add(id(value))
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            stack.extend((item, (*path, key)) for key, item in items)
