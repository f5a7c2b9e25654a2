"""The ``size`` and ``hooks`` commands, run as a user runs them, against the library's answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_presets import cli, resolve_preset
from transformer_presets.cli import _plan as cli_plan
from transformer_presets.cli import _size
from transformer_presets.cli._parser import plan_parser
from transformer_presets.cli._plan import (
    DEFAULT_MEMORY,
    format_bytes,
    format_flops,
    format_percent,
    parse_memory,
)
from transformer_presets.errors import PresetValidationError
from transformer_presets.fields.params import total_params
from transformer_presets.planner import hooked as planner
from transformer_presets.planner.hooked import ModelPlan

from .test_cli import TINY, fails, home, ok, ok_json, run

__all__ = ["home"]  # test_cli's fixture: temporary folders and a cache of the test's own


def test_size_json_is_the_library_answer(home: Path) -> None:
    got = ok_json("size", "gpt2-small", "--batch", "2", "--seq", "100", "--optimizer", "sgd")
    values = resolve_preset("gpt2-small")
    training = planner.training_state(values, "sgd")
    needed = (
        training.weights
        + planner.buffer_bytes(values, 100)
        + planner.activation_cache_bytes(values, 2, 100)
    )
    assert got == {
        "name": "gpt2",
        "architecture": "GPT2LMHeadModel",
        "batch": 2,
        "seq": 100,
        "dtype": "float32",
        "optimizer": "sgd",
        "hooks": None,
        "parameters": total_params(values),
        "weight_bytes": training.weights,
        "buffer_bytes": planner.buffer_bytes(values, 100),
        "kv_cache_bytes": planner.kv_cache_bytes(values, 2, 100),
        "kv_cache_mask_bytes": 2 * 100 * 8,
        "activation_bytes": planner.activation_cache_bytes(values, 2, 100),
        "activation_hooks": len(planner.hook_specs(values, 2, 100)),
        "forward_flops": planner.forward_flops(values, 2, 100),
        "flops_per_token": planner.forward_flops(values, 2, 100) // 200,
        "training_state": training.to_dict(),
        "needed_bytes": needed,
        "converted": False,
        "memory": [{"size_bytes": size, "fits": True} for size in DEFAULT_MEMORY],
    }


def test_size_defaults_to_the_context_and_the_preset_dtype(home: Path) -> None:
    got = ok_json("size", "pythia-70m")
    assert (got["batch"], got["seq"], got["dtype"]) == (1, 2048, "float32")
    half = ok_json("size", "pythia-70m", "--dtype", "bf16")
    assert half["dtype"] == "bfloat16"
    values = resolve_preset("pythia-70m")
    assert half["activation_bytes"] == planner.activation_cache_bytes(
        values, 1, 2048, dtype="bfloat16"
    )


def test_size_says_when_it_describes_the_converted_model(home: Path) -> None:
    assert not ok_json("size", "mixtral", "--seq", "8")["converted"]
    assert ok_json("size", "mixtral", "--seq", "8", "--dtype", "bfloat16")["converted"]
    assert not ok_json("size", "gpt-oss-20b", "--seq", "8", "--dtype", "bfloat16")["converted"]
    text = ok("size", "mixtral", "--seq", "8", "--dtype", "bfloat16")
    assert "numbers of the model after model.to(bfloat16)" in text
    assert "Expert hooks: an even split" in text


def test_size_counts_only_the_hooks_asked_for(home: Path) -> None:
    glob = "blocks.*.hook_resid_post"
    got = ok_json("size", "gpt2-small", "--seq", "64", "--hooks", glob)
    values = resolve_preset("gpt2-small")
    assert got["hooks"] == glob
    assert got["activation_bytes"] == planner.activation_cache_bytes(values, 1, 64, glob)
    assert got["activation_hooks"] == 12


def test_size_checks_the_memory_sizes_given(home: Path) -> None:
    got = ok_json("size", "gpt2-small", "--memory", "1GiB", "4GB", "--memory", "512M")
    sizes = [m["size_bytes"] for m in got["memory"]]
    assert sizes == [2**30, 4 * 10**9, 512 * 2**20]
    assert [m["fits"] for m in got["memory"]] == [s >= got["needed_bytes"] for s in sizes]
    assert got["memory"][1]["fits"] and not got["memory"][2]["fits"]


def test_size_text_shows_readable_units(home: Path) -> None:
    text = ok("size", "gpt2-small", "--memory", "1GiB", "24GiB")
    values = resolve_preset("gpt2-small")
    weights = planner.training_state(values).weights
    flops = planner.forward_flops(values, 1, 1024)
    assert text.startswith("gpt2 (GPT2LMHeadModel): batch 1 x seq 1024, float32\n")
    assert re.search(rf"^weights +{re.escape(format_bytes(weights))}$", text, re.M)
    assert re.search(rf"^forward +{re.escape(format_flops(flops))}  per pass", text, re.M)
    assert re.search(r"^ +1\.0 GiB  does not fit \(\d+%\)$", text, re.M)
    assert re.search(r"^ +24\.0 GiB  fits \(\d+%\)$", text, re.M)
    assert "Not counted: the CUDA context" in text


def test_hooks_json_is_the_library_answer(home: Path) -> None:
    got = ok_json("hooks", "pythia-70m", "blocks.0.*", "--batch", "3", "--seq", "16")
    specs = [
        s.to_dict()
        for s in planner.hook_specs(resolve_preset("pythia-70m"), 3, 16)
        if s.name.startswith("blocks.0.")
    ]
    assert got["hooks"] == specs
    assert got["total_bytes"] == sum(s["bytes"] for s in specs)
    assert (got["name"], got["batch"], got["seq"], got["pattern"]) == (
        "EleutherAI/pythia-70m",
        3,
        16,
        "blocks.0.*",
    )


def test_hooks_table_lists_every_hook_and_the_total(home: Path) -> None:
    text = ok("hooks", "gpt2-small", "--seq", "8", "--dtype", "bfloat16")
    values = resolve_preset("gpt2-small")
    specs = planner.hook_specs(values, 1, 8, "bfloat16")
    lines = text.splitlines()
    assert lines[0].split() == ["HOOK", "SHAPE", "DTYPE", "BYTES", "NOTE"]
    body = lines[1:-1]
    assert [line.split()[0] for line in body] == [s.name for s in specs]
    resid = next(line for line in body if line.startswith("blocks.1.hook_resid_pre "))
    assert resid.endswith("same tensor as blocks.0.hook_resid_post")
    scale = next(line for line in body if line.startswith("blocks.0.ln1.hook_scale "))
    assert scale.split()[1:5] == ["[1,", "8,", "1]", "float32"]
    total = planner.activation_cache_bytes(values, 1, 8, dtype="bfloat16")
    assert lines[-1].startswith(f"{len(specs)} hooks, {format_bytes(total)} ({total:,} bytes;")


def test_no_matching_hook_is_said(home: Path) -> None:
    proc = run("hooks", "gpt2-small", "nothing.*", "--seq", "4")
    assert proc.returncode == 0
    assert "no hooks match 'nothing.*'" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["size", "gpt2-small", "--batch", "-1"], "argument --batch: must be a positive integer"),
        (["size", "gpt2-small", "--batch", "0"], "argument --batch: must be a positive integer"),
        (["hooks", "gpt2-small", "--seq", "x"], "argument --seq: must be a positive integer"),
        (["size", "gpt2-small", "--seq", "2048"], "2048 is beyond gpt2's context (n_ctx = 1024)"),
        (["hooks", "gpt2-small", "--seq", "1025"], "beyond gpt2's context (n_ctx = 1024)"),
        (["size", "gpt2-small", "--dtype", "fp8"], "'fp8' is not a known dtype"),
        (["size", "gpt2-small", "--optimizer", "adam"], "invalid choice: 'adam'"),
        (["size", "gpt2-small", "--memory", "lots"], "cannot read 'lots' as a memory size"),
        (["size", "gpt2-small", "--memory", "0GiB"], "cannot read '0GiB' as a memory size"),
        (["size", "gpt2-small", "--memory", "4XB"], "cannot read '4XB' as a memory size"),
        # Less than a byte: a memory of 0 bytes (the percentage divided by it).
        (["size", "gpt2-small", "--memory", "1e-9B"], "cannot read '1e-9B' as a memory size"),
        (["size", "gpt2-small", "--memory=-1GiB"], "cannot read '-1GiB' as a memory size"),
        (["size", "gpt2-small", "--memory", "nanGiB"], "cannot read 'nanGiB' as a memory size"),
        (["size", "gpt2-small", "--memory", "1e400GiB"], "cannot read '1e400GiB'"),
        # Past what 64-bit addresses reach (the sizes in floats overflowed to a traceback).
        (
            ["size", "gpt2-small", "--memory", "1e308PB"],
            "'1e308PB' as a memory size: at most 16EiB",
        ),
        (
            ["size", "gpt2-small", "--memory", "1e306TB"],
            "'1e306TB' as a memory size: at most 16EiB",
        ),
        (["size", "gpt2-small", "--memory=17EiB"], "'17EiB' as a memory size: at most 16EiB"),
        (["size", "gpt2-small", "--memory", "9" * 400], "a text of 400 characters as a memory"),
        # Past what a tensor's dimension holds (the numbers overflowed the units' floats).
        (["size", "gpt2-small", "--batch", str(10**30)], "must be at most 9223372036854775807"),
        (["hooks", "gpt2-small", "--batch", str(2**63)], "must be at most 9223372036854775807"),
        (["size", "gpt2-small", "--batch", "9" * 5000], "got a number of 5000 digits"),
        (["size", "gpt2-small", "--seq", str(10**30)], "must be at most 9223372036854775807"),
        (["size", "gpt2-small", "--plot", "memory.txt"], "cannot write 'txt' images"),
    ],
)
def test_bad_input_is_a_usage_error(home: Path, args: list[str], message: str) -> None:
    if "--plot" in args:
        pytest.importorskip("matplotlib")
    proc = fails(*args, code=2)
    assert message in proc.stderr
    # argparse's usage line, or (a check that needs the preset) the command line's own.
    assert proc.stderr.startswith(("usage: ", "transformer-presets: error: argument --"))
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_the_largest_batch_gives_readable_numbers(home: Path) -> None:
    top = str(planner.MAX_SIZE)
    text = ok("size", "gpt2-small", "--batch", top)
    needed = ok_json("size", "gpt2-small", "--batch", top)["needed_bytes"]
    assert needed == planner.activation_cache_bytes(
        resolve_preset("gpt2-small"), 2**63 - 1, 1024
    ) + (
        planner.training_state(resolve_preset("gpt2-small"), "none").weights
        + planner.buffer_bytes(resolve_preset("gpt2-small"), 1024)
    )
    assert f"weights + buffers + activations = {format_bytes(needed)}:" in text
    assert re.search(r"^weights \+ buffers \+ activations = \d\.\de\+\d\d YiB:$", text, re.M)
    assert re.search(r"^ +80\.0 GiB  does not fit \(\d\.\de\+\d\d%\)$", text, re.M)
    hooks = ok("hooks", "gpt2-small", "unembed.*", "--batch", top)
    assert re.match(r"2 hooks, \d+\.\d YiB ", hooks.splitlines()[-1])
    with pytest.raises(PresetValidationError, match="must be at most"):
        planner.hook_specs(resolve_preset("gpt2-small"), 2**63, 4)


def test_unknown_and_uncovered_presets_are_errors(home: Path) -> None:
    proc = fails("size", "gpt2-smal")
    assert "did you mean" in proc.stderr
    proc = fails("hooks", "bert-base-cased")
    assert "preset 'google-bert/bert-base-cased'" in proc.stderr
    assert "HookedEncoder, which the planner does not cover" in proc.stderr


def test_plot_draws_the_memory_against_sequence_length(home: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "gpt2.png"
    proc = run("size", "gpt2-small", "--plot", str(target), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "gpt2"  # the report still goes to stdout
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in proc.stderr


def test_plot_without_matplotlib_names_the_extra(home: Path, tmp_path: Path) -> None:
    # A matplotlib that cannot be imported, ahead of any installed one.
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    src = Path(__file__).resolve().parents[1] / "src"
    proc = run(
        "size",
        "gpt2-small",
        "--plot",
        str(tmp_path / "x.png"),
        env={"PYTHONPATH": f"{tmp_path / 'fake'}:{src}"},
    )
    assert proc.returncode == 1
    assert "pip install 'transformer-presets[plot]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.png").exists()


def _imported(stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    "args",
    [
        ["size", "gpt2-small"],
        ["size", "mixtral", "--json", "--hooks", "blocks.0.*"],
        ["hooks", "pythia-70m", "blocks.0.*"],
    ],
    ids=["size", "size-json", "hooks"],
)
def test_size_and_hooks_stay_off_torch_numpy_and_slow_imports(home: Path, args: list[str]) -> None:
    ok(*args)  # warms the cache, as a user's second run finds it
    proc = run(*args, python_flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr
    imported = _imported(proc.stderr)
    assert "transformer_presets.planner.hooked" in imported
    # Not torch or numpy (no command may), and for speed (as fast as `list`) neither the
    # config class nor argparse and typing, which the quick reader and params avoid.
    heavy = sorted(
        m
        for m in imported
        if m.split(".")[0] in ("torch", "numpy", "argparse", "typing", "dataclasses")
        or m in ("transformer_presets.config.hooked", "transformer_presets.fields.schema")
    )
    assert heavy == []


@pytest.mark.parametrize(
    ("args", "own", "others"),
    [
        (["size", "gpt2-small"], "_size", ["_hooks", "_plot", "_plan_bridge"]),
        (["hooks", "pythia-70m", "blocks.0.*"], "_hooks", ["_size", "_plot", "_plan_bridge"]),
    ],
    ids=["size", "hooks"],
)
def test_each_command_imports_its_own_modules_only(
    home: Path, args: list[str], own: str, others: list[str]
) -> None:
    # Every module costs start-up time: hooks does without size's report, neither plots.
    ok(*args)
    proc = run(*args, python_flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr
    imported = _imported(proc.stderr)
    assert f"transformer_presets.cli.{own}" in imported
    assert [m for m in others if f"transformer_presets.cli.{m}" in imported] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512", 512),
        ("24GiB", 24 * 2**30),
        ("24 gib", 24 * 2**30),
        ("24GB", 24 * 10**9),
        ("1.5T", int(1.5 * 2**40)),
        ("80g", 80 * 2**30),
        ("100kB", 100_000),
        ("3MiB", 3 * 2**20),
        ("0.1GiB", 2**30 // 10),  # exactly: a float gave 107374182.40000001
        ("1e5", 100_000),
        ("16EiB", 2**64),
        ("18446744073709551616", 2**64),
        ("1.0000000000000000001GB", 10**9),
    ],
)
def test_memory_sizes_are_read(text: str, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        *("", "GiB", "0", "-1G", "1e400", "nan", "inf", "4 X", "4GiBs", "0.5", "1e-10GiB"),
        *("1e308PB", "1e306TB", "18446744073709551617", "1e999999999", "1e-999999999GiB"),
        *("9" * 5000, "0." + "0" * 5000 + "1GiB", "Infinity", "sNaN"),
    ],
)
def test_bad_memory_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="as a memory size"):
        parse_memory(text)


def test_units_read_naturally() -> None:
    assert [format_bytes(n) for n in (0, 1023, 1024, 5 * 2**40, 3 * 2**70, 12345 * 2**80)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "5.0 TiB",
        "3.0 ZiB",
        "1.2e+04 YiB",
    ]
    assert [format_flops(n) for n in (999, 1000, 25 * 10**14, 2 * 10**21, 3 * 10**28)] == [
        "999 FLOP",
        "1.0 kFLOP",
        "2.5 PFLOP",
        "2.0 ZFLOP",
        "3.0e+04 YFLOP",
    ]
    assert [format_percent(*p) for p in ((1, 2), (1, 10**9), (0, 5), (10**20, 1), (1, 200))] == [
        "50%",
        "<1%",
        "0%",
        "1.0e+22%",
        "<1%",  # half a percent rounds to 0 (ties to even): still something
    ]


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=0, max_value=2**20000), step=st.sampled_from(["bytes", "flops"]))
def test_sizes_are_shown_exactly_at_any_size(n: int, step: str) -> None:
    # The shown number is the size rounded to one decimal of its unit (or of its power of
    # ten), exactly: floats rounded sizes past 2**53 and could not hold them past 1.8e308.
    from fractions import Fraction

    text = format_bytes(n) if step == "bytes" else format_flops(n)
    number, unit = text.split(" ")
    units = (
        ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
        if step == "bytes"
        else [f"{p}FLOP" for p in ("", "k", "M", "G", "T", "P", "E", "Z", "Y")]
    )
    scale = (1024 if step == "bytes" else 1000) ** units.index(unit)
    if "e+" in number:
        mantissa, exponent = number.split("e+")
        assert len(mantissa) == 3 and 1 <= Fraction(mantissa) < 10 and len(exponent) >= 2
        half = Fraction(10 ** int(exponent), 20) * scale
    else:
        assert units.index(unit) == 0 or (number.count(".") == 1 and number[-2] == ".")
        half = Fraction(scale, 20) if "." in number else Fraction(0)
    assert abs(Fraction(number) * scale - n) <= half
    # The largest unit that keeps the number at least 1.
    assert n < scale * (1024 if step == "bytes" else 1000) or unit in ("YiB", "YFLOP")


def test_a_model_the_kv_cache_cannot_hold_is_plotted_without_it(
    home: Path, user_presets: Path, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    text = TINY.format(name="ungrouped") + (
        "n_key_value_heads = 2\nungroup_grouped_query_attention = true\n"
    )
    (user_presets / "mine.toml").write_text(text)
    target = tmp_path / "plot"  # no suffix: a PNG under exactly this name
    proc = run("size", "ungrouped", "--plot", str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}\n" in proc.stderr


def test_plot_to_an_unwritable_place_is_an_error(home: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    proc = fails("size", "gpt2-small", "--plot", str(tmp_path / "missing" / "x.png"))
    assert "No such file or directory" in proc.stderr


@pytest.mark.parametrize(
    "command",
    ["size gpt2-small", "hooks pythia-70m 'blocks.0.*' --seq 128"],
    ids=["size", "hooks"],
)
def test_the_readme_shows_what_the_commands_print(home: Path, command: str) -> None:
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    prompt = f"$ transformer-presets {command}\n"
    shown = readme[readme.index(prompt) + len(prompt) :].split("\n```", 1)[0]
    assert ok(*shlex.split(command)) == shown + "\n"


PLAN_TOKENS = [
    *("gpt2", "x", "blocks.*", "--batch", "2", "0", "-1", "--seq", "8", "--dtype", "bf16"),
    *("float32", "fp8", "--memory", "1GiB", "24G", "lots", "--optimizer", "sgd", "adam"),
    *("--hooks", "--plot", "f.png", "--json", "--preset-path", "/tmp/p", "--batch=3"),
    *("--memory=2G", "--seq=", "-h", "--", "--bat", "--js", "--hooks=x", "-"),
]


@settings(max_examples=500, deadline=None)
@given(
    command=st.sampled_from(["size", "hooks"]),
    rest=st.lists(st.sampled_from(PLAN_TOKENS), max_size=7),
)
def test_quick_reader_agrees_with_argparse(command: str, rest: list[str]) -> None:
    argv = [command, *rest]
    quick = cli_plan.quick_plan_args(argv, "p")
    if quick is None:
        return  # argparse reads it (and reports any mistake)
    got = {k: v for k, v in vars(quick).items() if k != "prog"}
    for parser in (cli.build_parser("p"), plan_parser("p")):
        expected = vars(parser.parse_args(argv))  # SystemExit: the quick reader was wrong
        expected.pop("prog", None)
        assert got == expected


def test_the_quick_reader_reads_the_plain_forms() -> None:
    argv = ["size", "gpt2", "--batch", "4", "--seq=16", "--memory", "1G", "2GB", "--json"]
    args = cli_plan.quick_plan_args(argv, "p")
    assert args is not None
    assert (args.name, args.batch, args.seq, args.memory, args.json) == (
        "gpt2",
        4,
        16,
        [2**30, 2 * 10**9],
        True,
    )
    assert cli_plan.quick_plan_args(["size", "gpt2", "--help"], "p") is None


@pytest.mark.parametrize("command", ["size", "hooks"])
def test_argparse_and_the_quick_reader_take_the_same_options(command: str) -> None:
    # Both read cli_plan.plan_options: an option argparse alone took would go unnoticed by
    # the property tests above (the quick reader hands what it does not know to argparse).
    for parser in (cli.build_parser("p"), plan_parser("p")):
        sub = next(a for a in parser._actions if a.dest == "command").choices[command]
        taken = {s for a in sub._actions for s in a.option_strings}
        flags = {option.flag for option in cli_plan.plan_options(command)}
        assert taken == {"-h", "--help", "--json", "--preset-path"} | flags
    assert len(cli_plan.plan_options("size")) == 8 and len(cli_plan.plan_options("hooks")) == 4


def test_a_user_preset_the_kv_cache_cannot_hold(home: Path, user_presets: Path) -> None:
    # Ungrouped grouped-query attention computes keys TransformerLens's cache cannot take.
    text = TINY.format(name="ungrouped") + (
        "n_key_value_heads = 2\nungroup_grouped_query_attention = true\n"
    )
    (user_presets / "mine.toml").write_text(text)
    got = ok_json("size", "ungrouped", "--seq", "8")
    assert got["kv_cache_bytes"] is None and got["kv_cache_mask_bytes"] is None
    values = resolve_preset("ungrouped")
    assert got["activation_bytes"] == planner.activation_cache_bytes(values, 1, 8)
    assert re.search(
        r"^KV cache +- +TransformerLens's key-value cache cannot hold",
        ok("size", "ungrouped", "--seq", "8"),
        re.M,
    )


# -- the extremes: exact integers, hostile text, matplotlib that cannot start --------------

LONGEST = """\
["longest"]
extends = "pythia-70m"
n_ctx = 9223372036854775807
"""


def test_the_longest_context_is_planned_and_plotted_in_exact_integers(
    home: Path, user_presets: Path, tmp_path: Path
) -> None:
    # A context of 2**63 - 1 is valid (rotary: no W_pos to count); the plot's axis was
    # computed in floats and asked for seq 2**63, beyond it.
    (user_presets / "mine.toml").write_text(LONGEST)
    top = planner.MAX_SIZE
    got = ok_json("size", "longest", "--batch", str(top))
    values = resolve_preset("longest")
    tokens = top * top
    assert (got["batch"], got["seq"]) == (top, top)
    assert got["forward_flops"] == planner.forward_flops(values, top, top)
    assert got["flops_per_token"] * tokens == got["forward_flops"]  # a whole number
    assert got["activation_bytes"] == planner.activation_cache_bytes(values, top, top)
    assert got["kv_cache_bytes"] == planner.kv_cache_bytes(values, top, top)
    for key in ("flops_per_token", "activation_bytes", "needed_bytes", "buffer_bytes"):
        assert type(got[key]) is int, key
    text = ok("size", "longest", "--batch", str(top), "--memory", "16EiB")
    needed = got["needed_bytes"]
    assert f"weights + buffers + activations = {format_bytes(needed)}:" in text
    assert f"16.0 EiB  does not fit ({format_percent(needed, 2**64)})" in text
    assert f"{format_flops(got['flops_per_token'])} per token" in text
    pytest.importorskip("matplotlib")
    target = tmp_path / "longest.png"
    proc = run("size", "longest", "--batch", str(top), "--plot", str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    seqs, series = _size._plot_series(planner.ModelPlan(values), top, "float32", None)
    assert seqs[0] == 1 and seqs[-1] == top and len(seqs) == cli_plan.PLOT_POINTS + 1
    assert all(type(v) is int for values in series.values() for v in (*values, *seqs))
    assert series["activations"][-1] == got["activation_bytes"]


DOLLARS = """\
["cost$5$"]
extends = "gpt2"
"""


@pytest.mark.parametrize("hooks", [None, "$\\frac$", "blocks.0.hook_*$x$"])
def test_plot_text_is_shown_as_written(
    home: Path, user_presets: Path, tmp_path: Path, hooks: str | None
) -> None:
    # A "$" made matplotlib read a title as math: a traceback ($\frac$), or other text.
    pytest.importorskip("matplotlib")
    (user_presets / "mine.toml").write_text(DOLLARS)
    rc = tmp_path / "rc"
    rc.mkdir()
    # Text as text in the SVG, to read it back; and LaTeX asked for, which is not there.
    (rc / "matplotlibrc").write_text("svg.fonttype: none\ntext.usetex: True\n")
    target = tmp_path / "plot.svg"
    args = ["size", "cost$5$", "--plot", str(target)]
    if hooks is not None:
        args += ["--hooks", hooks]
    proc = run(*args, env={"MATPLOTLIBRC": str(rc)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    import html

    svg = html.unescape(target.read_text(encoding="utf-8"))
    title = "cost$5$: batch 1, float32" + ("" if hooks is None else f", hooks {hooks}")
    assert title in svg


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"MPLBACKEND": "bogus"}, "MPLBACKEND is 'bogus'"),
        ({"MPLBACKEND": "\x1b[31mred"}, "MPLBACKEND is '\\x1b[31mred'"),
    ],
)
def test_matplotlib_that_cannot_start_is_a_clear_error(
    home: Path, tmp_path: Path, env: dict[str, str], said: str
) -> None:
    pytest.importorskip("matplotlib")
    proc = fails("size", "gpt2-small", "--plot", str(tmp_path / "x.png"), env=env)
    assert proc.stderr.startswith("transformer-presets: error: --plot: matplotlib cannot be set up")
    assert said in proc.stderr
    assert "\x1b" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "x.png").exists()


MANY_EXPERTS = """\
["many-experts"]
extends = "mixtral"
n_layers = 4
num_experts = 65536
d_model = 64
d_head = 16
n_key_value_heads = 2
d_mlp = 32
"""


def test_hooks_of_a_many_expert_model_answer_about_the_hooks_asked(
    home: Path, user_presets: Path
) -> None:
    (user_presets / "mine.toml").write_text(
        MANY_EXPERTS + '\n["too-many"]\nextends = "many-experts"\nn_layers = 5\n'
    )
    got = ok_json("hooks", "many-experts", "hook_embed", "--seq", "8")
    assert [h["name"] for h in got["hooks"]] == ["hook_embed"]
    size = ok_json("size", "many-experts", "--seq", "8")
    values = resolve_preset("many-experts")
    assert size["activation_hooks"] == planner.ModelPlan(values).hook_count(1, 8)
    assert size["activation_bytes"] == planner.activation_cache_bytes(values, 1, 8)
    # Past the experts the planner lays out, an error at the line that set the key.
    proc = fails("size", "too-many")
    assert "mine.toml:" in proc.stderr and "key 'num_experts'" in proc.stderr
    assert "the planner lays out at most 262144 experts in all" in proc.stderr


def test_the_cli_counts_and_plots_without_listing_hooks(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # size (and its plot, 65 points) asks one selection of the planner, counted once.
    counted: list[Any] = []
    count = ModelPlan._count
    monkeypatch.setattr(ModelPlan, "_count", lambda self, *a: counted.append(a) or count(self, *a))
    monkeypatch.setattr(ModelPlan, "_specs", lambda *a: pytest.fail("hooks were listed"))
    assert cli.main(["size", "pythia-70m", "--json"]) == 0
    assert len(counted) == 1
    pytest.importorskip("matplotlib")
    counted.clear()
    args = ["size", "pythia-70m", "--hooks", "blocks.*", "--plot", str(tmp_path / "p.png")]
    assert cli.main(args) == 0
    assert len(counted) == 1
    capsys.readouterr()


@pytest.mark.parametrize("model", ["hooked", "bridge"])
def test_a_glob_of_stars_is_matched_without_re(home: Path, model: str) -> None:
    # re (with enum and functools) costs a quarter of `python -c pass`: a glob of plain
    # characters and "*" is matched with string methods, as `list` matches its patterns.
    args = ("hooks", "pythia-70m", "blocks.0.*", "--model", model)
    ok(*args)  # warms the cache, as a user's second run finds it
    proc = run(*args, python_flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr
    imported = _imported(proc.stderr)
    assert "transformer_presets.common.globs" in imported
    assert sorted(m for m in imported if m in ("re", "fnmatch")) == []
