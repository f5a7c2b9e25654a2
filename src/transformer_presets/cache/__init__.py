"""The cache of resolved presets in the user data folder.

- ``store``: the entry points (``load_or_build`` for the registry, ``cache_info``,
  ``clear_cache``, ``cache_dir``, ``cache_enabled``) and whether a folder may hold the cache;
- ``_lock``: loading a set of sources' generation, or building one under the build lock;
- ``_manifest``: what a manifest must hold, the fingerprint it records (the sources and
  the code that resolves them), and re-dating it;
- ``_generation``: ``CachedCatalog``, one generation read lazily, each file checked before
  use, rebuilt from the sources if damaged;
- ``_writer``: writing a generation, then dropping older ones and bounding the cache;
- ``_layout``: the folders, file names and limits on disk; reading and writing one file;
- ``_report``: the ``STATS`` counters and the one ``CacheWarning`` a process shows;
- ``_files``: the bytes of a cache file, checked before ``marshal`` decodes them.

Other subpackages use ``store`` alone. May use ``catalog``, ``files``, ``common`` and
``errors``.
"""
