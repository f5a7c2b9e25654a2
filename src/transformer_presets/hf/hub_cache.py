"""Finding a model's ``config.json`` in the Hugging Face hub cache, offline.

The hub (``huggingface_hub``, and so ``transformers``) keeps each downloaded
model under ``<hub cache>/models--ORG--NAME/``: ``snapshots/<revision>/``
holds the files (links into ``blobs/``), and ``refs/main`` names the revision
that ``main`` pointed to. The hub cache is ``$HF_HUB_CACHE``, else
``$HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``, else
``~/.cache/huggingface/hub``, as ``huggingface_hub`` decides it.

Nothing here goes to the network: a model that is not in the cache is an
error that says where it looked. What the cache holds is read as preset files
are (:func:`read_text`): regular files only, within a limit, never a FIFO
opened for reading, a link's target checked, invalid UTF-8 named as such.
"""

from __future__ import annotations

import os
import re

from ..common import env as _env
from ..common.fileio import FileTooLarge, NotRegularFile, read_regular
from ..errors import PresetError

__all__ = [
    "MAX_REF_BYTES",
    "hub_cache_dir",
    "locate_config",
    "name_from_cache_path",
    "read_text",
    "snapshot_folder",
]

#: The largest ``refs/main`` read: it holds a 40-character revision.
MAX_REF_BYTES = 1024
# Of a long list of snapshots, an error names this many (and the count).
_NAMED = 5

# A repository id as the hub writes it: NAME or ORG/NAME.
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


def hub_cache_dir() -> str:
    """The Hugging Face hub cache folder, as ``huggingface_hub`` finds it.

    >>> hub_cache_dir().endswith("hub")
    True
    """

    def expand(path: str) -> str:
        return os.path.expandvars(os.path.expanduser(path))

    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = os.environ.get(variable)
        if value:
            return expand(value)
    home = os.environ.get(_env.HF_HOME)
    if not home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        home = os.path.join(cache, "huggingface")
    return os.path.join(expand(home), "hub")


def name_from_cache_path(path: str) -> str | None:
    """``ORG/NAME`` when ``path`` is a hub cache folder ``models--ORG--NAME``, one of its
    snapshots, or a snapshot's ``config.json``; else None.

    Only that layout counts: a folder that merely has a ``models--`` folder
    somewhere above it is not a downloaded model.

    >>> name_from_cache_path("/c/hub/models--meta-llama--Llama-2-7b-hf/snapshots/abc/config.json")
    'meta-llama/Llama-2-7b-hf'
    >>> name_from_cache_path("/c/hub/models--gpt2") , name_from_cache_path("/tmp/x")
    ('gpt2', None)
    >>> name_from_cache_path("/c/models--old/mine/config.json") is None
    True
    """
    parts = os.path.abspath(path).split(os.sep)
    if parts[-1] == "config.json":
        parts.pop()
    if len(parts) >= 3 and parts[-2] == "snapshots":
        parts = parts[:-2]
    folder = parts[-1]
    if folder.startswith("models--") and len(folder) > len("models--"):
        # The hub joins ORG and NAME with "--", which a repository name may not hold.
        return "/".join(folder.removeprefix("models--").split("--", 1))
    return None


def locate_config(source: str) -> tuple[str, str | None]:
    """The ``config.json`` that ``source`` names, and the model name its place implies.

    ``source`` is a ``config.json``, a folder holding one, a hub cache folder
    ``models--ORG--NAME`` (the revision ``refs/main`` names, or the only one),
    or a bare ``ORG/NAME`` that is looked up in the hub cache.

    Raises :class:`PresetError` naming what was looked for and where.
    """
    if os.path.isdir(source):
        direct = os.path.join(source, "config.json")
        if os.path.lexists(direct):
            return direct, name_from_cache_path(source)
        if os.path.basename(os.path.normpath(source)).startswith("models--"):
            return _snapshot_config(source), name_from_cache_path(source)
        raise PresetError(
            "holds no config.json (nor is it a hub cache folder models--ORG--NAME)", file=source
        )
    if os.path.lexists(source):
        return source, name_from_cache_path(source)
    if _REPO_ID.fullmatch(source) and not source.endswith(".json"):
        hub = hub_cache_dir()
        folder = os.path.join(hub, "models--" + source.replace("/", "--"))
        if not os.path.isdir(folder):
            # The hub takes a repository's name in any case; its cache folder keeps one.
            folder = _folder_in_any_case(hub, os.path.basename(folder)) or folder
        if os.path.isdir(folder):
            return _snapshot_config(folder), name_from_cache_path(folder)
        raise PresetError(
            f"is neither a file nor a folder, and no model {source!r} is in the Hugging Face "
            f"hub cache (looked for {folder}; this works offline: download the model first)",
            file=source,
        )
    raise PresetError("no such file or folder", file=source)


def read_text(path: str, *, limit: int, what: str) -> str:
    """The text of ``path``, a file of a model folder or the hub cache, read as preset files are.

    A regular file of at most ``limit`` bytes (checked on the open file, which is
    opened without blocking: a FIFO is never waited on), UTF-8 with or without a
    byte-order mark. ``what`` names the kind of file in the errors ("a config.json").
    Raises :class:`PresetError` naming ``path``: what it is instead (a FIFO, a
    device, a link to nowhere and where it points), or why it cannot be read.
    """
    try:
        raw = read_regular(path, limit)
    except NotRegularFile as exc:
        raise PresetError(str(exc), file=path) from None
    except FileTooLarge as exc:
        raise PresetError(f"too large for {what} ({exc})", file=path) from None
    except FileNotFoundError:
        if os.path.islink(path):
            # As the hub cache links a snapshot's files to blobs that may be gone.
            raise PresetError(
                f"a link to {os.readlink(path)}, which does not exist", file=path
            ) from None
        raise PresetError("no such file", file=path) from None
    except OSError as exc:
        raise PresetError(f"cannot read: {exc.strerror or exc}", file=path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PresetError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=path) from None


def _named(revisions: list[str]) -> str:
    """A few of ``revisions``, and how many more: an error line stays short.

    >>> _named(["a", "b"]), _named([str(i) for i in range(5000)])
    ('a, b', '0, 1, 10, 100, 1000 and 4,995 more')
    """
    if not revisions:
        return "none"
    shown = ", ".join(sorted(revisions)[:_NAMED])
    more = len(revisions) - _NAMED
    return shown if more <= 0 else f"{shown} and {more:,} more"


def _snapshot_config(repo: str) -> str:
    revision = _snapshot_revision(repo, "main")
    config = os.path.join(repo, "snapshots", revision, "config.json")
    if not os.path.lexists(config):
        raise PresetError(f"snapshot {revision} holds no config.json", file=repo)
    if not os.path.exists(config):
        # The hub links each snapshot file to a blob; an interrupted download or a
        # cleaned-up blob leaves the link dangling.
        raise PresetError(
            f"the config.json of snapshot {revision} is a link to {os.readlink(config)}, "
            "which does not exist (download the model again)",
            file=repo,
        )
    return config


def _snapshot_revision(repo: str, ref: str) -> str:
    """The snapshot of the hub cache folder ``repo`` that ``refs/<ref>`` names (a branch,
    a tag or a commit; for ``main`` without a ref, the only snapshot)."""
    snapshots = os.path.join(repo, "snapshots")
    try:
        revisions = sorted(os.listdir(snapshots))
    except FileNotFoundError:
        revisions = []
    except OSError as exc:  # a file, a FIFO or an unreadable folder where snapshots belong
        raise PresetError(
            f"cannot list the snapshots: {exc.strerror or exc}", file=snapshots
        ) from None
    if ref in revisions and ref != "main":
        return ref  # a commit hash, given directly
    refs = os.path.join(repo, "refs")
    ref_file = os.path.join(refs, *ref.split("/"))
    named = ""
    # No ref is no ref; one that is there (or a refs that is no folder) is read, or named.
    if os.path.lexists(ref_file) or (os.path.lexists(refs) and not os.path.isdir(refs)):
        named = read_text(ref_file, limit=MAX_REF_BYTES, what="a ref").strip()
    if named:
        if named not in revisions:
            shown = repr(named) if len(named) <= 64 else repr(named[:61]) + "..."
            raise PresetError(
                f"refs/{ref} names revision {shown}, which is not among its snapshots "
                f"({_named(revisions)})",
                file=repo,
            )
        return named
    if ref != "main":
        raise PresetError(
            f"has no revision {ref!r} (no refs/{ref}, no such snapshot; download it first)",
            file=repo,
        )
    if len(revisions) == 1:
        return revisions[0]
    if not revisions:
        raise PresetError("is a hub cache folder with no snapshot in it", file=repo)
    raise PresetError(
        f"has {len(revisions):,} snapshots and no refs/main to choose between them: "
        f"{_named(revisions)}; pass the snapshot folder you mean",
        file=repo,
    )


def snapshot_folder(repo_id: str, revision: str | None = None) -> str | None:
    """The snapshot folder of the model ``repo_id`` (``ORG/NAME``) in the hub cache, or
    None when the cache has no folder for it. Offline.

    ``revision`` is a branch or tag (a file under ``refs/``) or a commit; by default
    what ``refs/main`` names. The repository's name matches in any case, as on the
    Hub. Raises :class:`PresetError` for a cache folder that names a missing snapshot.

    >>> snapshot_folder("no-such-org/no-such-model") is None
    True
    """
    if not _REPO_ID.fullmatch(repo_id):
        return None
    hub = hub_cache_dir()
    wanted = "models--" + repo_id.replace("/", "--")
    folder = os.path.join(hub, wanted)
    if not os.path.isdir(folder):
        found = _folder_in_any_case(hub, wanted)
        if found is None or not os.path.isdir(found):
            return None
        folder = found
    ref = revision or "main"
    if ref in (".", "..") or ref.startswith("/") or ".." in ref.split("/"):
        raise PresetError(f"{ref!r} is not a revision", key="revision")
    return os.path.join(folder, "snapshots", _snapshot_revision(folder, ref))


def _folder_in_any_case(hub: str, wanted: str) -> str | None:
    """The one folder of ``hub`` named ``wanted`` in another case, if there is exactly one."""
    try:
        names = os.listdir(hub)
    except OSError:
        return None
    found = [n for n in names if n.casefold() == wanted.casefold()]
    return os.path.join(hub, found[0]) if len(found) == 1 else None
