"""TransformerLens 4: every preset reaches a ``TransformerBridge``, or says why not.

- ``boot``: ``to_bridge_config`` (TransformerLens 4's ``TransformerBridgeConfig`` for
  ``TransformerBridge.boot_native``) and ``boot_bridge`` (the preset's real
  architecture through ``transformers``, offline), with the building itself;
- ``fields``: what the native model makes of each of the class's fields;
- ``errors``: ``BridgeError``.

Behind ``boot``, what runs before TransformerLens is imported: ``_preset`` (the
preset's values, and the TransformerLens installed), ``_native`` (the native
config's arguments, or the field that stops it), ``_inputs`` (what ``boot_bridge``
builds from: the ``config.json``, dtype, device and cached weights) and ``_memory``
(whether the machine holds the weights).

The only part of the package that imports TransformerLens or ``transformers`` (in
``boot`` alone), and only when one of its functions is called. May use ``hf``,
``registry``, ``config``, ``planner``, ``fields``, ``common`` and ``errors``.
"""
