"""The README's examples work as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from transformer_presets import PresetRegistry

from .conftest import REPO

HF_CONFIGS = REPO / "tests" / "data" / "hf_configs"

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


def test_the_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The example assumes what a user has: Llama 3.2 1B downloaded into the Hugging
    # Face hub cache, and a preset file of their own (the README's) in the folder.
    snapshot = tmp_path / "hub" / "models--meta-llama--Llama-3.2-1B" / "snapshots" / "0123abc"
    snapshot.mkdir(parents=True)
    shutil.copy(HF_CONFIGS / "meta-llama__Llama-3.2-1B" / "config.json", snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0123abc")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    (preset_file,) = [b for b in re.findall(r"```toml\n(.*?)```", README, re.S) if "tiny-moe" in b]
    (tmp_path / "mine.toml").write_text(preset_file)
    monkeypatch.chdir(tmp_path)

    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        # Run each line that is an expression and keep its value: none may fail.
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)
        values = [
            eval(compile(line.split("#")[0], "README.md", "eval"), namespace)
            for line in block.splitlines()
            if line.strip()
            and not line.startswith(("from ", "import ", "cfg =", " "))
            and "=" not in line.split("#")[0].replace("==", "")
        ]
        assert values and all(v is not None for v in values)


def test_ci_runs_the_readmes_test_command() -> None:
    command = re.search(
        r"\*\*Install and run the whole test suite\*\*.*?```bash\n(.*?)\n```", README, re.S
    )
    assert command is not None and ".tl4" in command.group(1)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci == command.group(1)
