"""The bridge planner (``model="bridge"``) against TransformerLens 4.3 itself.

Optional: it needs TransformerLens 4.3 beside 3.9 (``tests/_tl4.py``) and skips without
it. One subprocess, offline and refused any network or child process
(``tests/tl4_bridge_cache.py`` in it), builds, on the CPU with the widths
shrunk, a bridge for one preset of every architecture the planner covers and for every
other structure of the zoo (with every kind of layer kept: Gemma 3's first global layer
is its sixth), runs ``run_with_cache`` at two ``(batch, seq)`` pairs in float32 and one
in bfloat16 (and one in float16 and float64 for some), and reports the cache. The
planner must give the same hook names in the same order, shapes, dtypes and bytes, the
memory the cache keeps alive (each storage once), and the same for a ``names_filter``
selecting a few globs; where TransformerLens 4.3 cannot run a model in a dtype, the
planner must refuse it by name. A few presets are also built at full width on PyTorch's
meta device (names, shapes and dtypes: a meta tensor has no storage).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from transformer_presets import list_presets, resolve_preset
from transformer_presets.errors import PresetValidationError
from transformer_presets.planner import hooked as planner
from transformer_presets.planner.bridge import ADAPTERS, NOT_BUILDABLE, BridgeLayout

from ._tl4 import requires_tl4, run_tl4

pytestmark = requires_tl4


@contextlib.contextmanager
def _bundled_only() -> Iterator[None]:
    """The bundled presets alone: no user folder, no cache of the user's (as conftest)."""
    with tempfile.TemporaryDirectory() as home, pytest.MonkeyPatch.context() as mp:
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "TRANSFORMER_PRESETS_CACHE_DIR"):
            mp.setenv(var, os.path.join(home, var))
        mp.delenv("TRANSFORMER_PRESETS_PATH", raising=False)
        yield


PAIRS = {
    "float32": [[1, 5], [2, 7]],
    "bfloat16": [[2, 7]],
    "float16": [[2, 7]],
    "float64": [[1, 4]],
}
# float16 and float64 on one preset of each of these: the dtype rules' other cases.
OTHER_DTYPES = ("Llama", "Olmo2", "Mixtral", "OPT", "Bert", "T5")
GLOBS = ("blocks.*.hook_resid_*", "*.hook_in", "blocks.0.attn.*", "hook_*")
# Full width on the meta device: names, shapes and dtypes (TransformerLens 4.3 cannot
# split a fused QKV projection on meta, nor run a mixture of experts there).
META = ("EleutherAI/pythia-70m", "meta-llama/Llama-3.2-1B", "Qwen/Qwen3-0.6B",
        "allenai/OLMo-2-0425-1B")  # fmt: skip
META_PAIR = (1, 8)
# Values that name, load or tokenise a model without changing what its bridge caches:
# presets differing only in these share one measurement.
_NOT_STRUCTURE = re.compile(
    r"(model_name|tokenizer_name|.*checkpoint.*|n_params|rotary_base.*|NTK_.*|yarn_.*|eps"
    r"|initializer_range|n_ctx|.*_bos|.*soft_cap|window_size|clip_qkv|attn_scale|dtype"
    r"|d_vocab.*|seed|trust_remote_code|quantization_method|use_NTK_by_parts_rope"
    r"|use_yarn_rope|rotary_scaling_factor|train_seq_length|tie_word_embeddings|act_fn"
    r"|norm_topk_prob|decoder_start_token_id|relative_attention_.*|final_rms)"
)
# Shapes only, never structure (the shrunk widths replace them).
_WIDTHS = ("d_model", "d_head", "n_heads", "n_key_value_heads", "d_mlp", "n_layers",
           "rotary_dim", "num_experts", "experts_per_token")  # fmt: skip
# Structures no bundled preset has, on a preset of their architecture.
VARIANTS = {
    "neox-sequential": ("EleutherAI/pythia-70m", {"parallel_attn_mlp": False}),
    "gemma1-tanh-gelu": ("google/gemma-2b", {"act_fn": "gelu_pytorch_tanh"}),
}


def shrink(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Overrides giving the preset tiny widths and enough layers for one of each kind."""
    head = 8
    d_head = values["d_head"]

    def scaled(n: int) -> int:
        return max(head, n * head // d_head)

    out: dict[str, Any] = {"d_head": head, "d_model": scaled(values["d_model"])}
    if values.get("d_mlp"):
        out["d_mlp"] = scaled(values["d_mlp"])
    if values.get("rotary_dim"):
        out["rotary_dim"] = max(2, values["rotary_dim"] * head // d_head // 2 * 2)
    if "attn_scale" in values:
        out["attn_scale"] = head**0.5
    if values.get("original_architecture") != "Phi3ForCausalLM":  # its pad id is 32000
        out["d_vocab"] = 48
    types = values.get("attn_types") or []
    out["n_layers"] = min(values["n_layers"], max([2] + [types.index(t) + 1 for t in set(types)]))
    if types:
        out["attn_types"] = types[: out["n_layers"]]
    return out


def _cases() -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """Case id -> (preset, overrides, values): one per bridge structure of the zoo, and
    the variants."""
    from transformer_presets.registry.registry import default_registry

    cases: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
    seen = set()
    with _bundled_only():
        registry = default_registry()
        every = [(info.name, {}) for info in list_presets()] + list(VARIANTS.values())
        ids = [info.name for info in list_presets()] + list(VARIANTS)
        for case_id, (name, changes) in zip(ids, every, strict=True):
            values = resolve_preset(name)
            arch = values.get("original_architecture")
            if arch not in ADAPTERS and arch not in NOT_BUILDABLE:
                continue
            full = {**values, **registry.derived(name), **changes}
            structure = sorted(
                (k, repr(sorted(set(v)) if k == "attn_types" else 0 if k in _WIDTHS else v))
                for k, v in full.items()
                if not _NOT_STRUCTURE.fullmatch(k)
            )
            key = (arch, *structure)
            if key in seen:
                continue
            seen.add(key)
            overrides = {**shrink(name, full), **changes}
            cases[case_id] = (name, overrides, {**values, **overrides})
    return cases


CASES = _cases()
_FIRST_OF_ARCH = {}
for _id, (_, _, _values) in CASES.items():
    _FIRST_OF_ARCH.setdefault(_values["original_architecture"], _id)


def _dtypes(case_id: str) -> tuple[str, ...]:
    arch = CASES[case_id][2]["original_architecture"]
    extra = (
        arch in ADAPTERS
        and _FIRST_OF_ARCH[arch] == case_id
        and any(a in ADAPTERS[arch].name for a in OTHER_DTYPES)
    )
    return ("float32", "bfloat16") + (("float16", "float64") if extra else ())


JOBS = [
    {"id": f"{case_id}|{dtype}", "name": name, "overrides": overrides, "dtype": dtype,
     "device": "cpu", "pairs": PAIRS[dtype], "globs": list(GLOBS)}
    for case_id, (name, overrides, _) in CASES.items()
    for dtype in _dtypes(case_id)
] + [
    {"id": f"meta:{name}", "name": name, "overrides": {}, "dtype": "float32",
     "device": "meta", "pairs": [list(META_PAIR)], "globs": []}
    for name in META
]  # fmt: skip


def _measure(tmp_path: Path, jobs: list[dict[str, Any]], env: dict[str, str] | None = None) -> Any:
    # One subprocess for every job: TransformerLens 4.3 takes seconds to import.
    code = f"""
    import json
    from tests.tl4_bridge_cache import measure_all
    emit(measure_all(json.loads({json.dumps(jobs)!r})))
    """
    return run_tl4(code, tmp_path, no_network=True, timeout=1200, env=env)


def _once(
    request: pytest.FixtureRequest, factory: pytest.TempPathFactory, name: str, measure: Any
) -> Any:
    """``measure(tmp_path)``, run once for all xdist workers (the first one to ask)."""
    if not hasattr(request.config, "workerinput"):
        return measure(factory.mktemp("tl4"))
    from filelock import FileLock  # a dependency of transformers, there with TransformerLens

    shared = factory.getbasetemp().parent / f"{name}.json"
    with FileLock(f"{shared}.lock"):
        if not shared.is_file():
            shared.write_text(json.dumps(measure(factory.mktemp("tl4"))))
        return json.loads(shared.read_text())


@pytest.fixture(scope="session")
def measured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """TransformerLens 4.3's caches for every job, measured once for all xdist workers."""
    return _once(request, tmp_path_factory, "tl4_bridge_cache", lambda p: _measure(p, JOBS))


def values_of(case_id: str) -> dict[str, Any]:
    return CASES[case_id][2]


def rows(
    specs: list[planner.HookSpec], glob: str | list[str] | None = None, *, same: bool = False
) -> list[list[Any]]:
    """As the TL4 side measures them: [name, shape, dtype, bytes] and, with ``same``, the
    earlier hook holding the same tensor; ``glob`` (or a list) keeps those it matches."""
    import fnmatch

    globs = [glob] if isinstance(glob, str) else glob
    return [
        [s.name, list(s.shape), s.dtype, s.nbytes] + ([s.same_as] if same else [])
        for s in specs
        if globs is None or any(fnmatch.fnmatchcase(s.name, g) for g in globs)
    ]


def plan_as_measured(values: dict[str, Any], found: dict[str, Any]) -> planner.BridgePlan:
    """The planner's bridge, its model-level rotary hooks listed with the table of the
    layers TransformerLens's process left there (which varies between processes where
    there are several attention types: see test_the_model_level_rotary_table_*)."""
    plan = planner.BridgePlan(values)
    rotary = next(iter(found.get("pairs", {}).values()), {}).get("rotary")
    if rotary and rotary["layers"]:
        plan.layout.model_type = plan.layout.layer_types[rotary["layers"][0]]
    return plan


def test_every_covered_architecture_is_measured() -> None:
    archs = {values_of(c).get("original_architecture") for c in CASES}
    # And those boot_bridge refuses to build, which the planner must refuse too.
    assert archs == set(ADAPTERS) | set(NOT_BUILDABLE)
    assert len(CASES) >= len(ADAPTERS) + 5  # the zoo's other structures too


@pytest.mark.parametrize(
    ("case_id", "dtype"),
    [pytest.param(c, d, id=f"{c}-{d}") for c in CASES for d in _dtypes(c)],
)
def test_bridge_cache_matches_transformer_lens_4(case_id: str, dtype: str, measured: Any) -> None:
    values = values_of(case_id)
    found = measured[f"{case_id}|{dtype}"]
    try:
        plan = plan_as_measured(values, found)
        plan.hook_specs(1, 2, dtype)
    except PresetValidationError as exc:
        # What the planner refuses, TransformerLens 4.3 cannot run (a dtype), or the
        # export boot_bridge starts from refuses (a value no config.json can hold).
        assert "error" in found, f"4.3 runs it, the planner refuses: {exc}"
        expected = ("RuntimeError",) if exc.key == "dtype" else ("HFExportError", "BridgeError")
        assert found["error"].startswith(expected), (str(exc), found["error"])
        return
    assert "error" not in found, found.get("traceback")
    assert found["adapter"] == ADAPTERS[values["original_architecture"]].name
    assert len(found["pairs"]) == len(PAIRS[dtype])
    for pair, m in found["pairs"].items():
        batch, seq = map(int, pair.split(","))
        where = f"{case_id} {dtype} batch={batch} seq={seq}"
        specs = plan.hook_specs(batch, seq, dtype)
        # Names, order, shapes, dtypes, bytes, and which hooks hold one tensor.
        assert rows(specs, same=True) == m["rows"], where
        assert plan.activation_cache_bytes(batch, seq, dtype=dtype) == m["held"], where
        for glob, part, held in m["filtered"]:
            assert rows(specs, glob) == part, f"{where} {glob}"
            assert plan.activation_cache_bytes(batch, seq, glob, dtype) == held, f"{where} {glob}"


@pytest.mark.parametrize("name", META)
def test_full_width_on_the_meta_device(name: str, measured: Any) -> None:
    found = measured[f"meta:{name}"]
    assert "error" not in found, found.get("traceback")
    with _bundled_only():
        values = resolve_preset(name)
    (m,) = found["pairs"].values()
    assert rows(planner.hook_specs(values, *META_PAIR, "float32", model="bridge")) == m["rows"]


def test_dtypes_the_bridge_cannot_run_are_refused(measured: Any) -> None:
    # OLMo 1 to 3 in half precision, mixtures of experts in float64: TransformerLens 4.3
    # fails, and the planner says so (the cases above check each against 4.3).
    refused = []
    for job in JOBS:
        case_id, _, dtype = job["id"].partition("|")
        if case_id in CASES:
            try:
                planner.hook_specs(values_of(case_id), 1, 2, dtype, model="bridge")
            except PresetValidationError:
                refused.append(job["id"])
                assert "error" in measured[job["id"]]
    assert any("OLMo-2" in r and "bfloat16" in r for r in refused)
    assert any("Mixtral" in r and "float64" in r for r in refused)


# -- Gemma 3 and OLMo 3: the model-level rotary table, under several hash seeds -------------

# transformers computes one rotary table per attention type, `for layer_type in
# set(config.layer_types)`, and TransformerLens's model-level rotary_emb.hook_cos/sin fire
# at each call: the cache keeps the last, and a set of two strings iterates in an order
# that Python's hash randomisation draws for each process. On CPython 3.11, seeds 0 and 2
# (a collision of the two names' slots) leave the sliding-window table there, 1 the
# global one; the test asks only that both occur.
SEEDS = ("0", "1", "2")


def _rotary_varies(case_id: str) -> bool:
    try:
        return BridgeLayout(values_of(case_id)).rotary_varies
    except PresetValidationError:  # what boot_bridge cannot build
        return False


PER_TYPE = [c for c in CASES if _rotary_varies(c)]
# Tables of the model and of the first layers' type only: one table or two, by process.
VARIES = ["rotary_emb.hook_cos", "blocks.0.attn.hook_cos"]
SEED_JOBS = [
    {"id": case_id, "name": name, "overrides": overrides, "dtype": "float32",
     "device": "cpu", "pairs": [[1, 5]], "globs": [*GLOBS, "rotary_emb.*", VARIES]}
    for case_id, (name, overrides, _) in CASES.items()
    if case_id in PER_TYPE
]  # fmt: skip


@pytest.fixture(scope="session")
def by_seed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The per-type cases measured in one process per PYTHONHASHSEED."""
    return {
        seed: _once(
            request,
            tmp_path_factory,
            f"tl4_bridge_seed_{seed}",
            lambda p, seed=seed: _measure(p, SEED_JOBS, {"PYTHONHASHSEED": seed}),
        )
        for seed in SEEDS
    }


def test_the_model_level_rotary_table_is_the_type_a_set_iterates_last(by_seed: Any) -> None:
    assert {values_of(c)["original_architecture"] for c in PER_TYPE} == {
        "Gemma3ForCausalLM",
        "Gemma3ForConditionalGeneration",
        "Olmo3ForCausalLM",
    }
    for case_id in PER_TYPE:
        held = set()
        for seed, found in by_seed.items():
            assert "error" not in found[case_id], found[case_id].get("traceback")
            (m,) = found[case_id]["pairs"].values()
            rotary = m["rotary"]
            types = rotary["layer_types"]
            # Every layer of one type, and only those: the table of the type the set of
            # types iterates last in that process.
            last = rotary["set_order"][-1]
            assert rotary["layers"] == [i for i, t in enumerate(types) if t == last], seed
            held.add(last)
        assert held == {"sliding_attention", "full_attention"}, case_id  # the seeds differ


def test_the_planner_holds_under_every_hash_seed(by_seed: Any) -> None:
    # What does not depend on the order is exact in every process: names, order, shapes,
    # dtypes, bytes, the memory held by all hooks and by every selection but those the
    # planner refuses. With the model-level table that process's, every link is exact too.
    for case_id in PER_TYPE:
        values = values_of(case_id)
        plan = planner.BridgePlan(values)
        varying = []
        for seed, found in by_seed.items():
            (m,) = found[case_id]["pairs"].values()
            where = f"{case_id} PYTHONHASHSEED={seed}"
            specs = plan.hook_specs(1, 5)
            assert rows(specs) == [row[:4] for row in m["rows"]], where
            assert plan.activation_cache_bytes(1, 5) == m["held"], where
            exact = plan_as_measured(values, found[case_id])
            assert rows(exact.hook_specs(1, 5), same=True) == m["rows"], where
            for glob, part, held in m["filtered"]:
                assert rows(specs, glob) == part, f"{where} {glob}"
                if glob == VARIES:
                    varying.append(held)
                    with pytest.raises(PresetValidationError, match="PYTHONHASHSEED") as info:
                        plan.activation_cache_bytes(1, 5, glob)
                    assert info.value.key == "names"
                    with pytest.raises(PresetValidationError, match="PYTHONHASHSEED"):
                        plan.hook_specs(1, 5, names=glob)
                else:
                    assert plan.activation_cache_bytes(1, 5, glob) == held, f"{where} {glob}"
        # One table in some processes, two in others: what the planner refuses to say.
        assert len(set(varying)) == 2, (case_id, varying)
