"""The benchmark harness: ``python -m tools.bench`` measures every speed target.

Every target is a ratio of two things measured side by side in this one run,
so that a shared, noisy machine slows both alike. Compared commands are
interleaved (A B, then B A, ...) after one discarded warm-up run each; each
number is the median of the runs, with their min-max. A ratio is the ratio of
the medians, and its min-max is that of the ratios of the pairs measured
next to each other in one round.

Fresh processes are timed by the wall clock around ``subprocess.run`` and
by the CPU time (user + system) the child used; the wall clock decides
PASS/MISS, the CPU-time ratio is shown beside it because other people's jobs
inflate wall time but not CPU time.

Children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` is
dropped), as an installed package would: otherwise every fresh process would
compile the library from source and the start-up numbers would measure that.

Every measurement that uses the cache gets its own temporary
``TRANSFORMER_PRESETS_CACHE_DIR``, ``XDG_CONFIG_HOME`` and ``XDG_DATA_HOME``,
so nothing touches the real home and runs share no state by accident.

    python -m tools.bench [--quick] [--repeat N] [--no-write] [--peer-python PATH]...

The modules, from the bottom up:

- ``stats``: medians, ratios and verdicts, and their text (durations, sizes, tables);
- ``procs``: fresh processes in private homes (``Sandbox``), timed and interleaved;
- ``measure``: each measurement, returning raw samples;
- ``targets``: each target's bound and verdict, and the detail sections;
- ``report``: the whole of ``BENCHMARKS.md``;
- ``plot``: the scale plot (matplotlib, from the ``bench`` extra);
- ``gitexport``: the code measured, a commit exported by ``--at REF`` or the checkout;
- ``machine``: the machine and its load;
- ``cli``: the command line (``__main__`` runs it).
"""

from __future__ import annotations

from .cli import main
from .procs import Case, Sample, Sandbox, interleave
from .report import render_report
from .stats import (
    Ratio,
    Stat,
    format_ratio,
    format_seconds,
    format_stat,
    markdown_table,
    ratio,
    stat,
    verdict,
)
from .targets import Target

__all__ = [
    "Case",
    "Ratio",
    "Sample",
    "Sandbox",
    "Stat",
    "Target",
    "format_ratio",
    "format_seconds",
    "format_stat",
    "interleave",
    "main",
    "markdown_table",
    "ratio",
    "render_report",
    "stat",
    "verdict",
]
