"""Finding, resolving, explaining and building presets: the library's main verbs.

- ``registry``: ``PresetRegistry`` and the module-level ``get_preset``,
  ``resolve_preset``, ``explain_preset``, ``list_presets`` (a default registry built
  from the environment);
- ``validation``: ``validate_files``, every error of preset files not yet installed;
- ``user_presets``: ``save_user_preset``, a preset written into the user folder.

May use ``cache``, ``catalog``, ``files``, ``config``, ``fields``, ``common`` and
``errors``.
"""
