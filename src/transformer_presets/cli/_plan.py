"""The ``size`` and ``hooks`` commands: will a preset's model fit, and what does it cache?

``size NAME`` reports parameters, weights, buffers, the KV cache, ``run_with_cache``'s
activations, forward FLOPs and the training state, and which memory sizes hold the
weights, buffers and activations; ``hooks NAME [GLOB]`` lists every hook with its shape
and bytes. Both read the preset's resolved values from the registry (as ``list`` does)
and work them out with :mod:`.planner`: no torch, numpy or config class is imported.
``--model bridge`` asks about TransformerLens 4.3's ``TransformerBridge`` instead of
TransformerLens 3's ``HookedTransformer`` (:class:`~transformer_presets.planner.hooked.BridgePlan`).

This module holds their arguments: the readers of option values and the table of
options (:func:`plan_options`), from which both the quick reader of their plain forms
(:func:`quick_plan_args`) and argparse (``_parser``) read, so the two cannot differ
in what they take. The work is done by

- ``_planning``: the plan the arguments ask about, and what both commands say about it;
- ``_size``: ``size``'s report, and ``_plan_bridge`` the bridge's;
- ``_hooks``: ``hooks``' listing;
- ``_plot``: ``--plot``, drawn with matplotlib;
- ``_units``: bytes, FLOPs and percentages in words, memory sizes read back, and the
  table of figures with which memory sizes hold them.

Each command imports only its own modules, on the way to its answer: ``hooks`` never
loads ``size``'s report, nor either of them the plot's module unless asked to plot.
"""

from __future__ import annotations

from ..errors import PresetError
from ..planner.hooked import MAX_SIZE, MODELS, OPTIMIZERS, dtype_key
from ._quick import plain_options
from ._units import (
    DEFAULT_MEMORY,
    MAX_MEMORY,
    format_bytes,
    format_flops,
    format_percent,
    parse_memory,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from collections.abc import Callable, Sequence
    from typing import Any

    # Loaded on first use (__getattr__ below): only --plot needs them.
    from ._plot import PLOT_POINTS, draw, plot_seqs, save_plot
    from ._quick import Args

__all__ = [
    "DEFAULT_MEMORY",
    "MAX_MEMORY",
    "PLOT_POINTS",
    "Option",
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
    "plan_options",
    "plot_seqs",
    "positive",
    "quick_plan_args",
    "save_plot",
]


# -- arguments --------------------------------------------------------------------------


# Readers of option values: ValueError with the message for a bad one. The quick reader
# calls them directly; argparse through for_argparse, so that it shows the message.


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


def cmd_size(args: Args) -> int:
    """``size NAME``: the report of :mod:`._size`."""
    from ._size import cmd_size as report

    return report(args)


def cmd_hooks(args: Args) -> int:
    """``hooks NAME [GLOB]``: the listing of :mod:`._hooks`."""
    from ._hooks import cmd_hooks as listing

    return listing(args)


def __getattr__(name: str) -> Any:
    """The plot's names, also importable from here, from its module when first asked for."""
    if name in ("PLOT_POINTS", "draw", "plot_seqs", "save_plot"):
        from . import _plot

        return getattr(_plot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Option:
    """One option of ``size`` or ``hooks``, as both of their readers take it: the quick
    reader below and argparse (``_parser``), which must agree on every argument list."""

    __slots__ = ("choices", "default", "flag", "help", "many", "metavar", "read")

    def __init__(
        self,
        flag: str,
        help: str,
        metavar: str | None = None,
        read: Callable[[str], Any] = str,
        *,
        choices: tuple[str, ...] | None = None,
        default: Any = None,
        many: bool = False,
    ) -> None:
        self.flag, self.help, self.metavar = flag, help, metavar
        #: The value's reader: ValueError with the message for a bad one.
        self.read = read
        #: The values argparse names in its usage and in its "invalid choice".
        self.choices = choices
        self.default = default
        #: One or more values, up to the next option, added to any given before.
        self.many = many


#: ``size``'s options after ``NAME``, in ``--help``'s order; ``hooks`` takes the first four.
_OPTIONS = (
    Option("--batch", "batch size (default 1)", "B", positive, default=1),
    Option("--seq", "tokens per sequence (default: the model's context, n_ctx)", "S", positive),
    Option("--dtype", "float32, bfloat16, ... (default: the preset's)", "D", dtype_option),
    Option(
        "--model",
        "hooked: TransformerLens 3's HookedTransformer (default); bridge: "
        "TransformerLens 4.3's TransformerBridge, as boot_bridge builds it",
        read=model_option,
        choices=MODELS,
        default="hooked",
    ),
    Option("--hooks", "count only the activations of hooks matching GLOB", "GLOB"),
    Option(
        "--optimizer",
        "optimizer state in the training state (default adamw)",
        read=optimizer_option,
        choices=OPTIMIZERS,
        default="adamw",
    ),
    Option(
        "--memory",
        "memory sizes to check (24GiB, 80GB, ...; default 8, 16, 24, 40 and 80 GiB)",
        "SIZE",
        parse_memory,
        many=True,
    ),
    Option(
        "--plot",
        "plot memory against sequence length (needs the 'plot' extra: matplotlib)",
        "FILE.png",
    ),
)


def plan_options(command: str) -> tuple[Option, ...]:
    """The options of ``command`` (``size`` or ``hooks``) after its positionals."""
    return _OPTIONS if command == "size" else _OPTIONS[:4]


def quick_plan_args(argv: Sequence[str], prog: str) -> types.SimpleNamespace | None:
    """``size``/``hooks`` arguments in their plain forms, or None to let argparse read them."""
    import types

    command = argv[0]
    options = {option.flag: option for option in plan_options(command)}
    args = types.SimpleNamespace(
        command=command,
        json=False,
        preset_path=[],
        prog=prog,
        **{flag[2:]: option.default for flag, option in options.items()},
    )
    if command == "size":
        args.func = cmd_size
    else:
        args.__dict__.update(glob=None, func=cmd_hooks)
    read = plain_options(
        argv[1:],
        flags=("--json",),
        options=["--preset-path", *(flag for flag, option in options.items() if not option.many)],
        lists=[flag for flag, option in options.items() if option.many],
        most_positionals=1 if command == "size" else 2,
    )
    if read is None:
        return None
    positionals, given = read
    for flag, values in given:
        if flag == "--json":
            args.json = True
        elif flag == "--preset-path":
            args.preset_path += values
        else:
            option = options[flag]
            try:
                value = [option.read(v) for v in values]
            except ValueError:  # argparse words the complaint
                return None
            dest = flag[2:]
            setattr(args, dest, (getattr(args, dest) or []) + value if option.many else value[0])
    if not positionals:
        return None  # argparse's "the following arguments are required"
    args.name = positionals[0]
    if len(positionals) == 2:
        args.glob = positionals[1]
    return args
