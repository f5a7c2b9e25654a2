"""GPT-Neo: GPT-2's blocks with unscaled attention, and local (windowed) layers.

LayerNorm, learned absolute positions, an MLP four times as wide as the model, global
and local layers in a pattern the config writes compactly (``attention_types``).
What the family lacks: rotary embeddings, a gated MLP, grouped-query attention,
scaled attention scores.
"""

from __future__ import annotations

from typing import Any

from .._family import GPT2, SIZES, Architecture
from .._read import Reader, is_int
from .._traits import LAYERNORM, LEARNED_POSITIONS, UNSCALED, traits
from .._write import Export, four_times_wide

__all__ = ["ARCHITECTURES"]

# GPTNeoConfig: GPT-2's keys, but for the sizes it spells as Llama does, and its defaults.
_KEYS = (
    GPT2.spelled(d_model="hidden_size", n_ctx="max_position_embeddings")
    .spelled(n_heads="num_heads", n_layers="num_layers")
    .aliased(num_heads="num_attention_heads", num_layers="num_hidden_layers")
    .but(d_model=2048, n_heads=16, n_layers=24, n_ctx=2048)
)


def read_gpt_neo(r: Reader, name: str) -> dict[str, Any]:
    r.aliases = _KEYS.aliases
    cfg = _KEYS.read(r, *SIZES[:-1])
    return {
        **cfg,
        "attn_types": _attention_layers(r, cfg["n_layers"]),
        **_KEYS.read(r, "act_fn"),
        **traits(UNSCALED),
        "use_local_attn": True,
        "window_size": r.size("window_size", 256),
        **traits(LAYERNORM),
    }


def write_gpt_neo(e: Export) -> dict[str, Any]:
    e.decoder()
    e.heads_split()
    e.has(LAYERNORM, LEARNED_POSITIONS, UNSCALED)
    kinds = e.layer_kinds()
    four_times_wide(e)
    out = {
        **_KEYS.write(e, "d_vocab", "n_ctx", "d_model", "n_layers", "n_heads"),
        # null means 4 * hidden_size.
        "intermediate_size": None,
        "attention_types": _repeating(kinds),
        **_KEYS.write(e, "act_fn", "eps"),
    }
    if "local" in kinds:
        out["window_size"] = e["window_size"]
    return out


def _attention_layers(r: Reader, n_layers: int) -> list[str]:
    # The file's attention_layers wins; without it GPTNeoConfig expands the
    # compact attention_types ([[["global", "local"], 12]] by default). Either
    # way it must have one entry per layer.
    expanded = r.get_list("attention_layers")
    if expanded is not None:
        if len(expanded) != n_layers or not all(k in ("global", "local") for k in expanded):
            raise r.error("attention_layers", f"expected {n_layers} entries of 'global' or 'local'")
        return [str(k) for k in expanded]
    compact = r.get_list("attention_types")
    if compact is None:
        compact = [[["global", "local"], 12]]
    layers: list[str] = []
    for i, item in enumerate(compact):
        ok = (
            isinstance(item, list | tuple)
            and len(item) == 2
            and isinstance(item[0], list | tuple)
            and all(isinstance(k, str) for k in item[0])
            and is_int(item[1])
            and item[1] >= 0
        )
        if not ok:
            raise r.error(f"attention_types[{i}]", "expected [[kinds...], repeat]")
        # Checked before the list is built, so a huge repeat costs nothing.
        if len(layers) + len(item[0]) * item[1] > n_layers:
            break
        layers.extend(list(item[0]) * item[1])
    else:
        if len(layers) == n_layers:
            if not all(k in ("global", "local") for k in layers):
                raise r.error("attention_types", "layer kinds must be 'global' or 'local'")
            return layers
    raise r.error(
        "attention_types", f"must expand to one 'global' or 'local' per layer ({n_layers})"
    )


def _repeating(kinds: list[str]) -> list[list[Any]]:
    """GPT-Neo's compact attention_types: [[pattern, repeats]] with the shortest pattern."""
    n = len(kinds)
    for size in range(1, n + 1):
        if n % size == 0 and kinds[:size] * (n // size) == kinds:
            return [[kinds[:size], n // size]]
    return [[kinds, 1]]  # pragma: no cover - size n always matches


ARCHITECTURES = (Architecture("GPTNeoForCausalLM", "gpt_neo", read_gpt_neo, write_gpt_neo),)
