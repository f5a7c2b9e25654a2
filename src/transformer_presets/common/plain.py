"""Small checks on plain data, used across the library: one copy each.

- :func:`is_int`: an integer that is not a bool (``True`` is an ``int`` in Python,
  but never a layer count);
- :func:`same_value`: equality that keeps ``True`` and ``1`` apart, as a preset does;
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

__all__ = ["blake2b", "is_int", "same_value"]


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
