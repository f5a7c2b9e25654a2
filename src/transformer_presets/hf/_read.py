"""Typed reading of a ``config.json``'s keys, with the defaults of its ``transformers`` class.

:class:`Reader` is what every family's import reads through: a missing key takes the
default the family gives (the configuration class's own), a key of the wrong type or
out of range is an :class:`HFConfigError` naming it (as the file spells it, inside
nested objects too), and a value a family takes without the file saying it (where the
class has no default) is an :class:`HFConfigNote` naming it the same way. The helpers below it read what several families share: numbers
inside a dict the file holds, key/value heads, sliding windows, per-layer kinds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from ..common.plain import is_int as _plain_int
from .errors import HFConfigError, HFConfigNote

__all__ = [
    "CONTEXT_CAP",
    "MAX_LAYERS",
    "MAX_SIZE",
    "REQUIRED",
    "Reader",
    "alternating",
    "bool_in",
    "is_int",
    "is_number",
    "kv_heads",
    "layer_kinds",
    "num_in",
    "shown",
    "sliding_window",
    "to_float",
    "unless_mha",
]

# Bounds on what a config may ask for: integers as the file format keeps them, sizes
# as TransformerLens can hold them, and layers tightly, since per-layer lists are built
# from the count.
MAX_INT = 2**63
MAX_SIZE = 2**31 - 1
MAX_LAYERS = 65536

# The context TransformerLens caps some models at "due to memory issues" (the attention
# mask is n_ctx x n_ctx, so a 128k window would not fit); the export refuses any other.
CONTEXT_CAP = 2048

#: A key the class has no default for: missing, it is an error.
REQUIRED: Any = object()


def is_int(value: Any) -> bool:
    # An integer a config can mean (not a bool, and within what the file format keeps).
    return _plain_int(value) and -MAX_INT < value < MAX_INT


def is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -MAX_INT < value < MAX_INT
    return isinstance(value, float) and math.isfinite(value)


def shown(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "int": ("an integer", is_int),
    "num": ("a number", is_number),
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "dict": ("an object", lambda v: isinstance(v, Mapping)),
    "list": ("an array", lambda v: isinstance(v, list | tuple)),
}


class Reader:
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

    def note(self, key: str, message: str) -> None:
        """Warn (:class:`HFConfigNote`) that a value was taken without the file saying it.

        Called by a helper of a family's ``read_<arch>``: the warning points at the
        caller of ``from_hf_config`` (this, the helper, ``read_<arch>``, ``from_hf_config``).
        """
        # Worded as an error is (file: key 'name': message), without being one.
        warnings.warn(str(self.error(key, message)), HFConfigNote, stacklevel=5)

    def where(self, key: str) -> str:
        """The key a value is read from: the alias when the file spells it so."""
        alias = self.aliases.get(key)
        if alias is not None and alias in self.data:
            return alias
        return key

    def present(self, key: str) -> bool:
        return self.where(key) in self.data

    def get(self, key: str, kind: str, default: Any = REQUIRED, *, nullable: bool = False) -> Any:
        found = self.where(key)
        if found not in self.data:
            if default is REQUIRED:
                needed = f" (needed for {self.architecture})" if self.architecture else ""
                raise self.error(key, f"missing required key{needed}")
            return default
        value = self.data[found]
        name, check = _KINDS[kind]
        if value is None and nullable:
            return None
        if not check(value):
            got = "null" if value is None else type(value).__name__
            raise self.error(found, f"expected {name}, got {got} {shown(value)}".rstrip())
        return value

    def get_int(self, key: str, default: Any = REQUIRED, *, nullable: bool = False) -> Any:
        return self.get(key, "int", default, nullable=nullable)

    def get_num(self, key: str, default: Any = REQUIRED, *, nullable: bool = False) -> Any:
        return self.get(key, "num", default, nullable=nullable)

    def get_str(self, key: str, default: Any = REQUIRED, *, nullable: bool = False) -> Any:
        return self.get(key, "str", default, nullable=nullable)

    def get_bool(self, key: str, default: Any = REQUIRED, *, nullable: bool = False) -> Any:
        return self.get(key, "bool", default, nullable=nullable)

    def get_dict(self, key: str, *, nullable: bool = True) -> Mapping[str, Any] | None:
        value: Mapping[str, Any] | None = self.get(key, "dict", None, nullable=nullable)
        return value

    def get_list(self, key: str, *, nullable: bool = True) -> list[Any] | None:
        value = self.get(key, "list", None, nullable=nullable)
        return None if value is None else list(value)

    def size(self, key: str, default: Any = REQUIRED, *, limit: int = MAX_SIZE) -> int:
        """A positive count or width: heads, layers, hidden size, vocabulary."""
        return self.positive(key, self.get_int(key, default), limit)

    def positive(self, key: str, value: Any, limit: int = MAX_SIZE) -> int:
        """``value``, read from ``key``, checked to be a positive size."""
        if not 1 <= value <= limit:
            raise self.error(self.where(key), f"must be between 1 and {limit}, got {value}")
        return value  # type: ignore[no-any-return]

    def layers(self, key: str, default: Any = REQUIRED) -> int:
        # Per-layer lists are built from this count, so it is bounded tightly.
        return self.size(key, default, limit=MAX_LAYERS)

    def nested(self, key: str, aliases: Mapping[str, str] | None = None) -> Reader:
        inner = self.get_dict(key)
        reader = Reader(inner or {}, self.file, f"{self.prefix}{key}.", aliases)
        reader.architecture = self.architecture
        return reader


def num_in(r: Reader, where: str, mapping: Mapping[str, Any], key: str, default: Any) -> Any:
    """A number from a dict the file holds (``rope_scaling`` and the like)."""
    value = mapping.get(key, default)
    if value is default:
        return default
    if not is_number(value):
        raise r.error(f"{where}.{key}", f"expected a number, got {shown(value)}")
    return value


def to_float(r: Reader, where: str, value: Any) -> float:
    try:
        out = float(value)
    except (OverflowError, TypeError, ValueError):
        raise r.error(where, f"expected a number, got {shown(value)}") from None
    if not math.isfinite(out):
        raise r.error(where, f"expected a finite number, got {shown(value)}")
    return out


def bool_in(r: Reader, where: str, mapping: Mapping[str, Any], key: str, default: bool) -> bool:
    value = mapping.get(key, default)
    if not isinstance(value, bool):
        raise r.error(f"{where}.{key}", f"expected true or false, got {shown(value)}")
    return value


def kv_heads(r: Reader, default: Any, n_heads: int) -> int:
    """num_key_value_heads as the class resolves it: null means one per head."""
    kv = r.get_int("num_key_value_heads", default, nullable=True)
    if kv is None:
        return n_heads
    if not 1 <= kv <= MAX_SIZE:
        raise r.error("num_key_value_heads", f"must be between 1 and {MAX_SIZE}, got {kv}")
    return kv  # type: ignore[no-any-return]


def unless_mha(kv: int, n_heads: int) -> int | None:
    # TransformerLens switches to grouped-query attention whenever
    # n_key_value_heads is set, so some branches leave it unset for plain
    # multi-head models.
    return None if kv == n_heads else kv


def sliding_window(r: Reader, default: Any) -> Any:
    """A sliding window: a positive size, or None for none.

    TransformerLens keeps a window of 0 as ``window_size = 0`` with local
    attention off; it is None here, which builds the same model and is a value
    a preset can hold.
    """
    window = r.get_int("sliding_window", default, nullable=True)
    if window is None or window == 0:
        return None
    return r.positive("sliding_window", window)


def layer_kinds(r: Reader, key: str, n_layers: int, default: list[str]) -> list[str]:
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
            raise r.error(f"{key}[{i}]", f"expected a string, got {shown(kind)}")
        out.append("local" if kind == "sliding_attention" else "global")
    return out


def alternating(n_layers: int, first: str, second: str) -> list[str]:
    return [first if i % 2 == 0 else second for i in range(n_layers)]
