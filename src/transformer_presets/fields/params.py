"""Count the parameters of the TransformerLens model a config describes, without building it.

The rules follow TransformerLens 3.x module by module, so that ``total_params(cfg)``
equals ``sum(p.numel() for p in model.parameters())`` for the model TransformerLens
builds from ``cfg``: ``HookedTransformer`` for decoders, ``HookedEncoder`` for BERT,
``HookedEncoderDecoder`` for T5 and ``HookedAudioEncoder`` for HuBERT and wav2vec2.
``tests/data/tl_param_counts.json`` holds the counts measured on real models.

Pure Python: importing this module or calling it never imports torch or numpy.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..common.dtypes import dtype_size
from ..common.plain import is_int
from ..errors import PresetValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs the planner's commands a noticeable share of their start-up
    from typing import Any

__all__ = ["known_params", "model_class", "total_params", "weight_bytes"]

# TransformerLens builds these with HookedAudioEncoder, which on its own holds only the
# transformer blocks: the convolutional feature encoder, the feature projection and any
# CTC head belong to the Hugging Face model that ``from_pretrained`` attaches later.
_AUDIO_ARCHITECTURES = frozenset(
    {"HubertModel", "HubertForCTC", "Wav2Vec2Model", "Wav2Vec2ForPreTraining"}
)
_ENCODER_ARCHITECTURES = frozenset({"BertForMaskedLM"})
_ENCODER_DECODER_ARCHITECTURES = frozenset({"T5ForConditionalGeneration"})
# These get q/k norms over whole projections even with use_qk_norm false (AbstractAttention).
_OLMO_QK_NORM_ARCHITECTURES = frozenset(
    {"OlmoeForCausalLM", "Olmo2ForCausalLM", "Olmo3ForCausalLM"}
)
# GPT-OSS experts and router carry biases; every other mixture of experts has none.
_GPT_OSS_ARCHITECTURE = "GptOssForCausalLM"

# TransformerLens's defaults for the fields read here, so that a mapping may leave them out.
_DEFAULTS: dict[str, Any] = {
    "n_heads": -1,
    "d_mlp": None,
    "d_vocab": -1,
    "d_vocab_out": -1,
    "act_fn": "relu",
    "normalization_type": "LN",
    "positional_embedding_type": "standard",
    "original_architecture": None,
    "attn_only": False,
    "gated_mlp": False,
    "final_rms": False,
    "post_embedding_ln": False,
    "use_normalization_before_and_after": False,
    "use_qk_norm": False,
    "use_attention_sinks": False,
    "n_key_value_heads": None,
    "num_experts": None,
    "experts_per_token": None,
    "relative_attention_num_buckets": None,
    "load_in_4bit": False,
    "dtype": "float32",
}
_REQUIRED = ("n_layers", "d_model", "n_ctx", "d_head")


class _Config:
    """Read fields from a config object or a mapping, with TransformerLens's defaults."""

    def __init__(self, cfg: Any) -> None:
        self._cfg = cfg
        self._is_mapping = isinstance(cfg, Mapping)
        for name in _REQUIRED:
            if self.get(name) is None:
                raise PresetValidationError("is required but not set", key=name)
        self.d_model = self.integer("d_model")
        self.d_head = self.integer("d_head")
        self.n_layers = self.integer("n_layers")
        self.n_ctx = self.integer("n_ctx")
        n_heads = self.integer("n_heads")
        # Unresolved values are derived as HookedTransformerConfig.__post_init__ would.
        self.n_heads = self.d_model // self.d_head if n_heads == -1 else n_heads
        self.d_vocab = self.integer("d_vocab")
        d_vocab_out = self.integer("d_vocab_out")
        self.d_vocab_out = self.d_vocab if d_vocab_out == -1 else d_vocab_out
        d_mlp = self.get("d_mlp")
        self.d_mlp: int = 4 * self.d_model if d_mlp is None else self.integer("d_mlp")
        self.arch: str | None = self.get("original_architecture")
        self.norm: str | None = self.get("normalization_type")

    def get(self, name: str) -> Any:
        default = _DEFAULTS.get(name)
        if self._is_mapping:
            return self._cfg.get(name, default)
        return getattr(self._cfg, name, default)

    def integer(self, name: str) -> int:
        value = self.get(name)
        # bool is an int subclass, but a flag where a size belongs is a mistake.
        if not is_int(value):
            raise PresetValidationError(
                f"must be an integer, got {type(value).__name__} {value!r}", key=name
            )
        return value

    def flag(self, name: str) -> bool:
        return bool(self.get(name))


def model_class(cfg: Any) -> str:
    """The name of the TransformerLens class that builds a model with this config.

    It follows ``original_architecture``: ``"HookedEncoder"`` for BERT,
    ``"HookedEncoderDecoder"`` for T5, ``"HookedAudioEncoder"`` for HuBERT and
    wav2vec2, and ``"HookedTransformer"`` for everything else.

    >>> model_class({"original_architecture": "T5ForConditionalGeneration"})
    'HookedEncoderDecoder'
    """
    arch = (
        cfg.get("original_architecture")
        if isinstance(cfg, Mapping)
        else getattr(cfg, "original_architecture", None)
    )
    if arch in _AUDIO_ARCHITECTURES:
        return "HookedAudioEncoder"
    if arch in _ENCODER_ARCHITECTURES:
        return "HookedEncoder"
    if arch in _ENCODER_DECODER_ARCHITECTURES:
        return "HookedEncoderDecoder"
    return "HookedTransformer"


def total_params(cfg: Any) -> int:
    """The exact number of parameters TransformerLens holds for a model with this config.

    ``cfg`` is a ``HookedTransformerConfig`` (ours or TransformerLens's), any object with
    its attributes, or a mapping of its fields; fields left out of a mapping take
    TransformerLens's defaults. The model is an instance of :func:`model_class`; for
    ``HookedAudioEncoder`` (HuBERT, wav2vec2) that is its transformer blocks only, which
    is all it holds before ``from_pretrained`` attaches the audio front end.

    Raises :class:`PresetValidationError` for a config TransformerLens cannot build.

    >>> total_params({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...               "d_vocab": 50257, "act_fn": "gelu_new"})  # GPT-2 small
    163087441
    """
    c = _Config(cfg)
    if c.flag("load_in_4bit"):
        # 4-bit weights are packed two to a uint8 element, so numel no longer counts weights.
        raise PresetValidationError(
            "total_params counts unquantised models only", key="load_in_4bit"
        )
    kind = model_class(cfg)
    if kind != "HookedAudioEncoder":
        _require_vocab(c)
    return _count(c, kind)


def known_params(cfg: Any) -> int:
    """:func:`total_params` as far as the config says: what the field rules bound.

    A vocabulary left to the tokenizer (``d_vocab`` of -1) counts no embedding rows, and
    4-bit quantisation is ignored (each weight counted as one element). Raises
    :class:`PresetValidationError` for a config TransformerLens cannot build.

    >>> known_params({"n_layers": 1, "d_model": 4, "n_ctx": 2, "d_head": 2, "attn_only": True})
    104
    """
    c = _Config(cfg)
    c.d_vocab, c.d_vocab_out = max(c.d_vocab, 0), max(c.d_vocab_out, 0)
    return _count(c, model_class(cfg))


def _count(c: _Config, kind: str) -> int:
    if kind == "HookedAudioEncoder":
        return c.n_layers * _bert_block(c)
    if kind == "HookedEncoder":
        return _bert_encoder(c)
    if kind == "HookedEncoderDecoder":
        return _t5(c)
    return _decoder(c)


def weight_bytes(cfg: Any) -> int:
    """The bytes that ``total_params(cfg)`` parameters take in ``cfg.dtype``.

    ``dtype`` may be a ``torch.dtype`` or a name such as ``"bfloat16"`` or ``"fp16"``;
    it defaults to float32 when a mapping leaves it out. This is the size with every
    weight in ``dtype``. TransformerLens 3.9 itself creates a few in float32 whatever
    ``dtype`` says: the experts and router of its (non GPT-OSS) mixture of experts and
    xIELU's two scalars, so a model it builds in half precision can take more.

    >>> weight_bytes({"n_layers": 12, "d_model": 768, "n_ctx": 1024, "d_head": 64,
    ...               "d_vocab": 50257, "act_fn": "gelu_new", "dtype": "bfloat16"})
    326174882
    """
    return total_params(cfg) * dtype_size(_Config(cfg).get("dtype"))


def _require_vocab(c: _Config) -> None:
    # HookedTransformer would read the vocabulary size from the tokenizer; we cannot.
    if c.d_vocab <= 0:
        raise PresetValidationError(
            f"must be set to count embedding parameters, got {c.d_vocab}", key="d_vocab"
        )
    if c.d_vocab_out <= 0:
        raise PresetValidationError(f"must be positive, got {c.d_vocab_out}", key="d_vocab_out")


def _norm(c: _Config, kind: str | None, length: int | None = None) -> int:
    """Parameters of one normalization layer of ``kind`` (a ``normalization_type`` value)."""
    n = c.d_model if length is None else length
    if kind == "LN":
        return 2 * n  # weight and bias
    if kind == "RMS":
        return n  # weight only
    if kind in ("LNPre", "RMSPre", None):
        return 0  # folded weights: centring and scaling only
    raise PresetValidationError(
        f"{kind!r} is not one of 'LN', 'LNPre', 'RMS', 'RMSPre' or none",
        key="normalization_type",
    )


def _post_norm(c: _Config) -> int:
    """The extra norm after a sublayer that use_normalization_before_and_after adds."""
    if c.norm is None:
        return 0
    if c.norm.startswith("RMS"):
        # TransformerBlock gives RMSPre models a weighted RMSNorm here, not an RMSNormPre.
        return c.d_model
    # TransformerBlock has no post norm for LayerNorm types and fails to build.
    raise PresetValidationError(
        f"TransformerLens supports it only with RMS normalization, not {c.norm!r}",
        key="use_normalization_before_and_after",
    )


def _embed(c: _Config) -> int:
    """Token embedding, with Bloom's LayerNorm after it."""
    post_ln = 2 * c.d_model if c.flag("post_embedding_ln") else 0
    return c.d_vocab * c.d_model + post_ln


def _unembed(c: _Config) -> int:
    """W_U and b_U; TransformerLens never ties them to W_E, whatever tie_word_embeddings says."""
    return c.d_model * c.d_vocab_out + c.d_vocab_out


def _attention(c: _Config, kv_heads: int | None) -> int:
    """One attention layer; ``kv_heads`` is None for the full multi-head kind."""
    q_and_o = 2 * c.n_heads * c.d_model * c.d_head + c.n_heads * c.d_head + c.d_model
    kv = c.n_heads if kv_heads is None else kv_heads
    k_and_v = 2 * (kv * c.d_model * c.d_head + kv * c.d_head)
    total = q_and_o + k_and_v
    if c.flag("use_qk_norm"):
        total += 2 * c.d_head  # RMSNorm per head dimension, shared across heads
    elif c.arch in _OLMO_QK_NORM_ARCHITECTURES:
        # Norms over whole projections; the K one follows the config, not the attention class.
        cfg_kv = c.get("n_key_value_heads")
        total += c.d_model + (
            c.d_model if cfg_kv is None else c.integer("n_key_value_heads") * c.d_head
        )
    if c.flag("use_attention_sinks"):
        total += c.n_heads
    return total


def _mlp(c: _Config) -> int:
    """The MLP that MLPFactory picks: mixture of experts, gated or plain."""
    if c.d_mlp <= 0:
        raise PresetValidationError(
            f"must be positive unless attn_only is true, got {c.d_mlp}", key="d_mlp"
        )
    d, m = c.d_model, c.d_mlp
    act_fn = str(c.get("act_fn"))
    # xIELU is the one activation with trained weights: scalars alpha_p and alpha_n.
    act_params = 2 if act_fn == "xielu" else 0
    num_experts = c.get("num_experts")
    if num_experts:
        experts = c.integer("num_experts")
        if not c.get("experts_per_token"):
            raise PresetValidationError(
                "must be set when num_experts is set", key="experts_per_token"
            )
        if c.arch == _GPT_OSS_ARCHITECTURE:
            # W_gate, W_in and W_out, each with a bias; its own activation has no weights.
            expert = 3 * d * m + 2 * m + d
            router = d * experts + experts
        else:
            expert = 3 * d * m + act_params
            router = d * experts
        return experts * expert + router
    matrices = (3 if c.flag("gated_mlp") else 2) * d * m
    biases = m + d  # b_in and b_out
    # solu_ln puts a LayerNorm over d_mlp inside the MLP; it has weights only for "LN".
    inner_ln = 2 * m if act_fn.endswith("_ln") and c.norm == "LN" else 0
    return matrices + biases + act_params + inner_ln


def _decoder(c: _Config) -> int:
    """HookedTransformer."""
    total = _embed(c)
    # Every positional type but rotary gets W_pos, even alibi and relative biases.
    if c.get("positional_embedding_type") != "rotary":
        total += c.n_ctx * c.d_model
    kv_heads = c.get("n_key_value_heads")
    attn = _attention(c, None if kv_heads is None else c.integer("n_key_value_heads"))
    post = _post_norm(c) if c.flag("use_normalization_before_and_after") else 0
    block = _norm(c, c.norm) + post + attn
    if not c.flag("attn_only"):
        block += _norm(c, c.norm) + post + _mlp(c)
    total += c.n_layers * block
    if c.norm in ("LN", "LNPre") and c.flag("final_rms"):
        # final_rms swaps only the final LayerNorm for its RMS counterpart.
        total += _norm(c, "RMS" if c.norm == "LN" else "RMSPre")
    else:
        total += _norm(c, c.norm)
    return total + _unembed(c)


def _bert_block(c: _Config) -> int:
    """BertBlock: attention, LayerNorm, MLP, LayerNorm, whatever normalization_type says."""
    return _attention(c, None) + _mlp(c) + 2 * _norm(c, "LN")


def _bert_encoder(c: _Config) -> int:
    """HookedEncoder: embeddings, blocks and the MLM, NSP and pooler heads."""
    d = c.d_model
    # Token, position and two token-type embeddings, then a LayerNorm.
    embed = c.d_vocab * d + c.n_ctx * d + 2 * d + _norm(c, "LN")
    mlm_head = d * d + d + _norm(c, "LN")
    nsp_head = 2 * d + 2
    pooler = d * d + d
    return embed + c.n_layers * _bert_block(c) + mlm_head + _unembed(c) + nsp_head + pooler


def _t5(c: _Config) -> int:
    """HookedEncoderDecoder: encoder and decoder stacks of T5Block over one embedding."""
    d = c.d_model
    attn = _attention(c, None)  # T5Attention ignores n_key_value_heads
    mlp = _mlp(c)
    buckets = c.get("relative_attention_num_buckets")
    if buckets is None:
        raise PresetValidationError(
            "must be set for T5's relative attention bias", key="relative_attention_num_buckets"
        )
    # The first block of each stack holds the relative position bias table.
    rel_bias = c.integer("relative_attention_num_buckets") * c.n_heads
    encoder_block = d + attn + d + mlp  # RMSNorm, self-attention, RMSNorm, MLP
    decoder_block = encoder_block + attn + d  # plus cross-attention and its RMSNorm
    encoder = c.n_layers * encoder_block + rel_bias + d  # final RMSNorm
    decoder = c.n_layers * decoder_block + rel_bias + d
    return c.d_vocab * d + encoder + decoder + _unembed(c)
