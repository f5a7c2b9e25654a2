"""What TransformerLens 4.3's ``TransformerBridge.run_with_cache`` holds, per architecture.

TransformerLens 4 wraps a ``transformers`` model in a ``TransformerBridge``: every bridged
component (embedding, norm, attention and its projections, MLP, ...) has a ``hook_in`` and
a ``hook_out``, and HookedTransformer's names (``hook_resid_pre``, ``attn.hook_q``,
``hook_pattern``, ...) are aliases of those or hooks of their own. Which hooks fire, in
what order, with which shapes, and which of them hold one tensor under two names depends
on the adapter TransformerLens picks for the architecture and on the ``transformers``
code it wraps. The planner holds that knowledge as one table per adapter, read from
TransformerLens 4.3's ``model_bridge`` (``supported_architectures/<arch>.py``,
``generalized_components/``) and from running it (``tests/test_planner_bridge_tl4.py``
compares every adapter with TransformerLens 4.3 itself).

The model is the one ``boot_bridge`` builds: the preset's exported ``config.json``, the
``transformers`` model built from it (eager attention, in the requested dtype), wrapped by
``TransformerBridge.boot_transformers`` with its default hooks, in eval mode (dropout
passes its input on: the same tensor), and ``run_with_cache`` with its default arguments on a
``[batch, seq]`` tensor of token ids (T5's decoder reads the input shifted right, as the
bridge makes it by default, so both of its stacks see ``seq`` tokens).

The tables are in :mod:`._bridge_adapters`, written in the row language of
:mod:`._bridge_rows`. This module reads a preset against its adapter's table, refuses
what the bridge cannot run (:meth:`BridgeLayout.check_dtype`) and selections whose
tensors vary between processes (:meth:`BridgeLayout.check_selection`), and lays the
tensors out as :mod:`.layout` rows (a stack's layers by variant: T5's first block,
Gemma 3's attention types); :mod:`.hooked` lists, counts and prices them with the
machinery it uses for ``HookedTransformer`` (a tensor under two names counted once,
layers alike counted together, a glob matched only against the hooks it can reach).
Pure Python: no torch, transformers or TransformerLens.
"""

from __future__ import annotations

from ..errors import PresetValidationError, did_you_mean
from ..fields.params import _Config
from ._bridge_adapters import ADAPTERS, NOT_BUILDABLE
from ._bridge_rows import DIMS, Row
from ._bridge_rows import _parse as _parse
from ._values import _HALF, shape_bytes
from .layout import IN, Layout, Order, Part, Shared

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .layout import Row as LayoutRow


__all__ = ["ADAPTERS", "DIMS", "NOT_BUILDABLE", "BridgeLayout"]


# -- reading a preset ---------------------------------------------------------------------


class BridgeLayout:
    """The tensors ``run_with_cache`` of one preset's ``TransformerBridge`` holds.

    ``values`` are the preset's fields with the derived ones (as the registry keeps
    them, or a config's). :meth:`layout` lays out every cached tensor, in the cache's
    order, as :mod:`.hooked` lists and counts them (:mod:`.layout`).

    Raises :class:`PresetValidationError` naming the key for an architecture the
    planner does not cover and for values the architecture's ``transformers`` model
    cannot have (which ``boot_bridge``'s export would refuse too).
    """

    def __init__(self, values: Mapping[str, Any] | Any) -> None:
        c = _Config(values)
        arch = c.arch
        if arch in NOT_BUILDABLE:
            raise PresetValidationError(
                f"boot_bridge cannot build {arch}: {NOT_BUILDABLE[arch]}",
                key="original_architecture",
            )
        if arch not in ADAPTERS:
            known = ", ".join(sorted(ADAPTERS))
            what = "no original_architecture" if arch is None else repr(arch)
            raise PresetValidationError(
                f"the bridge planner covers {known}; this preset has {what}"
                f"{did_you_mean(str(arch), ADAPTERS) if arch else ''}",
                key="original_architecture",
            )
        self.arch = arch
        main = ADAPTERS[arch]
        for field, expected in main.fixed.items():
            value = c.get(field)
            if expected is ...:  # any value, but one
                ok = bool(value)
            elif expected is None or isinstance(expected, bool):  # a flag (unset: off)
                ok = bool(value) == bool(expected)
            else:
                ok = value == expected
            if ok:
                continue
            wanted = "set" if expected is ... else f"{expected!r}"
            raise PresetValidationError(
                f"TransformerLens 4.3 bridges {arch} as transformers builds it, with "
                f"{field} = {wanted}; this preset has {value!r}",
                key=field,
            )
        for field, (value, why) in main.refuse.items():
            if c.get(field) == value:
                raise PresetValidationError(
                    f"boot_bridge cannot build {arch} with {field} = {value!r}: {why}", key=field
                )
        adapter = main
        if main.sequential is not None and not c.flag("parallel_attn_mlp"):
            adapter = main.sequential
        self.adapter = adapter
        self.c = c
        self.L, self.D, self.H, self.h = c.n_layers, c.d_model, c.n_heads, c.d_head
        kv = c.get("n_key_value_heads")
        self.K = self.H if kv is None else c.integer("n_key_value_heads")
        self.M, self.V, self.n_ctx = c.d_mlp, c.d_vocab_out, c.n_ctx
        self.E = self.k = 0
        if c.get("num_experts"):
            self.E, self.k = c.integer("num_experts"), c.integer("experts_per_token")
        self.r = self.h
        if adapter.rotary == "half":
            self.r = self.h // 2
        elif adapter.rotary == "dim":
            self.r = c.integer("rotary_dim")
        # The attention type of each layer, as the export writes layer_types: attn_types
        # where local attention is on, else every layer global.
        types = c.get("attn_types") if adapter.per_type_rope and c.flag("use_local_attn") else None
        self.layer_types: list[str] = list(types) if isinstance(types, list) else [""] * self.L
        # The attention type whose rotary table the model-level hooks are listed with:
        # the last layer's. Which one transformers leaves there varies between processes
        # where there are several types (see rotary_varies).
        self.model_type = self.layer_types[-1] if self.layer_types else ""
        self._orders: dict[int, tuple[Order, list[tuple[bool, str]]]] = {}

    def check_dtype(self, dtype: str) -> None:
        """Refuse a dtype TransformerLens 4.3 cannot run this model in."""
        if dtype in _HALF and self.adapter.no_half:
            raise PresetValidationError(
                f"TransformerLens 4.3 cannot run {self.arch} in {dtype}: {self.adapter.no_half}",
                key="dtype",
            )
        if dtype == "float64" and self.E:
            raise PresetValidationError(
                f"TransformerLens 4.3 cannot run {self.arch}'s experts in float64: "
                "transformers' grouped matrix product takes float32, float16 and bfloat16",
                key="dtype",
            )

    @property
    def rotary_varies(self) -> bool:
        """Whether the model-level rotary hooks hold a table that varies between processes.

        With more than one attention type (Gemma 3, OLMo 3), transformers computes one
        rotary table per type, ``for layer_type in set(config.layer_types)``, and
        TransformerLens's ``rotary_emb.hook_cos``/``hook_sin`` fire at each call: the cache
        keeps the last. A set of two strings iterates in the order of their hashes, which
        Python draws anew for each process unless ``PYTHONHASHSEED`` is set. The hooks'
        names, shapes and bytes are the same either way; which layers' table they are is
        not (the listing takes the last layer's type, :attr:`model_type`).
        """
        return len(set(self.layer_types)) > 1

    def rotary_note(self) -> str:
        """What a listing of the rotary hooks of such a model should say (see
        :attr:`rotary_varies`)."""
        return (
            "rotary_emb.hook_cos/hook_sin hold the rotary table of the attention type that\n"
            "transformers computes last, in an order Python's hash randomisation draws for\n"
            f"each process (PYTHONHASHSEED): listed as the {self.model_type} layers' table; the "
            "names,\nshapes and bytes are the same in every process."
        )

    def check_selection(self, top: set[str], layers: set[str]) -> None:
        """Refuse a selection whose tensors differ between Python processes.

        ``top`` and ``layers`` are the shared tables (``<cos>`` and ``<sin>`` keys, by
        attention type) that the selection's model-level and layers' hooks hold. With
        more than one attention type (Gemma 3, OLMo 3), transformers computes one rotary
        table per type in the order of a Python set of the type names, which hash
        randomisation changes from process to process, and the model-level hook holds the
        last: selected with the tables of some types' layers but not all, it is one of
        them in some processes and a tensor more in others.
        """
        if not self.rotary_varies:
            return
        types = set(self.layer_types)
        for family, hook in (("<cos>", "hook_cos"), ("<sin>", "hook_sin")):
            if family + self.model_type not in top:
                continue
            chosen = sorted(t for t in types if family + t in layers)
            if chosen and len(chosen) < len(types):
                raise PresetValidationError(
                    f"this selection holds rotary_emb.{hook} and the {hook} of "
                    f"{', '.join(chosen)} layers only: the model-level hook holds the table "
                    "of whichever attention type transformers computes last, in the order "
                    "of a Python set, which hash randomisation (PYTHONHASHSEED) changes "
                    "from one process to the next, so the bytes held are those of one "
                    "table in some processes and two in others; select the tables of every "
                    "attention type's layers, or of none, with it",
                    key="names",
                )

    def layout(self, batch: int, seq: int, dtype: str) -> Layout:
        """The tensors ``run_with_cache`` holds for a ``[batch, seq]`` input, in its order
        (:mod:`.layout`: a top-level part per top-level table, a stack per stack)."""
        dims = {
            "B": batch, "S": seq, "T": batch * seq, "P": seq + 1, "D": self.D, "H": self.H,
            "K": self.K, "h": self.h, "Q": self.H * self.h, "Y": self.K * self.h,
            "M": self.M, "V": self.V, "E": self.E, "k": self.k, "r": self.r, "1": 1, "0": 0,
        }  # fmt: skip
        marks = {
            "": dtype,
            "n": "float32" if dtype in _HALF else dtype,
            "f": "float32",
            "i": "int64",
            "c": "float32" if self.adapter.rope_f32 else dtype,
        }
        table_parts = self.adapter.parts
        parts: list[Part] = []
        for n, (prefix, table, _) in enumerate(table_parts):
            if prefix is None:
                rows = _rows(table, self.model_type, True, dims, marks, top=True)
                # What the stack after it takes in (a new tensor where it names none).
                following = table_parts[n + 1] if n + 1 < len(table_parts) else None
                out = None
                if following is not None and following[0] is not None and following[2]:
                    out = _holder(rows, following[2])
                parts.append(Part([rows], out))
                continue
            order, keys = self._order(n)
            variants = [_rows(table, kind, first, dims, marks) for first, kind in keys]
            outs = {_holder(rows, "hook_out") for rows in variants}
            if len(outs) != 1:  # pragma: no cover - a table's mistake
                raise AssertionError(f"{prefix}: hook_out differs between layers: {outs}")
            parts.append(Part(variants, outs.pop(), prefix, order))
        return Layout(parts, batch * seq, dtype)

    def _order(self, part: int) -> tuple[Order, list[tuple[bool, str]]]:
        """Which variant each layer of the stack ``part`` uses, and each variant's key
        (first layer, attention type): worked out once, the same at every size."""
        cached = self._orders.get(part)
        if cached is None:
            table = self.adapter.parts[part][1]
            has_first = any(row[5] for row in table)
            keys: dict[tuple[bool, str], int] = {}
            of = [
                keys.setdefault((has_first and i == 0, kind), len(keys))
                for i, kind in enumerate(self.layer_types)
            ]
            order = Order(self.L, of if len(keys) > 1 else None)
            cached = self._orders[part] = (order, list(keys) or [(has_first, "")])
        return cached


def _rows(
    table: tuple[Row, ...],
    kind: str,
    first: bool,
    dims: dict[str, int],
    marks: dict[str, str],
    *,
    top: bool = False,
) -> list[LayoutRow]:
    """A table's rows for a layer of attention type ``kind`` (the first of its stack or
    not), at the sizes ``dims``, as :mod:`.layout` rows. A row naming another takes
    the tensor that one holds (its root), its dtype unless marked, and its storage."""
    out: dict[str, LayoutRow] = {}  # a hook that runs again keeps its place
    for name, shape, mark, same, storage, first_only in table:
        if first_only and not first:
            continue
        if top:
            name = name.removeprefix("/")
        dtype = marks[mark]
        root: str | None = None
        held: int | None = None
        if same == "<x>":
            root = IN
        elif same[:1] == "<":  # one tensor for every layer of a type
            root = Shared(same + kind)
        elif same:
            ref = same.removeprefix("/") if top else same
            target = out[ref]
            root = target[3] if target[3] is not None else ref
            dtype = dtype if mark else target[2]
            held = target[4]
        if storage and root is None:
            held = shape_bytes(tuple(dims[d] for d in storage), dtype)
        out[name] = (name, tuple(dims[d] for d in shape), dtype, root, held)
    return list(out.values())


def _holder(rows: list[LayoutRow], name: str) -> str:
    """The row holding the tensor of the row ``name`` (itself, or the one it names)."""
    for row in rows:
        if row[0] == name:
            root = row[3]
            if root is None:
                return name
            if root == IN or isinstance(root, Shared):  # pragma: no cover - a table's mistake
                raise AssertionError(f"{name} passes on a tensor of another part")
            return root
    raise AssertionError(f"no row {name}")  # pragma: no cover - a table's mistake
