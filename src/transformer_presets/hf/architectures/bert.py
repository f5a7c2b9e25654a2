"""BERT: a bidirectional encoder, converted with its masked-language-model head.

Learned absolute positions, a GELU MLP (the head's activation is fixed in
TransformerLens), and the LayerNorms TransformerLens's BERT always builds, whatever
the preset's ``normalization_type`` says. What the family lacks: causal attention,
rotary or ALiBi positions, a gated MLP, another activation.
"""

from __future__ import annotations

from typing import Any

from .._family import LLAMA, SIZES, Architecture
from .._read import Reader
from .._traits import LEARNED_POSITIONS, Trait, traits
from .._write import Export

__all__ = ["ARCHITECTURES"]

# BertConfig's keys and defaults.
_KEYS = LLAMA.spelled(eps="layer_norm_eps").but(
    d_model=768, n_heads=12, d_mlp=3072, n_layers=12, n_ctx=512, eps=1e-12, d_vocab=30522
)
_BIDIRECTIONAL: Trait = ("attention_dir", "bidirectional", "bidirectional attention")


def read_bert(r: Reader, name: str) -> dict[str, Any]:
    return {**_KEYS.read(r, *SIZES[:-1]), "act_fn": "gelu", **traits(_BIDIRECTIONAL)}


def write_bert(e: Export) -> dict[str, Any]:
    e.heads_split()
    e.has(_BIDIRECTIONAL)
    e.fixed("attn_only", False, "an MLP in every block")
    # TransformerLens's BERT embedding always adds learned positions; its attention
    # would add rotary, ALiBi or shortformer positions on top.
    e.has(LEARNED_POSITIONS)
    # TransformerLens's BERT blocks and head have their own LayerNorms whatever these say.
    e.ignore("normalization_type", "final_rms")
    return {
        **_KEYS.write(e, "d_vocab", "d_model", "n_layers", "n_heads", "d_mlp"),
        # The MLM head's activation is fixed in TransformerLens, and follows
        # hidden_act in transformers: only GELU keeps the two the same.
        "hidden_act": e.act(fixed="gelu"),
        **_KEYS.write(e, "n_ctx"),
        "type_vocab_size": 2,
        **_KEYS.write(e, "eps"),
    }


ARCHITECTURES = (Architecture("BertForMaskedLM", "bert", read_bert, write_bert),)
