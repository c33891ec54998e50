"""Atomic, deterministic Parquet writes.

An unchanged input must give byte-identical files, and a reader (or a crash) must never see a
half-written one: rows are sorted by the caller, the schema is fixed, pandas metadata is
dropped, the bytes are built in memory, compared with what is on disk, and only a change is
written -- to a temporary file beside the target that is then renamed over it. Files get the
mode the umask allows (0644 under umask 022), as any other program's would.

A wave's partitions are checked for personal data (`warehouse/personal.py`) as the Arrow
tables about to be serialised, all of them before the first is written: when one holds any,
`PersonalDataError` is raised and nothing of the wave is written.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.personal import personal_data_found
from koryu_pipeline.warehouse.tables import WAVE_TABLES, file_schema, partition_schema

PART_FILE = "part-0.parquet"


class PersonalDataError(ValueError):
    """Personal data in tables about to be written; nothing was written. `found` maps each
    partition to the columns concerned (never the values)."""

    def __init__(self, found: Mapping[str, list[str]]) -> None:
        self.found = dict(found)
        where = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(self.found.items()))
        super().__init__(f"personal data about to be written, so nothing was: {where}")


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        use_dictionary=True,
        write_statistics=True,
        coerce_timestamps="us",
        store_schema=False,
    )
    return sink.getvalue().to_pybytes()


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it already holds exactly these bytes. Returns True when
    the file was (re)written. The rename is atomic on POSIX, so readers see old or new."""
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # A run killed mid-write leaves its hidden temporary file behind (never a half-written
    # target); runs of this pipeline are serialised, so older leftovers can go.
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    # Not tempfile.mkstemp: it creates 0600 files, unreadable to the BI account. O_EXCL makes
    # the name ours; the kernel applies the umask to 0666 as for any new file.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def write_parquet(path: Path, frame: pd.DataFrame, schema: pa.Schema) -> bool:
    """Write one Parquet file atomically; skip it when the bytes would not change."""
    return write_atomic(path, parquet_bytes(to_table(frame, schema)))


def partition_path(root: Path, table: str, instrument: str, wave: str) -> Path:
    return Path(root) / table / f"instrument={instrument}" / f"wave={wave}" / PART_FILE


def table_path(root: Path, table: str) -> Path:
    """An unpartitioned table: `<root>/<table>/part-0.parquet`."""
    return Path(root) / table / PART_FILE


def read_partition(
    root: Path, table: str, instrument: str, wave: str, schema: pa.Schema
) -> pd.DataFrame:
    path = partition_path(root, table, instrument, wave)
    if path.exists():
        frame = pq.read_table(path, schema=file_schema(schema)).to_pandas()
    else:
        frame = file_schema(schema).empty_table().to_pandas()
    frame.insert(0, "wave", pd.Series([wave] * len(frame), dtype="str"))
    frame.insert(0, "instrument", pd.Series([instrument] * len(frame), dtype="str"))
    return frame[schema.names]


def list_partitions(root: Path, table: str) -> list[tuple[str, str]]:
    base = Path(root) / table
    out = []
    for f in sorted(base.glob(f"instrument=*/wave=*/{PART_FILE}")):
        out.append((f.parent.parent.name.split("=", 1)[1], f.parent.name.split("=", 1)[1]))
    return out


def read_partitions(root: Path, table: str, schema: pa.Schema) -> pd.DataFrame:
    """Every partition of a hive-partitioned table as one frame of `schema`, partition
    columns restored as strings; deterministic (path order); empty with the schema when
    nothing is there yet."""
    frames = [read_partition(root, table, i, w, schema) for i, w in list_partitions(root, table)]
    if not frames:
        return schema.empty_table().to_pandas()
    return pd.concat(frames, ignore_index=True)


def write_wave(
    codebook: Codebook,
    root: Path,
    wave: str,
    frames: Mapping[tuple[str, str], pd.DataFrame],
    tables: Iterable[str] = WAVE_TABLES,
) -> dict[str, list[str]]:
    """Write one wave's partitions of `tables` from `frames` ((instrument, table) -> frame).
    Returns table -> partitions rewritten (unchanged bytes are not rewritten). Raises
    PersonalDataError, having written nothing, when a partition holds personal data."""
    wanted = tuple(tables)
    changed: dict[str, list[str]] = {t: [] for t in wanted}
    staged: list[tuple[str, str, Path, pa.Table]] = []
    for (instrument, table), frame in sorted(frames.items()):
        if table not in wanted:
            continue
        schema = partition_schema(codebook, table, instrument, wave)
        staged.append(
            (
                table,
                f"instrument={instrument}/wave={wave}",
                partition_path(root, table, instrument, wave),
                to_table(frame, file_schema(schema)),
            )
        )
    found = {
        f"{table}/{part}": cols
        for table, part, _, data in staged
        if (cols := personal_data_found(data))
    }
    if found:
        raise PersonalDataError(found)
    for table, part, path, data in staged:
        if write_atomic(path, parquet_bytes(data)):
            changed[table].append(part)
    return changed
