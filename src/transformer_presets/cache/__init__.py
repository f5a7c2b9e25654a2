"""The cache of resolved presets in the user data folder.

- ``store``: one generation per set of sources, found by their fingerprint; the lock
  around building one; loading, checking and pruning;
- ``files``: the bytes of a cache file, checked before ``marshal`` decodes them.

May use ``catalog``, ``files``, ``common`` and ``errors``.
"""
