"""``HookedTransformerConfig``'s fields as plain data (generated: do not edit).

Written by ``python -m tools.gen_schema`` from the class's annotations and
defaults (``config.field_table()``), so that the rules, the cache and the planner
can read them without importing the class; ``tests/test_config.py`` holds the
two equal.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Each field, in declaration order: its name, its kinds of value, and its default
# when it has one.
_FIELDS: tuple[tuple[Any, ...], ...] = (
    ("n_layers", ("int",)),
    ("d_model", ("int",)),
    ("n_ctx", ("int",)),
    ("d_head", ("int",)),
    ("model_name", ("str",), "custom"),
    ("n_heads", ("int",), -1),
    ("d_mlp", ("None", "int"), None),
    ("act_fn", ("None", "str"), None),
    ("d_vocab", ("int",), -1),
    ("eps", ("float",), 1e-05),
    ("use_attn_result", ("bool",), False),
    ("use_attn_scale", ("bool",), True),
    ("attn_scale", ("float",), -1.0),
    ("use_split_qkv_input", ("bool",), False),
    ("use_hook_mlp_in", ("bool",), False),
    ("use_attn_in", ("bool",), False),
    ("use_local_attn", ("bool",), False),
    ("ungroup_grouped_query_attention", ("bool",), False),
    ("original_architecture", ("None", "str"), None),
    ("from_checkpoint", ("bool",), False),
    ("checkpoint_index", ("None", "int"), None),
    ("checkpoint_label_type", ("None", "str"), None),
    ("checkpoint_value", ("None", "int"), None),
    ("tokenizer_name", ("None", "str"), None),
    ("window_size", ("None", "int"), None),
    ("attn_types", ("None", "list[str]"), None),
    ("init_mode", ("str",), "gpt2"),
    ("normalization_type", ("None", "str"), "LN"),
    ("device", ("None", "str"), None),
    ("n_devices", ("int",), 1),
    ("attention_dir", ("str",), "causal"),
    ("attn_only", ("bool",), False),
    ("seed", ("None", "int"), None),
    ("initializer_range", ("float",), -1.0),
    ("init_weights", ("bool",), True),
    ("scale_attn_by_inverse_layer_idx", ("bool",), False),
    ("positional_embedding_type", ("str",), "standard"),
    ("final_rms", ("bool",), False),
    ("d_vocab_out", ("int",), -1),
    ("parallel_attn_mlp", ("bool",), False),
    ("rotary_dim", ("None", "int"), None),
    ("n_params", ("None", "int"), None),
    ("use_hook_tokens", ("bool",), False),
    ("gated_mlp", ("bool",), False),
    ("default_prepend_bos", ("bool",), True),
    ("dtype", ("dtype",), "float32"),
    ("tokenizer_prepends_bos", ("None", "bool"), None),
    ("n_key_value_heads", ("None", "int"), None),
    ("post_embedding_ln", ("bool",), False),
    ("rotary_base", ("float", "int"), 10000),
    ("trust_remote_code", ("bool",), False),
    ("rotary_adjacent_pairs", ("bool",), False),
    ("load_in_4bit", ("bool",), False),
    ("num_experts", ("None", "int"), None),
    ("experts_per_token", ("None", "int"), None),
    ("relative_attention_max_distance", ("None", "int"), None),
    ("relative_attention_num_buckets", ("None", "int"), None),
    ("decoder_start_token_id", ("None", "int"), None),
    ("tie_word_embeddings", ("bool",), False),
    ("use_normalization_before_and_after", ("bool",), False),
    ("attn_scores_soft_cap", ("float",), -1.0),
    ("output_logits_soft_cap", ("float",), -1.0),
    ("use_NTK_by_parts_rope", ("bool",), False),
    ("NTK_by_parts_low_freq_factor", ("float",), 1.0),
    ("NTK_by_parts_high_freq_factor", ("float",), 4.0),
    ("NTK_by_parts_factor", ("float",), 8.0),
    ("uses_rms_norm", ("bool",), False),
    ("layer_norm_folding", ("bool",), False),
    ("NTK_original_ctx_len", ("int",), 8192),
    ("use_qk_norm", ("bool",), False),
    ("rotary_base_local", ("None", "float", "int"), None),
    ("norm_topk_prob", ("bool",), False),
    ("use_yarn_rope", ("bool",), False),
    ("yarn_factor", ("float",), 1.0),
    ("yarn_attention_factor", ("float",), 1.0),
    ("yarn_beta_fast", ("float",), 32.0),
    ("yarn_beta_slow", ("float",), 1.0),
    ("yarn_original_max_position_embeddings", ("int",), 4096),
    ("rotary_scaling_factor", ("float",), 1.0),
    ("clip_qkv", ("None", "float"), None),
    ("use_logn_attn", ("bool",), False),
    ("train_seq_length", ("None", "int"), None),
    ("use_dynamic_ntk_rope", ("bool",), False),
    ("quantization_method", ("None", "str"), None),
    ("yarn_truncate", ("bool",), True),
    ("yarn_global_attn_only", ("bool",), False),
    ("use_attention_sinks", ("bool",), False),
)

#: Each field, in declaration order, with its kinds of value.
FIELD_KINDS: dict[str, tuple[str, ...]] = {f[0]: f[1] for f in _FIELDS}

#: Every optional field's default (``dtype`` by name).
FIELD_DEFAULTS: dict[str, Any] = {f[0]: f[2] for f in _FIELDS if len(f) > 2}
