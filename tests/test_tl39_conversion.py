"""``from_hf_config`` and the bundled zoo against TransformerLens 3.9's own conversion.

Optional, like ``test_transformer_lens_interop.py``: it needs ``transformer-lens<4`` (and
the ``transformers`` it brings) and skips when they are not installed. Nothing is
downloaded: TransformerLens's loader is given a stand-in for ``AutoConfig`` that builds
the config object from a fixture in ``tests/data/hf_configs`` (with the real
``transformers`` config class, or, for the two remote-code architectures, the published
defaults of their remote class), and the network is shut.

Four checks:

* every fixture, under its official name: TransformerLens's
  ``get_pretrained_model_config`` equals ``from_hf_config`` and the bundled preset, field
  by field;
* every fixture with each of its keys removed in turn: ``from_hf_config`` equals what
  TransformerLens builds from the reduced file (or, for the families TransformerLens only
  knows by name, what the upstream class's defaults give);
* every fixture as ``transformers`` 5 writes it back (``rope_parameters``, ``layer_types``,
  every default spelled out) converts to the same values as the original file;
* every other official model, under its name, from the ``config.json`` that
  ``to_hf_config`` writes for its preset: TransformerLens builds the bundled preset. For
  the branches that go by the name (Llama, Gemma, OLMo) that checks every value against
  TransformerLens's own tables; for the rest, that 3.9 converts the preset's file back to
  the preset (its rules keyed on names, the fields it added, its derivations), while the
  values themselves are held by ``tests/test_zoo.py``'s reference table.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"

try:
    TL_VERSION = importlib.metadata.version("transformer-lens")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("transformer-lens is not installed", allow_module_level=True)
if int(TL_VERSION.split(".")[0]) >= 4:
    pytest.skip(
        f"transformer-lens {TL_VERSION} has no HookedTransformer; these tests need <4",
        allow_module_level=True,
    )

import transformer_lens.loading_from_pretrained as lfp  # noqa: E402

from tools.tl39_reference import FixtureAutoConfig, config_object  # noqa: E402
from transformer_presets import get_preset  # noqa: E402
from transformer_presets.config.hooked import HookedTransformerConfig  # noqa: E402
from transformer_presets.hf.exporting import HFExportError, to_hf_config  # noqa: E402
from transformer_presets.hf.importing import HFConfigError, from_hf_config  # noqa: E402

from .conftest import DATA  # noqa: E402

FIXTURES = sorted(p for p in (DATA / "hf_configs").iterdir() if (p / "config.json").is_file())

# Architectures TransformerLens 3.9 converts from the model's name alone: it never reads
# their config.json, and has no branch for them under any other name.
BY_NAME_ONLY = {
    "GemmaForCausalLM",
    "Gemma2ForCausalLM",
    "Gemma3ForCausalLM",
    "Gemma3ForConditionalGeneration",
    "OlmoForCausalLM",
    "Olmo2ForCausalLM",
}
# Keys that pick the config class rather than hold a value.
CLASS_KEYS = {"architectures", "model_type", "auto_map"}


def _name(fixture: Path) -> str:
    return fixture.name.replace("__", "/")


def _data(fixture: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixture / "config.json").read_text(encoding="utf-8"))
    return data


def _arch(data: dict[str, Any]) -> str:
    return str(data["architectures"][0])


# TransformerLens 3.9 reads hf_config.partial_rotary_factor, which transformers 5 keeps
# only in rope_parameters: its conversion of every Phi 1, 1.5 and 2 model fails. The tests
# check that it still does, then compare with what its Phi branch computes once the
# attribute is back (FixtureAutoConfig's restore_phi).
PHI_FAILS = "partial_rotary_factor"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access during the TransformerLens 3.9 conversion tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def _plain_number(value: Any) -> Any:
    # TransformerLens derives attn_scale and initializer_range with NumPy: compare the number.
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__ == "numpy" else value


def _same(a: Any, b: Any) -> bool:
    a, b = _plain_number(a), _plain_number(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        # 10000 and 10000.0 differ, as they do in a preset.
        return type(a) is type(b) and bool(a == b or math.isclose(a, b, rel_tol=1e-12))
    return bool(a == b)


def _differences(tl: Any, ours: Any) -> dict[str, tuple[Any, Any]]:
    want, got = dict(tl.to_dict()), dict(ours.to_dict())
    keys = set(want) | set(got)
    return {
        k: (want.get(k, "<missing>"), got.get(k, "<missing>"))
        for k in sorted(keys)
        if not _same(want.get(k), got.get(k))
    }


def _ours(values: dict[str, Any]) -> HookedTransformerConfig:
    # TransformerLens's loader sets init_weights=False: the weights come from the checkpoint.
    return HookedTransformerConfig(**values, init_weights=False)


# --- every fixture under its official name -------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=_name)
def test_transformer_lens_39_builds_what_we_import_and_bundle(
    fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _name(fixture)
    monkeypatch.setattr(lfp, "AutoConfig", FixtureAutoConfig({name: fixture}))
    if _arch(_data(fixture)) == "PhiForCausalLM":
        with pytest.raises(AttributeError, match=PHI_FAILS):
            lfp.get_pretrained_model_config(name)
        monkeypatch.setattr(lfp, "AutoConfig", FixtureAutoConfig({name: fixture}, restore_phi=True))
    tl = lfp.get_pretrained_model_config(name)
    assert _differences(tl, _ours(from_hf_config(fixture, name=name))) == {}
    assert _differences(tl, get_preset(name, init_weights=False)) == {}


# --- every fixture with each key left out ----------------------------------------------------


def _reduced_cases() -> list[Any]:
    cases = []
    for fixture in FIXTURES:
        data = _data(fixture)
        for key in sorted(data):
            if key not in CLASS_KEYS:
                cases.append(pytest.param(fixture, key, id=f"{_name(fixture)}-{key}"))
    return cases


def _rewritten(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """``data`` as the transformers 5 config class writes it back, defaults spelled out."""
    folder = _neutral_folder(data, base)
    out: dict[str, Any] = config_object(folder).to_dict()
    if data.get("model_type") == "gemma" and data.get("hidden_act") == "gelu":
        # GemmaConfig rewrites the legacy "gelu" of the released files to the tanh
        # approximation; TransformerLens's Gemma table keeps "gelu", as the import does.
        out["hidden_act"] = "gelu"
    return out


def _neutral_folder(data: dict[str, Any], base: Path) -> Path:
    """A folder under ``base`` holding ``data`` as config.json.

    TransformerLens picks Llama and Gemma branches by name, and a local path is the
    name, so the path must name no model family.
    """
    folder = base / "model"
    lowered = str(folder).lower()
    if "llama" in lowered or "gemma" in lowered:
        folder = Path(tempfile.mkdtemp(prefix="cfg-")) / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("fixture", "key"), _reduced_cases())
def test_a_missing_key_takes_the_upstream_default(
    fixture: Path,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = _data(fixture)
    reduced = {k: v for k, v in data.items() if k != key}
    arch = _arch(data)
    if arch in BY_NAME_ONLY:
        # TransformerLens does not read these files; the upstream class is the reference:
        # what it makes of the reduced file (every default written out) converts the same.
        name = _name(fixture)
        upstream = _rewritten(reduced, tmp_path_factory.mktemp("cfg"))
        assert _outcome(upstream, name) == _outcome(reduced, name)
        return
    folder = _neutral_folder(reduced, tmp_path_factory.mktemp("cfg"))
    monkeypatch.setattr(lfp, "AutoConfig", FixtureAutoConfig({}, restore_phi=True))
    try:
        tl = lfp.get_pretrained_model_config(str(folder))
    except Exception as exc:  # what TransformerLens cannot convert, we must refuse
        if (arch, key) in SAVED_WITHOUT:
            # ... but for the keys transformers 5 no longer writes: see below.
            assert isinstance(exc, AttributeError) and key in str(exc), exc
            assert _converted_without(arch, reduced, data, str(folder))
            return
        with pytest.raises(HFConfigError):
            from_hf_config(folder, name=str(folder))
        assert type(exc) is not HFConfigError
        return
    try:
        values = from_hf_config(folder, name=str(folder))
    except HFConfigError as exc:
        # Without the key, the upstream default can make a model no one can build (more K/V
        # heads than query heads, a rotary dimension wider than a head), which
        # TransformerLens takes and the import refuses, naming the field and the value.
        assert exc.key in CHECKED_BEYOND_TRANSFORMER_LENS, exc
        assert f"got {tl.to_dict()[exc.key]!r}" in exc.reason, exc
        return
    assert _differences(tl, _ours(values)) == {}


def _outcome(source: Any, name: str) -> Any:
    """What the import makes of ``source``: its values, or the field it refuses."""
    try:
        return from_hf_config(source, name=name)
    except HFConfigError as exc:
        return ("refused", exc.key)


# Checks our class makes that TransformerLens's does not (values no model can have).
CHECKED_BEYOND_TRANSFORMER_LENS = {
    "n_key_value_heads",
    "rotary_dim",
    "attn_types",
    "experts_per_token",
}


# --- the transformers 5 layout ---------------------------------------------------------------

# Keys TransformerLens 3.9 reads that the transformers 5 config class no longer writes, so
# that 3.9 fails on a config saved by transformers 5 (AttributeError): the import takes
# GPT-2's context from n_positions (its own), T5's as 512 (what T5's files carry) and
# T5's decoder start token as its padding token (as T5 starts).
SAVED_WITHOUT = {
    ("GPT2LMHeadModel", "n_ctx"),
    ("T5ForConditionalGeneration", "n_positions"),
    ("T5ForConditionalGeneration", "decoder_start_token_id"),
}


def _converted_without(arch: str, reduced: dict[str, Any], full: dict[str, Any], name: str) -> bool:
    """Whether ``reduced`` (``full`` without the key) converts as the issue says."""
    from transformer_presets.hf.errors import HFConfigNote

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HFConfigNote)
        values = from_hf_config(reduced, name=name)
    restored = {
        "n_ctx": full.get("n_positions", 1024),
        "n_positions": 512,
        "decoder_start_token_id": full.get("pad_token_id", 0),
    }
    key = next(k for a, k in SAVED_WITHOUT if a == arch and k not in reduced)
    return values == from_hf_config(full | {key: restored[key]}, name=name)


# The transformers 5 configuration class of every architecture it has one for (the two
# remote-code architectures, Qwen-1 and SantaCoder, have none).
CONFIG_CLASSES = {
    "GPT2LMHeadModel": "GPT2Config",
    "GPTNeoForCausalLM": "GPTNeoConfig",
    "GPTNeoXForCausalLM": "GPTNeoXConfig",
    "GPTJForCausalLM": "GPTJConfig",
    "OPTForCausalLM": "OPTConfig",
    "BloomForCausalLM": "BloomConfig",
    "LlamaForCausalLM": "LlamaConfig",
    "MistralForCausalLM": "MistralConfig",
    "MixtralForCausalLM": "MixtralConfig",
    "GemmaForCausalLM": "GemmaConfig",
    "Gemma2ForCausalLM": "Gemma2Config",
    "Gemma3ForCausalLM": "Gemma3TextConfig",
    "Gemma3ForConditionalGeneration": "Gemma3Config",
    "Qwen2ForCausalLM": "Qwen2Config",
    "Qwen3ForCausalLM": "Qwen3Config",
    "PhiForCausalLM": "PhiConfig",
    "Phi3ForCausalLM": "Phi3Config",
    "OlmoForCausalLM": "OlmoConfig",
    "Olmo2ForCausalLM": "Olmo2Config",
    "Olmo3ForCausalLM": "Olmo3Config",
    "OlmoeForCausalLM": "OlmoeConfig",
    "GptOssForCausalLM": "GptOssConfig",
    "ApertusForCausalLM": "ApertusConfig",
    "BertForMaskedLM": "BertConfig",
    "T5ForConditionalGeneration": "T5Config",
}


def test_every_architecture_but_the_remote_ones_has_a_config_class_here() -> None:
    from transformer_presets.hf.importing import SUPPORTED_ARCHITECTURES

    remote = {"QWenLMHeadModel", "GPT2LMHeadCustomModel"}
    assert set(CONFIG_CLASSES) == set(SUPPORTED_ARCHITECTURES) - remote


@pytest.mark.parametrize("arch", sorted(CONFIG_CLASSES))
def test_a_config_saved_by_transformers_5_converts_as_transformer_lens_does(
    arch: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The class's default config, as save_pretrained writes it (keys the class no longer
    # writes, such as GPT-2's n_ctx, are missing): converted as TransformerLens 3.9 does,
    # or, where 3.9 fails for such a missing key, as SAVED_WITHOUT says.
    import transformers

    folder = _neutral_folder({}, tmp_path_factory.mktemp("cfg"))
    getattr(transformers, CONFIG_CLASSES[arch])(architectures=[arch]).save_pretrained(folder)
    saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        values = from_hf_config(folder, name=str(folder))
    missing = sorted(key for a, key in SAVED_WITHOUT if a == arch)
    assert [k for k in missing if k in saved] == []  # else the case is gone: update the set
    noted = sorted(str(n.message).split(": key '")[-1].split("'")[0] for n in notes)
    assert noted == (missing if arch == "T5ForConditionalGeneration" else [])
    if arch in BY_NAME_ONLY:
        # TransformerLens reads no file for these; the upstream class is the reference, and
        # the file is what it writes.
        upstream = _rewritten(saved, tmp_path_factory.mktemp("cfg"))
        assert values == from_hf_config(upstream, name=str(folder))
        return
    monkeypatch.setattr(lfp, "AutoConfig", FixtureAutoConfig({}, restore_phi=True))
    if missing:
        with pytest.raises(AttributeError, match="|".join(missing)):
            lfp.get_pretrained_model_config(str(folder))
        restored = {"n_ctx": saved["n_positions"]} if arch == "GPT2LMHeadModel" else {}
        if arch == "T5ForConditionalGeneration":
            restored = {"n_positions": 512, "decoder_start_token_id": saved["pad_token_id"]}
        (folder / "config.json").write_text(json.dumps(saved | restored), encoding="utf-8")
        # With those keys back, TransformerLens converts it, to the values the import gave.
        tl = lfp.get_pretrained_model_config(str(folder))
        assert _differences(tl, _ours(values)) == {}
        return
    tl = lfp.get_pretrained_model_config(str(folder))
    assert _differences(tl, _ours(values)) == {}


@pytest.mark.parametrize(
    "fixture",
    [f for f in FIXTURES if _arch(_data(f)) not in {"QWenLMHeadModel", "GPT2LMHeadCustomModel"}],
    ids=_name,
)
def test_the_file_as_transformers_5_writes_it_converts_the_same(
    fixture: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    name = _name(fixture)
    rewritten = _rewritten(_data(fixture), tmp_path_factory.mktemp("cfg"))
    assert from_hf_config(rewritten, name=name) == from_hf_config(fixture, name=name)


# --- every official model, through its own export -------------------------------------------

# Models TransformerLens 3.9 reads from files on the Hub that neither a fixture nor the
# export can stand in for: the HookedTransformer-format configs of Neel Nanda's models,
# redwood_attn_2l and Othello-GPT, and the speech encoders' configs (to_hf_config writes
# no speech architecture). tests/test_zoo.py checks them against the reference table.
NOT_CONVERTIBLE_OFFLINE = {
    "neel",
    "neel-solu-old",
    "mingpt",
    "HubertModel",
    "Wav2Vec2ForPreTraining",
}


class _NoConfig:
    """AutoConfig for the name-based branches, which must not read any config."""

    def from_pretrained(self, name: str, **kwargs: Any) -> Any:
        raise AssertionError(f"TransformerLens read a config for {name}")


def _official_cases() -> list[Any]:
    names = [
        n
        for n in lfp.OFFICIAL_MODEL_NAMES
        if not (DATA / "hf_configs" / n.replace("/", "__")).is_dir()
    ]
    return [pytest.param(n, id=n) for n in names]


@pytest.mark.parametrize("name", _official_cases())
def test_transformer_lens_39_builds_every_bundled_preset_from_its_export(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # For the models without a fixture, under the official name (so that TransformerLens's
    # rules keyed on names apply): the name-based branches (Llama, Gemma, OLMo, ...) build
    # from TransformerLens's own tables, an independent check of every value; the others
    # build from the preset's own config.json, which checks that 3.9 converts it back to
    # the preset, with the fields 3.9 added and its derivations, and nothing else.
    preset = get_preset(name, init_weights=False)
    arch = preset.original_architecture
    if arch in NOT_CONVERTIBLE_OFFLINE:
        pytest.skip(f"TransformerLens reads {name}'s config from the Hub ({arch})")
    try:
        config = to_hf_config(name)
    except HFExportError:
        # Gemma 1's exact GELU has no config.json spelling; its branch reads no config.
        assert arch in BY_NAME_ONLY, arch
        monkeypatch.setattr(lfp, "AutoConfig", _NoConfig())
    else:
        (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
        auto = FixtureAutoConfig({name: tmp_path}, restore_phi=True)
        monkeypatch.setattr(lfp, "AutoConfig", auto)
    tl = lfp.get_pretrained_model_config(name)
    assert _differences(tl, preset) == {}


def test_only_the_hub_format_models_are_left_out() -> None:
    left_out = {
        n: get_preset(n).original_architecture
        for n in lfp.OFFICIAL_MODEL_NAMES
        if get_preset(n).original_architecture in NOT_CONVERTIBLE_OFFLINE
    }
    assert set(left_out.values()) == NOT_CONVERTIBLE_OFFLINE
    assert not any((DATA / "hf_configs" / n.replace("/", "__")).exists() for n in left_out)
    assert len(lfp.OFFICIAL_MODEL_NAMES) - len(left_out) > 200
