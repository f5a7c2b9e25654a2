"""Where preset files come from, in order of precedence, and which files a source holds."""

from __future__ import annotations

import os
from stat import S_ISDIR

from ..common import env as _env
from ..common.dirs import user_config_dir
from ..common.plain import KeyedValue
from ..errors import PresetArgumentError, PresetError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "KIND_BY_LEVEL",
    "LEVEL_BUNDLED",
    "LEVEL_ENV",
    "LEVEL_PATHS",
    "LEVEL_USER",
    "Source",
    "bundled_dir",
    "default_sources",
    "file_names",
    "list_files",
    "path_arguments",
    "user_preset_dir",
]


def path_arguments(paths: object, what: str = "paths") -> tuple[str, ...]:
    """The paths of an argument that takes a path or an iterable of them.

    One path given on its own is one path, not a sequence of characters;
    anything else is a :class:`PresetArgumentError`.

    >>> path_arguments("x.toml"), path_arguments(["a", "b"])
    (('x.toml',), ('a', 'b'))
    """
    if isinstance(paths, str | os.PathLike):
        paths = (paths,)
    elif isinstance(paths, bytes | bytearray) or not hasattr(paths, "__iter__"):
        raise PresetArgumentError(
            f"{what} must be a path or an iterable of paths, got {type(paths).__name__}"
        )
    out = []
    for path in paths:
        text = os.fspath(path) if isinstance(path, str | os.PathLike) else None
        if not isinstance(text, str):
            raise PresetArgumentError(
                f"each of {what} must be a str or os.PathLike, got {type(path).__name__} "
                f"{path!r:.40}"
            )
        out.append(text)
    return tuple(out)


# Levels, highest precedence first.
LEVEL_PATHS, LEVEL_ENV, LEVEL_USER, LEVEL_BUNDLED = 0, 1, 2, 3
KIND_BY_LEVEL = {
    LEVEL_PATHS: "path",
    LEVEL_ENV: "env",
    LEVEL_USER: "user",
    LEVEL_BUNDLED: "bundled",
}


class Source(KeyedValue):
    """A preset file or folder at one level of precedence.

    ``required`` sources must exist (a typo in ``TRANSFORMER_PRESETS_PATH``
    should be an error, not silently fewer presets); the user folder need not.
    ``path`` is kept as a string (no pathlib on the listing's path: see the
    start-up note in ``cli/__init__.py``).

    >>> Source(LEVEL_USER, "/p").kind
    'user'
    """

    __slots__ = ("level", "path", "required")

    def __init__(self, level: int, path: str | os.PathLike[str], required: bool = True) -> None:
        self.level = level
        self.path: str = os.fspath(path)
        self.required = required

    @property
    def kind(self) -> str:
        """``"path"``, ``"env"``, ``"user"`` or ``"bundled"``."""
        return KIND_BY_LEVEL[self.level]

    def _key(self) -> tuple[int, str, bool]:
        return (self.level, self.path, self.required)

    def __repr__(self) -> str:
        return f"Source(level={self.level}, path={self.path!r}, required={self.required})"


def bundled_dir() -> Path:
    """The folder of bundled preset files.

    In an installed wheel the files sit inside the package; in a checkout
    (or an editable install) they are the repository's top-level ``presets/``.
    """
    from pathlib import Path

    return Path(_bundled_folder())


def _bundled_folder() -> str:
    # The one place the bundled folder is decided; TRANSFORMER_PRESETS_BUNDLED_DIR moves it.
    moved = os.environ.get(_env.BUNDLED_DIR, "").strip()
    if moved:
        return moved
    # This module is transformer_presets/files/sources.py; the package is one folder up.
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    packaged = os.path.join(here, "presets")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(os.path.dirname(here)), "presets")


def user_preset_dir() -> Path:
    """``platformdirs.user_config_path("transformer-presets") / "presets"``."""
    from pathlib import Path

    return Path(_user_preset_folder())


def _user_preset_folder() -> str:
    return os.path.join(user_config_dir(), "presets")


def default_sources(paths: tuple[str | os.PathLike[str], ...] = ()) -> list[Source]:
    """The sources a registry reads: explicit paths, the environment, the user folder, bundled."""
    sources = [Source(LEVEL_PATHS, p) for p in paths]
    env = os.environ.get(_env.PRESET_PATH, "")
    sources += [Source(LEVEL_ENV, p) for p in env.split(os.pathsep) if p.strip()]
    sources.append(Source(LEVEL_USER, _user_preset_folder(), required=False))
    # A moved bundled folder must exist: a typo would otherwise leave no bundled preset.
    moved = bool(os.environ.get(_env.BUNDLED_DIR, "").strip())
    sources.append(Source(LEVEL_BUNDLED, _bundled_folder(), required=moved))
    return sources


def list_files(source: Source) -> list[Path]:
    """The preset files of ``source``: itself, or the ``*.toml`` files under it.

    Folders are searched recursively, in sorted order; hidden files and
    folders (editor back-ups, ``.git``) are skipped.
    """
    from pathlib import Path

    return [Path(p) for p in file_names(source)]


def file_names(source: Source) -> list[str]:
    """:func:`list_files` as plain strings."""
    # Plain strings, not Path objects: the signature of every source is taken
    # before every lookup, and with a thousand files the objects cost more
    # than the stat calls.
    path = source.path
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        mode = 0
    # One stat for both questions.
    if S_ISDIR(mode):
        return _walk(path)
    if mode:
        # A file, or something posing as one (a FIFO, a device): reading it
        # will say what it is, without blocking.
        return [path]
    if source.required:
        where = {LEVEL_ENV: f"{_env.PRESET_PATH} entry", LEVEL_BUNDLED: _env.BUNDLED_DIR}.get(
            source.level, "preset path"
        )
        raise PresetError(f"{where} does not exist", file=path)
    return []


def _walk(top: str) -> list[str]:
    """The ``*.toml`` files under ``top``, sorted, following links to folders.

    Hidden files and folders are skipped. A folder reached twice (a link to
    an ancestor makes a loop) is read once; a folder that cannot be read is
    an error naming it, as an unreadable preset file is.
    """
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                continue  # a loop of links, or two links to one folder
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise PresetError(
                f"cannot read preset folder: {exc.strerror or exc}", file=folder
            ) from None
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(entry.path)
            elif entry.name.endswith(".toml"):
                found.append(entry.path)
        # Depth first, in sorted order, as os.walk would list them.
        pending.extend(reversed(subfolders))
    return found
