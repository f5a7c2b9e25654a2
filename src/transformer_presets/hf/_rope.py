"""RoPE both ways: the rotary settings a ``config.json`` holds, and how they are written.

Files written by transformers < 5 hold ``rope_theta`` at the top level and the
scaling in ``rope_scaling`` (whose kind is ``rope_type`` or the older ``type``);
transformers >= 5 folds both into ``rope_parameters``. Either way the class ends up
with one ``rope_parameters`` dict (or one per layer type), and that is what
TransformerLens reads: :func:`flat_rope` and :func:`layered_rope` build it as
transformers 5 standardises it, and :func:`ntk_by_parts` and :func:`read_yarn` turn
its scalings into preset fields. :func:`write_rope` goes the other way, in the
layout transformers 4 and 5 both read (``rope_theta`` and ``rope_scaling`` at the top
level), refusing a scaling the architecture's TransformerLens code does not read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._read import REQUIRED, Reader, bool_in, is_number, num_in, shown, to_float
from ._write import NTK_FIELDS, YARN_FIELDS, Export, kinds_of, relevant

__all__ = [
    "LLAMA3",
    "NO_SCALING",
    "as_written",
    "flat_rope",
    "hand_written",
    "layered_rope",
    "ntk_by_parts",
    "read_yarn",
    "rope_dict",
    "rope_kind",
    "write_rope",
    "written_by_hand",
]

# The rope scalings TransformerLens 3.9 reads from a config (transformers takes more:
# a YaRN rope_scaling on Mistral would build a model TransformerLens does not).
NO_SCALING: frozenset[str] = frozenset()
LLAMA3 = frozenset({"llama3"})


# --- reading ---------------------------------------------------------------------------


def rope_dict(r: Reader, key: str) -> Mapping[str, Any] | None:
    value = r.get_dict(key)
    if value is not None:
        for name in ("rope_type", "type"):
            kind = value.get(name)
            if kind is not None and not isinstance(kind, str):
                raise r.error(f"{key}.{name}", f"expected a string, got {shown(kind)}")
    return value


def written_by_hand(name: str) -> bool:
    """Whether ``name`` is one of the official models whose config TransformerLens
    writes out by hand (Meta's Llama family, Google's Gemma, AI2's OLMo 1 and 2)."""
    return name.startswith(("meta-llama/", "llama-", "codellama/", "google/gemma", "allenai/OLMo"))


def as_written(value: Any, kind: type) -> Any:
    """A number as TransformerLens's hand-written table for a family writes it.

    For the families it knows by name (Llama, Gemma, OLMo 1 and 2) TransformerLens
    does not read the file but a table of its own, where a RoPE base is an int for
    some families and a float for others; 10000 and 10000.0 differ in a preset.
    """
    if kind is float and is_number(value):
        return float(value)
    if kind is int and is_number(value) and float(value).is_integer():
        return int(value)
    return value


def hand_written(name: str, value: Any, kind: type) -> Any:
    """``value`` as TransformerLens's own table writes it, for a model it writes by hand."""
    return as_written(value, kind) if written_by_hand(name) else value


def flat_rope(
    r: Reader,
    default_theta: float,
    *,
    max_positions: Any = None,
    class_default: Mapping[str, Any] | None = None,
    partial_key: str | None = None,
    partial_default: float | None = None,
) -> dict[str, Any]:
    """The single ``rope_parameters`` dict most config classes build.

    ``class_default`` is what the class puts there when the file has no
    ``rope_parameters`` (gpt-oss's YaRN, Apertus's Llama 3 scaling);
    ``max_positions`` is the model's context, which scaled kinds take as their
    original length when the file gives none.
    """
    scaling = rope_dict(r, "rope_scaling")
    params = rope_dict(r, "rope_parameters")
    if params is None:
        params = class_default
    # transformers: rope_scaling (when not empty) replaces rope_parameters.
    rope = dict(scaling or params or {})
    theta = r.get_num("rope_theta", default_theta)
    rope.setdefault("rope_theta", theta)
    if partial_key is not None:
        partial = r.get_num(partial_key, partial_default, nullable=True)
        if partial is not None:
            rope.setdefault("partial_rotary_factor", partial)
    rope.setdefault("rope_type", rope.get("type", "default"))
    if rope["rope_type"] in ("llama3", "yarn", "longrope"):
        # A top-level original_max_position_embeddings (Phi-3 style) wins.
        if r.present("original_max_position_embeddings"):
            rope["original_max_position_embeddings"] = r.get_int("original_max_position_embeddings")
        else:
            rope.setdefault("original_max_position_embeddings", max_positions)
    where = "rope_scaling" if scaling else "rope_parameters"
    num_in(r, where, rope, "rope_theta", None)
    return rope


def layered_rope(
    r: Reader,
    global_theta: float,
    local_theta: float,
    local_theta_key: str | None,
    layer_kinds: list[str],
    max_positions: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Gemma 3's and OLMo 3's two RoPE settings: full-attention and sliding layers.

    The file's flat ``rope_scaling`` applies to the full-attention layers only,
    and its flat ``rope_theta`` too: the sliding layers take ``local_theta_key``
    (Gemma 3's ``rope_local_base_freq``) or the class default.
    """
    params = rope_dict(r, "rope_parameters")
    scaling = rope_dict(r, "rope_scaling")
    nested = dict(params) if params is not None else {}
    full = nested.get("full_attention")
    sliding = nested.get("sliding_attention")
    full = dict(full) if isinstance(full, Mapping) else {"rope_type": "default"}
    sliding = dict(sliding) if isinstance(sliding, Mapping) else {"rope_type": "default"}
    if scaling is not None:
        full.update(scaling)
    full.setdefault("rope_theta", r.get_num("rope_theta", global_theta))
    local_default = (
        local_theta if local_theta_key is None else r.get_num(local_theta_key, local_theta)
    )
    sliding.setdefault("rope_theta", local_default)
    present = {"global": "full_attention", "local": "sliding_attention"}
    for kind, name in present.items():
        part = full if name == "full_attention" else sliding
        # Only the layer types the model has are standardised.
        if kind not in layer_kinds:
            continue
        part.setdefault("rope_type", part.get("type", "default"))
        if part["rope_type"] in ("llama3", "yarn", "longrope"):
            part.setdefault("original_max_position_embeddings", max_positions)
    for name, part in (("full_attention", full), ("sliding_attention", sliding)):
        num_in(r, f"rope_parameters.{name}", part, "rope_theta", None)
    return full, sliding


def rope_kind(rope: Mapping[str, Any]) -> str:
    kind = rope.get("type") or rope.get("rope_type") or ""
    return kind.lower() if isinstance(kind, str) else ""


def ntk_by_parts(r: Reader, rope: Mapping[str, Any], n_ctx: Any) -> dict[str, Any]:
    """Llama 3's "NTK by parts" frequency scaling, when the RoPE settings ask for it."""
    if rope_kind(rope) != "llama3":
        return {}
    where = "rope_scaling" if r.present("rope_scaling") else "rope_parameters"
    return {
        "use_NTK_by_parts_rope": True,
        "NTK_original_ctx_len": num_in(r, where, rope, "original_max_position_embeddings", n_ctx),
        "NTK_by_parts_low_freq_factor": num_in(r, where, rope, "low_freq_factor", 1.0),
        "NTK_by_parts_high_freq_factor": num_in(r, where, rope, "high_freq_factor", 4.0),
        "NTK_by_parts_factor": num_in(r, where, rope, "factor", 1.0),
    }


def read_yarn(
    r: Reader,
    rope: Mapping[str, Any],
    *,
    factor: Any = REQUIRED,
    attention_factor: float | None = None,
    original: Any = REQUIRED,
    global_only: bool = False,
) -> dict[str, Any]:
    """YaRN's settings, when the RoPE settings ask for it, with the class's defaults.

    ``factor`` and ``original`` (the original context) are the defaults of a missing
    key (REQUIRED: null or missing is an error); ``attention_factor`` None derives the
    temperature from the factor, as transformers does. ``global_only``: YaRN stretches
    only the full-attention layers' rotary embedding (OLMo 3).
    """
    where = "rope_scaling" if r.present("rope_scaling") else "rope_parameters"

    def number(key: str, default: Any, why: str = "") -> Any:
        if default is not REQUIRED:
            return num_in(r, where, rope, key, default)
        value = num_in(r, where, rope, key, None)
        if value is None:
            raise r.error(f"{where}.{key}", f"missing required key{why}")
        return value

    stretch = number("factor", factor, " (YaRN needs a factor)")
    attention = num_in(r, where, rope, "attention_factor", attention_factor)
    if attention is None:
        # transformers' default temperature for YaRN: 0.1 * ln(factor) + 1.
        attention = 0.1 * math.log(stretch) + 1.0 if stretch > 1 else 1.0
    out: dict[str, Any] = {"use_yarn_rope": True}
    if global_only:
        out["yarn_global_attn_only"] = True
    out.update(
        yarn_factor=to_float(r, f"{where}.factor", stretch),
        yarn_attention_factor=to_float(r, f"{where}.attention_factor", attention),
        # `or`: TransformerLens takes a zero beta as unset.
        yarn_beta_fast=to_float(r, where, num_in(r, where, rope, "beta_fast", None) or 32.0),
        yarn_beta_slow=to_float(r, where, num_in(r, where, rope, "beta_slow", None) or 1.0),
        yarn_original_max_position_embeddings=number("original_max_position_embeddings", original),
        yarn_truncate=bool_in(r, where, rope, "truncate", True),
    )
    return out


# --- writing ---------------------------------------------------------------------------


def write_rope(
    e: Export, *, scaling: frozenset[str], scope: str = "all", local_base: str | None = None
) -> dict[str, Any]:
    """rope_theta and rope_scaling, with the TransformerLens scaling the preset uses.

    ``scaling`` names the rope types TransformerLens reads from this config
    (llama3, yarn, linear: fewer than transformers takes for most architectures);
    ``scope`` says which layers transformers scales: "all", or "global"
    (full-attention layers only, as Gemma 3 and OLMo 3 do); ``local_base``
    is the key of the local layers' own base, if the config has one.
    """
    out: dict[str, Any] = {"rope_theta": e["rotary_base"]}
    v = e.v
    has_local = "local" in kinds_of(v)
    scales_some_only = scope == "global" and has_local
    if v["use_NTK_by_parts_rope"]:
        e.handled.update({"use_NTK_by_parts_rope", *NTK_FIELDS})
        if "llama3" not in scaling:
            e.problem("use_NTK_by_parts_rope", e.unread_scaling("NTK-by-parts (llama3)"))
        elif scales_some_only:
            e.problem(
                "use_NTK_by_parts_rope",
                f"{e.arch} scales only its full-attention layers; TransformerLens "
                "scales every layer",
            )
        out["rope_scaling"] = {
            "rope_type": "llama3",
            "factor": v["NTK_by_parts_factor"],
            "low_freq_factor": v["NTK_by_parts_low_freq_factor"],
            "high_freq_factor": v["NTK_by_parts_high_freq_factor"],
            "original_max_position_embeddings": v["NTK_original_ctx_len"],
        }
    elif v["use_yarn_rope"]:
        e.handled.update({"use_yarn_rope", *YARN_FIELDS})
        global_only = bool(v["yarn_global_attn_only"]) and has_local
        if "yarn" not in scaling:
            e.problem("use_yarn_rope", e.unread_scaling("YaRN"))
        elif global_only != scales_some_only:
            which = "full-attention layers only" if scales_some_only else "every layer"
            e.problem("yarn_global_attn_only", f"{e.arch} applies YaRN to {which}, this preset not")
        yarn: dict[str, Any] = {
            "rope_type": "yarn",
            "factor": v["yarn_factor"],
            # Explicit: without it transformers derives one from the factor.
            "attention_factor": v["yarn_attention_factor"],
            "beta_fast": v["yarn_beta_fast"],
            "beta_slow": v["yarn_beta_slow"],
            "original_max_position_embeddings": v["yarn_original_max_position_embeddings"],
        }
        if not v["yarn_truncate"]:
            yarn["truncate"] = False  # transformers' default is true
        out["rope_scaling"] = yarn
    elif v["rotary_scaling_factor"] != 1.0:
        e.handled.add("rotary_scaling_factor")
        if "linear" not in scaling:
            e.problem("rotary_scaling_factor", e.unread_scaling("linear"))
        elif has_local and not scales_some_only:
            e.problem(
                "rotary_scaling_factor",
                f"{e.arch} would scale every layer; TransformerLens scales only global ones",
            )
        out["rope_scaling"] = {"rope_type": "linear", "factor": v["rotary_scaling_factor"]}
    if relevant("rotary_base_local", v):
        local = e["rotary_base_local"]
        if local_base is not None:
            out[local_base] = local if local is not None else out["rope_theta"]
        elif local is not None and local != out["rope_theta"]:
            e.problem("rotary_base_local", f"{e.arch} has one rope_theta for all layers")
    return out
