"""T5: an encoder-decoder with relative position buckets, converted as TransformerLens builds it.

T5's RMS-style norm, unscaled attention scores, relative position biases in buckets,
an ungated MLP whose activation is ``feed_forward_proj``, tied embeddings (whatever
the file says). What the family lacks: the gated ``gated-gelu`` MLP (TransformerLens
takes ``feed_forward_proj`` as an activation's name), absolute positions, an
initializer range (its ``initializer_factor`` scales differently).
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture
from .._read import REQUIRED, Reader
from .._traits import UNSCALED, Trait, traits
from .._write import Export

__all__ = ["ARCHITECTURES"]

# T5Config's keys and defaults. transformers 5 no longer keeps a top-level max_length
# on the config, so TransformerLens reads n_positions, which T5Config neither has a
# default for nor writes (TransformerLens fails without it: see _context).
_KEYS = (
    LLAMA.spelled(d_model="d_model", d_head="d_kv", n_heads="num_heads", d_mlp="d_ff")
    .spelled(n_layers="num_layers", n_ctx="n_positions", eps="layer_norm_epsilon")
    .spelled(act_fn="feed_forward_proj")
    .but(d_model=512, d_head=64, n_heads=8, d_mlp=2048, d_vocab=32128, n_layers=6)
    .but(n_ctx=REQUIRED, eps=1e-6, act_fn="relu")
    .aliased(
        d_model="hidden_size",
        num_heads="num_attention_heads",
        num_layers="num_hidden_layers",
        d_kv="head_dim",
    )
)
_RELATIVE: Trait = (
    "positional_embedding_type",
    "relative_positional_bias",
    "relative position buckets",
)
_ENCODER: Trait = ("attention_dir", "bidirectional", "a bidirectional encoder")
# T5Config ties the embeddings whatever the file says.
_TIED: Trait = ("tie_word_embeddings", True, "tied input and output embeddings")
# T5's context when the file has no n_positions (as transformers 5 saves it): every
# T5 config.json published carries 512, the length T5 was trained on.
_T5_CONTEXT = 512


def read_t5(r: Reader, name: str) -> dict[str, Any]:
    r.aliases = _KEYS.aliases
    return {
        **_KEYS.read(r, *SIZES[:4], "d_vocab", "n_layers"),
        "n_ctx": _context(r),
        **_KEYS.read(r, "eps", "act_fn"),
        **traits(_RELATIVE),
        "relative_attention_max_distance": r.size("relative_attention_max_distance", 128),
        "relative_attention_num_buckets": r.size("relative_attention_num_buckets", 32),
        "decoder_start_token_id": _decoder_start(r),
        **traits(_ENCODER, UNSCALED, _TIED),
    }


def _context(r: Reader) -> int:
    if r.present(_KEYS.names["n_ctx"]):
        return _KEYS.value(r, "n_ctx")  # type: ignore[no-any-return]
    r.note(
        _KEYS.names["n_ctx"],
        f"not in the file (transformers 5 does not write it): n_ctx is {_T5_CONTEXT}, "
        "the value T5's config files carry",
    )
    return _T5_CONTEXT


def _decoder_start(r: Reader) -> Any:
    # TransformerLens reads it; T5Config (transformers 5) neither has a default for it nor
    # writes it, and T5's decoder starts from the padding token (transformers says so when
    # it is missing), as every published T5 file has it.
    if r.present("decoder_start_token_id"):
        return r.get_int("decoder_start_token_id", nullable=True)
    pad = r.get_int("pad_token_id", 0, nullable=True)
    if pad is None:
        raise r.error("decoder_start_token_id", "missing, and so is pad_token_id, T5's start token")
    r.note(
        "decoder_start_token_id",
        f"not in the file (transformers 5 does not write it): it is pad_token_id ({pad}), "
        "the token T5's decoder starts from",
    )
    return pad


def write_t5(e: Export) -> dict[str, Any]:
    e.has(_ENCODER)
    e.fixed("attn_only", False, "an MLP in every block")
    e.has(UNSCALED, _RELATIVE)
    # TransformerLens's T5 blocks always use T5's RMS-style norm.
    e.ignore("normalization_type", "final_rms")
    # TransformerLens takes feed_forward_proj as the activation's name, so a gated
    # "gated-gelu" is not one it can read.
    e.fixed("gated_mlp", False, "an ungated MLP in TransformerLens")
    e.has(_TIED)
    for field in ("relative_attention_num_buckets", "relative_attention_max_distance"):
        if e.v[field] is None:
            e.problem(field, f"{e.arch}'s relative position buckets need it (it is not set)")
    n_layers = e["n_layers"]
    return {
        **_KEYS.write(e, "d_vocab", "d_model", "d_head", "d_mlp"),
        "num_layers": n_layers,
        "num_decoder_layers": n_layers,
        **_KEYS.write(e, "n_heads", "n_ctx"),
        "relative_attention_num_buckets": e["relative_attention_num_buckets"],
        "relative_attention_max_distance": e["relative_attention_max_distance"],
        **_KEYS.write(e, "eps", "act_fn"),
        "decoder_start_token_id": e["decoder_start_token_id"],
        "is_encoder_decoder": True,
    }


ARCHITECTURES = (
    Architecture(
        "T5ForConditionalGeneration", "t5", read_t5, write_t5, reads_tie=True, initializer_key=None
    ),
)
