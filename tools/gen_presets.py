"""Generate many user preset files, for benchmarks: ``generate(folder, n_presets, n_files, ...)``.

Presets are named ``gen-00000``, ``gen-00001``, ... and spread over
``n_files`` files in file order. Each one extends either the preset before
it (which may sit in the previous file) or, to start a new chain, a bundled
GPT-2 preset, so that inheritance chains of generated presets are up to
``max_depth`` long on top of the bundled ones. Every tenth preset has an
alias. The output depends only on the arguments.

Run ``python tools/gen_presets.py FOLDER [N_PRESETS] [N_FILES]`` to write a set by hand.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

__all__ = ["BUNDLED_BASES", "generate"]

#: Bundled presets the chains start from (GPT-2 sizes share d_head = 64).
BUNDLED_BASES = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")


def _toml_string(text: str) -> str:
    # Names here are plain ASCII; json-style escaping is valid TOML for them.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate(
    folder: str | Path,
    n_presets: int = 10000,
    n_files: int = 1000,
    max_depth: int = 8,
    seed: int = 0,
) -> list[str]:
    """Write ``n_presets`` presets in ``n_files`` files under ``folder``; return their names.

    >>> import tempfile
    >>> generate(tempfile.mkdtemp(), n_presets=3, n_files=2)
    ['gen-00000', 'gen-00001', 'gen-00002']
    """
    if n_presets < 1 or not 1 <= n_files <= n_presets or max_depth < 1:
        raise ValueError("need n_presets >= n_files >= 1 and max_depth >= 1")
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    depth: list[int] = []
    chunks: list[list[str]] = [[] for _ in range(n_files)]
    for i in range(n_presets):
        name = f"gen-{i:05d}"
        if i > 0 and depth[i - 1] < max_depth and rng.random() < 0.9:
            parent, level = names[i - 1], depth[i - 1] + 1
        else:
            parent, level = rng.choice(BUNDLED_BASES), 1
        lines = [f"[{_toml_string(name)}]", f"extends = {_toml_string(parent)}"]
        if i % 10 == 0:
            lines.append(f'aliases = ["gen-alias-{i}"]')
        lines.append(f'description = "generated preset {i}, depth {level}"')
        # Change a few sizes at every level so that merging has work to do.
        lines.append(f"n_layers = {rng.randint(1, 48)}")
        lines.append(f"d_model = {64 * rng.randint(1, 32)}")
        if rng.random() < 0.5:
            lines.append(f"n_ctx = {rng.choice([256, 512, 1024, 2048])}")
        if rng.random() < 0.3:
            lines.append(f"d_mlp = {256 * rng.randint(1, 32)}")
        names.append(name)
        depth.append(level)
        chunks[i * n_files // n_presets].append("\n".join(lines) + "\n")
    width = len(str(n_files - 1))
    for index, chunk in enumerate(chunks):
        path = folder / f"generated-{index:0{width}d}.toml"
        path.write_text("\n".join(chunk), encoding="utf-8")
    return names


if __name__ == "__main__":
    if not 2 <= len(sys.argv) <= 4:
        sys.exit("usage: python tools/gen_presets.py FOLDER [N_PRESETS] [N_FILES]")
    args = [int(a) for a in sys.argv[2:]]
    made = generate(sys.argv[1], *args)
    print(f"wrote {len(made)} presets to {sys.argv[1]}")
