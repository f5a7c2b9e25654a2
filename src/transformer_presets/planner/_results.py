"""What the planner answers with: a cached tensor (:class:`HookSpec`), the bytes of
training (:class:`TrainingState`), and the bytes a list of tensors holds."""

from __future__ import annotations

from ._args import shape_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


class _Answer:
    """An answer of the planner: plain data (:meth:`to_dict`), equal to another answer
    of its kind with the same data, and mutable, so unhashable, like a dict."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError  # each kind of answer says what its data are

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _call_text(kind: str, *args: Any, **kwargs: Any) -> str:
    """``kind(arg, ..., key=value, ...)`` in reprs, the keywords that are None left out."""
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items() if v is not None]
    return f"{kind}({', '.join(shown)})"


class HookSpec(_Answer):
    """One activation that ``run_with_cache`` stores: its hook's name, shape and dtype.

    ``nbytes`` is the size of this tensor. ``same_as`` names an earlier hook holding the
    very same tensor (``blocks.1.hook_resid_pre`` is ``blocks.0.hook_resid_post``), or is
    None; the cache holds such a tensor once, and :func:`~.hooked.activation_cache_bytes` counts
    it once. ``storage_bytes`` is set where the tensor is a view of memory of another
    size (a TransformerBridge's position embedding broadcast over the batch, or a slice
    of a model's buffer, which the cache adds nothing to): the memory it keeps alive.

    >>> HookSpec("hook_embed", (1, 4, 8), "float32")
    HookSpec('hook_embed', (1, 4, 8), 'float32', nbytes=128)
    """

    __slots__ = ("dtype", "name", "nbytes", "same_as", "shape", "storage_bytes")

    def __init__(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: str,
        same_as: str | None = None,
        storage_bytes: int | None = None,
    ) -> None:
        self.name, self.shape, self.dtype = name, shape, dtype
        self.nbytes = shape_bytes(shape, dtype)
        self.same_as, self.storage_bytes = same_as, storage_bytes

    def __repr__(self) -> str:
        return _call_text(
            "HookSpec",
            self.name,
            self.shape,
            self.dtype,
            nbytes=self.nbytes,
            same_as=self.same_as,
            storage_bytes=self.storage_bytes,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"name", "shape": [...], "dtype", "bytes", "same_as"}``, and
        ``"storage_bytes"`` where it is set."""
        out = {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "bytes": self.nbytes,
            "same_as": self.same_as,
        }
        if self.storage_bytes is not None:
            out["storage_bytes"] = self.storage_bytes
        return out


class TrainingState(_Answer):
    """The bytes a model holds during training, by kind (see :func:`~.hooked.training_state`).

    >>> TrainingState(weights=8, gradients=8, optimizer=20).total
    36
    """

    __slots__ = ("gradients", "optimizer", "total", "weights")

    def __init__(self, *, weights: int, gradients: int, optimizer: int) -> None:
        self.weights = weights
        self.gradients = gradients
        self.optimizer = optimizer
        self.total = weights + gradients + optimizer

    def __repr__(self) -> str:
        return _call_text("TrainingState", **self.to_dict())

    def to_dict(self) -> dict[str, int]:
        """``{"weights", "gradients", "optimizer", "total"}`` in bytes."""
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "total": self.total,
        }


def held_bytes(specs: Iterable[HookSpec]) -> int:
    """Bytes of the distinct tensors among ``specs`` (a tensor under two names once)."""
    held: dict[str, int] = {}
    for s in specs:
        held[s.same_as or s.name] = s.nbytes if s.storage_bytes is None else s.storage_bytes
    return sum(held.values())
