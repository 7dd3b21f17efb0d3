"""Writing an output file atomically: a stopped or failed run never leaves a half-written file that looks
complete, and never replaces a good one."""

from __future__ import annotations

import errno
import os
import re
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
    (``/dev/null``, a named pipe) cannot be replaced and is written to directly; ``/dev/stdout`` and
    ``/dev/fd/N`` are the streams already open there, whatever they are."""
    fd = open_descriptor(path)
    if fd is not None:  # /dev/stdout (or /dev/fd/N): the stream as the shell opened it (| cat, >> log)
        dup = os.dup(fd)
        try:
            stream = os.fdopen(dup, mode, **open_args)
        except BaseException:
            os.close(dup)
            raise
        with stream as f:
            yield f
        return
    st = _stat(path)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if _in_place(st):
        with open(path, mode, **open_args) as f:
            yield f
        return
    target = os.path.realpath(path)
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


_DESCRIPTORS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def replaced_input(output: str, inputs: list[str]) -> str | None:
    """The input that writing ``output`` would replace (the same file, by another name or a link, or the file
    standard input reads: ``-`` or ``<stdin>``), if any."""
    for path in inputs:
        with suppress(OSError, ValueError):
            if path in ("-", "<stdin>"):
                st, out = os.fstat(0), os.stat(output)
                if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
                    return path
            elif os.path.samefile(path, output):
                return path
    return None


def output_is_stream(path: str) -> bool:
    """Whether ``atomic_output`` writes to ``path`` directly (a stream, a device, a named pipe) rather than
    replacing it when done: a stopped run may have written part of its output there."""
    try:
        return open_descriptor(path) is not None or _in_place(_stat(path))
    except OSError:
        return False


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _in_place(st: os.stat_result | None) -> bool:
    """Whether what is at a path is written to where it is (a device, a named pipe), not replaced."""
    return st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def open_descriptor(path: str) -> int | None:
    """The descriptor a path names (/dev/stdout, /dev/fd/3, /proc/self/fd/3), if it is open: writing to it
    must not reopen (truncate, or replace) what the shell opened there."""
    n = _DESCRIPTORS.get(path)
    for prefix in ("/dev/fd/", "/proc/self/fd/"):
        if path.startswith(prefix) and re.fullmatch(r"[0-9]+", path[len(prefix):]):
            n = int(path[len(prefix):])
    if n is None:
        return None
    try:
        os.fstat(n)
    except OSError:
        return None
    return n


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask
