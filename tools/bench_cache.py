"""Benchmark the resolved-preset cache: a fresh process resolving one preset, warm vs off.

Two preset sets: the bundled presets alone, and the bundled presets plus
generated user presets (``tools/gen_presets.py``; 10,000 in 1,000 files by
default). For each, fresh processes resolve one preset with a warm cache and
with the cache turned off (``TRANSFORMER_PRESETS_NO_CACHE=1``); every number
is the median over ``--runs`` processes, all measured in this one run.

Three times per process: ``lookup`` (the ``resolve_preset`` call, after
import), ``import+lookup`` (from before ``import transformer_presets``), and
``process`` (the whole subprocess, interpreter start-up included).

    python tools/bench_cache.py [--runs 7] [--presets 10000] [--files 1000] [--depth 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
# Run as a script (python tools/bench_cache.py), the checkout is not on the path.
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from tools.gen_presets import generate  # noqa: E402

# Run in each fresh process: time the import and one lookup, report cache counters.
CHILD = """
import time
t0 = time.perf_counter()
import json, sys
sys.path.insert(0, {src!r})
import transformer_presets
t1 = time.perf_counter()
values = transformer_presets.resolve_preset({name!r})
t2 = time.perf_counter()
try:
    from transformer_presets.cache import store as cache
except ImportError:  # a checkout from before the subpackages
    from transformer_presets import cache
print(json.dumps({{"import": t1 - t0, "lookup": t2 - t1, "stats": cache.STATS,
                  "tomllib": "tomllib" in sys.modules, "n_layers": values["n_layers"]}}))
"""

COLUMNS = ("lookup", "import+lookup", "process")


def run_child(
    env: dict[str, str], name: str, *, src: Path = SRC
) -> dict[str, float | dict[str, int] | bool]:
    """A fresh process resolving ``name`` with the package in ``src``: its times and counters."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(src=str(src), name=name)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    data = json.loads(out.stdout)
    return {
        "lookup": data["lookup"],
        "import+lookup": data["import"] + data["lookup"],
        "process": wall,
        "stats": data["stats"],
        "tomllib": data["tomllib"],
    }


def measure(env: dict[str, str], name: str, runs: int) -> dict[str, float]:
    samples = [run_child(env, name) for _ in range(runs)]
    return {c: statistics.median(float(s[c]) for s in samples) for c in COLUMNS}  # type: ignore[arg-type]


def scenario(
    root: Path, label: str, name: str, n_presets: int, args: argparse.Namespace
) -> dict[str, Any]:
    home = root / label
    env = dict(os.environ)
    env.pop("TRANSFORMER_PRESETS_PATH", None)
    env.pop("TRANSFORMER_PRESETS_NO_CACHE", None)
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        TRANSFORMER_PRESETS_CACHE_DIR=str(home / "cache"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    if n_presets:
        generate(
            home / "config" / "transformer-presets" / "presets",
            n_presets=n_presets,
            n_files=args.files,
            max_depth=args.depth,
        )
    # Build the cache, then let every file age past the racy window so that
    # the warm runs check timestamps instead of hashing contents (one run re-dates
    # the manifest), as they would a few seconds after any edit.
    first = run_child(env, name)
    assert first["stats"]["builds"] == 1, first  # type: ignore[index]
    time.sleep(2.5)
    run_child(env, name)
    check = run_child(env, name)
    assert check["stats"] == {"hits": 1, "builds": 0, "stores": 0, "fallbacks": 0, "waits": 0}, (
        check
    )
    warm = measure(env, name, args.runs)
    off = measure({**env, "TRANSFORMER_PRESETS_NO_CACHE": "1"}, name, args.runs)
    return {"warm": warm, "off": off, "tomllib_when_warm": check["tomllib"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--presets", type=int, default=10000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        root = Path(tmp)
        last = f"gen-{args.presets - 1:05d}"
        results = {
            "bundled": scenario(root, "bundled", "gpt2", 0, args),
            "generated": scenario(root, "generated", last, args.presets, args),
        }

    print(f"python {sys.version.split()[0]}, median of {args.runs} fresh processes each, seconds")
    print(f"generated set: {args.presets} presets in {args.files} files, chains up to {args.depth}")
    print()
    header = f"{'presets':<10} {'cache':<6}" + "".join(f"{c:>15}" for c in COLUMNS)
    print(header)
    print("-" * len(header))
    for label, res in results.items():
        for mode in ("warm", "off"):
            row = res[mode]
            print(f"{label:<10} {mode:<6}" + "".join(f"{row[c]:>15.4f}" for c in COLUMNS))
    print()
    warm_b, warm_g = results["bundled"]["warm"], results["generated"]["warm"]
    off_b, off_g = results["bundled"]["off"], results["generated"]["off"]
    for c in COLUMNS:
        print(
            f"{c:<14} warm among {args.presets} / warm among bundled: "
            f"{warm_g[c] / warm_b[c]:5.2f}x   "
            f"speed-up warm vs off: bundled {off_b[c] / warm_b[c]:6.1f}x, "
            f"generated {off_g[c] / warm_g[c]:6.1f}x"
        )
    imported = [k for k, r in results.items() if r["tomllib_when_warm"]]
    print()
    print(
        "tomllib imported by a warm lookup: "
        + ("yes, in " + ", ".join(imported) if imported else "no")
        + " (it comes with 'import transformer_presets' while catalog.py imports presetfile eagerly)"
        * bool(imported)
    )


if __name__ == "__main__":
    main()
