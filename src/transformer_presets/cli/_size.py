"""``size NAME``: will HookedTransformer's model fit, and what will it hold?

The report of parameters, weights, buffers, the KV cache, ``run_with_cache``'s
activations, forward FLOPs and the training state, which memory sizes hold the weights,
buffers and activations (:func:`._units.fit_lines`), and ``--plot``, those against
sequence length (:mod:`._plot`, imported only to plot). ``--model bridge`` hands over to
:mod:`._plan_bridge`.
"""

from __future__ import annotations

import sys

from ..errors import PresetError
from ..fields.params import total_params
from ..planner.hooked import BridgePlan, ModelPlan
from ._output import BOLD, DIM, EXIT_OK, Style, clean, emit, print_json
from ._planning import glob_note, notes, plan_for, selected
from ._units import (
    DEFAULT_MEMORY,
    fit_lines,
    format_bytes,
    format_flops,
    memory_fits,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ._quick import Args

__all__ = ["cmd_size"]


#: What ``size`` checks against each memory size, and the line its plot draws thicker.
_TOTAL = "weights + buffers + activations"


def cmd_size(args: Args) -> int:

    name, values, derived, plan, batch, seq, dtype = plan_for(args)
    glob = args.hooks
    if isinstance(plan, BridgePlan):
        from ._plan_bridge import size_bridge

        selected("--hooks", lambda: plan.hook_count(batch, seq, glob, dtype))

        return size_bridge(
            *(args, name, values, derived, plan, batch, seq, dtype),
            memory=args.memory or list(DEFAULT_MEMORY),
        )
    # Counted, not listed: a model of 65,536 layers or many experts answers at once.
    activations = plan.activation_cache_bytes(batch, seq, glob, dtype)
    hooks = plan.hook_count(batch, seq, glob, dtype)
    parameters = total_params({**values, **derived})
    training = plan.training_state(args.optimizer, dtype)
    weights = plan.weight_bytes(dtype)
    buffers = plan.buffer_bytes(seq, dtype)

    keys_values: int | None = None
    mask: int | None = None
    kv_error = ""
    try:
        keys_values = plan.kv_cache_bytes(batch, seq, dtype)
        mask = plan.kv_cache_bytes(batch, seq, dtype, include_mask=True) - keys_values
    except PresetError as exc:  # a model TransformerLens's KV cache cannot hold
        kv_error = exc.reason
    flops = plan.forward_flops(batch, seq)
    # Every FLOP counted is a multiple of the tokens (each matrix product runs per token).
    per_token = flops // (batch * seq)
    needed = weights + buffers + activations
    memory = args.memory or list(DEFAULT_MEMORY)
    fits = memory_fits(needed, memory)

    if args.plot:
        _plot(args.plot, name, plan, batch, dtype, glob, memory)
    if args.json:
        print_json(
            {
                "name": name,
                "architecture": values.get("original_architecture"),
                "batch": batch,
                "seq": seq,
                "dtype": dtype,
                "optimizer": args.optimizer,
                "hooks": glob,
                "parameters": parameters,
                "weight_bytes": weights,
                "buffer_bytes": buffers,
                "kv_cache_bytes": keys_values,
                "kv_cache_mask_bytes": mask,
                "activation_bytes": activations,
                "activation_hooks": hooks,
                "forward_flops": flops,
                "flops_per_token": per_token,
                "training_state": training.to_dict(),
                "needed_bytes": needed,
                "converted": plan._converted(dtype),
                "memory": fits,
            }
        )
        return EXIT_OK

    style = Style(sys.stdout)
    which = "hooks (all)" if glob is None else f"hooks matching {glob!r}"
    rows = [
        ("parameters", f"{parameters:,}", ""),
        ("weights", format_bytes(weights), ""),
        ("buffers", format_bytes(buffers), _buffer_note(plan)),
        (
            ("KV cache", "-", kv_error)
            if keys_values is None or mask is None
            else (
                "KV cache",
                format_bytes(keys_values),
                f"keys and values after {seq} tokens (its {format_bytes(mask)} mask not counted)",
            )
        ),
        ("activations", format_bytes(activations), f"run_with_cache, {hooks} {which}"),
        ("forward", format_flops(flops), f"per pass; {format_flops(per_token)} per token"),
        (
            "training state",
            format_bytes(training.total),
            f"{args.optimizer}: weights + gradients {format_bytes(training.gradients)}"
            f" + optimizer state {format_bytes(training.optimizer)}",
        ),
    ]
    architecture = values.get("original_architecture") or "custom"
    lines = [
        style(name, BOLD) + f" ({architecture}): batch {batch} x seq {seq}, {dtype}",
        "",
    ]
    lines += fit_lines(
        style,
        rows,
        names=16,
        total=_TOTAL,
        needed=needed,
        fits=fits,
        footnote=(
            "Not counted: the CUDA context, the allocator's caching and fragmentation, and the\n"
            "temporary tensors of the forward pass (intermediates that no hook caches)."
        ),
    )
    lines += [style(note, DIM) for note in notes(plan, dtype)]
    emit(lines)
    glob_note(glob, hooks)
    return EXIT_OK


def _buffer_note(plan: ModelPlan) -> str:
    if plan.pos == "rotary":
        return "rotary sine and cosine tables"
    if plan.pos == "alibi":
        return "the ALiBi bias each layer keeps after a forward pass"
    return "scalars only"


def _plot_series(
    plan: ModelPlan, batch: int, dtype: str, glob: str | None
) -> tuple[list[int], dict[str, list[int]]]:
    """Sequence lengths from 1 to the context, and each memory component's bytes at them.

    Exact integers (a context of 2**63 - 1 is no float), and each a single question to
    the planner: the activations of every length are counted with one selection.
    """
    from ._plot import plot_seqs

    seqs = plot_seqs(plan.n_ctx)
    weights = plan.weight_bytes(dtype)
    buffers = [plan.buffer_bytes(seq, dtype) for seq in seqs]
    activations = plan.activation_curve(batch, seqs, glob, dtype)
    series = {"weights": [weights] * len(seqs), "buffers": buffers}
    try:
        series["KV cache"] = [plan.kv_cache_bytes(batch, seq, dtype) for seq in seqs]
    except PresetError:  # a model TransformerLens's KV cache cannot hold: no such line
        pass
    series["activations"] = activations
    series[_TOTAL] = [weights + b + a for b, a in zip(buffers, activations, strict=True)]
    return seqs, series


def _plot(
    path: str,
    name: str,
    plan: ModelPlan,
    batch: int,
    dtype: str,
    glob: str | None,
    memory: Sequence[int],
) -> None:
    """Memory components against sequence length, up to the context, as an image."""

    from ._plot import draw, save_plot

    def figure(plt: Any) -> Any:
        seqs, series = _plot_series(plan, batch, dtype, glob)
        title = f"{name}: batch {batch}, {dtype}" + ("" if glob is None else f", hooks {glob}")
        return draw(plt, seqs, series, memory, clean(title), thick=(_TOTAL,))

    save_plot(path, figure)
