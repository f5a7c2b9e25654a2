"""``size NAME --model bridge``: will TransformerLens 4.3's ``TransformerBridge`` fit?

The report for :class:`~transformer_presets.planner.hooked.BridgePlan`: what ``run_with_cache``
holds (beside HookedTransformer's, where TransformerLens 3 builds the preset too), and
which memory sizes hold it; the questions the bridge planner does not answer are said to
be so. Counted, not listed, as ``size`` counts: the bridge of a model of 65,536 layers
answers at once. ``hooks NAME --model bridge`` is the ``hooks`` command itself.
"""

from __future__ import annotations

import sys

from ..errors import PresetError
from ..planner.hooked import ModelPlan
from ._output import BOLD, DIM, EXIT_OK, PROG, Style, clean, emit, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, Protocol

    from ..planner.hooked import BridgePlan
    from ._quick import Args

    class Helpers(Protocol):
        """``size``'s own formats and plotting: the ``_plan`` module, which hands itself
        over (it imports this module when asked about the bridge; importing it back
        would be a loop)."""

        def format_bytes(self, n: int) -> str: ...
        def format_percent(self, part: int, whole: int) -> str: ...
        def plot_seqs(self, n_ctx: int) -> list[int]: ...
        def draw(self, *args: Any, **kwargs: Any) -> Any: ...
        def save_plot(self, path: str, figure: Callable[[Any], Any]) -> None: ...


__all__ = ["size_bridge"]

_NOT_COVERED = "not worked out for the bridge (--model hooked has them)"
_BRIDGE = "TransformerBridge (TransformerLens 4.3)"
_HOOKED = "HookedTransformer (TransformerLens 3)"


def _hooked(values: dict[str, Any], derived: dict[str, Any]) -> ModelPlan | None:
    """HookedTransformer's plan of the same preset, where TransformerLens 3 builds one."""
    try:
        return ModelPlan.from_resolved(values, derived)
    except PresetError:  # BERT, T5: not HookedTransformer
        return None


def size_bridge(
    args: Args,
    name: str,
    values: dict[str, Any],
    derived: dict[str, Any],
    plan: BridgePlan,
    batch: int,
    seq: int,
    dtype: str,
    *,
    memory: Sequence[int],
    helpers: Helpers,
) -> int:
    """``size`` for the bridge: the hooks selected (all, or ``--hooks``), counted;
    ``memory`` the sizes to check; ``helpers`` the command's formats and plotting."""
    format_bytes, format_percent = helpers.format_bytes, helpers.format_percent
    glob = args.hooks
    activations = plan.activation_cache_bytes(batch, seq, glob, dtype)
    hooks = plan.hook_count(batch, seq, glob, dtype)
    listed = plan.listed_bytes(batch, seq, glob, dtype)
    hooked = _hooked(values, derived)
    hooked_bytes = hooked_count = None
    if hooked is not None:
        try:
            hooked_bytes = hooked.activation_cache_bytes(batch, seq, glob, dtype)
            hooked_count = hooked.hook_count(batch, seq, glob, dtype)
        except PresetError:  # a dtype or size only one of the two can take
            hooked = None
    fits = [{"size_bytes": size, "fits": activations <= size} for size in memory]
    if args.plot:
        _plot(args.plot, name, plan, hooked, batch, dtype, glob, memory, helpers)
    if args.json:
        print_json(
            {
                "name": name,
                "model": "bridge",
                "architecture": values.get("original_architecture"),
                "adapter": plan.layout.adapter.name,
                "batch": batch,
                "seq": seq,
                "dtype": dtype,
                "hooks": glob,
                "activation_bytes": activations,
                "activation_hooks": hooks,
                "listed_bytes": listed,
                "hooked_activation_bytes": hooked_bytes,
                "hooked_activation_hooks": hooked_count,
                "needed_bytes": activations,
                "memory": fits,
            }
        )
        return EXIT_OK

    style = Style(sys.stdout)
    which = "hooks (all)" if glob is None else f"hooks matching {glob!r}"
    rows = [
        (
            "activations",
            format_bytes(activations),
            f"run_with_cache, {hooks} {which}; {format_bytes(listed)} listed, a tensor "
            "under two names counted once",
        )
    ]
    if hooked_bytes is not None:
        rows.append(
            (
                "HookedTransformer",
                format_bytes(hooked_bytes),
                f"the same question for TransformerLens 3: {hooked_count} hooks",
            )
        )
    rows.append(("weights, buffers", "-", _NOT_COVERED))
    rows.append(("KV cache, FLOPs", "-", _NOT_COVERED))
    architecture = values.get("original_architecture")
    lines = [
        style(name, BOLD)
        + f" ({architecture}, TransformerLens 4.3 TransformerBridge, {plan.layout.adapter.name}):",
        f"batch {batch} x seq {seq}, {dtype}",
        "",
    ]
    width = max(len(r[1]) for r in rows)
    lines += [f"{k:<18}{v:>{width}}  {style(note, DIM)}".rstrip() for k, v, note in rows]
    lines += ["", f"activations = {format_bytes(activations)}:"]
    for item in fits:
        size = item["size_bytes"]
        verdict = "fits" if item["fits"] else "does not fit"
        lines.append(f"  {format_bytes(size):>10}  {verdict} ({format_percent(activations, size)})")
    lines += [
        "",
        style(
            "Filter with --hooks GLOB (run_with_cache(names_filter=...)): the bridge caches each\n"
            "component's hook_in and hook_out beside HookedTransformer's names.",
            DIM,
        ),
    ]
    emit(lines)
    if glob is not None and hooks == 0:
        sys.stderr.write(clean(f"{PROG}: no hooks match {glob!r}") + "\n")
    return EXIT_OK


def _plot(
    path: str,
    name: str,
    plan: BridgePlan,
    hooked: ModelPlan | None,
    batch: int,
    dtype: str,
    glob: str | None,
    memory: Sequence[int],
    helpers: Helpers,
) -> None:
    """run_with_cache's memory against sequence length, the bridge's beside
    HookedTransformer's: exact integers, each curve one question to the planner."""

    def figure(plt: Any) -> Any:
        seqs = helpers.plot_seqs(plan.n_ctx)
        series = {_BRIDGE: plan.activation_curve(batch, seqs, glob, dtype)}
        if hooked is not None:
            series[_HOOKED] = hooked.activation_curve(batch, seqs, glob, dtype)
        which = "" if glob is None else f", hooks {glob}"
        title = clean(f"{name}: run_with_cache, batch {batch}, {dtype}{which}")
        return helpers.draw(plt, seqs, series, memory, title, thick=tuple(series))

    helpers.save_plot(path, figure)
