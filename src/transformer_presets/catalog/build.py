"""The catalog: every preset of a set of sources, indexed by name and alias.

:func:`build_catalog` parses every source file, checks that no name is
defined twice at one level and no alias is claimed twice, and indexes names
and aliases (a higher level of precedence shadows a lower one). The presets
themselves are resolved on demand by :class:`~transformer_presets.catalog.resolve.Resolver`.
The cache implements the same :class:`Catalog` protocol from its files.
"""

from __future__ import annotations

import os
from typing import Protocol

from ..files.sources import Source, list_files
from .entries import natural_key, summarize
from .resolve import Resolver

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ..files.fingerprint import Stamp
    from ..files.reader import PresetDef
    from .types import Entry, SummaryRow


class Catalog(Protocol):
    """What the registry needs of a catalog, whether built or read from the cache."""

    #: ``(checked_at, the signature of each source at checked_at)`` proving which
    #: state of the files this catalog reflects, or None when not known.
    validated: tuple[float, list[tuple[Stamp, ...]]] | None

    def find(self, name: str) -> str | None:
        """The entry key for a name or alias (any case), or None."""

    def entry(self, key: str) -> Entry:
        """The entry stored under ``key``."""

    def entry_keys(self) -> Iterable[str]:
        """Every entry key, in source order."""

    def lookup_names(self) -> Iterable[str]:
        """Every name and alias that :meth:`find` knows (for suggestions)."""

    def summaries(self) -> list[SummaryRow]:
        """One summary row per entry, in natural order of names (what listing needs).

        Sorted once when the catalog is built, so that a listing read from the
        cache need not sort; entries of the same name stay in key order.
        """


__all__ = ["Catalog", "MemoryCatalog", "build_catalog"]


class MemoryCatalog:
    """A catalog built from the source files in this process."""

    def __init__(
        self, defs: list[PresetDef], lookup: dict[str, int], by_level: dict[int, dict[str, int]]
    ) -> None:
        self._defs = defs
        self._lookup = lookup
        self._resolver = Resolver(defs, lookup, by_level)
        self._entries: dict[int, Entry] = {}
        #: ``(checked_at, signature of each source)`` taken before reading, when known.
        self.validated: tuple[float, list[tuple[Stamp, ...]]] | None = None

    def find(self, name: str) -> str | None:
        index = self._lookup.get(name.casefold())
        return None if index is None else str(index)

    def entry(self, key: str) -> Entry:
        index = int(key)
        if index not in self._entries:
            self._entries[index] = self._resolver.entry(index)
        return self._entries[index]

    def entry_keys(self) -> Iterator[str]:
        return (str(i) for i in range(len(self._defs)))

    def lookup_names(self) -> Iterable[str]:
        return self._resolver.lookup_names()

    def summaries(self) -> list[SummaryRow]:
        rows = [
            summarize(self.entry(key), shadowed=self.find(self._defs[int(key)].name) != key)
            for key in self.entry_keys()
        ]
        rows.sort(key=lambda row: natural_key(row["name"]))  # stable: ties keep key order
        return rows

    def all_entries(self) -> dict[str, Entry]:
        """Every entry, resolving every preset (what the cache stores)."""
        return {key: self.entry(key) for key in self.entry_keys()}

    def lookup_table(self) -> dict[str, str]:
        """Folded name or alias -> entry key."""
        return {name: str(index) for name, index in self._lookup.items()}


def build_catalog(sources: list[Source]) -> MemoryCatalog:
    """Parse every file of ``sources`` and index the presets.

    Raises :class:`PresetError` for problems that make every lookup
    untrustworthy: a missing source, a file that is not valid TOML, a name
    defined twice at one level, or an alias claimed by two presets.
    """
    from ..files.reader import parse_preset_file

    defs: list[PresetDef] = []
    read: set[str] = set()
    for source in sources:
        for path in list_files(source):
            # A file named twice (the same folder twice in TRANSFORMER_PRESETS_PATH, a
            # link to it) is read once, at its highest level of precedence.
            real = os.path.realpath(path)
            if real in read:
                continue
            read.add(real)
            for d in parse_preset_file(path).presets:
                d.level = source.level
                defs.append(d)

    lookup: dict[str, int] = {}
    owner_level: dict[str, int] = {}
    # Names first (highest level wins), then aliases, so a name never loses to an alias.
    by_level_name: dict[tuple[int, str], int] = {}
    for index, d in enumerate(defs):
        key = (d.level, d.name.casefold())
        if key in by_level_name:
            other = defs[by_level_name[key]]
            raise d.error_at(
                f"is defined twice at the same level: in {other.file} (line {other.line}) "
                f"and in {d.file} (line {d.line})"
            )
        by_level_name[key] = index
    for (level, folded), index in sorted(by_level_name.items()):
        if folded not in lookup:
            lookup[folded] = index
            owner_level[folded] = level

    alias_owner: dict[tuple[int, str], int] = {}
    for index, d in enumerate(defs):
        for alias in d.aliases:
            folded = alias.casefold()
            if folded == d.name.casefold():
                continue
            other_index = by_level_name.get((d.level, folded))
            if other_index is None:
                other_index = alias_owner.get((d.level, folded))
            if other_index is not None and other_index != index:
                other = defs[other_index]
                raise d.error_at(
                    f"alias {alias!r} of preset {d.name!r} is already the name or an alias "
                    f"of preset {other.name!r} ({other.file}, line {other.line})",
                    "aliases",
                )
            alias_owner[(d.level, folded)] = index
    for (level, folded), index in sorted(alias_owner.items()):
        if folded not in lookup or owner_level[folded] > level:
            lookup[folded] = index
            owner_level[folded] = level
    by_level: dict[int, dict[str, int]] = {}
    for (level, folded), index in [*by_level_name.items(), *alias_owner.items()]:
        by_level.setdefault(level, {})[folded] = index
    return MemoryCatalog(defs, lookup, by_level)
