"""Scripts run from a checkout with ``python -m tools.<name>``."""
