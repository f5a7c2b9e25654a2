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

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    import types
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, TextIO

    from .errors import PresetError
    from .records import PresetInfo
    from .registry import PresetRegistry

    # What a command receives: argparse's answer, or the quick reader's.
    Args = argparse.Namespace | types.SimpleNamespace

__all__ = ["build_parser", "list_main", "main"]

PROG = "transformer-presets"

#: Environment variables that change what the commands see, shown by ``paths``.
ENV_VARS = (
    "TRANSFORMER_PRESETS_PATH",
    "TRANSFORMER_PRESETS_CACHE_DIR",
    "TRANSFORMER_PRESETS_NO_CACHE",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "NO_COLOR",
)

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
    "size": """\
size --json: {"name", "architecture", "batch", "seq", "dtype", "optimizer", "hooks": glob
  or null, "parameters", "weight_bytes", "buffer_bytes", "kv_cache_bytes" and
  "kv_cache_mask_bytes" (null for a model TransformerLens's KV cache cannot hold),
  "activation_bytes", "activation_hooks", "forward_flops",
  "flops_per_token", "training_state": {"weights", "gradients", "optimizer", "total"},
  "needed_bytes" (weights + buffers + activations), "converted" (true: the numbers are
  for model.to(dtype), a mixture of experts TransformerLens builds in float32),
  "memory": [{"size_bytes", "fits"}]}""",
    "hooks": """\
hooks --json: {"name", "batch", "seq", "dtype", "pattern": glob or null, "hooks":
  [{"name", "shape": [...], "dtype", "bytes", "same_as": an earlier hook holding the
  same tensor, or null}], "total_bytes" (a tensor under two names counted once)}""",
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
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


BOLD, DIM, RED, YELLOW = "1", "2", "31", "33"


def _print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _format_value(value: Any) -> str:
    """A value as TOML would write it, so the text output can be pasted into a preset."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return json.dumps(value, ensure_ascii=False)
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
    rows = [list(r) for r in rows]
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


def _heads(row: dict[str, Any]) -> str:
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
NOTE_COLOURS = {"error": RED, "remote code": YELLOW, "abstract": DIM}


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
        print(f"{PROG}: no presets match {what}", file=sys.stderr)
        return EXIT_OK
    table = []
    for r in rows:
        note = "error" if r["error"] else ("remote code" if r["remote_code_warning"] else "")
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
            )
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
    catalog = reg.catalog()
    key = catalog.find(name)
    found = None if key is None else catalog.entry(key)["checkpoints"]
    if not found:
        return None
    label_type, labels = found
    return {"label_type": label_type, "values": list(labels)}


def _preset_toml(name: str, table: dict[str, Any], comments: Sequence[str] = ()) -> str:
    import tomli_w

    head = "".join(f"# {c}\n" for c in comments)
    return head + tomli_w.dumps({name: table})


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
        from .schema import FIELDS

        # TOML has no null: fields set to None go under the reserved "none" key.
        nulls = [k for k in FIELDS if k in values and values[k] is None]
        if nulls:
            table["none"] = nulls
        table.update((k, values[k]) for k in FIELDS if values.get(k) is not None)
        if checkpoints:
            table["checkpoints"] = checkpoints
        comments = [f"{info.name}, fully resolved from {info.file} (source: {info.source})"]
        if derived:
            comments.append("derived when loaded (not settable):")
            comments += [f"  {k} = {_format_value(v)}" for k, v in derived.items()]
        sys.stdout.write(_preset_toml(info.name, table, comments))
        return EXIT_OK

    style = _Style(sys.stdout)
    lines = [style(info.name, BOLD) + (f" - {info.description}" if info.description else "")]
    if info.aliases:
        lines.append(f"aliases: {', '.join(info.aliases)}")
    lines.append(f"source:  {info.source} ({info.file}:{info.line})")
    if info.extends:
        lines.append(f"extends: {', '.join(info.extends)}")
    if checkpoints:
        labels = checkpoints["values"]
        lines.append(
            f"checkpoints: {len(labels)} ({checkpoints['label_type']}s {labels[0]}..{labels[-1]})"
        )
    lines.append("")
    from .schema import FIELDS

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
        _print_json({"name": info.name, "fields": [o.to_dict() for o in origins.values()]})
        return EXIT_OK
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
        if field != "device" and not _same(a[field].value, b[field].value)
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
        print(f"{name_a} and {name_b} do not differ")
        return EXIT_OK
    rows = [[f, _format_value(va), _format_value(vb)] for f, va, vb in diffs]
    _emit(_table(["FIELD", name_a, name_b], rows, style=_Style(sys.stdout)))
    return EXIT_OK


def _same(a: Any, b: Any) -> bool:
    # 1 and true differ in a preset even though Python calls them equal.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


# -- validate ---------------------------------------------------------------------------


def _expand(paths: Sequence[str]) -> list[str]:
    """Files to check: each FILE, and the ``*.toml`` files under each folder, once each."""
    from pathlib import Path

    from .sources import LEVEL_PATHS, Source, list_files

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
    from .catalog import error_from_json

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
            print(f"{r['path']}: ok ({n} preset{'s' if n != 1 else ''})")
        for e in errs:
            file, line, col = _location(e, r["path"])
            where = style(f"{file}:{line}:{col}:", BOLD)
            sys.stderr.write(f"{where} {_message(e)}\n")
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
    from .cache import cache_info
    from .sources import bundled_dir, user_preset_dir

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
        "environment": {name: os.environ.get(name) for name in ENV_VARS},
    }
    if args.json:
        _print_json(data)
        return EXIT_OK
    style = _Style(sys.stdout)
    off = "" if cache["enabled"] else style("  (off: TRANSFORMER_PRESETS_NO_CACHE)", DIM)
    lines = [
        f"bundled presets  {data['bundled']}",
        f"user presets     {data['user']}",
        f"cache            {data['cache']}{off}",
        "",
        style("sources, highest precedence first:", BOLD),
    ]
    for s in data["sources"]:
        missing = "" if s["exists"] else style("  (does not exist)", DIM)
        lines.append(f"  {s['kind']:<8} {s['path']}{missing}")
    lines += ["", style("environment:", BOLD)]
    for name, value in data["environment"].items():
        lines.append(
            f"  {name}={value}" if value is not None else style(f"  {name} (not set)", DIM)
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
                    f"location  {before['location']}",
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
        print(f"cleared the cache at {after['location']} ({removed} entries, {freed} bytes)")
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

    from .errors import PresetError
    from .hf_import import closest_preset, diff_values, from_hf_config
    from .presetfile import parse_preset_text
    from .sources import user_preset_dir

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
        print(f"saved preset {name!r} to {saved}")
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

    from . import __version__

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

    from .cli_plan import add_commands

    add_commands(command)  # size, hooks
    return parser


# -- entry points -----------------------------------------------------------------------


def _warn(message: str) -> None:
    style = _Style(sys.stderr)
    sys.stderr.write(f"{PROG}: {style('warning', YELLOW)}: {message}\n")


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

    from .errors import PresetError

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # "warning: ...", not a source line
            code: int = args.func(args)
    except (PresetError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        style = _Style(sys.stderr)
        sys.stderr.write(f"{PROG}: {style('error', RED)}: {_describe(exc)}\n")
        return EXIT_ERROR
    return code


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _guarded(args: Callable[[], Args]) -> int:
    # A reader that goes away (`| head`) is not an error worth a traceback. Flush
    # inside the guard, then point stdout at devnull so the interpreter's own
    # flush at exit cannot fail again (the recipe in Python's signal docs).
    try:
        code = _run(args())  # a usage error exits with status 2 from argparse
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return code


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    >>> main(["list", "gpt2-x*", "--json"])  # doctest: +SKIP
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)

    def parse() -> Args:
        if argv[:1] == ["list"]:
            quick = _quick_list_args(argv[1:])
            if quick is not None:
                quick.command = "list"
                return quick
        if argv[:1] in (["size"], ["hooks"]):  # their own parser: the full one costs more
            from .cli_plan import parse_args

            return parse_args(argv, prog)
        return build_parser(prog).parse_args(argv)

    return _guarded(parse)


def list_main(argv: Sequence[str] | None = None, *, prog: str = f"{PROG} list") -> int:
    """The ``list`` command on its own (``python -m tools.list_presets``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return _guarded(lambda: _quick_list_args(argv) or _list_parser(prog).parse_args(argv))
