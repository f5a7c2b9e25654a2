"""Smoke test of the benchmark harness ``tools/bench/``: its pure functions and one tiny run.

Nothing here asserts anything about time (STYLE.md rule 11): the numbers are
the harness's business. The tiny run measures target 1 once (about ten short
fresh processes and one 2.5 s wait for the cache to age), so the module takes
a few seconds; the subprocess timeout only guards against a hang.
"""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tools import bench
from tools.bench import cli, measure, procs, report, stats
from tools.bench.procs import Case, Sample
from tools.bench.stats import Ratio, Stat
from tools.bench.targets import Target, build_targets

from .conftest import REPO

#: The harness's modules whose docstrings carry examples.
WITH_EXAMPLES = ["stats", "procs", "measure", "report", "gitexport", "machine", "cli"]


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(f"tools.bench.{name}")
    failed, attempted = doctest.testmod(module)
    assert attempted > 0
    assert failed == 0


def test_package_face_keeps_the_names_it_had() -> None:
    old = {"Ratio", "Sandbox", "Stat", "Target", "format_ratio", "format_seconds"}
    old |= {"format_stat", "interleave", "main", "markdown_table", "ratio", "render_report"}
    old |= {"stat", "verdict"}
    assert old <= set(bench.__all__)
    assert bench.main is cli.main and bench.Sandbox is procs.Sandbox and bench.stat is stats.stat


@pytest.mark.parametrize(
    "argv",
    [["--only", "1,9"], ["--repeat", "0"], ["--sizes", "0"]],
    ids=["unknown-target", "no-repeat", "empty-size"],
)
def test_bad_options_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.parse_args(argv)
    assert exc.value.code == 2
    assert "python -m tools.bench: error:" in capsys.readouterr().err


def test_stat_is_median_and_range() -> None:
    assert stats.stat([5.0, 1.0, 3.0, 2.0]) == Stat(2.5, 1.0, 5.0, 4)
    with pytest.raises(ValueError):
        stats.stat([])


def test_ratio_is_ratio_of_medians_with_paired_range() -> None:
    r = stats.ratio([2.0, 6.0, 3.0], [1.0, 2.0, 2.0])
    assert r.value == pytest.approx(1.5)
    assert (r.lo, r.hi) == (1.5, 3.0)


@pytest.mark.parametrize(
    ("value", "bound", "expected"),
    [(1.0, 1.1, "PASS"), (1.1, 1.1, "PASS"), (1.2, 1.1, "MISS")],
    ids=["under", "equal", "over"],
)
def test_verdict(value: float, bound: float, expected: str) -> None:
    assert stats.verdict(value, bound) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.5, "2.50 s"), (0.0812, "81.2 ms"), (0.25, "250 ms"), (3.2e-6, "3.20 µs"), (0.0, "0.00 µs")],
    ids=["s", "ms", "ms-3-digits", "us", "zero"],
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert stats.format_seconds(seconds) == text


def test_markdown_table_escapes_pipes() -> None:
    table = stats.markdown_table(["a", "b"], [["x|y", "2"]])
    assert table.splitlines() == ["| a | b |", "| --- | --- |", "| x\\|y | 2 |"]


def test_interleave_alternates_order_after_warmup() -> None:
    calls: list[str] = []

    def case(name: str) -> Case:
        return Case(
            lambda: calls.append(name) or Sample(1.0, 1.0), prepare=lambda: calls.append("p")
        )

    out = procs.interleave({"a": case("a"), "b": case("b")}, repeat=2, warmup=1)
    assert [c for c in calls if c != "p"] == ["a", "b", "a", "b", "b", "a"]
    assert calls.count("p") == 6  # prepare runs before every run, warm-ups included
    assert [len(v) for v in out.values()] == [2, 2]


def test_report_says_by_how_much_a_target_is_missed() -> None:
    targets = [
        Target("1", "listing", "90 ms", "30 ms", Ratio(3.0, 2.9, 3.1), 3.0),
        Target("2", "get", "1.3 s", "1.0 s", Ratio(1.32, 1.2, 1.4), 1.10),
        Target("4", "cold", "1 ms per entry", "0.4 s"),
    ]
    text = report.render_report(
        targets, ["### detail"], {"CPU": "test"}, "python -m tools.bench", 1.0
    )
    assert "| 1 | listing |" in text and "**PASS**" in text
    assert "**MISS**" in text
    assert "Target 2 (get) is missed: 1.32x against a bound of 1.10x, 20% over the bound." in text
    assert "| 4 | cold | 1 ms per entry | 0.4 s | - | - | - | reported |" in text
    assert "- CPU: test" in text and "### detail" in text


def test_sandbox_env_is_private(tmp_path: Path) -> None:
    box = procs.Sandbox(tmp_path / "homes", "x", tmp_path / "tree")
    env = box.env(TRANSFORMER_PRESETS_NO_CACHE="1")
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "TRANSFORMER_PRESETS_CACHE_DIR"):
        assert Path(env[key]).is_relative_to(tmp_path / "homes")
    assert env["PYTHONPATH"] == str(tmp_path / "tree" / "src")  # the measured code
    assert env["TRANSFORMER_PRESETS_NO_CACHE"] == "1"
    assert "PYTHONDONTWRITEBYTECODE" not in env
    (box.cache / "v1").mkdir()
    (box.cache / "f").write_text("x")
    box.empty_cache()
    assert list(box.cache.iterdir()) == []


def test_tiny_run_prints_a_report_and_writes_nothing(tmp_path: Path) -> None:
    before = (REPO / "BENCHMARKS.md").read_bytes() if (REPO / "BENCHMARKS.md").exists() else None
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.bench",
            "--only",
            "1,7",
            "--repeat",
            "1",
            "--no-write",
            "--tmp-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "| 1 | `python -m tools.list_presets`, warm cache / `python -c pass` |" in out.stdout
    assert "python -m tools.bench --only 1,7 --repeat 1 --no-write" in out.stdout
    # Target 7 is measured where the planner's commands exist, else said to be left out.
    measured = "| 7a | `python -m transformer_presets size gpt2-small`, warm cache" in out.stdout
    left_out = "- 7: `size` and `hooks` are not measured" in out.stdout
    assert measured != left_out
    assert list(tmp_path.iterdir()) == []  # the temporary homes are gone
    after = (REPO / "BENCHMARKS.md").read_bytes() if (REPO / "BENCHMARKS.md").exists() else None
    assert after == before


def test_report_with_a_miss_does_not_say_every_target_passes() -> None:
    targets = [
        Target("1", "a", "-", "-", Ratio(1.0, 1.0, 1.0), 3.0, Ratio(1.0, 1.0, 1.0)),
        Target("3", "b", "-", "-", Ratio(2.0, 2.0, 2.0), 1.5, Ratio(1.2, 1.2, 1.2)),
    ]
    text = report.render_report(targets, [], {}, "cmd", 1.0)
    assert "Every measured target passes" not in text
    assert "by CPU time the ratio is 1.20x, a PASS" in text
    only_pass = report.render_report(targets[:1], [], {}, "cmd", 1.0)
    assert "Every measured target passes" in only_pass


def test_close_call_is_flagged() -> None:
    close = Target("3", "b", "-", "-", Ratio(1.47, 1.38, 2.23), 1.5)
    clear = Target("5b", "c", "-", "-", Ratio(0.74, 0.48, 0.81), 1.5)
    assert close.close_call and not clear.close_call
    text = report.render_report([close, clear], [], {}, "cmd", 1.0)
    assert "| **PASS** (close) |" in text
    assert "Target 3: PASS at 1.47x, but the paired runs range 1.38x-2.23x" in text


# A stand-in for the package under measurement: it answers bench_cache's lookup child
# as a warm cache would, logs every command line it runs, and has `size` or not.
FAKE_MAIN = """
import pathlib, sys
log = pathlib.Path(__file__).with_name("calls.log")
with log.open("a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
sys.exit(2 if sys.argv[1] == "size" and not {has_size} else 0)
"""


def fake_tree(root: Path, *, has_size: bool) -> Path:
    package = root / "src" / "transformer_presets"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def resolve_preset(name):\n    return {'n_layers': 1}\n")
    (package / "cache.py").write_text(
        "STATS = {'hits': 1, 'builds': 0, 'stores': 0, 'fallbacks': 0}\n"
    )
    (package / "__main__.py").write_text(FAKE_MAIN.format(has_size=has_size))
    return root


def calls(tree: Path) -> list[str]:
    log = tree / "src" / "transformer_presets" / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def settings(tree: Path) -> measure.Settings:
    return measure.Settings(
        repeat=2, heavy_repeat=1, warmup=1, heavy_warmup=0, sizes=(), peer_pythons=[], tree=tree
    )


def test_planner_is_left_out_with_a_note_without_size(tmp_path: Path) -> None:
    tree = fake_tree(tmp_path / "tree", has_size=False)
    s = settings(tree)
    result = measure.measure_planner(tmp_path / "homes", s)
    assert calls(tree) == ["size --help"]  # asked once, then nothing run
    targets, details, notes = build_targets({"planner": result}, s)
    assert targets == [] and details == []
    text = report.render_report(targets, details, {}, "cmd", 1.0, notes=notes)
    assert (
        "- 7: `size` and `hooks` are not measured: `python -m transformer_presets size --help` "
        "fails on the measured code: it has no `size` command." in text
    )


def test_planner_rows_are_reported_and_the_bridges_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(procs, "RACY_WAIT", 0.0)  # the fake's cache has no racy window
    tree = fake_tree(tmp_path / "tree", has_size=True)
    s = settings(tree)
    result = measure.measure_planner(tmp_path / "homes", s)
    ran = calls(tree)
    assert ran.count("size --help") == 1
    assert ran.count("size gpt2-small --model bridge --seq 1") == 1  # the bridge's probe
    # One discarded warm-up and two measured runs each, interleaved with `python -c pass`.
    assert ran.count("size gpt2-small") == ran.count("hooks pythia-70m blocks.0.*") == 3
    assert ran.count("size gpt2-small --model bridge") == 3
    assert ran.count("hooks pythia-70m blocks.0.* --model bridge") == 3
    assert ran.count("list") == 3
    assert {k: len(v) for k, v in result["samples"].items()} == {
        "pass": 2,
        "list": 2,
        "size": 2,
        "hooks": 2,
        "size-bridge": 2,
        "hooks-bridge": 2,
    }
    targets, details, notes = build_targets({"planner": result}, s)
    assert notes == []
    assert [(t.number, t.bound) for t in targets] == [
        ("7a", None),
        ("7b", None),
        ("7c", 3.0),
        ("7d", 3.0),
    ]
    assert [t.result for t in targets[:2]] == ["reported", "reported"]
    text = report.render_report(targets, details, {}, "cmd", 1.0, notes=notes)
    assert (
        "| 7b | `python -m transformer_presets hooks pythia-70m 'blocks.0.*'`, warm cache / `python -c pass` |"
        in text
    )
    assert "| 7c | `python -m transformer_presets size gpt2-small --model bridge`, warm" in text
    assert "### 7. The planner's commands" in text


def test_the_deep_plot_is_bounded_against_a_small_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(procs, "RACY_WAIT", 0.0)  # the fake's cache has no racy window
    tree = fake_tree(tmp_path / "tree", has_size=True)
    s = settings(tree)
    result = measure.measure_plot(tmp_path / "homes", s)
    ran = calls(tree)
    image = str(tmp_path / "homes" / "t8" / "plot.png")
    # One probe of the deep plot, then one measured run of each (heavy_repeat 1).
    assert ran.count(f"size {measure.DEEP} --plot {image}") == 2
    assert ran.count("size gpt2-small") == ran.count(f"size gpt2-small --plot {image}") == 1
    assert (
        tmp_path / "homes" / "t8" / "config" / "transformer-presets" / "presets" / "deep.toml"
    ).exists()
    targets, details, notes = build_targets({"plot": result}, s)
    assert notes == []
    assert [(t.number, t.bound) for t in targets] == [("8a", 1.5), ("8b", None)]
    text = report.render_report(targets, details, {}, "cmd", 1.0, notes=notes)
    assert "### 8. The plot of a deep model" in text
    assert (
        "| 8a | `python -m transformer_presets size deep-65536 --plot plot.png` / the same" in text
    )


def test_a_deep_plot_that_takes_minutes_is_reported_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(procs, "RACY_WAIT", 0.0)
    monkeypatch.setattr(measure, "PLOT_PATIENCE", 0.0)  # any run is too slow
    tree = fake_tree(tmp_path / "tree", has_size=True)
    s = settings(tree)
    result = measure.measure_plot(tmp_path / "homes", s)
    targets, details, notes = build_targets({"plot": result}, s)
    assert targets == [] and details == []
    assert notes == [
        "8: `size --plot` is not measured: `python -m transformer_presets size deep-65536 "
        "--plot plot.png` took over 0 s on the measured code."
    ]


def test_the_bridges_commands_are_left_out_without_model(tmp_path: Path) -> None:
    # Code older than --model: its `size` exits 2 when given one.
    tree = fake_tree(tmp_path / "tree", has_size=True)
    main = tree / "src" / "transformer_presets" / "__main__.py"
    main.write_text(
        main.read_text().replace("sys.exit(", "sys.exit(2 if '--model' in sys.argv else ")
    )
    s = settings(tree)
    result = measure.measure_planner(tmp_path / "homes", s)
    assert set(result["samples"]) == {"pass", "list", "size", "hooks"}
    targets, _, notes = build_targets({"planner": result}, s)
    assert [t.number for t in targets] == ["7a", "7b"]
    assert notes == [
        "7: `--model bridge` is not measured: `python -m transformer_presets size gpt2-small "
        "--model bridge --seq 1` fails on the measured code: it has no `--model`."
    ]
