"""The ``size`` and ``hooks`` commands: will a preset's model fit, and what does it cache?

``size NAME`` reports parameters, weights, buffers, the KV cache, ``run_with_cache``'s
activations, forward FLOPs and the training state, and which memory sizes hold the
weights, buffers and activations; ``hooks NAME [GLOB]`` lists every hook with its shape
and bytes. Both read the preset's resolved values from the registry (as ``list`` does)
and work them out with :mod:`.planner`: no torch, numpy or config class is imported.
``--model bridge`` asks about TransformerLens 4.3's ``TransformerBridge`` instead of
TransformerLens 3's ``HookedTransformer`` (:class:`~transformer_presets.planner.hooked.BridgePlan`).
"""

from __future__ import annotations

import sys

from ..errors import PresetArgumentError, PresetError
from ..fields.params import total_params
from ..planner.hooked import (
    MAX_SIZE,
    MODELS,
    OPTIMIZERS,
    BridgePlan,
    ModelPlan,
    dtype_key,
    held_bytes,
)
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
    "draw",
    "dtype_option",
    "for_argparse",
    "format_bytes",
    "format_flops",
    "format_percent",
    "model_option",
    "optimizer_option",
    "parse_memory",
    "plot_seqs",
    "positive",
    "quick_plan_args",
    "save_plot",
]

GiB = 2**30
#: The memory sizes ``size`` checks by default: common accelerators (8 to 80 GiB).
DEFAULT_MEMORY = (8 * GiB, 16 * GiB, 24 * GiB, 40 * GiB, 80 * GiB)
#: The largest ``--memory``: what 64-bit addresses reach (16 EiB).
MAX_MEMORY = 2**64

# Suffix -> bytes. Single letters are binary, as GPU tools and `ls -h` show sizes.
_UNITS = {
    "": 1,
    "b": 1,
    **{f"{p}b": 1000**i for i, p in enumerate("kmgtpe", 1)},
    **{f"{p}ib": 1024**i for i, p in enumerate("kmgtpe", 1)},
    **{p: 1024**i for i, p in enumerate("kmgtpe", 1)},
}
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
_DECIMAL = ("", "k", "M", "G", "T", "P", "E", "Z", "Y")
PLOT_POINTS = 64


# Sizes are whole numbers of bytes or FLOPs, of any size (a batch and a sequence of
# 2**63 - 1 give ~2**200 bytes): they are scaled and rounded as integers, never as floats,
# which would round them (and cannot hold past 1.8e308).


def format_bytes(n: int) -> str:
    """Bytes in binary units with one decimal: ``1395864371`` -> ``"1.3 GiB"``.

    >>> format_bytes(48), format_bytes(1536), format_bytes(1395864371)
    ('48 B', '1.5 KiB', '1.3 GiB')
    """
    unit = _unit(n, 1024, len(_BINARY))
    return f"{n} B" if unit == 0 else f"{_number(n, 1024**unit)} {_BINARY[unit]}"


def format_flops(n: int) -> str:
    """FLOPs in decimal units with one decimal: ``4200000000000`` -> ``"4.2 TFLOP"``.

    >>> format_flops(4_200_000_000_000), format_flops(512), format_flops(284_812_800)
    ('4.2 TFLOP', '512 FLOP', '284.8 MFLOP')
    """
    unit = _unit(n, 1000, len(_DECIMAL))
    text = str(n) if unit == 0 else _number(n, 1000**unit)
    return f"{text} {_DECIMAL[unit]}FLOP"


def _unit(n: int, step: int, units: int) -> int:
    """How many times ``n`` is divided by ``step`` to fall below it (at most ``units`` - 1)."""
    unit = 0
    while n >= step ** (unit + 1) and unit < units - 1:
        unit += 1
    return unit


def _rounded(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` to the nearest integer, ties to even (as ``round``)."""
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2):
        quotient += 1
    return quotient


def _number(numerator: int, denominator: int) -> str:
    """The ratio with one decimal, or from 10,000 as a power of ten (``2.3e+09``)."""
    if numerator < 10_000 * denominator:
        tenths = _rounded(10 * numerator, denominator)
        return f"{tenths // 10}.{tenths % 10}"
    whole = numerator // denominator
    # Its digits, without str(): Python refuses to print integers of over 4,300 of them.
    exponent = max(0, whole.bit_length() * 30103 // 100000 - 1)
    while 10 ** (exponent + 1) <= whole:
        exponent += 1
    tenths = _rounded(10 * numerator, denominator * 10**exponent)
    if tenths == 100:  # 9.96e+09 rounds to 1.0e+10
        tenths, exponent = 10, exponent + 1
    return f"{tenths // 10}.{tenths % 10}e+{exponent:02d}"


def format_percent(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole``, whole numbers; a power of ten when huge.

    >>> format_percent(1, 3), format_percent(1, 10**4), format_percent(5 * 10**20, 1)
    ('33%', '<1%', '5.0e+22%')
    """
    if 100 * part < 10**6 * whole:
        percent = _rounded(100 * part, whole)
        # Not 0% when something is needed.
        return "<1%" if part > 0 and percent == 0 else f"{percent}%"
    return f"{_number(100 * part, whole)}%"


def parse_memory(text: str) -> int:
    """A memory size in bytes: ``"24GiB"``, ``"24 GB"`` (10**9), ``"24G"`` (binary), ``"512"``.

    Read exactly (``"0.1GiB"`` is 107374182 bytes, the whole bytes of a tenth of a GiB),
    from one byte to :data:`MAX_MEMORY`. Raises ``ValueError`` for anything else (argparse
    turns it into a usage error).

    >>> parse_memory("24GiB"), parse_memory("1.5 GB"), parse_memory("16g")
    (25769803776, 1500000000, 17179869184)
    """
    from decimal import Decimal, InvalidOperation

    stripped = text.strip()
    digits = stripped.rstrip("BbIiKkMmGgTtPpEe ")
    unit = stripped[len(digits) :].strip().lower()
    try:
        number = Decimal(digits)
    except (InvalidOperation, ValueError):
        number = Decimal(-1)
    size = 0
    # The exponent first: 1e999999999 is not multiplied out, and is past any memory.
    if unit in _UNITS and number.is_finite() and number > 0 and -40 < number.adjusted() < 40:
        numerator, denominator = number.as_integer_ratio()
        size = numerator * _UNITS[unit] // denominator
    shown = repr(text) if len(text) <= 40 else f"a text of {len(text)} characters"
    if size > MAX_MEMORY or (unit in _UNITS and number.is_finite() and number.adjusted() >= 40):
        raise ValueError(
            f"cannot read {shown} as a memory size: at most 16EiB (2**64 bytes, what "
            "64-bit addresses reach)"
        )
    # Less than a byte (0.5, 1e-9GiB) would be a memory of 0 bytes.
    if size < 1:
        raise ValueError(f"cannot read {shown} as a memory size (examples: 24GiB, 80GB, 16G)")
    return size


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


def _selected(option: str, question: Callable[[], Any]) -> Any:
    """``question()``, a selection the planner refuses being a usage error of ``option``
    (status 2): the bridge's model-level rotary tables with only some layers' (Gemma 3)."""
    try:
        return question()
    except PresetError as exc:
        if exc.key != "names":
            raise
        raise PresetArgumentError(f"argument {option}: {exc.reason}") from None


def _glob_note(glob: str | None, count: int) -> None:
    if glob is not None and count == 0:
        sys.stderr.write(clean(f"{PROG}: no hooks match {glob!r}") + "\n")


# -- size -----------------------------------------------------------------------------------


def cmd_size(args: Args) -> int:

    name, values, derived, plan, batch, seq, dtype = _plan(args)
    glob = args.hooks
    if isinstance(plan, BridgePlan):
        from ._plan_bridge import size_bridge

        _selected("--hooks", lambda: plan.hook_count(batch, seq, glob, dtype))

        return size_bridge(
            *(args, name, values, derived, plan, batch, seq, dtype),
            memory=args.memory or list(DEFAULT_MEMORY),
            helpers=sys.modules[__name__],
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
    _glob_note(glob, hooks)
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


def _pyplot() -> Any:
    """matplotlib's pyplot, drawing into files; a clear error when it cannot be set up."""
    try:
        import matplotlib
    except ImportError as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name == "matplotlib"
        raise PresetError(
            "--plot needs matplotlib: pip install 'transformer-presets[plot]'"
            + ("" if missing else clean(f" ({exc})"))
        ) from None
    except Exception as exc:  # a bad MPLBACKEND or matplotlibrc value, a broken install
        problem: Exception = exc
    else:
        try:
            matplotlib.use("Agg")  # files only: no display needed
            # Never through LaTeX, which a matplotlibrc may ask for and this machine lack.
            matplotlib.rcParams["text.usetex"] = False
            import matplotlib.pyplot as plt

            return plt
        except Exception as exc:
            problem = exc
    import os

    backend = os.environ.get("MPLBACKEND")
    said = "" if backend is None else f" (MPLBACKEND is {backend!r})"
    raise PresetError(clean(f"--plot: matplotlib cannot be set up{said}: {problem}")) from None


def plot_seqs(n_ctx: int) -> list[int]:
    """The sequence lengths a plot shows: from 1 to the context, in exact integers."""
    return sorted({max(1, _rounded(n_ctx * i, PLOT_POINTS)) for i in range(PLOT_POINTS + 1)})


def _plot_series(
    plan: ModelPlan, batch: int, dtype: str, glob: str | None
) -> tuple[list[int], dict[str, list[int]]]:
    """Sequence lengths from 1 to the context, and each memory component's bytes at them.

    Exact integers (a context of 2**63 - 1 is no float), and each a single question to
    the planner: the activations of every length are counted with one selection.
    """
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


_TOTAL = "weights + buffers + activations"


def draw(
    plt: Any,
    seqs: list[int],
    series: dict[str, list[int]],
    memory: Sequence[int],
    title: str,
    thick: Sequence[str] = (_TOTAL,),
) -> Any:
    """Series of bytes against sequence length on a log scale, labelled in binary units,
    with a line at each memory size up to the highest point (``thick``: the series drawn
    thicker)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, ax = plt.subplots(figsize=(8, 5))
    for key, values in series.items():
        # Floats only here, as points to draw.
        ax.plot(
            seqs,
            [float(v) for v in values],
            label=key,
            linewidth=2.5 if key in thick else 1.5,
        )
    top = max(max(values) for values in series.values())
    for size in memory:
        if 100 * size <= 105 * top:
            ax.axhline(float(size), color="grey", linestyle=":", linewidth=1)
            ax.annotate(
                format_bytes(size),
                (seqs[0], float(size)),
                fontsize=8,
                color="grey",
                parse_math=False,
            )
    ax.set_yscale("log", base=2)
    # Powers of two, which a float holds exactly, named as the table names sizes.
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: format_bytes(round(y))))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(bottom=top / 2**14)  # below that, tiny buffers would squash the rest
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("bytes")
    # As written: a "$" in a preset's name or a glob is a dollar sign, not mathtext.
    ax.set_title(title, parse_math=False)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def save_plot(path: str, figure: Callable[[Any], Any]) -> None:
    """The figure ``figure(pyplot)`` draws, written to ``path`` in the format its suffix
    names; matplotlib's failures are errors saying so, never tracebacks."""
    plt = _pyplot()
    import os.path

    from matplotlib.backend_bases import FigureCanvasBase

    # Without a suffix matplotlib would add ".png" to the name; with one it cannot
    # write, it would fail only after the work is done.
    image_format = os.path.splitext(path)[1][1:].lower() or "png"
    formats = FigureCanvasBase.get_supported_filetypes()
    if image_format not in formats:
        raise PresetArgumentError(
            f"argument --plot: cannot write {image_format!r} images "
            f"(formats: {', '.join(sorted(formats))})"
        )
    try:
        fig = figure(plt)
    except PresetError:
        raise
    except Exception as exc:  # matplotlib's own failures, whatever their class
        raise PresetError(clean(f"--plot: matplotlib could not draw the plot: {exc}")) from None
    fig.tight_layout()
    from ..common.filewrite import write_file

    write_file(path, lambda f: fig.savefig(f, dpi=100, format=image_format))
    plt.close(fig)
    sys.stderr.write(f"wrote {path}\n")


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

    def figure(plt: Any) -> Any:
        seqs, series = _plot_series(plan, batch, dtype, glob)
        title = f"{name}: batch {batch}, {dtype}" + ("" if glob is None else f", hooks {glob}")
        return draw(plt, seqs, series, memory, clean(title))

    save_plot(path, figure)


# -- hooks ----------------------------------------------------------------------------------


def cmd_hooks(args: Args) -> int:

    name, _, _, plan, batch, seq, dtype = _plan(args)
    # Hooks the glob cannot match (every expert's, for hook_embed) are never laid out.
    specs = _selected("GLOB", lambda: plan.hook_specs(batch, seq, dtype, names=args.glob))
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
        if plan.layout.rotary_varies and any(
            s.name.endswith(("hook_cos", "hook_sin")) for s in specs
        ):
            lines.append(style(plan.layout.rotary_note(), DIM))
        lines.append(style(f"TransformerLens 4.3 TransformerBridge: {plan.architecture}", DIM))
    emit(lines)
    _glob_note(args.glob, len(specs))
    return EXIT_OK
