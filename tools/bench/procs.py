"""Running fresh processes in private homes, timed, and interleaving what is compared."""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.bench_cache import run_child

__all__ = [
    "RACY_WAIT",
    "BenchError",
    "Case",
    "Sample",
    "Sandbox",
    "check_warm",
    "cpus",
    "exits_zero",
    "interleave",
    "lookup_case",
    "process_case",
    "run_process",
    "timed",
    "walls",
    "warm_up",
]

#: The cache trusts no timestamp younger than this (``_fingerprint.RACY_SECONDS``),
#: so a warm cache is only "warm" once its files are older: wait a little more.
RACY_WAIT = 2.5
# The cache's counters after a plain hit.
WARM_STATS = {"hits": 1, "builds": 0, "stores": 0, "fallbacks": 0, "waits": 0}


class BenchError(RuntimeError):
    """A measured command failed."""


@dataclass
class Sample:
    """One fresh-process run: wall-clock and CPU seconds, and what the child printed."""

    wall: float
    cpu: float
    data: dict[str, Any] = field(default_factory=dict)


def walls(samples: list[Sample]) -> list[float]:
    """The wall-clock seconds of ``samples``.

    >>> walls([Sample(1.0, 0.5), Sample(2.0, 0.7)])
    [1.0, 2.0]
    """
    return [s.wall for s in samples]


def cpus(samples: list[Sample]) -> list[float]:
    """The CPU seconds of ``samples``.

    >>> cpus([Sample(1.0, 0.5), Sample(2.0, 0.7)])
    [0.5, 0.7]
    """
    return [s.cpu for s in samples]


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_process(
    argv: Sequence[str], env: dict[str, str], *, cwd: Path, parse_json: bool = False
) -> Sample:
    """Run ``argv`` once in ``cwd``; its wall-clock and CPU time, and its JSON output."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    out = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, text=True)
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


def exits_zero(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> bool:
    """True if ``argv`` runs and exits 0 within two minutes (its output is ignored).

    >>> import sys
    >>> exits_zero([sys.executable, "-c", "pass"]), exits_zero([sys.executable, "-c", "1/0"])
    (True, False)
    """
    try:
        done = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


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


class Sandbox:
    """A private home for one measurement of the code in ``tree``: folders under ``root``."""

    def __init__(self, root: Path, label: str, tree: Path) -> None:
        self.tree = tree
        self.src = tree / "src"
        self.home = root / label
        self.cache = self.home / "cache"
        self.config = self.home / "config"
        self.data = self.home / "data"
        for folder in (self.cache, self.config, self.data):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def user_presets(self) -> Path:
        """The user preset folder that ``transformer_presets`` reads in this home."""
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
            PYTHONPATH=str(self.src),
            # Peers must not reach for the network while importing.
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
        )
        env.update(extra)
        return env

    def run(self, argv: Sequence[str], *, parse_json: bool = False, **env: str) -> Sample:
        """Run ``argv`` once in the measured tree with this home's environment (plus ``env``)."""
        return run_process(argv, self.env(**env), cwd=self.tree, parse_json=parse_json)

    def lookup(self, name: str) -> dict[str, Any]:
        """``bench_cache``'s fresh process resolving ``name`` here: its timings and cache counters."""
        return run_child(self.env(), name, src=self.src)

    def empty_cache(self) -> None:
        """Delete everything in this home's cache folder."""
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
        lambda: box.run(argv, parse_json=parse_json, **(env or {})),
        prepare=box.empty_cache if cold else None,
    )


def lookup_case(box: Sandbox, name: str, *, cold: bool = False) -> Case:
    """``bench_cache``'s fresh process resolving ``name`` in ``box`` (it reports its own timings)."""
    return Case(lambda: timed(lambda: box.lookup(name)), prepare=box.empty_cache if cold else None)


def warm_up(pairs: Sequence[tuple[Sandbox, str]]) -> None:
    """Build each sandbox's cache by looking up ``name``, then let it age past the racy window.

    The second lookup re-dates the manifest, as any lookup a few seconds after
    an edit would; the third must be a plain hit.
    """
    for box, name in pairs:
        box.lookup(name)
    time.sleep(RACY_WAIT)
    for box, name in pairs:
        box.lookup(name)
        check_warm(box, name)


def check_warm(box: Sandbox, name: str) -> bool:
    """True if a lookup in ``box`` is a plain cache hit (it is not if someone edited the sources)."""
    stats = box.lookup(name)["stats"]
    # A counter the measured version does not have yet ("waits") counts as zero.
    return bool({**dict.fromkeys(WARM_STATS, 0), **stats} == WARM_STATS)
