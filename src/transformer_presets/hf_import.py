"""Turn a Hugging Face ``config.json`` into preset values, the way TransformerLens would.

TransformerLens builds a ``HookedTransformerConfig`` from a model's Hugging Face
config (``convert_hf_model_config``) plus a few rules keyed on the model's name
(context-length caps, ``trust_remote_code``, BOS handling). This module does
the same offline: it reads the JSON with :mod:`json`, never imports
``transformers`` or torch, and returns plain values ready for a TOML preset.

The goal is agreement with TransformerLens, not with the checkpoint: where
TransformerLens ignores something the file says (gpt-oss's YaRN scaling, Yi's
``rope_theta``, Gemma 3's ``query_pre_attn_scalar``), so does this module, and
a comment says so at that spot.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import PresetError
from .schema import FIELDS, defaults

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "HFConfigError",
    "closest_preset",
    "diff_values",
    "from_hf_config",
]


class HFConfigError(PresetError):
    """A Hugging Face ``config.json`` cannot be read or turned into a preset."""


# Official-name prefixes for which TransformerLens's loader turns on
# trust_remote_code before reading the config (NEED_REMOTE_CODE_MODELS).
_REMOTE_CODE_PREFIXES = (
    "bigcode/santacoder",
    "Qwen/Qwen-",
    "Qwen/Qwen3-",
    "microsoft/phi-2",
    "microsoft/phi-4",
    "apple/OpenELM",
    "openai/gpt-oss-",
    "swiss-ai/Apertus-",
)

# Context lengths TransformerLens caps "due to memory issues": the attention
# mask is n_ctx x n_ctx, so a 128k window would not fit.
_LONG_CONTEXT_CAP = 2048
_GEMMA3_CONTEXT_CAP = 8192
_CODE_LLAMA_CONTEXT = 4096
# The TinyStories models were trained on 512 tokens although their config says
# 2048; TransformerLens trims the positional embedding to match.
_TINYSTORIES_CONTEXT = 512


class _Reader:
    """Typed access to one JSON object, with errors that name the key and the file.

    ``prefix`` is the dotted path of a nested object (``text_config.``) so that
    a message points at the right key.
    """

    def __init__(self, data: Mapping[str, Any], file: str | None, prefix: str = "") -> None:
        self.data = data
        self.file = file
        self.prefix = prefix
        self.architecture = ""

    def error(self, key: str, message: str) -> HFConfigError:
        return HFConfigError(message, file=self.file, key=self.prefix + key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _get(self, key: str, check: Callable[[Any], bool], kind: str, default: Any) -> Any:
        value = self.data.get(key)
        if value is None:
            if default is _REQUIRED:
                needed = f" (needed for {self.architecture})" if self.architecture else ""
                raise self.error(key, f"missing required key{needed}")
            return default
        if not check(value):
            raise self.error(key, f"expected {kind}, got {type(value).__name__} {value!r}")
        return value

    def get_int(self, key: str, default: Any = None) -> Any:
        # bool is an int subclass; JSON true is never a layer count.
        return self._get(key, _is_int, "an integer", default)

    def get_num(self, key: str, default: Any = None) -> Any:
        return self._get(key, _is_number, "a number", default)

    def get_str(self, key: str, default: Any = None) -> Any:
        return self._get(key, lambda v: isinstance(v, str), "a string", default)

    def get_bool(self, key: str, default: Any = None) -> Any:
        return self._get(key, lambda v: isinstance(v, bool), "true or false", default)

    def get_dict(self, key: str) -> Mapping[str, Any] | None:
        value = self._get(key, lambda v: isinstance(v, Mapping), "an object", None)
        return value  # type: ignore[no-any-return]

    def get_list(self, key: str) -> list[Any] | None:
        value = self._get(key, lambda v: isinstance(v, list), "an array", None)
        return value  # type: ignore[no-any-return]

    def req_int(self, key: str) -> int:
        return self.get_int(key, _REQUIRED)  # type: ignore[no-any-return]

    def req_num(self, key: str) -> float | int:
        return self.get_num(key, _REQUIRED)  # type: ignore[no-any-return]

    def nested(self, key: str) -> _Reader:
        inner = self.get_dict(key)
        reader = _Reader(inner or {}, self.file, f"{self.prefix}{key}.")
        reader.architecture = self.architecture
        return reader


_REQUIRED: Any = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- RoPE: both key layouts -------------------------------------------------
#
# transformers < 5 writes ``rope_theta`` at the top level and scaling in a
# ``rope_scaling`` dict whose kind is ``rope_type`` (or the older ``type``).
# transformers >= 5 folds both into ``rope_parameters``, which also carries
# ``partial_rotary_factor`` and has ``rope_type: "default"`` when unscaled.


def _rope_params(r: _Reader) -> Mapping[str, Any]:
    params = r.get_dict("rope_parameters")
    return params if params is not None else {}


def _rope_theta(r: _Reader, default: float | int) -> float | int:
    if r.has("rope_theta"):
        return r.req_num("rope_theta")
    theta = _rope_params(r).get("rope_theta")
    if theta is None:
        return default
    if not _is_number(theta):
        raise r.error("rope_parameters.rope_theta", f"expected a number, got {theta!r}")
    return theta  # type: ignore[no-any-return]


def _rope_scaling(r: _Reader) -> tuple[str, Mapping[str, Any]]:
    """The scaling kind (``""`` when none) and the dict holding its parameters."""
    scaling = r.get_dict("rope_scaling")
    if scaling is None:
        scaling = _rope_params(r)
    kind = scaling.get("rope_type") or scaling.get("type") or ""
    if not isinstance(kind, str):
        raise r.error("rope_scaling.rope_type", f"expected a string, got {kind!r}")
    kind = kind.lower()
    return ("" if kind == "default" else kind), scaling


def _scaling_num(r: _Reader, scaling: Mapping[str, Any], key: str, default: float | int) -> Any:
    value = scaling.get(key)
    if value is None:
        return default
    if not _is_number(value):
        raise r.error(f"rope_scaling.{key}", f"expected a number, got {value!r}")
    return value


def _ntk_by_parts(r: _Reader, default_original: int) -> dict[str, Any]:
    """Llama 3's "NTK by parts" frequency scaling, when the config asks for it."""
    kind, scaling = _rope_scaling(r)
    if kind != "llama3":
        return {}
    return {
        "use_NTK_by_parts_rope": True,
        "NTK_by_parts_factor": _scaling_num(r, scaling, "factor", 1.0),
        "NTK_by_parts_low_freq_factor": _scaling_num(r, scaling, "low_freq_factor", 1.0),
        "NTK_by_parts_high_freq_factor": _scaling_num(r, scaling, "high_freq_factor", 4.0),
        "NTK_original_ctx_len": _scaling_num(
            r, scaling, "original_max_position_embeddings", default_original
        ),
    }


def _yarn(r: _Reader) -> dict[str, Any]:
    kind, scaling = _rope_scaling(r)
    if kind != "yarn":
        return {}
    return {
        "use_yarn_rope": True,
        "yarn_factor": _scaling_num(r, scaling, "factor", 8.0),
        "yarn_attention_factor": _scaling_num(r, scaling, "attention_factor", 1.0),
        "yarn_beta_fast": _scaling_num(r, scaling, "beta_fast", 32.0),
        "yarn_beta_slow": _scaling_num(r, scaling, "beta_slow", 1.0),
        "yarn_original_max_position_embeddings": _scaling_num(
            r, scaling, "original_max_position_embeddings", 4096
        ),
    }


def _partial_rotary(r: _Reader, key: str, default: float) -> float | int:
    if r.has(key):
        return r.req_num(key)
    factor = _rope_params(r).get("partial_rotary_factor")
    if factor is None:
        return default
    if not _is_number(factor):
        raise r.error("rope_parameters.partial_rotary_factor", f"expected a number, got {factor!r}")
    return factor  # type: ignore[no-any-return]


# --- shared pieces ----------------------------------------------------------


def _head_dim(r: _Reader, d_model: int, n_heads: int) -> int:
    # Some configs write head_dim: null or 0 to mean "d_model // n_heads".
    head_dim = r.get_int("head_dim")
    if head_dim is not None and head_dim > 0:
        return head_dim  # type: ignore[no-any-return]
    return _divide(r, d_model, n_heads)


def _divide(r: _Reader, d_model: int, n_heads: int) -> int:
    if n_heads <= 0:
        # Name the key this file actually uses for the head count.
        key = next(
            (k for k in ("num_attention_heads", "n_head", "num_heads") if k in r.data),
            "num_attention_heads",
        )
        raise r.error(key, f"must be positive, got {n_heads}")
    return d_model // n_heads


def _kv_heads_unless_mha(r: _Reader, n_heads: int) -> int | None:
    # TransformerLens switches to grouped-query attention whenever
    # n_key_value_heads is set, so it leaves it unset for plain multi-head models.
    kv = r.get_int("num_key_value_heads", n_heads)
    return None if kv == n_heads else kv


def _rms_decoder(r: _Reader) -> dict[str, Any]:
    """The fields most RMSNorm + rotary + gated-MLP decoders share."""
    d_model = r.req_int("hidden_size")
    n_heads = r.req_int("num_attention_heads")
    return {
        "d_model": d_model,
        "n_heads": n_heads,
        "d_head": _divide(r, d_model, n_heads),
        "d_mlp": r.req_int("intermediate_size"),
        "n_layers": r.req_int("num_hidden_layers"),
        "d_vocab": r.req_int("vocab_size"),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "gated_mlp": True,
    }


def _local_global(n_layers: int, is_global: Callable[[int], bool]) -> list[str]:
    return ["global" if is_global(i) else "local" for i in range(n_layers)]


def _attn_types_from_layer_types(r: _Reader, key: str = "layer_types") -> list[str] | None:
    layer_types = r.get_list(key)
    if not layer_types:
        return None
    out = []
    for i, kind in enumerate(layer_types):
        if not isinstance(kind, str):
            raise r.error(f"{key}[{i}]", f"expected a string, got {kind!r}")
        out.append("local" if kind == "sliding_attention" else "global")
    return out


# --- one converter per architecture ------------------------------------------
#
# Each returns TransformerLens's ``cfg_dict`` for that architecture (before the
# name-based rules in from_hf_config). Defaults for missing keys are those of
# the matching transformers config class.


def _gpt2(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.get_int("n_embd", 768)
    n_heads = r.get_int("n_head", 12)
    return {
        "d_model": d_model,
        "d_head": _divide(r, d_model, n_heads),
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": r.get_int("n_layer", 12),
        # Old GPT-2 files carry n_ctx beside n_positions; TransformerLens reads n_ctx.
        "n_ctx": r.get_int("n_ctx", r.get_int("n_positions", 1024)),
        "eps": r.get_num("layer_norm_epsilon", 1e-5),
        "d_vocab": r.get_int("vocab_size", 50257),
        "act_fn": r.get_str("activation_function", "gelu_new"),
        "scale_attn_by_inverse_layer_idx": r.get_bool("scale_attn_by_inverse_layer_idx", False),
        "normalization_type": "LN",
    }


def _gpt_neo(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.get_int("hidden_size", 2048)
    n_heads = r.get_int("num_heads", 8)
    n_layers = r.get_int("num_layers", 24)
    return {
        "d_model": d_model,
        "d_head": _divide(r, d_model, n_heads),
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": n_layers,
        "n_ctx": r.get_int("max_position_embeddings", 2048),
        "eps": r.get_num("layer_norm_epsilon", 1e-5),
        "d_vocab": r.get_int("vocab_size", 50257),
        "attn_types": _gpt_neo_layers(r, n_layers),
        "act_fn": r.get_str("activation_function", "gelu_new"),
        "use_attn_scale": False,
        "use_local_attn": True,
        "window_size": r.get_int("window_size", 256),
        "normalization_type": "LN",
    }


def _gpt_neo_layers(r: _Reader, n_layers: int) -> list[str]:
    # The file may hold the expanded list (attention_layers) or only the
    # compact form transformers expands it from: [[["global", "local"], 12]].
    layers = r.get_list("attention_layers")
    if layers is None:
        compact = r.get_list("attention_types")
        if compact is None:
            compact = [[["global", "local"], n_layers // 2]]
        layers = []
        for i, item in enumerate(compact):
            ok = (
                isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], list)
                and _is_int(item[1])
            )
            if not ok:
                raise r.error(f"attention_types[{i}]", "expected [[kinds...], repeat]")
            layers.extend(list(item[0]) * item[1])
    if len(layers) != n_layers or not all(k in ("global", "local") for k in layers):
        raise r.error(
            "attention_layers",
            f"expected {n_layers} entries of 'global' or 'local', got {layers!r}",
        )
    return [str(k) for k in layers]


def _opt(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.get_int("hidden_size", 768)
    n_heads = r.get_int("num_attention_heads", 12)
    return {
        "d_model": d_model,
        "d_head": _divide(r, d_model, n_heads),
        "n_heads": n_heads,
        "d_mlp": r.get_int("ffn_dim", 3072),
        "n_layers": r.get_int("num_hidden_layers", 12),
        "n_ctx": r.get_int("max_position_embeddings", 2048),
        # OPT's config has no epsilon; its LayerNorms use torch's default.
        "eps": 1e-5,
        "d_vocab": r.get_int("vocab_size", 50272),
        "act_fn": r.get_str("activation_function", "relu"),
        "normalization_type": "LN",
    }


def _gptj(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.get_int("n_embd", 4096)
    n_heads = r.get_int("n_head", 16)
    return {
        "d_model": d_model,
        "d_head": _divide(r, d_model, n_heads),
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": r.get_int("n_layer", 28),
        "n_ctx": r.get_int("n_positions", 2048),
        "eps": 1e-5,
        "d_vocab": r.get_int("vocab_size", 50400),
        "act_fn": r.get_str("activation_function", "gelu_new"),
        "parallel_attn_mlp": True,
        "positional_embedding_type": "rotary",
        "rotary_dim": r.get_int("rotary_dim", 64),
        "rotary_adjacent_pairs": True,
        "normalization_type": "LN",
    }


def _gpt_neox(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.req_int("hidden_size")
    n_heads = r.req_int("num_attention_heads")
    d_head = _divide(r, d_model, n_heads)
    return {
        "d_model": d_model,
        "d_head": d_head,
        "n_heads": n_heads,
        "d_mlp": r.req_int("intermediate_size"),
        "n_layers": r.req_int("num_hidden_layers"),
        "n_ctx": r.get_int("max_position_embeddings", 2048),
        "eps": r.get_num("layer_norm_eps", 1e-5),
        "d_vocab": r.req_int("vocab_size"),
        "act_fn": r.get_str("hidden_act", "gelu"),
        "parallel_attn_mlp": True,
        "positional_embedding_type": "rotary",
        "rotary_dim": round(_partial_rotary(r, "rotary_pct", 0.25) * d_head),
        "normalization_type": "LN",
        "default_prepend_bos": False,
    }


def _bloom(r: _Reader, name: str) -> dict[str, Any]:
    # BLOOM files spell the width n_embed; transformers also accepts hidden_size.
    d_model = r.get_int("n_embed", r.get_int("hidden_size", 64))
    n_heads = r.get_int("n_head", r.get_int("num_attention_heads", 8))
    return {
        "d_model": d_model,
        "d_head": _divide(r, d_model, n_heads),
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": r.get_int("n_layer", r.get_int("num_hidden_layers", 2)),
        # Capped for the tokenizer, whatever seq_length says.
        "n_ctx": _LONG_CONTEXT_CAP,
        "d_vocab": r.get_int("vocab_size", 250880),
        "act_fn": "gelu_fast",
        "eps": r.get_num("layer_norm_epsilon", 1e-5),
        "normalization_type": "LN",
        "post_embedding_ln": True,
        "positional_embedding_type": "alibi",
        "default_prepend_bos": False,
    }


def _llama(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_ctx=r.get_int("max_position_embeddings", 2048),
        eps=r.get_num("rms_norm_eps", 1e-6),
        act_fn=r.get_str("hidden_act", "silu"),
        n_key_value_heads=_kv_heads_unless_mha(r, cfg["n_heads"]),
        final_rms=True,
    )
    if "llama" in name.lower():
        # TransformerLens writes the Meta Llama family out by hand; those
        # tables carry the RoPE base and Llama 3's scaling, which the file holds too.
        cfg["rotary_base"] = _rope_theta(r, 10000.0)
        cfg.update(_ntk_by_parts(r, cfg["n_ctx"]))
        if any(v in name for v in ("Llama-3.1", "Llama-3.2", "Llama-3.3")):
            cfg["n_ctx"] = min(cfg["n_ctx"], _LONG_CONTEXT_CAP)
        if name.startswith("codellama"):
            # Code Llama's file says 16384; TransformerLens keeps Llama 2's 4096.
            cfg["n_ctx"] = min(cfg["n_ctx"], _CODE_LLAMA_CONTEXT)
    # Other Llama-architecture models (Yi, ...) go through TransformerLens's
    # generic branch, which ignores rope_theta and rope_scaling: Yi-6B's real
    # base of 5e6 comes out as the default 10000. Kept for agreement.
    return cfg


def _mistral(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.req_int("hidden_size")
    n_heads = r.req_int("num_attention_heads")
    n_layers = r.req_int("num_hidden_layers")
    window = r.get_int("sliding_window")
    return {
        "d_model": d_model,
        "d_head": _head_dim(r, d_model, n_heads),
        "n_heads": n_heads,
        "d_mlp": r.req_int("intermediate_size"),
        "n_layers": n_layers,
        "n_ctx": min(r.get_int("max_position_embeddings", 4096 * 32), _LONG_CONTEXT_CAP),
        "d_vocab": r.req_int("vocab_size"),
        "act_fn": r.get_str("hidden_act", "silu"),
        "window_size": window,
        "attn_types": ["local"] * n_layers if window else None,
        "use_local_attn": bool(window),
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "rotary_base": _rope_theta(r, 10000.0),
        "n_key_value_heads": r.get_int("num_key_value_heads", 8),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "gated_mlp": True,
    }


def _mixtral(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_ctx=r.get_int("max_position_embeddings", 4096 * 32),
        act_fn=r.get_str("hidden_act", "silu"),
        rotary_base=_rope_theta(r, 1e6),
        # TransformerLens keeps the window but never turns local attention on.
        window_size=r.get_int("sliding_window"),
        attn_types=["global"] * cfg["n_layers"],
        eps=r.get_num("rms_norm_eps", 1e-5),
        n_key_value_heads=r.get_int("num_key_value_heads", 8),
        num_experts=r.get_int("num_local_experts", 8),
        experts_per_token=r.get_int("num_experts_per_tok", 2),
    )
    return cfg


def _gpt_oss(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        d_head=r.get_int("head_dim", 64),
        n_ctx=r.get_int("max_position_embeddings", 131072),
        act_fn=r.get_str("hidden_act", "silu"),
        rotary_base=_rope_theta(r, 150000.0),
        eps=r.get_num("rms_norm_eps", 1e-5),
        n_key_value_heads=r.get_int("num_key_value_heads", 8),
        final_rms=True,
        num_experts=r.get_int("num_local_experts", 128),
        experts_per_token=r.get_int("num_experts_per_tok", r.get_int("experts_per_token", 4)),
    )
    # gpt-oss ships YaRN scaling (factor 32) and alternating sliding windows;
    # TransformerLens's gpt-oss conversion uses neither, so neither is set here.
    return cfg


def _qwen(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.req_int("hidden_size")
    n_heads = r.req_int("num_attention_heads")
    return {
        "d_model": d_model,
        "d_head": _divide(r, d_model, n_heads),
        "n_heads": n_heads,
        # The remote code's intermediate_size counts both halves of the gate.
        "d_mlp": r.req_int("intermediate_size") // 2,
        "n_layers": r.req_int("num_hidden_layers"),
        "n_ctx": min(r.get_int("seq_length", 2048), _LONG_CONTEXT_CAP),
        "eps": r.get_num("layer_norm_epsilon", 1e-6),
        "d_vocab": r.req_int("vocab_size"),
        "act_fn": "silu",
        "use_attn_scale": r.get_bool("scale_attn_weights", True),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_dim": r.get_int("kv_channels", _divide(r, d_model, n_heads)),
        "tokenizer_prepends_bos": True,
        "trust_remote_code": True,
        "final_rms": True,
        "gated_mlp": True,
        "default_prepend_bos": False,
    }


def _qwen2(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_key_value_heads=r.get_int("num_key_value_heads", cfg["n_heads"]),
        n_ctx=min(r.get_int("max_position_embeddings", 32768), _LONG_CONTEXT_CAP),
        eps=r.get_num("rms_norm_eps", 1e-6),
        act_fn=r.get_str("hidden_act", "silu"),
        initializer_range=r.get_num("initializer_range", 0.02),
        rotary_base=int(_rope_theta(r, 10000.0)),
        tokenizer_prepends_bos=True,
        final_rms=True,
        default_prepend_bos=False,
    )
    return cfg


def _qwen3(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        d_head=_head_dim(r, cfg["d_model"], cfg["n_heads"]),
        n_key_value_heads=_kv_heads_unless_mha(r, cfg["n_heads"]),
        n_ctx=min(r.get_int("max_position_embeddings", 32768), _LONG_CONTEXT_CAP),
        eps=r.get_num("rms_norm_eps", 1e-6),
        act_fn=r.get_str("hidden_act", "silu"),
        initializer_range=r.get_num("initializer_range", 0.02),
        rotary_base=int(_rope_theta(r, 10000.0)),
        tokenizer_prepends_bos=True,
        final_rms=True,
        default_prepend_bos=False,
        use_qk_norm=True,
        trust_remote_code=True,
    )
    return cfg


def _phi(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.req_int("hidden_size")
    n_heads = r.req_int("num_attention_heads")
    d_head = _divide(r, d_model, n_heads)
    return {
        "d_model": d_model,
        "d_head": d_head,
        "n_heads": n_heads,
        "d_mlp": r.req_int("intermediate_size"),
        "n_layers": r.req_int("num_hidden_layers"),
        "n_ctx": r.get_int("max_position_embeddings", 2048),
        "eps": r.get_num("layer_norm_eps", 1e-5),
        "d_vocab": r.req_int("vocab_size"),
        "act_fn": r.get_str("hidden_act", "gelu_new"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "LN",
        "positional_embedding_type": "rotary",
        "trust_remote_code": True,
        "rotary_base": _rope_theta(r, 10000.0),
        "parallel_attn_mlp": True,
        "default_prepend_bos": False,
        "rotary_dim": round(_partial_rotary(r, "partial_rotary_factor", 0.5) * d_head),
    }


def _phi3(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_key_value_heads=_kv_heads_unless_mha(r, cfg["n_heads"]),
        n_ctx=r.get_int("max_position_embeddings", 4096),
        eps=r.get_num("rms_norm_eps", 1e-5),
        act_fn=r.get_str("hidden_act", "silu"),
        initializer_range=r.get_num("initializer_range", 0.02),
        rotary_base=_rope_theta(r, 10000.0),
    )
    return cfg


def _apertus(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_key_value_heads=_kv_heads_unless_mha(r, cfg["n_heads"]),
        n_ctx=r.get_int("max_position_embeddings", 65536),
        eps=r.get_num("rms_norm_eps", 1e-5),
        act_fn=r.get_str("hidden_act", "xielu"),
        rotary_base=_rope_theta(r, 12000000),
        # Apertus's MLP is up -> xIELU -> down, with no gate.
        gated_mlp=False,
        final_rms=True,
        use_qk_norm=r.get_bool("qk_norm", False),
    )
    cfg.update(_ntk_by_parts(r, cfg["n_ctx"]))
    return cfg


def _gemma(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        d_head=r.get_int("head_dim", 256),
        n_key_value_heads=r.get_int("num_key_value_heads", cfg["n_heads"]),
        n_ctx=r.get_int("max_position_embeddings", 8192),
        eps=r.get_num("rms_norm_eps", 1e-6),
        act_fn=r.get_str("hidden_act", "gelu_pytorch_tanh"),
        initializer_range=r.get_num("initializer_range", 0.02),
        rotary_base=_rope_theta(r, 10000.0),
        final_rms=True,
    )
    return cfg


def _gemma_activation(r: _Reader) -> str:
    # Gemma 2 and 3 name the MLP activation hidden_activation; hidden_act is
    # the older key, kept in some files.
    return r.get_str("hidden_activation", r.get_str("hidden_act", "gelu_pytorch_tanh"))  # type: ignore[no-any-return]


def _gemma2(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    n_layers = cfg["n_layers"]
    cfg.update(
        d_head=r.get_int("head_dim", 256),
        n_key_value_heads=r.get_int("num_key_value_heads", 4),
        n_ctx=r.get_int("max_position_embeddings", 8192),
        eps=r.get_num("rms_norm_eps", 1e-6),
        act_fn=_gemma_activation(r),
        initializer_range=r.get_num("initializer_range", 0.02),
        rotary_base=_rope_theta(r, 10000.0),
        # Gemma 2 scales scores by 1/sqrt(query_pre_attn_scalar), not 1/sqrt(d_head).
        attn_scale=math.sqrt(r.get_num("query_pre_attn_scalar", 256)),
        window_size=r.get_int("sliding_window", 4096),
        use_local_attn=True,
        # TransformerLens's table starts with a global layer and alternates.
        attn_types=_local_global(n_layers, lambda i: i % 2 == 0),
        attn_scores_soft_cap=r.get_num("attn_logit_softcapping", 50.0),
        output_logits_soft_cap=r.get_num("final_logit_softcapping", 30.0),
        final_rms=True,
        use_normalization_before_and_after=True,
    )
    return cfg


def _gemma3(r: _Reader, name: str) -> dict[str, Any]:
    # The defaults below are Gemma3TextConfig's: the multimodal files leave
    # most text settings out of text_config.
    d_model = r.get_int("hidden_size", 2304)
    n_heads = r.get_int("num_attention_heads", 8)
    n_layers = r.get_int("num_hidden_layers", 26)
    pattern = r.get_int("sliding_window_pattern", 6)
    if pattern <= 0:
        raise r.error("sliding_window_pattern", f"must be positive, got {pattern}")
    attn_types = _attn_types_from_layer_types(r) or _local_global(
        n_layers, lambda i: (i + 1) % pattern == 0
    )
    global_theta, local_theta, scaling_factor = _gemma3_rope(r)
    cfg: dict[str, Any] = {
        "d_model": d_model,
        "d_head": r.get_int("head_dim", 256),
        "n_heads": n_heads,
        "d_mlp": r.get_int("intermediate_size", 9216),
        "n_layers": n_layers,
        "n_ctx": min(r.get_int("max_position_embeddings", 131072), _GEMMA3_CONTEXT_CAP),
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "d_vocab": r.get_int("vocab_size", 262208),
        "act_fn": _gemma_activation(r),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "rotary_base": global_theta,
        "rotary_base_local": local_theta,
        "rotary_scaling_factor": scaling_factor,
        "positional_embedding_type": "rotary",
        "n_key_value_heads": r.get_int("num_key_value_heads", 4),
        "gated_mlp": True,
        "final_rms": True,
        "use_normalization_before_and_after": True,
        "use_qk_norm": True,
        "window_size": r.get_int("sliding_window", 4096),
        "use_local_attn": True,
        "attn_types": attn_types,
        # Gemma 3 files say null here; a value would be a new model.
        "attn_scores_soft_cap": r.get_num("attn_logit_softcapping", -1.0),
        "output_logits_soft_cap": r.get_num("final_logit_softcapping", -1.0),
    }
    # TransformerLens scales by sqrt(d_head) for Gemma 3, although the 27B file
    # says query_pre_attn_scalar = 168; so query_pre_attn_scalar is not read.
    return cfg


def _gemma3_rope(r: _Reader) -> tuple[float | int, float | int, float | int]:
    """Global base, local base and linear scaling factor of Gemma 3's two RoPEs."""
    params = _rope_params(r)
    full = params.get("full_attention")
    sliding = params.get("sliding_attention")
    if isinstance(full, Mapping) or isinstance(sliding, Mapping):
        # transformers >= 5: one rope_parameters entry per layer type.
        full = full if isinstance(full, Mapping) else {}
        sliding = sliding if isinstance(sliding, Mapping) else {}
        global_theta = _scaling_num(r, full, "rope_theta", 1_000_000)
        local_theta = _scaling_num(r, sliding, "rope_theta", 10_000)
        kind = full.get("rope_type")
        factor = _scaling_num(r, full, "factor", 1.0) if kind == "linear" else 1.0
        return global_theta, local_theta, factor
    global_theta = _rope_theta(r, 1_000_000)
    local_theta = r.get_num("rope_local_base_freq", 10_000)
    kind, scaling = _rope_scaling(r)
    factor = _scaling_num(r, scaling, "factor", 1.0) if kind == "linear" else 1.0
    return global_theta, local_theta, factor


def _gemma3_multimodal(r: _Reader, name: str) -> dict[str, Any]:
    # Only the language model is converted; its settings sit in text_config.
    return _gemma3(r.nested("text_config"), name)


def _olmo(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_ctx=r.get_int("max_position_embeddings", 2048),
        # OLMo 1 uses a weightless LayerNorm with a fixed epsilon.
        eps=1e-5,
        act_fn=r.get_str("hidden_act", "silu"),
        initializer_range=r.get_num("initializer_range", 0.02),
        normalization_type="LN",
        rotary_base=_rope_theta(r, 10000.0),
        attn_types=["global"] * cfg["n_layers"],
    )
    return cfg


def _olmo2(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_ctx=r.get_int("max_position_embeddings", 2048),
        eps=r.get_num("rms_norm_eps", 1e-5),
        act_fn=r.get_str("hidden_act", "silu"),
        initializer_range=r.get_num("initializer_range", 0.02),
        rotary_base=_rope_theta(r, 10000.0),
        attn_types=["global"] * cfg["n_layers"],
    )
    return cfg


def _olmo3(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_key_value_heads=r.get_int("num_key_value_heads", cfg["n_heads"]),
        n_ctx=r.get_int("max_position_embeddings", 2048),
        eps=r.get_num("rms_norm_eps", 1e-5),
        act_fn=r.get_str("hidden_act", "silu"),
        initializer_range=r.get_num("initializer_range", 0.02),
        rotary_base=_rope_theta(r, 500000.0),
        tie_word_embeddings=r.get_bool("tie_word_embeddings", False),
        # Sliding layers are marked local, but TransformerLens sets no window.
        attn_types=_attn_types_from_layer_types(r) or ["global"] * cfg["n_layers"],
    )
    cfg.update(_yarn(r))
    return cfg


def _olmoe(r: _Reader, name: str) -> dict[str, Any]:
    cfg = _rms_decoder(r)
    cfg.update(
        n_ctx=r.get_int("max_position_embeddings", 4096),
        eps=r.get_num("rms_norm_eps", 1e-5),
        act_fn=r.get_str("hidden_act", "silu"),
        num_experts=r.get_int("num_experts", 64),
        experts_per_token=r.get_int("num_experts_per_tok", 8),
        norm_topk_prob=r.get_bool("norm_topk_prob", False),
        n_key_value_heads=r.get_int("num_key_value_heads", cfg["n_heads"]),
        rotary_base=_rope_theta(r, 10000.0),
        tie_word_embeddings=r.get_bool("tie_word_embeddings", False),
        initializer_range=r.get_num("initializer_range", 0.02),
    )
    return cfg


def _bert(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.get_int("hidden_size", 768)
    n_heads = r.get_int("num_attention_heads", 12)
    return {
        "d_model": d_model,
        "d_head": _divide(r, d_model, n_heads),
        "n_heads": n_heads,
        "d_mlp": r.get_int("intermediate_size", 3072),
        "n_layers": r.get_int("num_hidden_layers", 12),
        "n_ctx": r.get_int("max_position_embeddings", 512),
        "eps": r.get_num("layer_norm_eps", 1e-12),
        "d_vocab": r.get_int("vocab_size", 30522),
        "act_fn": "gelu",
        "attention_dir": "bidirectional",
    }


def _t5(r: _Reader, name: str) -> dict[str, Any]:
    return {
        "d_model": r.get_int("d_model", 512),
        "d_head": r.get_int("d_kv", 64),
        "n_heads": r.get_int("num_heads", 8),
        "d_mlp": r.get_int("d_ff", 2048),
        "d_vocab": r.get_int("vocab_size", 32128),
        "n_layers": r.get_int("num_layers", 6),
        # A top-level max_length (a generation setting) wins, as in TransformerLens.
        "n_ctx": r.get_int("max_length", r.get_int("n_positions", 512)),
        "eps": r.get_num("layer_norm_epsilon", 1e-6),
        "act_fn": r.get_str("feed_forward_proj", "relu"),
        "positional_embedding_type": "relative_positional_bias",
        "relative_attention_max_distance": r.get_int("relative_attention_max_distance", 128),
        "relative_attention_num_buckets": r.get_int("relative_attention_num_buckets", 32),
        "decoder_start_token_id": r.get_int("decoder_start_token_id", 0),
        "attention_dir": "bidirectional",
        "use_attn_scale": False,
        "tie_word_embeddings": r.get_bool("tie_word_embeddings", True),
    }


_CONVERTERS: dict[str, Callable[[_Reader, str], dict[str, Any]]] = {
    "GPT2LMHeadModel": _gpt2,
    "GPTNeoForCausalLM": _gpt_neo,
    "GPTNeoXForCausalLM": _gpt_neox,
    "GPTJForCausalLM": _gptj,
    "OPTForCausalLM": _opt,
    "BloomForCausalLM": _bloom,
    "LlamaForCausalLM": _llama,
    "MistralForCausalLM": _mistral,
    "MixtralForCausalLM": _mixtral,
    "GemmaForCausalLM": _gemma,
    "Gemma2ForCausalLM": _gemma2,
    "Gemma3ForCausalLM": _gemma3,
    "Gemma3ForConditionalGeneration": _gemma3_multimodal,
    "Qwen2ForCausalLM": _qwen2,
    "Qwen3ForCausalLM": _qwen3,
    "QWenLMHeadModel": _qwen,
    "PhiForCausalLM": _phi,
    "Phi3ForCausalLM": _phi3,
    "OlmoForCausalLM": _olmo,
    "Olmo2ForCausalLM": _olmo2,
    "Olmo3ForCausalLM": _olmo3,
    "OlmoeForCausalLM": _olmoe,
    "GptOssForCausalLM": _gpt_oss,
    "ApertusForCausalLM": _apertus,
    "BertForMaskedLM": _bert,
    "T5ForConditionalGeneration": _t5,
}

#: Hugging Face ``architectures`` names that :func:`from_hf_config` understands.
SUPPORTED_ARCHITECTURES: tuple[str, ...] = tuple(sorted(_CONVERTERS))


# --- reading the source -------------------------------------------------------


def _load(
    source: str | PathLike[str] | Mapping[str, Any],
) -> tuple[Mapping[str, Any], str | None]:
    if isinstance(source, Mapping):
        return source, None
    if not isinstance(source, str | PathLike):
        raise HFConfigError(
            f"expected a path or a mapping, got {type(source).__name__}", key="source"
        )
    path = Path(source)
    if path.is_dir():
        path = path / "config.json"
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HFConfigError("no such file", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HFConfigError(f"cannot read: {exc}", file=file) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HFConfigError(
            f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, col=exc.colno
        ) from None
    if not isinstance(data, dict):
        raise HFConfigError(f"expected a JSON object, got {type(data).__name__}", file=file)
    return data, file


def _architecture(r: _Reader) -> str:
    archs = r.get_list("architectures")
    if not archs:
        raise r.error("architectures", "missing required key (it names the model class)")
    arch = archs[0]
    if not isinstance(arch, str) or arch not in _CONVERTERS:
        raise r.error(
            "architectures",
            f"unsupported architecture {arch!r}; supported: {', '.join(SUPPORTED_ARCHITECTURES)}",
        )
    return arch


def _without_defaults(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None and values equal to the field's default: TOML has no null, and
    a preset that only says what is special about the model reads better."""
    specs = defaults()
    out = {}
    for key, value in cfg.items():
        if value is None:
            continue
        # 10000.0 where the default is 10000 stays: the type is part of the value.
        if key in specs and _same(specs[key], value) and type(specs[key]) is type(value):
            continue
        out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    # true is not 1 here: a preset that says 1 where the default is true differs.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b or math.isclose(a, b, rel_tol=1e-12))
    return bool(a == b)


def from_hf_config(
    source: str | PathLike[str] | Mapping[str, Any], /, *, name: str | None = None
) -> dict[str, Any]:
    """Preset values for a Hugging Face model, from its ``config.json`` alone.

    ``source`` is the path of a ``config.json``, a folder holding one, or the
    already-parsed mapping. ``name`` is the official model name (as on the
    Hub); without it the file's ``_name_or_path`` is used. The name matters:
    ``model_name`` is its last ``/`` part, ``tokenizer_name`` is the whole
    name, and TransformerLens applies some rules by name (context caps,
    ``trust_remote_code``).

    The result holds only JSON/TOML-friendly values (``dtype`` stays out: the
    checkpoint's storage type is not how TransformerLens loads it) and leaves
    out every field at its default, so that
    ``HookedTransformerConfig(**values)`` is what TransformerLens builds.

    >>> values = from_hf_config({"architectures": ["GPT2LMHeadModel"], "n_layer": 2},
    ...                         name="me/tiny-gpt2")
    >>> values["n_layers"], values["model_name"], values["act_fn"]
    (2, 'tiny-gpt2', 'gelu_new')

    Raises :class:`HFConfigError` (a :class:`PresetError`) for unreadable or
    invalid JSON, an unsupported architecture, or a missing or mistyped key.
    """
    data, file = _load(source)
    reader = _Reader(data, file)
    arch = _architecture(reader)
    reader.architecture = arch
    if name is None:
        name = reader.get_str("_name_or_path")
    if not name:
        raise HFConfigError(
            "no model name: pass name= (the config has no _name_or_path)", file=file
        )
    # Checkpoint dtypes are read only to catch a malformed file early.
    for key in ("torch_dtype", "dtype"):
        reader.get_str(key)

    cfg = _CONVERTERS[arch](reader, name)
    cfg["original_architecture"] = arch
    cfg["tokenizer_name"] = name
    cfg["model_name"] = name.split("/")[-1]
    if name.startswith(_REMOTE_CODE_PREFIXES):
        cfg["trust_remote_code"] = True
    if name.startswith("roneneldan/TinyStories"):
        cfg["n_ctx"] = _TINYSTORIES_CONTEXT
    # A hand-written attn_scale equal to the derived sqrt(d_head) is noise.
    if "attn_scale" in cfg and _same(cfg["attn_scale"], math.sqrt(cfg["d_head"])):
        del cfg["attn_scale"]
    if cfg.get("rotary_dim") == cfg["d_head"]:
        del cfg["rotary_dim"]
    return _without_defaults(cfg)


# --- comparing with existing presets -------------------------------------------


def diff_values(values: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """What a preset that ``extends`` ``base`` must say to end up equal to ``values``.

    That is every field of ``values`` that ``base`` lacks or sets differently,
    plus, for a field ``base`` sets and ``values`` leaves at its default, that
    default: explicitly, or under the reserved ``unset`` key when the default
    is None (TOML cannot write None).

    >>> diff_values({"n_layers": 12, "d_model": 768}, {"n_layers": 24, "d_model": 768})
    {'n_layers': 12}
    >>> diff_values({"n_layers": 2}, {"n_layers": 2, "window_size": 8, "eps": 1e-6})
    {'eps': 1e-05, 'unset': ['window_size']}
    >>> diff_values({"n_layers": 2}, {"n_layers": 2, "normalization_type": None})
    {'normalization_type': 'LN'}
    """
    specs = defaults()
    out: dict[str, Any] = {}
    unset: list[str] = []
    none: list[str] = []
    for key, value in values.items():
        if key not in base or not _same(base[key], value):
            if value is None:
                none.append(key)
            else:
                out[key] = value
    for key, base_value in base.items():
        if key in values or key not in FIELDS or key in ("n_params", "device", "init_weights"):
            continue
        default = specs.get(key)
        if _same(default, base_value):
            continue
        if default is None:
            unset.append(key)
        else:
            # Also when the base sets None (its 'none' key): the default must be restated.
            out[key] = default
    if unset:
        out["unset"] = unset
    if none:
        out["none"] = none
    return out


def closest_preset(values: Mapping[str, Any], candidates: Mapping[str, Mapping[str, Any]]) -> str:
    """The name of the candidate preset that differs from ``values`` in fewest fields.

    ``candidates`` maps preset names to resolved values. A candidate with the
    same ``original_architecture`` always beats one without; ties go to the
    alphabetically first name. Naming fields (``model_name``,
    ``tokenizer_name``) are not counted, since they differ for every model.

    >>> closest_preset({"n_layers": 12, "d_model": 768},
    ...                {"a": {"n_layers": 24, "d_model": 1024},
    ...                 "b": {"n_layers": 12, "d_model": 1024}})
    'b'
    """
    if not candidates:
        raise HFConfigError("no presets to compare with")
    specs = defaults()
    ignored = {"model_name", "tokenizer_name", "n_params", "device", "init_weights"}

    def score(item: tuple[str, Mapping[str, Any]]) -> tuple[bool, int, str]:
        cand_name, cand = item
        keys = (set(values) | set(cand)) & set(FIELDS)
        differing = sum(
            1
            for k in keys - ignored
            if not _same(values.get(k, specs.get(k)), cand.get(k, specs.get(k)))
        )
        other_arch = cand.get("original_architecture") != values.get("original_architecture")
        return other_arch, differing, cand_name

    return min(candidates.items(), key=score)[0]
