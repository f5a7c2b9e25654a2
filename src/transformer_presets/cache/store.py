"""The resolved-preset cache: catalog entries stored in sharded files for fast warm starts.

Layout, under :func:`cache_dir`::

    v4/                          the cache format version
      <source key>/              one folder per set of sources, library and Python version
        manifest.bin             fingerprint of the source files -> one generation
        lock                     taken by a process building a generation
        g-<token>/               a generation: immutable once renamed into place
          names.bin              every name and alias (for "did you mean")
          summary.bin            one row per entry: what listing needs, in one small file
          l<i>.bin               lookup shard: folded name -> entry key
          e<i>.bin               entry shard: ENTRY_CHUNK entries in source order

Every file is plain data (dicts, lists, strings, numbers, booleans, None)
written with :mod:`marshal` behind a magic number and a digest; its bytes are
checked before they are decoded, and what they decode to is checked before
it is used (:mod:`._cachefiles`, :func:`catalog.entry_problem`). Anything
unexpected counts as damage: the cache is rebuilt, with one warning. marshal's
format may change between Python versions, so the Python version is part of
the source key.

Trust: the cache is used only in a folder owned by the current user that no
one else may write to (as ssh and git treat their files); elsewhere it is
ignored, with one warning. Every file is read only if it is a regular file of
at most :data:`MAX_FILE_BYTES`. A process waits at most :data:`LOCK_TIMEOUT`
seconds for another one building the same generation (saying so on stderr
after a second), then works without the cache; having given up once, it does
not wait again while that build runs (once it is finished, the cache is
used). Each write keeps the cache
bounded: at most :data:`MAX_KEY_FOLDERS` source keys (the most recently
validated) and :data:`MAX_CACHE_BYTES` in all, and no folder of an older
format.

A generation is written in a temporary folder, renamed into place, and only
then does an atomic replace of ``manifest.bin`` point at it, so readers
never see a partial file or a mix of two generations. The manifest records
the blake2b digest of every shard, so a damaged shard is noticed, not trusted.

The manifest is valid only while :func:`~transformer_presets.files.fingerprint.signature`
of every source (bundled included), taken with the manifest's ``checked_at``
time, hashes to its ``fingerprint``: same files, same sizes, timestamps and
inodes, and the same contents for every file whose timestamps were too recent
to be trusted when the generation was built. The library's own code is part
of the fingerprint too, so an edited checkout never reads values resolved by
older code.

A warm lookup reads the manifest, one lookup shard and one entry shard. It
never parses TOML: the modules that do are imported only to build.
"""

from __future__ import annotations

import contextlib
import errno
import marshal
import os
import sys
import time
import warnings
import zlib

from ..common import env as _env
from ..common.dirs import user_data_dir
from ..common.fileio import read_regular
from ..common.plain import blake2b, is_int
from ..common.version import __version__
from ..errors import PresetError
from ..files.fingerprint import Stamp, is_racy, source_signatures
from ..files.sources import Source
from .files import SUMMARY_COLUMNS, Damaged, decode, digest, encode, pack_rows, unpack_rows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path
    from typing import Any

    from ..catalog.build import Catalog, MemoryCatalog
    from ..catalog.records import CacheInfo
    from ..catalog.types import Entry, SummaryRow

__all__ = [
    "CacheWarning",
    "CachedCatalog",
    "cache_dir",
    "cache_enabled",
    "cache_info",
    "clear_cache",
    "load_or_build",
]


#: Bump when the layout or the entry format changes; each version has its own folder.
FORMAT = 5
ENTRY_CHUNK = 16
NAMES_PER_LOOKUP_SHARD = 128
#: How long a process waits for another one building the same generation
#: before it builds for itself without the cache; it says so after LOCK_NOTICE.
LOCK_TIMEOUT = 5.0
LOCK_NOTICE = 1.0
# Temporary folders of builders that died are removed after this long.
STALE_TMP_SECONDS = 600.0
#: The largest cache file read (the summary of 10,000 presets takes about 2 MiB).
MAX_FILE_BYTES = 64 << 20
#: A write keeps at most this many source keys (sets of sources and Python versions) ...
MAX_KEY_FOLDERS = 16
#: ... and at most this many bytes in all, keeping the most recently validated keys.
MAX_CACHE_BYTES = 256 << 20


def _is_hex32(text: object) -> bool:
    # strip() runs in C: the manifest of a large cache holds many digests.
    return isinstance(text, str) and len(text) == 32 and not text.strip("0123456789abcdef")


def _is_generation(name: object) -> bool:
    return isinstance(name, str) and name.startswith("g-") and _is_hex32(name[2:])


def _rmtree(path: str, *, ignore_errors: bool = False) -> None:
    import shutil  # only when something is removed

    shutil.rmtree(path, ignore_errors=ignore_errors)


#: Counters for tests and benchmarks: ``hits`` (a valid manifest was used),
#: ``builds`` (the sources were parsed), ``stores`` (a generation was written),
#: ``fallbacks`` (a damaged shard forced a rebuild) and ``waits`` (a lookup
#: waited for another process's build).
STATS = {"hits": 0, "builds": 0, "stores": 0, "fallbacks": 0, "waits": 0}


class CacheWarning(UserWarning):
    """The cache could not be used; lookups still work, without it or after rebuilding it."""


_warned = False
_waited = False
# Key folders whose build lock this process gave up waiting for: while that build
# runs, later lookups go on without the cache at once instead of waiting again.
_given_up: set[str] = set()


def _warn(message: str) -> None:
    # One warning per process: a broken cache is worth knowing about, not worth
    # repeating on every lookup.
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"transformer-presets cache: {message}", CacheWarning, stacklevel=3)


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


# -- location and settings -----------------------------------------------------


def cache_dir() -> Path:
    """Where the cache lives: ``TRANSFORMER_PRESETS_CACHE_DIR``, or the user data folder.

    >>> from pathlib import Path
    >>> isinstance(cache_dir(), Path)
    True
    """
    from pathlib import Path

    return Path(_cache_folder())


def _cache_folder() -> str:
    # A string: pathlib is not worth importing for a warm lookup.
    moved = os.environ.get(_env.CACHE_DIR, "").strip()
    if moved:
        return moved
    return os.path.join(user_data_dir(), "cache")


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
    size = 0
    entries = 0
    for root in _format_dirs(location):
        for folder, _, files in os.walk(root):
            for name in files:
                with contextlib.suppress(OSError):
                    size += os.lstat(os.path.join(folder, name)).st_size
    current = location / f"v{FORMAT}"
    try:
        keys = list(current.iterdir())
    except OSError:
        keys = []
    for key_dir in keys:
        try:
            manifest = _read_data(os.path.join(key_dir, MANIFEST))
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
    for root in _format_dirs(cache_dir()):
        try:
            _rmtree(os.fspath(root))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise PresetError(f"cannot clear the cache: {exc.strerror or exc}", file=root) from None


def _format_dirs(location: Path) -> list[Path]:
    try:
        return [p for p in location.iterdir() if (p.name[:1] == "v" and p.name[1:].isdigit())]
    except OSError:
        return []


# -- the catalog read from the cache -------------------------------------------


def _read_data(path: str, digest_: str | None = None) -> Any:
    """The data of the cache file ``path``, checked against ``digest_`` (from the manifest).

    A file read without a digest is a manifest, the root of trust for the
    shards it lists: it must also be this user's and writable by no one else
    (its folder may be reachable by others when the cache folder is).

    Raises ``FileNotFoundError`` when it is missing, :class:`Damaged` for
    anything else that stops it being read or trusted.
    """
    try:
        raw = read_regular(path, MAX_FILE_BYTES, private=digest_ is None)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Damaged(f"cannot read {path}: {exc.strerror or exc}") from None
    if digest_ is not None and digest(raw) != digest_:
        raise Damaged(f"{path} is damaged (its contents do not match the manifest)")
    return decode(raw, path)


MANIFEST = "manifest.bin"


def _bucket(folded: str, n_shards: int) -> int:
    # crc32, not hash(): it must agree between processes.
    return zlib.crc32(folded.encode("utf-8", "surrogatepass")) % n_shards


def _check_names(names: Any) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Damaged("names.bin does not hold a list of names")
    return names


def _check_entries(entries: Any) -> list[Entry]:
    from ..catalog.entries import entry_problem

    if not isinstance(entries, list) or not 0 < len(entries) <= ENTRY_CHUNK:
        raise Damaged("an entry shard does not hold a list of entries")
    for entry in entries:
        problem = entry_problem(entry)
        if problem is not None:
            raise Damaged(f"an entry shard holds something else ({problem})")
    return entries


# Keys of the rebuilt catalog, once a damaged shard made one, start with this: a key
# handed out before (a cached entry's number, found in a lookup shard that may itself be
# what was damaged) is translated by the name it was found as, never taken as the same
# number in the rebuilt catalog.
_REBUILT = "r"


class CachedCatalog:
    """A :class:`~transformer_presets.catalog.build.Catalog` read lazily from one cache generation.

    Keys are the same as :class:`~transformer_presets.catalog.build.MemoryCatalog`'s
    (an entry's index in source order). If a shard turns out to be damaged or
    gone, the catalog rebuilds from the sources and answers from that.
    """

    def __init__(self, key_dir: str, manifest: dict[str, Any], sources: list[Source]) -> None:
        self._key_dir = key_dir
        self._dir = os.path.join(key_dir, manifest["generation"])
        self._manifest = manifest
        self._sources = sources
        self._n_entries: int = manifest["n_entries"]
        self._lookup_digests: list[str] = manifest["lookup"]
        self._entry_digests: list[str] = manifest["entries"]
        self._files: dict[str, Any] = {}  # file name -> its checked data
        # Keys handed out by find(), so a rebuilt catalog answers for the same name.
        self._found: dict[str, str] = {}
        self._fallback: Catalog | None = None
        self.validated: tuple[float, list[tuple[Any, ...]]] | None = None

    @property
    def generation(self) -> str:
        """The generation folder this catalog reads (for tests and debugging)."""
        return self._dir

    def find(self, name: str) -> str | None:
        folded = name.casefold()
        if self._fallback is None:
            try:
                key = self._lookup_shard(_bucket(folded, len(self._lookup_digests))).get(folded)
                if key is None and folded in self._folded_names():
                    raise Damaged(f"a lookup shard misses {name!r}, which names.bin holds")
            except (Damaged, OSError) as exc:
                self._fall_back(exc)
            else:
                if key is not None:
                    self._found[key] = folded
                return key
        assert self._fallback is not None  # for mypy: _fall_back sets it
        key = self._fallback.find(name)
        return None if key is None else _REBUILT + key

    def entry(self, key: str) -> Entry:
        if key.startswith(_REBUILT) and self._fallback is not None:
            return self._fallback.entry(key[len(_REBUILT) :])
        if self._fallback is None:
            try:
                index = int(key)
                if not 0 <= index < self._n_entries:
                    raise Damaged(f"entry {key!r} is not in the manifest")
                chunk = self._entry_shard(index // ENTRY_CHUNK)
                found = chunk[index % ENTRY_CHUNK]
                # The files agree with each other, or another preset's values would
                # be handed out under this name.
                folded = self._found.get(key)
                names = (found["name"], *found["aliases"])
                if folded is not None and folded not in (n.casefold() for n in names):
                    raise Damaged(f"entry {key} is not the preset {folded!r} it was found as")
                return found
            except (Damaged, OSError, ValueError, IndexError) as exc:
                self._fall_back(exc)
        assert self._fallback is not None
        folded = self._found.get(key)
        if folded is not None:
            # Should the sources have changed since the manifest was checked,
            # the rebuilt catalog may number entries differently.
            key = self._fallback.find(folded) or key
        return self._fallback.entry(key)

    def entry_keys(self) -> Iterator[str]:
        if self._fallback is not None:
            return iter([_REBUILT + key for key in self._fallback.entry_keys()])
        return (str(i) for i in range(self._n_entries))

    def lookup_names(self) -> Iterable[str]:
        if self._fallback is None:
            try:
                names: list[str] = self._file("names", self._manifest["names"], _check_names)
                return names
            except (Damaged, OSError) as exc:
                self._fall_back(exc)
        assert self._fallback is not None  # for mypy: _fall_back sets it
        return self._fallback.lookup_names()

    def summaries(self) -> list[SummaryRow]:
        if self._fallback is None:
            try:
                rows: list[SummaryRow] = self._file(
                    "summary", self._manifest["summary"], self._check_summary
                )
                return rows
            except (Damaged, OSError) as exc:
                self._fall_back(exc)
        assert self._fallback is not None  # for mypy: _fall_back sets it
        return self._fallback.summaries()

    def _check_summary(self, packed: Any) -> list[SummaryRow]:
        rows = unpack_rows(packed, SUMMARY_COLUMNS)
        if len(rows) != self._n_entries:
            raise Damaged("summary.bin does not match the manifest")
        return rows

    def _lookup_shard(self, shard: int) -> dict[str, str]:
        table: dict[str, str] = self._file(
            f"l{shard}", self._lookup_digests[shard], self._check_lookup
        )
        return table

    def _check_lookup(self, table: Any) -> dict[str, str]:
        if not isinstance(table, dict) or not all(
            isinstance(k, str)
            and isinstance(v, str)
            and v.isdigit()
            and v.isascii()
            and int(v) < self._n_entries
            for k, v in table.items()
        ):
            raise Damaged("a lookup shard does not map names to entries")
        return table

    def _entry_shard(self, chunk: int) -> list[Entry]:
        chunk_entries: list[Entry] = self._file(
            f"e{chunk}", self._entry_digests[chunk], _check_entries
        )
        # Every shard but the last is full: one entry more or less shifts the rest.
        if len(chunk_entries) != min(ENTRY_CHUNK, self._n_entries - chunk * ENTRY_CHUNK):
            raise Damaged(f"entry shard {chunk} does not hold the entries the manifest counts")
        return chunk_entries

    def _folded_names(self) -> frozenset[str]:
        names: list[str] = self._file("names", self._manifest["names"], _check_names)
        return frozenset(n.casefold() for n in names)

    def _file(self, name: str, digest_: str, check: Callable[[Any], Any]) -> Any:
        """``<name>.bin`` of this generation: read once, checked against the manifest and
        by ``check``, which returns the data to use or raises :class:`Damaged`."""
        if name not in self._files:
            data = _read_data(os.path.join(self._dir, f"{name}.bin"), digest_)
            self._files[name] = check(data)
        return self._files[name]

    def _fall_back(self, exc: BaseException) -> None:
        STATS["fallbacks"] += 1
        if not (isinstance(exc, FileNotFoundError) and not os.path.exists(self._dir)):
            # A generation folder removed whole was superseded by a newer
            # build (or the cache was cleared): nothing to warn about.
            _warn(f"{exc}; rebuilding it")
        self._fallback = _build_locked(
            self._key_dir, self._sources, avoid=os.path.basename(self._dir)
        )


# -- loading and building --------------------------------------------------------


def load_or_build(sources: list[Source]) -> Catalog:
    """The catalog of ``sources``: read from the cache when valid, else built and stored.

    Never fails because of the cache: if it cannot be read or written, the
    catalog is built in memory (with one :class:`CacheWarning` per process).
    Errors in the preset files themselves are raised as when building.
    """
    root = _cache_folder()
    problem = _untrusted(root)
    if problem is not None:
        _warn(f"not using the cache: {problem}")
        return _build(sources)
    try:
        key_dir = _key_dir(sources)
    except OSError as exc:  # pragma: no cover - resolving paths rarely fails
        _warn(f"cannot locate the cache ({exc}); working without it")
        return _build(sources)
    if os.path.isdir(key_dir):
        problem = _untrusted(key_dir)
        if problem is not None:
            _warn(f"not using the cache: {problem}")
            return _build(sources)
    catalog = _load(key_dir, sources)
    if catalog is not None:
        return catalog
    return _build_locked(key_dir, sources)


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


def _key_dir(sources: list[Source]) -> str:
    # Absolute paths: the same relative path from another folder is another source.
    described = [(s.level, os.path.abspath(s.path), s.required) for s in sources]
    # marshal's format belongs to the interpreter: one cache per Python version.
    python = (sys.implementation.name, sys.version_info[:2], marshal.version)
    text = repr((FORMAT, __version__, python, described))
    key = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    return os.path.join(_cache_folder(), f"v{FORMAT}", key)


#: The subpackages whose code decides what a preset resolves to (with the package's own
#: top-level modules): an edit to one of them makes a new cache.
_STAMPED = ("", "common", "fields", "files", "catalog", "cache")


def _code_stamp() -> list[list[Any]]:
    # An edited checkout keeps its version number; its resolved values may differ.
    package = os.path.dirname(os.path.dirname(__file__))
    stamp = []
    for folder in _STAMPED:
        here = os.path.join(package, folder)
        try:
            names = sorted(os.listdir(here))
        except OSError:  # pragma: no cover
            continue
        for name in names:
            if name.endswith(".py"):
                try:
                    st = os.stat(os.path.join(here, name))
                except OSError:  # pragma: no cover
                    continue
                stamp.append([f"{folder}/{name}", st.st_size, st.st_mtime_ns])
    return stamp


def _fingerprint(
    sources: list[Source], checked_at: float
) -> tuple[str, tuple[Any, ...], list[tuple[Any, ...]]]:
    """The digest of the sources' signature at ``checked_at``, the signature, and its parts.

    The parts (one signature per source) let the registry keep watching the
    user's sources without scanning them a second time.
    """
    per_source = source_signatures(sources, checked_at=checked_at)
    sig = tuple(part for parts in per_source for part in parts)
    text = repr((_code_stamp(), sig))
    fingerprint = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return fingerprint, sig, per_source


def _without_digests(sig: tuple[Stamp, ...]) -> tuple[tuple[object, ...], ...]:
    return tuple(stamp.without_digest() for stamp in sig)


def _load(key_dir: str, sources: list[Source], avoid: str | None = None) -> CachedCatalog | None:
    """The cached catalog if the manifest is intact and matches the sources, else None.

    ``avoid`` names a generation known to be damaged: it is not used again.
    """
    path = os.path.join(key_dir, MANIFEST)
    try:
        manifest = _read_data(path)
    except FileNotFoundError:
        return None
    except (Damaged, OSError) as exc:
        _warn(f"{exc}; rebuilding it")
        return None
    problem = _manifest_problem(manifest)
    if problem == "other version":
        return None
    if problem is not None:
        _warn(f"{path} is damaged ({problem}); rebuilding it")
        return None
    if manifest["generation"] == avoid:
        return None
    now = time.time()
    fingerprint, sig, per_source = _fingerprint(sources, manifest["checked_at"])
    if fingerprint != manifest["fingerprint"]:
        return None
    if is_racy(sig):
        _refresh(key_dir, manifest, sources, sig, now)
    STATS["hits"] += 1
    catalog = CachedCatalog(key_dir, manifest, sources)
    catalog.validated = (manifest["checked_at"], per_source)
    return catalog


def _refresh(
    key_dir: str,
    manifest: dict[str, Any],
    sources: list[Source],
    sig: tuple[Any, ...],
    now: float,
) -> None:
    """Re-date a manifest whose files have aged past the racy window, to stop hashing them.

    ``sig`` has just proved the contents equal those the generation was built
    from. If a signature taken as of ``now`` (a time before ``sig`` was taken)
    hashes nothing and shows the same timestamps, the manifest may say so as of
    ``now``: any later edit moves a timestamp past ``now``. Best effort.
    """
    fingerprint, fresh, _ = _fingerprint(sources, now)
    if is_racy(fresh) or _without_digests(fresh) != _without_digests(sig):
        return
    try:
        from filelock import FileLock, Timeout

        with FileLock(os.path.join(key_dir, "lock"), timeout=0):
            current = _read_data(os.path.join(key_dir, MANIFEST))
            if current != manifest:
                return  # another process got there first
            _write_atomic(
                os.path.join(key_dir, MANIFEST),
                encode({**manifest, "checked_at": now, "fingerprint": fingerprint}),
            )
    except (Timeout, Damaged, OSError):
        pass


def _manifest_problem(m: Any) -> str | None:
    if not isinstance(m, dict):
        return "not a table"
    if m.get("format") != FORMAT or m.get("version") != __version__:
        return "other version"

    n, lookup, entries = m.get("n_entries"), m.get("lookup"), m.get("entries")
    if not (
        isinstance(m.get("checked_at"), float | int)
        # NaN, infinities or absurd times would break the timestamp arithmetic.
        and 0 <= m["checked_at"] < 1e11
        and isinstance(m.get("fingerprint"), str)
        and isinstance(m.get("generation"), str)
        and _is_generation(m["generation"])
        and is_int(n)
        and n >= 0
        and isinstance(lookup, list)
        and len(lookup) > 0
        and isinstance(entries, list)
        and len(entries) == -(-n // ENTRY_CHUNK)
        and _is_hex32(m.get("names"))
        and _is_hex32(m.get("summary"))
    ):
        return "missing or malformed fields"
    for shard_digest in [*lookup, *entries]:
        if not _is_hex32(shard_digest):
            return "malformed shard digest"
    return None


def _build(sources: list[Source]) -> MemoryCatalog:
    from ..catalog.build import build_catalog

    STATS["builds"] += 1
    return build_catalog(sources)


def _build_locked(key_dir: str, sources: list[Source], avoid: str | None = None) -> Catalog:
    """Build under the generation lock, unless another process has just stored a match."""
    try:
        from filelock import FileLock, Timeout

        os.makedirs(key_dir, mode=0o700, exist_ok=True)
        lock_path = os.path.join(key_dir, "lock")
        if os.path.isdir(lock_path):
            _rmtree(lock_path)  # damage: a folder where the lock file belongs
        lock = FileLock(lock_path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if key_dir in _given_up:
                # Still the build this process waited for once: not again.
                return _build(sources)
            STATS["waits"] += 1
            try:
                lock.acquire(timeout=LOCK_NOTICE)
            except Timeout:
                _notice_wait(key_dir)
                lock.acquire(timeout=LOCK_TIMEOUT - LOCK_NOTICE)
    except Timeout:
        # Another process is slow to build (or stopped): do not wait any longer.
        _given_up.add(key_dir)
        return _build(sources)
    except OSError as exc:
        _warn(f"cannot write to {key_dir} ({exc.strerror or exc}); working without it")
        return _build(sources)
    _given_up.discard(key_dir)  # that build is over: the lock is ours
    try:
        # A process that held the lock before us may have stored what we need.
        catalog = _load(key_dir, sources, avoid)
        if catalog is not None:
            return catalog
        return _build_and_store(key_dir, sources)
    finally:
        lock.release()


def _build_and_store(key_dir: str, sources: list[Source]) -> Catalog:
    checked_at = time.time()
    before, _, before_parts = _fingerprint(sources, checked_at)
    built = _build(sources)  # errors in the preset files propagate, and nothing is stored
    entries = built.all_entries()
    lookup = built.lookup_table()
    names = list(built.lookup_names())
    summaries = built.summaries()
    # A file edited while we read it: what we built matches neither fingerprint.
    if _fingerprint(sources, checked_at)[0] != before:
        return built
    built.validated = (checked_at, before_parts)
    try:
        _store(key_dir, checked_at, before, entries, lookup, names, summaries)
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        _warn(f"cannot write to {key_dir} ({reason}); working without it")
    return built


def _store(
    key_dir: str,
    checked_at: float,
    fingerprint: str,
    entries: dict[str, Entry],
    lookup: dict[str, str],
    names: list[str],
    summaries: list[SummaryRow],
) -> None:
    token = os.urandom(16).hex()
    tmp = os.path.join(key_dir, f"tmp-{token}")
    final = os.path.join(key_dir, f"g-{token}")
    os.mkdir(tmp)
    try:
        n_lookup = 1
        while n_lookup * NAMES_PER_LOOKUP_SHARD < len(lookup):
            n_lookup *= 2
        lookup_shards: list[dict[str, str]] = [{} for _ in range(n_lookup)]
        for folded, key in lookup.items():
            lookup_shards[_bucket(folded, n_lookup)][folded] = key
        ordered = [entries[str(i)] for i in range(len(entries))]
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": __version__,
            "checked_at": checked_at,
            "fingerprint": fingerprint,
            "generation": os.path.basename(final),
            "n_entries": len(ordered),
            "lookup": [
                _write(os.path.join(tmp, f"l{i}.bin"), s) for i, s in enumerate(lookup_shards)
            ],
            "entries": [
                _write(os.path.join(tmp, f"e{i // ENTRY_CHUNK}.bin"), ordered[i : i + ENTRY_CHUNK])
                for i in range(0, len(ordered), ENTRY_CHUNK)
            ],
            "names": _write(os.path.join(tmp, "names.bin"), names),
            "summary": _write(
                os.path.join(tmp, "summary.bin"), pack_rows(summaries, SUMMARY_COLUMNS)
            ),
        }
        os.rename(tmp, final)
    except BaseException:
        _rmtree(tmp, ignore_errors=True)
        raise
    manifest_path = os.path.join(key_dir, MANIFEST)
    if os.path.isdir(manifest_path) and not os.path.islink(manifest_path):
        _rmtree(manifest_path)  # damage: a folder where the manifest belongs
    _write_atomic(manifest_path, encode(manifest))
    STATS["stores"] += 1
    _collect_garbage(key_dir, keep=os.path.basename(final))
    _prune(os.path.dirname(os.path.dirname(key_dir)), keep=key_dir)


def _prune(root: str, keep: str) -> None:
    """Bound the cache: drop older formats, then the least recently validated source keys.

    Runs after a write, never on a warm read. A process still reading a pruned
    folder notices it is gone and builds for itself.
    """
    current = f"v{FORMAT}"
    try:
        tops = list(os.scandir(root))
    except OSError:  # pragma: no cover - it was just written to
        return
    for top in tops:
        name = top.name
        if (
            name != current
            and name[:1] == "v"
            and name[1:].isdigit()
            and top.is_dir(follow_symlinks=False)
        ):
            _rmtree(top.path, ignore_errors=True)
    try:
        keys = [
            e for e in os.scandir(os.path.join(root, current)) if e.is_dir(follow_symlinks=False)
        ]
    except OSError:  # pragma: no cover
        return
    dated = []
    for key in keys:
        try:
            validated = os.stat(os.path.join(key.path, MANIFEST)).st_mtime
        except OSError:
            validated = 0.0  # no manifest: a build that never finished
        dated.append((key.path == keep, validated, key.path))
    dated.sort(reverse=True)  # the one just written first, then the newest
    total = 0
    for rank, (kept, _, path) in enumerate(dated):
        total += _folder_size(path)
        if not kept and (rank >= MAX_KEY_FOLDERS or total > MAX_CACHE_BYTES):
            _rmtree(path, ignore_errors=True)


def _folder_size(path: str) -> int:
    size = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(folder, name)).st_size
    return size


def _write(path: str, data: Any) -> str:
    raw = encode(data)
    with open(path, "wb") as f:
        f.write(raw)
    return digest(raw)


def _write_atomic(path: str, raw: bytes) -> None:
    # The writer every file of the library goes through (a random, exclusive temporary
    # name, removed on any failure), replacing whatever is there: in the cache a FIFO or a
    # link is damage, not a target to write into, as it would be for a user's file.
    # Writable by this user alone whatever the umask (a umask of 002 is common): a
    # manifest others may write is not trusted (see _read_data).
    from ..common.filewrite import replace_file

    replace_file(path, raw, mode=0o600)


def _collect_garbage(key_dir: str, keep: str) -> None:
    # Older generations go at once: a process still reading one notices the
    # folder is gone and rebuilds. Temporary folders wait, their builder may be alive.
    now = time.time()
    try:
        children = list(os.scandir(key_dir))
    except OSError:  # pragma: no cover
        return
    for child in children:
        try:
            if child.name.startswith("g-") and child.name != keep:
                _rmtree(child.path, ignore_errors=True)
            elif (
                child.name.startswith(("tmp-", f".{MANIFEST}."))
                and now - child.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS
            ):
                if child.is_dir(follow_symlinks=False):
                    _rmtree(child.path, ignore_errors=True)
                else:
                    os.unlink(child.path)
        except OSError:  # pragma: no cover - another process removed it first
            pass
