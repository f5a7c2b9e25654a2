"""Benchmark ``from_hf_config`` on the largest ``config.json`` it accepts (16 MiB).

A real ``config.json`` is a few kilobytes, but the import reads any file up to
its limit, so a file just under 16 MiB holding one long array (of zeros, of
empty arrays, of empty objects, of short strings, of floats, of all of them) must be checked
in a few seconds and about the memory ``json.loads`` takes for it. Each case is a fresh
process importing the file, against a fresh process that only runs
``json.loads`` on it, side by side in this one run (median of ``--runs``);
the ratios are what counts, as the machine's speed cancels out. Peak memory is
the child's maximum resident set (``ru_maxrss``), after the same imports on
both sides.

    python tools/bench_hf_config.py [--runs 3] [--cases zeros,lists] [--src PATH]

``--src`` measures another checkout's ``src`` folder (an older commit
exported with ``git archive``), to compare before and after a change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
LIMIT = 16 * 1024 * 1024

#: The elements repeated in each case's array, as JSON text (joined by commas).
CASES = {
    "zeros": "0",
    "lists": "[]",
    "objects": "{}",
    "strings": '""',
    "floats": "0.5",
    "mixed": '0,0.5,"",[],{}',
}

# Both children import the same modules before the clock starts, so the peak
# memory differs only by what the measured call itself holds.
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
try:
    from transformer_presets.hf.importing import HFConfigError, from_hf_config
except ImportError:  # a --src checkout from before the hf/ subpackage
    from transformer_presets.hf_import import HFConfigError, from_hf_config
path = {path!r}
t0 = time.perf_counter()
if {only_json!r}:
    with open(path, "rb") as f:
        result = "read" if isinstance(json.loads(f.read()), dict) else "?"
else:
    try:
        result = from_hf_config(path)["original_architecture"]
    except HFConfigError as error:
        result = "refused: " + str(error)[:200]
t1 = time.perf_counter()
print(json.dumps({{"seconds": t1 - t0, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "result": result}}))
"""


def write_case(folder: Path, name: str) -> Path:
    """``folder/name/config.json``: a GPT-2 config padded with one array to just under 16 MiB."""
    head = '{"architectures": ["GPT2LMHeadModel"], "n_ctx": 1024, "padding": ['
    tail = "]}\n"
    item = CASES[name]
    count = (LIMIT - len(head) - len(tail) + 1) // (len(item) + 1)
    path = folder / name / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(head + ",".join([item] * count) + tail, encoding="utf-8")
    assert path.stat().st_size <= LIMIT
    return path


def run_child(src: Path, path: Path, *, only_json: bool) -> dict[str, float | str]:
    code = CHILD.format(src=str(src), path=str(path), only_json=only_json)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    data: dict[str, float | str] = json.loads(out.stdout)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES)
    )
    parser.add_argument("--src", type=Path, default=SRC, help="the src folder to measure")
    args = parser.parse_args()
    names = [n for n in args.cases.split(",") if n]
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)}")

    print(f"python {sys.version.split()[0]}, {args.src}, median of {args.runs} fresh processes")
    header = (
        f"{'case':<8} {'import':>9} {'json.loads':>11} {'ratio':>7} "
        f"{'peak MiB':>9} {'json MiB':>9} {'ratio':>7}  result"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="bench-hf-config-") as tmp:
        for name in names:
            path = write_case(Path(tmp), name)
            ours, theirs = [], []
            start = time.perf_counter()
            for _ in range(args.runs):  # interleaved, so a busy moment hits both sides
                ours.append(run_child(args.src, path, only_json=False))
                theirs.append(run_child(args.src, path, only_json=True))
            t_ours = statistics.median(float(s["seconds"]) for s in ours)
            t_json = statistics.median(float(s["seconds"]) for s in theirs)
            m_ours = statistics.median(float(s["peak_kib"]) for s in ours) / 1024
            m_json = statistics.median(float(s["peak_kib"]) for s in theirs) / 1024
            print(
                f"{name:<8} {t_ours:>8.2f}s {t_json:>10.2f}s {t_ours / t_json:>6.1f}x "
                f"{m_ours:>9.0f} {m_json:>9.0f} {m_ours / m_json:>6.2f}x  {ours[0]['result']}"
                f"  ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
            path.unlink()


if __name__ == "__main__":
    main()
