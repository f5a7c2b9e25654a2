"""The JSON Schema of preset files: shipped as generated, and in agreement with the loader.

Two validators read the schema: ``jsonschema`` (Python) and ``taplo`` (the
command-line face of Even Better TOML, which people see in their editor).
Both must accept every bundled preset file and reject every invalid fixture
whose fault is a key or a type; a property-based test holds the schema and
the loader to the same answer on generated single-preset files.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from transformer_presets.errors import PresetError, PresetSyntaxError
from transformer_presets.fields.keys import (
    COMPUTED_ONLY,
    FIELD_CHOICES,
    FIELDS,
    RESERVED_KEYS,
    check_field_value,
    check_reserved_value,
)
from transformer_presets.fields.schema import (
    DIALECT,
    INVISIBLE_BMP,
    preset_file_schema,
    schema_text,
)
from transformer_presets.files.reader import name_problem, parse_preset_text

from .conftest import DATA, REPO

jsonschema = pytest.importorskip("jsonschema")

SHIPPED = REPO / "src" / "transformer_presets" / "preset.schema.json"
BUNDLED = sorted((REPO / "presets").glob("*.toml"))
SCHEMA = preset_file_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _taplo() -> str:
    # The venv's bin folder is not always on PATH (pytest run as .venv/bin/python -m pytest).
    beside = Path(sys.executable).with_name("taplo")
    found = str(beside) if beside.exists() else shutil.which("taplo")
    if found is None:
        pytest.skip("the taplo command is not installed (pip install taplo, in the test extra)")
    return found


def taplo_check(*files: Path, schema: Path | None = SHIPPED, cwd: Path | None = None) -> bool:
    """Whether ``taplo check`` accepts ``files`` (against ``schema``, or as configured)."""
    command = [_taplo(), "check", "--colors", "never"]
    if schema is not None:
        command += ["--no-auto-config", "--schema", schema.resolve().as_uri()]
    result = subprocess.run(
        [*command, *map(str, files)], capture_output=True, text=True, cwd=cwd, check=False
    )
    if result.returncode not in (0, 1):  # pragma: no cover - taplo itself broke
        pytest.fail(f"taplo failed to run:\n{result.stderr}")
    return result.returncode == 0


def schema_accepts(data: Any) -> bool:
    return bool(VALIDATOR.is_valid(data))


def loader_accepts(text: str) -> bool:
    """Whether the file parser accepts every key of every table in ``text``."""
    try:
        parsed = parse_preset_text(text, "generated.toml")
    except PresetSyntaxError:
        return False
    return all(p.error is None and not p.key_errors for p in parsed.presets)


# -- the shipped file ----------------------------------------------------------------


def test_shipped_file_equals_the_generated_schema() -> None:
    # If this fails, run: python -m tools.gen_schema
    assert SHIPPED.read_text(encoding="utf-8") == schema_text()
    assert json.loads(SHIPPED.read_text(encoding="utf-8")) == SCHEMA


def test_the_regeneration_command_finds_the_file_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.gen_schema", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == DIALECT
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_schema_has_every_field_and_reserved_key_and_nothing_else() -> None:
    properties = SCHEMA["$defs"]["preset"]["properties"]
    assert list(properties) == [*RESERVED_KEYS, *FIELDS]
    assert SCHEMA["$defs"]["preset"]["additionalProperties"] is False


def test_every_field_is_described_from_the_field_docs() -> None:
    from transformer_presets.fields.docs import FIELD_DOCS

    properties = SCHEMA["$defs"]["preset"]["properties"]
    for name in FIELDS:
        assert properties[name]["description"].startswith(FIELD_DOCS[name]), name


def test_enums_come_from_the_loaders_tables() -> None:
    from transformer_presets.config.hooked import ACTIVATION_NAMES, DTYPE_NAMES

    properties = SCHEMA["$defs"]["preset"]["properties"]
    assert properties["act_fn"]["enum"] == list(ACTIVATION_NAMES)
    assert set(DTYPE_NAMES) <= set(properties["dtype"]["enum"])
    # attn_types: a list of one entry per layer, or a { repeat = [...] } pattern.
    as_list, as_pattern = properties["attn_types"]["anyOf"]
    assert as_list["items"]["enum"] == list(FIELD_CHOICES["attn_types"])
    assert as_pattern["properties"]["repeat"]["items"]["enum"] == list(FIELD_CHOICES["attn_types"])
    for name, choices in FIELD_CHOICES.items():
        prop = properties[name]
        if "anyOf" in prop:
            prop = prop["anyOf"][0]
        assert (prop.get("items") or prop)["enum"] == list(choices), name
    nullable = [name for name, spec in FIELDS.items() if spec.nullable]
    assert properties["none"]["items"]["enum"] == nullable
    assert properties["unset"]["items"]["enum"] == list(FIELDS)


# -- the loader's choices ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIELD_CHOICES))
def test_the_loader_takes_each_choice_and_nothing_else(name: str) -> None:
    is_list = "list[str]" in FIELDS[name].kinds
    for choice in FIELD_CHOICES[name]:
        value = [choice] if is_list else choice
        assert check_field_value(name, value) == value
    wrong = choice.upper() + "x"
    with pytest.raises(PresetError, match="choose one of") as info:
        check_field_value(name, [wrong] if is_list else wrong)
    assert info.value.key == name


# -- bundled presets: both validators accept them ------------------------------------


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_preset_file_passes_jsonschema(path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(data)]
    assert errors == []


def test_every_bundled_preset_file_passes_taplo() -> None:
    assert BUNDLED
    rejected = [path.name for path in BUNDLED if not taplo_check(path)]
    assert rejected == []


# -- invalid fixtures ------------------------------------------------------------------

# Fixtures whose fault is a key or a value's type (or a value outside a fixed set):
# both validators must reject them.
KEY_OR_TYPE_FAULTS = {
    "alias_not_a_name": "an alias holding a tab, which no name may hold",
    "aliases_wrong_type": "aliases is a string, not an array",
    "array_of_tables": "[[tiny]] makes the preset an array, not a table",
    "bad_parent_value": "the parent's n_layers is a string",
    "bool_for_int": "true where an integer is needed",
    "extends_wrong_type": "extends is an integer",
    "key_outside_table": "a top-level key that is not a table",
    "n_params_written": "n_params may not be set in a file",
    "negative_checkpoint": "a checkpoint label below 0",
    "none_and_value": "a field both listed in none and given a value",
    "none_not_nullable": "none lists a field that cannot be None",
    "pattern_with_unknown_kind": "a layer kind outside global and local in a pattern",
    "pattern_without_repeat": "a per-layer pattern table without its repeat key",
    "string_for_number": "a string where a number is needed",
    "unknown_activation": "act_fn outside the supported activations",
    "unknown_dtype": "a dtype name that does not exist",
    "unknown_field": "a key that is no field",
    "unknown_name_in_unset": "unset lists a name that is no field",
    "unknown_normalization": "normalization_type outside its fixed set",
}
# Files that are not TOML at all: taplo rejects them (jsonschema never sees data).
NOT_TOML = {
    "not_utf8": "invalid UTF-8",
    "syntax_error": "a TOML syntax error",
    "unclosed_array_at_end": "a TOML syntax error at the end",
}
# Faults a schema of one file cannot see: they need values compared, other presets,
# or call-time arguments. Listed so that a new fixture must be sorted in on purpose.
BEYOND_THE_SCHEMA = {
    "abstract_preset": "loading an abstract preset is a call, not a file, mistake",
    "alias_collision": "two presets claim one alias",
    "bad_checkpoints": "checkpoint values that do not increase",
    "checkpoint_on_model_without_them": "a call-time checkpoint for a model without them",
    "class_rejects_value": "n_key_value_heads = 5 with 12 heads, which the class rejects",
    "cycle": "presets extending each other in a loop",
    "duplicate_in_file": "two names that differ only in case",
    "duplicate_name_same_level": "one name in two files",
    "experts_without_top_k": "num_experts without experts_per_token, after inheritance",
    "missing_required": "a required field unset after inheritance",
    "unknown_override": "a call-time override",
    "unknown_parent": "a parent that does not exist",
    "wrong_override_type": "a call-time override",
}


def test_every_invalid_fixture_is_sorted_into_one_table() -> None:
    fixtures = {p.stem for p in (DATA / "invalid").iterdir() if p.suffix != ".txt"}
    tables = [KEY_OR_TYPE_FAULTS, NOT_TOML, BEYOND_THE_SCHEMA]
    assert sorted(fixtures) == sorted(name for table in tables for name in table)


@pytest.mark.parametrize("name", sorted(KEY_OR_TYPE_FAULTS))
def test_key_or_type_fault_fails_jsonschema(name: str) -> None:
    data = tomllib.loads((DATA / "invalid" / f"{name}.toml").read_text(encoding="utf-8"))
    assert not schema_accepts(data), KEY_OR_TYPE_FAULTS[name]


@pytest.mark.parametrize("name", sorted(KEY_OR_TYPE_FAULTS) + sorted(NOT_TOML))
def test_key_or_type_fault_fails_taplo(name: str) -> None:
    assert not taplo_check(DATA / "invalid" / f"{name}.toml")


@pytest.mark.parametrize(
    "name", sorted(n for n in BEYOND_THE_SCHEMA if (DATA / "invalid" / f"{n}.toml").is_file())
)
def test_faults_beyond_a_schema_pass_both_validators(name: str) -> None:
    # Each of these files is well-formed key by key: a schema that rejected one
    # would be stricter than the loader.
    path = DATA / "invalid" / f"{name}.toml"
    assert schema_accepts(tomllib.loads(path.read_text(encoding="utf-8"))), BEYOND_THE_SCHEMA[name]
    assert taplo_check(path), BEYOND_THE_SCHEMA[name]


# -- the README's editor set-up works as written --------------------------------------

README = (REPO / "README.md").read_text(encoding="utf-8")


def _readme_block(marker: str) -> str:
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", README, re.S) if marker in b]
    assert len(blocks) == 1, f"expected one toml block with {marker!r} in the README"
    return blocks[0]


def test_readme_schema_directive_makes_taplo_check_the_file(tmp_path: Path) -> None:
    block = _readme_block("#:schema")
    directive = block.splitlines()[0]
    assert directive.startswith("#:schema ")
    # The directive's path is relative to the preset file: put the schema there.
    (tmp_path / directive.removeprefix("#:schema ").strip()).write_text(schema_text())
    good = tmp_path / "good.toml"
    good.write_text(block)
    bad = tmp_path / "bad.toml"
    bad.write_text(f"{directive}\n[tiny]\nn_layer = 2\n")
    assert taplo_check(good, schema=None, cwd=tmp_path)
    assert not taplo_check(bad, schema=None, cwd=tmp_path)
    # Without the directive, taplo checks only the syntax: the line is what does it.
    bad.write_text("[tiny]\nn_layer = 2\n")
    assert taplo_check(bad, schema=None, cwd=tmp_path)


def test_readme_taplo_rule_applies_the_schema_to_a_folder(tmp_path: Path) -> None:
    block = _readme_block("[[rule]]")
    config = tomllib.loads(block)
    (rule,) = config["rule"]
    folder = tmp_path / rule["include"][0].split("/")[0]
    folder.mkdir()
    schema_path = tmp_path / rule["schema"]["path"]
    schema_path.parent.mkdir(parents=True, exist_ok=True)
    schema_path.write_text(schema_text())
    (tmp_path / ".taplo.toml").write_text(block)
    (folder / "mine.toml").write_text('[tiny]\nextends = "gpt2"\nn_layers = 2\n')
    assert taplo_check(schema=None, cwd=tmp_path)
    (folder / "mine.toml").write_text('[tiny]\nextends = "gpt2"\nn_layers = "two"\n')
    assert not taplo_check(schema=None, cwd=tmp_path)
    (tmp_path / ".taplo.toml").unlink()  # the rule is what does it
    assert taplo_check(schema=None, cwd=tmp_path)


# -- schema and loader agree ------------------------------------------------------------

NULLABLE = [name for name, spec in FIELDS.items() if spec.nullable]
ALL_KEYS = [*FIELDS, *RESERVED_KEYS]

text_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Just past 64 bits, either way: TOML-ish integers that tomllib still reads.
beyond_int64 = st.integers(min_value=2**63, max_value=2**66) | st.integers(
    min_value=-(2**66), max_value=-(2**63) - 1
)
scalars = st.one_of(
    st.booleans(),
    int64,
    st.floats(allow_nan=True, allow_infinity=True),
    text_values,
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
    st.times(),
)
any_value = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text_values, inner, max_size=3),
    max_leaves=6,
)


def typed_value(key: str) -> st.SearchStrategy[Any]:
    """A value of the key's own type (often right, sometimes out of its set)."""
    if key in ("extends", "description"):
        return text_values | st.lists(text_values, max_size=3)
    if key == "aliases":
        return st.lists(text_values, max_size=3)
    if key == "abstract":
        return st.booleans()
    if key in ("unset", "none"):
        names = st.sampled_from(NULLABLE) | st.sampled_from(list(FIELDS)) | text_values
        return st.lists(names, max_size=3)
    if key == "checkpoints":
        # Small numbers: a range is expanded, and a wide one would only take time.
        numbers = st.integers(-20, 20) | st.floats(-20, 20)
        return st.fixed_dictionaries(
            {"label_type": st.sampled_from(["step", "token", "epoch"])},
            optional={
                "values": st.lists(numbers, max_size=4),
                "ranges": st.lists(st.lists(numbers, min_size=2, max_size=4), max_size=2),
            },
        )
    kinds = FIELDS[key].kinds
    options: list[st.SearchStrategy[Any]] = []
    if "int" in kinds or "float" in kinds:
        options.append(beyond_int64)
    if "int" in kinds:
        options.append(int64)
    if "float" in kinds:
        finite = st.floats(allow_nan=False, allow_infinity=False)
        near_64_bits = st.floats(min_value=2.0**62, max_value=2.0**65)
        options.append(st.one_of(finite, finite, st.floats(), near_64_bits, int64))
    if "bool" in kinds:
        options.append(st.booleans())
    chosen = st.sampled_from(FIELD_CHOICES.get(key, ("x",)))
    words = st.one_of(chosen, chosen, text_values)
    if "dtype" in kinds:
        options.append(st.sampled_from(["float32", "bf16", "torch.float16", "bfloat61"]))
    elif "str" in kinds:
        options.append(words)
    if "list[str]" in kinds:
        options.append(st.lists(words, max_size=3))
    return st.one_of(options)


@st.composite
def preset_tables(draw: st.DrawFn) -> dict[str, Any]:
    # Mostly real keys with values of their own type, so that both answers come up often.
    known = st.sampled_from(ALL_KEYS)
    keys = draw(st.lists(st.one_of(known, known, known, text_values), unique=True, max_size=5))
    table = {}
    for key in keys:
        if key in ALL_KEYS:
            typed = typed_value(key)
            table[key] = draw(st.one_of(typed, typed, typed, any_value))
        else:
            table[key] = draw(any_value)
    return table


def _integral(value: Any) -> bool:
    return (
        isinstance(value, float | int)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and float(value).is_integer()
    )


def _name_gap_only(name: str) -> bool:
    """Whether ``name`` is fine but for characters the schema leaves to the loader.

    Those are the invisible characters outside :data:`INVISIBLE_BMP`: unassigned code
    points and the few beyond the Basic Multilingual Plane.
    """
    if name_problem(name) is None:
        return True
    if not name or name != name.strip():
        return False
    return not any(low <= ord(c) <= high for c in name for low, high in INVISIBLE_BMP)


def gap_only(name: str, table: dict[str, Any]) -> bool:
    """Whether every key the loader refuses is refused for a reason JSON Schema cannot see.

    Three such reasons: JSON has one kind of number, so 12.0 is an "integer" to a
    schema; checkpoint lists must increase, stay under their limit and expand to at
    least one value (step > 0 too: a draft-7 schema cannot constrain an array's third
    item alone); and the rare invisible characters of :func:`_name_gap_only`, in the
    preset's name or an alias.
    """
    aliases = table.get("aliases")
    names = [name, *aliases] if isinstance(aliases, list) else [name]
    if not all(_name_gap_only(n) for n in names if isinstance(n, str)):
        return False
    for key, value in table.items():
        try:
            if key in RESERVED_KEYS:
                if key == "checkpoints" and _checkpoints_shape_only(value):
                    continue
                if key == "aliases" and isinstance(value, list):
                    value = [v for v in value if not (isinstance(v, str) and name_problem(v))]
                check_reserved_value(key, value)
            else:
                spec = FIELDS.get(key)
                if (
                    spec is not None
                    and key not in COMPUTED_ONLY
                    and "int" in spec.kinds
                    and "float" not in spec.kinds
                    and isinstance(value, float)
                    and _integral(value)
                ):
                    continue
                check_field_value(key, value)
        except PresetError:
            return False
    both = {n for n in table.get("none", []) if isinstance(n, str)} & set(table)
    return not both


def _checkpoints_shape_only(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) - {"label_type", "values", "ranges"}:
        return False
    if value.get("label_type") not in ("step", "token"):
        return False
    values, ranges = value.get("values", []), value.get("ranges", [])
    ok_values = isinstance(values, list) and all(_label(v) for v in values)
    ok_ranges = isinstance(ranges, list) and all(
        isinstance(r, list) and len(r) == 3 and all(_label(v) for v in r) for r in ranges
    )
    return ok_values and ok_ranges and bool(values or ranges)


def _label(value: Any) -> bool:
    """A checkpoint label as the schema sees it: a whole number from 0 to 2**63 - 1."""
    return _integral(value) and 0 <= value < 2**63


plain_names = st.sampled_from(["p", "org/model-1.5b"])
names = st.one_of(plain_names, plain_names, text_values)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(name=names, table=preset_tables() | any_value.filter(lambda v: not isinstance(v, dict)))
@example(name="p", table={"n_layers": 2, "act_fn": "gelu", "none": ["d_mlp"]})
@example(name="p", table={"n_layers": 2.0})
@example(name="p", table={"none": ["act_fn"], "act_fn": "relu"})
@example(name=" p", table={})
@example(name="p", table={"checkpoints": {"label_type": "step", "values": [3, 1]}})
@example(name="p", table={"eps": math.nan})
# Integers past 64 bits in float fields, and floats as large (to JSON, the same numbers).
@example(name="p", table={"eps": 2**63})
@example(name="p", table={"rotary_base": 2**63})
@example(name="p", table={"yarn_factor": 2**64})
@example(name="p", table={"yarn_beta_fast": -(2**63) - 1})
@example(name="p", table={"rotary_base": 2.0**63})
@example(name="p", table={"rotary_base": 2**63 - 1})
@example(name="p", table={"initializer_range": -(2.0**63)})
@example(name="p", table={"NTK_by_parts_factor": 9.3e18})
@example(name="p", table={"num_experts": 65537})
@example(name="p", table={"n_params": 5})
@example(name="p", table={"aliases": [" p2"]})
@example(name="p", table={"aliases": ["p\t2"]})
@example(name="p\u200b", table={})
@example(name="p", table={"checkpoints": {"label_type": "step", "values": [-1, 2]}})
@example(name="p", table={"checkpoints": {"label_type": "step", "ranges": [[-2, 4, 2]]}})
def test_schema_and_loader_agree_on_single_preset_files(name: str, table: Any) -> None:
    text = tomli_w.dumps({name: table})
    data = tomllib.loads(text)
    by_schema = schema_accepts(data)
    by_loader = loader_accepts(text)
    if by_schema and not by_loader:
        # Allowed only where JSON Schema cannot see the fault.
        assert isinstance(table, dict) and gap_only(name, table), text
    else:
        assert by_schema == by_loader, text


# -- taplo and the loader agree, field by field -------------------------------------------


def _good_and_bad(name: str) -> tuple[Any, Any]:
    kinds = FIELDS[name].kinds
    if name in FIELD_CHOICES:
        choice = FIELD_CHOICES[name][0]
        return ([choice], [choice + "?"]) if "list[str]" in kinds else (choice, choice + "?")
    if "dtype" in kinds:
        return "bfloat16", "bfloat61"
    if "float" in kinds:
        return 0.5, "0.5"
    if "int" in kinds:
        return 3, True
    if "bool" in kinds:
        return True, 1
    if "list[str]" in kinds:
        return ["a"], "a"
    return "text", 3


def test_taplo_and_the_loader_agree_on_every_field(tmp_path: Path) -> None:
    disagreements = []
    for name in FIELDS:
        good, bad = _good_and_bad(name)
        for label, value in (("good", good), ("bad", bad)):
            path = tmp_path / f"{name}-{label}.toml"
            text = tomli_w.dumps({"p": {name: value}})
            path.write_text(text)
            if taplo_check(path) != loader_accepts(text):
                disagreements.append((name, value))
    assert disagreements == []


@pytest.mark.parametrize("field", ["initializer_range", "rotary_base"])
def test_taplo_and_the_loader_agree_on_float_fields_at_64_bits(tmp_path: Path, field: str) -> None:
    # Past 2**63 a number is whole: to JSON (taplo's too) the integer and the float are
    # one number, so both validators refuse either there. Just inside, both take them.
    values = [
        "9223372036854775807",  # 2**63 - 1
        "9223372036854775808",  # 2**63
        "9.223372036854775808e18",  # 2**63 as a float
        "9223372036854774784.0",  # the float below 2**63
        "-9223372036854775808",  # -2**63
        "-9.223372036854775808e18",
        "-9223372036854777856.0",  # the float below -2**63
        "1e300",
    ]
    for i, value in enumerate(values):
        text = f"[p]\n{field} = {value}\n"
        path = tmp_path / f"{i}.toml"
        path.write_text(text)
        by_loader = loader_accepts(text)
        assert taplo_check(path) == by_loader, value
        assert schema_accepts(tomllib.loads(text)) == by_loader, value
    assert loader_accepts(f"[p]\n{field} = 9223372036854774784.0\n")


# -- names and aliases: the characters the loader refuses ------------------------------


def test_invisible_bmp_is_what_python_does_not_print() -> None:
    # Every assigned character of the Basic Multilingual Plane that str.isprintable (the
    # loader's check) refuses is in the schema's table, and nothing else is.
    table = {c for low, high in INVISIBLE_BMP for c in range(low, high + 1)}
    refused = {
        c
        for c in range(0x10000)
        if not chr(c).isprintable() and unicodedata.category(chr(c)) not in ("Cn", "Cs")
    }
    assert table - refused == set()
    # A newer Unicode may refuse more: add those ranges to INVISIBLE_BMP.
    assert sorted(refused - table) == []


BAD_NAMES = ["", " p", "p ", "p\t2", "p\n", "p\x00", "p\x7f", "p\x85", "p\u00ad", "p\u200b2"]
BAD_NAMES += ["p\u2028", "p\u3000", "\ufeffp", "p\ue000"]


@pytest.mark.parametrize("bad", BAD_NAMES, ids=ascii)
@pytest.mark.parametrize("where", ["name", "alias"])
def test_both_validators_refuse_a_name_the_loader_refuses(
    bad: str, where: str, tmp_path: Path
) -> None:
    data = {bad: {}} if where == "name" else {"p": {"aliases": ["p2", bad]}}
    text = tomli_w.dumps(data)
    assert not loader_accepts(text)
    assert not schema_accepts(tomllib.loads(text))
    path = tmp_path / "names.toml"
    path.write_text(text, encoding="utf-8")
    assert not taplo_check(path)


@pytest.mark.parametrize(
    "checkpoints",
    [
        {"label_type": "step", "values": [-1, 2]},
        {"label_type": "token", "ranges": [[-4, 4, 2]]},
        {"label_type": "token", "ranges": [[0, 4, -2]]},
    ],
    ids=["negative value", "negative start", "negative step"],
)
def test_both_validators_refuse_a_negative_checkpoint(
    checkpoints: dict[str, Any], tmp_path: Path
) -> None:
    text = tomli_w.dumps({"p": {"checkpoints": checkpoints}})
    assert not loader_accepts(text)
    assert not schema_accepts(tomllib.loads(text))
    path = tmp_path / "checkpoints.toml"
    path.write_text(text)
    assert not taplo_check(path)
