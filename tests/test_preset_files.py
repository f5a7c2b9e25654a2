"""Data-driven tests over folders of preset files.

``tests/data/valid/NAME.toml`` sits beside ``NAME.json``: for each preset of
the file, every field of the built config that differs from the class default
(``dtype`` by name, ``device`` left out since it depends on the machine). JSON
keeps ``10000`` and ``10000.0`` apart, and so does the comparison; a field not
listed must hold its default, of the default's type. ``tests/data/invalid/NAME.toml`` (or a folder
``NAME/``) sits beside ``NAME.txt``: the exact message of the error that
loading it raises, with the case's path written as ``<case>``. An invalid
file's first comment lines may say what to load: ``# get: NAME`` (default:
``gpt2``) and ``# overrides: {JSON}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from transformer_presets import (
    HookedTransformerConfig,
    PresetError,
    PresetRegistry,
    PresetSyntaxError,
)
from transformer_presets.config.hooked import FIELD_DEFAULTS
from transformer_presets.files.reader import parse_preset_text

from .conftest import DATA

VALID = sorted((DATA / "valid").glob("*.toml"))
INVALID = sorted(p for p in (DATA / "invalid").iterdir() if p.suffix == ".toml" or p.is_dir())


def config_fields(cfg: HookedTransformerConfig) -> dict[str, Any]:
    """A config's fields that differ from the class defaults, as JSON data."""
    out = {}
    for key, value in cfg.to_dict().items():
        if key == "device":
            continue
        if key == "dtype":
            value = str(value).removeprefix("torch.")
        default = FIELD_DEFAULTS.get(key, _REQUIRED)
        if type(value) is not type(default) or value != default:
            out[key] = value
    return out


_REQUIRED = object()


def typed(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with every number tagged by its type, so that 1 != 1.0 != True."""
    return {k: (type(v).__name__, v) for k, v in fields.items()}


def directives(case: Path) -> tuple[str, dict[str, Any]]:
    name, overrides = "gpt2", {}
    if case.is_file():
        for line in case.read_bytes().decode("utf-8", "replace").splitlines():
            if line.startswith("# get:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("# overrides:"):
                overrides = json.loads(line.split(":", 1)[1])
    return name, overrides


def load_error(case: Path) -> PresetError:
    name, overrides = directives(case)
    registry = PresetRegistry(paths=[case], use_cache=False)
    with pytest.raises(PresetError) as info:
        registry.get(name, **overrides)
    return info.value


@pytest.mark.parametrize("case", VALID, ids=lambda p: p.stem)
def test_valid_file_resolves_to_expected_values(case: Path) -> None:
    expected = json.loads(case.with_suffix(".json").read_text())
    registry = PresetRegistry(paths=[case], use_cache=False)
    assert expected, "a valid case must name at least one preset"
    for name, fields in expected.items():
        cfg = registry.get(name)
        assert typed(config_fields(cfg)) == typed(fields), name
        assert HookedTransformerConfig(**registry.resolve(name)) == cfg


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.stem)
def test_invalid_file_gives_expected_message(case: Path) -> None:
    expected = case.with_suffix(".txt").read_text().strip()
    error = load_error(case)
    assert str(error).replace(str(case), "<case>") == expected


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.stem)
def test_every_error_names_file_and_preset_or_key(case: Path) -> None:
    error = load_error(case)
    # Call-time mistakes are not in a file; everything else points into one.
    assert error.file is not None and error.file.startswith(str(case))
    if isinstance(error, PresetSyntaxError):
        # A file that cannot be read as presets: the place is what matters.
        assert error.line is not None
    else:
        assert (error.preset is not None and error.key is not None) or "twice" in error.reason


def test_syntax_error_has_line_and_column() -> None:
    error = load_error(DATA / "invalid" / "syntax_error.toml")
    assert (error.line, error.col) == (3, 15)


def test_a_table_keeps_every_key_error_and_the_first_as_its_error() -> None:
    text = '["bad"]\nn_layers = "two"\nd_modle = 64\nn_ctx = 32\nact_fn = 3\n'
    [bad] = parse_preset_text(text, "f.toml").presets
    assert [(e.key, e.line) for e in bad.key_errors] == [
        ("n_layers", 2),
        ("d_modle", 3),
        ("act_fn", 5),
    ]
    assert bad.error is bad.key_errors[0]
    assert bad.values == {"n_ctx": 32}
