"""One generation, read lazily: each file read once and checked before use; damage means a rebuild.

A warm lookup reads the manifest (:mod:`._manifest`), one lookup shard and one
entry shard. Each file is checked twice: its bytes against the digest the
manifest records (:func:`._layout.read_data`), then what they decode to against
what the file must hold (:func:`catalog.entries.entry_problem` for entries).
Anything unexpected counts as damage: the catalog rebuilds from the sources
(with one warning) and answers from that.
"""

from __future__ import annotations

import os

from ._files import SUMMARY_COLUMNS, Damaged, unpack_rows
from ._layout import ENTRY_CHUNK, bucket, read_data
from ._report import STATS, warn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

    from ..catalog.build import Catalog
    from ..catalog.types import Entry, SummaryRow
    from ..files.sources import Source

__all__ = ["CachedCatalog"]


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
    gone, the catalog rebuilds from the sources and answers from that:
    ``rebuild(key_dir, sources, avoid)`` builds it (under the build lock), given
    the generation it must not read again.
    """

    def __init__(
        self,
        key_dir: str,
        manifest: dict[str, Any],
        sources: list[Source],
        rebuild: Callable[[str, list[Source], str], Catalog],
    ) -> None:
        self._key_dir = key_dir
        self._dir = os.path.join(key_dir, manifest["generation"])
        self._manifest = manifest
        self._sources = sources
        self._rebuild = rebuild
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
                key = self._lookup_shard(bucket(folded, len(self._lookup_digests))).get(folded)
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
            data = read_data(os.path.join(self._dir, f"{name}.bin"), digest_)
            self._files[name] = check(data)
        return self._files[name]

    def _fall_back(self, exc: BaseException) -> None:
        STATS["fallbacks"] += 1
        if not (isinstance(exc, FileNotFoundError) and not os.path.exists(self._dir)):
            # A generation folder removed whole was superseded by a newer
            # build (or the cache was cleared): nothing to warn about.
            warn(f"{exc}; rebuilding it")
        self._fallback = self._rebuild(self._key_dir, self._sources, os.path.basename(self._dir))
