"""Atomic writes: readable by others as a plain open() would make them, unchanged bytes left
alone."""

from __future__ import annotations

import os
from pathlib import Path

from koryu_pipeline.warehouse.parquet import write_atomic


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_files_get_the_mode_open_would_give(tmp_path: Path) -> None:
    path = tmp_path / "t" / "part-0.parquet"
    assert write_atomic(path, b"one")
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # not mkstemp's private 0600
    # a private file an earlier version left is opened up without rewriting its bytes
    path.chmod(0o600)
    mtime = path.stat().st_mtime_ns
    assert not write_atomic(path, b"one")
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert path.stat().st_mtime_ns == mtime
    assert write_atomic(path, b"two") and path.read_bytes() == b"two"
    assert not list(path.parent.glob("*.tmp"))
