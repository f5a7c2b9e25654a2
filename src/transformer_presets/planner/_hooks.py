"""The hooks of a ``HookedTransformer``: laid out, listed one by one, or counted.

:class:`_Listing` lays out the hooks ``run_with_cache`` fills for a ``[batch, seq]``
input (:mod:`.layout`: the embedding's, one block's, the unembedding's) and lists those a
selection picks, in the cache's order, as :class:`~._values.HookSpec` objects: hooks no
glob can reach, and a mixture's experts, are never visited one by one.
:class:`_Counting` works out once for a model and a selection which tensors the selected
hooks hold (:class:`_Tally`: layers alike counted together, a tensor under two names
once), and prices it at any ``[batch, seq]`` in an instant. A ``TransformerBridge`` is
listed and counted by the same machinery (:mod:`.bridge_plan`).
"""

from __future__ import annotations

from ._structure import _Structure
from ._values import _HALF, _ITEMSIZE, _NUMBER, _TOKEN_DTYPE, HookSpec, _Globs, shape_bytes
from .layout import IN, Layout, Order, Part, Row, Shared, full_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
        """Every hook as a layout's row (:mod:`.layout`), in order."""
        return [
            (n, shape, dt, root, None) for n, (shape, dt, root) in self.table.items() if n != IN
        ]


_EXPERT_HOOKS = ("hook_gate", "hook_pre", "hook_post")


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


class _Listing(_Structure):
    """The hooks of a ``HookedTransformer``, laid out and listed."""

    # -- activations ----------------------------------------------------------------

    def _layout(self, batch: int, seq: int, dtype: str) -> Layout:
        """The hooks of a ``[batch, seq]`` input: the embedding's, one block's (every block
        holds the same), and the unembedding's (see :mod:`.layout`)."""
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


# -- the counting ------------------------------------------------------------------------


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
