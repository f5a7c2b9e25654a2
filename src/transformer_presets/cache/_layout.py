"""The cache on disk: its folders and file names, its limits, and reading or writing one file.

Under :func:`cache_folder`::

    v<FORMAT>/                   one folder per cache format version
      <source key>/              one folder per set of sources, library and Python version
        manifest.bin             fingerprint of the source files -> one generation
        lock                     taken by a process building a generation
        g-<token>/               a generation: immutable once renamed into place
          names.bin              every name and alias (for "did you mean")
          summary.bin            one row per entry: what listing needs, in one small file
          l<i>.bin               lookup shard: folded name -> entry key
          e<i>.bin               entry shard: ENTRY_CHUNK entries in source order

marshal's format may change between Python versions, so the Python version is
part of the source key (:func:`key_folder`). Every file is read only if it is a
regular file of at most :data:`MAX_FILE_BYTES` (:func:`read_data`).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import zlib

from ..common import env as _env
from ..common.dirs import user_data_dir
from ..common.fileio import read_regular
from ..common.plain import blake2b
from ..common.version import __version__
from ._files import Damaged, decode, digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ..files.sources import Source

__all__ = [
    "ENTRY_CHUNK",
    "FORMAT",
    "LOCK",
    "MANIFEST",
    "MAX_CACHE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_KEY_FOLDERS",
    "NAMES_PER_LOOKUP_SHARD",
    "STALE_TMP_SECONDS",
    "bucket",
    "cache_folder",
    "folder_size",
    "format_dirs",
    "is_generation",
    "is_hex32",
    "key_folder",
    "read_data",
    "rmtree",
    "write_atomic",
]


#: Bump when the layout or the entry format changes; each version has its own folder.
FORMAT = 5
ENTRY_CHUNK = 16
NAMES_PER_LOOKUP_SHARD = 128
# Temporary folders of builders that died are removed after this long.
STALE_TMP_SECONDS = 600.0
#: The largest cache file read (the summary of 10,000 presets takes about 2 MiB).
MAX_FILE_BYTES = 64 << 20
#: A write keeps at most this many source keys (sets of sources and Python versions) ...
MAX_KEY_FOLDERS = 16
#: ... and at most this many bytes in all, keeping the most recently validated keys.
MAX_CACHE_BYTES = 256 << 20

MANIFEST = "manifest.bin"
LOCK = "lock"


def is_hex32(text: object) -> bool:
    # strip() runs in C: the manifest of a large cache holds many digests.
    return isinstance(text, str) and len(text) == 32 and not text.strip("0123456789abcdef")


def is_generation(name: object) -> bool:
    return isinstance(name, str) and name.startswith("g-") and is_hex32(name[2:])


def cache_folder() -> str:
    """Where the cache lives, as a string: pathlib is not worth importing for a warm lookup."""
    moved = os.environ.get(_env.CACHE_DIR, "").strip()
    if moved:
        return moved
    return os.path.join(user_data_dir(), "cache")


def format_dirs(location: Path) -> list[Path]:
    """The folders of every cache format (``v<n>``) under ``location``."""
    try:
        return [p for p in location.iterdir() if (p.name[:1] == "v" and p.name[1:].isdigit())]
    except OSError:
        return []


def key_folder(sources: list[Source]) -> str:
    """The folder of the generations built from ``sources``."""
    # Absolute paths: the same relative path from another folder is another source.
    described = [(s.level, os.path.abspath(s.path), s.required) for s in sources]
    # marshal's format belongs to the interpreter: one cache per Python version.
    python = (sys.implementation.name, sys.version_info[:2], marshal.version)
    text = repr((FORMAT, __version__, python, described))
    key = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    return os.path.join(cache_folder(), f"v{FORMAT}", key)


def bucket(folded: str, n_shards: int) -> int:
    """The lookup shard that holds the folded name ``folded``."""
    # crc32, not hash(): it must agree between processes.
    return zlib.crc32(folded.encode("utf-8", "surrogatepass")) % n_shards


def read_data(path: str, digest_: str | None = None) -> Any:
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


def write_atomic(path: str, raw: bytes) -> None:
    """Replace ``path`` with ``raw`` at once, writable by this user alone."""
    # The writer every file of the library goes through (a random, exclusive temporary
    # name, removed on any failure), replacing whatever is there: in the cache a FIFO or a
    # link is damage, not a target to write into, as it would be for a user's file.
    # Writable by this user alone whatever the umask (a umask of 002 is common): a
    # manifest others may write is not trusted (see read_data).
    from ..common.filewrite import replace_file

    replace_file(path, raw, mode=0o600)


def rmtree(path: str, *, ignore_errors: bool = False) -> None:
    import shutil  # only when something is removed

    shutil.rmtree(path, ignore_errors=ignore_errors)


def folder_size(path: str | Path) -> int:
    """The bytes of every file below ``path`` (links counted as links)."""
    size = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(folder, name)).st_size
    return size
