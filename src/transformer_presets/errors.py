"""The exception family: every error this library raises is a ``PresetError``."""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

__all__ = [
    "ERROR_CLASSES",
    "PresetArgumentError",
    "PresetCycleError",
    "PresetError",
    "PresetNotFoundError",
    "PresetSyntaxError",
    "PresetValidationError",
    "did_you_mean",
    "first_problem",
]


class PresetError(ValueError):
    """Base class of every error raised by transformer-presets.

    It carries where the problem is, so that a message can point at it:
    ``file``, ``line`` and ``col`` (1-based) for the place in a TOML file,
    ``preset`` for the preset's name and ``key`` for the field. ``reason`` is
    the bare message without that context.

    >>> str(PresetError("expected int", file="my.toml", line=3, col=1, preset="tiny", key="n_layers"))
    "my.toml:3:1: preset 'tiny', key 'n_layers': expected int"
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | PathLike[str] | None = None,
        preset: str | None = None,
        key: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = None if file is None else str(file)
        self.preset = preset
        self.key = key
        self.line = line
        self.col = col
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
            where += ": "
        what = []
        if self.preset is not None:
            what.append(f"preset {self.preset!r}")
        if self.key is not None:
            what.append(f"key {self.key!r}")
        context = ", ".join(what)
        return f"{where}{context + ': ' if context else ''}{self.reason}"

    def with_context(
        self,
        *,
        file: str | PathLike[str] | None = None,
        preset: str | None = None,
        key: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> PresetError:
        """Return a copy of this error with missing context filled in.

        Context already present wins, since it was set closer to the cause.
        """
        new = type(self).__new__(type(self))
        PresetError.__init__(
            new,
            self.reason,
            file=self.file if self.file is not None else file,
            preset=self.preset if self.preset is not None else preset,
            key=self.key if self.key is not None else key,
            line=self.line if self.line is not None else line,
            col=self.col if self.col is not None else col,
        )
        return new

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments need help to survive pickling (multiprocessing).
        return (
            _rebuild,
            (type(self), self.reason, self.file, self.preset, self.key, self.line, self.col),
        )


def _rebuild(
    cls: type[PresetError],
    reason: str,
    file: str | None,
    preset: str | None,
    key: str | None,
    line: int | None,
    col: int | None,
) -> PresetError:
    return cls(reason, file=file, preset=preset, key=key, line=line, col=col)


class PresetNotFoundError(PresetError, LookupError):
    """No preset (or alias) has the requested name."""


class PresetSyntaxError(PresetError):
    """A preset file is not valid TOML, or not laid out as a preset file."""


class PresetValidationError(PresetError, AssertionError):
    """A value is of the wrong type or is rejected by ``HookedTransformerConfig``.

    It is also an ``AssertionError`` because TransformerLens validates with
    ``assert``: code that catches ``AssertionError`` keeps working, and unlike
    an ``assert`` this check still runs under ``python -O``.
    """


class PresetCycleError(PresetError):
    """Presets extend each other in a loop."""


class PresetArgumentError(PresetError, TypeError):
    """A function of this library was called with an argument it cannot take.

    A ``PresetError`` like every error here, and also a ``TypeError``, which is
    what Python code expects for an argument of the wrong type.
    """


#: Every class of the family, by name: what an error kept as plain data (in the cache)
#: names its class by.
ERROR_CLASSES: dict[str, type[PresetError]] = {
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


def did_you_mean(word: str, candidates: Iterable[str], *, n: int = 3) -> str:
    """A " (did you mean ...?)" suffix naming the closest candidates, or "".

    >>> did_you_mean("n_layer", ["n_layers", "n_heads", "d_model"])
    " (did you mean 'n_layers'?)"
    """
    import difflib  # only on the error path: keeps `import transformer_presets` light

    pool = list(candidates)
    folded = {c.casefold(): c for c in pool}
    matches = difflib.get_close_matches(word.casefold(), list(folded), n=n, cutoff=0.6)
    if not matches:
        return ""
    names = [repr(folded[m]) for m in matches]
    if len(names) == 1:
        return f" (did you mean {names[0]}?)"
    return f" (did you mean {', '.join(names[:-1])} or {names[-1]}?)"


def first_problem(
    problems: Sequence[tuple[str, str]], values: Mapping[str, Any], show: Callable[[Any], str]
) -> tuple[str, str]:
    """The first of ``problems`` (``(field, reason)`` pairs, at least one) and its words:
    ``"field = value: reason"``, naming the other fields at fault after it.

    >>> first_problem([("a", "too big"), ("b", "odd"), ("a", "again")], {"a": 3}, repr)
    ('a', 'a = 3: too big (also: b)')
    """
    (field, reason), *others = problems
    rest = sorted({f for f, _ in others} - {field})
    also = f" (also: {', '.join(rest)})" if rest else ""
    return field, f"{field} = {show(values[field])}: {reason}{also}"
