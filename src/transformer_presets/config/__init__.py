"""TransformerLens 3.x's configuration class, ``HookedTransformerConfig`` (``hooked``).

With what it builds on: ``activations`` (the activation functions, which import
torch when asked for) and ``device`` (the device a config will hold, predicted
without importing torch when it can be). Building a config imports torch; importing
these modules does not. May use ``planner`` (for the config's planner methods),
``fields``, ``common`` and ``errors``.
"""
