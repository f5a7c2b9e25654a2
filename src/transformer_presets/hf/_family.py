"""What a family module is made of: the architectures it registers, and the table of
the common keys it reads and writes them with.

A family module (``architectures/<family>.py``) holds, for each Hugging Face class it
supports, an :class:`Architecture`: ``read`` turns a config into the values
TransformerLens 3.9 builds for it, ``write`` turns a preset into that config. The
sizes every model has (width, heads, MLP width, layers, context, epsilon, vocabulary,
activation) go both ways through the class's :class:`Keys`: most classes spell them
as Llama's does (:data:`LLAMA`) or as GPT-2's (:data:`GPT2`), with defaults of their
own. What the Llama-style decoders share beyond that is here too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ._read import REQUIRED, Reader
from ._traits import HALF_PAIRS, RMSNORM, ROTARY
from ._write import Export

__all__ = [
    "GPT2",
    "LLAMA",
    "SIZES",
    "Architecture",
    "Keys",
    "read_experts",
    "rms_decoder",
    "write_experts",
]


class Architecture(NamedTuple):
    """One Hugging Face model class, both ways."""

    #: The class, as a config's ``architectures`` names it.
    name: str
    #: The config's ``model_type``.
    model_type: str
    #: The values TransformerLens 3.9 builds from a config (before its rules by name).
    read: Callable[[Reader, str], dict[str, Any]]
    #: The keys of the configuration class, for a preset.
    write: Callable[[Export], dict[str, Any]]
    #: Whether TransformerLens reads the config's ``tie_word_embeddings``.
    reads_tie: bool = False
    #: Where the class keeps the initializer's standard deviation (None: it has none).
    initializer_key: str | None = "initializer_range"


#: The common sizes, in the order most families list them.
SIZES = ("d_model", "d_head", "n_heads", "d_mlp", "n_layers", "n_ctx", "eps", "d_vocab", "act_fn")


def _size(r: Reader, key: str, default: Any) -> Any:
    return r.size(key, default)


# How a size is read, where it is not a positive size (_size).
_READS: dict[str, Callable[[Reader, str, Any], Any]] = {
    "n_layers": Reader.layers,
    "eps": Reader.get_num,
    "act_fn": Reader.get_str,
}


class Keys:
    """The common sizes as one configuration class spells them, with its defaults.

    ``names`` maps a preset field to the class's key, ``defaults`` a field to the
    class's default (none, or REQUIRED: the key must be there). Without a key,
    ``d_head`` is the hidden size over the heads and ``d_mlp`` four times the hidden
    size: what TransformerLens reads from a class that has neither. ``aliases`` are
    the other spellings the class accepts (its ``attribute_map``), which a family
    sets on its reader.

    >>> keys = LLAMA.spelled(eps="layer_norm_eps").but(d_model=768, eps=1e-12)
    >>> keys.names["eps"], keys.defaults["d_model"], keys.defaults["n_heads"]
    ('layer_norm_eps', 768, 32)
    """

    def __init__(
        self,
        names: Mapping[str, str],
        defaults: Mapping[str, Any],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.names = dict(names)
        self.defaults = dict(defaults)
        self.aliases = dict(aliases or {})

    def spelled(self, **names: str) -> Keys:
        """These keys, with ``names`` spelled as given."""
        return Keys({**self.names, **names}, self.defaults, self.aliases)

    def but(self, **defaults: Any) -> Keys:
        """These keys, with other defaults."""
        return Keys(self.names, {**self.defaults, **defaults}, self.aliases)

    def aliased(self, **aliases: str) -> Keys:
        """These keys, with these other spellings accepted (and no others)."""
        return Keys(self.names, self.defaults, aliases)

    def read(self, r: Reader, *fields: str) -> dict[str, Any]:
        """``fields`` read from the config, in that order."""
        return {field: self.value(r, field) for field in fields}

    def value(self, r: Reader, field: str) -> Any:
        """One field read from the config."""
        if field not in self.names:
            if field == "d_head":
                return self.value(r, "d_model") // self.value(r, "n_heads")
            if field == "d_mlp":
                return 4 * self.value(r, "d_model")
        read = _READS.get(field, _size)
        return read(r, self.names[field], self.defaults.get(field, REQUIRED))

    def write(self, e: Export, *fields: str) -> dict[str, Any]:
        """``fields`` under the class's keys, in that order (the vocabulary and the
        activation checked as every config needs them)."""
        out: dict[str, Any] = {}
        for field in fields:
            if field == "d_vocab":
                out[self.names[field]] = e.vocab()
            elif field == "act_fn":
                out[self.names[field]] = e.act()
            else:
                out[self.names[field]] = e[field]
        return out


# The common sizes as LlamaConfig (which most recent classes copy) and GPT2Config spell
# them, and their defaults. GPT-2 has no MLP width: TransformerLens reads 4 * n_embd.
#           field: (LlamaConfig's key, default, GPT2Config's key, default)
_SPELLINGS: dict[str, tuple[str, Any, str | None, Any]] = {
    "d_model": ("hidden_size", 4096, "n_embd", 768),
    "n_heads": ("num_attention_heads", 32, "n_head", 12),
    "d_mlp": ("intermediate_size", 11008, None, None),
    "n_layers": ("num_hidden_layers", 32, "n_layer", 12),
    "n_ctx": ("max_position_embeddings", 2048, "n_positions", 1024),
    "eps": ("rms_norm_eps", 1e-6, "layer_norm_epsilon", 1e-5),
    "d_vocab": ("vocab_size", 32000, "vocab_size", 50257),
    "act_fn": ("hidden_act", "silu", "activation_function", "gelu_new"),
}

#: LlamaConfig's keys and defaults.
LLAMA = Keys(
    {field: row[0] for field, row in _SPELLINGS.items()},
    {field: row[1] for field, row in _SPELLINGS.items()},
)

#: GPT2Config's keys, defaults and aliases.
GPT2 = Keys(
    {field: row[2] for field, row in _SPELLINGS.items() if row[2] is not None},
    {field: row[3] for field, row in _SPELLINGS.items() if row[2] is not None},
).aliased(
    n_embd="hidden_size",
    n_positions="max_position_embeddings",
    n_head="num_attention_heads",
    n_layer="num_hidden_layers",
)


def rms_decoder(e: Export, *, head_dim: bool, grouped: bool = True) -> dict[str, Any]:
    """The keys Llama-like configs share (RMSNorm, rotary embeddings over whole heads).

    ``head_dim``: TransformerLens reads the head size from the config (else it divides
    hidden_size by the heads); ``grouped``: it reads num_key_value_heads.
    """
    e.decoder()
    e.has(RMSNORM, ROTARY, HALF_PAIRS)
    e.ignore("final_rms")
    out = LLAMA.write(e, "d_vocab", "d_model", "d_mlp", "n_layers", "n_heads")
    out["num_key_value_heads"] = e.kv_heads(grouped=grouped)
    if head_dim:
        out["head_dim"] = e["d_head"]
    else:
        e.heads_split()
    e.full_rotary()
    out.update(LLAMA.write(e, "n_ctx", "eps"))
    return out


def read_experts(r: Reader, count_key: str, count: int, per_token: int) -> dict[str, Any]:
    """A mixture of experts' size: how many experts, and how many each token takes."""
    return {
        "num_experts": r.size(count_key, count),
        "experts_per_token": r.size("num_experts_per_tok", per_token),
    }


def write_experts(e: Export, *, count_key: str) -> dict[str, Any]:
    """The keys :func:`read_experts` reads; a preset without experts is refused."""
    if not e.v["num_experts"]:
        e.problem("num_experts", f"{e.arch} is a mixture of experts; this preset is not")
        return {}
    return {count_key: e["num_experts"], "num_experts_per_tok": e["experts_per_token"]}
