"""The hooks of one ``[batch, seq]`` input, laid out by parts: what both planners fill.

:mod:`.hooked` lays out TransformerLens 3's ``HookedTransformer`` and
:mod:`.bridge` TransformerLens 4.3's ``TransformerBridge`` in these terms, and
:mod:`.hooked` lists, counts and prices either layout with one machinery (a glob matched
only against the hooks it can reach, the layers counted without visiting them where they
are alike, exact integers).

A :class:`Layout` is a sequence of :class:`Part`: hooks that run once (the embedding, the
unembedding), or once per layer of a stack (``blocks.0.``, ``blocks.1.``, ...). A stack's
layers need not all hold the same hooks: each layer uses one of a few *variants* (T5's
first block computes the position bias the others reuse; Gemma 3's local and global
layers read different rotary tables), and :class:`Order` says which.

A row is ``(name, shape, dtype, root, storage)``. In a stack, ``name`` is under the
layer's prefix, unless it starts with ``/`` (a top-level name fired inside a layer).
``root`` says which tensor the hook holds:

- ``None``: a tensor of its own;
- :data:`IN`: the residual stream the part (or the layer) takes in: the previous
  layer's ``out``, or the previous part's (a tensor of its own when there is none);
- the name of another row of the same layer, one holding a tensor of its own;
- a :class:`Shared` key: one tensor under every row with that key anywhere in the
  layout, held by the first of them in the cache's order (a table every layer reads).

``storage`` is set where the tensor is a view of memory of another size (a position
embedding broadcast over the batch; ``0`` for a slice of a model's buffer, which the
cache adds nothing to): the bytes it keeps alive. A row naming another takes its storage.

Pure data: nothing here imports anything.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["IN", "Layout", "Order", "Part", "Row", "Shared", "full_name"]

#: A root: the residual stream coming into a part or a layer.
IN = "<in>"


class Shared(str):
    """A root: the key of one tensor that rows of several layers (or parts) hold."""

    __slots__ = ()


Row = tuple[str, tuple[int, ...], str, "str | None", "int | None"]


def full_name(prefix: str, name: str) -> str:
    """A row's hook name in the layer ``prefix`` (``"blocks.3."``; ``""`` at top level)."""
    return name[1:] if name[:1] == "/" else prefix + name


class Order:
    """Which variant each of a stack's layers uses, and what counting needs of that.

    ``of`` lists the variant of every layer (None: all use variant 0). ``firsts`` maps
    a variant to its first layer; ``pairs`` maps (variant of layer i - 1, variant of
    layer i) to how many layers i >= 1 have it and the first of them, so that layers
    alike are counted together.

    >>> o = Order(4, [0, 1, 1, 2])
    >>> o.firsts, o.pairs
    ({0: 0, 1: 1, 2: 3}, {(0, 1): (1, 1), (1, 1): (1, 2), (1, 2): (1, 3)})
    """

    __slots__ = ("firsts", "layers", "of", "pairs")

    def __init__(self, layers: int, of: Sequence[int] | None = None) -> None:
        self.layers = layers
        self.of = of
        self.firsts: dict[int, int] = {}
        self.pairs: dict[tuple[int, int], tuple[int, int]] = {}
        if of is None:
            if layers:
                self.firsts[0] = 0
            if layers > 1:
                self.pairs[0, 0] = (layers - 1, 1)
            return
        previous = -1
        for i, v in enumerate(of):
            self.firsts.setdefault(v, i)
            if i:
                n, first = self.pairs.get((previous, v), (0, i))
                self.pairs[previous, v] = (n + 1, first)
            previous = v

    def variant(self, layer: int) -> int:
        return 0 if self.of is None else self.of[layer]


class Part:
    """Hooks that run once (``prefix`` None) or in each layer of a stack (``prefix``:
    ``"blocks"``, whose layer i names its hooks ``blocks.i.``).

    ``variants`` are the rows of each kind of layer (one for a top-level part), in the
    cache's order; ``order`` says which layer uses which. ``out`` names the row holding
    the tensor passed on: to the next layer of a stack, and by the part's last layer (or
    by a top-level part) to the next part; None passes nothing on (a top-level part) or
    what came in (a stack of no layers).
    """

    __slots__ = ("order", "out", "prefix", "variants")

    def __init__(
        self,
        variants: list[list[Row]],
        out: str | None,
        prefix: str | None = None,
        order: Order | None = None,
    ) -> None:
        self.variants = variants
        self.out = out
        self.prefix = prefix
        self.order = order or Order(1)


class Layout:
    """The parts of one ``[batch, seq]`` input, in the cache's order.

    ``tokens`` is ``batch * seq``; ``experts_after`` names the row of a stack after which
    each layer's experts fire, one by one (``HookedTransformer``'s mixtures of experts,
    which :mod:`._hooks` lays out itself). ``shared`` maps each :class:`Shared` key to
    a row holding it (its shape and bytes), ``owners`` to the name of the first hook
    holding it.
    """

    __slots__ = ("dtype", "experts_after", "owners", "parts", "shared", "tokens")

    def __init__(
        self, parts: list[Part], tokens: int, dtype: str, experts_after: str | None = None
    ) -> None:
        self.parts = parts
        self.tokens = tokens
        self.dtype = dtype
        self.experts_after = experts_after
        self.shared: dict[str, Row] = {}
        first: dict[str, tuple[int, int, int, str]] = {}
        for k, part in enumerate(parts):
            for v, rows in enumerate(part.variants):
                layer = part.order.firsts.get(v)
                if layer is None:
                    continue  # a variant no layer uses
                prefix = "" if part.prefix is None else f"{part.prefix}.{layer}."
                for j, row in enumerate(rows):
                    root = row[3]
                    if isinstance(root, Shared):
                        self.shared.setdefault(root, row)
                        where = (k, layer, j, full_name(prefix, row[0]))
                        if root not in first or where < first[root]:
                            first[root] = where
        self.owners = {key: where[3] for key, where in first.items()}
