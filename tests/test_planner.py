"""The planner's arithmetic, without TransformerLens: what each number is made of.

``tests/test_planner_tl.py`` compares every number with real models; these tests check
the arithmetic from first principles, the inputs it refuses, and that it stays pure
Python (the command line relies on that).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from transformer_presets.config.hooked import DTYPE_NAMES, FIELD_DEFAULTS, check_and_derive
from transformer_presets.errors import PresetError, PresetValidationError
from transformer_presets.fields import params
from transformer_presets.planner import _hooks
from transformer_presets.planner import hooked as planner
from transformer_presets.planner.hooked import ModelPlan

from .conftest import REPO, python_c

GPT2: dict[str, Any] = {
    "n_layers": 12,
    "d_model": 768,
    "n_ctx": 1024,
    "d_head": 64,
    "d_vocab": 50257,
    "act_fn": "gelu_new",
}
TINY: dict[str, Any] = {
    "n_layers": 2,
    "d_model": 64,
    "n_ctx": 32,
    "d_head": 16,
    "d_vocab": 100,
    "act_fn": "gelu",
}
ROTARY_GQA = {
    **TINY,
    "positional_embedding_type": "rotary",
    "normalization_type": "RMS",
    "n_key_value_heads": 2,
    "gated_mlp": True,
    "act_fn": "silu",
}
MOE = {**ROTARY_GQA, "num_experts": 4, "experts_per_token": 2}


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


# -- what the numbers are made of -----------------------------------------------------------


def test_gpt2_flops_from_its_matrices() -> None:
    # Every weight matrix multiplies each token once (2 FLOPs per multiply-add), and each
    # layer's q @ k and pattern @ v cost 2 * seq * seq * d_model each per sequence.
    batch, seq = 3, 100
    d, m, layers, vocab = 768, 4 * 768, 12, 50257
    matrices = layers * (4 * d * d + 2 * d * m) + d * vocab
    attention = layers * 2 * (2 * seq * seq * d)
    expected = 2 * batch * seq * matrices + batch * attention
    assert planner.forward_flops(GPT2, batch, seq) == expected


def test_flops_per_mlp_kind() -> None:
    base = planner.forward_flops({**TINY, "attn_only": True, "d_mlp": None}, 2, 8)
    tokens, d, m = 16, 64, 256
    assert planner.forward_flops(TINY, 2, 8) - base == TINY["n_layers"] * 2 * tokens * 2 * d * m
    gated = planner.forward_flops({**TINY, "gated_mlp": True}, 2, 8)
    assert gated - base == TINY["n_layers"] * 3 * 2 * tokens * d * m
    # The router, then experts_per_token gated experts per token.
    moe = planner.forward_flops({**TINY, "num_experts": 8, "experts_per_token": 2}, 2, 8)
    assert moe - base == TINY["n_layers"] * (2 * tokens * d * 8 + 2 * 3 * 2 * tokens * d * m)


def test_attention_result_costs_no_counted_flops() -> None:
    # Its W_O is applied elementwise, which FlopCounterMode does not count.
    tokens, d = 2 * 8, 64
    saved = planner.forward_flops(TINY, 2, 8) - planner.forward_flops(
        {**TINY, "use_attn_result": True}, 2, 8
    )
    assert saved == TINY["n_layers"] * 2 * tokens * d * d


def test_kv_cache_holds_keys_and_values_of_every_layer() -> None:
    assert planner.kv_cache_bytes(GPT2, 2, 100) == 2 * 12 * 2 * 100 * 768 * 4
    # Grouped-query attention caches only the key/value heads.
    full = planner.kv_cache_bytes({**ROTARY_GQA, "n_key_value_heads": None}, 1, 32)
    assert planner.kv_cache_bytes(ROTARY_GQA, 1, 32) * 2 == full
    assert planner.kv_cache_bytes(GPT2, 2, 100, "bfloat16") * 2 == planner.kv_cache_bytes(
        GPT2, 2, 100
    )
    mask = planner.kv_cache_bytes(GPT2, 2, 100, include_mask=True) - planner.kv_cache_bytes(
        GPT2, 2, 100
    )
    assert mask == 2 * 100 * 8  # int64 per token


def test_hook_shapes_follow_the_inputs() -> None:
    shapes = planner.hook_shapes(ROTARY_GQA, 3, 10)
    assert shapes["blocks.1.attn.hook_q"] == (3, 10, 4, 16)
    assert shapes["blocks.1.attn.hook_k"] == (3, 10, 2, 16)  # key/value heads only
    assert shapes["blocks.1.attn.hook_rot_k"] == (3, 10, 2, 16)
    assert shapes["blocks.1.attn.hook_pattern"] == (3, 4, 10, 10)
    assert shapes["blocks.0.ln1.hook_scale"] == (3, 10, 1)
    assert shapes["blocks.0.mlp.hook_pre_linear"] == (3, 10, 256)
    assert list(shapes)[:2] == ["hook_embed", "blocks.0.hook_resid_pre"]
    assert list(shapes)[-2:] == ["unembed.hook_in", "unembed.hook_out"]
    assert "hook_pos_embed" not in shapes  # rotary models add no position embedding


def test_optional_hooks_appear_with_their_flags() -> None:
    plain = planner.hook_shapes(TINY, 1, 4)
    flags = {
        "use_attn_result": "blocks.0.attn.hook_result",
        "use_split_qkv_input": "blocks.0.hook_k_input",
        "use_attn_in": "blocks.0.hook_attn_in",
        "use_hook_mlp_in": "blocks.0.hook_mlp_in",
        "use_hook_tokens": "hook_tokens",
        "use_qk_norm": "blocks.0.attn.q_norm.hook_normalized",
        "post_embedding_ln": "embed.ln.hook_scale",
    }
    for flag, hook in flags.items():
        assert hook not in plain
        assert hook in planner.hook_shapes({**TINY, flag: True}, 1, 4), flag
    parallel = planner.hook_shapes({**TINY, "parallel_attn_mlp": True}, 1, 4)
    assert "blocks.0.hook_resid_mid" in plain
    assert "blocks.0.hook_resid_mid" not in parallel


def test_norm_hooks_are_float32_below_single_precision() -> None:
    for spec in planner.hook_specs(TINY, 2, 8, "bfloat16"):
        norm = spec.name.endswith(("hook_scale", "hook_normalized"))
        assert spec.dtype == ("float32" if norm else "bfloat16"), spec
    specs = planner.hook_specs({**TINY, "dtype": "float64"}, 2, 8)
    assert {s.dtype for s in specs} == {"float64"}


def test_experts_share_the_routed_tokens() -> None:
    specs = planner.hook_specs(MOE, 3, 5)
    pre = [s for s in specs if s.name.startswith("blocks.0.mlp.experts.")]
    pre = [s for s in pre if s.name.endswith("hook_pre")]
    assert len(pre) == 4
    assert sum(s.shape[0] for s in pre) == 3 * 5 * 2  # every token to 2 experts
    shapes = {s.name: s for s in specs}
    assert shapes["blocks.0.mlp.hook_expert_weights"].dtype == "float32"
    assert shapes["blocks.0.mlp.hook_expert_indices"].shape == (15, 2)
    assert shapes["blocks.0.mlp.hook_expert_indices"].dtype == "int64"


def test_gpt_oss_skips_experts_without_tokens() -> None:
    config = {**MOE, "original_architecture": "GptOssForCausalLM", "num_experts": 8}
    names = planner.hook_shapes(config, 1, 1)  # 2 routed tokens for 8 experts
    layers = config["n_layers"]
    assert sum(".experts." in n for n in names) == layers * 2 * 3
    mixtral = planner.hook_shapes({**config, "original_architecture": None}, 1, 1)
    assert sum(".experts." in n for n in mixtral) == layers * 8 * 3


def test_a_tensor_under_two_names_is_counted_once() -> None:
    specs = {s.name: s for s in planner.hook_specs(ROTARY_GQA, 2, 8)}
    assert specs["blocks.0.hook_resid_pre"].same_as == "hook_embed"
    assert specs["blocks.1.hook_resid_pre"].same_as == "blocks.0.hook_resid_post"
    assert specs["blocks.0.hook_resid_post"].same_as is None
    resid = [s for n, s in specs.items() if n.startswith("blocks.") and "hook_resid_p" in n]
    held = planner.activation_cache_bytes(ROTARY_GQA, 2, 8, "blocks.*.hook_resid_p*")
    assert held == (len(resid) - 1) * resid[0].nbytes  # blocks.1's input is blocks.0's output
    everything = sum(s.nbytes for s in specs.values())
    assert planner.activation_cache_bytes(ROTARY_GQA, 2, 8) == everything - 2 * resid[0].nbytes


def test_names_select_like_a_filter() -> None:
    one = planner.activation_cache_bytes(TINY, 2, 8, "blocks.0.attn.hook_pattern")
    assert one == 2 * 4 * 8 * 8 * 4
    both = planner.activation_cache_bytes(
        TINY, 2, 8, ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"]
    )
    assert both == planner.activation_cache_bytes(TINY, 2, 8, "blocks.*.attn.hook_pattern")
    assert both == 2 * one
    assert planner.activation_cache_bytes(TINY, 2, 8, "no such hook") == 0


def test_buffers_hold_rotary_tables_and_the_alibi_bias() -> None:
    rotary = {**TINY, "positional_embedding_type": "rotary", "n_ctx": 5000}
    ignore = 4 * TINY["n_layers"]  # one float32 scalar per attention layer
    table = 2 * 16 * 4 * TINY["n_layers"]  # sin and cos rows of rotary_dim float32
    assert planner.buffer_bytes(rotary) == 2048 * table + ignore
    assert planner.buffer_bytes(rotary, 2000) == 2048 * table + ignore
    assert planner.buffer_bytes(rotary, 3000) == 4096 * table + ignore  # doubled
    assert planner.buffer_bytes(rotary, 4500) == 4500 * table + ignore  # as long as needed
    alibi = {**TINY, "positional_embedding_type": "alibi"}
    assert planner.buffer_bytes(alibi) == ignore
    assert planner.buffer_bytes(alibi, 10, "bfloat16") == ignore + 2 * 4 * 10 * 10 * 4


def test_training_state_per_optimizer() -> None:
    weights = params.total_params(GPT2) * 4
    # W_E, W_pos, ln_final's w and b, W_U and b_U; 16 per block.
    tensors = 6 + 12 * 16
    adamw = planner.training_state(GPT2)
    assert (adamw.weights, adamw.gradients) == (weights, weights)
    assert adamw.optimizer == 2 * weights + 4 * tensors  # two moments, a float32 step each
    assert planner.training_state(GPT2, "sgd").optimizer == weights
    assert planner.training_state_bytes(GPT2, "none") == 2 * weights
    assert planner.training_state(GPT2, "none", "bfloat16").total == weights


def test_parameters_without_a_gradient_get_no_optimizer_state() -> None:
    alibi = {**TINY, "positional_embedding_type": "alibi"}
    w_pos = TINY["n_ctx"] * TINY["d_model"] * 4
    state = planner.training_state(alibi, "sgd")
    assert state.weights - state.gradients == w_pos
    gated_solu = {**TINY, "gated_mlp": True, "act_fn": "solu_ln"}
    state = planner.training_state(gated_solu, "sgd")
    assert state.weights - state.gradients == TINY["n_layers"] * (64 * 256 + 256) * 4


def test_xielu_scalars_stay_float32() -> None:
    xielu = {**TINY, "act_fn": "xielu"}
    half = planner.ModelPlan(xielu).weight_bytes("bfloat16")
    assert half == (params.total_params(xielu) - 2 * 2) * 2 + 2 * 2 * 4


def test_weights_are_total_params_in_the_dtype() -> None:
    for config in (GPT2, TINY, ROTARY_GQA, MOE):
        for dtype, size in (("float32", 4), ("bfloat16", 2)):
            plan = ModelPlan(config)
            assert plan.weight_bytes(dtype) == params.total_params(config) * size


# -- reading configs --------------------------------------------------------------------------


class Recording:
    """A config object that remembers which fields it lacked when asked."""

    def __init__(self, values: dict[str, Any], missing: set[str]) -> None:
        self.__dict__.update(values)
        self._missing = missing

    def __getattr__(self, name: str) -> Any:
        self._missing.add(name)
        raise AttributeError(name)


def _every_question(plan: ModelPlan) -> Iterator[Any]:
    yield plan.hook_specs(1, 4)
    yield plan.forward_flops(1, 4)
    yield plan.kv_cache_bytes(1, 4)
    yield plan.buffer_bytes(4)
    yield plan.training_state()


def test_fields_left_out_take_the_class_defaults() -> None:
    # from_resolved (the command line) reads presets that leave defaults out; what the
    # planner assumes for a missing field must be what the class would set.
    missing: set[str] = set()
    attn_only = {k: v for k, v in TINY.items() if k != "act_fn"} | {"attn_only": True}
    for config in (TINY, ROTARY_GQA, MOE, {**TINY, "act_fn": "xielu"}, attn_only):
        values = Recording({**config, **check_and_derive(config)}, missing)
        list(_every_question(ModelPlan(values)))
    assert "use_split_qkv_input" in missing  # it did ask
    for field in missing - {"_missing"}:
        default = FIELD_DEFAULTS[field]
        assumed = params._DEFAULTS.get(field)
        assert assumed == default or (not default and assumed is None), field


def test_a_config_a_mapping_and_resolved_values_agree() -> None:
    pytest.importorskip("torch")
    from transformer_presets import HookedTransformerConfig

    for config in (GPT2, ROTARY_GQA, MOE):
        cfg = HookedTransformerConfig(**config)
        plans = [ModelPlan(cfg), ModelPlan(config)]
        plans.append(ModelPlan.from_resolved(config, check_and_derive(config)))
        answers = [list(_every_question(p)) for p in plans]
        assert answers[0] == answers[1] == answers[2]


def test_the_config_methods_are_the_planner() -> None:
    pytest.importorskip("torch")
    from transformer_presets import HookedTransformerConfig

    cfg = HookedTransformerConfig(**MOE)
    assert cfg.hook_shapes(2, 8) == planner.hook_shapes(MOE, 2, 8)
    assert cfg.hook_shapes(2, 8, names="*.hook_pre") == planner.hook_shapes(
        MOE, 2, 8, names="*.hook_pre"
    )
    # A config of many experts answers about other hooks without laying theirs out.
    many = HookedTransformerConfig(**{**MOE, "num_experts": 65_536})
    assert many.hook_shapes(1, 4, names="hook_embed") == {"hook_embed": (1, 4, 64)}
    for dtype in (None, "bfloat16"):
        assert cfg.activation_cache_bytes(2, 8, dtype=dtype) == planner.activation_cache_bytes(
            MOE, 2, 8, dtype=dtype
        )
        assert cfg.activation_cache_bytes(
            2, 8, "blocks.0.*", dtype=dtype
        ) == planner.activation_cache_bytes(MOE, 2, 8, "blocks.0.*", dtype)
        assert cfg.kv_cache_bytes(2, 8, dtype=dtype) == planner.kv_cache_bytes(MOE, 2, 8, dtype)
        assert cfg.forward_flops(2, 8, dtype=dtype) == planner.forward_flops(MOE, 2, 8)
        assert cfg.training_state_bytes("sgd", dtype=dtype) == planner.training_state_bytes(
            MOE, "sgd", dtype
        )
        assert cfg.kv_cache_bytes(2, 8, dtype=dtype, include_mask=True) == (
            planner.kv_cache_bytes(MOE, 2, 8, dtype) + 2 * 8 * 8  # the int64 mask
        )


def test_the_config_methods_take_the_planner_functions_parameters() -> None:
    # One signature for each question: the config's method is the planner's function
    # with the config as cfg (dtype may be given by position there too), and importing
    # the config imports no planner until a config asks it something.
    pytest.importorskip("torch")
    import inspect

    from transformer_presets import HookedTransformerConfig

    cfg = HookedTransformerConfig(**GPT2)
    for name in (
        "hook_shapes",
        "activation_cache_bytes",
        "kv_cache_bytes",
        "forward_flops",
        "training_state_bytes",
    ):
        method, function = getattr(cfg, name), getattr(planner, name)
        assert method.__name__ == name and method.__doc__ == function.__doc__
        parameters = [*inspect.signature(function).parameters.values()]
        assert [*inspect.signature(method).parameters.values()] == parameters[1:]
    assert cfg.kv_cache_bytes(1, 8, "bfloat16") == cfg.kv_cache_bytes(1, 8, dtype="bfloat16")
    code = (
        "import sys\n"
        "import transformer_presets.config.hooked as c\n"
        "before = 'transformer_presets.planner.hooked' in sys.modules\n"
        "c.HookedTransformerConfig.kv_cache_bytes\n"
        "print(before, 'transformer_presets.planner.hooked' in sys.modules)\n"
    )
    assert python_c(code).split() == ["False", "False"]


@pytest.mark.parametrize(
    ("question", "args", "key"),
    [
        ("hook_shapes", (1, 4), "original_architecture"),
        ("activation_cache_bytes", (1, 4), "original_architecture"),
        ("kv_cache_bytes", (1, 4), "original_architecture"),
        ("forward_flops", (1, 4), "original_architecture"),
        ("training_state_bytes", (), "original_architecture"),
    ],
)
def test_the_config_methods_name_the_preset_in_errors(
    question: str, args: tuple[Any, ...], key: str
) -> None:
    pytest.importorskip("torch")
    from transformer_presets import get_preset

    # The model's name, as the config knows it (TransformerLens's name for it).
    with pytest.raises(PresetValidationError) as info:
        getattr(get_preset("bert-base-cased"), question)(*args)
    assert (info.value.preset, info.value.key) == ("bert-base-cased", key)
    assert "preset 'bert-base-cased', key 'original_architecture'" in str(info.value)
    with pytest.raises(PresetValidationError, match="must be at most") as info:
        get_preset("gpt2-small").forward_flops(2**63, 4)
    assert (info.value.preset, info.value.key) == ("gpt2", "batch")


def test_every_dtype_name_has_its_size() -> None:
    import torch

    for name, (attribute, size) in DTYPE_NAMES.items():
        assert planner.dtype_key(name) == attribute
        assert planner.dtype_key(getattr(torch, attribute)) == attribute
        assert planner.ModelPlan(TINY).kv_cache_bytes(1, 1, name) == 2 * 2 * 64 * size


# -- what it refuses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda: planner.hook_specs(TINY, 0, 4), "batch"),
        (lambda: planner.hook_specs(TINY, -2, 4), "batch"),
        (lambda: planner.hook_specs(TINY, True, 4), "batch"),
        (lambda: planner.hook_specs(TINY, "2", 4), "batch"),
        (lambda: planner.hook_specs(TINY, 2**63, 4), "batch"),  # no tensor is that large
        (lambda: planner.activation_cache_bytes(TINY, 10**30, 4), "batch"),
        (lambda: planner.kv_cache_bytes(TINY, 1, 0), "seq"),
        (lambda: planner.forward_flops(TINY, 1, 33), "seq"),
        (lambda: planner.buffer_bytes(TINY, 2.5), "seq"),
        (lambda: planner.activation_cache_bytes(TINY, 1, 4, dtype="fp8"), "dtype"),
        (lambda: planner.activation_cache_bytes(TINY, 1, 4, dtype=3), "dtype"),
        (lambda: planner.activation_cache_bytes(TINY, 1, 4, names=3), "names"),
        (lambda: planner.activation_cache_bytes(TINY, 1, 4, names=["a", 1]), "names"),
        (lambda: planner.training_state(TINY, "adam"), "optimizer"),
        (lambda: planner.training_state(TINY, None), "optimizer"),  # type: ignore[arg-type]
        (lambda: planner.hook_specs({**TINY, "d_vocab": -1}, 1, 4), "d_vocab"),
        (lambda: planner.hook_specs({**TINY, "load_in_4bit": True}, 1, 4), "load_in_4bit"),
        (lambda: planner.hook_specs({**TINY, "n_layers": None}, 1, 4), "n_layers"),
        (
            lambda: planner.hook_specs({**TINY, "use_normalization_before_and_after": True}, 1, 4),
            "use_normalization_before_and_after",
        ),
        (
            lambda: planner.hook_specs(
                {**TINY, "positional_embedding_type": "relative_positional_bias"}, 1, 4
            ),
            "positional_embedding_type",
        ),
        (
            lambda: planner.hook_specs({**TINY, "num_experts": 2, "experts_per_token": 3}, 1, 4),
            "experts_per_token",
        ),
        (
            lambda: planner.kv_cache_bytes(
                {**ROTARY_GQA, "ungroup_grouped_query_attention": True}, 1, 4
            ),
            "ungroup_grouped_query_attention",
        ),
    ],
)
def test_bad_arguments_are_named(call: Any, key: str) -> None:
    with pytest.raises(PresetValidationError) as info:
        call()
    assert info.value.key == key


def test_messages_say_what_is_wrong() -> None:
    with pytest.raises(PresetError, match=r"did you mean 'adamw'"):
        planner.training_state(TINY, "adamw2")
    with pytest.raises(PresetError, match=r"beyond the model's context \(n_ctx = 32\)"):
        planner.hook_specs(TINY, 1, 64)


@pytest.mark.parametrize("name", ["bert-base-cased", "t5-small", "facebook/hubert-base-ls960"])
def test_encoders_and_speech_models_are_not_covered(name: str) -> None:
    from transformer_presets import resolve_preset

    with pytest.raises(PresetValidationError, match="does not cover") as info:
        planner.forward_flops(resolve_preset(name), 1, 4)
    assert info.value.key == "original_architecture"


def test_every_decoder_preset_is_planned() -> None:
    from transformer_presets import PresetRegistry

    reg = PresetRegistry()
    covered = 0
    for info in reg.list():
        values = reg.resolve(info.name)
        if params.model_class(values) != "HookedTransformer":
            continue
        plan = ModelPlan.from_resolved(values, reg.derived(info.name))
        assert plan.forward_flops(1, 8) > 0
        assert plan.training_state().total > 0
        covered += 1
    assert covered > 230


def test_the_planner_imports_no_torch_numpy_or_config() -> None:
    code = (
        "import sys\n"
        "from transformer_presets.planner.hooked import ModelPlan\n"
        "plan = ModelPlan.from_resolved({'n_layers': 2, 'd_model': 64, 'n_ctx': 32,"
        " 'd_head': 16, 'd_vocab': 100, 'act_fn': 'gelu', 'dtype': 'bfloat16'},"
        " {'n_heads': 4, 'd_mlp': 256})\n"
        "plan.hook_specs(1, 8); plan.training_state(); plan.buffer_bytes(8)\n"
        "plan.activation_cache_bytes(1, 8, 'blocks.*')\n"
        "loaded = [m for m in ('torch', 'numpy', 'transformer_presets.config.hooked') if m in sys.modules]\n"
        "print(loaded)\n"
    )
    assert python_c(code).strip() == "[]"


def test_the_readme_example_runs() -> None:
    pytest.importorskip("torch")
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    # The planner's example (the TransformerLens 4 section has py blocks of its own).
    (block,) = [
        b for b in re.findall(r"```py\n(.*?)```", readme, re.S) if "activation_cache_bytes" in b
    ]
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    held = namespace["cfg"].activation_cache_bytes(
        1, 2048, "blocks.*.hook_resid_post", dtype="bfloat16"
    )
    assert held == 32 * 2048 * 4096 * 2  # 32 layers of [1, 2048, d_model 4096] in bfloat16


# -- counted, not laid out: the planner's bounds ---------------------------------------------

SELECTIONS: list[Any] = [
    None,
    "hook_embed",
    "*",
    "blocks.*.hook_resid_post",
    "*hook_resid_pre",
    "*.hook_resid_*",
    "blocks.0.*",
    "blocks.1*",
    "blocks.[02].*hook_[pq]*",
    "*experts.1*",
    "*.experts.*.hook_pre",
    "unembed.*",
    "*ln*",
    ["hook_embed", "blocks.1.hook_resid_pre"],
    ["blocks.2.hook_resid_pre", "unembed.hook_in"],
]


def _listed(specs: list[planner.HookSpec], names: Any) -> list[planner.HookSpec]:
    """What a names_filter keeps of the whole listing, matched name by name."""
    import fnmatch

    if names is None:
        return specs
    globs = [names] if isinstance(names, str) else names
    return [s for s in specs if any(fnmatch.fnmatchcase(s.name, g) for g in globs)]


def test_counting_agrees_with_the_listing_for_every_decoder_preset() -> None:
    # activation_cache_bytes and hook_count count hooks by their place in one block; the
    # listing names every hook of every block. Both must give the same answer, for every
    # structure of the zoo, selection and dtype, including layers counted as one.
    from transformer_presets import PresetRegistry

    reg = PresetRegistry()
    structures = set()
    for info in reg.list():
        values = reg.resolve(info.name)
        if params.model_class(values) != "HookedTransformer":
            continue
        full = {**values, **reg.derived(info.name)}
        if not full.get("attn_types"):  # a per-layer list keeps its model's depth
            full["n_layers"] = min(full["n_layers"], 5)
        plan = ModelPlan(full)
        # One preset of each structure: the hooks of each part, which hold the same tensor.
        structure = repr(
            [plan.gpt_oss, plan.L > 2]
            + [
                [([[(r[0], r[3]) for r in rows] for rows in part.variants], part.out)]
                for lay in (plan._layout(1, 1, "float32"), plan._layout(1, 1, "bfloat16"))
                for part in lay.parts
            ]
        )
        if structure in structures:
            continue
        structures.add(structure)
        for dtype in ("float32", "bfloat16"):
            for batch, seq in ((2, min(plan.n_ctx, 17)),):
                specs = plan.hook_specs(batch, seq, dtype)
                for names in SELECTIONS:
                    kept = _listed(specs, names)
                    assert plan.hook_specs(batch, seq, dtype, names=names) == kept
                    assert plan.hook_count(batch, seq, names, dtype) == len(kept)
                    got = plan.activation_cache_bytes(batch, seq, names, dtype)
                    assert got == planner.held_bytes(kept), (info.name, dtype, names)
                curve = plan.activation_curve(batch, [1, seq], "*.hook_resid_*", dtype)
                assert curve == [
                    plan.activation_cache_bytes(batch, s, "*.hook_resid_*", dtype) for s in (1, seq)
                ]
    assert len(structures) >= 19  # the zoo's, when this was written


def watch_listing(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """The names of the hooks the planner makes a :class:`HookSpec` for, and of those it
    matches a glob against, as they happen."""
    made: list[str] = []
    matched: list[str] = []

    class Counted(planner.HookSpec):
        def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
            made.append(name)
            super().__init__(name, *args, **kwargs)

    monkeypatch.setattr(_hooks, "HookSpec", Counted)  # where the specs are made
    call = planner._Globs.__call__
    monkeypatch.setattr(
        planner._Globs, "__call__", lambda self, n: matched.append(n) or call(self, n)
    )
    return made, matched


def test_other_hooks_never_lay_out_the_experts(monkeypatch: pytest.MonkeyPatch) -> None:
    # 65,536 experts in each of 4 layers: 786,432 expert hooks, none of them asked about.
    many = {**MOE, "n_layers": 4, "num_experts": 65_536}
    plan = ModelPlan(many)
    made, matched = watch_listing(monkeypatch)
    [embed] = plan.hook_specs(1, 8, names="hook_embed")
    assert embed.name == "hook_embed" and made == ["hook_embed"]
    assert plan.hook_shapes(1, 8, names=["hook_embed", "unembed.*"]) == {
        "hook_embed": (1, 8, 64),
        "unembed.hook_in": (1, 8, 64),
        "unembed.hook_out": (1, 8, 100),
    }
    assert plan.hook_count(1, 8, "blocks.*.hook_resid_post") == 4
    assert plan.activation_cache_bytes(1, 8, "blocks.9.*") == 0  # no block 9
    # Every name matched was a head's, a tail's or a block's (4 layers), never an expert's.
    assert not any(".experts." in n for n in matched) and len(matched) < 200
    # All hooks: counted without a name, listed only when a listing is asked for.
    two = len(ModelPlan({**many, "num_experts": 2}).hook_specs(1, 8))  # but for its experts
    matched.clear()
    made.clear()
    assert plan.hook_count(1, 8) == two + 4 * 3 * (65_536 - 2)
    assert plan.activation_cache_bytes(1, 8) > 0
    assert made == [] and matched == []


def test_more_experts_than_the_planner_lays_out_name_the_key() -> None:
    fits = {**MOE, "n_layers": 4, "num_experts": planner.MAX_EXPERTS_IN_ALL // 4}
    assert ModelPlan(fits).hook_count(1, 1, "hook_embed") == 1
    with pytest.raises(PresetValidationError, match="at most 262144 experts in all") as info:
        ModelPlan({**fits, "n_layers": 5})
    assert info.value.key == "num_experts"
    assert "got 5 x 65536" in info.value.reason


@pytest.mark.parametrize(
    "glob",
    ["hook_embed", "*", "blocks.*", "blocks.1?.*", "*experts.[!0]*", "*.[3-5].*", "b*s.2*.h*"],
)
def test_a_glob_reaches_the_families_of_the_names_it_matches(glob: str) -> None:
    import fnmatch

    globs = planner._globs(glob)
    assert globs is not None
    number = planner._NUMBER
    for i in (0, 1, 2, 13, 104):
        for j in (0, 3, 5, 40):
            for hook in ("hook_gate", "hook_pre", "hook_post"):
                name = f"blocks.{i}.mlp.experts.{j}.{hook}"
                if fnmatch.fnmatchcase(name, glob):
                    assert globs.may_match("blocks.", number, ".mlp.experts.", number, "." + hook)
                    assert globs.may_match(f"blocks.{i}.mlp.experts.", number, "." + hook)
    assert not planner._globs("hook_embed").may_match("blocks.", number, ".hook_resid_pre")  # type: ignore[union-attr]
    assert not planner._globs("blocks.1.*").may_match("blocks.2.mlp.experts.", number, ".hook_pre")  # type: ignore[union-attr]


def test_the_planner_package_answers_with_the_public_names_of_planner_hooked() -> None:
    # `transformer_presets.planner` was one module; its public names still answer there.
    import transformer_presets.planner as package

    for name in planner.__all__:
        assert getattr(package, name) is getattr(planner, name)
    assert set(planner.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018
