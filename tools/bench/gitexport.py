"""Which code is measured: a commit exported with ``git archive`` (``--at REF``), or the checkout."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

__all__ = ["describe_code", "export_commit"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.rstrip("\n")


def export_commit(repo: Path, ref: str, dest: Path) -> str:
    """Write the files of commit ``ref`` of ``repo`` under ``dest``; return its short hash.

    ``dest`` then holds a tree to measure (``src``, ``tools``, ``presets``)
    without the checkout's uncommitted edits.
    """
    commit = _git(repo, "rev-parse", "--short", f"{ref}^{{commit}}")
    archive = dest.with_suffix(".tar")
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", str(repo), "archive", commit], stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return commit


def describe_code(repo: Path, at: str | None, commit: str | None) -> str:
    """Which code was measured: an exported commit, or the working tree of ``repo`` and its edits.

    >>> describe_code(Path("."), "HEAD", "0e138c6")
    '0e138c6 (`--at HEAD`, exported with `git archive`; nothing uncommitted)'
    """
    if at is not None:
        return f"{commit} (`--at {at}`, exported with `git archive`; nothing uncommitted)"
    try:
        head = _git(repo, "rev-parse", "--short", "HEAD")
        dirty = _git(repo, "status", "--porcelain", "--untracked-files=no").splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "? (not a git checkout)"
    if not dirty:
        return f"{head}, clean working tree"
    files = ", ".join(line[3:] for line in dirty)
    return f"{head} plus uncommitted changes to {files}"
