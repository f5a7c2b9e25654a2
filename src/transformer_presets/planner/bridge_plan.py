"""TransformerLens 4's ``TransformerBridge``: its plan, and the choice between the two models.

:class:`BridgePlan` answers :class:`~._model.ModelPlan`'s questions for a
``TransformerBridge``: what ``run_with_cache`` holds, laid out by :mod:`.bridge`, and its
weights, buffers, key-value cache, FLOPs and training state, worked out by
:mod:`.bridge_params`; :func:`plan_for` picks the plan of the ``model`` asked for. Pure
Python, no torch.
"""

from __future__ import annotations

from ..errors import PresetArgumentError, did_you_mean
from ._hooks import _Tally
from ._model import ModelPlan
from ._values import TrainingState, _check_layers, _Globs, _size_arg, dtype_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .bridge_params import BridgeParams
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


class BridgePlan(ModelPlan):
    """TransformerLens 4.3's ``TransformerBridge`` of a preset, as ``boot_bridge`` builds it.

    The same questions as :class:`ModelPlan`: what ``run_with_cache`` holds
    (:meth:`hook_specs`, :meth:`hook_shapes`, :meth:`activation_cache_bytes`), laid out
    by :mod:`.bridge`'s table for the architecture's adapter, and the bridge's weights,
    buffers, key-value cache, FLOPs and training state (:meth:`weight_bytes`,
    :meth:`buffer_bytes`, :meth:`kv_cache_bytes`, :meth:`forward_flops`,
    :meth:`training_state`), worked out by :mod:`.bridge_params` (:attr:`params`) from
    the tensors of the ``transformers`` model it wraps. ``dtype`` is the dtype the bridge
    is booted in (``boot_bridge(..., dtype=...)``). Where the bridge's answer cannot be
    predicted (TransformerLens 4.3 keeps no key-value cache for most architectures, and
    cannot run OLMo in half precision), a :class:`PresetValidationError` names the key
    and says why.

    >>> plan = BridgePlan({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...     "d_vocab": 50257, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"})
    >>> len(plan.hook_specs(1, 8)), plan.activation_cache_bytes(1, 8)
    (493, 7704000)
    >>> plan.weight_bytes(), plan.total_params(), plan.forward_flops(1, 8)
    (652148736, 184298496, 1978871808)
    """

    def _read(self, cfg: Any) -> None:
        from .bridge import BridgeLayout

        self.layout = BridgeLayout(cfg)
        self.L = _check_layers(self.layout.L)
        self._n_ctx = self.layout.n_ctx
        self.config_dtype = dtype_key(self.layout.c.get("dtype"))
        self.experts = 0  # no hook per expert: the bridge sees the router and the output
        self.per_token = 0
        self.gpt_oss = False
        self.pos = str(self.layout.c.get("positional_embedding_type"))
        self._tallies = {}
        self._params: BridgeParams | None = None

    @property
    def params(self) -> BridgeParams:
        """The bridge's parameters and buffers (:class:`~.bridge_params.BridgeParams`),
        read when first asked: the hook questions never need them."""
        if self._params is None:
            from .bridge_params import BridgeParams

            self._params = BridgeParams.from_layout(self.layout)
        return self._params

    @property
    def architecture(self) -> str:
        """The ``transformers`` architecture the bridge wraps, and TransformerLens's adapter."""
        return f"{self.layout.arch} ({self.layout.adapter.name})"

    def _check_listed(self, globs: _Globs | None, dtype: str) -> None:
        if self.layout.rotary_varies:  # refuses a selection whose tensors vary by process
            self._tally(globs, dtype)

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

    def total_params(self) -> int:
        """``sum(p.numel() for p in bridge.parameters())``: see
        :func:`~.bridge_params.bridge_total_params`."""
        return self.params.total_params()

    def kv_cache_bytes(
        self, batch: int, seq: int, dtype: Any = None, *, include_mask: bool = False
    ) -> int:
        """The keys and values the bridge keeps while generating, after ``seq`` tokens
        (:func:`~.bridge_params.bridge_kv_cache_bytes`: a :class:`PresetValidationError`,
        key ``model``, for the architectures TransformerLens 4.3 keeps none for).
        transformers' cache holds no attention mask: ``include_mask`` adds nothing."""
        return self.params.kv_cache_bytes(batch, seq, self._dtype(dtype))

    def forward_flops(self, batch: int, seq: int, dtype: Any = None) -> int:
        """See :func:`~.bridge_params.bridge_forward_flops`."""
        return self.params.forward_flops(batch, seq, self._dtype(dtype))

    def buffer_bytes(self, seq: int | None = None, dtype: Any = None) -> int:
        """The bridge's buffers (:func:`~.bridge_params.bridge_buffer_bytes`): the same
        after a forward pass over ``seq`` tokens as built (``seq`` is only checked)."""
        if seq is not None:
            _size_arg(seq, "seq", self._n_ctx)
        return self.params.buffer_bytes(self._dtype(dtype))

    def training_state(self, optimizer: str = "adamw", dtype: Any = None) -> TrainingState:
        """See :func:`~.bridge_params.bridge_training_state`."""
        return self.params.training_state(optimizer, self._dtype(dtype))

    def weight_bytes(self, dtype: Any = None) -> int:
        """The bytes the parameters' storage holds (a view of a fused matrix counted in
        it): see :func:`~.bridge_params.bridge_weight_bytes`."""
        return self.params.weight_bytes(self._dtype(dtype))
