"""``ModelPlan``: one ``HookedTransformer``'s structure, read once, and every question of it.

The parts it is made of: :mod:`._structure` (the config read and checked),
:mod:`._hooks` (the hooks laid out and listed, or counted without listing them) and
the resources of :mod:`._structure` (weights, buffers, the KV cache, FLOPs and
training). Pure Python, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..fields.rules import check_and_derive
from ._hooks import _Counting
from ._structure import _Resources
from ._values import _globs, _optimizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ._values import HookSpec, Names, TrainingState


class ModelPlan(_Counting, _Resources):
    """One ``HookedTransformer``'s structure, read once: every number of this module.

    ``ModelPlan(cfg)`` takes what the functions take (a config, or a mapping of
    fields); its methods are the functions without ``cfg``, for asking many questions
    of one model. :meth:`from_resolved` skips deriving fields again.

    >>> plan = ModelPlan({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16,
    ...                   "d_vocab": 100, "act_fn": "gelu"})
    >>> plan.kv_cache_bytes(1, 32), plan.kv_cache_bytes(1, 32, "bfloat16")
    (32768, 16384)
    """

    def __init__(self, cfg: Any) -> None:
        if isinstance(cfg, Mapping):
            # A mapping leaves defaults and derived fields out: derive them as the
            # class does (which also checks the values).
            cfg = {**cfg, **check_and_derive(cfg)}
        self._read(cfg)

    @classmethod
    def from_resolved(cls, values: Mapping[str, Any], derived: Mapping[str, Any]) -> ModelPlan:
        """A plan from a preset's resolved values and the fields derived from them.

        ``derived`` is what ``check_and_derive(values)`` returned, which the registry
        keeps with every preset: the command line plans from those without importing
        the config class (fields left out take the class defaults here too).

        >>> ModelPlan.from_resolved({"n_layers": 1, "d_model": 8, "n_ctx": 4, "d_head": 4,
        ...     "d_vocab": 10, "act_fn": "relu"}, {"n_heads": 2, "d_mlp": 32}).forward_flops(1, 4)
        7296
        """
        plan = cls.__new__(cls)
        plan._read({**values, **derived})
        return plan

    # -- the questions --------------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        """The model's context: the longest ``seq`` it takes."""
        return self._n_ctx

    @property
    def dtype(self) -> str:
        """The config's dtype, by its canonical name (``"float32"``)."""
        return self.config_dtype

    def hook_specs(
        self, batch: int, seq: int, dtype: Any = None, *, names: Names = None
    ) -> list[HookSpec]:
        """See :func:`~.hooked.hook_specs`."""
        globs = _globs(names)
        dt = self._dtype(dtype)
        lay = self._layout(batch, seq, dt)
        self._check_listed(globs, dt)
        return self._specs(lay, globs)

    def hook_shapes(
        self, batch: int, seq: int, dtype: Any = None, *, names: Names = None
    ) -> dict[str, tuple[int, ...]]:
        """See :func:`~.hooked.hook_shapes`."""
        return {s.name: s.shape for s in self.hook_specs(batch, seq, dtype, names=names)}

    def activation_cache_bytes(
        self, batch: int, seq: int, names: Names = None, dtype: Any = None
    ) -> int:
        """See :func:`~.hooked.activation_cache_bytes`."""
        return self._selected(batch, (seq,), names, dtype)[0][1]

    def activation_curve(
        self, batch: int, seqs: Iterable[int], names: Names = None, dtype: Any = None
    ) -> list[int]:
        """:meth:`activation_cache_bytes` at each of ``seqs``, the hooks selected once.

        Neither lays the hooks out layer by layer: which tensors the selection holds is
        counted once for the model (for all hooks, or globs no layer's hook can match,
        without visiting the layers), then priced at each size.

        >>> plan = ModelPlan({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16,
        ...                   "d_vocab": 100, "act_fn": "gelu"})
        >>> plan.activation_curve(1, [8, 16, 32], "blocks.*.hook_resid_post")
        [4096, 8192, 16384]
        """
        return [held for _, held, _ in self._selected(batch, seqs, names, dtype)]

    def hook_count(self, batch: int, seq: int, names: Names = None, dtype: Any = None) -> int:
        """How many hooks :meth:`hook_specs` lists, without listing them.

        >>> ModelPlan({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16,
        ...            "d_vocab": 100, "act_fn": "gelu"}).hook_count(1, 8, "blocks.*")
        34
        """
        return self._selected(batch, (seq,), names, dtype)[0][0]

    def listed_bytes(self, batch: int, seq: int, names: Names = None, dtype: Any = None) -> int:
        """The bytes of every hook :meth:`hook_specs` lists, a tensor under two names
        counted under each (what adding up the sizes of the cache's values gives), without
        listing them.

        >>> plan = ModelPlan({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16,
        ...                   "d_vocab": 100, "act_fn": "gelu"})
        >>> plan.listed_bytes(1, 8, "*resid*"), plan.activation_cache_bytes(1, 8, "*resid*")
        (12288, 10240)
        """
        return self._selected(batch, (seq,), names, dtype)[0][2]

    def _selected(
        self, batch: int, seqs: Iterable[int], names: Names, dtype: Any
    ) -> list[tuple[int, int, int]]:
        """(hooks, bytes held, bytes listed) of the selection ``names`` at each of ``seqs``:
        counted once (see :meth:`_tally`), then priced at each size."""
        globs = _globs(names)
        dt = self._dtype(dtype)
        tally = self._tally(globs, dt)
        return [self._priced(tally, self._layout(batch, seq, dt)) for seq in seqs]

    def kv_cache_bytes(
        self, batch: int, seq: int, dtype: Any = None, *, include_mask: bool = False
    ) -> int:
        """See :func:`~.hooked.kv_cache_bytes`."""
        return self._kv_cache(batch, seq, self._dtype(dtype), include_mask)

    def forward_flops(self, batch: int, seq: int, dtype: Any = None) -> int:
        """See :func:`~.hooked.forward_flops`."""
        self._dtype(dtype)
        return self._flops(batch, seq)

    def buffer_bytes(self, seq: int | None = None, dtype: Any = None) -> int:
        """See :func:`~.hooked.buffer_bytes`."""
        return self._buffers(seq, self._dtype(dtype))

    def training_state(self, optimizer: str = "adamw", dtype: Any = None) -> TrainingState:
        """See :func:`~.hooked.training_state`."""
        return self._training_state(_optimizer(optimizer), self._dtype(dtype))

    def weight_bytes(self, dtype: Any = None) -> int:
        """The bytes of the model's parameters, each in the dtype TransformerLens gives it.

        That is ``total_params()`` elements in ``dtype``, but for xIELU's float32
        scalars (see :func:`~.hooked.training_state` for mixtures of experts).
        """
        return self.training_state("none", dtype).weights
