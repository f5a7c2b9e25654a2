"""TransformerLens 4's ``TransformerBridge``: its plan, and the choice between the two models.

:class:`BridgePlan` answers :class:`~._model.ModelPlan`'s questions about what
``run_with_cache`` holds for a ``TransformerBridge``, laid out by :mod:`.bridge`;
:func:`plan_for` picks the plan of the ``model`` asked for. Pure Python, no torch.
"""

from __future__ import annotations

from ..errors import PresetArgumentError, PresetValidationError, did_you_mean
from ._model import (
    MAX_LAYERS,
    HookSpec,
    ModelPlan,
    TrainingState,
    _Globs,
    _globs,
    _Tally,
    dtype_key,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .layout import Layout

__all__ = ["MODELS", "BridgePlan", "plan_for"]

#: The models the planner describes: TransformerLens 3's ``HookedTransformer`` and
#: TransformerLens 4.3's ``TransformerBridge`` as ``boot_bridge`` builds it.
MODELS = ("hooked", "bridge")


def plan_for(cfg: Any, model: str = "hooked") -> ModelPlan:
    """The plan of ``cfg``'s model: a :class:`ModelPlan` or a :class:`BridgePlan`.

    >>> type(plan_for({"n_layers": 1, "d_model": 8, "n_ctx": 4, "d_head": 4, "d_vocab": 10,
    ...                "act_fn": "relu", "original_architecture": "GPT2LMHeadModel"},
    ...               "bridge")).__name__
    'BridgePlan'
    """
    if model == "hooked":
        return ModelPlan(cfg)
    if model == "bridge":
        return BridgePlan(cfg)
    raise PresetArgumentError(
        f"model must be one of {', '.join(map(repr, MODELS))}, got "
        + (
            f"{model!r}{did_you_mean(model, MODELS)}"
            if isinstance(model, str)
            else type(model).__name__
        )
    )


# Why the questions other than the cache's are not answered for the bridge.
_BRIDGE_NOT_COVERED = {
    "kv_cache_bytes": (
        "the bridge generates with transformers' own key-value cache, which keeps only the "
        "window of sliding-window layers"
    ),
    "forward_flops": (
        "the bridge runs transformers' forward pass with TransformerLens's attention and "
        "projections in between"
    ),
    "buffer_bytes": "transformers' buffers (rotary frequencies, position ids) are another set",
    "training_state": (
        "transformers' parameters are not HookedTransformer's (no zero biases, tied "
        "embeddings where the config ties them)"
    ),
}
_BRIDGE_NOT_COVERED["weight_bytes"] = _BRIDGE_NOT_COVERED["training_state"]


class BridgePlan(ModelPlan):
    """TransformerLens 4.3's ``TransformerBridge`` of a preset, as ``boot_bridge`` builds it.

    The same questions as :class:`ModelPlan` about what ``run_with_cache`` holds
    (:meth:`hook_specs`, :meth:`hook_shapes`, :meth:`activation_cache_bytes`), laid out
    by :mod:`.bridge`'s table for the architecture's adapter. ``dtype`` is the
    dtype the bridge is booted in (``boot_bridge(..., dtype=...)``). The other questions
    raise :class:`PresetValidationError` saying why they are not answered for the bridge.

    >>> plan = BridgePlan({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"})
    >>> len(plan.hook_specs(1, 8)), plan.activation_cache_bytes(1, 8)
    (493, 7704000)
    """

    def _read(self, cfg: Any) -> None:
        from .bridge import BridgeLayout

        self.layout = BridgeLayout(cfg)
        self.L = self.layout.L
        if self.L > MAX_LAYERS:
            raise PresetValidationError(
                f"the planner lays out at most {MAX_LAYERS} layers, got {self.L}",
                key="n_layers",
            )
        self._n_ctx = self.layout.n_ctx
        self.config_dtype = dtype_key(self.layout.c.get("dtype"))
        self.experts = 0  # no hook per expert: the bridge sees the router and the output
        self.per_token = 0
        self.gpt_oss = False
        self.pos = str(self.layout.c.get("positional_embedding_type"))
        self._tallies = {}

    @property
    def architecture(self) -> str:
        """The ``transformers`` architecture the bridge wraps, and TransformerLens's adapter."""
        return f"{self.layout.arch} ({self.layout.adapter.name})"

    def hook_specs(
        self,
        batch: int,
        seq: int,
        dtype: Any = None,
        *,
        names: str | Iterable[str] | None = None,
    ) -> list[HookSpec]:
        """See :func:`hook_specs`."""
        globs = _globs(names)
        dt = self._dtype(dtype)
        lay = self._layout(batch, seq, dt)
        if self.layout.rotary_varies:  # refuses a selection whose tensors vary by process
            self._tally(globs, dt)
        return self._specs(lay, globs)

    def _layout(self, batch: int, seq: int, dtype: str) -> Layout:
        B, S = self._sizes(batch, seq)
        self.layout.check_dtype(dtype)
        return self.layout.layout(B, S, dtype)

    def _tally(self, globs: _Globs | None, dtype: str) -> _Tally:
        tally = super()._tally(globs, dtype)
        self.layout.check_selection(tally.shared_top, tally.shared_layers)
        return tally

    def _converted(self, dtype: str) -> bool:
        return False

    def _not_covered(self, question: str) -> PresetValidationError:
        return PresetValidationError(
            f"{question} is not worked out for model='bridge': {_BRIDGE_NOT_COVERED[question]}",
            key="model",
        )

    def kv_cache_bytes(
        self, batch: int, seq: int, dtype: Any = None, *, include_mask: bool = False
    ) -> int:
        """Not answered for the bridge (raises :class:`PresetValidationError`)."""
        raise self._not_covered("kv_cache_bytes")

    def forward_flops(self, batch: int, seq: int, dtype: Any = None) -> int:
        """Not answered for the bridge (raises :class:`PresetValidationError`)."""
        raise self._not_covered("forward_flops")

    def buffer_bytes(self, seq: int | None = None, dtype: Any = None) -> int:
        """Not answered for the bridge (raises :class:`PresetValidationError`)."""
        raise self._not_covered("buffer_bytes")

    def training_state(self, optimizer: str = "adamw", dtype: Any = None) -> TrainingState:
        """Not answered for the bridge (raises :class:`PresetValidationError`)."""
        raise self._not_covered("training_state")

    def weight_bytes(self, dtype: Any = None) -> int:
        """Not answered for the bridge (raises :class:`PresetValidationError`)."""
        raise self._not_covered("weight_bytes")
