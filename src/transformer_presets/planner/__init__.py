"""Will it fit? Memory and compute, worked out from a preset's values without building it.

The faces (what other subpackages use):

- ``hooked``: the public functions over TransformerLens 3.x's ``HookedTransformer``: the
  hooks ``run_with_cache`` fills, their shapes and bytes, weights, buffers, the KV cache,
  FLOPs and training state (``model="hooked"``, the default, or ``model="bridge"``); it
  re-exports every public name of the planner (``ModelPlan``, ``BridgePlan``,
  ``plan_for``, ``HookSpec``, ...);
- ``bridge_plan``: ``BridgePlan``, TransformerLens 4's ``TransformerBridge`` as
  ``boot_bridge`` builds it, and ``plan_for``, which picks the plan of a model;
- ``bridge``: ``BridgeLayout``, a preset read against its TransformerLens adapter and
  laid out;
- ``bridge_params``: the bridge's parameters and buffers (``_bridge_tables``: one table
  of tensors per ``transformers`` architecture; ``_bridge_tensors``: laid out for a
  preset), its weights, buffers, key-value cache, FLOPs and training state;
- ``layout``: what both fill: the parts of a model (once, or once per layer of a
  stack, in a few kinds of layer) and, for each hook, the tensor it holds, so that
  a selection is counted, not listed, and a tensor under two names is counted once.

Their parts (private to the planner):

- ``_model``: ``ModelPlan``, one ``HookedTransformer`` read once and every question of it,
  made of ``_hooks`` (the hooks laid out and listed, or counted without listing them) and
  ``_structure`` (the config read and checked, and the weights, buffers, KV cache, FLOPs
  and training state that follow from it);
- ``_values``: the bounds, the dtype sizes, the readers of the arguments (dtypes, sizes,
  optimizers, globs over hook names) and the answers (``HookSpec``, ``TrainingState``);
- ``_bridge_adapters``: one table per TransformerLens 4.3 adapter, written in the row
  language of ``_bridge_rows``.

Pure Python, no torch. May use ``fields``, ``common`` and ``errors``; the config's
planner methods (``config``) and the command line's ``size`` and ``hooks`` use it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _hooked() -> Any:
    from importlib import import_module

    return import_module(f"{__name__}.hooked")


def __getattr__(name: str) -> Any:
    """The public names of :mod:`.hooked` (``hook_shapes``, ``ModelPlan``, ...), also
    here, as before the planner was a folder, loaded on first use."""
    hooked = _hooked()
    if name in hooked.__all__:
        return getattr(hooked, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_hooked().__all__})
