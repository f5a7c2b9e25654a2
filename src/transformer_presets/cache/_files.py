"""The bytes of one cache file: plain data in ``marshal`` format, checked before it is decoded.

A cache file is ``MAGIC``, the 16-byte blake2b digest of the payload, and the
payload: :mod:`marshal` data, which the interpreter decodes in C without
importing anything (see the start-up note in ``cli/__init__.py``).

marshal trusts its input: five bytes that declare a tuple of two billion
items make it allocate and fill 16 GiB. So before decoding, :func:`problem`
walks the payload's structure without building it: only the types plain data
needs (None, booleans, integers of at most 64 bits, floats, strings, lists
and dicts), no container that declares more items than there are bytes left,
no reference to an object not yet complete (a cycle), and no nesting deeper
than :data:`MAX_DEPTH`. What it lets through decodes with memory bounded by
the payload's size. What the data then *means* (its keys and types) is
checked by the reader that asked for it.

The listing reads one summary of every preset; to keep its check cheap (the
walk costs per object), the summary is stored by column, most columns as one
string (:func:`pack_rows`, :func:`unpack_rows`).
"""

from __future__ import annotations

import marshal
import struct

from ..common.plain import blake2b

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

__all__ = [
    "HEADER",
    "MAGIC",
    "MAX_DEPTH",
    "SUMMARY_COLUMNS",
    "Damaged",
    "blake2b",
    "decode",
    "digest",
    "encode",
    "pack_rows",
    "problem",
    "unpack_rows",
]

#: The first bytes of every cache file; the last one is the format version.
MAGIC = b"TPc\x04"
HEADER = len(MAGIC) + 16
#: Containers nested deeper than this are not plain preset data (an entry needs 4).
MAX_DEPTH = 8


class Damaged(Exception):
    """A cache file exists but cannot be trusted."""


def digest(data: bytes) -> str:
    """The hex blake2b digest (16 bytes) the manifest records for a file."""
    return blake2b(data, digest_size=16).hexdigest()


def encode(data: Any) -> bytes:
    """``data`` as a cache file's bytes.

    >>> decode(encode({"a": [1, 2.5, None, "x"]}), "example")
    {'a': [1, 2.5, None, 'x']}
    """
    payload = marshal.dumps(data)
    return MAGIC + blake2b(payload, digest_size=16).digest() + payload


def decode(raw: bytes, path: str) -> Any:
    """The data of a cache file's bytes; :class:`Damaged` unless they are intact and plain."""
    payload = raw[HEADER:]
    if (
        raw[: len(MAGIC)] != MAGIC
        or raw[len(MAGIC) : HEADER] != blake2b(payload, digest_size=16).digest()
    ):
        raise Damaged(f"{path} is damaged (it does not match its own digest)")
    why = problem(payload)
    if why is not None:
        raise Damaged(f"{path} holds unexpected data ({why})")
    try:
        return marshal.loads(payload)
    except (ValueError, EOFError, TypeError) as exc:
        raise Damaged(f"{path} cannot be decoded ({exc})") from None


_INT = struct.Struct("<i").unpack_from
# marshal's type codes (Python/marshal.c), without the FLAG_REF bit (0x80).
_NONE, _TRUE, _FALSE = ord("N"), ord("T"), ord("F")
_INT32, _LONG, _FLOAT = ord("i"), ord("l"), ord("g")
_STRINGS = frozenset(map(ord, "utaA"))  # 4-byte length
_SHORT_STRINGS = frozenset(map(ord, "zZ"))  # 1-byte length
_LIST, _DICT, _DICT_END, _REF = ord("["), ord("{"), ord("0"), ord("r")
# A 64-bit integer needs at most five of marshal's 15-bit digits.
_MAX_LONG_DIGITS = 5


def problem(payload: bytes) -> str | None:
    """Why ``payload`` is not plain data that marshal may safely decode, or None.

    >>> problem(marshal.dumps({"n": [1, "two", None]})) is None
    True
    >>> problem(b"(" + struct.pack("<i", 2**31 - 1))  # a tuple of two billion items
    'a value of type 0x28 (plain data has none)'
    """
    end = len(payload)
    pos = 0
    refs = 0  # objects marked for reference so far
    open_refs: set[int] = set()  # ... whose containers are still being read
    # Per open container: items left (-1: a dict, until its end mark) and its ref index.
    stack: list[tuple[int, int]] = []
    left = 1
    ref = -1
    try:
        while True:
            while left == 0:
                if ref >= 0:
                    open_refs.discard(ref)
                if not stack:
                    return None if pos == end else "bytes after the data"
                left, ref = stack.pop()
            if pos >= end:
                return "it ends too early"
            byte = payload[pos]
            code = byte & 0x7F
            pos += 1
            if code == _DICT_END:
                if left != -1:
                    return "a dict end outside a dict"
                left = 0
                continue
            if left > 0:
                left -= 1
            flagged = byte & 0x80
            if flagged:
                refs += 1
            if code in (_NONE, _TRUE, _FALSE):
                pass
            elif code == _INT32:
                pos += 4
            elif code == _FLOAT:
                pos += 8
            elif code in _STRINGS:
                size = _INT(payload, pos)[0]
                if size < 0:
                    return "a string of negative length"
                pos += 4 + size
            elif code in _SHORT_STRINGS:
                pos += 1 + payload[pos]
            elif code == _LONG:
                digits = _INT(payload, pos)[0]
                if abs(digits) > _MAX_LONG_DIGITS:
                    return "an integer beyond 64 bits"
                pos += 4 + 2 * abs(digits)
            elif code == _REF:
                target = _INT(payload, pos)[0]
                if not 0 <= target < refs or target in open_refs:
                    return "a reference to an object not yet read"
                pos += 4
            elif code in (_LIST, _DICT):
                if len(stack) >= MAX_DEPTH:
                    return f"nested more than {MAX_DEPTH} deep"
                stack.append((left, ref))
                ref = refs - 1 if flagged else -1
                if ref >= 0:
                    open_refs.add(ref)
                if code == _LIST:
                    left = _INT(payload, pos)[0]
                    pos += 4
                    # Every item takes at least one byte.
                    if not 0 <= left <= end - pos:
                        return "a list longer than its file"
                else:
                    left = -1
            else:
                return f"a value of type {code:#04x} (plain data has none)"
            if pos > end:
                return "it ends too early"
    except (struct.error, IndexError):
        return "it ends too early"


# -- the summary, by column -----------------------------------------------------------

#: The columns of a listing's summary row (``catalog.summarize``) and how each is typed.
SUMMARY_COLUMNS: dict[str, str] = {
    "name": "str",
    "aliases": "strs",
    "description": "str?",
    "abstract": "bool",
    "source": "str",
    "file": "str",
    "line": "int?",
    "family": "str",
    "extends": "strs",
    "architecture": "str?",
    "n_layers": "int?",
    "d_model": "int?",
    "n_heads": "int?",
    "n_key_value_heads": "int?",
    "d_head": "int?",
    "d_mlp": "int?",
    "n_ctx": "int?",
    "d_vocab": "int?",
    "n_params": "int?",
    "dtype": "str?",
    "trust_remote_code": "bool",
    "remote_code_warning": "bool",
    "modified_by": "strs",
    "has_checkpoints": "bool",
    "error": "str?",
    "shadowed": "bool",
}


# How each column of a summary row is stored. "str": one string, values joined by
# _SEP; "str?" the same with None allowed (and a mask); "int?": decimal, "" for None;
# "bool": one "0"/"1" per row; "strs": lists of strings, items joined by _ITEM.
_SEP, _NONE_MARK, _ITEM = "\x00", "\x01", "\x02"
_RESERVED = (_SEP, _NONE_MARK, _ITEM)


def pack_rows(rows: Sequence[Mapping[str, Any]], columns: dict[str, str]) -> dict[str, Any]:
    """Rows of plain values as columns: ``{"n": rows, column: (kind, data)}``.

    A string column is stored as one string unless a value holds one of the
    separator characters; then that column is a plain list.

    >>> packed = pack_rows([{"a": "x", "b": 1}, {"a": "y", "b": None}], {"a": "str", "b": "int?"})
    >>> unpack_rows(packed, {"a": "str", "b": "int?"})
    [{'a': 'x', 'b': 1}, {'a': 'y', 'b': None}]
    """
    out: dict[str, Any] = {"n": len(rows)}
    for name, kind in columns.items():
        values = [row[name] for row in rows]
        if kind == "bool":
            out[name] = ["j", "".join("1" if v else "0" for v in values)]
        elif kind == "int?":
            out[name] = ["j", _SEP.join("" if v is None else str(v) for v in values)]
        elif kind == "strs":
            texts = [item for v in values for item in v]
            if _joinable(texts):
                out[name] = ["j", _SEP.join(_ITEM.join(v) for v in values)]
            else:
                out[name] = ["l", values]
        elif _joinable([v for v in values if v is not None]):
            text = _SEP.join(_NONE_MARK if v is None else v for v in values)
            out[name] = ["j", text]
        else:
            out[name] = ["l", values]
    return out


def _joinable(texts: list[str]) -> bool:
    return not any(mark in text for text in texts for mark in _RESERVED)


def unpack_rows(packed: Any, columns: dict[str, str]) -> list[Any]:
    """The rows :func:`pack_rows` stored; :class:`Damaged` if ``packed`` is not such data."""
    if not isinstance(packed, dict) or not isinstance(packed.get("n"), int):
        raise Damaged("the summary is not a table of columns")
    n = packed["n"]
    if isinstance(n, bool) or n < 0:
        raise Damaged("the summary has no row count")
    data = []
    try:
        for name, kind in columns.items():
            how, stored = packed[name]
            if how == "j" and isinstance(stored, str):
                values = _unjoin(stored, kind, n)
            elif how == "l" and isinstance(stored, list):
                values = stored
            else:
                raise Damaged(f"summary column {name!r} is neither joined nor a list")
            if len(values) != n or not all(_KIND_CHECKS[kind](v) for v in values):
                raise Damaged(f"summary column {name!r} does not hold {n} values of its kind")
            data.append(values)
    except (KeyError, TypeError, ValueError) as exc:
        raise Damaged(f"the summary does not hold its columns ({exc})") from None
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*data, strict=True)]


def _unjoin(text: str, kind: str, n: int) -> list[Any]:
    if kind == "bool":
        if len(text) != n or text.strip("01"):
            raise Damaged("a boolean summary column is not one 0 or 1 per row")
        return [c == "1" for c in text]
    parts = text.split(_SEP) if n else []
    if kind == "int?":
        return [None if p == "" else int(p) for p in parts]
    if kind == "strs":
        return [p.split(_ITEM) if p else [] for p in parts]
    if kind == "str?":
        return [None if p == _NONE_MARK else p for p in parts]
    return parts


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": _is_str,
    "str?": lambda v: v is None or isinstance(v, str),
    "int?": lambda v: v is None or (type(v) is int and -(2**63) <= v < 2**63),
    "bool": lambda v: isinstance(v, bool),
    "strs": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}
