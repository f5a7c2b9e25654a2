"""The scale plot: lookup and cold-resolution time against the number of presets.

It needs matplotlib (the ``bench`` extra); without it there is no plot and the
report says nothing of one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .procs import walls
from .stats import stat

__all__ = ["plot_scale"]


def plot_scale(data: dict[str, Any], path: Path) -> bool:
    """Plot warm lookup and cold resolution against the number of presets; False without matplotlib."""
    # Imported here: an optional extra, and slow to import for runs without a plot.
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = [n for n in data["sizes"] if n]
    if not sizes:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    if "lookup" in data:
        ax = axes[0]
        for key, label in (("same", "gpt2-small"), ("last", "last generated")):
            series = [stat(walls(data["lookup"][f"{key}-{n}"])) for n in sizes]
            ax.errorbar(
                sizes,
                [x.median * 1e3 for x in series],
                yerr=[
                    [1e3 * (x.median - x.lo) for x in series],
                    [1e3 * (x.hi - x.median) for x in series],
                ],
                marker="o",
                capsize=3,
                label=label,
            )
        base = stat(walls(data["lookup"]["same-0"])).median * 1e3
        ax.axhline(base, color="grey", linestyle="--", label="bundled only")
        ax.set_title("Warm lookup, fresh process")
        ax.set_ylabel("ms (median, min-max)")
        ax.set_ylim(bottom=0)
        ax.legend()
    if "cold" in data:
        ax = axes[1]
        series = [stat([x.data["total"] for x in data["cold"][f"cold-{n}"]]) for n in sizes]
        ax.errorbar(
            sizes,
            [x.median for x in series],
            yerr=[[x.median - x.lo for x in series], [x.hi - x.median for x in series]],
            marker="o",
            capsize=3,
            label="cold resolution (cache off)",
        )
        first = [stat(walls(data["first"][f"first-{n}"])) for n in sizes]
        ax.plot(sizes, [x.median for x in first], marker="s", label="first lookup, empty cache")
        ax.set_title("Resolving every preset")
        ax.set_ylabel("s (median)")
        ax.set_ylim(bottom=0)
        ax.legend()
    # Log scale for lookups (they should stay flat), linear for resolving (it should be a line).
    axes[0].set_xscale("log")
    axes[0].minorticks_off()
    axes[0].set_xticks(sizes, [str(n) for n in sizes])
    axes[1].set_xlim(left=0)
    for ax in axes:
        ax.set_xlabel("user presets")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
