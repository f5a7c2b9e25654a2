"""What TransformerLens 4.3's ``TransformerBridge.run_with_cache`` holds, per architecture.

TransformerLens 4 wraps a ``transformers`` model in a ``TransformerBridge``: every bridged
component (embedding, norm, attention and its projections, MLP, ...) has a ``hook_in`` and
a ``hook_out``, and HookedTransformer's names (``hook_resid_pre``, ``attn.hook_q``,
``hook_pattern``, ...) are aliases of those or hooks of their own. Which hooks fire, in
what order, with which shapes, and which of them hold one tensor under two names depends
on the adapter TransformerLens picks for the architecture and on the ``transformers``
code it wraps. This module holds that knowledge as one table per adapter, read from
TransformerLens 4.3's ``model_bridge`` (``supported_architectures/<arch>.py``,
``generalized_components/``) and from running it (``tests/test_planner_bridge_tl4.py``
compares every adapter with TransformerLens 4.3 itself).

The model is the one ``boot_bridge`` builds: the preset's exported ``config.json``, the
``transformers`` model built from it (eager attention, in the requested dtype), wrapped by
``TransformerBridge.boot_transformers`` with its default hooks, in eval mode (dropout
passes its input on: the same tensor), and ``run_with_cache`` with its default arguments on a
``[batch, seq]`` tensor of token ids (T5's decoder reads the input shifted right, as the
bridge makes it by default, so both of its stacks see ``seq`` tokens).

A table row is ``NAME SHAPE [MARK] [=SAME] [@STORAGE]`` (:func:`_parse`): the hook's name
(under the block's prefix inside a block; ``/name`` is a top-level hook), its shape in
the letters of :data:`DIMS`, ``n`` for a norm's statistics (float32 below single
precision, as the norms compute them), ``f`` for float32 and ``i`` for int64 whatever the
model's dtype, ``c`` for rotary tables (float32 where the adapter keeps them so),
``=SAME`` for the hook already holding this very tensor (``<x>``: the residual stream
entering the block; another ``<name>``: one tensor that every layer of one attention
type reads, and a model-level hook too, held by the first of them), and ``@STORAGE``
where the tensor is a view of a storage of another shape (``@0``: of one of the model's
own buffers, which the cache does not add to). Fragments several adapters share (a norm,
the Q/K/V projections, an MLP) are written once; an adapter lists them, as
TransformerLens's adapters list their components.

This module only lays the tensors out, as :mod:`._hooklayout` rows (a stack's layers
by variant: T5's first block, Gemma 3's attention types); :mod:`.planner` lists, counts
and prices them with the machinery it uses for ``HookedTransformer`` (a tensor under two
names counted once, layers alike counted together, a glob matched only against the
hooks it can reach). Pure Python: no torch, transformers or TransformerLens.
"""

from __future__ import annotations

from ..errors import PresetValidationError, did_you_mean
from ..fields.params import _Config
from .layout import IN, Layout, Order, Part, Shared

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .layout import Row as LayoutRow


__all__ = ["ADAPTERS", "DIMS", "NOT_BUILDABLE", "BridgeLayout"]

#: Architectures a bridge cannot be built for offline, from an exported ``config.json``.
NOT_BUILDABLE: dict[str, str] = {
    arch: (
        "its exported config.json names code in the model's repository (auto_map), which "
        "transformers runs only with trust_remote_code and boot_bridge never downloads"
    )
    for arch in ("QWenLMHeadModel", "GPT2LMHeadCustomModel")  # Qwen-1, SantaCoder
}

_ITEMSIZE = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8}
_HALF = ("float16", "bfloat16")

#: Shape letters: B batch, S seq, T = B * S tokens, P = S + 1, D d_model, H heads,
#: K key/value heads, h d_head, Q = H * h, Y = K * h, M d_mlp, V d_vocab_out,
#: E experts, k experts per token, r width of the rotary cos/sin tables, and 1.
DIMS = "BSTPDHKhQYMVEkr1"

Row = tuple[str, str, str, str, str, bool]


# -- the row language ---------------------------------------------------------------------


def _parse(text: str) -> tuple[Row, ...]:
    """The rows of a table: (name, shape, mark, same, storage, first block only).

    ``?first`` before a row keeps it to the first block of a stack (T5 computes its
    relative position bias in the first block and hands it on).
    """
    rows = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        first = words[0] == "?first"
        name, shape, *rest = words[first:]
        mark = same = storage = ""
        for word in rest:
            if word[0] == "=":
                same = word[1:]
            elif word[0] == "@":
                storage = word[1:]
            else:
                mark = word
        rows.append((name, shape, mark, same, storage, first))
    return tuple(rows)


def _norm(p: str, src: str = "", shape: str = "BSD", alias: str = "", out: str = "") -> str:
    """A norm's four hooks: its input (``src``; empty: a new tensor), its statistics,
    the normalized value and its output. ``alias`` names its input a second time;
    ``out`` is a shared tensor (``<name>``) its output is."""
    same = f" ={src}" if src else ""
    alias_row = f"{alias} {shape} ={p}.hook_in" if alias else ""
    return f"""
    {p}.hook_in {shape}{same}
    {alias_row}
    {p}.hook_scale {shape[:-1]}1 n
    {p}.hook_normalized {shape} n
    {p}.hook_out {shape}{f" ={out}" if out else ""}
    """


def _qkv(src: str, a: str = "attn") -> str:
    """The attention's input and its three projections of ``src``."""
    return f"""
    {a}.hook_in BSD ={src}
    {a}.q.hook_in BSD ={src}
    {a}.q.hook_out BSHh
    {a}.hook_q BSHh ={a}.q.hook_out
    {a}.k.hook_in BSD ={src}
    {a}.k.hook_out BSKh
    {a}.hook_k BSKh ={a}.k.hook_out
    {a}.v.hook_in BSD ={src}
    {a}.v.hook_out BSKh
    {a}.hook_v BSKh ={a}.v.hook_out
    """


def _out_proj(a: str = "attn", hidden_states: bool = False, attn_out: str = "hook_attn_out") -> str:
    """The output projection: hook_z is its input; the attention's output is its output.

    ``hidden_states``: the joint-QKV bridges name that output once more. ``attn_out``:
    the block's name for it (empty where a norm after the attention comes first).
    """
    hidden = f"{a}.hook_hidden_states BSD ={a}.o.hook_out" if hidden_states else ""
    block_out = f"{attn_out} BSD ={a}.o.hook_out" if attn_out else ""
    return f"""
    {a}.o.hook_in BSHh
    {a}.hook_z BSHh ={a}.o.hook_in
    {a}.o.hook_out BSD
    {hidden}
    {a}.hook_out BSD ={a}.o.hook_out
    {block_out}
    """


def _returned_pattern(a: str = "attn") -> str:
    # transformers' eager attention returns its weights; the bridge fires them once the
    # module has run, as the pattern and (the same tensor) the scores.
    return f"""
    {a}.hook_pattern BHSS
    {a}.hook_attn_scores BHSS ={a}.hook_pattern
    """


def _scores(a: str = "attn", pattern: str = "") -> str:
    # The bridge computes the attention itself: pre-softmax scores, then the pattern.
    return f"""
    {a}.hook_attn_scores BHSS
    {a}.hook_pattern BHSS{pattern}
    """


_ROTARY_HOOKS = """
attn.hook_cos 1Sr c =<cos>
attn.hook_sin 1Sr c =<sin>
"""
_ROTATED = """
attn.hook_rot_q BSHh
attn.hook_rot_k BSKh
"""


def _qk_norm(q_shape: str, k_shape: str) -> str:
    """RMS norms of the queries and keys: per head, or over whole projections (OLMo)."""
    return (
        _norm("attn.q_norm", "attn.q.hook_out", q_shape)
        + f"attn.hook_q_normed {q_shape} =attn.q_norm.hook_out\n"
        + _norm("attn.k_norm", "attn.k.hook_out", k_shape)
        + f"attn.hook_k_normed {k_shape} =attn.k_norm.hook_out\n"
    )


_PER_HEAD_QK_NORM = _qk_norm("BHSh", "BKSh")
_PROJECTION_QK_NORM = _qk_norm("BSQ", "BSY")


def _rotary_attention(
    src: str = "ln1.hook_out",
    qk_norm: str = "",
    attn_out: str = "hook_attn_out",
    pattern: str = "",
) -> str:
    """TransformerLens's attention around transformers' rotary models: it applies the
    rotary tables (hook_rot_q/k) and computes scores and pattern itself."""
    return (
        _qkv(src)
        + qk_norm
        + _ROTARY_HOOKS
        + _ROTATED
        + _scores(pattern=pattern)
        + _out_proj(attn_out=attn_out)
    )


def _mlp(src: str, *, out_first: bool = False, mlp_in: bool = False) -> str:
    """A two-layer MLP: hook_pre is its first projection, hook_post the second's input.

    ``out_first``: the MLP's hook_out fires before its projection's (OPT, BERT: the
    bridge wraps a module holding only the first projection). ``mlp_in``: the block
    names the MLP's input hook_mlp_in too (BERT). A dropout after the projection (GPT-2's
    resid_pdrop) passes the same tensor on in eval mode, as boot_bridge leaves the model.
    """
    head = f"""
    mlp.hook_in BSD ={src}
    {f"hook_mlp_in BSD ={src}" if mlp_in else ""}
    mlp.in.hook_in BSD ={src}
    mlp.in.hook_out BSM
    mlp.hook_pre BSM =mlp.in.hook_out
    mlp.out.hook_in BSM
    mlp.hook_post BSM =mlp.out.hook_in
    """
    if out_first:
        return (
            head
            + """
    mlp.hook_out BSD
    mlp.out.hook_out BSD =mlp.hook_out
    hook_mlp_out BSD =mlp.hook_out
    """
        )
    return (
        head
        + """
    mlp.out.hook_out BSD
    mlp.hook_out BSD =mlp.out.hook_out
    hook_mlp_out BSD =mlp.hook_out
    """
    )


def _gated_mlp(src: str = "ln2.hook_out", mlp_out: str = "hook_mlp_out") -> str:
    """A gated MLP: hook_pre is the gate's projection, hook_pre_linear the other one."""
    block_out = f"{mlp_out} BSD =mlp.out.hook_out" if mlp_out else ""
    same = f" ={src}" if src else ""
    return f"""
    mlp.hook_in BSD{same}
    {"hook_resid_mid BSD =mlp.hook_in" if not src else ""}
    mlp.gate.hook_in BSD =mlp.hook_in
    mlp.gate.hook_out BSM
    mlp.hook_pre BSM =mlp.gate.hook_out
    mlp.in.hook_in BSD =mlp.hook_in
    mlp.in.hook_out BSM
    mlp.hook_pre_linear BSM =mlp.in.hook_out
    mlp.out.hook_in BSM
    mlp.hook_post BSM =mlp.out.hook_in
    mlp.out.hook_out BSD
    mlp.hook_out BSD =mlp.out.hook_out
    {block_out}
    """


def _moe(router: str, weights: str = "", scores: bool = False) -> str:
    """A mixture of experts: the router's hooks over the tokens, no per-expert hooks.

    transformers 5 runs the experts as one batched module, so the bridge sees the
    router (``weights``: ``f`` where its weights stay float32) and the output.
    """
    router_scores = "mlp.hook_router_scores Tk" if scores else ""
    return f"""
    mlp.hook_in BSD =ln2.hook_out
    mlp.hook_pre BSD =ln2.hook_out
    mlp.{router}.hook_in TD =ln2.hook_out
    mlp.{router}.hook_out TE
    mlp.{router}.hook_expert_weights TE {weights}
    mlp.hook_expert_weights TE {weights} =mlp.{router}.hook_expert_weights
    mlp.{router}.hook_expert_indices Tk i
    mlp.hook_expert_indices Tk i =mlp.{router}.hook_expert_indices
    {router_scores}
    mlp.hook_out BSD
    hook_mlp_out BSD =mlp.hook_out
    mlp.hook_post BSD =mlp.hook_out
    """


_BLOCK_IN = """
hook_in BSD =<x>
hook_resid_pre BSD =hook_in
"""
_BLOCK_OUT = """
hook_out BSD
hook_resid_post BSD =hook_out
"""
# The residual after the attention, a new tensor: the second norm's input.
_LN2 = _norm("ln2", alias="hook_resid_mid")


def _pre_norm(attn: str, mlp: str) -> str:
    """A pre-norm block: ln1, attention, residual, ln2, MLP, residual."""
    return _BLOCK_IN + _norm("ln1", "hook_in") + attn + _LN2 + mlp + _BLOCK_OUT


def _parallel(attn: str, mlp: str, ln2: str = "") -> str:
    """Attention and MLP side by side on the block's input, added to it together."""
    return _BLOCK_IN + _norm("ln1", "hook_in") + attn + ln2 + mlp + _BLOCK_OUT


def _sandwich(attn: str, mlp: str) -> str:
    """Gemma 2 and 3: a norm before and after both the attention and the MLP."""
    return (
        _BLOCK_IN
        + _norm("ln1", "hook_in")
        + attn
        + _norm("ln1_post", "attn.o.hook_out")
        + "hook_attn_out BSD =ln1_post.hook_out\n"
        + _LN2
        + mlp
        + _norm("ln2_post", "mlp.out.hook_out")
        + "hook_mlp_out BSD =ln2_post.hook_out\n"
        + _BLOCK_OUT
    )


def _post_norm_olmo(qk_norm: str) -> str:
    """OLMo 2 and 3: no norm before the sublayers, one on each sublayer's output."""
    return (
        _BLOCK_IN
        + _rotary_attention("hook_in", qk_norm, attn_out="")
        + _norm("ln1_post", "attn.o.hook_out")
        + "hook_attn_out BSD =ln1_post.hook_out\n"
        + _gated_mlp("", mlp_out="")
        + _norm("ln2_post", "mlp.out.hook_out")
        + "hook_mlp_out BSD =ln2_post.hook_out\n"
        + _BLOCK_OUT
    )


_EMBED = """
/embed.hook_in BS i
/embed.hook_out BSD
"""
_HOOK_EMBED = "/hook_embed BSD =embed.hook_out\n"
# Learned positions of [1, seq] position ids, broadcast over the batch.
_POS_EMBED = """
/pos_embed.hook_in 1S i
/pos_embed.hook_out BSD @1SD
/hook_pos_embed BSD =pos_embed.hook_out
"""
# The model's rotary embedding: one cos/sin table for every layer (per attention type
# in Gemma 3 and OLMo 3), which each attention layer fires again.
_ROTARY = """
/rotary_emb.hook_in BSD =embed.hook_out
/rotary_emb.hook_cos 1Sr c =<cos>
/rotary_emb.hook_sin 1Sr c =<sin>
"""
_UNEMBED = """
/unembed.hook_in BSD =ln_final.hook_out
/unembed.hook_out BSV
/hook_unembed BSV =unembed.hook_out
"""
_FINAL = _norm("/ln_final", "<x>") + _UNEMBED


# -- the adapters -------------------------------------------------------------------------


class _Adapter:
    """One TransformerLens 4.3 adapter: its tables and what it assumes of the preset.

    ``parts`` run in order: a top-level table (``str``) or a stack of blocks
    (``(prefix, table, x)``: the table runs once per layer under ``prefix.{i}.``, the
    residual ``<x>`` entering the first block is the hook ``x`` names, or a new tensor
    where ``x`` is empty, and each block's ``hook_out`` enters the next). ``fixed``
    holds the preset values the tables assume (what transformers' model of the
    architecture always has). ``rotary``: the width of the cos/sin tables (``head``,
    ``half`` of it, or ``dim``: rotary_dim); ``per_type_rope``: one table per attention
    type. ``no_half``: why TransformerLens 4.3 cannot run the model in float16 or
    bfloat16 (empty when it can). ``refuse``: field -> (value, why the exported
    config.json cannot say it). ``rope_f32``: the rotary tables (mark ``c``) stay
    float32 whatever the dtype (OLMo). ``sequential``: the tables for a preset without
    ``parallel_attn_mlp``, where the architecture has both kinds of block (GPT-NeoX).
    """

    __slots__ = (
        "_parsed",
        "_parts",
        "fixed",
        "name",
        "no_half",
        "per_type_rope",
        "refuse",
        "rope_f32",
        "rotary",
        "sequential",
    )

    def __init__(
        self,
        name: str,
        *parts: str | tuple[str, str, str],
        fixed: Mapping[str, Any],
        rotary: str = "head",
        per_type_rope: bool = False,
        no_half: str = "",
        refuse: Mapping[str, tuple[Any, str]] | None = None,
        rope_f32: bool = False,
        sequential: _Adapter | None = None,
    ) -> None:
        self.name = name
        self._parts = parts
        self._parsed: tuple[tuple[str | None, tuple[Row, ...], str], ...] | None = None
        self.fixed = dict(fixed)
        self.rotary = rotary
        self.per_type_rope = per_type_rope
        self.no_half = no_half
        self.refuse = dict(refuse or {})
        self.rope_f32 = rope_f32
        self.sequential = sequential

    @property
    def parts(self) -> tuple[tuple[str | None, tuple[Row, ...], str], ...]:
        """(block prefix, or None for a top-level table; its rows; the residual entering
        a stack), read when first asked: a command plans one architecture."""
        if self._parsed is None:
            self._parsed = tuple(
                (None, _parse(p), "") if isinstance(p, str) else (p[0], _parse(p[1]), p[2])
                for p in self._parts
            )
        return self._parsed


def _decoder(
    name: str,
    prelude: str,
    block: str,
    x: str = "embed.hook_out",
    final: str = _FINAL,
    **options: Any,
) -> _Adapter:
    return _Adapter(name, prelude, ("blocks", block, x), final, **options)


# What every decoder here has; each adapter adds its own.
_DEC = {"attn_only": False, "num_experts": None}
_LEARNED = {**_DEC, "positional_embedding_type": "standard", "gated_mlp": False}
_ROPE = {**_DEC, "positional_embedding_type": "rotary", "parallel_attn_mlp": False}
_LLAMA = {**_ROPE, "gated_mlp": True, "use_qk_norm": False}

_LLAMA_BLOCK = _pre_norm(_rotary_attention(), _gated_mlp())
_GEMMA2_BLOCK = _sandwich(_rotary_attention(attn_out=""), _gated_mlp(mlp_out=""))
_GEMMA3_BLOCK = _sandwich(
    _rotary_attention(qk_norm=_PER_HEAD_QK_NORM, attn_out=""), _gated_mlp(mlp_out="")
)
_OLMO_HALF = (
    "its attention multiplies float32 attention weights with the values in the "
    "model's dtype (RuntimeError: expected scalar type Float)"
)

# Joint QKV attention with rotary tables, computed by the bridge (GPT-NeoX, Phi-3).
_NEOX_ATTENTION = _qkv("ln1.hook_out") + _ROTARY_HOOKS + _scores() + _out_proj(hidden_states=True)
_GPT2_BLOCK = _pre_norm(
    # Joint QKV attention, computed by the bridge.
    _qkv("ln1.hook_out") + _scores() + _out_proj(hidden_states=True),
    _mlp("ln2.hook_out"),
)

ADAPTERS: dict[str, _Adapter] = {
    "GPT2LMHeadModel": _decoder(
        "GPT2ArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _POS_EMBED,
        _GPT2_BLOCK,
        x="",  # token and position embeddings added: a new tensor
        fixed={**_LEARNED, "parallel_attn_mlp": False},
    ),
    "GPTNeoForCausalLM": _decoder(
        "NeoArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _POS_EMBED,
        _pre_norm(_qkv("ln1.hook_out") + _out_proj() + _returned_pattern(), _mlp("ln2.hook_out")),
        x="",
        fixed={**_LEARNED, "parallel_attn_mlp": False},
    ),
    "GPTJForCausalLM": _decoder(
        "GptjArchitectureAdapter",
        _EMBED + _HOOK_EMBED,
        _parallel(_qkv("ln1.hook_out") + _out_proj() + _returned_pattern(), _mlp("ln1.hook_out")),
        fixed={
            **_DEC,
            "positional_embedding_type": "rotary",
            "gated_mlp": False,
            "parallel_attn_mlp": True,
        },
    ),
    "OPTForCausalLM": _decoder(
        "OptArchitectureAdapter",
        # OPT's positions come from the attention mask (float32), per sequence.
        _EMBED
        + _HOOK_EMBED
        + """
        /pos_embed.hook_in BS f
        /pos_embed.hook_out BSD
        /hook_pos_embed BSD =pos_embed.hook_out
        """,
        _BLOCK_IN
        + _norm("ln1", "hook_in")
        + _qkv("ln1.hook_out")
        + _out_proj()
        + _returned_pattern()
        # OPT normalizes the MLP's input flattened to [tokens, d_model].
        + """
        ln2.hook_in BSD
        hook_resid_mid BSD =ln2.hook_in
        ln2.hook_scale T1 n
        ln2.hook_normalized TD n
        ln2.hook_out BSD
        """
        + _mlp("ln2.hook_out", out_first=True)
        + _BLOCK_OUT,
        x="",
        fixed={**_LEARNED, "parallel_attn_mlp": False},
    ),
    "BloomForCausalLM": _decoder(
        "BloomArchitectureAdapter",
        _EMBED + _norm("/embed_ln", "embed.hook_out") + "/hook_embed BSD =embed_ln.hook_out\n",
        # BLOOM's attention and MLP modules add the residual themselves.
        _BLOCK_IN
        + _norm("ln1", "hook_in")
        + _qkv("ln1.hook_out")
        + _scores()
        + """
        attn.o.hook_in BSHh
        attn.hook_z BSHh =attn.o.hook_in
        attn.o.hook_out BSD
        hook_attn_out BSD =attn.o.hook_out
        attn.hook_hidden_states BSD
        attn.hook_out BSD =attn.hook_hidden_states
        """
        + _norm("ln2", "attn.hook_hidden_states", alias="hook_resid_mid")
        + """
        mlp.hook_in BSD =ln2.hook_out
        mlp.in.hook_in BSD =ln2.hook_out
        mlp.in.hook_out BSM
        mlp.hook_pre BSM =mlp.in.hook_out
        mlp.out.hook_in BSM
        mlp.hook_post BSM =mlp.out.hook_in
        mlp.out.hook_out BSD
        hook_mlp_out BSD =mlp.out.hook_out
        mlp.hook_out BSD
        hook_out BSD =mlp.hook_out
        hook_resid_post BSD =mlp.hook_out
        """,
        x="embed_ln.hook_out",
        fixed={
            **_DEC,
            "positional_embedding_type": "alibi",
            "gated_mlp": False,
            "parallel_attn_mlp": False,
        },
    ),
    "LlamaForCausalLM": _decoder(
        "LlamaArchitectureAdapter", _EMBED + _HOOK_EMBED + _ROTARY, _LLAMA_BLOCK, fixed=_LLAMA
    ),
    "MistralForCausalLM": _decoder(
        "MistralArchitectureAdapter", _EMBED + _HOOK_EMBED + _ROTARY, _LLAMA_BLOCK, fixed=_LLAMA
    ),
    "Qwen2ForCausalLM": _decoder(
        "Qwen2ArchitectureAdapter", _EMBED + _HOOK_EMBED + _ROTARY, _LLAMA_BLOCK, fixed=_LLAMA
    ),
    "GemmaForCausalLM": _decoder(
        "Gemma1ArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _LLAMA_BLOCK,
        fixed=_LLAMA,
        refuse={
            "act_fn": (
                "gelu",
                "GemmaConfig reads hidden_act 'gelu' as the tanh approximation, so no "
                "config.json (and no bridge) has Gemma 1 with exact GELU, as TransformerLens's "
                "Gemma 1 presets do",
            )
        },
    ),
    "MixtralForCausalLM": _decoder(
        "MixtralArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _pre_norm(_rotary_attention(), _moe("gate", "f")),
        fixed={**_LLAMA, "num_experts": ...},
        no_half="",
    ),
    "Gemma2ForCausalLM": _decoder(
        "Gemma2ArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _GEMMA2_BLOCK,
        fixed={**_LLAMA, "use_normalization_before_and_after": True},
    ),
    "Gemma3ForCausalLM": _decoder(
        "Gemma3ArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _GEMMA3_BLOCK,
        fixed={**_LLAMA, "use_normalization_before_and_after": True, "use_qk_norm": True},
        per_type_rope=True,
    ),
    "Gemma3ForConditionalGeneration": _decoder(
        "Gemma3MultimodalArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _GEMMA3_BLOCK,
        fixed={**_LLAMA, "use_normalization_before_and_after": True, "use_qk_norm": True},
        per_type_rope=True,
    ),
    "Qwen3ForCausalLM": _decoder(
        "Qwen3ArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _pre_norm(_rotary_attention(qk_norm=_PER_HEAD_QK_NORM), _gated_mlp()),
        fixed={**_LLAMA, "use_qk_norm": True},
    ),
    "PhiForCausalLM": _decoder(
        "PhiArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _parallel(_rotary_attention(), _mlp("ln1.hook_out")),
        fixed={**_ROPE, "gated_mlp": False, "parallel_attn_mlp": True},
        rotary="dim",
    ),
    "Phi3ForCausalLM": _decoder(
        "Phi3ArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        # Joint QKV and joint gate/up projections, split by the bridge.
        _pre_norm(_NEOX_ATTENTION, _gated_mlp()),
        fixed=_LLAMA,
    ),
    "GPTNeoXForCausalLM": _decoder(
        "NeoxArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _parallel(_NEOX_ATTENTION, _mlp("ln2.hook_out"), ln2=_norm("ln2", "hook_in")),
        fixed={**_DEC, "positional_embedding_type": "rotary", "gated_mlp": False},
        rotary="dim",
        # use_parallel_residual false (no bundled preset): a pre-norm block.
        sequential=_decoder(
            "NeoxArchitectureAdapter",
            _EMBED + _HOOK_EMBED + _ROTARY,
            _pre_norm(_NEOX_ATTENTION, _mlp("ln2.hook_out")),
            fixed={},
            rotary="dim",
        ),
    ),
    "OlmoForCausalLM": _decoder(
        "OlmoArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _LLAMA_BLOCK,
        fixed=_LLAMA,
        no_half=_OLMO_HALF,
        rope_f32=True,
    ),
    "Olmo2ForCausalLM": _decoder(
        "Olmo2ArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _post_norm_olmo(_PROJECTION_QK_NORM),
        fixed=_LLAMA,
        no_half=_OLMO_HALF,
        rope_f32=True,
    ),
    "Olmo3ForCausalLM": _decoder(
        "Olmo3ArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _post_norm_olmo(_PROJECTION_QK_NORM),
        fixed=_LLAMA,
        per_type_rope=True,
        no_half=_OLMO_HALF,
        rope_f32=True,
    ),
    "OlmoeForCausalLM": _decoder(
        "OlmoeArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _pre_norm(_rotary_attention(qk_norm=_PROJECTION_QK_NORM), _moe("gate")),
        fixed={**_LLAMA, "num_experts": ...},
    ),
    "GptOssForCausalLM": _decoder(
        "GPTOSSArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        # The attention sinks join the softmax as one more column, cut off after it:
        # the pattern is a view of a [batch, heads, seq, seq + 1] tensor.
        _pre_norm(_rotary_attention(pattern=" @BHSP"), _moe("router", scores=True)),
        fixed={**_LLAMA, "num_experts": ...},
        rotary="half",
    ),
    "ApertusForCausalLM": _decoder(
        "ApertusArchitectureAdapter",
        _EMBED + _HOOK_EMBED + _ROTARY,
        _pre_norm(_rotary_attention(qk_norm=_PER_HEAD_QK_NORM), _mlp("ln2.hook_out")),
        fixed={**_ROPE, "gated_mlp": False, "use_qk_norm": True},
    ),
    "BertForMaskedLM": _decoder(
        "BertArchitectureAdapter",
        # Token, token type and position embeddings, summed and normalized; the token
        # types are a [1, seq] slice expanded over the batch, the position ids a slice
        # of the model's own buffer.
        _EMBED
        + """
        /token_type_embed.hook_in BS i @1S
        /token_type_embed.hook_out BSD
        /pos_embed.hook_in 1S i @0
        /pos_embed.hook_out BSD @1SD
        /hook_pos_embed BSD =pos_embed.hook_out
        """
        + _norm("/embed_ln")
        + "/hook_embed BSD =embed_ln.hook_out\n",
        # Post-norm blocks: each sublayer's output is added, then normalized.
        _BLOCK_IN
        + _qkv("hook_in")
        + """
        attn.o.hook_in BSHh
        attn.hook_z BSHh =attn.o.hook_in
        attn.o.hook_out BSD
        """
        + _norm("ln1")
        + """
        attn.hook_out BSD =ln1.hook_out
        hook_attn_out BSD =ln1.hook_out
        """
        + _returned_pattern()
        + _mlp("ln1.hook_out", out_first=True, mlp_in=True)
        + _norm("ln2", alias="hook_resid_mid")
        + """
        hook_out BSD =ln2.hook_out
        hook_resid_post BSD =ln2.hook_out
        """,
        x="embed_ln.hook_out",  # the embeddings' dropout passes it on in eval mode
        final="""
        /mlm_head.hook_in BSD =<x>
        /mlm_head.hook_out BSD
        """
        + _norm("/ln_final")
        + _UNEMBED,
        fixed={
            "attention_dir": "bidirectional",
            "positional_embedding_type": "standard",
            "gated_mlp": False,
            "attn_only": False,
        },
    ),
    "T5ForConditionalGeneration": _Adapter(
        "T5ArchitectureAdapter",
        (
            "encoder_blocks",
            _BLOCK_IN
            + _norm("ln1", "hook_in")
            + _qkv("ln1.hook_out")
            + """
            ?first /pos_embed.hook_in SS i
            ?first /pos_embed.hook_out SSH
            ?first /hook_pos_embed SSH =/pos_embed.hook_out
            """
            + _out_proj()
            + _scores()
            + """
            hook_resid_mid BSD
            """
            + _norm("ln2", "hook_resid_mid")
            + _mlp("ln2.hook_out")
            + _BLOCK_OUT,
            "",  # T5 never calls the bridged shared embedding: no hook before the blocks
        ),
        # The encoder's output, after a dropout that passes it on in eval mode, is what
        # every decoder layer's cross attention reads.
        _norm("/encoder_ln_final", "<x>", out="<encoded>"),
        (
            "decoder_blocks",
            _BLOCK_IN
            + _norm("ln1", "hook_in")
            + _qkv("ln1.hook_out", "self_attn")
            + """
            ?first /decoder_pos_embed.hook_in SS i
            ?first /decoder_pos_embed.hook_out SSH
            """
            + _out_proj("self_attn")
            + _scores("self_attn")
            + """
            hook_resid_mid BSD
            """
            + _norm("ln2", "hook_resid_mid")
            # Cross attention: the keys and values of every layer read the encoder's output.
            + """
            cross_attn.hook_in BSD =ln2.hook_out
            cross_attn.q.hook_in BSD =ln2.hook_out
            cross_attn.q.hook_out BSHh
            cross_attn.hook_q BSHh =cross_attn.q.hook_out
            cross_attn.k.hook_in BSD =<encoded>
            cross_attn.k.hook_out BSKh
            cross_attn.hook_k BSKh =cross_attn.k.hook_out
            cross_attn.v.hook_in BSD =cross_attn.k.hook_in
            cross_attn.v.hook_out BSKh
            cross_attn.hook_v BSKh =cross_attn.v.hook_out
            """
            + _out_proj("cross_attn", attn_out="hook_cross_attn_out")
            + _scores("cross_attn")
            + """
            hook_resid_mid2 BSD
            """
            + _norm("ln3", "hook_resid_mid2")
            + _mlp("ln3.hook_out")
            + _BLOCK_OUT,
            "",
        ),
        _norm("/decoder_ln_final", "<x>")
        + """
        /unembed.hook_in BSD
        /unembed.hook_out BSV
        /hook_unembed BSV =unembed.hook_out
        """,
        fixed={
            "positional_embedding_type": "relative_positional_bias",
            "gated_mlp": False,
            "attn_only": False,
        },
    ),
}


# -- reading a preset ---------------------------------------------------------------------


class BridgeLayout:
    """The tensors ``run_with_cache`` of one preset's ``TransformerBridge`` holds.

    ``values`` are the preset's fields with the derived ones (as the registry keeps
    them, or a config's). :meth:`layout` lays out every cached tensor, in the cache's
    order, as :mod:`.planner` lists and counts them (:mod:`._hooklayout`).

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
        (:mod:`._hooklayout`: a top-level part per top-level table, a stack per stack)."""
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
    not), at the sizes ``dims``, as :mod:`._hooklayout` rows. A row naming another takes
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
            numel = 1
            for d in storage:
                numel *= dims[d]
            held = numel * _ITEMSIZE[dtype]
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
