"""TransformerLens 4: every preset reaches a ``TransformerBridge``, or says why not.

- ``boot``: ``to_bridge_config`` (TransformerLens 4's ``TransformerBridgeConfig`` for
  ``TransformerBridge.boot_native``) and ``boot_bridge`` (the preset's real
  architecture through ``transformers``, offline);
- ``fields``: what the native model makes of each of the class's fields.

The only part of the package that imports TransformerLens or ``transformers``, and
only when one of its functions is called. May use ``hf``, ``registry``, ``config``,
``planner``, ``fields``, ``common`` and ``errors``.
"""
