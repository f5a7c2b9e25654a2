"""The bridge's parameters, buffers, key-value cache, FLOPs and training state against
TransformerLens 4.3 itself (:mod:`transformer_presets.planner.bridge_params`).

One subprocess (``tests/_tl4.py``: TransformerLens 4.3 beside 3.9, every socket and child
process refused) measures:

- every bundled preset ``boot_bridge`` builds (one of each set with the same exported
  ``config.json``: the same model, 118 of 207), booted on the meta device in bfloat16 with
  its first layers only, enough to hold a block of each attention type (a layer's tensors
  depend on the config and its type alone; booting the full depth of all of them takes
  minutes): every parameter and buffer by name, shape and dtype, and whether the buffer
  persists; and the transformers model ``boot_bridge`` wraps, at full depth, built directly
  on the meta device in float32 (``from_config`` under ``torch.device("meta")``, as
  ``boot_bridge`` builds it), for the tensors that are transformers'. GPT-2 and Phi-3,
  which TransformerLens 4.3 will not boot on the meta device, are booted shrunk on the CPU;
- one preset of each architecture, shrunk (and GPT-NeoX and BLOOM with a single head, where
  the split Q/K/V become views), booted on the CPU in float32 and bfloat16: the bytes the
  parameters' storage holds and which are views of which, the key-value cache the bridge
  keeps after a prompt and three generated tokens; in float32, one training step
  (gradients, AdamW's and SGD's state), the FLOPs of a forward pass (``FlopCounterMode``,
  also longer than the sliding windows) and the cache of the transformers model alone.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from transformer_presets import PresetError, get_preset, list_presets
from transformer_presets.planner.bridge_params import (
    BRIDGE_ARCHITECTURES,
    bridge_buffers,
    bridge_forward_flops,
    bridge_kv_cache_bytes,
    bridge_parameters,
    bridge_total_params,
    bridge_training_state,
    bridge_weight_bytes,
    transformers_kv_cache_bytes,
)
from transformer_presets.tl4._inputs import transformers_config as _transformers_config

from ._tl4 import requires_tl4, run_tl4
from .test_tl4_bridge import CPU_ONLY, shrink

pytestmark = requires_tl4

# The prompt, then the tokens generated one by one, for the key-value caches; the window
# of the shrunk models' local layers is 16, so the sliding layers keep 15.
PROMPT, STEPS = 20, 3
# Forward passes measured: the second longer than the shrunk windows.
FLOP_SIZES = ((2, 8), (1, 24))
DTYPES = ("float32", "bfloat16")
# Fewer experts than the shrunk preset's 32: the same layout, a fraction of the time.
FEWER = {"GptOssForCausalLM": {"num_experts": 4, "experts_per_token": 2}}
# Its image tower keeps its full size (half a billion parameters) when the language model
# is shrunk: measured once, in float32, and its language model's cache is Gemma 3's.
MULTIMODAL = "Gemma3ForConditionalGeneration"

_MEASURE = r"""
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformer_presets import BridgeError, boot_bridge, get_preset, to_hf_config
from transformer_lens.model_bridge.sources import _hf_format
from transformer_lens.model_bridge.sources.transformers import helpers
from transformers import AutoConfig

job = json.load(open(sys.argv[0].replace("tl4-script.py", "job.json")))


def strip(name):
    for part in ("._original_component", "_container_state_owners.", "original_model."):
        name = name.replace(part, "")
    return name


def modules(model):
    yield from model.named_modules(remove_duplicate=False)
    inner = getattr(model, "original_model", None)
    if inner is not None:
        yield from inner.named_modules(remove_duplicate=False)


def listing(model, wanted, buffers):
    # Every distinct tensor once, under the expected name among its names if it has one.
    groups = {}
    for scope, module in modules(model):
        table = module._buffers if buffers else module._parameters
        for key, tensor in table.items():
            if tensor is None:
                continue
            name = strip(f"{scope}.{key}" if scope else key)
            entry = groups.setdefault(id(tensor), [tensor, set(), True])
            entry[1].add(name)
            if buffers and key in module._non_persistent_buffers_set:
                entry[2] = False
    out = []
    for tensor, names, persistent in groups.values():
        hits = sorted(names & wanted)
        storage = None if tensor.device.type == "meta" else tensor.untyped_storage()
        out.append([
            hits[0] if hits else min(names),
            len(hits),
            list(tensor.shape),
            str(tensor.dtype).removeprefix("torch."),
            persistent,
            tensor.element_size(),
            None if storage is None else storage.data_ptr(),
            None if storage is None else storage.nbytes(),
        ])
    return out


def describe(model, wanted):
    return {
        "params": listing(model, set(wanted["params"]), False),
        "buffers": listing(model, set(wanted["buffers"]), True),
    }


def hf_model(name, overrides, dtype, device):
    # The transformers model boot_bridge wraps, built the way it builds it.
    import tempfile
    config = to_hf_config(get_preset(name, **overrides))
    config["dtype"] = dtype
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f)
        hf_config = AutoConfig.from_pretrained(folder, output_attentions=True)
    model_class = helpers.get_hf_model_class_for_architecture(
        _hf_format.determine_architecture_from_hf_config(hf_config)
    )
    with torch.device(device):
        return model_class.from_config(hf_config, dtype=getattr(torch, dtype), attn_implementation="eager")


def cache_bytes(cache):
    if cache is None:
        return None
    parts = [cache]
    if hasattr(cache, "self_attention_cache"):
        parts = [cache.self_attention_cache, cache.cross_attention_cache]
    total = 0
    for part in parts:
        for layer in part.layers:
            for t in (getattr(layer, "keys", None), getattr(layer, "values", None)):
                if t is not None:
                    total += t.numel() * t.element_size()
    return total


def generate_cache(call, is_t5):
    # A prompt, then tokens one at a time with the cache handed back, as generate does.
    torch.manual_seed(0)
    prompt = torch.randint(3, 200, (2, job["prompt"]))
    with torch.no_grad():
        if is_t5:
            return cache_bytes(call(prompt, torch.randint(3, 200, (2, job["steps"])), None))
        cache = call(prompt, None, None)
        for _ in range(job["steps"]):
            cache = call(torch.randint(3, 200, (2, 1)), None, cache)
    return cache_bytes(cache)


import time

out = {"presets": {}, "archs": {}, "cpu_seconds": {}}
started = time.process_time()

for key, (name, variant, overrides, device, wanted) in job["presets"].items():
    record = {}
    # On the meta device, TransformerLens 4.3 makes the nn.Linear modules it splits a
    # fused Q/K/V into on the CPU and initialises them before it replaces their weights
    # (half a minute for gpt-neox-20b): the same bridge, built in a tenth of the time.
    with torch.device(device):
        bridge = boot_bridge(name, device=device, dtype="bfloat16", **overrides)
    record["bridge"] = describe(bridge, wanted["bfloat16"])
    del bridge
    model = hf_model(name, variant, "float32", "meta")
    record["hf"] = describe(model, wanted["float32"])
    del model
    out["presets"][key] = record
out["cpu_seconds"]["presets"] = time.process_time() - started

def train(bridge):
    # One step: gradients, then AdamW's state, then SGD's (momentum) state.
    bridge.train()
    torch.manual_seed(0)
    logits = bridge(torch.randint(3, 200, (2, 8)))
    logits.float().logsumexp(-1).mean().backward()
    params = list({id(p): p for p in bridge.parameters()}.values())
    out = {"gradients": sum(p.grad.numel() * p.grad.element_size() for p in params if p.grad is not None)}
    for kind, opt in (
        ("adamw", torch.optim.AdamW(params, lr=1e-3)),
        ("sgd", torch.optim.SGD(params, lr=1e-3, momentum=0.9)),
    ):
        opt.step()
        out[kind] = sum(
            v.numel() * v.element_size()
            for state in opt.state.values() for v in state.values() if torch.is_tensor(v)
        )
    bridge.zero_grad(set_to_none=True)
    bridge.eval()
    return out


for key, (name, overrides, wanted, dtypes, alone) in job["archs"].items():
    is_t5 = key.startswith("T5")
    for dtype in dtypes:
        record = out["archs"].setdefault(key, {})[dtype] = {}
        bridge = boot_bridge(name, device="cpu", dtype=dtype, **overrides)
        record["tensors"] = describe(bridge, wanted[dtype])
        # Training, FLOPs and transformers' own cache in float32: the other dtype changes
        # the bytes of each tensor only, which the tensors above show.
        if dtype == "float32":
            record["train"] = train(bridge)
            record["flops"] = []
            for batch, seq in job["flop_sizes"]:
                with torch.no_grad(), FlopCounterMode(display=False) as counter:
                    bridge(torch.randint(3, 200, (batch, seq)))
                record["flops"].append(counter.get_total_flops())
        if key.startswith("Bert"):
            record["buffers_after"] = listing(bridge, set(wanted[dtype]["buffers"]), True)
            continue

        def through_bridge(tokens, decoder, cache):
            kwargs = {"use_cache": True}
            if decoder is not None:
                kwargs["decoder_input"] = decoder
            if cache is not None:
                kwargs["past_key_values"] = cache
            return bridge(tokens, return_type="logits_and_cache", **kwargs)[1]

        try:
            record["bridge_cache"] = generate_cache(through_bridge, is_t5)
        except RuntimeError as exc:  # OLMo in half precision
            record["cache_error"] = str(exc)[:300]
        # After forward passes, a training step and generation: no buffer more or grown.
        record["buffers_after"] = listing(bridge, set(wanted[dtype]["buffers"]), True)
        del bridge
        if dtype != "float32" or not alone:
            continue
        model = hf_model(name, overrides, dtype, "cpu").eval()

        def through_transformers(tokens, decoder, cache):
            kwargs = {"use_cache": True}
            if decoder is not None:
                kwargs["decoder_input_ids"] = decoder
            if cache is not None:
                kwargs["past_key_values"] = cache
            return model(tokens, **kwargs).past_key_values

        record["hf_cache"] = generate_cache(through_transformers, is_t5)
        del model

out["cpu_seconds"]["archs"] = time.process_time() - started - out["cpu_seconds"]["presets"]
emit(out)
"""


def _expected(values: dict[str, Any], dtype: str) -> dict[str, list[str]]:
    return {
        "params": [t.name for t in bridge_parameters(values, dtype)],
        "buffers": [t.name for t in bridge_buffers(values, dtype)],
    }


# Gemma 1 with the tanh GELU boot_bridge builds it with (no bundled preset has it: the
# export refuses their exact GELU), measured as one more preset.
VARIANTS = {"google/gemma-2b+tanh": ("google/gemma-2b", {"act_fn": "gelu_pytorch_tanh"})}


def _preset(key: str, **overrides: Any) -> dict[str, Any]:
    """The values of a preset (or a variant's key) with ``overrides``."""
    name, variant = VARIANTS.get(key, (key, {}))
    return get_preset(name, **{**variant, **overrides}).to_dict()


def _buildable() -> dict[str, list[str]]:
    """Every preset boot_bridge builds, grouped by its exported config.json (one model)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for key in [info.name for info in list_presets()] + list(VARIANTS):
        values = _preset(key)
        try:
            config = _transformers_config(values, key)
        except PresetError:
            continue
        config.pop("_name_or_path", None)
        groups[json.dumps(config, sort_keys=True)].append(key)
    return dict(groups)


def _one_block_of_each_kind(values: dict[str, Any]) -> dict[str, Any]:
    """Overrides that keep a model's first layers, enough to hold a block of each
    attention type (at least two), as ``tests/test_planner_tl.py`` builds them: a layer's
    tensors depend on the config and its type alone, and the transformers model is
    compared at full depth besides."""
    kinds = values["attn_types"] or []
    used = kinds if values["use_local_attn"] else []
    n_layers = min(values["n_layers"], max([2] + [used.index(kind) + 1 for kind in set(used)]))
    return {"n_layers": n_layers, **({"attn_types": kinds[:n_layers]} if kinds else {})}


def _smallest(groups: dict[str, list[str]]) -> dict[str, str]:
    best: dict[str, tuple[int, str]] = {}
    for names in groups.values():
        values = _preset(names[0])
        arch = values["original_architecture"]
        size = bridge_total_params(values)
        if arch not in best or size < best[arch][0]:
            best[arch] = (size, names[0])
    return {arch: name for arch, (_, name) in sorted(best.items())}


def _plan() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What is measured: the presets, the architectures and the subprocess's job."""
    groups = _buildable()
    presets: dict[str, Any] = {}
    for names in groups.values():
        key = names[0]
        name, variant = VARIANTS.get(key, (key, {}))
        values = _preset(key)
        overrides, device = _one_block_of_each_kind(values), "meta"
        if values["original_architecture"] in CPU_ONLY:
            overrides, device = shrink(name, **variant), "cpu"
        small = _preset(key, **overrides)
        presets[key] = {
            "names": names,
            "values": {"bfloat16": small, "float32": values},
            "job": (
                name,
                variant,
                {**variant, **overrides},
                device,
                {
                    "bfloat16": _expected(small, "bfloat16"),
                    "float32": _expected(values, "float32"),
                },
            ),
        }
    archs: dict[str, Any] = {}
    for arch, key in _smallest(groups).items():
        smaller = {} if arch == "Phi3ForCausalLM" else {"d_vocab": 4096}  # its pad id is 32000
        name, variant = VARIANTS.get(key, (key, {}))
        archs[arch] = {
            "name": name,
            "overrides": {**variant, **shrink(name, **variant), **smaller, **FEWER.get(arch, {})},
        }
    # One head: GPT-NeoX's and BLOOM's split Q/K/V are views then, not copies.
    for arch in ("GPTNeoXForCausalLM", "BloomForCausalLM"):
        base = archs[arch]
        one_head = {"n_heads": 1, "d_head": base["overrides"]["d_model"]}
        archs[arch + "/1"] = {
            "name": base["name"],
            "overrides": {**base["overrides"], **one_head},
        }
    for entry in archs.values():
        entry["values"] = get_preset(entry["name"], **entry["overrides"]).to_dict()
    job = {
        "presets": {k: p["job"] for k, p in presets.items()},
        "archs": {
            k: (
                a["name"],
                a["overrides"],
                {dt: _expected(a["values"], dt) for dt in DTYPES},
                DTYPES if k != MULTIMODAL else DTYPES[:1],
                k != MULTIMODAL,
            )
            for k, a in archs.items()
        },
        "prompt": PROMPT,
        "steps": STEPS,
        "flop_sizes": FLOP_SIZES,
    }
    return presets, archs, job


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The job (what is measured, with the values predicted) and what TransformerLens 4.3 holds."""
    home = tmp_path_factory.mktemp("bridge-params-home")
    env = {
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "TRANSFORMER_PRESETS_CACHE_DIR": str(home / "cache"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        presets, archs, job = _plan()
        tmp = tmp_path_factory.mktemp("bridge-params")
        (tmp / "job.json").write_text(json.dumps(job))
        results = run_tl4(_MEASURE, tmp, no_network=True, timeout=1800, env=env)
    return {"presets": presets, "archs": archs, "results": results}


def _numel(measured: list[Any]) -> int:
    n = 1
    for size in measured[2]:
        n *= size
    return n


def _same_tensors(
    measured: list[dict[str, Any]], expected: list[Any], *, buffers: bool
) -> list[str]:
    """What differs between the tensors measured and those expected (empty: none)."""
    problems = []
    mine = {t.name: t for t in expected}
    if len(mine) != len(expected):
        problems.append("two expected tensors share a name")
    seen = set()
    for name, hits, shape, dtype, persistent, *_ in measured:
        t = mine.get(name)
        if t is None or hits != 1:
            problems.append(f"unexpected {name} {shape} {dtype} ({hits} names)")
            continue
        seen.add(name)
        got = (tuple(shape), dtype, persistent if buffers else True)
        want = (t.shape, t.dtype, t.persistent if buffers else True)
        if got != want:
            problems.append(f"{name}: measured {got}, expected {want}")
    problems += [f"missing {name}" for name in sorted(set(mine) - seen)]
    return problems[:10]


def test_every_preset_boot_bridge_builds_has_the_tensors_predicted(
    measured: dict[str, Any],
) -> None:
    results = measured["results"]["presets"]
    assert len(measured["presets"]) >= 100  # about 118 distinct models of 207 presets
    assert {
        p["values"]["float32"]["original_architecture"] for p in measured["presets"].values()
    } == set(BRIDGE_ARCHITECTURES)
    for key, preset in measured["presets"].items():
        small = preset["values"]["bfloat16"]
        got = results[key]["bridge"]
        params, buffers = bridge_parameters(small, "bfloat16"), bridge_buffers(small, "bfloat16")
        assert _same_tensors(got["params"], params, buffers=False) == [], (key, "bridge")
        assert _same_tensors(got["buffers"], buffers, buffers=True) == [], (key, "bridge")
        assert sum(_numel(m) for m in got["params"]) == bridge_total_params(small), key
        if not any(t.view_of for t in params):  # on the meta device, no view can be told apart
            assert sum(_numel(m) * m[5] for m in got["params"]) == bridge_weight_bytes(
                small, "bfloat16"
            ), key
        # The transformers model alone: what the bridge holds but what TransformerLens adds.
        full = preset["values"]["float32"]
        got = results[key]["hf"]
        params = [t for t in bridge_parameters(full, "float32") if not t.added]
        buffers = [t for t in bridge_buffers(full, "float32") if not t.added]
        assert _same_tensors(got["params"], params, buffers=False) == [], (key, "transformers")
        assert _same_tensors(got["buffers"], buffers, buffers=True) == [], (key, "transformers")
        assert sum(_numel(m) * m[5] for m in got["params"]) == sum(t.nbytes for t in params), key


def test_one_preset_per_architecture_on_the_cpu(measured: dict[str, Any]) -> None:
    results = measured["results"]["archs"]
    assert set(BRIDGE_ARCHITECTURES) <= set(results)
    for key, arch in measured["archs"].items():
        values = arch["values"]
        for dtype, record in results[key].items():
            got = record["tensors"]
            params = bridge_parameters(values, dtype)
            assert _same_tensors(got["params"], params, buffers=False) == [], (key, dtype)
            buffers = bridge_buffers(values, dtype)
            assert _same_tensors(got["buffers"], buffers, buffers=True) == [], (key, dtype)
            after = record["buffers_after"]
            assert _same_tensors(after, buffers, buffers=True) == [], (key, dtype, "after")
            # Memory: each storage once; a view is of the parameter predicted.
            storages = {m[6]: m[7] for m in got["params"]}
            assert sum(storages.values()) == bridge_weight_bytes(values, dtype), (key, dtype)
            owner = {m[6]: m[0] for m in got["params"] if m[7] == _numel(m) * m[5]}
            views = {m[0]: owner.get(m[6]) for m in got["params"] if m[7] != _numel(m) * m[5]}
            assert views == {t.name: t.view_of for t in params if t.view_of}, (key, dtype)
            if dtype == "float32":
                adamw = bridge_training_state(values, "adamw", dtype)
                trained = record["train"]
                assert trained["gradients"] == adamw.gradients, key
                assert trained["adamw"] == adamw.optimizer, key
                assert trained["sgd"] == bridge_training_state(values, "sgd", dtype).optimizer, key
            if key.startswith("Bert"):
                continue
            # Key-value caches: the bridge's, and transformers' own (the model alone).
            if key.startswith("T5"):
                seq = STEPS
                expected = transformers_kv_cache_bytes(values, 2, seq, dtype, encoder_seq=PROMPT)
            else:
                seq = PROMPT + STEPS
                expected = transformers_kv_cache_bytes(values, 2, seq, dtype)
            if dtype == "float32" and key != MULTIMODAL:
                assert record["hf_cache"] == expected, (key, dtype)
            if "cache_error" in record:
                # OLMo's bridge cannot run in half precision: nor can a training step.
                assert dtype == "bfloat16" and key.startswith("Olmo"), (key, record["cache_error"])
                with pytest.raises(PresetError, match=f"cannot run {key.split('/')[0]} in {dtype}"):
                    bridge_training_state(values, "adamw", dtype)
                continue
            try:
                bridge_cache = bridge_kv_cache_bytes(values, 2, seq, dtype)
            except PresetError:
                assert record["bridge_cache"] == 0, (key, dtype)  # it keeps nothing
            else:
                assert record["bridge_cache"] == bridge_cache == expected, (key, dtype)
        # FLOPs, as FlopCounterMode counts them (it has no formula for the experts'
        # grouped matrix products).
        flops = results[key]["float32"]["flops"]
        for (batch, seq), counted in zip(FLOP_SIZES, flops, strict=True):
            experts = 0
            if values["num_experts"]:
                experts = (
                    3
                    * 2
                    * batch
                    * seq
                    * values["experts_per_token"]
                    * values["d_model"]
                    * values["d_mlp"]
                    * values["n_layers"]
                )
            assert counted == bridge_forward_flops(values, batch, seq) - experts, (key, batch, seq)


def test_which_architectures_keep_a_cache_while_generating(measured: dict[str, Any]) -> None:
    # Where TransformerLens 4.3 misses transformers 5's cache, it stays empty; if a later
    # TransformerLens fills it, this fails and bridge_kv_cache_bytes should answer.
    results = measured["results"]["archs"]
    keeps = {
        key.split("/")[0]
        for key, record in results.items()
        if record["float32"].get("bridge_cache")
    }
    assert keeps == {
        "BloomForCausalLM",
        "GPTJForCausalLM",
        "GPTNeoForCausalLM",
        "GPTNeoXForCausalLM",
        "OPTForCausalLM",
    }
