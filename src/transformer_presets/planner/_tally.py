"""The counting: what a selection of hooks holds, worked out without listing them.

:class:`_Tally` counts, once for a model and a selection, which tensors the selected
hooks hold (layers alike counted together, a tensor under two names once), and
:class:`_Counting` prices it at any ``[batch, seq]`` in an instant.
"""

from __future__ import annotations

from ._args import _HALF, _ITEMSIZE, _NUMBER, _Globs, shape_bytes
from ._listing import _EXPERT_HOOKS, _Listing, _reach
from .layout import IN, Layout, Shared, full_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .layout import Row


def _nbytes(row: Row) -> int:
    """The bytes a row's tensor keeps alive (its storage's, for a view)."""
    return _listed(row) if row[4] is None else row[4]


def _listed(row: Row) -> int:
    """The bytes of a row's tensor as its shape and dtype give them."""
    return shape_bytes(row[1], row[2])


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


class _Counting(_Listing):
    """The counting of a selection of a ``HookedTransformer``'s hooks."""

    #: The tallies of the last selections asked about (see :meth:`_tally`).
    _tallies: dict[tuple[tuple[str, ...] | None, bool], _Tally]

    def _read(self, cfg: Any) -> None:
        super()._read(cfg)
        self._tallies = {}

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

    def _check_listed(self, globs: _Globs | None, dtype: str) -> None:
        """Refuse to list a selection whose tensors differ from one process to the next;
        a ``HookedTransformer``'s never do."""

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
