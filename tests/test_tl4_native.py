"""``to_bridge_config`` against TransformerLens 4.3's native model and 3.9's HookedTransformer.

Both TransformerLens versions are needed: 3.9 (``transformer-lens<4``) in this process,
4.3 in a subprocess (``tests/_tl4.py``); without either, these tests skip.

- Every bundled preset: ``to_bridge_config`` either refuses it naming a field, or
  ``TransformerBridge.boot_native`` builds it (on the meta device, at full size) with
  exactly the weight matrices and norm scales of the ``HookedTransformer`` TransformerLens
  3.9 builds from the preset, and a config whose sizes are the preset's.
- Forward equivalence: one preset per family that boots natively, and a variant for
  each value ``to_bridge_config`` converts, with shrunk widths on the CPU in float32:
  HookedTransformer and the native model with the same weights (mapped by
  :func:`native_state_dict` below, which holds the whole weight mapping) give the same
  logits within 1e-5.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import warnings
from pathlib import Path
from typing import Any

import pytest

from ._tl4 import requires_tl4, run_tl4

try:
    _TL3 = importlib.metadata.version("transformer-lens")
except importlib.metadata.PackageNotFoundError:
    pytest.skip(
        "transformer-lens<4 is not installed (these tests compare with it)", allow_module_level=True
    )
if int(_TL3.split(".")[0]) >= 4:
    pytest.skip(
        f"these tests compare with transformer-lens<4, found {_TL3}", allow_module_level=True
    )

import torch
import transformer_lens

from transformer_presets import get_preset, list_presets
from transformer_presets.fields.params import total_params
from transformer_presets.tl4.fields import native_problems

pytestmark = requires_tl4

# Fields that name or describe a model without changing what it builds: presets that
# differ only in these are booted once.
_NOT_STRUCTURE = {
    *("model_name", "tokenizer_name", "tokenizer_prepends_bos", "default_prepend_bos"),
    *("from_checkpoint", "checkpoint_index", "checkpoint_value", "checkpoint_label_type"),
    *("n_params", "device", "seed", "trust_remote_code"),
}
# The sizes a booted bridge's config must share with the preset.
SIZES = (
    "n_layers",
    "d_model",
    "d_head",
    "n_heads",
    "n_ctx",
    "d_vocab",
    "d_vocab_out",
    "d_mlp",
    "n_key_value_heads",
)


def _presets() -> dict[str, dict[str, Any]]:
    return {info.name: get_preset(info.name).to_dict() for info in list_presets()}


def _structure(values: dict[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in values.items() if k not in _NOT_STRUCTURE))


# -- the weight mapping: HookedTransformer's parameters as the native model's -------------


def _rotary_permutation(values: dict[str, Any]) -> list[int] | None:
    """For each native query/key dimension of a head, the HookedTransformer dimension it is.

    HookedTransformer (without rotary_adjacent_pairs) rotates dimension i with
    i + rotary_dim/2; the native model rotates 2i with 2i + 1, at the same frequency i.
    """
    if values["positional_embedding_type"] != "rotary" or values["rotary_adjacent_pairs"]:
        return None
    half = values["rotary_dim"] // 2
    rotated = [i // 2 + (half if i % 2 else 0) for i in range(2 * half)]
    return rotated + list(range(2 * half, values["d_head"]))


def native_state_dict(
    hooked: dict[str, torch.Tensor], values: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], set[str]]:
    """HookedTransformer's state dict as the native model's, and the HookedTransformer
    parameters the native model has no place for (which must hold zeros to carry no
    function: the unembedding bias, and a gated MLP's biases)."""
    perm = _rotary_permutation(values)
    gated = values["gated_mlp"]
    out: dict[str, torch.Tensor] = {}
    unplaced: set[str] = set()

    def heads_in(w: torch.Tensor, rotate: bool) -> torch.Tensor:
        # [heads, d_model, d_head] -> nn.Linear's [heads * d_head, d_model]
        if rotate and perm is not None:
            w = w[..., perm]
        return w.permute(0, 2, 1).reshape(-1, w.shape[1])

    def bias_in(b: torch.Tensor, rotate: bool) -> torch.Tensor:
        if rotate and perm is not None:
            b = b[..., perm]
        return b.reshape(-1)

    for name, tensor in hooked.items():
        parts = name.split(".")
        if parts[0] == "embed" and parts[1] == "W_E":
            out["tok_embed.weight"] = tensor
        elif parts[0] == "pos_embed":
            out["pos.weight"] = tensor
        elif parts[0] == "unembed":
            if parts[1] == "W_U":
                out["head.weight"] = tensor.T
            else:
                unplaced.add(name)
        elif parts[0] == "ln_final":
            out[f"ln_out.{'weight' if parts[1] == 'w' else 'bias'}"] = tensor
        elif parts[0] == "blocks":
            layer, module, param = parts[1], parts[2], parts[-1]
            prefix = f"layers.{layer}"
            if module in ("ln1", "ln2"):
                out[f"{prefix}.{module}.{'weight' if param == 'w' else 'bias'}"] = tensor
            elif module == "attn":
                which = param.lstrip("_")[-1].lower()  # W_Q, _W_K, b_V, ... -> q, k, v, o
                rotate = which in ("q", "k")
                if param.lstrip("_").startswith("W"):
                    if which == "o":  # [heads, d_head, d_model] -> [d_model, heads * d_head]
                        value = tensor.reshape(-1, tensor.shape[-1]).T
                    else:
                        value = heads_in(tensor, rotate)
                    out[f"{prefix}.attn.{which}.weight"] = value
                else:
                    out[f"{prefix}.attn.{which}.bias"] = (
                        tensor if which == "o" else bias_in(tensor, rotate)
                    )
            elif module == "mlp" and parts[3] == "ln":
                out[f"{prefix}.mlp.ln.{'weight' if param == 'w' else 'bias'}"] = tensor
            elif module == "mlp" and gated:
                linear = {"W_gate": "gate", "W_in": "in", "W_out": "out"}.get(param)
                if linear is None:
                    unplaced.add(name)
                else:
                    out[f"{prefix}.mlp.{linear}.weight"] = tensor.T
            elif module == "mlp":
                linear = "fc_in" if param.endswith("in") else "fc_out"
                kind = "weight" if param.startswith("W") else "bias"
                out[f"{prefix}.mlp.{linear}.{kind}"] = tensor.T if kind == "weight" else tensor
            else:
                raise AssertionError(f"no native place for {name}")
        else:
            raise AssertionError(f"no native place for {name}")
    return out, unplaced


def build_hooked(values: dict[str, Any], device: str) -> Any:
    """TransformerLens 3.9's HookedTransformer for ``values`` (no tokenizer, no download)."""
    config = {k: v for k, v in values.items() if k != "n_params"}
    config["tokenizer_name"] = None
    config["device"] = device
    if device == "meta":
        config["init_weights"] = False
    tl_config = transformer_lens.HookedTransformerConfig.from_dict(config)
    with warnings.catch_warnings(), torch.device(device):
        warnings.simplefilter("ignore", DeprecationWarning)
        return transformer_lens.HookedTransformer(tl_config, move_to_device=False)


_EXPECTED_UNPLACED = {"unembed.b_U"}


def _unplaced_expected(values: dict[str, Any]) -> set[str]:
    names = set(_EXPECTED_UNPLACED)
    if values["gated_mlp"] and not values["attn_only"]:
        for layer in range(values["n_layers"]):
            names |= {f"blocks.{layer}.mlp.b_in", f"blocks.{layer}.mlp.b_out"}
    return names


# -- every bundled preset ---------------------------------------------------------------------

_BOOT_ALL = """
import torch
from transformer_presets import BridgeError, to_bridge_config
from transformer_lens.model_bridge import TransformerBridge

def boot(cfg):
    with torch.device("meta"):
        bridge = TransformerBridge.boot_native(cfg, device="meta")
    return {
        "params": {
            n.replace("._original_component", ""): list(p.shape)
            for n, p in bridge.original_model.named_parameters()
        },
        "model": type(bridge.original_model).__name__,
        "sizes": {k: getattr(bridge.cfg, k) for k in job["sizes"]},
    }

job = json.load(open(sys.argv[0].replace("tl4-script.py", "job.json")))
out = {}
for name in job["names"]:
    try:
        cfg = to_bridge_config(name)
    except BridgeError as exc:
        out[name] = {"refused": exc.key, "preset": exc.preset, "message": str(exc)}
        continue
    out[name] = {
        "sizes": {k: getattr(cfg, k) for k in job["sizes"]},
        "rotary_base": cfg.rotary_base,
        "rope_scaling": getattr(cfg, "rope_scaling", None),
    }
    if name in job["boot"]:
        out[name]["booted"] = boot(to_bridge_config(name, **job["boot"][name]))
    if name == job["full"]:
        out[name]["full"] = boot(cfg)
emit(out)
"""


def _two_layers(values: dict[str, Any]) -> dict[str, Any]:
    """The overrides that cut a preset to its first two layers."""
    out: dict[str, Any] = {"n_layers": min(2, values["n_layers"])}
    if values["attn_types"] is not None:
        out["attn_types"] = values["attn_types"][: out["n_layers"]]
    return out


def test_every_bundled_preset_boots_natively_or_is_refused_by_field(tmp_path: Path) -> None:
    """Every preset is refused by name or boots with HookedTransformer's weights.

    Each distinct structure boots with its first two layers: the blocks of a preset the
    native model builds are all alike (HookedTransformer's differ by layer only through
    local attention and the inverse-layer scaling, both refused), so two show each
    weight and how a block hands on to the next, at a fraction of the time. The config
    is checked at full size for every preset, and the largest native preset boots at
    full size on the meta device (Llama 3.1 70B: no memory).
    """
    presets = _presets()
    one_per_structure: dict[str, str] = {}
    for name, values in presets.items():
        if not native_problems(values):
            one_per_structure.setdefault(_structure(values), name)
    boot = {name: _two_layers(presets[name]) for name in one_per_structure.values()}
    full = max(boot, key=lambda n: total_params(presets[n]))
    job = {"names": sorted(presets), "boot": boot, "full": full, "sizes": SIZES}
    (tmp_path / "job.json").write_text(json.dumps(job))
    results = run_tl4(_BOOT_ALL, tmp_path, timeout=900)

    booted = 0
    for name, values in presets.items():
        result = results[name]
        problems = native_problems(values)
        if problems:
            # Refused by the first field the pure check names, with its value.
            assert result["refused"] == problems[0][0], name
            assert result["preset"] == name
            assert f"key {problems[0][0]!r}: " in result["message"]
            assert "boot_bridge" in result["message"]
            continue
        booted += 1
        assert "refused" not in result, (name, result)
        # Its config's sizes are the preset's, at full size.
        for size in SIZES:
            assert result["sizes"][size] == values[size] or (
                size == "d_mlp" and values["attn_only"]
            ), (name, size)
        assert result["rotary_base"] == values["rotary_base"]
        assert type(result["rotary_base"]) is type(values["rotary_base"])
    assert booted >= 100 and len(presets) == 249

    for name, overrides in boot.items():
        small = get_preset(name, **overrides).to_dict()
        result = results[name]["booted"]
        assert result["model"] == "NativeModel"
        assert result["sizes"]["n_layers"] == small["n_layers"]
        # Exactly HookedTransformer's weight matrices and norm scales (as nn.Linear lays
        # them out), and nothing else; HookedTransformer's extra biases are the ones that
        # carry no function.
        hooked = dict(build_hooked(small, "meta").named_parameters())
        mapped, unplaced = native_state_dict(hooked, small)
        assert unplaced == _unplaced_expected(small), name
        assert {k: list(v.shape) for k, v in mapped.items()} == result["params"], name

    values, result = presets[full], results[full]["full"]
    assert values["n_params"] > 60e9 and result["sizes"]["n_layers"] == values["n_layers"]
    # The parameter count of HookedTransformer's model, less the biases it holds as zeros.
    unplaced = values["d_vocab_out"] + values["n_layers"] * (values["d_mlp"] + values["d_model"])
    native = sum(math.prod(shape) for shape in result["params"].values())
    assert native == total_params(values) - unplaced


# -- forward equivalence ---------------------------------------------------------------------


def shrink(values: dict[str, Any], layers: int = 2) -> dict[str, Any]:
    """The preset's structure with tiny widths: overrides for ``to_bridge_config``."""
    head = 8
    scaled = lambda n: max(head, n * head // values["d_head"])  # noqa: E731
    out: dict[str, Any] = {
        "d_model": scaled(values["d_model"]),
        "d_head": head,
        "n_heads": values["n_heads"] if values["n_heads"] <= 8 else 4,
        "n_layers": min(layers, values["n_layers"]),
        "n_ctx": min(values["n_ctx"], 64),
        "d_vocab": 96,
        "d_vocab_out": -1 if values["d_vocab_out"] == values["d_vocab"] else 80,
        "seed": 1234,
    }
    if values["attn_types"] is not None:
        out["attn_types"] = values["attn_types"][: out["n_layers"]]
    kv = values["n_key_value_heads"]
    if kv is not None:
        out["n_key_value_heads"] = 2 if out["n_heads"] % 2 == 0 and kv < values["n_heads"] else None
    if values["d_mlp"] and values["d_mlp"] > 0:
        out["d_mlp"] = scaled(values["d_mlp"])
    if values["rotary_dim"]:
        out["rotary_dim"] = max(2, values["rotary_dim"] * head // values["d_head"] // 2 * 2)
    if values["use_attn_scale"] and not math.isclose(values["attn_scale"], values["d_head"] ** 0.5):
        out["attn_scale"] = values["attn_scale"] * math.sqrt(head / values["d_head"])
    if values["use_NTK_by_parts_rope"]:
        # Short enough that the scaled frequencies matter within the context.
        out["NTK_original_ctx_len"] = 64
    return out


def _one_per_family() -> dict[str, str]:
    chosen: dict[str, str] = {}
    for info in list_presets():
        values = get_preset(info.name).to_dict()
        if not native_problems(values) and info.family not in chosen:
            chosen[info.family] = info.name
    return chosen


FAMILIES = _one_per_family()

# Each value to_bridge_config converts, and what the native model reads, on a tiny
# preset of its own (named by what it shows): base preset and overrides.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "rotary-halves-partial": ("meta-llama/Llama-3.2-1B", {"rotary_dim": 4}),
    "rotary-adjacent-pairs": ("meta-llama/Llama-3.2-1B", {"rotary_adjacent_pairs": True}),
    "rotary-linear-scaling": (
        "meta-llama/Llama-3.2-1B",
        {"use_NTK_by_parts_rope": False, "rotary_scaling_factor": 4.0, "rotary_base": 10000.5},
    ),
    "gqa-rms-final": ("mistralai/Mistral-Nemo-Base-2407", {}),
    "soft-caps": ("gpt2", {"attn_scores_soft_cap": 5.0, "output_logits_soft_cap": 3.0}),
    "lnpre-final-rms": ("gpt2", {"normalization_type": "LNPre", "final_rms": True}),
    "ln-final-rms": ("gpt2", {"final_rms": True}),
    "rmspre": ("gpt2", {"normalization_type": "RMSPre", "act_fn": "relu"}),
    "no-norm-final-rms": ("gpt2", {"normalization_type": None, "final_rms": True}),
    "bidirectional": ("gpt2", {"attention_dir": "bidirectional"}),
    "gelu-fast": ("gpt2", {"act_fn": "gelu_fast"}),
    "gelu-pytorch-tanh-gated": ("meta-llama/Llama-3.2-1B", {"act_fn": "gelu_pytorch_tanh"}),
    "attn-only": ("NeelNanda/Attn_Only_2L512W_C4_Code", {}),
    "custom-attn-scale": ("gpt2", {"attn_scale": 3.0}),
    "vocab-out": ("gpt2", {"d_vocab_out": 50}),
}


def _cases() -> dict[str, tuple[str, dict[str, Any]]]:
    cases = {f"family-{family}": (name, {}) for family, name in sorted(FAMILIES.items())}
    cases.update(VARIANTS)
    return cases


def _randomised(model: Any, zero: set[str], d_model: int) -> None:
    """Every parameter random, but those that must stay zero: matrices at
    HookedTransformer's own initial scale (0.8 / sqrt(d_model)), biases and norm scales
    (around 1) visibly away from their initial zeros and ones."""
    generator = torch.Generator().manual_seed(0)
    std = 0.8 / math.sqrt(d_model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            if name in zero:
                p.zero_()
            elif name.endswith(".w"):
                p.copy_(1 + 0.1 * noise)
            elif name.rsplit(".", 1)[-1].lstrip("_").startswith("b"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(std * noise)


_RUN_NATIVE = """
import torch
from transformer_presets import to_bridge_config
from transformer_lens.model_bridge import TransformerBridge

torch.set_num_threads(1)
job = torch.load(sys.argv[0].replace("tl4-script.py", "job.pt"))
out = {}
for case, (name, overrides, weights, tokens, logits) in job.items():
    bridge = TransformerBridge.boot_native(to_bridge_config(name, **overrides), device="cpu")
    params = dict(bridge.original_model.named_parameters())
    used = set()
    with torch.no_grad():
        for full, p in params.items():
            key = full.replace("._original_component", "")
            p.copy_(weights[key])
            used.add(key)
    got = bridge(tokens)
    out[case] = {
        "unused": sorted(set(weights) - used),
        "shape": list(got.shape),
        "max_diff": float((got.float() - logits).abs().max()),
        "scale": float(logits.abs().max()),
    }
emit(out)
"""


def test_native_forward_equals_hooked_transformer(tmp_path: Path) -> None:
    assert set(FAMILIES) >= {"gpt2", "llama", "qwen", "neel", "opt", "gemma", "othello"}
    job: dict[str, Any] = {}
    torch.manual_seed(0)
    for case, (name, extra) in _cases().items():
        values = get_preset(name).to_dict()
        overrides = {**shrink(values), **extra}
        small = get_preset(name, **overrides).to_dict()
        assert not native_problems(small), case
        model = build_hooked(small, "cpu")
        zero = _unplaced_expected(small)
        _randomised(model, zero, small["d_model"])
        state = {k: v.detach() for k, v in model.named_parameters()}
        weights, unplaced = native_state_dict(state, small)
        assert unplaced == zero
        tokens = torch.randint(0, small["d_vocab"], (2, min(small["n_ctx"], 24)))
        with torch.no_grad():
            logits = model(tokens)
        job[case] = (name, overrides, weights, tokens, logits)
    torch.save(job, tmp_path / "job.pt")
    results = run_tl4(_RUN_NATIVE, tmp_path, timeout=900)
    assert set(results) == set(job)
    for case, result in results.items():
        assert result["unused"] == [], case
        logits = job[case][4]
        assert result["shape"] == list(logits.shape), case
        assert result["scale"] > 0.5, case  # the logits are not all (nearly) zero
        assert result["max_diff"] <= 1e-5, (case, result)
