"""Per-file results kept between runs, so a file whose bytes did not change is not read or
validated again.

An export's per-file result (its wide frame and the rules its rows break, `validation.
FileValidation`) depends only on the file's bytes, its form and the code. It is kept in the
warehouse's staging as one Parquet file per export, named by the SHA-256 of the export's
bytes and the code version (`code_digest`: every source file of the package and the forms):

    <warehouse>/staging/_files/<instrument>/<wave>/<sha256 of the export>-<code>.parquet

A later run that finds the file reads it instead of parsing the export; the cross-file rules
(duplicates, superseded) and everything after them are recomputed from these results. An
entry whose export changed or left the folder, or that an older code version wrote, is
removed when its wave is ingested again. The leading `_` keeps the folder out of pyarrow's
and Spark's dataset discovery; it is a cache, not a table of the contract: deleting it costs
only the next run's time. Entries hold what `staging/parsed` holds (scrubbed, no personal
columns) and pass the same personal-data test before they are written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from koryu_pipeline.codebook import extra_form_dirs
from koryu_pipeline.warehouse.parquet import write_atomic
from koryu_pipeline.warehouse.personal import personal_data_found

CACHE_DIR = "staging/_files"
PACKAGE = Path(__file__).resolve().parent.parent


def code_digest() -> str:
    """The pipeline's code and codebook: a change to either invalidates every output (and
    every cached per-file result)."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
            h.update(path.relative_to(PACKAGE).as_posix().encode())
            h.update(path.read_bytes())
    for folder in extra_form_dirs():
        for path in sorted(folder.glob("*.yaml")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def folder(warehouse: Path, instrument: str, wave: str) -> Path:
    return Path(warehouse) / CACHE_DIR / instrument / wave


def entry_path(warehouse: Path, instrument: str, wave: str, digest: str, code: str) -> Path:
    return folder(warehouse, instrument, wave) / f"{digest}-{code}.parquet"


def load(path: Path) -> pa.Table | None:
    """The cached table, or None when there is none or it cannot be read whole (a damaged
    entry is removed: the export is read again)."""
    if not path.is_file():
        return None
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException):
        path.unlink(missing_ok=True)
        return None


def store(path: Path, table: pa.Table) -> bool:
    """Write an entry atomically; an entry holding personal data is never written (the
    export is then simply read again next time). Returns whether it was written."""
    if personal_data_found(table):
        return False
    sink = pa.BufferOutputStream()
    # the Arrow schema is kept (unlike the tables': analysts' tools need no pandas or Arrow
    # metadata), with the entry's own metadata and exact types
    pq.write_table(table, sink, compression="zstd", store_schema=True)
    return write_atomic(path, sink.getvalue().to_pybytes())


def prune(warehouse: Path, instrument: str, wave: str, keep: set[Path]) -> list[str]:
    """Remove the entries of one instrument's wave that are not in `keep` (exports changed
    or gone, older code): the cache holds what the raw folder holds, no more."""
    removed = []
    base = folder(warehouse, instrument, wave)
    if base.is_dir():
        for path in sorted(base.iterdir()):
            if path not in keep and path.suffix == ".parquet":
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed


def prune_folders(warehouse: Path, keep: set[tuple[str, str]]) -> None:
    """Remove the cache folders of (instrument, wave) pairs no longer in the raw folder."""
    root = Path(warehouse) / CACHE_DIR
    if not root.is_dir():
        return
    for inst in sorted(p for p in root.iterdir() if p.is_dir()):
        for wave in sorted(p for p in inst.iterdir() if p.is_dir()):
            if (inst.name, wave.name) not in keep:
                for path in wave.iterdir():
                    path.unlink(missing_ok=True)
                wave.rmdir()
        if not any(inst.iterdir()):
            inst.rmdir()
