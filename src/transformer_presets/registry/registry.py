"""``PresetRegistry`` and the default registry: find, list, resolve, explain and load presets.

A registry reads its sources lazily, on first use, and notices when the
user's files change (the bundled files are fixed for the life of the
process). Nothing here imports torch or numpy except :meth:`PresetRegistry.get`,
which builds a :class:`HookedTransformerConfig`.

This module holds what a warm ``list`` needs (the catalog of the sources,
lookups by name, the listing with its patterns, filters and orders, and
:func:`default_registry`) and is the only one of ``registry/`` that such a
listing imports. Loading a preset (its checks, building a config, the memo of
built configs) is in ``_loading``, explaining one and making its records in
``_explaining``: both are imported on first use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from ..common import env as _env
from ..errors import (
    PresetArgumentError,
    PresetError,
    PresetNotFoundError,
    did_you_mean,
)
from ..files.fingerprint import is_racy, signature
from ..files.sources import LEVEL_BUNDLED, Source, default_sources, path_arguments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..catalog.build import Catalog
    from ..catalog.records import Checkpoints, FieldOrigin, PresetInfo
    from ..catalog.types import Entry, SummaryRow
    from ..config.hooked import HookedTransformerConfig
    from ._loading import Loaded

# Imported where they are needed, for a warm listing that reads the cache
# alone: the records (their module needs typing), the catalog (TOML parsing
# and merging, for building a catalog or describing an entry), and this
# package's _loading and _explaining.

#: The kinds of source a preset can come from, highest precedence first.
SOURCE_KINDS = ("path", "env", "user", "bundled")

#: The orders :meth:`PresetRegistry.list` takes, and the summary column each sorts by.
SORT_KEYS: dict[str, str | None] = {
    "name": None,
    "params": "n_params",
    "layers": "n_layers",
    "d_model": "d_model",
    "context": "n_ctx",
}

__all__ = [
    "SORT_KEYS",
    "SOURCE_KINDS",
    "PresetRegistry",
    "default_registry",
    "explain_preset",
    "get_preset",
    "list_presets",
    "resolve_preset",
]


class PresetRegistry:
    """The presets of a set of sources, looked up by name or alias (any case).

    Sources, highest precedence first: ``paths`` given here, the folders and
    files in ``TRANSFORMER_PRESETS_PATH``, the user preset folder and the
    bundled presets. ``use_cache=False`` turns off the resolved-preset cache.

    >>> reg = PresetRegistry()
    >>> reg.resolve("gpt2-small")["d_model"]
    768
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] = (),
        *,
        use_cache: bool = True,
    ) -> None:
        self._paths = path_arguments(paths)
        if not isinstance(use_cache, bool):
            # "no" or 0.0 would read as a choice made; only True or False say which.
            raise PresetArgumentError(
                f"use_cache must be True or False, not {type(use_cache).__name__}",
                key="use_cache",
            )
        self.use_cache = use_cache
        self._sources: list[Source] | None = None
        self._catalog: Catalog | None = None
        self._stamp: tuple[float, tuple[Any, ...]] | None = None
        self._built: dict[Any, HookedTransformerConfig] = {}

    # -- sources and the catalog -------------------------------------------

    @property
    def sources(self) -> list[Source]:
        """The sources this registry reads, highest precedence first."""
        if self._sources is None:
            self._sources = default_sources(self._paths)
        return self._sources

    def reload(self) -> None:
        """Forget what was read; the next call reads the sources again."""
        self._sources = None
        self._catalog = None
        self._stamp = None
        self._built.clear()

    def _user_signature(self, checked_at: float) -> tuple[Any, ...]:
        # The bundled files are fixed for the process; the user's may change.
        user = [s for s in self.sources if s.level != LEVEL_BUNDLED]
        return signature(user, checked_at=checked_at)

    def catalog(self) -> Catalog:
        """The current catalog, read again when a user source file has changed."""
        if self._catalog is not None and self._stamp is not None:
            checked_at, seen = self._stamp
            if self._user_signature(checked_at) == seen:
                return self._catalog
        started = time.time()
        uses_cache = self._cache_on()
        # Without the cache, take the stamp before reading: an edit made while
        # reading then shows as a change next time, never as a stale catalog.
        before = None if uses_cache else (started, self._user_signature(started))
        catalog = self._load_catalog(uses_cache)
        stamp = before
        validated = catalog.validated
        if validated is not None and len(validated[1]) == len(self.sources):
            # The cache has just scanned every source to validate itself: keep
            # the user's part of that scan instead of scanning them again.
            checked_at, per_source = validated
            watched = (
                p for s, p in zip(self.sources, per_source, strict=True) if s.level != LEVEL_BUNDLED
            )
            stamp = (checked_at, tuple(part for parts in watched for part in parts))
        elif stamp is None:
            sig = self._user_signature(started)
            # A file touched after the read began may or may not be in the catalog:
            # leave the stamp unset so the next call reads again.
            stamp = None if is_racy(sig) else (started, sig)
        self._catalog, self._stamp = catalog, stamp
        self._built.clear()
        return catalog

    def _cache_on(self) -> bool:
        if not self.use_cache:
            return False
        # Imported here: a registry with the cache off never needs the module.
        from ..cache.store import cache_enabled

        return cache_enabled()

    def _load_catalog(self, uses_cache: bool) -> Catalog:
        if uses_cache:
            from ..cache.store import load_or_build

            return load_or_build(self.sources)
        from ..catalog.build import build_catalog

        return build_catalog(self.sources)

    # -- lookups -------------------------------------------------------------

    def _find(self, name: str) -> Entry:
        if not isinstance(name, str):
            raise PresetArgumentError(f"preset names are strings, got {type(name).__name__}")
        catalog = self.catalog()
        key = catalog.find(name)
        if key is None:
            raise PresetNotFoundError(
                f"no such preset{did_you_mean(name, catalog.lookup_names())}",
                preset=name,
            )
        return catalog.entry(key)

    def _loadable(self, name: str) -> Loaded:
        from ._loading import loadable

        return loadable(self._find(name))

    def resolve(self, name: str) -> dict[str, Any]:
        """The merged values of a preset's config fields, as plain data.

        Only the fields the preset files set; derived fields and defaults are
        left to the class. ``HookedTransformerConfig(**reg.resolve(n))``
        equals ``reg.get(n)``.

        >>> PresetRegistry().resolve("gpt2")["act_fn"]
        'gelu_new'
        """
        from ._loading import copy_values

        return copy_values(self._loadable(name).values)

    def get(self, name: str, /, **overrides: Any) -> HookedTransformerConfig:
        """Build the ``HookedTransformerConfig`` of a preset, with optional overrides.

        Overrides are config fields (``n_ctx=256``) checked like values in a
        file; ``None`` clears a field that may be None. ``checkpoint_index`` or
        ``checkpoint_value`` pick a training checkpoint of a model that has them.

        >>> PresetRegistry().get("gpt2-small", n_ctx=256).n_ctx
        256
        """
        from ._loading import build_config

        return build_config(self._loadable(name), overrides, self._built)

    def explain(self, name: str) -> dict[str, FieldOrigin]:
        """For every config field: its value and where it came from.

        >>> PresetRegistry().explain("gpt2")["d_model"].source
        'preset'
        """
        from ._explaining import field_origins

        loaded = self._loadable(name)
        return field_origins(loaded.values, loaded.origins, loaded.derived)

    def _patterns(self, name: str) -> dict[str, dict[str, list[str]]]:
        """The per-layer fields a preset lays out from a ``{ repeat = [...] }`` pattern,
        with the pattern: a preset extending it lays each out over its own layers.

        >>> PresetRegistry()._patterns("gemma-2-2b")
        {'attn_types': {'repeat': ['local', 'global']}}
        """
        found = self._find(name)["patterns"] or {}
        return {field: {"repeat": list(p["repeat"])} for field, p in found.items()}

    def name(self, name: str) -> str:
        """The official name of the preset that ``name`` (a name or alias, any case) finds.

        >>> PresetRegistry().name("GPT2-small")
        'gpt2'
        """
        return self._find(name)["name"]

    def derived(self, name: str) -> dict[str, Any]:
        """What the class derives from a preset's values when it builds the config
        (``n_heads``, ``d_mlp``, ``n_params``, ...), as plain data: no torch needed.

        ``device`` is left out: the machine decides it.

        >>> PresetRegistry().derived("gpt2")["n_params"]
        84934656
        """
        return dict(self._loadable(name).derived)

    def checkpoints(self, name: str) -> Checkpoints | None:
        """A preset's training checkpoints (how they are labelled, and the labels in
        order), or None for a model that publishes none.

        >>> checkpoints = PresetRegistry().checkpoints("pythia-70m")
        >>> checkpoints.label_type, len(checkpoints.values), checkpoints.values[:4]
        ('step', 154, (0, 1, 2, 4))
        >>> PresetRegistry().checkpoints("gpt2") is None
        True
        """
        from ._explaining import checkpoints_record

        return checkpoints_record(self._find(name)["checkpoints"])

    def error(self, name: str) -> PresetError | None:
        """The error that stops a preset from loading, or None if it loads (or is
        abstract and resolves).

        This is what :meth:`resolve` would raise for it, as a value: a way to
        check presets without catching exceptions. Unknown names still raise
        :class:`PresetNotFoundError`.

        >>> PresetRegistry().error("gpt2") is None
        True
        """
        entry = self._find(name)
        if entry["error"] is None:
            return None
        from ..catalog.entries import error_from_json

        return error_from_json(entry["error"])

    def info(self, name: str) -> PresetInfo:
        """The :class:`PresetInfo` record of one preset (abstract ones included)."""
        from ..catalog.entries import summarize
        from ._explaining import info_record

        return info_record(summarize(self._find(name)))

    def _rows(
        self,
        pattern: str | Iterable[str] | None,
        include_abstract: bool,
        source: str | None,
        family: str | None,
        sort: str,
        matched: dict[int, str] | None = None,
    ) -> list[SummaryRow]:
        """:meth:`list` as the catalog's own summary rows, for the command line
        (which passes every argument: their defaults are :meth:`list`'s).

        ``matched``, when given, is filled with ``id(row) -> alias`` for each row that
        matched a pattern through an alias and not through its name.

        The rows are shared with the catalog (read them, do not change them):
        a listing read from the cache needs no copy and no record objects.
        Each holds the fields of :class:`PresetInfo` plus ``shadowed`` (False).
        """
        if pattern is None or isinstance(pattern, str):
            patterns = [] if pattern is None else [pattern]
        elif isinstance(pattern, Iterable) and not isinstance(pattern, bytes):
            patterns = list(pattern)
        else:
            patterns = [pattern]  # reported below
        for p in patterns:
            if not isinstance(p, str):
                raise PresetArgumentError(
                    "pattern must be a string or an iterable of strings, "
                    f"got {type(p).__name__} {p!r:.40}"
                )
        if source is not None and source not in SOURCE_KINDS:
            raise PresetArgumentError(
                f"source must be one of {', '.join(SOURCE_KINDS)}, got {source!r:.40}"
                f"{did_you_mean(str(source), SOURCE_KINDS)}"
            )
        if sort not in SORT_KEYS:
            raise PresetArgumentError(
                f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r:.40}"
                f"{did_you_mean(str(sort), SORT_KEYS)}"
            )
        if family is not None and not isinstance(family, str):
            raise PresetArgumentError(f"family must be a string, got {type(family).__name__}")
        matchers = [_matcher(p.casefold()) for p in patterns]
        summaries = self.catalog().summaries()
        if family is not None:
            families = sorted({row["family"] for row in summaries if not row["shadowed"]})
            if family.casefold() not in {f.casefold() for f in families}:
                raise PresetArgumentError(
                    f"no family {family!r:.60}{did_you_mean(family, families)}; "
                    f"the families are {', '.join(families)}"
                )
            family = family.casefold()
        rows = []
        # summaries() are in natural order already.
        for row in summaries:
            if row["shadowed"]:
                continue  # hidden by a higher-precedence definition of the same name
            if row["abstract"] and not include_abstract:
                continue
            if source is not None and row["source"] != source:
                continue
            if family is not None and row["family"].casefold() != family:
                continue
            if matchers and not any(match(row["name"].casefold()) for match in matchers):
                alias = next(
                    (a for a in row["aliases"] for match in matchers if match(a.casefold())),
                    None,
                )
                if alias is None:
                    continue
                if matched is not None:
                    matched[id(row)] = alias
            rows.append(row)
        column = SORT_KEYS[sort]
        if column is not None:
            # Stable: equal values keep the natural order of names; unknown sizes last.
            rows.sort(key=lambda row: (row[column] is None, row[column] or 0))
        return rows

    def list(
        self,
        pattern: str | Iterable[str] | None = None,
        *,
        include_abstract: bool = False,
        source: str | None = None,
        family: str | None = None,
        sort: str = "name",
    ) -> list[PresetInfo]:
        """Presets whose name or an alias matches a shell-style ``pattern`` (any case).

        ``pattern`` may be several patterns (a preset matching any is listed).
        ``source`` keeps one kind (``"bundled"``, ``"user"``, ``"env"``,
        ``"path"``) and ``family`` one family (the file's name without
        ``.toml``). Abstract presets are left out unless ``include_abstract``.
        Shadowed definitions are not listed. The result is in natural order of
        names (``pythia-14m`` before ``pythia-70m`` before ``pythia-1b``), or by
        ``sort``: ``"params"``, ``"layers"``, ``"d_model"`` or ``"context"``,
        smallest first (natural order among equals, unknown sizes last).

        >>> [p.name for p in PresetRegistry().list("EleutherAI/pythia-*m")][:3]
        ['EleutherAI/pythia-14m', 'EleutherAI/pythia-31m', 'EleutherAI/pythia-70m']
        """
        rows = self._rows(pattern, include_abstract, source, family, sort)
        from ._explaining import info_record

        return [info_record(row) for row in rows]


def _matcher(pattern: str) -> Callable[[str], bool]:
    """``fnmatch.fnmatchcase(name, pattern)`` as a function of ``name``
    (:func:`~transformer_presets.common.globs.glob_matcher`)."""
    from ..common.globs import glob_matcher

    return glob_matcher(pattern)


# -- the default registry -----------------------------------------------------

_default: tuple[tuple[str | None, ...], PresetRegistry] | None = None


def default_registry() -> PresetRegistry:
    """The registry the module-level functions use, built from the environment.

    It is rebuilt when one of the environment variables it depends on changes.
    """
    global _default
    env = tuple(os.environ.get(k) for k in _env.REGISTRY_INPUTS)
    if _default is None or _default[0] != env:
        _default = (env, PresetRegistry())
    return _default[1]


def get_preset(name: str, /, **overrides: Any) -> HookedTransformerConfig:
    """Build the ``HookedTransformerConfig`` of the preset ``name`` (a name or alias, any case).

    >>> cfg = get_preset("gpt2-small", n_ctx=256)
    >>> cfg.d_model, cfg.n_ctx
    (768, 256)
    """
    return default_registry().get(name, **overrides)


def resolve_preset(name: str) -> dict[str, Any]:
    """The merged config values of a preset, as plain data (no torch needed).

    >>> resolve_preset("gpt2")["n_layers"]
    12
    """
    return default_registry().resolve(name)


def explain_preset(name: str) -> dict[str, FieldOrigin]:
    """For every field of a preset: its value and which preset, file and line set it.

    >>> explain_preset("gpt2")["n_heads"].source
    'derived'
    """
    return default_registry().explain(name)


def list_presets(
    pattern: str | Iterable[str] | None = None,
    *,
    include_abstract: bool = False,
    source: str | None = None,
    family: str | None = None,
    sort: str = "name",
) -> list[PresetInfo]:
    """The presets whose name or an alias matches ``pattern`` (shell-style, any case).

    In natural order of names, or by ``sort`` (``"params"``, ``"layers"``,
    ``"d_model"``, ``"context"``); see :meth:`PresetRegistry.list`.

    >>> "gpt2" in [p.name for p in list_presets("gpt2*")]
    True
    >>> [p.name for p in list_presets("EleutherAI/pythia-*m", sort="params")][:2]
    ['EleutherAI/pythia-14m', 'EleutherAI/pythia-31m']
    """
    return default_registry().list(
        pattern, include_abstract=include_abstract, source=source, family=family, sort=sort
    )
