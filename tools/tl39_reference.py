"""Rebuild ``tests/data/transformerlens_models.jsonl``: the zoo as TransformerLens 3.9 resolves it.

The table holds, for every model TransformerLens lists, the config it resolves. It was
first taken from TransformerLens 3.5.0; ``tests/data/tl39_differences.json`` records every
value by which 3.9.0 differs, with the code change behind it and where the model's facts
were read. This script:

1. gives every row the fields 3.9 added, at their defaults;
2. applies each recorded difference (the value found must be the recorded old one, or
   already the new one, so running it twice changes nothing);
3. adds the recorded new models, converting their fixture in ``tests/data/hf_configs`` with
   TransformerLens 3.9 itself;
4. converts every fixture with TransformerLens 3.9 and checks its row field by field, so
   that no difference can go unrecorded for a model with a fixture.

Steps 3 and 4 need ``transformer-lens`` 3.x and run offline: TransformerLens's loader is
given :class:`FixtureAutoConfig` instead of ``AutoConfig``. Run from a checkout::

    python -m tools.tl39_reference          # rewrite the table
    python -m tools.tl39_reference --check  # exit 1 if the table is not what it builds
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "DIFFERENCES",
    "FIXTURES",
    "QWEN1_REMOTE_DEFAULTS",
    "TABLE",
    "FixtureAutoConfig",
    "build",
    "config_object",
    "main",
    "transformer_lens_row",
]

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
TABLE = DATA / "transformerlens_models.jsonl"
DIFFERENCES = DATA / "tl39_differences.json"
FIXTURES = DATA / "hf_configs"

# The published defaults of the remote QWenConfig (configuration_qwen.py in the Qwen-1
# repositories on the Hub), for the keys TransformerLens reads. It has no seq_length.
QWEN1_REMOTE_DEFAULTS: dict[str, Any] = {
    "vocab_size": 151936,
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "layer_norm_epsilon": 1e-6,
    "initializer_range": 0.02,
    "scale_attn_weights": True,
    "kv_channels": 128,
    "use_dynamic_ntk": True,
    "use_logn_attn": True,
    "intermediate_size": 22016,
}


def fixture_folder(name: str) -> Path:
    """The fixture folder of an official model name (``/`` written ``__``)."""
    return FIXTURES / name.replace("/", "__")


def config_object(folder: Path, **kwargs: Any) -> Any:
    """What ``transformers.AutoConfig.from_pretrained`` gives for ``folder/config.json``.

    The two remote-code architectures are built without their remote code: Qwen-1 as a
    plain config over :data:`QWEN1_REMOTE_DEFAULTS`, santacoder as the ``GPT2Config`` its
    remote class extends.
    """
    import transformers

    data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    arch = data["architectures"][0]
    if arch == "QWenLMHeadModel":
        return transformers.PretrainedConfig(**{**QWEN1_REMOTE_DEFAULTS, **data})
    if arch == "GPT2LMHeadCustomModel":
        return transformers.GPT2Config.from_dict(data)
    kwargs.pop("token", None)
    kwargs.pop("trust_remote_code", None)
    return transformers.AutoConfig.from_pretrained(str(folder), **kwargs)


class FixtureAutoConfig:
    """Stands in for ``AutoConfig`` in TransformerLens's loader: fixtures, not the Hub.

    ``folders`` maps official names to fixture folders; any other name is taken as a
    folder. ``restore_phi`` gives a Phi config back the ``partial_rotary_factor``
    attribute that transformers 4 had and TransformerLens 3.9 still reads: under
    transformers 5 its conversion of every Phi 1, 1.5 and 2 model raises AttributeError.
    """

    def __init__(self, folders: dict[str, Path] | None = None, *, restore_phi: bool = False):
        self.folders = folders or {}
        self.restore_phi = restore_phi

    def from_pretrained(self, name: str, **kwargs: Any) -> Any:
        import transformers

        config = config_object(self.folders.get(name, Path(name)), **kwargs)
        if self.restore_phi and isinstance(config, transformers.PhiConfig):
            rope: Any = config.rope_parameters
            config.partial_rotary_factor = rope["partial_rotary_factor"]
        return config


def _offline() -> None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"


def _plain(value: Any) -> Any:
    """A config value as the table stores it: floats to 10 decimals, dtypes by name."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):  # numpy floats are floats too
        return round(float(value), 10)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value).removeprefix("torch.")


def transformer_lens_row(name: str) -> dict[str, Any]:
    """The table row for ``name``: TransformerLens 3.9's conversion of its fixture."""
    _offline()
    from importlib import import_module

    from transformer_lens.supported_models import MODEL_ALIASES

    # Untyped on purpose: its AutoConfig is swapped for the fixtures' stand-in.
    lfp: Any = import_module("transformer_lens.loading_from_pretrained")

    original = lfp.AutoConfig
    lfp.AutoConfig = FixtureAutoConfig({name: fixture_folder(name)}, restore_phi=True)
    try:
        cfg = lfp.get_pretrained_model_config(name)
    finally:
        lfp.AutoConfig = original
    config = {k: _plain(v) for k, v in cfg.to_dict().items() if k != "device"}
    return {
        "name": name,
        "aliases": list(MODEL_ALIASES.get(name, [])),
        "n_params": config["n_params"],
        "config": config,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and type(a) is type(b)
            and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-11)
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _field_order() -> list[str]:
    sys.path.insert(0, str(REPO / "src"))
    from transformer_presets.fields.keys import FIELDS

    return [f for f in FIELDS if f != "device"]


def build(
    rows: list[dict[str, Any]], *, with_transformer_lens: bool = True
) -> list[dict[str, Any]]:
    """The 3.9 table from the current ``rows`` and the record (see the module docstring)."""
    record = json.loads(DIFFERENCES.read_text(encoding="utf-8"))
    order = _field_order()
    by_name = {row["name"]: row for row in rows}
    problems = []
    for row in rows:
        for field, default in record["new_fields"].items():
            row["config"].setdefault(field, default)
    for diff in record["differences"]:
        for model in diff["models"]:
            config = by_name[model]["config"]
            have = config.get(diff["field"])
            if _same(have, diff["new"]):
                continue
            if not _same(have, diff["old"]):
                problems.append(
                    f"{model}: {diff['field']} is {have!r}, recorded old {diff['old']!r}"
                )
                continue
            config[diff["field"]] = diff["new"]
    if with_transformer_lens:
        for added in record["added"]:
            by_name[added["model"]] = transformer_lens_row(added["model"])
        for folder in sorted(FIXTURES.iterdir()):
            name = folder.name.replace("__", "/")
            want = transformer_lens_row(name)
            have = by_name[name]
            wrong = {
                k: (have["config"].get(k, "<missing>"), v)
                for k, v in want["config"].items()
                if not _same(have["config"].get(k), v)
            }
            if wrong or have["aliases"] != want["aliases"]:
                problems.append(f"{name}: not what 3.9 builds (table, 3.9): {wrong}")
    if problems:
        raise SystemExit("tl39_reference: " + "\n  ".join(["errors:", *problems]))
    out = []
    for name in sorted(by_name, key=str.casefold):
        row = by_name[name]
        config = {k: row["config"][k] for k in order}
        out.append(
            {"name": name, "aliases": row["aliases"], "n_params": row["n_params"], "config": config}
        )
    return out


def _dump(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the table, or with ``--check`` report whether it is up to date."""
    args = sys.argv[1:] if argv is None else argv
    text = TABLE.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    new = _dump(build(rows))
    if "--check" in args:
        if new != text:
            print(f"{TABLE} is not what tools/tl39_reference.py builds", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(new, encoding="utf-8")
    print(f"wrote {TABLE} ({new.count(chr(10))} models)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
