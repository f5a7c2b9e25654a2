"""``boot_bridge`` and ``export-hf --tokenizer`` against TransformerLens 4.3 itself.

TransformerLens 4.3 runs in subprocesses (``tests/_tl4.py``) that refuse every socket
and child process, so anything downloaded (or pip-installed) fails the test:

- for one preset of each architecture ``boot_bridge`` builds (shrunk widths), it builds
  the model TransformerLens 4.3's own ``boot_transformers`` builds from the exported
  folder: same model class, parameter count and hook names; on the meta device where 4.3
  can, and a ``BridgeError`` naming the device where it cannot (GPT-2, Phi-3), then on
  the CPU; in eval mode (4.3's own boot without weights leaves training mode) until
  ``bridge.train()``; in bfloat16 every parameter is bfloat16;
- a folder written by ``transformer-presets export-hf NAME DIR --tokenizer`` boots with
  ``boot_transformers(DIR, load_weights=False)`` and tokenizes text;
- the Hugging Face cache: its tokenizer and weights are used, and what it lacks is a
  ``PresetError``;
- the README's TransformerLens 4 examples run.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from transformer_presets import PresetError, get_preset, list_presets
from transformer_presets.fields.params import total_params
from transformer_presets.hf.exporting import to_hf_config
from transformer_presets.hf.model_folder import tokenizer_files
from transformer_presets.tl4._inputs import transformers_config

from ._tl4 import requires_tl4, run_tl4
from .conftest import REPO

pytestmark = requires_tl4

README = (REPO / "README.md").read_text(encoding="utf-8")
# TransformerLens 4.3 splits these architectures' fused Q/K/V projections at boot, which it
# refuses on the meta device.
CPU_ONLY = {"GPT2LMHeadModel", "Phi3ForCausalLM"}


def shrink(name: str, **variant: Any) -> dict[str, Any]:
    """Overrides that keep a preset's structure with tiny widths and few layers.

    The vocabulary stays (the widths make it small), so that the token ids the
    architecture's configuration class sets by default stay inside it. ``variant``: the
    preset with these overrides (kept out of the result).
    """
    values = get_preset(name, **variant).to_dict()
    head = 8
    scaled = lambda n: max(head, n * head // values["d_head"])  # noqa: E731
    out: dict[str, Any] = {"d_model": scaled(values["d_model"]), "d_head": head}
    if values["d_mlp"] and values["d_mlp"] > 0:
        out["d_mlp"] = scaled(values["d_mlp"])
    if values["rotary_dim"]:
        out["rotary_dim"] = max(2, values["rotary_dim"] * head // values["d_head"] // 2 * 2)
    types = values["attn_types"] or []
    out["n_layers"] = min(values["n_layers"], max([2] + [types.index(t) + 1 for t in set(types)]))
    if types:
        out["attn_types"] = types[: out["n_layers"]]
    if values["window_size"]:
        out["window_size"] = min(values["window_size"], 16)
    if values["use_attn_scale"] and not math.isclose(values["attn_scale"], values["d_head"] ** 0.5):
        out["attn_scale"] = values["attn_scale"] * math.sqrt(head / values["d_head"])
    out["n_ctx"] = min(values["n_ctx"], 64)
    try:
        to_hf_config(get_preset(name, **variant, **out))
    except PresetError as exc:
        if exc.key != "n_ctx":
            raise
        del out["n_ctx"]  # an architecture (or a name) that fixes the context
    return out


def _architectures() -> dict[str, str]:
    """The smallest preset of each architecture boot_bridge builds."""
    best: dict[str, tuple[int, str]] = {}
    for info in list_presets():
        values = get_preset(info.name).to_dict()
        try:
            config = transformers_config(values, info.name)
        except PresetError:
            continue
        arch = config["architectures"][0]
        size = total_params(values)
        if arch not in best or size < best[arch][0]:
            best[arch] = (size, info.name)
    return {arch: name for arch, (_, name) in sorted(best.items())}


_COMPARE = """
import time
import torch
from transformer_presets import BridgeError, boot_bridge
from transformer_lens.model_bridge import TransformerBridge

def describe(bridge):
    return {
        "class": type(bridge.original_model).__name__,
        "params": sum(p.numel() for p in bridge.parameters()),
        "hooks": sorted(bridge.hook_dict),
        "dtypes": sorted({str(p.dtype) for p in bridge.parameters()}),
        "devices": sorted({p.device.type for p in bridge.parameters()}),
        "cfg_dtype": str(bridge.cfg.dtype),
        # Floating-point buffers in another dtype than the parameters, by their last name.
        "other_buffers": sorted({
            n.rsplit(".", 1)[-1]
            for n, b in bridge.original_model.named_buffers()
            if b.is_floating_point() and b.dtype != next(bridge.parameters()).dtype
        }),
        "model_name": bridge.cfg.model_name,
        # Training or eval mode, of every module of the bridge and of transformers' model.
        "training": modes(bridge),
    }

def modes(bridge):
    return sorted({m.training for m in (*bridge.modules(), *bridge.original_model.modules())})

job = json.load(open(sys.argv[0].replace("tl4-script.py", "job.json")))
out = {"archs": {}}
for arch, (name, overrides, folder) in job["archs"].items():
    record = {}
    try:
        ours = boot_bridge(name, device="meta", **overrides)
        record["device"] = "meta"
    except BridgeError as exc:
        record["meta_refused"] = {"key": exc.key, "message": str(exc)}
        ours = boot_bridge(name, device="cpu", **overrides)
        record["device"] = "cpu"
    record["ours"] = describe(ours)
    # TransformerLens's own path, on the same device.
    with torch.device(record["device"]):
        theirs = TransformerBridge.boot_transformers(
            folder, load_weights=False, device=record["device"]
        )
    record["theirs"] = describe(theirs)
    bf16 = boot_bridge(name, device=record["device"], dtype="bfloat16", **overrides)
    record["bf16"] = describe(bf16)
    if record["device"] == "cpu":
        record["tokens"] = bf16.to_str_tokens("héllo")
    record["trained"] = modes(bf16.train())
    out["archs"][arch] = record

# A folder written by the command line boots with TransformerLens's own call.
bridge = TransformerBridge.boot_transformers(job["cli_folder"], load_weights=False, device="cpu")
tokens = bridge.to_tokens("Hello, wörld")
out["cli"] = {
    "class": type(bridge.original_model).__name__,
    "decoded": bridge.tokenizer.decode(tokens[0]),
    "logits": list(bridge(tokens).shape),
}

# What bridge.cfg does not say (the README warns): it is TransformerLens's reading.
llama = boot_bridge("meta-llama/Llama-3.2-1B", device="meta")
qwen3 = boot_bridge("Qwen/Qwen3-0.6B", device="meta")
out["cfg"] = {
    "llama_rotary_base": llama.cfg.rotary_base,
    "llama_rope_theta": llama.original_model.config.rope_parameters["rope_theta"],
    "qwen3_use_qk_norm": qwen3.cfg.use_qk_norm,
    "qwen3_has_q_norm": hasattr(qwen3.original_model.model.layers[0].self_attn, "q_norm"),
}

# Full size on the meta device, in seconds.
start = time.perf_counter()
mixtral = boot_bridge("mistralai/Mixtral-8x7B-v0.1", device="meta")
out["mixtral"] = {
    "seconds": time.perf_counter() - start,
    "params": sum(p.numel() for p in mixtral.parameters()),
    "devices": sorted({p.device.type for p in mixtral.parameters()}),
}
emit(out)
"""


def test_boot_bridge_builds_what_transformerlens_4_builds_offline(tmp_path: Path) -> None:
    archs = _architectures()
    job: dict[str, Any] = {"archs": {}}
    for arch, name in archs.items():
        overrides = shrink(name)
        folder = tmp_path / arch
        folder.mkdir()
        small = get_preset(name, **overrides)
        config = to_hf_config(small)
        (folder / "config.json").write_text(json.dumps(config))
        text = config.get("text_config", config)
        _, files = tokenizer_files(None, d_vocab=text["vocab_size"], n_ctx=small.n_ctx)
        for file_name, data in files.items():
            (folder / file_name).write_bytes(data)
        job["archs"][arch] = (name, overrides, str(folder))
    cli_folder = tmp_path / "cli"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "transformer_presets",
            "export-hf",
            "pythia-14m",
            str(cli_folder),
            "--tokenizer",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    job["cli_folder"] = str(cli_folder)
    (tmp_path / "job.json").write_text(json.dumps(job))
    results = run_tl4(_COMPARE, tmp_path, no_network=True, timeout=1200)

    # Every architecture the export writes but those needing remote code, or Gemma 1's
    # exact GELU (which its configuration cannot say).
    assert len(archs) >= 22
    assert {"GPT2LMHeadCustomModel", "QWenLMHeadModel", "GemmaForCausalLM"}.isdisjoint(archs)
    cpu_only = set()
    for arch, record in results["archs"].items():
        ours, theirs, bf16 = record["ours"], record["theirs"], record["bf16"]
        assert ours["class"] == theirs["class"] == arch, arch
        assert ours["params"] == theirs["params"] and ours["params"] > 0, arch
        assert ours["hooks"] == theirs["hooks"] and len(ours["hooks"]) > 20, arch
        assert ours["devices"] == [record["device"]], arch
        assert ours["dtypes"] == ["torch.float32"] == [ours["cfg_dtype"]], arch
        assert bf16["dtypes"] == ["torch.bfloat16"] == [bf16["cfg_dtype"]], arch
        # Only transformers' rotary tables stay float32 (as the README says).
        assert all(
            b.endswith("inv_freq") or b == "embed_positions" for b in bf16["other_buffers"]
        ), (arch, bf16["other_buffers"])
        assert ours["model_name"] == get_preset(archs[arch]).model_name
        # Eval mode, where TransformerLens's own boot without weights leaves training mode;
        # bridge.train() reaches every module.
        assert ours["training"] == bf16["training"] == [False], arch
        assert theirs["training"] == [True] and record["trained"] == [True], arch
        if record["device"] == "cpu":
            cpu_only.add(arch)
            refused = record["meta_refused"]
            assert refused["key"] == "device"
            assert "cannot boot" in refused["message"] and "device='cpu'" in refused["message"]
            assert "".join(record["tokens"]).endswith("llo")
    assert cpu_only == CPU_ONLY

    assert results["cli"]["class"] == "GPTNeoXForCausalLM"
    assert results["cli"]["decoded"].endswith("Hello, wörld")
    assert results["cli"]["logits"][-1] == get_preset("pythia-14m").d_vocab
    assert results["cfg"] == {
        "llama_rotary_base": 10000,
        "llama_rope_theta": get_preset("meta-llama/Llama-3.2-1B").rotary_base,
        "qwen3_use_qk_norm": False,
        "qwen3_has_q_norm": True,
    }
    mixtral = results["mixtral"]
    assert mixtral["devices"] == ["meta"] and mixtral["params"] > 46e9
    assert mixtral["seconds"] < 60  # seconds, not the minutes (and 187 GB) a CPU build takes


_CACHE = """
import torch
from transformers import AutoConfig, AutoModelForCausalLM
from transformer_presets import (
    BridgeError, PresetError, PresetNotFoundError, boot_bridge, get_preset, to_bridge_config,
    to_hf_config,
)
from transformer_presets.hf.model_folder import stand_in_tokenizer

job = json.load(open(sys.argv[0].replace("tl4-script.py", "job.json")))
small = job["small"]

# A checkpoint in the cache, stored as GPT-2's is (one embedding matrix for both ends),
# and a tokenizer of its own (the stand-in with another special token).
snapshot = os.path.join(os.environ["HF_HUB_CACHE"], "models--gpt2", "snapshots", "c0ffee")
os.makedirs(snapshot)
os.makedirs(os.path.join(os.environ["HF_HUB_CACHE"], "models--gpt2", "refs"))
with open(os.path.join(os.environ["HF_HUB_CACHE"], "models--gpt2", "refs", "main"), "w") as f:
    f.write("c0ffee")
config = to_hf_config(get_preset("gpt2", **small))
config["tie_word_embeddings"] = True
with open(os.path.join(snapshot, "config.json"), "w") as f:
    json.dump(config, f)
torch.manual_seed(0)
saved = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(snapshot))
saved.save_pretrained(snapshot)
for name, text in stand_in_tokenizer(50257, 1024).items():
    with open(os.path.join(snapshot, name), "w") as f:
        f.write(text.replace("<|endoftext|>", "<|cached|>"))

out = {}
bridge = boot_bridge("gpt2", load_weights=True, device="cpu", **small)
loaded = {
    k.replace("._original_component", ""): v for k, v in bridge.original_model.state_dict().items()
}
expected = saved.state_dict()
out["weights"] = sorted(expected)
out["differ"] = sorted(k for k, v in expected.items() if k not in loaded or not torch.equal(loaded[k], v))
params = {n.replace("._original_component", ""): p for n, p in bridge.original_model.named_parameters(remove_duplicate=False)}
out["tied"] = params["lm_head.weight"] is params["transformer.wte.weight"]
out["special"] = bridge.tokenizer.eos_token
# from_pretrained and from_config, one mode: eval.
out["modes"] = [
    sorted({m.training for m in (*b.modules(), *b.original_model.modules())})
    for b in (bridge, boot_bridge("gpt2", device="cpu", **small))
]

# The offline switches are on only while boot_bridge builds, then restored.
import huggingface_hub.constants as hub
from transformer_lens.model_bridge.sources.transformers import helpers

hub.HF_HUB_OFFLINE = False
os.environ.pop("HF_HUB_OFFLINE")
installer = helpers._ensure_torchvision
out["fresh_special"] = boot_bridge("gpt2", device="cpu", **small).tokenizer.eos_token
out["restored"] = (
    hub.HF_HUB_OFFLINE is False
    and "HF_HUB_OFFLINE" not in os.environ
    and helpers._ensure_torchvision is installer
)

# Real weights with no tokenizer in the cache: the stand-in, and a warning that text in
# means nonsense out.
import shutil, warnings
medium = os.path.join(os.environ["HF_HUB_CACHE"], "models--gpt2-medium", "snapshots", "c0ffee")
os.makedirs(medium)
for name in os.listdir(snapshot):
    if name.startswith(("config", "model", "generation")):
        shutil.copy(os.path.join(snapshot, name), medium)
os.makedirs(os.path.join(os.path.dirname(os.path.dirname(medium)), "refs"))
with open(os.path.join(os.path.dirname(os.path.dirname(medium)), "refs", "main"), "w") as f:
    f.write("c0ffee")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    stand_in = boot_bridge("gpt2-medium", load_weights=True, device="cpu", **small)
out["stand_in"] = {
    "eos": stand_in.tokenizer.eos_token,
    "warnings": [str(w.message) for w in caught if issubclass(w.category, UserWarning)],
}

def error(call):
    try:
        call()
    except PresetError as exc:
        return {"type": type(exc).__name__, "key": exc.key, "message": str(exc)}
    return None

out["errors"] = {
    "more_layers": error(lambda: boot_bridge("gpt2", load_weights=True, device="cpu", **{**small, "n_layers": 3})),
    "other_width": error(lambda: boot_bridge("gpt2", load_weights=True, device="cpu", **{**small, "d_model": 32})),
    "not_cached": error(lambda: boot_bridge("distilgpt2", load_weights=True, device="cpu")),
    "unknown": error(lambda: boot_bridge("gtp2")),
    "native_refused": error(lambda: to_bridge_config("gpt2", use_qk_norm=True)),
    "native_unknown": error(lambda: to_bridge_config("gtp2")),
}
emit(out)
"""


def test_boot_bridge_uses_the_hugging_face_cache_and_names_what_it_lacks(tmp_path: Path) -> None:
    small = {"n_layers": 2, "d_model": 64, "d_head": 16, "n_ctx": 64}
    (tmp_path / "job.json").write_text(json.dumps({"small": small}))
    hub = tmp_path / "hub"
    results = run_tl4(_CACHE, tmp_path, no_network=True, env={"HF_HUB_CACHE": str(hub)})
    assert len(results["weights"]) > 10 and results["differ"] == []
    assert results["tied"]
    assert results["modes"] == [[False], [False]]  # with the checkpoint's weights and without
    # The cache's tokenizer, with or without its weights.
    assert results["special"] == results["fresh_special"] == "<|cached|>"
    assert results["restored"]
    assert results["stand_in"]["eos"] == "<|endoftext|>"
    assert any(
        "load_weights=True): the stand-in tokenizer" in w and "pass token ids, not text" in w
        for w in results["stand_in"]["warnings"]
    ), results["stand_in"]
    errors = results["errors"]
    assert errors["more_layers"]["key"] == "load_weights"
    assert (
        "lacks weights of this preset's model: transformer.h.2." in errors["more_layers"]["message"]
    )
    assert errors["other_width"]["key"] == "load_weights"
    assert "does not fit this preset's model" in errors["other_width"]["message"]
    assert errors["not_cached"]["key"] == "load_weights"
    assert f"the Hugging Face cache ({hub}) holds no distilgpt2" in errors["not_cached"]["message"]
    assert errors["unknown"]["type"] == errors["native_unknown"]["type"] == "PresetNotFoundError"
    assert errors["native_refused"]["key"] == "use_qk_norm"


def test_the_readme_examples_for_transformerlens_4_run(tmp_path: Path) -> None:
    section = README.split("## TransformerLens 4", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```py\n(.*?)```", section, re.S)
    assert len(blocks) >= 2
    code = "\n".join(blocks) + "\nemit('ran')\n"
    assert run_tl4(code, tmp_path, no_network=True) == "ran"
