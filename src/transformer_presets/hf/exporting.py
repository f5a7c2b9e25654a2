"""A preset as a Hugging Face ``config.json``: the reverse of :mod:`.importing`.

:func:`to_hf_config` writes, for every architecture :func:`~.importing.from_hf_config`
reads, the keys the matching ``transformers`` configuration class reads, in the
layout both transformers 4 and 5 accept (``rope_theta`` and ``rope_scaling``
at the top level; transformers 5 folds them into ``rope_parameters`` itself).
The one exception is an OLMo 3 whose sliding-window layers have another rotary
base than 500000: only transformers 5's per-layer-type ``rope_parameters`` can
say that. Pure Python: no transformers, no torch.

The export is faithful to the preset, not to the published checkpoint: where
TransformerLens differs from a model's own file (Gemma 3 scales by
``sqrt(d_head)``, SantaCoder's multi-query attention is built with a key and
value per head), the exported file describes what TransformerLens builds.

A value is exported only if TransformerLens 3.9's conversion of the file (which
``from_hf_config`` follows) reads it back; anything else is an
:class:`HFExportError` naming the field, never a silently different model.
That rules out what the configuration class cannot express (rotary embeddings
on GPT-2, a gated MLP on OPT, exact GELU on Gemma 1, whose config reads
``gelu`` as the tanh approximation) and also what it can but TransformerLens
does not read (a YaRN ``rope_scaling`` on Mistral, ``num_key_value_heads`` on
OLMo 1, ``n_inner`` on GPT-2, GPT-NeoX's rotary base, a context other than 2048
on Mistral). Each family's writer (:mod:`.architectures`) refuses those with the
architecture's reason; a last check reads the finished file back with
``from_hf_config`` and refuses any field that comes back otherwise, which catches
TransformerLens's rules keyed on a model's name (Llama 3.1 to 3.3 are capped at 2048
tokens, TinyStories at 512).

Some fields describe how TransformerLens runs or loads a model rather than
the model (hooks, device, dtype, seed, checkpoints, the tokenizer's BOS
handling): they are not exported (:data:`NOT_EXPORTED` says why for each), so
``from_hf_config`` brings back the values its architecture implies for them.
Fields that have no effect given the others (``window_size`` without local
attention, ``final_rms`` with RMSNorm, YaRN settings with YaRN off, ...) or
that the architecture's TransformerLens code never reads (BERT's
``normalization_type``, gpt-oss's ``norm_topk_prob``) are not checked either.
Two spellings of one model count as the same: ``n_key_value_heads`` unset or
equal to ``n_heads`` (likewise ``train_seq_length`` and ``n_ctx``,
``rotary_base_local`` and ``rotary_base``), and ``use_local_attn`` off or on
with only global layers.

>>> config = to_hf_config("gpt2-small")
>>> config["architectures"], config["model_type"], config["n_embd"], config["n_layer"]
(['GPT2LMHeadModel'], 'gpt2', 768, 12)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..config.hooked import HookedTransformerConfig, check_and_derive
from ..errors import PresetError, PresetValidationError, did_you_mean, first_problem
from ..fields.keys import FIELDS, check_field_value, defaults
from ._read import MAX_LAYERS
from ._write import (
    NOT_EXPORTED,
    Export,
    kinds_of,
    neutral,
    neutral_text,
    relevant,
    same_typed,
    show,
)
from .architectures import ARCHITECTURES
from .errors import HFExportError
from .importing import from_hf_config

__all__ = ["EXPORTABLE_ARCHITECTURES", "NOT_EXPORTED", "HFExportError", "to_hf_config"]

#: Hugging Face ``architectures`` names that :func:`to_hf_config` writes.
EXPORTABLE_ARCHITECTURES: tuple[str, ...] = tuple(sorted(ARCHITECTURES))

# Written for every architecture, as the preset says (see to_hf_config).
_ALWAYS_EXPORTED = frozenset({"tie_word_embeddings", "quantization_method"})


def _values(
    source: str | Mapping[str, Any] | HookedTransformerConfig,
) -> tuple[dict[str, Any], str | None]:
    """Every field's value (defaults and derived values filled in), and the preset's name."""
    name: str | None = None
    if isinstance(source, str):
        from ..registry.registry import default_registry

        registry = default_registry()
        name = registry.info(source).name
        given: Mapping[str, Any] = registry.resolve(name)
    elif isinstance(source, HookedTransformerConfig):
        given = source.to_dict()
    elif isinstance(source, Mapping):
        given = source
    else:
        raise HFExportError(
            "expected a preset name, a mapping of field values or a HookedTransformerConfig, "
            f"got {type(source).__name__}"
        )
    checked: dict[str, Any] = {}
    for key, value in given.items():
        if key not in FIELDS:
            raise PresetValidationError(
                f"unknown field{did_you_mean(str(key), FIELDS)}", preset=name, key=str(key)
            )
        if key == "device" or (value is None and FIELDS[key].nullable):
            checked[key] = value if value is None else str(value)
            continue
        try:
            checked[key] = check_field_value(key, value, allow_computed=True)
        except PresetError as exc:
            raise exc.with_context(preset=name) from None
    try:
        derived = check_and_derive(checked)
    except PresetError as exc:
        raise exc.with_context(preset=name) from None
    return {**defaults(), **checked, **derived}, name


def to_hf_config(
    preset: str | Mapping[str, Any] | HookedTransformerConfig,
    /,
    *,
    architecture: str | None = None,
) -> dict[str, Any]:
    """A Hugging Face ``config.json`` (as a dict) for a preset.

    ``preset`` is a preset name (or alias), a mapping of field values (such as
    :func:`resolve_preset`'s answer; missing fields take their defaults) or a
    :class:`HookedTransformerConfig`. The architecture is the preset's
    ``original_architecture`` unless ``architecture`` names another; it must
    be one of :data:`EXPORTABLE_ARCHITECTURES` (those :func:`from_hf_config`
    reads). The result holds ``architectures``, ``model_type``,
    ``_name_or_path`` (``tokenizer_name``, else ``model_name``) and the keys
    the transformers configuration class reads, with ``tie_word_embeddings``
    and ``initializer_range`` (when the preset sets it) as the preset says;
    ``json.dump`` writes it as is. :func:`from_hf_config` reads it back as the
    preset: every field that changes the model TransformerLens builds comes
    back with its value and type.

    >>> config = to_hf_config("pythia-70m")
    >>> config["model_type"], config["hidden_size"], config["rotary_pct"]
    ('gpt_neox', 512, 0.25)
    >>> to_hf_config({"n_layers": 2, "d_model": 64, "n_ctx": 32, "d_head": 16, "d_vocab": 100,
    ...               "act_fn": "relu", "gated_mlp": True}, architecture="OPTForCausalLM")
    Traceback (most recent call last):
    ...
    transformer_presets.hf.errors.HFExportError: key 'gated_mlp': OPTForCausalLM cannot express this preset: gated_mlp = true: OPTForCausalLM's config has no such setting (it needs false)

    Raises :class:`HFExportError` (a :class:`PresetError`) naming the first
    field the architecture cannot express, and :class:`PresetError` for an
    unknown preset or an invalid value.
    """
    values, name = _values(preset)
    arch = architecture if architecture is not None else values["original_architecture"]
    if arch not in ARCHITECTURES:
        given = "architecture" if architecture is not None else "original_architecture"
        raise HFExportError(
            f"cannot export {arch!r}: to_hf_config writes "
            f"{', '.join(EXPORTABLE_ARCHITECTURES)}{did_you_mean(str(arch), ARCHITECTURES)}",
            preset=name,
            key=given,
        )
    if not 1 <= values["n_layers"] <= MAX_LAYERS:
        # Checked first: the writers and checks lay out one entry per layer.
        raise HFExportError(
            f"{arch} cannot express this preset: n_layers = {values['n_layers']}: a "
            f"config.json is read back with 1 to {MAX_LAYERS} layers",
            preset=name,
            key="n_layers",
        )
    family = ARCHITECTURES[arch]
    export = Export(values, arch)
    body = family.write(export)
    if values["tie_word_embeddings"] and not family.reads_tie:
        export.problem(
            "tie_word_embeddings",
            f"TransformerLens reads no tie_word_embeddings from {arch}'s config "
            "(its unembedding is always a separate matrix)",
        )
    for field in FIELDS:
        if field in export.handled or field in NOT_EXPORTED or field in _ALWAYS_EXPORTED:
            continue
        if relevant(field, values) and not neutral(field, values):
            export.problem(
                field,
                f"{arch}'s config has no such setting (it needs {neutral_text(field)})",
            )
    _refuse(export, name)

    config: dict[str, Any] = {
        "architectures": [arch],
        "model_type": family.model_type,
        "_name_or_path": values["tokenizer_name"] or values["model_name"],
    }
    config.update(body)
    # TransformerLens always keeps a separate unembedding (and ties only T5's):
    # tie_word_embeddings says what the preset says, not the checkpoint's default.
    config["tie_word_embeddings"] = values["tie_word_embeddings"]
    if "text_config" in config:
        config["text_config"]["tie_word_embeddings"] = values["tie_word_embeddings"]
    initializer = _initializer_range(values)
    if initializer is not None and family.initializer_key is not None:
        target = config.get("text_config", config)
        target[family.initializer_key] = initializer
    if values["quantization_method"] is not None:
        # Only the method is known; the rest of the checkpoint's quantization settings are not.
        config["quantization_config"] = {"quant_method": values["quantization_method"]}
    _check_read_back(config, export, name)
    return config


def _refuse(export: Export, name: str | None) -> None:
    """Raise the first problem found, naming the other fields at fault too."""
    if not export.problems:
        return
    field, problem = first_problem(export.problems, export.v, show)
    raise HFExportError(
        f"{export.arch} cannot express this preset: {problem}", preset=name, key=field
    )


def _check_read_back(config: dict[str, Any], export: Export, name: str | None) -> None:
    """Refuse a config that from_hf_config would read as another preset.

    The writers check every field they know to be fixed or unread, with a reason; this
    catches what they cannot know, such as TransformerLens's rules keyed on the model's
    name (the context caps of Llama 3.1 to 3.3 and Code Llama, TinyStories' 512 tokens,
    no quantization read for a Llama or Gemma name). Fields the architecture does not
    use, and those that only say how TransformerLens runs a model, are not compared.
    """
    v, arch = export.v, export.arch
    read_as = f"TransformerLens reads {arch}'s config for {config['_name_or_path']!r} back"
    try:
        imported = from_hf_config(json.loads(json.dumps(config)))
        back = {**defaults(), **imported, **check_and_derive(imported)}
    except PresetError as exc:
        # The import names its own key ('n_layer'); the error names the preset's field.
        field = _field_behind(config, str(exc.key or ""), export)
        what = f"{field} = {show(v[field])}: " if field else ""
        raise HFExportError(
            f"{arch} cannot express this preset: {what}its config does not read back ({exc})",
            preset=name,
            key=field,
        ) from None
    kinds = kinds_of(back)
    if "attn_types" not in export.ignored and kinds_of(v) != kinds:
        # use_local_attn and attn_types together say which layers are local.
        field = "attn_types" if v["use_local_attn"] else "use_local_attn"
        local = kinds.count("local")
        export.problem(field, f"{read_as} with other local layers ({local} of {len(kinds)})")
    for field in FIELDS:
        if field in NOT_EXPORTED or field in export.ignored or not relevant(field, v):
            continue
        if field in ("use_local_attn", "attn_types"):
            continue
        ours, theirs = _meant(field, v), _meant(field, back)
        if not same_typed(ours, theirs):
            export.problem(field, f"{read_as} as {field} = {show(back[field])}")
    _refuse(export, name)


def _config_value(config: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted key of a config (``text_config.vocab_size``), or None."""
    value: Any = config
    for part in path.split("[")[0].split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _field_behind(config: Mapping[str, Any], path: str, export: Export) -> str | None:
    """The preset field that the config key ``path`` is written from, if one is.

    Found by writing the config again with each numeric field changed in turn: the
    field whose change changes the value at ``path``, preferring one written there as it
    is (a change to n_layers can change what a per-layer key says). Only an error's
    message needs it.
    """
    if path in FIELDS:  # the import's own checks on what it built name the field
        return path
    written = _config_value(config, path)
    if not path or written is None:
        return None
    writer = ARCHITECTURES[export.arch].write
    moved = []
    for field in FIELDS:
        value = export.v[field]
        if field in NOT_EXPORTED or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        other = value + 1 if isinstance(value, int) else value / 2
        try:
            body = writer(Export({**export.v, field: other}, export.arch))
        except (PresetError, ValueError, TypeError, KeyError, IndexError):
            continue
        if _config_value(body, path) != written:
            moved.append(field)
    direct = [f for f in moved if same_typed(export.v[f], written)]
    found = direct or moved
    return found[0] if found else None


# Fields whose unset value means another field's value.
_UNSET_MEANS = {
    "n_key_value_heads": "n_heads",
    "train_seq_length": "n_ctx",
    "rotary_base_local": "rotary_base",
}


def _meant(field: str, v: Mapping[str, Any]) -> Any:
    """What ``field`` means in the model: one K/V head per head when unset, and so on."""
    value = v[field]
    if value is None and field in _UNSET_MEANS:
        return v[_UNSET_MEANS[field]]
    return value


def _initializer_range(v: Mapping[str, Any]) -> float | None:
    """The preset's initializer_range, unless it is TransformerLens's own derived value.

    T5 has no such setting (its initializer_factor scales differently), and a
    range under another init mode is a gain, not a standard deviation.
    """
    if v["init_mode"] != "gpt2":
        return None
    value: float = v["initializer_range"]
    if math.isclose(value, 0.8 / math.sqrt(v["d_model"]), rel_tol=1e-12):
        return None
    return value
