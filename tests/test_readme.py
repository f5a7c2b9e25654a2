"""The README's examples work as written."""

from __future__ import annotations

import re
from pathlib import Path

from transformer_presets import PresetRegistry

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_preset_file_example_loads(tmp_path: Path) -> None:
    # The preset-format example (the editor section has toml blocks of its own).
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", README, re.S) if "tiny-moe" in b]
    path = tmp_path / "mine.toml"
    path.write_text(block)
    registry = PresetRegistry([path], use_cache=False)
    assert registry.get("tiny-gpt2").n_layers == 2
    moe = registry.get("my-org/tiny-moe")
    assert (moe.n_layers, moe.d_model, moe.num_experts, moe.experts_per_token) == (2, 768, 8, 2)


def test_the_python_example_runs() -> None:
    (block,) = re.findall(r"```python\n(.*?)```", README, re.S)
    exec(compile(block, "README.md", "exec"), {})
