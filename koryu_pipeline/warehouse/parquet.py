"""Atomic, deterministic Parquet writes.

An unchanged input must give byte-identical files, and a reader (or a crash) must never see a
half-written one: rows are sorted by the caller, the schema is fixed, pandas metadata is
dropped, the bytes are built in memory, compared with what is on disk, and only a change is
written -- to a temporary file beside the target that is then renamed over it. Files get the
mode the umask allows (0644 under umask 022), as any other program's would.

A wave is written table by table (`WaveWriter`): each frame is converted to Arrow once,
checked for personal data (`warehouse/personal.py`) as the table about to be serialised,
encoded, and staged in a hidden temporary file beside its target, so that the wave's tables
are never all in memory. Only when every table has passed the check are the staged files
renamed into place; when one holds personal data, `PersonalDataError` is raised, the staged
files (and the folders made for them) are removed, and nothing of the wave is written -- a
table that fails is never staged at all. The tables' single files are then built from the
partitions on disk, one table at a time.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from koryu_pipeline.codebook import Codebook, wave_number
from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.personal import personal_data_in
from koryu_pipeline.warehouse.tables import (
    WAVE_TABLES,
    file_schema,
    partition_schema,
    table_registry,
)

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


def _file_mode() -> int:
    """The mode a plain open() would give a new file (0644 under the usual umask 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False


def _fix_mode(path: Path, mode: int) -> None:
    """A file an earlier version left private gets `mode`, its bytes untouched."""
    if path.stat().st_mode & 0o777 != mode:
        path.chmod(mode)


def _holds(path: Path, data: bytes, mode: int) -> bool:
    """Whether `path` already holds exactly `data` (then with `mode`)."""
    if not _same_bytes(path, data):
        return False
    _fix_mode(path, mode)
    return True


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    """`data` in a new hidden temporary file beside `path` (flushed to disk), to be renamed
    over it."""
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
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it already holds exactly these bytes. Returns True when
    the file was (re)written. The rename is atomic on POSIX, so readers see old or new."""
    path = Path(path)
    # mkstemp makes its file private (0600): analysts' tools running as another user could
    # not read the warehouse, so files get the mode open() would give them.
    mode = _file_mode()
    if _holds(path, data, mode):
        return False
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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


def write_partition(
    root: Path, table: str, instrument: str, wave: str, frame: pd.DataFrame, schema: pa.Schema
) -> bool:
    path = partition_path(root, table, instrument, wave)
    return write_parquet(path, frame, file_schema(schema))


def with_partition_columns(
    table: pa.Table, instrument: str, wave: str, schema: pa.Schema
) -> pa.Table:
    """A partition file's rows with the instrument and wave of its path as columns, typed
    and ordered as `schema` says (wave as its survey-year integer)."""
    n = table.num_rows
    values = {
        "instrument": pa.repeat(pa.scalar(instrument, schema.field("instrument").type), n),
        "wave": pa.repeat(pa.scalar(wave_number(wave), schema.field("wave").type), n),
    }
    columns = [values[f.name] if f.name in values else table[f.name] for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def read_partition_table(
    root: Path, table: str, instrument: str, wave: str, schema: pa.Schema
) -> pa.Table:
    path = partition_path(root, table, instrument, wave)
    stored = file_schema(schema)
    data = pq.read_table(path, schema=stored) if path.exists() else stored.empty_table()
    return with_partition_columns(data, instrument, wave, schema)


def read_partition(
    root: Path, table: str, instrument: str, wave: str, schema: pa.Schema
) -> pd.DataFrame:
    return read_partition_table(root, table, instrument, wave, schema).to_pandas()


def list_partitions(root: Path, table: str) -> list[tuple[str, str]]:
    base = Path(root) / table
    out = []
    for f in sorted(base.glob(f"instrument=*/wave=*/{PART_FILE}")):
        out.append((f.parent.parent.name.split("=", 1)[1], f.parent.name.split("=", 1)[1]))
    return out


def prune_partitions(
    codebook: Codebook, root: Path, tables: Iterable[str], keep: Callable[[str, str], bool]
) -> list[str]:
    """Remove the partitions (instrument, wave) that `keep` rejects -- a wave or instrument
    whose exports left the raw folder -- so the warehouse mirrors it, and rewrite the single
    file of every table that lost one. Returns what went."""
    removed = []
    for table in tables:
        base = Path(root) / table
        gone = False
        for folder in sorted(base.glob("instrument=*/wave=*")):
            instrument = folder.parent.name.split("=", 1)[1]
            wave = folder.name.split("=", 1)[1]
            if not keep(instrument, wave):
                shutil.rmtree(folder)
                removed.append(f"{table}/instrument={instrument}/wave={wave}")
                gone = True
        for parent in base.glob("instrument=*"):
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
        if gone:
            write_flat(codebook, root, table)
    return removed


def read_partitions(root: Path, table: str, schema: pa.Schema) -> pd.DataFrame:
    """Every partition of a hive-partitioned table as one frame of `schema`, partition
    columns restored from the path (wave as an integer); deterministic (path order); empty
    with the schema when nothing is there yet."""
    frames = [read_partition(root, table, i, w, schema) for i, w in list_partitions(root, table)]
    if not frames:
        return schema.empty_table().to_pandas()
    return pd.concat(frames, ignore_index=True)


def flat_path(root: Path, table: str) -> Path:
    """A partitioned table whole, in one file beside its folder: `<root>/<table>.parquet`."""
    return Path(root) / f"{table}.parquet"


def flat_table(codebook: Codebook, root: Path, table: str) -> pa.Table:
    """Every partition of `table` on disk in one Arrow table with `instrument` and `wave` as
    columns, in path order. The staging tables' columns differ by form: their union, in
    first-appearance order (a form's missing columns are null). Read back from the files
    (from the page cache, just after a write): the bytes of a Parquet file depend on how
    its rows are chunked, and reading gives the same chunks every time."""
    return partitions_table(codebook, root, table, list_partitions(root, table))


def partitions_table(
    codebook: Codebook, root: Path, table: str, partitions: Iterable[tuple[str, str]]
) -> pa.Table:
    """The `partitions` ((instrument, wave), in the order given) of `table` on disk in one
    Arrow table, with `instrument` and `wave` as columns; the staging tables' columns are
    the union of their forms'. The registry's empty table when there are none."""
    parts = [
        read_partition_table(root, table, i, w, partition_schema(codebook, table, i, w))
        for i, w in partitions
    ]
    if not parts:
        return table_registry(codebook)[table].schema.empty_table()
    return pa.concat_tables(parts, promote_options="default")


def write_flat(codebook: Codebook, root: Path, table: str) -> bool:
    """Rewrite `<root>/<table>.parquet` from the partitions on disk: a BI tool that reads
    one file (Power BI, Tableau, Excel) or a folder without hive support sees the
    instrument and wave that the partitioned files keep in their path only. Skipped when
    unchanged."""
    data = flat_table(codebook, root, table)
    return write_atomic(flat_path(root, table), parquet_bytes(data))


@dataclass
class _Staged:
    table: str
    part: str  # instrument=<i>/wave=<w>
    path: Path
    tmp: Path | None  # None: the file holds these bytes already
    made: list[Path]  # folders made for it (none existed), deepest first


def _missing_folders(path: Path) -> list[Path]:
    """The folders above `path` that do not exist yet, deepest first."""
    out = []
    folder = path.parent
    while not folder.exists():
        out.append(folder)
        folder = folder.parent
    return out


def _remove_empty(folders: Iterable[Path]) -> None:
    """Remove those of `folders` that are empty, deepest first."""
    for folder in sorted(set(folders), key=lambda f: len(f.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


class WaveWriter:
    """One wave's partitions, written table by table and committed all or nothing.

    `add` takes one table's frame as soon as it is made: it is converted to Arrow (its one
    conversion), checked for personal data, encoded in a background thread (while the next
    table is built) and staged in a hidden temporary file beside its target, so the caller
    can drop the frame at once; a wave never holds all its tables. A table that holds
    personal data is never staged (nor, once one did, any other). `commit` raises
    PersonalDataError, having removed every staged file, when any table failed the check;
    otherwise it renames the staged files into place, then writes each table's single file
    (`flat_path`). Leaving the `with` block without committing (an error while the wave is
    built) removes the staged files and the folders made for them."""

    def __init__(
        self, codebook: Codebook, root: Path, wave: str, tables: Iterable[str] = WAVE_TABLES
    ) -> None:
        self.codebook, self.root, self.wave = codebook, Path(root), wave
        self.wanted = tuple(tables)
        self.found: dict[str, list[str]] = {}
        self.staged: list[_Staged] = []
        self._mode = _file_mode()
        # one table encoded at a time: it overlaps the building of the next, and a wave
        # holds at most one table's Arrow copy waiting for its encoder
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[_Staged] | None = None

    def __enter__(self) -> WaveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()
        self._pool.shutdown()

    def add(self, instrument: str, table: str, frame: pd.DataFrame) -> None:
        if table not in self.wanted:
            return
        schema = partition_schema(self.codebook, table, instrument, self.wave)
        data = to_table(frame, file_schema(schema))  # the frame's one conversion
        part = f"instrument={instrument}/wave={self.wave}"
        self.found.update(personal_data_in({f"{table}/{part}": data}))
        if self.found:  # the wave will not be written: nothing more is staged
            return
        self._wait()
        path = partition_path(self.root, table, instrument, self.wave)
        self._pending = self._pool.submit(self._stage, table, part, path, data)
        # Arrow's allocator (mimalloc) keeps the pages of freed buffers for reuse: the
        # tables before this one are gone, so their pages go back (0.3-0.6 GiB at 1M rows)
        pa.default_memory_pool().release_unused()

    def _stage(self, table: str, part: str, path: Path, data: pa.Table) -> _Staged:
        content = parquet_bytes(data)
        if _same_bytes(path, content):
            return _Staged(table, part, path, None, [])
        made = _missing_folders(path)
        try:
            return _Staged(table, part, path, _write_temp(path, content, self._mode), made)
        except BaseException:
            _remove_empty(made)
            raise

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.staged.append(pending.result())

    def discard(self) -> None:
        """Remove every staged file and the folders made for them (when left empty)."""
        try:
            self._wait()
        finally:
            made: set[Path] = set()
            for staged in self.staged:
                if staged.tmp is not None:
                    staged.tmp.unlink(missing_ok=True)
                made.update(staged.made)
            self.staged = []
            _remove_empty(made)

    def commit(self) -> dict[str, list[str]]:
        """Rename the staged partitions into place and write the single files. Returns
        table -> partitions rewritten (unchanged bytes are not rewritten). Raises
        PersonalDataError, having written nothing, when a table holds personal data."""
        self._wait()
        if self.found:
            self.discard()
            raise PersonalDataError(self.found)
        changed: dict[str, list[str]] = {t: [] for t in self.wanted}
        # every table passed the check: only now does any reach its final path
        for staged in self.staged:
            if staged.tmp is None:
                _fix_mode(staged.path, self._mode)
                continue
            os.replace(staged.tmp, staged.path)
            changed[staged.table].append(staged.part)
        self.staged = []
        # the single files from the partitions on disk (this wave's just written), one
        # table after another: each is a whole table in Arrow while it is encoded
        for table in self.wanted:
            write_flat(self.codebook, self.root, table)
        return {t: sorted(parts) for t, parts in changed.items()}


def write_wave(
    codebook: Codebook,
    root: Path,
    wave: str,
    frames: Mapping[tuple[str, str], pd.DataFrame],
    tables: Iterable[str] = WAVE_TABLES,
) -> dict[str, list[str]]:
    """Write one wave's partitions of `tables` from `frames` ((instrument, table) -> frame),
    then each table's single file (`flat_path`): `WaveWriter` with every frame at once.
    Returns table -> partitions rewritten (unchanged bytes are not rewritten). Raises
    PersonalDataError, having written nothing, when a partition holds personal data."""
    with WaveWriter(codebook, root, wave, tables) as writer:
        for (instrument, table), frame in sorted(frames.items()):
            writer.add(instrument, table, frame)
        return writer.commit()
