"""Rendering the whole of ``BENCHMARKS.md`` from the targets and the detail sections."""

from __future__ import annotations

from collections.abc import Sequence

from .stats import markdown_table
from .targets import TARGET_HEADER, Target

__all__ = ["render_report"]


def render_report(
    targets: list[Target],
    details: list[str],
    info: dict[str, str],
    command: str,
    duration: float,
    *,
    notes: Sequence[str] = (),
) -> str:
    """The whole of ``BENCHMARKS.md``; ``notes`` are said below the table, after the targets' own.

    >>> text = render_report([], ["### 1. Details"], {"Cores": "2"}, "python -m tools.bench", 3.0)
    >>> "- Cores: 2" in text and "- Whole run: 3 s" in text and text.endswith("### 1. Details\\n")
    True
    """
    misses = [t.miss_text() for t in targets if t.miss_text()]
    lines = [
        "# Benchmarks",
        "",
        "Written by `tools/bench/`; do not edit by hand. Produced by:",
        "",
        "```",
        command,
        "```",
        "",
        "Every target is a ratio of two things measured side by side in this one run, "
        "interleaved, after a discarded warm-up run: the median of the runs, with the min-max of "
        "the runs and, for a ratio, the min-max of the ratios of runs made next to each other. "
        "Fresh processes are timed by the wall clock (which decides PASS/MISS) and by the CPU "
        "time the child used (shown because other jobs on a shared machine inflate the wall "
        "clock, not the CPU time). Every measurement that uses the cache has its own "
        "temporary cache, config and data folders. Children run with bytecode caching on, "
        "as an installed package would.",
        "",
        "To reproduce: from a checkout after the README's set-up, `python -m tools.bench` "
        "(`--quick` for a smoke run, `--at HEAD` to leave uncommitted edits out, "
        "`--peer-python PATH` for an interpreter that has TransformerLens or litgpt; "
        "matplotlib, if installed, draws the plot). A full run takes about six minutes on "
        "the machine below.",
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        f"- Whole run: {duration:.0f} s",
        "",
        "## Targets",
        "",
        markdown_table(TARGET_HEADER, [t.row() for t in targets]),
        "",
    ]
    said = [f"- {t.number}: {t.note}" for t in targets if t.note] + [f"- {n}" for n in notes]
    if said:
        lines += ["Notes:", "", *said, ""]
    if misses:
        lines += ["**Missed targets.**", "", *(f"- {m}" for m in misses), ""]
    elif any(t.result == "PASS" for t in targets):
        lines += ["Every measured target passes.", ""]
    close = [t.close_text() for t in targets if t.close_text()]
    if close:
        lines += ["**Close calls.**", "", *(f"- {c}" for c in close), ""]
    disagreements = [t.disagreement() for t in targets if t.disagreement()]
    if disagreements:
        lines += [
            "**Wall clock and CPU time disagree.**",
            "",
            *(f"- {d}" for d in disagreements),
            "",
        ]
    lines += ["## Details", ""]
    for d in details:
        lines += [d, ""]
    return "\n".join(lines).rstrip() + "\n"
