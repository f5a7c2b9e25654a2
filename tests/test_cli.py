"""The command line, run as a user runs it: a subprocess per command, with temporary
user folders, and every answer compared with the library's own.

In-process calls of ``cli.main`` are used only where a subprocess per case
would be slow for nothing (the TOML round trip over every bundled preset).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_presets import (
    PresetArgumentError,
    PresetError,
    PresetInfo,
    PresetRegistry,
    cache_info,
    explain_preset,
    list_presets,
    resolve_preset,
)
from transformer_presets.cli import build_parser, main
from transformer_presets.cli._parser import list_parser
from transformer_presets.cli._quick import quick_list_args
from transformer_presets.config.hooked import check_and_derive
from transformer_presets.fields.keys import defaults
from transformer_presets.files.sources import bundled_dir, user_preset_dir
from transformer_presets.hf.extending import closest_preset
from transformer_presets.hf.importing import from_hf_config

from .conftest import REPO

SRC = REPO / "src"
HF = REPO / "tests" / "data" / "hf_configs"

TINY = """\
["{name}"]
description = "a tiny test model"
aliases = ["{name}-alias"]
n_layers = 2
d_model = 64
n_ctx = 32
d_head = 16
act_fn = "gelu"
d_vocab = 100
"""


# -- fixtures and helpers -------------------------------------------------------------


@pytest.fixture
def home(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """conftest's temporary folders, with a cache of this test's own and no NO_COLOR.

    The commands run as subprocesses inherit this environment.
    """
    monkeypatch.setenv("TRANSFORMER_PRESETS_CACHE_DIR", str(isolated_dirs / "cache"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return isolated_dirs


@pytest.fixture
def user_dir(home: Path, user_presets: Path) -> Path:
    assert user_presets == user_preset_dir()
    return user_presets


def run(
    *args: str,
    module: str = "transformer_presets",
    env: dict[str, str] | None = None,
    pythonpath: bool = True,
    python_flags: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    if pythonpath:
        full_env["PYTHONPATH"] = str(SRC)
    else:
        full_env.pop("PYTHONPATH", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, *python_flags, "-m", module, *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(*args: str, **kwargs: Any) -> str:
    proc = run(*args, **kwargs)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def without_match(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``list --json`` rows as PresetInfo's records (without the alias a pattern matched)."""
    return [{k: v for k, v in row.items() if k != "matched_alias"} for row in rows]


def ok_json(*args: str, **kwargs: Any) -> Any:
    return json.loads(ok(*args, "--json", **kwargs))


def fails(*args: str, code: int = 1, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    proc = run(*args, **kwargs)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def derived_of(name: str) -> dict[str, Any]:
    return check_and_derive(resolve_preset(name))


def table_rows(text: str) -> list[list[str]]:
    """The rows of a table printed by the CLI, split on runs of 2+ spaces."""
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[1:] if line.strip()]


# -- help and usage ---------------------------------------------------------------------

COMMANDS = ["list", "show", "explain", "diff", "validate", "paths", "cache", "import-hf"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(home: Path, command: str) -> None:
    out = ok(command, "--help")
    assert out.startswith("usage:")
    assert "--json" in out


def test_top_level_help_documents_every_json_shape(home: Path) -> None:
    out = ok("--help")
    for command in COMMANDS:
        assert f"{command}" in out
    for shape in ("list --json", "show --json", "explain --json", "diff --json"):
        assert shape in out
    assert ok("--version").startswith("python -m transformer_presets ")


@pytest.mark.parametrize(
    "args",
    [[], ["bogus-command"], ["show"], ["diff", "gpt2"], ["list", "--source", "nowhere"]],
    ids=["no-command", "unknown-command", "show-without-name", "diff-one-name", "bad-choice"],
)
def test_usage_errors_exit_2(home: Path, args: list[str]) -> None:
    proc = fails(*args, code=2)
    assert "usage:" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("command", [["show"], ["explain"], ["diff", "gpt2"], ["show", "--json"]])
def test_unknown_preset_suggests_and_exits_1(home: Path, command: list[str]) -> None:
    proc = fails(*command, "gtp2")
    assert proc.stdout == ""
    assert "preset 'gtp2': no such preset (did you mean 'gpt2'" in proc.stderr
    assert proc.stderr.count("gtp2") == 1  # named once
    assert proc.stderr.startswith("transformer-presets: error:")


def test_abstract_preset_cannot_be_shown(home: Path) -> None:
    proc = fails("show", "gpt2-base")
    assert "is abstract" in proc.stderr


# -- list -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ([], {}),
        (["gpt2*"], {"pattern": ["gpt2*"]}),
        (["GPT2-*"], {"pattern": ["GPT2-*"]}),
        (["*mistral*", "gpt2-small"], {"pattern": ["*mistral*", "gpt2-small"]}),
        (["--all"], {"include_abstract": True}),
        (["--all", "--family", "gpt2"], {"include_abstract": True, "family": "gpt2"}),
        (["--source", "bundled"], {"source": "bundled"}),
        (["--source", "user"], {"source": "user"}),
        (["no-such-*"], {"pattern": ["no-such-*"]}),
    ],
    ids=[
        "all",
        "pattern",
        "pattern-any-case",
        "two-patterns",
        "abstract",
        "family",
        "bundled",
        "user",
        "no-match",
    ],
)
def test_list_json_is_the_library_answer(
    user_dir: Path, args: list[str], kwargs: dict[str, Any]
) -> None:
    (user_dir / "mine.toml").write_text(TINY.format(name="tiny-user"))
    expected = [p.to_dict() for p in list_presets(**kwargs)]
    got = ok_json("list", *args)
    assert without_match(got) == expected
    # The shape is stable down to the order of the keys: PresetInfo's fields, and the
    # alias a pattern matched.
    assert all(list(row) == [*PresetInfo._fields, "matched_alias"] for row in got)
    if args == ["--source", "user"]:
        assert [p["name"] for p in expected] == ["tiny-user"]


def test_list_table_columns(home: Path) -> None:
    out = ok("list", "gpt2", "mistralai/Mistral-7B-v0.1")
    header, *_ = out.splitlines()
    assert header.split() == [
        "NAME", "ARCHITECTURE", "LAYERS", "D_MODEL", "HEADS", "D_MLP", "CONTEXT", "PARAMS",
        "SOURCE", "NOTE",
    ]  # fmt: skip
    rows = {r[0]: r for r in table_rows(out)}
    assert rows["gpt2"] == ["gpt2", "GPT2LMHeadModel", "12", "768", "12", "3072", "1024", "85M",
                            "bundled"]  # fmt: skip
    mistral = rows["mistralai/Mistral-7B-v0.1"]
    info = list_presets("mistralai/Mistral-7B-v0.1")[0]
    assert mistral[4] == f"{info.n_heads}/{info.n_key_value_heads}" == "32/8"
    assert mistral[7] == "7.8B"


def test_list_rows_follow_the_library_order(user_dir: Path) -> None:
    # Natural order (numbers compare as numbers, sizes by magnitude): 70m, 160m, 1b, 1.4b.
    (user_dir / "zoo.toml").write_text(
        "".join(TINY.format(name=n) for n in ("zoo-160m", "zoo-70m", "zoo-1b", "zoo-1.4b"))
    )
    out = ok("list", "zoo-*")
    names = [r[0] for r in table_rows(out)]
    assert names == ["zoo-70m", "zoo-160m", "zoo-1b", "zoo-1.4b"]
    assert names == [p.name for p in list_presets("zoo-*")]


def test_list_matches_aliases(user_dir: Path) -> None:
    (user_dir / "mine.toml").write_text(TINY.format(name="tiny-user"))
    assert [r[0] for r in table_rows(ok("list", "TINY-USER-ALIAS"))] == ["tiny-user"]


def test_list_no_match_says_so(home: Path) -> None:
    proc = run("list", "no-such-model-*")
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert "no presets match 'no-such-model-*'" in proc.stderr


def test_list_abstract_only_with_all(home: Path) -> None:
    assert "gpt2-base" not in [r[0] for r in table_rows(ok("list", "gpt2*"))]
    rows = {r[0]: r for r in table_rows(ok("list", "--all", "gpt2*"))}
    assert rows["gpt2-base"][-1] == "abstract"


def test_sources_user_env_and_path(
    user_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (user_dir / "mine.toml").write_text(TINY.format(name="from-user"))
    env_dir = tmp_path / "env-presets"
    env_dir.mkdir()
    (env_dir / "env.toml").write_text(TINY.format(name="from-env"))
    extra = tmp_path / "extra.toml"
    extra.write_text(TINY.format(name="from-path"))
    monkeypatch.setenv("TRANSFORMER_PRESETS_PATH", str(env_dir))
    env = {"TRANSFORMER_PRESETS_PATH": str(env_dir)}

    rows = ok_json("list", "from-*", "--preset-path", str(extra), env=env)
    assert {r["name"]: r["source"] for r in rows} == {
        "from-user": "user",
        "from-env": "env",
        "from-path": "path",
    }
    assert without_match(rows) == [p.to_dict() for p in PresetRegistry([extra]).list("from-*")]
    table = {
        r[0]: r for r in table_rows(ok("list", "from-*", "--preset-path", str(extra), env=env))
    }
    assert table["from-user"][8] == "user"
    assert table["from-env"][8] == "env"
    assert table["from-path"][8] == "path"
    only_env = ok_json("list", "--source", "env", env=env)
    assert [r["name"] for r in only_env] == ["from-env"]
    # A user preset that shadows a bundled one is listed once, from the user folder.
    (user_dir / "shadow.toml").write_text('[gpt2]\nextends = "gpt2"\nn_ctx = 256\n')
    (gpt2,) = ok_json("list", "gpt2")
    assert (gpt2["source"], gpt2["n_ctx"]) == ("user", 256)


def test_list_marks_remote_code_and_errors(user_dir: Path) -> None:
    (user_dir / "odd.toml").write_text(
        TINY.format(name="remote-model")
        + "trust_remote_code = true\n\n"
        + '[broken-model]\nextends = "gpt2"\nn_layers = "many"\n'
    )
    proc = run("list", "--source", "user")
    assert proc.returncode == 0
    rows = {r[0]: r for r in table_rows(proc.stdout)}
    assert rows["remote-model"][-1] == "remote code"
    assert rows["broken-model"][-1] == "error"
    assert "remote-model" in proc.stderr and "trust_remote_code" in proc.stderr
    assert "odd.toml:" in proc.stderr and "expected int" in proc.stderr
    data = {r["name"]: r for r in ok_json("list", "--source", "user")}
    assert data["remote-model"]["remote_code_warning"] is True
    assert "expected int" in data["broken-model"]["error"]


def test_broken_user_file_is_an_error_not_a_traceback(user_dir: Path) -> None:
    (user_dir / "broken.toml").write_text("[x]\nn_layers = [1,\n")
    for args in (["list"], ["show", "gpt2"], ["list", "--json"]):
        proc = fails(*args)
        assert proc.stdout == ""
        assert f"{user_dir / 'broken.toml'}:" in proc.stderr


def test_missing_env_path_is_an_error(home: Path, tmp_path: Path) -> None:
    proc = fails("list", env={"TRANSFORMER_PRESETS_PATH": str(tmp_path / "nowhere")})
    assert "TRANSFORMER_PRESETS_PATH entry does not exist" in proc.stderr


def test_tools_list_presets_is_the_list_command(user_dir: Path) -> None:
    (user_dir / "mine.toml").write_text(TINY.format(name="tiny-user"))
    for args in ([], ["gpt2*", "--all"], ["--source", "user", "--json"]):
        assert ok(*args, module="tools.list_presets") == ok("list", *args)
    assert "usage: python -m tools.list_presets" in ok("--help", module="tools.list_presets")


def test_tools_list_presets_runs_without_installing(home: Path) -> None:
    # A fresh checkout: the package is neither installed nor on PYTHONPATH, only
    # its dependencies are importable. -S skips site-packages' .pth files, which
    # is where an editable install would hide; the script must find src/ itself.
    import sysconfig

    deps = sysconfig.get_paths()["purelib"]
    check = [sys.executable, "-S", "-c", "import transformer_presets"]
    env = {**os.environ, "PYTHONPATH": deps}
    assert subprocess.run(check, cwd=REPO, env=env, capture_output=True).returncode != 0
    out = ok("--json", "gpt2", module="tools.list_presets", env=env, python_flags=("-S",))
    assert without_match(json.loads(out)) == [p.to_dict() for p in list_presets("gpt2")]
    assert ok("gpt2", module="tools.list_presets", pythonpath=False).startswith("NAME")


def test_installed_console_script(home: Path) -> None:
    script = shutil.which("transformer-presets", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the package is not installed (pip install -e .)")
    proc = subprocess.run([script, "list", "gpt2", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert without_match(json.loads(proc.stdout)) == [p.to_dict() for p in list_presets("gpt2")]


# -- show, explain, diff ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["gpt2", "gpt2-small", "mistralai/Mistral-7B-v0.1"])
def test_show_json_is_resolve_plus_derived(home: Path, name: str) -> None:
    data = ok_json("show", name)
    info = list_presets(name)[0]
    assert data["name"] == info.name
    assert data["values"] == resolve_preset(name)
    assert data["derived"] == derived_of(name)
    assert data["aliases"] == list(info.aliases)
    assert (data["source"], data["file"], data["line"]) == (info.source, info.file, info.line)
    assert data["checkpoints"] is None


def test_show_checkpoints(home: Path) -> None:
    name = "EleutherAI/pythia-70m"
    data = ok_json("show", name)
    label_type, labels = _checkpoints_of(name)
    assert data["checkpoints"] == {"label_type": label_type, "values": labels}
    assert f"checkpoints: {len(labels)} ({label_type}s " in ok("show", name)
    assert tomllib.loads(ok("show", name, "--toml"))[name]["checkpoints"] == data["checkpoints"]


def test_show_text_lists_values_and_derived(home: Path) -> None:
    out = ok("show", "GPT2")
    assert out.splitlines()[0].startswith("gpt2")
    fields = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:1].islower()}
    assert fields["n_layers"] == ["12"]
    assert fields["n_params"] == [str(derived_of("gpt2")["n_params"]), "(derived)"]
    assert fields["act_fn"] == ['"gelu_new"']


def test_show_toml_loads_back_through_the_registry(home: Path, tmp_path: Path) -> None:
    name = "mistralai/Mixtral-8x7B-v0.1"
    text = ok("show", name, "--toml")
    path = tmp_path / "out.toml"
    path.write_text(text)
    assert PresetRegistry([path]).resolve(name) == resolve_preset(name)
    assert PresetRegistry([path]).info(name).source == "path"


def _checkpoints_of(name: str, registry: PresetRegistry | None = None) -> Any:
    from transformer_presets.registry.registry import default_registry

    found = (registry or default_registry()).checkpoints(name)
    return None if found is None else (found.label_type, list(found.values))


def _bundled_concrete() -> list[str]:
    return [p.name for p in PresetRegistry(use_cache=False).list(source="bundled") if not p.error]


@pytest.fixture(scope="module")
def shown_toml(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[PresetRegistry, dict[str, tuple[dict[str, Any], dict[str, Any]]]]:
    """``show NAME --toml`` of every bundled preset, all in one file, as a registry,
    and the library's answer for each: (resolved values, every field's value).

    In-process and in one file: a subprocess and a registry per preset would
    take minutes for the same check.
    """
    import contextlib
    import io

    home = tmp_path_factory.mktemp("home")
    out = io.StringIO()
    expected = {}
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data")):
            mp.setenv(var, str(home / sub))
        mp.setenv("TRANSFORMER_PRESETS_CACHE_DIR", str(home / "cache"))
        mp.delenv("TRANSFORMER_PRESETS_PATH", raising=False)
        with contextlib.redirect_stdout(out):
            for name in _bundled_concrete():
                assert main(["show", name, "--toml"]) == 0
                out.write("\n")
                explained = {f: o.value for f, o in explain_preset(name).items()}
                expected[name] = (resolve_preset(name), explained, _checkpoints_of(name))
    path = home / "shown.toml"
    path.write_text(out.getvalue())
    tomllib.loads(path.read_text())  # valid TOML
    return PresetRegistry([path], use_cache=False), expected


@pytest.mark.filterwarnings("ignore:preset .* turns on trust_remote_code")
@pytest.mark.parametrize("name", _bundled_concrete())
def test_show_toml_round_trip_every_bundled_preset(
    shown_toml: tuple[PresetRegistry, dict[str, Any]], name: str
) -> None:
    registry, expected = shown_toml
    values, explained, checkpoints = expected[name]
    assert registry.info(name).source == "path"
    assert registry.resolve(name) == values
    assert {f: o.value for f, o in registry.explain(name).items()} == explained
    assert _checkpoints_of(name, registry) == checkpoints


def test_show_user_preset_with_remote_code_warns(user_dir: Path) -> None:
    (user_dir / "remote.toml").write_text(TINY.format(name="remote") + "trust_remote_code = true\n")
    proc = run("show", "remote", "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["values"]["trust_remote_code"] is True
    assert "warning" in proc.stderr and "trust_remote_code" in proc.stderr
    assert "Traceback" not in proc.stderr and "UserWarning" not in proc.stderr


@pytest.mark.parametrize("name", ["gpt2", "mistralai/Mixtral-8x7B-v0.1"])
def test_explain_json_is_the_library_answer(home: Path, name: str) -> None:
    data = ok_json("explain", name)
    assert data["name"] == list_presets(name)[0].name
    assert data["fields"] == [o.to_dict() for o in explain_preset(name).values()]


def test_explain_text_names_file_and_line(home: Path) -> None:
    out = ok("explain", "gpt2")
    origins = explain_preset("gpt2")
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(lines) == set(origins)
    d_model = origins["d_model"]
    assert f"{d_model.preset} ({d_model.file}:{d_model.line})" in lines["d_model"]
    assert lines["n_heads"].rstrip().endswith("derived")
    assert lines["eps"].rstrip().endswith("default")


def test_diff(home: Path) -> None:
    data = ok_json("diff", "gpt2", "gpt2-medium")
    a, b = explain_preset("gpt2"), explain_preset("gpt2-medium")
    expected = [
        {"field": f, "a": a[f].value, "b": b[f].value}
        for f in a
        if f != "device" and a[f].value != b[f].value
    ]
    assert data == {"a": "gpt2", "b": "gpt2-medium", "differences": expected}
    assert {d["field"] for d in expected} >= {"n_layers", "d_model", "n_params"}
    rows = {r[0]: r for r in table_rows(ok("diff", "gpt2", "gpt2-medium"))}
    assert rows["n_layers"] == ["n_layers", "12", "24"]


def test_diff_of_a_preset_and_its_alias_is_empty(home: Path) -> None:
    assert ok_json("diff", "gpt2", "GPT2-SMALL")["differences"] == []
    assert "do not differ" in ok("diff", "gpt2", "gpt2-small")


# -- validate ---------------------------------------------------------------------------

VALID = '[my-small]\nextends = "gpt2"\nn_layers = 2\n\n[my-base]\nabstract = true\nd_head = 8\n'

INVALID = {
    "syntax.toml": ("[x]\nn_layers = \n", ["{path}:2:12: Invalid value"]),
    "types.toml": (
        '[t]\nextends = "gpt2"\nn_layers = "two"\nn_headz = 3\n',
        [
            "{path}:3:1: preset 't', key 'n_layers': expected int, got string ('two')",
            "{path}:4:1: preset 't', key 'n_headz': unknown field (did you mean 'n_heads'",
        ],
    ),
    "parent.toml": (
        '[p]\nabstract = true\nd_head = 8\n\n[q]\nextends = "gtp2"\n',
        ["{path}:6:1: preset 'q', key 'extends': unknown parent preset 'gtp2' (did you mean"],
    ),
    "class.toml": (
        '[c]\nextends = "gpt2"\nact_fn = "swish"\n',
        ["{path}:3:1: preset 'c', key 'act_fn': 'swish' is not a supported activation"],
    ),
    "missing.toml": (None, ["{path}: no such file or folder"]),
}


def test_validate_valid_file(user_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(VALID)
    proc = run("validate", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "no errors in 1 file (2 presets)\n"
    assert ok_json("validate", str(path)) == {
        "valid": True,
        "files": [
            {"path": str(path), "valid": True, "presets": ["my-small", "my-base"], "errors": []}
        ],
    }
    # Validating installs nothing.
    assert not any(user_dir.iterdir())
    assert "my-small" not in [p.name for p in list_presets()]


def test_validate_file_extending_a_user_preset(user_dir: Path, tmp_path: Path) -> None:
    (user_dir / "mine.toml").write_text(TINY.format(name="user-base"))
    path = tmp_path / "child.toml"
    path.write_text('[child]\nextends = "user-base"\nn_layers = 4\n')
    assert run("validate", str(path)).returncode == 0


def test_validate_with_a_preset_path(home: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib.toml"
    lib.write_text(TINY.format(name="lib-base"))
    child = tmp_path / "child.toml"
    child.write_text('[c]\nextends = "lib-base"\nn_layers = 3\n')
    assert "unknown parent preset 'lib-base'" in fails("validate", str(child)).stdout
    assert run("validate", str(child), "--preset-path", str(lib)).returncode == 0


def test_validate_files_extending_each_other(home: Path, tmp_path: Path) -> None:
    base, child = tmp_path / "base.toml", tmp_path / "child.toml"
    base.write_text('[b]\nextends = "gpt2"\nn_layers = 3\n')
    child.write_text('[c]\nextends = "b"\nd_model = 128\n')
    assert run("validate", str(base), str(child)).returncode == 0
    assert run("validate", str(tmp_path)).returncode == 0  # a folder of files


@pytest.mark.parametrize("case", sorted(INVALID), ids=lambda c: c.removesuffix(".toml"))
def test_validate_invalid_file(home: Path, tmp_path: Path, case: str) -> None:
    text, expected = INVALID[case]
    path = tmp_path / case
    if text is not None:
        path.write_text(text)
    proc = fails("validate", str(path))
    # Findings on stdout, as linters print them, then a summary line.
    messages = [line for line in proc.stdout.splitlines() if line.startswith(str(path))]
    assert len(messages) == len(expected), proc.stdout
    n = len(expected)
    assert proc.stdout.splitlines()[-1] == f"{n} error{'s' if n != 1 else ''} in 1 file"
    for line, want in zip(messages, expected, strict=True):
        assert line.startswith(want.format(path=path)), (line, want)
    data = json.loads(run("validate", "--json", str(path)).stdout)
    assert data["valid"] is False
    assert [e["message"] for e in data["files"][0]["errors"]] == messages


def test_validate_reports_every_error_of_every_file(home: Path, tmp_path: Path) -> None:
    paths = []
    for case, (text, _) in sorted(INVALID.items()):
        path = tmp_path / case
        if text is not None:
            path.write_text(text)
        paths.append(path)
    good = tmp_path / "good.toml"
    good.write_text(VALID)
    proc = fails("validate", *map(str, paths), str(good))
    found = [line for line in proc.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert len(found) == sum(len(e) for _, e in INVALID.values())
    assert str(good) not in proc.stdout
    assert proc.stdout.splitlines()[-1] == f"{len(found)} errors in {len(paths)} files"
    data = json.loads(run("validate", "--json", *map(str, paths), str(good)).stdout)
    assert [f["valid"] for f in data["files"]] == [False] * len(paths) + [True]


def test_validate_name_clash_between_files(home: Path, tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(TINY.format(name="same"))
    (tmp_path / "b.toml").write_text('[same]\nextends = "gpt2"\n')
    proc = fails("validate", str(tmp_path))
    assert "is defined twice at the same level" in proc.stdout


# -- paths and cache --------------------------------------------------------------------


def test_paths(home: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "extra.toml"
    env_file.write_text(TINY.format(name="e"))
    env = {"TRANSFORMER_PRESETS_PATH": str(env_file), "NO_COLOR": "1"}
    data = ok_json("paths", env=env)
    assert data["bundled"] == str(bundled_dir())
    assert data["user"] == str(user_preset_dir())
    assert data["user"].startswith(str(home / "config"))
    assert data["environment"] == {
        "TRANSFORMER_PRESETS_PATH": str(env_file),
        "TRANSFORMER_PRESETS_CACHE_DIR": str(home / "cache"),
        "TRANSFORMER_PRESETS_NO_CACHE": None,
        "TRANSFORMER_PRESETS_BUNDLED_DIR": None,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "NO_COLOR": "1",
    }
    assert [(s["kind"], s["path"], s["exists"]) for s in data["sources"]] == [
        ("env", str(env_file), True),
        ("user", str(user_preset_dir()), False),
        ("bundled", str(bundled_dir()), True),
    ]
    assert data["cache"] == cache_info().to_dict()["location"] == str(home / "cache")
    assert data["cache_enabled"] is True
    text = ok("paths", env=env)
    assert f"bundled presets  {bundled_dir()}" in text
    assert f"TRANSFORMER_PRESETS_PATH={env_file}" in text
    assert "TRANSFORMER_PRESETS_NO_CACHE (not set)" in text


def test_cache_info_and_clear(home: Path) -> None:
    ok("list")  # fills the cache
    info = ok_json("cache", "info")
    assert info == cache_info().to_dict()
    assert info["location"] == str(home / "cache")
    assert info["entries"] > 0 and info["size_bytes"] > 0
    text = ok("cache", "info")
    assert f"location  {home / 'cache'}" in text
    assert f"({info['size_bytes']} bytes)" in text
    cleared = ok_json("cache", "clear")
    assert cleared == {
        "cleared": True,
        "location": info["location"],
        "removed_entries": info["entries"],
        "freed_bytes": info["size_bytes"],
    }
    assert ok_json("cache", "info") == cache_info().to_dict()
    assert cache_info().entries == 0
    assert ok("cache", "clear") == f"cleared the cache at {home / 'cache'} (0 entries, 0 bytes)\n"


def test_cache_info_when_turned_off(home: Path) -> None:
    info = ok_json("cache", "info", env={"TRANSFORMER_PRESETS_NO_CACHE": "1"})
    assert info["enabled"] is False
    assert ok_json("paths", env={"TRANSFORMER_PRESETS_NO_CACHE": "1"})["cache_enabled"] is False


# -- shell habits: pipes, colour, speed ---------------------------------------------------


@pytest.fixture
def many_presets(user_dir: Path) -> Path:
    # Enough output to overflow a pipe buffer, so the reader really goes away early.
    (user_dir / "many.toml").write_text("".join(TINY.format(name=f"m{i}") for i in range(400)))
    return user_dir


@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["explain", "gpt2", "--json"]])
def test_pipe_into_head(many_presets: Path, args: list[str]) -> None:
    cmd = [sys.executable, "-m", "transformer_presets", *args]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(20)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "BrokenPipeError" not in err
    assert "Traceback" not in err
    assert "Exception ignored" not in err


def test_shell_pipe_into_head(many_presets: Path) -> None:
    if shutil.which("head") is None:
        pytest.skip("no head command")
    python = sys.executable
    proc = subprocess.run(
        f'"{python}" -m transformer_presets list --json | head -n 2',
        shell=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
    )
    assert proc.stdout == "[\n  {\n"
    assert proc.stderr == ""


def _run_on_terminal(args: list[str], env: dict[str, str]) -> str:
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "transformer_presets", *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(SRC), "TERM": "xterm", **env},
            stdout=slave,
            stderr=subprocess.PIPE,
            timeout=60,
            check=True,
        )
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_without_no_color(home: Path) -> None:
    assert "\033[" in _run_on_terminal(["list", "gpt2"], {})
    assert "\033[" not in _run_on_terminal(["list", "gpt2"], {"NO_COLOR": "1"})
    assert "\033[" not in ok("list", "gpt2")  # a pipe
    assert "\033[" not in ok("list", "--all", "gpt2*")


def test_colour_changes_nothing_but_the_escapes(home: Path) -> None:
    # --all lists abstract presets, whose NOTE cell is coloured (dim).
    coloured = _run_on_terminal(["list", "--all", "gpt2*"], {})
    assert "\033[2mabstract" in coloured
    plain = re.sub(r"\033\[[0-9;]*m", "", coloured).replace("\r\n", "\n")
    assert plain == ok("list", "--all", "gpt2*")


TORCH_FREE = [
    ["list"],
    ["list", "--json"],
    ["show", "gpt2"],
    ["show", "gpt2", "--toml"],
    ["explain", "gpt2", "--json"],
    ["diff", "gpt2", "gpt2-medium"],
    ["validate", "presets"],
    ["paths"],
    ["cache", "info"],
    ["import-hf", str(HF / "EleutherAI__pythia-70m"), "--name", "x/y", "--extends", "auto"],
]


@pytest.mark.parametrize("args", TORCH_FREE, ids=lambda a: "-".join(a[:2]).replace("/", "_")[:30])
def test_commands_never_import_torch_or_numpy(home: Path, args: list[str]) -> None:
    proc = run(*args, python_flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "transformer_presets.cli" in imported
    heavy = sorted(m for m in imported if m.split(".")[0] in ("torch", "numpy"))
    assert heavy == []


# What the start-up target of a warm listing rests on (BENCHMARKS.md, target 1):
# each of these costs a noticeable share of `python -c pass`. Not a timing test:
# it fails when a change puts one of them back on the listing's path. json (and
# the re it needs) is for --json output alone; re is otherwise imported only for
# a pattern with ? or [ (fnmatch).
SLOW_IMPORTS = ("argparse", "typing", "pathlib", "platformdirs", "tomllib", "dataclasses")
OWN_COLD_MODULES = ("_catalog", "_resolve", "presetfile", "preset_keys", "config", "records")


def _imported(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("tools.list_presets", []),
        ("tools.list_presets", ["gpt2*", "--all"]),
        ("transformer_presets", ["list", "--source", "bundled", "--family=pythia"]),
        ("transformer_presets", ["list", "--json", "-a", "*mistral*"]),
    ],
    ids=["plain", "pattern", "filters", "json"],
)
def test_warm_listing_stays_off_the_slow_imports(home: Path, module: str, args: list[str]) -> None:
    ok(*args, module=module)  # warms the cache
    proc = run(*args, module=module, python_flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr
    imported = _imported(proc)
    assert "transformer_presets.cache.store" in imported
    avoid = list(SLOW_IMPORTS)
    if "--json" not in args:
        avoid += ["json", "re"]
    slow = sorted(m for m in imported if m.split(".")[0] in avoid)
    own = sorted(m for m in imported if m.removeprefix("transformer_presets.") in OWN_COLD_MODULES)
    assert (slow, own) == ([], [])


QUICK_TOKENS = [
    *("gpt2*", "pythia-*", "x", "", "-", "--", "-1", "-h", "--help", "--js", "--al", "-aa"),
    *("--json", "-a", "--all", "--source", "bundled", "user", "nope", "--source=user"),
    *("--source=", "--family", "gpt2", "--family=", "--family=-x", "--preset-path"),
    *("/tmp/p", "--preset-path=/q", "--preset-path=", "--fam", "--source=nope"),
]


@settings(max_examples=400, deadline=None)
@given(argv=st.lists(st.sampled_from(QUICK_TOKENS), max_size=7))
def test_quick_list_reader_agrees_with_argparse(argv: list[str]) -> None:
    quick = quick_list_args(argv)
    if quick is None:
        return  # argparse reads it (and reports any mistake)
    got = {k: v for k, v in vars(quick).items() if k != "command"}
    for parser, prefix in ((list_parser("p"), []), (build_parser("p"), ["list"])):
        expected = vars(parser.parse_args([*prefix, *argv]))  # SystemExit: quick was wrong
        expected.pop("command", None)
        assert got == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["gpt2*", "pythia-*"],
        ["--json"],
        ["-a", "--source", "user", "x"],
        ["--family=gpt2", "x", "y", "--all"],
        ["--preset-path", "/p", "--preset-path=/q", "--source=path"],
    ],
)
def test_quick_list_reader_takes_the_common_forms(argv: list[str]) -> None:
    assert quick_list_args(argv) is not None


@pytest.mark.parametrize(
    "argv",
    [["-h"], ["--help"], ["--js"], ["a", "--json", "b"], ["--source", "nope"], ["--family"]],
)
def test_quick_list_reader_leaves_the_rest_to_argparse(argv: list[str]) -> None:
    assert quick_list_args(argv) is None


# -- import-hf ----------------------------------------------------------------------------


def _with_defaults(values: dict[str, Any]) -> dict[str, Any]:
    # As the built config holds them: defaults, then the values, then what the class derives.
    return {**defaults(), **values, **check_and_derive(values)}


def _load(text: str, tmp_path: Path, name: str) -> dict[str, Any]:
    path = tmp_path / "imported.toml"
    path.write_text(text)
    return PresetRegistry([path]).resolve(name)


@pytest.mark.parametrize("fixture", ["EleutherAI__pythia-70m", "mistralai__Mistral-7B-v0.1"])
def test_import_hf_prints_a_preset_that_loads_back(
    home: Path, tmp_path: Path, fixture: str
) -> None:
    name = fixture.replace("__", "/")
    if not (HF / fixture).is_dir():
        pytest.skip(f"no fixture {fixture}")
    values = from_hf_config(HF / fixture, name=name)
    text = ok("import-hf", str(HF / fixture), "--name", name)
    assert tomllib.loads(text) == {name: values}
    assert _load(text, tmp_path, name) == values


@pytest.mark.parametrize("extends", [[], ["--extends", "auto"]])
def test_import_hf_never_prints_a_preset_that_does_not_load(
    home: Path, tmp_path: Path, extends: list[str]
) -> None:
    # TransformerLens takes a negative clip_qkv; no preset can hold it.
    data = json.loads((HF / "allenai__OLMo-1B-hf" / "config.json").read_text())
    source = tmp_path / "config.json"
    source.write_text(json.dumps(data | {"clip_qkv": -1}))
    proc = fails("import-hf", str(source), "--name", "x/olmo", *extends)
    assert proc.stdout == ""
    assert f"{source}: key 'clip_qkv'" in proc.stderr and "got -1" in proc.stderr


def test_import_hf_name_defaults_to_the_file(home: Path, tmp_path: Path) -> None:
    data = json.loads((HF / "EleutherAI__pythia-70m" / "config.json").read_text())
    data["_name_or_path"] = "someone/pythia-copy"
    source = tmp_path / "config.json"
    source.write_text(json.dumps(data))
    values = from_hf_config(source)
    assert tomllib.loads(ok("import-hf", str(tmp_path))) == {"someone/pythia-copy": values}


@pytest.mark.parametrize("base", ["gpt2", "auto"])
def test_import_hf_extends(home: Path, tmp_path: Path, base: str) -> None:
    source = HF / "EleutherAI__pythia-70m"
    values = from_hf_config(source, name="me/pythia")
    data = ok_json("import-hf", str(source), "--name", "me/pythia", "--extends", base)
    table = data["table"]
    assert data["values"] == values
    if base == "auto":
        reg = PresetRegistry()
        candidates = {p.name: reg.resolve(p.name) for p in reg.list(source="bundled")}
        assert data["extends"] == table["extends"] == closest_preset(values, candidates)
    else:
        assert data["extends"] == table["extends"] == "gpt2"
    assert len(table) < len(values) or base == "gpt2"  # only the differences
    assert tomllib.loads(data["toml"]) == {"me/pythia": table}
    loaded = _load(data["toml"], tmp_path, "me/pythia")
    assert _with_defaults(loaded) == _with_defaults(values)
    # The printed form is the same text.
    text = ok("import-hf", str(source), "--name", "me/pythia", "--extends", base)
    assert text == data["toml"]


@pytest.mark.parametrize("base", ["", " "], ids=["empty", "blank"])
def test_import_hf_extends_nothing_is_a_usage_error(home: Path, base: str) -> None:
    # It used to be ignored: the whole preset was written, as without --extends.
    proc = fails("import-hf", str(HF / "gpt2"), "--extends", base, code=2)
    assert "--extends: an empty name names no preset ('auto' picks one)" in proc.stderr
    assert proc.stdout == ""


def test_import_hf_save_and_force(user_dir: Path) -> None:
    source = str(HF / "EleutherAI__pythia-70m")
    target = user_dir / "me__pythia-70m.toml"
    out = ok("import-hf", source, "--name", "me/pythia-70m", "--extends", "gpt2", "--save")
    assert str(target) in out
    assert target.is_file()
    (row,) = ok_json("list", "me/*")
    assert (row["name"], row["source"], row["file"]) == ("me/pythia-70m", "user", str(target))
    values = from_hf_config(source, name="me/pythia-70m")
    assert _with_defaults(resolve_preset("me/pythia-70m")) == _with_defaults(values)

    before = target.read_text()
    proc = fails("import-hf", source, "--name", "me/pythia-70m", "--save")
    assert "--force" in proc.stderr and str(target) in proc.stderr
    assert target.read_text() == before
    data = ok_json("import-hf", source, "--name", "me/pythia-70m", "--save", "--force")
    assert data["saved"] == str(target)
    assert "extends" not in tomllib.loads(target.read_text())["me/pythia-70m"]
    assert resolve_preset("me/pythia-70m") == values
    assert [p.name for p in user_dir.iterdir()] == [target.name]  # no temporary left over


def test_import_hf_save_refuses_a_second_definition(user_dir: Path) -> None:
    (user_dir / "other.toml").write_text(TINY.format(name="taken"))
    proc = fails("import-hf", str(HF / "EleutherAI__pythia-70m"), "--name", "taken", "--save")
    assert "already exists" in proc.stderr
    assert not (user_dir / "taken.toml").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"architectures": ["NopeForCausalLM"], "_name_or_path": "x/y"}',
            "unsupported architecture 'NopeForCausalLM'; supported:",
        ),
        ('{"architectures": ["GPT2LMHeadModel"],\n "n_layer": }', "config.json:2:13: invalid JSON"),
        ('{"_name_or_path": "x/y"}', "architectures"),
    ],
    ids=["unknown-architecture", "malformed-json", "missing-key"],
)
def test_import_hf_errors(home: Path, tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "config.json").write_text(content)
    proc = fails("import-hf", str(tmp_path))
    assert message in proc.stderr
    assert proc.stdout == ""


def test_import_hf_missing_file(home: Path, tmp_path: Path) -> None:
    proc = fails("import-hf", str(tmp_path / "nowhere"), "--name", "x")
    assert "no such file" in proc.stderr


def test_validate_a_folder_without_preset_files(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a preset")
    proc = fails("validate", str(empty))
    assert proc.stdout.splitlines() == [
        f"{empty}: is a folder with no preset file (*.toml) in it",
        "1 error in 1 file",
    ]


def test_validate_output_can_be_redirected(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[x]\nextends = "gpt2"\nn_layers = "two"\n')
    report = tmp_path / "report.txt"
    with report.open("w") as out:
        code = subprocess.run(
            [sys.executable, "-m", "transformer_presets", "validate", str(bad)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(SRC)},
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        ).returncode
    assert code == 1
    assert report.read_text().splitlines() == [
        f"{bad}:3:1: preset 'x', key 'n_layers': expected int, got string ('two')",
        "1 error in 1 file",
    ]


def test_import_hf_extends_writes_no_derived_value(home: Path, tmp_path: Path) -> None:
    # Llama 3.2 1B extending Llama 3.2 3B: n_heads = 32 and d_mlp = 8192 are what the
    # class derives from what the preset says, so the table leaves them out.
    source = HF / "meta-llama__Llama-3.2-1B"
    data = ok_json(
        "import-hf", str(source), "--name", "me/llama", "--extends", "meta-llama/Llama-3.2-3B"
    )
    table = data["table"]
    loaded = _load(data["toml"], tmp_path, "me/llama")
    derived = check_and_derive(loaded)
    for field in ("n_heads", "d_mlp", "attn_scale", "initializer_range", "rotary_dim"):
        if field in derived:
            assert field not in table, field
    assert _with_defaults(loaded) == _with_defaults(data["values"])


def test_import_hf_auto_says_which_base_and_how_close(home: Path) -> None:
    source = HF / "meta-llama__Llama-2-7b-hf"
    proc = run("import-hf", str(source), "--extends", "auto")
    assert proc.returncode == 0, proc.stderr
    assert (
        "note: extending meta-llama/Llama-2-7b-hf (the closest bundled preset: 0 differing fields)"
        in proc.stderr
    )
    assert "warning" not in proc.stderr  # information, not a problem
    assert 'extends = "meta-llama/Llama-2-7b-hf"' in proc.stdout


def test_import_hf_without_any_name_names_the_preset_after_its_folder(
    home: Path, tmp_path: Path
) -> None:
    # The name is optional, as for from_hf_config: the values are the one-argument
    # call's (model_name at its default); the preset, which needs a name, takes its folder's.
    folder = tmp_path / "my-llama"
    folder.mkdir()
    shutil.copy(HF / "meta-llama__Llama-3.2-1B" / "config.json", folder)
    values = from_hf_config(folder)
    assert "model_name" not in values and "tokenizer_name" not in values
    for source in (folder, folder / "config.json"):
        proc = run("import-hf", str(source))
        assert proc.returncode == 0, proc.stderr
        assert tomllib.loads(proc.stdout) == {"my-llama": values}
        assert "named 'my-llama' after its folder" in proc.stderr
        assert "--name" in proc.stderr and "name=" not in proc.stderr


def test_import_hf_without_a_name_never_shadows_a_preset_by_accident(user_dir: Path) -> None:
    # The fixture's folder is called gpt2: saving it under that name would silently
    # replace the bundled gpt2 with a preset whose model_name is the class default.
    proc = fails("import-hf", str(HF / "gpt2"), "--save", code=2)
    assert "'gpt2' is already a preset's" in proc.stderr and "--name NAME" in proc.stderr
    assert list(user_dir.iterdir()) == []
    assert ok("import-hf", str(HF / "gpt2")).count("[gpt2]") == 1  # printing is harmless


@pytest.mark.parametrize(
    ("name", "problem"), [("", "empty"), (" x", "starts or ends with blanks"), ("a\tb", "control")]
)
def test_import_hf_refuses_a_name_no_preset_can_have(home: Path, name: str, problem: str) -> None:
    proc = fails("import-hf", str(HF / "gpt2"), "--name", name, code=2)
    assert "--name" in proc.stderr and problem in proc.stderr
    assert proc.stdout == ""


def test_import_hf_reads_a_bare_name_from_the_hub_cache(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = tmp_path / "hf" / "hub"
    snapshot = hub / "models--roneneldan--TinyStories-1M" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    blob = hub / "models--roneneldan--TinyStories-1M" / "blobs" / "1234"
    blob.parent.mkdir()
    shutil.copy(HF / "roneneldan__TinyStories-1M" / "config.json", blob)
    (snapshot / "config.json").symlink_to(os.path.relpath(blob, snapshot))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    # The cache folder names the model, not the file's _name_or_path (gpt-neo-125M).
    values = from_hf_config(HF / "roneneldan__TinyStories-1M", name="roneneldan/TinyStories-1M")
    text = ok("import-hf", "roneneldan/TinyStories-1M")
    assert tomllib.loads(text) == {"roneneldan/TinyStories-1M": values}
    proc = fails("import-hf", "nobody/nothing")
    assert str(hub / "models--nobody--nothing") in proc.stderr


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    # As the built config holds them, with each number's type (10000 is not 10000.0).
    return {k: (type(v).__name__, v) for k, v in _with_defaults(values).items()}


FIXTURES = sorted(p.name for p in HF.iterdir() if (p / "config.json").is_file())


@pytest.mark.filterwarnings("ignore:.*trust_remote_code")
@pytest.mark.parametrize("base", ["auto", "google/gemma-2-2b", "mistralai/Mixtral-8x7B-v0.1"])
@pytest.mark.parametrize("fixture", FIXTURES)
def test_import_hf_extends_loads_back_to_the_direct_import(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fixture: str,
    base: str,
) -> None:
    # In-process (a subprocess per case would be slow for nothing). A base of another
    # architecture, RoPE base type or attention pattern must still give the same values,
    # types included; gemma-2-2b and Mixtral write rotary_base one as a float, one as an int.
    name = fixture.replace("__", "/")
    assert main(["import-hf", str(HF / fixture), "--name", name, "--extends", base]) == 0
    text = capsys.readouterr().out
    assert _typed(_load(text, tmp_path, name)) == _typed(from_hf_config(HF / fixture, name=name))


def test_import_hf_extends_takes_the_base_pattern_from_the_catalog_not_its_file(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Gemma 2's local/global pattern is laid out over the child's 46 layers; with the
    # catalog in the cache, no preset file is read again to find it.
    PresetRegistry().resolve("google/gemma-2-2b")
    parsed: list[object] = []

    def spy(*args: object, **kwargs: object) -> object:
        parsed.append(args)
        raise AssertionError("a preset file was parsed again")

    import transformer_presets.cli._commands as commands
    import transformer_presets.files.reader as presetfile

    monkeypatch.setattr(presetfile, "parse_preset_file", spy)
    monkeypatch.setattr(commands, "parse_preset_file", spy, raising=False)
    fixture = HF / "google__gemma-2-27b"
    assert (
        main(["import-hf", str(fixture), "--name", "me/g", "--extends", "google/gemma-2-2b"]) == 0
    )
    text = capsys.readouterr().out
    assert parsed == []
    assert "attn_types" not in tomllib.loads(text)["me/g"]
    monkeypatch.undo()
    assert _typed(_load(text, tmp_path, "me/g")) == _typed(from_hf_config(fixture, name="me/g"))


@pytest.mark.parametrize(
    ("fixture", "base"),
    [
        ("meta-llama__Llama-3.2-1B", "meta-llama/Llama-3.2-3B"),
        # Gemma 2's local/global pattern follows the child's 46 layers.
        ("google__gemma-2-27b", "google/gemma-2-2b"),
        ("Qwen__Qwen2.5-0.5B", "mistralai/Mixtral-8x7B-v0.1"),
        ("allenai__OLMo-1B-hf", "mistralai/Mixtral-8x7B-v0.1"),
        ("openai__gpt-oss-20b", "google/gemma-2-2b"),
    ],
)
def test_import_hf_extends_writes_no_line_the_base_already_gives(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fixture: str, base: str
) -> None:
    name = "me/model"
    assert main(["import-hf", str(HF / fixture), "--name", name, "--extends", base]) == 0
    text = capsys.readouterr().out
    table = tomllib.loads(text)[name]
    wanted = _typed(from_hf_config(HF / fixture, name=name))
    assert _typed(_load(text, tmp_path, name)) == wanted
    for key in set(table) - {"extends"}:
        fewer = {k: v for k, v in table.items() if k != key}
        path = tmp_path / "fewer.toml"
        path.write_text(tomli_w.dumps({name: fewer}))
        try:
            loaded = PresetRegistry([path], use_cache=False).resolve(name)
        except PresetError:
            continue  # needed to load at all
        assert _typed(loaded) != wanted, f"{key} = {table[key]!r} repeats what {base} gives"


# -- list: aliases and orders; explain: device and long values ---------------------------


def test_a_row_found_through_an_alias_shows_the_alias(home: Path) -> None:
    out = ok("list", "gpt2*")
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["NAME", "MATCHED", "ALIAS"]
    cells = {row.split()[0]: row.split()[1] for row in rows}
    assert cells["gpt2"] == "-"  # matched by its own name
    assert cells["distilgpt2"] == "gpt2-xs"
    data = ok_json("list", "gpt2*")
    by_name = {row["name"]: row["matched_alias"] for row in data}
    assert by_name["gpt2"] is None and by_name["distilgpt2"] == "gpt2-xs"
    # No alias column when every row matched by name.
    assert "MATCHED" not in ok("list", "gpt2-medium")


@pytest.mark.parametrize(
    ("key", "column"),
    [("params", "n_params"), ("layers", "n_layers"), ("d_model", "d_model"), ("context", "n_ctx")],
)
def test_list_sorts_by_a_size(home: Path, key: str, column: str) -> None:
    names = [row["name"] for row in ok_json("list", "pythia-*", "--sort", key)]
    presets = list_presets("pythia-*", sort=key)
    assert names == [p.name for p in presets]
    sizes = [getattr(p, column) for p in presets]
    assert sizes == sorted(sizes)
    natural = [p.name for p in list_presets("pythia-*")]
    # Among equal sizes, natural order.
    for size in set(sizes):
        same = [p.name for p in presets if getattr(p, column) == size]
        assert same == [n for n in natural if n in same]


@pytest.mark.parametrize(
    ("pattern", "sized"),
    [
        ("EleutherAI/pythia-*", r"EleutherAI/pythia-[0-9.]+[mb]"),
        # BLOOM writes 1.7 billion as 1b7: the unit is the decimal point.
        ("bigscience/bloom-*", r"bigscience/bloom-[0-9]+[mb][0-9]*"),
        ("Qwen/Qwen2.5-*", r"Qwen/Qwen2\.5-[0-9.]+B"),
    ],
)
def test_natural_order_puts_sizes_in_order_of_magnitude(pattern: str, sized: str) -> None:
    # Where the name states the size, the natural order is the order of parameter counts.
    by_name = [p for p in list_presets(pattern) if re.fullmatch(sized, p.name)]
    assert len(by_name) >= 5
    assert [p.name for p in by_name] == [p.name for p in sorted(by_name, key=lambda p: p.n_params)]
    assert [p.name for p in list_presets(pattern)] == ok_json_names(pattern)


def test_natural_order_reads_a_unit_as_a_decimal_point(user_dir: Path) -> None:
    names = ["my/m-2b", "my/m-1b7", "my/m-1.5b", "my/m-560m", "my/m-1b7-v2", "my/m-7b1"]
    (user_dir / "sizes.toml").write_text("".join(f'["{n}"]\nextends = "gpt2"\n' for n in names))
    expected = ["my/m-560m", "my/m-1.5b", "my/m-1b7", "my/m-1b7-v2", "my/m-2b", "my/m-7b1"]
    assert [p.name for p in list_presets("my/*")] == expected
    assert ok_json_names("my/*") == expected


def ok_json_names(pattern: str) -> list[str]:
    return [row["name"] for row in ok_json("list", pattern)]


def test_an_unknown_sort_is_a_usage_error(home: Path) -> None:
    proc = run("list", "--sort", "speed")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    with pytest.raises(PresetArgumentError, match="sort must be one of"):
        list_presets(sort="speed")


def test_explain_shows_the_device_the_config_will_hold(home: Path) -> None:
    from transformer_presets import get_preset

    data = ok_json("explain", "gpt2-small")
    [device] = [f for f in data["fields"] if f["field"] == "device"]
    assert device["value"] == get_preset("gpt2-small").device
    assert device["source"] == "derived" and device["note"]
    row = [line for line in ok("explain", "gpt2-small").splitlines() if line.startswith("device")]
    assert f'"{device["value"]}"' in row[0] and device["note"] in row[0]


def _run_on_a_terminal(*args: str) -> str:
    """The command's output when its stdout is a terminal (a pseudo-terminal, 100 wide)."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "transformer_presets", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_explain_caps_long_values_on_a_terminal(home: Path) -> None:
    on_terminal = _run_on_a_terminal("explain", "mixtral")
    widest = max(len(line) for line in on_terminal.splitlines())
    assert widest < 200, widest  # not padded to the longest list (hundreds of characters)
    assert "…" in on_terminal
    piped = ok("explain", "mixtral")
    assert "…" not in piped  # a pipe gets the whole value
    whole = {f["field"]: f["value"] for f in ok_json("explain", "mixtral")["fields"]}
    assert whole["attn_types"] == resolve_preset("mixtral")["attn_types"]


def test_the_device_note_does_not_depend_on_whether_torch_was_imported(home: Path) -> None:
    # The command line predicts without torch; a process that has imported torch
    # asks it. Both must give the same answer in the same words.
    code = (
        "import sys, json\n"
        "if sys.argv[1] == 'torch':\n"
        "    import torch\n"
        "from transformer_presets import explain_preset\n"
        "o = explain_preset('gpt2')['device']\n"
        "print(json.dumps([o.value, o.note, 'torch' in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    answers = []
    for mode in ("plain", "torch"):
        proc = subprocess.run(
            [sys.executable, "-c", code, mode], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stderr
        answers.append(json.loads(proc.stdout))
    (value, note, imported), (value2, note2, imported2) = answers
    assert (imported, imported2) == (False, True)
    assert (value, note) == (value2, note2)
