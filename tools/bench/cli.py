"""``python -m tools.bench``: measure every speed target and rewrite ``BENCHMARKS.md``.

The command line: reads the options, runs the chosen measurements on this
checkout or on an exported commit, prints the report and writes it (with the
scale plot) unless told not to.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .gitexport import describe_code, export_commit
from .machine import load_average, machine
from .measure import (
    SCALE_SIZES,
    Settings,
    measure_get_fresh,
    measure_inproc,
    measure_listing,
    measure_peers,
    measure_planner,
    measure_plot,
    measure_scale,
)
from .plot import plot_scale
from .report import render_report
from .targets import build_targets

__all__ = ["ALL_TARGETS", "BENCHMARKS_MD", "PLOT", "ROOT", "main", "parse_args"]

#: The checkout this harness lives in: measured unless ``--at`` names a commit.
ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
PLOT = ROOT / "benchmarks" / "scale.png"

ALL_TARGETS = ("1", "2", "3", "4", "5", "6", "7", "8")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options; ``--only`` becomes a set of targets and ``--sizes`` a sorted tuple.

    >>> args = parse_args(["--only", "7,1", "--sizes", "30,10"])
    >>> sorted(args.only), args.sizes
    (['1', '7'], (10, 30))
    """
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    parser.add_argument(
        "--repeat", type=int, help="runs per fresh-process measurement (default 10, 3 with --quick)"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print the report, do not write BENCHMARKS.md"
    )
    parser.add_argument(
        "--peer-python",
        action="append",
        default=[],
        metavar="PATH",
        help="another interpreter to look for peers in (repeatable)",
    )
    parser.add_argument(
        "--only",
        default=",".join(ALL_TARGETS),
        help="comma-separated targets to measure (default: all)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SCALE_SIZES)),
        help="numbers of generated presets for the scale measurement; the largest is target 5's",
    )
    parser.add_argument("--tmp-dir", type=Path, help="where to make the temporary homes")
    parser.add_argument(
        "--at",
        metavar="REF",
        help="measure the code of this commit (exported with git archive) instead of the "
        "working tree, whose uncommitted edits would otherwise be measured too",
    )
    args = parser.parse_args(argv)
    args.only = {t.strip() for t in args.only.split(",") if t.strip()}
    if not args.only <= set(ALL_TARGETS):
        parser.error(f"--only takes targets among {','.join(ALL_TARGETS)}")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.sizes = tuple(sorted({int(n) for n in args.sizes.split(",") if n.strip()}))
    if any(n < 1 for n in args.sizes):
        parser.error("--sizes must be positive")
    return args


def _step(label: str, fn: Callable[[], Any]) -> Any:
    """Run one measurement, saying on stderr when it starts and how long it took."""
    t0 = time.perf_counter()
    print(f"[bench] {label} ...", file=sys.stderr, flush=True)
    value = fn()
    print(f"[bench] {label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements, print the report and (unless ``--no-write``) write it."""
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    repeat = args.repeat or (3 if args.quick else 10)
    command = shlex.join(["python", "-m", "tools.bench", *raw])
    started = time.perf_counter()
    info = machine()
    load_before = load_average()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tp-bench-", dir=args.tmp_dir) as tmp:
        root = Path(tmp)
        tree, commit = ROOT, None
        if args.at is not None:
            tree = root / "tree"
            commit = export_commit(ROOT, args.at, tree)
        info["Code measured"] = describe_code(ROOT, args.at, commit)
        s = Settings(
            repeat=repeat,
            heavy_repeat=max(1, min(repeat, 5)),
            warmup=1,
            heavy_warmup=0 if args.quick or repeat == 1 else 1,
            sizes=args.sizes if "5" in args.only else (),
            peer_pythons=args.peer_python,
            tree=tree,
        )
        if "1" in args.only:
            results["listing"] = _step("1 listing", lambda: measure_listing(root, s))
        if "2" in args.only:
            results["get_fresh"] = _step("2 fresh get_preset", lambda: measure_get_fresh(root, s))
        if "3" in args.only:
            results["inproc"] = _step("3 in-process get_preset", lambda: measure_inproc(root, s))
        if "4" in args.only or "5" in args.only:
            results["scale"] = _step(
                "4/5 scale",
                lambda: measure_scale(root, s, lookups="5" in args.only, cold=True),
            )
        if "6" in args.only:
            results["peers"] = _step("6 peers", lambda: measure_peers(root, s))
        if "7" in args.only:
            results["planner"] = _step("7 size and hooks", lambda: measure_planner(root, s))
        if "8" in args.only:
            results["plot"] = _step("8 size --plot", lambda: measure_plot(root, s))
    if "scale" in results and not args.no_write and plot_scale(results["scale"], PLOT):
        results["scale"]["plot"] = PLOT.relative_to(ROOT).as_posix()
    info["Load average (1/5/15 min) before / after"] = f"{load_before}; {load_average()}"
    info["Date"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    targets, details, notes = build_targets(results, s)
    report = render_report(
        targets, details, info, command, time.perf_counter() - started, notes=notes
    )
    print(report)
    if not args.no_write:
        BENCHMARKS_MD.write_text(report, encoding="utf-8")
        print(f"[bench] wrote {BENCHMARKS_MD}", file=sys.stderr)
    return 0
