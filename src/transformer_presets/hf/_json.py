"""Reading a ``config.json`` safely: a file, a folder or a hub cache entry, or a mapping.

What :func:`load` hands on is a JSON object of plain values: no non-finite number,
no integer too long to mean a size, no nesting past a bound and no mapping that
contains itself, whatever the input (a mapping is handed on as a copy of plain
Python values: NumPy scalars converted). The file is read as preset files are
(:func:`._hub_cache.read_text`). Anything else is an :class:`HFConfigError` naming
the file and the key (and, for JSON syntax, the line and column).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from ..errors import PresetError
from .errors import HFConfigError
from .hub_cache import locate_config, read_text

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
    # Read as every file of a model folder or the hub cache is (and as preset files are):
    # a FIFO or a character device named config.json would block or never end.
    file = str(path)
    try:
        return read_text(file, limit=_MAX_FILE_BYTES, what="a config.json"), file
    except PresetError as exc:
        raise HFConfigError(exc.reason, file=exc.file) from None
    except ValueError as exc:  # a NUL character in the path
        raise HFConfigError(f"not a usable path: {exc}", file=file) from None


def load(
    source: str | PathLike[str] | Mapping[str, Any],
) -> tuple[Mapping[str, Any], str | None, str | None]:
    """The config's data, its file (None for a mapping) and the name its place implies."""
    if isinstance(source, Mapping):
        # Plain values out, whatever came in (NumPy scalars from a config object's dict).
        return _check_tree(source, None, copy=True), None, None
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


def _path_text(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "<top level>"


_PLAIN_TYPES = (str, int, float, bool, type(None))


def _plain_scalar(value: Any) -> Any:
    """``value`` as a plain Python value where it is a number or string of another type
    (NumPy's ``int64``, ``float32``, ``bool_``, ``str_``, an ``int`` subclass); else as is,
    for the reader to refuse by type, naming the key, if the key is read."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    item = getattr(value, "item", None)
    if kind.__module__ == "numpy" and callable(item):  # bool_, and 0-d arrays
        plain = item()
        if type(plain) in _PLAIN_TYPES:
            return plain
    return value


def _check_tree(data: Mapping[str, Any], file: str | None, *, copy: bool = False) -> Any:
    """Reject non-finite numbers anywhere, and nesting past ``_MAX_DEPTH``; with ``copy``,
    return the data as plain Python values (:func:`_plain_scalar`, dicts and lists).

    Depth first with one iterator per level, so that the walk holds as much as the
    nesting is deep, never a path per element: a 16 MiB file of millions of zeros costs
    less than parsing it. Iterative on purpose: the input may be nested deeper than
    Python's recursion limit, or (a mapping built in Python) contain itself. Parsed
    JSON cannot share a container, so only a mapping's containers are remembered, to
    copy a shared one once and to refuse a loop.
    """
    copies: dict[int, Any] = {}  # id -> its copy; None while it is being walked
    root: Any = {} if copy else data
    copies[id(data)] = None
    keys: list[Any] = []  # the keys from the top level down to the container being walked
    frames: list[tuple[Iterator[tuple[Any, Any]], Any, Any]] = [(iter(data.items()), root, data)]
    while frames:
        items, out, original = frames[-1]
        for key, value in items:
            if copy:
                value = _plain_scalar(value)
                key = str(key) if isinstance(key, str) else key
            kind = type(value)
            if kind is dict or kind is list or (copy and isinstance(value, Mapping | list | tuple)):
                if len(frames) >= _MAX_DEPTH:
                    raise HFConfigError(
                        f"nested more than {_MAX_DEPTH} levels",
                        file=file,
                        key=_path_text([*keys, key]),
                    )
                if not copy and _nothing_to_check(value, len(frames) + 1 < _MAX_DEPTH):
                    continue
                if copy and id(value) in copies:
                    if copies[id(value)] is None:
                        raise HFConfigError(
                            "contains itself", file=file, key=_path_text([*keys, key])
                        )
                    _put(out, key, copies[id(value)])  # shared, not a loop: copied once
                    continue
                inner = iter(value.items()) if isinstance(value, Mapping) else enumerate(value)
                child = ({} if isinstance(value, Mapping) else []) if copy else value
                if copy:
                    _put(out, key, child)
                    copies[id(value)] = None
                frames.append((inner, child, value))
                keys.append(key)
                break
            if kind is _Rejected:
                raise HFConfigError(
                    f"{value.text} {value.reason}", file=file, key=_path_text([*keys, key])
                )
            if kind is float and not math.isfinite(value):
                raise HFConfigError(
                    f"{value!r} is not a finite number", file=file, key=_path_text([*keys, key])
                )
            if copy:
                _put(out, key, value)
        else:
            frames.pop()
            if keys:
                keys.pop()
            if copy:
                copies[id(original)] = out
    return root


_NEED_NO_CHECK = frozenset({int, str, bool, type(None)})
_NUMBERS = frozenset({int, float, bool})
_CONTAINERS = frozenset({dict, list})


def _nothing_to_check(value: dict[str, Any] | list[Any], nested_ok: bool) -> bool:
    """Whether every item of a parsed JSON container is a value that needs no check (a
    string, an integer, a finite float, an empty container when ``nested_ok``), found
    with loops that run in C: a long array is then not walked in Python at all.
    """
    items = value.values() if type(value) is dict else value
    kinds = set(map(type, items))
    if kinds <= _NEED_NO_CHECK:
        return True
    if kinds <= _NUMBERS:
        return all(map(math.isfinite, items))
    return kinds <= _CONTAINERS and nested_ok and not any(items)


def _put(out: Any, key: Any, value: Any) -> None:
    if isinstance(out, dict):
        out[key] = value
    else:
        out.append(value)  # a list's items come in order
