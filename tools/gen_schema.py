"""``python -m tools.gen_schema``: rewrite the files generated from the config class.

- ``src/transformer_presets/preset.schema.json``: the JSON Schema of preset files,
  from the loader's field table (``transformer_presets.fields.schema``);
- ``src/transformer_presets/fields/table.py``: each field's kinds of value and
  default as plain data, so that the rules (``field_rules``), the cache and the
  planner can check values without importing the class.

``--check`` writes nothing and exits 1 if a file is out of date
(``tests/test_json_schema.py`` and ``tests/test_config.py`` check the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from transformer_presets.common.filewrite import write_file
from transformer_presets.config.hooked import field_table
from transformer_presets.fields.schema import schema_text

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "transformer_presets"
TARGET = PACKAGE / "preset.schema.json"
TABLE = PACKAGE / "fields" / "table.py"

_TABLE_HEAD = '''"""``HookedTransformerConfig``'s fields as plain data (generated: do not edit).

Written by ``python -m tools.gen_schema`` from the class's annotations and
defaults (``config.field_table()``), so that the rules, the cache and the planner
can read them without importing the class; ``tests/test_config.py`` holds the
two equal.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

'''


def field_table_text() -> str:
    """The text of ``fields/table.py`` for the class as it is.

    One row per field (its name, its kinds, and its default if it has one), and
    the two dicts built from the rows once, at import.
    """
    kinds, defaults = field_table()

    def quoted(value: object) -> str:
        return repr(value).replace("'", '"')

    def row(name: str) -> str:
        cells = [quoted(name), quoted(kinds[name])]
        if name in defaults:
            cells.append(quoted(defaults[name]))
        return f"    ({', '.join(cells)}),"

    lines = [
        "# Each field, in declaration order: its name, its kinds of value, and its default",
        "# when it has one.",
        "_FIELDS: tuple[tuple[Any, ...], ...] = (",
        *(row(name) for name in kinds),
        ")",
        "",
        "#: Each field, in declaration order, with its kinds of value.",
        "FIELD_KINDS: dict[str, tuple[str, ...]] = {f[0]: f[1] for f in _FIELDS}",
        "",
        "#: Every optional field's default (``dtype`` by name).",
        "FIELD_DEFAULTS: dict[str, Any] = {f[0]: f[2] for f in _FIELDS if len(f) > 2}",
        "",
    ]
    return _TABLE_HEAD + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gen_schema", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="only check that the files are current"
    )
    args = parser.parse_args(argv)
    stale = []
    # The table first: the schema is generated through the rules that read it.
    for target, text in ((TABLE, field_table_text), (TARGET, schema_text)):
        wanted = text()
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == wanted:
            continue
        if args.check:
            stale.append(target)
            continue
        # Whole or not at all: a torn fields/table.py would break every import of the package.
        write_file(str(target), wanted.encode("utf-8"))
        print(f"wrote {target}")
    for target in stale:
        print(f"{target} is out of date: run python -m tools.gen_schema", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
