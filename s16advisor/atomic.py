"""Writing an output file atomically: a stopped or failed run never leaves a half-written file that looks
complete, and never replaces a good one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any


@contextmanager
def atomic_output(path: str, mode: str = "w", *, prefix: str = ".s16advisor-", **open_args: Any) -> Iterator[IO[Any]]:
    """A file to write ``path``'s new content to: a temporary file in the same folder, synced and renamed over
    ``path`` when the block ends normally, removed when it does not. ``OSError`` propagates.

    A symbolic link keeps pointing where it did: the file it points to is replaced. A file replaced keeps its
    permissions; a new one gets those the umask allows, as ``open`` would give it. What is not a regular file
    (``/dev/null``, ``/dev/stdout``, a named pipe) cannot be replaced and is written to directly."""
    target = os.path.realpath(path)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(target, mode, **open_args) as f:
            yield f
        return
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=prefix, suffix=".tmp")
    try:
        os.fchmod(fd, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask
