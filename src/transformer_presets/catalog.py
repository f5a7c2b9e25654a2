"""The catalog: every preset of a set of sources, indexed by name and resolved.

Building it parses every source file, indexes names and aliases, and merges
inheritance chains. Each preset becomes an *entry*, a plain JSON-compatible
dict, so that a catalog can be stored in the cache and read back without
parsing TOML. An entry holds either the merged values or the error that
prevents loading that preset.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._sources import KIND_BY_LEVEL, LEVEL_BUNDLED, Source, list_files
from .errors import (
    PresetArgumentError,
    PresetCycleError,
    PresetError,
    PresetNotFoundError,
    PresetSyntaxError,
    PresetValidationError,
    did_you_mean,
)

if TYPE_CHECKING:
    # Reading TOML is only needed to build a catalog; a warm cache never does.
    from .presetfile import PresetDef

__all__ = [
    "Catalog",
    "MemoryCatalog",
    "build_catalog",
    "entry_problem",
    "error_from_json",
    "error_to_json",
]

_ERROR_CLASSES: dict[str, type[PresetError]] = {
    cls.__name__: cls
    for cls in (
        PresetError,
        PresetNotFoundError,
        PresetSyntaxError,
        PresetValidationError,
        PresetCycleError,
        PresetArgumentError,
    )
}


def error_to_json(error: PresetError) -> dict[str, Any]:
    """An error as plain data, to store in an entry."""
    return {
        "class": type(error).__name__,
        "reason": error.reason,
        "file": error.file,
        "preset": error.preset,
        "key": error.key,
        "line": error.line,
        "col": error.col,
    }


def error_from_json(data: dict[str, Any]) -> PresetError:
    """Rebuild an error stored by :func:`error_to_json`."""
    cls = _ERROR_CLASSES.get(data.get("class", ""), PresetError)
    return cls(
        data["reason"],
        file=data.get("file"),
        preset=data.get("preset"),
        key=data.get("key"),
        line=data.get("line"),
        col=data.get("col"),
    )


# Values, origins, checkpoints, and the files from outside the bundled set that contributed.
_Merged = tuple[dict[str, Any], dict[str, list[Any]], Any, list[str]]

#: How many contributing files a preset records (the rest are counted, not named).
MAX_MODIFIED_BY = 8

# Exceptions that data could cause in code meant to turn them into PresetErrors.
_DATA_FAULTS = (ArithmeticError, LookupError, RecursionError, TypeError, ValueError)


class Catalog(Protocol):
    """What the registry needs of a catalog, whether built or read from the cache."""

    def find(self, name: str) -> str | None:
        """The entry key for a name or alias (any case), or None."""

    def entry(self, key: str) -> dict[str, Any]:
        """The entry stored under ``key``."""

    def entry_keys(self) -> Iterable[str]:
        """Every entry key, in source order."""

    def lookup_names(self) -> Iterable[str]:
        """Every name and alias that :meth:`find` knows (for suggestions)."""

    def summaries(self) -> list[dict[str, Any]]:
        """One :func:`summarize` row per entry, in natural order of names (what listing needs).

        Sorted once when the catalog is built, so that a listing read from the
        cache need not sort; entries of the same name stay in key order.
        """

    #: ``(checked_at, the signature of each source at checked_at)`` proving which
    #: state of the files this catalog reflects, or None when not known.
    validated: tuple[float, list[tuple[Any, ...]]] | None


class MemoryCatalog:
    """A catalog built from the source files in this process."""

    def __init__(
        self, defs: list[PresetDef], lookup: dict[str, int], by_level: dict[int, dict[str, int]]
    ):
        self._defs = defs
        self._lookup = lookup
        # Names and aliases per level, to find the definition a preset shadows.
        self._by_level = by_level
        self._entries: dict[int, dict[str, Any]] = {}
        self._merged: dict[int, _Merged | PresetError] = {}
        self._roots: dict[int, PresetError] = {}  # broken preset -> the first cause
        #: ``(checked_at, signature of each source)`` taken before reading, when known.
        self.validated: tuple[float, list[tuple[Any, ...]]] | None = None

    def find(self, name: str) -> str | None:
        index = self._lookup.get(name.casefold())
        return None if index is None else str(index)

    def entry(self, key: str) -> dict[str, Any]:
        index = int(key)
        if index not in self._entries:
            self._entries[index] = self._make_entry(index)
        return self._entries[index]

    def entry_keys(self) -> Iterator[str]:
        return (str(i) for i in range(len(self._defs)))

    def lookup_names(self) -> Iterable[str]:
        names = []
        for d in self._defs:
            names.append(d.name)
            names.extend(d.aliases)
        return names

    def summaries(self) -> list[dict[str, Any]]:
        rows = [
            summarize(self.entry(key), shadowed=self.find(self._defs[int(key)].name) != key)
            for key in self.entry_keys()
        ]
        rows.sort(key=lambda row: natural_key(row["name"]))  # stable: ties keep key order
        return rows

    def all_entries(self) -> dict[str, dict[str, Any]]:
        """Every entry, resolving every preset (what the cache stores)."""
        return {key: self.entry(key) for key in self.entry_keys()}

    def lookup_table(self) -> dict[str, str]:
        """Folded name or alias -> entry key."""
        return {name: str(index) for name, index in self._lookup.items()}

    # -- resolution -------------------------------------------------------

    def _make_entry(self, index: int) -> dict[str, Any]:
        d = self._defs[index]
        entry: dict[str, Any] = {
            "name": d.name,
            "aliases": d.aliases,
            "abstract": d.abstract,
            "description": d.description,
            "kind": KIND_BY_LEVEL[d.level],
            "file": d.file,
            "line": d.line,
            "extends": d.extends,
            "family": Path(d.file).stem,
            "values": None,
            "origins": None,
            "checkpoints": None,
            "derived": None,
            "error": None,
            "modified_by": [],
        }
        try:
            merged = self._merge(index)
            if isinstance(merged, PresetError):
                raise merged
            values, origins, checkpoints, outside = merged
            entry["values"] = values
            entry["origins"] = origins
            entry["checkpoints"] = checkpoints
            if d.level == LEVEL_BUNDLED:
                entry["modified_by"] = list(outside)
            if not d.abstract:
                entry["derived"] = self._derive(d, values, origins)
        except PresetError as exc:
            entry["error"] = error_to_json(exc)
        except _DATA_FAULTS as exc:  # pragma: no cover - a bug, but never a traceback for data
            entry["error"] = error_to_json(
                PresetValidationError(
                    f"cannot be resolved ({type(exc).__name__}: {exc})", file=d.file, preset=d.name
                )
            )
        return entry

    def _derive(
        self, d: PresetDef, values: dict[str, Any], origins: dict[str, list[Any]]
    ) -> dict[str, Any]:
        from .config import check_and_derive

        try:
            return check_and_derive(values)
        except PresetError as exc:
            origin = origins.get(exc.key or "")
            if origin is not None and origin[0] == d.name:
                # Set by this preset itself: point at that line.
                _, file, line = origin
                raise exc.with_context(preset=d.name, file=file, line=line) from None
            error = exc.with_context(preset=d.name, file=d.file, line=d.line)
            if origin is not None:
                # Inherited, and wrong only with what this preset changed (fewer
                # layers than a parent's per-layer list, say): point at this preset,
                # and say where the value came from.
                setter, file, line = origin
                error = type(error)(
                    f"{error.reason} ({exc.key} is set by preset {setter!r} in {file}:{line})",
                    file=error.file,
                    preset=error.preset,
                    key=error.key,
                    line=error.line,
                )
            raise error from None

    def _merge(self, index: int) -> _Merged | PresetError:
        """The merged values of preset ``index``, or the error that prevents them.

        Inheritance is walked with an explicit stack, not recursion: a chain
        of any length (bounded by memory alone) resolves, and each preset is
        merged once. A preset whose parent cannot be loaded gets one error
        that names the parent and the first cause, however long the chain.
        """
        done = self._merged
        if index in done:
            return done[index]
        visiting: dict[int, int] = {}  # preset on the current path -> its depth
        path: list[int] = []
        stack = [index]

        def leave(node: int) -> None:
            depth = visiting.get(node)
            if depth is not None:  # everything deeper has left already
                for gone in path[depth:]:
                    del visiting[gone]
                del path[depth:]

        while stack:
            current = stack[-1]
            if current in done:
                stack.pop()
                leave(current)
                continue
            parents = self._parents(current)
            if isinstance(parents, PresetError):
                done[current] = parents
                continue
            if current not in visiting:
                visiting[current] = len(path)
                path.append(current)
            waiting = False
            for _, parent in parents:
                if parent in done:
                    continue
                if parent in visiting:
                    self._cycle(path[visiting[parent] :])
                    continue
                stack.append(parent)
                waiting = True
            if not waiting and current not in done:  # a cycle may have settled it
                done[current] = self._combine(current, parents)
        return done[index]

    def _parents(self, index: int) -> list[tuple[str, int]] | PresetError:
        d = self._defs[index]
        if d.error is not None:
            return d.error
        try:
            return [(name, self._parent_index(index, name)) for name in d.extends]
        except PresetError as exc:
            return exc

    def _cycle(self, members: list[int]) -> None:
        """Give each preset of an inheritance cycle the error that shows the cycle."""
        names = [self._defs[i].name for i in members]
        for offset, member in enumerate(members):
            d = self._defs[member]
            chain = names[offset:] + names[:offset] + [d.name]
            self._merged[member] = PresetCycleError(
                "presets extend each other in a cycle: " + " -> ".join(chain),
                file=d.file,
                preset=d.name,
                key="extends",
                line=d.where("extends")[0],
            )

    def _combine(self, index: int, parents: list[tuple[str, int]]) -> _Merged | PresetError:
        d = self._defs[index]
        values: dict[str, Any] = {}
        origins: dict[str, list[Any]] = {}
        checkpoints: Any = None
        outside: list[str] = [] if d.level == LEVEL_BUNDLED else [d.file]
        for parent_name, parent in parents:
            merged = self._merged[parent]
            if isinstance(merged, PresetCycleError):
                return merged
            if isinstance(merged, PresetError):
                # Name the first cause, not a chain of "cannot extend" messages
                # (which would grow with the length of the chain).
                root = self._roots.get(parent, merged)
                self._roots[index] = root
                return PresetError(
                    f"cannot extend {parent_name!r}: {root}",
                    file=d.file,
                    preset=d.name,
                    key="extends",
                    line=d.where("extends")[0],
                )
            p_values, p_origins, p_checkpoints, p_outside = merged
            values.update(p_values)
            origins.update(p_origins)
            if p_checkpoints is not None:
                checkpoints = p_checkpoints
            for file in p_outside:
                if file not in outside and len(outside) < MAX_MODIFIED_BY:
                    outside.append(file)
        for name in d.unset:
            values.pop(name, None)
            origins.pop(name, None)
        for key in d.none:
            values[key] = None
            origins[key] = [d.name, d.file, d.where("none")[0]]
        for key, value in d.values.items():
            values[key] = value
            origins[key] = [d.name, d.file, d.where(key)[0]]
        if d.checkpoints is not None:
            from .schema import expand_checkpoints

            checkpoints = list(expand_checkpoints(d.checkpoints))
        return values, origins, checkpoints, outside

    def _parent_index(self, index: int, parent_name: str) -> int:
        d = self._defs[index]
        folded = parent_name.casefold()
        found = self._lookup.get(folded)
        if folded == d.name.casefold() or folded in (a.casefold() for a in d.aliases):
            # "extends = 'gpt2'" inside a preset named gpt2 means the definition
            # it shadows: the nearest one at a lower level of precedence.
            for level in sorted(lv for lv in self._by_level if lv > d.level):
                if folded in self._by_level[level]:
                    return self._by_level[level][folded]
            found = index
        if found is None or found == index:
            line, col = d.where("extends")
            if found == index:
                raise PresetCycleError(
                    f"preset extends itself: {d.name} -> {d.name}",
                    file=d.file,
                    preset=d.name,
                    key="extends",
                    line=line,
                    col=col,
                )
            raise PresetNotFoundError(
                f"unknown parent preset {parent_name!r}"
                f"{did_you_mean(parent_name, self.lookup_names())}",
                file=d.file,
                preset=d.name,
                key="extends",
                line=line,
                col=col,
            )
        return found


def build_catalog(sources: list[Source]) -> MemoryCatalog:
    """Parse every file of ``sources`` and index the presets.

    Raises :class:`PresetError` for problems that make every lookup
    untrustworthy: a missing source, a file that is not valid TOML, a name
    defined twice at one level, or an alias claimed by two presets.
    """
    import os

    from .presetfile import parse_preset_file

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
            raise PresetError(
                f"is defined twice at the same level: in {other.file} (line {other.line}) "
                f"and in {d.file} (line {d.line})",
                file=d.file,
                preset=d.name,
                line=d.line,
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
                raise PresetError(
                    f"alias {alias!r} of preset {d.name!r} is already the name or an alias "
                    f"of preset {other.name!r} ({other.file}, line {other.line})",
                    file=d.file,
                    preset=d.name,
                    key="aliases",
                    line=d.where("aliases")[0],
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


def summarize(entry: dict[str, Any], *, shadowed: bool = False) -> dict[str, Any]:
    """The fields of a :class:`~transformer_presets.records.PresetInfo` for an entry.

    Plain data, so that a listing can be read from the cache in one small file
    instead of every entry. ``shadowed`` is stored beside them: a definition
    hidden by a higher-precedence one of the same name is not listed.
    """
    values = entry["values"] or {}
    derived = entry["derived"] or {}

    def size(name: str) -> Any:
        return values[name] if name in values else derived.get(name)

    remote = bool(values.get("trust_remote_code"))
    modified_by = list(entry["modified_by"])
    error = None if entry["error"] is None else str(error_from_json(entry["error"]))
    return {
        "name": entry["name"],
        "aliases": list(entry["aliases"]),
        "description": entry["description"],
        "abstract": entry["abstract"],
        "source": entry["kind"],
        "file": entry["file"],
        "line": entry["line"],
        "family": entry["family"],
        "extends": list(entry["extends"]),
        "architecture": values.get("original_architecture"),
        "n_layers": size("n_layers"),
        "d_model": size("d_model"),
        "n_heads": size("n_heads"),
        "n_key_value_heads": values.get("n_key_value_heads"),
        "d_head": size("d_head"),
        "d_mlp": size("d_mlp"),
        "n_ctx": size("n_ctx"),
        "d_vocab": size("d_vocab"),
        "n_params": derived.get("n_params"),
        "dtype": values.get("dtype", "float32" if entry["values"] is not None else None),
        "trust_remote_code": remote,
        "remote_code_warning": remote and (entry["kind"] != "bundled" or bool(modified_by)),
        "modified_by": modified_by,
        "has_checkpoints": entry["checkpoints"] is not None,
        "error": error,
        "shadowed": shadowed,
    }


def entry_problem(entry: Any) -> str | None:
    """Why ``entry`` is not an entry this module makes, or None.

    The cache hands back what a file says; this checks every key and type an
    entry's readers rely on, so that damage is noticed, never a ``KeyError``
    (or a code object as a model name) deep inside a lookup.
    """
    from .config import kind_matches
    from .schema import FIELDS

    if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
        return "not an entry"
    for key in ("name", "kind", "file", "family"):
        if not isinstance(entry[key], str):
            return f"its {key} is not a string"
    if entry["kind"] not in KIND_BY_LEVEL.values():
        return "an unknown kind of source"
    if type(entry["line"]) is not int or type(entry["abstract"]) is not bool:
        return "its line or abstract flag is of the wrong type"
    if entry["description"] is not None and not isinstance(entry["description"], str):
        return "its description is not a string"
    for key in ("aliases", "extends", "modified_by"):
        if not _strings(entry[key]):
            return f"its {key} is not a list of strings"
    values, origins = entry["values"], entry["origins"]
    if values is None:
        if origins is not None or entry["error"] is None:
            return "neither values nor an error"
    else:
        if not isinstance(values, dict) or not isinstance(origins, dict):
            return "its values or origins are not tables"
        for name, value in values.items():
            spec = FIELDS.get(name) if isinstance(name, str) else None
            if spec is None:
                return f"an unknown field {name!r:.40}"
            kinds = spec.kinds
            if not (
                (value is None and spec.nullable)
                or any(kind_matches(k, value) for k in kinds if k != "dtype")
                or ("dtype" in kinds and isinstance(value, str))
            ):
                return f"field {name!r} holds a {type(value).__name__}"
            origin = origins.get(name)
            if not (
                isinstance(origin, list)
                and len(origin) == 3
                and isinstance(origin[0], str)
                and isinstance(origin[1], str)
                and type(origin[2]) is int
            ):
                return f"field {name!r} has no origin"
    derived = entry["derived"]
    if derived is not None and not (
        isinstance(derived, dict)
        and all(isinstance(k, str) and k in FIELDS for k in derived)
        and all(v is None or type(v) in (int, float, bool, str) for v in derived.values())
    ):
        return "its derived values are not plain fields"
    checkpoints = entry["checkpoints"]
    if checkpoints is not None and not (
        isinstance(checkpoints, list)
        and len(checkpoints) == 2
        and checkpoints[0] in ("step", "token")
        and isinstance(checkpoints[1], list)
        and all(type(v) is int for v in checkpoints[1])
    ):
        return "its checkpoints are not a label type and a list of integers"
    error = entry["error"]
    if error is not None and not (
        isinstance(error, dict)
        and set(error) == {"class", "reason", "file", "preset", "key", "line", "col"}
        and isinstance(error["reason"], str)
        and error["class"] in _ERROR_CLASSES
        and all(error[k] is None or isinstance(error[k], str) for k in ("file", "preset", "key"))
        and all(error[k] is None or type(error[k]) is int for k in ("line", "col"))
    ):
        return "its error is not an error"
    return None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_ENTRY_KEYS = frozenset(
    {
        "name",
        "aliases",
        "abstract",
        "description",
        "kind",
        "file",
        "line",
        "extends",
        "family",
        "values",
        "origins",
        "checkpoints",
        "derived",
        "error",
        "modified_by",
    }
)


def natural_key(text: str) -> list[Any]:
    """Sort key putting ``pythia-70m`` before ``pythia-160m`` (numbers compare as numbers)."""
    import re

    parts: list[Any] = []
    for chunk in re.split(r"([0-9]+(?:\.[0-9]+)?)", text.casefold()):
        if not chunk:
            continue
        if chunk[0] in "0123456789":
            parts.append((0, float(chunk), chunk))
        else:
            parts.append((1, 0.0, chunk))
    return parts
