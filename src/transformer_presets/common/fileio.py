"""Reading a file the library did not write: regular files only, and never more than a limit.

A preset folder or a cache folder may hold anything a user (or a mistake) put
there: a FIFO, which blocks the reader until a writer comes, a link to
``/dev/zero``, which never ends, or a file of gigabytes. Every file the
library reads goes through :func:`read_regular`, which opens without
blocking, checks on the open descriptor that it is a regular file, and reads
at most ``limit`` bytes.
"""

from __future__ import annotations

import os
import stat

__all__ = [
    "MAX_PRESET_FILE_BYTES",
    "FileTooLarge",
    "NotPrivate",
    "NotRegularFile",
    "kind_of",
    "read_regular",
]

#: The largest preset file read, in bytes (the biggest bundled file is about 12 KiB).
MAX_PRESET_FILE_BYTES = 1 << 20


class NotRegularFile(OSError):
    """The path is a folder, FIFO, socket or device, not a regular file."""


class FileTooLarge(OSError):
    """The file is larger than the caller allows."""


class NotPrivate(OSError):
    """The file belongs to another user, or others may write to it."""


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words: ``"a FIFO (named pipe)"``.

    >>> kind_of(stat.S_IFIFO)
    'a FIFO (named pipe)'
    """
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: str, limit: int, *, private: bool = False) -> bytes:
    """The bytes of the regular file ``path``, if it holds at most ``limit`` of them.

    ``private``: the file must also belong to this user, and no one else may
    write to it (what ssh asks of its files), checked on the open descriptor.

    Raises :class:`NotRegularFile`, :class:`FileTooLarge` or :class:`NotPrivate`
    (all ``OSError``), or the ``OSError`` of opening or reading the file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        # A socket cannot be opened at all ("No such device or address"): say what it is.
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise error from None
        if stat.S_ISREG(mode):
            raise
        raise NotRegularFile(f"{kind_of(mode)}, not a regular file") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{kind_of(st.st_mode)}, not a regular file")
        if private:
            getuid = getattr(os, "getuid", None)
            if getuid is not None and st.st_uid != getuid():
                raise NotPrivate(f"it belongs to another user (uid {st.st_uid})")
            if getuid is not None and st.st_mode & 0o022:
                raise NotPrivate(f"other users can write to it (mode {stat.S_IMODE(st.st_mode):o})")
        if st.st_size > limit:
            raise FileTooLarge(f"{st.st_size} bytes, more than the limit of {limit}")
        chunks = []
        total = 0
        # The size can change between fstat and read: count what really arrives. Each
        # read asks for what fstat promised and one byte more (os.read allocates what it
        # is asked for: the limit, 64 MiB for a cache file, would be asked every time).
        while True:
            want = min(limit + 1 - total, max(st.st_size + 1 - total, 1 << 16))
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(f"more than the limit of {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)
