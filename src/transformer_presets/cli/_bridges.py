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
    from typing import Any

__all__ = ["cmd_export_hf", "cmd_schema"]


def _write_text(target: str, text: str, *, what: str, force: bool = True) -> None:
    """Write ``text`` to the file ``target`` (see ``_filewrite``: whole or not at all, into a
    FIFO or device as it is). Errors name ``target``; without ``force`` an existing one is.

    ``what`` names the argument ``target`` came from, for the error an empty one gets.
    """
    from ..errors import PresetArgumentError

    if not target:
        raise PresetArgumentError(f"{what}: an empty path names no file")
    _write_bytes(target, text.encode("utf-8"), force=force)


def _write_bytes(target: str, data: bytes, *, force: bool) -> None:
    from ..common.filewrite import write_file
    from ..errors import PresetError

    try:
        write_file(target, data, replace=force)
    except FileExistsError:
        raise PresetError("exists; pass --force to overwrite it", file=target) from None


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of preset files, or write it to ``--output``."""
    from ..fields.schema import schema_text

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
    """Write a preset as ``DIR/config.json`` (or print it, for ``-``), and with
    ``--tokenizer`` a tokenizer beside it."""
    import json
    from pathlib import Path

    from ..errors import PresetArgumentError, PresetError
    from ..hf.exporting import to_hf_config
    from ..registry.registry import PresetRegistry, default_registry

    registry = PresetRegistry(args.preset_path) if args.preset_path else default_registry()
    name = registry.info(args.name).name
    values = registry.resolve(name)
    try:
        config = to_hf_config(values, architecture=args.architecture)
    except PresetError as exc:
        raise exc.with_context(preset=name) from None
    text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    if args.tokenizer and args.dir == "-":
        raise PresetArgumentError("--tokenizer writes files: give a folder, not -")
    tokenizer: dict[str, Any] | None = None
    files: dict[str, bytes] = {}
    if args.tokenizer:
        from ..hf.model_folder import tokenizer_files

        text_config = config.get("text_config", config)
        about, files = tokenizer_files(
            values.get("tokenizer_name") or name,
            d_vocab=int(text_config["vocab_size"]),
            n_ctx=int(values["n_ctx"]),
        )
        source = "cache" if about.startswith("the tokenizer of") else "stand-in"
        tokenizer = {"source": source, "about": about, "files": []}

    path = None
    if args.dir != "-":
        if not args.dir:
            raise PresetArgumentError("DIR: an empty path names no folder (use . for this one)")
        folder = Path(args.dir)
        target = folder / "config.json"
        if folder.exists() and not folder.is_dir():
            raise PresetError("exists and is not a folder", file=folder)
        targets = [target, *(folder / f for f in files)]
        for each in targets:
            if each.is_dir():  # --force or not: a folder is not ours to replace
                raise PresetError("is a folder, not a file", file=each)
            # lexists: a link, even one to nowhere, is a file the user made; --force
            # replaces the link itself, never the file it points at. (Checked again as
            # each is written: another process may create it meanwhile.)
            if os.path.lexists(each) and not args.force:
                raise PresetError("exists; pass --force to overwrite it", file=each)
        folder.mkdir(parents=True, exist_ok=True)
        _write_text(str(target), text, what="DIR", force=args.force)
        path = str(target)
        if files:
            for file_name, data in files.items():
                _write_bytes(str(folder / file_name), data, force=args.force)
            assert tokenizer is not None
            tokenizer["files"] = [str(folder / f) for f in files]

    if args.json:
        print_json(
            {
                "name": name,
                "architecture": config["architectures"][0],
                "path": path,
                "config": config,
                "tokenizer": tokenizer,
            }
        )
    elif path is None:
        sys.stdout.write(text)
    else:
        print(clean(f"wrote {path} ({config['architectures'][0]})"))
        if tokenizer is not None:
            print(clean(f"wrote {tokenizer['about']}: {', '.join(files)}"))
    return 0
