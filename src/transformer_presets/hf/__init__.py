"""The Hugging Face bridges: a model's ``config.json`` to preset values, and back.

Holds :mod:`.importing` (``from_hf_config``: a ``config.json`` read offline into the
values TransformerLens 3.9 builds), :mod:`.exporting` (``to_hf_config``: a preset as
the ``config.json`` its architecture's ``transformers`` class reads), :mod:`.extending`
(what a preset that extends another must say, for ``import-hf --extends``), and
``architectures/``: one module per architecture family, both directions side by side.
What the families share lives once: ``_json`` (the file, with limits), ``hub_cache``
(finding it in the hub cache, and reading what the cache holds), ``_read`` (typed keys with the class's defaults),
``_write`` (the export's checks), ``_rope`` (RoPE both ways), ``_traits`` (what an
architecture always has) and ``_family`` (the registration record and the common
sizes as each configuration class spells them), with ``errors``.

``model_folder`` finds the tokenizer and weight files beside a ``config.json`` in the
hub cache, and writes the stand-in tokenizer (for ``export-hf --tokenizer`` and
TransformerLens 4's ``boot_bridge``).

May use ``registry`` (to look a preset up by name), ``config``, ``fields``, ``common``
and ``errors``; never ``transformers`` or torch.
"""
