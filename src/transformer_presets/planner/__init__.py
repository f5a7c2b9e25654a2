"""Will it fit? Memory and compute, worked out from a preset's values without building it.

- ``hooked``: TransformerLens 3.x's ``HookedTransformer``: the hooks
  ``run_with_cache`` fills, their shapes and bytes, weights, buffers, the KV cache,
  FLOPs and training state.

Pure Python, no torch. May use ``fields``, ``common`` and ``errors``; the config's
planner methods (``config``) and the command line's ``size`` and ``hooks`` use it.
"""
