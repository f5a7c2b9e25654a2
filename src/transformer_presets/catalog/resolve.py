"""Inheritance: the merged values of each preset, or the error that stops it.

A :class:`Resolver` takes every preset definition of a set of sources and the
index of their names (made by :func:`~transformer_presets.catalog.build.build_catalog`)
and resolves each preset on demand: its parents left to right, then ``unset``,
``none`` and its own keys; then the class's checks and derivations. The walk
uses an explicit stack, so a chain of any length resolves (memory is the only
limit), each preset is merged once, and a cycle is an error naming it.
"""

from __future__ import annotations

import os

from ..errors import (
    PresetCycleError,
    PresetError,
    PresetNotFoundError,
    PresetValidationError,
    did_you_mean,
)
from ..files.sources import KIND_BY_LEVEL, LEVEL_BUNDLED
from .entries import error_to_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..files.reader import PresetDef
    from .types import CheckpointData, Entry, Origin

__all__ = ["MAX_MODIFIED_BY", "Resolver"]

# Values, origins, checkpoints, and the files from outside the bundled set that contributed.
_Merged = tuple["dict[str, Any]", "dict[str, Origin]", "CheckpointData | None", "list[str]"]

#: How many contributing files a preset records.
MAX_MODIFIED_BY = 8

# Exceptions that data could cause in code meant to turn them into PresetErrors.
_DATA_FAULTS = (ArithmeticError, LookupError, RecursionError, TypeError, ValueError)


class Resolver:
    """The presets of one catalog, resolved one at a time and remembered.

    ``defs`` are the definitions in source order; ``lookup`` maps each folded
    name or alias to the definition it finds; ``by_level`` does the same per
    level of precedence, to find the definition a preset shadows.
    """

    def __init__(
        self,
        defs: list[PresetDef],
        lookup: dict[str, int],
        by_level: dict[int, dict[str, int]],
    ) -> None:
        self._defs = defs
        self._lookup = lookup
        self._by_level = by_level
        self._merged: dict[int, _Merged | PresetError] = {}
        self._roots: dict[int, PresetError] = {}  # broken preset -> the first cause

    def lookup_names(self) -> list[str]:
        """Every name and alias, for suggestions."""
        names = []
        for d in self._defs:
            names.append(d.name)
            names.extend(d.aliases)
        return names

    def entry(self, index: int) -> Entry:
        """The entry of preset ``index``: its merged values and derivations, or its error."""
        d = self._defs[index]
        entry: Entry = {
            "name": d.name,
            "aliases": d.aliases,
            "abstract": d.abstract,
            "description": d.description,
            "kind": KIND_BY_LEVEL[d.level],
            "file": d.file,
            "line": d.line,
            "extends": d.extends,
            "family": os.path.splitext(os.path.basename(d.file))[0],
            "values": None,
            "origins": None,
            "checkpoints": None,
            "derived": None,
            "error": None,
            "modified_by": [],
            "patterns": None,
        }
        try:
            merged = self._merge(index)
            if isinstance(merged, PresetError):
                raise merged
            values, origins, checkpoints, outside = merged
            # Kept beside the laid-out lists, for a preset written to extend this one.
            patterns = {k: v for k, v in values.items() if isinstance(v, dict)}
            values = self._laid_out(d, values, origins)
            entry["values"] = values
            entry["patterns"] = patterns
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

    def _laid_out(
        self, d: PresetDef, values: dict[str, Any], origins: dict[str, Origin]
    ) -> dict[str, Any]:
        """``values`` with each ``{ repeat = [...] }`` pattern laid out over ``n_layers``.

        Patterns stay patterns in what children inherit, so a child with
        another depth gets the pattern laid out over its own layers. An abstract
        preset without ``n_layers`` keeps its patterns as they are.
        """
        from ..fields.keys import expand_pattern

        patterns = [k for k, v in values.items() if isinstance(v, dict)]
        if not patterns or "n_layers" not in values:
            return values
        laid_out = dict(values)
        for key in patterns:
            try:
                laid_out[key] = expand_pattern(values[key], values["n_layers"])
            except PresetError as exc:
                origin = origins.get("n_layers")
                if origin is None:
                    raise exc.with_context(preset=d.name, file=d.file, line=d.line) from None
                raise exc.with_context(
                    preset=d.name, file=origin["file"], line=origin["line"]
                ) from None
        return laid_out

    def _derive(
        self, d: PresetDef, values: dict[str, Any], origins: dict[str, Origin]
    ) -> dict[str, Any]:
        from ..fields.rules import check_and_derive

        try:
            return check_and_derive(values)
        except PresetError as exc:
            origin = origins.get(exc.key or "")
            if origin is not None and origin["preset"] == d.name:
                # Set by this preset itself: point at that line.
                raise exc.with_context(
                    preset=d.name, file=origin["file"], line=origin["line"]
                ) from None
            error = exc.with_context(preset=d.name, file=d.file, line=d.line)
            if origin is not None:
                # Inherited, and wrong only with what this preset changed (fewer
                # layers than a parent's per-layer list, say): point at this preset,
                # and say where the value came from.
                error = type(error)(
                    f"{error.reason} ({exc.key} is set by preset {origin['preset']!r} in "
                    f"{origin['file']}:{origin['line']})",
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
            self._merged[member] = d.error_at(
                "presets extend each other in a cycle: " + " -> ".join(chain),
                "extends",
                PresetCycleError,
            )

    def _combine(self, index: int, parents: list[tuple[str, int]]) -> _Merged | PresetError:
        d = self._defs[index]
        values: dict[str, Any] = {}
        origins: dict[str, Origin] = {}
        checkpoints: CheckpointData | None = None
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
                return d.error_at(f"cannot extend {parent_name!r}: {root}", "extends")
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
            origins[key] = {"preset": d.name, "file": d.file, "line": d.where("none")[0]}
        for key, value in d.values.items():
            values[key] = value
            origins[key] = {"preset": d.name, "file": d.file, "line": d.where(key)[0]}
        if d.checkpoints is not None:
            from ..fields.keys import expand_checkpoints

            label_type, labels = expand_checkpoints(d.checkpoints)
            checkpoints = {"label_type": label_type, "values": labels}
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
        if found == index:
            raise d.error_at(
                f"preset extends itself: {d.name} -> {d.name}",
                "extends",
                PresetCycleError,
                column=True,
            )
        if found is None:
            raise d.error_at(
                f"unknown parent preset {parent_name!r}"
                f"{did_you_mean(parent_name, self.lookup_names())}",
                "extends",
                PresetNotFoundError,
                column=True,
            )
        return found
