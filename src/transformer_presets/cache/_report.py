"""What the cache counts (:data:`STATS`) and says: one :class:`CacheWarning` per process."""

from __future__ import annotations

import warnings

__all__ = ["STATS", "CacheWarning", "warn"]

#: Counters for tests and benchmarks: ``hits`` (a valid manifest was used),
#: ``builds`` (the sources were parsed), ``stores`` (a generation was written),
#: ``fallbacks`` (a damaged shard forced a rebuild) and ``waits`` (a lookup
#: waited for another process's build).
STATS = {"hits": 0, "builds": 0, "stores": 0, "fallbacks": 0, "waits": 0}


class CacheWarning(UserWarning):
    """The cache could not be used; lookups still work, without it or after rebuilding it."""


_warned = False


def warn(message: str) -> None:
    """Say ``message`` as a :class:`CacheWarning`, unless this process has said one already."""
    # One warning per process: a broken cache is worth knowing about, not worth
    # repeating on every lookup.
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"transformer-presets cache: {message}", CacheWarning, stacklevel=3)
