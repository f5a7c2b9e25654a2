"""``transformer-presets schema`` and ``export-hf``, run as a user runs them (subprocesses,
temporary user folders from conftest), compared with the library's own answers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from transformer_presets.fields.schema import schema_text
from transformer_presets.hf.exporting import to_hf_config

from .test_cli import _imported, fails, ok, ok_json, run


@pytest.mark.parametrize("command", ["schema", "export-hf"])
def test_help_shows_the_json_shape(command: str) -> None:
    out = ok(command, "--help")
    assert out.startswith("usage:") and "--json" in out
    assert f"{command} --" in out  # the shape's first line names the command
    assert command in ok("--help")


# -- schema ------------------------------------------------------------------------------


def test_schema_prints_the_shipped_schema() -> None:
    assert ok("schema") == schema_text()
    assert ok("schema", "--json") == schema_text()  # JSON already


def test_schema_output_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "preset.schema.json"
    assert ok("schema", "--output", str(target)) == f"wrote {target}\n"
    assert target.read_text(encoding="utf-8") == schema_text()
    target.write_text("old")
    assert ok_json("schema", "-o", str(target)) == {"output": str(target)}
    assert target.read_text(encoding="utf-8") == schema_text()


# -- export-hf ---------------------------------------------------------------------------


def test_export_writes_config_json(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "gpt2"  # created, parents too
    out = ok("export-hf", "gpt2-small", str(folder))
    target = folder / "config.json"
    assert out == f"wrote {target} (GPT2LMHeadModel)\n"
    assert json.loads(target.read_text(encoding="utf-8")) == to_hf_config("gpt2")


def test_export_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    target.write_text("{}")
    proc = fails("export-hf", "pythia-70m", str(tmp_path))
    assert f"{target}: exists; pass --force to overwrite it" in proc.stderr
    assert target.read_text() == "{}"
    data = ok_json("export-hf", "pythia-70m", str(tmp_path), "--force")
    assert data == {
        "name": "EleutherAI/pythia-70m",
        "architecture": "GPTNeoXForCausalLM",
        "path": str(target),
        "config": to_hf_config("pythia-70m"),
        "tokenizer": None,
    }
    assert json.loads(target.read_text()) == data["config"]


def test_export_to_stdout(tmp_path: Path) -> None:
    assert json.loads(ok("export-hf", "t5-small", "-")) == to_hf_config("t5-small")
    data = ok_json("export-hf", "t5-small", "-")
    assert data["path"] is None and data["config"] == to_hf_config("t5-small")


def test_an_inexpressible_preset_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "gemma"
    proc = fails("export-hf", "gemma-2b", str(folder))
    assert proc.stderr.startswith(
        "transformer-presets: error: preset 'google/gemma-2b', key 'act_fn'"
    )
    assert proc.stdout == ""
    assert not folder.exists()


def test_export_errors_name_what_is_wrong(tmp_path: Path) -> None:
    proc = fails("export-hf", "gtp2", str(tmp_path))
    assert "did you mean 'gpt2'" in proc.stderr
    (tmp_path / "file").write_text("")
    proc = fails("export-hf", "gpt2", str(tmp_path / "file"))
    assert f"{tmp_path / 'file'}: exists and is not a folder" in proc.stderr
    proc = fails("export-hf", "attn-only-1l", str(tmp_path))
    assert "key 'original_architecture'" in proc.stderr


def test_export_a_user_preset_with_a_chosen_architecture(tmp_path: Path) -> None:
    presets = tmp_path / "mine.toml"
    presets.write_text(
        '["me/tiny"]\nn_layers = 2\nd_model = 64\nn_ctx = 32\nd_head = 16\n'
        'd_vocab = 100\nact_fn = "silu"\ngated_mlp = true\nnormalization_type = "RMS"\n'
        'positional_embedding_type = "rotary"\n'
    )
    out = ok(
        "export-hf",
        "me/tiny",
        "-",
        "--preset-path",
        str(presets),
        "--architecture",
        "LlamaForCausalLM",
    )
    config = json.loads(out)
    assert (config["model_type"], config["hidden_size"], config["num_key_value_heads"]) == (
        "llama",
        64,
        4,
    )
    proc = fails("export-hf", "me/tiny", "-", "--preset-path", str(presets))
    assert "preset 'me/tiny', key 'original_architecture'" in proc.stderr


@pytest.mark.parametrize("command", ["schema", "export-hf"])
def test_neither_command_imports_torch_or_numpy(command: str, tmp_path: Path) -> None:
    args = ["schema", "-o", str(tmp_path / "s.json")]
    if command == "export-hf":
        args = ["export-hf", "google/gemma-3-4b-pt", str(tmp_path), "--tokenizer"]
    proc = run(*args, python_flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr
    imported = _imported(proc)
    assert "transformer_presets.cli._bridges" in imported
    assert sorted(m for m in imported if m.split(".")[0] in ("torch", "numpy")) == []


# -- export-hf --tokenizer ---------------------------------------------------------------


def test_export_with_a_tokenizer_writes_the_stand_in(tmp_path: Path) -> None:
    from transformer_presets.hf.model_folder import stand_in_tokenizer

    out = ok("export-hf", "gpt2", str(tmp_path), "--tokenizer")
    assert out.splitlines() == [
        f"wrote {tmp_path / 'config.json'} (GPT2LMHeadModel)",
        "wrote the stand-in tokenizer (no tokenizer of gpt2 in the Hugging Face cache): "
        "tokenizer.json, tokenizer_config.json, TOKENIZER-STAND-IN.txt",
    ]
    for name, text in stand_in_tokenizer(50257, 1024).items():
        assert (tmp_path / name).read_text(encoding="utf-8") == text
    data = ok_json("export-hf", "gpt2", str(tmp_path), "--tokenizer", "--force")
    assert data["tokenizer"] == {
        "source": "stand-in",
        "about": "the stand-in tokenizer (no tokenizer of gpt2 in the Hugging Face cache)",
        "files": [str(tmp_path / n) for n in stand_in_tokenizer(2, 1)],
    }


def test_export_with_a_tokenizer_copies_the_models_own_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "hub" / "models--EleutherAI--pythia-70m" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "tokenizer.json").write_text('{"the": "real one"}')
    (snapshot / "special_tokens_map.json").write_text("{}")
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    folder = tmp_path / "out"
    data = ok_json("export-hf", "pythia-70m", str(folder), "--tokenizer")
    assert data["tokenizer"]["source"] == "cache"
    assert data["tokenizer"]["about"] == (
        "the tokenizer of EleutherAI/pythia-70m from the Hugging Face cache"
    )
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "special_tokens_map.json",
        "tokenizer.json",
    ]
    assert (folder / "tokenizer.json").read_text() == '{"the": "real one"}'


def test_export_with_a_tokenizer_needs_a_folder_and_force_to_overwrite(tmp_path: Path) -> None:
    proc = fails("export-hf", "gpt2", "-", "--tokenizer", code=2)
    assert "--tokenizer writes files: give a folder, not -" in proc.stderr
    (tmp_path / "tokenizer.json").write_text("mine")
    proc = fails("export-hf", "gpt2", str(tmp_path), "--tokenizer")
    assert f"{tmp_path / 'tokenizer.json'}: exists; pass --force to overwrite it" in proc.stderr
    # Nothing was written: not even config.json.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer.json"]
    (tmp_path / "tokenizer_config.json").mkdir()
    proc = fails("export-hf", "gpt2", str(tmp_path), "--tokenizer", "--force")
    assert f"{tmp_path / 'tokenizer_config.json'}: is a folder, not a file" in proc.stderr
    assert (tmp_path / "tokenizer.json").read_text() == "mine"


# -- where the file goes: links, folders, empty and unwritable paths ---------------------


def test_export_refuses_to_replace_a_link_without_force(tmp_path: Path) -> None:
    # A link to nowhere is still a config.json the user put there.
    (tmp_path / "config.json").symlink_to(tmp_path / "elsewhere.json")
    proc = fails("export-hf", "gpt2", str(tmp_path))
    assert f"{tmp_path / 'config.json'}: exists; pass --force to overwrite it" in proc.stderr
    assert (tmp_path / "config.json").is_symlink()
    ok("export-hf", "gpt2", str(tmp_path), "--force")
    # --force replaces the link itself, never the file it points at.
    assert not (tmp_path / "config.json").is_symlink()
    assert not (tmp_path / "elsewhere.json").exists()
    assert json.loads((tmp_path / "config.json").read_text()) == to_hf_config("gpt2")


@pytest.mark.parametrize("force", [(), ("--force",)], ids=["plain", "force"])
def test_a_folder_named_config_json_is_never_replaced(tmp_path: Path, force: tuple[str]) -> None:
    (tmp_path / "config.json").mkdir()
    proc = fails("export-hf", "gpt2", str(tmp_path), *force)
    assert f"{tmp_path / 'config.json'}: is a folder, not a file" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_schema_output_to_a_folder_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    proc = fails("schema", "--output", str(folder))
    assert f"{folder}: is a folder, not a file" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("schema", "--output", ""), "--output: an empty path names no file"),
        (("export-hf", "gpt2", ""), "DIR: an empty path names no folder"),
    ],
    ids=["schema", "export-hf"],
)
def test_an_empty_path_is_a_usage_error(args: tuple[str, ...], message: str) -> None:
    proc = fails(*args, code=2)
    assert message in proc.stderr and proc.stdout == ""


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    # root writes anywhere it may chmod; /proc/self takes no new files from anyone.
    if Path("/proc/self").is_dir():
        return Path("/proc/self")
    pytest.skip("no folder this user cannot write to")  # pragma: no cover


@pytest.mark.parametrize("command", ["schema", "export-hf"])
def test_an_unwritable_folder_is_an_error_naming_the_file(command: str, tmp_path: Path) -> None:
    folder = _unwritable_folder(tmp_path)
    if command == "schema":
        target = folder / "preset.schema.json"
        proc = fails("schema", "--output", str(target))
    else:
        target = folder / "config.json"
        proc = fails("export-hf", "gpt2", str(folder))
    # The file the user asked for, not the temporary file it is written through.
    assert proc.stderr.startswith(f"transformer-presets: error: {target}: "), proc.stderr
    assert ".tmp" not in proc.stderr
    assert not target.exists()
