"""The manifest of a source key: the fields it must hold, the fingerprint it records, re-dating it.

The manifest is valid only while :func:`~transformer_presets.files.fingerprint.signature`
of every source (bundled included), taken with the manifest's ``checked_at``
time, hashes to its ``fingerprint``: same files, same sizes, timestamps and
inodes, and the same contents for every file whose timestamps were too recent
to be trusted when the generation was built. The library's own code is part
of the fingerprint too (:func:`code_stamp`), so an edited checkout never reads
values resolved by older code.
"""

from __future__ import annotations

import os

from ..common.plain import blake2b, is_int
from ..common.version import __version__
from ..files.fingerprint import Stamp, is_racy, source_signatures
from ._files import Damaged, encode
from ._layout import (
    ENTRY_CHUNK,
    FORMAT,
    LOCK,
    MANIFEST,
    is_generation,
    is_hex32,
    read_data,
    write_atomic,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..files.sources import Source

__all__ = ["STAMPED", "code_stamp", "fingerprint_of", "manifest_problem", "refresh"]


#: The subpackages whose code decides what a preset resolves to (with the package's own
#: top-level modules): an edit to one of them makes a new cache.
STAMPED = ("", "common", "fields", "files", "catalog", "cache")


def code_stamp() -> list[list[Any]]:
    """The name, size and modification time of every module in :data:`STAMPED`."""
    # An edited checkout keeps its version number; its resolved values may differ.
    package = os.path.dirname(os.path.dirname(__file__))
    stamp = []
    for folder in STAMPED:
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


def fingerprint_of(
    sources: list[Source], checked_at: float
) -> tuple[str, tuple[Any, ...], list[tuple[Any, ...]]]:
    """The digest of the sources' signature at ``checked_at``, the signature, and its parts.

    The parts (one signature per source) let the registry keep watching the
    user's sources without scanning them a second time.
    """
    per_source = source_signatures(sources, checked_at=checked_at)
    sig = tuple(part for parts in per_source for part in parts)
    text = repr((code_stamp(), sig))
    fingerprint = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return fingerprint, sig, per_source


def _without_digests(sig: tuple[Stamp, ...]) -> tuple[tuple[object, ...], ...]:
    return tuple(stamp.without_digest() for stamp in sig)


def manifest_problem(m: Any) -> str | None:
    """What is wrong with the manifest ``m`` (``"other version"`` if it is another
    library's or format's), or None."""
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
        and is_generation(m["generation"])
        and is_int(n)
        and n >= 0
        and isinstance(lookup, list)
        and len(lookup) > 0
        and isinstance(entries, list)
        and len(entries) == -(-n // ENTRY_CHUNK)
        and is_hex32(m.get("names"))
        and is_hex32(m.get("summary"))
    ):
        return "missing or malformed fields"
    for shard_digest in [*lookup, *entries]:
        if not is_hex32(shard_digest):
            return "malformed shard digest"
    return None


def refresh(
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
    fingerprint, fresh, _ = fingerprint_of(sources, now)
    if is_racy(fresh) or _without_digests(fresh) != _without_digests(sig):
        return
    try:
        from filelock import FileLock, Timeout

        with FileLock(os.path.join(key_dir, LOCK), timeout=0):
            current = read_data(os.path.join(key_dir, MANIFEST))
            if current != manifest:
                return  # another process got there first
            write_atomic(
                os.path.join(key_dir, MANIFEST),
                encode({**manifest, "checked_at": now, "fingerprint": fingerprint}),
            )
    except (Timeout, Damaged, OSError):
        pass
