"""Will it fit? Memory and compute, worked out from a preset's values without building it.

- ``hooked``: TransformerLens 3.x's ``HookedTransformer``: the hooks
  ``run_with_cache`` fills, their shapes and bytes, weights, buffers, the KV cache,
  FLOPs and training state (``model="hooked"``, the default);
- ``bridge``: TransformerLens 4's ``TransformerBridge`` as ``boot_bridge`` builds it
  (``model="bridge"``): one table per TransformerLens adapter of the hooks its
  ``run_with_cache`` fills;
- ``bridge_params``: the bridge's parameters and buffers (``_bridge_tables``: one table
  of tensors per ``transformers`` architecture; ``_bridge_tensors``: laid out for a
  preset), its weights, buffers, key-value cache, FLOPs and training state;
- ``layout``: what both fill: the parts of a model (once, or once per layer of a
  stack, in a few kinds of layer) and, for each hook, the tensor it holds, so that
  a selection is counted, not listed, and a tensor under two names is counted once.

Pure Python, no torch. May use ``fields``, ``common`` and ``errors``; the config's
planner methods (``config``) and the command line's ``size`` and ``hooks`` use it.
"""
