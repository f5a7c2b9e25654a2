"""One preset's ``TransformerBridge``: its architecture's traits and its tensors, laid out.

:data:`ARCHS` says, for each ``transformers`` architecture ``boot_bridge`` builds, what
:mod:`._bridge_tables`'s tensors assume of a preset, how its forward pass computes, and
how it generates; :class:`BridgeModel` reads a preset's values against that (after
:class:`~.bridge.BridgeLayout`'s own checks of the architecture, shared with the hook
tables) and lays its tensors out as :class:`BridgeTensor` records, or sums them without
listing every layer. :mod:`.bridge_params` asks the questions. Pure Python.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import PresetValidationError
from ..fields.rules import check_and_derive
from ._bridge_tables import SECTIONS, rows, size
from ._values import MAX_LAYERS, shape_bytes
from .bridge import BridgeLayout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from ._bridge_tables import Row, Section

__all__ = ["ARCHS", "BRIDGE_ARCHITECTURES", "MAX_LAYERS", "BridgeModel", "BridgeTensor"]


class BridgeTensor:
    """One parameter or buffer of the bridge.

    ``name`` is the tensor's name in the ``transformers`` model (for what TransformerLens
    adds, the name it registers it under), ``shape`` a tuple of ints, ``dtype`` a torch
    dtype's name. For a parameter, ``trained`` says whether a forward pass on token ids
    reaches it (so that ``backward()`` gives it a gradient) and ``view_of`` names the
    parameter whose storage it is a view of (its memory is counted there). For a buffer,
    ``persistent`` says whether it is in the ``state_dict``. ``added``: made by
    TransformerLens when it wrapped the model.

    >>> t = BridgeTensor("lm_head.bias", (50257,), "bfloat16", added=True)
    >>> t.numel, t.nbytes
    (50257, 100514)
    """

    __slots__ = ("added", "dtype", "name", "persistent", "shape", "trained", "view_of")

    def __init__(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: str,
        *,
        trained: bool = True,
        view_of: str | None = None,
        persistent: bool = True,
        added: bool = False,
    ) -> None:
        self.name, self.shape, self.dtype = name, shape, dtype
        self.trained, self.view_of, self.persistent, self.added = (
            trained,
            view_of,
            persistent,
            added,
        )

    @property
    def numel(self) -> int:
        """The number of elements."""
        n = 1
        for dim in self.shape:
            n *= dim
        return n

    @property
    def nbytes(self) -> int:
        """The bytes of its elements (a view's included: see ``view_of``)."""
        return shape_bytes(self.shape, self.dtype)

    def to_dict(self) -> dict[str, Any]:
        """Its fields as plain values."""
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "trained": self.trained,
            "view_of": self.view_of,
            "persistent": self.persistent,
            "added": self.added,
        }

    def __repr__(self) -> str:
        return f"BridgeTensor({self.name!r}, {self.shape}, {self.dtype!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BridgeTensor):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


# -- the architectures ------------------------------------------------------------------------

_LN = {"normalization_type": "LN"}
_RMS = {"normalization_type": "RMS"}
_LEARNED = {"positional_embedding_type": "standard"}
_ROPE = {"positional_embedding_type": "rotary"}
_PLAIN = {"gated_mlp": False, "num_experts": None}
_GATED = {"gated_mlp": True, "num_experts": None}
_MOE = {"num_experts": ...}  # any number of experts, but some

# Why TransformerLens 4.3's bridge keeps no keys and values for these while generating
# (the words before the first colon say it in short).
_UNFILLED = (
    "TransformerLens 4.3 keeps no key-value cache for {arch}: its bridged attention looks "
    "for transformers' cache as past_key_values or layer_past, and transformers 5 passes it "
    "as cache, so bridge.generate(use_past_kv_cache=True) keeps no keys or values (every "
    "layer's cache stays empty) and each step after the first attends to its own token "
    "only; generate with use_past_kv_cache=False (no cache, every step runs the whole "
    "sequence) until TransformerLens reads it"
)
_T5_CACHE = (
    "TransformerLens 4.3 keeps no key-value cache for T5: its generate runs the encoder and "
    "decoder over the whole sequence at every step (and its forward pass leaves "
    "transformers' cache empty); transformers_kv_cache_bytes gives what transformers' own "
    "generate keeps"
)
_BERT_CACHE = "BERT does not generate: a masked language model keeps no key-value cache"


class Arch:
    """What the bridge of one ``transformers`` architecture holds and does.

    ``fixed``: fields that must hold these values (``...``: set), as the export requires
    them. ``traits``, words: ``mha``, the config has no key/value head count (one per
    query head); ``head_dim``, it has a head size (else heads times head size is the
    width); ``sliding``, transformers' cache keeps only the window of local layers;
    ``fills``, TransformerLens 4.3 writes to that cache while generating; ``bert`` or
    ``t5``, how a forward pass computes (else as a decoder).
    """

    __slots__ = ("cache", "fixed", "flops", "mha", "name", "sections", "sliding", "split")

    def __init__(self, name: str, fixed: Mapping[str, Any], traits: str = "") -> None:
        words = set(traits.split())
        self.name = name
        #: The tensors, section by section.
        self.sections: tuple[Section, ...] = SECTIONS[name]
        self.fixed = {"attn_only": False, **fixed}
        # OLMo 3 and OLMoE tie the unembedding to the embedding when the preset says so
        # (as T5 always does); the export refuses a tie for every other architecture.
        if name not in ("Olmo3ForCausalLM", "OlmoeForCausalLM"):
            self.fixed.setdefault("tie_word_embeddings", False)
        #: How a forward pass computes: "decoder", "bert" or "t5".
        self.flops = "bert" if "bert" in words else "t5" if "t5" in words else "decoder"
        #: The config has no head size: heads times head size is the width.
        self.split = "head_dim" not in words
        self.mha = "mha" in words
        self.sliding = "sliding" in words
        #: Why the bridge keeps no key/value cache ("" where it keeps transformers').
        reasons = {"bert": _BERT_CACHE, "t5": _T5_CACHE, "decoder": _UNFILLED}
        self.cache = "" if "fills" in words else reasons[self.flops].replace("{arch}", name)


_LLAMA = {**_RMS, **_ROPE, **_GATED, "use_qk_norm": False}
_LLAMA_MOE = {**_RMS, **_ROPE, **_MOE, "use_qk_norm": False}
_GEMMA3 = {**_RMS, **_ROPE, **_GATED, "use_qk_norm": True}
_ARCH_LIST = (
    Arch("GPT2LMHeadModel", {**_LN, **_LEARNED, **_PLAIN}, "mha"),
    Arch("GPTNeoForCausalLM", {**_LN, **_LEARNED, **_PLAIN}, "mha fills"),
    Arch("GPTNeoXForCausalLM", {**_LN, **_ROPE, **_PLAIN}, "mha fills"),
    Arch(
        "BloomForCausalLM",
        {**_LN, "positional_embedding_type": "alibi", "post_embedding_ln": True, **_PLAIN},
        "mha fills",
    ),
    Arch("GPTJForCausalLM", {**_LN, **_ROPE, **_PLAIN}, "mha fills"),
    Arch("OPTForCausalLM", {**_LN, **_LEARNED, **_PLAIN}, "mha fills"),
    Arch("PhiForCausalLM", {**_LN, **_ROPE, **_PLAIN}, "mha"),
    Arch("Phi3ForCausalLM", {**_RMS, **_ROPE, **_GATED}, "sliding"),
    Arch("LlamaForCausalLM", _LLAMA),
    Arch("MistralForCausalLM", _LLAMA, "head_dim sliding"),
    Arch("MixtralForCausalLM", _LLAMA_MOE, "sliding"),
    Arch("Qwen2ForCausalLM", _LLAMA, "sliding"),
    Arch("Qwen3ForCausalLM", {**_LLAMA, "use_qk_norm": True}, "head_dim sliding"),
    Arch("OlmoForCausalLM", {**_LLAMA, **_LN}, "mha"),
    Arch("Olmo2ForCausalLM", _LLAMA, "mha"),
    Arch("Olmo3ForCausalLM", _LLAMA, "sliding"),
    Arch("OlmoeForCausalLM", _LLAMA_MOE),
    Arch("ApertusForCausalLM", {**_RMS, **_ROPE, **_PLAIN, "use_qk_norm": True}),
    Arch("GptOssForCausalLM", {**_LLAMA_MOE, "use_attention_sinks": True}, "head_dim sliding"),
    Arch("GemmaForCausalLM", _LLAMA, "head_dim"),
    Arch("Gemma2ForCausalLM", _LLAMA, "head_dim sliding"),
    Arch("Gemma3ForCausalLM", _GEMMA3, "head_dim sliding"),
    Arch("Gemma3ForConditionalGeneration", _GEMMA3, "head_dim sliding"),
    Arch("BertForMaskedLM", {**_LEARNED, **_PLAIN, "attention_dir": "bidirectional"}, "mha bert"),
    Arch(
        "T5ForConditionalGeneration",
        {**_PLAIN, "tie_word_embeddings": True, "attention_dir": "bidirectional"},
        "head_dim mha t5",
    ),
)
#: Each architecture's traits, by its ``transformers`` name.
ARCHS: dict[str, Arch] = {arch.name: arch for arch in _ARCH_LIST}
#: The ``transformers`` architectures (``original_architecture``) covered: every one
#: :func:`~transformer_presets.tl4.boot.boot_bridge` builds.
BRIDGE_ARCHITECTURES: tuple[str, ...] = tuple(sorted(ARCHS))


# -- one preset's bridge ------------------------------------------------------------------------


def _holds(value: Any, wanted: Any) -> bool:
    """Whether a field's value is the one a table assumes (``...``: any but unset)."""
    if wanted is ...:
        return bool(value)
    if wanted is None or isinstance(wanted, bool):  # a flag (unset: off)
        return bool(value) == bool(wanted)
    return bool(value == wanted)


class BridgeModel:
    """One preset's bridge: its architecture, sizes and tensors.

    ``cfg`` is a config or a mapping of a preset's fields (derived ones left out are
    derived); ``layout``, the preset's :class:`~.bridge.BridgeLayout` where the caller
    has one (it checks the architecture, and its fields are derived already).

    >>> m = BridgeModel({"n_layers": 2, "d_model": 8, "n_ctx": 4, "d_head": 4,
    ...     "d_vocab": 10, "act_fn": "gelu_new", "original_architecture": "GPT2LMHeadModel"})
    >>> m.arch.name, m.dims["Q"], m.totals("float32")["numel"]
    ('GPT2LMHeadModel', 8, 2384)
    """

    def __init__(self, cfg: Any, layout: BridgeLayout | None = None) -> None:
        if layout is None:
            if isinstance(cfg, Mapping):
                cfg = {**cfg, **check_and_derive(cfg)}
            layout = BridgeLayout(cfg)
        self.layout = layout
        c = layout.c
        name = layout.arch
        arch = ARCHS.get(name)
        if arch is None:  # pragma: no cover - a hook table without a tensor table
            raise PresetValidationError(
                f"the bridge's tensors are not worked out for {name}", key="original_architecture"
            )
        self.arch = arch
        for field, wanted in arch.fixed.items():
            value = c.get(field)
            if not _holds(value, wanted):
                shown = "set" if wanted is ... else repr(wanted)
                raise PresetValidationError(
                    f"boot_bridge builds {name} with {field} = {shown}; this preset has {value!r}",
                    key=field,
                )
        L, D, H, h, K = layout.L, layout.D, layout.H, layout.h, layout.K
        if not 1 <= L <= MAX_LAYERS:
            raise PresetValidationError(
                f"the bridge's tensors are laid out for 1 to {MAX_LAYERS} layers, got {L}",
                key="n_layers",
            )
        if arch.split and H * h != D:
            raise PresetValidationError(
                f"{name}'s config has no head size: heads x head size must be d_model "
                f"({H} x {h} != {D})",
                key="d_head",
            )
        if arch.mha and K != H:
            raise PresetValidationError(
                f"{name} has one key/value head per head ({H}), not {K}", key="n_key_value_heads"
            )
        if c.d_vocab < 1:
            raise PresetValidationError(
                f"must be set to lay out the embedding, got {c.d_vocab}", key="d_vocab"
            )
        if c.d_vocab_out != c.d_vocab:
            raise PresetValidationError(
                f"{name} unembeds to its own vocabulary ({c.d_vocab}), not {c.d_vocab_out}",
                key="d_vocab_out",
            )
        self.L, self.n_ctx = L, layout.n_ctx
        dims = {"V": c.d_vocab, "D": D, "C": self.n_ctx, "H": H, "h": h, "K": K}
        dims.update(Q=H * h, Y=K * h, M=layout.M)
        if layout.E:
            dims.update(E=layout.E, k=layout.k)
        if c.get("relative_attention_num_buckets") is not None:
            dims["N"] = c.integer("relative_attention_num_buckets")
        if c.get("positional_embedding_type") == "rotary":
            R = c.integer("rotary_dim")
            # transformers' rotary width: int(head_dim * partial_rotary_factor), frequencies
            # for every other dimension of it.
            dims["R"] = R
            dims["r"] = (int(h * (R / h)) + 1) // 2
        self.dims: dict[str, int] = dims
        self.window = int(c.get("window_size") or 0)
        self.gated = c.flag("gated_mlp")
        self.conditions = {
            "?untied": not c.flag("tie_word_embeddings"),
            "?xielu": c.get("act_fn") == "xielu",
        }
        # Each layer's attention as transformers names it in layer_types.
        kinds = c.get("attn_types") if c.flag("use_local_attn") else None
        if isinstance(kinds, list) and len(kinds) != L:
            raise PresetValidationError(
                f"must hold one attention type per layer ({L}), got {len(kinds)}", key="attn_types"
            )
        self.layer_types = [
            "sliding_attention" if isinstance(kinds, list) and kinds[i] == "local" else
            "full_attention"
            for i in range(L)
        ]  # fmt: skip
        # As transformers registers a rotary table per attention type: sorted.
        self.types = sorted(set(self.layer_types))
        self._totals: dict[str, dict[str, int]] = {}

    def sections(self) -> Iterator[tuple[str, int, tuple[Row, ...]]]:
        """Each section's prefix, how many times it repeats, and its rows."""
        for prefix, repeat, text in self.arch.sections:
            count = self.L if repeat == "L" else 1 if repeat is None else int(repeat)
            yield prefix, count, rows(text)

    def layer(
        self, prefix: str, table: tuple[Row, ...], i: int, dtype: str
    ) -> tuple[list[BridgeTensor], list[BridgeTensor]]:
        """(parameters, buffers) of the ``i``-th repeat of a section."""
        params: list[BridgeTensor] = []
        buffers: list[BridgeTensor] = []
        scope = prefix.replace("{i}", str(i))
        for buffer, name, dims, flags, view in table:
            if ("first" in flags and i) or any(
                not self.conditions[f] for f in flags if f[0] == "?"
            ):
                continue
            shape = tuple(size(d, self.dims) for d in dims)
            for t in self.types if "{t}" in name else ("",):
                full = scope + name.replace("{t}", t)
                if buffer:
                    kind = "int64" if "i64" in flags else "bool" if "bool" in flags else dtype
                    buffers.append(
                        BridgeTensor(
                            full,
                            shape,
                            "float32" if "f32" in flags else kind,
                            persistent="np" not in flags,
                            added="+" in flags,
                        )
                    )
                    continue
                of = None
                if view.startswith("1"):
                    of = scope + view[1:] if self.dims["H"] == 1 else None
                elif view:
                    of = scope + view
                params.append(
                    BridgeTensor(
                        full, shape, dtype, trained="~" not in flags, view_of=of, added="+" in flags
                    )
                )
        return params, buffers

    def tensors(self, dtype: str) -> tuple[list[BridgeTensor], list[BridgeTensor]]:
        """(parameters, buffers) in the order of the tables."""
        params: list[BridgeTensor] = []
        buffers: list[BridgeTensor] = []
        for prefix, count, table in self.sections():
            for i in range(count):
                p, b = self.layer(prefix, table, i, dtype)
                params += p
                buffers += b
        return params, buffers

    def totals(self, dtype: str) -> dict[str, int]:
        """The sums the questions need, without laying out every layer: a repeated
        section's layers after the first are alike (but for their names). Worked out once
        a dtype (``size`` asks five questions of one)."""
        out = self._totals.get(dtype)
        if out is None:
            out = self._totals[dtype] = self._sum(dtype)
        return dict(out)

    def _sum(self, dtype: str) -> dict[str, int]:
        keys = ("numel", "stored_numel", "stored", "trained", "trained_tensors", "buffers")
        out = dict.fromkeys(keys, 0)
        for prefix, count, table in self.sections():
            for i, times in ((0, 1), (1, count - 1)):
                if not times:
                    continue
                params, buffers = self.layer(prefix, table, i, dtype)
                out["numel"] += times * sum(t.numel for t in params)
                stored = [t for t in params if t.view_of is None]
                out["stored_numel"] += times * sum(t.numel for t in stored)
                out["stored"] += times * sum(t.nbytes for t in stored)
                trained = [t for t in params if t.trained]
                out["trained"] += times * sum(t.nbytes for t in trained)
                out["trained_tensors"] += times * len(trained)
                out["buffers"] += times * sum(t.nbytes for t in buffers)
        return out
