"""``HookedTransformer``'s plan: the structure read from a config, and every number of it.

:class:`ModelPlan` reads a config once and answers :mod:`.hooked`'s questions; the
arguments are read and checked here, and the hooks it lays out are counted and priced
here. Pure Python, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..common.dtypes import dtype_name
from ..errors import PresetValidationError, did_you_mean
from ..fields.params import (
    _GPT_OSS_ARCHITECTURE,
    _OLMO_QK_NORM_ARCHITECTURES,
    _attention,
    _Config,
    _embed,
    _mlp,
    _norm,
    _require_vocab,
    _unembed,
    model_class,
)
from ..fields.rules import check_and_derive
from .layout import IN, Layout, Order, Part, Row, Shared, full_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

#: The most layers the planner lays out, hook by hook (the deepest real model has a
#: few hundred; the same bound as a per-layer pattern's and a config.json's): its work
#: and memory grow with every layer, and a preset may ask for 2**63 - 1 of them.
MAX_LAYERS = 65_536
#: The most experts the planner lays out, over all layers (``n_layers * num_experts``):
#: listing their hooks takes three each (Qwen3-Next has 48 x 512 = 24,576 experts).
MAX_EXPERTS_IN_ALL = 262_144

#: The optimizers :func:`training_state` knows, as ``torch.optim`` holds their state.
OPTIMIZERS = ("adamw", "sgd", "none")
#: The largest ``batch`` or ``seq``: torch holds a tensor's sizes as 64-bit integers.
MAX_SIZE = 2**63 - 1

# Bytes per element of the canonical dtype names (config.DTYPE_NAMES maps every accepted
# name to one of these; tests/test_planner.py holds the two equal). Reading sizes here
# keeps the config class, costly to import, off the command line's path.
_ITEMSIZE = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8}
# Token ids: torch.randint, to_tokens and tokenizers all give int64.
_TOKEN_DTYPE = "int64"
# Norm modules compute in float32 below single precision, and their hooks see that.
_HALF = ("float16", "bfloat16")
# AbstractAttention.ROTARY_INITIAL_CACHE_SIZE: rows of the rotary tables at build time.
_ROTARY_ROWS = 2048
# Olmo 2 and 3 normalize each sublayer's output instead of its input.
_POST_NORM_ARCHITECTURES = frozenset({"Olmo2ForCausalLM", "Olmo3ForCausalLM"})
_POSITIONAL_TYPES = ("standard", "shortformer", "rotary", "alibi")


class HookSpec:
    """One activation that ``run_with_cache`` stores: its hook's name, shape and dtype.

    ``nbytes`` is the size of this tensor. ``same_as`` names an earlier hook holding the
    very same tensor (``blocks.1.hook_resid_pre`` is ``blocks.0.hook_resid_post``), or is
    None; the cache holds such a tensor once, and :func:`activation_cache_bytes` counts
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
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.same_as = same_as
        self.storage_bytes = storage_bytes
        numel = 1
        for n in shape:
            numel *= n
        self.nbytes = numel * _ITEMSIZE[dtype]

    def __repr__(self) -> str:
        same = "" if self.same_as is None else f", same_as={self.same_as!r}"
        held = "" if self.storage_bytes is None else f", storage_bytes={self.storage_bytes}"
        return (
            f"HookSpec({self.name!r}, {self.shape!r}, {self.dtype!r}, "
            f"nbytes={self.nbytes}{same}{held})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HookSpec):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dict

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


class TrainingState:
    """The bytes a model holds during training, by kind (see :func:`training_state`).

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
        return (
            f"TrainingState(weights={self.weights}, gradients={self.gradients}, "
            f"optimizer={self.optimizer}, total={self.total})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrainingState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, int]:
        """``{"weights", "gradients", "optimizer", "total"}`` in bytes."""
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "total": self.total,
        }


# -- reading arguments ----------------------------------------------------------------------


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
        import fnmatch  # only with a filter: it imports re
        import re

        self.patterns = patterns
        self._matchers = [re.compile(fnmatch.translate(p)).match for p in patterns]
        self._tokens = [_glob_tokens(p) for p in patterns]
        self._in_class = fnmatch.fnmatchcase

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
                elif (
                    token == "?"
                    or token == char
                    or (len(token) > 1 and self._in_class(char, token))
                ):
                    nxt = g + 1
                else:
                    continue
                todo.append((nxt, t, True) if item is None else (nxt, t + 1, False))
        return False


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


def held_bytes(specs: Iterable[HookSpec]) -> int:
    """Bytes of the distinct tensors among ``specs`` (a tensor under two names once)."""
    held: dict[str, int] = {}
    for s in specs:
        held[s.same_as or s.name] = s.nbytes if s.storage_bytes is None else s.storage_bytes
    return sum(held.values())


# -- the model ------------------------------------------------------------------------------


class _Hooks:
    """One part of a ``HookedTransformer``'s cache being filled: hook name -> [shape,
    dtype, root], in first-run order (the root is the hook first holding the same tensor,
    :data:`IN` for the residual stream the part takes in, or None)."""

    def __init__(self, dtype: str, *, takes_in: bool = False) -> None:
        self.dtype = dtype
        # Norms compute in float32 below single precision; in float32 and float64 a
        # Pre norm's output *is* its hook_normalized tensor (.to(dtype) changes nothing).
        self.norm_dtype = "float32" if dtype in _HALF else dtype
        self.exact = dtype not in _HALF
        self.table: dict[str, list[Any]] = {}
        if takes_in:  # a part that takes in the residual stream, as the hook IN
            self.table[IN] = [(), dtype, None]

    def add(
        self, name: str, shape: tuple[int, ...], dtype: str | None = None, same: str | None = None
    ) -> str:
        """Cache a tensor; ``same`` names the hook already holding it. Returns its name.

        A hook that runs again (ln1 runs once each for queries, keys and values) keeps
        its place and takes the new tensor, as the cache's dict does.
        """
        root = None if same is None else (self.table[same][2] or same)
        self.table[name] = [shape, dtype or self.dtype, root]
        return name

    def norm(
        self, prefix: str, kind: str | None, shape: tuple[int, ...], value: str | None
    ) -> str | None:
        """A norm of ``kind`` applied to ``value``; returns the hook holding its output."""
        if kind is None:
            return value  # nn.Identity
        self.add(f"{prefix}.hook_scale", (*shape[:-1], 1), self.norm_dtype)
        normalized = self.add(f"{prefix}.hook_normalized", shape, self.norm_dtype)
        # LayerNorm and RMSNorm scale the output by their weights: a new tensor.
        return normalized if kind.endswith("Pre") and self.exact else None

    def rows(self) -> list[Row]:
        """Every hook as a layout's row (:mod:`._hooklayout`), in order."""
        return [
            (n, shape, dt, root, None) for n, (shape, dt, root) in self.table.items() if n != IN
        ]


_EXPERT_HOOKS = ("hook_gate", "hook_pre", "hook_post")


def _nbytes(row: Row) -> int:
    """The bytes a row's tensor keeps alive (its storage's, for a view)."""
    return _listed(row) if row[4] is None else row[4]


def _listed(row: Row) -> int:
    """The bytes of a row's tensor as its shape and dtype give them."""
    numel = 1
    for n in row[1]:
        numel *= n
    return numel * _ITEMSIZE[row[2]]


class _Tally:
    """Which tensors a selection of hooks holds, counted over the layers: worked out
    once for a model and a selection, then priced at any ``[batch, seq]`` in an
    instant (a layout's rows are the same at every size).

    ``counts[k][v]`` counts, row by row of part ``k``'s variant ``v``, the tensors held
    whose first hook is that row (in a stack, in how many layers), and ``selected[k][v]``
    the hooks of each row selected; the :class:`Shared` tensors held are counted once
    each: ``shared_top`` those a top-level hook selects, ``shared_layers`` those a
    layer's hook selects. ``hooks`` is how many hooks are selected, experts apart. Experts'
    hooks are counted by expert number: ``every`` of each expert's, plus ``sums[i + 1] -
    sums[i]`` of expert ``numbers[i]``'s (the numbers in order, so that :meth:`below` is
    a search).
    """

    __slots__ = (
        "counts",
        "every",
        "hooks",
        "numbers",
        "selected",
        "shared_layers",
        "shared_top",
        "sums",
    )

    def __init__(self, lay: Layout) -> None:
        self.counts = [[[0] * len(rows) for rows in part.variants] for part in lay.parts]
        self.selected = [[[0] * len(rows) for rows in part.variants] for part in lay.parts]
        self.shared_top: set[str] = set()
        self.shared_layers: set[str] = set()
        self.hooks = 0
        self.every = 0
        self.numbers: list[int] = []
        self.sums = [0]  # sums[k]: the weights of the first k numbers

    def add_experts(self, weights: dict[int, int]) -> None:
        for number in sorted(weights):
            self.numbers.append(number)
            self.sums.append(self.sums[-1] + weights[number])

    def below(self, number: int) -> int:
        """Expert hooks selected among the experts numbered below ``number``."""
        import bisect

        return self.every * number + self.sums[bisect.bisect_left(self.numbers, number)]


def _first_in(rows: list[Row]) -> str | None:
    """The first row taking in the residual stream (which holds it when none comes in)."""
    return next((row[0] for row in rows if row[3] == IN), None)


def _reach(globs: _Globs | None, part: Part) -> list[list[bool]]:
    """For each variant of a stack, whether some layer's hook of each row may be selected."""
    stack = f"{part.prefix}."
    return [
        [
            globs is None
            or (
                globs(row[0][1:])
                if row[0][:1] == "/"
                else globs.may_match(stack, _NUMBER, "." + row[0])
            )
            for row in rows
        ]
        for rows in part.variants
    ]


class ModelPlan:
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
        self,
        batch: int,
        seq: int,
        dtype: Any = None,
        *,
        names: str | Iterable[str] | None = None,
    ) -> list[HookSpec]:
        """See :func:`hook_specs`."""
        globs = _globs(names)
        return self._specs(self._layout(batch, seq, self._dtype(dtype)), globs)

    def hook_shapes(
        self,
        batch: int,
        seq: int,
        dtype: Any = None,
        *,
        names: str | Iterable[str] | None = None,
    ) -> dict[str, tuple[int, ...]]:
        """See :func:`hook_shapes`."""
        return {s.name: s.shape for s in self.hook_specs(batch, seq, dtype, names=names)}

    def activation_cache_bytes(
        self,
        batch: int,
        seq: int,
        names: str | Iterable[str] | None = None,
        dtype: Any = None,
    ) -> int:
        """See :func:`activation_cache_bytes`."""
        return self.activation_curve(batch, (seq,), names, dtype)[0]

    def activation_curve(
        self,
        batch: int,
        seqs: Iterable[int],
        names: str | Iterable[str] | None = None,
        dtype: Any = None,
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
        globs = _globs(names)
        dt = self._dtype(dtype)
        tally = self._tally(globs, dt)
        return [self._priced(tally, self._layout(batch, seq, dt))[1] for seq in seqs]

    def hook_count(
        self,
        batch: int,
        seq: int,
        names: str | Iterable[str] | None = None,
        dtype: Any = None,
    ) -> int:
        """How many hooks :meth:`hook_specs` lists, without listing them.

        >>> ModelPlan({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16,
        ...            "d_vocab": 100, "act_fn": "gelu"}).hook_count(1, 8, "blocks.*")
        34
        """
        globs = _globs(names)
        dt = self._dtype(dtype)
        return self._priced(self._tally(globs, dt), self._layout(batch, seq, dt))[0]

    def listed_bytes(
        self,
        batch: int,
        seq: int,
        names: str | Iterable[str] | None = None,
        dtype: Any = None,
    ) -> int:
        """The bytes of every hook :meth:`hook_specs` lists, a tensor under two names
        counted under each (what adding up the sizes of the cache's values gives), without
        listing them.

        >>> plan = ModelPlan({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16,
        ...                   "d_vocab": 100, "act_fn": "gelu"})
        >>> plan.listed_bytes(1, 8, "*resid*"), plan.activation_cache_bytes(1, 8, "*resid*")
        (12288, 10240)
        """
        globs = _globs(names)
        dt = self._dtype(dtype)
        return self._priced(self._tally(globs, dt), self._layout(batch, seq, dt))[2]

    def kv_cache_bytes(
        self, batch: int, seq: int, dtype: Any = None, *, include_mask: bool = False
    ) -> int:
        """See :func:`kv_cache_bytes`."""
        return self._kv_cache(batch, seq, self._dtype(dtype), include_mask)

    def forward_flops(self, batch: int, seq: int, dtype: Any = None) -> int:
        """See :func:`forward_flops`."""
        self._dtype(dtype)
        return self._flops(batch, seq)

    def buffer_bytes(self, seq: int | None = None, dtype: Any = None) -> int:
        """See :func:`buffer_bytes`."""
        return self._buffers(seq, self._dtype(dtype))

    def training_state(self, optimizer: str = "adamw", dtype: Any = None) -> TrainingState:
        """See :func:`training_state`."""
        return self._training_state(_optimizer(optimizer), self._dtype(dtype))

    def weight_bytes(self, dtype: Any = None) -> int:
        """The bytes of the model's parameters, each in the dtype TransformerLens gives it.

        That is ``total_params()`` elements in ``dtype``, but for xIELU's float32
        scalars (see :func:`training_state` for mixtures of experts).
        """
        return self.training_state("none", dtype).weights

    # -- reading the config ---------------------------------------------------------

    def _read(self, cfg: Any) -> None:
        kind = model_class(cfg)
        if kind != "HookedTransformer":
            raise PresetValidationError(
                f"TransformerLens builds this model with {kind}, which the planner does not "
                "cover (it covers HookedTransformer decoders only)",
                key="original_architecture",
            )
        c = self.c = _Config(cfg)
        if c.flag("load_in_4bit"):
            raise PresetValidationError(
                "the planner covers unquantised models only", key="load_in_4bit"
            )
        _require_vocab(c)
        self.L, self.d, self.H, self.dh = c.n_layers, c.d_model, c.n_heads, c.d_head
        if self.L > MAX_LAYERS:
            raise PresetValidationError(
                f"the planner lays out at most {MAX_LAYERS} layers, got {self.L}",
                key="n_layers",
            )
        self._n_ctx, self.m, self.V_out = c.n_ctx, c.d_mlp, c.d_vocab_out
        self.pos = str(c.get("positional_embedding_type"))
        if self.pos not in _POSITIONAL_TYPES:
            raise PresetValidationError(
                f"HookedTransformer supports {', '.join(map(repr, _POSITIONAL_TYPES))}, "
                f"not {self.pos!r}",
                key="positional_embedding_type",
            )
        self.norm = c.norm
        _norm(c, self.norm)  # rejects an unknown normalization_type
        self.arch = c.arch
        self.attn_only = c.flag("attn_only")
        self.parallel = c.flag("parallel_attn_mlp")
        if self.attn_only and self.parallel:
            raise PresetValidationError(
                "TransformerLens runs no parallel MLP in an attention-only model",
                key="parallel_attn_mlp",
            )
        self.post_norm = self.arch in _POST_NORM_ARCHITECTURES
        self.before_after = c.flag("use_normalization_before_and_after")
        # The norm after a sublayer: an RMSNorm for RMS types, none without norms.
        self.after_kind: str | None = None
        if self.before_after and self.norm is not None:
            if not self.norm.startswith("RMS"):
                raise PresetValidationError(
                    f"TransformerLens supports it only with RMS normalization, not {self.norm!r}",
                    key="use_normalization_before_and_after",
                )
            self.after_kind = "RMS"
        kv = c.get("n_key_value_heads")
        self.kv_heads = None if kv is None else c.integer("n_key_value_heads")
        self.ungroup = c.flag("ungroup_grouped_query_attention")
        # Heads of the keys and values the attention computes.
        self.Hk = self.H if self.kv_heads is None or self.ungroup else self.kv_heads
        self.split = c.flag("use_split_qkv_input")
        self.attn_in = c.flag("use_attn_in")
        if self.attn_in and not self.split and self.Hk != self.H:
            raise PresetValidationError(
                "TransformerLens cannot run grouped-query attention with use_attn_in "
                "unless use_split_qkv_input or ungroup_grouped_query_attention is set",
                key="use_attn_in",
            )
        self.qk_norm = c.flag("use_qk_norm")
        self.olmo_norm = self.arch in _OLMO_QK_NORM_ARCHITECTURES
        if self.olmo_norm:
            self._check_olmo_norms(kv)
        self.sinks = c.flag("use_attention_sinks")
        self.rotary_dim = 0
        if self.pos == "rotary":
            self.rotary_dim = c.integer("rotary_dim")
        self.gated = c.flag("gated_mlp")
        # Attention-only models have no activation (and may leave act_fn unset).
        self.act_fn = "" if self.attn_only else str(c.get("act_fn"))
        self.solu_ln = self.act_fn.endswith("_ln")
        self.experts = 0
        self.per_token = 0
        self.gpt_oss = self.arch == _GPT_OSS_ARCHITECTURE
        if not self.attn_only:
            _mlp(c)  # the MLP's own checks: d_mlp, experts_per_token
            if c.get("num_experts"):
                self.experts = c.integer("num_experts")
                self.per_token = c.integer("experts_per_token")
                if not 1 <= self.per_token <= self.experts:
                    raise PresetValidationError(
                        f"must be between 1 and num_experts ({self.experts}), got {self.per_token}",
                        key="experts_per_token",
                    )
                if self.L * self.experts > MAX_EXPERTS_IN_ALL:
                    raise PresetValidationError(
                        f"the planner lays out at most {MAX_EXPERTS_IN_ALL} experts in all "
                        f"(n_layers x num_experts), got {self.L} x {self.experts}",
                        key="num_experts",
                    )
        self.config_dtype = dtype_key(c.get("dtype"))
        self._tallies: dict[tuple[tuple[str, ...] | None, bool], _Tally] = {}

    def _check_olmo_norms(self, kv: Any) -> None:
        # OLMo's Q/K norms run over whole projections: their widths must match.
        c = self.c
        q_len = self.dh if self.qk_norm else self.d
        k_len = self.dh if self.qk_norm else (self.d if kv is None else self.dh * kv)
        if q_len != self.H * self.dh or k_len != self.Hk * self.dh:
            raise PresetValidationError(
                f"TransformerLens cannot run {c.arch}'s Q/K norms here: they span "
                f"{q_len} and {k_len} values, the projections {self.H * self.dh} and "
                f"{self.Hk * self.dh}",
                key="use_qk_norm" if self.qk_norm else "n_key_value_heads",
            )

    # -- arguments ------------------------------------------------------------------

    def _dtype(self, value: Any) -> str:
        return self.config_dtype if value is None else dtype_key(value)

    def _converted(self, dtype: str) -> bool:
        """Whether the numbers are for ``model.to(dtype)`` (see :func:`training_state`)."""
        return self.experts > 0 and not self.gpt_oss and dtype != "float32"

    def _sizes(self, batch: int, seq: int) -> tuple[int, int]:
        return _size_arg(batch, "batch"), _size_arg(seq, "seq", self._n_ctx)

    # -- activations ----------------------------------------------------------------

    def _layout(self, batch: int, seq: int, dtype: str) -> Layout:
        """The hooks of a ``[batch, seq]`` input: the embedding's, one block's (every block
        holds the same), and the unembedding's (see :mod:`._hooklayout`)."""
        B, S = self._sizes(batch, seq)
        resid = (B, S, self.d)
        h = _Hooks(dtype)
        if self.c.flag("use_hook_tokens"):
            h.add("hook_tokens", (B, S), _TOKEN_DTYPE)
        embed = None
        if self.c.flag("post_embedding_ln"):
            embed = h.norm("embed.ln", "LN", resid, None)  # always a LayerNorm
        embed = h.add("hook_embed", resid, same=embed)
        if self.pos in ("standard", "shortformer"):
            h.add("hook_pos_embed", resid)
        # Only "standard" adds the position embedding to the residual stream.
        head_out = None if self.pos == "standard" else (h.table[embed][2] or embed)
        block = _Hooks(dtype, takes_in=True)
        experts_after = self._block_hooks(block, B, S)
        tail = _Hooks(dtype, takes_in=True)
        out: str | None = IN
        if self.norm is not None:
            out = tail.norm("ln_final", self._final_kind(), resid, IN)
        tail.add("unembed.hook_in", resid, same=out)
        tail.add("unembed.hook_out", (B, S, self.V_out))
        parts = [
            Part([h.rows()], head_out),
            Part([block.rows()], "hook_resid_post", "blocks", Order(self.L)),
            Part([tail.rows()], None),
        ]
        return Layout(parts, B * S, dtype, experts_after)

    def _block_hooks(self, h: _Hooks, B: int, S: int) -> str | None:
        """One block's hooks, named within the block; the hook its experts' follow."""
        d, H, Hk = self.d, self.H, self.Hk
        resid = (B, S, d)
        h.add("hook_resid_pre", resid, same=IN)
        q_in: tuple[int, ...] = resid
        k_in: tuple[int, ...] = resid
        if self.attn_in:
            q_in = k_in = (B, S, H, d)
            h.add("hook_attn_in", q_in)
        if self.split:
            q_in, k_in = (B, S, H, d), (B, S, Hk, d)
            h.add("hook_q_input", q_in)
            h.add("hook_k_input", k_in)
            h.add("hook_v_input", k_in)
        if not self.post_norm:
            for shape in (q_in, k_in, k_in):  # queries, keys, values
                h.norm("ln1", self.norm, shape, None)
        self._attention_hooks(h, "attn.", B, S)
        out = h.norm("ln1_post", self.after_kind, resid, None)
        if self.post_norm:
            out = h.norm("ln1", self.norm, resid, out)
        h.add("hook_attn_out", resid, same=out)
        if self.attn_only:
            h.add("hook_resid_post", resid)
            return None
        if not self.parallel:
            h.add("hook_resid_mid", resid)
        if self.c.flag("use_hook_mlp_in"):
            h.add("hook_mlp_in", resid)
        if not self.post_norm or self.parallel:
            h.norm("ln2", self.norm, resid, None)
        experts_after = self._mlp_hooks(h, "mlp.", B, S)
        out = h.norm("ln2_post", self.after_kind, resid, None)
        if self.post_norm:
            out = h.norm("ln2", self.norm, resid, out)
        h.add("hook_mlp_out", resid, same=out)
        h.add("hook_resid_post", resid)
        return experts_after

    def _final_kind(self) -> str | None:
        if self.c.flag("final_rms") and self.norm in ("LN", "LNPre"):
            return "RMS" if self.norm == "LN" else "RMSPre"
        return self.norm

    def _attention_hooks(self, h: _Hooks, a: str, B: int, S: int) -> None:
        H, Hk, dh = self.H, self.Hk, self.dh
        h.add(a + "hook_q", (B, S, H, dh))
        h.add(a + "hook_k", (B, S, Hk, dh))
        h.add(a + "hook_v", (B, S, Hk, dh))
        if self.qk_norm:  # one RMSNorm over d_head, on every head's vector
            h.norm(a + "q_norm", "RMS", (B * S * H, dh), None)
            h.norm(a + "k_norm", "RMS", (B * S * Hk, dh), None)
        if self.olmo_norm:  # over whole projections (with use_qk_norm too: then again)
            h.norm(a + "q_norm", "RMS", (B, S, H * dh), None)
            h.norm(a + "k_norm", "RMS", (B, S, Hk * dh), None)
        if self.pos == "rotary":
            h.add(a + "hook_rot_q", (B, S, H, dh))
            h.add(a + "hook_rot_k", (B, S, Hk, dh))
        h.add(a + "hook_attn_scores", (B, H, S, S))
        h.add(a + "hook_pattern", (B, H, S, S))
        h.add(a + "hook_z", (B, S, H, dh))
        if self.c.flag("use_attn_result"):
            h.add(a + "hook_result", (B, S, H, self.d))

    def _mlp_hooks(self, h: _Hooks, p: str, B: int, S: int) -> str | None:
        """The MLP's hooks; with experts, the hook their hooks follow (see :meth:`_specs`)."""
        m = self.m
        if self.experts:
            tokens = B * S
            h.add(p + "hook_expert_weights", (tokens, self.experts), "float32")
            return h.add(p + "hook_expert_indices", (tokens, self.per_token), "int64")
        h.add(p + "hook_pre", (B, S, m))
        if self.solu_ln:
            h.add(p + "hook_mid", (B, S, m))
            # A LayerNorm over d_mlp, or only its centring and scaling without "LN".
            out = h.norm(p + "ln", "LN" if self.norm == "LN" else "LNPre", (B, S, m), None)
            h.add(p + "hook_post", (B, S, m), same=out)
            return None
        if self.gated:
            h.add(p + "hook_pre_linear", (B, S, m))
        h.add(p + "hook_post", (B, S, m))
        return None

    def _expert_specs(self, out: list[HookSpec], p: str, lay: Layout, globs: _Globs | None) -> None:
        """Block ``p``'s experts' hooks, expert by expert, for an even split of the routed
        tokens (the first experts take one more when it does not divide), so that each
        hook's total over the experts is exact whatever the router does. GPT-OSS skips
        experts that receive no token."""
        hooks: tuple[str, ...] = _EXPERT_HOOKS
        if globs is not None:
            family = p + "mlp.experts."
            hooks = tuple(h for h in hooks if globs.may_match(family, _NUMBER, "." + h))
        base, extra = divmod(lay.tokens * self.per_token, self.experts)
        for j in range(self.experts if hooks else 0):
            n = base + (j < extra)
            if n == 0 and self.gpt_oss:
                continue
            for hook in hooks:
                name = f"{p}mlp.experts.{j}.{hook}"
                if globs is None or globs(name):
                    out.append(HookSpec(name, (n, self.m), lay.dtype))

    def _experts_reached(self, globs: _Globs | None) -> bool:
        """Whether ``globs`` may select an expert's hook."""
        return self.experts > 0 and (
            globs is None
            or any(
                globs.may_match("blocks.", _NUMBER, ".mlp.experts.", _NUMBER, "." + hook)
                for hook in _EXPERT_HOOKS
            )
        )

    def _specs(self, lay: Layout, globs: _Globs | None) -> list[HookSpec]:
        """The hooks of ``lay`` that ``globs`` selects, in the cache's order. Hooks no glob
        can reach (in no layer of a stack, or no expert) are never visited layer by layer."""
        out: list[HookSpec] = []
        experts = self._experts_reached(globs)
        # The residual stream coming in: its hook's name and storage (None: none).
        incoming: tuple[str, int | None] | None = None

        def emit(prefix: str, row: Row, first_in: str | None) -> None:
            name, shape, dtype, root, storage = row
            full = full_name(prefix, name)
            if globs is not None and not globs(full):
                return
            same: str | None = None
            if root == IN:
                if incoming is not None:
                    same, storage = incoming
                elif first_in != name:  # nothing comes in: the first such hook holds it
                    same = full_name(prefix, first_in or name)
            elif isinstance(root, Shared):
                owner = lay.owners[root]
                same = None if owner == full else owner
            elif root is not None:
                same = full_name(prefix, root)
            out.append(HookSpec(full, shape, dtype, same, storage))

        for part in lay.parts:
            # The storage of the tensor each variant passes on (None: a tensor's own).
            outs = [
                next((row[4] for row in rows if row[0] == part.out), None) for rows in part.variants
            ]
            if part.prefix is None:
                [rows] = part.variants
                first_in = _first_in(rows)
                for row in rows:
                    emit("", row, first_in)
                incoming = None if part.out is None else (part.out, outs[0])
                continue
            order = part.order
            if not order.layers:
                continue  # what came in goes on
            assert part.out is not None, "a stack passes a tensor on"
            stacked = experts and lay.experts_after is not None
            reach = _reach(globs, part)
            if not (stacked or any(any(r) for r in reach)):
                last = order.layers - 1
                prefix = f"{part.prefix}.{last}."
                incoming = (full_name(prefix, part.out), outs[order.variant(last)])
                continue
            firsts_in = [_first_in(rows) for rows in part.variants]
            for i in range(order.layers):
                v = order.variant(i)
                p = f"{part.prefix}.{i}."
                for row, wanted in zip(part.variants[v], reach[v], strict=True):
                    if wanted:
                        emit(p, row, firsts_in[v])
                    if stacked and row[0] == lay.experts_after:
                        self._expert_specs(out, p, lay, globs)
                incoming = (full_name(p, part.out), outs[v])
        return out

    def _tally(self, globs: _Globs | None, dtype: str) -> _Tally:
        """The :class:`_Tally` of ``globs``, kept for the next question (a layout's rows
        and which hold the same tensor change with the dtype only in half precision)."""
        key = (None if globs is None else globs.patterns, dtype in _HALF)
        tally = self._tallies.get(key)
        if tally is None:
            if len(self._tallies) >= 8:
                self._tallies.clear()
            tally = self._tallies[key] = self._count(self._layout(1, 1, dtype), globs)
        return tally

    def _count(self, lay: Layout, globs: _Globs | None) -> _Tally:
        """Which tensors the hooks ``globs`` selects hold, row by row (see :class:`_Tally`).

        A tensor is held when any hook holding it is selected. The residual stream is the
        one that crosses layers and parts: what a layer takes in (the previous layer's
        ``out``, or the previous part's) may be selected there or here, so it is counted
        once the layer after it has been seen. When all hooks are selected, or none of a
        stack's can be, the layers of a stack are counted by kind without visiting them:
        the first alone, then every other once for all the layers of its variant that
        follow a layer of the same variant as it does.
        """
        t = _Tally(lay)
        incoming: list[Any] | None = None  # [counts, row, held] of the tensor coming in

        def part(
            k: int,
            v: int,
            prefix: str,
            times: int,
            out: int | None,
            reach: list[bool] | None = None,
        ) -> None:
            nonlocal incoming
            rows, counts = lay.parts[k].variants[v], t.counts[k][v]
            where = {row[0]: i for i, row in enumerate(rows)}
            if IN not in where:  # nothing comes in: the first hook taking it in holds it
                where[IN] = next((i for i, row in enumerate(rows) if row[3] == IN), -1)
            held: set[int] = set()
            takes_in = False
            top = prefix == ""
            for i, (name, _, _, root, _) in enumerate(rows):
                if globs is not None and not (
                    (reach is None or reach[i]) and globs(full_name(prefix, name))
                ):
                    continue
                t.hooks += times
                t.selected[k][v][i] += times
                if root == IN and incoming is not None:
                    takes_in = True
                elif isinstance(root, Shared):
                    (t.shared_top if top else t.shared_layers).add(root)
                else:
                    held.add(i if root is None else where[root])
            if incoming is not None and (incoming[2] or takes_in):
                incoming[0][incoming[1]] += times
            if out is None:
                incoming = None
            else:  # counted by the layer or part after it
                incoming = [counts, out, out in held]
                held.discard(out)
            for i in held:
                counts[i] += times

        for k, p in enumerate(lay.parts):
            outs = [
                None if p.out is None else [row[0] for row in rows].index(p.out)
                for rows in p.variants
            ]
            if p.prefix is None:
                part(k, 0, "", 1, outs[0])
                continue
            order = p.order
            if not order.layers:
                continue  # what came in goes on
            reach = _reach(globs, p)
            if globs is None or not any(any(r) for r in reach):
                v = order.variant(0)
                part(k, v, f"{p.prefix}.0.", 1, outs[v], reach[v])
                for (before, v), (n, first) in order.pairs.items():
                    # A layer's out is held there when every hook is selected, else not.
                    incoming = [t.counts[k][before], outs[before], globs is None]
                    part(k, v, f"{p.prefix}.{first}.", n, outs[v], reach[v])
                last = order.variant(order.layers - 1)
                incoming = [t.counts[k][last], outs[last], globs is None]
            else:
                for i in range(order.layers):
                    v = order.variant(i)
                    part(k, v, f"{p.prefix}.{i}.", 1, outs[v], reach[v])

        if self.experts and globs is None:
            t.every = len(_EXPERT_HOOKS) * self.L
        elif self.experts and globs is not None:
            weights: dict[int, int] = {}
            for hook in _EXPERT_HOOKS:
                if not globs.may_match("blocks.", _NUMBER, ".mlp.experts.", _NUMBER, "." + hook):
                    continue
                for i in range(self.L):
                    family = f"blocks.{i}.mlp.experts."
                    if not globs.may_match(family, _NUMBER, "." + hook):
                        continue
                    for j in range(self.experts):
                        if globs(f"{family}{j}.{hook}"):
                            weights[j] = weights.get(j, 0) + 1
            t.add_experts(weights)
        return t

    def _priced(self, t: _Tally, lay: Layout) -> tuple[int, int, int]:
        """(hooks, bytes held, bytes listed) that ``t`` selects, at the sizes of ``lay``."""
        total = listed = 0
        for k, part in enumerate(lay.parts):
            for v, rows in enumerate(part.variants):
                counts, selected = t.counts[k][v], t.selected[k][v]
                for n, chosen, row in zip(counts, selected, rows, strict=True):
                    if n:
                        total += n * _nbytes(row)
                    if chosen:
                        listed += chosen * _listed(row)
        for key in t.shared_top | t.shared_layers:
            total += _nbytes(lay.shared[key])
        hooks = t.hooks
        if self.experts:
            base, extra = divmod(lay.tokens * self.per_token, self.experts)
            selected_experts = t.every * self.experts + t.sums[-1]
            below = t.below(extra)  # of the experts that take one token more
            experts = (base * selected_experts + below) * self.m * _ITEMSIZE[lay.dtype]
            total += experts
            listed += experts
            hooks += selected_experts if base or not self.gpt_oss else below
        return hooks, total, listed

    # -- compute and caches ---------------------------------------------------------

    def _flops(self, batch: int, seq: int) -> int:
        B, S = self._sizes(batch, seq)
        T, d, H, dh, m = B * S, self.d, self.H, self.dh, self.m
        projections = 2 * T * d * dh * (H + 2 * self.Hk)
        scores_and_mix = 2 * (2 * B * H * S * S * dh)  # q @ k and pattern @ v
        # With use_attn_result, W_O is applied as an elementwise product and a sum.
        output = 0 if self.c.flag("use_attn_result") else 2 * T * H * dh * d
        layer = projections + scores_and_mix + output
        if not self.attn_only:
            if self.experts:
                router = 2 * T * d * self.experts
                layer += router + 3 * 2 * T * self.per_token * d * m
            elif self.gated:
                # solu_ln's gated MLP never multiplies by W_in.
                layer += (2 if self.solu_ln else 3) * 2 * T * d * m
            else:
                layer += 2 * 2 * T * d * m
        return self.L * layer + 2 * T * d * self.V_out

    def _kv_cache(self, batch: int, seq: int, dtype: str, include_mask: bool) -> int:
        B, S = self._sizes(batch, seq)
        if self.L == 0:  # it reads the first layer's entry for the position offset
            raise PresetValidationError(
                "TransformerLens's key-value cache needs at least one layer", key="n_layers"
            )
        # The cache is made for n_key_value_heads heads whatever the attention computes.
        heads = self.H if self.kv_heads is None else self.kv_heads
        if heads != self.Hk:
            raise PresetValidationError(
                "TransformerLens's key-value cache cannot hold the ungrouped keys and values "
                "of grouped-query attention",
                key="ungroup_grouped_query_attention",
            )
        keys_and_values = 2 * self.L * B * S * heads * self.dh * _ITEMSIZE[dtype]
        return keys_and_values + (B * S * _ITEMSIZE["int64"] if include_mask else 0)

    def _buffers(self, seq: int | None, dtype: str) -> int:
        S = None if seq is None else _size_arg(seq, "seq", self._n_ctx)
        size = _ITEMSIZE[dtype]
        # model.to(dtype) converts the float32 buffers too.
        f32 = size if self._converted(dtype) else 4
        layer = f32  # IGNORE, a scalar; the causal mask buffer is empty
        if self.pos == "rotary":
            rows = min(self._n_ctx, _ROTARY_ROWS)
            if S is not None and rows < S:
                rows = min(self._n_ctx, max(S, 2 * rows))  # apply_rotary's extension
            layer += 2 * rows * self.rotary_dim * size  # sin and cos
        if self.pos == "alibi" and S is not None:
            layer += self.H * S * S * 4  # float32, whatever the dtype
        if not self.attn_only and self.act_fn == "xielu" and not self.gpt_oss:
            layer += 2 * f32 * (self.experts or 1)  # beta and eps per xIELU module
        return self.L * layer

    # -- parameters -----------------------------------------------------------------

    def _parameters(self, dtype: str) -> list[tuple[int, int, int, bool]]:
        """(tensors, elements, bytes per element, gets a gradient) for every parameter."""
        c, d, L = self.c, self.d, self.L
        size = _ITEMSIZE[dtype]
        f32 = size if self._converted(dtype) else 4
        out: list[tuple[int, int, int, bool]] = []

        def add(tensors: int, numel: int, trained: bool = True, itemsize: int = size) -> None:
            out.append((tensors, numel, itemsize, trained))

        add(1 + 2 * c.flag("post_embedding_ln"), _embed(c))
        if self.pos != "rotary":
            # ALiBi models build W_pos but never read it.
            add(1, self._n_ctx * d, trained=self.pos != "alibi")
        tensors = {"LN": 2, "RMS": 1}
        norm = tensors.get(self.norm or "", 0)
        norms = (1 if self.attn_only else 2) * L
        add(norm * norms, _norm(c, self.norm) * norms)
        if self.after_kind is not None:
            add(norms, d * norms)
        attn = 8 + 2 * (self.qk_norm or self.olmo_norm) + self.sinks
        add(attn * L, _attention(c, self.kv_heads) * L)
        if not self.attn_only:
            self._mlp_parameters(add, f32)
        final = self._final_kind()
        add(tensors.get(final or "", 0), _norm(c, final))
        add(2, _unembed(c))
        return out

    def _mlp_parameters(self, add: Callable[..., None], f32: int) -> None:
        d, m, L, E = self.d, self.m, self.L, self.experts
        xielu = self.act_fn == "xielu"
        if E and self.gpt_oss:
            add(6 * E * L, E * (3 * d * m + 2 * m + d) * L)  # experts, each with biases
            add(2 * L, (d * E + E) * L)  # router
            return
        if E:
            add(3 * E * L, 3 * d * m * E * L)
            if xielu:
                add(2 * E * L, 2 * E * L, itemsize=f32)
            add(L, d * E * L)
            return
        if self.gated:
            add(3 * L, (2 * d * m + d) * L)  # W_gate, W_out, b_out
            # solu_ln's gated MLP never reads W_in and b_in: they get no gradient.
            add(2 * L, (d * m + m) * L, trained=not self.solu_ln)
        else:
            add(4 * L, (2 * d * m + m + d) * L)
        if self.solu_ln and self.norm == "LN":
            add(2 * L, 2 * m * L)
        if xielu:
            add(2 * L, 2 * L, itemsize=f32)  # alpha_p and alpha_n, float32 scalars

    def _training_state(self, optimizer: str, dtype: str) -> TrainingState:
        weights = gradients = state = 0
        for tensors, numel, itemsize, trained in self._parameters(dtype):
            weights += numel * itemsize
            if not trained:
                continue  # no gradient, so the optimizer keeps no state for it
            gradients += numel * itemsize
            if optimizer == "adamw":
                # exp_avg and exp_avg_sq like the parameter, and step: a float32 scalar.
                state += 2 * numel * itemsize + 4 * tensors
            elif optimizer == "sgd":
                state += numel * itemsize  # momentum_buffer
        return TrainingState(weights=weights, gradients=gradients, optimizer=state)
