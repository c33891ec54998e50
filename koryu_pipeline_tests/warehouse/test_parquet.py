"""Atomic writes: readable by others as a plain open() would make them, unchanged bytes left
alone; a wave's single files built from what was just written, byte for byte as from disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.warehouse.parquet import (
    flat_path,
    flat_table,
    parquet_bytes,
    write_atomic,
    write_wave,
)
from koryu_pipeline.warehouse.tables import REJECTIONS


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


def _rejections(rows: int, wave: int) -> pd.DataFrame:
    """Many rows with distinct source_row: past 1 MiB of distinct values the writer gives up
    its dictionary at a point that depends on the chunks."""
    return pd.DataFrame(
        {
            "instrument": "hires",
            "wave": wave,
            "source_file": f"hires/{wave}/export.csv",
            "source_row": np.arange(2, rows + 2, dtype=np.int32),
            "rule": "unknown_option",
            "column": "industry",
            "value": np.tile(["x", "y", "z"], rows // 3 + 1)[:rows],
            "message": "not an option",
        }
    )


def test_the_single_file_from_the_wave_just_written_is_the_one_from_disk(tmp_path: Path) -> None:
    """write_wave's `<table>.parquet` holds every wave's partition: the very bytes that
    reading every partition back gives (rows past 1 MiB of distinct values included)."""
    cb, root = get_codebook(), tmp_path / "wh"
    for wave, rows in (("2023", 300_000), ("2024", 280_000)):
        frames = {("hires", REJECTIONS): _rejections(rows, int(wave))}
        write_wave(cb, root, wave, frames, [REJECTIONS])
        flat = flat_path(root, REJECTIONS).read_bytes()
        assert flat == parquet_bytes(flat_table(cb, root, REJECTIONS))  # read back from disk
    assert pq.read_table(flat_path(root, REJECTIONS)).num_rows == 580_000
