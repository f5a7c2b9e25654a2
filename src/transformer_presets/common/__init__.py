"""What every part of the package shares: small, pure and at the bottom.

- ``plain``: small checks on plain values (exact integers, same value and type);
- ``globs``: shell-style globs over names, without ``re`` where they allow it;
- ``env``: the names of the environment variables the package reads;
- ``version``: the package's version;
- ``dtypes``: dtype names and their sizes in bytes, without torch;
- ``fileio``: reading a file with limits (regular files only, size-checked first);
- ``filewrite``: writing a file whole or not at all (the one writer of every file the
  package writes), or into a FIFO or device as it is;
- ``dirs``: the user's config and data folders.

May use only ``transformer_presets.errors`` and the standard library (never torch or
numpy); everything else may use it.
"""
