"""A Hugging Face ``config.json`` into preset values, the way TransformerLens would.

TransformerLens 3.9 builds a ``HookedTransformerConfig`` from a model's Hugging
Face config (``convert_hf_model_config``, reading the object that
``transformers`` 5 makes of the file) plus a few rules keyed on the model's
name (context-length caps, ``trust_remote_code``). :func:`from_hf_config` does the
same offline: it reads the JSON with :mod:`json` (:mod:`._json`), never imports
``transformers`` or torch, hands the file to its architecture's family
(:mod:`.architectures`), applies the rules by name and returns plain values ready
for a TOML preset.

Two sources of truth are followed, in this order:

* what TransformerLens 3.9 does with the config object, including what it
  ignores (Gemma 3's ``query_pre_attn_scalar``) and what it sets regardless of
  the file (Mixtral's ``norm_topk_prob``, Apertus's QK norm);
* what the ``transformers`` config class makes of the file: a key that is
  missing takes that class's default, legacy spellings (``rope_scaling``,
  ``rotary_pct``, ``n_embed``) are read as the class reads them, and
  ``rope_parameters`` is filled in the way ``transformers`` 5 standardises it.

Any malformed input is an :class:`HFConfigError` naming the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from os import PathLike
from typing import Any

from ..common.plain import same_value
from ..fields.keys import defaults
from ._json import load
from ._read import Reader, shown
from .architectures import ARCHITECTURES
from .errors import HFConfigError, HFConfigNote

__all__ = ["SUPPORTED_ARCHITECTURES", "HFConfigError", "HFConfigNote", "from_hf_config"]

# Context TransformerLens trims some models to by name.
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

# The TinyStories models were trained on 512 tokens although their config says
# 2048; TransformerLens trims the positional embedding to match.
_TINYSTORIES_CONTEXT = 512


#: Hugging Face ``architectures`` names that :func:`from_hf_config` understands.
SUPPORTED_ARCHITECTURES: tuple[str, ...] = tuple(sorted(ARCHITECTURES))


def _architecture(r: Reader) -> str:
    archs = r.get_list("architectures", nullable=False)
    if not archs:
        raise r.error("architectures", "missing required key (it names the model class)")
    arch = archs[0]
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        raise r.error(
            "architectures",
            f"unsupported architecture {shown(arch)}; "
            f"supported: {', '.join(SUPPORTED_ARCHITECTURES)}",
        )
    return arch


def _reads_the_file(name: str) -> bool:
    # TransformerLens never fetches the config of a model whose official name
    # mentions llama or gemma: it knows the architecture from the name.
    lowered = name.lower()
    return "llama" not in lowered and "gemma" not in lowered


def _quantization(r: Reader) -> Any:
    """The checkpoint's ``quant_method``, which TransformerLens 3.9 records."""
    quant = r.get_dict("quantization_config")
    if quant is None:
        return None
    method = quant.get("quant_method")
    if method is not None and not isinstance(method, str):
        raise r.error("quantization_config.quant_method", f"expected a string, got {shown(method)}")
    return method


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
    # Numbers read from a file and computed from it may differ in the last bit.
    return same_value(a, b, rel_tol=1e-12)


def from_hf_config(
    source: str | PathLike[str] | Mapping[str, Any], /, *, name: str | None = None
) -> dict[str, Any]:
    """Preset values for a Hugging Face model, from its ``config.json`` alone.

    ``source`` is the path of a ``config.json``, a folder holding one, a model
    folder of the Hugging Face hub cache (``models--ORG--NAME``: the snapshot
    ``refs/main`` names, or the only one), a bare ``ORG/NAME`` to look up in
    that cache (offline), or the already-parsed mapping.

    ``name`` is the official model name (as on the Hub). Without it, the
    ``ORG/NAME`` of a hub cache folder (or the bare ``ORG/NAME`` given) is
    used, else the file's ``_name_or_path``, else there is none and
    ``model_name`` keeps the class default. The
    name matters: ``model_name`` is its last ``/`` part, ``tokenizer_name`` is
    the whole name, and TransformerLens applies some rules by name (context
    caps, ``trust_remote_code``).

    The values are what TransformerLens 3.9 builds for the model; a key the
    file leaves out takes the default of the ``transformers`` config class. Where
    the class has none and ``transformers`` 5 no longer writes the key (T5's
    ``n_positions`` and ``decoder_start_token_id``), the value T5's files carry is
    taken and said in an :class:`HFConfigNote` warning. A mapping may hold NumPy
    scalars: the values come out as plain Python ones. The
    result holds only JSON/TOML-friendly values (``dtype`` stays out: the
    checkpoint's storage type is not how TransformerLens loads it) and leaves
    out every field at its default, so that
    ``HookedTransformerConfig(**values)`` is what TransformerLens builds.

    >>> values = from_hf_config({"architectures": ["GPT2LMHeadModel"], "n_layer": 2,
    ...                          "n_ctx": 1024}, name="me/tiny-gpt2")
    >>> values["n_layers"], values["model_name"], values["act_fn"]
    (2, 'tiny-gpt2', 'gelu_new')

    Raises :class:`HFConfigError` (a :class:`PresetError`) for an unreadable
    file, invalid JSON, an unsupported architecture, a missing, mistyped or
    non-finite value, or values no preset can hold (TransformerLens takes a
    negative ``clip_qkv``; a preset cannot); nothing else escapes for any input
    data.
    """
    data, file, place_name = load(source)
    reader = Reader(data, file)
    arch = _architecture(reader)
    reader.architecture = arch
    if name is None:
        written = reader.get_str("_name_or_path", None)
        if place_name:
            # The hub cache folder is the repository the model was downloaded from, the
            # name TransformerLens is given; _name_or_path is whatever the uploader's
            # save recorded (TinyStories-1M's says EleutherAI/gpt-neo-125M).
            name = place_name
        # A saved checkpoint may record the local folder it came from: not a model's name.
        elif written and not written.startswith(("/", ".", "~")) and "\\" not in written:
            name = written
    elif not isinstance(name, str):
        raise HFConfigError(f"expected a name, got {type(name).__name__}", file=file, key="name")
    # Checkpoint dtypes are read only to catch a malformed file early.
    for key in ("torch_dtype", "dtype"):
        reader.get_str(key, None, nullable=True)

    name = name or ""
    cfg = ARCHITECTURES[arch].read(reader, name)
    cfg["original_architecture"] = arch
    if _reads_the_file(name):
        cfg["quantization_method"] = _quantization(reader)
    if name:
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
    values = _without_defaults(cfg)
    _check_loadable(values, file)
    return values


def _check_loadable(values: Mapping[str, Any], file: str | None) -> None:
    """Refuse values that read as a model no preset can hold.

    TransformerLens takes some values no real model has (a negative
    ``clip_qkv``, 32 heads over 5 key/value heads); a preset holding them would
    not load, so the file is refused here, naming the field, instead of
    handing out values that fail later.
    """
    from ..errors import PresetValidationError
    from ..fields.rules import check_and_derive

    try:
        check_and_derive(values)
    except PresetValidationError as error:
        raise HFConfigError(
            f"{error.reason} (as this config.json gives it)", file=file, key=error.key
        ) from None
