"""Where preset files come from, in order of precedence, and how to find them."""

from __future__ import annotations

import os
from stat import S_ISDIR

from . import _env
from ._dirs import user_config_dir
from .errors import PresetError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "Source",
    "bundled_dir",
    "default_sources",
    "is_racy",
    "list_files",
    "signature",
    "source_signatures",
    "user_preset_dir",
]


# Levels, highest precedence first.
LEVEL_PATHS, LEVEL_ENV, LEVEL_USER, LEVEL_BUNDLED = 0, 1, 2, 3
KIND_BY_LEVEL = {
    LEVEL_PATHS: "path",
    LEVEL_ENV: "env",
    LEVEL_USER: "user",
    LEVEL_BUNDLED: "bundled",
}


class Source:
    """A preset file or folder at one level of precedence.

    ``required`` sources must exist (a typo in ``TRANSFORMER_PRESETS_PATH``
    should be an error, not silently fewer presets); the user folder need not.
    ``path`` is kept as a string: every lookup scans the sources, and
    ``pathlib`` would cost a command-line start-up more than the scan.

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

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Source):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

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
    # The one place the bundled folder is decided (tests point it elsewhere).
    here = os.path.dirname(os.path.realpath(__file__))
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
    sources.append(Source(LEVEL_BUNDLED, _bundled_folder(), required=False))
    return sources


def list_files(source: Source) -> list[Path]:
    """The preset files of ``source``: itself, or the ``*.toml`` files under it.

    Folders are searched recursively, in sorted order; hidden files and
    folders (editor back-ups, ``.git``) are skipped.
    """
    from pathlib import Path

    return [Path(p) for p in _file_names(source)]


def _file_names(source: Source) -> list[str]:
    # Plain strings, not Path objects: the signature of every source is taken
    # before every lookup, and with a thousand files the objects cost more
    # than the stat calls.
    path = source.path
    try:
        mode = _stat(path).st_mode
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
        where = f"{_env.PRESET_PATH} entry" if source.level == LEVEL_ENV else "preset path"
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
            st = _stat(folder)
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


# Every stat of a preset file goes through this name, so that tests can play
# a filesystem with coarse timestamps or an edit that stat cannot see.
_stat = os.stat

# Timestamps this close to "now" cannot prove a file unchanged: an edit that
# keeps the size and lands in the same timestamp tick looks identical (git's
# "racy clean" problem). Such files are compared by content instead. Two
# seconds covers the coarsest common filesystem (FAT) as well as ext4's
# clock-tick granularity.
RACY_SECONDS = 2.0


def _content_digest(path: str) -> str:
    from ._fileio import MAX_PRESET_FILE_BYTES, read_regular
    from ._plain import blake2b

    # Never blocks on a FIFO nor reads /dev/zero: such files get no digest
    # (and fail with a clear error when the catalog reads them).
    return blake2b(read_regular(path, MAX_PRESET_FILE_BYTES), digest_size=16).hexdigest()


def signature(
    sources: list[Source], *, checked_at: float | None = None
) -> tuple[tuple[object, ...], ...]:
    """A value that changes whenever the preset files of ``sources`` change.

    It covers the set of files (added, removed, renamed), each file's size,
    modification and status-change times, device and inode (an editor's
    save-by-rename makes a new inode), and the content hash of any file whose
    timestamps are too close to ``checked_at`` (default: now) to be trusted.
    Two signatures taken with the same ``checked_at`` are equal only if no
    file changed in between, whatever the timestamp granularity.

    >>> signature([]) == signature([])
    True
    """
    return tuple(
        part for parts in source_signatures(sources, checked_at=checked_at) for part in parts
    )


def source_signatures(
    sources: list[Source], *, checked_at: float | None = None
) -> list[tuple[tuple[object, ...], ...]]:
    """:func:`signature`, one per source, so that a caller can keep the parts it watches."""
    import time

    if checked_at is None:
        checked_at = time.time()
    # Nanoseconds, so that comparing with the st_*_ns fields loses nothing.
    racy_after = int((checked_at - RACY_SECONDS) * 1e9)
    return [_one_signature(source, racy_after) for source in sources]


def is_racy(sig: tuple[tuple[object, ...], ...]) -> bool:
    """Whether a signature had to hash a file: its timestamps could not be trusted."""
    return any(len(part) == 7 and part[-1] is not None for part in sig)


def _one_signature(source: Source, racy_after: int) -> tuple[tuple[object, ...], ...]:
    parts: list[tuple[object, ...]] = []
    try:
        files = _file_names(source)
    except PresetError as exc:
        return (("missing", source.path, exc.reason),)
    if not files:
        return (("empty", source.path),)
    for path in files:
        try:
            st = _stat(path)
        except OSError:
            parts.append(("gone", path))
            continue
        digest = None
        # ctime too: it cannot be set back by hand (touch -d, cp -p), and a
        # timestamp in the future (clock skew) is as untrustworthy as a fresh one.
        if max(st.st_mtime_ns, st.st_ctime_ns) >= racy_after:
            try:
                digest = _content_digest(path)
            except OSError:
                digest = "unreadable"
        parts.append(
            (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_dev, st.st_ino, digest)
        )
    return tuple(parts)
