"""``size NAME --model bridge``: will TransformerLens 4.3's ``TransformerBridge`` fit?

The report for :class:`~transformer_presets.planner.bridge_plan.BridgePlan`, with the rows
and JSON keys of ``size --model hooked``: the bridge's parameters, weights, buffers and
key-value cache (or why TransformerLens 4.3 keeps none, and transformers' own), what
``run_with_cache`` holds (beside HookedTransformer's, where TransformerLens 3 builds the
preset too), forward FLOPs, the training state, and which memory sizes hold weights +
buffers + activations. Counted, not listed, as ``size`` counts: the bridge of a model of
65,536 layers answers at once. ``hooks NAME --model bridge`` is the ``hooks`` command
itself.
"""

from __future__ import annotations

import sys

from ..errors import PresetError
from ..planner.hooked import ModelPlan
from ._output import BOLD, EXIT_OK, PROG, Style, clean, emit, print_json
from ._planning import at_its_origin
from ._quick import registry_for
from ._units import fit_lines, format_bytes, format_flops, memory_fits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ..planner.bridge_params import BridgeParams
    from ..planner.hooked import BridgePlan
    from ._quick import Args


__all__ = ["size_bridge"]

_BRIDGE = "TransformerBridge (TransformerLens 4.3)"
_HOOKED = "HookedTransformer (TransformerLens 3)"


def _hooked(values: dict[str, Any], derived: dict[str, Any]) -> ModelPlan | None:
    """HookedTransformer's plan of the same preset, where TransformerLens 3 builds one."""
    try:
        return ModelPlan.from_resolved(values, derived)
    except PresetError:  # BERT, T5: not HookedTransformer
        return None


def _params(args: Args, name: str, plan: BridgePlan) -> BridgeParams:
    """The bridge's tensors; a value they cannot be laid out for (a user's GPT-2 whose
    heads do not make up d_model) names the file and line that set it, as ``size``'s
    other refusals do."""
    try:
        return plan.params
    except PresetError as exc:
        raise at_its_origin(exc, registry_for(args), name) from None


def _kv_cache(
    params: BridgeParams, batch: int, seq: int, dtype: str
) -> tuple[int | None, str | None, int | None]:
    """(the bridge's key-value cache or None, why it keeps none, transformers' own cache
    of the model it wraps or None: BERT does not generate)."""
    try:
        return params.kv_cache_bytes(batch, seq, dtype), None, None
    except PresetError as exc:
        refused = exc.reason
    try:
        own = params.transformers_kv_cache_bytes(batch, seq, dtype)
    except PresetError:
        own = None
    return None, refused, own


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
) -> int:
    """``size`` for the bridge: the hooks selected (all, or ``--hooks``), counted;
    ``memory`` the sizes to check."""
    params = _params(args, name, plan)
    glob = args.hooks
    activations = plan.activation_cache_bytes(batch, seq, glob, dtype)
    hooks = plan.hook_count(batch, seq, glob, dtype)
    listed = plan.listed_bytes(batch, seq, glob, dtype)
    parameters = params.total_params()
    weights = params.weight_bytes(dtype)
    buffers = params.buffer_bytes(dtype)
    training = params.training_state(args.optimizer, dtype)
    keys_values, kv_refused, own_kv = _kv_cache(params, batch, seq, dtype)
    flops = params.forward_flops(batch, seq, dtype)
    # Every FLOP counted is a multiple of the tokens (each matrix product runs per token).
    per_token = flops // (batch * seq)
    needed = weights + buffers + activations
    hooked = _hooked(values, derived)
    hooked_bytes = hooked_count = None
    if hooked is not None:
        try:
            hooked_bytes = hooked.activation_cache_bytes(batch, seq, glob, dtype)
            hooked_count = hooked.hook_count(batch, seq, glob, dtype)
        except PresetError:  # a dtype or size only one of the two can take
            hooked = None
    fits = memory_fits(needed, memory)
    if args.plot:
        _plot(args.plot, name, plan, hooked, batch, dtype, glob, memory)
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
                "optimizer": args.optimizer,
                "hooks": glob,
                "parameters": parameters,
                "stored_parameters": params.stored_params(),
                "weight_bytes": weights,
                "buffer_bytes": buffers,
                "kv_cache_bytes": keys_values,
                # transformers' cache keeps no attention mask.
                "kv_cache_mask_bytes": None if keys_values is None else 0,
                "kv_cache_refused": kv_refused,
                "transformers_kv_cache_bytes": keys_values if own_kv is None else own_kv,
                "activation_bytes": activations,
                "activation_hooks": hooks,
                "listed_bytes": listed,
                "hooked_activation_bytes": hooked_bytes,
                "hooked_activation_hooks": hooked_count,
                "forward_flops": flops,
                "flops_per_token": per_token,
                "training_state": training.to_dict(),
                "needed_bytes": needed,
                "converted": False,
                "memory": fits,
            }
        )
        return EXIT_OK

    style = Style(sys.stdout)
    which = "hooks (all)" if glob is None else f"hooks matching {glob!r}"
    stored = params.stored_params()
    views = "" if stored == parameters else f"; {stored:,} stored, the rest views of fused matrices"
    if keys_values is not None:
        kv_row = (
            format_bytes(keys_values),
            f"keys and values after {seq} tokens (transformers' cache)",
        )
    else:
        # The reason's first clause; --json has all of it.
        own = "" if own_kv is None else f"; transformers' own: {format_bytes(own_kv)}"
        kv_row = ("-", str(kv_refused).split(":", 1)[0] + own)
    rows = [
        ("parameters", f"{parameters:,}", f"bridge.parameters(){views}"),
        ("weights", format_bytes(weights), ""),
        ("buffers", format_bytes(buffers), "as built: no forward pass adds one"),
        ("KV cache", *kv_row),
        (
            "activations",
            format_bytes(activations),
            f"run_with_cache, {hooks} {which}; {format_bytes(listed)} listed, a tensor "
            "under two names counted once",
        ),
    ]
    if hooked_bytes is not None:
        rows.append(
            (
                "HookedTransformer",
                format_bytes(hooked_bytes),
                f"the same question for TransformerLens 3: {hooked_count} hooks",
            )
        )
    rows += [
        (
            "forward",
            format_flops(flops),
            f"per pass; {format_flops(per_token)} per token",
        ),
        (
            "training state",
            format_bytes(training.total),
            f"{args.optimizer}: weights + gradients {format_bytes(training.gradients)}"
            f" + optimizer state {format_bytes(training.optimizer)}",
        ),
    ]
    architecture = values.get("original_architecture")
    lines = [
        style(name, BOLD)
        + f" ({architecture}, TransformerLens 4.3 TransformerBridge, {plan.layout.adapter.name}):",
        f"batch {batch} x seq {seq}, {dtype}",
        "",
    ]
    lines += fit_lines(
        style,
        rows,
        names=18,
        total="weights + buffers + activations",
        needed=needed,
        fits=fits,
        footnote=(
            "Not counted: the CUDA context, the allocator's caching and fragmentation, and the\n"
            "temporary tensors of the forward pass (intermediates that no hook caches).\n"
            "Filter with --hooks GLOB (run_with_cache(names_filter=...)): the bridge caches each\n"
            "component's hook_in and hook_out beside HookedTransformer's names."
        ),
    )
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
) -> None:
    """run_with_cache's memory against sequence length, the bridge's beside
    HookedTransformer's: exact integers, each curve one question to the planner."""

    from ._plot import draw, plot_seqs, save_plot

    def figure(plt: Any) -> Any:
        seqs = plot_seqs(plan.n_ctx)
        series = {_BRIDGE: plan.activation_curve(batch, seqs, glob, dtype)}
        if hooked is not None:
            series[_HOOKED] = hooked.activation_curve(batch, seqs, glob, dtype)
        which = "" if glob is None else f", hooks {glob}"
        title = clean(f"{name}: run_with_cache, batch {batch}, {dtype}{which}")
        return draw(plt, seqs, series, memory, title, thick=tuple(series))

    save_plot(path, figure)
