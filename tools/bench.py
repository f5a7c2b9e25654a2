"""``python -m tools.bench``: measure every speed target and rewrite ``BENCHMARKS.md``.

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
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tools import bench_cache
from tools.bench_cache import run_child

__all__ = [
    "Ratio",
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

ROOT = Path(__file__).resolve().parent.parent
# The tree whose code is measured: this checkout, or a commit exported by --at.
TREE = ROOT
SRC = ROOT / "src"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
PLOT = ROOT / "benchmarks" / "scale.png"

#: The cache trusts no timestamp younger than this (``_fingerprint.RACY_SECONDS``),
#: so a warm cache is only "warm" once its files are older: wait a little more.
RACY_WAIT = 2.5

SCALE_SIZES = (250, 1000, 3000, 10000)
PRESETS_PER_FILE = 10
MAX_DEPTH = 8


# -- statistics and formatting (pure) -------------------------------------------


@dataclass(frozen=True)
class Stat:
    """The median and range of repeated measurements."""

    median: float
    lo: float
    hi: float
    n: int


def stat(values: Sequence[float]) -> Stat:
    """Median, min and max of ``values``.

    >>> stat([3.0, 1.0, 2.0])
    Stat(median=2.0, lo=1.0, hi=3.0, n=3)
    """
    if not values:
        raise ValueError("no measurements")
    return Stat(statistics.median(values), min(values), max(values), len(values))


@dataclass(frozen=True)
class Ratio:
    """``num / den`` as the ratio of the medians, with the range of the paired ratios."""

    value: float
    lo: float
    hi: float


def ratio(num: Sequence[float], den: Sequence[float]) -> Ratio:
    """The ratio of the medians of ``num`` and ``den``; min-max over the pairs ``num[i]/den[i]``.

    >>> ratio([2.0, 4.0, 3.0], [1.0, 2.0, 1.0])
    Ratio(value=2.0, lo=2.0, hi=3.0)
    """
    pairs = [a / b for a, b in zip(num, den, strict=False) if b > 0]
    value = statistics.median(num) / statistics.median(den)
    return Ratio(value, min(pairs, default=value), max(pairs, default=value))


def verdict(value: float, bound: float) -> str:
    """``PASS`` when ``value`` is at most ``bound``, else ``MISS``.

    >>> verdict(1.2, 1.5), verdict(2.0, 1.5)
    ('PASS', 'MISS')
    """
    return "PASS" if value <= bound else "MISS"


def format_seconds(seconds: float) -> str:
    """A duration with three significant digits in a readable unit.

    >>> format_seconds(0.0812), format_seconds(2.5), format_seconds(3.2e-6)
    ('81.2 ms', '2.50 s', '3.20 µs')
    """
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale or unit == "µs":
            value = seconds / scale
            digits = 2 if value < 10 else 1 if value < 100 else 0
            return f"{value:.{digits}f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_stat(s: Stat, fmt: Callable[[float], str] = format_seconds) -> str:
    """``median (min-max)``.

    >>> format_stat(Stat(0.1, 0.09, 0.2, 5))
    '100 ms (90.0 ms - 200 ms)'
    """
    return f"{fmt(s.median)} ({fmt(s.lo)} \u2013 {fmt(s.hi)})"


def format_ratio(r: Ratio) -> str:
    """``2.10x (1.90-2.40)``.

    >>> format_ratio(Ratio(2.1, 1.9, 2.4))
    '2.10x (1.90-2.40)'
    """
    return f"{r.value:.2f}x ({r.lo:.2f}\u2013{r.hi:.2f})"


def format_bytes(n: float) -> str:
    """A size in MiB.

    >>> format_bytes(3 * 2**20)
    '3.0 MiB'
    """
    return f"{n / 2**20:.1f} MiB"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table.

    >>> print(markdown_table(["a", "b"], [["1", "2"]]))
    | a | b |
    | --- | --- |
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Target:
    """One numbered target: what was measured against what, and the bound if any."""

    number: str
    title: str
    measured: str
    against: str
    ratio: Ratio | None = None
    bound: float | None = None
    cpu_ratio: Ratio | None = None
    note: str = ""

    @property
    def result(self) -> str:
        if self.ratio is None or self.bound is None:
            return "reported"
        return verdict(self.ratio.value, self.bound)

    @property
    def close_call(self) -> bool:
        """True when the paired ratios fall on both sides of the bound: a verdict noise can flip."""
        if self.ratio is None or self.bound is None:
            return False
        return self.ratio.lo <= self.bound <= self.ratio.hi

    def close_text(self) -> str | None:
        """A sentence for a close call, else None."""
        if not self.close_call:
            return None
        assert self.ratio is not None and self.bound is not None
        return (
            f"Target {self.number}: {self.result} at {self.ratio.value:.2f}x, but the paired "
            f"runs range {self.ratio.lo:.2f}x-{self.ratio.hi:.2f}x around the bound of "
            f"{self.bound:.2f}x, so another run may give the other verdict."
        )

    def disagreement(self) -> str | None:
        """A sentence when the CPU-time ratio gives the other verdict than the wall clock."""
        if self.cpu_ratio is None or self.bound is None or self.ratio is None:
            return None
        by_cpu = verdict(self.cpu_ratio.value, self.bound)
        if by_cpu == self.result:
            return None
        return (
            f"Target {self.number}: by CPU time the ratio is {self.cpu_ratio.value:.2f}x, a "
            f"{by_cpu}; the wall clock ({self.ratio.value:.2f}x) also counts waiting for the "
            "CPU and the disk, which other jobs on a shared machine inflate. Repeat the run on "
            "a quiet machine before trusting either."
        )

    def miss_text(self) -> str | None:
        """A plain sentence saying by how much a missed target is missed, else None."""
        if self.result != "MISS":
            return None
        assert self.ratio is not None and self.bound is not None
        over = self.ratio.value / self.bound - 1
        return (
            f"Target {self.number} ({self.title}) is missed: {self.ratio.value:.2f}x against a "
            f"bound of {self.bound:.2f}x, {over:.0%} over the bound."
        )

    def row(self) -> list[str]:
        return [
            self.number,
            self.title,
            self.measured,
            self.against,
            format_ratio(self.ratio) if self.ratio else "-",
            format_ratio(self.cpu_ratio) if self.cpu_ratio else "-",
            f"≤ {self.bound:.2f}x" if self.bound is not None else "-",
            (f"**{self.result}**" + (" (close)" if self.close_call else ""))
            if self.result != "reported"
            else "reported",
        ]


TARGET_HEADER = (
    "#",
    "Target",
    "Measured (median, min-max)",
    "Against",
    "Ratio, wall clock",
    "Ratio, CPU time",
    "Bound",
    "Result",
)


# -- running things -----------------------------------------------------------------


class BenchError(RuntimeError):
    """A measured command failed."""


@dataclass
class Sample:
    """One fresh-process run: wall-clock and CPU seconds, and what the child printed."""

    wall: float
    cpu: float
    data: dict[str, Any] = field(default_factory=dict)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_process(argv: Sequence[str], env: dict[str, str], *, parse_json: bool = False) -> Sample:
    """Run ``argv`` once in the measured tree; its wall-clock and CPU time, and its JSON output."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    out = subprocess.run(list(argv), env=env, cwd=TREE, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    if out.returncode != 0:
        raise BenchError(
            f"{shlex.join(argv)} exited {out.returncode}:\n{out.stderr.strip()[-2000:]}"
        )
    data = json.loads(out.stdout.strip().splitlines()[-1]) if parse_json else {}
    return Sample(wall, cpu, data)


def timed(fn: Callable[[], dict[str, Any]]) -> Sample:
    """Time a callable that runs one subprocess (such as ``bench_cache.run_child``)."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    data = fn()
    return Sample(time.perf_counter() - t0, _children_cpu() - cpu0, data)


@dataclass
class Case:
    """A measured command: ``prepare`` runs untimed before every run (e.g. emptying a cache)."""

    run: Callable[[], Sample]
    prepare: Callable[[], None] | None = None


def interleave(cases: dict[str, Case], repeat: int, warmup: int = 1) -> dict[str, list[Sample]]:
    """Run every case ``warmup`` times (discarded), then ``repeat`` rounds, alternating order.

    >>> n = iter(range(100))
    >>> out = interleave({"a": Case(lambda: Sample(next(n), 0.0))}, repeat=2)
    >>> [s.wall for s in out["a"]]
    [1, 2]
    """
    names = list(cases)

    def once(name: str) -> Sample:
        case = cases[name]
        if case.prepare is not None:
            case.prepare()
        return case.run()

    for _ in range(warmup):
        for name in names:
            once(name)
    results: dict[str, list[Sample]] = {name: [] for name in names}
    for i in range(repeat):
        for name in names if i % 2 == 0 else names[::-1]:
            results[name].append(once(name))
    return results


def walls(samples: list[Sample]) -> list[float]:
    return [s.wall for s in samples]


def cpus(samples: list[Sample]) -> list[float]:
    return [s.cpu for s in samples]


class Sandbox:
    """A private home for one measurement: cache, config and data folders under ``root``."""

    def __init__(self, root: Path, label: str) -> None:
        self.home = root / label
        self.cache = self.home / "cache"
        self.config = self.home / "config"
        self.data = self.home / "data"
        for folder in (self.cache, self.config, self.data):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def user_presets(self) -> Path:
        return self.config / "transformer-presets" / "presets"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a child: this sandbox's folders, no inherited preset settings."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TRANSFORMER_PRESETS_")
            and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
        }
        env.update(
            XDG_CONFIG_HOME=str(self.config),
            XDG_DATA_HOME=str(self.data),
            XDG_CACHE_HOME=str(self.home / "xdg-cache"),
            TRANSFORMER_PRESETS_CACHE_DIR=str(self.cache),
            # A fresh checkout works without installing; peers may run in another venv.
            PYTHONPATH=str(SRC),
            # Peers must not reach for the network while importing.
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
        )
        env.update(extra)
        return env

    def empty_cache(self) -> None:
        for child in self.cache.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def process_case(
    argv: Sequence[str],
    box: Sandbox,
    *,
    env: dict[str, str] | None = None,
    cold: bool = False,
    parse_json: bool = False,
) -> Case:
    """A fresh process in ``box``; ``cold`` empties the cache before every run."""
    return Case(
        lambda: run_process(argv, {**box.env(), **(env or {})}, parse_json=parse_json),
        prepare=box.empty_cache if cold else None,
    )


def lookup_case(box: Sandbox, name: str, *, cold: bool = False) -> Case:
    """``bench_cache``'s fresh process resolving ``name`` in ``box`` (it reports its own timings)."""
    return Case(
        lambda: timed(lambda: run_child(box.env(), name)),
        prepare=box.empty_cache if cold else None,
    )


def warm_up(pairs: Sequence[tuple[Sandbox, str]]) -> None:
    """Build each sandbox's cache by looking up ``name``, then let it age past the racy window.

    The second lookup re-dates the manifest, as any lookup a few seconds after
    an edit would; the third must be a plain hit.
    """
    for box, name in pairs:
        run_child(box.env(), name)
    time.sleep(RACY_WAIT)
    for box, name in pairs:
        run_child(box.env(), name)
        check_warm(box, name)


def check_warm(box: Sandbox, name: str) -> bool:
    """True if a lookup in ``box`` is a plain cache hit (it is not if someone edited the sources)."""
    stats = run_child(box.env(), name)["stats"]
    return stats == {"hits": 1, "builds": 0, "stores": 0, "fallbacks": 0}


# -- the measurements ---------------------------------------------------------------

PY = sys.executable

GET_GPT2 = "from transformer_presets import get_preset; get_preset('gpt2-small')"
RESOLVE_GPT2 = "from transformer_presets import resolve_preset; resolve_preset('gpt2-small')"

INPROC_CHILD = """
import json, timeit
from transformer_presets import HookedTransformerConfig, get_preset, resolve_preset
values = resolve_preset("gpt2-small")
get_preset("gpt2-small"); HookedTransformerConfig(**values)
cases = {{"get_preset": lambda: get_preset("gpt2-small"),
         "direct": lambda: HookedTransformerConfig(**values)}}
number = {number}
if number == 0:
    number, _ = timeit.Timer(cases["get_preset"]).autorange()
out = {{name: [] for name in cases}}
for r in range({rounds}):
    for name in (list(cases) if r % 2 == 0 else list(cases)[::-1]):
        out[name].append(timeit.Timer(cases[name]).timeit(number) / number)
print(json.dumps({{"number": number, "per_call": out}}))
"""

COLD_CHILD = """
import json, resource, sys, time
trace = {trace}
if trace:
    import tracemalloc
    tracemalloc.start()
from transformer_presets import PresetRegistry
import transformer_presets._catalog, transformer_presets.presetfile  # parsing code, loaded untimed
t0 = time.perf_counter()
registry = PresetRegistry(use_cache=False)
catalog = registry.catalog()
t1 = time.perf_counter()
keys = list(catalog.entry_keys())
errors = sum(catalog.entry(k)["error"] is not None for k in keys)
t2 = time.perf_counter()
out = {{"n": len(keys), "errors": errors, "parse": t1 - t0, "resolve": t2 - t1,
       "total": t2 - t0, "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}
if trace:
    out["traced_peak"] = tracemalloc.get_traced_memory()[1]
print(json.dumps(out))
"""


@dataclass
class Settings:
    repeat: int
    heavy_repeat: int
    warmup: int
    heavy_warmup: int
    sizes: tuple[int, ...]
    peer_pythons: list[str]
    timeit_number: int = 0  # 0: let timeit pick


def measure_listing(root: Path, s: Settings) -> dict[str, Any]:
    """Target 1: the listing command with a warm, cold and no cache, against ``python -c pass``."""
    warm, cold = Sandbox(root, "t1-warm"), Sandbox(root, "t1-cold")
    warm_up([(warm, "gpt2")])
    listing = [PY, "-m", "tools.list_presets"]
    cases = {
        "pass": process_case([PY, "-c", "pass"], warm),
        "warm": process_case(listing, warm),
        # The common use, shown beside the target.
        "pattern": process_case([*listing, "gpt2*"], warm),
        "cold": process_case(listing, cold, cold=True),
        "off": process_case(listing, warm, env={"TRANSFORMER_PRESETS_NO_CACHE": "1"}),
    }
    res = interleave(cases, s.repeat, s.warmup)
    return {"samples": res, "stayed_warm": check_warm(warm, "gpt2")}


def measure_get_fresh(root: Path, s: Settings) -> dict[str, Any]:
    """Target 2: a fresh ``get_preset`` with a warm cache against ``import torch, numpy``."""
    box = Sandbox(root, "t2")
    warm_up([(box, "gpt2-small")])
    cases = {
        "imports": process_case([PY, "-c", "import torch, numpy"], box),
        "get_preset": process_case([PY, "-c", GET_GPT2], box),
        "resolve_preset": process_case([PY, "-c", RESOLVE_GPT2], box),
    }
    res = interleave(cases, s.repeat, s.warmup)
    return {"samples": res, "stayed_warm": check_warm(box, "gpt2-small")}


def measure_inproc(root: Path, s: Settings) -> dict[str, Any]:
    """Target 3: repeated ``get_preset`` against ``HookedTransformerConfig(**values)``, timeit."""
    box = Sandbox(root, "t3")
    code = INPROC_CHILD.format(number=s.timeit_number, rounds=max(s.repeat, 3))
    return run_process([PY, "-c", code], box.env(), parse_json=True).data


def measure_scale(root: Path, s: Settings, *, lookups: bool, cold: bool) -> dict[str, Any]:
    """Targets 4 and 5: every size in ``s.sizes`` plus the bundled presets alone (size 0).

    Per size: a warm fresh-process lookup of ``gpt2-small`` (the same preset
    everywhere) and of the last generated preset, a first lookup on an empty
    cache, and the cold resolution of every preset with the cache off.
    """
    sizes = (0, *s.sizes)
    boxes: dict[int, Sandbox] = {}
    last: dict[int, str] = {}
    for n in sizes:
        box = boxes[n] = Sandbox(root, f"scale-{n}")
        if n:
            names = bench_cache.generate(
                box.user_presets,
                n_presets=n,
                n_files=max(1, n // PRESETS_PER_FILE),
                max_depth=MAX_DEPTH,
            )
            last[n] = names[-1]
        else:
            last[n] = "gpt2"
    out: dict[str, Any] = {"sizes": sizes, "last": last}
    if lookups:
        warm_up([(boxes[n], "gpt2-small") for n in sizes])
        cases: dict[str, Case] = {}
        for n in sizes:
            cases[f"same-{n}"] = lookup_case(boxes[n], "gpt2-small")
            cases[f"last-{n}"] = lookup_case(boxes[n], last[n])
        out["lookup"] = interleave(cases, s.repeat, s.warmup)
        out["stayed_warm"] = all(check_warm(boxes[n], "gpt2-small") for n in sizes)
    if cold:
        first_cases: dict[str, Case] = {}
        cold_cases: dict[str, Case] = {}
        code = COLD_CHILD.format(trace=False)
        for n in sizes:
            box = boxes[n]
            first = Sandbox(root, f"scale-{n}-first")
            if n:
                shutil.copytree(box.user_presets, first.user_presets)
            cold_cases[f"cold-{n}"] = process_case([PY, "-c", code], box, parse_json=True)
            first_cases[f"first-{n}"] = lookup_case(first, "gpt2-small", cold=True)
        out["cold"] = interleave(cold_cases, s.heavy_repeat, s.heavy_warmup)
        out["first"] = interleave(first_cases, s.heavy_repeat, s.heavy_warmup)
        traced = COLD_CHILD.format(trace=True)
        out["memory"] = {
            n: run_process([PY, "-c", traced], boxes[n].env(), parse_json=True).data
            for n in (sizes[0], sizes[-1])
        }
    return out


# Peers: (module to look for, peer code, our code, what is compared)
PEERS: dict[str, tuple[str, str, str, str]] = {
    "TransformerLens": (
        "transformer_lens",
        "import transformer_lens\n"
        "from transformer_lens import loading_from_pretrained as m\n"
        "names = getattr(m, 'OFFICIAL_MODEL_NAMES', None)\n"
        "if names is None:\n"
        "    from transformer_lens import supported_models as m\n"
        "    names = m.OFFICIAL_MODEL_NAMES\n"
        "print(len(list(names)))",
        "import transformer_presets\nprint(len(transformer_presets.list_presets()))",
        "`import transformer_lens` + its list of supported models / "
        "`import transformer_presets` + `list_presets()`",
    ),
    "litgpt": (
        "litgpt",
        "from litgpt import Config\nConfig.from_name('pythia-70m')",
        "from transformer_presets import get_preset\nget_preset('pythia-70m')",
        "`Config.from_name('pythia-70m')` / `get_preset('pythia-70m')`, fresh process with imports",
    ),
}


def _can_import(python: str, *modules: str, env: dict[str, str] | None = None) -> bool:
    code = "import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))"
    try:
        return (
            subprocess.run(
                [python, "-c", code, *modules], env=env, capture_output=True, timeout=120
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def measure_peers(root: Path, s: Settings) -> dict[str, Any]:
    """Target 6: each installed peer against our equivalent, interleaved."""
    out: dict[str, Any] = {}
    candidates = [PY, *s.peer_pythons]
    for label, (module, peer_code, our_code, what) in PEERS.items():
        python = next((p for p in candidates if _can_import(p, module)), None)
        if python is None:
            out[label] = {"skipped": f"`{module}` is not importable by " + ", ".join(candidates)}
            continue
        box = Sandbox(root, f"peer-{module}")
        # Ours on the peer's interpreter when it can import our dependencies: same Python.
        ours_python = (
            python
            if _can_import(python, "transformer_presets", "platformdirs", "filelock", env=box.env())
            else PY
        )
        warm_up([(box, "gpt2-small")])
        cases = {
            "peer": process_case([python, "-c", peer_code], box),
            "ours": process_case([ours_python, "-c", our_code], box),
        }
        res = interleave(cases, s.repeat, s.warmup)
        try:
            version = subprocess.run(
                [
                    python,
                    "-c",
                    f"from importlib.metadata import version; print(version({module.replace('_', '-')!r}))",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        except subprocess.CalledProcessError:
            version = "?"
        out[label] = {
            "samples": res,
            "python": python,
            "ours_python": ours_python,
            "version": version,
            "what": what,
        }
    return out


# -- the machine ----------------------------------------------------------------------


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.rstrip("\n")


def use_tree(tree: Path) -> None:
    """Measure the code in ``tree`` (a checkout's root) instead of this checkout."""
    global TREE, SRC
    TREE, SRC = tree, tree / "src"
    bench_cache.SRC = SRC  # its child puts this folder first on sys.path


def export_commit(ref: str, dest: Path) -> str:
    """Write the files of commit ``ref`` under ``dest`` (``git archive``); return its short hash."""
    commit = _git("rev-parse", "--short", f"{ref}^{{commit}}")
    archive = dest.with_suffix(".tar")
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", commit], stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return commit


def describe_code(at: str | None, commit: str | None) -> str:
    """Which code was measured: an exported commit, or this working tree and its edits."""
    if at is not None:
        return f"{commit} (`--at {at}`, exported with `git archive`; nothing uncommitted)"
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no").splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "? (not a git checkout)"
    if not dirty:
        return f"{head}, clean working tree"
    files = ", ".join(line[3:] for line in dirty)
    return f"{head} plus uncommitted changes to {files}"


def machine() -> dict[str, str]:
    """CPU model, cores, OS, Python, torch and numpy versions."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    try:
        if " hypervisor " in Path("/proc/cpuinfo").read_text():
            cpu += " (virtual machine)"
    except OSError:
        pass

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    return {
        "CPU": cpu,
        "Cores": str(os.cpu_count()),
        "OS": os_name,
        "Python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "torch": version("torch"),
        "numpy": version("numpy"),
    }


# -- the report -------------------------------------------------------------------------


REBUILT_NOTE = (
    "\n\n**A warm cache was found rebuilt after the measurement**: the sources or the "
    "library's code changed while it ran (someone edited the checkout), so some warm runs "
    "were cold. Run again on a quiet checkout."
)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def process_target(
    number: str, title: str, measured: list[Sample], against: list[Sample], bound: float | None
) -> Target:
    """A target comparing two sets of fresh-process runs, by wall clock and by CPU time."""
    return Target(
        number,
        title,
        format_stat(stat(walls(measured))),
        format_stat(stat(walls(against))),
        ratio(walls(measured), walls(against)),
        bound,
        ratio(cpus(measured), cpus(against)),
    )


def process_rows(
    res: dict[str, list[Sample]], base: str, labels: Sequence[tuple[str, str]]
) -> list[list[str]]:
    """Detail rows (label, wall clock, CPU time, ratio to ``base``) of fresh-process runs."""
    return [
        [
            label,
            format_stat(stat(walls(res[key]))),
            format_stat(stat(cpus(res[key]))),
            format_ratio(ratio(walls(res[key]), walls(res[base]))),
        ]
        for key, label in labels
    ]


def build_targets(results: dict[str, Any], s: Settings) -> tuple[list[Target], list[str]]:
    """The rows of the main table, and the detail sections below it."""
    targets: list[Target] = []
    details: list[str] = []

    if "listing" in results:
        res = results["listing"]["samples"]
        targets.append(
            process_target(
                "1",
                "`python -m tools.list_presets`, warm cache / `python -c pass`",
                res["warm"],
                res["pass"],
                3.0,
            )
        )
        rows = process_rows(
            res,
            "pass",
            [
                ("pass", "`python -c pass`"),
                ("warm", "listing, warm cache"),
                ("pattern", "listing `gpt2*`, warm cache"),
                ("cold", "listing, cold cache (emptied before each run)"),
                ("off", "listing, cache off (`TRANSFORMER_PRESETS_NO_CACHE=1`)"),
            ],
        )
        warm_note = "" if results["listing"]["stayed_warm"] else REBUILT_NOTE
        details.append(
            "### 1. Listing presets from the command line\n\n"
            f"Fresh processes, {s.repeat} interleaved runs each.\n\n"
            + markdown_table(["Command", "Wall clock", "CPU time", "/ `python -c pass`"], rows)
            + warm_note
        )

    if "get_fresh" in results:
        res = results["get_fresh"]["samples"]
        targets.append(
            process_target(
                "2",
                "fresh process `get_preset('gpt2-small')`, warm cache / `import torch, numpy`",
                res["get_preset"],
                res["imports"],
                1.10,
            )
        )
        rows = process_rows(
            res,
            "imports",
            [
                ("imports", '`python -c "import torch, numpy"`'),
                ("get_preset", "`get_preset('gpt2-small')` (builds the config: imports torch)"),
                ("resolve_preset", "`resolve_preset('gpt2-small')` (plain values, no torch)"),
            ],
        )
        details.append(
            "### 2. A fresh process loading one preset\n\n"
            f"Fresh processes, {s.repeat} interleaved runs each, warm cache.\n\n"
            + markdown_table(["Command", "Wall clock", "CPU time", "/ imports"], rows)
            + ("" if results["get_fresh"]["stayed_warm"] else REBUILT_NOTE)
        )

    if "inproc" in results:
        data = results["inproc"]
        get, direct = data["per_call"]["get_preset"], data["per_call"]["direct"]
        targets.append(
            Target(
                "3",
                "repeated `get_preset('gpt2-small')` in one process / `HookedTransformerConfig(**values)`",
                format_stat(stat(get)),
                format_stat(stat(direct)),
                ratio(get, direct),
                1.5,
                note=f"timeit, {data['number']} loops x {len(get)} rounds",
            )
        )
        details.append(
            "### 3. Repeated lookups in one process\n\n"
            f"`timeit`, {data['number']} calls per round, {len(get)} interleaved rounds; "
            "time per call.\n\n"
            + markdown_table(
                ["Call", "Per call"],
                [
                    ["`get_preset('gpt2-small')`", format_stat(stat(get))],
                    ["`HookedTransformerConfig(**values)`", format_stat(stat(direct))],
                ],
            )
        )

    if "scale" in results:
        targets_scale, detail = _scale_section(results["scale"], s)
        targets += targets_scale
        details.append(detail)

    if "peers" in results:
        detail = _peer_section(results["peers"], s)
        details.append(detail)
        for label, data in results["peers"].items():
            if "skipped" in data:
                targets.append(Target("6", f"peer: {label}", "skipped", "-", note=data["skipped"]))
                continue
            res = data["samples"]
            targets.append(
                process_target(
                    "6",
                    f"peer: {label} {data['version']} / ours"
                    + ("" if data["python"] == PY else f" (run by `{data['python']}`)"),
                    res["peer"],
                    res["ours"],
                    None,
                )
            )
    return targets, details


def _scale_section(data: dict[str, Any], s: Settings) -> tuple[list[Target], str]:
    sizes = data["sizes"]
    big = sizes[-1]
    targets: list[Target] = []
    parts = ["### 4 and 5. Cold resolution and scale\n"]
    parts.append(
        f"Generated user presets: {PRESETS_PER_FILE} per file, inheritance chains up to "
        f"{MAX_DEPTH} deep on top of the bundled GPT-2 presets (`tools/gen_presets.py`). "
        "Size 0 is the bundled presets alone. *Warm lookup*: a fresh process resolving one "
        "preset (`tools/bench_cache.py`'s child) with a warm cache, "
        f"{s.repeat} interleaved runs. *Cold resolution*: one process, cache off, parsing "
        "every file and resolving every preset (abstract and shadowed ones included), "
        f"{s.heavy_repeat} runs; imports are done before the clock starts. "
        "*First lookup*: a fresh process on an emptied cache (resolves everything and "
        "writes the cache).\n"
    )
    rows = []
    cold_per: dict[int, list[float]] = {}
    for n in sizes:
        row = [str(n) if n else "bundled only"]
        if "lookup" in data:
            row += [
                format_stat(stat(walls(data["lookup"][f"same-{n}"]))),
                format_stat(stat(walls(data["lookup"][f"last-{n}"]))),
                format_stat(stat([x.data["lookup"] for x in data["lookup"][f"same-{n}"]])),
            ]
        if "cold" in data:
            samples = data["cold"][f"cold-{n}"]
            count = samples[0].data["n"]
            cold_per[n] = [x.data["total"] / x.data["n"] for x in samples]
            row += [
                str(count),
                format_stat(stat([x.data["total"] for x in samples])),
                format_stat(stat([x.data["parse"] for x in samples])),
                format_stat(stat(cold_per[n])),
                format_stat(stat(walls(data["first"][f"first-{n}"]))),
                format_bytes(statistics.median(x.data["maxrss"] for x in samples)),
            ]
        rows.append(row)
    header = ["User presets"]
    if "lookup" in data:
        header += [
            "Warm lookup `gpt2-small`, process",
            "Warm lookup, last generated, process",
            "of which the lookup call",
        ]
    if "cold" in data:
        header += [
            "Entries",
            "Cold resolution, total",
            "of which parsing",
            "per entry",
            "First lookup, empty cache",
            "Peak RSS",
        ]
    parts.append(markdown_table(header, rows))

    if "cold" in data:
        bundled = data["cold"]["cold-0"]
        targets.append(
            Target(
                "4",
                f"cold resolution of every bundled preset ({bundled[0].data['n']} entries), one process",
                format_stat(stat(cold_per[0])) + " per entry",
                format_stat(stat([x.data["total"] for x in bundled])) + " in all",
            )
        )
        mem = data["memory"]
        parts.append(
            "\nPeak memory of a cold resolution (separate runs under `tracemalloc`): "
            + "; ".join(
                f"{'bundled only' if n == 0 else f'{n} user presets'}: Python heap peak "
                f"{format_bytes(m['traced_peak'])}, process peak RSS {format_bytes(m['maxrss'])}"
                for n, m in mem.items()
            )
            + "."
        )
    if "lookup" in data and big:
        same_big, same_0 = data["lookup"][f"same-{big}"], data["lookup"]["same-0"]
        call_ratio = ratio([x.data["lookup"] for x in same_big], [x.data["lookup"] for x in same_0])
        targets.append(
            process_target(
                "5a",
                f"warm fresh-process lookup among {big} user presets / bundled only",
                same_big,
                same_0,
                2.0,
            )
        )
        parts.append(
            f"\nThe lookup call alone (after import) among {big} user presets / bundled only: "
            f"{format_ratio(call_ratio)}."
        )
        if not data.get("stayed_warm", True):
            parts.append(REBUILT_NOTE)
    if "cold" in data and big:
        mem = data["memory"].get(big, {})
        targets.append(
            Target(
                "5b",
                f"cold resolution per entry, {big} user presets / bundled only",
                format_stat(stat(cold_per[big])),
                format_stat(stat(cold_per[0])),
                ratio(cold_per[big], cold_per[0]),
                1.5,
            )
        )
        targets.append(
            Target(
                "5c",
                f"cold resolution of all {big} user presets, one process (peak memory)",
                format_stat(stat([x.data["total"] for x in data["cold"][f"cold-{big}"]])),
                f"heap {format_bytes(mem.get('traced_peak', 0))}, "
                f"RSS {format_bytes(mem.get('maxrss', 0))}",
            )
        )
    if data.get("plot"):
        parts.append(
            f"\n![Lookup and cold-resolution time against the number of presets]({data['plot']})"
        )
    return targets, "\n".join(parts)


def _peer_section(peers: dict[str, Any], s: Settings) -> str:
    rows = []
    notes = []
    for label, data in peers.items():
        if "skipped" in data:
            notes.append(f"- {label}: skipped, {data['skipped']}.")
            continue
        res = data["samples"]
        rows.append(
            [
                f"{label} {data['version']}",
                data["what"],
                format_stat(stat(walls(res["peer"]))),
                format_stat(stat(walls(res["ours"]))),
                format_ratio(ratio(walls(res["peer"]), walls(res["ours"]))),
                (
                    f"both on `{data['python']}`"
                    if data["ours_python"] == data["python"]
                    else f"peer on `{data['python']}`, ours on `{data['ours_python']}`"
                ),
            ]
        )
    text = (
        "### 6. Peers\n\n"
        f"Fresh processes, imports included, {s.repeat} interleaved runs each; "
        "a ratio above 1 means the peer is slower. Ours runs with a warm cache.\n\n"
    )
    if rows:
        text += markdown_table(
            ["Peer", "Compared", "Peer", "Ours", "Peer / ours", "Interpreter"], rows
        )
    if notes:
        text += "\n\n" + "\n".join(notes)
    return text


def render_report(
    targets: list[Target],
    details: list[str],
    info: dict[str, str],
    command: str,
    duration: float,
) -> str:
    """The whole of ``BENCHMARKS.md``."""
    misses = [t.miss_text() for t in targets if t.miss_text()]
    lines = [
        "# Benchmarks",
        "",
        "Written by `tools/bench.py`; do not edit by hand. Produced by:",
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
    notes = [f"- {t.number}: {t.note}" for t in targets if t.note]
    if notes:
        lines += ["Notes:", "", *notes, ""]
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


def plot_scale(data: dict[str, Any], path: Path) -> bool:
    """Plot warm lookup and cold resolution against the number of presets; False without matplotlib."""
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


# -- the command line -----------------------------------------------------------------------

ALL_TARGETS = ("1", "2", "3", "4", "5", "6")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements, print the report and (unless ``--no-write``) write it."""
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    repeat = args.repeat or (3 if args.quick else 10)
    s = Settings(
        repeat=repeat,
        heavy_repeat=max(1, min(repeat, 5)),
        warmup=1,
        heavy_warmup=0 if args.quick or repeat == 1 else 1,
        sizes=args.sizes,
        peer_pythons=args.peer_python,
    )
    command = shlex.join(["python", "-m", "tools.bench", *raw])
    started = time.perf_counter()
    info = machine()
    load_before = _load()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tp-bench-", dir=args.tmp_dir) as tmp:
        root = Path(tmp)
        commit = None
        if args.at is not None:
            commit = export_commit(args.at, root / "tree")
            use_tree(root / "tree")
        info["Code measured"] = describe_code(args.at, commit)

        def step(label: str, fn: Callable[[], Any]) -> Any:
            t0 = time.perf_counter()
            print(f"[bench] {label} ...", file=sys.stderr, flush=True)
            value = fn()
            print(f"[bench] {label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            return value

        if "1" in args.only:
            results["listing"] = step("1 listing", lambda: measure_listing(root, s))
        if "2" in args.only:
            results["get_fresh"] = step("2 fresh get_preset", lambda: measure_get_fresh(root, s))
        if "3" in args.only:
            results["inproc"] = step("3 in-process get_preset", lambda: measure_inproc(root, s))
        if "4" in args.only or "5" in args.only:
            if "5" not in args.only:
                s.sizes = ()
            results["scale"] = step(
                "4/5 scale",
                lambda: measure_scale(root, s, lookups="5" in args.only, cold=True),
            )
        if "6" in args.only:
            results["peers"] = step("6 peers", lambda: measure_peers(root, s))
        use_tree(ROOT)
    if "scale" in results and not args.no_write and plot_scale(results["scale"], PLOT):
        results["scale"]["plot"] = PLOT.relative_to(ROOT).as_posix()
    info["Load average (1/5/15 min) before / after"] = f"{load_before}; {_load()}"
    info["Date"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    targets, details = build_targets(results, s)
    report = render_report(targets, details, info, command, time.perf_counter() - started)
    print(report)
    if not args.no_write:
        BENCHMARKS_MD.write_text(report, encoding="utf-8")
        print(f"[bench] wrote {BENCHMARKS_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
