"""The ``schema`` and ``export-hf`` commands: preset files to editors, presets to Hugging Face.

``add_commands`` registers both on the command line's sub-parsers. Neither
imports torch or numpy: the schema comes from the field table, the export
from resolved values.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

__all__ = ["add_commands", "cmd_export_hf", "cmd_schema"]


def _print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _write_text(target: str, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file, so a reader never sees half."""
    from pathlib import Path

    path = Path(target)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of preset files, or write it to ``--output``."""
    from .json_schema import schema_text

    text = schema_text()
    if args.output is None:
        sys.stdout.write(text)  # JSON already, with --json or without
        return 0
    _write_text(args.output, text)
    if args.json:
        _print_json({"output": args.output})
    else:
        print(f"wrote {args.output}")
    return 0


def cmd_export_hf(args: argparse.Namespace) -> int:
    """Write a preset as ``DIR/config.json`` (or print it, for ``-``)."""
    import json
    from pathlib import Path

    from .errors import PresetError
    from .hf_export import to_hf_config
    from .registry import PresetRegistry, default_registry

    registry = PresetRegistry(args.preset_path) if args.preset_path else default_registry()
    name = registry.info(args.name).name
    try:
        config = to_hf_config(registry.resolve(name), architecture=args.architecture)
    except PresetError as exc:
        raise exc.with_context(preset=name) from None
    text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"

    path = None
    if args.dir != "-":
        folder = Path(args.dir)
        target = folder / "config.json"
        if folder.exists() and not folder.is_dir():
            raise PresetError("exists and is not a folder", file=folder)
        if target.exists() and not args.force:
            raise PresetError("exists; pass --force to overwrite it", file=target)
        folder.mkdir(parents=True, exist_ok=True)
        _write_text(str(target), text)
        path = str(target)

    if args.json:
        _print_json(
            {
                "name": name,
                "architecture": config["architectures"][0],
                "path": path,
                "config": config,
            }
        )
    elif path is None:
        sys.stdout.write(text)
    else:
        print(f"wrote {path} ({config['architectures'][0]})")
    return 0


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``schema`` and ``export-hf`` to ``sub`` (the command line's sub-parsers).

    ``common`` is the parent parser of every command (``--json``, ``--preset-path``).
    """
    from .cli import JSON_SHAPES, _formatter

    def command(name: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            epilog=JSON_SHAPES.get(name),
            formatter_class=_formatter,
            parents=[common],
        )
        return parser

    p = command("schema", "print the JSON Schema of preset files (for editors: see the README)")
    p.add_argument("--output", "-o", metavar="FILE", help="write it to FILE instead")
    p.set_defaults(func=cmd_schema)

    p = command("export-hf", "write a preset as a Hugging Face config.json (offline)")
    p.add_argument("name", metavar="NAME", help="a preset name or alias, any case")
    p.add_argument(
        "dir",
        metavar="DIR",
        help="the folder to write config.json into (created if needed); - prints it instead",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing config.json")
    p.add_argument(
        "--architecture",
        metavar="ARCH",
        help="the Hugging Face architecture (default: the preset's original_architecture)",
    )
    p.set_defaults(func=cmd_export_hf)
