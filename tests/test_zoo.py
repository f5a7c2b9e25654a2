"""The bundled zoo against TransformerLens's own resolved configs (issues 3 and 14).

``tests/data/transformerlens_models.jsonl`` holds, for every model
TransformerLens 3.9 knows, its official name, its aliases and the config
TransformerLens 3.9 resolves for it: the table first taken from 3.5.0, with
every difference recorded in ``tests/data/tl39_differences.json`` applied by
``tools/tl39_reference.py``. Every bundled preset must reproduce that config
field by field, be found under every name, and be written the way the preset
files are meant to be written: shared values in abstract bases, no
``n_params``, no derived field that the class would derive anyway.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tools.tl39_reference import build
from transformer_presets import (
    HookedTransformerConfig,
    PresetError,
    PresetRegistry,
    explain_preset,
    get_preset,
    list_presets,
    resolve_preset,
)
from transformer_presets.config.hooked import check_and_derive
from transformer_presets.registry.registry import default_registry

from .conftest import DATA, REPO

PRESET_DIR = REPO / "presets"
REFERENCE = [
    json.loads(line)
    for line in (REPO / "tests" / "data" / "transformerlens_models.jsonl").read_text().splitlines()
    if line.strip()
]
BY_NAME = {row["name"]: row for row in REFERENCE}
NAMES = [row["name"] for row in REFERENCE]
RECORD = json.loads((DATA / "tl39_differences.json").read_text(encoding="utf-8"))

# device depends on the machine; init_weights is false in the reference only
# because of how it was generated (the class default, True, is what users get).
SKIPPED_FIELDS = {"device", "init_weights"}

NEWER_FIELDS = {
    "clip_qkv": None,
    "use_logn_attn": False,
    "train_seq_length": None,
    "use_dynamic_ntk_rope": False,
    "quantization_method": None,
    "yarn_truncate": True,
    "yarn_global_attn_only": False,
    "use_attention_sinks": False,
}

# Fields HookedTransformerConfig derives when a preset leaves them out.
DERIVED = ("n_heads", "d_mlp", "initializer_range", "d_vocab_out", "rotary_dim", "attn_scale")

PYTHIA_V1 = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, *range(1000, 143000 + 1, 1000)]
PYTHIA_V0 = list(range(1000, 143000 + 1, 1000))
STANFORD_CRFM = [
    *range(0, 90 + 1, 10),
    *range(100, 1950 + 1, 50),
    *range(2000, 19900 + 1, 100),
    *range(20000, 400000 + 1, 1000),
]


def expected_checkpoints(name: str) -> list[int] | None:
    """The list TransformerLens's get_checkpoint_labels gives for an official name."""
    if name.startswith("stanford-crfm/"):
        return STANFORD_CRFM
    if name.startswith("EleutherAI/pythia"):
        return PYTHIA_V0 if "v0" in name else PYTHIA_V1
    return None


@pytest.fixture(scope="session")
def clean_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(autouse=True)
def bundled_only(clean_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One directory for the whole session (overriding conftest's per-test
    # folders), so the default registry, rebuilt whenever these variables
    # change, is built once rather than once per test.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(clean_home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(clean_home / "data"))
    monkeypatch.setenv("TRANSFORMER_PRESETS_CACHE_DIR", str(clean_home / "cache"))
    monkeypatch.setenv("TRANSFORMER_PRESETS_NO_CACHE", "1")
    monkeypatch.delenv("TRANSFORMER_PRESETS_PATH", raising=False)


def raw_tables() -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every bundled preset table as written, by name."""
    tables: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted(PRESET_DIR.glob("*.toml")):
        with path.open("rb") as f:
            for name, table in tomllib.load(f).items():
                tables[name] = (path, table)
    return tables


def same_value(got: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, float) or isinstance(got, float):
        # int and float must stay apart (rotary_base 10000 vs 10000.0). The
        # reference rounds floats to 10 decimal places, so they may differ by half
        # of 1e-10 (BERT's eps of 1e-12 is stored as 0.0), and by no more: a
        # relative tolerance would let a wrong eps or base through.
        return type(got) is type(want) and abs(got - want) <= 5e-11 * (1 + 1e-9)
    return type(got) is type(want) and got == want


# -- every model, by every name ------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_found_by_name_and_every_alias(name: str) -> None:
    registry = default_registry()
    spellings = [name, name.upper(), name.lower()]
    for alias in BY_NAME[name]["aliases"]:
        spellings += [alias, alias.upper(), alias.lower(), alias.swapcase()]
    found = {spelling: registry.info(spelling).name for spelling in spellings}
    assert found == dict.fromkeys(spellings, name)


@pytest.mark.parametrize("name", NAMES)
def test_every_field_equals_the_reference(name: str) -> None:
    # Fields the older reference predates hold their (TransformerLens 3.9) defaults.
    want = {**NEWER_FIELDS, **BY_NAME[name]["config"]}
    got = get_preset(name).to_dict()
    assert set(got) - {"device"} == set(want)
    wrong = {}
    for field, value in want.items():
        if field in SKIPPED_FIELDS:
            continue
        mine = got[field]
        if field == "dtype":
            mine = str(mine).removeprefix("torch.")
        if not same_value(mine, value):
            wrong[field] = (mine, value)
    assert wrong == {}


@pytest.mark.parametrize("name", NAMES)
def test_resolved_values_build_the_same_config(name: str) -> None:
    assert HookedTransformerConfig(**resolve_preset(name)) == get_preset(name)


# -- the zoo as a whole ------------------------------------------------------------


def test_the_reference_is_the_old_table_with_the_recorded_differences() -> None:
    # Rebuilding changes nothing: every recorded 3.9 difference is applied, every row
    # has the fields 3.9 added, the recorded new models are there.
    assert build(copy.deepcopy(REFERENCE), with_transformer_lens=False) == REFERENCE
    assert {a["model"] for a in RECORD["added"]} <= set(BY_NAME)


@pytest.mark.parametrize(
    "diff",
    RECORD["differences"],
    ids=[f"{d['field']}-{d['models'][0]}" for d in RECORD["differences"]],
)
def test_every_recorded_difference_is_in_the_bundled_presets(diff: dict[str, Any]) -> None:
    assert diff["change"] in RECORD["changes"]
    assert diff["source"] and diff["fact"]
    assert not same_value(diff["old"], diff["new"])
    for model in diff["models"]:
        got = get_preset(model).to_dict()[diff["field"]]
        assert same_value(got, diff["new"]), model


def test_as_many_concrete_presets_as_reference_models() -> None:
    bundled = [p.name for p in list_presets(source="bundled")]
    assert len(bundled) == len(REFERENCE) == 249
    assert sorted(bundled) == sorted(NAMES)


def test_no_alias_points_at_two_reference_models() -> None:
    owners: defaultdict[str, set[str]] = defaultdict(set)
    for row in REFERENCE:
        for spelling in [row["name"], *row["aliases"]]:
            owners[spelling.casefold()].add(row["name"])
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_no_name_or_alias_claimed_twice_in_the_files() -> None:
    claimed: defaultdict[str, list[str]] = defaultdict(list)
    for name, (_, table) in raw_tables().items():
        spellings = {name.casefold()} | {a.casefold() for a in table.get("aliases", [])}
        for spelling in spellings:
            claimed[spelling].append(name)
    assert {k: v for k, v in claimed.items() if len(v) > 1} == {}


def test_aliases_are_written_once() -> None:
    for name, (path, table) in raw_tables().items():
        folded = [a.casefold() for a in table.get("aliases", [])]
        assert len(folded) == len(set(folded)), (path.name, name)
        assert name.casefold() not in folded, (path.name, name)


def test_every_concrete_preset_extends_an_abstract_base() -> None:
    tables = raw_tables()
    orphans = []
    for name, (path, table) in tables.items():
        if table.get("abstract"):
            continue
        parents = table.get("extends", [])
        parents = [parents] if isinstance(parents, str) else parents
        if not any(tables[p][1].get("abstract") for p in parents if p in tables):
            orphans.append(f"{path.name}: {name}")
    assert orphans == []


def test_no_file_writes_n_params() -> None:
    writers = [
        f"{path.name}: {name}"
        for name, (path, table) in raw_tables().items()
        if "n_params" in table
    ]
    assert writers == []


@pytest.mark.parametrize("name", NAMES)
def test_no_derived_field_is_written_needlessly(name: str) -> None:
    values = resolve_preset(name)
    origins = explain_preset(name)
    needless = []
    for field in DERIVED:
        if origins[field].source != "preset":
            continue
        without = {k: v for k, v in values.items() if k != field}
        try:
            derived = check_and_derive(without).get(field)
        except PresetError:
            continue  # needed: without it the preset is invalid (e.g. n_heads with GQA)
        if derived is not None and same_value(derived, values[field]):
            needless.append(f"{field} = {values[field]!r} (set by {origins[field].preset})")
    assert needless == []


def test_attention_patterns_are_written_once_as_repeating_patterns() -> None:
    # Each family writes its layer pattern once, as { repeat = [...] }: no list of one
    # entry per layer, and no overlay per depth.
    patterns: defaultdict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, (path, table) in raw_tables().items():
        if "attn_types" in table:
            value = table["attn_types"]
            assert isinstance(value, dict), f"{name} ({path.name}) lists attn_types layer by layer"
            patterns[(path.name, *value["repeat"])].append(name)
    assert {k: v for k, v in patterns.items() if len(v) > 1} == {}


def test_a_pattern_follows_a_child_of_another_depth(tmp_path: Path) -> None:
    # A repeating pattern is laid out over the child's own layers.
    (tmp_path / "small.toml").write_text(
        '["small-gemma"]\nextends = "google/gemma-2-2b"\nn_layers = 5\n'
        '["small-gemma-3"]\nextends = "google/gemma-3-1b-pt"\nn_layers = 8\n'
    )
    registry = PresetRegistry(tmp_path / "small.toml", use_cache=False)
    assert registry.resolve("small-gemma")["attn_types"] == ["local", "global"] * 2 + ["local"]
    gemma3 = registry.resolve("small-gemma-3")["attn_types"]
    assert gemma3 == ["local"] * 5 + ["global"] + ["local"] * 2


# -- checkpoints ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_checkpoints_are_those_transformer_lens_lists(name: str) -> None:
    expected = expected_checkpoints(name)
    assert default_registry().info(name).has_checkpoints == (expected is not None)
    if expected is None:
        with pytest.raises(PresetError, match="has no training checkpoints"):
            get_preset(name, checkpoint_index=0)
        return
    first, last = get_preset(name, checkpoint_index=0), get_preset(name, checkpoint_index=-1)
    assert (first.checkpoint_value, last.checkpoint_value) == (expected[0], expected[-1])
    with pytest.raises(PresetError, match="out of range"):
        get_preset(name, checkpoint_index=len(expected))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pythia-70m", PYTHIA_V1),
        ("EleutherAI/pythia-160m-seed1", PYTHIA_V1),
        ("pythia-70m-v0", PYTHIA_V0),
        ("pythia-1.4b-deduped-v0", PYTHIA_V0),
        ("stanford-gpt2-small-a", STANFORD_CRFM),
        ("stanford-gpt2-medium-e", STANFORD_CRFM),
    ],
    ids=["pythia-v1", "pythia-seed", "pythia-v0", "pythia-v0-deduped", "crfm-small", "crfm-medium"],
)
def test_checkpoint_lists_exactly(name: str, expected: list[int]) -> None:
    got = [get_preset(name, checkpoint_index=i).checkpoint_value for i in range(len(expected))]
    assert got == expected
    with pytest.raises(PresetError, match="out of range"):
        get_preset(name, checkpoint_index=len(expected))
    with pytest.raises(PresetError, match="out of range"):
        get_preset(name, checkpoint_index=-len(expected) - 1)


def test_checkpoint_index_sets_the_fields_as_transformer_lens_does() -> None:
    cfg = get_preset("pythia-70m", checkpoint_index=3)
    assert (cfg.from_checkpoint, cfg.checkpoint_index, cfg.checkpoint_value) == (True, 3, 4)
    assert cfg.checkpoint_label_type == "step"
    assert get_preset("pythia-70m").from_checkpoint is False


def test_checkpoint_value_finds_its_index() -> None:
    cfg = get_preset("pythia-70m", checkpoint_value=4000)
    assert (cfg.from_checkpoint, cfg.checkpoint_index, cfg.checkpoint_value) == (True, 14, 4000)
    assert get_preset("pythia-70m-v0", checkpoint_value=4000).checkpoint_index == 3
    crfm = get_preset("stanford-gpt2-small-a", checkpoint_value=20000)
    assert (crfm.checkpoint_index, crfm.checkpoint_label_type) == (
        STANFORD_CRFM.index(20000),
        "step",
    )


def test_negative_index_counts_from_the_end() -> None:
    # As in TransformerLens: the value is looked up Python-style, the index kept as given.
    cfg = get_preset("pythia-70m", checkpoint_index=-1)
    assert (cfg.checkpoint_index, cfg.checkpoint_value) == (-1, 143000)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("pythia-70m", 3),
        ("pythia-70m", 143001),
        ("pythia-70m-v0", 0),
        ("stanford-gpt2-small-a", 95),
    ],
)
def test_a_value_that_is_not_a_checkpoint_is_an_error(name: str, value: int) -> None:
    with pytest.raises(PresetError, match="is not a checkpoint"):
        get_preset(name, checkpoint_value=value)


def test_index_and_value_together_are_an_error() -> None:
    with pytest.raises(PresetError, match="not both"):
        get_preset("pythia-70m", checkpoint_index=3, checkpoint_value=4)


@pytest.mark.parametrize("name", ["gpt2", "NeelNanda/SoLU_1L512W_C4_Code", "mixtral"])
def test_a_model_without_checkpoints_is_an_error(name: str) -> None:
    with pytest.raises(PresetError, match="has no training checkpoints"):
        get_preset(name, checkpoint_value=1000)


def test_the_comparison_allows_the_reference_rounding_and_nothing_more() -> None:
    # The rounding to 10 decimal places of the reference passes ...
    assert same_value(0.8 / math.sqrt(4096 * 1.7), round(0.8 / math.sqrt(4096 * 1.7), 10))
    assert same_value(1e-12, 0.0)
    # ... a base or a scale off in its seventh digit does not.
    assert not same_value(500000.4, 500000.0)
    assert not same_value(11.3137, 11.3137085)
    assert not same_value(10000, 10000.0)
