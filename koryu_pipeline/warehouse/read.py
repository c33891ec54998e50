"""Reading the fact tables back (every instrument and wave) for the marts.

The frames hold the values on disk, compactly: at 1M responses the facts are ~1M
respondents, ~5M answers and ~4M exposures, nearly all of it repeated strings (an id on
each of its respondent's rows, a few hundred distinct labels). So every string column is a
pandas categorical (read from Parquet's own dictionary pages, not decoded row by row),
`respondent_id` one categorical whose categories (every id, once) the three tables share
-- its codes are then one integer code space in which the marts join exposures, answers
and respondents without comparing strings -- with sorted categories, so that a column
sorts as its strings would; integers and booleans are pandas' nullable types (an int16
column with nulls stays 2 bytes a row, not a float64). Rows come in partition path order,
as `read_partitions` gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from koryu_pipeline.codebook import Codebook, wave_number
from koryu_pipeline.warehouse.frames import PANDAS_TYPES  # nullable: dtypes as the marts'
from koryu_pipeline.warehouse.parquet import list_partitions, partition_path
from koryu_pipeline.warehouse.tables import FACT_INPUTS, PARTITION_COLUMNS, table_registry

RESPONDENT_ID = "respondent_id"
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def read_facts(
    codebook: Codebook, warehouse: Path
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(respondents, answers, exposures) over all partitions on disk, columns as their
    schemas say (partition columns included), strings as categoricals, `respondent_id` with
    categories shared by all three. One table in memory as Arrow at a time: each is
    converted (freeing its Arrow columns as it goes) before the next is read."""
    registry = table_registry(codebook)
    frames: list[tuple[int, pd.DataFrame]] = []
    runs: list[Runs] = []
    for key in FACT_INPUTS:
        table = read_table(warehouse, key, registry[key].schema)
        at = table.schema.get_field_index(RESPONDENT_ID)
        runs.append(Runs.of(table.column(at)))
        table = table.remove_column(at)
        frame = table.to_pandas(
            types_mapper=PANDAS_TYPES.get, split_blocks=True, self_destruct=True
        )
        del table
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = _in_order(frame[col])
        frames.append((at, frame))
    ids, codes = shared_codes(runs)
    categories = pd.Index(ids.to_pandas())
    if not categories.is_monotonic_increasing:  # e.g. two waves' ids interleave
        order = categories.argsort()
        categories = categories.take(order)
        new = np.empty(len(order) + 1, np.int32)
        new[order] = np.arange(len(order), dtype=np.int32)
        new[-1] = -1  # null stays null
        codes = [new[own] for own in codes]
    dtype = pd.CategoricalDtype(categories)
    for (at, frame), own in zip(frames, codes, strict=True):
        frame.insert(at, RESPONDENT_ID, pd.Categorical.from_codes(own, dtype=dtype))
    pa.default_memory_pool().release_unused()  # the Arrow tables are gone: give it back
    (_, respondents), (_, answers), (_, exposures) = frames
    return respondents, answers, exposures


def _in_order(s: pd.Series) -> pd.Series:
    """A categorical with its categories sorted: it sorts (and groups) as its strings do."""
    categories = s.cat.categories
    if categories.is_monotonic_increasing:
        return s
    return s.cat.reorder_categories(categories.sort_values())


def read_table(root: Path, table: str, schema: pa.Schema) -> pa.Table:
    """Every partition of `table` in path order as one Arrow table of `schema`, except that
    string columns other than respondent_id are dictionary-encoded. A column a file lacks is
    null, as `read_partitions` makes it."""
    wanted = pa.schema([pa.field(f.name, _DICTIONARY) if _encoded(f) else f for f in schema])
    parts = [_read_partition(root, table, i, w, wanted) for i, w in list_partitions(root, table)]
    if not parts:
        return wanted.empty_table()
    return pa.concat_tables(parts).unify_dictionaries()


def _encoded(field: pa.Field) -> bool:
    return field.name != RESPONDENT_ID and pa.types.is_string(field.type)


def _read_partition(
    root: Path, table: str, instrument: str, wave: str, wanted: pa.Schema
) -> pa.Table:
    path = partition_path(root, table, instrument, wave)
    stored = [f for f in wanted if f.name not in PARTITION_COLUMNS]
    on_disk = set(pq.read_schema(path).names)
    data = pq.read_table(
        path,
        columns=[f.name for f in stored if f.name in on_disk],
        read_dictionary=[f.name for f in stored if f.name in on_disk and f.type == _DICTIONARY],
    )
    n = data.num_rows
    columns = []
    for f in wanted:
        if f.name == "instrument":
            # one value for the whole partition: a one-entry dictionary, no string per row
            col = pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32)), pa.array([instrument], pa.string())
            )
        elif f.name == "wave":
            col = pa.array(np.full(n, wave_number(wave)), f.type)
        elif f.name in on_disk:
            col = data.column(f.name)
            if not col.type.equals(f.type):
                col = col.dictionary_encode() if f.type == _DICTIONARY else col.cast(f.type)
        else:
            col = pa.nulls(n, f.type)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=wanted)


@dataclass(frozen=True)
class Runs:
    """A string column as runs of equal values: where each run starts, and its value."""

    length: int
    starts: np.ndarray
    values: pa.Array

    @classmethod
    def of(cls, column: pa.ChunkedArray) -> Runs:
        """Facts are stored sorted by respondent, so a column of ids is one run per
        respondent; any order is right, only less compact."""
        flat = [c for c in column.chunks if len(c)]
        starts, values, offset = [], [], 0
        for i, chunk in enumerate(flat):
            first = _run_starts(chunk)
            if i and _same(flat[i - 1], chunk):
                first = first[1:]  # the run goes on from the chunk before
            starts.append(first + offset)
            values.append(chunk.take(pa.array(first)))
            offset += len(chunk)
        return cls(
            length=offset,
            starts=np.concatenate(starts) if starts else np.zeros(0, np.int64),
            values=pa.concat_arrays(values) if values else pa.array([], pa.string()),
        )


def _same(before: pa.Array, chunk: pa.Array) -> bool:
    last, first = before[len(before) - 1], chunk[0]
    return last.is_valid and first.is_valid and last.as_py() == first.as_py()


def shared_codes(columns: list[Runs]) -> tuple[pa.Array, list[np.ndarray]]:
    """One dictionary of every distinct value of `columns` (nulls coded -1), in order of
    first appearance, and each column's int32 codes into it. One value per run is hashed,
    and a column whose runs are those of one before it (answers and exposures of the
    same respondents) reuses its codes."""
    hashed: list[Runs] = []
    first_run: list[int] = []  # per column: where its runs' codes start among the hashed
    for column in columns:
        at, done = 0, None
        for other in hashed:
            if other.values.equals(column.values):
                done = at
                break
            at += len(other.values)
        if done is None:
            done = at
            hashed.append(column)
        first_run.append(done)
    encoded = pa.concat_arrays([c.values for c in hashed] or [pa.array([], pa.string())])
    encoded = encoded.dictionary_encode()
    run_codes = encoded.indices.fill_null(-1).to_numpy().astype(np.int32)
    codes = []
    for column, at in zip(columns, first_run, strict=True):
        lengths = np.diff(np.append(column.starts, column.length))
        codes.append(np.repeat(run_codes[at : at + len(column.starts)], lengths))
    return encoded.dictionary, codes


def _run_starts(values: pa.Array) -> np.ndarray:
    """Positions where a run of equal values begins (a null is a run of its own)."""
    if len(values) == 0:
        return np.zeros(0, np.int64)
    differs = pc.not_equal(values.slice(1), values.slice(0, len(values) - 1)).fill_null(True)
    return np.flatnonzero(np.concatenate([[True], differs.to_numpy(zero_copy_only=False)]))
