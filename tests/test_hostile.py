"""Hostile and broken input, class by class (issue 11).

Every case here was a traceback, a hang, a silently wrong answer or unbounded
work on an earlier version. The rules they hold:

1. a bad value fails only its preset (and those extending it), cache on or off,
   in every verb, with an error naming file, preset and key;
2. no answer depends on what was asked before, types included, and nothing
   returned shares mutable state with the registry;
3. no input makes a lookup hang, wait long or grow without bound;
4. inheritance has no depth limit but memory;
5. a user file that contributes to a bundled preset never does so silently;
6. the cache is data we check, in a folder we trust;
7. the command line never shows a traceback, whatever it prints to;
8. locations are right for all valid TOML; links, duplicates and a byte-order
   mark are handled.

The file cases of rule 1 are data: ``tests/data/hostile/*.toml``, each with a
``# bad: PRESET key: KEY`` line naming the preset that must fail, by which key.
"""

from __future__ import annotations

import json
import marshal
import math
import os
import signal
import stat
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transformer_presets import (
    PresetArgumentError,
    PresetError,
    PresetRegistry,
    PresetSyntaxError,
    explain_preset,
    get_preset,
    list_presets,
    resolve_preset,
    save_user_preset,
    validate_files,
)
from transformer_presets.cache import _files as _cachefiles
from transformer_presets.cache import _layout, _lock, _report
from transformer_presets.cache import store as cache
from transformer_presets.cli import main

from .conftest import DATA, REPO

HOSTILE = sorted((DATA / "hostile").glob("*.toml"))
SRC = REPO / "src"
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def bad_line(case: Path) -> tuple[str, str]:
    for line in case.read_text(encoding="utf-8").splitlines():
        if line.startswith("# bad:"):
            preset, key = line.removeprefix("# bad:").split("key:")
            return preset.strip(), key.strip()
    raise AssertionError(f"{case.name} has no '# bad:' line")


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, shell_tail: str = ""
) -> subprocess.CompletedProcess[str]:
    """``python -m transformer_presets ARGS`` in a subprocess, with this test's folders."""
    full_env = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    command = [sys.executable, "-m", "transformer_presets", *args]
    if shell_tail:
        import shlex

        command = ["sh", "-c", " ".join(map(shlex.quote, command)) + " " + shell_tail]
    # Output may be in any encoding the test asked for: read it as bytes, show it escaped.
    return subprocess.run(
        command,
        env=full_env,
        capture_output=True,
        encoding="utf-8",
        errors="backslashreplace",
        timeout=timeout,
        cwd=REPO,
    )


@pytest.fixture
def own_cache(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of this test's own, and the cache's one-warning flags reset."""
    folder = isolated_dirs / "own-cache"
    monkeypatch.setenv("TRANSFORMER_PRESETS_CACHE_DIR", str(folder))
    monkeypatch.setattr(_report, "_warned", False)
    monkeypatch.setattr(_lock, "_waited", False)
    monkeypatch.setattr(_lock, "_given_up", set())
    return folder


# -- 1. isolation: a bad value stays with its preset ----------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("use_cache", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize("case", HOSTILE, ids=lambda p: p.stem)
def test_a_bad_value_fails_only_its_own_preset(
    case: Path, use_cache: bool, user_presets: Path, own_cache: Path
) -> None:
    preset, key = bad_line(case)
    target = user_presets / case.name
    target.write_bytes(case.read_bytes())
    registry = PresetRegistry(use_cache=use_cache)
    # Every other preset still loads, in every verb.
    assert registry.get("gpt2").d_model == 768
    assert registry.resolve("pythia-70m")["n_layers"] == 6
    assert registry.explain("gpt2")["d_model"].value == 768
    rows = {row.name: row for row in registry.list(include_abstract=True)}
    assert rows["gpt2"].error is None
    # The bad one fails, naming file, preset and key, the same way in every verb.
    messages = set()
    for verb in (registry.get, registry.resolve, registry.explain):
        with pytest.raises(PresetError) as info:
            verb(preset)
        error = info.value
        assert (error.file, error.preset, error.key) == (str(target), preset, key), str(error)
        messages.add(str(error))
    assert len(messages) == 1
    assert rows[preset].error == messages.pop()


@pytest.mark.parametrize("case", HOSTILE, ids=lambda p: p.stem)
def test_validate_reports_the_bad_value_and_nothing_else(case: Path, tmp_path: Path) -> None:
    preset, key = bad_line(case)
    report = json.loads(run("validate", str(case), "--json").stdout)
    [found] = report["files"]
    assert [(e["preset"], e["key"]) for e in found["errors"]] == [(preset, key)]


def test_cache_on_and_off_give_the_same_answers_for_every_case(
    user_presets: Path, own_cache: Path
) -> None:
    for case in HOSTILE:
        (user_presets / case.name).write_bytes(case.read_bytes())

    def answers(registry: PresetRegistry) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for row in registry.list(include_abstract=True):
            try:
                out[row.name] = registry.resolve(row.name)
            except PresetError as exc:
                out[row.name] = str(exc)
        return out

    assert answers(PresetRegistry(use_cache=True)) == answers(PresetRegistry(use_cache=False))


def test_a_warm_cache_of_every_case_is_read_without_a_rebuild(
    user_presets: Path, own_cache: Path
) -> None:
    # What one process writes, the next reads as it is: a value the writer let
    # through but the reader's checks refuse (a derived size beyond 64 bits, say)
    # would make every warm start rebuild the cache and warn.
    for case in HOSTILE:
        (user_presets / case.name).write_bytes(case.read_bytes())
    cold = PresetRegistry()
    expected = [tuple(row) for row in cold.list(include_abstract=True)]
    builds = cache.STATS["builds"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warm = PresetRegistry()
        assert [tuple(row) for row in warm.list(include_abstract=True)] == expected
        for case in HOSTILE:
            with pytest.raises(PresetError):
                warm.resolve(bad_line(case)[0])
    assert cache.STATS["builds"] == builds


@pytest.mark.parametrize(
    "overrides",
    [
        {"d_model": 2**62, "d_head": 2**62},
        {"n_layers": 2**62},
        {"d_mlp": 2**62, "n_layers": 2**20},
    ],
)
def test_an_override_deriving_a_size_beyond_64_bits_is_refused(overrides: dict[str, int]) -> None:
    with pytest.raises(PresetError, match="beyond 64 bits") as info:
        get_preset("gpt2", **overrides)
    assert info.value.key in overrides


@pytest.mark.parametrize(
    ("preset", "key", "value"),
    [
        # TransformerLens's n_params leaves embeddings out; the README's bound does not.
        ("gpt2-small", "n_ctx", 2**62),
        ("gpt2-small", "d_vocab", 2**62),
        ("gpt2-small", "d_vocab_out", 2**62),
        ("pythia-70m", "d_vocab", 2**61),  # rotary: no W_pos, but two vocabulary tables
        ("bert-base-cased", "n_ctx", 2**62),
        ("t5-small", "d_vocab", 2**62),
    ],
)
def test_the_parameter_count_with_embeddings_fits_in_64_bits(
    preset: str, key: str, value: int
) -> None:
    with pytest.raises(PresetError) as info:
        get_preset(preset, **{key: value})
    assert info.value.key == key
    assert "parameters (embeddings included), beyond 64 bits" in info.value.reason
    assert f"from {key} = {value}" in info.value.reason
    # Just inside the bound, the count is what TransformerLens would hold.
    cfg = get_preset(preset, **{key: 2**20})
    assert cfg.total_params() < 2**63


def test_more_experts_than_transformer_lens_builds_are_refused() -> None:
    from transformer_presets.fields.rules import MAX_EXPERTS

    assert get_preset("mixtral", num_experts=MAX_EXPERTS).num_experts == MAX_EXPERTS
    for overrides in (
        {"num_experts": MAX_EXPERTS + 1},
        {"num_experts": 10**8},
        {"num_experts": 2 * 10**9, "n_layers": 64},
        {"experts_per_token": MAX_EXPERTS + 1},
    ):
        with pytest.raises(PresetError, match=f"must be at most {MAX_EXPERTS}") as info:
            get_preset("mixtral", **overrides)
        assert info.value.key in ("num_experts", "experts_per_token")


# -- 2. no answer depends on what was asked before ------------------------------------------

OVERRIDES = [
    ("n_ctx", True),
    ("n_ctx", 1),
    ("n_ctx", 1.0),
    ("n_ctx", 256),
    ("use_attn_scale", True),
    ("use_attn_scale", 1),
    ("use_attn_scale", False),
    ("eps", 1.0),
    ("eps", 1),
    ("eps", True),
    ("eps", 0.0),
    ("eps", -0.0),
    ("eps", 0),
    ("attn_types", ["global"] * 12),
    ("attn_types", None),
    ("model_name", "x"),
    ("model_name", None),
]


def outcome(registry: PresetRegistry, key: str, value: Any) -> Any:
    try:
        cfg = registry.get("gpt2", **{key: value})
    except PresetError as exc:
        return ("error", str(exc))
    got = getattr(cfg, key)
    # repr, not ==: -0.0 == 0.0, and a sign is part of the answer.
    return ("ok", type(got).__name__, repr(got))


@SETTINGS
@given(order=st.permutations(range(len(OVERRIDES))))
def test_answers_do_not_depend_on_call_order(order: list[int]) -> None:
    fresh = {i: outcome(PresetRegistry(), *OVERRIDES[i]) for i in range(len(OVERRIDES))}
    shared = PresetRegistry()
    for i in order:
        assert outcome(shared, *OVERRIDES[i]) == fresh[i], OVERRIDES[i]


def test_memo_keeps_true_one_and_one_point_zero_apart() -> None:
    registry = PresetRegistry()
    registry.get("gpt2", n_ctx=1)
    with pytest.raises(PresetError, match="expected int, got bool"):
        registry.get("gpt2", n_ctx=True)
    registry.get("gpt2", use_attn_scale=True)
    with pytest.raises(PresetError, match="expected bool"):
        registry.get("gpt2", use_attn_scale=1)
    assert type(registry.get("gpt2", eps=1.0).eps) is float
    assert type(registry.get("gpt2", eps=1).eps) is int
    assert math.copysign(1, registry.get("gpt2", eps=0.0).eps) == 1
    assert math.copysign(1, registry.get("gpt2", eps=-0.0).eps) == -1
    assert math.copysign(1, registry.get("gpt2", eps=0.0).eps) == 1


def test_nothing_returned_shares_state_with_the_registry() -> None:
    name = "google/gemma-2-2b"
    explain_preset(name)["attn_types"].value.append("global")
    resolve_preset(name)["attn_types"].append("global")
    get_preset(name).attn_types.append("global")  # type: ignore[union-attr]
    assert isinstance(list_presets(name)[0].aliases, tuple)  # cannot be changed
    assert len(get_preset(name).attn_types or []) == 26
    assert len(resolve_preset(name)["attn_types"]) == 26
    assert len(explain_preset(name)["attn_types"].value) == 26


# -- 3. bounded work and memory -------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_huge_checkpoint_range_is_refused_before_it_is_expanded(user_presets: Path) -> None:
    (user_presets / "many.toml").write_text(
        '[many]\nextends = "gpt2"\n'
        'checkpoints = {label_type = "step", ranges = [[0, 9000000000000000000, 1]]}\n'
    )
    with pytest.raises(PresetError, match="at most 10000") as info:
        get_preset("many")
    assert info.value.key == "checkpoints"
    assert get_preset("gpt2").n_layers == 12


def special_file(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        import socket

        # Bound by a relative name: a socket's path may be only ~100 bytes long.
        here = os.getcwd()
        os.chdir(path.parent)
        try:
            socket.socket(socket.AF_UNIX).bind(path.name)
        finally:
            os.chdir(here)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "socket"])
def test_a_special_file_in_a_preset_folder_is_an_error_naming_it(
    kind: str, user_presets: Path, own_cache: Path
) -> None:
    path = user_presets / "special.toml"
    special_file(kind, path)
    # A subprocess: a hang would otherwise hang the test run itself.
    proc = run("show", "gpt2", timeout=30)
    assert proc.returncode == 1
    assert f"{path}: cannot read preset file: " in proc.stderr
    assert "not a regular file" in proc.stderr
    assert ("a socket" in proc.stderr) == (kind == "socket")
    assert "Traceback" not in proc.stderr


@pytest.mark.timeout(60)
def test_an_oversized_preset_file_is_refused_unread(user_presets: Path) -> None:
    path = user_presets / "big.toml"
    with open(path, "wb") as f:
        f.truncate(64 << 20)  # sparse: 64 MiB that take no disk
    with pytest.raises(PresetError, match="larger than 1024 KiB") as info:
        get_preset("gpt2")
    assert info.value.file == str(path)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "socket"])
def test_a_special_file_in_the_cache_is_damage(kind: str, own_cache: Path) -> None:
    PresetRegistry().resolve("gpt2")  # build it
    [key_dir] = (own_cache / f"v{_layout.FORMAT}").iterdir()
    manifest = key_dir / _layout.MANIFEST
    manifest.unlink()
    special_file(kind, manifest)
    proc = run(
        "show", "gpt2", "--json", timeout=30, env={"TRANSFORMER_PRESETS_CACHE_DIR": str(own_cache)}
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["values"]["d_model"] == 768
    assert proc.stderr.count("warning") <= 1


LOCK_HOLDER = """
import os, sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(600)
"""


@pytest.mark.timeout(120)
def test_a_stopped_builder_delays_a_lookup_by_a_few_seconds_at_most(
    own_cache: Path, user_presets: Path
) -> None:
    (user_presets / "mine.toml").write_text('[mine]\nextends = "gpt2"\n')
    env = {"TRANSFORMER_PRESETS_CACHE_DIR": str(own_cache)}
    PresetRegistry(use_cache=False).resolve("mine")
    key_dir = _layout.key_folder(PresetRegistry().sources)
    os.makedirs(key_dir, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, os.path.join(key_dir, "lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        os.kill(holder.pid, signal.SIGSTOP)  # a builder paused mid-build
        started = time.monotonic()
        proc = run("show", "mine", "--json", env=env, timeout=60)
        waited = time.monotonic() - started
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["values"]["d_model"] == 768
    assert waited < _lock.LOCK_TIMEOUT + 10  # the process start-up, generously
    assert proc.stderr.count("waiting for another process") == 1


LOCK_BUILDER = """
import os, sys
sys.path.insert(0, sys.argv[1])
from filelock import FileLock
from transformer_presets import PresetRegistry
from transformer_presets.cache import _layout, _lock
sources = PresetRegistry().sources
key_dir = _layout.key_folder(sources)
os.makedirs(key_dir, exist_ok=True)
with FileLock(os.path.join(key_dir, "lock")):
    print("locked", flush=True)
    if sys.stdin.readline().strip() == "build":
        _lock.build_and_store(key_dir, sources)
print("done", flush=True)
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ending", ["finishes", "dies"])
def test_a_process_that_gave_up_waiting_does_not_wait_again(
    ending: str, own_cache: Path, user_presets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Waits are counted, not timed: short bounds keep the test quick.
    monkeypatch.setattr(_lock, "LOCK_NOTICE", 0.05)
    monkeypatch.setattr(_lock, "LOCK_TIMEOUT", 0.3)
    for counter in cache.STATS:
        monkeypatch.setitem(cache.STATS, counter, 0)
    (user_presets / "mine.toml").write_text('[mine]\nextends = "gpt2"\n')
    builder = subprocess.Popen(
        [sys.executable, "-c", LOCK_BUILDER, str(SRC)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert builder.stdin is not None and builder.stdout is not None
        assert builder.stdout.readline().strip() == "locked"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cache.CacheWarning)  # "waiting for ..."
            # Ten lookups, each in a registry of its own (as show's two lookups were):
            # one wait, then on without the cache.
            for _ in range(10):
                assert PresetRegistry().resolve("mine")["d_model"] == 768
            assert cache.STATS["waits"] == 1
            assert cache.STATS["builds"] == 10 and cache.STATS["hits"] == 0
            # The build ends: stored by the other process, or abandoned when it died.
            if ending == "finishes":
                builder.stdin.write("build\n")
                builder.stdin.flush()
                assert builder.stdout.readline().strip() == "done"
            else:
                builder.kill()
            builder.wait(timeout=60)
            for _ in range(3):
                assert PresetRegistry().resolve("mine")["d_model"] == 768
    finally:
        builder.kill()
        builder.wait()
    # No more waits; the cache is used again (built by this process if the other died).
    assert cache.STATS["waits"] == 1
    assert cache.STATS["stores"] == (0 if ending == "finishes" else 1)
    assert cache.STATS["hits"] >= 2
    assert cache.STATS["builds"] == (10 if ending == "finishes" else 11)


def test_writes_bound_the_cache_and_drop_older_formats(own_cache: Path, user_presets: Path) -> None:
    old = own_cache / "v3" / "somekey"
    old.mkdir(parents=True)
    (old / "manifest.bin").write_bytes(b"old")
    stale = own_cache / f"v{_layout.FORMAT}"
    for i in range(_layout.MAX_KEY_FOLDERS + 5):
        folder = stale / f"{i:024x}"
        folder.mkdir(parents=True)
        (folder / _layout.MANIFEST).write_bytes(b"x")
        os.utime(folder / _layout.MANIFEST, (1000 + i, 1000 + i))
    # A warm read never prunes ...
    PresetRegistry().resolve("gpt2")
    keys_after_build = set((stale).iterdir())
    assert not old.exists()  # ... but the write that built it did
    assert len(keys_after_build) == _layout.MAX_KEY_FOLDERS
    newest_stale = {stale / f"{i:024x}" for i in range(5 + 1, _layout.MAX_KEY_FOLDERS + 5)}
    assert newest_stale <= keys_after_build  # the most recently validated stay
    extra = user_presets.parent / "x.toml"
    extra.write_text('[x]\nextends = "gpt2"\n')
    before = set(stale.iterdir())
    PresetRegistry([extra]).resolve("x")  # another set of sources: one more key, one pruned
    assert len(set(stale.iterdir())) == _layout.MAX_KEY_FOLDERS
    assert set(stale.iterdir()) != before
    # A warm read of the same sources writes nothing and removes nothing.
    snapshot = {p: p.stat().st_mtime_ns for p in stale.rglob("*")}
    PresetRegistry().resolve("gpt2")
    assert {p: p.stat().st_mtime_ns for p in stale.rglob("*")} == snapshot


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", ["size", "hooks"])
def test_the_planner_refuses_more_layers_than_it_lays_out(command: str, user_presets: Path) -> None:
    # 10**8 layers is a legal n_layers; laying them out hook by hook took minutes and
    # gigabytes. Past the bound: a clear error naming file, preset and key, at once.
    from transformer_presets.planner.hooked import MAX_LAYERS

    mine = user_presets / "deep.toml"
    mine.write_text(f'[deep]\nextends = "gpt2"\nn_layers = {100 * MAX_LAYERS}\n')
    proc = run(command, "deep", timeout=30)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{mine}:3: preset 'deep', key 'n_layers'" in proc.stderr
    assert f"at most {MAX_LAYERS} layers" in proc.stderr
    cfg = get_preset("deep")
    with pytest.raises(PresetError, match="at most") as info:
        cfg.activation_cache_bytes(1, 8)
    assert info.value.key == "n_layers"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[a]\nextends = "gpt2"\n' + ".".join(["k"] * 400_000) + " = 1\n", (3, 1)),
        ("[" + ".".join(["a"] * 400_000) + ']\nx = 1\n[b]\nextends = "gpt2"\n', (1, 2)),
        ('[a]\nextends = "gpt2"\n\n  x.' + ".".join(['"k"'] * 40) + " = 1\n", (4, 3)),
    ],
    ids=["key", "header", "quoted-parts"],
)
def test_a_key_of_too_many_dotted_parts_is_refused_before_tomllib_reads_it(
    text: str, where: tuple[int, int], tmp_path: Path
) -> None:
    # tomllib takes time quadratic in a dotted key's parts: one key filling a 1 MiB
    # file would keep every lookup busy for hours.
    path = tmp_path / "long.toml"
    path.write_text(text)
    with pytest.raises(PresetSyntaxError, match="more than 32 parts") as info:
        PresetRegistry(path, use_cache=False).resolve("gpt2")
    assert (info.value.file, info.value.line, info.value.col) == (str(path), *where)
    # 32 parts are still read (as an unknown field).
    path.write_text('[a]\nextends = "gpt2"\n' + ".".join(["k"] * 32) + " = 1\n")
    assert PresetRegistry(path, use_cache=False).error("a") is not None
    assert PresetRegistry(path, use_cache=False).resolve("gpt2")["n_layers"] == 12


# -- 4. any depth ---------------------------------------------------------------------------


def chain_file(path: Path, n: int, *, children_first: bool, broken_root: bool = False) -> None:
    tables = ['["c0"]\nextends = "gpt2"\n' + ('n_layers = "x"\n' if broken_root else "")]
    tables += [f'["c{i}"]\nextends = "c{i - 1}"\nn_ctx = {i + 1}\n' for i in range(1, n)]
    if children_first:
        tables.reverse()
    path.write_text("\n".join(tables))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("children_first", [False, True], ids=["parents-first", "children-first"])
def test_a_chain_of_ten_thousand_resolves_the_same_with_and_without_the_cache(
    children_first: bool, user_presets: Path, own_cache: Path
) -> None:
    n = 10_000
    chain_file(user_presets / "chain.toml", n, children_first=children_first)
    on = PresetRegistry(use_cache=True).resolve(f"c{n - 1}")
    off = PresetRegistry(use_cache=False).resolve(f"c{n - 1}")
    assert on == off
    assert on["n_ctx"] == n and on["d_model"] == 768


@pytest.mark.timeout(120)
def test_a_broken_root_gives_one_short_error_at_any_depth(user_presets: Path) -> None:
    n = 3_000
    chain_file(user_presets / "chain.toml", n, children_first=True, broken_root=True)
    with pytest.raises(PresetError) as info:
        PresetRegistry(use_cache=False).resolve(f"c{n - 1}")
    message = str(info.value)
    assert message.count("cannot extend") == 1 and "preset 'c0', key 'n_layers'" in message
    assert len(message) < 500


def test_a_cycle_deep_in_a_chain_is_named(user_presets: Path) -> None:
    (user_presets / "loop.toml").write_text(
        '[a]\nextends = "b"\n[b]\nextends = "c"\n[c]\nextends = "b"\n[d]\nextends = "gpt2"\n'
    )
    registry = PresetRegistry(use_cache=False)
    with pytest.raises(PresetError, match="b -> c -> b"):
        registry.resolve("b")
    with pytest.raises(PresetError, match="cycle"):
        registry.resolve("a")
    assert registry.resolve("d")["n_layers"] == 12


# -- 5. remote code is never enabled silently -----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # A user file redefines the bundled base that gpt2-medium extends.
        '["gpt2-base"]\nabstract = true\nextends = "gpt2-base"\ntrust_remote_code = true\n',
        # An alias at a higher level rewires the parent's name.
        '["evil"]\nabstract = true\naliases = ["gpt2-base"]\nextends = "gpt2-base"\n'
        "trust_remote_code = true\n",
    ],
    ids=["redefined-parent", "alias-rewires-parent"],
)
def test_a_user_file_turning_on_remote_code_in_a_bundled_preset_is_marked(
    text: str, user_presets: Path
) -> None:
    mine = user_presets / "mine.toml"
    mine.write_text(text)
    with pytest.warns(UserWarning, match=r"trust_remote_code") as record:
        cfg = get_preset("gpt2-medium")
    assert cfg.trust_remote_code is True
    assert str(mine) in str(record[0].message)
    [info] = list_presets("gpt2-medium")
    assert info.source == "bundled" and info.modified_by == (str(mine),)
    assert info.remote_code_warning
    proc = run("list", "gpt2-medium")
    assert "remote code" in proc.stdout and str(mine) in proc.stderr
    shown = json.loads(run("show", "gpt2-medium", "--json").stdout)
    assert shown["modified_by"] == [str(mine)]
    explained = run("explain", "gpt2-medium")
    assert str(mine) in explained.stderr


def test_a_bundled_preset_modified_without_remote_code_is_marked_too(user_presets: Path) -> None:
    mine = user_presets / "mine.toml"
    mine.write_text('["gpt2-base"]\nabstract = true\nextends = "gpt2-base"\nact_fn = "relu"\n')
    [info] = list_presets("gpt2-medium")
    assert info.modified_by == (str(mine),) and not info.remote_code_warning
    proc = run("list", "gpt2-medium")
    assert "modified" in proc.stdout and str(mine) in proc.stderr
    # An untouched bundled preset is not marked.
    assert list_presets("pythia-70m")[0].modified_by == ()


# -- 6. the cache is data we check, in a folder we trust ------------------------------------


def cache_files(own_cache: Path) -> list[Path]:
    [key_dir] = (own_cache / f"v{_layout.FORMAT}").iterdir()
    return sorted(p for p in key_dir.rglob("*.bin"))


def seal(payload: bytes) -> bytes:
    """A cache file with a valid digest around any payload (as damage cannot make, but a
    writer with the user's rights can)."""
    return _cachefiles.MAGIC + _cachefiles.blake2b(payload, digest_size=16).digest() + payload


BOMBS = {
    "tuple-of-two-billion": b"(" + struct.pack("<i", 2**31 - 1),
    "list-of-two-billion": b"[" + struct.pack("<i", 2**31 - 1),
    "long-of-a-billion-digits": b"l" + struct.pack("<i", 2**30),
    "string-longer-than-file": b"u" + struct.pack("<i", 2**31 - 1) + b"x",
    "self-containing-list": b"\xdb" + struct.pack("<i", 1) + b"r" + struct.pack("<i", 0),
    "code-object": marshal.dumps(compile("1", "x", "eval")),
    "set": marshal.dumps({1, 2}),
    "bytes": marshal.dumps(b"abc"),
    "deep-lists": b"[\x01\x00\x00\x00" * 100 + b"N",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("bomb", BOMBS, ids=list(BOMBS))
@pytest.mark.parametrize("which", ["manifest", "summary", "entries", "lookup", "names"])
def test_a_crafted_cache_file_is_damage_not_a_traceback(
    bomb: str, which: str, own_cache: Path
) -> None:
    expected_list = [p.name for p in PresetRegistry(use_cache=False).list("gpt2*")]
    PresetRegistry().resolve("gpt2")
    files = cache_files(own_cache)
    pick = {
        "manifest": [p for p in files if p.name == _layout.MANIFEST],
        "summary": [p for p in files if p.name == "summary.bin"],
        "names": [p for p in files if p.name == "names.bin"],
        "entries": [p for p in files if p.name.startswith("e")],
        "lookup": [p for p in files if p.name.startswith("l")],
    }[which]
    for path in pick:
        path.write_bytes(seal(BOMBS[bomb]))
    # A subprocess under a memory cap: marshal decoding the tuple would need 16 GiB.
    code = (
        "import resource, json; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "import warnings; warnings.simplefilter('always')\n"
        "from transformer_presets import PresetRegistry\n"
        "r = PresetRegistry()\n"
        "print(json.dumps([r.resolve('gpt2')['d_model'], [p.name for p in r.list('gpt2*')],"
        " str(r.explain('gpt2')['n_layers'].value)]))\n"
        "try:\n    r.resolve('gtp2')\nexcept Exception as e:\n    print(type(e).__name__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert json.loads(lines[0]) == [768, expected_list, "12"]
    assert lines[1] == "PresetNotFoundError"
    assert proc.stderr.count("CacheWarning") == 1, proc.stderr


def tamper(own_cache: Path, name: str, change: Any) -> None:
    """Rewrite cache file ``name`` with ``change(data)``, sealed with a fresh digest that
    the manifest then vouches for: files that each pass their checks, but disagree."""
    files = {p.name: p for p in cache_files(own_cache)}
    path, manifest_path = files[name], files[_layout.MANIFEST]
    raw = path.read_bytes()
    data = _cachefiles.decode(raw, str(path))
    new = _cachefiles.encode(change(data))
    path.write_bytes(new)
    manifest = _cachefiles.decode(manifest_path.read_bytes(), "manifest")
    old_digest, new_digest = _cachefiles.digest(raw), _cachefiles.digest(new)
    for key, value in manifest.items():
        if value == old_digest:
            manifest[key] = new_digest
        elif isinstance(value, list):
            manifest[key] = [new_digest if v == old_digest else v for v in value]
    manifest_path.write_bytes(_cachefiles.encode(manifest))


def _shard_of(own_cache: Path, prefix: str, folded: str) -> str:
    for path in cache_files(own_cache):
        if path.name.startswith(prefix) and path.name[1:-4].isdigit():
            data = _cachefiles.decode(path.read_bytes(), str(path))
            if prefix == "l" and folded in data:
                return path.name
            if prefix == "e" and any(e["name"].casefold() == folded for e in data):
                return path.name
    raise AssertionError(f"no {prefix} shard holds {folded}")


def _drop_first_entry(data: list[Any]) -> list[Any]:
    return data[1:]


@pytest.mark.parametrize(
    "how", ["entry-shard-one-short", "lookup-misses-a-name", "lookup-points-elsewhere"]
)
def test_cache_files_that_disagree_with_each_other_are_damage(how: str, own_cache: Path) -> None:
    reference = PresetRegistry(use_cache=False)
    names = ["gpt2", "gpt2-medium", "gpt2-small", "pythia-70m"]
    expected = {n: (reference.name(n), reference.resolve(n)) for n in names}
    PresetRegistry().resolve("gpt2")
    if how == "entry-shard-one-short":
        tamper(own_cache, _shard_of(own_cache, "e", "gpt2"), _drop_first_entry)
    else:
        other = PresetRegistry().catalog().find("pythia-70m")

        def change(table: dict[str, str]) -> dict[str, str]:
            if how == "lookup-misses-a-name":
                del table["gpt2"]
            else:
                table["gpt2"] = other or "0"
            return table

        tamper(own_cache, _shard_of(own_cache, "l", "gpt2"), change)
    with pytest.warns(cache.CacheWarning):
        registry = PresetRegistry()
        assert {n: (registry.name(n), registry.resolve(n)) for n in names} == expected


@pytest.mark.parametrize(
    "patterns",
    [None, {"attn_types": {"repeat": "local"}}, {"n_layers": {"repeat": ["x"]}}, ["attn_types"]],
    ids=["none-beside-values", "not-a-list", "not-per-layer", "not-a-table"],
)
def test_an_entry_whose_patterns_are_not_patterns_is_damage(patterns: Any, own_cache: Path) -> None:
    reference = PresetRegistry(use_cache=False)
    name = reference.name("gemma-2-2b")
    expected = (reference.resolve(name), reference._patterns(name))
    assert expected[1]  # Gemma 2's local/global pattern
    PresetRegistry().resolve(name)

    def change(entries: list[Any]) -> list[Any]:
        for entry in entries:
            if entry["name"] == name:
                entry["patterns"] = patterns
        return entries

    tamper(own_cache, _shard_of(own_cache, "e", name.casefold()), change)
    with pytest.warns(cache.CacheWarning):
        registry = PresetRegistry()
        assert (registry.resolve(name), registry._patterns(name)) == expected


plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=plain,
    which=st.sampled_from(["manifest.bin", "summary.bin", "e0.bin", "l0.bin", "names.bin"]),
)
def test_any_plain_data_in_any_cache_file_leaves_the_answers_unchanged(
    data: Any, which: str, own_cache: Path
) -> None:
    reference = PresetRegistry(use_cache=False)
    expected = (reference.resolve("gpt2"), [p.name for p in reference.list("pythia-1*")])
    PresetRegistry().resolve("gpt2")
    [path] = [p for p in cache_files(own_cache) if p.name == which]
    path.write_bytes(seal(marshal.dumps(data)))
    _report._warned = False
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        registry = PresetRegistry()
        got = (registry.resolve("gpt2"), [p.name for p in registry.list("pythia-1*")])
    assert got == expected
    assert len([w for w in record if issubclass(w.category, cache.CacheWarning)]) <= 1


@SETTINGS
@given(payload=st.binary(max_size=64))
def test_arbitrary_bytes_pass_the_precheck_only_if_marshal_decodes_them_safely(
    payload: bytes,
) -> None:
    if _cachefiles.problem(payload) is None:
        try:
            marshal.loads(payload)  # within bounds: decodes, or fails cleanly
        except (ValueError, EOFError, TypeError):
            pass


def test_the_cache_is_ignored_in_a_folder_others_can_write(own_cache: Path) -> None:
    own_cache.mkdir(parents=True, exist_ok=True)
    os.chmod(own_cache, 0o777)
    with pytest.warns(cache.CacheWarning, match="can be written by other users"):
        assert PresetRegistry().resolve("gpt2")["n_layers"] == 12
    assert not any(own_cache.iterdir())  # nothing read, nothing written


def test_the_cache_is_ignored_in_a_folder_of_another_user(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_cache.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(cache.os, "getuid", lambda: os.stat(own_cache).st_uid + 1)
    with pytest.warns(cache.CacheWarning, match="belongs to another user"):
        assert PresetRegistry().resolve("gpt2")["n_layers"] == 12
    assert not any(own_cache.iterdir())


@pytest.mark.parametrize("how", ["writable-by-others", "another-users"])
def test_a_manifest_others_could_write_is_not_trusted(how: str, own_cache: Path) -> None:
    # The cache folder is private when the library makes it, but a user may open it
    # up (chmod 755): the manifest, which vouches for every shard by digest, must
    # then be this user's alone, or anyone could point it at values of their own.
    PresetRegistry().resolve("gpt2")
    [manifest] = [p for p in cache_files(own_cache) if p.name == _layout.MANIFEST]
    if how == "writable-by-others":
        os.chmod(manifest, 0o646)
    else:
        if os.geteuid() != 0:
            pytest.skip("only root can give a file away")
        os.chown(manifest, 65534, -1)
    builds = cache.STATS["builds"]
    with pytest.warns(cache.CacheWarning, match="other users can write|another user"):
        assert PresetRegistry().resolve("gpt2")["n_layers"] == 12
    assert cache.STATS["builds"] == builds + 1
    # The rebuild wrote a new, private manifest, which the next process trusts.
    [manifest] = [p for p in cache_files(own_cache) if p.name == _layout.MANIFEST]
    assert stat.S_IMODE(manifest.stat().st_mode) & 0o022 == 0
    assert manifest.stat().st_uid == os.getuid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert PresetRegistry().resolve("gpt2")["n_layers"] == 12
    assert cache.STATS["builds"] == builds + 1


def test_the_manifest_is_private_whatever_the_umask(own_cache: Path) -> None:
    old = os.umask(0o002)
    try:
        PresetRegistry().resolve("gpt2")
    finally:
        os.umask(old)
    [manifest] = [p for p in cache_files(own_cache) if p.name == _layout.MANIFEST]
    assert stat.S_IMODE(manifest.stat().st_mode) & 0o022 == 0
    builds = cache.STATS["builds"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert PresetRegistry().resolve("gpt2")["n_layers"] == 12
    assert cache.STATS["builds"] == builds


def test_a_new_cache_folder_is_private(own_cache: Path) -> None:
    PresetRegistry().resolve("gpt2")
    assert stat.S_IMODE(own_cache.stat().st_mode) & 0o077 == 0


def test_another_process_creating_the_cache_folder_first_is_no_failure(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Processes starting together on a cold cache: another one creates the folder
    # between this one's look and its own creation. (Seen in CI as "cannot create
    # ... (File exists)" and a cache that was not used.)
    real_makedirs = os.makedirs

    def racing_makedirs(path: str, *args: Any, **kwargs: Any) -> None:
        if os.path.abspath(path) == str(own_cache):
            real_makedirs(path, mode=0o700)  # the other process wins
        real_makedirs(path, *args, **kwargs)

    monkeypatch.setattr(cache.os, "makedirs", racing_makedirs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.CacheWarning)
        assert PresetRegistry().resolve("gpt2")["n_layers"] == 12
    assert any(own_cache.iterdir())  # the cache was used: written there


def test_a_file_where_the_cache_folder_belongs_says_so(own_cache: Path) -> None:
    own_cache.parent.mkdir(parents=True, exist_ok=True)
    own_cache.write_text("not a folder")
    with pytest.warns(cache.CacheWarning) as record:
        assert PresetRegistry().resolve("gpt2")["n_layers"] == 12
    message = str(record[0].message)
    assert "is a file, not a folder" in message and "rebuilding" not in message


# -- 7. the command line and the API never show a traceback ---------------------------------


def test_stdout_closed() -> None:
    proc = run("show", "gpt2", shell_tail=">&-")
    assert proc.returncode == 1
    assert "standard output is closed" in proc.stderr and "Traceback" not in proc.stderr


def test_stdout_full() -> None:
    proc = run("list", shell_tail=">/dev/full")
    assert proc.returncode == 1
    assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
        {"PYTHONIOENCODING": "latin-1"},
        {"PYTHONIOENCODING": "ascii"},
    ],
    ids=["C-locale", "latin-1", "ascii"],
)
@pytest.mark.parametrize(
    "args", [("list",), ("list", "--json"), ("show", "émoji"), ("explain", "émoji")]
)
def test_output_the_encoding_cannot_hold_is_escaped(
    env: dict[str, str], args: tuple[str, ...], user_presets: Path
) -> None:
    (user_presets / "e.toml").write_text(
        '["émoji"]\nextends = "gpt2"\ndescription = "日本語 ✓"\nn_ctx = 8\n', encoding="utf-8"
    )
    proc = run(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    if "--json" in args:
        names = [row["name"] for row in json.loads(proc.stdout)]
        assert "émoji" in names
    else:
        assert "moji" in proc.stdout


@pytest.mark.parametrize("char", ["\n", "\t", "\x1b", "\x07", "\u2028", "\x7f", "\x9b"])
@pytest.mark.parametrize("where", ["name", "alias", "padded"])
def test_names_with_control_characters_or_blanks_are_refused(
    char: str, where: str, user_presets: Path
) -> None:
    path = user_presets / "bad.toml"
    escaped = json.dumps(char)[1:-1]
    if where == "name":
        path.write_text(f'["x{escaped}y"]\nextends = "gpt2"\n')
    elif where == "alias":
        path.write_text(f'[x]\nextends = "gpt2"\naliases = ["a{escaped}b"]\n')
    else:
        path.write_text('[" x"]\nextends = "gpt2"\n')
    with pytest.raises(PresetError) as info:
        get_preset("gpt2")
    assert info.value.file == str(path) and info.value.line is not None


def test_control_characters_in_other_text_are_escaped_when_printed(user_presets: Path) -> None:
    (user_presets / "d.toml").write_text(
        '[d]\nextends = "gpt2"\ndescription = "bell \\u0007 esc \\u001b[31m red \\u009b"\n'
        'model_name = "m\\u001b[2Jx"\n'
    )
    for args in (("list", "d"), ("show", "d"), ("explain", "d"), ("show", "d", "--toml")):
        proc = run(*args)
        assert proc.returncode == 0, proc.stderr
        for raw in ("\x1b", "\x07", "\x9b"):
            assert raw not in proc.stdout and raw not in proc.stderr, args
    shown = run("show", "d").stdout
    assert "\\x1b[31m" in shown and "\\x07" in shown


toml_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@SETTINGS
@given(
    description=toml_text,
    model_name=toml_text,
    aliases=st.lists(
        st.text(alphabet="abcXYZ-_./ 0é", min_size=1, max_size=6).map(str.strip).filter(bool),
        max_size=3,
        unique_by=str.casefold,
    ),
    # GPT-2's W_pos (n_ctx x 768) keeps the parameter count within 64 bits up to 2**52.
    n_ctx=st.integers(min_value=1, max_value=2**52),
    eps=st.floats(min_value=0, max_value=1e3),
    attn_types=st.booleans(),
)
def test_show_toml_always_loads_back_to_the_same_values(
    description: str,
    model_name: str,
    aliases: list[str],
    n_ctx: int,
    eps: float,
    attn_types: bool,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path_factory.mktemp("roundtrip")
    table: dict[str, Any] = {
        "extends": "gpt2",
        "description": description,
        "model_name": model_name,
        "n_ctx": n_ctx,
        "eps": eps,
    }
    if aliases:
        table["aliases"] = aliases
    if attn_types:
        table.update(use_local_attn=True, window_size=4, attn_types=["local", "global"] * 6)
    source = folder / "src.toml"
    source.write_text(tomli_w.dumps({"my/preset": table}))
    registry = PresetRegistry([source], use_cache=False)
    expected = registry.resolve("my/preset")
    capsys.readouterr()
    assert main(["show", "my/preset", "--toml", "--preset-path", str(source)]) == 0
    printed = capsys.readouterr().out
    again = folder / "again.toml"
    again.write_text(printed, encoding="utf-8")
    assert PresetRegistry([again], use_cache=False).resolve("my/preset") == expected


def test_a_single_path_is_one_path(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('[x]\nextends = "gpt2"\n')
    registry = PresetRegistry(str(path))
    assert [s.path for s in registry.sources][:1] == [str(path)]
    assert registry.resolve("x")["n_layers"] == 12
    assert PresetRegistry(path).resolve("x")["n_layers"] == 12


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: list_presets(5), "pattern must be a string"),  # type: ignore[arg-type]
        (lambda: list_presets([b"gpt2"]), "pattern must be a string"),  # type: ignore[list-item]
        (lambda: list_presets(source="nope"), "bundled"),
        (lambda: list_presets(family="nosuch"), "gpt2"),
        (lambda: get_preset(5), "preset names are strings"),  # type: ignore[arg-type]
        (lambda: PresetRegistry(5), "paths must be"),  # type: ignore[arg-type]
        (lambda: PresetRegistry([5]), "each of paths"),  # type: ignore[list-item]
        (lambda: PresetRegistry(use_cache="no"), "use_cache must be True or False"),  # type: ignore[arg-type]
        (lambda: PresetRegistry(use_cache=None), "use_cache must be True or False"),  # type: ignore[arg-type]
        (lambda: validate_files(None), "paths must be"),  # type: ignore[arg-type]
        (lambda: validate_files(b"x.toml"), "paths must be"),  # type: ignore[arg-type]
        (lambda: validate_files([5]), "each of paths"),  # type: ignore[list-item]
        (lambda: validate_files([], preset_paths=5), "preset_paths must be"),  # type: ignore[arg-type]
        (lambda: save_user_preset(5, {}), "preset names are strings"),  # type: ignore[arg-type]
        (lambda: save_user_preset("x", 5), "must be a mapping"),  # type: ignore[arg-type]
        (lambda: save_user_preset("x", {5: 1}), "keys are strings"),  # type: ignore[dict-item]
        (lambda: save_user_preset("x", {}, comments="ab"), "comments"),
    ],
)
def test_wrong_arguments_get_a_clear_error(call: Any, match: str) -> None:
    with pytest.raises(PresetArgumentError, match=match) as info:
        call()
    assert isinstance(info.value, TypeError) and isinstance(info.value, PresetError)


def test_validate_files_takes_a_single_path_as_one_path(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('[x]\nextends = "gpt2"\n')
    for argument in (str(path), path):
        assert [(r.path, r.presets, r.errors) for r in validate_files(argument)] == [
            (str(path), ("x",), ())
        ]
    other = tmp_path / "base.toml"
    other.write_text('[base]\nextends = "gpt2"\n')
    path.write_text('[x]\nextends = "base"\n')
    [report] = validate_files(path, preset_paths=other)
    assert report.valid


DEEP: list[Any] = []
for _ in range(5000):
    DEEP = [DEEP]


@pytest.mark.parametrize(
    ("table", "key", "match"),
    [
        ({"extends": "gpt2", "model_name": object()}, "model_name", "cannot be written as TOML"),
        ({"extends": "gpt2", "model_name": b"x"}, "model_name", "cannot be written as TOML"),
        ({"extends": "gpt2", "attn_types": DEEP}, "attn_types", "cannot be written as TOML"),
        ({"extends": "gpt2", "description": "x" * (1 << 20)}, None, "larger than 1024 KiB"),
        ({"extends": "gpt2", "eps": float("nan")}, "eps", "finite"),
    ],
    ids=["object", "bytes", "nested-5000-deep", "over-the-file-limit", "nan"],
)
def test_save_user_preset_refuses_what_would_not_load(
    table: dict[str, Any], key: str | None, match: str, user_presets: Path
) -> None:
    with pytest.raises(PresetError, match=match) as info:
        save_user_preset("mine", table)
    assert (info.value.preset, info.value.key) == ("mine", key)
    # Nothing was written, so every lookup still works.
    assert list(user_presets.iterdir()) == []
    assert get_preset("gpt2").n_layers == 12


def test_an_unknown_family_on_the_command_line_lists_the_families() -> None:
    proc = run("list", "--family", "nosuch")
    assert proc.returncode == 2
    assert "the families are" in proc.stderr and "pythia" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("written", "option"),
    [
        ("a\x00b", None),
        ("a\x1b[31mb", None),
        ("\ud800", None),
        (" padded", None),
        ("fine", "a\tb"),
        ("fine", " x"),
    ],
    ids=["nul", "escape", "lone-surrogate", "padded", "option-tab", "option-padded"],
)
def test_import_hf_never_prints_a_preset_whose_name_cannot_load(
    written: str, option: str | None, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    hf = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_hidden_layers": 2}
    config.write_text(json.dumps({**hf, "_name_or_path": written}))
    proc = run("import-hf", str(config), *(["--name", option] if option else []))
    assert proc.returncode == (2 if option else 1), proc.stdout
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert "cannot name a preset" in proc.stderr
    # The same config under a good name prints a preset that loads.
    good = run("import-hf", str(config), "--name", "good")
    assert good.returncode == 0, good.stderr
    (tmp_path / "good.toml").write_text(good.stdout, encoding="utf-8")
    assert PresetRegistry(tmp_path / "good.toml").resolve("good")["n_layers"] == 2


# -- 8. locations, links, duplicates, byte-order marks --------------------------------------


@st.composite
def toml_documents(draw: st.DrawFn) -> tuple[str, dict[str, dict[str, tuple[int, int]]]]:
    """A preset file in varied TOML styles, and where each key of each preset starts."""
    lines: list[str] = []
    where: dict[str, dict[str, tuple[int, int]]] = {}
    tricky = st.sampled_from(["it's '''", 'say """', "[fake]", "x = 1", "#", "'", '"', "\\", "\t"])

    def filler() -> None:
        kind = draw(st.sampled_from(["none", "blank", "comment", "comment-tricky"]))
        if kind == "blank":
            lines.append("")
        elif kind == "comment":
            lines.append("# " + draw(st.text(alphabet="abc '\"[]=#", max_size=10)))
        elif kind == "comment-tricky":
            lines.append("# " + draw(tricky))

    for p in range(draw(st.integers(min_value=1, max_value=4))):
        name = f"p{p}"
        keys: dict[str, tuple[int, int]] = {}
        filler()
        dotted = p > 0 and draw(st.booleans())
        if not dotted:
            lines.append(draw(st.sampled_from([f"[{name}]", f'["{name}"]', f"[ {name} ]"])))
        for k in range(draw(st.integers(min_value=0, max_value=5))):
            filler()
            key = f"k{k}"
            indent = " " * draw(st.integers(min_value=0, max_value=3))
            prefix = f"{name}." if dotted else ""
            if dotted and not keys and lines and lines[-1].startswith("["):
                pass
            value_kind = draw(
                st.sampled_from(
                    ["int", "str", "literal", "ml-basic", "ml-literal", "array", "inline"]
                )
            )
            value_lines: list[str]
            if value_kind == "int":
                value_lines = [str(draw(st.integers(min_value=-99, max_value=99)))]
            elif value_kind == "str":
                value_lines = [json.dumps(draw(tricky))]
            elif value_kind == "literal":
                value_lines = ["'[x] = \"y\"'"]
            elif value_kind == "ml-basic":
                value_lines = [
                    '"""',
                    draw(tricky).replace('"""', ""),
                    "[not.a.header]",
                    'k9 = 1"""',
                ]
            elif value_kind == "ml-literal":
                value_lines = ["'''", "# not a comment", "[x]", "y = '' '''"]
            elif value_kind == "array":
                value_lines = ["[", "  1, # a comment with '''", '  "two",', "]"]
            else:
                value_lines = ['{ a = 1, b = "c" }']
            keys[key] = (len(lines) + 1, len(indent) + 1)
            first, *rest = value_lines
            if dotted:
                # A dotted key outside any table: placed before any header.
                lines.insert(0, f"{indent}{prefix}{key} = {first}")
                keys = {k2: (ln + 1 if True else ln, c) for k2, (ln, c) in keys.items()}
                keys[key] = (1, len(indent) + 1)
                for other in where.values():
                    for k2, (ln, c) in list(other.items()):
                        other[k2] = (ln + 1 + len(rest), c)
                for i, extra in enumerate(rest, start=1):
                    lines.insert(i, extra)
                shift = len(rest)
                for k2 in list(keys):
                    if k2 != key:
                        keys[k2] = (keys[k2][0] + shift, keys[k2][1])
            else:
                lines.append(f"{indent}{key} = {first}")
                lines.extend(rest)
        where[name] = keys
    return "\n".join(lines) + "\n", where


@settings(max_examples=300, deadline=None)
@given(document=toml_documents())
def test_key_locations_are_right_for_any_valid_toml(
    document: tuple[str, dict[str, dict[str, tuple[int, int]]]],
) -> None:
    import tomllib

    from transformer_presets.files._tomlscan import scan

    text, expected = document
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        pytest.skip("generated text is not TOML")  # pragma: no cover - the generator's fault
    found = scan(text)
    for preset, keys in expected.items():
        for key, place in keys.items():
            assert found.keys.get(preset, {}).get(key) == place, (preset, key, text)


def test_an_error_after_a_triple_quote_in_a_comment_has_the_right_line(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[x]\nextends = \"gpt2\"   # it's '''\n\nn_layers = \"four\"\n")
    with pytest.raises(PresetError) as info:
        PresetRegistry([path], use_cache=False).get("x")
    assert (info.value.line, info.value.col) == (4, 1)
    assert PresetRegistry([path], use_cache=False).explain("gpt2")["n_layers"].line is not None


def test_a_linked_subfolder_is_followed_and_a_loop_read_once(
    user_presets: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    (elsewhere / "s.toml").write_text('[shared-one]\nextends = "gpt2"\n')
    (user_presets / "linked").symlink_to(elsewhere)
    (elsewhere / "loop").symlink_to(user_presets)  # back up: a loop
    assert resolve_preset("shared-one")["n_layers"] == 12
    assert [p.name for p in list_presets(source="user")] == ["shared-one"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_an_unreadable_subfolder_is_reported(user_presets: Path) -> None:
    locked = user_presets / "locked"
    locked.mkdir()
    (locked / "x.toml").write_text('[x]\nextends = "gpt2"\n')
    locked.chmod(0)
    try:
        with pytest.raises(PresetError, match="cannot read preset folder") as info:
            get_preset("gpt2")
        assert info.value.file == str(locked)
    finally:
        locked.chmod(0o755)


def test_one_file_named_twice_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.toml"
    path.write_text('[x]\nextends = "gpt2"\n')
    monkeypatch.setenv(
        "TRANSFORMER_PRESETS_PATH", os.pathsep.join([str(path), str(path), str(tmp_path)])
    )
    assert resolve_preset("x")["n_layers"] == 12
    assert len(list_presets("x")) == 1


def test_a_moved_bundled_folder_that_does_not_exist_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Silently no bundled presets at all was the answer to a typo.
    monkeypatch.setenv("TRANSFORMER_PRESETS_BUNDLED_DIR", str(tmp_path / "nosuch"))
    for use_cache in (True, False):
        with pytest.raises(PresetError, match="TRANSFORMER_PRESETS_BUNDLED_DIR does not exist"):
            PresetRegistry(use_cache=use_cache).resolve("gpt2")
    proc = run("list", env={"TRANSFORMER_PRESETS_BUNDLED_DIR": str(tmp_path / "nosuch")})
    assert proc.returncode == 1 and "TRANSFORMER_PRESETS_BUNDLED_DIR" in proc.stderr


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[bom]\nextends = "gpt2"\nn_layers = "x"\n')
    with pytest.raises(PresetError) as info:
        PresetRegistry([path], use_cache=False).get("bom")
    assert (info.value.key, info.value.line) == ("n_layers", 3)
    path.write_bytes(b"\xef\xbb\xbf" + b'[bom]\nextends = "gpt2"\n')
    assert PresetRegistry([path], use_cache=False).resolve("bom")["n_layers"] == 12


@pytest.mark.parametrize(
    "huge", ["d_model = 1" + "0" * 5000, "d_head = " + "[[[[" * 400 + "]]]]" * 400]
)
def test_a_syntax_error_after_an_unreadable_value_keeps_its_line_and_column(
    tmp_path: Path, huge: str
) -> None:
    # tomllib stops first at the value it cannot take; the syntax error further
    # down must still be reported as a syntax error, at its own place.
    path = tmp_path / "both.toml"
    path.write_text(f'[a]\nextends = "gpt2"\n{huge}\n\n[b]\n  = 3\n')
    with pytest.raises(PresetSyntaxError) as info:
        PresetRegistry([path], use_cache=False).get("gpt2")
    error = info.value
    assert (error.file, error.line, error.col) == (str(path), 6, 3)
    assert "TOMLDecodeError" not in str(error)
    assert str(error).startswith(f"{path}:6:3: ")
