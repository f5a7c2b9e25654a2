"""Small checks on plain data, used across the library: one copy each.

- :func:`is_int`: an integer that is not a bool (``True`` is an ``int`` in Python,
  but never a layer count);
- :func:`same_value`: equality that keeps ``True`` and ``1`` apart, as a preset does;
- :class:`KeyedValue`: equality and hashing by a key, for the small slotted classes
  that ``dataclasses`` would make cost every listing (its imports take about 15 ms);
- :data:`blake2b`: the digest, from the blake2 module alone (``hashlib`` also loads
  OpenSSL, which a warm lookup would pay for nothing).
"""

from __future__ import annotations

import numbers

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - CPython always has it
    from hashlib import blake2b

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeGuard

__all__ = ["KeyedValue", "blake2b", "is_int", "same_value"]


def is_int(value: Any) -> TypeGuard[int]:
    """An integer that is not a bool; NumPy integers count (TransformerLens's configs may hold them).

    >>> is_int(3), is_int(True), is_int(3.0)
    (True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def same_value(a: Any, b: Any, *, rel_tol: float = 0.0) -> bool:
    """``a == b``, except that a bool equals only a bool (``1`` and ``true`` differ in a preset).

    ``rel_tol`` lets numbers differ by that much relative to their size (a value
    computed from a file against the same value written in one).

    >>> same_value(1, 1.0), same_value(1, True), same_value([1], [1])
    (True, False, True)
    >>> same_value(0.1 + 0.2, 0.3), same_value(0.1 + 0.2, 0.3, rel_tol=1e-12)
    (False, True)
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if rel_tol and isinstance(a, int | float) and isinstance(b, int | float):
        import math

        return a == b or math.isclose(a, b, rel_tol=rel_tol)
    return bool(a == b)


class KeyedValue:
    """A value that equals (and hashes as) another of its class with the same ``_key()``.

    >>> class Point(KeyedValue):
    ...     __slots__ = ("x", "y")
    ...     def __init__(self, x: int, y: int) -> None:
    ...         self.x, self.y = x, y
    ...     def _key(self) -> tuple[int, int]:
    ...         return (self.x, self.y)
    >>> Point(1, 2) == Point(1, 2), Point(1, 2) == Point(2, 1), len({Point(1, 2), Point(1, 2)})
    (True, False, 1)
    """

    __slots__ = ()

    def _key(self) -> tuple[object, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())
