"""The tables' language: the rows of a ``TransformerBridge``'s hooks, and the fragments
adapters share.

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

Pure data: strings, and the reader of their rows.
"""

from __future__ import annotations

__all__ = ["DIMS", "Row"]

#: Shape letters: B batch, S seq, T = B * S tokens, P = S + 1, D d_model, H heads,
#: K key/value heads, h d_head, Q = H * h, Y = K * h, M d_mlp, V d_vocab_out,
#: E experts, k experts per token, r width of the rotary cos/sin tables, and 1.
DIMS = "BSTPDHKhQYMVEkr1"

Row = tuple[str, str, str, str, str, bool]


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


def _mlp_in(src: str, mlp_in: bool = False) -> str:
    """A two-layer MLP up to its second projection's input (see :func:`_mlp`)."""
    return f"""
    mlp.hook_in BSD ={src}
    {f"hook_mlp_in BSD ={src}" if mlp_in else ""}
    mlp.in.hook_in BSD ={src}
    mlp.in.hook_out BSM
    mlp.hook_pre BSM =mlp.in.hook_out
    mlp.out.hook_in BSM
    mlp.hook_post BSM =mlp.out.hook_in
    """


def _mlp(src: str, *, out_first: bool = False, mlp_in: bool = False) -> str:
    """A two-layer MLP: hook_pre is its first projection, hook_post the second's input.

    ``out_first``: the MLP's hook_out fires before its projection's (OPT, BERT: the
    bridge wraps a module holding only the first projection). ``mlp_in``: the block
    names the MLP's input hook_mlp_in too (BERT). A dropout after the projection (GPT-2's
    resid_pdrop) passes the same tensor on in eval mode, as boot_bridge leaves the model.
    """
    head = _mlp_in(src, mlp_in)
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
