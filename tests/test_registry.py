"""The registry: sources and precedence, lookups, overrides, explain, list, safety."""

from __future__ import annotations

import fnmatch
import os
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import transformer_presets as tp
from transformer_presets import (
    HookedTransformerConfig,
    PresetError,
    PresetNotFoundError,
    PresetRegistry,
    PresetValidationError,
    explain_preset,
    get_preset,
    list_presets,
    resolve_preset,
)
from transformer_presets.registry.registry import _matcher

from .conftest import python_c


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_gpt2_small() -> None:
    cfg = get_preset("gpt2-small")
    assert isinstance(cfg, HookedTransformerConfig)
    assert (cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.d_mlp) == (768, 12, 12, 3072)
    assert cfg.act_fn == "gelu_new"
    assert cfg.n_params == 84934656
    assert cfg.dtype is torch.float32


def test_lookup_is_case_insensitive_and_covers_aliases() -> None:
    assert get_preset("GPT2-Small") == get_preset("gpt2")
    assert resolve_preset("MIXTRAL") == resolve_preset("mistralai/Mixtral-8x7B-v0.1")


def test_overrides() -> None:
    cfg = get_preset("gpt2-small", n_ctx=256, dtype="bfloat16", n_key_value_heads=4)
    assert (cfg.n_ctx, cfg.dtype, cfg.n_key_value_heads) == (256, torch.bfloat16, 4)
    assert get_preset("gpt2", dtype=torch.float16).dtype is torch.float16
    assert get_preset("mixtral", window_size=None).window_size is None
    # Overrides feed the derivations, as values in a file would.
    assert get_preset("gpt2", d_model=1024).n_heads == 16


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"n_ctxx": 5}, "n_ctxx"),
        ({"n_ctx": "256"}, "n_ctx"),
        ({"n_ctx": True}, "n_ctx"),
        ({"n_params": 5}, "n_params"),
        ({"n_layers": None}, "n_layers"),
        ({"act_fn": "swish"}, "act_fn"),
    ],
)
def test_bad_overrides_are_named(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(PresetValidationError) as info:
        get_preset("gpt2", **overrides)
    assert info.value.key == key
    assert info.value.preset == "gpt2"


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(PresetNotFoundError, match="did you mean 'gpt2-small'") as info:
        get_preset("gpt2-smal")
    assert isinstance(info.value, PresetError) and isinstance(info.value, ValueError)


def test_resolve_equals_get() -> None:
    for name in ("gpt2", "gpt2-xl", "mistral-7b", "mixtral"):
        assert HookedTransformerConfig(**resolve_preset(name)) == get_preset(name)


def test_resolve_is_plain_data_and_a_copy() -> None:
    import json

    values = resolve_preset("mixtral")
    json.dumps(values)
    values["attn_types"].append("x")
    values["n_layers"] = 1
    again = resolve_preset("mixtral")
    assert again["n_layers"] == 32 and len(again["attn_types"]) == 32


def test_mixtral_is_mistral_plus_moe_overlay() -> None:
    info = {p.name: p for p in list_presets(include_abstract=True)}
    assert "moe" in " ".join(info["mixtral-8x7b-base"].extends).lower() or any(
        "moe" in parent.lower() or "expert" in parent.lower()
        for parent in info["mixtral-8x7b-base"].extends
    )
    cfg = get_preset("mixtral")
    assert (cfg.num_experts, cfg.experts_per_token) == (8, 2)
    assert cfg.window_size is None and not cfg.use_local_attn
    origins = explain_preset("mixtral")
    assert origins["num_experts"].preset != "mistralai/Mixtral-8x7B-v0.1"


def test_user_folder_presets_extend_bundled(user_presets: Path) -> None:
    write(
        user_presets / "mine.toml",
        """
        [my-tiny-gpt2]
        extends = "gpt2-small"
        n_layers = 2
        """,
    )
    cfg = get_preset("my-tiny-gpt2")
    assert (cfg.n_layers, cfg.d_model) == (2, 768)
    (info,) = list_presets("my-tiny-*")
    assert info.source == "user"
    assert info.file == str(user_presets / "mine.toml")


@pytest.mark.parametrize("use_cache", [False, True], ids=["built", "from-the-cache"])
def test_the_catalog_keeps_a_repeat_pattern_beside_the_list_it_lays_out(
    user_presets: Path, use_cache: bool
) -> None:
    write(
        user_presets / "layers.toml",
        """
        [pattern-base]
        abstract = true
        extends = "gpt2-small"
        use_local_attn = true
        window_size = 8
        attn_types = { repeat = ["local", "global"] }

        [with-pattern]
        extends = "pattern-base"
        n_layers = 3

        [with-a-list]
        extends = "with-pattern"
        attn_types = ["global", "global", "local"]

        [with-none]
        extends = "with-pattern"
        use_local_attn = false
        none = ["attn_types"]
        """,
    )
    if use_cache:
        PresetRegistry().resolve("with-pattern")  # written to the cache, then read back
    registry = PresetRegistry(use_cache=use_cache)
    pattern = {"attn_types": {"repeat": ["local", "global"]}}
    assert registry.resolve("with-pattern")["attn_types"] == ["local", "global", "local"]
    assert registry._patterns("with-pattern") == pattern
    assert registry._patterns("pattern-base") == pattern
    assert registry._patterns("with-a-list") == {}
    assert registry._patterns("with-none") == {}
    assert registry._patterns("gpt2") == {}
    # A copy: changing it changes nothing the registry holds.
    registry._patterns("with-pattern")["attn_types"]["repeat"].append("local")
    assert registry._patterns("with-pattern") == pattern


def test_environment_path_files_and_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = write(tmp_path / "one.toml", '[env-one]\nextends = "gpt2"\nn_layers = 1\n')
    folder = tmp_path / "more"
    write(folder / "sub" / "two.toml", '[env-two]\nextends = "env-one"\nn_layers = 2\n')
    monkeypatch.setenv("TRANSFORMER_PRESETS_PATH", os.pathsep.join([str(one), str(folder)]))
    assert get_preset("env-two").n_layers == 2
    assert {p.name: p.source for p in list_presets("env-*")} == {"env-one": "env", "env-two": "env"}


def test_missing_environment_path_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSFORMER_PRESETS_PATH", str(tmp_path / "nope"))
    with pytest.raises(PresetError, match="TRANSFORMER_PRESETS_PATH entry does not exist"):
        get_preset("gpt2")


def test_precedence_paths_env_user_bundled(
    tmp_path: Path, user_presets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def preset(ctx: int) -> str:
        return f'[gpt2]\nextends = "gpt2"\nn_ctx = {ctx}\n'

    write(user_presets / "u.toml", preset(300))
    env_file = write(tmp_path / "env.toml", preset(200))
    explicit = write(tmp_path / "explicit.toml", preset(100))
    assert get_preset("gpt2").n_ctx == 300
    monkeypatch.setenv("TRANSFORMER_PRESETS_PATH", str(env_file))
    assert get_preset("gpt2").n_ctx == 200
    assert PresetRegistry([explicit]).get("gpt2").n_ctx == 100
    # Each level extends the definition it shadows, so all of them stack up.
    explained = PresetRegistry([explicit]).explain("gpt2")
    assert explained["n_ctx"].file == str(explicit)
    assert explained["d_model"].file.endswith(".toml") and "presets" in explained["d_model"].file


def test_user_alias_shadows_bundled_alias(user_presets: Path) -> None:
    write(
        user_presets / "u.toml",
        '[my-gpt2]\nextends = "gpt2"\naliases = ["gpt2-small"]\nn_layers = 3\n',
    )
    assert get_preset("gpt2-small").n_layers == 3
    assert get_preset("gpt2").n_layers == 12


def test_sees_user_file_edits_in_the_same_process(user_presets: Path) -> None:
    path = write(user_presets / "u.toml", '[mine]\nextends = "gpt2"\nn_layers = 2\n')
    registry = PresetRegistry(use_cache=False)
    assert registry.get("mine").n_layers == 2
    path.write_text('[mine]\nextends = "gpt2"\nn_layers = 3\n')  # same size, same instant
    assert registry.get("mine").n_layers == 3
    path.unlink()
    with pytest.raises(PresetNotFoundError):
        registry.get("mine")


def test_abstract_presets_cannot_be_loaded_nor_listed_by_default() -> None:
    with pytest.raises(PresetError, match="abstract"):
        get_preset("gpt2-base") if _has("gpt2-base") else get_preset("mistral-7b-base")
    names = [p.name for p in list_presets()]
    everything = [p.name for p in list_presets(include_abstract=True)]
    abstract = [p.name for p in list_presets(include_abstract=True) if p.abstract]
    assert abstract and not set(abstract) & set(names)
    assert set(names) < set(everything)


def _has(name: str) -> bool:
    return any(p.name == name for p in list_presets(include_abstract=True))


def test_list_patterns_sources_families_and_sorting(user_presets: Path) -> None:
    write(
        user_presets / "zoo.toml",
        '["my/pythia-160m"]\nextends = "gpt2"\n\n["my/pythia-70m"]\nextends = "gpt2"\n',
    )
    mine = [p.name for p in list_presets("MY/PYTHIA-*")]
    assert mine == ["my/pythia-70m", "my/pythia-160m"]  # natural order
    assert [p.name for p in list_presets("gpt2-sm*")] == ["gpt2"]  # aliases match too
    assert {p.source for p in list_presets(source="user")} == {"user"}
    assert {p.family for p in list_presets(family="zoo")} == {"zoo"}
    both = list_presets(["my/pythia-70m", "gpt2"])
    assert {p.name for p in both} == {"my/pythia-70m", "gpt2"}


def test_list_records_carry_sizes() -> None:
    (row,) = [p for p in list_presets("gpt2") if p.name == "gpt2"]
    assert row.aliases == ("gpt2-small",)
    assert (row.n_layers, row.d_model, row.n_heads, row.d_mlp, row.n_ctx) == (
        12,
        768,
        12,
        3072,
        1024,
    )
    assert row.n_params == 84934656
    assert row.source == "bundled" and row.file.endswith(".toml")
    assert row.architecture == "GPT2LMHeadModel"
    assert row.to_dict()["aliases"] == ["gpt2-small"]


def test_explain_names_preset_file_and_line() -> None:
    explained = explain_preset("gpt2-small")
    assert list(explained) == [
        f.name for f in __import__("dataclasses").fields(HookedTransformerConfig)
    ]
    d_model = explained["d_model"]
    assert (d_model.source, d_model.value) == ("preset", 768)
    lines = Path(d_model.file).read_text().splitlines()
    assert lines[d_model.line - 1].replace(" ", "") == "d_model=768"
    assert explained["n_heads"].source == "derived" and explained["n_heads"].value == 12
    assert explained["eps"].source == "default" and explained["eps"].value == 1e-5
    assert explained["device"].source == "derived"


def test_untrusted_remote_code_warns_and_is_marked(user_presets: Path) -> None:
    path = write(user_presets / "r.toml", '[remote]\nextends = "gpt2"\ntrust_remote_code = true\n')
    with pytest.warns(UserWarning, match="trust_remote_code") as record:
        get_preset("remote")
    assert str(path) in str(record[0].message)
    (row,) = list_presets("remote")
    assert row.remote_code_warning and row.trust_remote_code


@pytest.mark.parametrize("call", [get_preset, resolve_preset, explain_preset])
def test_the_remote_code_warning_names_the_line_that_called(user_presets: Path, call: Any) -> None:
    write(user_presets / "r.toml", '[remote]\nextends = "gpt2"\ntrust_remote_code = true\n')
    with pytest.warns(UserWarning, match="trust_remote_code") as record:
        line = sys._getframe().f_lineno + 1
        call("remote")
    assert [(w.filename, w.lineno) for w in record] == [(__file__, line)]


def test_bundled_remote_code_does_not_warn() -> None:
    remote = [p for p in list_presets() if p.trust_remote_code]
    if not remote:
        pytest.skip("no bundled preset turns on trust_remote_code yet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_preset(remote[0].name)
    assert not remote[0].remote_code_warning


def test_an_error_in_one_preset_leaves_the_others_usable(user_presets: Path) -> None:
    write(
        user_presets / "u.toml",
        '[bad]\nextends = "gpt2"\nn_layers = "x"\n\n[good]\nextends = "gpt2"\n',
    )
    assert get_preset("good").n_layers == 12
    with pytest.raises(PresetValidationError, match="expected int"):
        get_preset("bad")
    (row,) = list_presets("bad")
    assert row.error is not None and "n_layers" in row.error


def test_a_broken_user_file_fails_loudly(user_presets: Path) -> None:
    # It might have shadowed the name asked for: answering anyway could be wrong.
    write(user_presets / "u.toml", "[gpt2\n")
    with pytest.raises(PresetError, match=r"u\.toml:1"):
        get_preset("gpt2")


def test_import_and_registry_path_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import transformer_presets as tp\n"
        "tp.list_presets(); tp.resolve_preset('gpt2'); tp.explain_preset('mixtral')\n"
        "tp.PresetRegistry(use_cache=False).list('*')\n"
        "bad = [m for m in ('torch', 'numpy') if m in sys.modules]\n"
        "print(bad)\n"
    )
    assert python_c(code).strip() == "[]"


def test_public_api() -> None:
    for name in tp.__all__:
        assert getattr(tp, name) is not None
    assert issubclass(tp.PresetError, ValueError)
    for cls in (
        tp.PresetNotFoundError,
        tp.PresetSyntaxError,
        tp.PresetValidationError,
        tp.PresetCycleError,
    ):
        assert issubclass(cls, tp.PresetError)


def test_repeated_get_returns_independent_equal_configs() -> None:
    first = get_preset("mixtral", n_ctx=128)
    second = get_preset("mixtral", n_ctx=128)
    assert first == second and first is not second
    first.attn_types.append("local")  # type: ignore[union-attr]
    first.n_layers = 1
    third = get_preset("mixtral", n_ctx=128)
    assert third == second and len(third.attn_types or []) == 32


def test_repeated_get_with_seed_seeds_every_time() -> None:
    get_preset("gpt2", seed=7)
    a = torch.rand(1).item()
    get_preset("gpt2", seed=7)
    assert torch.rand(1).item() == a


def test_repeated_get_sees_edits(user_presets: Path) -> None:
    path = write(user_presets / "u.toml", '[mine]\nextends = "gpt2"\nn_layers = 2\n')
    assert get_preset("mine").n_layers == 2
    path.write_text('[mine]\nextends = "gpt2"\nn_layers = 5\n')
    assert get_preset("mine").n_layers == 5


def test_a_warm_lookup_scans_the_user_folder_once(
    user_presets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformer_presets.files import fingerprint as _fingerprint

    # As if the files were older than the racy window (else they are hashed, and
    # the cache re-dates its manifest with a second scan once they age).
    monkeypatch.setattr(_fingerprint, "RACY_SECONDS", 0.0)
    write(user_presets / "u.toml", '[mine]\nextends = "gpt2"\nn_layers = 2\n')
    PresetRegistry().resolve("mine")  # builds the cache
    scanned: list[str] = []
    real = _fingerprint.file_names

    def counting(source: Any) -> list[str]:
        scanned.append(str(source.path))
        return real(source)

    monkeypatch.setattr(_fingerprint, "file_names", counting)
    registry = PresetRegistry()
    assert registry.resolve("mine")["n_layers"] == 2
    # The cache's own check of the sources also serves as the registry's stamp.
    assert scanned.count(str(user_presets)) == 1
    scanned.clear()
    assert registry.resolve("mine")["n_layers"] == 2
    assert scanned == [str(user_presets)]  # later lookups re-check only the user's files


@settings(max_examples=3000, deadline=None)
@given(
    # Mostly the patterns matched without fnmatch (plain characters and *).
    pattern=st.one_of(
        st.text(alphabet="ab*", max_size=7), st.text(alphabet="ab-*?[]!", max_size=8)
    ),
    name=st.text(alphabet="ab-*?[]!", max_size=10) | st.text(alphabet="ab", max_size=6),
)
def test_pattern_matching_is_fnmatch(pattern: str, name: str) -> None:
    assert _matcher(pattern)(name) == fnmatch.fnmatchcase(name, pattern)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("gpt2*", "gpt2-xl", True),
        ("*mistral*", "mistralai/mistral-7b-v0.1", True),
        ("a*a", "a", False),  # the first and last part may not overlap
        ("*a*a*", "aa", True),
        ("*ab*ab", "abab", True),
        ("pythia-*m", "pythia-1b", False),
        ("gpt2", "gpt2-small", False),
    ],
)
def test_pattern_matching_examples(pattern: str, name: str, expected: bool) -> None:
    assert _matcher(pattern)(name) is expected
