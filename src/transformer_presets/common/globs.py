"""Shell-style globs over names, matched as ``fnmatch.fnmatchcase`` matches them.

A glob of plain characters and ``*`` (``gpt2*``, ``blocks.0.*``) is matched with
string methods, without ``fnmatch`` and the ``re`` it compiles: importing ``re``
costs a command that filters by a glob about a quarter of ``python -c pass`` (see
the start-up note in ``cli/__init__.py``). A glob with ``?`` or ``[`` goes to
``fnmatch`` itself.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["glob_matcher"]


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """``fnmatch.fnmatchcase(name, pattern)`` as a function of ``name``.

    >>> [glob_matcher("py*-*m")(n) for n in ("pythia-70m", "pythia-1b", "py-m")]
    [True, False, True]
    >>> glob_matcher("blocks.[01].hook_*")("blocks.1.hook_resid_pre")
    True
    """
    if "?" in pattern or "[" in pattern:
        import fnmatch

        return lambda name: fnmatch.fnmatchcase(name, pattern)
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern.__eq__
    first, *middle, last = parts
    least = len(first) + len(last)

    def match(name: str) -> bool:
        if len(name) < least or not name.startswith(first) or not name.endswith(last):
            return False
        # Each middle part, leftmost first, between the first and the last.
        at, end = len(first), len(name) - len(last)
        for part in middle:
            found = name.find(part, at, end)
            if found < 0:
                return False
            at = found + len(part)
        return True

    return match
