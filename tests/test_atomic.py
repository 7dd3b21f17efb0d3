"""Output files written atomically (review's and check's --output): what is at the path before and after."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from s16advisor.atomic import atomic_output


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".s16advisor-")]


def test_a_new_file_gets_the_permissions_the_umask_allows(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with atomic_output(str(tmp_path / "new.txt")) as f:
            f.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o664])
def test_a_replaced_file_keeps_its_permissions(tmp_path: Path, mode: int) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old")
    out.chmod(mode)
    with atomic_output(str(out)) as f:
        f.write("new")
    assert out.read_text() == "new"
    assert stat.S_IMODE(out.stat().st_mode) == mode


def test_a_symbolic_link_keeps_pointing_at_its_file_which_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "results.jsonl"
    target.write_text("old")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    with atomic_output(str(link)) as f:
        f.write("new")
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "real") == []


def test_a_named_pipe_is_written_to_not_replaced(tmp_path: Path) -> None:
    # As /dev/null or /dev/stdout: replacing one (as root) would put an ordinary file in its place.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic_output(str(fifo)) as f:
        f.write("through the pipe")
    reader.join(timeout=10)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert _leftovers(tmp_path) == []


def test_a_folder_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    started = []
    with pytest.raises(IsADirectoryError):
        with atomic_output(str(tmp_path)):
            started.append(1)
    assert started == [] and _leftovers(tmp_path) == []


def test_a_failure_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(str(out)) as f:
            f.write("half")
            raise RuntimeError("stopped")
    assert out.read_text() == "old" and _leftovers(tmp_path) == []


def test_dev_fd_is_the_stream_already_open_there_not_a_file_to_replace(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()  # as `-o /dev/stdout | cat`
    try:
        with atomic_output(f"/dev/fd/{write_end}") as f:
            f.write("to the pipe")
        os.close(write_end)
        assert os.read(read_end, 100) == b"to the pipe"
    finally:
        os.close(read_end)
    log = tmp_path / "app.log"  # as `-o /dev/stdout >> app.log`: appended to, not truncated or replaced
    log.write_text("old\n")
    with open(log, "a") as shell_opened:
        with atomic_output(f"/proc/self/fd/{shell_opened.fileno()}") as f:
            f.write("new\n")
    assert log.read_text() == "old\nnew\n"
    assert _leftovers(tmp_path) == []


def test_a_descriptor_that_cannot_be_written_leaves_no_descriptor_open(tmp_path: Path) -> None:
    folder = os.open(tmp_path, os.O_RDONLY)
    try:
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(3):
            with pytest.raises(OSError):
                with atomic_output(f"/dev/fd/{folder}") as f:
                    f.write("x")
        assert len(os.listdir("/proc/self/fd")) == before
    finally:
        os.close(folder)


def test_only_ascii_digits_name_a_descriptor() -> None:
    from s16advisor.atomic import open_descriptor

    assert open_descriptor("/dev/fd/1") == 1 and open_descriptor("/proc/self/fd/2") == 2
    assert open_descriptor("/dev/fd/\u00b2") is None and open_descriptor("/dev/fd/\u0661") is None


def test_only_what_is_not_a_regular_file_nor_a_folder_is_written_in_place(tmp_path: Path) -> None:
    from s16advisor.atomic import output_is_stream

    (tmp_path / "file").write_text("x")
    assert [output_is_stream(str(p)) for p in (tmp_path, tmp_path / "file", tmp_path / "new")] == [False] * 3
    assert output_is_stream(os.devnull) and output_is_stream("/dev/stdout")
