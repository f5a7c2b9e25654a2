"""Numbers about the bundled presets: how many, how much TOML, how much sharing.

Run from a checkout: ``python tools/zoo_stats.py``. It reads ``presets/*.toml``
as plain TOML (no import of the library), so it works before installation.
"""

from __future__ import annotations

import math
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["main", "zoo_stats"]

PRESET_DIR = Path(__file__).resolve().parents[1] / "presets"

_RESERVED = {"extends", "aliases", "abstract", "description", "unset", "none", "checkpoints"}


def _parents(table: dict[str, Any]) -> list[str]:
    extends = table.get("extends", [])
    return [extends] if isinstance(extends, str) else list(extends)


def _resolved(tables: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """The values a preset ends up with (extends left to right, unset, none, own keys)."""
    values: dict[str, Any] = {}
    table = tables[name]
    for parent in _parents(table):
        if parent in tables and parent != name:
            values.update(_resolved(tables, parent))
    for key in table.get("unset", []):
        values.pop(key, None)
    for key in table.get("none", []):
        values[key] = None
    values.update({k: v for k, v in table.items() if k not in _RESERVED})
    return values


def _flat_lines(table: dict[str, Any], values: dict[str, Any]) -> int:
    """Lines for one preset written out alone: header, names, every value, a blank line.

    Long lists take one line per 8 items plus their brackets, as the zoo files write them.
    """
    lines = 2 + sum(1 for key in ("aliases", "description") if key in table)
    for value in values.values():
        lines += math.ceil(len(value) / 8) + 2 if isinstance(value, list) and len(value) > 8 else 1
    return lines


def zoo_stats(preset_dir: Path = PRESET_DIR) -> dict[str, Any]:
    """Counts for the preset files in ``preset_dir``.

    ``flat_lines`` is what one flat file would need instead: every concrete preset
    written out alone with every value it resolves to (no bases, no overlays).

    >>> zoo_stats()["concrete"] >= 246
    True
    """
    tables: dict[str, dict[str, Any]] = {}
    family_of: dict[str, str] = {}
    lines = code_lines = 0
    for path in sorted(preset_dir.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        lines += len(text.splitlines())
        code_lines += sum(
            1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
        )
        for name, table in tomllib.loads(text).items():
            tables[name] = table
            family_of[name] = path.stem

    def ancestors(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found: set[str] = set()
        for parent in _parents(tables.get(name, {})):
            if parent in tables and parent not in seen:
                found |= {parent} | ancestors(parent, seen | {name})
        return found

    concrete = [n for n, t in tables.items() if not t.get("abstract")]
    abstract = [n for n, t in tables.items() if t.get("abstract")]
    extends_base = [n for n in concrete if any(tables[a].get("abstract") for a in ancestors(n))]
    depth = Counter(len(ancestors(n)) for n in concrete)
    per_family: dict[str, dict[str, int]] = {}
    for name, family in family_of.items():
        row = per_family.setdefault(family, {"concrete": 0, "abstract": 0})
        row["abstract" if tables[name].get("abstract") else "concrete"] += 1
    return {
        "concrete": len(concrete),
        "abstract": len(abstract),
        "files": len(per_family),
        "lines": lines,
        "code_lines": code_lines,
        "extends_family_base": len(extends_base),
        "flat_lines": sum(_flat_lines(tables[n], _resolved(tables, n)) for n in concrete),
        "ancestors_per_concrete": dict(sorted(depth.items())),
        "per_family": dict(sorted(per_family.items())),
    }


def main() -> int:
    """Print the numbers as a small report."""
    s = zoo_stats()
    print(f"concrete presets:             {s['concrete']}")
    print(f"abstract presets:             {s['abstract']}")
    print(f"files:                        {s['files']}")
    print(f"lines of bundled TOML:        {s['lines']} ({s['code_lines']} not blank or comment)")
    print(f"concrete extending a base:    {s['extends_family_base']} of {s['concrete']}")
    print(f"lines a flat file would need: {s['flat_lines']}")
    depths = ", ".join(f"{k}: {v}" for k, v in s["ancestors_per_concrete"].items())
    print(f"ancestors per concrete:       {depths}")
    print()
    print(f"{'family':<16}{'concrete':>9}{'abstract':>9}")
    for family, row in s["per_family"].items():
        print(f"{family:<16}{row['concrete']:>9}{row['abstract']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
