"""The examples in the library's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import transformer_presets

# Every module of every subpackage (walk_packages goes down the folders).
MODULES = sorted(
    ["transformer_presets"]
    + [
        info.name
        for info in pkgutil.walk_packages(transformer_presets.__path__, "transformer_presets.")
        if not info.name.endswith("__main__")
    ]
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    # The autouse fixture in conftest points the user folders at temporary ones,
    # so examples that use the registry see the bundled presets alone.
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
