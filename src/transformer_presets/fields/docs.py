"""One short description of every ``HookedTransformerConfig`` field.

The class keeps TransformerLens's field list; this table says what each field
means, in what unit, and what its "not set" value (-1, -1.0 or None) turns
into. The JSON Schema of preset files (:mod:`transformer_presets.fields.schema`)
shows these texts in an editor; ``tests/test_field_docs.py`` checks that every
field has one and that no stray name is left behind.

Plain data, no imports: reading it costs nothing.

>>> FIELD_DOCS["d_head"]
'Width of one attention head (the size of each query, key and value vector).'
"""

from __future__ import annotations

__all__ = ["FIELD_DOCS"]

#: Field name -> what it means (in declaration order of the class).
FIELD_DOCS: dict[str, str] = {
    # -- sizes ------------------------------------------------------------------------
    "n_layers": "Number of transformer blocks; each block has one attention layer and, "
    "unless attn_only, one MLP.",
    "d_model": "Width of the residual stream: the size of every token's embedding vector.",
    "n_ctx": "Longest sequence the model takes, in tokens; positional tables and the "
    "attention mask are this long.",
    "d_head": "Width of one attention head (the size of each query, key and value vector).",
    "model_name": "The model's short name, as TransformerLens loads it ('custom' for a "
    "model built from scratch).",
    "n_heads": "Number of attention (query) heads per layer. -1 means d_model // d_head.",
    "d_mlp": "Width of the MLP's hidden layer (per expert in a mixture of experts). "
    "None means 4 * d_model, or no MLP at all when attn_only.",
    "act_fn": "The MLP's activation function, by name (gelu_new, silu, relu, ...). "
    "Required unless attn_only.",
    "d_vocab": "Number of tokens in the input vocabulary. -1 means unknown: TransformerLens "
    "then takes it from the tokenizer.",
    "eps": "Small constant added to the variance in every LayerNorm or RMSNorm, "
    "for numerical stability.",
    # -- hooks and attention --------------------------------------------------------
    "use_attn_result": "Compute each head's output in the residual stream separately, "
    "behind a hook (memory-hungry); the sum is the same.",
    "use_attn_scale": "Divide attention scores by attn_scale before the softmax. "
    "False for models that do not scale (GPT-Neo, T5).",
    "attn_scale": "What attention scores are divided by. -1.0 means sqrt(d_head).",
    "use_split_qkv_input": "Give each head its own copy of the query, key and value inputs, "
    "behind a hook, so they can be patched per head.",
    "use_hook_mlp_in": "Add a hook on the MLP's input.",
    "use_attn_in": "Give each head its own copy of the attention input, behind a hook.",
    "use_local_attn": "Some layers attend only to the last window_size tokens; "
    "attn_types says which.",
    "ungroup_grouped_query_attention": "With grouped-query attention, expand the shared "
    "keys and values to one per query head, so per-head hooks see them.",
    "original_architecture": "The Hugging Face class the model comes from "
    "(GPT2LMHeadModel, LlamaForCausalLM, ...); TransformerLens chooses its weight "
    "conversion and some layer details by it.",
    # -- checkpoints ----------------------------------------------------------------
    "from_checkpoint": "The weights come from a training checkpoint, not the final model. "
    "Set at load time (checkpoint_index or checkpoint_value).",
    "checkpoint_index": "Position of the loaded checkpoint in the model's list of training "
    "checkpoints. None when the final weights are loaded.",
    "checkpoint_label_type": "What checkpoints are labelled by: 'step' (training steps) "
    "or 'token' (tokens seen).",
    "checkpoint_value": "The loaded checkpoint's label, in steps or tokens as "
    "checkpoint_label_type says. None when the final weights are loaded.",
    "tokenizer_name": "The Hugging Face name of the tokenizer to load "
    "(usually the model's full name). None means no tokenizer.",
    # -- local attention --------------------------------------------------------------
    "window_size": "How many tokens back a local-attention layer sees, the current one "
    "included. Needed when use_local_attn.",
    "attn_types": "One entry per layer, 'global' or 'local' (sliding window). "
    "Needed when use_local_attn. A preset file may write it as a pattern, "
    "{ repeat = ['local', 'global'] }, laid out from layer 0 over n_layers.",
    # -- initialisation, normalisation, devices -------------------------------------
    "init_mode": "How fresh weights are drawn: 'gpt2' (a normal of std initializer_range), "
    "'xavier_uniform', 'xavier_normal', 'kaiming_uniform', 'kaiming_normal' or 'muP'. "
    "Pretrained weights ignore it.",
    "normalization_type": "The norm layer: 'LN' (LayerNorm with weight and bias), 'LNPre' "
    "(LayerNorm without them), 'RMS' (RMSNorm with weight), 'RMSPre' (without). "
    "None (in 'none') means no normalisation.",
    "device": "Where the weights live ('cpu', 'cuda', 'cuda:1', 'mps'). None means cuda if "
    "available, then mps, then cpu.",
    "n_devices": "Number of GPUs the layers are spread over (pipeline style); 1 means one device.",
    "attention_dir": "'causal' (each token sees only earlier ones, as in GPT) or "
    "'bidirectional' (every token sees all, as in BERT).",
    "attn_only": "The blocks have attention layers only, no MLPs.",
    "seed": "Seed for Python's, NumPy's and PyTorch's random generators, set when the config "
    "is built. None leaves them alone.",
    "initializer_range": "Standard deviation of freshly drawn weights ('gpt2' init), or the "
    "gain of the other init modes. -1.0 means 0.8 / sqrt(d_model) for 'gpt2', else 1.0.",
    "init_weights": "Draw fresh weights when the model is built; False leaves them "
    "uninitialised (for loading pretrained ones).",
    "scale_attn_by_inverse_layer_idx": "Also divide layer i's attention scores by i + 1 "
    "(the Stanford CRFM GPT-2s, for fp16 stability).",
    "positional_embedding_type": "How positions enter: 'standard' (learned, added to the "
    "residual stream), 'rotary', 'shortformer' (learned, added to queries and keys only), "
    "'alibi' (a bias per head on the scores) or 'relative_positional_bias' (T5).",
    "final_rms": "Use RMSNorm for the final norm before the unembedding when the blocks use "
    "LayerNorm ('LN' or 'LNPre').",
    "d_vocab_out": "Number of output logits. -1 means d_vocab.",
    "parallel_attn_mlp": "Attention and MLP read the same block input and both add to the "
    "residual stream (GPT-J, GPT-NeoX), instead of one after the other.",
    "rotary_dim": "How many dimensions of each head rotary embeddings rotate (the rest pass "
    "through). None means d_head when positional_embedding_type is 'rotary'.",
    "n_params": "Number of attention and MLP weights, without embeddings, biases and norms "
    "(the scaling-laws count), computed from the other fields.",
    "use_hook_tokens": "Add a hook on the input token ids.",
    "gated_mlp": "The MLP is gated (SwiGLU/GeGLU style): act(W_gate x) * (W_in x), then W_out.",
    "default_prepend_bos": "Put the beginning-of-sequence token in front of strings the model "
    "tokenises, unless a call says otherwise.",
    "dtype": "Element type of the weights: float32, float16, bfloat16 or float64 "
    "(also fp32, half, bf16, ...).",
    "tokenizer_prepends_bos": "Whether the tokenizer adds the beginning-of-sequence token "
    "itself. None means not known yet (found out when the tokenizer loads).",
    "n_key_value_heads": "Number of key/value heads for grouped-query attention, shared by "
    "groups of query heads. None means one per query head (ordinary multi-head attention).",
    "post_embedding_ln": "Apply a LayerNorm right after the token embedding (BLOOM).",
    "rotary_base": "Base (theta) of the rotary embedding frequencies; larger means longer "
    "wavelengths.",
    "trust_remote_code": "Loading needs code from the model's Hugging Face repository "
    "(which then runs on your machine).",
    "rotary_adjacent_pairs": "Rotary embeddings rotate adjacent pairs of dimensions "
    "(GPT-J style) instead of pairs half a head apart (GPT-NeoX style).",
    "load_in_4bit": "Load the weights quantised to 4 bits with bitsandbytes.",
    # -- mixture of experts and encoder-decoders ---------------------------------------
    "num_experts": "Number of experts in each mixture-of-experts MLP. None means an ordinary "
    "MLP; set it together with experts_per_token.",
    "experts_per_token": "How many experts each token is routed to. None without a mixture "
    "of experts.",
    "relative_attention_max_distance": "Distance, in tokens, beyond which T5's relative "
    "position buckets stop growing.",
    "relative_attention_num_buckets": "Number of relative position buckets in T5's attention bias.",
    "decoder_start_token_id": "Token id the decoder of an encoder-decoder model (T5) starts from.",
    "tie_word_embeddings": "The output layer shares the token embedding's weights "
    "(TransformerLens uses it for T5).",
    "use_normalization_before_and_after": "Normalise both the input and the output of each "
    "attention and MLP layer (Gemma 2 and 3).",
    "attn_scores_soft_cap": "Squash attention scores into (-cap, cap) with cap * tanh(s / cap) "
    "before the softmax. -1.0 means no cap.",
    "output_logits_soft_cap": "Squash the output logits the same way. -1.0 means no cap.",
    # -- rotary scaling ---------------------------------------------------------------
    "use_NTK_by_parts_rope": "Scale rotary frequencies by parts (Llama 3.1's long-context "
    "scheme): low frequencies are interpolated, high ones kept, the middle blended.",
    "NTK_by_parts_low_freq_factor": "NTK by parts: wavelengths longer than the original "
    "context divided by this are fully interpolated.",
    "NTK_by_parts_high_freq_factor": "NTK by parts: wavelengths shorter than the original "
    "context divided by this are kept as they are.",
    "NTK_by_parts_factor": "NTK by parts: how much the interpolated frequencies are divided by "
    "(the context extension factor).",
    "uses_rms_norm": "A TransformerLens bridge setting: the model normalises with RMSNorm. "
    "HookedTransformer reads normalization_type instead.",
    "layer_norm_folding": "A TransformerLens bridge setting: norm weights have been folded "
    "into the following layers.",
    "NTK_original_ctx_len": "NTK by parts: the context length, in tokens, the model was "
    "first trained at.",
    "use_qk_norm": "Apply an RMSNorm to every head's queries and keys before the scores "
    "(Gemma 3, Qwen 3).",
    "rotary_base_local": "Rotary base of the local (sliding-window) layers. None means they "
    "use rotary_base too.",
    "norm_topk_prob": "Rescale the router weights of the chosen experts to sum to 1.",
    "use_yarn_rope": "Scale rotary frequencies with YaRN for a longer context.",
    "yarn_factor": "YaRN: the context extension factor (frequencies are divided by it where "
    "interpolated).",
    "yarn_attention_factor": "YaRN: a factor applied to the rotary sines and cosines, "
    "which sharpens attention.",
    "yarn_beta_fast": "YaRN: rotation count above which dimensions are kept "
    "(extrapolated); bounds the blend from one side.",
    "yarn_beta_slow": "YaRN: rotation count below which dimensions are fully interpolated; "
    "bounds the blend from the other side.",
    "yarn_original_max_position_embeddings": "YaRN: the context length, in tokens, the model "
    "was first trained at.",
    "rotary_scaling_factor": "Linear rotary scaling on the global layers: positions are "
    "divided by this (Gemma 3). 1.0 means none.",
    # -- added by TransformerLens 3.9 --------------------------------------------------
    "clip_qkv": "Clamp queries, keys and values to [-clip_qkv, clip_qkv] after projection "
    "(OLMo, OLMoE). None means no clamp.",
    "use_logn_attn": "Qwen-1's log-n scaling: past train_seq_length, queries are multiplied "
    "by log(position) / log(train length) (inference only).",
    "train_seq_length": "The context length, in tokens, the model was trained at (Qwen-1's "
    "seq_length), for log-n and dynamic NTK scaling. None means n_ctx.",
    "use_dynamic_ntk_rope": "Qwen-1's dynamic NTK: once the input is longer than "
    "train_seq_length, raise the rotary base to match (inference only).",
    "quantization_method": "How the checkpoint's weights are stored ('mxfp4', 'gptq', "
    "'bitsandbytes', ...), from its Hugging Face config. None means not quantised.",
    "yarn_truncate": "YaRN: round the blend's dimension bounds to whole numbers "
    "(gpt-oss does not).",
    "yarn_global_attn_only": "YaRN scales only the global layers; local layers keep plain "
    "rotary embeddings (OLMo 3).",
    "use_attention_sinks": "Each head has a learned sink logit that joins the softmax as one "
    "more key and is then dropped, so heads can attend to nothing (gpt-oss).",
}
