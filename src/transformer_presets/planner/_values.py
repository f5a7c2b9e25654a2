"""What the planner reads and answers: its bounds, the dtypes' sizes, the readers of
its arguments, and its answers.

The bounds it keeps to (layers, experts, a tensor's sizes), the bytes of each dtype, and
the readers of what a question is asked with (a dtype, a size, an optimizer, globs over
hook names), each refusing a bad value with a :class:`PresetValidationError` that names
the argument; then what it answers with: a cached tensor (:class:`HookSpec`), the bytes
of training (:class:`TrainingState`), and the bytes a list of tensors holds. Pure Python,
no torch.
"""

from __future__ import annotations

from ..common.dtypes import dtype_name
from ..errors import PresetValidationError, did_you_mean

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, TypeAlias

    #: A selection of hooks: a shell-style glob over their names, a collection of globs,
    #: or None for every hook.
    Names: TypeAlias = str | Iterable[str] | None

#: The most layers the planner lays out, hook by hook (the deepest real model has a
#: few hundred; the same bound as a per-layer pattern's and a config.json's): its work
#: and memory grow with every layer, and a preset may ask for 2**63 - 1 of them.
MAX_LAYERS = 65_536
#: The most experts the planner lays out, over all layers (``n_layers * num_experts``):
#: listing their hooks takes three each (Qwen3-Next has 48 x 512 = 24,576 experts).
MAX_EXPERTS_IN_ALL = 262_144

#: The optimizers :func:`~.hooked.training_state` knows, as ``torch.optim`` holds their state.
OPTIMIZERS = ("adamw", "sgd", "none")
#: The largest ``batch`` or ``seq``: torch holds a tensor's sizes as 64-bit integers.
MAX_SIZE = 2**63 - 1

# Bytes per element of the canonical dtype names (config.DTYPE_NAMES maps every accepted
# name to one of these; tests/test_planner.py holds the two equal). Reading sizes here
# keeps the config class, costly to import, off the command line's path.
_ITEMSIZE = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8}
# And of every tensor a model holds: also bool (GPT-Neo's causal-mask buffers), a size a
# config's dtype never takes.
_TENSOR_ITEMSIZE = {**_ITEMSIZE, "bool": 1}
# Token ids: torch.randint, to_tokens and tokenizers all give int64.
_TOKEN_DTYPE = "int64"
# Norm modules compute in float32 below single precision, and their hooks see that.
_HALF = ("float16", "bfloat16")


def shape_bytes(shape: tuple[int, ...], dtype: str) -> int:
    """The bytes of a tensor of ``shape`` in ``dtype`` (a canonical name).

    >>> shape_bytes((2, 3, 4), "bfloat16")
    48
    """
    numel = 1
    for n in shape:
        numel *= n
    return numel * _TENSOR_ITEMSIZE[dtype]


def _check_layers(layers: int) -> int:
    """``layers``, refused beyond :data:`MAX_LAYERS`."""
    if layers > MAX_LAYERS:
        raise PresetValidationError(
            f"the planner lays out at most {MAX_LAYERS} layers, got {layers}", key="n_layers"
        )
    return layers


def dtype_key(value: Any) -> str:
    """The canonical name of a dtype given as a name or a ``torch.dtype``."""
    if isinstance(value, str):
        name = value.removeprefix("torch.")
    else:
        # A torch.dtype prints as "torch.bfloat16"; reading that keeps torch out.
        text = str(value)
        if not text.startswith("torch."):
            raise PresetValidationError(
                f"must be a torch.dtype or its name, got {type(value).__name__}", key="dtype"
            )
        name = text.removeprefix("torch.")
    if name in _ITEMSIZE and name != _TOKEN_DTYPE:
        return name
    return dtype_name(name)  # aliases, and the error with suggestions


def _size_arg(value: Any, key: str, highest: int | None = None) -> int:
    # bool is an int subclass, but True is not a batch size.
    if not isinstance(value, int) or isinstance(value, bool):
        raise PresetValidationError(
            f"must be an integer, got {type(value).__name__} {value!r}", key=key
        )
    if value < 1:
        raise PresetValidationError(f"must be at least 1, got {value}", key=key)
    if highest is not None and value > highest:
        raise PresetValidationError(
            f"{value} is beyond the model's context (n_ctx = {highest})", key=key
        )
    if value > MAX_SIZE:
        raise PresetValidationError(
            f"must be at most {MAX_SIZE} (a tensor's dimensions are 64-bit integers), got {value}",
            key=key,
        )
    return value


def _optimizer(value: Any) -> str:
    if value in OPTIMIZERS:
        return str(value)
    raise PresetValidationError(
        f"{value!r} is not one of {', '.join(OPTIMIZERS)}"
        f"{did_you_mean(value, OPTIMIZERS) if isinstance(value, str) else ''}",
        key="optimizer",
    )


def _globs(names: Any) -> _Globs | None:
    """The hooks a glob or a collection of globs selects (None: every hook)."""
    if names is None:
        return None
    if isinstance(names, str):
        return _Globs((names,))
    if isinstance(names, list | tuple | set | frozenset) and all(isinstance(n, str) for n in names):
        return _Globs(tuple(sorted(names) if isinstance(names, set | frozenset) else names))
    raise PresetValidationError(
        f"must be a glob or a list of globs over hook names, got {type(names).__name__}",
        key="names",
    )


#: In a family of hook names: one or more digits (a layer's or an expert's number).
_NUMBER = None


class _Globs:
    """Shell-style globs over hook names, as ``fnmatch.fnmatchcase`` reads them.

    Besides matching a name, they answer whether any name of a family could match
    (``blocks.<n>.mlp.experts.<n>.hook_pre``), so that hooks no glob reaches are never
    laid out one by one.
    """

    def __init__(self, patterns: tuple[str, ...]) -> None:
        from ..common.globs import glob_matcher  # fnmatch and re only for "?" and "["

        self.patterns = patterns
        self._matchers = [glob_matcher(p) for p in patterns]
        self._tokens = [_glob_tokens(p) for p in patterns]

    def __call__(self, name: str) -> bool:
        return any(match(name) for match in self._matchers)

    def may_match(self, *family: str | None) -> bool:
        """Whether some name of ``family`` (text, and :data:`_NUMBER` for numbers) matches."""
        items: list[str | None] = []
        for part in family:
            items.extend([None] if part is _NUMBER else part)
        return any(self._reaches(tokens, items) for tokens in self._tokens)

    def _reaches(self, tokens: list[str], items: list[str | None]) -> bool:
        # The glob and the family side by side, as two automata: a state is (the glob's
        # token, the family's item, whether a number has had a digit yet).
        end_g, end_t = len(tokens), len(items)
        seen: set[tuple[int, int, bool]] = set()
        todo = [(0, 0, False)]
        while todo:
            state = todo.pop()
            if state in seen:
                continue
            seen.add(state)
            g, t, digits = state
            if g < end_g and tokens[g] == "*":
                todo.append((g + 1, t, digits))  # the star matches nothing more
            if digits:
                todo.append((g, t + 1, False))  # the number ends here
            if t == end_t:
                if g == end_g:
                    return True
                continue
            if g == end_g:
                continue
            item, token = items[t], tokens[g]
            for char in "0123456789" if item is None else item:
                if token == "*":
                    nxt = g
                elif token == "?" or token == char or (len(token) > 1 and _in_class(char, token)):
                    nxt = g + 1
                else:
                    continue
                todo.append((nxt, t, True) if item is None else (nxt, t + 1, False))
        return False


def _in_class(char: str, token: str) -> bool:
    """Whether ``char`` is in the ``[...]`` class ``token`` (a glob that has one)."""
    import fnmatch

    return fnmatch.fnmatchcase(char, token)


def _glob_tokens(pattern: str) -> list[str]:
    """A glob's parts as fnmatch reads them: ``*``, ``?``, a ``[...]`` class, or a character."""
    tokens: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        token = pattern[i]
        i += 1
        if token == "[":  # a class, when closed (else a plain "[", as fnmatch.translate)
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j < n:
                token, i = pattern[i - 1 : j + 1], j + 1
        if token == "*" and tokens and tokens[-1] == "*":
            continue
        tokens.append(token)
    return tokens


# -- the answers -------------------------------------------------------------------------


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
