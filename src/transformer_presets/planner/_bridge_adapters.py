"""TransformerLens 4.3's adapters: one table per architecture of what its bridge caches.

Each adapter (``supported_architectures/<arch>.py``) is written as its parts' tables,
composed of the fragments of :mod:`._bridge_rows`, with what it assumes of a preset.
"""

from __future__ import annotations

from ._bridge_rows import (
    _BLOCK_IN,
    _BLOCK_OUT,
    _EMBED,
    _FINAL,
    _HOOK_EMBED,
    _PER_HEAD_QK_NORM,
    _POS_EMBED,
    _PROJECTION_QK_NORM,
    _ROTARY,
    _ROTARY_HOOKS,
    _UNEMBED,
    Row,
    _gated_mlp,
    _mlp,
    _mlp_in,
    _moe,
    _norm,
    _out_proj,
    _parallel,
    _parse,
    _post_norm_olmo,
    _pre_norm,
    _qkv,
    _returned_pattern,
    _rotary_attention,
    _sandwich,
    _scores,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["ADAPTERS", "NOT_BUILDABLE"]

#: Architectures a bridge cannot be built for offline, from an exported ``config.json``.
NOT_BUILDABLE: dict[str, str] = {
    arch: (
        "its exported config.json names code in the model's repository (auto_map), which "
        "transformers runs only with trust_remote_code and boot_bridge never downloads"
    )
    for arch in ("QWenLMHeadModel", "GPT2LMHeadCustomModel")  # Qwen-1, SantaCoder
}


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


def _rotary_decoder(name: str, block: str, **options: Any) -> _Adapter:
    """A decoder with rotary tables: the token embedding, then the model's rotary
    embedding, which computes the tables every layer reads."""
    return _decoder(name, _EMBED + _HOOK_EMBED + _ROTARY, block, **options)


def _learned_positions(name: str, block: str, positions: str = _POS_EMBED) -> _Adapter:
    """GPT-2, GPT-Neo and OPT: learned positions added to the token embedding (a new
    tensor enters the blocks), and sequential blocks."""
    prelude = _EMBED + _HOOK_EMBED + positions
    return _decoder(name, prelude, block, x="", fixed={**_LEARNED, "parallel_attn_mlp": False})


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

_OLMO2_BLOCK = _post_norm_olmo(_PROJECTION_QK_NORM)


def _olmo(name: str, block: str, **options: Any) -> _Adapter:
    """OLMo 1, 2 and 3: Llama's fields, float32 rotary tables, no half precision."""
    return _rotary_decoder(name, block, fixed=_LLAMA, no_half=_OLMO_HALF, rope_f32=True, **options)


def _gemma3(name: str) -> _Adapter:
    """Gemma 3, text only or in its multimodal wrapper: one rotary table per attention type."""
    fixed = {**_LLAMA, "use_normalization_before_and_after": True, "use_qk_norm": True}
    return _rotary_decoder(name, _GEMMA3_BLOCK, fixed=fixed, per_type_rope=True)


# Joint QKV attention with rotary tables, computed by the bridge (GPT-NeoX, Phi-3).
_NEOX_ATTENTION = _qkv("ln1.hook_out") + _ROTARY_HOOKS + _scores() + _out_proj(hidden_states=True)
_GPT2_BLOCK = _pre_norm(
    # Joint QKV attention, computed by the bridge.
    _qkv("ln1.hook_out") + _scores() + _out_proj(hidden_states=True),
    _mlp("ln2.hook_out"),
)

ADAPTERS: dict[str, _Adapter] = {
    "GPT2LMHeadModel": _learned_positions("GPT2ArchitectureAdapter", _GPT2_BLOCK),
    "GPTNeoForCausalLM": _learned_positions(
        "NeoArchitectureAdapter",
        _pre_norm(_qkv("ln1.hook_out") + _out_proj() + _returned_pattern(), _mlp("ln2.hook_out")),
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
    "OPTForCausalLM": _learned_positions(
        "OptArchitectureAdapter",
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
        # OPT's positions come from the attention mask (float32), per sequence.
        positions="""
        /pos_embed.hook_in BS f
        /pos_embed.hook_out BSD
        /hook_pos_embed BSD =pos_embed.hook_out
        """,
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
        + _mlp_in("ln2.hook_out")
        + """
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
    "LlamaForCausalLM": _rotary_decoder("LlamaArchitectureAdapter", _LLAMA_BLOCK, fixed=_LLAMA),
    "MistralForCausalLM": _rotary_decoder("MistralArchitectureAdapter", _LLAMA_BLOCK, fixed=_LLAMA),
    "Qwen2ForCausalLM": _rotary_decoder("Qwen2ArchitectureAdapter", _LLAMA_BLOCK, fixed=_LLAMA),
    "GemmaForCausalLM": _rotary_decoder(
        "Gemma1ArchitectureAdapter",
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
    "MixtralForCausalLM": _rotary_decoder(
        "MixtralArchitectureAdapter",
        _pre_norm(_rotary_attention(), _moe("gate", "f")),
        fixed={**_LLAMA, "num_experts": ...},
        no_half="",
    ),
    "Gemma2ForCausalLM": _rotary_decoder(
        "Gemma2ArchitectureAdapter",
        _GEMMA2_BLOCK,
        fixed={**_LLAMA, "use_normalization_before_and_after": True},
    ),
    "Gemma3ForCausalLM": _gemma3("Gemma3ArchitectureAdapter"),
    "Gemma3ForConditionalGeneration": _gemma3("Gemma3MultimodalArchitectureAdapter"),
    "Qwen3ForCausalLM": _rotary_decoder(
        "Qwen3ArchitectureAdapter",
        _pre_norm(_rotary_attention(qk_norm=_PER_HEAD_QK_NORM), _gated_mlp()),
        fixed={**_LLAMA, "use_qk_norm": True},
    ),
    "PhiForCausalLM": _rotary_decoder(
        "PhiArchitectureAdapter",
        _parallel(_rotary_attention(), _mlp("ln1.hook_out")),
        fixed={**_ROPE, "gated_mlp": False, "parallel_attn_mlp": True},
        rotary="dim",
    ),
    "Phi3ForCausalLM": _rotary_decoder(
        "Phi3ArchitectureAdapter",
        # Joint QKV and joint gate/up projections, split by the bridge.
        _pre_norm(_NEOX_ATTENTION, _gated_mlp()),
        fixed=_LLAMA,
    ),
    "GPTNeoXForCausalLM": _rotary_decoder(
        "NeoxArchitectureAdapter",
        _parallel(_NEOX_ATTENTION, _mlp("ln2.hook_out"), ln2=_norm("ln2", "hook_in")),
        fixed={**_DEC, "positional_embedding_type": "rotary", "gated_mlp": False},
        rotary="dim",
        # use_parallel_residual false (no bundled preset): a pre-norm block.
        sequential=_rotary_decoder(
            "NeoxArchitectureAdapter",
            _pre_norm(_NEOX_ATTENTION, _mlp("ln2.hook_out")),
            fixed={},
            rotary="dim",
        ),
    ),
    "OlmoForCausalLM": _olmo("OlmoArchitectureAdapter", _LLAMA_BLOCK),
    "Olmo2ForCausalLM": _olmo("Olmo2ArchitectureAdapter", _OLMO2_BLOCK),
    "Olmo3ForCausalLM": _olmo("Olmo3ArchitectureAdapter", _OLMO2_BLOCK, per_type_rope=True),
    "OlmoeForCausalLM": _rotary_decoder(
        "OlmoeArchitectureAdapter",
        _pre_norm(_rotary_attention(qk_norm=_PROJECTION_QK_NORM), _moe("gate")),
        fixed={**_LLAMA, "num_experts": ...},
    ),
    "GptOssForCausalLM": _rotary_decoder(
        "GPTOSSArchitectureAdapter",
        # The attention sinks join the softmax as one more column, cut off after it:
        # the pattern is a view of a [batch, heads, seq, seq + 1] tensor.
        _pre_norm(_rotary_attention(pattern=" @BHSP"), _moe("router", scores=True)),
        fixed={**_LLAMA, "num_experts": ...},
        rotary="half",
    ),
    "ApertusForCausalLM": _rotary_decoder(
        "ApertusArchitectureAdapter",
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
