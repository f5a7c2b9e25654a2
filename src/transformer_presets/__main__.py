"""``python -m transformer_presets``: the same command line as ``transformer-presets``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m transformer_presets"))
