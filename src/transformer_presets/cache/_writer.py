"""Writing a generation, then keeping the cache bounded: older generations and source keys go.

A generation is written in a temporary folder, renamed into place, and only
then does an atomic replace of ``manifest.bin`` point at it, so readers never
see a partial file or a mix of two generations. The manifest records the
blake2b digest of every shard, so a damaged shard is noticed, not trusted.

Each write keeps the cache bounded: at most :data:`._layout.MAX_KEY_FOLDERS`
source keys (the most recently validated) and :data:`._layout.MAX_CACHE_BYTES`
in all, and no folder of an older format.
"""

from __future__ import annotations

import os
import time

from ..common.version import __version__
from ._files import SUMMARY_COLUMNS, digest, encode, pack_rows
from ._layout import (
    ENTRY_CHUNK,
    FORMAT,
    MANIFEST,
    MAX_CACHE_BYTES,
    MAX_KEY_FOLDERS,
    NAMES_PER_LOOKUP_SHARD,
    STALE_TMP_SECONDS,
    bucket,
    folder_size,
    rmtree,
    write_atomic,
)
from ._report import STATS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..catalog.types import Entry, SummaryRow

__all__ = ["write_generation"]


def write_generation(
    key_dir: str,
    checked_at: float,
    fingerprint: str,
    entries: dict[str, Entry],
    lookup: dict[str, str],
    names: list[str],
    summaries: list[SummaryRow],
) -> None:
    """Write a generation of what was built, point the manifest at it, then prune."""
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
            lookup_shards[bucket(folded, n_lookup)][folded] = key
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
        rmtree(tmp, ignore_errors=True)
        raise
    manifest_path = os.path.join(key_dir, MANIFEST)
    if os.path.isdir(manifest_path) and not os.path.islink(manifest_path):
        rmtree(manifest_path)  # damage: a folder where the manifest belongs
    write_atomic(manifest_path, encode(manifest))
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
            rmtree(top.path, ignore_errors=True)
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
        total += folder_size(path)
        if not kept and (rank >= MAX_KEY_FOLDERS or total > MAX_CACHE_BYTES):
            rmtree(path, ignore_errors=True)


def _write(path: str, data: Any) -> str:
    raw = encode(data)
    with open(path, "wb") as f:
        f.write(raw)
    return digest(raw)


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
                rmtree(child.path, ignore_errors=True)
            elif (
                child.name.startswith(("tmp-", f".{MANIFEST}."))
                and now - child.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS
            ):
                if child.is_dir(follow_symlinks=False):
                    rmtree(child.path, ignore_errors=True)
                else:
                    os.unlink(child.path)
        except OSError:  # pragma: no cover - another process removed it first
            pass
