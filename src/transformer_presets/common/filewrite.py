"""Writing a file: whole or not at all, never through a link, never over a device.

Every file the library writes goes through here: ``schema --output``,
``export-hf``'s ``config.json``, ``save_user_preset`` (``import-hf --save``),
``size --plot`` and the cache's manifest. The rules, once:

- A regular file (or nothing) at the target is replaced through a temporary
  file in the same folder, renamed into place once complete, so a reader, a
  full disk or a Ctrl-C never leaves half a file. The temporary file has a
  random name and is created exclusively, without following links (a link
  planted at a predictable name would redirect the write), and is removed on
  every failure, KeyboardInterrupt included.
- ``replace=False`` creates the target exclusively: the complete temporary
  file is hard-linked to the target's name, which fails if anything got there
  first, so of several processes writing one new file exactly one succeeds
  and none overwrites another.
- A FIFO, a character device (``/dev/null``, a terminal) or a descriptor
  (``/dev/stdout``, ``/dev/fd/N``, a shell's ``>(...)``) is written into, as a
  shell redirection would, never replaced by a regular file. Block devices,
  sockets and folders are refused.
- A link at the target, other than a descriptor's, is replaced itself (the
  file it points at is left alone) when it points at a regular file or at
  nothing; when it points at a FIFO or a device, that is written into.

Errors are :class:`PresetError`\\ s naming the target (never the temporary
file), but for ``replace=False`` finding something there, which is a
:class:`FileExistsError` for the caller to phrase.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time

from ..errors import PresetError
from .fileio import kind_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

__all__ = ["FIFO_WAIT_SECONDS", "replace_file", "write_file"]

#: How long a write into a FIFO waits for a process to open it for reading.
FIFO_WAIT_SECONDS = 10.0

# The folders whose entries are a process's open descriptors: /dev/stdout links to
# /proc/self/fd/1, /dev/fd to /proc/self/fd (macOS has a real /dev/fd).
_DESCRIPTORS = re.compile(r"/proc/(self|thread-self|\d+)(/task/\d+)?/fd|/dev/fd")
_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


def write_file(
    path: str, data: bytes | Callable[[BinaryIO], object], *, replace: bool = True
) -> None:
    """Write ``data`` (bytes, or a function that writes to a binary file) to ``path``.

    ``replace=False``: refuse, with :class:`FileExistsError`, if anything is at
    ``path`` (a file, a link, even one to nowhere, a FIFO), also when another
    process creates it while this one writes.

    >>> import tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> write_file(target, b"one\\n", replace=False)
    >>> write_file(target, lambda f: f.write(b"two\\n"))
    >>> open(target).read(), os.listdir(os.path.dirname(target))
    ('two\\n', ['out.txt'])
    """
    write = _writer(data)
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a path through a file, one too long, a folder we cannot read
        raise _error(path, exc) from None
    except ValueError as exc:  # a NUL character
        raise PresetError(f"not a usable path: {exc}", file=path) from None
    if st is not None and not replace:
        raise FileExistsError(errno.EEXIST, "exists", path)
    if st is None or stat.S_ISREG(st.st_mode):
        _through_temp(path, write, 0o666, keep=st, exclusive=not replace)
        return
    if stat.S_ISLNK(st.st_mode):
        number = _descriptor(path)
        if number is not None:
            _into_descriptor(path, number, _rendered(write))
            return
        try:
            target: os.stat_result | None = os.stat(path)
        except OSError:  # a link to nowhere (or a loop of links)
            target = None
        if target is None or stat.S_ISREG(target.st_mode):
            # The link itself is replaced; the file it points at is left alone.
            _through_temp(path, write, 0o666, keep=None, exclusive=False)
            return
        st = target
    _into_special(path, st, write)


def replace_file(path: str, data: bytes, *, mode: int = 0o666) -> None:
    """Replace whatever is at ``path`` with a new regular file holding ``data``, atomically.

    For files the library owns (the cache): a FIFO or a link found there is
    damage, replaced like anything else. ``mode`` is the new file's (before
    the umask). Raises ``OSError`` naming ``path``.
    """
    _through_temp(path, _writer(data), mode, keep=None, exclusive=False, raw_errors=True)


def _writer(data: bytes | Callable[[BinaryIO], object]) -> Callable[[BinaryIO], object]:
    if isinstance(data, bytes):
        return lambda f: f.write(data)
    return data


def _error(path: str, exc: OSError) -> PresetError:
    return PresetError(f"cannot write: {exc.strerror or exc}", file=path)


def _temp_beside(path: str, mode: int) -> tuple[int, str]:
    """A new file of a random name in ``path``'s folder, hidden, open for writing."""
    folder, name = os.path.split(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | _FLAGS
    for _ in range(100):
        # Hidden and not *.toml, so a preset folder never reads it; the name is cut so
        # that a long one cannot make the temporary name too long.
        tmp = os.path.join(folder, f".{name[:32]}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise PresetError("no free temporary name beside it", file=path)  # pragma: no cover


def _through_temp(
    path: str,
    write: Callable[[BinaryIO], object],
    mode: int,
    *,
    keep: os.stat_result | None,
    exclusive: bool,
    raw_errors: bool = False,
) -> None:
    tmp = None
    try:
        fd, tmp = _temp_beside(path, mode)
        with open(fd, "wb") as f:
            if keep is not None:
                _keep_owner_and_mode(f.fileno(), keep)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            _link_exclusively(tmp, path)
        else:
            os.replace(tmp, path)
            tmp = None
    except OSError as exc:
        if exclusive and isinstance(exc, FileExistsError) and exc.filename == path:
            raise
        if raw_errors:
            raise OSError(exc.errno, exc.strerror, path) from None
        raise _error(path, exc) from None
    finally:
        # On every way out, a Ctrl-C in the middle included; after a rename there is none.
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _link_exclusively(tmp: str, path: str) -> None:
    """Give the complete file ``tmp`` the name ``path`` too, unless something has that name."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "exists", path) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # A file system without hard links (FAT, some network ones): create the name
        # exclusively and copy, removing it if the copy fails.
        _copy_exclusively(tmp, path)


def _copy_exclusively(tmp: str, path: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | _FLAGS
    try:
        fd = os.open(path, flags, 0o666)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "exists", path) from None
    try:
        with open(fd, "wb") as out, open(tmp, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise


def _keep_owner_and_mode(fd: int, old: os.stat_result) -> None:
    # A replaced file keeps its permissions (a private config.json stays private) and,
    # where this user may give it (root), its owner.
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777)
    if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(fd, old.st_uid, old.st_gid)
        except OSError:
            pass


def _rendered(write: Callable[[BinaryIO], object]) -> bytes:
    """What ``write`` writes, in memory: a pipe or a device gets all of it, or nothing,
    and does not wait while it is made (nor can it seek, as some image writers do)."""
    import io

    buffer = io.BytesIO()
    write(buffer)
    return buffer.getvalue()


def _descriptor(path: str) -> int | None:
    """The descriptor number when the link ``path`` leads to ``/proc/self/fd/N``.

    -1 for another process's descriptor, None when it is no descriptor's link.
    """
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own bound on links followed
        folder = os.path.realpath(os.path.dirname(current))
        match = _DESCRIPTORS.fullmatch(folder)
        if match is not None:
            name = os.path.basename(current)
            own = folder == "/dev/fd" or match.group(1) in ("self", "thread-self", str(os.getpid()))
            return int(name) if own and name.isdigit() else -1
        try:
            link = os.readlink(current)
        except OSError:
            return None
        current = os.path.join(folder, link)
    return None


def _into_descriptor(path: str, number: int, payload: bytes) -> None:
    # Written to the descriptor itself, not a new opening of what it points at: standard
    # output redirected with >> keeps appending, and a socket or a pipe works as well.
    if number < 0:
        raise PresetError("is another process's descriptor; name the file it points at", file=path)
    try:
        fd = os.dup(number)
    except OSError as exc:
        raise _error(path, exc) from None
    _write_all(path, fd, payload)


def _into_special(path: str, st: os.stat_result, write: Callable[[BinaryIO], object]) -> None:
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise PresetError("is a folder, not a file", file=path)
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        raise PresetError(
            f"is {kind_of(mode)}; only a regular file, a FIFO or a character device is written to",
            file=path,
        )
    payload = _rendered(write)  # first: a FIFO's reader is not kept waiting while it is made
    _write_all(path, _open_special(path, fifo=stat.S_ISFIFO(mode)), payload)


def _open_special(path: str, *, fifo: bool) -> int:
    """Open a FIFO or a device for writing; a FIFO no one reads is an error after a wait."""
    deadline = time.monotonic() + FIFO_WAIT_SECONDS
    while True:
        try:
            # Not blocking: opening a FIFO for writing would wait for a reader for ever.
            fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | _FLAGS)
        except OSError as exc:
            if exc.errno == errno.ENXIO and fifo and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            if exc.errno == errno.ENXIO and fifo:
                raise PresetError(
                    f"is a FIFO (named pipe) that no process opened for reading "
                    f"in {FIFO_WAIT_SECONDS:g} s",
                    file=path,
                ) from None
            raise _error(path, exc) from None
        try:
            st = os.fstat(fd)
            if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
                # Swapped since it was looked at: write nothing rather than the wrong thing.
                now = "a regular file" if stat.S_ISREG(st.st_mode) else kind_of(st.st_mode)
                raise PresetError(f"became {now} while it was opened", file=path)
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd


def _write_all(path: str, fd: int, payload: bytes) -> None:
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        # A full device (/dev/full), a reader that went away (a broken pipe), ...
        raise _error(path, exc) from None
    finally:
        os.close(fd)
