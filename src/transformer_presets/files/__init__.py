"""Preset files: where they are, what they say, and whether they changed.

- ``sources``: where preset files come from (explicit paths,
  ``TRANSFORMER_PRESETS_PATH``, the user folder, the bundled folder) and their order;
- ``reader``: one preset file read and checked (each table against ``fields.keys``),
  with the line and column of every value; ``_tomlscan`` finds those positions and
  defuses what ``tomllib`` cannot take;
- ``text``: a preset written as TOML text;
- ``fingerprint``: the stat signature of every preset file, for the cache.

May use ``fields``, ``common`` and ``errors``.
"""
