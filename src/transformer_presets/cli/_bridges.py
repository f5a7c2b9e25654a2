"""The ``schema`` and ``export-hf`` commands: preset files to editors, presets to Hugging Face.

Neither imports torch or numpy: the schema comes from the field table, the
export from resolved values.
"""

from __future__ import annotations

import os
import sys

from ._output import clean, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

__all__ = ["cmd_export_hf", "cmd_schema"]


def _write_text(target: str, text: str, *, what: str, force: bool = True) -> None:
    """Write ``text`` to the file ``target`` (see ``_filewrite``: whole or not at all, into a
    FIFO or device as it is). Errors name ``target``; without ``force`` an existing one is.

    ``what`` names the argument ``target`` came from, for the error an empty one gets.
    """
    from .._filewrite import write_file
    from ..errors import PresetArgumentError, PresetError

    if not target:
        raise PresetArgumentError(f"{what}: an empty path names no file")
    try:
        write_file(target, text.encode("utf-8"), replace=force)
    except FileExistsError:
        raise PresetError("exists; pass --force to overwrite it", file=target) from None


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of preset files, or write it to ``--output``."""
    from ..json_schema import schema_text

    text = schema_text()
    if args.output is None:
        sys.stdout.write(text)  # JSON already, with --json or without
        return 0
    _write_text(args.output, text, what="--output")
    if args.json:
        print_json({"output": args.output})
    else:
        print(clean(f"wrote {args.output}"))
    return 0


def cmd_export_hf(args: argparse.Namespace) -> int:
    """Write a preset as ``DIR/config.json`` (or print it, for ``-``)."""
    import json
    from pathlib import Path

    from ..errors import PresetArgumentError, PresetError
    from ..hf.exporting import to_hf_config
    from ..registry import PresetRegistry, default_registry

    registry = PresetRegistry(args.preset_path) if args.preset_path else default_registry()
    name = registry.info(args.name).name
    try:
        config = to_hf_config(registry.resolve(name), architecture=args.architecture)
    except PresetError as exc:
        raise exc.with_context(preset=name) from None
    text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"

    path = None
    if args.dir != "-":
        if not args.dir:
            raise PresetArgumentError("DIR: an empty path names no folder (use . for this one)")
        folder = Path(args.dir)
        target = folder / "config.json"
        if folder.exists() and not folder.is_dir():
            raise PresetError("exists and is not a folder", file=folder)
        if target.is_dir():  # --force or not: a folder is not ours to replace
            raise PresetError("is a folder, not a file", file=target)
        # lexists: a link, even one to nowhere, is a file the user made; --force replaces
        # the link itself, never the file it points at. (Checked again as it is written:
        # another process may create it meanwhile.)
        if os.path.lexists(target) and not args.force:
            raise PresetError("exists; pass --force to overwrite it", file=target)
        folder.mkdir(parents=True, exist_ok=True)
        _write_text(str(target), text, what="DIR", force=args.force)
        path = str(target)

    if args.json:
        print_json(
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
        print(clean(f"wrote {path} ({config['architectures'][0]})"))
    return 0
