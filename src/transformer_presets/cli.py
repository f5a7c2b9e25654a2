"""The ``transformer-presets`` command line: browse, check and import presets from a shell.

One implementation serves ``transformer-presets`` (the console script),
``python -m transformer_presets`` and, for the ``list`` command alone,
``python -m tools.list_presets`` from a checkout. Only ``import-hf`` reads
anything beyond the preset files, and no command imports torch or numpy.

``list`` is what people run most, so its start-up is kept close to the
interpreter's own: argparse, typing, pathlib, platformdirs and json are not
imported on its way (nor ``re``, unless a pattern has ``?`` or ``[``). Its common arguments are read by :func:`_quick_list_args`, which
hands anything unusual (``--help``, an abbreviation, a mistake) to the
argparse parser that defines the command; ``tests/test_cli.py`` checks that
the two agree wherever the quick reader answers.
"""

from __future__ import annotations

import os
import sys

from . import _env
from ._plain import same_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    import types
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, TextIO

    from ._types import SummaryRow
    from .errors import PresetError
    from .records import PresetInfo
    from .registry import PresetRegistry

    # What a command receives: argparse's answer, or the quick reader's.
    Args = argparse.Namespace | types.SimpleNamespace

__all__ = ["build_parser", "list_main", "main"]

PROG = "transformer-presets"


SOURCE_KINDS = ("bundled", "user", "env", "path")

# The shapes every --json output keeps, shown in --help (one place, so the
# help and the code are reviewed together).
JSON_SHAPES = {
    "list": """\
list --json: an array with one object per preset, in the table's order:
  {"name", "aliases": [...], "description", "abstract", "source" (bundled|user|env|path),
   "file", "line", "family", "extends": [...], "architecture", "n_layers", "d_model",
   "n_heads", "n_key_value_heads", "d_head", "d_mlp", "n_ctx", "d_vocab", "n_params",
   "dtype", "trust_remote_code", "remote_code_warning", "has_checkpoints", "error"}
  (sizes are null where unknown; "error" is null or the message)""",
    "show": """\
show --json: {"name", "aliases", "description", "source", "file", "line", "extends",
  "values": {field: value}   (the fields the preset files set, = resolve_preset(name)),
  "derived": {field: value}  (computed when the config is built: n_heads, d_mlp, n_params...),
  "checkpoints": {"label_type", "values": [...]} or null}""",
    "explain": """\
explain --json: {"name", "fields": [{"field", "value", "source" (preset|default|derived),
  "preset", "file", "line"}, ...]}  (one object per config field, in declaration order;
  preset/file/line are null unless source is "preset")""",
    "diff": """\
diff --json: {"a": name, "b": name, "differences": [{"field", "a": value, "b": value}, ...]}
  (every config field, defaults and derived values included, that differs)""",
    "validate": """\
validate --json: {"valid": bool, "files": [{"path", "valid", "presets": [names],
  "errors": [{"file", "line", "col", "preset", "key", "reason", "message"}]}]}""",
    "paths": """\
paths --json: {"bundled": path, "user": path, "cache": path, "cache_enabled": bool,
  "sources": [{"kind", "path", "exists"}] (highest precedence first),
  "environment": {VARIABLE: value or null}}""",
    "cache": """\
cache info --json: {"location", "size_bytes", "entries", "enabled"} (= cache_info().to_dict())
cache clear --json: {"cleared": true, "location", "removed_entries", "freed_bytes"}""",
    "import-hf": """\
import-hf --json: {"name", "extends": name or null, "table": {key: value} (what the TOML
  says), "values": {field: value} (from_hf_config's answer), "toml": text,
  "saved": path or null}""",
    "schema": """\
schema: the JSON Schema itself (it is JSON, --json or not);
schema --output FILE --json: {"output": path}""",
    "export-hf": """\
export-hf --json: {"name", "architecture", "path": the config.json written (null for DIR -),
  "config": {key: value} (the config.json's contents, = to_hf_config(name))}""",
}

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


# -- output helpers -------------------------------------------------------------------


class _Style:
    """ANSI styling, on only for a terminal and never with ``NO_COLOR`` (no-color.org)."""

    def __init__(self, stream: TextIO) -> None:
        self.enabled = _want_colour(stream)

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled and text else text


def _want_colour(stream: TextIO) -> bool:
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


def _print_json(data: Any) -> None:
    import json

    # Non-ASCII text stays readable where the output takes it; elsewhere it is escaped.
    encoding = (getattr(sys.stdout, "encoding", None) or "").replace("-", "").lower()
    ascii_only = encoding != "utf8"
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=ascii_only) + "\n")


def _format_value(value: Any) -> str:
    """A value as TOML would write it, so the text output can be pasted into a preset."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return clean(json.dumps(value, ensure_ascii=False))
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
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


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    right: Iterable[int] = (),
    style: _Style,
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


def _emit(lines: Iterable[str]) -> None:
    write = sys.stdout.write
    for line in lines:
        write(line + "\n")


# -- the registry -----------------------------------------------------------------------


def _registry(args: Args) -> PresetRegistry:
    from .registry import PresetRegistry, default_registry

    paths = getattr(args, "preset_path", None) or []
    return PresetRegistry(paths) if paths else default_registry()


def _location(error: PresetError, fallback: str | None = None) -> tuple[str, int, int]:
    return (error.file or fallback or "<unknown>", error.line or 1, error.col or 1)


def _message(error: PresetError) -> str:
    """The error's text without its file position (shown separately as path:line:col)."""
    from .errors import PresetError

    return str(PresetError(error.reason, preset=error.preset, key=error.key))


# -- list -------------------------------------------------------------------------------


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
    rows = _registry(args)._rows(
        args.patterns,
        include_abstract=args.all,
        source=args.source,
        family=args.family,
    )
    if args.json:
        _print_json([{k: v for k, v in r.items() if k != "shadowed"} for r in rows])
        return EXIT_OK
    if not rows:
        what = " ".join(repr(p) for p in args.patterns) or "the filters"
        print(clean(f"{PROG}: no presets match {what}"), file=sys.stderr)
        return EXIT_OK
    table = []
    for r in rows:
        note = "error" if r["error"] else ("remote code" if r["remote_code_warning"] else "")
        if r["modified_by"] and not note:
            note = "modified"
        if r["abstract"] and not note:
            note = "abstract"
        table.append(
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

    def colour(_row: int, col: int, text: str) -> str | None:
        return NOTE_COLOURS.get(text) if col == 9 else None

    _emit(_table(LIST_HEADERS, table, right=range(2, 8), style=_Style(sys.stdout), colours=colour))
    # The details go to stderr: the table stays one row per preset for grep and cut.
    for r in rows:
        if r["error"]:
            _warn(f"{r['name']}: {r['error']}")
        elif r["remote_code_warning"]:
            _warn(
                f"{r['name']} ({r['file']}) turns on trust_remote_code: loading it runs code "
                "from the model's repository"
                + (f"; modified by {', '.join(r['modified_by'])}" if r["modified_by"] else "")
            )
        elif r["modified_by"]:
            _warn(f"{r['name']}: a bundled preset modified by {', '.join(r['modified_by'])}")
    return EXIT_OK


# -- show, explain, diff ----------------------------------------------------------------


def _resolved(reg: PresetRegistry, name: str) -> tuple[PresetInfo, dict[str, Any], dict[str, Any]]:
    """(info, values set by the presets, derived values) of a loadable preset."""
    values = reg.resolve(name)  # raises for unknown, abstract and broken presets
    info = reg.info(name)
    derived = {
        field: origin.value
        for field, origin in reg.explain(name).items()
        if origin.source == "derived" and field != "device"  # device depends on the machine
    }
    return info, values, derived


def _checkpoints(reg: PresetRegistry, name: str) -> dict[str, Any] | None:
    """A preset's training checkpoints as a ``checkpoints`` table, or None."""
    found = reg.checkpoints(name)
    return None if found is None else found.to_dict()


def _preset_toml(name: str, table: dict[str, Any], comments: Sequence[str] = ()) -> str:
    import tomli_w

    # A comment ends at a line break: anything unprintable in it is escaped.
    head = "".join(f"# {clean(c)}\n" for c in comments)
    return head + _escape_unprintable(tomli_w.dumps({name: table}))


def _escape_unprintable(toml: str) -> str:
    """TOML text with every unprintable character but line breaks written as an escape.

    tomli_w leaves characters TOML allows raw (C1 controls, line separators) as they
    are; printed, they could still act on a terminal. Names are printable and comments
    are cleaned, so such characters can only be inside basic strings, where a
    ``\\uXXXX`` escape means the same.
    """
    if toml.replace("\n", "").isprintable():
        return toml
    out = []
    for c in toml:
        if c == "\n" or c.isprintable():
            out.append(c)
        elif ord(c) > 0xFFFF:
            out.append(f"\\U{ord(c):08x}")
        else:
            out.append(f"\\u{ord(c):04x}")
    return "".join(out)


def cmd_show(args: Args) -> int:
    reg = _registry(args)
    info, values, derived = _resolved(reg, args.name)
    checkpoints = _checkpoints(reg, info.name)
    if args.json:
        _print_json(
            {
                "name": info.name,
                "aliases": list(info.aliases),
                "description": info.description,
                "source": info.source,
                "file": info.file,
                "line": info.line,
                "extends": list(info.extends),
                "modified_by": list(info.modified_by),
                "values": values,
                "derived": derived,
                "checkpoints": checkpoints,
            }
        )
        return EXIT_OK
    if args.toml:
        table: dict[str, Any] = {}
        if info.description:
            table["description"] = info.description
        if info.aliases:
            table["aliases"] = list(info.aliases)
        from .preset_keys import FIELDS

        # TOML has no null: fields set to None go under the reserved "none" key.
        nulls = [k for k in FIELDS if k in values and values[k] is None]
        if nulls:
            table["none"] = nulls
        table.update((k, values[k]) for k in FIELDS if values.get(k) is not None)
        if checkpoints:
            table["checkpoints"] = checkpoints
        comments = [f"{info.name}, fully resolved from {info.file} (source: {info.source})"]
        if info.modified_by:
            comments.append(f"modified by {', '.join(info.modified_by)}")
        if derived:
            comments.append("derived when loaded (not settable):")
            comments += [f"  {k} = {_format_value(v)}" for k, v in derived.items()]
        sys.stdout.write(_preset_toml(info.name, table, comments))
        return EXIT_OK

    style = _Style(sys.stdout)
    lines = [
        style(clean(info.name), BOLD)
        + (f" - {clean(info.description)}" if info.description else "")
    ]
    if info.aliases:
        lines.append(clean(f"aliases: {', '.join(info.aliases)}"))
    lines.append(clean(f"source:  {info.source} ({info.file}:{info.line})"))
    if info.modified_by:
        lines.append(style(clean(f"modified by: {', '.join(info.modified_by)}"), YELLOW))
    if info.extends:
        lines.append(clean(f"extends: {', '.join(info.extends)}"))
    if checkpoints:
        labels = checkpoints["values"]
        lines.append(
            f"checkpoints: {len(labels)} ({checkpoints['label_type']}s {labels[0]}..{labels[-1]})"
        )
    lines.append("")
    from .preset_keys import FIELDS

    merged = {**values, **derived}
    width = max(len(k) for k in merged) if merged else 0
    for field in FIELDS:  # declaration order groups related fields
        if field in merged:
            mark = style("  (derived)", DIM) if field in derived else ""
            lines.append(f"{field.ljust(width)}  {_format_value(merged[field])}{mark}")
    _emit(lines)
    return EXIT_OK


def cmd_explain(args: Args) -> int:
    reg = _registry(args)
    origins = reg.explain(args.name)
    info = reg.info(args.name)
    if args.json:
        _print_json(
            {
                "name": info.name,
                "modified_by": list(info.modified_by),
                "fields": [o.to_dict() for o in origins.values()],
            }
        )
        return EXIT_OK
    if info.modified_by:
        _warn(f"{info.name}: a bundled preset modified by {', '.join(info.modified_by)}")
    style = _Style(sys.stdout)
    rows = []
    for o in origins.values():
        where = f"{o.preset} ({o.file}:{o.line})" if o.source == "preset" else o.source
        rows.append([o.field, _format_value(o.value), where])

    def colour(row: int, col: int, text: str) -> str | None:
        return DIM if col == 2 and text in ("default", "derived") else None

    _emit(_table(["FIELD", "VALUE", "ORIGIN"], rows, style=style, colours=colour))
    return EXIT_OK


def cmd_diff(args: Args) -> int:
    reg = _registry(args)
    a, b = reg.explain(args.a), reg.explain(args.b)
    name_a, name_b = reg.info(args.a).name, reg.info(args.b).name
    diffs = [
        (field, a[field].value, b[field].value)
        for field in a
        if field != "device" and not same_value(a[field].value, b[field].value)
    ]
    if args.json:
        _print_json(
            {
                "a": name_a,
                "b": name_b,
                "differences": [{"field": f, "a": va, "b": vb} for f, va, vb in diffs],
            }
        )
        return EXIT_OK
    if not diffs:
        print(clean(f"{name_a} and {name_b} do not differ"))
        return EXIT_OK
    rows = [[f, _format_value(va), _format_value(vb)] for f, va, vb in diffs]
    _emit(_table(["FIELD", name_a, name_b], rows, style=_Style(sys.stdout)))
    return EXIT_OK


# -- validate ---------------------------------------------------------------------------


def _expand(paths: Sequence[str]) -> list[str]:
    """Files to check: each FILE, and the ``*.toml`` files under each folder, once each."""
    from pathlib import Path

    from ._sources import LEVEL_PATHS, Source, list_files

    out: list[str] = []
    for p in paths:
        path = Path(p)
        # str(Path(...)) is how the registry names files in its errors.
        files = (
            [str(f) for f in list_files(Source(LEVEL_PATHS, path))]
            if path.is_dir()
            else [str(path)]
        )
        for f in files:
            if f not in out:
                out.append(f)
    return out


def _check_catalog(reg: PresetRegistry, files: dict[str, Any]) -> dict[str, list[PresetError]]:
    """The load errors of every preset of ``files`` (path -> parsed file) in ``reg``."""
    from ._entries import error_from_json

    catalog = reg.catalog()  # raises for name clashes across files
    out: dict[str, list[PresetError]] = {}
    for path, parsed in files.items():
        errs = out.setdefault(path, [])
        for d in parsed.presets:
            key = catalog.find(d.name)
            if key is None:  # pragma: no cover - every parsed preset is indexed
                continue
            entry = catalog.entry(key)
            if entry["error"] is not None:
                errs.append(error_from_json(entry["error"]))
    return out


def cmd_validate(args: Args) -> int:
    from .errors import PresetError
    from .presetfile import parse_preset_file
    from .registry import PresetRegistry

    results: dict[str, dict[str, Any]] = {}
    parsed: dict[str, Any] = {}
    for path in _expand(args.files):
        result = results[path] = {"path": path, "presets": [], "errors": []}
        try:
            pf = parse_preset_file(path)
        except PresetError as exc:  # a syntax error stops this file only
            result["errors"].append(exc.with_context(file=path))
            continue
        parsed[path] = pf
        result["presets"] = [d.name for d in pf.presets]
        result["errors"] += [e for d in pf.presets for e in d.key_errors]

    # Check the files together first, so that one may extend a preset of another;
    # if they clash (a name defined in two of them), check each on its own.
    def add(found: dict[str, list[PresetError]]) -> None:
        for path, errs in found.items():
            result = results[path]
            seen = {str(e) for e in result["errors"]}
            for e in errs:
                if str(e) not in seen:
                    result["errors"].append(e)
                    seen.add(str(e))

    # The files come first; --preset-path adds presets they may extend.
    extra = getattr(args, "preset_path", None) or []
    if parsed:
        try:
            add(_check_catalog(PresetRegistry([*parsed, *extra], use_cache=False), parsed))
        except PresetError as exc:
            # A clash between the files themselves is worth reporting: they were
            # named together, as they would be installed together.
            if exc.file in parsed:
                add({exc.file: [exc]})
            for path, pf in parsed.items():
                try:
                    add(_check_catalog(PresetRegistry([path, *extra], use_cache=False), {path: pf}))
                except PresetError as exc:
                    add({path: [exc.with_context(file=path)]})

    valid = not any(r["errors"] for r in results.values())
    if args.json:
        files = []
        for r in results.values():
            errs = sorted(r["errors"], key=lambda e: _location(e, r["path"]))
            files.append(
                {
                    "path": r["path"],
                    "valid": not errs,
                    "presets": r["presets"],
                    "errors": [_error_dict(e, r["path"]) for e in errs],
                }
            )
        _print_json({"valid": valid, "files": files})
        return EXIT_OK if valid else EXIT_ERROR

    style = _Style(sys.stderr)
    for r in results.values():
        errs = sorted(r["errors"], key=lambda e: _location(e, r["path"]))
        if not errs:
            n = len(r["presets"])
            print(clean(f"{r['path']}: ok ({n} preset{'s' if n != 1 else ''})"))
        for e in errs:
            file, line, col = _location(e, r["path"])
            where = style(clean(f"{file}:{line}:{col}:"), BOLD)
            sys.stderr.write(f"{where} {clean(_message(e))}\n")
    total = sum(len(r["errors"]) for r in results.values())
    if total:
        bad = sum(1 for r in results.values() if r["errors"])
        print(
            f"{total} error{'s' if total != 1 else ''} in {bad} of {len(results)} "
            f"file{'s' if len(results) != 1 else ''}",
            file=sys.stderr,
        )
    return EXIT_OK if valid else EXIT_ERROR


def _error_dict(error: PresetError, fallback: str) -> dict[str, Any]:
    file, line, col = _location(error, fallback)
    return {
        "file": file,
        "line": line,
        "col": col,
        "preset": error.preset,
        "key": error.key,
        "reason": error.reason,
        "message": f"{file}:{line}:{col}: {_message(error)}",
    }


# -- paths and cache --------------------------------------------------------------------


def cmd_paths(args: Args) -> int:
    from ._sources import bundled_dir, user_preset_dir
    from .cache import cache_info

    reg = _registry(args)
    cache = cache_info().to_dict()
    data: dict[str, Any] = {
        "bundled": str(bundled_dir()),
        "user": str(user_preset_dir()),
        "cache": cache["location"],
        "cache_enabled": cache["enabled"],
        "sources": [
            {"kind": s.kind, "path": s.path, "exists": os.path.exists(s.path)} for s in reg.sources
        ],
        "environment": {name: os.environ.get(name) for name in _env.SHOWN},
    }
    if args.json:
        _print_json(data)
        return EXIT_OK
    style = _Style(sys.stdout)
    off = "" if cache["enabled"] else style("  (off: TRANSFORMER_PRESETS_NO_CACHE)", DIM)
    lines = [
        f"bundled presets  {clean(data['bundled'])}",
        f"user presets     {clean(data['user'])}",
        f"cache            {clean(data['cache'])}{off}",
        "",
        style("sources, highest precedence first:", BOLD),
    ]
    for s in data["sources"]:
        missing = "" if s["exists"] else style("  (does not exist)", DIM)
        lines.append(f"  {s['kind']:<8} {clean(s['path'])}{missing}")
    lines += ["", style("environment:", BOLD)]
    for name, value in data["environment"].items():
        lines.append(
            f"  {name}={clean(value)}" if value is not None else style(f"  {name} (not set)", DIM)
        )
    _emit(lines)
    return EXIT_OK


def cmd_cache(args: Args) -> int:
    from .cache import cache_info, clear_cache

    before = cache_info().to_dict()
    if args.action == "info":
        if args.json:
            _print_json(before)
        else:
            size = before["size_bytes"]
            _emit(
                [
                    f"location  {clean(before['location'])}",
                    f"size      {human_count(size)}B ({size} bytes)",
                    f"entries   {before['entries']}",
                    f"enabled   {'yes' if before['enabled'] else 'no (TRANSFORMER_PRESETS_NO_CACHE)'}",
                ]
            )
        return EXIT_OK
    clear_cache()
    after = cache_info().to_dict()
    removed = before["entries"] - after["entries"]
    freed = before["size_bytes"] - after["size_bytes"]
    if args.json:
        _print_json(
            {
                "cleared": True,
                "location": after["location"],
                "removed_entries": removed,
                "freed_bytes": freed,
            }
        )
    else:
        print(clean(f"cleared the cache at {after['location']} ({removed} entries, {freed} bytes)"))
    return EXIT_OK


# -- import-hf --------------------------------------------------------------------------


def _safe_filename(name: str) -> str:
    """A file name for a preset name: ``mistralai/Mistral-7B`` -> ``mistralai__Mistral-7B``."""
    import re

    text = name.replace("/", "__")
    text = re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".")
    return text or "preset"


def cmd_import_hf(args: Args) -> int:
    from pathlib import Path

    from ._sources import user_preset_dir
    from .errors import PresetError
    from .hf_import import closest_preset, diff_values, from_hf_config
    from .presetfile import parse_preset_text

    values = from_hf_config(args.path, name=args.name)
    name = args.name or values.get("tokenizer_name") or values.get("model_name")
    if not name:  # pragma: no cover - from_hf_config always names the model
        raise PresetError("no model name: pass --name", file=args.path)

    reg = _registry(args)
    base: str | None = None
    if args.extends == "auto":
        candidates = {
            p.name: reg.resolve(p.name) for p in reg.list(source="bundled") if not p.error
        }
        base = closest_preset(values, candidates)
    elif args.extends:
        base = reg.info(args.extends).name

    table: dict[str, Any]
    if base is None:
        table = dict(values)
    else:
        diff = diff_values(values, reg.resolve(base))
        table = {"extends": base}
        if "unset" in diff:
            table["unset"] = diff.pop("unset")
        table.update(diff)
    comments = [f"Imported from {args.path} by transformer-presets import-hf"]
    text = _preset_toml(name, table, comments)

    saved = None
    if args.save:
        target = user_preset_dir() / f"{_safe_filename(name)}.toml"
        # Never put a broken file, or a second definition of a name, in the user folder:
        # either would break every lookup, not only this preset.
        parsed = parse_preset_text(text, str(target))
        if parsed.presets and parsed.presets[0].error is not None:  # pragma: no cover
            raise parsed.presets[0].error
        if target.exists() and not args.force:
            raise PresetError(
                "a preset file with this name exists; pass --force to overwrite it",
                file=target,
            )
        try:
            other = reg.info(name)
        except PresetError:
            other = None
        if other is not None and other.source == "user" and Path(other.file) != target:
            raise PresetError(
                f"a user preset named {other.name!r} already exists in {other.file}:{other.line}; "
                "remove it or import under another --name",
                file=target,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")  # hidden: the registry skips it
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        saved = str(target)

    if args.json:
        _print_json(
            {
                "name": name,
                "extends": base,
                "table": table,
                "values": values,
                "toml": text,
                "saved": saved,
            }
        )
    elif saved:
        print(clean(f"saved preset {name!r} to {saved}"))
    else:
        sys.stdout.write(text)
    return EXIT_OK


# -- the parser -------------------------------------------------------------------------


def _formatter(prog: str) -> argparse.HelpFormatter:
    import argparse

    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


def _add_list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "patterns",
        nargs="*",
        metavar="PATTERN",
        help="shell-style patterns (gpt2-*, *mistral*) matched against names and aliases, any case",
    )
    p.add_argument("--source", choices=SOURCE_KINDS, help="only presets from this kind of source")
    p.add_argument("--family", help="only presets of this family (the file name without .toml)")
    p.add_argument(
        "-a", "--all", action="store_true", help="include abstract presets (bases and overlays)"
    )


def _common() -> argparse.ArgumentParser:
    import argparse

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON (shape below)")
    common.add_argument(
        "--preset-path",
        action="append",
        metavar="PATH",
        default=[],
        help="read presets from this file or folder first (repeatable)",
    )
    return common


def _list_parser(prog: str) -> argparse.ArgumentParser:
    import argparse

    p = argparse.ArgumentParser(
        prog=prog,
        description="List presets: name, architecture, sizes, parameters and source.",
        epilog=JSON_SHAPES["list"],
        formatter_class=_formatter,
        parents=[_common()],
    )
    _add_list_arguments(p)
    p.set_defaults(func=cmd_list)
    return p


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser of the whole command line."""
    import argparse

    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Browse, check and import TransformerLens model presets.",
        epilog=(
            "Errors go to stderr; exit status 0 on success, 1 on an error (or an invalid\n"
            "file for validate), 2 on a usage error. Colour only on a terminal without\n"
            "NO_COLOR. Every command that prints data takes --json:\n\n"
            + "\n\n".join(JSON_SHAPES.values())
        ),
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            epilog=JSON_SHAPES.get(name),
            formatter_class=_formatter,
            parents=[_common()],
        )

    p = command("list", "list presets with their main sizes")
    _add_list_arguments(p)
    p.set_defaults(func=cmd_list)

    p = command("show", "show a preset's resolved values (no torch needed)")
    p.add_argument("name", metavar="NAME", help="a preset name or alias, any case")
    p.add_argument(
        "--toml", action="store_true", help="print a preset file that loads back the same"
    )
    p.set_defaults(func=cmd_show)

    p = command("explain", "show where each field of a preset gets its value")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=cmd_explain)

    p = command("diff", "show the fields in which two presets differ")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.set_defaults(func=cmd_diff)

    p = command("validate", "check preset files without installing them")
    p.add_argument("files", nargs="+", metavar="FILE", help="preset files, or folders of them")
    p.set_defaults(func=cmd_validate)

    p = command("paths", "show where presets and the cache live, and the environment in effect")
    p.set_defaults(func=cmd_paths)

    p = command("cache", "show or clear the resolved-preset cache")
    p.add_argument(
        "action", choices=("info", "clear"), help="info: what the cache holds; clear: empty it"
    )
    p.set_defaults(func=cmd_cache)

    p = command("import-hf", "turn a Hugging Face config.json into a preset (offline)")
    p.add_argument("path", metavar="PATH", help="a config.json, or a folder holding one")
    p.add_argument(
        "--name",
        help="the model's name on the Hub, also the preset's name (default: the file's _name_or_path)",
    )
    p.add_argument(
        "--extends",
        metavar="BASE",
        help="write only the fields that differ from preset BASE ('auto': the closest bundled preset)",
    )
    p.add_argument(
        "--save", action="store_true", help="write the preset into the user preset folder"
    )
    p.add_argument("--force", action="store_true", help="with --save: overwrite an existing file")
    p.set_defaults(func=cmd_import_hf)

    from .cli_bridges import add_commands  # schema, export-hf

    add_commands(sub, _common())
    return parser


# -- entry points -----------------------------------------------------------------------


def _warn(message: str) -> None:
    style = _Style(sys.stderr)
    if sys.stderr is not None:
        sys.stderr.write(f"{PROG}: {style('warning', YELLOW)}: {clean(message)}\n")


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    _warn(str(message))


def _quick_list_args(argv: Sequence[str]) -> types.SimpleNamespace | None:
    """``list``'s arguments in their plain forms, or None to let argparse read them.

    Reads patterns, ``--json``, ``-a``/``--all``, ``--source KIND``,
    ``--family NAME`` and ``--preset-path PATH`` (also as ``--opt=value``),
    with the patterns in one run as argparse requires. Anything else, from
    ``--help`` to an abbreviation or an error, goes to argparse, so every
    message and exit status is argparse's.
    """
    import types

    args = types.SimpleNamespace(
        json=False, preset_path=[], patterns=[], source=None, family=None, all=False, func=cmd_list
    )
    patterns_ended = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-"):
            if patterns_ended:
                return None  # argparse rejects patterns on both sides of an option
            args.patterns.append(arg)
            continue
        patterns_ended = bool(args.patterns)
        if arg == "--json":
            args.json = True
            continue
        if arg in ("-a", "--all"):
            args.all = True
            continue
        option, equals, value = arg.partition("=")
        if option not in ("--source", "--family", "--preset-path"):
            return None
        if not equals:
            if i == len(argv) or argv[i].startswith("-"):
                return None  # argparse's "expected one argument"
            value = argv[i]
            i += 1
        if option == "--source" and value not in SOURCE_KINDS:
            return None  # argparse's "invalid choice"
        if option == "--preset-path":
            args.preset_path.append(value)
        else:
            setattr(args, option[2:], value)
    return args


def _run(args: Args) -> int:
    import warnings

    from .errors import PresetArgumentError, PresetError

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # "warning: ...", not a source line
            code: int = args.func(args)
    except (PresetError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        _error(_describe(exc))
        return EXIT_USAGE if isinstance(exc, PresetArgumentError) else EXIT_ERROR
    return code


def _error(message: str) -> None:
    if sys.stderr is not None:
        style = _Style(sys.stderr)
        sys.stderr.write(f"{PROG}: {style('error', RED)}: {clean(message)}\n")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _guarded(args: Callable[[], Args]) -> int:
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        _error("standard output is closed; nothing can be printed")
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
        _error(f"cannot write the output: {exc.strerror or exc}")
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
            quick = _quick_list_args(argv[1:])
            if quick is not None:
                quick.command = "list"
                return quick
        return build_parser(prog).parse_args(argv)

    return _guarded(parse)


def list_main(argv: Sequence[str] | None = None, *, prog: str = f"{PROG} list") -> int:
    """The ``list`` command on its own (``python -m tools.list_presets``)."""
    argv = _argv(argv)
    return _guarded(lambda: _quick_list_args(argv) or _list_parser(prog).parse_args(argv))
