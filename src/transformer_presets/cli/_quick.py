"""The ``list`` command: read its arguments without argparse, and list from the cache.

``list`` is the command people run most, so its start-up is kept close to the
interpreter's own (see the package docstring): :func:`quick_list_args` reads
the plain forms of its arguments and hands anything else to argparse, and
:func:`cmd_list` formats the cache's summary rows without building records.
"""

from __future__ import annotations

import sys

from ..registry.registry import SORT_KEYS, SOURCE_KINDS
from ._output import (
    DIM,
    EXIT_OK,
    PROG,
    RED,
    YELLOW,
    Style,
    clean,
    emit,
    human_count,
    print_json,
    table,
    warn,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    import types
    from collections.abc import Collection, Sequence

    from ..catalog.types import SummaryRow
    from ..registry.registry import PresetRegistry

    # What a command receives: argparse's answer, or the quick reader's.
    Args = argparse.Namespace | types.SimpleNamespace

__all__ = ["LIST_HEADERS", "cmd_list", "plain_options", "quick_list_args", "registry_for"]


def registry_for(args: Args) -> PresetRegistry:
    """The registry a command reads: ``--preset-path`` files first, else the default one."""
    from ..registry.registry import PresetRegistry, default_registry

    paths = getattr(args, "preset_path", None) or []
    return PresetRegistry(paths) if paths else default_registry()


def _heads(row: SummaryRow) -> str:
    heads, kv = row["n_heads"], row["n_key_value_heads"]
    if heads is None:
        return "-"
    if kv is not None and kv != heads:
        return f"{heads}/{kv}"
    return str(heads)


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


LIST_HEADERS = ["NAME", "ARCHITECTURE", "LAYERS", "D_MODEL", "HEADS", "D_MLP", "CONTEXT"]
LIST_HEADERS += ["PARAMS", "SOURCE", "NOTE"]
NOTE_COLOURS = {"error": RED, "remote code": YELLOW, "modified": YELLOW, "abstract": DIM}


def cmd_list(args: Args) -> int:
    matched: dict[int, str] = {}
    rows = registry_for(args)._rows(
        args.patterns,
        include_abstract=args.all,
        source=args.source,
        family=args.family,
        sort=args.sort,
        matched=matched,
    )
    if args.json:
        print_json(
            [
                {
                    **{k: v for k, v in r.items() if k != "shadowed"},
                    "matched_alias": matched.get(id(r)),
                }
                for r in rows
            ]
        )
        return EXIT_OK
    if not rows:
        what = " ".join(repr(p) for p in args.patterns) or "the filters"
        print(clean(f"{PROG}: no presets match {what}"), file=sys.stderr)
        return EXIT_OK
    cells = []
    for r in rows:
        note = "error" if r["error"] else ("remote code" if r["remote_code_warning"] else "")
        if r["modified_by"] and not note:
            note = "modified"
        if r["abstract"] and not note:
            note = "abstract"
        cells.append(
            [
                r["name"],
                r["architecture"] or "-",
                _num(r["n_layers"]),
                _num(r["d_model"]),
                _heads(r),
                _num(r["d_mlp"]),
                _num(r["n_ctx"]),
                human_count(r["n_params"]),
                r["source"],
                note,
            ]
        )

    headers = LIST_HEADERS
    right = range(2, 8)
    note_column = 9
    if matched:
        # A row found through an alias says which: the table would not show it otherwise.
        headers = [headers[0], "MATCHED ALIAS", *headers[1:]]
        for r, row_cells in zip(rows, cells, strict=True):
            row_cells.insert(1, matched.get(id(r), "-"))
        right = range(3, 9)
        note_column = 10

    def colour(_row: int, col: int, text: str) -> str | None:
        return NOTE_COLOURS.get(text) if col == note_column else None

    emit(table(headers, cells, right=right, style=Style(sys.stdout), colours=colour))
    # The details go to stderr: the table stays one row per preset for grep and cut.
    for r in rows:
        if r["error"]:
            warn(f"{r['name']}: {r['error']}")
        elif r["remote_code_warning"]:
            warn(
                f"{r['name']} ({r['file']}) turns on trust_remote_code: loading it runs code "
                "from the model's repository"
                + (f"; modified by {', '.join(r['modified_by'])}" if r["modified_by"] else "")
            )
        elif r["modified_by"]:
            warn(f"{r['name']}: a bundled preset modified by {', '.join(r['modified_by'])}")
    return EXIT_OK


def quick_list_args(argv: Sequence[str]) -> types.SimpleNamespace | None:
    """``list``'s arguments in their plain forms, or None to let argparse read them.

    Reads patterns, ``--json``, ``-a``/``--all``, ``--source KIND``,
    ``--family NAME`` and ``--preset-path PATH`` (also as ``--opt=value``),
    with the patterns in one run as argparse requires. Anything else, from
    ``--help`` to an abbreviation or an error, goes to argparse, so every
    message and exit status is argparse's.
    """
    import types

    read = plain_options(
        argv,
        flags=("--json", "-a", "--all"),
        options=("--source", "--family", "--preset-path", "--sort"),
    )
    if read is None:
        return None
    args = types.SimpleNamespace(
        json=False,
        preset_path=[],
        patterns=read[0],
        source=None,
        family=None,
        all=False,
        sort="name",
        func=cmd_list,
    )
    for option, values in read[1]:
        if option == "--json":
            args.json = True
        elif option in ("-a", "--all"):
            args.all = True
        elif option == "--preset-path":
            args.preset_path += values
        elif (option == "--source" and values[0] not in SOURCE_KINDS) or (
            option == "--sort" and values[0] not in SORT_KEYS
        ):
            return None  # argparse's "invalid choice"
        else:
            setattr(args, option[2:], values[0])
    return args


def plain_options(
    argv: Sequence[str],
    *,
    flags: Collection[str],
    options: Collection[str],
    lists: Collection[str] = (),
    most_positionals: int | None = None,
) -> tuple[list[str], list[tuple[str, list[str]]]] | None:
    """``argv`` read in its plain forms: the positionals, and each option with its values
    in order, or None for anything argparse must read (the quick readers' common part).

    ``flags`` take no value; ``options`` take one, as ``--opt value`` or ``--opt=value``;
    ``lists`` take the values up to the next option (one as ``--opt=value``). None for
    another option, a missing value, positionals on both sides of an option (argparse
    reads them in one run) or more than ``most_positionals`` of them.

    >>> plain_options(["a", "--all", "--sort=params"], flags=["--all"], options=["--sort"])
    (['a'], [('--all', []), ('--sort', ['params'])])
    >>> plain_options(["a", "--all", "b"], flags=["--all"], options=[]) is None
    True
    """
    positionals: list[str] = []
    given: list[tuple[str, list[str]]] = []
    positionals_ended = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-"):
            if positionals_ended or len(positionals) == most_positionals:
                return None
            positionals.append(arg)
            continue
        positionals_ended = bool(positionals)
        if arg in flags:
            given.append((arg, []))
            continue
        option, equals, value = arg.partition("=")
        values = [value] if equals else []
        if option in lists:
            while not equals and i < len(argv) and not argv[i].startswith("-"):
                values.append(argv[i])
                i += 1
        elif option not in options:
            return None
        elif not equals and i < len(argv) and not argv[i].startswith("-"):
            values.append(argv[i])
            i += 1
        if not values:
            return None  # argparse's "expected one argument"
        given.append((option, values))
    return positionals, given
