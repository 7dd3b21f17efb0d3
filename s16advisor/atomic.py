"""Writing an output file atomically: a stopped or failed run never leaves a half-written file that looks
complete, and never replaces a good one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any


@contextmanager
def atomic_output(path: str, mode: str = "w", *, prefix: str = ".s16advisor-", **open_args: Any) -> Iterator[IO[Any]]:
    """A file to write ``path``'s new content to: a temporary file in the same folder, synced and renamed over
    ``path`` when the block ends normally, removed when it does not. ``OSError`` propagates."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
