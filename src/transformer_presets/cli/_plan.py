"""The ``size`` and ``hooks`` commands: will a preset's model fit, and what does it cache?

``size NAME`` reports parameters, weights, buffers, the KV cache, ``run_with_cache``'s
activations, forward FLOPs and the training state, and which memory sizes hold the
weights, buffers and activations; ``hooks NAME [GLOB]`` lists every hook with its shape
and bytes. Both read the preset's resolved values from the registry (as ``list`` does)
and work them out with :mod:`.planner`: no torch, numpy or config class is imported.
``--model bridge`` asks about TransformerLens 4.3's ``TransformerBridge`` instead of
TransformerLens 3's ``HookedTransformer`` (:class:`~transformer_presets.planner.BridgePlan`).
"""

from __future__ import annotations

import sys

from ..errors import PresetArgumentError, PresetError
from ..params import total_params
from ..planner import MAX_SIZE, MODELS, OPTIMIZERS, BridgePlan, ModelPlan, dtype_key, held_bytes
from ._output import BOLD, DIM, EXIT_OK, PROG, Style, clean, emit, print_json, table
from ._quick import registry_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from collections.abc import Callable, Sequence
    from typing import Any

    from ._quick import Args

__all__ = [
    "DEFAULT_MEMORY",
    "cmd_hooks",
    "cmd_size",
    "dtype_option",
    "for_argparse",
    "format_bytes",
    "format_flops",
    "format_percent",
    "matplotlib_figure",
    "model_option",
    "optimizer_option",
    "parse_memory",
    "positive",
    "quick_plan_args",
]

GiB = 2**30
#: The memory sizes ``size`` checks by default: common accelerators (8 to 80 GiB).
DEFAULT_MEMORY = (8 * GiB, 16 * GiB, 24 * GiB, 40 * GiB, 80 * GiB)

# Suffix -> bytes. Single letters are binary, as GPU tools and `ls -h` show sizes.
_UNITS = {
    "": 1,
    "b": 1,
    **{f"{p}b": 1000**i for i, p in enumerate("kmgtp", 1)},
    **{f"{p}ib": 1024**i for i, p in enumerate("kmgtp", 1)},
    **{p: 1024**i for i, p in enumerate("kmgtp", 1)},
}
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
_DECIMAL = ("", "k", "M", "G", "T", "P", "E", "Z", "Y")
PLOT_POINTS = 64


def format_bytes(n: int) -> str:
    """Bytes in binary units with one decimal: ``1395864371`` -> ``"1.3 GiB"``.

    >>> format_bytes(48), format_bytes(1536), format_bytes(1395864371)
    ('48 B', '1.5 KiB', '1.3 GiB')
    """
    value, unit = _scaled(n, 1024, len(_BINARY))
    return f"{n} B" if unit == 0 else f"{_number(value)} {_BINARY[unit]}"


def format_flops(n: float) -> str:
    """FLOPs in decimal units with one decimal: ``4.2e12`` -> ``"4.2 TFLOP"``.

    >>> format_flops(4.2e12), format_flops(512), format_flops(284812800.0)
    ('4.2 TFLOP', '512 FLOP', '284.8 MFLOP')
    """
    value, unit = _scaled(n, 1000, len(_DECIMAL))
    text = f"{value:.0f}" if unit == 0 else _number(value)
    return f"{text} {_DECIMAL[unit]}FLOP"


def _scaled(n: float, step: int, units: int) -> tuple[float, int]:
    """``n`` divided by ``step`` until below it (or out of ``units``), and how many times."""
    value, unit = float(n), 0
    while abs(value) >= step and unit < units - 1:
        value /= step
        unit += 1
    return value, unit


def _number(value: float) -> str:
    """One decimal, or past the largest unit's thousands a power of ten (``2.3e+09``)."""
    return f"{value:.1f}" if abs(value) < 10000 else f"{value:.1e}"


def format_percent(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole``, whole numbers; a power of ten when huge.

    >>> format_percent(1, 3), format_percent(1, 10**4), format_percent(5 * 10**20, 1)
    ('33%', '<1%', '5.0e+22%')
    """
    percent = 100 * part / whole
    if 0 < percent < 0.5:
        return "<1%"  # not 0%: something is needed
    return f"{percent:.0f}%" if percent < 10**6 else f"{percent:.1e}%"


def parse_memory(text: str) -> int:
    """A memory size in bytes: ``"24GiB"``, ``"24 GB"`` (10**9), ``"24G"`` (binary), ``"512"``.

    Raises ``ValueError`` for anything else (argparse turns it into a usage error).

    >>> parse_memory("24GiB"), parse_memory("1.5 GB"), parse_memory("16g")
    (25769803776, 1500000000, 17179869184)
    """
    stripped = text.strip()
    digits = stripped.rstrip("BbIiKkMmGgTtPp ")
    unit = stripped[len(digits) :].strip().lower()
    try:
        number = float(digits)
    except ValueError:
        number = -1.0
    # Less than a byte (0.5, 1e-9GiB) would be a memory of 0 bytes.
    if unit not in _UNITS or not number * _UNITS[unit] >= 1 or number == float("inf"):
        raise ValueError(f"cannot read {text!r} as a memory size (examples: 24GiB, 80GB, 16G)")
    return int(number * _UNITS[unit])


# -- arguments --------------------------------------------------------------------------


# Readers of option values: ValueError with the message for a bad one. The quick reader
# calls them directly; argparse through _for_argparse, so that it shows the message.


def positive(text: str) -> int:
    """An option's positive integer (``--batch``, ``--seq``); ValueError with the message."""
    try:
        value = int(text)
    except ValueError:
        # Python refuses to read integers of thousands of digits: too large anyway.
        value = MAX_SIZE + 1 if text.strip().lstrip("+").isdigit() else 0
    if value < 1:
        raise ValueError(f"must be a positive integer, got {text!r}")
    if value > MAX_SIZE:
        shown = repr(text) if len(text) <= 30 else f"a number of {len(text.strip())} digits"
        raise ValueError(
            f"must be at most {MAX_SIZE} (a tensor's dimensions are 64-bit integers), got {shown}"
        )
    return value


def dtype_option(text: str) -> str:
    """A ``--dtype`` value, by its canonical name; ValueError with the message."""
    try:
        return dtype_key(text)
    except PresetError as exc:
        raise ValueError(exc.reason) from None


def optimizer_option(text: str) -> str:
    """An ``--optimizer`` value; ValueError for an unknown one."""
    if text not in OPTIMIZERS:
        raise ValueError(text)
    return text


def model_option(text: str) -> str:
    """A ``--model`` value; ValueError for an unknown one."""
    if text not in MODELS:
        raise ValueError(text)
    return text


def for_argparse(reader: Callable[[str], Any]) -> Callable[[str], Any]:
    """``reader`` with its ValueError worded as argparse shows it."""

    def read(text: str) -> Any:
        import argparse

        try:
            return reader(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    read.__name__ = reader.__name__
    return read


def quick_plan_args(argv: Sequence[str], prog: str) -> types.SimpleNamespace | None:
    """``size``/``hooks`` arguments in their plain forms, or None to let argparse read them."""
    import types

    command = argv[0]
    args = types.SimpleNamespace(
        command=command,
        json=False,
        preset_path=[],
        batch=1,
        seq=None,
        dtype=None,
        model="hooked",
        prog=prog,
    )
    if command == "size":
        args.__dict__.update(hooks=None, optimizer="adamw", memory=None, plot=None, func=cmd_size)
        options: tuple[str, ...] = ("--batch", "--seq", "--dtype", "--model", "--hooks")
        options += ("--optimizer", "--plot", "--memory")
        most_positionals = 1
    else:
        args.__dict__.update(glob=None, func=cmd_hooks)
        options = ("--batch", "--seq", "--dtype", "--model")
        most_positionals = 2
    readers: dict[str, Callable[[str], Any]] = {
        "--batch": positive,
        "--seq": positive,
        "--dtype": dtype_option,
        "--model": model_option,
        "--optimizer": optimizer_option,
    }
    positionals: list[str] = []
    positionals_ended = False
    i = 1
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-"):
            if positionals_ended or len(positionals) == most_positionals:
                return None  # argparse reads positionals in one run
            positionals.append(arg)
            continue
        positionals_ended = bool(positionals)
        if arg == "--json":
            args.json = True
            continue
        option, equals, value = arg.partition("=")
        if option not in (*options, "--preset-path"):
            return None
        if option == "--memory":
            # One or more sizes, up to the next option, added to any given before.
            sizes = [value] if equals else []
            while not equals and i < len(argv) and not argv[i].startswith("-"):
                sizes.append(argv[i])
                i += 1
            if not sizes:
                return None
            try:
                args.memory = (args.memory or []) + [parse_memory(v) for v in sizes]
            except ValueError:
                return None
            continue
        if not equals:
            if i == len(argv) or argv[i].startswith("-"):
                return None  # argparse's "expected one argument"
            value = argv[i]
            i += 1
        if option == "--preset-path":
            args.preset_path.append(value)
            continue
        try:
            read = readers.get(option, str)(value)
        except ValueError:  # argparse words the complaint
            return None
        setattr(args, option[2:], read)
    if not positionals:
        return None  # argparse's "the following arguments are required"
    args.name = positionals[0]
    if len(positionals) == 2:
        args.glob = positionals[1]
    return args


# -- shared -------------------------------------------------------------------------------


def _plan(
    args: Args,
) -> tuple[str, dict[str, Any], dict[str, Any], ModelPlan, int, int, str]:
    """(the preset's name, values, derived values, plan, batch, seq, dtype) for the arguments."""
    registry = registry_for(args)
    name = registry.name(args.name)
    values, derived = registry.resolve(name), registry.derived(name)
    kind = BridgePlan if args.model == "bridge" else ModelPlan
    try:
        plan = kind.from_resolved(values, derived)
        dtype = args.dtype or plan.dtype
        if isinstance(plan, BridgePlan) and args.dtype is None:
            plan.layout.check_dtype(dtype)  # the preset's own dtype
    except PresetError as exc:
        # Name the file (and line) that set the value the planner refuses.
        origin = registry.explain(name).get(exc.key or "")
        if origin is not None and origin.file is not None:
            raise exc.with_context(preset=name, file=origin.file, line=origin.line) from None
        raise exc.with_context(preset=name, file=registry.info(name).file) from None
    if isinstance(plan, BridgePlan) and args.dtype is not None:
        try:
            plan.layout.check_dtype(dtype)
        except PresetError as exc:  # a usage error (status 2)
            raise PresetArgumentError(f"argument --dtype: {exc.reason}") from None
    seq = plan.n_ctx if args.seq is None else args.seq
    if seq > plan.n_ctx:
        # A usage error (status 2).
        raise PresetArgumentError(
            f"argument --seq: {seq} is beyond {name}'s context (n_ctx = {plan.n_ctx})"
        )
    return name, values, derived, plan, args.batch, seq, dtype


def _glob_note(glob: str | None, count: int) -> None:
    if glob is not None and count == 0:
        sys.stderr.write(clean(f"{PROG}: no hooks match {glob!r}") + "\n")


# -- size -----------------------------------------------------------------------------------


def cmd_size(args: Args) -> int:

    name, values, derived, plan, batch, seq, dtype = _plan(args)
    glob = args.hooks
    specs = plan.hook_specs(batch, seq, dtype)
    if glob is not None:
        import fnmatch

        specs = [s for s in specs if fnmatch.fnmatchcase(s.name, glob)]
    if isinstance(plan, BridgePlan):
        from ._plan_bridge import size_bridge

        size_bridge(
            *(args, name, values, derived, plan, specs, batch, seq, dtype),
            memory=args.memory or list(DEFAULT_MEMORY),
            format_bytes=format_bytes,
            format_percent=format_percent,
            figure=matplotlib_figure,
        )
        _glob_note(glob, len(specs))
        return EXIT_OK

    activations = held_bytes(specs)
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
    needed = weights + buffers + activations
    memory = args.memory or list(DEFAULT_MEMORY)
    fits = [{"size_bytes": size, "fits": needed <= size} for size in memory]

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
                "activation_hooks": len(specs),
                "forward_flops": flops,
                "flops_per_token": flops / (batch * seq),
                "training_state": training.to_dict(),
                "needed_bytes": needed,
                "converted": plan._converted(dtype),
                "memory": fits,
            }
        )
        return EXIT_OK

    style = Style(sys.stdout)
    which = "hooks (all)" if glob is None else f"hooks matching {glob!r}"
    per_token = flops / (batch * seq)
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
        ("activations", format_bytes(activations), f"run_with_cache, {len(specs)} {which}"),
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
    width = max(len(r[1]) for r in rows)
    lines += [f"{k:<16}{v:>{width}}  {style(note, DIM)}".rstrip() for k, v, note in rows]
    lines += ["", f"weights + buffers + activations = {format_bytes(needed)}:"]
    for item in fits:
        size = item["size_bytes"]
        verdict = "fits" if item["fits"] else "does not fit"
        lines.append(f"  {format_bytes(size):>10}  {verdict} ({format_percent(needed, size)})")
    lines += [
        "",
        style(
            "Not counted: the CUDA context, the allocator's caching and fragmentation, and the\n"
            "temporary tensors of the forward pass (intermediates that no hook caches).",
            DIM,
        ),
    ]
    lines += [style(note, DIM) for note in _notes(plan, dtype)]
    emit(lines)
    _glob_note(glob, len(specs))
    return EXIT_OK


def _notes(plan: ModelPlan, dtype: str) -> list[str]:
    """What the reader of a mixture of experts' numbers should know."""
    notes = []
    if plan.experts:
        notes.append(
            "Expert hooks: an even split of the routed tokens (the router decides the real one;\n"
            "the totals are the same)."
        )
    if plan._converted(dtype):
        notes.append(
            f"TransformerLens 3.9 keeps this model's experts and router in float32 and cannot run\n"
            f"it so in {dtype}: these are the numbers of the model after model.to({dtype})."
        )
    return notes


def _buffer_note(plan: ModelPlan) -> str:
    if plan.pos == "rotary":
        return "rotary sine and cosine tables"
    if plan.pos == "alibi":
        return "the ALiBi bias each layer keeps after a forward pass"
    return "scalars only"


def matplotlib_figure(path: str) -> tuple[Any, str]:
    """``matplotlib.pyplot`` for files, and the image format ``path`` asks for.

    Checked before any work: without a suffix matplotlib would add ".png" to the name,
    and with one it cannot write it would fail only after the work is done.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise PresetError(
            "--plot needs matplotlib: pip install 'transformer-presets[plot]'"
        ) from None
    import os.path

    from matplotlib.backend_bases import FigureCanvasBase

    image_format = os.path.splitext(path)[1][1:].lower() or "png"
    formats = FigureCanvasBase.get_supported_filetypes()
    if image_format not in formats:
        raise PresetArgumentError(
            f"argument --plot: cannot write {image_format!r} images "
            f"(formats: {', '.join(sorted(formats))})"
        )
    return plt, image_format


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
    plt, image_format = matplotlib_figure(path)
    n_ctx = plan.n_ctx
    seqs = sorted({max(1, round(n_ctx * i / PLOT_POINTS)) for i in range(PLOT_POINTS + 1)})
    weights = plan.weight_bytes(dtype)
    series: dict[str, list[float]] = {
        "weights": [],
        "buffers": [],
        "KV cache": [],
        "activations": [],
        "weights + buffers + activations": [],
    }
    try:
        plan.kv_cache_bytes(1, 1, dtype)
    except PresetError:  # a model TransformerLens's KV cache cannot hold: no such line
        del series["KV cache"]
    for seq in seqs:
        buffers = plan.buffer_bytes(seq, dtype)
        activations = plan.activation_cache_bytes(batch, seq, glob, dtype)
        point = {
            "weights": weights,
            "buffers": buffers,
            "activations": activations,
            "weights + buffers + activations": weights + buffers + activations,
        }
        if "KV cache" in series:
            point["KV cache"] = plan.kv_cache_bytes(batch, seq, dtype)
        for key, values in series.items():
            values.append(point[key] / GiB)
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, values in series.items():
        ax.plot(seqs, values, label=key, linewidth=2.5 if key.startswith("weights +") else 1.5)
    top = max(series["weights + buffers + activations"])
    for size in memory:
        if size / GiB <= top * 1.05:
            ax.axhline(size / GiB, color="grey", linestyle=":", linewidth=1)
            ax.annotate(format_bytes(size), (seqs[0], size / GiB), fontsize=8, color="grey")
    ax.set_yscale("log")
    ax.set_ylim(bottom=top / 1e4)  # below that, tiny buffers would squash the rest
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("GiB")
    which = "" if glob is None else f", hooks {glob}"
    ax.set_title(f"{name}: batch {batch}, {dtype}{which}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format=image_format)
    plt.close(fig)
    sys.stderr.write(f"wrote {path}\n")


# -- hooks ----------------------------------------------------------------------------------


def cmd_hooks(args: Args) -> int:

    name, _, _, plan, batch, seq, dtype = _plan(args)
    specs = plan.hook_specs(batch, seq, dtype)
    if args.glob is not None:
        import fnmatch

        specs = [s for s in specs if fnmatch.fnmatchcase(s.name, args.glob)]
    total = held_bytes(specs)
    if args.json:
        print_json(
            {
                "name": name,
                "model": args.model,
                "batch": batch,
                "seq": seq,
                "dtype": dtype,
                "pattern": args.glob,
                "hooks": [s.to_dict() for s in specs],
                "total_bytes": total,
            }
        )
        return EXIT_OK

    style = Style(sys.stdout)
    selected = {s.name for s in specs}
    rows = []
    for s in specs:
        shared = s.same_as is not None and s.same_as in selected
        note = f"same tensor as {s.same_as}" if shared else ""
        if not shared and s.storage_bytes is not None:
            note = (
                f"a view of {format_bytes(s.storage_bytes)}"
                if s.storage_bytes
                else "a view of a model buffer"
            )
        rows.append(
            [
                s.name,
                "[" + ", ".join(map(str, s.shape)) + "]",
                s.dtype,
                format_bytes(s.nbytes),
                note,
            ]
        )

    def colour(_row: int, col: int, text: str) -> str | None:
        return DIM if col == 4 and text else None

    lines = table(
        ["HOOK", "SHAPE", "DTYPE", "BYTES", "NOTE"], rows, right=(3,), style=style, colours=colour
    )
    lines.append(
        f"{len(specs)} hooks, {format_bytes(total)} ({total:,} bytes; "
        f"batch {batch} x seq {seq}, a tensor under two names counted once)"
    )
    lines += [style(note, DIM) for note in _notes(plan, dtype)]
    if isinstance(plan, BridgePlan):
        lines.append(style(f"TransformerLens 4.3 TransformerBridge: {plan.architecture}", DIM))
    emit(lines)
    _glob_note(args.glob, len(specs))
    return EXIT_OK
