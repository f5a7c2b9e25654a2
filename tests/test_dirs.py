"""The fast XDG lookup agrees with platformdirs, which stays the authority on where files go."""

from __future__ import annotations

import subprocess
import sys

import platformdirs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_presets.common import dirs as _dirs

APP = "transformer-presets"

XDG_VALUES = [
    None,
    "",
    " ",
    "relative/dir",
    "/abs",
    "/abs/",
    "/a//b",
    "/a/./b",
    "/a/../b",
    " /abs",
    "/abs ",
    "/",
    "//two",
    "~/x",
    "/with space/x",
    "/ünïcode",
]
HOME_VALUES = [
    None,
    "",
    "/root",
    "/home/user",
    "/home/user/",
    "/",
    "//",
    "//h",
    "relative",
    "/a/../b",
]


def _set(monkeypatch: pytest.MonkeyPatch, name: str, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, value)


def _expected(kind: str) -> str | None:
    try:
        if kind == "config":
            return str(platformdirs.user_config_path(APP))
        return str(platformdirs.user_data_path(APP))
    except RuntimeError:  # newer platformdirs refuse an unknown home
        return None


def _ours(kind: str) -> str | None:
    try:
        return _dirs.user_config_dir() if kind == "config" else _dirs.user_data_dir()
    except RuntimeError:
        return None


@pytest.mark.parametrize("kind", ["config", "data"])
@pytest.mark.parametrize("home", HOME_VALUES)
@pytest.mark.parametrize("xdg", XDG_VALUES)
def test_same_folder_as_platformdirs(
    monkeypatch: pytest.MonkeyPatch, kind: str, home: str | None, xdg: str | None
) -> None:
    _set(monkeypatch, "XDG_CONFIG_HOME" if kind == "config" else "XDG_DATA_HOME", xdg)
    _set(monkeypatch, "HOME", home)
    assert _ours(kind) == _expected(kind)


@settings(max_examples=1000, deadline=None)
@given(
    xdg=st.one_of(st.none(), st.text(alphabet="/ab.~ \t-", max_size=12)),
    home=st.one_of(st.none(), st.text(alphabet="/ab. ", max_size=10)),
)
def test_same_folder_as_platformdirs_for_any_text(xdg: str | None, home: str | None) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _set(mp, "XDG_CONFIG_HOME", xdg)
        _set(mp, "XDG_DATA_HOME", xdg)
        _set(mp, "HOME", home)
        for kind in ("config", "data"):
            assert _ours(kind) == _expected(kind)


@pytest.mark.skipif(sys.platform != "linux", reason="the fast path is for Linux")
def test_fast_path_answers_the_common_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/x/config")
    monkeypatch.setenv("HOME", "/home/u")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert _dirs._fast("XDG_CONFIG_HOME") == f"/x/config/{APP}"
    assert _dirs._fast("XDG_DATA_HOME") == f"/home/u/.local/share/{APP}"
    # Odd values are left to platformdirs.
    monkeypatch.setenv("XDG_CONFIG_HOME", "/x/config/")
    assert _dirs._fast("XDG_CONFIG_HOME") is None
    monkeypatch.setenv("ANDROID_DATA", "/data")
    assert _dirs._fast("XDG_DATA_HOME") is None


@pytest.mark.skipif(sys.platform != "linux", reason="the fast path is for Linux")
def test_common_case_does_not_import_platformdirs(tmp_path: object) -> None:
    code = (
        "import sys\n"
        "from transformer_presets.common import dirs as _dirs\n"
        "print(_dirs.user_config_dir()); print(_dirs.user_data_dir())\n"
        "print('platformdirs' in sys.modules)\n"
    )
    env = {"HOME": "/home/u", "XDG_CONFIG_HOME": "/c", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [f"/c/{APP}", f"/home/u/.local/share/{APP}", "False"]
