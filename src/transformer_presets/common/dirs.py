"""The user's config and data folders for this library, as platformdirs names them.

platformdirs decides where user presets and the cache live. Importing it
costs more than the rest of a warm ``list`` put together (it loads pathlib,
tempfile and random on Linux), so the common Linux case is answered here
from the XDG variables directly, and every other case goes to platformdirs:

* the fast path answers only on Linux (not Android), for an XDG variable or
  ``HOME`` that is an absolute path already in normal form (no ``..``,
  ``.``, ``//`` or trailing ``/``, no surrounding blanks);
* anything else (macOS, Windows, a relative or odd ``XDG_*_HOME``, no
  ``HOME``) is platformdirs' own answer.

``tests/test_dirs.py`` checks the fast path against platformdirs over many
environments, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import os
import sys

from . import env as _env

APP_NAME = "transformer-presets"

# platformdirs' Unix defaults, under the home folder.
_HOME_DEFAULTS = {_env.XDG_CONFIG_HOME: ".config", _env.XDG_DATA_HOME: ".local/share"}


def _plain_absolute(path: str) -> bool:
    """An absolute path that ``pathlib`` and ``os.path.normpath`` would leave as it is."""
    return (
        path.startswith("/")
        and path == path.strip()
        and (path == "/" or os.path.normpath(path) == path)
    )


def _fast(variable: str) -> str | None:
    """The folder from the environment on plain Linux, or None to ask platformdirs."""
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel"):
        return None
    if "ANDROID_DATA" in os.environ or "ANDROID_ROOT" in os.environ:
        return None
    xdg = os.environ.get(variable)
    if xdg:
        return os.path.join(xdg, APP_NAME) if _plain_absolute(xdg) else None
    home = os.environ.get(_env.HOME)
    # expanduser drops a home's trailing slashes ("/" and "//" become ""): not our case.
    if not home or not _plain_absolute(home) or home.endswith("/"):
        return None
    return os.path.join(home, _HOME_DEFAULTS[variable], APP_NAME)


def user_config_dir() -> str:
    """``platformdirs.user_config_path("transformer-presets")``, as a string."""
    fast = _fast(_env.XDG_CONFIG_HOME)
    if fast is not None:
        return fast
    import platformdirs

    return os.fspath(platformdirs.user_config_path(APP_NAME))


def user_data_dir() -> str:
    """``platformdirs.user_data_path("transformer-presets")``, as a string."""
    fast = _fast(_env.XDG_DATA_HOME)
    if fast is not None:
        return fast
    import platformdirs

    return os.fspath(platformdirs.user_data_path(APP_NAME))
