"""The resolved-preset cache: catalog entries stored in sharded files for fast warm starts.

The entry points: :func:`load_or_build` (the registry's catalog), :func:`cache_info`,
:func:`clear_cache`, :func:`cache_dir` and :func:`cache_enabled`. Behind them, one
folder per set of sources holds a manifest and the generation it points at
(:mod:`._layout`); a lookup loads that generation if the manifest matches the
sources (:mod:`._manifest`, :mod:`._lock`) and reads it lazily
(:mod:`._generation`), else builds under a lock and writes a new one
(:mod:`._writer`).

Every file is plain data (dicts, lists, strings, numbers, booleans, None)
written with :mod:`marshal` behind a magic number and a digest; its bytes are
checked before they are decoded, and what they decode to is checked before
it is used (:mod:`._files`, :func:`catalog.entries.entry_problem`). Anything
unexpected counts as damage: the cache is rebuilt, with one warning.

Trust: the cache is used only in a folder owned by the current user that no
one else may write to (as ssh and git treat their files); elsewhere it is
ignored, with one warning. Nothing the cache does makes a lookup fail: a cache
that cannot be read or written is worked around, and a process waits a few
seconds at most for another one building the same generation.

A warm lookup reads the manifest, one lookup shard and one entry shard. It
never parses TOML: the modules that do are imported only to build.
"""

from __future__ import annotations

import os

from ..common import env as _env
from ..errors import PresetError
from ._files import Damaged
from ._generation import CachedCatalog
from ._layout import (
    FORMAT,
    MANIFEST,
    cache_folder,
    folder_size,
    format_dirs,
    key_folder,
    read_data,
    rmtree,
)
from ._lock import build, build_locked, load
from ._report import STATS as STATS  # the counters tests and benchmarks read as store.STATS
from ._report import CacheWarning, warn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from ..catalog.build import Catalog
    from ..catalog.records import CacheInfo
    from ..files.sources import Source

__all__ = [
    "CacheWarning",
    "CachedCatalog",
    "cache_dir",
    "cache_enabled",
    "cache_info",
    "clear_cache",
    "load_or_build",
]


# -- location and settings -----------------------------------------------------


def cache_dir() -> Path:
    """Where the cache lives: ``TRANSFORMER_PRESETS_CACHE_DIR``, or the user data folder.

    >>> from pathlib import Path
    >>> isinstance(cache_dir(), Path)
    True
    """
    from pathlib import Path

    return Path(cache_folder())


def cache_enabled() -> bool:
    """False when ``TRANSFORMER_PRESETS_NO_CACHE`` is set to anything but ``0``/``false``/``no``."""
    value = os.environ.get(_env.NO_CACHE, "").strip().casefold()
    return value in ("", "0", "false", "no", "off")


def cache_info() -> CacheInfo:
    """The cache's location, size on disk, number of cached presets, and whether it is on.

    ``entries`` counts the presets of every current manifest (one per set of
    sources that has been looked up).

    >>> cache_info().enabled in (True, False)
    True
    """
    from ..catalog.records import CacheInfo

    location = cache_dir()
    size = sum(folder_size(root) for root in format_dirs(location))
    entries = 0
    current = location / f"v{FORMAT}"
    try:
        keys = list(current.iterdir())
    except OSError:
        keys = []
    for key_dir in keys:
        try:
            manifest = read_data(os.path.join(key_dir, MANIFEST))
            count = manifest["n_entries"]
        except (OSError, Damaged, TypeError, KeyError):
            continue
        if isinstance(count, int) and not isinstance(count, bool):
            entries += count
    return CacheInfo(location, size, entries, cache_enabled())


def clear_cache() -> None:
    """Delete every cached preset; the next lookup rebuilds the cache.

    Only the cache's own folders are removed, never the location itself, in
    case ``TRANSFORMER_PRESETS_CACHE_DIR`` points somewhere shared.

    >>> clear_cache()  # doctest: +SKIP
    """
    for root in format_dirs(cache_dir()):
        try:
            rmtree(os.fspath(root))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise PresetError(f"cannot clear the cache: {exc.strerror or exc}", file=root) from None


# -- loading and building --------------------------------------------------------


def load_or_build(sources: list[Source]) -> Catalog:
    """The catalog of ``sources``: read from the cache when valid, else built and stored.

    Never fails because of the cache: if it cannot be read or written, the
    catalog is built in memory (with one :class:`CacheWarning` per process).
    Errors in the preset files themselves are raised as when building.
    """
    root = cache_folder()
    problem = _untrusted(root)
    if problem is not None:
        warn(f"not using the cache: {problem}")
        return build(sources)
    try:
        key_dir = key_folder(sources)
    except OSError as exc:  # pragma: no cover - resolving paths rarely fails
        warn(f"cannot locate the cache ({exc}); working without it")
        return build(sources)
    if os.path.isdir(key_dir):
        problem = _untrusted(key_dir)
        if problem is not None:
            warn(f"not using the cache: {problem}")
            return build(sources)
    catalog = load(key_dir, sources)
    if catalog is not None:
        return catalog
    return build_locked(key_dir, sources)


def _untrusted(folder: str) -> str | None:
    """Why the cache may not live in ``folder``, or None.

    It must be a folder owned by this user that nobody else may write to: a
    cache that another user can write could feed this process any values.
    A folder that does not exist yet is created, readable by this user only.
    """
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        try:
            # Another process may create it at the same moment: that is no failure
            # (and if it made a file, the check below says so).
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except FileExistsError:
            pass
        except OSError as exc:
            return f"cannot create {folder} ({exc.strerror or exc})"
        try:
            st = os.stat(folder)
        except OSError as exc:
            return f"cannot use {folder} ({exc.strerror or exc})"
    except OSError as exc:
        return f"cannot use {folder} ({exc.strerror or exc})"
    import stat

    if not stat.S_ISDIR(st.st_mode):
        return f"{folder} is a file, not a folder"
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # pragma: no cover - Windows: ownership is not POSIX's
        return None
    if st.st_uid != getuid():
        return f"{folder} belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return (
            f"{folder} can be written by other users (mode {stat.S_IMODE(st.st_mode):o}); "
            f"chmod go-w {folder} to use it"
        )
    return None
