"""Fingerprints of the preset files: a value that changes whenever one of them changes.

The registry takes one before every lookup, to notice edits in a long-running
process, and the cache records one to know which state of the files it holds.
"""

from __future__ import annotations

import os

from ..common.plain import KeyedValue
from ..errors import PresetError
from .sources import Source, file_names

__all__ = ["RACY_SECONDS", "Stamp", "is_racy", "signature", "source_signatures"]

# Every stat of a preset file goes through this name, so that tests can play
# a filesystem with coarse timestamps or an edit that stat cannot see.
_stat = os.stat

# Timestamps this close to "now" cannot prove a file unchanged: an edit that
# keeps the size and lands in the same timestamp tick looks identical (git's
# "racy clean" problem). Such files are compared by content instead. Two
# seconds covers the coarsest common filesystem (FAT) as well as ext4's
# clock-tick granularity.
RACY_SECONDS = 2.0


def _content_digest(path: str) -> str:
    from ..common.fileio import MAX_PRESET_FILE_BYTES, read_regular
    from ..common.plain import blake2b

    # Never blocks on a FIFO nor reads /dev/zero: such files get no digest
    # (and fail with a clear error when the catalog reads them).
    return blake2b(read_regular(path, MAX_PRESET_FILE_BYTES), digest_size=16).hexdigest()


def signature(sources: list[Source], *, checked_at: float | None = None) -> tuple[Stamp, ...]:
    """A value that changes whenever the preset files of ``sources`` change.

    It covers the set of files (added, removed, renamed), each file's size,
    modification and status-change times, device and inode (an editor's
    save-by-rename makes a new inode), and the content hash of any file whose
    timestamps are too close to ``checked_at`` (default: now) to be trusted.
    Two signatures taken with the same ``checked_at`` are equal only if no
    file changed in between, whatever the timestamp granularity.

    >>> signature([]) == signature([])
    True
    """
    return tuple(
        part for parts in source_signatures(sources, checked_at=checked_at) for part in parts
    )


def source_signatures(
    sources: list[Source], *, checked_at: float | None = None
) -> list[tuple[Stamp, ...]]:
    """:func:`signature`, one per source, so that a caller can keep the parts it watches."""
    import time

    if checked_at is None:
        checked_at = time.time()
    # Nanoseconds, so that comparing with the st_*_ns fields loses nothing.
    racy_after = int((checked_at - RACY_SECONDS) * 1e9)
    return [_one_signature(source, racy_after) for source in sources]


def is_racy(sig: tuple[Stamp, ...]) -> bool:
    """Whether a signature had to hash a file: its timestamps could not be trusted."""
    return any(stamp.digest is not None for stamp in sig)


class Stamp(KeyedValue):
    """What one preset file (or a source without files) looked like when a signature was taken.

    ``kind`` is ``"file"`` for a file that was there (then ``size``, the
    modification and status-change times, ``dev`` and ``ino`` say which state
    of it, and ``digest`` is its content hash when its timestamps were too
    recent to trust), ``"gone"`` for a file that vanished while being listed,
    ``"empty"`` for a source that holds no files and ``"missing"`` for one
    that cannot be read (``detail`` says why).

    >>> Stamp("empty", "/p") == Stamp("empty", "/p")
    True
    """

    __slots__ = ("ctime_ns", "detail", "dev", "digest", "ino", "kind", "mtime_ns", "path", "size")

    def __init__(
        self,
        kind: str,
        path: str,
        *,
        size: int = 0,
        mtime_ns: int = 0,
        ctime_ns: int = 0,
        dev: int = 0,
        ino: int = 0,
        digest: str | None = None,
        detail: str = "",
    ) -> None:
        self.kind = kind
        self.path = path
        self.size = size
        self.mtime_ns = mtime_ns
        self.ctime_ns = ctime_ns
        self.dev = dev
        self.ino = ino
        self.digest = digest
        self.detail = detail

    def _key(self) -> tuple[object, ...]:
        return (
            self.kind,
            self.path,
            self.size,
            self.mtime_ns,
            self.ctime_ns,
            self.dev,
            self.ino,
            self.digest,
            self.detail,
        )

    def without_digest(self) -> tuple[object, ...]:
        """Everything but the content hash: what the timestamps alone say."""
        return (*self._key()[:-2], self.detail)

    def __repr__(self) -> str:
        # The cache hashes this text: it must depend on the values alone.
        return "Stamp" + repr(self._key())


def _one_signature(source: Source, racy_after: int) -> tuple[Stamp, ...]:
    parts: list[Stamp] = []
    try:
        files = file_names(source)
    except PresetError as exc:
        return (Stamp("missing", source.path, detail=exc.reason),)
    if not files:
        return (Stamp("empty", source.path),)
    for path in files:
        try:
            st = _stat(path)
        except OSError:
            parts.append(Stamp("gone", path))
            continue
        digest = None
        # ctime too: it cannot be set back by hand (touch -d, cp -p), and a
        # timestamp in the future (clock skew) is as untrustworthy as a fresh one.
        if max(st.st_mtime_ns, st.st_ctime_ns) >= racy_after:
            try:
                digest = _content_digest(path)
            except OSError:
                digest = "unreadable"
        parts.append(
            Stamp(
                "file",
                path,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                ctime_ns=st.st_ctime_ns,
                dev=st.st_dev,
                ino=st.st_ino,
                digest=digest,
            )
        )
    return tuple(parts)
