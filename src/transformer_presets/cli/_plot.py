"""``size --plot``: bytes against sequence length, drawn with matplotlib into a file.

The drawing both reports share (HookedTransformer's in ``_size``, the bridge's in
``_plan_bridge``): the sequence lengths, the figure of any series of bytes, and writing
it. Imported only to plot, and matplotlib (the ``plot`` extra) only to draw.
"""

from __future__ import annotations

import sys

from ..errors import PresetArgumentError, PresetError
from ._output import clean
from ._units import format_bytes, rounded

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ["PLOT_POINTS", "draw", "plot_seqs", "save_plot"]

PLOT_POINTS = 64


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
    return sorted({max(1, rounded(n_ctx * i, PLOT_POINTS)) for i in range(PLOT_POINTS + 1)})


def draw(
    plt: Any,
    seqs: list[int],
    series: dict[str, list[int]],
    memory: Sequence[int],
    title: str,
    thick: Sequence[str] = (),
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
