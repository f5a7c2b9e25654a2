"""The library functions behind ``validate`` and ``import-hf --save``, without the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from transformer_presets import (
    PresetError,
    PresetRegistry,
    resolve_preset,
    save_user_preset,
    validate_files,
)
from transformer_presets.registry.user_presets import file_name_for

# -- validate_files ------------------------------------------------------------------------


def test_a_valid_file_has_its_presets_and_no_errors(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('[a]\nextends = "gpt2"\n[b]\nextends = "a"\nn_layers = 2\n')
    [report] = validate_files([path])
    assert (report.path, report.presets, report.errors, report.valid) == (
        str(path),
        ("a", "b"),
        (),
        True,
    )


def test_every_error_of_every_preset_in_line_order(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[a]\nextends = "gpt2"\nn_layers = "two"\nd_modle = 3\n'
        '[b]\nextends = "nothing"\n'
        '[c]\nextends = "gpt2"\nn_key_value_heads = 5\n'
    )
    [report] = validate_files([path])
    assert [(e.preset, e.key, e.line) for e in report.errors] == [
        ("a", "n_layers", 3),
        ("a", "d_modle", 4),
        ("b", "extends", 6),
        ("c", "n_key_value_heads", 9),
    ]
    assert not report.valid


def test_files_are_checked_together_then_each_alone_when_they_clash(tmp_path: Path) -> None:
    base, child = tmp_path / "base.toml", tmp_path / "child.toml"
    base.write_text('[b]\nextends = "gpt2"\n')
    child.write_text('[c]\nextends = "b"\n')
    assert all(r.valid for r in validate_files([base, child]))  # one extends the other
    clash = tmp_path / "clash.toml"
    clash.write_text('[b]\nextends = "gpt2"\n')
    reports = {Path(r.path).name: r for r in validate_files([base, clash])}
    assert "defined twice" in str(reports["clash.toml"].errors[0])


def test_a_syntax_error_stops_only_its_file(tmp_path: Path) -> None:
    good, broken = tmp_path / "good.toml", tmp_path / "broken.toml"
    good.write_text('[g]\nextends = "gpt2"\n')
    broken.write_text("[x\n")
    reports = {Path(r.path).name: r for r in validate_files([good, broken])}
    assert reports["good.toml"].valid
    [error] = reports["broken.toml"].errors
    assert (error.file, error.line) == (str(broken), 1)


def test_missing_paths_and_folders_without_presets_are_errors_without_a_line(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    reports = validate_files([tmp_path / "nope.toml", empty])
    assert [(r.path, str(r.errors[0].reason), r.errors[0].line) for r in reports] == [
        (str(tmp_path / "nope.toml"), "no such file or folder", None),
        (str(empty), "is a folder with no preset file (*.toml) in it", None),
    ]


def test_preset_paths_are_below_the_files(tmp_path: Path) -> None:
    lib = tmp_path / "lib.toml"
    lib.write_text('[lib-base]\nextends = "gpt2"\n')
    child = tmp_path / "child.toml"
    child.write_text('[c]\nextends = "lib-base"\n')
    assert not validate_files([child])[0].valid
    assert validate_files([child], preset_paths=[lib])[0].valid


# -- save_user_preset ------------------------------------------------------------------------


def test_save_writes_a_file_every_lookup_finds(user_presets: Path) -> None:
    path = save_user_preset("me/tiny", {"extends": "gpt2", "n_layers": 2}, comments=["hello"])
    assert path == user_presets / "me__tiny.toml"
    assert path.read_text().startswith("# hello\n")
    assert resolve_preset("me/tiny")["n_layers"] == 2
    assert [p.name for p in user_presets.iterdir()] == ["me__tiny.toml"]  # nothing left over


def test_save_refuses_to_overwrite_unless_forced(user_presets: Path) -> None:
    save_user_preset("me/x", {"extends": "gpt2"})
    with pytest.raises(PresetError, match="force") as info:
        save_user_preset("me/x", {"extends": "gpt2", "n_layers": 3})
    assert info.value.file == str(user_presets / "me__x.toml")
    save_user_preset("me/x", {"extends": "gpt2", "n_layers": 3}, force=True)
    assert resolve_preset("me/x")["n_layers"] == 3


def test_save_refuses_a_second_definition_of_a_name(user_presets: Path) -> None:
    (user_presets / "other.toml").write_text('["taken"]\nextends = "gpt2"\n')
    with pytest.raises(PresetError, match="already exists in"):
        save_user_preset("taken", {"extends": "gpt2"})
    assert not (user_presets / file_name_for("taken")).exists()


@pytest.mark.parametrize("name", ["", " padded", "new\nline", "esc\x1b"])
def test_save_refuses_a_name_no_preset_can_have(user_presets: Path, name: str) -> None:
    with pytest.raises(PresetError, match="invalid preset name"):
        save_user_preset(name, {"extends": "gpt2"})
    assert not any(user_presets.iterdir())


def test_save_never_writes_a_file_that_would_not_load(user_presets: Path) -> None:
    with pytest.raises(PresetError) as info:
        save_user_preset("me/bad", {"extends": "gpt2", "n_layers": "two"})
    assert info.value.key == "n_layers"
    assert not any(user_presets.iterdir())
    assert PresetRegistry().resolve("gpt2")["n_layers"] == 12


@pytest.mark.parametrize("name", ["../../etc/passwd", "...", "a/b\\c", "/abs", "é x"])
def test_file_names_stay_one_visible_file_in_the_folder(name: str) -> None:
    file = file_name_for(name)
    assert "/" not in file and "\\" not in file and not file.startswith(".")
    assert file.endswith(".toml") and file.isascii()
