"""What the command line prints, and how: tables, values, JSON, colour, escapes.

Every piece of text that comes from data (names, descriptions, paths, error
messages) passes through :func:`clean` before it reaches a terminal.
"""

from __future__ import annotations

import os
import sys

from ..common import env as _env

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, TextIO

__all__ = [
    "BOLD",
    "DIM",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "RED",
    "YELLOW",
    "Style",
    "clean",
    "emit",
    "error",
    "format_value",
    "human_count",
    "note",
    "print_json",
    "table",
    "warn",
]

PROG = "transformer-presets"
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class Style:
    """ANSI styling, on only for a terminal and never with ``NO_COLOR`` (no-color.org)."""

    def __init__(self, stream: TextIO) -> None:
        self.enabled = want_colour(stream)

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled and text else text


def want_colour(stream: TextIO) -> bool:
    if os.environ.get(_env.NO_COLOR) or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


BOLD, DIM, RED, YELLOW = "1", "2", "31", "33"


def clean(text: str) -> str:
    """``text`` with control and other invisible characters escaped, for a terminal.

    A preset's description or a file's name may hold an escape sequence or a
    newline; printed raw, it would restyle the terminal or split a row.

    >>> clean("ok"), clean("bell\\a and esc\\x1b[31m")
    ('ok', 'bell\\\\x07 and esc\\\\x1b[31m')
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def print_json(data: Any) -> None:
    import json

    # Non-ASCII text stays readable where the output takes it; elsewhere it is escaped.
    encoding = (getattr(sys.stdout, "encoding", None) or "").replace("-", "").lower()
    ascii_only = encoding != "utf8"
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=ascii_only) + "\n")


def format_value(value: Any) -> str:
    """A value as TOML would write it, so the text output can be pasted into a preset."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return clean(json.dumps(value, ensure_ascii=False))
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if value is None:
        return "None"
    return str(value)


def human_count(n: int | None) -> str:
    """A count in short human units: ``84934656`` -> ``"85M"``, ``6_500_000_000`` -> ``"6.5B"``.

    >>> human_count(84934656), human_count(7784628224), human_count(999)
    ('85M', '7.8B', '999')
    """
    if n is None:
        return "-"
    value, unit = float(n), 0
    units = ("", "K", "M", "B", "T")
    while abs(value) >= 999.5 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    if unit == 0:
        return str(n)
    text = f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"
    return text.removesuffix(".0") + units[unit]


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    right: Iterable[int] = (),
    style: Style,
    colours: Callable[[int, int, str], str | None] | None = None,
) -> list[str]:
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower()
    if encoding.replace("-", "") == "utf8":
        fit = clean
    else:  # escaped as the stream will escape it, so the columns still line up

        def fit(text: str) -> str:
            return clean(text).encode(encoding, "backslashreplace").decode(encoding)

    rows = [[fit(cell) for cell in r] for r in rows]
    headers = [fit(h) for h in headers]
    right = set(right)
    widths = [max(map(len, column)) for column in zip(headers, *rows, strict=True)]
    # One format string for a whole row: a listing has hundreds of rows, and
    # formatting each cell in Python would cost as much as the rest of `list`.
    row_format = "  ".join(f"{{:{'>' if i in right else '<'}{w}}}" for i, w in enumerate(widths))
    lines = [style(row_format.format(*headers).rstrip(), BOLD)]
    if colours is None or not style.enabled:
        lines += [row_format.format(*row).rstrip() for row in rows]
        return lines
    cell_formats = row_format.split("  ")
    for r, row in enumerate(rows):
        padded = [f.format(text) for f, text in zip(cell_formats, row, strict=True)]
        for i, text in enumerate(row):
            code = colours(r, i, text)
            if code:
                padded[i] = style(padded[i], code)
        lines.append("  ".join(padded).rstrip())
    return lines


def emit(lines: Iterable[str]) -> None:
    write = sys.stdout.write
    for line in lines:
        write(line + "\n")


def warn(message: str) -> None:
    """``transformer-presets: warning: MESSAGE`` on stderr, when there is a stderr."""
    if sys.stderr is not None:
        style = Style(sys.stderr)
        sys.stderr.write(f"{PROG}: {style('warning', YELLOW)}: {clean(message)}\n")


def note(message: str) -> None:
    """``transformer-presets: note: MESSAGE`` on stderr: information, not a problem."""
    if sys.stderr is not None:
        sys.stderr.write(f"{PROG}: note: {clean(message)}\n")


def error(message: str) -> None:
    """``transformer-presets: error: MESSAGE`` on stderr, when there is a stderr."""
    if sys.stderr is not None:
        style = Style(sys.stderr)
        sys.stderr.write(f"{PROG}: {style('error', RED)}: {clean(message)}\n")
