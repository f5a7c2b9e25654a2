"""Every preset of a set of sources, resolved: names, inheritance, values and origins.

- ``build``: the catalog of a set of sources, indexed by name and alias;
- ``resolve``: inheritance, merged iteratively over ``extends`` chains, with where
  each value came from, or the error that stops one preset;
- ``entries``: one resolved preset as plain data (what the cache stores), and its checks;
- ``records``: the records handed back (``PresetInfo``, ``FieldOrigin``, ``Checkpoints``);
- ``types``: the shapes of entries and summary rows (TypedDicts).

May use ``files``, ``fields``, ``common`` and ``errors``.
"""
