"""``python -m tools.list_presets [PATTERN...]``: the ``list`` command, from a checkout.

It takes the same arguments as ``transformer-presets list`` and works in a
fresh clone without installing: when the package cannot be imported, the
checkout's ``src`` folder is put on ``sys.path`` first.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

__all__ = ["main"]


def _ensure_importable() -> None:
    if find_spec("transformer_presets") is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def main(argv: list[str] | None = None) -> int:
    """List presets; see ``python -m tools.list_presets --help``."""
    _ensure_importable()
    from transformer_presets.cli import list_main

    return list_main(argv, prog="python -m tools.list_presets")


if __name__ == "__main__":
    sys.exit(main())
