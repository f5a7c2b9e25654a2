"""Finding, resolving, explaining and building presets: the library's main verbs.

- ``registry``: ``PresetRegistry`` (the catalog of its sources, read again when
  the user's files change; lookups; listing with patterns, filters and orders)
  and the module-level ``get_preset``, ``resolve_preset``, ``explain_preset``,
  ``list_presets`` over a default registry built from the environment. It is
  the one module here that a warm ``list`` imports; it imports the two below
  on first use:
- ``_loading``: the checks a preset passes before it loads, and ``get``'s
  building of a config (overrides, checkpoints, the memo of built configs);
- ``_explaining``: ``explain``'s value and origin of every field, and the
  ``PresetInfo`` and ``Checkpoints`` records;
- ``validation``: ``validate_files``, every error of preset files not yet installed;
- ``user_presets``: ``save_user_preset``, a preset written into the user folder.

May use ``cache``, ``catalog``, ``files``, ``config``, ``fields``, ``common`` and
``errors``.
"""
