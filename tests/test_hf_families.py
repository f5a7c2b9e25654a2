"""The Hugging Face bridges' layout: one module per architecture family, both directions in it."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

from transformer_presets.hf import architectures
from transformer_presets.hf.architectures import ARCHITECTURES
from transformer_presets.hf.exporting import EXPORTABLE_ARCHITECTURES
from transformer_presets.hf.importing import SUPPORTED_ARCHITECTURES

from .conftest import REPO

HF = REPO / "src" / "transformer_presets" / "hf"
FAMILIES = sorted(m.name for m in pkgutil.iter_modules(architectures.__path__))


def test_every_family_module_is_registered() -> None:
    registered = {arch.read.__module__.rsplit(".", 1)[-1] for arch in ARCHITECTURES.values()}
    assert registered == set(FAMILIES)


def test_both_bridges_know_the_registered_architectures() -> None:
    assert SUPPORTED_ARCHITECTURES == EXPORTABLE_ARCHITECTURES == tuple(sorted(ARCHITECTURES))


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_an_architecture_reads_and_writes_in_one_module(name: str) -> None:
    arch = ARCHITECTURES[name]
    assert arch.name == name and arch.model_type
    assert arch.read.__module__ == arch.write.__module__


@pytest.mark.parametrize("family", FAMILIES)
def test_a_family_module_says_what_its_models_lack(family: str) -> None:
    module = importlib.import_module(f"{architectures.__name__}.{family}")
    assert module.__doc__ and "lack" in module.__doc__


def test_no_module_of_the_bridges_is_over_600_lines() -> None:
    sizes = {str(p.relative_to(HF)): len(p.read_text().splitlines()) for p in HF.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 600} == {}


def test_the_readme_example_of_adding_an_architecture_is_the_module_as_it_is() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Adding an architecture", 1)[1].split("\n## ", 1)[0]
    # A python3 fence: the README's ```python blocks are examples test_readme runs, and
    # its one ```py block is the planner's example.
    module, registration = re.findall(r"```python3\n(.*?)```", section, re.S)
    assert module == (HF / "architectures" / "opt.py").read_text(encoding="utf-8")
    registry = (HF / "architectures" / "__init__.py").read_text(encoding="utf-8")
    assert registration.splitlines()[0] in registry.splitlines()
    assert "    OPT,\n" in registry
