"""The environment variables the library reads, named once.

Every module that reads one takes its name from here, and ``paths`` shows
them all (``SHOWN``).
"""

from __future__ import annotations

__all__ = [
    "BUNDLED_DIR",
    "CACHE_DIR",
    "HF_HOME",
    "HOME",
    "NO_CACHE",
    "NO_COLOR",
    "PRESET_PATH",
    "REGISTRY_INPUTS",
    "SHOWN",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
]

#: Extra preset files or folders, separated by ``os.pathsep``, above the user folder.
PRESET_PATH = "TRANSFORMER_PRESETS_PATH"
#: Moves the cache folder.
CACHE_DIR = "TRANSFORMER_PRESETS_CACHE_DIR"
#: Set to anything but ``0``/``false``/``no``/``off`` to turn the cache off.
NO_CACHE = "TRANSFORMER_PRESETS_NO_CACHE"
#: Points the bundled presets at another folder: a seam for tests and for trying an
#: edited zoo without reinstalling. Not for everyday use.
BUNDLED_DIR = "TRANSFORMER_PRESETS_BUNDLED_DIR"
#: Move the user preset folder and the cache on Linux (as platformdirs reads them).
XDG_CONFIG_HOME = "XDG_CONFIG_HOME"
XDG_DATA_HOME = "XDG_DATA_HOME"
HOME = "HOME"
#: Where the Hugging Face hub cache lives (``$HF_HOME/hub``).
HF_HOME = "HF_HOME"
#: No colour in the command line's output (no-color.org).
NO_COLOR = "NO_COLOR"

#: What the default registry depends on: it is rebuilt when one of these changes.
REGISTRY_INPUTS = (
    PRESET_PATH,
    CACHE_DIR,
    NO_CACHE,
    BUNDLED_DIR,
    XDG_CONFIG_HOME,
    XDG_DATA_HOME,
    HOME,
)
#: What ``transformer-presets paths`` reports.
SHOWN = (PRESET_PATH, CACHE_DIR, NO_CACHE, BUNDLED_DIR, XDG_CONFIG_HOME, XDG_DATA_HOME, NO_COLOR)
