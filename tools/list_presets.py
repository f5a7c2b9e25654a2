"""``python -m tools.list_presets [PATTERN...]``: the ``list`` command, from a checkout.

It takes the same arguments as ``transformer-presets list`` and works in a
fresh clone without installing: when the package cannot be imported, the
checkout's ``src`` folder is put on ``sys.path`` first.
"""

from __future__ import annotations

import os
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """List presets; see ``python -m tools.list_presets --help``."""
    # Try the import rather than asking importlib.util.find_spec first: this
    # command's start-up time is a target, and importlib.util is not free.
    try:
        from transformer_presets.cli import list_main
    except ModuleNotFoundError as exc:
        if exc.name != "transformer_presets":
            raise
        checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        sys.path.insert(0, os.path.join(checkout, "src"))
        from transformer_presets.cli import list_main

    return list_main(argv, prog="python -m tools.list_presets")


if __name__ == "__main__":
    sys.exit(main())
