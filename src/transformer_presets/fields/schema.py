"""The JSON Schema of a preset file, for editors and other tools.

Generated from the loader's own tables (:data:`preset_keys.FIELDS`,
:data:`preset_keys.RESERVED_KEYS`, :data:`preset_keys.FIELD_CHOICES`, :data:`config.FIELD_BOUNDS`,
:data:`config.DTYPE_NAMES`, :data:`field_docs.FIELD_DOCS`), so the schema and
the loader cannot drift apart; ``tests/test_json_schema.py`` checks that they
accept the same files. The package ships the result as
``transformer_presets/preset.schema.json`` (``python -m tools.gen_schema``
rewrites it) and ``transformer-presets schema`` prints it.

The schema is written for draft 2020-12 but uses only keywords that mean the
same in draft 7, because Taplo (Even Better TOML) validates with a draft-7
validator: no ``prefixItems``, no ``$ref`` beside other keywords.

What JSON Schema cannot say, the loader still checks: that an integer field
holds no float (JSON has one kind of number, so ``n_layers = 12.0`` passes the
schema), checkpoint values that increase strictly, and everything that needs
more than one preset (inheritance, required fields, name clashes).

>>> schema = preset_file_schema()
>>> preset = schema["$defs"]["preset"]
>>> preset["properties"]["n_layers"]["type"]
'integer'
>>> preset["properties"]["normalization_type"]["enum"]
['LN', 'LNPre', 'RMS', 'RMSPre']
"""

from __future__ import annotations

from typing import Any

from ..common.dtypes import DTYPE_NAMES
from .docs import FIELD_DOCS
from .keys import (
    CHECKPOINT_LABEL_TYPES,
    COMPUTED_ONLY,
    FIELD_CHOICES,
    FIELDS,
    FieldSpec,
)
from .rules import FIELD_BOUNDS, INT_LIMIT, PER_LAYER_FIELDS, Bound

__all__ = ["DIALECT", "INVISIBLE_BMP", "preset_file_schema", "schema_text"]

#: The JSON Schema dialect the schema declares.
DIALECT = "https://json-schema.org/draft/2020-12/schema"

# What the reserved keys mean, in an editor's hover.
_RESERVED_DOCS = {
    "extends": "Parent presets, by name: one name or an array of names, applied left to right "
    "(a later parent wins).",
    "aliases": "Other names this preset answers to (case-insensitive, like its name).",
    "abstract": "A base or overlay: other presets can extend it, but it is not loaded or "
    "listed by default.",
    "description": "One line shown by the list and show commands.",
    "unset": "Fields to forget: inherited values of these fields are dropped, so the class "
    "default applies again.",
    "none": "Fields to set to None, which TOML cannot write (e.g. normalization_type for a "
    "model without norms).",
    "checkpoints": "The model's training checkpoints: label_type, and values and/or ranges.",
}


def _finite_number() -> dict[str, Any]:
    return {
        "$comment": "A finite number within 64 bits, as the loader takes them for float "
        "fields (beyond, a number is whole, and JSON cannot tell it from an integer): the "
        "bounds exclude the infinities, and since no number is both >= 1 and <= 0, the "
        "'not' rejects only NaN, which fails no comparison.",
        "type": "number",
        "minimum": -INT_LIMIT,
        "exclusiveMaximum": INT_LIMIT,
        "not": {"minimum": 1, "maximum": 0},
    }


#: The characters of the Basic Multilingual Plane that are assigned and that Python does
#: not print (str.isprintable, which the loader's name check uses): controls, format
#: characters, separators other than the space, private use. Written out rather than
#: computed, so the shipped schema does not change with the Unicode version of the Python
#: that generates it; as \uXXXX escapes, which Python's re, Taplo's Rust regex and
#: ECMA-262 read alike.
INVISIBLE_BMP = (
    (0x0000, 0x001F), (0x007F, 0x00A0), (0x00AD, 0x00AD), (0x0600, 0x0605),
    (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891),
    (0x08E2, 0x08E2), (0x1680, 0x1680), (0x180E, 0x180E), (0x2000, 0x200F),
    (0x2028, 0x202F), (0x205F, 0x2064), (0x2066, 0x206F), (0x3000, 0x3000),
    (0xE000, 0xF8FF), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB),
)  # fmt: skip


def _name_rule() -> dict[str, Any]:
    """What a preset's name and each of its aliases must be (presetfile.name_problem).

    Not empty, no blank at either end (a pattern for "no blank at either end" would let
    "name\\n" through: Python's "$" also matches before a final newline), and none of
    :data:`INVISIBLE_BMP`. The loader also refuses unassigned code points and the few
    invisible characters beyond the Basic Multilingual Plane; the schema leaves those to it.
    """
    invisible = "".join(
        f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}"
        for low, high in INVISIBLE_BMP
    )
    return {"minLength": 1, "not": {"pattern": rf"^\s|\s$|[{invisible}]"}}


def _dtype_names() -> list[str]:
    # dtype also takes torch's own spelling, "torch.bfloat16".
    return [*DTYPE_NAMES, *(f"torch.{name}" for name in DTYPE_NAMES)]


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _describe(spec: FieldSpec) -> str:
    text = FIELD_DOCS[spec.name]
    if spec.required:
        text += " Required: set it here or in a parent."
    elif spec.default is None:
        text += " Default: None (leave it out)."
    else:
        text += f" Default: {_toml_text(spec.default)}."
    if spec.nullable and spec.default is not None:
        text += " To make it None, list it in 'none'."
    return text


def _value_schemas(spec: FieldSpec) -> list[dict[str, Any]]:
    """One schema per kind of value the field takes (None has no TOML spelling)."""
    out: list[dict[str, Any]] = []
    kinds = spec.kinds
    bound = FIELD_BOUNDS.get(spec.name)
    if "float" in kinds:  # takes ints too, as the loader does
        number: dict[str, Any] = {"$ref": "#/$defs/finite_number"}
        if bound is not None:
            number = {"allOf": [number, _bounds(bound)]}
        out.append(number)
        out += [{"const": v} for v in (bound.also if bound else ())]
    elif "int" in kinds:
        integer: dict[str, Any] = {
            "type": "integer",
            "minimum": -INT_LIMIT,
            "maximum": INT_LIMIT - 1,
        }
        if bound is not None:
            integer.update(_bounds(bound))
        out.append(integer)
        out += [{"const": v} for v in (bound.also if bound else ())]
    if "bool" in kinds:
        out.append({"type": "boolean"})
    if "dtype" in kinds:
        out.append({"type": "string", "enum": _dtype_names()})
    elif "str" in kinds:
        text: dict[str, Any] = {"type": "string"}
        if spec.name in FIELD_CHOICES:
            text["enum"] = list(FIELD_CHOICES[spec.name])
        out.append(text)
    if "list[str]" in kinds:
        item: dict[str, Any] = {"type": "string"}
        if spec.name in FIELD_CHOICES:
            item["enum"] = list(FIELD_CHOICES[spec.name])
        out.append({"type": "array", "items": item})
        if spec.name in PER_LAYER_FIELDS:
            out.append(
                {
                    "type": "object",
                    "description": "A pattern repeated from layer 0 over n_layers layers.",
                    "properties": {"repeat": {"type": "array", "items": item, "minItems": 1}},
                    "required": ["repeat"],
                    "additionalProperties": False,
                }
            )
    return out


def _bounds(bound: Bound) -> dict[str, Any]:
    """The JSON Schema keywords of a field's bounds (its "not set" values go beside them)."""
    out: dict[str, Any] = {}
    out["exclusiveMinimum" if bound.open else "minimum"] = bound.low
    if bound.high is not None:
        out["maximum"] = bound.high
    return out


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    if spec.name in COMPUTED_ONLY:
        return {
            "description": f"{FIELD_DOCS[spec.name]} Not for preset files: it "
            f"{COMPUTED_ONLY[spec.name]}.",
            "not": {},
            # Keeps it out of the editor's completions.
            "x-taplo": {"hidden": True},
        }
    schema: dict[str, Any] = {"description": _describe(spec)}
    if spec.default is not None and not spec.required:
        schema["default"] = spec.default
    alternatives = _value_schemas(spec)
    if len(alternatives) > 1:
        schema["anyOf"] = alternatives
    elif "$ref" in alternatives[0]:
        # Beside a $ref, draft-7 validators ignore every other keyword (the description).
        schema["allOf"] = alternatives
    else:
        schema.update(alternatives[0])
    return schema


def _string_list(items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "type": "array", "items": items}


def _reserved_schemas() -> dict[str, dict[str, Any]]:
    nullable = [name for name, spec in FIELDS.items() if spec.nullable]
    label = {"type": "integer", "minimum": 0, "maximum": INT_LIMIT - 1}
    checkpoint_list = {"type": "array", "items": label}
    schemas: dict[str, dict[str, Any]] = {
        "extends": {
            "description": _RESERVED_DOCS["extends"],
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        },
        "aliases": _string_list({"type": "string", **_name_rule()}, _RESERVED_DOCS["aliases"]),
        "abstract": {"description": _RESERVED_DOCS["abstract"], "type": "boolean"},
        "description": {"description": _RESERVED_DOCS["description"], "type": "string"},
        "unset": _string_list({"enum": list(FIELDS)}, _RESERVED_DOCS["unset"]),
        "none": _string_list({"enum": nullable}, _RESERVED_DOCS["none"]),
        "checkpoints": {
            "description": _RESERVED_DOCS["checkpoints"],
            "type": "object",
            "properties": {
                "label_type": {
                    "description": "What the checkpoints are labelled by: training steps "
                    "or tokens seen.",
                    "enum": list(CHECKPOINT_LABEL_TYPES),
                },
                "values": {
                    "description": "Checkpoint labels, in increasing order.",
                    **checkpoint_list,
                },
                "ranges": {
                    "description": "[start, stop, step] arrays (stop included, step > 0), "
                    "appended after values; the whole list must increase.",
                    "type": "array",
                    "items": {**checkpoint_list, "minItems": 3, "maxItems": 3},
                },
            },
            "required": ["label_type"],
            "additionalProperties": False,
            # A table that lists no checkpoint at all is an error.
            "anyOf": [
                {"required": [key], "properties": {key: {"minItems": 1}}}
                for key in ("values", "ranges")
            ],
        },
    }
    return schemas


def _none_conflicts() -> list[dict[str, Any]]:
    """A field listed in ``none`` may not also get a value in the same table."""
    return [
        {
            "not": {
                "type": "object",
                "required": ["none", name],
                "properties": {"none": {"contains": {"const": name}}},
            }
        }
        for name, spec in FIELDS.items()
        if spec.nullable
    ]


def preset_file_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a preset file, as a dict.

    Every top-level table is a preset; in it, every config field with its type,
    its choices where there is a fixed set, its default and a description, and
    the reserved keys. Unknown keys, and fields a file may not set
    (``n_params``, ``from_checkpoint``, ``checkpoint_index``,
    ``checkpoint_value``), are rejected.

    >>> schema = preset_file_schema()
    >>> schema["$schema"], schema["additionalProperties"]
    ('https://json-schema.org/draft/2020-12/schema', {'$ref': '#/$defs/preset'})
    """
    properties = _reserved_schemas()
    properties.update((name, _field_schema(spec)) for name, spec in FIELDS.items())
    preset = {
        "description": "One preset: HookedTransformerConfig fields and the reserved keys.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "allOf": _none_conflicts(),
    }
    return {
        "$schema": DIALECT,
        "title": "transformer-presets preset file",
        "description": "A TOML file of named TransformerLens model presets: each top-level "
        "table is one preset, named by its key.",
        "type": "object",
        "propertyNames": _name_rule(),
        "additionalProperties": {"$ref": "#/$defs/preset"},
        "$defs": {"preset": preset, "finite_number": _finite_number()},
    }


def schema_text() -> str:
    """The schema as the JSON text shipped in ``preset.schema.json`` (2-space indent).

    >>> schema_text().startswith('{\\n  "$schema": ')
    True
    """
    import json

    return json.dumps(preset_file_schema(), indent=2, ensure_ascii=False) + "\n"
