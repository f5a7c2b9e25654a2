"""Turn a Hugging Face ``config.json`` into preset values, the way TransformerLens would.

TransformerLens 3.9 builds a ``HookedTransformerConfig`` from a model's Hugging
Face config (``convert_hf_model_config``, reading the object that
``transformers`` 5 makes of the file) plus a few rules keyed on the model's
name (context-length caps, ``trust_remote_code``). This module does the same
offline: it reads the JSON with :mod:`json`, never imports ``transformers`` or
torch, and returns plain values ready for a TOML preset.

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

import json
import math
import numbers
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from ._hub_cache import locate_config, read_text
from ._plain import is_int, same_value
from .errors import PresetError
from .preset_keys import FIELDS, defaults, expand_pattern

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "HFConfigError",
    "HFConfigNote",
    "closest_preset",
    "diff_values",
    "differing_fields",
    "extends_table",
    "from_hf_config",
    "is_tuned",
]


class HFConfigError(PresetError):
    """A Hugging Face ``config.json`` cannot be read or turned into a preset."""


class HFConfigNote(UserWarning):
    """A value :func:`from_hf_config` took without the file saying it (a warning category:
    ``import-hf`` shows it as a note and writes it into the preset's comments)."""


def _note(r: _Reader, key: str, message: str) -> None:
    import warnings

    text = str(PresetError(message, file=r.file, key=r.prefix + key))
    warnings.warn(text, HFConfigNote, stacklevel=5)  # the caller of from_hf_config


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
# T5's context when the file has no n_positions (as transformers 5 saves it): every
# T5 config.json published carries 512, the length T5 was trained on.
_T5_CONTEXT = 512

# Bounds on what one config.json may ask for. Real files are a few kilobytes
# and nest four levels deep; the per-layer lists built below are as long as
# the layer count, so that is bounded too.
_MAX_FILE_BYTES = 16 * 1024 * 1024
_MAX_DEPTH = 64
_MAX_INT = 2**63
_MAX_SIZE = 2**31 - 1
_MAX_LAYERS = 65536


# --- reading the JSON safely ---------------------------------------------------------


class _Rejected:
    """A JSON token that json.loads accepts and a config may not hold."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


def _reject_constant(text: str) -> _Rejected:
    # Infinity, -Infinity and NaN: Python's json reads them, TOML cannot write
    # them as a size, and no model has them. The walk names the key.
    return _Rejected(text, "is not a finite number")


def _parse_int(text: str) -> int | _Rejected:
    # Python refuses to parse integers of more than 4300 digits with a bare
    # ValueError; anything past 2**63 is not a size or a count anyway.
    if len(text.lstrip("-")) > 19:
        return _Rejected(text[:24] + ("..." if len(text) > 24 else ""), "is out of range")
    return int(text)


def _read_text(path: Path) -> tuple[str, str]:
    # Read as every file of a model folder or the hub cache is (and as preset files are):
    # a FIFO or a character device named config.json would block or never end.
    file = str(path)
    try:
        return read_text(file, limit=_MAX_FILE_BYTES, what="a config.json"), file
    except PresetError as exc:
        raise HFConfigError(exc.reason, file=exc.file) from None
    except ValueError as exc:  # a NUL character in the path
        raise HFConfigError(f"not a usable path: {exc}", file=file) from None


def _load(
    source: str | PathLike[str] | Mapping[str, Any],
) -> tuple[Mapping[str, Any], str | None, str | None]:
    """The config's data, its file (None for a mapping) and the name its place implies."""
    if isinstance(source, Mapping):
        # Plain values out, whatever came in (NumPy scalars from a config object's dict).
        return _check_tree(source, None, copy=True), None, None
    if not isinstance(source, str | PathLike):
        raise HFConfigError(
            f"expected a path or a mapping, got {type(source).__name__}", key="source"
        )
    try:
        text_path: object = os.fspath(source)
    except TypeError as exc:  # a __fspath__ that returns neither str nor bytes
        raise HFConfigError(f"not a usable path: {exc}", key="source") from None
    if not isinstance(text_path, str):  # a PathLike may give bytes
        raise HFConfigError(
            f"expected a path or a mapping, got a {type(text_path).__name__} path", key="source"
        )
    try:
        found, place_name = locate_config(text_path)
        path = Path(found)
    except PresetError as exc:
        raise HFConfigError(exc.reason, file=exc.file) from None
    except (OSError, ValueError) as exc:  # e.g. a NUL byte in the path
        raise HFConfigError(f"not a usable path: {exc}", file=str(source)) from None
    text, file = _read_text(path)
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise HFConfigError(
            f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, col=exc.colno
        ) from None
    except RecursionError:
        raise HFConfigError(
            f"invalid JSON: nested more than {_MAX_DEPTH} levels", file=file
        ) from None
    if not isinstance(data, dict):
        raise HFConfigError(f"expected a JSON object, got {type(data).__name__}", file=file)
    _check_tree(data, file)
    return data, file, place_name


def _path_text(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "<top level>"


_PLAIN_TYPES = (str, int, float, bool, type(None))


def _plain_scalar(value: Any) -> Any:
    """``value`` as a plain Python value where it is a number or string of another type
    (NumPy's ``int64``, ``float32``, ``bool_``, ``str_``, an ``int`` subclass); else as is,
    for the reader to refuse by type, naming the key, if the key is read."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    item = getattr(value, "item", None)
    if kind.__module__ == "numpy" and callable(item):  # bool_, and 0-d arrays
        plain = item()
        if type(plain) in _PLAIN_TYPES:
            return plain
    return value


def _check_tree(data: Mapping[str, Any], file: str | None, *, copy: bool = False) -> Any:
    """Reject non-finite numbers anywhere, and nesting past ``_MAX_DEPTH``; with ``copy``,
    return the data as plain Python values (:func:`_plain_scalar`, dicts and lists).

    Depth first with one iterator per level, so that the walk holds as much as the
    nesting is deep, never a path per element: a 16 MiB file of millions of zeros costs
    less than parsing it. Iterative on purpose: the input may be nested deeper than
    Python's recursion limit, or (a mapping built in Python) contain itself. Parsed
    JSON cannot share a container, so only a mapping's containers are remembered, to
    copy a shared one once and to refuse a loop.
    """
    copies: dict[int, Any] = {}  # id -> its copy; None while it is being walked
    root: Any = {} if copy else data
    copies[id(data)] = None
    keys: list[Any] = []  # the keys from the top level down to the container being walked
    frames: list[tuple[Iterator[tuple[Any, Any]], Any, Any]] = [(iter(data.items()), root, data)]
    while frames:
        items, out, original = frames[-1]
        for key, value in items:
            if copy:
                value = _plain_scalar(value)
                key = str(key) if isinstance(key, str) else key
            kind = type(value)
            if kind is dict or kind is list or (copy and isinstance(value, Mapping | list | tuple)):
                if len(frames) >= _MAX_DEPTH:
                    raise HFConfigError(
                        f"nested more than {_MAX_DEPTH} levels",
                        file=file,
                        key=_path_text([*keys, key]),
                    )
                if not copy and _nothing_to_check(value, len(frames) + 1 < _MAX_DEPTH):
                    continue
                if copy and id(value) in copies:
                    if copies[id(value)] is None:
                        raise HFConfigError(
                            "contains itself", file=file, key=_path_text([*keys, key])
                        )
                    _put(out, key, copies[id(value)])  # shared, not a loop: copied once
                    continue
                inner = iter(value.items()) if isinstance(value, Mapping) else enumerate(value)
                child = ({} if isinstance(value, Mapping) else []) if copy else value
                if copy:
                    _put(out, key, child)
                    copies[id(value)] = None
                frames.append((inner, child, value))
                keys.append(key)
                break
            if kind is _Rejected:
                raise HFConfigError(
                    f"{value.text} {value.reason}", file=file, key=_path_text([*keys, key])
                )
            if kind is float and not math.isfinite(value):
                raise HFConfigError(
                    f"{value!r} is not a finite number", file=file, key=_path_text([*keys, key])
                )
            if copy:
                _put(out, key, value)
        else:
            frames.pop()
            if keys:
                keys.pop()
            if copy:
                copies[id(original)] = out
    return root


_NEED_NO_CHECK = frozenset({int, str, bool, type(None)})
_NUMBERS = frozenset({int, float, bool})
_CONTAINERS = frozenset({dict, list})


def _nothing_to_check(value: dict[str, Any] | list[Any], nested_ok: bool) -> bool:
    """Whether every item of a parsed JSON container is a value that needs no check (a
    string, an integer, a finite float, an empty container when ``nested_ok``), found
    with loops that run in C: a long array is then not walked in Python at all.
    """
    items = value.values() if type(value) is dict else value
    kinds = set(map(type, items))
    if kinds <= _NEED_NO_CHECK:
        return True
    if kinds <= _NUMBERS:
        return all(map(math.isfinite, items))
    return kinds <= _CONTAINERS and nested_ok and not any(items)


def _put(out: Any, key: Any, value: Any) -> None:
    if isinstance(out, dict):
        out[key] = value
    else:
        out.append(value)  # a list's items come in order


# --- typed access -----------------------------------------------------------------------

_ABSENT: Any = object()
_REQUIRED: Any = object()


def _is_int(value: Any) -> bool:
    # An integer a config can mean (not a bool, and within what the file format keeps).
    return is_int(value) and -_MAX_INT < value < _MAX_INT


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_MAX_INT < value < _MAX_INT
    return isinstance(value, float) and math.isfinite(value)


def _shown(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "int": ("an integer", _is_int),
    "num": ("a number", _is_number),
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "dict": ("an object", lambda v: isinstance(v, Mapping)),
    "list": ("an array", lambda v: isinstance(v, list | tuple)),
}


class _Reader:
    """Typed access to one JSON object, with errors that name the key and the file.

    A missing key takes the given default (the ``transformers`` class's); an
    explicit ``null`` is ``None`` where the class allows it and an error where
    it does not. ``aliases`` maps a key to the other spelling the class
    accepts (its ``attribute_map``); as in ``transformers``, the alias wins when
    a file has both. ``prefix`` is the dotted path of a nested object
    (``text_config.``) so that messages point at the right key.
    """

    def __init__(
        self,
        data: Mapping[str, Any],
        file: str | None,
        prefix: str = "",
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.data = data
        self.file = file
        self.prefix = prefix
        self.aliases = dict(aliases or {})
        self.architecture = ""

    def error(self, key: str, message: str) -> HFConfigError:
        return HFConfigError(message, file=self.file, key=self.prefix + key)

    def where(self, key: str) -> str:
        """The key a value is read from: the alias when the file spells it so."""
        alias = self.aliases.get(key)
        if alias is not None and alias in self.data:
            return alias
        return key

    def present(self, key: str) -> bool:
        return self.where(key) in self.data

    def get(self, key: str, kind: str, default: Any = _REQUIRED, *, nullable: bool = False) -> Any:
        found = self.where(key)
        if found not in self.data:
            if default is _REQUIRED:
                needed = f" (needed for {self.architecture})" if self.architecture else ""
                raise self.error(key, f"missing required key{needed}")
            return default
        value = self.data[found]
        name, check = _KINDS[kind]
        if value is None and nullable:
            return None
        if not check(value):
            got = "null" if value is None else type(value).__name__
            raise self.error(found, f"expected {name}, got {got} {_shown(value)}".rstrip())
        return value

    def get_int(self, key: str, default: Any = _REQUIRED, *, nullable: bool = False) -> Any:
        return self.get(key, "int", default, nullable=nullable)

    def get_num(self, key: str, default: Any = _REQUIRED, *, nullable: bool = False) -> Any:
        return self.get(key, "num", default, nullable=nullable)

    def get_str(self, key: str, default: Any = _REQUIRED, *, nullable: bool = False) -> Any:
        return self.get(key, "str", default, nullable=nullable)

    def get_bool(self, key: str, default: Any = _REQUIRED, *, nullable: bool = False) -> Any:
        return self.get(key, "bool", default, nullable=nullable)

    def get_dict(self, key: str, *, nullable: bool = True) -> Mapping[str, Any] | None:
        value: Mapping[str, Any] | None = self.get(key, "dict", None, nullable=nullable)
        return value

    def get_list(self, key: str, *, nullable: bool = True) -> list[Any] | None:
        value = self.get(key, "list", None, nullable=nullable)
        return None if value is None else list(value)

    def size(self, key: str, default: Any = _REQUIRED, *, limit: int = _MAX_SIZE) -> int:
        """A positive count or width: heads, layers, hidden size, vocabulary."""
        return self.positive(key, self.get_int(key, default), limit)

    def positive(self, key: str, value: Any, limit: int = _MAX_SIZE) -> int:
        """``value``, read from ``key``, checked to be a positive size."""
        if not 1 <= value <= limit:
            raise self.error(self.where(key), f"must be between 1 and {limit}, got {value}")
        return value  # type: ignore[no-any-return]

    def layers(self, key: str, default: Any = _REQUIRED) -> int:
        # Per-layer lists are built from this count, so it is bounded tightly.
        return self.size(key, default, limit=_MAX_LAYERS)

    def nested(self, key: str, aliases: Mapping[str, str] | None = None) -> _Reader:
        inner = self.get_dict(key)
        reader = _Reader(inner or {}, self.file, f"{self.prefix}{key}.", aliases)
        reader.architecture = self.architecture
        return reader


def _num_in(r: _Reader, where: str, mapping: Mapping[str, Any], key: str, default: Any) -> Any:
    """A number from a dict the file holds (``rope_scaling`` and the like)."""
    value = mapping.get(key, default)
    if value is default:
        return default
    if not _is_number(value):
        raise r.error(f"{where}.{key}", f"expected a number, got {_shown(value)}")
    return value


def _float(r: _Reader, where: str, value: Any) -> float:
    try:
        out = float(value)
    except (OverflowError, TypeError, ValueError):
        raise r.error(where, f"expected a number, got {_shown(value)}") from None
    if not math.isfinite(out):
        raise r.error(where, f"expected a finite number, got {_shown(value)}")
    return out


def _layer_kinds(r: _Reader, key: str, n_layers: int, default: list[str]) -> list[str]:
    """``layer_types`` as TransformerLens reads it: sliding layers are local, all else global."""
    kinds = r.get_list(key)
    if kinds is None:
        kinds = default
    elif len(kinds) != n_layers:
        # transformers refuses the file: the list must have one entry per layer.
        raise r.error(key, f"has {len(kinds)} entries for {n_layers} layers")
    out = []
    for i, kind in enumerate(kinds):
        if not isinstance(kind, str):
            raise r.error(f"{key}[{i}]", f"expected a string, got {_shown(kind)}")
        out.append("local" if kind == "sliding_attention" else "global")
    return out


def _alternating(n_layers: int, first: str, second: str) -> list[str]:
    return [first if i % 2 == 0 else second for i in range(n_layers)]


# --- RoPE as transformers 5 standardises it ------------------------------------------------
#
# Files written by transformers < 5 hold ``rope_theta`` at the top level and the
# scaling in ``rope_scaling`` (whose kind is ``rope_type`` or the older
# ``type``); transformers >= 5 folds both into ``rope_parameters``. Either way
# the class ends up with one ``rope_parameters`` dict (or one per layer type),
# and that is what TransformerLens reads.


def _rope_dict(r: _Reader, key: str) -> Mapping[str, Any] | None:
    value = r.get_dict(key)
    if value is not None:
        for name in ("rope_type", "type"):
            kind = value.get(name)
            if kind is not None and not isinstance(kind, str):
                raise r.error(f"{key}.{name}", f"expected a string, got {_shown(kind)}")
    return value


def _written_by_hand(name: str) -> bool:
    """Whether ``name`` is one of the official models whose config TransformerLens
    writes out by hand (Meta's Llama family, Google's Gemma, AI2's OLMo 1 and 2)."""
    return name.startswith(("meta-llama/", "llama-", "codellama/", "google/gemma", "allenai/OLMo"))


def _as_written(value: Any, kind: type) -> Any:
    """A number as TransformerLens's hand-written table for a family writes it.

    For the families it knows by name (Llama, Gemma, OLMo 1 and 2) TransformerLens
    does not read the file but a table of its own, where a RoPE base is an int for
    some families and a float for others; 10000 and 10000.0 differ in a preset.
    """
    if kind is float and _is_number(value):
        return float(value)
    if kind is int and _is_number(value) and float(value).is_integer():
        return int(value)
    return value


def _hand_written(name: str, value: Any, kind: type) -> Any:
    """``value`` as TransformerLens's own table writes it, for a model it writes by hand."""
    return _as_written(value, kind) if _written_by_hand(name) else value


def _flat_rope(
    r: _Reader,
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
    scaling = _rope_dict(r, "rope_scaling")
    params = _rope_dict(r, "rope_parameters")
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
    _num_in(r, where, rope, "rope_theta", None)
    return rope


def _layered_rope(
    r: _Reader,
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
    params = _rope_dict(r, "rope_parameters")
    scaling = _rope_dict(r, "rope_scaling")
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
        _num_in(r, f"rope_parameters.{name}", part, "rope_theta", None)
    return full, sliding


def _rope_kind(rope: Mapping[str, Any]) -> str:
    kind = rope.get("type") or rope.get("rope_type") or ""
    return kind.lower() if isinstance(kind, str) else ""


def _ntk_by_parts(r: _Reader, rope: Mapping[str, Any], n_ctx: Any) -> dict[str, Any]:
    """Llama 3's "NTK by parts" frequency scaling, when the RoPE settings ask for it."""
    if _rope_kind(rope) != "llama3":
        return {}
    where = "rope_scaling" if r.present("rope_scaling") else "rope_parameters"
    return {
        "use_NTK_by_parts_rope": True,
        "NTK_original_ctx_len": _num_in(r, where, rope, "original_max_position_embeddings", n_ctx),
        "NTK_by_parts_low_freq_factor": _num_in(r, where, rope, "low_freq_factor", 1.0),
        "NTK_by_parts_high_freq_factor": _num_in(r, where, rope, "high_freq_factor", 4.0),
        "NTK_by_parts_factor": _num_in(r, where, rope, "factor", 1.0),
    }


# --- one converter per architecture ------------------------------------------------------
#
# Each returns TransformerLens 3.9's ``cfg_dict`` for that architecture (before
# the name-based rules in from_hf_config). Defaults for missing keys are those
# of the matching transformers 5 config class; a key TransformerLens reads and
# the class has no default for is required.


def _gpt2(r: _Reader, name: str) -> dict[str, Any]:
    r.aliases = {
        "n_embd": "hidden_size",
        "n_positions": "max_position_embeddings",
        "n_head": "num_attention_heads",
        "n_layer": "num_hidden_layers",
    }
    d_model = r.size("n_embd", 768)
    n_heads = r.size("n_head", 12)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": r.layers("n_layer", 12),
        # TransformerLens reads the legacy n_ctx that the released files carry (and
        # GPT2Config keeps as it is); transformers 5 no longer writes it, and without it
        # TransformerLens fails: the context is then n_positions, the model's own.
        "n_ctx": r.size("n_ctx") if r.present("n_ctx") else r.size("n_positions", 1024),
        "eps": r.get_num("layer_norm_epsilon", 1e-5),
        "d_vocab": r.size("vocab_size", 50257),
        "act_fn": r.get_str("activation_function", "gelu_new"),
        "use_attn_scale": r.get_bool("scale_attn_weights", True),
        "scale_attn_by_inverse_layer_idx": r.get_bool("scale_attn_by_inverse_layer_idx", False),
        "normalization_type": "LN",
    }


def _santacoder(r: _Reader, name: str) -> dict[str, Any]:
    # GPT2LMHeadCustomModel: the remote GPT2CustomConfig extends GPT2Config,
    # so its defaults are GPT-2's. TransformerLens builds it as plain
    # multi-head attention, with the context from n_positions.
    r.aliases = {
        "n_embd": "hidden_size",
        "n_positions": "max_position_embeddings",
        "n_head": "num_attention_heads",
        "n_layer": "num_hidden_layers",
    }
    d_model = r.size("n_embd", 768)
    n_heads = r.size("n_head", 12)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": r.layers("n_layer", 12),
        "n_ctx": r.size("n_positions", 1024),
        "eps": r.get_num("layer_norm_epsilon", 1e-5),
        "d_vocab": r.size("vocab_size", 50257),
        "act_fn": r.get_str("activation_function", "gelu_new"),
        "trust_remote_code": "santacoder" in name,
        "scale_attn_by_inverse_layer_idx": r.get_bool("scale_attn_by_inverse_layer_idx", False),
        "normalization_type": "LN",
    }


def _gpt_neo(r: _Reader, name: str) -> dict[str, Any]:
    r.aliases = {"num_heads": "num_attention_heads", "num_layers": "num_hidden_layers"}
    d_model = r.size("hidden_size", 2048)
    n_heads = r.size("num_heads", 16)
    n_layers = r.layers("num_layers", 24)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": n_layers,
        "n_ctx": r.size("max_position_embeddings", 2048),
        "eps": r.get_num("layer_norm_epsilon", 1e-5),
        "d_vocab": r.size("vocab_size", 50257),
        "attn_types": _gpt_neo_layers(r, n_layers),
        "act_fn": r.get_str("activation_function", "gelu_new"),
        "use_attn_scale": False,
        "use_local_attn": True,
        "window_size": r.size("window_size", 256),
        "normalization_type": "LN",
    }


def _gpt_neo_layers(r: _Reader, n_layers: int) -> list[str]:
    # The file's attention_layers wins; without it GPTNeoConfig expands the
    # compact attention_types ([[["global", "local"], 12]] by default). Either
    # way it must have one entry per layer.
    expanded = r.get_list("attention_layers")
    if expanded is not None:
        if len(expanded) != n_layers or not all(k in ("global", "local") for k in expanded):
            raise r.error("attention_layers", f"expected {n_layers} entries of 'global' or 'local'")
        return [str(k) for k in expanded]
    compact = r.get_list("attention_types")
    if compact is None:
        compact = [[["global", "local"], 12]]
    layers: list[str] = []
    for i, item in enumerate(compact):
        ok = (
            isinstance(item, list | tuple)
            and len(item) == 2
            and isinstance(item[0], list | tuple)
            and all(isinstance(k, str) for k in item[0])
            and _is_int(item[1])
            and item[1] >= 0
        )
        if not ok:
            raise r.error(f"attention_types[{i}]", "expected [[kinds...], repeat]")
        # Checked before the list is built, so a huge repeat costs nothing.
        if len(layers) + len(item[0]) * item[1] > n_layers:
            break
        layers.extend(list(item[0]) * item[1])
    else:
        if len(layers) == n_layers:
            if not all(k in ("global", "local") for k in layers):
                raise r.error("attention_types", "layer kinds must be 'global' or 'local'")
            return layers
    raise r.error(
        "attention_types", f"must expand to one 'global' or 'local' per layer ({n_layers})"
    )


def _opt(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 768)
    n_heads = r.size("num_attention_heads", 12)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("ffn_dim", 3072),
        "n_layers": r.layers("num_hidden_layers", 12),
        "n_ctx": r.size("max_position_embeddings", 2048),
        # OPT's config has no epsilon; its LayerNorms use torch's default.
        "eps": 1e-5,
        "d_vocab": r.size("vocab_size", 50272),
        "act_fn": r.get_str("activation_function", "relu"),
        "normalization_type": "LN",
    }


def _gptj(r: _Reader, name: str) -> dict[str, Any]:
    r.aliases = {
        "n_embd": "hidden_size",
        "n_positions": "max_position_embeddings",
        "n_head": "num_attention_heads",
        "n_layer": "num_hidden_layers",
    }
    d_model = r.size("n_embd", 4096)
    n_heads = r.size("n_head", 16)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": r.layers("n_layer", 28),
        "n_ctx": r.size("n_positions", 2048),
        "eps": 1e-5,
        "d_vocab": r.size("vocab_size", 50400),
        "act_fn": r.get_str("activation_function", "gelu_new"),
        "parallel_attn_mlp": True,
        "positional_embedding_type": "rotary",
        "rotary_dim": r.size("rotary_dim", 64),
        "rotary_adjacent_pairs": True,
        "normalization_type": "LN",
    }


def _gpt_neox(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 6144)
    n_heads = r.size("num_attention_heads", 64)
    d_head = d_model // n_heads
    # GPTNeoXConfig keeps the rotary fraction in rope_parameters, taking the
    # legacy rotary_pct (default 0.25) when that has none. (TransformerLens
    # leaves the base at its default for GPT-NeoX.)
    rope = dict(_rope_dict(r, "rope_scaling") or _rope_dict(r, "rope_parameters") or {})
    rope.setdefault("partial_rotary_factor", r.get_num("rotary_pct", 0.25))
    pct = _num_in(r, "rope_parameters", rope, "partial_rotary_factor", None)
    rotary_dim = _float(r, "rotary_pct", pct * d_head)
    return {
        "d_model": d_model,
        "d_head": d_head,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 24576),
        "n_layers": r.layers("num_hidden_layers", 44),
        "n_ctx": r.size("max_position_embeddings", 2048),
        "eps": r.get_num("layer_norm_eps", 1e-5),
        "d_vocab": r.size("vocab_size", 50432),
        "act_fn": r.get_str("hidden_act", "gelu"),
        # GPT-NeoX ships sequential variants too.
        "parallel_attn_mlp": r.get_bool("use_parallel_residual", True),
        "positional_embedding_type": "rotary",
        "rotary_dim": round(rotary_dim),
        "normalization_type": "LN",
        "default_prepend_bos": False,
    }


def _bloom(r: _Reader, name: str) -> dict[str, Any]:
    r.aliases = {"n_layer": "num_hidden_layers", "n_head": "num_attention_heads"}
    # BLOOM files spell the width n_embed, which BloomConfig reads as hidden_size.
    width_key = "n_embed" if r.data.get("n_embed") is not None else "hidden_size"
    d_model = r.size(width_key, 64)
    n_heads = r.size("n_head", 8)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": 4 * d_model,
        "n_layers": r.layers("n_layer", 2),
        # Capped for the tokenizer, whatever seq_length says.
        "n_ctx": _LONG_CONTEXT_CAP,
        "d_vocab": r.size("vocab_size", 250880),
        "act_fn": "gelu_fast",
        "eps": r.get_num("layer_norm_epsilon", 1e-5),
        "normalization_type": "LN",
        "post_embedding_ln": True,
        "positional_embedding_type": "alibi",
        "default_prepend_bos": False,
    }


def _kv_heads(r: _Reader, default: Any, n_heads: int) -> int:
    """num_key_value_heads as the class resolves it: null means one per head."""
    kv = r.get_int("num_key_value_heads", default, nullable=True)
    if kv is None:
        return n_heads
    if not 1 <= kv <= _MAX_SIZE:
        raise r.error("num_key_value_heads", f"must be between 1 and {_MAX_SIZE}, got {kv}")
    return kv  # type: ignore[no-any-return]


def _unless_mha(kv: int, n_heads: int) -> int | None:
    # TransformerLens switches to grouped-query attention whenever
    # n_key_value_heads is set, so some branches leave it unset for plain
    # multi-head models.
    return None if kv == n_heads else kv


def _llama(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    n_ctx = r.size("max_position_embeddings", 2048)
    rope = _flat_rope(r, 10000.0, max_positions=n_ctx)
    cfg = {
        "d_model": d_model,
        # LlamaConfig's head_dim is not read: TransformerLens divides.
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 11008),
        "n_layers": r.layers("num_hidden_layers", 32),
        "n_ctx": n_ctx,
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "d_vocab": r.size("vocab_size", 32000),
        "act_fn": r.get_str("hidden_act", "silu"),
        "n_key_value_heads": _unless_mha(_kv_heads(r, None, n_heads), n_heads),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_base": rope["rope_theta"],
        "final_rms": True,
        "gated_mlp": True,
    }
    cfg.update(_ntk_by_parts(r, rope, n_ctx))
    if "llama" in name.lower():
        # TransformerLens writes the Meta Llama family out by hand (the file is
        # not read); those tables cap some contexts, and otherwise agree with
        # the files.
        if any(v in name for v in ("Llama-3.1", "Llama-3.2", "Llama-3.3")):
            cfg["n_ctx"] = min(n_ctx, _LONG_CONTEXT_CAP)
        if _written_by_hand(name):
            # Llama 3's table writes its base as a float; Llama 1 and 2 and Code Llama,
            # as an int.
            llama_3 = re.search(r"llama-3(?![0-9])", name.lower()) is not None  # not llama-30b
            cfg["rotary_base"] = _as_written(cfg["rotary_base"], float if llama_3 else int)
        if name.startswith("codellama"):
            # Code Llama's file says 16384; TransformerLens keeps Llama 2's 4096.
            cfg["n_ctx"] = min(n_ctx, _CODE_LLAMA_CONTEXT)
    return cfg


def _mistral(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    n_layers = r.layers("num_hidden_layers", 32)
    head_dim = r.get_int("head_dim", None, nullable=True)
    # MistralConfig's default window is 4096; an explicit null turns it off.
    window = _window(r, 4096)
    return {
        "d_model": d_model,
        "d_head": head_dim if head_dim is not None and head_dim > 0 else d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 14336),
        "n_layers": n_layers,
        "n_ctx": _LONG_CONTEXT_CAP,
        "d_vocab": r.size("vocab_size", 32000),
        "act_fn": r.get_str("hidden_act", "silu"),
        "window_size": window,
        "attn_types": ["local"] * n_layers if window else None,
        "use_local_attn": bool(window),
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "rotary_base": _flat_rope(r, 10000.0)["rope_theta"],
        "n_key_value_heads": _kv_heads(r, 8, n_heads),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "gated_mlp": True,
    }


def _window(r: _Reader, default: Any) -> Any:
    """A sliding window: a positive size, or None for none.

    TransformerLens keeps a window of 0 as ``window_size = 0`` with local
    attention off; it is None here, which builds the same model and is a value
    a preset can hold.
    """
    window = r.get_int("sliding_window", default, nullable=True)
    if window is None or window == 0:
        return None
    return r.positive("sliding_window", window)


def _mixtral(r: _Reader, name: str) -> dict[str, Any]:
    r.aliases = {"num_local_experts": "num_experts"}
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    n_layers = r.layers("num_hidden_layers", 32)
    window = _window(r, None)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 14336),
        "n_layers": n_layers,
        "n_ctx": r.size("max_position_embeddings", 4096 * 32),
        "d_vocab": r.size("vocab_size", 32000),
        "act_fn": r.get_str("hidden_act", "silu"),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_base": _flat_rope(r, 1e6)["rope_theta"],
        # None on the released 8x7B; a variant that sets it gets local layers.
        "window_size": window,
        "attn_types": ["local" if window else "global"] * n_layers,
        "use_local_attn": bool(window),
        "eps": r.get_num("rms_norm_eps", 1e-5),
        "n_key_value_heads": _kv_heads(r, 8, n_heads),
        "gated_mlp": True,
        "num_experts": r.size("num_local_experts", 8),
        "experts_per_token": r.size("num_experts_per_tok", 2),
        # Mixtral's router always renormalises the top-k weights (the config
        # has no switch for it), and TransformerLens 3.9 pins that.
        "norm_topk_prob": True,
    }


# What GptOssConfig puts in rope_parameters when the file has none.
_GPT_OSS_ROPE = {
    "rope_type": "yarn",
    "factor": 32.0,
    "beta_fast": 32.0,
    "beta_slow": 1.0,
    "truncate": False,
    "original_max_position_embeddings": 4096,
}


def _gpt_oss(r: _Reader, name: str) -> dict[str, Any]:
    r.aliases = {"num_local_experts": "num_experts"}
    d_model = r.size("hidden_size", 2880)
    n_heads = r.size("num_attention_heads", 64)
    n_layers = r.layers("num_hidden_layers", 36)
    head_dim = r.get_int("head_dim", 64, nullable=True)
    d_head = d_model // n_heads if head_dim is None else r.positive("head_dim", head_dim)
    window = r.get_int("sliding_window", 128, nullable=True)
    if window is None:
        # TransformerLens turns local attention on for gpt-oss, and a local
        # layer without a window is refused when the config is built.
        raise r.error("sliding_window", "must be set: TransformerLens gives gpt-oss local layers")
    cfg: dict[str, Any] = {
        "d_model": d_model,
        "d_head": d_head,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 2880),
        "n_layers": n_layers,
        "n_ctx": r.size("max_position_embeddings", 131072),
        "d_vocab": r.size("vocab_size", 201088),
        "act_fn": r.get_str("hidden_act", "silu"),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "eps": r.get_num("rms_norm_eps", 1e-5),
        "n_key_value_heads": _kv_heads(r, 8, n_heads),
        "gated_mlp": True,
        "final_rms": True,
        "rotary_dim": d_head,
        "num_experts": r.size("num_local_experts", 128),
        "experts_per_token": r.size("num_experts_per_tok", 4),
        "use_attention_sinks": True,
        # Alternating sliding and full layers; TransformerLens's local mask
        # matches Hugging Face's sliding window.
        "use_local_attn": True,
        "window_size": r.positive("sliding_window", window),
        "attn_types": _layer_kinds(
            r,
            "layer_types",
            n_layers,
            _alternating(n_layers, "sliding_attention", "full_attention"),
        ),
    }
    rope = _flat_rope(r, 150000.0, max_positions=cfg["n_ctx"], class_default=_GPT_OSS_ROPE)
    cfg["rotary_base"] = rope["rope_theta"]
    if rope.get("rope_type") == "yarn":
        cfg.update(_gpt_oss_yarn(r, rope))
    return cfg


def _gpt_oss_yarn(r: _Reader, rope: Mapping[str, Any]) -> dict[str, Any]:
    where = "rope_scaling" if r.present("rope_scaling") else "rope_parameters"
    if "factor" not in rope:
        raise r.error(f"{where}.factor", "missing required key (YaRN needs a factor)")
    factor = _num_in(r, where, rope, "factor", None)
    attention = _num_in(r, where, rope, "attention_factor", None)
    if attention is None:
        # transformers' default temperature for YaRN: 0.1 * ln(factor) + 1.
        attention = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    truncate = rope.get("truncate", True)
    if not isinstance(truncate, bool):
        raise r.error(f"{where}.truncate", f"expected true or false, got {_shown(truncate)}")
    original = _num_in(r, where, rope, "original_max_position_embeddings", None)
    if original is None:
        raise r.error(f"{where}.original_max_position_embeddings", "missing required key")
    return {
        "use_yarn_rope": True,
        "yarn_factor": _float(r, f"{where}.factor", factor),
        "yarn_attention_factor": _float(r, f"{where}.attention_factor", attention),
        # `or`: TransformerLens takes a zero beta as unset.
        "yarn_beta_fast": _float(r, where, _num_in(r, where, rope, "beta_fast", None) or 32.0),
        "yarn_beta_slow": _float(r, where, _num_in(r, where, rope, "beta_slow", None) or 1.0),
        "yarn_original_max_position_embeddings": original,
        "yarn_truncate": truncate,
    }


# What the remote QWenConfig (configuration_qwen.py in the Qwen-1 repositories)
# defaults to; seq_length has no default there, and TransformerLens needs it.
_QWEN1_DEFAULTS: dict[str, Any] = {
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "intermediate_size": 22016,
    "vocab_size": 151936,
    "layer_norm_epsilon": 1e-6,
    "initializer_range": 0.02,
    "scale_attn_weights": True,
    "kv_channels": 128,
    "use_dynamic_ntk": True,
    "use_logn_attn": True,
}


def _qwen(r: _Reader, name: str) -> dict[str, Any]:
    q = _QWEN1_DEFAULTS
    d_model = r.size("hidden_size", q["hidden_size"])
    n_heads = r.size("num_attention_heads", q["num_attention_heads"])
    seq_length = r.size("seq_length")
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        # The remote code's intermediate_size counts both halves of the gate.
        "d_mlp": r.size("intermediate_size", q["intermediate_size"]) // 2,
        "n_layers": r.layers("num_hidden_layers", q["num_hidden_layers"]),
        # The remote attention and rotary code work on seq_length.
        "n_ctx": seq_length,
        "use_logn_attn": r.get_bool("use_logn_attn", q["use_logn_attn"]),
        "use_dynamic_ntk_rope": r.get_bool("use_dynamic_ntk", q["use_dynamic_ntk"]),
        "train_seq_length": seq_length,
        "eps": r.get_num("layer_norm_epsilon", q["layer_norm_epsilon"]),
        "d_vocab": r.size("vocab_size", q["vocab_size"]),
        "act_fn": "silu",
        "use_attn_scale": r.get_bool("scale_attn_weights", q["scale_attn_weights"]),
        "initializer_range": r.get_num("initializer_range", q["initializer_range"]),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_dim": r.size("kv_channels", q["kv_channels"]),
        "tokenizer_prepends_bos": True,
        "trust_remote_code": True,
        "final_rms": True,
        "gated_mlp": True,
        "default_prepend_bos": False,
    }


def _qwen2(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "n_key_value_heads": _kv_heads(r, 32, n_heads),
        "d_mlp": r.size("intermediate_size", 22016),
        "n_layers": r.layers("num_hidden_layers", 32),
        # Not capped since TransformerLens 3.5.1.
        "n_ctx": r.size("max_position_embeddings", 32768),
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "d_vocab": r.size("vocab_size", 151936),
        "act_fn": r.get_str("hidden_act", "silu"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_base": _int_theta(r, _flat_rope(r, 10000.0)["rope_theta"]),
        "tokenizer_prepends_bos": True,
        "final_rms": True,
        "gated_mlp": True,
        "default_prepend_bos": False,
    }


def _int_theta(r: _Reader, theta: Any) -> int:
    # TransformerLens truncates the Qwen 2 and 3 bases to integers.
    try:
        return int(theta)
    except (OverflowError, ValueError):
        raise r.error("rope_theta", f"expected a finite number, got {_shown(theta)}") from None


def _qwen3(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    # Qwen3Config's head_dim defaults to 128 whatever the width.
    head_dim = r.get_int("head_dim", 128, nullable=True)
    if head_dim is None:
        raise r.error("head_dim", "expected an integer, got null (TransformerLens compares it)")
    d_head = head_dim if head_dim > 0 else d_model // n_heads
    return {
        "d_model": d_model,
        "d_head": d_head,
        "n_heads": n_heads,
        "n_key_value_heads": _unless_mha(_kv_heads(r, 32, n_heads), n_heads),
        "d_mlp": r.size("intermediate_size", 22016),
        "n_layers": r.layers("num_hidden_layers", 32),
        "n_ctx": _LONG_CONTEXT_CAP,
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "d_vocab": r.size("vocab_size", 151936),
        "act_fn": r.get_str("hidden_act", "silu"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_base": _int_theta(r, _flat_rope(r, 10000.0)["rope_theta"]),
        "rotary_dim": d_head,
        "tokenizer_prepends_bos": True,
        "final_rms": True,
        "gated_mlp": True,
        "default_prepend_bos": False,
        "use_qk_norm": True,
        "trust_remote_code": True,
    }


def _phi(r: _Reader, name: str) -> dict[str, Any]:
    # TransformerLens 3.9 reads hf_config.partial_rotary_factor, which
    # transformers 5 moves into rope_parameters, so its own conversion of any
    # PhiForCausalLM raises AttributeError. These are the values its Phi
    # branch computes from the file's factor (PhiConfig's default: 0.5).
    d_model = r.size("hidden_size", 2048)
    n_heads = r.size("num_attention_heads", 32)
    d_head = d_model // n_heads
    rope = _flat_rope(r, 10000.0, partial_key="partial_rotary_factor", partial_default=0.5)
    pct = _num_in(r, "rope_parameters", rope, "partial_rotary_factor", 0.5)
    return {
        "d_model": d_model,
        "d_head": d_head,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 8192),
        "n_layers": r.layers("num_hidden_layers", 24),
        "n_ctx": r.size("max_position_embeddings", 2048),
        "eps": r.get_num("layer_norm_eps", 1e-5),
        "d_vocab": r.size("vocab_size", 51200),
        "act_fn": r.get_str("hidden_act", "gelu_new"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "LN",
        "positional_embedding_type": "rotary",
        "trust_remote_code": True,
        "rotary_base": rope["rope_theta"],
        "parallel_attn_mlp": True,
        "default_prepend_bos": False,
        "rotary_dim": round(_float(r, "partial_rotary_factor", pct * d_head)),
    }


def _phi3(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 3072)
    n_heads = r.size("num_attention_heads", 32)
    n_layers = r.layers("num_hidden_layers", 32)
    window = _window(r, None)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 8192),
        "n_layers": n_layers,
        "n_key_value_heads": _unless_mha(_kv_heads(r, None, n_heads), n_heads),
        "n_ctx": r.size("max_position_embeddings", 4096),
        "eps": r.get_num("rms_norm_eps", 1e-5),
        "d_vocab": r.size("vocab_size", 32064),
        "act_fn": r.get_str("hidden_act", "silu"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_base": _flat_rope(r, 10000.0)["rope_theta"],
        "gated_mlp": True,
        # Phi-3-mini-4k windows every layer (2047 positions inside 4096).
        "window_size": window,
        "use_local_attn": bool(window),
        "attn_types": ["local"] * n_layers if window else None,
    }


# What ApertusConfig puts in rope_parameters when the file has none.
_APERTUS_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 12000000.0,
    "factor": 8.0,
    "original_max_position_embeddings": 8192,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
}


def _apertus(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    n_ctx = r.size("max_position_embeddings", 65536)
    rope = _flat_rope(r, 12000000.0, max_positions=n_ctx, class_default=_APERTUS_ROPE)
    cfg = {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "n_key_value_heads": _unless_mha(_kv_heads(r, None, n_heads), n_heads),
        "d_mlp": r.size("intermediate_size", 14336),
        "n_layers": r.layers("num_hidden_layers", 32),
        "n_ctx": n_ctx,
        "eps": r.get_num("rms_norm_eps", 1e-5),
        "d_vocab": r.size("vocab_size", 131072),
        "act_fn": r.get_str("hidden_act", "xielu"),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_base": rope["rope_theta"],
        # Apertus's MLP is up -> xIELU -> down, with no gate.
        "gated_mlp": False,
        "final_rms": True,
        # The model always normalises Q and K; its config has no switch
        # (a qk_norm key in some files is not read).
        "use_qk_norm": True,
    }
    cfg.update(_ntk_by_parts(r, rope, n_ctx))
    return cfg


def _gemma(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 3072)
    n_heads = r.size("num_attention_heads", 16)
    return {
        "d_model": d_model,
        "d_head": r.size("head_dim", 256),
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 24576),
        "n_layers": r.layers("num_hidden_layers", 28),
        "n_ctx": r.size("max_position_embeddings", 8192),
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "d_vocab": r.size("vocab_size", 256000),
        "act_fn": r.get_str("hidden_act", "gelu_pytorch_tanh"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "rotary_base": _hand_written(name, _flat_rope(r, 10000.0)["rope_theta"], int),
        "positional_embedding_type": "rotary",
        "n_key_value_heads": _kv_heads(r, 16, n_heads),
        "gated_mlp": True,
        "final_rms": True,
    }


def _gemma_activation(r: _Reader) -> str:
    # Gemma 2 and 3 name the MLP activation hidden_activation; hidden_act is
    # the older key, kept in some files.
    if r.data.get("hidden_activation") is not None:
        return r.get_str("hidden_activation")  # type: ignore[no-any-return]
    return r.get_str("hidden_act", "gelu_pytorch_tanh")  # type: ignore[no-any-return]


def _softcap(r: _Reader, key: str, default: Any) -> Any:
    value = r.get_num(key, default, nullable=True)
    return -1.0 if value is None else value


def _sqrt(r: _Reader, key: str, value: Any) -> float:
    if value < 0:
        raise r.error(key, f"must not be negative, got {value}")
    return math.sqrt(value)


def _gemma2(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 2304)
    n_heads = r.size("num_attention_heads", 8)
    n_layers = r.layers("num_hidden_layers", 26)
    return {
        "d_model": d_model,
        "d_head": r.size("head_dim", 256),
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 9216),
        "n_layers": n_layers,
        "n_ctx": r.size("max_position_embeddings", 8192),
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "d_vocab": r.size("vocab_size", 256000),
        "act_fn": _gemma_activation(r),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "rotary_base": _flat_rope(r, 10000.0)["rope_theta"],
        "positional_embedding_type": "rotary",
        "n_key_value_heads": _kv_heads(r, 4, n_heads),
        # Gemma 2 scales scores by 1/sqrt(query_pre_attn_scalar), not 1/sqrt(d_head).
        "attn_scale": _sqrt(r, "query_pre_attn_scalar", r.get_num("query_pre_attn_scalar", 256)),
        "window_size": r.size("sliding_window", 4096),
        "use_local_attn": True,
        # Hugging Face makes the even layers sliding (TransformerLens 3.9 agrees).
        "attn_types": _layer_kinds(
            r,
            "layer_types",
            n_layers,
            _alternating(n_layers, "sliding_attention", "full_attention"),
        ),
        "attn_scores_soft_cap": _softcap(r, "attn_logit_softcapping", 50.0),
        "output_logits_soft_cap": _softcap(r, "final_logit_softcapping", 30.0),
        "gated_mlp": True,
        "final_rms": True,
        "use_normalization_before_and_after": True,
    }


def _gemma3(r: _Reader, name: str) -> dict[str, Any]:
    # The defaults are Gemma3TextConfig's: the multimodal files leave most
    # text settings out of text_config.
    d_model = r.size("hidden_size", 2304)
    n_heads = r.size("num_attention_heads", 8)
    n_layers = r.layers("num_hidden_layers", 26)
    pattern = r.size("sliding_window_pattern", 6)
    default_kinds = [
        "full_attention" if (i + 1) % pattern == 0 else "sliding_attention" for i in range(n_layers)
    ]
    attn_types = _layer_kinds(r, "layer_types", n_layers, default_kinds)
    max_positions = r.size("max_position_embeddings", 131072)
    full, sliding = _layered_rope(
        r, 1_000_000.0, 10_000.0, "rope_local_base_freq", attn_types, max_positions
    )
    factor = 1.0
    if _rope_kind(full) == "linear":
        factor = _num_in(r, "rope_scaling", full, "factor", 1.0)
    return {
        "d_model": d_model,
        "d_head": r.size("head_dim", 256),
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 9216),
        "n_layers": n_layers,
        "n_ctx": min(max_positions, _GEMMA3_CONTEXT_CAP),
        "eps": r.get_num("rms_norm_eps", 1e-6),
        "d_vocab": r.size("vocab_size", 262208),
        "act_fn": _gemma_activation(r),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "rotary_base": _hand_written(name, full["rope_theta"], int),
        "rotary_base_local": _hand_written(name, sliding["rope_theta"], int),
        "rotary_scaling_factor": factor,
        "positional_embedding_type": "rotary",
        "n_key_value_heads": _kv_heads(r, 4, n_heads),
        "gated_mlp": True,
        "final_rms": True,
        "use_normalization_before_and_after": True,
        "use_qk_norm": True,
        "window_size": r.size("sliding_window", 4096),
        "use_local_attn": True,
        "attn_types": attn_types,
        # Gemma 3 files say null here; a value would be a new model.
        "attn_scores_soft_cap": _softcap(r, "attn_logit_softcapping", None),
        "output_logits_soft_cap": _softcap(r, "final_logit_softcapping", None),
        # TransformerLens scales by sqrt(d_head) for Gemma 3, although the 27B
        # file says query_pre_attn_scalar = 168; so that key is not read.
    }


def _gemma3_multimodal(r: _Reader, name: str) -> dict[str, Any]:
    # Only the language model is converted; its settings sit in text_config.
    return _gemma3(r.nested("text_config"), name)


def _olmo(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    n_layers = r.layers("num_hidden_layers", 32)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 11008),
        "n_layers": n_layers,
        "n_ctx": r.size("max_position_embeddings", 2048),
        # OLMo 1 uses a weightless LayerNorm with a fixed epsilon.
        "eps": 1e-5,
        "d_vocab": r.size("vocab_size", 50304),
        "act_fn": r.get_str("hidden_act", "silu"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "LN",
        "rotary_base": _hand_written(name, _flat_rope(r, 10000.0)["rope_theta"], float),
        "attn_types": ["global"] * n_layers,
        "positional_embedding_type": "rotary",
        "gated_mlp": True,
        "clip_qkv": r.get_num("clip_qkv", None, nullable=True),
    }


def _olmo2(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    n_layers = r.layers("num_hidden_layers", 32)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 11008),
        "n_layers": n_layers,
        "n_ctx": r.size("max_position_embeddings", 2048),
        "eps": r.get_num("rms_norm_eps", 1e-5),
        "d_vocab": r.size("vocab_size", 50304),
        "act_fn": r.get_str("hidden_act", "silu"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "rotary_base": _hand_written(name, _flat_rope(r, 10000.0)["rope_theta"], float),
        "attn_types": ["global"] * n_layers,
        "positional_embedding_type": "rotary",
        "gated_mlp": True,
    }


def _olmo3(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 4096)
    n_heads = r.size("num_attention_heads", 32)
    n_layers = r.layers("num_hidden_layers", 32)
    n_ctx = r.size("max_position_embeddings", 2048)
    # Three sliding-window layers, then a full one (Olmo3Config's default).
    default_kinds = [
        "full_attention" if (i + 1) % 4 == 0 else "sliding_attention" for i in range(n_layers)
    ]
    attn_types = _layer_kinds(r, "layer_types", n_layers, default_kinds)
    full, sliding = _layered_rope(r, 500000.0, 500000.0, None, attn_types, n_ctx)
    cfg: dict[str, Any] = {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "n_key_value_heads": _kv_heads(r, None, n_heads),
        "d_mlp": r.size("intermediate_size", 11008),
        "n_layers": n_layers,
        "n_ctx": n_ctx,
        "eps": r.get_num("rms_norm_eps", 1e-5),
        "d_vocab": r.size("vocab_size", 50304),
        "act_fn": r.get_str("hidden_act", "silu"),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_base": full["rope_theta"],
        "gated_mlp": True,
        "tie_word_embeddings": r.get_bool("tie_word_embeddings", False),
        "attn_types": attn_types,
    }
    # transformers gives sliding layers the default base when the file has a
    # single rope_theta, which then differs from a non-default global base.
    if sliding["rope_theta"] != full["rope_theta"]:
        cfg["rotary_base_local"] = sliding["rope_theta"]
    if _rope_kind(full) == "yarn":
        where = "rope_scaling" if r.present("rope_scaling") else "rope_parameters"
        cfg.update(
            use_yarn_rope=True,
            # YaRN stretches only the full-attention layers' rotary embedding.
            yarn_global_attn_only=True,
            yarn_factor=_float(r, where, _num_in(r, where, full, "factor", 8.0)),
            yarn_attention_factor=_float(
                r, where, _num_in(r, where, full, "attention_factor", 1.0)
            ),
            yarn_beta_fast=_float(r, where, _num_in(r, where, full, "beta_fast", None) or 32.0),
            yarn_beta_slow=_float(r, where, _num_in(r, where, full, "beta_slow", None) or 1.0),
            yarn_original_max_position_embeddings=_num_in(
                r, where, full, "original_max_position_embeddings", 4096
            ),
            yarn_truncate=_bool_in(r, where, full, "truncate", True),
        )
    window = _window(r, 4096)
    if "local" in attn_types and window:
        cfg["use_local_attn"] = True
        cfg["window_size"] = window
    return cfg


def _bool_in(r: _Reader, where: str, mapping: Mapping[str, Any], key: str, default: bool) -> bool:
    value = mapping.get(key, default)
    if not isinstance(value, bool):
        raise r.error(f"{where}.{key}", f"expected true or false, got {_shown(value)}")
    return value


def _olmoe(r: _Reader, name: str) -> dict[str, Any]:
    r.aliases = {"num_experts": "num_local_experts"}
    d_model = r.size("hidden_size", 2048)
    n_heads = r.size("num_attention_heads", 16)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 2048),
        "n_layers": r.layers("num_hidden_layers", 16),
        "n_ctx": r.size("max_position_embeddings", 4096),
        "eps": r.get_num("rms_norm_eps", 1e-5),
        "d_vocab": r.size("vocab_size", 50304),
        "act_fn": r.get_str("hidden_act", "silu"),
        "num_experts": r.size("num_experts", 64),
        "experts_per_token": r.size("num_experts_per_tok", 8),
        "norm_topk_prob": r.get_bool("norm_topk_prob", False),
        "n_key_value_heads": _kv_heads(r, None, n_heads),
        "rotary_base": _flat_rope(r, 10000.0)["rope_theta"],
        "tie_word_embeddings": r.get_bool("tie_word_embeddings", False),
        "initializer_range": r.get_num("initializer_range", 0.02),
        "positional_embedding_type": "rotary",
        "gated_mlp": True,
        "normalization_type": "RMS",
        "clip_qkv": r.get_num("clip_qkv", None, nullable=True),
    }


def _bert(r: _Reader, name: str) -> dict[str, Any]:
    d_model = r.size("hidden_size", 768)
    n_heads = r.size("num_attention_heads", 12)
    return {
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "n_heads": n_heads,
        "d_mlp": r.size("intermediate_size", 3072),
        "n_layers": r.layers("num_hidden_layers", 12),
        "n_ctx": r.size("max_position_embeddings", 512),
        "eps": r.get_num("layer_norm_eps", 1e-12),
        "d_vocab": r.size("vocab_size", 30522),
        "act_fn": "gelu",
        "attention_dir": "bidirectional",
    }


def _t5(r: _Reader, name: str) -> dict[str, Any]:
    r.aliases = {
        "d_model": "hidden_size",
        "num_heads": "num_attention_heads",
        "num_layers": "num_hidden_layers",
        "d_kv": "head_dim",
    }
    return {
        "d_model": r.size("d_model", 512),
        "d_head": r.size("d_kv", 64),
        "n_heads": r.size("num_heads", 8),
        "d_mlp": r.size("d_ff", 2048),
        "d_vocab": r.size("vocab_size", 32128),
        "n_layers": r.layers("num_layers", 6),
        # transformers 5 no longer keeps a top-level max_length on the config, so
        # TransformerLens reads n_positions, which T5Config neither has a default for
        # nor writes (TransformerLens fails without it).
        "n_ctx": _t5_context(r),
        "eps": r.get_num("layer_norm_epsilon", 1e-6),
        "act_fn": r.get_str("feed_forward_proj", "relu"),
        "positional_embedding_type": "relative_positional_bias",
        "relative_attention_max_distance": r.size("relative_attention_max_distance", 128),
        "relative_attention_num_buckets": r.size("relative_attention_num_buckets", 32),
        "decoder_start_token_id": _t5_decoder_start(r),
        "attention_dir": "bidirectional",
        "use_attn_scale": False,
        # T5Config ties the embeddings whatever the file says.
        "tie_word_embeddings": True,
    }


def _t5_context(r: _Reader) -> int:
    if r.present("n_positions"):
        return r.size("n_positions")
    _note(
        r,
        "n_positions",
        f"not in the file (transformers 5 does not write it): n_ctx is {_T5_CONTEXT}, "
        "the value T5's config files carry",
    )
    return _T5_CONTEXT


def _t5_decoder_start(r: _Reader) -> Any:
    # TransformerLens reads it; T5Config (transformers 5) neither has a default for it nor
    # writes it, and T5's decoder starts from the padding token (transformers says so when
    # it is missing), as every published T5 file has it.
    if r.present("decoder_start_token_id"):
        return r.get_int("decoder_start_token_id", nullable=True)
    pad = r.get_int("pad_token_id", 0, nullable=True)
    if pad is None:
        raise r.error("decoder_start_token_id", "missing, and so is pad_token_id, T5's start token")
    _note(
        r,
        "decoder_start_token_id",
        f"not in the file (transformers 5 does not write it): it is pad_token_id ({pad}), "
        "the token T5's decoder starts from",
    )
    return pad


_CONVERTERS: dict[str, Callable[[_Reader, str], dict[str, Any]]] = {
    "GPT2LMHeadModel": _gpt2,
    "GPT2LMHeadCustomModel": _santacoder,
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


def _architecture(r: _Reader) -> str:
    archs = r.get_list("architectures", nullable=False)
    if not archs:
        raise r.error("architectures", "missing required key (it names the model class)")
    arch = archs[0]
    if not isinstance(arch, str) or arch not in _CONVERTERS:
        raise r.error(
            "architectures",
            f"unsupported architecture {_shown(arch)}; "
            f"supported: {', '.join(SUPPORTED_ARCHITECTURES)}",
        )
    return arch


def _reads_the_file(name: str) -> bool:
    # TransformerLens never fetches the config of a model whose official name
    # mentions llama or gemma: it knows the architecture from the name.
    lowered = name.lower()
    return "llama" not in lowered and "gemma" not in lowered


def _quantization(r: _Reader) -> Any:
    """The checkpoint's ``quant_method``, which TransformerLens 3.9 records."""
    quant = r.get_dict("quantization_config")
    if quant is None:
        return None
    method = quant.get("quant_method")
    if method is not None and not isinstance(method, str):
        raise r.error(
            "quantization_config.quant_method", f"expected a string, got {_shown(method)}"
        )
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


def _identical(a: Any, b: Any) -> bool:
    """:func:`_same`, and of one type: a preset that inherits 10000 where it wants
    10000.0 builds a config holding another value (the type is part of it)."""
    if isinstance(a, int | float) and isinstance(b, int | float) and type(a) is not type(b):
        return False
    return _same(a, b)


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
    file leaves out takes the default of the ``transformers`` config class. The
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
    data, file, place_name = _load(source)
    reader = _Reader(data, file)
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
    cfg = _CONVERTERS[arch](reader, name)
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
    from .errors import PresetValidationError
    from .field_rules import check_and_derive

    try:
        check_and_derive(values)
    except PresetValidationError as error:
        raise HFConfigError(
            f"{error.reason} (as this config.json gives it)", file=file, key=error.key
        ) from None


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
        if key not in base or not _identical(base[key], value):
            if value is None:
                none.append(key)
            else:
                out[key] = value
    for key, base_value in base.items():
        if key in values or key not in FIELDS or key in ("n_params", "device", "init_weights"):
            continue
        default = specs.get(key)
        if _identical(default, base_value):
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


def extends_table(
    values: Mapping[str, Any],
    base: Mapping[str, Any],
    *,
    patterns: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The table of a preset that ``extends`` ``base`` and resolves to ``values``, minimal.

    :func:`diff_values`, less every field whose value the base plus the class's
    own derivations already give (``n_heads = d_model // d_head``, ``d_mlp =
    4 * d_model``, ...): such a line would only repeat what ``show`` marks as
    derived. ``patterns`` holds the per-layer fields the base writes as a
    pattern (``{"repeat": [...]}``), which a child inherits laid out over its
    own ``n_layers``: a list that pattern gives is left out too. Reserved keys
    (``unset``, ``none``) come first.

    >>> extends_table({"n_layers": 2, "d_model": 512, "d_head": 64, "n_heads": 8,
    ...                "n_ctx": 64, "act_fn": "relu"},
    ...               {"n_layers": 12, "d_model": 512, "d_head": 64, "n_ctx": 64, "act_fn": "relu"})
    {'n_layers': 2}
    >>> extends_table({"n_layers": 3, "attn_types": ["local", "global", "local"]},
    ...               {"n_layers": 2, "attn_types": ["local", "global"]},
    ...               patterns={"attn_types": {"repeat": ["local", "global"]}})
    {'n_layers': 3}
    """
    from .field_rules import DERIVED_FIELDS, check_and_derive

    diff = diff_values(values, base)
    table: dict[str, Any] = {k: diff.pop(k) for k in ("unset", "none") if k in diff}
    table.update(diff)
    inherited = {
        k: v
        for k, v in (patterns or {}).items()
        if k in FIELDS and k not in table.get("unset", ()) and k not in table.get("none", ())
    }

    def merged(without: str) -> dict[str, Any]:
        out = {k: v for k, v in base.items() if k not in table.get("unset", ())}
        out.update(dict.fromkeys(table.get("none", ())))
        out.update((k, v) for k, v in table.items() if k in FIELDS)
        for key, pattern in inherited.items():
            if key not in table:  # laid out over this preset's layers, not the base's
                out[key] = expand_pattern(pattern, out.get("n_layers"))
        out.pop(without, None)
        return out

    for field, pattern in inherited.items():
        if (
            field in table
            and expand_pattern(pattern, merged(field).get("n_layers")) == table[field]
        ):
            del table[field]
    for field in DERIVED_FIELDS:
        if field not in table or field in base:
            continue
        try:
            derived = check_and_derive(merged(field)).get(field)
        except PresetError:
            continue  # needed after all
        value = table[field]
        if type(derived) is type(value) and derived == value:
            del table[field]
    return table


#: Words in a model's name that mark a tuned checkpoint rather than a base model.
_TUNED_WORDS = ("chat", "instruct", "-it", "tuned", "sft", "dpo", "rlhf", "think", "code")


def is_tuned(name: str) -> bool:
    """Whether a model's name marks it as tuned (chat, instruct, ...) rather than a base model.

    >>> is_tuned("meta-llama/Llama-2-7b-chat-hf"), is_tuned("meta-llama/Llama-2-7b-hf")
    (True, False)
    """
    lowered = name.lower().rsplit("/", 1)[-1]
    return any(word in lowered for word in _TUNED_WORDS)


def differing_fields(values: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[str]:
    """The fields (names aside) in which a preset's resolved values differ from ``values``.

    Both are compared as the built config would hold them: a field either
    leaves out counts as its default, or as what the class derives
    (``n_heads = d_model // d_head`` written out equals ``n_heads`` left out).

    >>> differing_fields({"n_layers": 2, "d_model": 64, "d_head": 16, "n_ctx": 8,
    ...                   "n_heads": 4, "act_fn": "relu"},
    ...                  {"n_layers": 3, "d_model": 64, "d_head": 16, "n_ctx": 8, "act_fn": "relu"})
    ['n_layers']
    """
    specs = defaults()
    ignored = {"model_name", "tokenizer_name", "n_params", "device", "init_weights"}

    def built(v: Mapping[str, Any]) -> dict[str, Any]:
        from .field_rules import check_and_derive

        full = {**specs, **v}
        try:
            full.update(check_and_derive(v))
        except PresetError:
            pass  # compared as written
        return full

    a, b = built(values), built(candidate)
    keys = (set(values) | set(candidate) | set(a)) & set(FIELDS)
    return sorted(k for k in keys - ignored if not _identical(a.get(k), b.get(k)))


def closest_preset(
    values: Mapping[str, Any],
    candidates: Mapping[str, Mapping[str, Any]],
    *,
    aliases: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """The candidate a preset made from ``values`` is best written as extending.

    A candidate named as the model itself (its ``tokenizer_name``, by name or by
    one of its ``aliases``, any case) wins. Otherwise the fewest differing fields
    (:func:`differing_fields`) win, ties going to the same
    ``original_architecture``, then to a base model over a tuned one
    (:func:`is_tuned`), then to the alphabetically first name.

    >>> closest_preset({"n_layers": 12, "d_model": 768},
    ...                {"a": {"n_layers": 24, "d_model": 1024},
    ...                 "b": {"n_layers": 12, "d_model": 1024}})
    'b'
    >>> closest_preset({"n_layers": 2}, {"m-chat": {"n_layers": 2}, "m": {"n_layers": 2}})
    'm'
    """
    if not candidates:
        raise HFConfigError("no presets to compare with")
    own = str(values.get("tokenizer_name") or "").casefold()
    if own:
        for cand_name in sorted(candidates):
            names = [cand_name, *(aliases or {}).get(cand_name, ())]
            if own in (n.casefold() for n in names):
                return cand_name

    def score(item: tuple[str, Mapping[str, Any]]) -> tuple[int, bool, bool, str]:
        cand_name, cand = item
        other_arch = cand.get("original_architecture") != values.get("original_architecture")
        return len(differing_fields(values, cand)), other_arch, is_tuned(cand_name), cand_name

    return min(candidates.items(), key=score)[0]
