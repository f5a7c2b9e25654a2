"""Medians, ratios and verdicts of repeated measurements, and their text in the report."""

# The report writes ranges with an en dash, and the examples here show them as printed.
# ruff: noqa: RUF002

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Ratio",
    "Stat",
    "format_bytes",
    "format_ratio",
    "format_seconds",
    "format_stat",
    "markdown_table",
    "ratio",
    "stat",
    "verdict",
]


@dataclass(frozen=True)
class Stat:
    """The median and range of repeated measurements."""

    median: float
    lo: float
    hi: float
    n: int


def stat(values: Sequence[float]) -> Stat:
    """Median, min and max of ``values``.

    >>> stat([3.0, 1.0, 2.0])
    Stat(median=2.0, lo=1.0, hi=3.0, n=3)
    """
    if not values:
        raise ValueError("no measurements")
    return Stat(statistics.median(values), min(values), max(values), len(values))


@dataclass(frozen=True)
class Ratio:
    """``num / den`` as the ratio of the medians, with the range of the paired ratios."""

    value: float
    lo: float
    hi: float


def ratio(num: Sequence[float], den: Sequence[float]) -> Ratio:
    """The ratio of the medians of ``num`` and ``den``; min-max over the pairs ``num[i]/den[i]``.

    >>> ratio([2.0, 6.0, 3.0], [1.0, 2.0, 2.0])
    Ratio(value=1.5, lo=1.5, hi=3.0)
    """
    pairs = [a / b for a, b in zip(num, den, strict=False) if b > 0]
    value = statistics.median(num) / statistics.median(den)
    return Ratio(value, min(pairs, default=value), max(pairs, default=value))


def verdict(value: float, bound: float) -> str:
    """``PASS`` when ``value`` is at most ``bound``, else ``MISS``.

    >>> verdict(1.2, 1.5), verdict(2.0, 1.5)
    ('PASS', 'MISS')
    """
    return "PASS" if value <= bound else "MISS"


def format_seconds(seconds: float) -> str:
    """A duration with three significant digits in a readable unit.

    >>> format_seconds(0.0812), format_seconds(2.5), format_seconds(3.2e-6)
    ('81.2 ms', '2.50 s', '3.20 µs')
    """
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale or unit == "µs":
            value = seconds / scale
            digits = 2 if value < 10 else 1 if value < 100 else 0
            return f"{value:.{digits}f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_stat(s: Stat, fmt: Callable[[float], str] = format_seconds) -> str:
    """``median (min-max)``.

    >>> format_stat(Stat(0.1, 0.09, 0.2, 5))
    '100 ms (90.0 ms – 200 ms)'
    """
    return f"{fmt(s.median)} ({fmt(s.lo)} \u2013 {fmt(s.hi)})"


def format_ratio(r: Ratio) -> str:
    """``2.10x (1.90-2.40)``.

    >>> format_ratio(Ratio(2.1, 1.9, 2.4))
    '2.10x (1.90–2.40)'
    """
    return f"{r.value:.2f}x ({r.lo:.2f}\u2013{r.hi:.2f})"


def format_bytes(n: float) -> str:
    """A size in MiB.

    >>> format_bytes(3 * 2**20)
    '3.0 MiB'
    """
    return f"{n / 2**20:.1f} MiB"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table.

    >>> print(markdown_table(["a", "b"], [["1", "2"]]))
    | a | b |
    | --- | --- |
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)
