"""The Hugging Face bridges: a model's ``config.json`` to preset values, and back.

Holds ``_hub_cache`` (finding a model's ``config.json`` in the Hugging Face hub cache,
offline).

May use the package's lower layers (``errors``, ``_env``, ``_plain``, ``preset_keys``,
``field_rules``, ``config``, and ``registry`` to look a preset up by name); never
``transformers`` or torch. Nothing below the command line imports it.
"""
