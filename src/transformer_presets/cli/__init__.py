"""The ``transformer-presets`` command line: browse, check, import and export presets.

One implementation serves ``transformer-presets`` (the console script),
``python -m transformer_presets`` and, for ``list`` alone,
``python -m tools.list_presets`` from a checkout. No command imports torch or
numpy. The package is split along its jobs:

- ``_quick``: the ``list`` command, and the reader of plain arguments that the
  quick readers share;
- ``_parser``: the argparse parser of every command, and each ``--json`` shape;
- ``_plan``: ``size`` and ``hooks`` (will it fit?): their options and their own
  quick reader; the work is in ``_planning`` (the plan the arguments ask about),
  ``_size`` and ``_plan_bridge`` (the reports), ``_hooks`` (the listing), ``_plot``
  (``--plot``) and ``_units`` (sizes in words, and which memory sizes hold them);
- ``_commands`` and ``_bridges``: the other commands;
- ``_output``: tables, values, JSON, colour and the escaping of unprintable text.

May use every other part of the package: it is the top of the layers (only
``__main__`` is above it).

Start-up (the one place this is explained). ``list`` is what people run most,
and its time is a target (about twice ``python -c pass``; ``python -m
tools.bench`` measures it). So nothing on its way imports what it does not
use: argparse (about half a ``python -c pass``), typing, pathlib, platformdirs
(which loads tempfile and random), json, re (unless a pattern has ``?`` or
``[``) or contextlib. The rest of the package follows from that: the package's
names load on first use (``transformer_presets/__init__.py``); ``common.dirs``
answers the XDG folders without platformdirs on plain Linux; the cache is
``marshal`` data, which needs no decoder module; record types and TypedDicts
(``catalog.records``, ``catalog.types``) are imported only where they are made or checked;
and modules that build catalogs (TOML, merging) are imported only to build.
``tests/test_cli.py`` fails if one of those imports comes back on a warm
listing's path. :func:`quick_list_args` reads the plain forms of ``list``'s
arguments and hands anything else (``--help``, an abbreviation, a mistake) to
argparse, which defines the command; a property test holds the two equal.
"""

from __future__ import annotations

import os
import sys

from ._output import EXIT_ERROR, EXIT_USAGE, PROG, error, warn
from ._quick import quick_list_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import TextIO

    from ._quick import Args

__all__ = ["build_parser", "list_main", "main"]


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser of the whole command line (see ``_parser``)."""
    from ._parser import build_parser as build

    return build(prog)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    warn(str(message))


def _run(args: Args) -> int:
    import warnings

    from ..errors import PresetArgumentError, PresetError

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # "warning: ...", not a source line
            code: int = args.func(args)
    except (PresetError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        error(_describe(exc))
        return EXIT_USAGE if isinstance(exc, PresetArgumentError) else EXIT_ERROR
    return code


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _guarded(args: Callable[[], Args]) -> int:
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        error("standard output is closed; nothing can be printed")
        return EXIT_ERROR
    for stream in (sys.stdout, sys.stderr):
        # Text the output's encoding cannot hold is escaped, never fatal.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a detached stream
                pass
    # A reader that goes away (`| head`) is not an error worth a traceback. Flush
    # inside the guard, then point stdout at devnull so the interpreter's own
    # flush at exit cannot fail again (the recipe in Python's signal docs).
    try:
        code = _run(args())  # a usage error exits with status 2 from argparse
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_ERROR
    except OSError as exc:  # the output cannot be written: a full disk, a bad descriptor
        _silence_stdout()
        error(f"cannot write the output: {exc.strerror or exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover
        pass


def _argv(argv: Sequence[str] | None) -> list[str]:
    if argv is not None:
        return list(argv)
    # Under an ASCII locale Python keeps the bytes of a UTF-8 argument as
    # surrogates ('\udcc3\udca9' for 'é'); preset names are UTF-8, so read them so.
    args = []
    for arg in sys.argv[1:]:
        if not arg.isascii():
            try:
                arg = os.fsencode(arg).decode("utf-8")
            except (UnicodeError, ValueError):
                pass
        args.append(arg)
    return args


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    >>> main(["list", "gpt2-x*", "--json"])  # doctest: +SKIP
    0
    """
    argv = _argv(argv)

    def parse() -> Args:
        if argv[:1] == ["list"]:
            quick = quick_list_args(argv[1:])
            if quick is not None:
                quick.command = "list"
                return quick
        if argv[:1] in (["size"], ["hooks"]):  # their own parser: the full one costs more
            from ._plan import quick_plan_args

            plan = quick_plan_args(argv, prog)
            if plan is not None:
                return plan
            from ._parser import plan_parser

            return plan_parser(prog).parse_args(argv)
        return build_parser(prog).parse_args(argv)

    return _guarded(parse)


def list_main(argv: Sequence[str] | None = None, *, prog: str = f"{PROG} list") -> int:
    """The ``list`` command on its own (``python -m tools.list_presets``)."""
    argv = _argv(argv)

    def parse() -> Args:
        quick = quick_list_args(argv)
        if quick is not None:
            return quick
        from ._parser import list_parser

        return list_parser(prog).parse_args(argv)

    return _guarded(parse)
