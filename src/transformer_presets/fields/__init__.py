"""``HookedTransformerConfig``'s fields as data, and every rule about their values.

- ``table``: each field's kinds and default (generated from the class by
  ``python -m tools.gen_schema``; a test holds it equal to the class);
- ``rules``: kinds, bounds and choices, and the derivations and checks the class's
  ``__post_init__`` runs, on plain values;
- ``params``: the parameter counts the values imply (the rules bound the total);
- ``keys``: what a preset table may hold (fields and the registry's own keys);
- ``docs``: one line per field;
- ``schema``: the JSON Schema of preset files, from the above.

So that the registry, the cache and the planner check values without building the
class (or importing torch). May use ``common`` and ``errors``.
"""
