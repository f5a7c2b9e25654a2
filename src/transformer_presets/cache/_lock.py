"""Loading a source key's generation, or building one under its build lock.

One process builds a generation at a time: the others wait for it, at most
:data:`LOCK_TIMEOUT` seconds (saying so on stderr after :data:`LOCK_NOTICE`),
then work without the cache; having given up once, a process does not wait
again while that build runs (once it is finished, the cache is used). Under the
lock, a process first looks for what the one before it stored, and stores what
it builds only if the sources held still while it read them.
"""

from __future__ import annotations

import errno
import os
import time
import warnings

from ..files.fingerprint import is_racy
from ._files import Damaged
from ._generation import CachedCatalog
from ._layout import LOCK, MANIFEST, read_data, rmtree
from ._manifest import fingerprint_of, manifest_problem, refresh
from ._report import STATS, CacheWarning, warn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..catalog.build import Catalog, MemoryCatalog
    from ..files.sources import Source

__all__ = ["LOCK_NOTICE", "LOCK_TIMEOUT", "build", "build_and_store", "build_locked", "load"]

#: How long a process waits for another one building the same generation
#: before it builds for itself without the cache; it says so after LOCK_NOTICE.
LOCK_TIMEOUT = 5.0
LOCK_NOTICE = 1.0

_waited = False
# Key folders whose build lock this process gave up waiting for: while that build
# runs, later lookups go on without the cache at once instead of waiting again.
_given_up: set[str] = set()


def _notice_wait(key_dir: str) -> None:
    # Said once per process, apart from damage warnings: a wait of seconds with
    # no word looks like a hang.
    global _waited
    if not _waited:
        _waited = True
        warnings.warn(
            f"transformer-presets cache: waiting for another process building {key_dir} "
            f"(at most {LOCK_TIMEOUT:g} s, then without the cache)",
            CacheWarning,
            stacklevel=4,
        )


def load(key_dir: str, sources: list[Source], avoid: str | None = None) -> CachedCatalog | None:
    """The cached catalog if the manifest is intact and matches the sources, else None.

    ``avoid`` names a generation known to be damaged: it is not used again.
    """
    path = os.path.join(key_dir, MANIFEST)
    try:
        manifest = read_data(path)
    except FileNotFoundError:
        return None
    except (Damaged, OSError) as exc:
        warn(f"{exc}; rebuilding it")
        return None
    problem = manifest_problem(manifest)
    if problem == "other version":
        return None
    if problem is not None:
        warn(f"{path} is damaged ({problem}); rebuilding it")
        return None
    if manifest["generation"] == avoid:
        return None
    now = time.time()
    fingerprint, sig, per_source = fingerprint_of(sources, manifest["checked_at"])
    if fingerprint != manifest["fingerprint"]:
        return None
    if is_racy(sig):
        refresh(key_dir, manifest, sources, sig, now)
    STATS["hits"] += 1
    catalog = CachedCatalog(key_dir, manifest, sources, build_locked)
    catalog.validated = (manifest["checked_at"], per_source)
    return catalog


def build(sources: list[Source]) -> MemoryCatalog:
    """The catalog of ``sources``, built in memory (and counted in ``STATS["builds"]``)."""
    from ..catalog.build import build_catalog

    STATS["builds"] += 1
    return build_catalog(sources)


def build_locked(key_dir: str, sources: list[Source], avoid: str | None = None) -> Catalog:
    """Build under the generation lock, unless another process has just stored a match."""
    try:
        from filelock import FileLock, Timeout

        os.makedirs(key_dir, mode=0o700, exist_ok=True)
        lock_path = os.path.join(key_dir, LOCK)
        if os.path.isdir(lock_path):
            rmtree(lock_path)  # damage: a folder where the lock file belongs
        lock = FileLock(lock_path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if key_dir in _given_up:
                # Still the build this process waited for once: not again.
                return build(sources)
            STATS["waits"] += 1
            try:
                lock.acquire(timeout=LOCK_NOTICE)
            except Timeout:
                _notice_wait(key_dir)
                lock.acquire(timeout=LOCK_TIMEOUT - LOCK_NOTICE)
    except Timeout:
        # Another process is slow to build (or stopped): do not wait any longer.
        _given_up.add(key_dir)
        return build(sources)
    except OSError as exc:
        warn(f"cannot write to {key_dir} ({exc.strerror or exc}); working without it")
        return build(sources)
    _given_up.discard(key_dir)  # that build is over: the lock is ours
    try:
        # A process that held the lock before us may have stored what we need.
        catalog = load(key_dir, sources, avoid)
        if catalog is not None:
            return catalog
        return build_and_store(key_dir, sources)
    finally:
        lock.release()


def build_and_store(key_dir: str, sources: list[Source]) -> Catalog:
    """Build the catalog of ``sources`` and, unless a file changed meanwhile, store it."""
    checked_at = time.time()
    before, _, before_parts = fingerprint_of(sources, checked_at)
    built = build(sources)  # errors in the preset files propagate, and nothing is stored
    entries = built.all_entries()
    lookup = built.lookup_table()
    names = list(built.lookup_names())
    summaries = built.summaries()
    # A file edited while we read it: what we built matches neither fingerprint.
    if fingerprint_of(sources, checked_at)[0] != before:
        return built
    built.validated = (checked_at, before_parts)
    from ._writer import write_generation  # only to build: a warm lookup never writes

    try:
        write_generation(key_dir, checked_at, before, entries, lookup, names, summaries)
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        warn(f"cannot write to {key_dir} ({reason}); working without it")
    return built
