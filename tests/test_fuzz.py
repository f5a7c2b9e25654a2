"""Property-based tests: whatever a preset file holds, only a PresetError escapes."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transformer_presets import HookedTransformerConfig, PresetError, PresetRegistry
from transformer_presets.config.hooked import ACTIVATION_NAMES, FIELD_BOUNDS, FIELD_CHOICES
from transformer_presets.fields.keys import FIELDS, RESERVED_KEYS
from transformer_presets.files._tomlscan import defuse, scan

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values of every type TOML has.
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
    st.times(),
)
toml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from([*FIELDS, *RESERVED_KEYS]) | st.text(min_size=1, max_size=10)
names = st.sampled_from(["a", "b", "c", "gpt2", "org/m-1.5b"]) | st.text(min_size=1, max_size=8)


@pytest.fixture(autouse=True)
def only_the_fuzzed_file(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing the whole bundled zoo for each of hundreds of examples would
    # make this slow without testing anything more about the fuzzed file.
    empty = tmp_path_factory.mktemp("no-bundled")
    monkeypatch.setenv("TRANSFORMER_PRESETS_BUNDLED_DIR", str(empty))
    assert PresetRegistry().sources[-1].path == str(empty)


def exercise(path: Path) -> list[Any]:
    """Load every preset of ``path`` every way; return what loaded."""
    registry = PresetRegistry(paths=[path], use_cache=False)
    loaded: list[Any] = []
    try:
        rows = registry.list(include_abstract=True, source="path")
    except PresetError:
        return loaded
    for row in rows:
        for verb in (registry.resolve, registry.explain, registry.get):
            with contextlib.suppress(PresetError):
                loaded.append(verb(row.name))
    return loaded


@SETTINGS
@given(text=st.text(max_size=300))
def test_arbitrary_text_only_raises_preset_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    exercise(path)


@SETTINGS
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_preset_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    exercise(path)


@SETTINGS
@given(
    doc=st.dictionaries(
        names,
        st.dictionaries(keys, toml_values, max_size=6)
        | st.fixed_dictionaries(
            {"extends": st.sampled_from(["gpt2", "a", "b"])},
            optional={
                "n_layers": toml_values,
                "d_model": toml_values,
                "act_fn": toml_values,
                "unset": toml_values,
            },
        ),
        min_size=1,
        max_size=4,
    )
)
def test_arbitrary_tables_only_raise_preset_errors(tmp_path: Path, doc: dict[str, Any]) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(tomli_w.dumps(doc))
    exercise(path)


# -- valid presets: built from real fields, each with a value of its type and domain.

positive = st.integers(min_value=1, max_value=4096)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "n_heads": st.just(-1) | st.integers(min_value=1, max_value=64),
    "d_mlp": positive,
    "d_vocab": st.just(-1) | positive,
    "d_vocab_out": st.just(-1) | positive,
    "act_fn": st.sampled_from(ACTIVATION_NAMES),
    "dtype": st.sampled_from(["float32", "float16", "bfloat16", "float64", "bf16", "half"]),
    "seed": st.integers(min_value=0, max_value=2**32 - 1),
    "n_devices": st.just(1),
    "eps": st.floats(min_value=0, max_value=1e-2),
    "initializer_range": st.floats(min_value=-1, max_value=1),
    "rotary_base_local": st.floats(min_value=1, max_value=1e7),
    "attn_scale": st.just(-1.0) | st.floats(min_value=0, max_value=100, exclude_min=True),
    "rotary_base": st.integers(min_value=1, max_value=10**7)
    | st.floats(min_value=1, max_value=1e7),
    "normalization_type": st.sampled_from(["LN", "LNPre", "RMS", "RMSPre"]),
    "positional_embedding_type": st.sampled_from(["standard", "rotary", "shortformer", "alibi"]),
}
SKIP = {
    "n_layers",
    "d_model",
    "n_ctx",
    "d_head",
    "n_params",
    "from_checkpoint",
    "checkpoint_index",
    "checkpoint_value",
    "use_local_attn",
    "num_experts",
    "experts_per_token",
    "window_size",
    "attn_types",
    "attn_only",
    "device",
    "default_prepend_bos",
    "n_key_value_heads",
    "rotary_dim",
}


def value_for(name: str) -> st.SearchStrategy[Any]:
    if name in FIELD_VALUES:
        return FIELD_VALUES[name]
    kinds = FIELDS[name].kinds
    if name in FIELD_CHOICES:
        return st.sampled_from(FIELD_CHOICES[name])
    if "bool" in kinds:
        return st.booleans()
    bound = FIELD_BOUNDS.get(name)
    if "int" in kinds and "float" not in kinds:
        return (
            positive
            if bound is None
            else st.integers(min_value=max(int(bound.low), 1), max_value=4096)
        )
    if "float" in kinds:
        if bound is None:
            return st.floats(min_value=-10, max_value=10)
        return st.floats(min_value=bound.low, max_value=10, exclude_min=bound.open)
    return st.text(max_size=10)


@st.composite
def valid_tables(draw: st.DrawFn) -> dict[str, Any]:
    d_head = draw(st.integers(min_value=1, max_value=128))
    table: dict[str, Any] = {
        "n_layers": draw(st.integers(min_value=0, max_value=48)),
        "d_model": d_head * draw(st.integers(min_value=1, max_value=32)),
        "n_ctx": draw(positive),
        "d_head": d_head,
        "act_fn": draw(st.sampled_from(ACTIVATION_NAMES)),
    }
    optional = sorted(set(FIELDS) - SKIP - set(table))
    for name in draw(st.lists(st.sampled_from(optional), unique=True, max_size=12)):
        table[name] = draw(value_for(name))
    if draw(st.booleans()):
        kinds = st.sampled_from(["local", "global"])
        n = table["n_layers"]
        table.update(
            use_local_attn=True,
            window_size=draw(positive),
            attn_types=draw(st.lists(kinds, min_size=n, max_size=n)),
        )
    if draw(st.booleans()):
        experts = draw(positive)
        table.update(
            num_experts=experts,
            experts_per_token=draw(st.integers(min_value=1, max_value=experts)),
        )
    n_heads = table.get("n_heads", -1)
    n_heads = table["d_model"] // d_head if n_heads == -1 else n_heads
    if draw(st.booleans()):
        table["n_key_value_heads"] = draw(
            st.sampled_from([k for k in range(1, n_heads + 1) if n_heads % k == 0])
        )
    if draw(st.booleans()):
        table["rotary_dim"] = draw(st.integers(min_value=1, max_value=d_head))
    return table


# Fuzzed presets may turn on trust_remote_code; the warning that brings is tested elsewhere.
@pytest.mark.filterwarnings("ignore:.*trust_remote_code:UserWarning")
@SETTINGS
@given(table=valid_tables(), via_parent=st.booleans())
def test_every_valid_preset_resolves(
    tmp_path: Path, table: dict[str, Any], via_parent: bool
) -> None:
    doc: dict[str, Any] = {"fuzzed": table}
    if via_parent:
        doc = {"parent": {**table, "abstract": True}, "fuzzed": {"extends": "parent"}}
    path = tmp_path / "valid.toml"
    path.write_text(tomli_w.dumps(doc))
    registry = PresetRegistry(paths=[path], use_cache=False)
    values = registry.resolve("fuzzed")
    assert values == {k: v for k, v in table.items() if k != "dtype"} | (
        {"dtype": values["dtype"]} if "dtype" in table else {}
    )
    cfg = registry.get("fuzzed")
    assert cfg == HookedTransformerConfig(**values)
    assert cfg.n_params is not None and cfg.n_params >= 0
    assert not math.isnan(cfg.initializer_range)


# Text made of what a TOML scanner turns on: brackets, quotes, comments, dots, and every
# kind of line break and blank, lone carriage returns and form feeds included.
toml_ish = st.text(
    alphabet=st.sampled_from(list("[]{}=.,#\"'\\ \t\r\n\x0b\x0cab1_-+:")), max_size=80
)


@pytest.mark.timeout(60)
@settings(max_examples=500, deadline=None)
@given(text=toml_ish)
def test_scanning_any_text_ends(text: str) -> None:
    # The scanner runs before tomllib (to find keys too long for it), so it sees invalid
    # text too; a step that takes no character must end the scan, not spin forever.
    found = scan(text)
    patched, spans = defuse(text)
    assert patched.count("\n") == text.count("\n")
    lines = text.count("\n") + 1
    for line, _col in [*found.top.values(), *(p for k in found.keys.values() for p in k.values())]:
        assert 1 <= line <= lines
    assert all(1 <= span.line <= lines for span in spans)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("\r", 1),
        ('[a]\nextends = "x"\r', 2),
        ("[a]\nn_layers = [1,\r 2]\n", 2),
        ("[a]\nn_layers = [1,\r\n 2,\r 3]\n", 3),
    ],
    ids=["alone", "after-a-value", "in-an-array", "after-a-crlf-in-an-array"],
)
def test_a_lone_carriage_return_is_a_syntax_error_at_its_place(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / "cr.toml"
    path.write_bytes(text.encode())
    with pytest.raises(PresetError) as info:
        PresetRegistry([path], use_cache=False).list(source="path")
    assert (info.value.file, info.value.line) == (str(path), line)
