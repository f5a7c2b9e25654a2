"""The commands beyond ``list``: show, explain, diff, validate, paths, cache, import-hf.

Each takes the parsed arguments and returns the exit status; what they print
goes through :mod:`._output`. The work itself is the library's.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..cache.store import cache_info, clear_cache
from ..catalog.records import PresetInfo
from ..common import env as _env
from ..common.plain import same_value
from ..errors import PresetArgumentError, PresetError
from ..fields.keys import FIELDS
from ..files.reader import name_problem
from ..files.sources import bundled_dir, user_preset_dir
from ..files.text import preset_toml
from ..hf.extending import closest_preset, differing_fields, extends_table
from ..hf.importing import from_hf_config
from ..registry.registry import PresetRegistry
from ..registry.user_presets import save_user_preset
from ..registry.validation import validate_files
from ._output import (
    BOLD,
    DIM,
    EXIT_ERROR,
    EXIT_OK,
    YELLOW,
    Style,
    clean,
    emit,
    format_value,
    human_count,
    note,
    print_json,
    table,
    warn,
)
from ._quick import registry_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._quick import Args

__all__ = [
    "cmd_cache",
    "cmd_diff",
    "cmd_explain",
    "cmd_import_hf",
    "cmd_paths",
    "cmd_show",
    "cmd_validate",
]


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


def cmd_show(args: Args) -> int:
    reg = registry_for(args)
    info, values, derived = _resolved(reg, args.name)
    checkpoints = _checkpoints(reg, info.name)
    if args.json:
        print_json(
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
            comments += [f"  {k} = {format_value(v)}" for k, v in derived.items()]
        sys.stdout.write(preset_toml(info.name, table, comments))
        return EXIT_OK

    style = Style(sys.stdout)
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
    merged = {**values, **derived}
    width = max(len(k) for k in merged) if merged else 0
    for field in FIELDS:  # declaration order groups related fields
        if field in merged:
            mark = style("  (derived)", DIM) if field in derived else ""
            lines.append(f"{field.ljust(width)}  {format_value(merged[field])}{mark}")
    emit(lines)
    return EXIT_OK


def cmd_explain(args: Args) -> int:
    reg = registry_for(args)
    origins = reg.explain(args.name)
    info = reg.info(args.name)
    if args.json:
        print_json(
            {
                "name": info.name,
                "modified_by": list(info.modified_by),
                "fields": [o.to_dict() for o in origins.values()],
            }
        )
        return EXIT_OK
    if info.modified_by:
        warn(f"{info.name}: a bundled preset modified by {', '.join(info.modified_by)}")
    style = Style(sys.stdout)
    width = _value_width(sys.stdout)
    rows = []
    for o in origins.values():
        where = f"{o.preset} ({o.file}:{o.line})" if o.source == "preset" else o.source
        if o.note:
            where += f" ({o.note})"
        rows.append([o.field, shorten(format_value(o.value), width), where])

    def colour(row: int, col: int, text: str) -> str | None:
        return DIM if col == 2 and text.startswith(("default", "derived")) else None

    emit(table(["FIELD", "VALUE", "ORIGIN"], rows, style=style, colours=colour))
    return EXIT_OK


def _value_width(stream: Any) -> int | None:
    """How wide a value column may be: on a terminal, what leaves room for the
    other columns (one long list must not pad every row); elsewhere, unlimited."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    import shutil

    return max(24, min(60, shutil.get_terminal_size().columns - 60))


def shorten(text: str, width: int | None) -> str:
    """``text`` cut to ``width`` characters, ending in an ellipsis when cut.

    >>> shorten("[1, 2, 3, 4, 5]", 8), shorten("abc", 8), shorten("abc", None)
    ('[1, 2, …', 'abc', 'abc')
    """
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def cmd_diff(args: Args) -> int:
    reg = registry_for(args)
    a, b = reg.explain(args.a), reg.explain(args.b)
    name_a, name_b = reg.info(args.a).name, reg.info(args.b).name
    diffs = [
        (field, a[field].value, b[field].value)
        for field in a
        if field != "device" and not same_value(a[field].value, b[field].value)
    ]
    if args.json:
        print_json(
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
    width = _value_width(sys.stdout)
    rows = [
        [f, shorten(format_value(va), width), shorten(format_value(vb), width)]
        for f, va, vb in diffs
    ]
    emit(table(["FIELD", name_a, name_b], rows, style=Style(sys.stdout)))
    return EXIT_OK


# -- validate ---------------------------------------------------------------------------


def _place(error: PresetError) -> str:
    """``path:line:col``, as far as the error knows it (a missing file has no line)."""
    where = error.file or "<unknown>"
    if error.line is not None:
        where += f":{error.line}"
        if error.col is not None:
            where += f":{error.col}"
    return where


def _message(error: PresetError) -> str:
    """The error's text without its file position (shown separately, as linters do)."""
    return str(PresetError(error.reason, preset=error.preset, key=error.key))


def cmd_validate(args: Args) -> int:
    reports = validate_files(args.files, preset_paths=getattr(args, "preset_path", None) or [])
    valid = all(report.valid for report in reports)
    if args.json:
        print_json(
            {
                "valid": valid,
                "files": [
                    {
                        "path": report.path,
                        "valid": report.valid,
                        "presets": list(report.presets),
                        "errors": [
                            {
                                "file": e.file or report.path,
                                "line": e.line,
                                "col": e.col,
                                "preset": e.preset,
                                "key": e.key,
                                "reason": e.reason,
                                "message": f"{_place(e)}: {_message(e)}",
                            }
                            for e in report.errors
                        ],
                    }
                    for report in reports
                ],
            }
        )
        return EXIT_OK if valid else EXIT_ERROR
    # Findings on stdout, one a line, as linters print them; then a summary.
    style = Style(sys.stdout)
    lines = []
    for report in reports:
        for e in report.errors:
            lines.append(f"{style(clean(_place(e)) + ':', BOLD)} {clean(_message(e))}")
    errors = sum(len(report.errors) for report in reports)
    files = len(reports)
    if errors:
        bad = sum(1 for report in reports if report.errors)
        lines.append(f"{_count(errors, 'error')} in {_count(bad, 'file')}")
    else:
        presets = sum(len(report.presets) for report in reports)
        lines.append(f"no errors in {_count(files, 'file')} ({_count(presets, 'preset')})")
    emit(lines)
    return EXIT_OK if valid else EXIT_ERROR


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- paths and cache --------------------------------------------------------------------


def cmd_paths(args: Args) -> int:
    reg = registry_for(args)
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
        print_json(data)
        return EXIT_OK
    style = Style(sys.stdout)
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
    emit(lines)
    return EXIT_OK


def cmd_cache(args: Args) -> int:
    before = cache_info().to_dict()
    if args.action == "info":
        if args.json:
            print_json(before)
        else:
            size = before["size_bytes"]
            emit(
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
        print_json(
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


def _folder_name(path: str) -> str:
    """The preset name a config without a model name gets: its folder's name."""
    full = os.path.abspath(path)
    folder = full if os.path.isdir(full) else os.path.dirname(full)
    name = os.path.basename(folder)
    if name_problem(name) or name in (".", ".."):
        raise PresetArgumentError(
            f"{path}: the config names no model and its folder gives no preset name: "
            "pass --name NAME"
        )
    return name


def _names_a_preset(reg: PresetRegistry, name: str) -> bool:
    try:
        reg.name(name)
    except PresetError:
        return False
    return True


def _import_with_notes(path: str, name: str | None) -> tuple[dict[str, Any], list[str]]:
    """``from_hf_config``'s values, and the notes on what it took without the file saying it."""
    import warnings

    from ..hf.errors import HFConfigNote

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HFConfigNote)
        values = from_hf_config(path, name=name)
    notes = []
    for w in caught:
        if issubclass(w.category, HFConfigNote):
            notes.append(str(w.message))
        else:  # pragma: no cover - from_hf_config warns nothing else today
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return values, notes


def cmd_import_hf(args: Args) -> int:
    if args.name is not None and name_problem(args.name):
        raise PresetArgumentError(
            f"--name {args.name!r} cannot name a preset: {name_problem(args.name)}"
        )
    if args.extends is not None and not args.extends.strip():
        raise PresetArgumentError("--extends: an empty name names no preset ('auto' picks one)")
    values, assumed = _import_with_notes(args.path, args.name)
    for text in assumed:
        note(text)
    reg = registry_for(args)
    name = args.name or values.get("tokenizer_name")
    if not name:
        name = _folder_name(args.path)
        if args.save and _names_a_preset(reg, name):
            raise PresetArgumentError(
                f"{args.path}: the config names no model, and its folder's name "
                f"{name!r} is already a preset's: pass --name NAME to name the preset"
            )
        note(
            f"the config names no model (no _name_or_path, not in the hub cache): the preset "
            f"is named {name!r} after its folder, model_name keeps its default "
            "(--name ORG/NAME names both)"
        )
    problem = name_problem(name)
    if problem:
        # The header of the preset printed: a name from the file that cannot be one would
        # print a preset file that does not load (--name was checked above).
        raise PresetError(
            f"the model's name {name!r} cannot name a preset ({problem}): "
            "pass --name NAME, the preset's name",
            file=args.path,
        )

    base: str | None = None
    if args.extends == "auto":
        presets = [p for p in reg.list(source="bundled") if not p.error]
        candidates = {p.name: reg.resolve(p.name) for p in presets}
        base = closest_preset(values, candidates, aliases={p.name: p.aliases for p in presets})
        differing = differing_fields(values, candidates[base])
        note(
            f"extending {base} (the closest bundled preset: "
            f"{len(differing)} differing field{'' if len(differing) == 1 else 's'})"
        )
    elif args.extends is not None:
        base = reg.info(args.extends).name

    table: dict[str, Any]
    if base is None:
        table = dict(values)
    else:
        table = {
            "extends": base,
            **extends_table(values, reg.resolve(base), patterns=reg._patterns(base)),
        }
    comments = [f"Imported from {args.path} by transformer-presets import-hf", *assumed]
    text = preset_toml(name, table, comments)

    saved = None
    if args.save:
        saved = str(
            save_user_preset(name, table, comments=comments, force=args.force, registry=reg)
        )

    if args.json:
        print_json(
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
