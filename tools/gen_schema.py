"""``python -m tools.gen_schema``: rewrite the JSON Schema of preset files shipped in the package.

The schema is generated from the loader's field table
(``transformer_presets.json_schema``); this writes it to
``src/transformer_presets/preset.schema.json``. ``--check`` writes nothing and
exits 1 if the file is out of date (``tests/test_json_schema.py`` checks the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from transformer_presets.json_schema import schema_text

TARGET = Path(__file__).resolve().parents[1] / "src" / "transformer_presets" / "preset.schema.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gen_schema", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that the file is current")
    args = parser.parse_args(argv)
    text = schema_text()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if args.check:
        if current != text:
            print(f"{TARGET} is out of date: run python -m tools.gen_schema", file=sys.stderr)
            return 1
        return 0
    if current != text:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
