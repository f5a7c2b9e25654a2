"""``size NAME --model bridge``: will TransformerLens 4.3's ``TransformerBridge`` fit?

The report for :class:`~transformer_presets.planner.BridgePlan`: what ``run_with_cache``
holds (beside HookedTransformer's, where TransformerLens 3 builds the preset too), the
weights of the ``transformers`` model the bridge wraps where they are worked out, and
which memory sizes hold them; the questions the bridge planner does not answer are said
to be so. ``hooks NAME --model bridge`` is the ``hooks`` command itself.
"""

from __future__ import annotations

import sys

from ..errors import PresetError
from ..planner import ModelPlan, held_bytes
from ._output import BOLD, DIM, EXIT_OK, Style, emit, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..planner import BridgePlan, HookSpec
    from ._quick import Args

    # The ``size`` command's helpers, handed over by it (``_plan`` imports this module).
    Format = Callable[[int], str]

__all__ = ["size_bridge"]

_NOT_COVERED = "not worked out for the bridge (--model hooked has them)"
GiB = 2**30
PLOT_POINTS = 64


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
    specs: list[HookSpec],
    batch: int,
    seq: int,
    dtype: str,
    *,
    memory: list[int],
    format_bytes: Format,
    format_percent: Callable[[int, int], str],
    figure: Callable[[str], tuple[Any, str]],
) -> int:
    """``size`` for the bridge; ``specs`` are the hooks selected (all, or ``--hooks``),
    ``memory`` the sizes to check; the rest are the command's own helpers (formats, and
    ``figure(path)``: pyplot and the image format, checked)."""
    glob = args.hooks
    activations = held_bytes(specs)
    hooked = _hooked(values, derived)
    hooked_bytes = hooked_count = None
    if hooked is not None:
        try:
            hooked_specs = hooked.hook_specs(batch, seq, dtype)
        except PresetError:  # a dtype or size only one of the two can take
            hooked = None
        else:
            if glob is not None:
                import fnmatch

                hooked_specs = [s for s in hooked_specs if fnmatch.fnmatchcase(s.name, glob)]
            hooked_bytes, hooked_count = held_bytes(hooked_specs), len(hooked_specs)
    needed = activations
    fits = [{"size_bytes": size, "fits": needed <= size} for size in memory]
    if args.plot:
        plot_bridge(args.plot, name, plan, hooked, batch, dtype, glob, memory, figure, format_bytes)
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
                "activation_hooks": len(specs),
                "listed_bytes": sum(s.nbytes for s in specs),
                "hooked_activation_bytes": hooked_bytes,
                "hooked_activation_hooks": hooked_count,
                "needed_bytes": needed,
                "memory": fits,
            }
        )
        return EXIT_OK

    style = Style(sys.stdout)
    which = "hooks (all)" if glob is None else f"hooks matching {glob!r}"
    listed = sum(s.nbytes for s in specs)
    rows = [
        (
            "activations",
            format_bytes(activations),
            f"run_with_cache, {len(specs)} {which}; {format_bytes(listed)} listed, a tensor "
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
    lines += ["", f"activations = {format_bytes(needed)}:"]
    for item in fits:
        size = item["size_bytes"]
        verdict = "fits" if item["fits"] else "does not fit"
        lines.append(f"  {format_bytes(size):>10}  {verdict} ({format_percent(needed, size)})")
    lines += [
        "",
        style(
            "Filter with --hooks GLOB (run_with_cache(names_filter=...)): the bridge caches each\n"
            "component's hook_in and hook_out beside HookedTransformer's names.",
            DIM,
        ),
    ]
    emit(lines)
    return EXIT_OK


def plot_bridge(
    path: str,
    name: str,
    plan: BridgePlan,
    hooked: ModelPlan | None,
    batch: int,
    dtype: str,
    glob: str | None,
    memory: list[int],
    figure: Callable[[str], tuple[Any, str]],
    format_bytes: Format,
) -> None:
    """run_with_cache's memory against sequence length, the bridge's beside HookedTransformer's."""
    plt, image_format = figure(path)
    n_ctx = plan.n_ctx
    seqs = sorted({max(1, round(n_ctx * i / PLOT_POINTS)) for i in range(PLOT_POINTS + 1)})
    series = {
        "TransformerBridge (TransformerLens 4.3)": [
            plan.activation_cache_bytes(batch, seq, glob, dtype) / GiB for seq in seqs
        ]
    }
    if hooked is not None:
        series["HookedTransformer (TransformerLens 3)"] = [
            hooked.activation_cache_bytes(batch, seq, glob, dtype) / GiB for seq in seqs
        ]
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, values in series.items():
        ax.plot(seqs, values, label=key, linewidth=2.5 if key.startswith("Transformer") else 1.5)
    top = max(max(v) for v in series.values())
    for size in memory:
        if size / GiB <= top * 1.05:
            ax.axhline(size / GiB, color="grey", linestyle=":", linewidth=1)
            ax.annotate(format_bytes(size), (seqs[0], size / GiB), fontsize=8, color="grey")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("GiB")
    which = "" if glob is None else f", hooks {glob}"
    ax.set_title(f"{name}: run_with_cache, batch {batch}, {dtype}{which}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format=image_format)
    plt.close(fig)
    sys.stderr.write(f"wrote {path}\n")
