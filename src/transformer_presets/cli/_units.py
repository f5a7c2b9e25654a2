"""Sizes for people: bytes, FLOPs and percentages in words, memory sizes read back, and
which memory sizes hold a model.

What ``size`` and ``hooks`` print and ``--memory`` reads, and the one layout of the
figures and verdicts of both of ``size``'s reports, HookedTransformer's (``_size``) and
the bridge's (``_plan_bridge``): a row per figure with its note, then the total and
whether each memory size holds it.
"""

from __future__ import annotations

from ._output import DIM

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ._output import Style

__all__ = [
    "DEFAULT_MEMORY",
    "MAX_MEMORY",
    "fit_lines",
    "format_bytes",
    "format_flops",
    "format_percent",
    "memory_fits",
    "parse_memory",
    "rounded",
]

#: The largest ``--memory``: what 64-bit addresses reach (16 EiB).
MAX_MEMORY = 2**64

# Suffix -> bytes. Single letters are binary, as GPU tools and `ls -h` show sizes.
_UNITS = {
    "": 1,
    "b": 1,
    **{f"{p}b": 1000**i for i, p in enumerate("kmgtpe", 1)},
    **{f"{p}ib": 1024**i for i, p in enumerate("kmgtpe", 1)},
    **{p: 1024**i for i, p in enumerate("kmgtpe", 1)},
}
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
_DECIMAL = ("", "k", "M", "G", "T", "P", "E", "Z", "Y")


# Sizes are whole numbers of bytes or FLOPs, of any size (a batch and a sequence of
# 2**63 - 1 give ~2**200 bytes): they are scaled and rounded as integers, never as floats,
# which would round them (and cannot hold past 1.8e308).


def format_bytes(n: int) -> str:
    """Bytes in binary units with one decimal: ``1395864371`` -> ``"1.3 GiB"``.

    >>> format_bytes(48), format_bytes(1536), format_bytes(1395864371)
    ('48 B', '1.5 KiB', '1.3 GiB')
    """
    unit = _unit(n, 1024, len(_BINARY))
    return f"{n} B" if unit == 0 else f"{_number(n, 1024**unit)} {_BINARY[unit]}"


def format_flops(n: int) -> str:
    """FLOPs in decimal units with one decimal: ``4200000000000`` -> ``"4.2 TFLOP"``.

    >>> format_flops(4_200_000_000_000), format_flops(512), format_flops(284_812_800)
    ('4.2 TFLOP', '512 FLOP', '284.8 MFLOP')
    """
    unit = _unit(n, 1000, len(_DECIMAL))
    text = str(n) if unit == 0 else _number(n, 1000**unit)
    return f"{text} {_DECIMAL[unit]}FLOP"


def _unit(n: int, step: int, units: int) -> int:
    """How many times ``n`` is divided by ``step`` to fall below it (at most ``units`` - 1)."""
    unit = 0
    while n >= step ** (unit + 1) and unit < units - 1:
        unit += 1
    return unit


def rounded(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` to the nearest integer, ties to even (as ``round``)."""
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2):
        quotient += 1
    return quotient


def _number(numerator: int, denominator: int) -> str:
    """The ratio with one decimal, or from 10,000 as a power of ten (``2.3e+09``)."""
    if numerator < 10_000 * denominator:
        tenths = rounded(10 * numerator, denominator)
        return f"{tenths // 10}.{tenths % 10}"
    whole = numerator // denominator
    # Its digits, without str(): Python refuses to print integers of over 4,300 of them.
    exponent = max(0, whole.bit_length() * 30103 // 100000 - 1)
    while 10 ** (exponent + 1) <= whole:
        exponent += 1
    tenths = rounded(10 * numerator, denominator * 10**exponent)
    if tenths == 100:  # 9.96e+09 rounds to 1.0e+10
        tenths, exponent = 10, exponent + 1
    return f"{tenths // 10}.{tenths % 10}e+{exponent:02d}"


def format_percent(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole``, whole numbers; a power of ten when huge.

    >>> format_percent(1, 3), format_percent(1, 10**4), format_percent(5 * 10**20, 1)
    ('33%', '<1%', '5.0e+22%')
    """
    if 100 * part < 10**6 * whole:
        percent = rounded(100 * part, whole)
        # Not 0% when something is needed.
        return "<1%" if part > 0 and percent == 0 else f"{percent}%"
    return f"{_number(100 * part, whole)}%"


def parse_memory(text: str) -> int:
    """A memory size in bytes: ``"24GiB"``, ``"24 GB"`` (10**9), ``"24G"`` (binary), ``"512"``.

    Read exactly (``"0.1GiB"`` is 107374182 bytes, the whole bytes of a tenth of a GiB),
    from one byte to :data:`MAX_MEMORY`. Raises ``ValueError`` for anything else (argparse
    turns it into a usage error).

    >>> parse_memory("24GiB"), parse_memory("1.5 GB"), parse_memory("16g")
    (25769803776, 1500000000, 17179869184)
    """
    from decimal import Decimal, InvalidOperation

    stripped = text.strip()
    digits = stripped.rstrip("BbIiKkMmGgTtPpEe ")
    unit = stripped[len(digits) :].strip().lower()
    try:
        number = Decimal(digits)
    except (InvalidOperation, ValueError):
        number = Decimal(-1)
    size = 0
    # The exponent first: 1e999999999 is not multiplied out, and is past any memory.
    if unit in _UNITS and number.is_finite() and number > 0 and -40 < number.adjusted() < 40:
        numerator, denominator = number.as_integer_ratio()
        size = numerator * _UNITS[unit] // denominator
    shown = repr(text) if len(text) <= 40 else f"a text of {len(text)} characters"
    if size > MAX_MEMORY or (unit in _UNITS and number.is_finite() and number.adjusted() >= 40):
        raise ValueError(
            f"cannot read {shown} as a memory size: at most 16EiB (2**64 bytes, what "
            "64-bit addresses reach)"
        )
    # Less than a byte (0.5, 1e-9GiB) would be a memory of 0 bytes.
    if size < 1:
        raise ValueError(f"cannot read {shown} as a memory size (examples: 24GiB, 80GB, 16G)")
    return size


# -- which memory sizes hold a model ----------------------------------------------------


GiB = 2**30
#: The memory sizes ``size`` checks by default: common accelerators (8 to 80 GiB).
DEFAULT_MEMORY = (8 * GiB, 16 * GiB, 24 * GiB, 40 * GiB, 80 * GiB)


def memory_fits(needed: int, memory: Sequence[int]) -> list[dict[str, Any]]:
    """Whether each memory size holds ``needed`` bytes, as ``--json`` shows it.

    >>> memory_fits(10 * GiB, DEFAULT_MEMORY[:2])
    [{'size_bytes': 8589934592, 'fits': False}, {'size_bytes': 17179869184, 'fits': True}]
    """
    return [{"size_bytes": size, "fits": needed <= size} for size in memory]


def fit_lines(
    style: Style,
    rows: Sequence[tuple[str, str, str]],
    *,
    names: int,
    total: str,
    needed: int,
    fits: Sequence[dict[str, Any]],
    footnote: str,
) -> list[str]:
    """The table of ``(name, figure, note)`` rows, names ``names`` wide and figures
    aligned; ``total = needed:`` with each memory size's verdict; a dim footnote."""
    width = max(len(figure) for _, figure, _ in rows)
    lines = [f"{k:<{names}}{v:>{width}}  {style(note, DIM)}".rstrip() for k, v, note in rows]
    lines += ["", f"{total} = {format_bytes(needed)}:"]
    for item in fits:
        size = item["size_bytes"]
        verdict = "fits" if item["fits"] else "does not fit"
        lines.append(f"  {format_bytes(size):>10}  {verdict} ({format_percent(needed, size)})")
    return [*lines, "", style(footnote, DIM)]
