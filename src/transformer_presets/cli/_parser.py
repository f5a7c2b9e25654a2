"""The argument parser of the whole command line (argparse), with every ``--json`` shape.

Only the commands and the quick ``list`` reader's fallback build it: a plain
``list`` never imports argparse.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..common.version import __version__
from ..registry.registry import SORT_KEYS, SOURCE_KINDS
from ._bridges import cmd_export_hf, cmd_schema
from ._commands import (
    cmd_cache,
    cmd_diff,
    cmd_explain,
    cmd_import_hf,
    cmd_paths,
    cmd_show,
    cmd_validate,
)
from ._output import PROG
from ._plan import cmd_hooks, cmd_size, for_argparse, plan_options
from ._quick import cmd_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "JSON_SHAPES",
    "add_plan_commands",
    "build_parser",
    "formatter",
    "list_parser",
    "plan_parser",
]

# The shapes every --json output keeps, shown in --help (one place, so the
# help and the code are reviewed together).
JSON_SHAPES = {
    "list": """\
list --json: an array with one object per preset, in the table's order:
  {"name", "aliases": [...], "description", "abstract", "source" (bundled|user|env|path),
   "file", "line", "family", "extends": [...], "architecture", "n_layers", "d_model",
   "n_heads", "n_key_value_heads", "d_head", "d_mlp", "n_ctx", "d_vocab", "n_params",
   "dtype", "trust_remote_code", "remote_code_warning", "modified_by": [...],
   "has_checkpoints", "error", "matched_alias"}
  (sizes are null where unknown; "error" is null or the message; "matched_alias" is the
  alias a pattern matched, when it matched no name)""",
    "show": """\
show --json: {"name", "aliases", "description", "source", "file", "line", "extends",
  "modified_by": [files from outside the bundled set that changed a bundled preset],
  "values": {field: value}   (the fields the preset files set, = resolve_preset(name)),
  "derived": {field: value}  (computed when the config is built: n_heads, d_mlp, n_params...),
  "checkpoints": {"label_type", "values": [...]} or null}""",
    "explain": """\
explain --json: {"name", "modified_by": [files], "fields": [{"field", "value", "source"
  (preset|default|derived), "preset", "file", "line", "note"}, ...]}  (one object per
  config field, in declaration order; preset/file/line are null unless source is
  "preset"; note says why, where the machine decides: device)""",
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
  "config": {key: value} (the config.json's contents, = to_hf_config(name)),
  "tokenizer": with --tokenizer {"source": "cache" or "stand-in", "about", "files":
  [paths written]}, else null}""",
    "size": """\
size --json: {"name", "architecture", "batch", "seq", "dtype", "optimizer", "hooks": glob
  or null, "parameters", "weight_bytes", "buffer_bytes", "kv_cache_bytes" and
  "kv_cache_mask_bytes" (null for a model TransformerLens's KV cache cannot hold),
  "activation_bytes", "activation_hooks", "forward_flops",
  "flops_per_token", "training_state": {"weights", "gradients", "optimizer", "total"},
  "needed_bytes" (weights + buffers + activations), "converted" (true: the numbers are
  for model.to(dtype), a mixture of experts TransformerLens builds in float32),
  "memory": [{"size_bytes", "fits"}]}
size --model bridge --json: the keys of size --json, for TransformerLens 4.3's bridge
  ("parameters": sum(p.numel() for p in bridge.parameters()), "kv_cache_bytes" null where
  TransformerLens 4.3 keeps no key-value cache, "kv_cache_mask_bytes" 0 or null,
  "converted" false), and "model": "bridge", "adapter", "stored_parameters" (without the
  views of fused matrices), "kv_cache_refused" (why the bridge keeps no key-value cache,
  or null), "transformers_kv_cache_bytes" (what transformers' own generate keeps, or
  null: BERT), "listed_bytes" (every hook's bytes added), "hooked_activation_bytes" and
  "hooked_activation_hooks" (HookedTransformer's, or null)}""",
    "hooks": """\
hooks --json: {"name", "model", "batch", "seq", "dtype", "pattern": glob or null, "hooks":
  [{"name", "shape": [...], "dtype", "bytes", "same_as": an earlier hook holding the
  same tensor, or null, and "storage_bytes" for a view: the memory it keeps alive}],
  "total_bytes" (a tensor under two names counted once)}""",
}


def formatter(prog: str) -> argparse.HelpFormatter:
    """Help text as written (the epilogues are laid out by hand)."""
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
    p.add_argument(
        "--sort",
        choices=tuple(SORT_KEYS),
        default="name",
        help="order by name (natural: 14m, 70m, 1b), params, layers, d_model or context",
    )


def _common() -> argparse.ArgumentParser:
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


def _subcommands(parser: argparse.ArgumentParser) -> Callable[[str, str], argparse.ArgumentParser]:
    """``parser``'s subcommands: the function that adds one, ``command(name, help)``, with
    the common options, its ``--json`` shape and ``help`` as its description."""
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = sub.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            epilog=JSON_SHAPES.get(name),
            formatter_class=formatter,
            parents=[_common()],
        )
        return made

    return command


def list_parser(prog: str) -> argparse.ArgumentParser:
    """The parser of ``list`` on its own (``python -m tools.list_presets``)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="List presets: name, architecture, sizes, parameters and source.",
        epilog=JSON_SHAPES["list"],
        formatter_class=formatter,
        parents=[_common()],
    )
    _add_list_arguments(p)
    p.set_defaults(func=cmd_list)
    return p


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser of the whole command line."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Browse, check and import TransformerLens model presets.",
        epilog=(
            "Errors go to stderr; exit status 0 on success, 1 on an error (or an invalid\n"
            "file for validate), 2 on a usage error. Colour only on a terminal without\n"
            "NO_COLOR. Every command that prints data takes --json:\n\n"
            + "\n\n".join(JSON_SHAPES.values())
        ),
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    command = _subcommands(parser)

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
    p.add_argument(
        "path",
        metavar="PATH",
        help="a config.json, a folder holding one, a hub cache folder models--ORG--NAME, "
        "or an ORG/NAME in the hub cache",
    )
    p.add_argument(
        "--name",
        help="the model's name on the Hub, also the preset's name (default: the hub cache "
        "folder's ORG/NAME, else the file's _name_or_path; else the preset is named after "
        "the folder)",
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
    p.add_argument(
        "--tokenizer",
        action="store_true",
        help="also write a tokenizer, so that TransformerLens 4's boot_transformers(DIR, "
        "load_weights=False) needs nothing from the network: the model's own from the "
        "Hugging Face cache, else a byte-level stand-in (see the README)",
    )
    p.set_defaults(func=cmd_export_hf)

    add_plan_commands(command)
    return parser


def add_plan_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Register ``size`` and ``hooks``; ``command(name, help)`` makes a subcommand's parser.

    Their options are the quick reader's (:func:`~._plan.plan_options`), declared here
    with argparse's own words for a mistake: its "invalid choice", or the reader's message.
    """
    for name, help, func in (
        ("size", "memory and compute of a preset's model: will it fit?", cmd_size),
        ("hooks", "every hook run_with_cache fills, with its shape and bytes", cmd_hooks),
    ):
        p = command(name, help)
        p.add_argument("name", metavar="NAME", help="a preset name or alias, any case")
        for option in plan_options(name):
            keywords: dict[str, Any] = {"metavar": option.metavar, "help": option.help}
            if option.choices is not None:
                keywords["choices"] = option.choices
            elif option.read is not str:
                keywords["type"] = for_argparse(option.read)
            if option.many:
                keywords.update(nargs="+", action="extend")
            p.add_argument(option.flag, default=option.default, **keywords)
        if name == "hooks":
            p.add_argument(
                "glob", nargs="?", metavar="GLOB", help="only hooks matching this shell-style glob"
            )
        p.set_defaults(func=func)


def plan_parser(prog: str) -> argparse.ArgumentParser:
    """The command line's parser with ``size`` and ``hooks`` alone.

    What their arguments fall back to when the quick reader (``_plan``) leaves
    them: building every command's parser would cost these commands more than
    all their own work, and these two are defined exactly as :func:`build_parser`
    defines them, so every message is argparse's.
    """
    parser = argparse.ArgumentParser(prog=prog, formatter_class=formatter)
    add_plan_commands(_subcommands(parser))
    return parser
