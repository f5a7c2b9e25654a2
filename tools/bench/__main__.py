"""``python -m tools.bench``: the command line of :mod:`tools.bench.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
