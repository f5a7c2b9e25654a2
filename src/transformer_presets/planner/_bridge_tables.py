"""The tensors of TransformerLens 4.3's ``TransformerBridge``, as tables per architecture.

For each ``transformers`` architecture ``boot_bridge`` builds, :data:`SECTIONS` lists the
parameters and buffers of the model it wraps and those TransformerLens adds, section by
section (the embeddings, one layer, the final norm, the unembedding), in the small
language below, which :mod:`._bridge_tensors` lays out for a preset's sizes. Read from
transformers 5.25's ``modeling_*.py`` and TransformerLens 4.3's
``supported_architectures/``; ``tests/test_bridge_params_tl4.py`` compares every table
with the models they build. Pure data: no torch, transformers or TransformerLens.

A table is rows of ``NAME DIM... FLAG...``. A name starting with ``$`` is a buffer; ``{i}``
in a section's prefix is the layer, ``{t}`` in a name each of transformers' attention
types the model has (sorted, as transformers registers them). A dim is a sum of products
of letters (below) and integers: ``3*D``, ``Q+2*Y``; none is a scalar. Flags: ``~`` no
gradient (the bridge does not run it), ``+`` added by TransformerLens, ``@NAME`` a view of
NAME (in the same section), ``@1NAME`` a view of NAME when there is one head (else its own
copy), ``first`` in the first layer only, ``?untied`` only when the unembedding is not
tied to the embedding, ``?xielu`` only with the xIELU activation, and for buffers
``f32``/``i64``/``bool`` (else the model's dtype) and ``np`` (not persistent).

Letters: V d_vocab, D d_model, C n_ctx, H n_heads, h d_head, K key/value heads,
Q = H * h, Y = K * h, M d_mlp, E num_experts, N relative_attention_num_buckets,
R rotary_dim, r the length of transformers' ``inv_freq`` for it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["SECTIONS", "Row", "Section", "rows", "size"]

_FLAG_WORDS = frozenset({"~", "+", "np", "f32", "i64", "bool", "first", "?untied", "?xielu"})

#: One tensor's row: (buffer, name, dims, flags, view).
Row = tuple[bool, str, tuple[str, ...], frozenset[str], str]
#: (prefix, repeat: None once, "L" n_layers or a count, rows).
Section = tuple[str, "str | int | None", str]


def _parse(text: str) -> tuple[Row, ...]:
    rows = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        name, rest = words[0], words[1:]
        dims = tuple(w for w in rest if w not in _FLAG_WORDS and w[0] != "@")
        flags = frozenset(w for w in rest if w in _FLAG_WORDS)
        views = [w[1:] for w in rest if w[0] == "@"]
        buffer = name[0] == "$"
        rows.append((buffer, name[buffer:], dims, flags, views[0] if views else ""))
    return tuple(rows)


def size(expr: str, dims: Mapping[str, int]) -> int:
    """The size a dim expression gives for the preset's ``dims``.

    >>> size("Q+2*Y", {"Q": 8, "Y": 2})
    12
    """
    total = 0
    for term in expr.split("+"):
        product = 1
        for factor in term.split("*"):
            product *= int(factor) if factor.isdigit() else dims[factor]
        total += product
    return total


_ROW_CACHE: dict[str, tuple[Row, ...]] = {}


def rows(text: str) -> tuple[Row, ...]:
    """A table's rows, parsed once (the tables are a fixed set of strings)."""
    parsed = _ROW_CACHE.get(text)
    if parsed is None:
        parsed = _ROW_CACHE[text] = _parse(text)
    return parsed


# -- fragments --------------------------------------------------------------------------------


def _linear(name: str, out: str, inp: str, *, bias: bool = False, flags: str = "") -> str:
    """An ``nn.Linear``: weight ``[out, in]`` and its bias."""
    rows = f"{name}.weight {out} {inp} {flags}\n"
    if bias:
        rows += f"{name}.bias {out} {flags}\n"
    return rows


def _conv1d(name: str, inp: str, out: str, *, flags: str = "") -> str:
    """GPT-2's ``Conv1D``: weight ``[in, out]`` and a bias."""
    return f"{name}.weight {inp} {out} {flags}\n{name}.bias {out} {flags}\n"


def _norm(name: str, width: str = "D", *, bias: bool = False, flags: str = "") -> str:
    return f"{name}.weight {width} {flags}\n" + (f"{name}.bias {width} {flags}\n" if bias else "")


def _split(fused: str, parts: tuple[tuple[str, str], ...], inp: str, view: str, bias: bool) -> str:
    """The parameters TransformerLens splits a fused projection into (``@`` views, or
    ``@1`` views with one head), run instead of it."""
    rows = ""
    for part, out in parts:
        rows += f"{part}.weight {out} {inp} + {view}{fused}.weight\n"
        if bias:
            rows += f"{part}.bias {out} + {view}{fused}.bias\n"
    return rows


_ROTARY = "$rotary_emb.inv_freq r f32 np\n$rotary_emb.original_inv_freq r f32 np\n"
_ROTARY_BY_TYPE = "$rotary_emb.{t}_inv_freq r f32 np\n$rotary_emb.{t}_original_inv_freq r f32 np\n"
_ZERO_UNEMBED_BIAS = "$lm_head.bias V +\n"


def _attention(
    *, bias: bool = False, o_bias: bool = False, qk_norm: str = "", sinks: bool = False
) -> str:
    """Llama-style attention: ``q_proj`` ... ``o_proj``; Q/K norms per head (``"head"``) or
    over whole projections (``"proj"``, OLMo's); GPT-OSS's learned sinks."""
    a = "self_attn"
    rows = _linear(f"{a}.q_proj", "Q", "D", bias=bias)
    rows += _linear(f"{a}.k_proj", "Y", "D", bias=bias)
    rows += _linear(f"{a}.v_proj", "Y", "D", bias=bias)
    rows += _linear(f"{a}.o_proj", "D", "Q", bias=o_bias)
    if qk_norm == "head":
        rows += _norm(f"{a}.q_norm", "h") + _norm(f"{a}.k_norm", "h")
    elif qk_norm == "proj":
        rows += _norm(f"{a}.q_norm", "Q") + _norm(f"{a}.k_norm", "Y")
    if sinks:
        rows += f"{a}.sinks H\n"
    return rows


_GATED_MLP = (
    _linear("mlp.gate_proj", "M", "D")
    + _linear("mlp.up_proj", "M", "D")
    + _linear("mlp.down_proj", "D", "M")
)
# Mixtral's and OLMoE's experts: one tensor each for every expert's gate/up and down.
_EXPERTS = """
mlp.gate.weight E D
mlp.experts.gate_up_proj E 2*M D
mlp.experts.down_proj E D M
"""
_GPT_OSS_EXPERTS = """
mlp.router.weight E D
mlp.router.bias E
mlp.experts.gate_up_proj E D 2*M
mlp.experts.gate_up_proj_bias E 2*M
mlp.experts.down_proj E M D
mlp.experts.down_proj_bias E D
"""
# Apertus: an ungated MLP with xIELU, whose two scalars are trained and two are buffers.
_XIELU_MLP = (
    _linear("mlp.up_proj", "M", "D")
    + _linear("mlp.down_proj", "D", "M")
    + "mlp.act_fn.alpha_p 1 ?xielu\nmlp.act_fn.alpha_n 1 ?xielu\n"
    + "$mlp.act_fn.beta ?xielu\n$mlp.act_fn.eps ?xielu\n"
)


def _decoder(
    prefix: str, embed: str, layer: str, final: str, head: str = "", *, layers: str = "layers"
) -> tuple[Section, ...]:
    """A decoder's sections: the embeddings and final norm under ``prefix``, the layers
    under ``prefix`` + ``layers``, then the unembedding (by default an untied
    ``lm_head`` without a bias, and TransformerLens's zero one)."""
    return (
        (prefix, None, embed),
        (prefix + layers + ".{i}.", "L", layer),
        (prefix, None, final),
        ("", None, head or "lm_head.weight V D ?untied\n" + _ZERO_UNEMBED_BIAS),
    )


def _llama_like(
    block: str,
    norms: tuple[str, ...] = ("input_layernorm", "post_attention_layernorm"),
    *,
    prefix: str = "model.",
    rotary: str = _ROTARY,
    embed_scale: bool = False,
    final_norm: bool = True,
) -> tuple[Section, ...]:
    """The decoders that transformers writes as Llama does (RMSNorm weights, no biases
    but where ``block`` has them, rotary frequencies at the model level)."""
    top = "embed_tokens.weight V D\n" + ("$embed_tokens.embed_scale np\n" if embed_scale else "")
    layer = block + "".join(_norm(n) for n in norms)
    return _decoder(prefix, top, layer, (_norm("norm") if final_norm else "") + rotary)


_GEMMA_NORMS = (
    "input_layernorm",
    "post_attention_layernorm",
    "pre_feedforward_layernorm",
    "post_feedforward_layernorm",
)
_OLMO2_NORMS = ("post_attention_layernorm", "post_feedforward_layernorm")

# Gemma 3's image tower (SigLIP at 896 pixels, as the export writes it for every preset)
# and the projector from its width to the language model's.
_SIGLIP = (
    (
        "model.vision_tower.",
        None,
        """
        embeddings.patch_embedding.weight 1152 3 14 14 ~
        embeddings.patch_embedding.bias 1152 ~
        embeddings.position_embedding.weight 4096 1152 ~
        $embeddings.position_ids 1 4096 i64 np
        """,
    ),
    (
        "model.vision_tower.encoder.layers.{i}.",
        27,
        _norm("layer_norm1", "1152", bias=True, flags="~")
        + "".join(
            _linear(f"self_attn.{p}", "1152", "1152", bias=True, flags="~")
            for p in ("k_proj", "v_proj", "q_proj", "out_proj")
        )
        + _norm("layer_norm2", "1152", bias=True, flags="~")
        + _linear("mlp.fc1", "4304", "1152", bias=True, flags="~")
        + _linear("mlp.fc2", "1152", "4304", bias=True, flags="~"),
    ),
    ("model.vision_tower.", None, _norm("post_layernorm", "1152", bias=True, flags="~")),
    (
        "model.multi_modal_projector.",
        None,
        "mm_input_projection_weight 1152 D ~\nmm_soft_emb_norm.weight 1152 ~\n",
    ),
)


def _gpt2_like(embed: str, layer: str, final: str = "", head: str = "") -> tuple[Section, ...]:
    """GPT-2 and the decoders transformers names as it does (``transformer.h.{i}.``, a
    final ``ln_f`` LayerNorm)."""
    return _decoder(
        "transformer.", embed, layer, _norm("ln_f", bias=True) + final, head, layers="h"
    )


_WTE_WPE = "wte.weight V D\nwpe.weight C D\n"
_GPT2 = _gpt2_like(
    _WTE_WPE,
    _norm("ln_1", bias=True)
    + _conv1d("attn.c_attn", "D", "3*D", flags="~")
    + "".join(
        f"attn.{p}.weight D D + @attn.c_attn.weight\nattn.{p}.bias D + @attn.c_attn.bias\n"
        for p in "qkv"
    )
    + _conv1d("attn.c_proj", "D", "D")
    + _norm("ln_2", bias=True)
    + _conv1d("mlp.c_fc", "D", "M")
    + _conv1d("mlp.c_proj", "M", "D"),
)

_GPT_NEO = _gpt2_like(
    _WTE_WPE,
    _norm("ln_1", bias=True)
    + "".join(_linear(f"attn.attention.{p}_proj", "D", "D") for p in "kvq")
    + _linear("attn.attention.out_proj", "D", "D", bias=True)
    # The causal mask (windowed on local layers), n_ctx by n_ctx in every layer.
    + "$attn.attention.bias 1 1 C C bool np\n"
    + _norm("ln_2", bias=True)
    + _linear("mlp.c_fc", "M", "D", bias=True)
    + _linear("mlp.c_proj", "D", "M", bias=True),
)


def _fused_qkv(a: str) -> str:
    """GPT-NeoX's and BLOOM's fused QKV, which the bridge does not run, and the Q/K/V
    TransformerLens de-interleaves from it per head: copies, or views with one head."""
    fused = f"{a}.query_key_value"
    parts = tuple((f"{a}.{p}", "D") for p in "qkv")
    return _linear(fused, "3*D", "D", bias=True, flags="~") + _split(
        fused, parts, "D", "@1", bias=True
    )


_H_TO_4H = _linear("mlp.dense_h_to_4h", "M", "D", bias=True) + _linear(
    "mlp.dense_4h_to_h", "D", "M", bias=True
)
_GPT_NEOX = _decoder(
    "gpt_neox.",
    "embed_in.weight V D\n",
    _norm("input_layernorm", bias=True)
    + _norm("post_attention_layernorm", bias=True)
    + _fused_qkv("attention")
    + _linear("attention.dense", "D", "D", bias=True)
    + _H_TO_4H,
    _norm("final_layer_norm", bias=True) + _ROTARY,
)

_BLOOM = _gpt2_like(
    "word_embeddings.weight V D\n" + _norm("word_embeddings_layernorm", bias=True),
    _norm("input_layernorm", bias=True)
    + _fused_qkv("self_attention")
    + _linear("self_attention.dense", "D", "D", bias=True)
    + _norm("post_attention_layernorm", bias=True)
    + _H_TO_4H,
)

_GPTJ = _gpt2_like(
    "wte.weight V D\n",
    _norm("ln_1", bias=True)
    + "".join(_linear(f"attn.{p}_proj", "D", "D") for p in "kvq")
    + _linear("attn.out_proj", "D", "D")
    + _linear("mlp.fc_in", "M", "D", bias=True)
    + _linear("mlp.fc_out", "D", "M", bias=True),
    # transformers' sin/cos table of every position, float32 whatever the dtype.
    "$rotary_emb.embed_positions C R f32 np\n",
    _linear("lm_head", "V", "D", bias=True),
)

_OPT = _decoder(
    "model.decoder.",
    # OPT's learned positions start at offset 2: two rows more than the context.
    "embed_tokens.weight V D\nembed_positions.weight C+2 D\n",
    "".join(_linear(f"self_attn.{p}_proj", "D", "D", bias=True) for p in ("k", "v", "q", "out"))
    + _norm("self_attn_layer_norm", bias=True)
    + _linear("fc1", "M", "D", bias=True)
    + _linear("fc2", "D", "M", bias=True)
    + _norm("final_layer_norm", bias=True),
    _norm("final_layer_norm", bias=True),
)

_PHI = _decoder(
    "model.",
    "embed_tokens.weight V D\n",
    "".join(_linear(f"self_attn.{p}_proj", "Q", "D", bias=True) for p in "qkv")
    + _linear("self_attn.dense", "D", "Q", bias=True)
    + _linear("mlp.fc1", "M", "D", bias=True)
    + _linear("mlp.fc2", "D", "M", bias=True)
    + _norm("input_layernorm", bias=True),
    _norm("final_layernorm", bias=True) + _ROTARY,
    _linear("lm_head", "V", "D", bias=True),
)

_PHI3 = _llama_like(
    _linear("self_attn.qkv_proj", "Q+2*Y", "D", flags="~")
    + _split(
        "self_attn.qkv_proj",
        (("self_attn.q", "Q"), ("self_attn.k", "Y"), ("self_attn.v", "Y")),
        "D",
        "@",
        bias=False,
    )
    + _linear("self_attn.o_proj", "D", "Q")
    + _linear("mlp.gate_up_proj", "2*M", "D", flags="~")
    + _split("mlp.gate_up_proj", (("mlp.gate", "M"), ("mlp.in", "M")), "D", "@", bias=False)
    + _linear("mlp.down_proj", "D", "M")
)


def _t5_attention(a: str, *, relative: bool) -> str:
    rows = "".join(_linear(f"{a}.{p}", "Q", "D") for p in "qkv") + _linear(f"{a}.o", "D", "Q")
    if relative:
        rows += f"{a}.relative_attention_bias.weight N H first\n"
    return rows


_T5_FF = _linear("DenseReluDense.wi", "M", "D") + _linear("DenseReluDense.wo", "D", "M")
_T5 = (
    # One embedding for the encoder, the decoder and the (tied) unembedding.
    ("", None, "shared.weight V D\n"),
    (
        "encoder.block.{i}.layer.",
        "L",
        _t5_attention("0.SelfAttention", relative=True)
        + _norm("0.layer_norm")
        + _T5_FF.replace("DenseReluDense", "1.DenseReluDense")
        + _norm("1.layer_norm"),
    ),
    ("encoder.", None, _norm("final_layer_norm")),
    (
        "decoder.block.{i}.layer.",
        "L",
        _t5_attention("0.SelfAttention", relative=True)
        + _norm("0.layer_norm")
        + _t5_attention("1.EncDecAttention", relative=False)
        + _norm("1.layer_norm")
        + _T5_FF.replace("DenseReluDense", "2.DenseReluDense")
        + _norm("2.layer_norm"),
    ),
    ("decoder.", None, _norm("final_layer_norm")),
    ("", None, _ZERO_UNEMBED_BIAS),
)

_BERT = (
    (
        "bert.embeddings.",
        None,
        """
        word_embeddings.weight V D
        position_embeddings.weight C D
        token_type_embeddings.weight 2 D
        LayerNorm.weight D
        LayerNorm.bias D
        $position_ids 1 C i64 np
        $token_type_ids 1 C i64 np
        """,
    ),
    (
        "bert.encoder.layer.{i}.",
        "L",
        "".join(
            _linear(f"attention.self.{p}", "D", "D", bias=True) for p in ("query", "key", "value")
        )
        + _linear("attention.output.dense", "D", "D", bias=True)
        + _norm("attention.output.LayerNorm", bias=True)
        + _linear("intermediate.dense", "M", "D", bias=True)
        + _linear("output.dense", "D", "M", bias=True)
        + _norm("output.LayerNorm", bias=True),
    ),
    (
        "cls.predictions.",
        None,
        # The head's own bias is a parameter of its own that the forward pass never
        # reads: the decoder's bias is another tensor (the tie is not made).
        "bias V ~\n"
        + _linear("transform.dense", "D", "D", bias=True)
        + _norm("transform.LayerNorm", bias=True)
        + _linear("decoder", "V", "D", bias=True),
    ),
)

_LLAMA = _llama_like(_attention() + _GATED_MLP)
_GEMMA3_BLOCK = _attention(qk_norm="head") + _GATED_MLP

#: Each architecture's tensors, section by section.
SECTIONS: dict[str, tuple[Section, ...]] = {
    "GPT2LMHeadModel": _GPT2,
    "GPTNeoForCausalLM": _GPT_NEO,
    "GPTNeoXForCausalLM": _GPT_NEOX,
    "BloomForCausalLM": _BLOOM,
    "GPTJForCausalLM": _GPTJ,
    "OPTForCausalLM": _OPT,
    "PhiForCausalLM": _PHI,
    "Phi3ForCausalLM": _PHI3,
    "LlamaForCausalLM": _LLAMA,
    "MistralForCausalLM": _LLAMA,
    "MixtralForCausalLM": _llama_like(_attention() + _EXPERTS),
    "Qwen2ForCausalLM": _llama_like(_attention(bias=True) + _GATED_MLP),
    "Qwen3ForCausalLM": _llama_like(_attention(qk_norm="head") + _GATED_MLP),
    # OLMo 1's LayerNorms have no weights at all.
    "OlmoForCausalLM": _llama_like(_attention() + _GATED_MLP, (), final_norm=False),
    "Olmo2ForCausalLM": _llama_like(_attention(qk_norm="proj") + _GATED_MLP, _OLMO2_NORMS),
    "Olmo3ForCausalLM": _llama_like(
        _attention(qk_norm="proj") + _GATED_MLP, _OLMO2_NORMS, rotary=_ROTARY_BY_TYPE
    ),
    "OlmoeForCausalLM": _llama_like(_attention(qk_norm="proj") + _EXPERTS),
    "ApertusForCausalLM": _llama_like(
        _attention(qk_norm="head") + _XIELU_MLP, ("attention_layernorm", "feedforward_layernorm")
    ),
    "GptOssForCausalLM": _llama_like(
        _attention(bias=True, o_bias=True, sinks=True) + _GPT_OSS_EXPERTS
    ),
    # Gemma 1 scales its embedding as Gemma 2 and 3 do (a buffer), with Llama's two norms.
    "GemmaForCausalLM": _llama_like(_attention() + _GATED_MLP, embed_scale=True),
    "Gemma2ForCausalLM": _llama_like(_attention() + _GATED_MLP, _GEMMA_NORMS, embed_scale=True),
    "Gemma3ForCausalLM": _llama_like(
        _GEMMA3_BLOCK, _GEMMA_NORMS, embed_scale=True, rotary=_ROTARY_BY_TYPE
    ),
    "Gemma3ForConditionalGeneration": _SIGLIP
    + _llama_like(
        _GEMMA3_BLOCK,
        _GEMMA_NORMS,
        prefix="model.language_model.",
        embed_scale=True,
        rotary=_ROTARY_BY_TYPE,
    ),
    "BertForMaskedLM": _BERT,
    "T5ForConditionalGeneration": _T5,
}
